/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ner/eval.c on hand-made cases with known answers: strict
 * matching per label, duplicates, label-agnostic recall at entity and
 * character level (code points, not bytes), merging, the JSON report and
 * the document folds.
 */
#include "ms_test.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "ner/ner.h"

static const char *L(const char *name)
{
	unsigned i;

	assert_int_equal(ner_label_parse(&i, name, strlen(name)), 0);
	return ner_label_name(i);
}

static void near(double got, double want)
{
	assert_true(got > want - 1e-9 && got < want + 1e-9);
}

static void test_strict(void **state)
{
	/*            0         1         2         3
	 *            0123456789012345678901234567890123 */
	const char *t = "Herr Hans Meier, geb. 01.02.1960 in Ulm";
	struct ner_span gold[] = {
		{ 5, 15, NULL, 1 },  /* Hans Meier PATIENT */
		{ 22, 32, NULL, 1 }, /* 01.02.1960 DATE */
		{ 36, 39, NULL, 1 }, /* Ulm CITY */
	};
	struct ner_span pred[] = {
		{ 5, 15, NULL, 1 },  /* exact: TP */
		{ 22, 32, NULL, 1 }, /* right place, wrong label: FP for AGE, FN for DATE */
		{ 36, 38, NULL, 1 }, /* too short: FP CITY, FN CITY */
		{ 0, 4, NULL, 1 },   /* spurious: FP PATIENT */
	};
	struct ner_eval ev;
	struct ner_prf r;

	(void)state;
	gold[0].label = L("PATIENT");
	gold[1].label = L("DATE");
	gold[2].label = L("CITY");
	pred[0].label = L("PATIENT");
	pred[1].label = L("AGE");
	pred[2].label = L("CITY");
	pred[3].label = L("PATIENT");
	ner_eval_init(&ev);
	assert_int_equal(ner_eval_add(&ev, t, strlen(t), gold, 3, pred, 4), 0);
	r = ner_eval_label(&ev, 0);
	near(r.precision, 0.5);
	near(r.recall, 1.0);
	near(r.f1, 2.0 / 3.0);
	assert_int_equal(r.support, 1);
	r = ner_eval_label(&ev, 4); /* DATE */
	near(r.precision, 0);
	near(r.recall, 0);
	near(r.f1, 0);
	r = ner_eval_micro(&ev);
	near(r.precision, 1.0 / 4.0);
	near(r.recall, 1.0 / 3.0);
	near(r.f1, 2 * 0.25 * (1.0 / 3) / (0.25 + 1.0 / 3));
	/* every gold span is overlapped by some prediction */
	near(ner_eval_entity_recall(&ev), 1.0);
	/* characters: 10 + 10 + 2 of 3 ("Ul" of "Ulm") */
	near(ner_eval_char_recall(&ev), 22.0 / 23.0);
}

