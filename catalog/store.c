/* SPDX-License-Identifier: MIT */
/*
 * The SQLite catalogue store: schema creation, transactional import from the
 * readers, lookup with hierarchy and references, full-text search, stats.
 * Readers know nothing of SQLite; this file knows nothing of file formats.
 */
#include "catalog/catalog.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog_int.h"
#include "catalog_schema.h"
#include "common/alloc.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "common/json.h"

#define STORE_SCHEMA_VERSION 2

/* Term rows per multi-row INSERT, and the columns each binds. */
#define STORE_TERM_ROWS 64
#define STORE_TERM_COLS 10

/*
 * A store opened with CATALOG_STORE_CREATE on a path that does not exist is
 * "fresh": it lives in tmp_path beside path, written without fsyncs, and is
 * renamed to path by the first successful import (catalog_store_import);
 * freed before that, it leaves nothing behind.
 */
struct catalog_store {
	sqlite3 *db;
	int version;    /* schema version found at open: 1 or 2 */
	char *path;     /* fresh stores: the final name */
	char *tmp_path; /* fresh stores: the file being built; NULL once renamed */
};

int catalog_db_error(struct ms_error *err, sqlite3 *db, const char *what)
{
	return ms_error_set(err, MS_EDB, "%s: %s", what, sqlite3_errmsg(db));
}

static int exec(sqlite3 *db, const char *sql, struct ms_error *err)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return catalog_db_error(err, db, "database error");
	return 0;
}

static int prepare(sqlite3 *db, sqlite3_stmt **out, const char *sql, struct ms_error *err)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) != SQLITE_OK)
		return catalog_db_error(err, db, "cannot prepare statement");
	return 0;
}

static void bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (s)
		sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, idx);
}

static int step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, struct ms_error *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return catalog_db_error(err, db, what);
	return 0;
}

/* One integer from a query without parameters. */
static int query_int64(sqlite3 *db, const char *sql, int64_t *out, struct ms_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		rc = catalog_db_error(err, db, "database error");
	else
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

/* Copies a column (may be NULL) into a fresh heap string; *ok false on OOM. */
static char *col_dup(sqlite3_stmt *st, int col, bool *ok)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	char *p;

	if (!s)
		return NULL;
	p = ms_strndup((const char *)s, (size_t)sqlite3_column_bytes(st, col));
	if (!p)
		*ok = false;
	return p;
}

static void col_copy(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	snprintf(dst, size, "%s", s ? (const char *)s : "");
}

/* ---- open ------------------------------------------------------------- */

