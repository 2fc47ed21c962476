/* SPDX-License-Identifier: MIT */
/*
 * Training: an averaged structured perceptron (Collins 2002) over BIO tag
 * sequences, one sequence per chunk (tokens between blank lines).
 *
 * Why a perceptron and not a CRF: it has no learning rate or
 * regularisation constant to tune on 54 documents, each update touches only
 * the rows of the mistaken tokens (so an epoch over a few MB of text takes
 * seconds), and with a fixed visiting order it is bit-for-bit
 * deterministic. Averaging (weights averaged over every update step, here
 * via the Daumé trick w - u / c) gives most of the generalisation of a
 * regularised model.
 *
 * Features are hashed once per document before the first epoch; weights
 * are a dense 2^hash_bits x tags array during training and only rows whose
 * largest averaged weight reaches min_weight are kept in the model.
 */
#include "ner/ner.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "ner/ner_int.h"

#define DEFAULT_EPOCHS    12
#define DEFAULT_SEED      1
#define DEFAULT_HASH_BITS 20
#define DEFAULT_HASH_SEED 0x6d73u
#define DEFAULT_MIN_W     1e-3f

struct chunk {
	size_t tok; /* first token in the global arrays */
	size_t n;
};

struct trainer {
	unsigned T;
	unsigned hash_bits;
	/* all training tokens */
	uint32_t *ids; /* features */
	size_t n_ids, cap_ids;
	size_t *off; /* n_tok + 1 */
	size_t n_tok, cap_off;
	unsigned char *gold;
	size_t cap_gold;
	struct chunk *chunks;
	size_t n_chunks, cap_chunks;
	/* weights */
	float *w;  /* rows x T */
	double *u; /* c-weighted sums, for averaging */
	float *tw; /* (T + 1) x T */
	double *tu;
	/* scratch per chunk */
	float *em, *score;
	unsigned char *back, *pred;
	size_t cap_seq;
};

static void trainer_release(struct trainer *t)
{
	ms_free(t->ids);
	ms_free(t->off);
	ms_free(t->gold);
	ms_free(t->chunks);
	ms_free(t->w);
	ms_free(t->u);
	ms_free(t->tw);
	ms_free(t->tu);
	ms_free(t->em);
	ms_free(t->score);
	ms_free(t->back);
	ms_free(t->pred);
}

static int span_cmp(const void *a, const void *b)
{
	const struct ner_span *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1; /* longer first */
	return 0;
}

/*
 * Gold tags of a document's tokens: overlapping spans resolved (earlier
 * start, then longer span wins), a token touched by a span belongs to it.
 */
static int gold_tags(unsigned char *tags, const struct ner_doc *d, const struct ner_token *toks,
                     size_t n, const int *label_map, struct ms_error *err)
{
	struct ner_span *sp = NULL;
	size_t i, k = 0, last_end = 0;

	memset(tags, NER_TAG_O, n);
	if (d->n_spans == 0)
		return 0;
	sp = ms_malloc(d->n_spans * sizeof(*sp));
	if (!sp)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	memcpy(sp, d->spans, d->n_spans * sizeof(*sp));
	qsort(sp, d->n_spans, sizeof(*sp), span_cmp);
	for (i = 0; i < d->n_spans; i++) {
		int li = ner_label_index(sp[i].label);
		int l;
		bool first = true;

		assert(li >= 0); /* corpora hold canonical labels only */
		l = label_map[li];

		if (sp[i].start < last_end)
			continue; /* overlaps a kept span */
		last_end = sp[i].end;
		while (k < n && toks[k].end <= sp[i].start)
			k++;
		for (; k < n && toks[k].start < sp[i].end; k++) {
			if (tags[k] != NER_TAG_O)
				continue;
			tags[k] = (unsigned char)(first ? NER_TAG_B(l) : NER_TAG_I(l));
			first = false;
		}
	}
	ms_free(sp);
	return 0;
}

