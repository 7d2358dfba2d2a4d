/*
 * tz.h - IANA time zones as immutable transition tables.
 *
 * A zone is loaded once from the system tz database (TZif files, their
 * POSIX-TZ footer extending the rules past the last explicit transition,
 * through year 2100 at least) and never changes afterwards, so one table can
 * be shared by every request of a worker, and loaded before fork by the
 * master. Lookups are a binary search; no locks, no globals.
 *
 * Conversions follow RFC 5545 as the contract states: a local time in a DST
 * gap is read with the UTC offset in force before the gap (New York
 * 2007-03-11 02:30 -> 07:30Z), and a local time that occurs twice is its
 * first occurrence. libical 3.0.16 gets both wrong (issue #1402), which is
 * why the resolution lives here rather than in icaltimezone.
 */
#ifndef APPOINTD_TZ_H
#define APPOINTD_TZ_H

#include <stdint.h>

struct tz_zone;
struct tz_cache;

/*
 * Syntax and existence check of a zone name: "UTC", or an Area/Location
 * name (e.g. "Europe/Berlin", "Etc/GMT+5", "America/Argentina/Buenos_Aires")
 * present in the tz database as a TZif file. Rejects legacy names without an
 * area ("EST", "CET", "EST5EDT"), offsets ("+02:00"), empty strings, "..",
 * absolute paths and the "posix/" and "right/" trees. 1 if valid, else 0.
 */
int tz_name_valid(const char *zoneinfo_dir, const char *name);

/* Loads one zone; NULL if the name is invalid or the file is unreadable. */
struct tz_zone *tz_zone_load(const char *zoneinfo_dir, const char *name);
void tz_zone_free(struct tz_zone *z);
const char *tz_zone_name(const struct tz_zone *z);

/* Offset east of UTC, in seconds, in force at the UTC instant t. */
int32_t tz_offset_at(const struct tz_zone *z, int64_t t);

/*
 * Local wall-clock seconds (seconds since 1970-01-01T00:00 on the local
 * clock, i.e. days*86400 + seconds of day) -> UTC seconds, by the RFC 5545
 * gap/overlap rules above.
 */
int64_t tz_local_to_utc(const struct tz_zone *z, int64_t local);

/* UTC seconds -> local wall-clock seconds (t + offset). */
int64_t tz_utc_to_local(const struct tz_zone *z, int64_t t);

/*
 * A process-wide cache of loaded zones, owned by whoever creates it (the
 * worker, or the master before fork). Lookups are by exact name.
 */
struct tz_cache *tz_cache_new(const char *zoneinfo_dir);
/* Returns the cached zone, loading it on first use; NULL if invalid. */
const struct tz_zone *tz_cache_get(struct tz_cache *c, const char *name);
/* Loads every valid zone under the directory (to warm before fork). Returns the count. */
int tz_cache_warm_all(struct tz_cache *c);
void tz_cache_free(struct tz_cache *c);

#endif
