/* SPDX-License-Identifier: MIT */
/*
 * Evaluation of detected spans against gold annotations: strict, overlap
 * and token-level P/R/F1 per label, label-agnostic PHI recall at entity and
 * character level, a confusion matrix, the lists of leaks and false
 * positives, and bootstrap confidence intervals by document.
 *
 * Per document, only counts are kept (one small block per document), so
 * the bootstrap can redraw documents without the texts; leaks and false
 * positives keep offsets and borrowed source names, never text. The metric
 * definitions are in deid.h (section 5); metrics.json is written by
 * eval_json.c, the HTML report by report_html.c.
 */
#include "deid/eval_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/utf8.h"
#include "deid/detect_int.h"

#define BOOTSTRAP_DEFAULT 1000
#define BOOTSTRAP_MAX     100000
#define NO_LABEL          0xff

const char *deid_eval_kind_name(enum deid_eval_kind kind)
{
	static const char *const names[DEID_EVAL_KINDS] = { "strict", "overlap", "token" };

	return (unsigned)kind < DEID_EVAL_KINDS ? names[kind] : NULL;
}

int deid_eval_new(struct deid_eval **out, const struct deid_eval_opts *opts, struct ms_error *err)
{
	struct deid_eval *ev;
	unsigned i;

	*out = NULL;
	if (opts && opts->n_bootstrap > BOOTSTRAP_MAX)
		return ms_error_set(err, MS_EUSAGE, "at most %d bootstrap replicates",
		                    BOOTSTRAP_MAX);
	for (i = 0; opts && opts->compare_as_set && i < PHI_LABEL_COUNT; i++)
		if ((unsigned)opts->compare_as[i] >= PHI_LABEL_COUNT)
			return ms_error_set(err, MS_EUSAGE, "compare_as of label %u out of range",
			                    i);
	ev = ms_calloc(1, sizeof(*ev));
	if (!ev)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	if (opts)
		ev->opts = *opts;
	if (!ev->opts.n_bootstrap)
		ev->opts.n_bootstrap = BOOTSTRAP_DEFAULT;
	if (!ev->opts.exclude_set) {
		memset(ev->opts.exclude, 0, sizeof(ev->opts.exclude));
		ev->opts.exclude[PHI_TITLE] = true;
		ev->opts.exclude_set = true;
	}
	if (!ev->opts.compare_as_set) {
		for (i = 0; i < PHI_LABEL_COUNT; i++)
			ev->opts.compare_as[i] = (enum phi_label)i;
		ev->opts.compare_as_set = true;
	}
	*out = ev;
	return 0;
}

void deid_eval_free(struct deid_eval *ev)
{
	size_t i;

	if (!ev)
		return;
	for (i = 0; i < ev->n_docs; i++)
		ms_free(ev->docs[i].id);
	ms_free(ev->docs);
	ms_free(ev->leaks);
	ms_free(ev->fps);
	ms_free(ev->gold);
	ms_free(ev->pred);
	ms_free(ev->used);
	ms_free(ev->gold_lab);
	ms_free(ev->pred_lab);
	ms_free(ev->cover);
	deid_toks_release(&ev->toks);
	ms_free(ev);
}

const struct deid_eval_result *deid_eval_result(const struct deid_eval *ev)
{
	return ev && ev->finished ? &ev->res : NULL;
}

const char *deid_eval_doc_id(const struct deid_eval *ev, size_t i)
{
	return ev && i < ev->n_docs ? ev->docs[i].id : NULL;
}

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* Non-blank code points in [start, end) and how many of them cover marks. */
static void count_chars(const char *text, const unsigned char *cover, size_t start, size_t end,
                        size_t *n_out, size_t *covered_out)
{
	size_t i, n = 0, c = 0;

	for (i = start; i < end; i++) {
		unsigned char b = (unsigned char)text[i];

		if (is_cont(b) || is_blank(b))
			continue;
		n++;
		if (cover[i] != NO_LABEL)
			c++;
	}
	*n_out = n;
	*covered_out = c;
}

static int cmp_item(const void *a, const void *b)
{
	const struct eval_item *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	if (x->label != y->label)
		return x->label < y->label ? -1 : 1;
	return x->index < y->index ? -1 : (x->index > y->index);
}

