/* SPDX-License-Identifier: MIT */
/*
 * Plain-text reader: the whole source is one document whose id is the
 * source's file name. No splitting into several reports (a blank-line
 * convention would cut reports that contain blank lines).
 */
#include "deid/deid.h"

#include <string.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "deid/read_int.h"

struct text_state {
	bool done;
	struct ms_buf raw, dec;
};

static void text_free(struct deid_reader *r)
{
	struct text_state *st = r->state;

	if (!st)
		return;
	ms_buf_release(&st->raw);
	ms_buf_release(&st->dec);
	ms_free(st);
	r->state = NULL;
}

static int text_next(struct deid_reader *r, struct ms_error *err)
{
	struct text_state *st = r->state;
	const char *s, *id;
	size_t len;
	bool guessed = false;
	enum ms_encoding enc = MS_ENC_UTF8;
	int rc;

	if (!st) {
		st = ms_calloc(1, sizeof(*st));
		if (!st)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		ms_buf_init(&st->raw, r->max_record);
		ms_buf_init(&st->dec, r->max_record);
		r->state = st;
	}
	if (st->done)
		return DEID_READ_END;
	st->done = true;
	rc = deid_input_rest(&r->in, &st->raw);
	deid_doc_begin(r, 1);
	if (rc == MS_ETOOBIG)
		return deid_reject(err, MS_ETOOBIG, "record exceeds %zu bytes", r->max_record);
	if (rc)
		return ms_error_set(err, rc, "%s", rc == MS_EIO ? "read error" : ms_status_str(rc));
	s = st->raw.buf;
	len = st->raw.len;
	if (len >= 2 && ((s[0] == '\xFF' && s[1] == '\xFE') || (s[0] == '\xFE' && s[1] == '\xFF')))
		return deid_reject(err, MS_EUNICODE, "UTF-16 text is not supported");
	if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3;
		len -= 3;
	}
	ms_buf_reset(&st->dec);
	rc = deid_decode(&st->dec, s, len, r->charset, &enc, &guessed, err);
	if (rc)
		return deid_read_classify(rc);
	r->doc.encoding = enc;
	if (guessed)
		r->doc.flags |= DEID_DOC_CHARSET_GUESSED;
	id = r->name ? ms_basename(r->name) : "-";
	rc = deid_doc_set_id(r, id, strlen(id), err);
	if (!rc)
		rc = deid_doc_set_text(r, st->dec.buf, st->dec.len, err);
	if (rc)
		return deid_read_classify(rc);
	return deid_doc_finish(r, NULL, err);
}

const struct deid_read_ops deid_read_text_ops = {
	.next = text_next,
	.free = text_free,
};
