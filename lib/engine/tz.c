/*
 * tz.c - IANA time zones read from the system tz database (TZif, RFC 8536)
 * into immutable transition tables.
 *
 * Why: libical's zone handling is wrong for DST gaps and overlaps (and for
 * some zones after 2037), while the slot engine needs exact RFC 5545
 * conversions for every zone a provider may name. Reading the TZif files
 * ourselves keeps the answer identical to the system's (glibc's) and makes a
 * lookup a binary search with no allocation.
 *
 * Invariant: a loaded zone is one sorted array of UTC transition instants
 * t[0] < t[1] < ... < t[n-1] and an array of n + 1 UT offsets, where off[0]
 * is in force before t[0] and off[i + 1] from t[i] on; consecutive offsets
 * always differ (changes of abbreviation or isdst alone are dropped). The
 * explicit transitions of the file are extended by its POSIX-TZ footer rule
 * through the end of year 2100 at load time; after the last transition the
 * last offset holds forever. Nothing is modified after load, so a zone (and
 * a warmed cache) can be shared read-only by any number of readers.
 */
#include "engine/tz.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/civil.h"

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_NAME_MAX 64
#define TZ_FILE_MAX (1 << 20)	/* largest TZif file we read, bytes */
#define TZ_TIMECNT_MAX 50000	/* real files have < 2000 transitions */
#define TZ_CHARCNT_MAX 65536
#define TZ_LEAPCNT_MAX 10000
#define TZ_LAST_YEAR 2100	/* footer rules are expanded through this year */
#define TZ_UTOFF_MIN (-89999)	/* RFC 8536 bounds on utoff */
#define TZ_UTOFF_MAX 93599
#define TZ_RULE_HOURS_MAX 167	/* RFC 8536 extension of POSIX rule times */
#define TZ_WALK_DEPTH 4

struct tz_zone {
	const char *name;
	const int64_t *t;	/* n transitions, ascending */
	const int32_t *off;	/* n + 1 offsets */
	size_t n;
};

/* ---------------------------------------------------------------- calendar */

/* Dates are civil.c's; only the instants of a TZif file need 64-bit days. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/*
 * The year of UTC instant t, clamped to lo..hi: a TZif instant may lie far
 * outside civil.c's 32-bit days (the "big bang" transition at -2^59 s).
 */
static int year_of_instant(int64_t t, int lo, int hi)
{
	int64_t days = floor_div(t, 86400);
	int y, m, d;

	if (days < civil_days_from_ymd(lo, 1, 1))
		return lo;
	if (days >= civil_days_from_ymd(hi, 1, 1))
		return hi;
	civil_ymd_from_days((int32_t)days, &y, &m, &d);
	return y;
}

/* ---------------------------------------------------------------- POSIX TZ footer */

enum rule_kind { RULE_JULIAN1, RULE_ZERO, RULE_MONTH };

struct tz_rule {
	enum rule_kind kind;
	int day;		/* Jn: 1..365, n: 0..365, M: weekday 0..6 */
	int month, week;	/* M only */
	int32_t secs;		/* local time of day of the change, may be < 0 or > 24h */
};

struct tz_posix {
	int32_t std_off;	/* UT offset, east positive */
	int has_dst;
	int32_t dst_off;
	struct tz_rule start, end;
};

static const char *posix_name(const char *p)
{
	const char *s = p;

	if (*p == '<') {
		for (p++, s = p; *p && *p != '>'; p++)
			if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			      (*p >= '0' && *p <= '9') || *p == '+' || *p == '-'))
				return NULL;
		if (*p != '>' || p - s < 3)
			return NULL;
		return p + 1;
	}
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	return p - s >= 3 ? p : NULL;
}

static const char *posix_num(const char *p, int lo, int hi, int *out)
{
	int v = 0, digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 4) {
		v = v * 10 + (*p++ - '0');
		digits++;
	}
	if (!digits || v < lo || v > hi || (*p >= '0' && *p <= '9'))
		return NULL;
	*out = v;
	return p;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h, as seconds. */
