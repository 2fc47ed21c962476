/* SPDX-License-Identifier: MIT */
/*
 * The reader front end: options, sources (FILE or memory behind one buffered
 * input), format detection and dispatch, and the helpers with which every
 * format builds a document in the per-record arena. The formats themselves
 * live in read_<format>.c.
 */
#include "deid/deid.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "common/json.h"
#include "deid/read_int.h"

#define DEID_MAX_FIELDS 1024
#define DEID_MAX_LABELS 1024

/* ---- names ----------------------------------------------------------- */

static const char *const field_names[DEID_FIELD_COUNT] = {
	[DEID_FIELD_PATIENT_ID] = "patient.id",
	[DEID_FIELD_PATIENT_NAME] = "patient.name",
	[DEID_FIELD_PATIENT_FAMILY] = "patient.family",
	[DEID_FIELD_PATIENT_GIVEN] = "patient.given",
	[DEID_FIELD_PATIENT_BIRTHDATE] = "patient.birthdate",
	[DEID_FIELD_PATIENT_STREET] = "patient.street",
	[DEID_FIELD_PATIENT_CITY] = "patient.city",
	[DEID_FIELD_PATIENT_ZIP] = "patient.zip",
	[DEID_FIELD_PATIENT_PHONE] = "patient.phone",
	[DEID_FIELD_PATIENT_EMAIL] = "patient.email",
	[DEID_FIELD_CASE_ID] = "case.id",
	[DEID_FIELD_ACCESSION] = "accession",
	[DEID_FIELD_ORDER_PLACER] = "order.placer",
	[DEID_FIELD_REPORT_ID] = "report.id",
	[DEID_FIELD_REFERRER_ID] = "referrer.id",
	[DEID_FIELD_REFERRER_NAME] = "referrer.name",
	[DEID_FIELD_REFERRER_FAMILY] = "referrer.family",
	[DEID_FIELD_REFERRER_GIVEN] = "referrer.given",
	[DEID_FIELD_PERFORMER_ID] = "performer.id",
	[DEID_FIELD_PERFORMER_NAME] = "performer.name",
	[DEID_FIELD_PERFORMER_FAMILY] = "performer.family",
	[DEID_FIELD_PERFORMER_GIVEN] = "performer.given",
	[DEID_FIELD_FACILITY] = "facility",
};

const char *deid_field_name(enum deid_field_kind kind)
{
	if ((unsigned)kind >= DEID_FIELD_COUNT)
		return NULL;
	return field_names[kind];
}

int deid_field_parse(enum deid_field_kind *out, const char *name)
{
	unsigned i;

	for (i = 0; i < DEID_FIELD_COUNT; i++) {
		if (strcmp(field_names[i], name) == 0) {
			*out = (enum deid_field_kind)i;
			return 0;
		}
	}
	return MS_ENOTFOUND;
}

static const char *const format_names[] = {
	[DEID_FORMAT_AUTO] = "auto", [DEID_FORMAT_CSV] = "csv",     [DEID_FORMAT_HL7] = "hl7",
	[DEID_FORMAT_FHIR] = "fhir", [DEID_FORMAT_JSONL] = "jsonl", [DEID_FORMAT_TEXT] = "text",
};

const char *deid_format_name(enum deid_format fmt)
{
	if ((unsigned)fmt >= sizeof(format_names) / sizeof(format_names[0]))
		return NULL;
	return format_names[fmt];
}

int deid_format_parse(enum deid_format *out, const char *name)
{
	unsigned i;

	for (i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (strcmp(format_names[i], name) == 0) {
			*out = (enum deid_format)i;
			return 0;
		}
	}
	return MS_ENOTFOUND;
}

/* ---- small string helpers -------------------------------------------- */

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

bool deid_ascii_ieq(const char *s, size_t len, const char *lit)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!lit[i] ||
		    ascii_lower((unsigned char)s[i]) != ascii_lower((unsigned char)lit[i]))
			return false;
	}
	return lit[len] == '\0';
}

