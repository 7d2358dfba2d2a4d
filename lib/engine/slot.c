/*
 * slot.c - the slot rules (see slot.h and the contract).
 *
 * Steps are elapsed minutes from the interval's start instant, so a DST jump
 * inside an interval shifts the wall-clock labels, not the spacing. A date's
 * intervals are clipped to the instants where that date begins and ends, so
 * a local date the zone skipped entirely (Pacific/Apia 2011-12-30) offers
 * nothing instead of repeating the next day's slots under its name.
 *
 * Limits count sessions by the local date of their start instant (never by
 * hours since midnight), so 23- and 25-hour days need no special case. The
 * counts are made once per slot_list_for_date() call, and only when some
 * limit is set and a candidate would open a session.
 */
#include "engine/slot.h"

#include <string.h>

#include "engine/civil.h"
#include "engine/tz.h"

/* Local offsets stay well within this of UTC: a local date lies inside [d - 2 days, d + 3 days) UTC. */
#define SLOT_ZONE_REACH (2 * 86400)
/* Days of session counts one call keeps: the two ISO weeks its candidates can fall in. */
#define SLOT_COUNT_DAYS 14

/* What one slot_list_for_date() call works with, computed once. */
struct pass {
	const struct slot_ctx *c;
	int64_t dur, sb, sa;   /* the service's duration and buffers, seconds */
	int64_t longest;       /* the longest entry, seconds */
	int64_t max_xb, max_xa; /* the largest buffers of any entry, seconds */
	int limited;           /* some limit of the provider or the service is set */
	int counted;           /* all/own hold the counts from `first` */
	int32_t first;         /* a Monday: all/own count sessions starting on first + i */
	int all[SLOT_COUNT_DAYS], own[SLOT_COUNT_DAYS]; /* sessions of any service; of the service's */
};

static int64_t local_instant(const struct tz_zone *z, int32_t date, int minute)
{
	return tz_local_to_utc(z, (int64_t)date * 86400 + (int64_t)minute * 60);
}

