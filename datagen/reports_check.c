/* SPDX-License-Identifier: MIT */
/*
 * The part of `medsft reports check` that re-verifies deduplication and
 * decontamination (see datagen_int.h): the report texts of a dataset folder
 * are taken back out of their prompts ("Befund:\n\n" TEXT "\n\n" QUESTION),
 * folded, hashed and signed as `reports build` did, and the training parts
 * are checked against the hold-out and against each other in the build's
 * order (ids ascending), with the same MinHash seed and LSH threshold.
 * Memory: 64 + 256 bytes and the id per record.
 */
#include "datagen/datagen_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/hash.h"
#include "common/utf8.h"

#define PROMPT_HEAD "Befund:\n\n"

struct rc_rec {
	const char *id; /* in the arena */
	size_t file, line;
	bool test;
	bool dropped; /* an exact duplicate: the build would not have compared it further */
	unsigned char hash[MS_SHA256_LEN];
};

/* A sortable reference to a record. */
struct rc_ref {
	struct rc_rec *rec;
};

struct datagen_rcheck {
	uint64_t seed;
	struct ms_arena arena;
	struct ms_buf fold;
	struct rc_rec *v;
	uint32_t (*sigs)[OUTPUT_MINHASH_PERM];
	size_t n, cap, cap_sigs;
};

int datagen_rcheck_new(struct datagen_rcheck **out, uint64_t seed, struct ms_error *err)
{
	struct datagen_rcheck *r = ms_calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	r->seed = seed;
	ms_arena_init(&r->arena, 0);
	ms_buf_init(&r->fold, 0);
	*out = r;
	return 0;
}

void datagen_rcheck_free(struct datagen_rcheck *r)
{
	if (!r)
		return;
	ms_arena_release(&r->arena);
	ms_buf_release(&r->fold);
	ms_free(r->v);
	ms_free(r->sigs);
	ms_free(r);
}

/* The report text inside a prompt, or false when the prompt is not one. */
static bool prompt_text(const char *user, size_t len, const char **text, size_t *text_len)
{
	size_t head = strlen(PROMPT_HEAD), i;

	if (len < head || memcmp(user, PROMPT_HEAD, head) != 0)
		return false;
	/* the question is one paragraph after the last blank line */
	for (i = len; i >= head + 2; i--) {
		if (user[i - 1] == '\n' && user[i - 2] == '\n') {
			*text = user + head;
			*text_len = i - 2 - head;
			return true;
		}
	}
	return false;
}

int datagen_rcheck_add(struct datagen_rcheck *r, const char *id, bool test, const char *user,
                       size_t len, size_t file, size_t line, bool *not_a_prompt,
                       struct ms_error *err)
{
	struct rc_rec *rec;
	const char *text;
	size_t text_len;
	int rc;

	*not_a_prompt = !prompt_text(user, len, &text, &text_len);
	if (*not_a_prompt)
		return 0;
	if (MS_GROW(r->v, r->cap, r->n + 1) || MS_GROW(r->sigs, r->cap_sigs, r->n + 1))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	rec = &r->v[r->n];
	rec->id = ms_arena_strdup(&r->arena, id);
	if (!rec->id)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	rec->file = file;
	rec->line = line;
	rec->test = test;
	ms_buf_reset(&r->fold);
	rc = ms_fold_append(&r->fold, text, text_len, err);
	if (rc)
		return rc;
	ms_sha256(rec->hash, r->fold.buf, r->fold.len);
	output_minhash(r->sigs[r->n], r->fold.buf, r->fold.len, r->seed);
	r->n++;
	return 0;
}

static int cmp_hash(const void *pa, const void *pb)
{
	const struct rc_rec *a = ((const struct rc_ref *)pa)->rec;
	const struct rc_rec *b = ((const struct rc_ref *)pb)->rec;
	int c = memcmp(a->hash, b->hash, MS_SHA256_LEN);

	return c ? c : strcmp(a->id, b->id);
}

static int cmp_id(const void *pa, const void *pb)
{
	return strcmp(((const struct rc_ref *)pa)->rec->id, ((const struct rc_ref *)pb)->rec->id);
}

/*
 * Exact duplicates: a training text equal to a hold-out text, or to the
 * text of a training record with a smaller id (the one the build kept).
 */
static void check_exact(struct datagen_rcheck *r, struct rc_ref *by, datagen_rcheck_cb cb,
                        void *payload)
{
	size_t i, j, k;

	for (i = 0; i < r->n; i++)
		by[i].rec = &r->v[i];
	qsort(by, r->n, sizeof(*by), cmp_hash);
	for (i = 0; i < r->n; i = j) {
		bool test = false, first_train = true;

		for (j = i; j < r->n && !memcmp(by[j].rec->hash, by[i].rec->hash, MS_SHA256_LEN);
		     j++)
			test = test || by[j].rec->test;
		for (k = i; k < j; k++) {
			if (by[k].rec->test)
				continue;
			if (test)
				cb(payload, by[k].rec->file, by[k].rec->line,
				   "training report with the same text as a hold-out report");
			else if (!first_train)
				cb(payload, by[k].rec->file, by[k].rec->line,
				   "training report with the same text as another training report");
			by[k].rec->dropped = test || !first_train;
			first_train = false;
		}
	}
}

/* Near duplicates (MinHash, LSH at threshold), in the build's order. */
static int check_near(struct datagen_rcheck *r, struct rc_ref *by, double threshold,
                      datagen_rcheck_cb cb, void *payload, struct ms_error *err)
{
	struct output_lsh *test_lsh = NULL, *train_lsh = NULL;
	size_t i, n = 0;
	int rc;

	rc = output_lsh_new(&test_lsh, threshold, err);
	if (!rc)
		rc = output_lsh_new(&train_lsh, threshold, err);
	for (i = 0; !rc && i < r->n; i++) {
		if (r->v[i].test)
			rc = output_lsh_insert(test_lsh, r->sigs[i], i);
		else if (!r->v[i].dropped)
			by[n++].rec = &r->v[i];
	}
	if (!rc)
		qsort(by, n, sizeof(*by), cmp_id);
	for (i = 0; !rc && i < n; i++) {
		size_t ri = (size_t)(by[i].rec - r->v);

		if (output_lsh_query(test_lsh, r->sigs[ri], NULL))
			cb(payload, by[i].rec->file, by[i].rec->line,
			   "training report nearly the same as a hold-out report");
		else if (output_lsh_query(train_lsh, r->sigs[ri], NULL))
			cb(payload, by[i].rec->file, by[i].rec->line,
			   "training report nearly the same as another training report");
		else
			rc = output_lsh_insert(train_lsh, r->sigs[ri], ri);
	}
	if (rc && !err->code)
		ms_error_set(err, rc, "%s", rc == MS_ENOMEM ? "out of memory" : "too many reports");
	output_lsh_free(test_lsh);
	output_lsh_free(train_lsh);
	return rc;
}

int datagen_rcheck_run(struct datagen_rcheck *r, double threshold, datagen_rcheck_cb cb,
                       void *payload, struct ms_error *err)
{
	struct rc_ref *by;
	int rc = 0;

	if (!r->n)
		return 0;
	by = ms_calloc(r->n, sizeof(*by));
	if (!by)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	check_exact(r, by, cb, payload);
	if (threshold > 0)
		rc = check_near(r, by, threshold, cb, payload, err);
	ms_free(by);
	return rc;
}
