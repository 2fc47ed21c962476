/* SPDX-License-Identifier: MIT */
/* The checking sink shared by the catalogue fuzz targets (catalog_sink.h). */
#include "catalog_sink.h"

#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

static void check_str(const char *s, int may_be_null)
{
	if (!s) {
		if (!may_be_null)
			abort();
		return;
	}
	if (!ms_utf8_valid(s, strlen(s), NULL))
		abort();
}

static int fz_begin(void *payload, const struct catalog_info *info, struct ms_error *err)
{
	(void)payload;
	(void)err;
	check_str(info->system, 0);
	check_str(info->version, 0);
	check_str(info->part, 0);
	check_str(info->title, 1);
	check_str(info->date, 1);
	check_str(info->format, 0);
	check_str(info->lang, 0);
	return 0;
}

static void check_rubric(const struct catalog_rubric *r)
{
	size_t j;

	check_str(r->kind, 0);
	check_str(r->text, 0);
	check_str(r->usage, 1);
	if (r->n_refs && !r->refs)
		abort();
	for (j = 0; j < r->n_refs; j++) {
		check_str(r->refs[j].code, 0);
		check_str(r->refs[j].usage, 1);
	}
}

static int fz_entry(void *payload, const struct catalog_entry *e, struct ms_error *err)
{
	size_t i;

	(void)payload;
	(void)err;
	check_str(e->code, 0);
	check_str(e->kind, 0);
	check_str(e->parent, 1);
	check_str(e->usage, 1);
	check_str(e->label, 1);
	if (!*e->code || (e->n_rubrics && !e->rubrics) || (e->n_meta && !e->meta))
		abort();
	for (i = 0; i < e->n_rubrics; i++)
		check_rubric(&e->rubrics[i]);
	for (i = 0; i < e->n_meta; i++) {
		check_str(e->meta[i].name, 0);
		check_str(e->meta[i].value, 0);
	}
	return 0;
}

static int fz_term(void *payload, const struct catalog_term *t, struct ms_error *err)
{
	(void)payload;
	(void)err;
	check_str(t->text, 0);
	check_str(t->code, 1);
	check_str(t->code_asterisk, 1);
	check_str(t->code_extra, 1);
	check_str(t->code2, 1);
	check_str(t->term_id, 1);
	return 0;
}

int fuzz_catalog_run(fuzz_catalog_reader reader, const uint8_t *data, size_t size, const char *name)
{
	const struct catalog_sink sink = { fz_begin, fz_entry, fz_term, NULL };
	struct ms_error err = MS_ERROR_INIT;
	int rc;

	rc = reader((const char *)data, size, name, NULL, &sink, &err);
	if (rc != 0 && (err.code != rc || !err.msg[0]))
		abort();
	if (rc == 0 && err.code != 0)
		abort();
	return 0;
}
