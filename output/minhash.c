/* SPDX-License-Identifier: MIT */
/*
 * MinHash signatures of word 3-shingles and a banded LSH index over them,
 * for near-duplicate removal and decontamination of report datasets.
 *
 * Why these choices: report texts are short (a few hundred words) and
 * near-duplicates differ by a few words (templates, dates, surrogate names),
 * which word shingles of length 3 catch while character shingles would make
 * every radiology text look alike. One 64-bit hash per shingle mixed with a
 * per-position seed (splitmix64) stands in for 64 independent permutations;
 * its bias is far below the sampling error of 64 positions (about 0.06 at
 * J = 0.8). Candidates found by the bands are confirmed on the full
 * signatures, so the index never reports a pair below the threshold.
 */
#include "output/output.h"

#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "common/hash.h"

#define SHINGLE_WORDS 3

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* ASCII blanks and punctuation separate words; bytes >= 0x80 are word bytes. */
static bool is_sep(unsigned char c)
{
	if (c >= 0x80)
		return false;
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return false;
	return true;
}

/* Hash of the next word at or after *off; false at the end. */
static bool next_word(uint64_t *h_out, const char *s, size_t len, size_t *off)
{
	size_t i = *off, start;

	while (i < len && is_sep((unsigned char)s[i]))
		i++;
	if (i == len) {
		*off = i;
		return false;
	}
	start = i;
	while (i < len && !is_sep((unsigned char)s[i]))
		i++;
	*h_out = ms_fnv1a(s + start, i - start);
	*off = i;
	return true;
}

static void add_shingle(uint32_t sig[OUTPUT_MINHASH_PERM], uint64_t h, const uint64_t *seeds)
{
	size_t p;

	for (p = 0; p < OUTPUT_MINHASH_PERM; p++) {
		uint32_t v = (uint32_t)(mix64(h ^ seeds[p]) >> 32);

		if (v < sig[p])
			sig[p] = v;
	}
}

void output_minhash(uint32_t out[OUTPUT_MINHASH_PERM], const char *s, size_t len, uint64_t seed)
{
	uint64_t seeds[OUTPUT_MINHASH_PERM], w[SHINGLE_WORDS] = { 0 }, h;
	size_t off = 0, n = 0, p;

	for (p = 0; p < OUTPUT_MINHASH_PERM; p++) {
		seeds[p] = mix64(seed * OUTPUT_MINHASH_PERM + p);
		out[p] = UINT32_MAX;
	}
	while (next_word(&h, s, len, &off)) {
		memmove(w, w + 1, sizeof(w) - sizeof(w[0]));
		w[SHINGLE_WORDS - 1] = h;
		n++;
		if (n >= SHINGLE_WORDS)
			add_shingle(out, mix64(w[0]) ^ mix64(w[1] * 31 + 7) ^ w[2], seeds);
	}
	if (n > 0 && n < SHINGLE_WORDS) {
		h = 0;
		for (p = SHINGLE_WORDS - n; p < SHINGLE_WORDS; p++)
			h = mix64(h ^ w[p]);
		add_shingle(out, h, seeds);
	}
}

double output_minhash_similarity(const uint32_t a[OUTPUT_MINHASH_PERM],
                                 const uint32_t b[OUTPUT_MINHASH_PERM])
{
	unsigned eq = 0, p;

	for (p = 0; p < OUTPUT_MINHASH_PERM; p++)
		eq += a[p] == b[p];
	return (double)eq / OUTPUT_MINHASH_PERM;
}

/* ---- LSH ---- */

/*
 * A bucket: 32 bits of the band hash (never 0; 0 = empty) and its newest
 * item. Two band values whose hashes share these bits share a bucket; that
 * only adds candidates, which the signature comparison weeds out, and halves
 * the table against 64-bit keys (the table dominates the index's memory).
 */
struct lsh_slot {
	uint32_t key;
	uint32_t item; /* index into sigs */
};

struct output_lsh {
	double threshold;
	unsigned bands, rows;
	const uint32_t **sigs; /* borrowed */
	uint64_t *items;
	size_t n, cap;
	struct lsh_slot *slots; /* one table for every band; band mixed into the key */
	size_t n_slots, n_used;
	uint32_t *chain; /* per item and band: next item + 1 in its bucket */
};

static void choose_shape(unsigned *b_out, unsigned *r_out, double t)
{
	unsigned r, best_b = 1, best_r = OUTPUT_MINHASH_PERM;
	double best = 1e9;

	for (r = 1; r <= OUTPUT_MINHASH_PERM; r++) {
		unsigned b = OUTPUT_MINHASH_PERM / r;
		double knee = pow(1.0 / b, 1.0 / r), d = fabs(knee - t);

		/* below the threshold rather than above: recall matters more */
		if (knee > t)
			d *= 2;
		if (d < best) {
			best = d;
			best_b = b;
			best_r = r;
		}
	}
	*b_out = best_b;
	*r_out = best_r;
}

