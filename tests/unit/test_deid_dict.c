/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/dict.c, the per-record dictionary: name variants
 * (case, umlauts both ways, one edit, genitive, initials, "Nachname,
 * Vorname"), everyday-word names, word boundaries, labels, fields and
 * genders, birth dates in other formats, ids with separators and leading
 * zeros, phone numbers, e-mail, address and facility phrases, and an
 * allocation-failure walk.
 */
#include "ms_test.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "deid/deid.h"

static struct deid_detector *with_gaz, *without_gaz;

static struct deid_detector *make(bool gaz)
{
	struct deid_detector_opts o = DEID_DETECTOR_OPTS_INIT;
	struct deid_detector *det = NULL;
	struct ms_error err = MS_ERROR_INIT;
	static char dir[4096];
	char msg[512];

	snprintf(dir, sizeof(dir), "%s", ms_test_src_path("data/gazetteers"));
	o.gazetteer_dir = gaz ? dir : NULL;
	/* the dictionary alone: no rules; gazetteer candidates are not asked for */
	o.flags = DEID_DETECT_NO_RULES;
	if (deid_detector_new(&det, &o, &err))
		fail_msg("%s", ms_error_format(&err, msg, sizeof(msg)));
	return det;
}

static int setup(void **state)
{
	(void)state;
	with_gaz = make(true);
	without_gaz = make(false);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	deid_detector_free(with_gaz);
	deid_detector_free(without_gaz);
	return 0;
}

#define F(kind, value)                             \
	{                                          \
		(kind), (value), sizeof(value) - 1 \
	}

/* Runs det on text with fields; keeps dictionary spans only. */
static void run(struct deid_detector *det, const char *text, const struct deid_field *fields,
                size_t n_fields, struct deid_spans *out)
{
	struct deid_doc doc;
	struct ms_error err = MS_ERROR_INIT;
	size_t i, w = 0;
	char msg[512];

	memset(&doc, 0, sizeof(doc));
	doc.id = "t";
	doc.text = text;
	doc.len = strlen(text);
	doc.fields = fields;
	doc.n_fields = n_fields;
	if (deid_detector_run(det, &doc, out, &err))
		fail_msg("%s", ms_error_format(&err, msg, sizeof(msg)));
	for (i = 0; i < out->n; i++) {
		if (out->v[i].source_kind == DEID_SOURCE_DICT)
			out->v[w++] = out->v[i];
	}
	out->n = w;
}

/* The texts of the spans, "|"-separated, for compact assertions. */
static const char *texts(const char *text, const struct deid_spans *sp)
{
	static char out[2048];
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < sp->n && n < sizeof(out) - 64; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%.*s", i ? "|" : "",
		                      (int)(sp->v[i].end - sp->v[i].start), text + sp->v[i].start);
	return out;
}

static void test_name_variants(void **state)
{
	static const struct deid_field fields[] = {
		F(DEID_FIELD_PATIENT_FAMILY, "Müller"),
		F(DEID_FIELD_PATIENT_GIVEN, "Maria"),
	};
	const char *text = "Frau MÜLLER, Maria Mueller und Herr Muller. Müllers Befund; "
	                   "M. Müller; Müller, M.; Mülller; Albersheim; Müllerstraße.";
	struct deid_spans sp = DEID_SPANS_INIT;
	size_t i;

	(void)state;
	run(with_gaz, text, fields, 2, &sp);
	assert_string_equal(texts(text, &sp), "MÜLLER|Maria|Mueller|Muller|Müller|M. Müller|"
	                                      "Müller, M.|Mülller");
	for (i = 0; i < sp.n; i++)
		assert_int_equal(sp.v[i].label, PHI_PATIENT);
	assert_int_equal(sp.v[1].field, DEID_FIELD_PATIENT_GIVEN);
	assert_string_equal(sp.v[1].source, "dict:patient.given");
	assert_int_equal(sp.v[0].field, DEID_FIELD_PATIENT_FAMILY);
	assert_true(sp.v[7].score < 1.0f); /* one edit */
	deid_spans_release(&sp);
}

/* The gender of a person's name words comes from a given name. */
static void test_gender(void **state)
{
	static const struct deid_field fields[] = {
		F(DEID_FIELD_PATIENT_FAMILY, "Muster"),
		F(DEID_FIELD_PATIENT_GIVEN, "Beate"),
		F(DEID_FIELD_REFERRER_FAMILY, "Beispiel"),
	};
	const char *text = "Muster, Beate; Dr. Beispiel";
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	run(with_gaz, text, fields, 3, &sp);
	assert_string_equal(texts(text, &sp), "Muster|Beate|Beispiel");
	assert_int_equal(sp.v[0].gender, 'f');
	assert_int_equal(sp.v[1].gender, 'f');
	assert_int_equal(sp.v[2].gender, 0);
	assert_int_equal(sp.v[2].label, PHI_STAFF);
	run(without_gaz, text, fields, 3, &sp);
	assert_int_equal(sp.v[0].gender, 0);
	deid_spans_release(&sp);
}

