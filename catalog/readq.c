/* SPDX-License-Identifier: MIT */
/*
 * Reading the files of an import on a second thread: the readers (and the
 * SHA-256 of each file) run there, the caller's thread gets their records
 * through a small queue of batches and writes them to SQLite meanwhile.
 * Not for anything but catalog_store_import(): callbacks run in file order
 * on the calling thread, exactly as a serial read would call them.
 */
#include "catalog/catalog_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/hash.h"

/*
 * Batches in flight and their size: enough that neither thread waits on
 * the other for long, small enough that memory stays flat (a batch of
 * code-list entries with their metadata is about 1 MiB).
 */
#define READQ_BATCHES   4
#define READQ_BATCH_REC 512
#define READQ_BATCH_MEM ((size_t)512 * 1024)
#define READQ_TERM_RUN  64 /* terms handed over in one call at most */

enum rec_kind { REC_FILE_BEGIN, REC_BEGIN, REC_ENTRY, REC_TERM, REC_FILE_END, REC_END };

struct rec {
	enum rec_kind kind;
	size_t file;
	union {
		struct catalog_info info;
		struct catalog_entry entry;
		struct catalog_term term;
	} u;
	const char *extra; /* FILE_BEGIN: SHA-256 hex; ENTRY: prepared text */
};

struct batch {
	struct rec recs[READQ_BATCH_REC];
	size_t n;
	struct ms_arena arena;
	struct batch *next;
};

struct readq {
	const struct catalog_files *files;
	const struct catalog_files_sink *sink;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct batch *free_list;
	struct batch *full_head, *full_tail;
	/* set by the consumer: stop reading (also read outside the lock, so
	 * that a reader that is not waiting stops at its next record) */
	atomic_bool cancel;
	/* producer side (reader thread only) */
	struct batch *cur;
	size_t file;
	struct ms_buf extra;
	struct catalog_term *run; /* consumer: READQ_TERM_RUN terms for sink->terms */
	int rc;                   /* the reader thread's result */
	struct ms_error error;    /* ... and its error */
};

/* ---- producer (reader thread) ---------------------------------------- */

/* Hands the current batch to the consumer and takes a free one. */
static int flush_batch(struct readq *q, bool last)
{
	struct batch *b = q->cur;
	int rc = 0;

	pthread_mutex_lock(&q->lock);
	b->next = NULL;
	if (q->full_tail)
		q->full_tail->next = b;
	else
		q->full_head = b;
	q->full_tail = b;
	q->cur = NULL;
	pthread_cond_broadcast(&q->changed);
	while (!last && !q->cancel && !q->free_list)
		pthread_cond_wait(&q->changed, &q->lock);
	if (!last && !q->cancel) {
		q->cur = q->free_list;
		q->free_list = q->cur->next;
		q->cur->n = 0;
		ms_arena_reset(&q->cur->arena);
	}
	if (q->cancel)
		rc = MS_EUSAGE; /* the consumer stopped; this result is not reported */
	pthread_mutex_unlock(&q->lock);
	return rc;
}

static struct rec *new_rec(struct readq *q, enum rec_kind kind, struct ms_error *err)
{
	struct rec *r;