/* Index of the first entry starting at or after t. */
static size_t first_from(const struct slot_ctx *c, int64_t t)
{
	size_t lo = 0, hi = c->nbusy;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->busy[mid].start < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The seats already taken in session (service, s), or -1 when an entry that
 * is not one of them conflicts with s: s < b + Xa + Sb and a < s + D + Sa + Xb.
 * No entry starting before s - Sb - max Xa - longest can end late enough.
 */
static int seats_taken(const struct pass *p, int64_t s)
{
	const struct slot_ctx *c = p->c;
	int64_t until = s + p->dur + p->sa + p->max_xb;
	size_t i = first_from(c, s - p->sb - p->max_xa - p->longest);
	int n = 0;

	for (; i < c->nbusy && c->busy[i].start < until; i++) {
		const struct slot_entry *x = &c->busy[i];

		if (x == c->ignore)
			continue;
		if (x->start == s && x->service == c->svc->key) {
			n++;
			continue;
		}
		if (s < x->end + x->buffer_after + p->sb && x->start < s + p->dur + p->sa + x->buffer_before)
			return -1;
	}
	return n;
}

/* True when entry i is the first counted seat of its session (equal starts are adjacent). */
static int opens_session(const struct slot_ctx *c, size_t i)
{
	const struct slot_entry *x = &c->busy[i];
	size_t j = i;

	if (x == c->ignore)
		return 0;
	while (j-- > 0 && c->busy[j].start == x->start)
		if (&c->busy[j] != c->ignore && c->busy[j].service == x->service)
			return 0;
	return 1;
}

/* Sessions starting on local dates first .. first + SLOT_COUNT_DAYS - 1: of any service, and of the service's. */
static void count_sessions(const struct slot_ctx *c, int32_t first, int *all, int *own)
{
	int64_t end = (int64_t)(first + SLOT_COUNT_DAYS) * 86400 + SLOT_ZONE_REACH;
	size_t i = first_from(c, (int64_t)first * 86400 - SLOT_ZONE_REACH);

	memset(all, 0, sizeof(int) * SLOT_COUNT_DAYS);
	memset(own, 0, sizeof(int) * SLOT_COUNT_DAYS);
	for (; i < c->nbusy && c->busy[i].start < end; i++) {
		int32_t k;

		if (!opens_session(c, i))
			continue;
		k = slot_local_date(c->sched, c->busy[i].start) - first;
		if (k < 0 || k >= SLOT_COUNT_DAYS)
			continue;
		all[k]++;
		if (c->busy[i].service == c->svc->key)
			own[k]++;
	}
}

/* May a new session open at s: is every limit of the provider and of the service below its count? */
static int limits_allow(struct pass *p, int64_t s)
{
	const struct sched *sc = p->c->sched;
	const struct slot_service *sv = p->c->svc;
	int32_t ld = slot_local_date(sc, s), monday = ld - civil_weekday(ld);
	int all[SLOT_COUNT_DAYS], own[SLOT_COUNT_DAYS];
	const int *a, *o;
	int k, week_all = 0, week_own = 0;

	if (monday >= p->first && monday + 7 <= p->first + SLOT_COUNT_DAYS) {
		if (!p->counted) {
			count_sessions(p->c, p->first, p->all, p->own);
			p->counted = 1;
		}
		a = p->all + (monday - p->first);
		o = p->own + (monday - p->first);
	} else { /* a zone whose candidates stray further than any known one */
		count_sessions(p->c, monday, all, own);
		a = all;
		o = own;
	}
	for (k = 0; k < 7; k++) {
		week_all += a[k];
		week_own += o[k];
	}
	k = ld - monday;
	return !((sc->limit_day && a[k] >= sc->limit_day) ||
		 (sc->limit_week && week_all >= sc->limit_week) ||
		 (sv->limit_day && o[k] >= sv->limit_day) ||
		 (sv->limit_week && week_own >= sv->limit_week));
}

int slot_week_sessions(const struct slot_ctx *c, int64_t t)
{
	int32_t ld = slot_local_date(c->sched, t), monday = ld - civil_weekday(ld);
	int all[SLOT_COUNT_DAYS], own[SLOT_COUNT_DAYS], k, n = 0;

	count_sessions(c, monday, all, own);
	for (k = 0; k < 7; k++)
		n += all[k];
	return n;
}

static void pass_init(struct pass *p, const struct slot_ctx *c, int32_t date)
{
	int64_t longest = 0;
	int32_t max_xb = 0, max_xa = 0;
	size_t i;

	memset(p, 0, sizeof *p);
	p->c = c;
	p->dur = (int64_t)c->svc->duration * 60;
	p->sb = (int64_t)c->svc->buffer_before * 60;
	p->sa = (int64_t)c->svc->buffer_after * 60;
	/* In locals: stores through p could alias the entries, and would be redone each turn. */
	for (i = 0; i < c->nbusy; i++) {
		const struct slot_entry *x = &c->busy[i];
		int64_t len = x->end - x->start;

		longest = len > longest ? len : longest;
		max_xb = x->buffer_before > max_xb ? x->buffer_before : max_xb;
		max_xa = x->buffer_after > max_xa ? x->buffer_after : max_xa;
	}
	p->longest = longest;
	p->max_xb = max_xb;
	p->max_xa = max_xa;
	p->limited = c->sched->limit_day || c->sched->limit_week || c->svc->limit_day ||
		     c->svc->limit_week;
	/* Candidates of `date` start on local dates date - 1 .. date + 1 at the very most. */
	p->first = (date - 1) - civil_weekday(date - 1);
}

int slot_list_for_date(const struct slot_ctx *c, int32_t date, struct slot *out)
{
	const struct sched *sc = c->sched;
	const struct slot_service *sv = c->svc;
	const struct tz_zone *z = sc->zone;
	const struct sched_interval *iv;
	int64_t day_end, dur = (int64_t)sv->duration * 60;
	int64_t step = (int64_t)sv->slot_interval * 60;
	int64_t earliest = c->now + (int64_t)sv->minimum_notice * 60;
	int64_t latest = sv->horizon_days == SCHED_NO_HORIZON
				 ? INT64_MAX
				 : c->now + (int64_t)sv->horizon_days * 86400;
	struct pass p;
	int niv, i, n = 0;

	iv = sched_intervals_for(sc, date, &niv);
	if (niv == 0)
		return 0;
	pass_init(&p, c, date);
	day_end = local_instant(z, date + 1, 0);
	for (i = 0; i < niv; i++) {
		int64_t us = local_instant(z, date, iv[i].start);
		int64_t ue = local_instant(z, date, iv[i].end);
		int64_t s;

		if (ue > day_end)
			ue = day_end;
		for (s = us; s + dur <= ue && n < SLOT_MAX_PER_DATE; s += step) {
			int taken;

			if (s < earliest || s > latest)
				continue;
			taken = seats_taken(&p, s);
			if (taken < 0 || taken >= sv->capacity)
				continue;
			if (taken == 0 && p.limited && !limits_allow(&p, s))
				continue;
			out[n].start = s;
			out[n].local_min = (int)(((tz_utc_to_local(z, s) % 86400) + 86400) % 86400 / 60);
			out[n].seats_left = sv->capacity - taken;
			n++;
		}
	}
	/* Intervals are sorted by local start, but a DST gap can reorder instants. */
	for (i = 1; i < n; i++) {
		struct slot k = out[i];
		int j = i;

		while (j > 0 && out[j - 1].start > k.start) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = k;
	}
	/* Two intervals producing one instant produce it once. */
	if (n > 1) {
		int w = 1;

		for (i = 1; i < n; i++)
			if (out[i].start != out[w - 1].start)
				out[w++] = out[i];
		n = w;
	}
	return n;
}

int32_t slot_local_date(const struct sched *s, int64_t t)
{
	int64_t local = tz_utc_to_local(s->zone, t);

	return (int32_t)(local >= 0 ? local / 86400 : -((-local + 86399) / 86400));
}

int slot_bookable(const struct slot_ctx *c, int64_t start)
{
	struct slot slots[SLOT_MAX_PER_DATE];
	int32_t d = slot_local_date(c->sched, start), date;

	/* A date's slots lie within that date's local day, give or take a DST gap at its edge. */
	for (date = d - 1; date <= d + 1; date++) {
		int n = slot_list_for_date(c, date, slots), lo = 0, hi = n - 1;

		while (lo <= hi) {
			int mid = (lo + hi) / 2;

			if (slots[mid].start == start)
				return slots[mid].seats_left;
			if (slots[mid].start < start)
				lo = mid + 1;
			else
				hi = mid - 1;
		}
	}
	return 0;
}

void slot_service_default(const struct sched *s, int32_t key, struct slot_service *out)
{
	memset(out, 0, sizeof *out);
	out->key = key;
	out->duration = s->duration;
	out->slot_interval = s->slot_interval;
	out->buffer_before = s->buffer_before;
	out->buffer_after = s->buffer_after;
	out->minimum_notice = s->minimum_notice;
	out->horizon_days = s->horizon_days;
	out->capacity = 1;
}

void slot_busy_window(int32_t from, int32_t to, int64_t *lo, int64_t *hi)
{
	/*
	 * Conflicts: a slot of a local date lies within SLOT_ZONE_REACH of that
	 * UTC day, lasts at most a day, and the service's and the entry's
	 * buffers reach a day each. Limits: every session starting in the local
	 * ISO weeks of from - 1 .. to + 1, where those dates' candidates start.
	 */
	int64_t reach = (int64_t)(2 * SCHED_MAX_BUFFER + SCHED_MAX_DURATION) * 60 + SLOT_ZONE_REACH;
	int64_t week_lo = (int64_t)((from - 1) - civil_weekday(from - 1)) * 86400 - SLOT_ZONE_REACH;
	int64_t week_hi = (int64_t)((to + 1) - civil_weekday(to + 1) + 7) * 86400 + SLOT_ZONE_REACH;

	*lo = (int64_t)from * 86400 - reach;
	*hi = (int64_t)(to + 1) * 86400 + reach;
	if (week_lo < *lo)
		*lo = week_lo;
	if (week_hi > *hi)
		*hi = week_hi;
}
