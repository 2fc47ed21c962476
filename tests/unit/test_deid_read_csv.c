/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/read_csv.c and deid/read_text.c: quoting, line breaks
 * in fields, delimiter detection, column mapping and its errors, ragged
 * rows, charsets, caps, plain-text documents and an allocation-failure walk.
 */
#include "ms_test.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "deid/deid.h"

struct rd {
	struct deid_reader *r;
	FILE *fp;
	struct ms_error err;
};

static void rd_open(struct rd *t, enum deid_format fmt, const struct deid_reader_opts *opts,
                    const char *name)
{
	char rel[256];

	memset(t, 0, sizeof(*t));
	snprintf(rel, sizeof(rel), "tests/data/deid/%s", name);
	assert_int_equal(deid_reader_open(&t->r, fmt, opts, &t->err), 0);
	t->fp = fopen(ms_test_src_path(rel), "rb");
	assert_non_null(t->fp);
	assert_int_equal(deid_reader_feed_file(t->r, t->fp, name, &t->err), 0);
}

static void rd_close(struct rd *t)
{
	deid_reader_free(t->r);
	if (t->fp)
		fclose(t->fp);
}

static const struct deid_doc *rd_doc(struct rd *t)
{
	const struct deid_doc *d = NULL;
	char msg[512];
	int rc = deid_reader_next(t->r, &d, &t->err);

	if (rc != DEID_READ_DOC)
		printf("unexpected %d: %s\n", rc, ms_error_format(&t->err, msg, sizeof(msg)));
	assert_int_equal(rc, DEID_READ_DOC);
	return d;
}

static void rd_reject(struct rd *t, int code, size_t record, size_t line, const char *why)
{
	const struct deid_doc *d = NULL;

	assert_int_equal(deid_reader_next(t->r, &d, &t->err), DEID_READ_REJECT);
	assert_int_equal(t->err.code, code);
	assert_int_equal(t->err.record, record);
	assert_int_equal(t->err.line, line);
	if (why && !strstr(t->err.msg, why)) {
		printf("message '%s' lacks '%s'\n", t->err.msg, why);
		fail();
	}
}

static void rd_end(struct rd *t)
{
	const struct deid_doc *d = NULL;

	assert_int_equal(deid_reader_next(t->r, &d, &t->err), DEID_READ_END);
}

static const char *field(const struct deid_doc *d, enum deid_field_kind k, size_t nth)
{
	size_t i;

	for (i = 0; i < d->n_fields; i++) {
		if (d->fields[i].kind == k && nth-- == 0)
			return d->fields[i].value;
	}
	return NULL;
}

static void test_multiline(void **state)
{
	static const struct deid_csv_field map[] = {
		{ "vorname", DEID_FIELD_PATIENT_GIVEN },
		{ "Geburtsdatum", DEID_FIELD_PATIENT_BIRTHDATE },
	};
	struct deid_reader_opts opts = DEID_READER_OPTS_INIT;
	struct rd t;
	const struct deid_doc *d;

	(void)state;
	opts.csv_fields = map;
	opts.n_csv_fields = 2;
	rd_open(&t, DEID_FORMAT_AUTO, &opts, "multiline.csv");
	assert_int_equal(deid_reader_format(t.r), DEID_FORMAT_CSV);
	d = rd_doc(&t);
	assert_string_equal(d->id, "R1");
	assert_string_equal(d->group, "P-100");
	assert_int_equal(d->line, 2);
	assert_int_equal(d->format, DEID_FORMAT_CSV);
	assert_string_equal(d->text, "Befund:\nLunge frei.\nBeurteilung: \"unauffällig\", keine "
	                             "Raumforderung.");
	assert_int_equal(d->n_labels, 2);
	assert_string_equal(d->labels[0].code, "C34.1");
	assert_null(d->labels[0].system);
	assert_string_equal(d->labels[1].code, "Z00.0");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_FAMILY, 0), "Mustermann");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_GIVEN, 0), "Erika");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_BIRTHDATE, 0), "12.08.1964");
	d = rd_doc(&t);
	assert_string_equal(d->id, "R2");
	assert_int_equal(d->record, 2);
	assert_int_equal(d->line, 5);
	assert_int_equal(d->n_labels, 0);
	d = rd_doc(&t); /* the blank line is not a record */
	assert_string_equal(d->id, "R3");
	assert_int_equal(d->record, 3);
	assert_int_equal(d->line, 7);
	assert_string_equal(d->text, "Text mit, Komma\nund LF");
	assert_null(field(d, DEID_FIELD_PATIENT_BIRTHDATE, 0));
	rd_end(&t);
	rd_close(&t);
}

