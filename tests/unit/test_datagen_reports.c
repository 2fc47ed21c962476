/* SPDX-License-Identifier: MIT */
/*
 * Report dataset builds on tests/data/reports/deid.jsonl (51 records of 19
 * patients with code problems, an exact and a near duplicate): the counts of
 * validation and deduplication, whole patients per part, determinism, the
 * --unknown policies, option errors, and that a failed build leaves nothing.
 */
#include "ms_test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/catalog.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "datagen/datagen.h"

static char tmp[4096], db[4096], in[4096];

static int setup(void **state)
{
	const char *paths[1];
	struct catalog_store *store = NULL;
	struct catalog_import_opts io;
	struct ms_error err = MS_ERROR_INIT;
	const char *t = ms_test_tmpdir();
	int rc;

	(void)state;
	if (!t || ms_hash_init())
		return -1;
	snprintf(tmp, sizeof(tmp), "%s", t);
	snprintf(db, sizeof(db), "%s/g.db", t);
	snprintf(in, sizeof(in), "%s", ms_test_src_path("tests/data/reports/deid.jsonl"));
	paths[0] = ms_test_src_path("data/catalogs/goae-excerpt.csv");
	memset(&io, 0, sizeof(io));
	rc = catalog_store_open(&store, db, CATALOG_STORE_CREATE, &err);
	if (!rc)
		rc = catalog_store_import(store, paths, 1, &io, NULL, NULL, &err);
	catalog_store_free(store);
	return rc;
}

static struct datagen_reports_options options(unsigned folds, double holdout)
{
	struct datagen_reports_options o;

	memset(&o, 0, sizeof(o));
	o.output = (struct output_dataset_options)OUTPUT_DATASET_OPTIONS_INIT;
	o.output.seed = 42;
	o.system = CATALOG_SYSTEM_GOAE;
	o.folds = folds;
	o.holdout = holdout;
	o.near_dup = 0.8;
	return o;
}

static int build(struct datagen_reports_stats *st, const struct datagen_reports_options *o,
                 const char *name, struct ms_error *err)
{
	struct catalog_store *store = NULL;
	char dir[4200];
	int rc;

	snprintf(dir, sizeof(dir), "%s/%s", tmp, name);
	rc = catalog_store_open(&store, db, CATALOG_STORE_READONLY, err);
	if (!rc)
		rc = datagen_reports_build(st, store, o, in, dir, err);
	catalog_store_free(store);
	return rc;
}

/* Reads every part of a folder; fails if a group is in two parts. */
static size_t check_groups(const char *name, unsigned folds, size_t *n_groups_out)
{
	json_t *seen = json_object();
	size_t n = 0, f;

	for (f = 0; f <= folds; f++) {
		char path[4300], part[16];
		struct ms_buf b = MS_BUF_INIT;
		struct ms_lines it;
		const char *line;
		size_t len;

		if (f < folds)
			snprintf(part, sizeof(part), "fold-%zu", f);
		else
			snprintf(part, sizeof(part), "test");
		snprintf(path, sizeof(path), "%s/%s/data/%s.jsonl", tmp, name, part);
		if (ms_file_read(&b, path, 1 << 24, NULL) != 0) {
			ms_buf_release(&b);
			continue;
		}
		ms_lines_init(&it, b.buf, b.len);
		while (ms_lines_next(&it, &line, &len)) {
			json_t *rec = json_loadb(line, len, 0, NULL), *prev;
			const char *src;
			char group[64];
			const char *slash;

			assert_non_null(rec);
			src = json_string_value(
			        json_object_get(json_object_get(rec, "meta"), "source"));
			assert_non_null(src);
			slash = strchr(src, '/');
			assert_non_null(slash);
			snprintf(group, sizeof(group), "%.*s", (int)(slash - src), src);
			prev = json_object_get(seen, group);
			if (prev)
				assert_string_equal(json_string_value(prev), part);
			else
				json_object_set_new(seen, group, json_string(part));
			n++;
			json_decref(rec);
		}
		ms_buf_release(&b);
	}
	*n_groups_out = json_object_size(seen);
	json_decref(seen);
	return n;
}

