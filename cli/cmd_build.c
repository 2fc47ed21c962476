/* SPDX-License-Identifier: MIT */
/*
 * medsft build: the whole chain from one pipeline file (schemas/
 * pipeline.schema.json): catalogue import -> QA dataset -> de-identification
 * -> report datasets, through the library APIs, with a run manifest and
 * stage skipping.
 *
 * A stage is skipped when its fingerprint (tool version, the stage's
 * configuration as canonical JSON, the SHA-256 of every input file, and for
 * de-identification the key and detector fingerprints) equals the one the
 * previous run recorded in <workdir>/build-manifest.json and its outputs
 * still have the recorded hashes. Outputs appear atomically: files through
 * temp + rename, folders are built next to their final name and renamed.
 */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cli/build_int.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "common/json.h"
#include "datagen/datagen.h"
#include "output/output.h"

#ifndef MS_INSTALL_DATADIR
#define MS_INSTALL_DATADIR "/usr/local/share/medsft"
#endif

#define MAX_FILES    64
#define MANIFEST     "build-manifest.json"
#define PIPELINE_MAX ((size_t)1 << 20)
#define STAGE_IO_MAX (MAX_FILES + 4)

static const char usage[] =
        "usage: medsft build [-q] [--force] [--workdir DIR] PIPELINE.json\n"
        "\n"
        "Runs the chain a pipeline file describes (schemas/pipeline.schema.json):\n"
        "catalogue import -> QA dataset -> de-identification -> report datasets, and\n"
        "writes <workdir>/" MANIFEST " (stages, inputs and outputs with SHA-256,\n"
        "times). A stage whose inputs and configuration are unchanged since the last\n"
        "run, and whose outputs are intact, is skipped. Input paths in the pipeline\n"
        "are relative to the pipeline file; output paths to the work directory.\n"
        "\n"
        "  --force          run every stage\n"
        "  --workdir DIR    work directory (default: the pipeline's \"workdir\")\n"
        "  -q, --quiet      no per-stage lines and no summary\n"
        "\n"
        "exit codes: 0 success, 1 failure (the failing stage's outputs are left as\n"
        "they were), 2 usage error\n";

/* ---- paths and files ---- */

/* base + "/" + rel unless rel is absolute; heap string or NULL. */
static char *path_join(const char *base, const char *rel)
{
	struct ms_buf b = MS_BUF_INIT;

	if (!rel)
		return NULL;
	if (rel[0] == '/' || !base || !base[0] || !strcmp(base, "."))
		ms_buf_adds(&b, rel);
	else
		ms_buf_addf(&b, "%s/%s", base, rel);
	if (ms_buf_status(&b)) {
		ms_buf_release(&b);
		return NULL;
	}
	return ms_buf_detach(&b, NULL);
}

int build_remove_tree(const char *path)
{
	const struct dirent *e;
	struct stat sb;
	DIR *d;
	int rc = 0;

	if (lstat(path, &sb) != 0)
		return errno == ENOENT ? 0 : MS_EIO;
	if (!S_ISDIR(sb.st_mode))
		return remove(path) == 0 ? 0 : MS_EIO;
	d = opendir(path);
	if (!d)
		return MS_EIO;
	while (!rc && (e = readdir(d)) != NULL) {
		char *child;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		child = path_join(path, e->d_name);
		rc = child ? build_remove_tree(child) : MS_ENOMEM;
		ms_free(child);
	}
	closedir(d);
	if (!rc && rmdir(path) != 0)
		rc = MS_EIO;
	return rc;
}

int build_place_dir(const char *tmp, const char *dir, struct ms_error *err)
{
	struct ms_buf old = MS_BUF_INIT;
	struct stat sb;
	bool had = stat(dir, &sb) == 0;
	int rc = 0;

	ms_buf_addf(&old, "%s.old", dir);
	if (ms_buf_status(&old))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	if (had && (build_remove_tree(old.buf) || rename(dir, old.buf) != 0)) {
		ms_error_set_path(err, dir);
		rc = ms_error_set(err, MS_EIO, "cannot move the previous folder aside: %s",
		                  strerror(errno));
		goto out;
	}
	if (rename(tmp, dir) != 0) {
		ms_error_set_path(err, dir);
		rc = ms_error_set(err, MS_EIO, "cannot rename the new folder into place: %s",
		                  strerror(errno));
		if (had && rename(old.buf, dir) != 0)
			cli_warn("previous '%s' left as '%s'", dir, old.buf);
		goto out;
	}
	if (had)
		(void)build_remove_tree(old.buf);
out:
	ms_buf_release(&old);
	return rc;
}

/* mkdir -p for the workdir. */
static int make_dirs(const char *path, struct ms_error *err)
{
	char tmp[4096];
	size_t i, len = strlen(path);

	if (len >= sizeof(tmp))
		return ms_error_set(err, MS_EUSAGE, "path too long");
	memcpy(tmp, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
			ms_error_set_path(err, tmp);
			return ms_error_set(err, MS_EIO, "cannot create: %s", strerror(errno));
		}
		tmp[i] = path[i];
	}
	return 0;
}