static int create_schema(sqlite3 *db, struct ms_error *err)
{
	/* 16 KiB pages: a tenth less import time than 4 KiB (fewer B-tree
	 * splits in the FTS5 and term tables); must precede the first table */
	int rc = exec(db, "PRAGMA page_size = 16384", err);

	if (!rc)
		rc = exec(db, "BEGIN", err);
	if (!rc)
		rc = exec(db, catalog_schema_sql, err);
	if (!rc)
		rc = exec(db, "COMMIT", err);
	if (rc)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int check_schema(struct catalog_store *s, const char *path, bool create,
                        struct ms_error *err)
{
	int64_t version = 0, n_tables = 0;
	int rc;

	rc = query_int64(s->db, "PRAGMA user_version", &version, err);
	if (rc) {
		ms_error_clear(err);
		ms_error_set_path(err, path);
		return catalog_db_error(err, s->db, "not a catalogue database");
	}
	s->version = (int)version;
	if (version == 1 || version == STORE_SCHEMA_VERSION)
		return 0;
	if (version > STORE_SCHEMA_VERSION) {
		ms_error_set_path(err, path);
		return ms_error_set(err, MS_EDB,
		                    "database schema version %d is newer than this tool's (%d)",
		                    (int)version, STORE_SCHEMA_VERSION);
	}
	/* the query ends the read transaction it opens: the page size can
	 * only change before the first write and outside a transaction */
	rc = query_int64(s->db, "SELECT count(*) FROM sqlite_schema", &n_tables, err);
	if (rc) {
		ms_error_clear(err);
		ms_error_set_path(err, path);
		return catalog_db_error(err, s->db, "not a catalogue database");
	}
	if (n_tables > 0 || !create) {
		ms_error_set_path(err, path);
		return ms_error_set(err, MS_EDB, "not a medsft catalogue database");
	}
	rc = create_schema(s->db, err);
	if (rc)
		ms_error_set_path(err, path);
	else
		s->version = STORE_SCHEMA_VERSION;
	return rc;
}

static int open_db(struct catalog_store *s, const char *path, bool read_only, struct ms_error *err)
{
	/* a store belongs to one thread (catalog.h), so its connection needs
	 * no mutex */
	int oflags = SQLITE_OPEN_NOMUTEX;
	int rc;

	oflags |= read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
		ms_error_set_path(err, path);
		return s->db ? catalog_db_error(err, s->db, "cannot open database")
		             : ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	sqlite3_extended_result_codes(s->db, 1);
	rc = exec(s->db, "PRAGMA foreign_keys = ON", err);
	if (rc)
		ms_error_set_path(err, path);
	return rc;
}

/*
 * Creates the file of a fresh store, "<path>.tmp.<pid>[.<n>]", exclusively
 * (a stale file of a crashed run is never reused) and with the permissions
 * SQLite would give a new database.
 */
static int create_tmp(struct catalog_store *s, const char *path, struct ms_error *err)
{
	struct ms_buf name = MS_BUF_INIT;
	unsigned n;
	int fd = -1, e = 0;

	for (n = 0; n < 100 && fd < 0; n++) {
		ms_buf_reset(&name);
		if (n == 0)
			ms_buf_addf(&name, "%s.tmp.%ld", path, (long)getpid());
		else
			ms_buf_addf(&name, "%s.tmp.%ld.%u", path, (long)getpid(), n);
		if (ms_buf_status(&name)) {
			ms_buf_release(&name);
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		}
		fd = open(name.buf, O_RDWR | O_CREAT | O_EXCL, 0644);
		e = errno;
		if (fd < 0 && e != EEXIST)
			break;
	}
	if (fd < 0) {
		ms_buf_release(&name);
		ms_error_set_path(err, path);
		return ms_error_set(err, MS_EIO, "cannot create temporary database: %s",
		                    strerror(e));
	}
	close(fd);
	s->tmp_path = ms_buf_detach(&name, NULL);
	s->path = ms_strdup(path);
	if (!s->tmp_path || !s->path) {
		if (s->tmp_path)
			(void)remove(s->tmp_path);
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	return 0;
}

/*
 * A fresh store needs no rollback journal on disk (a failed import rolls
 * back in memory and a crash leaves only the temporary file), no fsync
 * before the one at the end, and no foreign-key checks: its first import
 * replaces nothing and takes every id from the rows it has just written.
 * Without them a row insert needs no statement journal either.
 */
static int init_fresh(struct catalog_store *s, struct ms_error *err)
{
	int rc = open_db(s, s->tmp_path, false, err);

	if (!rc)
		rc = exec(s->db,
		          "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; "
		          "PRAGMA foreign_keys = OFF",
		          err);
	if (!rc)
		rc = create_schema(s->db, err);
	if (!rc)
		s->version = STORE_SCHEMA_VERSION;
	return rc;
}

static int open_fresh(struct catalog_store *s, const char *path, struct ms_error *err)
{
	int rc = create_tmp(s, path, err);

	if (!rc)
		rc = init_fresh(s, err);
	if (rc)
		ms_error_set_path(err, path);
	return rc;
}

int catalog_store_open(struct catalog_store **out, const char *path, unsigned flags,
                       struct ms_error *err)
{
	struct catalog_store *s = NULL;
	struct stat sb;
	int rc;
	bool read_only = (flags & CATALOG_STORE_READONLY) != 0;
	bool create = (flags & CATALOG_STORE_CREATE) != 0 && !read_only;
	bool exists = true;

	*out = NULL;
	if (stat(path, &sb) != 0) {
		if (errno != ENOENT || !create) {
			ms_error_set_path(err, path);
			return ms_error_set(err, errno == ENOENT ? MS_ENOTFOUND : MS_EIO,
			                    errno == ENOENT ? "no catalogue database (run 'medsft "
			                                      "catalog import' first)"
			                                    : "cannot access: %s",
			                    strerror(errno));
		}
		exists = false;
	}
	s = ms_calloc(1, sizeof(*s));
	if (!s)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	if (exists) {
		rc = open_db(s, path, read_only, err);
		if (!rc)
			rc = check_schema(s, path, create, err);
	} else {
		rc = open_fresh(s, path, err);
	}
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	catalog_store_free(s);
	return rc;
}

void catalog_store_free(struct catalog_store *s)
{
	if (!s)
		return;
	sqlite3_close_v2(s->db);
	if (s->tmp_path)
		(void)remove(s->tmp_path);
	ms_free(s->tmp_path);
	ms_free(s->path);
	ms_free(s);
}

/*
 * Moves the finished file to its name without replacing a database that
 * appeared there meanwhile (another import): link() fails then; where the
 * file system has no hard links, rename().
 */
static int move_into_place(const char *tmp, const char *path, int *e)
{
	if (link(tmp, path) == 0) {
		(void)unlink(tmp);
		return 0;
	}
	*e = errno;
	if (*e == EEXIST)
		return MS_EEXISTS;
	if (*e != EPERM && *e != ENOTSUP && *e != ENOSYS)
		return MS_EIO;
	if (rename(tmp, path) == 0)
		return 0;
	*e = errno;
	return MS_EIO;
}

/* Flushes a fresh store's file to disk; 0 or MS_EIO with *e set. */
static int sync_tmp(const struct catalog_store *s, int *e)
{
	int fd = open(s->tmp_path, O_RDONLY), rc = 0;

	if (fd < 0 || fsync(fd) != 0) {
		*e = errno;
		rc = MS_EIO;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * Puts a fresh store in place after its first successful import: fsync
 * (what catalog_store_import did not sync already), move to the final name
 * (never over a file that appeared there meanwhile), and reopen there as an
 * ordinary store. On failure the temporary file is gone and the store is
 * unusable (db NULL); the import reports the error.
 */
static int store_publish(struct catalog_store *s, struct ms_error *err)
{
	int rc, e = 0;

	if (sqlite3_close(s->db) != SQLITE_OK) {
		ms_error_set_path(err, s->path);
		return catalog_db_error(err, s->db, "cannot close database");
	}
	s->db = NULL;
	rc = sync_tmp(s, &e);
	if (!rc)
		rc = move_into_place(s->tmp_path, s->path, &e);
	if (rc == MS_EEXISTS) {
		ms_error_set_path(err, s->path);
		return ms_error_set(err, rc,
		                    "a database appeared here during the import; not replaced");
	}
	if (rc) {
		ms_error_set_path(err, s->path);
		return ms_error_set(err, rc, "cannot write database: %s", strerror(e));
	}
	ms_free(s->tmp_path);
	s->tmp_path = NULL;
	return open_db(s, s->path, false, err);
}

/* ---- import ----------------------------------------------------------- */

enum import_stmt {
	ST_FIND_CATALOG,
	ST_DELETE_CATALOG,
	ST_DELETE_SEARCH,
	ST_INSERT_CATALOG,
	ST_INSERT_ENTRY,
	ST_INSERT_RUBRIC,
	ST_INSERT_REFERENCE,
	ST_INSERT_TERM,
	ST_INSERT_TERMS, /* STORE_TERM_ROWS rows, ids from SQLite (sql built at run time) */
	ST_INSERT_SEARCH,
	ST_COUNT
};

static const char *const import_sql[ST_COUNT] = {
	[ST_FIND_CATALOG] = "SELECT id FROM catalog WHERE system = ?1 AND version = ?2 AND "
	                    "part = ?3",
	[ST_DELETE_CATALOG] = "DELETE FROM catalog WHERE id = ?1",
	/* external content: FTS5 needs the indexed values to remove a row, so
	 * this runs while the old rows still exist, in id order (FTS5 flushes
	 * its pending terms whenever an id is not larger than the last) */
	[ST_DELETE_SEARCH] = "INSERT INTO search (search, rowid, text, catalog_id, code, source) "
	                     "SELECT 'delete', id, text, catalog_id, code, source "
	                     "FROM search_source WHERE catalog_id = ?1 ORDER BY id",
	[ST_INSERT_CATALOG] = "INSERT INTO catalog (system, version, part, title, release_date, "
	                      "format, lang, source, source_sha256, tool_version) VALUES "
	                      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_INSERT_ENTRY] = "INSERT INTO entry (catalog_id, seq, code, kind, parent, usage, "
	                    "label, terminal, modified, line, meta, id) VALUES "
	                    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_INSERT_RUBRIC] = "INSERT INTO rubric (entry_id, seq, kind, text, usage, id) VALUES "
	                     "(?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_INSERT_REFERENCE] = "INSERT INTO reference (rubric_id, seq, code, usage) VALUES "
	                        "(?1, ?2, ?3, ?4)",
	[ST_INSERT_TERM] = "INSERT INTO term (catalog_id, seq, type, term_id, valid, code, "
	                   "code_asterisk, code_extra, code2, text, id) VALUES "
	                   "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	/* set-based, after all rows are in: no statement per text; in id
	 * order, as FTS5 wants them (the view's parts interleave); FTS5 stores
	 * nothing of the UNINDEXED columns of an external-content table, so
	 * only text is read */
	[ST_INSERT_SEARCH] = "INSERT INTO search (rowid, text) "
	                     "SELECT id, text FROM search_source "
	                     "WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
};

/* Per table: the id of the import's last row there, 0 before its first. */
struct import_ids {
	int64_t entry, rubric, term;
};

struct import_ctx {
	struct catalog_store *store;
	const struct catalog_import_opts *opts;
	sqlite3_stmt *st[ST_COUNT];
	const char *path;
	char sha256[MS_SHA256_HEX_LEN + 1];
	int64_t catalog_id; /* 0 before the first begin() */
	int64_t seq;
	/* one counter for the rows of all three tables (schemas/catalog.sql) */
	int64_t first_id, next_id; /* the import's first id / the next row's */
	struct import_ids last;
	struct catalog_import_result *results;
	size_t n_results, cap_results;
	struct catalog_files files;  /* the files read, without flat-family duplicates */
	size_t *file_index;          /* their indexes in the caller's list */
	struct catalog_ftsfill *fts; /* fresh stores: the search index being built */
	bool rows_committed;         /* fresh stores: commit_rows done */
};

static int import_begin(void *payload, const struct catalog_info *info, struct ms_error *err)
{
	struct import_ctx *c = payload;
	sqlite3 *db = c->store->db;
	sqlite3_stmt *st;
	struct catalog_import_result *r;
	size_t i;
	int rc;

	if (!info->system || !info->version || !info->part || !info->format)
		return ms_error_set(err, MS_EINVAL, "reader gave no system or version");
	for (i = 0; i < c->n_results; i++) {
		r = &c->results[i];
		if (strcmp(r->system, info->system) == 0 &&
		    strcmp(r->version, info->version) == 0 && strcmp(r->part, info->part) == 0)
			return ms_error_set(err, MS_EEXISTS,
			                    "catalogue %s %s (%s) is read twice in one import",
			                    info->system, info->version, info->part);
	}
	st = c->st[ST_FIND_CATALOG];
	bind_text(st, 1, info->system);
	bind_text(st, 2, info->version);
	bind_text(st, 3, info->part);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int64_t old = sqlite3_column_int64(st, 0);

		sqlite3_reset(st);
		/* a fresh store's first import replaces nothing (see feed) */
		assert(!c->fts);
		if (!(c->opts->flags & CATALOG_IMPORT_REPLACE))
			return ms_error_set(err, MS_EEXISTS,
			                    "catalogue %s %s (%s) is already in the database "
			                    "(use --replace to replace it)",
			                    info->system, info->version, info->part);
		sqlite3_bind_int64(c->st[ST_DELETE_SEARCH], 1, old);
		rc = step_done(db, c->st[ST_DELETE_SEARCH], "cannot remove old catalogue", err);
		if (rc)
			return rc;
		sqlite3_bind_int64(c->st[ST_DELETE_CATALOG], 1, old);
		rc = step_done(db, c->st[ST_DELETE_CATALOG], "cannot remove old catalogue", err);
		if (rc)
			return rc;
	} else {
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return catalog_db_error(err, db, "cannot query catalogues");
	}
	st = c->st[ST_INSERT_CATALOG];
	bind_text(st, 1, info->system);
	bind_text(st, 2, info->version);
	bind_text(st, 3, info->part);
	bind_text(st, 4, info->title);
	bind_text(st, 5, info->date);
	bind_text(st, 6, info->format);
	bind_text(st, 7, info->lang);
	bind_text(st, 8, ms_basename(c->path));
	bind_text(st, 9, c->sha256);
	bind_text(st, 10, MS_VERSION);
	rc = step_done(db, st, "cannot record catalogue", err);
	if (rc)
		return rc;
	c->catalog_id = sqlite3_last_insert_rowid(db);
	c->seq = 0;
	if (MS_GROW(c->results, c->cap_results, c->n_results + 1))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	r = &c->results[c->n_results++];
	memset(r, 0, sizeof(*r));
	snprintf(r->system, sizeof(r->system), "%s", info->system);
	snprintf(r->version, sizeof(r->version), "%s", info->version);
	snprintf(r->part, sizeof(r->part), "%s", info->part);
	snprintf(r->path, sizeof(r->path), "%s", c->path);
	return 0;
}

/* Metadata strings this long or longer take the general path. */
#define META_SHORT 64

/*
 * Writes s as a JSON string at d (room for META_SHORT + 2 bytes) if it is
 * shorter than META_SHORT and needs no escape; returns the bytes written,
 * or 0 if not.
 */
static size_t quote_short(char *d, const char *s)
{
	size_t i;

	d[0] = '"';
	for (i = 0; i < META_SHORT && ms_json_plain[(unsigned char)s[i]]; i++)
		d[i + 1] = s[i];
	if (i == META_SHORT || s[i])
		return 0;
	d[i + 1] = '"';
	return i + 2;
}

/* One name/value pair the general way, after a ',' unless it is the first. */
static void meta_pair(struct ms_buf *out, const struct catalog_meta *m, bool first)
{
	if (!first)
		ms_buf_addch(out, ',');
	(void)ms_json_quote(out, m->name, strlen(m->name));
	ms_buf_addch(out, ':');
	if (m->value)
		(void)ms_json_quote(out, m->value, strlen(m->value));
	else
		ms_buf_adds(out, "null");
}

/*
 * The metadata as a compact JSON object; runs on the reader thread
 * (readq.c), where it was a third of the flat reader's time. Names and
 * values are short (column names, codes): a pair is written straight into
 * the buffer in one pass over its bytes, without a call per string, and
 * only a long one or one that needs escapes takes ms_json_quote.
 */
static int meta_json(const struct catalog_entry *e, struct ms_buf *out)
{
	const size_t room = 2 * (META_SHORT + 2) + 2;
	size_t i;

	if (!e->n_meta)
		return 0;
	ms_buf_addch(out, '{');
	for (i = 0; i < e->n_meta; i++) {
		const struct catalog_meta *m = &e->meta[i];
		size_t k = 0, n = 0;
		char *d;

		if (!ms_buf_fits(out, room) && ms_buf_grow(out, room)) {
			meta_pair(out, m, i == 0);
			continue;
		}
		d = out->buf + out->len;
		if (i)
			d[k++] = ',';
		n = quote_short(d + k, m->name);
		if (n) {
			k += n;
			d[k++] = ':';
			if (m->value) {
				n = quote_short(d + k, m->value);
			} else {
				static const char null_json[] = { 'n', 'u', 'l', 'l' };

				memcpy(d + k, null_json, sizeof(null_json));
				n = sizeof(null_json);
			}
		}
		if (!n) {
			meta_pair(out, m, i == 0);
			continue;
		}
		out->len += k + n;
		out->buf[out->len] = '\0';
	}
	ms_buf_addch(out, '}');
	return ms_buf_status(out) ? MS_ENOMEM : 0;
}

/*
 * Binds the id of a new row. Once the import has a row in the table, that
 * row holds the table's largest id: where the new row's id follows it,
 * SQLite's next rowid (largest + 1) is the same without a seek per row.
 */
static void bind_id(sqlite3_stmt *st, int idx, int64_t id, int64_t last)
{
	if (last && id == last + 1)
		sqlite3_bind_null(st, idx);
	else
		sqlite3_bind_int64(st, idx, id);
}

/* Takes the ids of n new rows; *out gets the first. */
static int take_ids(struct import_ctx *c, int64_t n, int64_t *out, struct ms_error *err)
{
	if (c->next_id > INT64_MAX - n)
		return ms_error_set(err, MS_ETOOBIG, "too many rows");
	*out = c->next_id;
	c->next_id += n;
	return 0;
}

static int check_id(sqlite3 *db, int64_t id, struct ms_error *err)
{
	if (sqlite3_last_insert_rowid(db) != id)
		return ms_error_set(err, MS_EDB, "row id %" PRId64 " out of sequence", id);
	return 0;
}

/*
 * Hands the text of a row just stored to the search index being built
 * (fresh stores): those that search_source shows, the same test as the
 * view's (text <> '').
 */
static int feed(struct import_ctx *c, int64_t id, const char *text, struct ms_error *err)
{
	if (!c->fts || !text || !*text)
		return 0;
	return catalog_ftsfill_add(c->fts, id, text, strlen(text), err);
}

/* True for the rubrics search_source shows (given a text). */
static bool searchable_rubric(const struct catalog_rubric *r)
{
	return !r->usage &&
	       (strcmp(r->kind, "preferredLong") == 0 || strcmp(r->kind, "inclusion") == 0 ||
	        strcmp(r->kind, "definition") == 0);
}

static int insert_rubrics(struct import_ctx *c, int64_t entry_id, const struct catalog_entry *e,
                          struct ms_error *err)
{
	sqlite3 *db = c->store->db;
	size_t i, k;
	int rc;

	for (i = 0; i < e->n_rubrics; i++) {
		const struct catalog_rubric *r = &e->rubrics[i];
		sqlite3_stmt *st = c->st[ST_INSERT_RUBRIC];
		int64_t rubric_id = 0;

		/* the preferred label lives in entry.label */
		if (strcmp(r->kind, "preferred") == 0 && e->label && r->n_refs == 0 &&
		    strcmp(r->text, e->label) == 0)
			continue;
		rc = take_ids(c, 1, &rubric_id, err);
		if (rc)
			return rc;
		sqlite3_bind_int64(st, 1, entry_id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		bind_text(st, 3, r->kind);
		bind_text(st, 4, r->text ? r->text : "");
		bind_text(st, 5, r->usage);
		bind_id(st, 6, rubric_id, c->last.rubric);
		rc = step_done(db, st, "cannot store rubric", err);
		if (!rc)
			rc = check_id(db, rubric_id, err);
		if (!rc && searchable_rubric(r))
			rc = feed(c, rubric_id, r->text, err);
		if (rc)
			return rc;
		c->last.rubric = rubric_id;
		c->results[c->n_results - 1].n_rubrics++;
		for (k = 0; k < r->n_refs; k++) {
			st = c->st[ST_INSERT_REFERENCE];
			sqlite3_bind_int64(st, 1, rubric_id);
			sqlite3_bind_int64(st, 2, (int64_t)k);
			bind_text(st, 3, r->refs[k].code);
			bind_text(st, 4, r->refs[k].usage);
			rc = step_done(db, st, "cannot store reference", err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int import_entry(void *payload, const struct catalog_entry *e, const char *meta,
                        struct ms_error *err)
{
	struct import_ctx *c = payload;
	sqlite3 *db = c->store->db;
	sqlite3_stmt *st = c->st[ST_INSERT_ENTRY];
	struct catalog_import_result *r;
	int64_t id = 0;
	int rc;

	if (!c->catalog_id)
		return ms_error_set(err, MS_EINVAL, "reader gave an entry before its catalogue");
	if (!e->code || !*e->code || !e->kind) {
		ms_error_set_line(err, e->line);
		return ms_error_set(err, MS_EINVAL, "entry without code or kind");
	}
	rc = take_ids(c, 1, &id, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, c->catalog_id);
	sqlite3_bind_int64(st, 2, c->seq++);
	bind_text(st, 3, e->code);
	bind_text(st, 4, e->kind);
	bind_text(st, 5, e->parent);
	bind_text(st, 6, e->usage);
	bind_text(st, 7, e->label);
	sqlite3_bind_int(st, 8, (e->flags & CATALOG_ENTRY_TERMINAL) != 0);
	sqlite3_bind_int(st, 9, (e->flags & CATALOG_ENTRY_MODIFIED) != 0);
	sqlite3_bind_int64(st, 10, (int64_t)e->line);
	bind_text(st, 11, meta);
	bind_id(st, 12, id, c->last.entry);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	/* the readers refuse duplicate codes; this is the backstop of an
	 * existing database (a fresh one builds entry_code at the end) */
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		ms_error_set_line(err, e->line);
		return ms_error_set(err, MS_EINVAL, "duplicate code '%s'", e->code);
	}
	if (rc != SQLITE_DONE)
		return catalog_db_error(err, db, "cannot store entry");
	rc = check_id(db, id, err);
	if (!rc)
		rc = feed(c, id, e->label, err);
	if (rc)
		return rc;
	c->last.entry = id;
	r = &c->results[c->n_results - 1];
	r->n_entries++;
	if (e->flags & CATALOG_ENTRY_MODIFIED)
		r->n_modified++;
	return insert_rubrics(c, id, e, err);
}

/* Binds the columns of one term row, from parameter base + 1 on. */
static void bind_term(struct import_ctx *c, sqlite3_stmt *st, int base,
                      const struct catalog_term *t)
{
	sqlite3_bind_int64(st, base + 1, c->catalog_id);
	sqlite3_bind_int64(st, base + 2, c->seq++);
	sqlite3_bind_int(st, base + 3, t->type);
	bind_text(st, base + 4, t->term_id);
	sqlite3_bind_int(st, base + 5, t->valid);
	bind_text(st, base + 6, t->code);
	bind_text(st, base + 7, t->code_asterisk);
	bind_text(st, base + 8, t->code_extra);
	bind_text(st, base + 9, t->code2);
	bind_text(st, base + 10, t->text ? t->text : "");
}

/*
 * Stores n terms, STORE_TERM_ROWS to a statement where it can: a statement
 * costs about as much again as the row it inserts (cursor, transaction
 * and VDBE setup), and index files come as long runs of terms.
 */
static int import_terms(void *payload, const struct catalog_term *t, size_t n, struct ms_error *err)
{
	struct import_ctx *c = payload;
	sqlite3 *db = c->store->db;
	size_t i = 0, k, rows;
	int rc;

	if (!c->catalog_id)
		return ms_error_set(err, MS_EINVAL, "reader gave a term before its catalogue");
	while (i < n) {
		/* a multi-row INSERT takes its ids from SQLite (see bind_id):
		 * only where they follow the import's last term */
		bool many =
		        n - i >= STORE_TERM_ROWS && c->last.term && c->last.term == c->next_id - 1;
		sqlite3_stmt *st = c->st[many ? ST_INSERT_TERMS : ST_INSERT_TERM];
		int64_t id = 0;

		rows = many ? STORE_TERM_ROWS : 1;
		rc = take_ids(c, (int64_t)rows, &id, err);
		if (rc)
			return rc;
		for (k = 0; k < rows; k++)
			bind_term(c, st, (int)k * STORE_TERM_COLS, &t[i + k]);
		if (!many)
			bind_id(st, STORE_TERM_COLS + 1, id, c->last.term);
		rc = step_done(db, st, "cannot store index term", err);
		if (!rc)
			rc = check_id(db, id + (int64_t)rows - 1, err);
		for (k = 0; !rc && k < rows; k++)
			rc = feed(c, id + (int64_t)k, t[i + k].text, err);
		if (rc)
			return rc;
		c->last.term = id + (int64_t)rows - 1;
		c->results[c->n_results - 1].n_terms += rows;
		i += rows;
	}
	return 0;
}

/* True if paths[i] is a flat-family member whose code list is read anyway. */
static bool consumed_by_flat(const char *const *paths, size_t n, size_t i,
                             const enum catalog_format *fmts)
{
	char *codes = NULL, *other = NULL;
	size_t k;
	bool found = false;

	if (fmts[i] != CATALOG_FORMAT_FLAT_GROUPS && fmts[i] != CATALOG_FORMAT_FLAT_CHAPTERS)
		return false;
	if (catalog_flat_codes_path(&codes, paths[i]))
		return false;
	for (k = 0; k < n && !found; k++) {
		if (k == i)
			continue;
		if (fmts[k] == CATALOG_FORMAT_FLAT) {
			found = strcmp(paths[k], codes) == 0;
		} else if (k < i && (fmts[k] == CATALOG_FORMAT_FLAT_GROUPS ||
		                     fmts[k] == CATALOG_FORMAT_FLAT_CHAPTERS)) {
			/* an earlier sibling already pulled in the code list */
			if (!catalog_flat_codes_path(&other, paths[k])) {
				found = strcmp(other, codes) == 0;
				ms_free(other);
				other = NULL;
			}
		}
	}
	ms_free(codes);
	return found;
}

static int import_file_begin(void *payload, size_t file, const char *sha256, struct ms_error *err)
{
	struct import_ctx *c = payload;

	(void)err;
	c->path = c->files.paths[file];
	c->catalog_id = 0;
	snprintf(c->sha256, sizeof(c->sha256), "%s", sha256);
	return 0;
}

static int import_file_end(void *payload, size_t file, struct ms_error *err)
{
	struct import_ctx *c = payload;

	if (!c->catalog_id)
		return ms_error_set(err, MS_EINVAL, "file holds no catalogue entries");
	if (c->opts->progress)
		c->opts->progress(c->opts->payload, c->file_index[file], c->files.paths[file]);
	return 0;
}

/*
 * Reads every file into the open transaction; the readers run on a second
 * thread meanwhile (readq.c), so parsing, hashing and the metadata JSON
 * are off the path of the SQLite writes.
 */
static int import_files(struct import_ctx *c, const char *const *paths, size_t n_paths,
                        const enum catalog_format *fmts, struct ms_error *err)
{
	const struct catalog_files_sink sink = { import_file_begin,
		                                 import_begin,
		                                 import_entry,
		                                 import_terms,
		                                 import_file_end,
		                                 meta_json,
		                                 c };
	const char **read_paths;
	enum catalog_format *read_fmts;
	size_t i, n = 0;
	int rc;

	read_paths = ms_calloc(n_paths ? n_paths : 1, sizeof(*read_paths));
	read_fmts = ms_calloc(n_paths ? n_paths : 1, sizeof(*read_fmts));
	c->file_index = ms_calloc(n_paths ? n_paths : 1, sizeof(*c->file_index));
	if (!read_paths || !read_fmts || !c->file_index) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n_paths; i++) {
		if (consumed_by_flat(paths, n_paths, i, fmts))
			continue;
		read_paths[n] = paths[i];
		read_fmts[n] = fmts[i];
		c->file_index[n++] = i;
	}
	c->files.paths = read_paths;
	c->files.fmts = read_fmts;
	c->files.n = n;
	c->files.opts = &c->opts->read;
	rc = catalog_files_read(&c->files, &sink, err);
out:
	ms_free(read_paths);
	ms_free(read_fmts);
	ms_free(c->file_index);
	c->file_index = NULL;
	return rc;
}

static int prepare_insert_terms(sqlite3 *db, sqlite3_stmt **out, struct ms_error *err)
{
	struct ms_buf sql = MS_BUF_INIT;
	int k, rc;

	/* OR FAIL: no statement journal for the rows of one statement (any
	 * error rolls the whole import back) */
	ms_buf_adds(&sql, "INSERT OR FAIL INTO term (catalog_id, seq, type, term_id, valid, code, "
	                  "code_asterisk, code_extra, code2, text) VALUES ");
	for (k = 0; k < STORE_TERM_ROWS; k++)
		ms_buf_adds(&sql, k ? ", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
		                    : "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (ms_buf_status(&sql))
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	else
		rc = prepare(db, out, sql.buf, err);
	ms_buf_release(&sql);
	return rc;
}

static int prepare_import(sqlite3 *db, sqlite3_stmt *st[ST_COUNT], struct ms_error *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < ST_COUNT; i++) {
		if (i == ST_INSERT_TERMS)
			rc = prepare_insert_terms(db, &st[i], err);
		else
			rc = prepare(db, &st[i], import_sql[i], err);
	}
	return rc;
}

/* The largest id of entry, rubric and term rows, 0 if there are none. */
static const char max_id_sql[] = "SELECT max(coalesce((SELECT max(id) FROM entry), 0), "
                                 "coalesce((SELECT max(id) FROM rubric), 0), "
                                 "coalesce((SELECT max(id) FROM term), 0))";

/*
 * Version 1 numbered each table from 1 and kept the texts a second time
 * inside the FTS5 table: move rubric ids above all old ids, term ids above
 * those (no id collides with an old one on the way), and rebuild the
 * search index over search_source, inside the import's transaction.
 */
static int upgrade_v1(sqlite3 *db, struct ms_error *err)
{
	/* the schema's search part, from the view to the end */
	const char *search_sql = strstr(catalog_schema_sql, "CREATE VIEW search_source");
	struct ms_buf sql = MS_BUF_INIT;
	int64_t max_id = 0;
	int rc;

	assert(search_sql);
	rc = query_int64(db, max_id_sql, &max_id, err);
	if (rc)
		return rc;
	if (max_id > INT64_MAX / 3)
		return ms_error_set(err, MS_ETOOBIG, "too many rows");
	ms_buf_addf(&sql,
	            "PRAGMA defer_foreign_keys = ON;"
	            "DROP TABLE search;"
	            "UPDATE reference SET rubric_id = rubric_id + %" PRId64 ";"
	            "UPDATE rubric SET id = id + %" PRId64 ";"
	            "UPDATE term SET id = id + %" PRId64 ";",
	            max_id, max_id, 2 * max_id);
	ms_buf_adds(&sql, search_sql);
	ms_buf_adds(&sql, ";INSERT INTO search (search) VALUES ('rebuild')");
	if (ms_buf_status(&sql))
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	else
		rc = exec(db, sql.buf, err);
	ms_buf_release(&sql);
	return rc;
}

/* The first id of the import: every row it adds is newer than all others. */
static int init_ids(struct import_ctx *c, struct ms_error *err)
{
	int64_t max_id = 0;
	int rc;

	rc = query_int64(c->store->db, max_id_sql, &max_id, err);
	if (rc)
		return rc;
	if (max_id == INT64_MAX)
		return ms_error_set(err, MS_ETOOBIG, "too many rows");
	c->first_id = c->next_id = max_id + 1;
	memset(&c->last, 0, sizeof(c->last));
	return 0;
}

/* Indexes the texts of the rows this import added, in one statement. */
static int index_search(struct import_ctx *c, struct ms_error *err)
{
	sqlite3_stmt *st = c->st[ST_INSERT_SEARCH];

	if (c->next_id == c->first_id)
		return 0;
	sqlite3_bind_int64(st, 1, c->first_id);
	sqlite3_bind_int64(st, 2, c->next_id - 1);
	return step_done(c->store->db, st, "cannot index text", err);
}

/*
 * A fresh store's tables are empty: building the secondary indexes once at
 * the end (a sort) is cheaper than keeping them up to date row by row.
 * Drops them, keeping their CREATE statements in create_out.
 */
static int drop_indexes(sqlite3 *db, struct ms_buf *create_out, struct ms_error *err)
{
	struct ms_buf drop = MS_BUF_INIT;
	sqlite3_stmt *st = NULL;
	int rc = 0, s;

	if (sqlite3_prepare_v2(db,
	                       "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND "
	                       "sql IS NOT NULL ORDER BY name",
	                       -1, &st, NULL) != SQLITE_OK)
		return catalog_db_error(err, db, "database error");
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		ms_buf_addf(&drop, "DROP INDEX \"%s\";", (const char *)sqlite3_column_text(st, 0));
		ms_buf_adds(create_out, (const char *)sqlite3_column_text(st, 1));
		ms_buf_addch(create_out, ';');
	}
	if (s != SQLITE_DONE)
		rc = catalog_db_error(err, db, "database error");
	sqlite3_finalize(st);
	if (!rc && (ms_buf_status(&drop) || ms_buf_status(create_out)))
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	if (!rc && drop.len)
		rc = exec(db, drop.buf, err);
	ms_buf_release(&drop);
	return rc;
}

/*
 * A fresh store's rows, committed and synced while the index thread is
 * still at work (its last terms, the sort and the segment take tens of
 * milliseconds after the last row); the index is copied in by a second
 * transaction. The file becomes the store only in store_publish, so a
 * failure after this still leaves nothing behind.
 */
static int commit_rows(struct import_ctx *c, struct ms_error *err)
{
	struct catalog_store *store = c->store;
	int rc = exec(store->db, "COMMIT", err), e = 0;

	c->rows_committed = !rc;
	if (!rc && sync_tmp(store, &e)) {
		ms_error_set_path(err, store->path);
		rc = ms_error_set(err, MS_EIO, "cannot write database: %s", strerror(e));
	}
	if (!rc)
		rc = exec(store->db, "BEGIN IMMEDIATE", err);
	return rc;
}

/*
 * After a failed import that had committed rows (commit_rows): the fresh
 * store empty again, its temporary file emptied and set up anew. If that
 * fails too, the store is unusable (db NULL), as after a failed
 * store_publish; its file still goes with catalog_store_free.
 */
static void renew_fresh(struct catalog_store *store)
{
	struct ms_error ignored = MS_ERROR_INIT;

	sqlite3_close_v2(store->db);
	store->db = NULL;
	if (truncate(store->tmp_path, 0) != 0 || init_fresh(store, &ignored)) {
		sqlite3_close_v2(store->db);
		store->db = NULL;
	}
}

/*
 * Everything between BEGIN and COMMIT; for a fresh store two transactions,
 * the rows and then the search index (commit_rows).
 */
static int import_tx(struct import_ctx *c, const char *const *paths, size_t n_paths,
                     const enum catalog_format *fmts, struct ms_error *err)
{
	struct catalog_store *store = c->store;
	struct ms_buf indexes = MS_BUF_INIT;
	int rc = 0;

	if (store->tmp_path)
		rc = drop_indexes(store->db, &indexes, err);
	if (!rc)
		rc = init_ids(c, err);
	/* a fresh store's index is built beside the row inserts (ftsfill.c) */
	if (!rc && store->tmp_path)
		rc = catalog_ftsfill_start(&c->fts, store->db, err);
	if (!rc)
		rc = import_files(c, paths, n_paths, fmts, err);
	if (!rc)
		rc = c->fts ? catalog_ftsfill_end(c->fts, err) : index_search(c, err);
	if (!rc && indexes.len)
		rc = exec(store->db, indexes.buf, err);
	if (!rc && c->fts && store->tmp_path)
		rc = commit_rows(c, err);
	/* the last statement on the store's `search` (catalog_ftsfill_copy):
	 * store_publish reopens the database */
	if (!rc && c->fts)
		rc = catalog_ftsfill_copy(c->fts, store->db, err);
	ms_buf_release(&indexes);
	return rc;
}

int catalog_store_import(struct catalog_store *store, const char *const *paths, size_t n_paths,
                         const struct catalog_import_opts *opts,
                         struct catalog_import_result **results_out, size_t *n_results_out,
                         struct ms_error *err)
{
	static const struct catalog_import_opts no_opts = { 0 };
	struct import_ctx c;
	enum catalog_format *fmts = NULL;
	bool in_tx = false;
	size_t i;
	int rc = 0;

	if (results_out)
		*results_out = NULL;
	if (n_results_out)
		*n_results_out = 0;
	memset(&c, 0, sizeof(c));
	c.store = store;
	c.opts = opts ? opts : &no_opts;

	fmts = ms_calloc(n_paths ? n_paths : 1, sizeof(*fmts));
	if (!fmts) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	/* detect everything first: an unknown file fails before any work */
	for (i = 0; i < n_paths; i++) {
		fmts[i] = c.opts->format;
		if (fmts[i] != CATALOG_FORMAT_UNKNOWN)
			continue;
		rc = catalog_format_detect(&fmts[i], paths[i], err);
		if (rc)
			goto out;
	}
	/* bulk-load settings; the rollback journal still guards atomicity
	 * (a fresh store keeps it in memory and is not synced until the end) */
	rc = exec(store->db,
	          store->tmp_path ? "PRAGMA cache_size = -16000"
	                          : "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16000",
	          err);
	if (!rc)
		rc = exec(store->db, "BEGIN IMMEDIATE", err);
	if (rc)
		goto out;
	in_tx = true;
	/* prepared inside the transaction: a version 1 schema changes first */
	if (store->version == 1)
		rc = upgrade_v1(store->db, err);
	if (!rc)
		rc = prepare_import(store->db, c.st, err);
	if (!rc)
		rc = import_tx(&c, paths, n_paths, fmts, err);
	if (!rc)
		rc = exec(store->db, "COMMIT", err);
	if (rc)
		goto out;
	in_tx = false;
	catalog_ftsfill_free(c.fts);
	c.fts = NULL;
	store->version = STORE_SCHEMA_VERSION;
	for (i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(c.st[i]);
		c.st[i] = NULL;
	}
	if (store->tmp_path) {
		rc = store_publish(store, err);
		if (rc)
			goto out;
	}
	if (results_out) {
		*results_out = c.results;
		c.results = NULL;
	}
	if (n_results_out)
		*n_results_out = c.n_results;
out:
	if (in_tx)
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
	catalog_ftsfill_free(c.fts);
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c.st[i]);
	if (rc && c.rows_committed && store->tmp_path)
		renew_fresh(store);
	ms_free(c.results);
	ms_free(fmts);
	return rc;
}

/* ---- listing and stats ------------------------------------------------ */

int catalog_store_list(struct catalog_store *store, struct catalog_summary **out, size_t *n_out,
                       struct ms_error *err)
{
	sqlite3_stmt *st = NULL;
	struct catalog_summary *list = NULL;
	size_t n = 0, cap = 0;
	int rc = 0, s;

	*out = NULL;
	*n_out = 0;
	if (sqlite3_prepare_v2(store->db,
	                       "SELECT id, system, version, part, coalesce(title, ''), format, "
	                       "source, source_sha256 FROM catalog "
	                       "ORDER BY system, CAST(version AS INTEGER), version, part",
	                       -1, &st, NULL) != SQLITE_OK)
		return catalog_db_error(err, store->db, "cannot list catalogues");
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct catalog_summary *c;

		if (MS_GROW(list, cap, n + 1)) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
		c = &list[n++];
		c->id = sqlite3_column_int64(st, 0);
		col_copy(c->system, sizeof(c->system), st, 1);
		col_copy(c->version, sizeof(c->version), st, 2);
		col_copy(c->part, sizeof(c->part), st, 3);
		col_copy(c->title, sizeof(c->title), st, 4);
		col_copy(c->format, sizeof(c->format), st, 5);
		col_copy(c->source, sizeof(c->source), st, 6);
		col_copy(c->sha256, sizeof(c->sha256), st, 7);
	}
	if (s != SQLITE_DONE) {
		rc = catalog_db_error(err, store->db, "cannot list catalogues");
		goto out;
	}
	*out = list;
	*n_out = n;
	list = NULL;
out:
	sqlite3_finalize(st);
	ms_free(list);
	return rc;
}

static int count_one(sqlite3 *db, const char *sql, int64_t id, size_t *out, struct ms_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return catalog_db_error(err, db, "cannot count");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW)
		rc = catalog_db_error(err, db, "cannot count");
	else
		*out = (size_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

int catalog_store_kind_counts(struct catalog_store *store, int64_t catalog_id,
                              struct catalog_kind_count **out, size_t *n_out, size_t *n_terms_out,
                              size_t *n_rubrics_out, struct ms_error *err)
{
	sqlite3_stmt *st = NULL;
	struct catalog_kind_count *list = NULL;
	size_t n = 0, cap = 0;
	int rc = 0, s;

	*out = NULL;
	*n_out = 0;
	rc = count_one(store->db, "SELECT count(*) FROM term WHERE catalog_id = ?1", catalog_id,
	               n_terms_out, err);
	if (!rc)
		rc = count_one(store->db,
		               "SELECT count(*) FROM rubric r JOIN entry e ON e.id = r.entry_id "
		               "WHERE e.catalog_id = ?1",
		               catalog_id, n_rubrics_out, err);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(store->db,
	                       "SELECT kind, count(*), sum(terminal), sum(modified) FROM entry "
	                       "WHERE catalog_id = ?1 GROUP BY kind ORDER BY min(seq)",
	                       -1, &st, NULL) != SQLITE_OK)
		return catalog_db_error(err, store->db, "cannot count entries");
	sqlite3_bind_int64(st, 1, catalog_id);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct catalog_kind_count *k;

		if (MS_GROW(list, cap, n + 1)) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
		k = &list[n++];
		col_copy(k->kind, sizeof(k->kind), st, 0);
		k->n = (size_t)sqlite3_column_int64(st, 1);
		k->n_terminal = (size_t)sqlite3_column_int64(st, 2);
		k->n_modified = (size_t)sqlite3_column_int64(st, 3);
	}
	if (s != SQLITE_DONE) {
		rc = catalog_db_error(err, store->db, "cannot count entries");
		goto out;
	}
	*out = list;
	*n_out = n;
	list = NULL;
out:
	sqlite3_finalize(st);
	ms_free(list);
	return rc;
}

/* ---- lookup ----------------------------------------------------------- */

/*
 * Spellings of a code to try, most literal first: as given; trimmed of the
 * "-" / ".-" marks of printed catalogues; upper-cased; ICD-O-3 "/" and ":"
 * behaviour separators swapped.
 */
static int code_variants(struct ms_buf *v, const char *code, size_t *n_out)
{
	char tmp[64];
	size_t len = strlen(code), i, n = 0;
	const char *seps[] = { "/", ":" };

	while (len && (code[len - 1] == ' ' || code[len - 1] == '\t'))
		len--;
	while (len && (*code == ' ' || *code == '\t')) {
		code++;
		len--;
	}
	if (len == 0 || len >= sizeof(tmp))
		return MS_EINVAL;
	memcpy(tmp, code, len);
	tmp[len] = '\0';
	ms_buf_add(v, tmp, len + 1);
	n++;
	if (len > 2 && strcmp(tmp + len - 2, ".-") == 0)
		tmp[len -= 2] = '\0';
	else if (len > 1 && tmp[len - 1] == '-')
		tmp[--len] = '\0';
	for (i = 0; i < len; i++) {
		if (tmp[i] >= 'a' && tmp[i] <= 'z')
			tmp[i] = (char)(tmp[i] - 'a' + 'A');
	}
	ms_buf_add(v, tmp, len + 1);
	n++;
	for (i = 0; i < 2; i++) {
		char *p = strchr(tmp, seps[i][0]);

		if (p) {
			*p = seps[1 - i][0];
			ms_buf_add(v, tmp, len + 1);
			n++;
			break;
		}
	}
	*n_out = n;
	return ms_buf_status(v);
}

static int fill_node(struct catalog_record_node *node, sqlite3_stmt *st, int col)
{
	bool ok = true;

	node->code = col_dup(st, col, &ok);
	node->kind = col_dup(st, col + 1, &ok);
	node->label = col_dup(st, col + 2, &ok);
	return ok ? 0 : MS_ENOMEM;
}

static void node_release(struct catalog_record_node *n)
{
	ms_free(n->code);
	ms_free(n->kind);
	ms_free(n->label);
}

void catalog_record_free(struct catalog_record *r)
{
	size_t i, k;

	if (!r)
		return;
	ms_free(r->system);
	ms_free(r->version);
	ms_free(r->code);
	ms_free(r->kind);
	ms_free(r->usage);
	ms_free(r->label);
	for (i = 0; i < r->n_ancestors; i++)
		node_release(&r->ancestors[i]);
	ms_free(r->ancestors);
	for (i = 0; i < r->n_children; i++)
		node_release(&r->children[i]);
	ms_free(r->children);
	for (i = 0; i < r->n_rubrics; i++) {
		struct catalog_record_rubric *rb = &r->rubrics[i];

		for (k = 0; k < rb->n_refs; k++) {
			ms_free(rb->ref_codes[k]);
			ms_free(rb->ref_usages[k]);
			ms_free(rb->ref_labels[k]);
		}
		ms_free(rb->ref_codes);
		ms_free(rb->ref_usages);
		ms_free(rb->ref_labels);
		ms_free(rb->kind);
		ms_free(rb->text);
		ms_free(rb->usage);
	}
	ms_free(r->rubrics);
	for (i = 0; i < r->n_meta; i++) {
		ms_free((char *)r->meta[i].name);
		ms_free((char *)r->meta[i].value);
	}
	ms_free(r->meta);
	ms_free(r);
}

struct lookup_stmts {
	sqlite3_stmt *node;     /* code, kind, label, parent by catalog and code */
	sqlite3_stmt *label_of; /* label of a reference target, tolerant spelling */
};

static int load_ancestors(sqlite3 *db, struct lookup_stmts *ls, int64_t cat, const char *parent,
                          struct catalog_record *r, struct ms_error *err)
{
	char *next = parent ? ms_strdup(parent) : NULL;
	size_t cap = 0, i;
	int rc = 0;

	if (parent && !next)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	/* walk up; depth is small (chapter > block > ... > category) but a
	 * corrupt database could loop, so bound it */
	while (next && r->n_ancestors < 16) {
		sqlite3_stmt *st = ls->node;
		bool ok = true;

		sqlite3_bind_int64(st, 1, cat);
		bind_text(st, 2, next);
		if (sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_reset(st);
			break; /* dangling parent: the hierarchy ends here */
		}
		if (MS_GROW(r->ancestors, cap, r->n_ancestors + 1) ||
		    fill_node(&r->ancestors[r->n_ancestors], st, 0)) {
			if (r->n_ancestors < cap)
				r->n_ancestors++;
			sqlite3_reset(st);
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			break;
		}
		r->n_ancestors++;
		ms_free(next);
		next = col_dup(st, 3, &ok);
		sqlite3_reset(st);
		if (!ok) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			break;
		}
	}
	ms_free(next);
	/* root first */
	for (i = 0; i < r->n_ancestors / 2; i++) {
		struct catalog_record_node t = r->ancestors[i];

		r->ancestors[i] = r->ancestors[r->n_ancestors - 1 - i];
		r->ancestors[r->n_ancestors - 1 - i] = t;
	}
	(void)db;
	return rc;
}

