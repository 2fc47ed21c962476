/* SPDX-License-Identifier: MIT */
/*
 * Growable byte buffer for building text (in the manner of git's strbuf).
 *
 * Invariants: buf is never NULL and always NUL-terminated; len counts the
 * bytes before the terminator. An optional cap bounds growth for buffers fed
 * by input (exceeding it is MS_ETOOBIG). Errors are sticky: after a failed
 * append the buffer keeps its content and every further append is a no-op
 * that returns the same status, so builders may check once at the end via
 * ms_buf_status().
 */
#ifndef MS_COMMON_BUF_H
#define MS_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "common/error.h"

struct ms_buf {
	char *buf;
	size_t len;
	size_t alloc; /* 0 while buf points at the shared empty string */
	size_t cap;   /* 0 = unbounded */
	int status;
};

extern char ms_buf_empty[];

#define MS_BUF_INIT                      \
	{                                \
		ms_buf_empty, 0, 0, 0, 0 \
	}

void ms_buf_init(struct ms_buf *b, size_t cap);
void ms_buf_release(struct ms_buf *b);
/* Empties the buffer, keeping its memory; clears a sticky error. */
void ms_buf_reset(struct ms_buf *b);

int ms_buf_grow(struct ms_buf *b, size_t extra);
/* The out-of-line halves of ms_buf_add and ms_buf_addch (growth, errors). */
int ms_buf_add_slow(struct ms_buf *b, const void *data, size_t len);
int ms_buf_addch_slow(struct ms_buf *b, int c);

/* True if extra more bytes fit without growing, within the cap, no error. */
static inline bool ms_buf_fits(const struct ms_buf *b, size_t extra)
{
	return b->alloc - b->len > extra && !b->status && (!b->cap || extra <= b->cap - b->len);
}

/* Appends len bytes (inline when they fit: the hot path of every writer). */
static inline int ms_buf_add(struct ms_buf *b, const void *data, size_t len)
{
	if (!data || !ms_buf_fits(b, len))
		return ms_buf_add_slow(b, data, len);
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return 0;
}

static inline int ms_buf_addch(struct ms_buf *b, int c)
{
	if (!ms_buf_fits(b, 1))
		return ms_buf_addch_slow(b, c);
	b->buf[b->len++] = (char)c;
	b->buf[b->len] = '\0';
	return 0;
}

int ms_buf_adds(struct ms_buf *b, const char *s);
int ms_buf_addf(struct ms_buf *b, const char *fmt, ...) MS_PRINTF(2, 3);
void ms_buf_truncate(struct ms_buf *b, size_t len);

static inline int ms_buf_status(const struct ms_buf *b)
{
	return b->status;
}

/*
 * Hands the heap string to the caller (free with ms_free) and re-initialises
 * the buffer; *len_out gets the length if not NULL. Returns NULL on
 * allocation failure or when the buffer holds a sticky error.
 */
char *ms_buf_detach(struct ms_buf *b, size_t *len_out);

#endif
