/* SPDX-License-Identifier: MIT */
/*
 * Reader for the GOÄ fee schedule as a ';'-separated CSV with a header row
 * (GOA_Ziffern.csv layout: Index;GOÄ;Schlüssel;GOÄZiffer;Beschreibung;
 * Punktzahl;Einfachfaktor;Einfachsatz;Regelhöchstfaktor;Regelhöchstsatz;
 * Höchstfaktor;Höchstsatz;Ausschlussziffer;go;ziffer;analog). Columns are
 * found by name; Schlüssel, Beschreibung, Punktzahl and go are required.
 * The file also carries GOZ (dental) rows: they become a second catalogue,
 * so the rows are read in two passes (goae, then goz), each after begin().
 *
 * Decisions (the quirks are listed in ../shared/data/catalogs/goae/SOURCE.md):
 * - Text is strict UTF-8 (U+FFFD already in the file is kept), NFC.
 * - Quoting: RFC 4180 style ("" inside quotes); a quoted field may span lines.
 * - Key and code: the Schlüssel column, blanks trimmed and inner blank runs
 *   collapsed to one space, otherwise as written: "1", "250a", "K1" (the
 *   Zuschläge A-K2 are their letters), "A3754" (BÄK analog numbers), "2442 A"
 *   (analog rows that reuse their base number), "3541.H", "3504-3506". The
 *   two analog spellings are kept apart because both exist in the file and
 *   rewriting one into the other could collide with a real number.
 * - Duplicates of (schedule, code) keep the first row (A3754 appears twice,
 *   2330 and 2189 reappear with 0 points). A corrupted go value ("GO\uFFFD")
 *   is resolved from the GOÄ column ("GOÄ 445 A:" / "GOZ") or else from the
 *   ziffer prefix ("z " GOÄ, "zz " GOZ); a row that none of them places is
 *   malformed.
 * - Punktzahl: digits with '.' as thousands separator ("1.141"); anything
 *   else (Excel-mangled "01. Mär", "-", empty) leaves the row without points
 *   and fees. Money columns use a decimal comma; '-' means not applicable.
 * - Ausschlussziffer: text starting "Ausschlussziffern" (or the misspelt
 *   "Auschlussziffern") becomes an "exclusion" rubric with the list as text
 *   and one reference per number ("GOÄ 2" -> "2", "GOZ-Ziffer: 0050" -> "50"
 *   as GOZ numbers are written without leading zeros here); words that are
 *   not numbers ("GOÄ Abschnitt L") stay in the text only. In range rows the
 *   column holds the first number of the range instead: no rubric.
 * - Fees, § 5 GOÄ (gesetze-im-internet.de/go__1982/__5.html): gebührensatz
 *   = points × 5.82873 ct (catalog_goae_fee_cents()). Threshold/maximum
 *   factor 1.15/1.3 for section M and number 437 (Abs. 4), 1.8/2.5 for
 *   sections E and O and the numbers listed in section A "Gebühren in
 *   besonderen Fällen" (Abs. 3), else 2.3/3.5 (Abs. 2). Analog numbers
 *   follow the number they are billed like (column analog). Rows whose CSV
 *   factor columns say '-' (the Zuschläge and other numbers billable only at
 *   the simple rate) get no threshold or maximum. GOZ: 5.62421 ct per point
 *   and 2.3/3.5 (§ 5 GOZ). The CSV's own fee columns are compared with the
 *   computed ones; rows that differ get meta "source_fee_mismatch" naming the
 *   columns ("simple", "threshold", "max", "factor") instead of failing.
 * - Version: the GOÄ has no edition number; the default "2023" is the year
 *   of its last amendment in force when the CSV was made (Art. 3b G v.
 *   19.07.2023, BGBl. 2023 I Nr. 197; the Gebührenverzeichnis itself dates
 *   from the 1996 Neufassung with the euro point value of 2002, plus the 2020
 *   revision of numbers 100-107). GOZ defaults to "2012" (Neufassung in
 *   force 01.01.2012). opts->version overrides both; opts->system ("goae" or
 *   "goz") reads only that schedule.
 */
#include "catalog/catalog_int.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/strmap.h"
#include "common/utf8.h"

#define GOAE_MAX_FILE   ((size_t)256 << 20)
#define GOAE_MAX_FIELDS 64
#define GOAE_MAX_CODE   32
#define GOAE_MAX_POINTS 1000000
#define GOAE_MAX_REFS   512

#define GOAE_VERSION_DEFAULT "2023"
#define GOZ_VERSION_DEFAULT  "2012"

struct slice {
	const char *s;
	size_t len;
};

/* ---- CSV records ------------------------------------------------------- */

struct csv_field {
	struct slice v; /* without the surrounding quotes */
	bool quoted;    /* "" inside must be unescaped */
};

struct csv_rec {
	struct csv_field f[GOAE_MAX_FIELDS];
	size_t n;
	size_t line; /* line where the record starts */
};

struct csv_iter {
	const char *s;
	size_t len;
	size_t pos;
	size_t line; /* current line, 1-based */
};

