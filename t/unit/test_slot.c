/*
 * test_slot.c - the slot rules: the contract's worked examples by hand, and
 * a property test against a brute-force model that walks minute by minute
 * using only the time-zone conversions (never the slot code).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/civil.h"
#include "engine/slot.h"
#include "engine/tz.h"
#include "testmain.h"


static void base_sched(struct sched *s, const char *tz, int duration)
{
	memset(s, 0, sizeof *s);
	snprintf(s->timezone, sizeof s->timezone, "%s", tz);
	s->zone = tz_cache_get(test_tzc(), tz);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s->zone);
	s->duration = duration;
	s->slot_interval = duration;
	s->horizon_days = SCHED_NO_HORIZON;
}

static void every_day(struct sched *s, int start, int end)
{
	int d;

	for (d = 0; d < 7; d++) {
		s->week[d].n = 1;
		s->week[d].iv[0].start = (int16_t)start;
		s->week[d].iv[0].end = (int16_t)end;
	}
}

static int64_t utc(const char *iso)
{
	int64_t ms;

	CU_ASSERT_EQUAL_FATAL(civil_parse_instant(iso, &ms), 0);
	return ms / 1000;
}

static int32_t date(const char *ymd)
{
	int32_t d;

	CU_ASSERT_EQUAL_FATAL(civil_parse_date(ymd, &d), 0);
	return d;
}

/* Slots as "HH:mm@instant" joined by spaces, for readable assertions. */
static void render(const struct slot *s, int n, char *buf, size_t cap)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < n && off < cap; i++) {
		char hm[6], in[32];

		civil_format_hhmm(s[i].local_min, hm);
		civil_format_instant(s[i].start * 1000, in);
		off += (size_t)snprintf(buf + off, cap - off, "%s%s@%.16s", i ? " " : "", hm, in);
	}
}

static void test_spring_forward_new_york(void)
{
	struct sched s;
	struct slot out[SLOT_MAX_PER_DATE];
	struct slot_ctx c = { &s, 0, NULL, 0, NULL };
	char buf[2048];
	int n;

	base_sched(&s, "America/New_York", 30);
	every_day(&s, 60, 300);
	n = slot_list_for_date(&c, date("2027-03-14"), out);
	render(out, n, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "01:00@2027-03-14T06:00 01:30@2027-03-14T06:30 "
				    "03:00@2027-03-14T07:00 03:30@2027-03-14T07:30 "
				    "04:00@2027-03-14T08:00 04:30@2027-03-14T08:30");
}

static void test_fall_back_new_york(void)
{
	struct sched s;
	struct slot out[SLOT_MAX_PER_DATE];
	struct slot_ctx c = { &s, 0, NULL, 0, NULL };
	char buf[2048];
	int n;

	base_sched(&s, "America/New_York", 30);
	every_day(&s, 60, 300);
	n = slot_list_for_date(&c, date("2027-11-07"), out);
	CU_ASSERT_EQUAL(n, 10);
	render(out, n, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "01:00@2027-11-07T05:00 01:30@2027-11-07T05:30 "
				    "01:00@2027-11-07T06:00 01:30@2027-11-07T06:30 "
				    "02:00@2027-11-07T07:00 02:30@2027-11-07T07:30 "
				    "03:00@2027-11-07T08:00 03:30@2027-11-07T08:30 "
				    "04:00@2027-11-07T09:00 04:30@2027-11-07T09:30");
}

static void test_interval_starting_in_gap(void)
{
	struct sched s;
	struct slot out[SLOT_MAX_PER_DATE];
	struct slot_ctx c = { &s, 0, NULL, 0, NULL };
	int n;

	/* 02:30 does not exist: it is read with EST, i.e. 07:30Z = 03:30 EDT. */
	base_sched(&s, "America/New_York", 30);
	every_day(&s, 150, 300);
	n = slot_list_for_date(&c, date("2027-03-14"), out);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(out[0].start, utc("2027-03-14T07:30:00Z"));
	CU_ASSERT_EQUAL(out[0].local_min, 3 * 60 + 30);
}

