/* SPDX-License-Identifier: MIT */
/*
 * The review report: one self-contained HTML file (inline CSS and SVG, no
 * script, no external resource) that a privacy officer opens in any browser
 * and signs off: summary, per-label bar charts, leaks, false positives,
 * confusion matrix, then every document with gold and detected spans
 * highlighted and the cleaned text beside it.
 *
 * It holds raw PHI (documents, context of leaks): it says so at the top and
 * is written with mode 0600. Every piece of text goes through html_text(),
 * attributes through html_attr(); nothing from a document reaches the page
 * unescaped. Numbers carry stable ids and data-* attributes for tests.
 */
#include "deid/eval_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/fileio.h"

#define CONTEXT_CHARS 40

struct deid_report {
	struct ms_buf leaks; /* <tr> rows */
	struct ms_buf fps;
	struct ms_buf docs; /* <section> per document */
	size_t n_docs;
};

int deid_report_new(struct deid_report **out, struct ms_error *err)
{
	struct deid_report *rep = ms_calloc(1, sizeof(*rep));

	*out = NULL;
	if (!rep)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	ms_buf_init(&rep->leaks, 0);
	ms_buf_init(&rep->fps, 0);
	ms_buf_init(&rep->docs, 0);
	*out = rep;
	return 0;
}

void deid_report_free(struct deid_report *rep)
{
	if (!rep)
		return;
	ms_buf_release(&rep->leaks);
	ms_buf_release(&rep->fps);
	ms_buf_release(&rep->docs);
	ms_free(rep);
}

/* Escapes text for element content and attribute values alike. */
static void html_text(struct ms_buf *out, const char *s, size_t len)
{
	size_t i, run = 0;

	for (i = 0; i < len; i++) {
		const char *rep = NULL;

		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			break;
		}
		if (!rep)
			continue;
		ms_buf_add(out, s + run, i - run);
		ms_buf_adds(out, rep);
		run = i + 1;
	}
	ms_buf_add(out, s + run, len - run);
}

static void html_str(struct ms_buf *out, const char *s)
{
	if (s)
		html_text(out, s, strlen(s));
}

static const char *label_name(size_t l)
{
	return l < PHI_LABEL_COUNT ? phi_label_name((enum phi_label)l) : "NONE";
}

static void fmt_value(struct ms_buf *out, double v)
{
	if (isnan(v))
		ms_buf_adds(out, "–");
	else
		ms_buf_addf(out, "%.3f", v);
}

/* <span id=ID data-value=V>V [lo, hi]</span> */
static void value_span(struct ms_buf *out, const char *id, const struct deid_eval_value *v)
{
	ms_buf_addf(out, "<span class=\"num\" id=\"%s\" data-value=\"", id);
	if (isnan(v->value))
		ms_buf_adds(out, "null");
	else
		ms_buf_addf(out, "%.6f", round(v->value * 1e6) / 1e6);
	ms_buf_adds(out, "\">");
	fmt_value(out, v->value);
	if (!isnan(v->lo)) {
		ms_buf_adds(out, " <small>[");
		fmt_value(out, v->lo);
		ms_buf_adds(out, ", ");
		fmt_value(out, v->hi);
		ms_buf_adds(out, "]</small>");
	}
	ms_buf_adds(out, "</span>");
}

static void sources_html(struct ms_buf *out, const struct deid_eval *ev,
                         const struct deid_eval_issue *is)
{
	size_t i;

	if (!is->n_sources)
		ms_buf_adds(out, "<i>none</i>");
	for (i = 0; i < is->n_sources; i++) {
		if (i)
			ms_buf_adds(out, ", ");
		html_str(out, is->sources[i]);
		ms_buf_addf(out, " <small>(%s)</small>",
		            deid_eval_source_kind_name(ev, is->source_kinds[i]));
	}
}

static void context_html(struct ms_buf *out, const struct deid_eval_doc *doc,
                         const struct deid_eval_issue *is)
{
	size_t b = deid_eval_utf8_back(doc->text, is->start, CONTEXT_CHARS);
	size_t a = deid_eval_utf8_fwd(doc->text, doc->len, is->end, CONTEXT_CHARS);

	ms_buf_adds(out, "<td class=\"ctx\">");
	html_text(out, doc->text + b, is->start - b);
	ms_buf_adds(out, "<mark>");
	html_text(out, doc->text + is->start, is->end - is->start);
	ms_buf_adds(out, "</mark>");
	html_text(out, doc->text + is->end, a - is->end);
	ms_buf_adds(out, "</td>");
}