static const char *posix_time(const char *p, int max_h, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!(p = posix_num(p, 0, max_h, &h)))
		return NULL;
	if (*p == ':') {
		if (!(p = posix_num(p + 1, 0, 59, &m)))
			return NULL;
		if (*p == ':' && !(p = posix_num(p + 1, 0, 59, &s)))
			return NULL;
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *posix_rule(const char *p, struct tz_rule *r)
{
	if (*p == 'J') {
		r->kind = RULE_JULIAN1;
		p = posix_num(p + 1, 1, 365, &r->day);
	} else if (*p == 'M') {
		r->kind = RULE_MONTH;
		if (!(p = posix_num(p + 1, 1, 12, &r->month)) || *p != '.' ||
		    !(p = posix_num(p + 1, 1, 5, &r->week)) || *p != '.')
			return NULL;
		p = posix_num(p + 1, 0, 6, &r->day);
	} else {
		r->kind = RULE_ZERO;
		p = posix_num(p, 0, 365, &r->day);
	}
	if (!p)
		return NULL;
	r->secs = 2 * 3600;
	if (*p == '/')
		p = posix_time(p + 1, TZ_RULE_HOURS_MAX, &r->secs);
	return p;
}

static int utoff_ok(int64_t off)
{
	return off >= TZ_UTOFF_MIN && off <= TZ_UTOFF_MAX;
}

/* Parses a POSIX TZ string (RFC 8536 section 3.3); 0 on success. */
static int posix_parse(const char *p, struct tz_posix *tz)
{
	int32_t v;

	memset(tz, 0, sizeof(*tz));
	if (!(p = posix_name(p)) || !(p = posix_time(p, 24, &v)))
		return -1;
	tz->std_off = -v;	/* POSIX counts west of Greenwich as positive */
	if (!*p)
		return utoff_ok(tz->std_off) ? 0 : -1;
	if (!(p = posix_name(p)))
		return -1;
	tz->has_dst = 1;
	tz->dst_off = tz->std_off + 3600;
	if (*p && *p != ',') {
		if (!(p = posix_time(p, 24, &v)))
			return -1;
		tz->dst_off = -v;
	}
	if (*p == ',') {
		if (!(p = posix_rule(p + 1, &tz->start)) || *p != ',' ||
		    !(p = posix_rule(p + 1, &tz->end)))
			return -1;
	} else {
		/* POSIX leaves the default rule to the implementation; glibc's is the US one. */
		tz->start = (struct tz_rule){ RULE_MONTH, 0, 3, 2, 7200 };
		tz->end = (struct tz_rule){ RULE_MONTH, 0, 11, 1, 7200 };
	}
	if (*p || !utoff_ok(tz->std_off) || !utoff_ok(tz->dst_off))
		return -1;
	return 0;
}

/* Local seconds (on the clock in force before the change) of rule r in year y. */
static int64_t rule_local(const struct tz_rule *r, int y)
{
	int64_t days = civil_days_from_ymd(y, 1, 1);

	switch (r->kind) {
	case RULE_JULIAN1:
		days += r->day - 1 + (civil_is_leap_year(y) && r->day >= 60);
		break;
	case RULE_ZERO:
		days += r->day;
		break;
	case RULE_MONTH: {
		int32_t first = civil_days_from_ymd(y, r->month, 1);
		int wd_first = (civil_weekday(first) + 1) % 7;	/* POSIX: 0 = Sunday */
		int mday = 1 + (r->day - wd_first + 7) % 7 + 7 * (r->week - 1);

		while (mday > civil_days_in_month(y, r->month))
			mday -= 7;
		days = first + mday - 1;
		break;
	}
	}
	return days * 86400 + r->secs;
}

/* ---------------------------------------------------------------- table building */

struct tz_build {
	int64_t *t;
	int32_t *off;	/* off[i] in force from t[i]; off0 before t[0] */
	size_t n, cap;
	int32_t off0;
	int has_last;
	int64_t last;	/* last explicit transition, even one that kept the offset */
};

static int build_push(struct tz_build *b, int64_t t, int32_t off)
{
	int32_t prev = b->n ? b->off[b->n - 1] : b->off0;

	if (b->has_last && t <= b->last)
		return -1;
	b->has_last = 1;
	b->last = t;
	if (off == prev)
		return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		int64_t *nt = realloc(b->t, cap * sizeof(*nt));

		if (!nt)
			return -1;
		b->t = nt;
		int32_t *no = realloc(b->off, cap * sizeof(*no));

		if (!no)
			return -1;
		b->off = no;
		b->cap = cap;
	}
	b->t[b->n] = t;
	b->off[b->n] = off;
	b->n++;
	return 0;
}

