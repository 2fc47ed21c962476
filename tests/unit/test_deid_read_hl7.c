/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/read_hl7.c (and the reader front end in deid/read.c):
 * framing (MLLP, <SB>/<EB> logs, batches, line ends, run-together segments),
 * delimiters and escapes, charsets, OBX/NTE text, fields, rejects, the
 * public samples in ../shared and an allocation-failure walk.
 */
#include "ms_test.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "deid/deid.h"

struct rd {
	struct deid_reader *r;
	FILE *fp;
	struct ms_error err;
};

static void rd_open(struct rd *t, enum deid_format fmt, const struct deid_reader_opts *opts,
                    const char *path)
{
	memset(t, 0, sizeof(*t));
	assert_int_equal(deid_reader_open(&t->r, fmt, opts, &t->err), 0);
	t->fp = fopen(path, "rb");
	assert_non_null(t->fp);
	assert_int_equal(deid_reader_feed_file(t->r, t->fp, path, &t->err), 0);
}

static void rd_fixture(struct rd *t, const char *name)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "tests/data/deid/%s", name);
	rd_open(t, DEID_FORMAT_AUTO, NULL, ms_test_src_path(rel));
	assert_int_equal(deid_reader_format(t->r), DEID_FORMAT_HL7);
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
	assert_non_null(d);
	return d;
}

static void rd_reject(struct rd *t, int code, size_t record, const char *why)
{
	const struct deid_doc *d = NULL;
	int rc = deid_reader_next(t->r, &d, &t->err);

	assert_int_equal(rc, DEID_READ_REJECT);
	assert_null(d);
	assert_int_equal(t->err.code, code);
	assert_int_equal(t->err.record, record);
	if (why && !strstr(t->err.msg, why)) {
		printf("message '%s' lacks '%s'\n", t->err.msg, why);
		fail();
	}
}

static void rd_end(struct rd *t)
{
	const struct deid_doc *d = NULL;

	assert_int_equal(deid_reader_next(t->r, &d, &t->err), DEID_READ_END);
	assert_int_equal(deid_reader_next(t->r, &d, &t->err), DEID_READ_END);
}

/* The nth (0-based) value of a field kind, or NULL. */
static const char *field(const struct deid_doc *d, enum deid_field_kind k, size_t nth)
{
	size_t i;

	for (i = 0; i < d->n_fields; i++) {
		if (d->fields[i].kind == k && nth-- == 0)
			return d->fields[i].value;
	}
	return NULL;
}

static bool has_label(const struct deid_doc *d, const char *code, const char *system)
{
	size_t i;

	for (i = 0; i < d->n_labels; i++) {
		if (strcmp(d->labels[i].code, code) == 0 &&
		    (system ? d->labels[i].system && strcmp(d->labels[i].system, system) == 0
		            : !d->labels[i].system))
			return true;
	}
	return false;
}

static void test_mllp(void **state)
{
	struct rd t;
	const struct deid_doc *d;

	(void)state;
	rd_fixture(&t, "mllp.hl7");
	d = rd_doc(&t);
	assert_string_equal(d->id, "MLLP-1");
	assert_string_equal(d->group, "PAT-0001");
	assert_int_equal(d->record, 1);
	assert_int_equal(d->line, 2);
	assert_int_equal(d->format, DEID_FORMAT_HL7);
	assert_int_equal(d->encoding, MS_ENC_UTF8);
	assert_string_equal(d->text, "Lunge frei belüftet.\nKein Erguss.\n"
	                             "Unauffälliger Befund.\nKeine Raumforderung.");
	assert_int_equal(d->len, strlen(d->text));
	assert_string_equal(field(d, DEID_FIELD_PATIENT_ID, 0), "PAT-0001");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_ID, 1), "KV-A123456789");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_FAMILY, 0), "Mustermann");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_GIVEN, 0), "Erika");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_GIVEN, 1), "Maria");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_BIRTHDATE, 0), "19640812");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_STREET, 0), "Musterweg 12");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_CITY, 0), "Musterstadt");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_ZIP, 0), "12345");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_PHONE, 0), "+49 30 1234567");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_EMAIL, 0), "erika@example.org");
	assert_string_equal(field(d, DEID_FIELD_CASE_ID, 0), "FALL-4711");
	assert_string_equal(field(d, DEID_FIELD_ACCESSION, 0), "ACC-2024-1");
	assert_string_equal(field(d, DEID_FIELD_ORDER_PLACER, 0), "ORD-1");
	assert_string_equal(field(d, DEID_FIELD_REFERRER_FAMILY, 0), "Beispiel");
	assert_string_equal(field(d, DEID_FIELD_REFERRER_FAMILY, 1), "Doktor");
	assert_string_equal(field(d, DEID_FIELD_PERFORMER_ID, 0), "REP-1");
	assert_string_equal(field(d, DEID_FIELD_PERFORMER_FAMILY, 0), "Radiologin");
	assert_string_equal(field(d, DEID_FIELD_PERFORMER_GIVEN, 0), "Anna");
	assert_null(field(d, DEID_FIELD_PATIENT_NAME, 0));
	assert_true(has_label(d, "CT-THX", "LOCAL"));
	d = rd_doc(&t);
	assert_string_equal(d->id, "MLLP-2");
	assert_string_equal(d->group, "PAT-0002");
	assert_int_equal(d->record, 2);
	assert_string_equal(d->text, "Zweiter Bericht.");
	rd_end(&t);
	rd_close(&t);
}

