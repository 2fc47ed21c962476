/* SPDX-License-Identifier: MIT */
/*
 * Internal interfaces between the catalogue readers and the rest of the
 * module. Not for use outside catalog/.
 */
#ifndef MS_CATALOG_CATALOG_INT_H
#define MS_CATALOG_CATALOG_INT_H

#include "catalog/catalog.h"
#include "common/buf.h"

/* Each reader: read path into sink; see catalog_read_file() for errors. */
int catalog_claml_read(const char *path, const struct catalog_read_opts *opts,
                       const struct catalog_sink *sink, struct ms_error *err) MS_MUST_CHECK;
int catalog_flat_read(const char *path, const struct catalog_read_opts *opts,
                      const struct catalog_sink *sink, struct ms_error *err) MS_MUST_CHECK;
int catalog_alpha_read(const char *path, const struct catalog_read_opts *opts,
                       const struct catalog_sink *sink, struct ms_error *err) MS_MUST_CHECK;
int catalog_goae_read(const char *path, const struct catalog_read_opts *opts,
                      const struct catalog_sink *sink, struct ms_error *err) MS_MUST_CHECK;

/*
 * In-memory variants used by fuzz targets and unit tests: name is used in
 * messages and for deriving versions from file names.
 */
int catalog_claml_read_mem(const char *data, size_t len, const char *name,
                           const struct catalog_read_opts *opts, const struct catalog_sink *sink,
                           struct ms_error *err) MS_MUST_CHECK;
int catalog_flat_read_mem(const char *data, size_t len, const char *name,
                          const struct catalog_read_opts *opts, const struct catalog_sink *sink,
                          struct ms_error *err) MS_MUST_CHECK;
int catalog_alpha_read_mem(const char *data, size_t len, const char *name,
                           const struct catalog_read_opts *opts, const struct catalog_sink *sink,
                           struct ms_error *err) MS_MUST_CHECK;
int catalog_goae_read_mem(const char *data, size_t len, const char *name,
                          const struct catalog_read_opts *opts, const struct catalog_sink *sink,
                          struct ms_error *err) MS_MUST_CHECK;

/*
 * For a flat-family member (x_kodes.txt, x_gruppen.txt, x_kapitel.txt),
 * stores the path of the _kodes.txt file in *out (ms_free it); MS_ENOTFOUND
 * if path does not follow the naming scheme.
 */
int catalog_flat_codes_path(char **out, const char *path) MS_MUST_CHECK;

/* The files of one import, in import order. */
struct catalog_files {
	const char *const *paths;
	const enum catalog_format *fmts; /* detected already */
	size_t n;
	const struct catalog_read_opts *opts;
};

/*
 * Where catalog_files_read() delivers: the reader callbacks of struct
 * catalog_sink, bracketed per file by file_begin (with the file's SHA-256
 * as hex) and file_end; consecutive terms come as runs (n >= 1). entry also gets what prepare
 * (optional) made of the entry on the reader thread, or NULL when that was empty; prepare must be
 * thread-safe and return 0 or MS_ENOMEM. With prepare, entry gets no metadata (n_meta 0): what
 * prepare made stands for it.
 */
struct catalog_files_sink {
	int (*file_begin)(void *payload, size_t file, const char *sha256, struct ms_error *err);
	int (*begin)(void *payload, const struct catalog_info *info, struct ms_error *err);
	int (*entry)(void *payload, const struct catalog_entry *entry, const char *prepared,
	             struct ms_error *err);
	int (*terms)(void *payload, const struct catalog_term *terms, size_t n,
	             struct ms_error *err);
	int (*file_end)(void *payload, size_t file, struct ms_error *err);
	int (*prepare)(const struct catalog_entry *entry, struct ms_buf *out);
	void *payload;
};

/*
 * Reads the files on a second thread (readers and SHA-256) while the
 * calling thread runs the sink's callbacks, in file order, as a serial read
 * would. Stops at the first error, a reader's (err names the file) or a
 * callback's (err gets the file's path added), and returns it; callbacks
 * see nothing after a reader's error. Strings are valid during a callback.
 */
int catalog_files_read(const struct catalog_files *files, const struct catalog_files_sink *sink,
                       struct ms_error *err) MS_MUST_CHECK;

/*
 * The search index of an import into a fresh store, built beside it on a
 * second thread (ftsfill.c). The writer starts it, hands over every text
 * that search_source shows as its row is stored (ids ascending), ends it,
 * and copies the finished index into the store inside the import's
 * transaction (replacing the store's, which must be empty and must not be
 * read or written through that connection afterwards: its FTS5 table
 * caches the index structure, so reopen the database). All but free run on
 * the writer's thread; an error of the indexing thread comes back from the
 * next add, end or copy, with its message (MS_ENOMEM, MS_EDB).
 */
struct sqlite3;
struct catalog_ftsfill;

/* db: the store's connection, whose FTS5 tokenizes the texts (see ftsfill.c). */
int catalog_ftsfill_start(struct catalog_ftsfill **out, struct sqlite3 *db,
                          struct ms_error *err) MS_MUST_CHECK;
/* Queues the tokens of one text; MS_ETOOBIG for texts over 2 GiB. */
int catalog_ftsfill_add(struct catalog_ftsfill *f, int64_t id, const char *text, size_t len,
                        struct ms_error *err) MS_MUST_CHECK;
/* After the last add: lets the thread finish without waiting for it. */
int catalog_ftsfill_end(struct catalog_ftsfill *f, struct ms_error *err) MS_MUST_CHECK;
/*
 * After end: waits for the thread and replaces the shadow tables of db's
 * `search` by its index; db must be in a write transaction. The index stays
 * attached to db until catalog_ftsfill_free (call it after the transaction).
 */
int catalog_ftsfill_copy(struct catalog_ftsfill *f, struct sqlite3 *db,
                         struct ms_error *err) MS_MUST_CHECK;
/* Stops the thread if it runs, detaches the index, frees; accepts NULL. */
void catalog_ftsfill_free(struct catalog_ftsfill *f);

/* Sets err to MS_EDB, "<what>: <SQLite's message for db>"; returns MS_EDB. */
int catalog_db_error(struct ms_error *err, struct sqlite3 *db, const char *what);

#endif
