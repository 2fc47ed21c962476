/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/surrogate.c (through the replacer and the internal
 * API): the compiled-in lists equal data/surrogates/, determinism, the same
 * person getting the same surrogate within a patient, other keys giving
 * other surrogates, no surrogate equal to its original, gender, date shifts
 * that keep intervals and every German format, format-preserving ids,
 * phone numbers and zip codes, ages over 89, titles, particles, initials
 * and case.
 */
#include "ms_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "deid/deid.h"
#include "deid/replace_int.h"

static struct deid_key key_a, key_b;

static int setup(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < DEID_KEY_LEN; i++) {
		key_a.bytes[i] = (unsigned char)i;
		key_b.bytes[i] = (unsigned char)(i + 1);
	}
	return 0;
}

static struct deid_replacer *replacer(const struct deid_key *key)
{
	struct deid_replace_opts o = { DEID_MODE_SURROGATE, key };
	struct deid_replacer *r = NULL;
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(deid_replacer_new(&r, &o, &err), 0);
	return r;
}

/* Up to 8 spans, each the first occurrence of needle at or after the last one. */
struct want {
	const char *needle;
	enum phi_label label;
	char gender;
};

static char outs[8][256];

/* Replaces the spans in text; outs[i] gets the replacement of span i; returns the text. */
static const char *run(struct deid_replacer *r, const char *id, const char *group, const char *text,
                       const struct want *w, size_t n)
{
	static char result[4096];
	struct deid_doc doc;
	struct deid_span spans[8];
	const struct deid_replaced *res;
	struct ms_error err = MS_ERROR_INIT;
	size_t i, from = 0;

	memset(&doc, 0, sizeof(doc));
	doc.id = id;
	doc.group = group;
	doc.text = text;
	doc.len = strlen(text);
	assert_true(n <= 8);
	for (i = 0; i < n; i++) {
		const char *p = strstr(text + from, w[i].needle);

		assert_non_null(p);
		memset(&spans[i], 0, sizeof(spans[i]));
		spans[i].start = (size_t)(p - text);
		spans[i].end = spans[i].start + strlen(w[i].needle);
		spans[i].label = w[i].label;
		spans[i].source = "test";
		spans[i].gender = w[i].gender;
		spans[i].field = -1;
		from = spans[i].end;
	}
	assert_int_equal(deid_replacer_run(r, &doc, spans, n, &res, &err), 0);
	for (i = 0; i < n; i++) {
		const struct deid_out_span *o = &res->spans[i];

		assert_true(o->end - o->start < sizeof(outs[i]));
		memcpy(outs[i], res->text + o->start, o->end - o->start);
		outs[i][o->end - o->start] = '\0';
	}
	snprintf(result, sizeof(result), "%s", res->text);
	return result;
}

/* The surrogate of one span. */
static const char *sur1(struct deid_replacer *r, const char *group, const char *text,
                        enum phi_label label)
{
	struct want w = { text, label, 0 };

	run(r, "doc", group, text, &w, 1);
	return outs[0];
}

static bool in_list(enum deid_sur_list_id l, const char *s)
{
	size_t i;

	for (i = 0; i < deid_sur_lists[l].n; i++) {
		if (!strcmp(deid_sur_lists[l].v[i], s))
			return true;
	}
	return false;
}

/* ---- lists ------------------------------------------------------------- */

static void test_lists_match_files(void **state)
{
	size_t l;

	(void)state;
	for (l = 0; l < DEID_SUR_LIST_COUNT; l++) {
		const struct deid_sur_list *list = &deid_sur_lists[l];
		struct ms_buf data = MS_BUF_INIT;
		struct ms_error err = MS_ERROR_INIT;
		struct ms_lines it;
		const char *line;
		size_t len, i = 0;
		char rel[128];

		snprintf(rel, sizeof(rel), "data/surrogates/%s.txt", list->name);
		assert_int_equal(ms_file_read(&data, ms_test_src_path(rel), 0, &err), 0);
		ms_lines_init(&it, data.buf, data.len);
		while (ms_lines_next(&it, &line, &len)) {
			assert_true(i < list->n);
			if (strlen(list->v[i]) != len || memcmp(list->v[i], line, len) != 0)
				fail_msg("%s line %zu differs: run scripts/gen_surrogate_lists.py",
				         list->name, i + 1);
			i++;
		}
		assert_int_equal(i, list->n);
		assert_true(list->n >= 20);
		ms_buf_release(&data);
	}
}

