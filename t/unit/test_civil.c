/*
 * test_civil.c - calendar arithmetic and the strict text forms.
 */
#include <string.h>

#include "engine/civil.h"
#include "testmain.h"

static void test_days_roundtrip(void)
{
	int32_t d;

	CU_ASSERT_EQUAL(civil_days_from_ymd(1970, 1, 1), 0);
	CU_ASSERT_EQUAL(civil_days_from_ymd(2000, 3, 1), 11017);
	CU_ASSERT_EQUAL(civil_days_from_ymd(1969, 12, 31), -1);
	for (d = civil_days_from_ymd(1900, 1, 1); d < civil_days_from_ymd(2200, 1, 1); d += 7) {
		int y, m, dd;

		civil_ymd_from_days(d, &y, &m, &dd);
		CU_ASSERT_EQUAL_FATAL(civil_days_from_ymd(y, m, dd), d);
	}
}

static void test_weekday(void)
{
	CU_ASSERT_EQUAL(civil_weekday(0), 3); /* 1970-01-01 Thursday */
	CU_ASSERT_EQUAL(civil_weekday(civil_days_from_ymd(2027, 3, 15)), 0); /* Monday */
	CU_ASSERT_EQUAL(civil_weekday(civil_days_from_ymd(1969, 12, 28)), 6); /* Sunday */
	CU_ASSERT_STRING_EQUAL(civil_weekday_name(0), "monday");
	CU_ASSERT_EQUAL(civil_weekday_from_name("SUNDAY"), 6);
	CU_ASSERT_EQUAL(civil_weekday_from_name("Tuesday"), 1);
	CU_ASSERT_EQUAL(civil_weekday_from_name("mon"), -1);
}

static void test_parse_date(void)
{
	int32_t d;
	char buf[11];

	CU_ASSERT_EQUAL(civil_parse_date("2027-03-14", &d), 0);
	civil_format_date(d, buf);
	CU_ASSERT_STRING_EQUAL(buf, "2027-03-14");
	CU_ASSERT_EQUAL(civil_parse_date("2028-02-29", &d), 0);
	CU_ASSERT_EQUAL(civil_parse_date("2027-02-29", &d), -1);
	CU_ASSERT_EQUAL(civil_parse_date("2027-02-30", &d), -1);
	CU_ASSERT_EQUAL(civil_parse_date("2100-02-29", &d), -1);
	CU_ASSERT_EQUAL(civil_parse_date("2000-02-29", &d), 0);
	CU_ASSERT_EQUAL(civil_parse_date("2027-13-01", &d), -1);
	CU_ASSERT_EQUAL(civil_parse_date("2027-00-01", &d), -1);
	CU_ASSERT_EQUAL(civil_parse_date("2027-1-01", &d), -1);
	CU_ASSERT_EQUAL(civil_parse_date("2027-01-01 ", &d), -1);
	CU_ASSERT_EQUAL(civil_parse_date("20270101", &d), -1);
	CU_ASSERT_EQUAL(civil_parse_date("", &d), -1);
	CU_ASSERT_EQUAL(civil_parse_date(NULL, &d), -1);
	CU_ASSERT_EQUAL(civil_parse_date("+027-01-01", &d), -1);
	CU_ASSERT_EQUAL(civil_parse_date("1899-12-31", &d), -1);
	CU_ASSERT_EQUAL(civil_parse_date("1900-01-01", &d), 0);
	CU_ASSERT_EQUAL(civil_parse_date("2199-12-31", &d), 0);
	CU_ASSERT_EQUAL(civil_parse_date("2200-01-01", &d), -1);
}

