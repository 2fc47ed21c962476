/* SPDX-License-Identifier: MIT */
/*
 * Word tokens and folded keys for the dictionary and gazetteer lookups.
 *
 * A token is a maximal run of letters, digits and combining marks, judged
 * by ICU's character properties (ASCII takes a fast path), so token edges
 * coincide with PCRE2's UCP word boundaries. Keys are folded so that
 * spelling variants meet: ICU simple case folding, German umlauts expanded
 * (ä -> ae, so "Müller" = "Mueller"), ß -> ss, and other diacritics removed
 * through ICU's canonical decomposition (é -> e, ž -> z). Entries are also
 * folded with umlauts stripped (ä -> a), so that "Muller" in a text finds
 * "Müller". Not a general-purpose normaliser: ms_fold_append() is the one
 * for search indexes; this one is built for speed on every token of a
 * record (no UTF-16 round trip).
 */
#include "deid/detect_int.h"

#include <string.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/utf16.h>

#include "common/alloc.h"
#include "common/hash.h"
#include "common/utf8.h"

bool deid_cp_is_word(uint32_t cp)
{
	int8_t t;

	if (cp < 0x80)
		return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
	if (u_isalnum((UChar32)cp))
		return true;
	t = (int8_t)u_charType((UChar32)cp);
	return t == U_NON_SPACING_MARK || t == U_COMBINING_SPACING_MARK || t == U_ENCLOSING_MARK;
}

bool deid_cp_is_upper(uint32_t cp)
{
	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z';
	return u_isupper((UChar32)cp) || u_istitle((UChar32)cp);
}

static bool cp_is_lower(uint32_t cp)
{
	if (cp < 0x80)
		return cp >= 'a' && cp <= 'z';
	return u_islower((UChar32)cp);
}

bool deid_cp_is_letter(uint32_t cp)
{
	if (cp < 0x80)
		return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
	return u_isalpha((UChar32)cp);
}

/* Base letter of cp after canonical decomposition (é -> e); cp if none. */
static uint32_t base_letter(uint32_t cp)
{
	UErrorCode st = U_ZERO_ERROR;
	const UNormalizer2 *nfd = unorm2_getNFDInstance(&st);
	UChar buf[8];
	int32_t n, i;

	for (i = 0; i < 4 && U_SUCCESS(st); i++) {
		UChar32 c;
		int32_t k = 0;

		n = unorm2_getRawDecomposition(nfd, (UChar32)cp, buf, 8, &st);
		if (U_FAILURE(st) || n <= 0)
			break;
		U16_NEXT(buf, k, n, c);
		if ((uint32_t)c == cp)
			break;
		cp = (uint32_t)c;
	}
	return cp;
}

/* Appends the folded form of one code point. */
static int fold_cp(struct ms_buf *out, uint32_t cp, enum deid_fold_mode mode)
{
	int8_t t;

	if (cp < 0x80) {
		if (cp >= 'A' && cp <= 'Z')
			cp |= 0x20;
		return ms_buf_addch(out, (int)cp);
	}
	switch (cp) {
	case 0xC4: /* Ä */
	case 0xE4: /* ä */
		return ms_buf_adds(out, mode == DEID_FOLD_EXPAND ? "ae" : "a");
	case 0xD6: /* Ö */
	case 0xF6: /* ö */
		return ms_buf_adds(out, mode == DEID_FOLD_EXPAND ? "oe" : "o");
	case 0xDC: /* Ü */
	case 0xFC: /* ü */
		return ms_buf_adds(out, mode == DEID_FOLD_EXPAND ? "ue" : "u");
	case 0xDF:   /* ß */
	case 0x1E9E: /* capital sharp s */
		return ms_buf_adds(out, "ss");
	default:
		break;
	}
	t = (int8_t)u_charType((UChar32)cp);
	if (t == U_NON_SPACING_MARK || t == U_COMBINING_SPACING_MARK || t == U_ENCLOSING_MARK)
		return 0;
	cp = (uint32_t)u_foldCase((UChar32)cp, U_FOLD_CASE_DEFAULT);
	cp = base_letter(cp);
	if (cp < 0x80)
		return ms_buf_addch(out, (int)cp);
	return ms_utf8_put(out, cp);
}

