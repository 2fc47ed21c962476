/* SPDX-License-Identifier: MIT */
/*
 * Dataset statistics: name counters (tasks, catalogue systems) and length
 * histograms, and stats.json.
 *
 * Percentiles come from a log-linear histogram instead of stored lengths so
 * that memory depends on the longest text, not on the number of examples
 * (the writer promises flat memory apart from the duplicate set).
 */
#include "output/output.h"

#include <string.h>

#include "common/alloc.h"
#include "common/json.h"
#include "output/output_int.h"

/* Lengths below this are counted exactly. */
#define HIST_EXACT    2048u
/* Sub-buckets per power of two above HIST_EXACT (2^HIST_SUB_BITS). */
#define HIST_SUB_BITS 10
#define HIST_SUB      (1u << HIST_SUB_BITS)

static unsigned log2_floor(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

static size_t bin_of(uint64_t v)
{
	unsigned e;

	if (v < HIST_EXACT)
		return (size_t)v;
	e = log2_floor(v); /* >= 11 */
	return HIST_EXACT + (size_t)(e - 11) * HIST_SUB +
	       (size_t)((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

static uint64_t bin_low(size_t i)
{
	unsigned e;
	uint64_t sub;

	if (i < HIST_EXACT)
		return i;
	i -= HIST_EXACT;
	if (i / HIST_SUB > 63 - 11)
		return UINT64_MAX; /* past the last bucket bin_of can produce */
	e = (unsigned)(i / HIST_SUB) + 11;
	sub = i % HIST_SUB;
	return (HIST_SUB + sub) << (e - HIST_SUB_BITS);
}

int output_hist_add(struct output_hist *h, uint64_t v)
{
	size_t b = bin_of(v), old = h->n_bins;

	if (b >= h->n_bins) {
		if (MS_GROW(h->bins, h->n_bins, b + 1))
			return MS_ENOMEM;
		memset(h->bins + old, 0, (h->n_bins - old) * sizeof(*h->bins));
	}
	h->bins[b]++;
	if (h->n == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->n++;
	h->sum += (double)v;
	return 0;
}

/* Nearest-rank percentile pct (0..100). */
static uint64_t percentile(const struct output_hist *h, unsigned pct)
{
	uint64_t rank, cum = 0, v;
	size_t i;

	if (h->n == 0)
		return 0;
	rank = (h->n * pct + 99) / 100;
	if (rank == 0)
		rank = 1;
	for (i = 0; i < h->n_bins; i++) {
		cum += h->bins[i];
		if (cum >= rank)
			break;
	}
	v = bin_low(i < h->n_bins ? i : h->n_bins - 1);
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return v;
}

void output_hist_summary(struct output_length_stats *out, const struct output_hist *h)
{
	out->min = h->n ? h->min : 0;
	out->max = h->max;
	out->p50 = percentile(h, 50);
	out->p90 = percentile(h, 90);
	out->mean = h->n ? h->sum / (double)h->n : 0.0;
}

void output_hist_release(struct output_hist *h)
{
	if (!h)
		return;
	ms_free(h->bins);
	memset(h, 0, sizeof(*h));
}

int output_counter_add(struct output_counter *c, const char *name, struct ms_error *err)
{
	size_t lo = 0, hi = c->n, mid;
	char *copy;

	/* writers send runs of examples of one task and system: the last name first */
	if (c->n > 0 && strcmp(c->items[c->last].name, name) == 0) {
		c->items[c->last].n++;
		return 0;
	}
	/* binary search: names are few, but a report run may meet many tasks */
	while (lo < hi) {
		int cmp;

		mid = lo + (hi - lo) / 2;
		cmp = strcmp(c->items[mid].name, name);
		if (cmp == 0) {
			c->items[mid].n++;
			c->last = mid;
			return 0;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (c->n >= OUTPUT_COUNTER_MAX)
		return ms_error_set(err, MS_ETOOBIG, "more than %d distinct values of a count",
		                    OUTPUT_COUNTER_MAX);
	if (MS_GROW(c->items, c->alloc, c->n + 1))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	copy = ms_strdup(name);
	if (!copy)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	memmove(c->items + lo + 1, c->items + lo, (c->n - lo) * sizeof(*c->items));
	c->items[lo].name = copy;
	c->items[lo].n = 1;
	c->last = lo;
	c->n++;
	return 0;
}

void output_counter_release(struct output_counter *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		ms_free((void *)c->items[i].name); /* owned copy, const only for readers */
	ms_free(c->items);
	memset(c, 0, sizeof(*c));
}

const struct output_stats *output_stats_refresh(struct output_dataset *ds)
{
	struct output_stats *st = &ds->stats;
	size_t i;

	for (i = 0; i < ds->n_parts; i++) {
		ds->part_counts[i].name = ds->parts[i].name;
		ds->part_counts[i].n = ds->parts[i].records;
	}
	st->n_examples = ds->n_examples;
	st->n_duplicates = ds->n_duplicates;
	st->parts = ds->part_counts;
	st->n_parts = ds->n_parts;
	st->tasks = ds->tasks.items;
	st->n_tasks = ds->tasks.n;
	st->systems = ds->systems.items;
	st->n_systems = ds->systems.n;
	output_hist_summary(&st->question_chars, &ds->question);
	output_hist_summary(&st->answer_chars, &ds->answer);
	return st;
}

static void counts_json(struct ms_json *j, const char *key, const struct output_count *items,
                        size_t n)
{
	size_t i;

	ms_json_key(j, key);
	ms_json_obj_begin(j);
	for (i = 0; i < n; i++) {
		ms_json_key(j, items[i].name);
		ms_json_uint(j, items[i].n);
	}
	ms_json_obj_end(j);
}

static void length_json(struct ms_json *j, const char *key, const struct output_length_stats *l)
{
	ms_json_key(j, key);
	ms_json_obj_begin(j);
	ms_json_key(j, "min");
	ms_json_uint(j, l->min);
	ms_json_key(j, "p50");
	ms_json_uint(j, l->p50);
	ms_json_key(j, "p90");
	ms_json_uint(j, l->p90);
	ms_json_key(j, "max");
	ms_json_uint(j, l->max);
	ms_json_key(j, "mean");
	ms_json_double(j, l->mean);
	ms_json_obj_end(j);
}

void output_stats_json(struct ms_buf *out, struct output_dataset *ds)
{
	const struct output_stats *st = output_stats_refresh(ds);
	struct ms_json j;

	ms_json_init(&j, out, true);
	ms_json_obj_begin(&j);
	ms_json_key(&j, "format");
	ms_json_str(&j, output_format_name(ds->opts.format));
	ms_json_key(&j, "examples");
	ms_json_uint(&j, st->n_examples);
	ms_json_key(&j, "duplicates_dropped");
	ms_json_uint(&j, st->n_duplicates);
	counts_json(&j, "splits", st->parts, st->n_parts);
	counts_json(&j, "tasks", st->tasks, st->n_tasks);
	counts_json(&j, "systems", st->systems, st->n_systems);
	length_json(&j, "question_chars", &st->question_chars);
	length_json(&j, "answer_chars", &st->answer_chars);
	if (ds->opts.stats_extra)
		ds->opts.stats_extra(&j, ds->opts.stats_payload);
	ms_json_obj_end(&j);
	ms_buf_addch(out, '\n');
}
