/* SPDX-License-Identifier: MIT */
/*
 * A measurement on GraSCCo_PHI (../shared/data/deid-corpora/grascco-phi):
 * runs the detector (rules and gazetteers; the corpus has no structured
 * fields) over every document and prints entity-level recall and precision
 * (a gold span counts as found when a detected span overlaps it), label-
 * agnostic and per label (schemas/label-maps/grascco.json), plus the
 * detector's speed. Asserts floors a little below the measured values so
 * that regressions fail; the rules are not tuned to these documents (an
 * unseen test part of the corpus exists). Skips when the corpus is absent.
 *
 * Corpus format: UIMA CAS JSON; the text is the sofa's "sofaString", PHI
 * annotations are "webanno.custom.PHI" with "begin"/"end" in UTF-16 code
 * units (a missing "begin" is 0) and the label in "kind".
 */
#include "ms_test.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "deid/deid.h"

#define GRASCCO_DIR "deid-corpora/grascco-phi"
#define MAX_GOLD    4096

/* Floors (measured values minus a margin; see the printed report). */
#define FLOOR_RECALL    0.88
#define FLOOR_PRECISION 0.97

struct gold {
	size_t start, end;
	int label; /* enum phi_label */
	bool found, found_label;
};

struct tally {
	size_t gold, gold_found, gold_found_label;
	size_t pred, pred_hit, pred_hit_label;
};

struct eval {
	json_t *map;
	struct tally all;
	struct tally by_label[PHI_LABEL_COUNT];
	size_t n_docs, bytes;
	double seconds;
};

/* Converts a UTF-16 offset into a byte offset of the UTF-8 text. */
static size_t utf16_to_byte(const char *s, size_t len, size_t u16)
{
	size_t off = 0, units = 0;

	while (off < len && units < u16) {
		unsigned char c = (unsigned char)s[off];
		size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;

		units += n == 4 ? 2 : 1;
		off += n;
	}
	return off;
}

static int map_label(const struct eval *ev, const char *kind)
{
	json_t *labels = json_object_get(ev->map, "labels");
	const char *ours;
	enum phi_label l;

	if (!kind)
		kind = json_string_value(json_object_get(ev->map, "missing_label"));
	ours = json_string_value(json_object_get(labels, kind));
	if (!ours) {
		if (phi_label_parse(&l, kind) == 0) /* missing_label is one of ours */
			return (int)l;
		printf("unknown GraSCCo label '%s'\n", kind);
		return PHI_OTHER;
	}
	assert_int_equal(phi_label_parse(&l, ours), 0);
	return (int)l;
}

/* Our label as the corpus sees it (compare_as: BIRTHDATE counts as DATE). */
static int compare_label(const struct eval *ev, enum phi_label label)
{
	const char *as = json_string_value(
	        json_object_get(json_object_get(ev->map, "compare_as"), phi_label_name(label)));
	enum phi_label l;

	if (as && phi_label_parse(&l, as) == 0)
		return (int)l;
	return (int)label;
}

static bool overlap(size_t a0, size_t a1, size_t b0, size_t b1)
{
	return a0 < b1 && b0 < a1;
}

