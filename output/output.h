/* SPDX-License-Identifier: MIT */
/*
 * The output module: turns SFT examples into files that trainers load
 * unchanged, and nothing else. It knows no catalogue and no PHI: callers
 * (datagen) hand it finished examples.
 *
 * Pieces, in the order a caller meets them:
 *
 *   records   one example as one JSONL line in a trainer format
 *             (output_record_append)
 *   splits    deterministic train/validation/test assignment and group
 *             k-fold by keyed hash of a group key (output_split_*,
 *             output_kfold_*)
 *   dedup     an exact set of (question, answer) fingerprints
 *             (output_dedup_*)
 *   datasets  a streaming folder writer that combines the three and on
 *             commit adds manifest.json, stats.json, dataset_info.json
 *             (LLaMA-Factory) and README.md (Hugging Face dataset card)
 *             (output_dataset_*)
 *
 * Typical use (the QA generator):
 *
 *   struct output_dataset_options o = OUTPUT_DATASET_OPTIONS_INIT;
 *   o.format = OUTPUT_FORMAT_MESSAGES; o.seed = 42; o.card.pretty_name = ...;
 *   rc = output_split_parse(&o.split, "0.9,0.05,0.05", err);
 *   rc = output_dataset_open(&ds, "out/icd-qa", &o, err);
 *   for each example: rc = output_dataset_add(ds, &ex, err);
 *   rc = output_dataset_commit(ds, err);   (or output_dataset_abort(ds))
 *   st = output_dataset_stats(ds);
 *   output_dataset_free(ds);
 *
 * Text: every text crosses as (pointer, byte length) and must be valid UTF-8
 * (NFC is the readers' job; this module only checks validity, because
 * invalid UTF-8 would make the JSON invalid). Ids, names and catalogue
 * strings are NUL-terminated. Error messages carry record numbers and ids,
 * never example text.
 *
 * Thread-safety: record, split, kfold and timestamp functions are reentrant
 * once ms_hash_init() has returned (output_dataset_open calls it). A dedup set
 * or dataset writer belongs to one thread at a time.
 */
#ifndef MS_OUTPUT_OUTPUT_H
#define MS_OUTPUT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"

/* ---- examples ---------------------------------------------------------- */

enum output_role { OUTPUT_ROLE_USER = 0, OUTPUT_ROLE_ASSISTANT };

/* One conversation turn; text is borrowed. */
struct output_turn {
	enum output_role role;
	const char *text;
	size_t len;
};

/*
 * Split names. OUTPUT_SPLIT_NONE (0) means "decide by hash", so a zeroed
 * example has no override. Arrays indexed by split have OUTPUT_SPLIT_MAX
 * entries; index 0 is unused.
 */
enum output_split {
	OUTPUT_SPLIT_NONE = 0,
	OUTPUT_SPLIT_TRAIN,
	OUTPUT_SPLIT_VALIDATION,
	OUTPUT_SPLIT_TEST
};
#define OUTPUT_SPLIT_MAX 4

/*
 * One SFT example. Every pointer is borrowed for the duration of the call it
 * is passed to. Single-turn examples set user/assistant; multi-turn ones set
 * turns/n_turns instead (n_turns > 0 makes user/assistant ignored). Turns
 * must alternate user, assistant, ... and end with an assistant turn; no
 * text may be empty.
 *
 * Metadata: task, catalog_system, catalog_version, source and the codes are
 * written into the record's "meta" object (NULL is written as ""). group is
 * the string whose hash decides the split (the code for catalogue QA, the
 * patient pseudonym for reports); NULL or "" falls back to id. split forces a
 * split (OUTPUT_SPLIT_NONE = hash decides).
 */
struct output_example {
	const char *id;            /* required, non-empty */
	const char *system_prompt; /* may be NULL: no system message */
	size_t system_prompt_len;
	const char *user;
	size_t user_len;
	const char *assistant;
	size_t assistant_len;
	const struct output_turn *turns;
	size_t n_turns;
	const char *task;            /* e.g. "icd-code-to-title" */
	const char *catalog_system;  /* e.g. "icd10gm" */
	const char *catalog_version; /* e.g. "2025" */
	const char *const *codes;
	size_t n_codes;
	const char *source; /* source document id, may be NULL */
	const char *group;
	enum output_split split;
	/*
	 * k-fold writers only: with fold_forced, an example whose split is not
	 * OUTPUT_SPLIT_TEST goes to fold (< k) instead of its hashed fold, so
	 * that a caller's own assignment (output_stratify) decides.
	 */
	bool fold_forced;
	uint32_t fold;
};

