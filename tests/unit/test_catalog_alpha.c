/* SPDX-License-Identifier: MIT */
/* Unit tests for catalog/alpha.c: the ICD-10-GM alphabetical index (Alpha-ID). */
#include "ms_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/utf8.h"

struct rec {
	size_t n_begin;
	char system[16];
	char version[16];
	char part[16];
	char format[16];
	size_t n_terms;
	size_t n_with_code, n_with_asterisk, n_with_extra, n_invalid;
	size_t n_bad_text;
	size_t n_marked_codes; /* codes that still carry + * ! */
	size_t by_type[16];
	size_t last_line;
	char *lines[16]; /* serialised terms, in order */
	size_t n_lines;
	const char *find; /* keep the first term whose text contains this */
	char *found;
	long stop_after;
};

static void rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->stop_after = -1;
}

static void rec_release(struct rec *r)
{
	size_t i;

	for (i = 0; i < r->n_lines; i++)
		free(r->lines[i]);
	free(r->found);
}

static bool good_text(const char *s)
{
	struct ms_buf b = MS_BUF_INIT;
	bool ok;

	if (!s)
		return true;
	if (!ms_utf8_valid(s, strlen(s), NULL))
		return false;
	ok = ms_nfc_append(&b, s, strlen(s), NULL) == 0 && strcmp(b.buf, s) == 0;
	ms_buf_release(&b);
	return ok;
}

static bool marked(const char *code)
{
	return code && strpbrk(code, "+*!") != NULL;
}

static int rec_begin(void *payload, const struct catalog_info *info, struct ms_error *err)
{
	struct rec *r = payload;

	(void)err;
	r->n_begin++;
	snprintf(r->system, sizeof(r->system), "%s", info->system);
	snprintf(r->version, sizeof(r->version), "%s", info->version);
	snprintf(r->part, sizeof(r->part), "%s", info->part);
	snprintf(r->format, sizeof(r->format), "%s", info->format);
	return 0;
}

static char *serialise(const struct catalog_term *t)
{
	struct ms_buf b = MS_BUF_INIT;

	ms_buf_addf(&b, "%d|%s|%d|%s|%s|%s|%s|line=%zu", t->type, t->term_id ? t->term_id : "-",
	            t->valid, t->code ? t->code : "-", t->code_asterisk ? t->code_asterisk : "-",
	            t->code_extra ? t->code_extra : "-", t->text, t->line);
	return ms_buf_detach(&b, NULL);
}

static int rec_term(void *payload, const struct catalog_term *t, struct ms_error *err)
{
	struct rec *r = payload;

	if (r->stop_after >= 0 && (long)r->n_terms >= r->stop_after)
		return ms_error_set(err, MS_ECANCELLED, "stopped by the test");
	r->n_terms++;
	r->n_with_code += t->code != NULL;
	r->n_with_asterisk += t->code_asterisk != NULL;
	r->n_with_extra += t->code_extra != NULL;
	r->n_invalid += !t->valid;
	if (t->type >= 0 && t->type < 16)
		r->by_type[t->type]++;
	if (!good_text(t->text) || !good_text(t->code) || !good_text(t->code_asterisk) ||
	    !good_text(t->code_extra) || !good_text(t->term_id))
		r->n_bad_text++;
	r->n_marked_codes += marked(t->code) + marked(t->code_asterisk) + marked(t->code_extra);
	r->last_line = t->line;
	if (r->n_lines < 16)
		r->lines[r->n_lines++] = serialise(t);
	if (r->find && !r->found && strstr(t->text, r->find))
		r->found = serialise(t);
	return 0;
}

static struct catalog_sink sink_for(struct rec *r)
{
	struct catalog_sink s = { rec_begin, NULL, rec_term, r };

	return s;
}

static int read_mem(struct rec *r, const char *text, const char *name, struct ms_error *err)
{
	struct catalog_sink sink = sink_for(r);

	return catalog_alpha_read_mem(text, strlen(text), name, NULL, &sink, err);
}

