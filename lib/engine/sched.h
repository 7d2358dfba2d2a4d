/*
 * sched.h - a provider's configuration: the schedule model of the contract
 * ("POST /api/providers/{id}/schedule"). Its JSON form is decoded, validated
 * and encoded by api/codec.h (codec_sched_decode, codec_sched_encode).
 *
 * A struct sched is always valid: the decoder either fills every field
 * (defaults included) or reports every broken rule with its dotted path.
 * Days are numbered 0 = Monday .. 6 = Sunday; times of day are minutes
 * 0..1440; intervals of a day are kept sorted by start.
 */
#ifndef APPOINTD_SCHED_H
#define APPOINTD_SCHED_H

#include <stdint.h>

struct tz_zone;

#define SCHED_MAX_INTERVALS 48          /* per day or per override */
#define SCHED_MAX_OVERRIDES 1000
#define SCHED_MIN_DURATION 5
#define SCHED_MAX_DURATION 1440
#define SCHED_MAX_BUFFER 1440
#define SCHED_MAX_NOTICE (365 * 24 * 60)   /* a year of minutes */
#define SCHED_MAX_HORIZON_DAYS 3660       /* ten years */
#define SCHED_NO_HORIZON (-1)
#define SCHED_MAX_LIMIT 10000             /* limits.perDay and limits.perWeek */

struct sched_interval {
	int16_t start, end; /* minutes, start < end, 0..1440 */
};

struct sched_day {
	int n;
	struct sched_interval iv[SCHED_MAX_INTERVALS];
};

struct sched_override {
	int32_t date; /* days since 1970-01-01, local */
	int n;        /* 0 = closed that day */
	struct sched_interval iv[SCHED_MAX_INTERVALS];
};

struct sched {
	char timezone[72];
	const struct tz_zone *zone; /* from the tz_cache the decoder was given */
	int duration;               /* appointmentDuration */
	int slot_interval;
	int buffer_before, buffer_after;
	int minimum_notice;
	int horizon_days;           /* SCHED_NO_HORIZON for null */
	int limit_day, limit_week;  /* limits.perDay, limits.perWeek: sessions of all services; 0 = none */
	struct sched_day week[7];
	int noverrides;
	struct sched_override *overrides; /* sorted by date, from the arena */
};

/* The intervals that apply on local date d (an override, or the weekday's). */
const struct sched_interval *sched_intervals_for(const struct sched *s, int32_t date,
						 int *n);

#endif
