/* SPDX-License-Identifier: MIT */
/*
 * Reader for the ICD-10-GM alphabetical index in DIMDI/BfArM's EDV text
 * format (Alpha-ID). Not for the systematic code lists (flat.c).
 *
 * Two generations exist (see ../shared/data/catalogs/icd-10-gm/SOURCE.md):
 *   old (up to about 2012, "edv_ascii"): ISO-8859-1, ';'-separated, 7 fields
 *     and a trailing ';':  type;id;flag;code;asterisk;additional;text;
 *   new ("edvtxt"): UTF-8, '|'-separated, 8 fields:
 *     type|id|flag|code|asterisk|additional|code2|text
 * The separator is decided once per file from its first line. The text is
 * the rest of the line after the last separated field, so a text that
 * contains the separator survives; one trailing separator is dropped.
 *
 * Encoding is decided once per file: valid UTF-8 is UTF-8; a file whose high
 * bytes never form a UTF-8 sequence is ISO-8859-1; a mix of both is a damaged
 * UTF-8 file and is refused. Text is normalised to NFC.
 *
 * Codes: the index marks the primary code of a dagger-asterisk pair with '+'
 * (or '†'), asterisk codes with '*' and additional codes with '!'. The marks
 * are dropped (with surrounding blanks and a trailing '-') so that index
 * codes compare equal to the classification's codes; the kind of each code
 * is already given by the field that holds it (a primary code is a dagger
 * code exactly when the term also has an asterisk code). The new format's
 * "Primärschlüssel 2" is passed on as code2.
 */
#include "catalog/catalog_int.h"

#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/utf8.h"

#define ALPHA_MAX_FILE ((size_t)256 << 20)
#define ALPHA_MAX_CODE 16

struct slice {
	const char *s;
	size_t len;
};

struct alpha_reader {
	const struct catalog_sink *sink;
	struct ms_error *err;
	const char *name;
	const char *data;
	size_t len;
	enum ms_encoding enc;
	struct ms_arena rec;
	struct ms_buf tmp, norm;
};

static size_t line_of(const char *s, size_t off)
{
	size_t i, line = 1;

	for (i = 0; i < off; i++) {
		if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= off || s[i + 1] != '\n')))
			line++;
	}
	return line;
}

static int fail(struct alpha_reader *r, size_t line, int code, const char *fmt, ...)
        MS_PRINTF(4, 5);

static int fail(struct alpha_reader *r, size_t line, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = ms_error_vset(r->err, code, fmt, ap);
	va_end(ap);
	ms_error_set_path(r->err, r->name);
	if (line)
		ms_error_set_line(r->err, line);
	return code;
}