enum col {
	COL_CODE,
	COL_LABEL,
	COL_POINTS,
	COL_GO,
	COL_GOAE,
	COL_ZIFFER,
	COL_SIMPLE,
	COL_FACTOR_THRESHOLD,
	COL_FEE_THRESHOLD,
	COL_FACTOR_MAX,
	COL_FEE_MAX,
	COL_EXCLUSION,
	COL_ANALOG,
	N_COLS
};

/* Header names (NFC) and whether the reader needs them. */
static const struct {
	const char *name;
	bool required;
} col_names[N_COLS] = {
	[COL_CODE] = { "Schl\xC3\xBCssel", true },
	[COL_LABEL] = { "Beschreibung", true },
	[COL_POINTS] = { "Punktzahl", true },
	[COL_GO] = { "go", true },
	[COL_GOAE] = { "GO\xC3\x84", false },
	[COL_ZIFFER] = { "ziffer", false },
	[COL_SIMPLE] = { "Einfachsatz", false },
	[COL_FACTOR_THRESHOLD] = { "Regelh\xC3\xB6"
	                           "chstfaktor",
	                           false },
	[COL_FEE_THRESHOLD] = { "Regelh\xC3\xB6"
	                        "chstsatz",
	                        false },
	[COL_FACTOR_MAX] = { "H\xC3\xB6"
	                     "chstfaktor",
	                     false },
	[COL_FEE_MAX] = { "H\xC3\xB6"
	                  "chstsatz",
	                  false },
	[COL_EXCLUSION] = { "Ausschlussziffer", false },
	[COL_ANALOG] = { "analog", false },
};

enum schedule { SCHED_NONE, SCHED_GOAE, SCHED_GOZ };

struct goae_reader {
	const struct catalog_sink *sink;
	struct ms_error *err;
	const char *name;
	const char *data;
	size_t len;
	int col[N_COLS]; /* field index or -1 */
	size_t n_cols;
	struct csv_rec rec;
	struct ms_strmap seen;
	struct ms_arena keys;  /* codes in seen; reset per schedule */
	struct ms_arena arena; /* per entry */
	struct ms_buf norm;
	size_t n_duplicates;
	size_t n_mismatches;
};

static int fail(struct goae_reader *r, size_t line, int code, const char *fmt, ...) MS_PRINTF(4, 5);

static int fail(struct goae_reader *r, size_t line, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = ms_error_vset(r->err, code, fmt, ap);
	va_end(ap);
	ms_error_set_path(r->err, r->name);
	if (line)
		ms_error_set_line(r->err, line);
	return code;
}

static bool at_eol(const struct csv_iter *it)
{
	return it->pos >= it->len || it->s[it->pos] == '\n' || it->s[it->pos] == '\r';
}

/* Skips blank lines; false at the end of the text. */
static bool skip_blank_lines(struct csv_iter *it)
{
	while (it->pos < it->len && at_eol(it)) {
		if (it->s[it->pos] == '\r' && it->pos + 1 < it->len && it->s[it->pos + 1] == '\n')
			it->pos++;
		it->pos++;
		it->line++;
	}
	return it->pos < it->len;
}

/* Reads a quoted field starting at the opening quote; line breaks inside count. */
static int read_quoted(struct goae_reader *r, struct csv_iter *it, size_t rec_line,
                       struct csv_field *f)
{
	size_t start = ++it->pos;

	f->quoted = true;
	for (;;) {
		char c;

		if (it->pos >= it->len)
			return fail(r, rec_line, MS_EINVAL, "unterminated quoted field");
		c = it->s[it->pos];
		if (c == '"' && it->pos + 1 < it->len && it->s[it->pos + 1] == '"') {
			it->pos += 2;
			continue;
		}
		if (c == '"')
			break;
		if (c == '\n' ||
		    (c == '\r' && (it->pos + 1 >= it->len || it->s[it->pos + 1] != '\n')))
			it->line++;
		it->pos++;
	}
	f->v.s = it->s + start;
	f->v.len = it->pos - start;
	it->pos++; /* closing quote */
	if (!at_eol(it) && it->s[it->pos] != ';')
		return fail(r, it->line, MS_EINVAL, "unexpected character after a closing quote");
	return 0;
}

/*
 * Reads the next non-blank record. Returns 1 with *rec filled, 0 at the end,
 * or MS_EINVAL (unterminated quote, junk after a closing quote, too many
 * fields).
 */
static int csv_next(struct goae_reader *r, struct csv_iter *it, struct csv_rec *rec)
{
	int rc;

	if (!skip_blank_lines(it))
		return 0;
	rec->n = 0;
	rec->line = it->line;
	for (;;) {
		struct csv_field *f;

		if (rec->n == GOAE_MAX_FIELDS)
			return fail(r, rec->line, MS_EINVAL, "more than %d fields",
			            GOAE_MAX_FIELDS);
		f = &rec->f[rec->n++];
		f->quoted = false;
		if (it->pos < it->len && it->s[it->pos] == '"') {
			rc = read_quoted(r, it, rec->line, f);
			if (rc)
				return rc;
		} else {
			f->v.s = it->s + it->pos;
			while (!at_eol(it) && it->s[it->pos] != ';')
				it->pos++;
			f->v.len = (size_t)(it->s + it->pos - f->v.s);
		}
		if (at_eol(it))
			break;
		it->pos++; /* ';' */
	}
	if (it->pos < it->len) {
		if (it->s[it->pos] == '\r' && it->pos + 1 < it->len && it->s[it->pos + 1] == '\n')
			it->pos++;
		it->pos++;
	}
	it->line++;
	return 1;
}

