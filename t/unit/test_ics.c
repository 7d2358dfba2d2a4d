/*
 * test_ics.c - the calendar feed's bytes: built by ics_feed, parsed back with
 * libical's own parser (every property of every VEVENT), and checked on the
 * wire independently of libical: CRLF everywhere, no line over 75 octets, no
 * UTF-8 sequence split by a fold, for random long patient ids too.
 */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/appt.h"
#include "engine/ics.h"
#include "testmain.h"

#define PROVIDER "8e03978e-40d5-43e8-bc93-6894a57f9324"
#define T0 1805101200000LL /* 2027-03-15T09:00:00Z */
#define MIN_MS 60000LL

/*
 * Checks the wire form: every line ends in CRLF (no bare CR or LF), no line
 * is longer than 75 octets without its CRLF, and a continuation line never
 * starts inside a UTF-8 sequence. Returns the number of folded lines.
 */
static int check_wire(const char *text)
{
	const char *line = text;
	int folds = 0;

	CU_ASSERT_FATAL(strlen(text) >= 2);
	CU_ASSERT(strcmp(text + strlen(text) - 2, "\r\n") == 0);
	while (*line) {
		const char *end = strstr(line, "\r\n");
		const char *p;

		CU_ASSERT_PTR_NOT_NULL_FATAL(end);
		for (p = line; p < end; p++)
			CU_ASSERT(*p != '\r' && *p != '\n');
		if (end - line > 75)
			fprintf(stderr, "line of %d octets: %.*s\n", (int)(end - line), (int)(end - line), line);
		CU_ASSERT(end - line <= 75);
		if (*line == ' ') {
			folds++;
			CU_ASSERT(((unsigned char)line[1] & 0xC0) != 0x80);
		}
		line = end + 2;
	}
	return folds;
}

static icalcomponent *parse(const char *text)
{
	icalcomponent *cal = icalparser_parse_string(text);

	CU_ASSERT_PTR_NOT_NULL_FATAL(cal);
	CU_ASSERT_EQUAL_FATAL(icalcomponent_isa(cal), ICAL_VCALENDAR_COMPONENT);
	return cal;
}

static icalproperty *prop(icalcomponent *c, icalproperty_kind k)
{
	icalproperty *p = icalcomponent_get_first_property(c, k);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	/* Each property once. */
	CU_ASSERT_PTR_NULL(icalcomponent_get_next_property(c, k));
	return p;
}

/* A UTC date-time property as milliseconds since the epoch. */
static int64_t utc_ms(icalcomponent *c, icalproperty_kind k)
{
	icalvalue *v = icalproperty_get_value(prop(c, k));
	struct icaltimetype t = icalvalue_get_datetime(v);

	CU_ASSERT(icaltime_is_utc(t));
	CU_ASSERT_FALSE(icaltime_is_date(t));
	return (int64_t)icaltime_as_timet_with_zone(t, icaltimezone_get_utc_timezone()) * 1000;
}

static void check_calendar_props(icalcomponent *cal)
{
	icalproperty *x;

	CU_ASSERT_STRING_EQUAL(icalproperty_get_version(prop(cal, ICAL_VERSION_PROPERTY)), "2.0");
	CU_ASSERT_STRING_EQUAL(icalproperty_get_prodid(prop(cal, ICAL_PRODID_PROPERTY)), ICS_PRODID);
	CU_ASSERT_STRING_EQUAL(icalproperty_get_calscale(prop(cal, ICAL_CALSCALE_PROPERTY)),
			       "GREGORIAN");
	CU_ASSERT_EQUAL(icalproperty_get_method(prop(cal, ICAL_METHOD_PROPERTY)), ICAL_METHOD_PUBLISH);
	x = prop(cal, ICAL_X_PROPERTY);
	CU_ASSERT_STRING_EQUAL(icalproperty_get_x_name(x), "X-WR-CALNAME");
	CU_ASSERT_PTR_NOT_NULL(strstr(icalproperty_get_x(x), PROVIDER));
}

