/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for catalog/claml.c: the ICD-10-GM and ICD-O-3 excerpts, the
 * full ICD-O-3 files and the 2025 flat code list from ../shared (skipped
 * when absent), modifier expansion (ICD-10-GM structures rebuilt from the
 * flat file, the hand-made OPS fixture), label text, catalogue info,
 * malformed input, allocation failures, callback errors and the DTD check.
 */
#include "ms_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/fileio.h"

/* ---- a sink that records everything (plain malloc: not failure-injected) */

struct rec_ref {
	char *code;
	char *usage;
};

struct rec_rubric {
	char *kind;
	char *text;
	struct rec_ref *refs;
	size_t n_refs;
};

struct rec_meta {
	char *name;
	char *value;
};

struct rec_entry {
	char *code;
	char *kind;
	char *parent;
	char *usage;
	char *label;
	unsigned flags;
	size_t line;
	struct rec_rubric *rubrics;
	size_t n_rubrics;
	struct rec_meta *meta;
	size_t n_meta;
};

struct rec {
	struct rec_entry *e;
	size_t n, cap;
	int n_begin;
	char *system, *version, *part, *title, *date, *format, *lang;
	size_t stop_after; /* entry returns MS_ECANCELLED after this many (0: never) */
	int fail_begin;
};

static char *xdup(const char *s)
{
	char *p;

	if (!s)
		return NULL;
	p = strdup(s);
	assert_non_null(p);
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	assert_non_null(p);
	return p;
}

static int rec_begin(void *payload, const struct catalog_info *info, struct ms_error *err)
{
	struct rec *r = payload;

	if (r->fail_begin)
		return ms_error_set(err, MS_ECANCELLED, "stopped by the test");
	r->n_begin++;
	r->system = xdup(info->system);
	r->version = xdup(info->version);
	r->part = xdup(info->part);
	r->title = xdup(info->title);
	r->date = xdup(info->date);
	r->format = xdup(info->format);
	r->lang = xdup(info->lang);
	return 0;
}

static int rec_entry_cb(void *payload, const struct catalog_entry *e, struct ms_error *err)
{
	struct rec *r = payload;
	struct rec_entry *x;
	size_t i, j;

	if (r->stop_after && r->n == r->stop_after)
		return ms_error_set(err, MS_ECANCELLED, "stopped by the test");
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->e = realloc(r->e, r->cap * sizeof(*r->e));
		assert_non_null(r->e);
	}
	x = &r->e[r->n++];
	memset(x, 0, sizeof(*x));
	x->code = xdup(e->code);
	x->kind = xdup(e->kind);
	x->parent = xdup(e->parent);
	x->usage = xdup(e->usage);
	x->label = xdup(e->label);
	x->flags = e->flags;
	x->line = e->line;
	x->n_rubrics = e->n_rubrics;
	x->rubrics = xcalloc(e->n_rubrics, sizeof(*x->rubrics));
	for (i = 0; i < e->n_rubrics; i++) {
		const struct catalog_rubric *s = &e->rubrics[i];
		struct rec_rubric *d = &x->rubrics[i];

		d->kind = xdup(s->kind);
		d->text = xdup(s->text);
		d->n_refs = s->n_refs;
		d->refs = xcalloc(s->n_refs, sizeof(*d->refs));
		for (j = 0; j < s->n_refs; j++) {
			d->refs[j].code = xdup(s->refs[j].code);
			d->refs[j].usage = xdup(s->refs[j].usage);
		}
	}
	x->n_meta = e->n_meta;
	x->meta = xcalloc(e->n_meta, sizeof(*x->meta));
	for (i = 0; i < e->n_meta; i++) {
		x->meta[i].name = xdup(e->meta[i].name);
		x->meta[i].value = xdup(e->meta[i].value);
	}
	return 0;
}

static void rec_free(struct rec *r)
{
	size_t i, j, k;

	for (i = 0; i < r->n; i++) {
		struct rec_entry *x = &r->e[i];

		free(x->code);
		free(x->kind);
		free(x->parent);
		free(x->usage);
		free(x->label);
		for (j = 0; j < x->n_rubrics; j++) {
			free(x->rubrics[j].kind);
			free(x->rubrics[j].text);
			for (k = 0; k < x->rubrics[j].n_refs; k++) {
				free(x->rubrics[j].refs[k].code);
				free(x->rubrics[j].refs[k].usage);
			}
			free(x->rubrics[j].refs);
		}
		free(x->rubrics);
		for (j = 0; j < x->n_meta; j++) {
			free(x->meta[j].name);
			free(x->meta[j].value);
		}
		free(x->meta);
	}
	free(r->e);
	free(r->system);
	free(r->version);
	free(r->part);
	free(r->title);
	free(r->date);
	free(r->format);
	free(r->lang);
	memset(r, 0, sizeof(*r));
}

static struct catalog_sink rec_sink(struct rec *r)
{
	struct catalog_sink s;

	memset(&s, 0, sizeof(s));
	s.begin = rec_begin;
	s.entry = rec_entry_cb;
	s.payload = r;
	return s;
}

static const struct rec_entry *rec_find(const struct rec *r, const char *code)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (strcmp(r->e[i].code, code) == 0)
			return &r->e[i];
	}
	return NULL;
}

static const struct rec_entry *rec_get(const struct rec *r, const char *code)
{
	const struct rec_entry *e = rec_find(r, code);

	if (!e)
		fail_msg("no entry '%s'", code);
	return e;
}

/* The idx-th rubric of kind, or NULL. */
static const struct rec_rubric *rub(const struct rec_entry *e, const char *kind, size_t idx)
{
	size_t i;

	for (i = 0; i < e->n_rubrics; i++) {
		if (strcmp(e->rubrics[i].kind, kind) == 0 && idx-- == 0)
			return &e->rubrics[i];
	}
	return NULL;
}

static const char *meta(const struct rec_entry *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->n_meta; i++) {
		if (strcmp(e->meta[i].name, name) == 0)
			return e->meta[i].value;
	}
	return NULL;
}

static size_t count_kind(const struct rec *r, const char *kind, unsigned flag)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++) {
		if (strcmp(r->e[i].kind, kind) == 0 && (!flag || (r->e[i].flags & flag)))
			n++;
	}
	return n;
}

static bool has_child(const struct rec *r, const char *code)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (r->e[i].parent && strcmp(r->e[i].parent, code) == 0)
			return true;
	}
	return false;
}

static int read_file(const char *path, struct rec *r, struct ms_error *err)
{
	struct catalog_sink s = rec_sink(r);

	return catalog_claml_read(path, NULL, &s, err);
}

static int read_str(const char *xml, struct rec *r, struct ms_error *err)
{
	struct catalog_sink s = rec_sink(r);

	return catalog_claml_read_mem(xml, strlen(xml), "test.xml", NULL, &s, err);
}

#define EXCERPT     "data/catalogs/sample-icd-10-gm.xml"
#define FLAT        "catalogs/icd-10-gm/icd10gm2025syst_kodes.txt"
#define OPS_FIXTURE "tests/data/ops/ops2099syst_claml_fixture.xml"

/* ---- the flat code list (BfArM "Metadaten", ';'-separated) ---------------- */

struct flat_row {
	char *f[10]; /* fields 1..9 as f[1]..f[9] */
};

struct flat {
	struct flat_row *rows;
	size_t n;
	char *data;
};