static struct slice trim(struct slice s)
{
	while (s.len && (s.s[0] == ' ' || s.s[0] == '\t')) {
		s.s++;
		s.len--;
	}
	while (s.len && (s.s[s.len - 1] == ' ' || s.s[s.len - 1] == '\t'))
		s.len--;
	return s;
}

static bool slice_eq(struct slice s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && memcmp(s.s, lit, n) == 0;
}

static bool slice_starts(struct slice s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len >= n && memcmp(s.s, lit, n) == 0;
}

/* The field's value (quotes unescaped into the arena when needed); empty if the column is absent.
 */
static int field(struct goae_reader *r, enum col c, struct slice *out)
{
	const struct csv_field *f;
	char *p;
	size_t i, n = 0;

	out->s = "";
	out->len = 0;
	if (r->col[c] < 0)
		return 0;
	f = &r->rec.f[r->col[c]];
	if (!f->quoted || !memchr(f->v.s, '"', f->v.len)) {
		*out = f->v;
		return 0;
	}
	p = ms_arena_alloc(&r->arena, f->v.len + 1);
	if (!p)
		return ms_error_set(r->err, MS_ENOMEM, "out of memory");
	for (i = 0; i < f->v.len; i++) {
		p[n++] = f->v.s[i];
		if (f->v.s[i] == '"')
			i++;
	}
	out->s = p;
	out->len = n;
	return 0;
}

/* NFC copy of s (already valid UTF-8) in the entry arena. */
static int text_dup(struct goae_reader *r, struct slice s, const char **out)
{
	int rc;

	ms_buf_reset(&r->norm);
	rc = ms_nfc_append(&r->norm, s.s, s.len, r->err);
	if (rc)
		return rc;
	*out = ms_arena_strndup(&r->arena, r->norm.buf, r->norm.len);
	if (!*out)
		return ms_error_set(r->err, MS_ENOMEM, "out of memory");
	return 0;
}

static int read_header(struct goae_reader *r, struct csv_iter *it)
{
	size_t i, c;
	int rc;

	rc = csv_next(r, it, &r->rec);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return fail(r, 1, MS_EINVAL, "file is empty");
	for (c = 0; c < N_COLS; c++)
		r->col[c] = -1;
	for (i = 0; i < r->rec.n; i++) {
		const char *name;

		ms_arena_reset(&r->arena);
		rc = text_dup(r, trim(r->rec.f[i].v), &name);
		if (rc)
			return fail(r, r->rec.line, rc, "%s", ms_status_str(rc));
		for (c = 0; c < N_COLS; c++) {
			if (r->col[c] < 0 && strcmp(name, col_names[c].name) == 0)
				r->col[c] = (int)i;
		}
	}
	for (c = 0; c < N_COLS; c++) {
		if (col_names[c].required && r->col[c] < 0)
			return fail(r, r->rec.line, MS_EINVAL, "missing column '%s' in header",
			            col_names[c].name);
	}
	r->n_cols = r->rec.n;
	return 0;
}

/* ---- numbers ----------------------------------------------------------- */

/* "1.141" -> 1141; digits with optional '.' thousands separators. */
static bool parse_points(struct slice s, int64_t *out)
{
	int64_t v = 0;
	size_t i, digits = 0, group = 0;
	bool sep = false;

	s = trim(s);
	if (s.len == 0)
		return false;
	for (i = 0; i < s.len; i++) {
		char c = s.s[i];

		if (c == '.') {
			if (digits == 0 || (sep && group != 3) || (!sep && group > 3))
				return false;
			sep = true;
			group = 0;
			continue;
		}
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
		digits++;
		group++;
		if (v > GOAE_MAX_POINTS)
			return false;
	}
	if (sep && group != 3)
		return false;
	*out = v;
	return true;
}

/*
 * Parses a decimal with a comma ("4,66", "-64,7", "1.005,46", "2,3") scaled
 * by 10^scale digits ("4,66" at scale 2 -> 466). False for '-', empty or junk.
 */
static bool parse_decimal(struct slice s, int scale, int64_t *out)
{
	int64_t v = 0;
	size_t i = 0;
	int frac = -1;
	bool neg = false, any = false;

	s = trim(s);
	if (s.len && s.s[0] == '-') {
		neg = true;
		i = 1;
	}
	for (; i < s.len; i++) {
		char c = s.s[i];

		if (c == ',' && frac < 0) {
			frac = 0;
			continue;
		}
		if (c == '.' && frac < 0)
			continue;
		if (c < '0' || c > '9' || frac >= scale || v > 100000000000LL)
			return false;
		v = v * 10 + (c - '0');
		any = true;
		if (frac >= 0)
			frac++;
	}
	if (!any)
		return false;
	for (frac = frac < 0 ? 0 : frac; frac < scale; frac++)
		v *= 10;
	*out = neg ? -v : v;
	return true;
}

/* ---- sections and factors ---------------------------------------------- */