static void test_missing_column(void **state)
{
	static const struct deid_csv_field map[] = { { "Nachname", DEID_FIELD_PATIENT_FAMILY } };
	struct deid_reader_opts opts = DEID_READER_OPTS_INIT;
	const struct deid_doc *d;
	struct rd t;

	(void)state;
	opts.csv_text = "befund";
	rd_open(&t, DEID_FORMAT_CSV, &opts, "multiline.csv");
	assert_int_equal(deid_reader_next(t.r, &d, &t.err), MS_EINVAL);
	assert_string_equal(t.err.msg, "column 'befund' not found in header");
	assert_int_equal(t.err.line, 1);
	rd_end(&t);
	rd_close(&t);

	opts.csv_text = NULL;
	opts.csv_fields = map;
	opts.n_csv_fields = 1;
	rd_open(&t, DEID_FORMAT_CSV, &opts, "multiline.csv");
	assert_int_equal(deid_reader_next(t.r, &d, &t.err), MS_EINVAL);
	assert_string_equal(t.err.msg, "column 'Nachname' not found in header");
	rd_close(&t);

	/* the default text column is required too */
	opts.n_csv_fields = 0;
	rd_open(&t, DEID_FORMAT_CSV, &opts, "ragged.csv");
	assert_string_equal(rd_doc(&t)->text, "erste Zeile");
	rd_close(&t);
	opts.csv_id = "nummer";
	rd_open(&t, DEID_FORMAT_CSV, &opts, "ragged.csv");
	assert_int_equal(deid_reader_next(t.r, &d, &t.err), MS_EINVAL);
	assert_non_null(strstr(t.err.msg, "'nummer'"));
	rd_close(&t);
}

static void test_semicolon_cp1252(void **state)
{
	struct rd t;
	const struct deid_doc *d;

	(void)state;
	rd_open(&t, DEID_FORMAT_CSV, NULL, "semicolon.csv");
	d = rd_doc(&t);
	assert_string_equal(d->id, "S1");
	assert_string_equal(d->group, "G1");
	assert_string_equal(d->text, "Kein Anhalt für Fraktur.");
	assert_int_equal(d->encoding, MS_ENC_CP1252);
	assert_true(d->flags & DEID_DOC_CHARSET_GUESSED);
	d = rd_doc(&t);
	assert_string_equal(d->text, "Mehrzeilig;\nmit Semikolon");
	assert_int_equal(d->encoding, MS_ENC_UTF8);
	rd_end(&t);
	rd_close(&t);
}

static void test_ragged(void **state)
{
	struct rd t;

	(void)state;
	rd_open(&t, DEID_FORMAT_CSV, NULL, "ragged.csv");
	assert_string_equal(rd_doc(&t)->id, "A1");
	rd_reject(&t, MS_EINVAL, 2, 3, "record has 4 fields, header has 2");
	assert_string_equal(t.err.path, "ragged.csv");
	assert_string_equal(rd_doc(&t)->id, "A3");
	rd_reject(&t, MS_EINVAL, 4, 5, "quoted field not closed");
	rd_end(&t);
	rd_close(&t);
}

static void test_memory(void **state)
{
	static const char csv[] =
	        "\xEF\xBB\xBF"
	        "\"id\"\t\"text\"\t\"labels\"\r\n"
	        "1\t\"a\"\"b\"\t\r\n"
	        "2\t   \t\r\n"
	        "3\tyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\t\r\n"
	        "4\t\"z\"\tA, B,,C\r\n";
	struct deid_reader_opts opts = DEID_READER_OPTS_INIT;
	struct deid_reader *r;
	struct ms_error err = MS_ERROR_INIT;
	const struct deid_doc *d;

	(void)state;
	opts.max_record = 40;
	opts.csv_label_sep = ',';
	assert_int_equal(deid_reader_open(&r, DEID_FORMAT_CSV, &opts, &err), 0);
	assert_int_equal(deid_reader_feed_mem(r, csv, sizeof(csv) - 1, NULL, &err), 0);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_DOC);
	assert_string_equal(d->text, "a\"b");
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_REJECT);
	assert_int_equal(err.code, MS_EINVAL);
	assert_string_equal(err.msg, "empty text column");
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_REJECT);
	assert_int_equal(err.code, MS_ETOOBIG);
	assert_int_equal(err.record, 3);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_DOC);
	assert_int_equal(d->n_labels, 3);
	assert_string_equal(d->labels[2].code, "C");
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_END);

	/* bad options */
	deid_reader_free(r);
	opts.csv_delim = '"';
	assert_int_equal(deid_reader_open(&r, DEID_FORMAT_CSV, &opts, &err), MS_EUSAGE);
	assert_null(r);
}

