/*
 * test_tz.c - time zones: hand-worked DST cases, POSIX footers on synthetic
 * TZif files, name validation, the cache, and two properties on random
 * input (agreement with libical and glibc; local/UTC round trips).
 *
 * Expected instants below were worked out by hand from the zone's rules (the
 * tz database source) and are written as calendar tuples, not as numbers a
 * program printed.
 */
#include "testmain.h"
#include "engine/civil.h"
#include "engine/tz.h"

#include <dirent.h>
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ZONEINFO "/usr/share/zoneinfo"
#define H 3600
#define M 60

/* A UTC instant, or (same arithmetic) a local wall-clock reading. */
static int64_t at(int y, int mo, int d, int h, int mi)
{
	return (int64_t)civil_days_from_ymd(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

static struct tz_zone *load(const char *name)
{
	struct tz_zone *z = tz_zone_load(ZONEINFO, name);

	if (!z)
		fprintf(stderr, "cannot load %s\n", name);
	return z;
}

/* local reading -> expected UTC, checked both ways where it exists. */
#define L2U(z, local, utc) CU_ASSERT_EQUAL(tz_local_to_utc((z), (local)), (utc))

static void test_new_york_2007(void)
{
	struct tz_zone *z = load("America/New_York");

	CU_ASSERT_FATAL(z != NULL);
	CU_ASSERT_STRING_EQUAL(tz_zone_name(z), "America/New_York");
	/* 2007-03-11 02:00 EST (07:00Z) -> 03:00 EDT. */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2007, 3, 11, 6, 59) + 59), -5 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2007, 3, 11, 7, 0)), -4 * H);
	L2U(z, at(2007, 3, 11, 1, 59), at(2007, 3, 11, 6, 59));
	L2U(z, at(2007, 3, 11, 2, 0), at(2007, 3, 11, 7, 0));	/* gap: EST */
	L2U(z, at(2007, 3, 11, 2, 30), at(2007, 3, 11, 7, 30));	/* gap: EST */
	L2U(z, at(2007, 3, 11, 3, 0), at(2007, 3, 11, 7, 0));
	L2U(z, at(2007, 3, 11, 3, 30), at(2007, 3, 11, 7, 30));
	/* 2007-11-04 02:00 EDT (06:00Z) -> 01:00 EST; 01:00-01:59 occur twice. */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2007, 11, 4, 5, 59)), -4 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2007, 11, 4, 6, 0)), -5 * H);
	L2U(z, at(2007, 11, 4, 0, 59), at(2007, 11, 4, 4, 59));
	L2U(z, at(2007, 11, 4, 1, 0), at(2007, 11, 4, 5, 0));	/* first: EDT */
	L2U(z, at(2007, 11, 4, 1, 30), at(2007, 11, 4, 5, 30));	/* first: EDT */
	L2U(z, at(2007, 11, 4, 2, 0), at(2007, 11, 4, 7, 0));
	CU_ASSERT_EQUAL(tz_utc_to_local(z, at(2007, 11, 4, 5, 30)), at(2007, 11, 4, 1, 30));
	CU_ASSERT_EQUAL(tz_utc_to_local(z, at(2007, 11, 4, 6, 30)), at(2007, 11, 4, 1, 30));
	/* Before the first transition: LMT -4:56:02 (tzdata: until 1883-11-18 12:03:58). */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(1800, 1, 1, 0, 0)), -(4 * H + 56 * M + 2));
	L2U(z, at(1800, 1, 1, 0, 0), at(1800, 1, 1, 4, 56) + 2);
	tz_zone_free(z);
}

static void test_new_york_2099(void)
{
	struct tz_zone *z = load("America/New_York");

	CU_ASSERT_FATAL(z != NULL);
	/* 2099-01-01 is a Thursday, so March 1 and November 1 are Sundays:
	 * DST from 2099-03-08 02:00 EST (07:00Z) to 2099-11-01 02:00 EDT (06:00Z). */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2099, 7, 1, 12, 0)), -4 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2099, 3, 8, 6, 59)), -5 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2099, 3, 8, 7, 0)), -4 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2099, 11, 1, 5, 59)), -4 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2099, 11, 1, 6, 0)), -5 * H);
	L2U(z, at(2099, 3, 8, 2, 30), at(2099, 3, 8, 7, 30));
	L2U(z, at(2099, 11, 1, 1, 30), at(2099, 11, 1, 5, 30));
	/* 2040 too: past the 32-bit range that fat files stop at (2037). */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2040, 7, 1, 0, 0)), -4 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2040, 1, 1, 0, 0)), -5 * H);
	/* After 2100 the last offset (EST, from 2100-11-07) holds. */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2150, 7, 1, 0, 0)), -5 * H);
	L2U(z, at(2150, 7, 1, 12, 0), at(2150, 7, 1, 17, 0));
	tz_zone_free(z);
}

