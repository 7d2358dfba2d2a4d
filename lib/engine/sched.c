/*
 * sched.c - questions asked of a provider's schedule model (sched.h). The
 * model is built only by the contract's decoder (api/codec_sched.c), which
 * keeps the invariants this file relies on: overrides sorted by date,
 * intervals of a day sorted by start.
 */
#include "engine/sched.h"

#include "engine/civil.h"

const struct sched_interval *sched_intervals_for(const struct sched *s, int32_t date, int *n)
{
	int lo = 0, hi = s->noverrides - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		const struct sched_override *o = &s->overrides[mid];

		if (o->date == date) {
			*n = o->n;
			return o->iv;
		}
		if (o->date < date)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	*n = s->week[civil_weekday(date)].n;
	return s->week[civil_weekday(date)].iv;
}
