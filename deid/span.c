/* SPDX-License-Identifier: MIT */
/*
 * PHI labels, span lists and the merging of overlapping candidates into the
 * sorted, non-overlapping spans that replacement needs (priority documented
 * in deid.h, section 3). Not for finding anything: the detector's parts
 * produce candidates, this file only decides between them.
 */
#include "deid/deid.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/bits.h"
#include "deid/detect_int.h"

static const char *const label_names[PHI_LABEL_COUNT] = {
	[PHI_PATIENT] = "PATIENT",
	[PHI_STAFF] = "STAFF",
	[PHI_PERSON_OTHER] = "PERSON_OTHER",
	[PHI_TITLE] = "TITLE",
	[PHI_DATE] = "DATE",
	[PHI_BIRTHDATE] = "BIRTHDATE",
	[PHI_AGE] = "AGE",
	[PHI_ID] = "ID",
	[PHI_PHONE] = "PHONE",
	[PHI_EMAIL] = "EMAIL",
	[PHI_URL] = "URL",
	[PHI_STREET] = "STREET",
	[PHI_ZIP] = "ZIP",
	[PHI_CITY] = "CITY",
	[PHI_COUNTRY] = "COUNTRY",
	[PHI_HOSPITAL] = "HOSPITAL",
	[PHI_ORGANIZATION] = "ORGANIZATION",
	[PHI_PROFESSION] = "PROFESSION",
	[PHI_OTHER] = "OTHER",
};

/* Merge order of the labels (deid.h): index = label, value = rank. */
static const unsigned char label_rank[PHI_LABEL_COUNT] = {
	[PHI_PATIENT] = 0,   [PHI_STAFF] = 1,       [PHI_PERSON_OTHER] = 2,
	[PHI_BIRTHDATE] = 3, [PHI_DATE] = 4,        [PHI_AGE] = 5,
	[PHI_ID] = 6,        [PHI_PHONE] = 7,       [PHI_EMAIL] = 8,
	[PHI_URL] = 9,       [PHI_STREET] = 10,     [PHI_ZIP] = 11,
	[PHI_CITY] = 12,     [PHI_HOSPITAL] = 13,   [PHI_ORGANIZATION] = 14,
	[PHI_COUNTRY] = 15,  [PHI_PROFESSION] = 16, [PHI_TITLE] = 17,
	[PHI_OTHER] = 18,
};

const char *phi_label_name(enum phi_label label)
{
	if ((unsigned)label >= PHI_LABEL_COUNT)
		return NULL;
	return label_names[label];
}

int phi_label_parse(enum phi_label *out, const char *name)
{
	unsigned i;

	for (i = 0; i < PHI_LABEL_COUNT; i++) {
		if (strcmp(label_names[i], name) == 0) {
			*out = (enum phi_label)i;
			return 0;
		}
	}
	return MS_EINVAL;
}

int deid_label_rank(enum phi_label label)
{
	if ((unsigned)label >= PHI_LABEL_COUNT)
		return PHI_LABEL_COUNT;
	return label_rank[label];
}

/* ---- span and candidate lists ----------------------------------------- */

int deid_spans_add(struct deid_spans *spans, const struct deid_span *span)
{
	if (MS_GROW(spans->v, spans->cap, spans->n + 1))
		return MS_ENOMEM;
	spans->v[spans->n++] = *span;
	return 0;
}

void deid_spans_reset(struct deid_spans *spans)
{
	spans->n = 0;
}

void deid_spans_release(struct deid_spans *spans)
{
	if (!spans)
		return;
	ms_free(spans->v);
	spans->v = NULL;
	spans->n = 0;
	spans->cap = 0;
}

int deid_cands_add(struct deid_cands *c, const struct deid_cand *cand)
{
	if (MS_GROW(c->v, c->cap, c->n + 1))
		return MS_ENOMEM;
	c->v[c->n++] = *cand;
	return 0;
}

void deid_cands_release(struct deid_cands *c)
{
	if (!c)
		return;
	ms_free(c->v);
	c->v = NULL;
	c->n = 0;
	c->cap = 0;
}

int deid_regions_add(struct deid_regions *r, size_t start, size_t end)
{
	if (MS_GROW(r->v, r->cap, r->n + 1))
		return MS_ENOMEM;
	r->v[r->n].start = start;
	r->v[r->n].end = end;
	r->n++;
	return 0;
}

/* ---- merging ------------------------------------------------------------ */

static int cmp_str(const char *a, const char *b)
{
	if (a == b)
		return 0;
	if (!a)
		return -1;
	if (!b)
		return 1;
	return strcmp(a, b);
}

