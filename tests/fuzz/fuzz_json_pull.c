/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the pull parser alone (common/json_pull.c), with
 * jansson as the oracle: the input is one document; the parser must accept
 * exactly when json_loadb(..., JSON_REJECT_DUPLICATES) does and fail with
 * jansson's reason and column, except where jansson drops a NUL byte after a
 * number or literal (then the parser must reject). Events must nest, keys
 * and strings must be valid UTF-8 without NUL, and the position of a failure
 * must lie within the input. The input size picks how the document is
 * walked (so seeds stay valid files): every event, skip_value after every
 * key, or skip_container at every array. Corpus: corpus/json_pull/,
 * dictionary: json_pull.dict.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/json_pull.h"
#include "common/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const struct ms_json_pull *p)
{
	if ((!p->str && p->len) ||
	    (p->str && (!ms_utf8_valid(p->str, p->len, NULL) || memchr(p->str, '\0', p->len))))
		abort();
}

/* Walks the document; returns 0 at its end or the failure (< 0). */
static int walk(struct ms_json_pull *p, unsigned mode)
{
	unsigned depth = 0;
	int ev;

	for (;;) {
		ev = ms_json_pull_next(p);
		if (ev <= 0)
			return ev;
		if (ev == MS_JSON_EV_OBJ_BEGIN || ev == MS_JSON_EV_ARR_BEGIN)
			depth++;
		if (ev == MS_JSON_EV_OBJ_END || ev == MS_JSON_EV_ARR_END)
			depth--;
		if (ev == MS_JSON_EV_KEY || ev == MS_JSON_EV_STRING)
			check_text(p);
		if (mode == 1 && ev == MS_JSON_EV_KEY) {
			ev = ms_json_pull_skip_value(p);
			if (ev < 0)
				return ev;
		} else if (mode == 2 && ev == MS_JSON_EV_ARR_BEGIN) {
			ev = ms_json_pull_skip_container(p);
			if (ev < 0)
				return ev;
			if (ev != MS_JSON_EV_ARR_END)
				abort();
			depth--;
		}
		if (p->depth != depth || depth > MS_JSON_PULL_MAX_DEPTH)
			abort();
	}
}

/* jansson drops a NUL byte that directly follows a number or literal. */
static bool has_nul_after_token(const char *s, size_t len)
{
	size_t i;

	for (i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i - 1];

		if (s[i] == '\0' &&
		    ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct ms_buf scratch = MS_BUF_INIT;
	struct ms_json_pull p;
	json_error_t je;
	json_t *root;
	int rc;

	ms_json_pull_init(&p, &scratch);
	ms_json_pull_reset(&p, s, size);
	rc = walk(&p, (unsigned)(size % 3));
	if (rc < 0) {
		if (rc != MS_EINVAL && rc != MS_EUNICODE)
			abort();
		if (p.error_off > size || p.error_column > size || ms_json_pull_next(&p) != rc)
			abort();
	} else if (ms_json_pull_next(&p) != MS_JSON_EV_END) {
		abort();
	}
	/* a NUL byte is never valid JSON text (in a string it is a control character) */
	if (rc == 0 && memchr(s, '\0', size))
		abort();
	root = json_loadb(s, size, JSON_REJECT_DUPLICATES, &je);
	if (!has_nul_after_token(s, size) &&
	    (root ? rc != 0
	          : rc == 0 || p.error != ms_json_pull_error_of_jansson(&je) ||
	                     p.error_column != (size_t)je.column))
		abort();
	json_decref(root);
	ms_json_pull_release(&p);
	ms_buf_release(&scratch);
	return 0;
}
