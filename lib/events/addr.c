/*
 * addr.c - the address classes webhook_allow_private = 0 refuses.
 */
#include "events/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int addr_v4_private(uint32_t a)
{
	return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 ||
	       (a >> 20) == (172u << 4 | 1) || (a >> 16) == (192u << 8 | 168) ||
	       (a >> 16) == (169u << 8 | 254) || (a >> 22) == (100u << 2 | 1);
}

static int addr_v6_private(const struct in6_addr *a)
{
	const uint8_t *b = a->s6_addr;

	if (IN6_IS_ADDR_V4MAPPED(a))
		return addr_v4_private((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
				       (uint32_t)b[14] << 8 | b[15]);
	return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
	       IN6_IS_ADDR_LINKLOCAL(a) || (b[0] & 0xfe) == 0xfc;
}

int addr_is_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return addr_v4_private(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6)
		return addr_v6_private(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return 1; /* unix sockets and the like are never a webhook */
}

int addr_host_is_private(const char *host)
{
	char buf[64];
	size_t n = strlen(host);
	struct in_addr v4;
	struct in6_addr v6;

	if (strcasecmp(host, "localhost") == 0 ||
	    (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0))
		return 1;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return addr_v4_private(ntohl(v4.s_addr));
	if (host[0] == '[' && n >= 2 && n - 2 < sizeof buf) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		/* A zone id ("fe80::1%25eth0") is link-local anyway. */
		if (strchr(buf, '%'))
			return 1;
		if (inet_pton(AF_INET6, buf, &v6) == 1)
			return addr_v6_private(&v6);
	}
	return 0;
}