static int load_children(sqlite3 *db, int64_t cat, const char *code, struct catalog_record *r,
                         struct ms_error *err)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc = 0, s;

	if (sqlite3_prepare_v2(db,
	                       "SELECT code, kind, label FROM entry WHERE catalog_id = ?1 AND "
	                       "parent = ?2 ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK)
		return catalog_db_error(err, db, "cannot query children");
	sqlite3_bind_int64(st, 1, cat);
	bind_text(st, 2, code);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (MS_GROW(r->children, cap, r->n_children + 1) ||
		    fill_node(&r->children[r->n_children++], st, 0)) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (s != SQLITE_DONE)
		rc = catalog_db_error(err, db, "cannot query children");
out:
	sqlite3_finalize(st);
	return rc;
}

/* Label of a reference target: exact code, or the code without "-" marks. */
static char *ref_label(struct lookup_stmts *ls, int64_t cat, const char *code, bool *ok)
{
	struct ms_buf v = MS_BUF_INIT;
	size_t n = 0, i, off = 0;
	char *label = NULL;

	if (code_variants(&v, code, &n)) {
		ms_buf_release(&v);
		return NULL;
	}
	for (i = 0; i < n && !label; i++) {
		const char *c = v.buf + off;

		off += strlen(c) + 1;
		sqlite3_bind_int64(ls->label_of, 1, cat);
		bind_text(ls->label_of, 2, c);
		if (sqlite3_step(ls->label_of) == SQLITE_ROW)
			label = col_dup(ls->label_of, 0, ok);
		sqlite3_reset(ls->label_of);
	}
	ms_buf_release(&v);
	return label;
}

/* Loads the references of one rubric (refs is bound and reset here). */
static int load_refs(sqlite3 *db, struct lookup_stmts *ls, int64_t cat, sqlite3_stmt *refs,
                     int64_t rubric_id, struct catalog_record_rubric *rb, struct ms_error *err)
{
	size_t cap_codes = 0, cap_usages = 0, cap_labels = 0;
	int s, rc = 0;
	bool ok = true;

	sqlite3_bind_int64(refs, 1, rubric_id);
	while ((s = sqlite3_step(refs)) == SQLITE_ROW) {
		size_t k = rb->n_refs;

		if (MS_GROW(rb->ref_codes, cap_codes, k + 1) ||
		    MS_GROW(rb->ref_usages, cap_usages, k + 1) ||
		    MS_GROW(rb->ref_labels, cap_labels, k + 1)) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			break;
		}
		rb->ref_codes[k] = col_dup(refs, 0, &ok);
		rb->ref_usages[k] = col_dup(refs, 1, &ok);
		rb->ref_labels[k] =
		        rb->ref_codes[k] ? ref_label(ls, cat, rb->ref_codes[k], &ok) : NULL;
		rb->n_refs++;
		if (!ok) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			break;
		}
	}
	if (!rc && s != SQLITE_DONE)
		rc = catalog_db_error(err, db, "cannot query references");
	sqlite3_reset(refs);
	return rc;
}

