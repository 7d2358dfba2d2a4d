/*
 * fuzz_instant.c - the strict text forms of civil.c: ISO 8601 instants,
 * YYYY-MM-DD dates and HH:mm times. Dates and times have one spelling, so
 * format(parse(s)) == s; an instant is a fixed point of format -> parse; an
 * instant's date part is a valid date. The first byte is not text: it picks
 * whether 24:00 is allowed.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/civil.h"
#include "fuzz.h"

void fuzz_instant(const uint8_t *data, size_t size)
{
	char *s, back[32];
	int64_t ms = 0;
	int32_t days;
	int minutes, r, allow_24;

	if (size == 0)
		return;
	allow_24 = data[0] & 1;
	s = fuzz_string(data + 1, size - 1);
	r = civil_parse_instant(s, &ms);
	FUZZ_CHECK(r == 0 || r == -1 || r == -2);
	if (r == 0) {
		char date[11];

		fuzz_check_instant(ms);
		memcpy(date, s, 10);
		date[10] = '\0';
		FUZZ_CHECK(civil_parse_date(date, &days) == 0);
		/* The offset moves the instant by less than a day from its local date. */
		FUZZ_CHECK(ms / 1000 > ((int64_t)days - 1) * 86400 && ms / 1000 < ((int64_t)days + 2) * 86400);
	}
	if (r == -2)
		FUZZ_CHECK(!strpbrk(s + 16, "Zz+-"));
	if (civil_parse_date(s, &days) == 0) {
		civil_format_date(days, back);
		FUZZ_CHECK(strcmp(back, s) == 0);
		FUZZ_CHECK(civil_weekday(days) >= 0 && civil_weekday(days) < 7);
	}
	if (civil_parse_hhmm(s, allow_24, &minutes) == 0) {
		FUZZ_CHECK(minutes >= 0 && minutes <= (allow_24 ? 1440 : 1439));
		civil_format_hhmm(minutes, back);
		FUZZ_CHECK(strcmp(back, s) == 0);
	}
	free(s);
}

FUZZ_TARGET(instant)
