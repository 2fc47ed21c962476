/* SPDX-License-Identifier: MIT */
/*
 * Record formats: the exact bytes of one record per format (escaping of
 * quotes, line breaks, umlauts, control characters), multi-turn shapes,
 * the no-meta flag, and the checks that reject malformed examples.
 */
#include "ms_test.h"

#include <jansson.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "output/output.h"
#include "output/output_int.h"

static const char *const codes[] = { "A00.0" };

/* user has a quote and a line break, assistant umlauts, a tab, U+0001, a backslash */
static struct output_example sample(void)
{
	static const char user[] = "Was bedeutet \"A00.0\"?\nKurz, bitte.";
	static const char assistant[] = "Cholera – Übelkeit\t\x01"
	                                "Ende\\";
	static const char sys[] = "Du bist ein Kodierassistent.";
	struct output_example ex = { 0 };

	ex.id = "icd10gm-2025-A00.0";
	ex.system_prompt = sys;
	ex.system_prompt_len = strlen(sys);
	ex.user = user;
	ex.user_len = strlen(user);
	ex.assistant = assistant;
	ex.assistant_len = strlen(assistant);
	ex.task = "code-to-title";
	ex.catalog_system = "icd10gm";
	ex.catalog_version = "2025";
	ex.codes = codes;
	ex.n_codes = 1;
	return ex;
}

#define SYS_JSON "\"Du bist ein Kodierassistent.\""
#define U_JSON   "\"Was bedeutet \\\"A00.0\\\"?\\nKurz, bitte.\""
#define A_JSON   "\"Cholera – Übelkeit\\t\\u0001Ende\\\\\""
#define META                                                                                         \
	"\"meta\":{\"id\":\"icd10gm-2025-A00.0\",\"task\":\"code-to-title\",\"system\":\"icd10gm\"," \
	"\"version\":\"2025\",\"codes\":[\"A00.0\"],\"source\":\"\"}"

static void expect_record(const struct output_example *ex, enum output_format fmt, unsigned flags,
                          const char *want)
{
	struct ms_buf b = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(output_record_append(&b, ex, fmt, flags, &err), 0);
	assert_string_equal(b.buf, want);
	ms_buf_release(&b);
}

static void test_messages(void **state)
{
	struct output_example ex = sample();

	(void)state;
	expect_record(&ex, OUTPUT_FORMAT_MESSAGES, 0,
	              "{\"messages\":[{\"role\":\"system\",\"content\":" SYS_JSON
	              "},{\"role\":\"user\",\"content\":" U_JSON
	              "},{\"role\":\"assistant\",\"content\":" A_JSON "}]," META "}\n");
	/* no system prompt: no system message; no meta flag: no meta */
	ex.system_prompt = NULL;
	expect_record(&ex, OUTPUT_FORMAT_MESSAGES, OUTPUT_RECORD_NO_META,
	              "{\"messages\":[{\"role\":\"user\",\"content\":" U_JSON
	              "},{\"role\":\"assistant\",\"content\":" A_JSON "}]}\n");
}

static void test_prompt_completion(void **state)
{
	struct output_example ex = sample();

	(void)state;
	expect_record(&ex, OUTPUT_FORMAT_PROMPT_COMPLETION, 0,
	              "{\"prompt\":[{\"role\":\"system\",\"content\":" SYS_JSON
	              "},{\"role\":\"user\",\"content\":" U_JSON
	              "}],\"completion\":[{\"role\":\"assistant\",\"content\":" A_JSON "}]," META
	              "}\n");
}

static void test_alpaca(void **state)
{
	struct output_example ex = sample();

	(void)state;
	expect_record(&ex, OUTPUT_FORMAT_ALPACA, 0,
	              "{\"instruction\":" U_JSON ",\"input\":\"\",\"output\":" A_JSON
	              ",\"system\":" SYS_JSON "," META "}\n");
	/* system stays a string when absent */
	ex.system_prompt = "";
	ex.system_prompt_len = 0;
	expect_record(&ex, OUTPUT_FORMAT_ALPACA, 0,
	              "{\"instruction\":" U_JSON ",\"input\":\"\",\"output\":" A_JSON
	              ",\"system\":\"\"," META "}\n");
}

