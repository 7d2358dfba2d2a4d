/*
 * store.h - PostgreSQL through libpq: one persistent connection per worker,
 * prepared statements, transactions, and the queries of each table in the
 * module that owns it (store_provider.c, store_appt.c, store_outbox.c).
 *
 * Every call returns 0 or -1 with a struct err: a lost connection, a lock or
 * statement timeout become 503 SERVICE_UNAVAILABLE (safe to retry); the
 * exclusion constraint becomes 409 CONFLICT; anything else is a 500 whose
 * message never leaks SQL. A broken connection is re-established on the next
 * call, so the first request after PostgreSQL returns succeeds.
 *
 * The rest of the tree sees no libpq and no SQL: struct store is opaque
 * (its insides are lib/store/store_int.h), and what a caller needs of the
 * session itself (the relay's LISTEN and poll) has a function here.
 */
#ifndef APPOINTD_STORE_H
#define APPOINTD_STORE_H

#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "engine/appt.h"
#include "engine/ics.h"
#include "engine/slot.h"

/*
 * One connection and its transaction state, owned by one process (a pool
 * worker, the relay, appointctl); opaque outside lib/store/.
 */
struct store;

struct store *store_open(const char *conninfo, int statement_timeout_ms, int lock_timeout_ms);
void store_close(struct store *s);
/* Connects (again) if needed and prepares the statements. */
int store_ready(struct store *s, struct err *e);
/* SELECT 1: the /health check. */
int store_ping(struct store *s, struct err *e);
/*
 * The number of the current session: it changes with every successful
 * (re)connect, which any store call may make, and is 0 before the first (a
 * count, not the connection's address, which a new one may reuse).
 * What lives in a session (a LISTEN, a session advisory lock) is to be set
 * up again when it differs from the number it was set up on:
 *
 *     if (store_ready(s, e) == 0 && store_session(s) != mine && setup(s) == 0)
 *             mine = store_session(s);
 *
 * It keeps its value after the connection is lost (store_socket is -1 then).
 */
uint64_t store_session(const struct store *s);
/*
 * The socket of the current session, to poll for input (notifications)
 * beside other descriptors; -1 when not connected. Only for poll: reading
 * and writing are the store's.
 */
int store_socket(const struct store *s);
/*
 * Reads what the server sent without blocking and discards the
 * notifications that arrived on any channel this session LISTENs to
 * (store_outbox_listen). Returns how many there were (0: none), or -1 when
 * there is no connection or reading failed (the next store call reconnects).
 */
int store_notifications(struct store *s);
/* Counters since store_open, for /metrics: failed database calls, and reconnects. */
uint64_t store_errors(const struct store *s);
uint64_t store_reconnects(const struct store *s);

/*
 * Nests: an inner begin/commit pair only counts (Idempotency-Key wraps
 * handlers), except that an inner commit runs what is queued, so that its
 * caller sees its own statements' errors.
 *
 * A transaction costs no round trip of its own: BEGIN goes with its first
 * statement, and the statements queued by store_exec_later go with the next
 * one or with the COMMIT, in one round trip (libpq's pipeline mode). The
 * first that fails decides the answer and the server skips the rest.
 */
int store_begin(struct store *s, struct err *e);
int store_commit(struct store *s, struct err *e);
/* Rolls back an open transaction, if any; safe to call always. */
void store_rollback(struct store *s);
/*
 * Inside a transaction: marks a savepoint, and rolls back to it (undoing
 * what nested store_begin callers did since, and clearing an aborted
 * statement), so the outer transaction and its locks carry on.
 */
int store_savepoint(struct store *s, struct err *e);
int store_rollback_to_savepoint(struct store *s, struct err *e);

/* ---- providers (store_provider.c) */
/*
 * Inserts or replaces a provider's canonical configuration. *changed is 0
 * when the stored configuration already equals it (then nothing is written).
 */
int store_provider_upsert(struct store *s, struct arena *a, const char *id, const char *config,
			  int64_t now_ms, int *changed, struct err *e);
