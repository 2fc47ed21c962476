/* SPDX-License-Identifier: MIT */
/*
 * Differential test of common/json_pull.c against jansson, which it replaces
 * on the JSONL hot path: for a corpus of valid and invalid lines, written by
 * hand and mutated systematically (truncated at every byte, every byte
 * replaced by bytes that matter to JSON, control characters inserted
 * everywhere, keys duplicated raw and escaped, random multi-byte damage), the
 * parser must accept exactly what json_loadb(..., JSON_REJECT_DUPLICATES)
 * accepts, yield the same keys, strings and numbers in the same order, and
 * reject with the same reason and column.
 *
 * The one known difference is skipped and counted: jansson drops a NUL byte
 * that directly follows a number or literal (`[1\0]` loads); the parser must
 * reject such input.
 */
#include "ms_test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/json_pull.h"

struct diff_stats {
	size_t cases, accepted, rejected, quirks;
	size_t by_why[MS_JSON_PULL_ENOMEM + 1];
	size_t failures;
};

static struct diff_stats stats;
static struct ms_buf scratch = MS_BUF_INIT;

static void put_str(struct ms_buf *out, char tag, const char *s, size_t len)
{
	ms_buf_addf(out, "%c%zu:", tag, len);
	ms_buf_add(out, s, len);
	ms_buf_addch(out, ' ');
}

/* The document as jansson sees it, in the parser's event order. */
static void render_json(struct ms_buf *out, const json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		ms_buf_adds(out, "{ ");
		json_object_foreach((json_t *)v, key, item)
		{
			put_str(out, 'K', key, strlen(key));
			render_json(out, item);
		}
		ms_buf_adds(out, "} ");
		break;
	case JSON_ARRAY:
		ms_buf_adds(out, "[ ");
		json_array_foreach(v, i, item)
		{
			render_json(out, item);
		}
		ms_buf_adds(out, "] ");
		break;
	case JSON_STRING:
		put_str(out, 'S', json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		ms_buf_addf(out, "I%lld ", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		ms_buf_addf(out, "R%.17g ", json_real_value(v));
		break;
	case JSON_TRUE:
		ms_buf_adds(out, "T ");
		break;
	case JSON_FALSE:
		ms_buf_adds(out, "F ");
		break;
	case JSON_NULL:
	default:
		ms_buf_adds(out, "N ");
		break;
	}
}

/* The pull parser's events in the same form; returns 0 or its failure. */
static int render_pull(struct ms_buf *out, struct ms_json_pull *p, const char *s, size_t len)
{
	int ev;

	ms_buf_reset(&scratch);
	ms_json_pull_reset(p, s, len);
	while ((ev = ms_json_pull_next(p)) > 0) {
		switch (ev) {
		case MS_JSON_EV_OBJ_BEGIN:
			ms_buf_adds(out, "{ ");
			break;
		case MS_JSON_EV_OBJ_END:
			ms_buf_adds(out, "} ");
			break;
		case MS_JSON_EV_ARR_BEGIN:
			ms_buf_adds(out, "[ ");
			break;
		case MS_JSON_EV_ARR_END:
			ms_buf_adds(out, "] ");
			break;
		case MS_JSON_EV_KEY:
		case MS_JSON_EV_STRING:
			put_str(out, ev == MS_JSON_EV_KEY ? 'K' : 'S', p->str, p->len);
			break;
		case MS_JSON_EV_INT:
			ms_buf_addf(out, "I%lld ", p->integer);
			break;
		case MS_JSON_EV_REAL: {
			char num[512];

			if (p->len >= sizeof(num))
				return -100; /* the corpus has no such number */
			memcpy(num, p->str, p->len);
			num[p->len] = '\0';
			ms_buf_addf(out, "R%.17g ", strtod(num, NULL));
			break;
		}
		case MS_JSON_EV_TRUE:
			ms_buf_adds(out, "T ");
			break;
		case MS_JSON_EV_FALSE:
			ms_buf_adds(out, "F ");
			break;
		default:
			ms_buf_adds(out, "N ");
			break;
		}
	}
	return ev;
}

/* A NUL byte right after a number or literal, outside strings. */
static bool nul_quirk(const char *s, size_t len)
{
	bool in_str = false;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '\0' && i > 0 &&
		           ((s[i - 1] >= '0' && s[i - 1] <= '9') ||
		            (s[i - 1] >= 'a' && s[i - 1] <= 'z') ||
		            (s[i - 1] >= 'A' && s[i - 1] <= 'Z'))) {
			return true;
		}
	}
	return false;
}

