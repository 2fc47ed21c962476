/* SPDX-License-Identifier: MIT */
/*
 * Tokenizer for German clinical text: ICU word breaks (UAX #29, locale
 * "de") on a UTF-8 UText, so that boundaries are byte offsets, then merge
 * rules for what word breaks split but PHI spans keep whole (see ner.h):
 * abbreviations with their period, day-month dates, number groups, numbers
 * with '%' or '°', hyphenated compounds, e-mail addresses and URLs. It does
 * not split sentences and does not normalise anything.
 */
#include "ner/ner.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/utext.h>

#include "common/alloc.h"
#include "ner/ner_int.h"

enum seg_kind {
	SEG_WORD,   /* starts with a letter (or a mark) */
	SEG_NUMBER, /* starts with a digit */
	SEG_PUNCT,  /* anything else visible */
	SEG_FORMAT, /* only format characters (a BOM): glued to the next segment */
	SEG_ATOM    /* an e-mail address or URL: a token as it is */
};

struct seg {
	size_t start;
	size_t end;
	enum seg_kind kind;
};

struct ner_tokenizer {
	UBreakIterator *bi;
	UText *ut;
	pcre2_code *re;
	pcre2_match_data *md;
	struct seg *segs;
	size_t segs_cap;
	struct ner_token *toks;
	size_t toks_cap;
	struct ner_token *prot; /* e-mail and URL ranges */
	size_t prot_cap;
};

/*
 * E-mail addresses and URLs, found before word breaking (which splits them
 * at '@', '-' and '/'). A URL does not end in punctuation that usually
 * follows it in a sentence.
 */
static const char url_mail_re[] =
        "(?:https?://|www\\.)[^\\s<>\"'()\\[\\]{}]*[^\\s<>\"'()\\[\\]{}.,;:!?]"
        "|[\\w.+-]*\\w@\\w[\\w-]*(?:\\.[\\w-]+)*\\.\\w{2,}";

/*
 * Abbreviations (case-folded, without the period) that keep their period.
 * Sorted for bsearch. Single letters and dotted forms are handled by rule.
 */
static const char *const abbrevs[] = {
	"abs",  "abt",    "allg",   "amb",     "ang", "ap",    "apr",  "ass",     "aug",
	"bd",   "bds",    "betr",   "bzgl",    "bzw", "ca",    "cand", "chir",    "dent",
	"dez",  "di",     "diagn",  "dipl",    "do",  "doz",   "dr",   "dra",     "drs",
	"ehem", "entspr", "etc",    "evtl",    "fa",  "feb",   "fr",   "freundl", "frl",
	"geb",  "gegr",   "gem",    "ggf",     "gr",  "habil", "hr",   "hrn",     "inkl",
	"insb", "int",    "j",      "jan",     "jul", "jun",   "jähr", "kard",    "kl",
	"koll", "kolleg", "li",     "lj",      "lt",  "ltd",   "mag",  "max",     "med",
	"mi",   "min",    "mind",   "mittl",   "mo",  "mob",   "mrz",  "mult",    "mär",
	"nat",  "neg",    "neurol", "nov",     "nr",  "oa",    "okt",  "orthop",  "pat",
	"path", "pd",     "phil",   "pl",      "pos", "postf", "pp",   "prim",    "priv",
	"prof", "psych",  "rad",    "re",      "rer", "sa",    "sen",  "sep",     "sept",
	"so",   "sog",    "st",     "stat",    "std", "str",   "stv",  "tel",     "tgl",
	"ther", "univ",   "univer", "univers", "usw", "verh",  "vgl",  "vs",      "wg",
	"zzgl",
};

static int abbrev_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void ner_tokenizer_free(struct ner_tokenizer *tk)
{
	if (!tk)
		return;
	if (tk->bi)
		ubrk_close(tk->bi);
	if (tk->ut)
		utext_close(tk->ut);
	pcre2_match_data_free(tk->md);
	pcre2_code_free(tk->re);
	ms_free(tk->segs);
	ms_free(tk->toks);
	ms_free(tk->prot);
	ms_free(tk);
}

