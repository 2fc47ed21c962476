/* SPDX-License-Identifier: MIT */
/*
 * The per-record pipeline: detection (a callback), replacement and the
 * JSONL line on worker threads, results emitted in push order. Not the
 * reading (the caller pushes documents) nor the writing (the caller's emit
 * callback does that, on its own thread).
 *
 * Workers take queued records in order from a ring of jobs; the pushing
 * thread emits the oldest finished job and only reuses its slot afterwards,
 * so the ring doubles as the reorder buffer and memory stays bounded by the
 * ring size. Each job copies its document into its own arena (the reader
 * reuses its memory for the next record) and, when done, the result (the
 * replacer reuses its memory for the next run). With one thread nothing is
 * copied: the caller's thread detects, replaces and emits directly.
 */
#include "deid/deid.h"

#include <pthread.h>
#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"

#define JOBS_PER_THREAD 4
#define MAX_THREADS     256

enum job_state {
	JOB_FREE = 0,
	JOB_READY, /* queued */
	JOB_BUSY,  /* a worker has it */
	JOB_DONE
};

struct job {
	enum job_state state;
	size_t input;
	struct ms_arena arena; /* the document and result copies */
	struct deid_doc doc;
	struct deid_replaced res;
	struct ms_buf line;
	bool rejected;
	bool pre_rejected; /* rejected before detection: no document */
	struct ms_error reject;
	int status; /* a failure that stops the pipeline */
	struct ms_error err;
};

struct worker {
	struct deid_pipeline *p;
	pthread_t thread;
	bool started;
	void *det;
	struct deid_replacer *rep;
	struct deid_spans spans;
	struct deid_stage_times times; /* REPLACE and WRITE, with time_stages */
};

struct deid_pipeline {
	struct deid_key key;
	struct deid_replace_opts replace;
	struct deid_pipeline_detector det;
	unsigned write_flags;
	bool time_stages;
	deid_pipeline_emit_fn emit;
	void *payload;

	struct worker *workers;
	size_t n_workers;
	bool threaded;

	struct job *jobs;
	size_t n_jobs;
	size_t next_seq, take_seq, emit_seq;
	pthread_mutex_t mu;
	pthread_cond_t cond_ready, cond_done;
	bool sync_init, stop;

	int status; /* sticky: the first failure */
	struct ms_error err;

	/* one thread: the result is emitted straight from the worker */
	struct ms_buf line;
	struct ms_error reject;
};

static int fail(struct deid_pipeline *p, int rc, const struct ms_error *e, struct ms_error *err)
{
	if (!p->status) {
		p->status = rc;
		if (e)
			p->err = *e;
	}
	if (err && !err->code && p->err.code)
		*err = p->err;
	return p->status;
}

/* ---- one record -------------------------------------------------------- */

/*
 * Detects, replaces and writes the line. Returns 0 (*rejected tells whether
 * detection rejected the record) or a failure that stops the pipeline.
 */
static int process(struct worker *w, const struct deid_doc *doc, struct ms_buf *line,
                   const struct deid_replaced **res_out, bool *rejected, struct ms_error *reject,
                   struct ms_error *err)
{
	struct deid_pipeline *p = w->p;
	struct ms_error e = MS_ERROR_INIT;
	uint64_t t, t2;
	int rc;

	*res_out = NULL;
	*rejected = false;
	deid_spans_reset(&w->spans);
	rc = p->det.run(w->det, doc, &w->spans, &e);
	if (rc == MS_EINVAL || rc == MS_ETOOBIG || rc == MS_EUNICODE || rc == MS_EREGEX) {
		*reject = e;
		if (!reject->code)
			reject->code = rc;
		ms_error_set_record(reject, doc->record);
		*rejected = true;
		return 0;
	}
	if (rc) {
		*err = e;
		return ms_error_set(err, rc, "detection failed");
	}
	t = p->time_stages ? deid_clock_ns() : 0;
	rc = deid_replacer_run(w->rep, doc, w->spans.v, w->spans.n, res_out, err);
	if (rc)
		return rc;
	if (p->time_stages) {
		t2 = deid_clock_ns();
		w->times.ns[DEID_STAGE_REPLACE] += t2 - t;
		t = t2;
	}
	ms_buf_reset(line);
	rc = deid_replaced_write_jsonl(line, doc, *res_out, p->write_flags);
	if (rc)
		return ms_error_set(err, rc, "out of memory");
	if (p->time_stages)
		w->times.ns[DEID_STAGE_WRITE] += deid_clock_ns() - t;
	return 0;
}

/* ---- copies into a job's arena ------------------------------------------ */

