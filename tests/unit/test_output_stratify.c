/* SPDX-License-Identifier: MIT */
/*
 * Iterative stratification of groups: every group gets exactly one part,
 * part sizes follow the ratios, a label's examples are spread in proportion
 * (rare labels included) far better than by hashing groups, results are
 * deterministic, and bad input is refused.
 */
#include "ms_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/hash.h"
#include "output/output.h"

#define N_GROUPS 2000
#define N_LABELS 40
#define N_PARTS  6 /* 5 folds + hold-out */

struct corpus {
	struct output_strat_group g[N_GROUPS];
	uint32_t labels[N_GROUPS][4];
	uint32_t counts[N_GROUPS][4];
};

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/* Groups of 1-8 examples; label l is drawn with weight ~ 1/(l+1) (long tail). */
static void make_corpus(struct corpus *c, uint64_t seed)
{
	size_t i, j;

	for (i = 0; i < N_GROUPS; i++) {
		size_t n = 1 + lcg(&seed) % 4;

		c->g[i].n_examples = (uint32_t)(1 + lcg(&seed) % 8);
		for (j = 0; j < n; j++) {
			uint32_t l = (uint32_t)(lcg(&seed) % N_LABELS);
			bool dup = true;
			size_t k;

			l = (uint32_t)((uint64_t)l * l / N_LABELS); /* skew towards low indexes */
			while (dup) {
				dup = false;
				for (k = 0; k < j; k++)
					dup = dup || c->labels[i][k] == l;
				if (dup)
					l = (l + 1) % N_LABELS;
			}
			c->labels[i][j] = l;
			c->counts[i][j] = 1 + (uint32_t)(lcg(&seed) % c->g[i].n_examples);
		}
		c->g[i].labels = c->labels[i];
		c->g[i].counts = c->counts[i];
		c->g[i].n_labels = n;
		c->g[i].order = lcg(&seed);
	}
}

/* Largest relative deviation of a label's per-part count from its share. */
static double worst_label_deviation(const struct corpus *c, const uint32_t *part,
                                    const double *ratios, uint32_t min_total)
{
	double worst = 0;
	uint32_t l;
	size_t i, j, p;

	for (l = 0; l < N_LABELS; l++) {
		double per[N_PARTS] = { 0 }, total = 0;

		for (i = 0; i < N_GROUPS; i++) {
			for (j = 0; j < c->g[i].n_labels; j++) {
				if (c->g[i].labels[j] == l) {
					per[part[i]] += c->g[i].counts[j];
					total += c->g[i].counts[j];
				}
			}
		}
		if (total < min_total)
			continue;
		for (p = 0; p < N_PARTS; p++) {
			double d = fabs(per[p] - ratios[p] * total) / total;

			if (d > worst)
				worst = d;
		}
	}
	return worst;
}

static void test_balanced(void **state)
{
	static const double ratios[N_PARTS] = { 0.18, 0.18, 0.18, 0.18, 0.18, 0.10 };
	struct corpus *c = calloc(1, sizeof(*c));
	uint32_t part[N_GROUPS], hashed[N_GROUPS], again[N_GROUPS];
	double sizes[N_PARTS] = { 0 }, total = 0, strat_dev, hash_dev;
	struct ms_error err = MS_ERROR_INIT;
	size_t i, p;

	(void)state;
	assert_non_null(c);
	make_corpus(c, 7);
	assert_int_equal(output_stratify(part, c->g, N_GROUPS, N_LABELS, ratios, N_PARTS, 42, &err),
	                 0);
	for (i = 0; i < N_GROUPS; i++) {
		assert_true(part[i] < N_PARTS);
		sizes[part[i]] += c->g[i].n_examples;
		total += c->g[i].n_examples;
		/* the baseline: parts by hash of the group, as group k-fold does */
		hashed[i] = (uint32_t)(c->g[i].order % 1000 < 100 ? 5 : c->g[i].order % 5);
	}
	for (p = 0; p < N_PARTS; p++)
		assert_true(fabs(sizes[p] / total - ratios[p]) < 0.01);
	strat_dev = worst_label_deviation(c, part, ratios, 50);
	hash_dev = worst_label_deviation(c, hashed, ratios, 50);
	print_message("worst label deviation: stratified %.4f, hashed %.4f\n", strat_dev, hash_dev);
	assert_true(strat_dev < 0.03);
	assert_true(strat_dev * 3 < hash_dev);
	/* deterministic */
	assert_int_equal(
	        output_stratify(again, c->g, N_GROUPS, N_LABELS, ratios, N_PARTS, 42, &err), 0);
	assert_memory_equal(part, again, sizeof(part));
	free(c);
}

