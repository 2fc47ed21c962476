/* SPDX-License-Identifier: MIT */
/*
 * The datagen module: turns catalogue content into supervised fine-tuning
 * examples. This header holds the catalogue QA part:
 *
 *   data dir   where the shipped data (templates, ...) is found at run time
 *              (datagen_data_dir_find)
 *   templates  German question/answer templates per task family, loaded
 *              from data/templates/ (every .json file) plus user files and validated
 *              (datagen_templates_*)
 *   generate   reads the catalogues of a catalogue database once, expands
 *              every template of every family for every item and writes a
 *              dataset folder through output/ (datagen_qa_generate)
 *   check      re-verifies such a folder: record shapes, answer codes
 *              against the database, split disjointness by code,
 *              duplicates and counts (datagen_qa_check)
 *
 * Template files (schemas/qa-templates.schema.json):
 *
 *   { "system_prompt": "Du bist ...",
 *     "families": { "<family>": { "answer": "{code}",
 *                                 "questions": ["Welcher {code_kind} ...", ...] } } }
 *
 * Placeholders are "{name}"; "{{" and "}}" are literal braces. Each family
 * accepts the placeholders listed by datagen_qa_family_placeholders(). The
 * built-in set must have an answer and at least DATAGEN_TEMPLATES_MIN
 * questions per family; user files may add questions to any family and
 * replace its answer or the system prompt.
 *
 * Records: meta.task is the family name, meta.system/version the catalogue
 * the question is about, meta.codes every code the answer names: the first
 * one is the code the question is about; codes of another catalogue are
 * written "<system>:<code>" (the tumour family's ICD-O-3 codes). The split
 * group of a record is "<meta.system>:<meta.codes[0]>", so every question
 * about a code lands in one split.
 *
 * Errors: ms_error messages carry file names, family names, template
 * numbers and codes, never record text. Thread-safety: a template set is
 * immutable after loading and may be shared; one generation or check runs
 * per catalogue store at a time (stores are per thread).
 */
#ifndef MS_DATAGEN_DATAGEN_H
#define MS_DATAGEN_DATAGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "common/error.h"
#include "output/output.h"

/* ---- data directory ----------------------------------------------------- */

/*
 * Finds the data directory: the first of dir (an option), env_dir (the
 * value of MEDSFT_DATA), "<directory of the running binary>/../data" and
 * install_dir (the installed share/medsft) that holds a "templates"
 * subdirectory. Any argument may be NULL. A dir or env_dir given but
 * without templates is an error rather than skipped, so a typo is not
 * silently replaced by another data set. *out is a heap copy (ms_free).
 * Returns 0, MS_ENOTFOUND (message lists what was tried) or MS_ENOMEM.
 */
int datagen_data_dir_find(char **out, const char *dir, const char *env_dir, const char *install_dir,
                          struct ms_error *err) MS_MUST_CHECK;

/* ---- task families -------------------------------------------------------- */

enum datagen_qa_family {
	DATAGEN_QA_TERM_TO_CODE = 0, /* label, inclusion or index term -> code */
	DATAGEN_QA_CODE_TO_TERM,     /* code -> title */
	DATAGEN_QA_CODE_TO_PARENT,   /* subcategory -> its category */
	DATAGEN_QA_CODE_TO_BLOCK,    /* code -> block (group) */
	DATAGEN_QA_CODE_TO_CHAPTER,  /* code -> chapter */
	DATAGEN_QA_EXCLUSION,        /* "Ist X unter C34 zu kodieren?" -> "Nein, ... unter Y" */
	DATAGEN_QA_DAGGER_ASTERISK,  /* term + dagger code -> asterisk code */
	DATAGEN_QA_MODIFIER,         /* category + subclassification -> code */
	DATAGEN_QA_GOAE_SERVICE_TO_NUMBER, /* description -> number */
	DATAGEN_QA_GOAE_NUMBER_TO_DESCRIPTION,
	DATAGEN_QA_GOAE_NUMBER_TO_POINTS,
	DATAGEN_QA_GOAE_FEE,         /* number at a factor -> fee in euro */
	DATAGEN_QA_GOAE_EXCLUSION,   /* "neben ... nicht berechnungsfähig" */
	DATAGEN_QA_TUMOUR_DIAGNOSIS, /* morphology + site -> ICD-10-GM + ICD-O-3 */
	DATAGEN_QA_N_FAMILIES
};