/* ---- format detection ------------------------------------------------- */

static bool is_seg_id(const unsigned char *p, size_t len)
{
	size_t i;

	if (len < 4 || !(p[0] >= 'A' && p[0] <= 'Z'))
		return false;
	for (i = 1; i < 3; i++) {
		if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9')))
			return false;
	}
	return p[3] == '|';
}

static bool has_ext(const char *name, const char *ext)
{
	size_t n, e;

	if (!name)
		return false;
	n = strlen(name);
	e = strlen(ext);
	return n > e && deid_ascii_ieq(name + n - e, e, ext);
}

static bool mem_has(const unsigned char *p, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= len; i++) {
		if (memcmp(p + i, needle, n) == 0)
			return true;
	}
	return false;
}

enum deid_format deid_format_detect(const char *head, size_t len, const char *name)
{
	const unsigned char *p = (const unsigned char *)head;
	size_t i = 0;

	if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
		i = 3;
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	if (i < len && p[i] == 0x0B)
		return DEID_FORMAT_HL7;
	if (is_seg_id(p + i, len - i) || mem_has(p, len, "<SB>") || mem_has(p, len, "MSH|^~"))
		return DEID_FORMAT_HL7;
	if (i < len && p[i] == '{')
		return mem_has(p + i, len - i, "\"resourceType\"") ? DEID_FORMAT_FHIR
		                                                   : DEID_FORMAT_JSONL;
	if (has_ext(name, ".csv") || has_ext(name, ".tsv"))
		return DEID_FORMAT_CSV;
	if (has_ext(name, ".hl7"))
		return DEID_FORMAT_HL7;
	if (has_ext(name, ".json") || has_ext(name, ".ndjson"))
		return DEID_FORMAT_FHIR;
	if (has_ext(name, ".jsonl"))
		return DEID_FORMAT_JSONL;
	return DEID_FORMAT_TEXT;
}

/* ---- buffered input --------------------------------------------------- */

long deid_input_fill(struct deid_input *in, size_t want)
{
	size_t avail = in->len - in->pos, n;

	while (avail < want && !in->eof) {
		if (in->status)
			return in->status;
		if (!in->fp || !in->chunk) {
			in->eof = true;
			break;
		}
		if (in->pos) {
			memmove(in->chunk, in->chunk + in->pos, avail);
			in->len = avail;
			in->pos = 0;
		}
		n = fread(in->chunk + in->len, 1, DEID_INPUT_CHUNK - in->len, in->fp);
		if (n == 0) {
			if (ferror(in->fp)) {
				in->status = MS_EIO;
				return MS_EIO;
			}
			in->eof = true;
		}
		in->len += n;
		avail += n;
	}
	return (long)avail;
}

int deid_input_getc(struct deid_input *in)
{
	if (in->pos < in->len)
		return in->data[in->pos++];
	if (deid_input_fill(in, 1) <= 0)
		return -1;
	return in->data[in->pos++];
}

/* Appends what fits under line's cap; returns false once something did not fit. */
static bool add_capped(struct ms_buf *line, const unsigned char *p, size_t n)
{
	size_t room = line->cap ? line->cap - line->len : n;

	ms_buf_add(line, p, n < room ? n : room);
	return n <= room;
}

/* First line end in p[0, n): LF, or with DEID_LINE_CR also CR; NULL if none. */
static const unsigned char *find_eol(const unsigned char *p, size_t n, unsigned flags)
{
	size_t i;

	if (!(flags & DEID_LINE_CR))
		return memchr(p, '\n', n);
	for (i = 0; i < n; i++) {
		if (p[i] == '\n' || p[i] == '\r')
			return p + i;
	}
	return NULL;
}

/* After a CR that ended a line: swallows the LF of a CRLF. */
static int skip_lf(struct deid_input *in)
{
	long avail = deid_input_fill(in, 1);

	if (avail < 0)
		return (int)avail;
	if (avail > 0 && in->data[in->pos] == '\n')
		in->pos++;
	return 0;
}

