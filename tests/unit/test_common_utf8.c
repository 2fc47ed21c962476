/* SPDX-License-Identifier: MIT */
/* Unit tests for common/utf8.c: validation, legacy decoding, NFC, folding. */
#include "ms_test.h"

#include <string.h>

#include "common/buf.h"
#include "common/utf8.h"

static void test_valid(void **state)
{
	size_t bad = 99;

	(void)state;
	assert_true(ms_utf8_valid("Größe", strlen("Größe"), NULL));
	assert_false(ms_utf8_valid("ab\xC3", 3, &bad)); /* truncated */
	assert_int_equal(bad, 2);
	assert_false(ms_utf8_valid("\xC0\xAF", 2, &bad)); /* overlong */
	assert_int_equal(bad, 0);
	assert_false(ms_utf8_valid("x\xED\xA0\x80", 4, &bad)); /* surrogate */
	assert_int_equal(bad, 1);
	assert_false(ms_utf8_valid("\xF4\x90\x80\x80", 4, &bad)); /* > U+10FFFF */
	assert_true(ms_utf8_valid("\xF0\x9F\x98\x80", 4, NULL));
	/* a bad byte at every offset of long ASCII runs (the eight-byte path) */
	{
		char s[40];
		int pos;

		for (pos = 0; pos < 40; pos++) {
			memset(s, 'a', sizeof(s));
			assert_true(ms_utf8_valid(s, sizeof(s), NULL));
			s[pos] = (char)0xFF;
			assert_false(ms_utf8_valid(s, sizeof(s), &bad));
			assert_int_equal(bad, (size_t)pos);
			s[pos] = (char)0xC3; /* a lead byte: valid only before 0x80..0xBF */
			assert_int_equal(ms_utf8_valid(s, sizeof(s), &bad), false);
			assert_int_equal(bad, (size_t)pos);
			if (pos < 39) {
				s[pos + 1] = (char)0xA4; /* "ä" */
				assert_true(ms_utf8_valid(s, sizeof(s), NULL));
			}
		}
	}
}

static void test_decode(void **state)
{
	struct ms_buf b = MS_BUF_INIT;

	(void)state;
	assert_int_equal(ms_decode_append(&b, "B\xF6se", 4, MS_ENC_LATIN1), 0);
	assert_string_equal(b.buf, "Böse");
	ms_buf_reset(&b);
	/* 0x80 is the euro sign in CP1252, a C1 control in Latin-1 */
	assert_int_equal(ms_decode_append(&b, "\x80 \x84x\x93", 5, MS_ENC_CP1252), 0);
	assert_string_equal(b.buf, "€ „x“");
	ms_buf_reset(&b);
	assert_int_equal(ms_decode_append(&b, "\x81", 1, MS_ENC_CP1252), 0);
	assert_string_equal(b.buf, "\xEF\xBF\xBD");
	ms_buf_release(&b);
}

static void test_nfc(void **state)
{
	struct ms_buf b = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;
	const char *nfd = "Mo\xCC\x88ller"; /* o + combining diaeresis */

	(void)state;
	assert_int_equal(ms_nfc_append(&b, nfd, strlen(nfd), &err), 0);
	assert_string_equal(b.buf, "Möller");
	ms_buf_reset(&b);
	/* below U+0300 (the copy path) and beyond it (ICU): Ångström sign
	 * U+212B is NFC Å, Hangul jamo compose into one syllable */
	assert_int_equal(ms_nfc_append(&b, "Straße ÆØÅ ǅ", strlen("Straße ÆØÅ ǅ"), &err), 0);
	assert_string_equal(b.buf, "Straße ÆØÅ ǅ");
	ms_buf_reset(&b);
	assert_int_equal(ms_nfc_append(&b, "\xE2\x84\xAB \xE1\x84\x80\xE1\x85\xA1", 10, &err), 0);
	assert_string_equal(b.buf, "\xC3\x85 \xEA\xB0\x80");
	ms_buf_reset(&b);
	/* a combining mark after a letter below U+0300 still composes */
	assert_int_equal(ms_nfc_append(&b, "A\xCC\x8A", 3, &err), 0);
	assert_string_equal(b.buf, "\xC3\x85");
	ms_buf_reset(&b);
	assert_int_equal(ms_text_import(&b, "plain", 5, &err), 0);
	assert_string_equal(b.buf, "plain");
	ms_buf_reset(&b);
	assert_int_equal(ms_text_import(&b, "bad\xFF", 4, &err), MS_EUNICODE);
	assert_true(err.has_off);
	assert_int_equal(err.off, 3);
	ms_buf_release(&b);
}

static void test_fold(void **state)
{
	struct ms_buf b = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(ms_fold_append(&b, "  Morbus   BECHTEREW ", 21, &err), 0);
	assert_string_equal(b.buf, "morbus bechterew");
	ms_buf_reset(&b);
	assert_int_equal(ms_fold_append(&b, "Ödem Straße", strlen("Ödem Straße"), &err), 0);
	assert_string_equal(b.buf, "odem strasse");
	ms_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_nfc),
		cmocka_unit_test(test_fold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
