/*
 * appointctl - the admin CLI: schema migrations and demo data.
 *
 *   appointctl [-d DATABASE_URL] migrate [--dir DIR]
 *   appointctl [-d DATABASE_URL] seed [--file FILE]
 *   appointctl [-d DATABASE_URL] key create --scope read|booking|admin [--name NAME]
 *              [--provider ID]...
 *   appointctl [-d DATABASE_URL] key list
 *   appointctl [-d DATABASE_URL] key revoke ID
 *   appointctl --version
 *
 * `key create` prints "id: <key id>" and, alone on the last line, the key:
 * it is shown this once and stored only as a hash. --provider (repeatable,
 * up to 1000 distinct) binds the key to those providers; without, it is
 * unbound. `key list` shows each key's providers, comma-separated, in its
 * last column ("-": unbound).
 *
 * `seed` runs the SQL file (providers only), then announces each provider
 * no event names yet with PROVIDER_SCHEDULE_UPDATED, written by the API's
 * own encoder (codec_event_envelope): every event's bytes have one form.
 *
 * The database comes from -d, else APPOINTD_DATABASE_URL, else DATABASE_URL.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/apikey.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/ids.h"
#include "core/daemon.h"
#include "core/utf8.h"
#include "api/api.h"
#include "api/codec.h"
#include "store/store.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: appointctl [-d DATABASE_URL] migrate [--dir DIR]\n"
		   "       appointctl [-d DATABASE_URL] seed [--file FILE]\n"
		   "       appointctl [-d DATABASE_URL] key create --scope read|booking|admin [--name NAME]\n"
		   "                  [--provider ID]...\n"
		   "       appointctl [-d DATABASE_URL] key list\n"
		   "       appointctl [-d DATABASE_URL] key revoke ID\n"
		   "       appointctl --version\n");
}

#define KEY_PROVIDERS_MAX 1000

/* The --provider values as canonical UUIDs: 0, or 2 after saying what is wrong. */
static int key_providers(char **raw, int n, char (*ids)[ID_UUID_LEN + 1], const char **idp)
{
	int i, j;

	for (i = 0; i < n; i++) {
		if (!id_uuid_parse(raw[i], ids[i])) {
			fprintf(stderr, "appointctl: --provider %s is not a UUID\n", raw[i]);
			return 2;
		}
		for (j = 0; j < i; j++)
			if (strcmp(ids[i], ids[j]) == 0) {
				fprintf(stderr, "appointctl: --provider %s is given twice\n", raw[i]);
				return 2;
			}
		idp[i] = ids[i];
	}
	return 0;
}

static int cmd_key(const char *db, const char *sub, const char *arg, const char *scope,
		   const char *name, char **provider, int nprovider)
{
	struct store *s = store_open(db, 5000, 2000);
	struct arena a;
	struct err e;
	int rc = 0, i, n;

	arena_init(&a, 4096);
	err_init(&e);
	if (!s || store_ready(s, &e) < 0) {
		rc = 1;
	} else if (strcmp(sub, "create") == 0) {
		char key[APIKEY_LEN + 1], hash[APIKEY_HASH_LEN + 1], id[37];
		char (*pids)[ID_UUID_LEN + 1] = arena_alloc(&a, sizeof *pids * KEY_PROVIDERS_MAX);
		const char **pidp = arena_alloc(&a, sizeof *pidp * KEY_PROVIDERS_MAX);

		if (!scope || apikey_scope_parse(scope) == APIKEY_NONE || arg) {
			fprintf(stderr, "appointctl: key create needs --scope read, booking or admin\n");
			rc = 2;
		} else if (name && (utf8_printable_len(name) < 0 || strlen(name) > 200)) {
			fprintf(stderr, "appointctl: --name must be at most 200 printable bytes\n");
			rc = 2;
		} else if ((rc = key_providers(provider, nprovider, pids, pidp)) != 0) {
			;
		} else if (apikey_new(key) < 0) {
			fprintf(stderr, "appointctl: no randomness for a key\n");
			rc = 1;
		} else {
			id_uuid4(id);
			apikey_hash(key, hash);
			if (store_key_insert(s, &a, id, name, scope, hash, pidp, nprovider, NULL, &e) == 0) {
				printf("id: %s\nscope: %s\n%s\n", id, scope, key);
			} else {
				rc = 1;
			}
		}
	} else if (strcmp(sub, "list") == 0 && !arg) {
		struct store_key *k;

		if (store_key_list(s, &a, &k, &n, &e) < 0) {
			rc = 1;
		} else {
			/* providers last: the columns before keep their places. */
			printf("%-36s  %-7s  %-20s  %-20s  %-20s  %s\n", "id", "scope", "created",
			       "revoked", "name", "providers");
			for (i = 0; i < n; i++)
				printf("%-36s  %-7s  %-20s  %-20s  %-20s  %s\n", k[i].id, k[i].scope,
				       k[i].created, k[i].revoked[0] ? k[i].revoked : "-", k[i].name,
				       k[i].providers ? k[i].providers : "-");
		}
	} else if (strcmp(sub, "revoke") == 0 && arg) {
		char id[ID_UUID_LEN + 1];

		if (!id_uuid_parse(arg, id)) {
			fprintf(stderr, "appointctl: %s is not a key id\n", arg);
			rc = 1;
		} else if (store_key_revoke(s, &a, id, &e) == 0) {
			printf("revoked %s\n", id);
		} else {
			rc = 1;
		}
	} else {
		usage(stderr);
		rc = 2;
	}
	if (err_is_set(&e))
		fprintf(stderr, "appointctl: key %s: %s\n", sub, e.message);
	err_clear(&e);
	arena_destroy(&a);
	store_close(s);
	return rc;
}