static void test_fingerprint(void **state)
{
	char a[DEID_FINGERPRINT_LEN + 1], b[DEID_FINGERPRINT_LEN + 1];

	(void)state;
	deid_surrogates_fingerprint(a);
	deid_surrogates_fingerprint(b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 64);
}

/* ---- names ------------------------------------------------------------- */

static void test_same_person_same_surrogate(void **state)
{
	struct deid_replacer *r = replacer(&key_a), *r2 = replacer(&key_a);
	const struct want w1[] = { { "Maria Müller", PHI_PATIENT, 0 },
		                   { "Frau Müller", PHI_PATIENT, 0 },
		                   { "MÜLLER", PHI_PATIENT, 0 } };
	const struct want w2[] = { { "Müller, Maria", PHI_PATIENT, 0 } };
	const struct want w3[] = { { "Maria Mueller", PHI_PERSON_OTHER, 0 } };
	char given[256], family[256], first[256], expect[600];
	const char *sp;

	(void)state;
	run(r, "d1", "P-1", "Patientin Maria Müller, Frau Müller berichtet. MÜLLER", w1, 3);
	sp = strchr(outs[0], ' ');
	assert_non_null(sp);
	snprintf(given, sizeof(given), "%.*s", (int)(sp - outs[0]), outs[0]);
	snprintf(family, sizeof(family), "%s", sp + 1);
	assert_true(in_list(DEID_SUR_FIRST_FEMALE, given));
	assert_true(in_list(DEID_SUR_LAST, family));
	snprintf(expect, sizeof(expect), "Frau %s", family);
	assert_string_equal(outs[1], expect);
	/* upper case stays upper case */
	snprintf(first, sizeof(first), "%s", outs[2]);
	assert_null(strpbrk(first, "abcdefghijklmnopqrstuvwxyz"));
	assert_int_equal(strlen(first), strlen(family));

	/* another document of the same patient, another replacer: same names */
	run(r2, "d2", "P-1", "Befund: Müller, Maria", w2, 1);
	snprintf(expect, sizeof(expect), "%s, %s", family, given);
	assert_string_equal(outs[0], expect);
	/* umlaut spelled out, another label: still the same person */
	run(r2, "d3", "P-1", "Frau Maria Mueller", w3, 1);
	snprintf(expect, sizeof(expect), "%s %s", given, family);
	assert_string_equal(outs[0], expect);

	deid_replacer_free(r);
	deid_replacer_free(r2);
}

static void test_other_patient_other_key(void **state)
{
	struct deid_replacer *a = replacer(&key_a), *a2 = replacer(&key_a), *b = replacer(&key_b);
	static const char *const names[] = { "Schneider", "Wagner", "Becker", "Hoffmann",
		                             "Schulz",    "Koch",   "Richter" };
	size_t i, same_group = 0, same_key = 0;
	char x[256];

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(x, sizeof(x), "%s", sur1(a, "P-1", names[i], PHI_PATIENT));
		/* deterministic: a fresh replacer with the same key agrees */
		assert_string_equal(sur1(a2, "P-1", names[i], PHI_PATIENT), x);
		same_group += !strcmp(sur1(a, "P-2", names[i], PHI_PATIENT), x);
		same_key += !strcmp(sur1(b, "P-1", names[i], PHI_PATIENT), x);
	}
	/* 1688 surnames: a few coincidences at most */
	assert_true(same_group <= 1);
	assert_true(same_key <= 1);
	deid_replacer_free(a);
	deid_replacer_free(a2);
	deid_replacer_free(b);
}

static bool ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