/* Reads the configuration (config, created_ms, updated_ms may be NULL); 404 if absent. lock: SELECT ... FOR UPDATE. */
int store_provider_get(struct store *s, struct arena *a, const char *id, int lock,
		       const char **config, int64_t *created_ms, int64_t *updated_ms,
		       struct err *e);
/*
 * A provider's active entries as the busy queries return them, sorted by
 * (start, id): its PENDING and CONFIRMED appointments and its holds live at
 * the time the caller passed, each with its own [start, end) and buffers
 * (slot_entry, whose service the caller numbers), the serviceId it was
 * booked with, and for a hold its expiry (a later reader drops the holds
 * whose expiry is not after its own time).
 */
struct store_busy {
	struct slot_entry *entry;    /* arena, room for one more */
	const char **service;        /* arena, entry i's serviceId */
	int64_t *expires_ms;         /* arena, entry i's expiry (epoch ms); 0: an appointment */
	size_t n;
};
struct store_service;
/* What availability reads of one provider (store_provider_with_busy, store_providers_with_busy). */
struct store_provider_busy {
	int found;                       /* 0: no such provider, nothing else set */
	uint32_t xmin;                   /* the row's version */
	const char *config;              /* NULL: the version was the known one, nothing below read */
	struct store_busy busy;          /* active entries overlapping [lo, hi) */
	struct store_service *services;  /* all its services, retired too, serviceId byte order */
	int nservices;
};
/*
 * One round trip for availability: the provider's row version and, unless
 * it is known_xmin (0: none known), its configuration, its active entries
 * overlapping [lo, hi) (UTC seconds; holds: those live at now_ms) and all
 * its services; when it is, config = NULL and nothing else is read. The
 * version changes with every write of an appointment or hold, not with a
 * hold's expiry. 404 "Provider not found." when there is no such provider.
 */
int store_provider_with_busy(struct store *s, struct arena *a, const char *id, int64_t lo,
			     int64_t hi, int64_t now_ms, uint32_t known_xmin,
			     struct store_provider_busy *out, struct err *e);
/*
 * The same for the n providers ids[0..n) (distinct UUIDs), known_xmin[i]
 * being ids[i]'s known version, in ONE statement (one snapshot): out[i]
 * (arena, n of them) is ids[i]'s, found = 0 when there is no such provider.
 */
int store_providers_with_busy(struct store *s, struct arena *a, const char *const *ids, int n,
			      int64_t lo, int64_t hi, int64_t now_ms, const uint32_t *known_xmin,
			      struct store_provider_busy **out, struct err *e);
/*
 * Locks the row of the provider of appointment appt_id, in a transaction;
 * *config is its configuration, NULL when there is no such appointment.
 * config may be NULL.
 */
int store_provider_lock_of_appt(struct store *s, struct arena *a, const char *appt_id,
				const char **config, struct err *e);

/* ---- appointments (store_appt.c) */
/*
 * The provider's active entries overlapping [lo, hi) (UTC seconds), holds
 * live at now_ms, but for appointment except_id (NULL: none), in a
 * transaction that holds the provider's row lock.
 */
int store_appt_busy(struct store *s, struct arena *a, const char *provider_id, int64_t lo,
		    int64_t hi, const char *except_id, int64_t now_ms, struct store_busy *out,
		    struct err *e);
/*
 * store_appt_busy for each of providers ids[0..n) in one statement (none
 * excepted): out[i] (caller's, n of them) for ids[i], under their row locks.
 */
int store_appt_busy_team(struct store *s, struct arena *a, const char *const *ids, int n,
			 int64_t lo, int64_t hi, int64_t now_ms, struct store_busy *out,
			 struct err *e);
/*
 * The writes go with the next round trip (store_exec_later): a taken slot
 * surfaces as 409 there. Rescheduling and cancelling need the row locked
 * (store_appt_get with lock) and count its version up from what was read.
 */
int store_appt_insert(struct store *s, struct arena *a, const struct appt *ap, struct err *e);
/* 404 if absent. lock: FOR UPDATE. */
int store_appt_get(struct store *s, struct arena *a, const char *id, int lock, struct appt *out,
		   struct err *e);
