/* SPDX-License-Identifier: MIT */
/*
 * The audit database: what a de-identification run did, without what it
 * saw. Runs, inputs, documents (by pseudonym), spans (label, offsets,
 * length, source, keyed hash of the text) and rejects; plus the summary
 * that `medsft deid audit` prints. One transaction per run.
 */
#include "deid/deid.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/hash.h"
#include "deid/replace_int.h"

#define AUDIT_SCHEMA_VERSION 1

/*
 * schemas/audit.sql, kept identical by hand (the build cannot generate it
 * here); tests/unit/test_deid_audit.c compares the two byte for byte.
 */
static const char audit_schema_sql[] =
        "-- SPDX-License-Identifier: MIT\n"
        "-- Schema of the medsft de-identification audit database (audit.db), version 1.\n"
        "-- Compiled into the binary (deid/audit.c keeps an identical copy; a unit test\n"
        "-- compares them byte for byte); PRAGMA user_version records the version.\n"
        "-- The database never holds text from a record: documents appear by their\n"
        "-- pseudonyms, spans by label, offsets, length, source and a keyed hash.\n"
        "\n"
        "-- One run of 'medsft deid run'; rows appear when the run completes.\n"
        "CREATE TABLE run (\n"
        "\tid INTEGER PRIMARY KEY,\n"
        "\ttool_version TEXT NOT NULL,\n"
        "\tmode TEXT NOT NULL CHECK (mode IN ('surrogate', 'tag', 'mask')),\n"
        "\tshard TEXT,                    -- 'K/N', NULL when not sharded\n"
        "\tkey_fingerprint TEXT NOT NULL, -- HMAC(key, 'medsft-key-fingerprint'), hex\n"
        "\trules_fingerprint TEXT,        -- detector rules and dictionaries\n"
        "\tmodel_fingerprint TEXT,        -- NER model, NULL without one\n"
        "\tsurrogates_fingerprint TEXT,   -- surrogate rules and lists (surrogate mode)\n"
        "\tstarted TEXT NOT NULL,         -- ISO 8601 UTC (SOURCE_DATE_EPOCH when set)\n"
        "\tfinished TEXT NOT NULL,\n"
        "\tstatus TEXT NOT NULL CHECK (status IN ('ok', 'rejects')),\n"
        "\tn_records INTEGER NOT NULL,    -- records of this run's shard\n"
        "\tn_documents INTEGER NOT NULL,\n"
        "\tn_spans INTEGER NOT NULL,\n"
        "\tn_rejects INTEGER NOT NULL\n"
        ");\n"
        "\n"
        "-- The inputs of a run, in command-line order.\n"
        "CREATE TABLE input (\n"
        "\trun_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,\n"
        "\tseq INTEGER NOT NULL,          -- 1-based\n"
        "\tname TEXT NOT NULL,            -- as given; '-' for standard input\n"
        "\tsha256 TEXT,                   -- NULL for standard input\n"
        "\tPRIMARY KEY (run_id, seq)\n"
        ");\n"
        "\n"
        "-- One de-identified document.\n"
        "CREATE TABLE document (\n"
        "\tid INTEGER PRIMARY KEY,\n"
        "\trun_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,\n"
        "\tinput_seq INTEGER NOT NULL,\n"
        "\trecord INTEGER NOT NULL,       -- 1-based record number in its input\n"
        "\tpseudonym TEXT NOT NULL,       -- output id ('d-...')\n"
        "\tgroup_pseudonym TEXT,          -- output group ('p-...')\n"
        "\tlength INTEGER NOT NULL,       -- bytes of the original text\n"
        "\tclean_length INTEGER NOT NULL, -- bytes of the cleaned text\n"
        "\tn_spans INTEGER NOT NULL\n"
        ");\n"
        "CREATE INDEX document_run ON document (run_id);\n"
        "\n"
        "-- Spans per label of a document (labels without spans are left out).\n"
        "-- Span and label rows have no key but the rowid: they are written once per\n"
        "-- span, and an index per row would cost more than the summary saves.\n"
        "CREATE TABLE document_label (\n"
        "\tdocument_id INTEGER NOT NULL REFERENCES document (id) ON DELETE CASCADE,\n"
        "\tlabel TEXT NOT NULL,\n"
        "\tn INTEGER NOT NULL\n"
        ");\n"
        "\n"
        "-- One replaced (or kept) span, at its offsets in the original text.\n"
        "CREATE TABLE span (\n"
        "\tdocument_id INTEGER NOT NULL REFERENCES document (id) ON DELETE CASCADE,\n"
        "\tseq INTEGER NOT NULL,          -- 0-based, in text order\n"
        "\tlabel TEXT NOT NULL,\n"
        "\tstart_off INTEGER NOT NULL,    -- byte offsets [start_off, end_off) in the original\n"
        "\tend_off INTEGER NOT NULL,\n"
        "\tlength INTEGER NOT NULL,       -- end_off - start_off\n"
        "\tsource TEXT,                   -- rule name, 'dict:<field>', 'ner', ...\n"
        "\tkept INTEGER NOT NULL,         -- 1 when left in the text (TITLE, ages up to 89)\n"
        "\ttext_hmac TEXT NOT NULL        -- HMAC(key, 'audit-span' 0x1f text), hex\n"
        ");\n"
        "\n"
        "-- A rejected record: where it was and why (messages carry no record text).\n"
        "CREATE TABLE reject (\n"
        "\trun_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,\n"
        "\tinput_seq INTEGER NOT NULL,\n"
        "\trecord INTEGER NOT NULL,\n"
        "\tline INTEGER,                  -- 1-based line where the record starts\n"
        "\tcode TEXT NOT NULL,            -- status name ('malformed input', ...)\n"
        "\treason TEXT NOT NULL\n"
        ");\n"
        "CREATE INDEX reject_run ON reject (run_id);\n";

