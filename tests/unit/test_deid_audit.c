/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/audit.c: the compiled-in schema equals
 * schemas/audit.sql, a run with documents, spans and rejects, the summary,
 * rollback of unfinished runs, refusal of other databases, and the privacy
 * check: no text of any original span appears in any text column of any
 * table, nor in the messages of rejects and errors.
 */
#include "ms_test.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fileio.h"
#include "deid/deid.h"

static struct deid_key key;

/* Two documents with PHI, and the PHI strings the database must not contain. */
static const char text1[] = "Frau Erika Mustermann (geb. 12.08.1964), PID 88123456, "
                            "Überweisung von Dr. Jürgen Weiß aus Buxtehude.";
static const char text2[] = "Kontrolle von Erika Mustermann am 3. März 2021, Tel. 04161 55555.";

static const struct {
	const char *text;
	const char *needle;
	enum phi_label label;
	const char *source;
} span_defs[] = {
	{ text1, "Erika Mustermann", PHI_PATIENT, "dict:patient.name" },
	{ text1, "12.08.1964", PHI_BIRTHDATE, "date_de" },
	{ text1, "88123456", PHI_ID, "id_pid" },
	{ text1, "Dr.", PHI_TITLE, "title" },
	{ text1, "Jürgen Weiß", PHI_STAFF, "ner" },
	{ text1, "Buxtehude", PHI_CITY, "gazetteer:city" },
	{ text2, "Erika Mustermann", PHI_PATIENT, "dict:patient.name" },
	{ text2, "3. März 2021", PHI_DATE, "date_de" },
	{ text2, "04161 55555", PHI_PHONE, "phone_de" },
};

#define N_SPAN_DEFS (sizeof(span_defs) / sizeof(span_defs[0]))

/* PHI that is not a span of its own but must not leak either. */
static const char *const extra_phi[] = { "Erika", "Mustermann", "Jürgen",
	                                 "Weiß",  "P-4711",     "Meyer-Lansky" };

static int setup(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < DEID_KEY_LEN; i++)
		key.bytes[i] = (unsigned char)(7 * i + 3);
	return 0;
}

static void make_doc(struct deid_doc *doc, struct deid_span *spans, size_t *n, const char *id,
                     const char *text, size_t record)
{
	size_t i;

	memset(doc, 0, sizeof(*doc));
	doc->id = id;
	doc->group = "P-4711";
	doc->text = text;
	doc->len = strlen(text);
	doc->record = record;
	*n = 0;
	for (i = 0; i < N_SPAN_DEFS; i++) {
		const char *p;
		struct deid_span *sp = &spans[*n];

		if (span_defs[i].text != text)
			continue;
		p = strstr(text, span_defs[i].needle);
		assert_non_null(p);
		memset(sp, 0, sizeof(*sp));
		sp->start = (size_t)(p - text);
		sp->end = sp->start + strlen(span_defs[i].needle);
		sp->label = span_defs[i].label;
		sp->source = span_defs[i].source;
		sp->field = -1;
		(*n)++;
	}
}

static const char *db_path(const char *name)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/%s", ms_test_tmpdir(), name);
	return path;
}

static struct deid_audit_run run_info(const char *mode)
{
	static char fp[DEID_FINGERPRINT_LEN + 1];
	struct deid_audit_run r;

	memset(&r, 0, sizeof(r));
	deid_key_fingerprint(fp, &key);
	r.tool_version = "0.1.0";
	r.mode = mode;
	r.key_fingerprint = fp;
	r.rules_fingerprint = "rules-fp";
	r.started = 1700000000;
	return r;
}

