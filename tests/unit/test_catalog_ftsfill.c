/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for catalog/ftsfill.c: the search index of a fresh store,
 * built on a second thread and copied in, is the one an import into an
 * existing database builds through search_source (same ids, same index
 * entries, same hits); the thread stops cleanly whichever side ends first;
 * and a failing SQLite in the middle of it fails the import cleanly.
 */
#include "ms_test.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "common/alloc.h"

static char dir[4096];

/* Fixtures with rubrics between entries, several kinds and index terms. */
static const char *const fixtures[] = {
	"data/catalogs/sample-icd-10-gm.xml",
	"data/catalogs/sample-icd-o-3.xml",
	"data/catalogs/icd10gm2010alpha-excerpt.txt",
	"data/catalogs/goae-excerpt.csv",
};
#define N_FIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

static char fixture_paths[N_FIXTURES][4096];

static int setup(void **state)
{
	const char *tmp = ms_test_tmpdir();
	size_t i;

	(void)state;
	if (!tmp)
		return -1;
	snprintf(dir, sizeof(dir), "%s", tmp);
	for (i = 0; i < N_FIXTURES; i++)
		snprintf(fixture_paths[i], sizeof(fixture_paths[i]), "%s",
		         ms_test_src_path(fixtures[i]));
	return 0;
}

static void path_in(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

/* Files beside the databases: temporary databases left behind. */
static size_t n_tmp_files(void)
{
	char pattern[4200];

	snprintf(pattern, sizeof(pattern), "%s/*.tmp*", dir);
	return ms_test_count_files(pattern);
}

static bool exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

static int import_all(struct catalog_store *s, struct ms_error *err)
{
	const char *paths[N_FIXTURES];
	size_t i;

	for (i = 0; i < N_FIXTURES; i++)
		paths[i] = fixture_paths[i];
	return catalog_store_import(s, paths, N_FIXTURES, NULL, NULL, NULL, err);
}

/* A fresh store: the index is built on the thread (ftsfill.c). */
static void build_fresh(const char *path)
{
	struct catalog_store *s = NULL;
	struct ms_error err = MS_ERROR_INIT;

	remove(path);
	assert_int_equal(catalog_store_open(&s, path, CATALOG_STORE_CREATE, &err), 0);
	assert_int_equal(import_all(s, &err), 0);
	catalog_store_free(s);
}

/* An existing empty database: the index is built through search_source. */
static void build_existing(const char *path)
{
	struct catalog_store *s = NULL;
	struct ms_error err = MS_ERROR_INIT;
	FILE *f;

	remove(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(catalog_store_open(&s, path, CATALOG_STORE_CREATE, &err), 0);
	assert_int_equal(import_all(s, &err), 0);
	catalog_store_free(s);
}

static char *db_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	char *v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = strdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
	assert_non_null(v);
	sqlite3_finalize(st);
	return v;
}

/*
 * Every (term, row, column, offset) of the index and the rows it was built
 * from, as one text per database, after FTS5's own integrity check.
 */
static char *index_dump(const char *path)
{
	sqlite3 *db = NULL;
	char *dump, *rows, *both;
	size_t len;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "INSERT INTO search (search, rank) VALUES "
	                              "('integrity-check', 1)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, "
	                              "search, instance)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	dump = db_text(db, "SELECT count(*) || ':' || group_concat(term || '/' || doc || '/' || "
	                   "offset, ' ') FROM (SELECT * FROM temp.v ORDER BY term, doc, offset)");
	rows = db_text(db, "SELECT group_concat(id || '=' || text || '@' || source, '|') FROM "
	                   "(SELECT * FROM search_source ORDER BY id)");
	sqlite3_close(db);
	len = strlen(dump) + strlen(rows) + 2;
	both = malloc(len);
	assert_non_null(both);
	snprintf(both, len, "%s\n%s", dump, rows);
	free(dump);
	free(rows);
	return both;
}

static void search_codes(struct catalog_store *s, const char *text, char *out, size_t size)
{
	struct ms_error err = MS_ERROR_INIT;
	struct catalog_hit *hits = NULL;
	size_t n = 0, i, len = 0;

	assert_int_equal(catalog_store_search(s, text, NULL, NULL, 100, &hits, &n, &err), 0);
	out[0] = '\0';
	for (i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s/%s/%s/%s/%.6f ", hits[i].system,
		                        hits[i].version, hits[i].code, hits[i].source,
		                        hits[i].rank);
	catalog_hits_free(hits, n);
}

static void test_fresh_index_equals_existing(void **state)
{
	static const char *const queries[] = { "bechterew", "adenokarzinom", "neubildung",
		                               "fraktur",   "Ödem",          "haut",
		                               "beratung",  "typhosa" };
	char fresh[4200], existing[4200];
	char a[8192], b[8192];
	struct catalog_store *sa = NULL, *sb = NULL;
	struct ms_error err = MS_ERROR_INIT;
	char *dump_a, *dump_b;
	size_t i;

	(void)state;
	path_in(fresh, sizeof(fresh), "fresh.db");
	path_in(existing, sizeof(existing), "existing.db");
	build_fresh(fresh);
	build_existing(existing);
	assert_int_equal(n_tmp_files(), 0);

	dump_a = index_dump(fresh);
	dump_b = index_dump(existing);
	assert_true(strlen(dump_a) > 1000);
	assert_string_equal(dump_a, dump_b);
	free(dump_a);
	free(dump_b);

	assert_int_equal(catalog_store_open(&sa, fresh, CATALOG_STORE_READONLY, &err), 0);
	assert_int_equal(catalog_store_open(&sb, existing, CATALOG_STORE_READONLY, &err), 0);
	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		search_codes(sa, queries[i], a, sizeof(a));
		search_codes(sb, queries[i], b, sizeof(b));
		assert_string_equal(a, b);
	}
	/* an index term of the alphabetical index (a term row) */
	search_codes(sa, "spondylitis typhosa", a, sizeof(a));
	assert_non_null(strstr(a, "/index/"));
	/* a rubric between entries */
	search_codes(sa, "pseudomembranose", a, sizeof(a));
	assert_non_null(strstr(a, "/rubric:"));
	catalog_store_free(sa);
	catalog_store_free(sb);
	remove(fresh);
	remove(existing);
}

