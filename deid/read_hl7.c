/* SPDX-License-Identifier: MIT */
/*
 * HL7 v2 reader: finds messages in single files, batches, MLLP streams and
 * interface-engine logs, then turns each message into a document (report
 * text from OBX/NTE, codes, identifiers and names). See deid/deid.h for the
 * rules; this comment explains the two stages.
 *
 * Framing works on physical lines (CR, LF or CRLF) cut further at frame
 * markers (0x0B/0x1C, literal <SB>/<EB>) and at segment ids that follow a
 * blank or field separator (segments whose terminators were lost). Each such
 * unit is a segment or the continuation of the previous one. The raw bytes of
 * a message are collected with '\r' between segments; a message is complete
 * at the next MSH, a frame end, a blank line outside frames, a batch segment
 * or the end of input. The state machine processes one unit per step, so at
 * most one message completes per step and no queue is needed.
 *
 * Parsing decodes the whole message once (the charset is a property of the
 * message and every delimiter is ASCII), then walks the segments with
 * delimiters from MSH-1/MSH-2.
 */
#include "deid/deid.h"

#include <string.h>

#include "common/alloc.h"
#include "deid/read_int.h"

enum hl7_msg_flags {
	MSG_MSH = 1u << 0,       /* starts with an MSH segment */
	MSG_SEGMENTS = 1u << 1,  /* holds at least one segment */
	MSG_JUNK = 1u << 2,      /* text in a frame before any segment */
	MSG_TOO_BIG = 1u << 3,   /* exceeded the record cap */
	MSG_FRAMED = 1u << 4,    /* came in a frame */
	MSG_TRUNCATED = 1u << 5, /* frame not closed */
};

struct hl7_delims {
	char fs, cs, rs, esc, ss, tc; /* 0 = not defined */
};

struct hl7_state {
	struct ms_buf line; /* current physical line */
	size_t lpos;        /* next unit starts here */
	size_t marker;      /* next frame marker at or after lpos (line.len: none) */
	bool have_line, line_too_big, eof;
	size_t line_no;

	struct ms_buf cur; /* message being collected */
	unsigned cur_flags;
	size_t cur_line;
	char cur_fs;
	bool collecting, in_frame;

	struct ms_buf done; /* completed message waiting to be parsed */
	unsigned done_flags;
	size_t done_line;
	bool ready;

	struct ms_buf dec, val, text; /* parse scratch */
};

struct span {
	const char *s;
	size_t len;
};

/* ---- framing ----------------------------------------------------------- */

static void hl7_free(struct deid_reader *r)
{
	struct hl7_state *st = r->state;

	if (!st)
		return;
	ms_buf_release(&st->line);
	ms_buf_release(&st->cur);
	ms_buf_release(&st->done);
	ms_buf_release(&st->dec);
	ms_buf_release(&st->val);
	ms_buf_release(&st->text);
	ms_free(st);
	r->state = NULL;
}

static bool is_upper(int c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_alnum(int c)
{
	return is_upper(c) || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool valid_delim(int c)
{
	return c > 0x20 && c < 0x7F && !is_alnum(c);
}

static bool is_seg_id(const char *s, size_t len)
{
	return len >= 3 && is_upper((unsigned char)s[0]) &&
	       (is_upper((unsigned char)s[1]) || (s[1] >= '0' && s[1] <= '9')) &&
	       (is_upper((unsigned char)s[2]) || (s[2] >= '0' && s[2] <= '9'));
}

/* Segments with their own delimiter definition: MSH and the batch headers. */
static bool is_header_seg(const char *s, size_t len)
{
	return len >= 4 &&
	       (memcmp(s, "MSH", 3) == 0 || memcmp(s, "FHS", 3) == 0 || memcmp(s, "BHS", 3) == 0) &&
	       valid_delim((unsigned char)s[3]);
}

static bool is_segment(const char *s, size_t len, char fs)
{
	return is_header_seg(s, len) || (is_seg_id(s, len) && len >= 4 && s[3] == fs);
}

/* Segment ids before which a run-together line is split. */
static bool is_split_id(const char *s)
{
	static const char ids[][4] = { "MSH", "PID", "PD1", "PV1", "PV2", "ORC", "OBR",
		                       "OBX", "NTE", "EVN", "NK1", "AL1", "DG1", "IN1",
		                       "GT1", "TQ1", "SPM", "TXA", "FT1", "MSA", "MRG" };
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if (memcmp(s, ids[i], 3) == 0)
			return true;
	}
	return false;
}

/* Frame markers: 0x0B, 0x1C, "<SB>", "<EB>". Returns its length, 0 if none at i. */
static size_t marker_at(const char *s, size_t len, size_t i, bool *start)
{
	if (s[i] == 0x0B || s[i] == 0x1C) {
		*start = s[i] == 0x0B;
		return 1;
	}
	if (s[i] == '<' && len - i >= 4 && s[i + 3] == '>' && s[i + 2] == 'B' &&
	    (s[i + 1] == 'S' || s[i + 1] == 'E')) {
		*start = s[i + 1] == 'S';
		return 4;
	}
	return 0;
}

static size_t find_marker(const char *s, size_t len, size_t from)
{
	size_t i;
	bool start;

	for (i = from; i < len; i++) {
		if ((s[i] == 0x0B || s[i] == 0x1C || s[i] == '<') && marker_at(s, len, i, &start))
			return i;
	}
	return len;
}

/* Start of the next run-together segment in s[from, end), or end. */
static size_t find_split(const char *s, size_t from, size_t end, char fs)
{
	size_t i;

	for (i = from; i + 4 < end; i++) {
		if ((s[i] == ' ' || s[i] == '\t' || s[i] == fs) && s[i + 4] == fs &&
		    is_upper((unsigned char)s[i + 1]) && is_split_id(s + i + 1))
			return i + 1;
	}
	return end;
}

/* Drops trailing blanks and one literal "<R>" or "<CR>" (any case). */
static void strip_unit(const char *s, size_t *len)
{
	size_t n = *len;

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= 3 && deid_ascii_ieq(s + n - 3, 3, "<R>"))
		n -= 3;
	else if (n >= 4 && deid_ascii_ieq(s + n - 4, 4, "<CR>"))
		n -= 4;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*len = n;
}

