/* SPDX-License-Identifier: MIT */
/*
 * Strict pull parser for one JSON document in memory (see json_pull.h).
 *
 * Where it rejects, it reports what jansson's json_loadb reports: jansson
 * reads a character at a time and the first error it meets wins, so this
 * parser reads in the same order and fails at the same offset. The rules it
 * follows from that: UTF-8 is validated up front, and reading the first
 * invalid byte is the error (whatever else lies behind it); inside a string
 * the syntax of every character and escape is checked to the closing quote
 * before the code points of \u escapes are judged; a \u0000 is rejected
 * only when its string is taken as a key or value (after the depth check);
 * an invalid token is "truncated JSON" when nothing of it is text (the end,
 * or a NUL byte), else "malformed JSON".
 */
#include "common/json_pull.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/utf8.h"

/* Tokens: punctuation is its own character; errors are negative ms_status. */
enum {
	TOK_EOF = 0,
	TOK_STRING = 256,
	TOK_INT,
	TOK_REAL,
	TOK_TRUE,
	TOK_FALSE,
	TOK_NULL,
	TOK_INVALID,      /* not a token; its text is what jansson quotes */
	TOK_INVALID_EMPTY /* a NUL byte: jansson's token text is empty */
};

/* What peek() returns past the end (a byte is 0..255, an error < 0). */
#define PEEK_EOF 256

enum pull_state {
	ST_START,
	ST_ARR_FIRST, /* after '[' */
	ST_ARR_NEXT,  /* after an element */
	ST_OBJ_FIRST, /* after '{' */
	ST_OBJ_VALUE, /* after a key */
	ST_OBJ_NEXT,  /* after a member's value */
	ST_DONE,      /* after the top-level value */
	ST_END
};

/* A key of an open object: in buf, or (decoded) in scratch. */
struct ms_json_pull_key {
	size_t off;
	size_t len;
	uint32_t hash; /* set once its object is indexed */
	bool in_scratch;
};

struct ms_json_pull_frame {
	size_t first_key;
	bool hashed; /* its keys are in the hash index */
};

/*
 * Objects up to this many keys are checked for duplicates by comparing with
 * each key (records here have a handful); larger ones go into a hash index
 * so that a line of a million keys stays linear.
 */
#define LINEAR_KEYS 16

enum ms_json_pull_error ms_json_pull_error_of_jansson(const json_error_t *je)
{
	switch (json_error_code(je)) {
	case json_error_out_of_memory:
		return MS_JSON_PULL_ENOMEM;
	case json_error_invalid_utf8:
		return MS_JSON_PULL_EUTF8;
	case json_error_premature_end_of_input:
		return MS_JSON_PULL_ETRUNC;
	case json_error_end_of_input_expected:
		return MS_JSON_PULL_ETRAILING;
	case json_error_stack_overflow:
		return MS_JSON_PULL_EDEPTH;
	case json_error_null_character:
	case json_error_null_byte_in_key:
		return MS_JSON_PULL_ENUL;
	case json_error_duplicate_key:
		return MS_JSON_PULL_EDUPKEY;
	case json_error_numeric_overflow:
		return MS_JSON_PULL_ERANGE;
	default:
		return MS_JSON_PULL_ESYNTAX;
	}
}

const char *ms_json_pull_strerror(enum ms_json_pull_error error)
{
	switch (error) {
	case MS_JSON_PULL_OK:
		return "no error";
	case MS_JSON_PULL_ETRUNC:
		return "truncated JSON";
	case MS_JSON_PULL_ETRAILING:
		return "data after the JSON value";
	case MS_JSON_PULL_EDEPTH:
		return "JSON nested too deeply";
	case MS_JSON_PULL_ENUL:
		return "NUL character in JSON string";
	case MS_JSON_PULL_EDUPKEY:
		return "duplicate JSON key";
	case MS_JSON_PULL_ERANGE:
		return "JSON number out of range";
	case MS_JSON_PULL_EUTF8:
		return "invalid UTF-8";
	case MS_JSON_PULL_ENOMEM:
		return "out of memory";
	case MS_JSON_PULL_ESYNTAX:
	default:
		return "malformed JSON";
	}
}

void ms_json_pull_init(struct ms_json_pull *p, struct ms_buf *scratch)
{
	memset(p, 0, sizeof(*p));
	p->scratch = scratch;
	p->buf = "";
}

