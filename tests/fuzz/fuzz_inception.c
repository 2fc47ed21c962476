/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the INCEpTION / UIMA CAS JSON reader
 * (ner/corpus_inception.c): reads the input as one document, with and
 * without a label map, and checks what comes out (valid UTF-8 text, spans
 * in range on character boundaries with PHI labels, codes on failure).
 * Corpus: corpus/inception/, dictionary: inception.dict.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "ner/ner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_corpus(const struct ner_corpus *c)
{
	size_t i, k;

	for (i = 0; i < ner_corpus_n_docs(c); i++) {
		const struct ner_doc *d = ner_corpus_doc(c, i);
		unsigned l;

		if (!ms_utf8_valid(d->text, d->len, NULL) || strlen(d->id) == 0)
			abort();
		for (k = 0; k < d->n_spans; k++) {
			const struct ner_span *s = &d->spans[k];

			if (s->start >= s->end || s->end > d->len ||
			    ner_label_parse(&l, s->label, strlen(s->label)) != 0 ||
			    ner_label_name(l) != s->label)
				abort();
			if ((s->end < d->len && ((unsigned char)d->text[s->end] & 0xc0) == 0x80) ||
			    ((unsigned char)d->text[s->start] & 0xc0) == 0x80)
				abort();
			if (k > 0 && d->spans[k - 1].start > s->start)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char map_json[] = "{\"labels\": {\"NAME_PATIENT\": \"PATIENT\", \"X\": null},"
	                               " \"missing_label\": \"AGE\"}";
	struct ner_corpus *c = NULL;
	struct ner_label_map *map = NULL;
	struct ner_read_opts ro = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	int rc;

	if (ner_label_map_parse(&map, map_json, sizeof(map_json) - 1, &err) ||
	    ner_corpus_new(&c, &err))
		abort();
	ro.map = size % 2 ? map : NULL;
	ro.flags = size % 3 == 0 ? NER_READ_DROP_UNMAPPED : 0;
	ro.max_doc = size % 5 == 0 ? 64 : 0;
	rc = ner_corpus_read_inception(c, (const char *)data, size, "fuzz", &ro, &err);
	if (rc < 0 && err.code != rc)
		abort();
	if (rc == 0 && ner_corpus_n_docs(c) != 1)
		abort();
	check_corpus(c);
	ner_corpus_free(c);
	ner_label_map_free(map);
	return 0;
}