/* ---- record formats ---------------------------------------------------- */

/*
 * Record formats: one JSON object per line, fixed key order, "\n" line
 * ends, UTF-8 written as is (no \u escapes above U+001F). Every record of a
 * file has the same keys with the same types, because Hugging Face datasets
 * rejects files whose columns change type.
 *
 *   MESSAGES  {"messages":[{"role":"system","content":S},
 *              {"role":"user","content":U},{"role":"assistant","content":A}],
 *              "meta":{...}}
 *             OpenAI chat fine-tuning, TRL conversational language modeling,
 *             axolotl chat_template (default field), LLaMA-Factory
 *             "openai" flavour of sharegpt. The system message is present
 *             only when the example has a system prompt.
 *   PROMPT_COMPLETION
 *             {"prompt":[system?, user, (assistant, user)...],
 *              "completion":[{"role":"assistant","content":A}],"meta":{...}}
 *             TRL conversational prompt-completion (loss on the completion
 *             only). No LLaMA-Factory mapping exists for it.
 *   ALPACA    {"instruction":U,"input":"","output":A,"system":S or "",
 *              "meta":{...}}
 *             LLaMA-Factory alpaca (columns prompt/query/response/system),
 *             axolotl alpaca. Single turn only (MS_EINVAL otherwise).
 *   SHAREGPT  {"conversations":[{"from":"system","value":S},
 *              {"from":"human","value":U},{"from":"gpt","value":A}],
 *              "meta":{...}}
 *             LLaMA-Factory sharegpt (a leading "system" message is taken as
 *             the system prompt via system_tag), axolotl chat_template with
 *             role: from, content: value.
 *
 * meta is {"id":s,"task":s,"system":s,"version":s,"codes":[s...],
 * "source":s}: always these six keys, strings never null ("" instead).
 * OpenAI documents no top-level key besides messages/tools/functions and has
 * rejected files with unexpected top-level keys: write with
 * OUTPUT_RECORD_NO_META for files meant for OpenAI upload.
 */
enum output_format {
	OUTPUT_FORMAT_MESSAGES = 0,
	OUTPUT_FORMAT_PROMPT_COMPLETION,
	OUTPUT_FORMAT_ALPACA,
	OUTPUT_FORMAT_SHAREGPT
};

enum output_record_flags {
	OUTPUT_RECORD_NO_META = 1u << 0 /* omit the "meta" object */
};

/* "messages", "prompt-completion", "alpaca", "sharegpt"; NULL if unknown. */
const char *output_format_name(enum output_format fmt);

/* Parses a name as printed by output_format_name(). MS_EINVAL if unknown. */
int output_format_parse(enum output_format *out, const char *name,
                        struct ms_error *err) MS_MUST_CHECK;

/*
 * Checks that ex can be written in fmt: id present, turns well formed and
 * non-empty, all text valid UTF-8. Returns 0, MS_EINVAL (shape; message
 * names the id) or MS_EUNICODE (message names the field and byte offset).
 */
int output_example_check(const struct output_example *ex, enum output_format fmt,
                         struct ms_error *err) MS_MUST_CHECK;

/*
 * Appends ex as one JSONL line (with its "\n") to out; flags are
 * enum output_record_flags. Checks ex first (output_example_check). Returns
 * 0, MS_EINVAL, MS_EUNICODE, MS_ENOMEM or MS_ETOOBIG (out's cap). On failure
 * out may hold a partial line and a sticky status: reset it before reuse.
 */
int output_record_append(struct ms_buf *out, const struct output_example *ex,
                         enum output_format fmt, unsigned flags,
                         struct ms_error *err) MS_MUST_CHECK;

/* ---- splits and folds --------------------------------------------------- */

/*
 * Split ratios indexed by enum output_split (ratio[0] unused). Valid specs
 * have every ratio in [0, 1] and a sum of 1 within 1e-9.
 */
struct output_split_spec {
	double ratio[OUTPUT_SPLIT_MAX];
};

/* train 0.9, validation 0.05, test 0.05 */
#define OUTPUT_SPLIT_SPEC_DEFAULT            \
	{                                    \
		{                            \
			0.0, 0.9, 0.05, 0.05 \
		}                            \
	}

