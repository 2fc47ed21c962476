/* SPDX-License-Identifier: MIT */
/*
 * The evaluation as JSON: metrics.json (schemas/metrics.schema.json), which
 * carries no text of a document, and the leak file (one JSON line per leak
 * or false positive, with a context window of raw text: owner-only).
 */
#include "deid/eval_int.h"

#include <math.h>

#include "common/json.h"

const char *deid_eval_source_kind_name(const struct deid_eval *ev, enum deid_source_kind kind)
{
	if (ev->opts.external)
		return "external";
	switch (kind) {
	case DEID_SOURCE_RULE:
		return "rule";
	case DEID_SOURCE_DICT:
		return "dictionary";
	case DEID_SOURCE_GAZETTEER:
		return "gazetteer";
	case DEID_SOURCE_NER:
		return "ner";
	}
	return "?";
}

size_t deid_eval_utf8_back(const char *s, size_t off, size_t n)
{
	while (off > 0 && (s[off] & 0xc0) == 0x80)
		off--;
	while (n && off > 0) {
		off--;
		while (off > 0 && (s[off] & 0xc0) == 0x80)
			off--;
		n--;
	}
	return off;
}

size_t deid_eval_utf8_fwd(const char *s, size_t len, size_t off, size_t n)
{
	while (off < len && (s[off] & 0xc0) == 0x80)
		off++;
	while (n && off < len) {
		off++;
		while (off < len && (s[off] & 0xc0) == 0x80)
			off++;
		n--;
	}
	return off;
}

/* Rounded to 6 decimals so that the file reads well; NaN as null. */
static void num(struct ms_json *j, const char *key, double v)
{
	ms_json_key(j, key);
	if (isnan(v))
		ms_json_null(j);
	else
		ms_json_double(j, round(v * 1e6) / 1e6);
}

static void value(struct ms_json *j, const char *key, const struct deid_eval_value *v)
{
	ms_json_key(j, key);
	ms_json_obj_begin(j);
	num(j, "value", v->value);
	num(j, "ci_low", v->lo);
	num(j, "ci_high", v->hi);
	ms_json_obj_end(j);
}

static void uint_kv(struct ms_json *j, const char *key, size_t v)
{
	ms_json_key(j, key);
	ms_json_uint(j, v);
}

static void measure(struct ms_json *j, const char *key, const struct deid_eval_counts *c,
                    const struct deid_eval_prf *prf)
{
	ms_json_key(j, key);
	ms_json_obj_begin(j);
	uint_kv(j, "tp", c->tp);
	uint_kv(j, "fn", c->fn);
	uint_kv(j, "tp_pred", c->tp_pred);
	uint_kv(j, "fp", c->fp);
	value(j, "precision", &prf->precision);
	value(j, "recall", &prf->recall);
	value(j, "f1", &prf->f1);
	ms_json_obj_end(j);
}

static void measures(struct ms_json *j, const struct deid_eval_result *r, size_t l)
{
	unsigned k;

	for (k = 0; k < DEID_EVAL_KINDS; k++)
		measure(j, deid_eval_kind_name((enum deid_eval_kind)k), &r->counts[k][l],
		        &r->prf[k][l]);
}

static const char *label_or_none(size_t l)
{
	return l < PHI_LABEL_COUNT ? phi_label_name((enum phi_label)l) : "NONE";
}

static void issue(struct ms_json *j, const struct deid_eval *ev, const struct deid_eval_issue *is,
                  bool leak)
{
	size_t i;

	ms_json_obj_begin(j);
	ms_json_kstr(j, "document", ev->docs[is->doc].id);
	uint_kv(j, "doc_index", is->doc);
	uint_kv(j, "start", is->start);
	uint_kv(j, "end", is->end);
	ms_json_kstr(j, "label", phi_label_name(is->label));
	if (leak) {
		uint_kv(j, "chars", is->chars);
		uint_kv(j, "chars_removed", is->chars_removed);
	} else {
		num(j, "score", is->score);
	}
	ms_json_key(j, "sources");
	ms_json_arr_begin(j);
	for (i = 0; i < is->n_sources; i++) {
		ms_json_obj_begin(j);
		ms_json_kstr(j, "kind", deid_eval_source_kind_name(ev, is->source_kinds[i]));
		ms_json_kstr(j, "name", is->sources[i]);
		ms_json_obj_end(j);
	}
	ms_json_arr_end(j);
	ms_json_obj_end(j);
}

