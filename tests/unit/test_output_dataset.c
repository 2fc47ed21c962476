/* SPDX-License-Identifier: MIT */
/*
 * Dataset folders and deduplication: folder contents, manifest hashes and
 * counts against the files on disk, group consistency across files,
 * byte-identical reruns, k-fold layout, abort and failed commits leaving
 * nothing behind, an allocation-failure walk, statistics, and every format
 * checked by tests/schema/validate.py against schemas/ (skipped visibly
 * when /usr/bin/python3 with jsonschema is missing).
 *
 * Test scaffolding allocates with libc on purpose: the failure hook in
 * ms_alloc_fail_after must hit only the code under test.
 */
#include "ms_test.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "output/output.h"

/* ---- temporary folders, removed after the run unless MS_KEEP_TMP is set ---- */

#define MAX_TMP 32

static char tmp_dirs[MAX_TMP][4096];
static int n_tmp;

static const char *tmpdir(void)
{
	const char *t = ms_test_tmpdir();

	assert_non_null(t);
	assert_true(n_tmp < MAX_TMP);
	snprintf(tmp_dirs[n_tmp], sizeof(tmp_dirs[n_tmp]), "%s", t);
	return tmp_dirs[n_tmp++];
}

static void remove_tree(const char *path)
{
	struct stat st;
	DIR *d;
	const struct dirent *e;
	char child[4096];

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
			remove_tree(child);
		}
		closedir(d);
	}
	rmdir(path);
}

static int teardown(void **state)
{
	int i;

	(void)state;
	if (getenv("MS_KEEP_TMP"))
		return 0;
	for (i = 0; i < n_tmp; i++)
		remove_tree(tmp_dirs[i]);
	return 0;
}

/* ---- fixtures ---- */

struct fixture {
	char id[32];
	char user[96];
	char assistant[96];
	char group[32];
	char code[16];
	const char *codes[1];
	struct output_example ex;
};

/* Example i: three examples per group; tasks and systems alternate. */
static const struct output_example *make_example(struct fixture *f, unsigned i)
{
	static const char sys[] = "Du bist ein medizinischer Kodierassistent.";

	memset(f, 0, sizeof(*f));
	snprintf(f->id, sizeof(f->id), "ex-%u", i);
	snprintf(f->user, sizeof(f->user), "Was bedeutet der Code X%04u?\n(\"Kurzform\")", i);
	snprintf(f->assistant, sizeof(f->assistant), "Größenangabe Nr. %u – übliche Antwort.", i);
	snprintf(f->group, sizeof(f->group), "patient-%u", i / 3);
	snprintf(f->code, sizeof(f->code), "X%04u", i);
	f->codes[0] = f->code;
	f->ex.id = f->id;
	f->ex.system_prompt = sys;
	f->ex.system_prompt_len = strlen(sys);
	f->ex.user = f->user;
	f->ex.user_len = strlen(f->user);
	f->ex.assistant = f->assistant;
	f->ex.assistant_len = strlen(f->assistant);
	f->ex.task = i % 2 ? "code-to-title" : "title-to-code";
	f->ex.catalog_system = i % 3 ? "icd10gm" : "ops";
	f->ex.catalog_version = "2025";
	f->ex.codes = f->codes;
	f->ex.n_codes = 1;
	f->ex.source = i % 5 ? "claml-2025" : NULL;
	f->ex.group = f->group;
	return &f->ex;
}

static const char *path_in(const char *dir, const char *rel)
{
	static char path[4][4096];
	static int slot;
	int n;

	slot = (slot + 1) % 4;
	n = snprintf(path[slot], sizeof(path[slot]), "%s/%s", dir, rel);
	assert_true(n > 0 && (size_t)n < sizeof(path[slot]));
	return path[slot];
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static size_t count_lines(const char *path)
{
	struct ms_buf b = MS_BUF_INIT;
	size_t i, n = 0;

	assert_int_equal(ms_file_read(&b, path, 0, NULL), 0);
	for (i = 0; i < b.len; i++)
		n += b.buf[i] == '\n';
	ms_buf_release(&b);
	return n;
}

/* No temporary file left anywhere under dir (one level of subfolders). */
static void assert_no_temp(const char *dir)
{
	DIR *d = opendir(dir);
	const struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strstr(e->d_name, ".tmp."))
			fail_msg("temporary file left: %s/%s", dir, e->d_name);
		if (strcmp(e->d_name, "data") == 0)
			assert_no_temp(path_in(dir, "data"));
	}
	closedir(d);
}

