/*
 * codec_sched.c - decoding and validating a provider configuration (the
 * body of "POST /api/providers/{id}/schedule") into the engine's struct
 * sched, and encoding it back (the GET shape).
 *
 * Every rule of the contract's field table is checked here and nowhere else;
 * the decoder keeps going after the first error so one 422 lists them all.
 * Unknown top-level fields are ignored (the original service ignored them,
 * and its clients may still send them); null in an optional field means its
 * default. Inside `limits`, which is new, an unknown key is refused: a typo
 * must not silently mean "no limit".
 */
#include "api/codec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/civil.h"
#include "engine/tz.h"

int codec_int_field(const cJSON *obj, const char *key, const char *path, long lo, long hi,
		    int *out, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	double d;

	if (!v || cJSON_IsNull(v))
		return 0;
	d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
	if (!isfinite(d) || d != floor(d)) {
		err_field(e, path, "must be an integer");
		return -1;
	}
	if (d < (double)lo || d > (double)hi) {
		err_field(e, path, "must be between %ld and %ld", lo, hi);
		return -1;
	}
	*out = (int)d;
	return 1;
}

static int int_field(const cJSON *obj, const char *key, long lo, long hi, int *out,
		     struct err *e)
{
	return codec_int_field(obj, key, key, lo, hi, out, e);
}

/*
 * The field path of a client's key, e.g. "weeklySchedule.<key>": at most
 * SCHED_PATH_KEY bytes of the key, cut on a UTF-8 character boundary so the
 * error body stays valid UTF-8 (the body was checked to be UTF-8).
 */
#define SCHED_PATH_KEY 60
static void key_path(char *p, size_t n, const char *prefix, const char *key)
{
	size_t len = strlen(key);

	if (len > SCHED_PATH_KEY) {
		len = SCHED_PATH_KEY;
		while (len > 0 && ((unsigned char)key[len] & 0xc0) == 0x80)
			len--;
	}
	snprintf(p, n, "%s.%.*s", prefix, (int)len, key);
}

static int cmp_interval(const void *a, const void *b)
{
	const struct sched_interval *x = a, *y = b;

	return x->start - y->start;
}

/* Decodes one {"start","end"} object at path; 0 or -1. */
static int decode_interval(const cJSON *v, const char *path, struct sched_interval *out,
			   struct err *e)
{
	const cJSON *s, *en;
	char p[160];
	int start = 0, end = 0, bad = 0;

	if (!cJSON_IsObject(v)) {
		err_field(e, path, "must be an object {\"start\": \"HH:mm\", \"end\": \"HH:mm\"}");
		return -1;
	}
	s = cJSON_GetObjectItemCaseSensitive(v, "start");
	en = cJSON_GetObjectItemCaseSensitive(v, "end");
	snprintf(p, sizeof p, "%s.start", path);
	if (!cJSON_IsString(s) || civil_parse_hhmm(s->valuestring, 0, &start)) {
		err_field(e, p, "must be a time HH:mm from 00:00 to 23:59");
		bad = 1;
	}
	snprintf(p, sizeof p, "%s.end", path);
	if (!cJSON_IsString(en) || civil_parse_hhmm(en->valuestring, 1, &end)) {
		err_field(e, p, "must be a time HH:mm from 00:01 to 24:00");
		bad = 1;
	}
	if (!bad && start >= end) {
		err_field(e, p, "must be later than start");
		bad = 1;
	}
	out->start = (int16_t)start;
	out->end = (int16_t)end;
	return bad ? -1 : 0;
}

/*
 * Decodes a day's value: one interval or an array of them (arrays only when
 * array_only). Fills iv/n sorted by start; reports overlaps at the later one.
 */
static int decode_day(const cJSON *v, const char *path, int array_only,
		      struct sched_interval *iv, int *n, struct err *e)
{
	char p[160];
	int i, count, bad = 0;
	int idx[SCHED_MAX_INTERVALS];

	*n = 0;
	if (cJSON_IsObject(v) && !array_only)
		return decode_interval(v, path, &iv[(*n)++], e);
	if (!cJSON_IsArray(v)) {
		err_field(e, path, array_only ? "must be an array of intervals"
					      : "must be an interval or an array of intervals");
		return -1;
	}
	count = cJSON_GetArraySize(v);
	if (count > SCHED_MAX_INTERVALS) {
		err_field(e, path, "must have at most %d intervals", SCHED_MAX_INTERVALS);
		return -1;
	}
	for (i = 0; i < count; i++) {
		snprintf(p, sizeof p, "%s.%d", path, i);
		if (decode_interval(cJSON_GetArrayItem(v, i), p, &iv[i], e))
			bad = 1;
	}
	if (bad)
		return -1;
	/* Overlap check in the order given, so the path names the client's index. */
	for (i = 0; i < count; i++)
		idx[i] = i;
	for (i = 1; i < count; i++) { /* insertion sort of indices by start */
		int j = i, k = idx[i];

		while (j > 0 && iv[idx[j - 1]].start > iv[k].start) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = k;
	}
	for (i = 1; i < count; i++) {
		const struct sched_interval *prev = &iv[idx[i - 1]], *cur = &iv[idx[i]];

		if (cur->start < prev->end) {
			int later = idx[i] > idx[i - 1] ? idx[i] : idx[i - 1];
			int other = idx[i] > idx[i - 1] ? idx[i - 1] : idx[i];

			snprintf(p, sizeof p, "%s.%d", path, later);
			err_field(e, p, "overlaps interval %d", other);
			bad = 1;
		}
	}
	if (bad)
		return -1;
	qsort(iv, (size_t)count, sizeof *iv, cmp_interval);
	*n = count;
	return 0;
}