int ner_tokenizer_new(struct ner_tokenizer **out, struct ms_error *err)
{
	struct ner_tokenizer *tk;
	UErrorCode st = U_ZERO_ERROR;
	int errcode = 0;
	PCRE2_SIZE erroff = 0;
	int rc = 0;

	*out = NULL;
	tk = ms_calloc(1, sizeof(*tk));
	if (!tk)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	tk->bi = ubrk_open(UBRK_WORD, "de", NULL, 0, &st);
	if (U_FAILURE(st)) {
		tk->bi = NULL;
		rc = ms_error_set(err, MS_EUNICODE, "cannot open ICU word break iterator: %s",
		                  u_errorName(st));
		goto out;
	}
	tk->re = pcre2_compile((PCRE2_SPTR)url_mail_re, PCRE2_ZERO_TERMINATED,
	                       PCRE2_UTF | PCRE2_UCP, &errcode, &erroff, NULL);
	if (!tk->re) {
		rc = ms_error_set(err, MS_EREGEX, "cannot compile the e-mail/URL pattern at %zu",
		                  (size_t)erroff);
		goto out;
	}
	/* JIT when the platform has it; the interpreter is the fallback */
	(void)pcre2_jit_compile(tk->re, PCRE2_JIT_COMPLETE);
	tk->md = pcre2_match_data_create_from_pattern(tk->re, NULL);
	if (!tk->md) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	*out = tk;
	tk = NULL;
out:
	ner_tokenizer_free(tk);
	return rc;
}

/* Whitespace and C0/C1 controls; not format characters (u_iscntrl counts those). */
static bool is_space_cp(int32_t c)
{
	return c < 0 || u_isUWhiteSpace(c) || u_charType(c) == U_CONTROL_CHAR;
}

static enum seg_kind classify(const char *s, size_t start, size_t end, bool *space)
{
	size_t off = start;
	int32_t c = ner_u8_next(s, end, &off);
	int8_t type;
	bool all_space = is_space_cp(c), all_format = u_charType(c) == U_FORMAT_CHAR;

	*space = false;
	while (off < end && (all_space || all_format)) {
		int32_t d = ner_u8_next(s, end, &off);

		all_space = all_space && is_space_cp(d);
		all_format = all_format && u_charType(d) == U_FORMAT_CHAR;
	}
	if (all_space) {
		*space = true;
		return SEG_PUNCT;
	}
	if (all_format)
		return SEG_FORMAT;
	type = (int8_t)u_charType(c);
	if (u_isdigit(c))
		return SEG_NUMBER;
	if (u_isalpha(c) || type == U_NON_SPACING_MARK || type == U_COMBINING_SPACING_MARK ||
	    type == U_FORMAT_CHAR)
		return SEG_WORD;
	return SEG_PUNCT;
}

static int push_seg(struct ner_tokenizer *tk, size_t *n, size_t start, size_t end,
                    enum seg_kind kind, struct ms_error *err)
{
	if (MS_GROW(tk->segs, tk->segs_cap, *n + 1) < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	tk->segs[*n].start = start;
	tk->segs[*n].end = end;
	tk->segs[*n].kind = kind;
	(*n)++;
	return 0;
}

/* Titles that ICU glues to a following name across the period ("Dr.Leitner"). */
static bool glued_title(const char *s, size_t start, size_t dot)
{
	static const char *const t[] = { "dr",  "Dr",  "DR", "prof", "Prof", "PROF",
		                         "mag", "Mag", "hr", "Hr",   "fr",   "Fr" };
	size_t i, l = dot - start;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strlen(t[i]) == l && memcmp(t[i], s + start, l) == 0)
			return true;
	}
	return false;
}

/*
 * Pushes a word-break segment, first splitting what ICU joins but PHI
 * annotation separates: a title glued to a name ("Dr.Leitner" -> "Dr."
 * "Leitner") and an age glued to its unit ("49jähr", "5jährige").
 */
static int push_split(struct ner_tokenizer *tk, size_t *n, const char *s, size_t a, size_t b,
                      enum seg_kind kind, struct ms_error *err)
{
	const char *dot;
	size_t d, off;
	int rc;

