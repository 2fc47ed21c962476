/* SPDX-License-Identifier: MIT */
/* Unit tests for common/fileio.c, common/error.c and common/hash.c. */
#include "ms_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/hash.h"

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

static void test_lines(void **state)
{
	struct ms_lines it;
	const char *line;
	size_t len;
	const char text[] = "a\r\nbb\ncc\rd";

	(void)state;
	ms_lines_init(&it, text, sizeof(text) - 1);
	assert_true(ms_lines_next(&it, &line, &len));
	assert_int_equal(len, 1);
	assert_true(ms_lines_next(&it, &line, &len));
	assert_int_equal(len, 2);
	assert_memory_equal(line, "bb", 2);
	assert_true(ms_lines_next(&it, &line, &len));
	assert_memory_equal(line, "cc", 2);
	assert_true(ms_lines_next(&it, &line, &len));
	assert_memory_equal(line, "d", 1);
	assert_int_equal(it.line_no, 4);
	assert_false(ms_lines_next(&it, &line, &len));
}

/* The line rule spelled out byte by byte: the reference for the fast scan. */
static size_t ref_next(const char *s, size_t len, size_t *pos, size_t *line_len)
{
	size_t start = *pos, i;

	for (i = start; i < len && s[i] != '\n' && s[i] != '\r'; i++)
		;
	*line_len = i - start;
	if (i < len && s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
		i++;
	*pos = i < len ? i + 1 : i;
	return start;
}

/* Every string of up to 7 bytes over {a, \r, \n}: the same lines as the reference. */
static void test_lines_all_short(void **state)
{
	static const char alphabet[] = { 'a', '\r', '\n' };
	char buf[8];
	size_t n, code, k, total;

	(void)state;
	for (n = 0, total = 1; n <= 7; n++, total *= 3) {
		for (code = 0; code < total; code++) {
			struct ms_lines it;
			const char *line;
			size_t len, pos = 0, ref_len, c = code;

			for (k = 0; k < n; k++, c /= 3)
				buf[k] = alphabet[c % 3];
			ms_lines_init(&it, buf, n);
			while (pos < n) {
				size_t start = ref_next(buf, n, &pos, &ref_len);

				assert_true(ms_lines_next(&it, &line, &len));
				assert_ptr_equal(line, buf + start);
				assert_int_equal(len, ref_len);
			}
			assert_false(ms_lines_next(&it, &line, &len));
		}
	}
}

static void test_atomic(void **state)
{
	const char *dir = ms_test_tmpdir();
	char path[4096];
	struct ms_atomic_file f;
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf b = MS_BUF_INIT;

	(void)state;
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	assert_int_equal(ms_atomic_open(&f, path, 0644, &err), 0);
	ms_atomic_write(&f, "hello", 5);
	/* nothing visible under the final name before commit */
	assert_int_equal(ms_file_read(&b, path, 0, &err), MS_ENOTFOUND);
	ms_error_clear(&err);
	assert_int_equal(ms_atomic_commit(&f, &err), 0);
	assert_int_equal(ms_file_read(&b, path, 0, &err), 0);
	assert_string_equal(b.buf, "hello");
	ms_buf_reset(&b);
	assert_int_equal(ms_file_read(&b, path, 3, &err), MS_ETOOBIG);
	/* abort leaves the old file and no temporary */
	assert_int_equal(ms_atomic_open(&f, path, 0644, &err), 0);
	ms_atomic_write(&f, "partial", 7);
	ms_atomic_abort(&f);
	assert_int_equal(count_files(dir), 1);
	remove(path);
	remove(dir);
	ms_buf_release(&b);
}

/*
 * Whole files of every size class: empty, one read, larger than a pipe's
 * 64 KiB; files whose size fstat does not tell (/proc); the cap either way.
 * The file hash reads in chunks and must agree with the one of the bytes.
 */
static void test_read_sizes(void **state)
{
	static const size_t sizes[] = { 0, 1, 4095, 4096, 65536, 65537, 300001 };
	const char *dir = ms_test_tmpdir();
	unsigned char digest[MS_SHA256_LEN];
	char path[4096], hex[MS_SHA256_HEX_LEN + 1], want[MS_SHA256_HEX_LEN + 1];
	struct ms_error err = MS_ERROR_INIT;
	struct ms_buf b = MS_BUF_INIT;
	size_t i, k;

	(void)state;
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/sized.bin", dir);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *data = malloc(sizes[i] + 1);
		FILE *f = fopen(path, "wb");

		assert_non_null(data);
		assert_non_null(f);
		for (k = 0; k < sizes[i]; k++)
			data[k] = (char)(k * 7 + k / 251);
		assert_int_equal(fwrite(data, 1, sizes[i], f), sizes[i]);
		fclose(f);
		ms_buf_reset(&b);
		ms_buf_adds(&b, "kept");
		assert_int_equal(ms_file_read(&b, path, 0, &err), 0);
		assert_int_equal(b.len, 4 + sizes[i]);
		assert_memory_equal(b.buf, "kept", 4);
		if (sizes[i])
			assert_memory_equal(b.buf + 4, data, sizes[i]);
		assert_int_equal(b.buf[b.len], '\0');
		if (sizes[i] > 1) { /* cap 0 is none */
			ms_buf_reset(&b);
			assert_int_equal(ms_file_read(&b, path, sizes[i] - 1, &err), MS_ETOOBIG);
			ms_error_clear(&err);
		}
		ms_sha256(digest, data, sizes[i]);
		for (k = 0; k < MS_SHA256_LEN; k++)
			snprintf(want + 2 * k, 3, "%02x", digest[k]);
		assert_int_equal(ms_sha256_file(hex, path, &err), 0);
		assert_string_equal(hex, want);
		free(data);
	}
	remove(path);
	remove(dir);
	/* size 0 to fstat, content to read */
	ms_buf_reset(&b);
	if (ms_file_read(&b, "/proc/self/status", 0, &err) == 0) {
		assert_non_null(strstr(b.buf, "Name:"));
		ms_buf_reset(&b);
		assert_int_equal(ms_file_read(&b, "/proc/self/status", 10, &err), MS_ETOOBIG);
	}
	ms_buf_release(&b);
}

