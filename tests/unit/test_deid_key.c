/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/key.c: key files (round trip, mode 0600, no silent
 * overwrite, refusal of files others may read, malformed content, messages
 * that never quote the file), the fingerprint and pseudonyms.
 */
#include "ms_test.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "common/fileio.h"
#include "deid/deid.h"
#include "deid/replace_int.h"

static const char test_hex[] = "000102030405060708090a0b0c0d0e0f"
                               "101112131415161718191a1b1c1d1e1f";

static void write_file(const char *path, const char *s, unsigned mode)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	fputs(s, f);
	fclose(f);
	assert_int_equal(chmod(path, (mode_t)mode), 0);
}

static const char *tmp_file(const char *name)
{
	static char path[4200];
	const char *dir = ms_test_tmpdir();

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void test_roundtrip(void **state)
{
	struct deid_key k1, k2;
	struct ms_error err = MS_ERROR_INIT;
	const char *path = tmp_file("site.key");
	struct stat st;

	(void)state;
	assert_int_equal(deid_key_generate(&k1, &err), 0);
	assert_int_equal(deid_key_write(&k1, path, false, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 65);
	assert_int_equal(deid_key_read(&k2, path, &err), 0);
	assert_memory_equal(k1.bytes, k2.bytes, DEID_KEY_LEN);

	/* no silent overwrite; --force replaces */
	assert_int_equal(deid_key_generate(&k2, &err), 0);
	assert_int_equal(deid_key_write(&k2, path, false, &err), MS_EEXISTS);
	assert_string_equal(err.msg, "key file exists; use --force to replace it");
	ms_error_clear(&err);
	assert_int_equal(deid_key_read(&k1, path, &err), 0);
	assert_memory_not_equal(k1.bytes, k2.bytes, DEID_KEY_LEN);
	assert_int_equal(deid_key_write(&k2, path, true, &err), 0);
	assert_int_equal(deid_key_read(&k1, path, &err), 0);
	assert_memory_equal(k1.bytes, k2.bytes, DEID_KEY_LEN);
	deid_key_wipe(&k1);
	assert_int_equal(k1.bytes[0] | k1.bytes[31], 0);
}

static void test_read_forms(void **state)
{
	struct deid_key k;
	struct ms_error err = MS_ERROR_INIT;
	const char *path = tmp_file("k");
	char upper[80];
	size_t i;

	(void)state;
	write_file(path, test_hex, 0600); /* no newline */
	assert_int_equal(deid_key_read(&k, path, &err), 0);
	for (i = 0; i < DEID_KEY_LEN; i++)
		assert_int_equal(k.bytes[i], i);
	snprintf(upper, sizeof(upper), "%s\r\n", test_hex);
	for (i = 0; upper[i]; i++)
		upper[i] = upper[i] >= 'a' && upper[i] <= 'f' ? (char)(upper[i] - 32) : upper[i];
	write_file(path, upper, 0400);
	assert_int_equal(deid_key_read(&k, path, &err), 0);
	assert_int_equal(k.bytes[31], 31);
}

static void expect_malformed(const char *content)
{
	struct deid_key k;
	struct ms_error err = MS_ERROR_INIT;
	const char *path = tmp_file("bad.key");

	write_file(path, content, 0600);
	assert_int_equal(deid_key_read(&k, path, &err), MS_EINVAL);
	assert_string_equal(
	        err.msg, "malformed key file: expected 64 hex digits (see 'medsft deid keygen')");
	assert_string_equal(err.path, path);
	/* nothing of the key is left behind */
	assert_int_equal(k.bytes[0] | k.bytes[1] | k.bytes[31], 0);
}

static void test_malformed(void **state)
{
	char buf[400];

	(void)state;
	expect_malformed("");
	expect_malformed("abc\n");
	snprintf(buf, sizeof(buf), "%.63s\n", test_hex);
	expect_malformed(buf);
	snprintf(buf, sizeof(buf), "%s0\n", test_hex); /* 65 digits */
	expect_malformed(buf);
	snprintf(buf, sizeof(buf), "%.62sxy\n", test_hex);
	expect_malformed(buf);
	snprintf(buf, sizeof(buf), "key=%s\n", test_hex);
	expect_malformed(buf);
	memset(buf, 'a', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	expect_malformed(buf);
}

static void test_permissions(void **state)
{
	static const unsigned modes[] = { 0640, 0604, 0644, 0660, 0610, 0601 };
	struct deid_key k;
	struct ms_error err = MS_ERROR_INIT;
	const char *path = tmp_file("open.key");
	char want[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		ms_error_clear(&err);
		write_file(path, test_hex, modes[i]);
		assert_int_equal(deid_key_read(&k, path, &err), MS_EINVAL);
		snprintf(
		        want, sizeof(want),
		        "key file may be read by group or others (mode %04o); run 'chmod 600' on it",
		        modes[i]);
		assert_string_equal(err.msg, want);
		assert_null(strstr(err.msg, "0001020304"));
	}
	ms_error_clear(&err);
	assert_int_equal(deid_key_read(&k, tmp_file("missing.key"), &err), MS_ENOTFOUND);
	ms_error_clear(&err);
	assert_int_equal(deid_key_read(&k, ms_test_tmpdir(), &err), MS_EINVAL);
	assert_string_equal(err.msg, "key file is not a regular file");
}

static void test_fingerprint_pseudonym(void **state)
{
	struct deid_key k1, k2;
	struct ms_error err = MS_ERROR_INIT;
	const char *path = tmp_file("fp.key");
	char fp1[DEID_FINGERPRINT_LEN + 1], fp2[DEID_FINGERPRINT_LEN + 1];
	char p1[DEID_PSEUDONYM_SIZE], p2[DEID_PSEUDONYM_SIZE];

	(void)state;
	write_file(path, test_hex, 0600);
	assert_int_equal(deid_key_read(&k1, path, &err), 0);
	deid_key_fingerprint(fp1, &k1);
	assert_int_equal(strlen(fp1), 64);
	assert_null(strstr(fp1, "000102030405"));
	/* fixed: HMAC-SHA-256(key, "medsft-key-fingerprint") */
	deid_key_fingerprint(fp2, &k1);
	assert_string_equal(fp1, fp2);
	k2 = k1;
	k2.bytes[0] ^= 1;
	deid_key_fingerprint(fp2, &k2);
	assert_string_not_equal(fp1, fp2);

	deid_key_pseudonym(p1, &k1, 'd', "doc", "4711", 4);
	assert_int_equal(strlen(p1), 18);
	assert_memory_equal(p1, "d-", 2);
	deid_key_pseudonym(p2, &k1, 'd', "doc", "4711", 4);
	assert_string_equal(p1, p2);
	deid_key_pseudonym(p2, &k1, 'p', "group", "4711", 4);
	assert_string_not_equal(p1 + 2, p2 + 2);
	assert_memory_equal(p2, "p-", 2);
	deid_key_pseudonym(p2, &k2, 'd', "doc", "4711", 4);
	assert_string_not_equal(p1, p2);
}

/* HMAC(key, domain 0x1f a [0x1f b]) by libsodium, an independent implementation. */
static void reference_hmac(unsigned char out[MS_SHA256_LEN], const struct deid_key *key,
                           const char *domain, const char *a, size_t a_len, const char *b,
                           size_t b_len)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key->bytes, DEID_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)domain, strlen(domain));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\x1f", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)a, a_len);
	if (b) {
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\x1f", 1);
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)b, b_len);
	}
	crypto_auth_hmacsha256_final(&st, out);
}