void ms_json_pull_reset(struct ms_json_pull *p, const char *buf, size_t len)
{
	size_t bad = len;

	p->str = NULL;
	p->len = 0;
	p->integer = 0;
	p->depth = 0;
	p->error = MS_JSON_PULL_OK;
	p->error_off = 0;
	p->error_line = 0;
	p->error_column = 0;
	p->buf = buf;
	p->buf_len = len;
	/* jansson fails when it reads the first invalid byte: parse up to it */
	p->end = ms_utf8_valid(buf, len, &bad) ? len : bad;
	p->pos = 0;
	p->status = 0;
	p->state = ST_START;
	p->skipping = false;
	p->has_nul = false;
	p->n_keys = 0;
	p->n_frames = 0;
	if (p->n_slots_used) {
		memset(p->slots, 0, p->n_slots * sizeof(*p->slots));
		p->n_slots_used = 0;
	}
}

void ms_json_pull_release(struct ms_json_pull *p)
{
	if (!p)
		return;
	ms_free(p->keys);
	ms_free(p->frames);
	ms_free(p->slots);
	p->keys = NULL;
	p->frames = NULL;
	p->slots = NULL;
	p->n_keys = p->cap_keys = p->n_frames = p->cap_frames = 0;
	p->n_slots = p->n_slots_used = 0;
}

/*
 * Sets jansson's line and column for a failure after reading buf[0..off):
 * the column counts the characters (UTF-8 lead bytes) read on that line, 0
 * right after a newline.
 */
static void locate(struct ms_json_pull *p, size_t off)
{
	size_t i, line = 1, col = 0;

	for (i = 0; i < off; i++) {
		unsigned char c = (unsigned char)p->buf[i];

		if (c == '\n') {
			line++;
			col = 0;
		} else {
			col += (c & 0xC0) != 0x80;
		}
	}
	p->error_line = line;
	p->error_column = col;
}

/* Records the first failure; returns its (negative) status. */
static int fail(struct ms_json_pull *p, enum ms_json_pull_error why, size_t off)
{
	if (p->status)
		return p->status;
	if (why == MS_JSON_PULL_EUTF8)
		p->status = MS_EUNICODE;
	else if (why == MS_JSON_PULL_ENOMEM)
		p->status = MS_ENOMEM;
	else
		p->status = MS_EINVAL;
	p->error = why;
	p->error_off = off;
	locate(p, off);
	return p->status;
}

/* Reading at p->end: the real end (TOK_EOF), or the invalid UTF-8 there. */
static int at_end(struct ms_json_pull *p)
{
	if (p->end < p->buf_len)
		return fail(p, MS_JSON_PULL_EUTF8, p->end);
	return TOK_EOF;
}

/* The byte at i, PEEK_EOF, or < 0 if reading it fails (invalid UTF-8). */
static inline int peek(struct ms_json_pull *p, size_t i)
{
	int rc;

	if (i < p->end)
		return (unsigned char)p->buf[i];
	rc = at_end(p);
	return rc < 0 ? rc : PEEK_EOF;
}

static inline bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Reads the four hex digits of a \u escape at *i. */
static int scan_hex4(struct ms_json_pull *p, size_t *i, unsigned *cp_out)
{
	unsigned v = 0;
	int k, c, d;

	for (k = 0; k < 4; k++) {
		c = peek(p, *i);
		if (c < 0)
			return c;
		if (c == PEEK_EOF)
			return fail(p, MS_JSON_PULL_ESYNTAX, p->buf_len);
		d = ms_hex_digit(c);
		if (d < 0) /* jansson has read the offending character */
			return fail(p, MS_JSON_PULL_ESYNTAX, *i + 1);
		v = v * 16 + (unsigned)d;
		(*i)++;
	}
	*cp_out = v;
	return 0;
}

static char *put_utf8(char *w, unsigned cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xC0 | (cp >> 6));
		*w++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xE0 | (cp >> 12));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*w++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*w++ = (char)(0xF0 | (cp >> 18));
		*w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*w++ = (char)(0x80 | (cp & 0x3F));
	}
	return w;
}

/* The byte a one-letter escape stands for, or -1. */
static int simple_escape(int c)
{
	switch (c) {
	case '"':
	case '\\':
	case '/':
		return c;
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	default:
		return -1;
	}
}

