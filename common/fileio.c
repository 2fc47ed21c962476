/* SPDX-License-Identifier: MIT */
/* Capped file reads, line iteration and write-then-rename output files. */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"

static int too_big(const char *path, size_t cap, struct ms_error *err)
{
	ms_error_set_path(err, path);
	return ms_error_set(err, MS_ETOOBIG, "file is larger than %zu bytes", cap);
}

/* Appends n bytes just read (at out's end already, or from src) within cap. */
static int took(struct ms_buf *out, size_t start, const char *src, size_t n, size_t cap,
                const char *path, struct ms_error *err)
{
	int rc;

	if (cap && out->len - start + n > cap) {
		out->buf[out->len] = '\0';
		return too_big(path, cap, err);
	}
	if (!src) {
		out->len += n;
		out->buf[out->len] = '\0';
		return 0;
	}
	rc = ms_buf_add(out, src, n);
	if (rc) {
		ms_error_set_path(err, path);
		return ms_error_set(err, rc, "%s", ms_status_str(rc));
	}
	return 0;
}

/*
 * Reads from fd into out until end of file, at most cap bytes (0 = no cap).
 * Reads go straight into out: the file's size (hint) if known, then one read
 * through a small buffer to find the end (or what the file grew by) without
 * growing out for it; of a pipe, as much as out has room for, 64 KiB at least.
 */
static int read_fd(struct ms_buf *out, int fd, size_t cap, size_t hint, const char *path,
                   struct ms_error *err)
{
	size_t start = out->len;
	char probe[4096];
	int rc = 0;

	while (!rc) {
		size_t got = out->len - start, want = 0;
		ssize_t n;

		/* the rest of a known size, or 64 KiB and more of an unknown one */
		if (got < hint)
			want = hint - got;
		else if (!hint)
			want = 65536;
		if (want && ms_buf_grow(out, want)) {
			ms_error_set_path(err, path);
			return ms_error_set(err, ms_buf_status(out), "%s",
			                    ms_status_str(ms_buf_status(out)));
		}
		if (!hint)
			want = out->alloc - out->len - 1;
		n = want ? read(fd, out->buf + out->len, want) : read(fd, probe, sizeof(probe));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			ms_error_set_path(err, path);
			return ms_error_set(err, MS_EIO, "read error: %s", strerror(e));
		}
		if (n == 0)
			break;
		rc = took(out, start, want ? NULL : probe, (size_t)n, cap, path, err);
	}
	return rc;
}

/*
 * A regular file's size tells how much to reserve: one read() for most
 * files instead of a growing buffer fed through 4 KiB stdio chunks.
 */
int ms_file_read(struct ms_buf *out, const char *path, size_t cap, struct ms_error *err)
{
	bool is_stdin = strcmp(path, "-") == 0;
	struct stat sb;
	size_t hint = 0;
	int fd, rc;

	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY);
	if (fd < 0) {
		ms_error_set_path(err, path);
		return ms_error_set(err, errno == ENOENT ? MS_ENOTFOUND : MS_EIO, "cannot open: %s",
		                    strerror(errno));
	}
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
		if (cap && (uintmax_t)sb.st_size > cap) {
			if (!is_stdin)
				close(fd);
			return too_big(path, cap, err);
		}
		if ((uintmax_t)sb.st_size < SIZE_MAX / 2)
			hint = (size_t)sb.st_size;
	}
	rc = read_fd(out, fd, cap, hint, path, err);
	if (!is_stdin)
		close(fd);
	return rc;
}

void ms_lines_init(struct ms_lines *it, const char *s, size_t len)
{
	it->s = s;
	it->len = len;
	it->pos = 0;
	it->line_no = 0;
}

bool ms_lines_next(struct ms_lines *it, const char **line, size_t *len_out)
{
	size_t start = it->pos, i;
	const char *nl, *cr;

	if (it->pos >= it->len)
		return false;
	/* the first '\n' or '\r' from start: two memchr() calls, not a byte loop */
	nl = memchr(it->s + start, '\n', it->len - start);
	i = nl ? (size_t)(nl - it->s) : it->len;
	cr = memchr(it->s + start, '\r', i - start);
	if (cr)
		i = (size_t)(cr - it->s);
	*line = it->s + start;
	*len_out = i - start;
	if (i < it->len && it->s[i] == '\r' && i + 1 < it->len && it->s[i + 1] == '\n')
		i++;
	it->pos = i < it->len ? i + 1 : i;
	it->line_no++;
	return true;
}