static void test_parse_hhmm(void)
{
	int m;
	char buf[6];

	CU_ASSERT_EQUAL(civil_parse_hhmm("00:00", 0, &m), 0);
	CU_ASSERT_EQUAL(m, 0);
	CU_ASSERT_EQUAL(civil_parse_hhmm("23:59", 0, &m), 0);
	CU_ASSERT_EQUAL(m, 1439);
	CU_ASSERT_EQUAL(civil_parse_hhmm("24:00", 1, &m), 0);
	CU_ASSERT_EQUAL(m, 1440);
	CU_ASSERT_EQUAL(civil_parse_hhmm("24:00", 0, &m), -1);
	CU_ASSERT_EQUAL(civil_parse_hhmm("24:30", 1, &m), -1);
	CU_ASSERT_EQUAL(civil_parse_hhmm("25:00", 1, &m), -1);
	CU_ASSERT_EQUAL(civil_parse_hhmm("12:60", 1, &m), -1);
	CU_ASSERT_EQUAL(civil_parse_hhmm("9:00", 1, &m), -1);
	CU_ASSERT_EQUAL(civil_parse_hhmm("09:00:00", 1, &m), -1);
	CU_ASSERT_EQUAL(civil_parse_hhmm("09-00", 1, &m), -1);
	civil_format_hhmm(545, buf);
	CU_ASSERT_STRING_EQUAL(buf, "09:05");
}

static void test_parse_instant(void)
{
	int64_t ms;
	char buf[32];

	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-14T07:00:00.000Z", &ms), 0);
	civil_format_instant(ms, buf);
	CU_ASSERT_STRING_EQUAL(buf, "2027-03-14T07:00:00.000Z");
	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-15T09:00:00+01:00", &ms), 0);
	civil_format_instant(ms, buf);
	CU_ASSERT_STRING_EQUAL(buf, "2027-03-15T08:00:00.000Z");
	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-15T09:00+05:45", &ms), 0);
	civil_format_instant(ms, buf);
	CU_ASSERT_STRING_EQUAL(buf, "2027-03-15T03:15:00.000Z");
	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-15T09:00:00-0300", &ms), 0);
	civil_format_instant(ms, buf);
	CU_ASSERT_STRING_EQUAL(buf, "2027-03-15T12:00:00.000Z");
	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-15T09:00:00.123456Z", &ms), 0);
	civil_format_instant(ms, buf);
	CU_ASSERT_STRING_EQUAL(buf, "2027-03-15T09:00:00.124Z");
	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-15T09:00:00.000000001Z", &ms), 0);
	civil_format_instant(ms, buf);
	CU_ASSERT_STRING_EQUAL(buf, "2027-03-15T09:00:00.001Z");
	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-15T09:00:00.120000Z", &ms), 0);
	civil_format_instant(ms, buf);
	CU_ASSERT_STRING_EQUAL(buf, "2027-03-15T09:00:00.120Z");
	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-15T09:00:00", &ms), -2);
	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-15T09:00", &ms), -2);
	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-15 09:00:00Z", &ms), -1);
	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-15T24:00:00Z", &ms), -1);
	CU_ASSERT_EQUAL(civil_parse_instant("2027-02-30T09:00:00Z", &ms), -1);
	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-15T09:00:00+24:00", &ms), -1);
	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-15T09:00:00Zjunk", &ms), -1);
	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-15T09:00:00.Z", &ms), -1);
	CU_ASSERT_EQUAL(civil_parse_instant("2027-03-15T09:00:00+1", &ms), -1);
	CU_ASSERT_EQUAL(civil_parse_instant("tomorrow", &ms), -1);
	CU_ASSERT_EQUAL(civil_parse_instant("", &ms), -1);
	civil_format_instant(-1, buf);
	CU_ASSERT_STRING_EQUAL(buf, "1969-12-31T23:59:59.999Z");
}

void suite_civil(void)
{
	CU_pSuite s = test_suite("civil");

	TEST_ADD(s, test_days_roundtrip);
	TEST_ADD(s, test_weekday);
	TEST_ADD(s, test_parse_date);
	TEST_ADD(s, test_parse_hhmm);
	TEST_ADD(s, test_parse_instant);
}