/* Sections B-P of the Gebührenverzeichnis by number range (its table of contents). */
static const struct {
	int lo, hi;
	char section;
} goae_sections[] = {
	{ 1, 109, 'B' },     { 200, 449, 'C' },   { 450, 498, 'D' },   { 500, 569, 'E' },
	{ 600, 793, 'F' },   { 800, 887, 'G' },   { 1001, 1168, 'H' }, { 1200, 1386, 'I' },
	{ 1400, 1639, 'J' }, { 1700, 1860, 'K' }, { 2000, 3321, 'L' }, { 3500, 4787, 'M' },
	{ 4800, 4873, 'N' }, { 5000, 5855, 'O' }, { 6000, 6018, 'P' },
};

/*
 * Section A "Gebühren in besonderen Fällen" lists numbers of other sections
 * that § 5 Abs. 3 limits like E and O. The list (2, 56, 250, 250a, 402, 403,
 * 602, 605-617, 620-624, 635-647, 650, 651, 653, 654, 657-661, 665, 666,
 * 725, 726, 759-761, 855-857, 1401, 1403-1406) is confirmed by MMW Fortschr
 * Med 2019 (doi:10.1007/s15006-019-0110-y); 1001, 1002, 1255-1257, 1259,
 * 1260, 1262, 1263, 1268-1270, 1558-1560, 4850-4852, 4860, 4870-4873 are
 * taken from the section A list as reproduced by the CSV's own factors.
 * Letter suffixes (250a, 605a) share their number's entry.
 */
static const struct {
	int lo, hi;
} goae_section_a[] = {
	{ 2, 2 },       { 56, 56 },     { 250, 250 },   { 402, 403 },   { 602, 602 },
	{ 605, 617 },   { 620, 624 },   { 635, 647 },   { 650, 651 },   { 653, 654 },
	{ 657, 661 },   { 665, 666 },   { 725, 726 },   { 759, 761 },   { 855, 857 },
	{ 1001, 1002 }, { 1255, 1257 }, { 1259, 1260 }, { 1262, 1263 }, { 1268, 1270 },
	{ 1401, 1401 }, { 1403, 1406 }, { 1558, 1560 }, { 4850, 4852 }, { 4860, 4860 },
	{ 4870, 4873 },
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The number a fee code is billed like: "A3754" -> 3754, "2442 A" -> 2442, "K1" -> -1. */
static int base_number(struct slice code)
{
	size_t i = 0;
	int v = 0;

	if (code.len > 1 && code.s[0] == 'A' && code.s[1] >= '0' && code.s[1] <= '9')
		i = 1;
	if (i >= code.len || code.s[i] < '0' || code.s[i] > '9')
		return -1;
	for (; i < code.len && code.s[i] >= '0' && code.s[i] <= '9' && v < 100000; i++)
		v = v * 10 + (code.s[i] - '0');
	return v;
}

static char section_of(struct slice code, int number)
{
	size_t i;

	/* Zuschläge A-D, K1 (B II) and E-J, K2 (B V) are letters of section B */
	if (number < 0)
		return (code.len == 1 && code.s[0] >= 'A' && code.s[0] <= 'J') ||
		                       slice_eq(code, "K1") || slice_eq(code, "K2")
		               ? 'B'
		               : 0;
	for (i = 0; i < N_OF(goae_sections); i++) {
		if (number >= goae_sections[i].lo && number <= goae_sections[i].hi)
			return goae_sections[i].section;
	}
	return 0;
}

static bool in_section_a(int number)
{
	size_t i;

	for (i = 0; i < N_OF(goae_section_a); i++) {
		if (number >= goae_section_a[i].lo && number <= goae_section_a[i].hi)
			return true;
	}
	return false;
}

enum fee_mismatch {
	MISMATCH_SIMPLE = 1u << 0,
	MISMATCH_THRESHOLD = 1u << 1,
	MISMATCH_MAX = 1u << 2,
	MISMATCH_FACTOR = 1u << 3
};

/* ---- fees (public: catalog.h) ----------------------------------------- */

int64_t catalog_goae_fee_cents(int64_t points, int64_t factor_milli)
{
	/* points × 5.82873 ct × factor, exact in units of 1e-8 cent; § 5 Abs. 1
	 * GOÄ rounds fractions of a cent half up (amounts here are positive) */
	int64_t v = points * CATALOG_GOAE_POINT_VALUE_E5 * factor_milli;

	return (v + 50000000) / 100000000;
}

int64_t catalog_goz_fee_cents(int64_t points, int64_t factor_milli)
{
	int64_t v = points * CATALOG_GOZ_POINT_VALUE_E5 * factor_milli;

	return (v + 50000000) / 100000000;
}

/* ---- exclusions -------------------------------------------------------- */

/* A token that names a fee number (not a word like "Abschnitt L"). */
static bool is_fee_code(struct slice s)
{
	size_t i;
	bool digit = false;

	if (s.len == 0 || s.len > GOAE_MAX_CODE)
		return false;
	for (i = 0; i < s.len; i++) {
		char c = s.s[i];

		if (c >= '0' && c <= '9')
			digit = true;
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.' ||
		           c == '-' || (c == ' ' && i > 0 && s.s[i - 1] != ' ')))
			return false;
	}
	if (digit)
		return true;
	/* Zuschlag letters: "A".."J", "K1"/"K2" handled by the digit rule */
	return s.len == 1 && s.s[0] >= 'A' && s.s[0] <= 'Z';
}