static void issue_row(struct ms_buf *out, const struct deid_eval *ev, size_t i,
                      const struct deid_eval_doc *doc, const struct deid_eval_issue *is, bool leak)
{
	ms_buf_addf(out, "<tr class=\"%s\" data-doc=\"%zu\" data-start=\"%zu\" data-end=\"%zu\">",
	            leak ? "leak" : "fp", i, is->start, is->end);
	ms_buf_addf(out, "<td><a href=\"#doc-%zu\">", i);
	html_str(out, doc->id);
	ms_buf_addf(out, "</a></td><td>%zu–%zu</td><td><span class=\"lab l-%s\">%s</span></td>",
	            is->start, is->end, phi_label_name(is->label), phi_label_name(is->label));
	if (leak)
		ms_buf_addf(out, "<td>%zu of %zu</td>", is->chars_removed, is->chars);
	else
		ms_buf_addf(out, "<td>%.2f</td>", is->score);
	ms_buf_adds(out, "<td>");
	sources_html(out, ev, is);
	ms_buf_adds(out, "</td>");
	context_html(out, doc, is);
	ms_buf_adds(out, "</tr>\n");
}

/* The first span of v covering [a, b), or NULL. */
static const struct deid_span *covering(const struct deid_span *v, size_t n, size_t a, size_t b)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].start <= a && b <= v[i].end)
			return &v[i];
	return NULL;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

static void segment(struct ms_buf *out, const struct deid_eval *ev, const struct deid_eval_doc *doc,
                    size_t a, size_t b)
{
	const bool *excluded = deid_eval_excluded(ev);
	const struct deid_span *g = covering(doc->gold, doc->n_gold, a, b);
	const struct deid_span *p = covering(doc->pred, doc->n_pred, a, b);

	if (!g && !p) {
		html_text(out, doc->text + a, b - a);
		return;
	}
	ms_buf_adds(out, "<span class=\"seg");
	if (p)
		ms_buf_addf(out, " p l-%s", phi_label_name(p->label));
	if (g)
		ms_buf_adds(out, " g");
	if (g && !excluded[g->label] && (!p || excluded[p->label]))
		ms_buf_adds(out, " miss");
	ms_buf_adds(out, "\" title=\"");
	if (p) {
		ms_buf_addf(out, "detected %s by ", phi_label_name(p->label));
		html_str(out, p->source ? p->source : "?");
		ms_buf_addf(out, " (%s), score %.2f",
		            deid_eval_source_kind_name(ev, p->source_kind), p->score);
	} else {
		ms_buf_adds(out, "not detected");
	}
	if (g)
		ms_buf_addf(out, "; gold %s", phi_label_name(g->label));
	ms_buf_adds(out, "\">");
	html_text(out, doc->text + a, b - a);
	ms_buf_adds(out, "</span>");
}

/* The original text cut at every span edge, each piece marked up. */
static int original_html(struct ms_buf *out, const struct deid_eval *ev,
                         const struct deid_eval_doc *doc)
{
	size_t n = 2 * (doc->n_gold + doc->n_pred) + 2, k = 0, i;
	size_t *cut = ms_malloc(n * sizeof(*cut));

	if (!cut)
		return MS_ENOMEM;
	cut[k++] = 0;
	cut[k++] = doc->len;
	for (i = 0; i < doc->n_gold; i++) {
		cut[k++] = doc->gold[i].start;
		cut[k++] = doc->gold[i].end;
	}
	for (i = 0; i < doc->n_pred; i++) {
		cut[k++] = doc->pred[i].start;
		cut[k++] = doc->pred[i].end;
	}
	qsort(cut, k, sizeof(*cut), cmp_size);
	for (i = 0; i + 1 < k; i++)
		if (cut[i] < cut[i + 1])
			segment(out, ev, doc, cut[i], cut[i + 1]);
	ms_free(cut);
	return 0;
}