static void show(const char *what, const char *s, size_t len)
{
	size_t i;

	printf("%s (%zu bytes): ", what, len);
	for (i = 0; i < len && i < 300; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf("%s\n", len > 300 ? "..." : "");
}

/*
 * Compares both parsers on pull_doc and jansson_doc (the same text, except
 * in the self-test); returns true if they agree.
 */
static bool agree(const char *pull_doc, size_t pull_len, const char *jansson_doc,
                  size_t jansson_len, bool quiet)
{
	struct ms_buf a = MS_BUF_INIT, b = MS_BUF_INIT;
	struct ms_json_pull p;
	json_error_t je;
	json_t *root;
	int rc;
	bool same;

	ms_json_pull_init(&p, &scratch);
	rc = render_pull(&a, &p, pull_doc, pull_len);
	root = json_loadb(jansson_doc, jansson_len, JSON_REJECT_DUPLICATES, &je);
	if (root) {
		render_json(&b, root);
		json_decref(root);
		same = rc == 0 && a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0;
	} else {
		same = rc < 0 && p.error == ms_json_pull_error_of_jansson(&je) &&
		       p.error_column == (size_t)je.column;
	}
	if (!same && !quiet) {
		show("input", pull_doc, pull_len);
		if (root)
			printf("jansson accepts:   %s\n", b.buf);
		else
			printf("jansson rejects:   %s at column %d (%s)\n",
			       ms_json_pull_strerror(ms_json_pull_error_of_jansson(&je)), je.column,
			       je.text);
		if (rc == 0)
			printf("json_pull accepts: %s\n", a.buf);
		else
			printf("json_pull rejects: %s at column %zu\n",
			       ms_json_pull_strerror(p.error), p.error_column);
	}
	if (pull_doc == jansson_doc) {
		stats.cases++;
		if (rc == 0) {
			stats.accepted++;
		} else {
			stats.rejected++;
			stats.by_why[p.error]++;
		}
	}
	ms_json_pull_release(&p);
	ms_buf_release(&a);
	ms_buf_release(&b);
	return same;
}

static void check(const char *s, size_t len)
{
	if (nul_quirk(s, len)) {
		struct ms_buf out = MS_BUF_INIT;
		struct ms_json_pull p;

		/* jansson may accept; the strict parser must not */
		ms_json_pull_init(&p, &scratch);
		if (render_pull(&out, &p, s, len) == 0) {
			show("accepted a NUL after a token", s, len);
			stats.failures++;
		}
		ms_json_pull_release(&p);
		ms_buf_release(&out);
		stats.quirks++;
		return;
	}
	if (!agree(s, len, s, len, stats.failures > 20))
		stats.failures++;
}

/* ---- the corpus --------------------------------------------------------- */

static const char *const corpus[] = {
	/* records as the readers and writers of this project exchange them */
	"{\"id\":\"RIS-00000001\",\"group\":\"PID-0000042\",\"text\":\"CT Thorax vom 01.02.2020\\n"
	"Patientin: Anna M\xc3\xbcller, geb. 03.04.1950\\n\\nBefund:\\nKeine Pleuraerg\xc3\xbc"
	"sse.\",\"labels\":[\"C34.1\"],\"fields\":{\"patient.family\":[\"M\xc3\xbcller\"],"
	"\"patient.given\":[\"Anna\"],\"patient.birthdate\":[\"03.04.1950\"]}}",
	"{\"id\":7,\"patient\":\"P-2\",\"text\":\"x\",\"encoding\":\"windows-1252\","
	"\"labels\":[{\"code\":\"5700\",\"system\":\"OPS\"},{\"code\":\"C\"}],"
	"\"fields\":{\"case.id\":[\"1\",\"1\"],\"referrer.given\":\"R.\",\"patient.id\":null}}",
	"{\"text\":\"Caf\\u00e9 \\u0065\\u0301 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\b\\f\\n\\r\\t\"}",
	"{\"text\":null}",
	"[1,-2,3.5,-0.0,1e10,1E-10,2.5e+3,true,false,null,\"\",[],{}]",
	"{\"a\":{\"b\":{\"c\":[{\"d\":[[[]]]}]}}}",
	" {\"a\" : [ 1 , 2 ] , \"b\" : { } } ",
	"{\"n\":[9223372036854775807,-9223372036854775808,0,-0,123456789]}",
	"{\"n\":[9223372036854775808]}",
	"{\"n\":[-9223372036854775809]}",
	"{\"r\":[1.7976931348623157e308,1e-400,0e99999,0.000001e305,4.9e-324]}",
	"{\"r\":[1e309]}",
	"{\"r\":[-1.8e308]}",
	"{\"a\":1,\"a\":2}",
	"{\"a\":1,\"\\u0061\":2}",
	"{\"\\u00e4\":1,\"\xc3\xa4\":2}",
	"{\"x\":{\"a\":1,\"b\":2,\"a\":3}}",
	"{\"s\":\"\\u0000\"}",
	"{\"\\u0000\":1}",
	"{\"s\":\"\\ud800\"}",
	"{\"s\":\"\\udc00\"}",
	"{\"s\":\"\\ud800\\u0041\"}",
	"{\"s\":\"\\ud800\\n\"}",
	"{\"s\":\"\\ud800\\q\"}",
	"{\"s\":\"\\uDBFF\\uDFFF\"}",
	"{\"s\":\"\\u12G4\"}",
	"{\"s\":\"tab\there\"}",
	"{\"s\":\"Gr\xc3\xbc\xc3\x9f\x65 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
	"{\"s\":\"bad \xff byte\"}",
	"{\"s\":\"cut \xe2\x82\"}",
	"{\"s\":\"over \xc0\xaf\"}",
	"{\"s\":\"sur \xed\xa0\x80\"}",
	"{\"s\":\"big \xf4\x90\x80\x80\"}",
	"{\"a\":01}",
	"{\"a\":-}",
	"{\"a\":1.}",
	"{\"a\":.5}",
	"{\"a\":1e}",
	"{\"a\":+1}",
	"{\"a\":tru}",
	"{\"a\":truex}",
	"{\"a\":nul}",
	"{\"a\":[1,]}",
	"{\"a\":1,}",
	"{,}",
	"{\"a\"}",
	"{\"a\" 1}",
	"{1:1}",
	"[}",
	"{]",
	"{} x",
	"{}{}",
	"{} \"\\u0000\"",
	"\"top\"",
	"12",
	"true",
	"",
	"   ",
	"[\xc3\xa4]",
	"{\"k\":@}",
};

/* Bytes that matter to JSON, put at every position. */
static const unsigned char flips[] = {
	'"',  '\\', '{',  '}',  '[',  ']',  ':',  ',',  '0',  '1',  '-',  '+',
	'.',  'e',  'E',  'u',  'n',  't',  'f',  'a',  ' ',  '\t', '\n', '\0',
	0x01, 0x1f, 0x7f, 0x80, 0xbf, 0xc3, 0xe2, 0xed, 0xf0, 0xff,
};

static const unsigned char inserts[] = { '\0', 0x01, 0x08, '\n', '\r', 0x1f, '"', '\\' };

static void mutate_one(const char *s, size_t len)
{
	char *t = malloc(len + 2);
	size_t i, k;

	assert_non_null(t);
	check(s, len);
	for (i = 0; i < len; i++) /* truncated at every byte */
		check(s, i);
	for (i = 0; i < len; i++) {
		memcpy(t, s, len);
		for (k = 0; k < sizeof(flips); k++) {
			t[i] = (char)flips[k];
			check(t, len);
		}
	}
	for (i = 0; i <= len; i++) {
		for (k = 0; k < sizeof(inserts); k++) {
			memcpy(t, s, i);
			t[i] = (char)inserts[k];
			memcpy(t + i + 1, s + i, len - i);
			check(t, len + 1);
		}
	}
	free(t);
}

/*
 * Variants with a key duplicated in each object: the object's first key
 * again, raw and with its first letter escaped, right after the '{'.
 */
static void duplicate_keys(const char *s, size_t len)
{
	struct ms_buf t = MS_BUF_INIT;
	bool in_str = false;
	size_t i, k, end;

	for (i = 0; i < len; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = false;
			continue;
		}
		if (s[i] == '"') {
			in_str = true;
			continue;
		}
		if (s[i] != '{' || i + 1 >= len || s[i + 1] != '"')
			continue;
		for (end = i + 2; end < len && s[end] != '"'; end++) {
			if (s[end] == '\\')
				end++;
		}
		if (end >= len)
			continue;
		for (k = 0; k < 2; k++) {
			ms_buf_reset(&t);
			ms_buf_add(&t, s, i + 1);
			if (k == 1 && s[i + 2] >= 'a' && s[i + 2] <= 'z') {
				ms_buf_addf(&t, "\"\\u%04x", (unsigned)s[i + 2]);
				ms_buf_add(&t, s + i + 3, end - i - 2);
			} else {
				ms_buf_add(&t, s + i + 1, end - i);
			}
			ms_buf_adds(&t, ":0,");
			ms_buf_add(&t, s + i + 1, len - i - 1);
			check(t.buf, t.len);
		}
	}
	ms_buf_release(&t);
}

