/* SPDX-License-Identifier: MIT */
/*
 * The tumour-diagnosis family (after the ICDOPS-QA paper): a diagnosis
 * text made of an ICD-O-3 morphology with behaviour /3 and an ICD-O-3
 * topography, answered with the ICD-10-GM code, the topography code and the
 * morphology code. Built only from catalogue content:
 *
 * - Topographies: the ICD-O-3 topography codes C00.0-C80.9 mirror the
 *   ICD-10 codes of malignant neoplasms, so C34.1 maps to ICD-10-GM C34.1
 *   when that is a terminal code there, and Cxx.9 to a terminal
 *   three-character Cxx ("C61.9 Prostata" -> C61). Sites without a terminal
 *   ICD-10-GM code are counted (n_tumour_unmapped) and left out, and so are
 *   C42 (haematopoietic system), C77 (lymph nodes: secondary in ICD-10) and
 *   C80 (unknown primary).
 * - Morphologies: terminal "/3" codes that are not obsolete ("[obs.]").
 *   The mirror holds for tumours coded by site; morphologies that ICD-10
 *   codes by type instead are excluded: melanoma 872-879 (C43), mesothelioma
 *   9050-9055 (C45), Kaposi sarcoma 9140 (C46) and the haematological and
 *   lymphoid neoplasms 959-999 (C81-C96). A morphology whose title names
 *   its site ("Linitis plastica (C16.-)") is combined only with topographies
 *   of that site; others only when epithelial (801-858), where the site
 *   alone decides the ICD-10 code.
 * - Per morphology, up to per_morphology sites are chosen by a seeded hash,
 *   deterministically for a given seed.
 *
 * Every answer code exists by construction. meta.codes: the ICD-10-GM code,
 * then "icdo3:<topography>" and "icdo3:<morphology>".
 */
#include "datagen/datagen.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "datagen/datagen_int.h"

#define SITE_REFS_MAX 8

struct site {
	const struct qa_entry *o3;
	const struct qa_entry *icd;
};