static void test_never_equal(void **state)
{
	static const struct {
		enum deid_sur_list_id list;
		enum phi_label label;
	} cases[] = {
		{ DEID_SUR_LAST, PHI_PATIENT },
		{ DEID_SUR_FIRST_FEMALE, PHI_STAFF },
		{ DEID_SUR_FIRST_MALE, PHI_PERSON_OTHER },
		{ DEID_SUR_CITY, PHI_CITY },
		{ DEID_SUR_STREET, PHI_STREET },
		{ DEID_SUR_COUNTRY, PHI_COUNTRY },
		{ DEID_SUR_PROFESSION, PHI_PROFESSION },
	};
	struct deid_replacer *r = replacer(&key_a);
	size_t c, i;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct deid_sur_list *l = &deid_sur_lists[cases[c].list];

		for (i = 0; i < l->n; i++) {
			const char *s = sur1(r, "P-9", l->v[i], cases[c].label);

			if (ieq(s, l->v[i]))
				fail_msg("'%s' (%s) maps to itself", l->v[i], l->name);
		}
	}
	assert_string_not_equal(sur1(r, "P", "4711", PHI_ID), "4711");
	assert_string_equal(sur1(r, "P", "0", PHI_ID), "[ID]");
	assert_string_equal(sur1(r, "P", "--", PHI_OTHER), "[OTHER]");
	/* a name span with no name in it: digits are replaced, else the tag */
	assert_string_equal(sur1(r, "P", ": \"", PHI_PERSON_OTHER), "[PERSON_OTHER]");
	assert_string_not_equal(sur1(r, "P", "08.03.2021", PHI_PATIENT), "08.03.2021");
	assert_int_equal(strlen(outs[0]), 10);
	assert_string_not_equal(sur1(r, "P", "Dr. 3", PHI_STAFF), "Dr. 3");
	assert_string_not_equal(sur1(r, "P", "St. Marien", PHI_HOSPITAL), "St. Marien");
	deid_replacer_free(r);
}

static void test_gender(void **state)
{
	struct deid_replacer *r = replacer(&key_a);
	const struct want wf[] = { { "Anna Schmidt", PHI_PATIENT, 0 } };
	const struct want wm[] = { { "Peter Schmidt", PHI_PATIENT, 0 } };
	const struct want wh[] = { { "Herr Kim Schmidt", PHI_PATIENT, 0 } };
	const struct want ws[] = { { "Xanthippe Schmidt", PHI_PATIENT, 'f' } };
	char given[256];
	size_t i;

	(void)state;
	for (i = 0; i < 20; i++) {
		char group[16];

		snprintf(group, sizeof(group), "G%zu", i);
		run(r, "d", group, "Anna Schmidt", wf, 1);
		snprintf(given, sizeof(given), "%.*s", (int)strcspn(outs[0], " "), outs[0]);
		assert_true(in_list(DEID_SUR_FIRST_FEMALE, given));
		run(r, "d", group, "Peter Schmidt", wm, 1);
		snprintf(given, sizeof(given), "%.*s", (int)strcspn(outs[0], " "), outs[0]);
		assert_true(in_list(DEID_SUR_FIRST_MALE, given));
		/* "Kim" is in both lists: the salutation decides */
		run(r, "d", group, "Herr Kim Schmidt", wh, 1);
		assert_memory_equal(outs[0], "Herr ", 5);
		snprintf(given, sizeof(given), "%.*s", (int)strcspn(outs[0] + 5, " "), outs[0] + 5);
		assert_true(in_list(DEID_SUR_FIRST_MALE, given));
		/* unknown name: the span's gender */
		run(r, "d", group, "Xanthippe Schmidt", ws, 1);
		snprintf(given, sizeof(given), "%.*s", (int)strcspn(outs[0], " "), outs[0]);
		assert_true(in_list(DEID_SUR_FIRST_FEMALE, given));
	}
	deid_replacer_free(r);
}

