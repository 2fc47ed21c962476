/* SPDX-License-Identifier: MIT */
/*
 * The model file: writing it, and loading it with every check a file from
 * elsewhere needs. Layout (integers and floats little-endian):
 *
 *    0  "MSNER\0\0\0"
 *    8  u32 format version (NER_MODEL_FORMAT)
 *   12  u32 feature set version (NER_FEATURE_VERSION)
 *   16  u32 hash bits          20  u32 hash seed
 *   24  u32 labels             28  u32 tags (2 * labels + 1)
 *   32  u32 rows kept          36  u32 weight encoding (1: float32)
 *   40  u32 gazetteer keys     44  u32 bytes of the label section
 *   48  u32 bytes of the gazetteer section              52  u32 0
 *   56  32 bytes gazetteer fingerprint
 *   88  u64 payload bytes
 *   96  payload: label names (NUL-terminated, zero-padded to 4 bytes);
 *       gazetteer lookup keys, sorted (u8 membership bits, u16 length,
 *       case-folded bytes; padded);
 *       (tags + 1) x tags transition weights (last row: start);
 *       row ids (u32, increasing); rows x tags weights
 *  end  SHA-256 of all bytes before it
 *
 * Every section is 4-byte aligned, so on little-endian hosts the arrays are
 * used in place in the read-only mapping; big-endian hosts get a converted
 * copy. Weights are kept as float32 rather than quantised: the file stays
 * far below 20 MB with only the rows training touched, and tags do not
 * change with a quantisation step.
 */
#include "ner/ner.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "common/utf8.h"
#include "ner/ner_int.h"

static const char magic[8] = { 'M', 'S', 'N', 'E', 'R', 0, 0, 0 };

#define ENC_FLOAT32 1u
#define TRAILER_LEN MS_SHA256_LEN

