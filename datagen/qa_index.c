/* SPDX-License-Identifier: MIT */
/*
 * QA families from an alphabetical index (ICD-10-GM Alpha-ID): term ->
 * code(s), and dagger/asterisk pairs for terms with an asterisk code.
 *
 * The index may be of another version than the classification it is asked
 * against (the 2010 index with the 2025 classification): every code of a
 * term must exist in the target classification, else the term is skipped
 * and counted (n_index_missing), never emitted with a stale code. Terms are
 * streamed from the store, one at a time; nothing is kept per term.
 *
 * Answer notation: the codes of a term separated by a space, the primary
 * code marked "†" when an asterisk code follows ("E10.30† H36.0*"),
 * additional codes of kind "optional" marked "!" ("B96.5!"), and
 * categories that need further digits written "A00.-" / "M54.1-".
 */
#include "datagen/datagen.h"

#include <string.h>

#include "datagen/datagen_int.h"

struct index_ctx {
	struct qa_emit *em;
	const struct qa_table *t;
};

static bool is_optional(const struct qa_entry *e)
{
	return e->usage && strcmp(e->usage, "optional") == 0;
}

/* Looks a term's code up; *missing_out is set when a given code is absent. */
static const struct qa_entry *find(const struct qa_table *t, const char *code, bool *missing_out)
{
	const struct qa_entry *e;

	if (!code || !code[0])
		return NULL;
	e = qa_table_find(t, code, strlen(code));
	if (!e)
		*missing_out = true;
	return e;
}

static int on_term(void *payload, const struct catalog_term *term, struct ms_error *err)
{
	struct index_ctx *c = payload;
	struct qa_emit *em = c->em;
	const struct qa_table *t = c->t;
	const struct qa_entry *p, *a, *x, *first;
	const char *text, *answer;
	struct qa_item it;
	bool missing = false;
	int rc;

	ms_arena_reset(&em->scratch);
	em->stats->n_index_terms++;
	p = find(t, term->code, &missing);
	a = find(t, term->code_asterisk, &missing);
	x = find(t, term->code_extra, &missing);
	if (missing) {
		em->stats->n_index_missing++;
		return 0;
	}
	first = p ? p : x;
	if (!first) {
		em->stats->n_index_no_code++;
		return 0;
	}
	text = qa_term_clean(em, term->text ? term->text : "", NULL);
	if (!text)
		return 0;
	answer = "";
	if (p)
		answer = qa_scratch_printf(em, "%s%s", qa_code_answer(em, t, p), a ? "†" : "");
	if (answer && a)
		answer = qa_scratch_printf(em, "%s %s*", answer, a->display);
	if (answer && x)
		answer = qa_scratch_printf(em, "%s%s%s%s", answer, p ? " " : "",
		                           qa_code_answer(em, t, x), is_optional(x) ? "!" : "");
	if (!answer)
		return ms_error_set(err, MS_ENOMEM, "out of memory");

	qa_item_start(&it, DATAGEN_QA_TERM_TO_CODE, t);
	qa_item_set(&it, PH_CODE_KIND,
	            strcmp(t->sum.system, CATALOG_SYSTEM_OPS) == 0 ? "OPS-Kode" : "ICD-10-GM-Kode");
	qa_item_set(&it, PH_TERM, text);
	qa_item_set(&it, PH_CODE, answer);
	qa_item_code(&it, first->display);
	if (a)
		qa_item_code(&it, a->display);
	if (p && x)
		qa_item_code(&it, x->display);
	rc = qa_emit_item(em, &it, err);
	if (rc || !p || !a)
		return rc;

	qa_item_start(&it, DATAGEN_QA_DAGGER_ASTERISK, t);
	qa_item_set(&it, PH_TERM, text);
	qa_item_set(&it, PH_DAGGER_CODE, p->display);
	qa_item_set(&it, PH_DAGGER_LABEL, p->label_long);
	qa_item_set(&it, PH_ASTERISK_CODE, a->display);
	qa_item_set(&it, PH_ASTERISK_LABEL, a->label_long);
	qa_item_code(&it, p->display);
	qa_item_code(&it, a->display);
	return qa_emit_item(em, &it, err);
}

int qa_index_generate(struct qa_emit *em, const struct qa_table *t, struct catalog_store *store,
                      const struct catalog_summary *idx, struct ms_error *err)
{
	struct index_ctx c = { em, t };

	return catalog_store_foreach_term(store, idx->id, on_term, &c, err);
}