int deid_input_line(struct deid_input *in, struct ms_buf *line, unsigned flags)
{
	const unsigned char *p, *hit = NULL;
	bool any = false, too_big = false;
	long avail;
	size_t n;

	ms_buf_reset(line);
	while (!hit) {
		avail = deid_input_fill(in, 1);
		if (avail < 0)
			return (int)avail;
		if (avail == 0)
			break;
		any = true;
		p = in->data + in->pos;
		hit = find_eol(p, (size_t)avail, flags);
		n = hit ? (size_t)(hit - p) : (size_t)avail;
		if (!too_big)
			too_big = !add_capped(line, p, n);
		if (line->status == MS_ENOMEM)
			return MS_ENOMEM;
		in->pos += hit ? n + 1 : n;
	}
	if (hit && *hit == '\r') {
		int rc = skip_lf(in);

		if (rc)
			return rc;
	} else if (hit && !too_big && line->len && line->buf[line->len - 1] == '\r') {
		ms_buf_truncate(line, line->len - 1); /* CRLF */
	}
	if (too_big)
		return MS_ETOOBIG;
	return any ? 1 : 0;
}

int deid_input_rest(struct deid_input *in, struct ms_buf *out)
{
	long avail;

	for (;;) {
		avail = deid_input_fill(in, 1);
		if (avail < 0)
			return (int)avail;
		if (avail == 0)
			break;
		if (out->status != MS_ETOOBIG)
			ms_buf_add(out, in->data + in->pos, (size_t)avail);
		in->pos += (size_t)avail;
		if (out->status == MS_ENOMEM)
			return MS_ENOMEM;
	}
	return out->status;
}

/* ---- reader lifecycle -------------------------------------------------- */

static int dup_opt(char **out, const char *s)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = ms_strdup(s);
	return *out ? 0 : MS_ENOMEM;
}

static bool bad_delim(char c)
{
	return c == '"' || c == '\n' || c == '\r' || c == '\0';
}

int deid_reader_open(struct deid_reader **out, enum deid_format fmt,
                     const struct deid_reader_opts *opts, struct ms_error *err)
{
	static const struct deid_reader_opts defaults = DEID_READER_OPTS_INIT;
	struct deid_reader *r = NULL;
	size_t i, scratch_cap;
	int rc = 0;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if ((unsigned)fmt > DEID_FORMAT_TEXT || (unsigned)opts->charset > DEID_CHARSET_CP1252)
		return ms_error_set(err, MS_EUSAGE, "invalid reader format or charset");
	if (opts->csv_delim && bad_delim(opts->csv_delim))
		return ms_error_set(err, MS_EUSAGE, "invalid CSV delimiter");
	if (opts->csv_label_sep && (opts->csv_label_sep == '\n' || opts->csv_label_sep == '\r'))
		return ms_error_set(err, MS_EUSAGE, "invalid label separator");
	for (i = 0; i < opts->n_csv_fields; i++) {
		if (!opts->csv_fields[i].column || !deid_field_name(opts->csv_fields[i].kind))
			return ms_error_set(err, MS_EUSAGE, "invalid CSV field mapping %zu", i + 1);
	}
	r = ms_calloc(1, sizeof(*r));
	if (!r) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	r->fmt = fmt;
	r->max_record = opts->max_record ? opts->max_record : DEID_MAX_RECORD_DEFAULT;
	r->charset = opts->charset;
	r->flags = opts->flags;
	r->csv_delim = opts->csv_delim;
	r->csv_label_sep = (char)(opts->csv_label_sep ? opts->csv_label_sep : '|');
	ms_arena_init(&r->arena, 0);
	if (!ms_size_mul(&scratch_cap, r->max_record, 4))
		scratch_cap = 0;
	ms_buf_init(&r->tmp, scratch_cap);
	ms_buf_init(&r->tmp2, scratch_cap);
	rc = dup_opt(&r->csv_id, opts->csv_id);
	if (!rc)
		rc = dup_opt(&r->csv_group, opts->csv_group);
	if (!rc)
		rc = dup_opt(&r->csv_text, opts->csv_text);
	if (!rc)
		rc = dup_opt(&r->csv_labels, opts->csv_labels);
	if (!rc && opts->n_csv_fields) {
		r->csv_fields = ms_calloc(opts->n_csv_fields, sizeof(*r->csv_fields));
		if (!r->csv_fields)
			rc = MS_ENOMEM;
		for (i = 0; !rc && i < opts->n_csv_fields; i++) {
			r->csv_fields[i].kind = opts->csv_fields[i].kind;
			rc = dup_opt((char **)&r->csv_fields[i].column, opts->csv_fields[i].column);
			r->n_csv_fields = i + 1;
		}
	}
	if (rc) {
		rc = ms_error_set(err, rc, "out of memory");
		goto out;
	}
	*out = r;
	r = NULL;
out:
	deid_reader_free(r);
	return rc;
}

