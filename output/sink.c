/* SPDX-License-Identifier: MIT */
/*
 * Data file sinks: bytes go to an ms_atomic_file (temporary name, renamed on
 * commit), optionally through a gzip compressor.
 *
 * gzip needs zlib, which only builds that define MS_HAVE_ZLIB link; without
 * it output_compress_available() says no and opening a gzip sink is
 * MS_EUSAGE, so callers can reject --compress gz up front. zlib's gzip
 * header carries mtime 0 unless deflateSetHeader is called, so compressed
 * output is as reproducible as the plain one.
 */
#include "output/output.h"

#include <string.h>

#include "common/alloc.h"
#include "output/output_int.h"

#if defined(MS_HAVE_ZLIB)
#define ZLIB_CONST /* next_in is const: no cast away from the caller's data */
#include <zlib.h>
#endif

#define ZBUF_SIZE            ((size_t)64 << 10)
/*
 * 1 MiB: a 300 MB dataset goes out in 300 writes instead of 75,000 of
 * stdio's 4 KiB, and SHA-256 gets long runs instead of one call per record.
 */
#define OUTPUT_SINK_BUF_SIZE ((size_t)1 << 20)

static const char *const compress_names[] = {
	[OUTPUT_COMPRESS_NONE] = "none",
	[OUTPUT_COMPRESS_GZIP] = "gz",
};

const char *output_compress_name(enum output_compress c)
{
	if ((unsigned)c >= sizeof(compress_names) / sizeof(compress_names[0]))
		return NULL;
	return compress_names[c];
}

int output_compress_parse(enum output_compress *out, const char *name, struct ms_error *err)
{
	size_t i;

	for (i = 0; i < sizeof(compress_names) / sizeof(compress_names[0]); i++) {
		if (strcmp(name, compress_names[i]) == 0) {
			*out = (enum output_compress)i;
			return 0;
		}
	}
	return ms_error_set(err, MS_EINVAL, "unknown compression '%.64s' (none, gz)", name);
}

bool output_compress_available(enum output_compress c)
{
#if defined(MS_HAVE_ZLIB)
	const bool gzip = true;
#else
	const bool gzip = false;
#endif

	return c == OUTPUT_COMPRESS_NONE || (c == OUTPUT_COMPRESS_GZIP && gzip);
}

/* Writes bytes to the file and into its running SHA-256. */
static int emit(struct output_sink *s, const void *data, size_t len)
{
	ms_sha256_stream_add(&s->hash, data, len);
	return ms_atomic_write(&s->file, data, len);
}

/* Writes out the gathered bytes. */
static int flush(struct output_sink *s)
{
	size_t len = s->wlen;

	s->wlen = 0;
	return len ? emit(s, s->wbuf, len) : 0;
}

/* Gathers bytes for the file; what does not fit flushes, long runs go directly. */
static int put(struct output_sink *s, const void *data, size_t len)
{
	int rc;

	if (len <= OUTPUT_SINK_BUF_SIZE - s->wlen) {
		memcpy(s->wbuf + s->wlen, data, len);
		s->wlen += len;
		return 0;
	}
	rc = flush(s);
	if (rc)
		return rc;
	if (len >= OUTPUT_SINK_BUF_SIZE)
		return emit(s, data, len);
	memcpy(s->wbuf, data, len);
	s->wlen = len;
	return 0;
}

