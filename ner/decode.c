/* SPDX-License-Identifier: MIT */
/*
 * Decoding: emission scores from the hashed feature rows, BIO-constrained
 * Viterbi per chunk (text between blank lines, as in training), and spans
 * from the best tag path. A tagger holds every buffer one thread needs, so
 * tagging a stream of documents allocates nothing in the steady state.
 */
#include "ner/ner.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "ner/ner_int.h"

struct ner_tagger {
	const struct ner_model *m;
	struct viterbi_plan *plan;
	struct ner_tokenizer *tk;
	struct ms_arena arena;
	struct ner_feat_work fw;
	float *em, *score;
	unsigned char *back, *path;
	size_t cap_tok;
	struct ner_span *spans;
	size_t cap_spans;
};

size_t ner_chunk_end(const char *s, const struct ner_token *toks, size_t n, size_t i)
{
	size_t j;

	for (j = i + 1; j < n; j++) {
		const char *a = s + toks[j - 1].end;
		const char *nl = memchr(a, '\n', toks[j].start - toks[j - 1].end);

		if (nl && memchr(nl + 1, '\n', (size_t)(s + toks[j].start - nl - 1)))
			break;
	}
	return j;
}

/*
 * Viterbi, BIO-constrained. Tags are O, B-X, I-X per label (ner_int.h).
 * Only O and B-X ("free" tags) may follow any tag; I-X follows B-X or I-X
 * only, so its best predecessor is one comparison. For the free tags the
 * search over all sources runs with sources outside and targets inside,
 * over a copy of their transition columns made contiguous (a plan, made
 * once per tagger or per call of ner_viterbi), four targets at a time with
 * GCC or Clang (compare and blend on vectors). Strictly greater wins,
 * sources in increasing order: the first best source is kept, as a scalar
 * search would.
 *
 * Most sources cannot win any target: their score is far below the best
 * tag's (O's, mostly). After source O, every target's best is at least lb,
 * the least of them; a source p with prev[p] + (its best transition to a
 * free tag) <= lb cannot be strictly greater anywhere and is skipped. This
 * is exact, not a beam: float addition is monotone, so prev[p] + tp <=
 * prev[p] + rowmax <= lb <= best for every target, and -inf sources are
 * skipped as the full search would never pick them. It skips about 19 of
 * 20 sources on the shipped model.
 */
#if defined(__GNUC__)
typedef float ner_v4f __attribute__((vector_size(16)));
typedef int ner_v4i __attribute__((vector_size(16)));
#endif

struct viterbi_plan {
	/* transition weights of the free targets: tp[from * n_free + k] for target tag[k] */
	float tp[NER_MAX_TAGS * (NER_N_LABELS + 1)];
	float rowmax[NER_MAX_TAGS]; /* max of tp over the free targets, per source */
	float b_to_i[NER_MAX_TAGS]; /* for I-X tags t: trans[t - 1][t] and trans[t][t] */
	float i_to_i[NER_MAX_TAGS];
	unsigned char tag[NER_N_LABELS + 1];
	unsigned n_free;
	unsigned n_tags;
	const float *start;
};

static void viterbi_plan_init(struct viterbi_plan *vp, const float *trans, const float *start,
                              unsigned n_tags)
{
	unsigned t, k, p, nf = 0;

	assert(n_tags <= NER_MAX_TAGS && n_tags % 2 == 1);
	for (t = 0; t < n_tags; t++) {
		if (t == NER_TAG_O || NER_TAG_IS_B(t))
			vp->tag[nf++] = (unsigned char)t;
	}
	for (p = 0; p < n_tags; p++) {
		float *row = vp->tp + (size_t)p * nf;

		for (k = 0; k < nf; k++)
			row[k] = trans[(size_t)p * n_tags + vp->tag[k]];
		vp->rowmax[p] = row[0];
		for (k = 1; k < nf; k++)
			vp->rowmax[p] = row[k] > vp->rowmax[p] ? row[k] : vp->rowmax[p];
	}
	for (t = 2; t < n_tags; t += 2) {
		vp->b_to_i[t] = trans[(size_t)(t - 1) * n_tags + t];
		vp->i_to_i[t] = trans[(size_t)t * n_tags + t];
	}
	vp->n_free = nf;
	vp->n_tags = n_tags;
	vp->start = start;
}