int deid_fold_word(struct ms_buf *out, const char *s, size_t len, enum deid_fold_mode mode)
{
	size_t off = 0;

	while (off < len) {
		unsigned char c = (unsigned char)s[off];

		if (c < 0x80) {
			ms_buf_addch(out, c >= 'A' && c <= 'Z' ? c | 0x20 : c);
			off++;
			continue;
		}
		fold_cp(out, ms_utf8_next(s, len, &off), mode);
	}
	return ms_buf_status(out);
}

int deid_fold_phrase(struct ms_buf *out, const char *s, size_t len, enum deid_fold_mode mode,
                     size_t *n_words_out)
{
	size_t off = 0, n_words = 0;
	bool in_word = false;

	while (off < len) {
		uint32_t cp = ms_utf8_next(s, len, &off);

		if (deid_cp_is_word(cp)) {
			if (!in_word && n_words++)
				ms_buf_addch(out, ' ');
			in_word = true;
			fold_cp(out, cp, mode);
		} else {
			in_word = false;
		}
	}
	if (n_words_out)
		*n_words_out = n_words;
	return ms_buf_status(out);
}

void deid_toks_release(struct deid_toks *t)
{
	if (!t)
		return;
	ms_free(t->v);
	t->v = NULL;
	t->n = 0;
	t->cap = 0;
	ms_buf_release(&t->keys);
}

/* What read_token() learns about a token while reading it. */
struct tok_state {
	uint64_t hash; /* FNV-1a of the key so far */
	uint32_t n_chars, n_upper, n_letters;
	unsigned flags;
	bool all_digits;
};

#define TOK_FNV_OFFSET 14695981039346656037ull
#define TOK_FNV_PRIME  1099511628211ull

/* Finishes the token [start, end): flags from its counts and neighbours. */
static int tok_end(struct deid_toks *t, const char *s, size_t len, size_t start, size_t end,
                   size_t key, const struct tok_state *st)
{
	struct deid_tok *k;
	unsigned flags = st->flags | (st->all_digits ? DEID_TOK_DIGITS : 0);

	if (t->n == t->cap && MS_GROW(t->v, t->cap, t->n + 1))
		return MS_ENOMEM;
	k = &t->v[t->n++];
	if (st->n_letters == st->n_chars)
		flags |= DEID_TOK_ALPHA;
	if (st->n_letters >= 2 && st->n_upper == st->n_letters)
		flags |= DEID_TOK_ALLCAPS;
	if (start > 0 && s[start - 1] == '-')
		flags |= DEID_TOK_HYPHEN_BEFORE;
	if (end < len && s[end] == '-')
		flags |= DEID_TOK_HYPHEN_AFTER;
	if (end < len && s[end] == '.')
		flags |= DEID_TOK_DOT_AFTER;
	k->start = start;
	k->end = end;
	k->key = key;
	k->key_len = (uint32_t)(t->keys.len - key);
	k->n_chars = st->n_chars;
	k->hash = st->hash;
	k->flags = flags;
	k->gaz = 0;
	return ms_buf_addch(&t->keys, '\0');
}

/* ASCII classes: 0 other, 1 digit, 2 lower-case letter, 3 upper-case letter */
enum { ASC_OTHER = 0, ASC_DIGIT, ASC_LOWER, ASC_UPPER };

static const unsigned char ascii_class[128] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0,
};

static bool ascii_word(unsigned char c)
{
	return ascii_class[c] != ASC_OTHER;
}

/* Folded key of the German letters U+00C4 U+00D6 U+00DC U+00DF U+00E4 U+00F6
 * U+00FC, given the second byte of their UTF-8 form (first byte 0xC3). */
