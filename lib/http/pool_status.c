/*
 * pool_status.c - the pool's state as the /status JSON body (php-fpm's
 * fpm_status.c) and as Prometheus gauges and counters for /metrics, read
 * from the scoreboard by whichever worker serves it.
 *
 * Invariant: it only reads the shared mapping, never writes it, and copes
 * with slots changing under it (a route is copied and terminated before use).
 */
#include <config.h>

#include "http/pool_int.h"

#include "core/daemon.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <string.h>

static const char *pool_state_name(int state)
{
	switch (state) {
	case POOL_SLOT_IDLE: return "idle";
	case POOL_SLOT_BUSY: return "busy";
	case POOL_SLOT_STARTING: return "starting";
	default: return "empty";
	}
}

char *pool_status_json(const struct pool_shared *shm)
{
	char ts[40];
	int n = pool_scoreboard_bound(shm);
	struct pool_counts k = pool_count_workers(shm);
	int64_t now = pool_real_ms();
	cJSON *o = cJSON_CreateObject(), *workers, *procs;
	char *out;

	if (!o)
		return NULL;
	daemon_iso8601(ts, sizeof ts, shm->start_time * 1000, 1);
	cJSON_AddStringToObject(o, "startTime", ts);
	cJSON_AddNumberToObject(o, "uptimeSeconds", (double)(now / 1000 - shm->start_time));
	workers = cJSON_AddObjectToObject(o, "workers");
	cJSON_AddNumberToObject(o, "acceptedRequests", (double)shm->accepted);
	cJSON_AddNumberToObject(o, "respawns", (double)shm->respawns);
	cJSON_AddNumberToObject(o, "recycled", (double)shm->recycled);
	cJSON_AddNumberToObject(o, "killedSlow", (double)shm->killed_slow);
	cJSON_AddNumberToObject(o, "slowRequests", (double)shm->slow_requests);
	procs = cJSON_AddArrayToObject(o, "processes");
	for (int i = 0; i < n; i++) {
		const struct pool_slot *s = &shm->slots[i];
		int state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		pid_t pid = s->pid;
		char route[sizeof s->route];
		cJSON *p;

		if (state == POOL_SLOT_EMPTY || pid == 0)
			continue;
		p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "pid", pid);
		cJSON_AddNumberToObject(p, "slot", i);
		cJSON_AddStringToObject(p, "state", pool_state_name(state));
		cJSON_AddNumberToObject(p, "requests", (double)s->requests);
		if (state == POOL_SLOT_BUSY) {
			int64_t start = __atomic_load_n(&s->request_start_ms, __ATOMIC_RELAXED);

			cJSON_AddNumberToObject(p, "requestDurationMs",
						(double)(start ? now - start : 0));
		}
		memcpy(route, s->route, sizeof route);
		route[sizeof route - 1] = '\0';
		if (route[0])
			cJSON_AddStringToObject(p, "route", route);
		cJSON_AddItemToArray(procs, p);
	}
	cJSON_AddNumberToObject(workers, "total", k.total);
	cJSON_AddNumberToObject(workers, "busy", k.busy);
	cJSON_AddNumberToObject(workers, "idle", k.idle);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

void pool_status_metrics(const struct pool_shared *shm, FILE *out)
{
	struct pool_counts k = pool_count_workers(shm);

	fprintf(out, "# HELP appointd_workers Live pool workers by state.\n"
		"# TYPE appointd_workers gauge\n"
		"appointd_workers{state=\"busy\"} %d\n"
		"appointd_workers{state=\"idle\"} %d\n"
		"appointd_workers{state=\"starting\"} %d\n",
		k.busy, k.idle, k.total - k.busy - k.idle);
	fprintf(out, "# HELP appointd_pool_start_time_seconds When the master started (unix time).\n"
		"# TYPE appointd_pool_start_time_seconds gauge\n"
		"appointd_pool_start_time_seconds %" PRId64 "\n", shm->start_time);
	fprintf(out, "# HELP appointd_pool_accepted_total Connections the workers accepted.\n"
		"# TYPE appointd_pool_accepted_total counter\n"
		"appointd_pool_accepted_total %" PRIu64 "\n"
		"# HELP appointd_pool_respawns_total Workers replaced after dying abnormally.\n"
		"# TYPE appointd_pool_respawns_total counter\n"
		"appointd_pool_respawns_total %" PRIu64 "\n"
		"# HELP appointd_pool_recycled_total Workers replaced after max_requests.\n"
		"# TYPE appointd_pool_recycled_total counter\n"
		"appointd_pool_recycled_total %" PRIu64 "\n"
		"# HELP appointd_pool_killed_slow_total Workers killed past request_timeout.\n"
		"# TYPE appointd_pool_killed_slow_total counter\n"
		"appointd_pool_killed_slow_total %" PRIu64 "\n"
		"# HELP appointd_pool_slow_requests_total Requests slower than slow_request_ms.\n"
		"# TYPE appointd_pool_slow_requests_total counter\n"
		"appointd_pool_slow_requests_total %" PRIu64 "\n",
		(uint64_t)shm->accepted, (uint64_t)shm->respawns, (uint64_t)shm->recycled,
		(uint64_t)shm->killed_slow, (uint64_t)shm->slow_requests);
}
