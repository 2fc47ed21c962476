/* SPDX-License-Identifier: MIT */
/*
 * Surrogates: realistic German replacements for PHI, chosen by keyed hashing
 * so that shards, runs and machines with the same key agree without sharing
 * any state. Not the text rebuilding (deid/replace.c) and not detection.
 *
 * Rules (DEID_SUR_RULES_VERSION; changing one changes the fingerprint):
 *
 * - Names (PATIENT, STAFF, PERSON_OTHER) are replaced word by word, so that
 *   "Maria Müller", "Frau Müller" and "Müller, M." agree. Each name part is
 *   hashed with the scope (the group, else the document id) and its folded
 *   form (case folded, ä/ö/ü/ß as ae/oe/ue/ss, other diacritics dropped):
 *   the same person gets the same surrogate throughout a patient's
 *   documents, the same name in another patient a different one. Given
 *   names come from the female or male list (gender from the first-name
 *   lists when they are sure, so a name keeps its surrogate in any context;
 *   else from the span, or a "Frau"/"Herr" in or just before it; unknown:
 *   both lists), family names from the surname list. Which part is which: the record's
 *   own fields first, then "Family, Given", then the last word is the family
 *   name; a lone word is a given name only if it is a known first name and
 *   not a known surname. Titles and salutations ("Dr.", "Frau") and
 *   lower-case particles ("von") stay, initials become another letter,
 *   upper-case names stay upper-case.
 * - Dates (DATE, BIRTHDATE) move by the scope's shift, ±[30, 365] days, so
 *   intervals within a patient hold; the format stays: "3. März 2021",
 *   "03.03.21", "3.3.2021", "2021-03-03", "März 2021", "03/2021", "03.03.",
 *   "Mo., 3. März 2021" (the weekday is recomputed), a bare year (moved one
 *   year in the shift's direction); a trailing time is kept; a line break
 *   inside the date ("August\n14, 2024") stays where it was. Month names
 *   stay English when the date is English ("Nov 17 1994", "3 October"). Anything else
 *   gets the format-preserving character replacement.
 * - IDs, phone numbers, ZIP codes and OTHER keep length and character
 *   classes: digits become digits (leading zeros stay, the first other digit
 *   is not 0), letters (IDs, OTHER) ASCII letters of the same case; phone
 *   numbers keep a "+" and the two digits after it.
 * - Ages up to 89 stay; above, the number becomes "über 89" ("92 Jahre" ->
 *   "über 89 Jahre", as HIPAA's safe harbour aggregates them).
 * - Cities, streets (the house number as digits), countries, professions
 *   from their lists; hospitals "Klinikum <city>" and the like,
 *   organisations "<surname> GmbH" and the like, a university or college
 *   "Universität <city>" and the like; e-mail addresses
 *   "<given>.<family>@example.org"; URLs on example.org. These are hashed
 *   without scope: a hospital is the same in every patient.
 * - A surrogate equal to its original (folded) is re-drawn; where nothing
 *   else can differ, the result is the tag "[LABEL]". Kept on purpose: a
 *   name span that holds only titles and salutations ("Dr.", "Frau").
 */
#include "deid/replace_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unicode/uchar.h>

#include "common/alloc.h"
#include "common/utf8.h"

/* make() keeps the text on purpose (not a failed surrogate) */
#define SUR_KEPT 1

#define NAME_TABLE_BITS 14 /* 16384 slots for ~4200 first and last names */
#define MAX_ATTEMPTS    8

enum name_flags { NAME_FEMALE = 1u << 0, NAME_MALE = 1u << 1, NAME_SURNAME = 1u << 2 };

struct name_slot {
	const char *key; /* folded, in s->arena */
	size_t len;
	unsigned flags;
};

struct folded_list {
	const char **v;
	size_t *len;
};

/* A name part from the record's fields, folded, with its role. */
struct field_part {
	size_t off, len; /* in s->field_buf */
	bool given;
};

struct deid_sur {
	struct deid_hmac h;
	struct ms_arena arena; /* folded lists and the name table: live as long as s */
	struct folded_list lists[DEID_SUR_LIST_COUNT];
	struct name_slot table[1u << NAME_TABLE_BITS];

	/* per document */
	struct ms_buf field_buf;
	struct field_part *parts;
	size_t n_parts, cap_parts;

	/* scratch */
	struct ms_buf fold_tmp, fold_a, fold_b, tok_buf;
	struct name_tok *toks;
	size_t cap_toks;
};

/* ---- folding ----------------------------------------------------------- */

/*
 * Appends the folded form of s (see the file comment) to out. German umlauts
 * are spelled out first, so "Müller" and "Mueller" agree; ASCII then takes a
 * fast path, anything else goes through ICU (ms_fold_append).
 */
static int fold_append(struct ms_buf *out, struct ms_buf *tmp, const char *s, size_t len,
                       struct ms_error *err)
{
	const unsigned char *p = (const unsigned char *)s;
	bool ascii = true, space = true;
	size_t i = 0, keep;

	ms_buf_reset(tmp);
	while (i < len) {
		unsigned char c = p[i];
		const char *rep = NULL;

		if (c == 0xC3 && i + 1 < len) {
			switch (p[i + 1]) {
			case 0xA4:
			case 0x84:
				rep = "ae";
				break;
			case 0xB6:
			case 0x96:
				rep = "oe";
				break;
			case 0xBC:
			case 0x9C:
				rep = "ue";
				break;
			case 0x9F:
				rep = "ss";
				break;
			default:
				break;
			}
			if (rep) {
				ms_buf_add(tmp, rep, 2);
				i += 2;
				space = false;
				continue;
			}
		}
		if (c >= 0x80) {
			ascii = false;
			ms_buf_addch(tmp, c);
			space = false;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (!space)
				ms_buf_addch(tmp, ' ');
			space = true;
		} else {
			ms_buf_addch(tmp, c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
			space = false;
		}
		i++;
	}
	if (ms_buf_status(tmp))
		return ms_error_set(err, ms_buf_status(tmp), "out of memory");
	keep = tmp->len;
	if (keep && tmp->buf[keep - 1] == ' ')
		keep--;
	if (ascii) {
		if (ms_buf_add(out, tmp->buf, keep))
			return ms_error_set(err, ms_buf_status(out), "out of memory");
		return 0;
	}
	return ms_fold_append(out, tmp->buf, keep, err);
}

static int fold(struct deid_sur *s, struct ms_buf *out, const char *str, size_t len,
                struct ms_error *err)
{
	ms_buf_reset(out);
	return fold_append(out, &s->fold_tmp, str, len, err);
}

static bool mem_eq(const char *a, size_t a_len, const char *b, size_t b_len)
{
	return a_len == b_len && memcmp(a, b, a_len) == 0;
}

/* ---- setup ------------------------------------------------------------- */

static struct name_slot *name_find(struct deid_sur *s, const char *key, size_t len)
{
	size_t mask = ((size_t)1 << NAME_TABLE_BITS) - 1;
	size_t i = (size_t)ms_fnv1a(key, len) & mask;

