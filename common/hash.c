/* SPDX-License-Identifier: MIT */
/* Hashing wrappers over libsodium, plus FNV-1a for hash tables. */
#include "common/hash.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

int ms_hash_init(void)
{
	return sodium_init() < 0 ? MS_EIO : 0;
}

void ms_sha256(unsigned char out[MS_SHA256_LEN], const void *data, size_t len)
{
	crypto_hash_sha256(out, data, len);
}

void ms_hmac_sha256(unsigned char out[MS_SHA256_LEN], const void *key, size_t key_len,
                    const void *data, size_t len)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, data, len);
	crypto_auth_hmacsha256_final(&st, out);
}

void ms_hex(char *out, const unsigned char *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * len] = '\0';
}

int ms_sha256_file(char out[MS_SHA256_HEX_LEN + 1], const char *path, struct ms_error *err)
{
	crypto_hash_sha256_state st;
	unsigned char digest[MS_SHA256_LEN];
	unsigned char chunk[4096];
	FILE *f;
	size_t n;
	int rc = 0;

	f = fopen(path, "rb");
	if (!f) {
		ms_error_set_path(err, path);
		return ms_error_set(err, MS_EIO, "cannot open: %s", strerror(errno));
	}
	crypto_hash_sha256_init(&st);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		crypto_hash_sha256_update(&st, chunk, n);
	if (ferror(f)) {
		ms_error_set_path(err, path);
		rc = ms_error_set(err, MS_EIO, "read error");
	}
	fclose(f);
	if (rc)
		return rc;
	crypto_hash_sha256_final(&st, digest);
	ms_hex(out, digest, sizeof(digest));
	return 0;
}

uint64_t ms_fnv1a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 14695981039346656037ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}