static struct output_dataset_options base_options(void)
{
	static const struct output_source sources[] = {
		{ "ICD-10-GM", "2025",
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
		{ "OPS | Test", "2025", NULL },
	};
	static const char *const tags[] = { "medical", "icd-10-gm" };
	struct output_dataset_options o = OUTPUT_DATASET_OPTIONS_INIT;

	o.seed = 42;
	o.sources = sources;
	o.n_sources = 2;
	o.card.pretty_name = "ICD-10-GM QA (Test)";
	o.card.description = "Frage-Antwort-Paare zu ICD-10-GM-Kodes.";
	o.card.license_name = "BfArM ICD-10-GM";
	o.card.attribution = "Erstellt auf Grundlage der ICD-10-GM des BfArM.";
	o.card.tags = tags;
	o.card.n_tags = 2;
	return o;
}

/* Writes examples [0, n) (in reverse if reverse), plus n_dup duplicates. */
static int write_dataset(const char *dir, const struct output_dataset_options *o, unsigned n,
                         unsigned n_dup, bool reverse, struct output_dataset **keep)
{
	struct output_dataset *ds = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct fixture f;
	unsigned k;
	int rc;

	rc = output_dataset_open(&ds, dir, o, &err);
	if (rc < 0)
		return rc;
	for (k = 0; k < n + n_dup && rc == 0; k++) {
		unsigned i = k < n ? (reverse ? n - 1 - k : k) : (k - n) * 7 % n;

		make_example(&f, i);
		if (k >= n) /* same texts, new id: still a duplicate */
			snprintf(f.id, sizeof(f.id), "dup-%u", k);
		rc = output_dataset_add(ds, &f.ex, &err);
	}
	if (rc == 0)
		rc = output_dataset_commit(ds, &err);
	if (rc < 0 && err.code == 0)
		fail_msg("error %d without message", rc);
	if (keep && rc == 0)
		*keep = ds;
	else
		output_dataset_free(ds);
	return rc;
}

static bool validator_available(void)
{
	static int state = -1;

	if (state < 0)
		state = access("/usr/bin/python3", X_OK) == 0 &&
		        system("/usr/bin/python3 -c 'import jsonschema' >/dev/null 2>&1") == 0;
	return state == 1;
}

static void run_validator(const char *dir)
{
	char cmd[8192];

	if (!validator_available()) {
		printf("SKIP: /usr/bin/python3 with jsonschema not present; %s not validated\n",
		       dir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' --schemas '%s' '%s'",
	         ms_test_src_path("tests/schema/validate.py"), MS_SRC_DIR "/schemas", dir);
	if (system(cmd) != 0)
		fail_msg("schema validation failed for %s", dir);
}

/* ---- manifest checks ---- */

/* Checks manifest files against the disk; returns the summed records. */
static uint64_t check_manifest(const char *dir, uint64_t want_examples, uint64_t want_dups)
{
	json_error_t jerr;
	json_t *m = json_load_file(path_in(dir, "manifest.json"), 0, &jerr);
	json_t *files, *f;
	uint64_t total = 0;
	size_t i;

	assert_non_null(m);
	assert_int_equal(json_integer_value(json_object_get(m, "examples")), want_examples);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "deduplication"),
	                                                    "duplicates_dropped")),
	                 want_dups);
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(m, "tool"), "version")),
	        MS_VERSION);
	files = json_object_get(m, "files");
	json_array_foreach(files, i, f)
	{
		const char *rel = json_string_value(json_object_get(f, "path"));
		const char *path = path_in(dir, rel);
		char hex[MS_SHA256_HEX_LEN + 1];
		struct stat st;

		assert_int_equal(ms_sha256_file(hex, path, NULL), 0);
		assert_string_equal(hex, json_string_value(json_object_get(f, "sha256")));
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal((uint64_t)st.st_size,
		                 json_integer_value(json_object_get(f, "bytes")));
		if (!strstr(rel, ".gz"))
			assert_int_equal(count_lines(path),
			                 json_integer_value(json_object_get(f, "records")));
		total += (uint64_t)json_integer_value(json_object_get(f, "records"));
	}
	assert_int_equal(total, want_examples);
	json_decref(m);
	return total;
}

/* Every group's examples sit in one file; returns the number of groups seen. */
static size_t check_groups(const char *dir, unsigned n)
{
	char *file_of = calloc(n / 3 + 1, 1);
	json_error_t jerr;
	json_t *m = json_load_file(path_in(dir, "manifest.json"), 0, &jerr);
	json_t *files = json_object_get(m, "files"), *f;
	size_t i, groups = 0;

	assert_non_null(file_of);
	json_array_foreach(files, i, f)
	{
		struct ms_buf b = MS_BUF_INIT;
		struct ms_lines it;
		const char *line;
		size_t len;

		assert_int_equal(
		        ms_file_read(&b,
		                     path_in(dir, json_string_value(json_object_get(f, "path"))), 0,
		                     NULL),
		        0);
		ms_lines_init(&it, b.buf, b.len);
		while (ms_lines_next(&it, &line, &len)) {
			json_t *rec = json_loadb(line, len, 0, &jerr);
			const char *id;
			unsigned k, g;

			assert_non_null(rec);
			id = json_string_value(json_object_get(json_object_get(rec, "meta"), "id"));
			assert_true(strncmp(id, "ex-", 3) == 0);
			k = (unsigned)strtoul(id + 3, NULL, 10);
			g = k / 3;
			if (file_of[g] == 0) {
				file_of[g] = (char)('A' + i);
				groups++;
			} else if (file_of[g] != (char)('A' + i)) {
				fail_msg("group %u spans two files", g);
			}
			json_decref(rec);
		}
		ms_buf_release(&b);
	}
	json_decref(m);
	free(file_of);
	return groups;
}