static const char *umlaut_key(unsigned char c2)
{
	switch (c2) {
	case 0x84: /* Ä */
	case 0xA4: /* ä */
		return "ae";
	case 0x96: /* Ö */
	case 0xB6: /* ö */
		return "oe";
	case 0x9C: /* Ü */
	case 0xBC: /* ü */
		return "ue";
	case 0x9F: /* ß */
		return "ss";
	default:
		return NULL;
	}
}

/* Appends one byte of the key to the key buffer (grown beforehand) and the hash. */
static inline void tok_key_byte(struct deid_toks *t, struct tok_state *st, unsigned char c)
{
	t->keys.buf[t->keys.len++] = (char)c;
	st->hash = (st->hash ^ c) * TOK_FNV_PRIME;
}

/* Counts a letter; the first character's case sets DEID_TOK_UPPER or _LOWER. */
static inline void tok_letter(struct tok_state *st, bool upper, bool lower, bool first)
{
	st->n_letters++;
	st->all_digits = false;
	if (upper) {
		st->n_upper++;
		if (first)
			st->flags |= DEID_TOK_UPPER;
	} else if (lower && first) {
		st->flags |= DEID_TOK_LOWER;
	}
}

/* An ASCII letter or digit of class cls. */
static inline void tok_ascii(struct deid_toks *t, struct tok_state *st, unsigned char c,
                             unsigned char cls, bool first)
{
	if (cls == ASC_UPPER) {
		tok_letter(st, true, false, first);
		c |= 0x20;
	} else if (cls == ASC_LOWER) {
		tok_letter(st, false, true, first);
	}
	tok_key_byte(t, st, c);
}

/* ä ö ü ß Ä Ö Ü (second UTF-8 byte c2): the common non-ASCII letters, without ICU. */
static inline void tok_umlaut(struct deid_toks *t, struct tok_state *st, unsigned char c2,
                              bool first)
{
	const char *uk = umlaut_key(c2);

	/* the capitals come before ß (0x9F) */
	tok_letter(st, c2 < 0x9F, c2 >= 0x9F, first);
	tok_key_byte(t, st, (unsigned char)uk[0]);
	tok_key_byte(t, st, (unsigned char)uk[1]);
}

/* Any other word character (ICU); its key may grow the buffer. */
static int tok_other(struct deid_toks *t, struct tok_state *st, uint32_t cp, bool first)
{
	size_t k0 = t->keys.len, k;

	st->all_digits = false;
	if (deid_cp_is_letter(cp)) {
		bool upper = deid_cp_is_upper(cp);

		/* cp_is_lower() only where its answer is used */
		tok_letter(st, upper, !upper && first && cp_is_lower(cp), first);
	}
	if (fold_cp(&t->keys, cp, DEID_FOLD_EXPAND))
		return ms_buf_status(&t->keys);
	for (k = k0; k < t->keys.len; k++)
		st->hash = (st->hash ^ (unsigned char)t->keys.buf[k]) * TOK_FNV_PRIME;
	return 0;
}

/*
 * Adds the character at s[*off] to the token if it is a word character and
 * moves *off past it; returns 1 if it did, 0 at the token's end, or a
 * negative status. first: the token's first character (the case flags).
 */
static inline int tok_char(struct deid_toks *t, struct tok_state *st, const char *s, size_t len,
                           size_t *off, bool first)
{
	size_t o = *off;
	unsigned char c;
	int rc;

	if (o >= len)
		return 0;
	c = (unsigned char)s[o];
	if (c < 0x80) {
		unsigned char cls = ascii_class[c];

		if (cls == ASC_OTHER)
			return 0;
		tok_ascii(t, st, c, cls, first);
		o++;
	} else if (c == 0xC3 && o + 1 < len && umlaut_key((unsigned char)s[o + 1])) {
		tok_umlaut(t, st, (unsigned char)s[o + 1], first);
		o += 2;
	} else {
		size_t next = o;
		uint32_t cp = ms_utf8_next(s, len, &next);

		if (!deid_cp_is_word(cp))
			return 0;
		rc = tok_other(t, st, cp, first);
		if (rc)
			return rc;
		o = next;
	}
	st->n_chars++;
	*off = o;
	return 1;
}

