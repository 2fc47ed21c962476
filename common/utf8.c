/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 validation, Latin-1/CP1252 decoding, NFC and search folding via ICU.
 * Not for tokenisation (ner/) or regular expressions (deid/).
 */
#include "common/utf8.h"

#include <stdint.h>
#include <string.h>
#include <unicode/ucasemap.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "common/alloc.h"
#include "common/arena.h"

const char *ms_encoding_name(enum ms_encoding enc)
{
	switch (enc) {
	case MS_ENC_LATIN1:
		return "ISO-8859-1";
	case MS_ENC_CP1252:
		return "windows-1252";
	case MS_ENC_UTF8:
	default:
		return "UTF-8";
	}
}

/* The offset after the ASCII run at p[i] (p[i] < 0x80), eight bytes at a time. */
static size_t skip_ascii(const unsigned char *p, size_t i, size_t len)
{
	uint64_t w;

	while (len - i >= 8) {
		memcpy(&w, p + i, 8);
		if (w & 0x8080808080808080u)
			break;
		i += 8;
	}
	while (i < len && p[i] < 0x80)
		i++;
	return i;
}

bool ms_utf8_valid(const char *s, size_t len, size_t *bad_off)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = p[i];
		size_t n, k;
		unsigned cp, min;

		if (c < 0x80) {
			i = skip_ascii(p, i, len);
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
			min = 0x80;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
			min = 0x800;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			goto bad;
		}
		if (len - i <= n)
			goto bad;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				goto bad;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			goto bad;
		i += n + 1;
	}
	return true;
bad:
	if (bad_off)
		*bad_off = i;
	return false;
}