/* Questions each family needs in the built-in template set. */
#define DATAGEN_TEMPLATES_MIN 3

/* "term-to-code", ...; NULL when out of range. */
const char *datagen_qa_family_name(enum datagen_qa_family f);
/* Parses a family name; returns 0 or MS_ENOTFOUND. */
int datagen_qa_family_parse(enum datagen_qa_family *out, const char *name) MS_MUST_CHECK;
/*
 * The placeholders a family's templates may use, as a static
 * NULL-terminated list of names without braces.
 */
const char *const *datagen_qa_family_placeholders(enum datagen_qa_family f);

/* ---- templates ------------------------------------------------------------- */

struct datagen_templates;

/* An empty set; free with datagen_templates_free. Returns 0 or MS_ENOMEM. */
int datagen_templates_new(struct datagen_templates **out, struct ms_error *err) MS_MUST_CHECK;
void datagen_templates_free(struct datagen_templates *t);

/*
 * Loads every ".json" file of data_dir/templates in byte order of the
 * names, then checks the built-in rules (an answer and at least
 * DATAGEN_TEMPLATES_MIN questions per family, a system prompt). Errors name
 * the file and, for template problems, the family and 1-based template
 * number: MS_EIO, MS_EINVAL, MS_ENOTFOUND (no template file), MS_ENOMEM.
 */
int datagen_templates_load_builtin(struct datagen_templates *t, const char *data_dir,
                                   struct ms_error *err) MS_MUST_CHECK;

/*
 * Adds one template file (user templates): its questions are appended to
 * their families, its answers and system prompt replace the current ones.
 * Returns 0, MS_ENOTFOUND (no such file), MS_EIO, MS_EINVAL, MS_ETOOBIG
 * (over 4 MiB, or over 1000 questions in a family) or MS_ENOMEM; on failure
 * t is unchanged.
 */
int datagen_templates_load_file(struct datagen_templates *t, const char *path,
                                struct ms_error *err) MS_MUST_CHECK;

/* The same for a file already in memory; name is used in messages. */
int datagen_templates_load_json(struct datagen_templates *t, const char *json, size_t len,
                                const char *name, struct ms_error *err) MS_MUST_CHECK;

/* Number of questions of a family (0 for none or out of range). */
size_t datagen_templates_count(const struct datagen_templates *t, enum datagen_qa_family f);

/* The system prompt, or NULL if none was loaded. Borrowed from t. */
const char *datagen_templates_system_prompt(const struct datagen_templates *t);

/* ---- generation ---------------------------------------------------------- */

/* A catalogue to generate from: system ("icd10gm") and version (NULL: newest). */
struct datagen_qa_selection {
	const char *system;
	const char *version;
};

/* Parses "icd10gm:2025" or "icdo3" into sel (pointers into s; s must live on). */
int datagen_qa_selection_parse(struct datagen_qa_selection *out, char *s,
                               struct ms_error *err) MS_MUST_CHECK;

/*
 * Options of a generation. output carries the dataset writer options the
 * caller decides (format, compress, seed, split, created, name, record
 * flags); datagen sets its sources and card itself. Every pointer is
 * borrowed for the duration of the call.
 *   selections       classifications to use; none = every classification in
 *                    the database. The index catalogues of a selected system
 *                    are always used, against each selected version.
 *   paraphrases      0: every question template for every item; N: at most
 *                    N per item, picked by a seeded hash of the item
 *   tumour_per_morphology  diagnoses built per ICD-O-3 morphology (0: the
 *                    default, DATAGEN_QA_TUMOUR_DEFAULT)
 *   progress         called now and then with the number of records written;
 *                    may be NULL
 */
#define DATAGEN_QA_TUMOUR_DEFAULT 20u

struct datagen_qa_options {
	struct output_dataset_options output;
	const struct datagen_qa_selection *selections;
	size_t n_selections;
	unsigned paraphrases;
	unsigned tumour_per_morphology;
	void (*progress)(void *payload, uint64_t n_records);
	void *payload;
};

