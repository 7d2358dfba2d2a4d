/*
 * test_sched.c - every rule of the schedule's field table: a case that
 * trips it (with the dotted path the 422 must name) and one just inside it.
 */
#include <stdio.h>
#include <string.h>

#include "api/codec.h"
#include "engine/tz.h"
#include "testmain.h"


#define BASE_WEEK "\"weeklySchedule\":{\"monday\":{\"start\":\"09:00\",\"end\":\"17:00\"}}"

/* Decodes text; returns 0 if valid. If path is given, the error must name it. */
static int decode(const char *text, const char *path, struct sched *out)
{
	struct arena a;
	struct err e;
	cJSON *j = cJSON_Parse(text);
	int r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	arena_init(&a, 0);
	err_init(&e);
	r = codec_sched_decode(j, test_tzc(), &a, out, &e);
	if (r == 0) {
		CU_ASSERT_FALSE(err_is_set(&e));
	} else {
		CU_ASSERT_EQUAL(e.status, 422);
		CU_ASSERT_STRING_EQUAL(e.code, "VALIDATION_ERROR");
		if (path && !cJSON_GetObjectItemCaseSensitive(e.details, path)) {
			char *d = cJSON_PrintUnformatted(e.details);

			fprintf(stderr, "\nexpected error at %s, got %s for %s\n", path, d, text);
			cJSON_free(d);
			CU_FAIL("error path not reported");
		}
	}
	if (out && r == 0 && out->noverrides) {
		/* Overrides live in the arena; copy them out of it for the caller. */
		static struct sched_override keep[SCHED_MAX_OVERRIDES];

		memcpy(keep, out->overrides, sizeof keep[0] * (size_t)out->noverrides);
		out->overrides = keep;
	}
	err_clear(&e);
	arena_destroy(&a);
	cJSON_Delete(j);
	return r;
}

static int ok(const char *fields)
{
	char buf[4096];
	struct sched s;

	snprintf(buf, sizeof buf, "{\"timezone\":\"Europe/Berlin\",\"appointmentDuration\":30,%s}", fields);
	return decode(buf, NULL, &s) == 0;
}

static int bad_at(const char *fields, const char *path)
{
	char buf[4096];
	struct sched s;

	snprintf(buf, sizeof buf, "{%s}", fields);
	return decode(buf, path, &s) != 0;
}

static void test_defaults(void)
{
	struct sched s;

	CU_ASSERT_EQUAL_FATAL(decode("{\"timezone\":\"Europe/Berlin\",\"appointmentDuration\":30," BASE_WEEK "}", NULL, &s), 0);
	CU_ASSERT_EQUAL(s.slot_interval, 30);
	CU_ASSERT_EQUAL(s.buffer_before, 0);
	CU_ASSERT_EQUAL(s.buffer_after, 0);
	CU_ASSERT_EQUAL(s.minimum_notice, 0);
	CU_ASSERT_EQUAL(s.horizon_days, SCHED_NO_HORIZON);
	CU_ASSERT_EQUAL(s.noverrides, 0);
	CU_ASSERT_EQUAL(s.week[0].n, 1);
	CU_ASSERT_EQUAL(s.week[1].n, 0);
	CU_ASSERT_PTR_NOT_NULL(s.zone);
}

static void test_timezone(void)
{
	CU_ASSERT(bad_at("\"appointmentDuration\":30," BASE_WEEK, "timezone"));
	CU_ASSERT(bad_at("\"timezone\":\"EST\",\"appointmentDuration\":30," BASE_WEEK, "timezone"));
	CU_ASSERT(bad_at("\"timezone\":\"CET\",\"appointmentDuration\":30," BASE_WEEK, "timezone"));
	CU_ASSERT(bad_at("\"timezone\":\"EST5EDT\",\"appointmentDuration\":30," BASE_WEEK, "timezone"));
	CU_ASSERT(bad_at("\"timezone\":\"+02:00\",\"appointmentDuration\":30," BASE_WEEK, "timezone"));
	CU_ASSERT(bad_at("\"timezone\":\"\",\"appointmentDuration\":30," BASE_WEEK, "timezone"));
	CU_ASSERT(bad_at("\"timezone\":\"../etc/passwd\",\"appointmentDuration\":30," BASE_WEEK, "timezone"));
	CU_ASSERT(bad_at("\"timezone\":\"Mars/Base\",\"appointmentDuration\":30," BASE_WEEK, "timezone"));
	CU_ASSERT(bad_at("\"timezone\":5,\"appointmentDuration\":30," BASE_WEEK, "timezone"));
	CU_ASSERT(bad_at("\"timezone\":null,\"appointmentDuration\":30," BASE_WEEK, "timezone"));
	CU_ASSERT(bad_at("\"timezone\":\"posix/Europe/Berlin\",\"appointmentDuration\":30," BASE_WEEK, "timezone"));
	CU_ASSERT(!bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK, NULL));
	CU_ASSERT(!bad_at("\"timezone\":\"Etc/GMT+5\",\"appointmentDuration\":30," BASE_WEEK, NULL));
	CU_ASSERT(!bad_at("\"timezone\":\"America/Argentina/Buenos_Aires\",\"appointmentDuration\":30," BASE_WEEK, NULL));
}