struct deid_audit {
	sqlite3 *db;
	char *path;
	bool created; /* the file did not exist: removed again unless finished */
	bool finished;
	long long run_id;
	sqlite3_stmt *ins_input, *ins_doc, *ins_label, *ins_span, *ins_reject;
};

const char *deid_audit_schema(void)
{
	return audit_schema_sql;
}

static int db_error(struct ms_error *err, sqlite3 *db, const char *what)
{
	return ms_error_set(err, MS_EDB, "%s: %s", what, sqlite3_errmsg(db));
}

static int exec(sqlite3 *db, const char *sql, struct ms_error *err)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(err, db, "audit database error");
	return 0;
}

static int prepare(sqlite3 *db, sqlite3_stmt **out, const char *sql, struct ms_error *err)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) != SQLITE_OK)
		return db_error(err, db, "cannot prepare audit statement");
	return 0;
}

static int step_done(sqlite3 *db, sqlite3_stmt *st, struct ms_error *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return db_error(err, db, "cannot write audit record");
	return 0;
}

static void bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (s)
		sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, idx);
}

static void iso_time(char out[32], long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", t);
}

/* 1: an empty database (new), 0: an audit database of this version, else an error. */
static int check_schema(sqlite3 *db, struct ms_error *err)
{
	sqlite3_stmt *st = NULL;
	int version, n_tables, rc;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = db_error(err, db, "not an audit database");
		goto out;
	}
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (version == AUDIT_SCHEMA_VERSION) {
		rc = 0;
		goto out;
	}
	if (version > AUDIT_SCHEMA_VERSION) {
		rc = ms_error_set(err, MS_EDB,
		                  "audit database schema version %d is newer than this tool's (%d)",
		                  version, AUDIT_SCHEMA_VERSION);
		goto out;
	}
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema", -1, &st, NULL) !=
	            SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		rc = db_error(err, db, "not an audit database");
		goto out;
	}
	n_tables = sqlite3_column_int(st, 0);
	rc = n_tables ? ms_error_set(err, MS_EDB, "not a medsft audit database") : 1;
out:
	sqlite3_finalize(st);
	return rc;
}

