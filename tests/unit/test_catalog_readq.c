/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for catalog/readq.c: reading on a second thread delivers the
 * same callbacks in the same order as a serial read, stops at a reader's
 * error after everything before it, stops the reader when a callback
 * fails (also while it waits for a free batch), and survives allocation
 * failures on either thread.
 */
#include "ms_test.h"

#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"

/* Every callback as one line of text. */
struct trace {
	struct ms_buf out;
	long fail_at; /* the callback with this number fails (-1: none) */
	long n;
};

static int note(struct trace *t, struct ms_error *err)
{
	if (t->n++ == t->fail_at)
		return ms_error_set(err, MS_EINVAL, "stopped by the test");
	return 0;
}

static void add(struct ms_buf *b, const char *s)
{
	ms_buf_adds(b, s ? s : "(null)");
	ms_buf_addch(b, '|');
}

static int t_file_begin(void *payload, size_t file, const char *sha256, struct ms_error *err)
{
	struct trace *t = payload;

	/* every record arrives whole, also when the reader ran out of memory
	 * while copying it (such a record must not arrive at all) */
	assert_non_null(sha256);
	ms_buf_addf(&t->out, "file %zu %s\n", file, sha256);
	return note(t, err);
}

static int t_file_end(void *payload, size_t file, struct ms_error *err)
{
	struct trace *t = payload;

	ms_buf_addf(&t->out, "end %zu\n", file);
	return note(t, err);
}

static int t_begin(void *payload, const struct catalog_info *info, struct ms_error *err)
{
	struct trace *t = payload;

	assert_non_null(info->system);
	assert_non_null(info->version);
	assert_non_null(info->format);
	ms_buf_adds(&t->out, "begin ");
	add(&t->out, info->system);
	add(&t->out, info->version);
	add(&t->out, info->part);
	add(&t->out, info->title);
	add(&t->out, info->date);
	add(&t->out, info->format);
	add(&t->out, info->lang);
	ms_buf_addch(&t->out, '\n');
	return note(t, err);
}

static int t_entry(void *payload, const struct catalog_entry *e, const char *prepared,
                   struct ms_error *err)
{
	struct trace *t = payload;
	size_t i, k;

	assert_non_null(e->code);
	assert_non_null(e->kind);
	ms_buf_adds(&t->out, "entry ");
	add(&t->out, e->code);
	add(&t->out, e->kind);
	add(&t->out, e->parent);
	add(&t->out, e->usage);
	add(&t->out, e->label);
	ms_buf_addf(&t->out, "%u|%zu|", e->flags, e->line);
	for (i = 0; i < e->n_rubrics; i++) {
		add(&t->out, e->rubrics[i].kind);
		add(&t->out, e->rubrics[i].text);
		add(&t->out, e->rubrics[i].usage);
		for (k = 0; k < e->rubrics[i].n_refs; k++) {
			add(&t->out, e->rubrics[i].refs[k].code);
			add(&t->out, e->rubrics[i].refs[k].usage);
		}
	}
	for (i = 0; i < e->n_meta; i++) {
		add(&t->out, e->meta[i].name);
		add(&t->out, e->meta[i].value);
	}
	add(&t->out, prepared);
	ms_buf_addch(&t->out, '\n');
	return note(t, err);
}

static int t_term(void *payload, const struct catalog_term *term, struct ms_error *err)
{
	struct trace *t = payload;

	assert_non_null(term->text);
	ms_buf_adds(&t->out, "term ");
	add(&t->out, term->text);
	add(&t->out, term->code);
	add(&t->out, term->code_asterisk);
	add(&t->out, term->code_extra);
	add(&t->out, term->code2);
	add(&t->out, term->term_id);
	ms_buf_addf(&t->out, "%d|%d|%zu\n", term->type, term->valid, term->line);
	return note(t, err);
}

static int t_terms(void *payload, const struct catalog_term *terms, size_t n, struct ms_error *err)
{
	size_t i;
	int rc = 0;

	assert_true(n >= 1);
	for (i = 0; i < n && !rc; i++)
		rc = t_term(payload, &terms[i], err);
	return rc;
}

/* What the reader thread makes of an entry: its code twice, if it has meta. */
static int t_prepare(const struct catalog_entry *e, struct ms_buf *out)
{
	if (e->n_meta)
		ms_buf_addf(out, "%s%s", e->code, e->code);
	return ms_buf_status(out);
}

/*
 * The serial reference: the same callbacks, one file after the other; the
 * prepared text stands for the entry's metadata, which entry then lacks.
 */
static int s_entry(void *payload, const struct catalog_entry *e, struct ms_error *err)
{
	struct ms_buf prep = MS_BUF_INIT;
	struct catalog_entry bare = *e;
	int rc;

	assert_int_equal(t_prepare(e, &prep), 0);
	bare.meta = NULL;
	bare.n_meta = 0;
	rc = t_entry(payload, &bare, prep.len ? prep.buf : NULL, err);
	ms_buf_release(&prep);
	return rc;
}