static void test_titles_particles_initials(void **state)
{
	struct deid_replacer *r = replacer(&key_a);
	const struct want w[] = { { "Dr. med. Hans von Weizsäcker", PHI_STAFF, 0 },
		                  { "M. Müller-Lüdenscheidt", PHI_STAFF, 0 } };
	char *p;

	(void)state;
	run(r, "d", "G", "Befund von Dr. med. Hans von Weizsäcker und M. Müller-Lüdenscheidt", w,
	    2);
	assert_memory_equal(outs[0], "Dr. med. ", 9);
	assert_non_null(strstr(outs[0], " von "));
	assert_null(strstr(outs[0], "Hans"));
	assert_null(strstr(outs[0], "Weizsäcker"));
	/* initial: another capital letter; compound name: two surnames */
	assert_true(outs[1][0] >= 'A' && outs[1][0] <= 'Z' && outs[1][0] != 'M');
	assert_memory_equal(outs[1] + 1, ". ", 2);
	p = strchr(outs[1] + 3, '-');
	assert_non_null(p);
	*p = '\0';
	assert_true(in_list(DEID_SUR_LAST, outs[1] + 3));
	assert_true(in_list(DEID_SUR_LAST, p + 1));
	/* titles and salutations alone hide no name: they stay */
	assert_string_equal(sur1(r, "G", "Dr. med.", PHI_STAFF), "Dr. med.");
	assert_string_equal(sur1(r, "G", "Frau", PHI_PATIENT), "Frau");
	deid_replacer_free(r);
}

static void test_fields_decide_roles(void **state)
{
	struct deid_replacer *r = replacer(&key_a);
	struct deid_field fields[2] = { { DEID_FIELD_PATIENT_FAMILY, "Otto", 4 },
		                        { DEID_FIELD_PATIENT_GIVEN, "Werner", 6 } };
	struct deid_doc doc;
	struct deid_span sp;
	const struct deid_replaced *res;
	struct ms_error err = MS_ERROR_INIT;
	char given[256];

	(void)state;
	memset(&doc, 0, sizeof(doc));
	doc.id = "d";
	doc.group = "G";
	doc.text = "Otto Werner";
	doc.len = 11;
	doc.fields = fields;
	doc.n_fields = 2;
	memset(&sp, 0, sizeof(sp));
	sp.end = 11;
	sp.label = PHI_PATIENT;
	sp.field = -1;
	/* family name first: the fields say so */
	assert_int_equal(deid_replacer_run(r, &doc, &sp, 1, &res, &err), 0);
	snprintf(given, sizeof(given), "%s", strchr(res->text, ' ') + 1);
	assert_true(in_list(DEID_SUR_FIRST_MALE, given));
	deid_replacer_free(r);
}

/* ---- dates ------------------------------------------------------------- */

static void expect_date(const char *in, int shift, const char *want)
{
	struct ms_buf out = MS_BUF_INIT;
	int rc = deid_sur_date(&out, in, strlen(in), shift);

	if (!want) {
		assert_int_equal(rc, 0);
		assert_int_equal(out.len, 0);
	} else {
		if (rc != 1)
			fail_msg("'%s' not parsed", in);
		assert_string_equal(out.buf, want);
	}
	ms_buf_release(&out);
}

