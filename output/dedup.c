/* SPDX-License-Identifier: MIT */
/*
 * Exact deduplication of examples by a 128-bit fingerprint of their
 * normalised turns, held in an open-addressing hash set.
 *
 * Fingerprints rather than texts keep memory at 32 bytes or less per distinct
 * example however long the texts are; at 128 bits the chance of a false
 * duplicate among 10^9 examples is below 10^-20. The fingerprint is SHA-256,
 * so its bytes are uniform and serve directly as the probe hash.
 */
#include "output/output.h"

#include <string.h>

#include "common/alloc.h"
#include "common/hash.h"
#include "output/output_int.h"

#define DEDUP_INITIAL_SLOTS 1024

struct output_dedup {
	unsigned char (*slots)[OUTPUT_DEDUP_KEY_LEN]; /* all-zero = empty */
	size_t n_slots;                               /* power of two */
	size_t n;
	bool has_zero; /* the all-zero fingerprint, which cannot live in a slot */
	struct ms_buf scratch;
};

int output_dedup_new(struct output_dedup **out, struct ms_error *err)
{
	struct output_dedup *d = ms_calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	ms_buf_init(&d->scratch, OUTPUT_RECORD_MAX);
	*out = d;
	return 0;
}

void output_dedup_free(struct output_dedup *d)
{
	if (!d)
		return;
	ms_free(d->slots);
	ms_buf_release(&d->scratch);
	ms_free(d);
}

size_t output_dedup_size(const struct output_dedup *d)
{
	return d->n;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Eight bytes at a time, as the JSON escape scan: a word with a byte below
 * 0x20 (the has-less-than test never misses one) or two spaces next to each
 * other (an exact per-byte mask of the spaces, ANDed with itself shifted by
 * one byte) is not normal; pairs across words are checked byte-wise.
 */
bool output_text_is_normal(const char *s, size_t len)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	const uint64_t lows = 0x7f7f7f7f7f7f7f7fu;
	size_t i = 0;

	if (len == 0)
		return true;
	if (s[0] == ' ' || s[len - 1] == ' ')
		return false;
	for (; i + 8 <= len; i += 8) {
		uint64_t w, x, sp;

		memcpy(&w, s + i, 8);
		x = w ^ (ones * ' ');
		/* 0x80 in exactly the bytes of w that are spaces */
		sp = ~(((x & lows) + lows) | x | lows);
		if (((w - ones * 0x20) & ~w & highs) || (sp & (sp << 8)))
			return false;
		if (i > 0 && s[i - 1] == ' ' && s[i] == ' ')
			return false;
	}
	for (; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || (i > 0 && s[i] == ' ' && s[i - 1] == ' '))
			return false;
	}
	return true;
}

void output_text_normalise(struct ms_buf *b, const char *s, size_t len)
{
	size_t i = 0, start;
	bool first = true;

	for (;;) {
		while (i < len && is_ws((unsigned char)s[i]))
			i++;
		if (i >= len)
			break;
		start = i;
		while (i < len && !is_ws((unsigned char)s[i]))
			i++;
		if (!first)
			ms_buf_addch(b, ' ');
		ms_buf_add(b, s + start, i - start);
		first = false;
	}
}

int output_dedup_key(unsigned char out[OUTPUT_DEDUP_KEY_LEN], struct ms_buf *scratch,
                     const struct output_example *ex)
{
	unsigned char digest[MS_SHA256_LEN];
	struct output_turn tmp[2];
	const struct output_turn *turns;
	size_t n, i, mark;
	int rc;

	ms_buf_reset(scratch);
	n = output_example_turns(&turns, tmp, ex);
	for (i = 0; i < n; i++) {
		unsigned char len_le[8];
		size_t len, k;

		/* role byte, 8-byte length, text: no two turn lists share an encoding */
		ms_buf_addch(scratch, turns[i].role == OUTPUT_ROLE_USER ? 'u' : 'a');
		mark = scratch->len;
		ms_buf_add(scratch, "\0\0\0\0\0\0\0\0", 8);
		output_text_normalise(scratch, turns[i].text, turns[i].len);
		if (ms_buf_status(scratch))
			break;
		len = scratch->len - mark - 8;
		for (k = 0; k < 8; k++)
			len_le[k] = (unsigned char)((uint64_t)len >> (8 * k));
		memcpy(scratch->buf + mark, len_le, 8);
	}
	rc = ms_buf_status(scratch);
	if (rc < 0)
		return rc;
	ms_sha256(digest, scratch->buf, scratch->len);
	memcpy(out, digest, OUTPUT_DEDUP_KEY_LEN);
	return 0;
}

static bool is_zero(const unsigned char *k)
{
	static const unsigned char zero[OUTPUT_DEDUP_KEY_LEN];

	return memcmp(k, zero, OUTPUT_DEDUP_KEY_LEN) == 0;
}

static size_t slot_of(const unsigned char *k, size_t n_slots)
{
	size_t h = 0;
	int i;

	for (i = 0; i < 8; i++)
		h = h << 8 | k[i];
	return h & (n_slots - 1);
}

/* Returns the slot holding k or the empty slot where it belongs. */
static size_t probe(unsigned char (*slots)[OUTPUT_DEDUP_KEY_LEN], size_t n_slots,
                    const unsigned char *k)
{
	size_t i = slot_of(k, n_slots);

	while (!is_zero(slots[i]) && memcmp(slots[i], k, OUTPUT_DEDUP_KEY_LEN) != 0)
		i = (i + 1) & (n_slots - 1);
	return i;
}

static int grow(struct output_dedup *d)
{
	unsigned char(*slots)[OUTPUT_DEDUP_KEY_LEN];
	size_t n_slots, i;

	if (!d->slots) {
		n_slots = DEDUP_INITIAL_SLOTS;
	} else if (!ms_size_mul(&n_slots, d->n_slots, 2)) {
		return MS_ENOMEM;
	}
	slots = ms_calloc(n_slots, OUTPUT_DEDUP_KEY_LEN);
	if (!slots)
		return MS_ENOMEM;
	for (i = 0; d->slots && i < d->n_slots; i++) {
		if (!is_zero(d->slots[i]))
			memcpy(slots[probe(slots, n_slots, d->slots[i])], d->slots[i],
			       OUTPUT_DEDUP_KEY_LEN);
	}
	ms_free(d->slots);
	d->slots = slots;
	d->n_slots = n_slots;
	return 0;
}

int output_dedup_insert(bool *seen_out, struct output_dedup *d, const struct output_example *ex,
                        struct ms_error *err)
{
	unsigned char k[OUTPUT_DEDUP_KEY_LEN];
	size_t i;
	int rc;

	*seen_out = false;
	rc = output_dedup_key(k, &d->scratch, ex);
	if (rc < 0)
		return ms_error_set(err, rc, "cannot fingerprint example: %s", ms_status_str(rc));
	if (is_zero(k)) {
		*seen_out = d->has_zero;
		if (!d->has_zero)
			d->n++;
		d->has_zero = true;
		return 0;
	}
	/* keep the load factor at or below 1/2 so probes stay short */
	if ((d->n + 1) * 2 > d->n_slots) {
		rc = grow(d);
		if (rc < 0)
			return ms_error_set(err, rc, "out of memory growing the duplicate set");
	}
	i = probe(d->slots, d->n_slots, k);
	if (!is_zero(d->slots[i])) {
		*seen_out = true;
		return 0;
	}
	memcpy(d->slots[i], k, OUTPUT_DEDUP_KEY_LEN);
	d->n++;
	return 0;
}
