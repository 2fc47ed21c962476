/* SPDX-License-Identifier: MIT */
/*
 * Reader for the BfArM/DIMDI "Metadaten" code lists of ICD-10-GM and OPS
 * (<system><year>syst_kodes.txt with the sibling _gruppen.txt, _kapitel.txt
 * and, for OPS, _dreisteller.txt). Not for the ClaML files (claml.c) or the
 * alphabetical index (alpha.c).
 *
 * Layout of the files (';'-separated, one record per line, no header, no
 * quoting; UTF-8, CRLF):
 *
 * ICD-10-GM, per DIMDI's icd10gm2017syst_metadaten_liesmich.txt (the format
 * spec shipped in the zip; copy in ../shared/data/catalogs/icd-10-gm/):
 *   _kodes.txt    1 level 3/4/5; 2 T/N terminal; 3 X/S (S = created by a
 *                 subclassification, i.e. a ClaML modifier); 4 chapter number;
 *                 5 first three-character code of the block; 6 code without a
 *                 dagger but with '-', '*', '!' marks; 7 code without marks;
 *                 8 code without dot; 9 class title; 10-12 titles of the
 *                 three-, four- and five-character levels; 13.. metadata.
 *                 Until 2017 there are 30 fields (old and new age formats in
 *                 22-25), from 2018 on 28 (fields 22 and 24 dropped).
 *   _gruppen.txt  first code; last code; chapter number; title
 *   _kapitel.txt  chapter number; title
 *
 * OPS: no liesmich or real file was available offline. The layout below was
 * assembled from public code that reads ops<year>syst_*.txt (the text index
 * holds no BfArM document): a Django importer that maps every year's kodes
 * columns by name (Ebene, Ort, Art, KapNr, GrVon, DCode, Code, Seite, Titel,
 * Viersteller, Fünfsteller, Sechssteller, Para17bd, [DRG], ZusatzK, EinmalK),
 * a JavaScript OPS browser quoting rows ("4;T;N;1;1-10;1-10;1-100;N;Klinische
 * Untersuchung in Allgemeinanästhesie;..." and "1;1-10;1-10;Klinische
 * Untersuchung" for gruppen/dreisteller) and field meanings (8 side required
 * J/N, 13 validity under § 17b/§ 17d KHG 0-3, 14 Zusatzkode, 15 Einmalkode),
 * and DIMDI's web page on the OPS Metadaten ("alle vier-, fünf- und
 * sechsstelligen Schlüsselnummern ... sowie die Überschriften der
 * Dreisteller, Gruppen und Kapitel"):
 *   _kodes.txt       1 level 4/5/6; 2 T/N; 3 X/S; 4 chapter; 5 first
 *                    three-character code of the block (GrVon); 6 the
 *                    three-character code (Dreisteller); 7 code; 8 side
 *                    (Seite); 9 title; 10-12 titles of the 4/5/6 levels;
 *                    13 P17b-d; 14 ZusatzK; 15 EinmalK (15 fields since 2016;
 *                    2014-2015 had 16 with DRG before ZusatzK, 2013 had 14).
 *   _gruppen.txt     chapter; first code; last code; title
 *   _kapitel.txt     chapter; title
 *   _dreisteller.txt chapter; first code of the block; code; title
 * The meta names are the ClaML ones seen in OPS ClaML (P17b-d, DRG, ZusatzK,
 * EinmalK) plus "Seite". Hand-made fixtures in tests/data/ops/ follow this.
 *
 * What is emitted, parents before children, in file order:
 *   chapter   only when _kapitel.txt exists; code as ClaML writes it (Roman
 *             numeral for ICD-10-GM, the number for OPS)
 *   block     "A00-A09" (ICD) or "1-20...1-33" (OPS, as BfArM writes
 *             ranges); from _gruppen.txt when present, else derived from
 *             field 5 and the last three-character code carrying it, with
 *             no label. Derived ranges can be shorter than the real block
 *             when its last codes are unused (U00-U07 for U00-U49).
 *   category  code = field 7, label = field 9 (the full class title: the
 *             ClaML preferred rubric of four- and five-character codes is
 *             the partial title, its preferredLong is field 9), usage from
 *             the marks in field 6 ('*' aster, '!' optional; the files never
 *             mark daggers), metadata under the ClaML Meta names. OPS
 *             three-character codes come from _dreisteller.txt or are
 *             derived from field 6 without a label.
 */
#include "catalog/catalog_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/strmap.h"
#include "common/utf8.h"

#define FLAT_MAX_FILE    ((size_t)256 << 20)
#define FLAT_MAX_FIELDS  32
#define FLAT_MAX_CODE    32
#define FLAT_MAX_CHAPTER 99

struct slice {
	const char *s;
	size_t len;
};

/* ---- the reader ------------------------------------------------------- */

enum flat_layout { LAYOUT_UNKNOWN, LAYOUT_ICD, LAYOUT_OPS };

/* One input file: its text after a BOM and the name used in messages. */
struct flat_src {
	const char *data;
	size_t len;
	const char *name;
};

struct flat_chapter {
	const char *label; /* decoded, side arena; NULL if unknown */
	bool present;      /* listed in _kapitel.txt */
	bool emitted;
};

struct flat_group {
	struct slice from; /* first three-character code: the key */
	struct slice last; /* last three-character code seen in the code list */
	const char *code;  /* "A00-A09", side arena; built after pass 1 */
	const char *label; /* side arena, NULL when derived */
	int chapter;
	bool from_file;
	bool emitted;
};

struct flat_three {
	struct slice code; /* the key */
	struct slice group;
	const char *label; /* side arena, NULL when derived */
	int chapter;
	bool emitted;
};

