/*
 * digest.h - SHA-256 as lower-case hex, the one spelling every hash the
 * service stores or sends uses (API key hashes, request fingerprints of
 * Idempotency-Key, calendar ETags).
 */
#ifndef APPOINTD_DIGEST_H
#define APPOINTD_DIGEST_H

#include <stddef.h>
#include <sys/uio.h>

#define DIGEST_SHA256_HEX_LEN 64

/*
 * Hex SHA-256 of the n parts, hashed one after another as one message, into
 * out (DIGEST_SHA256_HEX_LEN + 1 bytes, NUL-terminated). On a failure of
 * the crypto library out is "" (which matches no stored hash).
 *
 *   struct iovec part[2] = { { "GET", 4 }, { body, len } };
 *   digest_sha256_hex(part, 2, hex);
 */
void digest_sha256_hex(const struct iovec *parts, int n, char out[DIGEST_SHA256_HEX_LEN + 1]);
/* The same of one NUL-terminated string. */
void digest_sha256_hex_str(const char *s, char out[DIGEST_SHA256_HEX_LEN + 1]);

#endif