/*
 * The ASCII letters and digits from s[o] on, after a token's first
 * character: tok_ascii() for each, in one loop with the counts and the
 * hash in registers. Returns where the run ends.
 */
static size_t tok_ascii_run(struct deid_toks *t, struct tok_state *st, const char *s, size_t len,
                            size_t o)
{
	char *key = t->keys.buf + t->keys.len;
	uint64_t hash = st->hash;
	uint32_t letters = 0, upper = 0;
	size_t o0 = o;

	while (o < len) {
		unsigned char c = (unsigned char)s[o];
		unsigned char cls = c < 0x80 ? ascii_class[c] : ASC_OTHER;

		if (cls == ASC_OTHER)
			break;
		if (cls != ASC_DIGIT) {
			letters++;
			if (cls == ASC_UPPER) {
				upper++;
				c |= 0x20;
			}
		}
		*key++ = (char)c;
		hash = (hash ^ c) * TOK_FNV_PRIME;
		o++;
	}
	t->keys.len += o - o0;
	st->hash = hash;
	st->n_chars += (uint32_t)(o - o0);
	st->n_letters += letters;
	st->n_upper += upper;
	if (letters)
		st->all_digits = false;
	return o;
}

/*
 * Reads the token starting at s[*off] (a word character) into t. ASCII
 * bytes take a fast path straight into the key buffer, which the caller has
 * grown to hold every key (folding at most doubles a character, plus NULs).
 * After the first character, runs of ASCII letters and digits take
 * tok_ascii_run().
 */
static int read_token(struct deid_toks *t, const char *s, size_t len, size_t *off, bool line_start)
{
	size_t start = *off, o = *off, key = t->keys.len;
	struct tok_state st = { .hash = TOK_FNV_OFFSET, .all_digits = true };
	bool first;
	int rc;

	if (line_start)
		st.flags = DEID_TOK_LINE_START;
	/* one call site, so that tok_char is inlined */
	for (first = true;; first = false) {
		if (!first)
			o = tok_ascii_run(t, &st, s, len, o);
		rc = tok_char(t, &st, s, len, &o, first);
		if (rc <= 0)
			break;
	}
	if (rc < 0)
		return rc;
	*off = o;
	return tok_end(t, s, len, start, o, key, &st);
}

int deid_tokenize(struct deid_toks *t, const char *s, size_t len, struct ms_error *err)
{
	size_t off = 0, need;
	bool line_start = true;
	int rc;

	t->n = 0;
	t->text = s;
	ms_buf_reset(&t->keys);
	if (!ms_size_mul(&need, len, 3) || !ms_size_add(&need, need, 64)) {
		rc = MS_ENOMEM;
		goto fail;
	}
	rc = ms_buf_grow(&t->keys, need);
	if (rc)
		goto fail;
	while (off < len) {
		unsigned char c = (unsigned char)s[off];
		size_t next;
		uint32_t cp;

		if (c < 0x80) {
			if (ascii_word(c)) {
				rc = read_token(t, s, len, &off, line_start);
				if (rc)
					goto fail;
				line_start = false;
				continue;
			}
			if (c == '\n')
				line_start = true;
			else if (c != ' ' && c != '\t')
				line_start = false;
			off++;
			continue;
		}
		next = off;
		cp = ms_utf8_next(s, len, &next);
		if (deid_cp_is_word(cp)) {
			rc = read_token(t, s, len, &off, line_start);
			if (rc)
				goto fail;
		} else {
			off = next;
		}
		line_start = false;
	}
	return 0;
fail:
	return ms_error_set(err, rc, "%s", rc == MS_ENOMEM ? "out of memory" : ms_status_str(rc));
}