static const char *arena_dup(struct ms_arena *a, const char *s, size_t len, bool *ok)
{
	char *c;

	if (!s)
		return NULL;
	c = ms_arena_strndup(a, s, len);
	if (!c)
		*ok = false;
	return c;
}

static bool copy_doc(struct job *j, const struct deid_doc *src)
{
	struct ms_arena *a = &j->arena;
	struct deid_doc *d = &j->doc;
	struct deid_field *fields = NULL;
	struct deid_label *labels = NULL;
	bool ok = true;
	size_t i;

	ms_arena_reset(a);
	*d = *src;
	d->id = arena_dup(a, src->id, strlen(src->id), &ok);
	d->group = arena_dup(a, src->group, src->group ? strlen(src->group) : 0, &ok);
	d->text = arena_dup(a, src->text, src->len, &ok);
	if (src->n_fields) {
		fields = ms_arena_calloc(a, src->n_fields, sizeof(*fields));
		ok = ok && fields;
		for (i = 0; ok && i < src->n_fields; i++) {
			fields[i] = src->fields[i];
			fields[i].value =
			        arena_dup(a, src->fields[i].value, src->fields[i].len, &ok);
		}
	}
	d->fields = fields;
	if (src->n_labels) {
		labels = ms_arena_calloc(a, src->n_labels, sizeof(*labels));
		ok = ok && labels;
		for (i = 0; ok && i < src->n_labels; i++) {
			const char *sys = src->labels[i].system;

			labels[i].code =
			        arena_dup(a, src->labels[i].code, strlen(src->labels[i].code), &ok);
			labels[i].system = arena_dup(a, sys, sys ? strlen(sys) : 0, &ok);
		}
	}
	d->labels = labels;
	return ok;
}

static bool copy_result(struct job *j, const struct deid_replaced *res)
{
	struct ms_arena *a = &j->arena;
	struct deid_out_span *spans = NULL;
	bool ok = true;

	j->res = *res;
	j->res.text = arena_dup(a, res->text, res->len, &ok);
	j->res.id = arena_dup(a, res->id, strlen(res->id), &ok);
	j->res.group = arena_dup(a, res->group, res->group ? strlen(res->group) : 0, &ok);
	if (res->n_spans) {
		spans = ms_arena_alloc(a, res->n_spans * sizeof(*spans));
		if (spans)
			memcpy(spans, res->spans, res->n_spans * sizeof(*spans));
		ok = ok && spans;
	}
	j->res.spans = spans;
	return ok;
}

/* ---- workers ----------------------------------------------------------- */

