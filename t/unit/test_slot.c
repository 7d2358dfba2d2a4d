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
	struct slot_service v;
	struct slot_ctx c = { &s, &v, 0, NULL, 0, NULL };
	char buf[2048];
	int n;

	base_sched(&s, "America/New_York", 30);
	every_day(&s, 60, 300);
	slot_service_default(&s, 0, &v);
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
	struct slot_service v;
	struct slot_ctx c = { &s, &v, 0, NULL, 0, NULL };
	char buf[2048];
	int n;

	base_sched(&s, "America/New_York", 30);
	every_day(&s, 60, 300);
	slot_service_default(&s, 0, &v);
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
	struct slot_service v;
	struct slot_ctx c = { &s, &v, 0, NULL, 0, NULL };
	int n;

	/* 02:30 does not exist: it is read with EST, i.e. 07:30Z = 03:30 EDT. */
	base_sched(&s, "America/New_York", 30);
	every_day(&s, 150, 300);
	slot_service_default(&s, 0, &v);
	n = slot_list_for_date(&c, date("2027-03-14"), out);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(out[0].start, utc("2027-03-14T07:30:00Z"));
	CU_ASSERT_EQUAL(out[0].local_min, 3 * 60 + 30);
}

static void test_gap_intervals_dedupe(void)
{
	struct sched s;
	struct slot out[SLOT_MAX_PER_DATE];
	struct slot_service v;
	struct slot_ctx c = { &s, &v, 0, NULL, 0, NULL };
	int n;

	/* 02:00-02:59 lies wholly in the gap and is read with EST: 07:00Z-07:59Z,
	 * which 03:00-04:00 EDT (07:00Z-08:00Z) also covers. 07:00Z comes once. */
	base_sched(&s, "America/New_York", 30);
	s.week[6].n = 2;
	s.week[6].iv[0].start = 120;
	s.week[6].iv[0].end = 179;
	s.week[6].iv[1].start = 180;
	s.week[6].iv[1].end = 240;
	slot_service_default(&s, 0, &v);
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
	struct slot_service v;
	struct slot_ctx c = { &s, &v, 0, NULL, 0, NULL };

	base_sched(&s, "Europe/Berlin", 60);
	every_day(&s, 0, 1440);
	slot_service_default(&s, 0, &v);
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-03-28"), out), 23);
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-10-31"), out), 25);
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-10-30"), out), 24);
	base_sched(&s, "Australia/Lord_Howe", 30);
	every_day(&s, 0, 1440);
	/* DST starts 2027-10-03 02:00 -> 02:30: 23.5 hours; ends 2027-04-04: 24.5 hours. */
	slot_service_default(&s, 0, &v);
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-10-03"), out), 47);
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-04-04"), out), 49);
}

static void test_skipped_day_apia(void)
{
	struct sched s;
	struct slot out[SLOT_MAX_PER_DATE];
	struct slot_service v;
	struct slot_ctx c = { &s, &v, 0, NULL, 0, NULL };

	base_sched(&s, "Pacific/Apia", 60);
	every_day(&s, 9 * 60, 17 * 60);
	slot_service_default(&s, 0, &v);
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
	struct slot_service v;
	struct slot_ctx c = { &s, &v, 0, NULL, 0, NULL };

	/* Monday 2027-03-15 in Kiritimati (+14) is still Sunday in UTC. */
	base_sched(&s, "Pacific/Kiritimati", 60);
	s.week[0].n = 1;
	s.week[0].iv[0].start = 9 * 60;
	s.week[0].iv[0].end = 10 * 60;
	slot_service_default(&s, 0, &v);
	CU_ASSERT_EQUAL_FATAL(slot_list_for_date(&c, date("2027-03-15"), out), 1);
	CU_ASSERT_EQUAL(out[0].start, utc("2027-03-14T19:00:00Z"));
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-03-14"), out), 0);
	CU_ASSERT_EQUAL(slot_list_for_date(&c, date("2027-03-16"), out), 0);
	base_sched(&s, "Pacific/Pago_Pago", 60);
	s.week[0].n = 1;
	s.week[0].iv[0].start = 20 * 60;
	s.week[0].iv[0].end = 21 * 60;
	slot_service_default(&s, 0, &v);
	CU_ASSERT_EQUAL_FATAL(slot_list_for_date(&c, date("2027-03-15"), out), 1);
	CU_ASSERT_EQUAL(out[0].start, utc("2027-03-16T07:00:00Z"));
}