/* The next import into a database built fresh indexes through the view. */
static void test_import_after_fresh(void **state)
{
	char path[4200];
	struct catalog_store *s = NULL;
	struct ms_error err = MS_ERROR_INIT;
	const char *goae = fixture_paths[3];
	const char *rest[] = { fixture_paths[0], fixture_paths[1], fixture_paths[2] };
	char *dump;

	(void)state;
	path_in(path, sizeof(path), "twice.db");
	remove(path);
	assert_int_equal(catalog_store_open(&s, path, CATALOG_STORE_CREATE, &err), 0);
	assert_int_equal(catalog_store_import(s, &goae, 1, NULL, NULL, NULL, &err), 0);
	assert_int_equal(catalog_store_import(s, rest, 3, NULL, NULL, NULL, &err), 0);
	catalog_store_free(s);
	dump = index_dump(path);
	free(dump);
	remove(path);
}

/*
 * Texts that test the tokens the writer queues (ftsfill.c): letters the
 * tokenizer folds or strips of diacritics, scripts, characters outside the
 * BMP, combining marks inside and before a token, private use, separators
 * of every kind, digits, and tokens longer than a one-byte length.
 */
static const char *const unicode_texts[] = {
	"Müller-Straße ÄÖÜ äöü ß ẞ Œuvre œil Ångström Łódź",
	"Ελληνικά ΣΊΣΥΦΟΣ Кириллица ЁЖИК 中文字符 ｆｕｌｌｗｉｄｔｈ ＡＢＣ",
	"emoji 😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐐀𐐨 Deseret",
	"q\xcc\x87\xcc\xa3"
	"x stray \xcc\x81"
	"abc İstanbul ı",
	"²³ ½ ٣٤ 123abc 4.5 mg/dl 10^9/l x_y a-b can't o'neil",
	"\xee\x80\x80"
	"private \xe2\x80\x8d"
	"zwj\xe2\x80\x8d tab\tand\x7f"
	"del",
	NULL, /* a long token, filled in by long_tokens() */
};
#define N_UNICODE (sizeof(unicode_texts) / sizeof(unicode_texts[0]))

/* An index file in Alpha-ID's new format, one term per text (UTF-8). */
static void write_unicode_alpha(const char *path)
{
	char longtok[1200];
	FILE *f = fopen(path, "wb");
	size_t i, k;

	assert_non_null(f);
	/* 300 bytes in ASCII, then 600 in two-byte letters folded to ASCII */
	for (k = 0; k < 300; k++)
		longtok[k] = 'A';
	for (i = 0; i < 300; i++) {
		longtok[k++] = '\xc3';
		longtok[k++] = '\x84';
	}
	memcpy(longtok + k, " kurz", 6);
	for (i = 0; i < N_UNICODE; i++)
		fprintf(f, "0|%zu|1|A0%zu.0||||%s\n", 90000 + i, i % 10,
		        unicode_texts[i] ? unicode_texts[i] : longtok);
	fclose(f);
}

