/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 and HMAC-SHA-256 (OpenSSL EVP), with hex output.
 *
 * Used for file fingerprints in manifests and audit records, and as the
 * keyed hash behind surrogates and split assignment. Thread-safe once
 * ms_hash_init() has returned.
 */
#ifndef MS_COMMON_HASH_H
#define MS_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define MS_SHA256_LEN     32
#define MS_SHA256_HEX_LEN 64

/* Initialises libsodium and the SHA-256 implementation; safe to call more
 * than once and from several threads. Returns 0 or MS_EIO. */
int ms_hash_init(void) MS_MUST_CHECK;

void ms_sha256(unsigned char out[MS_SHA256_LEN], const void *data, size_t len);
void ms_hmac_sha256(unsigned char out[MS_SHA256_LEN], const void *key, size_t key_len,
                    const void *data, size_t len);

/*
 * SHA-256 over data given in pieces (a file as it is written, so it needs
 * no second read). begin returns 0 or MS_ENOMEM; after a failed add, end
 * returns MS_ENOMEM. end and abort release the state; bytes counts the input.
 */
struct ms_sha256_stream {
	void *ctx; /* EVP_MD_CTX * */
	uint64_t bytes;
	int status;
};

int ms_sha256_stream_begin(struct ms_sha256_stream *s) MS_MUST_CHECK;
void ms_sha256_stream_add(struct ms_sha256_stream *s, const void *data, size_t len);
int ms_sha256_stream_end(struct ms_sha256_stream *s, char hex[MS_SHA256_HEX_LEN + 1]) MS_MUST_CHECK;
void ms_sha256_stream_abort(struct ms_sha256_stream *s);

/* Writes 2*len lowercase hex digits and a NUL into out. */
void ms_hex(char *out, const unsigned char *data, size_t len);
/* The value of one hex digit (either case), or -1 if c is not one. */
int ms_hex_digit(int c);

/* SHA-256 of a whole file as hex; returns 0, MS_EIO (err names the file). */
int ms_sha256_file(char out[MS_SHA256_HEX_LEN + 1], const char *path,
                   struct ms_error *err) MS_MUST_CHECK;

/* 64-bit FNV-1a, for in-memory hash tables (not for anything keyed). */
uint64_t ms_fnv1a(const void *data, size_t len);
/* The FNV-1a hash of data without its last byte, from the hash h of data
 * and that byte (FNV-1a's last step undone: its prime is odd, so
 * multiplying by it can be inverted modulo 2^64). */
uint64_t ms_fnv1a_drop_last(uint64_t h, unsigned char last);

#endif