static void test_gap_intervals_dedupe(void)
{
	struct sched s;
	struct slot out[SLOT_MAX_PER_DATE];
	struct slot_ctx c = { &s, 0, NULL, 0, NULL };
	int n;

	/* 02:00-02:59 lies wholly in the gap and is read with EST: 07:00Z-07:59Z,
	 * which 03:00-04:00 EDT (07:00Z-08:00Z) also covers. 07:00Z comes once. */
	base_sched(&s, "America/New_York", 30);
	s.week[6].n = 2;
	s.week[6].iv[0].start = 120;
	s.week[6].iv[0].end = 179;
	s.week[6].iv[1].start = 180;
	s.week[6].iv[1].end = 240;
	n = slot_list_for_date(&c, date("2027-03-14"), out);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(out[0].start, utc("2027-03-14T07:00:00Z"));
	CU_ASSERT_EQUAL(out[0].local_min, 180);
	CU_ASSERT_EQUAL(out[1].start, utc("2027-03-14T07:30:00Z"));
}

static void test_whole_transition_days(void)
{
	struct sched s;
	struct slot out[SLOT_MAX_PER_DATE];
	struct slot_ctx c = { &s, 0, NULL, 0, NULL };

	base_sched(&s, "Europe/Berlin", 60);
	every_day(&s, 0, 1440);
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-03-28"), out), 23);
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-10-31"), out), 25);
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-10-30"), out), 24);
	base_sched(&s, "Australia/Lord_Howe", 30);
	every_day(&s, 0, 1440);
	/* DST starts 2027-10-03 02:00 -> 02:30: 23.5 hours; ends 2027-04-04: 24.5 hours. */
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-10-03"), out), 47);
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-04-04"), out), 49);
}

static void test_skipped_day_apia(void)
{
	struct sched s;
	struct slot out[SLOT_MAX_PER_DATE];
	struct slot_ctx c = { &s, 0, NULL, 0, NULL };

	base_sched(&s, "Pacific/Apia", 60);
	every_day(&s, 9 * 60, 17 * 60);
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2011-12-30"), out), 0);
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2011-12-31"), out), 8);
	CU_ASSERT_EQUAL(out[0].start, utc("2011-12-30T19:00:00Z"));
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2011-12-29"), out), 8);
	CU_ASSERT_EQUAL(out[0].start, utc("2011-12-29T19:00:00Z"));
}

static void test_weekday_far_east_and_west(void)
{
	struct sched s;
	struct slot out[SLOT_MAX_PER_DATE];
	struct slot_ctx c = { &s, 0, NULL, 0, NULL };

	/* Monday 2027-03-15 in Kiritimati (+14) is still Sunday in UTC. */
	base_sched(&s, "Pacific/Kiritimati", 60);
	s.week[0].n = 1;
	s.week[0].iv[0].start = 9 * 60;
	s.week[0].iv[0].end = 10 * 60;
	CU_ASSERT_EQUAL_FATAL(slot_list_for_date(&c, date("2027-03-15"), out), 1);
	CU_ASSERT_EQUAL(out[0].start, utc("2027-03-14T19:00:00Z"));
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-03-14"), out), 0);
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-03-16"), out), 0);
	base_sched(&s, "Pacific/Pago_Pago", 60);
	s.week[0].n = 1;
	s.week[0].iv[0].start = 20 * 60;
	s.week[0].iv[0].end = 21 * 60;
	CU_ASSERT_EQUAL_FATAL(slot_list_for_date(&c, date("2027-03-15"), out), 1);
	CU_ASSERT_EQUAL(out[0].start, utc("2027-03-16T07:00:00Z"));
}

