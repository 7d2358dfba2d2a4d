/*
 * test_ids.c - identifiers (core/ids.h): the UUID text form is parsed
 * strictly and kept lower-case, and a made UUID is a version 4 one in that
 * form.
 */
#include <string.h>

#include "core/ids.h"
#include "testmain.h"

static void test_uuid_parse(void)
{
	char out[ID_UUID_LEN + 1];

	CU_ASSERT(id_uuid_parse("8E03978E-40D5-43E8-BC93-6894A57F9324", out));
	CU_ASSERT_STRING_EQUAL(out, "8e03978e-40d5-43e8-bc93-6894a57f9324");
	CU_ASSERT_FALSE(id_uuid_parse("8e03978e40d543e8bc936894a57f9324", NULL));
	CU_ASSERT_FALSE(id_uuid_parse("8e03978e-40d5-43e8-bc93-6894a57f932", NULL));
	CU_ASSERT_FALSE(id_uuid_parse("8e03978e-40d5-43e8-bc93-6894a57f932g", NULL));
	CU_ASSERT_FALSE(id_uuid_parse("", NULL));
	CU_ASSERT_FALSE(id_uuid_parse(NULL, NULL));
}

static void test_uuid4(void)
{
	char id[ID_UUID_LEN + 1], again[ID_UUID_LEN + 1];

	id_uuid4(id);
	CU_ASSERT(id_uuid_parse(id, again));
	CU_ASSERT_STRING_EQUAL(id, again); /* already lower-case */
	CU_ASSERT_EQUAL(id[14], '4');
	CU_ASSERT_PTR_NOT_NULL(strchr("89ab", id[19]));
}

void suite_ids(void)
{
	CU_pSuite s = test_suite("ids");

	TEST_ADD(s, test_uuid_parse);
	TEST_ADD(s, test_uuid4);
}
