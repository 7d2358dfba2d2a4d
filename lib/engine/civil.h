/*
 * civil.h - proleptic Gregorian calendar arithmetic and the strict text
 * forms the contract accepts: YYYY-MM-DD, HH:mm and ISO 8601 instants.
 *
 * Dates are int32 days since 1970-01-01; instants are int64 seconds since
 * the epoch (UTC); times of day are minutes 0..1440. Pure functions only.
 */
#ifndef APPOINTD_CIVIL_H
#define APPOINTD_CIVIL_H

#include <stdint.h>
#include <stddef.h>

#define CIVIL_MIN_YEAR 1900
#define CIVIL_MAX_YEAR 2199

/* Howard Hinnant's days_from_civil / civil_from_days. */
int32_t civil_days_from_ymd(int y, int m, int d);
void civil_ymd_from_days(int32_t days, int *y, int *m, int *d);
/* 0 = Monday .. 6 = Sunday (ISO order, matching the contract's day keys). */
int civil_weekday(int32_t days);
int civil_is_leap_year(int y);
int civil_days_in_month(int y, int m);

/* Strict "YYYY-MM-DD" (years CIVIL_MIN_YEAR..CIVIL_MAX_YEAR): 0 on success. */
int civil_parse_date(const char *s, int32_t *days);
void civil_format_date(int32_t days, char out[11]);
/* Strict "HH:mm", 00:00..24:00 (24:00 only when allow_24 is set). */
int civil_parse_hhmm(const char *s, int allow_24, int *minutes);
void civil_format_hhmm(int minutes, char out[6]);

/*
 * ISO 8601 instant with a mandatory offset: YYYY-MM-DDTHH:mm[:ss[.fff…]]
 * followed by Z, ±HH:mm or ±HHmm. Fractions finer than a millisecond round
 * up to the next millisecond, so 10:00:00.0001 is never the 10:00 slot.
 * Returns 0 on success, -1 when malformed, -2 when well-formed but without
 * an offset (the contract rejects both, with different messages).
 */
int civil_parse_instant(const char *s, int64_t *ms);
/* "2027-03-14T07:00:00.000Z" (24 chars + NUL). */
void civil_format_instant(int64_t ms, char out[32]);

const char *civil_weekday_name(int wd);   /* "monday".."sunday" */
int civil_weekday_from_name(const char *s); /* case-insensitive; -1 if none */

#endif