/* Longer spans first, so that shorter ones paint over them. */
static int cmp_len_desc(const void *a, const void *b)
{
	const struct eval_item *x = a, *y = b;
	size_t lx = x->end - x->start, ly = y->end - y->start;

	if (lx != ly)
		return lx > ly ? -1 : 1;
	return cmp_item(a, b);
}

static int check_spans(const struct deid_eval_doc *doc, const struct deid_span *v, size_t n,
                       const char *what, size_t doc_no, struct ms_error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct deid_span *s = &v[i];

		if ((unsigned)s->label >= PHI_LABEL_COUNT || s->start >= s->end ||
		    s->end > doc->len || is_cont((unsigned char)doc->text[s->start]) ||
		    (s->end < doc->len && is_cont((unsigned char)doc->text[s->end]))) {
			ms_error_set(err, MS_EINVAL,
			             "document %zu: %s span %zu [%zu, %zu) is empty, out of the "
			             "text, not on a character boundary or has no valid label",
			             doc_no, what, i, s->start, s->end);
			ms_error_set_record(err, doc_no);
			return MS_EINVAL;
		}
	}
	return 0;
}

/* Copies spans into ev->gold or ev->pred, sorted by (start, end), labels compared as. */
static int load_items(struct deid_eval *ev, bool pred, const struct deid_span *v, size_t n)
{
	struct eval_item *items;
	size_t i;

	if (pred ? MS_GROW(ev->pred, ev->cap_pred, n + 1) : MS_GROW(ev->gold, ev->cap_gold, n + 1))
		return MS_ENOMEM;
	items = pred ? ev->pred : ev->gold;
	for (i = 0; i < n; i++) {
		items[i].start = v[i].start;
		items[i].end = v[i].end;
		items[i].label = ev->opts.compare_as[v[i].label];
		items[i].index = i;
		items[i].span = &v[i];
	}
	qsort(items, n, sizeof(*items), cmp_item);
	return 0;
}

/* Marks each byte with the label of the shortest item covering it. */
static void paint(unsigned char *lab, size_t len, struct eval_item *items, size_t n,
                  const bool *skip)
{
	size_t i, b;

	memset(lab, NO_LABEL, len);
	qsort(items, n, sizeof(*items), cmp_len_desc);
	for (i = 0; i < n; i++) {
		if (skip && skip[items[i].label])
			continue;
		for (b = items[i].start; b < items[i].end; b++)
			lab[b] = (unsigned char)items[i].label;
	}
	qsort(items, n, sizeof(*items), cmp_item);
}

static bool overlaps(const struct eval_item *a, const struct eval_item *b)
{
	return a->start < b->end && b->start < a->end;
}

static void count_strict(struct deid_eval *ev, struct doc_counts *dc)
{
	struct deid_eval_counts *c = dc->c[DEID_EVAL_STRICT];
	size_t g, p;

	memset(ev->used, 0, ev->n_pred * sizeof(*ev->used));
	for (g = 0; g < ev->n_gold; g++) {
		const struct eval_item *gi = &ev->gold[g];
		bool found = false;

		for (p = 0; p < ev->n_pred && ev->pred[p].start <= gi->start && !found; p++) {
			const struct eval_item *pi = &ev->pred[p];

			if (!ev->used[p] && pi->start == gi->start && pi->end == gi->end &&
			    pi->label == gi->label) {
				ev->used[p] = true;
				found = true;
			}
		}
		if (found) {
			c[gi->label].tp++;
			c[gi->label].tp_pred++;
		} else {
			c[gi->label].fn++;
		}
	}
	for (p = 0; p < ev->n_pred; p++)
		if (!ev->used[p])
			c[ev->pred[p].label].fp++;
}

/* Does any item of v[0..n) (sorted by start) overlap x, with its label if same_label? */
static bool any_overlap(const struct eval_item *v, size_t n, const struct eval_item *x,
                        bool same_label)
{
	size_t i;

	for (i = 0; i < n && v[i].start < x->end; i++)
		if (overlaps(&v[i], x) && (!same_label || v[i].label == x->label))
			return true;
	return false;
}

static void count_overlap(struct deid_eval *ev, struct doc_counts *dc)
{
	struct deid_eval_counts *c = dc->c[DEID_EVAL_OVERLAP];
	size_t i;

	for (i = 0; i < ev->n_gold; i++) {
		if (any_overlap(ev->pred, ev->n_pred, &ev->gold[i], true))
			c[ev->gold[i].label].tp++;
		else
			c[ev->gold[i].label].fn++;
	}
	for (i = 0; i < ev->n_pred; i++) {
		if (any_overlap(ev->gold, ev->n_gold, &ev->pred[i], true))
			c[ev->pred[i].label].tp_pred++;
		else
			c[ev->pred[i].label].fp++;
	}
}

