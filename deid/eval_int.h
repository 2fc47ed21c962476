/* SPDX-License-Identifier: MIT */
/*
 * Private to deid/: the evaluation's state, shared by eval.c (metrics),
 * eval_json.c (metrics.json, the leak file) and report_html.c (the review
 * report).
 */
#ifndef MS_DEID_EVAL_INT_H
#define MS_DEID_EVAL_INT_H

#include <stdint.h>

#include "deid/deid.h"
#include "deid/detect_int.h"

/* A span as compared: offsets, the label after compare_as, the original. */
struct eval_item {
	size_t start;
	size_t end;
	unsigned label;
	size_t index;
	const struct deid_span *span;
};

/* What the bootstrap needs of one document, and where its issues are. */
struct doc_counts {
	char *id;
	struct deid_eval_counts c[DEID_EVAL_KINDS][PHI_LABEL_COUNT];
	size_t ent, ent_removed, chars, chars_removed;
	size_t first_leak, n_leaks, first_fp, n_fps;
};

struct deid_eval {
	struct deid_eval_opts opts;
	struct doc_counts *docs;
	size_t n_docs, cap_docs;
	struct deid_eval_issue *leaks, *fps;
	size_t n_leaks, cap_leaks, n_fps, cap_fps;
	/* per-document scratch */
	struct eval_item *gold, *pred;
	size_t n_gold, cap_gold, n_pred, cap_pred;
	bool *used;
	size_t cap_used;
	unsigned char *gold_lab, *pred_lab, *cover;
	size_t cap_lab, cap_pred_lab, cap_cover;
	struct deid_toks toks;
	struct deid_eval_result res;
	bool finished;
};

/* The leaks and false positives of document i (borrowed). */
void deid_eval_doc_issues(const struct deid_eval *ev, size_t i,
                          const struct deid_eval_issue **leaks, size_t *n_leaks,
                          const struct deid_eval_issue **fps, size_t *n_fps);

/* The labels left out of PHI recall (PHI_LABEL_COUNT entries). */
const bool *deid_eval_excluded(const struct deid_eval *ev);

/*
 * Name of a source kind for reports: "rule", "dictionary", "gazetteer",
 * "ner", or "external" for every kind when the predictions came from
 * elsewhere (opts.external).
 */
const char *deid_eval_source_kind_name(const struct deid_eval *ev, enum deid_source_kind kind);

/*
 * Moves off back to the start of the code point it is in, then n code
 * points further back (or forward with deid_eval_utf8_fwd), not past
 * [0, len); used for context windows.
 */
size_t deid_eval_utf8_back(const char *s, size_t off, size_t n);
size_t deid_eval_utf8_fwd(const char *s, size_t len, size_t off, size_t n);

#endif
