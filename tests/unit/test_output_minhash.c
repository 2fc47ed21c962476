/* SPDX-License-Identifier: MIT */
/*
 * MinHash and LSH: identical texts have identical signatures, the estimate
 * tracks the true Jaccard similarity of word 3-shingles, the banding shape
 * fits the threshold, and the index finds near duplicates, never reports a
 * pair below the threshold, and misses unrelated texts.
 */
#include "ms_test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "output/output.h"

static const char base[] =
        "ct des schadels nativ keine intrakranielle blutung keine raumforderung keine "
        "mittellinienverlagerung altersentsprechende weite der inneren und ausseren "
        "liquorraume keine frische territoriale ischamie knocherne strukturen intakt "
        "nasennebenhohlen und mastoidzellen regelrecht beluftet beurteilung unauffalliger "
        "befund ohne nachweis einer akuten intrakraniellen pathologie";

static void sig(uint32_t out[OUTPUT_MINHASH_PERM], const char *s)
{
	output_minhash(out, s, strlen(s), 42);
}

static void test_identical_and_case_of_separators(void **state)
{
	uint32_t a[OUTPUT_MINHASH_PERM], b[OUTPUT_MINHASH_PERM], c[OUTPUT_MINHASH_PERM];

	(void)state;
	sig(a, base);
	sig(b, base);
	assert_memory_equal(a, b, sizeof(a));
	assert_true(output_minhash_similarity(a, b) == 1.0);
	/* punctuation and blank runs separate words just like one blank */
	sig(c, "ct des, schadels   nativ");
	sig(b, "ct des schadels nativ");
	assert_memory_equal(b, c, sizeof(b));
	/* another seed gives other values */
	output_minhash(c, base, strlen(base), 43);
	assert_true(memcmp(a, c, sizeof(a)) != 0);
}

static void test_estimate(void **state)
{
	uint32_t a[OUTPUT_MINHASH_PERM], b[OUTPUT_MINHASH_PERM];
	char text[1024];
	double s;

	(void)state;
	sig(a, base);
	/* one word changed at the end: 3 of 48 shingles differ, J = 45/51 */
	snprintf(text, sizeof(text), "%.*s pathologien", (int)(strlen(base) - 11), base);
	sig(b, text);
	s = output_minhash_similarity(a, b);
	print_message("one word changed: %.3f\n", s);
	assert_true(s > 0.75 && s < 1.0);
	/* an unrelated text */
	sig(b, "mrt der lendenwirbelsaule mediolateraler bandscheibenvorfall l4 l5 mit "
	       "kompression der nervenwurzel l5 rechts spinalkanal nicht eingeengt");
	s = output_minhash_similarity(a, b);
	print_message("unrelated: %.3f\n", s);
	assert_true(s < 0.1);
	/* empty and very short texts */
	sig(a, "");
	sig(b, "");
	assert_true(output_minhash_similarity(a, b) == 1.0);
	sig(a, "ct");
	sig(b, "mrt");
	assert_true(output_minhash_similarity(a, b) < 0.1);
}

static void test_shape(void **state)
{
	struct output_lsh *l = NULL;
	unsigned b, r;
	double t;

	(void)state;
	for (t = 0.5; t <= 0.95; t += 0.15) {
		assert_int_equal(output_lsh_new(&l, t, NULL), 0);
		output_lsh_shape(l, &b, &r);
		assert_true(b * r <= OUTPUT_MINHASH_PERM);
		/* the knee of the S-curve sits near the threshold */
		assert_true(fabs(pow(1.0 / b, 1.0 / r) - t) < 0.1);
		output_lsh_free(l);
	}
	assert_int_equal(output_lsh_new(&l, 0, NULL), MS_EUSAGE);
	assert_int_equal(output_lsh_new(&l, 1.5, NULL), MS_EUSAGE);
	assert_null(l);
}

#define N_DOCS 300

static void test_index(void **state)
{
	static uint32_t sigs[N_DOCS][OUTPUT_MINHASH_PERM];
	uint32_t q[OUTPUT_MINHASH_PERM];
	struct output_lsh *l = NULL;
	char text[1024];
	uint64_t item;
	size_t i, found = 0;

	(void)state;
	assert_int_equal(output_lsh_new(&l, 0.8, NULL), 0);
	/* distinct documents: different numbers in every third word */
	for (i = 0; i < N_DOCS; i++) {
		snprintf(text, sizeof(text),
		         "befund %zu a%zu b%zu c %zu d%zu e%zu f %zu g%zu h%zu i %zu j%zu k%zu", i,
		         i * 7, i * 13, i * 17, i * 19, i * 23, i * 29, i * 31, i * 37, i * 41,
		         i * 43, i * 47);
		sig(sigs[i], text);
		assert_false(output_lsh_query(l, sigs[i], NULL));
		assert_int_equal(output_lsh_insert(l, sigs[i], 1000 + i), 0);
	}
	assert_int_equal(output_lsh_size(l), N_DOCS);
	/* the stored documents themselves are found, as themselves or a twin */
	for (i = 0; i < N_DOCS; i++) {
		assert_true(output_lsh_query(l, sigs[i], &item));
		assert_true(output_minhash_similarity(sigs[i], sigs[item - 1000]) >= 0.8);
		found += item == 1000 + i;
	}
	assert_int_equal(found, N_DOCS);
	/* a long text and its near copy */
	sig(q, base);
	assert_false(output_lsh_query(l, q, NULL));
	assert_int_equal(output_lsh_insert(l, q, 7), 0);
	snprintf(text, sizeof(text), "%s kontrolle", base);
	{
		uint32_t near[OUTPUT_MINHASH_PERM];

		sig(near, text);
		assert_true(output_lsh_query(l, near, &item));
		assert_int_equal(item, 7);
	}
	output_lsh_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical_and_case_of_separators),
		cmocka_unit_test(test_estimate),
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