/* The label covering most bytes of [start, end), lowest label on ties. */
static unsigned majority(const unsigned char *lab, size_t start, size_t end)
{
	size_t n[PHI_LABEL_COUNT + 1], b, best_n = 0;
	unsigned l, best = NO_LABEL;

	memset(n, 0, sizeof(n));
	for (b = start; b < end; b++)
		n[lab[b] == NO_LABEL ? PHI_LABEL_COUNT : lab[b]]++;
	for (l = 0; l < PHI_LABEL_COUNT; l++) {
		if (n[l] > best_n) {
			best_n = n[l];
			best = l;
		}
	}
	/* a token mostly outside every span has no label */
	return best_n * 2 > end - start || best_n >= n[PHI_LABEL_COUNT] ? best : NO_LABEL;
}

static int count_tokens(struct deid_eval *ev, const struct deid_eval_doc *doc,
                        struct doc_counts *dc, struct ms_error *err)
{
	struct deid_eval_counts *c = dc->c[DEID_EVAL_TOKEN];
	size_t i;
	int rc;

	rc = deid_tokenize(&ev->toks, doc->text, doc->len, err);
	if (rc)
		return rc;
	for (i = 0; i < ev->toks.n; i++) {
		const struct deid_tok *t = &ev->toks.v[i];
		unsigned g = majority(ev->gold_lab, t->start, t->end);
		unsigned p = majority(ev->pred_lab, t->start, t->end);

		if (g != NO_LABEL && g == p) {
			c[g].tp++;
			c[g].tp_pred++;
			continue;
		}
		if (g != NO_LABEL)
			c[g].fn++;
		if (p != NO_LABEL)
			c[p].fp++;
	}
	return 0;
}

static int add_issue(struct deid_eval *ev, bool leak, const struct deid_eval_issue *is)
{
	if (leak ? MS_GROW(ev->leaks, ev->cap_leaks, ev->n_leaks + 1)
	         : MS_GROW(ev->fps, ev->cap_fps, ev->n_fps + 1))
		return MS_ENOMEM;
	if (leak)
		ev->leaks[ev->n_leaks++] = *is;
	else
		ev->fps[ev->n_fps++] = *is;
	return 0;
}

static void add_source(struct deid_eval_issue *is, const struct deid_span *s)
{
	const char *name = s->source ? s->source : "?";
	size_t i;

	for (i = 0; i < is->n_sources; i++)
		if (!strcmp(is->sources[i], name))
			return;
	if (is->n_sources == DEID_EVAL_MAX_SOURCES)
		return;
	is->source_kinds[is->n_sources] = s->source_kind;
	is->sources[is->n_sources++] = name;
}

/* PHI recall, leaks and the confusion rows of gold spans. */
static int count_gold(struct deid_eval *ev, const struct deid_eval_doc *doc, struct doc_counts *dc,
                      unsigned char *cover)
{
	size_t g, p;

	for (g = 0; g < ev->n_gold; g++) {
		const struct eval_item *gi = &ev->gold[g];
		struct deid_eval_issue is;
		size_t best = 0, best_p = 0, chars, removed;

		memset(&is, 0, sizeof(is));
		for (p = 0; p < ev->n_pred && ev->pred[p].start < gi->end; p++) {
			const struct eval_item *pi = &ev->pred[p];
			size_t o_start, o_end;

			if (!overlaps(pi, gi))
				continue;
			o_start = pi->start > gi->start ? pi->start : gi->start;
			o_end = pi->end < gi->end ? pi->end : gi->end;
			if (o_end - o_start > best) {
				best = o_end - o_start;
				best_p = p;
			}
			add_source(&is, pi->span);
		}
		ev->res.confusion[gi->label][best ? ev->pred[best_p].label : DEID_EVAL_NONE]++;
		ev->res.n_gold[gi->label]++;
		if (ev->opts.exclude[gi->label])
			continue;
		count_chars(doc->text, cover, gi->start, gi->end, &chars, &removed);
		dc->ent++;
		dc->chars += chars;
		dc->chars_removed += removed;
		if (removed)
			ev->res.phi_entities_touched++;
		if (removed == chars) {
			dc->ent_removed++;
			continue;
		}
		is.doc = ev->n_docs;
		is.start = gi->start;
		is.end = gi->end;
		is.label = gi->span->label;
		is.chars = chars;
		is.chars_removed = removed;
		is.score = 0;
		if (add_issue(ev, true, &is))
			return MS_ENOMEM;
	}
	return 0;
}

