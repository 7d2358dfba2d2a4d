/*
 * metrics.h - the pool's request metrics, kept for the whole pool.
 *
 * The counters live in the scoreboard mapping the master makes before the
 * first fork (struct pool_shared), so they outlive every worker: a worker
 * that dies, is recycled or is replaced by a reload loses none of them.
 * Workers add with relaxed atomics and never take a lock; GET /metrics
 * renders them in Prometheus text format.
 */
#ifndef APPOINTD_METRICS_H
#define APPOINTD_METRICS_H

#include <stdint.h>
#include <stdio.h>

struct http_route;

/* Route ids: 0 = no route matched, 1.. = the application's route table (http/route.h). */
#define METRICS_ROUTES 48
/* The statuses the service answers with, plus one "other" column. */
#define METRICS_STATUSES 18
/* Request duration buckets in seconds; the last column is +Inf. */
#define METRICS_BUCKETS 14

enum metrics_booking {
	METRICS_BOOKING_CREATED,
	METRICS_BOOKING_REPLAYED,   /* an Idempotency-Key replay of a created one */
	METRICS_BOOKING_CONFLICT,   /* 409: the slot was not available */
	METRICS_BOOKING_REJECTED,   /* any other 4xx */
	METRICS_BOOKING_ERROR,      /* 5xx */
	METRICS_BOOKING_N
};

struct metrics {
	uint64_t requests[METRICS_ROUTES][METRICS_STATUSES];
	uint64_t duration[METRICS_ROUTES][METRICS_BUCKETS]; /* per bucket, not cumulative */
	uint64_t duration_us[METRICS_ROUTES];
	uint64_t bookings[METRICS_BOOKING_N];
	uint64_t db_errors;
	uint64_t db_reconnects;
};

/* One answered request: route id, HTTP status, duration. */
void metrics_request(struct metrics *m, int route, int status, int64_t duration_us);
/* The outcome of one POST /api/appointments, from its status and whether it was replayed. */
void metrics_booking(struct metrics *m, int status, int replayed);
/* Database errors and reconnects a worker saw since it last reported. */
void metrics_db(struct metrics *m, uint64_t errors, uint64_t reconnects);

/*
 * Writes the request, booking and database families in Prometheus text
 * format, route id i + 1 named by routes[i]'s pattern ("{id}" for each '*')
 * and method; ids past nroutes are left out.
 */
void metrics_render(const struct metrics *m, const struct http_route *routes, size_t nroutes,
		    FILE *out);

#endif
