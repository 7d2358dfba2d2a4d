/*
 * metrics.c - counting requests into the shared struct metrics, and
 * rendering it in Prometheus text format (exposition format 0.0.4).
 *
 * Buckets are counted one by one and made cumulative only when rendered, so
 * a request costs three atomic adds. Series that never saw a request are
 * left out, which keeps a scrape small.
 */
#include "http/metrics.h"

#include <inttypes.h>

#include "http/route.h"

static const int metrics_status_codes[METRICS_STATUSES - 1] = {
	200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503,
};

/* Upper bounds in microseconds; the +Inf bucket follows. */
static const int64_t metrics_bounds_us[METRICS_BUCKETS - 1] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};

static const char *const metrics_booking_names[METRICS_BOOKING_N] = {
	"created", "replayed", "conflict", "rejected", "error",
};

static void metrics_add(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static uint64_t metrics_get(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static int metrics_status_index(int status)
{
	for (int i = 0; i < METRICS_STATUSES - 1; i++)
		if (metrics_status_codes[i] == status)
			return i;
	return METRICS_STATUSES - 1;
}

void metrics_request(struct metrics *m, int route, int status, int64_t duration_us)
{
	int b = 0;

	if (!m)
		return;
	if (route < 0 || route >= METRICS_ROUTES)
		route = 0;
	while (b < METRICS_BUCKETS - 1 && duration_us > metrics_bounds_us[b])
		b++;
	metrics_add(&m->requests[route][metrics_status_index(status)], 1);
	metrics_add(&m->duration[route][b], 1);
	metrics_add(&m->duration_us[route], duration_us > 0 ? (uint64_t)duration_us : 0);
}

void metrics_booking(struct metrics *m, int status, int replayed)
{
	enum metrics_booking o;

	if (!m)
		return;
	if (status >= 200 && status < 300)
		o = replayed ? METRICS_BOOKING_REPLAYED : METRICS_BOOKING_CREATED;
	else if (status == 409)
		o = METRICS_BOOKING_CONFLICT;
	else if (status >= 500)
		o = METRICS_BOOKING_ERROR;
	else
		o = METRICS_BOOKING_REJECTED;
	metrics_add(&m->bookings[o], 1);
}

void metrics_db(struct metrics *m, uint64_t errors, uint64_t reconnects)
{
	if (!m)
		return;
	if (errors)
		metrics_add(&m->db_errors, errors);
	if (reconnects)
		metrics_add(&m->db_reconnects, reconnects);
}

/* Route id r's label and method: its row's, "unmatched" and "*" for 0; NULL past the table. */
static const char *metrics_route(const struct http_route *routes, size_t n, int r,
				 char label[HTTP_ROUTE_LABEL_MAX], const char **method)
{
	if (r == 0) {
		*method = "*";
		return "unmatched";
	}
	if (r < 0 || (size_t)r > n)
		return NULL;
	http_route_label(routes[r - 1].pattern, label);
	*method = routes[r - 1].method;
	return label;
}

static void metrics_render_requests(const struct metrics *m, const struct http_route *routes,
				    size_t nroutes, FILE *out)
{
	fputs("# HELP appointd_http_requests_total Requests answered by the pool, by route, method and status.\n"
	      "# TYPE appointd_http_requests_total counter\n", out);
	for (int r = 0; r < METRICS_ROUTES; r++) {
		char label[HTTP_ROUTE_LABEL_MAX];
		const char *method = NULL, *route = metrics_route(routes, nroutes, r, label, &method);

		if (!route)
			continue;
		for (int s = 0; s < METRICS_STATUSES; s++) {
			uint64_t n = metrics_get(&m->requests[r][s]);
			char status[8];

			if (n == 0)
				continue;
			if (s < METRICS_STATUSES - 1)
				snprintf(status, sizeof status, "%d", metrics_status_codes[s]);
			else
				snprintf(status, sizeof status, "other");
			fprintf(out, "appointd_http_requests_total{route=\"%s\",method=\"%s\",status=\"%s\"} %" PRIu64 "\n",
				route, method, status, n);
		}
	}
}

static void metrics_render_durations(const struct metrics *m, const struct http_route *routes,
				     size_t nroutes, FILE *out)
{
	fputs("# HELP appointd_http_request_duration_seconds Time from the request's arrival at a worker to its response, by route.\n"
	      "# TYPE appointd_http_request_duration_seconds histogram\n", out);
	for (int r = 0; r < METRICS_ROUTES; r++) {
		char label[HTTP_ROUTE_LABEL_MAX];
		const char *method = NULL, *route = metrics_route(routes, nroutes, r, label, &method);
		uint64_t cumulative = 0, counts[METRICS_BUCKETS];

		if (!route)
			continue;
		/* One pass of loads, so +Inf and _count agree even while workers add. */
		for (int b = 0; b < METRICS_BUCKETS; b++) {
			counts[b] = metrics_get(&m->duration[r][b]);
			cumulative += counts[b];
		}
		if (cumulative == 0)
			continue;
		cumulative = 0;
		for (int b = 0; b < METRICS_BUCKETS; b++) {
			cumulative += counts[b];
			if (b < METRICS_BUCKETS - 1)
				fprintf(out, "appointd_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"%g\"} %" PRIu64 "\n",
					route, method, (double)metrics_bounds_us[b] / 1e6, cumulative);
			else
				fprintf(out, "appointd_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
					route, method, cumulative);
		}
		fprintf(out, "appointd_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n",
			route, method, (double)metrics_get(&m->duration_us[r]) / 1e6);
		fprintf(out, "appointd_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %" PRIu64 "\n",
			route, method, cumulative);
	}
}

void metrics_render(const struct metrics *m, const struct http_route *routes, size_t nroutes,
		    FILE *out)
{
	metrics_render_requests(m, routes, nroutes, out);
	metrics_render_durations(m, routes, nroutes, out);
	fputs("# HELP appointd_bookings_total POST /api/appointments by outcome.\n"
	      "# TYPE appointd_bookings_total counter\n", out);
	for (int o = 0; o < METRICS_BOOKING_N; o++)
		fprintf(out, "appointd_bookings_total{outcome=\"%s\"} %" PRIu64 "\n",
			metrics_booking_names[o], metrics_get(&m->bookings[o]));
	fprintf(out, "# HELP appointd_db_errors_total Failed database calls (connects and statements) in the workers.\n"
		"# TYPE appointd_db_errors_total counter\n"
		"appointd_db_errors_total %" PRIu64 "\n"
		"# HELP appointd_db_reconnects_total Database sessions the workers replaced after losing one.\n"
		"# TYPE appointd_db_reconnects_total counter\n"
		"appointd_db_reconnects_total %" PRIu64 "\n",
		metrics_get(&m->db_errors), metrics_get(&m->db_reconnects));
}