static void test_error_format(void **state)
{
	struct ms_error err = MS_ERROR_INIT;
	char msg[256];

	(void)state;
	assert_int_equal(ms_error_set(&err, MS_EINVAL, "bad field %d", 3), MS_EINVAL);
	/* first error wins */
	ms_error_set(&err, MS_EIO, "later");
	ms_error_set_path(&err, "x.txt");
	ms_error_set_line(&err, 12);
	ms_error_set_line(&err, 99);
	assert_string_equal(ms_error_format(&err, msg, sizeof(msg)), "x.txt:12: bad field 3");
	ms_error_clear(&err);
	ms_error_set(&err, MS_ETOOBIG, "too long");
	ms_error_set_record(&err, 7);
	assert_string_equal(ms_error_format(&err, msg, sizeof(msg)), "record 7: too long");
	assert_string_equal(ms_status_str(MS_ENOMEM), "out of memory");
}

static void test_hash(void **state)
{
	unsigned char d[MS_SHA256_LEN];
	char hex[MS_SHA256_HEX_LEN + 1];

	(void)state;
	assert_int_equal(ms_hash_init(), 0);
	ms_sha256(d, "abc", 3);
	ms_hex(hex, d, sizeof(d));
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* RFC 4231 test case 2 */
	ms_hmac_sha256(d, "Jefe", 4, "what do ya want for nothing?", 28);
	ms_hex(hex, d, sizeof(d));
	assert_string_equal(hex,
	                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* RFC 4231 test case 6: a key longer than a block is hashed first */
	{
		unsigned char key[131];
		const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";

		memset(key, 0xaa, sizeof(key));
		ms_hmac_sha256(d, key, sizeof(key), msg, strlen(msg));
		ms_hex(hex, d, sizeof(d));
		assert_string_equal(
		        hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	}
	/* SHA-256 of nothing */
	ms_sha256(d, "", 0);
	ms_hex(hex, d, sizeof(d));
	assert_string_equal(hex,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* FNV-1a: a published value, and its last step undone for every byte */
	assert_true(ms_fnv1a("a", 1) == 0xaf63dc4c8601ec8cull);
	{
		unsigned char buf[3] = { 'x', 'y', 0 };
		unsigned b;

		for (b = 0; b < 256; b++) {
			buf[2] = (unsigned char)b;
			assert_true(ms_fnv1a_drop_last(ms_fnv1a(buf, 3), buf[2]) ==
			            ms_fnv1a(buf, 2));
		}
		assert_true(ms_fnv1a_drop_last(ms_fnv1a("a", 1), 'a') == ms_fnv1a("", 0));
	}
}

static bool ends_txt(const char *name, void *arg)
{
	size_t len = strlen(name);

	(void)arg;
	return len > 4 && strcmp(name + len - 4, ".txt") == 0;
}

static void test_dir_names(void **state)
{
	const char *dir = ms_test_tmpdir();
	const char *files[] = { "b.txt", "a.txt", "c.json", ".hidden.txt", "B.txt" };
	char path[4096], **names = NULL;
	size_t n = 0, i;
	DIR *d;

	(void)state;
	assert_non_null(dir);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		f = fopen(path, "w");
		assert_non_null(f);
		fclose(f);
	}
	d = opendir(dir);
	assert_non_null(d);
	assert_int_equal(ms_dir_names(d, ends_txt, NULL, 0, &names, &n), 0);
	closedir(d);
	assert_int_equal(n, 3); /* sorted bytewise, dot files and other names left out */
	assert_string_equal(names[0], "B.txt");
	assert_string_equal(names[1], "a.txt");
	assert_string_equal(names[2], "b.txt");
	ms_dir_names_free(names, n);
	d = opendir(dir);
	assert_non_null(d);
	assert_int_equal(ms_dir_names(d, ends_txt, NULL, 2, &names, &n), MS_ETOOBIG);
	closedir(d);
	assert_null(names);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),        cmocka_unit_test(test_lines_all_short),
		cmocka_unit_test(test_atomic),       cmocka_unit_test(test_dir_names),
		cmocka_unit_test(test_error_format), cmocka_unit_test(test_hash),
		cmocka_unit_test(test_read_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