static void source_drop(struct deid_reader *r)
{
	if (r->ops && r->ops->free)
		r->ops->free(r);
	r->ops = NULL;
	r->state = NULL;
	r->fed = false;
	r->record = 0;
	ms_free(r->name);
	r->name = NULL;
	r->in.fp = NULL;
	r->in.data = NULL;
	r->in.len = r->in.pos = 0;
	r->in.eof = false;
	r->in.status = 0;
}

void deid_reader_free(struct deid_reader *r)
{
	size_t i;

	if (!r)
		return;
	source_drop(r);
	ms_free(r->in.chunk);
	ms_arena_release(&r->arena);
	ms_buf_release(&r->tmp);
	ms_buf_release(&r->tmp2);
	ms_free(r->csv_id);
	ms_free(r->csv_group);
	ms_free(r->csv_text);
	ms_free(r->csv_labels);
	for (i = 0; i < r->n_csv_fields; i++)
		ms_free((char *)r->csv_fields[i].column);
	ms_free(r->csv_fields);
	ms_free(r);
}

static const struct deid_read_ops *ops_for(enum deid_format fmt)
{
	switch (fmt) {
	case DEID_FORMAT_CSV:
		return &deid_read_csv_ops;
	case DEID_FORMAT_HL7:
		return &deid_read_hl7_ops;
	case DEID_FORMAT_FHIR:
		return &deid_read_fhir_ops;
	case DEID_FORMAT_JSONL:
		return &deid_read_jsonl_ops;
	case DEID_FORMAT_TEXT:
	case DEID_FORMAT_AUTO:
	default:
		return &deid_read_text_ops;
	}
}