static void test_buffers_notice_horizon(void)
{
	struct sched s;
	struct slot out[SLOT_MAX_PER_DATE];
	struct slot_entry busy[1];
	struct slot_service v;
	struct slot_ctx c = { &s, &v, 0, busy, 1, NULL };
	int n;

	base_sched(&s, "UTC", 30);
	every_day(&s, 9 * 60, 12 * 60);
	s.buffer_after = 10;
	busy[0].start = utc("2027-03-15T10:00:00Z");
	busy[0].end = utc("2027-03-15T10:30:00Z");
	busy[0].buffer_before = 0; /* booked under the schedule's buffers: the rule for `default` */
	busy[0].buffer_after = 10 * 60;
	busy[0].service = 0;
	slot_service_default(&s, 0, &v);
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
	slot_service_default(&s, 0, &v);
	n = slot_list_for_date(&c, date("2027-03-15"), out);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(out[0].start, utc("2027-03-15T10:30:00Z"));
	/* Past: notice 0, now 10:00 exactly -> 10:00 is still offered, 09:30 is not. */
	s.minimum_notice = 0;
	slot_service_default(&s, 0, &v);
	c.now = utc("2027-03-15T10:00:00Z");
	CU_ASSERT(slot_bookable(&c, utc("2027-03-15T10:00:00Z")));
	CU_ASSERT_FALSE(slot_bookable(&c, utc("2027-03-15T09:30:00Z")));
	/* Horizon: 1 day from now -> up to 2027-03-16T10:00Z inclusive. */
	s.horizon_days = 1;
	slot_service_default(&s, 0, &v);
	CU_ASSERT(slot_bookable(&c, utc("2027-03-16T10:00:00Z")));
	CU_ASSERT_FALSE(slot_bookable(&c, utc("2027-03-16T10:30:00Z")));
}

static void test_step_and_dedupe(void)
{
	struct sched s;
	struct slot out[SLOT_MAX_PER_DATE];
	struct slot_service v;
	struct slot_ctx c = { &s, &v, 0, NULL, 0, NULL };
	int n;

	base_sched(&s, "UTC", 60);
	s.slot_interval = 15;
	s.week[0].n = 2;
	s.week[0].iv[0].start = 9 * 60;
	s.week[0].iv[0].end = 10 * 60 + 30;
	s.week[0].iv[1].start = 10 * 60 + 30;
	s.week[0].iv[1].end = 11 * 60 + 30;
	slot_service_default(&s, 0, &v);
	n = slot_list_for_date(&c, date("2027-03-15"), out);
	/* 09:00 09:15 09:30 | 10:30 */
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_FALSE(slot_bookable(&c, utc("2027-03-15T09:05:00Z")));
	CU_ASSERT(slot_bookable(&c, utc("2027-03-15T09:15:00Z")));
	CU_ASSERT_FALSE(slot_bookable(&c, utc("2027-03-15T09:15:01Z")));
}

/* ------------------------------------------------ services, seats, limits */

/* An entry [iso, iso + minutes) of service svc booked with buffers (minutes). */
static struct slot_entry entry(const char *iso, int minutes, int before, int after, int32_t svc)
{
	struct slot_entry x;

	memset(&x, 0, sizeof x);
	x.start = utc(iso);
	x.end = x.start + (int64_t)minutes * 60;
	x.buffer_before = before * 60;
	x.buffer_after = after * 60;
	x.service = svc;
	return x;
}

/* A schedule open every day start..end, its default service (key 0), no entries yet. */
struct fixture {
	struct sched s;
	struct slot_service v;
	struct slot_entry busy[4];
	struct slot_ctx c;
	struct slot out[SLOT_MAX_PER_DATE];
};

static void fixture(struct fixture *f, const char *tz, int duration, int start, int end)
{
	base_sched(&f->s, tz, duration);
	every_day(&f->s, start, end);
	slot_service_default(&f->s, 0, &f->v);
	memset(f->busy, 0, sizeof f->busy);
	f->c = (struct slot_ctx){ &f->s, &f->v, 0, f->busy, 0, NULL };
}

