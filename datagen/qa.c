/* SPDX-License-Identifier: MIT */
/*
 * QA generation driver: resolves which catalogues to use, loads them into
 * memory once, describes them to the dataset writer (sources with the
 * catalogue database's sha256 of each source file, the dataset card with
 * the BfArM/WHO attribution and the GOÄ official-work note), runs the
 * family generators in a fixed order and commits the folder.
 *
 * Order: classifications by (system, version) as the store lists them,
 * each followed by the indexes of its system, then the tumour family. The
 * order matters only for which of two contradicting questions wins, and it
 * depends on the database alone, not on the command line.
 */
#include "datagen/datagen.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "datagen/datagen_int.h"

#define DESCRIPTION_MAX 4096
#define MAX_TAGS        10

static const char bfarm_note[] =
        "ICD-10-GM, OPS and ICD-O-3 (German edition) are published by the Bundesinstitut für "
        "Arzneimittel und Medizinprodukte (BfArM); ICD-10 and ICD-O are classifications of the "
        "World Health Organization (WHO), used by BfArM under licence. Die Erstellung erfolgt "
        "unter Verwendung der maschinenlesbaren Fassung des Bundesinstituts für Arzneimittel "
        "und Medizinprodukte (BfArM).";

static const char fee_note[] =
        "GOÄ and GOZ: the fee schedules are annexes of federal ordinances (Gebührenordnung für "
        "Ärzte, Gebührenordnung für Zahnärzte) and as such official works (amtliche Werke, "
        "§ 5 Abs. 1 UrhG) that are not protected by copyright.";

int datagen_qa_selection_parse(struct datagen_qa_selection *out, char *s, struct ms_error *err)
{
	char *colon = strchr(s, ':');
	const char *p;

	out->system = s;
	out->version = NULL;
	if (colon) {
		*colon = '\0';
		out->version = colon + 1;
		if (!colon[1]) {
			*colon = ':';
			return ms_error_set(err, MS_EUSAGE, "empty version in '%.64s'", s);
		}
	}
	for (p = s; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
			if (colon)
				*colon = ':';
			return ms_error_set(err, MS_EUSAGE,
			                    "invalid system '%.64s' (expected e.g. icd10gm:2025)",
			                    s);
		}
	}
	if (!s[0]) {
		if (colon)
			*colon = ':';
		return ms_error_set(err, MS_EUSAGE, "empty system in '%.64s'", s);
	}
	return 0;
}

struct plan {
	struct catalog_summary *all;
	size_t n_all;
	bool *selected; /* per entry of all */
	struct qa_table *tabs;
	size_t n_tabs;
	struct output_source *sources;
	size_t n_sources;
	char *description; /* DESCRIPTION_MAX bytes, completed before commit */
	struct ms_buf license_name, attribution;
	const char *tags[MAX_TAGS];
	size_t n_tags;
};

static void plan_release(struct plan *p)
{
	size_t i;

	for (i = 0; i < p->n_tabs; i++)
		qa_table_release(&p->tabs[i]);
	ms_free(p->tabs);
	ms_free(p->all);
	ms_free(p->selected);
	ms_free(p->sources);
	ms_free(p->description);
	ms_buf_release(&p->license_name);
	ms_buf_release(&p->attribution);
}

static bool is_classification(const struct catalog_summary *s)
{
	return strcmp(s->part, CATALOG_PART_CLASSIFICATION) == 0;
}

static int select_catalogues(struct plan *p, struct catalog_store *store,
                             const struct datagen_qa_options *opts, struct ms_error *err)
{
	struct catalog_summary sum;
	size_t i, k;
	int rc;

	rc = catalog_store_list(store, &p->all, &p->n_all, err);
	if (rc)
		return rc;
	p->selected = ms_calloc(p->n_all + 1, sizeof(*p->selected));
	if (!p->selected)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	for (i = 0; i < p->n_all && !opts->n_selections; i++)
		p->selected[i] = is_classification(&p->all[i]);
	for (k = 0; k < opts->n_selections; k++) {
		const struct datagen_qa_selection *s = &opts->selections[k];
		struct ms_error tmp = MS_ERROR_INIT;

		rc = catalog_store_find(store, s->system, s->version, CATALOG_PART_CLASSIFICATION,
		                        &sum, &tmp);
		if (rc == MS_ENOTFOUND)
			return ms_error_set(err, MS_ENOTFOUND,
			                    "no classification '%.32s%s%.32s' in the catalogue "
			                    "database",
			                    s->system, s->version ? ":" : "",
			                    s->version ? s->version : "");
		if (rc) {
			*err = tmp;
			return rc;
		}
		for (i = 0; i < p->n_all; i++) {
			if (p->all[i].id == sum.id)
				p->selected[i] = true;
		}
	}
	return 0;
}

