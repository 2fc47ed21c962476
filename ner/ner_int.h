/* SPDX-License-Identifier: MIT */
/*
 * Private to ner/: the seeded hash and PRNG every deterministic part uses,
 * text helpers on ICU, the in-memory model shared by training, decoding and
 * the model file, and corpus internals.
 */
#ifndef MS_NER_NER_INT_H
#define MS_NER_NER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ner/ner.h"

/* ---- hashing and random numbers --------------------------------------- */

/*
 * A seeded 64-bit hash for feature names: FNV-1a over bytes (so results do
 * not depend on the host's endianness or alignment) with the seed mixed
 * into the offset basis and a final avalanche (MurmurHash3 fmix64), because
 * only the low bits are used as the row.
 */
#define NER_FNV_PRIME 0x100000001b3ull

static inline uint64_t ner_hash_start(uint32_t seed)
{
	return 0xcbf29ce484222325ull ^ ((uint64_t)seed * 0x9e3779b97f4a7c15ull);
}

static inline uint64_t ner_hash_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= NER_FNV_PRIME;
	}
	return h;
}

static inline uint64_t ner_hash_finish(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* splitmix64: small, fast, good enough for shuffling and sampling. */
struct ner_rng {
	uint64_t s;
};

static inline uint64_t ner_rng_next(struct ner_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-shift; bias negligible for n << 2^32). */
static inline size_t ner_rng_below(struct ner_rng *r, size_t n)
{
	return (size_t)(((ner_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* ---- text helpers (ICU) ------------------------------------------------ */

/*
 * Appends the ICU default case folding of s (valid UTF-8) to out. ASCII
 * takes a table path that gives the same result as ICU (full folding maps
 * A-Z to a-z and leaves other ASCII alone).
 */
int ner_fold_append(struct ms_buf *out, const char *s, size_t len, struct ms_error *err);

/* Decodes the code point at s[*off] of valid UTF-8 and advances *off. */
int32_t ner_u8_next(const char *s, size_t len, size_t *off);

/* Decodes the code point that ends at s[off] (off > 0), returning its start in *start. */
int32_t ner_u8_prev(const char *s, size_t off, size_t *start);

/* Labels as in ner_label_name(); NULL if (name, len) is not one. */
const char *ner_label_canon(const char *name, size_t len);
/* Index of a canonical label pointer, or -1. */
int ner_label_index(const char *canon);

/* ---- gazetteer internals ----------------------------------------------- */

/*
 * The lookup table of a gazetteer as (case-folded key, membership bits)
 * pairs in byte order of the keys: what a model file stores, since lookups
 * are all a model needs.
 */
typedef int (*ner_gaz_key_fn)(const char *key, size_t len, unsigned bits, void *payload);
int ner_gazetteer_visit_keys(const struct ner_gazetteer *g, ner_gaz_key_fn fn, void *payload);
size_t ner_gazetteer_n_keys(const struct ner_gazetteer *g);
/*
 * Adds a lookup key with its bits, borrowing key (it must outlive g): a
 * model's gazetteer, keys in the mapped file. Returns 0 or MS_ENOMEM.
 */
int ner_gazetteer_add_key(struct ner_gazetteer *g, const char *key, size_t len, unsigned bits);
/* Deep copy; *out NULL when g is NULL. */
int ner_gazetteer_copy(struct ner_gazetteer **out, const struct ner_gazetteer *g,
                       struct ms_error *err);

/* ---- features ---------------------------------------------------------- */

/*
 * Hashes features of n tokens into ids/off held by a reusable workspace
 * (grows, never shrinks), for the tagger and training, which must not pay
 * an arena per document twice. The workspace also keeps a bounded memo of
 * the tokens it has seen (their folded words, shapes, gazetteer bits and
 * feature rows) across calls: the gazetteer passed in must stay unchanged
 * while the workspace lives (another gazetteer, seed or hash size empties
 * the memo). ner_feat_work_init() zeroes it; release accepts a zeroed one.
 */
struct ner_tokinfo;
struct ner_tok_memo;

struct ner_feat_work {
	uint32_t *ids;
	size_t ids_cap;
	uint32_t *off;
	size_t off_cap;
	struct ner_tokinfo *info;
	size_t info_cap;
	struct ner_tok_memo *memo;
};

void ner_feat_work_init(struct ner_feat_work *w);
void ner_feat_work_release(struct ner_feat_work *w);
int ner_feat_work_hash(struct ner_feat_work *w, const char *s, size_t len,
                       const struct ner_token *toks, size_t n_toks, const struct ner_gazetteer *gaz,
                       unsigned hash_bits, uint32_t seed, struct ms_error *err);

/* ---- model ------------------------------------------------------------- */

/*
 * Tags: 0 = O, 1 + 2l = B of label l, 2 + 2l = I of label l, for the
 * model's labels l = 0..n_labels-1. Transitions are (n_tags + 1) x n_tags:
 * row n_tags holds the start weights.
 */
#define NER_TAG_O            0u
#define NER_TAG_B(l)         (1u + 2u * (unsigned)(l))
#define NER_TAG_I(l)         (2u + 2u * (unsigned)(l))
#define NER_TAG_LABEL(t)     (((t)-1u) / 2u)
#define NER_TAG_IS_B(t)      ((t) != 0 && ((t)-1u) % 2u == 0)
#define NER_MAX_TAGS         (1 + 2 * NER_N_LABELS)
#define NER_ROW_ABSENT       UINT32_MAX
#define NER_MODEL_HEADER_LEN 96

struct ner_model {
	unsigned hash_bits;
	uint32_t hash_seed;
	unsigned n_labels;
	unsigned n_tags;
	const char *labels[NER_N_LABELS]; /* canonical label pointers */
	const float *trans;               /* (n_tags + 1) * n_tags */
	const uint32_t *row_ids;          /* n_rows, increasing */
	const float *weights;             /* n_rows * n_tags */
	size_t n_rows;
	uint32_t *index;           /* 2^hash_bits entries: row or NER_ROW_ABSENT */
	struct ner_gazetteer *gaz; /* never NULL */
	unsigned char gaz_fp[MS_SHA256_LEN];
	unsigned char checksum[MS_SHA256_LEN];
	size_t file_size;
	/* storage: a mapping, or heap blocks the pointers above point into */
	void *map;
	size_t map_len;
	void *heap;       /* a loaded file copy (load_mem, big-endian hosts) */
	float *own_trans; /* a trained model's arrays */
	uint32_t *own_rows;
	float *own_weights;
};

/* Builds m->index from row_ids; MS_ENOMEM. */
int ner_model_index_build(struct ner_model *m, struct ms_error *err);

/*
 * Viterbi over emission scores em (n x n_tags), BIO-constrained; writes the
 * best tags to path (n). trans is the transition matrix, from-major
 * (trans[from * n_tags + to]: the inner loop runs over targets), start
 * the start weights. score is scratch of n x n_tags floats, back of
 * n x n_tags bytes.
 */
void ner_viterbi(const float *trans, const float *start, unsigned n_tags, const float *em, size_t n,
                 float *score, unsigned char *back, unsigned char *path);

/*
 * Sequences for training and decoding are chunks of a document: runs of
 * tokens not separated by a blank line. Returns the end (exclusive) of the
 * chunk that starts at token i.
 */
size_t ner_chunk_end(const char *s, const struct ner_token *toks, size_t n, size_t i);

/* ---- corpus internals --------------------------------------------------- */

/*
 * Appends a document whose text is already valid NFC (no normalisation,
 * spans checked for range and character boundaries only).
 */
int ner_corpus_add_nfc(struct ner_corpus *c, const char *id, const char *text, size_t len,
                       const struct ner_span *spans, size_t n_spans, struct ms_error *err);

/*
 * Validates text and normalises it to NFC piecewise between span boundaries,
 * so that offsets move with it; bounds[] (n_bounds byte offsets into text,
 * each <= len) is rewritten in place to offsets into out. MS_EUNICODE for
 * invalid UTF-8, MS_EINVAL when a boundary splits a character or a
 * combining sequence.
 */
int ner_text_import(struct ms_buf *out, const char *text, size_t len, size_t *bounds,
                    size_t n_bounds, struct ms_error *err);

/* Resolves a corpus label through the options; *label_out NULL means drop. */
int ner_label_resolve(const char **label_out, const struct ner_read_opts *opts, const char *name,
                      size_t len, struct ms_error *err);

#endif
