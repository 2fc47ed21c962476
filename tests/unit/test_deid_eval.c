/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/eval.c, eval_json.c and report_html.c on hand-made
 * cases whose answers are worked out by hand in the comments: strict
 * against overlap matching, split and merged spans, adjacent entities,
 * label confusion, token level, character-level recall (code points, not
 * bytes), excluded labels, false positives, compare_as, bootstrap
 * determinism, rejected input, and the report's escaping and mode.
 */
#include "ms_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/fileio.h"
#include "deid/deid.h"

#define S DEID_EVAL_STRICT
#define O DEID_EVAL_OVERLAP
#define T DEID_EVAL_TOKEN
#define M DEID_EVAL_MICRO

/* A span over the first occurrence of needle in text (from byte from). */
static struct deid_span span_at(const char *text, const char *needle, size_t from,
                                enum phi_label label)
{
	const char *p = strstr(text + from, needle);
	struct deid_span s;

	assert_non_null(p);
	memset(&s, 0, sizeof(s));
	s.start = (size_t)(p - text);
	s.end = s.start + strlen(needle);
	s.label = label;
	s.source_kind = DEID_SOURCE_RULE;
	s.source = "test_rule";
	s.score = 1;
	s.field = -1;
	return s;
}

/* Evaluates one document (plus options) and returns the finished evaluation. */
static struct deid_eval *eval1(const struct deid_eval_opts *opts, const char *text,
                               const struct deid_span *gold, size_t n_gold,
                               const struct deid_span *pred, size_t n_pred)
{
	struct deid_eval *ev = NULL;
	struct deid_eval_doc d;
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(deid_eval_new(&ev, opts, &err), 0);
	memset(&d, 0, sizeof(d));
	d.id = "doc-1";
	d.text = text;
	d.len = strlen(text);
	d.gold = gold;
	d.n_gold = n_gold;
	d.pred = pred;
	d.n_pred = n_pred;
	assert_int_equal(deid_eval_add(ev, &d, &err), 0);
	assert_int_equal(deid_eval_finish(ev, &err), 0);
	return ev;
}

static void assert_counts(const struct deid_eval_counts *c, size_t tp, size_t fn, size_t tp_pred,
                          size_t fp)
{
	assert_int_equal(c->tp, tp);
	assert_int_equal(c->fn, fn);
	assert_int_equal(c->tp_pred, tp_pred);
	assert_int_equal(c->fp, fp);
}

static void assert_near(double got, double want)
{
	if (fabs(got - want) > 1e-9) {
		print_error("got %.12f, want %.12f\n", got, want);
		fail();
	}
}

/* A partial hit: wrong for strict, right for overlap. */
static void test_strict_vs_overlap(void **state)
{
	const char *text = "Herr Hans Müller kam am 03.03.2021 zur Kontrolle.";
	struct deid_span gold[2], pred[2];
	struct deid_eval *ev;
	const struct deid_eval_result *r;

	(void)state;
	gold[0] = span_at(text, "Hans Müller", 0, PHI_PATIENT);
	gold[1] = span_at(text, "03.03.2021", 0, PHI_DATE);
	pred[0] = span_at(text, "Müller", 0, PHI_PATIENT);
	pred[1] = span_at(text, "03.03.2021", 0, PHI_DATE);
	ev = eval1(NULL, text, gold, 2, pred, 2);
	r = deid_eval_result(ev);
	assert_counts(&r->counts[S][PHI_PATIENT], 0, 1, 0, 1);
	assert_counts(&r->counts[S][PHI_DATE], 1, 0, 1, 0);
	assert_counts(&r->counts[S][M], 1, 1, 1, 1);
	assert_counts(&r->counts[O][PHI_PATIENT], 1, 0, 1, 0);
	assert_counts(&r->counts[O][M], 2, 0, 2, 0);
	assert_near(r->prf[S][M].precision.value, 0.5);
	assert_near(r->prf[S][M].recall.value, 0.5);
	assert_near(r->prf[S][M].f1.value, 0.5);
	assert_near(r->prf[O][M].f1.value, 1.0);
	/* "Hans" survives: a leak of 4 of 10 non-blank characters not removed */
	assert_int_equal(r->n_leaks, 1);
	assert_int_equal(r->leaks[0].label, PHI_PATIENT);
	assert_int_equal(r->leaks[0].chars, 10);
	assert_int_equal(r->leaks[0].chars_removed, 6);
	assert_int_equal(r->leaks[0].n_sources, 1);
	assert_string_equal(r->leaks[0].sources[0], "test_rule");
	assert_int_equal(r->phi_entities, 2);
	assert_int_equal(r->phi_entities_removed, 1);
	assert_int_equal(r->phi_entities_touched, 2);
	assert_near(r->entity_recall.value, 0.5);
	assert_near(r->char_recall.value, 16.0 / 20.0);
	assert_int_equal(r->n_false_positives, 0);
	deid_eval_free(ev);
}