/* The writer's tokens give the index FTS5 builds from the texts themselves. */
static void test_unicode_tokens(void **state)
{
	char alpha[4200], fresh[4200], existing[4200];
	const char *paths[1];
	struct catalog_import_opts opts = { 0 };
	struct catalog_store *s = NULL;
	struct ms_error err = MS_ERROR_INIT;
	char *dump_a, *dump_b;
	FILE *f;

	(void)state;
	path_in(alpha, sizeof(alpha), "icd10gm2099alpha_edvtxt_test.txt");
	path_in(fresh, sizeof(fresh), "unicode-fresh.db");
	path_in(existing, sizeof(existing), "unicode-existing.db");
	write_unicode_alpha(alpha);
	paths[0] = alpha;
	opts.format = CATALOG_FORMAT_ALPHA;

	remove(fresh);
	assert_int_equal(catalog_store_open(&s, fresh, CATALOG_STORE_CREATE, &err), 0);
	assert_int_equal(catalog_store_import(s, paths, 1, &opts, NULL, NULL, &err), 0);
	catalog_store_free(s);
	remove(existing);
	f = fopen(existing, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(catalog_store_open(&s, existing, CATALOG_STORE_CREATE, &err), 0);
	assert_int_equal(catalog_store_import(s, paths, 1, &opts, NULL, NULL, &err), 0);
	catalog_store_free(s);

	dump_a = index_dump(fresh);
	dump_b = index_dump(existing);
	assert_string_equal(dump_a, dump_b);
	/* folded and stripped of diacritics; the long token whole (600 bytes) */
	assert_non_null(strstr(dump_a, " muller/"));
	assert_non_null(strstr(dump_a, " 123abc/"));
	assert_non_null(strstr(dump_a, " kurz/"));
	{
		char want[620];

		memset(want, 'a', 600);
		memcpy(want + 600, "/", 2);
		assert_non_null(strstr(dump_a, want));
	}
	free(dump_a);
	free(dump_b);
	remove(alpha);
	remove(fresh);
	remove(existing);
}

/* A connection whose FTS5 tokenizes (the store's, in an import). */
static sqlite3 *fts_db(void)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	return db;
}

/* Either side may stop first; nothing hangs, nothing leaks. */
static void test_stop_early(void **state)
{
	struct catalog_ftsfill *f = NULL;
	struct ms_error err = MS_ERROR_INIT;
	sqlite3 *db = fts_db();
	char text[200];
	int64_t id;

	(void)state;
	/* the writer gives up before handing anything over */
	assert_int_equal(catalog_ftsfill_start(&f, db, &err), 0);
	catalog_ftsfill_free(f);

	/* ... after many blocks, without ending */
	assert_int_equal(catalog_ftsfill_start(&f, db, &err), 0);
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	for (id = 1; id <= 20000; id++)
		assert_int_equal(catalog_ftsfill_add(f, id, text, strlen(text), &err), 0);
	catalog_ftsfill_free(f);

	/* ... after ending, without copying */
	assert_int_equal(catalog_ftsfill_start(&f, db, &err), 0);
	assert_int_equal(catalog_ftsfill_add(f, 1, "Spondylitis", 11, &err), 0);
	assert_int_equal(catalog_ftsfill_end(f, &err), 0);
	catalog_ftsfill_free(f);

	/* a text too long for SQLite is refused before it is read */
	assert_int_equal(catalog_ftsfill_start(&f, db, &err), 0);
	assert_int_equal(catalog_ftsfill_add(f, 1, "", (size_t)INT32_MAX + 1, &err), MS_ETOOBIG);
	assert_non_null(strstr(err.msg, "too long"));
	catalog_ftsfill_free(f);
	catalog_ftsfill_free(NULL);
	sqlite3_close(db);
}

/*
 * SQLite running out of memory anywhere (the indexing thread included):
 * the import fails with a clear error, leaves no file, and does not hang.
 */
static void test_sqlite_out_of_memory(void **state)
{
	char path[4200];
	sqlite3_int64 limit;
	size_t n_failed = 0;

	(void)state;
	path_in(path, sizeof(path), "oom.db");
	for (limit = (sqlite3_int64)256 << 10; limit <= (sqlite3_int64)2 << 20; limit += 16 << 10) {
		struct catalog_store *s = NULL;
		struct ms_error err = MS_ERROR_INIT;
		int rc;

		remove(path);
		sqlite3_hard_heap_limit64(limit);
		rc = catalog_store_open(&s, path, CATALOG_STORE_CREATE, &err);
		if (!rc)
			rc = import_all(s, &err);
		catalog_store_free(s);
		sqlite3_hard_heap_limit64(0);
		if (rc) {
			assert_true(rc == MS_ENOMEM || rc == MS_EDB);
			assert_true(strlen(err.msg) > 0);
			n_failed++;
		}
		/* failed before the database was in place, or when reopening
		 * it (store_publish): then it is complete */
		if (rc && exists(path))
			free(index_dump(path));
		assert_int_equal(n_tmp_files(), 0);
	}
	/* some limit failed the import, the largest did not */
	assert_true(n_failed > 0);
	assert_true(exists(path));
	remove(path);
}