static void test_sharegpt(void **state)
{
	struct output_example ex = sample();

	(void)state;
	expect_record(&ex, OUTPUT_FORMAT_SHAREGPT, 0,
	              "{\"conversations\":[{\"from\":\"system\",\"value\":" SYS_JSON
	              "},{\"from\":\"human\",\"value\":" U_JSON
	              "},{\"from\":\"gpt\",\"value\":" A_JSON "}]," META "}\n");
}

static void test_meta_defaults(void **state)
{
	struct output_example ex = { 0 };
	static const char *const two[] = { "C50.9", "Z85.3" };

	(void)state;
	ex.id = "r1";
	ex.user = "u";
	ex.user_len = 1;
	ex.assistant = "a";
	ex.assistant_len = 1;
	expect_record(
	        &ex, OUTPUT_FORMAT_MESSAGES, 0,
	        "{\"messages\":[{\"role\":\"user\",\"content\":\"u\"},{\"role\":\"assistant\","
	        "\"content\":\"a\"}],\"meta\":{\"id\":\"r1\",\"task\":\"\",\"system\":\"\","
	        "\"version\":\"\",\"codes\":[],\"source\":\"\"}}\n");
	ex.codes = two;
	ex.n_codes = 2;
	ex.source = "doc-7";
	expect_record(&ex, OUTPUT_FORMAT_SHAREGPT, 0,
	              "{\"conversations\":[{\"from\":\"human\",\"value\":\"u\"},{\"from\":\"gpt\","
	              "\"value\":\"a\"}],\"meta\":{\"id\":\"r1\",\"task\":\"\",\"system\":\"\","
	              "\"version\":\"\",\"codes\":[\"C50.9\",\"Z85.3\"],\"source\":\"doc-7\"}}\n");
}

static void test_control_chars(void **state)
{
	struct output_example ex = { 0 };
	char user[32];
	struct ms_buf b = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;
	int i;

	(void)state;
	for (i = 0; i < 32; i++)
		user[i] = (char)i; /* includes NUL: text is (pointer, length) */
	ex.id = "ctl";
	ex.user = user;
	ex.user_len = sizeof(user);
	ex.assistant = "\x7f/";
	ex.assistant_len = 2;
	assert_int_equal(
	        output_record_append(&b, &ex, OUTPUT_FORMAT_ALPACA, OUTPUT_RECORD_NO_META, &err),
	        0);
	assert_string_equal(b.buf,
	                    "{\"instruction\":\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005"
	                    "\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011"
	                    "\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a"
	                    "\\u001b\\u001c\\u001d\\u001e\\u001f\",\"input\":\"\",\"output\":"
	                    "\"\x7f/\",\"system\":\"\"}\n");
	ms_buf_release(&b);
}

/* Every text survives a round trip through a JSON parser unchanged. */
static void test_roundtrip(void **state)
{
	struct output_example ex = sample();
	struct ms_buf b = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;
	json_error_t jerr;
	json_t *root, *msgs;

	(void)state;
	assert_int_equal(output_record_append(&b, &ex, OUTPUT_FORMAT_MESSAGES, 0, &err), 0);
	assert_true(b.len > 0 && b.buf[b.len - 1] == '\n');
	assert_null(memchr(b.buf, '\n', b.len - 1));
	root = json_loadb(b.buf, b.len, 0, &jerr);
	assert_non_null(root);
	msgs = json_object_get(root, "messages");
	assert_int_equal(json_array_size(msgs), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 1), "content")),
	                    ex.user);
	assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 2), "content")),
	                    ex.assistant);
	json_decref(root);
	ms_buf_release(&b);
}

