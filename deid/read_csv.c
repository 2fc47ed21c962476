/* SPDX-License-Identifier: MIT */
/*
 * CSV reader (RFC 4180 with a header row): a byte-level state machine over
 * the buffered input, so quoted report texts may span lines and memory is
 * bounded by the largest row. Written here rather than with libcsv because
 * the reader needs the physical line of each row, a per-row cap that skips
 * the rest of an oversized row, and rejects for ragged rows - all of which
 * sit awkwardly on libcsv's callbacks.
 */
#include "deid/deid.h"

#include <string.h>

#include "common/alloc.h"
#include "deid/read_int.h"

#define CSV_MAX_COLUMNS 65536
#define CSV_SNIFF_BYTES ((size_t)16 * 1024)

enum csv_lex { CSV_START, CSV_UNQUOTED, CSV_QUOTED, CSV_QUOTE_IN_QUOTED };

struct csv_state {
	bool header_done;
	char delim;
	struct ms_buf row; /* raw field bytes back to back */
	size_t *ends;      /* end offset of each field in row */
	size_t n_ends, cap_ends;
	size_t line; /* physical line of the next byte, 1-based */
	bool prev_cr, pending_lf;
	struct ms_buf dec;

	size_t n_cols;
	long col_id, col_group, col_text, col_labels; /* -1: absent */
	int *col_kind;                                /* per column: field kind or -1 */
};

struct csv_row {
	size_t line;
	bool too_big, open_quote;
};

static void csv_free(struct deid_reader *r)
{
	struct csv_state *st = r->state;

	if (!st)
		return;
	ms_buf_release(&st->row);
	ms_buf_release(&st->dec);
	ms_free(st->ends);
	ms_free(st->col_kind);
	ms_free(st);
	r->state = NULL;
}

static int add_byte(struct csv_state *st, struct csv_row *row, int c)
{
	if (row->too_big)
		return 0;
	if (ms_buf_addch(&st->row, c) == MS_ETOOBIG)
		row->too_big = true;
	return st->row.status == MS_ENOMEM ? MS_ENOMEM : 0;
}

static int end_field(struct csv_state *st, struct csv_row *row)
{
	if (row->too_big)
		return 0;
	if (st->n_ends >= CSV_MAX_COLUMNS) {
		row->too_big = true;
		return 0;
	}
	if (MS_GROW(st->ends, st->cap_ends, st->n_ends + 1))
		return MS_ENOMEM;
	st->ends[st->n_ends++] = st->row.len;
	return 0;
}

static void count_line(struct csv_state *st, int c)
{
	if (c == '\r' || (c == '\n' && !st->prev_cr))
		st->line++;
	st->prev_cr = c == '\r';
}

/*
 * Feeds one byte to the lexer. Returns 1 when it ended the row, 0 to go on,
 * or MS_ENOMEM.
 */
static int lex_byte(struct csv_state *st, struct csv_row *row, enum csv_lex *lex, int c)
{
	int rc = 0;

	if (*lex == CSV_QUOTED) {
		if (c == '"')
			*lex = CSV_QUOTE_IN_QUOTED;
		else
			rc = add_byte(st, row, c);
	} else if (c == st->delim) {
		rc = end_field(st, row);
		*lex = CSV_START;
	} else if (c == '\r' || c == '\n') {
		st->pending_lf = c == '\r';
		rc = end_field(st, row);
		return rc ? rc : 1;
	} else if (c == '"' && *lex == CSV_START) {
		*lex = CSV_QUOTED;
	} else if (c == '"' && *lex == CSV_QUOTE_IN_QUOTED) {
		rc = add_byte(st, row, c); /* "" inside quotes */
		*lex = CSV_QUOTED;
	} else {
		/* text after a closing quote is kept (lenient), as is a stray quote */
		rc = add_byte(st, row, c);
		*lex = CSV_UNQUOTED;
	}
	return rc;
}