/* ---- tests ---- */

static int setup(void **state)
{
	(void)state;
	return ms_hash_init();
}

static void test_basic(void **state)
{
	const char *tmp = tmpdir();
	char dir[4096];
	struct output_dataset_options o = base_options();
	struct output_dataset *ds = NULL;
	const struct output_stats *st;
	struct ms_buf readme = MS_BUF_INIT;
	uint64_t sum = 0;
	size_t i;

	(void)state;
	assert_non_null(tmp);
	snprintf(dir, sizeof(dir), "%s/ds", tmp);
	assert_int_equal(write_dataset(dir, &o, 300, 20, false, &ds), 0);
	st = output_dataset_stats(ds);
	assert_int_equal(st->n_examples, 300);
	assert_int_equal(st->n_duplicates, 20);
	assert_int_equal(st->n_parts, 3);
	assert_string_equal(st->parts[0].name, "train");
	assert_string_equal(st->parts[2].name, "test");
	for (i = 0; i < st->n_parts; i++)
		sum += st->parts[i].n;
	assert_int_equal(sum, 300);
	assert_int_equal(st->n_tasks, 2);
	assert_string_equal(st->tasks[0].name, "code-to-title");
	assert_int_equal(st->tasks[0].n, 150);
	assert_int_equal(st->n_systems, 2);
	assert_string_equal(st->systems[0].name, "icd10gm");
	assert_int_equal(st->systems[0].n, 200);
	output_dataset_free(ds);

	assert_true(exists(path_in(dir, "manifest.json")));
	assert_true(exists(path_in(dir, "stats.json")));
	assert_true(exists(path_in(dir, "dataset_info.json")));
	assert_true(exists(path_in(dir, "README.md")));
	assert_true(exists(path_in(dir, "data/train.jsonl")));
	check_manifest(dir, 300, 20);
	assert_int_equal(check_groups(dir, 300), 100);
	assert_no_temp(dir);

	assert_int_equal(ms_file_read(&readme, path_in(dir, "README.md"), 0, NULL), 0);
	assert_true(strncmp(readme.buf, "---\nlanguage:\n- \"de\"\n", 21) == 0);
	assert_non_null(strstr(readme.buf, "size_categories:\n- n<1K\n"));
	assert_non_null(strstr(readme.buf, "  - split: train\n    path: data/train.jsonl\n"));
	assert_non_null(strstr(readme.buf, "license_name: \"BfArM ICD-10-GM\"\n"));
	assert_non_null(strstr(readme.buf, "Erstellt auf Grundlage der ICD-10-GM des BfArM."));
	assert_non_null(strstr(readme.buf, "| OPS \\| Test | 2025 |"));
	ms_buf_release(&readme);
	run_validator(dir);
}