/* Common tail of both feeds: name, format detection, ops. */
static int source_start(struct deid_reader *r, const char *name, struct ms_error *err)
{
	long avail;

	if (name) {
		r->name = ms_strdup(name);
		if (!r->name)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	r->cur_fmt = r->fmt;
	if (r->cur_fmt == DEID_FORMAT_AUTO) {
		avail = deid_input_fill(&r->in, 4096);
		if (avail < 0) {
			ms_error_set_path(err, name);
			return ms_error_set(err, MS_EIO, "read error: %s", strerror(errno));
		}
		r->cur_fmt = deid_format_detect((const char *)r->in.data + r->in.pos, (size_t)avail,
		                                name);
	}
	r->ops = ops_for(r->cur_fmt);
	r->fed = true;
	return 0;
}

int deid_reader_feed_file(struct deid_reader *r, FILE *fp, const char *name, struct ms_error *err)
{
	source_drop(r);
	if (!r->in.chunk) {
		r->in.chunk = ms_malloc(DEID_INPUT_CHUNK);
		if (!r->in.chunk)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	r->in.fp = fp;
	r->in.data = r->in.chunk;
	return source_start(r, name, err);
}

int deid_reader_feed_mem(struct deid_reader *r, const void *data, size_t len, const char *name,
                         struct ms_error *err)
{
	source_drop(r);
	r->in.data = data ? data : (const void *)"";
	r->in.len = data ? len : 0;
	r->in.eof = true;
	return source_start(r, name, err);
}

int deid_reader_next(struct deid_reader *r, const struct deid_doc **doc_out, struct ms_error *err)
{
	int rc;

	*doc_out = NULL;
	ms_error_clear(err);
	if (!r->fed || !r->ops)
		return DEID_READ_END;
	rc = r->ops->next(r, err);
	if (rc == DEID_READ_DOC) {
		ms_error_clear(err);
		*doc_out = &r->doc;
		return rc;
	}
	if (rc == DEID_READ_END) {
		r->fed = false;
		return rc;
	}
	if (err && !err->code)
		ms_error_set(err, rc < 0 ? rc : MS_EINVAL, "%s",
		             ms_status_str(rc < 0 ? rc : MS_EINVAL));
	ms_error_set_path(err, r->name);
	if (r->record && (rc == DEID_READ_REJECT || rc == MS_ETOOBIG || rc == MS_EINVAL))
		ms_error_set_record(err, r->record);
	if (rc < 0)
		r->fed = false;
	return rc;
}

enum deid_format deid_reader_format(const struct deid_reader *r)
{
	return r->fed || r->ops ? r->cur_fmt : r->fmt;
}

/* ---- document building ----------------------------------------------- */

int deid_reject(struct ms_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ms_error_vset(err, code, fmt, ap);
	va_end(ap);
	return DEID_READ_REJECT;
}

void deid_doc_begin(struct deid_reader *r, size_t line)
{
	ms_arena_reset(&r->arena);
	memset(&r->doc, 0, sizeof(r->doc));
	memset(&r->b, 0, sizeof(r->b));
	r->record++;
	r->doc.record = r->record;
	r->doc.line = line;
	r->doc.format = r->cur_fmt;
	r->doc.encoding = MS_ENC_UTF8;
}

int deid_decode(struct ms_buf *out, const char *s, size_t len, enum deid_charset cs,
                enum ms_encoding *enc_out, bool *guessed_out, struct ms_error *err)
{
	size_t bad = 0;
	enum ms_encoding enc = MS_ENC_UTF8;
	int rc;

	*guessed_out = false;
	switch (cs) {
	case DEID_CHARSET_LATIN1:
		enc = MS_ENC_LATIN1;
		break;
	case DEID_CHARSET_CP1252:
		enc = MS_ENC_CP1252;
		break;
	case DEID_CHARSET_UTF8:
		if (!ms_utf8_valid(s, len, &bad))
			return ms_error_set(err, MS_EUNICODE,
			                    "invalid UTF-8 at byte %zu of the record", bad);
		break;
	case DEID_CHARSET_AUTO:
	default:
		if (!ms_utf8_valid(s, len, NULL)) {
			enc = MS_ENC_CP1252;
			*guessed_out = true;
		}
		break;
	}
	*enc_out = enc;
	rc = ms_decode_append(out, s, len, enc);
	if (rc == MS_ETOOBIG)
		return ms_error_set(err, rc, "record too large after decoding");
	if (rc)
		return ms_error_set(err, rc, "%s", ms_status_str(rc));
	return 0;
}

static bool is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* C0 controls other than tab and newline, DEL, and C1 controls (U+0080..U+009F). */
static size_t control_len(const unsigned char *p, size_t i, size_t len)
{
	if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') || p[i] == 0x7F)
		return 1;
	if (p[i] == 0xC2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F)
		return 2;
	return 0;
}

/*
 * Text cleaning state: blanks at the start of a line are held back until the
 * line turns out not to be blank, and line breaks are counted and written
 * (at most two) only before the next visible character.
 */
struct cleaner {
	struct ms_buf *out;
	const unsigned char *s;
	size_t line_start, hold_start, hold_end, n_nl;
	bool holding;
};

static void trim_line(struct cleaner *c)
{
	while (c->out->len > c->line_start && is_blank(c->out->buf[c->out->len - 1]))
		ms_buf_truncate(c->out, c->out->len - 1);
}

static void put_visible(struct cleaner *c, unsigned char ch)
{
	size_t k;

	if (c->n_nl && c->out->len) {
		ms_buf_add(c->out, "\n\n", c->n_nl > 1 ? 2 : 1);
		c->line_start = c->out->len;
	}
	c->n_nl = 0;
	if (c->holding && c->out->len) {
		for (k = c->hold_start; k < c->hold_end; k++) {
			if (is_blank(c->s[k]))
				ms_buf_addch(c->out, c->s[k]);
		}
	}
	c->holding = false;
	ms_buf_addch(c->out, ch);
}

/*
 * Non-zero if a byte of w is below n (1 <= n <= 128); exact ("hasless" of
 * the bit-twiddling collections: a borrow only starts at such a byte).
 */
static inline uint64_t has_byte_below(uint64_t w, unsigned n)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;

	return (w - ones * n) & ~w & highs;
}

/*
 * After a visible character, the bytes up to the next line break, control
 * character or possible C1 control (lead byte 0xC2) need no decision: they
 * are copied in one go. Returns how many were copied from s[from].
 */
static size_t copy_plain_run(struct ms_buf *out, const unsigned char *s, size_t from, size_t len)
{
	const uint64_t ones = 0x0101010101010101u;
	size_t j = from;

	/* eight bytes at a time while none of them is below 0x20, 0x7F or 0xC2 */
	for (; len - j >= 8; j += 8) {
		uint64_t w;

		memcpy(&w, s + j, 8);
		if (has_byte_below(w, 0x20) | has_byte_below(w ^ (ones * 0x7F), 1) |
		    has_byte_below(w ^ (ones * 0xC2), 1))
			break; /* the byte loop finds it among these eight */
	}
	while (j < len && s[j] >= 0x20 && s[j] != 0x7F && s[j] != 0xC2)
		j++;
	ms_buf_add(out, s + from, j - from);
	return j - from;
}

/* Cleans multi-line text into out (see struct deid_doc). */
static void clean_text(struct ms_buf *out, const char *s, size_t len)
{
	struct cleaner c = { out, (const unsigned char *)s, 0, 0, 0, 0, false };
	size_t i, ctl;

	ms_buf_reset(out);
	for (i = 0; i < len; i++) {
		unsigned char ch = c.s[i];

		ctl = control_len(c.s, i, len);
		if (ctl) {
			i += ctl - 1;
		} else if (ch == '\r' && i + 1 < len && c.s[i + 1] == '\n') {
			continue;
		} else if (ch == '\r' || ch == '\n') {
			trim_line(&c);
			c.n_nl++;
			c.holding = false;
		} else if (is_blank(ch) && (c.n_nl || out->len == 0)) {
			/* indentation of a line that may turn out blank */
			if (!c.holding)
				c.hold_start = i;
			c.holding = true;
			c.hold_end = i + 1;
		} else {
			put_visible(&c, ch);
			i += copy_plain_run(out, c.s, i + 1, len);
		}
	}
	trim_line(&c);
}

/* Cleans a single-line value: white space runs become one space, trimmed. */
static void clean_value(struct ms_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, ctl;
	bool space = false;

	ms_buf_reset(out);
	for (i = 0; i < len; i++) {
		ctl = control_len(p, i, len);
		if (ctl || p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
			if (ctl)
				i += ctl - 1;
			space = out->len > 0;
			continue;
		}
		if (space)
			ms_buf_addch(out, ' ');
		space = false;
		ms_buf_addch(out, p[i]);
	}
}

/* NFC of r->tmp into the arena. */
static int to_arena(struct deid_reader *r, const char **out, size_t *len_out, struct ms_error *err)
{
	const struct ms_buf *src;
	char *p;
	int rc = ms_buf_status(&r->tmp);

	*out = NULL;
	if (rc) {
		ms_error_set(err, rc, "%s", ms_status_str(rc));
		return rc;
	}
	ms_buf_reset(&r->tmp2);
	if (ms_nfc_by_range(r->tmp.buf, r->tmp.len)) {
		src = &r->tmp; /* valid and NFC already: no copy through tmp2 */
	} else {
		rc = ms_text_import(&r->tmp2, r->tmp.buf, r->tmp.len, err);
		if (rc)
			return rc;
		src = &r->tmp2;
	}
	p = ms_arena_strndup(&r->arena, src->buf, src->len);
	if (!p) {
		ms_error_set(err, MS_ENOMEM, "out of memory");
		return MS_ENOMEM;
	}
	*out = p;
	if (len_out)
		*len_out = src->len;
	return 0;
}

int deid_doc_set_text(struct deid_reader *r, const char *s, size_t len, struct ms_error *err)
{
	int rc;

	clean_text(&r->tmp, s, len);
	rc = to_arena(r, &r->doc.text, &r->doc.len, err);
	if (!rc)
		r->doc.flags |= DEID_DOC_TEXT_CHECKED; /* to_arena() validated it */
	return rc;
}

static int set_value(struct deid_reader *r, const char **dst, const char *s, size_t len,
                     struct ms_error *err)
{
	clean_value(&r->tmp, s, len);
	if (!r->tmp.len && !r->tmp.status)
		return 0;
	return to_arena(r, dst, NULL, err);
}

int deid_doc_set_id(struct deid_reader *r, const char *s, size_t len, struct ms_error *err)
{
	return set_value(r, &r->doc.id, s, len, err);
}

int deid_doc_set_group(struct deid_reader *r, const char *s, size_t len, struct ms_error *err)
{
	return set_value(r, &r->doc.group, s, len, err);
}

static bool is_name_part(enum deid_field_kind kind)
{
	switch (kind) {
	case DEID_FIELD_PATIENT_FAMILY:
	case DEID_FIELD_PATIENT_GIVEN:
	case DEID_FIELD_REFERRER_FAMILY:
	case DEID_FIELD_REFERRER_GIVEN:
	case DEID_FIELD_PERFORMER_FAMILY:
	case DEID_FIELD_PERFORMER_GIVEN:
		return true;
	default:
		return false;
	}
}

/* One code point, optionally followed by a full stop (s is valid UTF-8). */
static bool is_initial(const char *s, size_t len)
{
	size_t off = 0;

	(void)ms_utf8_next(s, len, &off);
	return off == len || (off + 1 == len && s[off] == '.');
}

/* Grows an arena array: copies to a block twice the size (old one stays in the arena). */
static void *arena_grow(struct ms_arena *a, void *old, size_t n, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 8, bytes;
	void *p;

	if (!ms_size_mul(&bytes, ncap, elem))
		return NULL;
	p = ms_arena_alloc(a, bytes);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, old, n * elem);
	*cap = ncap;
	return p;
}

