/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/read_jsonl.c and deid_doc_write_jsonl(): the document
 * shape, rejects that name no record content, NFC on input, a round trip of
 * documents from the other readers, field names, and an allocation-failure
 * walk.
 */
#include "ms_test.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "deid/deid.h"

static const char *field(const struct deid_doc *d, enum deid_field_kind k, size_t nth)
{
	size_t i;

	for (i = 0; i < d->n_fields; i++) {
		if (d->fields[i].kind == k && nth-- == 0)
			return d->fields[i].value;
	}
	return NULL;
}

static void next_doc(struct deid_reader *r, const struct deid_doc **d, struct ms_error *err)
{
	char msg[512];
	int rc = deid_reader_next(r, d, err);

	if (rc != DEID_READ_DOC)
		printf("unexpected %d: %s\n", rc, ms_error_format(err, msg, sizeof(msg)));
	assert_int_equal(rc, DEID_READ_DOC);
}

static void next_reject(struct deid_reader *r, struct ms_error *err, size_t record, size_t line,
                        const char *msg)
{
	const struct deid_doc *d;

	assert_int_equal(deid_reader_next(r, &d, err), DEID_READ_REJECT);
	assert_int_equal(err->record, record);
	assert_int_equal(err->line, line);
	assert_string_equal(err->msg, msg);
}

static void test_docs(void **state)
{
	struct deid_reader *r;
	struct ms_error err = MS_ERROR_INIT;
	const struct deid_doc *d;
	FILE *fp;

	(void)state;
	fp = fopen(ms_test_src_path("tests/data/deid/docs.jsonl"), "rb");
	assert_non_null(fp);
	assert_int_equal(deid_reader_open(&r, DEID_FORMAT_AUTO, NULL, &err), 0);
	assert_int_equal(deid_reader_feed_file(r, fp, "docs.jsonl", &err), 0);
	assert_int_equal(deid_reader_format(r), DEID_FORMAT_JSONL);
	next_doc(r, &d, &err);
	assert_string_equal(d->id, "J1");
	assert_string_equal(d->group, "P-1");
	assert_string_equal(d->text, "Erster Bericht.\nZweite Zeile.");
	assert_int_equal(d->n_labels, 2);
	assert_string_equal(d->labels[0].code, "C34.1");
	assert_null(d->labels[0].system);
	assert_string_equal(d->labels[1].system, "OPS");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_FAMILY, 0), "Mustermann");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_GIVEN, 1), "Maria");
	assert_int_equal(d->line, 1);
	next_doc(r, &d, &err); /* after a blank line */
	assert_string_equal(d->id, "7");
	assert_string_equal(d->group, "P-2");
	assert_int_equal(d->record, 2);
	assert_int_equal(d->line, 3);
	assert_int_equal(d->encoding, MS_ENC_CP1252);
	next_reject(r, &err, 3, 4, "unknown field name in 'fields' (entry 1)");
	assert_null(strstr(err.msg, "shoesize"));
	next_reject(r, &err, 4, 5, "truncated JSON at column 26");
	assert_null(strstr(err.msg, "kaputt"));
	next_doc(r, &d, &err);
	assert_string_equal(d->text, "Caf\u00e9 NFD"); /* NFC */
	assert_null(d->group);
	next_reject(r, &err, 6, 7, "no report text");
	next_reject(r, &err, 7, 8, "record is not a JSON object");
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_END);
	deid_reader_free(r);
	fclose(fp);
}