/* ---- the pipeline file ---- */

/* Checks that o has only the listed keys; names the first other one. */
static int known_keys(const json_t *o, const char *where, const char *const *keys,
                      struct ms_error *err)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)o, k, v)
	{
		size_t i;
		bool ok = false;

		(void)v;
		for (i = 0; keys[i] && !ok; i++)
			ok = !strcmp(keys[i], k);
		if (!ok)
			return ms_error_set(err, MS_EINVAL, "%s: unknown key '%.40s'", where, k);
	}
	return 0;
}

static int get_str(const char **out, const json_t *o, const char *key, const char *where,
                   const char *def, struct ms_error *err)
{
	const json_t *v = json_object_get(o, key);

	*out = def;
	if (!v)
		return 0;
	if (!json_is_string(v) || !json_string_length(v))
		return ms_error_set(err, MS_EINVAL, "%s.%s must be a non-empty string", where, key);
	*out = json_string_value(v);
	return 0;
}

static int get_num(double *out, const json_t *o, const char *key, const char *where, double lo,
                   double hi, double def, struct ms_error *err)
{
	const json_t *v = json_object_get(o, key);

	*out = def;
	if (!v)
		return 0;
	if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)
		return ms_error_set(err, MS_EINVAL, "%s.%s must be a number from %g to %g", where,
		                    key, lo, hi);
	*out = json_number_value(v);
	return 0;
}

/* A whole number in [lo, hi] (JSON integers only: 2.5 folds is an error). */
static int get_int(double *out, const json_t *o, const char *key, const char *where, double lo,
                   double hi, double def, struct ms_error *err)
{
	const json_t *v = json_object_get(o, key);

	*out = def;
	if (!v)
		return 0;
	if (!json_is_integer(v) || (double)json_integer_value(v) < lo ||
	    (double)json_integer_value(v) > hi) {
		ms_error_set(err, MS_EINVAL, "%s.%s must be a whole number from %.0f to %.0f",
		             where, key, lo, hi);
		return MS_EINVAL;
	}
	*out = (double)json_integer_value(v);
	return 0;
}

static int get_bool(bool *out, const json_t *o, const char *key, const char *where, bool def,
                    struct ms_error *err)
{
	const json_t *v = json_object_get(o, key);

	*out = def;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return ms_error_set(err, MS_EINVAL, "%s.%s must be true or false", where, key);
	*out = json_is_true(v);
	return 0;
}

/* A non-empty array of non-empty strings, at most MAX_FILES. */
/* A non-empty array of non-empty strings, at most MAX_FILES. */
static int get_files(const char **out, size_t *n_out, const json_t *o, const char *key,
                     const char *where, struct ms_error *err)
{
	const json_t *a = json_object_get(o, key), *v;
	size_t i;

	*n_out = 0;
	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > MAX_FILES) {
		ms_error_set(err, MS_EINVAL, "%s.%s must be an array of 1 to %d file names", where,
		             key, MAX_FILES);
		return MS_EINVAL;
	}
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v) || !json_string_length(v)) {
			ms_error_set(err, MS_EINVAL, "%s.%s[%zu] must be a non-empty string", where,
			             key, i);
			return MS_EINVAL;
		}
		out[i] = json_string_value(v);
	}
	*n_out = json_array_size(a);
	return 0;
}

/* ---- stages: fingerprints and the manifest ---- */

struct stage_io {
	char *path; /* as used (joined) */
	char sha256[MS_SHA256_HEX_LEN + 1];
};

struct stage {
	const char *name;
	json_t *config; /* borrowed from the pipeline */
	struct stage_io in[STAGE_IO_MAX], out[4];
	size_t n_in, n_out;
	char extra[160]; /* key and detector fingerprints */
	char fingerprint[MS_SHA256_HEX_LEN + 1];
	const char *status; /* "ran", "skipped" */
	double seconds;
};

struct build {
	const char *pipeline_path;
	char *base; /* folder of the pipeline file */
	char *workdir;
	json_t *pipeline;
	json_t *previous; /* the last manifest, or NULL */
	uint64_t seed;
	bool force;
	struct stage stages[4];
	size_t n_stages;
	char *data_dir;
	char created[OUTPUT_TIMESTAMP_SIZE];
	bool have_created;
	struct build_deid *deid; /* while the deid stage runs */
};

static int add_io(struct stage_io *io, size_t *n, size_t cap, char *path, bool hash,
                  struct ms_error *err)
{
	int rc = 0;

	if (!path)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	if (*n == cap) {
		ms_free(path);
		return ms_error_set(err, MS_ETOOBIG, "too many files in one stage");
	}
	io[*n].path = path;
	io[*n].sha256[0] = '\0';
	(*n)++;
	if (hash) {
		rc = ms_sha256_file(io[*n - 1].sha256, path, err);
		if (rc)
			ms_error_set_path(err, path);
	}
	return rc;
}