struct tz_event {
	int64_t t;
	int32_t off;
	int seq;
};

static int event_cmp(const void *a, const void *b)
{
	const struct tz_event *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Appends the footer's DST changes after the last explicit transition, for
 * every year through TZ_LAST_YEAR. Changes that coincide (a rule that keeps
 * DST all year ends one year exactly when it restarts the next) collapse to
 * the later one in rule order, as RFC 8536 section 3.3.1 intends.
 */
static int build_extend(struct tz_build *b, const struct tz_posix *p)
{
	/*
	 * The footer governs from the file's last transition on, which may be one
	 * that changed only isdst (slim Europe/Lisbon ends with CET -> WEST in
	 * 1996), so it is not necessarily the last entry of the table.
	 */
	int64_t after = b->has_last ? b->last : INT64_MIN;
	/* The year before the last transition's; beyond 1900..TZ_LAST_YEAR + 1 the clamp below decides. */
	int y0 = b->has_last ? year_of_instant(after, 1899, TZ_LAST_YEAR + 2) - 1 : 1900;
	struct tz_event *ev;
	size_t k = 0, i;
	int rc = 0;

	if (!p->has_dst) {
		/* A fixed footer should repeat the last type; if not, it wins from here on. */
		if (b->has_last)
			return after == INT64_MAX ? 0 : build_push(b, after + 1, p->std_off);
		b->off0 = p->std_off;
		return 0;
	}
	if (y0 < 1900)
		y0 = 1900;
	if (y0 > TZ_LAST_YEAR)
		return 0;
	ev = malloc((size_t)(TZ_LAST_YEAR - y0 + 1) * 2 * sizeof(*ev));
	if (!ev)
		return -1;
	for (int y = y0; y <= TZ_LAST_YEAR; y++) {
		ev[k] = (struct tz_event){ rule_local(&p->start, y) - p->std_off, p->dst_off, (int)k };
		k++;
		ev[k] = (struct tz_event){ rule_local(&p->end, y) - p->dst_off, p->std_off, (int)k };
		k++;
	}
	qsort(ev, k, sizeof(*ev), event_cmp);
	for (i = 0; i < k && rc == 0; i++) {
		if (ev[i].t <= after)
			continue;
		if (i + 1 < k && ev[i + 1].t == ev[i].t)
			continue;
		rc = build_push(b, ev[i].t, ev[i].off);
	}
	free(ev);
	return rc;
}

static struct tz_zone *zone_from_build(const char *name, const struct tz_build *b)
{
	size_t len = strlen(name) + 1;
	size_t sz = sizeof(struct tz_zone) + b->n * sizeof(int64_t) +
		    (b->n + 1) * sizeof(int32_t) + len;
	struct tz_zone *z = malloc(sz);
	int64_t *t;
	int32_t *off;
	char *nm;

	if (!z)
		return NULL;
	t = (int64_t *)(z + 1);
	off = (int32_t *)(t + b->n);
	nm = (char *)(off + b->n + 1);
	if (b->n)
		memcpy(t, b->t, b->n * sizeof(*t));
	off[0] = b->off0;
	if (b->n)
		memcpy(off + 1, b->off, b->n * sizeof(*off));
	memcpy(nm, name, len);
	z->name = nm;
	z->t = t;
	z->off = off;
	z->n = b->n;
	return z;
}

/* ---------------------------------------------------------------- TZif */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static int tzif_header(const unsigned char *p, size_t avail, struct tzif_counts *c, int *version)
{
	if (avail < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	*version = p[4] ? p[4] - '0' : 1;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	if (c->type < 1 || c->type > 256 || c->time > TZ_TIMECNT_MAX ||
	    c->chars > TZ_CHARCNT_MAX || c->leap > TZ_LEAPCNT_MAX ||
	    (c->isut && c->isut != c->type) || (c->isstd && c->isstd != c->type))
		return -1;
	return 0;
}

static size_t tzif_block_size(const struct tzif_counts *c, size_t tsize)
{
	return c->time * tsize + c->time + c->type * 6 + c->chars +
	       c->leap * (tsize + 4) + c->isstd + c->isut;
}

/* Builds the table from a TZif image; 0 on success. */
static int tzif_parse(const unsigned char *buf, size_t len, struct tz_build *b)
{
	struct tzif_counts c;
	const unsigned char *p = buf, *times, *idx, *types;
	size_t tsize = 4, size;
	int version;
	struct tz_posix footer;
	int has_footer = 0;

	if (tzif_header(p, len, &c, &version) != 0)
		return -1;
	size = tzif_block_size(&c, 4);
	if (len - 44 < size)
		return -1;
	if (version >= 2) {
		/* Skip the 32-bit block: the 64-bit one covers all of time. */
		p += 44 + size;
		if (tzif_header(p, len - (size_t)(p - buf), &c, &version) != 0)
			return -1;
		tsize = 8;
		size = tzif_block_size(&c, 8);
		if ((size_t)(buf + len - p) - 44 < size)
			return -1;
	}
	/* Leap-second ("right/") data counts TAI-like seconds; we only do POSIX time. */
	if (c.leap)
		return -1;
	times = p + 44;
	idx = times + c.time * tsize;
	types = idx + c.time;
	for (uint32_t i = 0; i < c.type; i++)
		if (!utoff_ok((int32_t)be32(types + 6 * i)) || types[6 * i + 4] > 1)
			return -1;
	/* RFC 8536: before the first transition, time type 0 applies. */
	b->off0 = (int32_t)be32(types);
	for (uint32_t i = 0; i < c.time; i++) {
		int64_t t = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);

		if (idx[i] >= c.type || (i && t <= (tsize == 8 ? be64(times + 8 * (i - 1)) :
							   (int32_t)be32(times + 4 * (i - 1)))))
			return -1;
		if (build_push(b, t, (int32_t)be32(types + 6 * idx[i])) != 0)
			return -1;
	}
	if (version >= 2) {
		const unsigned char *f = p + 44 + size, *end = buf + len, *nl;
		char s[256];

		if (f < end && *f == '\n' && (nl = memchr(f + 1, '\n', (size_t)(end - f - 1))) &&
		    nl - f - 1 < (ptrdiff_t)sizeof(s) && nl - f - 1 > 0) {
			memcpy(s, f + 1, (size_t)(nl - f - 1));
			s[nl - f - 1] = '\0';
			has_footer = posix_parse(s, &footer) == 0;
		}
	}
	if (has_footer && build_extend(b, &footer) != 0)
		return -1;
	return 0;
}

static int read_file(const char *path, unsigned char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	unsigned char *buf;
	size_t got = 0;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 44 ||
	    st.st_size > TZ_FILE_MAX || !(buf = malloc((size_t)st.st_size))) {
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got < 44) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = got;
	return 0;
}