static int load_rubrics(sqlite3 *db, struct lookup_stmts *ls, int64_t cat, int64_t entry_id,
                        struct catalog_record *r, struct ms_error *err)
{
	sqlite3_stmt *st = NULL, *refs = NULL;
	size_t cap = 0;
	int rc = 0, s;
	bool ok = true;

	if (sqlite3_prepare_v2(db,
	                       "SELECT id, kind, text, usage FROM rubric WHERE entry_id = ?1 "
	                       "ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
	            db, "SELECT code, usage FROM reference WHERE rubric_id = ?1 ORDER BY seq", -1,
	            &refs, NULL) != SQLITE_OK) {
		rc = catalog_db_error(err, db, "cannot query rubrics");
		goto out;
	}
	sqlite3_bind_int64(st, 1, entry_id);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct catalog_record_rubric *rb;

		if (MS_GROW(r->rubrics, cap, r->n_rubrics + 1)) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
		rb = &r->rubrics[r->n_rubrics++];
		memset(rb, 0, sizeof(*rb));
		rb->kind = col_dup(st, 1, &ok);
		rb->text = col_dup(st, 2, &ok);
		rb->usage = col_dup(st, 3, &ok);
		if (!ok) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
		rc = load_refs(db, ls, cat, refs, sqlite3_column_int64(st, 0), rb, err);
		if (rc)
			goto out;
	}
	if (s != SQLITE_DONE)
		rc = catalog_db_error(err, db, "cannot query rubrics");
