/*
 * daemon.h - what every long-running appointd process (the pool master and
 * its workers, the relay) does the same way: JSON log lines on fd 2, the log
 * file reopened in place, a pidfile, and dropping root to the service user.
 */
#ifndef APPOINTD_DAEMON_H
#define APPOINTD_DAEMON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Milliseconds on clock id (CLOCK_REALTIME: since the epoch; CLOCK_MONOTONIC: for durations). */
int64_t daemon_clock_ms(clockid_t id);
/* "2027-03-14T07:00:00.000Z" (with_ms) or "2027-03-14T07:00:00Z". */
void daemon_iso8601(char *buf, size_t n, int64_t ms, int with_ms);
/* A log line under construction: {"time", "level", "event"}; add fields, then end. */
cJSON *daemon_log_begin(const char *level, const char *event);
/* Writes the line with one write() (lines from many processes never interleave); frees o. */
void daemon_log_end(cJSON *o);
/* One {"time", "level", "event", "message"} line; the message is printf-style. */
void daemon_log_msg(const char *level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Points fd 2 at path (O_APPEND); "" or "-" means orig_stderr (if >= 0). */
int daemon_open_log(const char *path, int orig_stderr);
/* The pid a pidfile names, or 0. */
pid_t daemon_pidfile_read(const char *path);
/*
 * 1 if pid is a live process other than us (a zombie not yet reaped after a
 * kill -9 does not count), so a pidfile it names is stale.
 */
int daemon_pid_running(pid_t pid);
/* Writes our pid; -1 with errno on failure. */
int daemon_pidfile_write(const char *path);
/*
 * Becomes `user` when running as root, first chowning each non-empty path of
 * keep[] (NULL-terminated; "-" skipped) so the process can still reach them.
 * Returns 0 when there is nothing to do, 1 when it dropped root, 2 when not
 * root and user is someone else (stays); -1 on failure. why says what happened.
 */
int daemon_drop_privileges(const char *user, const char *const *keep, char *why, size_t n);

#endif
