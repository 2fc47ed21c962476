/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for catalog/store.c: schema creation, transactional import
 * (refusal, replace, rollback on bad input), new databases built beside
 * their name, the upgrade of version 1 databases, lookup, search, counts,
 * and the agreement of the ICD-10-GM ClaML excerpt with the 2025 flat file.
 */
#include "ms_test.h"

#include <glob.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/catalog.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/fileio.h"

static char db_path[4096];

static int setup(void **state)
{
	const char *dir = ms_test_tmpdir();

	(void)state;
	if (!dir)
		return -1;
	snprintf(db_path, sizeof(db_path), "%s/catalog.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char dir[4096];
	char *slash;

	(void)state;
	remove(db_path);
	snprintf(dir, sizeof(dir), "%s", db_path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	remove(dir);
	return 0;
}

static struct catalog_store *open_new(void)
{
	struct catalog_store *s = NULL;
	struct ms_error err = MS_ERROR_INIT;

	remove(db_path);
	assert_int_equal(catalog_store_open(&s, db_path, CATALOG_STORE_CREATE, &err), 0);
	return s;
}

static int import1(struct catalog_store *s, const char *path, unsigned flags, struct ms_error *err)
{
	struct catalog_import_opts o;

	memset(&o, 0, sizeof(o));
	o.flags = flags;
	return catalog_store_import(s, &path, 1, &o, NULL, NULL, err);
}

static size_t n_catalogues(struct catalog_store *s)
{
	struct catalog_summary *list = NULL;
	struct ms_error err = MS_ERROR_INIT;
	size_t n = 0;

	assert_int_equal(catalog_store_list(s, &list, &n, &err), 0);
	ms_free(list);
	return n;
}

static void test_open(void **state)
{
	struct catalog_store *s = NULL;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	remove(db_path);
	assert_int_equal(catalog_store_open(&s, db_path, 0, &err), MS_ENOTFOUND);
	assert_null(s);
	/* a file that is not a database */
	assert_int_equal(ms_file_write_atomic(db_path, "not sqlite", 10, 0644, &err), 0);
	ms_error_clear(&err);
	assert_int_equal(catalog_store_open(&s, db_path, CATALOG_STORE_CREATE, &err), MS_EDB);
	assert_true(strlen(err.msg) > 0);
	s = open_new();
	assert_int_equal(n_catalogues(s), 0);
	catalog_store_free(s);
	catalog_store_free(NULL);
}

static void test_import_replace_rollback(void **state)
{
	struct catalog_store *s = open_new();
	struct ms_error err = MS_ERROR_INIT;
	struct catalog_import_result *res = NULL;
	struct catalog_import_opts o;
	const char *paths[2];
	size_t n_res = 0;
	char icdo3[4096], bad[4096];

	(void)state;
	snprintf(icdo3, sizeof(icdo3), "%s", ms_test_src_path("data/catalogs/sample-icd-o-3.xml"));
	snprintf(bad, sizeof(bad), "%s",
	         ms_test_src_path("tests/data/catalog/truncated-claml.xml"));
	memset(&o, 0, sizeof(o));
	paths[0] = icdo3;
	assert_int_equal(catalog_store_import(s, paths, 1, &o, &res, &n_res, &err), 0);
	assert_int_equal(n_res, 1);
	assert_string_equal(res[0].system, "icdo3");
	assert_string_equal(res[0].version, "2019");
	assert_int_equal(res[0].n_entries, 30);
	ms_free(res);

	/* the same catalogue again is refused and changes nothing */
	assert_int_equal(import1(s, icdo3, 0, &err), MS_EEXISTS);
	assert_non_null(strstr(err.msg, "--replace"));
	ms_error_clear(&err);
	assert_int_equal(import1(s, icdo3, CATALOG_IMPORT_REPLACE, &err), 0);
	assert_int_equal(n_catalogues(s), 1);

	/* a good file followed by a bad one: the whole import is rolled back */
	paths[0] = ms_test_src_path("data/catalogs/goae-excerpt.csv");
	paths[0] = strdup(paths[0]);
	paths[1] = bad;
	assert_int_equal(catalog_store_import(s, paths, 2, &o, NULL, NULL, &err), MS_EINVAL);
	assert_non_null(strstr(err.path, "truncated-claml.xml"));
	assert_true(err.line > 0);
	free((void *)paths[0]);
	assert_int_equal(n_catalogues(s), 1);
	catalog_store_free(s);
}

static int64_t db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Files in the test directory besides the database itself ("c.db.tmp..."). */
static size_t n_tmp_files(void)
{
	char pattern[4200];

	snprintf(pattern, sizeof(pattern), "%s.tmp*", db_path);
	return ms_test_count_files(pattern);
}

static bool db_exists(void)
{
	struct stat sb;

	return stat(db_path, &sb) == 0;
}

/*
 * A new database is built beside its name and appears only when an import
 * succeeds: a failed first import leaves neither the file nor a temporary
 * one, and the store can still import.
 */
static void test_new_database_appears_on_success(void **state)
{
	struct catalog_store *s = open_new();
	struct ms_error err = MS_ERROR_INIT;
	struct catalog_hit *hits = NULL;
	sqlite3 *db = NULL;
	size_t n = 0;

	(void)state;
	assert_false(db_exists());
	assert_int_equal(n_tmp_files(), 1);
	assert_int_equal(
	        import1(s, ms_test_src_path("tests/data/catalog/truncated-claml.xml"), 0, &err),
	        MS_EINVAL);
	assert_false(db_exists());
	assert_int_equal(n_catalogues(s), 0);
	ms_error_clear(&err);
	assert_int_equal(import1(s, ms_test_src_path("data/catalogs/sample-icd-o-3.xml"), 0, &err),
	                 0);
	assert_true(db_exists());
	assert_int_equal(n_tmp_files(), 0);
	assert_int_equal(n_catalogues(s), 1);
	catalog_store_free(s);

	/* freed after a failed import: nothing is left behind */
	s = open_new();
	assert_int_equal(
	        import1(s, ms_test_src_path("tests/data/catalog/truncated-claml.xml"), 0, &err),
	        MS_EINVAL);
	catalog_store_free(s);
	assert_false(db_exists());
	assert_int_equal(n_tmp_files(), 0);

	/* what was built without the indexes finds what a transactional
	 * import into an existing database finds */
	s = open_new();
	assert_int_equal(import1(s, ms_test_src_path("data/catalogs/sample-icd-o-3.xml"), 0, &err),
	                 0);
	assert_int_equal(import1(s, ms_test_src_path("data/catalogs/goae-excerpt.csv"), 0, &err),
	                 0);
	assert_int_equal(
	        catalog_store_search(s, "adenokarzinom", "icdo3", NULL, 50, &hits, &n, &err), 0);
	assert_true(n > 0);
	catalog_hits_free(hits, n);
	catalog_store_free(s);
	assert_int_equal(n_tmp_files(), 0);
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	/* the search index agrees with its content, the indexes are back */
	assert_int_equal(sqlite3_exec(db,
	                              "INSERT INTO search (search, rank) VALUES "
	                              "('integrity-check', 1)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(db_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' "
	                            "AND name IN ('entry_code', 'entry_parent', 'rubric_entry', "
	                            "'reference_code')"),
	                 4);
	assert_int_equal(db_int(db, "SELECT \"unique\" FROM pragma_index_list('entry') WHERE "
	                            "name = 'entry_code'"),
	                 1);
	assert_int_equal(
	        db_int(db,
	               "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"),
	        0);
	sqlite3_close(db);
}

/* A version 1 database with one hand-made catalogue, as version 1 stored it. */
static void make_v1_db(void)
{
	struct ms_buf schema = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;
	sqlite3 *db = NULL;

	remove(db_path);
	assert_int_equal(ms_file_read(&schema, ms_test_src_path("tests/data/catalog/schema-v1.sql"),
	                              0, &err),
	                 0);
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, schema.buf, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(
	        sqlite3_exec(
	                db,
	                "INSERT INTO catalog VALUES (1, 'test', '1', 'classification', NULL, NULL, "
	                "'claml', 'de', 'v1.xml', 'x', '0');"
	                "INSERT INTO entry VALUES (1, 1, 0, 'T1', 'category', NULL, NULL, "
	                "'Bechterew-Krankheit', 1, 0, 1, NULL);"
	                "INSERT INTO rubric VALUES (1, 1, 0, 'inclusion', 'Morbus Strümpell', NULL);"
	                "INSERT INTO reference VALUES (1, 0, 'T1', NULL);"
	                "INSERT INTO term VALUES (1, 1, 0, 1, NULL, 1, 'T1', NULL, NULL, NULL, "
	                "'Spondylitis ankylosans');"
	                "INSERT INTO search (text, catalog_id, code, source) VALUES "
	                "('Morbus Strümpell', 1, 'T1', 'rubric:inclusion'), "
	                "('Bechterew-Krankheit', 1, 'T1', 'label'), "
	                "('Spondylitis ankylosans', 1, 'T1', 'index');",
	                NULL, NULL, NULL),
	        SQLITE_OK);
	sqlite3_close(db);
	ms_buf_release(&schema);
}

static size_t n_hits(struct catalog_store *s, const char *text)
{
	struct ms_error err = MS_ERROR_INIT;
	struct catalog_hit *hits = NULL;
	size_t n = 0;

	assert_int_equal(catalog_store_search(s, text, NULL, NULL, 50, &hits, &n, &err), 0);
	catalog_hits_free(hits, n);
	return n;
}

/*
 * A version 1 database stays readable as it is; the first import that
 * writes to it moves rubric and term ids above the others and rebuilds the
 * search index, in the import's transaction (a failed import leaves it at
 * version 1).
 */
static void test_upgrade_v1(void **state)
{
	struct catalog_store *s = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct catalog_record *r = NULL;
	sqlite3 *db = NULL;

	(void)state;
	make_v1_db();
	assert_int_equal(catalog_store_open(&s, db_path, CATALOG_STORE_READONLY, &err), 0);
	assert_int_equal(n_hits(s, "strumpell"), 1);
	catalog_store_free(s);

	assert_int_equal(catalog_store_open(&s, db_path, CATALOG_STORE_CREATE, &err), 0);
	assert_int_equal(
	        import1(s, ms_test_src_path("tests/data/catalog/truncated-claml.xml"), 0, &err),
	        MS_EINVAL);
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(db_int(db, "PRAGMA user_version"), 1);
	sqlite3_close(db);

	ms_error_clear(&err);
	assert_int_equal(import1(s, ms_test_src_path("data/catalogs/sample-icd-o-3.xml"), 0, &err),
	                 0);
	assert_int_equal(n_hits(s, "strumpell"), 1);
	assert_int_equal(n_hits(s, "bechterew"), 1);
	assert_int_equal(n_hits(s, "spondylitis"), 1);
	assert_true(n_hits(s, "adenokarzinom") > 0);
	assert_int_equal(catalog_store_lookup(s, "test", NULL, "T1", &r, &err), 0);
	assert_int_equal(r->n_rubrics, 1);
	assert_string_equal(r->rubrics[0].text, "Morbus Strümpell");
	assert_int_equal(r->rubrics[0].n_refs, 1);
	assert_string_equal(r->rubrics[0].ref_codes[0], "T1");
	catalog_record_free(r);
	/* --replace removes the old rows from the search index too */
	assert_int_equal(import1(s, ms_test_src_path("data/catalogs/sample-icd-o-3.xml"),
	                         CATALOG_IMPORT_REPLACE, &err),
	                 0);
	catalog_store_free(s);

	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(db_int(db, "PRAGMA user_version"), 2);
	/* old ids moved above the largest old id (1), new ones follow all */
	assert_int_equal(db_int(db, "SELECT min(id) FROM rubric"), 2);
	assert_int_equal(db_int(db, "SELECT min(rubric_id) FROM reference"), 2);
	assert_int_equal(db_int(db, "SELECT min(id) FROM term"), 3);
	assert_true(db_int(db, "SELECT min(id) FROM entry WHERE id > 1") > 3);
	assert_int_equal(db_int(db, "SELECT count(*) FROM entry"), 1 + 30);
	/* one id names one row of the three tables */
	assert_int_equal(db_int(db, "SELECT count(*) - count(DISTINCT id) FROM (SELECT id FROM "
	                            "entry UNION ALL SELECT id FROM rubric UNION ALL SELECT id "
	                            "FROM term)"),
	                 0);
	assert_int_equal(db_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	/* the index agrees with its content */
	assert_int_equal(sqlite3_exec(db,
	                              "INSERT INTO search (search, rank) VALUES "
	                              "('integrity-check', 1)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
}

static void test_lookup_and_search(void **state)
{
	struct catalog_store *s = open_new();
	struct ms_error err = MS_ERROR_INIT;
	struct catalog_record *r = NULL;
	struct catalog_hit *hits = NULL, *hits2 = NULL;
	size_t n = 0, n2 = 0, i, k;
	bool found_ref = false;

	(void)state;
	assert_int_equal(
	        import1(s, ms_test_src_path("data/catalogs/sample-icd-10-gm.xml"), 0, &err), 0);
	/* a code that exists only through a modifier */
	assert_int_equal(catalog_store_lookup(s, NULL, NULL, "c95.90", &r, &err), 0);
	assert_string_equal(r->code, "C95.90");
	assert_true(r->flags & CATALOG_ENTRY_MODIFIED);
	assert_true(r->flags & CATALOG_ENTRY_TERMINAL);
	assert_string_equal(
	        r->label,
	        "Leukämie, nicht näher bezeichnet: Ohne Angabe einer kompletten Remission");
	assert_true(r->n_ancestors >= 1);
	assert_string_equal(r->ancestors[r->n_ancestors - 1].code, "C95.9");
	catalog_record_free(r);
	r = NULL;

	/* hierarchy root first, children in file order, exclusions resolved */
	assert_int_equal(catalog_store_lookup(s, "icd10gm", "2025", "A00.0", &r, &err), 0);
	assert_string_equal(r->ancestors[0].code, "I");
	assert_string_equal(r->ancestors[r->n_ancestors - 1].code, "A00");
	catalog_record_free(r);
	r = NULL;
	assert_int_equal(catalog_store_lookup(s, NULL, NULL, "A04", &r, &err), 0);
	assert_true(r->n_children >= 9);
	assert_string_equal(r->children[0].code, "A04.0");
	for (i = 0; i < r->n_rubrics; i++) {
		for (k = 0; k < r->rubrics[i].n_refs; k++)
			found_ref = found_ref || r->rubrics[i].ref_codes[k] != NULL;
	}
	assert_true(found_ref);
	catalog_record_free(r);
	r = NULL;
	assert_int_equal(catalog_store_lookup(s, NULL, NULL, "Z99.9", &r, &err), MS_ENOTFOUND);
	assert_null(r);

	/* search ignores case and diacritics */
	assert_int_equal(
	        catalog_store_search(s, "BÖSARTIGE neubildung", NULL, NULL, 10, &hits, &n, &err),
	        0);
	assert_int_equal(
	        catalog_store_search(s, "bosartige NEUBILDUNG", NULL, NULL, 10, &hits2, &n2, &err),
	        0);
	assert_true(n > 0);
	assert_int_equal(n, n2);
	for (i = 0; i < n; i++)
		assert_string_equal(hits[i].code, hits2[i].code);
	catalog_hits_free(hits, n);
	catalog_hits_free(hits2, n2);
	assert_int_equal(catalog_store_search(s, " \"*() ", NULL, NULL, 10, &hits, &n, &err),
	                 MS_EUSAGE);
	catalog_store_free(s);
}

/*
 * entry.meta is the JSON object of a class's Meta pairs, in their order:
 * short plain ones and those that need escapes, long ones, non-ASCII,
 * empty values, many pairs (the buffer grows between them).
 */
static void test_meta_json(void **state)
{
	char path[4200], longv[201], claml[8192], want[8192];
	struct ms_buf pairs = MS_BUF_INIT, json = MS_BUF_INIT;
	struct catalog_store *s;
	struct ms_error err = MS_ERROR_INIT;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	FILE *f;
	int i;

	(void)state;
	memset(longv, 'v', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	ms_buf_adds(&pairs, "<Meta name=\"a\" value=\"1\"/>"
	                    "<Meta name=\"quote&quot;d\" value=\"plain\"/>"
	                    "<Meta name=\"back\" value=\"back\\slash\"/>"
	                    "<Meta name=\"say\" value=\"&quot;hi&quot;\"/>"
	                    "<Meta name=\"tab\" value=\"x&#9;y&#10;z\"/>"
	                    "<Meta name=\"Größe\" value=\"äöü ß\"/>"
	                    "<Meta name=\"empty\" value=\"\"/>");
	ms_buf_addf(&pairs, "<Meta name=\"long\" value=\"%s\"/>", longv);
	ms_buf_adds(&json, "{\"a\":\"1\",\"quote\\\"d\":\"plain\",\"back\":\"back\\\\slash\","
	                   "\"say\":\"\\\"hi\\\"\","
	                   "\"tab\":\"x\\ty\\nz\",\"Größe\":\"äöü ß\",\"empty\":\"\",");
	ms_buf_addf(&json, "\"long\":\"%s\"", longv);
	for (i = 0; i < 40; i++) {
		ms_buf_addf(&pairs, "<Meta name=\"k%d\" value=\"%d\"/>", i, i * 7);
		ms_buf_addf(&json, ",\"k%d\":\"%d\"", i, i * 7);
	}
	ms_buf_addch(&json, '}');
	assert_int_equal(ms_buf_status(&pairs) | ms_buf_status(&json), 0);
	snprintf(claml, sizeof(claml),
	         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	         "<ClaML version=\"2.0.0\"><Title name=\"ICD-10-GM\" version=\"2099\">t</Title>"
	         "<Class code=\"A00\" kind=\"category\">%s"
	         "<Rubric kind=\"preferred\"><Label>Cholera</Label></Rubric></Class></ClaML>\n",
	         pairs.buf);
	snprintf(path, sizeof(path), "%s.meta.xml", db_path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(claml, f);
	fclose(f);
	snprintf(want, sizeof(want), "%s", json.buf);

	s = open_new();
	assert_int_equal(import1(s, path, 0, &err), 0);
	catalog_store_free(s);
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT meta, json_valid(meta) FROM entry WHERE "
	                                    "code = 'A00'",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), want);
	assert_int_equal(sqlite3_column_int(st, 1), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
	remove(path);
	remove(db_path);
	ms_buf_release(&pairs);
	ms_buf_release(&json);
}

static void test_alloc_failures(void **state)
{
	const char *path = ms_test_src_path("data/catalogs/sample-icd-o-3.xml");
	char copy[4096];
	long n;
	int rc = MS_ENOMEM;

	(void)state;
	snprintf(copy, sizeof(copy), "%s", path);
	for (n = 0; rc == MS_ENOMEM && n < 100000; n++) {
		struct catalog_store *s = NULL;
		struct ms_error err = MS_ERROR_INIT;

		remove(db_path);
		ms_alloc_fail_after(n);
		rc = catalog_store_open(&s, db_path, CATALOG_STORE_CREATE, &err);
		if (!rc)
			rc = import1(s, copy, 0, &err);
		ms_alloc_fail_after(-1);
		assert_true(rc == 0 || rc == MS_ENOMEM);
		catalog_store_free(s);
	}
	assert_int_equal(rc, 0);
}

/* ---- ClaML excerpt vs. flat 2025 ------------------------------------- */

struct flat_row {
	char code[16];
	char title[512];
	int terminal;
	int modified; /* field 3 'S': created by a ClaML modifier */
};

static size_t load_flat(const char *path, struct flat_row **out)
{
	struct ms_buf b = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct ms_lines it;
	struct flat_row *rows = NULL;
	size_t n = 0, cap = 0, len;
	const char *line;

	assert_int_equal(ms_file_read(&b, path, 0, &err), 0);
	ms_lines_init(&it, b.buf, b.len);
	while (ms_lines_next(&it, &line, &len)) {
		const char *f[12];
		size_t nf = 0, i;

		f[nf++] = line;
		for (i = 0; i < len && nf < 12; i++) {
			if (line[i] == ';')
				f[nf++] = line + i + 1;
		}
		assert_int_equal(nf, 12);
		if (MS_GROW(rows, cap, n + 1))
			fail();
		/* field 7: code without marks; field 9: title; field 2: T/N */
		snprintf(rows[n].code, sizeof(rows[n].code), "%.*s", (int)(f[7] - f[6] - 1), f[6]);
		snprintf(rows[n].title, sizeof(rows[n].title), "%.*s", (int)(f[9] - f[8] - 1),
		         f[8]);
		rows[n].terminal = f[1][0] == 'T';
		rows[n].modified = f[2][0] == 'S';
		n++;
	}
	ms_buf_release(&b);
	*out = rows;
	return n;
}

static void test_claml_excerpt_agrees_with_flat(void **state)
{
	const char *flat = ms_test_shared_path("catalogs/icd-10-gm/icd10gm2025syst_kodes.txt");
	struct catalog_store *s;
	struct ms_error err = MS_ERROR_INIT;
	struct flat_row *rows = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t n_rows, i, shared = 0;

	(void)state;
	if (!flat)
		skip();
	n_rows = load_flat(flat, &rows);
	assert_int_equal(n_rows, 16817);
	s = open_new();
	assert_int_equal(
	        import1(s, ms_test_src_path("data/catalogs/sample-icd-10-gm.xml"), 0, &err), 0);
	catalog_store_free(s);

	assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	/* the flat title is the preferredLong text where a class has one */
	assert_int_equal(
	        sqlite3_prepare_v2(db,
	                           "SELECT e.kind, e.terminal, e.parent, coalesce((SELECT r.text "
	                           "FROM rubric r WHERE r.entry_id = e.id AND r.kind = "
	                           "'preferredLong'), e.label) FROM entry e WHERE e.code = ?1",
	                           -1, &st, NULL),
	        SQLITE_OK);
	for (i = 0; i < n_rows; i++) {
		const char *code = rows[i].code;
		char parent[16];
		size_t len = strlen(code);

		sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_reset(st);
			continue;
		}
		shared++;
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "category");
		assert_string_equal((const char *)sqlite3_column_text(st, 3), rows[i].title);
		if (sqlite3_column_int(st, 1) != rows[i].terminal)
			fail_msg("terminal flag of %s differs", code);
		/* parent: 5-char -> 4-char, 4-char -> 3-char */
		if (len > 3) {
			snprintf(parent, sizeof(parent), "%.*s", (int)(len == 6 ? 5 : 3), code);
			assert_string_equal((const char *)sqlite3_column_text(st, 2), parent);
		}
		sqlite3_reset(st);
	}
	/* all 28 categories of the excerpt and the 2 its modifier creates
	 * (C95.90/91) exist in the flat file, with equal title, parent and
	 * terminal flag */
	assert_int_equal(shared, 30);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(rows);
}

/*
 * Every file in ../shared at once, in one transaction: the counts per
 * catalogue are those of the sources (see the readers' tests for details).
 */
static void test_full_files_import(void **state)
{
	static const char *const rel[] = {
		"catalogs/icd-10-gm/icd10gm2025syst_kodes.txt",
		"catalogs/icd-10-gm/icd10gm2017syst-meta/icd10gm2017syst_kodes.txt",
		"catalogs/icd-10-gm/icd10gm2010alpha_edv_ascii_20091030.txt",
		"catalogs/icd-o-3/icdo32019.xml",
		"catalogs/icd-o-3/icdo32014.xml",
		"catalogs/goae/GOA_Ziffern.csv",
	};
	static const struct {
		const char *system, *version;
		size_t entries, terms;
	} want[] = {
		{ "icd10gm", "2025", 16817 + 243, 0 }, /* categories + derived blocks */
		{ "icd10gm", "2017", 22 + 241 + 15930, 0 },
		{ "icd10gm", "2010", 0, 76135 },
		{ "icdo3", "2019", 2 + 75 + 1545, 0 },
		{ "icdo3", "2014", 2 + 75 + 1476, 0 },
		{ "goae", "2023", 2505, 0 },
		{ "goz", "2012", 222, 0 },
	};
	char paths[6][4096];
	const char *p[6];
	struct catalog_store *s;
	struct catalog_import_result *res = NULL;
	struct catalog_import_opts o;
	struct ms_error err = MS_ERROR_INIT;
	size_t n_res = 0, i;

	(void)state;
	for (i = 0; i < 6; i++) {
		const char *path = ms_test_shared_path(rel[i]);

		if (!path)
			skip();
		snprintf(paths[i], sizeof(paths[i]), "%s", path);
		p[i] = paths[i];
	}
	s = open_new();
	memset(&o, 0, sizeof(o));
	assert_int_equal(catalog_store_import(s, p, 6, &o, &res, &n_res, &err), 0);
	assert_int_equal(n_res, 7);
	for (i = 0; i < n_res; i++) {
		assert_string_equal(res[i].system, want[i].system);
		assert_string_equal(res[i].version, want[i].version);
		assert_int_equal(res[i].n_entries, want[i].entries);
		assert_int_equal(res[i].n_terms, want[i].terms);
	}
	assert_int_equal(res[0].n_modified, 4571);
	ms_free(res);
	catalog_store_free(s);
}

/*
 * With a full ICD-10-GM ClaML file in ../shared (BfArM's
 * icd10gm<year>syst_claml_<date>.xml) and the code list of the same year, the
 * modifier expansion must create exactly the codes the code list marks 'S',
 * with the same titles. No full GM ClaML file could be obtained for
 * development, so this test skips until one is put there.
 */
static void test_full_gm_claml_modifiers(void **state)
{
	char pattern[4096], flat_path[4096];
	const char *dir = ms_test_shared_path("catalogs/icd-10-gm");
	struct catalog_store *s;
	struct ms_error err = MS_ERROR_INIT;
	struct flat_row *rows = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	glob_t g;
	size_t n_rows, i, n_flat_s = 0, n_db = 0;
	const char *year;

	(void)state;
	if (!dir)
		skip();
	snprintf(pattern, sizeof(pattern), "%s/icd10gm*syst_claml*.xml", dir);
	if (glob(pattern, 0, NULL, &g) != 0) {
		printf("SKIP: no full ICD-10-GM ClaML file (%s)\n", pattern);
		skip();
	}
	year = strstr(g.gl_pathv[0], "icd10gm") + 7;
	snprintf(flat_path, sizeof(flat_path), "%s/icd10gm%.4ssyst_kodes.txt", dir, year);
	n_rows = load_flat(flat_path, &rows);
	s = open_new();
	assert_int_equal(import1(s, g.gl_pathv[0], 0, &err), 0);
	catalog_store_free(s);
	assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	        sqlite3_prepare_v2(db,
	                           "SELECT coalesce((SELECT r.text FROM rubric r WHERE "
	                           "r.entry_id = e.id AND r.kind = 'preferredLong'), "
	                           "e.label) FROM entry e WHERE e.code = ?1 AND e.modified",
	                           -1, &st, NULL),
	        SQLITE_OK);
	for (i = 0; i < n_rows; i++) {
		if (!rows[i].modified)
			continue;
		n_flat_s++;
		sqlite3_bind_text(st, 1, rows[i].code, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW)
			fail_msg("modifier code %s missing", rows[i].code);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), rows[i].title);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	assert_int_equal(
	        sqlite3_prepare_v2(db, "SELECT count(*) FROM entry WHERE modified", -1, &st, NULL),
	        SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n_db = (size_t)sqlite3_column_int64(st, 0);
	assert_int_equal(n_db, n_flat_s);
	sqlite3_finalize(st);
	sqlite3_close(db);
	globfree(&g);
	free(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_import_replace_rollback),
		cmocka_unit_test(test_new_database_appears_on_success),
		cmocka_unit_test(test_upgrade_v1),
		cmocka_unit_test(test_lookup_and_search),
		cmocka_unit_test(test_meta_json),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_claml_excerpt_agrees_with_flat),
		cmocka_unit_test(test_full_files_import),
		cmocka_unit_test(test_full_gm_claml_modifiers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