static int load_tables(struct plan *p, struct catalog_store *store, struct ms_error *err)
{
	size_t i, n = 0;
	int rc;

	for (i = 0; i < p->n_all; i++)
		n += p->selected[i];
	if (n == 0)
		return ms_error_set(err, MS_ENOTFOUND,
		                    "the catalogue database holds no "
		                    "classification");
	p->tabs = ms_calloc(n, sizeof(*p->tabs));
	if (!p->tabs)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	for (i = 0; i < p->n_all; i++) {
		if (!p->selected[i])
			continue;
		rc = qa_table_load(&p->tabs[p->n_tabs], store, &p->all[i], err);
		if (rc)
			return rc;
		p->n_tabs++;
	}
	return 0;
}

/* True if some selected table is of system. */
static bool has_system(const struct plan *p, const char *system)
{
	size_t i;

	for (i = 0; i < p->n_tabs; i++) {
		if (!strcmp(p->tabs[i].sum.system, system))
			return true;
	}
	return false;
}

static bool is_used_index(const struct plan *p, const struct catalog_summary *s)
{
	return !is_classification(s) && has_system(p, s->system);
}

static void add_tag(struct plan *p, const char *tag)
{
	if (p->n_tags < MAX_TAGS)
		p->tags[p->n_tags++] = tag;
}

/* Sources, tags, licence and attribution of the card. */
static int describe(struct plan *p, struct ms_error *err)
{
	bool bfarm = false, fees = false;
	size_t i;

	p->sources = ms_calloc(p->n_all + 1, sizeof(*p->sources));
	p->description = ms_calloc(1, DESCRIPTION_MAX);
	if (!p->sources || !p->description)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	for (i = 0; i < p->n_all; i++) {
		const struct catalog_summary *s = &p->all[i];
		struct output_source *o = &p->sources[p->n_sources];
		bool index = !is_classification(s);

		if (!p->selected[i] && !is_used_index(p, s))
			continue;
		o->name = qa_source_name(s->system, index);
		o->version = s->version;
		o->sha256 = s->sha256[0] ? s->sha256 : NULL;
		p->n_sources++;
		if (!strcmp(s->system, CATALOG_SYSTEM_GOAE) ||
		    !strcmp(s->system, CATALOG_SYSTEM_GOZ))
			fees = true;
		else
			bfarm = true;
	}
	add_tag(p, "medical");
	add_tag(p, "medical-coding");
	add_tag(p, "german");
	if (has_system(p, CATALOG_SYSTEM_ICD10GM))
		add_tag(p, "icd-10-gm");
	if (has_system(p, CATALOG_SYSTEM_OPS))
		add_tag(p, "ops");
	if (has_system(p, CATALOG_SYSTEM_ICDO3))
		add_tag(p, "icd-o-3");
	if (has_system(p, CATALOG_SYSTEM_GOAE))
		add_tag(p, "goae");
	if (has_system(p, CATALOG_SYSTEM_GOZ))
		add_tag(p, "goz");
	if (bfarm)
		ms_buf_adds(&p->license_name, "BfArM/WHO terms of use (ICD-10-GM, OPS, ICD-O-3)");
	if (fees)
		ms_buf_addf(&p->license_name, "%sGOÄ/GOZ: amtliches Werk (§ 5 UrhG)",
		            bfarm ? "; " : "");
	if (bfarm)
		ms_buf_adds(&p->attribution, bfarm_note);
	if (fees)
		ms_buf_addf(&p->attribution, "%s%s", bfarm ? "\n\n" : "", fee_note);
	if (ms_buf_status(&p->license_name) || ms_buf_status(&p->attribution))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return 0;
}

static void describe_skips(struct plan *p, const struct datagen_qa_stats *st)
{
	struct ms_buf d = MS_BUF_INIT;
	size_t i;

	ms_buf_init(&d, DESCRIPTION_MAX - 1);
	ms_buf_adds(&d, "Question/answer pairs for German medical coding, generated by `medsft qa "
	                "generate` from ");
	for (i = 0; i < p->n_tabs; i++)
		ms_buf_addf(&d, "%s%s %s", i ? (i + 1 == p->n_tabs ? " and " : ", ") : "",
		            qa_system_display(p->tabs[i].sum.system), p->tabs[i].sum.version);
	ms_buf_adds(&d,
	            ". Every question template (paraphrase) of a task family is asked for every "
	            "item; `meta.task` names the family. Splits are decided per code (group "
	            "`<meta.system>:<meta.codes[0]>`), so codes of the test split are unseen in "
	            "training.\n\nLeft out, never emitted:\n\n");
	if (st->n_index_terms)
		ms_buf_addf(&d,
		            "- index terms with a code missing in %s: %" PRIu64 " of %" PRIu64
		            " (%" PRIu64 " cross references without a code)\n",
		            st->index_target, st->n_index_missing, st->n_index_terms,
		            st->n_index_no_code);
	ms_buf_addf(&d,
	            "- exclusions and dagger/asterisk pairs whose target is not in the catalogue: "
	            "%" PRIu64 "\n",
	            st->n_unresolved);
	ms_buf_addf(&d, "- questions already asked with another answer: %" PRIu64 "\n",
	            st->n_conflicts);
	if (st->n_tumour_unmapped)
		ms_buf_addf(&d, "- ICD-O-3 sites without a terminal ICD-10-GM code: %" PRIu64 "\n",
		            st->n_tumour_unmapped);
	while (d.len && d.buf[d.len - 1] == '\n')
		ms_buf_truncate(&d, d.len - 1);
	/* capped: an overlong list is cut, never overflows the writer's buffer */
	if (d.len >= DESCRIPTION_MAX)
		d.len = DESCRIPTION_MAX - 1;
	memcpy(p->description, d.buf, d.len);
	p->description[d.len] = '\0';
	ms_buf_release(&d);
}

