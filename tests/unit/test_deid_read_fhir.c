/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/read_fhir.c: R4 Bundles with referenced resources,
 * STU3 shapes, presentedForm decoding and markup stripping, the text
 * precedence, NDJSON, malformed JSON, the public samples and an
 * allocation-failure walk (jansson allocates through ms_malloc here).
 */
#include "ms_test.h"

#include <jansson.h>
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

static void rd_path(struct rd *t, enum deid_format fmt, const char *path)
{
	memset(t, 0, sizeof(*t));
	assert_int_equal(deid_reader_open(&t->r, fmt, NULL, &t->err), 0);
	t->fp = fopen(path, "rb");
	assert_non_null(t->fp);
	assert_int_equal(deid_reader_feed_file(t->r, t->fp, path, &t->err), 0);
}

static void rd_fixture(struct rd *t, const char *name)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "tests/data/deid/%s", name);
	rd_path(t, DEID_FORMAT_AUTO, ms_test_src_path(rel));
	assert_int_equal(deid_reader_format(t->r), DEID_FORMAT_FHIR);
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

static void rd_reject(struct rd *t, int code, size_t record, const char *why)
{
	const struct deid_doc *d = NULL;

	assert_int_equal(deid_reader_next(t->r, &d, &t->err), DEID_READ_REJECT);
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

static bool has_label(const struct deid_doc *d, const char *code, const char *system)
{
	size_t i;

	for (i = 0; i < d->n_labels; i++) {
		if (strcmp(d->labels[i].code, code) == 0 && d->labels[i].system &&
		    strcmp(d->labels[i].system, system) == 0)
			return true;
	}
	return false;
}

static void test_r4_bundle(void **state)
{
	struct rd t;
	const struct deid_doc *d;

	(void)state;
	rd_fixture(&t, "r4_bundle.json");
	d = rd_doc(&t);
	assert_string_equal(d->id, "dr-1");
	assert_string_equal(d->group, "KIS-0042");
	assert_int_equal(d->record, 1);
	assert_int_equal(d->format, DEID_FORMAT_FHIR);
	/* text/plain wins over the HTML form; the PDF is skipped and counted */
	assert_string_equal(d->text, "Befund:\nMRT Knie rechts. Meniskusriss Innenmeniskus "
	                             "Hinterhorn.\n\nBeurteilung:\nHorizontaler Riss.");
	assert_true(d->flags & DEID_DOC_SKIPPED_PARTS);
	assert_int_equal(d->n_skipped, 1);
	assert_true(has_label(d, "S83.2", "http://fhir.de/CodeSystem/bfarm/icd-10-gm"));
	assert_true(has_label(d, "24590-2", "http://loinc.org"));
	assert_string_equal(field(d, DEID_FIELD_PATIENT_ID, 1), "A123456789");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_NAME, 0), "Erika Maria Mustermann");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_FAMILY, 0), "Mustermann");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_GIVEN, 1), "Maria");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_BIRTHDATE, 0), "1964-08-12");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_STREET, 0), "Musterweg 12");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_ZIP, 0), "12345");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_PHONE, 0), "030 1234567");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_EMAIL, 0), "erika@example.org");
	assert_null(field(d, DEID_FIELD_PATIENT_PHONE, 1)); /* the url is not a phone */
	assert_string_equal(field(d, DEID_FIELD_CASE_ID, 0), "FALL-4711");
	assert_string_equal(field(d, DEID_FIELD_ACCESSION, 0), "ACC-777");
	assert_string_equal(field(d, DEID_FIELD_ORDER_PLACER, 0), "ORD-55");
	assert_string_equal(field(d, DEID_FIELD_REPORT_ID, 0), "BER-1");
	assert_string_equal(field(d, DEID_FIELD_REFERRER_FAMILY, 0), "Zuweiser");
	assert_string_equal(field(d, DEID_FIELD_PERFORMER_ID, 0), "LANR-123456789");
	assert_string_equal(field(d, DEID_FIELD_PERFORMER_FAMILY, 0), "Radiologin");
	assert_string_equal(field(d, DEID_FIELD_FACILITY, 0), "Radiologie am Musterplatz");

	d = rd_doc(&t);
	assert_string_equal(d->id, "dr-2");
	assert_string_equal(d->group, "KIS-0042"); /* "Patient/pat-1" resolves too */
	assert_string_equal(d->text, "Röntgen Thorax: kein Erguss.\nHerz normal\n"
	                             "Lunge & Pleura frei\n\nEnde \u2013 \u201eok\u201c");
	rd_reject(&t, MS_EINVAL, 3, "non-text presentedForm");
	rd_reject(&t, MS_EINVAL, 4, "invalid base64");
	rd_end(&t);
	rd_close(&t);
}