static void test_seats_share_a_session(void)
{
	struct fixture f;
	int i;

	fixture(&f, "UTC", 60, 9 * 60, 12 * 60);
	f.v.key = 1;
	f.v.slot_interval = 30;
	f.v.capacity = 3;
	for (i = 0; i < 3; i++)
		f.busy[i] = entry("2027-03-15T10:00:00Z", 60, 0, 0, 1);
	/* Nothing booked: 09:00 .. 11:00, every one with 3 seats. */
	CU_ASSERT_EQUAL_FATAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 5);
	CU_ASSERT_EQUAL(f.out[2].seats_left, 3);
	/* One seat at 10:00: 10:00 stays (the seats never conflict), 09:30 and 10:30 overlap it. */
	f.c.nbusy = 1;
	CU_ASSERT_EQUAL_FATAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 3);
	CU_ASSERT_EQUAL(f.out[0].start, utc("2027-03-15T09:00:00Z"));
	CU_ASSERT_EQUAL(f.out[0].seats_left, 3);
	CU_ASSERT_EQUAL(f.out[1].start, utc("2027-03-15T10:00:00Z"));
	CU_ASSERT_EQUAL(f.out[1].seats_left, 2);
	CU_ASSERT_EQUAL(f.out[2].start, utc("2027-03-15T11:00:00Z"));
	f.c.nbusy = 2;
	CU_ASSERT_EQUAL_FATAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 3);
	CU_ASSERT_EQUAL(f.out[1].seats_left, 1);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T10:00:00Z")), 1);
	/* Full: the session is no longer offered, and still blocks its neighbours. */
	f.c.nbusy = 3;
	CU_ASSERT_EQUAL_FATAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 2);
	CU_ASSERT_EQUAL(f.out[1].start, utc("2027-03-15T11:00:00Z"));
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T10:00:00Z")), 0);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T09:30:00Z")), 0);
	/* Another service's entry at the same start is no seat: it conflicts. */
	f.c.nbusy = 1;
	f.busy[0].service = 2;
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 2);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T10:00:00Z")), 0);
	/* The capacity-1 default, as today: one booking takes the slot. */
	f.busy[0].service = 0;
	slot_service_default(&f.s, 0, &f.v);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T10:00:00Z")), 0);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T11:00:00Z")), 1);
}

static void test_asymmetric_buffers(void)
{
	struct fixture f;

	fixture(&f, "UTC", 30, 8 * 60, 13 * 60);
	f.c.nbusy = 1;
	f.v.slot_interval = 5;
	f.v.buffer_before = 10;
	/* Booked 10:00-10:30 with 20 minutes after it: s >= 10:30 + 20 + 10, or s + 30 <= 10:00. */
	f.busy[0] = entry("2027-03-15T10:00:00Z", 30, 0, 20, 0);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T09:30:00Z")), 1);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T09:35:00Z")), 0);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T10:55:00Z")), 0);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T11:00:00Z")), 1);
	/* The entry's 15 minutes before it meet the service's 5 after: s + 30 + 5 + 15 <= 10:00. */
	f.busy[0].buffer_before = 15 * 60;
	f.v.buffer_after = 5;
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T09:10:00Z")), 1);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T09:15:00Z")), 0);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T11:00:00Z")), 1);
	/* Without the service's buffer before, only the entry's 20 after remain. */
	f.v.buffer_before = 0;
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T10:45:00Z")), 0);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T10:50:00Z")), 1);
	/* Buffers reach outside working hours: an entry at 13:30 with 45 before: s + 30 + 5 + 45 <= 13:30. */
	f.busy[0] = entry("2027-03-15T13:30:00Z", 30, 45, 0, 0);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T12:10:00Z")), 1);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T12:15:00Z")), 0);
}