/* ---------------------------------------------------------------- names */

static const char *dir_or_default(const char *dir)
{
	return dir && *dir ? dir : TZ_DEFAULT_DIR;
}

static int name_syntax_ok(const char *name)
{
	size_t len = strlen(name), comp = 0;
	int slashes = 0;

	if (strcmp(name, "UTC") == 0)
		return 1;
	if (len == 0 || len > TZ_NAME_MAX || name[0] == '/' || name[len - 1] == '/')
		return 0;
	for (const char *p = name; *p; p++) {
		char ch = *p;

		if (ch == '/') {
			if (comp == 0)
				return 0;
			slashes++;
			comp = 0;
		} else if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			   (ch >= '0' && ch <= '9') || ch == '_' || ch == '+' || ch == '-') {
			comp++;
		} else {
			return 0;
		}
	}
	if (!slashes)
		return 0;
	if (strncmp(name, "posix/", 6) == 0 || strncmp(name, "right/", 6) == 0)
		return 0;
	return 1;
}

static int path_join(char *out, size_t cap, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);

	if (dl + 1 + nl + 1 > cap)
		return -1;
	memcpy(out, dir, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, name, nl + 1);
	return 0;
}

static int file_is_tzif(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char magic[4];
	int ok;

	if (fd < 0)
		return 0;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	     read(fd, magic, 4) == 4 && memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok;
}