static void write_input(struct ms_json *j, const struct deid_eval_info *info)
{
	ms_json_key(j, "input");
	ms_json_obj_begin(j);
	ms_json_kstr(j, "gold", info ? info->gold : NULL);
	ms_json_kstr(j, "gold_format", info ? info->gold_format : NULL);
	ms_json_kstr(j, "label_map", info ? info->label_map : NULL);
	ms_json_kstr(j, "predictions", info ? info->predictions : NULL);
	ms_json_kstr(j, "detector", info ? info->detector : NULL);
	ms_json_kstr(j, "model", info ? info->model : NULL);
	ms_json_obj_end(j);
}

static void write_phi_recall(struct ms_json *j, const struct deid_eval *ev)
{
	const struct deid_eval_result *r = &ev->res;
	size_t l;

	ms_json_key(j, "phi_recall");
	ms_json_obj_begin(j);
	ms_json_key(j, "excluded_labels");
	ms_json_arr_begin(j);
	for (l = 0; l < PHI_LABEL_COUNT; l++)
		if (ev->opts.exclude[l])
			ms_json_str(j, phi_label_name((enum phi_label)l));
	ms_json_arr_end(j);
	uint_kv(j, "entities", r->phi_entities);
	uint_kv(j, "entities_removed", r->phi_entities_removed);
	uint_kv(j, "entities_touched", r->phi_entities_touched);
	value(j, "entity", &r->entity_recall);
	uint_kv(j, "chars", r->phi_chars);
	uint_kv(j, "chars_removed", r->phi_chars_removed);
	value(j, "char", &r->char_recall);
	ms_json_obj_end(j);
}

static void write_confusion(struct ms_json *j, const struct deid_eval_result *r)
{
	bool used[PHI_LABEL_COUNT + 1];
	size_t g, p;

	/* only labels that occur, so that the matrix stays readable */
	for (g = 0; g <= PHI_LABEL_COUNT; g++)
		used[g] = g == DEID_EVAL_NONE || r->n_gold[g] || r->n_pred[g];
	ms_json_key(j, "confusion");
	ms_json_obj_begin(j);
	ms_json_key(j, "labels");
	ms_json_arr_begin(j);
	for (g = 0; g <= PHI_LABEL_COUNT; g++)
		if (used[g])
			ms_json_str(j, label_or_none(g));
	ms_json_arr_end(j);
	ms_json_key(j, "matrix");
	ms_json_arr_begin(j);
	for (g = 0; g <= PHI_LABEL_COUNT; g++) {
		if (!used[g])
			continue;
		ms_json_arr_begin(j);
		for (p = 0; p <= PHI_LABEL_COUNT; p++)
			if (used[p])
				ms_json_uint(j, r->confusion[g][p]);
		ms_json_arr_end(j);
	}
	ms_json_arr_end(j);
	ms_json_obj_end(j);
}