/* Decoding state of a string with escapes. */
struct str_decode {
	char *w;       /* where the next decoded byte goes; NULL: check only */
	unsigned high; /* a high surrogate waiting for its low half */
	bool bad_cp;   /* a lone or mismatched surrogate (judged at the end) */
};

/* Takes the code point of a \u escape as jansson's decoder judges it. */
static void decode_cp(struct ms_json_pull *p, struct str_decode *d, unsigned cp)
{
	if (d->high) {
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			cp = ((d->high - 0xD800) << 10) + (cp - 0xDC00) + 0x10000;
		else
			d->bad_cp = true;
		d->high = 0;
	} else if (cp >= 0xD800 && cp <= 0xDBFF) {
		d->high = cp;
		return;
	} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
		d->bad_cp = true;
	}
	if (cp == 0)
		p->has_nul = true;
	if (d->w && !d->bad_cp)
		d->w = put_utf8(d->w, cp);
}

/* Reads the escape whose backslash is at *i; *i ends after it. */
static int scan_escape(struct ms_json_pull *p, struct str_decode *d, size_t *i)
{
	unsigned cp = 0;
	int c, e, rc;

	c = peek(p, ++*i);
	if (c < 0)
		return c;
	if (c == PEEK_EOF)
		return fail(p, MS_JSON_PULL_ESYNTAX, p->buf_len);
	++*i;
	if (c == 'u') {
		rc = scan_hex4(p, i, &cp);
		if (rc < 0)
			return rc;
		decode_cp(p, d, cp);
	} else {
		/* no high surrogate waits here: only a \u may follow one */
		e = simple_escape(c);
		if (e < 0)
			return fail(p, MS_JSON_PULL_ESYNTAX, *i);
		if (d->w)
			*d->w++ = (char)e;
	}
	/* jansson wants the low half right after the high one */
	if (d->high && !(*i + 1 < p->end && p->buf[*i] == '\\' && p->buf[*i + 1] == 'u')) {
		d->bad_cp = true;
		d->high = 0;
	}
	return 0;
}

/*
 * The string from start (after the quote) on holds an escape or worse at i:
 * decodes it into scratch (keep) or only checks it.
 */
static int scan_string_slow(struct ms_json_pull *p, size_t start, size_t i, bool keep)
{
	const char *s = p->buf;
	struct str_decode d = { NULL, 0, false };
	size_t run = start;
	char *w0 = NULL;
	int rc;

	if (keep) {
		/* decoding never lengthens: the rest of the input bounds it */
		rc = ms_buf_grow(p->scratch, p->end - start);
		if (rc)
			return fail(p, MS_JSON_PULL_ENOMEM, i);
		w0 = d.w = p->scratch->buf + p->scratch->len;
	}
	for (;;) {
		unsigned char c;

		if (i >= p->end) {
			rc = at_end(p);
			return rc < 0 ? rc : fail(p, MS_JSON_PULL_ETRUNC, p->buf_len);
		}
		c = (unsigned char)s[i];
		if (c == '"')
			break;
		if (c < 0x20) /* jansson puts the control character back */
			return fail(p, MS_JSON_PULL_ESYNTAX, i);
		if (d.w) {
			memcpy(d.w, s + run, i - run);
			d.w += i - run;
		}
		rc = scan_escape(p, &d, &i);
		if (rc < 0)
			return rc;
		run = i;
		i = ms_json_next_special(s, i, p->end);
	}
	p->pos = i + 1;
	if (d.bad_cp)
		return fail(p, MS_JSON_PULL_ESYNTAX, i + 1);
	if (!keep) {
		p->str = NULL;
		p->len = 0;
		return TOK_STRING;
	}
	p->str_in_scratch = true;
	memcpy(d.w, s + run, i - run);
	d.w += i - run;
	*d.w = '\0';
	p->str = w0;
	p->len = (size_t)(d.w - w0);
	p->scratch->len += p->len;
	return TOK_STRING;
}

/* The string whose opening quote was just read. */
static int scan_string(struct ms_json_pull *p, bool keep)
{
	size_t start = p->pos, i = ms_json_next_special(p->buf, start, p->end);

	p->has_nul = false;
	p->str_in_scratch = false;
	if (i < p->end && p->buf[i] == '"') { /* no escape: point into buf */
		p->str = p->buf + start;
		p->len = i - start;
		p->pos = i + 1;
		return TOK_STRING;
	}
	return scan_string_slow(p, start, i, keep);
}