static void test_berlin(void)
{
	struct tz_zone *z = load("Europe/Berlin");

	CU_ASSERT_FATAL(z != NULL);
	/* EU rule, 01:00Z on the last Sundays: 2021-03-28 and 2021-10-31. */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2021, 3, 28, 0, 59)), 1 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2021, 3, 28, 1, 0)), 2 * H);
	L2U(z, at(2021, 3, 28, 2, 30), at(2021, 3, 28, 1, 30));	/* gap: CET */
	L2U(z, at(2021, 3, 28, 3, 0), at(2021, 3, 28, 1, 0));
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2021, 10, 31, 0, 59)), 2 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2021, 10, 31, 1, 0)), 1 * H);
	L2U(z, at(2021, 10, 31, 2, 30), at(2021, 10, 31, 0, 30));	/* first: CEST */
	L2U(z, at(2021, 10, 31, 3, 0), at(2021, 10, 31, 2, 0));
	L2U(z, at(2021, 1, 15, 9, 0), at(2021, 1, 15, 8, 0));
	tz_zone_free(z);
}

static void test_lord_howe(void)
{
	struct tz_zone *z = load("Australia/Lord_Howe");

	CU_ASSERT_FATAL(z != NULL);
	/* +10:30 standard, +11 DST. 2023: DST ends Sun 2 April 02:00 (+11) =
	 * 2023-04-01T15:00Z, local 01:30-01:59 occurs twice. */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2023, 4, 1, 14, 59)), 11 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2023, 4, 1, 15, 0)), 10 * H + 30 * M);
	L2U(z, at(2023, 4, 2, 1, 29), at(2023, 4, 1, 14, 29));
	L2U(z, at(2023, 4, 2, 1, 45), at(2023, 4, 1, 14, 45));	/* first: +11 */
	L2U(z, at(2023, 4, 2, 2, 0), at(2023, 4, 1, 15, 30));
	CU_ASSERT_EQUAL(tz_utc_to_local(z, at(2023, 4, 1, 15, 15)), at(2023, 4, 2, 1, 45));
	/* DST starts Sun 1 October 02:00 (+10:30) = 2023-09-30T15:30Z;
	 * local 02:00-02:29 does not exist. */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2023, 9, 30, 15, 29)), 10 * H + 30 * M);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2023, 9, 30, 15, 30)), 11 * H);
	L2U(z, at(2023, 10, 1, 1, 59), at(2023, 9, 30, 15, 29));
	L2U(z, at(2023, 10, 1, 2, 15), at(2023, 9, 30, 15, 45));	/* gap: +10:30 */
	L2U(z, at(2023, 10, 1, 2, 30), at(2023, 9, 30, 15, 30));
	tz_zone_free(z);
}

static void test_kathmandu(void)
{
	struct tz_zone *z = load("Asia/Kathmandu");

	CU_ASSERT_FATAL(z != NULL);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2024, 6, 1, 0, 0)), 5 * H + 45 * M);
	L2U(z, at(2024, 6, 1, 12, 0), at(2024, 6, 1, 6, 15));
	/* +05:30 until 1986-01-01 00:00 local (1985-12-31T18:30Z), then +05:45:
	 * local 00:00-00:14 that night does not exist. */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(1985, 12, 31, 18, 29)), 5 * H + 30 * M);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(1985, 12, 31, 18, 30)), 5 * H + 45 * M);
	L2U(z, at(1985, 12, 31, 23, 59), at(1985, 12, 31, 18, 29));
	L2U(z, at(1986, 1, 1, 0, 10), at(1985, 12, 31, 18, 40));	/* gap: +05:30 */
	L2U(z, at(1986, 1, 1, 0, 15), at(1985, 12, 31, 18, 30));
	tz_zone_free(z);
}

static void test_santiago(void)
{
	struct tz_zone *z = load("America/Santiago");

	CU_ASSERT_FATAL(z != NULL);
	/* Chile: DST from "Sep Sun>=2 4:00u" = Saturday 24:00 local (-4), so in
	 * 2023 Sunday 3 September starts at 01:00 (-3); 00:00-00:59 do not exist. */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2023, 9, 3, 3, 59)), -4 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2023, 9, 3, 4, 0)), -3 * H);
	L2U(z, at(2023, 9, 2, 23, 59), at(2023, 9, 3, 3, 59));
	L2U(z, at(2023, 9, 3, 0, 0), at(2023, 9, 3, 4, 0));	/* gap: -4 */
	L2U(z, at(2023, 9, 3, 0, 30), at(2023, 9, 3, 4, 30));	/* gap: -4 */
	L2U(z, at(2023, 9, 3, 1, 0), at(2023, 9, 3, 4, 0));
	/* DST ends "Apr Sun>=2 3:00u" = Saturday 24:00 (-3) -> 23:00 (-4):
	 * 2023-04-02T03:00Z; Saturday 23:00-23:59 occurs twice. */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2023, 4, 2, 2, 59)), -3 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2023, 4, 2, 3, 0)), -4 * H);
	L2U(z, at(2023, 4, 1, 23, 30), at(2023, 4, 2, 2, 30));	/* first: -3 */
	L2U(z, at(2023, 4, 2, 0, 0), at(2023, 4, 2, 4, 0));
	tz_zone_free(z);
}

