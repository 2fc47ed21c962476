/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/pipeline.c with a fake detector: output identical for
 * every thread count and in push order, rejects from detection, failures
 * that stop the pipeline, and documents copied so the caller may reuse its
 * memory at once.
 */
#include "ms_test.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "deid/deid.h"

static struct deid_key key;

/* The fake: every run of digits is an ID, "Müller" a PATIENT. */
struct fake {
	int n_open;
};

static int fake_open(void **out, void *payload, struct ms_error *err)
{
	struct fake *f = payload;

	(void)err;
	f->n_open++;
	*out = f;
	return 0;
}

static void fake_close(void *w)
{
	(void)w;
}

static int fake_run(void *w, const struct deid_doc *doc, struct deid_spans *spans,
                    struct ms_error *err)
{
	size_t i = 0;
	volatile unsigned spin = 0;

	(void)w;
	if (strstr(doc->text, "REJECT"))
		return ms_error_set(err, MS_EINVAL, "fake detector rejects record %zu",
		                    doc->record);
	if (strstr(doc->text, "FATAL"))
		return ms_error_set(err, MS_EIO, "fake detector broke");
	/* uneven work, so that workers finish out of order */
	for (spin = 0; spin < (doc->record % 7) * 20000; spin++)
		;
	while (i < doc->len) {
		struct deid_span sp;

		memset(&sp, 0, sizeof(sp));
		sp.field = -1;
		sp.source = "fake";
		if (doc->text[i] >= '0' && doc->text[i] <= '9') {
			sp.start = i;
			while (i < doc->len && doc->text[i] >= '0' && doc->text[i] <= '9')
				i++;
			sp.end = i;
			sp.label = PHI_ID;
		} else if (!strncmp(doc->text + i, "Müller", 7)) {
			sp.start = i;
			sp.end = i + 7;
			sp.label = PHI_PATIENT;
			i += 7;
		} else {
			i++;
			continue;
		}
		if (deid_spans_add(spans, &sp))
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	return 0;
}

struct sink {
	struct ms_buf out;
	size_t n_docs, n_rejects, last_input;
	int fail_at; /* emit fails at this item (1-based), 0: never */
	size_t n_items;
};

static int sink_emit(const struct deid_pipeline_item *item, struct ms_error *err, void *payload)
{
	struct sink *s = payload;

	s->n_items++;
	assert_true(item->input > s->last_input);
	s->last_input = item->input;
	if (s->fail_at && (size_t)s->fail_at == s->n_items)
		return ms_error_set(err, MS_EIO, "sink full");
	if (item->reject) {
		s->n_rejects++;
		ms_buf_addf(&s->out, "reject %zu: %s\n",
		            item->doc ? item->doc->record : item->reject->record,
		            item->reject->msg);
		return 0;
	}
	s->n_docs++;
	assert_non_null(item->res);
	assert_int_equal(item->line[item->len - 1], '\n');
	ms_buf_add(&s->out, item->line, item->len);
	return 0;
}

/*
 * Pushes n documents through n_threads workers into s; returns the status.
 * With times, the pipeline times its stages and adds them to *times.
 */
static int run_docs_timed(unsigned n_threads, size_t n, struct sink *s, const char *special,
                          size_t special_at, struct deid_stage_times *times)
{
	struct fake f = { 0 };
	struct deid_replace_opts ro = { DEID_MODE_SURROGATE, &key };
	struct deid_pipeline_detector det = { fake_open, fake_run, fake_close, &f };
	struct deid_pipeline_opts po;
	struct deid_pipeline *p;
	struct ms_error err = MS_ERROR_INIT;
	char text[256], id[32], group[32];
	struct deid_doc doc;
	size_t i;
	int rc = 0;

	memset(&po, 0, sizeof(po));
	po.n_threads = n_threads;
	po.write_flags = DEID_WRITE_SPANS;
	po.replace = &ro;
	po.detector = &det;
	po.emit = sink_emit;
	po.payload = s;
	po.time_stages = times != NULL;
	assert_int_equal(deid_pipeline_new(&p, &po, &err), 0);
	assert_int_equal(f.n_open, n_threads > 1 ? (int)n_threads : 1);
	for (i = 1; i <= n && !rc; i++) {
		/* the same buffers for every document: the pipeline must copy */
		snprintf(text, sizeof(text), "Herr Müller, PID %zu, Fall %zu. %s", 1000 + i * 7,
		         i % 13, i == special_at ? special : "");
		snprintf(id, sizeof(id), "doc-%zu", i);
		snprintf(group, sizeof(group), "pat-%zu", i % 17);
		memset(&doc, 0, sizeof(doc));
		doc.id = id;
		doc.group = group;
		doc.text = text;
		doc.len = strlen(text);
		doc.record = i;
		if (i == special_at && !strcmp(special, "READER")) {
			/* rejected before detection, as a reader does */
			struct ms_error why = MS_ERROR_INIT;

			ms_error_set(&why, MS_EINVAL, "reader rejects record %zu", i);
			ms_error_set_record(&why, i);
			rc = deid_pipeline_push_reject(p, i, &why, &err);
			continue;
		}
		rc = deid_pipeline_push(p, &doc, i, &err);
	}
	if (!rc)
		rc = deid_pipeline_flush(p, &err);
	if (rc)
		assert_true(err.code != 0);
	if (!rc && times)
		deid_pipeline_stage_times(p, times);
	deid_pipeline_free(p);
	return rc;
}

static int run_docs(unsigned n_threads, size_t n, struct sink *s, const char *special,
                    size_t special_at)
{
	return run_docs_timed(n_threads, n, s, special, special_at, NULL);
}

static void test_thread_counts_agree(void **state)
{
	static const unsigned threads[] = { 1, 2, 3, 4, 8 };
	struct sink first = { MS_BUF_INIT, 0, 0, 0, 0, 0 };
	size_t t;

	(void)state;
	assert_int_equal(run_docs(0, 500, &first, "", 0), 0);
	assert_int_equal(first.n_docs, 500);
	assert_null(strstr(first.out.buf, "Müller"));
	assert_non_null(strstr(first.out.buf, "\"label\":\"PATIENT\""));
	for (t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		struct sink s = { MS_BUF_INIT, 0, 0, 0, 0, 0 };

		assert_int_equal(run_docs(threads[t], 500, &s, "", 0), 0);
		assert_int_equal(s.out.len, first.out.len);
		if (strcmp(s.out.buf, first.out.buf) != 0)
			fail_msg("output with %u threads differs", threads[t]);
		ms_buf_release(&s.out);
	}
	ms_buf_release(&first.out);
}

/* A reject reaches emit() after exactly the records before it. */
static void expect_reject_at(unsigned threads, const char *kind, const char *msg)
{
	struct sink s = { MS_BUF_INIT, 0, 0, 0, 0, 0 };
	const char *r, *q;
	size_t lines = 0;

	assert_int_equal(run_docs(threads, 60, &s, kind, 40), 0);
	assert_int_equal(s.n_docs, 59);
	assert_int_equal(s.n_rejects, 1);
	r = strstr(s.out.buf, msg);
	assert_non_null(r);
	for (q = s.out.buf; q < r; q++)
		lines += *q == '\n';
	assert_int_equal(lines, 39);
	ms_buf_release(&s.out);
}

static void test_rejects_in_order(void **state)
{
	unsigned t;

	(void)state;
	for (t = 1; t <= 4; t += 3) {
		expect_reject_at(t, "REJECT", "reject 40: fake detector rejects record 40\n");
		expect_reject_at(t, "READER", "reject 40: reader rejects record 40\n");
	}
}

static void test_failures_stop(void **state)
{
	unsigned t;

	(void)state;
	for (t = 1; t <= 4; t += 3) {
		struct sink s = { MS_BUF_INIT, 0, 0, 0, 0, 0 };
		struct sink s2 = { MS_BUF_INIT, 0, 0, 0, 0, 0 };

		/* a detector failure: everything before it was emitted, nothing after */
		assert_int_equal(run_docs(t, 100, &s, "FATAL", 30), MS_EIO);
		assert_int_equal(s.n_docs, 29);
		/* the sink fails */
		s2.fail_at = 10;
		assert_int_equal(run_docs(t, 100, &s2, "", 0), MS_EIO);
		assert_int_equal(s2.n_items, 10);
		ms_buf_release(&s.out);
		ms_buf_release(&s2.out);
	}
}

/* The pipeline times replacing and writing on every worker; detection is
 * the detector's to time, reading the caller's. */
static void test_stage_times(void **state)
{
	unsigned threads[] = { 1, 3 };
	size_t i, k;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct sink s = { MS_BUF_INIT, 0, 0, 0, 0, 0 };
		struct deid_stage_times t;

		memset(&t, 0, sizeof(t));
		assert_int_equal(run_docs_timed(threads[i], 40, &s, "", 0, &t), 0);
		assert_int_equal(s.n_docs, 40);
		for (k = 0; k < DEID_STAGE_COUNT; k++) {
			if (k == DEID_STAGE_REPLACE || k == DEID_STAGE_WRITE)
				assert_true(t.ns[k] > 0);
			else
				assert_true(t.ns[k] == 0);
		}
		ms_buf_release(&s.out);
	}
	for (k = 0; k < DEID_STAGE_COUNT; k++)
		assert_string_not_equal(deid_stage_name((enum deid_stage)k), "?");
	assert_string_equal(deid_stage_name(DEID_STAGE_COUNT), "?");
	assert_string_equal(deid_stage_name(DEID_STAGE_GAZETTEERS), "gazetteers");
}

static void test_bad_options(void **state)
{
	struct deid_pipeline_opts po;
	struct deid_pipeline *p = NULL;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	memset(&po, 0, sizeof(po));
	assert_int_equal(deid_pipeline_new(&p, &po, &err), MS_EUSAGE);
	assert_null(p);
	deid_pipeline_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_counts_agree), cmocka_unit_test(test_rejects_in_order),
		cmocka_unit_test(test_failures_stop),       cmocka_unit_test(test_stage_times),
		cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