static void test_multi_turn(void **state)
{
	static const struct output_turn turns[] = {
		{ OUTPUT_ROLE_USER, "q1", 2 },
		{ OUTPUT_ROLE_ASSISTANT, "a1", 2 },
		{ OUTPUT_ROLE_USER, "q2", 2 },
		{ OUTPUT_ROLE_ASSISTANT, "a2", 2 },
	};
	struct output_example ex = { 0 };
	struct ms_buf b = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	ex.id = "m";
	ex.turns = turns;
	ex.n_turns = 4;
	ex.user = "ignored";
	ex.user_len = 7;
	expect_record(
	        &ex, OUTPUT_FORMAT_PROMPT_COMPLETION, OUTPUT_RECORD_NO_META,
	        "{\"prompt\":[{\"role\":\"user\",\"content\":\"q1\"},{\"role\":\"assistant\","
	        "\"content\":\"a1\"},{\"role\":\"user\",\"content\":\"q2\"}],\"completion\":[{"
	        "\"role\":\"assistant\",\"content\":\"a2\"}]}\n");
	expect_record(&ex, OUTPUT_FORMAT_SHAREGPT, OUTPUT_RECORD_NO_META,
	              "{\"conversations\":[{\"from\":\"human\",\"value\":\"q1\"},{\"from\":\"gpt\","
	              "\"value\":\"a1\"},{\"from\":\"human\",\"value\":\"q2\"},{\"from\":\"gpt\","
	              "\"value\":\"a2\"}]}\n");
	/* alpaca holds one turn */
	assert_int_equal(output_record_append(&b, &ex, OUTPUT_FORMAT_ALPACA, 0, &err), MS_EINVAL);
	assert_non_null(strstr(err.msg, "alpaca"));
	ms_buf_release(&b);
}

static void expect_reject(const struct output_example *ex, enum output_format fmt, int code)
{
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(output_example_check(ex, fmt, &err), code);
	assert_int_equal(err.code, code);
	assert_true(err.msg[0] != '\0');
}

static void test_rejects(void **state)
{
	static const struct output_turn odd[] = { { OUTPUT_ROLE_USER, "q", 1 } };
	static const struct output_turn swapped[] = { { OUTPUT_ROLE_ASSISTANT, "a", 1 },
		                                      { OUTPUT_ROLE_USER, "q", 1 } };
	struct output_example ex = sample();
	struct output_example bad;

	(void)state;
	assert_int_equal(output_example_check(&ex, OUTPUT_FORMAT_MESSAGES, NULL), 0);
	bad = ex;
	bad.id = NULL;
	expect_reject(&bad, OUTPUT_FORMAT_MESSAGES, MS_EINVAL);
	bad = ex;
	bad.id = "";
	expect_reject(&bad, OUTPUT_FORMAT_MESSAGES, MS_EINVAL);
	bad = ex;
	bad.user_len = 0;
	expect_reject(&bad, OUTPUT_FORMAT_MESSAGES, MS_EINVAL);
	bad = ex;
	bad.assistant = NULL;
	expect_reject(&bad, OUTPUT_FORMAT_SHAREGPT, MS_EINVAL);
	bad = ex;
	bad.turns = odd;
	bad.n_turns = 1;
	expect_reject(&bad, OUTPUT_FORMAT_MESSAGES, MS_EINVAL);
	bad = ex;
	bad.turns = swapped;
	bad.n_turns = 2;
	expect_reject(&bad, OUTPUT_FORMAT_MESSAGES, MS_EINVAL);
	bad = ex;
	bad.user = "ok \xc3\x28";
	bad.user_len = 5;
	expect_reject(&bad, OUTPUT_FORMAT_MESSAGES, MS_EUNICODE);
	bad = ex;
	bad.task = "\xff";
	expect_reject(&bad, OUTPUT_FORMAT_MESSAGES, MS_EUNICODE);
	bad = ex;
	bad.split = (enum output_split)7;
	expect_reject(&bad, OUTPUT_FORMAT_MESSAGES, MS_EINVAL);
	bad = ex;
	bad.n_codes = 2; /* array has one entry: check against a NULL-holding one */
	bad.codes = (const char *const[]){ "A00.0", NULL };
	expect_reject(&bad, OUTPUT_FORMAT_MESSAGES, MS_EINVAL);
	expect_reject(&ex, (enum output_format)9, MS_EUSAGE);
}