static bool flat_load(struct flat *fl)
{
	const char *path = ms_test_shared_path(FLAT);
	struct ms_buf b = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;
	struct ms_lines it;
	const char *line;
	size_t len, cap = 0;

	memset(fl, 0, sizeof(*fl));
	if (!path)
		return false;
	assert_int_equal(ms_file_read(&b, path, 0, &err), 0);
	fl->data = xdup(b.buf);
	ms_lines_init(&it, fl->data, b.len);
	while (ms_lines_next(&it, &line, &len)) {
		char *p = (char *)line, *end = (char *)line + len;
		struct flat_row *row;
		size_t k;

		*end = '\0'; /* the line end (or the final NUL) */
		if (fl->n == cap) {
			cap = cap ? cap * 2 : 1024;
			fl->rows = realloc(fl->rows, cap * sizeof(*fl->rows));
			assert_non_null(fl->rows);
		}
		row = &fl->rows[fl->n++];
		memset(row, 0, sizeof(*row));
		for (k = 1; k <= 9 && p; k++) {
			char *semi = strchr(p, ';');

			row->f[k] = p;
			if (semi)
				*semi = '\0';
			p = semi ? semi + 1 : NULL;
		}
	}
	ms_buf_release(&b);
	return true;
}

static void flat_free(struct flat *fl)
{
	free(fl->rows);
	free(fl->data);
}

/* Row whose field 7 (code without marks) is code. */
static const struct flat_row *flat_find(const struct flat *fl, const char *code)
{
	size_t i;

	for (i = 0; i < fl->n; i++) {
		if (fl->rows[i].f[7] && strcmp(fl->rows[i].f[7], code) == 0)
			return &fl->rows[i];
	}
	return NULL;
}

/* Field 9 is the full title: the preferredLong text where the class has one. */
static const char *full_title(const struct rec_entry *e)
{
	const struct rec_rubric *l = rub(e, "preferredLong", 0);

	return l ? l->text : e->label;
}

/* Compares one entry with its flat row: title, usage mark, terminal flag. */
static void flat_compare(const struct rec *r, const struct rec_entry *e, const struct flat_row *row)
{
	const char *f6 = row->f[6];
	char mark;
	bool terminal;

	if (!row->f[2] || !row->f[3] || !f6 || !*f6 || !row->f[9]) {
		fail_msg("short row for '%s'", e->code);
		return;
	}
	mark = f6[strlen(f6) - 1];
	terminal = row->f[2][0] == 'T';

	assert_string_equal(full_title(e), row->f[9]);
	if (mark == '*')
		assert_string_equal(e->usage, "aster");
	else if (mark == '!')
		assert_string_equal(e->usage, "optional");
	else /* field 6 drops the dagger */
		assert_true(!e->usage || strcmp(e->usage, "dagger") == 0);
	/* the excerpt lacks some subclasses: only a code with children in it can
	 * be compared for non-terminal */
	if (terminal || has_child(r, e->code))
		assert_int_equal(!!(e->flags & CATALOG_ENTRY_TERMINAL), terminal);
	assert_int_equal(!!(e->flags & CATALOG_ENTRY_MODIFIED), row->f[3][0] == 'S');
}

/* ---- ICD-10-GM excerpt ------------------------------------------------------ */

static void test_excerpt_counts(void **state)
{
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(read_file(ms_test_src_path(EXCERPT), &r, &err), 0);
	assert_int_equal(r.n_begin, 1);
	assert_string_equal(r.system, "icd10gm");
	assert_string_equal(r.version, "2025");
	assert_string_equal(r.part, "classification");
	assert_string_equal(r.format, "claml");
	assert_string_equal(r.lang, "de");
	assert_string_equal(r.date, "2024-09-13");
	assert_string_equal(r.title, "Internationale statistische Klassifikation der Krankheiten "
	                             "und verwandter Gesundheitsprobleme");
	assert_int_equal(count_kind(&r, "chapter", 0), 1);
	assert_int_equal(count_kind(&r, "block", 0), 2);
	assert_int_equal(count_kind(&r, "category", 0), 28 + 2);
	assert_int_equal(count_kind(&r, "category", CATALOG_ENTRY_MODIFIED), 2);
	assert_int_equal(r.n, 33);
	/* file order, with created codes right after their class */
	assert_string_equal(r.e[0].code, "I");
	assert_string_equal(r.e[0].label, "Bestimmte infektiöse und parasitäre Krankheiten");
	assert_int_equal(r.e[0].line, 260);
	assert_null(r.e[0].parent);
	assert_string_equal(rec_get(&r, "A00-A09")->parent, "I");
	assert_string_equal(r.e[26].code, "C95.9");
	assert_string_equal(r.e[27].code, "C95.90");
	assert_string_equal(r.e[28].code, "C95.91");
	/* Meta of classes */
	assert_string_equal(meta(rec_get(&r, "A00"), "MorbLCode"), "001");
	assert_int_equal(rec_get(&r, "A00")->n_meta, 16);
	rec_free(&r);
}

static void test_excerpt_modifier_c95(void **state)
{
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	const struct rec_entry *c959, *c9590, *c9591;

	(void)state;
	assert_int_equal(read_file(ms_test_src_path(EXCERPT), &r, &err), 0);
	c959 = rec_get(&r, "C95.9");
	c9590 = rec_get(&r, "C95.90");
	c9591 = rec_get(&r, "C95.91");
	assert_int_equal(c959->flags, 0); /* gets children: not terminal */
	assert_string_equal(
	        c9590->label,
	        "Leukämie, nicht näher bezeichnet: Ohne Angabe einer kompletten Remission");
	assert_string_equal(c9591->label,
	                    "Leukämie, nicht näher bezeichnet: In kompletter Remission");
	assert_int_equal(c9590->flags, CATALOG_ENTRY_MODIFIED | CATALOG_ENTRY_TERMINAL);
	assert_int_equal(c9591->flags, CATALOG_ENTRY_MODIFIED | CATALOG_ENTRY_TERMINAL);
	assert_string_equal(c9590->parent, "C95.9");
	assert_string_equal(c9590->kind, "category");
	assert_null(c9590->usage);
	assert_int_equal(c9590->line, c959->line);
	/* the modifier class's inclusions come along; the label is the preferred */
	assert_string_equal(rub(c9590, "preferred", 0)->text, c9590->label);
	assert_string_equal(rub(c9590, "inclusion", 0)->text, "Ohne Angabe einer Remission");
	assert_string_equal(rub(c9590, "inclusion", 1)->text, "In partieller Remission");
	assert_null(rub(c9591, "inclusion", 0));
	/* the class's Meta is passed on */
	assert_string_equal(meta(c9590, "MorbLCode"), "087");
	/* only the codes the modifier creates */
	assert_null(rec_find(&r, "C95.92"));
	assert_null(rec_find(&r, "C95.8.0"));
	rec_free(&r);
}

static void test_excerpt_flat_file(void **state)
{
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	struct flat fl;
	size_t i, n_cmp = 0;

	(void)state;
	if (!flat_load(&fl))
		skip();
	assert_int_equal(read_file(ms_test_src_path(EXCERPT), &r, &err), 0);
	for (i = 0; i < r.n; i++) {
		const struct rec_entry *e = &r.e[i];
		const struct flat_row *row = flat_find(&fl, e->code);
		char parent[32];
		size_t len;

		if (strcmp(e->kind, "category") != 0)
			continue;
		assert_non_null(row);
		flat_compare(&r, e, row);
		/* parent: 4/5-char -> one character less; 3-char -> its block */
		if (strchr(e->code, '.')) {
			len = strlen(e->code) - 1;
			if (e->code[len - 1] == '.')
				len--;
			assert_true(len < sizeof(parent));
			memcpy(parent, e->code, len);
			parent[len] = '\0';
			assert_string_equal(e->parent, parent);
		} else {
			len = strlen(row->f[5]);
			assert_memory_equal(e->parent, row->f[5], len);
			assert_int_equal(e->parent[len], '-');
		}
		n_cmp++;
	}
	assert_int_equal(n_cmp, 30);
	flat_free(&fl);
	rec_free(&r);
}

