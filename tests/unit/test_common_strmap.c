/* SPDX-License-Identifier: MIT */
/* Unit tests for common/strmap.c: put, get, overwrite, growth, OOM. */
#include "ms_test.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/strmap.h"

static void test_put_get(void **state)
{
	struct ms_strmap m = MS_STRMAP_INIT;
	static char keys[5000][8];
	const struct ms_strmap_slot *s;
	size_t i;

	(void)state;
	assert_null(ms_strmap_get(&m, "x", 1));
	for (i = 0; i < 5000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		assert_int_equal(ms_strmap_put(&m, keys[i], strlen(keys[i]), i), 0);
	}
	assert_int_equal(m.n, 5000);
	assert_true(m.cap >= 10000);
	for (i = 0; i < 5000; i++) {
		s = ms_strmap_get(&m, keys[i], strlen(keys[i]));
		assert_non_null(s);
		assert_int_equal(s->val, i);
	}
	/* keys compare by length too: "k1" is not a prefix match of "k10" */
	assert_int_equal(ms_strmap_get(&m, "k10", 2)->val, 1);
	assert_null(ms_strmap_get(&m, "k5000", 5));
	/* overwrite keeps the count */
	assert_int_equal(ms_strmap_put(&m, "k7", 2, 99), 0);
	assert_int_equal(m.n, 5000);
	assert_int_equal(ms_strmap_get(&m, "k7", 2)->val, 99);
	ms_strmap_release(&m);
	ms_strmap_release(&m);
}

static void test_oom(void **state)
{
	struct ms_strmap m = MS_STRMAP_INIT;

	(void)state;
	ms_alloc_fail_after(0);
	assert_int_equal(ms_strmap_put(&m, "a", 1, 1), MS_ENOMEM);
	ms_alloc_fail_after(-1);
	assert_int_equal(m.n, 0);
	assert_null(ms_strmap_get(&m, "a", 1));
	ms_strmap_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get),
		cmocka_unit_test(test_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
