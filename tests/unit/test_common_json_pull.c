/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for common/json_pull.c: every event kind, escapes and
 * surrogate pairs, every reason for a reject with the column jansson
 * reports, the depth limit, numbers, empty containers, white space,
 * duplicate keys in small and large objects, skipping, and scratch use.
 * The systematic comparison with jansson is test_common_json_pull_diff.c.
 */
#include "ms_test.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/json_pull.h"

static const char *const why_names[] = {
	[MS_JSON_PULL_OK] = "ok",        [MS_JSON_PULL_ESYNTAX] = "syntax",
	[MS_JSON_PULL_ETRUNC] = "trunc", [MS_JSON_PULL_ETRAILING] = "trailing",
	[MS_JSON_PULL_EDEPTH] = "depth", [MS_JSON_PULL_ENUL] = "nul",
	[MS_JSON_PULL_EDUPKEY] = "dup",  [MS_JSON_PULL_ERANGE] = "range",
	[MS_JSON_PULL_EUTF8] = "utf8",   [MS_JSON_PULL_ENOMEM] = "nomem",
};

static void put_text(struct ms_buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == '\\' || c >= 0x7f)
			ms_buf_addf(out, "\\x%02x", c);
		else
			ms_buf_addch(out, c);
	}
}

/*
 * The events of json[0..len) as text: "{ K(a) S(x) I(5) R(1.5) T F N [ ] } $"
 * ($ = end), or the events up to a failure and "!<why>@<column>".
 */
static const char *render_n(const char *json, size_t len)
{
	static struct ms_buf out = MS_BUF_INIT;
	struct ms_buf scratch = MS_BUF_INIT;
	struct ms_json_pull p;
	int ev;

	ms_buf_reset(&out);
	ms_json_pull_init(&p, &scratch);
	ms_json_pull_reset(&p, json, len);
	do {
		ev = ms_json_pull_next(&p);
		if (out.len)
			ms_buf_addch(&out, ' ');
		switch (ev) {
		case MS_JSON_EV_END:
			ms_buf_addch(&out, '$');
			break;
		case MS_JSON_EV_OBJ_BEGIN:
			ms_buf_addch(&out, '{');
			break;
		case MS_JSON_EV_OBJ_END:
			ms_buf_addch(&out, '}');
			break;
		case MS_JSON_EV_ARR_BEGIN:
			ms_buf_addch(&out, '[');
			break;
		case MS_JSON_EV_ARR_END:
			ms_buf_addch(&out, ']');
			break;
		case MS_JSON_EV_KEY:
		case MS_JSON_EV_STRING:
			ms_buf_adds(&out, ev == MS_JSON_EV_KEY ? "K(" : "S(");
			put_text(&out, p.str, p.len);
			ms_buf_addch(&out, ')');
			break;
		case MS_JSON_EV_INT:
			ms_buf_addf(&out, "I(%lld)", p.integer);
			break;
		case MS_JSON_EV_REAL:
			ms_buf_adds(&out, "R(");
			put_text(&out, p.str, p.len);
			ms_buf_addch(&out, ')');
			break;
		case MS_JSON_EV_TRUE:
			ms_buf_addch(&out, 'T');
			break;
		case MS_JSON_EV_FALSE:
			ms_buf_addch(&out, 'F');
			break;
		case MS_JSON_EV_NULL:
			ms_buf_addch(&out, 'N');
			break;
		default:
			ms_buf_addf(&out, "!%s@%zu", why_names[p.error], p.error_column);
			break;
		}
	} while (ev > 0);
	/* failures and the end are sticky */
	assert_int_equal(ms_json_pull_next(&p), ev);
	ms_json_pull_release(&p);
	ms_buf_release(&scratch);
	return out.buf;
}

static const char *render(const char *json)
{
	return render_n(json, strlen(json));
}

/* The failure of json: "<why>@<column>". */
static const char *why(const char *json, size_t len)
{
	const char *r = render_n(json, len), *bang = strrchr(r, '!');

	return bang ? bang + 1 : r;
}

#define WHY(lit) why(lit, sizeof(lit) - 1)