static void test_alpha2010_full(void **state)
{
	const char *path =
	        ms_test_shared_path("catalogs/icd-10-gm/icd10gm2010alpha_edv_ascii_20091030.txt");
	struct ms_error err = MS_ERROR_INIT;
	struct catalog_sink sink;
	struct rec r;

	(void)state;
	if (!path)
		skip();
	rec_init(&r);
	r.find = "Carina tracheae";
	sink = sink_for(&r);
	assert_int_equal(catalog_alpha_read(path, NULL, &sink, &err), 0);
	assert_int_equal(r.n_begin, 1);
	assert_string_equal(r.system, "icd10gm");
	assert_string_equal(r.version, "2010");
	assert_string_equal(r.part, "index");
	assert_string_equal(r.format, "alpha");
	/* one term per line: 76,135 lines */
	assert_int_equal(r.n_terms, 76135);
	assert_int_equal(r.last_line, 76135);
	/* field 1 counts: awk -F';' '{print $1}' | sort | uniq -c */
	assert_int_equal(r.by_type[0], 309);
	assert_int_equal(r.by_type[1], 71468);
	assert_int_equal(r.by_type[2], 3586);
	assert_int_equal(r.by_type[3], 372);
	assert_int_equal(r.by_type[4], 14);
	assert_int_equal(r.by_type[5], 386);
	assert_int_equal(r.n_invalid, 14017);
	/* 75,440 primary codes, 3,600 dagger-asterisk pairs, 772 additional codes
	 * (578 of them marked '!'); all marks dropped */
	assert_int_equal(r.n_with_code, 75440);
	assert_int_equal(r.n_with_asterisk, 3600);
	assert_int_equal(r.n_with_extra, 772);
	assert_int_equal(r.n_marked_codes, 0);
	assert_int_equal(r.n_bad_text, 0);
	/* Latin-1 "ö" decoded */
	assert_non_null(r.found);
	assert_string_equal(r.found, "1|84703|0|C34.0|-|-|Bösartige Neubildung der Carina "
	                             "tracheae|line=8889");
	assert_string_equal(r.lines[0], "5|109254|1|-|-|U61.2|200 bis 499 T-Helferzellen pro "
	                                "Mikroliter Blut bei HIV-Krankheit|line=1");
	rec_release(&r);
}

static void test_excerpt_detects_and_reads(void **state)
{
	const char *path = ms_test_src_path("data/catalogs/icd10gm2010alpha-excerpt.txt");
	struct ms_error err = MS_ERROR_INIT;
	enum catalog_format fmt;
	struct catalog_sink sink;
	struct rec r;

	(void)state;
	assert_int_equal(catalog_format_detect(&fmt, path, &err), 0);
	assert_int_equal(fmt, CATALOG_FORMAT_ALPHA);
	rec_init(&r);
	r.find = "Typhus";
	sink = sink_for(&r);
	assert_int_equal(catalog_read_file(path, CATALOG_FORMAT_UNKNOWN, NULL, &sink, &err), 0);
	assert_string_equal(r.version, "2010");
	assert_int_equal(r.n_terms, 296);
	assert_int_equal(r.n_bad_text, 0);
	assert_non_null(r.found);
	rec_release(&r);
}

static void test_latin1_and_marks(void **state)
{
	static const char text[] =
	        "1;84703;0;C34.0;;;B\xf6sartige Neubildung der Carina tracheae;\r\n"
	        "1;1;1;A17.0+;G01*;;Meningitis tuberculosa;\r\n"
	        "5;109254;1;;;U61.2!;200 bis 499 T-Helferzellen;\r\n"
	        "0;86498;1;;;;Abnorm - s. Art der Krankheit;\r\n"
	        "2;7;1; M14.2- ;;;Text; mit Semikolon;\r\n";
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;

	(void)state;
	rec_init(&r);
	assert_int_equal(read_mem(&r, text, "icd10gm2010alpha_edv_ascii.txt", &err), 0);
	assert_int_equal(r.n_terms, 5);
	assert_string_equal(r.lines[0],
	                    "1|84703|0|C34.0|-|-|Bösartige Neubildung der Carina tracheae|line=1");
	assert_string_equal(r.lines[1], "1|1|1|A17.0|G01|-|Meningitis tuberculosa|line=2");
	assert_string_equal(r.lines[2], "5|109254|1|-|-|U61.2|200 bis 499 T-Helferzellen|line=3");
	assert_string_equal(r.lines[3], "0|86498|1|-|-|-|Abnorm - s. Art der Krankheit|line=4");
	/* the text is the rest of the line; a trailing '-' of a code is dropped */
	assert_string_equal(r.lines[4], "2|7|1|M14.2|-|-|Text; mit Semikolon|line=5");
	rec_release(&r);
}

