/*
 * test_codec.c - request decoders (every rule, both sides of each bound) and
 * the exact response shapes of the contract.
 */
#include <stdio.h>
#include <string.h>

#include "api/codec.h"
#include "testmain.h"

static int book(const char *json, struct book_req *out, const char *bad_path)
{
	struct err e;
	cJSON *j = cJSON_Parse(json);
	int r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	err_init(&e);
	r = codec_book_decode(j, out, &e);
	if (bad_path) {
		CU_ASSERT_EQUAL(r, -1);
		CU_ASSERT_EQUAL(e.status, 422);
		CU_ASSERT_PTR_NOT_NULL(cJSON_GetObjectItemCaseSensitive(e.details, bad_path));
	}
	err_clear(&e);
	cJSON_Delete(j);
	return r;
}

/* codec_hold_decode on text; as book() above. */
static int hold_req(const char *text, struct book_req *out, int *ttl, const char *bad_path)
{
	cJSON *j = cJSON_Parse(text);
	struct err e;
	int r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	err_init(&e);
	r = codec_hold_decode(j, out, ttl, &e);
	if (bad_path) {
		CU_ASSERT_EQUAL(r, -1);
		CU_ASSERT_EQUAL(e.status, 422);
		CU_ASSERT_PTR_NOT_NULL(cJSON_GetObjectItemCaseSensitive(e.details, bad_path));
	}
	err_clear(&e);
	cJSON_Delete(j);
	return r;
}

#define HOLD_BASE "\"providerId\":\"8e03978e-40d5-43e8-bc93-6894a57f9324\",\"startTime\":\"2027-03-15T09:00:00Z\""

static void test_hold_decode(void)
{
	struct book_req b;
	int ttl;

	CU_ASSERT_EQUAL(hold_req("{" HOLD_BASE "}", &b, &ttl, NULL), 0);
	CU_ASSERT_STRING_EQUAL(b.patient_id, "");
	CU_ASSERT_STRING_EQUAL(b.service_id, "default");
	CU_ASSERT_EQUAL(ttl, CODEC_HOLD_TTL_DEFAULT);
	CU_ASSERT_EQUAL(hold_req("{" HOLD_BASE ",\"patientId\":null,\"ttlSeconds\":null}", &b, &ttl, NULL), 0);
	CU_ASSERT_EQUAL(ttl, 300);
	CU_ASSERT_EQUAL(hold_req("{" HOLD_BASE ",\"patientId\":\"p\",\"ttlSeconds\":30,\"serviceId\":\"x\"}", &b, &ttl, NULL), 0);
	CU_ASSERT_STRING_EQUAL(b.patient_id, "p");
	CU_ASSERT_STRING_EQUAL(b.service_id, "x");
	CU_ASSERT_EQUAL(ttl, 30);
	CU_ASSERT_EQUAL(hold_req("{" HOLD_BASE ",\"ttlSeconds\":1800}", &b, &ttl, NULL), 0);
	CU_ASSERT_EQUAL(ttl, 1800);
	hold_req("{" HOLD_BASE ",\"ttlSeconds\":29}", &b, &ttl, "ttlSeconds");
	hold_req("{" HOLD_BASE ",\"ttlSeconds\":1801}", &b, &ttl, "ttlSeconds");
	hold_req("{" HOLD_BASE ",\"ttlSeconds\":60.5}", &b, &ttl, "ttlSeconds");
	hold_req("{" HOLD_BASE ",\"ttlSeconds\":\"60\"}", &b, &ttl, "ttlSeconds");
	hold_req("{" HOLD_BASE ",\"patientId\":\"\"}", &b, &ttl, "patientId");
	hold_req("{\"startTime\":\"2027-03-15T09:00:00Z\",\"ttlSeconds\":0}", &b, &ttl, "providerId");
	hold_req("[1]", &b, &ttl, "body");
	/* a booking's holdId: a UUID (any case), null or absent */
	CU_ASSERT_EQUAL(book("{\"patientId\":\"p\"," HOLD_BASE ",\"holdId\":\"0A000000-0000-4000-8000-000000000000\"}", &b, NULL), 0);
	CU_ASSERT_STRING_EQUAL(b.hold_id, "0a000000-0000-4000-8000-000000000000");
	CU_ASSERT_EQUAL(book("{\"patientId\":\"p\"," HOLD_BASE ",\"holdId\":null}", &b, NULL), 0);
	CU_ASSERT_STRING_EQUAL(b.hold_id, "");
	book("{\"patientId\":\"p\"," HOLD_BASE ",\"holdId\":\"nope\"}", &b, "holdId");
	book("{\"patientId\":\"p\"," HOLD_BASE ",\"holdId\":7}", &b, "holdId");
}