int store_appt_reschedule(struct store *s, struct arena *a, struct appt *ap, struct err *e);
int store_appt_cancel(struct store *s, struct arena *a, struct appt *ap, struct err *e);

struct appt_filter {
	const char *provider_id, *patient_id, *status; /* NULL = any */
	const char *service_id;                        /* NULL = any */
	const char *const *providers;                  /* and among these (0: any) */
	int nproviders;
	int64_t from_ms, to_ms;                        /* INT64_MIN / INT64_MAX = open */
	int has_after;                                 /* cursor position */
	int64_t after_start_ms;
	char after_id[ID_UUID_LEN + 1];
	int limit;
};
/* Up to f->limit + 1 rows (the extra one tells there is a next page). */
int store_appt_list(struct store *s, struct arena *a, const struct appt_filter *f,
		    struct appt **out, int *n, struct err *e);

/*
 * PENDING -> CONFIRMED, PENDING -> DECLINED (ap->decline_reason, "" for
 * none), and the attendance ap->attendance: each bumps the version and sets
 * updated_at to ap->updated_ms; the write goes with the next round trip.
 */
int store_appt_confirm(struct store *s, struct arena *a, struct appt *ap, struct err *e);
int store_appt_decline(struct store *s, struct arena *a, struct appt *ap, struct err *e);
int store_appt_attendance(struct store *s, struct arena *a, struct appt *ap, struct err *e);

/*
 * The calendar feed of a provider (404 if unknown): at most max of its
 * appointments starting in [from_ms, to_ms) (INT64_MIN / INT64_MAX = open),
 * those starting at now_ms or later first, then the latest past ones;
 * returned in (start, id) order. Strings point into the result (arena).
 */
int store_appt_feed(struct store *s, struct arena *a, const char *provider_id, int64_t from_ms,
		    int64_t to_ms, int64_t now_ms, int max, struct ics_appt **out, int *n,
		    struct err *e);

/* ---- holds (store_hold.c) */
/*
 * A hold: a seat kept during checkout. It is live while ended_ms is 0 and
 * expires_ms is after the time asked about; nothing has to run when it
 * expires. Every write of a hold is made under its provider's row lock
 * (store_provider_get with lock, or store_hold_lock_provider), so a check
 * and a write under that lock are one decision.
 */
struct hold {
	char id[ID_UUID_LEN + 1];
	char provider_id[ID_UUID_LEN + 1];
	char service_id[APPT_SERVICE_MAX + 1];
	char patient_id[APPT_PATIENT_MAX * 4 + 1]; /* "" when none */
	int64_t start_ms, end_ms;
	int buffer_before, buffer_after;           /* minutes, as the service had them */
	int64_t expires_ms;
	int64_t ended_ms;                          /* released or converted; 0 while open */
	int64_t created_ms;
};
/* The write goes with the next round trip (store_exec_later). key_id: who made it (NULL: none). */
int store_hold_insert(struct store *s, struct arena *a, const struct hold *h, const char *key_id,
		      struct err *e);
/* Any state; 404 "Hold not found." if absent. */
int store_hold_get(struct store *s, struct arena *a, const char *id, struct hold *out,
		   struct err *e);
/*
 * Locks the row of the provider of hold id, in a transaction; *provider is
 * that provider's id (in the arena), NULL when there is no such hold.
 */
int store_hold_lock_provider(struct store *s, struct arena *a, const char *id,
			     const char **provider, struct err *e);
/* Ends the hold if it is live at now_ms (else changes nothing); queued. */
int store_hold_release(struct store *s, struct arena *a, const char *id, int64_t now_ms,
		       struct err *e);
/* Ends the hold as converted into appointment appt_id; queued. */
int store_hold_convert(struct store *s, struct arena *a, const char *id, const char *appt_id,
		       int64_t now_ms, struct err *e);
/* Ends the live holds of a provider's service (it is being retired); queued. */
int store_hold_release_service(struct store *s, struct arena *a, const char *provider_id,
			       const char *service_id, int64_t now_ms, struct err *e);
