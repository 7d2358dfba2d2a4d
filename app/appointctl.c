/*
 * appointctl - the admin CLI: schema migrations and demo data.
 *
 *   appointctl [-d DATABASE_URL] migrate [--dir DIR]
 *   appointctl [-d DATABASE_URL] seed [--file FILE]
 *   appointctl --version
 *
 * The database comes from -d, else APPOINTD_DATABASE_URL, else DATABASE_URL.
 */
#include "config.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/store.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: appointctl [-d DATABASE_URL] migrate [--dir DIR]\n"
		   "       appointctl [-d DATABASE_URL] seed [--file FILE]\n"
		   "       appointctl --version\n");
}

static int cmd_seed(PGconn *c, const char *file)
{
	FILE *f = fopen(file, "rb");
	char *sql;
	long n;
	PGresult *r;
	int ok;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "appointctl: cannot read %s\n", file);
		if (f)
			fclose(f);
		return 1;
	}
	sql = calloc(1, (size_t)n + 1);
	if (!sql || fread(sql, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "appointctl: cannot read %s\n", file);
		free(sql);
		fclose(f);
		return 1;
	}
	fclose(f);
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "appointctl: seed failed: %s", PQerrorMessage(c));
	else
		printf("seeded from %s\n", file);
	PQclear(r);
	free(sql);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *db = getenv("APPOINTD_DATABASE_URL");
	const char *dir = getenv("APPOINTD_MIGRATIONS_DIR");
	const char *seed = NULL, *cmd = NULL;
	PGconn *c;
	struct err e;
	int i, rc;

	if (!db || !*db)
		db = getenv("DATABASE_URL");
	if (!dir || !*dir)
		dir = APPOINTD_MIGRATIONS_DIR;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0) {
			printf("appointctl %s\n", PACKAGE_VERSION);
			return 0;
		} else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
			db = argv[++i];
		} else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc) {
			seed = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (!cmd) {
			cmd = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!cmd || (strcmp(cmd, "migrate") && strcmp(cmd, "seed"))) {
		usage(stderr);
		return 2;
	}
	if (!db || !*db) {
		fprintf(stderr, "appointctl: no database: give -d or set DATABASE_URL\n");
		return 2;
	}
	c = PQconnectdb(db);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "appointctl: cannot connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return 1;
	}
	err_init(&e);
	if (strcmp(cmd, "migrate") == 0) {
		rc = store_migrate(c, dir, 1, &e) ? 1 : 0;
		if (rc)
			fprintf(stderr, "appointctl: migrate: %s\n", e.message);
		else
			printf("migrations up to date\n");
	} else {
		char path[1024];

		if (!seed) {
			snprintf(path, sizeof path, "%s/../seed.sql", dir);
			seed = path;
		}
		rc = cmd_seed(c, seed);
	}
	err_clear(&e);
	PQfinish(c);
	return rc;
}