static uint32_t lcg(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

/* Several random changes at once (seeded: the same cases every run). */
static void random_damage(const char *s, size_t len, uint32_t seed)
{
	char t[4096];
	size_t n, i, k;

	if (len == 0 || len >= sizeof(t) - 8)
		return;
	for (n = 0; n < 300; n++) {
		size_t tl = len;

		memcpy(t, s, len);
		for (k = 1 + lcg(&seed) % 3; k > 0 && tl > 0; k--) {
			i = lcg(&seed) % tl;
			switch (lcg(&seed) % 3) {
			case 0:
				t[i] = (char)flips[lcg(&seed) % sizeof(flips)];
				break;
			case 1: /* delete */
				memmove(t + i, t + i + 1, tl - i - 1);
				tl--;
				break;
			default: /* duplicate */
				memmove(t + i + 1, t + i, tl - i);
				tl++;
				break;
			}
		}
		check(t, tl);
	}
}

static void test_corpus(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		mutate_one(corpus[i], strlen(corpus[i]));
		duplicate_keys(corpus[i], strlen(corpus[i]));
		random_damage(corpus[i], strlen(corpus[i]), (uint32_t)i + 1);
	}
}

/* Nesting around the limit, and a large object with keys that collide in length. */
static void test_generated(void **state)
{
	struct ms_buf b = MS_BUF_INIT;
	size_t n, i;

	(void)state;
	for (n = 2046; n <= 2050; n++) {
		ms_buf_reset(&b);
		for (i = 0; i < n; i++)
			ms_buf_adds(&b, i % 2 ? "[" : "{\"k\":");
		ms_buf_adds(&b, "1");
		for (i = n; i > 0; i--)
			ms_buf_adds(&b, (i - 1) % 2 ? "]" : "}");
		check(b.buf, b.len);
		check(b.buf, b.len - n); /* truncated inside */
		for (i = 0; i < n; i++)
			b.buf[i] = '[';
		b.buf[n] = ']';
		check(b.buf, n + 1);
		check(b.buf, n);
	}
	ms_buf_reset(&b);
	ms_buf_adds(&b, "{");
	for (i = 0; i < 300; i++)
		ms_buf_addf(&b, "\"%03zu\":{\"a%zu\":[%zu]},", (i * 7) % 1000, i % 20, i);
	ms_buf_adds(&b, "\"end\":0}");
	check(b.buf, b.len);
	for (i = 0; i < 300; i += 37) { /* a duplicate at the end */
		b.len -= 8;
		ms_buf_addf(&b, "\"%03zu\":0}", (i * 7) % 1000);
		check(b.buf, b.len);
		b.len -= 8;
		ms_buf_adds(&b, "\"end\":0}");
	}
	ms_buf_release(&b);
}