static void test_per_day_on_23_and_25_hour_days(void)
{
	struct fixture f;

	fixture(&f, "Europe/Berlin", 60, 0, 1440);
	f.c.nbusy = 2;
	/* 2027-03-28 has 23 hours: sessions at its local 00:00 (still CET) and 23:00 (CEST). */
	f.busy[0] = entry("2027-03-27T23:00:00Z", 60, 0, 0, 0);
	f.busy[1] = entry("2027-03-28T21:00:00Z", 60, 0, 0, 0);
	f.s.limit_day = 2;
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-28"), f.out), 0);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-27"), f.out), 24);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-29"), f.out), 24);
	f.s.limit_day = 3;
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-28"), f.out), 21);
	/* 2027-10-31 has 25 hours: 00:00 (CEST), the second 02:00 (CET), 23:00 (CET). */
	f.busy[0] = entry("2027-10-30T22:00:00Z", 60, 0, 0, 0);
	f.busy[1] = entry("2027-10-31T01:00:00Z", 60, 0, 0, 0);
	f.busy[2] = entry("2027-10-31T22:00:00Z", 60, 0, 0, 0);
	f.c.nbusy = 3;
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-10-31"), f.out), 0);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-10-30"), f.out), 24);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-11-01"), f.out), 24);
	f.s.limit_day = 4;
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-10-31"), f.out), 22);
	/* The first 02:00 (00:00Z) is free and offered, since a fourth session may open. */
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-10-31T00:00:00Z")), 1);
	f.s.limit_day = 3;
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-10-31T00:00:00Z")), 0);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-10-30T21:00:00Z")), 1);
}

static void test_per_week_across_week_boundary(void)
{
	struct fixture f;

	fixture(&f, "America/New_York", 30, 0, 1440);
	f.c.nbusy = 1;
	f.s.limit_week = 1;
	/* Sunday 2027-03-21 23:30 EDT is Monday 03:30 in UTC: it counts for the week of the 15th. */
	f.busy[0] = entry("2027-03-22T03:30:00Z", 30, 0, 0, 0);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 0);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-20"), f.out), 0);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-21"), f.out), 0);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-22"), f.out), 48);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-22T04:00:00Z")), 1);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-22T03:00:00Z")), 0);
	/* Monday 00:00 EDT instead: the Sunday before is another week. */
	f.busy[0] = entry("2027-03-22T04:00:00Z", 30, 0, 0, 0);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-21"), f.out), 48);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-22"), f.out), 0);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-28"), f.out), 0);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-29"), f.out), 48);
	/* The service's own weekly limit does the same, for its own sessions. */
	f.s.limit_week = 0;
	f.v.limit_week = 1;
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-28"), f.out), 0);
	f.busy[0].service = 5;
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-28"), f.out), 48);
}

static void test_seat_beats_limit(void)
{
	struct fixture f;

	fixture(&f, "UTC", 60, 9 * 60, 12 * 60);
	f.c.nbusy = 1;
	f.v.capacity = 2;
	f.s.limit_day = 1;
	f.busy[0] = entry("2027-03-15T10:00:00Z", 60, 0, 0, 0);
	CU_ASSERT_EQUAL_FATAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 1);
	CU_ASSERT_EQUAL(f.out[0].start, utc("2027-03-15T10:00:00Z"));
	CU_ASSERT_EQUAL(f.out[0].seats_left, 1);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T09:00:00Z")), 0);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T10:00:00Z")), 1);
	f.s.limit_day = 0;
	f.v.limit_day = 1;
	CU_ASSERT_EQUAL_FATAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 1);
	CU_ASSERT_EQUAL(f.out[0].seats_left, 1);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-16"), f.out), 3);
}

static void test_service_limit_counts_own_sessions(void)
{
	struct fixture f;

	fixture(&f, "UTC", 60, 9 * 60, 17 * 60);
	f.v.key = 1;
	f.c.nbusy = 1;
	f.v.limit_day = 1;
	f.busy[0] = entry("2027-03-15T10:00:00Z", 60, 0, 0, 2);
	f.busy[1] = entry("2027-03-15T14:00:00Z", 60, 0, 0, 1);
	/* Service 2's session does not count for service 1's limit. */
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 7);
	f.c.nbusy = 2;
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 0);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-16"), f.out), 8);
	/* Service 2 asked about: its own one session, under a limit of 2. */
	f.v.key = 2;
	f.v.limit_day = 2;
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 6);
	/* The provider's limit counts both services. */
	f.v.limit_day = 0;
	f.s.limit_day = 2;
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 0);
	f.s.limit_day = 3;
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 6);
}