/* "train", "validation", "test"; NULL for OUTPUT_SPLIT_NONE or out of range. */
const char *output_split_name(enum output_split split);

/*
 * Parses "0.9,0.05,0.05" (positional: train, validation, test; 1 to 3 parts,
 * missing parts are 0) or named parts "train=0.8,test=0.2" (each name at
 * most once; positional and named parts cannot mix). Numbers are decimal in
 * [0, 1]; the sum must be 1 within 1e-9. Returns 0 or MS_EINVAL (message
 * quotes the offending part); *out is untouched on failure.
 */
int output_split_parse(struct output_split_spec *out, const char *s,
                       struct ms_error *err) MS_MUST_CHECK;

/* Validates a spec built by hand. Returns 0 or MS_EUSAGE. */
int output_split_check(const struct output_split_spec *spec, struct ms_error *err) MS_MUST_CHECK;

/*
 * The keyed hash behind every assignment: HMAC-SHA-256 with the seed written
 * in decimal ASCII as key and the group key bytes as message, so that
 * anyone can recompute it, e.g. in Python:
 *   hmac.new(str(seed).encode(), key, hashlib.sha256).digest()
 * output_split_unit maps its first 8 bytes (big-endian, top 53 bits) to a
 * double uniform in [0, 1).
 */
void output_split_hash(unsigned char out[32], uint64_t seed, const char *key, size_t len);
double output_split_unit(uint64_t seed, const char *key, size_t len);

/*
 * Returns the split of a group: the first split (train, validation, test
 * order, skipping zero ratios) whose cumulative ratio exceeds the group's
 * unit value. Same key and seed always give the same split, whatever the
 * input order or shard. spec must be valid (output_split_check).
 */
enum output_split output_split_assign(const struct output_split_spec *spec, uint64_t seed,
                                      const char *key, size_t len);

/*
 * Group k-fold: a share holdout of the groups (unit value < holdout) forms a
 * fixed test set; every other group gets fold = (bytes 8..15 of the hash,
 * big-endian) mod k, so folds are independent of the hold-out decision.
 * 2 <= k <= OUTPUT_KFOLD_MAX, 0 <= holdout < 1.
 */
struct output_kfold {
	unsigned k;
	double holdout;
};

#define OUTPUT_KFOLD_MAX    100u
#define OUTPUT_FOLD_HOLDOUT UINT32_MAX

/* Validates k and holdout. Returns 0 or MS_EUSAGE. */
int output_kfold_check(const struct output_kfold *kf, struct ms_error *err) MS_MUST_CHECK;

/* Returns the fold in [0, k) or OUTPUT_FOLD_HOLDOUT. kf must be valid. */
uint32_t output_kfold_assign(const struct output_kfold *kf, uint64_t seed, const char *key,
                             size_t len);

/* ---- deduplication -------------------------------------------------------- */

/*
 * An exact set of example fingerprints: the first 128 bits of SHA-256 over
 * every non-system turn (role, then text with whitespace runs collapsed to
 * one space and trimmed). Memory: 16 bytes per distinct example at a load
 * factor of at most 1/2, plus one scratch buffer.
 */
struct output_dedup;

#define OUTPUT_DEDUP_KEY_LEN 16

int output_dedup_new(struct output_dedup **out, struct ms_error *err) MS_MUST_CHECK;
void output_dedup_free(struct output_dedup *d);

/*
 * Computes the fingerprint of ex (its turns must be well formed). Returns 0
 * or MS_ENOMEM; scratch is reset and reused.
 */
int output_dedup_key(unsigned char out[OUTPUT_DEDUP_KEY_LEN], struct ms_buf *scratch,
                     const struct output_example *ex) MS_MUST_CHECK;

/*
 * Adds ex's fingerprint; *seen_out is true if it was already present (the
 * set is then unchanged). Returns 0 or MS_ENOMEM (set unchanged).
 */
int output_dedup_insert(bool *seen_out, struct output_dedup *d, const struct output_example *ex,
                        struct ms_error *err) MS_MUST_CHECK;

/* Number of distinct fingerprints held. */
size_t output_dedup_size(const struct output_dedup *d);

/*
 * True if s is its own normal form for deduplication: no byte below 0x20
 * (so no tab, line feed, vertical tab, form feed or carriage return), no
 * space at either end, no two spaces in a row. Conservative: a text with
 * another control byte is reported as not normal although normalising
 * leaves it unchanged, so callers take their exact (slower) path for it.
 */