static void test_bad_shapes(void **state)
{
	static const char *const bad[] = {
		"{\"text\":1}",
		"{\"text\":\"t\",\"id\":[1]}",
		"{\"text\":\"t\",\"group\":5}",
		"{\"text\":\"t\",\"labels\":{}}",
		"{\"text\":\"t\",\"labels\":[3]}",
		"{\"text\":\"t\",\"labels\":[{\"system\":\"x\"}]}",
		"{\"text\":\"t\",\"fields\":[]}",
		"{\"text\":\"t\",\"fields\":{\"patient.id\":3}}",
		"{\"text\":\"t\",\"fields\":{\"patient.id\":[3]}}",
		"{\"text\":\"t\",\"encoding\":\"EBCDIC\"}",
		"{\"text\":\"t\",\"text\":\"u\"}",
		"{\"text\":\"t\"} x",
		"{\"text\":\"\\u0000\"}",
		"{\"text\":\"t\",\"fields\":{\"\\u00e4\\u00f6\\u00fc\":\"x\"}}",
	};
	struct deid_reader *r;
	struct ms_error err = MS_ERROR_INIT;
	const struct deid_doc *d;
	size_t i;

	(void)state;
	assert_int_equal(deid_reader_open(&r, DEID_FORMAT_JSONL, NULL, &err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(deid_reader_feed_mem(r, bad[i], strlen(bad[i]), NULL, &err), 0);
		if (deid_reader_next(r, &d, &err) != DEID_READ_REJECT) {
			printf("accepted: %s\n", bad[i]);
			fail();
		}
		assert_true(err.code == MS_EINVAL || err.code == MS_EUNICODE);
		assert_int_equal(err.record, 1);
	}
	assert_string_equal(err.msg, "unknown field name in 'fields' (entry 1)");
	/* a too long line is a reject, the next line is read */
	deid_reader_free(r);
	{
		struct deid_reader_opts opts = DEID_READER_OPTS_INIT;
		static const char two[] = "{\"text\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n"
		                          "{\"text\":\"ok\"}";

		opts.max_record = 20;
		assert_int_equal(deid_reader_open(&r, DEID_FORMAT_JSONL, &opts, &err), 0);
		assert_int_equal(deid_reader_feed_mem(r, two, sizeof(two) - 1, NULL, &err), 0);
		assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_REJECT);
		assert_int_equal(err.code, MS_ETOOBIG);
		next_doc(r, &d, &err);
		assert_string_equal(d->id, "2");
		assert_string_equal(d->text, "ok");
		deid_reader_free(r);
	}
}

static void assert_same(const struct deid_doc *a, const struct deid_doc *b)
{
	size_t i;

	assert_string_equal(a->id, b->id);
	if (a->group)
		assert_string_equal(a->group, b->group);
	else
		assert_null(b->group);
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->text, b->text, a->len);
	assert_int_equal(a->encoding, b->encoding);
	assert_int_equal(a->n_labels, b->n_labels);
	for (i = 0; i < a->n_labels; i++) {
		assert_string_equal(a->labels[i].code, b->labels[i].code);
		if (a->labels[i].system)
			assert_string_equal(a->labels[i].system, b->labels[i].system);
		else
			assert_null(b->labels[i].system);
	}
	assert_int_equal(a->n_fields, b->n_fields);
	/* the writer groups values by kind; compare as multisets per kind */
	for (i = 0; i < a->n_fields; i++) {
		size_t j;
		bool found = false;

		for (j = 0; j < b->n_fields && !found; j++)
			found = b->fields[j].kind == a->fields[i].kind &&
			        strcmp(b->fields[j].value, a->fields[i].value) == 0;
		assert_true(found);
	}
}

/* Reads a fixture with its own reader, writes JSONL, reads it back. */
static void round_trip(const char *name, enum deid_format fmt)
{
	char rel[256];
	struct deid_reader *src, *back;
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf out = MS_BUF_INIT;
	const struct deid_doc *d, *e;
	FILE *fp;
	int rc;
	size_t n = 0;

	snprintf(rel, sizeof(rel), "tests/data/deid/%s", name);
	fp = fopen(ms_test_src_path(rel), "rb");
	assert_non_null(fp);
	assert_int_equal(deid_reader_open(&src, fmt, NULL, &err), 0);
	assert_int_equal(deid_reader_open(&back, DEID_FORMAT_JSONL, NULL, &err), 0);
	assert_int_equal(deid_reader_feed_file(src, fp, name, &err), 0);
	while ((rc = deid_reader_next(src, &d, &err)) != DEID_READ_END) {
		assert_true(rc > 0);
		if (rc != DEID_READ_DOC)
			continue;
		ms_buf_reset(&out);
		assert_int_equal(deid_doc_write_jsonl(&out, d), 0);
		assert_int_equal(out.buf[out.len - 1], '\n');
		assert_non_null(strstr(out.buf, "\"encoding\":"));
		assert_int_equal(deid_reader_feed_mem(back, out.buf, out.len, NULL, &err), 0);
		next_doc(back, &e, &err);
		assert_same(d, e);
		assert_int_equal(deid_reader_next(back, &e, &err), DEID_READ_END);
		n++;
	}
	assert_true(n > 0);
	ms_buf_release(&out);
	deid_reader_free(src);
	deid_reader_free(back);
	fclose(fp);
}

