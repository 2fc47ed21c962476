/* SPDX-License-Identifier: MIT */
/*
 * QA templates and the data directory: the built-in set loads and meets its
 * rules, every validation error names file, family and template number,
 * failed loads leave the set unchanged, user files add questions and
 * replace answers, escaped braces and placeholders expand, the built-in
 * files validate against schemas/qa-templates.schema.json (skipped visibly
 * without /usr/bin/python3 + jsonschema), and an allocation-failure walk.
 *
 * Test scaffolding allocates with libc on purpose: the failure hook in
 * ms_alloc_fail_after must hit only the code under test.
 */
#include "ms_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "datagen/datagen.h"
#include "datagen/datagen_int.h"

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

static struct datagen_templates *builtin(void)
{
	struct datagen_templates *t = NULL;
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(datagen_templates_new(&t, &err), 0);
	if (datagen_templates_load_builtin(t, ms_test_src_path("data"), &err) != 0)
		fail_msg("%s: %s", err.path, err.msg);
	return t;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_builtin(void **state)
{
	struct datagen_templates *t = builtin();
	int f;

	(void)state;
	assert_non_null(datagen_templates_system_prompt(t));
	assert_non_null(strstr(datagen_templates_system_prompt(t), "medizinische Kodierung"));
	for (f = 0; f < DATAGEN_QA_N_FAMILIES; f++) {
		if (datagen_templates_count(t, (enum datagen_qa_family)f) < DATAGEN_TEMPLATES_MIN)
			fail_msg("family %s", datagen_qa_family_name((enum datagen_qa_family)f));
		assert_non_null(t->fam[f].answer.segs);
	}
	assert_int_equal(datagen_templates_count(t, DATAGEN_QA_N_FAMILIES), 0);
	datagen_templates_free(t);
	datagen_templates_free(NULL);
}

static void test_family_names(void **state)
{
	enum datagen_qa_family f;
	const char *const *ph;
	int i;

	(void)state;
	for (i = 0; i < DATAGEN_QA_N_FAMILIES; i++) {
		const char *name = datagen_qa_family_name((enum datagen_qa_family)i);

		assert_non_null(name);
		assert_int_equal(datagen_qa_family_parse(&f, name), 0);
		assert_int_equal(f, i);
		ph = datagen_qa_family_placeholders((enum datagen_qa_family)i);
		assert_non_null(ph);
		assert_non_null(ph[0]);
	}
	assert_null(datagen_qa_family_name(DATAGEN_QA_N_FAMILIES));
	assert_int_equal(datagen_qa_family_parse(&f, "term2code"), MS_ENOTFOUND);
	ph = datagen_qa_family_placeholders(DATAGEN_QA_GOAE_FEE);
	for (i = 0; ph[i] && strcmp(ph[i], "factor") != 0; i++)
		;
	assert_non_null(ph[i]);
}

/* Loading json must fail with code, naming the file and containing want. */
static void expect_error(const char *json, int code, const char *want)
{
	struct datagen_templates *t = builtin();
	struct ms_error err = MS_ERROR_INIT;
	size_t before = datagen_templates_count(t, DATAGEN_QA_TERM_TO_CODE);
	char msg[600];

	assert_int_equal(datagen_templates_load_json(t, json, strlen(json), "user.json", &err),
	                 code);
	ms_error_format(&err, msg, sizeof(msg));
	if (!strstr(msg, want) || strncmp(msg, "user.json", 9) != 0)
		fail_msg("message '%s' lacks '%s'", msg, want);
	/* all or nothing */
	assert_int_equal(datagen_templates_count(t, DATAGEN_QA_TERM_TO_CODE), before);
	datagen_templates_free(t);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("{\"families\": {", MS_EINVAL, "invalid JSON");
	expect_error("[]", MS_EINVAL, "must hold a JSON object");
	expect_error("{\"famlies\": {}}", MS_EINVAL, "unknown key 'famlies'");
	expect_error("{\"system_prompt\": 3}", MS_EINVAL, "'system_prompt' must be a string");
	expect_error("{\"system_prompt\": \"\"}", MS_EINVAL, "'system_prompt' is empty");
	expect_error("{\"families\": {\"term-to-kode\": {}}}", MS_EINVAL,
	             "unknown family 'term-to-kode'");
	expect_error("{\"families\": {\"term-to-code\": []}}", MS_EINVAL, "must be an object");
	expect_error("{\"families\": {\"term-to-code\": {\"answers\": \"x\"}}}", MS_EINVAL,
	             "family 'term-to-code': unknown key 'answers'");
	expect_error("{\"families\": {\"term-to-code\": {\"questions\": \"x\"}}}", MS_EINVAL,
	             "'questions' must be an array of strings");
	expect_error("{\"families\": {\"term-to-code\": {\"answer\": 1}}}", MS_EINVAL,
	             "'answer' must be a string");
	/* the template number counts the built-in questions (4) first */
	expect_error("{\"families\": {\"term-to-code\": {\"questions\": [\"Was ist {term}?\", "
	             "\"Kode für {cod}?\"]}}}",
	             MS_EINVAL, "family 'term-to-code' template 6: unknown placeholder '{cod}'");
	/* a placeholder of another family */
	expect_error("{\"families\": {\"code-to-term\": {\"questions\": [\"{factor}\"]}}}",
	             MS_EINVAL, "family 'code-to-term' template 5: unknown placeholder '{factor}'");
	expect_error("{\"families\": {\"term-to-code\": {\"questions\": [\"Was ist {term?\"]}}}",
	             MS_EINVAL, "template 5: unmatched '{'");
	expect_error("{\"families\": {\"term-to-code\": {\"questions\": [\"Was ist term}?\"]}}}",
	             MS_EINVAL, "template 5: unmatched '}'");
	expect_error("{\"families\": {\"term-to-code\": {\"questions\": [\"\"]}}}", MS_EINVAL,
	             "template 5: empty template");
	expect_error("{\"families\": {\"term-to-code\": {\"questions\": [7]}}}", MS_EINVAL,
	             "template 5: not a string");
	expect_error("{\"families\": {\"term-to-code\": {\"answer\": \"{label}\"}}}", MS_EINVAL,
	             "family 'term-to-code' answer: unknown placeholder '{label}'");
	expect_error("{\"families\": {\"term-to-code\": {\"questions\": "
	             "[\"Welcher {code_kind} gehört zu „{term}“?\"]}}}",
	             MS_EINVAL, "template 5: repeats template 1");
	expect_error("{\"families\": {\"goae-fee\": {\"questions\": [\"a {fee}\", \"a {fee}\"]}}}",
	             MS_EINVAL, "family 'goae-fee' template 6: repeats template 5");
}

static void test_user_file(void **state)
{
	struct datagen_templates *t = builtin();
	struct ms_error err = MS_ERROR_INIT;
	const char *dir = tmpdir();
	char path[4096];
	struct qa_val v[PH_MAX];
	struct ms_buf out = MS_BUF_INIT;
	size_t n = datagen_templates_count(t, DATAGEN_QA_GOAE_FEE);

	(void)state;
	snprintf(path, sizeof(path), "%s/user.json", dir);
	write_file(path, "{\"system_prompt\": \"Kurz.\", \"families\": {\"goae-fee\": {"
	                 "\"answer\": \"{{{fee}}} EUR\", \"questions\": [\"{number} x {factor}?\", "
	                 "\"Gebühr {{Nr. {number}}} bei {factor}\"]}}}");
	assert_int_equal(datagen_templates_load_file(t, path, &err), 0);
	assert_int_equal(datagen_templates_count(t, DATAGEN_QA_GOAE_FEE), n + 2);
	assert_string_equal(datagen_templates_system_prompt(t), "Kurz.");

	memset(v, 0, sizeof(v));
	v[PH_NUMBER].s = "5370";
	v[PH_NUMBER].len = 4;
	v[PH_FACTOR].s = "1,8";
	v[PH_FACTOR].len = 3;
	v[PH_FEE].s = "209,83";
	v[PH_FEE].len = 6;
	qa_tpl_expand(&out, &t->fam[DATAGEN_QA_GOAE_FEE].answer, v);
	assert_string_equal(out.buf, "{209,83} EUR");
	ms_buf_reset(&out);
	qa_tpl_expand(&out, &t->fam[DATAGEN_QA_GOAE_FEE].questions[n + 1], v);
	assert_string_equal(out.buf, "Gebühr {Nr. 5370} bei 1,8");
	ms_buf_reset(&out);
	/* an empty value expands to nothing */
	v[PH_NUMBER].len = 0;
	qa_tpl_expand(&out, &t->fam[DATAGEN_QA_GOAE_FEE].questions[n], v);
	assert_string_equal(out.buf, " x 1,8?");
	ms_buf_release(&out);

	/* a missing file names itself */
	snprintf(path, sizeof(path), "%s/missing.json", dir);
	ms_error_clear(&err);
	assert_int_equal(datagen_templates_load_file(t, path, &err), MS_ENOTFOUND);
	assert_non_null(strstr(err.path, "missing.json"));
	datagen_templates_free(t);
}

/* A data dir with one template file; returns the dir. */
static const char *data_dir_with(const char *json)
{
	const char *dir = tmpdir();
	char path[4096];

	snprintf(path, sizeof(path), "%s/templates", dir);
	assert_int_equal(mkdir(path, 0777), 0);
	if (json) {
		snprintf(path, sizeof(path), "%s/templates/a.json", dir);
		write_file(path, json);
	}
	return dir;
}

static void expect_builtin_error(const char *json, int code, const char *want)
{
	struct datagen_templates *t = NULL;
	struct ms_error err = MS_ERROR_INIT;
	char msg[600];

	assert_int_equal(datagen_templates_new(&t, &err), 0);
	assert_int_equal(datagen_templates_load_builtin(t, data_dir_with(json), &err), code);
	ms_error_format(&err, msg, sizeof(msg));
	if (!strstr(msg, want) || !strstr(msg, "templates"))
		fail_msg("message '%s' lacks '%s'", msg, want);
	datagen_templates_free(t);
}

static void test_builtin_rules(void **state)
{
	(void)state;
	expect_builtin_error(NULL, MS_ENOTFOUND, "no template file");
	expect_builtin_error("{\"families\": {}}", MS_EINVAL, "no file sets 'system_prompt'");
	expect_builtin_error("{\"system_prompt\": \"S\", \"families\": {}}", MS_EINVAL,
	                     "family 'term-to-code' has no answer template");
	expect_builtin_error(
	        "{\"system_prompt\": \"S\", \"families\": {\"term-to-code\": "
	        "{\"answer\": \"{code}\", \"questions\": [\"{term}?\", \"{term}!\"]}}}",
	        MS_EINVAL, "family 'term-to-code' has 2 question templates, at least 3 needed");
	expect_builtin_error("{\"system_prompt\": \"S\", \"families\": {\"term-to-code\": "
	                     "{\"answer\": \"{cod}\"}}}",
	                     MS_EINVAL,
	                     "a.json: family 'term-to-code' answer: unknown placeholder");
}

static void test_data_dir(void **state)
{
	struct ms_error err = MS_ERROR_INIT;
	const char *empty = tmpdir(), *good = ms_test_src_path("data");
	char *out = NULL;

	(void)state;
	assert_int_equal(datagen_data_dir_find(&out, good, NULL, NULL, &err), 0);
	assert_string_equal(out, good);
	ms_free(out);
	assert_int_equal(datagen_data_dir_find(&out, NULL, good, NULL, &err), 0);
	assert_string_equal(out, good);
	ms_free(out);
	/* an explicit choice without templates is an error, not skipped */
	assert_int_equal(datagen_data_dir_find(&out, empty, good, good, &err), MS_ENOTFOUND);
	assert_null(out);
	assert_non_null(strstr(err.msg, "no templates/"));
	ms_error_clear(&err);
	assert_int_equal(datagen_data_dir_find(&out, NULL, empty, good, &err), MS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "MEDSFT_DATA"));
	/* the test binary lives in build/, so <exe>/../data is the source tree's only
	 * when the build dir is a direct child; the install dir is the fallback */
	ms_error_clear(&err);
	assert_int_equal(datagen_data_dir_find(&out, NULL, NULL, good, &err), 0);
	ms_free(out);
	ms_error_clear(&err);
	if (datagen_data_dir_find(&out, NULL, NULL, empty, &err) == 0)
		ms_free(out); /* found <exe>/../data */
	else
		assert_non_null(strstr(err.msg, "no data directory found"));
}

