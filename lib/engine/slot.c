/*
 * slot.c - the slot rules (see slot.h and the contract).
 *
 * Steps are elapsed minutes from the interval's start instant, so a DST jump
 * inside an interval shifts the wall-clock labels, not the spacing. A date's
 * intervals are clipped to the instants where that date begins and ends, so
 * a local date the zone skipped entirely (Pacific/Apia 2011-12-30) offers
 * nothing instead of repeating the next day's slots under its name.
 */
#include "engine/slot.h"

#include "engine/civil.h"
#include "engine/tz.h"

static int64_t local_instant(const struct tz_zone *z, int32_t date, int minute)
{
	return tz_local_to_utc(z, (int64_t)date * 86400 + (int64_t)minute * 60);
}

/*
 * True when [s - Bb, s + D + Ba) meets [a - Bb, b + Ba) for a busy [a, b),
 * i.e. a < s + D + G and b > s - G with G = Bb + Ba.
 */
static int conflicts(const struct slot_ctx *c, int64_t s, int64_t longest)
{
	const struct sched *sc = c->sched;
	int64_t gap = (int64_t)(sc->buffer_before + sc->buffer_after) * 60;
	int64_t until = s + (int64_t)sc->duration * 60 + gap;
	int64_t from = s - gap - longest;
	size_t lo = 0, hi = c->nbusy;

	/* First appointment starting at or after `from`: earlier ones end too soon. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->busy[mid].start < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->nbusy && c->busy[lo].start < until; lo++) {
		if (&c->busy[lo] == c->ignore)
			continue;
		if (c->busy[lo].end > s - gap)
			return 1;
	}
	return 0;
}

static int64_t longest_busy(const struct slot_ctx *c)
{
	int64_t m = 0;
	size_t i;

	for (i = 0; i < c->nbusy; i++)
		if (c->busy[i].end - c->busy[i].start > m)
			m = c->busy[i].end - c->busy[i].start;
	return m;
}

int slot_list_for_date(const struct slot_ctx *c, int32_t date, struct slot *out)
{
	const struct sched *sc = c->sched;
	const struct tz_zone *z = sc->zone;
	const struct sched_interval *iv;
	int64_t day_end, dur = (int64_t)sc->duration * 60;
	int64_t step = (int64_t)sc->slot_interval * 60;
	int64_t earliest = c->now + (int64_t)sc->minimum_notice * 60;
	int64_t latest = sc->horizon_days == SCHED_NO_HORIZON
				 ? INT64_MAX
				 : c->now + (int64_t)sc->horizon_days * 86400;
	int64_t longest = longest_busy(c);
	int niv, i, n = 0;

	iv = sched_intervals_for(sc, date, &niv);
	if (niv == 0)
		return 0;
	day_end = local_instant(z, date + 1, 0);
	for (i = 0; i < niv; i++) {
		int64_t us = local_instant(z, date, iv[i].start);
		int64_t ue = local_instant(z, date, iv[i].end);
		int64_t s;

		if (ue > day_end)
			ue = day_end;
		for (s = us; s + dur <= ue && n < SLOT_MAX_PER_DATE; s += step) {
			if (s < earliest || s > latest || conflicts(c, s, longest))
				continue;
			out[n].start = s;
			out[n].local_min = (int)(((tz_utc_to_local(z, s) % 86400) + 86400) % 86400 / 60);
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
				return 1;
			if (slots[mid].start < start)
				lo = mid + 1;
			else
				hi = mid - 1;
		}
	}
	return 0;
}

void slot_busy_window(int32_t from, int32_t to, int64_t *lo, int64_t *hi)
{
	/* Local days lie within 26 h of UTC midnight; a slot (at most a day long) and both buffers reach further. */
	int64_t reach = (int64_t)(2 * SCHED_MAX_BUFFER + SCHED_MAX_DURATION) * 60 + 2 * 86400;

	*lo = (int64_t)from * 86400 - reach;
	*hi = (int64_t)(to + 1) * 86400 + reach;
}