static void test_date_formats(void **state)
{
	(void)state;
	expect_date("3. März 2021", 10, "13. März 2021");
	expect_date("3.März 2021", 31, "3.April 2021");
	expect_date("03. März 2021", -3, "28. Februar 2021");
	expect_date("3. MÄRZ 2021", 31, "3. APRIL 2021");
	expect_date("3. Mär. 2021", 31, "3. Apr. 2021");
	expect_date("3. Mrz. 21", 1, "4. Mrz. 21");
	expect_date("15. Jänner 2021", 3, "18. Jänner 2021");
	expect_date("3. März", 30, "2. April");
	expect_date("03.03.21", 30, "02.04.21");
	expect_date("03.03.2021", -365, "03.03.2020");
	expect_date("3.3.2021", 30, "2.4.2021");
	expect_date("3.3.2021", 300, "28.12.2021");
	expect_date("31.12.2021", 1, "01.01.2022");
	expect_date("03/03/2021", 1, "04/03/2021");
	expect_date("03. 03. 2021", 1, "04. 03. 2021");
	expect_date("2021-03-03", 1, "2021-03-04");
	expect_date("2021-03", 40, "2021-04");
	expect_date("März 2021", 30, "April 2021");
	/* a line wrapped inside the date keeps its break */
	expect_date("August\n14, 2024", 17, "August\n31, 2024");
	expect_date("September 13,\n2024", 1, "September 14,\n2024");
	expect_date("Mär. 2021", 30, "Apr. 2021");
	expect_date("Dezember 2021", 30, "Januar 2022");
	expect_date("03/2021", -30, "02/2021");
	expect_date("03.2021", 30, "04.2021");
	expect_date("03.03.", 30, "02.04.");
	expect_date("Mi., 3. März 2021", 1, "Do., 4. März 2021");
	expect_date("Mittwoch, 3. März 2021", 2, "Freitag, 5. März 2021");
	expect_date("Mi, 03.03.2021", -3, "So, 28.02.2021");
	expect_date("2021", 100, "2022");
	expect_date("2021", -40, "2020");
	expect_date("03.03.2021 14:35", 1, "04.03.2021 14:35");
	expect_date("03.03.2021, 14.35 Uhr", 1, "04.03.2021, 14.35 Uhr");
	expect_date("29.02.2020", 365, "28.02.2021");
	/* month first is English usage, so the month stays English */
	expect_date("Nov 17 1994", 30, "Dec 17 1994");
	expect_date("May 3 2021", 60, "July 2 2021"); /* "May" is the full name */
	expect_date("March 30, 2021", 2, "April 01, 2021");
	expect_date("3 October 2021", 30, "2 November 2021");
	expect_date("17. Dezember 2021", 15, "01. Januar 2022");
	expect_date("Nov. 17, 1994", 1, "Nov. 18, 1994");
	expect_date("Nov 17 1994 11:30", 45, "Jan 01 1995 11:30");
	/* a year-less date moved by exactly a year would read the same */
	expect_date("01.03.", 365, "28.02.");
	/* not dates this parser knows */
	expect_date("31.02.2021", 30, NULL);
	expect_date("13.13.2021", 30, NULL);
	expect_date("Anfang März", 30, NULL);
	expect_date("03.03.2021 4711", 30, NULL);
	expect_date("im Frühjahr 2021", 30, NULL);
}

static void test_date_shift(void **state)
{
	struct deid_hmac h;
	size_t i, n_neg = 0;
	char scope[32];

	(void)state;
	deid_hmac_init(&h, &key_a);
	for (i = 0; i < 2000; i++) {
		int n = snprintf(scope, sizeof(scope), "group:%zu", i);
		int s = deid_sur_date_shift(&h, scope, (size_t)n);

		assert_true(abs(s) >= 30 && abs(s) <= 365);
		assert_int_equal(s, deid_sur_date_shift(&h, scope, (size_t)n));
		n_neg += s < 0;
	}
	assert_true(n_neg > 800 && n_neg < 1200);
}

/* Days since 0000-03-01 of "DD.MM.YYYY" (for differences only). */
static long day_number(const char *ddmmyyyy)
{
	long d = strtol(ddmmyyyy, NULL, 10), m = strtol(ddmmyyyy + 3, NULL, 10);
	long y = strtol(ddmmyyyy + 6, NULL, 10);

	if (m <= 2) {
		y--;
		m += 12;
	}
	return 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d;
}

static void test_dates_keep_intervals(void **state)
{
	struct deid_replacer *r = replacer(&key_a);
	const struct want w[] = { { "01.03.2021", PHI_BIRTHDATE, 0 },
		                  { "15.03.2021", PHI_DATE, 0 },
		                  { "im Frühjahr 21", PHI_DATE, 0 } };
	const struct want w2[] = { { "20.03.2021", PHI_DATE, 0 } };
	long a, b, c;

	(void)state;
	run(r, "d1", "P-7", "geb. 01.03.2021, Aufnahme 15.03.2021 und im Frühjahr 21", w, 3);
	a = day_number(outs[0]);
	b = day_number(outs[1]);
	assert_int_equal(b - a, 14);
	assert_int_not_equal(a, day_number("01.03.2021"));
	/* unparseable: digits replaced, format kept */
	assert_memory_equal(outs[2], "im Frühjahr ", strlen("im Frühjahr "));
	assert_string_not_equal(outs[2], "im Frühjahr 21");
	/* another document of the patient: the same shift */
	run(r, "d2", "P-7", "Kontrolle 20.03.2021", w2, 1);
	c = day_number(outs[0]);
	assert_int_equal(c - a, 19);
	deid_replacer_free(r);
}