static void test_buffers_notice_horizon(void)
{
	struct sched s;
	struct slot out[SLOT_MAX_PER_DATE];
	struct slot_busy busy[1];
	struct slot_ctx c = { &s, 0, busy, 1, NULL };
	int n;

	base_sched(&s, "UTC", 30);
	every_day(&s, 9 * 60, 12 * 60);
	s.buffer_after = 10;
	busy[0].start = utc("2027-03-15T10:00:00Z");
	busy[0].end = utc("2027-03-15T10:30:00Z");
	n = slot_list_for_date(&c, date("2027-03-15"), out);
	/* 09:00, 09:30 (ends 10:00, its buffer reaches 10:10: gap 0 < 10) -> 09:30 blocked; 10:00 taken; 10:30 blocked by the booking's buffer. */
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(out[0].start, utc("2027-03-15T09:00:00Z"));
	CU_ASSERT_EQUAL(out[1].start, utc("2027-03-15T11:00:00Z"));
	CU_ASSERT_EQUAL(out[2].start, utc("2027-03-15T11:30:00Z"));
	/* Ignoring the booking (a reschedule of it) frees everything. */
	c.ignore = &busy[0];
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-03-15"), out), 6);
	CU_ASSERT(slot_bookable(&c, utc("2027-03-15T10:00:00Z")));
	c.ignore = NULL;
	CU_ASSERT_FALSE(slot_bookable(&c, utc("2027-03-15T10:00:00Z")));
	CU_ASSERT(slot_bookable(&c, utc("2027-03-15T11:00:00Z")));
	CU_ASSERT_FALSE(slot_bookable(&c, utc("2027-03-15T11:10:00Z")));
	/* Minimum notice: now 09:10, notice 60 -> first slot 10:30 or later. */
	c.nbusy = 0;
	c.now = utc("2027-03-15T09:10:00Z");
	s.minimum_notice = 60;
	n = slot_list_for_date(&c, date("2027-03-15"), out);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(out[0].start, utc("2027-03-15T10:30:00Z"));
	/* Past: notice 0, now 10:00 exactly -> 10:00 is still offered, 09:30 is not. */
	s.minimum_notice = 0;
	c.now = utc("2027-03-15T10:00:00Z");
	CU_ASSERT(slot_bookable(&c, utc("2027-03-15T10:00:00Z")));
	CU_ASSERT_FALSE(slot_bookable(&c, utc("2027-03-15T09:30:00Z")));
	/* Horizon: 1 day from now -> up to 2027-03-16T10:00Z inclusive. */
	s.horizon_days = 1;
	CU_ASSERT(slot_bookable(&c, utc("2027-03-16T10:00:00Z")));
	CU_ASSERT_FALSE(slot_bookable(&c, utc("2027-03-16T10:30:00Z")));
}

static void test_step_and_dedupe(void)
{
	struct sched s;
	struct slot out[SLOT_MAX_PER_DATE];
	struct slot_ctx c = { &s, 0, NULL, 0, NULL };
	int n;

	base_sched(&s, "UTC", 60);
	s.slot_interval = 15;
	s.week[0].n = 2;
	s.week[0].iv[0].start = 9 * 60;
	s.week[0].iv[0].end = 10 * 60 + 30;
	s.week[0].iv[1].start = 10 * 60 + 30;
	s.week[0].iv[1].end = 11 * 60 + 30;
	n = slot_list_for_date(&c, date("2027-03-15"), out);
	/* 09:00 09:15 09:30 | 10:30 */
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_FALSE(slot_bookable(&c, utc("2027-03-15T09:05:00Z")));
	CU_ASSERT(slot_bookable(&c, utc("2027-03-15T09:15:00Z")));
	CU_ASSERT_FALSE(slot_bookable(&c, utc("2027-03-15T09:15:01Z")));
}

/* ---------------------------------------------------------------- model */

static const char *const zones[] = {
	"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
	"America/Santiago", "America/Sao_Paulo", "Pacific/Apia", "Pacific/Kiritimati",
	"Pacific/Pago_Pago", "Asia/Kolkata", "Europe/London", "America/Los_Angeles",
	"Australia/Adelaide", "Pacific/Chatham", "America/St_Johns", "Asia/Tehran",
	"Africa/Casablanca", "America/Havana", "Europe/Dublin", "Pacific/Auckland",
	"America/Asuncion", "Asia/Gaza", "Antarctica/Troll", "Etc/GMT-14",
};