/* Allocation failures of the writer's side (blocks, the thread's state). */
static void test_alloc_failures(void **state)
{
	sqlite3 *db = fts_db();
	long n;
	int rc = MS_ENOMEM;

	(void)state;
	for (n = 0; rc == MS_ENOMEM && n < 1000; n++) {
		struct catalog_ftsfill *f = NULL;
		struct ms_error err = MS_ERROR_INIT;

		ms_alloc_fail_after(n);
		rc = catalog_ftsfill_start(&f, db, &err);
		if (!rc)
			rc = catalog_ftsfill_add(f, 1, "Spondylitis", 11, &err);
		if (!rc)
			rc = catalog_ftsfill_end(f, &err);
		ms_alloc_fail_after(-1);
		assert_true(rc == 0 || rc == MS_ENOMEM);
		catalog_ftsfill_free(f);
	}
	assert_int_equal(rc, 0);
	sqlite3_close(db);
}

/* An import with the nth allocation failing (n < 0: none), 0 or its error. */
static int import_failing(struct catalog_store *s, const char *const *paths, size_t n_paths, long n)
{
	struct ms_error err = MS_ERROR_INIT;
	int rc;

	ms_alloc_fail_after(n);
	rc = catalog_store_import(s, paths, n_paths, NULL, NULL, NULL, &err);
	ms_alloc_fail_after(-1);
	if (rc)
		assert_true(strlen(err.msg) > 0);
	return rc;
}

/*
 * A failed import leaves a fresh store as it was, wherever it fails: also
 * after the rows were committed while the index thread finished (the store
 * starts over in a new temporary file), so the next import succeeds whole.
 */
static void test_failed_import_leaves_store_empty(void **state)
{
	const char *paths[] = { fixture_paths[3], fixture_paths[2] };
	char path[4200];
	long n, last = 0, total;
	char *dump;

	(void)state;
	path_in(path, sizeof(path), "renew.db");
	/* the allocations of a whole import: the first count that succeeds */
	for (total = 64;; total *= 2) {
		struct catalog_store *s = NULL;
		struct ms_error err = MS_ERROR_INIT;
		int rc;

		remove(path);
		assert_int_equal(catalog_store_open(&s, path, CATALOG_STORE_CREATE, &err), 0);
		rc = import_failing(s, paths, 2, total);
		catalog_store_free(s);
		if (!rc)
			break;
		last = total;
	}
	while (total - last > 1) {
		struct catalog_store *s = NULL;
		struct ms_error err = MS_ERROR_INIT;
		long mid = last + (total - last) / 2;

		remove(path);
		assert_int_equal(catalog_store_open(&s, path, CATALOG_STORE_CREATE, &err), 0);
		if (import_failing(s, paths, 2, mid))
			last = mid;
		else
			total = mid;
		catalog_store_free(s);
	}
	/* every one of the last allocations (the index copy, the publishing)
	 * and a sample of the others */
	for (n = 0; n < total; n += n + 48 < total ? 37 : 1) {
		struct catalog_store *s = NULL;
		struct ms_error err = MS_ERROR_INIT;

		remove(path);
		assert_int_equal(catalog_store_open(&s, path, CATALOG_STORE_CREATE, &err), 0);
		if (import_failing(s, paths, 2, n)) {
			assert_false(exists(path));
			assert_true(n_tmp_files() <= 1);
			assert_int_equal(import_failing(s, paths, 2, -1), 0);
		}
		catalog_store_free(s);
		assert_true(exists(path));
		assert_int_equal(n_tmp_files(), 0);
		dump = index_dump(path);
		assert_non_null(strstr(dump, "\n"));
		free(dump);
	}
	remove(path);
}

static int teardown(void **state)
{
	(void)state;
	remove(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_index_equals_existing),
		cmocka_unit_test(test_import_after_fresh),
		cmocka_unit_test(test_unicode_tokens),
		cmocka_unit_test(test_stop_early),
		cmocka_unit_test(test_sqlite_out_of_memory),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_failed_import_leaves_store_empty),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