static bool host_le(void)
{
	const uint16_t one = 1;
	unsigned char b;

	memcpy(&b, &one, 1);
	return b == 1;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void buf_u32(struct ms_buf *b, uint32_t v)
{
	unsigned char t[4];

	put_u32(t, v);
	ms_buf_add(b, t, 4);
}

static void buf_f32(struct ms_buf *b, float f)
{
	uint32_t v;

	memcpy(&v, &f, 4);
	buf_u32(b, v);
}

static void buf_pad4(struct ms_buf *b, size_t base)
{
	while ((b->len - base) % 4)
		ms_buf_addch(b, 0);
}

static int gaz_put(const char *key, size_t len, unsigned bits, void *payload)
{
	struct ms_buf *b = payload;
	unsigned char h[3];

	if (len > 0xffff || len == 0)
		return 0; /* never matches a token of a text under the caps anyway */
	h[0] = (unsigned char)bits;
	h[1] = (unsigned char)len;
	h[2] = (unsigned char)(len >> 8);
	ms_buf_add(b, h, 3);
	ms_buf_add(b, key, len);
	return ms_buf_status(b);
}

static int gaz_count(const char *key, size_t len, unsigned bits, void *payload)
{
	(void)key;
	(void)bits;
	if (len <= 0xffff && len > 0)
		(*(size_t *)payload)++;
	return 0;
}

int ner_model_serialize(const struct ner_model *m, struct ms_buf *out, struct ms_error *err)
{
	size_t base = out->len, sec, labels_len, gaz_len, n_gaz = 0, i, cells;
	unsigned char hdr[NER_MODEL_HEADER_LEN], sha[MS_SHA256_LEN];
	int rc;

	memset(hdr, 0, sizeof(hdr));
	ms_buf_add(out, hdr, sizeof(hdr));
	sec = out->len;
	for (i = 0; i < m->n_labels; i++)
		ms_buf_add(out, m->labels[i], strlen(m->labels[i]) + 1);
	buf_pad4(out, base);
	labels_len = out->len - sec;
	sec = out->len;
	rc = ner_gazetteer_visit_keys(m->gaz, gaz_put, out);
	if (rc == 0)
		rc = ner_gazetteer_visit_keys(m->gaz, gaz_count, &n_gaz);
	if (rc < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	buf_pad4(out, base);
	gaz_len = out->len - sec;
	cells = (size_t)(m->n_tags + 1) * m->n_tags;
	for (i = 0; i < cells; i++)
		buf_f32(out, m->trans[i]);
	for (i = 0; i < m->n_rows; i++)
		buf_u32(out, m->row_ids[i]);
	cells = m->n_rows * m->n_tags;
	for (i = 0; i < cells; i++)
		buf_f32(out, m->weights[i]);
	if (ms_buf_status(out) < 0)
		return ms_error_set(err, ms_buf_status(out), "out of memory");
	memcpy(hdr, magic, 8);
	put_u32(hdr + 8, NER_MODEL_FORMAT);
	put_u32(hdr + 12, NER_FEATURE_VERSION);
	put_u32(hdr + 16, m->hash_bits);
	put_u32(hdr + 20, m->hash_seed);
	put_u32(hdr + 24, m->n_labels);
	put_u32(hdr + 28, m->n_tags);
	put_u32(hdr + 32, (uint32_t)m->n_rows);
	put_u32(hdr + 36, ENC_FLOAT32);
	put_u32(hdr + 40, (uint32_t)n_gaz);
	put_u32(hdr + 44, (uint32_t)labels_len);
	put_u32(hdr + 48, (uint32_t)gaz_len);
	memcpy(hdr + 56, m->gaz_fp, MS_SHA256_LEN);
	put_u32(hdr + 88, (uint32_t)(out->len - base - NER_MODEL_HEADER_LEN));
	put_u32(hdr + 92, (uint32_t)((uint64_t)(out->len - base - NER_MODEL_HEADER_LEN) >> 32));
	memcpy(out->buf + base, hdr, sizeof(hdr));
	ms_sha256(sha, out->buf + base, out->len - base);
	ms_buf_add(out, sha, sizeof(sha));
	if (ms_buf_status(out) < 0)
		return ms_error_set(err, ms_buf_status(out), "out of memory");
	return 0;
}

int ner_model_save(const struct ner_model *m, const char *path, struct ms_error *err)
{
	struct ms_buf b = MS_BUF_INIT;
	int rc;

	rc = ner_model_serialize(m, &b, err);
	if (rc == 0)
		rc = ms_file_write_atomic(path, b.buf, b.len, 0644, err);
	ms_buf_release(&b);
	return rc;
}

/* ---- loading ------------------------------------------------------------- */

static int parse_labels(struct ner_model *m, const unsigned char *p, size_t len,
                        struct ms_error *err)
{
	size_t off = 0;
	unsigned i, j;

	for (i = 0; i < m->n_labels; i++) {
		const unsigned char *nul = memchr(p + off, 0, len - off);
		const char *canon;

		if (!nul)
			return ms_error_set(err, MS_EINVAL, "model label %u is not terminated",
			                    i + 1);
		canon = ner_label_canon((const char *)p + off, (size_t)(nul - (p + off)));
		if (!canon)
			return ms_error_set(err, MS_EINVAL, "model label %u is not a PHI label",
			                    i + 1);
		for (j = 0; j < i; j++) {
			if (m->labels[j] == canon)
				return ms_error_set(err, MS_EINVAL,
				                    "model label %u repeats label %u", i + 1,
				                    j + 1);
		}
		m->labels[i] = canon;
		off = (size_t)(nul - p) + 1;
	}
	for (; off < len; off++) {
		if (p[off] != 0)
			return ms_error_set(err, MS_EINVAL,
			                    "unexpected bytes after the model labels (offset %zu)",
			                    NER_MODEL_HEADER_LEN + off);
	}
	return 0;
}

static int parse_gaz(struct ner_model *m, const unsigned char *p, size_t len, size_t n_gaz,
                     struct ms_error *err)
{
	const unsigned char *prev = NULL;
	size_t off = 0, i, prev_len = 0;
	int rc;

	rc = ner_gazetteer_new(&m->gaz, err);
	if (rc < 0)
		return rc;
	for (i = 0; i < n_gaz; i++) {
		const unsigned char *key = p + off + 3;
		size_t l, c;
		int d;

		if (len - off < 3)
			return ms_error_set(err, MS_EINVAL,
			                    "model gazetteer ends inside key %zu of %zu", i + 1,
			                    n_gaz);
		l = (size_t)p[off + 1] | (size_t)p[off + 2] << 8;
		if (p[off] == 0 || l == 0 || len - off - 3 < l)
			return ms_error_set(err, MS_EINVAL,
			                    "model gazetteer key %zu of %zu is malformed", i + 1,
			                    n_gaz);
		/* keys are sorted and unique; memcmp order as written */
		c = prev_len < l ? prev_len : l;
		d = prev ? memcmp(prev, key, c) : -1;
		if (prev && (d > 0 || (d == 0 && prev_len >= l)))
			return ms_error_set(err, MS_EINVAL,
			                    "model gazetteer key %zu of %zu is out of order", i + 1,
			                    n_gaz);
		if (!ms_utf8_valid((const char *)key, l, NULL))
			return ms_error_set(err, MS_EINVAL,
			                    "model gazetteer key %zu of %zu is not UTF-8", i + 1,
			                    n_gaz);
		/* borrowed: the model keeps its file image alive */
		if (ner_gazetteer_add_key(m->gaz, (const char *)key, l, p[off]) < 0)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		prev = key;
		prev_len = l;
		off += 3 + l;
	}
	if (len - off >= 4)
		return ms_error_set(err, MS_EINVAL,
		                    "model gazetteer has %zu bytes after its %zu keys", len - off,
		                    n_gaz);
	for (; off < len; off++) {
		if (p[off] != 0)
			return ms_error_set(err, MS_EINVAL, "model gazetteer padding is not zero");
	}
	return 0;
}

/* Magic, size, format version, payload length and checksum: is this a whole model file? */
static int check_envelope(struct ner_model *m, const unsigned char *base, size_t len,
                          struct ms_error *err)
{
	uint64_t payload;
	uint32_t fmt, fver;

	if (len < sizeof(magic) || memcmp(base, magic, sizeof(magic)) != 0)
		return ms_error_set(err, MS_EINVAL, "not a medsft NER model (bad magic)");
	if (len < NER_MODEL_HEADER_LEN + TRAILER_LEN)
		return ms_error_set(err, MS_EINVAL,
		                    "model file truncated (%zu bytes, less than a header)", len);
	fmt = get_u32(base + 8);
	if (fmt != NER_MODEL_FORMAT)
		return ms_error_set(err, MS_EINVAL,
		                    "unsupported model format version %u (this build reads %u)",
		                    (unsigned)fmt, NER_MODEL_FORMAT);
	payload = get_u64(base + 88);
	if (payload > len - NER_MODEL_HEADER_LEN - TRAILER_LEN)
		return ms_error_set(
		        err, MS_EINVAL, "model file truncated (%zu bytes, header says %llu)", len,
		        (unsigned long long)payload + NER_MODEL_HEADER_LEN + TRAILER_LEN);
	if (payload < len - NER_MODEL_HEADER_LEN - TRAILER_LEN)
		return ms_error_set(err, MS_EINVAL, "%zu bytes of trailing data after the model",
		                    len - NER_MODEL_HEADER_LEN - TRAILER_LEN - (size_t)payload);
	ms_sha256(m->checksum, base, len - TRAILER_LEN);
	if (memcmp(m->checksum, base + len - TRAILER_LEN, MS_SHA256_LEN) != 0)
		return ms_error_set(err, MS_EINVAL, "model checksum mismatch (file corrupt)");
	fver = get_u32(base + 12);
	if (fver != NER_FEATURE_VERSION)
		return ms_error_set(err, MS_EINVAL,
		                    "model uses feature set version %u, this build has %u",
		                    (unsigned)fver, NER_FEATURE_VERSION);
	return 0;
}

/* The header fields after the envelope, checked against each other. */
static int parse_header(struct ner_model *m, const unsigned char *base, size_t *labels_len,
                        size_t *gaz_len, size_t *n_gaz, struct ms_error *err)
{
	uint64_t need;
	uint32_t enc;
	size_t rows_max;

	m->hash_bits = get_u32(base + 16);
	m->hash_seed = get_u32(base + 20);
	m->n_labels = get_u32(base + 24);
	m->n_tags = get_u32(base + 28);
	m->n_rows = get_u32(base + 32);
	enc = get_u32(base + 36);
	*n_gaz = get_u32(base + 40);
	*labels_len = get_u32(base + 44);
	*gaz_len = get_u32(base + 48);
	memcpy(m->gaz_fp, base + 56, MS_SHA256_LEN);
	if (m->hash_bits < NER_HASH_BITS_MIN || m->hash_bits > NER_HASH_BITS_MAX)
		return ms_error_set(err, MS_EINVAL, "model hash bits %u out of range",
		                    m->hash_bits);
	if (m->n_labels < 1 || m->n_labels > NER_N_LABELS || m->n_tags != 2 * m->n_labels + 1)
		return ms_error_set(err, MS_EINVAL, "model has %u labels and %u tags", m->n_labels,
		                    m->n_tags);
	if (enc != ENC_FLOAT32)
		return ms_error_set(err, MS_EINVAL, "unknown model weight encoding %u",
		                    (unsigned)enc);
	rows_max = (size_t)1 << m->hash_bits;
	if (m->n_rows > rows_max)
		return ms_error_set(err, MS_EINVAL,
		                    "model has %zu rows, more than 2^hash bits (%zu)", m->n_rows,
		                    rows_max);
	if (get_u32(base + 52) != 0 || *labels_len % 4 || *gaz_len % 4)
		return ms_error_set(err, MS_EINVAL, "model header is malformed");
	/* each term is below 2^32 * 40: no overflow in 64 bits, whatever size_t is */
	need = (uint64_t)*labels_len + *gaz_len +
	       4 * ((uint64_t)(m->n_tags + 1) * m->n_tags + m->n_rows +
	            (uint64_t)m->n_rows * m->n_tags);
	if (need != get_u64(base + 88))
		return ms_error_set(
		        err, MS_EINVAL, "model sections add up to %llu bytes, payload is %llu",
		        (unsigned long long)need, (unsigned long long)get_u64(base + 88));
	return 0;
}

/* Points the arrays at p (little-endian hosts) or converts them into owned copies. */
static int map_arrays(struct ner_model *m, const unsigned char *p, struct ms_error *err)
{
	size_t trans_cells = (size_t)(m->n_tags + 1) * m->n_tags, cells = m->n_rows * m->n_tags;
	size_t i;

	if (host_le()) {
		m->trans = (const float *)(const void *)p;
		m->row_ids = (const uint32_t *)(const void *)(p + 4 * trans_cells);
		m->weights = (const float *)(const void *)(p + 4 * (trans_cells + m->n_rows));
		return 0;
	}
	m->own_trans = ms_malloc(trans_cells * sizeof(float));
	m->own_rows = ms_malloc((m->n_rows + 1) * sizeof(uint32_t));
	m->own_weights = ms_malloc((cells + 1) * sizeof(float));
	if (!m->own_trans || !m->own_rows || !m->own_weights)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	for (i = 0; i < trans_cells; i++) {
		uint32_t v = get_u32(p + 4 * i);

		memcpy(&m->own_trans[i], &v, 4);
	}
	p += 4 * trans_cells;
	for (i = 0; i < m->n_rows; i++)
		m->own_rows[i] = get_u32(p + 4 * i);
	p += 4 * m->n_rows;
	for (i = 0; i < cells; i++) {
		uint32_t v = get_u32(p + 4 * i);

		memcpy(&m->own_weights[i], &v, 4);
	}
	m->trans = m->own_trans;
	m->row_ids = m->own_rows;
	m->weights = m->own_weights;
	return 0;
}

/* Row ids increasing and in range, every weight finite. */
static int check_arrays(const struct ner_model *m, struct ms_error *err)
{
	size_t trans_cells = (size_t)(m->n_tags + 1) * m->n_tags, cells = m->n_rows * m->n_tags;
	size_t i, rows_max = (size_t)1 << m->hash_bits;

	for (i = 0; i < m->n_rows; i++) {
		if (m->row_ids[i] >= rows_max || (i > 0 && m->row_ids[i] <= m->row_ids[i - 1]))
			return ms_error_set(err, MS_EINVAL,
			                    "model row id %zu of %zu is out of order or range",
			                    i + 1, m->n_rows);
	}
	for (i = 0; i < trans_cells; i++) {
		if (!isfinite(m->trans[i]))
			return ms_error_set(err, MS_EINVAL,
			                    "model transition weight %zu of %zu is not finite",
			                    i + 1, trans_cells);
	}
	for (i = 0; i < cells; i++) {
		if (!isfinite(m->weights[i]))
			return ms_error_set(err, MS_EINVAL, "model weight %zu of %zu is not finite",
			                    i + 1, cells);
	}
	return 0;
}

/* Parses a complete file image at base (4-byte aligned) of len bytes. */
static int parse(struct ner_model *m, const unsigned char *base, size_t len, struct ms_error *err)
{
	size_t labels_len, gaz_len, n_gaz;
	const unsigned char *p = base + NER_MODEL_HEADER_LEN;
	int rc;

	rc = check_envelope(m, base, len, err);
	if (rc == 0)
		rc = parse_header(m, base, &labels_len, &gaz_len, &n_gaz, err);
	if (rc == 0)
		rc = parse_labels(m, p, labels_len, err);
	if (rc == 0)
		rc = parse_gaz(m, p + labels_len, gaz_len, n_gaz, err);
	if (rc == 0)
		rc = map_arrays(m, p + labels_len + gaz_len, err);
	if (rc == 0)
		rc = check_arrays(m, err);
	if (rc < 0)
		return rc;
	m->file_size = len;
	return ner_model_index_build(m, err);
}

int ner_model_load_mem(struct ner_model **out, const void *data, size_t len, struct ms_error *err)
{
	struct ner_model *m;
	int rc;

	*out = NULL;
	m = ms_calloc(1, sizeof(*m));
	if (!m)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	/* malloc alignment suits float and u32 arrays at 4-byte offsets */
	m->heap = ms_malloc(len);
	if (!m->heap) {
		ner_model_free(m);
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	if (len)
		memcpy(m->heap, data, len);
	rc = parse(m, m->heap, len, err);
	if (rc < 0) {
		ner_model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int ner_model_load(struct ner_model **out, const char *path, struct ms_error *err)
{
	struct ner_model *m = NULL;
	struct stat st;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = ms_error_set(err, MS_EIO, "cannot open model: %s", strerror(errno));
		ms_error_set_path(err, path);
		return rc;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = ms_error_set(err, MS_EIO, "model is not a regular file");
		goto out;
	}
	if (st.st_size < (off_t)(NER_MODEL_HEADER_LEN + TRAILER_LEN)) {
		/* too small to map usefully; read it for the precise message */
		unsigned char small[NER_MODEL_HEADER_LEN + TRAILER_LEN];
		ssize_t got = read(fd, small, sizeof(small));

		if (got < 0) {
			rc = ms_error_set(err, MS_EIO, "cannot read model: %s", strerror(errno));
			goto out;
		}
		rc = ner_model_load_mem(&m, small, (size_t)got, err);
		goto out;
	}
	m = ms_calloc(1, sizeof(*m));
	if (!m) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	m->map_len = (size_t)st.st_size;
	m->map = mmap(NULL, m->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m->map == MAP_FAILED) {
		m->map = NULL;
		rc = ms_error_set(err, MS_EIO, "cannot map model: %s", strerror(errno));
		goto out;
	}
	rc = parse(m, m->map, m->map_len, err);
out:
	close(fd);
	if (rc < 0) {
		ner_model_free(m);
		ms_error_set_path(err, path);
		return rc;
	}
	*out = m;
	return 0;
}
