/* SPDX-License-Identifier: MIT */
/*
 * Code validation of report records against a catalogue version: system
 * names as exports write them, well-formed / unknown / malformed / other
 * system, canonical forms and titles, the canonical answer order, and a
 * catalogue that is not in the database.
 */
#include "ms_test.h"

#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"
#include "common/hash.h"
#include "datagen/datagen.h"

static char db[4096];

static int setup(void **state)
{
	char goae[4096], icd[4096];
	const char *paths[2] = { goae, icd };
	struct catalog_store *store = NULL;
	struct catalog_import_opts io;
	struct ms_error err = MS_ERROR_INIT;
	const char *t = ms_test_tmpdir();
	int rc;

	(void)state;
	if (!t || ms_hash_init())
		return -1;
	snprintf(db, sizeof(db), "%s/g.db", t);
	/* ms_test_src_path() returns a static buffer: copy each path */
	snprintf(goae, sizeof(goae), "%s", ms_test_src_path("data/catalogs/goae-excerpt.csv"));
	snprintf(icd, sizeof(icd), "%s", ms_test_src_path("data/catalogs/sample-icd-10-gm.xml"));
	memset(&io, 0, sizeof(io));
	rc = catalog_store_open(&store, db, CATALOG_STORE_CREATE, &err);
	if (!rc)
		rc = catalog_store_import(store, paths, 2, &io, NULL, NULL, &err);
	catalog_store_free(store);
	return rc;
}

static void test_system_names(void **state)
{
	(void)state;
	assert_string_equal(datagen_code_system("GOAE"), CATALOG_SYSTEM_GOAE);
	assert_string_equal(datagen_code_system("goae"), CATALOG_SYSTEM_GOAE);
	assert_string_equal(datagen_code_system("GOÄ"), CATALOG_SYSTEM_GOAE);
	assert_string_equal(datagen_code_system("goä"), CATALOG_SYSTEM_GOAE);
	assert_string_equal(datagen_code_system("I10-GM"), CATALOG_SYSTEM_ICD10GM);
	assert_string_equal(datagen_code_system("ICD-10-GM"), CATALOG_SYSTEM_ICD10GM);
	assert_string_equal(datagen_code_system("icd10gm"), CATALOG_SYSTEM_ICD10GM);
	assert_string_equal(datagen_code_system("OPS"), CATALOG_SYSTEM_OPS);
	assert_null(datagen_code_system("L"));
	assert_null(datagen_code_system(""));
	assert_null(datagen_code_system(NULL));
	assert_null(datagen_code_system("a-very-long-name-that-is-no-coding-system-at-all"));
}

static void expect(const struct datagen_code_checker *c, const char *code, const char *system,
                   enum datagen_code_status want, const char *canon)
{
	const char *got = NULL, *title = NULL;

	assert_int_equal(datagen_code_checker_check(c, code, system, &got, &title), want);
	if (canon) {
		assert_non_null(got);
		assert_string_equal(got, canon);
		assert_non_null(title);
	} else {
		assert_null(got);
	}
}

static void test_check(void **state)
{
	struct datagen_code_checker *c = NULL;
	struct catalog_store *store = NULL;
	struct ms_error err = MS_ERROR_INIT;
	const char *title = NULL, *canon = NULL;
	char long_code[40];

	(void)state;
	assert_int_equal(catalog_store_open(&store, db, CATALOG_STORE_READONLY, &err), 0);
	assert_int_equal(datagen_code_checker_new(&c, store, CATALOG_SYSTEM_GOAE, NULL, &err), 0);
	assert_string_equal(datagen_code_checker_version(c), "2023");
	assert_string_equal(datagen_code_checker_catalog(c)->system, "goae");
	expect(c, "5370", NULL, DATAGEN_CODE_OK, "5370");
	expect(c, "5370", "", DATAGEN_CODE_OK, "5370");
	expect(c, " 5370\t", "GOAE", DATAGEN_CODE_OK, "5370");
	expect(c, "a", "GOÄ", DATAGEN_CODE_OK, "A"); /* "Zuschlag A", upper-cased */
	expect(c, "9999", NULL, DATAGEN_CODE_UNKNOWN, NULL);
	expect(c, "5298", NULL, DATAGEN_CODE_UNKNOWN, NULL); /* real, not in the excerpt */
	expect(c, "53 70", NULL, DATAGEN_CODE_MALFORMED, NULL);
	expect(c, "", NULL, DATAGEN_CODE_MALFORMED, NULL);
	expect(c, "   ", NULL, DATAGEN_CODE_MALFORMED, NULL);
	expect(c, "5370;5371", NULL, DATAGEN_CODE_MALFORMED, NULL);
	expect(c, "53\xc3\xa4", NULL, DATAGEN_CODE_MALFORMED, NULL);
	memset(long_code, '1', sizeof(long_code) - 1);
	long_code[sizeof(long_code) - 1] = '\0';
	expect(c, long_code, NULL, DATAGEN_CODE_MALFORMED, NULL);
	expect(c, "5370", "I10-GM", DATAGEN_CODE_OTHER_SYSTEM, NULL);
	expect(c, "CTKOPF", "L", DATAGEN_CODE_OTHER_SYSTEM, NULL);
	/* the title is the catalogue's */
	assert_int_equal(datagen_code_checker_check(c, "5370", NULL, &canon, &title),
	                 DATAGEN_CODE_OK);
	assert_non_null(strstr(title, "Computergesteuerte Tomographie im Kopfbereich"));
	datagen_code_checker_free(c);
	/* a hierarchy: only terminal classes are codes of a record */
	c = NULL;
	assert_int_equal(datagen_code_checker_new(&c, store, CATALOG_SYSTEM_ICD10GM, NULL, &err),
	                 0);
	expect(c, "C95.90", NULL, DATAGEN_CODE_OK, "C95.90");
	expect(c, "c95.91", "ICD-10-GM", DATAGEN_CODE_OK, "C95.91");
	expect(c, "C95.9", NULL, DATAGEN_CODE_NOT_TERMINAL, "C95.9"); /* has C95.90, C95.91 */
	expect(c, "C95.99", NULL, DATAGEN_CODE_UNKNOWN, NULL);
	datagen_code_checker_free(c);
	/* catalogues that are not there */
	c = NULL;
	assert_int_equal(datagen_code_checker_new(&c, store, CATALOG_SYSTEM_OPS, NULL, &err),
	                 MS_ENOTFOUND);
	assert_null(c);
	ms_error_clear(&err);
	assert_int_equal(datagen_code_checker_new(&c, store, CATALOG_SYSTEM_GOAE, "1999", &err),
	                 MS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "1999"));
	catalog_store_free(store);
}

static void test_order(void **state)
{
	static const char *const sorted[] = { "1",    "2",     "05",   "5100",  "5101",
		                              "5370", "5377",  "5731", "10000", "A",
		                              "B",    "C34.1", "C61",  "D" };
	size_t i, j, n = sizeof(sorted) / sizeof(sorted[0]);

	(void)state;
	for (i = 0; i < n; i++) {
		assert_int_equal(datagen_code_compare(sorted[i], sorted[i]), 0);
		for (j = i + 1; j < n; j++) {
			assert_true(datagen_code_compare(sorted[i], sorted[j]) < 0);
			assert_true(datagen_code_compare(sorted[j], sorted[i]) > 0);
		}
	}
	/* equal numbers, then the rest decides; leading zeros do not */
	assert_true(datagen_code_compare("2442", "2442 A") < 0);
	assert_true(datagen_code_compare("05", "5") != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_system_names),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_order),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