out:
	sqlite3_finalize(st);
	sqlite3_finalize(refs);
	return rc;
}

static int load_meta(const char *json, struct catalog_record *r, struct ms_error *err, sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc = 0, s;
	bool ok = true;

	if (!json)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT key, value FROM json_each(?1)", -1, &st, NULL) !=
	    SQLITE_OK)
		return catalog_db_error(err, db, "cannot read metadata");
	bind_text(st, 1, json);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (MS_GROW(r->meta, cap, r->n_meta + 1)) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
		r->meta[r->n_meta].name = col_dup(st, 0, &ok);
		r->meta[r->n_meta].value = col_dup(st, 1, &ok);
		r->n_meta++;
		if (!ok) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (s != SQLITE_DONE)
		rc = catalog_db_error(err, db, "cannot read metadata");
out:
	sqlite3_finalize(st);
	return rc;
}

int catalog_store_lookup(struct catalog_store *store, const char *system, const char *version,
                         const char *code, struct catalog_record **out, struct ms_error *err)
{
	sqlite3 *db = store->db;
	sqlite3_stmt *find = NULL;
	struct lookup_stmts ls = { NULL, NULL };
	struct catalog_record *r = NULL;
	struct ms_buf variants = MS_BUF_INIT;
	size_t n_variants = 0, i, off = 0;
	int64_t cat = 0, entry_id = 0;
	int rc = 0;
	bool ok = true;

	*out = NULL;
	if (code_variants(&variants, code, &n_variants)) {
		rc = ms_error_set(err, MS_EINVAL, "invalid code");
		goto out;
	}
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT e.id, e.catalog_id, c.system, c.version, e.code, e.kind, e.usage, "
	            "e.label, e.terminal, e.modified, e.parent, e.meta FROM entry e "
	            "JOIN catalog c ON c.id = e.catalog_id WHERE e.code = ?1 AND "
	            "c.part = 'classification' AND (?2 IS NULL OR c.system = ?2) AND "
	            "(?3 IS NULL OR c.version = ?3) "
	            "ORDER BY c.system, CAST(c.version AS INTEGER) DESC, c.version DESC LIMIT 1",
	            -1, &find, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT code, kind, label, parent FROM entry WHERE catalog_id = ?1 "
	                       "AND code = ?2",
	                       -1, &ls.node, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT label FROM entry WHERE catalog_id = ?1 AND code = ?2",
	                       -1, &ls.label_of, NULL) != SQLITE_OK) {
		rc = catalog_db_error(err, db, "cannot prepare lookup");
		goto out;
	}
	for (i = 0; i < n_variants; i++) {
		const char *c = variants.buf + off;
		int s;

		off += strlen(c) + 1;
		bind_text(find, 1, c);
		bind_text(find, 2, system);
		bind_text(find, 3, version);
		s = sqlite3_step(find);
		if (s == SQLITE_ROW)
			break;
		sqlite3_reset(find);
		if (s != SQLITE_DONE) {
			rc = catalog_db_error(err, db, "cannot look up code");
			goto out;
		}
	}
	if (i == n_variants) {
		rc = ms_error_set(err, MS_ENOTFOUND, "code '%s' not found", code);
		goto out;
	}
	r = ms_calloc(1, sizeof(*r));
	if (!r) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	entry_id = sqlite3_column_int64(find, 0);
	cat = sqlite3_column_int64(find, 1);
	r->system = col_dup(find, 2, &ok);
	r->version = col_dup(find, 3, &ok);
	r->code = col_dup(find, 4, &ok);
	r->kind = col_dup(find, 5, &ok);
	r->usage = col_dup(find, 6, &ok);
	r->label = col_dup(find, 7, &ok);
	r->flags = (sqlite3_column_int(find, 8) ? CATALOG_ENTRY_TERMINAL : 0) |
	           (sqlite3_column_int(find, 9) ? CATALOG_ENTRY_MODIFIED : 0);
	if (!ok) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	rc = load_meta((const char *)sqlite3_column_text(find, 11), r, err, db);
	if (!rc)
		rc = load_ancestors(db, &ls, cat, (const char *)sqlite3_column_text(find, 10), r,
		                    err);
	if (!rc)
		rc = load_children(db, cat, r->code, r, err);
	if (!rc)
		rc = load_rubrics(db, &ls, cat, entry_id, r, err);
	if (rc)
		goto out;
	*out = r;
	r = NULL;
