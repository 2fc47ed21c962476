/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the model file loader (ner/modelfile.c). Each input
 * is loaded as it is, and again with its SHA-256 trailer recomputed, so
 * that the fuzzer gets past the checksum into the parsing of the header,
 * labels, gazetteer and weights. A model that loads must tag a short text
 * without trouble. Corpus: corpus/nermodel/, dictionary: nermodel.dict.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "ner/ner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void try_load(const uint8_t *data, size_t size)
{
	static const char text[] = "Patient: Hans Meier, geb. 01.02.1960\nDr. med. Ada Lovelace, "
	                           "Klinikum Ulm, Tel. 0731 500-0, info@uk-ulm.de";
	struct ner_model *m = NULL;
	struct ner_tagger *tg = NULL;
	struct ms_error err = MS_ERROR_INIT;
	const struct ner_span *sp;
	size_t n, i;
	int rc = ner_model_load_mem(&m, data, size, &err);

	if (rc < 0) {
		if (m || err.code != rc || (rc != MS_EINVAL && rc != MS_ENOMEM))
			abort();
		return;
	}
	if (ner_tagger_new(&tg, m, &err) ||
	    ner_tagger_tag(tg, text, sizeof(text) - 1, &sp, &n, &err))
		abort();
	for (i = 0; i < n; i++) {
		if (sp[i].start >= sp[i].end || sp[i].end > sizeof(text) - 1 || !sp[i].label)
			abort();
	}
	ner_tagger_free(tg);
	ner_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (ms_hash_init())
		abort();
	try_load(data, size);
	if (size < 128)
		return 0;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	ms_sha256(copy + size - MS_SHA256_LEN, copy, size - MS_SHA256_LEN);
	try_load(copy, size);
	free(copy);
	return 0;
}