static void clean_html(struct ms_buf *out, const struct deid_replaced *clean)
{
	size_t pos = 0, i;

	for (i = 0; i < clean->n_spans; i++) {
		const struct deid_out_span *s = &clean->spans[i];

		if (s->start < pos || s->end > clean->len)
			continue;
		html_text(out, clean->text + pos, s->start - pos);
		ms_buf_addf(out, "<span class=\"rep l-%s%s\" title=\"%s%s by ",
		            phi_label_name(s->label), s->kept ? " kept" : "",
		            phi_label_name(s->label), s->kept ? " (kept)" : "");
		html_str(out, s->source ? s->source : "?");
		ms_buf_adds(out, "\">");
		html_text(out, clean->text + s->start, s->end - s->start);
		ms_buf_adds(out, "</span>");
		pos = s->end;
	}
	html_text(out, clean->text + pos, clean->len - pos);
}

int deid_report_add(struct deid_report *rep, const struct deid_eval *ev, size_t i,
                    const struct deid_eval_doc *doc, const struct deid_replaced *clean,
                    struct ms_error *err)
{
	const struct deid_eval_issue *leaks, *fps;
	size_t n_leaks, n_fps, k;
	struct ms_buf *out = &rep->docs;

	deid_eval_doc_issues(ev, i, &leaks, &n_leaks, &fps, &n_fps);
	for (k = 0; k < n_leaks; k++)
		issue_row(&rep->leaks, ev, i, doc, &leaks[k], true);
	for (k = 0; k < n_fps; k++)
		issue_row(&rep->fps, ev, i, doc, &fps[k], false);
	ms_buf_addf(out,
	            "<section class=\"doc\" id=\"doc-%zu\" data-gold=\"%zu\" data-pred=\"%zu\" "
	            "data-leaks=\"%zu\" data-fp=\"%zu\">\n<h3>",
	            i, doc->n_gold, doc->n_pred, n_leaks, n_fps);
	html_str(out, doc->id);
	ms_buf_addf(out,
	            " <small>%zu gold, %zu detected, %zu leak%s, %zu false "
	            "positive%s</small></h3>\n<div class=\"cols\"><div><h4>original: detected "
	            "spans coloured, gold underlined, missed PHI in red</h4><pre>",
	            doc->n_gold, doc->n_pred, n_leaks, n_leaks == 1 ? "" : "s", n_fps,
	            n_fps == 1 ? "" : "s");
	if (original_html(out, ev, doc))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	ms_buf_adds(out, "</pre></div>\n<div><h4>cleaned</h4><pre>");
	if (clean)
		clean_html(out, clean);
	else
		ms_buf_adds(out, "<i>not available (predictions read from a file)</i>");
	ms_buf_adds(out, "</pre></div></div>\n</section>\n");
	rep->n_docs++;
	if (ms_buf_status(out) || ms_buf_status(&rep->leaks) || ms_buf_status(&rep->fps))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return 0;
}

/* ---- the page ----------------------------------------------------------- */

static const char css[] =
        "body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#222;max-width:110em}\n"
        "h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;margin-top:2em}\n"
        ".phi-warning{background:#b00020;color:#fff;padding:.8em 1em;font-weight:bold}\n"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:.2em .5em;text-align:left;vertical-align:top}\n"
        "th{background:#f3f3f3}.num small,td small{color:#666}\n"
        "pre{white-space:pre-wrap;word-wrap:break-word;font:13px/1.5 monospace;"
        "background:#fafafa;border:1px solid #ddd;padding:.6em;margin:0}\n"
        ".cols{display:grid;grid-template-columns:1fr 1fr;gap:1em}\n"
        ".doc{margin-bottom:2em}.doc h3{margin-bottom:.3em}\n"
        ".seg.g{text-decoration:underline 2px;text-underline-offset:3px}\n"
        ".seg.miss{background:#ffb3b3;outline:2px solid #d00}\n"
        ".ctx{font-family:monospace;white-space:pre-wrap}mark{background:#ffb3b3}\n"
        ".rep{border-radius:3px}.kept{opacity:.6}\n"
        ".lab{padding:0 .3em;border-radius:3px}\n";

static void label_css(struct ms_buf *out)
{
	size_t l;

	for (l = 0; l < PHI_LABEL_COUNT; l++)
		ms_buf_addf(out, ".l-%s{background:hsl(%zu,70%%,82%%)}\n",
		            phi_label_name((enum phi_label)l), (l * 137) % 360);
}

