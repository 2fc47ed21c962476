/* SPDX-License-Identifier: MIT */
/*
 * The shipped NER model behind the detector's hook: tagger spans turned
 * into PHI candidates, one tagger per thread (deid/deid.h).
 */
#include "deid/deid.h"

#include <pthread.h>
#include <string.h>

#include "common/alloc.h"
#include "ner/ner.h"

struct deid_model_hook {
	const struct ner_model *model;
	pthread_key_t key; /* this thread's struct ner_tagger */
};

int deid_spans_add_ner(struct deid_spans *out, const struct ner_span *spans, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct deid_span d;
		enum phi_label label;
		int rc;

		if (phi_label_parse(&label, spans[i].label) != 0)
			continue;
		memset(&d, 0, sizeof(d));
		d.start = spans[i].start;
		d.end = spans[i].end;
		d.label = label;
		d.source_kind = DEID_SOURCE_NER;
		d.source = "ner";
		d.score = spans[i].score;
		d.field = -1;
		rc = deid_spans_add(out, &d);
		if (rc)
			return rc;
	}
	return 0;
}

static void tagger_free(void *tg)
{
	ner_tagger_free(tg);
}

static int hook_tag(void *payload, const char *text, size_t len, struct deid_spans *out,
                    struct ms_error *err)
{
	struct deid_model_hook *h = payload;
	struct ner_tagger *tg = pthread_getspecific(h->key);
	const struct ner_span *spans = NULL;
	size_t n = 0;
	int rc;

	if (!tg) {
		rc = ner_tagger_new(&tg, h->model, err);
		if (rc)
			return rc;
		if (pthread_setspecific(h->key, tg) != 0) {
			ner_tagger_free(tg);
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		}
	}
	rc = ner_tagger_tag(tg, text, len, &spans, &n, err);
	if (rc)
		return rc;
	if (deid_spans_add_ner(out, spans, n))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return 0;
}

int deid_model_hook_new(struct deid_model_hook **out, const struct ner_model *model,
                        struct ms_error *err)
{
	struct deid_model_hook *h = ms_calloc(1, sizeof(*h));

	*out = NULL;
	if (!h)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	if (pthread_key_create(&h->key, tagger_free) != 0) {
		ms_free(h);
		return ms_error_set(err, MS_ENOMEM, "cannot create a thread key");
	}
	h->model = model;
	*out = h;
	return 0;
}

struct deid_ner_hook deid_model_hook_get(struct deid_model_hook *h)
{
	struct deid_ner_hook hook = { hook_tag, h };

	return hook;
}

void deid_model_hook_free(struct deid_model_hook *h)
{
	if (!h)
		return;
	ner_tagger_free(pthread_getspecific(h->key));
	pthread_setspecific(h->key, NULL);
	pthread_key_delete(h->key);
	ms_free(h);
}