static void test_truncated(void **state)
{
	struct rd t;

	(void)state;
	rd_fixture(&t, "truncated.hl7");
	assert_string_equal(rd_doc(&t)->id, "MLLP-1");
	rd_reject(&t, MS_EINVAL, 2, "end of frame missing");
	assert_true(t.err.line > 0);
	assert_non_null(strstr(t.err.path, "truncated.hl7"));
	rd_end(&t);
	rd_close(&t);

	rd_fixture(&t, "truncated_msh.hl7");
	rd_reject(&t, MS_EINVAL, 1, "truncated MSH segment");
	rd_end(&t);
	rd_close(&t);
}

static void test_line_ends(void **state)
{
	static const char *const ids[] = { "CR", "LF", "CRLF" };
	static const char *const texts[] = { "Text eins", "Text zwei", "Text drei" };
	struct rd t;
	const struct deid_doc *d;
	size_t i;

	(void)state;
	rd_fixture(&t, "eol.hl7");
	for (i = 0; i < 3; i++) {
		d = rd_doc(&t);
		assert_string_equal(d->id, ids[i]);
		assert_string_equal(d->text, texts[i]);
		assert_int_equal(d->record, i + 1);
		assert_true(has_label(d, "X", "L"));
	}
	rd_end(&t);
	rd_close(&t);
}

static void test_delims_and_escapes(void **state)
{
	struct rd t;
	const struct deid_doc *d;

	(void)state;
	rd_fixture(&t, "delims.hl7");
	d = rd_doc(&t);
	assert_string_equal(d->id, "DEL-1");
	assert_string_equal(d->group, "PAT-9");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_FAMILY, 0), "Beispiel");
	assert_string_equal(d->text, "Wert # fs\nZeile 2 mit * und ! und % und @");
	rd_end(&t);
	rd_close(&t);

	rd_fixture(&t, "escapes.hl7");
	d = rd_doc(&t);
	assert_string_equal(d->text,
	                    "A | B ^ C & D ~ E \\ F Aä G fett H\nI J K \\Q\\ L \\unclosed");
	rd_end(&t);
	rd_close(&t);
}

static void test_charsets(void **state)
{
	struct rd t;
	const struct deid_doc *d;

	(void)state;
	rd_fixture(&t, "latin1.hl7");
	d = rd_doc(&t);
	assert_int_equal(d->encoding, MS_ENC_LATIN1);
	assert_int_equal(d->flags & DEID_DOC_CHARSET_GUESSED, 0);
	assert_string_equal(d->text, "Größe normal, äußerst unauffällig.");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_FAMILY, 0), "Müller");
	rd_end(&t);
	rd_close(&t);

	rd_fixture(&t, "cp1252.hl7");
	d = rd_doc(&t);
	assert_int_equal(d->encoding, MS_ENC_CP1252);
	assert_true(d->flags & DEID_DOC_CHARSET_GUESSED);
	assert_string_equal(d->text, "Kosten 80 €, „Zitat“ und Straße.");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_GIVEN, 0), "Bärbel");
	rd_end(&t);
	rd_close(&t);

	rd_fixture(&t, "badutf8.hl7");
	rd_reject(&t, MS_EUNICODE, 1, "invalid UTF-8");
	rd_end(&t);
	rd_close(&t);

	{
		static const char jis[] =
		        "MSH|^~\\&|A|B|C|D|2024||ORU^R01|J-1|P|2.5||||||ISO IR87\r"
		        "OBX|1|TX|||x||||||F\r";
		struct deid_reader *r;
		struct ms_error err = MS_ERROR_INIT;
		const struct deid_doc *none;

		assert_int_equal(deid_reader_open(&r, DEID_FORMAT_HL7, NULL, &err), 0);
		assert_int_equal(deid_reader_feed_mem(r, jis, sizeof(jis) - 1, NULL, &err), 0);
		assert_int_equal(deid_reader_next(r, &none, &err), DEID_READ_REJECT);
		assert_int_equal(err.code, MS_EUNICODE);
		assert_string_equal(err.msg, "unsupported character set in MSH-18");
		deid_reader_free(r);
	}
}