static int start_run(struct deid_audit *a, const struct deid_audit_run *run, struct ms_error *err)
{
	sqlite3_stmt *st = NULL;
	char started[32];
	int rc;

	iso_time(started, run->started);
	rc = prepare(a->db, &st,
	             "INSERT INTO run (tool_version, mode, shard, key_fingerprint, "
	             "rules_fingerprint, model_fingerprint, surrogates_fingerprint, started, "
	             "finished, status, n_records, n_documents, n_spans, n_rejects) "
	             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok', 0, 0, 0, 0)",
	             err);
	if (rc)
		return rc;
	bind_text(st, 1, run->tool_version);
	bind_text(st, 2, run->mode);
	bind_text(st, 3, run->shard);
	bind_text(st, 4, run->key_fingerprint);
	bind_text(st, 5, run->rules_fingerprint);
	bind_text(st, 6, run->model_fingerprint);
	bind_text(st, 7, run->surrogates_fingerprint);
	bind_text(st, 8, started);
	bind_text(st, 9, started);
	rc = step_done(a->db, st, err);
	sqlite3_finalize(st);
	if (rc)
		return rc;
	a->run_id = sqlite3_last_insert_rowid(a->db);
	rc = prepare(a->db, &a->ins_input,
	             "INSERT INTO input (run_id, seq, name, sha256) VALUES (?, ?, ?, ?)", err);
	if (!rc)
		rc = prepare(a->db, &a->ins_doc,
		             "INSERT INTO document (run_id, input_seq, record, pseudonym, "
		             "group_pseudonym, length, clean_length, n_spans) "
		             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		             err);
	if (!rc)
		rc = prepare(a->db, &a->ins_label,
		             "INSERT INTO document_label (document_id, label, n) VALUES (?, ?, ?)",
		             err);
	if (!rc)
		rc = prepare(
		        a->db, &a->ins_span,
		        "INSERT INTO span (document_id, seq, label, start_off, end_off, length, "
		        "source, kept, text_hmac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		        err);
	if (!rc)
		rc = prepare(a->db, &a->ins_reject,
		             "INSERT INTO reject (run_id, input_seq, record, line, code, reason) "
		             "VALUES (?, ?, ?, ?, ?, ?)",
		             err);
	return rc;
}

int deid_audit_open(struct deid_audit **out, const char *path, const struct deid_audit_run *run,
                    struct ms_error *err)
{
	struct deid_audit *a;
	struct stat sb;
	int rc;

	*out = NULL;
	a = ms_calloc(1, sizeof(*a));
	if (!a)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	a->path = ms_strdup(path);
	if (!a->path) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto fail;
	}
	if (stat(path, &sb) != 0) {
		if (errno != ENOENT) {
			rc = ms_error_set(err, MS_EIO, "cannot access audit database: %s",
			                  strerror(errno));
			goto fail;
		}
		a->created = true;
	}
	if (sqlite3_open_v2(path, &a->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		rc = a->db ? db_error(err, a->db, "cannot open audit database")
		           : ms_error_set(err, MS_ENOMEM, "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(a->db, 1);
	sqlite3_busy_timeout(a->db, 10000);
	rc = exec(a->db, "PRAGMA foreign_keys = ON", err);
	if (!rc)
		rc = exec(a->db, "BEGIN IMMEDIATE", err);
	if (rc)
		goto fail;
	rc = check_schema(a->db, err);
	if (rc == 1) {
		rc = exec(a->db, audit_schema_sql, err);
		if (!rc)
			rc = exec(a->db, "PRAGMA user_version = 1", err);
	}
	if (!rc)
		rc = start_run(a, run, err);
	if (rc)
		goto fail;
	*out = a;
	return 0;
fail:
	ms_error_set_path(err, path);
	deid_audit_free(a);
	return rc;
}

int deid_audit_add_input(struct deid_audit *a, size_t seq, const char *name, const char *sha256,
                         struct ms_error *err)
{
	sqlite3_bind_int64(a->ins_input, 1, a->run_id);
	sqlite3_bind_int64(a->ins_input, 2, (sqlite3_int64)seq);
	bind_text(a->ins_input, 3, name);
	bind_text(a->ins_input, 4, sha256);
	return step_done(a->db, a->ins_input, err);
}

int deid_audit_add_document(struct deid_audit *a, size_t input, const struct deid_doc *doc,
                            const struct deid_replaced *res, const struct deid_key *key,
                            struct ms_error *err)
{
	struct deid_hmac h;
	unsigned char mac[MS_SHA256_LEN];
	char hex[2 * MS_SHA256_LEN + 1];
	long long doc_id;
	size_t i;
	int rc;

	sqlite3_bind_int64(a->ins_doc, 1, a->run_id);
	sqlite3_bind_int64(a->ins_doc, 2, (sqlite3_int64)input);
	sqlite3_bind_int64(a->ins_doc, 3, (sqlite3_int64)doc->record);
	bind_text(a->ins_doc, 4, res->id);
	bind_text(a->ins_doc, 5, res->group);
	sqlite3_bind_int64(a->ins_doc, 6, (sqlite3_int64)doc->len);
	sqlite3_bind_int64(a->ins_doc, 7, (sqlite3_int64)res->len);
	sqlite3_bind_int64(a->ins_doc, 8, (sqlite3_int64)res->n_spans);
	rc = step_done(a->db, a->ins_doc, err);
	if (rc)
		return rc;
	doc_id = sqlite3_last_insert_rowid(a->db);
	for (i = 0; i < PHI_LABEL_COUNT; i++) {
		if (!res->n_by_label[i])
			continue;
		sqlite3_bind_int64(a->ins_label, 1, doc_id);
		bind_text(a->ins_label, 2, phi_label_name((enum phi_label)i));
		sqlite3_bind_int64(a->ins_label, 3, res->n_by_label[i]);
		rc = step_done(a->db, a->ins_label, err);
		if (rc)
			return rc;
	}
	deid_hmac_init(&h, key);
	for (i = 0; i < res->n_spans; i++) {
		const struct deid_out_span *sp = &res->spans[i];

		deid_hmac2(&h, mac, "audit-span", doc->text + sp->orig_start,
		           sp->orig_end - sp->orig_start, NULL, 0);
		ms_hex(hex, mac, sizeof(mac));
		sqlite3_bind_int64(a->ins_span, 1, doc_id);
		sqlite3_bind_int64(a->ins_span, 2, (sqlite3_int64)i);
		bind_text(a->ins_span, 3, phi_label_name(sp->label));
		sqlite3_bind_int64(a->ins_span, 4, (sqlite3_int64)sp->orig_start);
		sqlite3_bind_int64(a->ins_span, 5, (sqlite3_int64)sp->orig_end);
		sqlite3_bind_int64(a->ins_span, 6, (sqlite3_int64)(sp->orig_end - sp->orig_start));
		bind_text(a->ins_span, 7, sp->source);
		sqlite3_bind_int(a->ins_span, 8, sp->kept);
		bind_text(a->ins_span, 9, hex);
		rc = step_done(a->db, a->ins_span, err);
		if (rc)
			break;
	}
	deid_hmac_wipe(&h);
	return rc;
}

int deid_audit_add_reject(struct deid_audit *a, size_t input, const struct ms_error *reject,
                          struct ms_error *err)
{
	sqlite3_bind_int64(a->ins_reject, 1, a->run_id);
	sqlite3_bind_int64(a->ins_reject, 2, (sqlite3_int64)input);
	sqlite3_bind_int64(a->ins_reject, 3, (sqlite3_int64)reject->record);
	if (reject->line)
		sqlite3_bind_int64(a->ins_reject, 4, (sqlite3_int64)reject->line);
	else
		sqlite3_bind_null(a->ins_reject, 4);
	bind_text(a->ins_reject, 5, ms_status_str(reject->code));
	bind_text(a->ins_reject, 6, reject->msg);
	return step_done(a->db, a->ins_reject, err);
}

int deid_audit_finish(struct deid_audit *a, const struct deid_audit_counts *counts,
                      long long finished, const char *status, struct ms_error *err)
{
	sqlite3_stmt *st = NULL;
	char when[32];
	int rc;

	iso_time(when, finished);
	rc = prepare(a->db, &st,
	             "UPDATE run SET finished = ?, status = ?, n_records = ?, n_documents = ?, "
	             "n_spans = ?, n_rejects = ? WHERE id = ?",
	             err);
	if (rc)
		goto out;
	bind_text(st, 1, when);
	bind_text(st, 2, status);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)counts->n_records);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)counts->n_documents);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)counts->n_spans);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)counts->n_rejects);
	sqlite3_bind_int64(st, 7, a->run_id);
	rc = step_done(a->db, st, err);
	if (!rc)
		rc = exec(a->db, "COMMIT", err);
	if (!rc)
		a->finished = true;