static void test_sao_paulo_2018(void)
{
	struct tz_zone *z = load("America/Sao_Paulo");

	CU_ASSERT_FATAL(z != NULL);
	/* DST began 2018-11-04 00:00 (-3) = 03:00Z; 00:00-00:59 do not exist. */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2018, 11, 4, 2, 59)), -3 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2018, 11, 4, 3, 0)), -2 * H);
	L2U(z, at(2018, 11, 3, 23, 59), at(2018, 11, 4, 2, 59));
	L2U(z, at(2018, 11, 4, 0, 0), at(2018, 11, 4, 3, 0));	/* gap: -3 */
	L2U(z, at(2018, 11, 4, 0, 30), at(2018, 11, 4, 3, 30));	/* gap: -3 */
	L2U(z, at(2018, 11, 4, 1, 0), at(2018, 11, 4, 3, 0));
	/* It ended 2019-02-17 00:00 (-2) = 02:00Z: Saturday 23:xx occurs twice. */
	L2U(z, at(2019, 2, 16, 23, 30), at(2019, 2, 17, 1, 30));	/* first: -2 */
	CU_ASSERT_EQUAL(tz_utc_to_local(z, at(2019, 2, 17, 2, 30)), at(2019, 2, 16, 23, 30));
	/* Brazil has had no DST since 2019. */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2020, 1, 15, 12, 0)), -3 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2090, 1, 15, 12, 0)), -3 * H);
	tz_zone_free(z);
}

static void test_apia_2011(void)
{
	struct tz_zone *z = load("Pacific/Apia");

	CU_ASSERT_FATAL(z != NULL);
	/* Samoa skipped Friday 2011-12-30: 2011-12-29 23:59:59 (-10, DST) was
	 * followed by 2011-12-31 00:00 (+14, DST) at 2011-12-30T10:00Z. */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2011, 12, 30, 9, 59)), -10 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2011, 12, 30, 10, 0)), 14 * H);
	L2U(z, at(2011, 12, 29, 23, 59), at(2011, 12, 30, 9, 59));
	L2U(z, at(2011, 12, 30, 12, 0), at(2011, 12, 30, 22, 0));	/* gap: -10 */
	L2U(z, at(2011, 12, 31, 0, 0), at(2011, 12, 30, 10, 0));
	CU_ASSERT_EQUAL(tz_utc_to_local(z, at(2011, 12, 30, 10, 0)), at(2011, 12, 31, 0, 0));
	tz_zone_free(z);
}

static void test_extreme_offsets(void)
{
	struct tz_zone *k = load("Pacific/Kiritimati");
	struct tz_zone *p = load("Pacific/Pago_Pago");

	CU_ASSERT_FATAL(k != NULL && p != NULL);
	/* Kiritimati: +14 since 1995-01-01 (it skipped 1994-12-31). */
	CU_ASSERT_EQUAL(tz_offset_at(k, at(2024, 1, 1, 0, 0)), 14 * H);
	L2U(k, at(2024, 1, 1, 0, 0), at(2023, 12, 31, 10, 0));
	CU_ASSERT_EQUAL(tz_utc_to_local(k, at(2023, 12, 31, 10, 0)), at(2024, 1, 1, 0, 0));
	CU_ASSERT_EQUAL(tz_offset_at(k, at(1990, 1, 1, 0, 0)), -10 * H);
	/* Pago Pago: -11 (SST), no DST. */
	CU_ASSERT_EQUAL(tz_offset_at(p, at(2024, 1, 1, 0, 0)), -11 * H);
	L2U(p, at(2024, 1, 1, 0, 0), at(2024, 1, 1, 11, 0));
	L2U(p, at(2080, 6, 30, 23, 0), at(2080, 7, 1, 10, 0));
	tz_zone_free(k);
	tz_zone_free(p);
}

static void test_fixed_zones(void)
{
	struct tz_zone *u = load("UTC");
	struct tz_zone *g = load("Etc/GMT+5");

	CU_ASSERT_FATAL(u != NULL && g != NULL);
	CU_ASSERT_STRING_EQUAL(tz_zone_name(u), "UTC");
	for (int64_t t = at(1900, 1, 1, 0, 0); t < at(2200, 1, 1, 0, 0); t += 86400 * 997 + 3607) {
		CU_ASSERT_EQUAL(tz_offset_at(u, t), 0);
		CU_ASSERT_EQUAL(tz_local_to_utc(u, t), t);
		/* POSIX sign convention: Etc/GMT+5 is five hours WEST, UTC-5. */
		CU_ASSERT_EQUAL(tz_offset_at(g, t), -5 * H);
		CU_ASSERT_EQUAL(tz_local_to_utc(g, t), t + 5 * H);
	}
	L2U(g, at(2024, 6, 1, 12, 0), at(2024, 6, 1, 17, 0));
	tz_zone_free(u);
	tz_zone_free(g);
}