bool output_text_is_normal(const char *s, size_t len);

/*
 * Appends s with its whitespace runs (space, \t, \n, \v, \f, \r) collapsed
 * to one space and both ends trimmed: the form duplicates are compared in.
 * Errors stay in b's sticky status.
 */
void output_text_normalise(struct ms_buf *b, const char *s, size_t len);

/* ---- dataset folders ---------------------------------------------------- */

enum output_compress {
	OUTPUT_COMPRESS_NONE = 0,
	OUTPUT_COMPRESS_GZIP /* data/<split>.jsonl.gz, needs a zlib build */
};

/* "none", "gz"; NULL if unknown. */
const char *output_compress_name(enum output_compress c);
/* Parses "none" or "gz". MS_EINVAL if unknown. */
int output_compress_parse(enum output_compress *out, const char *name,
                          struct ms_error *err) MS_MUST_CHECK;
/* True if this build can write c (gzip needs zlib). */
bool output_compress_available(enum output_compress c);

/* A source the dataset was built from, recorded in the manifest and card. */
struct output_source {
	const char *name;    /* e.g. "ICD-10-GM" */
	const char *version; /* e.g. "2025" */
	const char *sha256;  /* hex digest of the input file, may be NULL */
};

/* Dataset card content supplied by the caller (all may be NULL). */
struct output_card {
	const char *pretty_name;  /* title; default: the folder name */
	const char *description;  /* Markdown paragraph(s) */
	const char *language;     /* BCP-47; default "de" */
	const char *license;      /* Hugging Face licence id; default "other" */
	const char *license_name; /* for license "other" */
	const char *license_link;
	const char *attribution;            /* Markdown; e.g. the BfArM/WHO notice */
	const char *const *task_categories; /* default: text-generation */
	size_t n_task_categories;
	const char *const *tags;
	size_t n_tags;
};

/*
 * Options of a dataset writer. Strings and arrays are borrowed until
 * output_dataset_commit/abort/free returns.
 *   split      ratio mode (kfold.k == 0): one file per split
 *   kfold      kfold.k > 0: group k-fold; files data/fold-<i>.jsonl plus
 *              data/test.jsonl for the hold-out share
 *   created    timestamp for manifest.json; NULL = none, so output stays
 *              reproducible (see output_epoch_format for SOURCE_DATE_EPOCH)
 *   name       prefix of the LLaMA-Factory dataset names; default "medsft"
 *   keep_duplicates  skip deduplication
 */
struct output_dataset_options {
	enum output_format format;
	unsigned record_flags; /* enum output_record_flags */
	enum output_compress compress;
	uint64_t seed;
	struct output_split_spec split;
	struct output_kfold kfold;
	bool keep_duplicates;
	const char *created;
	const char *name;
	const struct output_source *sources;
	size_t n_sources;
	struct output_card card;
	/*
	 * Called once while stats.json is written, inside its top-level object
	 * after the standard keys, to add the caller's own keys (e.g. label
	 * distributions per fold); may be NULL.
	 */
	void (*stats_extra)(struct ms_json *j, void *payload);
	void *stats_payload;
};

#define OUTPUT_DATASET_OPTIONS_INIT                                                  \
	{                                                                            \
		.format = OUTPUT_FORMAT_MESSAGES, .split = OUTPUT_SPLIT_SPEC_DEFAULT \
	}

/* A name and a count (split, task or catalogue system). */
struct output_count {
	const char *name;
	uint64_t n;
};

/*
 * Length distribution in characters (code points). Percentiles are
 * nearest-rank; exact below 2048 characters, above that the lower bound of a
 * bucket 1/1024 wide (relative), so memory does not grow with the count.
 */
struct output_length_stats {
	uint64_t min, p50, p90, max;
	double mean;
};

/*
 * Counts of a dataset writer. parts lists the files in their fixed order
 * (train, validation, test; or fold-0 .. fold-<k-1>, test), including empty
 * ones; tasks and systems are sorted bytewise by name. question_chars sums
 * the user turns of an example, answer_chars its assistant turns.
 */