static int add_doc(struct trainer *t, const struct ner_doc *d, struct ner_tokenizer *tk,
                   struct ms_arena *arena, struct ner_feat_work *fw, const int *label_map,
                   const struct ner_train_opts *o, struct ms_error *err)
{
	struct ner_token *toks;
	size_t n, i;
	int rc;

	ms_arena_reset(arena);
	rc = ner_tokenizer_run(tk, d->text, d->len, arena, &toks, &n, err);
	if (rc < 0 || n == 0)
		return rc;
	rc = ner_feat_work_hash(fw, d->text, d->len, toks, n, o->gaz, o->hash_bits, o->hash_seed,
	                        err);
	if (rc < 0)
		return rc;
	if (MS_GROW(t->ids, t->cap_ids, t->n_ids + fw->off[n]) < 0 ||
	    MS_GROW(t->off, t->cap_off, t->n_tok + n + 1) < 0 ||
	    MS_GROW(t->gold, t->cap_gold, t->n_tok + n) < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	memcpy(t->ids + t->n_ids, fw->ids, fw->off[n] * sizeof(uint32_t));
	for (i = 0; i <= n; i++)
		t->off[t->n_tok + i] = t->n_ids + fw->off[i];
	rc = gold_tags(t->gold + t->n_tok, d, toks, n, label_map, err);
	if (rc < 0)
		return rc;
	for (i = 0; i < n;) {
		size_t e = ner_chunk_end(d->text, toks, n, i);

		if (MS_GROW(t->chunks, t->cap_chunks, t->n_chunks + 1) < 0)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		t->chunks[t->n_chunks].tok = t->n_tok + i;
		t->chunks[t->n_chunks].n = e - i;
		t->n_chunks++;
		if (e - i > t->cap_seq)
			t->cap_seq = e - i;
		i = e;
	}
	t->n_ids += fw->off[n];
	t->n_tok += n;
	return 0;
}

static void update_row(struct trainer *t, size_t tok, unsigned tag, float delta, double c)
{
	size_t k;

	for (k = t->off[tok]; k < t->off[tok + 1]; k++) {
		size_t cell = (size_t)t->ids[k] * t->T + tag;

		t->w[cell] += delta;
		t->u[cell] += c * delta;
	}
}

static void update_trans(struct trainer *t, unsigned from, unsigned to, float delta, double c)
{
	size_t cell = (size_t)from * t->T + to;

	t->tw[cell] += delta;
	t->tu[cell] += c * delta;
}

/* One perceptron step on a chunk; returns the number of wrong tokens. */
static size_t step(struct trainer *t, const struct chunk *ch, double c)
{
	unsigned T = t->T;
	const unsigned char *gold = t->gold + ch->tok;
	size_t i, wrong = 0;

	for (i = 0; i < ch->n; i++) {
		float *em = t->em + i * T;
		size_t k;
		unsigned tag;

		memset(em, 0, T * sizeof(float));
		for (k = t->off[ch->tok + i]; k < t->off[ch->tok + i + 1]; k++) {
			const float *w = t->w + (size_t)t->ids[k] * T;

			for (tag = 0; tag < T; tag++)
				em[tag] += w[tag];
		}
	}
	ner_viterbi(t->tw, t->tw + (size_t)T * T, T, t->em, ch->n, t->score, t->back, t->pred);
	for (i = 0; i < ch->n; i++) {
		unsigned gp = i ? gold[i - 1] : T, pp = i ? t->pred[i - 1] : T;

		if (gold[i] != t->pred[i]) {
			wrong++;
			update_row(t, ch->tok + i, gold[i], 1.0f, c);
			update_row(t, ch->tok + i, t->pred[i], -1.0f, c);
		}
		if (gold[i] != t->pred[i] || gp != pp) {
			update_trans(t, gp, gold[i], 1.0f, c);
			update_trans(t, pp, t->pred[i], -1.0f, c);
		}
	}
	return wrong;
}

static float absf(float v)
{
	return v < 0 ? -v : v;
}

/* The weight of a cell as the model will hold it (averaged unless asked not to). */
static float final_weight(const float *w, const double *u, size_t cell, double c,
                          const struct ner_train_opts *o)
{
	return o->no_average ? w[cell] : (float)(w[cell] - u[cell] / c);
}

/* Whether row r keeps any weight of at least min_weight. */
static bool row_kept(const struct trainer *t, size_t r, double c, const struct ner_train_opts *o)
{
	unsigned k;
	float mx = 0;

	for (k = 0; k < t->T; k++) {
		float v = absf(final_weight(t->w, t->u, r * t->T + k, c, o));

		if (v > mx)
			mx = v;
	}
	return mx >= o->min_weight;
}

/*
 * Averaged weights, rows below min_weight dropped, into m (labels, tags and
 * hash parameters set). The trainer is left as it was, so that a snapshot
 * after an epoch can be taken and training go on.
 */
static int finish(struct ner_model *m, const struct trainer *t, double c,
                  const struct ner_train_opts *o, struct ms_error *err)
{
	unsigned T = t->T, k;
	size_t rows = (size_t)1 << t->hash_bits, r, kept = 0, i;
	size_t tcells = (size_t)(T + 1) * T;
	float *w;

	for (r = 0; r < rows; r++) {
		if (row_kept(t, r, c, o))
			kept++;
	}
	m->own_rows = ms_malloc((kept + 1) * sizeof(uint32_t));
	m->own_weights = ms_malloc((kept * T + 1) * sizeof(float));
	m->own_trans = ms_malloc(tcells * sizeof(float));
	if (!m->own_rows || !m->own_weights || !m->own_trans)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	for (i = 0; i < tcells; i++)
		m->own_trans[i] = final_weight(t->tw, t->tu, i, c, o);
	w = m->own_weights;
	kept = 0;
	for (r = 0; r < rows; r++) {
		if (!row_kept(t, r, c, o))
			continue;
		m->own_rows[kept] = (uint32_t)r;
		for (k = 0; k < T; k++)
			w[kept * T + k] = final_weight(t->w, t->u, r * T + k, c, o);
		kept++;
	}
	m->trans = m->own_trans;
	m->row_ids = m->own_rows;
	m->weights = m->own_weights;
	m->n_rows = kept;
	return ner_model_index_build(m, err);
}

/* The model as it would be if training stopped now, for o->snapshot. */
static int snapshot(const struct ner_model *proto, const struct trainer *t, double c,
                    unsigned epoch, const struct ner_train_opts *o, struct ms_error *err)
{
	struct ner_model *m = ms_calloc(1, sizeof(*m));
	int rc;

	if (!m)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	m->hash_bits = proto->hash_bits;
	m->hash_seed = proto->hash_seed;
	m->n_labels = proto->n_labels;
	m->n_tags = proto->n_tags;
	memcpy(m->labels, proto->labels, sizeof(m->labels));
	memcpy(m->gaz_fp, proto->gaz_fp, sizeof(m->gaz_fp));
	rc = ner_gazetteer_copy(&m->gaz, proto->gaz, err);
	if (rc == 0 && !m->gaz)
		rc = ner_gazetteer_new(&m->gaz, err);
	if (rc == 0)
		rc = finish(m, t, c, o, err);
	if (rc == 0 && o->snapshot(epoch, m, o->payload) != 0)
		rc = ms_error_set(err, MS_ECANCELLED, "training stopped after epoch %u", epoch);
	ner_model_free(m);
	return rc;
}

static int check_opts(struct ner_train_opts *o, struct ms_error *err)
{
	if (o->epochs == 0)
		o->epochs = DEFAULT_EPOCHS;
	if (o->seed == 0)
		o->seed = DEFAULT_SEED;
	if (o->hash_bits == 0)
		o->hash_bits = DEFAULT_HASH_BITS;
	if (o->hash_seed == 0)
		o->hash_seed = DEFAULT_HASH_SEED;
	if (o->min_weight <= 0)
		o->min_weight = DEFAULT_MIN_W;
	if (o->hash_bits < NER_HASH_BITS_MIN || o->hash_bits > NER_HASH_BITS_MAX)
		return ms_error_set(err, MS_EUSAGE, "hash bits %u out of range %d..%d",
		                    o->hash_bits, NER_HASH_BITS_MIN, NER_HASH_BITS_MAX);
	if (o->epochs > 1000)
		return ms_error_set(err, MS_EUSAGE, "%u epochs is too many", o->epochs);
	return 0;
}

/*
 * The model's label set: labels of the training spans, in label-set order;
 * label_map[l] gets the model index of label l or -1.
 */
static int collect_labels(struct ner_model *m, int *label_map, const struct ner_corpus *c,
                          const size_t *docs, size_t n_docs, struct ms_error *err)
{
	bool used[NER_N_LABELS] = { false };
	size_t i, j;
	unsigned l;

	for (i = 0; i < n_docs; i++) {
		size_t di = docs ? docs[i] : i;
		const struct ner_doc *d = ner_corpus_doc(c, di);

		if (!d)
			return ms_error_set(err, MS_EUSAGE, "document index %zu out of range", di);
		for (j = 0; j < d->n_spans; j++) {
			int li = ner_label_index(d->spans[j].label);

			if (li >= 0)
				used[li] = true;
		}
	}
	for (l = 0; l < NER_N_LABELS; l++) {
		label_map[l] = -1;
		if (used[l]) {
			label_map[l] = (int)m->n_labels;
			m->labels[m->n_labels++] = ner_label_name(l);
		}
	}
	if (m->n_labels == 0)
		return ms_error_set(err, MS_EINVAL, "no annotated span in the training documents");
	return 0;
}

static int trainer_alloc(struct trainer *t, size_t **order, struct ms_error *err)
{
	size_t rows = (size_t)1 << t->hash_bits, i;

	t->w = ms_calloc(rows * t->T, sizeof(float));
	t->u = ms_calloc(rows * t->T, sizeof(double));
	t->tw = ms_calloc((size_t)(t->T + 1) * t->T, sizeof(float));
	t->tu = ms_calloc((size_t)(t->T + 1) * t->T, sizeof(double));
	t->em = ms_malloc((t->cap_seq + 1) * t->T * sizeof(float));
	t->score = ms_malloc((t->cap_seq + 1) * t->T * sizeof(float));
	t->back = ms_malloc((t->cap_seq + 1) * t->T);
	t->pred = ms_malloc(t->cap_seq + 1);
	*order = ms_malloc((t->n_chunks + 1) * sizeof(**order));
	if (!t->w || !t->u || !t->tw || !t->tu || !t->em || !t->score || !t->back || !t->pred ||
	    !*order)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	for (i = 0; i < t->n_chunks; i++)
		(*order)[i] = i;
	return 0;
}

/* The epochs; *cnt ends as the number of steps + 1 (for averaging). */
static int run_epochs(const struct ner_model *proto, struct trainer *t, size_t *order,
                      const struct ner_train_opts *o, double *cnt, struct ms_error *err)
{
	struct ner_rng rng;
	unsigned e;
	size_t i;

	rng.s = o->seed;
	for (e = 1; e <= o->epochs; e++) {
		size_t wrong = 0;

		/* Fisher-Yates with the seeded PRNG: the same order everywhere */
		for (i = t->n_chunks; i > 1; i--) {
			size_t k = ner_rng_below(&rng, i), tmp = order[i - 1];

			order[i - 1] = order[k];
			order[k] = tmp;
		}
		for (i = 0; i < t->n_chunks; i++) {
			wrong += step(t, &t->chunks[order[i]], *cnt);
			*cnt += 1;
		}
		if (o->progress && o->progress(e, wrong, t->n_tok, o->payload) != 0)
			return ms_error_set(err, MS_ECANCELLED, "training stopped after epoch %u",
			                    e);
		if (o->snapshot && e < o->epochs) {
			int rc = snapshot(proto, t, *cnt, e, o, err);

			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int ner_model_train(struct ner_model **out, const struct ner_corpus *c, const size_t *docs,
                    size_t n_docs, const struct ner_train_opts *opts, struct ms_error *err)
{
	struct ner_train_opts o = NER_TRAIN_OPTS_INIT;
	struct trainer t;
	struct ner_model *m = NULL;
	struct ner_tokenizer *tk = NULL;
	struct ms_arena arena;
	struct ner_feat_work fw;
	struct ms_buf file = MS_BUF_INIT;
	size_t *order = NULL, i;
	int label_map[NER_N_LABELS];
	double cnt = 1;
	int rc;

	*out = NULL;
	memset(&t, 0, sizeof(t));
	ner_feat_work_init(&fw);
	ms_arena_init(&arena, 64 << 10);
	if (opts)
		o = *opts;
	rc = check_opts(&o, err);
	if (rc < 0)
		goto out;
	if (!docs)
		n_docs = ner_corpus_n_docs(c);
	if (n_docs == 0) {
		rc = ms_error_set(err, MS_EINVAL, "no training documents");
		goto out;
	}
	m = ms_calloc(1, sizeof(*m));
	if (!m) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	rc = collect_labels(m, label_map, c, docs, n_docs, err);
	if (rc < 0)
		goto out;
	m->n_tags = 2 * m->n_labels + 1;
	m->hash_bits = o.hash_bits;
	m->hash_seed = o.hash_seed;
	t.T = m->n_tags;
	t.hash_bits = o.hash_bits;
	rc = ner_gazetteer_copy(&m->gaz, o.gaz, err);
	if (rc == 0 && !m->gaz)
		rc = ner_gazetteer_new(&m->gaz, err);
	if (rc < 0)
		goto out;
	ner_gazetteer_fingerprint(m->gaz, m->gaz_fp);
	rc = ner_tokenizer_new(&tk, err);
	for (i = 0; rc == 0 && i < n_docs; i++) {
		rc = add_doc(&t, ner_corpus_doc(c, docs ? docs[i] : i), tk, &arena, &fw, label_map,
		             &o, err);
		if (rc < 0)
			ms_error_set_record(err, i + 1);
	}
	if (rc == 0)
		rc = trainer_alloc(&t, &order, err);
	if (rc == 0)
		rc = run_epochs(m, &t, order, &o, &cnt, err);
	if (rc == 0)
		rc = finish(m, &t, cnt, &o, err);
	/* size and checksum as a file, so ner_model_info() describes it */
	if (rc == 0)
		rc = ner_model_serialize(m, &file, err);
	if (rc < 0)
		goto out;
	m->file_size = file.len;
	memcpy(m->checksum, file.buf + file.len - MS_SHA256_LEN, MS_SHA256_LEN);
	*out = m;
	m = NULL;
out:
	ms_buf_release(&file);
	ms_free(order);
	ner_model_free(m);
	ner_tokenizer_free(tk);
	ner_feat_work_release(&fw);
	ms_arena_release(&arena);
	trainer_release(&t);
	return rc;
}
