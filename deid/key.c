/* SPDX-License-Identifier: MIT */
/*
 * The site key: generation, the key file (hex, mode 0600, refused when
 * others may read it), its fingerprint, pseudonyms of ids, and the keyed
 * hash with a precomputed key schedule that surrogates and the audit use.
 * Nothing here ever puts key material into a message.
 */
/*
 * The keyed hash uses OpenSSL's low-level SHA-256 context: a plain struct
 * that can be copied without allocating (OpenSSL 3.0's EVP contexts allocate
 * on every copy) and that runs on the CPU's SHA extensions where present.
 * OpenSSL 3 marks that interface deprecated but keeps it; libsodium's
 * HMAC-SHA-256, used before, has no SHA-extension code: switching saved
 * about 6 % of the CPU time of `deid run --no-ner`.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "deid/deid.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/hash.h"
#include "deid/replace_int.h"

/* A key file is 65 bytes; anything much longer is not one. */
#define KEY_FILE_MAX 256
#define KEY_HEX      ((size_t)2 * DEID_KEY_LEN)

int deid_key_generate(struct deid_key *out, struct ms_error *err)
{
	if (ms_hash_init())
		return ms_error_set(err, MS_EIO, "cannot initialise the random number generator");
	randombytes_buf(out->bytes, sizeof(out->bytes));
	return 0;
}

int deid_key_write(const struct deid_key *key, const char *path, bool force, struct ms_error *err)
{
	char hex[KEY_HEX + 2];
	struct stat st;
	int rc;

	if (!force && lstat(path, &st) == 0) {
		ms_error_set_path(err, path);
		return ms_error_set(err, MS_EEXISTS, "key file exists; use --force to replace it");
	}
	ms_hex(hex, key->bytes, DEID_KEY_LEN);
	hex[KEY_HEX] = '\n';
	hex[KEY_HEX + 1] = '\0';
	rc = ms_file_write_atomic(path, hex, KEY_HEX + 1, 0600, err);
	sodium_memzero(hex, sizeof(hex));
	return rc;
}