struct pick {
	uint64_t h;
	size_t site;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* An ICD-O-3 topography code "Cdd.d". */
static bool is_topography(const char *c)
{
	return c[0] == 'C' && is_digit(c[1]) && is_digit(c[2]) && c[3] == '.' && is_digit(c[4]) &&
	       !c[5];
}

static const struct qa_entry *terminal(const struct qa_table *t, const char *code, size_t len)
{
	const struct qa_entry *e = qa_table_find(t, code, len);

	return e && (e->flags & CATALOG_ENTRY_TERMINAL) ? e : NULL;
}

/* The sites with their ICD-10-GM codes; *out is ms_malloc'ed. */
static int collect_sites(struct site **out, size_t *n_out, struct qa_emit *em,
                         const struct qa_table *icd, const struct qa_table *o3)
{
	struct site *s = NULL;
	size_t n = 0, cap = 0, i;

	for (i = 0; i < o3->n; i++) {
		const struct qa_entry *e = &o3->e[i], *m;

		if (!(e->flags & CATALOG_ENTRY_TERMINAL) || !is_topography(e->code) ||
		    !e->label_long)
			continue;
		if (!strncmp(e->code, "C42", 3) || !strncmp(e->code, "C77", 3) ||
		    !strncmp(e->code, "C80", 3))
			continue;
		m = terminal(icd, e->code, 5);
		if (!m && e->code[4] == '9')
			m = terminal(icd, e->code, 3);
		if (!m) {
			em->stats->n_tumour_unmapped++;
			continue;
		}
		if (MS_GROW(s, cap, n + 1)) {
			ms_free(s);
			return MS_ENOMEM;
		}
		s[n].o3 = e;
		s[n].icd = m;
		n++;
	}
	*out = s;
	*n_out = n;
	return 0;
}

/* Morphology number of "8140:3", or -1 if e is no usable /3 morphology. */
static int morphology_number(const struct qa_entry *e)
{
	const char *c = e->code;
	int num;

	if (!(e->flags & CATALOG_ENTRY_TERMINAL) || !e->label_long)
		return -1;
	if (!is_digit(c[0]) || !is_digit(c[1]) || !is_digit(c[2]) || !is_digit(c[3]) ||
	    (c[4] != ':' && c[4] != '/') || c[5] != '3' || c[6])
		return -1;
	if (strstr(e->label_long, "[obs.]"))
		return -1;
	num = (c[0] - '0') * 1000 + (c[1] - '0') * 100 + (c[2] - '0') * 10 + (c[3] - '0');
	if ((num >= 8720 && num <= 8799) || (num >= 9050 && num <= 9055) || num == 9140 ||
	    num >= 9590)
		return -1;
	return num;
}

/* Site references of the morphology's title ("C16" of "(C16.-)"). */
static size_t site_refs(const struct qa_table *o3, const struct qa_entry *e,
                        const char *refs[SITE_REFS_MAX])
{
	size_t n = 0;
	uint32_t i, k;

	for (i = 0; i < e->n_rubrics; i++) {
		const struct qa_rubric *r = &o3->r[e->rubric0 + i];

		if (strcmp(r->kind, "preferred") != 0)
			continue;
		for (k = 0; k < r->n_refs && n < SITE_REFS_MAX; k++) {
			const char *c = o3->refs[r->ref0 + k].code;

			if (c[0] == 'C' && is_digit(c[1]) && is_digit(c[2]))
				refs[n++] = c;
		}
	}
	return n;
}

static bool site_matches(const struct site *s, const char *const *refs, size_t n_refs)
{
	size_t i;

	for (i = 0; i < n_refs; i++) {
		if (strncmp(s->o3->code, refs[i], 3) == 0)
			return true;
	}
	return false;
}

static int cmp_pick(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->site < y->site ? -1 : x->site > y->site;
}

static int emit_diagnosis(struct qa_emit *em, const struct qa_table *icd, const struct qa_entry *m,
                          const char *morph, const struct site *s, struct ms_error *err)
{
	struct qa_item it;
	const char *topo_code, *morph_code;

	topo_code = qa_scratch_printf(em, "%s:%s", CATALOG_SYSTEM_ICDO3, s->o3->display);
	morph_code = qa_scratch_printf(em, "%s:%s", CATALOG_SYSTEM_ICDO3, m->display);
	if (!topo_code || !morph_code)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	qa_item_start(&it, DATAGEN_QA_TUMOUR_DIAGNOSIS, icd);
	qa_item_set(&it, PH_MORPHOLOGY, morph);
	qa_item_set(&it, PH_MORPHOLOGY_CODE, m->display);
	qa_item_set(&it, PH_TOPOGRAPHY, s->o3->label_long);
	qa_item_set(&it, PH_TOPOGRAPHY_CODE, s->o3->display);
	qa_item_set(&it, PH_ICD_CODE, s->icd->display);
	qa_item_set(&it, PH_ICD_LABEL, s->icd->label_long);
	qa_item_code(&it, s->icd->display);
	qa_item_code(&it, topo_code);
	qa_item_code(&it, morph_code);
	return qa_emit_item(em, &it, err);
}

int qa_tumour_generate(struct qa_emit *em, const struct qa_table *icd, const struct qa_table *o3,
                       unsigned per_morphology, struct ms_error *err)
{
	struct site *sites = NULL;
	struct pick *picks = NULL;
	size_t n_sites = 0, i, j, n;
	int rc;

	rc = collect_sites(&sites, &n_sites, em, icd, o3);
	if (!rc && n_sites) {
		picks = ms_malloc(n_sites * sizeof(*picks));
		if (!picks)
			rc = MS_ENOMEM;
	}
	if (rc) {
		rc = ms_error_set(err, rc, "out of memory");
		goto out;
	}
	for (i = 0; i < o3->n && n_sites && !rc; i++) {
		const struct qa_entry *m = &o3->e[i];
		const char *refs[SITE_REFS_MAX], *morph;
		size_t n_refs;
		int num = morphology_number(m);

		if (num < 0)
			continue;
		n_refs = site_refs(o3, m, refs);
		if (!n_refs && (num < 8010 || num > 8589))
			continue;
		n = 0;
		for (j = 0; j < n_sites; j++) {
			if (n_refs && !site_matches(&sites[j], refs, n_refs))
				continue;
			picks[n].h = qa_hash2(em->seed, m->code, sites[j].o3->code);
			picks[n].site = j;
			n++;
		}
		if (n > 1)
			qsort(picks, n, sizeof(*picks), cmp_pick);
		if (n > per_morphology)
			n = per_morphology;
		for (j = 0; j < n && !rc; j++) {
			ms_arena_reset(&em->scratch);
			morph = qa_term_clean(em, m->label_long, NULL);
			if (!morph)
				break;
			rc = emit_diagnosis(em, icd, m, morph, &sites[picks[j].site], err);
		}
	}
out:
	ms_free(picks);
	ms_free(sites);
	return rc;
}
