/* SPDX-License-Identifier: MIT */
/*
 * QA families over the entries of a classification (ICD-10-GM, OPS,
 * ICD-O-3): term -> code from preferred labels and inclusion rubrics,
 * code -> term, the place of a code in the hierarchy (parent category,
 * block, chapter), exclusions with their targets, dagger/asterisk pairs from
 * rubric references and codes created by ClaML modifiers.
 *
 * Only categories are asked about: chapters and blocks are ranges and
 * headings, which no one codes. Every code an answer names must exist in
 * the table; an exclusion or pair whose target is missing is counted in
 * n_unresolved and skipped.
 */
#include "datagen/datagen.h"

#include <string.h>

#include "datagen/datagen_int.h"

#define ANCESTOR_MAX 64

/* What every item about entry e shares. */
struct entry_ctx {
	struct qa_emit *em;
	const struct qa_table *t;
	const struct qa_entry *e;
	const char *code_kind;
	const char *label; /* long label or NULL */
};

static const char *code_kind(const struct qa_table *t, const struct qa_entry *e)
{
	if (!strcmp(t->sum.system, CATALOG_SYSTEM_ICD10GM))
		return "ICD-10-GM-Kode";
	if (!strcmp(t->sum.system, CATALOG_SYSTEM_OPS))
		return "OPS-Kode";
	if (!strcmp(t->sum.system, CATALOG_SYSTEM_ICDO3))
		return e->code[0] >= '0' && e->code[0] <= '9' ? "ICD-O-3-Morphologiekode"
		                                              : "ICD-O-3-Topographiekode";
	return "Kode";
}

static void start(struct qa_item *it, enum datagen_qa_family f, const struct entry_ctx *c)
{
	qa_item_start(it, f, c->t);
	qa_item_set(it, PH_CODE_KIND, c->code_kind);
	qa_item_set(it, PH_CODE, c->e->display);
	qa_item_set(it, PH_LABEL, c->label);
	qa_item_code(it, c->e->display);
}

/* The nearest ancestor of the given kind, or NULL. */
static const struct qa_entry *ancestor(const struct qa_table *t, const struct qa_entry *e,
                                       const char *kind)
{
	uint32_t p = e->parent;
	int depth;

	for (depth = 0; p != QA_NONE && depth < ANCESTOR_MAX; depth++) {
		if (strcmp(t->e[p].kind, kind) == 0)
			return &t->e[p];
		p = t->e[p].parent;
	}
	return NULL;
}

static int code_to_term(const struct entry_ctx *c, struct ms_error *err)
{
	struct qa_item it;

	if (!c->label)
		return 0;
	start(&it, DATAGEN_QA_CODE_TO_TERM, c);
	return qa_emit_item(c->em, &it, err);
}

static int label_to_code(const struct entry_ctx *c, struct ms_error *err)
{
	struct qa_item it;
	const char *term;

	/* headings of non-terminal categories are no diagnoses; the index covers those */
	if (!c->label || !(c->e->flags & CATALOG_ENTRY_TERMINAL))
		return 0;
	term = qa_term_clean(c->em, c->label, NULL);
	if (!term)
		return 0;
	start(&it, DATAGEN_QA_TERM_TO_CODE, c);
	qa_item_set(&it, PH_TERM, term);
	return qa_emit_item(c->em, &it, err);
}

