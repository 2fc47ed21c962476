/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for decoding (ner/decode.c): the BIO-constrained Viterbi,
 * which skips sources that cannot win and searches four targets at a time,
 * against a plain scalar search over every source, on random scores with
 * many ties, wide spreads (most sources skipped) and several tag counts.
 * Paths and every score must be the same bits.
 */
#include "ms_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ner/ner.h"
#include "ner/ner_int.h"

#define MAX_N 40

/* The definition: every source for O and B-X, B-X or I-X for I-X; first best source wins. */
static void viterbi_ref(const float *trans, const float *start, unsigned T, const float *em,
                        size_t n, float *score, unsigned char *back, unsigned char *path)
{
	size_t i;
	unsigned t, p, best;

	for (t = 0; t < T; t++) {
		score[t] = (t != NER_TAG_O && !NER_TAG_IS_B(t)) ? -INFINITY : start[t] + em[t];
		back[t] = 0;
	}
	for (i = 1; i < n; i++) {
		const float *prev = score + (i - 1) * T;

		for (t = 0; t < T; t++) {
			float b;
			unsigned from;

			if (t == NER_TAG_O || NER_TAG_IS_B(t)) {
				b = prev[0] + trans[t];
				from = 0;
				for (p = 1; p < T; p++) {
					float c = prev[p] + trans[(size_t)p * T + t];

					if (c > b) {
						b = c;
						from = p;
					}
				}
			} else {
				float sb = prev[t - 1] + trans[(size_t)(t - 1) * T + t];
				float si = prev[t] + trans[(size_t)t * T + t];

				b = si > sb ? si : sb;
				from = si > sb ? t : t - 1;
			}
			score[i * T + t] = b + em[i * T + t];
			back[i * T + t] = (unsigned char)from;
		}
	}
	best = 0;
	for (t = 1; t < T; t++) {
		if (score[(n - 1) * T + t] > score[(n - 1) * T + best])
			best = t;
	}
	path[n - 1] = (unsigned char)best;
	for (i = n - 1; i > 0; i--)
		path[i - 1] = back[i * T + path[i]];
}

/* Small integers (ties everywhere), or a wide spread (most sources cannot win). */
static float draw(unsigned kind)
{
	if (kind == 0)
		return (float)(rand() % 5) - 2.0f;
	if (kind == 1)
		return ((float)rand() / (float)RAND_MAX - 0.5f) * 100.0f;
	return ((float)rand() / (float)RAND_MAX - 0.5f) * 2.0f;
}

static void check_case(unsigned T, size_t n, unsigned kind)
{
	static float trans[(NER_MAX_TAGS + 1) * NER_MAX_TAGS], em[MAX_N * NER_MAX_TAGS];
	static float s1[MAX_N * NER_MAX_TAGS], s2[MAX_N * NER_MAX_TAGS];
	static unsigned char b1[MAX_N * NER_MAX_TAGS], b2[MAX_N * NER_MAX_TAGS];
	unsigned char p1[MAX_N], p2[MAX_N];
	size_t i;

	for (i = 0; i < (size_t)(T + 1) * T; i++)
		trans[i] = draw(kind == 1 ? 2 : kind);
	for (i = 0; i < n * T; i++)
		em[i] = draw(kind);
	viterbi_ref(trans, trans + (size_t)T * T, T, em, n, s1, b1, p1);
	ner_viterbi(trans, trans + (size_t)T * T, T, em, n, s2, b2, p2);
	assert_memory_equal(p1, p2, n);
	assert_memory_equal(s1, s2, n * T * sizeof(float));
	assert_memory_equal(b1, b2, n * T);
}

static void test_viterbi_exact(void **state)
{
	static const unsigned tag_counts[] = { 3, 5, 9, 11, 37, 39 };
	size_t k, r;
	unsigned kind;

	(void)state;
	srand(42);
	for (k = 0; k < sizeof(tag_counts) / sizeof(tag_counts[0]); k++) {
		for (kind = 0; kind < 3; kind++) {
			for (r = 0; r < 40; r++)
				check_case(tag_counts[k], 1 + (size_t)rand() % MAX_N, kind);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_viterbi_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