	while (s->table[i].key && !mem_eq(s->table[i].key, s->table[i].len, key, len))
		i = (i + 1) & mask;
	return &s->table[i];
}

static unsigned name_flags(struct deid_sur *s, const char *key, size_t len)
{
	const struct name_slot *slot = name_find(s, key, len);

	return slot->key ? slot->flags : 0;
}

static int fold_lists(struct deid_sur *s, struct ms_error *err)
{
	static const unsigned flag_of[DEID_SUR_LIST_COUNT] = {
		[DEID_SUR_FIRST_FEMALE] = NAME_FEMALE,
		[DEID_SUR_FIRST_MALE] = NAME_MALE,
		[DEID_SUR_LAST] = NAME_SURNAME,
	};
	size_t l, i, n_names = 0;
	int rc;

	for (l = 0; l < DEID_SUR_LIST_COUNT; l++) {
		const struct deid_sur_list *list = &deid_sur_lists[l];
		struct folded_list *fl = &s->lists[l];

		fl->v = ms_arena_calloc(&s->arena, list->n, sizeof(*fl->v));
		fl->len = ms_arena_calloc(&s->arena, list->n, sizeof(*fl->len));
		if (!fl->v || !fl->len)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		for (i = 0; i < list->n; i++) {
			struct name_slot *slot;

			rc = fold(s, &s->fold_a, list->v[i], strlen(list->v[i]), err);
			if (rc)
				return rc;
			fl->v[i] = ms_arena_strndup(&s->arena, s->fold_a.buf, s->fold_a.len);
			if (!fl->v[i])
				return ms_error_set(err, MS_ENOMEM, "out of memory");
			fl->len[i] = s->fold_a.len;
			if (!flag_of[l])
				continue;
			slot = name_find(s, fl->v[i], fl->len[i]);
			if (!slot->key) {
				/* ~4200 names: the table stays under half full */
				if (++n_names >= ((size_t)1 << NAME_TABLE_BITS) / 2)
					return ms_error_set(err, MS_ETOOBIG,
					                    "surrogate name lists too long");
				slot->key = fl->v[i];
				slot->len = fl->len[i];
			}
			slot->flags |= flag_of[l];
		}
	}
	return 0;
}

int deid_sur_new(struct deid_sur **out, const struct deid_key *key, struct ms_error *err)
{
	struct deid_sur *s;
	int rc;

	*out = NULL;
	s = ms_calloc(1, sizeof(*s));
	if (!s)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	deid_hmac_init(&s->h, key);
	ms_arena_init(&s->arena, (size_t)64 * 1024);
	ms_buf_init(&s->field_buf, 0);
	ms_buf_init(&s->fold_tmp, 0);
	ms_buf_init(&s->fold_a, 0);
	ms_buf_init(&s->fold_b, 0);
	ms_buf_init(&s->tok_buf, 0);
	/*
	 * Own memory from the start: ms_buf_reset() on a buffer that still
	 * points at the shared empty string writes there, a data race when
	 * replacers run on several threads.
	 */
	if (ms_buf_grow(&s->field_buf, 64) || ms_buf_grow(&s->fold_tmp, 64) ||
	    ms_buf_grow(&s->fold_a, 64) || ms_buf_grow(&s->fold_b, 64) ||
	    ms_buf_grow(&s->tok_buf, 64))
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	else
		rc = fold_lists(s, err);
	if (rc) {
		deid_sur_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void deid_sur_free(struct deid_sur *s)
{
	if (!s)
		return;
	deid_hmac_wipe(&s->h);
	ms_arena_release(&s->arena);
	ms_buf_release(&s->field_buf);
	ms_buf_release(&s->fold_tmp);
	ms_buf_release(&s->fold_a);
	ms_buf_release(&s->fold_b);
	ms_buf_release(&s->tok_buf);
	ms_free(s->parts);
	ms_free(s->toks);
	ms_free(s);
}

const struct deid_hmac *deid_sur_hmac(const struct deid_sur *s)
{
	return &s->h;
}

/* ---- characters -------------------------------------------------------- */

static bool is_letter(unsigned cp)
{
	return cp < 0x80 ? (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z' : u_isalpha((UChar32)cp) != 0;
}

enum casing { CASE_ASIS = 0, CASE_UPPER, CASE_LOWER };

/* Upper when at least two letters and none lower-case; lower when none upper. */
static enum casing casing_of(const char *s, size_t len)
{
	size_t off = 0, n_letters = 0;
	bool upper = false, lower = false;

	while (off < len) {
		unsigned cp = ms_utf8_next(s, len, &off);

		if (!is_letter(cp))
			continue;
		n_letters++;
		if (u_isupper((UChar32)cp))
			upper = true;
		else if (u_islower((UChar32)cp))
			lower = true;
	}
	if (upper && !lower && n_letters >= 2)
		return CASE_UPPER;
	if (lower && !upper)
		return CASE_LOWER;
	return CASE_ASIS;
}

static void put_cased(struct ms_buf *out, const char *s, size_t len, enum casing c)
{
	size_t off = 0;

	if (c == CASE_ASIS) {
		ms_buf_add(out, s, len);
		return;
	}
	while (off < len) {
		unsigned cp = ms_utf8_next(s, len, &off);
		UChar32 m = c == CASE_UPPER ? u_toupper((UChar32)cp) : u_tolower((UChar32)cp);

		(void)ms_utf8_put(out, (unsigned)m);
	}
}

/*
 * A keyed byte stream: HMAC(domain, s, attempt:block) blocks, so strings of
 * any length get fresh bytes and attempts differ.
 */
struct keystream {
	const struct deid_hmac *h;
	const char *domain;
	const char *s;
	size_t len;
	unsigned attempt, block;
	unsigned char buf[MS_SHA256_LEN];
	size_t pos;
};

static void keystream_init(struct keystream *ks, const struct deid_hmac *h, const char *domain,
                           const char *s, size_t len, unsigned attempt)
{
	ks->h = h;
	ks->domain = domain;
	ks->s = s;
	ks->len = len;
	ks->attempt = attempt;
	ks->block = 0;
	ks->pos = sizeof(ks->buf);
}

/* v in decimal at p (20 characters at most, no NUL); returns their number. */
static size_t put_digits(char *p, unsigned long v)
{
	char rev[20];
	size_t n = 0, i;

	do {
		rev[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		p[i] = rev[n - 1 - i];
	return n;
}

static unsigned keystream_byte(struct keystream *ks)
{
	if (ks->pos == sizeof(ks->buf)) {
		/* "attempt:block", as "%u:%u" would print it, without snprintf */
		char tag[32];
		size_t n = put_digits(tag, ks->attempt);

		tag[n++] = ':';
		n += put_digits(tag + n, ks->block++);
		deid_hmac2(ks->h, ks->buf, ks->domain, ks->s, ks->len, tag, n);
		ks->pos = 0;
	}
	return ks->buf[ks->pos++];
}

int deid_sur_chars(const struct deid_hmac *h, struct ms_buf *out, const char *domain, const char *s,
                   size_t len, unsigned attempt, bool letters)
{
	struct keystream ks;
	size_t off = 0;
	bool in_digits = false, leading = false, after_plus = false;
	unsigned kept_cc = 0;

	keystream_init(&ks, h, domain, s, len, attempt);
	while (off < len) {
		size_t at = off;
		unsigned cp = ms_utf8_next(s, len, &off);

		if (cp >= '0' && cp <= '9') {
			if (!in_digits) {
				leading = true;
				in_digits = true;
			}
			/* a phone number's country code ("+49") is not identifying */
			if (after_plus && kept_cc < 2) {
				kept_cc++;
				ms_buf_addch(out, (int)cp);
				continue;
			}
			if (leading && cp == '0') {
				ms_buf_addch(out, '0');
				continue;
			}
			if (leading) {
				leading = false;
				ms_buf_addch(out, '1' + (int)(keystream_byte(&ks) % 9));
			} else {
				ms_buf_addch(out, '0' + (int)(keystream_byte(&ks) % 10));
			}
			continue;
		}
		in_digits = false;
		after_plus = !letters && cp == '+';
		kept_cc = 0;
		if (letters && is_letter(cp)) {
			unsigned r = keystream_byte(&ks) % 26;

			if (u_isupper((UChar32)cp))
				ms_buf_addch(out, 'A' + (int)r);
			else
				ms_buf_addch(out, 'a' + (int)r);
			continue;
		}
		ms_buf_add(out, s + at, off - at);
	}
	return ms_buf_status(out);
}

/* ---- dates ------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static long days_from_civil(long y, unsigned m, unsigned d)
{
	long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

static void civil_from_days(long z, long *y, unsigned *m, unsigned *d)
{
	long era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (long)yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(long y, unsigned m)
{
	static const unsigned n[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (m < 1 || m > 12)
		return 0;
	return m == 2 && leap ? 29 : n[m - 1];
}

static const char *const month_full[12] = { "Januar",    "Februar", "März",     "April",
	                                    "Mai",       "Juni",    "Juli",     "August",
	                                    "September", "Oktober", "November", "Dezember" };
static const char *const month_abbr[12] = { "Jan", "Feb", "Mär", "Apr", "Mai", "Jun",
	                                    "Jul", "Aug", "Sep", "Okt", "Nov", "Dez" };
/* English month names, for dates of English-language interfaces ("Nov 17 1994"). */
static const char *const month_en_full[12] = { "January",   "February", "March",    "April",
	                                       "May",       "June",     "July",     "August",
	                                       "September", "October",  "November", "December" };
static const char *const month_en_abbr[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const wday_full[7] = { "Montag",  "Dienstag", "Mittwoch", "Donnerstag",
	                                  "Freitag", "Samstag",  "Sonntag" };
static const char *const wday_abbr[7] = { "Mo", "Di", "Mi", "Do", "Fr", "Sa", "So" };

/* Folded spellings: month number (1-12) or weekday (1-7 = Monday-Sunday). */
struct word_form {
	const char *folded;
	unsigned value;
	unsigned style; /* WORD_FULL, WORD_ABBR, WORD_AUSTRIAN, WORD_MRZ, WORD_EN_* */
};

enum {
	WORD_FULL = 0,
	WORD_ABBR,
	WORD_AUSTRIAN, /* "Jänner" */
	WORD_MRZ,      /* "Mrz" */
	WORD_EN_FULL,  /* English only: "March", "May" */
	WORD_EN_ABBR   /* English only: "Mar", "Oct" */
};

static const struct word_form month_forms[] = {
	{ "januar", 1, WORD_FULL },
	{ "jaenner", 1, WORD_AUSTRIAN },
	{ "jan", 1, WORD_ABBR },
	{ "februar", 2, WORD_FULL },
	{ "feber", 2, WORD_FULL },
	{ "feb", 2, WORD_ABBR },
	{ "maerz", 3, WORD_FULL },
	{ "maer", 3, WORD_ABBR },
	{ "mrz", 3, WORD_MRZ },
	{ "april", 4, WORD_FULL },
	{ "apr", 4, WORD_ABBR },
	{ "mai", 5, WORD_FULL },
	{ "juni", 6, WORD_FULL },
	{ "jun", 6, WORD_ABBR },
	{ "juli", 7, WORD_FULL },
	{ "jul", 7, WORD_ABBR },
	{ "august", 8, WORD_FULL },
	{ "aug", 8, WORD_ABBR },
	{ "september", 9, WORD_FULL },
	{ "sept", 9, WORD_ABBR },
	{ "sep", 9, WORD_ABBR },
	{ "oktober", 10, WORD_FULL },
	{ "okt", 10, WORD_ABBR },
	{ "november", 11, WORD_FULL },
	{ "nov", 11, WORD_ABBR },
	{ "dezember", 12, WORD_FULL },
	{ "dez", 12, WORD_ABBR },
	/* spellings only English has; "April", "Aug", ... are in both */
	{ "january", 1, WORD_EN_FULL },
	{ "february", 2, WORD_EN_FULL },
	{ "march", 3, WORD_EN_FULL },
	{ "mar", 3, WORD_EN_ABBR },
	{ "may", 5, WORD_EN_FULL },
	{ "june", 6, WORD_EN_FULL },
	{ "july", 7, WORD_EN_FULL },
	{ "october", 10, WORD_EN_FULL },
	{ "oct", 10, WORD_EN_ABBR },
	{ "december", 12, WORD_EN_FULL },
	{ "dec", 12, WORD_EN_ABBR },
};

static const struct word_form wday_forms[] = {
	{ "montag", 1, WORD_FULL },     { "mo", 1, WORD_ABBR },       { "dienstag", 2, WORD_FULL },
	{ "di", 2, WORD_ABBR },         { "mittwoch", 3, WORD_FULL }, { "mi", 3, WORD_ABBR },
	{ "donnerstag", 4, WORD_FULL }, { "do", 4, WORD_ABBR },       { "freitag", 5, WORD_FULL },
	{ "fr", 5, WORD_ABBR },         { "samstag", 6, WORD_FULL },  { "sonnabend", 6, WORD_FULL },
	{ "sa", 6, WORD_ABBR },         { "sonntag", 7, WORD_FULL },  { "so", 7, WORD_ABBR },
};

#define DATE_MAX_TOKS 24

enum dtok_kind { DT_NUM, DT_WORD, DT_SEP };

enum dtok_role {
	DR_NONE = 0, /* copied as it is */
	DR_DAY,
	DR_MONTH,
	DR_YEAR,
	DR_MONTH_WORD,
	DR_WDAY
};

struct dtok {
	enum dtok_kind kind;
	enum dtok_role role;
	size_t start, end;
	long value;     /* numbers; month or weekday for words */
	unsigned ndig;  /* digits of a number */
	unsigned style; /* words */
	enum casing casing;
};

struct date_parse {
	struct dtok t[DATE_MAX_TOKS];
	size_t n;
	const char *s;
	size_t len;
};

/* Folds a short ASCII-or-umlaut word for the month and weekday tables. */
static bool fold_word(char *out, size_t size, const char *s, size_t len)
{
	size_t i = 0, w = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;

		if (c == 0xC3 && i + 1 < len) {
			unsigned char d = (unsigned char)s[i + 1];

			rep = d == 0xA4 || d == 0x84   ? "ae"
			      : d == 0xB6 || d == 0x96 ? "oe"
			      : d == 0xBC || d == 0x9C ? "ue"
			                               : NULL;
		}
		if (rep) {
			if (w + 2 >= size)
				return false;
			out[w++] = rep[0];
			out[w++] = rep[1];
			i += 2;
			continue;
		}
		if (c >= 0x80 || w + 1 >= size)
			return false;
		out[w++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
		i++;
	}
	out[w] = '\0';
	return true;
}

static const struct word_form *find_form(const struct word_form *forms, size_t n, const char *s,
                                         size_t len)
{
	char f[16];
	size_t i;

	if (!fold_word(f, sizeof(f), s, len))
		return NULL;
	for (i = 0; i < n; i++) {
		if (!strcmp(forms[i].folded, f))
			return &forms[i];
	}
	return NULL;
}

static bool date_tokenize(struct date_parse *p, const char *s, size_t len)
{
	size_t off = 0;

	p->n = 0;
	p->s = s;
	p->len = len;
	while (off < len) {
		size_t start = off;
		unsigned cp = ms_utf8_next(s, len, &off);
		enum dtok_kind kind = cp >= '0' && cp <= '9' ? DT_NUM
		                      : is_letter(cp)        ? DT_WORD
		                                             : DT_SEP;
		struct dtok *t;

		/* extend the run of the same kind */
		while (off < len) {
			size_t next = off;
			unsigned c2 = ms_utf8_next(s, len, &next);
			enum dtok_kind k2 = c2 >= '0' && c2 <= '9' ? DT_NUM
			                    : is_letter(c2)        ? DT_WORD
			                                           : DT_SEP;

			if (k2 != kind)
				break;
			off = next;
		}
		if (p->n == DATE_MAX_TOKS)
			return false;
		t = &p->t[p->n++];
		memset(t, 0, sizeof(*t));
		t->kind = kind;
		t->start = start;
		t->end = off;
		if (kind == DT_NUM) {
			size_t i;

			t->ndig = (unsigned)(off - start);
			if (t->ndig > 4)
				return false;
			for (i = start; i < off; i++)
				t->value = t->value * 10 + (s[i] - '0');
		}
	}
	return true;
}

/* The separator token i consists only of characters from set and blanks
 * (spaces, line breaks). */
static bool sep_is(const struct date_parse *p, size_t i, const char *set)
{
	const struct dtok *t;
	size_t k;
	bool any = false;

	if (i >= p->n || p->t[i].kind != DT_SEP)
		return false;
	t = &p->t[i];
	for (k = t->start; k < t->end; k++) {
		if (p->s[k] == ' ' || p->s[k] == '\n') /* "August\n14, 2024": a wrapped line */
			continue;
		if (!strchr(set, p->s[k]))
			return false;
		any = true;
	}
	return any || !*set;
}

static bool is_num(const struct date_parse *p, size_t i, unsigned min_dig, unsigned max_dig)
{
	return i < p->n && p->t[i].kind == DT_NUM && p->t[i].ndig >= min_dig &&
	       p->t[i].ndig <= max_dig;
}

/* A month word before the day is English usage: it is written back in English. */
static unsigned english_style(unsigned style)
{
	return style == WORD_ABBR || style == WORD_MRZ || style == WORD_EN_ABBR ? WORD_EN_ABBR
	                                                                        : WORD_EN_FULL;
}

static bool is_month_word(struct date_parse *p, size_t i)
{
	const struct word_form *f;

	if (i >= p->n || p->t[i].kind != DT_WORD)
		return false;
	f = find_form(month_forms, sizeof(month_forms) / sizeof(month_forms[0]),
	              p->s + p->t[i].start, p->t[i].end - p->t[i].start);
	if (!f)
		return false;
	p->t[i].value = f->value;
	p->t[i].style = f->style;
	p->t[i].casing = casing_of(p->s + p->t[i].start, p->t[i].end - p->t[i].start);
	return true;
}

/*
 * What the rest after the date may be: a time of day ("14:35", ", 14.35
 * Uhr", "um 9 h") is kept as it is; anything else makes the span not a
 * date this parser knows.
 */
static bool is_time_rest(const struct date_parse *p, size_t i)
{
	for (; i < p->n; i++) {
		const struct dtok *t = &p->t[i];

		if (t->kind == DT_NUM) {
			if (t->ndig > 2)
				return false;
		} else if (t->kind == DT_WORD) {
			char f[8];

			if (!fold_word(f, sizeof(f), p->s + t->start, t->end - t->start) ||
			    (strcmp(f, "uhr") != 0 && strcmp(f, "um") != 0 && strcmp(f, "h") != 0))
				return false;
		} else if (!sep_is(p, i, ",:.-") && !sep_is(p, i, "")) {
			return false;
		}
	}
	return true;
}

/* A dot or nothing but blanks between the parts of "3. März 2021". */
static bool sep_dot_or_blank(const struct date_parse *p, size_t i)
{
	return sep_is(p, i, ".") || sep_is(p, i, "");
}

static bool is_year(const struct date_parse *p, size_t i)
{
	return is_num(p, i, 4, 4) || is_num(p, i, 2, 2);
}

/* 03.03.2021, 3/3/21, 03.03., 03.03 */
static size_t match_numeric(struct date_parse *p, size_t i)
{
	struct dtok *t = p->t;

	t[i].role = DR_DAY;
	t[i + 2].role = DR_MONTH;
	if (sep_is(p, i + 3, "./-") && is_year(p, i + 4)) {
		t[i + 4].role = DR_YEAR;
		return i + 5;
	}
	return sep_is(p, i + 3, ".") ? i + 4 : i + 3;
}

/* 3. März 2021, 3. März */
static size_t match_day_month_word(struct date_parse *p, size_t i)
{
	struct dtok *t = p->t;

	t[i].role = DR_DAY;
	t[i + 2].role = DR_MONTH_WORD;
	if (sep_dot_or_blank(p, i + 3) && is_year(p, i + 4)) {
		t[i + 4].role = DR_YEAR;
		return i + 5;
	}
	return i + 3;
}

/* Matches the core date at token i; sets roles; returns the token after it, or 0. */
static size_t match_core(struct date_parse *p, size_t i)
{
	struct dtok *t = p->t;

	/* 2021-03-03, 2021-03 */
	if (is_num(p, i, 4, 4) && sep_is(p, i + 1, "-") && is_num(p, i + 2, 1, 2)) {
		t[i].role = DR_YEAR;
		t[i + 2].role = DR_MONTH;
		if (!sep_is(p, i + 3, "-") || !is_num(p, i + 4, 1, 2))
			return i + 3;
		t[i + 4].role = DR_DAY;
		return i + 5;
	}
	if (is_num(p, i, 1, 2) && sep_is(p, i + 1, "./-") && is_num(p, i + 2, 1, 2))
		return match_numeric(p, i);
	if (is_num(p, i, 1, 2) && sep_dot_or_blank(p, i + 1) && is_month_word(p, i + 2))
		return match_day_month_word(p, i);
	/* 03/2021, 03.2021 */
	if (is_num(p, i, 1, 2) && sep_is(p, i + 1, "./") && is_num(p, i + 2, 4, 4)) {
		t[i].role = DR_MONTH;
		t[i + 2].role = DR_YEAR;
		return i + 3;
	}
	/* month first, as English-language interfaces write it: Nov 17 1994, Nov. 17, 1994 */
	if (is_month_word(p, i) && sep_dot_or_blank(p, i + 1) && is_num(p, i + 2, 1, 2) &&
	    (sep_is(p, i + 3, ",") || sep_is(p, i + 3, "")) && is_num(p, i + 4, 4, 4)) {
		t[i].role = DR_MONTH_WORD;
		t[i].style = english_style(t[i].style);
		t[i + 2].role = DR_DAY;
		t[i + 4].role = DR_YEAR;
		return i + 5;
	}
	/* März 2021, Mär. 21 */
	if (is_month_word(p, i) && sep_dot_or_blank(p, i + 1) && is_year(p, i + 2)) {
		t[i].role = DR_MONTH_WORD;
		t[i + 2].role = DR_YEAR;
		return i + 3;
	}
	if (is_num(p, i, 4, 4)) {
		t[i].role = DR_YEAR;
		return i + 1;
	}
	return 0;
}

static bool date_match(struct date_parse *p)
{
	size_t i = 0, end;

	if (p->n && p->t[0].kind == DT_SEP)
		i = 1;
	if (i < p->n && p->t[i].kind == DT_WORD) {
		const struct word_form *f =
		        find_form(wday_forms, sizeof(wday_forms) / sizeof(wday_forms[0]),
		                  p->s + p->t[i].start, p->t[i].end - p->t[i].start);

		if (f && sep_is(p, i + 1, ".,")) {
			p->t[i].role = DR_WDAY;
			p->t[i].value = f->value;
			p->t[i].style = f->style;
			p->t[i].casing =
			        casing_of(p->s + p->t[i].start, p->t[i].end - p->t[i].start);
			i += 2;
		}
	}
	end = match_core(p, i);
	if (!end)
		return false;
	return is_time_rest(p, end);
}

static void put_word(struct ms_buf *out, const char *w, enum casing c)
{
	put_cased(out, w, strlen(w), c);
}

/* v in decimal, zero-padded to ndig characters as printf's "%0*ld" (sign included). */
static void put_num(struct ms_buf *out, long v, unsigned ndig)
{
	char digits[20];
	size_t n = put_digits(digits, v < 0 ? 0UL - (unsigned long)v : (unsigned long)v);
	size_t width = n + (v < 0);

	if (v < 0)
		ms_buf_addch(out, '-');
	for (; width < ndig; width++)
		ms_buf_addch(out, '0');
	ms_buf_add(out, digits, n);
}

/* The date as parsed; a missing year is 2000 (a leap year: 29.02. is valid). */
struct civil {
	long y;
	unsigned m, d;
	bool has_d, has_m, has_y;
	unsigned y_dig;
};

/* Collects and checks the parts of the date of p. */
static bool date_fields(const struct date_parse *p, struct civil *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->y = 2000;
	c->y_dig = 4;
	for (i = 0; i < p->n; i++) {
		const struct dtok *t = &p->t[i];

		if (t->role == DR_DAY) {
			c->d = (unsigned)t->value;
			c->has_d = true;
		} else if (t->role == DR_MONTH || t->role == DR_MONTH_WORD) {
			c->m = (unsigned)t->value;
			c->has_m = true;
		} else if (t->role == DR_YEAR) {
			c->y = t->value;
			c->y_dig = t->ndig;
			c->has_y = true;
		}
	}
	/* two-digit years: the century only matters for leap years */
	if (c->has_y && c->y_dig == 2)
		c->y += c->y < 50 ? 2000 : 1900;
	if (c->has_m && (c->m < 1 || c->m > 12))
		return false;
	if (c->has_d && (c->d < 1 || c->d > days_in_month(c->y, c->m)))
		return false;
	return !(c->has_y && c->y_dig == 4 && (c->y < 1000 || c->y > 9000));
}

/* c moved by shift days: a day exactly, a month from its middle, a year by one. */
static void date_shifted(const struct civil *c, int shift, struct civil *n)
{
	*n = *c;
	if (c->has_d) {
		civil_from_days(days_from_civil(c->y, c->m, c->d) + shift, &n->y, &n->m, &n->d);
	} else if (c->has_m) {
		/* from the middle of the month: 30 days or more always change it */
		civil_from_days(days_from_civil(c->y, c->m, 15) + shift, &n->y, &n->m, &n->d);
	} else {
		n->y = c->y + (shift > 0 ? 1 : -1);
		n->m = 7;
		n->d = 1;
	}
}

static void put_month_word(struct ms_buf *out, const struct dtok *t, unsigned m)
{
	if (t->style == WORD_EN_FULL)
		put_word(out, month_en_full[m - 1], t->casing);
	else if (t->style == WORD_EN_ABBR)
		put_word(out, month_en_abbr[m - 1], t->casing);
	else if (t->style == WORD_AUSTRIAN && m == 1)
		put_word(out, "Jänner", t->casing);
	else if (t->style == WORD_MRZ && m == 3)
		put_word(out, "Mrz", t->casing);
	else if (t->style == WORD_ABBR || t->style == WORD_MRZ)
		put_word(out, month_abbr[m - 1], t->casing);
	else
		put_word(out, month_full[m - 1], t->casing);
}

/* Writes the date of p shifted by shift days; false when it is not a valid date. */
static bool date_emit(struct ms_buf *out, const struct date_parse *p, int shift)
{
	struct civil c, n;
	unsigned wd;
	size_t i;

	if (!date_fields(p, &c))
		return false;
	date_shifted(&c, shift, &n);
	/* 1970-01-01 was a Thursday (3 with Monday = 0) */
	wd = (unsigned)(((days_from_civil(n.y, n.m, n.d) % 7) + 7 + 3) % 7);
	for (i = 0; i < p->n; i++) {
		const struct dtok *t = &p->t[i];

		switch (t->role) {
		case DR_DAY:
			put_num(out, (long)n.d, t->ndig);
			break;
		case DR_MONTH:
			put_num(out, (long)n.m, t->ndig);
			break;
		case DR_YEAR:
			put_num(out, t->ndig == 2 ? n.y % 100 : n.y, t->ndig);
			break;
		case DR_MONTH_WORD:
			put_month_word(out, t, n.m);
			break;
		case DR_WDAY:
			put_word(out, t->style == WORD_ABBR ? wday_abbr[wd] : wday_full[wd],
			         t->casing);
			break;
		default:
			ms_buf_add(out, p->s + t->start, t->end - t->start);
			break;
		}
	}
	return true;
}

int deid_sur_date(struct ms_buf *out, const char *s, size_t len, int shift)
{
	struct date_parse *p;
	size_t mark = out->len;
	int rc = 0;

	p = ms_malloc(sizeof(*p));
	if (!p)
		return MS_ENOMEM;
	if (date_tokenize(p, s, len) && date_match(p)) {
		rc = date_emit(out, p, shift) ? 1 : 0;
		/* a year-less date moved by a whole year reads the same: move a day less */
		if (rc == 1 && mem_eq(out->buf + mark, out->len - mark, s, len)) {
			ms_buf_truncate(out, mark);
			rc = date_emit(out, p, shift > 0 ? shift - 1 : shift + 1) ? 1 : 0;
		}
		if (!rc)
			ms_buf_truncate(out, mark);
	}
	ms_free(p);
	if (ms_buf_status(out))
		return ms_buf_status(out);
	return rc;
}

int deid_sur_date_shift(const struct deid_hmac *h, const char *scope, size_t scope_len)
{
	uint64_t v = deid_hmac_u64(h, "date-shift", scope, scope_len, NULL, 0);
	int days = 30 + (int)(v % 336);

	return (v >> 63) ? -days : days;
}

/* ---- picking from lists ------------------------------------------------ */

/*
 * Index into list l (or, for DEID_SUR_LIST_COUNT, the female and male first
 * names together) for hash v, skipping entries whose folded form equals
 * folded (the original): a surrogate never equals its original.
 */
static const char *pick(const struct deid_sur *s, int l, uint64_t v, const char *folded,
                        size_t f_len, size_t *len_out)
{
	const struct folded_list *fl;
	size_t n, i, a, k;
	size_t n_f = deid_sur_lists[DEID_SUR_FIRST_FEMALE].n;

	n = l == DEID_SUR_LIST_COUNT ? n_f + deid_sur_lists[DEID_SUR_FIRST_MALE].n
	                             : deid_sur_lists[l].n;
	i = (size_t)(v % n);
	for (a = 0; a < n; a++) {
		int list = l;

		k = (i + a) % n;
		if (l == DEID_SUR_LIST_COUNT) {
			list = k < n_f ? DEID_SUR_FIRST_FEMALE : DEID_SUR_FIRST_MALE;
			if (k >= n_f)
				k -= n_f;
		}
		fl = &s->lists[list];
		if (folded && mem_eq(fl->v[k], fl->len[k], folded, f_len))
			continue;
		*len_out = strlen(deid_sur_lists[list].v[k]);
		return deid_sur_lists[list].v[k];
	}
	*len_out = strlen(deid_sur_lists[l == DEID_SUR_LIST_COUNT ? 0 : l].v[0]);
	return deid_sur_lists[l == DEID_SUR_LIST_COUNT ? 0 : l].v[0];
}

/* ---- names ------------------------------------------------------------- */

enum tok_kind {
	TK_NAME,
	TK_KEEP,   /* title, salutation, particle */
	TK_INITIAL /* one letter */
};

struct name_tok {
	size_t start, end;   /* in the span */
	size_t f_off, f_len; /* folded form in s->tok_buf */
	unsigned word;
	bool comma_before; /* a comma separates it from the previous token */
	enum tok_kind kind;
	bool given;
	char gender;
};

static const char *const title_words[] = {
	"herr",
	"frau",
	"hr",
	"fr",
	"dr",
	"prof",
	"dipl",
	"pd",
	"priv",
	"doz",
	"oa",
	"oae",
	"ca",
	"oberarzt",
	"oberaerztin",
	"chefarzt",
	"chefaerztin",
	"facharzt",
	"fachaerztin",
	"assistenzarzt",
	"assistenzaerztin",
	"arzt",
	"aerztin",
	"schwester",
	"pfleger",
	"mtra",
	"mta",
	"mfa",
	"sr",
	"dres",
	"professor",
	"professorin",
	"doktor",
};

/*
 * Parts of academic degrees ("Dr. med.", "Dipl.-Ing."): titles only when a
 * dot follows or a title comes before, since some are names too ("Phil").
 */
static const char *const degree_words[] = { "med", "dent", "vet",   "rer",  "nat", "phil",
	                                    "jur", "ing",  "habil", "mult", "univ" };

static const char *const particles[] = { "von", "zu", "vom", "zum", "van", "de",  "der", "den",
	                                 "da",  "di", "del", "la",  "le",  "ter", "ten", "y" };

static bool in_words(const char *const *words, size_t n, const char *s, size_t len)
{
	size_t i;

	/* the first byte before strlen: this runs for every word of every name */
	for (i = 0; len && i < n; i++) {
		if (words[i][0] == s[0] && mem_eq(words[i], strlen(words[i]), s, len))
			return true;
	}
	return false;
}

static bool is_given_field(enum deid_field_kind k)
{
	return k == DEID_FIELD_PATIENT_GIVEN || k == DEID_FIELD_REFERRER_GIVEN ||
	       k == DEID_FIELD_PERFORMER_GIVEN;
}

static bool is_family_field(enum deid_field_kind k)
{
	return k == DEID_FIELD_PATIENT_FAMILY || k == DEID_FIELD_REFERRER_FAMILY ||
	       k == DEID_FIELD_PERFORMER_FAMILY;
}

int deid_sur_begin_doc(struct deid_sur *s, const struct deid_doc *doc, struct ms_error *err)
{
	size_t i, off;
	int rc;

	ms_buf_reset(&s->field_buf);
	s->n_parts = 0;
	for (i = 0; doc && i < doc->n_fields; i++) {
		const struct deid_field *f = &doc->fields[i];
		bool given = is_given_field(f->kind);

		if (!given && !is_family_field(f->kind))
			continue;
		rc = fold(s, &s->fold_a, f->value, f->len, err);
		if (rc)
			return rc;
		/* one part per run of letters and apostrophes */
		off = 0;
		while (off < s->fold_a.len) {
			size_t start, end;

			while (off < s->fold_a.len &&
			       (s->fold_a.buf[off] == ' ' || s->fold_a.buf[off] == '-' ||
			        s->fold_a.buf[off] == ',' || s->fold_a.buf[off] == '.'))
				off++;
			start = off;
			while (off < s->fold_a.len && s->fold_a.buf[off] != ' ' &&
			       s->fold_a.buf[off] != '-' && s->fold_a.buf[off] != ',' &&
			       s->fold_a.buf[off] != '.')
				off++;
			end = off;
			if (end - start < 2)
				continue;
			if (MS_GROW(s->parts, s->cap_parts, s->n_parts + 1))
				return ms_error_set(err, MS_ENOMEM, "out of memory");
			s->parts[s->n_parts].off = s->field_buf.len;
			s->parts[s->n_parts].len = end - start;
			s->parts[s->n_parts].given = given;
			s->n_parts++;
			ms_buf_add(&s->field_buf, s->fold_a.buf + start, end - start);
		}
	}
	if (ms_buf_status(&s->field_buf))
		return ms_error_set(err, ms_buf_status(&s->field_buf), "out of memory");
	return 0;
}

/* 1 given, 0 family, -1 not in the fields (or both). */
static int field_role(const struct deid_sur *s, const char *f, size_t len)
{
	size_t i;
	int role = -1;

	for (i = 0; i < s->n_parts; i++) {
		const struct field_part *p = &s->parts[i];

		if (!mem_eq(s->field_buf.buf + p->off, p->len, f, len))
			continue;
		if (role >= 0 && role != (int)p->given)
			return -1;
		role = p->given;
	}
	return role;
}

static bool is_apostrophe(unsigned cp)
{
	return cp == '\'' || cp == 0x2019;
}

/* The end of the name token whose first letter ends at off: letters, and apostrophes between. */
static size_t token_end(const char *text, size_t len, size_t off)
{
	while (off < len) {
		size_t next = off, n2;
		unsigned c2 = ms_utf8_next(text, len, &next);

		if (is_letter(c2)) {
			off = next;
			continue;
		}
		if (!is_apostrophe(c2) || next == len)
			break;
		n2 = next;
		if (!is_letter(ms_utf8_next(text, len, &n2)))
			break;
		off = n2;
	}
	return off;
}

/* Splits a name span into tokens; returns the number or a negative status. */
static long name_tokenize(struct deid_sur *s, const char *text, size_t len, struct ms_error *err)
{
	size_t off = 0, n = 0;
	unsigned word = 0;
	bool new_word = false, comma = false;
	int rc;

	ms_buf_reset(&s->tok_buf);
	while (off < len) {
		size_t start = off;
		unsigned cp = ms_utf8_next(text, len, &off);
		struct name_tok *t;

		if (!is_letter(cp)) {
			/* a hyphen joins parts of one word ("Müller-Lüdenscheidt") */
			new_word = new_word || (cp != '-' && cp != 0x2010);
			comma = comma || cp == ',' || cp == ';' || cp == '/';
			continue;
		}
		off = token_end(text, len, off);
		if (MS_GROW(s->toks, s->cap_toks, n + 1))
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		t = &s->toks[n];
		memset(t, 0, sizeof(*t));
		if (n > 0 && new_word)
			word++;
		t->start = start;
		t->end = off;
		t->word = word;
		t->comma_before = n > 0 && comma;
		t->f_off = s->tok_buf.len;
		rc = fold_append(&s->tok_buf, &s->fold_tmp, text + start, off - start, err);
		if (rc)
			return rc;
		t->f_len = s->tok_buf.len - t->f_off;
		n++;
		new_word = false;
		comma = false;
	}
	return (long)n;
}

static void classify_tokens(struct deid_sur *s, const char *text, size_t len, size_t n,
                            char *gender_hint)
{
	size_t i, n_names = 0;

	for (i = 0; i < n; i++) {
		struct name_tok *t = &s->toks[i];
		const char *f = s->tok_buf.buf + t->f_off;
		size_t off = t->start;

		(void)ms_utf8_next(text, t->end, &off);
		if (off == t->end) {
			t->kind = TK_INITIAL;
		} else if (in_words(title_words, sizeof(title_words) / sizeof(title_words[0]), f,
		                    t->f_len) ||
		           (in_words(degree_words, sizeof(degree_words) / sizeof(degree_words[0]),
		                     f, t->f_len) &&
		            ((t->end < len && text[t->end] == '.') ||
		             (i > 0 && s->toks[i - 1].kind == TK_KEEP)))) {
			t->kind = TK_KEEP;
			if (!*gender_hint &&
			    (mem_eq(f, t->f_len, "frau", 4) || mem_eq(f, t->f_len, "fr", 2)))
				*gender_hint = 'f';
			if (!*gender_hint &&
			    (mem_eq(f, t->f_len, "herr", 4) || mem_eq(f, t->f_len, "hr", 2)))
				*gender_hint = 'm';
		} else {
			t->kind = TK_NAME;
			n_names++;
		}
	}
	/* lower-case particles stay, unless nothing else would be a name */
	for (i = 0; i < n && n_names > 1; i++) {
		struct name_tok *t = &s->toks[i];

		if (t->kind == TK_NAME &&
		    in_words(particles, sizeof(particles) / sizeof(particles[0]),
		             s->tok_buf.buf + t->f_off, t->f_len) &&
		    casing_of(text + t->start, t->end - t->start) == CASE_LOWER) {
			t->kind = TK_KEEP;
			n_names--;
		}
	}
}

static void assign_roles(struct deid_sur *s, size_t n)
{
	size_t i;
	unsigned first_word = 0, last_word = 0, comma_word = 0;
	bool any = false, comma = false, pending = false, multi;

	/* "Family, Given": the first comma after a name word splits the roles */
	for (i = 0; i < n; i++) {
		const struct name_tok *t = &s->toks[i];

		if (any && t->comma_before)
			pending = true;
		if (t->kind != TK_NAME)
			continue;
		if (!any)
			first_word = t->word;
		if (pending && !comma && t->word != last_word) {
			comma = true;
			comma_word = t->word;
		}
		last_word = t->word;
		any = true;
	}
	multi = any && first_word != last_word;
	for (i = 0; i < n; i++) {
		struct name_tok *t = &s->toks[i];
		unsigned flags;
		int role;

		if (t->kind != TK_NAME)
			continue;
		role = field_role(s, s->tok_buf.buf + t->f_off, t->f_len);
		if (role >= 0) {
			t->given = role == 1;
			continue;
		}
		if (comma) {
			t->given = t->word >= comma_word;
		} else if (multi) {
			t->given = t->word != last_word;
		} else {
			flags = name_flags(s, s->tok_buf.buf + t->f_off, t->f_len);
			t->given = (flags & (NAME_FEMALE | NAME_MALE)) && !(flags & NAME_SURNAME);
		}
	}
}

static void put_initial(struct deid_sur *s, struct ms_buf *out, const struct deid_sur_ctx *ctx,
                        const char *text, const struct name_tok *t)
{
	size_t off = t->start;
	unsigned cp = ms_utf8_next(text, t->end, &off);
	uint64_t v = deid_hmac_u64(&s->h, "initial", ctx->scope, ctx->scope_len,
	                           s->tok_buf.buf + t->f_off, t->f_len);
	unsigned orig = 26, r;

	if (cp < 0x80 && (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')
		orig = (cp | 0x20) - 'a';
	r = (unsigned)(v % 25);
	if (orig < 26 && r >= orig)
		r++;
	ms_buf_addch(out, (u_islower((UChar32)cp) ? 'a' : 'A') + (int)r);
}

/* ASCII case-insensitive equality of s[0..len) and the lower-case lit. */
static bool ascii_ieq(const char *s, size_t len, const char *lit)
{
	size_t i;

	for (i = 0; i < len && lit[i]; i++) {
		char c = s[i];

		if ((c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c) != lit[i])
			return false;
	}
	return i == len && !lit[i];
}

/*
 * The salutation right before the span in the document ("Frau Müller" with
 * only "Müller" marked): 'f', 'm' or 0. text must point into ctx->doc's text.
 */
static char context_gender(const struct deid_sur_ctx *ctx, const char *text)
{
	const char *base = ctx->doc ? ctx->doc->text : NULL;
	size_t end, start;

	if (!base || text < base || text > base + ctx->doc->len)
		return 0;
	end = (size_t)(text - base);
	while (end > 0 && (base[end - 1] == ' ' || base[end - 1] == '\t'))
		end--;
	if (end == (size_t)(text - base))
		return 0;
	if (end > 0 && base[end - 1] == '.')
		end--;
	start = end;
	while (start > 0 && ((base[start - 1] | 0x20) >= 'a' && (base[start - 1] | 0x20) <= 'z'))
		start--;
	if (start > 0 && (unsigned char)base[start - 1] >= 0x80)
		return 0;
	if (ascii_ieq(base + start, end - start, "frau") ||
	    ascii_ieq(base + start, end - start, "fr") ||
	    ascii_ieq(base + start, end - start, "patientin"))
		return 'f';
	if (ascii_ieq(base + start, end - start, "herr") ||
	    ascii_ieq(base + start, end - start, "herrn") ||
	    ascii_ieq(base + start, end - start, "hr"))
		return 'm';
	return 0;
}

/*
 * The gender of a given name: the first-name lists when they are sure (so
 * that a name keeps its surrogate whatever its context), else the hint
 * (the span's gender, a salutation in or before it), else unknown.
 */
static char given_gender(struct deid_sur *s, const char *f, size_t f_len, char hint)
{
	unsigned flags = name_flags(s, f, f_len);

	if ((flags & NAME_FEMALE) && !(flags & NAME_MALE))
		return 'f';
	if ((flags & NAME_MALE) && !(flags & NAME_FEMALE))
		return 'm';
	return hint;
}

static bool has_digit(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			return true;
	}
	return false;
}

/*
 * What lies between the words of a name: blanks and punctuation stay,
 * digits (a span that took in a number) are replaced like an id's.
 */
static void put_between(struct deid_sur *s, struct ms_buf *out, const char *text, size_t len)
{
	if (has_digit(text, len))
		(void)deid_sur_chars(&s->h, out, "name-digits", text, len, 0, false);
	else
		ms_buf_add(out, text, len);
}

static int name_surrogate(struct deid_sur *s, struct ms_buf *out, const struct deid_sur_ctx *ctx,
                          const struct deid_span *span, const char *text, size_t len,
                          struct ms_error *err)
{
	long n;
	size_t i, pos = 0;
	char hint = 0;

	if (span->gender == 'f' || span->gender == 'm')
		hint = span->gender;
	n = name_tokenize(s, text, len, err);
	if (n < 0)
		return (int)n;
	classify_tokens(s, text, len, (size_t)n, &hint);
	for (i = 0; i < (size_t)n && s->toks[i].kind == TK_KEEP; i++)
		;
	if (n > 0 && i == (size_t)n && !has_digit(text, len)) {
		/* only titles and salutations ("Dr.", "Frau"): no name to hide */
		ms_buf_add(out, text, len);
		return SUR_KEPT;
	}
	if (!hint)
		hint = context_gender(ctx, text);
	assign_roles(s, (size_t)n);
	for (i = 0; i < (size_t)n; i++) {
		const struct name_tok *t = &s->toks[i];
		const char *f = s->tok_buf.buf + t->f_off;
		const char *sur;
		size_t sur_len;
		uint64_t v;
		int list = DEID_SUR_LAST;

		put_between(s, out, text + pos, t->start - pos);
		pos = t->end;
		if (t->kind == TK_KEEP) {
			ms_buf_add(out, text + t->start, t->end - t->start);
			continue;
		}
		if (t->kind == TK_INITIAL) {
			put_initial(s, out, ctx, text, t);
			continue;
		}
		v = deid_hmac_u64(&s->h, "name", ctx->scope, ctx->scope_len, f, t->f_len);
		if (t->given) {
			char g = given_gender(s, f, t->f_len, hint);

			list = g == 'f'   ? DEID_SUR_FIRST_FEMALE
			       : g == 'm' ? DEID_SUR_FIRST_MALE
			                  : DEID_SUR_LIST_COUNT;
		}
		sur = pick(s, list, v, f, t->f_len, &sur_len);
		put_cased(out, sur, sur_len, casing_of(text + t->start, t->end - t->start));
	}
	put_between(s, out, text + pos, len - pos);
	return 0;
}

/* ---- places, organisations, contacts ----------------------------------- */

static const char *const hospital_forms[] = { "Klinikum %s", "Kreiskrankenhaus %s",
	                                      "Städtisches Klinikum %s", "Krankenhaus %s",
	                                      "Radiologie %s" };
static const char *const organization_forms[] = { "%s GmbH", "%s & Partner", "%s AG",
	                                          "Stadtwerke %s" };
/*
 * A university or college keeps its kind ("Universität <city>", "Hochschule
 * <city>"): the span is often its last words only, after an adjective the
 * text keeps ("Medizinische Hochschule X"). NULL for other organisations.
 */
static const char *academic_form(const char *folded, size_t len)
{
	static const char *const kinds[][2] = { { "hochschule", "Hochschule %s" },
		                                { "universitaet", "Universität %s" },
		                                { "universitat", "Universität %s" },
		                                { "university", "Universität %s" } };
	size_t i, k;

	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		size_t n = strlen(kinds[k][0]);

		for (i = 0; i + n <= len; i++) {
			if (memcmp(folded + i, kinds[k][0], n) == 0)
				return kinds[k][1];
		}
	}
	return NULL;
}

static int list_surrogate(struct deid_sur *s, struct ms_buf *out, int list, const char *domain,
                          const char *text, size_t len, struct ms_error *err)
{
	const char *sur;
	size_t sur_len;
	uint64_t v;
	int rc;

	rc = fold(s, &s->fold_a, text, len, err);
	if (rc)
		return rc;
	v = deid_hmac_u64(&s->h, domain, s->fold_a.buf, s->fold_a.len, NULL, 0);
	sur = pick(s, list, v, s->fold_a.buf, s->fold_a.len, &sur_len);
	put_cased(out, sur, sur_len, casing_of(text, len));
	return 0;
}

static int template_surrogate(struct deid_sur *s, struct ms_buf *out, bool hospital,
                              const char *text, size_t len, struct ms_error *err)
{
	const char *const *forms = hospital ? hospital_forms : organization_forms;
	size_t n_forms = hospital ? sizeof(hospital_forms) / sizeof(hospital_forms[0])
	                          : sizeof(organization_forms) / sizeof(organization_forms[0]);
	size_t mark = out->len, a, sur_len;
	const char *academic = NULL;
	int rc;

	rc = fold(s, &s->fold_a, text, len, err);
	if (rc)
		return rc;
	if (!hospital)
		academic = academic_form(s->fold_a.buf, s->fold_a.len);
	for (a = 0; a < MAX_ATTEMPTS; a++) {
		char tag[8];
		int tn = snprintf(tag, sizeof(tag), "%zu", a);
		uint64_t v = deid_hmac_u64(&s->h, hospital ? "hospital" : "organization",
		                           s->fold_a.buf, s->fold_a.len, tag, (size_t)tn);
		const char *form = academic ? academic : forms[v % n_forms];
		int list = strstr(form, "Stadtwerke") || hospital || academic ? DEID_SUR_CITY
		                                                              : DEID_SUR_LAST;
		const char *sur = pick(s, list, v >> 8, NULL, 0, &sur_len);

		const char *slot = strstr(form, "%s");

		/* the one %s is filled by hand: a surrogate is no format string */
		ms_buf_truncate(out, mark);
		ms_buf_add(out, form, (size_t)(slot - form));
		ms_buf_add(out, sur, sur_len);
		ms_buf_adds(out, slot + 2);
		rc = fold(s, &s->fold_b, out->buf + mark, out->len - mark, err);
		if (rc)
			return rc;
		if (!mem_eq(s->fold_a.buf, s->fold_a.len, s->fold_b.buf, s->fold_b.len))
			return 0;
	}
	return 0;
}

/* Appends an ASCII, lower-case form of a list entry ("Müller" -> "mueller"). */
static int put_ascii(struct deid_sur *s, struct ms_buf *out, const char *str, size_t len,
                     struct ms_error *err)
{
	size_t i;
	int rc = fold(s, &s->fold_b, str, len, err);

	if (rc)
		return rc;
	for (i = 0; i < s->fold_b.len; i++) {
		char c = s->fold_b.buf[i];

		if ((c >= 'a' && c <= 'z') || c == '-')
			ms_buf_addch(out, c);
	}
	return 0;
}

/* The byte before (back) or after the span in the document, or 0. */
static char doc_byte(const struct deid_sur_ctx *ctx, const char *text, size_t len, bool back)
{
	const char *base = ctx->doc ? ctx->doc->text : NULL;

	if (!base || text < base || text + len > base + ctx->doc->len)
		return 0;
	if (back && text > base)
		return text[-1];
	if (!back && text + len < base + ctx->doc->len)
		return text[len];
	return 0;
}

/*
 * E-mail addresses and URLs from the name lists on example.org. A span
 * that is only part of an address (the rest marked as a name) stays that
 * part: a domain after '@', a local part before it.
 */
static int contact_surrogate(struct deid_sur *s, struct ms_buf *out, const struct deid_sur_ctx *ctx,
                             bool email, const char *text, size_t len, struct ms_error *err)
{
	const char *given, *family;
	size_t g_len, f_len;
	uint64_t v = deid_hmac_u64(&s->h, email ? "email" : "url", text, len, NULL, 0);
	bool domain_only =
	        email && !memchr(text, '@', len) && doc_byte(ctx, text, len, true) == '@';
	bool local_only =
	        email && !memchr(text, '@', len) && doc_byte(ctx, text, len, false) == '@';
	int rc = 0;

	given = pick(s, DEID_SUR_LIST_COUNT, v, NULL, 0, &g_len);
	family = pick(s, DEID_SUR_LAST, v >> 16, NULL, 0, &f_len);
	if (domain_only) {
		ms_buf_adds(out, "example.org");
		return 0;
	}
	if (email) {
		rc = put_ascii(s, out, given, g_len, err);
		ms_buf_addch(out, '.');
		if (!rc)
			rc = put_ascii(s, out, family, f_len, err);
		if (!local_only)
			ms_buf_adds(out, "@example.org");
		return rc;
	}
	if (len >= 8 && !strncmp(text, "https://", 8))
		ms_buf_adds(out, "https://");
	else if (len >= 7 && !strncmp(text, "http://", 7))
		ms_buf_adds(out, "http://");
	ms_buf_adds(out, "www.");
	rc = put_ascii(s, out, family, f_len, err);
	ms_buf_adds(out, ".example.org");
	return rc;
}

/* A street: the name from the list, house numbers as digits, the rest kept. */
static int street_surrogate(struct deid_sur *s, struct ms_buf *out, const char *text, size_t len,
                            struct ms_error *err)
{
	size_t name_end = 0, i;
	int rc;

	for (i = 0; i < len; i++) {
		if (text[i] >= '0' && text[i] <= '9')
			break;
	}
	name_end = i;
	while (name_end > 0 && (text[name_end - 1] == ' ' || text[name_end - 1] == ','))
		name_end--;
	if (name_end > 0) {
		rc = list_surrogate(s, out, DEID_SUR_STREET, "street", text, name_end, err);
		if (rc)
			return rc;
	}
	if (name_end < len)
		return deid_sur_chars(&s->h, out, "street-number", text + name_end, len - name_end,
		                      0, true);
	return 0;
}

/* Ages: above 89 the number becomes "über 89"; else the text stays. */
static int age_surrogate(struct ms_buf *out, const char *text, size_t len)
{
	size_t i, start;
	long v = 0;

	for (i = 0; i < len && !(text[i] >= '0' && text[i] <= '9'); i++)
		;
	start = i;
	for (; i < len && text[i] >= '0' && text[i] <= '9' && v < 1000; i++)
		v = v * 10 + (text[i] - '0');
	if (start == len || v <= 89) {
		ms_buf_add(out, text, len);
		return 0;
	}
	while (i < len && text[i] >= '0' && text[i] <= '9')
		i++;
	ms_buf_add(out, text, start);
	ms_buf_adds(out, "über 89");
	ms_buf_add(out, text + i, len - i);
	return 0;
}

/* ---- dispatch ---------------------------------------------------------- */

static int chars_surrogate(struct deid_sur *s, struct ms_buf *out, const char *domain,
                           const char *text, size_t len, bool letters)
{
	size_t mark = out->len;
	unsigned a;

	for (a = 0; a < MAX_ATTEMPTS; a++) {
		ms_buf_truncate(out, mark);
		if (deid_sur_chars(&s->h, out, domain, text, len, a, letters))
			return ms_buf_status(out);
		if (!mem_eq(out->buf + mark, out->len - mark, text, len))
			return 0;
	}
	return 0;
}

static int make(struct deid_sur *s, struct ms_buf *out, const struct deid_sur_ctx *ctx,
                const struct deid_span *span, const char *text, size_t len, struct ms_error *err)
{
	int rc;

	switch (span->label) {
	case PHI_PATIENT:
	case PHI_STAFF:
	case PHI_PERSON_OTHER:
		return name_surrogate(s, out, ctx, span, text, len, err);
	case PHI_DATE:
	case PHI_BIRTHDATE:
		rc = deid_sur_date(out, text, len, ctx->date_shift);
		if (rc < 0)
			return ms_error_set(err, rc, "out of memory");
		if (rc == 1)
			return 0;
		return chars_surrogate(s, out, "date", text, len, false);
	case PHI_AGE:
		return age_surrogate(out, text, len);
	case PHI_ID:
	case PHI_OTHER:
		return chars_surrogate(s, out, span->label == PHI_ID ? "id" : "other", text, len,
		                       true);
	case PHI_PHONE:
		return chars_surrogate(s, out, "phone", text, len, false);
	case PHI_ZIP:
		return chars_surrogate(s, out, "zip", text, len, false);
	case PHI_EMAIL:
	case PHI_URL:
		return contact_surrogate(s, out, ctx, span->label == PHI_EMAIL, text, len, err);
	case PHI_STREET:
		return street_surrogate(s, out, text, len, err);
	case PHI_CITY:
		return list_surrogate(s, out, DEID_SUR_CITY, "city", text, len, err);
	case PHI_COUNTRY:
		return list_surrogate(s, out, DEID_SUR_COUNTRY, "country", text, len, err);
	case PHI_PROFESSION:
		return list_surrogate(s, out, DEID_SUR_PROFESSION, "profession", text, len, err);
	case PHI_HOSPITAL:
	case PHI_ORGANIZATION:
		return template_surrogate(s, out, span->label == PHI_HOSPITAL, text, len, err);
	case PHI_TITLE:
	default:
		ms_buf_add(out, text, len);
		return 0;
	}
}

int deid_sur_make(struct deid_sur *s, struct ms_buf *out, const struct deid_sur_ctx *ctx,
                  const struct deid_span *span, const char *text, size_t len, struct ms_error *err)
{
	size_t mark = out->len;
	int rc;

	rc = make(s, out, ctx, span, text, len, err);
	if (rc >= 0 && ms_buf_status(out))
		rc = ms_buf_status(out);
	if (rc < 0)
		return ms_error_set(err, rc, "out of memory"); /* first error wins */
	if (rc == SUR_KEPT || span->label == PHI_TITLE || span->label == PHI_AGE)
		return 0;
	/* nothing that could differ (a span of blanks and punctuation) */
	if (mem_eq(out->buf + mark, out->len - mark, text, len)) {
		ms_buf_truncate(out, mark);
		ms_buf_addf(out, "[%s]", phi_label_name(span->label));
	}
	if (ms_buf_status(out))
		return ms_error_set(err, ms_buf_status(out), "out of memory");
	return 0;
}

void deid_surrogates_fingerprint(char out[DEID_FINGERPRINT_LEN + 1])
{
	crypto_hash_sha256_state st;
	unsigned char digest[MS_SHA256_LEN];
	size_t l, i;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(
	        &st, (const unsigned char *)"medsft-surrogates-" DEID_SUR_RULES_VERSION,
	        strlen("medsft-surrogates-" DEID_SUR_RULES_VERSION));
	for (l = 0; l < DEID_SUR_LIST_COUNT; l++) {
		const struct deid_sur_list *list = &deid_sur_lists[l];

		crypto_hash_sha256_update(&st, (const unsigned char *)list->name,
		                          strlen(list->name) + 1);
		for (i = 0; i < list->n; i++)
			crypto_hash_sha256_update(&st, (const unsigned char *)list->v[i],
			                          strlen(list->v[i]) + 1);
	}
	crypto_hash_sha256_final(&st, digest);
	ms_hex(out, digest, sizeof(digest));
}
