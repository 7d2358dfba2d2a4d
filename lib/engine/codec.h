/*
 * codec.h - JSON codecs for the contract's request and response bodies that
 * are not the schedule (see sched.h): appointments, booking and reschedule
 * requests, availability, and the event envelope. Decoders validate every
 * rule and report each broken one with its field path.
 */
#ifndef APPOINTD_CODEC_H
#define APPOINTD_CODEC_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "engine/slot.h"

#define CODEC_UUID_LEN 36
#define CODEC_PATIENT_MAX 128     /* characters */
#define CODEC_REASON_MAX 500      /* characters */

enum appt_status { APPT_CONFIRMED = 0, APPT_CANCELLED = 1 };

struct appt {
	char id[CODEC_UUID_LEN + 1];
	char provider_id[CODEC_UUID_LEN + 1];
	char patient_id[CODEC_PATIENT_MAX * 4 + 1]; /* UTF-8 */
	int64_t start_ms, end_ms;
	int status;                 /* enum appt_status */
	char reason[CODEC_REASON_MAX * 4 + 1];      /* "" when none */
	int version;
	int64_t created_ms, updated_ms;
};

struct book_req {
	char patient_id[CODEC_PATIENT_MAX * 4 + 1];
	char provider_id[CODEC_UUID_LEN + 1];
	int64_t start_ms;
};

/* 1 if s is a UUID (8-4-4-4-12 hex, any case); writes the lower-case form if out. */
int codec_uuid_parse(const char *s, char out[CODEC_UUID_LEN + 1]);
/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, surrogates or NULs). */
int codec_utf8_valid(const char *s, size_t n);
/* Counts UTF-8 characters; -1 if invalid UTF-8 or it holds a control character. */
int codec_printable_len(const char *s);

int codec_book_decode(const cJSON *body, struct book_req *out, struct err *e);
/* {"startTime": "..."} */
int codec_reschedule_decode(const cJSON *body, int64_t *start_ms, struct err *e);
/* A startTime-like field: the message names the rule broken. */
int codec_instant_field(const cJSON *v, const char *path, int64_t *ms, struct err *e);

/* The contract's appointment shape; timestamps (createdAt/updatedAt) when asked. */
cJSON *codec_appt_encode(const struct appt *a, int with_timestamps);

/* Single-date availability: providerId, date, availableSlots, timezone, slots. */
cJSON *codec_availability_encode(const char *provider_id, int32_t date, const char *tz,
				 int duration_min, const struct slot *slots, int n);
/* One date's "HH:mm" list, for the range shape. */
cJSON *codec_hhmm_list(const struct slot *slots, int n);

/* The event envelope; payload is consumed. Returns the exact bytes (malloc'd). */
char *codec_event_envelope(const char *event_id, const char *type, int64_t ts_ms,
			   cJSON *payload);

#endif
