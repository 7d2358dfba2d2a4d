/*
 * engine_bench.c - how long the engine takes for one day's availability and
 * one local->UTC conversion, for a realistic provider (Europe/Berlin, two
 * intervals a day, 20 bookings a day, 30-minute slots). Prints medians of
 * several runs; a benchmark, never a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/civil.h"
#include "engine/slot.h"
#include "engine/tz.h"

#define RUNS 9

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

int main(void)
{
	struct tz_cache *tzc = tz_cache_new("/usr/share/zoneinfo");
	struct sched s;
	struct slot_entry busy[20 * 9];
	struct slot out[SLOT_MAX_PER_DATE];
	double day[RUNS], conv[RUNS], bookable[RUNS];
	int32_t d0 = civil_days_from_ymd(2027, 3, 15);
	volatile int64_t sink = 0;
	int wd, i, r, nb = 0, iters = 20000;

	memset(&s, 0, sizeof s);
	memset(busy, 0, sizeof busy);
	strcpy(s.timezone, "Europe/Berlin");
	s.zone = tz_cache_get(tzc, s.timezone);
	if (!s.zone)
		return 1;
	s.duration = s.slot_interval = 30;
	s.horizon_days = SCHED_NO_HORIZON;
	for (wd = 0; wd < 7; wd++) {
		s.week[wd].n = 2;
		s.week[wd].iv[0].start = 7 * 60;
		s.week[wd].iv[0].end = 12 * 60;
		s.week[wd].iv[1].start = 13 * 60;
		s.week[wd].iv[1].end = 20 * 60;
	}
	/* 20 bookings on each day around the measured one, every other slot-ish. */
	for (i = -4; i <= 4; i++) {
		int k;

		for (k = 0; k < 20; k++) {
			int minute = k < 10 ? 7 * 60 + k * 30 : 13 * 60 + (k - 10) * 30;

			busy[nb].start = tz_local_to_utc(s.zone, (int64_t)(d0 + i) * 86400 + minute * 60);
			busy[nb].end = busy[nb].start + 1800;
			nb++;
		}
	}
	{
		struct slot_service svc;
		struct slot_ctx c = { &s, &svc, (int64_t)(d0 - 1) * 86400, busy, (size_t)nb, NULL };

		slot_service_default(&s, 0, &svc);

		for (r = 0; r < RUNS; r++) {
			double t0 = now_ns();

			for (i = 0; i < iters; i++)
				sink += slot_list_for_date(&c, d0 + (i & 3), out);
			day[r] = (now_ns() - t0) / iters;
			t0 = now_ns();
			for (i = 0; i < iters; i++)
				sink += slot_bookable(&c, out[0].start + (i & 1) * 1800);
			bookable[r] = (now_ns() - t0) / iters;
			t0 = now_ns();
			for (i = 0; i < iters * 50; i++)
				sink += tz_local_to_utc(s.zone, (int64_t)d0 * 86400 + (i % 1440) * 60);
			conv[r] = (now_ns() - t0) / (iters * 50);
		}
		printf("engine: one day's availability (Europe/Berlin, 2 intervals, 20 bookings/day, 30-min slots): median %.2f us over %d runs\n",
		       median(day, RUNS) / 1000.0, RUNS);
		printf("engine: is-bookable check of one instant: median %.2f us\n", median(bookable, RUNS) / 1000.0);
		printf("engine: one local->UTC conversion: median %.1f ns\n", median(conv, RUNS));
		printf("engine: target for a whole day: under 5 us -> %s\n",
		       median(day, RUNS) < 5000 ? "met" : "NOT met");
	}
	tz_cache_free(tzc);
	return sink == 42 ? 2 : 0;
}