/* A team booking's load: sessions (not seats) of any service in the local ISO week of t. */
static void test_week_sessions_in_the_local_iso_week(void)
{
	struct fixture f;
	struct slot_entry b[6];

	fixture(&f, "Pacific/Auckland", 60, 0, 24 * 60);
	/* Local Sunday 2027-03-14 10:00 NZDT (+13): the week before Monday's. */
	b[0] = entry("2027-03-13T21:00:00Z", 60, 0, 0, 0);
	/* Two seats of one session on local Monday 2027-03-15 10:00, and another service then. */
	b[1] = entry("2027-03-14T21:00:00Z", 60, 0, 0, 1);
	b[2] = entry("2027-03-14T21:00:00Z", 60, 0, 0, 1);
	b[3] = entry("2027-03-14T21:00:00Z", 60, 0, 0, 2);
	/* Local Sunday 2027-03-21 23:00 NZDT: still that week; Monday 00:00 is not. */
	b[4] = entry("2027-03-21T10:00:00Z", 60, 0, 0, 0);
	b[5] = entry("2027-03-21T11:00:00Z", 60, 0, 0, 0);
	f.c.busy = b;
	f.c.nbusy = 6;
	/* Monday 06:00 local is Sunday 17:00 UTC: the UTC week would hold busy[0]. */
	CU_ASSERT_EQUAL(slot_week_sessions(&f.c, utc("2027-03-14T17:00:00Z")), 3);
	CU_ASSERT_EQUAL(slot_week_sessions(&f.c, utc("2027-03-13T17:00:00Z")), 1);
	CU_ASSERT_EQUAL(slot_week_sessions(&f.c, utc("2027-03-21T11:00:00Z")), 1);
	f.c.ignore = &b[3];
	CU_ASSERT_EQUAL(slot_week_sessions(&f.c, utc("2027-03-14T17:00:00Z")), 2);
}

static void test_ignore_leaves_the_counts(void)
{
	struct fixture f;

	fixture(&f, "UTC", 60, 9 * 60, 12 * 60);
	f.c.nbusy = 1;
	f.s.limit_day = 1;
	f.busy[0] = entry("2027-03-15T10:00:00Z", 60, 0, 0, 0);
	f.busy[1] = entry("2027-03-15T10:00:00Z", 60, 0, 0, 0);
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 0);
	/* Rescheduling the only booking of the day: the day is free again, its own time included. */
	f.c.ignore = &f.busy[0];
	CU_ASSERT_EQUAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 3);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T11:00:00Z")), 1);
	/* One seat of two moving: the session stays, with one seat free, and still counts. */
	f.v.capacity = 2;
	f.c.nbusy = 2;
	CU_ASSERT_EQUAL_FATAL(slot_list_for_date(&f.c, date("2027-03-15"), f.out), 1);
	CU_ASSERT_EQUAL(f.out[0].start, utc("2027-03-15T10:00:00Z"));
	CU_ASSERT_EQUAL(f.out[0].seats_left, 1);
	f.c.ignore = &f.busy[1];
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T10:00:00Z")), 1);
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T11:00:00Z")), 0);
	f.c.ignore = NULL;
	CU_ASSERT_EQUAL(slot_bookable(&f.c, utc("2027-03-15T10:00:00Z")), 0);
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

#define MODEL_MAX_ENTRIES 24

/* What the model is told: the schedule, the service, and the entries left once `ignore` is gone. */
struct model_in {
	const struct sched *s;
	const struct slot_service *v;
	int64_t now;
	const struct slot_entry *e;
	int ne;
	/* Derived once per call, literally: each entry's local start date, and whether an earlier one is its session. */
	int32_t ldate[MODEL_MAX_ENTRIES];
	int repeat[MODEL_MAX_ENTRIES];
	int limit_hits; /* candidates a limit refused, for the coverage line */
};

static int32_t model_local_date(const struct sched *s, int64_t t)
{
	int64_t l = tz_utc_to_local(s->zone, t);

	return (int32_t)((l - (((l % 86400) + 86400) % 86400)) / 86400);
}

/* Days since 1970-01-01 (a Thursday) back to that week's Monday. */
static int32_t model_monday(int32_t d)
{
	return d - (((d % 7) + 7 + 3) % 7);
}

/* Sessions of service `only` (-1: any) starting on local dates lo..hi. */
static int model_sessions(const struct model_in *m, int only, int32_t lo, int32_t hi)
{
	int i, n = 0;

	for (i = 0; i < m->ne; i++)
		if (!m->repeat[i] && (only < 0 || m->e[i].service == only) && m->ldate[i] >= lo &&
		    m->ldate[i] <= hi)
			n++;
	return n;
}

