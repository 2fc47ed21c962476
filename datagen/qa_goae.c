/* SPDX-License-Identifier: MIT */
/*
 * QA families over a fee schedule (GOÄ; GOZ rows are a catalogue of their
 * own and get the same families): service -> number, number ->
 * description, number -> points, the fee at the simple, threshold and
 * maximum factor, and exclusions ("neben ... nicht berechnungsfähig").
 *
 * Fees: GOÄ fees are computed with catalog_goae_fee_cents (§ 5 GOÄ: points
 * × 5.82873 ct × factor, rounded half up to cents, exact integer
 * arithmetic); GOZ fees, with their own point value, are taken from the
 * reader's meta (fee_*_cents), which applies § 5 GOZ the same way. Amounts
 * are written the German way: "10,72 €".
 *
 * Exclusions: the reader turns "GOÄ 2, GOÄ 3, ..., GOZ 5210" into
 * references by number only, so a GOZ number in a GOÄ row would be read as
 * the GOÄ number of the same digits. A reference is used only when the
 * rubric text names it with this schedule's prefix ("GOÄ 2", "GOZ-Ziffer:
 * 0120"); the others are skipped.
 */
#include "datagen/datagen.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "datagen/datagen_int.h"

static bool is_goz(const struct qa_table *t)
{
	return strcmp(t->sum.system, CATALOG_SYSTEM_GOZ) == 0;
}

/* "2,3", "1,0", "1,15" from a factor in thousandths. */
static const char *factor_text(struct qa_emit *em, int64_t milli)
{
	int64_t frac = milli % 1000;
	int places = 3;

	while (places > 1 && frac % 10 == 0) {
		frac /= 10;
		places--;
	}
	return qa_scratch_printf(em, "%" PRId64 ",%0*" PRId64, milli / 1000, places, frac);
}

/* "10,72" from cents. */
static const char *euro_text(struct qa_emit *em, int64_t cents)
{
	return qa_scratch_printf(em, "%" PRId64 ",%02" PRId64, cents / 100, cents % 100);
}

static void start(struct qa_item *it, enum datagen_qa_family f, const struct qa_table *t,
                  const struct qa_entry *e)
{
	qa_item_start(it, f, t);
	qa_item_set(it, PH_SCHEDULE, qa_system_display(t->sum.system));
	qa_item_set(it, PH_NUMBER, e->display);
	qa_item_set(it, PH_DESCRIPTION, e->label_long);
	qa_item_code(it, e->display);
}

/* The fee in cents at factor_milli, or -1 when unknown. */
static int64_t fee_at(const struct qa_table *t, const struct qa_entry *e, int64_t factor_milli)
{
	if (!is_goz(t))
		return catalog_goae_fee_cents(e->points, factor_milli);
	if (factor_milli == 1000)
		return e->fee_simple;
	if (factor_milli == e->factor_threshold_milli)
		return e->fee_threshold;
	if (factor_milli == e->factor_max_milli)
		return e->fee_max;
	return -1;
}

static int fees(struct qa_emit *em, const struct qa_table *t, const struct qa_entry *e,
                struct ms_error *err)
{
	const int64_t factors[3] = { 1000, e->factor_threshold_milli, e->factor_max_milli };
	const char *points;
	struct qa_item it;
	int i, rc = 0;

	if (e->points <= 0)
		return 0;
	points = qa_scratch_printf(em, "%" PRId64, e->points);
	if (!points)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	start(&it, DATAGEN_QA_GOAE_NUMBER_TO_POINTS, t, e);
	qa_item_set(&it, PH_POINTS, points);
	rc = qa_emit_item(em, &it, err);
	for (i = 0; i < 3 && !rc; i++) {
		int64_t cents;
		const char *f, *fee;

		/* 0 = the row has no such factor; equal factors ask the same question */
		if (factors[i] <= 0 || (i == 2 && factors[2] == factors[1]) ||
		    (i > 0 && factors[i] == 1000))
			continue;
		cents = fee_at(t, e, factors[i]);
		if (cents < 0)
			continue;
		f = factor_text(em, factors[i]);
		fee = euro_text(em, cents);
		if (!f || !fee)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		start(&it, DATAGEN_QA_GOAE_FEE, t, e);
		qa_item_set(&it, PH_POINTS, points);
		qa_item_set(&it, PH_FACTOR, f);
		qa_item_set(&it, PH_FEE, fee);
		rc = qa_emit_item(em, &it, err);
	}
	return rc;
}