	if (kind == SEG_WORD && (dot = memchr(s + a, '.', b - a)) != NULL) {
		d = (size_t)(dot - s);
		off = d + 1;
		if (glued_title(s, a, d) && b - off >= 2 && u_isupper(ner_u8_next(s, b, &off)) &&
		    !memchr(s + d + 1, '.', b - d - 1)) {
			rc = push_seg(tk, n, a, d + 1, SEG_WORD, err);
			if (rc < 0)
				return rc;
			return push_seg(tk, n, d + 1, b, SEG_WORD, err);
		}
	}
	if (kind == SEG_NUMBER) {
		d = a;
		while (d < b && s[d] >= '0' && s[d] <= '9')
			d++;
		/* "49jähr", "5jährige", "80j" */
		if (d > a && d < b && s[d] == 'j') {
			rc = push_seg(tk, n, a, d, SEG_NUMBER, err);
			if (rc < 0)
				return rc;
			return push_seg(tk, n, d, b, SEG_WORD, err);
		}
	}
	return push_seg(tk, n, a, b, kind, err);
}

static bool contains(const char *s, size_t len, const char *lit)
{
	size_t l = strlen(lit);
	const char *p = s, *end = s + len;

	while ((size_t)(end - p) >= l &&
	       (p = memchr(p, lit[0], (size_t)(end - p) - l + 1)) != NULL) {
		if (memcmp(p, lit, l) == 0)
			return true;
		p++;
	}
	return false;
}

static int find_protected(struct ner_tokenizer *tk, const char *s, size_t len, size_t *n_out,
                          struct ms_error *err)
{
	PCRE2_SIZE pos = 0;
	size_t n = 0;

	*n_out = 0;
	/* both patterns need an '@', "www." or "://": most texts skip the scan */
	if (!memchr(s, '@', len) && !contains(s, len, "www.") && !contains(s, len, "://"))
		return 0;
	while (pos < len) {
		int m = pcre2_match(tk->re, (PCRE2_SPTR)s, len, pos, PCRE2_NO_UTF_CHECK, tk->md,
		                    NULL);
		PCRE2_SIZE *ov;

		if (m == PCRE2_ERROR_NOMATCH)
			break;
		if (m < 0)
			return ms_error_set(err, MS_EREGEX, "e-mail/URL match failed (%d)", m);
		ov = pcre2_get_ovector_pointer(tk->md);
		if (ov[1] <= ov[0]) {
			pos = ov[0] + 1;
			continue;
		}
		if (MS_GROW(tk->prot, tk->prot_cap, n + 1) < 0)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		tk->prot[n].start = ov[0];
		tk->prot[n].end = ov[1];
		n++;
		pos = ov[1];
	}
	*n_out = n;
	return 0;
}

/*
 * Pushes the parts of word-break segment [*a, b) that precede and make up
 * the protected ranges it meets (from *pi on); advances *a past them.
 */
static int push_protected(struct ner_tokenizer *tk, size_t *n, const char *s, size_t *a, size_t b,
                          size_t *pi, size_t n_prot, struct ms_error *err)
{
	int rc;

	for (;;) {
		size_t ps, pe;
		bool space;

		while (*pi < n_prot && tk->prot[*pi].end <= *a)
			(*pi)++;
		if (*pi >= n_prot || tk->prot[*pi].start >= b)
			return 0;
		ps = tk->prot[*pi].start;
		pe = tk->prot[*pi].end;
		if (*a < ps) {
			enum seg_kind kind = classify(s, *a, ps, &space);

			if (!space) {
				rc = push_seg(tk, n, *a, ps, kind, err);
				if (rc < 0)
					return rc;
			}
		}
		if (*a <= ps) {
			rc = push_seg(tk, n, ps, pe, SEG_ATOM, err);
			if (rc < 0)
				return rc;
		}
		*a = b < pe ? b : pe;
		if (*a == b)
			return 0;
	}
}

/* Splits the text into ICU word-break segments without whitespace. */
static int segment(struct ner_tokenizer *tk, const char *s, size_t len, size_t *n_out,
                   struct ms_error *err)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t p, q;
	size_t n = 0, n_prot = 0, pi = 0;
	int rc;

	*n_out = 0;
	rc = find_protected(tk, s, len, &n_prot, err);
	if (rc < 0)
		return rc;
	tk->ut = utext_openUTF8(tk->ut, s, (int64_t)len, &st);
	if (U_FAILURE(st))
		return ms_error_set(err, MS_EUNICODE, "cannot open UTF-8 text for ICU: %s",
		                    u_errorName(st));
	ubrk_setUText(tk->bi, tk->ut, &st);
	if (U_FAILURE(st))
		return ms_error_set(err, MS_EUNICODE, "ICU word break failed: %s", u_errorName(st));
	p = ubrk_first(tk->bi);
	while ((q = ubrk_next(tk->bi)) != UBRK_DONE) {
		size_t a = (size_t)p, b = (size_t)q;
		bool space;
		enum seg_kind kind;

		p = q;
		if (n_prot) {
			rc = push_protected(tk, &n, s, &a, b, &pi, n_prot, err);
			if (rc < 0)
				return rc;
			if (a == b)
				continue;
		}
		kind = classify(s, a, b, &space);
		if (space)
			continue;
		rc = push_split(tk, &n, s, a, b, kind, err);
		if (rc < 0)
			return rc;
	}
	*n_out = n;
	return 0;
}