/*
 * In a transaction: takes the patient's hold lock (held to its end, so
 * that concurrent holds of one patient on different providers count one
 * after the other) and counts its holds live at now_ms, over all providers.
 */
int store_hold_count_patient(struct store *s, struct arena *a, const char *patient_id,
			     int64_t now_ms, int *n, struct err *e);
/*
 * Deletes at most max holds that ended or expired more than 24 hours ago
 * (the relay's maintenance cycle).
 */
int store_hold_prune(struct store *s, struct arena *a, int max, int64_t *deleted, struct err *e);

/* ---- outbox and the event feed (store_outbox.c) */
/* In a transaction, the row goes with the next round trip (store_exec_later). */
int store_outbox_add(struct store *s, struct arena *a, const char *event_id, const char *type,
		     const char *aggregate_id, const char *payload, struct err *e);
/*
 * Providers no event in the outbox names (oldest first; *ids in the arena):
 * those `appointctl seed` inserted, which it then announces through the
 * API's encoder (the API writes a provider's event with the provider).
 */
int store_outbox_unannounced(struct store *s, struct arena *a, const char ***ids, int *n,
			     struct err *e);
/*
 * Numbers up to max committed events for the feed and fans them out to the
 * webhook subscriptions (appointd_dispatch(), one dispatcher at a time), in
 * its own transaction. *n: how many it numbered.
 */
int store_outbox_dispatch(struct store *s, struct arena *a, int max, int *n, struct err *e);
struct feed_event {
	int64_t seq;
	const char *envelope; /* the stored bytes */
};
/* Numbered events after `after`, in sequence order, at most limit. */
int store_outbox_feed(struct store *s, struct arena *a, int64_t after, int limit,
		      struct feed_event **out, int *n, struct err *e);
/* Events not yet numbered and deliveries pending: cheap (partial indexes). */
int store_outbox_backlog(struct store *s, struct arena *a, int64_t *events,
			 int64_t *deliveries, struct err *e);
/*
 * Deletes finished deliveries and numbered events older than `hours`, at
 * most `max` rows of each per call; an event with a pending delivery stays.
 */
int store_outbox_prune(struct store *s, struct arena *a, int hours, int max, int64_t *deleted,
		       struct err *e);
/* Wakes the relays (right after the commit, or now outside a transaction). */
int store_outbox_wake(struct store *s, struct arena *a, struct err *e);
/*
 * The relay's side: LISTENs on the current session to the wake-ups, which
 * store_notifications then counts. A LISTEN lasts as long as its session:
 * call it again on every new one (store_session).
 */
int store_outbox_listen(struct store *s, struct err *e);


/*
 * services (store_service.c). Every call expects the provider's row locked
 * by the caller when it writes (store_provider_get with lock), and answers
 * 404 "Service not found." for a service the provider does not have.
 */
struct store_service {
	const char *id;           /* serviceId */
	const char *config;       /* the canonical PUT body (api/codec_service.c) */
	int active;
	int64_t created_ms, updated_ms;
};
/* A team booking's candidate, as store_provider_lock_team reads it. */
struct store_team_member {
	const char *config;              /* NULL: no such provider */
	struct store_service service;    /* the service asked for; id NULL: the provider has none */
};
/*
 * (store_provider.c) In a transaction: locks the rows of providers
 * ids[0..n) (distinct UUIDs) with one statement, in id order: the one
 * global order every lock of several providers takes, so two of them
 * cannot deadlock, nor with the single-row locks of the other writes.
 * out[i] (caller's, n of them) is ids[i]'s configuration and its service
 * service_id.
 */
int store_provider_lock_team(struct store *s, struct arena *a, const char *const *ids, int n,
			     const char *service_id, struct store_team_member *out, struct err *e);

int store_service_get(struct store *s, struct arena *a, const char *provider_id,
		      const char *service_id, struct store_service *out, struct err *e);
/*
 * Creates the service or replaces its configuration and makes it active;
 * *created when it was new, *changed unless it was active with an equal
 * configuration (then nothing is written). out: the service as stored now.
 */