/* What a generation did. Skips are items left out, never emitted. */
struct datagen_qa_stats {
	uint64_t n_items;                         /* items that produced questions */
	uint64_t n_questions;                     /* examples handed to the writer */
	uint64_t n_examples;                      /* written (after deduplication) */
	uint64_t n_duplicates;                    /* dropped by the writer */
	uint64_t n_family[DATAGEN_QA_N_FAMILIES]; /* examples handed over, per family */
	uint64_t n_index_terms;                   /* index terms read */
	uint64_t n_index_no_code;                 /* cross references without a code */
	uint64_t n_index_missing;                 /* a code missing in the target version */
	uint64_t n_unresolved;                    /* exclusion/pair targets missing */
	uint64_t n_conflicts;                     /* same question, other answer: skipped */
	uint64_t n_tumour_unmapped;               /* ICD-O-3 sites without ICD-10-GM code */
	char index_target[48];                    /* "icd10gm 2025" of the skips, or "" */
};

/*
 * Generates the QA dataset into dir (must not exist or be empty; see
 * output_dataset_open) from the catalogues in store, with the templates t.
 * All or nothing: on failure the folder is removed again. stats_out (may be
 * NULL) is filled on success.
 * Expected failures: MS_ENOTFOUND (a selection names no classification in
 * the database, or it holds none), MS_EEXISTS (dir not empty) and MS_EUSAGE
 * (invalid writer options); besides MS_EINVAL (a family has questions but no
 * answer template), MS_EIO, MS_EDB, MS_ENOMEM. The message names the
 * selection, file or family. Uses the store and writes dir; nothing global.
 */
int datagen_qa_generate(struct datagen_qa_stats *stats_out, struct catalog_store *store,
                        const struct datagen_templates *t, const struct datagen_qa_options *opts,
                        const char *dir, struct ms_error *err) MS_MUST_CHECK;

/* ---- check ------------------------------------------------------------------ */

/*
 * Receives one problem of a dataset folder: path (the file, relative to the
 * folder: "data/train.jsonl", "manifest.json"), line (1-based, 0 if none)
 * and a message.
 */
typedef void (*datagen_problem_cb)(void *payload, const char *path, size_t line, const char *msg);

/*
 * Re-verifies a QA dataset folder: manifest.json and stats.json readable
 * and consistent with the data files (records, hashes, totals); every
 * record has its format's shape (keys and types of the schemas/sft-<format> schemas) and
 * a meta object; no (question, answer) pair twice; no split group
 * ("<system>:<first code>") in two splits; with a store (may be NULL: codes
 * are then not checked), every code of meta.codes exists in the catalogue
 * version the record names and the manifest's source hashes match the
 * database. Each problem goes to cb (may be NULL); *n_problems_out counts
 * them. Returns 0 (no problem), MS_EINVAL (problems found), MS_EIO (a file
 * cannot be read), MS_EDB, MS_ENOMEM.
 */
int datagen_qa_check(size_t *n_problems_out, const char *dir, struct catalog_store *store,
                     datagen_problem_cb cb, void *payload, struct ms_error *err) MS_MUST_CHECK;

/* ---- report datasets: code validation ------------------------------------ */

/*
 * How a label of a report record fares against a catalogue:
 *   OK            the code exists in the catalogue version
 *   MALFORMED     empty, longer than 32 bytes, or with characters no code of
 *                 the supported catalogues has (only [0-9A-Za-z.-:/!*+],
 *                 after trimming blanks at either end)
 *   UNKNOWN       well-formed, but not in the catalogue version
 *   NOT_TERMINAL  in the catalogue, but a class that is not coded itself
 *                 (a chapter, block, or a category with subcategories,
 *                 e.g. ICD-10-GM C95.9 next to C95.90/C95.91); catalogues
 *                 without a hierarchy (GOÄ) have only terminal entries
 *   OTHER_SYSTEM  the label names another coding system (an ICD-10-GM
 *                 diagnosis next to GOÄ numbers, a local service code): not
 *                 a code of this dataset, skipped and counted
 */
enum datagen_code_status {
	DATAGEN_CODE_OK = 0,
	DATAGEN_CODE_MALFORMED,
	DATAGEN_CODE_UNKNOWN,
	DATAGEN_CODE_NOT_TERMINAL,
	DATAGEN_CODE_OTHER_SYSTEM
};

/*
 * Maps a coding-system name as exports write it ("GOAE", "GOÄ", "goae",
 * "I10-GM", "ICD-10-GM", "icd10gm", "OPS", ...; ASCII case, '-', '_', '.' and
 * blanks ignored) to a catalogue system (CATALOG_SYSTEM_*), or NULL.
 */
