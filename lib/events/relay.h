/*
 * relay.h - the outbox relay: numbers committed events for the feed, fans
 * them out to the webhook subscriptions, and delivers them with libcurl.
 *
 * One process, one PostgreSQL session, one curl multi handle. It wakes on
 * the outbox's NOTIFY (or its poll interval), leases due deliveries, runs up
 * to relay_concurrency transfers at once, and records each result; see
 * store_delivery.c for the lease and ordering rules that let several relays
 * run at once and survive kill -9.
 */
#ifndef APPOINTD_RELAY_H
#define APPOINTD_RELAY_H

#include "core/config.h"

/*
 * Runs until SIGTERM/SIGINT, then finishes and records the deliveries in
 * flight and returns the exit status. SIGHUP rereads conf_path (relay_* and
 * webhook_allow_private take effect; database_url needs a restart); SIGUSR1
 * reopens the log. The caller has set up logging, the pidfile and the user.
 */
int relay_run(const char *conf_path, const struct config *cfg);

#endif