int store_service_put(struct store *s, struct arena *a, const char *provider_id,
		      const char *service_id, const char *config, int64_t now_ms, int *created,
		      int *changed, struct store_service *out, struct err *e);
/* Every service of the provider, retired ones too, in serviceId byte order. */
int store_service_list(struct store *s, struct arena *a, const char *provider_id,
		       struct store_service **out, int *n, struct err *e);
/* Retires an active service (*changed), or reads a retired one (404 when unknown). */
int store_service_retire(struct store *s, struct arena *a, const char *provider_id,
			 const char *service_id, int64_t now_ms, int *changed,
			 struct store_service *out, struct err *e);
/* ---- webhook subscriptions (store_webhook.c) */
struct webhook {
	char id[ID_UUID_LEN + 1];
	const char *url;
	const char *event_types_json; /* "null" or a JSON array of strings */
	const char *description;      /* NULL when unset */
	int active;
	int64_t created_ms;
};
/* event_types: a PostgreSQL array literal ("{A,B}") or NULL for every type. */
int store_webhook_insert(struct store *s, struct arena *a, const struct webhook *w,
			 const char *event_types, const char *secret, struct err *e);
/* 404 if absent. lock: FOR SHARE (a retry must not race a deactivation). */
int store_webhook_get(struct store *s, struct arena *a, const char *id, int lock,
		      struct webhook *out, struct err *e);
int store_webhook_list(struct store *s, struct arena *a, struct webhook **out, int *n,
		       struct err *e);
/* 404 if absent; its deliveries go with it. */
int store_webhook_delete(struct store *s, struct arena *a, const char *id, struct err *e);

/* ---- webhook deliveries (store_delivery.c) */
struct delivery {
	char id[ID_UUID_LEN + 1];
	int64_t seq;
	char event_id[ID_UUID_LEN + 1];
	const char *event_type;
	const char *status;
	int attempts;
	int last_status_code;         /* -1: none */
	const char *last_error;       /* NULL: none */
	int64_t next_attempt_ms;      /* INT64_MIN unless pending */
	int64_t delivered_ms;         /* INT64_MIN: not delivered */
};
struct delivery_filter {
	const char *webhook_id;
	const char *status, *event_type; /* NULL = any */
	int64_t before;                  /* sequence; INT64_MAX = newest */
	int limit;
};
/* Newest first. */
int store_delivery_list(struct store *s, struct arena *a, const struct delivery_filter *f,
			struct delivery **out, int *n, struct err *e);
/* One delivery of one webhook; 404 if absent. lock: FOR UPDATE. */
int store_delivery_get(struct store *s, struct arena *a, const char *webhook_id,
		       const char *id, int lock, struct delivery *out, struct err *e);
/* A failed delivery back to pending, due now, with a fresh retry schedule. */
int store_delivery_requeue(struct store *s, struct arena *a, const char *id,
			   struct delivery *out, struct err *e);

/* The relay's side (events/relay.c). */
struct delivery_claim {
	char id[ID_UUID_LEN + 1];
	char webhook_id[ID_UUID_LEN + 1];
	char event_id[48];            /* "evt_<uuid>", the webhook-id header */
	int attempt;                  /* attempts already made in this schedule */
	const char *url, *secret, *body;
	size_t body_len;
};
/*
 * Leases up to `max` deliveries that are due, not leased by a live relay and
 * not behind an earlier pending delivery of the same aggregate for the same
 * webhook, and at most per_webhook in flight to one webhook (counting every
 * relay's leases). owner: the relay's session advisory-lock key.
 */
int store_delivery_claim(struct store *s, struct arena *a, int owner, int max, int per_webhook,
			 int lease_ms, struct delivery_claim **out, int *n, struct err *e);
/*
 * Milliseconds until the earliest unleased pending delivery is due (0 if it
 * is due already, though it may wait behind an earlier one); -1 if none.
 */
