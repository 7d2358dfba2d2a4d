/*
 * daemon.c - process plumbing shared by the service (app/appointd.c and its
 * pool, http/pool*.c) and the relay (app/appointd-relay.c, events/relay.c),
 * so both log, write pidfiles and drop root identically.
 */
#include "core/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void daemon_iso8601(char *buf, size_t n, int64_t ms, int with_ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t len;

	gmtime_r(&t, &tm);
	len = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	if (with_ms)
		snprintf(buf + len, n - len, ".%03dZ", (int)(ms % 1000));
	else
		snprintf(buf + len, n - len, "Z");
}

int64_t daemon_clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

cJSON *daemon_log_begin(const char *level, const char *event)
{
	char ts[40];
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	daemon_iso8601(ts, sizeof ts, daemon_clock_ms(CLOCK_REALTIME), 1);
	cJSON_AddStringToObject(o, "time", ts);
	cJSON_AddStringToObject(o, "level", level);
	cJSON_AddStringToObject(o, "event", event);
	return o;
}

void daemon_log_end(cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	if (s) {
		size_t len = strlen(s);
		char *line = malloc(len + 2);

		if (line) {
			memcpy(line, s, len);
			line[len] = '\n';
			if (write(STDERR_FILENO, line, len + 1) < 0) {
				/* nowhere left to report it */
			}
			free(line);
		}
		free(s);
	} else {
		static const char oom[] = "{\"level\":\"error\",\"event\":\"log_failed\"}\n";

		if (write(STDERR_FILENO, oom, sizeof oom - 1) < 0) {
			/* nowhere left to report it */
		}
	}
	cJSON_Delete(o);
}

void daemon_log_msg(const char *level, const char *event, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	cJSON *o = daemon_log_begin(level, event);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON_AddStringToObject(o, "message", msg);
	daemon_log_end(o);
}

int daemon_open_log(const char *path, int orig_stderr)
{
	int fd;

	if (!path[0] || strcmp(path, "-") == 0) {
		if (orig_stderr >= 0 && dup2(orig_stderr, STDERR_FILENO) < 0)
			return -1;
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	if (fd != STDERR_FILENO) {
		if (dup2(fd, STDERR_FILENO) < 0) {
			close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

pid_t daemon_pidfile_read(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (pid_t)strtol(buf, NULL, 10);
}

int daemon_pid_running(pid_t pid)
{
	char path[64], buf[256], *close_paren;
	ssize_t n;
	int fd;

	if (pid <= 0 || pid == getpid() || (kill(pid, 0) < 0 && errno != EPERM))
		return 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1; /* no /proc: trust kill() */
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')'. */
	close_paren = strrchr(buf, ')');
	return !(close_paren && close_paren[1] == ' ' && (close_paren[2] == 'Z' || close_paren[2] == 'X'));
}

int daemon_pidfile_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	if (dprintf(fd, "%d\n", (int)getpid()) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return close(fd);
}

int daemon_drop_privileges(const char *user, const char *const *keep, char *why, size_t n)
{
	struct passwd *pw;

	if (!user[0])
		return 0;
	pw = getpwnam(user);
	if (!pw) {
		snprintf(why, n, "user %s: no such user", user);
		return -1;
	}
	if (geteuid() != 0) {
		if (pw->pw_uid == geteuid())
			return 0;
		snprintf(why, n, "not started as root; staying uid %d", (int)geteuid());
		return 2;
	}
	for (; *keep; keep++) {
		if (!(*keep)[0] || strcmp(*keep, "-") == 0)
			continue;
		if (chown(*keep, pw->pw_uid, pw->pw_gid) < 0) {
			snprintf(why, n, "chown %s: %s", *keep, strerror(errno));
			return -1;
		}
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		snprintf(why, n, "cannot become user %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(why, n, "could regain root after dropping to %s", user);
		return -1;
	}
	snprintf(why, n, "running as %s (uid %d)", user, (int)pw->pw_uid);
	return 1;
}