static void eval_file(struct eval *ev, struct deid_detector *det, const char *path)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr), *fs, *x;
	const char *text = NULL;
	size_t len = 0, i, j, n_gold = 0;
	struct gold *gold = calloc(MAX_GOLD, sizeof(*gold));
	struct deid_spans spans = DEID_SPANS_INIT;
	struct deid_doc doc;
	struct ms_error err = MS_ERROR_INIT;
	struct timespec t0, t1;
	char msg[512];
	int rc;

	assert_non_null(gold);
	if (!root)
		fail_msg("%s: %s", path, jerr.text);
	fs = json_object_get(root, "%FEATURE_STRUCTURES");
	json_array_foreach(fs, i, x)
	{
		const char *type = json_string_value(json_object_get(x, "%TYPE"));

		if (type && strcmp(type, "uima.cas.Sofa") == 0) {
			text = json_string_value(json_object_get(x, "sofaString"));
			len = json_string_length(json_object_get(x, "sofaString"));
		}
	}
	assert_non_null(text);
	json_array_foreach(fs, i, x)
	{
		const char *type = json_string_value(json_object_get(x, "%TYPE"));

		if (!type || strcmp(type, "webanno.custom.PHI") != 0)
			continue;
		assert_true(n_gold < MAX_GOLD);
		gold[n_gold].start = utf16_to_byte(
		        text, len, (size_t)json_integer_value(json_object_get(x, "begin")));
		gold[n_gold].end = utf16_to_byte(
		        text, len, (size_t)json_integer_value(json_object_get(x, "end")));
		gold[n_gold].label = map_label(ev, json_string_value(json_object_get(x, "kind")));
		n_gold++;
	}
	memset(&doc, 0, sizeof(doc));
	doc.id = "grascco";
	doc.text = text;
	doc.len = len;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = deid_detector_run(det, &doc, &spans, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc)
		fail_msg("%s: %s", path, ms_error_format(&err, msg, sizeof(msg)));
	ev->seconds += (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ev->bytes += len;
	ev->n_docs++;
	for (i = 0; i < spans.n; i++) {
		const struct deid_span *sp = &spans.v[i];
		int pl = compare_label(ev, sp->label);
		bool hit = false, hit_label = false;

		for (j = 0; j < n_gold; j++) {
			if (!overlap(sp->start, sp->end, gold[j].start, gold[j].end))
				continue;
			hit = true;
			gold[j].found = true;
			if (gold[j].label == pl) {
				hit_label = true;
				gold[j].found_label = true;
			}
		}
		ev->all.pred++;
		ev->all.pred_hit += hit;
		ev->by_label[pl].pred++;
		ev->by_label[pl].pred_hit += hit;
		ev->by_label[pl].pred_hit_label += hit_label;
		if (getenv("MS_GRASCCO_VERBOSE") && !hit)
			printf("FP %-12s %-24s %s '%.*s'\n", phi_label_name(sp->label), sp->source,
			       ms_basename(path), (int)(sp->end - sp->start), text + sp->start);
	}
	for (j = 0; j < n_gold; j++) {
		struct tally *t = &ev->by_label[gold[j].label];

		ev->all.gold++;
		ev->all.gold_found += gold[j].found;
		t->gold++;
		t->gold_found += gold[j].found;
		t->gold_found_label += gold[j].found_label;
		if (getenv("MS_GRASCCO_VERBOSE") && !gold[j].found)
			printf("FN %-12s %s '%.*s'\n",
			       phi_label_name((enum phi_label)gold[j].label), ms_basename(path),
			       (int)(gold[j].end - gold[j].start), text + gold[j].start);
	}
	deid_spans_release(&spans);
	free(gold);
	json_decref(root);
}

