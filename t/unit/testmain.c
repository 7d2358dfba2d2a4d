/*
 * testmain.c - one CUnit runner for every unit-test binary (see testmain.h).
 */
#include "testmain.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "engine/tz.h"

static struct tz_cache *shared_tzc;

struct tz_cache *test_tzc(void)
{
	if (!shared_tzc)
		shared_tzc = tz_cache_new("/usr/share/zoneinfo");
	if (!shared_tzc) {
		fprintf(stderr, "cannot create the tz cache\n");
		exit(2);
	}
	return shared_tzc;
}

#define SUITE(name) void suite_##name(void);
TESTMAIN_SUITES
#undef SUITE

CU_pSuite test_suite(const char *name)
{
	CU_pSuite s = CU_add_suite(name, NULL, NULL);

	if (!s) {
		fprintf(stderr, "CUnit: cannot add suite %s\n", name);
		exit(2);
	}
	return s;
}

void test_add(CU_pSuite s, const char *name, CU_TestFunc fn)
{
	if (!CU_add_test(s, name, fn)) {
		fprintf(stderr, "CUnit: cannot add test %s\n", name);
		exit(2);
	}
}

uint64_t test_seed(void)
{
	static uint64_t seed;
	const char *env;

	if (seed)
		return seed;
	env = getenv("APPOINTD_TEST_SEED");
	seed = env && *env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) * 2654435761u;
	if (!seed)
		seed = 1;
	printf("property-test seed: %llu (set APPOINTD_TEST_SEED to replay)\n",
	       (unsigned long long)seed);
	return seed;
}

uint64_t test_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

int test_rand_range(uint64_t *s, int lo, int hi)
{
	return lo + (int)(test_rand(s) % (uint64_t)(hi - lo + 1));
}

int main(void)
{
	unsigned passed, failed, run;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
#define SUITE(name) suite_##name();
	TESTMAIN_SUITES
#undef SUITE
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	run = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	passed = run - failed;
	CU_cleanup_registry();
	if (shared_tzc)
		tz_cache_free(shared_tzc);
	printf("\nRESULT %u %u\n", passed, failed);
	return failed || run == 0 ? 1 : 0;
}
