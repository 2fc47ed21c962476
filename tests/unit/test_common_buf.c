/* SPDX-License-Identifier: MIT */
/* Unit tests for common/buf.c and common/arena.c: growth, caps, sticky errors. */
#include "ms_test.h"

#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/buf.h"

static void test_buf_basic(void **state)
{
	struct ms_buf b = MS_BUF_INIT;
	char *s;
	size_t len;
	int i;

	(void)state;
	assert_string_equal(b.buf, "");
	assert_int_equal(ms_buf_adds(&b, "Morbus "), 0);
	assert_int_equal(ms_buf_addf(&b, "%s %d", "Bechterew", 42), 0);
	assert_string_equal(b.buf, "Morbus Bechterew 42");
	for (i = 0; i < 1000; i++)
		assert_int_equal(ms_buf_addch(&b, 'x'), 0);
	assert_int_equal(b.len, 19 + 1000);
	ms_buf_truncate(&b, 6);
	assert_string_equal(b.buf, "Morbus");
	s = ms_buf_detach(&b, &len);
	assert_string_equal(s, "Morbus");
	assert_int_equal(len, 6);
	assert_string_equal(b.buf, "");
	ms_free(s);
	ms_buf_release(&b);
}

static void test_buf_cap_is_sticky(void **state)
{
	struct ms_buf b;

	(void)state;
	ms_buf_init(&b, 8);
	assert_int_equal(ms_buf_adds(&b, "12345678"), 0);
	assert_int_equal(ms_buf_addch(&b, '9'), MS_ETOOBIG);
	/* sticky: later appends fail the same way, content kept */
	assert_int_equal(ms_buf_adds(&b, ""), MS_ETOOBIG);
	assert_int_equal(ms_buf_status(&b), MS_ETOOBIG);
	assert_string_equal(b.buf, "12345678");
	assert_null(ms_buf_detach(&b, NULL));
	ms_buf_reset(&b);
	assert_int_equal(ms_buf_adds(&b, "ok"), 0);
	ms_buf_release(&b);
}

static void test_buf_oom(void **state)
{
	struct ms_buf b = MS_BUF_INIT;

	(void)state;
	ms_alloc_fail_after(0);
	assert_int_equal(ms_buf_adds(&b, "abc"), MS_ENOMEM);
	ms_alloc_fail_after(-1);
	assert_string_equal(b.buf, "");
	ms_buf_release(&b);
}

static void test_buf_addf_long(void **state)
{
	struct ms_buf b = MS_BUF_INIT;
	char big[300];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ms_buf_addf(&b, "<%s>", big), 0);
	assert_int_equal(b.len, 301);
	assert_int_equal(b.buf[300], '>');
	ms_buf_release(&b);
}

static void test_arena(void **state)
{
	struct ms_arena a;
	char *p, *q;
	int i;

	(void)state;
	ms_arena_init(&a, 64);
	p = ms_arena_strdup(&a, "Hashimoto");
	assert_string_equal(p, "Hashimoto");
	for (i = 0; i < 100; i++) {
		q = ms_arena_alloc(&a, 100);
		assert_non_null(q);
		assert_int_equal((uintptr_t)q % sizeof(void *), 0);
		memset(q, 0xAB, 100);
	}
	assert_string_equal(p, "Hashimoto");
	ms_arena_reset(&a);
	assert_int_equal(a.used_total, 0);
	q = ms_arena_calloc(&a, 4, 8);
	assert_non_null(q);
	for (i = 0; i < 32; i++)
		assert_int_equal(q[i], 0);
	assert_null(ms_arena_calloc(&a, SIZE_MAX, 2));
	ms_arena_release(&a);
	ms_arena_release(&a);
}

static void test_size_overflow(void **state)
{
	size_t out;
	void *p = NULL;
	size_t cap = 0;

	(void)state;
	assert_false(ms_size_add(&out, SIZE_MAX, 1));
	assert_true(ms_size_mul(&out, 3, 4));
	assert_int_equal(out, 12);
	assert_false(ms_size_mul(&out, SIZE_MAX / 2, 3));
	assert_int_equal(ms_grow(&p, &cap, SIZE_MAX / 2, 8), MS_ENOMEM);
	assert_null(p);
	assert_int_equal(cap, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_basic), cmocka_unit_test(test_buf_cap_is_sticky),
		cmocka_unit_test(test_buf_oom),   cmocka_unit_test(test_buf_addf_long),
		cmocka_unit_test(test_arena),     cmocka_unit_test(test_size_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
