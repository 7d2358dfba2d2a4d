/*
 * apikey.h - API keys: "apd_" + base64url of 32 random bytes, known to the
 * database only as the SHA-256 of the whole key, and scopes ranked so that
 * a wider scope includes the narrower ones (admin > booking > read).
 */
#ifndef APPOINTD_APIKEY_H
#define APPOINTD_APIKEY_H

#define APIKEY_LEN (4 + 43)   /* "apd_" + 43 base64url characters */
#define APIKEY_HASH_LEN 64    /* hex SHA-256 */

enum apikey_scope { APIKEY_NONE = 0, APIKEY_READ, APIKEY_BOOKING, APIKEY_ADMIN };

/* A fresh key into out (APIKEY_LEN + 1 bytes); -1 without randomness. */
int apikey_new(char *out);
/* 1 if s has the shape of a key (so malformed ones never reach the database). */
int apikey_well_formed(const char *s);
/* Hex SHA-256 of key into out (APIKEY_HASH_LEN + 1 bytes). */
void apikey_hash(const char *key, char *out);
/* "read" | "booking" | "admin" -> scope; APIKEY_NONE if none of them. */
int apikey_scope_parse(const char *s);
const char *apikey_scope_name(int scope);

#endif
