/* SPDX-License-Identifier: MIT */
/*
 * Training measurements (printed, not asserted beyond sanity) and the
 * shipped model:
 *
 *   - synthetic reports: deterministic, readable, every rare label present;
 *   - 5-fold cross-validation by document on GraSCCo (54 documents) for
 *     the NER alone: strict per-label P/R/F1, micro, PHI recall; averaged
 *     against plain perceptron;
 *   - the same folds with synthetic reports added to every training set,
 *     and a model trained on synthetic reports only, evaluated on GraSCCo
 *     (does it learn more than its templates?);
 *   - tagging speed and model load time (no time assertions);
 *   - the default model data/models/phi-de.model, trained only when
 *     MS_TRAIN_DEFAULT_MODEL=<path> is set (twice, to check the bytes
 *     agree):
 *
 *       MS_TRAIN_DEFAULT_MODEL=data/models/phi-de.model build/tests/test_ner_train
 *
 * Tests that need ../shared/data skip when it is absent; the ones that
 * train on all of it skip when MS_SKIP_HEAVY is set (the sanitizer build,
 * where they would take many minutes; tests/CMakeLists.txt).
 */
#include "ms_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/hash.h"
#include "ner/ner.h"

/* The recipe of the shipped model; CV uses the same. */
#define RECIPE_SYNTH_N    1000
#define RECIPE_SYNTH_SEED 1
#define RECIPE_EPOCHS     12
#define RECIPE_HASH_BITS  20
#define RECIPE_SEED       1
#define CV_FOLDS          5
#define CV_SEED           1

static struct ner_gazetteer *gaz;
static struct ner_corpus *grascco; /* GraSCCo, then the synthetic reports */
static size_t n_grascco, n_synth;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void check(int rc, const struct ms_error *err)
{
	char msg[600];

	if (rc < 0)
		printf("error %d: %s\n", rc, ms_error_format(err, msg, sizeof(msg)));
	assert_int_equal(rc, 0);
}

static int setup(void **state)
{
	const char *dir = ms_test_shared_path("deid-corpora/grascco-phi");
	struct ner_label_map *map = NULL;
	struct ner_read_opts ro = { 0 };
	struct ner_synth_opts so = { RECIPE_SYNTH_N, RECIPE_SYNTH_SEED, NULL };
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf jsonl = MS_BUF_INIT;

	(void)state;
	assert_int_equal(ms_hash_init(), 0);
	check(ner_gazetteer_new(&gaz, &err), &err);
	/* the project's own lists; the faker-js lists in ../shared otherwise */
	if (ner_gazetteer_add_dir(gaz, ms_test_src_path("data/gazetteers"), NULL, &err) < 0) {
		const char *alt = ms_test_shared_path("gazetteers/fakerjs-de");

		ms_error_clear(&err);
		if (alt)
			check(ner_gazetteer_add_dir(gaz, alt, NULL, &err), &err);
	}
	check(ner_corpus_new(&grascco, &err), &err);
	if (dir) {
		check(ner_label_map_load(&map, ms_test_src_path("schemas/label-maps/grascco.json"),
		                         &err),
		      &err);
		ro.map = map;
		check(ner_corpus_read_path(grascco, dir, NER_FORMAT_AUTO, &ro, &err), &err);
		ner_label_map_free(map);
	}
	n_grascco = ner_corpus_n_docs(grascco);
	if (ner_gazetteer_count(gaz, NER_GAZ_CITY) > 0) {
		so.gaz = gaz;
		check(ner_synth_write(&jsonl, &so, &err), &err);
		check(ner_corpus_read_jsonl(grascco, jsonl.buf, jsonl.len, NULL, &err), &err);
	}
	n_synth = ner_corpus_n_docs(grascco) - n_grascco;
	ms_buf_release(&jsonl);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ner_corpus_free(grascco);
	ner_gazetteer_free(gaz);
	return 0;
}