int output_lsh_new(struct output_lsh **out, double threshold, struct ms_error *err)
{
	struct output_lsh *l;

	*out = NULL;
	if (!(threshold > 0 && threshold <= 1))
		return ms_error_set(err, MS_EUSAGE, "near-duplicate threshold must be in (0, 1]");
	l = ms_calloc(1, sizeof(*l));
	if (!l)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	l->threshold = threshold;
	choose_shape(&l->bands, &l->rows, threshold);
	*out = l;
	return 0;
}

void output_lsh_free(struct output_lsh *l)
{
	if (!l)
		return;
	ms_free((void *)l->sigs);
	ms_free(l->items);
	ms_free(l->slots);
	ms_free(l->chain);
	ms_free(l);
}

void output_lsh_shape(const struct output_lsh *l, unsigned *bands_out, unsigned *rows_out)
{
	*bands_out = l->bands;
	*rows_out = l->rows;
}

size_t output_lsh_size(const struct output_lsh *l)
{
	return l->n;
}

static uint32_t band_key(const struct output_lsh *l, const uint32_t *sig, unsigned band)
{
	uint64_t h = mix64(band + 1);
	unsigned r;

	for (r = 0; r < l->rows; r++)
		h = mix64(h ^ sig[band * l->rows + r]);
	return (uint32_t)(h >> 32) | 1;
}

/* Slot of key: the one holding it, or the empty one where it would go. */
static size_t find_slot(const struct output_lsh *l, uint32_t key)
{
	size_t m = l->n_slots - 1, j = (size_t)(key * 0x9e3779b9u) & m;

	while (l->slots[j].key && l->slots[j].key != key)
		j = (j + 1) & m;
	return j;
}

static int rehash(struct output_lsh *l)
{
	size_t cap = l->n_slots ? l->n_slots * 2 : 1024, i, j;
	struct lsh_slot *old = l->slots;
	size_t n_old = l->n_slots;

	l->slots = ms_calloc(cap, sizeof(*l->slots));
	if (!l->slots) {
		l->slots = old;
		return MS_ENOMEM;
	}
	l->n_slots = cap;
	for (i = 0; i < n_old; i++) {
		if (!old[i].key)
			continue;
		j = find_slot(l, old[i].key);
		l->slots[j] = old[i];
	}
	ms_free(old);
	return 0;
}

int output_lsh_insert(struct output_lsh *l, const uint32_t sig[OUTPUT_MINHASH_PERM], uint64_t item)
{
	size_t need, chain_cap;
	unsigned b;

	if (l->n >= UINT32_MAX - 1)
		return MS_ETOOBIG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		void *s = ms_realloc((void *)l->sigs, cap * sizeof(*l->sigs));

		if (!s)
			return MS_ENOMEM;
		l->sigs = s;
		s = ms_realloc(l->items, cap * sizeof(*l->items));
		if (!s)
			return MS_ENOMEM;
		l->items = s;
		if (!ms_size_mul(&chain_cap, cap, l->bands))
			return MS_ENOMEM;
		s = ms_realloc(l->chain, chain_cap * sizeof(*l->chain));
		if (!s)
			return MS_ENOMEM;
		l->chain = s;
		l->cap = cap;
	}
	/* load factor at most 0.7: linear probing stays short */
	need = (l->n_used + l->bands) * 10 / 7;
	while (need > l->n_slots) {
		if (rehash(l))
			return MS_ENOMEM;
	}
	l->sigs[l->n] = sig;
	l->items[l->n] = item;
	for (b = 0; b < l->bands; b++) {
		uint32_t key = band_key(l, sig, b);
		size_t j = find_slot(l, key);

		/* newest first in the chain; queries scan all, so order is irrelevant */
		if (!l->slots[j].key) {
			l->slots[j].key = key;
			l->slots[j].item = (uint32_t)l->n;
			l->n_used++;
			l->chain[l->n * l->bands + b] = 0;
		} else {
			l->chain[l->n * l->bands + b] = l->slots[j].item + 1;
			l->slots[j].item = (uint32_t)l->n;
		}
	}
	l->n++;
	return 0;
}

bool output_lsh_query(const struct output_lsh *l, const uint32_t sig[OUTPUT_MINHASH_PERM],
                      uint64_t *item_out)
{
	unsigned b, seen;

	if (!l->n)
		return false;
	for (b = 0; b < l->bands; b++) {
		size_t j = find_slot(l, band_key(l, sig, b));
		uint32_t it;

		if (!l->slots[j].key)
			continue;
		seen = 0;
		for (it = l->slots[j].item + 1; it && seen < OUTPUT_LSH_SCAN_MAX;
		     it = l->chain[(size_t)(it - 1) * l->bands + b], seen++) {
			if (output_minhash_similarity(sig, l->sigs[it - 1]) >=
			    l->threshold - 1e-12) {
				if (item_out)
					*item_out = l->items[it - 1];
				return true;
			}
		}
	}
	return false;
}