static bool is_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	}
	return true;
}

/* Hands the collected message over for parsing (at most one per step). */
static void complete(struct hl7_state *st)
{
	struct ms_buf tmp;

	if (!st->collecting)
		return;
	tmp = st->done;
	st->done = st->cur;
	st->cur = tmp;
	ms_buf_reset(&st->cur);
	st->done_flags = st->cur_flags;
	st->done_line = st->cur_line;
	st->ready = true;
	st->collecting = false;
	st->cur_flags = 0;
}

static void begin(struct hl7_state *st, unsigned flags)
{
	ms_buf_reset(&st->cur);
	st->collecting = true;
	st->cur_flags = flags | (st->in_frame ? MSG_FRAMED : 0);
	st->cur_line = st->line_no;
	st->cur_fs = '|';
}

static int append(struct hl7_state *st, const char *sep, const char *s, size_t len)
{
	if (st->cur_flags & MSG_TOO_BIG)
		return 0;
	if (sep)
		ms_buf_adds(&st->cur, sep);
	ms_buf_add(&st->cur, s, len);
	if (st->cur.status == MS_ETOOBIG)
		st->cur_flags |= MSG_TOO_BIG;
	return st->cur.status == MS_ENOMEM ? MS_ENOMEM : 0;
}

/* MSH starts a message (and ends the one being collected). */
static int take_msh(struct hl7_state *st, const char *s, size_t len)
{
	if (st->collecting && (st->cur_flags & (MSG_SEGMENTS | MSG_JUNK)))
		complete(st);
	if (!st->collecting || st->cur.len)
		begin(st, 0);
	st->cur_flags |= MSG_MSH | MSG_SEGMENTS;
	st->cur_line = st->line_no;
	st->cur_fs = s[3];
	return append(st, NULL, s, len);
}

static bool is_batch_seg(const char *s, size_t len, char fs)
{
	if (is_header_seg(s, len))
		return memcmp(s, "MSH", 3) != 0; /* FHS, BHS */
	return len >= 3 && (memcmp(s, "BTS", 3) == 0 || memcmp(s, "FTS", 3) == 0) &&
	       (len == 3 || s[3] == fs);
}

/* One unit: a segment, a continuation or noise. */
static int take_unit(struct hl7_state *st, const char *s, size_t len, bool line_start)
{
	char fs = (char)(st->collecting ? st->cur_fs : '|');
	int rc = 0;

	strip_unit(s, &len);
	if (is_blank(s, len)) {
		/* nothing to take */
	} else if (is_header_seg(s, len) && memcmp(s, "MSH", 3) == 0) {
		rc = take_msh(st, s, len);
	} else if (is_batch_seg(s, len, fs)) {
		/* batch envelope: ends an unframed message, carries no report */
		if (!st->in_frame)
			complete(st);
	} else if (is_segment(s, len, fs)) {
		if (!st->collecting)
			begin(st, 0);
		rc = append(st, (st->cur_flags & MSG_SEGMENTS) ? "\r" : NULL, s, len);
		st->cur_flags |= MSG_SEGMENTS;
	} else if (st->collecting && (st->cur_flags & MSG_SEGMENTS)) {
		rc = append(st, line_start ? "\n" : " ", s, len);
	} else if (st->collecting) {
		st->cur_flags |= MSG_JUNK;
	}
	if (st->line_too_big && st->collecting)
		st->cur_flags |= MSG_TOO_BIG;
	return rc;
}

/* Processes the next unit or marker of the current line. */
static int step(struct hl7_state *st)
{
	const char *s = st->line.buf;
	size_t len = st->line.len, end, n;
	bool start = false, line_start = st->lpos == 0;

	if (st->marker < st->lpos)
		st->marker = find_marker(s, len, st->lpos);
	if (st->lpos >= len) {
		st->have_line = false;
		return 0;
	}
	if (st->marker == st->lpos) {
		n = marker_at(s, len, st->lpos, &start);
		st->lpos += n;
		st->marker = find_marker(s, len, st->lpos);
		if (start) {
			if (st->collecting && st->in_frame)
				st->cur_flags |= MSG_TRUNCATED;
			complete(st);
			st->in_frame = true;
			begin(st, 0);
		} else {
			complete(st);
			st->in_frame = false;
		}
		return 0;
	}
	end = find_split(s, st->lpos, st->marker, (char)(st->collecting ? st->cur_fs : '|'));
	n = st->lpos;
	st->lpos = end;
	return take_unit(st, s + n, end - n, line_start);
}

