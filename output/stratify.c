/* SPDX-License-Identifier: MIT */
/*
 * Iterative stratification of groups over parts (folds and a hold-out), after
 * Sechidis, Tsoumakas and Vlahavas, "On the stratification of multi-label
 * data" (ECML PKDD 2011), with whole groups as the unit so that no patient
 * lands in two parts. See output.h for the rules; this file only implements
 * them.
 *
 * Cost: one pass over each label's group list, plus choosing the rarest
 * remaining label n_labels times over n_labels counters: O(pairs + L^2 + G log G),
 * memory O(pairs + L * parts). Radiology code sets have tens to a few
 * thousand distinct labels, so the quadratic term stays small.
 */
#include "output/output.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

struct strat {
	const struct output_strat_group *g;
	size_t n_groups, n_labels, n_parts;
	uint64_t seed;
	double *want_label;  /* [part * n_labels + label] */
	double *want_total;  /* [part] */
	uint64_t *remaining; /* unassigned examples per label */
	uint32_t *part;      /* per group, UINT32_MAX = unassigned */
	uint32_t *list;      /* groups per label, concatenated */
	size_t *list_off;    /* [n_labels + 1] */
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Sort key of a group: larger groups first, then the caller's order key. */
struct sort_key {
	uint32_t n_examples;
	uint32_t index;
	uint64_t order;
};

static int cmp_key(const void *a, const void *b)
{
	const struct sort_key *x = a, *y = b;

	if (x->n_examples != y->n_examples)
		return x->n_examples > y->n_examples ? -1 : 1;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->index < y->index ? -1 : (x->index > y->index);
}

static uint32_t best_part(const struct strat *s, size_t gi, size_t label, bool by_label)
{
	uint32_t best = 0, j;
	uint64_t best_tie = 0;

	for (j = 0; j < s->n_parts; j++) {
		double wl = by_label ? s->want_label[j * s->n_labels + label] : 0;
		double bl = by_label ? s->want_label[(size_t)best * s->n_labels + label] : 0;
		uint64_t tie = mix64(s->seed ^ s->g[gi].order ^ ((uint64_t)j << 48));

		if (j == 0) {
			best_tie = tie;
			continue;
		}
		if (wl > bl + 1e-9 ||
		    (fabs(wl - bl) <= 1e-9 &&
		     (s->want_total[j] > s->want_total[best] + 1e-9 ||
		      (fabs(s->want_total[j] - s->want_total[best]) <= 1e-9 && tie < best_tie)))) {
			best = j;
			best_tie = tie;
		}
	}
	return best;
}

static void assign(struct strat *s, size_t gi, uint32_t part)
{
	const struct output_strat_group *g = &s->g[gi];
	size_t i;

	s->part[gi] = part;
	s->want_total[part] -= g->n_examples;
	for (i = 0; i < g->n_labels; i++) {
		s->want_label[(size_t)part * s->n_labels + g->labels[i]] -= g->counts[i];
		s->remaining[g->labels[i]] -= g->counts[i];
	}
}

static int build_lists(struct strat *s, struct ms_error *err)
{
	size_t gi, i, n_pairs = 0, *fill = NULL;
	uint32_t *order = NULL;
	struct sort_key *keys;

	s->list_off = ms_calloc(s->n_labels + 1, sizeof(*s->list_off));
	order = ms_malloc((s->n_groups ? s->n_groups : 1) * sizeof(*order));
	if (!s->list_off || !order)
		goto oom;
	for (gi = 0; gi < s->n_groups; gi++) {
		order[gi] = (uint32_t)gi;
		for (i = 0; i < s->g[gi].n_labels; i++) {
			if (s->g[gi].labels[i] >= s->n_labels) {
				ms_free(order);
				ms_error_set(err, MS_EUSAGE,
				             "group %zu: label index %u out of range", gi,
				             s->g[gi].labels[i]);
				return MS_EUSAGE;
			}
			s->list_off[s->g[gi].labels[i] + 1]++;
			s->remaining[s->g[gi].labels[i]] += s->g[gi].counts[i];
			n_pairs++;
		}
	}
	for (i = 0; i < s->n_labels; i++)
		s->list_off[i + 1] += s->list_off[i];
	s->list = ms_malloc((n_pairs ? n_pairs : 1) * sizeof(*s->list));
	fill = ms_malloc((s->n_labels ? s->n_labels : 1) * sizeof(*fill));
	if (!s->list || !fill)
		goto oom;
	memcpy(fill, s->list_off, s->n_labels * sizeof(*fill));
	/* each label's list in processing order: largest groups first */
	keys = ms_malloc((s->n_groups ? s->n_groups : 1) * sizeof(*keys));
	if (!keys)
		goto oom;
	for (i = 0; i < s->n_groups; i++) {
		keys[i].n_examples = s->g[i].n_examples;
		keys[i].index = (uint32_t)i;
		keys[i].order = s->g[i].order;
	}
	qsort(keys, s->n_groups, sizeof(*keys), cmp_key);
	for (i = 0; i < s->n_groups; i++)
		order[i] = keys[i].index;
	ms_free(keys);
	for (i = 0; i < s->n_groups; i++) {
		const struct output_strat_group *g = &s->g[order[i]];
		size_t l;

		for (l = 0; l < g->n_labels; l++)
			s->list[fill[g->labels[l]]++] = order[i];
	}
	ms_free(fill);
	/* order is reused by the caller for the label-less groups */
	s->part = order;
	return 0;
oom:
	ms_free(order);
	ms_free(fill);
	ms_error_set(err, MS_ENOMEM, "out of memory");
	return MS_ENOMEM;
}

/*
 * The codes are returned explicitly rather than as ms_error_set()'s value,
 * so that the static analyser sees that every failure path stops the caller.
 */
static int check_ratios(const double *ratios, size_t n_parts, size_t n_groups, struct ms_error *err)
{
	double sum = 0;
	size_t j;

	if (n_parts == 0 || n_parts > UINT32_MAX - 1) {
		ms_error_set(err, MS_EUSAGE, "stratify: no parts");
		return MS_EUSAGE;
	}
	if (n_groups >= UINT32_MAX) {
		ms_error_set(err, MS_ETOOBIG, "stratify: more than %u groups", UINT32_MAX - 1);
		return MS_ETOOBIG;
	}
	for (j = 0; j < n_parts; j++) {
		if (!(ratios[j] >= 0 && ratios[j] <= 1)) {
			ms_error_set(err, MS_EUSAGE, "stratify: ratio %zu out of range", j);
			return MS_EUSAGE;
		}
		sum += ratios[j];
	}
	if (fabs(sum - 1) > 1e-9) {
		ms_error_set(err, MS_EUSAGE, "stratify: ratios sum to %g, not 1", sum);
		return MS_EUSAGE;
	}
	return 0;
}

/* Initial wants: each part's share of all examples and of each label's. */
static void init_wants(struct strat *s, const double *ratios)
{
	uint64_t total = 0;
	size_t i, j, l;

	for (i = 0; i < s->n_groups; i++) {
		s->part[i] = UINT32_MAX;
		total += s->g[i].n_examples;
	}
	for (j = 0; j < s->n_parts; j++) {
		s->want_total[j] = ratios[j] * (double)total;
		for (l = 0; l < s->n_labels; l++)
			s->want_label[j * s->n_labels + l] = ratios[j] * (double)s->remaining[l];
	}
}

/* The label with the fewest unassigned examples (lowest index on ties), or SIZE_MAX. */
static size_t rarest(const struct strat *s)
{
	size_t rare = SIZE_MAX, l;

	for (l = 0; l < s->n_labels; l++) {
		if (s->remaining[l] && (rare == SIZE_MAX || s->remaining[l] < s->remaining[rare]))
			rare = l;
	}
	return rare;
}

/* Assigns the labelled groups, rarest label first; returns how many. */
static size_t assign_labelled(struct strat *s)
{
	size_t rare, i, n_done = 0;

	while ((rare = rarest(s)) != SIZE_MAX) {
		for (i = s->list_off[rare]; i < s->list_off[rare + 1]; i++) {
			uint32_t gi = s->list[i];

			if (s->part[gi] != UINT32_MAX)
				continue;
			assign(s, gi, best_part(s, gi, rare, true));
			n_done++;
		}
	}
	return n_done;
}

int output_stratify(uint32_t *part_out, const struct output_strat_group *groups, size_t n_groups,
                    size_t n_labels, const double *ratios, size_t n_parts, uint64_t seed,
                    struct ms_error *err)
{
	struct strat s;
	uint32_t *order = NULL;
	size_t i, n_done;
	int rc;

