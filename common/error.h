/* SPDX-License-Identifier: MIT */
/*
 * Status codes and the caller-owned error record shared by every module.
 *
 * A fallible function returns 0 or a negative enum ms_status and, when the
 * caller passed a struct ms_error, fills it with a message and the location
 * of the problem. The record never allocates, so even MS_ENOMEM is
 * reportable; the first error set wins, later calls only add missing
 * location fields. Messages carry ids, offsets, labels and lengths, never
 * text taken from a record.
 */
#ifndef MS_COMMON_ERROR_H
#define MS_COMMON_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#if defined(__GNUC__)
#define MS_MUST_CHECK   __attribute__((warn_unused_result))
#define MS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MS_MUST_CHECK
#define MS_PRINTF(f, a)
#endif

enum ms_status {
	MS_OK = 0,
	MS_ENOMEM = -1,     /* allocation failed */
	MS_EIO = -2,        /* file system or stream error */
	MS_EINVAL = -3,     /* malformed input */
	MS_ENOTFOUND = -4,  /* requested item does not exist */
	MS_ETOOBIG = -5,    /* input exceeds a documented cap */
	MS_EDB = -6,        /* SQLite error */
	MS_EREGEX = -7,     /* PCRE2 compile or match error */
	MS_EUNICODE = -8,   /* invalid UTF-8 or ICU failure */
	MS_EEXISTS = -9,    /* item exists and replacing was not asked for */
	MS_EUSAGE = -10,    /* invalid argument from the caller (API or CLI) */
	MS_ECANCELLED = -11 /* stopped by a callback */
};

#define MS_ERROR_MSG_MAX  256
#define MS_ERROR_PATH_MAX 256

/* Location fields are 0 / empty when unknown; line and record are 1-based. */
struct ms_error {
	int code;
	char msg[MS_ERROR_MSG_MAX];
	char path[MS_ERROR_PATH_MAX];
	size_t line;
	size_t record;
	size_t off;
	int has_off;
};

#define MS_ERROR_INIT \
	{             \
		0     \
	}

/* Returns a static English name for a status ("out of memory", ...). */
const char *ms_status_str(int code);

/*
 * Sets the error if none is set yet and returns code, so that callers can
 * write `return ms_error_set(err, MS_EINVAL, "...")`. err may be NULL.
 */
int ms_error_set(struct ms_error *err, int code, const char *fmt, ...) MS_PRINTF(3, 4);
int ms_error_vset(struct ms_error *err, int code, const char *fmt, va_list ap) MS_PRINTF(3, 0);

/* Add location fields that are still unset; never overwrite. err may be NULL. */
void ms_error_set_path(struct ms_error *err, const char *path);
void ms_error_set_line(struct ms_error *err, size_t line);
void ms_error_set_record(struct ms_error *err, size_t record);
void ms_error_set_off(struct ms_error *err, size_t off);

/* Resets err to the unset state. */
void ms_error_clear(struct ms_error *err);

/*
 * Formats "path:line: record N: msg" (only the known parts) into out,
 * truncating to size; returns out.
 */
const char *ms_error_format(const struct ms_error *err, char *out, size_t size);

#endif