static void test_schema(void **state)
{
	char cmd[16384], schema[4096], dir[4096];
	int rc;

	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0 ||
	    system("/usr/bin/python3 -c 'import jsonschema' >/dev/null 2>&1") != 0) {
		printf("SKIP: /usr/bin/python3 with jsonschema not present; templates not "
		       "validated\n");
		return;
	}
	/* ms_test_src_path returns one static buffer: copy before the next call */
	snprintf(schema, sizeof(schema), "%s",
	         ms_test_src_path("schemas/qa-templates.schema.json"));
	snprintf(dir, sizeof(dir), "%s", ms_test_src_path("data/templates"));
	snprintf(cmd, sizeof(cmd),
	         "/usr/bin/python3 -c 'import glob, json, sys, jsonschema\n"
	         "s = json.load(open(sys.argv[1]))\n"
	         "jsonschema.Draft202012Validator.check_schema(s)\n"
	         "v = jsonschema.Draft202012Validator(s)\n"
	         "bad = 0\n"
	         "for f in sorted(glob.glob(sys.argv[2] + \"/*.json\")):\n"
	         "    for e in v.iter_errors(json.load(open(f))):\n"
	         "        print(f, e.message); bad = 1\n"
	         "r = {\"families\": {\"term-to-code\": {\"questions\": [\"{cod}\"]}}}\n"
	         "bad |= not list(v.iter_errors(r))\n"
	         "n = len(glob.glob(sys.argv[2] + \"/*.json\"))\n"
	         "sys.exit(bad or n < 2)' '%s' '%s'",
	         schema, dir);
	rc = system(cmd);
	assert_int_equal(rc, 0);
}

static void test_alloc_walk(void **state)
{
	struct datagen_templates *t = NULL;
	struct ms_error err = MS_ERROR_INIT;
	long n;
	int rc = -1;

	(void)state;
	for (n = 0; n < 100000 && rc != 0; n++) {
		ms_error_clear(&err);
		ms_alloc_fail_after(n);
		rc = datagen_templates_new(&t, &err);
		if (rc == 0)
			rc = datagen_templates_load_builtin(t, ms_test_src_path("data"), &err);
		ms_alloc_fail_after(-1);
		if (rc != 0 && rc != MS_ENOMEM)
			fail_msg("allocation %ld: status %d (%s)", n, rc, err.msg);
		datagen_templates_free(t);
		t = NULL;
	}
	assert_int_equal(rc, 0);
	assert_true(n > 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin),       cmocka_unit_test(test_family_names),
		cmocka_unit_test(test_errors),        cmocka_unit_test(test_user_file),
		cmocka_unit_test(test_builtin_rules), cmocka_unit_test(test_data_dir),
		cmocka_unit_test(test_schema),        cmocka_unit_test(test_alloc_walk),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
