/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/span.c: label names, span lists, and the merge
 * priority (evidence, length, priority/score, label, position), trimming of
 * overlapping losers, adjacency, order independence, allocation failures.
 */
#include "ms_test.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "deid/deid.h"

static struct deid_span mk(size_t start, size_t end, enum phi_label label,
                           enum deid_source_kind kind, const char *source)
{
	struct deid_span s;

	memset(&s, 0, sizeof(s));
	s.start = start;
	s.end = end;
	s.label = label;
	s.source_kind = kind;
	s.source = source;
	s.score = 1.0f;
	s.field = -1;
	return s;
}

static void add(struct deid_spans *sp, struct deid_span s)
{
	assert_int_equal(deid_spans_add(sp, &s), 0);
}

static void merge(struct deid_spans *sp, const char *text)
{
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(deid_spans_merge(sp, text, strlen(text), &err), 0);
}

static void expect(const struct deid_spans *sp, size_t i, size_t start, size_t end,
                   enum phi_label label)
{
	assert_true(i < sp->n);
	assert_int_equal(sp->v[i].start, start);
	assert_int_equal(sp->v[i].end, end);
	assert_int_equal(sp->v[i].label, label);
}

static void test_labels(void **state)
{
	enum phi_label l;
	unsigned i;

	(void)state;
	for (i = 0; i < PHI_LABEL_COUNT; i++) {
		assert_non_null(phi_label_name((enum phi_label)i));
		assert_int_equal(phi_label_parse(&l, phi_label_name((enum phi_label)i)), 0);
		assert_int_equal(l, i);
	}
	assert_string_equal(phi_label_name(PHI_BIRTHDATE), "BIRTHDATE");
	assert_null(phi_label_name(PHI_LABEL_COUNT));
	assert_int_equal(phi_label_parse(&l, "patient"), MS_EINVAL);
	assert_int_equal(phi_label_parse(&l, "PATIENTT"), MS_EINVAL);
}

static void test_list(void **state)
{
	struct deid_spans sp = DEID_SPANS_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < 100; i++)
		add(&sp, mk(i, i + 1, PHI_DATE, DEID_SOURCE_RULE, "r"));
	assert_int_equal(sp.n, 100);
	deid_spans_reset(&sp);
	assert_int_equal(sp.n, 0);
	deid_spans_release(&sp);
	deid_spans_release(&sp);
	deid_spans_release(NULL);
	assert_null(sp.v);
}

/* Same extent: BIRTHDATE beats DATE on the label order. */
static void test_label_order(void **state)
{
	const char *text = "geb. 01.03.1960";
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	add(&sp, mk(5, 15, PHI_DATE, DEID_SOURCE_RULE, "date"));
	add(&sp, mk(5, 15, PHI_BIRTHDATE, DEID_SOURCE_RULE, "birthdate"));
	merge(&sp, text);
	assert_int_equal(sp.n, 1);
	expect(&sp, 0, 5, 15, PHI_BIRTHDATE);
	deid_spans_release(&sp);
}

/* The dictionary beats a longer rule span; the rule's leftover blank goes. */
static void test_dict_beats_rule(void **state)
{
	const char *text = "Dr. Sabine Sudeck";
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	add(&sp, mk(4, 17, PHI_STAFF, DEID_SOURCE_RULE, "staff_title"));
	add(&sp, mk(4, 10, PHI_PATIENT, DEID_SOURCE_DICT, "dict:patient.given"));
	add(&sp, mk(11, 17, PHI_PATIENT, DEID_SOURCE_DICT, "dict:patient.family"));
	merge(&sp, text);
	assert_int_equal(sp.n, 2);
	expect(&sp, 0, 4, 10, PHI_PATIENT);
	expect(&sp, 1, 11, 17, PHI_PATIENT);
	assert_string_equal(sp.v[1].source, "dict:patient.family");
	deid_spans_release(&sp);
}

/* Longer wins among rules: "Praxis Dr. Kropka" swallows TITLE and STAFF. */
static void test_longer_wins(void **state)
{
	const char *text = "in der Praxis Dr. Kropka.";
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	add(&sp, mk(14, 17, PHI_TITLE, DEID_SOURCE_RULE, "staff_title"));
	add(&sp, mk(18, 24, PHI_STAFF, DEID_SOURCE_RULE, "staff_title"));
	add(&sp, mk(7, 24, PHI_HOSPITAL, DEID_SOURCE_RULE, "practice"));
	merge(&sp, text);
	assert_int_equal(sp.n, 1);
	expect(&sp, 0, 7, 24, PHI_HOSPITAL);
	deid_spans_release(&sp);
}