static void info_row(struct ms_buf *out, const char *key, const char *v)
{
	if (!v)
		return;
	ms_buf_addf(out, "<tr><th>%s</th><td>", key);
	html_str(out, v);
	ms_buf_adds(out, "</td></tr>\n");
}

static void count_item(struct ms_buf *out, const char *id, const char *what, size_t n)
{
	ms_buf_addf(
	        out,
	        "<tr><th>%s</th><td><span class=\"num\" id=\"%s\" data-value=\"%zu\">%zu</span></td></tr>\n",
	        what, id, n, n);
}

static void summary(struct ms_buf *out, const struct deid_eval *ev,
                    const struct deid_eval_info *info)
{
	const struct deid_eval_result *r = deid_eval_result(ev);
	char id[64];
	unsigned k;

	ms_buf_adds(out, "<h2 id=\"summary\">Summary</h2>\n<table>\n");
	if (info) {
		info_row(out, "gold annotations", info->gold);
		info_row(out, "gold format", info->gold_format);
		info_row(out, "label map", info->label_map);
		info_row(out, "predictions", info->predictions);
		info_row(out, "detector", info->detector);
		info_row(out, "model", info->model);
		info_row(out, "medsft", info->tool_version);
	}
	ms_buf_addf(out,
	            "<tr><th>bootstrap</th><td>%u replicates by document, seed %llu, 95 %% "
	            "intervals in brackets</td></tr>\n",
	            r->n_bootstrap, r->seed);
	count_item(out, "count-documents", "documents", r->n_docs);
	count_item(out, "count-gold", "gold spans", r->n_gold[DEID_EVAL_MICRO]);
	count_item(out, "count-predicted", "detected spans", r->n_pred[DEID_EVAL_MICRO]);
	count_item(out, "count-phi-entities", "PHI entities (recall base)", r->phi_entities);
	count_item(out, "count-phi-removed", "PHI entities fully removed", r->phi_entities_removed);
	count_item(out, "count-leaks", "leaks (PHI not fully removed)", r->n_leaks);
	count_item(out, "count-false-positives", "false positives (no gold overlap)",
	           r->n_false_positives);
	ms_buf_adds(out, "<tr><th>PHI recall, entities (label-agnostic)</th><td>");
	value_span(out, "value-entity-recall", &r->entity_recall);
	ms_buf_adds(out, "</td></tr>\n<tr><th>PHI recall, characters (label-agnostic)</th><td>");
	value_span(out, "value-char-recall", &r->char_recall);
	ms_buf_adds(out,
	            "</td></tr>\n</table>\n<table>\n<tr><th>micro average</th><th>precision</th>"
	            "<th>recall</th><th>F1</th></tr>\n");
	for (k = 0; k < DEID_EVAL_KINDS; k++) {
		const char *name = deid_eval_kind_name((enum deid_eval_kind)k);
		const struct deid_eval_prf *p = &r->prf[k][DEID_EVAL_MICRO];

		ms_buf_addf(out, "<tr><th>%s</th><td>", name);
		snprintf(id, sizeof(id), "value-%s-precision", name);
		value_span(out, id, &p->precision);
		ms_buf_adds(out, "</td><td>");
		snprintf(id, sizeof(id), "value-%s-recall", name);
		value_span(out, id, &p->recall);
		ms_buf_adds(out, "</td><td>");
		snprintf(id, sizeof(id), "value-%s-f1", name);
		value_span(out, id, &p->f1);
		ms_buf_adds(out, "</td></tr>\n");
	}
	ms_buf_adds(out, "</table>\n");
}

static double or0(double v)
{
	return isnan(v) ? 0 : v;
}