/* Writes one run with both documents and a reject from a real reader. */
static void write_run(const char *path, enum deid_mode mode)
{
	struct deid_audit_run info = run_info(deid_mode_name(mode));
	struct deid_replace_opts o = { mode, &key };
	struct deid_replacer *r;
	struct deid_audit *a;
	struct deid_reader *rd;
	const struct deid_doc *d;
	const struct deid_replaced *res;
	struct deid_doc doc;
	struct deid_span spans[N_SPAN_DEFS];
	struct deid_audit_counts counts = { 0 };
	struct ms_error err = MS_ERROR_INIT, rej = MS_ERROR_INIT;
	static const char csv[] = "id,text,patient.family\n"
	                          "1,\"Befund Meyer-Lansky\",Meyer-Lansky,zu viel\n";
	size_t n;

	assert_int_equal(deid_replacer_new(&r, &o, &err), 0);
	assert_int_equal(deid_audit_open(&a, path, &info, &err), 0);
	assert_int_equal(deid_audit_add_input(a, 1, "reports.csv", "abc123", &err), 0);
	assert_int_equal(deid_audit_add_input(a, 2, "-", NULL, &err), 0);

	make_doc(&doc, spans, &n, "Mustermann-1", text1, 1);
	assert_int_equal(deid_replacer_run(r, &doc, spans, n, &res, &err), 0);
	assert_int_equal(deid_audit_add_document(a, 1, &doc, res, &key, &err), 0);
	counts.n_spans += res->n_spans;
	make_doc(&doc, spans, &n, "Mustermann-2", text2, 2);
	assert_int_equal(deid_replacer_run(r, &doc, spans, n, &res, &err), 0);
	assert_int_equal(deid_audit_add_document(a, 1, &doc, res, &key, &err), 0);
	counts.n_spans += res->n_spans;

	/* a ragged CSV row, rejected by the reader: its message names no content */
	assert_int_equal(deid_reader_open(&rd, DEID_FORMAT_CSV, NULL, &err), 0);
	assert_int_equal(deid_reader_feed_mem(rd, csv, sizeof(csv) - 1, "b.csv", &err), 0);
	assert_int_equal(deid_reader_next(rd, &d, &rej), DEID_READ_REJECT);
	assert_null(strstr(rej.msg, "Meyer"));
	assert_int_equal(deid_audit_add_reject(a, 2, &rej, &err), 0);
	deid_reader_free(rd);

	counts.n_records = 3;
	counts.n_documents = 2;
	counts.n_rejects = 1;
	assert_int_equal(deid_audit_finish(a, &counts, 1700000100, "rejects", &err), 0);
	deid_audit_free(a);
	deid_replacer_free(r);
}

static void test_schema_matches_file(void **state)
{
	struct ms_buf file = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(ms_file_read(&file, ms_test_src_path("schemas/audit.sql"), 0, &err), 0);
	if (strcmp(file.buf, deid_audit_schema()) != 0)
		fail_msg("deid/audit.c's schema differs from schemas/audit.sql: copy it over");
	ms_buf_release(&file);
}

static void test_run_and_summary(void **state)
{
	const char *path = db_path("audit.db");
	struct deid_audit_summary *s;
	struct ms_error err = MS_ERROR_INIT;
	char fp[DEID_FINGERPRINT_LEN + 1];
	size_t i;

	(void)state;
	write_run(path, DEID_MODE_SURROGATE);
	write_run(path, DEID_MODE_TAG); /* runs accumulate */
	assert_int_equal(deid_audit_summarize(&s, path, &err), 0);
	assert_int_equal(s->n_runs, 2);
	deid_key_fingerprint(fp, &key);
	assert_string_equal(s->runs[0].key_fingerprint, fp);
	assert_string_equal(s->runs[0].mode, "surrogate");
	assert_string_equal(s->runs[1].mode, "tag");
	assert_string_equal(s->runs[0].started, "2023-11-14T22:13:20Z");
	assert_string_equal(s->runs[0].finished, "2023-11-14T22:15:00Z");
	assert_string_equal(s->runs[0].status, "rejects");
	assert_null(s->runs[0].shard);
	assert_int_equal(s->runs[0].n_inputs, 2);
	assert_int_equal(s->runs[0].counts.n_records, 3);
	assert_int_equal(s->runs[0].counts.n_documents, 2);
	assert_int_equal(s->runs[0].counts.n_spans, 9);
	assert_int_equal(s->n_documents, 4);
	assert_int_equal(s->n_spans, 18);
	assert_int_equal(s->n_rejects, 2);
	/* per label in label order */
	assert_int_equal(s->n_by_label, 8);
	assert_string_equal(s->by_label[0].name, "PATIENT");
	assert_int_equal(s->by_label[0].n, 4);
	assert_string_equal(s->by_label[1].name, "STAFF");
	assert_string_equal(s->by_label[7].name, "CITY");
	for (i = 0; i < s->n_by_source; i++) {
		if (!strcmp(s->by_source[i].name, "date_de")) {
			assert_string_equal(s->by_source[i].label, "DATE");
			assert_int_equal(s->by_source[i].n, 2);
			break;
		}
	}
	assert_true(i < s->n_by_source);
	assert_int_equal(s->n_rejects_by_reason, 1);
	assert_int_equal(s->rejects[0].n, 2);
	deid_audit_summary_free(s);
}