/* One gold name found as two pieces. */
static void test_split(void **state)
{
	const char *text = "Patient: Hans Müller";
	struct deid_span gold[1], pred[2];
	struct deid_eval *ev;
	const struct deid_eval_result *r;

	(void)state;
	gold[0] = span_at(text, "Hans Müller", 0, PHI_PATIENT);
	pred[0] = span_at(text, "Hans", 0, PHI_PATIENT);
	pred[1] = span_at(text, "Müller", 0, PHI_PATIENT);
	ev = eval1(NULL, text, gold, 1, pred, 2);
	r = deid_eval_result(ev);
	assert_counts(&r->counts[S][PHI_PATIENT], 0, 1, 0, 2);
	/* overlap: the gold span is found, both pieces are right */
	assert_counts(&r->counts[O][PHI_PATIENT], 1, 0, 2, 0);
	assert_near(r->prf[O][PHI_PATIENT].precision.value, 1.0);
	assert_near(r->prf[O][PHI_PATIENT].recall.value, 1.0);
	/* tokens: both words right */
	assert_counts(&r->counts[T][PHI_PATIENT], 2, 0, 2, 0);
	/* every character is removed (the blank between does not count) */
	assert_int_equal(r->n_leaks, 0);
	assert_near(r->entity_recall.value, 1.0);
	assert_int_equal(r->confusion[PHI_PATIENT][PHI_PATIENT], 1);
	deid_eval_free(ev);
}

/* Two gold names found as one span. */
static void test_merged(void **state)
{
	const char *text = "Befund: Hans, Müller";
	struct deid_span gold[2], pred[1];
	struct deid_eval *ev;
	const struct deid_eval_result *r;

	(void)state;
	gold[0] = span_at(text, "Hans", 0, PHI_PATIENT);
	gold[1] = span_at(text, "Müller", 0, PHI_PATIENT);
	pred[0] = span_at(text, "Hans, Müller", 0, PHI_PATIENT);
	ev = eval1(NULL, text, gold, 2, pred, 1);
	r = deid_eval_result(ev);
	assert_counts(&r->counts[S][PHI_PATIENT], 0, 2, 0, 1);
	assert_counts(&r->counts[O][PHI_PATIENT], 2, 0, 1, 0);
	assert_counts(&r->counts[T][PHI_PATIENT], 2, 0, 2, 0);
	assert_int_equal(r->n_leaks, 0);
	assert_int_equal(r->n_false_positives, 0);
	deid_eval_free(ev);
}

/* A title next to a name: found apart, then run together under one label. */
static void test_adjacent(void **state)
{
	const char *text = "gez. Dr. Weber";
	struct deid_span gold[2], pred[2];
	struct deid_eval *ev;
	const struct deid_eval_result *r;

	(void)state;
	gold[0] = span_at(text, "Dr.", 0, PHI_TITLE);
	gold[1] = span_at(text, "Weber", 0, PHI_STAFF);
	pred[0] = gold[0];
	pred[1] = gold[1];
	ev = eval1(NULL, text, gold, 2, pred, 2);
	r = deid_eval_result(ev);
	assert_counts(&r->counts[S][M], 2, 0, 2, 0);
	assert_near(r->prf[S][M].f1.value, 1.0);
	deid_eval_free(ev);

	pred[0] = span_at(text, "Dr. Weber", 0, PHI_STAFF);
	ev = eval1(NULL, text, gold, 2, pred, 1);
	r = deid_eval_result(ev);
	assert_counts(&r->counts[S][PHI_TITLE], 0, 1, 0, 0);
	assert_counts(&r->counts[S][PHI_STAFF], 0, 1, 0, 1);
	assert_counts(&r->counts[O][PHI_STAFF], 1, 0, 1, 0);
	assert_counts(&r->counts[O][PHI_TITLE], 0, 1, 0, 0);
	/* "Dr" is a token of gold TITLE, predicted STAFF */
	assert_counts(&r->counts[T][PHI_TITLE], 0, 1, 0, 0);
	assert_counts(&r->counts[T][PHI_STAFF], 1, 0, 1, 1);
	assert_int_equal(r->confusion[PHI_TITLE][PHI_STAFF], 1);
	assert_int_equal(r->confusion[PHI_STAFF][PHI_STAFF], 1);
	/* TITLE is not part of PHI recall: one entity, removed */
	assert_int_equal(r->phi_entities, 1);
	assert_int_equal(r->n_leaks, 0);
	deid_eval_free(ev);
}

