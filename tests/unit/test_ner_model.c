/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the model: training on synthetic reports (ner/synth.c),
 * deterministic model bytes for a seed, save/load round trips that tag
 * alike, refusal of corrupt, truncated and foreign files with a message
 * that says what is wrong, the tagging API, and an allocation-failure walk
 * over loading.
 */
#include "ms_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "ner/ner.h"

static struct ner_gazetteer *gaz;
static struct ner_corpus *corpus;
static struct ner_model *model;
static struct ms_buf model_bytes = MS_BUF_INIT;

static void add_all(struct ner_gazetteer *g, enum ner_gaz_kind kind, const char *const *list)
{
	struct ms_error err = MS_ERROR_INIT;

	for (; *list; list++)
		assert_int_equal(ner_gazetteer_add(g, kind, *list, strlen(*list), &err), 0);
}

static int setup(void **state)
{
	static const char *const first[] = { "Anna",  "Bernd", "Clara", "Dieter", "Elif", "Frank",
		                             "Greta", "Hans",  "Ines",  "Jürgen", NULL };
	static const char *const last[] = { "Albers", "Brandt", "Cramer",  "Dietz",
		                            "Eckert", "Fuchs",  "Günther", "Hofmann",
		                            "Ißler",  "Jäger",  NULL };
	static const char *const cities[] = { "Aachen", "Bamberg",       "Celle", "Dresden",
		                              "Erfurt", "Bad Kissingen", NULL };
	static const char *const streets[] = { "Lindenweg", "Hauptstraße", "Am Markt", "Goethestr.",
		                               NULL };
	struct ner_synth_opts so = { 80, 11, NULL };
	struct ner_train_opts to = NER_TRAIN_OPTS_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf jsonl = MS_BUF_INIT;

	(void)state;
	assert_int_equal(ms_hash_init(), 0);
	assert_int_equal(ner_gazetteer_new(&gaz, &err), 0);
	add_all(gaz, NER_GAZ_FIRST_NAME, first);
	add_all(gaz, NER_GAZ_LAST_NAME, last);
	add_all(gaz, NER_GAZ_CITY, cities);
	add_all(gaz, NER_GAZ_STREET, streets);
	so.gaz = gaz;
	assert_int_equal(ner_synth_write(&jsonl, &so, &err), 0);
	assert_int_equal(ner_corpus_new(&corpus, &err), 0);
	assert_int_equal(ner_corpus_read_jsonl(corpus, jsonl.buf, jsonl.len, NULL, &err), 0);
	assert_int_equal(ner_corpus_n_docs(corpus), 80);
	ms_buf_release(&jsonl);
	to.epochs = 4;
	to.hash_bits = 14;
	to.seed = 5;
	to.gaz = gaz;
	assert_int_equal(ner_model_train(&model, corpus, NULL, 0, &to, &err), 0);
	assert_int_equal(ner_model_serialize(model, &model_bytes, &err), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ner_model_free(model);
	ner_corpus_free(corpus);
	ner_gazetteer_free(gaz);
	ms_buf_release(&model_bytes);
	return 0;
}

static void train_bytes(struct ms_buf *out, uint64_t seed, const size_t *docs, size_t n)
{
	struct ner_train_opts to = NER_TRAIN_OPTS_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct ner_model *m;

	to.epochs = 4;
	to.hash_bits = 14;
	to.seed = seed;
	to.gaz = gaz;
	assert_int_equal(ner_model_train(&m, corpus, docs, n, &to, &err), 0);
	assert_int_equal(ner_model_serialize(m, out, &err), 0);
	ner_model_free(m);
}

static void test_deterministic(void **state)
{
	struct ms_buf a = MS_BUF_INIT, b = MS_BUF_INIT;
	size_t docs[40], i;

	(void)state;
	train_bytes(&a, 5, NULL, 0);
	assert_int_equal(a.len, model_bytes.len);
	assert_memory_equal(a.buf, model_bytes.buf, a.len);
	/* another shuffle seed gives another model */
	train_bytes(&b, 6, NULL, 0);
	assert_true(a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0);
	/* a subset by index, twice */
	for (i = 0; i < 40; i++)
		docs[i] = 2 * i;
	ms_buf_reset(&a);
	ms_buf_reset(&b);
	train_bytes(&a, 3, docs, 40);
	train_bytes(&b, 3, docs, 40);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.buf, b.buf, a.len);
	ms_buf_release(&a);
	ms_buf_release(&b);
}