out:
	sqlite3_finalize(find);
	sqlite3_finalize(ls.node);
	sqlite3_finalize(ls.label_of);
	ms_buf_release(&variants);
	catalog_record_free(r);
	return rc;
}

/* ---- search ----------------------------------------------------------- */

/* Builds an FTS5 query: every word of text as a quoted prefix term, ANDed. */
static int fts_query(struct ms_buf *q, const char *text)
{
	const char *p = text;

	while (*p) {
		const char *start;

		/* words are runs of anything but spaces and FTS5 syntax marks;
		 * unicode61 splits them further the same way it split the index */
		while (*p && strchr(" \t\r\n\"*^():+-,.;/", *p))
			p++;
		start = p;
		while (*p && !strchr(" \t\r\n\"*^():+-,.;/", *p))
			p++;
		if (p == start)
			continue;
		if (q->len)
			ms_buf_addch(q, ' ');
		ms_buf_addch(q, '"');
		ms_buf_add(q, start, (size_t)(p - start));
		ms_buf_adds(q, "\"*");
	}
	return ms_buf_status(q);
}

void catalog_hits_free(struct catalog_hit *hits, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		ms_free(hits[i].text);
		ms_free(hits[i].label);
	}
	ms_free(hits);
}

int catalog_store_search(struct catalog_store *store, const char *text, const char *system,
                         const char *version, size_t limit, struct catalog_hit **out, size_t *n_out,
                         struct ms_error *err)
{
	sqlite3 *db = store->db;
	sqlite3_stmt *st = NULL;
	struct ms_buf q = MS_BUF_INIT;
	struct catalog_hit *hits = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 0, s;