/* Removed, but under the wrong label. */
static void test_confusion(void **state)
{
	const char *text = "wohnhaft in Berlin, Tel. 030 1234567";
	struct deid_span gold[2], pred[2];
	struct deid_eval *ev;
	const struct deid_eval_result *r;

	(void)state;
	gold[0] = span_at(text, "Berlin", 0, PHI_CITY);
	gold[1] = span_at(text, "030 1234567", 0, PHI_PHONE);
	pred[0] = span_at(text, "Berlin", 0, PHI_PATIENT);
	pred[1] = span_at(text, "030 1234567", 0, PHI_ID);
	ev = eval1(NULL, text, gold, 2, pred, 2);
	r = deid_eval_result(ev);
	assert_counts(&r->counts[S][PHI_CITY], 0, 1, 0, 0);
	assert_counts(&r->counts[S][PHI_PATIENT], 0, 0, 0, 1);
	assert_counts(&r->counts[O][M], 0, 2, 0, 2);
	assert_int_equal(r->confusion[PHI_CITY][PHI_PATIENT], 1);
	assert_int_equal(r->confusion[PHI_PHONE][PHI_ID], 1);
	assert_int_equal(r->confusion[PHI_CITY][PHI_CITY], 0);
	/* label-agnostic: everything is gone, nothing was removed needlessly */
	assert_near(r->entity_recall.value, 1.0);
	assert_near(r->char_recall.value, 1.0);
	assert_int_equal(r->n_leaks, 0);
	assert_int_equal(r->n_false_positives, 0);
	assert_near(r->prf[S][M].f1.value, 0.0);
	deid_eval_free(ev);
}

static void test_tokens(void **state)
{
	/* tokens: Frau Anna Maria Schmidt geb 01 02 1960 */
	const char *text = "Frau Anna Maria Schmidt, geb. 01.02.1960";
	struct deid_span gold[2], pred[2];
	struct deid_eval *ev;
	const struct deid_eval_result *r;

	(void)state;
	gold[0] = span_at(text, "Anna Maria Schmidt", 0, PHI_PATIENT);
	gold[1] = span_at(text, "01.02.1960", 0, PHI_BIRTHDATE);
	pred[0] = span_at(text, "Anna Maria", 0, PHI_PATIENT);
	pred[1] = span_at(text, "01.02.1960", 0, PHI_DATE);
	ev = eval1(NULL, text, gold, 2, pred, 2);
	r = deid_eval_result(ev);
	assert_counts(&r->counts[T][PHI_PATIENT], 2, 1, 2, 0);
	assert_counts(&r->counts[T][PHI_BIRTHDATE], 0, 3, 0, 0);
	assert_counts(&r->counts[T][PHI_DATE], 0, 0, 0, 3);
	assert_counts(&r->counts[T][M], 2, 4, 2, 3);
	assert_near(r->prf[T][M].recall.value, 2.0 / 6.0);
	assert_near(r->prf[T][M].precision.value, 2.0 / 5.0);
	deid_eval_free(ev);
}

/* Characters are code points: "Müller" has 6, in 7 bytes. */
static void test_char_recall(void **state)
{
	const char *text = "Herr Müller";
	struct deid_span gold[1], pred[1];
	struct deid_eval *ev;
	const struct deid_eval_result *r;

	(void)state;
	gold[0] = span_at(text, "Müller", 0, PHI_PATIENT);
	pred[0] = span_at(text, "Mü", 0, PHI_PATIENT);
	ev = eval1(NULL, text, gold, 1, pred, 1);
	r = deid_eval_result(ev);
	assert_int_equal(r->phi_chars, 6);
	assert_int_equal(r->phi_chars_removed, 2);
	assert_near(r->char_recall.value, 2.0 / 6.0);
	assert_near(r->entity_recall.value, 0.0);
	assert_int_equal(r->phi_entities_touched, 1);
	assert_int_equal(r->n_leaks, 1);
	assert_int_equal(r->leaks[0].start, 5);
	assert_int_equal(r->leaks[0].end, 12);
	deid_eval_free(ev);
}

