/*
 * config.c - reads the one configuration file and the environment.
 *
 * Every key is described once in the table below (type, bounds, variable),
 * and file and environment values go through the same setter, so a value is
 * validated identically wherever it comes from. Invariant: config_load either
 * returns 0 with every field within its documented bounds, or -1 with a
 * message naming the place (PATH:LINE or the variable) and the key.
 */
/* Angle brackets: "config.h" would find this directory's core/config.h first. */
#include <config.h>

#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Workers are bounded by the scoreboard's size (POOL_MAX_WORKERS in pool.h). */
#define CONFIG_MAX_WORKERS 256
#define CONFIG_MAX_LINE 4096
#define CONFIG_DAY_MS 86400000
#define CONFIG_WEEK_S 604800

enum config_type { CONFIG_INT, CONFIG_STR, CONFIG_LISTEN, CONFIG_RETRY };

struct config_key {
	const char *name;
	const char *env;
	enum config_type type;
	size_t offset;
	size_t size; /* strings: buffer size */
	long min, max;
};

#define INT_KEY(n, lo, hi) \
	{ #n, "APPOINTD_" #n, CONFIG_INT, offsetof(struct config, n), 0, lo, hi }
#define STR_KEY(n) \
	{ #n, "APPOINTD_" #n, CONFIG_STR, offsetof(struct config, n), \
	  sizeof(((struct config *)0)->n), 0, 0 }

/* Environment names are upper-cased from "APPOINTD_" #n at lookup. */
static const struct config_key config_keys[] = {
	{ "listen", "APPOINTD_listen", CONFIG_LISTEN, offsetof(struct config, listen),
	  sizeof(((struct config *)0)->listen), 0, 0 },
	INT_KEY(listen_backlog, 1, 65535),
	INT_KEY(workers, 1, CONFIG_MAX_WORKERS),
	INT_KEY(max_requests, 0, INT_MAX),
	INT_KEY(request_timeout, 1, 86400),
	INT_KEY(slow_request_ms, 0, CONFIG_DAY_MS),
	STR_KEY(database_url),
	INT_KEY(db_statement_timeout_ms, 0, CONFIG_DAY_MS),
	INT_KEY(db_lock_timeout_ms, 0, CONFIG_DAY_MS),
	STR_KEY(log_path),
	STR_KEY(pidfile),
	STR_KEY(user),
	STR_KEY(zoneinfo_dir),
	INT_KEY(webhook_allow_private, 0, 1),
	{ "relay_retry", "APPOINTD_relay_retry", CONFIG_RETRY, offsetof(struct config, relay_retry),
	  0, 1, CONFIG_WEEK_S },
	INT_KEY(relay_timeout_ms, 100, 600000),
	INT_KEY(relay_connect_timeout_ms, 100, 600000),
	INT_KEY(relay_concurrency, 1, 1024),
	INT_KEY(relay_per_webhook, 1, 1024),
	INT_KEY(relay_batch, 1, 10000),
	INT_KEY(relay_poll_ms, 10, 3600000),
	INT_KEY(relay_retention_hours, 0, 87600),
	STR_KEY(relay_log_path),
	STR_KEY(relay_pidfile),
};

#define NKEYS (sizeof config_keys / sizeof config_keys[0])

/* "5,300,1800": 1..CONFIG_MAX_RETRIES delays of 1..CONFIG_WEEK_S seconds. */
static const char *config_parse_retry(struct config *c, const char *v)
{
	int n = 0;

	for (;;) {
		char *end;
		long d;

		while (*v == ' ')
			v++;
		if (n == CONFIG_MAX_RETRIES)
			return "at most 20 delays";
		errno = 0;
		d = strtol(v, &end, 10);
		if (end == v || errno || d < 1 || d > CONFIG_WEEK_S)
			return "expected comma-separated seconds, each 1..604800";
		c->relay_retry[n++] = (int)d;
		v = end;
		while (*v == ' ')
			v++;
		if (*v == '\0')
			break;
		if (*v++ != ',')
			return "expected comma-separated seconds, each 1..604800";
	}
	c->relay_retries = n;
	return NULL;
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->listen, sizeof c->listen, "/run/appointd/appointd.sock");
	c->listen_backlog = 1024;
	c->workers = 4;
	c->max_requests = 10000;
	c->request_timeout = 30;
	c->slow_request_ms = 1000;
	snprintf(c->database_url, sizeof c->database_url, "postgresql:///appointd");
	c->db_statement_timeout_ms = 5000;
	c->db_lock_timeout_ms = 2000;
	snprintf(c->zoneinfo_dir, sizeof c->zoneinfo_dir, "%s", APPOINTD_ZONEINFO_DIR);
	c->webhook_allow_private = 1;
	config_parse_retry(c, CONFIG_DEFAULT_RETRY);
	c->relay_timeout_ms = 15000;
	c->relay_connect_timeout_ms = 5000;
	c->relay_concurrency = 32;
	c->relay_per_webhook = 8;
	c->relay_batch = 200;
	c->relay_poll_ms = 1000;
	c->relay_retention_hours = 168;
}

