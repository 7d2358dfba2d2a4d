/*
 * addr.h - which webhook destinations count as loopback or private, for
 * operators who set webhook_allow_private = 0: the API refuses such literal
 * hosts, the relay refuses to connect to such resolved addresses (so a name
 * that resolves inward is caught too).
 */
#ifndef APPOINTD_ADDR_H
#define APPOINTD_ADDR_H

#include <sys/socket.h>

/* Loopback, private (RFC 1918, fc00::/7), link-local, unspecified, CGNAT. */
int addr_is_private(const struct sockaddr *sa);
/* A host as written in a URL: "localhost", "*.localhost" or a private IP literal ("[::1]"). */
int addr_host_is_private(const char *host);

#endif