/* Reads the next line; handles blank lines. Returns 1, 0 (end) or < 0. */
static int next_line(struct deid_reader *r, struct hl7_state *st)
{
	size_t len;
	int rc;

	rc = deid_input_line(&r->in, &st->line, DEID_LINE_CR);
	if (rc == 0)
		return 0;
	if (rc < 0 && rc != MS_ETOOBIG)
		return rc;
	st->line_no++;
	st->line_too_big = rc == MS_ETOOBIG;
	st->lpos = 0;
	st->marker = find_marker(st->line.buf, st->line.len, 0);
	st->have_line = true;
	len = st->line.len;
	strip_unit(st->line.buf, &len);
	if (is_blank(st->line.buf, len) && !st->line_too_big) {
		st->have_line = false;
		if (!st->in_frame)
			complete(st);
	}
	return 1;
}

/* ---- field access ------------------------------------------------------ */

/* Piece idx (0-based) of in split at delim; an empty span when absent. */
static struct span piece(struct span in, char delim, size_t idx)
{
	const char *p = in.s, *end = in.s + in.len, *hit;
	struct span none = { in.s, 0 };

	if (!delim)
		return idx == 0 ? in : none;
	for (;;) {
		hit = memchr(p, delim, (size_t)(end - p));
		if (idx == 0) {
			struct span out = { p, (size_t)((hit ? hit : end) - p) };

			return out;
		}
		if (!hit)
			return none;
		p = hit + 1;
		idx--;
	}
}

/* Iterates pieces of a span: *rest is consumed; returns false when done. */
struct iter {
	struct span rest;
	char delim;
	bool done;
};

static struct iter iter_make(struct span s, char delim)
{
	struct iter it = { s, delim, false };

	return it;
}

static bool iter_next(struct iter *it, struct span *out)
{
	const char *hit;

	if (it->done)
		return false;
	hit = it->delim ? memchr(it->rest.s, it->delim, it->rest.len) : NULL;
	out->s = it->rest.s;
	if (!hit) {
		out->len = it->rest.len;
		it->done = true;
		return true;
	}
	out->len = (size_t)(hit - it->rest.s);
	it->rest.len -= out->len + 1;
	it->rest.s = hit + 1;
	return true;
}

struct hl7_msg {
	struct deid_reader *r;
	struct hl7_state *st;
	struct hl7_delims d;
	enum ms_encoding enc;
	unsigned n_parts;  /* text parts so far */
	bool after_result; /* last OBR/OBX seen after the last PID/PV1 */
	bool have_group;
	struct span obr3; /* first OBR-3.1, fallback id */
};

/* Field n of a segment (MSH counts MSH-1 as the separator itself). */
static struct span seg_field(struct span seg, char fs, bool msh, size_t n)
{
	return piece(seg, fs, msh ? n - 1 : n);
}

/* ---- unescaping -------------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool all_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (hexval((unsigned char)s[i]) < 0)
			return false;
	}
	return true;
}

/* Parses an optional signed number after a formatting command (default dflt). */
static long fmt_arg(const char *s, size_t len, long dflt)
{
	size_t i = 0;
	long v = 0, sign = 1;
	bool any = false;

	while (i < len && s[i] == ' ')
		i++;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		sign = s[i++] == '-' ? -1 : 1;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v < 1000)
			v = v * 10 + (s[i] - '0');
		any = true;
	}
	return any ? sign * v : dflt;
}

static void add_repeat(struct ms_buf *out, int c, long n, long max)
{
	long i;

	if (n > max)
		n = max;
	for (i = 0; i < n; i++)
		ms_buf_addch(out, c);
}

static void flush_bytes(struct ms_buf *out, const unsigned char *b, size_t n, enum ms_encoding enc)
{
	size_t k;

	if (enc != MS_ENC_UTF8) {
		if (ms_decode_append(out, (const char *)b, n, enc))
			return; /* sticky in out */
	} else if (ms_utf8_valid((const char *)b, n, NULL)) {
		ms_buf_add(out, b, n);
	} else {
		for (k = 0; k < n; k++) {
			if (b[k] < 0x80)
				ms_buf_addch(out, b[k]);
			else
				ms_buf_adds(out, "\xEF\xBF\xBD");
		}
	}
}

/*
 * \Xhh..\: bytes in the message charset. CR and LF become line breaks,
 * other controls go. Decoded in chunks; a UTF-8 sequence cut at a chunk
 * boundary turns into U+FFFD, which only very long hex runs can hit.
 */
static void hex_bytes(struct ms_buf *out, const char *s, size_t len, enum ms_encoding enc)
{
	unsigned char b[256];
	size_t i, n = 0;

	for (i = 0; i + 1 < len; i += 2) {
		int c = hexval((unsigned char)s[i]) * 16 + hexval((unsigned char)s[i + 1]);

		if (c == '\r' || c == '\n')
			c = '\n';
		else if ((c < 0x20 && c != '\t') || c == 0x7F)
			continue;
		b[n++] = (unsigned char)c;
		if (n == sizeof(b)) {
			flush_bytes(out, b, n, enc);
			n = 0;
		}
	}
	if (n)
		flush_bytes(out, b, n, enc);
}

