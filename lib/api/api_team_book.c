/*
 * api_team_book.c - team booking: POST /api/appointments with providerIds
 * ("any available provider"). api_appt_create calls api_team_choose in
 * place of the single provider's lock and check, then writes the
 * appointment as for one provider.
 *
 * Invariant: the choice is made under the row locks of every candidate,
 * taken by one statement in UUID order (store_provider_lock_team). Every
 * other write locks a single provider row, and a transaction that holds
 * one row lock waits for no other provider row, so the only multi-row
 * lockers all climb one global order: no cycle of waits, no deadlock.
 * Under the locks nothing any candidate's decision depends on can change,
 * so the slot the engine finds free is free when the row is written.
 *
 * Queries: the lock (with each one's service), one read of every
 * candidate's active entries, then the insert with the commit; whatever
 * the number of providers. A holdId adds the hold's read.
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_service.h"
#include "api/offer.h"
#include "engine/slot.h"
#include "store/store.h"

/* One candidate as the rules see it. */
struct candidate {
	struct sched s;
	struct service sv;
	struct slot_service eff;
	int nown;                 /* 1: sv is one of the provider's services; 0: `default` */
};

/*
 * The candidates' schedules and services, in the order given: 404 naming
 * the first provider that is unknown or lacks the service active.
 */
static int team_resolve(struct api_ctx *c, struct http_req *req, const struct book_req *b,
			const struct store_team_member *m, struct candidate *cand, struct err *e)
{
	int k, dflt = strcmp(b->service_id, SERVICE_DEFAULT) == 0;

	for (k = 0; k < b->nteam; k++) {
		struct candidate *x = &cand[k];
		struct service *own = NULL;
		int32_t key;

		if (!m[k].config || !api_provider_visible(req, b->team[k]))
			return ERR_NOT_FOUND(e, "Provider not found: %s.", b->team[k]);
		if (!dflt && (!m[k].service.config || !m[k].service.active))
			return ERR_NOT_FOUND(e, "Service not found: provider %s has no active service"
					     " %s.", b->team[k], b->service_id);
		if (api_sched_from_config(c, req, m[k].config, &x->s, e) ||
		    (!dflt && offer_services_decode(req->arena, &m[k].service, 1, &own, e)) ||
		    offer_find(&x->s, own, own ? 1 : 0, b->service_id, &x->sv, &key, e))
			return -1;
		offer_effective(&x->s, &x->sv, key, &x->eff);
		x->nown = own ? 1 : 0;
	}
	return 0;
}

int api_team_choose(struct api_ctx *c, struct http_req *req, struct book_req *b, struct sched *s,
		    struct service *sv, struct slot_service *eff, struct err *e)
{
	const char **ids = arena_calloc(req->arena, (size_t)b->nteam, sizeof *ids);
	struct store_team_member *m = arena_calloc(req->arena, (size_t)b->nteam, sizeof *m);
	struct candidate *cand = arena_calloc(req->arena, (size_t)b->nteam, sizeof *cand);
	struct store_busy *busy = arena_calloc(req->arena, (size_t)b->nteam, sizeof *busy);
	int64_t t = b->start_ms / 1000, lo, hi;
	int32_t d = (int32_t)(t / 86400 - (t % 86400 < 0));
	int k, best = -1, best_load = 0, held;
	struct hold h;

	for (k = 0; k < b->nteam; k++)
		ids[k] = b->team[k];
	if (store_provider_lock_team(c->store, req->arena, ids, b->nteam, b->service_id, m, e) ||
	    team_resolve(c, req, b, m, cand, e) || (held = api_hold_match(c, req, b, &h, e)) < 0)
		return -1;
	if (held) { /* the hold's provider, whatever the others' loads: a conversion */
		for (k = 0; strcmp(b->team[k], h.provider_id) != 0; k++)
			;
		memcpy(b->provider_id, h.provider_id, sizeof b->provider_id);
		return api_hold_place(c, req, b, m[k].config, &h, s, sv, eff, e) ? -1 : 1;
	}
	if (b->start_ms % 60000 != 0)
		return ERR_SLOT_TAKEN(e);
	/*
	 * Any zone's local date of t lies within d - 1 .. d + 1 (d: t's UTC
	 * date), so this one window holds what slot_bookable needs for every
	 * candidate (the window of its local date ± 1) and with it every
	 * session of the local ISO week of t (slot_week_sessions).
	 */
	slot_busy_window(d - 2, d + 2, &lo, &hi);
	if (store_appt_busy_team(c->store, req->arena, ids, b->nteam, lo, hi, req->now_ms, busy, e))
		return -1;
	for (k = 0; k < b->nteam; k++) {
		struct candidate *x = &cand[k];
		struct slot_ctx sc;
		int load;

		offer_number_entries(req->arena, &busy[k], &x->sv, x->nown);
		sc = (struct slot_ctx){ &x->s, &x->eff, (req->now_ms + 999) / 1000, busy[k].entry,
					busy[k].n, NULL };
		if (!slot_bookable(&sc, t))
			continue;
		load = slot_week_sessions(&sc, t);
		if (best < 0 || load < best_load) { /* ties keep the earliest in providerIds */
			best = k;
			best_load = load;
		}
	}
	if (best < 0)
		return ERR_SLOT_TAKEN(e);
	memcpy(b->provider_id, b->team[best], sizeof b->provider_id);
	*s = cand[best].s;
	*sv = cand[best].sv;
	*eff = cand[best].eff;
	return 0;
}
