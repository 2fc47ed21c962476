/* SPDX-License-Identifier: MIT */
/*
 * Small text rules shared by the QA families: how a code is written in an
 * answer (ICD's "A00.-" for categories that need more digits), "code –
 * label" strings, and turning rubric texts into question terms by removing
 * the bracketed code references the catalogues append ("Meningen (C70.-)").
 */
#include "datagen/datagen.h"

#include <string.h>

#include "datagen/datagen_int.h"

#define TERM_MAX 300

const char *qa_code_answer(struct qa_emit *em, const struct qa_table *t, const struct qa_entry *e)
{
	const char *s;

	if (e->flags & CATALOG_ENTRY_TERMINAL || strcmp(e->kind, "category") != 0)
		return e->display;
	if (strcmp(t->sum.system, CATALOG_SYSTEM_ICD10GM) != 0 &&
	    strcmp(t->sum.system, CATALOG_SYSTEM_OPS) != 0)
		return e->display;
	/* "A00" -> "A00.-", "M54.1" -> "M54.1-": the notation of the classification itself */
	s = qa_scratch_printf(em, "%s%s", e->display, strchr(e->display, '.') ? "-" : ".-");
	return s ? s : e->display;
}

const char *qa_code_with_label(struct qa_emit *em, const struct qa_entry *e)
{
	const char *label = e->label_long ? e->label_long : e->label;
	const char *s;

	if (!label)
		return e->display;
	s = qa_scratch_printf(em, "%s – %s", e->display, label);
	return s ? s : e->display;
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A bracket content that is a code reference: "C70.-", "P35-P39", "N08.3*", "C16". */
static bool is_code_ref(const char *s, size_t len)
{
	return len >= 3 && len <= 40 && is_upper(s[0]) && is_digit(s[1]) && is_digit(s[2]);
}

const char *qa_term_clean(struct qa_emit *em, const char *text, const char **refs_out)
{
	size_t len = strlen(text), open, n_groups = 0, i;
	size_t starts[8], lens[8];
	const char *term;
	char *refs;
	size_t refs_len = 0, off;

	if (refs_out)
		*refs_out = NULL;
	if (len == 0 || len > TERM_MAX || memchr(text, '\n', len))
		return NULL;
	for (;;) {
		int depth = 0;

		while (len && text[len - 1] == ' ')
			len--;
		if (!len || text[len - 1] != ')' || n_groups == 8)
			break;
		for (open = len; open-- > 0;) {
			if (text[open] == ')')
				depth++;
			else if (text[open] == '(' && --depth == 0)
				break;
		}
		if (depth != 0 || !is_code_ref(text + open + 1, len - open - 2))
			break;
		starts[n_groups] = open + 1;
		lens[n_groups] = len - open - 2;
		refs_len += lens[n_groups] + 2;
		n_groups++;
		len = open;
	}
	while (len && text[len - 1] == ' ')
		len--;
	if (!len)
		return NULL;
	term = qa_scratch_strndup(em, text, len);
	if (!term || !refs_out || !n_groups)
		return term;
	refs = ms_arena_alloc(&em->scratch, refs_len + 1);
	if (!refs)
		return NULL;
	/* the groups were found last first; write them in text order */
	off = 0;
	for (i = n_groups; i-- > 0;) {
		if (off) {
			memcpy(refs + off, ", ", 2);
			off += 2;
		}
		memcpy(refs + off, text + starts[i], lens[i]);
		off += lens[i];
	}
	refs[off] = '\0';
	*refs_out = refs;
	return term;
}