static void test_events(void **state)
{
	(void)state;
	assert_string_equal(render("{\"a\":\"x\",\"b\":[1,-2.5e3,true,false,null],\"c\":{}}"),
	                    "{ K(a) S(x) K(b) [ I(1) R(-2.5e3) T F N ] K(c) { } } $");
	assert_string_equal(render("[]"), "[ ] $");
	assert_string_equal(render("{}"), "{ } $");
	assert_string_equal(render("[[],{},[[]]]"), "[ [ ] { } [ [ ] ] ] $");
	assert_string_equal(render(" \t\r\n{ \"k\" : [ 1 , 2 ] }\r\n "),
	                    "{ K(k) [ I(1) I(2) ] } $");
	assert_string_equal(render("[\"\"]"), "[ S() ] $");
	assert_string_equal(render("{\"\":0}"), "{ K() I(0) } $");
}

static void test_escapes(void **state)
{
	(void)state;
	assert_string_equal(render("[\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"]"),
	                    "[ S(a\"b\\x5cc/d\\x08e\\x0cf\\x0ag\\x0dh\\x09i) ] $");
	assert_string_equal(render("[\"\\u00e4\\u00C4\\u20ac\"]"),
	                    "[ S(\\xc3\\xa4\\xc3\\x84\\xe2\\x82\\xac) ] $");
	/* a surrogate pair is one code point (U+1F600) */
	assert_string_equal(render("[\"x\\ud83d\\ude00y\"]"), "[ S(x\\xf0\\x9f\\x98\\x80y) ] $");
	assert_string_equal(render("{\"\\u006b\":1}"), "{ K(k) I(1) } $");
	/* raw UTF-8 passes through */
	assert_string_equal(render("[\"Gr\xc3\xbc\xc3\x9f\x65\"]"),
	                    "[ S(Gr\\xc3\\xbc\\xc3\\x9fe) ] $");
}

static void test_surrogate_rejects(void **state)
{
	(void)state;
	/* judged after the closing quote, as jansson decodes */
	assert_string_equal(WHY("[\"\\ud83d\"]"), "syntax@9");
	assert_string_equal(WHY("[\"\\ud83dx\"]"), "syntax@10");
	assert_string_equal(WHY("[\"\\ude00\"]"), "syntax@9");
	assert_string_equal(WHY("[\"\\ud83d\\u0041\"]"), "syntax@15");
	assert_string_equal(WHY("[\"\\ud83d\\n\"]"), "syntax@11");
	/* a syntax error later in the string wins */
	assert_string_equal(WHY("[\"\\ud83d\\q\"]"), "syntax@10");
	assert_string_equal(WHY("[\"\\ud83d"), "trunc@8");
}

static void test_string_rejects(void **state)
{
	(void)state;
	assert_string_equal(WHY("[\"a\x01\"]"), "syntax@3");
	assert_string_equal(WHY("[\"a\x1f\"]"), "syntax@3");
	assert_string_equal(WHY("[\"a\tb\"]"), "syntax@3");
	assert_string_equal(WHY("[\"a\0\"]"), "syntax@3");
	assert_string_equal(WHY("[\"\\x\"]"), "syntax@4");
	assert_string_equal(WHY("[\"\\u12g4\"]"), "syntax@7");
	assert_string_equal(WHY("[\"\\u12"), "syntax@6");
	assert_string_equal(WHY("[\"\\"), "syntax@3");
	assert_string_equal(WHY("[\"abc"), "trunc@5");
	assert_string_equal(WHY("[\"\\u0000\"]"), "nul@9");
	assert_string_equal(WHY("{\"a\\u0000\":1}"), "nul@10");
	/* columns count characters, not bytes */
	assert_string_equal(WHY("[\"\xc3\xa4\xc3\xb6\x01\"]"), "syntax@4");
}