static void test_obx_text(void **state)
{
	struct rd t;
	const struct deid_doc *d;

	(void)state;
	rd_fixture(&t, "ft.hl7");
	d = rd_doc(&t);
	/* NTE after OBR and OBX, TX repetitions, FT commands; UID and NM left out */
	assert_string_equal(d->text,
	                    "Kommentar zur Anforderung\nZeile 1\nZeile 2\nAbsatz\n\n"
	                    "Neu    eingerueckt\nzentriert  weiterende\nNotiz zum Ergebnis");
	assert_true(has_label(d, "CT", "L"));
	assert_true(has_label(d, "C34.1", "I10-GM"));
	assert_int_equal(d->n_labels, 2);
	rd_end(&t);
	rd_close(&t);

	rd_fixture(&t, "ed.hl7");
	rd_reject(&t, MS_EINVAL, 1, "encapsulated data");
	d = rd_doc(&t);
	assert_string_equal(d->id, "ED-2");
	assert_string_equal(d->text, "Text neben PDF.");
	assert_true(d->flags & DEID_DOC_SKIPPED_PARTS);
	assert_int_equal(d->n_skipped, 1);
	rd_end(&t);
	rd_close(&t);
}

static void test_missing_pid_and_headerless(void **state)
{
	struct rd t;
	const struct deid_doc *d;

	(void)state;
	rd_fixture(&t, "nopid.hl7");
	d = rd_doc(&t);
	assert_string_equal(d->id, "NOPID-1");
	assert_null(d->group);
	assert_null(field(d, DEID_FIELD_PATIENT_ID, 0));
	assert_string_equal(d->text, "Ohne Patient.");
	rd_end(&t);
	rd_close(&t);

	rd_fixture(&t, "headerless.hl7");
	d = rd_doc(&t);
	assert_true(d->flags & DEID_DOC_HEADERLESS);
	assert_string_equal(d->id, "ACC-HL"); /* OBR-3 when there is no MSH-10 */
	assert_string_equal(d->text, "eine Zeile die\n  weitergeht.");
	rd_end(&t);
	rd_close(&t);

	rd_fixture(&t, "runon.hl7");
	d = rd_doc(&t);
	assert_string_equal(d->id, "RUN-1");
	assert_string_equal(d->group, "P-RUN");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_FAMILY, 0), "Probe");
	assert_string_equal(d->text, "Erster Teil\nZweiter Teil");
	rd_end(&t);
	rd_close(&t);
}

static void test_log(void **state)
{
	struct rd t;
	const struct deid_doc *d;

	(void)state;
	rd_fixture(&t, "log.hl7");
	d = rd_doc(&t);
	assert_string_equal(d->id, "LOG-1");
	assert_int_equal(d->line, 3);
	assert_string_equal(d->text, "Log Bericht\n\nzweite Zeile");
	rd_reject(&t, MS_EINVAL, 2, "no HL7 segments");
	/* the reason names no record content */
	assert_null(strstr(t.err.msg, "Kaputte"));
	d = rd_doc(&t);
	assert_string_equal(d->id, "LOG-3");
	assert_int_equal(d->record, 3);
	rd_end(&t);
	rd_close(&t);
}

static void test_memory_and_caps(void **state)
{
	static const char msg[] =
	        "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|M-1|P|2.5\r"
	        "PID|1||P-1\rOBX|1|TX|||kurz||||||F\r"
	        "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|M-2|P|2.5\r"
	        "OBX|1|TX|||xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx||||||F\r"
	        "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|M-3|P|2.5\r"
	        "OBX|1|TX|||wieder kurz||||||F\r";
	struct deid_reader_opts opts = DEID_READER_OPTS_INIT;
	struct deid_reader *r;
	struct ms_error err = MS_ERROR_INIT;
	const struct deid_doc *d;

	(void)state;
	opts.max_record = 100;
	assert_int_equal(deid_reader_open(&r, DEID_FORMAT_HL7, &opts, &err), 0);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_END); /* nothing fed */
	assert_int_equal(deid_reader_feed_mem(r, msg, sizeof(msg) - 1, "mem", &err), 0);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_DOC);
	assert_string_equal(d->id, "M-1");
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_REJECT);
	assert_int_equal(err.code, MS_ETOOBIG);
	assert_int_equal(err.record, 2);
	assert_string_equal(err.path, "mem");
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_DOC);
	assert_string_equal(d->id, "M-3");
	assert_int_equal(err.code, 0);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_END);
	/* a second source restarts record numbers */
	assert_int_equal(deid_reader_feed_mem(r, msg, 60, NULL, &err), 0);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_REJECT);
	assert_int_equal(err.record, 1);
	deid_reader_free(r);
	deid_reader_free(NULL);
}

