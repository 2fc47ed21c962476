/* SPDX-License-Identifier: MIT */
/*
 * Hashing wrappers, plus FNV-1a for hash tables. SHA-256 and HMAC go through
 * OpenSSL's EVP interface, which uses the CPU's SHA extensions where there
 * are any (the QA generator hashes every record twice and every output file
 * once). libsodium is initialised here too, for the modules that take random
 * keys and keyed state from it.
 */
#include "common/hash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

int ms_hash_init(void)
{
	return sodium_init() < 0 ? MS_EIO : 0;
}

void ms_sha256(unsigned char out[MS_SHA256_LEN], const void *data, size_t len)
{
	/* fails only when OpenSSL cannot allocate; a zero digest is then
	 * returned, as callers have no error path for a hash */
	if (!EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL))
		memset(out, 0, MS_SHA256_LEN);
}

void ms_hmac_sha256(unsigned char out[MS_SHA256_LEN], const void *key, size_t key_len,
                    const void *data, size_t len)
{
	unsigned int n = MS_SHA256_LEN;

	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n))
		memset(out, 0, MS_SHA256_LEN);
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
	EVP_MD_CTX *ctx = NULL;
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
	ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (!EVP_DigestUpdate(ctx, chunk, n)) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (ferror(f)) {
		ms_error_set_path(err, path);
		rc = ms_error_set(err, MS_EIO, "read error");
		goto out;
	}
	if (!EVP_DigestFinal_ex(ctx, digest, NULL)) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	ms_hex(out, digest, sizeof(digest));
out:
	EVP_MD_CTX_free(ctx);
	fclose(f);
	return rc;
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
