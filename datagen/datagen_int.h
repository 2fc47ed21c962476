/* SPDX-License-Identifier: MIT */
/*
 * Private to datagen/: the compiled templates (templates.c), the in-memory
 * copy of one catalogue (qa_table.c), the record emitter (qa_emit.c) and the
 * family generators (qa_classif.c, qa_index.c, qa_goae.c, qa_tumour.c) that
 * the driver (qa.c) runs.
 */
#ifndef MS_DATAGEN_DATAGEN_INT_H
#define MS_DATAGEN_DATAGEN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/strmap.h"
#include "datagen/datagen.h"
#include "output/output.h"

/* ---- placeholders and compiled templates ---- */

enum qa_ph {
	PH_SYSTEM_NAME = 0,
	PH_VERSION,
	PH_CODE_KIND,
	PH_CODE,
	PH_LABEL,
	PH_TERM,
	PH_PARENT,
	PH_PARENT_CODE,
	PH_PARENT_LABEL,
	PH_BLOCK,
	PH_BLOCK_CODE,
	PH_BLOCK_LABEL,
	PH_CHAPTER,
	PH_CHAPTER_CODE,
	PH_CHAPTER_LABEL,
	PH_TARGET,
	PH_DAGGER_CODE,
	PH_DAGGER_LABEL,
	PH_ASTERISK_CODE,
	PH_ASTERISK_LABEL,
	PH_MODIFIER_LABEL,
	PH_SCHEDULE,
	PH_NUMBER,
	PH_DESCRIPTION,
	PH_POINTS,
	PH_FACTOR,
	PH_FEE,
	PH_OTHER_NUMBER,
	PH_OTHER_DESCRIPTION,
	PH_MORPHOLOGY,
	PH_MORPHOLOGY_CODE,
	PH_TOPOGRAPHY,
	PH_TOPOGRAPHY_CODE,
	PH_ICD_CODE,
	PH_ICD_LABEL,
	PH_MAX
};

#define QA_SEG_LITERAL 0xffffu

/* A literal run of tpl->text or one placeholder. */
struct qa_seg {
	uint32_t ph; /* enum qa_ph or QA_SEG_LITERAL */
	uint32_t off, len;
};

/* One compiled template: literal text with braces unescaped, and segments. */
struct qa_tpl {
	char *text;
	struct qa_seg *segs;
	size_t n_segs;
};

struct qa_tpl_family {
	struct qa_tpl answer; /* segs NULL while unset */
	struct qa_tpl *questions;
	size_t n_questions;
};

struct datagen_templates {
	char *system_prompt;
	struct qa_tpl_family fam[DATAGEN_QA_N_FAMILIES];
};

/* A placeholder value; s NULL or len 0 means empty. */
struct qa_val {
	const char *s;
	size_t len;
};

/* Appends the expansion of tpl with values v[PH_MAX] to out (sticky status). */
void qa_tpl_expand(struct ms_buf *out, const struct qa_tpl *tpl, const struct qa_val *v);

/* ---- one catalogue in memory ---- */

#define QA_NONE UINT32_MAX

struct qa_ref {
	const char *code;
	const char *usage; /* NULL, "dagger", "aster", "optional" */
};

struct qa_rubric {
	const char *kind;
	const char *text;
	uint32_t ref0, n_refs;
};

struct qa_entry {
	const char *code;    /* as stored: "8140:3" */
	const char *display; /* as printed: "8140/3" (same pointer when equal) */
	const char *kind;
	const char *usage;
	const char *label;      /* preferred label, may be NULL */
	const char *label_long; /* preferredLong rubric or label, may be NULL */
	unsigned flags;         /* enum catalog_entry_flags */
	uint32_t parent;        /* index of the superclass or QA_NONE */
	uint32_t rubric0, n_rubrics;
	int64_t points;                                   /* GOÄ/GOZ; -1 when unknown */
	int64_t factor_threshold_milli, factor_max_milli; /* 0 when none */
	int64_t fee_simple, fee_threshold, fee_max;       /* cents; -1 when none */
};