/* The model: walk each interval minute by minute, testing every rule literally. */
static int model(struct model_in *m, int32_t d, int64_t *starts, int *labels, int *seats)
{
	const struct sched *s = m->s;
	const struct slot_service *v = m->v;
	const struct sched_interval *iv = s->week[civil_weekday(d)].iv;
	int niv = s->week[civil_weekday(d)].n, i, j, n = 0, b;
	int64_t day_start, day_end;

	for (i = 0; i < m->ne; i++) {
		m->ldate[i] = model_local_date(s, m->e[i].start);
		m->repeat[i] = 0;
		for (j = 0; j < i; j++)
			if (m->e[j].start == m->e[i].start && m->e[j].service == m->e[i].service)
				m->repeat[i] = 1;
	}
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
		for (t = us; t + v->duration * 60 <= ue; t += 60) {
			int clash = 0, taken = 0;
			int64_t mm;

			if ((t - us) % (v->slot_interval * 60))
				continue;
			if (t < m->now + v->minimum_notice * 60)
				continue;
			if (v->horizon_days != SCHED_NO_HORIZON && t > m->now + v->horizon_days * 86400LL)
				continue;
			for (b = 0; b < m->ne && !clash; b++) {
				const struct slot_entry *x = &m->e[b];

				if (x->service == v->key && x->start == t) {
					taken++;
					continue;
				}
				if (x->start > t + 4 * 86400 || x->end < t - 4 * 86400)
					continue; /* nothing a day long with day-long buffers reaches that far */
				/* Does a minute of [t - Sb, t + D + Sa) lie in [a - Xb, b + Xa)? */
				for (mm = t - v->buffer_before * 60; mm < t + (v->duration + v->buffer_after) * 60; mm += 60)
					if (mm >= x->start - x->buffer_before && mm < x->end + x->buffer_after) {
						clash = 1;
						break;
					}
			}
			if (clash || taken >= v->capacity)
				continue;
			if (taken == 0) {
				int32_t ld = model_local_date(s, t), mon = model_monday(ld);

				if ((s->limit_day && model_sessions(m, -1, ld, ld) >= s->limit_day) ||
				    (s->limit_week && model_sessions(m, -1, mon, mon + 6) >= s->limit_week) ||
				    (v->limit_day && model_sessions(m, v->key, ld, ld) >= v->limit_day) ||
				    (v->limit_week && model_sessions(m, v->key, mon, mon + 6) >= v->limit_week)) {
					m->limit_hits++;
					continue;
				}
			}
			for (j = 0; j < n && starts[j] != t; j++)
				;
			if (j < n)
				continue;
			starts[n] = t;
			labels[n] = (int)(((tz_utc_to_local(s->zone, t) % 86400) + 86400) % 86400 / 60);
			seats[n] = v->capacity - taken;
			n++;
		}
	}
	for (i = 1; i < n; i++) /* selection order by instant */
		for (j = i; j > 0 && starts[j - 1] > starts[j]; j--) {
			int64_t t = starts[j];
			int l = labels[j], k = seats[j];

			starts[j] = starts[j - 1];
			labels[j] = labels[j - 1];
			seats[j] = seats[j - 1];
			starts[j - 1] = t;
			labels[j - 1] = l;
			seats[j - 1] = k;
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

static int random_limit(uint64_t *r, int hi)
{
	return test_rand(r) % 3 ? 0 : test_rand_range(r, 1, hi);
}

static void random_service(uint64_t *r, const struct sched *s, int32_t key, struct slot_service *v)
{
	slot_service_default(s, key, v);
	if (test_rand(r) % 4 == 0)
		return; /* the schedule's own values */
	v->duration = 5 * test_rand_range(r, 1, 24);
	v->slot_interval = 5 * test_rand_range(r, 1, 24);
	v->buffer_before = test_rand(r) % 2 ? 0 : test_rand_range(r, 0, 45);
	v->buffer_after = test_rand(r) % 2 ? 0 : test_rand_range(r, 0, 45);
	v->minimum_notice = test_rand(r) % 2 ? 0 : test_rand_range(r, 0, 600);
	v->horizon_days = test_rand(r) % 3 ? SCHED_NO_HORIZON : test_rand_range(r, 1, 4);
	v->capacity = test_rand_range(r, 1, 5);
	v->limit_day = random_limit(r, 4);
	v->limit_week = random_limit(r, 10);
}

/*
 * Sessions of random services over the fortnight around d, some on the
 * asked service's grid of nearby dates (so that seats meet candidates),
 * some with several seats, each seat with the service's buffers or its
 * own; sorted by start.
 */
static int random_entries(uint64_t *r, const struct sched *s, const struct slot_service *svc,
			  int nsvc, const struct slot_service *asked, int32_t d, struct slot_entry *e)
{
	int nsess = test_rand_range(r, 0, 10), ne = 0, i, j;

	for (i = 0; i < nsess && ne < MODEL_MAX_ENTRIES; i++) {
		const struct slot_service *v = test_rand(r) % 2 ? asked : &svc[test_rand(r) % (uint64_t)nsvc];
		int32_t day = test_rand(r) % 2 ? d : d + test_rand_range(r, -1, 1);
		const struct sched_day *wd = &s->week[civil_weekday(day)];
		int64_t start, len = (int64_t)(test_rand(r) % 4 ? v->duration : test_rand_range(r, 5, 120)) * 60;
		int seats = v->capacity > 1 && test_rand(r) % 2 ? test_rand_range(r, 1, v->capacity + 1) : 1;

		if (test_rand(r) % 2 && wd->n) {
			const struct sched_interval *iv = &wd->iv[test_rand(r) % (uint64_t)wd->n];

			start = tz_local_to_utc(s->zone, (int64_t)day * 86400 + iv->start * 60) +
				(int64_t)asked->slot_interval * 60 * test_rand_range(r, 0, 12);
		} else {
			start = (int64_t)(d + test_rand_range(r, -8, 8)) * 86400 + 60 * test_rand_range(r, 0, 1439);
		}
		for (j = 0; j < seats && ne < MODEL_MAX_ENTRIES; j++, ne++) {
			e[ne].start = start;
			e[ne].end = start + len;
			e[ne].service = v->key;
			e[ne].buffer_before = 60 * (test_rand(r) % 2 ? v->buffer_before : test_rand_range(r, 0, 45));
			e[ne].buffer_after = 60 * (test_rand(r) % 2 ? v->buffer_after : test_rand_range(r, 0, 45));
		}
	}
	for (i = 1; i < ne; i++) /* by start; equal starts keep their order */
		for (j = i; j > 0 && e[j - 1].start > e[j].start; j--) {
			struct slot_entry t = e[j];

			e[j] = e[j - 1];
			e[j - 1] = t;
		}
	return ne;
}

#define MODEL_DAYS 10 /* dates d - 4 .. d + 5 */

static void test_property_vs_model(void)
{
	uint64_t r = test_seed();
	static struct sched_override ov[4];
	static int64_t mstart[MODEL_DAYS][SLOT_MAX_PER_DATE * 2];
	static int mlabel[MODEL_DAYS][SLOT_MAX_PER_DATE * 2], mseats[MODEL_DAYS][SLOT_MAX_PER_DATE * 2];
	int cases, mismatches = 0, offered = 0, seated = 0, limited = 0, refused = 0;

	for (cases = 0; cases < 5000 && mismatches < 5; cases++) {
		struct sched s;
		struct slot_service svc[3];
		struct slot_entry busy[MODEL_MAX_ENTRIES], kept[MODEL_MAX_ENTRIES];
		struct slot out[SLOT_MAX_PER_DATE];
		int mn[MODEL_DAYS];
		int i, k, n, nbusy, nsvc, wd;
		int32_t d;
		int64_t now;
		struct slot_ctx c;
		struct model_in m;

		base_sched(&s, zones[test_rand(&r) % (sizeof zones / sizeof zones[0])], 5 * test_rand_range(&r, 1, 36));
		s.slot_interval = 5 * test_rand_range(&r, 1, 24);
		s.buffer_before = test_rand(&r) % 3 ? 0 : test_rand_range(&r, 0, 60);
		s.buffer_after = test_rand(&r) % 3 ? 0 : test_rand_range(&r, 0, 60);
		s.limit_day = random_limit(&r, 4);
		s.limit_week = random_limit(&r, 10);
		for (wd = 0; wd < 7; wd++)
			random_day(&r, s.week[wd].iv, &s.week[wd].n);
		d = civil_days_from_ymd(test_rand_range(&r, 1975, 2099), 1, 1) + test_rand_range(&r, 0, 364);
		if (test_rand(&r) % 2) { /* move to the next DST transition day, if any */
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
		nsvc = test_rand_range(&r, 1, 3);
		for (i = 0; i < nsvc; i++)
			random_service(&r, &s, 10 + i, &svc[i]);
		if (test_rand(&r) % 5 == 0) /* today's rule: the default, its entries under the schedule's buffers */
			nsvc = 1, slot_service_default(&s, 10, &svc[0]);
		k = (int)(test_rand(&r) % (uint64_t)nsvc);
		nbusy = random_entries(&r, &s, svc, nsvc, &svc[k], d, busy);
		c = (struct slot_ctx){ &s, &svc[k], now, busy, (size_t)nbusy, NULL };
		if (nbusy && test_rand(&r) % 4 == 0)
			c.ignore = &busy[test_rand(&r) % (uint64_t)nbusy];
		memset(&m, 0, sizeof m);
		m.s = &s;
		m.v = &svc[k];
		m.now = now;
		m.e = kept;
		for (i = 0; i < nbusy; i++)
			if (&busy[i] != c.ignore)
				kept[m.ne++] = busy[i];
		for (i = 0; i < MODEL_DAYS; i++)
			mn[i] = model(&m, d - 4 + i, mstart[i], mlabel[i], mseats[i]);
		refused += m.limit_hits;
		n = slot_list_for_date(&c, d, out);
		if (n != mn[4]) {
			fprintf(stderr, "\ncase %d (%s day %d): engine %d slots, model %d\n", cases, s.timezone, d, n, mn[4]);
			mismatches++;
			continue;
		}
		offered += n;
		if (s.limit_day || s.limit_week || svc[k].limit_day || svc[k].limit_week)
			limited++;
		for (i = 0; i < n; i++) {
			if (out[i].start != mstart[4][i] || out[i].local_min != mlabel[4][i] ||
			    out[i].seats_left != mseats[4][i]) {
				fprintf(stderr, "\ncase %d (%s day %d): slot %d differs\n", cases, s.timezone, d, i);
				mismatches++;
				break;
			}
			seated += out[i].seats_left < svc[k].capacity;
		}
		/* Every listed slot is bookable with its seats; a probe is bookable iff some date lists it. */
		for (i = 0; i < n; i++)
			if (slot_bookable(&c, out[i].start) != out[i].seats_left) {
				fprintf(stderr, "\ncase %d: listed slot not bookable\n", cases);
				mismatches++;
				break;
			}
		for (i = 0; i < 8; i++) {
			int64_t probe = i < 3 && nbusy ? busy[test_rand(&r) % (uint64_t)nbusy].start
						       : (int64_t)d * 86400 + 60 * test_rand_range(&r, -600, 2000);
			int32_t pd = model_local_date(&s, probe);
			int expect = 0, j, dd;

			if (pd - 2 < d - 4 || pd + 2 > d + 5)
				continue;
			for (dd = pd - 2; dd <= pd + 2 && !expect; dd++)
				for (j = 0; j < mn[dd - d + 4]; j++)
					if (mstart[dd - d + 4][j] == probe)
						expect = mseats[dd - d + 4][j];
			if (slot_bookable(&c, probe) != expect) {
				fprintf(stderr, "\ncase %d: bookable(%lld) != model %d\n", cases, (long long)probe, expect);
				mismatches++;
				break;
			}
		}
	}
	fprintf(stderr, "\nproperty: %d cases, %d slots offered, %d of them in a session with seats taken, "
		"%d cases with a limit, %d candidates a limit refused (model, 10 dates a case)\n",
		cases, offered, seated, limited, refused);
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
	TEST_ADD(s, test_seats_share_a_session);
	TEST_ADD(s, test_asymmetric_buffers);
	TEST_ADD(s, test_per_day_on_23_and_25_hour_days);
	TEST_ADD(s, test_per_week_across_week_boundary);
	TEST_ADD(s, test_seat_beats_limit);
	TEST_ADD(s, test_service_limit_counts_own_sessions);
	TEST_ADD(s, test_ignore_leaves_the_counts);
	TEST_ADD(s, test_week_sessions_in_the_local_iso_week);
	TEST_ADD(s, test_property_vs_model);
}
