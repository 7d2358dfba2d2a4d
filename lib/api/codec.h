/*
 * codec.h - the JSON codecs of the contract's request and response bodies:
 * the provider configuration (codec_sched.c), appointments, booking and
 * reschedule requests, availability, and the event envelope (codec.c).
 * Decoders validate every rule and report each broken one with its field
 * path; the engine's types they fill (struct sched, struct appt) know
 * nothing of JSON.
 */
#ifndef APPOINTD_CODEC_H
#define APPOINTD_CODEC_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/ids.h"
#include "engine/appt.h"
#include "engine/sched.h"
#include "engine/slot.h"

struct tz_cache;

/* providerIds of a team booking: 1..CODEC_TEAM_MAX distinct UUIDs. */
#define CODEC_TEAM_MAX 50

/* A decoded POST /api/appointments body. */
struct book_req {
	char patient_id[APPT_PATIENT_MAX * 4 + 1];
	char provider_id[ID_UUID_LEN + 1];       /* "" in a team booking until one is chosen */
	int nteam;                               /* providerIds given: 1..CODEC_TEAM_MAX; 0: providerId */
	char team[CODEC_TEAM_MAX][ID_UUID_LEN + 1]; /* providerIds, in the order given */
	int64_t start_ms;
	char service_id[APPT_SERVICE_MAX + 1];   /* "default" when not given */
	char hold_id[ID_UUID_LEN + 1];           /* "" when not given */
};

/* ttlSeconds of POST /api/holds: bounds and default. */
#define CODEC_HOLD_TTL_MIN 30
#define CODEC_HOLD_TTL_MAX 1800
#define CODEC_HOLD_TTL_DEFAULT 300

/*
 * Validates and decodes a provider configuration. Returns 0 with every
 * field of out filled (defaults included, overrides from the arena), or -1
 * with a 422 whose details name every offending field path (e.g.
 * "weeklySchedule.monday.0.end"). The zone comes from tzc.
 */
int codec_sched_decode(const cJSON *body, struct tz_cache *tzc, struct arena *a,
		       struct sched *out, struct err *e);
/* The GET shape (without providerId/createdAt/updatedAt). Caller owns it. */
cJSON *codec_sched_encode(const struct sched *s);
/*
 * A `limits` value at path ("limits", or a service's): absent or null is no
 * limit; otherwise an object whose keys perDay and perWeek are each absent,
 * null or an integer 1..SCHED_MAX_LIMIT (any other key is refused). Fills
 * *per_day and *per_week (0 = none) and returns 0, or adds 422 details at
 * path, path.perDay, path.perWeek or path.<key> and returns -1.
 */
/*
 * An optional integer member `key` of obj in [lo, hi]: 1 with *out set, 0
 * when absent or null, -1 with a 422 at path ("must be an integer", "must
 * be between lo and hi").
 */
int codec_int_field(const cJSON *obj, const char *key, const char *path, long lo, long hi,
		    int *out, struct err *e);
int codec_limits_decode(const cJSON *v, const char *path, int *per_day, int *per_week,
			struct err *e);
/* {"perDay": n | null, "perWeek": n | null} (0 = null). Caller owns it. */
cJSON *codec_limits_encode(int per_day, int per_week);

/*
 * A POST /api/appointments body: exactly one of providerId and providerIds
 * (both or neither: 422 at providerId); providerIds 1..CODEC_TEAM_MAX
 * distinct UUIDs (422 at providerIds otherwise), kept in the order given.
 */
int codec_book_decode(const cJSON *body, struct book_req *out, struct err *e);
/*
 * A POST /api/holds body: as a booking's (without holdId), patientId
 * optional ("" when absent or null), and ttlSeconds (*ttl_s, default
 * CODEC_HOLD_TTL_DEFAULT).
 */
int codec_hold_decode(const cJSON *body, struct book_req *out, int *ttl_s, struct err *e);
/* The optional decline body {"reason": "..."} (NULL body: none); "" when none or empty. */
int codec_decline_decode(const cJSON *body, char reason[APPT_REASON_MAX * 4 + 1], struct err *e);
/* {"attendance": "ATTENDED" | "NO_SHOW"} (422 at attendance otherwise). */
int codec_attendance_decode(const cJSON *body, int *attendance, struct err *e);
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