/* "GOÄ 2" -> "2", "GOZ-Ziffer: 0050" -> "50"; other words are returned as they are. */
static struct slice exclusion_token(struct slice tok)
{
	bool goz = false;

	tok = trim(tok);
	if (slice_starts(tok, "GO\xC3\x84")) {
		tok.s += 4;
		tok.len -= 4;
	} else if (slice_starts(tok, "GOZ-Ziffer:")) {
		tok.s += 11;
		tok.len -= 11;
		goz = true;
	} else if (slice_starts(tok, "GOZ")) {
		tok.s += 3;
		tok.len -= 3;
		goz = true;
	}
	tok = trim(tok);
	while (goz && tok.len > 1 && tok.s[0] == '0' && tok.s[1] >= '0' && tok.s[1] <= '9') {
		tok.s++;
		tok.len--;
	}
	return tok;
}

/* The list after "Ausschlussziffern:" (or its misspelling); empty if the text is not one. */
static struct slice exclusion_list(struct slice s)
{
	static const char *const prefixes[] = { "Ausschlussziffern", "Auschlussziffern",
		                                "Ausschlussziffer", "Auschlussziffer" };
	struct slice list = { "", 0 };
	size_t i;

	s = trim(s);
	for (i = 0; i < N_OF(prefixes); i++) {
		if (slice_starts(s, prefixes[i])) {
			list.s = s.s + strlen(prefixes[i]);
			list.len = s.len - strlen(prefixes[i]);
			break;
		}
	}
	if (list.len && list.s[0] == ':') {
		list.s++;
		list.len--;
	}
	return trim(list);
}

static int parse_exclusions(struct goae_reader *r, struct slice s, struct catalog_rubric *out,
                            bool *has)
{
	struct slice list = exclusion_list(s);
	struct catalog_ref *refs;
	size_t i, n_refs = 0, n_max = 1, start = 0;

	*has = false;
	if (list.len == 0)
		return 0;
	for (i = 0; i < list.len; i++)
		n_max += list.s[i] == ',';
	if (n_max > GOAE_MAX_REFS)
		n_max = GOAE_MAX_REFS;
	refs = ms_arena_calloc(&r->arena, n_max, sizeof(*refs));
	if (!refs)
		return ms_error_set(r->err, MS_ENOMEM, "out of memory");
	for (i = 0; i <= list.len && n_refs < n_max; i++) {
		struct slice tok;

		if (i < list.len && list.s[i] != ',')
			continue;
		tok = exclusion_token((struct slice){ list.s + start, i - start });
		start = i + 1;
		if (!is_fee_code(tok))
			continue;
		refs[n_refs].code = ms_arena_strndup(&r->arena, tok.s, tok.len);
		if (!refs[n_refs].code)
			return ms_error_set(r->err, MS_ENOMEM, "out of memory");
		n_refs++;
	}
	out->kind = "exclusion";
	out->refs = n_refs ? refs : NULL;
	out->n_refs = n_refs;
	*has = true;
	return text_dup(r, list, &out->text);
}

/* ---- rows -------------------------------------------------------------- */

/* GOÄ or GOZ from a GOÄ-column or ziffer value; SCHED_NONE if it tells nothing. */
static enum schedule schedule_hint(struct slice v, const char *goae, const char *goz)
{
	v = trim(v);
	if (slice_starts(v, goz))
		return SCHED_GOZ;
	if (slice_starts(v, goae))
		return SCHED_GOAE;
	return SCHED_NONE;
}

/* Which schedule the current row belongs to; 0 or MS_ENOMEM. */
static int row_schedule(struct goae_reader *r, enum schedule *out)
{
	struct slice go, v;
	int rc;

	*out = SCHED_NONE;
	rc = field(r, COL_GO, &go);
	if (rc)
		return rc;
	go = trim(go);
	if (slice_eq(go, "GOAE") || slice_eq(go, "GO\xC3\x84"))
		*out = SCHED_GOAE;
	else if (slice_eq(go, "GOZ"))
		*out = SCHED_GOZ;
	if (*out)
		return 0;
	/* corrupted value: the GOÄ column says "GOÄ 445 A:" or "GOZ", ziffer "z " or "zz " */
	rc = field(r, COL_GOAE, &v);
	if (rc)
		return rc;
	*out = schedule_hint(v, "GO\xC3\x84", "GOZ");
	if (*out)
		return 0;
	rc = field(r, COL_ZIFFER, &v);
	if (rc)
		return rc;
	*out = schedule_hint(v, "z ", "zz ");
	return 0;
}

/* Canonical code: trimmed, blank runs collapsed; validated. */
static int canonical_code(struct goae_reader *r, struct slice raw, struct slice *out)
{
	char *p = ms_arena_alloc(&r->arena, raw.len + 1);
	size_t i, n = 0;

	out->s = "";
	out->len = 0;
	if (!p)
		return ms_error_set(r->err, MS_ENOMEM, "out of memory");
	raw = trim(raw);
	for (i = 0; i < raw.len; i++) {
		char c = raw.s[i];

		if (c == ' ' || c == '\t') {
			if (n && p[n - 1] != ' ')
				p[n++] = ' ';
			continue;
		}
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-'))
			return fail(r, r->rec.line, MS_EINVAL, "invalid number in column '%s'",
			            col_names[COL_CODE].name);
		p[n++] = c;
	}
	if (n == 0)
		return fail(r, r->rec.line, MS_EINVAL, "empty column '%s'",
		            col_names[COL_CODE].name);
	if (n > GOAE_MAX_CODE)
		return fail(r, r->rec.line, MS_EINVAL, "number longer than %d bytes in column '%s'",
		            GOAE_MAX_CODE, col_names[COL_CODE].name);
	p[n] = '\0';
	out->s = p;
	out->len = n;
	return 0;
}