static void test_duration(void)
{
	CU_ASSERT(bad_at("\"timezone\":\"UTC\"," BASE_WEEK, "appointmentDuration"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":4," BASE_WEEK, "appointmentDuration"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":1441," BASE_WEEK, "appointmentDuration"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30.5," BASE_WEEK, "appointmentDuration"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":\"30\"," BASE_WEEK, "appointmentDuration"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":1e300," BASE_WEEK, "appointmentDuration"));
	CU_ASSERT(!bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":5," BASE_WEEK, NULL));
	CU_ASSERT(!bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":1440," BASE_WEEK, NULL));
}

static void test_week(void)
{
	struct sched s;

	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30", "weeklySchedule"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":{}", "weeklySchedule"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":[]", "weeklySchedule"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":{\"monday\":[]}", "weeklySchedule"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":{\"funday\":{\"start\":\"09:00\",\"end\":\"17:00\"}}", "weeklySchedule.funday"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":{\"monday\":{\"start\":\"09:00\",\"end\":\"17:00\"},\"Monday\":{\"start\":\"09:00\",\"end\":\"17:00\"}}", "weeklySchedule.Monday"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":{\"monday\":{\"start\":\"17:00\",\"end\":\"09:00\"}}", "weeklySchedule.monday.end"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":{\"monday\":{\"start\":\"09:00\",\"end\":\"09:00\"}}", "weeklySchedule.monday.end"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":{\"monday\":[{\"start\":\"09:00\",\"end\":\"24:30\"}]}", "weeklySchedule.monday.0.end"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":{\"monday\":[{\"start\":\"9:00\",\"end\":\"17:00\"}]}", "weeklySchedule.monday.0.start"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":{\"monday\":[{\"start\":\"24:00\",\"end\":\"24:00\"}]}", "weeklySchedule.monday.0.start"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":{\"monday\":[{\"end\":\"17:00\"}]}", "weeklySchedule.monday.0.start"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":{\"monday\":\"09:00-17:00\"}", "weeklySchedule.monday"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":{\"tuesday\":[{\"start\":\"08:00\",\"end\":\"12:00\"},{\"start\":\"11:00\",\"end\":\"18:00\"}]}", "weeklySchedule.tuesday.1"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":{\"tuesday\":[{\"start\":\"13:00\",\"end\":\"18:00\"},{\"start\":\"08:00\",\"end\":\"14:00\"}]}", "weeklySchedule.tuesday.1"));
	/* Just inside: touching intervals, 00:00-24:00, case-insensitive keys, given out of order. */
	CU_ASSERT_EQUAL_FATAL(decode("{\"timezone\":\"UTC\",\"appointmentDuration\":30,\"weeklySchedule\":{\"TUESDAY\":[{\"start\":\"13:00\",\"end\":\"18:00\"},{\"start\":\"08:00\",\"end\":\"13:00\"}],\"sunday\":{\"start\":\"00:00\",\"end\":\"24:00\"}}}", NULL, &s), 0);
	CU_ASSERT_EQUAL(s.week[1].n, 2);
	CU_ASSERT_EQUAL(s.week[1].iv[0].start, 8 * 60);
	CU_ASSERT_EQUAL(s.week[1].iv[1].start, 13 * 60);
	CU_ASSERT_EQUAL(s.week[6].iv[0].end, 1440);
}