static void test_utf8_rejects(void **state)
{
	(void)state;
	assert_string_equal(WHY("[\"a\xff\"]"), "utf8@3");
	assert_string_equal(WHY("[\"\xc3\xa4\xc3(\"]"), "utf8@3");
	assert_string_equal(WHY("[\"\xed\xa0\x80\"]"), "utf8@2");     /* surrogate */
	assert_string_equal(WHY("[\"\xc0\xaf\"]"), "utf8@2");         /* overlong */
	assert_string_equal(WHY("[\"\xf4\x90\x80\x80\"]"), "utf8@2"); /* > U+10FFFF */
	assert_string_equal(WHY("[1\xff]"), "utf8@2");
	assert_string_equal(WHY("[true\xff]"), "utf8@5");
	assert_string_equal(WHY("{} \xff"), "utf8@3");
	/* an earlier error wins, a later one does not */
	assert_string_equal(WHY("[x \xff]"), "syntax@2");
	assert_string_equal(WHY("[\"\\ud83d\" \xff"), "syntax@9");
	/* a valid non-ASCII character where a token is due */
	assert_string_equal(WHY("[\xc3\xa4]"), "syntax@2");
}

static void test_structure_rejects(void **state)
{
	(void)state;
	assert_string_equal(WHY("\"a\""), "syntax@3");
	assert_string_equal(WHY("1"), "syntax@1");
	assert_string_equal(WHY("nul"), "syntax@3");
	assert_string_equal(WHY(""), "trunc@0");
	assert_string_equal(WHY("{"), "trunc@1");
	assert_string_equal(WHY("["), "trunc@1");
	assert_string_equal(WHY("[1,"), "trunc@3");
	assert_string_equal(WHY("{\"a\""), "trunc@4");
	assert_string_equal(WHY("{\"a\":"), "trunc@5");
	assert_string_equal(WHY("{\"a\":1"), "trunc@6");
	assert_string_equal(WHY("[1,]"), "syntax@4");
	assert_string_equal(WHY("{\"a\":1,}"), "syntax@8");
	assert_string_equal(WHY("{1:2}"), "syntax@2");
	assert_string_equal(WHY("{\"a\" 1}"), "syntax@6");
	assert_string_equal(WHY("[1 2]"), "syntax@4");
	assert_string_equal(WHY("[}"), "syntax@2");
	assert_string_equal(WHY("{\"a\":]"), "syntax@6");
	assert_string_equal(WHY("[tru]"), "syntax@4");
	assert_string_equal(WHY("[truex]"), "syntax@6");
	assert_string_equal(WHY("[@]"), "syntax@2");
	/* a NUL byte where a token is due has no text: jansson says truncated */
	assert_string_equal(WHY("[\0]"), "trunc@2");
	assert_string_equal(WHY("{} x"), "trailing@4");
	assert_string_equal(WHY("{}{}"), "trailing@3");
	assert_string_equal(WHY("{} \"\\u0000\""), "trailing@11");
	assert_string_equal(WHY("{} \0"), "trailing@4");
	/* lexer errors in the trailing token win */
	assert_string_equal(WHY("{} 1e999"), "range@8");
	assert_string_equal(WHY("{} \"\\q\""), "syntax@6");
	/* columns restart after a newline, as jansson counts lines */
	assert_string_equal(WHY("[1,\n x]"), "syntax@2");
	assert_string_equal(WHY("[\"\\\n\"]"), "syntax@0");
	/* the deliberate difference: jansson skips this NUL */
	assert_string_equal(WHY("[1\0]"), "trunc@3");
}