static bool same_file(const char *a, const char *b)
{
	struct ms_buf x = MS_BUF_INIT, y = MS_BUF_INIT;
	bool same;

	assert_int_equal(ms_file_read(&x, a, 0, NULL), 0);
	assert_int_equal(ms_file_read(&y, b, 0, NULL), 0);
	same = x.len == y.len && memcmp(x.buf, y.buf, x.len) == 0;
	ms_buf_release(&x);
	ms_buf_release(&y);
	return same;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Same lines in any order. */
static bool same_lines(const char *a, const char *b)
{
	struct ms_buf x = MS_BUF_INIT, y = MS_BUF_INIT;
	struct ms_buf *bufs[2] = { &x, &y };
	char **lines[2] = { NULL, NULL };
	size_t n[2] = { 0, 0 }, i, k;
	bool same;

	assert_int_equal(ms_file_read(&x, a, 0, NULL), 0);
	assert_int_equal(ms_file_read(&y, b, 0, NULL), 0);
	for (k = 0; k < 2; k++) {
		struct ms_lines it;
		const char *line;
		size_t len;

		lines[k] = calloc(bufs[k]->len + 1, sizeof(char *));
		assert_non_null(lines[k]);
		ms_lines_init(&it, bufs[k]->buf, bufs[k]->len);
		while (ms_lines_next(&it, &line, &len)) {
			char *start = bufs[k]->buf + (line - bufs[k]->buf);

			start[len] = '\0'; /* split in place */
			lines[k][n[k]++] = start;
		}
		qsort(lines[k], n[k], sizeof(char *), cmp_line);
	}
	same = n[0] == n[1];
	for (i = 0; same && i < n[0]; i++)
		same = strcmp(lines[0][i], lines[1][i]) == 0;
	free(lines[0]);
	free(lines[1]);
	ms_buf_release(&x);
	ms_buf_release(&y);
	return same;
}

static void test_deterministic(void **state)
{
	static const char *const files[] = { "manifest.json",     "stats.json",
		                             "dataset_info.json", "README.md",
		                             "data/train.jsonl",  "data/validation.jsonl",
		                             "data/test.jsonl" };
	const char *tmp = tmpdir();
	char a[4096], b[4096], c[4096];
	struct output_dataset_options o = base_options();
	size_t i;

	(void)state;
	snprintf(a, sizeof(a), "%s/a", tmp);
	snprintf(b, sizeof(b), "%s/b", tmp);
	snprintf(c, sizeof(c), "%s/c", tmp);
	assert_int_equal(output_split_parse(&o.split, "0.6,0.2,0.2", NULL), 0);
	assert_int_equal(write_dataset(a, &o, 120, 5, false, NULL), 0);
	assert_int_equal(write_dataset(b, &o, 120, 5, false, NULL), 0);
	assert_int_equal(write_dataset(c, &o, 120, 5, true, NULL), 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (!same_file(path_in(a, files[i]), path_in(b, files[i])))
			fail_msg("%s differs between identical runs", files[i]);
	}
	/* reversed input: same split membership, different order */
	for (i = 4; i < sizeof(files) / sizeof(files[0]); i++) {
		if (!same_lines(path_in(a, files[i]), path_in(c, files[i])))
			fail_msg("%s has other records when the input is reversed", files[i]);
	}
	assert_true(same_file(path_in(a, "stats.json"), path_in(c, "stats.json")));
}

static void test_abort(void **state)
{
	const char *tmp = tmpdir();
	char dir[4096];
	struct output_dataset_options o = base_options();
	struct output_dataset *ds = NULL;
	struct fixture f;
	unsigned i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/gone", tmp);
	assert_int_equal(output_dataset_open(&ds, dir, &o, NULL), 0);
	for (i = 0; i < 30; i++)
		assert_int_equal(output_dataset_add(ds, make_example(&f, i), NULL), 0);
	assert_true(exists(path_in(dir, "data")));
	output_dataset_abort(ds);
	assert_false(exists(dir));
	/* after abort: further calls are usage errors, free is safe */
	assert_int_equal(output_dataset_add(ds, make_example(&f, 0), NULL), MS_EUSAGE);
	assert_int_equal(output_dataset_commit(ds, NULL), MS_EUSAGE);
	output_dataset_free(ds);

	/* free without commit aborts */
	assert_int_equal(output_dataset_open(&ds, dir, &o, NULL), 0);
	assert_int_equal(output_dataset_add(ds, make_example(&f, 1), NULL), 0);
	output_dataset_free(ds);
	assert_false(exists(dir));

	/* an existing empty folder stays, empty */
	assert_int_equal(mkdir(dir, 0777), 0);
	assert_int_equal(output_dataset_open(&ds, dir, &o, NULL), 0);
	assert_int_equal(output_dataset_add(ds, make_example(&f, 2), NULL), 0);
	output_dataset_abort(ds);
	output_dataset_free(ds);
	assert_true(exists(dir));
	assert_false(exists(path_in(dir, "data")));
	assert_int_equal(rmdir(dir), 0);
}

static void test_refuses_non_empty(void **state)
{
	const char *tmp = tmpdir();
	char dir[4096];
	struct output_dataset_options o = base_options();
	struct output_dataset *ds = NULL;
	struct ms_error err = MS_ERROR_INIT;
	FILE *fp;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/full", tmp);
	assert_int_equal(mkdir(dir, 0777), 0);
	fp = fopen(path_in(dir, "keep.txt"), "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(output_dataset_open(&ds, dir, &o, &err), MS_EEXISTS);
	assert_null(ds);
	assert_non_null(strstr(err.msg, "not empty"));
	assert_true(exists(path_in(dir, "keep.txt")));
	assert_false(exists(path_in(dir, "data")));
	/* a file in the way */
	assert_int_equal(output_dataset_open(&ds, path_in(dir, "keep.txt"), &o, NULL), MS_EEXISTS);
	/* a missing parent */
	assert_int_equal(output_dataset_open(&ds, path_in(dir, "no/such"), &o, NULL), MS_EIO);
	/* bad options touch nothing */
	o.split.ratio[OUTPUT_SPLIT_TEST] = 0.5;
	assert_int_equal(output_dataset_open(&ds, path_in(tmp, "x"), &o, NULL), MS_EUSAGE);
	assert_false(exists(path_in(tmp, "x")));
}

static void test_kfold(void **state)
{
	const char *tmp = tmpdir();
	char dir[4096];
	struct output_dataset_options o = base_options();
	struct output_dataset *ds = NULL;
	const struct output_stats *st;
	struct ms_buf readme = MS_BUF_INIT;
	json_error_t jerr;
	json_t *info;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/kfold", tmp);
	o.kfold.k = 3;
	o.kfold.holdout = 0.2;
	o.name = "icdqa";
	assert_int_equal(write_dataset(dir, &o, 240, 0, false, &ds), 0);
	st = output_dataset_stats(ds);
	assert_int_equal(st->n_parts, 4);
	assert_string_equal(st->parts[0].name, "fold-0");
	assert_string_equal(st->parts[3].name, "test");
	assert_in_range(st->parts[3].n, 12, 96); /* 80 groups x 0.2 x 3 = 48 */
	output_dataset_free(ds);
	assert_true(exists(path_in(dir, "data/fold-0.jsonl")));
	assert_true(exists(path_in(dir, "data/fold-2.jsonl")));
	assert_true(exists(path_in(dir, "data/test.jsonl")));
	check_manifest(dir, 240, 0);
	assert_int_equal(check_groups(dir, 240), 80);
	assert_int_equal(ms_file_read(&readme, path_in(dir, "README.md"), 0, NULL), 0);
	assert_non_null(strstr(readme.buf, "- config_name: fold-0\n  default: true\n"
	                                   "  data_files:\n  - split: train\n    path:\n"
	                                   "    - data/fold-1.jsonl\n    - data/fold-2.jsonl\n"
	                                   "  - split: validation\n    path: data/fold-0.jsonl\n"
	                                   "  - split: test\n    path: data/test.jsonl\n"));
	ms_buf_release(&readme);
	info = json_load_file(path_in(dir, "dataset_info.json"), 0, &jerr);
	assert_non_null(info);
	assert_int_equal(json_object_size(info), 4);
	assert_string_equal(json_string_value(json_object_get(json_object_get(info, "icdqa_fold_1"),
	                                                      "file_name")),
	                    "data/fold-1.jsonl");
	json_decref(info);
	run_validator(dir);
}

static void test_formats(void **state)
{
	const char *tmp = tmpdir();
	int fmt, meta;

	(void)state;
	for (fmt = OUTPUT_FORMAT_MESSAGES; fmt <= OUTPUT_FORMAT_SHAREGPT; fmt++) {
		for (meta = 0; meta < 2; meta++) {
			struct output_dataset_options o = base_options();
			char dir[4096];

			o.format = (enum output_format)fmt;
			o.record_flags = meta ? 0 : OUTPUT_RECORD_NO_META;
			snprintf(dir, sizeof(dir), "%s/%s-%d", tmp,
			         output_format_name((enum output_format)fmt), meta);
			assert_int_equal(write_dataset(dir, &o, 60, 3, false, NULL), 0);
			assert_int_equal(exists(path_in(dir, "dataset_info.json")),
			                 fmt != OUTPUT_FORMAT_PROMPT_COMPLETION);
			check_manifest(dir, 60, 3);
			run_validator(dir);
		}
	}
}

static void test_overrides_and_bad_examples(void **state)
{
	const char *tmp = tmpdir();
	char dir[4096];
	struct output_dataset_options o = base_options();
	struct output_dataset *ds = NULL;
	struct ms_error err = MS_ERROR_INIT;
	const struct output_stats *st;
	struct fixture f;
	unsigned i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/ovr", tmp);
	assert_int_equal(output_split_parse(&o.split, "train=1", NULL), 0);
	assert_int_equal(output_dataset_open(&ds, dir, &o, NULL), 0);
	for (i = 0; i < 10; i++) {
		make_example(&f, i);
		f.ex.split = i < 3 ? OUTPUT_SPLIT_TEST : OUTPUT_SPLIT_NONE;
		assert_int_equal(output_dataset_add(ds, &f.ex, NULL), 0);
	}
	/* a malformed example is rejected alone */
	make_example(&f, 10);
	f.ex.assistant_len = 0;
	assert_int_equal(output_dataset_add(ds, &f.ex, &err), MS_EINVAL);
	assert_int_equal(err.record, 11);
	assert_non_null(strstr(err.msg, "ex-10"));
	make_example(&f, 11);
	assert_int_equal(output_dataset_add(ds, &f.ex, NULL), 0);
	assert_int_equal(output_dataset_commit(ds, NULL), 0);
	st = output_dataset_stats(ds);
	assert_int_equal(st->n_examples, 11);
	assert_int_equal(st->parts[0].n, 8);
	assert_int_equal(st->parts[1].n, 0);
	assert_int_equal(st->parts[2].n, 3);
	output_dataset_free(ds);
	/* empty splits get no file */
	assert_false(exists(path_in(dir, "data/validation.jsonl")));
	assert_int_equal(count_lines(path_in(dir, "data/test.jsonl")), 3);
	run_validator(dir);
}

static void test_stats(void **state)
{
	const char *tmp = tmpdir();
	char dir[4096];
	static char user[400], answer[20000];
	struct output_dataset_options o = base_options();
	struct output_dataset *ds = NULL;
	const struct output_stats *st;
	struct output_example ex = { 0 };
	char id[16];
	unsigned i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/stats", tmp);
	o.keep_duplicates = true;
	assert_int_equal(output_dataset_open(&ds, dir, &o, NULL), 0);
	memset(answer, 'a', sizeof(answer));
	/* questions of 1..100 characters, each 'ü' (two bytes) */
	for (i = 1; i <= 100; i++) {
		size_t k;

		for (k = 0; k < i; k++) {
			user[2 * k] = (char)0xC3; /* U+00FC ü */
			user[2 * k + 1] = (char)0xBC;
		}
		snprintf(id, sizeof(id), "s%u", i);
		ex.id = id;
		ex.user = user;
		ex.user_len = (size_t)2 * i;
		ex.assistant = answer;
		ex.assistant_len = i <= 50 ? 10 : 10000 + i; /* above the exact range */
		assert_int_equal(output_dataset_add(ds, &ex, NULL), 0);
	}
	st = output_dataset_stats(ds);
	assert_int_equal(st->question_chars.min, 1);
	assert_int_equal(st->question_chars.p50, 50);
	assert_int_equal(st->question_chars.p90, 90);
	assert_int_equal(st->question_chars.max, 100);
	assert_true(st->question_chars.mean == 50.5);
	assert_int_equal(st->answer_chars.min, 10);
	assert_int_equal(st->answer_chars.p50, 10);
	/* bucketed: within 1/1024 below the true value 10090 */
	assert_in_range(st->answer_chars.p90, 10090 - 10090 / 1024, 10090);
	assert_int_equal(st->answer_chars.max, 10100);
	assert_int_equal(st->n_tasks, 1);
	assert_string_equal(st->tasks[0].name, "");
	assert_int_equal(output_dataset_commit(ds, NULL), 0);
	output_dataset_free(ds);
	run_validator(dir);
}

static void test_empty(void **state)
{
	const char *tmp = tmpdir();
	char dir[4096];
	struct output_dataset_options o = base_options();

	(void)state;
	snprintf(dir, sizeof(dir), "%s/empty", tmp);
	assert_int_equal(write_dataset(dir, &o, 0, 0, false, NULL), 0);
	assert_true(exists(path_in(dir, "manifest.json")));
	assert_false(exists(path_in(dir, "data")));
	check_manifest(dir, 0, 0);
	run_validator(dir);
}

static void test_gzip(void **state)
{
	const char *tmp = tmpdir();
	char dir[4096];
	struct output_dataset_options o = base_options();
	struct output_dataset *ds = NULL;
	struct ms_error err = MS_ERROR_INIT;
	enum output_compress c;

	(void)state;
	assert_int_equal(output_compress_parse(&c, "gz", NULL), 0);
	assert_int_equal(c, OUTPUT_COMPRESS_GZIP);
	assert_int_equal(output_compress_parse(&c, "zstd", &err), MS_EINVAL);
	snprintf(dir, sizeof(dir), "%s/gz", tmp);
	o.compress = OUTPUT_COMPRESS_GZIP;
	if (!output_compress_available(OUTPUT_COMPRESS_GZIP)) {
		printf("SKIP: gzip not built in; checking the refusal only\n");
		assert_int_equal(output_dataset_open(&ds, dir, &o, NULL), MS_EUSAGE);
		assert_false(exists(dir));
		return;
	}
	assert_int_equal(write_dataset(dir, &o, 90, 0, false, NULL), 0);
	assert_true(exists(path_in(dir, "data/train.jsonl.gz")));
	assert_false(exists(path_in(dir, "dataset_info.json")));
	check_manifest(dir, 90, 0);
	run_validator(dir);
}

/* Every allocation failure gives 0 or MS_ENOMEM, no files and no leaks. */
static void alloc_walk(enum output_compress compress)
{
	const char *tmp = tmpdir();
	struct output_dataset_options o = base_options();
	char dir[4096];
	long n;
	int rc = MS_ENOMEM;

	o.kfold.k = 2;
	o.kfold.holdout = 0.3;
	o.compress = compress;
	for (n = 0; n < 100000 && rc != 0; n++) {
		snprintf(dir, sizeof(dir), "%s/walk-%ld", tmp, n);
		ms_alloc_fail_after(n);
		rc = write_dataset(dir, &o, 12, 2, false, NULL);
		ms_alloc_fail_after(-1);
		if (rc != 0 && rc != MS_ENOMEM)
			fail_msg("allocation %ld: status %d", n, rc);
		if (rc != 0 && exists(dir))
			fail_msg("allocation %ld: %s left behind", n, dir);
	}
	assert_int_equal(rc, 0);
	assert_true(n > 20);
	check_manifest(dir, 12, 2);
}

static void test_alloc_walk(void **state)
{
	(void)state;
	alloc_walk(OUTPUT_COMPRESS_NONE);
	if (output_compress_available(OUTPUT_COMPRESS_GZIP))
		alloc_walk(OUTPUT_COMPRESS_GZIP);
}

static void test_epoch(void **state)
{
	char out[OUTPUT_TIMESTAMP_SIZE];
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(output_epoch_format(out, "0", NULL), 0);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	assert_int_equal(output_epoch_format(out, "1700000000", NULL), 0);
	assert_string_equal(out, "2023-11-14T22:13:20Z");
	assert_int_equal(output_epoch_format(out, "253402300799", NULL), 0);
	assert_string_equal(out, "9999-12-31T23:59:59Z");
	assert_int_equal(output_epoch_format(out, "253402300800", NULL), MS_EINVAL);
	assert_int_equal(output_epoch_format(out, "-1", NULL), MS_EINVAL);
	assert_int_equal(output_epoch_format(out, "", NULL), MS_EINVAL);
	assert_int_equal(output_epoch_format(out, "12ab", &err), MS_EINVAL);
	assert_non_null(strstr(err.msg, "'12ab'"));
	assert_int_equal(output_epoch_format(out, "99999999999999999999999", NULL), MS_EINVAL);
}

static void test_created(void **state)
{
	const char *tmp = tmpdir();
	char dir[4096], ts[OUTPUT_TIMESTAMP_SIZE];
	struct output_dataset_options o = base_options();
	json_error_t jerr;
	json_t *m;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/created", tmp);
	assert_int_equal(output_epoch_format(ts, "1700000000", NULL), 0);
	o.created = ts;
	assert_int_equal(write_dataset(dir, &o, 5, 0, false, NULL), 0);
	m = json_load_file(path_in(dir, "manifest.json"), 0, &jerr);
	assert_string_equal(json_string_value(json_object_get(m, "created")),
	                    "2023-11-14T22:13:20Z");
	json_decref(m);
	snprintf(dir, sizeof(dir), "%s/uncreated", tmp);
	o.created = NULL;
	assert_int_equal(write_dataset(dir, &o, 5, 0, false, NULL), 0);
	m = json_load_file(path_in(dir, "manifest.json"), 0, &jerr);
	assert_true(json_is_null(json_object_get(m, "created")));
	json_decref(m);
}

/* ---- deduplication ---- */

static void test_dedup(void **state)
{
	struct output_dedup *d = NULL;
	struct fixture f, g;
	bool seen = true;
	unsigned i;

	(void)state;
	assert_int_equal(output_dedup_new(&d, NULL), 0);
	make_example(&f, 1);
	assert_int_equal(output_dedup_insert(&seen, d, &f.ex, NULL), 0);
	assert_false(seen);
	assert_int_equal(output_dedup_insert(&seen, d, &f.ex, NULL), 0);
	assert_true(seen);
	/* whitespace differences, other ids, system prompts and metadata do not count */
	make_example(&g, 1);
	snprintf(g.user, sizeof(g.user), "  Was  bedeutet der\tCode X0001?\n\n(\"Kurzform\") ");
	g.ex.user_len = strlen(g.user);
	g.ex.id = "other";
	g.ex.system_prompt = NULL;
	g.ex.task = "x";
	assert_int_equal(output_dedup_insert(&seen, d, &g.ex, NULL), 0);
	assert_true(seen);
	/* the answer counts */
	snprintf(g.assistant, sizeof(g.assistant), "Andere Antwort");
	g.ex.assistant_len = strlen(g.assistant);
	assert_int_equal(output_dedup_insert(&seen, d, &g.ex, NULL), 0);
	assert_false(seen);
	/* swapping question and answer is a different pair */
	g.ex.user = f.assistant;
	g.ex.user_len = strlen(f.assistant);
	g.ex.assistant = f.user;
	g.ex.assistant_len = strlen(f.user);
	assert_int_equal(output_dedup_insert(&seen, d, &g.ex, NULL), 0);
	assert_false(seen);
	assert_int_equal(output_dedup_size(d), 3);
	/* growth keeps every key */
	for (i = 2; i < 5002; i++) {
		assert_int_equal(output_dedup_insert(&seen, d, make_example(&f, i), NULL), 0);
		assert_false(seen);
	}
	for (i = 1; i < 5002; i++) {
		assert_int_equal(output_dedup_insert(&seen, d, make_example(&f, i), NULL), 0);
		assert_true(seen);
	}
	assert_int_equal(output_dedup_size(d), 5003);
	output_dedup_free(d);
	output_dedup_free(NULL);
}

static void test_dedup_key_boundaries(void **state)
{
	static const struct output_turn ab_c[] = { { OUTPUT_ROLE_USER, "ab", 2 },
		                                   { OUTPUT_ROLE_ASSISTANT, "c", 1 } };
	static const struct output_turn a_bc[] = { { OUTPUT_ROLE_USER, "a", 1 },
		                                   { OUTPUT_ROLE_ASSISTANT, "bc", 2 } };
	struct output_example x = { 0 }, y = { 0 };
	unsigned char kx[OUTPUT_DEDUP_KEY_LEN], ky[OUTPUT_DEDUP_KEY_LEN];
	struct ms_buf scratch = MS_BUF_INIT;

	(void)state;
	x.id = "x";
	x.turns = ab_c;
	x.n_turns = 2;
	y.id = "y";
	y.turns = a_bc;
	y.n_turns = 2;
	assert_int_equal(output_dedup_key(kx, &scratch, &x), 0);
	assert_int_equal(output_dedup_key(ky, &scratch, &y), 0);
	assert_true(memcmp(kx, ky, sizeof(kx)) != 0);
	ms_buf_release(&scratch);
}

/* The fast normality test agrees with normalising, on every text it calls normal. */
static void test_text_is_normal(void **state)
{
	static const struct {
		const char *s;
		bool normal;
	} cases[] = {
		{ "", true },
		{ "a", true },
		{ "Was bedeutet A04.7?", true },
		{ "Größe – übliche Antwort, länger als acht Bytes", true },
		{ " a", false },
		{ "a ", false },
		{ " ", false },
		{ "a  b", false },
		{ "123456  b", false },             /* bytes 6 and 7: in the first word */
		{ "1234567  9abcdefgh", false },    /* bytes 7 and 8: across two words */
		{ "12345678  abcdefgh", false },    /* bytes 8 and 9: in the second word */
		{ "abcdefghijklmno  p", false },    /* bytes 15 and 16: word and tail */
		{ "abcdefghijklmnop q  r", false }, /* in the tail */
		{ "1234567 9abcdef gh", true },
		{ "a\tb", false },
		{ "abcdefgh\nijklmnop", false },
		{ "abc\x01", false }, /* conservative: another control byte */
		{ "a b c d e f g h i j k l m n o p", true },
	};
	struct ms_buf b = MS_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].s;
		bool normal = output_text_is_normal(s, strlen(s));

		if (normal != cases[i].normal)
			fail_msg("case %zu ('%s'): got %d", i, s, normal);
		ms_buf_reset(&b);
		output_text_normalise(&b, s, strlen(s));
		assert_int_equal(ms_buf_status(&b), 0);
		/* normal means unchanged by normalising */
		if (normal)
			assert_true(b.len == strlen(s) && memcmp(b.buf, s, b.len) == 0);
	}
	ms_buf_reset(&b);
	output_text_normalise(&b, " \t a \r\n\v\f b  ", 13);
	assert_string_equal(b.buf, "a b");
	ms_buf_release(&b);
}

