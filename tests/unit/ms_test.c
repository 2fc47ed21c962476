/* SPDX-License-Identifier: MIT */
/* Shared unit-test helpers (see ms_test.h). */
#define _POSIX_C_SOURCE 200809L
#include "ms_test.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *ms_test_src_path(const char *rel)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", MS_SRC_DIR, rel);
	return path;
}

const char *ms_test_shared_path(const char *rel)
{
	static char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", MS_SHARED_DATA, rel);
	if (stat(path, &st) != 0) {
		printf("SKIP: development data not present (%s)\n", path);
		return NULL;
	}
	return path;
}

const char *ms_test_tmpdir(void)
{
	static char path[4096];
	const char *base = getenv("TMPDIR");

	snprintf(path, sizeof(path), "%s/ms_test.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(path))
		return NULL;
	return path;
}

size_t ms_test_count_files(const char *pattern)
{
	glob_t g;
	size_t n;

	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	n = g.gl_pathc;
	globfree(&g);
	return n;
}