/* A kept TITLE prediction removes nothing; a missed TITLE is no leak. */
static void test_excluded(void **state)
{
	const char *text = "Prof. Albers";
	struct deid_span gold[2], pred[1];
	struct deid_eval *ev;
	const struct deid_eval_result *r;
	struct deid_eval_opts opts = DEID_EVAL_OPTS_INIT;

	(void)state;
	gold[0] = span_at(text, "Prof.", 0, PHI_TITLE);
	gold[1] = span_at(text, "Albers", 0, PHI_STAFF);
	pred[0] = span_at(text, "Prof. Albers", 0, PHI_TITLE);
	ev = eval1(NULL, text, gold, 2, pred, 1);
	r = deid_eval_result(ev);
	assert_int_equal(r->phi_entities, 1);
	assert_int_equal(r->phi_entities_removed, 0);
	assert_int_equal(r->n_leaks, 1);
	assert_int_equal(r->leaks[0].label, PHI_STAFF);
	deid_eval_free(ev);

	/* nothing excluded: the TITLE prediction removes both */
	opts.exclude_set = true;
	ev = eval1(&opts, text, gold, 2, pred, 1);
	r = deid_eval_result(ev);
	assert_int_equal(r->phi_entities, 2);
	assert_int_equal(r->phi_entities_removed, 2);
	assert_int_equal(r->n_leaks, 0);
	deid_eval_free(ev);
}

static void test_false_positive(void **state)
{
	const char *text = "Morbus Crohn, Kontrolle bei Dr. Kurz";
	struct deid_span gold[1], pred[2];
	struct deid_eval *ev;
	const struct deid_eval_result *r;
	struct ms_buf json = MS_BUF_INIT;

	(void)state;
	gold[0] = span_at(text, "Kurz", 0, PHI_STAFF);
	pred[0] = span_at(text, "Crohn", 0, PHI_PATIENT);
	pred[0].source = "gaz:surnames";
	pred[0].source_kind = DEID_SOURCE_GAZETTEER;
	pred[0].score = 0.5f;
	pred[1] = gold[0];
	ev = eval1(NULL, text, gold, 1, pred, 2);
	r = deid_eval_result(ev);
	assert_int_equal(r->n_false_positives, 1);
	assert_int_equal(r->false_positives[0].start, 7);
	assert_int_equal(r->false_positives[0].label, PHI_PATIENT);
	assert_string_equal(r->false_positives[0].sources[0], "gaz:surnames");
	assert_int_equal(r->confusion[DEID_EVAL_NONE][PHI_PATIENT], 1);
	assert_near(r->prf[S][M].precision.value, 0.5);
	/* metrics.json has offsets and ids, no text */
	assert_int_equal(deid_eval_write_json(&json, ev, NULL), 0);
	assert_non_null(strstr(json.buf, "\"gaz:surnames\""));
	assert_null(strstr(json.buf, "Crohn"));
	assert_null(strstr(json.buf, "Kurz"));
	ms_buf_release(&json);
	deid_eval_free(ev);
}

static void test_compare_as(void **state)
{
	const char *text = "geb. 01.02.1960";
	struct deid_span gold[1], pred[1];
	struct deid_eval *ev;
	const struct deid_eval_result *r;
	struct deid_eval_opts opts = DEID_EVAL_OPTS_INIT;
	unsigned l;

	(void)state;
	gold[0] = span_at(text, "01.02.1960", 0, PHI_DATE);
	pred[0] = span_at(text, "01.02.1960", 0, PHI_BIRTHDATE);
	ev = eval1(NULL, text, gold, 1, pred, 1);
	assert_int_equal(deid_eval_result(ev)->counts[S][M].tp, 0);
	deid_eval_free(ev);
	opts.compare_as_set = true;
	for (l = 0; l < PHI_LABEL_COUNT; l++)
		opts.compare_as[l] = (enum phi_label)l;
	opts.compare_as[PHI_BIRTHDATE] = PHI_DATE;
	ev = eval1(&opts, text, gold, 1, pred, 1);
	r = deid_eval_result(ev);
	assert_counts(&r->counts[S][PHI_DATE], 1, 0, 1, 0);
	assert_int_equal(r->n_pred[PHI_DATE], 1);
	deid_eval_free(ev);
}

