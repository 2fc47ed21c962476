/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the unit tests: paths to fixtures and to the optional
 * development data in ../shared (tests that need it skip visibly when it is
 * absent), and an in-memory sink that records what a reader produced.
 */
#ifndef MS_TESTS_UNIT_MS_TEST_H
#define MS_TESTS_UNIT_MS_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Returns a static path under the repository root (MS_SRC_DIR). */
const char *ms_test_src_path(const char *rel);

/*
 * Returns a static path under MS_SHARED_DATA if that file exists, else prints
 * "SKIP: <why> (<path> not present)" and returns NULL; callers then skip().
 */
const char *ms_test_shared_path(const char *rel);

/* Creates a fresh empty directory under TMPDIR and returns its static path. */
const char *ms_test_tmpdir(void);

/* How many files match the glob(3) pattern (0 if none). */
size_t ms_test_count_files(const char *pattern);

#endif