	memset(&s, 0, sizeof(s));
	rc = check_ratios(ratios, n_parts, n_groups, err);
	if (rc)
		return rc;
	s.g = groups;
	s.n_groups = n_groups;
	s.n_labels = n_labels;
	s.n_parts = n_parts;
	s.seed = seed;
	s.want_label = ms_calloc(n_parts * (n_labels ? n_labels : 1), sizeof(double));
	s.want_total = ms_calloc(n_parts, sizeof(double));
	s.remaining = ms_calloc(n_labels ? n_labels : 1, sizeof(uint64_t));
	if (!s.want_label || !s.want_total || !s.remaining) {
		ms_error_set(err, MS_ENOMEM, "out of memory");
		rc = MS_ENOMEM;
		goto out;
	}
	rc = build_lists(&s, err);
	if (rc)
		goto out;
	order = s.part; /* groups sorted, from build_lists */
	s.part = part_out;
	init_wants(&s, ratios);
	n_done = assign_labelled(&s);
	for (i = 0; i < n_groups && n_done < n_groups; i++) {
		if (part_out[order[i]] == UINT32_MAX) {
			assign(&s, order[i], best_part(&s, order[i], 0, false));
			n_done++;
		}
	}
out:
	ms_free(order);
	ms_free(s.want_label);
	ms_free(s.want_total);
	ms_free(s.remaining);
	ms_free(s.list);
	ms_free(s.list_off);
	return rc;
}