	if (atomic_load_explicit(&q->cancel, memory_order_relaxed)) {
		ms_error_set(err, MS_EUSAGE, "import stopped");
		return NULL;
	}
	if (q->cur->n == READQ_BATCH_REC || q->cur->arena.used_total > READQ_BATCH_MEM) {
		if (flush_batch(q, false)) {
			ms_error_set(err, MS_EUSAGE, "import stopped");
			return NULL;
		}
	}
	r = &q->cur->recs[q->cur->n++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->file = q->file;
	return r;
}

static int nomem(struct ms_error *err)
{
	return ms_error_set(err, MS_ENOMEM, "out of memory");
}

/*
 * Takes back the record new_rec just made (a copy into it failed): the
 * consumer must not get it half made; the reader's error follows instead.
 */
static int drop_rec(struct readq *q, struct ms_error *err)
{
	q->cur->n--;
	return nomem(err);
}

/* Copies s (may be NULL) into the arena; *ok false on OOM. */
static const char *dup(struct ms_arena *a, const char *s, bool *ok)
{
	char *p;

	if (!s)
		return NULL;
	p = ms_arena_strdup(a, s);
	if (!p)
		*ok = false;
	return p;
}

static int q_begin(void *payload, const struct catalog_info *info, struct ms_error *err)
{
	struct readq *q = payload;
	struct rec *r = new_rec(q, REC_BEGIN, err);
	struct ms_arena *a;
	bool ok = true;

	if (!r)
		return MS_EUSAGE;
	a = &q->cur->arena;
	r->u.info.system = dup(a, info->system, &ok);
	r->u.info.version = dup(a, info->version, &ok);
	r->u.info.part = dup(a, info->part, &ok);
	r->u.info.title = dup(a, info->title, &ok);
	r->u.info.date = dup(a, info->date, &ok);
	r->u.info.format = dup(a, info->format, &ok);
	r->u.info.lang = dup(a, info->lang, &ok);
	return ok ? 0 : drop_rec(q, err);
}

static struct catalog_rubric *dup_rubrics(struct ms_arena *a, const struct catalog_entry *e,
                                          bool *ok)
{
	struct catalog_rubric *rs;
	size_t i, k;

	if (!e->n_rubrics)
		return NULL;
	rs = ms_arena_calloc(a, e->n_rubrics, sizeof(*rs));
	if (!rs) {
		*ok = false;
		return NULL;
	}
	for (i = 0; i < e->n_rubrics && *ok; i++) {
		const struct catalog_rubric *src = &e->rubrics[i];
		struct catalog_ref *refs = NULL;

		rs[i].kind = dup(a, src->kind, ok);
		rs[i].text = dup(a, src->text, ok);
		rs[i].usage = dup(a, src->usage, ok);
		if (src->n_refs) {
			refs = ms_arena_calloc(a, src->n_refs, sizeof(*refs));
			*ok = *ok && refs;
		}
		for (k = 0; refs && k < src->n_refs; k++) {
			refs[k].code = dup(a, src->refs[k].code, ok);
			refs[k].usage = dup(a, src->refs[k].usage, ok);
		}
		rs[i].refs = refs;
		rs[i].n_refs = refs ? src->n_refs : 0;
	}
	return rs;
}

static struct catalog_meta *dup_meta(struct ms_arena *a, const struct catalog_entry *e, bool *ok)
{
	struct catalog_meta *m;
	size_t i;

