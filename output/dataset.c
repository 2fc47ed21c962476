/* SPDX-License-Identifier: MIT */
/*
 * The dataset folder writer: streams examples into per-split temporary
 * files, and on commit puts them in place and writes the metadata files.
 *
 * Memory stays flat: one reusable record buffer, the length histograms
 * (bounded by the longest text) and the name counters (bounded by
 * OUTPUT_COUNTER_MAX); only the duplicate set grows with the input.
 *
 * All-or-nothing: the folder must be new or empty, so a failed commit or an
 * abort can remove everything this writer created without touching anyone
 * else's files; manifest.json is written last and marks a complete dataset.
 */
#include "output/output.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/hash.h"
#include "output/output_int.h"

static const char *const meta_names[OUTPUT_META_MAX] = {
	[OUTPUT_META_STATS] = "stats.json",
	[OUTPUT_META_DATASET_INFO] = "dataset_info.json",
	[OUTPUT_META_README] = "README.md",
	[OUTPUT_META_MANIFEST] = "manifest.json",
};

const char *output_meta_file_name(enum output_meta_file f)
{
	return meta_names[f];
}

static int check_options(const struct output_dataset_options *o, struct ms_error *err)
{
	if (!output_format_name(o->format))
		return ms_error_set(err, MS_EUSAGE, "unknown record format %d", (int)o->format);
	if (!output_compress_name(o->compress))
		return ms_error_set(err, MS_EUSAGE, "unknown compression %d", (int)o->compress);
	if (!output_compress_available(o->compress))
		return ms_error_set(err, MS_EUSAGE,
		                    "compression '%s' is not available in this build",
		                    output_compress_name(o->compress));
	if (o->n_sources > 0 && !o->sources)
		return ms_error_set(err, MS_EUSAGE, "%zu sources but no array", o->n_sources);
	if (o->kfold.k > 0)
		return output_kfold_check(&o->kfold, err);
	return output_split_check(&o->split, err);
}

static char *path_join(const char *a, const char *b)
{
	struct ms_buf p = MS_BUF_INIT;

	ms_buf_adds(&p, a);
	ms_buf_addch(&p, '/');
	ms_buf_adds(&p, b);
	return ms_buf_detach(&p, NULL);
}

static int dir_is_empty(bool *empty_out, const char *dir, struct ms_error *err)
{
	DIR *d = opendir(dir);
	const struct dirent *e;

	*empty_out = true;
	if (!d) {
		ms_error_set_path(err, dir);
		return ms_error_set(err, MS_EIO, "cannot open directory: %s", strerror(errno));
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			*empty_out = false;
			break;
		}
	}
	closedir(d);
	return 0;
}

static int make_dirs(struct output_dataset *ds, struct ms_error *err)
{
	struct stat st;
	bool empty;
	int rc;

	if (stat(ds->dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			ms_error_set_path(err, ds->dir);
			return ms_error_set(err, MS_EEXISTS, "exists and is not a directory");
		}
		rc = dir_is_empty(&empty, ds->dir, err);
		if (rc < 0)
			return rc;
		if (!empty) {
			ms_error_set_path(err, ds->dir);
			return ms_error_set(err, MS_EEXISTS, "dataset directory is not empty");
		}
	} else if (errno == ENOENT) {
		if (mkdir(ds->dir, 0777) != 0) {
			ms_error_set_path(err, ds->dir);
			return ms_error_set(err, MS_EIO, "cannot create directory: %s",
			                    strerror(errno));
		}
		ds->created_dir = true;
	} else {
		ms_error_set_path(err, ds->dir);
		return ms_error_set(err, MS_EIO, "cannot access: %s", strerror(errno));
	}
	if (mkdir(ds->data_dir, 0777) != 0) {
		ms_error_set_path(err, ds->data_dir);
		return ms_error_set(err, MS_EIO, "cannot create directory: %s", strerror(errno));
	}
	ds->created_data_dir = true;
	return 0;
}

