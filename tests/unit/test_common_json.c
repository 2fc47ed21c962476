/* SPDX-License-Identifier: MIT */
/* Unit tests for common/json.c: exact bytes, escaping, nesting, numbers. */
#include "ms_test.h"

#include "common/buf.h"
#include "common/json.h"

static void test_compact(void **state)
{
	struct ms_buf b = MS_BUF_INIT;
	struct ms_json j;

	(void)state;
	ms_json_init(&j, &b, false);
	ms_json_obj_begin(&j);
	ms_json_kstr(&j, "code", "C34.1");
	ms_json_kstr(&j, "text", "a \"q\"\\\n\t\x01 ü");
	ms_json_key(&j, "codes");
	ms_json_arr_begin(&j);
	ms_json_str(&j, "A");
	ms_json_str(&j, "B");
	ms_json_arr_end(&j);
	ms_json_key(&j, "empty");
	ms_json_arr_begin(&j);
	ms_json_arr_end(&j);
	ms_json_kint(&j, "n", -3);
	ms_json_key(&j, "x");
	ms_json_double(&j, 0.1);
	ms_json_key(&j, "y");
	ms_json_double(&j, 2);
	ms_json_key(&j, "ok");
	ms_json_bool(&j, true);
	ms_json_kstr(&j, "none", NULL);
	ms_json_obj_end(&j);
	assert_string_equal(b.buf,
	                    "{\"code\":\"C34.1\",\"text\":\"a \\\"q\\\"\\\\\\n\\t\\u0001 ü\","
	                    "\"codes\":[\"A\",\"B\"],\"empty\":[],\"n\":-3,\"x\":0.1,"
	                    "\"y\":2.0,\"ok\":true,\"none\":null}");
	ms_buf_release(&b);
}

static void test_pretty(void **state)
{
	struct ms_buf b = MS_BUF_INIT;
	struct ms_json j;

	(void)state;
	ms_json_init(&j, &b, true);
	ms_json_obj_begin(&j);
	ms_json_kint(&j, "a", 1);
	ms_json_key(&j, "b");
	ms_json_arr_begin(&j);
	ms_json_int(&j, 2);
	ms_json_arr_end(&j);
	ms_json_obj_end(&j);
	assert_string_equal(b.buf, "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}");
	ms_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact),
		cmocka_unit_test(test_pretty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