struct qa_table {
	struct catalog_summary sum;
	struct ms_arena arena; /* every string of the table */
	struct qa_entry *e;
	size_t n, cap;
	struct qa_rubric *r;
	size_t n_r, cap_r;
	struct qa_ref *refs;
	size_t n_refs, cap_refs;
	uint32_t *slots; /* open addressing: entry index + 1, 0 = empty */
	size_t n_slots;
};

/* Loads the entries of the catalogue sum names. Release with qa_table_release. */
int qa_table_load(struct qa_table *t, struct catalog_store *store,
                  const struct catalog_summary *sum, struct ms_error *err) MS_MUST_CHECK;
void qa_table_release(struct qa_table *t);
/* Finds a code as stored or as printed ("8140/3" finds "8140:3"); NULL if absent. */
const struct qa_entry *qa_table_find(const struct qa_table *t, const char *code, size_t len);
/* Index of an entry of t. */
static inline uint32_t qa_table_index(const struct qa_table *t, const struct qa_entry *e)
{
	return (uint32_t)(e - t->e);
}

/* Display name of a catalogue ("ICD-10-GM", "ICD-O-3", "GOÄ", ...). */
const char *qa_system_display(const char *system);
/* Name of a catalogue in the manifest sources (index parts have their own). */
const char *qa_source_name(const char *system, bool index);
/* The system whose display name (as written in manifest sources) is name, or NULL. */
const char *qa_system_from_display(const char *name, bool *is_index_out);

/* ---- the emitter ---- */

#define QA_MAX_CODES 4

/* One thing to ask about; every template of its family is expanded for it. */
struct qa_item {
	enum datagen_qa_family family;
	const char *system;  /* meta.system */
	const char *version; /* meta.version */
	const char *codes[QA_MAX_CODES];
	size_t n_codes; /* codes[0] is the split group's code */
	struct qa_val v[PH_MAX];
};

/* Question fingerprints -> answer fingerprint, to skip contradicting pairs. */
struct qa_qset_slot {
	uint64_t q1, q2, a;
};

/* An open-addressing table of slots; (0, 0) in q1, q2 marks an empty one. */
struct qa_hset {
	struct qa_qset_slot *slots;
	size_t cap, n; /* cap: 0 or a power of two */
};

struct qa_emit {
	const struct datagen_templates *t;
	struct output_dataset *ds;
	uint64_t seed;
	unsigned paraphrases;
	struct output_split_spec split;
	bool kfold;
	struct datagen_qa_stats *stats;
	struct ms_buf q, a, id, group;
	struct ms_arena scratch; /* per item; reset by qa_emit_item's callers */
	/* raw question -> raw answer of every pair handed to the writer */
	struct qa_hset qset;
	/*
	 * Duplicates are decided here, by the writer's rule (same question and
	 * answer once whitespace is normalised), so the writer keeps no set:
	 * nset holds (question, answer) of the normalised form of each pair
	 * in qset that is not its own normal form (see emit_one).
	 */
	bool dedup;
	struct qa_hset nset;
	struct ms_buf nq, na; /* normalised question and answer */
	bool a_normal;        /* the item's answer is its own normal form */
	uint64_t na_hash;     /* fingerprint of the normalised answer */
	/* group -> split: a keyed hash per group instead of one per item */
	struct ms_strmap splits;
	struct ms_arena split_keys;
	void (*progress)(void *payload, uint64_t n_records);
	void *payload;
};

int qa_emit_init(struct qa_emit *em, const struct datagen_templates *t, struct output_dataset *ds,
                 const struct datagen_qa_options *opts, struct datagen_qa_stats *stats,
                 struct ms_error *err) MS_MUST_CHECK;
void qa_emit_release(struct qa_emit *em);
/* Sets v[ph] to a NUL-terminated string (NULL = empty). */
void qa_item_set(struct qa_item *it, enum qa_ph ph, const char *s);
/* Clears it and sets family, system and version (the table's). */
void qa_item_start(struct qa_item *it, enum datagen_qa_family f, const struct qa_table *t);
/* Adds a meta code (NUL-terminated, borrowed); ignored beyond QA_MAX_CODES. */
void qa_item_code(struct qa_item *it, const char *code);
/* Expands and writes the item's questions. Returns 0 or a writer error. */
int qa_emit_item(struct qa_emit *em, const struct qa_item *it, struct ms_error *err) MS_MUST_CHECK;

