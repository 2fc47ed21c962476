/* SPDX-License-Identifier: MIT */
/*
 * The in-memory model: its row index, description and release. Training
 * (train.c), decoding (decode.c) and the file format (modelfile.c) share
 * struct ner_model from ner_int.h.
 */
#include "ner/ner.h"

#include <string.h>
#include <sys/mman.h>

#include "common/alloc.h"
#include "ner/ner_int.h"

int ner_model_index_build(struct ner_model *m, struct ms_error *err)
{
	size_t n = (size_t)1 << m->hash_bits, i;

	m->index = ms_malloc(n * sizeof(*m->index));
	if (!m->index)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	/* every byte 0xff: NER_ROW_ABSENT */
	memset(m->index, 0xff, n * sizeof(*m->index));
	for (i = 0; i < m->n_rows; i++)
		m->index[m->row_ids[i]] = (uint32_t)i;
	return 0;
}

void ner_model_free(struct ner_model *m)
{
	if (!m)
		return;
	if (m->map)
		munmap(m->map, m->map_len);
	ms_free(m->heap);
	ms_free(m->own_trans);
	ms_free(m->own_rows);
	ms_free(m->own_weights);
	ms_free(m->index);
	ner_gazetteer_free(m->gaz);
	ms_free(m);
}

void ner_model_info(const struct ner_model *m, struct ner_model_info *out)
{
	unsigned i;

	memset(out, 0, sizeof(*out));
	out->format = NER_MODEL_FORMAT;
	out->feature_version = NER_FEATURE_VERSION;
	out->hash_bits = m->hash_bits;
	out->hash_seed = m->hash_seed;
	out->n_labels = m->n_labels;
	for (i = 0; i < m->n_labels; i++)
		out->labels[i] = m->labels[i];
	out->n_rows = m->n_rows;
	out->n_gaz = ner_gazetteer_n_keys(m->gaz);
	out->file_size = m->file_size;
	ms_hex(out->gaz_fingerprint, m->gaz_fp, MS_SHA256_LEN);
	ms_hex(out->checksum, m->checksum, MS_SHA256_LEN);
}