/* ---------------------------------------------------------------- synthetic TZif */

struct tzif_spec {
	int ntimes;
	const int64_t *times;
	const unsigned char *idx;
	int ntypes;
	const int32_t *utoff;
	const char *footer;	/* NULL: version 1 file */
	uint32_t bogus_timecnt;	/* non-zero: written as the v2 timecnt */
	int truncate;		/* drop the v2 data block */
};

static void put32(FILE *f, uint32_t v)
{
	unsigned char b[4] = { v >> 24, v >> 16, v >> 8, v };

	fwrite(b, 1, 4, f);
}

static void put_header(FILE *f, char version, uint32_t timecnt, uint32_t typecnt)
{
	static const char zeros[15];

	fwrite("TZif", 1, 4, f);
	fputc(version, f);
	fwrite(zeros, 1, 15, f);
	put32(f, 0);		/* isutcnt */
	put32(f, 0);		/* isstdcnt */
	put32(f, 0);		/* leapcnt */
	put32(f, timecnt);
	put32(f, typecnt);
	put32(f, 4);		/* charcnt: "ZZZ\0" */
}

static void put_block(FILE *f, const struct tzif_spec *s, int tsize)
{
	for (int i = 0; i < s->ntimes; i++) {
		if (tsize == 8)
			put32(f, (uint32_t)((uint64_t)s->times[i] >> 32));
		put32(f, (uint32_t)s->times[i]);
	}
	if (s->ntimes)
		fwrite(s->idx, 1, (size_t)s->ntimes, f);
	for (int i = 0; i < s->ntypes; i++) {
		put32(f, (uint32_t)s->utoff[i]);
		fputc(0, f);
		fputc(0, f);
	}
	fwrite("ZZZ", 1, 4, f);
}

/* Writes dir/name as a TZif file: a slim one (empty v1 block) when a footer is given. */
static void write_tzif(const char *dir, const char *name, const struct tzif_spec *s)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f != NULL);
	if (!s->footer) {
		put_header(f, 0, (uint32_t)s->ntimes, (uint32_t)s->ntypes);
		put_block(f, s, 4);
	} else {
		struct tzif_spec v1 = { 0, NULL, NULL, 1, s->utoff, NULL, 0, 0 };

		put_header(f, '2', 0, 1);
		put_block(f, &v1, 4);
		put_header(f, '2', s->bogus_timecnt ? s->bogus_timecnt : (uint32_t)s->ntimes,
			   (uint32_t)s->ntypes);
		if (!s->truncate) {
			put_block(f, s, 8);
			fprintf(f, "\n%s\n", s->footer);
		}
	}
	fclose(f);
}

struct tmpzi {
	char dir[64];
};

