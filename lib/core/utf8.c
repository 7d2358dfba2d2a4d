/*
 * utf8.c - the UTF-8 checks of utf8.h. One decoder of a sequence serves
 * both checks, so "valid" and "printable" can never disagree on what a
 * well-formed character is.
 */
#include "core/utf8.h"

#include <string.h>

/*
 * Decodes one UTF-8 sequence at p (at most `left` bytes); returns its length
 * and the code point, or 0 if malformed.
 */
static unsigned utf8_next(const unsigned char *p, size_t left, unsigned *out)
{
	unsigned c = *p, cp, len, i;

	if (c < 0x80) {
		*out = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		len = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > left)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	*out = cp;
	return len;
}

int utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned cp, len = utf8_next(p + i, n - i, &cp);

		if (!len || cp == 0)
			return 0;
		i += len;
	}
	return 1;
}

int utf8_printable_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);
	int n = 0;

	while (*p) {
		unsigned cp, len = utf8_next(p, left, &cp);

		/* Malformed, C0 and C1 controls, DEL. */
		if (!len || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
			return -1;
		p += len;
		left -= len;
		n++;
	}
	return n;
}
