/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for ner/tokenize.c: the German clinical rules on top of ICU
 * word breaks (abbreviations, dates, numbers with units, hyphenated
 * compounds, e-mail and URLs, glued titles and ages), byte offsets into
 * UTF-8, no whitespace tokens, and an allocation-failure walk.
 */
#include "ms_test.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "ner/ner.h"

/* Tokenizes s and joins the tokens with '|' into out. */
static void toks_of(const char *s, char *out, size_t cap)
{
	struct ner_tokenizer *tk;
	struct ms_arena a;
	struct ner_token *t;
	struct ms_error err = MS_ERROR_INIT;
	size_t n, i, len = 0;

	ms_arena_init(&a, 4096);
	assert_int_equal(ner_tokenizer_new(&tk, &err), 0);
	assert_int_equal(ner_tokenizer_run(tk, s, strlen(s), &a, &t, &n, &err), 0);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		assert_true(t[i].start < t[i].end);
		assert_true(i == 0 || t[i].start >= t[i - 1].end);
		len += (size_t)snprintf(out + len, cap - len, "%s%.*s", i ? "|" : "",
		                        (int)(t[i].end - t[i].start), s + t[i].start);
		assert_true(len < cap);
	}
	ner_tokenizer_free(tk);
	ms_arena_release(&a);
}

#define CHECK(in, want)                            \
	do {                                       \
		char got_[1024];                   \
		toks_of((in), got_, sizeof(got_)); \
		assert_string_equal(got_, (want)); \
	} while (0)

static void test_abbreviations(void **state)
{
	(void)state;
	CHECK("Dr. med. Schulze, Prof. Dr. Weber", "Dr.|med.|Schulze|,|Prof.|Dr.|Weber");
	CHECK("z.B. re. und li. Knie", "z.B.|re.|und|li.|Knie");
	CHECK("Hauptstr. 5, geb. Meier", "Hauptstr.|5|,|geb.|Meier");
	CHECK("Dr.med. B. Supanic", "Dr.med.|B.|Supanic");
	CHECK("Hals. Das Ende.", "Hals|.|Das|Ende|.");
	CHECK("ca. 5 cm, vgl. Vorbefund", "ca.|5|cm|,|vgl.|Vorbefund");
	/* a title glued to a name is split */
	CHECK("von Fr. Dr.Leitner und Mag.Theodor", "von|Fr.|Dr.|Leitner|und|Mag.|Theodor");
}

static void test_dates_numbers(void **state)
{
	(void)state;
	CHECK("am 03.03.2021.", "am|03.03.2021|.");
	CHECK("vom 19.3. bis 7.5.2029", "vom|19.3.|bis|7.5.2029");
	CHECK("13. Lj.", "13|.|Lj.");
	CHECK("(03/33) und 6/7/1980", "(|03/33|)|und|6/7/1980");
	CHECK("2021-03-03 1-0-1 2019-2020", "2021-03-03|1-0-1|2019|-|2020");
	CHECK("5% 37,5°C 12x12cm 5,3 mm", "5%|37,5°C|12x12cm|5,3|mm");
	/* ages stay apart from their unit */
	CHECK("55-j. 49jähr. Pat.", "55|-|j.|49|jähr.|Pat.");
	CHECK("Tel. 0761/270-12345", "Tel.|0761/270|-|12345");
}

static void test_compounds(void **state)
{
	(void)state;
	CHECK("Weber-B-Fraktur", "Weber-B-Fraktur");
	CHECK("Müller-Lüdenscheidt, COVID-19", "Müller-Lüdenscheidt|,|COVID-19");
	CHECK("A-9011 Neustadt, D-79106", "A-9011|Neustadt|,|D-79106");
	CHECK("Kopf- und Halsbereich", "Kopf|-|und|Halsbereich");
}

static void test_mail_url(void **state)
{
	(void)state;
	CHECK("Mail: max.mustermann@klinik-x.de.", "Mail|:|max.mustermann@klinik-x.de|.");
	CHECK("siehe www.uk-freiburg.de/radiologie, oder https://a.b/c?d=1.",
	      "siehe|www.uk-freiburg.de/radiologie|,|oder|https://a.b/c?d=1|.");
}