int deid_eval_write_json(struct ms_buf *out, const struct deid_eval *ev,
                         const struct deid_eval_info *info)
{
	const struct deid_eval_result *r = &ev->res;
	struct ms_json j;
	size_t l, i;

	ms_json_init(&j, out, true);
	ms_json_obj_begin(&j);
	ms_json_kstr(&j, "format", "medsft-deid-eval/1");
	ms_json_kstr(&j, "tool_version", info ? info->tool_version : NULL);
	write_input(&j, info);
	uint_kv(&j, "documents", r->n_docs);
	uint_kv(&j, "gold_spans", r->n_gold[DEID_EVAL_MICRO]);
	uint_kv(&j, "predicted_spans", r->n_pred[DEID_EVAL_MICRO]);
	ms_json_key(&j, "bootstrap");
	ms_json_obj_begin(&j);
	uint_kv(&j, "replicates", r->n_bootstrap);
	uint_kv(&j, "seed", r->seed);
	num(&j, "confidence", 0.95);
	ms_json_kstr(&j, "unit", "document");
	ms_json_obj_end(&j);
	write_phi_recall(&j, ev);
	ms_json_key(&j, "micro");
	ms_json_obj_begin(&j);
	measures(&j, r, DEID_EVAL_MICRO);
	ms_json_obj_end(&j);
	ms_json_key(&j, "labels");
	ms_json_arr_begin(&j);
	for (l = 0; l < PHI_LABEL_COUNT; l++) {
		if (!r->n_gold[l] && !r->n_pred[l])
			continue;
		ms_json_obj_begin(&j);
		ms_json_kstr(&j, "label", phi_label_name((enum phi_label)l));
		uint_kv(&j, "gold", r->n_gold[l]);
		uint_kv(&j, "predicted", r->n_pred[l]);
		measures(&j, r, l);
		ms_json_obj_end(&j);
	}
	ms_json_arr_end(&j);
	write_confusion(&j, r);
	ms_json_key(&j, "leaks");
	ms_json_arr_begin(&j);
	for (i = 0; i < r->n_leaks; i++)
		issue(&j, ev, &r->leaks[i], true);
	ms_json_arr_end(&j);
	ms_json_key(&j, "false_positives");
	ms_json_arr_begin(&j);
	for (i = 0; i < r->n_false_positives; i++)
		issue(&j, ev, &r->false_positives[i], false);
	ms_json_arr_end(&j);
	ms_json_obj_end(&j);
	ms_buf_addch(out, '\n');
	return ms_buf_status(out);
}

static void context_line(struct ms_buf *out, const struct deid_eval *ev,
                         const struct deid_eval_issue *is, const char *kind, const char *text,
                         size_t len, size_t ctx)
{
	struct ms_json j;
	size_t b = deid_eval_utf8_back(text, is->start, ctx);
	size_t a = deid_eval_utf8_fwd(text, len, is->end, ctx);
	size_t i;

	ms_json_init(&j, out, false);
	ms_json_obj_begin(&j);
	ms_json_kstr(&j, "kind", kind);
	ms_json_kstr(&j, "document", ev->docs[is->doc].id);
	uint_kv(&j, "start", is->start);
	uint_kv(&j, "end", is->end);
	ms_json_kstr(&j, "label", phi_label_name(is->label));
	ms_json_key(&j, "sources");
	ms_json_arr_begin(&j);
	for (i = 0; i < is->n_sources; i++)
		ms_json_str(&j, is->sources[i]);
	ms_json_arr_end(&j);
	ms_json_key(&j, "before");
	ms_json_strn(&j, text + b, is->start - b);
	ms_json_key(&j, "text");
	ms_json_strn(&j, text + is->start, is->end - is->start);
	ms_json_key(&j, "after");
	ms_json_strn(&j, text + is->end, a - is->end);
	ms_json_obj_end(&j);
	ms_buf_addch(out, '\n');
}

int deid_eval_write_issues(struct ms_buf *out, const struct deid_eval *ev, size_t i,
                           const char *text, size_t len, size_t context_chars)
{
	const struct deid_eval_issue *leaks, *fps;
	size_t n_leaks, n_fps, k;

	deid_eval_doc_issues(ev, i, &leaks, &n_leaks, &fps, &n_fps);
	for (k = 0; k < n_leaks; k++)
		context_line(out, ev, &leaks[k], "leak", text, len, context_chars);
	for (k = 0; k < n_fps; k++)
		context_line(out, ev, &fps[k], "false_positive", text, len, context_chars);
	return ms_buf_status(out);
}