int ms_atomic_open(struct ms_atomic_file *f, const char *path, unsigned mode, struct ms_error *err)
{
	struct ms_buf tmp = MS_BUF_INIT;
	int fd;

	memset(f, 0, sizeof(*f));
	if (ms_buf_addf(&tmp, "%s.tmp.XXXXXX", path))
		goto nomem;
	f->path = ms_strdup(path);
	if (!f->path)
		goto nomem;
	fd = mkstemp(tmp.buf);
	if (fd < 0) {
		ms_error_set_path(err, path);
		ms_buf_release(&tmp);
		ms_atomic_abort(f);
		return ms_error_set(err, MS_EIO, "cannot create temporary file: %s",
		                    strerror(errno));
	}
	f->tmp_path = ms_buf_detach(&tmp, NULL);
	if (!f->tmp_path) {
		close(fd);
		goto nomem;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || !(f->fp = fdopen(fd, "wb"))) {
		int e = errno;

		close(fd);
		ms_error_set_path(err, path);
		ms_atomic_abort(f);
		return ms_error_set(err, MS_EIO, "cannot open temporary file: %s", strerror(e));
	}
	return 0;
nomem:
	ms_buf_release(&tmp);
	ms_atomic_abort(f);
	return ms_error_set(err, MS_ENOMEM, "out of memory");
}

int ms_atomic_write(struct ms_atomic_file *f, const void *data, size_t len)
{
	if (f->status)
		return f->status;
	if (len && fwrite(data, 1, len, f->fp) != len)
		f->status = MS_EIO;
	return f->status;
}

int ms_atomic_commit(struct ms_atomic_file *f, struct ms_error *err)
{
	int rc = f->status;
	int e = 0;

	if (!rc && (fflush(f->fp) != 0 || fsync(fileno(f->fp)) != 0)) {
		e = errno;
		rc = MS_EIO;
	}
	if (fclose(f->fp) != 0 && !rc) {
		e = errno;
		rc = MS_EIO;
	}
	f->fp = NULL;
	if (!rc && rename(f->tmp_path, f->path) != 0) {
		e = errno;
		rc = MS_EIO;
	}
	if (rc) {
		ms_error_set_path(err, f->path);
		ms_error_set(err, rc, "cannot write: %s", e ? strerror(e) : "write error");
		ms_atomic_abort(f);
		return rc;
	}
	ms_free(f->path);
	ms_free(f->tmp_path);
	memset(f, 0, sizeof(*f));
	return 0;
}

void ms_atomic_abort(struct ms_atomic_file *f)
{
	if (!f)
		return;
	if (f->fp)
		fclose(f->fp);
	if (f->tmp_path)
		unlink(f->tmp_path);
	ms_free(f->path);
	ms_free(f->tmp_path);
	memset(f, 0, sizeof(*f));
}

int ms_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                         struct ms_error *err)
{
	struct ms_atomic_file f;
	int rc;

	rc = ms_atomic_open(&f, path, mode, err);
	if (rc)
		return rc;
	ms_atomic_write(&f, data, len);
	return ms_atomic_commit(&f, err);
}

const char *ms_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void ms_dir_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ms_free(names[i]);
	ms_free(names);
}

int ms_dir_names(DIR *d, bool (*keep)(const char *name, void *arg), void *arg, size_t max,
                 char ***names_out, size_t *n_out)
{
	const struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	*names_out = NULL;
	*n_out = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !keep(e->d_name, arg))
			continue;
		if (max && n == max) {
			rc = MS_ETOOBIG;
			break;
		}
		if (MS_GROW(names, cap, n + 1)) {
			rc = MS_ENOMEM;
			break;
		}
		names[n] = ms_strdup(e->d_name);
		if (!names[n]) {
			rc = MS_ENOMEM;
			break;
		}
		n++;
	}
	if (rc) {
		ms_dir_names_free(names, n);
		return rc;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	*names_out = names;
	*n_out = n;
	return 0;
}
