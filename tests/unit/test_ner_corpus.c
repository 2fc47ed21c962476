/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the corpus readers (ner/corpus*.c) on small synthetic
 * fixtures in tests/data/ner/: INCEpTION CAS JSON with UTF-16 offsets
 * after umlauts and non-BMP characters, BRAT standoff, CoNLL (BIO, IOB1,
 * BIOES, -DOCSTART-), JSONL with NFD text, both label-map forms, errors that
 * name the label or line, GraSCCo when present (54 documents, 1,245
 * annotations), and allocation-failure walks.
 */
#include "ms_test.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "ner/ner.h"

static bool json_oom;

static void *json_alloc(size_t size)
{
	void *p = ms_malloc(size);

	if (!p)
		json_oom = true;
	return p;
}

static void read_fixture(struct ms_buf *b, const char *name)
{
	char rel[256];
	struct ms_error err = MS_ERROR_INIT;

	snprintf(rel, sizeof(rel), "tests/data/ner/%s", name);
	ms_buf_reset(b);
	assert_int_equal(ms_file_read(b, ms_test_src_path(rel), 0, &err), 0);
}

static const char *canon(const char *name)
{
	unsigned i;

	assert_int_equal(ner_label_parse(&i, name, strlen(name)), 0);
	return ner_label_name(i);
}

/* The span's text equals want and its label is label (the canonical pointer). */
static void span_is(const struct ner_doc *d, size_t i, const char *label, const char *want)
{
	assert_true(i < d->n_spans);
	if (strlen(want) != d->spans[i].end - d->spans[i].start ||
	    memcmp(d->text + d->spans[i].start, want, strlen(want)) != 0)
		printf("span %zu is '%.*s', want '%s'\n", i,
		       (int)(d->spans[i].end - d->spans[i].start), d->text + d->spans[i].start,
		       want);
	assert_int_equal(d->spans[i].end - d->spans[i].start, strlen(want));
	assert_memory_equal(d->text + d->spans[i].start, want, strlen(want));
	assert_string_equal(d->spans[i].label, label);
	assert_ptr_equal(d->spans[i].label, canon(label));
}

static void test_inception(void **state)
{
	struct ms_buf b = MS_BUF_INIT, m = MS_BUF_INIT;
	struct ner_corpus *c;
	struct ner_label_map *map;
	struct ner_read_opts ro = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	const struct ner_doc *d;

	(void)state;
	read_fixture(&b, "inception.json");
	read_fixture(&m, "map_flat.json");
	assert_int_equal(ner_label_map_parse(&map, m.buf, m.len, &err), 0);
	ro.map = map;
	assert_int_equal(ner_corpus_new(&c, &err), 0);
	/* without a map: NAME_PATIENT is not a PHI label */
	assert_int_equal(ner_corpus_read_inception(c, b.buf, b.len, "x", NULL, &err), MS_EINVAL);
	assert_string_equal(err.msg, "unmapped label 'NAME_PATIENT'");
	ms_error_clear(&err);
	assert_int_equal(ner_corpus_read_inception(c, b.buf, b.len, "inception.json", &ro, &err),
	                 0);
	assert_int_equal(ner_corpus_n_docs(c), 1);
	d = ner_corpus_doc(c, 0);
	assert_string_equal(d->id, "inception.json");
	/* sorted by start; DATE is mapped to null (dropped), the zero-width one skipped,
	 * the unlabelled one is CITY ("" in the map), ID kept as a PHI label */
	assert_int_equal(d->n_spans, 7);
	span_is(d, 0, "ID", "Befund");
	span_is(d, 1, "PATIENT", "Jördis Überfeld");
	span_is(d, 2, "TITLE", "Dr. med.");
	span_is(d, 3, "STAFF", "Ögün Şahin");
	span_is(d, 4, "HOSPITAL", "Klinikum Weißenburg");
	span_is(d, 5, "CITY", "Weißenburg");
	span_is(d, 6, "PHONE", "09141 123-456");
	ner_corpus_free(c);
	ner_label_map_free(map);
	ms_buf_release(&b);
	ms_buf_release(&m);
}

