/* SPDX-License-Identifier: MIT */
/*
 * Text helpers on ICU for the tokenizer and the features: case folding of
 * UTF-8 without a detour through UTF-16, and code point stepping.
 */
#include "ner/ner_int.h"

#include <unicode/ucasemap.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "common/alloc.h"

int32_t ner_u8_next(const char *s, size_t len, size_t *off)
{
	UChar32 c;
	int32_t i = 0;
	const uint8_t *p = (const uint8_t *)s + *off;
	int32_t n = len - *off > 4 ? 4 : (int32_t)(len - *off);

	U8_NEXT(p, i, n, c);
	*off += (size_t)i;
	return c;
}

int32_t ner_u8_prev(const char *s, size_t off, size_t *start)
{
	size_t b = off - 1;

	while (b > 0 && off - b < 4 && ((unsigned char)s[b] & 0xc0) == 0x80)
		b--;
	*start = b;
	return ner_u8_next(s, off, &b);
}

/* UTF-16 units folded on the stack (a UTF-8 byte is at most one unit). */
#define FOLD_SHORT 256

static bool all_ascii(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return false;
	}
	return true;
}

int ner_fold_append(struct ms_buf *out, const char *s, size_t len, struct ms_error *err)
{
	UErrorCode st = U_ZERO_ERROR;
	UCaseMap *csm = NULL;
	int32_t n, cap;
	size_t i;
	int rc;

	if (all_ascii(s, len)) {
		rc = ms_buf_grow(out, len);
		if (rc < 0)
			return ms_error_set(err, rc, "out of memory");
		for (i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)s[i];

			out->buf[out->len + i] = (char)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
		}
		out->len += len;
		out->buf[out->len] = '\0';
		return 0;
	}
	if (len <= FOLD_SHORT) {
		/*
		 * Tokens are short: fold through UTF-16 on the stack, which needs
		 * no ICU object (opening a UCaseMap per token costs more than
		 * the folding).
		 */
		UChar a[FOLD_SHORT], b[FOLD_SHORT * 3];
		int32_t na = 0, nb;

		u_strFromUTF8(a, FOLD_SHORT, &na, s, (int32_t)len, &st);
		nb = u_strFoldCase(b, FOLD_SHORT * 3, a, na, U_FOLD_CASE_DEFAULT, &st);
		if (U_FAILURE(st))
			return ms_error_set(err, MS_EUNICODE, "case folding failed: %s",
			                    u_errorName(st));
		cap = nb * 3 + 1;
		rc = ms_buf_grow(out, (size_t)cap);
		if (rc < 0)
			return ms_error_set(err, rc, "out of memory");
		u_strToUTF8(out->buf + out->len, cap, &n, b, nb, &st);
		if (U_FAILURE(st))
			return ms_error_set(err, MS_EUNICODE, "case folding failed: %s",
			                    u_errorName(st));
		out->len += (size_t)n;
		out->buf[out->len] = '\0';
		return 0;
	}
	if (len > (size_t)INT32_MAX / 4)
		return ms_error_set(err, MS_ETOOBIG, "text of %zu bytes too long to case-fold",
		                    len);
	/* Folding can grow text (ß -> ss, ŉ -> ʼn): at most threefold in UTF-8. */
	cap = (int32_t)(len * 3 + 4);
	rc = ms_buf_grow(out, (size_t)cap);
	if (rc < 0)
		return ms_error_set(err, rc, "out of memory");
	csm = ucasemap_open(NULL, U_FOLD_CASE_DEFAULT, &st);
	if (U_FAILURE(st))
		return ms_error_set(err, MS_EUNICODE, "cannot open ICU case map: %s",
		                    u_errorName(st));
	n = ucasemap_utf8FoldCase(csm, out->buf + out->len, cap, s, (int32_t)len, &st);
	ucasemap_close(csm);
	if (U_FAILURE(st))
		return ms_error_set(err, MS_EUNICODE, "case folding failed: %s", u_errorName(st));
	out->len += (size_t)n;
	out->buf[out->len] = '\0';
	return 0;
}