static int serial_read(const struct catalog_files *f, struct trace *t, struct ms_error *err)
{
	const struct catalog_sink sink = { t_begin, s_entry, t_term, t };
	char sha[MS_SHA256_HEX_LEN + 1];
	size_t i;
	int rc = 0;

	for (i = 0; i < f->n && !rc; i++) {
		rc = ms_sha256_file(sha, f->paths[i], err);
		if (!rc)
			rc = t_file_begin(t, i, sha, err);
		if (!rc)
			rc = catalog_read_file(f->paths[i], f->fmts[i], f->opts, &sink, err);
		if (!rc)
			rc = t_file_end(t, i, err);
		if (rc)
			ms_error_set_path(err, f->paths[i]);
	}
	return rc;
}

static const struct catalog_files_sink async_sink = { t_file_begin, t_begin,   t_entry, t_terms,
	                                              t_file_end,   t_prepare, NULL };

static int async_read(const struct catalog_files *f, struct trace *t, struct ms_error *err)
{
	struct catalog_files_sink sink = async_sink;

	sink.payload = t;
	return catalog_files_read(f, &sink, err);
}

static char paths_buf[24][4096];

static void set_files(struct catalog_files *f, const char *const *rel, size_t n,
                      enum catalog_format *fmts, const char **paths)
{
	static const struct catalog_read_opts opts = { NULL, NULL };
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(paths_buf[i], sizeof(paths_buf[i]), "%s", ms_test_src_path(rel[i]));
		paths[i] = paths_buf[i];
		fmts[i] = CATALOG_FORMAT_UNKNOWN;
	}
	f->paths = paths;
	f->fmts = fmts;
	f->n = n;
	f->opts = &opts;
}

/* Reads the files both ways and checks that everything agrees. */
static void compare(const char *const *rel, size_t n, long fail_at)
{
	struct trace ts = { MS_BUF_INIT, fail_at, 0 }, ta = { MS_BUF_INIT, fail_at, 0 };
	struct ms_error es = MS_ERROR_INIT, ea = MS_ERROR_INIT;
	struct catalog_files f;
	enum catalog_format fmts[24];
	const char *paths[24];
	int rs, ra;

	set_files(&f, rel, n, fmts, paths);
	rs = serial_read(&f, &ts, &es);
	ra = async_read(&f, &ta, &ea);
	assert_int_equal(ra, rs);
	assert_string_equal(ta.out.buf, ts.out.buf);
	assert_string_equal(ea.msg, es.msg);
	assert_string_equal(ea.path, es.path);
	assert_int_equal(ea.line, es.line);
	ms_buf_release(&ts.out);
	ms_buf_release(&ta.out);
}

static void test_same_as_serial(void **state)
{
	static const char *const rel[] = {
		"data/catalogs/sample-icd-o-3.xml",
		"data/catalogs/goae-excerpt.csv",
		"data/catalogs/icd10gm2010alpha-excerpt.txt",
		"data/catalogs/icd10gm2025-excerpt/icd10gm2025syst_kodes.txt",
		"data/catalogs/sample-icd-10-gm.xml",
	};

	(void)state;
	compare(rel, 5, -1);
}

static void test_reader_error(void **state)
{
	static const char *const rel[] = {
		"data/catalogs/goae-excerpt.csv",
		"tests/data/catalog/truncated-claml.xml",
		"data/catalogs/sample-icd-o-3.xml",
	};
	static const char *const missing[] = {
		"data/catalogs/goae-excerpt.csv",
		"tests/data/catalog/does-not-exist.xml",
	};

	(void)state;
	compare(rel, 3, -1);
	compare(missing, 2, -1);
}

/*
 * A callback fails early, late, and at the very end; with twenty copies of
 * the index excerpt (about 6,000 terms) the reader is still busy, or waits
 * for a free batch, when the first two happen.
 */
static void test_callback_error(void **state)
{
	const char *rel[20];
	size_t i;

	(void)state;
	for (i = 0; i < 20; i++)
		rel[i] = "data/catalogs/icd10gm2010alpha-excerpt.txt";
	compare(rel, 20, 3);
	compare(rel, 20, 2000);
	compare(rel, 1, 0);
	compare(rel, 1, 295 + 2);
}

static void test_alloc_failures(void **state)
{
	static const char *const rel[] = {
		"data/catalogs/sample-icd-o-3.xml",
		"data/catalogs/icd10gm2010alpha-excerpt.txt",
	};
	struct catalog_files f;
	enum catalog_format fmts[24];
	const char *paths[24];
	long n;
	int rc = MS_ENOMEM;

	(void)state;
	set_files(&f, rel, 2, fmts, paths);
	for (n = 0; rc == MS_ENOMEM && n < 100000; n++) {
		struct trace t = { MS_BUF_INIT, -1, 0 };
		struct ms_error err = MS_ERROR_INIT;

		ms_alloc_fail_after(n);
		rc = async_read(&f, &t, &err);
		ms_alloc_fail_after(-1);
		assert_true(rc == 0 || rc == MS_ENOMEM);
		ms_buf_release(&t.out);
	}
	assert_int_equal(rc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_serial),
		cmocka_unit_test(test_reader_error),
		cmocka_unit_test(test_callback_error),
		cmocka_unit_test(test_alloc_failures),
	};

	if (ms_hash_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