int ms_utf8_put(struct ms_buf *out, unsigned cp)
{
	char tmp[4];
	size_t n;

	if (cp < 0x80) {
		tmp[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		tmp[0] = (char)(0xC0 | (cp >> 6));
		tmp[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		tmp[0] = (char)(0xE0 | (cp >> 12));
		tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		tmp[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		tmp[0] = (char)(0xF0 | (cp >> 18));
		tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		tmp[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return ms_buf_add(out, tmp, n);
}

unsigned ms_utf8_next(const char *s, size_t len, size_t *off)
{
	UChar32 c;
	int32_t i = (int32_t)*off;

	/* callers pass validated text; ICU's macro still bounds-checks */
	U8_NEXT((const uint8_t *)s, i, (int32_t)len, c);
	*off = (size_t)i;
	return c < 0 ? 0xFFFD : (unsigned)c;
}

/* CP1252 0x80..0x9F; 0 marks the five undefined bytes (mapped to U+FFFD). */
static const unsigned short cp1252_high[32] = {
	0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
	0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
	0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

int ms_decode_append(struct ms_buf *out, const char *s, size_t len, enum ms_encoding enc)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, start = 0;
	int rc;

	if (enc == MS_ENC_UTF8)
		return ms_buf_add(out, s, len);
	for (i = 0; i < len; i++) {
		unsigned cp;

		if (p[i] < 0x80)
			continue;
		rc = ms_buf_add(out, s + start, i - start);
		if (rc)
			return rc;
		cp = p[i];
		if (enc == MS_ENC_CP1252 && cp >= 0x80 && cp <= 0x9F)
			cp = cp1252_high[cp - 0x80] ? cp1252_high[cp - 0x80] : 0xFFFD;
		rc = ms_utf8_put(out, cp);
		if (rc)
			return rc;
		start = i + 1;
	}
	return ms_buf_add(out, s + start, len - start);
}

/*
 * True if s is well-formed UTF-8 with every code point below U+0300: such
 * text is already NFC (all of them have NFC_Quick_Check=Yes and canonical
 * combining class 0, and nothing before U+0300 composes with a following
 * character of that range), which covers German text and spares ICU.
 */
bool ms_nfc_by_range(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		if (p[i] < 0x80) {
			i = skip_ascii(p, i, len);
			continue;
		}
		/* C2..CB lead U+0080..U+02FF */
		if (p[i] < 0xC2 || p[i] > 0xCB || len - i < 2 || (p[i + 1] & 0xC0) != 0x80)
			return false;
		i += 2;
	}
	return true;
}

/* UTF-8 -> UTF-16 into a fresh ms_malloc'd array. */
static int to_utf16(UChar **out, int32_t *n_out, const char *s, size_t len, struct ms_error *err)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t n = 0;
	UChar *u;

	if (len > (size_t)INT32_MAX / 2)
		return ms_error_set(err, MS_ETOOBIG, "text of %zu bytes is too large to normalise",
		                    len);
	u_strFromUTF8(NULL, 0, &n, s, (int32_t)len, &st);
	if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
		return ms_error_set(err, MS_EUNICODE, "cannot convert text to UTF-16: %s",
		                    u_errorName(st));
	st = U_ZERO_ERROR;
	u = ms_malloc(((size_t)n + 1) * sizeof(*u));
	if (!u)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	u_strFromUTF8(u, n + 1, NULL, s, (int32_t)len, &st);
	if (U_FAILURE(st)) {
		ms_free(u);
		return ms_error_set(err, MS_EUNICODE, "cannot convert text to UTF-16: %s",
		                    u_errorName(st));
	}
	*out = u;
	*n_out = n;
	return 0;
}

static int append_utf16(struct ms_buf *out, const UChar *u, int32_t n, struct ms_error *err)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t need = 0;
	int rc;

	u_strToUTF8(NULL, 0, &need, u, n, &st);
	if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
		return ms_error_set(err, MS_EUNICODE, "cannot convert text to UTF-8: %s",
		                    u_errorName(st));
	st = U_ZERO_ERROR;
	rc = ms_buf_grow(out, (size_t)need);
	if (rc)
		return ms_error_set(err, rc, "%s", ms_status_str(rc));
	u_strToUTF8(out->buf + out->len, need + 1, NULL, u, n, &st);
	if (U_FAILURE(st))
		return ms_error_set(err, MS_EUNICODE, "cannot convert text to UTF-8: %s",
		                    u_errorName(st));
	out->len += (size_t)need;
	out->buf[out->len] = '\0';
	return 0;
}

int ms_nfc_append(struct ms_buf *out, const char *s, size_t len, struct ms_error *err)
{
	UErrorCode st = U_ZERO_ERROR;
	const UNormalizer2 *nfc;
	UChar *u = NULL, *v = NULL;
	int32_t n = 0, m;
	int rc;

	if (ms_nfc_by_range(s, len)) {
		rc = ms_buf_add(out, s, len);
		return rc ? ms_error_set(err, rc, "%s", ms_status_str(rc)) : 0;
	}
	nfc = unorm2_getNFCInstance(&st);
	if (U_FAILURE(st))
		return ms_error_set(err, MS_EUNICODE, "cannot load NFC data: %s", u_errorName(st));
	rc = to_utf16(&u, &n, s, len, err);
	if (rc)
		return rc;
	if (unorm2_quickCheck(nfc, u, n, &st) == UNORM_YES && U_SUCCESS(st)) {
		rc = ms_buf_add(out, s, len);
		if (rc)
			rc = ms_error_set(err, rc, "%s", ms_status_str(rc));
		goto out;
	}
	st = U_ZERO_ERROR;
	/* NFC of NFD-heavy text can grow at most 3x in UTF-16 units */
	m = n * 3 + 16;
	v = ms_malloc((size_t)m * sizeof(*v));
	if (!v) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	m = unorm2_normalize(nfc, u, n, v, m, &st);
	if (U_FAILURE(st)) {
		rc = ms_error_set(err, MS_EUNICODE, "cannot normalise text: %s", u_errorName(st));
		goto out;
	}
	rc = append_utf16(out, v, m, err);
out:
	ms_free(u);
	ms_free(v);
	return rc;
}

int ms_nfc_dup(struct ms_arena *a, struct ms_buf *norm, const char *s, size_t len, const char **out,
               struct ms_error *err)
{
	int rc;

	if (ms_nfc_by_range(s, len)) {
		*out = ms_arena_strndup(a, s, len); /* no copy through norm */
	} else {
		ms_buf_reset(norm);
		rc = ms_nfc_append(norm, s, len, err);
		if (rc)
			return rc;
		*out = ms_arena_strndup(a, norm->buf, norm->len);
	}
	return *out ? 0 : ms_error_set(err, MS_ENOMEM, "out of memory");
}

int ms_text_import(struct ms_buf *out, const char *s, size_t len, struct ms_error *err)
{
	size_t bad = 0;

	if (!ms_utf8_valid(s, len, &bad)) {
		ms_error_set_off(err, bad);
		return ms_error_set(err, MS_EUNICODE, "invalid UTF-8 at byte %zu", bad);
	}
	return ms_nfc_append(out, s, len, err);
}

int ms_fold_append(struct ms_buf *out, const char *s, size_t len, struct ms_error *err)
{
	UErrorCode st = U_ZERO_ERROR;
	const UNormalizer2 *nfkd;
	UChar *u = NULL, *f = NULL, *d = NULL;
	int32_t n = 0, nf, nd, i, w = 0;
	int rc;
	bool space = true;

	rc = to_utf16(&u, &n, s, len, err);
	if (rc)
		return rc;
	/* full case folding maps ß to ss and can at most triple the length */
	f = ms_malloc(((size_t)n * 3 + 1) * sizeof(*f));
	d = ms_malloc(((size_t)n * 9 + 16) * sizeof(*d));
	if (!f || !d) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	nf = u_strFoldCase(f, n * 3 + 1, u, n, U_FOLD_CASE_DEFAULT, &st);
	if (U_FAILURE(st)) {
		rc = ms_error_set(err, MS_EUNICODE, "cannot fold case: %s", u_errorName(st));
		goto out;
	}
	nfkd = unorm2_getNFKDInstance(&st);
	if (U_SUCCESS(st))
		nd = unorm2_normalize(nfkd, f, nf, d, n * 9 + 16, &st);
	if (U_FAILURE(st)) {
		rc = ms_error_set(err, MS_EUNICODE, "cannot decompose text: %s", u_errorName(st));
		goto out;
	}
	/* drop combining marks (the diacritics), collapse white space */
	for (i = 0; i < nd; i++) {
		UChar c = d[i];

		if (u_getCombiningClass(c) != 0 || u_charType(c) == U_NON_SPACING_MARK)
			continue;
		if (u_isUWhiteSpace(c)) {
			if (!space)
				d[w++] = ' ';
			space = true;
			continue;
		}
		d[w++] = c;
		space = false;
	}
	if (w && d[w - 1] == ' ')
		w--;
	rc = append_utf16(out, d, w, err);
out:
	ms_free(u);
	ms_free(f);
	ms_free(d);
	return rc;
}
