/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the BRAT standoff reader (ner/corpus_brat.c). The
 * input is the text, a NUL byte, then the .ann file (no NUL: an empty
 * .ann). Checks that documents are valid and spans in range, and that a
 * failure carries its code. Corpus: corpus/brat/, dictionary: brat.dict.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "ner/ner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nul = memchr(s, 0, size);
	size_t txt_len = nul ? (size_t)(nul - s) : size;
	const char *ann = nul ? nul + 1 : "";
	size_t ann_len = nul ? size - txt_len - 1 : 0;
	struct ner_corpus *c = NULL;
	struct ner_read_opts ro = { 0 };
	struct ms_error err = MS_ERROR_INIT;
	size_t i, k;
	int rc;

	if (ner_corpus_new(&c, &err))
		abort();
	ro.flags = size % 2 ? NER_READ_DROP_UNMAPPED : 0;
	rc = ner_corpus_read_brat(c, s, txt_len, ann, ann_len, "fuzz", &ro, &err);
	if (rc < 0 && err.code != rc)
		abort();
	for (i = 0; i < ner_corpus_n_docs(c); i++) {
		const struct ner_doc *d = ner_corpus_doc(c, i);

		if (!ms_utf8_valid(d->text, d->len, NULL))
			abort();
		for (k = 0; k < d->n_spans; k++) {
			if (d->spans[k].start >= d->spans[k].end || d->spans[k].end > d->len)
				abort();
		}
	}
	ner_corpus_free(c);
	return 0;
}
