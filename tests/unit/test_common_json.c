/* SPDX-License-Identifier: MIT */
/* Unit tests for common/json.c: exact bytes, escaping, nesting, numbers. */
#include "ms_test.h"

#include <stdint.h>
#include <string.h>

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

/* The escaping of every byte value at every offset of a word, and random
 * strings, against a plain byte-by-byte reference. */
static void quote_ref(struct ms_buf *out, const char *s, size_t len)
{
	size_t i;

	ms_buf_addch(out, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			ms_buf_addf(out, "\\%c", c);
		else if (c == '\n')
			ms_buf_adds(out, "\\n");
		else if (c == '\r')
			ms_buf_adds(out, "\\r");
		else if (c == '\t')
			ms_buf_adds(out, "\\t");
		else if (c == '\b')
			ms_buf_adds(out, "\\b");
		else if (c == '\f')
			ms_buf_adds(out, "\\f");
		else if (c < 0x20)
			ms_buf_addf(out, "\\u%04x", c);
		else
			ms_buf_addch(out, c);
	}
	ms_buf_addch(out, '"');
}

static void expect_quote(const char *s, size_t len)
{
	struct ms_buf a = MS_BUF_INIT, b = MS_BUF_INIT, c = MS_BUF_INIT;

	/* an empty buffer has no room: the escaping path from the start */
	assert_int_equal(ms_json_quote(&a, s, len), 0);
	quote_ref(&b, s, len);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.buf, b.buf, a.len);
	/* room for the string as it is: the one-pass copy, behind other bytes */
	assert_int_equal(ms_buf_grow(&c, len + 16), 0);
	ms_buf_addch(&c, '[');
	assert_int_equal(ms_json_quote(&c, s, len), 0);
	assert_int_equal(c.len, b.len + 1);
	assert_memory_equal(c.buf + 1, b.buf, b.len);
	assert_int_equal(c.buf[c.len], '\0');
	ms_buf_release(&a);
	ms_buf_release(&b);
	ms_buf_release(&c);
}

static void test_plain_table(void **state)
{
	int c;

	(void)state;
	for (c = 0; c < 256; c++)
		assert_int_equal(ms_json_plain[c], c >= 0x20 && c != '"' && c != '\\');
}

static void test_quote(void **state)
{
	char s[40];
	unsigned seed = 7;
	int c, pos, n, k;

	(void)state;
	for (c = 0; c < 256; c++) {
		for (pos = 0; pos < 20; pos++) {
			memset(s, 'a', sizeof(s));
			s[pos] = (char)c;
			expect_quote(s, 20);
			s[pos + 1] = (char)0xC3; /* a UTF-8 lead byte after it */
			expect_quote(s, 21);
		}
	}
	/* every short length, plain and with a quote at each position: the
	 * copy's last word is padded, never read beyond */
	for (n = 0; n <= 24; n++) {
		memset(s, 'k', sizeof(s));
		expect_quote(s, (size_t)n);
		for (pos = 0; pos < n; pos++) {
			s[pos] = '"';
			expect_quote(s, (size_t)n);
			s[pos] = 'k';
		}
	}
	for (n = 0; n < 2000; n++) {
		for (k = 0; k < (int)sizeof(s); k++) {
			seed = seed * 1103515245u + 12345u;
			/* mostly text, some controls, quotes, backslashes, high bytes */
			c = (int)(seed >> 16) % 10;
			s[k] = (char)(c < 6    ? 'a' + c
			              : c == 6 ? '"'
			              : c == 7 ? '\\'
			              : c == 8 ? 0x1f
			                       : 0xE4);
		}
		expect_quote(s, (size_t)(seed >> 8) % sizeof(s));
	}
	expect_quote("", 0);
}

/* The word-at-a-time scan agrees with a byte loop, borrows and all. */
static void test_next_special(void **state)
{
	static const unsigned char bytes[] = { 0x00, 0x01,    0x1f,     0x20, 0x21,     '"' - 1,
		                               '"',  '"' + 1, '\\' - 1, '\\', '\\' + 1, 'a',
		                               0x7f, 0x80,    0x9f,     0xa0, 0xc3,     0xff };
	char s[24];
	uint32_t seed = 1;
	size_t n, i, k, want;

	(void)state;
	for (n = 0; n < 20000; n++) {
		for (k = 0; k < sizeof(s); k++) {
			seed = seed * 1103515245u + 12345u;
			/* mostly plain letters, so that specials sit at every offset */
			s[k] = (char)((seed >> 16) % 4 ? 'a' : bytes[(seed >> 8) % sizeof(bytes)]);
		}
		for (i = 0; i <= sizeof(s); i++) {
			for (want = i; want < sizeof(s); want++) {
				unsigned char c = (unsigned char)s[want];

				if (c < 0x20 || c == '"' || c == '\\')
					break;
			}
			assert_int_equal(ms_json_next_special(s, i, sizeof(s)), want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact),     cmocka_unit_test(test_next_special),
		cmocka_unit_test(test_pretty),      cmocka_unit_test(test_quote),
		cmocka_unit_test(test_plain_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