static int stage_input(struct stage *s, char *path, struct ms_error *err)
{
	return add_io(s->in, &s->n_in, STAGE_IO_MAX, path, true, err);
}

static int stage_output(struct stage *s, char *path, struct ms_error *err)
{
	return add_io(s->out, &s->n_out, 4, path, false, err);
}

static void stage_fingerprint(struct stage *s, const struct build *b)
{
	unsigned char d[MS_SHA256_LEN];
	struct ms_buf m = MS_BUF_INIT;
	char *conf = json_dumps(s->config, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
	size_t i;

	ms_buf_addf(&m, "medsft-build-1\n%s\n%s\nseed %" PRIu64 "\n%s\n%s\n", s->name, MS_VERSION,
	            b->seed, conf ? conf : "", s->extra);
	free(conf);
	for (i = 0; i < s->n_in; i++)
		ms_buf_addf(&m, "in %s %s\n", s->in[i].path, s->in[i].sha256);
	for (i = 0; i < s->n_out; i++)
		ms_buf_addf(&m, "out %s\n", s->out[i].path);
	ms_sha256(d, m.buf, m.len);
	ms_hex(s->fingerprint, d, sizeof(d));
	ms_buf_release(&m);
}

/* SHA-256 of an output: the file, or a folder's manifest.json. */
static int output_hash(char out[MS_SHA256_HEX_LEN + 1], const char *path)
{
	struct stat sb;
	char *m;
	int rc;

	if (stat(path, &sb) != 0)
		return MS_ENOTFOUND;
	if (!S_ISDIR(sb.st_mode))
		return ms_sha256_file(out, path, NULL);
	m = path_join(path, "manifest.json");
	if (!m)
		return MS_ENOMEM;
	rc = ms_sha256_file(out, m, NULL);
	ms_free(m);
	return rc;
}

/* True if the previous run recorded this fingerprint and the outputs are intact. */
static bool can_skip(const struct build *b, struct stage *s)
{
	const json_t *stages = json_object_get(b->previous, "stages"), *st, *outs, *o;
	size_t i, j;

	if (b->force || !stages)
		return false;
	json_array_foreach(stages, i, st)
	{
		const char *name = json_string_value(json_object_get(st, "name"));
		const char *fp = json_string_value(json_object_get(st, "fingerprint"));

		if (!name || !fp || strcmp(name, s->name) != 0 || strcmp(fp, s->fingerprint) != 0)
			continue;
		outs = json_object_get(st, "outputs");
		if (json_array_size(outs) != s->n_out)
			return false;
		for (j = 0; j < s->n_out; j++) {
			const char *want;

			o = json_array_get(outs, j);
			want = json_string_value(json_object_get(o, "sha256"));
			if (!want || output_hash(s->out[j].sha256, s->out[j].path) != 0 ||
			    strcmp(want, s->out[j].sha256) != 0)
				return false;
		}
		return true;
	}
	return false;
}

static void io_json(struct ms_json *j, const char *key, const struct stage_io *io, size_t n)
{
	size_t i;

	ms_json_key(j, key);
	ms_json_arr_begin(j);
	for (i = 0; i < n; i++) {
		ms_json_obj_begin(j);
		ms_json_kstr(j, "path", io[i].path);
		ms_json_kstr(j, "sha256", io[i].sha256);
		ms_json_obj_end(j);
	}
	ms_json_arr_end(j);
}

static int write_manifest(const struct build *b, struct ms_error *err)
{
	struct ms_buf out = MS_BUF_INIT;
	struct ms_json j;
	char *path = path_join(b->workdir, MANIFEST);
	size_t i;
	int rc;

	if (!path)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	ms_json_init(&j, &out, true);
	ms_json_obj_begin(&j);
	ms_json_kstr(&j, "tool", "medsft");
	ms_json_kstr(&j, "tool_version", MS_VERSION);
	ms_json_kstr(&j, "pipeline", b->pipeline_path);
	ms_json_kstr(&j, "created", b->have_created ? b->created : NULL);
	ms_json_key(&j, "seed");
	ms_json_uint(&j, b->seed);
	ms_json_key(&j, "stages");
	ms_json_arr_begin(&j);
	for (i = 0; i < b->n_stages; i++) {
		const struct stage *s = &b->stages[i];

		ms_json_obj_begin(&j);
		ms_json_kstr(&j, "name", s->name);
		ms_json_kstr(&j, "status", s->status);
		ms_json_kstr(&j, "fingerprint", s->fingerprint);
		ms_json_key(&j, "seconds");
		ms_json_double(&j, (double)(int64_t)(s->seconds * 1000 + 0.5) / 1000);
		io_json(&j, "inputs", s->in, s->n_in);
		io_json(&j, "outputs", s->out, s->n_out);
		ms_json_obj_end(&j);
	}
	ms_json_arr_end(&j);
	ms_json_obj_end(&j);
	ms_buf_addch(&out, '\n');
	if (ms_buf_status(&out))
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	else
		rc = ms_file_write_atomic(path, out.buf, out.len, 0644, err);
	ms_buf_release(&out);
	ms_free(path);
	return rc;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- stage: catalogue import ---- */

static const char *const catalog_keys[] = { "files", "db", NULL };

static int catalog_plan(struct build *b, struct stage *s, struct ms_error *err)
{
	const char *files[MAX_FILES] = { NULL }, *db;
	size_t n = 0, i;
	int rc;

	rc = known_keys(s->config, "catalog", catalog_keys, err);
	if (!rc)
		rc = get_files(files, &n, s->config, "files", "catalog", err);
	if (!rc)
		rc = get_str(&db, s->config, "db", "catalog", "catalog.db", err);
	for (i = 0; !rc && i < n; i++)
		rc = stage_input(s, path_join(b->base, files[i]), err);
	if (!rc)
		rc = stage_output(s, path_join(b->workdir, db), err);
	return rc;
}

static int catalog_run(struct build *b, struct stage *s, struct ms_error *err)
{
	struct catalog_import_opts io;
	struct catalog_store *store = NULL;
	struct catalog_import_result *res = NULL;
	const char *paths[MAX_FILES];
	struct ms_buf tmp = MS_BUF_INIT;
	size_t i, n_res = 0;
	int rc;

	(void)b;
	memset(&io, 0, sizeof(io));
	for (i = 0; i < s->n_in; i++)
		paths[i] = s->in[i].path;
	ms_buf_addf(&tmp, "%s.tmp", s->out[0].path);
	if (ms_buf_status(&tmp))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	(void)remove(tmp.buf);
	rc = catalog_store_open(&store, tmp.buf, CATALOG_STORE_CREATE, err);
	if (!rc)
		rc = catalog_store_import(store, paths, s->n_in, &io, &res, &n_res, err);
	catalog_store_free(store);
	if (!rc && rename(tmp.buf, s->out[0].path) != 0) {
		ms_error_set_path(err, s->out[0].path);
		rc = ms_error_set(err, MS_EIO, "cannot rename into place: %s", strerror(errno));
	}
	if (rc)
		(void)remove(tmp.buf);
	for (i = 0; !rc && i < n_res && cli.verbosity >= 0; i++)
		cli_info("catalog: %s %s %s: %zu entries, %zu index terms", res[i].system,
		         res[i].version, res[i].part, res[i].n_entries, res[i].n_terms);
	ms_free(res);
	ms_buf_release(&tmp);
	return rc;
}

/* ---- stage: QA dataset ---- */

static const char *const qa_keys[] = { "out", "systems", "format", "split", "paraphrases", NULL };

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The shipped templates (data/templates/ *.json, in name order) are QA inputs too. */
static int template_inputs(struct build *b, struct stage *s, struct ms_error *err)
{
	char *dir = path_join(b->data_dir, "templates"), *names[MAX_FILES];
	const struct dirent *e;
	size_t n = 0, i, len;
	DIR *d;
	int rc = 0;

	d = dir ? opendir(dir) : NULL;
	while (d && !rc && n < MAX_FILES && (e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0 || e->d_name[0] == '.')
			continue;
		names[n] = path_join(dir, e->d_name);
		if (names[n])
			n++;
		else
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	if (d)
		closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (i = 0; i < n; i++) {
		if (!rc)
			rc = stage_input(s, names[i], err);
		else
			ms_free(names[i]);
	}
	ms_free(dir);
	return rc;
}

static int qa_plan(struct build *b, struct stage *s, struct ms_error *err)
{
	const char *out;
	int rc;

	rc = known_keys(s->config, "qa", qa_keys, err);
	if (!rc)
		rc = get_str(&out, s->config, "out", "qa", "qa", err);
	if (!rc)
		rc = stage_input(s, ms_strdup(b->stages[0].out[0].path), err);
	if (!rc)
		rc = template_inputs(b, s, err);
	if (!rc)
		rc = stage_output(s, path_join(b->workdir, out), err);
	return rc;
}

static int writer_options(struct output_dataset_options *o, const struct build *b,
                          const json_t *config, const char *where, struct ms_error *err)
{
	const char *format;
	int rc;

	rc = get_str(&format, config, "format", where, "messages", err);
	if (!rc && output_format_parse(&o->format, format, err))
		return ms_error_set(err, MS_EINVAL, "%s.format: unknown format '%.32s'", where,
		                    format);
	o->seed = b->seed;
	o->created = b->have_created ? b->created : NULL;
	return rc;
}

static int qa_run(struct build *b, struct stage *s, struct ms_error *err)
{
	struct datagen_qa_options qo = { .output = OUTPUT_DATASET_OPTIONS_INIT };
	struct datagen_qa_selection sel[16];
	struct datagen_templates *t = NULL;
	struct catalog_store *store = NULL;
	struct datagen_qa_stats st;
	const json_t *systems = json_object_get(s->config, "systems"), *v;
	char sys_copy[16][48];
	const char *split;
	struct ms_buf tmp = MS_BUF_INIT;
	double para;
	size_t i;
	int rc;

	rc = writer_options(&qo.output, b, s->config, "qa", err);
	if (!rc)
		rc = get_str(&split, s->config, "split", "qa", NULL, err);
	if (!rc && split && output_split_parse(&qo.output.split, split, err))
		rc = MS_EINVAL;
	if (!rc)
		rc = get_int(&para, s->config, "paraphrases", "qa", 0, 1000, 0, err);
	if (rc)
		return rc;
	qo.paraphrases = (unsigned)para;
	qo.output.name = "medsft_qa";
	if (systems && (!json_is_array(systems) || json_array_size(systems) > 16))
		return ms_error_set(err, MS_EINVAL,
		                    "qa.systems must be an array of up to 16 names");
	json_array_foreach(systems, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) >= sizeof(sys_copy[i]))
			return ms_error_set(err, MS_EINVAL, "qa.systems[%zu] must be a string", i);
		memcpy(sys_copy[i], json_string_value(v), json_string_length(v) + 1);
		rc = datagen_qa_selection_parse(&sel[i], sys_copy[i], err);
		if (rc)
			return rc;
	}
	qo.selections = sel;
	qo.n_selections = json_array_size(systems);
	ms_buf_addf(&tmp, "%s.tmp", s->out[0].path);
	if (ms_buf_status(&tmp))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	rc = build_remove_tree(tmp.buf);
	if (!rc)
		rc = datagen_templates_new(&t, err);
	if (!rc)
		rc = datagen_templates_load_builtin(t, b->data_dir, err);
	if (!rc)
		rc = catalog_store_open(&store, s->in[0].path, CATALOG_STORE_READONLY, err);
	if (!rc)
		rc = datagen_qa_generate(&st, store, t, &qo, tmp.buf, err);
	if (!rc)
		rc = build_place_dir(tmp.buf, s->out[0].path, err);
	if (!rc && cli.verbosity >= 0)
		cli_info("qa: %" PRIu64 " examples (%" PRIu64 " duplicates dropped)", st.n_examples,
		         st.n_duplicates);
	catalog_store_free(store);
	datagen_templates_free(t);
	ms_buf_release(&tmp);
	return rc;
}

/* ---- stage: de-identification ---- */

static const char *const deid_keys[] = { "inputs",  "key_file", "generate_key", "mode",  "ner",
	                                 "threads", "out",      "strict",       "audit", NULL };

static int deid_plan(struct build *b, struct stage *s, struct build_deid *d, struct ms_error *err)
{
	const char *files[MAX_FILES] = { NULL }, *key_file, *mode, *out, *audit;
	size_t n = 0, i;
	double threads;
	int rc;

	rc = known_keys(s->config, "deid", deid_keys, err);
	if (!rc)
		rc = get_files(files, &n, s->config, "inputs", "deid", err);
	if (!rc)
		rc = get_str(&key_file, s->config, "key_file", "deid", "site.key", err);
	if (!rc)
		rc = get_bool(&d->generate_key, s->config, "generate_key", "deid", false, err);
	if (!rc)
		rc = get_str(&mode, s->config, "mode", "deid", "surrogate", err);
	if (!rc && deid_mode_parse(&d->mode, mode))
		rc = ms_error_set(err, MS_EINVAL, "deid.mode: unknown mode '%.32s'", mode);
	if (!rc)
		rc = get_bool(&d->ner, s->config, "ner", "deid", true, err);
	if (!rc)
		rc = get_bool(&d->strict, s->config, "strict", "deid", false, err);
	if (!rc)
		rc = get_int(&threads, s->config, "threads", "deid", 1, 64, 1, err);
	if (!rc)
		rc = get_str(&out, s->config, "out", "deid", "deid.jsonl", err);
	if (!rc)
		rc = get_str(&audit, s->config, "audit", "deid", NULL, err);
	if (rc)
		return rc;
	d->threads = (unsigned)threads;
	if (audit) {
		d->audit_path = path_join(b->workdir, audit);
		if (!d->audit_path)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	for (i = 0; !rc && i < n; i++)
		rc = stage_input(s, path_join(b->base, files[i]), err);
	if (rc)
		return rc;
	d->key_path = path_join(b->workdir, key_file);
	if (!d->key_path)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	rc = build_deid_prepare(d, b->data_dir, err);
	if (!rc)
		snprintf(s->extra, sizeof(s->extra), "key %.64s detector %.64s", d->key_fingerprint,
		         d->detector_fingerprint);
	if (!rc)
		rc = stage_output(s, path_join(b->workdir, out), err);
	return rc;
}

/* ---- stage: report datasets ---- */

static const char *const reports_keys[] = { "out",      "codes",   "folds",  "holdout",
	                                    "near_dup", "answer",  "format", "unknown",
	                                    "group_by", "version", NULL };

static int reports_plan(struct build *b, struct stage *s, const struct stage *deid,
                        struct ms_error *err)
{
	const char *out;
	int rc;

	rc = known_keys(s->config, "reports", reports_keys, err);
	if (!rc)
		rc = get_str(&out, s->config, "out", "reports", "reports", err);
	if (!rc)
		rc = stage_input(s, ms_strdup(b->stages[0].out[0].path), err);
	if (!rc)
		rc = stage_input(s, ms_strdup(deid->out[0].path), err);
	if (!rc)
		rc = stage_output(s, path_join(b->workdir, out), err);
	return rc;
}

static int pick(const char *v, const char *const *names, const char *where, int *out,
                struct ms_error *err)
{
	int i;

	for (i = 0; names[i]; i++) {
		if (!strcmp(v, names[i])) {
			*out = i;
			return 0;
		}
	}
	return ms_error_set(err, MS_EINVAL, "%s: unknown value '%.32s'", where, v);
}

static void report_problem(void *payload, const char *path, size_t line, const char *msg)
{
	size_t *n = payload;

	if (++*n <= 5 && cli.verbosity >= 0)
		cli_warn("reports: %s: record %zu: %s", path, line, msg);
}

static int reports_run(struct build *b, struct stage *s, struct ms_error *err)
{
	static const char *const answers[] = { "codes", "codes+text", NULL };
	static const char *const unknowns[] = { "drop-code", "drop-record", "fail", NULL };
	static const char *const groups[] = { "patient", "record", NULL };
	struct datagen_reports_options o;
	struct datagen_reports_stats st;
	struct catalog_store *store = NULL;
	const char *codes, *answer, *unknown, *group, *version;
	struct ms_buf tmp = MS_BUF_INIT;
	double folds, holdout, near;
	size_t n_problems = 0;
	int rc, a = 0, u = 0, g = 0;

	memset(&o, 0, sizeof(o));
	o.output = (struct output_dataset_options)OUTPUT_DATASET_OPTIONS_INIT;
	rc = writer_options(&o.output, b, s->config, "reports", err);
	if (!rc)
		rc = get_str(&codes, s->config, "codes", "reports", "goae", err);
	if (!rc)
		rc = get_str(&version, s->config, "version", "reports", NULL, err);
	if (!rc)
		rc = get_int(&folds, s->config, "folds", "reports", 2, OUTPUT_KFOLD_MAX, 5, err);
	if (!rc)
		rc = get_num(&holdout, s->config, "holdout", "reports", 0, 0.99, 0.1, err);
	if (!rc)
		rc = get_num(&near, s->config, "near_dup", "reports", 0, 1, 0.8, err);
	if (!rc)
		rc = get_str(&answer, s->config, "answer", "reports", "codes", err);
	if (!rc)
		rc = pick(answer, answers, "reports.answer", &a, err);
	if (!rc)
		rc = get_str(&unknown, s->config, "unknown", "reports", "drop-code", err);
	if (!rc)
		rc = pick(unknown, unknowns, "reports.unknown", &u, err);
	if (!rc)
		rc = get_str(&group, s->config, "group_by", "reports", "patient", err);
	if (!rc)
		rc = pick(group, groups, "reports.group_by", &g, err);
	if (rc)
		return rc;
	o.output.name = "medsft_reports";
	o.system = codes;
	o.version = version;
	o.folds = (unsigned)folds;
	o.holdout = holdout;
	o.near_dup = near;
	o.answer = (enum datagen_answer)a;
	o.unknown = (enum datagen_unknown_policy)u;
	o.group_by = (enum datagen_group_by)g;
	o.problem = report_problem;
	o.payload = &n_problems;
	ms_buf_addf(&tmp, "%s.tmp", s->out[0].path);
	if (ms_buf_status(&tmp))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	rc = build_remove_tree(tmp.buf);
	if (!rc)
		rc = catalog_store_open(&store, s->in[0].path, CATALOG_STORE_READONLY, err);
	if (!rc)
		rc = datagen_reports_build(&st, store, &o, s->in[1].path, tmp.buf, err);
	if (!rc)
		rc = build_place_dir(tmp.buf, s->out[0].path, err);
	if (!rc && cli.verbosity >= 0) {
		if (n_problems > 5)
			cli_warn("reports: %zu code problems in all (first 5 shown; counts in "
			         "stats.json)",
			         n_problems);
		cli_info("reports: %" PRIu64 " examples from %" PRIu64 " records: %u folds + "
		         "hold-out of %" PRIu64 "; %" PRIu64 " patients, %" PRIu64
		         " codes (%s %s); dropped %" PRIu64 " without valid code, %" PRIu64
		         " duplicates, %" PRIu64 " near the hold-out",
		         st.n_examples, st.n_records, o.folds, st.n_holdout, st.n_groups,
		         st.n_labels, codes, st.version,
		         st.n_dropped_no_codes + st.n_dropped_unknown,
		         st.n_exact_dups + st.n_near_dups, st.n_contam_exact + st.n_contam_near);
	}
	catalog_store_free(store);
	ms_buf_release(&tmp);
	return rc;
}

/* ---- the run ---- */

static const char *const top_keys[] = { "$schema", "workdir", "seed",    "catalog",
	                                "qa",      "deid",    "reports", NULL };

/* Every stage's keys before anything runs: a typo costs no import. */
static int check_stage_keys(const struct build *b, struct ms_error *err)
{
	static const struct {
		const char *name;
		const char *const *keys;
	} stage_keys[] = {
		{ "catalog", catalog_keys },
		{ "qa", qa_keys },
		{ "deid", deid_keys },
		{ "reports", reports_keys },
	};
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(stage_keys) / sizeof(stage_keys[0]) && !rc; i++) {
		const json_t *o = json_object_get(b->pipeline, stage_keys[i].name);

		if (o && !json_is_object(o))
			rc = ms_error_set(err, MS_EINVAL, "pipeline: '%s' must be an object",
			                  stage_keys[i].name);
		else if (o)
			rc = known_keys(o, stage_keys[i].name, stage_keys[i].keys, err);
	}
	return rc;
}

static int load_pipeline(struct build *b, const char *workdir_opt, struct ms_error *err)
{
	json_error_t jerr;
	const char *workdir, *slash;
	double seed;
	char *mpath;
	int rc;

	b->pipeline = json_load_file(b->pipeline_path, JSON_REJECT_DUPLICATES, &jerr);
	if (!b->pipeline) {
		ms_error_set_path(err, b->pipeline_path);
		if (jerr.line > 0)
			ms_error_set_line(err, (size_t)jerr.line);
		return ms_error_set(err, access(b->pipeline_path, R_OK) ? MS_ENOTFOUND : MS_EINVAL,
		                    "%s",
		                    access(b->pipeline_path, R_OK) ? "cannot read" : jerr.text);
	}
	ms_error_set_path(err, b->pipeline_path);
	if (!json_is_object(b->pipeline))
		return ms_error_set(err, MS_EINVAL, "the pipeline must be a JSON object");
	rc = known_keys(b->pipeline, "pipeline", top_keys, err);
	if (!rc)
		rc = get_str(&workdir, b->pipeline, "workdir", "pipeline", "medsft-build", err);
	if (!rc)
		rc = get_int(&seed, b->pipeline, "seed", "pipeline", 0, 9007199254740991.0, 42,
		             err);
	if (rc)
		return rc;
	if (!json_is_object(json_object_get(b->pipeline, "catalog")))
		return ms_error_set(err, MS_EINVAL, "pipeline: 'catalog' (an object) is required");
	rc = check_stage_keys(b, err);
	if (rc)
		return rc;
	if (json_object_get(b->pipeline, "reports") && !json_object_get(b->pipeline, "deid"))
		return ms_error_set(err, MS_EINVAL, "pipeline: 'reports' needs a 'deid' stage");
	ms_error_clear(err);
	b->seed = (uint64_t)seed;
	slash = strrchr(b->pipeline_path, '/');
	b->base = slash ? ms_strndup(b->pipeline_path, (size_t)(slash - b->pipeline_path))
	                : ms_strdup(".");
	b->workdir = ms_strdup(workdir_opt ? workdir_opt : workdir);
	if (!b->base || !b->workdir)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	rc = make_dirs(b->workdir, err);
	if (rc)
		return rc;
	mpath = path_join(b->workdir, MANIFEST);
	if (!mpath)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	b->previous = json_load_file(mpath, 0, NULL); /* none or unreadable: run everything */
	ms_free(mpath);
	return 0;
}

static void stage_done(struct stage *s, const char *status, double t0)
{
	s->status = status;
	s->seconds = now() - t0;
	if (cli.verbosity >= 0)
		cli_info("stage %-8s %s in %.2f s", s->name, status, s->seconds);
}

/* Plans, then runs or skips one stage; the manifest is rewritten after each. */
static int run_stage(struct build *b, struct stage *s,
                     int (*run)(struct build *b, struct stage *s, struct ms_error *err),
                     struct ms_error *err)
{
	double t0 = now();
	size_t i;
	int rc;

	stage_fingerprint(s, b);
	if (can_skip(b, s)) {
		stage_done(s, "skipped", t0);
		return write_manifest(b, err);
	}
	rc = run(b, s, err);
	for (i = 0; !rc && i < s->n_out; i++) {
		rc = output_hash(s->out[i].sha256, s->out[i].path);
		if (rc)
			rc = ms_error_set(err, rc, "%s: output '%s' missing after the run", s->name,
			                  s->out[i].path);
	}
	if (rc)
		return rc;
	stage_done(s, "ran", t0);
	b->n_stages = (size_t)(s - b->stages) + 1;
	return write_manifest(b, err);
}

static int deid_run_cb(struct build *b, struct stage *s, struct ms_error *err)
{
	(void)s;
	return build_deid_run(b->deid, err);
}

/* Appends a stage for the pipeline's key name; NULL if the pipeline has none. */
static struct stage *next_stage(struct build *b, const char *name)
{
	struct stage *s;

	if (!json_object_get(b->pipeline, name))
		return NULL;
	s = &b->stages[b->n_stages++];
	s->name = name;
	s->config = json_object_get(b->pipeline, name);
	return s;
}

static int run_deid(struct build *b, struct stage *s, struct build_deid *deid, struct ms_error *err)
{
	size_t i;
	int rc;

	rc = deid_plan(b, s, deid, err);
	if (rc)
		return rc;
	deid->n_inputs = s->n_in;
	for (i = 0; i < s->n_in; i++) {
		deid->inputs[i] = s->in[i].path;
		deid->input_sha256[i] = s->in[i].sha256;
	}
	deid->out_path = s->out[0].path;
	b->deid = deid;
	rc = run_stage(b, s, deid_run_cb, err);
	b->deid = NULL;
	return rc;
}

static int run_all(struct build *b, struct ms_error *err)
{
	struct build_deid deid;
	struct stage *s, *d;
	int rc;

	memset(&deid, 0, sizeof(deid));
	rc = datagen_data_dir_find(&b->data_dir, NULL, getenv("MEDSFT_DATA"), MS_INSTALL_DATADIR,
	                           err);
	if (rc)
		return rc;
	/* stage objects and their keys were checked by load_pipeline */
	s = next_stage(b, "catalog");
	rc = catalog_plan(b, s, err);
	if (!rc)
		rc = run_stage(b, s, catalog_run, err);
	s = rc ? NULL : next_stage(b, "qa");
	if (s) {
		rc = qa_plan(b, s, err);
		if (!rc)
			rc = run_stage(b, s, qa_run, err);
	}
	d = rc ? NULL : next_stage(b, "deid");
	if (d)
		rc = run_deid(b, d, &deid, err);
	s = rc ? NULL : next_stage(b, "reports");
	if (s) {
		rc = reports_plan(b, s, d, err);
		if (!rc)
			rc = run_stage(b, s, reports_run, err);
	}
	build_deid_release(&deid);
	return rc;
}

static void print_summary(const struct build *b)
{
	size_t i, j;
	double total = 0;

	for (i = 0; i < b->n_stages; i++)
		total += b->stages[i].seconds;
	printf("build finished in %.2f s; run manifest: %s/%s\n", total, b->workdir, MANIFEST);
	for (i = 0; i < b->n_stages; i++) {
		const struct stage *s = &b->stages[i];

		for (j = 0; j < s->n_out; j++)
			printf("  %-8s %-7s %s\n", s->name, s->status, s->out[j].path);
	}
}

int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },         { "help", no_argument, NULL, 'h' },
		{ "quiet", no_argument, NULL, 'q' },         { "verbose", no_argument, NULL, 'v' },
		{ "workdir", required_argument, NULL, 'w' }, { NULL, 0, NULL, 0 },
	};
	struct ms_error err = MS_ERROR_INIT;
	struct build b;
	const char *workdir = NULL, *epoch = getenv("SOURCE_DATE_EPOCH");
	size_t i, j;
	int c, rc;

	memset(&b, 0, sizeof(b));
	optind = 1;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "hqv", opts, usage)) != -1) {
		switch (c) {
		case 'f':
			b.force = true;
			break;
		case 'h':
			return CLI_EXIT_OK; /* cli_getopt() printed the usage */
		case 'w':
			workdir = optarg;
			break;
		default:
			return cli_bad_option(usage, c, argv);
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(usage, "expected exactly one PIPELINE.json");
	b.pipeline_path = argv[optind];
	if (epoch && epoch[0]) {
		if (output_epoch_format(b.created, epoch, &err)) {
			cli_error("SOURCE_DATE_EPOCH: %s", err.msg);
			return CLI_EXIT_FAILURE;
		}
		b.have_created = true;
	}
	rc = ms_hash_init();
	if (rc)
		rc = ms_error_set(&err, rc, "cannot initialise hashing");
	if (!rc)
		rc = load_pipeline(&b, workdir, &err);
	if (!rc)
		rc = run_all(&b, &err);
	if (rc)
		cli_report(&err);
	else if (cli.verbosity >= 0)
		print_summary(&b);
	for (i = 0; i < 4; i++) {
		for (j = 0; j < b.stages[i].n_in; j++)
			ms_free(b.stages[i].in[j].path);
		for (j = 0; j < b.stages[i].n_out; j++)
			ms_free(b.stages[i].out[j].path);
	}
	json_decref(b.pipeline);
	json_decref(b.previous);
	ms_free(b.base);
	ms_free(b.workdir);
	ms_free(b.data_dir);
	if (rc)
		return rc == MS_EUSAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
	return cli_finish_stdout(CLI_EXIT_OK);
}