struct meta_field {
	unsigned idx; /* 0-based field index */
	const char *name;
};

struct flat_reader {
	const struct catalog_sink *sink;
	struct ms_error *err;
	enum flat_layout layout;
	const char *system;
	const char *version;
	struct flat_src codes, groups, chapters, threes; /* data NULL when absent */
	size_t n_fields;
	const struct meta_field *meta_fields;
	size_t n_meta_fields;
	struct flat_chapter chapter[FLAT_MAX_CHAPTER + 1];
	struct flat_group *grp;
	size_t n_grp, cap_grp;
	struct ms_strmap grp_map;
	struct flat_three *three;
	size_t n_three, cap_three;
	struct ms_strmap three_map;
	struct ms_strmap seen; /* category codes already emitted */
	struct ms_arena side;
	struct ms_arena rec;
	struct ms_buf norm;
	char chapter_code[16];
};

static const struct meta_field icd28_meta[] = {
	{ 12, "Para295" },    { 13, "Para301" },    { 14, "MortL1Code" }, { 15, "MortL2Code" },
	{ 16, "MortL3Code" }, { 17, "MortL4Code" }, { 18, "MorbLCode" },  { 19, "SexCode" },
	{ 20, "SexReject" },  { 21, "AgeLow" },     { 22, "AgeHigh" },    { 23, "AgeReject" },
	{ 24, "Exotic" },     { 25, "Content" },    { 26, "Infectious" }, { 27, "EBMLabor" },
};

/* 2017 and earlier: the old age format (no ClaML name; DIMDI's SQL column
 * names AltUnt/AltOb) precedes each new-format field */
static const struct meta_field icd30_meta[] = {
	{ 12, "Para295" },    { 13, "Para301" },    { 14, "MortL1Code" }, { 15, "MortL2Code" },
	{ 16, "MortL3Code" }, { 17, "MortL4Code" }, { 18, "MorbLCode" },  { 19, "SexCode" },
	{ 20, "SexReject" },  { 21, "AltUnt" },     { 22, "AgeLow" },     { 23, "AltOb" },
	{ 24, "AgeHigh" },    { 25, "AgeReject" },  { 26, "Exotic" },     { 27, "Content" },
	{ 28, "Infectious" }, { 29, "EBMLabor" },
};

static const struct meta_field ops14_meta[] = {
	{ 7, "Seite" },
	{ 12, "P17b-d" },
	{ 13, "DRG" },
};

static const struct meta_field ops15_meta[] = {
	{ 7, "Seite" },
	{ 12, "P17b-d" },
	{ 13, "ZusatzK" },
	{ 14, "EinmalK" },
};

static const struct meta_field ops16_meta[] = {
	{ 7, "Seite" }, { 12, "P17b-d" }, { 13, "DRG" }, { 14, "ZusatzK" }, { 15, "EinmalK" },
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static size_t line_of(const char *s, size_t off)
{
	size_t i, line = 1;

	for (i = 0; i < off; i++) {
		if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= off || s[i + 1] != '\n')))
			line++;
	}
	return line;
}

static int fail(struct flat_reader *r, const struct flat_src *src, size_t line, int code,
                const char *fmt, ...) MS_PRINTF(5, 6);

static int fail(struct flat_reader *r, const struct flat_src *src, size_t line, int code,
                const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = ms_error_vset(r->err, code, fmt, ap);
	va_end(ap);
	ms_error_set_path(r->err, src->name);
	if (line)
		ms_error_set_line(r->err, line);
	return code;
}

/*
 * Checks that the file is UTF-8, as the liesmich says of every Metadaten
 * file ("Alle Dateien liegen im UTF-8-Zeichensatz"), and free of NUL bytes,
 * which would cut strings short; skips a BOM.
 */
static int src_init(struct flat_reader *r, struct flat_src *src, const char *data, size_t len,
                    const char *name)
{
	size_t skip = 0, bad = 0;
	const char *nul;

	src->name = name;
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		skip = 3;
	src->data = data + skip;
	src->len = len - skip;
	if (!ms_utf8_valid(src->data, src->len, &bad)) {
		ms_error_set_off(r->err, bad + skip);
		return fail(r, src, line_of(src->data, bad), MS_EUNICODE,
		            "invalid UTF-8 at byte %zu", bad + skip);
	}
	nul = memchr(src->data, '\0', src->len);
	if (nul) {
		bad = (size_t)(nul - src->data);
		ms_error_set_off(r->err, bad + skip);
		return fail(r, src, line_of(src->data, bad), MS_EINVAL, "NUL byte at byte %zu",
		            bad + skip);
	}
	return 0;
}

/* Appends the field line[start, at) to f[0..max) as its n-th; returns n + 1. */
static inline size_t add_field(const char *line, size_t start, size_t at, struct slice *f,
                               size_t max, size_t n)
{
	if (n < max) {
		f[n].s = line + start;
		f[n].len = at - start;
	}
	return n + 1;
}

/*
 * Splits line at sep into f[0..max); returns the number of fields (may
 * exceed max). With head, stops once f is full: then returns max + 1 if the
 * line has more fields. Eight bytes at a time on little-endian machines: an
 * exact mask (0x80 in each byte equal to sep, no borrow between bytes) gives
 * the separators of a word lowest first; fields are short, so one pass over
 * the line beats a search per field.
 */