/* A partly overlapped loser keeps its outer part, trimmed of punctuation. */
static void test_trim_leftover(void **state)
{
	const char *text = "Klinikum Nord, Berlin-Mitte";
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	add(&sp, mk(0, 14, PHI_HOSPITAL, DEID_SOURCE_RULE, "h")); /* "Klinikum Nord," */
	add(&sp, mk(9, 27, PHI_CITY, DEID_SOURCE_GAZETTEER, "gaz:city"));
	merge(&sp, text);
	assert_int_equal(sp.n, 2);
	expect(&sp, 0, 0, 14, PHI_HOSPITAL);
	expect(&sp, 1, 15, 27, PHI_CITY); /* ", " trimmed away */
	deid_spans_release(&sp);
}

/* A rule beats a gazetteer hit of the same extent; adjacent spans stay apart. */
static void test_rule_beats_gazetteer_and_adjacency(void **state)
{
	const char *text = "Prof. Dr. Anna Beispiel";
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	add(&sp, mk(10, 23, PHI_PATIENT, DEID_SOURCE_GAZETTEER, "gaz:name"));
	add(&sp, mk(10, 23, PHI_STAFF, DEID_SOURCE_RULE, "staff_title"));
	add(&sp, mk(0, 9, PHI_TITLE, DEID_SOURCE_RULE, "staff_title"));
	merge(&sp, text);
	assert_int_equal(sp.n, 2);
	expect(&sp, 0, 0, 9, PHI_TITLE);
	expect(&sp, 1, 10, 23, PHI_STAFF);
	deid_spans_release(&sp);
}

/* Score stands in for the rule priority in deid_spans_merge(). */
static void test_score_as_priority(void **state)
{
	const char *text = "12345 Berlin";
	struct deid_spans sp = DEID_SPANS_INIT;
	struct deid_span a = mk(0, 5, PHI_ID, DEID_SOURCE_RULE, "id");
	struct deid_span b = mk(0, 5, PHI_ZIP, DEID_SOURCE_RULE, "zip");

	(void)state;
	a.score = 0.2f;
	b.score = 0.9f;
	add(&sp, a);
	add(&sp, b);
	merge(&sp, text);
	assert_int_equal(sp.n, 1);
	expect(&sp, 0, 0, 5, PHI_ZIP);
	deid_spans_release(&sp);
}

/* Whatever the input order, the result is the same; empty spans vanish. */
/* Overlapping candidates of every source for BLOCK_TEXT; returns how many (7). */
#define BLOCK_TEXT "Frau Anna Muster, geb. 01.03.1960, Pat.-Nr. 1234567"
static size_t block_cands(struct deid_span out[7])
{
	out[0] = mk(5, 16, PHI_PATIENT, DEID_SOURCE_RULE, "person_frau");
	out[1] = mk(10, 16, PHI_PATIENT, DEID_SOURCE_DICT, "dict:patient.family");
	out[2] = mk(23, 33, PHI_DATE, DEID_SOURCE_RULE, "date");
	out[3] = mk(23, 33, PHI_BIRTHDATE, DEID_SOURCE_RULE, "birthdate");
	out[4] = mk(44, 51, PHI_ID, DEID_SOURCE_RULE, "id_context");
	out[5] = mk(40, 51, PHI_PHONE, DEID_SOURCE_GAZETTEER, "x");
	out[6] = mk(3, 3, PHI_OTHER, DEID_SOURCE_NER, "ner"); /* empty: dropped */
	return 7;
}