static int decode_week(const cJSON *ws, struct sched *out, struct err *e)
{
	const cJSON *day;
	int seen[7] = { 0 }, bad = 0, working = 0;
	char p[160];

	if (!cJSON_IsObject(ws)) {
		err_field(e, "weeklySchedule", ws ? "must be an object" : "is required");
		return -1;
	}
	cJSON_ArrayForEach(day, ws) {
		int wd = civil_weekday_from_name(day->string);

		key_path(p, sizeof p, "weeklySchedule", day->string);
		if (wd < 0) {
			err_field(e, p, "is not a day of the week (monday..sunday)");
			bad = 1;
			continue;
		}
		if (seen[wd]) {
			err_field(e, p, "repeats %s", civil_weekday_name(wd));
			bad = 1;
			continue;
		}
		seen[wd] = 1;
		if (decode_day(day, p, 0, out->week[wd].iv, &out->week[wd].n, e))
			bad = 1;
		working += out->week[wd].n;
	}
	if (!bad && working == 0) {
		err_field(e, "weeklySchedule", "must have at least one working day");
		bad = 1;
	}
	return bad ? -1 : 0;
}

static int cmp_override(const void *a, const void *b)
{
	const struct sched_override *x = a, *y = b;

	return (x->date > y->date) - (x->date < y->date);
}

static int decode_overrides(const cJSON *v, struct arena *a, struct sched *out,
			    struct err *e)
{
	const cJSON *item;
	int count, i = 0, bad = 0;
	char p[160];

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v)) {
		err_field(e, "dateOverrides", "must be an object of YYYY-MM-DD -> intervals");
		return -1;
	}
	count = cJSON_GetArraySize(v);
	if (count > SCHED_MAX_OVERRIDES) {
		err_field(e, "dateOverrides", "must have at most %d dates", SCHED_MAX_OVERRIDES);
		return -1;
	}
	out->overrides = arena_calloc(a, (size_t)count + 1, sizeof *out->overrides);
	cJSON_ArrayForEach(item, v) {
		struct sched_override *o = &out->overrides[i];
		int j;

		key_path(p, sizeof p, "dateOverrides", item->string);
		if (civil_parse_date(item->string, &o->date)) {
			err_field(e, p, "must be a valid date YYYY-MM-DD");
			bad = 1;
			continue;
		}
		for (j = 0; j < i; j++)
			if (out->overrides[j].date == o->date) {
				err_field(e, p, "repeats a date");
				bad = 1;
				break;
			}
		if (j < i)
			continue;
		if (decode_day(item, p, 1, o->iv, &o->n, e))
			bad = 1;
		i++;
	}
	out->noverrides = i;
	qsort(out->overrides, (size_t)i, sizeof *out->overrides, cmp_override);
	return bad ? -1 : 0;
}

int codec_limits_decode(const cJSON *v, const char *path, int *per_day, int *per_week,
			struct err *e)
{
	const cJSON *k;
	char p[160];
	int bad = 0;

	*per_day = *per_week = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v)) {
		err_field(e, path, "must be null or an object {\"perDay\", \"perWeek\"}");
		return -1;
	}
	cJSON_ArrayForEach(k, v)
		if (strcmp(k->string, "perDay") != 0 && strcmp(k->string, "perWeek") != 0) {
			key_path(p, sizeof p, path, k->string);
			err_field(e, p, "is not a limit (perDay, perWeek)");
			bad = 1;
		}
	snprintf(p, sizeof p, "%s.perDay", path);
	if (codec_int_field(v, "perDay", p, 1, SCHED_MAX_LIMIT, per_day, e) < 0)
		bad = 1;
	snprintf(p, sizeof p, "%s.perWeek", path);
	if (codec_int_field(v, "perWeek", p, 1, SCHED_MAX_LIMIT, per_week, e) < 0)
		bad = 1;
	return bad ? -1 : 0;
}

