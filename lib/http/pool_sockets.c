/*
 * pool_sockets.c - the pool's listening socket: a unix socket or a TCP
 * address from the configuration's listen, or fd 3 from systemd
 * (LISTEN_FDS), in the manner of php-fpm's fpm_sockets.c.
 *
 * Invariants: a live socket of another server is never taken over (only one
 * nobody answers on is removed); the socket is non-blocking, once for all
 * workers, so a worker that loses the race for a connection goes back to
 * poll() rather than blocking in accept() with its signals held; and only a
 * unix socket this process bound is removed at the end.
 */
#include <config.h>

#include "http/pool_int.h"

#include "core/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int pool_unix_path(const char *listen, const char **path)
{
	if (strncmp(listen, "unix:", 5) == 0)
		listen += 5;
	*path = listen;
	return listen[0] == '/';
}

static int pool_bind_unix(struct pool_master *m, const char *path, int backlog)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old_umask;
	int fd;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path)
		return pool_start_failed(m, "listen %s: path too long", path), -1;
	memcpy(sa.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode))
			return pool_start_failed(m, "listen %s: exists and is not a socket", path), -1;
		/* Only a socket nobody answers on is stale; never steal a live one. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return pool_start_failed(m, "socket: %s", strerror(errno)), -1;
		if (connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0) {
			close(probe);
			return pool_start_failed(m, "listen %s: another server is accepting on it",
						 path), -1;
		}
		close(probe);
		if (unlink(path) < 0)
			return pool_start_failed(m, "listen %s: cannot remove stale socket: %s", path,
						 strerror(errno)), -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return pool_start_failed(m, "socket: %s", strerror(errno)), -1;
	/* 0666 from the start, not after a window: nginx's workers run as
	 * another user; restrict access with the directory's permissions. */
	old_umask = umask(0111);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int err = errno;

		umask(old_umask);
		close(fd);
		return pool_start_failed(m, "listen %s: bind: %s", path, strerror(err)), -1;
	}
	umask(old_umask);
	snprintf(m->sock_path, sizeof m->sock_path, "%s", path);
	if (listen(fd, backlog) < 0) {
		int err = errno;

		close(fd);
		return pool_start_failed(m, "listen %s: %s", path, strerror(err)), -1;
	}
	return fd;
}

static int pool_bind_tcp(struct pool_master *m, const char *listen_spec, int backlog)
{
	char host[256], *colon;
	const char *port;
	struct addrinfo hints, *res, *ai;
	int fd = -1, rc, err = 0;

	snprintf(host, sizeof host, "%s", listen_spec);
	colon = strrchr(host, ':');
	if (!colon)
		return pool_start_failed(m, "listen %s: expected host:port", listen_spec), -1;
	*colon = '\0';
	port = colon + 1;
	if (host[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(host[0] && strcmp(host, "*") != 0 ? host : NULL, port, &hints, &res);
	if (rc != 0)
		return pool_start_failed(m, "listen %s: %s", listen_spec, gai_strerror(rc)), -1;
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
			daemon_log_msg("warn", "setsockopt_failed", "listen %s: SO_REUSEADDR: %s",
				       listen_spec, strerror(errno));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return pool_start_failed(m, "listen %s: %s", listen_spec, strerror(err)), -1;
	return fd;
}

static int pool_inherit(struct pool_master *m, const char *lfds)
{
	int one = 0;
	socklen_t len = sizeof one;
	long n = strtol(lfds, NULL, 10);

	/* Not for our workers, nor anything they might exec. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (n < 1)
		return pool_start_failed(m, "LISTEN_FDS=%s: no socket passed", lfds), -1;
	if (getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &one, &len) < 0 || !one)
		return pool_start_failed(m, "LISTEN_FDS: fd 3 is not a listening socket"), -1;
	if (n > 1)
		daemon_log_msg("warn", "listen_inherited", "%ld sockets passed; serving only fd 3", n);
	if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
		return pool_start_failed(m, "LISTEN_FDS: fcntl(F_SETFD) on fd 3: %s",
					 strerror(errno)), -1;
	m->inherited = 1;
	daemon_log_msg("info", "listen_inherited", "fd 3 from the service manager");
	return 3;
}

int pool_sockets_open(struct pool_master *m)
{
	const char *lpid = getenv("LISTEN_PID"), *lfds = getenv("LISTEN_FDS");
	const char *path;
	int fd, flags;

	if (lpid && lfds && strtol(lpid, NULL, 10) == (long)getpid())
		fd = pool_inherit(m, lfds);
	else if (pool_unix_path(m->cfg->listen, &path))
		fd = pool_bind_unix(m, path, m->cfg->listen_backlog);
	else
		fd = pool_bind_tcp(m, m->cfg->listen, m->cfg->listen_backlog);
	if (fd < 0)
		return -1;
	m->listen_fd = fd;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return pool_start_failed(m, "listen %s: fcntl(O_NONBLOCK): %s",
					 m->inherited ? "fd:3" : m->cfg->listen, strerror(errno)), -1;
	return 0;
}

void pool_sockets_close(struct pool_master *m)
{
	if (m->sock_path[0] && !m->inherited && unlink(m->sock_path) < 0 && errno != ENOENT)
		daemon_log_msg("warn", "cleanup", "cannot remove %s: %s", m->sock_path,
			       strerror(errno));
	if (m->listen_fd >= 0 && close(m->listen_fd) < 0)
		daemon_log_msg("warn", "cleanup", "close(listen fd %d): %s", m->listen_fd,
			       strerror(errno));
	m->listen_fd = -1;
}