/* ---- public samples ------------------------------------------------------ */

static void sample(struct rd *t, const char *rel)
{
	const char *path = ms_test_shared_path(rel);

	if (!path)
		skip();
	rd_open(t, DEID_FORMAT_AUTO, NULL, path);
	assert_int_equal(deid_reader_format(t->r), DEID_FORMAT_HL7);
}

static void test_sample_dcm4che(void **state)
{
	struct rd t;
	const struct deid_doc *d;

	(void)state;
	sample(&t, "samples/hl7v2-dcm4che-oru/ORU_R01-SR.hl7");
	d = rd_doc(&t);
	assert_string_equal(d->id, "1001129");
	assert_string_equal(d->group, "PID_1");
	assert_int_equal(d->encoding, MS_ENC_LATIN1);
	assert_true(strncmp(d->text, "The right kidney is slightly enlarged", 37) == 0);
	assert_non_null(strstr(d->text, "\n4mmx6mm\n5mmx7mm\n"));
	assert_null(strstr(d->text, "1.2.392")); /* DICOM UIDs are not text */
	assert_true(has_label(d, "C65.2", "ICD-10"));
	assert_true(has_label(d, "10637-7", "LN"));
	assert_string_equal(field(d, DEID_FIELD_PATIENT_FAMILY, 0), "Smith");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_BIRTHDATE, 0), "20141014");
	assert_string_equal(field(d, DEID_FIELD_REFERRER_FAMILY, 0), "ReferringPhysicianFN");
	assert_string_equal(field(d, DEID_FIELD_PERFORMER_FAMILY, 0), "VerifyingObserverFN");
	rd_end(&t);
	rd_close(&t);

	sample(&t, "samples/hl7v2-dcm4che-oru/ORU_R01-CDA.hl7");
	rd_reject(&t, MS_EINVAL, 1, "encapsulated data");
	rd_end(&t);
	rd_close(&t);
	sample(&t, "samples/hl7v2-dcm4che-oru/ORU_R01-PDF.hl7");
	rd_reject(&t, MS_EINVAL, 1, "encapsulated data");
	rd_end(&t);
	rd_close(&t);
}

static void test_sample_hl7eu(void **state)
{
	struct rd t;
	const struct deid_doc *d;

	(void)state;
	sample(&t, "samples/hl7v2-hl7eu-imaging-oru/Example2.txt");
	d = rd_doc(&t);
	assert_true(d->flags & DEID_DOC_HEADERLESS);
	assert_true(has_label(d, "71020", "CPT4"));
	assert_non_null(strstr(d->text, "the LLL.\n A second, less well\u2011defined"));
	assert_null(strstr(d->text, "\\.br\\"));
	rd_end(&t);
	rd_close(&t);

	sample(&t, "samples/hl7v2-hl7eu-imaging-oru/Example3.txt");
	d = rd_doc(&t);
	assert_non_null(strstr(d->text, "small mass in theleft lung"));
	assert_non_null(strstr(d->text, "early congestive heart failure."));
	assert_true(has_label(d, "C65.2", "ICD-10"));
	assert_string_equal(field(d, DEID_FIELD_FACILITY, 0), "St. Mary\u2019s Hospital");
	rd_end(&t);
	rd_close(&t);

	sample(&t, "samples/hl7v2-hl7eu-imaging-oru/OrderResulted.txt");
	d = rd_doc(&t);
	assert_string_equal(d->id, "487");
	assert_string_equal(d->group, "417601");
	assert_string_equal(d->text,
	                    "X-ray suspected Clavicle fx. The quality of the film was good.\n"
	                    "Abnormal, Fracture Present\nLeft lateral; surgery required");
	assert_string_equal(field(d, DEID_FIELD_REFERRER_FAMILY, 0), "KEESLER");
	rd_end(&t);
	rd_close(&t);
}