static void test_round_trip(void **state)
{
	(void)state;
	round_trip("mllp.hl7", DEID_FORMAT_HL7);
	round_trip("cp1252.hl7", DEID_FORMAT_HL7);
	round_trip("ft.hl7", DEID_FORMAT_HL7);
	round_trip("r4_bundle.json", DEID_FORMAT_FHIR);
	round_trip("multiline.csv", DEID_FORMAT_CSV);
	round_trip("docs.jsonl", DEID_FORMAT_JSONL);
}

static void test_names(void **state)
{
	enum deid_field_kind k;
	enum deid_format f;
	unsigned i;

	(void)state;
	for (i = 0; i < DEID_FIELD_COUNT; i++) {
		assert_non_null(deid_field_name((enum deid_field_kind)i));
		assert_int_equal(deid_field_parse(&k, deid_field_name((enum deid_field_kind)i)), 0);
		assert_int_equal(k, i);
	}
	assert_null(deid_field_name(DEID_FIELD_COUNT));
	assert_int_equal(deid_field_parse(&k, "patient"), MS_ENOTFOUND);
	assert_string_equal(deid_field_name(DEID_FIELD_REFERRER_FAMILY), "referrer.family");
	assert_int_equal(deid_format_parse(&f, "fhir"), 0);
	assert_int_equal(f, DEID_FORMAT_FHIR);
	assert_int_equal(deid_format_parse(&f, "xml"), MS_ENOTFOUND);
}

static bool json_oom;

static void *json_alloc(size_t size)
{
	void *p = ms_malloc(size);

	if (!p)
		json_oom = true;
	return p;
}

static size_t run(const char *data, size_t len, int *out, size_t max)
{
	struct deid_reader *r = NULL;
	const struct deid_doc *d;
	size_t k = 0;
	int rc;

	json_oom = false;
	rc = deid_reader_open(&r, DEID_FORMAT_JSONL, NULL, NULL);
	if (!rc)
		rc = deid_reader_feed_mem(r, data, len, "walk", NULL);
	if (rc) {
		out[k++] = rc;
		deid_reader_free(r);
		return k;
	}
	do {
		rc = deid_reader_next(r, &d, NULL);
		out[k++] = rc;
	} while (rc > 0 && k < max);
	deid_reader_free(r);
	return k;
}

static void test_alloc_walk(void **state)
{
	static const char data[] =
	        "{\"id\":\"a\",\"group\":\"g\",\"text\":\"T\u00e4xt\",\"labels\":"
	        "[\"X\",{\"code\":\"Y\",\"system\":\"S\"}],\"fields\":{\"patient."
	        "family\":[\"M\",\"Muster\"],\"accession\":\"A1\"}}\n"
	        "{\"text\":\"\"}\n"
	        "{\"id\":2,\"text\":\"zwei\"}\n";
	int base[16] = { 0 }, got[16] = { 0 };
	size_t n_base, k, i;
	long n;

	(void)state;
	n_base = run(data, sizeof(data) - 1, base, 16);
	assert_int_equal(n_base, 4);
	for (n = 0;; n++) {
		assert_true(n < 10000);
		ms_alloc_fail_after(n);
		k = run(data, sizeof(data) - 1, got, 16);
		ms_alloc_fail_after(-1);
		if (k == n_base && memcmp(got, base, k * sizeof(int)) == 0 && !json_oom)
			break;
		if (json_oom) {
			/* jansson reports some failed allocations as syntax errors */
			assert_true(got[k - 1] == DEID_READ_END || got[k - 1] == MS_ENOMEM);
			continue;
		}
		assert_int_equal(got[k - 1], MS_ENOMEM);
		assert_true(k <= n_base);
		for (i = 0; i + 1 < k; i++)
			assert_int_equal(got[i], base[i]);
	}
}