static void test_optional_fields(void)
{
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK ",\"slotInterval\":4", "slotInterval"));
	CU_ASSERT(ok(BASE_WEEK ",\"slotInterval\":5"));
	CU_ASSERT(ok(BASE_WEEK ",\"slotInterval\":1440"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK ",\"slotInterval\":1441", "slotInterval"));
	CU_ASSERT(ok(BASE_WEEK ",\"bufferBefore\":0,\"bufferAfter\":1440"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK ",\"bufferBefore\":-1", "bufferBefore"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK ",\"bufferAfter\":1441", "bufferAfter"));
	CU_ASSERT(ok(BASE_WEEK ",\"minimumNotice\":0"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK ",\"minimumNotice\":-1", "minimumNotice"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK ",\"minimumNotice\":true", "minimumNotice"));
	CU_ASSERT(ok(BASE_WEEK ",\"bookingHorizonDays\":1"));
	CU_ASSERT(ok(BASE_WEEK ",\"bookingHorizonDays\":null"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK ",\"bookingHorizonDays\":0", "bookingHorizonDays"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK ",\"bookingHorizonDays\":\"60\"", "bookingHorizonDays"));
}

static void test_limits(void)
{
	const char *pre = "\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK ",";
	char buf[512];
	struct sched s;
	cJSON *j, *l;

#define LIMITS_BAD(v, path) (snprintf(buf, sizeof buf, "%s\"limits\":%s", pre, v), bad_at(buf, path))
	CU_ASSERT(ok(BASE_WEEK));
	CU_ASSERT(ok(BASE_WEEK ",\"limits\":null"));
	CU_ASSERT(ok(BASE_WEEK ",\"limits\":{}"));
	CU_ASSERT(ok(BASE_WEEK ",\"limits\":{\"perDay\":1,\"perWeek\":null}"));
	CU_ASSERT(ok(BASE_WEEK ",\"limits\":{\"perWeek\":10000}"));
	CU_ASSERT(LIMITS_BAD("[]", "limits"));
	CU_ASSERT(LIMITS_BAD("3", "limits"));
	CU_ASSERT(LIMITS_BAD("{\"perDay\":0}", "limits.perDay"));
	CU_ASSERT(LIMITS_BAD("{\"perDay\":2.5}", "limits.perDay"));
	CU_ASSERT(LIMITS_BAD("{\"perDay\":\"3\"}", "limits.perDay"));
	CU_ASSERT(LIMITS_BAD("{\"perWeek\":10001}", "limits.perWeek"));
	CU_ASSERT(LIMITS_BAD("{\"perWeek\":-1}", "limits.perWeek"));
	CU_ASSERT(LIMITS_BAD("{\"perday\":3}", "limits.perday"));
#undef LIMITS_BAD
	/* Absent is no limit; both shown, null or a number. */
	snprintf(buf, sizeof buf, "{%s\"limits\":{\"perWeek\":7}}", pre);
	CU_ASSERT_EQUAL_FATAL(decode(buf, NULL, &s), 0);
	CU_ASSERT_EQUAL(s.limit_day, 0);
	CU_ASSERT_EQUAL(s.limit_week, 7);
	j = codec_sched_encode(&s);
	l = cJSON_GetObjectItemCaseSensitive(j, "limits");
	CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(l, "perDay")));
	CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(l, "perWeek")->valuedouble, 7);
	cJSON_Delete(j);
}

static void test_overrides(void)
{
	struct sched s;
	int n;

	CU_ASSERT(ok(BASE_WEEK ",\"dateOverrides\":{\"2027-12-24\":[{\"start\":\"09:00\",\"end\":\"12:00\"}],\"2027-12-25\":[]}"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK ",\"dateOverrides\":{\"2027-02-30\":[]}", "dateOverrides.2027-02-30"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK ",\"dateOverrides\":{\"2027-12-24\":{\"start\":\"09:00\",\"end\":\"12:00\"}}", "dateOverrides.2027-12-24"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK ",\"dateOverrides\":{\"2027-12-24\":[{\"start\":\"12:00\",\"end\":\"09:00\"}]}", "dateOverrides.2027-12-24.0.end"));
	CU_ASSERT(bad_at("\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK ",\"dateOverrides\":[]", "dateOverrides"));
	CU_ASSERT_EQUAL_FATAL(decode("{\"timezone\":\"UTC\",\"appointmentDuration\":30," BASE_WEEK ",\"dateOverrides\":{\"2027-12-25\":[],\"2027-12-24\":[{\"start\":\"09:00\",\"end\":\"12:00\"}]}}", NULL, &s), 0);
	CU_ASSERT_EQUAL(s.noverrides, 2);
	CU_ASSERT(s.overrides[0].date < s.overrides[1].date);
	/* 2027-12-24 is a Friday: the override replaces the (empty) weekly day. */
	sched_intervals_for(&s, s.overrides[0].date, &n);
	CU_ASSERT_EQUAL(n, 1);
	sched_intervals_for(&s, s.overrides[1].date, &n);
	CU_ASSERT_EQUAL(n, 0);
	sched_intervals_for(&s, s.overrides[0].date + 3, &n); /* Monday 2027-12-27 */
	CU_ASSERT_EQUAL(n, 1);
}

