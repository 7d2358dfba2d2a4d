/*
 * utf8.h - strict UTF-8 (RFC 3629): what a body, a query value or an
 * operator's argument must be before anything stores or echoes it. No
 * overlong forms, no surrogates, nothing above U+10FFFF.
 */
#ifndef APPOINTD_UTF8_H
#define APPOINTD_UTF8_H

#include <stddef.h>

/* 1 if s[0..n) is well-formed UTF-8 without NULs, else 0. */
int utf8_valid(const char *s, size_t n);
/*
 * The number of characters of the NUL-terminated s; -1 if it is not
 * well-formed UTF-8 or holds a control character (C0, DEL or C1).
 * Example: utf8_printable_len("Zoë") == 3, utf8_printable_len("a\tb") == -1.
 */
int utf8_printable_len(const char *s);

#endif
