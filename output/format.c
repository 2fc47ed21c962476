/* SPDX-License-Identifier: MIT */
/*
 * Record formats: one example as one JSONL line in the shape a trainer
 * expects (see output.h for the four shapes and the sources they follow).
 * Key order is fixed and every key is always present with the same type, so
 * that Hugging Face datasets infers one schema per file.
 */
#include "output/output.h"

#include <string.h>

#include "common/json.h"
#include "output/output_int.h"

static const char *const format_names[] = {
	[OUTPUT_FORMAT_MESSAGES] = "messages",
	[OUTPUT_FORMAT_PROMPT_COMPLETION] = "prompt-completion",
	[OUTPUT_FORMAT_ALPACA] = "alpaca",
	[OUTPUT_FORMAT_SHAREGPT] = "sharegpt",
};

const char *output_format_name(enum output_format fmt)
{
	if ((unsigned)fmt >= sizeof(format_names) / sizeof(format_names[0]))
		return NULL;
	return format_names[fmt];
}

int output_format_parse(enum output_format *out, const char *name, struct ms_error *err)
{
	size_t i;

	for (i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum output_format)i;
			return 0;
		}
	}
	return ms_error_set(
	        err, MS_EINVAL,
	        "unknown format '%.64s' (messages, prompt-completion, alpaca, sharegpt)", name);
}

/* Writes s, or "" for NULL: meta strings are never null. */
static void str_or_empty(struct ms_json *j, const char *s)
{
	ms_json_str(j, s ? s : "");
}

static void write_meta(struct ms_json *j, const struct output_example *ex)
{
	size_t i;

	ms_json_key(j, "meta");
	ms_json_obj_begin(j);
	ms_json_key(j, "id");
	ms_json_str(j, ex->id);
	ms_json_key(j, "task");
	str_or_empty(j, ex->task);
	ms_json_key(j, "system");
	str_or_empty(j, ex->catalog_system);
	ms_json_key(j, "version");
	str_or_empty(j, ex->catalog_version);
	ms_json_key(j, "codes");
	ms_json_arr_begin(j);
	for (i = 0; i < ex->n_codes; i++)
		ms_json_str(j, ex->codes[i]);
	ms_json_arr_end(j);
	ms_json_key(j, "source");
	str_or_empty(j, ex->source);
	ms_json_obj_end(j);
}

/* Key names of a message object and the role values of one format family. */
struct msg_style {
	const char *role_key;
	const char *content_key;
	const char *system;
	const char *user;
	const char *assistant;
};

static const struct msg_style openai_style = { "role", "content", "system", "user", "assistant" };
static const struct msg_style sharegpt_style = { "from", "value", "system", "human", "gpt" };

static void write_msg(struct ms_json *j, const struct msg_style *st, const char *role,
                      const char *text, size_t len)
{
	ms_json_obj_begin(j);
	ms_json_key(j, st->role_key);
	ms_json_str(j, role);
	ms_json_key(j, st->content_key);
	ms_json_strn(j, text, len);
	ms_json_obj_end(j);
}

static bool has_system(const struct output_example *ex)
{
	return ex->system_prompt && ex->system_prompt_len > 0;
}

/* Writes the system message (if any) and turns [0, n) as array elements. */
static void write_turns(struct ms_json *j, const struct msg_style *st,
                        const struct output_example *ex, const struct output_turn *turns, size_t n,
                        bool with_system)
{
	size_t i;

	if (with_system && has_system(ex))
		write_msg(j, st, st->system, ex->system_prompt, ex->system_prompt_len);
	for (i = 0; i < n; i++)
		write_msg(j, st, turns[i].role == OUTPUT_ROLE_USER ? st->user : st->assistant,
		          turns[i].text, turns[i].len);
}

int output_record_append(struct ms_buf *out, const struct output_example *ex,
                         enum output_format fmt, unsigned flags, struct ms_error *err)
{
	struct output_turn tmp[2];
	const struct output_turn *turns;
	struct ms_json j;
	size_t n;
	int rc;

	rc = output_example_check(ex, fmt, err);
	if (rc < 0)
		return rc;
	n = output_example_turns(&turns, tmp, ex);
	ms_json_init(&j, out, false);
	ms_json_obj_begin(&j);
	switch (fmt) {
	case OUTPUT_FORMAT_MESSAGES:
		ms_json_key(&j, "messages");
		ms_json_arr_begin(&j);
		write_turns(&j, &openai_style, ex, turns, n, true);
		ms_json_arr_end(&j);
		break;
	case OUTPUT_FORMAT_PROMPT_COMPLETION:
		/* TRL: the prompt is everything before the final assistant turn */
		ms_json_key(&j, "prompt");
		ms_json_arr_begin(&j);
		write_turns(&j, &openai_style, ex, turns, n - 1, true);
		ms_json_arr_end(&j);
		ms_json_key(&j, "completion");
		ms_json_arr_begin(&j);
		write_turns(&j, &openai_style, ex, turns + n - 1, 1, false);
		ms_json_arr_end(&j);
		break;
	case OUTPUT_FORMAT_ALPACA:
		/*
		 * LLaMA-Factory joins instruction and a non-empty input with "\n";
		 * the user text goes whole into instruction so that nothing is
		 * re-split. system is always a string ("" = template default).
		 */
		ms_json_key(&j, "instruction");
		ms_json_strn(&j, turns[0].text, turns[0].len);
		ms_json_key(&j, "input");
		ms_json_str(&j, "");
		ms_json_key(&j, "output");
		ms_json_strn(&j, turns[1].text, turns[1].len);
		ms_json_key(&j, "system");
		if (has_system(ex))
			ms_json_strn(&j, ex->system_prompt, ex->system_prompt_len);
		else
			ms_json_str(&j, "");
		break;
	case OUTPUT_FORMAT_SHAREGPT:
		ms_json_key(&j, "conversations");
		ms_json_arr_begin(&j);
		write_turns(&j, &sharegpt_style, ex, turns, n, true);
		ms_json_arr_end(&j);
		break;
	}
	if (!(flags & OUTPUT_RECORD_NO_META))
		write_meta(&j, ex);
	ms_json_obj_end(&j);
	ms_buf_addch(out, '\n');
	rc = ms_buf_status(out);
	if (rc < 0)
		return ms_error_set(err, rc, "cannot format example '%s': %s", ex->id,
		                    ms_status_str(rc));
	return 0;
}