static int hierarchy(const struct entry_ctx *c, struct ms_error *err)
{
	const struct qa_table *t = c->t;
	const struct qa_entry *p = c->e->parent != QA_NONE ? &t->e[c->e->parent] : NULL;
	struct qa_item it;
	int rc = 0;

	if (p && !strcmp(p->kind, "category")) {
		start(&it, DATAGEN_QA_CODE_TO_PARENT, c);
		qa_item_set(&it, PH_PARENT, qa_code_with_label(c->em, p));
		qa_item_set(&it, PH_PARENT_CODE, p->display);
		qa_item_set(&it, PH_PARENT_LABEL, p->label_long);
		qa_item_code(&it, p->display);
		rc = qa_emit_item(c->em, &it, err);
	}
	p = ancestor(t, c->e, "block");
	if (!rc && p) {
		start(&it, DATAGEN_QA_CODE_TO_BLOCK, c);
		qa_item_set(&it, PH_BLOCK, qa_code_with_label(c->em, p));
		qa_item_set(&it, PH_BLOCK_CODE, p->display);
		qa_item_set(&it, PH_BLOCK_LABEL, p->label_long);
		qa_item_code(&it, p->display);
		rc = qa_emit_item(c->em, &it, err);
	}
	p = ancestor(t, c->e, "chapter");
	if (!rc && p) {
		start(&it, DATAGEN_QA_CODE_TO_CHAPTER, c);
		qa_item_set(&it, PH_CHAPTER, qa_code_with_label(c->em, p));
		qa_item_set(&it, PH_CHAPTER_CODE, p->display);
		qa_item_set(&it, PH_CHAPTER_LABEL, p->label_long);
		qa_item_code(&it, p->display);
		rc = qa_emit_item(c->em, &it, err);
	}
	return rc;
}

static int modifier(const struct entry_ctx *c, struct ms_error *err)
{
	const struct qa_entry *p;
	const char *mod, *pl;
	size_t n;
	struct qa_item it;

	if (!(c->e->flags & CATALOG_ENTRY_MODIFIED) || c->e->parent == QA_NONE || !c->label)
		return 0;
	p = &c->t->e[c->e->parent];
	pl = p->label_long;
	if (!pl)
		return 0;
	/* modifier expansion writes "<parent label>: <modifier class label>" */
	n = strlen(pl);
	if (strncmp(c->label, pl, n) == 0 && c->label[n] == ':' && c->label[n + 1] == ' ')
		mod = c->label + n + 2;
	else if (c->e->label && strcmp(c->e->label, c->label) != 0)
		mod = c->e->label;
	else
		return 0;
	if (!*mod)
		return 0;
	start(&it, DATAGEN_QA_MODIFIER, c);
	qa_item_set(&it, PH_PARENT_CODE, p->display);
	qa_item_set(&it, PH_PARENT_LABEL, pl);
	qa_item_set(&it, PH_MODIFIER_LABEL, mod);
	return qa_emit_item(c->em, &it, err);
}

/* A dagger/asterisk pair: term, the entry (dagger) and the asterisk code. */
static int pair(const struct entry_ctx *c, const char *term, const struct qa_entry *aster,
                struct ms_error *err)
{
	struct qa_item it;

	qa_item_start(&it, DATAGEN_QA_DAGGER_ASTERISK, c->t);
	qa_item_set(&it, PH_TERM, term);
	qa_item_set(&it, PH_DAGGER_CODE, c->e->display);
	qa_item_set(&it, PH_DAGGER_LABEL, c->label);
	qa_item_set(&it, PH_ASTERISK_CODE, aster->display);
	qa_item_set(&it, PH_ASTERISK_LABEL, aster->label_long);
	qa_item_code(&it, c->e->display);
	qa_item_code(&it, aster->display);
	return qa_emit_item(c->em, &it, err);
}

/* The first asterisk reference of a rubric that exists in the table. */
static const struct qa_entry *asterisk_ref(const struct qa_table *t, const struct qa_rubric *r,
                                           bool *unresolved_out)
{
	uint32_t k;

	*unresolved_out = false;
	for (k = 0; k < r->n_refs; k++) {
		const struct qa_ref *f = &t->refs[r->ref0 + k];
		const struct qa_entry *a;

		if (!f->usage || strcmp(f->usage, "aster") != 0)
			continue;
		a = qa_table_find(t, f->code, strlen(f->code));
		if (a)
			return a;
		*unresolved_out = true;
	}
	return NULL;
}

