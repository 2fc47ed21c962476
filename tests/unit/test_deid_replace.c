/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/replace.c: tag and mask modes, titles kept, span
 * offsets mapped into the cleaned text, pseudonymised ids, the JSONL line
 * (read back by the JSONL reader), span checks whose messages carry no
 * text, determinism, and an allocation-failure walk.
 */
#include "ms_test.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "deid/deid.h"

static struct deid_key key;

static const char text[] = "Herr Dr. Jürgen Weiß (geb. 03.04.1950) kam am 3. März 2021.";

struct fixture {
	struct deid_doc doc;
	struct deid_span spans[4];
	struct deid_label labels[2];
};

static void add_span(struct fixture *f, size_t i, const char *needle, enum phi_label label,
                     const char *source)
{
	const char *p = strstr(text, needle);

	assert_non_null(p);
	memset(&f->spans[i], 0, sizeof(f->spans[i]));
	f->spans[i].start = (size_t)(p - text);
	f->spans[i].end = f->spans[i].start + strlen(needle);
	f->spans[i].label = label;
	f->spans[i].source = source;
	f->spans[i].score = 1;
	f->spans[i].field = -1;
}

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->doc.id = "A-17";
	f->doc.group = "PAT-4711";
	f->doc.text = text;
	f->doc.len = strlen(text);
	f->labels[0].code = "C34.1";
	f->labels[1].code = "3-222";
	f->labels[1].system = "OPS";
	f->doc.labels = f->labels;
	f->doc.n_labels = 2;
	f->doc.record = 1;
	add_span(f, 0, "Dr.", PHI_TITLE, "title");
	add_span(f, 1, "Jürgen Weiß", PHI_PATIENT, "dict:patient.family");
	add_span(f, 2, "03.04.1950", PHI_BIRTHDATE, "date_de");
	add_span(f, 3, "3. März 2021", PHI_DATE, "date_de");
}

static int setup(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < DEID_KEY_LEN; i++)
		key.bytes[i] = (unsigned char)(0xa0 + i);
	return 0;
}

static struct deid_replacer *replacer(enum deid_mode mode)
{
	struct deid_replace_opts o = { mode, &key };
	struct deid_replacer *r = NULL;
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(deid_replacer_new(&r, &o, &err), 0);
	return r;
}

static void test_modes_names(void **state)
{
	enum deid_mode m;

	(void)state;
	assert_string_equal(deid_mode_name(DEID_MODE_SURROGATE), "surrogate");
	assert_string_equal(deid_mode_name(DEID_MODE_TAG), "tag");
	assert_string_equal(deid_mode_name(DEID_MODE_MASK), "mask");
	assert_null(deid_mode_name((enum deid_mode)7));
	assert_int_equal(deid_mode_parse(&m, "mask"), 0);
	assert_int_equal(m, DEID_MODE_MASK);
	assert_int_equal(deid_mode_parse(&m, "redact"), MS_ENOTFOUND);
}

static void test_tag(void **state)
{
	struct fixture f;
	struct deid_replacer *r = replacer(DEID_MODE_TAG);
	const struct deid_replaced *res;
	struct ms_error err = MS_ERROR_INIT;
	char id[DEID_PSEUDONYM_SIZE];
	size_t i;

	(void)state;
	fixture_init(&f);
	assert_int_equal(deid_replacer_run(r, &f.doc, f.spans, 4, &res, &err), 0);
	assert_string_equal(res->text, "Herr Dr. [PATIENT] (geb. [BIRTHDATE]) kam am [DATE].");
	assert_int_equal(res->len, strlen(res->text));
	assert_int_equal(res->n_spans, 4);
	/* offsets in the cleaned text, and where each came from */
	assert_int_equal(res->spans[0].start, 5);
	assert_int_equal(res->spans[0].end, 8);
	assert_true(res->spans[0].kept);
	assert_memory_equal(res->text + res->spans[1].start, "[PATIENT]", 9);
	assert_int_equal(res->spans[1].end - res->spans[1].start, 9);
	assert_false(res->spans[1].kept);
	assert_memory_equal(res->text + res->spans[2].start, "[BIRTHDATE]", 11);
	assert_memory_equal(res->text + res->spans[3].start, "[DATE]", 6);
	assert_int_equal(res->spans[3].end + 1, res->len);
	for (i = 0; i < 4; i++) {
		assert_int_equal(res->spans[i].orig_start, f.spans[i].start);
		assert_int_equal(res->spans[i].orig_end, f.spans[i].end);
		assert_int_equal(res->spans[i].label, f.spans[i].label);
		assert_ptr_equal(res->spans[i].source, f.spans[i].source);
	}
	assert_int_equal(res->n_by_label[PHI_TITLE], 1);
	assert_int_equal(res->n_by_label[PHI_DATE], 1);
	assert_int_equal(res->n_by_label[PHI_ID], 0);
	deid_key_pseudonym(id, &key, 'd', "doc", "A-17", 4);
	assert_string_equal(res->id, id);
	deid_key_pseudonym(id, &key, 'p', "group", "PAT-4711", 8);
	assert_string_equal(res->group, id);
	/* no group: none in the output */
	f.doc.group = NULL;
	assert_int_equal(deid_replacer_run(r, &f.doc, f.spans, 4, &res, &err), 0);
	assert_null(res->group);
	/* no spans: the text as it is */
	assert_int_equal(deid_replacer_run(r, &f.doc, NULL, 0, &res, &err), 0);
	assert_string_equal(res->text, text);
	deid_replacer_free(r);
}