/* One PROVIDER_SCHEDULE_UPDATED per provider the outbox never named, in one transaction. */
static int seed_announce(const char *db, struct err *e)
{
	struct store *s = store_open(db, 5000, 2000);
	const char **ids;
	struct arena a;
	int n = 0, i, rc;

	arena_init(&a, 4096);
	rc = !s || store_ready(s, e) || store_begin(s, e) ||
	     store_outbox_unannounced(s, &a, &ids, &n, e);
	for (i = 0; !rc && i < n; i++) {
		cJSON *payload = cJSON_CreateObject();

		cJSON_AddStringToObject(payload, "providerId", ids[i]);
		rc = api_emit_at(s, &a, daemon_clock_ms(CLOCK_REALTIME), "PROVIDER_SCHEDULE_UPDATED",
				 ids[i], payload, e);
	}
	if (!rc)
		rc = store_commit(s, e);
	if (rc && !err_is_set(e))
		err_set(e, 500, "SEED_FAILED", "cannot connect to the database");
	if (!rc)
		printf("announced %d provider%s\n", n, n == 1 ? "" : "s");
	if (s)
		store_rollback(s);
	arena_destroy(&a);
	store_close(s);
	return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *db = getenv("APPOINTD_DATABASE_URL");
	const char *dir = getenv("APPOINTD_MIGRATIONS_DIR");
	const char *seed = NULL, *cmd = NULL, *sub = NULL, *arg = NULL;
	const char *scope = NULL, *name = NULL;
	char *provider[KEY_PROVIDERS_MAX];
	int nprovider = 0;
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
		} else if (strcmp(argv[i], "--scope") == 0 && i + 1 < argc) {
			scope = argv[++i];
		} else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
			name = argv[++i];
		} else if (strcmp(argv[i], "--provider") == 0 && i + 1 < argc &&
			   nprovider < KEY_PROVIDERS_MAX) {
			provider[nprovider++] = argv[++i];
		} else if (!cmd) {
			cmd = argv[i];
		} else if (strcmp(cmd, "key") == 0 && !sub) {
			sub = argv[i];
		} else if (strcmp(cmd, "key") == 0 && !arg) {
			arg = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!cmd || (strcmp(cmd, "migrate") && strcmp(cmd, "seed") && strcmp(cmd, "key")) ||
	    (strcmp(cmd, "key") == 0 && !sub)) {
		usage(stderr);
		return 2;
	}
	if (!db || !*db) {
		fprintf(stderr, "appointctl: no database: give -d or set DATABASE_URL\n");
		return 2;
	}
	if (nprovider && (strcmp(cmd, "key") || strcmp(sub, "create"))) {
		fprintf(stderr, "appointctl: --provider is for key create only\n");
		return 2;
	}
	if (strcmp(cmd, "key") == 0)
		return cmd_key(db, sub, arg, scope, name, provider, nprovider);
	err_init(&e);
	if (strcmp(cmd, "migrate") == 0) {
		rc = store_migrate(db, dir, 1, &e) ? 1 : 0;
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
		rc = store_seed(db, seed, &e) || seed_announce(db, &e) ? 1 : 0;
		if (rc)
			fprintf(stderr, "appointctl: %s\n", e.message);
		else
			printf("seeded from %s\n", seed);
	}
	err_clear(&e);
	return rc;
}