/* Reads one row. Returns 1, 0 at the end of input, MS_ENOMEM or MS_EIO. */
static int read_row(struct deid_reader *r, struct csv_state *st, struct csv_row *row)
{
	enum csv_lex lex = CSV_START;
	bool any = false;
	int c, rc;

	ms_buf_reset(&st->row);
	st->n_ends = 0;
	row->too_big = row->open_quote = false;
	for (;;) {
		c = deid_input_getc(&r->in);
		if (c < 0)
			break;
		if (st->pending_lf) {
			st->pending_lf = false;
			if (c == '\n') {
				count_line(st, c);
				continue;
			}
		}
		if (!any)
			row->line = st->line;
		any = true;
		count_line(st, c);
		rc = lex_byte(st, row, &lex, c);
		if (rc)
			return rc;
	}
	if (r->in.status)
		return MS_EIO;
	if (!any)
		return 0;
	row->open_quote = lex == CSV_QUOTED;
	rc = end_field(st, row);
	return rc ? rc : 1;
}

static void field_span(const struct csv_state *st, size_t i, const char **s, size_t *len)
{
	size_t start = i ? st->ends[i - 1] : 0;

	*s = st->row.buf + start;
	*len = st->ends[i] - start;
}

static void trim(const char **s, size_t *len)
{
	while (*len && ((*s)[0] == ' ' || (*s)[0] == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/* Picks the delimiter from the first line: the most frequent of , ; tab outside quotes. */
static char sniff_delim(struct deid_reader *r)
{
	const unsigned char *p;
	size_t i, n_comma = 0, n_semi = 0, n_tab = 0;
	long avail = deid_input_fill(&r->in, CSV_SNIFF_BYTES);
	bool quoted = false;

	if (avail <= 0)
		return ',';
	p = r->in.data + r->in.pos;
	for (i = 0; i < (size_t)avail; i++) {
		if (p[i] == '"')
			quoted = !quoted;
		else if (!quoted && (p[i] == '\n' || p[i] == '\r'))
			break;
		else if (!quoted && p[i] == ',')
			n_comma++;
		else if (!quoted && p[i] == ';')
			n_semi++;
		else if (!quoted && p[i] == '\t')
			n_tab++;
	}
	if (n_semi > n_comma && n_semi >= n_tab)
		return ';';
	if (n_tab > n_comma && n_tab > n_semi)
		return '\t';
	return ',';
}

static long find_col(const struct ms_buf *names, const size_t *name_ends, size_t n,
                     const char *want)
{
	size_t i, start;

	for (i = 0; i < n; i++) {
		start = i ? name_ends[i - 1] : 0;
		if (deid_ascii_ieq(names->buf + start, name_ends[i] - start, want))
			return (long)i;
	}
	return -1;
}

/* Resolves a column option: explicit names must exist, defaults may be absent. */
static int map_col(long *out, const struct ms_buf *names, const size_t *ends, size_t n,
                   const char *opt, const char *dflt, const char *dflt2, bool required,
                   struct ms_error *err)
{
	*out = find_col(names, ends, n, opt ? opt : dflt);
	if (*out < 0 && !opt && dflt2)
		*out = find_col(names, ends, n, dflt2);
	if (*out < 0 && (opt || required))
		return ms_error_set(err, MS_EINVAL, "column '%.64s' not found in header",
		                    opt ? opt : dflt);
	return 0;
}

/* Maps the configured and the field-named columns; names holds the header. */
static int map_columns(struct deid_reader *r, struct csv_state *st, const struct ms_buf *names,
                       const size_t *name_ends, struct ms_error *err)
{
	enum deid_field_kind kind;
	size_t i, len, start;
	long col;
	int rc;

	rc = map_col(&st->col_text, names, name_ends, st->n_cols, r->csv_text, "text", NULL, true,
	             err);
	if (!rc)
		rc = map_col(&st->col_id, names, name_ends, st->n_cols, r->csv_id, "id", NULL,
		             false, err);
	if (!rc)
		rc = map_col(&st->col_group, names, name_ends, st->n_cols, r->csv_group, "group",
		             "patient", false, err);
	if (!rc)
		rc = map_col(&st->col_labels, names, name_ends, st->n_cols, r->csv_labels, "labels",
		             NULL, false, err);
	for (i = 0; !rc && i < r->n_csv_fields; i++) {
		rc = map_col(&col, names, name_ends, st->n_cols, r->csv_fields[i].column, NULL,
		             NULL, true, err);
		if (!rc && st->col_kind[col] < 0)
			st->col_kind[col] = (int)r->csv_fields[i].kind;
	}
	for (i = 0; !rc && i < st->n_cols; i++) {
		char name[64];

		start = i ? name_ends[i - 1] : 0;
		len = name_ends[i] - start;
		if (st->col_kind[i] >= 0 || len >= sizeof(name))
			continue;
		memcpy(name, names->buf + start, len);
		name[len] = '\0';
		if (deid_field_parse(&kind, name) == 0)
			st->col_kind[i] = (int)kind;
	}
	return rc;
}

static int read_header(struct deid_reader *r, struct csv_state *st, struct ms_error *err)
{
	struct ms_buf names = MS_BUF_INIT;
	size_t *name_ends = NULL, i, len;
	struct csv_row row;
	const char *s;
	bool guessed;
	enum ms_encoding enc;
	int rc;

	/* a UTF-8 byte order mark is not part of the first column name */
	if (deid_input_fill(&r->in, 3) >= 3 &&
	    memcmp(r->in.data + r->in.pos, "\xEF\xBB\xBF", 3) == 0)
		r->in.pos += 3;
	st->delim = r->csv_delim;
	if (!st->delim)
		st->delim = sniff_delim(r);
	rc = read_row(r, st, &row);
	if (rc <= 0) {
		rc = rc ? ms_error_set(err, rc, "%s",
		                       rc == MS_EIO ? "read error" : ms_status_str(rc))
		        : ms_error_set(err, MS_EINVAL, "no header row");
		goto out;
	}
	ms_error_set_line(err, row.line);
	if (row.too_big || row.open_quote) {
		rc = ms_error_set(err, MS_EINVAL, "malformed header row");
		goto out;
	}
	st->n_cols = st->n_ends;
	name_ends = ms_calloc(st->n_cols, sizeof(*name_ends));
	st->col_kind = ms_calloc(st->n_cols, sizeof(*st->col_kind));
	if (!name_ends || !st->col_kind) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	/* decoded, trimmed header names back to back in names */
	for (i = 0; i < st->n_cols; i++) {
		field_span(st, i, &s, &len);
		trim(&s, &len);
		rc = deid_decode(&names, s, len, DEID_CHARSET_AUTO, &enc, &guessed, err);
		if (rc)
			goto out;
		name_ends[i] = names.len;
		st->col_kind[i] = -1;
	}
	rc = map_columns(r, st, &names, name_ends, err);
	st->header_done = rc == 0;
out:
	ms_free(name_ends);
	ms_buf_release(&names);
	return rc;
}

static int decode_field(struct csv_state *st, size_t col, enum deid_charset cs)
{
	const char *s;
	size_t len;
	bool guessed;
	enum ms_encoding enc;

	field_span(st, col, &s, &len);
	ms_buf_reset(&st->dec);
	return deid_decode(&st->dec, s, len, cs, &enc, &guessed, NULL);
}

static int add_labels(struct deid_reader *r, const char *s, size_t len, struct ms_error *err)
{
	size_t i, start = 0;
	const char *p;
	size_t n;
	int rc;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != r->csv_label_sep)
			continue;
		p = s + start;
		n = i - start;
		trim(&p, &n);
		rc = deid_doc_add_label(r, p, n, NULL, 0, err);
		if (rc)
			return rc;
		start = i + 1;
	}
	return 0;
}

static int read_record(struct deid_reader *r, struct csv_state *st, const struct csv_row *row,
                       struct ms_error *err)
{
	enum deid_charset cs = r->charset;
	size_t i;
	int rc = 0;

	if (row->too_big)
		return deid_reject(err, MS_ETOOBIG, "record exceeds %zu bytes", r->max_record);
	if (row->open_quote)
		return deid_reject(err, MS_EINVAL, "quoted field not closed before end of input");
	if (st->n_ends != st->n_cols)
		return deid_reject(err, MS_EINVAL, "record has %zu fields, header has %zu",
		                   st->n_ends, st->n_cols);
	if (cs == DEID_CHARSET_AUTO) {
		cs = DEID_CHARSET_UTF8;
		if (!ms_utf8_valid(st->row.buf, st->row.len, NULL)) {
			cs = DEID_CHARSET_CP1252;
			r->doc.flags |= DEID_DOC_CHARSET_GUESSED;
		}
	}
	r->doc.encoding = cs == DEID_CHARSET_LATIN1   ? MS_ENC_LATIN1
	                  : cs == DEID_CHARSET_CP1252 ? MS_ENC_CP1252
	                                              : MS_ENC_UTF8;
	for (i = 0; i < st->n_cols; i++) {
		if ((long)i != st->col_id && (long)i != st->col_group && (long)i != st->col_text &&
		    (long)i != st->col_labels && st->col_kind[i] < 0)
			continue;
		rc = decode_field(st, i, cs);
		if (rc == MS_EUNICODE)
			return deid_reject(err, MS_EUNICODE, "invalid UTF-8 in column %zu", i + 1);
		if (rc == MS_ETOOBIG)
			return deid_reject(err, MS_ETOOBIG,
			                   "record exceeds %zu bytes after decoding",
			                   r->max_record);
		if (rc)
			return ms_error_set(err, rc, "%s", ms_status_str(rc));
		if ((long)i == st->col_text) {
			rc = deid_doc_set_text(r, st->dec.buf, st->dec.len, err);
		} else if ((long)i == st->col_id) {
			rc = deid_doc_set_id(r, st->dec.buf, st->dec.len, err);
		} else if ((long)i == st->col_group) {
			rc = deid_doc_set_group(r, st->dec.buf, st->dec.len, err);
		} else if ((long)i == st->col_labels) {
			rc = add_labels(r, st->dec.buf, st->dec.len, err);
		} else {
			rc = deid_doc_add_field(r, (enum deid_field_kind)st->col_kind[i],
			                        st->dec.buf, st->dec.len, err);
		}
		if (rc)
			return deid_read_classify(rc);
	}
	return deid_doc_finish(r, "empty text column", err);
}

static int csv_next(struct deid_reader *r, struct ms_error *err)
{
	struct csv_state *st = r->state;
	struct csv_row row;
	int rc;

	if (!st) {
		st = ms_calloc(1, sizeof(*st));
		if (!st)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		ms_buf_init(&st->row, r->max_record);
		ms_buf_init(&st->dec, r->max_record > ((size_t)-1) / 4 ? 0 : r->max_record * 4);
		st->line = 1;
		r->state = st;
	}
	if (!st->header_done) {
		rc = read_header(r, st, err);
		if (rc)
			return rc;
	}
	for (;;) {
		rc = read_row(r, st, &row);
		if (rc == 0)
			return DEID_READ_END;
		if (rc < 0)
			return ms_error_set(err, rc, "%s",
			                    rc == MS_EIO ? "read error" : ms_status_str(rc));
		/* blank lines are not records */
		if (!(st->n_ends == 1 && st->row.len == 0 && !row.open_quote))
			break;
	}
	deid_doc_begin(r, row.line);
	rc = read_record(r, st, &row, err);
	if (rc == DEID_READ_REJECT)
		ms_error_set_line(err, row.line);
	return rc;
}

const struct deid_read_ops deid_read_csv_ops = {
	.next = csv_next,
	.free = csv_free,
};