#define FEE_META_MAX 12

struct fee_meta {
	struct catalog_meta meta[FEE_META_MAX];
	size_t n;
	char buf[FEE_META_MAX][40];
};

/* Adds name with a copy of value (ASCII, at most 39 bytes). */
static void meta_add(struct fee_meta *m, const char *name, struct slice value)
{
	size_t n = value.len < sizeof(m->buf[0]) - 1 ? value.len : sizeof(m->buf[0]) - 1;

	memcpy(m->buf[m->n], value.s, n);
	m->buf[m->n][n] = '\0';
	m->meta[m->n].name = name;
	m->meta[m->n].value = m->buf[m->n];
	m->n++;
}

static void meta_add_str(struct fee_meta *m, const char *name, const char *value)
{
	meta_add(m, name, (struct slice){ value, strlen(value) });
}

static void meta_add_int(struct fee_meta *m, const char *name, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", (long long)v);
	meta_add_str(m, name, num);
}

static void meta_add_factor(struct fee_meta *m, const char *name, int64_t milli)
{
	char num[24];

	/* 2300 -> "2.3", 1150 -> "1.15" */
	if (milli % 100 == 0)
		snprintf(num, sizeof(num), "%d.%d", (int)(milli / 1000), (int)(milli % 1000 / 100));
	else
		snprintf(num, sizeof(num), "%d.%02d", (int)(milli / 1000),
		         (int)(milli % 1000 / 10));
	meta_add_str(m, name, num);
}

static int64_t fee(enum schedule sched, int64_t points, int64_t factor_milli)
{
	return sched == SCHED_GOZ ? catalog_goz_fee_cents(points, factor_milli)
	                          : catalog_goae_fee_cents(points, factor_milli);
}

/* Threshold and maximum factor (× 1000) by § 5 GOÄ / § 5 GOZ. */
static void choose_factors(enum schedule sched, char section, int number, int64_t *thr,
                           int64_t *max)
{
	if (sched == SCHED_GOAE && (section == 'M' || number == 437)) {
		*thr = 1150;
		*max = 1300;
	} else if (sched == SCHED_GOAE &&
	           (section == 'E' || section == 'O' || in_section_a(number))) {
		*thr = 1800;
		*max = 2500;
	} else {
		*thr = 2300;
		*max = 3500;
	}
}

/* Whether column c holds a number (at scale) other than expect; 0 or MS_ENOMEM. */
static int csv_differs(struct goae_reader *r, enum col c, int scale, int64_t expect, bool *differs)
{
	struct slice v;
	int64_t got;
	int rc = field(r, c, &v);

	*differs = !rc && parse_decimal(v, scale, &got) && got != expect;
	return rc;
}

/* Compares the CSV's own factor and fee columns with the computed ones. */
static int compare_csv(struct goae_reader *r, enum schedule sched, int64_t points, int64_t thr,
                       int64_t max, unsigned *mismatch)
{
	bool d[5] = { false, false, false, false, false };
	int rc;

	rc = csv_differs(r, COL_SIMPLE, 2, fee(sched, points, 1000), &d[0]);
	if (!rc && thr)
		rc = csv_differs(r, COL_FEE_THRESHOLD, 2, fee(sched, points, thr), &d[1]);
	if (!rc && thr)
		rc = csv_differs(r, COL_FEE_MAX, 2, fee(sched, points, max), &d[2]);
	if (!rc && thr)
		rc = csv_differs(r, COL_FACTOR_THRESHOLD, 3, thr, &d[3]);
	if (!rc && thr)
		rc = csv_differs(r, COL_FACTOR_MAX, 3, max, &d[4]);
	*mismatch = (d[0] ? MISMATCH_SIMPLE : 0) | (d[1] ? MISMATCH_THRESHOLD : 0) |
	            (d[2] ? MISMATCH_MAX : 0) | (d[3] || d[4] ? MISMATCH_FACTOR : 0);
	return rc;
}

static void add_mismatch(struct fee_meta *m, unsigned mismatch)
{
	char list[48];

	snprintf(list, sizeof(list), "%s%s%s%s", mismatch & MISMATCH_SIMPLE ? ",simple" : "",
	         mismatch & MISMATCH_THRESHOLD ? ",threshold" : "",
	         mismatch & MISMATCH_MAX ? ",max" : "",
	         mismatch & MISMATCH_FACTOR ? ",factor" : "");
	meta_add_str(m, "source_fee_mismatch", list + 1);
}

/* The analog column without its "z "/"zz " prefix, if it names a number. */
static int analog_of(struct goae_reader *r, struct slice *out)
{
	int rc = field(r, COL_ANALOG, out);

	*out = trim(*out);
	while (out->len && (out->s[0] == 'z' || out->s[0] == ' ')) {
		out->s++;
		out->len--;
	}
	if (rc || !is_fee_code(*out) || base_number(*out) < 0)
		out->len = 0;
	return rc;
}