static void test_cap(void **state)
{
	struct output_example ex = sample();
	struct ms_buf b;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	ms_buf_init(&b, 40);
	assert_int_equal(output_record_append(&b, &ex, OUTPUT_FORMAT_MESSAGES, 0, &err),
	                 MS_ETOOBIG);
	assert_non_null(strstr(err.msg, "icd10gm-2025-A00.0"));
	ms_buf_release(&b);
}

static void test_names(void **state)
{
	enum output_format f;
	struct ms_error err = MS_ERROR_INIT;
	int i;

	(void)state;
	for (i = OUTPUT_FORMAT_MESSAGES; i <= OUTPUT_FORMAT_SHAREGPT; i++) {
		assert_int_equal(
		        output_format_parse(&f, output_format_name((enum output_format)i), NULL),
		        0);
		assert_int_equal(f, i);
	}
	assert_string_equal(output_format_name(OUTPUT_FORMAT_PROMPT_COMPLETION),
	                    "prompt-completion");
	assert_null(output_format_name((enum output_format)4));
	assert_int_equal(output_format_parse(&f, "chatml", &err), MS_EINVAL);
	assert_non_null(strstr(err.msg, "'chatml'"));
}

static void test_alloc_failure(void **state)
{
	struct output_example ex = sample();
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf b = MS_BUF_INIT;
	int rc;

	(void)state;
	ms_alloc_fail_after(0);
	rc = output_record_append(&b, &ex, OUTPUT_FORMAT_MESSAGES, 0, &err);
	ms_alloc_fail_after(-1);
	assert_int_equal(rc, MS_ENOMEM);
	ms_buf_release(&b);
}

/* The word-wise character count agrees with a byte-wise one. */
static void test_utf8_chars(void **state)
{
	static const char *const texts[] = {
		"",          "a",
		"Größe",     "Übelkeit – 8 Bytes?",
		"€€€€€€€€€", "𝄞 and 🙂 more text here",
	};
	unsigned char bytes[64];
	uint32_t x = 12345;
	size_t i, len, off;

	(void)state;
	assert_int_equal(output_utf8_chars(texts[0], 0), 0);
	assert_int_equal(output_utf8_chars(texts[2], strlen(texts[2])), 5);
	assert_int_equal(output_utf8_chars(texts[3], strlen(texts[3])), 19);
	assert_int_equal(output_utf8_chars(texts[4], strlen(texts[4])), 9);
	assert_int_equal(output_utf8_chars(texts[5], strlen(texts[5])), 22);
	/* any bytes, any length and alignment: count the non-continuation bytes */
	for (i = 0; i < 2000; i++) {
		uint64_t want = 0;
		size_t k;

		for (k = 0; k < sizeof(bytes); k++) {
			x = x * 1103515245u + 12345u;
			bytes[k] = (unsigned char)(x >> 16);
		}
		off = i % 8;
		len = i % (sizeof(bytes) - 8);
		for (k = 0; k < len; k++)
			want += (bytes[off + k] & 0xC0) != 0x80;
		assert_int_equal(output_utf8_chars((const char *)bytes + off, len), want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages),      cmocka_unit_test(test_prompt_completion),
		cmocka_unit_test(test_alpaca),        cmocka_unit_test(test_sharegpt),
		cmocka_unit_test(test_meta_defaults), cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_roundtrip),     cmocka_unit_test(test_multi_turn),
		cmocka_unit_test(test_rejects),       cmocka_unit_test(test_cap),
		cmocka_unit_test(test_names),         cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_utf8_chars),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