static void test_pipe_format(void **state)
{
	/* modern Alpha-ID: UTF-8, '|', 8 fields (type|id|valid|code|asterisk|extra|code2|text) */
	static const char text[] =
	        "1|I12345|1|A17.0†|G01*||A18.0|Meningitis tuberculosa\n"
	        "0|I1|1|||||Abnorm - s. Art der Krankheit\n"
	        "1|I2|0|E10.20||||Diabetes mellitus, Typ 1, mit Nierenkomplikationen\n"
	        "1|I3|1|B20||U61.2!||Krankheit (HIV) mit Ödem|\n";
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;

	(void)state;
	rec_init(&r);
	assert_int_equal(read_mem(&r, text, "icd10gm2024alpha_edvtxt_20230929.txt", &err), 0);
	assert_string_equal(r.version, "2024");
	assert_int_equal(r.n_terms, 4);
	assert_string_equal(r.lines[0], "1|I12345|1|A17.0|G01|-|Meningitis tuberculosa|line=1");
	assert_string_equal(r.lines[1], "0|I1|1|-|-|-|Abnorm - s. Art der Krankheit|line=2");
	assert_string_equal(r.lines[2],
	                    "1|I2|0|E10.20|-|-|Diabetes mellitus, Typ 1, mit Nierenkomplikationen|"
	                    "line=3");
	assert_string_equal(r.lines[3], "1|I3|1|B20|-|U61.2|Krankheit (HIV) mit Ödem|line=4");
	assert_int_equal(r.n_bad_text, 0);
	rec_release(&r);
}

static void test_nfc(void **state)
{
	/* "Ö" as O + COMBINING DIAERESIS is normalised to U+00D6 */
	static const char text[] = "1|1|1|R60.9||||O\xcc\x88"
	                           "dem\n";
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;

	(void)state;
	rec_init(&r);
	assert_int_equal(read_mem(&r, text, "icd10gm2024alpha.txt", &err), 0);
	assert_string_equal(r.lines[0], "1|1|1|R60.9|-|-|Ödem|line=1");
	rec_release(&r);
}

static void expect_error(const char *text, const char *name, int code, size_t line, const char *msg)
{
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;
	int rc;

	rec_init(&r);
	rc = read_mem(&r, text, name, &err);
	if (rc != code || err.line != line || !strstr(err.msg, msg))
		print_error("got %d line %zu '%s'\n", rc, err.line, err.msg);
	assert_int_equal(rc, code);
	assert_int_equal(err.line, line);
	assert_non_null(strstr(err.msg, msg));
	assert_string_equal(err.path, name);
	rec_release(&r);
}

static void test_malformed(void **state)
{
	const char *name = "icd10gm2010alpha.txt";

	(void)state;
	expect_error("", name, MS_EINVAL, 1, "file is empty");
	expect_error("\r\n\n", name, MS_EINVAL, 1, "file is empty");
	expect_error("1;84703;0;C34.0;;;Text;\r\n1;2;0;C34.0\r\n", name, MS_EINVAL, 2,
	             "expected 7 fields, found 4");
	expect_error("1|2|0|C34.0|x\n", name, MS_EINVAL, 1, "expected 8 fields, found 5");
	expect_error("x;84703;0;C34.0;;;Text;\r\n", name, MS_EINVAL, 1,
	             "invalid entry type in field 1");
	expect_error("1;84703;7;C34.0;;;Text;\r\n", name, MS_EINVAL, 1,
	             "field 3 is not '0' or '1'");
	expect_error("1;84703;0;C3<4.0;;;Text;\r\n", name, MS_EINVAL, 1, "invalid code in field 4");
	expect_error("1;84703;0;C34.0;;C34-1;Text;\r\n", name, MS_EINVAL, 1,
	             "invalid code in field 6");
	expect_error("1;84703;0;C34.0;;;   ;\r\n", name, MS_EINVAL, 1, "empty index term");
	/* a UTF-8 file with a stray byte is damaged, not Latin-1 */
	expect_error("1|1|1|R60.9||||Ödem\n1|2|1|R60.9||||\xd6"
	             "dem\n",
	             name, MS_EUNICODE, 2, "invalid UTF-8 at byte 36");
	expect_error("no version here", "alpha.txt", MS_EINVAL, 0,
	             "cannot derive the catalogue version from the file name 'alpha.txt'");
	/* binary junk and other catalogues are refused cleanly */
	expect_error("\x7f"
	             "ELF\x02\x01\x01\xff\xfe\xfd",
	             name, MS_EINVAL, 1, "expected 7 fields, found 1");
	expect_error("Index;GOÄ;Schlüssel;GOÄZiffer;Beschreibung;Punktzahl;x\r\n", name, MS_EINVAL,
	             1, "invalid entry type in field 1");
	expect_error("3;N;X;01;A00;A00.-;A00;A00;Cholera;Cholera;;;V;V\r\n", name, MS_EINVAL, 1,
	             "field 3 is not '0' or '1'");
}

