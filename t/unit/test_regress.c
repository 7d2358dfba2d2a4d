/*
 * test_regress.c - the fuzz targets' functions (t/fuzz) on every seed of
 * t/fuzz/corpus/NAME and every input a fuzzer ever crashed on,
 * t/fuzz/regress/NAME, in the ordinary build: a fixed crash stays fixed
 * without clang or libFuzzer, and ./dev check --asan runs them under ASan.
 * A broken property aborts the binary, which ./dev counts as a failure.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "testmain.h"

/* Feeds each file of FUZZ_DIR/kind/name to fn; returns how many. */
static int feed(const char *kind, const char *name, void (*fn)(const uint8_t *, size_t))
{
	char dir[1024], path[2048];
	struct dirent *d;
	DIR *dh;
	int n = 0;

	snprintf(dir, sizeof dir, "%s/%s/%s", FUZZ_DIR, kind, name);
	dh = opendir(dir);
	if (!dh)
		return 0;
	while ((d = readdir(dh))) {
		FILE *f;
		uint8_t *buf;
		long len;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, d->d_name);
		f = fopen(path, "rb");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_FATAL(fseek(f, 0, SEEK_END) == 0);
		len = ftell(f);
		CU_ASSERT_FATAL(len >= 0);
		rewind(f);
		/* Exact size, so ASan sees a read past the end. */
		buf = malloc(len ? (size_t)len : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		CU_ASSERT_FATAL(fread(buf, 1, (size_t)len, f) == (size_t)len);
		fclose(f);
		fn(buf, (size_t)len);
		free(buf);
		n++;
	}
	closedir(dh);
	return n;
}

#define TARGET(name)                                                        \
	static void test_##name(void)                                       \
	{                                                                   \
		CU_ASSERT(feed("corpus", #name, fuzz_##name) > 0);          \
		feed("regress", #name, fuzz_##name);                        \
	}

TARGET(schedule)
TARGET(booking)
TARGET(service)
TARGET(reschedule)
TARGET(webhook)
TARGET(query)
TARGET(path)
TARGET(instant)

void suite_regress(void)
{
	CU_pSuite s = test_suite("regress");

	TEST_ADD(s, test_schedule);
	TEST_ADD(s, test_booking);
	TEST_ADD(s, test_service);
	TEST_ADD(s, test_reschedule);
	TEST_ADD(s, test_webhook);
	TEST_ADD(s, test_query);
	TEST_ADD(s, test_path);
	TEST_ADD(s, test_instant);
}