/*
 * True if strtod overflows on the number text s[0..len), as jansson checks
 * reals (underflow is fine).
 */
static bool real_overflows(const char *s, size_t len)
{
	char small[64], *t = small;
	double v;
	bool over;

	if (len >= sizeof(small)) {
		t = ms_malloc(len + 1);
		if (!t) /* cannot tell: only numbers past 1e300 come here */
			return true;
	}
	memcpy(t, s, len);
	t[len] = '\0';
	errno = 0;
	v = strtod(t, NULL);
	over = (v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE;
	if (t != small)
		ms_free(t);
	return over;
}

/* Integer digits from *i on; *acc saturates (over) past UINT64_MAX. */
static int scan_int_digits(struct ms_json_pull *p, size_t *i, uint64_t *acc, bool *over,
                           long *n_digits)
{
	int c = peek(p, *i);

	while (is_digit(c)) {
		unsigned dv = (unsigned)(c - '0');

		if (*acc > (UINT64_MAX - dv) / 10)
			*over = true;
		else
			*acc = *acc * 10 + dv;
		(*n_digits)++;
		c = peek(p, ++*i);
	}
	return c;
}

/* The fraction and exponent of a real from *i (at '.', 'e' or 'E'). */
static int scan_real_tail(struct ms_json_pull *p, size_t *i, int c, long *exp10)
{
	long e = 0;
	bool neg = false;

	if (c == '.') {
		c = peek(p, ++*i);
		if (!is_digit(c))
			return c < 0 ? c : TOK_INVALID;
		do
			c = peek(p, ++*i);
		while (is_digit(c));
	}
	if (c == 'e' || c == 'E') {
		c = peek(p, ++*i);
		if (c == '+' || c == '-') {
			neg = c == '-';
			c = peek(p, ++*i);
		}
		if (!is_digit(c))
			return c < 0 ? c : TOK_INVALID;
		do {
			if (e < 100000)
				e = e * 10 + (c - '0');
			c = peek(p, ++*i);
		} while (is_digit(c));
	}
	*exp10 = neg ? -e : e;
	return c < 0 ? c : TOK_REAL;
}

/* The number starting at start ('-' or a digit), as jansson lexes it. */
static int scan_number(struct ms_json_pull *p, size_t start)
{
	const char *s = p->buf;
	size_t i = start + (s[start] == '-');
	bool neg = s[start] == '-', over = false;
	uint64_t acc = 0, limit;
	long n_int = 0, exp10 = 0;
	int c = peek(p, i), tok;

	if (c == '0') {
		n_int = 1;
		c = peek(p, ++i);
		if (is_digit(c)) { /* a leading zero: jansson puts the digit back */
			p->pos = i;
			return TOK_INVALID;
		}
	} else if (is_digit(c)) {
		c = scan_int_digits(p, &i, &acc, &over, &n_int);
	} else {
		p->pos = i;
		return c < 0 ? c : TOK_INVALID;
	}
	if (c < 0)
		return c;
	p->str = s + start;
	if (c != '.' && c != 'e' && c != 'E') {
		p->pos = i;
		p->len = i - start;
		limit = neg ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1;
		if (over || acc > limit)
			return fail(p, MS_JSON_PULL_ERANGE, i);
		p->integer = neg ? (acc == limit ? LLONG_MIN : -(long long)acc) : (long long)acc;
		return TOK_INT;
	}
	tok = scan_real_tail(p, &i, c, &exp10);
	p->pos = i;
	p->len = i - start;
	if (tok != TOK_REAL)
		return tok;
	/* below 10^(n_int + exp10) <= 10^300 it cannot overflow: spare strtod */
	if (n_int + exp10 > 300 && real_overflows(p->str, p->len))
		return fail(p, MS_JSON_PULL_ERANGE, i);
	return TOK_REAL;
}

/* A run of letters: true, false, null or an invalid token. */
static int scan_word(struct ms_json_pull *p, size_t start)
{
	size_t i = start + 1, len;
	int c;

	while (is_alpha(c = peek(p, i)))
		i++;
	if (c < 0)
		return c;
	p->pos = i;
	len = i - start;
	if (len == 4 && memcmp(p->buf + start, "true", 4) == 0)
		return TOK_TRUE;
	if (len == 5 && memcmp(p->buf + start, "false", 5) == 0)
		return TOK_FALSE;
	if (len == 4 && memcmp(p->buf + start, "null", 4) == 0)
		return TOK_NULL;
	return TOK_INVALID;
}

/* The next token; keep: decode a string with escapes into scratch. */
static int scan_token(struct ms_json_pull *p, bool keep)
{
	const char *s = p->buf;
	size_t i = p->pos;
	unsigned char c;

	while (i < p->end && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
		i++;
	p->pos = i;
	if (i >= p->end)
		return at_end(p);
	c = (unsigned char)s[i];
	p->pos = i + 1;
	switch (c) {
	case '{':
	case '}':
	case '[':
	case ']':
	case ':':
	case ',':
		return c;
	case '"':
		return scan_string(p, keep);
	case '-':
		return scan_number(p, i);
	default:
		break;
	}
	if (is_digit(c))
		return scan_number(p, i);
	if (is_alpha(c))
		return scan_word(p, i);
	return c ? TOK_INVALID : TOK_INVALID_EMPTY;
}

/* The error for a token that may not stand here. */
static int unexpected(struct ms_json_pull *p, int tok)
{
	if (tok < 0)
		return tok;
	if (tok == TOK_EOF || tok == TOK_INVALID_EMPTY)
		return fail(p, MS_JSON_PULL_ETRUNC, p->pos);
	return fail(p, MS_JSON_PULL_ESYNTAX, p->pos);
}

/* ---- keys: duplicates in every object ---------------------------------- */

/*
 * Keys of large objects are hashed with SipHash (libsodium's
 * crypto_shorthash) under a key drawn once per process: input cannot be
 * made to collide on purpose and turn the index into a list (an object
 * with many crafted keys would take quadratic time). Which keys are
 * duplicates does not depend on it; only where they sit in the index.
 */
static unsigned char key_hash_key[crypto_shorthash_KEYBYTES];
static pthread_once_t key_hash_once = PTHREAD_ONCE_INIT;

static void key_hash_init(void)
{
	/* sodium_init() fails only where no random source exists; the key then
	 * stays zero, which only costs the protection */
	if (sodium_init() >= 0)
		randombytes_buf(key_hash_key, sizeof(key_hash_key));
}

static uint32_t key_hash(const char *s, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint32_t h;

	(void)pthread_once(&key_hash_once, key_hash_init);
	crypto_shorthash(out, (const unsigned char *)s, len, key_hash_key);
	memcpy(&h, out, sizeof(h));
	return h;
}

static const char *key_text(const struct ms_json_pull *p, const struct ms_json_pull_key *k)
{
	return k->in_scratch ? p->scratch->buf + k->off : p->buf + k->off;
}

static void index_put(struct ms_json_pull *p, size_t k)
{
	size_t mask = p->n_slots - 1, i = p->keys[k].hash & mask;

	while (p->slots[i])
		i = (i + 1) & mask;
	p->slots[i] = k + 1;
	p->n_slots_used++;
}

/* Makes room for one more entry: a fresh index of the live hashed keys. */
static int index_reserve(struct ms_json_pull *p)
{
	size_t n = 0, f, k, end, size = 64, *slots;

	if ((p->n_slots_used + 1) * 2 <= p->n_slots)
		return 0;
	for (f = 0; f < p->n_frames; f++) {
		if (p->frames[f].hashed) {
			end = f + 1 < p->n_frames ? p->frames[f + 1].first_key : p->n_keys;
			n += end - p->frames[f].first_key;
		}
	}
	while (size < 4 * (n + 1)) {
		if (!ms_size_mul(&size, size, 2))
			return MS_ENOMEM;
	}
	slots = ms_calloc(size, sizeof(*slots));
	if (!slots)
		return MS_ENOMEM;
	ms_free(p->slots);
	p->slots = slots;
	p->n_slots = size;
	p->n_slots_used = 0;
	for (f = 0; f < p->n_frames; f++) {
		if (!p->frames[f].hashed)
			continue;
		end = f + 1 < p->n_frames ? p->frames[f + 1].first_key : p->n_keys;
		for (k = p->frames[f].first_key; k < end; k++)
			index_put(p, k);
	}
	return 0;
}

/*
 * True if the innermost object has the key s[0..len) already. Stale slots
 * (of closed objects) may point anywhere: only keys from first on count,
 * and they are compared in full.
 */
static bool index_has(const struct ms_json_pull *p, size_t first, uint32_t h, const char *s,
                      size_t len)
{
	size_t mask = p->n_slots - 1, i, k;

	for (i = h & mask; p->slots[i]; i = (i + 1) & mask) {
		k = p->slots[i] - 1;
		if (k >= first && k < p->n_keys && p->keys[k].hash == h && p->keys[k].len == len &&
		    memcmp(key_text(p, &p->keys[k]), s, len) == 0)
			return true;
	}
	return false;
}

/* Moves the innermost object's keys into the hash index. */
static int frame_hash(struct ms_json_pull *p, struct ms_json_pull_frame *f)
{
	size_t k;
	int rc;

	f->hashed = true;
	for (k = f->first_key; k < p->n_keys; k++) {
		p->keys[k].hash = key_hash(key_text(p, &p->keys[k]), p->keys[k].len);
		rc = index_reserve(p);
		if (rc)
			return rc;
		index_put(p, k);
	}
	return 0;
}

/* Adds the key p->str to the innermost object: 0, 1 if a duplicate, or < 0. */
static int key_add(struct ms_json_pull *p)
{
	struct ms_json_pull_frame *f = &p->frames[p->n_frames - 1];
	struct ms_json_pull_key *k;
	uint32_t h = 0;
	size_t i;
	int rc;

	if (!f->hashed) {
		for (i = f->first_key; i < p->n_keys; i++) {
			k = &p->keys[i];
			if (k->len == p->len && memcmp(key_text(p, k), p->str, p->len) == 0)
				return 1;
		}
		if (p->n_keys - f->first_key >= LINEAR_KEYS) {
			rc = frame_hash(p, f);
			if (rc)
				return rc;
		}
	}
	if (f->hashed) {
		h = key_hash(p->str, p->len);
		if (index_has(p, f->first_key, h, p->str, p->len))
			return 1;
	}
	if (p->n_keys == p->cap_keys && MS_GROW(p->keys, p->cap_keys, p->n_keys + 1))
		return MS_ENOMEM;
	k = &p->keys[p->n_keys++];
	k->in_scratch = p->str_in_scratch;
	k->off = k->in_scratch ? (size_t)(p->str - p->scratch->buf) : (size_t)(p->str - p->buf);
	k->len = p->len;
	k->hash = h;
	if (f->hashed) {
		rc = index_reserve(p);
		if (rc)
			return rc;
		index_put(p, p->n_keys - 1);
	}
	return 0;
}

/* ---- the event machine -------------------------------------------------- */

static bool level_is_obj(const struct ms_json_pull *p, unsigned depth)
{
	return (p->is_obj[(depth - 1) / 64] >> ((depth - 1) % 64)) & 1u;
}

static void after_value(struct ms_json_pull *p)
{
	if (p->depth == 0)
		p->state = ST_DONE;
	else
		p->state = level_is_obj(p, p->depth) ? ST_OBJ_NEXT : ST_ARR_NEXT;
}

static int open_container(struct ms_json_pull *p, bool obj)
{
	unsigned d = p->depth; /* the new level's bit */
	uint64_t bit = (uint64_t)1 << (d % 64);

	if (obj) {
		if (p->n_frames == p->cap_frames &&
		    MS_GROW(p->frames, p->cap_frames, p->n_frames + 1))
			return fail(p, MS_JSON_PULL_ENOMEM, p->pos);
		p->frames[p->n_frames].first_key = p->n_keys;
		p->frames[p->n_frames].hashed = false;
		p->n_frames++;
		p->is_obj[d / 64] |= bit;
		p->state = ST_OBJ_FIRST;
	} else {
		p->is_obj[d / 64] &= ~bit;
		p->state = ST_ARR_FIRST;
	}
	p->depth++;
	return obj ? MS_JSON_EV_OBJ_BEGIN : MS_JSON_EV_ARR_BEGIN;
}

static int close_container(struct ms_json_pull *p)
{
	bool obj = level_is_obj(p, p->depth);

	if (obj) {
		p->n_frames--;
		p->n_keys = p->frames[p->n_frames].first_key;
	}
	p->depth--;
	after_value(p);
	return obj ? MS_JSON_EV_OBJ_END : MS_JSON_EV_ARR_END;
}

/* A value token (jansson's parse_value: the depth is checked first). */
static int value_event(struct ms_json_pull *p, int tok)
{
	int ev;

	if (tok < 0)
		return tok;
	if (p->depth + 1 > MS_JSON_PULL_MAX_DEPTH)
		return fail(p, MS_JSON_PULL_EDEPTH, p->pos);
	switch (tok) {
	case '{':
		return open_container(p, true);
	case '[':
		return open_container(p, false);
	case TOK_STRING:
		if (p->has_nul)
			return fail(p, MS_JSON_PULL_ENUL, p->pos);
		ev = MS_JSON_EV_STRING;
		break;
	case TOK_INT:
		ev = MS_JSON_EV_INT;
		break;
	case TOK_REAL:
		ev = MS_JSON_EV_REAL;
		break;
	case TOK_TRUE:
		ev = MS_JSON_EV_TRUE;
		break;
	case TOK_FALSE:
		ev = MS_JSON_EV_FALSE;
		break;
	case TOK_NULL:
		ev = MS_JSON_EV_NULL;
		break;
	default:
		return unexpected(p, tok);
	}
	after_value(p);
	return ev;
}

static int key_event(struct ms_json_pull *p, int tok)
{
	int rc;

	if (tok != TOK_STRING)
		return unexpected(p, tok);
	if (p->has_nul)
		return fail(p, MS_JSON_PULL_ENUL, p->pos);
	rc = key_add(p);
	if (rc < 0)
		return fail(p, MS_JSON_PULL_ENOMEM, p->pos);
	if (rc > 0)
		return fail(p, MS_JSON_PULL_EDUPKEY, p->pos);
	p->state = ST_OBJ_VALUE;
	return MS_JSON_EV_KEY;
}

/* An element where an array continues: the end makes jansson want ']'. */
static int element_event(struct ms_json_pull *p, int tok)
{
	return tok == TOK_EOF ? unexpected(p, tok) : value_event(p, tok);
}

static int next_event(struct ms_json_pull *p)
{
	bool keep = !p->skipping;
	int tok;

	if (p->status)
		return p->status;
	switch (p->state) {
	case ST_START:
		tok = scan_token(p, true);
		if (tok != '{' && tok != '[')
			return unexpected(p, tok);
		return value_event(p, tok);
	case ST_ARR_FIRST:
		tok = scan_token(p, keep);
		return tok == ']' ? close_container(p) : element_event(p, tok);
	case ST_ARR_NEXT:
		tok = scan_token(p, false);
		if (tok == ']')
			return close_container(p);
		if (tok != ',')
			return unexpected(p, tok);
		return element_event(p, scan_token(p, keep));
	case ST_OBJ_FIRST:
		tok = scan_token(p, true);
		return tok == '}' ? close_container(p) : key_event(p, tok);
	case ST_OBJ_VALUE:
		tok = scan_token(p, false);
		if (tok != ':')
			return unexpected(p, tok);
		return value_event(p, scan_token(p, keep));
	case ST_OBJ_NEXT:
		tok = scan_token(p, false);
		if (tok == '}')
			return close_container(p);
		if (tok != ',')
			return unexpected(p, tok);
		return key_event(p, scan_token(p, true));
	case ST_DONE:
		tok = scan_token(p, false);
		if (tok < 0)
			return tok;
		if (tok != TOK_EOF)
			return fail(p, MS_JSON_PULL_ETRAILING, p->pos);
		p->state = ST_END;
		return MS_JSON_EV_END;
	default:
		return MS_JSON_EV_END;
	}
}

int ms_json_pull_next(struct ms_json_pull *p)
{
	return next_event(p);
}

int ms_json_pull_skip_container(struct ms_json_pull *p)
{
	unsigned depth = p->depth;
	bool was = p->skipping;
	int ev;

	assert(depth > 0);
	p->skipping = true;
	do
		ev = next_event(p);
	while (ev >= 0 && p->depth >= depth);
	p->skipping = was;
	return ev;
}

int ms_json_pull_skip_value(struct ms_json_pull *p)
{
	bool was = p->skipping;
	int ev, rc;

	p->skipping = true;
	ev = next_event(p);
	if (ev == MS_JSON_EV_OBJ_BEGIN || ev == MS_JSON_EV_ARR_BEGIN) {
		rc = ms_json_pull_skip_container(p);
		if (rc < 0)
			ev = rc;
	}
	p->skipping = was;
	return ev;
}
