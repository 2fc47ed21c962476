/* SPDX-License-Identifier: MIT */
/*
 * Split ratios and assignment, group k-fold: parsing and its errors, the
 * keyed hash against values computed independently (Python hmac), order
 * independence and group consistency, and the distribution over 10,000 keys.
 */
#include "ms_test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/hash.h"
#include "output/output.h"

#define N_KEYS 10000

static int setup(void **state)
{
	(void)state;
	return ms_hash_init();
}

static void expect_spec(const char *s, double train, double validation, double test)
{
	struct output_split_spec spec;
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(output_split_parse(&spec, s, &err), 0);
	assert_true(fabs(spec.ratio[OUTPUT_SPLIT_TRAIN] - train) < 1e-12);
	assert_true(fabs(spec.ratio[OUTPUT_SPLIT_VALIDATION] - validation) < 1e-12);
	assert_true(fabs(spec.ratio[OUTPUT_SPLIT_TEST] - test) < 1e-12);
	assert_int_equal(output_split_check(&spec, NULL), 0);
}

static void test_parse(void **state)
{
	(void)state;
	expect_spec("0.9,0.05,0.05", 0.9, 0.05, 0.05);
	expect_spec("1", 1.0, 0.0, 0.0);
	expect_spec("0.8,0.2", 0.8, 0.2, 0.0);
	expect_spec(" 0.5 , 0.5 ", 0.5, 0.5, 0.0);
	expect_spec("train=0.8,test=0.2", 0.8, 0.0, 0.2);
	expect_spec("test = 0.25, validation=0.25,train=0.5", 0.5, 0.25, 0.25);
	expect_spec("validation=1", 0.0, 1.0, 0.0);
	expect_spec("0.9,0,0.1", 0.9, 0.0, 0.1);
	expect_spec("1e0", 1.0, 0.0, 0.0);
	/* sum within 1e-9 */
	expect_spec("0.3333333333,0.3333333333,0.3333333334", 0.3333333333, 0.3333333333,
	            0.3333333334);
}

static void expect_error(const char *s, const char *msg_part)
{
	struct output_split_spec spec = { { -1.0, -1.0, -1.0, -1.0 } };
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(output_split_parse(&spec, s, &err), MS_EINVAL);
	assert_int_equal(err.code, MS_EINVAL);
	if (msg_part && !strstr(err.msg, msg_part)) {
		print_error("'%s': message '%s' lacks '%s'\n", s, err.msg, msg_part);
		fail();
	}
	/* untouched on failure */
	assert_true(spec.ratio[1] == -1.0 && spec.ratio[3] == -1.0);
}

static void test_parse_errors(void **state)
{
	(void)state;
	expect_error("", NULL);
	expect_error("0.9,0.05", "sum to");
	expect_error("0.5,0.5,0.1", "sum to");
	expect_error("0.333,0.333,0.333", "sum to");
	expect_error("0.5,0.25,0.25,0", "more than 3");
	expect_error("a,b", "'a'");
	expect_error("nan", "'nan'");
	expect_error("inf", "'inf'");
	expect_error("0x1p0", "'0x1p0'");
	expect_error("-0.5,1.5", "outside");
	expect_error("1.5", "outside");
	expect_error("0.5,,0.5", NULL);
	expect_error("0.5,0.5,", NULL);
	expect_error("train=0.5,0.5", "mix");
	expect_error("train=0.5,train=0.5", "twice");
	expect_error("dev=1", "unknown split 'dev'");
	expect_error("=1", "unknown split");
	expect_error("train=", NULL);
	expect_error("0.5.5,0.5", NULL);
}

static void test_check(void **state)
{
	struct output_split_spec spec = { { 0.0, 0.5, 0.5, 0.1 } };
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(output_split_check(&spec, &err), MS_EUSAGE);
	spec.ratio[3] = NAN;
	assert_int_equal(output_split_check(&spec, NULL), MS_EUSAGE);
	spec = (struct output_split_spec)OUTPUT_SPLIT_SPEC_DEFAULT;
	assert_int_equal(output_split_check(&spec, NULL), 0);
	assert_string_equal(output_split_name(OUTPUT_SPLIT_VALIDATION), "validation");
	assert_null(output_split_name(OUTPUT_SPLIT_NONE));
}

/* Reference values: hmac.new(str(seed).encode(), key, hashlib.sha256). */
static void test_hash_reference(void **state)
{
	unsigned char h[32];
	char hex[65];
	struct output_kfold kf = { 5, 0.0 };

	(void)state;
	output_split_hash(h, 42, "A00.0", 5);
	ms_hex(hex, h, 32);
	assert_string_equal(hex,
	                    "b4d96c11960dd217356e2d7ec2e309b7d97ad6bacfd1c0433684cd2956e00348");
	assert_true(output_split_unit(42, "A00.0", 5) == 0.7064425986227925);
	assert_int_equal(output_kfold_assign(&kf, 42, "A00.0", 5), 2);
	assert_true(output_split_unit(0, "", 0) == 0.4957001814118378);
	assert_int_equal(output_kfold_assign(&kf, 0, "", 0), 3);
	assert_true(output_split_unit(UINT64_MAX, "Müller-Patient-7", strlen("Müller-Patient-7")) ==
	            0.6343755265666934);
	assert_int_equal(output_kfold_assign(&kf, UINT64_MAX, "Müller-Patient-7",
	                                     strlen("Müller-Patient-7")),
	                 0);
}

