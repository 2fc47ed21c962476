/* SPDX-License-Identifier: MIT */
/* ms_buf: growable, capped, sticky-error text buffer. */
#include "common/buf.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"

char ms_buf_empty[1];

void ms_buf_init(struct ms_buf *b, size_t cap)
{
	b->buf = ms_buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
	b->status = 0;
}

void ms_buf_release(struct ms_buf *b)
{
	if (!b)
		return;
	if (b->alloc)
		ms_free(b->buf);
	ms_buf_init(b, b->cap);
}

void ms_buf_reset(struct ms_buf *b)
{
	b->len = 0;
	if (b->alloc) /* never write to the shared empty string: threads share it */
		b->buf[0] = '\0';
	b->status = 0;
}

int ms_buf_grow(struct ms_buf *b, size_t extra)
{
	size_t need, nalloc;
	char *p;

	if (b->status)
		return b->status;
	if (!ms_size_add(&need, b->len, extra) || !ms_size_add(&need, need, 1)) {
		b->status = MS_ENOMEM;
		return b->status;
	}
	if (b->cap && need > b->cap + 1) {
		b->status = MS_ETOOBIG;
		return b->status;
	}
	if (need <= b->alloc)
		return 0;
	nalloc = b->alloc ? b->alloc : 64;
	while (nalloc < need) {
		if (!ms_size_mul(&nalloc, nalloc, 2)) {
			nalloc = need;
			break;
		}
	}
	p = ms_realloc(b->alloc ? b->buf : NULL, nalloc);
	if (!p) {
		b->status = MS_ENOMEM;
		return b->status;
	}
	if (!b->alloc)
		p[0] = '\0';
	b->buf = p;
	b->alloc = nalloc;
	return 0;
}

int ms_buf_add_slow(struct ms_buf *b, const void *data, size_t len)
{
	int rc = ms_buf_grow(b, len);

	if (rc)
		return rc;
	if (len)
		memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return 0;
}

int ms_buf_adds(struct ms_buf *b, const char *s)
{
	return ms_buf_add(b, s, strlen(s));
}

int ms_buf_addch_slow(struct ms_buf *b, int c)
{
	int rc = ms_buf_grow(b, 1);

	if (rc)
		return rc;
	b->buf[b->len++] = (char)c;
	b->buf[b->len] = '\0';
	return 0;
}

int ms_buf_addf(struct ms_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	if (b->status)
		return b->status;
	va_start(ap, fmt);
	n = vsnprintf(b->len + 1 < b->alloc ? b->buf + b->len : NULL,
	              b->len + 1 < b->alloc ? b->alloc - b->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->status = MS_EINVAL;
		return b->status;
	}
	if (b->len + (size_t)n + 1 > b->alloc || !b->alloc) {
		rc = ms_buf_grow(b, (size_t)n);
		if (rc)
			return rc;
		va_start(ap, fmt);
		n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->status = MS_EINVAL;
			return b->status;
		}
	}
	b->len += (size_t)n;
	return 0;
}

void ms_buf_truncate(struct ms_buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->buf[len] = '\0';
	}
}

char *ms_buf_detach(struct ms_buf *b, size_t *len_out)
{
	char *s;

	if (b->status)
		return NULL;
	if (!b->alloc) {
		s = ms_strndup("", 0);
		if (!s)
			return NULL;
	} else {
		s = b->buf;
	}
	if (len_out)
		*len_out = b->len;
	ms_buf_init(b, b->cap);
	return s;
}