static void test_not_an_object(void)
{
	struct sched s;

	CU_ASSERT_NOT_EQUAL(decode("[1,2]", "body", &s), 0);
	CU_ASSERT_NOT_EQUAL(decode("\"x\"", "body", &s), 0);
}

static void test_encode_roundtrip(void)
{
	const char *in = "{\"timezone\":\"America/New_York\",\"appointmentDuration\":45,"
			 "\"weeklySchedule\":{\"friday\":{\"start\":\"09:00\",\"end\":\"17:00\"},"
			 "\"MONDAY\":[{\"start\":\"13:00\",\"end\":\"18:00\"},{\"start\":\"08:00\",\"end\":\"12:00\"}]},"
			 "\"bufferAfter\":10,\"bookingHorizonDays\":60,"
			 "\"dateOverrides\":{\"2027-12-25\":[],\"2027-12-24\":[{\"start\":\"09:00\",\"end\":\"12:00\"}]}}";
	const char *want = "{\"timezone\":\"America/New_York\",\"appointmentDuration\":45,"
			   "\"weeklySchedule\":{\"monday\":[{\"start\":\"08:00\",\"end\":\"12:00\"},{\"start\":\"13:00\",\"end\":\"18:00\"}],"
			   "\"friday\":[{\"start\":\"09:00\",\"end\":\"17:00\"}]},"
			   "\"slotInterval\":45,\"bufferBefore\":0,\"bufferAfter\":10,\"minimumNotice\":0,"
			   "\"bookingHorizonDays\":60,"
			   "\"dateOverrides\":{\"2027-12-24\":[{\"start\":\"09:00\",\"end\":\"12:00\"}],\"2027-12-25\":[]},"
			   "\"limits\":{\"perDay\":null,\"perWeek\":null}}";
	struct sched s, s2;
	cJSON *j;
	char *txt, *txt2;

	CU_ASSERT_EQUAL_FATAL(decode(in, NULL, &s), 0);
	j = codec_sched_encode(&s);
	txt = cJSON_PrintUnformatted(j);
	CU_ASSERT_STRING_EQUAL(txt, want);
	/* The GET shape decodes to the same configuration. */
	CU_ASSERT_EQUAL_FATAL(decode(txt, NULL, &s2), 0);
	cJSON_Delete(j);
	j = codec_sched_encode(&s2);
	txt2 = cJSON_PrintUnformatted(j);
	CU_ASSERT_STRING_EQUAL(txt, txt2);
	cJSON_free(txt);
	cJSON_free(txt2);
	cJSON_Delete(j);
}

static void test_every_error_reported(void)
{
	struct arena a;
	struct err e;
	struct sched s;
	cJSON *j = cJSON_Parse("{\"timezone\":\"EST\",\"appointmentDuration\":3,\"weeklySchedule\":{\"x\":1},"
			       "\"slotInterval\":0,\"bufferBefore\":-2}");

	arena_init(&a, 0);
	err_init(&e);
	CU_ASSERT_EQUAL(codec_sched_decode(j, test_tzc(), &a, &s, &e), -1);
	CU_ASSERT_EQUAL(cJSON_GetArraySize(e.details), 5);
	err_clear(&e);
	arena_destroy(&a);
	cJSON_Delete(j);
}

void suite_sched(void)
{
	CU_pSuite s = test_suite("sched");

	TEST_ADD(s, test_defaults);
	TEST_ADD(s, test_timezone);
	TEST_ADD(s, test_duration);
	TEST_ADD(s, test_week);
	TEST_ADD(s, test_optional_fields);
	TEST_ADD(s, test_limits);
	TEST_ADD(s, test_overrides);
	TEST_ADD(s, test_not_an_object);
	TEST_ADD(s, test_encode_roundtrip);
	TEST_ADD(s, test_every_error_reported);
}