static void test_inception_errors(void **state)
{
	static const char *const bad[][2] = {
		{ "[1]", "not a UIMA CAS JSON document (no %FEATURE_STRUCTURES)" },
		{ "{\"%FEATURE_STRUCTURES\": []}", "CAS has no sofa for the initial view" },
		{ "{\"%FEATURE_STRUCTURES\": [{\"%ID\": 1, \"%TYPE\": \"uima.cas.Sofa\"}]}",
		  "CAS sofa has no sofaString" },
		{ "{\"%FEATURE_STRUCTURES\": [{\"%ID\": 1, \"%TYPE\": \"uima.cas.Sofa\", \"sofaString\": "
		  "\"a\\ud83d\\ude00b\"}, {\"%ID\": 2, \"%TYPE\": \"webanno.custom.PHI\", \"begin\": 2, "
		  "\"end\": 3, \"kind\": \"DATE\"}]}",
		  "annotation 2: offset inside a surrogate pair" },
		{ "{\"%FEATURE_STRUCTURES\": [{\"%ID\": 1, \"%TYPE\": \"uima.cas.Sofa\", \"sofaString\": "
		  "\"abc\"}, {\"%ID\": 5, \"%TYPE\": \"webanno.custom.PHI\", \"begin\": 2, \"end\": 9, "
		  "\"kind\": \"DATE\"}]}",
		  "annotation 5: offsets out of range (text has 3 UTF-16 units)" },
		{ "{\"%FEATURE_STRUCTURES\": [{\"%ID\": 1, \"%TYPE\": \"uima.cas.Sofa\", \"sofaString\": "
		  "\"abc\"}, {\"%ID\": 5, \"%TYPE\": \"webanno.custom.PHI\", \"end\": 2}]}",
		  "annotation without a label (the map has no missing_label)" },
		{ "{\"%FEATURE_STRUCTURES\": [{\"%ID\": 1, \"%TYPE\": \"uima.cas.Sofa\", \"sofaString\": "
		  "\"abc\"}, {\"%ID\": 5, \"%TYPE\": \"webanno.custom.PHI\", \"end\": 2, \"kind\": 7}]}",
		  "annotation 5: label feature 'kind' is not a string" },
	};
	struct ner_corpus *c;
	struct ms_error err = MS_ERROR_INIT;
	size_t i;

	(void)state;
	assert_int_equal(ner_corpus_new(&c, &err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms_error_clear(&err);
		assert_int_equal(
		        ner_corpus_read_inception(c, bad[i][0], strlen(bad[i][0]), "e", NULL, &err),
		        MS_EINVAL);
		assert_string_equal(err.msg, bad[i][1]);
	}
	ms_error_clear(&err);
	assert_int_equal(ner_corpus_read_inception(c, "{", 1, "e", NULL, &err), MS_EINVAL);
	assert_int_equal(ner_corpus_n_docs(c), 0);
	ner_corpus_free(c);
}

static void test_brat(void **state)
{
	struct ms_buf t = MS_BUF_INIT, a = MS_BUF_INIT;
	struct ner_corpus *c;
	struct ms_error err = MS_ERROR_INIT;
	const struct ner_doc *d;
	const char *bad = "T1\tPATIENT 5 x\tJörg\n";

	(void)state;
	read_fixture(&t, "brat.txt");
	read_fixture(&a, "brat.ann");
	assert_int_equal(ner_corpus_new(&c, &err), 0);
	assert_int_equal(ner_corpus_read_brat(c, t.buf, t.len, a.buf, a.len, "brat", NULL, &err),
	                 0);
	d = ner_corpus_doc(c, 0);
	assert_int_equal(d->n_spans, 6);
	span_is(d, 0, "PATIENT", "Jörg Müller-Lüdenscheidt");
	span_is(d, 1, "DATE", "5.4.2022");
	span_is(d, 2, "HOSPITAL", "Praxis Dr. Ülkü Kaya");
	span_is(d, 3, "STAFF", "Ülkü"); /* a discontinuous annotation: one span per fragment */
	span_is(d, 4, "STAFF", "Kaya");
	span_is(d, 5, "PHONE", "0761 270-0");
	/* errors carry the .ann line */
	assert_int_equal(ner_corpus_read_brat(c, t.buf, t.len, bad, strlen(bad), "b", NULL, &err),
	                 MS_EINVAL);
	assert_string_equal(err.msg, "malformed annotation offsets");
	assert_int_equal(err.line, 1);
	ms_error_clear(&err);
	bad = "\nT1\tNAME 0 4\tHerr\n";
	assert_int_equal(ner_corpus_read_brat(c, t.buf, t.len, bad, strlen(bad), "b", NULL, &err),
	                 MS_EINVAL);
	assert_string_equal(err.msg, "unmapped label 'NAME'");
	assert_int_equal(err.line, 2);
	ms_error_clear(&err);
	bad = "T1\tCITY 0 500\tx\n";
	assert_int_equal(ner_corpus_read_brat(c, t.buf, t.len, bad, strlen(bad), "b", NULL, &err),
	                 MS_EINVAL);
	assert_non_null(strstr(err.msg, "out of range"));
	assert_int_equal(ner_corpus_n_docs(c), 1);
	ner_corpus_free(c);
	ms_buf_release(&t);
	ms_buf_release(&a);
}

static void test_conll(void **state)
{
	struct ms_buf b = MS_BUF_INIT;
	struct ner_corpus *c;
	struct ner_read_opts ro = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	const struct ner_doc *d;
	const char *bad = "Hans B-PATIENT\nMeier\n";

	(void)state;
	read_fixture(&b, "small.conll");
	assert_int_equal(ner_corpus_new(&c, &err), 0);
	assert_int_equal(ner_corpus_read_conll(c, b.buf, b.len, "small.conll", NULL, &err), 0);
	assert_int_equal(ner_corpus_n_docs(c), 2);
	d = ner_corpus_doc(c, 0);
	assert_string_equal(d->id, "small.conll#1");
	assert_string_equal(d->text, "Patient Hans Hürlimann , geb. 1.2.1950\n"
	                             "Befund von Dr. Ada Lovelace in Zürich");
	assert_int_equal(d->n_spans, 5);
	span_is(d, 0, "PATIENT", "Hans Hürlimann");
	span_is(d, 1, "DATE", "1.2.1950");
	span_is(d, 2, "TITLE", "Dr.");
	span_is(d, 3, "STAFF", "Ada Lovelace");
	span_is(d, 4, "CITY", "Zürich");
	d = ner_corpus_doc(c, 1);
	assert_string_equal(d->id, "small.conll#2");
	span_is(d, 0, "PHONE", "044 123 45 67");
	/* one document per sentence */
	ro.flags = NER_READ_CONLL_SENTENCE_DOCS;
	assert_int_equal(ner_corpus_read_conll(c, b.buf, b.len, "s", &ro, &err), 0);
	assert_int_equal(ner_corpus_n_docs(c), 5);
	assert_string_equal(ner_corpus_doc(c, 3)->id, "s#2");
	/* errors name the line */
	assert_int_equal(ner_corpus_read_conll(c, bad, strlen(bad), "x", NULL, &err), MS_EINVAL);
	assert_string_equal(err.msg, "token line without a tag column");
	assert_int_equal(err.line, 2);
	ms_error_clear(&err);
	bad = "Hans X-PATIENT\n";
	assert_int_equal(ner_corpus_read_conll(c, bad, strlen(bad), "x", NULL, &err), MS_EINVAL);
	assert_string_equal(err.msg, "malformed tag (expected O, B-, I-, E- or S-)");
	ms_error_clear(&err);
	bad = "Hans B-PERSON\n";
	assert_int_equal(ner_corpus_read_conll(c, bad, strlen(bad), "x", NULL, &err), MS_EINVAL);
	assert_string_equal(err.msg, "unmapped label 'PERSON'");
	/* or dropped on request */
	ro.flags = NER_READ_DROP_UNMAPPED;
	assert_int_equal(ner_corpus_read_conll(c, bad, strlen(bad), "x", &ro, &err), 0);
	assert_int_equal(ner_corpus_doc(c, 5)->n_spans, 0);
	ner_corpus_free(c);
	ms_buf_release(&b);
}

static void test_jsonl(void **state)
{
	struct ms_buf b = MS_BUF_INIT, out = MS_BUF_INIT;
	struct ner_corpus *c, *c2;
	struct ms_error err = MS_ERROR_INIT;
	const struct ner_doc *d;
	const char *bad =
	        "{\"text\": \"abc\", \"spans\": [{\"start\": 1, \"end\": 9, \"label\": \"ID\"}]}";

	(void)state;
	read_fixture(&b, "small.jsonl");
	assert_int_equal(ner_corpus_new(&c, &err), 0);
	assert_int_equal(ner_corpus_read_jsonl(c, b.buf, b.len, NULL, &err), 0);
	assert_int_equal(ner_corpus_n_docs(c), 2);
	d = ner_corpus_doc(c, 0);
	/* NFD input became NFC; the offsets moved with it */
	assert_string_equal(d->text, "Frau Müller aus Köln, 12.12.2012");
	span_is(d, 0, "PATIENT", "Müller");
	span_is(d, 1, "CITY", "Köln");
	span_is(d, 2, "DATE", "12.12.2012");
	assert_string_equal(ner_corpus_doc(c, 1)->id, "7");
	/* written and read again: the same */
	assert_int_equal(ner_corpus_write_jsonl(c, &out), 0);
	assert_int_equal(ner_corpus_new(&c2, &err), 0);
	assert_int_equal(ner_corpus_read_jsonl(c2, out.buf, out.len, NULL, &err), 0);
	assert_string_equal(ner_corpus_doc(c2, 0)->text, d->text);
	assert_int_equal(ner_corpus_doc(c2, 0)->spans[2].end, d->spans[2].end);
	assert_int_equal(ner_corpus_read_jsonl(c, bad, strlen(bad), NULL, &err), MS_EINVAL);
	assert_string_equal(err.msg, "span 1 is empty or out of range");
	assert_int_equal(err.line, 1);
	ms_error_clear(&err);
	bad = "\n{\"text\": \"Köln\", \"spans\": [{\"start\": 0, \"end\": 2, \"label\": \"CITY\"}]}";
	assert_int_equal(ner_corpus_read_jsonl(c, bad, strlen(bad), NULL, &err), MS_EINVAL);
	assert_string_equal(err.msg, "span offset 2 is inside a character or out of range");
	assert_int_equal(err.line, 2);
	ner_corpus_free(c);
	ner_corpus_free(c2);
	ms_buf_release(&b);
	ms_buf_release(&out);
}

static void test_label_maps(void **state)
{
	const char *structured =
	        "{\"corpus\": \"x\", \"labels\": {\"NAME_DOCTOR\": \"STAFF\", \"NOISE\": null},"
	        " \"missing_label\": \"AGE\", \"annotation_type\": \"my.Type\", \"label_feature\": "
	        "\"lab\", \"compare_as\": {\"BIRTHDATE\": \"DATE\"}}";
	const char *cas =
	        "{\"%FEATURE_STRUCTURES\": [{\"%ID\": 1, \"%TYPE\": \"uima.cas.Sofa\", "
	        "\"sofaString\": \"Dr. Ada 42\"}, {\"%TYPE\": \"my.Type\", \"begin\": 4, "
	        "\"end\": 7, \"lab\": \"NAME_DOCTOR\"}, {\"%TYPE\": \"my.Type\", \"begin\": 8, "
	        "\"end\": 10}, {\"%TYPE\": \"my.Type\", \"end\": 3, \"lab\": \"NOISE\"}]}";
	struct ner_label_map *map;
	struct ner_corpus *c;
	struct ner_read_opts ro = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	const struct ner_doc *d;

	(void)state;
	assert_int_equal(ner_label_map_parse(&map, structured, strlen(structured), &err), 0);
	assert_string_equal(ner_label_map_type(map), "my.Type");
	assert_string_equal(ner_label_map_compare(map, ner_label_name(5)), "DATE");
	assert_string_equal(ner_label_map_compare(map, ner_label_name(0)), "PATIENT");
	ro.map = map;
	assert_int_equal(ner_corpus_new(&c, &err), 0);
	assert_int_equal(ner_corpus_read_inception(c, cas, strlen(cas), "m", &ro, &err), 0);
	d = ner_corpus_doc(c, 0);
	assert_int_equal(d->n_spans, 2);
	span_is(d, 0, "STAFF", "Ada");
	span_is(d, 1, "AGE", "42");
	ner_corpus_free(c);
	ner_label_map_free(map);
	assert_int_equal(ner_label_map_parse(&map, "{\"A\": \"NOPE\"}", 13, &err), MS_EINVAL);
	assert_string_equal(err.msg, "label map value for 'A' is not a PHI label");
	ms_error_clear(&err);
	assert_int_equal(ner_label_map_parse(&map, "[]", 2, &err), MS_EINVAL);
	assert_string_equal(err.msg, "label map is not a JSON object");
}

static void test_grascco(void **state)
{
	const char *dir = ms_test_shared_path("deid-corpora/grascco-phi");
	struct ner_label_map *map;
	struct ner_corpus *c;
	struct ner_read_opts ro = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	size_t i, spans = 0, counts[NER_N_LABELS] = { 0 };
	unsigned l;

	(void)state;
	if (!dir) {
		skip();
		return;
	}
	assert_int_equal(
	        ner_label_map_load(&map, ms_test_src_path("schemas/label-maps/grascco.json"), &err),
	        0);
	ro.map = map;
	assert_int_equal(ner_corpus_new(&c, &err), 0);
	assert_int_equal(ner_corpus_read_path(c, dir, NER_FORMAT_AUTO, &ro, &err), 0);
	assert_int_equal(ner_corpus_n_docs(c), 54);
	for (i = 0; i < ner_corpus_n_docs(c); i++) {
		const struct ner_doc *d = ner_corpus_doc(c, i);
		size_t k;

		spans += d->n_spans;
		for (k = 0; k < d->n_spans; k++) {
			assert_true(ner_label_parse(&l, d->spans[k].label,
			                            strlen(d->spans[k].label)) == 0);
			counts[l]++;
		}
	}
	assert_int_equal(spans, 1245);
	/* SOURCE.md: DATE 607, NAME_PATIENT 146, AGE 22 + 1 unlabelled, fax + phone 19 */
	assert_int_equal(counts[4], 607);
	assert_int_equal(counts[0], 146);
	assert_int_equal(counts[6], 23);
	assert_int_equal(counts[8], 19);
	assert_string_equal(ner_corpus_doc(c, 0)->id, "Albers.txt_phi.json");
	ner_corpus_free(c);
	ner_label_map_free(map);
}

/* Runs fn under allocation failure after k allocations until it succeeds. */
typedef int (*reader_fn)(struct ner_corpus *c, struct ms_error *err);

static struct ms_buf fix_a = MS_BUF_INIT, fix_b = MS_BUF_INIT;
static struct ner_label_map *fix_map;

static int run_inception(struct ner_corpus *c, struct ms_error *err)
{
	struct ner_read_opts ro = { 0 };

	ro.map = fix_map;
	return ner_corpus_read_inception(c, fix_a.buf, fix_a.len, "i", &ro, err);
}

static int run_brat(struct ner_corpus *c, struct ms_error *err)
{
	return ner_corpus_read_brat(c, fix_a.buf, fix_a.len, fix_b.buf, fix_b.len, "b", NULL, err);
}

static int run_conll(struct ner_corpus *c, struct ms_error *err)
{
	return ner_corpus_read_conll(c, fix_a.buf, fix_a.len, "c", NULL, err);
}

static int run_jsonl(struct ner_corpus *c, struct ms_error *err)
{
	return ner_corpus_read_jsonl(c, fix_a.buf, fix_a.len, NULL, err);
}

static void walk(reader_fn fn, size_t want_docs)
{
	long k;

	for (k = 0; k < 2000; k++) {
		struct ner_corpus *c = NULL;
		struct ms_error err = MS_ERROR_INIT;
		int rc;

		json_oom = false;
		ms_alloc_fail_after(k);
		rc = ner_corpus_new(&c, &err);
		if (rc == 0)
			rc = fn(c, &err);
		ms_alloc_fail_after(-1);
		if (rc == 0) {
			assert_int_equal(ner_corpus_n_docs(c), want_docs);
			ner_corpus_free(c);
			break;
		}
		/* jansson reports some failed allocations as syntax errors */
		if (!json_oom)
			assert_int_equal(rc, MS_ENOMEM);
		assert_true(err.code != 0);
		ner_corpus_free(c);
	}
	assert_true(k < 2000);
}

static void test_alloc_walks(void **state)
{
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	read_fixture(&fix_b, "map_flat.json");
	assert_int_equal(ner_label_map_parse(&fix_map, fix_b.buf, fix_b.len, &err), 0);
	read_fixture(&fix_a, "inception.json");
	walk(run_inception, 1);
	read_fixture(&fix_a, "brat.txt");
	read_fixture(&fix_b, "brat.ann");
	walk(run_brat, 1);
	read_fixture(&fix_a, "small.conll");
	walk(run_conll, 2);
	read_fixture(&fix_a, "small.jsonl");
	walk(run_jsonl, 2);
	ner_label_map_free(fix_map);
	ms_buf_release(&fix_a);
	ms_buf_release(&fix_b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inception), cmocka_unit_test(test_inception_errors),
		cmocka_unit_test(test_brat),      cmocka_unit_test(test_conll),
		cmocka_unit_test(test_jsonl),     cmocka_unit_test(test_label_maps),
		cmocka_unit_test(test_grascco),   cmocka_unit_test(test_alloc_walks),
	};

	json_set_alloc_funcs(json_alloc, ms_free);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