static int parse_key(struct deid_key *out, const unsigned char *s, size_t len)
{
	size_t i;

	for (i = KEY_HEX; i < len; i++) {
		if (s[i] != '\n' && s[i] != '\r' && s[i] != ' ' && s[i] != '\t')
			return MS_EINVAL;
	}
	if (len < KEY_HEX)
		return MS_EINVAL;
	for (i = 0; i < DEID_KEY_LEN; i++) {
		int hi = ms_hex_digit(s[2 * i]), lo = ms_hex_digit(s[(2 * i) + 1]);

		if (hi < 0 || lo < 0)
			return MS_EINVAL;
		out->bytes[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int deid_key_read(struct deid_key *out, const char *path, struct ms_error *err)
{
	unsigned char data[KEY_FILE_MAX + 1];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, rc = 0;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;

		ms_error_set_path(err, path);
		return ms_error_set(err, e == ENOENT ? MS_ENOTFOUND : MS_EIO,
		                    "cannot open key file: %s", strerror(e));
	}
	/* fstat on the open descriptor: the file checked is the file read */
	if (fstat(fd, &st) != 0) {
		ms_error_set_path(err, path);
		rc = ms_error_set(err, MS_EIO, "cannot access key file: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ms_error_set_path(err, path);
		rc = ms_error_set(err, MS_EINVAL, "key file is not a regular file");
		goto out;
	}
	if (st.st_mode & 077) {
		ms_error_set_path(err, path);
		rc = ms_error_set(err, MS_EINVAL,
		                  "key file may be read by group or others (mode %04o); "
		                  "run 'chmod 600' on it",
		                  (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (len < sizeof(data)) {
		n = read(fd, data + len, sizeof(data) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ms_error_set_path(err, path);
			rc = ms_error_set(err, MS_EIO, "cannot read key file: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > KEY_FILE_MAX || parse_key(out, data, len) != 0) {
		memset(out, 0, sizeof(*out));
		ms_error_set_path(err, path);
		rc = ms_error_set(err, MS_EINVAL,
		                  "malformed key file: expected %d hex digits (see 'medsft deid "
		                  "keygen')",
		                  2 * DEID_KEY_LEN);
	}
out:
	sodium_memzero(data, sizeof(data));
	close(fd);
	return rc;
}

void deid_key_fingerprint(char out[DEID_FINGERPRINT_LEN + 1], const struct deid_key *key)
{
	static const char what[] = "medsft-key-fingerprint";
	unsigned char mac[MS_SHA256_LEN];

	ms_hmac_sha256(mac, key->bytes, DEID_KEY_LEN, what, sizeof(what) - 1);
	ms_hex(out, mac, sizeof(mac));
}

void deid_key_wipe(struct deid_key *key)
{
	sodium_memzero(key->bytes, sizeof(key->bytes));
}

void deid_key_pseudonym(char out[DEID_PSEUDONYM_SIZE], const struct deid_key *key, char prefix,
                        const char *kind, const char *s, size_t len)
{
	struct deid_hmac h;

	deid_hmac_init(&h, key);
	deid_hmac_pseudonym(&h, out, prefix, kind, s, len);
	deid_hmac_wipe(&h);
}

void deid_hmac_pseudonym(const struct deid_hmac *h, char out[DEID_PSEUDONYM_SIZE], char prefix,
                         const char *kind, const char *s, size_t len)
{
	unsigned char mac[MS_SHA256_LEN];

	deid_hmac2(h, mac, kind, s, len, NULL, 0);
	out[0] = prefix;
	out[1] = '-';
	ms_hex(out + 2, mac, 8);
}

/* ---- keyed hashing ----------------------------------------------------- */

void deid_hmac_init(struct deid_hmac *h, const struct deid_key *key)
{
	unsigned char pad[SHA256_CBLOCK];
	size_t i;

	/* RFC 2104 with a key shorter than the block: zero-padded, then xor. */
	memset(pad, 0x36, sizeof(pad));
	for (i = 0; i < DEID_KEY_LEN; i++)
		pad[i] ^= key->bytes[i];
	SHA256_Init(&h->inner);
	SHA256_Update(&h->inner, pad, sizeof(pad));
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	SHA256_Init(&h->outer);
	SHA256_Update(&h->outer, pad, sizeof(pad));
	OPENSSL_cleanse(pad, sizeof(pad));
}

void deid_hmac2(const struct deid_hmac *h, unsigned char out[MS_SHA256_LEN], const char *domain,
                const char *a, size_t a_len, const char *b, size_t b_len)
{
	static const unsigned char sep = 0x1f;
	unsigned char inner[SHA256_DIGEST_LENGTH];
	SHA256_CTX c = h->inner;

	SHA256_Update(&c, domain, strlen(domain));
	SHA256_Update(&c, &sep, 1);
	SHA256_Update(&c, a, a_len);
	if (b) {
		SHA256_Update(&c, &sep, 1);
		SHA256_Update(&c, b, b_len);
	}
	SHA256_Final(inner, &c);
	c = h->outer;
	SHA256_Update(&c, inner, sizeof(inner));
	SHA256_Final(out, &c);
	OPENSSL_cleanse(&c, sizeof(c));
	OPENSSL_cleanse(inner, sizeof(inner));
}

uint64_t deid_hmac_u64(const struct deid_hmac *h, const char *domain, const char *a, size_t a_len,
                       const char *b, size_t b_len)
{
	unsigned char mac[MS_SHA256_LEN];
	uint64_t v = 0;
	int i;

	deid_hmac2(h, mac, domain, a, a_len, b, b_len);
	for (i = 0; i < 8; i++)
		v = v << 8 | mac[i];
	return v;
}

void deid_hmac_wipe(struct deid_hmac *h)
{
	OPENSSL_cleanse(h, sizeof(*h));
}