/* Everything one VEVENT says, against the appointment it came from. */
static void check_event(icalcomponent *ev, const struct ics_appt *a)
{
	char uid[64], desc[1024];
	int cancelled = a->status == APPT_CANCELLED;

	snprintf(uid, sizeof uid, "%s@appointd", a->id);
	snprintf(desc, sizeof desc, "Patient ID: %s", a->patient_id);
	CU_ASSERT_STRING_EQUAL(icalproperty_get_uid(prop(ev, ICAL_UID_PROPERTY)), uid);
	CU_ASSERT_EQUAL(utc_ms(ev, ICAL_DTSTART_PROPERTY), a->start_ms / 1000 * 1000);
	CU_ASSERT_EQUAL(utc_ms(ev, ICAL_DTEND_PROPERTY), a->end_ms / 1000 * 1000);
	CU_ASSERT_EQUAL(utc_ms(ev, ICAL_DTSTAMP_PROPERTY), a->updated_ms / 1000 * 1000);
	CU_ASSERT_EQUAL(utc_ms(ev, ICAL_LASTMODIFIED_PROPERTY), a->updated_ms / 1000 * 1000);
	CU_ASSERT_EQUAL(utc_ms(ev, ICAL_CREATED_PROPERTY), a->created_ms / 1000 * 1000);
	CU_ASSERT_EQUAL(icalproperty_get_status(prop(ev, ICAL_STATUS_PROPERTY)),
			cancelled ? ICAL_STATUS_CANCELLED : ICAL_STATUS_CONFIRMED);
	CU_ASSERT_EQUAL(icalproperty_get_sequence(prop(ev, ICAL_SEQUENCE_PROPERTY)), a->version - 1);
	CU_ASSERT_STRING_EQUAL(icalproperty_get_summary(prop(ev, ICAL_SUMMARY_PROPERTY)), "Appointment");
	CU_ASSERT_STRING_EQUAL(icalproperty_get_description(prop(ev, ICAL_DESCRIPTION_PROPERTY)), desc);
	CU_ASSERT_EQUAL(icalproperty_get_class(prop(ev, ICAL_CLASS_PROPERTY)), ICAL_CLASS_PRIVATE);
	CU_ASSERT_EQUAL(icalproperty_get_transp(prop(ev, ICAL_TRANSP_PROPERTY)),
			cancelled ? ICAL_TRANSP_TRANSPARENT : ICAL_TRANSP_OPAQUE);
}

/* Builds, checks the wire form, parses back and checks every event in order. */
static int roundtrip(const struct ics_appt *a, int n)
{
	char *text = ics_feed(PROVIDER, a, n);
	icalcomponent *cal, *ev;
	int i = 0, folds;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	folds = check_wire(text);
	cal = parse(text);
	check_calendar_props(cal);
	for (ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); ev;
	     ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT), i++)
		if (i < n)
			check_event(ev, &a[i]);
	CU_ASSERT_EQUAL(i, n);
	CU_ASSERT_EQUAL(icalcomponent_count_components(cal, ICAL_ANY_COMPONENT), n);
	icalcomponent_free(cal);
	ics_free(text);
	return folds;
}