/* True (and the test is skipped) in builds where training on GraSCCo is too slow. */
static bool heavy_skipped(void)
{
	const char *v = getenv("MS_SKIP_HEAVY");

	if (!v || !*v || !strcmp(v, "0"))
		return false;
	printf("SKIP: MS_SKIP_HEAVY is set (sanitizer build)\n");
	return true;
}

static void opts_recipe(struct ner_train_opts *o)
{
	struct ner_train_opts init = NER_TRAIN_OPTS_INIT;

	*o = init;
	o->epochs = RECIPE_EPOCHS;
	o->hash_bits = RECIPE_HASH_BITS;
	o->seed = RECIPE_SEED;
	o->gaz = gaz;
}

static void print_eval(const char *title, const struct ner_eval *ev)
{
	struct ner_prf mi = ner_eval_micro(ev);
	unsigned l;

	printf("\n%s (%zu documents)\n", title, ev->n_docs);
	printf("  %-13s %6s %6s %6s %5s\n", "label", "P", "R", "F1", "n");
	for (l = 0; l < NER_N_LABELS; l++) {
		struct ner_prf r = ner_eval_label(ev, l);

		if (!r.support && !ev->label[l].fp)
			continue;
		printf("  %-13s %6.3f %6.3f %6.3f %5zu\n", ner_label_name(l), r.precision, r.recall,
		       r.f1, r.support);
	}
	printf("  %-13s %6.3f %6.3f %6.3f %5zu\n", "micro", mi.precision, mi.recall, mi.f1,
	       mi.support);
	printf("  PHI recall: entity (overlap) %.3f, character %.3f\n", ner_eval_entity_recall(ev),
	       ner_eval_char_recall(ev));
}

static void tag_into(struct ner_eval *ev, const struct ner_model *m, size_t doc)
{
	const struct ner_doc *d = ner_corpus_doc(grascco, doc);
	struct ms_error err = MS_ERROR_INIT;
	struct ner_tagger *tg;
	const struct ner_span *sp;
	size_t n;

	check(ner_tagger_new(&tg, m, &err), &err);
	check(ner_tagger_tag(tg, d->text, d->len, &sp, &n, &err), &err);
	assert_int_equal(ner_eval_add(ev, d->text, d->len, d->spans, d->n_spans, sp, n), 0);
	ner_tagger_free(tg);
}

/* 5-fold CV by document over GraSCCo; synthetic reports join every training set if asked. */
static void cross_validate(struct ner_eval *ev, bool with_synth, bool average)
{
	unsigned folds[128];
	size_t *train = malloc((n_grascco + n_synth + 1) * sizeof(*train));
	struct ms_error err = MS_ERROR_INIT;
	unsigned f;
	size_t i;

	assert_non_null(train);
	assert_true(n_grascco <= 128);
	check(ner_folds_assign(folds, grascco, NULL, n_grascco, CV_FOLDS, CV_SEED), &err);
	ner_eval_init(ev);
	for (f = 0; f < CV_FOLDS; f++) {
		struct ner_train_opts o;
		struct ner_model *m;
		size_t n = 0;

		for (i = 0; i < n_grascco; i++) {
			if (folds[i] != f)
				train[n++] = i;
		}
		for (i = 0; with_synth && i < n_synth; i++)
			train[n++] = n_grascco + i;
		opts_recipe(&o);
		o.no_average = !average;
		check(ner_model_train(&m, grascco, train, n, &o, &err), &err);
		for (i = 0; i < n_grascco; i++) {
			if (folds[i] == f)
				tag_into(ev, m, i);
		}
		ner_model_free(m);
	}
	free(train);
}