/* One escape sequence (between the escape characters); false if unknown. */
static bool escape_seq(struct ms_buf *out, const char *q, size_t n, const struct hl7_msg *m)
{
	const struct hl7_delims *d = &m->d;

	if (n == 1) {
		char c = 0;

		switch (q[0]) {
		case 'F':
			c = d->fs;
			break;
		case 'S':
			c = d->cs;
			break;
		case 'T':
			c = d->ss;
			break;
		case 'R':
			c = d->rs;
			break;
		case 'E':
			c = d->esc;
			break;
		case 'P':
			c = (char)(d->tc ? d->tc : '#');
			break;
		case 'H':
		case 'N':
			return true;
		default:
			return false;
		}
		if (c)
			ms_buf_addch(out, c);
		return c != 0;
	}
	if (n == 0)
		return false;
	switch (q[0]) {
	case 'X':
		if ((n - 1) % 2 || !all_hex(q + 1, n - 1))
			return false;
		hex_bytes(out, q + 1, n - 1, m->enc);
		return true;
	case 'C':
	case 'M':
		return all_hex(q + 1, n - 1); /* charset switches: dropped */
	case 'Z':
		return true; /* locally defined: dropped */
	case '.':
		break;
	default:
		return false;
	}
	if (n == 3 && (memcmp(q, ".br", 3) == 0 || memcmp(q, ".ce", 3) == 0)) {
		ms_buf_addch(out, '\n'); /* break, or end the line before a centred one */
	} else if (n >= 3 && memcmp(q, ".sp", 3) == 0) {
		add_repeat(out, '\n', 1 + fmt_arg(q + 3, n - 3, 1), 4);
	} else if (n >= 3 && (memcmp(q, ".fi", 3) == 0 || memcmp(q, ".nf", 3) == 0)) {
		return n == 3;
	} else if (n >= 3 && (memcmp(q, ".in", 3) == 0 || memcmp(q, ".ti", 3) == 0)) {
		add_repeat(out, ' ', fmt_arg(q + 3, n - 3, 0), 8);
	} else if (n >= 3 && memcmp(q, ".sk", 3) == 0) {
		add_repeat(out, ' ', fmt_arg(q + 3, n - 3, 1), 8);
	} else {
		return false;
	}
	return true;
}

/* Appends s with escape sequences resolved; unknown ones stay as they are. */
static void unescape(struct ms_buf *out, struct span v, const struct hl7_msg *m)
{
	const char *s = v.s, *end = v.s + v.len, *e, *close;
	char esc = m->d.esc;

	while (s < end) {
		e = esc ? memchr(s, esc, (size_t)(end - s)) : NULL;
		if (!e) {
			ms_buf_add(out, s, (size_t)(end - s));
			return;
		}
		ms_buf_add(out, s, (size_t)(e - s));
		close = memchr(e + 1, esc, (size_t)(end - e - 1));
		if (!close) {
			ms_buf_add(out, e, (size_t)(end - e));
			return;
		}
		if (!escape_seq(out, e + 1, (size_t)(close - e - 1), m))
			ms_buf_add(out, e, (size_t)(close - e + 1));
		s = close + 1;
	}
}

/* ---- building the document -------------------------------------------- */

static int add_field(struct hl7_msg *m, enum deid_field_kind kind, struct span v,
                     struct ms_error *err)
{
	struct ms_buf *val = &m->st->val;

	if (!v.len)
		return 0;
	ms_buf_reset(val);
	unescape(val, v, m);
	if (val->status)
		return ms_error_set(err, val->status, "%s", ms_status_str(val->status));
	return deid_doc_add_field(m->r, kind, val->buf, val->len, err);
}

/* Component c (1-based) of a repetition, sub-component sc (1-based). */
static struct span comp(const struct hl7_msg *m, struct span rep, size_t c, size_t sc)
{
	return piece(piece(rep, m->d.cs, c - 1), m->d.ss, sc - 1);
}

/* Calls fn for each repetition of field n of seg. */
typedef int (*rep_fn)(struct hl7_msg *m, struct span rep, int arg, struct ms_error *err);

static int each_rep(struct hl7_msg *m, struct span seg, size_t n, rep_fn fn, int arg,
                    struct ms_error *err)
{
	struct iter it = iter_make(seg_field(seg, m->d.fs, false, n), m->d.rs);
	struct span rep;
	int rc;

