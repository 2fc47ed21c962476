/* SPDX-License-Identifier: MIT */
/*
 * Streaming JSON writer into an ms_buf.
 *
 * Keys are written in the order the caller gives them, so output is
 * deterministic. The writer tracks nesting and commas; misuse (a value where
 * a key is due) is a programmer error caught by assert. Parsing is done with
 * jansson where a module needs it, or with common/json_pull.h where reading
 * is a hot path; this writer exists because JSONL output is a hot path and
 * must keep a fixed key order without building a tree.
 */
#ifndef MS_COMMON_JSON_H
#define MS_COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define MS_JSON_MAX_DEPTH 32

struct ms_json {
	struct ms_buf *out;
	int depth;
	bool pretty;
	bool need_comma[MS_JSON_MAX_DEPTH];
	bool after_key;
};

/* Starts writing into out (not owned). pretty indents with two spaces. */
void ms_json_init(struct ms_json *j, struct ms_buf *out, bool pretty);

void ms_json_obj_begin(struct ms_json *j);
void ms_json_obj_end(struct ms_json *j);
void ms_json_arr_begin(struct ms_json *j);
void ms_json_arr_end(struct ms_json *j);
void ms_json_key(struct ms_json *j, const char *key);
void ms_json_str(struct ms_json *j, const char *s);
void ms_json_strn(struct ms_json *j, const char *s, size_t len);
void ms_json_int(struct ms_json *j, int64_t v);
void ms_json_uint(struct ms_json *j, uint64_t v);
/* Writes v with up to 17 significant digits, shortest form that round-trips. */
void ms_json_double(struct ms_json *j, double v);
void ms_json_bool(struct ms_json *j, bool v);
void ms_json_null(struct ms_json *j);
/* Key/value shorthands; ms_json_kstr writes null for a NULL string. */
void ms_json_kstr(struct ms_json *j, const char *key, const char *s);
void ms_json_kint(struct ms_json *j, const char *key, int64_t v);

/*
 * Returns the index of the first byte of s[i..len) that a JSON string cannot
 * hold literally (below 0x20, '"' or a backslash), or len. Scans eight bytes
 * at a time: the writer escapes with it, readers find the end of a string.
 */
size_t ms_json_next_special(const char *s, size_t i, size_t len);
/*
 * 1 for the bytes a JSON string holds as they are, 0 for those it escapes
 * (controls, '"', '\\') and for NUL: a loop over a C string stops at
 * either with one table look-up per byte.
 */
extern const unsigned char ms_json_plain[256];

/* Appends s as a quoted JSON string (escaping per RFC 8259) to out. */
int ms_json_quote(struct ms_buf *out, const char *s, size_t len);

#endif