static void test_book_decode(void)
{
	struct book_req b;
	char json[1024], pat[200];

	CU_ASSERT_EQUAL(book("{\"patientId\":\"p-1\",\"providerId\":\"8E03978E-40D5-43E8-BC93-6894A57F9324\",\"startTime\":\"2027-03-15T09:00:00+01:00\"}", &b, NULL), 0);
	CU_ASSERT_STRING_EQUAL(b.provider_id, "8e03978e-40d5-43e8-bc93-6894a57f9324");
	CU_ASSERT_EQUAL(b.start_ms, 1805097600000LL);
	book("{\"providerId\":\"8e03978e-40d5-43e8-bc93-6894a57f9324\",\"startTime\":\"2027-03-15T09:00:00Z\"}", &b, "patientId");
	book("{\"patientId\":\"\",\"providerId\":\"8e03978e-40d5-43e8-bc93-6894a57f9324\",\"startTime\":\"2027-03-15T09:00:00Z\"}", &b, "patientId");
	book("{\"patientId\":7,\"providerId\":\"8e03978e-40d5-43e8-bc93-6894a57f9324\",\"startTime\":\"2027-03-15T09:00:00Z\"}", &b, "patientId");
	book("{\"patientId\":\"a\\u0001\",\"providerId\":\"8e03978e-40d5-43e8-bc93-6894a57f9324\",\"startTime\":\"2027-03-15T09:00:00Z\"}", &b, "patientId");
	memset(pat, 'x', 128);
	pat[128] = '\0';
	snprintf(json, sizeof json, "{\"patientId\":\"%s\",\"providerId\":\"8e03978e-40d5-43e8-bc93-6894a57f9324\",\"startTime\":\"2027-03-15T09:00:00Z\"}", pat);
	CU_ASSERT_EQUAL(book(json, &b, NULL), 0);
	pat[128] = 'x';
	pat[129] = '\0';
	snprintf(json, sizeof json, "{\"patientId\":\"%s\",\"providerId\":\"8e03978e-40d5-43e8-bc93-6894a57f9324\",\"startTime\":\"2027-03-15T09:00:00Z\"}", pat);
	book(json, &b, "patientId");
	book("{\"patientId\":\"p\",\"providerId\":\"nope\",\"startTime\":\"2027-03-15T09:00:00Z\"}", &b, "providerId");
	book("{\"patientId\":\"p\",\"providerId\":\"8e03978e-40d5-43e8-bc93-6894a57f9324\",\"startTime\":\"2027-03-15T09:00:00\"}", &b, "startTime");
	book("{\"patientId\":\"p\",\"providerId\":\"8e03978e-40d5-43e8-bc93-6894a57f9324\"}", &b, "startTime");
	book("[]", &b, "body");
}