static void test_stu3_and_notes(void **state)
{
	struct rd t;
	const struct deid_doc *d;

	(void)state;
	rd_fixture(&t, "stu3.json");
	d = rd_doc(&t);
	assert_string_equal(d->id, "stu3-1");
	assert_string_equal(d->group, "KIS-9"); /* contained Patient */
	assert_string_equal(d->text, "CT Schädel:\nKeine Blutung.");
	assert_true(has_label(d, "188340000", "http://snomed.info/sct"));
	assert_string_equal(field(d, DEID_FIELD_PATIENT_NAME, 0), "Max Beispiel");
	assert_string_equal(field(d, DEID_FIELD_PATIENT_BIRTHDATE, 0), "1950-01-02");
	assert_string_equal(field(d, DEID_FIELD_CASE_ID, 0), "FALL-9");
	assert_string_equal(field(d, DEID_FIELD_PERFORMER_NAME, 0), "Dr. Otto Beispielarzt");
	rd_end(&t);
	rd_close(&t);

	rd_fixture(&t, "note_de.json");
	d = rd_doc(&t);
	assert_string_equal(d->group, "KIS-5");
	assert_string_equal(field(d, DEID_FIELD_ACCESSION, 0), "123456789");
	assert_true(strncmp(d->text, "Linker Fuß:\n  Allenfalls geringe", 33) == 0);
	assert_non_null(strstr(d->text, "Gegenseite.\n\nBeginnende Großzehengrundgelenksarthrose"));
	assert_null(strstr(d->text, "generiert"));
	rd_end(&t);
	rd_close(&t);
}

static void test_ndjson_and_malformed(void **state)
{
	struct rd t;
	const struct deid_doc *d;

	(void)state;
	rd_fixture(&t, "reports.ndjson");
	d = rd_doc(&t);
	assert_string_equal(d->id, "nd-1");
	assert_string_equal(d->group, "nd-p");
	assert_int_equal(d->line, 1);
	rd_reject(&t, MS_EINVAL, 2, "truncated JSON");
	assert_int_equal(t.err.line, 3);
	d = rd_doc(&t);
	assert_string_equal(d->id, "nd-2");
	assert_int_equal(d->record, 3);
	assert_int_equal(d->line, 4);
	rd_reject(&t, MS_EINVAL, 4, "missing resourceType");
	d = rd_doc(&t);
	assert_string_equal(d->id, "nd-3");
	assert_int_equal(d->record, 5);
	rd_end(&t);
	rd_close(&t);

	rd_fixture(&t, "malformed.json");
	rd_reject(&t, MS_EINVAL, 1, "malformed JSON");
	assert_int_equal(t.err.line, 4);
	assert_null(strstr(t.err.msg, "abgeschnitten"));
	rd_end(&t);
	rd_close(&t);
}

static void test_memory_inputs(void **state)
{
	static const char not_json[] = "* status = #final\n";
	static const char arr[] = "[1, 2]";
	static const char patient[] = "{\"resourceType\":\"Patient\",\"id\":\"p\"}";
	struct deid_reader *r;
	struct ms_error err = MS_ERROR_INIT;
	const struct deid_doc *d;

	(void)state;
	assert_int_equal(deid_reader_open(&r, DEID_FORMAT_FHIR, NULL, &err), 0);
	assert_int_equal(deid_reader_feed_mem(r, not_json, sizeof(not_json) - 1, NULL, &err), 0);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_REJECT);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_END);
	assert_int_equal(deid_reader_feed_mem(r, arr, sizeof(arr) - 1, NULL, &err), 0);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_REJECT);
	assert_string_equal(err.msg, "resource is not a JSON object");
	assert_int_equal(deid_reader_feed_mem(r, patient, sizeof(patient) - 1, NULL, &err), 0);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_END);
	assert_int_equal(deid_reader_feed_mem(r, "  \n", 3, NULL, &err), 0);
	assert_int_equal(deid_reader_next(r, &d, &err), DEID_READ_END);
	deid_reader_free(r);
}

static const char *sample_path(const char *name)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "samples/fhir-diagnosticreport/%s", name);
	return ms_test_shared_path(rel);
}

