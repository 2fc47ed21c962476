/* SPDX-License-Identifier: MIT */
/*
 * Split and fold assignment by keyed hash of a group key.
 *
 * Assignment is a pure function of (seed, group key): no state, no
 * coordination between shards, no dependence on input order. HMAC-SHA-256
 * rather than a fast non-cryptographic hash because the group key may be a
 * patient pseudonym and the seed acts as a key: the assignment must not be
 * predictable from the key alone, and any tool can recompute it.
 */
#include "output/output.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

#define RATIO_EPS      1e-9
#define RATIO_TEXT_MAX 256

static const char *const split_names[OUTPUT_SPLIT_MAX] = {
	[OUTPUT_SPLIT_NONE] = NULL,
	[OUTPUT_SPLIT_TRAIN] = "train",
	[OUTPUT_SPLIT_VALIDATION] = "validation",
	[OUTPUT_SPLIT_TEST] = "test",
};

const char *output_split_name(enum output_split split)
{
	if ((unsigned)split >= OUTPUT_SPLIT_MAX)
		return NULL;
	return split_names[split];
}

static enum output_split split_from_name(const char *s, size_t len)
{
	int i;

	for (i = OUTPUT_SPLIT_TRAIN; i < OUTPUT_SPLIT_MAX; i++) {
		if (strlen(split_names[i]) == len && memcmp(split_names[i], s, len) == 0)
			return (enum output_split)i;
	}
	return OUTPUT_SPLIT_NONE;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims blanks from [*s, *s + *len). */
static void trim(const char **s, size_t *len)
{
	while (*len > 0 && is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_space((*s)[*len - 1]))
		(*len)--;
}

/* Parses a ratio in [0, 1] from exactly [s, s + len). */
static int parse_ratio(double *out, const char *s, size_t len, struct ms_error *err)
{
	char tmp[64];
	char *end;
	double v;

	if (len == 0 || len >= sizeof(tmp))
		return ms_error_set(err, MS_EINVAL, "invalid split ratio '%.*s'", (int)len, s);
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	/* strtod accepts "nan", "inf" and hex; only plain decimals are ratios */
	if (strspn(tmp, "0123456789.eE+-") != len)
		return ms_error_set(err, MS_EINVAL, "invalid split ratio '%s'", tmp);
	errno = 0;
	v = strtod(tmp, &end);
	if (errno != 0 || end != tmp + len || !isfinite(v))
		return ms_error_set(err, MS_EINVAL, "invalid split ratio '%s'", tmp);
	if (v < 0.0 || v > 1.0)
		return ms_error_set(err, MS_EINVAL, "split ratio '%s' is outside [0, 1]", tmp);
	*out = v;
	return 0;
}

int output_split_check(const struct output_split_spec *spec, struct ms_error *err)
{
	double sum = 0.0;
	int i;

	for (i = OUTPUT_SPLIT_TRAIN; i < OUTPUT_SPLIT_MAX; i++) {
		double r = spec->ratio[i];

		if (!isfinite(r) || r < 0.0 || r > 1.0)
			return ms_error_set(err, MS_EUSAGE, "ratio of split '%s' is outside [0, 1]",
			                    split_names[i]);
		sum += r;
	}
	if (fabs(sum - 1.0) > RATIO_EPS)
		return ms_error_set(err, MS_EUSAGE, "split ratios sum to %.17g, not 1", sum);
	return 0;
}

int output_split_parse(struct output_split_spec *out, const char *s, struct ms_error *err)
{
	struct output_split_spec spec = { { 0.0 } };
	bool seen[OUTPUT_SPLIT_MAX] = { false };
	int n_parts = 0, n_named = 0, rc;
	const char *p = s;
	size_t total = strlen(s);
	double sum = 0.0;

	if (total == 0 || total > RATIO_TEXT_MAX)
		return ms_error_set(err, MS_EINVAL, "invalid split ratios '%.64s'", s);
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		const char *num = p;
		size_t num_len = len;
		enum output_split split;

		if (n_parts == OUTPUT_SPLIT_MAX - 1)
			return ms_error_set(err, MS_EINVAL,
			                    "split ratios '%.64s' have more than 3 parts", s);
		if (eq) {
			const char *name = p;
			size_t name_len = (size_t)(eq - p);

			trim(&name, &name_len);
			split = split_from_name(name, name_len);
			if (split == OUTPUT_SPLIT_NONE)
				return ms_error_set(
				        err, MS_EINVAL,
				        "unknown split '%.*s' (train, validation, test)",
				        (int)(name_len > 32 ? 32 : name_len), name);
			if (seen[split])
				return ms_error_set(err, MS_EINVAL, "split '%s' given twice",
				                    split_names[split]);
			num = eq + 1;
			num_len = (size_t)(p + len - num);
			n_named++;
		} else {
			split = (enum output_split)(OUTPUT_SPLIT_TRAIN + n_parts);
		}
		trim(&num, &num_len);
		rc = parse_ratio(&spec.ratio[split], num, num_len, err);
		if (rc < 0)
			return rc;
		seen[split] = true;
		sum += spec.ratio[split];
		n_parts++;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (n_named != 0 && n_named != n_parts)
		return ms_error_set(err, MS_EINVAL,
		                    "split ratios '%.64s' mix named and positional parts", s);
	if (fabs(sum - 1.0) > RATIO_EPS)
		return ms_error_set(err, MS_EINVAL, "split ratios '%.64s' sum to %.17g, not 1", s,
		                    sum);
	*out = spec;
	return 0;
}

void output_split_hash(unsigned char out[32], uint64_t seed, const char *key, size_t len)
{
	char seed_text[24];
	int n = snprintf(seed_text, sizeof(seed_text), "%" PRIu64, seed);

	ms_hmac_sha256(out, seed_text, (size_t)n, key, len);
}

static uint64_t load_be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static double unit_of(const unsigned char h[32])
{
	/* top 53 bits: every value is an exact double in [0, 1) */
	return (double)(load_be64(h) >> 11) * 0x1p-53;
}

double output_split_unit(uint64_t seed, const char *key, size_t len)
{
	unsigned char h[MS_SHA256_LEN];

	output_split_hash(h, seed, key, len);
	return unit_of(h);
}

enum output_split output_split_assign(const struct output_split_spec *spec, uint64_t seed,
                                      const char *key, size_t len)
{
	double u = output_split_unit(seed, key, len);
	double acc = 0.0;
	enum output_split last = OUTPUT_SPLIT_TRAIN;
	int i;

	for (i = OUTPUT_SPLIT_TRAIN; i < OUTPUT_SPLIT_MAX; i++) {
		if (!(spec->ratio[i] > 0.0))
			continue;
		last = (enum output_split)i;
		acc += spec->ratio[i];
		if (u < acc)
			return last;
	}
	/* the ratios sum to 1 - 1e-9 at worst: the rest goes to the last split */
	return last;
}

int output_kfold_check(const struct output_kfold *kf, struct ms_error *err)
{
	if (kf->k < 2 || kf->k > OUTPUT_KFOLD_MAX)
		return ms_error_set(err, MS_EUSAGE, "number of folds %u is outside [2, %u]", kf->k,
		                    OUTPUT_KFOLD_MAX);
	if (!isfinite(kf->holdout) || kf->holdout < 0.0 || kf->holdout >= 1.0)
		return ms_error_set(err, MS_EUSAGE, "hold-out share is outside [0, 1)");
	return 0;
}

uint32_t output_kfold_assign(const struct output_kfold *kf, uint64_t seed, const char *key,
                             size_t len)
{
	unsigned char h[MS_SHA256_LEN];

	output_split_hash(h, seed, key, len);
	if (unit_of(h) < kf->holdout)
		return OUTPUT_FOLD_HOLDOUT;
	return (uint32_t)(load_be64(h + 8) % kf->k);
}
