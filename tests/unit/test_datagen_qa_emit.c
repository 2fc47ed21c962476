/* SPDX-License-Identifier: MIT */
/*
 * The QA emitter's per-item scratch strings: qa_scratch_printf gives what
 * snprintf gives, whether the format takes its "%s"-only fast path or not.
 */
#include "ms_test.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/arena.h"
#include "datagen/datagen_int.h"

static void expect(const char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void test_scratch_printf(void **state)
{
	struct qa_emit em;
	char want[256];

	(void)state;
	memset(&em, 0, sizeof(em));
	ms_arena_init(&em.scratch, 0);
	/* literal text and %s only */
	expect(qa_scratch_printf(&em, "plain"), "plain");
	expect(qa_scratch_printf(&em, "%s", ""), "");
	expect(qa_scratch_printf(&em, "%s† %s*", "E10.3", "H36.0"), "E10.3† H36.0*");
	expect(qa_scratch_printf(&em, "%s – %s", "C34", "Bösartige Neubildung"),
	       "C34 – Bösartige Neubildung");
	expect(qa_scratch_printf(&em, "%s%s%s%s%s%s%s%s", "a", "b", "c", "d", "e", "f", "g", "h"),
	       "abcdefgh");
	/* more arguments than the fast path holds, other directives: printf */
	expect(qa_scratch_printf(&em, "%s%s%s%s%s%s%s%s%s", "a", "b", "c", "d", "e", "f", "g", "h",
	                         "i"),
	       "abcdefghi");
	snprintf(want, sizeof(want), "%" PRId64 ",%02" PRId64, (int64_t)17, (int64_t)4);
	expect(qa_scratch_printf(&em, "%" PRId64 ",%02" PRId64, (int64_t)17, (int64_t)4), want);
	expect(qa_scratch_printf(&em, "%s: %d%%", "x", 5), "x: 5%");
	expect(qa_scratch_printf(&em, "100%%"), "100%");
	ms_arena_release(&em.scratch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scratch_printf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
