/* SPDX-License-Identifier: MIT */
/* Fuzz target for the flat catalogue reader, with the shared checking sink. */
#include <stddef.h>
#include <stdint.h>

#include "catalog_sink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_catalog_run(catalog_flat_read_mem, data, size, "fuzz2025syst_kodes.txt");
}