/* The text of the one JSONL record {"id":"x","text":<escaped>}. */
static void read_text(const char *escaped, struct ms_buf *out)
{
	struct deid_reader *r;
	struct ms_error err = MS_ERROR_INIT;
	const struct deid_doc *d;
	struct ms_buf line = MS_BUF_INIT;

	ms_buf_addf(&line, "{\"id\":\"x\",\"text\":\"%s\"}\n", escaped);
	assert_int_equal(deid_reader_open(&r, DEID_FORMAT_JSONL, NULL, &err), 0);
	assert_int_equal(deid_reader_feed_mem(r, line.buf, line.len, "t.jsonl", &err), 0);
	next_doc(r, &d, &err);
	ms_buf_reset(out);
	ms_buf_add(out, d->text, d->len);
	deid_reader_free(r);
	ms_buf_release(&line);
}

/*
 * Texts lose their control characters (C0 but tab and line breaks, DEL,
 * C1) wherever they stand: random texts of letters, umlauts, blanks, line
 * breaks and controls, read behind 0 to 15 letters, give the same cleaned
 * text behind those letters (the eight-byte steps of the copy cannot miss
 * one) and no control character.
 */
static void test_controls_anywhere(void **state)
{
	static const char *const parts[] = { "a",       "b",       "Z",       " ",
		                             "\\t",     "\\n",     "ä",       "ß",
		                             "\\u0001", "\\u001f", "\\u007f", "\\u0085",
		                             "\\u009f", "\\u00a0", "\\r\\n",  "1" };
	struct ms_buf esc = MS_BUF_INIT, base = MS_BUF_INIT, got = MS_BUF_INIT;
	unsigned seed = 7, round, k, n;
	size_t i;

	(void)state;
	for (round = 0; round < 200; round++) {
		ms_buf_reset(&esc);
		ms_buf_adds(&esc, "X");
		for (n = 0; n < 40; n++) {
			seed = seed * 1103515245u + 12345u;
			ms_buf_adds(&esc, parts[(seed >> 16) % (sizeof(parts) / sizeof(parts[0]))]);
		}
		read_text(esc.buf, &base);
		for (i = 0; i < base.len; i++) {
			unsigned char c = (unsigned char)base.buf[i];

			assert_true(c >= 0x20 || c == '\n' || c == '\t');
			assert_true(c != 0x7F);
			assert_false(c == 0xC2 && i + 1 < base.len &&
			             (unsigned char)base.buf[i + 1] <= 0x9F);
		}
		for (k = 1; k < 16; k++) {
			struct ms_buf shifted = MS_BUF_INIT;

			for (n = 0; n < k; n++)
				ms_buf_addch(&shifted, 'q');
			ms_buf_add(&shifted, esc.buf, esc.len);
			read_text(shifted.buf, &got);
			assert_true(got.len == base.len + k);
			assert_memory_equal(got.buf + k, base.buf, base.len);
			ms_buf_release(&shifted);
		}
	}
	ms_buf_release(&esc);
	ms_buf_release(&base);
	ms_buf_release(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docs),       cmocka_unit_test(test_bad_shapes),
		cmocka_unit_test(test_round_trip), cmocka_unit_test(test_names),
		cmocka_unit_test(test_alloc_walk), cmocka_unit_test(test_controls_anywhere),
	};

	json_set_alloc_funcs(json_alloc, ms_free);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