/* A label held by exactly as many groups as there are parts: one each. */
static void test_rare_label_spread(void **state)
{
	static const double ratios[3] = { 0.4, 0.4, 0.2 };
	struct output_strat_group g[30];
	uint32_t part[30], common_l = 0, rare_l = 1, seen[3] = { 0 };
	uint32_t one = 1;
	size_t i;

	(void)state;
	memset(g, 0, sizeof(g));
	for (i = 0; i < 30; i++) {
		g[i].n_examples = 1;
		g[i].order = i * 2654435761u;
		g[i].labels = i < 3 ? &rare_l : &common_l;
		g[i].counts = &one;
		g[i].n_labels = 1;
	}
	assert_int_equal(output_stratify(part, g, 30, 2, ratios, 3, 1, NULL), 0);
	for (i = 0; i < 3; i++)
		seen[part[i]]++;
	assert_int_equal(seen[0], 1);
	assert_int_equal(seen[1], 1);
	assert_int_equal(seen[2], 1);
}

/* Groups without labels are still assigned, by size. */
static void test_unlabelled(void **state)
{
	static const double ratios[2] = { 0.5, 0.5 };
	struct output_strat_group g[4];
	uint32_t part[4];
	size_t i;

	(void)state;
	memset(g, 0, sizeof(g));
	for (i = 0; i < 4; i++)
		g[i].n_examples = 10;
	assert_int_equal(output_stratify(part, g, 4, 0, ratios, 2, 3, NULL), 0);
	assert_int_equal((part[0] == 0) + (part[1] == 0) + (part[2] == 0) + (part[3] == 0), 2);
}

static void test_errors(void **state)
{
	static const double bad_sum[2] = { 0.5, 0.6 };
	static const double ok[2] = { 0.5, 0.5 };
	struct output_strat_group g = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	uint32_t label = 5, count = 1, part;

	(void)state;
	assert_int_equal(output_stratify(&part, &g, 1, 1, bad_sum, 2, 0, &err), MS_EUSAGE);
	assert_int_equal(output_stratify(&part, &g, 1, 1, ok, 0, 0, &err), MS_EUSAGE);
	g.labels = &label;
	g.counts = &count;
	g.n_labels = 1;
	g.n_examples = 1;
	ms_error_clear(&err);
	assert_int_equal(output_stratify(&part, &g, 1, 2, ok, 2, 0, &err), MS_EUSAGE);
	assert_non_null(strstr(err.msg, "out of range"));
}

/* Every allocation failure is reported, never a crash or a leak. */
static void test_alloc_failures(void **state)
{
	static const double ratios[2] = { 0.5, 0.5 };
	struct output_strat_group g[3];
	uint32_t labels[3] = { 0, 1, 0 }, one = 1, part[3];
	long n;
	int rc;
	size_t i;

	(void)state;
	memset(g, 0, sizeof(g));
	for (i = 0; i < 3; i++) {
		g[i].labels = &labels[i];
		g[i].counts = &one;
		g[i].n_labels = 1;
		g[i].n_examples = 1;
	}
	for (n = 0; n < 20; n++) {
		ms_alloc_fail_after(n);
		rc = output_stratify(part, g, 3, 2, ratios, 2, 0, NULL);
		ms_alloc_fail_after(-1);
		assert_true(rc == 0 || rc == MS_ENOMEM);
		if (rc == 0)
			break;
	}
	assert_true(n < 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_balanced),       cmocka_unit_test(test_rare_label_spread),
		cmocka_unit_test(test_unlabelled),     cmocka_unit_test(test_errors),
		cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