out:
	sqlite3_finalize(st);
	if (rc)
		ms_error_set_path(err, a->path);
	return rc;
}

void deid_audit_free(struct deid_audit *a)
{
	if (!a)
		return;
	sqlite3_finalize(a->ins_input);
	sqlite3_finalize(a->ins_doc);
	sqlite3_finalize(a->ins_label);
	sqlite3_finalize(a->ins_span);
	sqlite3_finalize(a->ins_reject);
	if (a->db && !a->finished)
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close_v2(a->db);
	/* a database made for a run that did not finish holds nothing */
	if (a->created && !a->finished && a->path)
		unlink(a->path);
	ms_free(a->path);
	ms_free(a);
}

/* ---- summary ----------------------------------------------------------- */

struct summary {
	struct deid_audit_summary pub; /* first: the public pointer is this one */
	struct ms_arena arena;
};

static const char *col_str(struct ms_arena *arena, sqlite3_stmt *st, int col, bool *ok)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	char *p;

	if (!s)
		return NULL;
	p = ms_arena_strndup(arena, (const char *)s, (size_t)sqlite3_column_bytes(st, col));
	if (!p)
		*ok = false;
	return p;
}

static size_t col_size(sqlite3_stmt *st, int col)
{
	sqlite3_int64 v = sqlite3_column_int64(st, col);

	return v < 0 ? 0 : (size_t)v;
}