/* The model: walk each interval minute by minute, testing every rule literally. */
static int model(const struct sched *s, int32_t d, int64_t now, const struct slot_busy *busy,
		 int nbusy, int64_t *starts, int *labels)
{
	const struct sched_interval *iv = s->week[civil_weekday(d)].iv;
	int niv = s->week[civil_weekday(d)].n, i, j, n = 0, b;
	int64_t day_start, day_end;

	for (i = 0; i < s->noverrides; i++)
		if (s->overrides[i].date == d) {
			iv = s->overrides[i].iv;
			niv = s->overrides[i].n;
		}
	day_start = tz_local_to_utc(s->zone, (int64_t)d * 86400);
	day_end = tz_local_to_utc(s->zone, (int64_t)(d + 1) * 86400);
	for (i = 0; i < niv; i++) {
		int64_t us = tz_local_to_utc(s->zone, (int64_t)d * 86400 + iv[i].start * 60);
		int64_t ue = tz_local_to_utc(s->zone, (int64_t)d * 86400 + iv[i].end * 60);
		int64_t t;

		us = us < day_start ? day_start : us;
		ue = ue > day_end ? day_end : ue;
		for (t = us; t + s->duration * 60 <= ue; t += 60) {
			int clash = 0;
			int64_t m;

			if ((t - us) % (s->slot_interval * 60))
				continue;
			if (t < now + s->minimum_notice * 60)
				continue;
			if (s->horizon_days != SCHED_NO_HORIZON && t > now + s->horizon_days * 86400LL)
				continue;
			for (b = 0; b < nbusy && !clash; b++)
				for (m = t - s->buffer_before * 60; m < t + (s->duration + s->buffer_after) * 60; m += 60)
					if (m >= busy[b].start - s->buffer_before * 60 &&
					    m < busy[b].end + s->buffer_after * 60) {
						clash = 1;
						break;
					}
			if (clash)
				continue;
			for (j = 0; j < n && starts[j] != t; j++)
				;
			if (j < n)
				continue;
			starts[n] = t;
			labels[n] = (int)(((tz_utc_to_local(s->zone, t) % 86400) + 86400) % 86400 / 60);
			n++;
		}
	}
	for (i = 1; i < n; i++) /* selection order by instant */
		for (j = i; j > 0 && starts[j - 1] > starts[j]; j--) {
			int64_t t = starts[j];
			int l = labels[j];

			starts[j] = starts[j - 1];
			labels[j] = labels[j - 1];
			starts[j - 1] = t;
			labels[j - 1] = l;
		}
	return n;
}

static void random_day(uint64_t *r, struct sched_interval *iv, int *n)
{
	int count = test_rand_range(r, 0, 3), i, t = 0;

	*n = 0;
	for (i = 0; i < count && t < 1430; i++) {
		int start = test_rand_range(r, t, t + 400 < 1435 ? t + 400 : 1435);
		int end = test_rand_range(r, start + 5, start + 600 < 1440 ? start + 600 : 1440);

		if (test_rand(r) % 5 == 0)
			end = 1440;
		iv[*n].start = (int16_t)start;
		iv[*n].end = (int16_t)end;
		(*n)++;
		t = end + test_rand_range(r, 0, 60);
		if (end == 1440)
			break;
	}
}