/* The comparison can fail: different documents and different columns are told apart. */
static void test_detects_differences(void **state)
{
	static const char a[] = "{\"a\":\"x\"}", b[] = "{\"a\":\"y\"}", c[] = "{\"a\":[1,]}",
	                  d[] = "{\"a\":[1 ]]}", e[] = "{\"a\":1.5}", f[] = "{\"a\":1.25}";

	(void)state;
	assert_true(agree(a, sizeof(a) - 1, a, sizeof(a) - 1, true));
	assert_false(agree(a, sizeof(a) - 1, b, sizeof(b) - 1, true));
	assert_false(agree(a, sizeof(a) - 1, c, sizeof(c) - 1, true));
	assert_false(agree(c, sizeof(c) - 1, d, sizeof(d) - 1, true));
	assert_false(agree(e, sizeof(e) - 1, f, sizeof(f) - 1, true));
}

static void test_summary(void **state)
{
	size_t i;

	(void)state;
	printf("differential: %zu cases, %zu accepted, %zu rejected, %zu NUL-quirk cases, %zu "
	       "disagreements\n",
	       stats.cases, stats.accepted, stats.rejected, stats.quirks, stats.failures);
	for (i = MS_JSON_PULL_ESYNTAX; i < MS_JSON_PULL_ENOMEM; i++) {
		printf("  %-30s %zu\n", ms_json_pull_strerror((enum ms_json_pull_error)i),
		       stats.by_why[i]);
		/* every reason is exercised, so none can silently differ */
		assert_true(stats.by_why[i] > 0);
	}
	assert_true(stats.accepted > 1000);
	assert_true(stats.rejected > 10000);
	assert_int_equal(stats.failures, 0);
	ms_buf_release(&scratch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detects_differences),
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_generated),
		cmocka_unit_test(test_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