int tz_name_valid(const char *zoneinfo_dir, const char *name)
{
	char path[4096];

	if (!name || !name_syntax_ok(name))
		return 0;
	if (strcmp(name, "UTC") == 0)
		return 1;	/* always known, with or without a file */
	if (path_join(path, sizeof(path), dir_or_default(zoneinfo_dir), name) != 0)
		return 0;
	return file_is_tzif(path);
}

/* ---------------------------------------------------------------- zones */

struct tz_zone *tz_zone_load(const char *zoneinfo_dir, const char *name)
{
	char path[4096];
	unsigned char *buf = NULL;
	size_t len = 0;
	struct tz_build b = { 0 };
	struct tz_zone *z = NULL;

	if (!name || !name_syntax_ok(name))
		return NULL;
	if (path_join(path, sizeof(path), dir_or_default(zoneinfo_dir), name) != 0)
		return NULL;
	if (read_file(path, &buf, &len) != 0) {
		if (strcmp(name, "UTC") == 0)
			return zone_from_build(name, &b);	/* no file: plain UTC */
		return NULL;
	}
	if (tzif_parse(buf, len, &b) == 0)
		z = zone_from_build(name, &b);
	free(buf);
	free(b.t);
	free(b.off);
	return z;
}

void tz_zone_free(struct tz_zone *z)
{
	free(z);
}

const char *tz_zone_name(const struct tz_zone *z)
{
	return z->name;
}

/* Number of transitions at or before t: the index of the offset in force. */
static size_t upper_bound(const int64_t *a, size_t n, int64_t t)
{
	size_t lo = 0;

	while (n > 0) {
		size_t half = n / 2;

		if (a[lo + half] <= t) {
			lo += half + 1;
			n -= half + 1;
		} else {
			n = half;
		}
	}
	return lo;
}

int32_t tz_offset_at(const struct tz_zone *z, int64_t t)
{
	return z->off[upper_bound(z->t, z->n, t)];
}

int64_t tz_utc_to_local(const struct tz_zone *z, int64_t t)
{
	return t + tz_offset_at(z, t);
}

/*
 * Period i is [t[i-1], t[i]) with offset off[i]. Every period whose UTC range
 * can hold local - off (offsets are within RFC 8536's bounds) is tried in
 * order; the first that holds it gives the earliest occurrence. When none
 * does, the local time is in a gap, and the last period whose local end it
 * has passed is the one in force before the gap.
 */
int64_t tz_local_to_utc(const struct tz_zone *z, int64_t local)
{
	size_t i = upper_bound(z->t, z->n, local - TZ_UTOFF_MAX);
	int64_t before = local - z->off[i];

	for (; i <= z->n; i++) {
		int64_t u = local - z->off[i];

		if (i > 0 && z->t[i - 1] > local - TZ_UTOFF_MIN)
			break;	/* this and later periods start too late */
		if (i > 0 && u < z->t[i - 1])
			continue;
		if (i == z->n || u < z->t[i])
			return u;
		before = u;
	}
	return before;
}

/* ---------------------------------------------------------------- cache */