static int make_parts(struct output_dataset *ds, struct ms_error *err)
{
	const char *ext = ds->opts.compress == OUTPUT_COMPRESS_GZIP ? ".jsonl.gz" : ".jsonl";
	size_t i;

	size_t n = ds->kfold ? (size_t)ds->opts.kfold.k + 1 : OUTPUT_SPLIT_MAX - 1;

	ds->parts = ms_calloc(n, sizeof(*ds->parts));
	ds->part_counts = ms_calloc(n, sizeof(*ds->part_counts));
	if (!ds->parts || !ds->part_counts)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	/* only now: cleanup walks n_parts entries of parts */
	ds->n_parts = n;
	for (i = 0; i < ds->n_parts; i++) {
		struct output_part *p = &ds->parts[i];
		struct ms_buf rel = MS_BUF_INIT;

		if (!ds->kfold)
			snprintf(p->name, sizeof(p->name), "%s",
			         output_split_name((enum output_split)(OUTPUT_SPLIT_TRAIN + i)));
		else if (i < ds->opts.kfold.k)
			snprintf(p->name, sizeof(p->name), "fold-%zu", i);
		else
			snprintf(p->name, sizeof(p->name), "test");
		ms_buf_addf(&rel, "data/%s%s", p->name, ext);
		p->rel_path = ms_buf_detach(&rel, NULL);
		if (!p->rel_path)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		p->path = path_join(ds->dir, p->rel_path);
		if (!p->path)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	return 0;
}

int output_dataset_open(struct output_dataset **out, const char *dir,
                        const struct output_dataset_options *opts, struct ms_error *err)
{
	struct output_dataset *ds = NULL;
	size_t len;
	int rc;

	*out = NULL;
	rc = check_options(opts, err);
	if (rc < 0)
		goto out;
	if (ms_hash_init() != 0) {
		rc = ms_error_set(err, MS_EIO, "cannot initialise hashing");
		goto out;
	}
	ds = ms_calloc(1, sizeof(*ds));
	if (!ds) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	ds->opts = *opts;
	ds->kfold = opts->kfold.k > 0;
	ms_buf_init(&ds->rec, OUTPUT_RECORD_MAX);
	ms_buf_init(&ds->last_key, 0);
	/* "out/ds/" and "out/ds" are the same folder; keep "/" itself */
	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	ds->dir = ms_strndup(dir, len);
	ds->data_dir = ds->dir ? path_join(ds->dir, "data") : NULL;
	if (!ds->data_dir) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	rc = make_parts(ds, err);
	if (rc < 0)
		goto out;
	if (!opts->keep_duplicates) {
		rc = output_dedup_new(&ds->dedup, err);
		if (rc < 0)
			goto out;
	}
	/* last, so that failures before it leave the file system untouched */
	rc = make_dirs(ds, err);
out:
	if (rc < 0) {
		output_dataset_free(ds);
		return rc;
	}
	*out = ds;
	return 0;
}

/* The part an example goes to: override, or keyed hash of its group. */
static struct output_part *choose_part(struct output_dataset *ds, const struct output_example *ex)
{
	const char *key = ex->group && ex->group[0] ? ex->group : ex->id;
	size_t len = strlen(key);
	enum output_split split = ex->split;
	uint32_t fold;

	if (!ds->kfold) {
		if (split != OUTPUT_SPLIT_NONE)
			return &ds->parts[split - OUTPUT_SPLIT_TRAIN];
		if (ds->last_key.len == len && ds->last_split != OUTPUT_SPLIT_NONE &&
		    memcmp(ds->last_key.buf, key, len) == 0)
			return &ds->parts[ds->last_split - OUTPUT_SPLIT_TRAIN];
		split = output_split_assign(&ds->opts.split, ds->opts.seed, key, len);
		ms_buf_reset(&ds->last_key);
		ds->last_split = ms_buf_add(&ds->last_key, key, len) ? OUTPUT_SPLIT_NONE : split;
		return &ds->parts[split - OUTPUT_SPLIT_TRAIN];
	}
	if (split == OUTPUT_SPLIT_TEST)
		return &ds->parts[ds->opts.kfold.k];
	if (ex->fold_forced && ex->fold < ds->opts.kfold.k)
		return &ds->parts[ex->fold];
	if (split == OUTPUT_SPLIT_NONE) {
		fold = output_kfold_assign(&ds->opts.kfold, ds->opts.seed, key, len);
	} else {
		/* forced into training: the fold it would have had without hold-out */
		struct output_kfold no_holdout = { ds->opts.kfold.k, 0.0 };

		fold = output_kfold_assign(&no_holdout, ds->opts.seed, key, len);
	}
	if (fold == OUTPUT_FOLD_HOLDOUT)
		return &ds->parts[ds->opts.kfold.k];
	return &ds->parts[fold];
}

static int count_lengths(struct output_dataset *ds, const struct output_example *ex)
{
	struct output_turn tmp[2];
	const struct output_turn *turns;
	uint64_t q = 0, a = 0;
	size_t n, i;

	n = output_example_turns(&turns, tmp, ex);
	for (i = 0; i < n; i++) {
		if (turns[i].role == OUTPUT_ROLE_USER)
			q += output_utf8_chars(turns[i].text, turns[i].len);
		else
			a += output_utf8_chars(turns[i].text, turns[i].len);
	}
	if (output_hist_add(&ds->question, q) || output_hist_add(&ds->answer, a))
		return MS_ENOMEM;
	return 0;
}

/* Whether ex is a duplicate: by the writer's set, or as the caller said. */
static int is_duplicate(bool *seen_out, struct output_dataset *ds, const struct output_example *ex,
                        enum output_dedup_owner by, bool caller_seen, struct ms_error *err)
{
	*seen_out = false;
	if (!ds->dedup)
		return 0;
	if (by == OUTPUT_DEDUP_CALLER) {
		*seen_out = caller_seen;
		return 0;
	}
	return output_dedup_insert(seen_out, ds->dedup, ex, err);
}

/* output_dataset_add and output_dataset_add_deduped; by says which. */
static int add(struct output_dataset *ds, const struct output_example *ex,
               enum output_dedup_owner by, bool caller_seen, struct ms_error *err)
{
	struct output_part *part;
	bool seen = false;
	int rc;

	if (ds->status)
		return ms_error_set(err, ds->status, "dataset writer failed earlier");
	if (ds->state != OUTPUT_DS_OPEN)
		return ms_error_set(err, MS_EUSAGE, "dataset is already committed or aborted");
	if (ds->dedup_by != by && ds->dedup_by != OUTPUT_DEDUP_UNDECIDED)
		return ms_error_set(err, MS_EUSAGE,
		                    "duplicates are decided by the %s: cannot also add by the %s",
		                    ds->dedup_by == OUTPUT_DEDUP_CALLER ? "caller" : "writer",
		                    by == OUTPUT_DEDUP_CALLER ? "caller" : "writer");
	ds->dedup_by = by;
	ds->n_added++;
	ms_buf_reset(&ds->rec);
	rc = output_record_append(&ds->rec, ex, ds->opts.format, ds->opts.record_flags, err);
	if (rc < 0) {
		/* a bad example is rejected alone; running out of memory is not its fault */
		ms_error_set_record(err, (size_t)ds->n_added);
		if (rc == MS_ENOMEM)
			ds->status = rc;
		return rc;
	}
	rc = is_duplicate(&seen, ds, ex, by, caller_seen, err);
	if (rc < 0)
		goto fail;
	if (seen) {
		ds->n_duplicates++;
		return 0;
	}
	part = choose_part(ds, ex);
	if (!part->open) {
		rc = output_sink_open(&part->sink, part->path, ds->opts.compress, err);
		if (rc < 0)
			goto fail;
		part->open = true;
	}
	rc = output_sink_write(&part->sink, ds->rec.buf, ds->rec.len);
	if (rc < 0) {
		ms_error_set_path(err, part->path);
		rc = ms_error_set(err, rc, "cannot write: %s", ms_status_str(rc));
		goto fail;
	}
	part->records++;
	ds->n_examples++;
	rc = output_counter_add(&ds->tasks, ex->task ? ex->task : "", err);
	if (rc == 0)
		rc = output_counter_add(&ds->systems, ex->catalog_system ? ex->catalog_system : "",
		                        err);
	if (rc == 0) {
		rc = count_lengths(ds, ex);
		if (rc < 0)
			ms_error_set(err, rc, "out of memory");
	}
	if (rc < 0)
		goto fail;
	return 0;
fail:
	ds->status = rc;
	ms_error_set_record(err, (size_t)ds->n_added);
	return rc;
}

int output_dataset_add(struct output_dataset *ds, const struct output_example *ex,
                       struct ms_error *err)
{
	return add(ds, ex, OUTPUT_DEDUP_WRITER, false, err);
}

int output_dataset_add_deduped(struct output_dataset *ds, const struct output_example *ex,
                               bool seen, struct ms_error *err)
{
	return add(ds, ex, OUTPUT_DEDUP_CALLER, seen, err);
}

/* Removes everything this writer created; leaves the state ABORTED. */
static void rollback(struct output_dataset *ds)
{
	size_t i;
	int f;
	char *path;

	for (i = 0; i < ds->n_parts; i++) {
		struct output_part *p = &ds->parts[i];

		if (p->open)
			output_sink_abort(&p->sink);
		p->open = false;
		if (p->placed)
			unlink(p->path);
		p->placed = false;
	}
	for (f = 0; f < OUTPUT_META_MAX; f++) {
		if (!ds->meta_written[f])
			continue;
		/* allocation may fail here: fall back to a fixed buffer */
		path = path_join(ds->dir, meta_names[f]);
		if (path) {
			unlink(path);
			ms_free(path);
		} else {
			char tmp[4096];

			if ((size_t)snprintf(tmp, sizeof(tmp), "%s/%s", ds->dir, meta_names[f]) <
			    sizeof(tmp))
				unlink(tmp);
		}
		ds->meta_written[f] = false;
	}
	if (ds->created_data_dir && ds->data_dir)
		rmdir(ds->data_dir);
	ds->created_data_dir = false;
	if (ds->created_dir && ds->dir)
		rmdir(ds->dir);
	ds->created_dir = false;
	ds->state = OUTPUT_DS_ABORTED;
}

/* sha256 and size of a placed file, as its sink saw the bytes go out. */
static void fingerprint(struct output_part *p)
{
	memcpy(p->sha256, p->sink.sha256, sizeof(p->sha256));
	p->bytes = p->sink.bytes;
}

typedef void (*meta_writer_fn)(struct ms_buf *out, struct output_dataset *ds);

static void dataset_info_writer(struct ms_buf *out, struct output_dataset *ds)
{
	output_dataset_info_json(out, ds);
}

static int write_meta(struct output_dataset *ds, enum output_meta_file f, meta_writer_fn fn,
                      struct ms_error *err)
{
	struct ms_buf content = MS_BUF_INIT;
	char *path = NULL;
	int rc;

	fn(&content, ds);
	rc = ms_buf_status(&content);
	if (rc < 0) {
		rc = ms_error_set(err, rc, "cannot build '%s': %s", meta_names[f],
		                  ms_status_str(rc));
		goto out;
	}
	path = path_join(ds->dir, meta_names[f]);
	if (!path) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	rc = ms_file_write_atomic(path, content.buf, content.len, 0644, err);
	if (rc < 0)
		goto out;
	ds->meta_written[f] = true;
out:
	ms_free(path);
	ms_buf_release(&content);
	return rc;
}

int output_dataset_commit(struct output_dataset *ds, struct ms_error *err)
{
	bool any = false;
	size_t i;
	int rc = 0;

	if (ds->state != OUTPUT_DS_OPEN)
		return ms_error_set(err, MS_EUSAGE, "dataset is already committed or aborted");
	if (ds->status) {
		rc = ms_error_set(err, ds->status, "dataset writer failed earlier");
		goto out;
	}
	for (i = 0; i < ds->n_parts; i++) {
		struct output_part *p = &ds->parts[i];

		if (!p->open)
			continue;
		p->open = false;
		rc = output_sink_commit(&p->sink, err);
		if (rc < 0)
			goto out;
		p->placed = true;
		any = true;
		fingerprint(p);
	}
	if (!any && ds->created_data_dir) {
		/* no example at all: leave no empty data/ behind */
		rmdir(ds->data_dir);
		ds->created_data_dir = false;
	}
	rc = write_meta(ds, OUTPUT_META_STATS, output_stats_json, err);
	if (rc == 0 && output_dataset_info_wanted(ds))
		rc = write_meta(ds, OUTPUT_META_DATASET_INFO, dataset_info_writer, err);
	if (rc == 0)
		rc = write_meta(ds, OUTPUT_META_README, output_card_markdown, err);
	if (rc == 0)
		rc = write_meta(ds, OUTPUT_META_MANIFEST, output_manifest_json, err);
	if (rc < 0)
		goto out;
	ds->state = OUTPUT_DS_COMMITTED;
out:
	if (rc < 0) {
		ds->status = rc;
		rollback(ds);
	}
	return rc;
}

void output_dataset_abort(struct output_dataset *ds)
{
	if (!ds || ds->state != OUTPUT_DS_OPEN)
		return;
	rollback(ds);
}

const struct output_stats *output_dataset_stats(struct output_dataset *ds)
{
	if (!ds)
		return NULL;
	return output_stats_refresh(ds);
}

void output_dataset_free(struct output_dataset *ds)
{
	size_t i;

	if (!ds)
		return;
	output_dataset_abort(ds);
	if (ds->parts) {
		for (i = 0; i < ds->n_parts; i++) {
			ms_free(ds->parts[i].rel_path);
			ms_free(ds->parts[i].path);
		}
	}
	ms_free(ds->parts);
	ms_free(ds->part_counts);
	output_dedup_free(ds->dedup);
	ms_buf_release(&ds->rec);
	ms_buf_release(&ds->last_key);
	output_counter_release(&ds->tasks);
	output_counter_release(&ds->systems);
	output_hist_release(&ds->question);
	output_hist_release(&ds->answer);
	ms_free(ds->data_dir);
	ms_free(ds->dir);
	ms_free(ds);
}

int output_epoch_format(char out[OUTPUT_TIMESTAMP_SIZE], const char *epoch, struct ms_error *err)
{
	/* 9999-12-31T23:59:59Z: four-digit years keep the format fixed-width */
	const unsigned long long max = 253402300799ull;
	unsigned long long v;
	struct tm tm;
	time_t t;
	char *end;

	if (!epoch || !epoch[0] || strlen(epoch) > 20 ||
	    strspn(epoch, "0123456789") != strlen(epoch))
		return ms_error_set(err, MS_EINVAL, "timestamp '%.32s' is not a number of seconds",
		                    epoch ? epoch : "");
	errno = 0;
	v = strtoull(epoch, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return ms_error_set(err, MS_EINVAL, "timestamp '%.32s' is out of range", epoch);
	t = (time_t)v;
	if (!gmtime_r(&t, &tm) || strftime(out, OUTPUT_TIMESTAMP_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) !=
	                                  OUTPUT_TIMESTAMP_SIZE - 1)
		return ms_error_set(err, MS_EINVAL, "timestamp '%.32s' is out of range", epoch);
	return 0;
}