static void test_mask(void **state)
{
	struct fixture f;
	struct deid_replacer *r = replacer(DEID_MODE_MASK);
	const struct deid_replaced *res;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	fixture_init(&f);
	assert_int_equal(deid_replacer_run(r, &f.doc, f.spans, 4, &res, &err), 0);
	/* letters and digits: 'X' (one per character: "ü" and "ß" too) */
	assert_string_equal(res->text,
	                    "Herr Dr. XXXXXX XXXX (geb. XX.XX.XXXX) kam am X. XXXX XXXX.");
	assert_memory_equal(res->text + res->spans[1].start, "XXXXXX XXXX", 11);
	assert_int_equal(res->spans[1].end - res->spans[1].start, 11);
	deid_replacer_free(r);
}

static void test_surrogate_offsets(void **state)
{
	struct fixture f;
	struct deid_replacer *r = replacer(DEID_MODE_SURROGATE);
	struct deid_replacer *r2 = replacer(DEID_MODE_SURROGATE);
	const struct deid_replaced *res;
	struct ms_error err = MS_ERROR_INIT;
	char first[512];
	size_t i, prev = 0;

	(void)state;
	fixture_init(&f);
	assert_int_equal(deid_replacer_run(r, &f.doc, f.spans, 4, &res, &err), 0);
	snprintf(first, sizeof(first), "%s", res->text);
	assert_null(strstr(res->text, "Jürgen"));
	assert_null(strstr(res->text, "Weiß"));
	assert_null(strstr(res->text, "03.04.1950"));
	assert_null(strstr(res->text, "3. März 2021"));
	assert_memory_equal(res->text, "Herr Dr. ", 9);
	/* text between spans is copied; spans are in order and inside the text */
	for (i = 0; i < 4; i++) {
		assert_true(res->spans[i].start >= prev);
		assert_true(res->spans[i].end <= res->len);
		prev = res->spans[i].end;
	}
	assert_memory_equal(res->text + res->spans[1].end, " (geb. ", 7);
	assert_memory_equal(res->text + res->spans[3].end, ".", 2);
	/* a date keeps its form: "D. Monat YYYY" */
	assert_non_null(strchr(res->text + res->spans[3].start, ' '));
	/* deterministic across replacers */
	assert_int_equal(deid_replacer_run(r2, &f.doc, f.spans, 4, &res, &err), 0);
	assert_string_equal(res->text, first);
	deid_replacer_free(r);
	deid_replacer_free(r2);
}

static void expect_bad_spans(struct deid_replacer *r, struct fixture *f, size_t n, const char *msg)
{
	const struct deid_replaced *res;
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(deid_replacer_run(r, &f->doc, f->spans, n, &res, &err), MS_EUSAGE);
	assert_string_equal(err.msg, msg);
	assert_null(strstr(err.msg, "Jürgen"));
	assert_null(res);
}

static void test_bad_spans(void **state)
{
	struct fixture f;
	struct deid_replacer *r = replacer(DEID_MODE_SURROGATE);

	(void)state;
	fixture_init(&f);
	f.spans[1].start = 6; /* overlaps the title */
	expect_bad_spans(r, &f, 2,
	                 "span 1 [6, 22) is empty, out of order, overlapping or outside the text "
	                 "(62 bytes)");
	fixture_init(&f);
	f.spans[0].end = f.spans[0].start;
	expect_bad_spans(r, &f, 1,
	                 "span 0 [5, 5) is empty, out of order, overlapping or outside the text "
	                 "(62 bytes)");
	fixture_init(&f);
	f.spans[3].end = 99;
	expect_bad_spans(r, &f, 4,
	                 "span 3 [48, 99) is empty, out of order, overlapping or outside the text "
	                 "(62 bytes)");
	fixture_init(&f);
	f.spans[1].end = 11; /* inside "ü" */
	expect_bad_spans(r, &f, 2, "span 1 [9, 11) does not lie on character boundaries");
	deid_replacer_free(r);
}