/*
 * The keyed hash is HMAC-SHA-256 exactly: checked against libsodium for
 * messages around the block boundaries (55/56/64 bytes and longer), and
 * its u64 form is the big-endian head of the MAC.
 */
static void test_hmac_matches_reference(void **state)
{
	static const size_t lens[] = {
		0, 1, 31, 32, 47, 48, 54, 55, 56, 63, 64, 65, 119, 200, 1000
	};
	char msg[1000];
	struct deid_key key;
	struct deid_hmac h;
	unsigned char got[MS_SHA256_LEN], want[MS_SHA256_LEN];
	size_t i, k;
	uint64_t v = 0;

	(void)state;
	for (i = 0; i < DEID_KEY_LEN; i++)
		key.bytes[i] = (unsigned char)(0xa5 ^ (i * 7));
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (char)('a' + i % 26);
	deid_hmac_init(&h, &key);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		deid_hmac2(&h, got, "name", msg, lens[i], NULL, 0);
		reference_hmac(want, &key, "name", msg, lens[i], NULL, 0);
		assert_memory_equal(got, want, sizeof(got));
		deid_hmac2(&h, got, "date-shift", msg, lens[i], msg + 3, lens[i] / 2);
		reference_hmac(want, &key, "date-shift", msg, lens[i], msg + 3, lens[i] / 2);
		assert_memory_equal(got, want, sizeof(got));
	}
	/* a different key gives a different MAC */
	key.bytes[0] ^= 1;
	reference_hmac(want, &key, "name", msg, 10, NULL, 0);
	deid_hmac2(&h, got, "name", msg, 10, NULL, 0);
	assert_memory_not_equal(got, want, sizeof(got));
	for (k = 0; k < 8; k++)
		v = v << 8 | got[k];
	assert_int_equal(deid_hmac_u64(&h, "name", msg, 10, NULL, 0), v);
	deid_hmac_wipe(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_read_forms),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_fingerprint_pseudonym),
		cmocka_unit_test(test_hmac_matches_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
