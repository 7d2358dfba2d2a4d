/*
 * test_utf8.c - the strict UTF-8 checks of core/utf8.h: well-formed text of
 * one to four bytes a character passes; overlongs, surrogates, truncated
 * sequences, NULs and (for printable) control characters do not.
 */
#include "core/utf8.h"
#include "testmain.h"

static void test_printable(void)
{
	CU_ASSERT_EQUAL(utf8_printable_len("p-1"), 3);
	CU_ASSERT_EQUAL(utf8_printable_len("Zoë"), 3);
	CU_ASSERT_EQUAL(utf8_printable_len("日本"), 2);
	CU_ASSERT_EQUAL(utf8_printable_len("a\tb"), -1);
	CU_ASSERT_EQUAL(utf8_printable_len("a\x7f"), -1);
	CU_ASSERT_EQUAL(utf8_printable_len("\xc2\x85"), -1);   /* C1 control */
	CU_ASSERT_EQUAL(utf8_printable_len("\xc0\xaf"), -1);   /* overlong */
	CU_ASSERT_EQUAL(utf8_printable_len("\xed\xa0\x80"), -1); /* surrogate */
	CU_ASSERT_EQUAL(utf8_printable_len("\xff"), -1);
	CU_ASSERT_EQUAL(utf8_printable_len(""), 0);
}

static void test_valid(void)
{
	CU_ASSERT(utf8_valid("", 0));
	CU_ASSERT(utf8_valid("a\tb", 3));                     /* controls are valid UTF-8 */
	CU_ASSERT(utf8_valid("\xf0\x9f\x98\x80", 4));         /* U+1F600 */
	CU_ASSERT(utf8_valid("\xf4\x8f\xbf\xbf", 4));         /* U+10FFFF */
	CU_ASSERT_FALSE(utf8_valid("a\0b", 3));               /* NUL */
	CU_ASSERT_FALSE(utf8_valid("\xf4\x90\x80\x80", 4));   /* above U+10FFFF */
	CU_ASSERT_FALSE(utf8_valid("\xe0\x80\xaf", 3));       /* overlong */
	CU_ASSERT_FALSE(utf8_valid("\xed\xbf\xbf", 3));       /* surrogate */
	CU_ASSERT_FALSE(utf8_valid("\xe6\x97", 2));           /* cut short */
	CU_ASSERT_FALSE(utf8_valid("\xe6\x97\xa5", 2));       /* cut short by n */
	CU_ASSERT_FALSE(utf8_valid("\x80", 1));               /* stray continuation */
}

void suite_utf8(void)
{
	CU_pSuite s = test_suite("utf8");

	TEST_ADD(s, test_printable);
	TEST_ADD(s, test_valid);
}