static void test_write_jsonl(void **state)
{
	struct fixture f;
	struct deid_replacer *r = replacer(DEID_MODE_TAG);
	const struct deid_replaced *res;
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf out = MS_BUF_INIT, want = MS_BUF_INIT;
	struct deid_reader *rd;
	const struct deid_doc *d;

	(void)state;
	fixture_init(&f);
	assert_int_equal(deid_replacer_run(r, &f.doc, f.spans, 4, &res, &err), 0);
	assert_int_equal(deid_replaced_write_jsonl(&out, &f.doc, res, 0), 0);
	ms_buf_addf(&want,
	            "{\"id\":\"%s\",\"group\":\"%s\",\"text\":\"Herr Dr. [PATIENT] (geb. "
	            "[BIRTHDATE]) kam am [DATE].\",\"labels\":[{\"code\":\"C34.1\"},"
	            "{\"code\":\"3-222\",\"system\":\"OPS\"}]}\n",
	            res->id, res->group);
	assert_string_equal(out.buf, want.buf);
	ms_buf_reset(&out);
	ms_buf_reset(&want);
	assert_int_equal(deid_replaced_write_jsonl(&out, &f.doc, res, DEID_WRITE_SPANS), 0);
	assert_non_null(strstr(out.buf,
	                       "\"spans\":[{\"start\":5,\"end\":8,\"label\":\"TITLE\","
	                       "\"source\":\"title\"},{\"start\":9,\"end\":18,"
	                       "\"label\":\"PATIENT\",\"source\":\"dict:patient.family\"}"));
	/* the JSONL reader reads it back */
	assert_int_equal(deid_reader_open(&rd, DEID_FORMAT_JSONL, NULL, &err), 0);
	assert_int_equal(deid_reader_feed_mem(rd, out.buf, out.len, "out.jsonl", &err), 0);
	assert_int_equal(deid_reader_next(rd, &d, &err), DEID_READ_DOC);
	assert_string_equal(d->id, res->id);
	assert_string_equal(d->text, res->text);
	assert_int_equal(d->n_labels, 2);
	assert_int_equal(d->n_fields, 0);
	deid_reader_free(rd);
	ms_buf_release(&out);
	ms_buf_release(&want);
	deid_replacer_free(r);
}

static void test_new_errors(void **state)
{
	struct deid_replace_opts o = { DEID_MODE_SURROGATE, NULL };
	struct deid_replacer *r = (struct deid_replacer *)&o;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(deid_replacer_new(&r, &o, &err), MS_EUSAGE);
	assert_null(r);
	assert_string_equal(err.msg, "no key given");
	o.key = &key;
	o.mode = (enum deid_mode)9;
	ms_error_clear(&err);
	assert_int_equal(deid_replacer_new(&r, &o, &err), MS_EUSAGE);
	deid_replacer_free(NULL);
}

/* Every allocation of replacer creation and a run may fail: each failure is clean. */
static void test_alloc_failures(void **state)
{
	struct fixture f;
	long n;
	int modes;

	(void)state;
	fixture_init(&f);
	for (modes = 0; modes < 3; modes++) {
		for (n = 0;; n++) {
			struct deid_replace_opts o = { (enum deid_mode)modes, &key };
			struct deid_replacer *r = NULL;
			const struct deid_replaced *res = NULL;
			struct ms_error err = MS_ERROR_INIT;
			int rc;

			ms_alloc_fail_after(n);
			rc = deid_replacer_new(&r, &o, &err);
			if (!rc)
				rc = deid_replacer_run(r, &f.doc, f.spans, 4, &res, &err);
			ms_alloc_fail_after(-1);
			deid_replacer_free(r);
			if (!rc)
				break;
			assert_int_equal(rc, MS_ENOMEM);
			assert_int_equal(err.code, MS_ENOMEM);
		}
		assert_true(n > 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes_names), cmocka_unit_test(test_tag),
		cmocka_unit_test(test_mask),        cmocka_unit_test(test_surrogate_offsets),
		cmocka_unit_test(test_bad_spans),   cmocka_unit_test(test_write_jsonl),
		cmocka_unit_test(test_new_errors),  cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
