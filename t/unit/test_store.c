/*
 * test_store.c - the store's contract where it needs no database: a store
 * that cannot reach PostgreSQL answers 503 (safe to retry) and counts the
 * error, has no session and no socket, and a transaction that sent nothing
 * costs no round trip. The store against a real PostgreSQL is
 * t/integration/test_store.py.
 */
#include <config.h>

#include "store/store.h"
#include "testmain.h"

/* A socket directory that does not exist: the connect fails at once. */
#define NOWHERE "host=/nonexistent/appointd-test-store dbname=appointd connect_timeout=1"

static void test_store_unopened_session(void)
{
	struct store *s = store_open(NOWHERE, 1000, 1000);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(store_session(s), 0);
	CU_ASSERT_EQUAL(store_socket(s), -1);
	CU_ASSERT_EQUAL(store_notifications(s), -1);
	CU_ASSERT_EQUAL(store_errors(s), 0);
	CU_ASSERT_EQUAL(store_reconnects(s), 0);
	store_close(s);
	store_close(NULL);
}

static void test_store_unreachable_is_503(void)
{
	struct store *s = store_open(NOWHERE, 1000, 1000);
	struct err e;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	err_init(&e);
	CU_ASSERT_EQUAL(store_ready(s, &e), -1);
	CU_ASSERT_EQUAL(e.status, 503);
	CU_ASSERT_EQUAL(e.retry_after, 1);
	CU_ASSERT_EQUAL(store_errors(s), 1);
	err_clear(&e);
	CU_ASSERT_EQUAL(store_ping(s, &e), -1);
	CU_ASSERT_EQUAL(e.status, 503);
	CU_ASSERT_EQUAL(store_errors(s), 2);
	CU_ASSERT_EQUAL(store_session(s), 0);
	CU_ASSERT_EQUAL(store_socket(s), -1);
	CU_ASSERT_EQUAL(store_notifications(s), -1);
	err_clear(&e);
	store_close(s);
}

static void test_store_empty_transaction_sends_nothing(void)
{
	struct store *s = store_open(NOWHERE, 1000, 1000);
	struct err e;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	err_init(&e);
	CU_ASSERT_EQUAL(store_begin(s, &e), 0);
	CU_ASSERT_EQUAL(store_commit(s, &e), 0);
	CU_ASSERT_FALSE(err_is_set(&e));
	CU_ASSERT_EQUAL(store_errors(s), 0); /* no connect was tried */
	CU_ASSERT_EQUAL(store_begin(s, &e), 0);
	store_rollback(s);
	store_rollback(s);
	CU_ASSERT_EQUAL(store_errors(s), 0);
	store_close(s);
}

void suite_store(void)
{
	CU_pSuite s = test_suite("store");

	TEST_ADD(s, test_store_unopened_session);
	TEST_ADD(s, test_store_unreachable_is_503);
	TEST_ADD(s, test_store_empty_transaction_sends_nothing);
}
