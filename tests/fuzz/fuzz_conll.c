/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the CoNLL reader (ner/corpus_conll.c): reads the
 * input with documents by -DOCSTART- and per sentence, and checks that
 * every span lies on token text inside the rebuilt document. Corpus:
 * corpus/conll/, dictionary: conll.dict.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "ner/ner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ner_corpus *c = NULL;
	struct ner_read_opts ro = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	size_t i, k;
	int rc;

	if (ner_corpus_new(&c, &err))
		abort();
	ro.flags = (size % 2 ? NER_READ_CONLL_SENTENCE_DOCS : 0) |
	           (size % 3 == 0 ? NER_READ_DROP_UNMAPPED : 0);
	ro.max_doc = size % 7 == 0 ? 32 : 0;
	rc = ner_corpus_read_conll(c, (const char *)data, size, "fuzz", &ro, &err);
	if (rc < 0 && (err.code != rc || (rc == MS_EINVAL && err.line == 0)))
		abort();
	for (i = 0; i < ner_corpus_n_docs(c); i++) {
		const struct ner_doc *d = ner_corpus_doc(c, i);

		if (!ms_utf8_valid(d->text, d->len, NULL) || d->len == 0)
			abort();
		for (k = 0; k < d->n_spans; k++) {
			const struct ner_span *s = &d->spans[k];

			if (s->start >= s->end || s->end > d->len || d->text[s->start] == ' ' ||
			    d->text[s->end - 1] == ' ')
				abort();
		}
	}
	ner_corpus_free(c);
	return 0;
}
