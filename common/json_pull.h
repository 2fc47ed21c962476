/* SPDX-License-Identifier: MIT */
/*
 * Strict streaming (pull) JSON parser over one in-memory document, such as a
 * JSONL line: the caller asks for one event at a time (object and array
 * begin/end, key, string, number, literal, end) and builds no tree.
 *
 * It accepts exactly what jansson's json_loadb(..., JSON_REJECT_DUPLICATES)
 * accepts (RFC 8259; the top-level value must be an object or an array;
 * duplicate keys rejected in every object; no \u0000; integers within
 * long long; values nested at most MS_JSON_PULL_MAX_DEPTH deep) and reports
 * the same reason and column as jansson when it rejects; the unit and
 * differential tests (tests/unit/test_common_json_pull*.c) and the fuzz
 * target (tests/fuzz/fuzz_json_pull.c) hold it to that. One deliberate
 * difference: jansson skips a NUL byte right after a number or literal
 * (`[1\0]` loads), this parser rejects it.
 *
 * A parser belongs to one thread at a time; there is no global state.
 *
 * Not for files of many documents (read them line by line) nor for JSON that
 * must be edited or written back (jansson, common/json.h).
 */
#ifndef MS_COMMON_JSON_PULL_H
#define MS_COMMON_JSON_PULL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

/* jansson's JSON_PARSER_MAX_DEPTH: values (not only containers) count */
#define MS_JSON_PULL_MAX_DEPTH 2048

enum ms_json_event {
	MS_JSON_EV_END = 0, /* the document is complete (nothing but space follows) */
	MS_JSON_EV_OBJ_BEGIN,
	MS_JSON_EV_OBJ_END,
	MS_JSON_EV_ARR_BEGIN,
	MS_JSON_EV_ARR_END,
	MS_JSON_EV_KEY,    /* str, len: the decoded key; its value comes next */
	MS_JSON_EV_STRING, /* str, len: the decoded string */
	MS_JSON_EV_INT,    /* integer; str, len: its source text */
	MS_JSON_EV_REAL,   /* str, len: its source text (finite as a double) */
	MS_JSON_EV_TRUE,
	MS_JSON_EV_FALSE,
	MS_JSON_EV_NULL
};

/* Why a document was rejected (the texts are those of ms_json_pull_strerror). */
enum ms_json_pull_error {
	MS_JSON_PULL_OK = 0,
	MS_JSON_PULL_ESYNTAX,   /* "malformed JSON" */
	MS_JSON_PULL_ETRUNC,    /* "truncated JSON" */
	MS_JSON_PULL_ETRAILING, /* "data after the JSON value" */
	MS_JSON_PULL_EDEPTH,    /* "JSON nested too deeply" */
	MS_JSON_PULL_ENUL,      /* "NUL character in JSON string" */
	MS_JSON_PULL_EDUPKEY,   /* "duplicate JSON key" */
	MS_JSON_PULL_ERANGE,    /* "JSON number out of range" */
	MS_JSON_PULL_EUTF8,     /* "invalid UTF-8" */
	MS_JSON_PULL_ENOMEM     /* "out of memory" (scratch or key stack) */
};

struct ms_json_pull_key;
struct ms_json_pull_frame;

/*
 * Parser state. Fields above the line are the result of the last call and
 * read-only for the caller; the rest is private.
 */
struct ms_json_pull {
	/* the current event's value (see enum ms_json_event) */
	const char *str;
	size_t len;
	long long integer;
	unsigned depth; /* containers open after the current event */
	/*
	 * After a failure: the reason, and where the parser stood when it
	 * failed (as jansson reports it): the byte offset, the 1-based line
	 * and the column (the characters read on that line; 1 for the first).
	 */
	enum ms_json_pull_error error;
	size_t error_off;
	size_t error_line;
	size_t error_column;

	/* ---- private ---- */
	const char *buf;
	size_t buf_len;
	size_t end; /* buf_len, or where the first invalid UTF-8 starts */
	size_t pos;
	struct ms_buf *scratch;
	int status; /* sticky: 0 or the failure's ms_status */
	int state;
	bool skipping;
	bool has_nul;        /* the last string decoded a \u0000 */
	bool str_in_scratch; /* the last string was decoded into scratch */
	uint64_t is_obj[MS_JSON_PULL_MAX_DEPTH / 64];
	struct ms_json_pull_key *keys; /* keys of the open objects */
	size_t n_keys, cap_keys;
	struct ms_json_pull_frame *frames; /* one per open object */
	size_t n_frames, cap_frames;
	size_t *slots; /* hash index of the keys of large objects: key + 1 */
	size_t n_slots, n_slots_used;
};

/*
 * Prepares p for use; no allocation. Strings with escapes are decoded into
 * scratch (caller-owned, not NULL): the parser appends to it and never
 * shrinks it, and it must not change until the document is finished (reset
 * it between documents). A returned str stays valid until scratch grows
 * beyond its allocation: reserve len bytes of room in scratch before the
 * document (ms_buf_grow) to keep every string of it valid until then,
 * since a decoded string is never longer than its source.
 */
void ms_json_pull_init(struct ms_json_pull *p, struct ms_buf *scratch);

/*
 * Starts parsing the document buf[0..len) (not copied: it must outlive the
 * parse). Memory from earlier documents is kept for reuse.
 */
void ms_json_pull_reset(struct ms_json_pull *p, const char *buf, size_t len);

/*
 * Returns the next event (enum ms_json_event, >= 0) and sets str, len,
 * integer and depth, or fails with MS_EINVAL (malformed), MS_EUNICODE
 * (invalid UTF-8) or MS_ENOMEM and sets error, error_off and error_column.
 * Failures are sticky; after MS_JSON_EV_END every call returns it again.
 * Keys and string values point into buf when they hold no escape, else into
 * scratch.
 */
int ms_json_pull_next(struct ms_json_pull *p) MS_MUST_CHECK;

/*
 * Consumes the next value whole (after a key, or where an array element is
 * due), checking it as strictly as next() would, and returns the event that
 * began it (MS_JSON_EV_OBJ_BEGIN for an object, ...) or fails as next().
 * String values inside are checked but not decoded into scratch.
 */
int ms_json_pull_skip_value(struct ms_json_pull *p) MS_MUST_CHECK;

/*
 * Consumes the rest of the innermost open container, its end included, and
 * returns that end event (MS_JSON_EV_OBJ_END or MS_JSON_EV_ARR_END) or
 * fails as next(). Call it after an OBJ_BEGIN or ARR_BEGIN event (or
 * anywhere inside a container) to drop what it holds.
 */
int ms_json_pull_skip_container(struct ms_json_pull *p) MS_MUST_CHECK;

/* Frees the key stack; p may be zeroed or NULL. Does not touch scratch. */
void ms_json_pull_release(struct ms_json_pull *p);

/* Returns the static English text of a reason ("malformed JSON", ...). */
const char *ms_json_pull_strerror(enum ms_json_pull_error error);
/*
 * The reason this parser gives for what jansson reports in je: readers that
 * still parse with jansson (FHIR) word their errors alike, and the tests
 * compare the two parsers by it.
 */
enum ms_json_pull_error ms_json_pull_error_of_jansson(const json_error_t *je);

#endif