/* Duplicates decided by the caller: counted and dropped, never mixed. */
static void test_add_deduped(void **state)
{
	const char *tmp = tmpdir();
	char dir[4096];
	struct output_dataset_options o = base_options();
	struct output_dataset *ds = NULL;
	struct ms_error err = MS_ERROR_INIT;
	const struct output_stats *st;
	struct fixture f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/deduped", tmp);
	assert_int_equal(output_dataset_open(&ds, dir, &o, NULL), 0);
	assert_int_equal(output_dataset_add_deduped(ds, make_example(&f, 1), false, NULL), 0);
	assert_int_equal(output_dataset_add_deduped(ds, make_example(&f, 2), false, NULL), 0);
	/* the caller's word counts, whatever the texts */
	assert_int_equal(output_dataset_add_deduped(ds, make_example(&f, 3), true, NULL), 0);
	assert_int_equal(output_dataset_add_deduped(ds, make_example(&f, 1), false, NULL), 0);
	/* a repeat is still validated */
	make_example(&f, 4);
	f.ex.user_len = 0;
	assert_int_equal(output_dataset_add_deduped(ds, &f.ex, true, NULL), MS_EINVAL);
	assert_int_equal(output_dataset_add(ds, make_example(&f, 5), &err), MS_EUSAGE);
	assert_non_null(strstr(err.msg, "decided by the caller"));
	assert_int_equal(output_dataset_commit(ds, NULL), 0);
	st = output_dataset_stats(ds);
	assert_int_equal(st->n_examples, 3);
	assert_int_equal(st->n_duplicates, 1);
	output_dataset_free(ds);

	/* and the other way round */
	snprintf(dir, sizeof(dir), "%s/deduped2", tmp);
	assert_int_equal(output_dataset_open(&ds, dir, &o, NULL), 0);
	assert_int_equal(output_dataset_add(ds, make_example(&f, 1), NULL), 0);
	assert_int_equal(output_dataset_add_deduped(ds, make_example(&f, 2), false, NULL),
	                 MS_EUSAGE);
	output_dataset_free(ds);
	assert_false(exists(dir));

	/* keep_duplicates: seen is ignored */
	snprintf(dir, sizeof(dir), "%s/deduped3", tmp);
	o.keep_duplicates = true;
	assert_int_equal(output_dataset_open(&ds, dir, &o, NULL), 0);
	assert_int_equal(output_dataset_add_deduped(ds, make_example(&f, 1), false, NULL), 0);
	assert_int_equal(output_dataset_add_deduped(ds, make_example(&f, 1), true, NULL), 0);
	assert_int_equal(output_dataset_commit(ds, NULL), 0);
	st = output_dataset_stats(ds);
	assert_int_equal(st->n_examples, 2);
	assert_int_equal(st->n_duplicates, 0);
	output_dataset_free(ds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_refuses_non_empty),
		cmocka_unit_test(test_kfold),
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_overrides_and_bad_examples),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_alloc_walk),
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_created),
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_dedup_key_boundaries),
		cmocka_unit_test(test_text_is_normal),
		cmocka_unit_test(test_add_deduped),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
