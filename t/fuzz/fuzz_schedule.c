/*
 * fuzz_schedule.c - POST /api/providers/{id}/schedule bodies: the body
 * checks (http_decode_json_body), then codec_sched_decode. A decoded schedule must keep every
 * invariant sched.h promises, survive encode -> decode -> encode unchanged
 * (that is how it is stored and read back), and give the slot engine dates
 * whose slots are ordered and bookable.
 */
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "engine/civil.h"
#include "engine/sched.h"
#include "engine/slot.h"
#include "fuzz.h"

static void check_intervals(const struct sched_interval *iv, int n)
{
	int i;

	FUZZ_CHECK(n >= 0 && n <= SCHED_MAX_INTERVALS);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(iv[i].start >= 0 && iv[i].start < iv[i].end && iv[i].end <= 1440);
		FUZZ_CHECK(i == 0 || iv[i].start >= iv[i - 1].end);
	}
}

static void check_sched(const struct sched *s)
{
	int32_t lo = civil_days_from_ymd(CIVIL_MIN_YEAR, 1, 1);
	int32_t hi = civil_days_from_ymd(CIVIL_MAX_YEAR, 12, 31);
	int i, working = 0, n;

	FUZZ_CHECK(s->zone && s->timezone[0]);
	FUZZ_CHECK(s->duration >= SCHED_MIN_DURATION && s->duration <= SCHED_MAX_DURATION);
	FUZZ_CHECK(s->slot_interval >= 5 && s->slot_interval <= 1440);
	FUZZ_CHECK(s->buffer_before >= 0 && s->buffer_before <= SCHED_MAX_BUFFER);
	FUZZ_CHECK(s->buffer_after >= 0 && s->buffer_after <= SCHED_MAX_BUFFER);
	FUZZ_CHECK(s->minimum_notice >= 0 && s->minimum_notice <= SCHED_MAX_NOTICE);
	FUZZ_CHECK(s->horizon_days == SCHED_NO_HORIZON ||
		   (s->horizon_days >= 1 && s->horizon_days <= SCHED_MAX_HORIZON_DAYS));
	for (i = 0; i < 7; i++) {
		check_intervals(s->week[i].iv, s->week[i].n);
		working += s->week[i].n;
	}
	FUZZ_CHECK(working > 0);
	FUZZ_CHECK(s->noverrides >= 0 && s->noverrides <= SCHED_MAX_OVERRIDES);
	for (i = 0; i < s->noverrides; i++) {
		const struct sched_override *o = &s->overrides[i];

		FUZZ_CHECK(o->date >= lo && o->date <= hi);
		FUZZ_CHECK(i == 0 || o->date > s->overrides[i - 1].date);
		check_intervals(o->iv, o->n);
		FUZZ_CHECK(sched_intervals_for(s, o->date, &n) == o->iv && n == o->n);
	}
}

/* Slots of one date: bounded, increasing, on the local clock, and bookable. */
static void check_slots(const struct sched *s, int32_t date)
{
	struct slot *out = malloc(sizeof *out * SLOT_MAX_PER_DATE);
	struct slot_service svc;
	struct slot_ctx sc = { s, &svc, 0, NULL, 0, NULL };
	int n, i;

	if (!out)
		abort();
	slot_service_default(s, 0, &svc);
	n = slot_list_for_date(&sc, date, out);
	FUZZ_CHECK(n >= 0 && n <= SLOT_MAX_PER_DATE);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(out[i].local_min >= 0 && out[i].local_min < 1440);
		FUZZ_CHECK(i == 0 || out[i].start > out[i - 1].start);
		/* Its own local date, give or take a DST gap at the day's edge (slot.c). */
		FUZZ_CHECK(abs(slot_local_date(s, out[i].start) - date) <= 1);
	}
	if (n) {
		FUZZ_CHECK(slot_bookable(&sc, out[0].start));
		FUZZ_CHECK(slot_bookable(&sc, out[n - 1].start));
	}
	free(out);
}

static char *encoded(const struct sched *s)
{
	cJSON *j = codec_sched_encode(s);
	char *text = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	FUZZ_CHECK(text);
	return text;
}

void fuzz_schedule(const uint8_t *data, size_t size)
{
	struct arena a;
	struct http_req req;
	struct err e;
	struct sched *s = malloc(sizeof *s), *again = malloc(sizeof *again);
	const cJSON *body;

	if (!s || !again)
		abort();
	arena_init(&a, 0);
	err_init(&e);
	body = fuzz_json_body(&req, &a, data, size, &e);
	if (body && codec_sched_decode(body, fuzz_tzc(), &a, s, &e) == 0) {
		char *first = encoded(s), *second;
		cJSON *stored = cJSON_Parse(first);
		int32_t d, monday = civil_days_from_ymd(2027, 3, 22);

		FUZZ_CHECK(!err_is_set(&e));
		check_sched(s);
		FUZZ_CHECK(stored && codec_sched_decode(stored, fuzz_tzc(), &a, again, &e) == 0);
		second = encoded(again);
		FUZZ_CHECK(strcmp(first, second) == 0);
		/* A week around a European DST change, and the first override. */
		for (d = monday; d < monday + 7; d++)
			check_slots(s, d);
		if (s->noverrides)
			check_slots(s, s->overrides[0].date);
		cJSON_Delete(stored);
		cJSON_free(first);
		cJSON_free(second);
	} else if (body) {
		fuzz_check_err(&e);
	}
	err_clear(&e);
	arena_destroy(&a);
	free(s);
	free(again);
}

FUZZ_TARGET(schedule)