	while (iter_next(&it, &rep)) {
		if (!rep.len)
			continue;
		rc = fn(m, rep, arg, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* CX (PID-2/3/4/19): component 1 is the id. */
static int rep_patient_id(struct hl7_msg *m, struct span rep, int first, struct ms_error *err)
{
	struct span id = comp(m, rep, 1, 1);
	struct ms_buf *val = &m->st->val;
	int rc;

	rc = add_field(m, DEID_FIELD_PATIENT_ID, id, err);
	if (rc || !first || m->have_group || !id.len)
		return rc;
	ms_buf_reset(val);
	unescape(val, id, m);
	rc = deid_doc_set_group(m->r, val->buf, val->len, err);
	m->have_group = m->r->doc.group != NULL;
	return rc;
}

/* XPN (PID-5/9): family name parts (FN.1, .3, .5), given and middle names. */
static int rep_patient_name(struct hl7_msg *m, struct span rep, int unused, struct ms_error *err)
{
	static const size_t family_subs[] = { 1, 3, 5 };
	size_t i;
	int rc = 0;

	(void)unused;
	for (i = 0; !rc && i < 3; i++)
		rc = add_field(m, DEID_FIELD_PATIENT_FAMILY, comp(m, rep, 1, family_subs[i]), err);
	if (!rc)
		rc = add_field(m, DEID_FIELD_PATIENT_GIVEN, comp(m, rep, 2, 1), err);
	if (!rc)
		rc = add_field(m, DEID_FIELD_PATIENT_GIVEN, comp(m, rep, 3, 1), err);
	return rc;
}

/* XAD (PID-11): street, city, postal code. */
static int rep_address(struct hl7_msg *m, struct span rep, int unused, struct ms_error *err)
{
	int rc;

	(void)unused;
	rc = add_field(m, DEID_FIELD_PATIENT_STREET, comp(m, rep, 1, 1), err);
	if (!rc)
		rc = add_field(m, DEID_FIELD_PATIENT_CITY, comp(m, rep, 3, 1), err);
	if (!rc)
		rc = add_field(m, DEID_FIELD_PATIENT_ZIP, comp(m, rep, 5, 1), err);
	return rc;
}

/* XTN (PID-13/14): number as written, else area code + local number; e-mail. */
static int rep_phone(struct hl7_msg *m, struct span rep, int unused, struct ms_error *err)
{
	struct span num = comp(m, rep, 1, 1), area, local;
	struct ms_buf *val = &m->st->val;
	int rc;

	(void)unused;
	rc = add_field(m, DEID_FIELD_PATIENT_EMAIL, comp(m, rep, 4, 1), err);
	if (rc)
		return rc;
	if (num.len)
		return add_field(m, DEID_FIELD_PATIENT_PHONE, num, err);
	area = comp(m, rep, 6, 1);
	local = comp(m, rep, 7, 1);
	if (!local.len)
		return 0;
	ms_buf_reset(val);
	unescape(val, area, m);
	if (area.len)
		ms_buf_addch(val, ' ');
	unescape(val, local, m);
	if (val->status)
		return ms_error_set(err, val->status, "%s", ms_status_str(val->status));
	return deid_doc_add_field(m->r, DEID_FIELD_PATIENT_PHONE, val->buf, val->len, err);
}

enum staff_role { ROLE_REFERRER, ROLE_PERFORMER };

static const enum deid_field_kind role_kinds[2][3] = {
	{ DEID_FIELD_REFERRER_ID, DEID_FIELD_REFERRER_FAMILY, DEID_FIELD_REFERRER_GIVEN },
	{ DEID_FIELD_PERFORMER_ID, DEID_FIELD_PERFORMER_FAMILY, DEID_FIELD_PERFORMER_GIVEN },
};

/* id, family, given, middle taken from pieces of one span split at delim. */
static int staff_parts(struct hl7_msg *m, struct span s, char delim, int role, struct ms_error *err)
{
	const enum deid_field_kind *k = role_kinds[role];
	char sub = (char)(delim == m->d.cs ? m->d.ss : '\0'); /* family names have parts */
	int rc;

	rc = add_field(m, k[0], piece(s, delim, 0), err);
	if (!rc)
		rc = add_field(m, k[1], piece(piece(s, delim, 1), sub, 0), err);
	if (!rc)
		rc = add_field(m, k[2], piece(piece(s, delim, 2), sub, 0), err);
	if (!rc)
		rc = add_field(m, k[2], piece(piece(s, delim, 3), sub, 0), err);
	return rc;
}

/* XCN (PV1-7/8/9/17, ORC-12, OBR-16/28, OBX-16). */
static int rep_xcn(struct hl7_msg *m, struct span rep, int role, struct ms_error *err)
{
	return staff_parts(m, rep, m->d.cs, role, err);
}

/* NDL (OBR-32..35): component 1 is a CNN whose parts are sub-components. */
static int rep_ndl(struct hl7_msg *m, struct span rep, int role, struct ms_error *err)
{
	return staff_parts(m, piece(rep, m->d.cs, 0), m->d.ss, role, err);
}

/* CE/CWE/CNE: code = component 1, system = component 3. */
static int rep_label(struct hl7_msg *m, struct span rep, int unused, struct ms_error *err)
{
	struct ms_buf *val = &m->st->val;
	struct span code = comp(m, rep, 1, 1);
	size_t code_len;

	(void)unused;
	if (!code.len)
		return 0;
	ms_buf_reset(val);
	unescape(val, code, m);
	code_len = val->len;
	ms_buf_addch(val, '\0');
	unescape(val, comp(m, rep, 3, 1), m);
	if (val->status)
		return ms_error_set(err, val->status, "%s", ms_status_str(val->status));
	return deid_doc_add_label(m->r, val->buf, code_len, val->buf + code_len + 1,
	                          val->len - code_len - 1, err);
}

static int rep_first_comp(struct hl7_msg *m, struct span rep, int kind, struct ms_error *err)
{
	return add_field(m, (enum deid_field_kind)kind, comp(m, rep, 1, 1), err);
}

/* Appends one text part (a value or repetition) to the report text. */
static void text_part(struct hl7_msg *m, struct span v)
{
	struct ms_buf *text = &m->st->text;

	if (m->n_parts++)
		ms_buf_addch(text, '\n');
	unescape(text, v, m);
}

static void text_field(struct hl7_msg *m, struct span f)
{
	struct iter it = iter_make(f, m->d.rs);
	struct span rep;

	while (iter_next(&it, &rep))
		text_part(m, rep);
}

static int seg_pid(struct hl7_msg *m, struct span seg, struct ms_error *err)
{
	int rc;

	rc = each_rep(m, seg, 3, rep_patient_id, 1, err);
	if (!rc)
		rc = each_rep(m, seg, 2, rep_patient_id, 0, err);
	if (!rc)
		rc = each_rep(m, seg, 4, rep_patient_id, 0, err);
	if (!rc)
		rc = each_rep(m, seg, 19, rep_patient_id, 0, err);
	if (!rc)
		rc = each_rep(m, seg, 5, rep_patient_name, 0, err);
	if (!rc)
		rc = each_rep(m, seg, 9, rep_patient_name, 0, err);
	if (!rc)
		rc = add_field(m, DEID_FIELD_PATIENT_BIRTHDATE,
		               comp(m, seg_field(seg, m->d.fs, false, 7), 1, 1), err);
	if (!rc)
		rc = each_rep(m, seg, 11, rep_address, 0, err);
	if (!rc)
		rc = each_rep(m, seg, 13, rep_phone, 0, err);
	if (!rc)
		rc = each_rep(m, seg, 14, rep_phone, 0, err);
	if (!rc)
		rc = each_rep(m, seg, 18, rep_first_comp, DEID_FIELD_CASE_ID, err);
	return rc;
}

static int seg_pv1(struct hl7_msg *m, struct span seg, struct ms_error *err)
{
	static const size_t doctors[] = { 7, 8, 9, 17 };
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < sizeof(doctors) / sizeof(doctors[0]); i++)
		rc = each_rep(m, seg, doctors[i], rep_xcn, ROLE_REFERRER, err);
	if (!rc)
		rc = each_rep(m, seg, 19, rep_first_comp, DEID_FIELD_CASE_ID, err);
	return rc;
}

/* ORC-2/OBR-2 placer and ORC-3/OBR-3 filler order number (the accession). */
static int order_numbers(struct hl7_msg *m, struct span seg, struct ms_error *err)
{
	int rc;

	rc = each_rep(m, seg, 2, rep_first_comp, DEID_FIELD_ORDER_PLACER, err);
	if (!rc)
		rc = each_rep(m, seg, 3, rep_first_comp, DEID_FIELD_ACCESSION, err);
	return rc;
}

static int seg_orc(struct hl7_msg *m, struct span seg, struct ms_error *err)
{
	int rc;

	rc = order_numbers(m, seg, err);
	if (!rc)
		rc = each_rep(m, seg, 12, rep_xcn, ROLE_REFERRER, err);
	return rc;
}

static int seg_obr(struct hl7_msg *m, struct span seg, struct ms_error *err)
{
	size_t i;
	int rc;

	if (!m->obr3.len)
		m->obr3 = comp(m, seg_field(seg, m->d.fs, false, 3), 1, 1);
	rc = order_numbers(m, seg, err);
	if (!rc)
		rc = rep_label(m, piece(seg_field(seg, m->d.fs, false, 4), m->d.rs, 0), 0, err);
	if (!rc)
		rc = each_rep(m, seg, 16, rep_xcn, ROLE_REFERRER, err);
	if (!rc)
		rc = each_rep(m, seg, 28, rep_xcn, ROLE_REFERRER, err);
	for (i = 32; !rc && i <= 35; i++)
		rc = each_rep(m, seg, i, rep_ndl, ROLE_PERFORMER, err);
	return rc;
}

/* Digits and dots with at least four components: "1.2.840.113619...". */
static bool is_uid(struct span v)
{
	size_t i, dots = 0;

	if (v.len < 7 || v.s[0] == '.' || v.s[v.len - 1] == '.')
		return false;
	for (i = 0; i < v.len; i++) {
		if (v.s[i] == '.') {
			if (v.s[i - 1] == '.')
				return false;
			dots++;
		} else if (v.s[i] < '0' || v.s[i] > '9') {
			return false;
		}
	}
	return dots >= 3;
}

static int seg_obx(struct hl7_msg *m, struct span seg, struct ms_error *err)
{
	struct span type = comp(m, seg_field(seg, m->d.fs, false, 2), 1, 1);
	struct span value = seg_field(seg, m->d.fs, false, 5);
	int rc;

	while (type.len && type.s[type.len - 1] == ' ')
		type.len--;
	if ((deid_ascii_ieq(type.s, type.len, "ST") || !type.len) && is_uid(value)) {
		/* a DICOM UID (study, series, instance) is a reference, not report text */
	} else if (deid_ascii_ieq(type.s, type.len, "TX") ||
	           deid_ascii_ieq(type.s, type.len, "FT") ||
	           deid_ascii_ieq(type.s, type.len, "ST") || (!type.len && value.len)) {
		text_field(m, value);
	} else if (deid_ascii_ieq(type.s, type.len, "CE") ||
	           deid_ascii_ieq(type.s, type.len, "CWE") ||
	           deid_ascii_ieq(type.s, type.len, "CNE")) {
		rc = each_rep(m, seg, 5, rep_label, 0, err);
		if (rc)
			return rc;
	} else if (deid_ascii_ieq(type.s, type.len, "ED")) {
		m->r->doc.n_skipped++;
		m->r->doc.flags |= DEID_DOC_SKIPPED_PARTS;
	}
	rc = each_rep(m, seg, 16, rep_xcn, ROLE_PERFORMER, err);
	if (!rc)
		rc = each_rep(m, seg, 23, rep_first_comp, DEID_FIELD_FACILITY, err);
	return rc;
}

static int segment(struct hl7_msg *m, struct span seg, struct ms_error *err)
{
	int rc = 0;

	if (seg.len < 3)
		return 0;
	if (memcmp(seg.s, "PID", 3) == 0) {
		m->after_result = false;
		rc = seg_pid(m, seg, err);
	} else if (memcmp(seg.s, "PV1", 3) == 0) {
		m->after_result = false;
		rc = seg_pv1(m, seg, err);
	} else if (memcmp(seg.s, "ORC", 3) == 0) {
		rc = seg_orc(m, seg, err);
	} else if (memcmp(seg.s, "OBR", 3) == 0) {
		m->after_result = true;
		rc = seg_obr(m, seg, err);
	} else if (memcmp(seg.s, "OBX", 3) == 0) {
		m->after_result = true;
		rc = seg_obx(m, seg, err);
	} else if (memcmp(seg.s, "NTE", 3) == 0) {
		if (m->after_result)
			text_field(m, seg_field(seg, m->d.fs, false, 3));
	} else if (memcmp(seg.s, "DG1", 3) == 0) {
		rc = each_rep(m, seg, 3, rep_label, 0, err);
	}
	return rc;
}

/* ---- message level ----------------------------------------------------- */

/* Reads MSH-1/MSH-2; false if they are unusable. */
static bool read_delims(struct hl7_delims *d, const char *s, size_t len)
{
	char *slots[5] = { &d->cs, &d->rs, &d->esc, &d->ss, &d->tc };
	size_t i, k;

	memset(d, 0, sizeof(*d));
	d->fs = s[3];
	for (i = 4, k = 0; i < len && s[i] != d->fs && s[i] != '\r'; i++, k++) {
		size_t j;

		if (k == 5 || !valid_delim((unsigned char)s[i]))
			return false;
		for (j = 0; j < k; j++) {
			if (*slots[j] == s[i])
				return false;
		}
		if (s[i] == d->fs)
			return false;
		*slots[k] = s[i];
	}
	return k > 0;
}

static bool has_c1(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80 && (unsigned char)s[i] <= 0x9F)
			return true;
	}
	return false;
}