static size_t split(const char *line, size_t len, char sep, struct slice *f, size_t max, bool head)
{
	size_t start = 0, n = 0, i = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t lows = 0x7F7F7F7F7F7F7F7Fu;
	const uint64_t pat = 0x0101010101010101u * (unsigned char)sep;

	for (; i + 8 <= len; i += 8) {
		uint64_t w, m;

		memcpy(&w, line + i, 8);
		w ^= pat;
		m = ~(((w & lows) + lows) | w | lows);
		while (m) {
			size_t at = i + (size_t)(__builtin_ctzll(m) >> 3);

			n = add_field(line, start, at, f, max, n);
			if (head && n == max)
				return max + 1;
			start = at + 1;
			m &= m - 1;
		}
	}
#endif
	for (; i < len; i++) {
		if (line[i] == sep) {
			n = add_field(line, start, i, f, max, n);
			if (head && n == max)
				return max + 1;
			start = i + 1;
		}
	}
	return add_field(line, start, len, f, max, n);
}

static inline struct slice trim(struct slice s)
{
	while (s.len && (s.s[0] == ' ' || s.s[0] == '\t')) {
		s.s++;
		s.len--;
	}
	while (s.len && (s.s[s.len - 1] == ' ' || s.s[s.len - 1] == '\t'))
		s.len--;
	return s;
}