static void test_feed(void)
{
	/* 128 characters: 2-, 3- and 4-octet UTF-8 and the TEXT escapes , ; \ */
	static char long_patient[APPT_PATIENT_MAX * 4 + 1];
	struct ics_appt a[3] = {
		{ "11111111-1111-4111-8111-111111111111", "p-1", T0, T0 + 30 * MIN_MS,
		  T0 - 86400000, T0 - 86400000, APPT_CONFIRMED, 1 },
		{ "22222222-2222-4222-8222-222222222222", "p,2;x\\y", T0 + 60 * MIN_MS,
		  T0 + 90 * MIN_MS, T0 - 5000, T0 - 1001, APPT_CANCELLED, 3 },
		{ "33333333-3333-4333-8333-333333333333", long_patient, T0 + 120 * MIN_MS + 1234,
		  T0 + 150 * MIN_MS, T0 - 999, T0 + 999, APPT_CONFIRMED, 2 },
	};
	static const char *const pieces[] = { "é", "日", "😀", ",", ";", "\\", "a" };
	char *text;
	int i;

	for (i = 0; i < APPT_PATIENT_MAX; i++)
		strcat(long_patient, pieces[i % 7]);
	CU_ASSERT(roundtrip(a, 3) >= 3); /* the long DESCRIPTION was folded */

	/* The exact UTC forms, seconds floored, SEQUENCE = version - 1. */
	text = ics_feed(PROVIDER, a, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\r\nDTSTART:20270315T090000Z\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\r\nDTEND:20270315T093000Z\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\r\nDTSTART:20270315T110001Z\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\r\nDTSTAMP:20270315T085958Z\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\r\nSEQUENCE:2\r\nSUMMARY"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\r\nSTATUS:CANCELLED\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\r\nDESCRIPTION:Patient ID: p\\,2\\;x\\\\y\r\n"));
	CU_ASSERT(strncmp(text, "BEGIN:VCALENDAR\r\n", 17) == 0);
	CU_ASSERT(strcmp(text + strlen(text) - 15, "END:VCALENDAR\r\n") == 0);
	ics_free(text);
}

static void test_empty_feed(void)
{
	CU_ASSERT_EQUAL(roundtrip(NULL, 0), 0);
}

/*
 * libical before 4.0.3 folds a content line counting its CRLF, so a fold can
 * land inside the line ending (CR, CRLF-space, LF) or just before it: every
 * length of an ASCII patient id puts the fold on every position once.
 */
static void test_fold_never_splits_the_line_ending(void)
{
	char patient[APPT_PATIENT_MAX + 1];
	char id[ID_UUID_LEN + 1] = "55555555-5555-4555-8555-555555555555";
	struct ics_appt a = { id, patient, T0, T0 + 30 * MIN_MS, T0, T0, APPT_CONFIRMED, 1 };
	int len;

	for (len = 1; len <= APPT_PATIENT_MAX; len++) {
		memset(patient, 'a' + len % 26, (size_t)len);
		patient[len] = '\0';
		roundtrip(&a, 1);
	}
}

/* Random patient ids of every length and octet width: always folded right. */
static void test_folding_random(void)
{
	static const char *const pieces[] = { "a", "Z", " ", "é", "ß", "日", "本", "😀", "𝄞",
					      ",", ";", "\\", ":", "\"" };
	uint64_t st = test_seed();
	char patient[APPT_PATIENT_MAX * 4 + 1];
	char id[ID_UUID_LEN + 1] = "44444444-4444-4444-8444-444444444444";
	struct ics_appt a = { id, patient, T0, T0 + 30 * MIN_MS, T0, T0, APPT_CONFIRMED, 1 };
	int iter, k, len;

	for (iter = 0; iter < 300; iter++) {
		patient[0] = '\0';
		len = test_rand_range(&st, 1, APPT_PATIENT_MAX);
		for (k = 0; k < len; k++)
			strcat(patient, pieces[test_rand_range(&st, 0, 13)]);
		/* libical's parser drops white space at the ends of a value. */
		if (patient[strlen(patient) - 1] == ' ')
			patient[strlen(patient) - 1] = 'x';
		a.status = iter % 2 ? APPT_CANCELLED : APPT_CONFIRMED;
		a.version = 1 + iter % 5;
		roundtrip(&a, 1);
	}
}

void suite_ics(void)
{
	CU_pSuite s = test_suite("ics");

	TEST_ADD(s, test_feed);
	TEST_ADD(s, test_empty_feed);
	TEST_ADD(s, test_fold_never_splits_the_line_ending);
	TEST_ADD(s, test_folding_random);
}
