/*
 * fcgi_ceiling.c - the ceiling of appointd's architecture, for ./dev bench:
 * the least a prefork libfcgi responder behind nginx can do per request.
 *
 * A master binds the FastCGI socket and forks the same number of workers as
 * the pool has; each worker opens one persistent libpq connection and
 * prepares one primary-key SELECT, then answers, one request at a time:
 *
 *   .../fixed          a fixed JSON body (nginx + FastCGI, no database)
 *   .../query?id=UUID  the body of one prepared SELECT on providers by its
 *                      primary key (nginx + FastCGI + one database round trip)
 *
 * No router, no JSON library, no arena, no authentication: whatever appointd
 * does on top of this is what its figures pay for. SIGTERM or SIGINT stops
 * the workers and removes the socket and the pidfile.
 *
 * usage: fcgi_ceiling -s SOCKET -w WORKERS -d DATABASE_URL [-b BACKLOG] [-p PIDFILE]
 */
#include <errno.h>
#include <fcgiapp.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKERS 256
#define UUID_LEN 36

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static const char QUERY_SQL[] =
	"SELECT id, config->>'timezone' FROM providers WHERE id = $1::uuid";

static void reply(FCGX_Request *r, const char *status, const char *body)
{
	char head[160];
	int n = snprintf(head, sizeof head,
			 "Status: %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			 status, strlen(body));

	/* libfcgi's own printf knows no %zu: format here, write bytes there. */
	FCGX_PutStr(head, n, r->out);
	FCGX_PutStr(body, (int)strlen(body), r->out);
}

/* The provider id of "id=UUID" anywhere in the query string, or NULL. */
static const char *query_id(const char *qs, char out[UUID_LEN + 1])
{
	const char *p;

	for (p = qs; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
		if (strncmp(p, "id=", 3) == 0 && strlen(p + 3) >= UUID_LEN) {
			memcpy(out, p + 3, UUID_LEN);
			out[UUID_LEN] = '\0';
			return out;
		}
	}
	return NULL;
}

static void serve_query(FCGX_Request *r, PGconn *db)
{
	char id[UUID_LEN + 1], body[256];
	const char *param = query_id(FCGX_GetParam("QUERY_STRING", r->envp), id);
	PGresult *res;

	if (!param) {
		reply(r, "422 Unprocessable Entity", "{\"error\":\"id=UUID expected\"}");
		return;
	}
	res = PQexecPrepared(db, "ceiling_provider", 1, &param, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		reply(r, "503 Service Unavailable", "{\"error\":\"database\"}");
	} else if (PQntuples(res) != 1) {
		reply(r, "404 Not Found", "{\"error\":\"no such provider\"}");
	} else {
		snprintf(body, sizeof body, "{\"id\":\"%s\",\"timezone\":\"%s\"}",
			 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
		reply(r, "200 OK", body);
	}
	PQclear(res);
}

static int worker(int sock, const char *dburl)
{
	FCGX_Request r;
	PGconn *db;
	PGresult *res;
	const char *uri;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	db = PQconnectdb(dburl);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "fcgi_ceiling: %s", PQerrorMessage(db));
		return 1;
	}
	res = PQprepare(db, "ceiling_provider", QUERY_SQL, 1, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "fcgi_ceiling: prepare: %s", PQerrorMessage(db));
		return 1;
	}
	PQclear(res);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, sock, 0) != 0) {
		fprintf(stderr, "fcgi_ceiling: FCGX_Init failed\n");
		return 1;
	}
	while (FCGX_Accept_r(&r) == 0) {
		uri = FCGX_GetParam("DOCUMENT_URI", r.envp);
		if (uri && strlen(uri) >= 6 && strcmp(uri + strlen(uri) - 6, "/query") == 0)
			serve_query(&r, db);
		else
			reply(&r, "200 OK", "{\"status\":\"UP\",\"ceiling\":\"fastcgi\"}");
		FCGX_Finish_r(&r);
	}
	PQfinish(db);
	return 0;
}

static pid_t spawn(int sock, const char *dburl)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(worker(sock, dburl));
	return pid;
}

static void usage(void)
{
	fprintf(stderr, "usage: fcgi_ceiling -s SOCKET -w WORKERS -d DATABASE_URL"
			" [-b BACKLOG] [-p PIDFILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *path = NULL, *dburl = NULL, *pidfile = NULL;
	int workers = 0, backlog = 1024, opt, sock, i, alive, status;
	pid_t pids[MAX_WORKERS], pid;
	struct sigaction sa;

	while ((opt = getopt(argc, argv, "s:w:d:b:p:")) != -1) {
		switch (opt) {
		case 's': path = optarg; break;
		case 'w': workers = atoi(optarg); break;
		case 'd': dburl = optarg; break;
		case 'b': backlog = atoi(optarg); break;
		case 'p': pidfile = optarg; break;
		default: usage();
		}
	}
	if (!path || !dburl || workers < 1 || workers > MAX_WORKERS || backlog < 1)
		usage();
	unlink(path);
	sock = FCGX_OpenSocket(path, backlog);
	if (sock < 0) {
		fprintf(stderr, "fcgi_ceiling: cannot listen on %s: %s\n", path, strerror(errno));
		return 1;
	}
	/* nginx's workers may run as another user, as in front of the pool. */
	chmod(path, 0666);
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
			fprintf(stderr, "fcgi_ceiling: cannot write %s\n", pidfile);
			return 1;
		}
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (i = 0; i < workers; i++)
		pids[i] = spawn(sock, dburl);
	/* A worker that dies (it should not) is replaced, after a pause. */
	while (!stop_requested) {
		pid = wait(&status);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < workers && !stop_requested; i++) {
			if (pids[i] == pid) {
				fprintf(stderr, "fcgi_ceiling: worker %ld exited (status %d)\n",
					(long)pid, status);
				sleep(1);
				pids[i] = spawn(sock, dburl);
			}
		}
	}
	for (i = 0; i < workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (alive = workers; alive > 0 && wait(&status) > 0; alive--)
		;
	unlink(path);
	if (pidfile)
		unlink(pidfile);
	return 0;
}