/* False positives and the confusion row "none". */
static int count_pred(struct deid_eval *ev)
{
	size_t p;

	for (p = 0; p < ev->n_pred; p++) {
		const struct eval_item *pi = &ev->pred[p];
		struct deid_eval_issue is;

		ev->res.n_pred[pi->label]++;
		if (any_overlap(ev->gold, ev->n_gold, pi, false))
			continue;
		ev->res.confusion[DEID_EVAL_NONE][pi->label]++;
		memset(&is, 0, sizeof(is));
		is.doc = ev->n_docs;
		is.start = pi->start;
		is.end = pi->end;
		is.label = pi->span->label;
		is.score = pi->span->score;
		add_source(&is, pi->span);
		if (add_issue(ev, false, &is))
			return MS_ENOMEM;
	}
	return 0;
}

int deid_eval_add(struct deid_eval *ev, const struct deid_eval_doc *doc, struct ms_error *err)
{
	struct doc_counts *dc;
	size_t bad, doc_no = ev->n_docs + 1, n_leaks = ev->n_leaks, n_fps = ev->n_fps;
	int rc;

	if (ev->finished)
		return ms_error_set(err, MS_EUSAGE, "evaluation already finished");
	if (!ms_utf8_valid(doc->text, doc->len, &bad)) {
		ms_error_set(err, MS_EUNICODE, "document %zu: invalid UTF-8 at byte %zu", doc_no,
		             bad);
		ms_error_set_record(err, doc_no);
		return MS_EUNICODE;
	}
	rc = check_spans(doc, doc->gold, doc->n_gold, "gold", doc_no, err);
	if (!rc)
		rc = check_spans(doc, doc->pred, doc->n_pred, "predicted", doc_no, err);
	if (rc)
		return rc;
	if (MS_GROW(ev->docs, ev->cap_docs, ev->n_docs + 1) ||
	    load_items(ev, false, doc->gold, doc->n_gold) ||
	    load_items(ev, true, doc->pred, doc->n_pred) ||
	    MS_GROW(ev->used, ev->cap_used, doc->n_pred + 1) ||
	    MS_GROW(ev->gold_lab, ev->cap_lab, doc->len + 1) ||
	    MS_GROW(ev->pred_lab, ev->cap_pred_lab, doc->len + 1) ||
	    MS_GROW(ev->cover, ev->cap_cover, doc->len + 1))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	ev->n_gold = doc->n_gold;
	ev->n_pred = doc->n_pred;
	dc = &ev->docs[ev->n_docs];
	memset(dc, 0, sizeof(*dc));
	dc->id = ms_strdup(doc->id ? doc->id : "");
	if (!dc->id)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	paint(ev->gold_lab, doc->len, ev->gold, ev->n_gold, NULL);
	paint(ev->pred_lab, doc->len, ev->pred, ev->n_pred, NULL);
	count_strict(ev, dc);
	count_overlap(ev, dc);
	rc = count_tokens(ev, doc, dc, err);
	if (rc)
		goto fail;
	/* what replacement keeps in the text (TITLE) does not remove anything */
	paint(ev->cover, doc->len, ev->pred, ev->n_pred, ev->opts.exclude);
	if (count_gold(ev, doc, dc, ev->cover) || count_pred(ev)) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto fail;
	}
	dc->first_leak = n_leaks;
	dc->n_leaks = ev->n_leaks - n_leaks;
	dc->first_fp = n_fps;
	dc->n_fps = ev->n_fps - n_fps;
	ev->n_docs++;
	return 0;
fail:
	ms_free(dc->id);
	dc->id = NULL;
	ev->n_leaks = n_leaks;
	ev->n_fps = n_fps;
	return rc;
}

/* ---- scores and the bootstrap ------------------------------------------ */

static double ratio(size_t a, size_t b)
{
	return b ? (double)a / (double)b : NAN;
}