static void tmpzi_make(struct tmpzi *t)
{
	char sub[128];

	snprintf(t->dir, sizeof(t->dir), "/tmp/appointd-tz-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(t->dir) != NULL);
	snprintf(sub, sizeof(sub), "%s/Test", t->dir);
	CU_ASSERT_FATAL(mkdir(sub, 0755) == 0);
}

static void tmpzi_remove(struct tmpzi *t)
{
	char path[256];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s/Test", t->dir);
	if ((d = opendir(path))) {
		while ((e = readdir(d))) {
			char p[512];

			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
			if (rmdir(p) != 0)
				unlink(p);
		}
		closedir(d);
	}
	rmdir(path);
	rmdir(t->dir);
}

static struct tz_zone *footer_zone(struct tmpzi *t, const char *name, int32_t off0,
				   const char *footer)
{
	int32_t utoff[1] = { off0 };
	struct tzif_spec s = { 0, NULL, NULL, 1, utoff, footer, 0, 0 };

	write_tzif(t->dir, name, &s);
	return tz_zone_load(t->dir, name);
}

static void test_posix_footers(void)
{
	struct tmpzi t;
	struct tz_zone *z;

	tmpzi_make(&t);

	/* A slim file with no transitions: the footer alone gives DST, from 1900. */
	z = footer_zone(&t, "Test/Us", -5 * H, "EST5EDT,M3.2.0,M11.1.0");
	CU_ASSERT_FATAL(z != NULL);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2007, 3, 11, 6, 59)), -5 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2007, 3, 11, 7, 0)), -4 * H);
	L2U(z, at(2007, 11, 4, 1, 30), at(2007, 11, 4, 5, 30));
	L2U(z, at(2099, 3, 8, 2, 30), at(2099, 3, 8, 7, 30));
	tz_zone_free(z);

	/* Angle-bracket names, half-hour offsets and a southern-hemisphere rule. */
	z = footer_zone(&t, "Test/Lhi", 10 * H + 30 * M, "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
	CU_ASSERT_FATAL(z != NULL);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2023, 4, 1, 14, 59)), 11 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2023, 4, 1, 15, 0)), 10 * H + 30 * M);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2023, 9, 30, 15, 30)), 11 * H);
	tz_zone_free(z);

	z = footer_zone(&t, "Test/Fixed", -3 * H, "<-03>3");
	CU_ASSERT_FATAL(z != NULL);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2050, 7, 1, 0, 0)), -3 * H);
	tz_zone_free(z);

	/* Zero-based day 59 (Feb 29 in 2024, Mar 1 in 2023) at 00:00 std (0), and
	 * J300 (Oct 27) at 26:00 DST (+2), i.e. Oct 28 00:00Z. */
	z = footer_zone(&t, "Test/Days", 0, "XXX0YYY-2,59/0,J300/26");
	CU_ASSERT_FATAL(z != NULL);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2024, 2, 28, 23, 59)), 0);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2024, 2, 29, 0, 0)), 2 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2023, 2, 28, 23, 59)), 0);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2023, 3, 1, 0, 0)), 2 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2024, 10, 27, 23, 59)), 2 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2024, 10, 28, 0, 0)), 0);
	tz_zone_free(z);

	/* Negative rule time (Nuuk since 2023): last Sunday of March at -1:00,
	 * i.e. Saturday 23:00 (-2) = 2024-03-31T01:00Z; back on the last Sunday
	 * of October at 00:00 (-1) = 2024-10-27T01:00Z. */
	z = footer_zone(&t, "Test/Neg", -2 * H, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
	CU_ASSERT_FATAL(z != NULL);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2024, 3, 31, 0, 59)), -2 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2024, 3, 31, 1, 0)), -1 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2024, 10, 27, 0, 59)), -1 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2024, 10, 27, 1, 0)), -2 * H);
	tz_zone_free(z);

	/* 167 hours: first Sunday of March 2024 (the 3rd) + 167 h = Saturday the
	 * 9th 23:00 (-3) = 2024-03-10T02:00Z. */
	z = footer_zone(&t, "Test/Long", -3 * H, "AAA3BBB,M3.1.0/167,M11.1.0");
	CU_ASSERT_FATAL(z != NULL);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2024, 3, 10, 1, 59)), -3 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2024, 3, 10, 2, 0)), -2 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2024, 11, 3, 4, 0)), -3 * H);
	tz_zone_free(z);

	/* DST all year (RFC 8536 3.3.1): no transitions at the year boundaries. */
	z = footer_zone(&t, "Test/Perm", -4 * H, "EST5EDT,0/0,J365/25");
	CU_ASSERT_FATAL(z != NULL);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2050, 1, 15, 0, 0)), -4 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2050, 7, 15, 0, 0)), -4 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2051, 1, 1, 4, 0)), -4 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2051, 1, 1, 3, 59)), -4 * H);
	tz_zone_free(z);

	/* A footer that does not parse is ignored: the table alone stands. */
	z = footer_zone(&t, "Test/Junk", 3 * H, "<+03>-3<+04>,M3.5.0/x");
	CU_ASSERT_FATAL(z != NULL);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2050, 7, 1, 0, 0)), 3 * H);
	tz_zone_free(z);

	tmpzi_remove(&t);
}

static void test_tzif_tables(void)
{
	struct tmpzi t;
	struct tz_zone *z;
	/* Explicit transitions, then a footer taking over after the last one, which
	 * changes only the abbreviation (same offset), as slim files may do. */
	int64_t times[3] = { at(2000, 4, 2, 7, 0), at(2000, 10, 29, 6, 0), at(2001, 1, 1, 0, 0) };
	unsigned char idx[3] = { 1, 0, 2 };
	int32_t utoff[3] = { -5 * H, -4 * H, -5 * H };
	struct tzif_spec s = { 3, times, idx, 3, utoff, "EST5EDT,M3.2.0,M11.1.0", 0, 0 };
	struct tzif_spec v1 = { 3, times, idx, 3, utoff, NULL, 0, 0 };

	tmpzi_make(&t);
	write_tzif(t.dir, "Test/Table", &s);
	z = tz_zone_load(t.dir, "Test/Table");
	CU_ASSERT_FATAL(z != NULL);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(1999, 7, 1, 0, 0)), -5 * H);	/* type 0 */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2000, 7, 1, 0, 0)), -4 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2000, 12, 1, 0, 0)), -5 * H);
	/* 2001 from the footer: first Sunday of April rules do not apply any more. */
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2001, 3, 11, 7, 0)), -4 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2001, 11, 4, 6, 0)), -5 * H);
	tz_zone_free(z);

	/* Version 1 files (no footer) are read from the 32-bit block. */
	write_tzif(t.dir, "Test/Old", &v1);
	z = tz_zone_load(t.dir, "Test/Old");
	CU_ASSERT_FATAL(z != NULL);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2000, 7, 1, 0, 0)), -4 * H);
	CU_ASSERT_EQUAL(tz_offset_at(z, at(2030, 7, 1, 0, 0)), -5 * H);
	tz_zone_free(z);

	/* Absurd counts and truncated files load as nothing. */
	s.bogus_timecnt = 0xffffffffu;
	write_tzif(t.dir, "Test/Huge", &s);
	CU_ASSERT_PTR_NULL(tz_zone_load(t.dir, "Test/Huge"));
	s.bogus_timecnt = 0;
	s.truncate = 1;
	write_tzif(t.dir, "Test/Short", &s);
	CU_ASSERT_PTR_NULL(tz_zone_load(t.dir, "Test/Short"));
	tmpzi_remove(&t);
}