static void test_synth(void **state)
{
	struct ner_synth_opts so = { 200, 9, NULL };
	struct ms_buf a = MS_BUF_INIT, b = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct ner_corpus *c;
	size_t counts[NER_N_LABELS] = { 0 }, i, k, bytes = 0;
	unsigned l;

	(void)state;
	if (ner_gazetteer_count(gaz, NER_GAZ_CITY) == 0) {
		printf("SKIP: no gazetteer for synthetic reports\n");
		skip();
		return;
	}
	so.gaz = gaz;
	check(ner_synth_write(&a, &so, &err), &err);
	check(ner_synth_write(&b, &so, &err), &err);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.buf, b.buf, a.len);
	/* the first n of a larger set are the same reports */
	ms_buf_reset(&b);
	so.n = 300;
	check(ner_synth_write(&b, &so, &err), &err);
	assert_memory_equal(a.buf, b.buf, a.len);
	check(ner_corpus_new(&c, &err), &err);
	check(ner_corpus_read_jsonl(c, a.buf, a.len, NULL, &err), &err);
	assert_int_equal(ner_corpus_n_docs(c), 200);
	for (i = 0; i < 200; i++) {
		const struct ner_doc *d = ner_corpus_doc(c, i);

		assert_true(d->n_spans >= 5);
		bytes += d->len;
		for (k = 0; k < d->n_spans; k++) {
			assert_int_equal(
			        ner_label_parse(&l, d->spans[k].label, strlen(d->spans[k].label)),
			        0);
			counts[l]++;
		}
	}
	printf("synthetic: 200 reports, %zu bytes, spans:", bytes);
	for (l = 0; l < NER_N_LABELS; l++) {
		if (counts[l])
			printf(" %s %zu", ner_label_name(l), counts[l]);
	}
	printf("\n");
	/* the rare labels the generator is for */
	assert_true(counts[8] > 50);   /* PHONE */
	assert_true(counts[9] > 20);   /* EMAIL */
	assert_true(counts[10] > 10);  /* URL */
	assert_true(counts[15] > 100); /* HOSPITAL */
	assert_true(counts[7] > 100);  /* ID */
	ner_corpus_free(c);
	ms_buf_release(&a);
	ms_buf_release(&b);
}

static void test_cv_grascco(void **state)
{
	struct ner_eval avg, plain;
	double t0;

	(void)state;
	if (heavy_skipped()) {
		skip();
		return;
	}
	if (!n_grascco) {
		skip();
		return;
	}
	t0 = now();
	cross_validate(&avg, false, true);
	printf("\n[%.1f s]", now() - t0);
	print_eval("5-fold CV on GraSCCo, NER alone, averaged perceptron", &avg);
	cross_validate(&plain, false, false);
	print_eval("5-fold CV on GraSCCo, NER alone, plain perceptron (no averaging)", &plain);
	assert_int_equal(avg.gold_spans, 1245);
	assert_true(ner_eval_micro(&avg).f1 > 0.5);
}

static void test_cv_grascco_synth(void **state)
{
	struct ner_eval ev;
	double t0;

	(void)state;
	if (heavy_skipped()) {
		skip();
		return;
	}
	if (!n_grascco || !n_synth) {
		skip();
		return;
	}
	t0 = now();
	cross_validate(&ev, true, true);
	printf("\n[%.1f s]", now() - t0);
	print_eval("5-fold CV on GraSCCo, training folds + synthetic reports", &ev);
	assert_true(ner_eval_micro(&ev).f1 > 0.5);
}

static void test_synth_only(void **state)
{
	struct ner_train_opts o;
	struct ner_model *m;
	struct ner_eval ev;
	struct ms_error err = MS_ERROR_INIT;
	size_t *train, i;

	(void)state;
	if (heavy_skipped()) {
		skip();
		return;
	}
	if (!n_grascco || !n_synth) {
		skip();
		return;
	}
	train = malloc(n_synth * sizeof(*train));
	assert_non_null(train);
	for (i = 0; i < n_synth; i++)
		train[i] = n_grascco + i;
	opts_recipe(&o);
	check(ner_model_train(&m, grascco, train, n_synth, &o, &err), &err);
	ner_eval_init(&ev);
	for (i = 0; i < n_grascco; i++)
		tag_into(&ev, m, i);
	print_eval("trained on synthetic reports only, evaluated on all of GraSCCo", &ev);
	ner_model_free(m);
	free(train);
}

