/*
 * err.h - the one error value every layer returns.
 *
 * A failing function returns -1 (or NULL) and fills a struct err: the HTTP
 * status, the contract's error code, a human message and, for validation
 * errors, per-field details (dotted path -> list of messages). Only the HTTP
 * layer turns an err into a response; nothing below it prints or exits.
 */
#ifndef APPOINTD_ERR_H
#define APPOINTD_ERR_H

#include <cjson/cJSON.h>

struct err {
	int status;         /* HTTP status, 0 while no error is set */
	const char *code;   /* contract code: "VALIDATION_ERROR", ... */
	char message[256];
	cJSON *details;     /* object path -> [messages], or NULL */
	const char *allow;  /* Allow header for 405, static string */
	int retry_after;    /* seconds, for 429/503; 0 = none */
};

void err_init(struct err *e);
void err_clear(struct err *e);
/* Sets status, code and a printf-style message; keeps details gathered so far. */
int err_set(struct err *e, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Adds one message for a field path and makes e a 422 VALIDATION_ERROR. */
void err_field(struct err *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int err_is_set(const struct err *e);
/* The contract's body: {"error":{"message","code","details"?}}. Caller frees. */
char *err_to_json(const struct err *e);

/* Shorthands for the contract's statuses. */
#define ERR_BAD_REQUEST(e, ...)   err_set((e), 400, "BAD_REQUEST", __VA_ARGS__)
#define ERR_NOT_FOUND(e, ...)     err_set((e), 404, "NOT_FOUND", __VA_ARGS__)
#define ERR_CONFLICT(e, ...)      err_set((e), 409, "CONFLICT", __VA_ARGS__)
#define ERR_INTERNAL(e, ...)      err_set((e), 500, "INTERNAL_SERVER_ERROR", __VA_ARGS__)
#define ERR_UNAVAILABLE(e, ...)   err_set((e), 503, "SERVICE_UNAVAILABLE", __VA_ARGS__)
/* The booking conflict, whether the engine or the database's constraint found it. */
#define ERR_SLOT_TAKEN(e)         ERR_CONFLICT((e), "The requested slot is not available.")

#endif