const char *datagen_code_system(const char *name);

struct datagen_code_checker;

/*
 * Loads the classification of system (CATALOG_SYSTEM_*) in version (NULL:
 * newest) from store into memory. Returns 0, MS_ENOTFOUND (no such
 * catalogue), MS_EDB or MS_ENOMEM. The checker is immutable afterwards and
 * may be shared by threads.
 */
int datagen_code_checker_new(struct datagen_code_checker **out, struct catalog_store *store,
                             const char *system, const char *version,
                             struct ms_error *err) MS_MUST_CHECK;
void datagen_code_checker_free(struct datagen_code_checker *c);

/* The catalogue checked against (borrowed from c). */
const struct catalog_summary *datagen_code_checker_catalog(const struct datagen_code_checker *c);
const char *datagen_code_checker_version(const struct datagen_code_checker *c);

/*
 * Classifies code (NUL-terminated), labelled with label_system (NULL or ""
 * when the source names none: then it is taken to be of the checker's
 * system). Codes are matched after trimming and ASCII upper-casing
 * ("8140/3" finds "8140:3"). On OK, *canon_out is the catalogue's printed
 * form and *title_out (may be NULL) its title or NULL; both borrowed from c.
 */
enum datagen_code_status datagen_code_checker_check(const struct datagen_code_checker *c,
                                                    const char *code, const char *label_system,
                                                    const char **canon_out, const char **title_out);

/*
 * Canonical order of codes in an answer: codes starting with digits by that
 * number, then bytewise by the rest ("5370" < "5377" < "5731" < "A"); other
 * codes bytewise ("C34.1" < "C61"). Returns <0, 0 or >0.
 */
int datagen_code_compare(const char *a, const char *b);

/* ---- report datasets: building ---------------------------------------------- */

enum datagen_unknown_policy {
	DATAGEN_UNKNOWN_DROP_CODE = 0, /* drop the code, keep the record */
	DATAGEN_UNKNOWN_DROP_RECORD,   /* drop every record with such a code */
	DATAGEN_UNKNOWN_FAIL           /* stop with MS_EINVAL naming the record */
};

enum datagen_answer {
	DATAGEN_ANSWER_CODES = 0, /* one code per line */
	DATAGEN_ANSWER_CODES_TEXT /* "5370 – Computergesteuerte ..." per line */
};

enum datagen_group_by {
	DATAGEN_GROUP_PATIENT = 0, /* the record's group (patient pseudonym) */
	DATAGEN_GROUP_RECORD       /* every record alone */
};

/* Task name of report records (meta.task). */
#define DATAGEN_REPORTS_TASK   "report-to-codes"
/* Manifest source name of the de-identified input of a report dataset. */
#define DATAGEN_REPORTS_SOURCE "de-identified reports"

/*
 * Options of a report dataset build. output carries the writer options the
 * caller decides (format, compress, seed, created, name, record_flags); the
 * builder sets kfold, sources, card and stats_extra itself.
 *   system, version  the catalogue of the codes (CATALOG_SYSTEM_GOAE,
 *                    _ICD10GM, _OPS; version NULL = newest in the database)
 *   folds            k >= 2 folds (default 5 when 0)
 *   holdout          share of the examples in the hold-out test set, [0, 1)
 *   near_dup         Jaccard threshold of near-duplicate removal (0: exact
 *                    duplicates only)
 *   problem          called for every code problem and dropped record, with
 *                    the input name, record number and a message (codes that
 *                    are well-formed are quoted, malformed ones never); may
 *                    be NULL
 */
struct datagen_reports_options {
	struct output_dataset_options output;
	const char *system;
	const char *version;
	unsigned folds;
	double holdout;
	enum datagen_group_by group_by;
	enum datagen_answer answer;
	enum datagen_unknown_policy unknown;
	double near_dup;
	datagen_problem_cb problem;
	void *payload;
	void (*progress)(void *payload, const char *stage, uint64_t n);
};