/* Whether the CSV marks the row as billable at the simple rate only ('-' factors). */
static int simple_rate_only(struct goae_reader *r, bool *out)
{
	struct slice v;
	int rc = field(r, COL_FACTOR_THRESHOLD, &v);

	*out = !rc && r->col[COL_FACTOR_THRESHOLD] >= 0 && slice_eq(trim(v), "-");
	return rc;
}

/* Points, section and fees; compares the CSV's own fee columns. */
static int fee_meta(struct goae_reader *r, enum schedule sched, struct slice code,
                    struct fee_meta *m)
{
	struct slice analog, points_s;
	int64_t points, thr = 0, max = 0;
	unsigned mismatch = 0;
	bool simple_only = false;
	char section = 0;
	int number, rc;

	m->n = 0;
	rc = analog_of(r, &analog);
	if (!rc)
		rc = field(r, COL_POINTS, &points_s);
	if (!rc)
		rc = simple_rate_only(r, &simple_only);
	if (rc)
		return rc;
	number = base_number(analog.len ? analog : code);
	if (analog.len)
		meta_add(m, "analog_of", analog);
	if (sched == SCHED_GOAE)
		section = section_of(code, number);
	if (section)
		meta_add(m, "section", (struct slice){ &section, 1 });
	if (!parse_points(points_s, &points))
		return 0;
	meta_add_int(m, "points", points);
	meta_add_int(m, "fee_simple_cents", fee(sched, points, 1000));
	if (!simple_only) {
		choose_factors(sched, section, number, &thr, &max);
		meta_add_factor(m, "factor_threshold", thr);
		meta_add_int(m, "fee_threshold_cents", fee(sched, points, thr));
		meta_add_factor(m, "factor_max", max);
		meta_add_int(m, "fee_max_cents", fee(sched, points, max));
	}
	rc = compare_csv(r, sched, points, thr, max, &mismatch);
	if (rc)
		return rc;
	if (mismatch) {
		add_mismatch(m, mismatch);
		r->n_mismatches++;
	}
	return 0;
}

static int emit_row(struct goae_reader *r, enum schedule sched)
{
	struct catalog_rubric rubrics[2] = { { 0 }, { 0 } };
	struct catalog_entry e;
	struct fee_meta *m;
	struct slice raw, code, label, excl;
	const char *key;
	bool has_excl = false;
	int rc;

	rc = field(r, COL_CODE, &raw);
	if (!rc)
		rc = canonical_code(r, raw, &code);
	if (rc)
		return fail(r, r->rec.line, rc, "%s", ms_status_str(rc));
	if (ms_strmap_get(&r->seen, code.s, code.len)) {
		r->n_duplicates++;
		return 0;
	}
	key = ms_arena_strndup(&r->keys, code.s, code.len);
	if (!key || ms_strmap_put(&r->seen, key, code.len, 0))
		return fail(r, r->rec.line, MS_ENOMEM, "out of memory");

	memset(&e, 0, sizeof(e));
	e.code = code.s;
	e.kind = "fee";
	e.flags = CATALOG_ENTRY_TERMINAL;
	e.line = r->rec.line;
	rc = field(r, COL_LABEL, &label);
	if (rc)
		return fail(r, r->rec.line, rc, "%s", ms_status_str(rc));
	label = trim(label);
	if (label.len && !slice_eq(label, "-")) {
		rc = text_dup(r, label, &e.label);
		if (rc)
			return fail(r, r->rec.line, rc, "%s", ms_status_str(rc));
		rubrics[e.n_rubrics].kind = "preferred";
		rubrics[e.n_rubrics].text = e.label;
		rubrics[e.n_rubrics].refs = NULL;
		rubrics[e.n_rubrics].n_refs = 0;
		e.n_rubrics++;
	}
	rc = field(r, COL_EXCLUSION, &excl);
	if (!rc)
		rc = parse_exclusions(r, excl, &rubrics[e.n_rubrics], &has_excl);
	if (rc)
		return fail(r, r->rec.line, rc, "%s", ms_status_str(rc));
	if (has_excl)
		e.n_rubrics++;
	e.rubrics = e.n_rubrics ? rubrics : NULL;
	m = ms_arena_alloc(&r->arena, sizeof(*m));
	if (!m)
		return fail(r, r->rec.line, MS_ENOMEM, "out of memory");
	rc = fee_meta(r, sched, code, m);
	if (rc)
		return fail(r, r->rec.line, rc, "%s", ms_status_str(rc));
	e.meta = m->n ? m->meta : NULL;
	e.n_meta = m->n;
	if (!r->sink->entry)
		return 0;
	rc = r->sink->entry(r->sink->payload, &e, r->err);
	if (rc)
		ms_error_set_path(r->err, r->name);
	return rc;
}