/* Horizontal bars per label: strict recall, overlap recall, strict precision. */
static void chart(struct ms_buf *out, const struct deid_eval_result *r)
{
	static const char *const colour[3] = { "#1f77b4", "#2ca02c", "#ff7f0e" };
	static const char *const what[3] = { "strict recall", "overlap recall",
		                             "strict precision" };
	size_t l, n = 0, y, k;

	for (l = 0; l < PHI_LABEL_COUNT; l++)
		n += r->n_gold[l] || r->n_pred[l];
	ms_buf_addf(out,
	            "<svg id=\"chart-labels\" xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" "
	            "height=\"%zu\" role=\"img\" aria-label=\"per-label recall and precision\" "
	            "font-family=\"sans-serif\" font-size=\"12\">\n",
	            n * 40 + 40);
	for (k = 0; k < 3; k++)
		ms_buf_addf(out,
		            "<rect x=\"%zu\" y=\"4\" width=\"12\" height=\"12\" fill=\"%s\"/>"
		            "<text x=\"%zu\" y=\"14\">%s</text>\n",
		            150 + k * 170, colour[k], 166 + k * 170, what[k]);
	for (l = 0, y = 28; l < PHI_LABEL_COUNT; l++) {
		const struct deid_eval_prf *s = &r->prf[DEID_EVAL_STRICT][l];
		const struct deid_eval_prf *o = &r->prf[DEID_EVAL_OVERLAP][l];
		double v[3] = { or0(s->recall.value), or0(o->recall.value),
			        or0(s->precision.value) };

		if (!r->n_gold[l] && !r->n_pred[l])
			continue;
		ms_buf_addf(out, "<g data-label=\"%s\"><text x=\"0\" y=\"%zu\">%s (%zu)</text>\n",
		            phi_label_name((enum phi_label)l), y + 20,
		            phi_label_name((enum phi_label)l), r->n_gold[l]);
		for (k = 0; k < 3; k++)
			ms_buf_addf(out,
			            "<rect x=\"150\" y=\"%zu\" width=\"%.1f\" height=\"10\" "
			            "fill=\"%s\"><title>%s %s %.3f</title></rect>"
			            "<text x=\"%.1f\" y=\"%zu\" font-size=\"10\">%.2f</text>\n",
			            y + 4 + k * 11, v[k] * 500, colour[k],
			            phi_label_name((enum phi_label)l), what[k], v[k],
			            155 + v[k] * 500, y + 13 + k * 11, v[k]);
		ms_buf_adds(out, "</g>\n");
		y += 40;
	}
	ms_buf_adds(out, "</svg>\n");
}

static void label_table(struct ms_buf *out, const struct deid_eval_result *r)
{
	size_t l;
	unsigned k;

	ms_buf_adds(out, "<table id=\"labels\">\n<tr><th>label</th><th>gold</th><th>detected</th>");
	for (k = 0; k < DEID_EVAL_KINDS; k++)
		ms_buf_addf(out, "<th>%s P</th><th>%s R</th><th>%s F1</th>",
		            deid_eval_kind_name((enum deid_eval_kind)k),
		            deid_eval_kind_name((enum deid_eval_kind)k),
		            deid_eval_kind_name((enum deid_eval_kind)k));
	ms_buf_adds(out, "</tr>\n");
	for (l = 0; l < PHI_LABEL_COUNT; l++) {
		if (!r->n_gold[l] && !r->n_pred[l])
			continue;
		ms_buf_addf(out,
		            "<tr data-label=\"%s\" data-gold=\"%zu\" data-predicted=\"%zu\" "
		            "data-strict-tp=\"%zu\"><th><span class=\"lab l-%s\">%s</span></th>"
		            "<td>%zu</td><td>%zu</td>",
		            label_name(l), r->n_gold[l], r->n_pred[l],
		            r->counts[DEID_EVAL_STRICT][l].tp, label_name(l), label_name(l),
		            r->n_gold[l], r->n_pred[l]);
		for (k = 0; k < DEID_EVAL_KINDS; k++) {
			const struct deid_eval_prf *p = &r->prf[k][l];

			ms_buf_adds(out, "<td>");
			fmt_value(out, p->precision.value);
			ms_buf_adds(out, "</td><td>");
			fmt_value(out, p->recall.value);
			ms_buf_adds(out, "</td><td>");
			fmt_value(out, p->f1.value);
			ms_buf_adds(out, "</td>");
		}
		ms_buf_adds(out, "</tr>\n");
	}
	ms_buf_adds(out, "</table>\n");
}

