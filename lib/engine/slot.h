/*
 * slot.h - which slots a provider offers, exactly as the contract's
 * "How slots are computed" says.
 *
 * slot_list_for_date() answers "which slots on local date d"; slot_bookable()
 * answers "is instant s bookable now" by asking slot_list_for_date() about
 * the local dates s can belong to, so the two can never disagree. `now` is a
 * parameter; nothing here reads a clock or does I/O.
 */
#ifndef APPOINTD_SLOT_H
#define APPOINTD_SLOT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/sched.h"

/* Upper bound of slots on one date: 25 h of 5-minute steps, with room to spare. */
#define SLOT_MAX_PER_DATE 320

/* A CONFIRMED appointment [start, end), UTC seconds. */
struct slot_busy {
	int64_t start, end;
};

struct slot {
	int64_t start;   /* UTC seconds */
	int local_min;   /* local wall-clock minute of day, 0..1439 */
};

/*
 * What the rules need besides the schedule: the clock and the provider's
 * confirmed appointments sorted by start (any that could touch the dates
 * asked about; more is harmless). `ignore`, if non-NULL, points into busy at
 * an appointment to treat as free (a reschedule's own current time).
 */
struct slot_ctx {
	const struct sched *sched;
	int64_t now;
	const struct slot_busy *busy;
	size_t nbusy;
	const struct slot_busy *ignore;
};

/* Fills out (capacity SLOT_MAX_PER_DATE) in increasing instant order; returns the count. */
int slot_list_for_date(const struct slot_ctx *c, int32_t date, struct slot *out);
/* 1 if `start` (UTC seconds) begins an offered slot, else 0. */
int slot_bookable(const struct slot_ctx *c, int64_t start);
/*
 * A UTC window [lo, hi) holding every confirmed appointment that can affect
 * the local dates [from, to] of any schedule (whatever its zone, buffers and
 * durations), so it can be fetched before the schedule is known.
 */
void slot_busy_window(int32_t from, int32_t to, int64_t *lo, int64_t *hi);
/* Local date of a UTC instant in the schedule's zone. */
int32_t slot_local_date(const struct sched *s, int64_t t);

#endif