static bool seg_is(const char *s, const struct seg *g, const char *lit)
{
	size_t l = strlen(lit);

	return g->end - g->start == l && memcmp(s + g->start, lit, l) == 0;
}

static bool adjacent(const struct seg *a, const struct seg *b)
{
	return a->end == b->start;
}

static bool only_digits(const char *s, size_t start, size_t end)
{
	size_t i;

	if (start == end)
		return false;
	for (i = start; i < end; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

/* "19.3" or "1.12": a day and a month of one or two digits each. */
static bool day_month(const char *s, size_t start, size_t end)
{
	const char *dot = memchr(s + start, '.', end - start);
	size_t d, m;
	long day = 0, month = 0;

	if (!dot)
		return false;
	d = (size_t)(dot - s);
	m = d + 1;
	if (d - start < 1 || d - start > 2 || end - m < 1 || end - m > 2 ||
	    !only_digits(s, start, d) || !only_digits(s, m, end))
		return false;
	for (; start < d; start++)
		day = day * 10 + (s[start] - '0');
	for (; m < end; m++)
		month = month * 10 + (s[m] - '0');
	return day >= 1 && day <= 31 && month >= 1 && month <= 12;
}

static bool is_letter_at_end(const char *s, size_t start, size_t end)
{
	size_t b;

	if (end <= start)
		return false;
	return u_isalpha(ner_u8_prev(s, end, &b));
}

/* Does the word s[start..end) keep a following period? */
static bool takes_period(const char *s, size_t start, size_t end, enum seg_kind kind)
{
	char key[16];
	size_t n = 0, off = start, letters = 0;
	const char *k = key;

	if (kind == SEG_NUMBER)
		return day_month(s, start, end);
	if (kind != SEG_WORD)
		return false;
	if (memchr(s + start, '.', end - start))
		return true; /* "z.B", "Dr.med", "i.Br" */
	while (off < end) {
		int32_t c = ner_u8_next(s, end, &off);

		if (!u_isalpha(c))
			return false;
		letters++;
		c = u_foldCase(c, U_FOLD_CASE_DEFAULT);
		if (n + 4 >= sizeof(key))
			return false;
		if (c < 0x80) {
			key[n++] = (char)c;
		} else if (c < 0x800) {
			key[n++] = (char)(0xc0 | (c >> 6));
			key[n++] = (char)(0x80 | (c & 0x3f));
		} else {
			return false;
		}
	}
	if (letters == 1)
		return true; /* an initial */
	key[n] = '\0';
	if (n >= 3 && memcmp(key + n - 3, "str", 3) == 0)
		return true; /* "Hauptstr." */
	return bsearch(&k, abbrevs, sizeof(abbrevs) / sizeof(abbrevs[0]), sizeof(abbrevs[0]),
	               abbrev_cmp) != NULL;
}

/*
 * Merges segments into tokens, starting at segs[*i]; advances *i past the
 * segments used and stores the token.
 */
static void merge_token(const char *s, const struct seg *g, size_t n, size_t *i,
                        struct ner_token *tok)
{
	size_t j = *i;
	size_t start = g[j].start, end = g[j].end;
	enum seg_kind kind = g[j].kind;
	size_t groups = 1;

	if (kind == SEG_ATOM) {
		tok->start = start;
		tok->end = end;
		*i = j + 1;
		return;
	}
	/* a BOM or other format characters belong to what follows */
	while (kind == SEG_FORMAT && j + 1 < n && adjacent(&g[j], &g[j + 1])) {
		j++;
		end = g[j].end;
		kind = g[j].kind;
	}
	if (kind == SEG_NUMBER) {
		/* "03/33", "6/7/1980": any number of '/'-groups */
		while (j + 2 < n && seg_is(s, &g[j + 1], "/") && adjacent(&g[j], &g[j + 1]) &&
		       adjacent(&g[j + 1], &g[j + 2]) && g[j + 2].kind == SEG_NUMBER) {
			j += 2;
			end = g[j].end;
			groups++;
		}
		/* "2021-03-03", "1-0-1", "0233-220-312257": exactly three '-'-groups
		 * ("2019-2020" stays apart: two dates) */
		if (groups == 1 && j + 4 < n && seg_is(s, &g[j + 1], "-") &&
		    seg_is(s, &g[j + 3], "-") && g[j + 2].kind == SEG_NUMBER &&
		    g[j + 4].kind == SEG_NUMBER && adjacent(&g[j], &g[j + 1]) &&
		    adjacent(&g[j + 1], &g[j + 2]) && adjacent(&g[j + 2], &g[j + 3]) &&
		    adjacent(&g[j + 3], &g[j + 4]) && only_digits(s, g[j].start, g[j].end) &&
		    only_digits(s, g[j + 2].start, g[j + 2].end) &&
		    only_digits(s, g[j + 4].start, g[j + 4].end) &&
		    !(j + 6 < n && seg_is(s, &g[j + 5], "-") && adjacent(&g[j + 4], &g[j + 5]))) {
			j += 4;
			end = g[j].end;
			groups = 3;
		}
		/* "5%", "37,5°C" */
		if (j + 1 < n && adjacent(&g[j], &g[j + 1]) &&
		    (seg_is(s, &g[j + 1], "%") || seg_is(s, &g[j + 1], "\u2030"))) {
			j++;
			end = g[j].end;
		} else if (j + 1 < n && adjacent(&g[j], &g[j + 1]) &&
		           seg_is(s, &g[j + 1], "\u00b0")) {
			j++;
			end = g[j].end;
			if (j + 1 < n && adjacent(&g[j], &g[j + 1]) &&
			    (seg_is(s, &g[j + 1], "C") || seg_is(s, &g[j + 1], "F"))) {
				j++;
				end = g[j].end;
			}
		}
	}
	/* hyphenated compounds: a letter before each hyphen ("Weber-B-Fraktur",
	 * "COVID-19", "A-9011"), never after a number ("55-jährige": an age) */
	while (j + 2 < n && seg_is(s, &g[j + 1], "-") && adjacent(&g[j], &g[j + 1]) &&
	       adjacent(&g[j + 1], &g[j + 2]) && is_letter_at_end(s, start, end) &&
	       (g[j + 2].kind == SEG_WORD || g[j + 2].kind == SEG_NUMBER)) {
		j += 2;
		end = g[j].end;
		if (kind != SEG_WORD)
			kind = SEG_WORD;
	}
	if (groups == 1 && j + 1 < n && seg_is(s, &g[j + 1], ".") && adjacent(&g[j], &g[j + 1]) &&
	    takes_period(s, start, end, kind)) {
		j++;
		end = g[j].end;
	}
	tok->start = start;
	tok->end = end;
	*i = j + 1;
}

int ner_tokenizer_run(struct ner_tokenizer *tk, const char *s, size_t len, struct ms_arena *arena,
                      struct ner_token **tokens_out, size_t *n_out, struct ms_error *err)
{
	size_t n_segs = 0, n = 0, i = 0;
	int rc;

	*tokens_out = NULL;
	*n_out = 0;
	if (len > NER_MAX_TEXT)
		return ms_error_set(err, MS_ETOOBIG,
		                    "text of %zu bytes exceeds the tokenizer's cap", len);
	if (len == 0)
		return 0;
	rc = segment(tk, s, len, &n_segs, err);
	if (rc < 0)
		return rc;
	if (n_segs == 0)
		return 0;
	if (MS_GROW(tk->toks, tk->toks_cap, n_segs) < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	while (i < n_segs) {
		merge_token(s, tk->segs, n_segs, &i, &tk->toks[n]);
		n++;
	}
	*tokens_out = ms_arena_alloc(arena, n * sizeof(**tokens_out));
	if (!*tokens_out)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	memcpy(*tokens_out, tk->toks, n * sizeof(**tokens_out));
	*n_out = n;
	return 0;
}