static void confusion(struct ms_buf *out, const struct deid_eval_result *r)
{
	bool used[PHI_LABEL_COUNT + 1];
	size_t g, p;

	for (g = 0; g <= PHI_LABEL_COUNT; g++)
		used[g] = g == DEID_EVAL_NONE || r->n_gold[g] || r->n_pred[g];
	ms_buf_adds(out, "<h2 id=\"confusion\">Confusion (rows gold, columns detected)</h2>\n"
	                 "<table id=\"confusion-matrix\">\n<tr><th></th>");
	for (p = 0; p <= PHI_LABEL_COUNT; p++)
		if (used[p])
			ms_buf_addf(out, "<th>%s</th>", label_name(p));
	ms_buf_adds(out, "</tr>\n");
	for (g = 0; g <= PHI_LABEL_COUNT; g++) {
		if (!used[g])
			continue;
		ms_buf_addf(out, "<tr><th>%s</th>", label_name(g));
		for (p = 0; p <= PHI_LABEL_COUNT; p++)
			if (used[p])
				ms_buf_addf(out, "<td>%zu</td>", r->confusion[g][p]);
		ms_buf_adds(out, "</tr>\n");
	}
	ms_buf_adds(out, "</table>\n");
}

static void issue_table(struct ms_buf *out, const char *id, const char *title, size_t n,
                        const struct ms_buf *rows, bool leak)
{
	ms_buf_addf(
	        out,
	        "<h2>%s <small>(<span id=\"%s-count\" data-value=\"%zu\">%zu</span>)</small></h2>\n",
	        title, id, n, n);
	if (!n) {
		ms_buf_adds(out, "<p>none</p>\n");
		return;
	}
	ms_buf_addf(out,
	            "<table id=\"%s\">\n<tr><th>document</th><th>bytes</th><th>label</th>"
	            "<th>%s</th><th>sources</th><th>context</th></tr>\n",
	            id, leak ? "characters removed" : "score");
	ms_buf_add(out, rows->buf, rows->len);
	ms_buf_adds(out, "</table>\n");
}

static void page(struct ms_buf *out, const struct deid_report *rep, const struct deid_eval *ev,
                 const struct deid_eval_info *info)
{
	const struct deid_eval_result *r = deid_eval_result(ev);

	ms_buf_adds(out, "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n"
	                 "<meta name=\"robots\" content=\"noindex\">\n"
	                 "<title>medsft de-identification review</title>\n<style>\n");
	ms_buf_adds(out, css);
	label_css(out);
	ms_buf_adds(out, "</style>\n</head>\n<body>\n<h1>medsft de-identification review</h1>\n"
	                 "<p class=\"phi-warning\" id=\"phi-warning\">This report contains RAW "
	                 "PROTECTED HEALTH INFORMATION (the original documents and the context "
	                 "of every leak). Keep it where the original data may be kept, do not "
	                 "send or publish it, delete it after review.</p>\n");
	summary(out, ev, info);
	ms_buf_adds(out, "<h2 id=\"by-label\">By label</h2>\n");
	chart(out, r);
	label_table(out, r);
	issue_table(out, "leaks", "Leaks: PHI not fully removed", r->n_leaks, &rep->leaks, true);
	issue_table(out, "false-positives", "False positives: detections without gold overlap",
	            r->n_false_positives, &rep->fps, false);
	confusion(out, r);
	ms_buf_addf(out,
	            "<h2 id=\"documents\">Documents (<span id=\"documents-count\" "
	            "data-value=\"%zu\">%zu</span>)</h2>\n",
	            rep->n_docs, rep->n_docs);
	ms_buf_add(out, rep->docs.buf, rep->docs.len);
	ms_buf_adds(out, "</body>\n</html>\n");
}

int deid_report_write(struct deid_report *rep, const struct deid_eval *ev,
                      const struct deid_eval_info *info, const char *path, struct ms_error *err)
{
	struct ms_buf out = MS_BUF_INIT;
	int rc;

	if (!deid_eval_result(ev) || rep->n_docs != ev->n_docs)
		return ms_error_set(err, MS_EUSAGE,
		                    "report: evaluation not finished or documents missing");
	page(&out, rep, ev, info);
	if (ms_buf_status(&out)) {
		ms_buf_release(&out);
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	rc = ms_file_write_atomic(path, out.buf, out.len, 0600, err);
	ms_buf_release(&out);
	return rc;
}