static void test_nul_and_size(void **state)
{
	static const char text[] = "1;84703;0;C34.0;;;Te\0xt;\r\n";
	struct ms_error err = MS_ERROR_INIT;
	struct catalog_sink sink;
	struct rec r;

	(void)state;
	rec_init(&r);
	sink = sink_for(&r);
	assert_int_equal(catalog_alpha_read_mem(text, sizeof(text) - 1, "icd10gm2010alpha.txt",
	                                        NULL, &sink, &err),
	                 MS_EINVAL);
	assert_string_equal(err.msg, "NUL byte at byte 20");
	assert_int_equal(err.line, 1);
	assert_int_equal(r.n_begin, 0);
	ms_error_clear(&err);
	assert_int_equal(catalog_alpha_read_mem("", (size_t)1 << 40, "icd10gm2010alpha.txt", NULL,
	                                        &sink, &err),
	                 MS_ETOOBIG);
	rec_release(&r);
}

static void test_alloc_failures(void **state)
{
	static const char text[] =
	        "1;84703;0;C34.0;;;B\xf6sartige Neubildung der Carina tracheae;\r\n"
	        "1;1;1;A17.0+;G01*;;Meningitis tuberculosa;\r\n"
	        "5;109254;1;;;U61.2!;200 bis 499 T-Helferzellen;\r\n";
	long n;
	int rc = -1;

	(void)state;
	for (n = 0; n < 10000 && rc != 0; n++) {
		struct ms_error err = MS_ERROR_INIT;
		struct rec r;

		rec_init(&r);
		ms_alloc_fail_after(n);
		rc = read_mem(&r, text, "icd10gm2010alpha.txt", &err);
		ms_alloc_fail_after(-1);
		assert_true(rc == 0 || rc == MS_ENOMEM);
		assert_int_equal(err.code, rc);
		if (rc == 0)
			assert_int_equal(r.n_terms, 3);
		rec_release(&r);
	}
	assert_int_equal(rc, 0);
}

static void test_sink_error_stops(void **state)
{
	static const char text[] = "0;1;1;;;;a;\r\n0;2;1;;;;b;\r\n0;3;1;;;;c;\r\n";
	struct ms_error err = MS_ERROR_INIT;
	struct rec r;

	(void)state;
	rec_init(&r);
	r.stop_after = 1;
	assert_int_equal(read_mem(&r, text, "icd10gm2010alpha.txt", &err), MS_ECANCELLED);
	assert_int_equal(r.n_terms, 1);
	assert_string_equal(err.msg, "stopped by the test");
	assert_string_equal(err.path, "icd10gm2010alpha.txt");
	rec_release(&r);
}

static void test_options(void **state)
{
	static const char text[] = "0;1;1;;;;a;\r\n";
	struct catalog_read_opts opts = { "icd10gm", "2011" };
	struct ms_error err = MS_ERROR_INIT;
	struct catalog_sink sink;
	struct rec r;

	(void)state;
	rec_init(&r);
	sink = sink_for(&r);
	assert_int_equal(
	        catalog_alpha_read_mem(text, strlen(text), "alpha.txt", &opts, &sink, &err), 0);
	assert_string_equal(r.version, "2011");
	/* "_20091030" is a date, not a year: the four-digit run wins */
	ms_error_clear(&err);
	assert_int_equal(read_mem(&r, text, "x/icd10gm2010alpha_edv_ascii_20091030.txt", &err), 0);
	assert_string_equal(r.version, "2010");
	rec_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alpha2010_full),
		cmocka_unit_test(test_excerpt_detects_and_reads),
		cmocka_unit_test(test_latin1_and_marks),
		cmocka_unit_test(test_pipe_format),
		cmocka_unit_test(test_nfc),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nul_and_size),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_sink_error_stops),
		cmocka_unit_test(test_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