/* ---- ids, contacts, ages, places ---------------------------------------- */

static void expect_shape(const char *got, const char *orig, const char *shape)
{
	size_t i;

	assert_int_equal(strlen(got), strlen(shape));
	assert_string_not_equal(got, orig);
	for (i = 0; shape[i]; i++) {
		char c = got[i];

		switch (shape[i]) {
		case '9':
			assert_true(c >= '0' && c <= '9');
			break;
		case 'N': /* non-zero digit */
			assert_true(c >= '1' && c <= '9');
			break;
		case 'A':
			assert_true(c >= 'A' && c <= 'Z');
			break;
		case 'a':
			assert_true(c >= 'a' && c <= 'z');
			break;
		default:
			assert_int_equal(c, shape[i]);
		}
	}
}

static void test_ids_and_contacts(void **state)
{
	struct deid_replacer *r = replacer(&key_a), *r2 = replacer(&key_a);
	char first[256];

	(void)state;
	expect_shape(sur1(r, "P", "12345678", PHI_ID), "12345678", "N9999999");
	snprintf(first, sizeof(first), "%s", outs[0]);
	/* ids are hashed without the patient: the same everywhere */
	assert_string_equal(sur1(r2, "Q", "12345678", PHI_ID), first);
	expect_shape(sur1(r, "P", "AB-1234-x", PHI_ID), "AB-1234-x", "AA-N999-a");
	expect_shape(sur1(r, "P", "0004711", PHI_ID), "0004711", "000N999");
	expect_shape(sur1(r, "P", "ÄZ 12", PHI_ID), "ÄZ 12", "AA N9");
	expect_shape(sur1(r, "P", "+49 30 1234567", PHI_PHONE), "+49 30 1234567", "+49 N9 9999999");
	expect_shape(sur1(r, "P", "030/123456-0", PHI_PHONE), "030/123456-0", "0N9/999999-0");
	expect_shape(sur1(r, "P", "80331", PHI_ZIP), "80331", "N9999");
	expect_shape(sur1(r, "P", "D-80331", PHI_ZIP), "D-80331", "D-N9999");
	sur1(r, "P", "hans.meier@klinik-nord.de", PHI_EMAIL);
	assert_non_null(strstr(outs[0], "@example.org"));
	assert_null(strstr(outs[0], "meier"));
	{
		/* only the domain marked (the local part was a name): a domain again */
		const struct want w[] = { { "klinik-nord.de", PHI_EMAIL, 0 } };

		run(r, "d", "P", "Mail: hans.meier@klinik-nord.de.", w, 1);
		assert_string_equal(outs[0], "example.org");
	}
	sur1(r, "P", "https://www.praxis-meier.de", PHI_URL);
	assert_memory_equal(outs[0], "https://www.", 12);
	assert_non_null(strstr(outs[0], ".example.org"));
	deid_replacer_free(r);
	deid_replacer_free(r2);
}

static void test_ages(void **state)
{
	struct deid_replacer *r = replacer(&key_a);

	(void)state;
	assert_string_equal(sur1(r, "P", "92 Jahre", PHI_AGE), "über 89 Jahre");
	assert_string_equal(sur1(r, "P", "92-jährige", PHI_AGE), "über 89-jährige");
	assert_string_equal(sur1(r, "P", "90", PHI_AGE), "über 89");
	assert_string_equal(sur1(r, "P", "89 Jahre", PHI_AGE), "89 Jahre");
	assert_string_equal(sur1(r, "P", "45-jähriger", PHI_AGE), "45-jähriger");
	deid_replacer_free(r);
}

