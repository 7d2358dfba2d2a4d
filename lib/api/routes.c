/*
 * routes.c - the route table: the one place to find any URL's code, the
 * scope its key needs, whether it takes a JSON body, and whether it honours
 * Idempotency-Key or ?token=. doc/openapi.json describes exactly these rows
 * (t/integration/test_openapi.py reads this table and holds them equal).
 */
#include "api/routes.h"

#include "core/apikey.h"
#include "http/metrics.h"

#define OPEN APIKEY_NONE
#define READ APIKEY_READ
#define BOOKING APIKEY_BOOKING
#define ADMIN APIKEY_ADMIN

#define IDEMPOTENT API_ROUTE_IDEMPOTENT
#define QUERY_TOKEN API_ROUTE_QUERY_TOKEN
#define BOOKS API_ROUTE_BOOKS
#define UNBOUND API_ROUTE_UNBOUND

/*
 * One row: method, pattern ('*' is one path segment), handler, takes JSON
 * (0 no, 1 required, 2 optional: checked when a body was sent), scope, flags.
 * A row under /api/providers/{id} is provider-scoped by its path (dispatch.c);
 * a row that is not about providers at all and must stay out of a bound
 * key's reach says UNBOUND.
 */
#define ROUTE(method, pattern, fn, takes_json, scope, flags) \
	{ method, pattern, &(const struct api_route){ fn, takes_json, scope, flags } }

const struct http_route api_routes[] = {
	ROUTE("GET", "/health", api_health, 0, OPEN, 0),
	ROUTE("GET", "/status", api_status, 0, OPEN, 0), /* nginx: loopback only */
	ROUTE("GET", "/metrics", api_metrics, 0, OPEN, 0), /* nginx: loopback only */
	ROUTE("POST", "/api/providers/*/schedule", api_provider_schedule, 1, ADMIN, 0),
	ROUTE("GET", "/api/providers/*", api_provider_get, 0, READ, 0),
	ROUTE("GET", "/api/providers/*/availability", api_availability, 0, READ, 0),
	ROUTE("GET", "/api/availability", api_team_availability, 0, READ, 0),
	ROUTE("GET", "/api/providers/*/calendar.ics", api_provider_calendar, 0, READ, QUERY_TOKEN),
	ROUTE("GET", "/api/providers/*/services", api_service_list, 0, READ, 0),
	ROUTE("PUT", "/api/providers/*/services/*", api_service_put, 1, ADMIN, 0),
	ROUTE("GET", "/api/providers/*/services/*", api_service_get, 0, READ, 0),
	ROUTE("DELETE", "/api/providers/*/services/*", api_service_retire, 0, ADMIN, 0),
	ROUTE("POST", "/api/holds", api_hold_create, 1, BOOKING, IDEMPOTENT),
	ROUTE("GET", "/api/holds/*", api_hold_get, 0, READ, 0),
	ROUTE("DELETE", "/api/holds/*", api_hold_release, 0, BOOKING, IDEMPOTENT),
	ROUTE("POST", "/api/appointments", api_appt_create, 1, BOOKING, IDEMPOTENT | BOOKS),
	ROUTE("GET", "/api/appointments", api_appt_list, 0, READ, 0),
	ROUTE("GET", "/api/appointments/*", api_appt_get, 0, READ, 0),
	ROUTE("PUT", "/api/appointments/*", api_appt_reschedule, 1, BOOKING, IDEMPOTENT),
	ROUTE("DELETE", "/api/appointments/*", api_appt_cancel, 0, BOOKING, IDEMPOTENT),
	ROUTE("POST", "/api/appointments/*/confirm", api_appt_confirm, 0, BOOKING, IDEMPOTENT),
	ROUTE("POST", "/api/appointments/*/decline", api_appt_decline, 2, BOOKING, IDEMPOTENT),
	ROUTE("POST", "/api/appointments/*/attendance", api_appt_attendance, 1, BOOKING, IDEMPOTENT),
	ROUTE("GET", "/api/events", api_events, 0, ADMIN, UNBOUND),
	ROUTE("POST", "/api/keys", api_key_create, 1, ADMIN, UNBOUND),
	ROUTE("GET", "/api/keys", api_key_list, 0, ADMIN, UNBOUND),
	ROUTE("DELETE", "/api/keys/*", api_key_revoke, 0, ADMIN, UNBOUND),
	ROUTE("POST", "/api/webhooks", api_webhook_create, 1, ADMIN, UNBOUND),
	ROUTE("GET", "/api/webhooks", api_webhook_list, 0, ADMIN, UNBOUND),
	ROUTE("GET", "/api/webhooks/*", api_webhook_get, 0, ADMIN, UNBOUND),
	ROUTE("DELETE", "/api/webhooks/*", api_webhook_delete, 0, ADMIN, UNBOUND),
	ROUTE("GET", "/api/webhooks/*/deliveries", api_webhook_deliveries, 0, ADMIN, UNBOUND),
	ROUTE("POST", "/api/webhooks/*/deliveries/*/retry", api_webhook_retry, 0, ADMIN, UNBOUND),
};

const size_t api_nroutes = sizeof api_routes / sizeof api_routes[0];

_Static_assert(sizeof api_routes / sizeof api_routes[0] < METRICS_ROUTES,
	       "every route needs a row in struct metrics");