static void run_job(struct worker *w, struct job *j)
{
	const struct deid_replaced *res = NULL;

	if (j->pre_rejected) {
		j->status = 0;
		j->rejected = true;
		return;
	}
	ms_error_clear(&j->err);
	ms_error_clear(&j->reject);
	j->status = process(w, &j->doc, &j->line, &res, &j->rejected, &j->reject, &j->err);
	if (!j->status && res && !copy_result(j, res))
		j->status = ms_error_set(&j->err, MS_ENOMEM, "out of memory");
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct deid_pipeline *p = w->p;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct job *j;

		while (!p->stop && p->take_seq == p->next_seq)
			pthread_cond_wait(&p->cond_ready, &p->mu);
		if (p->stop)
			break;
		j = &p->jobs[p->take_seq++ % p->n_jobs];
		j->state = JOB_BUSY;
		pthread_mutex_unlock(&p->mu);
		run_job(w, j);
		pthread_mutex_lock(&p->mu);
		j->state = JOB_DONE;
		pthread_cond_broadcast(&p->cond_done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int worker_open(struct deid_pipeline *p, struct worker *w, struct ms_error *err)
{
	int rc;

	w->p = p;
	rc = deid_replacer_new(&w->rep, &p->replace, err);
	if (!rc)
		rc = p->det.open(&w->det, p->det.payload, err);
	return rc;
}

static void worker_close(struct deid_pipeline *p, struct worker *w)
{
	if (w->det)
		p->det.close(w->det);
	w->det = NULL;
	deid_replacer_free(w->rep);
	w->rep = NULL;
	deid_spans_release(&w->spans);
}

/* ---- the pipeline ------------------------------------------------------ */

int deid_pipeline_new(struct deid_pipeline **out, const struct deid_pipeline_opts *opts,
                      struct ms_error *err)
{
	struct deid_pipeline *p;
	size_t i;
	int rc;

	*out = NULL;
	if (!opts->replace || !opts->replace->key || !opts->detector || !opts->detector->open ||
	    !opts->detector->run || !opts->detector->close || !opts->emit)
		return ms_error_set(err, MS_EUSAGE, "incomplete pipeline options");
	if (opts->n_threads > MAX_THREADS)
		return ms_error_set(err, MS_EUSAGE, "at most %d threads", MAX_THREADS);
	p = ms_calloc(1, sizeof(*p));
	if (!p)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	p->key = *opts->replace->key;
	p->replace = *opts->replace;
	p->replace.key = &p->key;
	p->det = *opts->detector;
	p->write_flags = opts->write_flags;
	p->time_stages = opts->time_stages;
	p->emit = opts->emit;
	p->payload = opts->payload;
	p->threaded = opts->n_threads > 1;
	p->n_workers = p->threaded ? opts->n_threads : 1;
	ms_buf_init(&p->line, 0);
	p->workers = ms_calloc(p->n_workers, sizeof(*p->workers));
	if (!p->workers || ms_buf_grow(&p->line, 256)) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < p->n_workers; i++) {
		rc = worker_open(p, &p->workers[i], err);
		if (rc)
			goto fail;
	}
	if (!p->threaded) {
		*out = p;
		return 0;
	}
	p->n_jobs = JOBS_PER_THREAD * p->n_workers;
	p->jobs = ms_calloc(p->n_jobs, sizeof(*p->jobs));
	if (!p->jobs) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < p->n_jobs; i++) {
		ms_arena_init(&p->jobs[i].arena, (size_t)64 * 1024);
		ms_buf_init(&p->jobs[i].line, 0);
		/* owned memory: resetting the shared empty string would race */
		if (ms_buf_grow(&p->jobs[i].line, 256)) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		rc = ms_error_set(err, MS_ENOMEM, "cannot create a mutex");
		goto fail;
	}
	if (pthread_cond_init(&p->cond_ready, NULL) != 0) {
		pthread_mutex_destroy(&p->mu);
		rc = ms_error_set(err, MS_ENOMEM, "cannot create a condition variable");
		goto fail;
	}
	if (pthread_cond_init(&p->cond_done, NULL) != 0) {
		pthread_cond_destroy(&p->cond_ready);
		pthread_mutex_destroy(&p->mu);
		rc = ms_error_set(err, MS_ENOMEM, "cannot create a condition variable");
		goto fail;
	}
	p->sync_init = true;
	for (i = 0; i < p->n_workers; i++) {
		if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) {
			rc = ms_error_set(err, MS_ENOMEM, "cannot start worker thread %zu", i + 1);
			goto fail;
		}
		p->workers[i].started = true;
	}
	*out = p;
	return 0;
fail:
	deid_pipeline_free(p);
	return rc;
}

static int emit_item(struct deid_pipeline *p, const struct deid_doc *doc, size_t input,
                     const struct deid_replaced *res, bool rejected, const struct ms_error *reject,
                     const struct ms_buf *line, struct ms_error *err)
{
	struct deid_pipeline_item item;
	struct ms_error e = MS_ERROR_INIT;
	int rc;

	memset(&item, 0, sizeof(item));
	item.doc = doc;
	item.input = input;
	if (rejected) {
		item.reject = reject;
	} else {
		item.res = res;
		item.line = line->buf;
		item.len = line->len;
	}
	rc = p->emit(&item, &e, p->payload);
	if (rc)
		return fail(p, rc, &e, err);
	return 0;
}

/* Emits the oldest job (which must be done) and frees its slot. */
static int emit_job(struct deid_pipeline *p, struct ms_error *err)
{
	struct job *j = &p->jobs[p->emit_seq % p->n_jobs];
	int rc;

	if (j->status)
		return fail(p, j->status, &j->err, err);
	rc = emit_item(p, j->pre_rejected ? NULL : &j->doc, j->input, &j->res, j->rejected,
	               &j->reject, &j->line, err);
	pthread_mutex_lock(&p->mu);
	j->state = JOB_FREE;
	p->emit_seq++;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Emits finished jobs in order; with wait, until every queued job is out. */
static int emit_done(struct deid_pipeline *p, bool wait, struct ms_error *err)
{
	int rc;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&p->mu);
		if (p->emit_seq == p->next_seq) {
			pthread_mutex_unlock(&p->mu);
			return 0;
		}
		j = &p->jobs[p->emit_seq % p->n_jobs];
		while (wait && j->state != JOB_DONE)
			pthread_cond_wait(&p->cond_done, &p->mu);
		if (j->state != JOB_DONE) {
			pthread_mutex_unlock(&p->mu);
			return 0;
		}
		pthread_mutex_unlock(&p->mu);
		rc = emit_job(p, err);
		if (rc)
			return rc;
	}
}