static int inclusion(const struct entry_ctx *c, const struct qa_rubric *r, struct ms_error *err)
{
	const struct qa_entry *aster;
	struct qa_item it;
	const char *term, *code;
	bool unresolved;
	int rc;

	term = qa_term_clean(c->em, r->text, NULL);
	if (!term)
		return 0;
	aster = asterisk_ref(c->t, r, &unresolved);
	if (unresolved) {
		c->em->stats->n_unresolved++;
		return 0;
	}
	code = qa_code_answer(c->em, c->t, c->e);
	if (aster)
		code = qa_scratch_printf(c->em, "%s† %s*", code, aster->display);
	if (!code)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	start(&it, DATAGEN_QA_TERM_TO_CODE, c);
	qa_item_set(&it, PH_TERM, term);
	qa_item_set(&it, PH_CODE, code);
	if (aster)
		qa_item_code(&it, aster->display);
	rc = qa_emit_item(c->em, &it, err);
	if (!rc && aster)
		rc = pair(c, term, aster, err);
	return rc;
}

static int exclusion(const struct entry_ctx *c, const struct qa_rubric *r, struct ms_error *err)
{
	const struct qa_table *t = c->t;
	const char *term, *refs = NULL, *target = NULL;
	struct qa_item it;
	uint32_t k;

	if (r->n_refs == 0)
		return 0; /* "anderenorts klassifiziert": no target to name */
	term = qa_term_clean(c->em, r->text, &refs);
	if (!term)
		return 0;
	start(&it, DATAGEN_QA_EXCLUSION, c);
	for (k = 0; k < r->n_refs; k++) {
		const struct qa_ref *f = &t->refs[r->ref0 + k];
		const struct qa_entry *x = qa_table_find(t, f->code, strlen(f->code));

		if (!x) {
			c->em->stats->n_unresolved++;
			return 0;
		}
		if (x == c->e)
			return 0;
		qa_item_code(&it, x->display);
		target = target ? qa_scratch_printf(c->em, "%s, %s", target,
		                                    qa_code_answer(c->em, t, x))
		                : qa_code_answer(c->em, t, x);
		if (!target)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	/* the text's own notation ("P35-P39", "C70.-") when it brackets the references */
	qa_item_set(&it, PH_TERM, term);
	qa_item_set(&it, PH_TARGET, refs ? refs : target);
	return qa_emit_item(c->em, &it, err);
}

static int rubrics(const struct entry_ctx *c, struct ms_error *err)
{
	const struct qa_table *t = c->t;
	uint32_t i;
	int rc = 0;

	for (i = 0; i < c->e->n_rubrics && !rc; i++) {
		const struct qa_rubric *r = &t->r[c->e->rubric0 + i];

		if (!strcmp(r->kind, "inclusion")) {
			rc = inclusion(c, r, err);
		} else if (!strcmp(r->kind, "exclusion")) {
			rc = exclusion(c, r, err);
		} else if (!strcmp(r->kind, "preferred")) {
			/* the label itself references an asterisk code */
			bool unresolved;
			const struct qa_entry *a = asterisk_ref(t, r, &unresolved);
			const char *term = c->label ? qa_term_clean(c->em, c->label, NULL) : NULL;

			if (unresolved)
				c->em->stats->n_unresolved++;
			else if (a && term)
				rc = pair(c, term, a, err);
		}
	}
	return rc;
}

int qa_classif_generate(struct qa_emit *em, const struct qa_table *t, struct ms_error *err)
{
	struct entry_ctx c;
	size_t i;
	int rc = 0;

	for (i = 0; i < t->n && !rc; i++) {
		const struct qa_entry *e = &t->e[i];

		if (strcmp(e->kind, "category") != 0)
			continue;
		ms_arena_reset(&em->scratch);
		c.em = em;
		c.t = t;
		c.e = e;
		c.code_kind = code_kind(t, e);
		c.label = e->label_long;
		rc = code_to_term(&c, err);
		if (!rc)
			rc = label_to_code(&c, err);
		if (!rc)
			rc = hierarchy(&c, err);
		if (!rc)
			rc = modifier(&c, err);
		if (!rc)
			rc = rubrics(&c, err);
	}
	return rc;
}