/* Ten documents, the first five perfect and the last five missing their name. */
static struct deid_eval *eval10(unsigned long long seed, unsigned n_bootstrap)
{
	const char *text = "Patient Hans Weber, 12.03.2020";
	struct deid_eval_opts opts = DEID_EVAL_OPTS_INIT;
	struct deid_eval *ev = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct deid_span gold[2], pred[2];
	struct deid_eval_doc d;
	int i;

	gold[0] = span_at(text, "Hans Weber", 0, PHI_PATIENT);
	gold[1] = span_at(text, "12.03.2020", 0, PHI_DATE);
	pred[0] = gold[1];
	pred[1] = gold[0];
	opts.seed = seed;
	opts.n_bootstrap = n_bootstrap;
	assert_int_equal(deid_eval_new(&ev, &opts, &err), 0);
	for (i = 0; i < 10; i++) {
		memset(&d, 0, sizeof(d));
		d.id = "d";
		d.text = text;
		d.len = strlen(text);
		d.gold = gold;
		d.n_gold = 2;
		d.pred = pred;
		d.n_pred = i < 5 ? 2 : 1;
		assert_int_equal(deid_eval_add(ev, &d, &err), 0);
	}
	assert_int_equal(deid_eval_finish(ev, &err), 0);
	return ev;
}

static void test_bootstrap(void **state)
{
	struct deid_eval *a = eval10(7, 500), *b = eval10(7, 500), *c = eval10(8, 500);
	struct ms_buf ja = MS_BUF_INIT, jb = MS_BUF_INIT, jc = MS_BUF_INIT;
	const struct deid_eval_result *r = deid_eval_result(a);

	(void)state;
	assert_int_equal(deid_eval_write_json(&ja, a, NULL), 0);
	assert_int_equal(deid_eval_write_json(&jb, b, NULL), 0);
	assert_int_equal(deid_eval_write_json(&jc, c, NULL), 0);
	/* same seed, same bytes; another seed, other intervals */
	assert_string_equal(ja.buf, jb.buf);
	assert_string_not_equal(ja.buf, jc.buf);
	assert_near(r->entity_recall.value, 15.0 / 20.0);
	assert_true(r->entity_recall.lo <= r->entity_recall.value);
	assert_true(r->entity_recall.hi >= r->entity_recall.value);
	assert_true(r->entity_recall.lo < r->entity_recall.hi);
	/* a recall of 0.5 per replicate needs five of each kind: both ends are possible */
	assert_true(r->entity_recall.lo >= 0.5 && r->entity_recall.hi <= 1.0);
	/* precision is 1 in every replicate */
	assert_near(r->prf[S][M].precision.lo, 1.0);
	assert_near(r->prf[S][M].precision.hi, 1.0);
	assert_int_equal(r->n_bootstrap, 500);
	ms_buf_release(&ja);
	ms_buf_release(&jb);
	ms_buf_release(&jc);
	deid_eval_free(a);
	deid_eval_free(b);
	deid_eval_free(c);
}

static void test_undefined(void **state)
{
	const char *text = "kein Befund";
	struct deid_eval *ev = eval1(NULL, text, NULL, 0, NULL, 0);
	const struct deid_eval_result *r = deid_eval_result(ev);
	struct ms_buf json = MS_BUF_INIT;

	(void)state;
	assert_true(isnan(r->prf[S][M].precision.value));
	assert_true(isnan(r->prf[S][M].recall.value));
	assert_true(isnan(r->entity_recall.value));
	assert_int_equal(deid_eval_write_json(&json, ev, NULL), 0);
	assert_non_null(strstr(json.buf, "\"value\": null"));
	ms_buf_release(&json);
	deid_eval_free(ev);
}

