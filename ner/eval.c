/* SPDX-License-Identifier: MIT */
/*
 * Evaluation against gold spans: strict entity-level counts per label
 * (micro-averaged P/R/F1 as in CoNLL and the GraSCCo reference results),
 * label-agnostic PHI recall at entity and character level (what matters
 * for de-identification: was the text covered, whatever the label), a JSON
 * report, and the deterministic document folds for cross-validation.
 */
#include "ner/ner.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/json.h"
#include "ner/ner_int.h"

void ner_eval_init(struct ner_eval *ev)
{
	memset(ev, 0, sizeof(*ev));
}

static int label_of(const struct ner_span *s)
{
	int l = ner_label_index(s->label);

	/* a label that is not a canonical pointer: compare by name */
	if (l < 0 && s->label) {
		const char *c = ner_label_canon(s->label, strlen(s->label));

		l = c ? ner_label_index(c) : -1;
	}
	return l;
}

/* Strict matches: each gold span matches at most one prediction (used[]). */
static void count_strict(struct ner_eval *ev, const struct ner_span *gold, size_t n_gold,
                         const struct ner_span *pred, size_t n_pred, unsigned char *used)
{
	size_t i, j;

	for (i = 0; i < n_pred; i++) {
		int lp = label_of(&pred[i]);
		bool hit = false;

		if (lp < 0)
			continue;
		for (j = 0; j < n_gold && !hit; j++) {
			if (!used[j] && label_of(&gold[j]) == lp &&
			    gold[j].start == pred[i].start && gold[j].end == pred[i].end) {
				used[j] = 1;
				hit = true;
			}
		}
		if (hit)
			ev->label[lp].tp++;
		else
			ev->label[lp].fp++;
	}
	for (j = 0; j < n_gold; j++) {
		int lg = label_of(&gold[j]);

		if (lg >= 0 && !used[j])
			ev->label[lg].fn++;
	}
}

static bool covered(const struct ner_span *pred, size_t n_pred, size_t off)
{
	size_t i;

	for (i = 0; i < n_pred; i++) {
		if (pred[i].start <= off && off < pred[i].end)
			return true;
	}
	return false;
}

/* Label-agnostic recall of one gold span: overlap, and its characters. */
static void count_recall(struct ner_eval *ev, const char *text, size_t len,
                         const struct ner_span *g, const struct ner_span *pred, size_t n_pred)
{
	size_t i, off;

	ev->gold_spans++;
	for (i = 0; i < n_pred; i++) {
		if (pred[i].start < g->end && pred[i].end > g->start) {
			ev->gold_spans_found++;
			break;
		}
	}
	/* characters: code point starts inside the gold span */
	for (off = g->start; off < g->end && off < len; off++) {
		if (((unsigned char)text[off] & 0xc0) == 0x80)
			continue;
		ev->gold_chars++;
		if (covered(pred, n_pred, off))
			ev->gold_chars_found++;
	}
}

int ner_eval_add(struct ner_eval *ev, const char *text, size_t len, const struct ner_span *gold,
                 size_t n_gold, const struct ner_span *pred, size_t n_pred)
{
	unsigned char *used = ms_calloc(n_gold + 1, 1);
	size_t j;

	if (!used)
		return MS_ENOMEM;
	ev->n_docs++;
	count_strict(ev, gold, n_gold, pred, n_pred, used);
	for (j = 0; j < n_gold; j++)
		count_recall(ev, text, len, &gold[j], pred, n_pred);
	ms_free(used);
	return 0;
}

void ner_eval_merge(struct ner_eval *dst, const struct ner_eval *src)
{
	unsigned l;

	for (l = 0; l < NER_N_LABELS; l++) {
		dst->label[l].tp += src->label[l].tp;
		dst->label[l].fp += src->label[l].fp;
		dst->label[l].fn += src->label[l].fn;
	}
	dst->n_docs += src->n_docs;
	dst->gold_spans += src->gold_spans;
	dst->gold_spans_found += src->gold_spans_found;
	dst->gold_chars += src->gold_chars;
	dst->gold_chars_found += src->gold_chars_found;
}

static struct ner_prf prf(size_t tp, size_t fp, size_t fn)
{
	struct ner_prf r;

	r.precision = tp + fp ? (double)tp / (double)(tp + fp) : 0;
	r.recall = tp + fn ? (double)tp / (double)(tp + fn) : 0;
	r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall)
	                                  : 0;
	r.support = tp + fn;
	return r;
}