/* Runs a query with columns (name, label or NULL, n) into a count array. */
static int query_counts(sqlite3 *db, struct ms_arena *arena, const char *sql, bool with_label,
                        struct deid_audit_count **out, size_t *n_out, struct ms_error *err)
{
	sqlite3_stmt *st = NULL;
	struct deid_audit_count *v = NULL;
	size_t n = 0, cap = 0;
	bool ok = true;
	int rc = 0, step;

	*out = NULL;
	*n_out = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(err, db, "cannot read audit database");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			struct deid_audit_count *nv;

			cap = cap ? 2 * cap : 16;
			nv = ms_arena_alloc(arena, cap * sizeof(*nv));
			if (!nv) {
				ok = false;
				break;
			}
			if (n)
				memcpy(nv, v, n * sizeof(*nv));
			v = nv;
		}
		v[n].name = col_str(arena, st, 0, &ok);
		v[n].label = with_label ? col_str(arena, st, 1, &ok) : NULL;
		v[n].n = col_size(st, 2);
		n++;
	}
	if (!ok)
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	else if (step != SQLITE_DONE && step != SQLITE_ROW)
		rc = db_error(err, db, "cannot read audit database");
	sqlite3_finalize(st);
	if (!rc) {
		*out = v;
		*n_out = n;
	}
	return rc;
}

static int label_rank(const char *name)
{
	enum phi_label l;

	if (name && phi_label_parse(&l, name) == 0)
		return (int)l;
	return PHI_LABEL_COUNT;
}