static void test_counts_and_groups(void **state)
{
	struct datagen_reports_options o = options(3, 0.2);
	struct datagen_reports_stats st;
	struct ms_error err = MS_ERROR_INIT;
	size_t n, groups;

	(void)state;
	assert_int_equal(build(&st, &o, "a", &err), 0);
	assert_int_equal(st.n_records, 51);
	assert_int_equal(st.n_codes_unknown, 1);
	assert_int_equal(st.n_codes_malformed, 1);
	assert_int_equal(st.n_codes_other, 2);
	assert_int_equal(st.n_dropped_no_codes, 1);
	assert_int_equal(st.n_dropped_unknown, 0);
	assert_int_equal(st.n_labels, 10);
	assert_int_equal(st.n_groups, 19);
	/* the copy of record 13 and the extended record 15 are each dropped once,
	 * in the folds or as near the hold-out, depending on where the originals went */
	assert_int_equal(st.n_exact_dups + st.n_contam_exact, 1);
	assert_int_equal(st.n_near_dups + st.n_contam_near, 1);
	assert_int_equal(st.n_examples, 51 - 1 - 2);
	assert_true(st.n_holdout > 0 && st.n_holdout < 16);
	n = check_groups("a", 3, &groups);
	assert_int_equal(n, st.n_examples);
	/* a dropped duplicate may have been its patient's only record */
	assert_true(groups <= st.n_groups && groups + 2 >= st.n_groups);
}

static void test_deterministic(void **state)
{
	struct datagen_reports_options o = options(5, 0.1);
	struct datagen_reports_stats st;
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf a = MS_BUF_INIT, b = MS_BUF_INIT;
	char pa[4300], pb[4300];

	(void)state;
	assert_int_equal(build(&st, &o, "d1", &err), 0);
	assert_int_equal(build(&st, &o, "d2", &err), 0);
	snprintf(pa, sizeof(pa), "%s/d1/stats.json", tmp);
	snprintf(pb, sizeof(pb), "%s/d2/stats.json", tmp);
	assert_int_equal(ms_file_read(&a, pa, 1 << 24, NULL), 0);
	assert_int_equal(ms_file_read(&b, pb, 1 << 24, NULL), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.buf, b.buf, a.len);
	ms_buf_release(&a);
	ms_buf_release(&b);
}

static bool exists(const char *name)
{
	char path[4300];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	return stat(path, &sb) == 0;
}

static void test_policies(void **state)
{
	struct datagen_reports_options o = options(2, 0);
	struct datagen_reports_stats st;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	o.unknown = DATAGEN_UNKNOWN_DROP_RECORD;
	assert_int_equal(build(&st, &o, "dr", &err), 0);
	assert_int_equal(st.n_dropped_unknown, 2);
	assert_int_equal(st.n_dropped_no_codes, 1);
	/* no hold-out: both duplicates go inside the folds */
	assert_int_equal(st.n_exact_dups, 1);
	assert_int_equal(st.n_near_dups, 1);
	assert_int_equal(st.n_holdout, 0);
	o.unknown = DATAGEN_UNKNOWN_FAIL;
	assert_int_equal(build(&st, &o, "fail", &err), MS_EINVAL);
	assert_int_equal(err.record, 6);
	assert_non_null(strstr(err.path, "deid.jsonl"));
	assert_false(exists("fail"));
	/* exact duplicates only */
	ms_error_clear(&err);
	o = options(2, 0);
	o.near_dup = 0;
	assert_int_equal(build(&st, &o, "exact", &err), 0);
	assert_int_equal(st.n_exact_dups, 1);
	assert_int_equal(st.n_near_dups, 0);
}

static void test_option_errors(void **state)
{
	struct datagen_reports_options o = options(1, 0.1);
	struct datagen_reports_stats st;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(build(&st, &o, "e1", &err), MS_EUSAGE);
	o = options(5, 1.0);
	ms_error_clear(&err);
	assert_int_equal(build(&st, &o, "e2", &err), MS_EUSAGE);
	o = options(5, 0.1);
	o.system = CATALOG_SYSTEM_ICDO3;
	ms_error_clear(&err);
	assert_int_equal(build(&st, &o, "e3", &err), MS_EUSAGE);
	o = options(5, 0.1);
	o.system = CATALOG_SYSTEM_OPS; /* not in the database */
	ms_error_clear(&err);
	assert_int_equal(build(&st, &o, "e4", &err), MS_ENOTFOUND);
	assert_false(exists("e1") || exists("e2") || exists("e3") || exists("e4"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_and_groups),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_policies),
		cmocka_unit_test(test_option_errors),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