static void test_duplicates_and_chars(void **state)
{
	const char *t = "Frau Öztürk aus Köln";
	struct ner_span gold[] = { { 5, 13, NULL, 1 }, { 5, 13, NULL, 1 }, { 18, 23, NULL, 1 } };
	struct ner_span pred[] = { { 5, 13, NULL, 1 }, { 5, 13, NULL, 1 }, { 5, 13, NULL, 1 } };
	struct ner_eval ev, sum;
	struct ner_prf r;
	struct ms_buf js = MS_BUF_INIT;

	(void)state;
	gold[0].label = gold[1].label = pred[0].label = pred[1].label = pred[2].label =
	        L("PATIENT");
	gold[2].label = L("CITY");
	ner_eval_init(&ev);
	assert_int_equal(ner_eval_add(&ev, t, strlen(t), gold, 3, pred, 3), 0);
	/* two gold duplicates match two predictions, the third prediction is a FP */
	assert_int_equal(ev.label[0].tp, 2);
	assert_int_equal(ev.label[0].fp, 1);
	assert_int_equal(ev.label[13].fn, 1);
	near(ner_eval_entity_recall(&ev), 2.0 / 3.0);
	/* "Öztürk" is 6 characters in 8 bytes, twice; "Köln" 4 in 5 */
	assert_int_equal(ev.gold_chars, 16);
	assert_int_equal(ev.gold_chars_found, 12);
	ner_eval_init(&sum);
	ner_eval_merge(&sum, &ev);
	ner_eval_merge(&sum, &ev);
	assert_int_equal(sum.label[0].tp, 4);
	assert_int_equal(sum.n_docs, 2);
	r = ner_eval_micro(&sum);
	near(r.precision, 4.0 / 6.0);
	near(r.recall, 4.0 / 6.0);
	/* nothing at all: defined, zero */
	ner_eval_init(&ev);
	assert_int_equal(ner_eval_add(&ev, "", 0, NULL, 0, NULL, 0), 0);
	r = ner_eval_micro(&ev);
	near(r.f1, 0);
	near(ner_eval_entity_recall(&ev), 1.0);
	assert_int_equal(ner_eval_write_json(&sum, &js), 0);
	assert_string_equal(
	        js.buf, "{\"documents\":2,\"micro\":{\"precision\":0.6666666666666666,\"recall\":"
	                "0.6666666666666666,\"f1\":0.6666666666666666,\"tp\":4,\"fp\":2,\"fn\":2},"
	                "\"labels\":{\"PATIENT\":{\"precision\":0.6666666666666666,\"recall\":1.0,"
	                "\"f1\":0.8,\"tp\":4,\"fp\":2,\"fn\":0},\"CITY\":{\"precision\":0.0,"
	                "\"recall\":0.0,\"f1\":0.0,\"tp\":0,\"fp\":0,\"fn\":2}},\"entity_recall\":"
	                "0.6666666666666666,\"char_recall\":0.75}\n");
	ms_buf_release(&js);
}

static void test_folds(void **state)
{
	struct ner_corpus *c, *c2;
	struct ms_error err = MS_ERROR_INIT;
	unsigned f1[23], f2[23], count[5] = { 0 }, f3[23];
	size_t i, docs[23];
	char id[16];

	(void)state;
	assert_int_equal(ner_corpus_new(&c, &err), 0);
	assert_int_equal(ner_corpus_new(&c2, &err), 0);
	for (i = 0; i < 23; i++) {
		snprintf(id, sizeof(id), "doc%zu", i);
		assert_int_equal(ner_corpus_add(c, id, "x", 1, NULL, 0, &err), 0);
		/* the same ids in reverse order */
		snprintf(id, sizeof(id), "doc%zu", 22 - i);
		assert_int_equal(ner_corpus_add(c2, id, "x", 1, NULL, 0, &err), 0);
	}
	assert_int_equal(ner_folds_assign(f1, c, NULL, 23, 5, 7), 0);
	assert_int_equal(ner_folds_assign(f2, c2, NULL, 23, 5, 7), 0);
	for (i = 0; i < 23; i++) {
		assert_true(f1[i] < 5);
		count[f1[i]]++;
		assert_int_equal(f1[i], f2[22 - i]); /* by id, not by position */
	}
	for (i = 0; i < 5; i++)
		assert_true(count[i] == 4 || count[i] == 5);
	/* another seed deals differently; an index subset works */
	assert_int_equal(ner_folds_assign(f3, c, NULL, 23, 5, 8), 0);
	assert_true(memcmp(f1, f3, sizeof(f1)) != 0);
	for (i = 0; i < 23; i++)
		docs[i] = i;
	assert_int_equal(ner_folds_assign(f3, c, docs, 23, 5, 7), 0);
	assert_memory_equal(f1, f3, sizeof(f1));
	assert_int_equal(ner_folds_assign(f3, c, docs, 23, 0, 7), MS_EUSAGE);
	ms_alloc_fail_after(0);
	assert_int_equal(ner_folds_assign(f3, c, docs, 23, 5, 7), MS_ENOMEM);
	ms_alloc_fail_after(-1);
	ner_corpus_free(c);
	ner_corpus_free(c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_duplicates_and_chars),
		cmocka_unit_test(test_folds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
