/*
 * sign.c - webhook secrets and HMAC-SHA256 signatures, exactly as the
 * Standard Webhooks specification (and our contract) define them.
 */
#include "events/sign.h"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#define SIGN_PREFIX "whsec_"
#define SIGN_MAX_KEY 256

int sign_secret_new(char *out)
{
	unsigned char raw[SIGN_SECRET_BYTES];

	if (RAND_bytes(raw, sizeof raw) != 1)
		return -1;
	memcpy(out, SIGN_PREFIX, 6);
	EVP_EncodeBlock((unsigned char *)out + 6, raw, sizeof raw);
	return 0;
}

/* Decodes standard base64 (with padding); returns the length or -1. */
static int sign_b64_decode(const char *in, unsigned char *out, size_t cap)
{
	size_t len = strlen(in);
	int n, pad = 0;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > cap)
		return -1;
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0)
		return -1;
	/* EVP_DecodeBlock counts the bytes the padding stands for. */
	if (in[len - 1] == '=')
		pad++;
	if (in[len - 2] == '=')
		pad++;
	return n - pad;
}

int sign_signature(const char *secret, const char *msg_id, int64_t timestamp, const char *body,
		   size_t body_len, char *out)
{
	unsigned char key[SIGN_MAX_KEY], mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	char head[160], digest[] = "SHA256";
	int klen, hlen, ok;
	OSSL_PARAM params[2];
	EVP_MAC *hmac;
	EVP_MAC_CTX *ctx = NULL;

	if (strncmp(secret, SIGN_PREFIX, 6) != 0)
		return -1;
	klen = sign_b64_decode(secret + 6, key, sizeof key);
	if (klen <= 0)
		return -1;
	hlen = snprintf(head, sizeof head, "%s.%lld.", msg_id, (long long)timestamp);
	if (hlen < 0 || (size_t)hlen >= sizeof head)
		return -1;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (hmac)
		ctx = EVP_MAC_CTX_new(hmac);
	ok = ctx && EVP_MAC_init(ctx, key, (size_t)klen, params) == 1 &&
	     EVP_MAC_update(ctx, (const unsigned char *)head, (size_t)hlen) == 1 &&
	     EVP_MAC_update(ctx, (const unsigned char *)body, body_len) == 1 &&
	     EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) == 1;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	OPENSSL_cleanse(key, sizeof key);
	if (!ok || mac_len != 32)
		return -1;
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)mac_len);
	return 0;
}