/* providerIds: exactly one of it and providerId; 1..50 distinct UUIDs, in the order given. */
static void test_book_team_decode(void)
{
	const char *p1 = "8e03978e-40d5-43e8-bc93-6894a57f9324", *p2 = "2c6f1a9e-7d3b-4c55-9a0e-1f2b3c4d5e6f";
	struct book_req b;
	char json[4096];
	int i, n;

	snprintf(json, sizeof json, "{\"patientId\":\"p\",\"providerIds\":[\"%s\",\"%s\"],"
		 "\"startTime\":\"2027-03-15T09:00:00Z\"}", p2, "8E03978E-40D5-43E8-BC93-6894A57F9324");
	CU_ASSERT_EQUAL(book(json, &b, NULL), 0);
	CU_ASSERT_EQUAL(b.nteam, 2);
	CU_ASSERT_STRING_EQUAL(b.team[0], p2);
	CU_ASSERT_STRING_EQUAL(b.team[1], p1);
	CU_ASSERT_STRING_EQUAL(b.provider_id, "");
	snprintf(json, sizeof json, "{\"patientId\":\"p\",\"providerId\":\"%s\",\"providerIds\":[\"%s\"],"
		 "\"startTime\":\"2027-03-15T09:00:00Z\"}", p1, p2);
	book(json, &b, "providerId");
	book("{\"patientId\":\"p\",\"providerIds\":null,\"startTime\":\"2027-03-15T09:00:00Z\"}", &b,
	     "providerId");
	book("{\"patientId\":\"p\",\"providerIds\":[],\"startTime\":\"2027-03-15T09:00:00Z\"}", &b,
	     "providerIds");
	book("{\"patientId\":\"p\",\"providerIds\":[\"x\"],\"startTime\":\"2027-03-15T09:00:00Z\"}", &b,
	     "providerIds");
	book("{\"patientId\":\"p\",\"providerIds\":\"x\",\"startTime\":\"2027-03-15T09:00:00Z\"}", &b,
	     "providerIds");
	snprintf(json, sizeof json, "{\"patientId\":\"p\",\"providerIds\":[\"%s\",\"%s\"],"
		 "\"startTime\":\"2027-03-15T09:00:00Z\"}", p1, "8E03978E-40D5-43E8-BC93-6894A57F9324");
	book(json, &b, "providerIds");
	for (n = 50; n <= 51; n++) {
		char *o = json + sprintf(json, "{\"patientId\":\"p\",\"startTime\":\"2027-03-15T09:00:00Z\","
					 "\"providerIds\":[");

		for (i = 0; i < n; i++)
			o += sprintf(o, "%s\"8e03978e-40d5-43e8-bc93-%012d\"", i ? "," : "", i);
		strcpy(o, "]}");
		if (n == 50) {
			CU_ASSERT_EQUAL(book(json, &b, NULL), 0);
			CU_ASSERT_EQUAL(b.nteam, 50);
		} else {
			book(json, &b, "providerIds");
		}
	}
}

static void test_appt_encode(void)
{
	struct appt a;
	cJSON *j;
	char *s;

	memset(&a, 0, sizeof a);
	strcpy(a.id, "11111111-2222-3333-4444-555555555555");
	strcpy(a.provider_id, "8e03978e-40d5-43e8-bc93-6894a57f9324");
	strcpy(a.patient_id, "p-1");
	strcpy(a.service_id, "default");
	a.start_ms = 1805097600000LL;
	a.end_ms = a.start_ms + 1800000;
	a.version = 1;
	j = codec_appt_encode(&a, 0);
	s = cJSON_PrintUnformatted(j);
	CU_ASSERT_STRING_EQUAL(s, "{\"appointmentId\":\"11111111-2222-3333-4444-555555555555\",\"status\":\"CONFIRMED\","
				  "\"patientId\":\"p-1\",\"providerId\":\"8e03978e-40d5-43e8-bc93-6894a57f9324\","
				  "\"startTime\":\"2027-03-15T08:00:00.000Z\",\"endTime\":\"2027-03-15T08:30:00.000Z\","
				  "\"cancellationReason\":null,\"version\":1,\"serviceId\":\"default\","
				  "\"attendance\":null,\"declineReason\":null}");
	cJSON_free(s);
	cJSON_Delete(j);
}

static void test_envelope(void)
{
	cJSON *p = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(p, "providerId", "x");
	s = codec_event_envelope("evt_1", "PROVIDER_SCHEDULE_UPDATED", 0, p);
	CU_ASSERT_STRING_EQUAL(s, "{\"eventId\":\"evt_1\",\"eventType\":\"PROVIDER_SCHEDULE_UPDATED\","
				  "\"timestamp\":\"1970-01-01T00:00:00.000Z\",\"payload\":{\"providerId\":\"x\"}}");
	cJSON_free(s);
}

void suite_codec(void)
{
	CU_pSuite s = test_suite("codec");

	TEST_ADD(s, test_book_decode);
	TEST_ADD(s, test_hold_decode);
	TEST_ADD(s, test_book_team_decode);
	TEST_ADD(s, test_appt_encode);
	TEST_ADD(s, test_envelope);
}
