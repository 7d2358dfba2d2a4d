/*
 * digest.c - SHA-256 hex through OpenSSL's EVP interface (digest.h).
 */
#include "core/digest.h"

#include <openssl/evp.h>
#include <string.h>

void digest_sha256_hex(const struct iovec *parts, int n, char out[DIGEST_SHA256_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

	for (i = 0; ok && i < (unsigned)n; i++)
		ok = EVP_DigestUpdate(ctx, parts[i].iov_base, parts[i].iov_len) == 1;
	if (!ok || EVP_DigestFinal_ex(ctx, md, &len) != 1 || len != 32)
		len = 0;
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * len] = '\0';
}

void digest_sha256_hex_str(const char *s, char out[DIGEST_SHA256_HEX_LEN + 1])
{
	struct iovec part = { (void *)s, strlen(s) };

	digest_sha256_hex(&part, 1, out);
}