/* best[k], from[k] = max(best[k], pv + row[k]) with source p, for the nf free targets. */
static void relax_source(float *best, int *from, const float *row, float pv, unsigned p,
                         unsigned nf)
{
	unsigned k = 0;

#if defined(__GNUC__)
	for (; k + 4 <= nf; k += 4) {
		ner_v4f r, b, c;
		ner_v4i f, m, pp = { (int)p, (int)p, (int)p, (int)p };

		memcpy(&r, row + k, sizeof(r));
		memcpy(&b, best + k, sizeof(b));
		memcpy(&f, from + k, sizeof(f));
		c = r + pv;
		m = c > b;
		b = (ner_v4f)(((ner_v4i)c & m) | ((ner_v4i)b & ~m));
		f = (pp & m) | (f & ~m);
		memcpy(best + k, &b, sizeof(b));
		memcpy(from + k, &f, sizeof(f));
	}
#endif
	for (; k < nf; k++) {
		float c = pv + row[k];

		if (c > best[k]) {
			best[k] = c;
			from[k] = (int)p;
		}
	}
}

/* Index of the lowest set bit of x != 0. */
static inline unsigned lowest_bit(uint64_t x)
{
#if defined(__GNUC__)
	return (unsigned)__builtin_ctzll(x);
#else
	unsigned i = 0;

	while (!(x & 1u)) {
		x >>= 1;
		i++;
	}
	return i;
#endif
}

static void viterbi_step(const struct viterbi_plan *vp, const float *prev, const float *e,
                         float *cur, unsigned char *bk)
{
	float best[NER_N_LABELS + 1], lb;
	int from[NER_N_LABELS + 1];
	unsigned nf = vp->n_free, n_tags = vp->n_tags, k, p, t;
	uint64_t live = 0;

	lb = INFINITY;
	for (k = 0; k < nf; k++) {
		best[k] = prev[0] + vp->tp[k];
		from[k] = 0;
		lb = best[k] < lb ? best[k] : lb;
	}
	/* the sources that may still win a target, as a bit set (no branch per source) */
	for (p = 1; p < n_tags; p++)
		live |= (uint64_t) !(prev[p] + vp->rowmax[p] <= lb) << p;
	while (live) {
		p = lowest_bit(live);
		live &= live - 1;
		relax_source(best, from, vp->tp + (size_t)p * nf, prev[p], p, nf);
	}
	for (k = 0; k < nf; k++) {
		t = vp->tag[k];
		cur[t] = best[k] + e[t];
		bk[t] = (unsigned char)from[k];
	}
	for (t = 2; t < n_tags; t += 2) {
		/* I-X follows B-X or I-X only */
		float sb = prev[t - 1] + vp->b_to_i[t];
		float si = prev[t] + vp->i_to_i[t];

		cur[t] = (si > sb ? si : sb) + e[t];
		bk[t] = (unsigned char)(si > sb ? t : t - 1);
	}
}

static void viterbi_run(const struct viterbi_plan *vp, const float *em, size_t n, float *score,
                        unsigned char *back, unsigned char *path)
{
	unsigned n_tags = vp->n_tags, t, best;
	size_t i;

	if (n == 0)
		return;
	for (t = 0; t < n_tags; t++) {
		/* no entity starts inside: I-X cannot come first */
		score[t] = (t != NER_TAG_O && !NER_TAG_IS_B(t)) ? -INFINITY : vp->start[t] + em[t];
		back[t] = 0;
	}
	for (i = 1; i < n; i++)
		viterbi_step(vp, score + (i - 1) * n_tags, em + i * n_tags, score + i * n_tags,
		             back + i * n_tags);
	best = 0;
	for (t = 1; t < n_tags; t++) {
		if (score[(n - 1) * n_tags + t] > score[(n - 1) * n_tags + best])
			best = t;
	}
	path[n - 1] = (unsigned char)best;
	for (i = n - 1; i > 0; i--)
		path[i - 1] = back[i * n_tags + path[i]];
}