	*out = NULL;
	*n_out = 0;
	if (fts_query(&q, text)) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	if (!q.len) {
		rc = ms_error_set(err, MS_EUSAGE, "search text has no words");
		goto out;
	}
	/* best hit per (catalogue, code); index terms borrow the label of the
	 * newest classification of the same system that has the code */
	if (sqlite3_prepare_v2(
	            db,
	            "WITH hits AS (SELECT catalog_id AS cat, code, source, text, rank "
	            "FROM search WHERE search MATCH ?1), "
	            "best AS (SELECT cat, code, source, text, min(rank) AS rank FROM hits "
	            "WHERE code IS NOT NULL GROUP BY cat, code) "
	            "SELECT c.system, c.version, b.code, b.source, b.text, b.rank, "
	            "(SELECT e.label FROM entry e JOIN catalog c2 ON c2.id = e.catalog_id "
	            "WHERE e.code = b.code AND c2.system = c.system AND c2.part = "
	            "'classification' ORDER BY CAST(c2.version AS INTEGER) DESC LIMIT 1) "
	            "FROM best b JOIN catalog c ON c.id = b.cat "
	            "WHERE (?2 IS NULL OR c.system = ?2) AND (?3 IS NULL OR c.version = ?3) "
	            "ORDER BY b.rank, c.system, b.code LIMIT ?4",
	            -1, &st, NULL) != SQLITE_OK) {
		rc = catalog_db_error(err, db, "cannot prepare search");
		goto out;
	}
	bind_text(st, 1, q.buf);
	bind_text(st, 2, system);
	bind_text(st, 3, version);
	sqlite3_bind_int64(st, 4, (int64_t)(limit ? limit : 20));
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct catalog_hit *h;
		bool ok = true;

		if (MS_GROW(hits, cap, n + 1)) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
		h = &hits[n++];
		memset(h, 0, sizeof(*h));
		col_copy(h->system, sizeof(h->system), st, 0);
		col_copy(h->version, sizeof(h->version), st, 1);
		col_copy(h->code, sizeof(h->code), st, 2);
		col_copy(h->source, sizeof(h->source), st, 3);
		h->text = col_dup(st, 4, &ok);
		h->rank = sqlite3_column_double(st, 5);
		h->label = col_dup(st, 6, &ok);
		if (!ok) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (s != SQLITE_DONE) {
		rc = catalog_db_error(err, db, "search failed");
		goto out;
	}
	*out = hits;
	*n_out = n;
	hits = NULL;
	n = 0;
out:
	sqlite3_finalize(st);
	ms_buf_release(&q);
	for (i = 0; i < n; i++) {
		ms_free(hits[i].text);
		ms_free(hits[i].label);
	}
	ms_free(hits);
	return rc;
}

/* ---- iteration -------------------------------------------------------- */