struct output_stats {
	uint64_t n_examples;   /* written */
	uint64_t n_duplicates; /* dropped by deduplication */
	const struct output_count *parts;
	size_t n_parts;
	const struct output_count *tasks;
	size_t n_tasks;
	const struct output_count *systems;
	size_t n_systems;
	struct output_length_stats question_chars;
	struct output_length_stats answer_chars;
};

struct output_dataset;

/*
 * Opens a writer on dir, which must not exist (it is created; its parent
 * must exist) or be an empty directory. Split files are written as the
 * examples arrive, to temporary files in dir/data; nothing has its final
 * name before output_dataset_commit.
 * Returns 0, MS_EUSAGE (invalid options, e.g. ratios, k, gzip without zlib),
 * MS_EEXISTS (dir not empty or not a directory), MS_EIO or MS_ENOMEM.
 */
int output_dataset_open(struct output_dataset **out, const char *dir,
                        const struct output_dataset_options *opts,
                        struct ms_error *err) MS_MUST_CHECK;

/*
 * Validates, deduplicates, assigns and writes one example. A duplicate is
 * counted and dropped (returns 0). MS_EINVAL, MS_EUNICODE and MS_ETOOBIG
 * (a record over 64 MiB) reject only this example (err has its 1-based
 * number and id); MS_EIO and MS_ENOMEM fail the writer: every later call
 * returns the same code and the caller should abort or free.
 */
int output_dataset_add(struct output_dataset *ds, const struct output_example *ex,
                       struct ms_error *err) MS_MUST_CHECK;

/*
 * output_dataset_add for a caller that already knows whether ex repeats an
 * earlier example by the writer's rule (the same user and assistant turns
 * after output_text_normalise) and keeps that set itself, so the writer
 * keeps none: seen says ex is a repeat, which is validated and formatted
 * like any example, then counted and dropped. With keep_duplicates seen is
 * ignored. A writer takes either this or output_dataset_add, never both:
 * mixing them is MS_EUSAGE (the writer's set would miss examples).
 */
int output_dataset_add_deduped(struct output_dataset *ds, const struct output_example *ex,
                               bool seen, struct ms_error *err) MS_MUST_CHECK;

/*
 * Renames the split files into place (empty splits get no file), then
 * writes stats.json, dataset_info.json (not for prompt-completion or gzip:
 * LLaMA-Factory has no mapping for the former and picks its loader from the
 * last file extension), README.md and, last, manifest.json. On failure
 * everything this writer created is removed again. Returns 0, MS_EIO,
 * MS_ENOMEM, or the writer's earlier failure.
 */
int output_dataset_commit(struct output_dataset *ds, struct ms_error *err) MS_MUST_CHECK;

/*
 * Discards everything written so far: temporary files, and dir and dir/data
 * if this writer created them. Safe after commit (no-op) and on NULL.
 */
void output_dataset_abort(struct output_dataset *ds);

/*
 * Current counts (final after commit). Borrowed: valid until the next add
 * or commit, or free. Returns NULL only for NULL ds.
 */
const struct output_stats *output_dataset_stats(struct output_dataset *ds);

/* Aborts if neither committed nor aborted, then frees. Accepts NULL. */
void output_dataset_free(struct output_dataset *ds);

/*
 * Formats a SOURCE_DATE_EPOCH value (decimal seconds since 1970, UTC) as
 * "YYYY-MM-DDTHH:MM:SSZ" into out, for output_dataset_options.created.
 * Returns 0 or MS_EINVAL (not a non-negative decimal number or after 9999).
 */
#define OUTPUT_TIMESTAMP_SIZE 21
int output_epoch_format(char out[OUTPUT_TIMESTAMP_SIZE], const char *epoch,
                        struct ms_error *err) MS_MUST_CHECK;

/* ---- stratified group assignment ------------------------------------------ */

/*
 * Iterative stratification for multi-label data (Sechidis, Tsoumakas and
 * Vlahavas 2011), adapted to groups: whole groups (patients) are assigned,
 * so no group is in two parts, while every label's examples are spread over
 * the parts in proportion to their ratios as far as the groups allow.
 *
 * A group carries its number of examples and, per label it has, the number
 * of its examples with that label. Labels are dense indexes [0, n_labels).
 * Algorithm: while groups are unassigned, take the label with the fewest
 * unassigned examples (ties: lower index); assign each unassigned group
 * holding it, largest first, to the part that still wants the most examples
 * of that label (ties: the part that wants the most examples overall, then a
 * seeded hash of group and part, so that ties do not all land in part 0);
 * then lower that part's wants by the group's counts. Groups without labels
 * go last, to the part that wants the most examples. Wants start at
 * ratio * total and may go negative.
 */