/* Strongest first (deid.h, "Merge priority"); a total order for determinism. */
static int cmp_strength(const void *pa, const void *pb)
{
	const struct deid_cand *a = pa, *b = pb;
	size_t la = a->span.end - a->span.start, lb = b->span.end - b->span.start;
	int c;

	if (a->rank != b->rank)
		return a->rank > b->rank ? -1 : 1;
	if (la != lb)
		return la > lb ? -1 : 1;
	if (a->priority != b->priority)
		return a->priority > b->priority ? -1 : 1;
	if (a->span.label != b->span.label)
		return deid_label_rank(a->span.label) < deid_label_rank(b->span.label) ? -1 : 1;
	if (a->span.start != b->span.start)
		return a->span.start < b->span.start ? -1 : 1;
	c = cmp_str(a->span.source, b->span.source);
	if (c)
		return c;
	if (a->span.field != b->span.field)
		return a->span.field < b->span.field ? -1 : 1;
	if (a->span.score != b->span.score)
		return a->span.score > b->span.score ? -1 : 1;
	return (a->span.gender > b->span.gender) - (a->span.gender < b->span.gender);
}

/* Blanks and ASCII punctuation are trimmed from the ends of leftover pieces. */
static bool is_trim_byte(unsigned char c)
{
	return c < 0x80 && !((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'));
}

/* ---- which bytes accepted spans cover: one bit per text byte ------------ */

/* The first byte in [from, end) whose bit is want (1: covered), or end. */
static inline size_t next_bit(const uint64_t *bits, size_t from, size_t end, bool want)
{
	while (from < end) {
		uint64_t w = bits[from / 64] >> (from % 64);

		if (!want)
			w = ~w & (from % 64 ? (~0ull >> (from % 64)) : ~0ull);
		if (w) {
			size_t at = from + (size_t)__builtin_ctzll(w);

			return at < end ? at : end;
		}
		from = (from / 64 + 1) * 64;
	}
	return end;
}

static void set_bits(uint64_t *bits, size_t s, size_t e)
{
	for (; s < e && s % 64; s++)
		ms_bit_set(bits, s);
	for (; s + 64 <= e; s += 64)
		bits[s / 64] = ~0ull;
	for (; s < e; s++)
		ms_bit_set(bits, s);
}

/*
 * Accepts [s, e) of candidate span tpl (trimmed of blanks and punctuation
 * unless whole: the candidate's own extent) into acc and covers its bytes;
 * drops it if nothing is left. Returns 0 or MS_ENOMEM.
 */
static int accept_piece(struct deid_spans *acc, uint64_t *covered, const struct deid_span *tpl,
                        size_t s, size_t e, bool whole, const char *text)
{
	struct deid_span sp = *tpl;

	if (!whole) {
		while (s < e && is_trim_byte((unsigned char)text[s]))
			s++;
		while (e > s && is_trim_byte((unsigned char)text[e - 1]))
			e--;
	}
	if (s >= e)
		return 0;
	if (MS_GROW(acc->v, acc->cap, acc->n + 1))
		return MS_ENOMEM;
	sp.start = s;
	sp.end = e;
	acc->v[acc->n++] = sp;
	set_bits(covered, s, e);
	return 0;
}

static int cmp_span_start(const void *pa, const void *pb)
{
	const struct deid_span *a = pa, *b = pb;

	return (a->start > b->start) - (a->start < b->start);
}

/* Sorts v[0, n) by start: insertion for a report's few dozen, qsort beyond. */
static void sort_by_start(struct deid_span *v, size_t n)
{
	size_t i, j;

	if (n > 64) {
		qsort(v, n, sizeof(*v), cmp_span_start);
		return;
	}
	for (i = 1; i < n; i++) {
		struct deid_span x = v[i];

		for (j = i; j > 0 && v[j - 1].start > x.start; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* A candidate in the merge order: rank and length packed into one key
 * (most pairs differ there), the rest of cmp_strength on ties. */
struct cand_ref {
	uint64_t key;
	const struct deid_cand *c;
};

static bool ref_before(const struct cand_ref *a, const struct cand_ref *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	return cmp_strength(a->c, b->c) < 0;
}

static uint64_t strength_key(const struct deid_cand *c)
{
	size_t l = c->span.end > c->span.start ? c->span.end - c->span.start : 0;
	uint64_t rank = c->rank < 0 ? 0 : c->rank > 255 ? 255 : (uint64_t)c->rank;

	if (l > UINT32_MAX)
		l = UINT32_MAX;
	/* ascending key = stronger first: higher rank, then longer */
	return (255 - rank) << 32 | (UINT32_MAX - (uint64_t)l);
}

/* Sorts each run of 8 of v[0, n) by insertion. */
static void sort_runs(struct cand_ref *v, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i += 8) {
		size_t end = i + 8 < n ? i + 8 : n;

		for (j = i + 1; j < end; j++) {
			struct cand_ref x = v[j];
			size_t k = j;

			for (; k > i && ref_before(&x, &v[k - 1]); k--)
				v[k] = v[k - 1];
			v[k] = x;
		}
	}
}

/* Merges the sorted runs [a, mid) and [mid, end) of v into tmp (stable). */
static void merge_runs(const struct cand_ref *v, struct cand_ref *tmp, size_t a, size_t mid,
                       size_t end)
{
	size_t b = mid, k = a;

	while (a < mid && b < end)
		tmp[k++] = ref_before(&v[b], &v[a]) ? v[b++] : v[a++];
	while (a < mid)
		tmp[k++] = v[a++];
	while (b < end)
		tmp[k++] = v[b++];
}

/* Sorts v[0, n) by ref_before, stably: merge sort through tmp (n entries). */
static void sort_refs(struct cand_ref *v, struct cand_ref *tmp, size_t n)
{
	size_t w, i;

	sort_runs(v, n);
	for (w = 8; w < n; w *= 2) {
		for (i = 0; i < n; i += 2 * w)
			merge_runs(v, tmp, i, i + w < n ? i + w : n, i + 2 * w < n ? i + 2 * w : n);
		memcpy(v, tmp, n * sizeof(*v));
	}
}

/* The candidates in merge order, strongest first; NULL if n is 0 or out of memory. */
static struct cand_ref *sorted_refs(const struct deid_cand *cands, size_t n)
{
	struct cand_ref *refs = NULL;
	size_t bytes, i;

	if (n && ms_size_mul(&bytes, n, 2 * sizeof(*refs)))
		refs = ms_malloc(bytes);
	if (!refs)
		return NULL;
	for (i = 0; i < n; i++) {
		refs[i].key = strength_key(&cands[i]);
		refs[i].c = &cands[i];
	}
	sort_refs(refs, refs + n, n);
	return refs;
}

int deid_cands_merge(struct deid_cand *cands, size_t n, const char *text, size_t len,
                     struct deid_spans *out, struct ms_error *err)
{
	struct deid_spans acc = DEID_SPANS_INIT;
	struct cand_ref *refs = sorted_refs(cands, n);
	/* the bytes that accepted spans cover: a candidate takes the gaps between
	 * them (a sorted array with insertions had made many spans quadratic) */
	uint64_t *covered = n ? ms_calloc(len / 64 + 1, sizeof(*covered)) : NULL;
	size_t i;
	int rc = 0;

	if (n && (!refs || !covered)) {
		rc = MS_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct deid_span *sp = &refs[i].c->span;
		size_t pos = sp->start;

		if (sp->start >= sp->end || sp->end > len)
			continue;
		/* each gap between the bytes already covered */
		while ((pos = next_bit(covered, pos, sp->end, false)) < sp->end) {
			size_t gap_end = next_bit(covered, pos, sp->end, true);

			rc = accept_piece(&acc, covered, sp, pos, gap_end,
			                  pos == sp->start && gap_end == sp->end, text);
			if (rc)
				goto out;
			pos = gap_end;
		}
	}
	/* accepted spans never overlap: by start is text order */
	sort_by_start(acc.v, acc.n);
	for (i = 0; i < acc.n; i++) {
		rc = deid_spans_add(out, &acc.v[i]);
		if (rc)
			goto out;
	}
out:
	deid_spans_release(&acc);
	ms_free(refs);
	ms_free(covered);
	if (rc < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return 0;
}

int deid_spans_merge(struct deid_spans *spans, const char *text, size_t len, struct ms_error *err)
{
	struct deid_cands c = { NULL, 0, 0 };
	struct deid_spans merged = DEID_SPANS_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; i < spans->n; i++) {
		struct deid_cand cand;

		cand.span = spans->v[i];
		switch (cand.span.source_kind) {
		case DEID_SOURCE_DICT:
			cand.rank = DEID_RANK_STRONG;
			break;
		case DEID_SOURCE_GAZETTEER:
			cand.rank = DEID_RANK_GAZ;
			break;
		default:
			cand.rank = DEID_RANK_RULE;
			break;
		}
		cand.priority = (int)(cand.span.score * 100.0f + 0.5f);
		rc = deid_cands_add(&c, &cand);
		if (rc) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
	}
	rc = deid_cands_merge(c.v, c.n, text, len, &merged, err);
	if (rc)
		goto out;
	/* hand the merged (sorted) array over; the caller's old array is freed */
	ms_free(spans->v);
	*spans = merged;
	merged.v = NULL;
out:
	deid_spans_release(&merged);
	deid_cands_release(&c);
	return rc;
}
