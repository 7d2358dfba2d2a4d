/*
 * slot.h - which slots a provider offers for one of its services, exactly as
 * the contract's "How slots are computed" says: working intervals, DST
 * rules, candidates, conflicts with asymmetric buffers, sessions and seats,
 * and the provider's and the service's limits per local day and ISO week.
 *
 * slot_list_for_date() answers "which slots on local date d"; slot_bookable()
 * answers "is instant s bookable now" by asking slot_list_for_date() about
 * the local dates s can belong to, so the two can never disagree. `now` is a
 * parameter; nothing here reads a clock, allocates or does I/O.
 */
#ifndef APPOINTD_SLOT_H
#define APPOINTD_SLOT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/sched.h"

/* Upper bound of slots on one date: 25 h of 5-minute steps, with room to spare. */
#define SLOT_MAX_PER_DATE 320

/*
 * An active entry (a PENDING or CONFIRMED appointment, or a live hold)
 * [start, end), UTC seconds, with the buffers it was booked with (seconds)
 * and its service as a small number the caller assigns: entries of one
 * service share it, and entries with equal start and equal service are the
 * seats of one session.
 */
struct slot_entry {
	int64_t start, end;
	int32_t buffer_before, buffer_after; /* seconds */
	int32_t service;
};

/* The service asked about, every value effective (inheritance from the schedule resolved). */
struct slot_service {
	int32_t key;                     /* compared with slot_entry.service */
	int duration;                    /* minutes */
	int slot_interval;               /* minutes */
	int buffer_before, buffer_after; /* minutes */
	int minimum_notice;              /* minutes */
	int horizon_days;                /* SCHED_NO_HORIZON for none */
	int capacity;                    /* seats per session, >= 1 */
	int limit_day, limit_week;       /* the service's own limits; 0 = none */
};

struct slot {
	int64_t start;   /* UTC seconds */
	int local_min;   /* local wall-clock minute of day, 0..1439 */
	int seats_left;  /* capacity - seats already taken in this session, >= 1 */
};

/*
 * What the rules need besides the schedule (zone, working intervals and the
 * provider's limits) and the service: the clock, and every active entry of
 * the provider, of any service, sorted by start (any that could touch the
 * dates asked about, see slot_busy_window; more is harmless). `ignore`, if
 * non-NULL, points into busy at an entry to count as absent (a reschedule's
 * own entry): it neither conflicts, nor is a seat, nor counts for a limit.
 */
struct slot_ctx {
	const struct sched *sched;
	const struct slot_service *svc;
	int64_t now;
	const struct slot_entry *busy;
	size_t nbusy;
	const struct slot_entry *ignore;
};

/* Fills out (capacity SLOT_MAX_PER_DATE) in increasing instant order; returns the count. */
int slot_list_for_date(const struct slot_ctx *c, int32_t date, struct slot *out);
/* The seats left (>= 1) if `start` (UTC seconds) begins an offered slot, else 0. */
int slot_bookable(const struct slot_ctx *c, int64_t start);
/*
 * The service `default` of schedule s: appointmentDuration, the schedule's
 * slotInterval, buffers, notice and horizon, capacity 1, no service limits;
 * its key is `key`.
 */
void slot_service_default(const struct sched *s, int32_t key, struct slot_service *out);
/*
 * A UTC window [lo, hi) holding every active entry that can affect the local
 * dates [from, to] of any schedule and service (whatever its zone, buffers
 * and durations): those that can conflict with a slot of those dates, and
 * every session starting in the local ISO weeks (Monday to Sunday) of the
 * dates from - 1 .. to + 1, which limits count. It can be fetched before the
 * schedule is known. slot_bookable(t) needs the window of d - 1 .. d + 1,
 * d = slot_local_date(t).
 */
void slot_busy_window(int32_t from, int32_t to, int64_t *lo, int64_t *hi);
/*
 * The sessions of any service with seats among c->busy (but c->ignore)
 * that start in the local ISO week (Monday to Sunday, in the schedule's
 * zone) holding instant t: the load a team booking compares. busy must
 * cover that week (slot_busy_window of slot_local_date(t) - 1 .. + 1 does).
 */
int slot_week_sessions(const struct slot_ctx *c, int64_t t);
/* Local date of a UTC instant in the schedule's zone. */
int32_t slot_local_date(const struct sched *s, int64_t t);

#endif