static int cmp_by_label(const void *a, const void *b)
{
	const struct deid_audit_count *x = a, *y = b;
	int rx = label_rank(x->name), ry = label_rank(y->name);

	if (rx != ry)
		return rx < ry ? -1 : 1;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static int cmp_by_source(const void *a, const void *b)
{
	const struct deid_audit_count *x = a, *y = b;
	int rx = label_rank(x->label), ry = label_rank(y->label);

	if (rx != ry)
		return rx < ry ? -1 : 1;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static int read_runs(sqlite3 *db, struct summary *s, struct ms_error *err)
{
	struct deid_audit_summary *p = &s->pub;
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	bool ok = true;
	int rc = 0, step;

	if (sqlite3_prepare_v2(db,
	                       "SELECT id, tool_version, mode, shard, started, finished, status, "
	                       "key_fingerprint, n_records, n_documents, n_spans, n_rejects, "
	                       "(SELECT count(*) FROM input WHERE run_id = run.id) "
	                       "FROM run ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK)
		return db_error(err, db, "cannot read audit database");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct deid_audit_run_info *r;

		if (p->n_runs == cap) {
			struct deid_audit_run_info *nv;

			cap = cap ? 2 * cap : 8;
			nv = ms_arena_alloc(&s->arena, cap * sizeof(*nv));
			if (!nv) {
				ok = false;
				break;
			}
			if (p->n_runs)
				memcpy(nv, p->runs, p->n_runs * sizeof(*nv));
			p->runs = nv;
		}
		r = &p->runs[p->n_runs++];
		r->id = sqlite3_column_int64(st, 0);
		r->tool_version = col_str(&s->arena, st, 1, &ok);
		r->mode = col_str(&s->arena, st, 2, &ok);
		r->shard = col_str(&s->arena, st, 3, &ok);
		r->started = col_str(&s->arena, st, 4, &ok);
		r->finished = col_str(&s->arena, st, 5, &ok);
		r->status = col_str(&s->arena, st, 6, &ok);
		r->key_fingerprint = col_str(&s->arena, st, 7, &ok);
		r->counts.n_records = col_size(st, 8);
		r->counts.n_documents = col_size(st, 9);
		r->counts.n_spans = col_size(st, 10);
		r->counts.n_rejects = col_size(st, 11);
		r->n_inputs = col_size(st, 12);
		p->n_documents += r->counts.n_documents;
		p->n_spans += r->counts.n_spans;
		p->n_rejects += r->counts.n_rejects;
	}
	if (!ok)
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	else if (step != SQLITE_DONE && step != SQLITE_ROW)
		rc = db_error(err, db, "cannot read audit database");
	sqlite3_finalize(st);
	return rc;
}

int deid_audit_summarize(struct deid_audit_summary **out, const char *path, struct ms_error *err)
{
	struct summary *s = NULL;
	sqlite3 *db = NULL;
	struct stat sb;
	int rc;

	*out = NULL;
	if (stat(path, &sb) != 0) {
		ms_error_set_path(err, path);
		return ms_error_set(err, errno == ENOENT ? MS_ENOTFOUND : MS_EIO,
		                    "cannot open audit database: %s", strerror(errno));
	}
	s = ms_calloc(1, sizeof(*s));
	if (!s)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	ms_arena_init(&s->arena, (size_t)16 * 1024);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		rc = db ? db_error(err, db, "cannot open audit database")
		        : ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	rc = check_schema(db, err);
	if (rc == 1)
		rc = ms_error_set(err, MS_EDB, "not a medsft audit database");
	if (!rc)
		rc = read_runs(db, s, err);
	if (!rc)
		rc = query_counts(db, &s->arena,
		                  "SELECT label, NULL, count(*) FROM span GROUP BY label", false,
		                  &s->pub.by_label, &s->pub.n_by_label, err);
	if (!rc)
		rc = query_counts(db, &s->arena,
		                  "SELECT coalesce(source, ''), label, count(*) FROM span "
		                  "GROUP BY label, source",
		                  true, &s->pub.by_source, &s->pub.n_by_source, err);
	if (!rc)
		rc = query_counts(db, &s->arena,
		                  "SELECT reason, NULL, count(*) FROM reject GROUP BY reason "
		                  "ORDER BY count(*) DESC, reason",
		                  false, &s->pub.rejects, &s->pub.n_rejects_by_reason, err);
	if (rc)
		goto out;
	if (s->pub.n_by_label)
		qsort(s->pub.by_label, s->pub.n_by_label, sizeof(*s->pub.by_label), cmp_by_label);
	if (s->pub.n_by_source)
		qsort(s->pub.by_source, s->pub.n_by_source, sizeof(*s->pub.by_source),
		      cmp_by_source);
	*out = &s->pub;
	s = NULL;
out:
	if (rc)
		ms_error_set_path(err, path);
	sqlite3_close_v2(db);
	deid_audit_summary_free(s ? &s->pub : NULL);
	return rc;
}

void deid_audit_summary_free(struct deid_audit_summary *s)
{
	struct summary *sum = (struct summary *)s;

	if (!sum)
		return;
	ms_arena_release(&sum->arena);
	ms_free(sum);
}