static void test_staff_and_titles(void **state)
{
	static const struct deid_field fields[] = {
		F(DEID_FIELD_REFERRER_NAME, "Dr. med. Eva Knoblauch"),
		F(DEID_FIELD_PERFORMER_FAMILY, "von Hausen"),
	};
	const char *text = "Dr. med. Knoblauch und Dr. von Hausen; Eva";
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	run(with_gaz, text, fields, 2, &sp);
	assert_string_equal(texts(text, &sp), "Knoblauch|Hausen|Eva");
	assert_int_equal(sp.v[0].label, PHI_STAFF);
	assert_int_equal(sp.v[1].field, DEID_FIELD_PERFORMER_FAMILY);
	deid_spans_release(&sp);
}

/* A name that is an everyday word matches only capitalised. */
static void test_common_word(void **state)
{
	static const struct deid_field fields[] = { F(DEID_FIELD_PATIENT_FAMILY, "Klein") };
	const char *text = "klein, kleine Zyste; Frau Klein; KLEIN";
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	run(with_gaz, text, fields, 1, &sp);
	assert_string_equal(texts(text, &sp), "Klein|KLEIN");
	/* without gazetteers every name is treated as a possible word */
	run(without_gaz, text, fields, 1, &sp);
	assert_string_equal(texts(text, &sp), "Klein|KLEIN");
	deid_spans_release(&sp);
}

/*
 * One edit reaches spelling variants ("Marija" - "Maria", "Meier" -
 * "Meyer") but not a known everyday or medical word ("Kein" from "Klein",
 * "Becken" from "Becker", "Lunge" from "Lange") nor a word whose last letter
 * differs, where German endings change ("Hause", "Hausre" from "Hauser").
 */
static void test_one_edit_limits(void **state)
{
	static const struct deid_field fields[] = {
		F(DEID_FIELD_PATIENT_FAMILY, "Becker"),  F(DEID_FIELD_PATIENT_GIVEN, "Marija"),
		F(DEID_FIELD_REFERRER_FAMILY, "Meier"),  F(DEID_FIELD_PERFORMER_FAMILY, "Klein"),
		F(DEID_FIELD_PERFORMER_GIVEN, "Hauser"), F(DEID_FIELD_REFERRER_GIVEN, "Lange"),
	};
	const char *text = "Becken frei. Kein Erguss. Lunge frei. Nach Hause. "
	                   "Maria Beckker, Dr. Meyer, Hasuer, Hausre.";
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	run(with_gaz, text, fields, sizeof(fields) / sizeof(fields[0]), &sp);
	assert_string_equal(texts(text, &sp), "Maria|Beckker|Meyer|Hasuer");
	deid_spans_release(&sp);
}

static void test_birthdate(void **state)
{
	static const struct deid_field iso[] = { F(DEID_FIELD_PATIENT_BIRTHDATE, "1960-03-01") };
	static const struct deid_field hl7[] = { F(DEID_FIELD_PATIENT_BIRTHDATE,
		                                   "19600301120000") };
	static const struct deid_field de[] = { F(DEID_FIELD_PATIENT_BIRTHDATE, "1.3.60") };
	const char *text = "01.03.1960, 1.3.60, 1960-03-01, 01/03/1960, 1. März 1960, 01031960, "
	                   "19600301, 01. 03. 1960; nicht 01.03.1961 oder 02.03.1960";
	const char *expect = "01.03.1960|1.3.60|1960-03-01|01/03/1960|1. März 1960|01031960|"
	                     "19600301|01. 03. 1960";
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	run(with_gaz, text, iso, 1, &sp);
	assert_string_equal(texts(text, &sp), expect);
	assert_int_equal(sp.v[0].label, PHI_BIRTHDATE);
	run(without_gaz, text, hl7, 1, &sp);
	assert_string_equal(texts(text, &sp), expect);
	/* a two-digit year matches any century */
	run(with_gaz, text, de, 1, &sp);
	assert_string_equal(texts(text, &sp), expect);
	deid_spans_release(&sp);
}

static void test_ids(void **state)
{
	static const struct deid_field fields[] = {
		F(DEID_FIELD_PATIENT_ID, "00123456"),
		F(DEID_FIELD_ACCESSION, "RAD-2021/77"),
		F(DEID_FIELD_CASE_ID, "12"), /* too short to search */
		F(DEID_FIELD_PATIENT_ZIP, "10117"),
	};
	const char *text = "PID 123456, 00123456, 123-456, 1234567; Auftrag rad 2021/77; Bett 12; "
	                   "10117 Berlin";
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	run(with_gaz, text, fields, 4, &sp);
	assert_string_equal(texts(text, &sp), "123456|00123456|123-456|rad 2021/77|10117");
	assert_int_equal(sp.v[0].label, PHI_ID);
	assert_int_equal(sp.v[4].label, PHI_ZIP);
	deid_spans_release(&sp);
}

