/* SPDX-License-Identifier: MIT */
/*
 * Format names, format detection and the reader dispatch. Detection looks at
 * the first 4 KiB (and the file name for the flat family) and explains what
 * it saw when it cannot tell.
 */
#include "catalog/catalog.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "common/alloc.h"
#include "common/fileio.h"

static const char *const format_names[] = {
	[CATALOG_FORMAT_UNKNOWN] = NULL,
	[CATALOG_FORMAT_CLAML] = "claml",
	[CATALOG_FORMAT_FLAT] = "flat",
	[CATALOG_FORMAT_FLAT_GROUPS] = "flat-groups",
	[CATALOG_FORMAT_FLAT_CHAPTERS] = "flat-chapters",
	[CATALOG_FORMAT_ALPHA] = "alpha",
	[CATALOG_FORMAT_GOAE] = "goae",
};

const char *catalog_format_name(enum catalog_format fmt)
{
	if ((size_t)fmt >= sizeof(format_names) / sizeof(format_names[0]))
		return NULL;
	return format_names[fmt];
}

enum catalog_format catalog_format_parse(const char *name)
{
	size_t i;

	for (i = 1; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (strcmp(name, format_names[i]) == 0)
			return (enum catalog_format)i;
	}
	return CATALOG_FORMAT_UNKNOWN;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Counts ';' in the first line of head. */
static size_t first_line_fields(const char *head, size_t len)
{
	size_t i, n = 1;

	for (i = 0; i < len && head[i] != '\n' && head[i] != '\r'; i++) {
		if (head[i] == ';')
			n++;
	}
	return n;
}

static bool starts_with_digits_semicolon(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i > 0 && i < len && s[i] == ';';
}

int catalog_format_detect(enum catalog_format *out, const char *path, struct ms_error *err)
{
	char head[4096];
	size_t len, skip = 0;
	const char *name = ms_basename(path);
	FILE *f;

	*out = CATALOG_FORMAT_UNKNOWN;
	f = fopen(path, "rb");
	if (!f) {
		ms_error_set_path(err, path);
		return ms_error_set(err, MS_EIO, "cannot open: %s", strerror(errno));
	}
	len = fread(head, 1, sizeof(head) - 1, f);
	fclose(f);
	head[len] = '\0';
	if (len >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0)
		skip = 3;
	if (len == skip) {
		ms_error_set_path(err, path);
		return ms_error_set(err, MS_EINVAL, "file is empty");
	}
	if (strstr(head + skip, "<ClaML")) {
		*out = CATALOG_FORMAT_CLAML;
		return 0;
	}
	if (head[skip] == '<') {
		ms_error_set_path(err, path);
		ms_error_set_line(err, 1);
		return ms_error_set(
		        err, MS_EINVAL,
		        "XML file without a <ClaML> root element: not a ClaML catalogue");
	}
	if (strncmp(head + skip, "Index;GO", 8) == 0) {
		*out = CATALOG_FORMAT_GOAE;
		return 0;
	}
	if (has_suffix(name, "_gruppen.txt")) {
		*out = CATALOG_FORMAT_FLAT_GROUPS;
		return 0;
	}
	if (has_suffix(name, "_kapitel.txt")) {
		*out = CATALOG_FORMAT_FLAT_CHAPTERS;
		return 0;
	}
	if (has_suffix(name, "_kodes.txt")) {
		*out = CATALOG_FORMAT_FLAT;
		return 0;
	}
	/* by content: Alpha-ID rows are "type;id;flag;code;..." (7-8 fields, or
	 * '|'-separated in newer years); code lists start "level;T|N;X|S;" */
	if (starts_with_digits_semicolon(head + skip, len - skip)) {
		size_t fields = first_line_fields(head + skip, len - skip);

		if (len - skip > 6 && head[skip + 1] == ';' &&
		    (head[skip + 2] == 'N' || head[skip + 2] == 'T') && head[skip + 3] == ';') {
			*out = CATALOG_FORMAT_FLAT;
			return 0;
		}
		if (fields >= 7 && fields <= 9) {
			*out = CATALOG_FORMAT_ALPHA;
			return 0;
		}
	}
	if (head[skip] >= '0' && head[skip] <= '9' && strchr(head + skip, '|') &&
	    strstr(head + skip, "|") < strpbrk(head + skip, "\r\n ")) {
		*out = CATALOG_FORMAT_ALPHA;
		return 0;
	}
	ms_error_set_path(err, path);
	ms_error_set_line(err, 1);
	return ms_error_set(err, MS_EINVAL,
	                    "unknown catalogue format (expected ClaML XML, a BfArM code list, "
	                    "an alphabetical index or the GOÄ CSV)");
}

int catalog_read_file(const char *path, enum catalog_format fmt,
                      const struct catalog_read_opts *opts, const struct catalog_sink *sink,
                      struct ms_error *err)
{
	static const struct catalog_read_opts no_opts = { NULL, NULL };
	int rc;

	if (!opts)
		opts = &no_opts;
	if (fmt == CATALOG_FORMAT_UNKNOWN) {
		rc = catalog_format_detect(&fmt, path, err);
		if (rc)
			return rc;
	}
	switch (fmt) {
	case CATALOG_FORMAT_CLAML:
		return catalog_claml_read(path, opts, sink, err);
	case CATALOG_FORMAT_FLAT:
		return catalog_flat_read(path, opts, sink, err);
	case CATALOG_FORMAT_FLAT_GROUPS:
	case CATALOG_FORMAT_FLAT_CHAPTERS: {
		char *codes = NULL;

		/* groups and chapters only make sense with their code list */
		rc = catalog_flat_codes_path(&codes, path);
		if (rc)
			return ms_error_set(err, MS_EINVAL, "cannot derive the code list name");
		rc = catalog_flat_read(codes, opts, sink, err);
		ms_free(codes);
		return rc;
	}
	case CATALOG_FORMAT_ALPHA:
		return catalog_alpha_read(path, opts, sink, err);
	case CATALOG_FORMAT_GOAE:
		return catalog_goae_read(path, opts, sink, err);
	case CATALOG_FORMAT_UNKNOWN:
	default:
		break;
	}
	ms_error_set_path(err, path);
	return ms_error_set(err, MS_EUSAGE, "unsupported format");
}