/* Maps MSH-18 to a charset; returns false if it names one we cannot read. */
static bool msh_charset(struct span cs, const struct span msg, enum deid_charset dflt,
                        enum deid_charset *out)
{
	static const char *const latin1[] = { "8859/1", "ISO-8859-1", "ISO8859-1", "ISO_8859-1",
		                              "LATIN1", "ISO_IR 100", "ISO IR100" };
	static const char *const utf8[] = { "UNICODE UTF-8", "UTF-8", "UTF8", "UNICODE" };
	size_t i;

	while (cs.len && cs.s[0] == ' ') {
		cs.s++;
		cs.len--;
	}
	while (cs.len && cs.s[cs.len - 1] == ' ')
		cs.len--;
	if (!cs.len || deid_ascii_ieq(cs.s, cs.len, "ASCII")) {
		*out = dflt;
		return true;
	}
	for (i = 0; i < sizeof(latin1) / sizeof(latin1[0]); i++) {
		if (deid_ascii_ieq(cs.s, cs.len, latin1[i])) {
			/* bytes 0x80-0x9F are C1 controls in Latin-1: such data is windows-1252 */
			*out = has_c1(msg.s, msg.len) ? DEID_CHARSET_CP1252 : DEID_CHARSET_LATIN1;
			return true;
		}
	}
	for (i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++) {
		if (deid_ascii_ieq(cs.s, cs.len, utf8[i])) {
			*out = DEID_CHARSET_UTF8;
			return true;
		}
	}
	if (deid_ascii_ieq(cs.s, cs.len, "WINDOWS-1252") ||
	    deid_ascii_ieq(cs.s, cs.len, "CP1252")) {
		*out = DEID_CHARSET_CP1252;
		return true;
	}
	return false;
}