/* See the file comment: UTF-8, else ISO-8859-1 if no UTF-8 sequence occurs at all. */
static int decide_encoding(struct alpha_reader *r, const char *data, size_t len)
{
	size_t i = 0, n_valid = 0, n_bad = 0, first_bad = 0, skip = 0;

	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		skip = 3;
	r->data = data + skip;
	r->len = len - skip;
	while (i < r->len) {
		unsigned char c = (unsigned char)r->data[i];
		size_t n = 0;

		if (c == 0) {
			ms_error_set_off(r->err, i + skip);
			return fail(r, line_of(r->data, i), MS_EINVAL, "NUL byte at byte %zu",
			            i + skip);
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 4;
		if (n && n <= r->len - i && ms_utf8_valid(r->data + i, n, NULL)) {
			n_valid++;
			i += n;
			continue;
		}
		if (!n_bad)
			first_bad = i;
		n_bad++;
		i++;
	}
	r->enc = MS_ENC_UTF8;
	if (!n_bad)
		return 0;
	if (n_valid || skip) {
		ms_error_set_off(r->err, first_bad + skip);
		return fail(r, line_of(r->data, first_bad), MS_EUNICODE,
		            "invalid UTF-8 at byte %zu", first_bad + skip);
	}
	r->enc = MS_ENC_LATIN1;
	return 0;
}

static struct slice trim(struct slice s)
{
	while (s.len && (s.s[0] == ' ' || s.s[0] == '\t')) {
		s.s++;
		s.len--;
	}
	while (s.len && (s.s[s.len - 1] == ' ' || s.s[s.len - 1] == '\t'))
		s.len--;
	return s;
}

static int text_dup(struct alpha_reader *r, struct slice s, const char **out)
{
	int rc;

	s = trim(s);
	if (r->enc == MS_ENC_UTF8)
		return ms_nfc_dup(&r->rec, &r->norm, s.s, s.len, out, r->err);
	/* ISO-8859-1 and Windows-1252 hold no combining marks: what they
	 * decode to is in NFC already */
	ms_buf_reset(&r->tmp);
	rc = ms_decode_append(&r->tmp, s.s, s.len, r->enc);
	if (rc)
		return ms_error_set(r->err, rc, "%s", ms_status_str(rc));
	*out = ms_arena_strndup(&r->rec, r->tmp.buf, r->tmp.len);
	if (!*out)
		return ms_error_set(r->err, MS_ENOMEM, "out of memory");
	return 0;
}

/*
 * Copies a code without its usage marks ('+', '†', '*', '!'), blanks and a
 * trailing '-' into the arena; *out is NULL for an empty field. Returns 0,
 * MS_ENOMEM or MS_EINVAL (not a code).
 */
static int code_dup(struct alpha_reader *r, struct slice s, const char **out)
{
	char buf[ALPHA_MAX_CODE + 1] = { 0 };
	size_t i, n = 0;

	*out = NULL;
	for (i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.s[i];

		if (c == '+' || c == '*' || c == '!' || c == ' ' || c == '\t')
			continue;
		/* U+2020 DAGGER in UTF-8 */
		if (r->enc == MS_ENC_UTF8 && c == 0xE2 && s.len - i >= 3 &&
		    memcmp(s.s + i, "\xE2\x80\xA0", 3) == 0) {
			i += 2;
			continue;
		}
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-'))
			return MS_EINVAL;
		if (n == ALPHA_MAX_CODE)
			return MS_EINVAL;
		buf[n++] = (char)c;
	}
	while (n && buf[n - 1] == '-')
		n--;
	for (i = 0; i < n; i++) {
		if (buf[i] == '-')
			return MS_EINVAL;
	}
	if (n == 0)
		return 0;
	*out = ms_arena_strndup(&r->rec, buf, n);
	return *out ? 0 : MS_ENOMEM;
}

static int code_field(struct alpha_reader *r, struct slice s, unsigned field, size_t line,
                      const char **out)
{
	int rc = code_dup(r, s, out);

	if (rc == MS_ENOMEM)
		return ms_error_set(r->err, MS_ENOMEM, "out of memory");
	if (rc)
		return fail(r, line, MS_EINVAL, "invalid code in field %u", field);
	return 0;
}

/*
 * Splits line into n_sep separated fields plus the text (the rest, without
 * one trailing separator). Returns the number of separators found if fewer
 * than n_sep, else n_sep.
 */
static size_t split_fields(const char *line, size_t len, char sep, struct slice *f, size_t n_sep,
                           struct slice *text)
{
	size_t i, start = 0, n = 0;

	for (i = 0; i < len && n < n_sep; i++) {
		if (line[i] != sep)
			continue;
		f[n].s = line + start;
		f[n].len = i - start;
		n++;
		start = i + 1;
	}
	text->s = line + start;
	text->len = len - start;
	if (text->len && text->s[text->len - 1] == sep)
		text->len--;
	return n;
}

static int parse_line(struct alpha_reader *r, const char *line, size_t len, size_t line_no,
                      char sep)
{
	const size_t n_sep = sep == '|' ? 7 : 6;
	struct slice f[7], text, t, v;
	struct catalog_term term;
	size_t n;
	int rc;

	n = split_fields(line, len, sep, f, n_sep, &text);
	if (n < n_sep)
		return fail(r, line_no, MS_EINVAL, "expected %zu fields, found %zu", n_sep + 1,
		            n + 1);
	memset(&term, 0, sizeof(term));
	term.line = line_no;
	t = trim(f[0]);
	if (t.len == 0 || t.len > 2 || t.s[0] < '0' || t.s[0] > '9' ||
	    (t.len == 2 && (t.s[1] < '0' || t.s[1] > '9')))
		return fail(r, line_no, MS_EINVAL, "invalid entry type in field 1");
	term.type = t.s[0] - '0';
	if (t.len == 2)
		term.type = term.type * 10 + (t.s[1] - '0');
	v = trim(f[2]);
	if (v.len != 1 || (v.s[0] != '0' && v.s[0] != '1'))
		return fail(r, line_no, MS_EINVAL, "field 3 is not '0' or '1'");
	term.valid = v.s[0] == '1';
	if (trim(f[1]).len) {
		rc = text_dup(r, f[1], &term.term_id);
		if (rc)
			return fail(r, line_no, rc, "%s", ms_status_str(rc));
	}
	rc = code_field(r, f[3], 4, line_no, &term.code);
	if (!rc)
		rc = code_field(r, f[4], 5, line_no, &term.code_asterisk);
	if (!rc)
		rc = code_field(r, f[5], 6, line_no, &term.code_extra);
	if (!rc && sep == '|')
		rc = code_field(r, f[6], 7, line_no, &term.code2);
	if (rc)
		return rc;
	if (trim(text).len == 0)
		return fail(r, line_no, MS_EINVAL, "empty index term");
	rc = text_dup(r, text, &term.text);
	if (rc)
		return fail(r, line_no, rc, "%s", ms_status_str(rc));
	if (!r->sink->term)
		return 0;
	rc = r->sink->term(r->sink->payload, &term, r->err);
	if (rc)
		ms_error_set_path(r->err, r->name);
	return rc;
}

/* The first run of exactly four digits in the file name ("icd10gm2010alpha..." -> 2010). */
static const char *version_from_name(const char *name, char *out)
{
	const char *base = ms_basename(name);
	size_t i, k, n = strlen(base);

	for (i = 0; i + 4 <= n; i++) {
		bool run = (i == 0 || base[i - 1] < '0' || base[i - 1] > '9') &&
		           (i + 4 == n || base[i + 4] < '0' || base[i + 4] > '9');

		for (k = 0; run && k < 4; k++)
			run = base[i + k] >= '0' && base[i + k] <= '9';
		if (run) {
			memcpy(out, base + i, 4);
			out[4] = '\0';
			return out;
		}
	}
	return NULL;
}

static int alpha_run(struct alpha_reader *r, const struct catalog_read_opts *opts)
{
	struct catalog_info info;
	struct ms_lines it;
	const char *line;
	size_t len;
	char version_buf[8];
	char sep = 0;
	size_t n_terms = 0;
	int rc;

	memset(&info, 0, sizeof(info));
	info.system = opts->system ? opts->system : CATALOG_SYSTEM_ICD10GM;
	info.version = opts->version ? opts->version : version_from_name(r->name, version_buf);
	info.part = CATALOG_PART_INDEX;
	info.title = "ICD-10-GM Alphabetisches Verzeichnis";
	info.format = catalog_format_name(CATALOG_FORMAT_ALPHA);
	info.lang = "de";
	if (!info.version)
		return fail(r, 0, MS_EINVAL,
		            "cannot derive the catalogue version from the file name '%s'",
		            ms_basename(r->name));
	ms_lines_init(&it, r->data, r->len);
	while (ms_lines_next(&it, &line, &len)) {
		if (len == 0)
			continue;
		if (!sep) {
			sep = memchr(line, '|', len) ? '|' : ';';
			if (r->sink->begin) {
				rc = r->sink->begin(r->sink->payload, &info, r->err);
				if (rc) {
					ms_error_set_path(r->err, r->name);
					return rc;
				}
			}
		}
		ms_arena_reset(&r->rec);
		rc = parse_line(r, line, len, it.line_no, sep);
		if (rc)
			return rc;
		n_terms++;
	}
	if (n_terms == 0)
		return fail(r, 1, MS_EINVAL, "file is empty");
	return 0;
}

static const struct catalog_read_opts no_opts = { NULL, NULL };

int catalog_alpha_read_mem(const char *data, size_t len, const char *name,
                           const struct catalog_read_opts *opts, const struct catalog_sink *sink,
                           struct ms_error *err)
{
	struct alpha_reader r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.sink = sink;
	r.err = err;
	r.name = name ? name : "<memory>";
	ms_arena_init(&r.rec, 0);
	ms_buf_init(&r.tmp, 0);
	ms_buf_init(&r.norm, 0);
	if (!opts)
		opts = &no_opts;
	if (len > ALPHA_MAX_FILE) {
		rc = fail(&r, 0, MS_ETOOBIG, "file is larger than %zu bytes", ALPHA_MAX_FILE);
		goto out;
	}
	rc = decide_encoding(&r, data, len);
	if (rc)
		goto out;
	rc = alpha_run(&r, opts);
out:
	ms_arena_release(&r.rec);
	ms_buf_release(&r.tmp);
	ms_buf_release(&r.norm);
	return rc;
}

int catalog_alpha_read(const char *path, const struct catalog_read_opts *opts,
                       const struct catalog_sink *sink, struct ms_error *err)
{
	struct ms_buf data = MS_BUF_INIT;
	int rc;

	rc = ms_file_read(&data, path, ALPHA_MAX_FILE, err);
	if (!rc)
		rc = catalog_alpha_read_mem(data.buf, data.len, path, opts, sink, err);
	ms_buf_release(&data);
	return rc;
}
