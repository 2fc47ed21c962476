/* SPDX-License-Identifier: MIT */
/*
 * The example record: turn access and the checks every writer runs before a
 * byte is written (shape, non-empty text, UTF-8 validity). Not for
 * formatting (format.c) or hashing (split.c, dedup.c).
 */
#include "output/output.h"

#include <string.h>

#include "common/utf8.h"
#include "output/output_int.h"

size_t output_example_turns(const struct output_turn **turns_out, struct output_turn tmp[2],
                            const struct output_example *ex)
{
	if (ex->n_turns > 0) {
		*turns_out = ex->turns;
		return ex->n_turns;
	}
	tmp[0].role = OUTPUT_ROLE_USER;
	tmp[0].text = ex->user;
	tmp[0].len = ex->user_len;
	tmp[1].role = OUTPUT_ROLE_ASSISTANT;
	tmp[1].text = ex->assistant;
	tmp[1].len = ex->assistant_len;
	*turns_out = tmp;
	return 2;
}

/*
 * Every byte but a continuation byte (10xxxxxx) starts a character. Eight
 * bytes at a time: bit 7 of each byte of w & ~(w << 1) is set exactly for
 * continuation bytes (bit 6 moves into bit 7 of the same byte), and the
 * multiplication adds the eight 0/1 bytes into the top byte.
 */
uint64_t output_utf8_chars(const char *s, size_t len)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	uint64_t n = len;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		n -= ((((w & ~(w << 1)) & highs) >> 7) * ones) >> 56;
	}
	for (; i < len; i++) {
		if (((unsigned char)s[i] & 0xC0) == 0x80)
			n--;
	}
	return n;
}

/* Validates one text field; what names the field in the message. */
static int check_text(const struct output_example *ex, const char *what, const char *s, size_t len,
                      struct ms_error *err)
{
	size_t bad = 0;

	if (ms_utf8_valid(s, len, &bad))
		return 0;
	ms_error_set_off(err, bad);
	return ms_error_set(err, MS_EUNICODE, "invalid UTF-8 in %s of example '%s' at byte %zu",
	                    what, ex->id, bad);
}

static int check_str(const struct output_example *ex, const char *what, const char *s,
                     struct ms_error *err)
{
	if (!s)
		return 0;
	return check_text(ex, what, s, strlen(s), err);
}

static int check_turns(const struct output_example *ex, enum output_format fmt,
                       struct ms_error *err)
{
	struct output_turn tmp[2];
	const struct output_turn *turns;
	size_t n, i;
	int rc;

	n = output_example_turns(&turns, tmp, ex);
	if (!turns || n % 2 != 0)
		return ms_error_set(err, MS_EINVAL,
		                    "example '%s' has %zu turns; need user/assistant pairs", ex->id,
		                    n);
	if (fmt == OUTPUT_FORMAT_ALPACA && n != 2)
		return ms_error_set(err, MS_EINVAL,
		                    "example '%s' has %zu turns; the alpaca format holds one",
		                    ex->id, n);
	for (i = 0; i < n; i++) {
		enum output_role want = i % 2 == 0 ? OUTPUT_ROLE_USER : OUTPUT_ROLE_ASSISTANT;

		if (turns[i].role != want)
			return ms_error_set(
			        err, MS_EINVAL, "turn %zu of example '%s' must be a%s turn", i + 1,
			        ex->id, want == OUTPUT_ROLE_USER ? " user" : "n assistant");
		if (!turns[i].text || turns[i].len == 0)
			return ms_error_set(err, MS_EINVAL, "turn %zu of example '%s' is empty",
			                    i + 1, ex->id);
		rc = check_text(ex, want == OUTPUT_ROLE_USER ? "a user turn" : "an assistant turn",
		                turns[i].text, turns[i].len, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int output_example_check(const struct output_example *ex, enum output_format fmt,
                         struct ms_error *err)
{
	size_t i;
	int rc;

	if (!output_format_name(fmt))
		return ms_error_set(err, MS_EUSAGE, "unknown record format %d", (int)fmt);
	if (!ex->id || !ex->id[0])
		return ms_error_set(err, MS_EINVAL, "example without id");
	if (!ms_utf8_valid(ex->id, strlen(ex->id), NULL))
		return ms_error_set(err, MS_EUNICODE, "example id is not valid UTF-8");
	if (ex->split > OUTPUT_SPLIT_TEST)
		return ms_error_set(err, MS_EINVAL, "example '%s' has unknown split %d", ex->id,
		                    (int)ex->split);
	rc = check_turns(ex, fmt, err);
	if (rc < 0)
		return rc;
	if (ex->system_prompt) {
		rc = check_text(ex, "the system prompt", ex->system_prompt, ex->system_prompt_len,
		                err);
		if (rc < 0)
			return rc;
	}
	rc = check_str(ex, "the task", ex->task, err);
	if (rc == 0)
		rc = check_str(ex, "the catalogue system", ex->catalog_system, err);
	if (rc == 0)
		rc = check_str(ex, "the catalogue version", ex->catalog_version, err);
	if (rc == 0)
		rc = check_str(ex, "the source", ex->source, err);
	if (rc == 0)
		rc = check_str(ex, "the group key", ex->group, err);
	if (rc < 0)
		return rc;
	if (ex->n_codes > 0 && !ex->codes)
		return ms_error_set(err, MS_EINVAL, "example '%s' has %zu codes but no array",
		                    ex->id, ex->n_codes);
	for (i = 0; i < ex->n_codes; i++) {
		if (!ex->codes[i])
			return ms_error_set(err, MS_EINVAL, "code %zu of example '%s' is NULL",
			                    i + 1, ex->id);
		rc = check_str(ex, "a code", ex->codes[i], err);
		if (rc < 0)
			return rc;
	}
	return 0;
}