/* Seeded 64-bit hash of two strings (not keyed: for sampling, not secrets). */
uint64_t qa_hash2(uint64_t seed, const char *a, const char *b);

/* Per-item scratch strings (valid until the caller resets em->scratch). */
const char *qa_scratch_printf(struct qa_emit *em, const char *fmt, ...) MS_PRINTF(2, 3);
const char *qa_scratch_strndup(struct qa_emit *em, const char *s, size_t len);

/* ---- text helpers (qa_text.c) ---- */

/* Code as ICD writes a category that needs further digits ("A00.-", "M54.1-"). */
const char *qa_code_answer(struct qa_emit *em, const struct qa_table *t, const struct qa_entry *e);
/* "C34 – label" or "C34" when there is no label. */
const char *qa_code_with_label(struct qa_emit *em, const struct qa_entry *e);
/*
 * Strips the trailing parenthesised references of a rubric text
 * ("Meningen (C70.-)" -> "Meningen"); the stripped groups' contents, joined
 * with ", ", go to *refs_out when not NULL (NULL if none). Returns NULL when
 * the text is not usable as a question term (empty, several lines, too long).
 */
const char *qa_term_clean(struct qa_emit *em, const char *text, const char **refs_out);
/* True for the tables of the fee schedules (goae, goz). */
bool qa_is_fee_schedule(const struct qa_table *t);

/* ---- families ---- */

/* Classification families over the entries of t (not fee schedules). */
int qa_classif_generate(struct qa_emit *em, const struct qa_table *t,
                        struct ms_error *err) MS_MUST_CHECK;
/* Index terms of the index catalogue idx against the classification t. */
int qa_index_generate(struct qa_emit *em, const struct qa_table *t, struct catalog_store *store,
                      const struct catalog_summary *idx, struct ms_error *err) MS_MUST_CHECK;
/* GOÄ/GOZ families. */
int qa_goae_generate(struct qa_emit *em, const struct qa_table *t,
                     struct ms_error *err) MS_MUST_CHECK;
/* Tumour diagnoses from ICD-O-3 (o3) mapped onto ICD-10-GM (icd). */
int qa_tumour_generate(struct qa_emit *em, const struct qa_table *icd, const struct qa_table *o3,
                       unsigned per_morphology, struct ms_error *err) MS_MUST_CHECK;

/* ---- reports check: deduplication and decontamination (reports_check.c) ---- */

/*
 * Collects the report texts of a dataset folder (taken back out of their
 * prompts) with their SHA-256 and MinHash signature under seed, then checks
 * what `reports build` promises of the training parts: no text equal to a
 * hold-out text or to another training text, and, with a threshold, none
 * at least that similar (MinHash/LSH, as the build measured) to a hold-out
 * text or to a training text with a smaller id.
 */
struct datagen_rcheck;

/* One finding: file index and line as given to datagen_rcheck_add(). */
typedef void (*datagen_rcheck_cb)(void *payload, size_t file, size_t line, const char *what);

int datagen_rcheck_new(struct datagen_rcheck **out, uint64_t seed,
                       struct ms_error *err) MS_MUST_CHECK;
/*
 * Adds the record id (test: from the hold-out) whose user prompt is
 * user[0, len); *not_a_prompt is set, and nothing added, when the prompt
 * does not have the shape reports build writes.
 */
int datagen_rcheck_add(struct datagen_rcheck *r, const char *id, bool test, const char *user,
                       size_t len, size_t file, size_t line, bool *not_a_prompt,
                       struct ms_error *err) MS_MUST_CHECK;
/* Runs the checks (threshold 0: exact only); cb gets every finding. */
int datagen_rcheck_run(struct datagen_rcheck *r, double threshold, datagen_rcheck_cb cb,
                       void *payload, struct ms_error *err) MS_MUST_CHECK;
void datagen_rcheck_free(struct datagen_rcheck *r);

#endif