/* ---------------------------------------------------------------- names */

static void test_names(void)
{
	static const char *const good[] = {
		"UTC", "Europe/Berlin", "Etc/GMT+5", "Etc/GMT-14", "Etc/UTC",
		"America/Argentina/Buenos_Aires", "America/New_York", "Asia/Kathmandu",
		"America/Port-au-Prince",
	};
	static const char *const bad[] = {
		"EST", "CET", "EST5EDT", "+02:00", "", "../etc/passwd", "/etc/localtime",
		"Europe/", "Europe//Berlin", "/Europe/Berlin", "posix/Europe/Berlin",
		"right/Europe/Berlin", "Europe/Nowhere", "europe/berlin", "Europe/Berlin ",
		"Europe/../Europe/Berlin", "Europe/./Berlin", "Etc/../../../etc/passwd",
		"GMT", "Factory", "localtime", "posixrules", "Europe", "UTC/", "utc",
		"Europe/Berlin\n", "America/Argentina",
		"Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Berlin",
	};
	struct tmpzi t;
	char path[256], target[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		if (!tz_name_valid(ZONEINFO, good[i]))
			fprintf(stderr, "rejected %s\n", good[i]);
		CU_ASSERT(tz_name_valid(ZONEINFO, good[i]));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (tz_name_valid(ZONEINFO, bad[i]))
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
		CU_ASSERT(!tz_name_valid(ZONEINFO, bad[i]));
		CU_ASSERT_PTR_NULL(tz_zone_load(ZONEINFO, bad[i]));
	}
	CU_ASSERT(!tz_name_valid(ZONEINFO, NULL));
	CU_ASSERT(tz_name_valid(NULL, "Europe/Berlin"));	/* default directory */

	/* Existence is part of validity: only TZif regular files (or links to them). */
	tmpzi_make(&t);
	snprintf(path, sizeof(path), "%s/Test/Text", t.dir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("not a zone\n", f);
	fclose(f);
	CU_ASSERT(!tz_name_valid(t.dir, "Test/Text"));
	snprintf(path, sizeof(path), "%s/Test/Dir", t.dir);
	CU_ASSERT_FATAL(mkdir(path, 0755) == 0);
	CU_ASSERT(!tz_name_valid(t.dir, "Test/Dir"));
	snprintf(path, sizeof(path), "%s/Test/Link", t.dir);
	snprintf(target, sizeof(target), "%s/Europe/Berlin", ZONEINFO);
	CU_ASSERT_FATAL(symlink(target, path) == 0);
	CU_ASSERT(tz_name_valid(t.dir, "Test/Link"));
	CU_ASSERT(!tz_name_valid(t.dir, "Europe/Berlin"));
	/* "UTC" stands even where the directory has no such file. */
	CU_ASSERT(tz_name_valid(t.dir, "UTC"));
	struct tz_zone *u = tz_zone_load(t.dir, "UTC");
	CU_ASSERT_FATAL(u != NULL);
	CU_ASSERT_EQUAL(tz_offset_at(u, at(2024, 1, 1, 0, 0)), 0);
	tz_zone_free(u);
	tmpzi_remove(&t);
}

/* ---------------------------------------------------------------- cache */

static void test_cache(void)
{
	struct tz_cache *c = tz_cache_new(ZONEINFO);
	const struct tz_zone *a, *b;
	int n;

	CU_ASSERT_FATAL(c != NULL);
	a = tz_cache_get(c, "Europe/Berlin");
	b = tz_cache_get(c, "Europe/Berlin");
	CU_ASSERT_PTR_NOT_NULL(a);
	CU_ASSERT_PTR_EQUAL(a, b);
	CU_ASSERT_STRING_EQUAL(tz_zone_name(a), "Europe/Berlin");
	CU_ASSERT_PTR_NULL(tz_cache_get(c, "EST"));
	CU_ASSERT_PTR_NULL(tz_cache_get(c, "../etc/passwd"));
	CU_ASSERT_PTR_NULL(tz_cache_get(c, "Europe/Nowhere"));
	n = tz_cache_warm_all(c);
	CU_ASSERT(n > 300);
	CU_ASSERT_EQUAL(tz_cache_warm_all(c), n);	/* idempotent */
	CU_ASSERT_PTR_EQUAL(tz_cache_get(c, "Europe/Berlin"), a);
	CU_ASSERT_PTR_NOT_NULL(tz_cache_get(c, "UTC"));
	CU_ASSERT_PTR_NOT_NULL(tz_cache_get(c, "America/Argentina/Buenos_Aires"));
	tz_cache_free(c);
	tz_cache_free(NULL);
}

/* ---------------------------------------------------------------- properties */

struct names {
	char **v;
	size_t n, cap;
};

/* Collects the names the cache accepts, walking the tree the way warm_all does. */
static void collect(struct tz_cache *c, const char *rel, struct names *out)
{
	char path[512];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s%s%s", ZONEINFO, *rel ? "/" : "", rel);
	if (!(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		char name[256];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (snprintf(name, sizeof(name), "%s%s%s", rel, *rel ? "/" : "", e->d_name) >=
			    (int)sizeof(name) ||
		    snprintf(path, sizeof(path), "%s/%s", ZONEINFO, name) >= (int)sizeof(path) ||
		    lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (strcmp(name, "posix") != 0 && strcmp(name, "right") != 0)
				collect(c, name, out);
		} else if (tz_cache_get(c, name)) {
			if (out->n == out->cap) {
				out->cap = out->cap ? out->cap * 2 : 512;
				out->v = realloc(out->v, out->cap * sizeof(*out->v));
				CU_ASSERT_FATAL(out->v != NULL);
			}
			out->v[out->n++] = strdup(name);
		}
	}
	closedir(d);
}

static void names_free(struct names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
}

static int64_t rand_instant(uint64_t *st, int y0, int y1)
{
	int64_t lo = at(y0, 1, 1, 0, 0), hi = at(y1 + 1, 1, 1, 0, 0);

	return lo + (int64_t)(test_rand(st) % (uint64_t)(hi - lo));
}

/*
 * tz_offset_at against libical and glibc on random (zone, instant), 1970-2100.
 *
 * libical 3.0.16 (Debian's, reading the same /usr/share/zoneinfo through
 * icaltzutil) is a poor oracle: on about 0.3% of samples, in ~80 zones, it
 * disagrees with both this module and glibc, and every disagreement examined
 * by hand sided with the tz database:
 *  - irregular histories rebuilt into wrong RRULEs: Asia/Shanghai 1986-91,
 *    Europe/Dublin and Africa/Cairo 1970s winters on DST, Asia/Jerusalem
 *    2013-16, America/Asuncion 1976-88 and 2014, Chile (Santiago, Palmer),
 *    Tehran, Damascus, Fiji 2017, Soviet zones in the 1980s;
 *  - footers with minutes in the offset: America/St_Johns (NST3:30NDT)
 *    summers after 2037 come out at -1:30 instead of -2:30;
 *  - footer rules it mis-expands after 2037: Africa/Cairo (M10.5.4/24, DST
 *    ends a week early), Australia/Lord_Howe (first Sunday of October);
 *  - explicit transitions after 2037 it ignores: Asia/Gaza, Asia/Hebron
 *    (Ramadan suspensions through 2086).
 * So glibc's localtime_r (TZ set per zone; test-only, it is global state) is
 * the referee: tz_offset_at must equal glibc everywhere, and libical wherever
 * libical agrees with glibc; the disagreements libical has alone are counted
 * and must stay rare, so a broken comparison cannot pass silently.
 */
static void test_property_libical(void)
{
	struct tz_cache *c = tz_cache_new(ZONEINFO);
	struct names names = { 0 };
	uint64_t st = test_seed() ^ 0x7a11;
	icaltimezone *utc = icaltimezone_get_utc_timezone();
	const char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	int samples = 20000, ical_wrong = 0, glibc_wrong = 0, compared = 0, no_ical = 0;
	int warm;

	CU_ASSERT_FATAL(c != NULL);
	warm = tz_cache_warm_all(c);
	collect(c, "", &names);
	CU_ASSERT_FATAL(names.n > 300);
	/* warm_all counts "UTC" even where it is a link at the top level. */
	CU_ASSERT(names.n == (size_t)warm);
	for (int k = 0; k < samples; k++) {
		const char *name = names.v[test_rand(&st) % names.n];
		const struct tz_zone *z = tz_cache_get(c, name);
		int64_t t = rand_instant(&st, 1970, 2100);
		int32_t mine = tz_offset_at(z, t);
		icaltimezone *iz = icaltimezone_get_builtin_timezone(name);
		char env[128];
		time_t tt = (time_t)t;
		struct tm tm;
		int dst = 0;

		snprintf(env, sizeof(env), ":%s/%s", ZONEINFO, name);
		setenv("TZ", env, 1);
		tzset();
		CU_ASSERT_FATAL(localtime_r(&tt, &tm) != NULL);
		if (tm.tm_gmtoff != mine && glibc_wrong++ < 10)
			printf("\n%s t=%lld: tz %d glibc %ld (seed %llu)", name, (long long)t, mine,
			       tm.tm_gmtoff, (unsigned long long)test_seed());
		if (!iz) {
			no_ical++;
			continue;
		}
		struct icaltimetype it = icaltime_from_timet_with_zone(tt, 0, utc);
		int theirs = icaltimezone_get_utc_offset_of_utc_time(iz, &it, &dst);

		compared++;
		if (theirs != mine) {
			if (theirs == tm.tm_gmtoff)
				printf("\n%s t=%lld: tz %d libical+glibc %d (seed %llu)", name,
				       (long long)t, mine, theirs, (unsigned long long)test_seed());
			CU_ASSERT(theirs != tm.tm_gmtoff);
			ical_wrong++;
		}
	}
	CU_ASSERT_EQUAL(glibc_wrong, 0);
	CU_ASSERT(compared > samples * 9 / 10);
	CU_ASSERT(ical_wrong * 50 < compared);	/* observed ~0.3%; 2% means trouble */
	printf("\n  libical compared %d, wrong alone %d, no zone %d ", compared, ical_wrong, no_ical);
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else {
		unsetenv("TZ");
	}
	tzset();
	icaltimezone_free_builtin_timezones();
	names_free(&names);
	tz_cache_free(c);
}

/*
 * Round trips on random zones and instants: local_to_utc(utc_to_local(t)) is
 * t, or the first occurrence of the same local time (earlier, larger offset).
 * Random local times that fall in a gap must resolve with the offset in force
 * just before the transition: with g = (reading back) - local, the offset at
 * r - g is local - r.
 */
static void test_property_round_trip(void)
{
	struct tz_cache *c = tz_cache_new(ZONEINFO);
	struct names names = { 0 };
	uint64_t st = test_seed() ^ 0x5eed;
	int fails = 0, gaps = 0, overlaps = 0;

	CU_ASSERT_FATAL(c != NULL);
	collect(c, "", &names);
	CU_ASSERT_FATAL(names.n > 300);
	for (int k = 0; k < 200000 && fails < 10; k++) {
		const char *name = names.v[test_rand(&st) % names.n];
		const struct tz_zone *z = tz_cache_get(c, name);
		int64_t t = rand_instant(&st, 1900, 2100);
		int64_t local = tz_utc_to_local(z, t);
		int64_t r = tz_local_to_utc(z, local);
		int ok = r <= t && tz_utc_to_local(z, r) == local &&
			 (r == t || tz_offset_at(z, r) > tz_offset_at(z, t));

		overlaps += r != t;
		/* A local reading near t, which may be in a gap. */
		int64_t l2 = local + test_rand_range(&st, -7200, 7200);
		int64_t r2 = tz_local_to_utc(z, l2), back = tz_utc_to_local(z, r2);

		if (back != l2) {
			gaps++;
			ok = ok && back > l2 && tz_offset_at(z, r2 - (back - l2)) == l2 - r2;
		}
		if (!ok) {
			fails++;
			printf("\n%s t=%lld local=%lld r=%lld l2=%lld r2=%lld (seed %llu)", name,
			       (long long)t, (long long)local, (long long)r, (long long)l2,
			       (long long)r2, (unsigned long long)test_seed());
		}
	}
	CU_ASSERT_EQUAL(fails, 0);
	/* Sanity: random sampling met gaps (near-certain with ±2 h readings). */
	CU_ASSERT(gaps > 0);
	/*
	 * Overlapped instants are rare enough that a run may sample none
	 * (`overlaps` is then 0), so check one every run: 2007-11-04T06:30Z is
	 * the second 01:30 in New York, which reads back as the first (05:30Z).
	 */
	{
		const struct tz_zone *ny = tz_cache_get(c, "America/New_York");
		int64_t second = 1194157800;

		CU_ASSERT_EQUAL(tz_local_to_utc(ny, tz_utc_to_local(ny, second)), second - 3600);
	}
	(void)overlaps;
	names_free(&names);
	tz_cache_free(c);
}

void suite_tz(void)
{
	CU_pSuite s = test_suite("tz");

	TEST_ADD(s, test_new_york_2007);
	TEST_ADD(s, test_new_york_2099);
	TEST_ADD(s, test_berlin);
	TEST_ADD(s, test_lord_howe);
	TEST_ADD(s, test_kathmandu);
	TEST_ADD(s, test_santiago);
	TEST_ADD(s, test_sao_paulo_2018);
	TEST_ADD(s, test_apia_2011);
	TEST_ADD(s, test_extreme_offsets);
	TEST_ADD(s, test_fixed_zones);
	TEST_ADD(s, test_posix_footers);
	TEST_ADD(s, test_tzif_tables);
	TEST_ADD(s, test_names);
	TEST_ADD(s, test_cache);
	TEST_ADD(s, test_property_libical);
	TEST_ADD(s, test_property_round_trip);
}
