/*
 * civil.c - calendar arithmetic and strict parsing of the contract's text
 * forms. Parsers accept exactly one spelling (no leading '+', no spaces, no
 * 24:30, no 2027-02-30), because a lenient parser here turns a client's typo
 * into a booking at the wrong time.
 */
#include "engine/civil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const weekday_names[7] = {
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
};

int32_t civil_days_from_ymd(int y, int m, int d)
{
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void civil_ymd_from_days(int32_t z, int *y, int *m, int *d)
{
	int era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

int civil_weekday(int32_t days)
{
	/* 1970-01-01 was a Thursday (3 in Monday-based numbering). */
	int w = (int)((days + 3) % 7);

	return w < 0 ? w + 7 : w;
}

int civil_is_leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int civil_days_in_month(int y, int m)
{
	static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 ? 28 + civil_is_leap_year(y) : len[m - 1];
}

/* Reads exactly n ASCII digits. */
static int digits(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_ymd(const char *s, int *y, int *m, int *d)
{
	if (digits(s, 4, y) || s[4] != '-' || digits(s + 5, 2, m) || s[7] != '-' ||
	    digits(s + 8, 2, d))
		return -1;
	if (*y < CIVIL_MIN_YEAR || *y > CIVIL_MAX_YEAR || *m < 1 || *m > 12 || *d < 1 ||
	    *d > civil_days_in_month(*y, *m))
		return -1;
	return 0;
}

int civil_parse_date(const char *s, int32_t *days)
{
	int y, m, d;

	if (!s || strlen(s) != 10 || parse_ymd(s, &y, &m, &d))
		return -1;
	*days = civil_days_from_ymd(y, m, d);
	return 0;
}

/* Writes n decimal digits of v (v >= 0), most significant first. */
static char *put_digits(char *p, int v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

void civil_format_date(int32_t days, char out[11])
{
	int y, m, d;
	char *p = out;

	civil_ymd_from_days(days, &y, &m, &d);
	p = put_digits(p, y < 0 ? 0 : y % 10000, 4);
	*p++ = '-';
	p = put_digits(p, m, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p = '\0';
}

int civil_parse_hhmm(const char *s, int allow_24, int *minutes)
{
	int h, m;

	if (!s || strlen(s) != 5 || digits(s, 2, &h) || s[2] != ':' || digits(s + 3, 2, &m))
		return -1;
	if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)))
		return -1;
	*minutes = h * 60 + m;
	return 0;
}

void civil_format_hhmm(int minutes, char out[6])
{
	char *p;

	if (minutes < 0)
		minutes = 0;
	p = put_digits(out, (minutes / 60) % 100, 2);
	*p++ = ':';
	p = put_digits(p, minutes % 60, 2);
	*p = '\0';
}

int civil_parse_instant(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec = 0, frac = 0, oh = 0, om = 0, sign = 0, finer = 0;
	const char *p;

	if (!s || strlen(s) < 16 || strlen(s) > 40 || parse_ymd(s, &y, &mo, &d))
		return -1;
	if ((s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) || s[13] != ':' ||
	    digits(s + 14, 2, &mi))
		return -1;
	p = s + 16;
	if (*p == ':') {
		if (digits(p + 1, 2, &sec))
			return -1;
		p += 3;
		if (*p == '.' || *p == ',') {
			int n = 0;

			p++;
			while (isdigit((unsigned char)*p)) {
				if (n < 3)
					frac = frac * 10 + (*p - '0');
				else if (*p != '0')
					finer = 1;
				n++;
				p++;
			}
			if (n == 0 || n > 9)
				return -1;
			while (n < 3) {
				frac *= 10;
				n++;
			}
			/* Round up below the millisecond: exact for slot starts (never
			 * equal) and for [from, to) filters over whole-millisecond data. */
			frac += finer;
		}
	}
	if (h > 23 || mi > 59 || sec > 59)
		return -1;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (digits(p + 1, 2, &oh))
			return -1;
		if (p[3] == ':') {
			if (digits(p + 4, 2, &om))
				return -1;
			p += 6;
		} else {
			if (digits(p + 3, 2, &om))
				return -1;
			p += 5;
		}
		if (oh > 23 || om > 59)
			return -1;
	} else if (*p == '\0') {
		return -2;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	*ms = ((int64_t)civil_days_from_ymd(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	       (int64_t)sign * (oh * 3600 + om * 60)) * 1000 + frac;
	return 0;
}

void civil_format_instant(int64_t ms, char out[32])
{
	int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int millis = (int)(ms - secs * 1000);
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int sod = (int)(secs - days * 86400);

	char *p;

	civil_format_date((int32_t)days, out);
	p = out + 10;
	*p++ = 'T';
	p = put_digits(p, sod / 3600, 2);
	*p++ = ':';
	p = put_digits(p, sod / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, sod % 60, 2);
	*p++ = '.';
	p = put_digits(p, millis, 3);
	*p++ = 'Z';
	*p = '\0';
}

const char *civil_weekday_name(int wd)
{
	return wd >= 0 && wd < 7 ? weekday_names[wd] : "";
}

int civil_weekday_from_name(const char *s)
{
	int i;

	for (i = 0; i < 7; i++)
		if (strcasecmp(s, weekday_names[i]) == 0)
			return i;
	return -1;
}