/* Tags every document with both models and compares the spans. */
static void same_tags(const struct ner_model *m1, const struct ner_model *m2)
{
	struct ner_tagger *t1, *t2;
	struct ms_error err = MS_ERROR_INIT;
	size_t i, k, total = 0;

	assert_int_equal(ner_tagger_new(&t1, m1, &err), 0);
	assert_int_equal(ner_tagger_new(&t2, m2, &err), 0);
	for (i = 0; i < ner_corpus_n_docs(corpus); i++) {
		const struct ner_doc *d = ner_corpus_doc(corpus, i);
		const struct ner_span *a, *b;
		struct ner_span *copy;
		size_t na, nb;

		assert_int_equal(ner_tagger_tag(t1, d->text, d->len, &a, &na, &err), 0);
		copy = malloc((na + 1) * sizeof(*copy));
		assert_non_null(copy);
		memcpy(copy, a, na * sizeof(*a));
		assert_int_equal(ner_tagger_tag(t2, d->text, d->len, &b, &nb, &err), 0);
		assert_int_equal(na, nb);
		for (k = 0; k < na; k++) {
			assert_int_equal(copy[k].start, b[k].start);
			assert_int_equal(copy[k].end, b[k].end);
			assert_ptr_equal(copy[k].label, b[k].label);
			assert_true(copy[k].score > 0 && copy[k].score <= 1);
			assert_true(k == 0 || copy[k].start >= copy[k - 1].end);
		}
		total += na;
		free(copy);
	}
	assert_true(total > 0);
	ner_tagger_free(t1);
	ner_tagger_free(t2);
}

static void test_round_trip(void **state)
{
	const char *dir = ms_test_tmpdir();
	char path[4096];
	struct ms_error err = MS_ERROR_INIT;
	struct ner_model *m2;
	struct ner_model_info i1, i2;
	struct ms_buf again = MS_BUF_INIT;
	char sha[MS_SHA256_HEX_LEN + 1];

	(void)state;
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/phi.model", dir);
	assert_int_equal(ner_model_save(model, path, &err), 0);
	assert_int_equal(ner_model_load(&m2, path, &err), 0);
	assert_int_equal(ner_model_serialize(m2, &again, &err), 0);
	assert_int_equal(again.len, model_bytes.len);
	assert_memory_equal(again.buf, model_bytes.buf, again.len);
	ner_model_info(model, &i1);
	ner_model_info(m2, &i2);
	assert_int_equal(i1.format, NER_MODEL_FORMAT);
	assert_int_equal(i2.hash_bits, 14);
	assert_int_equal(i1.n_labels, i2.n_labels);
	assert_true(i2.n_labels >= 10);
	assert_string_equal(i2.labels[0], "PATIENT");
	assert_int_equal(i1.n_rows, i2.n_rows);
	assert_int_equal(i1.n_gaz, i2.n_gaz);
	assert_true(i2.n_gaz >= 30); /* entries and words of multi-word entries */
	assert_int_equal(i1.file_size, model_bytes.len);
	assert_int_equal(i2.file_size, model_bytes.len);
	assert_string_equal(i1.checksum, i2.checksum);
	assert_string_equal(i1.gaz_fingerprint, i2.gaz_fingerprint);
	/* the trailer is the SHA-256 of what precedes it */
	ms_hex(sha, (const unsigned char *)model_bytes.buf + model_bytes.len - MS_SHA256_LEN,
	       MS_SHA256_LEN);
	assert_string_equal(sha, i2.checksum);
	same_tags(model, m2);
	ner_model_free(m2);
	ms_buf_release(&again);
	unlink(path);
	rmdir(dir);
}

static void expect_refused(const void *data, size_t len, const char *msg_part)
{
	struct ms_error err = MS_ERROR_INIT;
	struct ner_model *m = (struct ner_model *)1;

	assert_int_equal(ner_model_load_mem(&m, data, len, &err), MS_EINVAL);
	assert_null(m);
	assert_int_equal(err.code, MS_EINVAL);
	if (!strstr(err.msg, msg_part))
		printf("message: %s\n", err.msg);
	assert_non_null(strstr(err.msg, msg_part));
}

/* Rewrites the trailer so that a deliberate change gets past the checksum. */
static void fix_checksum(unsigned char *p, size_t len)
{
	ms_sha256(p + len - MS_SHA256_LEN, p, len - MS_SHA256_LEN);
}