static void test_numbers(void **state)
{
	(void)state;
	assert_string_equal(render("[0,-0,7,-7,10,0.5,-0.0,1e5,1E+5,1e-5,2.5E-3]"),
	                    "[ I(0) I(0) I(7) I(-7) I(10) R(0.5) R(-0.0) R(1e5) R(1E+5) R(1e-5) "
	                    "R(2.5E-3) ] $");
	assert_string_equal(render("[9223372036854775807,-9223372036854775808]"),
	                    "[ I(9223372036854775807) I(-9223372036854775808) ] $");
	assert_string_equal(WHY("[9223372036854775808]"), "range@20");
	assert_string_equal(WHY("[-9223372036854775809]"), "range@21");
	assert_string_equal(WHY("[123456789012345678901234567890]"), "range@31");
	assert_string_equal(WHY("[1e309]"), "range@6");
	assert_string_equal(WHY("[-1.8e308]"), "range@9");
	assert_string_equal(render("[1.7e308,1e-400,0e99999,0.000001e305]"),
	                    "[ R(1.7e308) R(1e-400) R(0e99999) R(0.000001e305) ] $");
	assert_string_equal(WHY("[01]"), "syntax@2");
	assert_string_equal(WHY("[-01]"), "syntax@3");
	assert_string_equal(WHY("[-]"), "syntax@2");
	assert_string_equal(WHY("[-a]"), "syntax@2");
	assert_string_equal(WHY("[1.]"), "syntax@3");
	assert_string_equal(WHY("[1.e5]"), "syntax@3");
	assert_string_equal(WHY("[.5]"), "syntax@2");
	assert_string_equal(WHY("[1e]"), "syntax@3");
	assert_string_equal(WHY("[1e+]"), "syntax@4");
	assert_string_equal(WHY("[+1]"), "syntax@2");
	assert_string_equal(WHY("[1.5.3]"), "syntax@5");
	assert_string_equal(WHY("[-"), "syntax@2");
	assert_string_equal(WHY("[0x10]"), "syntax@3");
	/* a long real near the limit goes through strtod on the heap */
	assert_string_equal(
	        WHY("[1797693134862315708145274237317043567981000000000000000000000000000000e240]"),
	        "range@75");
}

/* [[[...]]] with n levels, or with a 1 in the innermost when one is set. */
static char *nest(size_t n, bool one)
{
	char *s = ms_malloc(2 * n + 2);
	size_t i, k = 0;

	assert_non_null(s);
	for (i = 0; i < n; i++)
		s[k++] = '[';
	if (one)
		s[k++] = '1';
	for (i = 0; i < n; i++)
		s[k++] = ']';
	s[k] = '\0';
	return s;
}

static void test_depth(void **state)
{
	char *s;

	(void)state;
	s = nest(MS_JSON_PULL_MAX_DEPTH, false);
	assert_non_null(strstr(render(s), "] $"));
	ms_free(s);
	s = nest(MS_JSON_PULL_MAX_DEPTH - 1, true);
	assert_non_null(strstr(render(s), "I(1)"));
	ms_free(s);
	/* values count: a scalar inside 2048 arrays is one too deep */
	s = nest(MS_JSON_PULL_MAX_DEPTH, true);
	assert_string_equal(why(s, strlen(s)), "depth@2049");
	ms_free(s);
	s = nest(MS_JSON_PULL_MAX_DEPTH + 1, false);
	assert_string_equal(why(s, strlen(s)), "depth@2049");
	ms_free(s);
	/* an array that ends where its element is due is not checked */
	s = nest(MS_JSON_PULL_MAX_DEPTH, false);
	s[MS_JSON_PULL_MAX_DEPTH] = '\0';
	assert_string_equal(why(s, strlen(s)), "trunc@2048");
	ms_free(s);
}

static void test_duplicates(void **state)
{
	struct ms_buf b = MS_BUF_INIT;
	char want[32];
	int i;

	(void)state;
	assert_string_equal(WHY("{\"a\":1,\"a\":2}"), "dup@10");
	assert_string_equal(WHY("{\"a\":1,\"\\u0061\":2}"), "dup@15");
	assert_string_equal(WHY("{\"x\":{\"a\":1,\"a\":2}}"), "dup@15");
	assert_string_equal(WHY("[{\"a\":1},{\"a\":1,\"a\":1}]"), "dup@19");
	/* same key in sibling and nested objects is fine */
	assert_string_equal(render("{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":2}}"),
	                    "{ K(a) { K(a) { K(a) I(1) } } K(b) { K(a) I(2) } } $");
	assert_string_equal(render("{\"ab\":1,\"a\":2,\"b\":3}"),
	                    "{ K(ab) I(1) K(a) I(2) K(b) I(3) } $");
	/* large objects use the hash index, also after a nested one closes */
	ms_buf_adds(&b, "{");
	for (i = 0; i < 200; i++) {
		ms_buf_addf(&b, "\"k%d\":%s,", i, i == 50 ? "{\"k1\":1,\"k2\":2}" : "0");
		if (i == 100) {
			int j;

			ms_buf_adds(&b, "\"big\":{");
			for (j = 0; j < 40; j++)
				ms_buf_addf(&b, "\"k%d\":%d,", j, j);
			ms_buf_adds(&b, "\"end\":1},");
		}
	}
	ms_buf_adds(&b, "\"\\u006b7\":1}"); /* "k7" again, escaped */
	snprintf(want, sizeof(want), "dup@%zu", b.len - 3);
	assert_string_equal(why(b.buf, b.len), want);
	b.buf[b.len - 5] = '8'; /* "k8" again */
	assert_string_equal(why(b.buf, b.len), want);
	b.buf[b.len - 5] = 'z'; /* "kz": new */
	assert_non_null(strstr(render_n(b.buf, b.len), "K(kz) I(1) } $"));
	ms_buf_release(&b);
}