static size_t count_pieces(struct span s, char delim)
{
	size_t n = 1;
	const char *p = s.s, *end = s.s + s.len, *hit;

	while ((hit = memchr(p, delim, (size_t)(end - p))) != NULL) {
		n++;
		p = hit + 1;
	}
	return n;
}

static int parse_message(struct deid_reader *r, struct hl7_state *st, struct ms_error *err)
{
	struct hl7_msg m;
	struct span raw = { st->done.buf, st->done.len }, msh, seg;
	struct iter it;
	enum deid_charset cs = r->charset;
	bool guessed = false;
	unsigned flags = st->done_flags;
	int rc;

	deid_doc_begin(r, st->done_line);
	ms_error_set_line(err, st->done_line);
	if (flags & MSG_TOO_BIG)
		return deid_reject(err, MS_ETOOBIG, "record exceeds %zu bytes", r->max_record);
	if (flags & MSG_TRUNCATED)
		return deid_reject(err, MS_EINVAL, "truncated message: end of frame missing");
	if (!(flags & MSG_SEGMENTS))
		return deid_reject(err, MS_EINVAL, "%s",
		                   (flags & MSG_JUNK) ? "no HL7 segments in message"
		                                      : "empty message");
	memset(&m, 0, sizeof(m));
	m.r = r;
	m.st = st;
	m.d = (struct hl7_delims){ '|', '^', '~', '\\', '&', 0 };
	if (flags & MSG_MSH) {
		if (!read_delims(&m.d, raw.s, raw.len))
			return deid_reject(err, MS_EINVAL, "invalid encoding characters in MSH-2");
		msh = piece(raw, '\r', 0);
		if (count_pieces(msh, m.d.fs) < 12)
			return deid_reject(err, MS_EINVAL, "truncated MSH segment (%zu fields)",
			                   count_pieces(msh, m.d.fs));
		seg = piece(piece(seg_field(msh, m.d.fs, true, 18), m.d.rs, 0), m.d.cs, 0);
		if (!msh_charset(seg, raw, r->charset, &cs))
			return deid_reject(err, MS_EUNICODE, "unsupported character set in MSH-18");
	} else {
		r->doc.flags |= DEID_DOC_HEADERLESS;
	}
	ms_buf_reset(&st->dec);
	rc = deid_decode(&st->dec, raw.s, raw.len, cs, &m.enc, &guessed, err);
	if (rc)
		return deid_read_classify(rc);
	r->doc.encoding = m.enc;
	if (guessed)
		r->doc.flags |= DEID_DOC_CHARSET_GUESSED;
	ms_buf_reset(&st->text);
	it = iter_make((struct span){ st->dec.buf, st->dec.len }, '\r');
	while (iter_next(&it, &seg)) {
		if (seg.len >= 3 && memcmp(seg.s, "MSH", 3) == 0) {
			struct span id = seg_field(seg, m.d.fs, true, 10);

			ms_buf_reset(&st->val);
			unescape(&st->val, id, &m);
			rc = deid_doc_set_id(r, st->val.buf, st->val.len, err);
		} else {
			rc = segment(&m, seg, err);
		}
		if (rc)
			return deid_read_classify(rc);
	}
	if (!r->doc.id && m.obr3.len) {
		ms_buf_reset(&st->val);
		unescape(&st->val, m.obr3, &m);
		rc = deid_doc_set_id(r, st->val.buf, st->val.len, err);
		if (rc)
			return deid_read_classify(rc);
	}
	if (st->text.status)
		return deid_read_classify(
		        ms_error_set(err, st->text.status, "%s", ms_status_str(st->text.status)));
	rc = deid_doc_set_text(r, st->text.buf, st->text.len, err);
	if (rc)
		return deid_read_classify(rc);
	return deid_doc_finish(r,
	                       r->doc.n_skipped
	                               ? "report text only in encapsulated data (OBX type ED)"
	                               : "no report text",
	                       err);
}