static void test_bad_input(void **state)
{
	const char *text = "Herr Müller";
	struct deid_eval *ev = NULL;
	struct deid_eval_doc d;
	struct deid_span s = span_at(text, "Müller", 0, PHI_PATIENT);
	struct ms_error err = MS_ERROR_INIT;
	char bad[] = "Herr \xff";

	(void)state;
	assert_int_equal(deid_eval_new(&ev, NULL, &err), 0);
	memset(&d, 0, sizeof(d));
	d.id = "x";
	d.text = text;
	d.len = strlen(text);
	d.gold = &s;
	d.n_gold = 1;
	s.start = 7; /* inside the ü */
	assert_int_equal(deid_eval_add(ev, &d, &err), MS_EINVAL);
	assert_non_null(strstr(err.msg, "document 1: gold span 0"));
	assert_null(strstr(err.msg, "Müller"));
	ms_error_clear(&err);
	s.start = 5;
	s.end = 99;
	assert_int_equal(deid_eval_add(ev, &d, &err), MS_EINVAL);
	ms_error_clear(&err);
	s.end = 12;
	s.label = PHI_LABEL_COUNT;
	assert_int_equal(deid_eval_add(ev, &d, &err), MS_EINVAL);
	ms_error_clear(&err);
	d.text = bad;
	d.len = strlen(bad);
	d.n_gold = 0;
	assert_int_equal(deid_eval_add(ev, &d, &err), MS_EUNICODE);
	ms_error_clear(&err);
	/* nothing was counted */
	assert_int_equal(deid_eval_finish(ev, &err), 0);
	assert_int_equal(deid_eval_result(ev)->n_docs, 0);
	deid_eval_free(ev);
}

