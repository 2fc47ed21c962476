/* SPDX-License-Identifier: MIT */
/* Streaming JSON writer with fixed key order. */
#include "common/json.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ms_json_init(struct ms_json *j, struct ms_buf *out, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->pretty = pretty;
}

static void newline(struct ms_json *j)
{
	int i;

	if (!j->pretty)
		return;
	ms_buf_addch(j->out, '\n');
	for (i = 0; i < j->depth; i++)
		ms_buf_add(j->out, "  ", 2);
}

/* Emits the separator before a value or key at the current level. */
static void before_value(struct ms_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0) {
		if (j->need_comma[j->depth])
			ms_buf_addch(j->out, ',');
		newline(j);
	}
	j->need_comma[j->depth] = true;
}

static void open(struct ms_json *j, int c)
{
	before_value(j);
	ms_buf_addch(j->out, c);
	assert(j->depth + 1 < MS_JSON_MAX_DEPTH);
	j->depth++;
	j->need_comma[j->depth] = false;
}

static void close_(struct ms_json *j, int c)
{
	bool had = j->need_comma[j->depth];

	assert(j->depth > 0 && !j->after_key);
	j->depth--;
	if (had)
		newline(j);
	ms_buf_addch(j->out, c);
}

void ms_json_obj_begin(struct ms_json *j)
{
	open(j, '{');
}

void ms_json_obj_end(struct ms_json *j)
{
	close_(j, '}');
}

void ms_json_arr_begin(struct ms_json *j)
{
	open(j, '[');
}

void ms_json_arr_end(struct ms_json *j)
{
	close_(j, ']');
}

/*
 * Eight bytes at a time: a word holds a byte that JSON must escape if one
 * of the classic has-zero-byte tests fires (bytes below 0x20, and bytes
 * equal to '"' or '\\' after XOR). The tests never miss such a byte; a
 * borrow may make them fire for a byte above a true one too, never below
 * it, so on a little-endian machine the lowest flag is the answer. Elsewhere
 * the word is scanned byte by byte.
 */
static uint64_t word_escape_mask(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');

	return (((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
}

/* True if the word w holds a byte JSON must escape (or, rarely, seems to). */
static bool word_needs_escape(uint64_t w)
{
	return word_escape_mask(w) != 0;
}

#define JSON_PLAIN(c)  ((c) >= 0x20 && (c) != '"' && (c) != '\\')
#define JSON_PLAIN4(c) JSON_PLAIN(c), JSON_PLAIN((c) + 1), JSON_PLAIN((c) + 2), JSON_PLAIN((c) + 3)
#define JSON_PLAIN16(c) \
	JSON_PLAIN4(c), JSON_PLAIN4((c) + 4), JSON_PLAIN4((c) + 8), JSON_PLAIN4((c) + 12)
#define JSON_PLAIN64(c) \
	JSON_PLAIN16(c), JSON_PLAIN16((c) + 16), JSON_PLAIN16((c) + 32), JSON_PLAIN16((c) + 48)

const unsigned char ms_json_plain[256] = { JSON_PLAIN64(0), JSON_PLAIN64(64), JSON_PLAIN64(128),
	                                   JSON_PLAIN64(192) };

size_t ms_json_next_special(const char *s, size_t i, size_t len)
{
	for (; i + 8 <= len; i += 8) {
		uint64_t w, m;

		memcpy(&w, s + i, 8);
		m = word_escape_mask(w);
		if (m) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return i + (size_t)(__builtin_ctzll(m) >> 3);
#else
			break;
#endif
		}
	}
	for (; i < len; i++) {
		if (!ms_json_plain[(unsigned char)s[i]])
			return i;
	}
	return len;
}

/* Appends s[i, len) with escapes, then the closing quote. */
static int quote_rest(struct ms_buf *out, const char *s, size_t i, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = i;

	for (i = ms_json_next_special(s, i, len); i < len;
	     i = ms_json_next_special(s, i + 1, len)) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[6];

		ms_buf_add(out, s + start, i - start);
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		default:
			break;
		}
		if (esc) {
			ms_buf_adds(out, esc);
		} else {
			u[0] = '\\';
			u[1] = 'u';
			u[2] = '0';
			u[3] = '0';
			u[4] = hex[c >> 4];
			u[5] = hex[c & 15];
			ms_buf_add(out, u, 6);
		}
		start = i + 1;
	}
	ms_buf_add(out, s + start, len - start);
	return ms_buf_addch(out, '"');
}

/*
 * Most strings need no escape at all: when the buffer has room for the
 * string as it is, it is scanned and copied in one pass, eight bytes at a
 * time, and only a string with a byte to escape continues on the slow path
 * from the word where that byte is.
 */
int ms_json_quote(struct ms_buf *out, const char *s, size_t len)
{
	size_t i = 0;
	char *d;

	if (!ms_buf_fits(out, len + 2)) {
		ms_buf_addch(out, '"');
		return quote_rest(out, s, 0, len);
	}
	d = out->buf + out->len;
	*d++ = '"';
	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		if (word_needs_escape(w))
			break;
		memcpy(d + i, &w, 8);
	}
	if (i + 8 > len) {
		for (; i < len; i++) {
			if (!ms_json_plain[(unsigned char)s[i]])
				break;
			d[i] = s[i];
		}
	}
	out->len += 1 + i;
	if (i < len) {
		out->buf[out->len] = '\0';
		return quote_rest(out, s, i, len);
	}
	d[len] = '"';
	out->len++;
	out->buf[out->len] = '\0';
	return 0;
}

void ms_json_key(struct ms_json *j, const char *key)
{
	before_value(j);
	ms_json_quote(j->out, key, strlen(key));
	ms_buf_add(j->out, j->pretty ? ": " : ":", j->pretty ? 2 : 1);
	j->after_key = true;
}

void ms_json_strn(struct ms_json *j, const char *s, size_t len)
{
	before_value(j);
	ms_json_quote(j->out, s, len);
}

void ms_json_str(struct ms_json *j, const char *s)
{
	if (!s) {
		ms_json_null(j);
		return;
	}
	ms_json_strn(j, s, strlen(s));
}

void ms_json_int(struct ms_json *j, int64_t v)
{
	before_value(j);
	ms_buf_addf(j->out, "%" PRId64, v);
}

void ms_json_uint(struct ms_json *j, uint64_t v)
{
	before_value(j);
	ms_buf_addf(j->out, "%" PRIu64, v);
}

void ms_json_double(struct ms_json *j, double v)
{
	char tmp[40];
	int prec;

	before_value(j);
	if (!isfinite(v)) {
		ms_buf_adds(j->out, "null");
		return;
	}
	/* shortest representation that reads back to the same double */
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	ms_buf_adds(j->out, tmp);
	if (!strpbrk(tmp, ".eEn"))
		ms_buf_adds(j->out, ".0");
}

void ms_json_bool(struct ms_json *j, bool v)
{
	before_value(j);
	ms_buf_adds(j->out, v ? "true" : "false");
}

void ms_json_null(struct ms_json *j)
{
	before_value(j);
	ms_buf_adds(j->out, "null");
}

void ms_json_kstr(struct ms_json *j, const char *key, const char *s)
{
	ms_json_key(j, key);
	ms_json_str(j, s);
}

void ms_json_kint(struct ms_json *j, const char *key, int64_t v)
{
	ms_json_key(j, key);
	ms_json_int(j, v);
}
