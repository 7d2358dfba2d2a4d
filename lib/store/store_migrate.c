/*
 * store_migrate.c - applies db/migrations/NNNN_name.sql in order, and runs
 * the demo data's script, each on a plain session of its own (no timeouts,
 * no prepared statements: the tables they need may not exist yet).
 *
 * Each file runs in its own transaction together with its row in
 * schema_migrations, so a migration is applied entirely or not at all; an
 * advisory lock serializes concurrent migrators (several hosts starting at
 * once), and applied files are skipped, so running it again is harmless.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define MIGRATE_LOCK_KEY 7403170 /* arbitrary, fixed: "appointd migrate" */

static int is_migration(const char *name)
{
	size_t n = strlen(name);

	return n > 9 && name[0] >= '0' && name[0] <= '9' && name[1] >= '0' && name[1] <= '9' &&
	       name[2] >= '0' && name[2] <= '9' && name[3] >= '0' && name[3] <= '9' &&
	       name[4] == '_' && strcmp(name + n - 4, ".sql") == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

static int run(PGconn *c, const char *sql, struct err *e)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		err_set(e, 500, "MIGRATION_FAILED", "%s", PQerrorMessage(c));
	PQclear(r);
	return ok ? 0 : -1;
}

static int applied(PGconn *c, const char *version)
{
	const char *p[1] = { version };
	PGresult *r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL,
				   p, NULL, NULL, 0);
	int yes = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;

	PQclear(r);
	return yes;
}

static int apply_one(PGconn *c, const char *dir, const char *name, int verbose, struct err *e)
{
	char path[1024];
	char *sql;
	const char *p[1] = { name };
	PGresult *r;
	int rc;

	if (applied(c, name))
		return 0;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (!(sql = read_file(path)))
		return err_set(e, 500, "MIGRATION_FAILED", "cannot read %s", path);
	rc = run(c, "BEGIN", e);
	if (!rc && (rc = run(c, sql, e)))
		err_set(e, 500, "MIGRATION_FAILED", "%s: %s", name, PQerrorMessage(c));
	if (!rc) {
		r = PQexecParams(c, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, NULL, p,
				 NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = err_set(e, 500, "MIGRATION_FAILED", "%s", PQerrorMessage(c));
		PQclear(r);
	}
	free(sql);
	if (rc) {
		PQclear(PQexec(c, "ROLLBACK"));
		return -1;
	}
	if (run(c, "COMMIT", e))
		return -1;
	if (verbose)
		printf("applied %s\n", name);
	return 0;
}

/* Sets e to what (a prefix) and the session's last error, without its newline. */
static int pq_failed(PGconn *c, int status, const char *code, const char *what, struct err *e)
{
	size_t n;

	err_set(e, status, code, "%s: %s", what, PQerrorMessage(c));
	n = strlen(e->message);
	if (n > 0 && e->message[n - 1] == '\n')
		e->message[n - 1] = '\0';
	return -1;
}

/* A plain session; NULL with e filled in. */
static PGconn *connect_plain(const char *conninfo, struct err *e)
{
	PGconn *c = PQconnectdb(conninfo);

	if (PQstatus(c) == CONNECTION_OK)
		return c;
	pq_failed(c, 503, "SERVICE_UNAVAILABLE", "cannot connect", e);
	PQfinish(c);
	return NULL;
}

static int migrate(PGconn *c, const char *dir, int verbose, struct err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 0;
	char lock[96];

	if (!d)
		return err_set(e, 500, "MIGRATION_FAILED", "cannot open migrations directory %s", dir);
	while ((de = readdir(d))) {
		if (!is_migration(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = realloc(names, cap * sizeof *names);
			if (!names)
				abort();
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	snprintf(lock, sizeof lock, "SELECT pg_advisory_lock(%d)", MIGRATE_LOCK_KEY);
	rc = run(c, "SET client_min_messages = warning", e);
	if (!rc)
		rc = run(c, lock, e);
	if (!rc)
		rc = run(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			    " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", e);
	for (i = 0; i < n; i++) {
		if (!rc)
			rc = apply_one(c, dir, names[i], verbose, e);
		free(names[i]);
	}
	free(names);
	snprintf(lock, sizeof lock, "SELECT pg_advisory_unlock(%d)", MIGRATE_LOCK_KEY);
	PQclear(PQexec(c, lock));
	return rc;
}

int store_migrate(const char *conninfo, const char *dir, int verbose, struct err *e)
{
	PGconn *c = connect_plain(conninfo, e);
	int rc;

	if (!c)
		return -1;
	rc = migrate(c, dir, verbose, e);
	PQfinish(c);
	return rc;
}

int store_seed(const char *conninfo, const char *file, struct err *e)
{
	char *sql = read_file(file);
	PGconn *c;
	int rc;

	if (!sql)
		return err_set(e, 500, "SEED_FAILED", "cannot read %s", file);
	if (!(c = connect_plain(conninfo, e))) {
		free(sql);
		return -1;
	}
	rc = run(c, sql, e) ? pq_failed(c, 500, "SEED_FAILED", "seed failed", e) : 0;
	free(sql);
	PQfinish(c);
	return rc;
}