static void test_report(void **state)
{
	const char *text = "Pat. <b>O'Neil</b> & \"Sohn\"";
	struct deid_span gold[1], pred[1];
	struct deid_eval *ev = NULL;
	struct deid_report *rep = NULL;
	struct deid_eval_doc d;
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf html = MS_BUF_INIT;
	char path[4200];
	struct stat st;

	(void)state;
	gold[0] = span_at(text, "O'Neil", 0, PHI_PATIENT);
	pred[0] = span_at(text, "Sohn", 0, PHI_PERSON_OTHER);
	pred[0].source = "rule<x>";
	memset(&d, 0, sizeof(d));
	d.id = "id<1>";
	d.text = text;
	d.len = strlen(text);
	d.gold = gold;
	d.n_gold = 1;
	d.pred = pred;
	d.n_pred = 1;
	assert_int_equal(deid_eval_new(&ev, NULL, &err), 0);
	assert_int_equal(deid_report_new(&rep, &err), 0);
	assert_int_equal(deid_eval_add(ev, &d, &err), 0);
	assert_int_equal(deid_report_add(rep, ev, 0, &d, NULL, &err), 0);
	assert_int_equal(deid_eval_finish(ev, &err), 0);
	snprintf(path, sizeof(path), "%s/report.html", ms_test_tmpdir());
	assert_int_equal(deid_report_write(rep, ev, NULL, path, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(ms_file_read(&html, path, 0, &err), 0);
	assert_non_null(strstr(html.buf, "id=\"phi-warning\""));
	assert_non_null(strstr(html.buf, "&lt;b&gt;"));
	assert_non_null(strstr(html.buf, "O&#39;Neil"));
	assert_non_null(strstr(html.buf, "&amp; &quot;"));
	assert_non_null(strstr(html.buf, "id&lt;1&gt;"));
	assert_non_null(strstr(html.buf, "rule&lt;x&gt;"));
	assert_null(strstr(html.buf, "<b>"));
	assert_null(strstr(html.buf, "<script"));
	/* self-contained: nothing is loaded from elsewhere */
	assert_null(strstr(html.buf, "src="));
	assert_null(strstr(html.buf, "<link"));
	assert_null(strstr(html.buf, "@import"));
	assert_non_null(strstr(html.buf, "id=\"count-leaks\" data-value=\"1\""));
	assert_non_null(strstr(html.buf, "id=\"count-false-positives\" data-value=\"1\""));
	ms_buf_release(&html);
	deid_report_free(rep);
	deid_eval_free(ev);
}

/* A small PRNG for the random cases (the test must not depend on rand()). */
static unsigned next(unsigned long long *st)
{
	*st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(*st >> 33);
}

static void random_spans(unsigned long long *st, const char *text, size_t len, struct deid_span *v,
                         size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		size_t a = next(st) % (len - 1), b;

		while (a > 0 && (text[a] & 0xc0) == 0x80)
			a--;
		b = a + 1 + next(st) % 12;
		if (b > len)
			b = len;
		while (b < len && (text[b] & 0xc0) == 0x80)
			b++;
		memset(&v[i], 0, sizeof(v[i]));
		v[i].start = a;
		v[i].end = b;
		v[i].label = (enum phi_label)(next(st) % PHI_LABEL_COUNT);
		v[i].source = next(st) % 2 ? "r1" : "r2";
		v[i].source_kind = DEID_SOURCE_RULE;
		v[i].score = 1;
	}
}

/*
 * Random overlapping spans on random documents (run it under ASan):
 * whatever the input, the counts hang together.
 */
static void test_random_invariants(void **state)
{
	const char *text = "Frau Dr. Jürgen-Müller, geb. 01.02.1960, wohnt in 37085 Göttingen; "
	                   "Tel. 0551 123 — Befund: o.B.";
	size_t len = strlen(text), k, l;
	unsigned long long st = 42;
	struct deid_span gold[12], pred[12];
	struct deid_eval *ev = NULL;
	struct ms_error err = MS_ERROR_INIT;
	const struct deid_eval_result *r;
	size_t n_gold = 0, n_pred = 0, conf = 0;
	int d;

	(void)state;
	assert_int_equal(deid_eval_new(&ev, NULL, &err), 0);
	for (d = 0; d < 200; d++) {
		struct deid_eval_doc doc;
		size_t ng = next(&st) % 12, np = next(&st) % 12;

		random_spans(&st, text, len, gold, ng);
		random_spans(&st, text, len, pred, np);
		memset(&doc, 0, sizeof(doc));
		doc.id = "r";
		doc.text = text;
		doc.len = len;
		doc.gold = gold;
		doc.n_gold = ng;
		doc.pred = pred;
		doc.n_pred = np;
		assert_int_equal(deid_eval_add(ev, &doc, &err), 0);
		n_gold += ng;
		n_pred += np;
	}
	assert_int_equal(deid_eval_finish(ev, &err), 0);
	r = deid_eval_result(ev);
	assert_int_equal(r->n_gold[M], n_gold);
	assert_int_equal(r->n_pred[M], n_pred);
	for (l = 0; l <= PHI_LABEL_COUNT; l++) {
		const struct deid_eval_counts *s = &r->counts[S][l], *o = &r->counts[O][l];

		/* every gold span and every prediction is counted once */
		assert_int_equal(s->tp + s->fn, r->n_gold[l]);
		assert_int_equal(s->tp_pred + s->fp, r->n_pred[l]);
		assert_int_equal(o->tp + o->fn, r->n_gold[l]);
		assert_int_equal(o->tp_pred + o->fp, r->n_pred[l]);
		/* an exact match overlaps */
		assert_true(s->tp <= o->tp);
		assert_true(s->tp_pred <= o->tp_pred);
		for (k = 0; k < DEID_EVAL_KINDS; k++) {
			const struct deid_eval_prf *p = &r->prf[k][l];

			assert_true(isnan(p->f1.value) || (p->f1.value >= 0 && p->f1.value <= 1));
			assert_true(isnan(p->recall.lo) || p->recall.lo <= p->recall.hi);
		}
	}
	for (k = 0; k <= PHI_LABEL_COUNT; k++)
		for (l = 0; l <= PHI_LABEL_COUNT; l++)
			conf += r->confusion[k][l];
	/* one cell per gold span, one per prediction that overlaps no gold span */
	assert_int_equal(conf, n_gold + r->n_false_positives);
	assert_true(r->phi_entities_removed <= r->phi_entities_touched);
	assert_true(r->phi_entities_touched <= r->phi_entities);
	assert_int_equal(r->phi_entities - r->phi_entities_removed, r->n_leaks);
	assert_true(r->phi_chars_removed <= r->phi_chars);
	deid_eval_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strict_vs_overlap),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_merged),
		cmocka_unit_test(test_adjacent),
		cmocka_unit_test(test_confusion),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_char_recall),
		cmocka_unit_test(test_excluded),
		cmocka_unit_test(test_false_positive),
		cmocka_unit_test(test_compare_as),
		cmocka_unit_test(test_bootstrap),
		cmocka_unit_test(test_undefined),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_random_invariants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