static void test_excerpt_references(void **state)
{
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	const struct rec_rubric *x;

	(void)state;
	assert_int_equal(read_file(ms_test_src_path(EXCERPT), &r, &err), 0);
	/* text of the reference when it has no code attribute */
	x = rub(rec_get(&r, "A04"), "exclusion", 1);
	assert_string_equal(x->text, "Tuberkulöse Enteritis (A18.3)");
	assert_int_equal(x->n_refs, 1);
	assert_string_equal(x->refs[0].code, "A18.3");
	assert_null(x->refs[0].usage);
	/* the code attribute wins over the text "Z22.-" */
	x = rub(rec_get(&r, "I"), "exclusion", 0);
	assert_string_equal(x->text, "Keimträger oder -ausscheider, einschließlich Verdachtsfällen "
	                             "(Z22.-)");
	assert_string_equal(x->refs[0].code, "Z22");
	assert_int_equal(rub(rec_get(&r, "I"), "exclusion", 1)->n_refs, 0);
	/* two references */
	x = rub(rec_get(&r, "D24"), "exclusion", 1);
	assert_string_equal(x->text, "Haut der Brustdrüse (D22.5) (D23.5)");
	assert_int_equal(x->n_refs, 2);
	assert_string_equal(x->refs[0].code, "D22.5");
	assert_string_equal(x->refs[1].code, "D23.5");
	/* fragments, paragraphs, preferredLong, usage */
	assert_string_equal(rub(rec_get(&r, "D24"), "inclusion", 0)->text,
	                    "Brustdrüse: Bindegewebe");
	assert_string_equal(rub(rec_get(&r, "C72.0"), "preferredLong", 0)->text,
	                    "Bösartige Neubildung: Rückenmark");
	assert_string_equal(rec_get(&r, "C72.0")->label, "Rückenmark");
	assert_string_equal(rec_get(&r, "C95.8")->usage, "optional");
	assert_string_equal(rec_get(&r, "C97")->usage, "optional");
	/* a mark written as text is no reference */
	assert_int_equal(rub(rec_get(&r, "A04.7"), "coding-hint", 0)->n_refs, 0);
	rec_free(&r);
}

/* ---- ICD-10-GM modifier structures, rebuilt from the 2025 code list --------- */

#define GM_HEAD                                                                             \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                      \
	"<ClaML version=\"2.0.0\">\n"                                                       \
	"<Meta name=\"lang\" value=\"de\"/>\n"                                              \
	"<Identifier authority=\"BfArM\" uid=\"1.2.276.0.76.5.548\"/>\n"                    \
	"<Title date=\"2024-09-13\" name=\"ICD-10\" version=\"2025\">Test</Title>\n"        \
	"<ClassKinds><ClassKind name=\"category\"/></ClassKinds>\n"                         \
	"<UsageKinds><UsageKind mark=\"*\" name=\"aster\"/>"                                \
	"<UsageKind mark=\"+\" name=\"dagger\"/></UsageKinds>\n"                            \
	"<RubricKinds><RubricKind name=\"preferred\"/><RubricKind name=\"preferredLong\"/>" \
	"<RubricKind name=\"inclusion\"/></RubricKinds>\n"

#define MC(mod, code, label) \
	"<ModifierClass code=\"" code "\" modifier=\"" mod "\">" label "</ModifierClass>\n"
#define P(text)    "<Rubric kind=\"preferred\"><Label xml:lang=\"de\">" text "</Label></Rubric>"
#define PL(text)   "<Rubric kind=\"preferredLong\"><Label xml:lang=\"de\">" text "</Label></Rubric>"
#define EXCL(code) "<Meta name=\"excludeOnPrecedingModifier\" value=\"S04E10_4 " code "\"/>"

/*
 * The E10-E14 and chapter XIII structures as BfArM's ClaML uses them (two
 * ModifiedBy on E10 with excludeOnPrecedingModifier; the localisation
 * modifier on 3-character categories, ExcludeModifier and a narrower
 * ModifiedBy on subclasses). Labels are taken from the 2025 code list; the
 * localisation classes carry their bracketed text as preferredLong.
 */