static void key_of(char *out, size_t size, unsigned i)
{
	snprintf(out, size, "patient-%05u", i);
}

static void test_assign_distribution(void **state)
{
	struct output_split_spec spec = OUTPUT_SPLIT_SPEC_DEFAULT;
	static enum output_split fwd[N_KEYS];
	unsigned counts[OUTPUT_SPLIT_MAX] = { 0 };
	unsigned i, differ = 0;
	char key[32];

	(void)state;
	for (i = 0; i < N_KEYS; i++) {
		double u;

		key_of(key, sizeof(key), i);
		u = output_split_unit(7, key, strlen(key));
		assert_true(u >= 0.0 && u < 1.0);
		fwd[i] = output_split_assign(&spec, 7, key, strlen(key));
		counts[fwd[i]]++;
	}
	/* reverse order, repeated calls: same answer for every key */
	for (i = N_KEYS; i-- > 0;) {
		key_of(key, sizeof(key), i);
		assert_int_equal(output_split_assign(&spec, 7, key, strlen(key)), fwd[i]);
	}
	/* binomial sd: train 30, validation/test 21.8; allow about 5 sd */
	assert_int_equal(counts[OUTPUT_SPLIT_NONE], 0);
	assert_in_range(counts[OUTPUT_SPLIT_TRAIN], 9000 - 150, 9000 + 150);
	assert_in_range(counts[OUTPUT_SPLIT_VALIDATION], 500 - 110, 500 + 110);
	assert_in_range(counts[OUTPUT_SPLIT_TEST], 500 - 110, 500 + 110);
	/* another seed reshuffles */
	for (i = 0; i < N_KEYS; i++) {
		key_of(key, sizeof(key), i);
		differ += output_split_assign(&spec, 8, key, strlen(key)) != fwd[i];
	}
	assert_true(differ > 1000);
}

static void test_assign_zero_ratio(void **state)
{
	struct output_split_spec spec;
	unsigned i, n_test = 0;
	char key[32];

	(void)state;
	assert_int_equal(output_split_parse(&spec, "0.9,0,0.1", NULL), 0);
	for (i = 0; i < 2000; i++) {
		enum output_split s;

		key_of(key, sizeof(key), i);
		s = output_split_assign(&spec, 1, key, strlen(key));
		assert_true(s == OUTPUT_SPLIT_TRAIN || s == OUTPUT_SPLIT_TEST);
		n_test += s == OUTPUT_SPLIT_TEST;
	}
	assert_in_range(n_test, 120, 280);
	assert_int_equal(output_split_parse(&spec, "test=1", NULL), 0);
	for (i = 0; i < 100; i++) {
		key_of(key, sizeof(key), i);
		assert_int_equal(output_split_assign(&spec, 1, key, strlen(key)),
		                 OUTPUT_SPLIT_TEST);
	}
}

static void test_kfold(void **state)
{
	struct output_kfold kf = { 5, 0.1 }, plain = { 5, 0.0 };
	unsigned counts[6] = { 0 };
	unsigned i, f;
	char key[32];

	(void)state;
	assert_int_equal(output_kfold_check(&kf, NULL), 0);
	for (i = 0; i < N_KEYS; i++) {
		uint32_t fold;

		key_of(key, sizeof(key), i);
		fold = output_kfold_assign(&kf, 99, key, strlen(key));
		assert_int_equal(output_kfold_assign(&kf, 99, key, strlen(key)), fold);
		if (fold == OUTPUT_FOLD_HOLDOUT) {
			counts[5]++;
			continue;
		}
		assert_true(fold < 5);
		counts[fold]++;
		/* the fold does not depend on the hold-out share */
		assert_int_equal(output_kfold_assign(&plain, 99, key, strlen(key)), fold);
	}
	assert_in_range(counts[5], 1000 - 150, 1000 + 150);
	for (f = 0; f < 5; f++)
		assert_in_range(counts[f], 1800 - 200, 1800 + 200);
}

static void test_kfold_check(void **state)
{
	static const struct output_kfold bad[] = {
		{ 0, 0.0 }, { 1, 0.0 }, { OUTPUT_KFOLD_MAX + 1, 0.0 }, { 5, 1.0 }, { 5, -0.1 },
	};
	struct output_kfold nan_holdout = { 5, NAN };
	struct ms_error err = MS_ERROR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(output_kfold_check(&bad[i], NULL), MS_EUSAGE);
	assert_int_equal(output_kfold_check(&nan_holdout, &err), MS_EUSAGE);
	assert_true(err.msg[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_hash_reference),
		cmocka_unit_test(test_assign_distribution),
		cmocka_unit_test(test_assign_zero_ratio),
		cmocka_unit_test(test_kfold),
		cmocka_unit_test(test_kfold_check),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