static void test_places_and_organisations(void **state)
{
	struct deid_replacer *r = replacer(&key_a);
	char *p;

	(void)state;
	sur1(r, "P", "Hauptstraße 12a", PHI_STREET);
	p = strrchr(outs[0], ' ');
	assert_non_null(p);
	*p = '\0';
	assert_true(in_list(DEID_SUR_STREET, outs[0]));
	assert_true(p[1] >= '1' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9');
	assert_true(p[3] >= 'a' && p[3] <= 'z' && !p[4]);
	assert_true(in_list(DEID_SUR_CITY, sur1(r, "P", "Buxtehude", PHI_CITY)));
	sur1(r, "P", "BUXTEHUDE", PHI_CITY);
	assert_null(strpbrk(outs[0], "abcdefghijklmnopqrstuvwxyz"));
	assert_true(in_list(DEID_SUR_COUNTRY, sur1(r, "P", "Frankreich", PHI_COUNTRY)));
	assert_true(in_list(DEID_SUR_PROFESSION, sur1(r, "P", "Bäckermeister", PHI_PROFESSION)));
	sur1(r, "P", "Universitätsklinikum Tübingen", PHI_HOSPITAL);
	assert_null(strstr(outs[0], "Tübingen"));
	assert_true(strlen(outs[0]) > 5);
	sur1(r, "P", "Siemens Healthineers", PHI_ORGANIZATION);
	assert_null(strstr(outs[0], "Siemens"));
	/* a university or college keeps its kind, in another place */
	sur1(r, "P", "Otto-Muster-Universität Musterburg", PHI_ORGANIZATION);
	assert_null(strstr(outs[0], "Musterburg"));
	assert_true(strncmp(outs[0], "Universität ", strlen("Universität ")) == 0);
	assert_true(in_list(DEID_SUR_CITY, outs[0] + strlen("Universität ")));
	sur1(r, "P", "Hochschule Bad Musterthal", PHI_ORGANIZATION);
	assert_true(strncmp(outs[0], "Hochschule ", strlen("Hochschule ")) == 0);
	assert_true(in_list(DEID_SUR_CITY, outs[0] + strlen("Hochschule ")));
	deid_replacer_free(r);
}

static void test_chars_internal(void **state)
{
	struct deid_hmac h;
	struct ms_buf a = MS_BUF_INIT, b = MS_BUF_INIT;

	(void)state;
	deid_hmac_init(&h, &key_a);
	/* attempts differ; the same attempt repeats */
	assert_int_equal(deid_sur_chars(&h, &a, "id", "987654321", 9, 0, true), 0);
	assert_int_equal(deid_sur_chars(&h, &b, "id", "987654321", 9, 0, true), 0);
	assert_string_equal(a.buf, b.buf);
	ms_buf_reset(&b);
	assert_int_equal(deid_sur_chars(&h, &b, "id", "987654321", 9, 1, true), 0);
	assert_string_not_equal(a.buf, b.buf);
	/* long strings get fresh bytes beyond one HMAC block */
	ms_buf_reset(&a);
	assert_int_equal(deid_sur_chars(&h, &a, "id",
	                                "1111111111111111111111111111111111111111111111111111", 52,
	                                0, false),
	                 0);
	assert_int_equal(a.len, 52);
	ms_buf_release(&a);
	ms_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists_match_files),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_same_person_same_surrogate),
		cmocka_unit_test(test_other_patient_other_key),
		cmocka_unit_test(test_never_equal),
		cmocka_unit_test(test_gender),
		cmocka_unit_test(test_titles_particles_initials),
		cmocka_unit_test(test_fields_decide_roles),
		cmocka_unit_test(test_date_formats),
		cmocka_unit_test(test_date_shift),
		cmocka_unit_test(test_dates_keep_intervals),
		cmocka_unit_test(test_ids_and_contacts),
		cmocka_unit_test(test_ages),
		cmocka_unit_test(test_places_and_organisations),
		cmocka_unit_test(test_chars_internal),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