int deid_doc_add_field(struct deid_reader *r, enum deid_field_kind kind, const char *s, size_t len,
                       struct ms_error *err)
{
	struct deid_doc_builder *b = &r->b;
	const char *v = NULL;
	size_t vlen = 0, i;
	int rc;

	clean_value(&r->tmp, s, len);
	if (!r->tmp.len && !r->tmp.status)
		return 0;
	rc = to_arena(r, &v, &vlen, err);
	if (rc)
		return rc;
	if (is_name_part(kind) && is_initial(v, vlen))
		return 0;
	for (i = 0; i < b->n_fields; i++) {
		if (b->fields[i].kind == kind && b->fields[i].len == vlen &&
		    memcmp(b->fields[i].value, v, vlen) == 0)
			return 0;
	}
	if (b->n_fields >= DEID_MAX_FIELDS)
		return ms_error_set(err, MS_ETOOBIG, "more than %d structured fields",
		                    DEID_MAX_FIELDS);
	if (b->n_fields == b->cap_fields) {
		b->fields = arena_grow(&r->arena, b->fields, b->n_fields, &b->cap_fields,
		                       sizeof(*b->fields));
		if (!b->fields)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	b->fields[b->n_fields].kind = kind;
	b->fields[b->n_fields].value = v;
	b->fields[b->n_fields].len = vlen;
	b->n_fields++;
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

int deid_doc_add_label(struct deid_reader *r, const char *code, size_t code_len, const char *system,
                       size_t system_len, struct ms_error *err)
{
	struct deid_doc_builder *b = &r->b;
	const char *c = NULL, *sys = NULL;
	size_t i;
	int rc;

	rc = set_value(r, &c, code, code_len, err);
	if (rc || !c)
		return rc;
	if (system && system_len) {
		rc = set_value(r, &sys, system, system_len, err);
		if (rc)
			return rc;
	}
	for (i = 0; i < b->n_labels; i++) {
		if (strcmp(b->labels[i].code, c) == 0 && str_eq(b->labels[i].system, sys))
			return 0;
	}
	if (b->n_labels >= DEID_MAX_LABELS)
		return ms_error_set(err, MS_ETOOBIG, "more than %d labels", DEID_MAX_LABELS);
	if (b->n_labels == b->cap_labels) {
		b->labels = arena_grow(&r->arena, b->labels, b->n_labels, &b->cap_labels,
		                       sizeof(*b->labels));
		if (!b->labels)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	b->labels[b->n_labels].code = c;
	b->labels[b->n_labels].system = sys;
	b->n_labels++;
	return 0;
}

int deid_doc_finish(struct deid_reader *r, const char *why_empty, struct ms_error *err)
{
	char num[32];

	r->doc.fields = r->b.fields;
	r->doc.n_fields = r->b.n_fields;
	r->doc.labels = r->b.labels;
	r->doc.n_labels = r->b.n_labels;
	if (!r->doc.id) {
		snprintf(num, sizeof(num), "%zu", r->doc.record);
		r->doc.id = ms_arena_strdup(&r->arena, num);
		if (!r->doc.id)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	if (!r->doc.text || !r->doc.len) {
		if (!(r->flags & DEID_READ_KEEP_EMPTY))
			return deid_reject(err, MS_EINVAL, "%s",
			                   why_empty ? why_empty : "no report text");
		if (!r->doc.text)
			r->doc.text = "";
		r->doc.len = 0;
	}
	return DEID_READ_DOC;
}

/* ---- JSONL output ------------------------------------------------------ */

int deid_doc_write_jsonl(struct ms_buf *out, const struct deid_doc *doc)
{
	struct ms_json j;
	size_t i;
	unsigned k;

	ms_json_init(&j, out, false);
	ms_json_obj_begin(&j);
	ms_json_kstr(&j, "id", doc->id);
	ms_json_kstr(&j, "group", doc->group);
	ms_json_key(&j, "text");
	ms_json_strn(&j, doc->text ? doc->text : "", doc->text ? doc->len : 0);
	ms_json_key(&j, "labels");
	ms_json_arr_begin(&j);
	for (i = 0; i < doc->n_labels; i++) {
		ms_json_obj_begin(&j);
		ms_json_kstr(&j, "code", doc->labels[i].code);
		if (doc->labels[i].system)
			ms_json_kstr(&j, "system", doc->labels[i].system);
		ms_json_obj_end(&j);
	}
	ms_json_arr_end(&j);
	ms_json_key(&j, "fields");
	ms_json_obj_begin(&j);
	for (k = 0; k < DEID_FIELD_COUNT; k++) {
		bool open = false;

		for (i = 0; i < doc->n_fields; i++) {
			if (doc->fields[i].kind != (enum deid_field_kind)k)
				continue;
			if (!open) {
				ms_json_key(&j, field_names[k]);
				ms_json_arr_begin(&j);
				open = true;
			}
			ms_json_strn(&j, doc->fields[i].value, doc->fields[i].len);
		}
		if (open)
			ms_json_arr_end(&j);
	}
	ms_json_obj_end(&j);
	ms_json_kstr(&j, "encoding", ms_encoding_name(doc->encoding));
	ms_json_obj_end(&j);
	ms_buf_addch(out, '\n');
	return ms_buf_status(out);
}
