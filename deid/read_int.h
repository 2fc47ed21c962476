/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the input readers (deid/read*.c): the buffered input
 * that hides whether a source is a FILE or memory, the reader object, and
 * the helpers that build a document in the per-record arena. Not for the
 * detector or replacer, which see only struct deid_doc.
 */
#ifndef MS_DEID_READ_INT_H
#define MS_DEID_READ_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/utf8.h"
#include "deid/deid.h"

/* ---- buffered input ---------------------------------------------------- */

#define DEID_INPUT_CHUNK ((size_t)64 * 1024)

/*
 * A window [pos, len) onto the source. For memory sources the window is the
 * whole buffer; for files it is a chunk refilled by fread.
 */
struct deid_input {
	FILE *fp;
	const unsigned char *data;
	size_t len;
	size_t pos;
	unsigned char *chunk; /* owned, DEID_INPUT_CHUNK bytes, files only */
	bool eof;             /* nothing beyond the window */
	int status;           /* sticky MS_EIO */
};

/*
 * Makes at least want bytes (or all that remain, if fewer) available at
 * data + pos; want must not exceed DEID_INPUT_CHUNK. Returns the number of
 * bytes available (0 at the end) or MS_EIO.
 */
long deid_input_fill(struct deid_input *in, size_t want);

/* Returns the next byte, or -1 at the end or after a read error (in->status). */
int deid_input_getc(struct deid_input *in);

enum deid_line_flags {
	DEID_LINE_CR = 1u << 0 /* a lone CR ends a line too (HL7) */
};

/*
 * Reads one line into line (reset first), without its terminator (LF, CRLF,
 * and with DEID_LINE_CR a lone CR). Returns 1 when a line was read, 0 at the
 * end, MS_ETOOBIG when the line exceeded line's cap (the rest of the line is
 * consumed; line holds the prefix that fits), MS_ENOMEM or MS_EIO.
 */
int deid_input_line(struct deid_input *in, struct ms_buf *line, unsigned flags);

/*
 * Appends everything that remains to out. Returns 0, MS_ETOOBIG (out's cap;
 * the rest is consumed and dropped), MS_ENOMEM or MS_EIO.
 */
int deid_input_rest(struct deid_input *in, struct ms_buf *out);

/* ---- the reader ------------------------------------------------------- */

struct deid_reader;

struct deid_read_ops {
	/* Produces the next document into r->doc: DEID_READ_* or < 0 (fatal). */
	int (*next)(struct deid_reader *r, struct ms_error *err);
	/* Frees format state (per source: every feed starts afresh). */
	void (*free)(struct deid_reader *r);
};

extern const struct deid_read_ops deid_read_csv_ops;
extern const struct deid_read_ops deid_read_hl7_ops;
extern const struct deid_read_ops deid_read_fhir_ops;
extern const struct deid_read_ops deid_read_jsonl_ops;
extern const struct deid_read_ops deid_read_text_ops;

/* Dynamic array of fields or labels in the arena, doubled on growth. */
struct deid_doc_builder {
	struct deid_field *fields;
	size_t n_fields, cap_fields;
	struct deid_label *labels;
	size_t n_labels, cap_labels;
};

struct deid_reader {
	enum deid_format fmt;     /* as asked (may be AUTO) */
	enum deid_format cur_fmt; /* of the current source */
	const struct deid_read_ops *ops;
	void *state; /* format-specific, owned through ops->free */

	/* copied options */
	size_t max_record;
	enum deid_charset charset;
	unsigned flags;
	char csv_delim, csv_label_sep;
	char *csv_id, *csv_group, *csv_text, *csv_labels;
	struct deid_csv_field *csv_fields; /* column names owned */
	size_t n_csv_fields;

	struct deid_input in;
	bool fed;
	char *name; /* source name, NULL if unnamed */
	size_t record;

	struct ms_arena arena; /* per record */
	struct deid_doc doc;
	struct deid_doc_builder b;
	struct ms_buf tmp, tmp2; /* scratch for the doc helpers only */
};

/*
 * Maps a status from a helper to what next() returns: malformed-input codes
 * become DEID_READ_REJECT (err already says why), others stay fatal.
 */
static inline int deid_read_classify(int rc)
{
	if (rc == MS_EINVAL || rc == MS_EUNICODE || rc == MS_ETOOBIG)
		return DEID_READ_REJECT;
	return rc;
}

/* Sets err (first wins) and returns DEID_READ_REJECT. */
int deid_reject(struct ms_error *err, int code, const char *fmt, ...) MS_PRINTF(3, 4);

/*
 * Starts a new document for record number record (also r->record) that
 * begins at line (0 = unknown): resets the arena and the document.
 */
void deid_doc_begin(struct deid_reader *r, size_t line);

/*
 * Decodes len bytes of s into out (appending). With DEID_CHARSET_AUTO the
 * bytes are UTF-8 if valid, else windows-1252 (*guessed_out = true). *enc_out
 * gets the encoding used. Returns 0, MS_EUNICODE (strict UTF-8, err says
 * where), MS_ENOMEM or MS_ETOOBIG.
 */
int deid_decode(struct ms_buf *out, const char *s, size_t len, enum deid_charset cs,
                enum ms_encoding *enc_out, bool *guessed_out, struct ms_error *err);

/*
 * Document builders. Input is UTF-8 (not necessarily NFC); each cleans it
 * (see struct deid_doc), normalises to NFC and copies it into the arena.
 * Empty values are ignored; equal (kind, value) pairs are kept once; name
 * parts that are initials are dropped. Return 0, MS_ENOMEM, MS_EUNICODE or
 * MS_ETOOBIG.
 */
int deid_doc_set_text(struct deid_reader *r, const char *s, size_t len, struct ms_error *err);
int deid_doc_set_id(struct deid_reader *r, const char *s, size_t len, struct ms_error *err);
int deid_doc_set_group(struct deid_reader *r, const char *s, size_t len, struct ms_error *err);
int deid_doc_add_field(struct deid_reader *r, enum deid_field_kind kind, const char *s, size_t len,
                       struct ms_error *err);
/* system may be NULL (or empty) for none. */
int deid_doc_add_label(struct deid_reader *r, const char *code, size_t code_len, const char *system,
                       size_t system_len, struct ms_error *err);

/*
 * Completes the document: fills the default id and publishes fields and
 * labels. Returns DEID_READ_DOC, DEID_READ_REJECT (no text and
 * DEID_READ_KEEP_EMPTY not set; reason why_empty, or "no report text"), or
 * MS_ENOMEM.
 */
int deid_doc_finish(struct deid_reader *r, const char *why_empty, struct ms_error *err);

/*
 * Reports a jansson parse failure without quoting the input (jansson's own
 * text does): MS_ENOMEM stays fatal, anything else is a reject (MS_EINVAL or
 * MS_EUNICODE) naming the column; callers set err's line.
 */
int deid_json_error(const json_error_t *je, struct ms_error *err);

/* ASCII case-insensitive equality of s[0..len) and the NUL-terminated lit. */
bool deid_ascii_ieq(const char *s, size_t len, const char *lit);

#endif