static int read_schedule(struct goae_reader *r, enum schedule sched,
                         const struct catalog_read_opts *opts)
{
	struct catalog_info info;
	struct csv_iter it = { r->data, r->len, 0, 1 };
	int rc;

	memset(&info, 0, sizeof(info));
	info.system = sched == SCHED_GOZ ? CATALOG_SYSTEM_GOZ : CATALOG_SYSTEM_GOAE;
	info.version = opts->version        ? opts->version
	               : sched == SCHED_GOZ ? GOZ_VERSION_DEFAULT
	                                    : GOAE_VERSION_DEFAULT;
	info.part = CATALOG_PART_CLASSIFICATION;
	info.title = sched == SCHED_GOZ
	                     ? "Geb\xC3\xBChrenordnung f\xC3\xBCr Zahn\xC3\xA4rzte (GOZ)"
	                     : "Geb\xC3\xBChrenordnung f\xC3\xBCr \xC3\x84rzte (GO\xC3\x84)";
	info.format = catalog_format_name(CATALOG_FORMAT_GOAE);
	info.lang = "de";
	if (r->sink->begin) {
		rc = r->sink->begin(r->sink->payload, &info, r->err);
		if (rc) {
			ms_error_set_path(r->err, r->name);
			return rc;
		}
	}
	ms_strmap_release(&r->seen);
	ms_arena_reset(&r->keys);
	rc = read_header(r, &it);
	while (rc == 0) {
		enum schedule s;
		int more = csv_next(r, &it, &r->rec);

		if (more <= 0)
			return more;
		ms_arena_reset(&r->arena);
		if (r->rec.n != r->n_cols)
			return fail(r, r->rec.line, MS_EINVAL, "expected %zu fields, found %zu",
			            r->n_cols, r->rec.n);
		rc = row_schedule(r, &s);
		if (rc)
			return fail(r, r->rec.line, rc, "%s", ms_status_str(rc));
		if (s == SCHED_NONE)
			return fail(r, r->rec.line, MS_EINVAL,
			            "cannot tell the fee schedule from column 'go'");
		if (s == sched)
			rc = emit_row(r, sched);
	}
	return rc;
}

/* Strict UTF-8 without NUL bytes; a BOM is skipped. */
static int check_text(struct goae_reader *r, const char *data, size_t len)
{
	size_t bad = 0, skip = 0, i;

	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		skip = 3;
	r->data = data + skip;
	r->len = len - skip;
	if (!ms_utf8_valid(r->data, r->len, &bad)) {
		size_t line = 1;

		for (i = 0; i < bad; i++)
			line += r->data[i] == '\n';
		ms_error_set_off(r->err, bad + skip);
		return fail(r, line, MS_EUNICODE, "invalid UTF-8 at byte %zu", bad + skip);
	}
	if (memchr(r->data, '\0', r->len)) {
		size_t off = (size_t)((const char *)memchr(r->data, '\0', r->len) - r->data);

		ms_error_set_off(r->err, off + skip);
		return fail(r, 0, MS_EINVAL, "NUL byte at byte %zu", off + skip);
	}
	return 0;
}

static const struct catalog_read_opts no_opts = { NULL, NULL };

int catalog_goae_read_mem(const char *data, size_t len, const char *name,
                          const struct catalog_read_opts *opts, const struct catalog_sink *sink,
                          struct ms_error *err)
{
	struct goae_reader *r;
	bool goae = true, goz = true;
	int rc;

	if (!name)
		name = "<memory>";
	if (!opts)
		opts = &no_opts;
	if (len > GOAE_MAX_FILE) {
		ms_error_set_path(err, name);
		return ms_error_set(err, MS_ETOOBIG, "file is larger than %zu bytes",
		                    GOAE_MAX_FILE);
	}
	if (opts->system) {
		goae = strcmp(opts->system, CATALOG_SYSTEM_GOAE) == 0;
		goz = strcmp(opts->system, CATALOG_SYSTEM_GOZ) == 0;
		if (!goae && !goz) {
			ms_error_set_path(err, name);
			return ms_error_set(err, MS_EUSAGE,
			                    "a GOÄ file holds only the systems 'goae' and 'goz'");
		}
	}
	r = ms_calloc(1, sizeof(*r));
	if (!r)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	r->sink = sink;
	r->err = err;
	r->name = name;
	ms_arena_init(&r->keys, 0);
	ms_arena_init(&r->arena, 0);
	ms_buf_init(&r->norm, 0);
	rc = check_text(r, data, len);
	if (rc)
		goto out;
	/* validate the header before telling the sink anything */
	{
		struct csv_iter it = { r->data, r->len, 0, 1 };

		rc = read_header(r, &it);
		if (rc)
			goto out;
	}
	if (goae) {
		rc = read_schedule(r, SCHED_GOAE, opts);
		if (rc)
			goto out;
	}
	if (goz)
		rc = read_schedule(r, SCHED_GOZ, opts);
out:
	ms_strmap_release(&r->seen);
	ms_arena_release(&r->keys);
	ms_arena_release(&r->arena);
	ms_buf_release(&r->norm);
	ms_free(r);
	return rc;
}

int catalog_goae_read(const char *path, const struct catalog_read_opts *opts,
                      const struct catalog_sink *sink, struct ms_error *err)
{
	struct ms_buf data = MS_BUF_INIT;
	int rc;

	rc = ms_file_read(&data, path, GOAE_MAX_FILE, err);
	if (!rc)
		rc = catalog_goae_read_mem(data.buf, data.len, path, opts, sink, err);
	ms_buf_release(&data);
	return rc;
}
