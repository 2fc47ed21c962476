/* SPDX-License-Identifier: MIT */
/*
 * File helpers: whole-file reads with a cap, line iteration, and output files
 * that appear only when complete (temp file in the target directory, fsync,
 * rename; unlinked on failure).
 */
#ifndef MS_COMMON_FILEIO_H
#define MS_COMMON_FILEIO_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/error.h"

/*
 * Reads the whole file (or stdin for "-") into out, failing with MS_ETOOBIG
 * beyond cap bytes (0 = no cap). Errors name the file.
 */
int ms_file_read(struct ms_buf *out, const char *path, size_t cap,
                 struct ms_error *err) MS_MUST_CHECK;

/*
 * Iterates the lines of an in-memory text. Line ends are LF, CRLF or a lone
 * CR; the returned line excludes them. line_no is 1-based.
 */
struct ms_lines {
	const char *s;
	size_t len;
	size_t pos;
	size_t line_no;
};

void ms_lines_init(struct ms_lines *it, const char *s, size_t len);
/* Returns true and sets *line and *len_out, or false at the end. */
bool ms_lines_next(struct ms_lines *it, const char **line, size_t *len_out);

/*
 * An output file written under a temporary name next to path and renamed on
 * commit. Every write error is sticky and reported by commit, which also
 * fsyncs; abort (or release without commit) removes the temporary file.
 */
struct ms_atomic_file {
	FILE *fp;
	char *path;
	char *tmp_path;
	int status;
};

#define MS_ATOMIC_FILE_INIT         \
	{                           \
		NULL, NULL, NULL, 0 \
	}

/* mode is the permission for the new file (e.g. 0644, 0600 for secrets). */
int ms_atomic_open(struct ms_atomic_file *f, const char *path, unsigned mode,
                   struct ms_error *err) MS_MUST_CHECK;
int ms_atomic_write(struct ms_atomic_file *f, const void *data, size_t len);
int ms_atomic_commit(struct ms_atomic_file *f, struct ms_error *err) MS_MUST_CHECK;
void ms_atomic_abort(struct ms_atomic_file *f);

/* Writes data to path atomically in one call. */
int ms_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                         struct ms_error *err) MS_MUST_CHECK;

/* Returns the final component of path (borrowed pointer into path). */
const char *ms_basename(const char *path);

/*
 * The names in the open directory d that keep(name, arg) accepts ("." and
 * ".." and other dot files never), sorted bytewise, as malloc'ed strings
 * in *names_out (free with ms_dir_names_free). Returns 0, MS_ENOMEM, or
 * MS_ETOOBIG when more than max names are accepted (0 = no limit); the
 * caller opened d, closes it, and words its own errors.
 */
int ms_dir_names(DIR *d, bool (*keep)(const char *name, void *arg), void *arg, size_t max,
                 char ***names_out, size_t *n_out) MS_MUST_CHECK;
void ms_dir_names_free(char **names, size_t n);

#endif