static void test_skip(void **state)
{
	static const char doc[] =
	        "{\"a\":{\"x\":[1,{\"y\":\"\\u00e4\"}]},\"b\":[\"s\",[2]],\"c\":3,"
	        "\"d\":\"\\n\"}";
	struct ms_buf scratch = MS_BUF_INIT;
	struct ms_json_pull p;

	(void)state;
	ms_json_pull_init(&p, &scratch);
	ms_json_pull_reset(&p, doc, sizeof(doc) - 1);
	assert_int_equal(ms_json_pull_next(&p), MS_JSON_EV_OBJ_BEGIN);
	assert_int_equal(ms_json_pull_next(&p), MS_JSON_EV_KEY);
	assert_int_equal(ms_json_pull_skip_value(&p), MS_JSON_EV_OBJ_BEGIN);
	assert_int_equal(p.depth, 1);
	assert_int_equal(scratch.len, 0); /* skipped strings are not decoded */
	assert_int_equal(ms_json_pull_next(&p), MS_JSON_EV_KEY);
	assert_int_equal(ms_json_pull_next(&p), MS_JSON_EV_ARR_BEGIN);
	assert_int_equal(ms_json_pull_skip_container(&p), MS_JSON_EV_ARR_END);
	assert_int_equal(ms_json_pull_next(&p), MS_JSON_EV_KEY);
	assert_int_equal(ms_json_pull_skip_value(&p), MS_JSON_EV_INT);
	assert_int_equal(ms_json_pull_next(&p), MS_JSON_EV_KEY);
	assert_int_equal(ms_json_pull_next(&p), MS_JSON_EV_STRING);
	assert_memory_equal(p.str, "\n", 1);
	assert_ptr_equal(p.str, scratch.buf);
	assert_int_equal(ms_json_pull_next(&p), MS_JSON_EV_OBJ_END);
	assert_int_equal(ms_json_pull_next(&p), MS_JSON_EV_END);
	assert_int_equal(ms_json_pull_next(&p), MS_JSON_EV_END);

	/* skipping still checks everything: duplicates, NUL, syntax */
	ms_json_pull_reset(&p, "{\"a\":[{\"k\":1,\"k\":2}]}", 21);
	assert_int_equal(ms_json_pull_next(&p), MS_JSON_EV_OBJ_BEGIN);
	assert_int_equal(ms_json_pull_next(&p), MS_JSON_EV_KEY);
	assert_int_equal(ms_json_pull_skip_value(&p), MS_EINVAL);
	assert_int_equal(p.error, MS_JSON_PULL_EDUPKEY);
	assert_int_equal(p.error_column, 16);
	ms_json_pull_reset(&p, "{\"a\":[\"\\u0000\"]}", 16);
	assert_int_equal(ms_json_pull_next(&p), MS_JSON_EV_OBJ_BEGIN);
	assert_int_equal(ms_json_pull_next(&p), MS_JSON_EV_KEY);
	assert_int_equal(ms_json_pull_skip_value(&p), MS_EINVAL);
	assert_int_equal(p.error, MS_JSON_PULL_ENUL);
	ms_json_pull_reset(&p, "[\"\xff\"]", 5);
	assert_int_equal(ms_json_pull_skip_value(&p), MS_EUNICODE);
	assert_int_equal(p.error, MS_JSON_PULL_EUTF8);
	assert_int_equal(p.error_column, 2);
	ms_json_pull_release(&p);
	ms_buf_release(&scratch);
}