static void test_sample_washu(void **state)
{
	struct rd t;
	const struct deid_doc *d;
	size_t n_docs = 0, n_rejects = 0, n_cp1252 = 0;
	int rc;

	(void)state;
	sample(&t, "samples/hl7v2-washu-scout-logs/postgres_1994_19941117.log");
	d = rd_doc(&t);
	assert_string_equal(d->group, "ABC451135");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_FAMILY, 0),
	                    "\u0391\u03a3\u03a4\u03a1\u0399\u039d\u038a\u0394\u0397\u03a3");
	assert_non_null(strstr(d->text, "EXAMINATION:\nChest MRI\n\nFINDINGS:\n"));
	rd_end(&t);
	rd_close(&t);

	sample(&t, "samples/hl7v2-washu-scout-logs/postgres_2007_20071021.log");
	assert_string_equal(rd_doc(&t)->id, "2.25.171889262008186156123889315933832596192");
	assert_string_equal(rd_doc(&t)->id, "2.25.171889262008186156123889315933832596192");
	rd_end(&t);
	rd_close(&t);

	sample(&t, "samples/hl7v2-washu-scout-logs/postgres_2016_20160829.log");
	rd_reject(&t, MS_EINVAL, 1, "no HL7 segments");
	rd_end(&t);
	rd_close(&t);

	sample(&t, "samples/hl7v2-washu-scout-logs/postgres_2019_20190106.log");
	rd_reject(&t, MS_EINVAL, 1, "empty message");
	rd_end(&t);
	rd_close(&t);

	sample(&t, "samples/hl7v2-washu-scout-logs/postgres_2023_20230113.log");
	rd_reject(&t, MS_EINVAL, 1, "no HL7 segments");
	d = rd_doc(&t);
	assert_int_equal(d->record, 2);
	assert_non_null(strstr(d->text, "patient\u2019s age"));
	assert_int_equal(rd_doc(&t)->record, 3);
	rd_end(&t);
	rd_close(&t);

	sample(&t, "samples/hl7v2-washu-scout-logs/extraction_20250814.log");
	while ((rc = deid_reader_next(t.r, &d, &t.err)) != DEID_READ_END) {
		assert_true(rc == DEID_READ_DOC || rc == DEID_READ_REJECT);
		if (rc == DEID_READ_REJECT) {
			n_rejects++;
			continue;
		}
		n_docs++;
		if (d->encoding == MS_ENC_CP1252) {
			n_cp1252++;
			assert_non_null(strstr(d->text, "special chars: \u00b160%\u00f7\n"));
		}
	}
	assert_int_equal(n_docs, 56);
	assert_int_equal(n_rejects, 4); /* orders without results */
	assert_int_equal(n_cp1252, 1);
	rd_close(&t);
}

/* ---- allocation failures --------------------------------------------------- */

static size_t run(const char *data, size_t len, int *out, size_t max)
{
	struct deid_reader *r = NULL;
	const struct deid_doc *d;
	size_t k = 0;
	int rc;

	rc = deid_reader_open(&r, DEID_FORMAT_HL7, NULL, NULL);
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
	char *data;
	size_t len, n_base, k, i;
	int base[32] = { 0 }, got[32] = { 0 };
	long n;
	struct ms_buf buf = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(ms_file_read(&buf, ms_test_src_path("tests/data/deid/mllp.hl7"), 0, &err),
	                 0);
	assert_int_equal(ms_buf_adds(&buf, "\x0bMSH|^~\\&|x\x1c\r"), 0);
	data = buf.buf;
	len = buf.len;
	n_base = run(data, len, base, 32);
	assert_int_equal(base[n_base - 1], DEID_READ_END);
	for (n = 0;; n++) {
		assert_true(n < 10000);
		ms_alloc_fail_after(n);
		k = run(data, len, got, 32);
		ms_alloc_fail_after(-1);
		if (k == n_base && memcmp(got, base, k * sizeof(int)) == 0)
			break;
		assert_int_equal(got[k - 1], MS_ENOMEM);
		assert_true(k <= n_base);
		for (i = 0; i + 1 < k; i++)
			assert_int_equal(got[i], base[i]);
	}
	ms_buf_release(&buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mllp),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_delims_and_escapes),
		cmocka_unit_test(test_charsets),
		cmocka_unit_test(test_obx_text),
		cmocka_unit_test(test_missing_pid_and_headerless),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_memory_and_caps),
		cmocka_unit_test(test_sample_dcm4che),
		cmocka_unit_test(test_sample_hl7eu),
		cmocka_unit_test(test_sample_washu),
		cmocka_unit_test(test_alloc_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