/* The number of a token ("GOÄ 2", "GOZ-Ziffer: 0120") of this schedule, or NULL. */
static const char *token_number(const struct qa_table *t, const char *tok, size_t len,
                                size_t *n_out)
{
	static const char *const goae[] = { "GOÄ ", NULL };
	static const char *const goz[] = { "GOZ-Ziffer:", "GOZ ", NULL };
	const char *const *p;

	for (p = is_goz(t) ? goz : goae; *p; p++) {
		size_t pl = strlen(*p);

		if (len > pl && memcmp(tok, *p, pl) == 0) {
			tok += pl;
			len -= pl;
			while (len && *tok == ' ') {
				tok++;
				len--;
			}
			/* GOZ numbers are written with leading zeros, referenced without */
			while (is_goz(t) && len > 1 && *tok == '0') {
				tok++;
				len--;
			}
			*n_out = len;
			return len ? tok : NULL;
		}
	}
	return NULL;
}

/* True if the rubric text names code with this schedule's prefix. */
static bool text_names(const struct qa_table *t, const char *text, const char *code)
{
	size_t clen = strlen(code);
	const char *p = text;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p), n;
		const char *num;

		while (len && *p == ' ') {
			p++;
			len--;
		}
		while (len && p[len - 1] == ' ')
			len--;
		num = token_number(t, p, len, &n);
		if (num && n == clen && memcmp(num, code, n) == 0)
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

static int exclusions(struct qa_emit *em, const struct qa_table *t, const struct qa_entry *e,
                      struct ms_error *err)
{
	uint32_t i, k;
	int rc = 0;

	for (i = 0; i < e->n_rubrics && !rc; i++) {
		const struct qa_rubric *r = &t->r[e->rubric0 + i];

		if (strcmp(r->kind, "exclusion") != 0)
			continue;
		for (k = 0; k < r->n_refs && !rc; k++) {
			const struct qa_ref *f = &t->refs[r->ref0 + k];
			const struct qa_entry *o;
			struct qa_item it;

			if (!text_names(t, r->text, f->code))
				continue;
			o = qa_table_find(t, f->code, strlen(f->code));
			if (!o) {
				em->stats->n_unresolved++;
				continue;
			}
			if (o == e || !o->label_long)
				continue;
			start(&it, DATAGEN_QA_GOAE_EXCLUSION, t, e);
			qa_item_set(&it, PH_OTHER_NUMBER, o->display);
			qa_item_set(&it, PH_OTHER_DESCRIPTION, o->label_long);
			qa_item_code(&it, o->display);
			rc = qa_emit_item(em, &it, err);
		}
	}
	return rc;
}

int qa_goae_generate(struct qa_emit *em, const struct qa_table *t, struct ms_error *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < t->n && !rc; i++) {
		const struct qa_entry *e = &t->e[i];
		struct qa_item it;

		if (!e->label_long)
			continue;
		ms_arena_reset(&em->scratch);
		start(&it, DATAGEN_QA_GOAE_SERVICE_TO_NUMBER, t, e);
		rc = qa_emit_item(em, &it, err);
		if (!rc) {
			start(&it, DATAGEN_QA_GOAE_NUMBER_TO_DESCRIPTION, t, e);
			rc = qa_emit_item(em, &it, err);
		}
		if (!rc)
			rc = fees(em, t, e, err);
		if (!rc)
			rc = exclusions(em, t, e, err);
	}
	return rc;
}