	if (!e->n_meta)
		return NULL;
	m = ms_arena_calloc(a, e->n_meta, sizeof(*m));
	if (!m) {
		*ok = false;
		return NULL;
	}
	for (i = 0; i < e->n_meta; i++) {
		m[i].name = dup(a, e->meta[i].name, ok);
		m[i].value = dup(a, e->meta[i].value, ok);
	}
	return m;
}

static int q_entry(void *payload, const struct catalog_entry *e, struct ms_error *err)
{
	struct readq *q = payload;
	struct rec *r = new_rec(q, REC_ENTRY, err);
	struct catalog_entry *c;
	struct ms_arena *a;
	bool ok = true;

	if (!r)
		return MS_EUSAGE;
	a = &q->cur->arena;
	c = &r->u.entry;
	*c = *e;
	c->code = dup(a, e->code, &ok);
	c->kind = dup(a, e->kind, &ok);
	c->parent = dup(a, e->parent, &ok);
	c->usage = dup(a, e->usage, &ok);
	c->label = dup(a, e->label, &ok);
	c->rubrics = dup_rubrics(a, e, &ok);
	/* what prepare makes of the entry stands for its metadata (see
	 * struct catalog_files_sink): no copy of 2 strings per field */
	if (!q->sink->prepare) {
		c->meta = dup_meta(a, e, &ok);
		return ok ? 0 : drop_rec(q, err);
	}
	c->meta = NULL;
	c->n_meta = 0;
	if (!ok)
		return drop_rec(q, err);
	ms_buf_reset(&q->extra);
	if (q->sink->prepare(e, &q->extra))
		return drop_rec(q, err);
	if (q->extra.len)
		r->extra = ms_arena_strndup(a, q->extra.buf, q->extra.len);
	return !q->extra.len || r->extra ? 0 : drop_rec(q, err);
}

static int q_term(void *payload, const struct catalog_term *t, struct ms_error *err)
{
	struct readq *q = payload;
	struct rec *r = new_rec(q, REC_TERM, err);
	struct catalog_term *c;
	struct ms_arena *a;
	bool ok = true;

	if (!r)
		return MS_EUSAGE;
	a = &q->cur->arena;
	c = &r->u.term;
	*c = *t;
	c->text = dup(a, t->text, &ok);
	c->code = dup(a, t->code, &ok);
	c->code_asterisk = dup(a, t->code_asterisk, &ok);
	c->code_extra = dup(a, t->code_extra, &ok);
	c->code2 = dup(a, t->code2, &ok);
	c->term_id = dup(a, t->term_id, &ok);
	return ok ? 0 : drop_rec(q, err);
}

static int read_one(struct readq *q, size_t i, struct ms_error *err)
{
	const struct catalog_files *f = q->files;
	struct catalog_sink sink = { q_begin, q_entry, q_term, q };
	char sha[MS_SHA256_HEX_LEN + 1];
	struct rec *r;
	int rc;

	q->file = i;
	rc = ms_sha256_file(sha, f->paths[i], err);
	if (rc)
		return rc;
	r = new_rec(q, REC_FILE_BEGIN, err);
	if (!r)
		return MS_EUSAGE;
	r->extra = ms_arena_strdup(&q->cur->arena, sha);
	if (!r->extra)
		return drop_rec(q, err);
	rc = catalog_read_file(f->paths[i], f->fmts[i], f->opts, &sink, err);
	if (rc)
		return rc;
	return new_rec(q, REC_FILE_END, err) ? 0 : MS_EUSAGE;
}

static void *reader_main(void *arg)
{
	struct readq *q = arg;
	size_t i;
	int rc = 0;

	for (i = 0; i < q->files->n && !rc; i++) {
		rc = read_one(q, i, &q->error);
		if (rc)
			ms_error_set_path(&q->error, q->files->paths[i]);
	}
	q->rc = rc;
	/* a cancelled reader may hold no batch; the consumer stops anyway */
	if (q->cur && new_rec(q, REC_END, &q->error))
		(void)flush_batch(q, true);
	return NULL;
}

/* ---- consumer (calling thread) --------------------------------------- */

static struct batch *take_full(struct readq *q)
{
	struct batch *b;