static void prf_of(const struct deid_eval_counts *c, double *p, double *r, double *f)
{
	*p = ratio(c->tp_pred, c->tp_pred + c->fp);
	*r = ratio(c->tp, c->tp + c->fn);
	if (!(c->tp + c->fn + c->tp_pred + c->fp))
		*f = NAN;
	else if (isnan(*p) || isnan(*r) || *p + *r == 0)
		*f = 0; /* one side is empty, the other is not: nothing agrees */
	else
		*f = 2 * *p * *r / (*p + *r);
}

static void counts_add(struct deid_eval_counts *dst, const struct deid_eval_counts *src, size_t k)
{
	dst->tp += k * src->tp;
	dst->fn += k * src->fn;
	dst->tp_pred += k * src->tp_pred;
	dst->fp += k * src->fp;
}

/* Sums the counts of docs weighted by w (NULL: every document once). */
static void sum_docs(const struct deid_eval *ev, const unsigned *w,
                     struct deid_eval_counts c[DEID_EVAL_KINDS][PHI_LABEL_COUNT + 1], size_t agn[4])
{
	size_t d, l;
	unsigned k;

	memset(c, 0, sizeof(struct deid_eval_counts) * DEID_EVAL_KINDS * (PHI_LABEL_COUNT + 1));
	memset(agn, 0, 4 * sizeof(size_t));
	for (d = 0; d < ev->n_docs; d++) {
		const struct doc_counts *dc = &ev->docs[d];
		size_t m = w ? w[d] : 1;

		if (!m)
			continue;
		for (k = 0; k < DEID_EVAL_KINDS; k++)
			for (l = 0; l < PHI_LABEL_COUNT; l++)
				counts_add(&c[k][l], &dc->c[k][l], m);
		agn[0] += m * dc->ent;
		agn[1] += m * dc->ent_removed;
		agn[2] += m * dc->chars;
		agn[3] += m * dc->chars_removed;
	}
	for (k = 0; k < DEID_EVAL_KINDS; k++)
		for (l = 0; l < PHI_LABEL_COUNT; l++)
			counts_add(&c[k][DEID_EVAL_MICRO], &c[k][l], 1);
}

#define N_METRICS (DEID_EVAL_KINDS * (PHI_LABEL_COUNT + 1) * 3 + 2)

/* All metrics of one (re)sample into m[N_METRICS], in a fixed order. */
static void metrics_of(const struct deid_eval_counts c[DEID_EVAL_KINDS][PHI_LABEL_COUNT + 1],
                       const size_t agn[4], double *m)
{
	size_t k, l;

	for (k = 0; k < DEID_EVAL_KINDS; k++)
		for (l = 0; l <= PHI_LABEL_COUNT; l++) {
			double *x = &m[(k * (PHI_LABEL_COUNT + 1) + l) * 3];

			prf_of(&c[k][l], &x[0], &x[1], &x[2]);
		}
	m[N_METRICS - 2] = ratio(agn[1], agn[0]);
	m[N_METRICS - 1] = ratio(agn[3], agn[2]);
}

/* splitmix64: small, fast, and the same sequence on every platform. */
static uint64_t next_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Percentile q of sorted x[0..n) with linear interpolation (R type 7). */
static double quantile(const double *x, size_t n, double q)
{
	double h = q * (double)(n - 1);
	size_t i = (size_t)floor(h);

	if (i + 1 >= n)
		return x[n - 1];
	return x[i] + (h - (double)i) * (x[i + 1] - x[i]);
}

/* The interval of metric m from its replicates vals[0..B), NaN dropped. */
static void interval(double *vals, size_t n_rep, struct deid_eval_value *v)
{
	size_t i, n = 0;

	for (i = 0; i < n_rep; i++)
		if (!isnan(vals[i]))
			vals[n++] = vals[i];
	if (!n || isnan(v->value)) {
		v->lo = v->hi = NAN;
		return;
	}
	qsort(vals, n, sizeof(*vals), cmp_double);
	v->lo = quantile(vals, n, 0.025);
	v->hi = quantile(vals, n, 0.975);
}

static struct deid_eval_value *metric_slot(struct deid_eval_result *r, size_t m)
{
	size_t kl, k, l;