static void test_samples(void **state)
{
	const char *path;
	struct rd t;
	const struct deid_doc *d;

	(void)state;
	path = sample_path("us-core-DiagnosticReport-chest-xray-report.json");
	if (!path)
		skip();
	rd_path(&t, DEID_FORMAT_AUTO, path);
	assert_int_equal(deid_reader_format(t.r), DEID_FORMAT_FHIR);
	d = rd_doc(&t);
	assert_string_equal(d->id, "chest-xray-report");
	assert_string_equal(d->group, "example");
	assert_true(strncmp(d->text,
	                    "Result\n\nChest Portable\nINDICATION/CLINICAL QUESTION: "
	                    "Fever / Pneumonia\nCOMPARISON: None.\n",
	                    83) == 0);
	assert_non_null(strstr(d->text, "IMPRESSION:\n\nNo acute abnormality.\n"));
	assert_null(strstr(d->text, "<"));
	assert_null(strstr(d->text, "Chest Portable\n\nChest")); /* <title> dropped */
	assert_true(has_label(d, "30746-2", "http://loinc.org"));
	assert_string_equal(field(d, DEID_FIELD_PERFORMER_NAME, 0), "Ronald Bone");
	assert_string_equal(field(d, DEID_FIELD_PERFORMER_NAME, 1), "Dr Ronald Bone");
	rd_end(&t);
	rd_close(&t);

	path = sample_path("fhir-spec-diagnosticreport-example-f201-brainct.stu3.json");
	rd_path(&t, DEID_FORMAT_AUTO, path);
	d = rd_doc(&t);
	assert_string_equal(d->id, "f201");
	assert_string_equal(d->group, "f201");
	/* conclusion beats the generated narrative */
	assert_string_equal(d->text, "CT brains: large tumor sphenoid/clivus.");
	assert_true(has_label(d, "188340000", "http://snomed.info/sct"));
	assert_true(has_label(d, "429858000", "http://snomed.info/sct"));
	assert_string_equal(field(d, DEID_FIELD_PATIENT_NAME, 0), "Roel");
	assert_string_equal(field(d, DEID_FIELD_FACILITY, 0), "Blijdorp MC");
	rd_end(&t);
	rd_close(&t);

	/* FHIR Shorthand is not JSON: a reject as FHIR, a document as text */
	path = sample_path("hl7eu-imaging-DiagnosticReportSemiStructured-de.liquid.fsh");
	rd_path(&t, DEID_FORMAT_FHIR, path);
	rd_reject(&t, MS_EINVAL, 1, "JSON");
	rd_end(&t);
	rd_close(&t);
	rd_path(&t, DEID_FORMAT_AUTO, path);
	assert_int_equal(deid_reader_format(t.r), DEID_FORMAT_TEXT);
	d = rd_doc(&t);
	assert_string_equal(d->id, "hl7eu-imaging-DiagnosticReportSemiStructured-de.liquid.fsh");
	assert_non_null(strstr(d->text, "Großzehengrundgelenk"));
	rd_end(&t);
	rd_close(&t);
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
	rc = deid_reader_open(&r, DEID_FORMAT_FHIR, NULL, NULL);
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

static void walk(const char *data, size_t len)
{
	int base[32] = { 0 }, got[32] = { 0 };
	size_t n_base, k, i;
	long n;

	n_base = run(data, len, base, 32);
	assert_int_equal(base[n_base - 1], DEID_READ_END);
	for (n = 0;; n++) {
		assert_true(n < 100000);
		ms_alloc_fail_after(n);
		k = run(data, len, got, 32);
		ms_alloc_fail_after(-1);
		if (k == n_base && memcmp(got, base, k * sizeof(int)) == 0 && !json_oom)
			break;
		if (json_oom) {
			/*
			 * jansson does not report every failed allocation as such (a
			 * failed string copy becomes a syntax error): only require a
			 * clean stop then.
			 */
			assert_true(got[k - 1] == DEID_READ_END || got[k - 1] == MS_ENOMEM);
			continue;
		}
		assert_int_equal(got[k - 1], MS_ENOMEM);
		assert_true(k <= n_base);
		for (i = 0; i + 1 < k; i++)
			assert_int_equal(got[i], base[i]);
	}
}

static void test_alloc_walk(void **state)
{
	struct ms_buf buf = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;
	static const char nd[] =
	        "{\"resourceType\":\"DiagnosticReport\",\"conclusion\":\"a\"}\n"
	        "{\"resourceType\":\"DiagnosticReport\"\n"
	        "{\"resourceType\":\"DiagnosticReport\",\"text\":{\"div\":\"<p>b</p>\"}}\n";

	(void)state;
	assert_int_equal(
	        ms_file_read(&buf, ms_test_src_path("tests/data/deid/r4_bundle.json"), 0, &err), 0);
	walk(buf.buf, buf.len);
	walk(nd, sizeof(nd) - 1);
	ms_buf_release(&buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_r4_bundle),
		cmocka_unit_test(test_stu3_and_notes),
		cmocka_unit_test(test_ndjson_and_malformed),
		cmocka_unit_test(test_memory_inputs),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_alloc_walk),
	};

	/* let the allocation walk reach jansson's allocations too */
	json_set_alloc_funcs(json_alloc, ms_free);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