static void test_contact(void **state)
{
	static const struct deid_field fields[] = {
		F(DEID_FIELD_PATIENT_PHONE, "+49 30 1234567"),
		F(DEID_FIELD_PATIENT_EMAIL, "anna.mueller@example.org"),
	};
	const char *text = "Tel. 030/1234567 oder 1234567, 0049 30 1234567; Mail "
	                   "ANNA.MUELLER@EXAMPLE.ORG, nicht xanna.mueller@example.org";
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	run(with_gaz, text, fields, 2, &sp);
	assert_string_equal(texts(text, &sp), "030/1234567|1234567|0049 30 1234567|"
	                                      "ANNA.MUELLER@EXAMPLE.ORG");
	assert_int_equal(sp.v[0].label, PHI_PHONE);
	assert_int_equal(sp.v[3].label, PHI_EMAIL);
	deid_spans_release(&sp);
}

static void test_phrases(void **state)
{
	static const struct deid_field fields[] = {
		F(DEID_FIELD_PATIENT_STREET, "Hauptstraße 12"),
		F(DEID_FIELD_PATIENT_CITY, "Frankfurt am Main"),
		F(DEID_FIELD_FACILITY, "Klinikum Musterstadt"),
	};
	const char *text = "wohnt Hauptstraße 12 in Frankfurt am Main; die Hauptstraße; "
	                   "Klinikum  Musterstadt; Frankfurt (Oder)";
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	run(with_gaz, text, fields, 3, &sp);
	/* the street without its number overlaps the one with it: the longer stays */
	assert_string_equal(texts(text, &sp), "Hauptstraße 12|Frankfurt am Main|Hauptstraße|"
	                                      "Klinikum  Musterstadt");
	deid_spans_release(&sp);
}

static void test_no_fields(void **state)
{
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	run(with_gaz, "Frau Müller", NULL, 0, &sp);
	assert_int_equal(sp.n, 0);
	deid_spans_release(&sp);
}

/* Runs the detector with the Nth allocation failing, for every N until it
 * succeeds: each run fails with MS_ENOMEM or finds all n_spans spans. */
static void alloc_walk(const struct deid_field *fields, size_t n_fields, const char *text,
                       size_t n_spans)
{
	struct deid_detector_opts o = DEID_DETECTOR_OPTS_INIT;
	long n;

	o.flags = DEID_DETECT_NO_RULES;
	for (n = 0; n < 1000; n++) {
		struct deid_detector *det = NULL;
		struct deid_spans sp = DEID_SPANS_INIT;
		struct ms_error err = MS_ERROR_INIT;
		struct deid_doc doc;
		int rc;

		memset(&doc, 0, sizeof(doc));
		doc.id = "t";
		doc.text = text;
		doc.len = strlen(text);
		doc.fields = fields;
		doc.n_fields = n_fields;
		ms_alloc_fail_after(n);
		rc = deid_detector_new(&det, &o, &err);
		if (!rc)
			rc = deid_detector_run(det, &doc, &sp, &err);
		ms_alloc_fail_after(-1);
		deid_detector_free(det);
		if (!rc) {
			assert_int_equal(sp.n, n_spans);
			deid_spans_release(&sp);
			return;
		}
		assert_int_equal(rc, MS_ENOMEM);
		deid_spans_release(&sp);
	}
	fail_msg("never succeeded");
}

static void test_alloc_failures(void **state)
{
	static const struct deid_field fields[] = {
		F(DEID_FIELD_PATIENT_FAMILY, "Müller"),
		F(DEID_FIELD_PATIENT_BIRTHDATE, "1960-03-01"),
		F(DEID_FIELD_PATIENT_ID, "123456"),
		F(DEID_FIELD_PATIENT_STREET, "Hauptstraße 12"),
		F(DEID_FIELD_PATIENT_PHONE, "030 1234567"),
		F(DEID_FIELD_PATIENT_EMAIL, "a@b.de"),
	};

	(void)state;
	alloc_walk(fields, sizeof(fields) / sizeof(fields[0]),
	           "Müller, 01.03.1960, 123456, Hauptstraße 12, 030 1234567, a@b.de", 6);
}

/* A failed name match followed by another word must still fail the run. */
static void test_alloc_failure_name_then_word(void **state)
{
	static const struct deid_field fields[] = {
		F(DEID_FIELD_PATIENT_FAMILY, "Müller"),
	};

	(void)state;
	alloc_walk(fields, 1, "Herr Müller kam heute", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_variants),
		cmocka_unit_test(test_gender),
		cmocka_unit_test(test_staff_and_titles),
		cmocka_unit_test(test_common_word),
		cmocka_unit_test(test_one_edit_limits),
		cmocka_unit_test(test_birthdate),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_contact),
		cmocka_unit_test(test_phrases),
		cmocka_unit_test(test_no_fields),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_alloc_failure_name_then_word),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
