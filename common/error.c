/* SPDX-License-Identifier: MIT */
/* The error record: set once, locate later, format for people. */
#include "common/error.h"

#include <stdio.h>
#include <string.h>

const char *ms_status_str(int code)
{
	switch (code) {
	case MS_OK:
		return "success";
	case MS_ENOMEM:
		return "out of memory";
	case MS_EIO:
		return "input/output error";
	case MS_EINVAL:
		return "malformed input";
	case MS_ENOTFOUND:
		return "not found";
	case MS_ETOOBIG:
		return "input too large";
	case MS_EDB:
		return "database error";
	case MS_EREGEX:
		return "regular expression error";
	case MS_EUNICODE:
		return "invalid text encoding";
	case MS_EEXISTS:
		return "already exists";
	case MS_EUSAGE:
		return "invalid argument";
	case MS_ECANCELLED:
		return "cancelled";
	default:
		return "unknown error";
	}
}

int ms_error_vset(struct ms_error *err, int code, const char *fmt, va_list ap)
{
	if (!err || err->code != 0)
		return code;
	err->code = code;
	if (vsnprintf(err->msg, sizeof(err->msg), fmt, ap) < 0)
		err->msg[0] = '\0';
	return code;
}

int ms_error_set(struct ms_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = ms_error_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

void ms_error_set_path(struct ms_error *err, const char *path)
{
	size_t len;

	if (!err || !path || err->path[0])
		return;
	len = strlen(path);
	if (len >= sizeof(err->path)) {
		/* keep the tail: the file name matters more than the directories */
		path += len - (sizeof(err->path) - 4);
		memcpy(err->path, "...", 3);
		memcpy(err->path + 3, path, sizeof(err->path) - 4);
		err->path[sizeof(err->path) - 1] = '\0';
		return;
	}
	memcpy(err->path, path, len + 1);
}

void ms_error_set_line(struct ms_error *err, size_t line)
{
	if (err && !err->line)
		err->line = line;
}

void ms_error_set_record(struct ms_error *err, size_t record)
{
	if (err && !err->record)
		err->record = record;
}

void ms_error_set_off(struct ms_error *err, size_t off)
{
	if (err && !err->has_off) {
		err->off = off;
		err->has_off = 1;
	}
}

void ms_error_clear(struct ms_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

/* Appends to out[*used..size), truncating; never writes past size - 1. */
static void append(char *out, size_t size, size_t *used, const char *s)
{
	size_t n = strlen(s);

	if (*used + 1 >= size)
		return;
	if (n > size - 1 - *used)
		n = size - 1 - *used;
	memcpy(out + *used, s, n);
	*used += n;
	out[*used] = '\0';
}

static void append_num(char *out, size_t size, size_t *used, const char *before, size_t num,
                       const char *after)
{
	char tmp[64];

	snprintf(tmp, sizeof(tmp), "%s%zu%s", before, num, after);
	append(out, size, used, tmp);
}

const char *ms_error_format(const struct ms_error *err, char *out, size_t size)
{
	size_t used = 0;

	if (!size)
		return out;
	out[0] = '\0';
	if (!err)
		return out;
	if (err->path[0]) {
		append(out, size, &used, err->path);
		if (err->line)
			append_num(out, size, &used, ":", err->line, "");
		append(out, size, &used, ": ");
	} else if (err->line) {
		append_num(out, size, &used, "line ", err->line, ": ");
	}
	if (err->record)
		append_num(out, size, &used, "record ", err->record, ": ");
	if (err->has_off && !err->line)
		append_num(out, size, &used, "byte ", err->off, ": ");
	append(out, size, &used, err->msg[0] ? err->msg : ms_status_str(err->code));
	return out;
}