static void test_offsets_whitespace(void **state)
{
	struct ner_tokenizer *tk;
	struct ms_arena a;
	struct ner_token *t;
	struct ms_error err = MS_ERROR_INIT;
	const char *s = "\xef\xbb\xbfÄrztin \t\n  Öztürk\u00a0😀 Straße\r\n";
	size_t n;

	(void)state;
	ms_arena_init(&a, 4096);
	assert_int_equal(ner_tokenizer_new(&tk, &err), 0);
	assert_int_equal(ner_tokenizer_run(tk, s, strlen(s), &a, &t, &n, &err), 0);
	assert_int_equal(n, 4);
	/* the BOM belongs to the word after it */
	assert_int_equal(t[0].start, 0);
	assert_int_equal(t[0].end, 3 + strlen("Ärztin"));
	assert_memory_equal(s + t[1].start, "Öztürk", strlen("Öztürk"));
	assert_int_equal(t[2].end - t[2].start, 4); /* the emoji, 4 bytes */
	assert_memory_equal(s + t[3].start, "Straße", t[3].end - t[3].start);
	/* blank and empty text: no tokens */
	assert_int_equal(ner_tokenizer_run(tk, " \n\t", 3, &a, &t, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(ner_tokenizer_run(tk, "", 0, &a, &t, &n, &err), 0);
	assert_int_equal(n, 0);
	ner_tokenizer_free(tk);
	ms_arena_release(&a);
}

/* Invalid UTF-8 is never a crash: bad bytes count as spaces. */
static void test_invalid_utf8(void **state)
{
	const char s[] = "Dr.\xff Meier \xc3 \xe2\x82 x\xf0\x9f\x98 \xed\xa0\x80 Ende";
	struct ner_tokenizer *tk;
	struct ms_arena a;
	struct ner_token *t;
	struct ms_error err = MS_ERROR_INIT;
	size_t n, i;

	(void)state;
	ms_arena_init(&a, 4096);
	assert_int_equal(ner_tokenizer_new(&tk, &err), 0);
	assert_int_equal(ner_tokenizer_run(tk, s, sizeof(s) - 1, &a, &t, &n, &err), 0);
	assert_true(n >= 3);
	for (i = 0; i < n; i++)
		assert_true(t[i].start < t[i].end && t[i].end <= sizeof(s) - 1);
	ner_tokenizer_free(tk);
	ms_arena_release(&a);
}

static void test_alloc_walk(void **state)
{
	const char *s = "Dr. med. Weber-B, geb. 03.03.1961, a@b.de, 5% und noch viel mehr Text "
	                "Dr. med. Weber-B, geb. 03.03.1961, a@b.de, 5% und noch viel mehr Text";
	long k;

	(void)state;
	for (k = 0; k < 200; k++) {
		struct ner_tokenizer *tk = NULL;
		struct ms_arena a;
		struct ner_token *t;
		struct ms_error err = MS_ERROR_INIT;
		size_t n = 0;
		int rc;

		ms_arena_init(&a, 64);
		ms_alloc_fail_after(k);
		rc = ner_tokenizer_new(&tk, &err);
		if (rc == 0)
			rc = ner_tokenizer_run(tk, s, strlen(s), &a, &t, &n, &err);
		ms_alloc_fail_after(-1);
		ner_tokenizer_free(tk);
		ms_arena_release(&a);
		if (rc == 0) {
			assert_int_equal(n, 30);
			break;
		}
		/* ICU and PCRE2 allocate outside ms_malloc, so only ours fail */
		assert_int_equal(rc, MS_ENOMEM);
		assert_int_equal(err.code, MS_ENOMEM);
	}
	assert_true(k < 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abbreviations),      cmocka_unit_test(test_dates_numbers),
		cmocka_unit_test(test_compounds),          cmocka_unit_test(test_mail_url),
		cmocka_unit_test(test_offsets_whitespace), cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_alloc_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
