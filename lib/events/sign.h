/*
 * sign.h - Standard Webhooks secrets and signatures (OpenSSL).
 *
 * A secret is "whsec_" + base64 of 32 random bytes; the key is the decoded
 * part after the prefix. The signature of one attempt is
 * "v1," + base64(HMAC-SHA256(key, "<webhook-id>.<timestamp>.<body>")).
 */
#ifndef APPOINTD_SIGN_H
#define APPOINTD_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define SIGN_SECRET_BYTES 32
#define SIGN_SECRET_LEN (6 + 44)  /* "whsec_" + base64 of 32 bytes */
#define SIGN_SIGNATURE_LEN (3 + 44) /* "v1," + base64 of a SHA-256 digest */

/* A fresh secret into out (at least SIGN_SECRET_LEN + 1 bytes); -1 if no randomness. */
int sign_secret_new(char *out);
/*
 * The webhook-signature header value into out (at least SIGN_SIGNATURE_LEN + 1
 * bytes). -1 when the secret is not "whsec_" + base64.
 */
int sign_signature(const char *secret, const char *msg_id, int64_t timestamp, const char *body,
		   size_t body_len, char *out);

#endif