static double ratio(size_t a, size_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The corpus files in byte order of their names (malloc'ed paths). */
static size_t list_corpus(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		char *p;

		if (l < 10 || strcmp(de->d_name + l - 9, "_phi.json") != 0)
			continue;
		char **nv = realloc(v, (n + 1) * sizeof(*v));

		assert_non_null(nv);
		v = nv;
		p = malloc(strlen(dir) + l + 2);
		assert_non_null(p);
		sprintf(p, "%s/%s", dir, de->d_name);
		v[n++] = p;
	}
	closedir(d);
	assert_non_null(v);
	qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

static struct deid_detector *new_detector(unsigned flags)
{
	struct deid_detector_opts o = DEID_DETECTOR_OPTS_INIT;
	struct deid_detector *det = NULL;
	struct ms_error err = MS_ERROR_INIT;
	char rules[4096], gaz[4096], msg[512];

	snprintf(rules, sizeof(rules), "%s", ms_test_src_path("data/rules"));
	snprintf(gaz, sizeof(gaz), "%s", ms_test_src_path("data/gazetteers"));
	o.rules_dir = rules;
	o.gazetteer_dir = gaz;
	o.flags = flags;
	if (deid_detector_new(&det, &o, &err))
		fail_msg("%s", ms_error_format(&err, msg, sizeof(msg)));
	return det;
}

static void test_grascco(void **state)
{
	const char *dir = ms_test_shared_path(GRASCCO_DIR);
	struct eval ev;
	struct deid_detector *det;
	json_error_t jerr;
	char **files;
	size_t n, i;
	unsigned l;
	double recall, precision;

	(void)state;
	if (!dir)
		skip();
	memset(&ev, 0, sizeof(ev));
	ev.map = json_load_file(ms_test_src_path("schemas/label-maps/grascco.json"), 0, &jerr);
	assert_non_null(ev.map);
	det = new_detector(0);
	n = list_corpus(dir, &files);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		eval_file(&ev, det, files[i]);
		free(files[i]);
	}
	free(files);
	recall = ratio(ev.all.gold_found, ev.all.gold);
	precision = ratio(ev.all.pred_hit, ev.all.pred);
	printf("GraSCCo_PHI: %zu documents, %zu gold spans, %zu detected spans\n", ev.n_docs,
	       ev.all.gold, ev.all.pred);
	printf("label-agnostic, entity level (overlap): recall %.3f  precision %.3f  F1 %.3f\n",
	       recall, precision,
	       recall + precision > 0 ? 2 * recall * precision / (recall + precision) : 0.0);
	printf("%-13s %6s %8s %10s %6s %9s %11s\n", "label", "gold", "recall", "recall=lbl", "pred",
	       "precision", "prec=lbl");
	for (l = 0; l < PHI_LABEL_COUNT; l++) {
		const struct tally *t = &ev.by_label[l];

		if (!t->gold && !t->pred)
			continue;
		printf("%-13s %6zu %8.3f %10.3f %6zu %9.3f %11.3f\n",
		       phi_label_name((enum phi_label)l), t->gold, ratio(t->gold_found, t->gold),
		       ratio(t->gold_found_label, t->gold), t->pred, ratio(t->pred_hit, t->pred),
		       ratio(t->pred_hit_label, t->pred));
	}
	printf("detector: %.2f MB/s (rules + gazetteers, %zu bytes in %.3f s; sanitizer builds "
	       "are slower)\n",
	       ev.seconds > 0 ? (double)ev.bytes / 1e6 / ev.seconds : 0.0, ev.bytes, ev.seconds);
	deid_detector_free(det);
	json_decref(ev.map);
	assert_true(recall >= FLOOR_RECALL);
	assert_true(precision >= FLOOR_PRECISION);
}

/*
 * Speed of rules + dictionary on realistic text: every GraSCCo document
 * with a made-up set of structured fields, several rounds. Printed only.
 */
static void test_speed(void **state)
{
	const char *dir = ms_test_shared_path(GRASCCO_DIR);
	static const struct deid_field fields[] = {
		{ DEID_FIELD_PATIENT_FAMILY, "Albers", 6 },
		{ DEID_FIELD_PATIENT_GIVEN, "Beate", 5 },
		{ DEID_FIELD_PATIENT_BIRTHDATE, "1960-03-01", 10 },
		{ DEID_FIELD_PATIENT_ID, "12235904", 8 },
		{ DEID_FIELD_CASE_ID, "A-2029461541", 12 },
		{ DEID_FIELD_REFERRER_FAMILY, "Klabauter", 9 },
		{ DEID_FIELD_REFERRER_GIVEN, "Helge", 5 },
		{ DEID_FIELD_PATIENT_PHONE, "+49 461 708223", 14 },
		{ DEID_FIELD_PATIENT_CITY, "Flensburg", 9 },
	};
	unsigned modes[2] = { DEID_DETECT_NO_GAZETTEER, 0 };
	const char *names[2] = { "rules + dictionary", "rules + dictionary + gazetteers" };
	char **files;
	size_t n, i, m, round, bytes = 0;
	struct ms_buf *texts;

	(void)state;
	if (!dir)
		skip();
	n = list_corpus(dir, &files);
	texts = calloc(n, sizeof(*texts));
	assert_non_null(texts);
	for (i = 0; i < n; i++) {
		json_error_t jerr;
		json_t *root = json_load_file(files[i], 0, &jerr), *x;
		size_t k;

		assert_non_null(root);
		ms_buf_init(&texts[i], 0);
		json_array_foreach(json_object_get(root, "%FEATURE_STRUCTURES"), k, x)
		{
			json_t *s = json_object_get(x, "sofaString");

			if (s)
				assert_int_equal(ms_buf_add(&texts[i], json_string_value(s),
				                            json_string_length(s)),
				                 0);
		}
		json_decref(root);
		free(files[i]);
	}
	free(files);
	for (m = 0; m < 2; m++) {
		struct deid_detector *det = new_detector(modes[m]);
		struct deid_spans spans = DEID_SPANS_INIT;
		double best = 0.0;
		int rep;

		/* processor time, best of three: other processes on the machine vary */
		for (rep = 0; rep < 3; rep++) {
			struct timespec t0, t1;
			double s;

			bytes = 0;
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
			for (round = 0; round < 5; round++) {
				for (i = 0; i < n; i++) {
					struct deid_doc doc;
					struct ms_error err = MS_ERROR_INIT;

					memset(&doc, 0, sizeof(doc));
					doc.id = "speed";
					doc.text = texts[i].buf;
					doc.len = texts[i].len;
					doc.fields = fields;
					doc.n_fields = sizeof(fields) / sizeof(fields[0]);
					assert_int_equal(deid_detector_run(det, &doc, &spans, &err),
					                 0);
					bytes += doc.len;
				}
			}
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
			s = (double)(t1.tv_sec - t0.tv_sec) +
			    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
			if (rep == 0 || s < best)
				best = s;
		}
		printf("speed, %s: %.1f MB/s (%zu bytes in %.3f s of processor time, one core, "
		       "per document)\n",
		       names[m], (double)bytes / 1e6 / best, bytes, best);
		deid_spans_release(&spans);
		deid_detector_free(det);
	}
	for (i = 0; i < n; i++)
		ms_buf_release(&texts[i]);
	free(texts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grascco),
		cmocka_unit_test(test_speed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
