/*
 * pool_echo.c - a FastCGI worker for exercising the pool master by hand and
 * from t/integration/test_pool.py (built by Makefile.am, not installed, as
 * <builddir>/t/unit/pool_echo). Every request gets "hello pid N"; the
 * query string drives the master's cases: sleep=N holds the worker busy for
 * N seconds, crash=1 aborts it, status=1 returns pool_status_json().
 *
 * Its main is appointd's (app/appointd.c built with
 * -DAPPOINTD_WORKER=pool_echo_worker), so the tests run the real start-up:
 * log, pidfile check, socket, pidfile, privileges.
 *
 *   pool_echo [-c FILE] [-t] [-v]     (as appointd: defaults, FILE, env)
 */
#include <config.h>

#include "core/config.h"
#include "core/daemon.h"
#include "http/pool.h"

#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define echo_now_ms() daemon_clock_ms(CLOCK_MONOTONIC)

int pool_echo_worker(int listen_fd, struct pool_shared *shm, int slot,
		     const struct config *cfg, void *arg);

int pool_echo_worker(int listen_fd, struct pool_shared *shm, int slot,
		     const struct config *cfg, void *arg)
{
	FCGX_Request req;
	int served = 0;

	(void)arg;
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, listen_fd, 0) != 0)
		return 1;
	while (pool_worker_accept(listen_fd, &req) == 0) {
		const char *qs = FCGX_GetParam("QUERY_STRING", req.envp);
		int64_t start = echo_now_ms();
		const char *p;

		if (!qs)
			qs = "";
		pool_slot_busy(shm, slot, qs[0] ? qs : "/");
		if ((p = strstr(qs, "sleep="))) {
			/* sleep() returns early on a signal; hold for the full time */
			int64_t until = start + atoi(p + 6) * 1000LL;

			while (echo_now_ms() < until)
				usleep(10000);
		}
		if (strstr(qs, "crash=1"))
			abort();
		if (strstr(qs, "status=1")) {
			char *json = pool_status_json(shm);

			FCGX_FPrintF(req.out, "Status: 200\r\nContent-Type: application/json\r\n\r\n%s\n",
				     json ? json : "null");
			free(json);
		} else {
			FCGX_FPrintF(req.out, "Status: 200\r\nContent-Type: text/plain\r\n\r\nhello pid %d\n",
				     (int)getpid());
		}
		FCGX_Finish_r(&req);
		pool_slot_idle(shm, slot, echo_now_ms() - start, cfg->slow_request_ms);
		if (cfg->max_requests && ++served >= cfg->max_requests)
			break;
	}
	FCGX_Free(&req, 1);
	return 0;
}