static void test_property_vs_model(void)
{
	uint64_t r = test_seed();
	static struct sched_override ov[4];
	int cases, mismatches = 0;

	for (cases = 0; cases < 3000 && mismatches < 5; cases++) {
		struct sched s;
		struct slot_busy busy[10];
		struct slot out[SLOT_MAX_PER_DATE];
		int64_t mstart[SLOT_MAX_PER_DATE * 2];
		int mlabel[SLOT_MAX_PER_DATE * 2];
		int i, n, mn, nbusy, wd;
		int32_t d;
		int64_t now, t;
		struct slot_ctx c;

		base_sched(&s, zones[test_rand(&r) % (sizeof zones / sizeof zones[0])], 5 * test_rand_range(&r, 1, 36));
		s.slot_interval = 5 * test_rand_range(&r, 1, 24);
		s.buffer_before = test_rand(&r) % 3 ? 0 : test_rand_range(&r, 0, 60);
		s.buffer_after = test_rand(&r) % 3 ? 0 : test_rand_range(&r, 0, 60);
		for (wd = 0; wd < 7; wd++)
			random_day(&r, s.week[wd].iv, &s.week[wd].n);
		d = civil_days_from_ymd(test_rand_range(&r, 1975, 2099), 1, 1) + test_rand_range(&r, 0, 364);
		if (test_rand(&r) % 2) { /* move to the next DST transition day, if any */
			int k;

			for (k = 0; k < 370; k++)
				if (tz_offset_at(s.zone, (int64_t)(d + k) * 86400) !=
				    tz_offset_at(s.zone, (int64_t)(d + k + 1) * 86400)) {
					d += k + test_rand_range(&r, 0, 1);
					break;
				}
		}
		s.noverrides = 0;
		s.overrides = ov;
		if (test_rand(&r) % 4 == 0) {
			ov[0].date = d;
			random_day(&r, ov[0].iv, &ov[0].n);
			s.noverrides = 1;
		}
		now = (int64_t)d * 86400 + test_rand_range(&r, -3 * 86400, 2 * 86400);
		now -= now % 60;
		s.minimum_notice = test_rand(&r) % 2 ? 0 : test_rand_range(&r, 0, 600);
		s.horizon_days = test_rand(&r) % 3 ? SCHED_NO_HORIZON : test_rand_range(&r, 1, 4);
		nbusy = test_rand_range(&r, 0, 8);
		t = (int64_t)d * 86400 - 86400 + 60 * test_rand_range(&r, 0, 300);
		for (i = 0; i < nbusy; i++) {
			busy[i].start = t;
			busy[i].end = t + 60 * test_rand_range(&r, 5, 120);
			t = busy[i].end + 60 * test_rand_range(&r, 0, 400);
		}
		c = (struct slot_ctx){ &s, now, busy, (size_t)nbusy, NULL };
		if (nbusy && test_rand(&r) % 4 == 0)
			c.ignore = &busy[test_rand(&r) % (uint64_t)nbusy];
		n = slot_list_for_date(&c, d, out);
		{
			struct slot_busy kept[10];
			int nk = 0;

			for (i = 0; i < nbusy; i++)
				if (&busy[i] != c.ignore)
					kept[nk++] = busy[i];
			mn = model(&s, d, now, kept, nk, mstart, mlabel);
		}
		if (n != mn) {
			fprintf(stderr, "\ncase %d (%s day %d): engine %d slots, model %d\n", cases, s.timezone, d, n, mn);
			mismatches++;
			continue;
		}
		for (i = 0; i < n; i++)
			if (out[i].start != mstart[i] || out[i].local_min != mlabel[i]) {
				fprintf(stderr, "\ncase %d (%s day %d): slot %d differs\n", cases, s.timezone, d, i);
				mismatches++;
				break;
			}
		/* Every listed slot is bookable; a random minute is bookable iff some date lists it. */
		for (i = 0; i < n; i++)
			if (!slot_bookable(&c, out[i].start)) {
				fprintf(stderr, "\ncase %d: listed slot not bookable\n", cases);
				mismatches++;
				break;
			}
		for (i = 0; i < 5; i++) {
			int64_t probe = (int64_t)d * 86400 + 60 * test_rand_range(&r, -600, 2000);
			int expect = 0, k, dd;

			for (dd = -2; dd <= 2 && !expect; dd++) {
				struct slot_busy kept[10];
				int nk = 0;

				for (k = 0; k < nbusy; k++)
					if (&busy[k] != c.ignore)
						kept[nk++] = busy[k];
				mn = model(&s, slot_local_date(&s, probe) + dd, now, kept, nk, mstart, mlabel);
				for (k = 0; k < mn; k++)
					if (mstart[k] == probe)
						expect = 1;
			}
			if (slot_bookable(&c, probe) != expect) {
				fprintf(stderr, "\ncase %d: bookable(%lld) != model %d\n", cases, (long long)probe, expect);
				mismatches++;
				break;
			}
		}
	}
	CU_ASSERT_EQUAL(mismatches, 0);
}

void suite_slot(void)
{
	CU_pSuite s = test_suite("slot");

	TEST_ADD(s, test_spring_forward_new_york);
	TEST_ADD(s, test_fall_back_new_york);
	TEST_ADD(s, test_interval_starting_in_gap);
	TEST_ADD(s, test_gap_intervals_dedupe);
	TEST_ADD(s, test_whole_transition_days);
	TEST_ADD(s, test_skipped_day_apia);
	TEST_ADD(s, test_weekday_far_east_and_west);
	TEST_ADD(s, test_buffers_notice_horizon);
	TEST_ADD(s, test_step_and_dedupe);
	TEST_ADD(s, test_property_vs_model);
}
