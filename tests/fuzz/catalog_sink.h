/* SPDX-License-Identifier: MIT */
/*
 * The checking sink shared by the catalogue fuzz targets: every string a
 * reader hands over must be valid UTF-8 (NULL only where the API allows it),
 * every count must come with its array, and a failure must come with a
 * filled error record. Any violation aborts, which the fuzzer reports.
 */
#ifndef MS_TESTS_FUZZ_CATALOG_SINK_H
#define MS_TESTS_FUZZ_CATALOG_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog_int.h"

typedef int (*fuzz_catalog_reader)(const char *data, size_t len, const char *name,
                                   const struct catalog_read_opts *opts,
                                   const struct catalog_sink *sink, struct ms_error *err);

/* Runs reader on the input with the checking sink; name as in messages. */
int fuzz_catalog_run(fuzz_catalog_reader reader, const uint8_t *data, size_t size,
                     const char *name);

#endif
