/* SPDX-License-Identifier: MIT */
/*
 * Record formats: one example as one JSONL line in the shape a trainer
 * expects (see output.h for the four shapes and the sources they follow).
 * Key order is fixed and every key is always present with the same type, so
 * that Hugging Face datasets infers one schema per file.
 */
#include "output/output.h"

#include <string.h>

#include "common/buf.h"
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

/*
 * Records are flat and their keys fixed, and this runs once per record (a
 * million times for the QA dataset), so punctuation and keys go out as
 * literal bytes and only the values pass through the JSON quoting; the
 * bytes are those ms_json writes in compact mode (the golden tests of
 * every format pin them).
 */

/* A byte string whose length is known when compiling. */
struct lit {
	const char *s;
	size_t len;
};

#define LIT(s)                     \
	{                          \
		(s), sizeof(s) - 1 \
	}

static void add_lit(struct ms_buf *b, struct lit l)
{
	ms_buf_add(b, l.s, l.len);
}

/* Appends a literal string constant. */
#define ADD_LIT(b, s) ms_buf_add((b), (s), sizeof(s) - 1)

static void quote(struct ms_buf *b, const char *s)
{
	ms_json_quote(b, s, strlen(s));
}

/* Writes s, or "" for NULL: meta strings are never null. */
static void quote_or_empty(struct ms_buf *b, const char *s)
{
	if (s)
		quote(b, s);
	else
		ADD_LIT(b, "\"\"");
}

/* ,"meta":{...}: output_example_check has made sure id and codes are set. */
static void write_meta(struct ms_buf *b, const struct output_example *ex)
{
	size_t i;

	ADD_LIT(b, ",\"meta\":{\"id\":");
	quote(b, ex->id);
	ADD_LIT(b, ",\"task\":");
	quote_or_empty(b, ex->task);
	ADD_LIT(b, ",\"system\":");
	quote_or_empty(b, ex->catalog_system);
	ADD_LIT(b, ",\"version\":");
	quote_or_empty(b, ex->catalog_version);
	ADD_LIT(b, ",\"codes\":[");
	for (i = 0; i < ex->n_codes; i++) {
		if (i > 0)
			ms_buf_addch(b, ',');
		quote(b, ex->codes[i]);
	}
	ADD_LIT(b, "],\"source\":");
	quote_or_empty(b, ex->source);
	ms_buf_addch(b, '}');
}

/* The start of a message object per role, up to its text: {"role":"user","content": */
struct msg_style {
	struct lit system;
	struct lit user;
	struct lit assistant;
};

#define MSG_OPEN(role_key, content_key, role) \
	LIT("{\"" role_key "\":\"" role "\",\"" content_key "\":")

static const struct msg_style openai_style = {
	MSG_OPEN("role", "content", "system"),
	MSG_OPEN("role", "content", "user"),
	MSG_OPEN("role", "content", "assistant"),
};
static const struct msg_style sharegpt_style = {
	MSG_OPEN("from", "value", "system"),
	MSG_OPEN("from", "value", "human"),
	MSG_OPEN("from", "value", "gpt"),
};

static void write_msg(struct ms_buf *b, struct lit open, const char *text, size_t len, bool *first)
{
	if (!*first)
		ms_buf_addch(b, ',');
	*first = false;
	add_lit(b, open);
	ms_json_quote(b, text, len);
	ms_buf_addch(b, '}');
}

static bool has_system(const struct output_example *ex)
{
	return ex->system_prompt && ex->system_prompt_len > 0;
}

/* Writes an array of the system message (if any) and turns [0, n). */
static void write_turns(struct ms_buf *b, const struct msg_style *st,
                        const struct output_example *ex, const struct output_turn *turns, size_t n,
                        bool with_system)
{
	bool first = true;
	size_t i;

	ms_buf_addch(b, '[');
	if (with_system && has_system(ex))
		write_msg(b, st->system, ex->system_prompt, ex->system_prompt_len, &first);
	for (i = 0; i < n; i++)
		write_msg(b, turns[i].role == OUTPUT_ROLE_USER ? st->user : st->assistant,
		          turns[i].text, turns[i].len, &first);
	ms_buf_addch(b, ']');
}

int output_record_append(struct ms_buf *out, const struct output_example *ex,
                         enum output_format fmt, unsigned flags, struct ms_error *err)
{
	struct output_turn tmp[2];
	const struct output_turn *turns;
	size_t n;
	int rc;

	rc = output_example_check(ex, fmt, err);
	if (rc < 0)
		return rc;
	n = output_example_turns(&turns, tmp, ex);
	switch (fmt) {
	case OUTPUT_FORMAT_MESSAGES:
		ADD_LIT(out, "{\"messages\":");
		write_turns(out, &openai_style, ex, turns, n, true);
		break;
	case OUTPUT_FORMAT_PROMPT_COMPLETION:
		/* TRL: the prompt is everything before the final assistant turn */
		ADD_LIT(out, "{\"prompt\":");
		write_turns(out, &openai_style, ex, turns, n - 1, true);
		ADD_LIT(out, ",\"completion\":");
		write_turns(out, &openai_style, ex, turns + n - 1, 1, false);
		break;
	case OUTPUT_FORMAT_ALPACA:
		/*
		 * LLaMA-Factory joins instruction and a non-empty input with "\n";
		 * the user text goes whole into instruction so that nothing is
		 * re-split. system is always a string ("" = template default).
		 */
		ADD_LIT(out, "{\"instruction\":");
		ms_json_quote(out, turns[0].text, turns[0].len);
		ADD_LIT(out, ",\"input\":\"\",\"output\":");
		ms_json_quote(out, turns[1].text, turns[1].len);
		ADD_LIT(out, ",\"system\":");
		if (has_system(ex))
			ms_json_quote(out, ex->system_prompt, ex->system_prompt_len);
		else
			ADD_LIT(out, "\"\"");
		break;
	case OUTPUT_FORMAT_SHAREGPT:
		ADD_LIT(out, "{\"conversations\":");
		write_turns(out, &sharegpt_style, ex, turns, n, true);
		break;
	}
	if (!(flags & OUTPUT_RECORD_NO_META))
		write_meta(out, ex);
	ADD_LIT(out, "}\n");
	rc = ms_buf_status(out);
	if (rc < 0)
		return ms_error_set(err, rc, "cannot format example '%s': %s", ex->id,
		                    ms_status_str(rc));
	return 0;
}