/* Every text value of every table, checked against every PHI string. */
static void test_no_phi_in_database(void **state)
{
	const char *path = db_path("phi.db");
	sqlite3 *db;
	sqlite3_stmt *tables, *rows;
	size_t i, n_values = 0;

	(void)state;
	write_run(path, DEID_MODE_SURROGATE);
	write_run(path, DEID_MODE_MASK);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT name FROM sqlite_schema WHERE type = 'table'",
	                                    -1, &tables, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(tables) == SQLITE_ROW) {
		char sql[256];
		int c;

		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", sqlite3_column_text(tables, 0));
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &rows, NULL), SQLITE_OK);
		while (sqlite3_step(rows) == SQLITE_ROW) {
			for (c = 0; c < sqlite3_column_count(rows); c++) {
				const char *v = (const char *)sqlite3_column_text(rows, c);

				if (!v)
					continue;
				n_values++;
				for (i = 0; i < N_SPAN_DEFS; i++) {
					if (strstr(v, span_defs[i].needle) &&
					    span_defs[i].label != PHI_TITLE)
						fail_msg("'%s' found in %s", span_defs[i].needle,
						         sqlite3_column_name(rows, c));
				}
				for (i = 0; i < sizeof(extra_phi) / sizeof(extra_phi[0]); i++) {
					if (strstr(v, extra_phi[i]))
						fail_msg("'%s' found in %s", extra_phi[i],
						         sqlite3_column_name(rows, c));
				}
			}
		}
		sqlite3_finalize(rows);
	}
	sqlite3_finalize(tables);
	sqlite3_close(db);
	assert_true(n_values > 100);
}

static void test_span_rows(void **state)
{
	const char *path = db_path("spans.db");
	sqlite3 *db;
	sqlite3_stmt *st;

	(void)state;
	write_run(path, DEID_MODE_SURROGATE);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	        sqlite3_prepare_v2(db,
	                           "SELECT label, start_off, end_off, length, source, kept, "
	                           "length(text_hmac) FROM span ORDER BY document_id, seq",
	                           -1, &st, NULL),
	        SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "PATIENT");
	assert_int_equal(sqlite3_column_int(st, 1), 5);
	assert_int_equal(sqlite3_column_int(st, 2), 21);
	assert_int_equal(sqlite3_column_int(st, 3), 16);
	assert_string_equal((const char *)sqlite3_column_text(st, 4), "dict:patient.name");
	assert_int_equal(sqlite3_column_int(st, 5), 0);
	assert_int_equal(sqlite3_column_int(st, 6), 64);
	sqlite3_finalize(st);
	/* the same original text in both documents: the same keyed hash */
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT count(DISTINCT text_hmac) FROM span "
	                                    "WHERE label = 'PATIENT'",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	/* the title is kept */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT kept FROM span WHERE label = 'TITLE'", -1,
	                                    &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_unfinished_rolls_back(void **state)
{
	const char *path = db_path("rollback.db");
	struct deid_audit_run info = run_info("tag");
	struct deid_audit *a;
	struct deid_audit_summary *s;
	struct ms_error err = MS_ERROR_INIT;
	struct stat st;

	(void)state;
	/* a database made for an unfinished run is removed */
	assert_int_equal(deid_audit_open(&a, path, &info, &err), 0);
	assert_int_equal(deid_audit_add_input(a, 1, "x.hl7", "00", &err), 0);
	deid_audit_free(a);
	assert_int_not_equal(stat(path, &st), 0);
	/* an existing one keeps only its finished runs */
	write_run(path, DEID_MODE_TAG);
	assert_int_equal(deid_audit_open(&a, path, &info, &err), 0);
	assert_int_equal(deid_audit_add_input(a, 1, "x.hl7", "00", &err), 0);
	deid_audit_free(a);
	assert_int_equal(deid_audit_summarize(&s, path, &err), 0);
	assert_int_equal(s->n_runs, 1);
	deid_audit_summary_free(s);
}

static void test_other_databases(void **state)
{
	const char *path = db_path("other.db");
	struct deid_audit_run info = run_info("tag");
	struct deid_audit *a = NULL;
	struct deid_audit_summary *s = NULL;
	struct ms_error err = MS_ERROR_INIT;
	sqlite3 *db;

	(void)state;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(deid_audit_open(&a, path, &info, &err), MS_EDB);
	assert_null(a);
	assert_string_equal(err.msg, "not a medsft audit database");
	assert_string_equal(err.path, path);
	ms_error_clear(&err);
	assert_int_equal(deid_audit_summarize(&s, path, &err), MS_EDB);
	ms_error_clear(&err);
	assert_int_equal(deid_audit_summarize(&s, db_path("missing.db"), &err), MS_ENOTFOUND);
	assert_null(s);
	deid_audit_summary_free(NULL);
	deid_audit_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_matches_file),
		cmocka_unit_test(test_run_and_summary),
		cmocka_unit_test(test_no_phi_in_database),
		cmocka_unit_test(test_span_rows),
		cmocka_unit_test(test_unfinished_rolls_back),
		cmocka_unit_test(test_other_databases),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