static void test_order_independent(void **state)
{
	const char *text = BLOCK_TEXT;
	struct deid_span in[7];
	size_t n = block_cands(in), r, i;
	struct deid_spans first = DEID_SPANS_INIT;

	(void)state;
	for (r = 0; r < n; r++) {
		struct deid_spans sp = DEID_SPANS_INIT;

		for (i = 0; i < n; i++)
			add(&sp, in[(i + r) % n]);
		merge(&sp, text);
		if (r == 0) {
			first = sp;
			continue;
		}
		assert_int_equal(sp.n, first.n);
		for (i = 0; i < sp.n; i++) {
			assert_int_equal(sp.v[i].start, first.v[i].start);
			assert_int_equal(sp.v[i].end, first.v[i].end);
			assert_int_equal(sp.v[i].label, first.v[i].label);
			assert_string_equal(sp.v[i].source, first.v[i].source);
		}
		deid_spans_release(&sp);
	}
	/* sorted, non-overlapping */
	for (i = 1; i < first.n; i++)
		assert_true(first.v[i - 1].end <= first.v[i].start);
	assert_int_equal(first.n, 5);
	expect(&first, 0, 5, 9, PHI_PATIENT); /* "Anna" left over from the rule */
	expect(&first, 1, 10, 16, PHI_PATIENT);
	assert_int_equal(first.v[1].source_kind, DEID_SOURCE_DICT);
	expect(&first, 2, 23, 33, PHI_BIRTHDATE);
	/* the weaker, longer gazetteer span keeps only what the rule did not take */
	expect(&first, 3, 40, 42, PHI_PHONE);
	expect(&first, 4, 44, 51, PHI_ID);
	deid_spans_release(&first);
}

/*
 * Many candidates in one text: 20,000 copies of the block of
 * test_order_independent, each copy's candidates shifted by its offset,
 * given in an interleaved order. Copies do not overlap, so the merge must
 * be the block's merge, copy by copy (this took seconds and grew with the
 * square of the spans while accepted spans were kept in a sorted array).
 */
static void test_many_spans(void **state)
{
	static const char block[] = BLOCK_TEXT "\n";
	struct deid_span in[7];
	const size_t copies = 20000, n = block_cands(in), bl = sizeof(block) - 1;
	struct deid_spans one = DEID_SPANS_INIT, all = DEID_SPANS_INIT;
	char *text = malloc(copies * bl + 1);
	size_t c, i;

	(void)state;
	assert_non_null(text);
	for (c = 0; c < copies; c++)
		memcpy(text + c * bl, block, bl);
	text[copies * bl] = '\0';
	for (i = 0; i < n; i++)
		add(&one, in[i]);
	merge(&one, block);
	assert_int_equal(one.n, 5);
	/* candidate i of every copy, then candidate i + 1: far apart in the text */
	for (i = 0; i < n; i++) {
		for (c = 0; c < copies; c++) {
			struct deid_span s = in[(i + c) % n];

			s.start += c * bl;
			s.end += c * bl;
			add(&all, s);
		}
	}
	merge(&all, text);
	assert_int_equal(all.n, copies * one.n);
	for (i = 0; i < all.n; i++) {
		const struct deid_span *a = &all.v[i], *b = &one.v[i % one.n];
		size_t off = i / one.n * bl;

		assert_int_equal(a->start, b->start + off);
		assert_int_equal(a->end, b->end + off);
		assert_int_equal(a->label, b->label);
		assert_string_equal(a->source, b->source);
	}
	deid_spans_release(&one);
	deid_spans_release(&all);
	free(text);
}

static void test_alloc_failures(void **state)
{
	const char *text = "Dr. Sabine Sudeck";
	long n;

	(void)state;
	for (n = 0; n < 20; n++) {
		struct deid_spans sp = DEID_SPANS_INIT;
		struct ms_error err = MS_ERROR_INIT;
		int rc;

		add(&sp, mk(4, 17, PHI_STAFF, DEID_SOURCE_RULE, "r"));
		add(&sp, mk(4, 10, PHI_PATIENT, DEID_SOURCE_DICT, "d"));
		ms_alloc_fail_after(n);
		rc = deid_spans_merge(&sp, text, strlen(text), &err);
		ms_alloc_fail_after(-1);
		if (rc == 0) {
			assert_int_equal(sp.n, 2);
			deid_spans_release(&sp);
			return;
		}
		assert_int_equal(rc, MS_ENOMEM);
		assert_int_equal(sp.n, 2); /* unchanged */
		deid_spans_release(&sp);
	}
	fail_msg("merge never succeeded");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_label_order),
		cmocka_unit_test(test_dict_beats_rule),
		cmocka_unit_test(test_longer_wins),
		cmocka_unit_test(test_trim_leftover),
		cmocka_unit_test(test_rule_beats_gazetteer_and_adjacency),
		cmocka_unit_test(test_score_as_priority),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_many_spans),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