static const struct qa_table *newest(const struct plan *p, const char *system)
{
	const struct qa_table *t = NULL;
	size_t i;

	/* the store lists versions in ascending order */
	for (i = 0; i < p->n_tabs; i++) {
		if (!strcmp(p->tabs[i].sum.system, system))
			t = &p->tabs[i];
	}
	return t;
}

static int run_families(struct qa_emit *em, struct plan *p, struct catalog_store *store,
                        const struct datagen_qa_options *opts, struct datagen_qa_stats *st,
                        struct ms_error *err)
{
	const struct qa_table *o3 = newest(p, CATALOG_SYSTEM_ICDO3);
	size_t i, k;
	int rc = 0;

	for (i = 0; i < p->n_tabs && !rc; i++) {
		const struct qa_table *t = &p->tabs[i];

		if (qa_is_fee_schedule(t)) {
			rc = qa_goae_generate(em, t, err);
			continue;
		}
		rc = qa_classif_generate(em, t, err);
		for (k = 0; k < p->n_all && !rc; k++) {
			const struct catalog_summary *s = &p->all[k];

			if (is_classification(s) || strcmp(s->system, t->sum.system) != 0)
				continue;
			snprintf(st->index_target, sizeof(st->index_target), "%s %s",
			         qa_system_display(t->sum.system), t->sum.version);
			rc = qa_index_generate(em, t, store, s, err);
		}
	}
	for (i = 0; i < p->n_tabs && !rc && o3; i++) {
		if (!strcmp(p->tabs[i].sum.system, CATALOG_SYSTEM_ICD10GM))
			rc = qa_tumour_generate(em, &p->tabs[i], o3,
			                        opts->tumour_per_morphology
			                                ? opts->tumour_per_morphology
			                                : DATAGEN_QA_TUMOUR_DEFAULT,
			                        err);
	}
	return rc;
}

static int check_templates(const struct datagen_templates *t, struct ms_error *err)
{
	int f;

	for (f = 0; f < DATAGEN_QA_N_FAMILIES; f++) {
		if (t->fam[f].n_questions && !t->fam[f].answer.segs)
			return ms_error_set(err, MS_EINVAL,
			                    "family '%s' has questions but no answer "
			                    "template",
			                    datagen_qa_family_name((enum datagen_qa_family)f));
	}
	return 0;
}

int datagen_qa_generate(struct datagen_qa_stats *stats_out, struct catalog_store *store,
                        const struct datagen_templates *t, const struct datagen_qa_options *opts,
                        const char *dir, struct ms_error *err)
{
	static const char *const task_categories[] = { "question-answering", "text-generation" };
	struct output_dataset_options o = opts->output;
	struct output_dataset *ds = NULL;
	struct datagen_qa_stats st;
	struct qa_emit em;
	struct plan p;
	const struct output_stats *os;
	int rc;

	memset(&p, 0, sizeof(p));
	memset(&st, 0, sizeof(st));
	memset(&em, 0, sizeof(em));
	ms_buf_init(&p.license_name, 0);
	ms_buf_init(&p.attribution, 0);
	rc = check_templates(t, err);
	if (!rc)
		rc = select_catalogues(&p, store, opts, err);
	if (!rc)
		rc = load_tables(&p, store, err);
	if (!rc)
		rc = describe(&p, err);
	if (rc)
		goto out;
	o.sources = p.sources;
	o.n_sources = p.n_sources;
	if (!o.card.pretty_name)
		o.card.pretty_name = "medsft catalogue QA (German medical coding)";
	o.card.language = "de";
	o.card.license = "other";
	o.card.license_name = p.license_name.buf;
	o.card.attribution = p.attribution.buf;
	/* completed by describe_skips before commit; the writer reads it only then */
	o.card.description = p.description;
	o.card.task_categories = task_categories;
	o.card.n_task_categories = 2;
	o.card.tags = p.tags;
	o.card.n_tags = p.n_tags;
	rc = output_dataset_open(&ds, dir, &o, err);
	if (rc)
		goto out;
	rc = qa_emit_init(&em, t, ds, opts, &st, err);
	if (!rc)
		rc = run_families(&em, &p, store, opts, &st, err);
	if (rc)
		goto out;
	describe_skips(&p, &st);
	rc = output_dataset_commit(ds, err);
	if (rc)
		goto out;
	os = output_dataset_stats(ds);
	st.n_examples = os->n_examples;
	st.n_duplicates = os->n_duplicates;
	if (stats_out)
		*stats_out = st;
out:
	if (rc)
		output_dataset_abort(ds);
	output_dataset_free(ds);
	qa_emit_release(&em);
	plan_release(&p);
	return rc;
}