struct tz_cache_slot {
	uint64_t hash;
	struct tz_zone *zone;	/* NULL: empty */
};

struct tz_cache {
	char *dir;
	struct tz_cache_slot *slots;
	size_t cap, count;	/* cap is a power of two, count < cap / 2 */
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

struct tz_cache *tz_cache_new(const char *zoneinfo_dir)
{
	struct tz_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->dir = strdup(dir_or_default(zoneinfo_dir));
	c->cap = 1024;
	c->slots = calloc(c->cap, sizeof(*c->slots));
	if (!c->dir || !c->slots) {
		free(c->dir);
		free(c->slots);
		free(c);
		return NULL;
	}
	return c;
}

static struct tz_cache_slot *cache_find(struct tz_cache_slot *slots, size_t cap,
					uint64_t h, const char *name)
{
	size_t i = (size_t)h & (cap - 1);

	while (slots[i].zone &&
	       !(slots[i].hash == h && strcmp(slots[i].zone->name, name) == 0))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int cache_grow(struct tz_cache *c)
{
	size_t cap = c->cap * 2;
	struct tz_cache_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i].zone)
			*cache_find(slots, cap, c->slots[i].hash, c->slots[i].zone->name) = c->slots[i];
	free(c->slots);
	c->slots = slots;
	c->cap = cap;
	return 0;
}

const struct tz_zone *tz_cache_get(struct tz_cache *c, const char *name)
{
	uint64_t h;
	struct tz_cache_slot *s;
	struct tz_zone *z;

	if (!name)
		return NULL;
	h = name_hash(name);
	s = cache_find(c->slots, c->cap, h, name);
	if (s->zone)
		return s->zone;
	if (!tz_name_valid(c->dir, name) || !(z = tz_zone_load(c->dir, name)))
		return NULL;
	if ((c->count + 1) * 2 > c->cap) {
		if (cache_grow(c) != 0) {
			tz_zone_free(z);
			return NULL;
		}
		s = cache_find(c->slots, c->cap, h, name);
	}
	s->hash = h;
	s->zone = z;
	c->count++;
	return z;
}

/* Loads every zone file under rel (relative to the cache's dir). */
static void cache_walk(struct tz_cache *c, const char *rel, int depth)
{
	char path[4096], name[TZ_NAME_MAX + 2];
	DIR *d;
	struct dirent *e;

	if (depth > TZ_WALK_DEPTH)
		return;
	if (*rel ? path_join(path, sizeof(path), c->dir, rel) != 0 :
		   strlen(c->dir) + 1 > sizeof(path))
		return;
	if (!*rel)
		strcpy(path, c->dir);
	if (!(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		struct stat st, lst;
		char full[4096];
		size_t rl = strlen(rel), el = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		if (!*rel && (strcmp(e->d_name, "posix") == 0 || strcmp(e->d_name, "right") == 0))
			continue;
		if (rl + 1 + el > TZ_NAME_MAX)
			continue;
		if (*rel) {
			memcpy(name, rel, rl);
			name[rl] = '/';
			memcpy(name + rl + 1, e->d_name, el + 1);
		} else {
			memcpy(name, e->d_name, el + 1);
		}
		if (path_join(full, sizeof(full), c->dir, name) != 0 ||
		    lstat(full, &lst) != 0 || stat(full, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (!S_ISLNK(lst.st_mode))	/* symlinked trees would only repeat */
				cache_walk(c, name, depth + 1);
		} else if (S_ISREG(st.st_mode) && name_syntax_ok(name)) {
			tz_cache_get(c, name);	/* files tz_name_valid rejects stay out */
		}
	}
	closedir(d);
}

int tz_cache_warm_all(struct tz_cache *c)
{
	cache_walk(c, "", 0);
	tz_cache_get(c, "UTC");	/* valid even without a file */
	return (int)c->count;
}

void tz_cache_free(struct tz_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->cap; i++)
		tz_zone_free(c->slots[i].zone);
	free(c->slots);
	free(c->dir);
	free(c);
}
