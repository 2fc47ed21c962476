/* SPDX-License-Identifier: MIT */
/*
 * Private to output/: the dataset writer's state, shared by dataset.c
 * (streaming and commit), stats.c (counts and length histograms), card.c
 * (README.md and dataset_info.json) and sink.c (plain or gzip files).
 */
#ifndef MS_OUTPUT_OUTPUT_INT_H
#define MS_OUTPUT_OUTPUT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "output/output.h"

/* Records above this size are rejected with MS_ETOOBIG. */
#define OUTPUT_RECORD_MAX ((size_t)64 << 20)

/*
 * The turns of an example as one array: ex->turns, or the two-element array
 * tmp filled from user/assistant. Returns the count.
 */
size_t output_example_turns(const struct output_turn **turns_out, struct output_turn tmp[2],
                            const struct output_example *ex);

/* Number of code points in valid UTF-8. */
uint64_t output_utf8_chars(const char *s, size_t len);

/* ---- files ---- */

/*
 * A data file written through an ms_atomic_file, optionally gzip-compressed.
 * Errors are sticky; commit flushes the compressor and renames.
 */
struct output_sink {
	struct ms_atomic_file file;
	enum output_compress compress;
	void *z; /* struct z_stream_s * when compressing */
	unsigned char *zbuf;
	struct ms_sha256_stream hash; /* of the bytes written to the file */
	/* records are small: they are gathered here and hashed and written
	 * OUTPUT_SINK_BUF_SIZE bytes at a time */
	unsigned char *wbuf;
	size_t wlen;
	int status;
	/* set by a successful commit */
	char sha256[MS_SHA256_HEX_LEN + 1];
	uint64_t bytes;
};

int output_sink_open(struct output_sink *s, const char *path, enum output_compress compress,
                     struct ms_error *err) MS_MUST_CHECK;
int output_sink_write(struct output_sink *s, const void *data, size_t len);
int output_sink_commit(struct output_sink *s, struct ms_error *err) MS_MUST_CHECK;
void output_sink_abort(struct output_sink *s);

/* ---- statistics ---- */

/* Sparse-growing histogram of lengths; see struct output_length_stats. */
struct output_hist {
	uint64_t *bins;
	size_t n_bins;
	uint64_t n, min, max;
	double sum;
};

int output_hist_add(struct output_hist *h, uint64_t v) MS_MUST_CHECK;
void output_hist_summary(struct output_length_stats *out, const struct output_hist *h);
void output_hist_release(struct output_hist *h);

/* Name -> count, kept sorted by name; names are owned copies. */
struct output_counter {
	struct output_count *items;
	size_t n, alloc;
	size_t last; /* index of the name counted last (if n > 0) */
};

/* Distinct names per counter; more is MS_ETOOBIG (keeps memory flat). */
#define OUTPUT_COUNTER_MAX 4096

int output_counter_add(struct output_counter *c, const char *name,
                       struct ms_error *err) MS_MUST_CHECK;
void output_counter_release(struct output_counter *c);

/* ---- the writer ---- */

#define OUTPUT_PART_NAME_MAX 16

/* One output file (a split or a fold). */
struct output_part {
	char name[OUTPUT_PART_NAME_MAX]; /* "train", "fold-3", ... */
	char *rel_path;                  /* "data/train.jsonl" */
	char *path;                      /* dir + "/" + rel_path */
	struct output_sink sink;
	bool open;   /* temporary file exists */
	bool placed; /* renamed to path during commit */
	uint64_t records;
	uint64_t bytes;
	char sha256[MS_SHA256_HEX_LEN + 1];
};

/* Who decides on duplicates: not yet known, the writer's set, the caller. */
enum output_dedup_owner { OUTPUT_DEDUP_UNDECIDED = 0, OUTPUT_DEDUP_WRITER, OUTPUT_DEDUP_CALLER };

enum output_dataset_state { OUTPUT_DS_OPEN = 0, OUTPUT_DS_COMMITTED, OUTPUT_DS_ABORTED };

/* Metadata files written by commit, in writing order (manifest last). */
enum output_meta_file {
	OUTPUT_META_STATS = 0,
	OUTPUT_META_DATASET_INFO,
	OUTPUT_META_README,
	OUTPUT_META_MANIFEST,
	OUTPUT_META_MAX
};

struct output_dataset {
	char *dir;
	char *data_dir;
	struct output_dataset_options opts;
	bool kfold;
	struct output_part *parts;
	size_t n_parts;
	struct output_dedup *dedup;
	enum output_dedup_owner dedup_by;
	struct ms_buf rec;
	/* the split of the last group key: writers emit a group's examples
	 * together, and the keyed hash is the dearest part of choosing */
	struct ms_buf last_key;
	enum output_split last_split;
	uint64_t n_added; /* calls to add, for error record numbers */
	uint64_t n_examples;
	uint64_t n_duplicates;
	struct output_counter tasks;
	struct output_counter systems;
	struct output_hist question;
	struct output_hist answer;
	struct output_count *part_counts;
	struct output_stats stats;
	bool created_dir;
	bool created_data_dir;
	bool meta_written[OUTPUT_META_MAX];
	enum output_dataset_state state;
	int status; /* sticky failure */
};

/* Path of a metadata file relative to the dataset folder. */
const char *output_meta_file_name(enum output_meta_file f);

/* Appends stats.json (pretty, trailing newline). */
void output_stats_json(struct ms_buf *out, struct output_dataset *ds);
/* Appends manifest.json. */
void output_manifest_json(struct ms_buf *out, struct output_dataset *ds);
/* True if dataset_info.json is written for this writer's options. */
bool output_dataset_info_wanted(const struct output_dataset *ds);
/* Appends dataset_info.json (LLaMA-Factory). */
void output_dataset_info_json(struct ms_buf *out, const struct output_dataset *ds);
/* Appends README.md (Hugging Face dataset card). */
void output_card_markdown(struct ms_buf *out, struct output_dataset *ds);

/* Refreshes ds->stats from the accumulators and returns it. */
const struct output_stats *output_stats_refresh(struct output_dataset *ds);

#endif
