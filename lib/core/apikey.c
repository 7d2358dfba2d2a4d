/*
 * apikey.c - making, checking the shape of, and hashing API keys (OpenSSL).
 */
#include "core/apikey.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "core/digest.h"

#define APIKEY_PREFIX "apd_"
#define APIKEY_RAW 32

int apikey_new(char *out)
{
	unsigned char raw[APIKEY_RAW], b64[48];
	int i, n;

	if (RAND_bytes(raw, sizeof raw) != 1)
		return -1;
	n = EVP_EncodeBlock(b64, raw, sizeof raw); /* 44 characters, one '=' */
	memcpy(out, APIKEY_PREFIX, 4);
	for (i = 0; i < 43 && i < n; i++)
		out[4 + i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[APIKEY_LEN] = '\0';
	return 0;
}

int apikey_well_formed(const char *s)
{
	size_t i;

	if (strncmp(s, APIKEY_PREFIX, 4) != 0 || strlen(s) != APIKEY_LEN)
		return 0;
	for (i = 4; i < APIKEY_LEN; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

void apikey_hash(const char *key, char *out)
{
	digest_sha256_hex_str(key, out);
}

int apikey_scope_parse(const char *s)
{
	if (strcmp(s, "read") == 0)
		return APIKEY_READ;
	if (strcmp(s, "booking") == 0)
		return APIKEY_BOOKING;
	if (strcmp(s, "admin") == 0)
		return APIKEY_ADMIN;
	return APIKEY_NONE;
}

const char *apikey_scope_name(int scope)
{
	switch (scope) {
	case APIKEY_READ: return "read";
	case APIKEY_BOOKING: return "booking";
	case APIKEY_ADMIN: return "admin";
	default: return "none";
	}
}