	pthread_mutex_lock(&q->lock);
	while (!q->full_head)
		pthread_cond_wait(&q->changed, &q->lock);
	b = q->full_head;
	q->full_head = b->next;
	if (!q->full_head)
		q->full_tail = NULL;
	pthread_mutex_unlock(&q->lock);
	return b;
}

static void give_back(struct readq *q, struct batch *b)
{
	pthread_mutex_lock(&q->lock);
	b->next = q->free_list;
	q->free_list = b;
	pthread_cond_broadcast(&q->changed);
	pthread_mutex_unlock(&q->lock);
}

static int deliver(struct readq *q, const struct rec *r, struct ms_error *err)
{
	const struct catalog_files_sink *s = q->sink;

	switch (r->kind) {
	case REC_FILE_BEGIN:
		return s->file_begin(s->payload, r->file, r->extra, err);
	case REC_BEGIN:
		return s->begin(s->payload, &r->u.info, err);
	case REC_ENTRY:
		return s->entry(s->payload, &r->u.entry, r->extra, err);
	case REC_TERM:
		return s->terms(s->payload, &r->u.term, 1, err);
	case REC_FILE_END:
		return s->file_end(s->payload, r->file, err);
	case REC_END:
		break;
	}
	return 0;
}

/* Delivers the run of terms that starts at b->recs[*i]; *i ends on its last. */
static int deliver_terms(struct readq *q, const struct batch *b, size_t *i, struct ms_error *err)
{
	size_t n = 0;

	while (n < READQ_TERM_RUN && *i + n < b->n && b->recs[*i + n].kind == REC_TERM) {
		q->run[n] = b->recs[*i + n].u.term;
		n++;
	}
	*i += n - 1;
	return q->sink->terms(q->sink->payload, q->run, n, err);
}

/* Delivers batches until the reader's end or a callback's error. */
static int consume(struct readq *q, struct ms_error *err)
{
	for (;;) {
		struct batch *b = take_full(q);
		size_t i;

		for (i = 0; i < b->n; i++) {
			const struct rec *r = &b->recs[i];
			int rc;

			if (r->kind == REC_END) {
				give_back(q, b);
				if (q->rc && err)
					*err = q->error;
				return q->rc;
			}
			if (r->kind == REC_TERM)
				rc = deliver_terms(q, b, &i, err);
			else
				rc = deliver(q, r, err);
			if (rc) {
				ms_error_set_path(err, q->files->paths[r->file]);
				give_back(q, b);
				return rc;
			}
		}
		give_back(q, b);
	}
}

static void readq_release(struct readq *q, struct batch *batches)
{
	size_t i;

	for (i = 0; i < READQ_BATCHES; i++)
		ms_arena_release(&batches[i].arena);
	ms_free(batches);
	ms_free(q->run);
	ms_buf_release(&q->extra);
	pthread_cond_destroy(&q->changed);
	pthread_mutex_destroy(&q->lock);
}

int catalog_files_read(const struct catalog_files *files, const struct catalog_files_sink *sink,
                       struct ms_error *err)
{
	struct readq q;
	struct batch *batches;
	pthread_t reader;
	size_t i;
	int rc;

	memset(&q, 0, sizeof(q));
	atomic_init(&q.cancel, false);
	q.files = files;
	q.sink = sink;
	ms_buf_init(&q.extra, 0);
	batches = ms_calloc(READQ_BATCHES, sizeof(*batches));
	q.run = ms_calloc(READQ_TERM_RUN, sizeof(*q.run));
	if (!batches || !q.run) {
		ms_free(batches);
		ms_free(q.run);
		return nomem(err);
	}
	if (pthread_mutex_init(&q.lock, NULL) != 0) {
		ms_free(batches);
		ms_free(q.run);
		return nomem(err);
	}
	if (pthread_cond_init(&q.changed, NULL) != 0) {
		pthread_mutex_destroy(&q.lock);
		ms_free(batches);
		ms_free(q.run);
		return nomem(err);
	}
	for (i = 0; i < READQ_BATCHES; i++) {
		ms_arena_init(&batches[i].arena, READQ_BATCH_MEM / 2);
		batches[i].next = i + 1 < READQ_BATCHES ? &batches[i + 1] : NULL;
	}
	q.cur = &batches[0];
	q.free_list = &batches[1];
	if (pthread_create(&reader, NULL, reader_main, &q) != 0) {
		readq_release(&q, batches);
		return ms_error_set(err, MS_ENOMEM, "cannot start the reader thread");
	}
	rc = consume(&q, err);
	if (rc) {
		/* the reader may be waiting for a free batch: let it go */
		pthread_mutex_lock(&q.lock);
		atomic_store(&q.cancel, true);
		pthread_cond_broadcast(&q.changed);
		pthread_mutex_unlock(&q.lock);
	}
	pthread_join(reader, NULL);
	readq_release(&q, batches);
	return rc;
}