static void test_text(void **state)
{
	static const char text[] =
	        "\xEF\xBB\xBF  \r\nBefund:\r\n\r\n\r\n\r\nLunge frei.   \r\n\r\n";
	struct deid_reader *r;
	struct ms_error err = MS_ERROR_INIT;
	const struct deid_doc *d;

	(void)state;
	assert_int_equal(deid_reader_open(&r, DEID_FORMAT_TEXT, NULL, &err), 0);
	assert_int_equal(deid_reader_feed_mem(r, text, sizeof(text) - 1, "dir/bericht.txt", &err),
	                 0);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_DOC);
	assert_string_equal(d->id, "bericht.txt");
	assert_string_equal(d->text, "Befund:\n\nLunge frei.");
	assert_null(d->group);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_END);
	assert_int_equal(deid_reader_feed_mem(r, "\xFF\xFEx\0", 4, NULL, &err), 0);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_REJECT);
	assert_int_equal(err.code, MS_EUNICODE);
	assert_int_equal(deid_reader_feed_mem(r,
	                                      "Stra\xDF"
	                                      "e",
	                                      6, NULL, &err),
	                 0);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_DOC);
	assert_string_equal(d->id, "-");
	assert_string_equal(d->text, "Straße");
	assert_int_equal(d->encoding, MS_ENC_CP1252);
	deid_reader_free(r);
}

static void test_detect(void **state)
{
	(void)state;
	assert_int_equal(deid_format_detect("id,text\n", 8, "x.csv"), DEID_FORMAT_CSV);
	assert_int_equal(deid_format_detect("id;text\n", 8, "x.tsv"), DEID_FORMAT_CSV);
	assert_int_equal(deid_format_detect("MSH|^~\\&|", 9, NULL), DEID_FORMAT_HL7);
	assert_int_equal(deid_format_detect("\x0bMSH", 4, NULL), DEID_FORMAT_HL7);
	assert_int_equal(deid_format_detect("x\n<SB>\n", 7, "a.log"), DEID_FORMAT_HL7);
	assert_int_equal(deid_format_detect("OBX|1|TX", 8, "a.txt"), DEID_FORMAT_HL7);
	assert_int_equal(deid_format_detect("{\"resourceType\":1}", 18, NULL), DEID_FORMAT_FHIR);
	assert_int_equal(deid_format_detect("{\"id\":1}", 8, NULL), DEID_FORMAT_JSONL);
	assert_int_equal(deid_format_detect("Befund", 6, "a.txt"), DEID_FORMAT_TEXT);
	assert_int_equal(deid_format_detect("", 0, "a.ndjson"), DEID_FORMAT_FHIR);
	assert_string_equal(deid_format_name(DEID_FORMAT_JSONL), "jsonl");
	assert_null(deid_format_name((enum deid_format)99));
}

static size_t run(enum deid_format fmt, const char *data, size_t len, int *out, size_t max)
{
	struct deid_reader *r = NULL;
	const struct deid_doc *d;
	size_t k = 0;
	int rc;

	rc = deid_reader_open(&r, fmt, NULL, NULL);
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

static void walk(enum deid_format fmt, const char *data, size_t len)
{
	int base[32] = { 0 }, got[32] = { 0 };
	size_t n_base, k, i;
	long n;

	n_base = run(fmt, data, len, base, 32);
	assert_int_equal(base[n_base - 1], DEID_READ_END);
	for (n = 0;; n++) {
		assert_true(n < 10000);
		ms_alloc_fail_after(n);
		k = run(fmt, data, len, got, 32);
		ms_alloc_fail_after(-1);
		if (k == n_base && memcmp(got, base, k * sizeof(int)) == 0)
			break;
		assert_int_equal(got[k - 1], MS_ENOMEM);
		assert_true(k <= n_base);
		for (i = 0; i + 1 < k; i++)
			assert_int_equal(got[i], base[i]);
	}
}

static void test_alloc_walk(void **state)
{
	static const char csv[] = "id,group,text,labels,patient.family\n"
	                          "1,G,\"Zeile\neins\",A|B,Muster\n"
	                          "2,G\n"
	                          "3,H,Größe,,Beispiel\n";
	static const char text[] = "Ein Bericht.\n";

	(void)state;
	walk(DEID_FORMAT_CSV, csv, sizeof(csv) - 1);
	walk(DEID_FORMAT_TEXT, text, sizeof(text) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multiline),        cmocka_unit_test(test_missing_column),
		cmocka_unit_test(test_semicolon_cp1252), cmocka_unit_test(test_ragged),
		cmocka_unit_test(test_memory),           cmocka_unit_test(test_text),
		cmocka_unit_test(test_detect),           cmocka_unit_test(test_alloc_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