int store_delivery_next_due(struct store *s, struct arena *a, int64_t *ms, struct err *e);
/*
 * Records attempt results: results_json is an array of {"id", "status"
 * (pending|delivered|failed), "code" (int|null), "error" (str|null),
 * "delay_ms" (next attempt, for pending)}; only rows still leased by owner.
 */
int store_delivery_record(struct store *s, struct arena *a, int owner, const char *results_json,
			  struct err *e);
/* Delivery attempts the relays recorded, ever, by outcome (for /metrics). */
struct delivery_totals {
	int64_t delivered;
	int64_t retried;         /* failed attempts with another to come */
	int64_t failed;          /* attempts after which the delivery was given up */
};
int store_delivery_totals(struct store *s, struct arena *a, struct delivery_totals *t,
			  struct err *e);
/* A 410 Gone: deactivates the webhook and fails its pending deliveries. */
int store_delivery_gone(struct store *s, struct arena *a, const char *webhook_id,
			struct err *e);
/* Refreshes the planner's statistics of the deliveries table. */
int store_delivery_analyze(struct store *s, struct arena *a, struct err *e);
/* Takes the relay's session lock (owner) so others see its leases as live. */
int store_delivery_hold_owner(struct store *s, struct arena *a, int owner, struct err *e);

/* ---- API keys (store_key.c) */
/*
 * Stores a new key's hash (name: NULL for none), bound to the nproviders
 * providers (1..1000, canonical UUIDs; 0 = unbound). created_ms (may be
 * NULL): its created_at in ms, as store_key_list reports it.
 */
int store_key_insert(struct store *s, struct arena *a, const char *id, const char *name,
		     const char *scope, const char *hash, const char *const *providers,
		     int nproviders, int64_t *created_ms, struct err *e);
/*
 * 1 with id, scope and the providers (in the arena; NULL and 0 for an
 * unbound key) of a live key with this hash, 0 if none, -1 on error.
 */
int store_key_lookup(struct store *s, struct arena *a, const char *hash, char *id,
		     const char **scope, const char *const **providers, int *nproviders,
		     struct err *e);
struct store_key {
	const char *id, *scope, *name; /* name: "" when unset */
	const char *created;           /* ISO 8601, UTC, to the second */
	const char *revoked;           /* the same, or "" while the key is live */
	int64_t created_ms, revoked_ms; /* ms since the epoch; revoked_ms INT64_MIN while live */
	int name_null;                 /* 1 when the key has no name (name is then "") */
	const char *providers;         /* "id,id,...", NULL for an unbound key */
};
/* Every key, revoked ones too, oldest first; *out is in the arena. */
int store_key_list(struct store *s, struct arena *a, struct store_key **out, int *n,
		   struct err *e);
/* Revoking twice keeps the first time; 404 if there is no such key. */
int store_key_revoke(struct store *s, struct arena *a, const char *id, struct err *e);

/* ---- Idempotency-Key answers (store_idem.c) */
/* In a transaction: *got = 0 when another request holds this key now. */
int store_idem_lock(struct store *s, struct arena *a, const char *key_id, const char *idem_key,
		    int *got, struct err *e);
/* 1 with the stored answer (younger than 24 h), 0 if none. */
int store_idem_get(struct store *s, struct arena *a, const char *key_id, const char *idem_key,
		   const char **hash, int *status, const char **response, struct err *e);
int store_idem_put(struct store *s, struct arena *a, const char *key_id, const char *idem_key,
		   const char *hash, int status, const char *response, struct err *e);
/* Deletes answers older than 24 h (the relay's maintenance cycle). */
int store_idem_prune(struct store *s, struct arena *a, int64_t *deleted, struct err *e);

/* ---- migrations and demo data (store_migrate.c), for appointctl */
/*
 * Connects to conninfo (a session of its own, without the store's
 * timeouts) and applies the migrations of dir not yet applied, in order,
 * printing "applied NAME" for each when verbose. 0, or -1 with e.
 */
int store_migrate(const char *conninfo, const char *dir, int verbose, struct err *e);
/* Connects to conninfo and runs the SQL script in file as one command string. */
int store_seed(const char *conninfo, const char *file, struct err *e);

#endif