struct ner_prf ner_eval_label(const struct ner_eval *ev, unsigned label)
{
	struct ner_prf zero = { 0, 0, 0, 0 };

	if (label >= NER_N_LABELS)
		return zero;
	return prf(ev->label[label].tp, ev->label[label].fp, ev->label[label].fn);
}

struct ner_prf ner_eval_micro(const struct ner_eval *ev)
{
	size_t tp = 0, fp = 0, fn = 0;
	unsigned l;

	for (l = 0; l < NER_N_LABELS; l++) {
		tp += ev->label[l].tp;
		fp += ev->label[l].fp;
		fn += ev->label[l].fn;
	}
	return prf(tp, fp, fn);
}

double ner_eval_entity_recall(const struct ner_eval *ev)
{
	return ev->gold_spans ? (double)ev->gold_spans_found / (double)ev->gold_spans : 1.0;
}

double ner_eval_char_recall(const struct ner_eval *ev)
{
	return ev->gold_chars ? (double)ev->gold_chars_found / (double)ev->gold_chars : 1.0;
}

static void put_prf(struct ms_json *j, const struct ner_prf *r, const struct ner_eval_counts *c)
{
	ms_json_obj_begin(j);
	ms_json_key(j, "precision");
	ms_json_double(j, r->precision);
	ms_json_key(j, "recall");
	ms_json_double(j, r->recall);
	ms_json_key(j, "f1");
	ms_json_double(j, r->f1);
	ms_json_kint(j, "tp", (int64_t)c->tp);
	ms_json_kint(j, "fp", (int64_t)c->fp);
	ms_json_kint(j, "fn", (int64_t)c->fn);
	ms_json_obj_end(j);
}

int ner_eval_write_json(const struct ner_eval *ev, struct ms_buf *out)
{
	struct ner_eval_counts all = { 0, 0, 0 };
	struct ner_prf micro = ner_eval_micro(ev);
	struct ms_json j;
	unsigned l;

	for (l = 0; l < NER_N_LABELS; l++) {
		all.tp += ev->label[l].tp;
		all.fp += ev->label[l].fp;
		all.fn += ev->label[l].fn;
	}
	ms_json_init(&j, out, false);
	ms_json_obj_begin(&j);
	ms_json_kint(&j, "documents", (int64_t)ev->n_docs);
	ms_json_key(&j, "micro");
	put_prf(&j, &micro, &all);
	ms_json_key(&j, "labels");
	ms_json_obj_begin(&j);
	for (l = 0; l < NER_N_LABELS; l++) {
		const struct ner_eval_counts *c = &ev->label[l];
		struct ner_prf r;

		if (!c->tp && !c->fp && !c->fn)
			continue;
		r = ner_eval_label(ev, l);
		ms_json_key(&j, ner_label_name(l));
		put_prf(&j, &r, c);
	}
	ms_json_obj_end(&j);
	ms_json_key(&j, "entity_recall");
	ms_json_double(&j, ner_eval_entity_recall(ev));
	ms_json_key(&j, "char_recall");
	ms_json_double(&j, ner_eval_char_recall(ev));
	ms_json_obj_end(&j);
	ms_buf_addch(out, '\n');
	return ms_buf_status(out);
}

struct fold_key {
	uint64_t h;
	size_t j;
};

static int fold_cmp(const void *a, const void *b)
{
	const struct fold_key *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->j < y->j ? -1 : x->j > y->j;
}

int ner_folds_assign(unsigned *fold_out, const struct ner_corpus *c, const size_t *docs, size_t n,
                     unsigned k, uint64_t seed)
{
	struct fold_key *keys;
	size_t i;

	if (k == 0)
		return MS_EUSAGE;
	keys = ms_malloc((n + 1) * sizeof(*keys));
	if (!keys)
		return MS_ENOMEM;
	for (i = 0; i < n; i++) {
		const struct ner_doc *d = ner_corpus_doc(c, docs ? docs[i] : i);
		uint64_t h = ner_hash_start((uint32_t)seed ^ (uint32_t)(seed >> 32));

		h = ner_hash_bytes(h, d->id, strlen(d->id));
		keys[i].h = ner_hash_finish(h);
		keys[i].j = i;
	}
	qsort(keys, n, sizeof(*keys), fold_cmp);
	for (i = 0; i < n; i++)
		fold_out[keys[i].j] = (unsigned)(i % k);
	ms_free(keys);
	return 0;
}