/* What a build did. */
struct datagen_reports_stats {
	uint64_t n_records;            /* read from the input */
	uint64_t n_examples;           /* written */
	uint64_t n_codes_ok;           /* labels kept (after de-duplication in a record) */
	uint64_t n_codes_unknown;      /* well-formed, not in the catalogue */
	uint64_t n_codes_not_terminal; /* in the catalogue, not codable itself */
	uint64_t n_codes_malformed;    /* see DATAGEN_CODE_MALFORMED */
	uint64_t n_codes_other;        /* of another coding system */
	uint64_t n_dropped_unknown;    /* records dropped by DROP_RECORD */
	uint64_t n_dropped_no_codes;   /* records left without a code */
	uint64_t n_exact_dups;         /* training records: same folded text as a kept one */
	uint64_t n_near_dups;          /* training records: near-duplicate of a kept one */
	uint64_t n_contam_exact;       /* training records equal to a hold-out record */
	uint64_t n_contam_near;        /* training records near a hold-out record */
	uint64_t n_groups;             /* groups (patients) with a kept record */
	uint64_t n_labels;             /* distinct codes */
	uint64_t n_holdout;            /* examples in the hold-out test set */
	char version[32];              /* catalogue version used */
};

/*
 * Reads the de-identified records of in_path (JSONL as `medsft deid run`
 * writes it: id, group, text, labels), validates their codes, assigns whole
 * groups to a hold-out test set and k folds by iterative stratification on
 * the code sets (output_stratify), removes exact and near duplicates among
 * the training (fold) records and every training record that duplicates a
 * hold-out record (the hold-out is never changed), and writes a k-fold
 * dataset folder into dir through output/ (data/fold-<i>.jsonl,
 * data/test.jsonl, card with one config per fold, manifest, stats.json with
 * the label distribution per part). Survivors do not depend on input order:
 * training records are considered in order of their ids.
 *
 * One example per record: the system prompt, the user turn with the report
 * and the question, the assistant turn with the code set in canonical order
 * (datagen_code_compare). meta.id is the record id, meta.source
 * "<group>/<record id>", meta.codes the codes.
 *
 * All or nothing. Returns 0, MS_ENOTFOUND (input or catalogue missing),
 * MS_EINVAL (a malformed input record, or a code problem under
 * DATAGEN_UNKNOWN_FAIL: err names the input and record), MS_EEXISTS,
 * MS_EUSAGE, MS_EIO, MS_EDB, MS_ENOMEM.
 */
int datagen_reports_build(struct datagen_reports_stats *stats_out, struct catalog_store *store,
                          const struct datagen_reports_options *opts, const char *in_path,
                          const char *dir, struct ms_error *err) MS_MUST_CHECK;

/* ---- synthetic exports ------------------------------------------------------- */

enum datagen_synth_format {
	DATAGEN_SYNTH_CSV = 0, /* header + one row per report (deid CSV reader columns) */
	DATAGEN_SYNTH_HL7      /* one ORU^R01 message per report, CR segments, LF between */
};

/*
 * A synthetic radiology export: n reports of patients with one to eight
 * studies each, structured fields, report texts with PHI and the GOÄ numbers
 * of the study (system must be CATALOG_SYSTEM_GOAE). The same (n, seed)
 * gives the same records in both formats.
 *
 * CSV columns: id, patient (the group), patient.id, patient.family,
 * patient.given, patient.birthdate, patient.street, patient.zip,
 * patient.city, patient.phone, case.id, accession, referrer.family,
 * referrer.given, performer.family, performer.given, study_date, text,
 * labels ('|'-separated GOÄ numbers). HL7: MSH-10 id, PID-3/5/7/11/13,
 * PV1-19, ORC/OBR-2/3, OBR-4 local service code (system "L"), OBR-16
 * referrer, OBR-32 performer, OBX TX text, one OBX CWE per GOÄ number
 * (system "GOAE").
 */
struct datagen_synth_options {
	uint64_t n;
	uint64_t seed;
	enum datagen_synth_format format;
	const char *system;
};

/* Receives output; returns 0 or a negative status (MS_EIO) that stops the writer. */
typedef int (*datagen_write_fn)(void *payload, const void *data, size_t len);

/*
 * Generates the export and hands it to write in pieces of about 1 MiB.
 * Memory stays flat. Returns 0, MS_EUSAGE (system, format), MS_ENOMEM or
 * write's status.
 */
int datagen_synth_export(const struct datagen_synth_options *o, datagen_write_fn write,
                         void *payload, struct ms_error *err) MS_MUST_CHECK;

#endif