/* With len bytes reserved, every string of the document stays valid to the end. */
static void test_scratch_stable(void **state)
{
	static const char doc[] = "[\"a\\nb\",\"plain\",\"c\\td\",{\"k\\u00e4\":\"\\\"\"}]";
	struct ms_buf scratch = MS_BUF_INIT;
	struct ms_json_pull p;
	const char *s[8];
	size_t len[8], n = 0;
	int ev;

	(void)state;
	ms_json_pull_init(&p, &scratch);
	assert_int_equal(ms_buf_grow(&scratch, sizeof(doc) - 1), 0);
	ms_json_pull_reset(&p, doc, sizeof(doc) - 1);
	while ((ev = ms_json_pull_next(&p)) > 0) {
		if (ev == MS_JSON_EV_STRING || ev == MS_JSON_EV_KEY) {
			s[n] = p.str;
			len[n++] = p.len;
		}
	}
	assert_int_equal(ev, MS_JSON_EV_END);
	assert_int_equal(n, 5);
	assert_int_equal(len[0], 3);
	assert_memory_equal(s[0], "a\nb", 3);
	assert_memory_equal(s[1], "plain", 5);
	assert_memory_equal(s[2], "c\td", 3);
	assert_memory_equal(s[3], "k\xc3\xa4", 3);
	assert_memory_equal(s[4], "\"", 1);
	ms_json_pull_release(&p);
	ms_buf_release(&scratch);
}

/* Every allocation the parser makes may fail: it reports ENOMEM, no leak. */
static void test_alloc_failures(void **state)
{
	struct ms_buf b = MS_BUF_INIT, scratch = MS_BUF_INIT;
	struct ms_json_pull p;
	long n;
	int i, ev;
	bool done = false;

	(void)state;
	ms_buf_adds(&b, "{");
	for (i = 0; i < 40; i++)
		ms_buf_addf(&b, "\"k\\u00e4%d\":{\"x\":\"\\n\"},", i);
	ms_buf_adds(&b, "\"z\":0}");
	for (n = 0; !done; n++) {
		ms_json_pull_init(&p, &scratch);
		ms_json_pull_reset(&p, b.buf, b.len);
		ms_alloc_fail_after(n);
		while ((ev = ms_json_pull_next(&p)) > 0)
			;
		ms_alloc_fail_after(-1);
		if (ev == MS_JSON_EV_END)
			done = true;
		else
			assert_int_equal(ev, MS_ENOMEM);
		ms_json_pull_release(&p);
		ms_buf_release(&scratch);
	}
	assert_true(n > 3);
	ms_buf_release(&b);
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(ms_json_pull_strerror(MS_JSON_PULL_ESYNTAX), "malformed JSON");
	assert_string_equal(ms_json_pull_strerror(MS_JSON_PULL_ETRUNC), "truncated JSON");
	assert_string_equal(ms_json_pull_strerror(MS_JSON_PULL_ETRAILING),
	                    "data after the JSON value");
	assert_string_equal(ms_json_pull_strerror(MS_JSON_PULL_EDEPTH), "JSON nested too deeply");
	assert_string_equal(ms_json_pull_strerror(MS_JSON_PULL_ENUL),
	                    "NUL character in JSON string");
	assert_string_equal(ms_json_pull_strerror(MS_JSON_PULL_EDUPKEY), "duplicate JSON key");
	assert_string_equal(ms_json_pull_strerror(MS_JSON_PULL_ERANGE), "JSON number out of range");
	assert_string_equal(ms_json_pull_strerror(MS_JSON_PULL_EUTF8), "invalid UTF-8");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_surrogate_rejects),
		cmocka_unit_test(test_string_rejects),
		cmocka_unit_test(test_utf8_rejects),
		cmocka_unit_test(test_structure_rejects),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_scratch_stable),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