#if defined(MS_HAVE_ZLIB)
/* zlib allocates through ms_calloc so that failure injection reaches it. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	return ms_calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
	(void)opaque;
	ms_free(p);
}

/* Runs deflate with flush until it wants more input (or finishes). */
static int z_pump(struct output_sink *s, int flush)
{
	z_stream *z = s->z;
	int zr;

	do {
		z->next_out = s->zbuf;
		z->avail_out = (uInt)ZBUF_SIZE;
		zr = deflate(z, flush);
		if (zr == Z_STREAM_ERROR)
			return MS_EIO;
		if (zr == Z_MEM_ERROR)
			return MS_ENOMEM;
		if (put(s, s->zbuf, ZBUF_SIZE - z->avail_out))
			return MS_EIO;
	} while (z->avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

static void z_release(struct output_sink *s)
{
	if (s->z) {
		deflateEnd(s->z);
		ms_free(s->z);
		s->z = NULL;
	}
	ms_free(s->zbuf);
	s->zbuf = NULL;
}

static int z_open(struct output_sink *s, struct ms_error *err)
{
	z_stream *z = ms_calloc(1, sizeof(*z));

	if (!z)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	s->z = z;
	s->zbuf = ms_malloc(ZBUF_SIZE);
	if (!s->zbuf)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	z->zalloc = z_alloc;
	z->zfree = z_free;
	/* 15 + 16: gzip wrapper instead of zlib's */
	if (deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		ms_free(z);
		s->z = NULL;
		return ms_error_set(err, MS_ENOMEM, "cannot start gzip compression");
	}
	return 0;
}
#endif

int output_sink_open(struct output_sink *s, const char *path, enum output_compress compress,
                     struct ms_error *err)
{
	int rc;

	memset(s, 0, sizeof(*s));
	if (!output_compress_available(compress))
		return ms_error_set(
		        err, MS_EUSAGE, "compression '%s' is not available in this build",
		        output_compress_name(compress) ? output_compress_name(compress) : "?");
	s->compress = compress;
	s->wbuf = ms_malloc(OUTPUT_SINK_BUF_SIZE);
	if (!s->wbuf)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
#if defined(MS_HAVE_ZLIB)
	if (compress == OUTPUT_COMPRESS_GZIP) {
		rc = z_open(s, err);
		if (rc < 0) {
			z_release(s);
			ms_free(s->wbuf);
			s->wbuf = NULL;
			return rc;
		}
	}
#endif
	rc = ms_sha256_stream_begin(&s->hash);
	if (rc)
		rc = ms_error_set(err, rc, "cannot start SHA-256");
	else
		rc = ms_atomic_open(&s->file, path, 0644, err);
	if (rc < 0) {
#if defined(MS_HAVE_ZLIB)
		z_release(s);
#endif
		ms_sha256_stream_abort(&s->hash);
		ms_free(s->wbuf);
		s->wbuf = NULL;
		return rc;
	}
	return 0;
}

int output_sink_write(struct output_sink *s, const void *data, size_t len)
{
	if (s->status)
		return s->status;
#if defined(MS_HAVE_ZLIB)
	if (s->z) {
		z_stream *z = s->z;

		/* avail_in is 32-bit: feed huge buffers in pieces */
		while (len > 0 && !s->status) {
			uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;

			z->next_in = data;
			z->avail_in = n;
			s->status = z_pump(s, Z_NO_FLUSH);
			data = (const char *)data + n;
			len -= n;
		}
		return s->status;
	}
#endif
	s->status = put(s, data, len);
	return s->status;
}

int output_sink_commit(struct output_sink *s, struct ms_error *err)
{
	int rc = s->status;

#if defined(MS_HAVE_ZLIB)
	if (s->z && !rc) {
		((z_stream *)s->z)->avail_in = 0;
		rc = z_pump(s, Z_FINISH);
	}
	z_release(s);
#endif
	if (!rc)
		rc = flush(s);
	ms_free(s->wbuf);
	s->wbuf = NULL;
	s->bytes = s->hash.bytes;
	if (!rc)
		rc = ms_sha256_stream_end(&s->hash, s->sha256);
	if (rc) {
		ms_sha256_stream_abort(&s->hash);
		ms_error_set_path(err, s->file.path);
		ms_error_set(err, rc, "cannot write: %s", ms_status_str(rc));
		ms_atomic_abort(&s->file);
		return rc;
	}
	return ms_atomic_commit(&s->file, err);
}

void output_sink_abort(struct output_sink *s)
{
	if (!s)
		return;
#if defined(MS_HAVE_ZLIB)
	z_release(s);
#endif
	ms_free(s->wbuf);
	s->wbuf = NULL;
	ms_sha256_stream_abort(&s->hash);
	ms_atomic_abort(&s->file);
}