static int hl7_next(struct deid_reader *r, struct ms_error *err)
{
	struct hl7_state *st = r->state;
	size_t cap;
	int rc;

	if (!st) {
		st = ms_calloc(1, sizeof(*st));
		if (!st)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		cap = r->max_record > ((size_t)-1) / 4 ? 0 : r->max_record * 4;
		ms_buf_init(&st->line, r->max_record);
		ms_buf_init(&st->cur, r->max_record);
		ms_buf_init(&st->done, r->max_record);
		ms_buf_init(&st->dec, cap);
		ms_buf_init(&st->val, cap);
		ms_buf_init(&st->text, cap);
		r->state = st;
	}
	for (;;) {
		if (st->ready) {
			st->ready = false;
			return parse_message(r, st, err);
		}
		if (!st->have_line) {
			if (st->eof)
				return DEID_READ_END;
			rc = next_line(r, st);
			if (rc < 0)
				return ms_error_set(err, rc, "%s",
				                    rc == MS_EIO ? "read error"
				                                 : ms_status_str(rc));
			if (rc == 0) {
				st->eof = true;
				if (st->collecting && st->in_frame)
					st->cur_flags |= MSG_TRUNCATED;
				complete(st);
			}
			continue;
		}
		rc = step(st);
		if (rc)
			return ms_error_set(err, rc, "%s", ms_status_str(rc));
	}
}

const struct deid_read_ops deid_read_hl7_ops = {
	.next = hl7_next,
	.free = hl7_free,
};