static bool is_code(struct slice s)
{
	size_t i;

	if (s.len == 0 || s.len > FLAT_MAX_CODE)
		return false;
	for (i = 0; i < s.len; i++) {
		char c = s.s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* Parses a chapter number of one or two digits (1..99); -1 if invalid. */
static int parse_chapter(struct slice s)
{
	int v = 0;
	size_t i;

	if (s.len == 0 || s.len > 2)
		return -1;
	for (i = 0; i < s.len; i++) {
		if (s.s[i] < '0' || s.s[i] > '9')
			return -1;
		v = v * 10 + (s.s[i] - '0');
	}
	return v >= 1 && v <= FLAT_MAX_CHAPTER ? v : -1;
}

/* The chapter's code as ClaML writes it: Roman numeral (ICD) or the number (OPS). */
static const char *chapter_code(struct flat_reader *r, int num)
{
	static const char *const tens[] = { "",  "X",  "XX",  "XXX",  "XL",
		                            "L", "LX", "LXX", "LXXX", "XC" };
	static const char *const ones[] = { "",  "I",  "II",  "III",  "IV",
		                            "V", "VI", "VII", "VIII", "IX" };

	if (r->layout == LAYOUT_ICD)
		snprintf(r->chapter_code, sizeof(r->chapter_code), "%s%s", tens[num / 10],
		         ones[num % 10]);
	else
		snprintf(r->chapter_code, sizeof(r->chapter_code), "%d", num);
	return r->chapter_code;
}

/* Normalises s (valid UTF-8) to NFC and copies it into arena a. */
static int text_dup(struct flat_reader *r, struct ms_arena *a, struct slice s, const char **out)
{
	s = trim(s);
	return ms_nfc_dup(a, &r->norm, s.s, s.len, out, r->err);
}

static int oom(struct flat_reader *r)
{
	return ms_error_set(r->err, MS_ENOMEM, "out of memory");
}

static int emit(struct flat_reader *r, const struct catalog_entry *e)
{
	int rc;

	if (!r->sink->entry)
		return 0;
	rc = r->sink->entry(r->sink->payload, e, r->err);
	if (rc)
		ms_error_set_path(r->err, r->codes.name);
	return rc;
}

static int emit_simple(struct flat_reader *r, const char *code, const char *kind,
                       const char *parent, const char *label, size_t line)
{
	struct catalog_rubric rubric = { .kind = "preferred", .text = label };
	struct catalog_entry e;

	memset(&e, 0, sizeof(e));
	e.code = code;
	e.kind = kind;
	e.parent = parent;
	e.label = label;
	e.rubrics = label ? &rubric : NULL;
	e.n_rubrics = label ? 1 : 0;
	e.line = line;
	return emit(r, &e);
}

static int ensure_chapter(struct flat_reader *r, int num)
{
	struct flat_chapter *ch = &r->chapter[num];

	if (!r->chapters.data || ch->emitted)
		return 0;
	ch->emitted = true;
	return emit_simple(r, chapter_code(r, num), "chapter", NULL, ch->label, 0);
}

static int ensure_group(struct flat_reader *r, struct flat_group *g)
{
	const char *parent = NULL;
	int rc;

	if (g->emitted)
		return 0;
	g->emitted = true;
	if (r->chapters.data) {
		rc = ensure_chapter(r, g->chapter);
		if (rc)
			return rc;
		parent = chapter_code(r, g->chapter);
	}
	return emit_simple(r, g->code, "block", parent, g->label, 0);
}

static struct flat_group *group_get(struct flat_reader *r, struct slice from)
{
	const struct ms_strmap_slot *slot = ms_strmap_get(&r->grp_map, from.s, from.len);

	return slot ? &r->grp[slot->val] : NULL;
}

/* Adds a block keyed by from; NULL when out of memory (err is set). */
static struct flat_group *group_add(struct flat_reader *r, struct slice from, int chapter)
{
	struct flat_group *g;

	if (MS_GROW(r->grp, r->cap_grp, r->n_grp + 1) ||
	    ms_strmap_put(&r->grp_map, from.s, from.len, r->n_grp)) {
		oom(r);
		return NULL;
	}
	g = &r->grp[r->n_grp++];
	memset(g, 0, sizeof(*g));
	g->from = from;
	g->chapter = chapter;
	return g;
}

static struct flat_three *three_get(struct flat_reader *r, struct slice code)
{
	const struct ms_strmap_slot *slot = ms_strmap_get(&r->three_map, code.s, code.len);

	return slot ? &r->three[slot->val] : NULL;
}

/* Adds a three-character code; NULL when out of memory (err is set). */
static struct flat_three *three_add(struct flat_reader *r, struct slice code, struct slice group,
                                    int chapter)
{
	struct flat_three *t;

	if (MS_GROW(r->three, r->cap_three, r->n_three + 1) ||
	    ms_strmap_put(&r->three_map, code.s, code.len, r->n_three)) {
		oom(r);
		return NULL;
	}
	t = &r->three[r->n_three++];
	memset(t, 0, sizeof(*t));
	t->code = code;
	t->group = group;
	t->chapter = chapter;
	return t;
}

static int build_group_code(struct flat_reader *r, struct flat_group *g, struct slice last)
{
	const char *sep = r->layout == LAYOUT_OPS ? "..." : "-";
	size_t n = g->from.len + strlen(sep) + last.len;
	char *code = ms_arena_alloc(&r->side, n + 1);

	if (!code)
		return oom(r);
	snprintf(code, n + 1, "%.*s%s%.*s", (int)g->from.len, g->from.s, sep, (int)last.len,
	         last.s);
	g->code = code;
	return 0;
}

/* ---- side files -------------------------------------------------------- */

static int load_chapters(struct flat_reader *r)
{
	struct ms_lines it;
	const char *line;
	size_t len;
	int rc;

	ms_lines_init(&it, r->chapters.data, r->chapters.len);
	while (ms_lines_next(&it, &line, &len)) {
		struct slice f[2];
		size_t n;
		int num;

		if (len == 0)
			continue;
		n = split(line, len, ';', f, 2, false);
		if (n != 2)
			return fail(r, &r->chapters, it.line_no, MS_EINVAL,
			            "expected 2 fields in the chapter list, found %zu", n);
		num = parse_chapter(trim(f[0]));
		if (num < 0)
			return fail(r, &r->chapters, it.line_no, MS_EINVAL,
			            "invalid chapter number in field 1");
		if (r->chapter[num].present)
			return fail(r, &r->chapters, it.line_no, MS_EINVAL, "duplicate chapter %d",
			            num);
		r->chapter[num].present = true;
		rc = text_dup(r, &r->side, f[1], &r->chapter[num].label);
		if (rc)
			return fail(r, &r->chapters, it.line_no, rc, "%s", ms_status_str(rc));
	}
	return 0;
}

static int load_groups(struct flat_reader *r)
{
	/* ICD: first;last;chapter;title  OPS: chapter;first;last;title */
	const unsigned i_from = r->layout == LAYOUT_OPS ? 1 : 0;
	const unsigned i_to = i_from + 1;
	const unsigned i_ch = r->layout == LAYOUT_OPS ? 0 : 2;
	struct ms_lines it;
	const char *line;
	size_t len;
	int rc;

	ms_lines_init(&it, r->groups.data, r->groups.len);
	while (ms_lines_next(&it, &line, &len)) {
		struct slice f[4], from, to;
		struct flat_group *g;
		size_t n;
		int ch;

		if (len == 0)
			continue;
		n = split(line, len, ';', f, 4, false);
		if (n != 4)
			return fail(r, &r->groups, it.line_no, MS_EINVAL,
			            "expected 4 fields in the block list, found %zu", n);
		from = trim(f[i_from]);
		to = trim(f[i_to]);
		ch = parse_chapter(trim(f[i_ch]));
		if (!is_code(from) || !is_code(to))
			return fail(r, &r->groups, it.line_no, MS_EINVAL, "invalid block code");
		if (ch < 0)
			return fail(r, &r->groups, it.line_no, MS_EINVAL, "invalid chapter number");
		if (group_get(r, from))
			return fail(r, &r->groups, it.line_no, MS_EINVAL, "duplicate block '%.*s'",
			            (int)from.len, from.s);
		g = group_add(r, from, ch);
		if (!g)
			return MS_ENOMEM;
		g->from_file = true;
		rc = build_group_code(r, g, to);
		if (!rc)
			rc = text_dup(r, &r->side, f[3], &g->label);
		if (rc)
			return fail(r, &r->groups, it.line_no, rc, "%s", ms_status_str(rc));
	}
	return 0;
}

static int load_threes(struct flat_reader *r)
{
	struct ms_lines it;
	const char *line;
	size_t len;
	int rc;

	ms_lines_init(&it, r->threes.data, r->threes.len);
	while (ms_lines_next(&it, &line, &len)) {
		struct slice f[4], group, code;
		struct flat_three *t;
		size_t n;
		int ch;

		if (len == 0)
			continue;
		n = split(line, len, ';', f, 4, false);
		if (n != 4)
			return fail(r, &r->threes, it.line_no, MS_EINVAL,
			            "expected 4 fields in the three-character code list, found %zu",
			            n);
		ch = parse_chapter(trim(f[0]));
		group = trim(f[1]);
		code = trim(f[2]);
		if (ch < 0)
			return fail(r, &r->threes, it.line_no, MS_EINVAL, "invalid chapter number");
		if (!is_code(group) || !is_code(code))
			return fail(r, &r->threes, it.line_no, MS_EINVAL, "invalid code");
		if (three_get(r, code))
			return fail(r, &r->threes, it.line_no, MS_EINVAL, "duplicate code '%.*s'",
			            (int)code.len, code.s);
		t = three_add(r, code, group, ch);
		if (!t)
			return MS_ENOMEM;
		rc = text_dup(r, &r->side, f[3], &t->label);
		if (rc)
			return fail(r, &r->threes, it.line_no, rc, "%s", ms_status_str(rc));
	}
	return 0;
}

/* ---- the code list ------------------------------------------------------ */

static int set_layout(struct flat_reader *r, size_t n, size_t line)
{
	if (r->layout == LAYOUT_UNKNOWN) {
		if (n == 28 || n == 30)
			r->layout = LAYOUT_ICD;
		else if (n >= 14 && n <= 16)
			r->layout = LAYOUT_OPS;
		else
			return fail(r, &r->codes, line, MS_EINVAL,
			            "expected 28 or 30 fields (ICD-10-GM) or 14 to 16 (OPS), "
			            "found %zu",
			            n);
	}
	if (r->layout == LAYOUT_ICD) {
		if (n != 28 && n != 30)
			return fail(r, &r->codes, line, MS_EINVAL,
			            "expected 28 or 30 fields, found %zu", n);
		r->meta_fields = n == 28 ? icd28_meta : icd30_meta;
		r->n_meta_fields = n == 28 ? N_OF(icd28_meta) : N_OF(icd30_meta);
	} else {
		if (n < 14 || n > 16)
			return fail(r, &r->codes, line, MS_EINVAL,
			            "expected 14 to 16 fields (OPS code list), found %zu", n);
		r->meta_fields = n == 14 ? ops14_meta : n == 15 ? ops15_meta : ops16_meta;
		r->n_meta_fields = n == 14   ? N_OF(ops14_meta)
		                   : n == 15 ? N_OF(ops15_meta)
		                             : N_OF(ops16_meta);
	}
	r->n_fields = n;
	return 0;
}

/* A validated row of the code list. */
struct flat_row {
	struct slice f[FLAT_MAX_FIELDS];
	int level;
	int chapter;
	struct slice group; /* field 5 */
	struct slice three; /* three-character code (ICD level 3: field 7; OPS: field 6) */
	struct slice code;  /* field 7 */
};

/* The fields the first pass reads: up to the code (field 7). */
#define FLAT_KEY_FIELDS 7

/*
 * Splits and checks a row of the code list. With head (the first pass,
 * once the layout is known), only the first FLAT_KEY_FIELDS are split and
 * checked, and the number of fields only if there are no more: the second
 * pass checks every row whole before it uses it.
 */
static int parse_row(struct flat_reader *r, const char *line, size_t len, size_t line_no, bool head,
                     struct flat_row *row)
{
	const int max_level = r->layout == LAYOUT_OPS ? 6 : 5;
	struct slice lv, t, x;
	size_t n;
	int rc;

	head = head && r->n_fields != 0;
	n = split(line, len, ';', row->f, head ? FLAT_KEY_FIELDS : FLAT_MAX_FIELDS, head);
	if (r->n_fields == 0) {
		rc = set_layout(r, n, line_no);
		if (rc)
			return rc;
	}
	if (n != r->n_fields && !(head && n > FLAT_KEY_FIELDS))
		return fail(r, &r->codes, line_no, MS_EINVAL, "expected %zu fields, found %zu",
		            r->n_fields, n);
	lv = trim(row->f[0]);
	t = trim(row->f[1]);
	x = trim(row->f[2]);
	if (lv.len != 1 || lv.s[0] < '3' || lv.s[0] > '0' + max_level)
		return fail(r, &r->codes, line_no, MS_EINVAL, "invalid level in field 1");
	row->level = lv.s[0] - '0';
	if (t.len != 1 || (t.s[0] != 'T' && t.s[0] != 'N'))
		return fail(r, &r->codes, line_no, MS_EINVAL, "field 2 is not 'T' or 'N'");
	if (x.len != 1 ||
	    (x.s[0] != 'X' && x.s[0] != 'S' && !(r->layout == LAYOUT_OPS && x.s[0] == 'N')))
		return fail(r, &r->codes, line_no, MS_EINVAL, "field 3 is not 'X' or 'S'");
	row->chapter = parse_chapter(trim(row->f[3]));
	if (row->chapter < 0)
		return fail(r, &r->codes, line_no, MS_EINVAL, "invalid chapter number in field 4");
	row->group = trim(row->f[4]);
	row->code = trim(row->f[6]);
	if (!is_code(row->group))
		return fail(r, &r->codes, line_no, MS_EINVAL, "invalid block code in field 5");
	if (!is_code(row->code))
		return fail(r, &r->codes, line_no, MS_EINVAL, "invalid code in field 7");
	if (r->layout == LAYOUT_OPS) {
		row->three = trim(row->f[5]);
		if (!is_code(row->three))
			return fail(r, &r->codes, line_no, MS_EINVAL,
			            "invalid three-character code in field 6");
		if (row->level == 3 && (row->three.len != row->code.len ||
		                        memcmp(row->three.s, row->code.s, row->code.len) != 0))
			return fail(r, &r->codes, line_no, MS_EINVAL,
			            "fields 6 and 7 of a three-character code differ");
	} else {
		row->three = row->level == 3 ? row->code : (struct slice){ NULL, 0 };
	}
	return 0;
}

/* Pass 1: checks every row's shape and learns blocks and three-character codes. */
static int scan_codes(struct flat_reader *r)
{
	struct ms_lines it;
	const char *line;
	size_t len;
	struct flat_row *row = ms_malloc(sizeof(*row));
	size_t rows = 0;
	int rc = 0;

	if (!row)
		return oom(r);
	ms_lines_init(&it, r->codes.data, r->codes.len);
	while (ms_lines_next(&it, &line, &len)) {
		struct flat_group *g;

		if (len == 0)
			continue;
		rc = parse_row(r, line, len, it.line_no, true, row);
		if (rc)
			goto out;
		rows++;
		g = group_get(r, row->group);
		if (!g)
			g = group_add(r, row->group, row->chapter);
		if (!g) {
			rc = MS_ENOMEM;
			goto out;
		}
		if (row->three.len)
			g->last = row->three;
		if (r->layout == LAYOUT_OPS && !three_get(r, row->three) &&
		    !three_add(r, row->three, row->group, row->chapter)) {
			rc = MS_ENOMEM;
			goto out;
		}
	}
	if (rows == 0)
		rc = fail(r, &r->codes, 1, MS_EINVAL, "file is empty");
out:
	ms_free(row);
	return rc;
}

/* The parent of a row's code: its block, its three-character code or the code one level up. */
static int row_parent(struct flat_reader *r, const struct flat_row *row, size_t line_no,
                      struct slice *out)
{
	if (r->layout == LAYOUT_OPS && row->level == 4) {
		*out = row->three;
		return 0;
	}
	if (row->level == 3) {
		const struct flat_group *g = group_get(r, row->group);

		out->s = g ? g->code : NULL;
		out->len = out->s ? strlen(out->s) : 0;
		return 0;
	}
	*out = row->code;
	out->len--;
	if (out->len && out->s[out->len - 1] == '.')
		out->len--;
	if (out->len == 0 || !ms_strmap_get(&r->seen, out->s, out->len))
		return fail(r, &r->codes, line_no, MS_EINVAL,
		            "parent of code '%.*s' is not defined before it", (int)row->code.len,
		            row->code.s);
	return 0;
}

/* Copies the non-empty metadata fields under their names; returns their number or < 0. */
static int row_meta(struct flat_reader *r, const struct flat_row *row, size_t line_no,
                    struct catalog_meta *meta)
{
	size_t i;
	int n = 0, rc;

	for (i = 0; i < r->n_meta_fields; i++) {
		const struct meta_field *mf = &r->meta_fields[i];

		if (!trim(row->f[mf->idx]).len)
			continue;
		meta[n].name = mf->name;
		rc = text_dup(r, &r->rec, row->f[mf->idx], &meta[n].value);
		if (rc)
			return fail(r, &r->codes, line_no, rc, "%s", ms_status_str(rc));
		n++;
	}
	return n;
}

static const char *row_usage(const struct flat_reader *r, const struct flat_row *row)
{
	struct slice marked = trim(row->f[5]);

	if (r->layout != LAYOUT_ICD || !marked.len)
		return NULL;
	if (marked.s[marked.len - 1] == '*')
		return "aster";
	if (marked.s[marked.len - 1] == '!')
		return "optional";
	return NULL;
}

static int emit_category(struct flat_reader *r, const struct flat_row *row, size_t line_no)
{
	struct catalog_meta meta[FLAT_MAX_FIELDS];
	struct catalog_rubric rubric = { .kind = "preferred" };
	struct catalog_entry e;
	struct slice parent;
	int rc;

	memset(&e, 0, sizeof(e));
	rc = row_parent(r, row, line_no, &parent);
	if (rc)
		return rc;
	if (ms_strmap_get(&r->seen, row->code.s, row->code.len))
		return fail(r, &r->codes, line_no, MS_EINVAL, "duplicate code '%.*s'",
		            (int)row->code.len, row->code.s);
	if (ms_strmap_put(&r->seen, row->code.s, row->code.len, 0))
		return oom(r);
	e.code = ms_arena_strndup(&r->rec, row->code.s, row->code.len);
	e.parent = parent.s ? ms_arena_strndup(&r->rec, parent.s, parent.len) : NULL;
	if (!e.code || (parent.s && !e.parent))
		return oom(r);
	e.kind = "category";
	e.usage = row_usage(r, row);
	if (trim(row->f[8]).len) {
		rc = text_dup(r, &r->rec, row->f[8], &e.label);
		if (rc)
			return fail(r, &r->codes, line_no, rc, "%s", ms_status_str(rc));
		rubric.text = e.label;
		e.rubrics = &rubric;
		e.n_rubrics = 1;
	}
	if (trim(row->f[1]).s[0] == 'T')
		e.flags |= CATALOG_ENTRY_TERMINAL;
	if (trim(row->f[2]).s[0] == 'S')
		e.flags |= CATALOG_ENTRY_MODIFIED;
	rc = row_meta(r, row, line_no, meta);
	if (rc < 0)
		return rc;
	e.meta = rc ? meta : NULL;
	e.n_meta = (size_t)rc;
	e.line = line_no;
	return emit(r, &e);
}

static int emit_three(struct flat_reader *r, struct flat_three *t)
{
	const struct flat_group *g = group_get(r, t->group);
	const char *code;

	t->emitted = true;
	if (ms_strmap_put(&r->seen, t->code.s, t->code.len, 0))
		return oom(r);
	ms_arena_reset(&r->rec);
	code = ms_arena_strndup(&r->rec, t->code.s, t->code.len);
	if (!code)
		return oom(r);
	return emit_simple(r, code, "category", g && g->emitted ? g->code : NULL, t->label, 0);
}

/* Emits a row's block (and chapter) and OPS three-character code when first needed, then the row.
 */
static int emit_row(struct flat_reader *r, const struct flat_row *row, size_t line_no)
{
	struct flat_group *g = group_get(r, row->group);
	struct flat_three *t = r->layout == LAYOUT_OPS ? three_get(r, row->three) : NULL;
	int rc;

	ms_arena_reset(&r->rec);
	if (g) {
		rc = ensure_group(r, g);
		if (rc)
			return rc;
	}
	if (t && row->level == 3) {
		t->emitted = true; /* the row is the three-character code itself */
	} else if (t && !t->emitted) {
		rc = emit_three(r, t);
		if (rc)
			return rc;
		ms_arena_reset(&r->rec);
	}
	return emit_category(r, row, line_no);
}

/* Chapters, blocks and three-character codes that the side files list but no code uses. */
static int emit_leftovers(struct flat_reader *r)
{
	size_t i;
	int rc;

	for (i = 1; i <= FLAT_MAX_CHAPTER; i++) {
		if (!r->chapter[i].present)
			continue;
		rc = ensure_chapter(r, (int)i);
		if (rc)
			return rc;
	}
	for (i = 0; i < r->n_grp; i++) {
		rc = ensure_group(r, &r->grp[i]);
		if (rc)
			return rc;
	}
	for (i = 0; i < r->n_three; i++) {
		if (r->three[i].emitted ||
		    ms_strmap_get(&r->seen, r->three[i].code.s, r->three[i].code.len))
			continue;
		rc = emit_three(r, &r->three[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* Pass 2: emits chapters, blocks and categories in file order. */
static int emit_codes(struct flat_reader *r)
{
	struct ms_lines it;
	const char *line;
	size_t len;
	struct flat_row *row = ms_malloc(sizeof(*row));
	int rc = 0;

	if (!row)
		return oom(r);
	ms_lines_init(&it, r->codes.data, r->codes.len);
	while (rc == 0 && ms_lines_next(&it, &line, &len)) {
		if (len == 0)
			continue;
		rc = parse_row(r, line, len, it.line_no, false, row);
		if (!rc)
			rc = emit_row(r, row, it.line_no);
	}
	if (!rc)
		rc = emit_leftovers(r);
	ms_free(row);
	return rc;
}

/* Derives the system from the file name prefix and the version from the first four-digit run. */
static void names_from_file(struct flat_reader *r, const char *name,
                            const struct catalog_read_opts *opts, char *version, size_t size)
{
	const char *base = ms_basename(name);
	size_t i, n = strlen(base);

	r->system = opts->system;
	if (!r->system) {
		if (strncmp(base, "icd10gm", 7) == 0)
			r->system = CATALOG_SYSTEM_ICD10GM;
		else if (strncmp(base, "ops", 3) == 0)
			r->system = CATALOG_SYSTEM_OPS;
	}
	if (r->system && strcmp(r->system, CATALOG_SYSTEM_ICD10GM) == 0)
		r->layout = LAYOUT_ICD;
	else if (r->system && strcmp(r->system, CATALOG_SYSTEM_OPS) == 0)
		r->layout = LAYOUT_OPS;
	r->version = opts->version;
	for (i = 0; !r->version && i + 4 <= n; i++) {
		bool run = (i == 0 || base[i - 1] < '0' || base[i - 1] > '9') &&
		           (i + 4 == n || base[i + 4] < '0' || base[i + 4] > '9');
		size_t k;

		for (k = 0; run && k < 4; k++)
			run = base[i + k] >= '0' && base[i + k] <= '9';
		if (run && size > 4) {
			memcpy(version, base + i, 4);
			version[4] = '\0';
			r->version = version;
		}
	}
}

/* Without a system from the name or options, the first line's field count decides the layout. */
static int detect_layout(struct flat_reader *r)
{
	struct slice f[FLAT_MAX_FIELDS];
	struct ms_lines it;
	const char *line = NULL;
	size_t len = 0;
	bool found = false;
	int rc;

	ms_lines_init(&it, r->codes.data, r->codes.len);
	while (!found && ms_lines_next(&it, &line, &len))
		found = len > 0;
	if (!found)
		return fail(r, &r->codes, 1, MS_EINVAL, "file is empty");
	rc = set_layout(r, split(line, len, ';', f, FLAT_MAX_FIELDS, false), it.line_no);
	r->n_fields = 0; /* pass 1 checks every line, the first one included */
	return rc;
}

/* Reads the side files, then pass 1; names the derived blocks. */
static int load_all(struct flat_reader *r)
{
	size_t i;
	int rc = 0;

	if (r->chapters.data)
		rc = load_chapters(r);
	if (!rc && r->groups.data)
		rc = load_groups(r);
	if (!rc && r->threes.data && r->layout == LAYOUT_OPS)
		rc = load_threes(r);
	if (!rc)
		rc = scan_codes(r);
	for (i = 0; !rc && i < r->n_grp; i++) {
		struct flat_group *g = &r->grp[i];

		if (!g->from_file)
			rc = build_group_code(r, g, g->last.len ? g->last : g->from);
	}
	return rc;
}

static int flat_run(struct flat_reader *r, const char *name, const struct catalog_read_opts *opts)
{
	struct catalog_info info;
	char version[8];
	int rc;

	names_from_file(r, name, opts, version, sizeof(version));
	if (!r->version)
		return fail(r, &r->codes, 0, MS_EINVAL,
		            "cannot derive the catalogue version from the file name '%s'",
		            ms_basename(name));
	if (r->codes.len == 0)
		return fail(r, &r->codes, 1, MS_EINVAL, "file is empty");
	/* the layout decides how side files are read */
	if (r->layout == LAYOUT_UNKNOWN) {
		rc = detect_layout(r);
		if (rc)
			return rc;
	}
	if (!r->system)
		r->system = r->layout == LAYOUT_OPS ? CATALOG_SYSTEM_OPS : CATALOG_SYSTEM_ICD10GM;
	rc = load_all(r);
	if (rc)
		return rc;
	memset(&info, 0, sizeof(info));
	info.system = r->system;
	info.version = r->version;
	info.part = CATALOG_PART_CLASSIFICATION;
	info.title = r->layout == LAYOUT_OPS ? "OPS" : "ICD-10-GM";
	info.format = catalog_format_name(CATALOG_FORMAT_FLAT);
	info.lang = "de";
	if (r->sink->begin) {
		rc = r->sink->begin(r->sink->payload, &info, r->err);
		if (rc) {
			ms_error_set_path(r->err, r->codes.name);
			return rc;
		}
	}
	return emit_codes(r);
}

static void reader_init(struct flat_reader *r, const struct catalog_sink *sink,
                        struct ms_error *err)
{
	memset(r, 0, sizeof(*r));
	r->sink = sink;
	r->err = err;
	ms_arena_init(&r->side, 0);
	ms_arena_init(&r->rec, 0);
	ms_buf_init(&r->norm, 0);
}

static void reader_release(struct flat_reader *r)
{
	ms_free(r->grp);
	ms_free(r->three);
	ms_strmap_release(&r->grp_map);
	ms_strmap_release(&r->three_map);
	ms_strmap_release(&r->seen);
	ms_arena_release(&r->side);
	ms_arena_release(&r->rec);
	ms_buf_release(&r->norm);
}

static const struct catalog_read_opts no_opts = { NULL, NULL };

int catalog_flat_read_mem(const char *data, size_t len, const char *name,
                          const struct catalog_read_opts *opts, const struct catalog_sink *sink,
                          struct ms_error *err)
{
	struct flat_reader *r = NULL;
	int rc;

	if (!name)
		name = "<memory>";
	if (!opts)
		opts = &no_opts;
	if (len > FLAT_MAX_FILE) {
		ms_error_set_path(err, name);
		return ms_error_set(err, MS_ETOOBIG, "file is larger than %zu bytes",
		                    FLAT_MAX_FILE);
	}
	r = ms_malloc(sizeof(*r));
	if (!r)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	reader_init(r, sink, err);
	rc = src_init(r, &r->codes, data, len, name);
	if (rc)
		goto out;
	rc = flat_run(r, name, opts);
out:
	reader_release(r);
	ms_free(r);
	return rc;
}

static const char *const flat_suffixes[] = { "_kodes.txt", "_gruppen.txt", "_kapitel.txt",
	                                     "_dreisteller.txt" };

/* Length of path without its flat-family suffix, or 0 if it has none. */
static size_t family_prefix_len(const char *path)
{
	size_t n = strlen(path), i;

	for (i = 0; i < N_OF(flat_suffixes); i++) {
		size_t m = strlen(flat_suffixes[i]);

		if (ends_with(path, n, flat_suffixes[i]) && n > m && path[n - m - 1] != '/')
			return n - m;
	}
	return 0;
}

int catalog_flat_codes_path(char **out, const char *path)
{
	struct ms_buf b = MS_BUF_INIT;
	size_t n = family_prefix_len(path);

	*out = NULL;
	if (n == 0)
		return MS_ENOTFOUND;
	ms_buf_add(&b, path, n);
	ms_buf_adds(&b, "_kodes.txt");
	*out = ms_buf_detach(&b, NULL);
	return *out ? 0 : MS_ENOMEM;
}

/* Reads the sibling path_prefix + suffix if it exists; a missing file is not an error. */
static int read_sibling(struct ms_buf *out, char **path_out, const char *path, size_t prefix_len,
                        const char *suffix, struct ms_error *err)
{
	struct ms_error local = MS_ERROR_INIT;
	struct ms_buf p = MS_BUF_INIT;
	int rc;

	*path_out = NULL;
	ms_buf_add(&p, path, prefix_len);
	ms_buf_adds(&p, suffix);
	*path_out = ms_buf_detach(&p, NULL);
	if (!*path_out)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	rc = ms_file_read(out, *path_out, FLAT_MAX_FILE, &local);
	if (rc == MS_ENOTFOUND) {
		ms_free(*path_out);
		*path_out = NULL;
		return 0;
	}
	if (rc && err && !err->code)
		*err = local;
	return rc;
}

int catalog_flat_read(const char *path, const struct catalog_read_opts *opts,
                      const struct catalog_sink *sink, struct ms_error *err)
{
	struct ms_buf codes = MS_BUF_INIT, groups = MS_BUF_INIT, chapters = MS_BUF_INIT,
	              threes = MS_BUF_INIT;
	char *groups_path = NULL, *chapters_path = NULL, *threes_path = NULL;
	struct flat_reader *r = NULL;
	size_t prefix = family_prefix_len(path);
	int rc;

	if (!opts)
		opts = &no_opts;
	rc = ms_file_read(&codes, path, FLAT_MAX_FILE, err);
	if (rc)
		goto out;
	if (prefix && ends_with(path, strlen(path), "_kodes.txt")) {
		rc = read_sibling(&groups, &groups_path, path, prefix, "_gruppen.txt", err);
		if (!rc)
			rc = read_sibling(&chapters, &chapters_path, path, prefix, "_kapitel.txt",
			                  err);
		if (!rc)
			rc = read_sibling(&threes, &threes_path, path, prefix, "_dreisteller.txt",
			                  err);
		if (rc)
			goto out;
	}
	r = ms_malloc(sizeof(*r));
	if (!r) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	reader_init(r, sink, err);
	rc = src_init(r, &r->codes, codes.buf, codes.len, path);
	if (!rc && groups_path)
		rc = src_init(r, &r->groups, groups.buf, groups.len, groups_path);
	if (!rc && chapters_path)
		rc = src_init(r, &r->chapters, chapters.buf, chapters.len, chapters_path);
	if (!rc && threes_path)
		rc = src_init(r, &r->threes, threes.buf, threes.len, threes_path);
	if (!rc)
		rc = flat_run(r, path, opts);
out:
	if (r)
		reader_release(r);
	ms_free(r);
	ms_buf_release(&codes);
	ms_buf_release(&groups);
	ms_buf_release(&chapters);
	ms_buf_release(&threes);
	ms_free(groups_path);
	ms_free(chapters_path);
	ms_free(threes_path);
	return rc;
}