int catalog_store_find(struct catalog_store *store, const char *system, const char *version,
                       const char *part, struct catalog_summary *out, struct ms_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, s;

	if (sqlite3_prepare_v2(store->db,
	                       "SELECT id, system, version, part, coalesce(title, ''), format, "
	                       "source, source_sha256 FROM catalog WHERE system = ?1 AND part = ?2 "
	                       "AND (?3 IS NULL OR version = ?3) "
	                       "ORDER BY CAST(version AS INTEGER) DESC, version DESC LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return catalog_db_error(err, store->db, "cannot query catalogues");
	bind_text(st, 1, system);
	bind_text(st, 2, part);
	bind_text(st, 3, version);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(st, 0);
		col_copy(out->system, sizeof(out->system), st, 1);
		col_copy(out->version, sizeof(out->version), st, 2);
		col_copy(out->part, sizeof(out->part), st, 3);
		col_copy(out->title, sizeof(out->title), st, 4);
		col_copy(out->format, sizeof(out->format), st, 5);
		col_copy(out->source, sizeof(out->source), st, 6);
		col_copy(out->sha256, sizeof(out->sha256), st, 7);
	} else if (s == SQLITE_DONE) {
		rc = ms_error_set(err, MS_ENOTFOUND, "no %s %s%s%s in the database", system, part,
		                  version ? " version " : "", version ? version : "");
	} else {
		rc = catalog_db_error(err, store->db, "cannot query catalogues");
	}
	sqlite3_finalize(st);
	return rc;
}

static const char *col_str(sqlite3_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

/*
 * The three cursors walk entries, rubrics and references in rowid order;
 * rows were inserted in source order, so a merge join rebuilds each entry
 * without one query per entry.
 */
struct entry_walk {
	sqlite3_stmt *entries, *rubrics, *refs, *meta;
	bool rubrics_done, refs_done;
	struct catalog_rubric *rubrics_buf;
	size_t cap_rubrics;
	struct catalog_ref *refs_buf;
	size_t cap_refs;
	struct catalog_meta *meta_buf;
	size_t cap_meta;
	size_t *ref_start; /* first ref of each rubric in refs_buf */
	size_t cap_ref_start;
	struct ms_arena arena;
};

static int walk_step(sqlite3 *db, sqlite3_stmt *st, bool *done, struct ms_error *err)
{
	int s = sqlite3_step(st);

	if (s == SQLITE_ROW)
		return 0;
	*done = true;
	return s == SQLITE_DONE ? 0 : catalog_db_error(err, db, "cannot read catalogue");
}

/* Collects the references of rubric rubric_id into w->refs_buf. */
static int walk_refs(sqlite3 *db, struct entry_walk *w, int64_t rubric_id, size_t *n_refs,
                     struct ms_error *err)
{
	int rc;

	while (!w->refs_done && sqlite3_column_int64(w->refs, 0) < rubric_id) {
		rc = walk_step(db, w->refs, &w->refs_done, err);
		if (rc)
			return rc;
	}
	while (!w->refs_done && sqlite3_column_int64(w->refs, 0) == rubric_id) {
		struct catalog_ref *r;

		if (MS_GROW(w->refs_buf, w->cap_refs, *n_refs + 1))
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		r = &w->refs_buf[(*n_refs)++];
		r->code = ms_arena_strdup(&w->arena, col_str(w->refs, 1));
		r->usage = col_str(w->refs, 2) ? ms_arena_strdup(&w->arena, col_str(w->refs, 2))
		                               : NULL;
		if (!r->code || (col_str(w->refs, 2) && !r->usage))
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		rc = walk_step(db, w->refs, &w->refs_done, err);
		if (rc)
			return rc;
	}
	return 0;
}

static int walk_rubrics(sqlite3 *db, struct entry_walk *w, int64_t entry_id,
                        struct catalog_entry *e, struct ms_error *err)
{
	size_t n = 0, n_refs = 0, i;
	int rc;

	/* the preferred label is stored as entry.label; give it back first */
	if (e->label) {
		if (MS_GROW(w->rubrics_buf, w->cap_rubrics, 1) ||
		    MS_GROW(w->ref_start, w->cap_ref_start, 1))
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		w->rubrics_buf[0] =
		        (struct catalog_rubric){ .kind = "preferred", .text = e->label };
		w->ref_start[0] = 0;
		n = 1;
	}
	while (!w->rubrics_done && sqlite3_column_int64(w->rubrics, 1) < entry_id) {
		rc = walk_step(db, w->rubrics, &w->rubrics_done, err);
		if (rc)
			return rc;
	}
	while (!w->rubrics_done && sqlite3_column_int64(w->rubrics, 1) == entry_id) {
		struct catalog_rubric *r;
		size_t before = n_refs;

		if (MS_GROW(w->rubrics_buf, w->cap_rubrics, n + 1) ||
		    MS_GROW(w->ref_start, w->cap_ref_start, n + 1))
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		r = &w->rubrics_buf[n];
		r->kind = ms_arena_strdup(&w->arena, col_str(w->rubrics, 2));
		r->text = ms_arena_strdup(&w->arena, col_str(w->rubrics, 3));
		r->usage = col_str(w->rubrics, 4)
		                   ? ms_arena_strdup(&w->arena, col_str(w->rubrics, 4))
		                   : NULL;
		if (!r->kind || !r->text || (col_str(w->rubrics, 4) && !r->usage))
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		rc = walk_refs(db, w, sqlite3_column_int64(w->rubrics, 0), &n_refs, err);
		if (rc)
			return rc;
		w->ref_start[n] = before;
		r->n_refs = n_refs - before;
		n++;
		rc = walk_step(db, w->rubrics, &w->rubrics_done, err);
		if (rc)
			return rc;
	}
	/* refs_buf may have moved while growing: point into it only now */
	for (i = 0; i < n; i++)
		w->rubrics_buf[i].refs =
		        w->rubrics_buf[i].n_refs ? w->refs_buf + w->ref_start[i] : NULL;
	e->rubrics = w->rubrics_buf;
	e->n_rubrics = n;
	return 0;
}

static int walk_meta(sqlite3 *db, struct entry_walk *w, const char *json, struct catalog_entry *e,
                     struct ms_error *err)
{
	size_t n = 0;
	int s;

	if (!json)
		return 0;
	bind_text(w->meta, 1, json);
	while ((s = sqlite3_step(w->meta)) == SQLITE_ROW) {
		if (MS_GROW(w->meta_buf, w->cap_meta, n + 1)) {
			sqlite3_reset(w->meta);
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		}
		w->meta_buf[n].name = ms_arena_strdup(&w->arena, col_str(w->meta, 0));
		w->meta_buf[n].value = ms_arena_strdup(&w->arena, col_str(w->meta, 1));
		if (!w->meta_buf[n].name || !w->meta_buf[n].value) {
			sqlite3_reset(w->meta);
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		}
		n++;
	}
	sqlite3_reset(w->meta);
	if (s != SQLITE_DONE)
		return catalog_db_error(err, db, "cannot read metadata");
	e->meta = w->meta_buf;
	e->n_meta = n;
	return 0;
}

int catalog_store_foreach_entry(struct catalog_store *store, int64_t catalog_id,
                                catalog_entry_cb cb, void *payload, struct ms_error *err)
{
	sqlite3 *db = store->db;
	struct entry_walk w;
	int rc = 0, s;

	memset(&w, 0, sizeof(w));
	ms_arena_init(&w.arena, 0);
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, code, kind, parent, usage, label, terminal, modified, "
	                       "line, meta FROM entry WHERE catalog_id = ?1 ORDER BY id",
	                       -1, &w.entries, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
	            db,
	            "SELECT r.id, r.entry_id, r.kind, r.text, r.usage FROM rubric r JOIN entry e "
	            "ON e.id = r.entry_id WHERE e.catalog_id = ?1 ORDER BY r.id",
	            -1, &w.rubrics, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT f.rubric_id, f.code, f.usage FROM reference f JOIN rubric r "
	                       "ON r.id = f.rubric_id JOIN entry e ON e.id = r.entry_id "
	                       "WHERE e.catalog_id = ?1 ORDER BY f.rubric_id, f.seq",
	                       -1, &w.refs, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT key, value FROM json_each(?1)", -1, &w.meta, NULL) !=
	            SQLITE_OK) {
		rc = catalog_db_error(err, db, "cannot read catalogue");
		goto out;
	}
	sqlite3_bind_int64(w.entries, 1, catalog_id);
	sqlite3_bind_int64(w.rubrics, 1, catalog_id);
	sqlite3_bind_int64(w.refs, 1, catalog_id);
	rc = walk_step(db, w.rubrics, &w.rubrics_done, err);
	if (!rc)
		rc = walk_step(db, w.refs, &w.refs_done, err);
	if (rc)
		goto out;
	while ((s = sqlite3_step(w.entries)) == SQLITE_ROW) {
		struct catalog_entry e;

		ms_arena_reset(&w.arena);
		memset(&e, 0, sizeof(e));
		e.code = col_str(w.entries, 1);
		e.kind = col_str(w.entries, 2);
		e.parent = col_str(w.entries, 3);
		e.usage = col_str(w.entries, 4);
		e.label = col_str(w.entries, 5);
		e.flags = (sqlite3_column_int(w.entries, 6) ? CATALOG_ENTRY_TERMINAL : 0) |
		          (sqlite3_column_int(w.entries, 7) ? CATALOG_ENTRY_MODIFIED : 0);
		e.line = (size_t)sqlite3_column_int64(w.entries, 8);
		rc = walk_rubrics(db, &w, sqlite3_column_int64(w.entries, 0), &e, err);
		if (!rc)
			rc = walk_meta(db, &w, col_str(w.entries, 9), &e, err);
		if (!rc)
			rc = cb(payload, &e, err);
		if (rc)
			goto out;
	}
	if (s != SQLITE_DONE)
		rc = catalog_db_error(err, db, "cannot read catalogue");
out:
	sqlite3_finalize(w.entries);
	sqlite3_finalize(w.rubrics);
	sqlite3_finalize(w.refs);
	sqlite3_finalize(w.meta);
	ms_free(w.rubrics_buf);
	ms_free(w.refs_buf);
	ms_free(w.meta_buf);
	ms_free(w.ref_start);
	ms_arena_release(&w.arena);
	return rc;
}

int catalog_store_foreach_term(struct catalog_store *store, int64_t catalog_id, catalog_term_cb cb,
                               void *payload, struct ms_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, s;

	if (sqlite3_prepare_v2(
	            store->db,
	            "SELECT text, code, code_asterisk, code_extra, term_id, type, valid, code2 "
	            "FROM term WHERE catalog_id = ?1 ORDER BY id",
	            -1, &st, NULL) != SQLITE_OK)
		return catalog_db_error(err, store->db, "cannot read index terms");
	sqlite3_bind_int64(st, 1, catalog_id);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		struct catalog_term t;

		memset(&t, 0, sizeof(t));
		t.text = col_str(st, 0);
		t.code = col_str(st, 1);
		t.code_asterisk = col_str(st, 2);
		t.code_extra = col_str(st, 3);
		t.term_id = col_str(st, 4);
		t.type = sqlite3_column_int(st, 5);
		t.valid = sqlite3_column_int(st, 6) != 0;
		t.code2 = col_str(st, 7);
		rc = cb(payload, &t, err);
		if (rc)
			goto out;
	}
	if (s != SQLITE_DONE)
		rc = catalog_db_error(err, store->db, "cannot read index terms");
out:
	sqlite3_finalize(st);
	return rc;
}
