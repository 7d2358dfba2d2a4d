/*
 * ids.c - UUIDv4 from getrandom(2), and the UUID text form. Ids are made in
 * the worker rather than by the database so an event can name its
 * appointment before the INSERT; parsed ids are always kept lower-case, so
 * two spellings of one id compare equal.
 */
#include "core/ids.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void id_uuid4(char out[ID_UUID_LEN + 1])
{
	uint8_t b[16];
	size_t got = 0;

	while (got < sizeof b) {
		ssize_t n = getrandom(b + got, sizeof b - got, 0);

		if (n < 0)
			abort(); /* no entropy source: nothing sane to do */
		got += (size_t)n;
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, ID_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

int id_uuid_parse(const char *s, char out[ID_UUID_LEN + 1])
{
	int i;

	if (!s || strlen(s) != ID_UUID_LEN)
		return 0;
	for (i = 0; i < ID_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	if (out) {
		for (i = 0; i < ID_UUID_LEN; i++)
			out[i] = (char)tolower((unsigned char)s[i]);
		out[ID_UUID_LEN] = '\0';
	}
	return 1;
}
