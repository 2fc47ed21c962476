/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by replacement, surrogates, keys and the audit log
 * (deid/replace.c, surrogate.c, surrogate_lists.c, key.c, audit.c): the keyed
 * hash with a precomputed key schedule, the embedded surrogate lists and the
 * surrogate generator. Not for the readers or the detector.
 */
#ifndef MS_DEID_REPLACE_INT_H
#define MS_DEID_REPLACE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"
#include "deid/deid.h"

/* ---- keyed hashing ----------------------------------------------------- */

/*
 * HMAC-SHA-256 under one key, with the padded key absorbed once: each hash
 * then copies the state instead of hashing the key again (half the work for
 * the short inputs surrogates hash). Immutable after init, so one instance
 * may serve several threads.
 */
struct deid_hmac {
	SHA256_CTX inner; /* after the key xor ipad block */
	SHA256_CTX outer; /* after the key xor opad block */
};

void deid_hmac_init(struct deid_hmac *h, const struct deid_key *key);
/*
 * out = HMAC(key, domain || 0x1f || a || 0x1f || b); b may be NULL (then
 * neither it nor its separator is hashed). The separators keep ("ab", "c")
 * and ("a", "bc") apart.
 */
void deid_hmac2(const struct deid_hmac *h, unsigned char out[MS_SHA256_LEN], const char *domain,
                const char *a, size_t a_len, const char *b, size_t b_len);
/* The first 8 bytes of deid_hmac2 as a big-endian integer. */
uint64_t deid_hmac_u64(const struct deid_hmac *h, const char *domain, const char *a, size_t a_len,
                       const char *b, size_t b_len);
void deid_hmac_wipe(struct deid_hmac *h);
/* deid_key_pseudonym() with a key schedule. */
void deid_hmac_pseudonym(const struct deid_hmac *h, char out[DEID_PSEUDONYM_SIZE], char prefix,
                         const char *kind, const char *s, size_t len);

/* ---- embedded surrogate lists (surrogate_lists.c) ----------------------- */

enum deid_sur_list_id {
	DEID_SUR_FIRST_FEMALE = 0,
	DEID_SUR_FIRST_MALE,
	DEID_SUR_LAST,
	DEID_SUR_STREET,
	DEID_SUR_CITY,
	DEID_SUR_COUNTRY,
	DEID_SUR_PROFESSION,
	DEID_SUR_LIST_COUNT
};

/* A list of data/surrogates/<name>.txt, compiled in. */
struct deid_sur_list {
	const char *name;
	const char *const *v;
	size_t n;
};

extern const struct deid_sur_list deid_sur_lists[DEID_SUR_LIST_COUNT];

/* ---- surrogate generator (surrogate.c) ---------------------------------- */

/*
 * Per-replacer state: the key schedule, folded forms of every list entry
 * (to tell a first name's gender and to re-draw a surrogate equal to its
 * original) and scratch buffers. One per thread.
 */
struct deid_sur;

int deid_sur_new(struct deid_sur **out, const struct deid_key *key,
                 struct ms_error *err) MS_MUST_CHECK;
void deid_sur_free(struct deid_sur *s);

/*
 * Starts a document: collects the folded parts of its given and family name
 * fields, which decide the role of a name part. Returns 0, MS_ENOMEM or
 * MS_EUNICODE.
 */
int deid_sur_begin_doc(struct deid_sur *s, const struct deid_doc *doc,
                       struct ms_error *err) MS_MUST_CHECK;

/* The key schedule of s (borrowed). */
const struct deid_hmac *deid_sur_hmac(const struct deid_sur *s);

/*
 * What a surrogate may depend on besides the span: the document (fields
 * tell given from family names), the scope (group, else document id) that
 * keeps a person and the date shift consistent, and the shift itself.
 */
struct deid_sur_ctx {
	const struct deid_doc *doc;
	const char *scope;
	size_t scope_len;
	int date_shift; /* days, see deid_sur_date_shift() */
};

/*
 * Appends the surrogate for text[0..len) labelled span->label to out. The
 * result never equals the original, except where the text stays on purpose:
 * TITLE, AGE up to 89, a name span of titles and salutations only ("Dr.");
 * when no realistic surrogate can differ, it is "[LABEL]".
 * Returns 0, MS_ENOMEM or MS_EUNICODE.
 */
int deid_sur_make(struct deid_sur *s, struct ms_buf *out, const struct deid_sur_ctx *ctx,
                  const struct deid_span *span, const char *text, size_t len,
                  struct ms_error *err) MS_MUST_CHECK;

/* The per-scope date shift in days: ±[30, 365], never 0. */
int deid_sur_date_shift(const struct deid_hmac *h, const char *scope, size_t scope_len);

/*
 * Rewrites the German date in s[0..len) shifted by shift days, keeping its
 * format. Returns 1 (appended), 0 (not a date this parser knows; nothing
 * appended) or MS_ENOMEM.
 */
int deid_sur_date(struct ms_buf *out, const char *s, size_t len, int shift);

/*
 * Keyed, format-preserving replacement: each ASCII digit becomes a digit
 * and each letter an ASCII letter of the same case; everything else stays.
 * domain separates the uses ("id", "phone", ...); attempt re-draws.
 */
int deid_sur_chars(const struct deid_hmac *h, struct ms_buf *out, const char *domain, const char *s,
                   size_t len, unsigned attempt, bool letters);

/* Version of the surrogate rules, part of the surrogate fingerprint. */
#define DEID_SUR_RULES_VERSION "4"

#endif
