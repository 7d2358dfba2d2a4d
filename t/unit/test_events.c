/*
 * test_events.c - webhook signing (Standard Webhooks' published vector and
 * an independent recomputation through OpenSSL's one-shot HMAC), secrets,
 * and the address classes webhook_allow_private = 0 refuses.
 */
#include <config.h>

#include "events/addr.h"
#include "events/sign.h"
#include "testmain.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static void test_standard_webhooks_vector(void)
{
	char sig[SIGN_SIGNATURE_LEN + 1];
	const char *body = "{\"test\": 2432232314}";

	CU_ASSERT_EQUAL(sign_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
				       "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
				       strlen(body), sig), 0);
	CU_ASSERT_STRING_EQUAL(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* The timestamp and the body are both signed. */
	CU_ASSERT_EQUAL(sign_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
				       "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body,
				       strlen(body), sig), 0);
	CU_ASSERT_STRING_NOT_EQUAL(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

/* A fresh secret signs the way HMAC(key = its decoded bytes) says, bodies with NULs too. */
static void test_secret_round_trip(void)
{
	char secret[SIGN_SECRET_LEN + 1], other[SIGN_SECRET_LEN + 1];
	char sig[SIGN_SIGNATURE_LEN + 1], want[SIGN_SIGNATURE_LEN + 1], msg[128];
	unsigned char key[48], mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	const char body[] = "{\"a\":\"\0x\"}";
	int klen, mlen, i;

	for (i = 0; i < 50; i++) {
		CU_ASSERT_EQUAL_FATAL(sign_secret_new(secret), 0);
		CU_ASSERT_EQUAL(strlen(secret), SIGN_SECRET_LEN);
		CU_ASSERT_EQUAL(strncmp(secret, "whsec_", 6), 0);
		klen = EVP_DecodeBlock(key, (const unsigned char *)secret + 6, 44);
		CU_ASSERT_EQUAL(klen, 33); /* 32 bytes and one of padding */
		mlen = snprintf(msg, sizeof msg, "evt_x.1700000000.");
		memcpy(msg + mlen, body, sizeof body - 1);
		HMAC(EVP_sha256(), key, 32, (unsigned char *)msg, (size_t)mlen + sizeof body - 1, mac,
		     &mac_len);
		memcpy(want, "v1,", 3);
		EVP_EncodeBlock((unsigned char *)want + 3, mac, (int)mac_len);
		CU_ASSERT_EQUAL(sign_signature(secret, "evt_x", 1700000000, body, sizeof body - 1, sig), 0);
		CU_ASSERT_STRING_EQUAL(sig, want);
		CU_ASSERT_EQUAL(sign_secret_new(other), 0);
		CU_ASSERT_STRING_NOT_EQUAL(secret, other);
	}
}

static void test_bad_secrets(void)
{
	char sig[SIGN_SIGNATURE_LEN + 1];

	CU_ASSERT_EQUAL(sign_signature("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, "", 0, sig), -1);
	CU_ASSERT_EQUAL(sign_signature("whsec_", "m", 1, "", 0, sig), -1);
	CU_ASSERT_EQUAL(sign_signature("whsec_abc", "m", 1, "", 0, sig), -1);
	CU_ASSERT_EQUAL(sign_signature("whsec_a!!=", "m", 1, "", 0, sig), -1);
}

static int v4(const char *s)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	inet_pton(AF_INET, s, &a.sin_addr);
	return addr_is_private((struct sockaddr *)&a);
}

static int v6(const char *s)
{
	struct sockaddr_in6 a;

	memset(&a, 0, sizeof a);
	a.sin6_family = AF_INET6;
	inet_pton(AF_INET6, s, &a.sin6_addr);
	return addr_is_private((struct sockaddr *)&a);
}

static void test_private_addresses(void)
{
	const char *inside4[] = { "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1",
				  "172.31.255.255", "192.168.1.1", "169.254.169.254", "0.0.0.0",
				  "100.64.0.1", "100.127.255.255" };
	const char *outside4[] = { "8.8.8.8", "172.15.255.255", "172.32.0.0", "192.167.1.1",
				   "100.63.255.255", "100.128.0.0", "1.1.1.1", "11.0.0.1" };
	const char *inside6[] = { "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1",
				  "::ffff:127.0.0.1", "::ffff:10.0.0.1" };
	const char *outside6[] = { "2001:db8::1", "2a00:1450::1", "::ffff:8.8.8.8", "fe00::1" };
	size_t i;

	for (i = 0; i < sizeof inside4 / sizeof *inside4; i++)
		CU_ASSERT_TRUE(v4(inside4[i]));
	for (i = 0; i < sizeof outside4 / sizeof *outside4; i++)
		CU_ASSERT_FALSE(v4(outside4[i]));
	for (i = 0; i < sizeof inside6 / sizeof *inside6; i++)
		CU_ASSERT_TRUE(v6(inside6[i]));
	for (i = 0; i < sizeof outside6 / sizeof *outside6; i++)
		CU_ASSERT_FALSE(v6(outside6[i]));

	CU_ASSERT_TRUE(addr_host_is_private("localhost"));
	CU_ASSERT_TRUE(addr_host_is_private("LOCALHOST"));
	CU_ASSERT_TRUE(addr_host_is_private("api.localhost"));
	CU_ASSERT_TRUE(addr_host_is_private("192.168.0.10"));
	CU_ASSERT_TRUE(addr_host_is_private("[::1]"));
	CU_ASSERT_TRUE(addr_host_is_private("[fe80::1%25eth0]"));
	CU_ASSERT_FALSE(addr_host_is_private("example.com"));
	CU_ASSERT_FALSE(addr_host_is_private("localhost.example.com"));
	CU_ASSERT_FALSE(addr_host_is_private("8.8.8.8"));
	CU_ASSERT_FALSE(addr_host_is_private("[2001:db8::1]"));
}

void suite_events(void)
{
	CU_pSuite s = test_suite("events");

	TEST_ADD(s, test_standard_webhooks_vector);
	TEST_ADD(s, test_secret_round_trip);
	TEST_ADD(s, test_bad_secrets);
	TEST_ADD(s, test_private_addresses);
}
