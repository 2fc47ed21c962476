/* SPDX-License-Identifier: MIT */
/*
 * Hashing wrappers, plus FNV-1a for hash tables. SHA-256 and HMAC go through
 * OpenSSL's EVP interface, which uses the CPU's SHA extensions where there
 * are any (the QA writer hashes every output file, 300 MB for the full
 * catalogues, and splits hash every group key once). libsodium is
 * initialised here too, for the modules that take random keys and keyed
 * state from it.
 */
#include "common/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SHA256_BLOCK 64

/*
 * The SHA-256 implementation is fetched from OpenSSL's provider once, and
 * every thread keeps one digest context: EVP_sha256() with a fresh context
 * per call makes OpenSSL look the algorithm up (under a lock) and allocate
 * each time, which cost more than the hashing of short records.
 */
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static pthread_key_t ctx_key;
static int hash_status = MS_EIO;

static void free_ctx(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void hash_setup(void)
{
	if (sodium_init() < 0)
		return;
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256_md)
		return;
	if (pthread_key_create(&ctx_key, free_ctx) != 0) {
		EVP_MD_free(sha256_md);
		sha256_md = NULL;
		return;
	}
	hash_status = 0;
}

int ms_hash_init(void)
{
	return pthread_once(&hash_once, hash_setup) != 0 ? MS_EIO : hash_status;
}

/* This thread's digest context, or NULL (no memory; callers fall back). */
static EVP_MD_CTX *thread_ctx(void)
{
	EVP_MD_CTX *ctx;

	if (ms_hash_init())
		return NULL;
	ctx = pthread_getspecific(ctx_key);
	if (!ctx) {
		ctx = EVP_MD_CTX_new();
		if (ctx && pthread_setspecific(ctx_key, ctx) != 0) {
			EVP_MD_CTX_free(ctx);
			ctx = NULL;
		}
	}
	return ctx;
}

/* SHA-256 of a || b into out; false when OpenSSL fails (no memory). */
static bool sha256_2(unsigned char out[MS_SHA256_LEN], const void *a, size_t a_len, const void *b,
                     size_t b_len)
{
	EVP_MD_CTX *ctx = thread_ctx();

	if (!ctx)
		return false;
	return EVP_DigestInit_ex2(ctx, sha256_md, NULL) && EVP_DigestUpdate(ctx, a, a_len) &&
	       (!b_len || EVP_DigestUpdate(ctx, b, b_len)) && EVP_DigestFinal_ex(ctx, out, NULL);
}

void ms_sha256(unsigned char out[MS_SHA256_LEN], const void *data, size_t len)
{
	/* fails only when OpenSSL cannot allocate; a zero digest is then
	 * returned, as callers have no error path for a hash */
	if (!sha256_2(out, data, len, NULL, 0))
		memset(out, 0, MS_SHA256_LEN);
}

/* HMAC (RFC 2104) over the cached digest: H(K^opad || H(K^ipad || data)). */
void ms_hmac_sha256(unsigned char out[MS_SHA256_LEN], const void *key, size_t key_len,
                    const void *data, size_t len)
{
	unsigned char k[SHA256_BLOCK] = { 0 }, pad[SHA256_BLOCK], inner[MS_SHA256_LEN];
	bool ok = true;
	size_t i;

	if (key_len > SHA256_BLOCK)
		ok = sha256_2(k, key, key_len, NULL, 0);
	else if (key_len)
		memcpy(k, key, key_len);
	for (i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	ok = ok && sha256_2(inner, pad, sizeof(pad), data, len);
	for (i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	ok = ok && sha256_2(out, pad, sizeof(pad), inner, sizeof(inner));
	if (!ok)
		memset(out, 0, MS_SHA256_LEN);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
}

int ms_sha256_stream_begin(struct ms_sha256_stream *s)
{
	memset(s, 0, sizeof(*s));
	if (ms_hash_init())
		return s->status = MS_EIO;
	s->ctx = EVP_MD_CTX_new();
	if (!s->ctx || !EVP_DigestInit_ex2(s->ctx, sha256_md, NULL)) {
		ms_sha256_stream_abort(s);
		return s->status = MS_ENOMEM;
	}
	return 0;
}

void ms_sha256_stream_add(struct ms_sha256_stream *s, const void *data, size_t len)
{
	if (s->status || !len)
		return;
	if (!EVP_DigestUpdate(s->ctx, data, len))
		s->status = MS_ENOMEM;
	s->bytes += len;
}

int ms_sha256_stream_end(struct ms_sha256_stream *s, char hex[MS_SHA256_HEX_LEN + 1])
{
	unsigned char digest[MS_SHA256_LEN];
	int rc = s->status;

	if (!rc && !EVP_DigestFinal_ex(s->ctx, digest, NULL))
		rc = MS_ENOMEM;
	if (!rc)
		ms_hex(hex, digest, sizeof(digest));
	ms_sha256_stream_abort(s);
	s->status = rc;
	return rc;
}

void ms_sha256_stream_abort(struct ms_sha256_stream *s)
{
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

int ms_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
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

/* 64 KiB reads: a syscall per 4 KiB (stdio's) cost as much as the hashing. */
int ms_sha256_file(char out[MS_SHA256_HEX_LEN + 1], const char *path, struct ms_error *err)
{
	struct ms_sha256_stream h;
	unsigned char chunk[65536];
	ssize_t n;
	int fd, rc, e = 0;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		ms_error_set_path(err, path);
		return ms_error_set(err, MS_EIO, "cannot open: %s", strerror(errno));
	}
	rc = ms_sha256_stream_begin(&h);
	if (rc) {
		close(fd);
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		ms_sha256_stream_add(&h, chunk, (size_t)n);
	}
	if (n < 0) {
		e = errno;
		ms_sha256_stream_abort(&h);
		close(fd);
		ms_error_set_path(err, path);
		return ms_error_set(err, MS_EIO, "read error: %s", strerror(e));
	}
	close(fd);
	if (ms_sha256_stream_end(&h, out))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return 0;
}

uint64_t ms_fnv1a_drop_last(uint64_t h, unsigned char last)
{
	/* 1099511628211 * 0xce965057aff6957b = 1 (mod 2^64) */
	return (h * 0xce965057aff6957bull) ^ last;
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