static void test_refused(void **state)
{
	size_t len = model_bytes.len;
	unsigned char *p = malloc(len + 16);
	const char json[] = "{\"labels\": []}";
	const char *dir = ms_test_tmpdir();
	char path[4096];
	struct ms_error err = MS_ERROR_INIT;
	struct ner_model *m;

	(void)state;
	assert_non_null(p);
	/* foreign files */
	expect_refused(json, sizeof(json) - 1, "not a medsft NER model (bad magic)");
	expect_refused("", 0, "not a medsft NER model");
	/* truncated: a header alone, and a cut payload */
	memcpy(p, model_bytes.buf, len);
	expect_refused(p, 40, "model file truncated (40 bytes, less than a header)");
	expect_refused(p, len - 100, "model file truncated");
	/* trailing bytes */
	memcpy(p + len, "junk", 4);
	expect_refused(p, len + 4, "4 bytes of trailing data after the model");
	/* one flipped bit in the weights */
	p[len - 100] ^= 0x10;
	expect_refused(p, len, "model checksum mismatch (file corrupt)");
	p[len - 100] ^= 0x10;
	/* another format or feature version, checksum made right */
	p[8] = 2;
	fix_checksum(p, len);
	expect_refused(p, len, "unsupported model format version 2 (this build reads 1)");
	p[8] = 1;
	p[12] = 9;
	fix_checksum(p, len);
	expect_refused(p, len, "model uses feature set version 9");
	p[12] = 1;
	/* inconsistent content behind a valid checksum */
	p[16] = 40;
	fix_checksum(p, len);
	expect_refused(p, len, "model hash bits 40 out of range");
	p[16] = 14;
	p[24] = 0;
	fix_checksum(p, len);
	expect_refused(p, len, "labels and");
	p[24] = model_bytes.buf[24];
	p[96] = 'X'; /* first label name */
	fix_checksum(p, len);
	expect_refused(p, len, "model label 1 is not a PHI label");
	memcpy(p, model_bytes.buf, len);
	/* the pristine copy loads */
	assert_int_equal(ner_model_load_mem(&m, p, len, &err), 0);
	ner_model_free(m);
	/* files: missing, truncated on disk */
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/none.model", dir);
	assert_int_equal(ner_model_load(&m, path, &err), MS_EIO);
	assert_string_equal(err.path, path);
	snprintf(path, sizeof(path), "%s/cut.model", dir);
	assert_int_equal(ms_file_write_atomic(path, p, len / 2, 0644, &err), 0);
	ms_error_clear(&err);
	assert_int_equal(ner_model_load(&m, path, &err), MS_EINVAL);
	assert_non_null(strstr(err.msg, "model file truncated"));
	assert_string_equal(err.path, path);
	assert_int_equal(ms_file_write_atomic(path, p, 20, 0644, &err), 0);
	ms_error_clear(&err);
	assert_int_equal(ner_model_load(&m, path, &err), MS_EINVAL);
	assert_non_null(strstr(err.msg, "less than a header"));
	unlink(path);
	rmdir(dir);
	free(p);
}

static int count_spans(const struct ner_span *span, void *payload)
{
	size_t *n = payload;

	assert_non_null(span->label);
	(*n)++;
	return *n == 3 ? 42 : 0; /* stop after three */
}

static void test_tag_api(void **state)
{
	const char *text = "Patient: Clara Brandt\ngeb. 12.03.1961\nUntersuchung vom 03.03.2021\n"
	                   "Überweiser: Dr. med. Hans Fuchs, Klinikum Celle\nTel.: 0511 123-4567";
	struct ms_error err = MS_ERROR_INIT;
	struct ner_tagger *tg;
	const struct ner_span *sp;
	size_t n, i, found = 0;
	bool patient = false, date = false;

	(void)state;
	assert_int_equal(ner_tagger_new(&tg, model, &err), 0);
	assert_int_equal(ner_tagger_tag(tg, text, strlen(text), &sp, &n, &err), 0);
	for (i = 0; i < n; i++) {
		if (strcmp(sp[i].label, "PATIENT") == 0 &&
		    sp[i].end - sp[i].start == strlen("Clara Brandt"))
			patient = true;
		if (strcmp(sp[i].label, "DATE") == 0)
			date = true;
	}
	assert_true(patient);
	assert_true(date);
	assert_int_equal(ner_tagger_tag(tg, "", 0, &sp, &n, &err), 0);
	assert_int_equal(n, 0);
	ner_tagger_free(tg);
	assert_int_equal(ner_model_tag(model, text, strlen(text), count_spans, &found, &err), 42);
	assert_int_equal(found, 3);
}

static void test_train_errors(void **state)
{
	struct ner_train_opts to = NER_TRAIN_OPTS_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct ner_model *m;
	struct ner_corpus *c;
	size_t bad = 1000;

	(void)state;
	to.hash_bits = 30;
	assert_int_equal(ner_model_train(&m, corpus, NULL, 0, &to, &err), MS_EUSAGE);
	assert_null(m);
	to.hash_bits = 0;
	ms_error_clear(&err);
	assert_int_equal(ner_model_train(&m, corpus, &bad, 1, &to, &err), MS_EUSAGE);
	assert_int_equal(ner_corpus_new(&c, &err), 0);
	ms_error_clear(&err);
	assert_int_equal(ner_model_train(&m, c, NULL, 0, &to, &err), MS_EINVAL);
	assert_string_equal(err.msg, "no training documents");
	assert_int_equal(ner_corpus_add(c, "x", "kein PHI", 8, NULL, 0, &err), 0);
	ms_error_clear(&err);
	assert_int_equal(ner_model_train(&m, c, NULL, 0, &to, &err), MS_EINVAL);
	assert_string_equal(err.msg, "no annotated span in the training documents");
	ner_corpus_free(c);
}

static void test_alloc_walk(void **state)
{
	long k;

	(void)state;
	for (k = 0; k < 1000; k++) {
		struct ms_error err = MS_ERROR_INIT;
		struct ner_model *m = NULL;
		int rc;

		ms_alloc_fail_after(k);
		rc = ner_model_load_mem(&m, model_bytes.buf, model_bytes.len, &err);
		ms_alloc_fail_after(-1);
		if (rc == 0) {
			ner_model_free(m);
			break;
		}
		assert_int_equal(rc, MS_ENOMEM);
		assert_null(m);
	}
	assert_true(k < 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic), cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),       cmocka_unit_test(test_tag_api),
		cmocka_unit_test(test_train_errors),  cmocka_unit_test(test_alloc_walk),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