	if (m == N_METRICS - 2)
		return &r->entity_recall;
	if (m == N_METRICS - 1)
		return &r->char_recall;
	kl = m / 3;
	k = kl / (PHI_LABEL_COUNT + 1);
	l = kl % (PHI_LABEL_COUNT + 1);
	switch (m % 3) {
	case 0:
		return &r->prf[k][l].precision;
	case 1:
		return &r->prf[k][l].recall;
	default:
		return &r->prf[k][l].f1;
	}
}

static int bootstrap(struct deid_eval *ev)
{
	size_t n_rep = ev->opts.n_bootstrap, b, d, m;
	double *vals = NULL, point[N_METRICS], rep[N_METRICS];
	unsigned *w = NULL;
	struct deid_eval_counts(*c)[PHI_LABEL_COUNT + 1] = NULL;
	size_t agn[4], bytes;
	uint64_t state = (uint64_t)ev->opts.seed;
	int rc = MS_ENOMEM;

	c = ms_calloc(DEID_EVAL_KINDS, sizeof(*c));
	if (!c)
		goto out;
	sum_docs(ev, NULL, c, agn);
	metrics_of((const struct deid_eval_counts(*)[PHI_LABEL_COUNT + 1]) c, agn, point);
	for (m = 0; m < N_METRICS; m++) {
		struct deid_eval_value *v = metric_slot(&ev->res, m);

		v->value = point[m];
		v->lo = v->hi = NAN;
	}
	memcpy(ev->res.counts, c, sizeof(ev->res.counts));
	rc = 0;
	if (!ev->n_docs)
		goto out;
	rc = MS_ENOMEM;
	if (!ms_size_mul(&bytes, n_rep, N_METRICS * sizeof(double)))
		goto out;
	vals = ms_malloc(bytes);
	w = ms_calloc(ev->n_docs, sizeof(*w));
	if (!vals || !w)
		goto out;
	for (b = 0; b < n_rep; b++) {
		memset(w, 0, ev->n_docs * sizeof(*w));
		for (d = 0; d < ev->n_docs; d++)
			w[next_rand(&state) % ev->n_docs]++;
		sum_docs(ev, w, c, agn);
		metrics_of((const struct deid_eval_counts(*)[PHI_LABEL_COUNT + 1]) c, agn, rep);
		for (m = 0; m < N_METRICS; m++)
			vals[m * n_rep + b] = rep[m];
	}
	for (m = 0; m < N_METRICS; m++)
		interval(&vals[m * n_rep], n_rep, metric_slot(&ev->res, m));
	rc = 0;
out:
	ms_free(vals);
	ms_free(w);
	ms_free(c);
	return rc;
}

int deid_eval_finish(struct deid_eval *ev, struct ms_error *err)
{
	size_t d, l;

	if (ev->finished)
		return 0;
	ev->res.n_docs = ev->n_docs;
	ev->res.n_bootstrap = ev->opts.n_bootstrap;
	ev->res.seed = ev->opts.seed;
	for (l = 0; l < PHI_LABEL_COUNT; l++) {
		ev->res.n_gold[DEID_EVAL_MICRO] += ev->res.n_gold[l];
		ev->res.n_pred[DEID_EVAL_MICRO] += ev->res.n_pred[l];
	}
	for (d = 0; d < ev->n_docs; d++) {
		ev->res.phi_entities += ev->docs[d].ent;
		ev->res.phi_entities_removed += ev->docs[d].ent_removed;
		ev->res.phi_chars += ev->docs[d].chars;
		ev->res.phi_chars_removed += ev->docs[d].chars_removed;
	}
	if (bootstrap(ev))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	ev->res.leaks = ev->leaks;
	ev->res.n_leaks = ev->n_leaks;
	ev->res.false_positives = ev->fps;
	ev->res.n_false_positives = ev->n_fps;
	ev->finished = true;
	return 0;
}

void deid_eval_doc_issues(const struct deid_eval *ev, size_t i,
                          const struct deid_eval_issue **leaks, size_t *n_leaks,
                          const struct deid_eval_issue **fps, size_t *n_fps)
{
	const struct doc_counts *dc;

	*leaks = *fps = NULL;
	*n_leaks = *n_fps = 0;
	if (i >= ev->n_docs)
		return;
	dc = &ev->docs[i];
	*leaks = ev->leaks + dc->first_leak;
	*n_leaks = dc->n_leaks;
	*fps = ev->fps + dc->first_fp;
	*n_fps = dc->n_fps;
}

const bool *deid_eval_excluded(const struct deid_eval *ev)
{
	return ev->opts.exclude;
}