struct output_strat_group {
	const uint32_t *labels; /* distinct label indexes */
	const uint32_t *counts; /* examples of the group with labels[i] */
	size_t n_labels;
	uint32_t n_examples;
	uint64_t order; /* tie-break key, e.g. a hash of the group id */
};

/*
 * Assigns every group a part in [0, n_parts): part_out[i] for groups[i].
 * ratios (n_parts entries, each >= 0, sum 1 within 1e-9) are the shares of
 * examples each part should get. Deterministic for equal inputs and seed.
 * Returns 0, MS_EUSAGE (bad ratios, a label index >= n_labels) or
 * MS_ENOMEM.
 */
int output_stratify(uint32_t *part_out, const struct output_strat_group *groups, size_t n_groups,
                    size_t n_labels, const double *ratios, size_t n_parts, uint64_t seed,
                    struct ms_error *err) MS_MUST_CHECK;

/* ---- near-duplicates: MinHash and LSH -------------------------------------- */

/*
 * MinHash signatures over word 3-shingles of a text folded by the caller
 * (case, accents, whitespace: ms_fold_append). Words are maximal runs of
 * bytes that are not ASCII blanks or punctuation (so UTF-8 letters stay in
 * words); texts of fewer than 3 words are one shingle of all their words.
 * Each of OUTPUT_MINHASH_PERM values is the minimum over the shingles of a
 * 64-bit mix of the shingle hash with a per-position seed, truncated to 32
 * bits. The share of equal positions of two signatures estimates the
 * Jaccard similarity of their shingle sets.
 */
#define OUTPUT_MINHASH_PERM 64

void output_minhash(uint32_t out[OUTPUT_MINHASH_PERM], const char *s, size_t len, uint64_t seed);

/* Share of equal positions, in [0, 1]. */
double output_minhash_similarity(const uint32_t a[OUTPUT_MINHASH_PERM],
                                 const uint32_t b[OUTPUT_MINHASH_PERM]);

/*
 * An LSH index over signatures: b bands of r rows (b * r <= PERM), chosen
 * for a Jaccard threshold t so that (1/b)^(1/r) is closest to t, which puts
 * the steep part of the candidate probability 1 - (1 - s^r)^b at t.
 * Candidates are confirmed by the signature similarity >= t, so the index
 * answers "is there a stored signature at least t similar to this one".
 * Memory: 16 + 4 * bands bytes per item plus a table of 8-byte buckets, at most
 * 70 % full, for the distinct band values; signatures are borrowed.
 */
struct output_lsh;

/* 0 < threshold <= 1. Returns 0, MS_EUSAGE or MS_ENOMEM. */
int output_lsh_new(struct output_lsh **out, double threshold, struct ms_error *err) MS_MUST_CHECK;
void output_lsh_free(struct output_lsh *l);

/* The bands and rows chosen. */
void output_lsh_shape(const struct output_lsh *l, unsigned *bands_out, unsigned *rows_out);

/*
 * Stores sig under item (any caller number). sig is borrowed: it must stay
 * valid and unchanged as long as the index is used (the signatures of a
 * dataset live in one array of the caller, so they are not copied). Returns 0, MS_ENOMEM
 * or MS_ETOOBIG (2^32 - 1 signatures); the index is unchanged on failure.
 */
int output_lsh_insert(struct output_lsh *l, const uint32_t sig[OUTPUT_MINHASH_PERM],
                      uint64_t item) MS_MUST_CHECK;

/*
 * Looks for a stored signature at least threshold similar to sig, newest
 * first in each band's bucket, band by band. Returns true and sets
 * *item_out (may be NULL) to the first one found, false if none. At most
 * OUTPUT_LSH_SCAN_MAX bucket mates are compared per band, so a bucket
 * flooded by thousands of dissimilar texts that share one band cannot make
 * queries quadratic; a true near-duplicate then still has the other bands.
 */
#define OUTPUT_LSH_SCAN_MAX 256

bool output_lsh_query(const struct output_lsh *l, const uint32_t sig[OUTPUT_MINHASH_PERM],
                      uint64_t *item_out);

/* Number of stored signatures. */
size_t output_lsh_size(const struct output_lsh *l);

#endif