static const struct config_key *config_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* "unix:/path", "/path" or "host:port" ("[v6]:port", "*:port"). */
static const char *config_check_listen(const char *v)
{
	const char *colon;
	char *end;
	long port;

	if (strncmp(v, "unix:", 5) == 0)
		v += 5;
	if (*v == '/')
		/* sun_path is 108 bytes on Linux, including the terminator. */
		return strlen(v) > 107 ? "unix socket path longer than 107 bytes" : NULL;
	if (!*v)
		return "must not be empty";
	colon = strrchr(v, ':');
	if (!colon || colon == v)
		return "expected a unix socket path or host:port";
	if (*v == '[' && colon[-1] != ']')
		return "expected [IPv6]:port";
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port < 1 || port > 65535)
		return "port must be 1..65535";
	return NULL;
}

/* where: "PATH:LINE" or NULL for the environment (then the variable is named). */
static int config_set(struct config *c, const struct config_key *k, const char *value,
		      const char *where, const char *var, struct err *e)
{
	char *field = (char *)c + k->offset;
	const char *why;
	char *end;
	long n;

#define FAIL(...) do { \
		char why_[200]; \
		snprintf(why_, sizeof why_, __VA_ARGS__); \
		if (where) \
			return err_set(e, 500, "CONFIG", "%s: %s: %s", where, k->name, why_); \
		return err_set(e, 500, "CONFIG", "%s: %s", var, why_); \
	} while (0)

	switch (k->type) {
	case CONFIG_INT:
		errno = 0;
		n = strtol(value, &end, 10);
		if (!*value || *end || errno == ERANGE)
			FAIL("not a number: \"%.40s\"", value);
		if (n < k->min || n > k->max)
			FAIL("must be %ld..%ld", k->min, k->max);
		*(int *)field = (int)n;
		return 0;
	case CONFIG_RETRY:
		why = config_parse_retry(c, value);
		if (why)
			FAIL("%s", why);
		return 0;
	case CONFIG_LISTEN:
		why = config_check_listen(value);
		if (why)
			FAIL("%s", why);
		/* fall through */
	case CONFIG_STR:
		if (strlen(value) >= k->size)
			FAIL("longer than %zu bytes", k->size - 1);
		memcpy(field, value, strlen(value) + 1);
		return 0;
	}
#undef FAIL
	return 0;
}

static char *config_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/*
 * A value is either "quoted" (with \" and \\ escapes, so it may hold '#'
 * and edge spaces — a conninfo password, say) or bare, where '#' after
 * white space starts a comment. Returns NULL on a malformed quote.
 */
static const char *config_value(char *v)
{
	char *r, *w;

	if (*v != '"') {
		for (r = v; *r; r++)
			if (*r == '#' && r > v && isspace((unsigned char)r[-1])) {
				*r = '\0';
				break;
			}
		return config_trim(v);
	}
	for (r = v + 1, w = v; *r && *r != '"'; r++) {
		if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
			r++;
		*w++ = *r;
	}
	if (*r != '"')
		return NULL;
	*w = '\0';
	r = config_trim(r + 1);
	if (*r && *r != '#')
		return NULL;
	return v;
}

static int config_read_file(struct config *c, const char *path, struct err *e)
{
	int seen_line[NKEYS] = { 0 };
	char where[600];
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return err_set(e, 500, "CONFIG", "%s: %s", path, strerror(errno));
	while ((len = getline(&line, &cap, f)) >= 0) {
		const struct config_key *k;
		const char *value;
		char *key, *eq;

		lineno++;
		snprintf(where, sizeof where, "%s:%d", path, lineno);
		if (len > CONFIG_MAX_LINE) {
			rc = err_set(e, 500, "CONFIG", "%s: line longer than %d bytes", where,
				     CONFIG_MAX_LINE);
			break;
		}
		if (memchr(line, '\0', (size_t)len)) {
			rc = err_set(e, 500, "CONFIG", "%s: NUL byte in line", where);
			break;
		}
		key = config_trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			rc = err_set(e, 500, "CONFIG", "%s: expected \"key = value\"", where);
			break;
		}
		*eq = '\0';
		key = config_trim(key);
		k = config_find(key);
		if (!k) {
			rc = err_set(e, 500, "CONFIG", "%s: %.60s: unknown key", where, key);
			break;
		}
		if (seen_line[k - config_keys]) {
			rc = err_set(e, 500, "CONFIG", "%s: %s: set twice (first on line %d)",
				     where, k->name, seen_line[k - config_keys]);
			break;
		}
		seen_line[k - config_keys] = lineno;
		value = config_value(config_trim(eq + 1));
		if (!value) {
			rc = err_set(e, 500, "CONFIG", "%s: %s: unterminated quote or text after it",
				     where, k->name);
			break;
		}
		if (config_set(c, k, value, where, NULL, e) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f))
		rc = err_set(e, 500, "CONFIG", "%s: read error", path);
	free(line);
	fclose(f);
	return rc;
}

/* A set variable overrides the file even when empty ("" = no pidfile, ...). */
static int config_read_env(struct config *c, struct err *e)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		char var[64];
		const char *v;
		size_t j;

		for (j = 0; k->env[j] && j < sizeof var - 1; j++)
			var[j] = (char)toupper((unsigned char)k->env[j]);
		var[j] = '\0';
		v = getenv(var);
		if (!v && strcmp(k->name, "database_url") == 0) {
			v = getenv("DATABASE_URL");
			if (v)
				snprintf(var, sizeof var, "DATABASE_URL");
		}
		if (v && config_set(c, k, v, NULL, var, e) < 0)
			return -1;
	}
	return 0;
}

int config_load(struct config *c, const char *path, struct err *e)
{
	config_defaults(c);
	if (path && config_read_file(c, path, e) < 0)
		return -1;
	return config_read_env(c, e);
}
