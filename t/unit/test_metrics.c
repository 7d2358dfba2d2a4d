/*
 * test_metrics.c - the pool's shared request metrics: bucket edges, status
 * columns, booking outcomes, and the rendered text (cumulative buckets,
 * +Inf equal to _count, only series that saw a request).
 */
#include <config.h>

#include "http/metrics.h"
#include "http/route.h"
#include "testmain.h"

#include <stdlib.h>
#include <string.h>

static struct metrics *fresh(void)
{
	static struct metrics m;

	memset(&m, 0, sizeof m);
	return &m;
}

/* A route table of the shape an application hands the worker. */
static const struct http_route routes[] = {
	{ "GET", "/health", NULL },
	{ "POST", "/api/things/*/parts/*", NULL },
};

/* The rendered text (malloc'd). */
static char *render(const struct metrics *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CU_ASSERT_FATAL(f != NULL);
	metrics_render(m, routes, sizeof routes / sizeof routes[0], f);
	CU_ASSERT_FATAL(fclose(f) == 0);
	return text;
}

static void test_bucket_edges(void)
{
	struct metrics *m = fresh();

	metrics_request(m, 1, 200, 0);        /* le 0.001 */
	metrics_request(m, 1, 200, 1000);     /* exactly 1 ms: still le 0.001 */
	metrics_request(m, 1, 200, 1001);     /* le 0.0025 */
	metrics_request(m, 1, 200, 10000000); /* exactly 10 s: le 10 */
	metrics_request(m, 1, 200, 10000001); /* +Inf only */
	CU_ASSERT_EQUAL(m->duration[1][0], 2);
	CU_ASSERT_EQUAL(m->duration[1][1], 1);
	CU_ASSERT_EQUAL(m->duration[1][METRICS_BUCKETS - 2], 1);
	CU_ASSERT_EQUAL(m->duration[1][METRICS_BUCKETS - 1], 1);
	CU_ASSERT_EQUAL(m->duration_us[1], 0 + 1000 + 1001 + 10000000 + 10000001);
}

static void test_status_columns_and_bad_routes(void)
{
	struct metrics *m = fresh();
	char *text;

	metrics_request(m, 1, 200, 5);
	metrics_request(m, 1, 503, 5);
	metrics_request(m, 1, 418, 5);        /* not one of ours: "other" */
	metrics_request(m, -3, 404, 5);       /* out of range: counted as unmatched */
	metrics_request(m, METRICS_ROUTES, 404, 5);
	metrics_request(NULL, 1, 200, 5);     /* no shared mapping: ignored */
	CU_ASSERT_EQUAL(m->requests[0][8], 2); /* 404 is the 9th code */
	text = render(m);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_http_requests_total{route=\"/health\",method=\"GET\",status=\"503\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_http_requests_total{route=\"/health\",method=\"GET\",status=\"other\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_http_requests_total{route=\"unmatched\",method=\"*\",status=\"404\"} 2\n"));
	CU_ASSERT_PTR_NULL(strstr(text, "status=\"201\""));  /* unseen series are left out */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_http_request_duration_seconds_bucket{route=\"/health\",method=\"GET\",le=\"+Inf\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_http_request_duration_seconds_count{route=\"/health\",method=\"GET\"} 3\n"));
	free(text);
}

static void test_routes_are_labelled_by_pattern(void)
{
	struct metrics *m = fresh();
	char *text;

	metrics_request(m, 2, 201, 5);
	metrics_request(m, 3, 200, 5);        /* past the table: left out */
	text = render(m);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_http_requests_total{route=\"/api/things/{id}/parts/{id}\",method=\"POST\",status=\"201\"} 1\n"));
	CU_ASSERT_EQUAL(strstr(text, "status=\"200\""), NULL);
	free(text);
}

static void test_cumulative_buckets(void)
{
	struct metrics *m = fresh();
	char *text;

	metrics_request(m, 1, 200, 500);     /* le 0.001 */
	metrics_request(m, 1, 200, 30000);   /* le 0.05 */
	metrics_request(m, 1, 200, 30000);
	text = render(m);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "le=\"0.001\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "le=\"0.025\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "le=\"0.05\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "le=\"10\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_http_request_duration_seconds_sum{route=\"/health\",method=\"GET\"} 0.060500\n"));
	free(text);
}

static void test_booking_outcomes(void)
{
	struct metrics *m = fresh();
	char *text;

	metrics_booking(m, 201, 0);
	metrics_booking(m, 201, 1);
	metrics_booking(m, 409, 0);
	metrics_booking(m, 422, 0);
	metrics_booking(m, 400, 0);
	metrics_booking(m, 503, 0);
	metrics_db(m, 2, 1);
	metrics_db(m, 0, 0);
	text = render(m);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_bookings_total{outcome=\"created\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_bookings_total{outcome=\"replayed\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_bookings_total{outcome=\"conflict\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_bookings_total{outcome=\"rejected\"} 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_bookings_total{outcome=\"error\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_db_errors_total 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "appointd_db_reconnects_total 1\n"));
	free(text);
}

void suite_metrics(void)
{
	CU_pSuite s = test_suite("metrics");

	TEST_ADD(s, test_bucket_edges);
	TEST_ADD(s, test_status_columns_and_bad_routes);
	TEST_ADD(s, test_routes_are_labelled_by_pattern);
	TEST_ADD(s, test_cumulative_buckets);
	TEST_ADD(s, test_booking_outcomes);
}
