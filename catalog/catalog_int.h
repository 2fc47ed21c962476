/* SPDX-License-Identifier: MIT */
/*
 * Internal interfaces between the catalogue readers and the rest of the
 * module. Not for use outside catalog/.
 */
#ifndef MS_CATALOG_CATALOG_INT_H
#define MS_CATALOG_CATALOG_INT_H

#include "catalog/catalog.h"

/* Each reader: read path into sink; see catalog_read_file() for errors. */
int catalog_claml_read(const char *path, const struct catalog_read_opts *opts,
                       const struct catalog_sink *sink, struct ms_error *err) MS_MUST_CHECK;
int catalog_flat_read(const char *path, const struct catalog_read_opts *opts,
                      const struct catalog_sink *sink, struct ms_error *err) MS_MUST_CHECK;
int catalog_alpha_read(const char *path, const struct catalog_read_opts *opts,
                       const struct catalog_sink *sink, struct ms_error *err) MS_MUST_CHECK;
int catalog_goae_read(const char *path, const struct catalog_read_opts *opts,
                      const struct catalog_sink *sink, struct ms_error *err) MS_MUST_CHECK;

/*
 * In-memory variants used by fuzz targets and unit tests: name is used in
 * messages and for deriving versions from file names.
 */
int catalog_claml_read_mem(const char *data, size_t len, const char *name,
                           const struct catalog_read_opts *opts, const struct catalog_sink *sink,
                           struct ms_error *err) MS_MUST_CHECK;
int catalog_flat_read_mem(const char *data, size_t len, const char *name,
                          const struct catalog_read_opts *opts, const struct catalog_sink *sink,
                          struct ms_error *err) MS_MUST_CHECK;
int catalog_alpha_read_mem(const char *data, size_t len, const char *name,
                           const struct catalog_read_opts *opts, const struct catalog_sink *sink,
                           struct ms_error *err) MS_MUST_CHECK;
int catalog_goae_read_mem(const char *data, size_t len, const char *name,
                          const struct catalog_read_opts *opts, const struct catalog_sink *sink,
                          struct ms_error *err) MS_MUST_CHECK;

/*
 * For a flat-family member (x_kodes.txt, x_gruppen.txt, x_kapitel.txt),
 * stores the path of the _kodes.txt file in *out (ms_free it); MS_ENOTFOUND
 * if path does not follow the naming scheme.
 */
int catalog_flat_codes_path(char **out, const char *path) MS_MUST_CHECK;

#endif