cJSON *codec_limits_encode(int per_day, int per_week)
{
	cJSON *o = cJSON_CreateObject();

	if (per_day)
		cJSON_AddNumberToObject(o, "perDay", per_day);
	else
		cJSON_AddNullToObject(o, "perDay");
	if (per_week)
		cJSON_AddNumberToObject(o, "perWeek", per_week);
	else
		cJSON_AddNullToObject(o, "perWeek");
	return o;
}

int codec_sched_decode(const cJSON *body, struct tz_cache *tzc, struct arena *a,
		       struct sched *out, struct err *e)
{
	const cJSON *tz;
	int r, bad = 0;

	memset(out, 0, sizeof *out);
	out->horizon_days = SCHED_NO_HORIZON;
	if (!cJSON_IsObject(body)) {
		err_field(e, "body", "must be a JSON object");
		return -1;
	}
	tz = cJSON_GetObjectItemCaseSensitive(body, "timezone");
	if (!tz || cJSON_IsNull(tz)) {
		err_field(e, "timezone", "is required");
		bad = 1;
	} else if (!cJSON_IsString(tz) || strlen(tz->valuestring) >= sizeof out->timezone ||
		   !(out->zone = tz_cache_get(tzc, tz->valuestring))) {
		err_field(e, "timezone", "must be UTC or an IANA Area/Location time zone name");
		bad = 1;
	} else {
		snprintf(out->timezone, sizeof out->timezone, "%s", tz->valuestring);
	}
	r = int_field(body, "appointmentDuration", SCHED_MIN_DURATION, SCHED_MAX_DURATION,
		      &out->duration, e);
	if (r == 0)
		err_field(e, "appointmentDuration", "is required");
	if (r <= 0)
		bad = 1;
	if (decode_week(cJSON_GetObjectItemCaseSensitive(body, "weeklySchedule"), out, e))
		bad = 1;
	r = int_field(body, "slotInterval", 5, 1440, &out->slot_interval, e);
	if (r < 0)
		bad = 1;
	else if (r == 0)
		out->slot_interval = out->duration;
	if (int_field(body, "bufferBefore", 0, SCHED_MAX_BUFFER, &out->buffer_before, e) < 0)
		bad = 1;
	if (int_field(body, "bufferAfter", 0, SCHED_MAX_BUFFER, &out->buffer_after, e) < 0)
		bad = 1;
	if (int_field(body, "minimumNotice", 0, SCHED_MAX_NOTICE, &out->minimum_notice, e) < 0)
		bad = 1;
	if (int_field(body, "bookingHorizonDays", 1, SCHED_MAX_HORIZON_DAYS, &out->horizon_days,
		      e) < 0)
		bad = 1;
	if (decode_overrides(cJSON_GetObjectItemCaseSensitive(body, "dateOverrides"), a, out, e))
		bad = 1;
	if (codec_limits_decode(cJSON_GetObjectItemCaseSensitive(body, "limits"), "limits",
				&out->limit_day, &out->limit_week, e))
		bad = 1;
	return bad ? -1 : 0;
}

static cJSON *encode_intervals(const struct sched_interval *iv, int n)
{
	cJSON *arr = cJSON_CreateArray();
	char buf[6];
	int i;

	for (i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		civil_format_hhmm(iv[i].start, buf);
		cJSON_AddStringToObject(o, "start", buf);
		civil_format_hhmm(iv[i].end, buf);
		cJSON_AddStringToObject(o, "end", buf);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

cJSON *codec_sched_encode(const struct sched *s)
{
	cJSON *o = cJSON_CreateObject(), *week, *ov;
	char date[11];
	int i;

	cJSON_AddStringToObject(o, "timezone", s->timezone);
	cJSON_AddNumberToObject(o, "appointmentDuration", s->duration);
	week = cJSON_AddObjectToObject(o, "weeklySchedule");
	for (i = 0; i < 7; i++)
		if (s->week[i].n)
			cJSON_AddItemToObject(week, civil_weekday_name(i),
					      encode_intervals(s->week[i].iv, s->week[i].n));
	cJSON_AddNumberToObject(o, "slotInterval", s->slot_interval);
	cJSON_AddNumberToObject(o, "bufferBefore", s->buffer_before);
	cJSON_AddNumberToObject(o, "bufferAfter", s->buffer_after);
	cJSON_AddNumberToObject(o, "minimumNotice", s->minimum_notice);
	if (s->horizon_days == SCHED_NO_HORIZON)
		cJSON_AddNullToObject(o, "bookingHorizonDays");
	else
		cJSON_AddNumberToObject(o, "bookingHorizonDays", s->horizon_days);
	ov = cJSON_AddObjectToObject(o, "dateOverrides");
	for (i = 0; i < s->noverrides; i++) {
		civil_format_date(s->overrides[i].date, date);
		cJSON_AddItemToObject(ov, date,
				      encode_intervals(s->overrides[i].iv, s->overrides[i].n));
	}
	cJSON_AddItemToObject(o, "limits", codec_limits_encode(s->limit_day, s->limit_week));
	return o;
}