static const char gm_modifiers
        [] = GM_HEAD "<Modifier code=\"S04E10_4\"/><Modifier code=\"S04E10_5\"/><Modifier code=\"S13M13_5\"/>\n" MC("S04E10_4",
                                                                                                                    ".0",
                                                                                                                    P(
                                                                                                                            "Mit Koma")) MC("S04E10_4", ".1", P("Mit Ketoazidose")) "<ModifierClass code=\".2\" modifier=\"S04E10_4\" usage=\"dagger\">" P("Mit Nierenkomplikationen") "<Rubric kind=\"inclusion\"><Label xml:lang=\"de\">Diabetische Nephropathie"
                                                                                                                                                                                                                                                                                       "<Reference class=\"in brackets\" usage=\"aster\">N08.3</Reference></Label></Rubric>"
                                                                                                                                                                                                                                                                                       "</ModifierClass>\n" MC(
                                                                                                                                                                                                                                                                                               "S04E10_4", ".3", P("Mit Augenkomplikationen"))
                                                                                                                                                                                                                                                                                               MC(
                                                                                                                                                                                                                                                                                                       "S04E10_4",
                                                                                                                                                                                                                                                                                                       ".4", P("Mit neurologischen Komplikationen")) MC("S04E10_4", ".5", P("Mit peripheren vaskulären Komplikationen")) MC("S04E10_4",
                                                                                                                                                                                                                                                                                                                                                                                                                            ".6",
                                                                                                                                                                                                                                                                                                                                                                                                                            P("Mit sonstigen näher bezeichneten Komplikationen"))
                                                                                                                                                                                                                                                                                                       MC(
                                                                                                                                                                                                                                                                                                               "S04E10_4", ".7", P("Mit multiplen Komplikationen")) MC("S04E10_4",
                                                                                                                                                                                                                                                                                                                                                                       ".8", P("Mit nicht näher bezeichneten Komplikationen")) MC("S04E10_4", ".9", P("Ohne Komplikationen")) MC("S04E10_5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                 "0",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                 EXCL(".0")
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                         EXCL(".1") EXCL(".7") P("Nicht als entgleist bezeichnet")) MC("S04E10_5", "1", EXCL(".7") P("Als entgleist bezeichnet")) MC("S04E10_5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                     "2",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                     EXCL(".0") EXCL(".1") EXCL(".2") EXCL(".3") EXCL(".4") EXCL(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                             ".5") EXCL(".6") EXCL(".8") EXCL(".9")
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                             P(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                     "Mit sonstigen multiplen Komplikationen, nicht als entgleist bezeichnet")) MC("S04E10_5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   "3",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   EXCL(".0") EXCL(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           ".1") EXCL(".2")
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           EXCL(".3") EXCL(".4") EXCL(".5") EXCL(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   ".6") EXCL(".8") EXCL(".9") P("Mit sonstigen multiplen Komplikationen, als entgleist bezeichnet")) MC("S04E10_5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                         "4",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                         EXCL(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                 ".0") EXCL(".1") EXCL(".2") EXCL(".3") EXCL(".4")
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                 EXCL(".5") EXCL(".6") EXCL(".8") EXCL(".9") P("Mit diabetischem Fußsyndrom, nicht als entgleist bezeichnet")) MC("S04E10_5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                  "5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                  EXCL(".0") EXCL(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                          ".1")
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                          EXCL(".2") EXCL(".3") EXCL(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                  ".4")
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                  EXCL(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                          ".5") EXCL(".6") EXCL(".8") EXCL(".9") P("Mit diabetischem Fußsyndrom, als entgleist bezeichnet")) MC("S13M13_5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                "0",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                P("Mehrere Lokalisationen")) MC("S13M13_5", "1",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                P("Schulterregion") PL("Schulterregion [Klavikula, Skapula, Akromioklavikular-, Schulter-, "
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                       "Sternoklavikulargelenk]")) MC("S13M13_5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                      "2",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                      P(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                              "Oberarm") PL("Oberarm [Humerus, Ellenbogengelenk]")) MC("S13M13_5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                       "3",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                       P("Unterarm") PL("Unterarm [Radius, Ulna, Handgelenk]")) MC("S13M13_5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   "4",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   P("Hand") PL(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           "Hand [Finger, Handwurzel, Mittelhand, Gelenke zwischen diesen Knochen]")) MC("S13M13_5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                         "5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                         P("Beckenregion und Oberschenkel") PL(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                 "Beckenregion und Oberschenkel [Becken, Femur, Gesäß, Hüfte, Hüftgelenk, "
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                 "Iliosakralgelenk]")) MC("S13M13_5", "6", P("Unterschenkel") PL("Unterschenkel [Fibula, Tibia, Kniegelenk]")) MC("S13M13_5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                  "7",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                  P("Knöchel und Fuß") PL("Knöchel und Fuß [Fußwurzel, Mittelfuß, Zehen, Sprunggelenk, sonstige Gelenke des "
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                          "Fußes]")) MC("S13M13_5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                        "8",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                        P("Sonstige") PL(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                "Sonstige [Hals, Kopf, Rippen, Rumpf, Schädel, Wirbelsäule]")) MC("S13M13_5",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                  "9",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                  P(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                          "Nicht näher bezeichnete Lokalisation")) "<Class code=\"E10\" kind=\"category\"><ModifiedBy code=\"S04E10_4\"/>"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   "<ModifiedBy code=\"S04E10_5\"/>" P("Diabetes mellitus, Typ 1") "</Class>\n"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   "<Class code=\"M01\" kind=\"category\" usage=\"aster\"><SubClass code=\"M01.0\"/>"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   "<ModifiedBy code=\"S13M13_5\"/>" P("Direkte Gelenkinfektionen bei anderenorts klassifizierten infektiösen und "
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                       "parasitären Krankheiten") "</Class>\n"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                  "<Class code=\"M01.0\" kind=\"category\" usage=\"aster\"><SuperClass code=\"M01\"/>" P(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                          "Arthritis durch Meningokokken") "</Class>\n"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           "<Class code=\"M13\" kind=\"category\"><SubClass code=\"M13.0\"/><SubClass code=\"M13.1\"/>"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           "<SubClass code=\"M13.8\"/><SubClass code=\"M13.9\"/><ModifiedBy code=\"S13M13_5\"/>" P("Sonstige Arthritis") "</Class>\n"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                         "<Class code=\"M13.0\" kind=\"category\"><SuperClass code=\"M13\"/>"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                         "<ExcludeModifier code=\"S13M13_5\"/>" P("Polyarthritis, nicht näher bezeichnet") "</Class>\n"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           "<Class code=\"M13.1\" kind=\"category\"><SuperClass code=\"M13\"/>"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           "<ModifiedBy all=\"false\" code=\"S13M13_5\"><ValidModifierClass code=\"1\"/>"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           "<ValidModifierClass code=\"2\"/><ValidModifierClass code=\"3\"/>"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           "<ValidModifierClass code=\"4\"/><ValidModifierClass code=\"5\"/>"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           "<ValidModifierClass code=\"6\"/><ValidModifierClass code=\"7\"/>"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           "<ValidModifierClass code=\"8\"/><ValidModifierClass code=\"9\"/></ModifiedBy>" P(
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   "Monarthritis, anderenorts nicht klassifiziert") "</Class>\n"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                    "<Class code=\"M13.8\" kind=\"category\"><SuperClass code=\"M13\"/>" P("Sonstige näher bezeichnete Arthritis") "</Class>\n"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   "<Class code=\"M13.9\" kind=\"category\"><SuperClass code=\"M13\"/>" P("Arthritis, nicht näher bezeichnet") "</Class>\n"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                               "</ClaML>\n";

static void test_gm_modifier_structures(void **state)
{
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	const struct rec_entry *e;
	const struct rec_rubric *x;

	(void)state;
	assert_int_equal(read_str(gm_modifiers, &r, &err), 0);
	/* E10: two levels, 4th position first */
	assert_int_equal(rec_get(&r, "E10")->flags, 0);
	e = rec_get(&r, "E10.0");
	assert_int_equal(e->flags, CATALOG_ENTRY_MODIFIED);
	assert_string_equal(e->label, "Diabetes mellitus, Typ 1: Mit Koma");
	assert_string_equal(e->parent, "E10");
	e = rec_get(&r, "E10.01");
	assert_int_equal(e->flags, CATALOG_ENTRY_MODIFIED | CATALOG_ENTRY_TERMINAL);
	assert_string_equal(e->label,
	                    "Diabetes mellitus, Typ 1: Mit Koma: Als entgleist bezeichnet");
	assert_string_equal(e->parent, "E10.0");
	/* excludeOnPrecedingModifier */
	assert_null(rec_find(&r, "E10.00"));
	assert_null(rec_find(&r, "E10.70"));
	assert_null(rec_find(&r, "E10.71"));
	assert_non_null(rec_find(&r, "E10.72"));
	assert_non_null(rec_find(&r, "E10.75"));
	assert_null(rec_find(&r, "E10.92"));
	/* usage from the modifier class, inherited below it; references */
	e = rec_get(&r, "E10.2");
	assert_string_equal(e->usage, "dagger");
	x = rub(e, "inclusion", 0);
	assert_string_equal(x->text, "Diabetische Nephropathie (N08.3)");
	assert_string_equal(x->refs[0].code, "N08.3");
	assert_string_equal(x->refs[0].usage, "aster");
	assert_string_equal(rec_get(&r, "E10.20")->usage, "dagger");
	assert_null(rub(rec_get(&r, "E10.20"), "inclusion", 0));
	assert_null(rec_get(&r, "E10.1")->usage);
	/* inheritance to the leaves; asterisk inherited from the class */
	assert_int_equal(rec_get(&r, "M01")->flags, 0);
	assert_int_equal(rec_get(&r, "M01.0")->flags, 0);
	e = rec_get(&r, "M01.01");
	assert_string_equal(e->usage, "aster");
	assert_string_equal(e->parent, "M01.0");
	assert_string_equal(e->label, "Arthritis durch Meningokokken: Schulterregion");
	assert_string_equal(rub(e, "preferredLong", 0)->text,
	                    "Arthritis durch Meningokokken: Schulterregion [Klavikula, Skapula, "
	                    "Akromioklavikular-, Schulter-, Sternoklavikulargelenk]");
	assert_null(rub(rec_get(&r, "M01.00"), "preferredLong", 0));
	assert_null(rec_find(&r, "M010"));
	assert_null(rec_find(&r, "M011"));
	/* ExcludeModifier; a narrower ModifiedBy replaces the inherited one */
	assert_int_equal(rec_get(&r, "M13.0")->flags, CATALOG_ENTRY_TERMINAL);
	assert_null(rec_find(&r, "M13.00"));
	assert_null(rec_find(&r, "M13.10"));
	assert_non_null(rec_find(&r, "M13.11"));
	assert_non_null(rec_find(&r, "M13.80"));
	assert_non_null(rec_find(&r, "M13.99"));
	assert_int_equal(count_kind(&r, "category", CATALOG_ENTRY_MODIFIED), 30 + 10 + 29);
	rec_free(&r);
}

/* Every created code exists in the 2025 code list with the same title, and
 * every modifier-created code there under E10, M01.0 and M13 was created. */
static void test_gm_modifiers_flat_file(void **state)
{
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	struct flat fl;
	size_t i, n_flat = 0;

	(void)state;
	if (!flat_load(&fl))
		skip();
	assert_int_equal(read_str(gm_modifiers, &r, &err), 0);
	for (i = 0; i < r.n; i++) {
		const struct flat_row *row = flat_find(&fl, r.e[i].code);

		if (!row)
			fail_msg("created code '%s' is not in the code list", r.e[i].code);
		flat_compare(&r, &r.e[i], row);
	}
	for (i = 0; i < fl.n; i++) {
		const char *code = fl.rows[i].f[7];

		if (!fl.rows[i].f[3] || fl.rows[i].f[3][0] != 'S')
			continue;
		if (strncmp(code, "E10.", 4) != 0 && strncmp(code, "M13.", 4) != 0 &&
		    strncmp(code, "M01.0", 5) != 0)
			continue;
		n_flat++;
		if (!rec_find(&r, code))
			fail_msg("code '%s' of the code list was not created", code);
	}
	assert_int_equal(n_flat, 30 + 10 + 29);
	flat_free(&fl);
	rec_free(&r);
}

/* ---- OPS fixture -------------------------------------------------------------- */

static void test_ops_fixture(void **state)
{
	static const char *const created[] = {
		"5-433.30", "5-433.31", "5-433.32", "5-433.3x", "5-433.40", "5-433.42", "5-433.51",
		"5-434.00", "5-434.01", "5-434.0x", "5-434.10", "5-434.11", "5-434.1x", "5-435.0",
		"5-435.00", "5-435.01", "5-435.1",  "5-435.10", "5-435.11", "5-435.12",
	};
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	const struct rec_entry *e;
	size_t i, n_mod = 0;

	(void)state;
	assert_int_equal(read_file(ms_test_src_path(OPS_FIXTURE), &r, &err), 0);
	assert_string_equal(r.system, "ops");
	assert_string_equal(r.version, "2099");
	for (i = 0; i < sizeof(created) / sizeof(created[0]); i++)
		assert_int_equal(rec_get(&r, created[i])->flags & CATALOG_ENTRY_MODIFIED,
		                 CATALOG_ENTRY_MODIFIED);
	for (i = 0; i < r.n; i++)
		n_mod += !!(r.e[i].flags & CATALOG_ENTRY_MODIFIED);
	assert_int_equal(n_mod, sizeof(created) / sizeof(created[0]));
	e = rec_get(&r, "5-433.30");
	assert_string_equal(e->label, "Destruktion, offen chirurgisch: Elektrokoagulation");
	assert_string_equal(e->parent, "5-433.3");
	assert_string_equal(meta(e, "ZusatzK"), "N");
	assert_string_equal(rub(rec_get(&r, "5-433.31"), "inclusion", 0)->text,
	                    "Testlaser, synthetisch");
	/* ValidModifierClass (with a missing class 9) and all= */
	assert_null(rec_find(&r, "5-433.41"));
	assert_null(rec_find(&r, "5-433.49"));
	assert_null(rec_find(&r, "5-433.50"));
	assert_int_equal(rec_get(&r, "5-436")->flags, CATALOG_ENTRY_TERMINAL);
	/* inherited, excluded, two positions */
	assert_int_equal(rec_get(&r, "5-434")->flags, 0);
	assert_int_equal(rec_get(&r, "5-434.2")->flags, CATALOG_ENTRY_TERMINAL);
	assert_string_equal(rec_get(&r, "5-434.0x")->label, "Segmentresektion: Sonstige");
	assert_int_equal(rec_get(&r, "5-435.0")->flags, CATALOG_ENTRY_MODIFIED);
	assert_null(rec_find(&r, "5-435.02"));
	assert_string_equal(rec_get(&r, "5-435.12")->label,
	                    "Partielle Magenresektion (Testkode): Testverfahren B: Mit erweiterter "
	                    "Zusatzmaßnahme");
	assert_string_equal(rec_get(&r, "5-435.12")->parent, "5-435.1");
	rec_free(&r);
}

/* ---- ICD-O-3 ------------------------------------------------------------------ */

static void test_icdo3_excerpt(void **state)
{
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	const struct rec_entry *e;

	(void)state;
	assert_int_equal(read_file(ms_test_src_path("data/catalogs/sample-icd-o-3.xml"), &r, &err),
	                 0);
	assert_string_equal(r.system, "icdo3");
	assert_string_equal(r.version, "2019");
	assert_string_equal(r.date, "2020-11-27");
	assert_int_equal(r.n, 30);
	e = rec_get(&r, "8140:3"); /* the file's own notation */
	assert_string_equal(e->label, "Adenokarzinom o.n.A.");
	assert_string_equal(e->parent, "814-838");
	assert_int_equal(e->flags, CATALOG_ENTRY_TERMINAL);
	rec_free(&r);
}

static void test_icdo3_2019(void **state)
{
	const char *path = ms_test_shared_path("catalogs/icd-o-3/icdo32019.xml");
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	if (!path)
		skip();
	assert_int_equal(read_file(path, &r, &err), 0);
	assert_string_equal(r.system, "icdo3");
	assert_string_equal(r.version, "2019"); /* from titleLong "... Zweite Revision 2019" */
	assert_int_equal(count_kind(&r, "chapter", 0), 2);
	assert_int_equal(count_kind(&r, "block", 0), 75);
	assert_int_equal(count_kind(&r, "category", 0), 1545);
	assert_string_equal(rec_get(&r, "8500:3")->parent, "850-854");
	rec_free(&r);
}

static void test_icdo3_2014(void **state)
{
	const char *path = ms_test_shared_path("catalogs/icd-o-3/icdo32014.xml");
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	const struct rec_rubric *x;

	(void)state;
	if (!path)
		skip();
	assert_int_equal(read_file(path, &r, &err), 0);
	assert_string_equal(r.version, "2014"); /* from the Title date */
	assert_int_equal(count_kind(&r, "chapter", 0), 2);
	assert_int_equal(count_kind(&r, "block", 0), 75);
	assert_int_equal(count_kind(&r, "category", 0), 1476);
	/* <Reference> nested in <Term> (not DTD-valid, but real) */
	x = rub(rec_get(&r, "C47.0"), "inclusion", 0);
	assert_string_equal(x->text, "Periphere Nerven und autonomes Nervensystem von (siehe Liste "
	                             "unter C47) Fossa pterygoidea");
	assert_int_equal(x->n_refs, 1);
	assert_string_equal(x->refs[0].code, "C47");
	rec_free(&r);
}

/* ---- text, header quirks ------------------------------------------------------ */

static void test_label_text(void **state)
{
	static const char xml[] =
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
	        "<!DOCTYPE ClaML SYSTEM \"ClaML.dtd\" [<!ENTITY x \"y\">]>\r\n"
	        "<ClaML version=\"2.0.0\">\r\n"
	        "<Title name=\"ICD-10\" version=\"2099\"> Titel \r\n mit  Umbruch </Title>\r\n"
	        "<Class code=\" X00 \" kind=\"category\" usage=\"dagger\">\r\n"
	        "<Rubric kind=\"preferred\"><Label xml:lang=\"de\">A\xcc\x88rger &amp; "
	        "<![CDATA[<Mehr>]]>&x;</Label><Label xml:lang=\"en\">Anger</Label></Rubric>\r\n"
	        "<Rubric kind=\"note\"><Label xml:lang=\"de\">\r\n"
	        "  <Para>Erster   Absatz\r\n mit Umbruch</Para><Para>Zweiter <Term "
	        "class=\"italic\">kursiv</Term>.</Para>\r\n"
	        "  <List><ListItem>eins</ListItem><ListItem>zwei <Reference class=\"in brackets\" "
	        "code=\"Y01\" usage=\"dagger\">Y01.-</Reference></ListItem></List>\r\n"
	        "  <Table><THead><Row><Cell>a</Cell><Cell>b</Cell></Row></THead>"
	        "<TBody><Row><Cell>1</Cell> <Cell>2</Cell></Row></TBody></Table>\r\n"
	        "  <Include rubric=\"r1\"/><Reference code=\"Z00\"/>\r\n"
	        "</Label></Rubric>\r\n"
	        "<Rubric kind=\"inclusion\"><Label xml:lang=\"de\"><Fragment type=\"list\">"
	        "Diabetisch:</Fragment><Fragment type=\"list\">Azidose</Fragment><Fragment "
	        "type=\"item\">ohne Koma</Fragment>, selten</Label></Rubric>\r\n"
	        "<Rubric kind=\"empty\"/>\r\n"
	        "</Class>\r\n"
	        "</ClaML>\r\n";
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	const struct rec_entry *e;
	const struct rec_rubric *x;

	(void)state;
	assert_int_equal(read_str(xml, &r, &err), 0);
	assert_string_equal(r.title, "Titel mit Umbruch");
	assert_null(r.date);
	assert_string_equal(r.lang, "de");
	e = rec_get(&r, "X00");
	assert_string_equal(e->usage, "dagger");
	assert_int_equal(e->line, 6); /* the Title text spans two lines */
	/* NFC, entities, CDATA; the first label only; entity references dropped */
	assert_string_equal(e->label, "\xc3\x84rger & <Mehr>");
	x = rub(e, "note", 0);
	assert_string_equal(x->text, "Erster Absatz mit Umbruch\nZweiter kursiv.\neins\n"
	                             "zwei (Y01.-)\na | b\n1 | 2\nZ00");
	assert_int_equal(x->n_refs, 2);
	assert_string_equal(x->refs[0].code, "Y01");
	assert_string_equal(x->refs[0].usage, "dagger");
	assert_string_equal(x->refs[1].code, "Z00");
	assert_string_equal(rub(e, "inclusion", 0)->text, "Diabetisch: Azidose ohne Koma, selten");
	assert_string_equal(rub(e, "empty", 0)->text, "");
	assert_int_equal(e->n_rubrics, 4);
	rec_free(&r);
}

static void test_info_versions(void **state)
{
	static const char no_title[] =
	        "<ClaML version=\"2.0.0\"><Class code=\"A\" kind=\"chapter\"/>"
	        "</ClaML>";
	static const char long_year[] =
	        "<ClaML><Meta name=\"titleLong\" value=\"OPS Version 2031 (Entwurf 20315)\"/>"
	        "<Meta name=\"lang\" value=\"en\"/>"
	        "<Title name=\"OPS\" version=\"Entwurf\" date=\"2030-10-01\">x</Title></ClaML>";
	static const char date_year[] =
	        "<ClaML><Title name=\"ICD-O-3\" date=\"2014-02-27\"/></ClaML>";
	static const char who[] = "<ClaML><Identifier authority=\"WHO\" uid=\"1\"/>"
	                          "<Title name=\"ICD-10\" version=\"Fifth edition\"/></ClaML>";
	struct catalog_read_opts opts = { "ops", "2031b" };
	struct catalog_sink s;
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(read_str(no_title, &r, &err), MS_EINVAL);
	assert_non_null(strstr(err.msg, "Title"));
	rec_free(&r);
	ms_error_clear(&err);
	s = rec_sink(&r);
	assert_int_equal(
	        catalog_claml_read_mem(no_title, strlen(no_title), "x.xml", &opts, &s, &err), 0);
	assert_string_equal(r.system, "ops");
	assert_string_equal(r.version, "2031b");
	assert_int_equal(r.n, 1);
	rec_free(&r);
	assert_int_equal(read_str(long_year, &r, &err), 0);
	assert_string_equal(r.system, "ops");
	assert_string_equal(r.version, "2031");
	assert_string_equal(r.date, "2030-10-01");
	assert_string_equal(r.lang, "en");
	rec_free(&r);
	assert_int_equal(read_str(date_year, &r, &err), 0);
	assert_string_equal(r.system, "icdo3");
	assert_string_equal(r.version, "2014");
	assert_null(r.title);
	rec_free(&r);
	assert_int_equal(read_str(who, &r, &err), MS_EINVAL);
	assert_int_equal(r.n_begin, 0);
	rec_free(&r);
	/* the file name is the last resort for the version */
	ms_error_clear(&err);
	s = rec_sink(&r);
	assert_int_equal(catalog_claml_read_mem(date_year + 0, strlen(date_year), "icdo3.xml", NULL,
	                                        &s, &err),
	                 0);
	rec_free(&r);
	s = rec_sink(&r);
	assert_int_equal(
	        catalog_claml_read_mem(who, strlen(who), "dir/icd10who2019.xml", NULL, &s, &err),
	        MS_EINVAL);
	rec_free(&r);
}

/* Element order does not matter: modifiers after classes, subclasses first. */
static void test_order_independent(void **state)
{
	static const char xml[] =
	        "<ClaML><Title name=\"ICD-10\" version=\"2099\"/>"
	        "<Class code=\"B01.1\" kind=\"category\"><SuperClass code=\"B01\"/>"
	        "<Rubric kind=\"preferred\"><Label>Kind</Label></Rubric></Class>"
	        "<Class code=\"B01\" kind=\"category\"><ModifiedBy code=\"M\"/>"
	        "<Rubric kind=\"preferred\"><Label>Eltern</Label></Rubric></Class>"
	        "<Class code=\"B01.10\" kind=\"category\"><SuperClass code=\"B09\"/></Class>"
	        "<ModifierClass code=\"0\" modifier=\"M\"><Rubric kind=\"preferred\"><Label>Null"
	        "</Label></Rubric></ModifierClass>"
	        "<ModifierClass code=\"1\" modifier=\"M\"><Rubric kind=\"preferred\"><Label>Eins"
	        "</Label></Rubric></ModifierClass>"
	        "</ClaML>";
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(read_str(xml, &r, &err), 0);
	assert_int_equal(rec_get(&r, "B01")->flags, 0);
	/* B01.10 exists as a real class (with a dangling superclass): not created */
	assert_int_equal(rec_get(&r, "B01.10")->flags, CATALOG_ENTRY_TERMINAL);
	assert_string_equal(rec_get(&r, "B01.10")->parent, "B09");
	assert_string_equal(rec_get(&r, "B01.11")->label, "Kind: Eins");
	assert_int_equal(rec_get(&r, "B01.1")->flags, 0);
	assert_int_equal(r.n, 4);
	rec_free(&r);
}

/* ---- malformed input ------------------------------------------------------------ */

static void expect_error(const char *xml, size_t len, int code, size_t line, const char *msg)
{
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	struct catalog_sink s = rec_sink(&r);

	assert_int_equal(catalog_claml_read_mem(xml, len, "bad.xml", NULL, &s, &err), code);
	assert_int_equal(err.code, code);
	assert_true(err.line > 0);
	if (line)
		assert_int_equal(err.line, line);
	assert_string_equal(err.path, "bad.xml");
	if (msg && !strstr(err.msg, msg))
		fail_msg("message '%s' lacks '%s'", err.msg, msg);
	/* malformed files never reach the sink */
	assert_int_equal(r.n_begin, 0);
	assert_int_equal(r.n, 0);
	rec_free(&r);
}

static void test_malformed(void **state)
{
	static const char not_claml[] = "<?xml version=\"1.0\"?>\n<foo><bar/></foo>";
	static const char no_code[] =
	        "<ClaML version=\"2.0.0\">\n<Title name=\"OPS\" version=\"2099\"/>\n"
	        "<Class kind=\"category\">\n</Class></ClaML>";
	static const char no_kind[] = "<ClaML>\n<Title name=\"OPS\" version=\"2099\"/>\n"
	                              "<Class code=\"x\"/></ClaML>";
	static const char bad_utf8[] = "<ClaML version=\"2.0.0\">\n<Title name=\"ICD-10\">\xff\xfe"
	                               "</Title></ClaML>";
	static const char unknown_mod[] = "<ClaML>\n<Title name=\"OPS\" version=\"2099\"/>\n"
	                                  "<Class code=\"x\" kind=\"c\">\n"
	                                  "<ModifiedBy code=\"NOPE\"/></Class></ClaML>";
	static const char dup[] =
	        "<ClaML>\n<Title name=\"OPS\" version=\"2099\"/>\n"
	        "<Class code=\"x\" kind=\"c\"/>\n<Class code=\"x\" kind=\"c\"/></ClaML>";
	static const char dup_mc[] = "<ClaML>\n<ModifierClass code=\"0\" modifier=\"M\"/>\n"
	                             "<ModifierClass code=\"0\" modifier=\"M\"/></ClaML>";
	static const char no_rubric_kind[] =
	        "<ClaML>\n<Title name=\"OPS\" version=\"2099\"/>\n"
	        "<Class code=\"x\" kind=\"c\">\n<Rubric/></Class></ClaML>";
	struct ms_buf b = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;
	size_t i;

	(void)state;
	assert_int_equal(ms_file_read(&b, ms_test_src_path(EXCERPT), 0, &err), 0);
	expect_error(b.buf, 3000, MS_EINVAL, 79, "malformed XML");
	/* cut anywhere: never a crash, always an error with a line (a cut
	 * inside a UTF-8 sequence is an encoding error) */
	for (i = 1; i + 20 < b.len; i += 97) {
		struct ms_error e = MS_ERROR_INIT;
		int rc = catalog_claml_read_mem(b.buf, i, "cut.xml", NULL, NULL, &e);

		assert_true(rc == MS_EINVAL || rc == MS_EUNICODE);
		assert_int_equal(e.code, rc);
		assert_true(e.line > 0);
	}
	ms_buf_release(&b);
	expect_error(not_claml, strlen(not_claml), MS_EINVAL, 2, "root element 'foo' is not ClaML");
	expect_error(no_code, strlen(no_code), MS_EINVAL, 3, "'code'");
	expect_error(no_kind, strlen(no_kind), MS_EINVAL, 3, "'kind'");
	expect_error("", 0, MS_EINVAL, 1, "empty");
	expect_error("   \n", 4, MS_EINVAL, 0, "malformed XML");
	expect_error(bad_utf8, strlen(bad_utf8), MS_EUNICODE, 2, NULL);
	expect_error(unknown_mod, strlen(unknown_mod), MS_EINVAL, 4, "unknown modifier 'NOPE'");
	expect_error(dup, strlen(dup), MS_EINVAL, 4, "duplicate class 'x'");
	expect_error(dup_mc, strlen(dup_mc), MS_EINVAL, 3, "duplicate class '0' of modifier 'M'");
	expect_error(no_rubric_kind, strlen(no_rubric_kind), MS_EINVAL, 4, "'kind'");
}

static void test_hostile(void **state)
{
	/* billion laughs: libxml2's amplification limit stops it */
	static const char laughs[] =
	        "<?xml version=\"1.0\"?>\n<!DOCTYPE ClaML [\n<!ENTITY a \"aaaaaaaaaa\">\n"
	        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
	        "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
	        "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
	        "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
	        "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
	        "<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
	        "<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">\n"
	        "<!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">\n"
	        "]>\n<ClaML><Title name=\"OPS\" version=\"2099\">&i;</Title></ClaML>\n";
	/* an external entity must not be loaded */
	static const char xxe[] =
	        "<?xml version=\"1.0\"?>\n<!DOCTYPE ClaML [<!ENTITY x SYSTEM \"/etc/passwd\">]>\n"
	        "<ClaML><Title name=\"OPS\" version=\"2099\"/><Class code=\"a\" kind=\"c\">"
	        "<Rubric kind=\"preferred\"><Label>&x;</Label></Rubric></Class></ClaML>\n";
	/* SuperClass cycle and self reference */
	static const char cycle[] =
	        "<ClaML><Title name=\"OPS\" version=\"2099\"/>"
	        "<Modifier code=\"M\"/><ModifierClass code=\"0\" modifier=\"M\"/>"
	        "<Class code=\"a\" kind=\"c\"><SuperClass code=\"b\"/></Class>"
	        "<Class code=\"b\" kind=\"c\"><SuperClass code=\"a\"/><ModifiedBy code=\"M\"/></Class>"
	        "<Class code=\"c\" kind=\"c\"><SuperClass code=\"c\"/><ModifiedBy code=\"M\"/></Class>"
	        "<Class code=\"d\" kind=\"c\"><SuperClass code=\"a\"/></Class>"
	        "</ClaML>";
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	expect_error(laughs, strlen(laughs), MS_EINVAL, 0, "malformed XML");
	assert_int_equal(read_str(xxe, &r, &err), 0);
	assert_string_equal(rec_get(&r, "a")->label, "");
	rec_free(&r);
	assert_int_equal(read_str(cycle, &r, &err), 0);
	assert_non_null(rec_find(&r, "c0"));
	assert_non_null(rec_find(&r, "d0"));
	assert_null(rec_find(&r, "a0"));
	rec_free(&r);
}

static void test_io_errors(void **state)
{
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(read_file("/nonexistent/claml.xml", &r, &err), MS_EIO);
	assert_string_equal(err.path, "/nonexistent/claml.xml");
	ms_error_clear(&err);
	assert_int_equal(read_file(ms_test_src_path("tests"), &r, &err), MS_EIO);
	ms_error_clear(&err);
	assert_int_equal(read_file("/dev/null", &r, &err), MS_EINVAL);
	assert_int_equal(err.line, 1);
	rec_free(&r);
}

/* ---- callbacks, allocation failures --------------------------------------------- */

static void test_callback_stops(void **state)
{
	struct rec r = { 0 };
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	r.stop_after = 3;
	assert_int_equal(read_file(ms_test_src_path(EXCERPT), &r, &err), MS_ECANCELLED);
	assert_int_equal(r.n, 3);
	assert_int_equal(err.line, 345); /* the class the sink refused */
	rec_free(&r);
	ms_error_clear(&err);
	r.fail_begin = 1;
	assert_int_equal(read_file(ms_test_src_path(EXCERPT), &r, &err), MS_ECANCELLED);
	assert_int_equal(r.n, 0);
	rec_free(&r);
	/* inside modifier expansion */
	ms_error_clear(&err);
	r.stop_after = 28;
	assert_int_equal(read_file(ms_test_src_path(EXCERPT), &r, &err), MS_ECANCELLED);
	assert_int_equal(r.n, 28);
	assert_string_equal(r.e[27].code, "C95.90");
	rec_free(&r);
}

static int count_entry(void *payload, const struct catalog_entry *e, struct ms_error *err)
{
	(void)e;
	(void)err;
	(*(size_t *)payload)++;
	return 0;
}

static void alloc_walk(const char *data, size_t len, size_t n_expected)
{
	struct catalog_sink s;
	long n;
	int rc = MS_ENOMEM;

	for (n = 0; n < 200000 && rc; n++) {
		struct ms_error err = MS_ERROR_INIT;
		size_t n_entries = 0;

		memset(&s, 0, sizeof(s));
		s.entry = count_entry;
		s.payload = &n_entries;
		ms_alloc_fail_after(n);
		rc = catalog_claml_read_mem(data, len, "walk.xml", NULL, &s, &err);
		ms_alloc_fail_after(-1);
		if (rc != 0 && rc != MS_ENOMEM)
			fail_msg("allocation %ld: unexpected %d (%s)", n, rc, err.msg);
		if (rc)
			assert_int_equal(err.code, MS_ENOMEM);
		else
			assert_int_equal(n_entries, n_expected);
	}
	assert_int_equal(rc, 0);
}

static void test_alloc_failures(void **state)
{
	struct ms_buf b = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(ms_file_read(&b, ms_test_src_path(EXCERPT), 0, &err), 0);
	alloc_walk(b.buf, b.len, 33);
	ms_buf_release(&b);
	assert_int_equal(ms_file_read(&b, ms_test_src_path(OPS_FIXTURE), 0, &err), 0);
	alloc_walk(b.buf, b.len, 32);
	ms_buf_release(&b);
	alloc_walk(gm_modifiers, strlen(gm_modifiers), 8 + 69);
}

/* ---- DTD check -------------------------------------------------------------------- */

struct problems {
	size_t n;
	size_t first_line;
	bool lines_ok;
};

static void on_problem(void *payload, size_t line, const char *msg)
{
	struct problems *p = payload;

	if (!p->n)
		p->first_line = line;
	p->n++;
	p->lines_ok = p->lines_ok && line > 0 && msg && *msg && msg[strlen(msg) - 1] != '\n';
}

static void test_check(void **state)
{
	const char *dtd = ms_test_src_path("schemas/ClaML.dtd");
	char dtd_path[4096];
	struct problems p = { 0, 0, true };
	struct ms_error err = MS_ERROR_INIT;
	size_t n = 99;

	(void)state;
	snprintf(dtd_path, sizeof(dtd_path), "%s", dtd);
	assert_int_equal(
	        catalog_claml_check(ms_test_src_path(EXCERPT), dtd_path, on_problem, &p, &n, &err),
	        0);
	assert_int_equal(n, 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(catalog_claml_check(ms_test_src_path(OPS_FIXTURE), dtd_path, on_problem,
	                                     &p, &n, &err),
	                 0);
	assert_int_equal(catalog_claml_check(ms_test_src_path("data/catalogs/sample-icd-o-3.xml"),
	                                     dtd_path, on_problem, &p, &n, &err),
	                 0);
	assert_int_equal(
	        catalog_claml_check("/nonexistent.xml", dtd_path, on_problem, &p, &n, &err),
	        MS_EIO);
	ms_error_clear(&err);
	assert_int_equal(catalog_claml_check(ms_test_src_path(EXCERPT), "/nonexistent.dtd",
	                                     on_problem, &p, &n, &err),
	                 MS_EIO);
	ms_error_clear(&err);
	assert_int_equal(p.n, 0);
}

static void test_check_icdo3_2014(void **state)
{
	const char *path = ms_test_shared_path("catalogs/icd-o-3/icdo32014.xml");
	char file[4096];
	struct problems p = { 0, 0, true };
	struct ms_error err = MS_ERROR_INIT;
	size_t n = 0;

	(void)state;
	if (!path)
		skip();
	snprintf(file, sizeof(file), "%s", path);
	assert_int_equal(catalog_claml_check(file, ms_test_src_path("schemas/ClaML.dtd"),
	                                     on_problem, &p, &n, &err),
	                 MS_EINVAL);
	assert_true(n >= 100);
	assert_int_equal(n, p.n);
	assert_int_equal(p.first_line, 3524);
	assert_true(p.lines_ok);
	assert_int_equal(err.code, MS_EINVAL);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static void test_check_problems(void **state)
{
	static const char malformed[] = "<ClaML version=\"2.0.0\">\n<Title name=\"x\">\n</ClaML>\n";
	/* DTD-valid, but a ModifiedBy names a modifier the file lacks */
	static const char unknown_mod[] =
	        "<ClaML version=\"2.0.0\">\n<Title name=\"OPS\" version=\"2099\"/>\n"
	        "<ClassKinds><ClassKind name=\"c\"/></ClassKinds>\n"
	        "<RubricKinds><RubricKind name=\"preferred\"/></RubricKinds>\n"
	        "<Class code=\"x\" kind=\"c\">\n<ModifiedBy code=\"NOPE\"/>\n</Class>\n</ClaML>\n";
	const char *dir = ms_test_tmpdir();
	char path[4096], dtd[4096];
	struct problems p = { 0, 0, true };
	struct ms_error err = MS_ERROR_INIT;
	size_t n = 0;

	(void)state;
	assert_non_null(dir);
	snprintf(dtd, sizeof(dtd), "%s", ms_test_src_path("schemas/ClaML.dtd"));
	snprintf(path, sizeof(path), "%s/bad.xml", dir);
	write_file(path, malformed);
	assert_int_equal(catalog_claml_check(path, dtd, on_problem, &p, &n, &err), MS_EINVAL);
	assert_true(n >= 1);
	assert_true(p.lines_ok);
	assert_int_equal(p.first_line, 3);
	ms_error_clear(&err);
	memset(&p, 0, sizeof(p));
	p.lines_ok = true;
	write_file(path, unknown_mod);
	assert_int_equal(catalog_claml_check(path, dtd, on_problem, &p, &n, &err), MS_EINVAL);
	assert_int_equal(n, 1);
	assert_int_equal(p.first_line, 6);
	assert_true(p.lines_ok);
	remove(path);
	remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_excerpt_counts),
		cmocka_unit_test(test_excerpt_modifier_c95),
		cmocka_unit_test(test_excerpt_flat_file),
		cmocka_unit_test(test_excerpt_references),
		cmocka_unit_test(test_gm_modifier_structures),
		cmocka_unit_test(test_gm_modifiers_flat_file),
		cmocka_unit_test(test_ops_fixture),
		cmocka_unit_test(test_icdo3_excerpt),
		cmocka_unit_test(test_icdo3_2019),
		cmocka_unit_test(test_icdo3_2014),
		cmocka_unit_test(test_label_text),
		cmocka_unit_test(test_info_versions),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_io_errors),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_check_icdo3_2014),
		cmocka_unit_test(test_check_problems),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