static void test_speed(void **state)
{
	struct ner_train_opts o;
	struct ner_model *m;
	struct ner_tagger *tg;
	struct ms_error err = MS_ERROR_INIT;
	const char *dir = ms_test_tmpdir();
	char path[4096];
	struct ner_model_info info;
	double t0, t_load, t_tag;
	size_t bytes = 0, spans = 0, i;
	int r, loads = 10;

	(void)state;
	if (heavy_skipped()) {
		skip();
		return;
	}
	if (!n_grascco || !n_synth) {
		skip();
		return;
	}
	opts_recipe(&o);
	t0 = now();
	check(ner_model_train(&m, grascco, NULL, 0, &o, &err), &err);
	printf("\ntraining on %zu documents: %.1f s\n", n_grascco + n_synth, now() - t0);
	snprintf(path, sizeof(path), "%s/speed.model", dir);
	check(ner_model_save(m, path, &err), &err);
	ner_model_free(m);
	t0 = now();
	for (r = 0; r < loads; r++) {
		check(ner_model_load(&m, path, &err), &err);
		if (r + 1 < loads)
			ner_model_free(m);
	}
	t_load = (now() - t0) / loads;
	ner_model_info(m, &info);
	check(ner_tagger_new(&tg, m, &err), &err);
	t0 = now();
	for (r = 0; r < 8; r++) {
		for (i = 0; i < n_grascco; i++) {
			const struct ner_doc *d = ner_corpus_doc(grascco, i);
			const struct ner_span *sp;
			size_t n;

			check(ner_tagger_tag(tg, d->text, d->len, &sp, &n, &err), &err);
			bytes += d->len;
			spans += n;
		}
	}
	t_tag = now() - t0;
	printf("model: %zu bytes, %zu rows, %zu labels, %zu gazetteer keys\n", info.file_size,
	       info.n_rows, info.n_labels, info.n_gaz);
	printf("load: %.1f ms (mmap, SHA-256 check, row index, gazetteer)\n", t_load * 1e3);
	printf("tagging: %.2f MB in %.2f s = %.2f MB/s on one core (%zu spans)\n", bytes / 1e6,
	       t_tag, bytes / 1e6 / t_tag, spans);
	ner_tagger_free(tg);
	ner_model_free(m);
	unlink(path);
	rmdir(dir);
}

static void test_default_model(void **state)
{
	const char *path = getenv("MS_TRAIN_DEFAULT_MODEL");
	struct ner_train_opts o;
	struct ner_model *m1, *m2;
	struct ms_buf b1 = MS_BUF_INIT, b2 = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;
	unsigned char sha[MS_SHA256_LEN];
	char hex[MS_SHA256_HEX_LEN + 1];

	(void)state;
	if (!path || !*path) {
		printf("SKIP: set MS_TRAIN_DEFAULT_MODEL=<path> to train the shipped model\n");
		skip();
		return;
	}
	/* the recipe needs all 54 GraSCCo documents and the project's gazetteers */
	assert_int_equal(n_grascco, 54);
	assert_int_equal(n_synth, RECIPE_SYNTH_N);
	opts_recipe(&o);
	check(ner_model_train(&m1, grascco, NULL, 0, &o, &err), &err);
	check(ner_model_train(&m2, grascco, NULL, 0, &o, &err), &err);
	check(ner_model_serialize(m1, &b1, &err), &err);
	check(ner_model_serialize(m2, &b2, &err), &err);
	assert_int_equal(b1.len, b2.len);
	assert_memory_equal(b1.buf, b2.buf, b1.len);
	assert_true(b1.len <= (size_t)20 << 20);
	check(ner_model_save(m1, path, &err), &err);
	ms_sha256(sha, b1.buf, b1.len);
	ms_hex(hex, sha, sizeof(sha));
	printf("default model: %s, %zu bytes, sha256 %s (two trainings agree)\n", path, b1.len,
	       hex);
	ner_model_free(m1);
	ner_model_free(m2);
	ms_buf_release(&b1);
	ms_buf_release(&b2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synth),
		cmocka_unit_test(test_cv_grascco),
		cmocka_unit_test(test_cv_grascco_synth),
		cmocka_unit_test(test_synth_only),
		cmocka_unit_test(test_speed),
		cmocka_unit_test(test_default_model),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