static int push_inline(struct deid_pipeline *p, const struct deid_doc *doc, size_t input,
                       struct ms_error *err)
{
	const struct deid_replaced *res = NULL;
	struct ms_error e = MS_ERROR_INIT;
	bool rejected;
	int rc;

	ms_error_clear(&p->reject);
	rc = process(&p->workers[0], doc, &p->line, &res, &rejected, &p->reject, &e);
	if (rc)
		return fail(p, rc, &e, err);
	return emit_item(p, doc, input, res, rejected, &p->reject, &p->line, err);
}

/* Waits for the next slot of the ring (emitting the oldest job if full). */
static int take_slot(struct deid_pipeline *p, struct job **out, struct ms_error *err)
{
	struct job *j = &p->jobs[p->next_seq % p->n_jobs];
	int rc;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		if (j->state == JOB_FREE) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		/* the ring is full: j is the oldest job; wait for it and emit it */
		while (j->state != JOB_DONE)
			pthread_cond_wait(&p->cond_done, &p->mu);
		pthread_mutex_unlock(&p->mu);
		rc = emit_job(p, err);
		if (rc)
			return rc;
	}
	/* a free slot belongs to the pushing thread alone until published */
	*out = j;
	return 0;
}

/* Hands the filled slot to the workers and emits what is finished. */
static int publish(struct deid_pipeline *p, struct job *j, struct ms_error *err)
{
	pthread_mutex_lock(&p->mu);
	j->state = JOB_READY;
	p->next_seq++;
	pthread_cond_signal(&p->cond_ready);
	pthread_mutex_unlock(&p->mu);
	return emit_done(p, false, err);
}

int deid_pipeline_push(struct deid_pipeline *p, const struct deid_doc *doc, size_t input,
                       struct ms_error *err)
{
	struct job *j = NULL;
	int rc;

	if (p->status)
		return fail(p, p->status, NULL, err);
	if (!p->threaded)
		return push_inline(p, doc, input, err);
	rc = take_slot(p, &j, err);
	if (rc)
		return rc;
	j->input = input;
	j->pre_rejected = false;
	if (!copy_doc(j, doc)) {
		struct ms_error e = MS_ERROR_INIT;

		ms_error_set(&e, MS_ENOMEM, "out of memory");
		return fail(p, MS_ENOMEM, &e, err);
	}
	return publish(p, j, err);
}

void deid_pipeline_stage_times(const struct deid_pipeline *p, struct deid_stage_times *sum)
{
	size_t i, k;

	for (i = 0; i < p->n_workers; i++) {
		for (k = 0; k < DEID_STAGE_COUNT; k++)
			sum->ns[k] += p->workers[i].times.ns[k];
	}
}

int deid_pipeline_push_reject(struct deid_pipeline *p, size_t input, const struct ms_error *reject,
                              struct ms_error *err)
{
	struct job *j = NULL;
	int rc;

	if (p->status)
		return fail(p, p->status, NULL, err);
	if (!p->threaded)
		return emit_item(p, NULL, input, NULL, true, reject, &p->line, err);
	rc = take_slot(p, &j, err);
	if (rc)
		return rc;
	j->input = input;
	j->pre_rejected = true;
	j->reject = *reject;
	return publish(p, j, err);
}

int deid_pipeline_flush(struct deid_pipeline *p, struct ms_error *err)
{
	if (p->status)
		return fail(p, p->status, NULL, err);
	if (!p->threaded)
		return 0;
	return emit_done(p, true, err);
}

void deid_pipeline_free(struct deid_pipeline *p)
{
	size_t i;

	if (!p)
		return;
	if (p->sync_init) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_broadcast(&p->cond_ready);
		pthread_mutex_unlock(&p->mu);
	}
	for (i = 0; p->workers && i < p->n_workers; i++) {
		if (p->workers[i].started)
			pthread_join(p->workers[i].thread, NULL);
	}
	for (i = 0; p->workers && i < p->n_workers; i++)
		worker_close(p, &p->workers[i]);
	if (p->sync_init) {
		pthread_cond_destroy(&p->cond_done);
		pthread_cond_destroy(&p->cond_ready);
		pthread_mutex_destroy(&p->mu);
	}
	for (i = 0; p->jobs && i < p->n_jobs; i++) {
		ms_arena_release(&p->jobs[i].arena);
		ms_buf_release(&p->jobs[i].line);
	}
	ms_free(p->jobs);
	ms_free(p->workers);
	ms_buf_release(&p->line);
	deid_key_wipe(&p->key);
	ms_free(p);
}