void ner_viterbi(const float *trans, const float *start, unsigned n_tags, const float *em, size_t n,
                 float *score, unsigned char *back, unsigned char *path)
{
	struct viterbi_plan vp;

	if (n == 0)
		return;
	viterbi_plan_init(&vp, trans, start, n_tags);
	viterbi_run(&vp, em, n, score, back, path);
}

void ner_tagger_free(struct ner_tagger *tg)
{
	if (!tg)
		return;
	ner_tokenizer_free(tg->tk);
	ms_free(tg->plan);
	ms_arena_release(&tg->arena);
	ner_feat_work_release(&tg->fw);
	ms_free(tg->em);
	ms_free(tg->score);
	ms_free(tg->back);
	ms_free(tg->path);
	ms_free(tg->spans);
	ms_free(tg);
}

int ner_tagger_new(struct ner_tagger **out, const struct ner_model *m, struct ms_error *err)
{
	struct ner_tagger *tg;
	int rc;

	*out = NULL;
	tg = ms_calloc(1, sizeof(*tg));
	if (!tg)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	tg->m = m;
	ms_arena_init(&tg->arena, 64 << 10);
	ner_feat_work_init(&tg->fw);
	tg->plan = ms_malloc(sizeof(*tg->plan));
	if (!tg->plan) {
		ner_tagger_free(tg);
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	viterbi_plan_init(tg->plan, m->trans, m->trans + (size_t)m->n_tags * m->n_tags, m->n_tags);
	rc = ner_tokenizer_new(&tg->tk, err);
	if (rc < 0) {
		ner_tagger_free(tg);
		return rc;
	}
	*out = tg;
	return 0;
}

static int grow_tok(struct ner_tagger *tg, size_t n, unsigned n_tags, struct ms_error *err)
{
	size_t cap = tg->cap_tok ? tg->cap_tok : 256, cells;
	void *a, *b, *c, *d;

	if (n <= tg->cap_tok)
		return 0;
	while (cap < n)
		cap *= 2;
	if (!ms_size_mul(&cells, cap, n_tags) || cells > SIZE_MAX / sizeof(float))
		return ms_error_set(err, MS_ETOOBIG, "too many tokens (%zu)", n);
	a = ms_realloc(tg->em, cells * sizeof(float));
	if (a)
		tg->em = a;
	b = a ? ms_realloc(tg->score, cells * sizeof(float)) : NULL;
	if (b)
		tg->score = b;
	c = b ? ms_realloc(tg->back, cells) : NULL;
	if (c)
		tg->back = c;
	d = c ? ms_realloc(tg->path, cap) : NULL;
	if (d)
		tg->path = d;
	if (!d)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	tg->cap_tok = cap;
	return 0;
}

static int push_span(struct ner_tagger *tg, size_t *n, size_t start, size_t end, const char *label,
                     float margin, struct ms_error *err)
{
	if (MS_GROW(tg->spans, tg->cap_spans, *n + 1) < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	tg->spans[*n].start = start;
	tg->spans[*n].end = end;
	tg->spans[*n].label = label;
	/* softsign of the margin: monotone, in (0, 1), no libm needed */
	tg->spans[*n].score = 0.5f + 0.5f * margin / (1.0f + (margin < 0 ? -margin : margin));
	(*n)++;
	return 0;
}

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/*
 * A row is n_tags <= 39 floats, on up to four 64-byte lines: the lines of
 * its floats 0, 16, 32 and last (those inside the row) are all of them, as
 * no two of these are more than 16 floats apart.
 */
static inline void prefetch_row(const struct ner_model *m, uint32_t row)
{
	const float *w;

	if (row == NER_ROW_ABSENT)
		return;
	w = m->weights + (size_t)row * m->n_tags;
	PREFETCH(w);
	if (m->n_tags > 16)
		PREFETCH(w + 16);
	if (m->n_tags > 32)
		PREFETCH(w + 32);
	PREFETCH(w + m->n_tags - 1);
}

/*
 * The emission scores of one token: e[t] = 0 + w1[t] + w2[t] + ... over its
 * rows in feature order, the inner loop of tagging. With GCC or Clang the
 * sum runs four floats at a time in vector registers for the whole token
 * (one load and one addition per four floats and row; a loop adding into
 * e kept a load and a store per vector as well), instantiated per number
 * of whole vectors so that the accumulators are registers; the n_tags % 4
 * floats left go one by one. Per element the order of additions, and so
 * the result, is the same as a scalar loop's: lanes do not mix.
 */
#if defined(__GNUC__)
#define NER_MAX_VEC (NER_MAX_TAGS / 4)

/* rows[k0..k1) of the token, of total; the rows after k1 are prefetched. */
static inline __attribute__((always_inline)) void sum_rows_nv(float *restrict e,
                                                              const struct ner_model *m,
                                                              const uint32_t *rows, size_t k0,
                                                              size_t k1, size_t total, unsigned nv)
{
	ner_v4f acc[NER_MAX_VEC];
	unsigned T = m->n_tags, v, t;
	size_t k;

#pragma GCC unroll 16
	for (v = 0; v < nv; v++)
		acc[v] = (ner_v4f){ 0, 0, 0, 0 };
	for (t = 4 * nv; t < T; t++)
		e[t] = 0;
	for (k = k0; k < k1; k++) {
		const float *w;

		if (k + 8 < total)
			prefetch_row(m, rows[k + 8]);
		if (rows[k] == NER_ROW_ABSENT)
			continue;
		w = m->weights + (size_t)rows[k] * T;
#pragma GCC unroll 16
		for (v = 0; v < nv; v++) {
			ner_v4f b;

			memcpy(&b, w + (size_t)4 * v, sizeof(b));
			acc[v] += b;
		}
		for (t = 4 * nv; t < T; t++)
			e[t] += w[t];
	}
#pragma GCC unroll 16
	for (v = 0; v < nv; v++)
		memcpy(e + (size_t)4 * v, &acc[v], sizeof(acc[v]));
}

static void sum_rows(float *restrict e, const struct ner_model *m, const uint32_t *rows, size_t k0,
                     size_t k1, size_t total)
{
	switch (m->n_tags / 4) {
#define NER_SUM_CASE(nv)                                    \
	case nv:                                            \
		sum_rows_nv(e, m, rows, k0, k1, total, nv); \
		break;
		NER_SUM_CASE(0)
		NER_SUM_CASE(1)
		NER_SUM_CASE(2)
		NER_SUM_CASE(3)
		NER_SUM_CASE(4)
		NER_SUM_CASE(5)
		NER_SUM_CASE(6)
		NER_SUM_CASE(7)
		NER_SUM_CASE(8)
		NER_SUM_CASE(9)
#undef NER_SUM_CASE
	default:
		assert(0 && "n_tags above NER_MAX_TAGS");
		break;
	}
}
#else
static void sum_rows(float *restrict e, const struct ner_model *m, const uint32_t *rows, size_t k0,
                     size_t k1, size_t total)
{
	unsigned T = m->n_tags, t;
	size_t k;

	memset(e, 0, T * sizeof(float));
	for (k = k0; k < k1; k++) {
		const float *w;

		if (k + 8 < total)
			prefetch_row(m, rows[k + 8]);
		if (rows[k] == NER_ROW_ABSENT)
			continue;
		w = m->weights + (size_t)rows[k] * T;
		for (t = 0; t < T; t++)
			e[t] += w[t];
	}
}
#endif

/*
 * Emission scores of n tokens. Tagging is bound by memory latency: every
 * feature costs a random read of the row index and one of the weight row.
 * So the ids are first translated to rows in place with the index entries
 * prefetched well ahead, then rows are added with the next rows prefetched;
 * the loads overlap instead of waiting one by one (about twice as fast).
 */
static void emissions(const struct ner_model *m, uint32_t *ids, const uint32_t *off, size_t n,
                      float *em)
{
	size_t total = off[n], k, i;
	unsigned T = m->n_tags;

	for (k = 0; k < total; k++) {
		if (k + 16 < total)
			PREFETCH(&m->index[ids[k + 16]]);
		ids[k] = m->index[ids[k]];
	}
	for (k = 0; k < 8 && k < total; k++)
		prefetch_row(m, ids[k]);
	for (i = 0; i < n; i++)
		sum_rows(em + i * T, m, ids, off[i], off[i + 1], total);
}

/* Emission margin of token i: its tag's score minus the best other tag's. */
static float margin_of(const float *em, unsigned n_tags, unsigned tag)
{
	float best = -INFINITY;
	unsigned t;

	for (t = 0; t < n_tags; t++) {
		if (t != tag && em[t] > best)
			best = em[t];
	}
	return em[tag] - best;
}

int ner_tagger_tag(struct ner_tagger *tg, const char *text, size_t len,
                   const struct ner_span **spans_out, size_t *n_out, struct ms_error *err)
{
	const struct ner_model *m = tg->m;
	unsigned T = m->n_tags;
	struct ner_token *toks = NULL;
	size_t n = 0, i, n_spans = 0;
	int rc;

	*spans_out = NULL;
	*n_out = 0;
	ms_arena_reset(&tg->arena);
	rc = ner_tokenizer_run(tg->tk, text, len, &tg->arena, &toks, &n, err);
	if (rc < 0 || n == 0)
		return rc;
	rc = ner_feat_work_hash(&tg->fw, text, len, toks, n, m->gaz, m->hash_bits, m->hash_seed,
	                        err);
	if (rc < 0)
		return rc;
	rc = grow_tok(tg, n, T, err);
	if (rc < 0)
		return rc;
	emissions(m, tg->fw.ids, tg->fw.off, n, tg->em);
	for (i = 0; i < n;) {
		size_t e = ner_chunk_end(text, toks, n, i);

		viterbi_run(tg->plan, tg->em + i * T, e - i, tg->score + i * T, tg->back + i * T,
		            tg->path + i);
		i = e;
	}
	for (i = 0; i < n;) {
		unsigned t = tg->path[i];
		size_t j;
		float mg;

		if (t == NER_TAG_O) {
			i++;
			continue;
		}
		/* B-X (or, defensively, a stray I-X) opens a span; I-X extends it */
		mg = margin_of(tg->em + i * T, T, t);
		for (j = i + 1; j < n && tg->path[j] == NER_TAG_I(NER_TAG_LABEL(t)); j++) {
			float g = margin_of(tg->em + j * T, T, tg->path[j]);

			if (g < mg)
				mg = g;
		}
		rc = push_span(tg, &n_spans, toks[i].start, toks[j - 1].end,
		               m->labels[NER_TAG_LABEL(t)], mg, err);
		if (rc < 0)
			return rc;
		i = j;
	}
	*spans_out = tg->spans;
	*n_out = n_spans;
	return 0;
}

int ner_model_tag(const struct ner_model *m, const char *text, size_t len, ner_span_fn fn,
                  void *payload, struct ms_error *err)
{
	struct ner_tagger *tg = NULL;
	const struct ner_span *spans;
	size_t n, i;
	int rc;

	rc = ner_tagger_new(&tg, m, err);
	if (rc < 0 || !tg)
		return rc < 0 ? rc : MS_ENOMEM;
	rc = ner_tagger_tag(tg, text, len, &spans, &n, err);
	for (i = 0; rc == 0 && i < n; i++)
		rc = fn(&spans[i], payload);
	ner_tagger_free(tg);
	return rc;
}
