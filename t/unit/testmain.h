/*
 * testmain.h - the shared CUnit runner. Each test file defines
 * `void suite_NAME(void)` that adds its suite and tests; the Makefile lists
 * the suites of a binary in TESTMAIN_SUITES. The runner prints CUnit's own
 * summary and a last line "RESULT <passed> <failed>" that ./dev sums.
 */
#ifndef APPOINTD_TESTMAIN_H
#define APPOINTD_TESTMAIN_H

#include <CUnit/CUnit.h>
#include <stdint.h>

/* Adds a suite; aborts the run if CUnit cannot. */
CU_pSuite test_suite(const char *name);
void test_add(CU_pSuite s, const char *name, CU_TestFunc fn);
#define TEST_ADD(s, fn) test_add((s), #fn, fn)

struct tz_cache;
/* One tz cache of the system database for every suite of a binary (freed at exit). */
struct tz_cache *test_tzc(void);

/* Seed for property tests: $APPOINTD_TEST_SEED or time-based; printed once. */
uint64_t test_seed(void);
/* xorshift64* on a caller-owned state. */
uint64_t test_rand(uint64_t *state);
int test_rand_range(uint64_t *state, int lo, int hi); /* inclusive */

#endif
