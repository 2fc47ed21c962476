/* SPDX-License-Identifier: MIT */
/*
 * Rule files: the reader of the format documented in deid.h (section 3),
 * compilation of each pattern once with PCRE2 (8-bit, UTF + UCP, JIT), and
 * the matcher that turns matches into candidate spans and KEEP regions.
 *
 * A rule set is immutable after loading and shared by every worker; what a
 * match needs that changes (match data, JIT stack, a folding buffer) lives
 * in a struct deid_rules_ws per worker. Rules run one after another over
 * the whole text: a combined alternation would lose overlapping matches of
 * different rules, which the merge needs to see.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "deid/deid.h"

#include <errno.h>
#include <pcre2.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/bits.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "common/utf8.h"
#include "deid/detect_int.h"

#define RULES_TEXT_CAP       ((size_t)4 << 20)
#define RULES_PATTERN_CAP    ((size_t)64 << 10)
#define RULES_MAX            4096
#define RULES_MAX_DEFINES    1024
#define RULES_NAME_MAX       64
#define RULES_WINDOW_MAX     400
#define RULES_WINDOW_DEF     40
#define RULES_NEAR_MAX       4096 /* bytes of a `near` window */
#define RULES_NEAR_LINES_MAX 100  /* lines of a `near` window */
#define NEAR_DIRECT          256  /* bytes a line window looks through itself */
#define RULES_MATCH_LIMIT    10000000u
#define RULES_JIT_STACK_MIN  ((size_t)32 << 10)
#define RULES_JIT_STACK_MAX  ((size_t)1 << 20)
#define RULES_WORD_END_MAX   64 /* rules with *ending or <word triggers */

#define LABEL_NONE (-1)
#define LABEL_KEEP (-2)

enum rule_require { REQ_NONE = 0, REQ_FIRSTNAME, REQ_NAME, REQ_CITY };

struct rule_group {
	uint32_t num;
	enum phi_label label;
};

struct deid_rule {
	char *name;
	pcre2_code *code;
	pcre2_code *ctx; /* context words, or NULL */
	int label;       /* enum phi_label, LABEL_KEEP or LABEL_NONE */
	uint32_t group;
	unsigned window;
	int check; /* enum deid_check, or -1 */
	enum rule_require require;
	bool trim_given;
	char gender;
	int priority;
	float score;
	struct rule_group *groups; /* capture groups named after labels */
	size_t n_groups;
	uint32_t n_captures;
	bool jit;            /* JIT-compiled: matched with pcre2_jit_match (no argument checks) */
	char *needs;         /* literals separated by NUL, ending in an empty one; or NULL */
	char *triggers;      /* folded trigger words, the same way; or NULL */
	char *trigger_upper; /* per trigger word: 1 if written capitalised */
	char *trigger_kind;  /* per trigger word: enum trigger_kind */
	char *endings;       /* folded `*ending` triggers, the same way; or NULL */
	unsigned word_end;   /* 1 + its slot among the word-end rules, or 0 */
	bool trigger_digit;
	/* #digits:MIN-MAX: only at words of MIN to MAX ASCII digits (0: any #digit word) */
	unsigned char digits_min, digits_max;
	bool trigger_mixed;
	bool line_scope; /* scope = line: runs at the lines that hold a `needs` literal */
	/* near: literals stored like needs (or NULL); #digit; the window, in
	 * bytes (near_bytes) or lines (near_lines), one of them 0 */
	char *near;
	bool near_digit;
	size_t near_bytes;
	unsigned near_lines;
	/* a line window: its literals' (then #digit's) slots in the workspace's
	 * next-occurrence cache start here */
	size_t near_slot;
};

/* What a trigger word starts: a match at itself, or at the word before it. */
enum trigger_kind { TRIGGER_AT = 1, TRIGGER_BEFORE = 2 };

/* One trigger word of one rule; the set keeps them sorted by hash. */
struct rule_trigger {
	uint64_t hash;
	const char *key; /* in the rule's triggers */
	size_t len;
	size_t rule;
	bool upper; /* the word was written capitalised: only capitalised tokens */
	enum trigger_kind kind;
};

/* One `*ending` trigger; the set keeps them sorted by their last two bytes. */
struct rule_ending {
	uint16_t tail; /* the last two bytes of the folded ending */
	const char *key;
	size_t len;
	unsigned slot; /* the rule's slot among the word-end rules */
};

/*
 * Where the entries with one key start in an array sorted by key: an open
 * addressing table (a power of two, at least twice the keys), slot
 * key & mask, holding 1 + the index of the first entry (0: empty).
 */
struct first_index {
	uint64_t *keys;
	uint32_t *first;
	size_t mask;
	size_t cap; /* slots allocated */
};

#define TRIGGER_BLOOM_BITS 4096

/*
 * One `needs` literal, found through its anchor: the byte of it that is
 * rarest in German text (byte_cost()). The set is sorted by anchor byte, so
 * that a memchr() pass per anchor byte finds every rule whose needs a text
 * meets ("arzt" is looked for at each "z", "Radiolog" at each "R").
 */
struct rule_need {
	const char *key;
	size_t len;
	size_t rule;
	unsigned char anchor; /* the anchor byte ... */
	size_t anchor_off;    /* ... at key[anchor_off] */
	/* the first four bytes of key as load4() reads them, and the mask of
	 * those it has (a shorter key: fewer) */
	uint32_t head, head_mask;
};

struct rule_define {
	char *name;
	char *value;
	size_t len;
};

struct deid_rules {
	pcre2_general_context *gctx; /* routes PCRE2's allocations through ms_malloc */
	pcre2_compile_context *cctx;
	struct deid_rule *v;
	size_t n, cap;
	struct rule_define *defs;
	size_t n_defs, cap_defs;
	struct rule_trigger *trig; /* sorted by hash */
	size_t n_trig, cap_trig;
	struct first_index trig_at; /* trig by hash */
	size_t *class_rules;        /* rules with #digit or #mixed */
	size_t n_class_rules, cap_class_rules;
	/* bit (hash % bits) of each word: of TRIGGER_AT and of TRIGGER_BEFORE triggers */
	uint64_t trig_bloom[2][TRIGGER_BLOOM_BITS / 64];
	bool has_triggered;     /* some rule runs at trigger words */
	bool has_digit_trigger; /* some rule runs at numbers */
	bool has_mixed_trigger; /* some rule runs at letters-and-digits words */
	/* rules with `*ending` or `<word` triggers ("word-end rules"), by slot */
	size_t word_end[RULES_WORD_END_MAX];
	size_t n_word_end;
	struct rule_ending *endings; /* sorted by tail */
	size_t n_endings, cap_endings;
	struct first_index endings_at; /* endings by tail */
	/* bit tail4_slot() of the last four bytes a word with an ending can
	 * have (a three-byte ending: all of them); bit (tail) of each two-byte ending */
	uint64_t tail4_bits[65536 / 64];
	uint64_t tail2_bits[65536 / 64];
	struct rule_need *needs; /* by anchor byte */
	size_t n_needs, cap_needs;
	size_t need_at[257];           /* needs[need_at[b], need_at[b + 1]): anchor byte b */
	unsigned char need_class[256]; /* per byte: 1 if some literal's anchor */
	unsigned char need_bytes[256]; /* those bytes, in order */
	size_t n_need_bytes;
	/* bit b of need_next[a]: some literal has byte b right after its anchor
	 * byte a; of need_prev[a]: some literal ends in its anchor a, with b
	 * right before it; need_alone[a]: some literal is a alone */
	uint64_t need_next[256][4], need_prev[256][4];
	bool need_alone[256];
	bool has_line_scope;
	size_t n_near_slots; /* literals (and #digit) of line `near` windows */
};

/* A line that holds a `needs` literal of a scope = line rule. */
struct line_hit {
	size_t rule;
	size_t start; /* of the line */
};

struct deid_rules_ws {
	pcre2_general_context *gctx;
	pcre2_match_data *md;
	pcre2_match_data *ctx_md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *stack;
	uint32_t n_pairs;
	struct ms_buf scratch;
	size_t n_rules;
	size_t *last_end;  /* per rule: end of its last match in this text */
	size_t *line_done; /* per scope = line rule: the start of its last line */
	/*
	 * Line `near` windows, so that a long line is not searched again for
	 * each trigger on it: the text's line breaks (found once a text, when
	 * first needed), and per slot the first place at or after near_from
	 * where its literal (or a digit) starts (the text's length: none).
	 */
	size_t *nl;
	size_t n_nl, cap_nl;
	bool nl_found;
	size_t n_slots;
	size_t *near_from, *near_next;
	/* scope = line: the lines of this text that hold a literal of such a
	 * rule, in text order (the needs pass finds them) */
	struct line_hit *lines;
	size_t n_lines, cap_lines;
	bool *active; /* per rule: its `needs` are met in this text */
	uint64_t *ns; /* per rule: nanoseconds matching, when timing */
	bool timing;  /* deid_rules_ws_time() */
};

/* ---- the rule set ------------------------------------------------------- */

/* PCRE2 allocates through these, so tests that fail allocations reach it too. */
static void *pcre2_ms_malloc(PCRE2_SIZE size, void *payload)
{
	(void)payload;
	return ms_malloc(size);
}

static void pcre2_ms_free(void *ptr, void *payload)
{
	(void)payload;
	ms_free(ptr);
}

int deid_rules_new(struct deid_rules **out, struct ms_error *err)
{
	struct deid_rules *r = ms_calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	r->gctx = pcre2_general_context_create(pcre2_ms_malloc, pcre2_ms_free, NULL);
	r->cctx = r->gctx ? pcre2_compile_context_create(r->gctx) : NULL;
	if (!r->cctx || pcre2_set_max_pattern_length(r->cctx, RULES_PATTERN_CAP)) {
		deid_rules_free(r);
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	*out = r;
	return 0;
}

static void rule_release(struct deid_rule *r)
{
	ms_free(r->name);
	pcre2_code_free(r->code);
	pcre2_code_free(r->ctx);
	ms_free(r->groups);
	ms_free(r->needs);
	ms_free(r->near);
	ms_free(r->triggers);
	ms_free(r->trigger_upper);
	ms_free(r->trigger_kind);
	ms_free(r->endings);
	memset(r, 0, sizeof(*r));
}

/* Drops rules and defines added after the first n / n_defs (a failed add). */
static void rules_truncate(struct deid_rules *rules, size_t n, size_t n_defs)
{
	while (rules->n > n)
		rule_release(&rules->v[--rules->n]);
	while (rules->n_defs > n_defs) {
		struct rule_define *d = &rules->defs[--rules->n_defs];

		ms_free(d->name);
		ms_free(d->value);
	}
}

void deid_rules_free(struct deid_rules *rules)
{
	if (!rules)
		return;
	rules_truncate(rules, 0, 0);
	ms_free(rules->v);
	ms_free(rules->defs);
	ms_free(rules->trig);
	ms_free(rules->endings);
	ms_free(rules->needs);
	ms_free(rules->trig_at.keys);
	ms_free(rules->trig_at.first);
	ms_free(rules->endings_at.keys);
	ms_free(rules->endings_at.first);
	ms_free(rules->class_rules);
	pcre2_compile_context_free(rules->cctx);
	pcre2_general_context_free(rules->gctx);
	ms_free(rules);
}

size_t deid_rules_count(const struct deid_rules *rules)
{
	return rules ? rules->n : 0;
}

const char *deid_rules_name(const struct deid_rules *rules, size_t i)
{
	return rules && i < rules->n ? rules->v[i].name : NULL;
}

/* ---- parsing ------------------------------------------------------------ */

/* A rule being read: the raw values of its keys and where they were. */
enum rule_key {
	KEY_LABEL = 0,
	KEY_PATTERN,
	KEY_GROUP,
	KEY_CONTEXT,
	KEY_WINDOW,
	KEY_CASELESS,
	KEY_VALIDATE,
	KEY_REQUIRE,
	KEY_TRIM,
	KEY_GENDER,
	KEY_PRIORITY,
	KEY_SCORE,
	KEY_NEEDS,
	KEY_TRIGGER,
	KEY_SCOPE,
	KEY_NEAR,
	KEY_COUNT
};

static const char *const key_names[KEY_COUNT] = {
	"label", "pattern", "group",    "context", "window", "caseless", "validate", "require",
	"trim",  "gender",  "priority", "score",   "needs",  "trigger",  "scope",    "near",
};

struct parser {
	struct deid_rules *rules;
	const char *file;
	struct ms_error *err;
	/* the rule in progress */
	bool in_rule;
	char name[RULES_NAME_MAX + 1];
	size_t rule_line;
	struct ms_buf val[KEY_COUNT];
	size_t val_line[KEY_COUNT];
	bool has[KEY_COUNT];
	/* the value that continuation lines extend: a key or a define */
	struct ms_buf *cont;
	struct ms_buf def_name, def_val;
	size_t def_line;
	bool in_define;
};

static int perr(struct parser *p, size_t line, int code, const char *fmt, ...) MS_PRINTF(4, 5);

static int perr(struct parser *p, size_t line, int code, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = ms_error_vset(p->err, code, fmt, ap);
	va_end(ap);
	ms_error_set_path(p->err, p->file);
	if (line)
		ms_error_set_line(p->err, line);
	return rc;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *len)
{
	while (*len && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_blank((*s)[*len - 1]))
		(*len)--;
}

static bool valid_name(const char *s, size_t len, bool upper_ok)
{
	size_t i;

	if (!len || len > RULES_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		      (upper_ok && c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

static const struct rule_define *find_define(const struct deid_rules *rules, const char *name,
                                             size_t len)
{
	size_t i;

	for (i = 0; i < rules->n_defs; i++) {
		if (strlen(rules->defs[i].name) == len &&
		    memcmp(rules->defs[i].name, name, len) == 0)
			return &rules->defs[i];
	}
	return NULL;
}

/* Replaces %{NAME} in s by the defines' values. */
static int expand(struct parser *p, size_t line, struct ms_buf *out, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *close;
		const struct rule_define *d;

		if (s[i] != '%' || i + 1 >= len || s[i + 1] != '{') {
			ms_buf_addch(out, s[i++]);
			continue;
		}
		close = memchr(s + i + 2, '}', len - i - 2);
		if (!close)
			return perr(p, line, MS_EINVAL, "'%%{' without '}'");
		d = find_define(p->rules, s + i + 2, (size_t)(close - s - i - 2));
		if (!d)
			return perr(p, line, MS_EINVAL, "unknown define '%.*s'",
			            (int)(close - s - i - 2 > RULES_NAME_MAX ? RULES_NAME_MAX
			                                                     : close - s - i - 2),
			            s + i + 2);
		ms_buf_add(out, d->value, d->len);
		i = (size_t)(close - s) + 1;
		if (out->len > RULES_PATTERN_CAP)
			return perr(p, line, MS_ETOOBIG, "expanded value exceeds %zu bytes",
			            RULES_PATTERN_CAP);
	}
	if (ms_buf_status(out))
		return perr(p, line, ms_buf_status(out), "out of memory");
	if (out->len > RULES_PATTERN_CAP)
		return perr(p, line, MS_ETOOBIG, "expanded value exceeds %zu bytes",
		            RULES_PATTERN_CAP);
	return 0;
}

static int finish_define(struct parser *p)
{
	struct ms_buf v = MS_BUF_INIT;
	struct rule_define *d;
	int rc;

	if (!p->in_define)
		return 0;
	p->in_define = false;
	p->cont = NULL;
	if (p->rules->n_defs >= RULES_MAX_DEFINES)
		return perr(p, p->def_line, MS_ETOOBIG, "more than %d defines", RULES_MAX_DEFINES);
	if (find_define(p->rules, p->def_name.buf, p->def_name.len))
		return perr(p, p->def_line, MS_EINVAL, "define '%s' is defined twice",
		            p->def_name.buf);
	rc = expand(p, p->def_line, &v, p->def_val.buf, p->def_val.len);
	if (rc)
		goto out;
	if (MS_GROW(p->rules->defs, p->rules->cap_defs, p->rules->n_defs + 1)) {
		rc = perr(p, p->def_line, MS_ENOMEM, "out of memory");
		goto out;
	}
	d = &p->rules->defs[p->rules->n_defs];
	d->name = ms_strndup(p->def_name.buf, p->def_name.len);
	d->len = v.len;
	d->value = ms_buf_detach(&v, NULL);
	if (!d->name || !d->value) {
		ms_free(d->name);
		ms_free(d->value);
		rc = perr(p, p->def_line, MS_ENOMEM, "out of memory");
		goto out;
	}
	p->rules->n_defs++;
out:
	ms_buf_release(&v);
	return rc;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return MS_EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return MS_EINVAL;
	*out = v;
	return 0;
}

/* Builds the context regex: literal words, case-insensitive, word-start anchored. */
static int compile_context(struct parser *p, struct deid_rule *r)
{
	const char *s = p->val[KEY_CONTEXT].buf, *end = s + p->val[KEY_CONTEXT].len;
	struct ms_buf re = MS_BUF_INIT;
	size_t line = p->val_line[KEY_CONTEXT];
	PCRE2_SIZE eo;
	int ec, rc = 0;
	bool first = true;

	ms_buf_adds(&re, "(?:");
	while (s <= end) {
		const char *bar = memchr(s, '|', (size_t)(end - s));
		const char *w = s;
		size_t wl = (size_t)((bar ? bar : end) - s), i;
		unsigned char c0;

		trim(&w, &wl);
		if (!wl) {
			rc = perr(p, line, MS_EINVAL, "empty word in 'context' of rule '%s'",
			          r->name);
			goto out;
		}
		if (!first)
			ms_buf_addch(&re, '|');
		first = false;
		c0 = (unsigned char)w[0];
		if (c0 >= 0x80 || (c0 >= '0' && c0 <= '9') ||
		    ((c0 | 0x20) >= 'a' && (c0 | 0x20) <= 'z'))
			ms_buf_adds(&re, "(?<![\\p{L}\\p{N}])");
		for (i = 0; i < wl; i++) {
			unsigned char c = (unsigned char)w[i];

			if (c < 0x80 &&
			    !((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
				ms_buf_addch(&re, '\\');
			ms_buf_addch(&re, c);
		}
		if (!bar)
			break;
		s = bar + 1;
	}
	ms_buf_addch(&re, ')');
	if (ms_buf_status(&re)) {
		rc = perr(p, line, MS_ENOMEM, "out of memory");
		goto out;
	}
	r->ctx = pcre2_compile((PCRE2_SPTR)re.buf, re.len,
	                       PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS | PCRE2_NO_UTF_CHECK, &ec,
	                       &eo, p->rules->cctx);
	if (!r->ctx) {
		rc = perr(p, line, ec == PCRE2_ERROR_HEAP_FAILED ? MS_ENOMEM : MS_EREGEX,
		          "cannot compile 'context' of rule '%s'", r->name);
		goto out;
	}
	(void)pcre2_jit_compile(r->ctx, PCRE2_JIT_COMPLETE);
out:
	ms_buf_release(&re);
	return rc;
}

/* Collects capture groups named after labels; other upper-case names are errors. */
static int collect_groups(struct parser *p, struct deid_rule *r)
{
	uint32_t count = 0, entry = 0, i;
	PCRE2_SPTR table = NULL;
	size_t line = p->val_line[KEY_PATTERN];

	pcre2_pattern_info(r->code, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(r->code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
	pcre2_pattern_info(r->code, PCRE2_INFO_NAMETABLE, &table);
	if (!count)
		return 0;
	r->groups = ms_calloc(count, sizeof(*r->groups));
	if (!r->groups)
		return perr(p, line, MS_ENOMEM, "out of memory");
	for (i = 0; i < count; i++) {
		PCRE2_SPTR e = table + (size_t)i * entry;
		const char *name = (const char *)e + 2;
		enum phi_label label;
		size_t k;
		bool upper = true;

		for (k = 0; name[k]; k++) {
			if (!((name[k] >= 'A' && name[k] <= 'Z') || name[k] == '_'))
				upper = false;
		}
		if (!upper)
			continue;
		if (phi_label_parse(&label, name))
			return perr(p, line, MS_EINVAL,
			            "capture group '%s' of rule '%s' is not named after a label",
			            name, r->name);
		r->groups[r->n_groups].num = ((uint32_t)e[0] << 8) | e[1];
		r->groups[r->n_groups].label = label;
		r->n_groups++;
	}
	return 0;
}

/*
 * a|b|c (s, len bytes; of key k) into *out as "a\0b\0c\0\0"; #digit, where
 * digit is non-NULL, sets *digit instead of adding a literal.
 */
static int parse_literals(struct parser *p, const struct deid_rule *r, enum rule_key k,
                          const char *s, size_t len, char **out, bool *digit)
{
	const char *end = s + len;
	size_t n = 0;

	*out = ms_malloc(len + 2);
	if (!*out)
		return perr(p, p->val_line[k], MS_ENOMEM, "out of memory");
	while (s <= end) {
		const char *bar = memchr(s, '|', (size_t)(end - s));
		const char *w = s;
		size_t wl = (size_t)((bar ? bar : end) - s);

		trim(&w, &wl);
		if (!wl)
			return perr(p, p->val_line[k], MS_EINVAL, "empty word in '%s' of rule '%s'",
			            key_names[k], r->name);
		if (digit && wl == 6 && memcmp(w, "#digit", 6) == 0) {
			*digit = true;
		} else {
			memcpy(*out + n, w, wl);
			n += wl;
			(*out)[n++] = '\0';
		}
		if (!bar)
			break;
		s = bar + 1;
	}
	(*out)[n] = '\0';
	if (!n) { /* only #digit */
		ms_free(*out);
		*out = NULL;
	}
	return 0;
}

/* needs = a|b|c */
static int parse_needs(struct parser *p, struct deid_rule *r)
{
	return parse_literals(p, r, KEY_NEEDS, p->val[KEY_NEEDS].buf, p->val[KEY_NEEDS].len,
	                      &r->needs, NULL);
}

/* Folds one trigger word w (wl bytes) into keys, NUL-terminated. */
static int add_trigger_word(struct parser *p, const struct deid_rule *r, size_t line,
                            struct ms_buf *keys, struct ms_buf *w1, const char *w, size_t wl)
{
	size_t n_words = 0;

	ms_buf_reset(w1);
	if (deid_fold_phrase(w1, w, wl, DEID_FOLD_EXPAND, &n_words))
		return perr(p, line, MS_ENOMEM, "out of memory");
	if (n_words != 1)
		return perr(p, line, MS_EINVAL,
		            "'trigger' of rule '%s' needs single words, *ending, <word, #digit, "
		            "#digits:N-M or #mixed",
		            r->name);
	ms_buf_add(keys, w1->buf, w1->len);
	return ms_buf_addch(keys, '\0') ? perr(p, line, MS_ENOMEM, "out of memory") : 0;
}

/* What parse_triggers collects: folded words and endings, per word its case and kind. */
struct trigger_lists {
	struct ms_buf keys, endings, upper, kind, w1;
};

/* #digits:MIN-MAX (1 <= MIN <= MAX <= 99): words of only that many ASCII digits. */
static int parse_digits_trigger(struct parser *p, struct deid_rule *r, size_t line, const char *w,
                                size_t wl)
{
	unsigned lo = 0, hi = 0;
	size_t i = 8; /* after "#digits:" */

	while (i < wl && w[i] >= '0' && w[i] <= '9' && lo < 100)
		lo = lo * 10 + (unsigned)(w[i++] - '0');
	if (i < wl && w[i] == '-')
		i++;
	else
		lo = 0;
	while (i < wl && w[i] >= '0' && w[i] <= '9' && hi < 100)
		hi = hi * 10 + (unsigned)(w[i++] - '0');
	if (i != wl || lo < 1 || hi < lo || hi > 99)
		return perr(p, line, MS_EINVAL,
		            "'trigger' of rule '%s': #digits needs a range such as #digits:4-5",
		            r->name);
	if (!r->trigger_digit) {
		r->digits_min = (unsigned char)lo;
		r->digits_max = (unsigned char)hi;
	} else if (r->digits_min) { /* two ranges: what covers both */
		r->digits_min = (unsigned char)(lo < r->digits_min ? lo : r->digits_min);
		r->digits_max = (unsigned char)(hi > r->digits_max ? hi : r->digits_max);
	} /* else #digit came first: every number */
	r->trigger_digit = true;
	return 0;
}

/* One entry of trigger = ...: a word, *ending, <word, #digit, #digits:N-M or #mixed. */
static int parse_trigger_entry(struct parser *p, struct deid_rule *r, size_t line,
                               struct trigger_lists *l, const char *w, size_t wl)
{
	size_t o = 0;
	bool before;
	int rc;

	if (wl == 6 && memcmp(w, "#digit", 6) == 0) {
		r->trigger_digit = true;
		r->digits_min = r->digits_max = 0;
		return 0;
	}
	if (wl >= 8 && memcmp(w, "#digits:", 8) == 0)
		return parse_digits_trigger(p, r, line, w, wl);
	if (wl == 6 && memcmp(w, "#mixed", 6) == 0) {
		r->trigger_mixed = true;
		return 0;
	}
	if (wl && w[0] == '*') {
		rc = add_trigger_word(p, r, line, &l->endings, &l->w1, w + 1, wl - 1);
		if (!rc && l->w1.len < 2)
			rc = perr(p, line, MS_EINVAL,
			          "'trigger' of rule '%s': an *ending needs two letters or more",
			          r->name);
		return rc;
	}
	before = wl && w[0] == '<';
	if (before) {
		w++;
		wl--;
	}
	ms_buf_addch(&l->upper, wl && deid_cp_is_upper(ms_utf8_next(w, wl, &o)));
	ms_buf_addch(&l->kind, before ? TRIGGER_BEFORE : TRIGGER_AT);
	return add_trigger_word(p, r, line, &l->keys, &l->w1, w, wl);
}

/* Hands the lists over to r (NUL-terminated, as needs are stored). */
static int take_trigger_lists(struct parser *p, struct deid_rule *r, size_t line,
                              struct trigger_lists *l)
{
	ms_buf_addch(&l->keys, '\0');
	ms_buf_addch(&l->upper, 0);
	ms_buf_addch(&l->kind, 0);
	if (l->endings.len)
		ms_buf_addch(&l->endings, '\0');
	if (ms_buf_status(&l->keys) || ms_buf_status(&l->upper) || ms_buf_status(&l->kind) ||
	    ms_buf_status(&l->endings))
		return perr(p, line, MS_ENOMEM, "out of memory");
	r->triggers = ms_buf_detach(&l->keys, NULL);
	r->trigger_upper = ms_buf_detach(&l->upper, NULL);
	r->trigger_kind = ms_buf_detach(&l->kind, NULL);
	if (l->endings.len)
		r->endings = ms_buf_detach(&l->endings, NULL);
	if (!r->triggers || !r->trigger_upper || !r->trigger_kind ||
	    (l->endings.len && !r->endings))
		return perr(p, line, MS_ENOMEM, "out of memory");
	return 0;
}

/*
 * trigger = Frau|Fr|#digit|*straße|<Straße: folded single words, stored like
 * needs; `*` marks a word ending, `<` a word whose predecessor starts matches.
 */
static int parse_triggers(struct parser *p, struct deid_rule *r)
{
	const char *s = p->val[KEY_TRIGGER].buf, *end = s + p->val[KEY_TRIGGER].len;
	size_t line = p->val_line[KEY_TRIGGER];
	struct trigger_lists l = { MS_BUF_INIT, MS_BUF_INIT, MS_BUF_INIT, MS_BUF_INIT,
		                   MS_BUF_INIT };
	int rc = 0;

	while (s <= end && !rc) {
		const char *bar = memchr(s, '|', (size_t)(end - s));
		const char *w = s;
		size_t wl = (size_t)((bar ? bar : end) - s);

		trim(&w, &wl);
		rc = parse_trigger_entry(p, r, line, &l, w, wl);
		if (!bar)
			break;
		s = bar + 1;
	}
	if (!rc)
		rc = take_trigger_lists(p, r, line, &l);
	ms_buf_release(&l.keys);
	ms_buf_release(&l.endings);
	ms_buf_release(&l.upper);
	ms_buf_release(&l.kind);
	ms_buf_release(&l.w1);
	return rc;
}

static int parse_label(struct parser *p, struct deid_rule *r)
{
	const char *s = p->val[KEY_LABEL].buf;
	enum phi_label label;

	if (!p->has[KEY_LABEL])
		return 0;
	if (strcmp(s, "KEEP") == 0)
		r->label = LABEL_KEEP;
	else if (phi_label_parse(&label, s) == 0)
		r->label = (int)label;
	else
		return perr(p, p->val_line[KEY_LABEL], MS_EINVAL,
		            "unknown label '%.32s' in rule '%s'", s, r->name);
	return 0;
}

static int parse_window(struct parser *p, struct deid_rule *r)
{
	unsigned long v;

	if (!p->has[KEY_WINDOW])
		return 0;
	if (parse_uint(p->val[KEY_WINDOW].buf, RULES_WINDOW_MAX, &v) || v == 0)
		return perr(p, p->val_line[KEY_WINDOW], MS_EINVAL,
		            "'window' of rule '%s' must be 1..%d", r->name, RULES_WINDOW_MAX);
	r->window = (unsigned)v;
	return 0;
}

static int parse_validate(struct parser *p, struct deid_rule *r)
{
	enum deid_check check;

	if (!p->has[KEY_VALIDATE])
		return 0;
	if (deid_check_parse(&check, p->val[KEY_VALIDATE].buf))
		return perr(p, p->val_line[KEY_VALIDATE], MS_EINVAL,
		            "unknown validator '%.32s' in rule '%s'", p->val[KEY_VALIDATE].buf,
		            r->name);
	r->check = (int)check;
	return 0;
}

static int parse_require(struct parser *p, struct deid_rule *r)
{
	const char *s = p->val[KEY_REQUIRE].buf;

	if (!p->has[KEY_REQUIRE])
		return 0;
	if (strcmp(s, "firstname") == 0)
		r->require = REQ_FIRSTNAME;
	else if (strcmp(s, "name") == 0)
		r->require = REQ_NAME;
	else if (strcmp(s, "city") == 0)
		r->require = REQ_CITY;
	else
		return perr(p, p->val_line[KEY_REQUIRE], MS_EINVAL,
		            "'require' of rule '%s' must be firstname, name or city", r->name);
	return 0;
}

static int parse_trim(struct parser *p, struct deid_rule *r)
{
	if (!p->has[KEY_TRIM])
		return 0;
	if (strcmp(p->val[KEY_TRIM].buf, "given") != 0)
		return perr(p, p->val_line[KEY_TRIM], MS_EINVAL,
		            "'trim' of rule '%s' must be given", r->name);
	r->trim_given = true;
	return 0;
}

static int parse_gender(struct parser *p, struct deid_rule *r)
{
	const char *s = p->val[KEY_GENDER].buf;

	if (!p->has[KEY_GENDER])
		return 0;
	if (strcmp(s, "f") != 0 && strcmp(s, "m") != 0)
		return perr(p, p->val_line[KEY_GENDER], MS_EINVAL,
		            "'gender' of rule '%s' must be f or m", r->name);
	r->gender = s[0];
	return 0;
}

static int parse_priority(struct parser *p, struct deid_rule *r)
{
	unsigned long v;

	if (!p->has[KEY_PRIORITY])
		return 0;
	if (parse_uint(p->val[KEY_PRIORITY].buf, 100, &v))
		return perr(p, p->val_line[KEY_PRIORITY], MS_EINVAL,
		            "'priority' of rule '%s' must be 0..100", r->name);
	r->priority = (int)v;
	return 0;
}

static int parse_score(struct parser *p, struct deid_rule *r)
{
	const char *s = p->val[KEY_SCORE].buf;
	char *end;
	double d;

	if (!p->has[KEY_SCORE])
		return 0;
	errno = 0;
	d = strtod(s, &end);
	if (errno || *end || end == s || !(d >= 0.0 && d <= 1.0))
		return perr(p, p->val_line[KEY_SCORE], MS_EINVAL,
		            "'score' of rule '%s' must be 0..1", r->name);
	r->score = (float)d;
	return 0;
}

/* scope = text (the default) | line; line needs `needs` and no trigger. */
static int parse_scope(struct parser *p, struct deid_rule *r)
{
	const char *v = p->val[KEY_SCOPE].buf;
	size_t line = p->val_line[KEY_SCOPE];

	if (strcmp(v, "text") == 0)
		return 0;
	if (strcmp(v, "line") != 0)
		return perr(p, line, MS_EINVAL, "'scope' of rule '%s' must be text or line",
		            r->name);
	if (!r->needs)
		return perr(p, line, MS_EINVAL, "'scope = line' of rule '%s' needs 'needs'",
		            r->name);
	if (r->triggers || r->trigger_digit || r->trigger_mixed)
		return perr(p, line, MS_EINVAL, "rule '%s' has both 'scope = line' and 'trigger'",
		            r->name);
	r->line_scope = true;
	return 0;
}

/*
 * near = WINDOW: a|b|#digit, WINDOW being N (bytes, 1..RULES_NEAR_MAX),
 * line, or N lines (1..RULES_NEAR_LINES_MAX); a rule with a trigger or
 * scope = line runs only where one of the literals (#digit: an ASCII
 * digit) starts within the window from there.
 */
static int parse_near(struct parser *p, struct deid_rule *r)
{
	const char *v = p->val[KEY_NEAR].buf, *colon = strchr(v, ':');
	size_t line = p->val_line[KEY_NEAR], wl;
	unsigned long n = 0;
	char win[32];

	if (!r->triggers && !r->trigger_digit && !r->trigger_mixed && !r->line_scope)
		return perr(p, line, MS_EINVAL,
		            "'near' of rule '%s' needs a 'trigger' or 'scope = line'", r->name);
	wl = colon ? (size_t)(colon - v) : 0;
	while (wl && is_blank(v[wl - 1]))
		wl--;
	if (wl && wl < sizeof(win)) {
		memcpy(win, v, wl);
		win[wl] = '\0';
		if (strcmp(win, "line") == 0) {
			r->near_lines = 1;
		} else if (wl > 6 && strcmp(win + wl - 6, " lines") == 0) {
			win[wl - 6] = '\0';
			if (!parse_uint(win, RULES_NEAR_LINES_MAX, &n))
				r->near_lines = (unsigned)n;
		} else if (!parse_uint(win, RULES_NEAR_MAX, &n)) {
			r->near_bytes = n;
		}
	}
	if (!r->near_lines && !r->near_bytes)
		return perr(p, line, MS_EINVAL,
		            "'near' of rule '%s' must be N: WORDS (N: 1-%d bytes), line: WORDS or "
		            "N lines: WORDS (N: 1-%d)",
		            r->name, RULES_NEAR_MAX, RULES_NEAR_LINES_MAX);
	return parse_literals(p, r, KEY_NEAR, colon + 1, strlen(colon + 1), &r->near,
	                      &r->near_digit);
}

/* The keys other than pattern, group, context and caseless, in a fixed order. */
static int parse_keys(struct parser *p, struct deid_rule *r)
{
	int rc;

	r->label = LABEL_NONE;
	r->check = -1;
	r->window = RULES_WINDOW_DEF;
	r->priority = DEID_PRIORITY_DEFAULT;
	r->score = 1.0f;
	rc = parse_label(p, r);
	if (!rc)
		rc = parse_window(p, r);
	if (!rc)
		rc = parse_validate(p, r);
	if (!rc)
		rc = parse_require(p, r);
	if (!rc)
		rc = parse_trim(p, r);
	if (!rc)
		rc = parse_gender(p, r);
	if (!rc)
		rc = parse_priority(p, r);
	if (!rc)
		rc = parse_score(p, r);
	if (!rc && p->has[KEY_NEEDS])
		rc = parse_needs(p, r);
	if (!rc && p->has[KEY_TRIGGER])
		rc = parse_triggers(p, r);
	if (!rc && p->has[KEY_SCOPE])
		rc = parse_scope(p, r);
	if (!rc && p->has[KEY_NEAR])
		rc = parse_near(p, r);
	return rc;
}

static int resolve_group(struct parser *p, struct deid_rule *r)
{
	const char *s = p->val[KEY_GROUP].buf;
	size_t line = p->val_line[KEY_GROUP];
	unsigned long v;
	int n;

	if (!p->has[KEY_GROUP])
		return 0;
	if (parse_uint(s, 65535, &v) == 0) {
		if (v > r->n_captures)
			return perr(p, line, MS_EINVAL, "rule '%s' has no capture group %lu",
			            r->name, v);
		r->group = (uint32_t)v;
		return 0;
	}
	n = pcre2_substring_number_from_name(r->code, (PCRE2_SPTR)s);
	if (n == PCRE2_ERROR_NOUNIQUESUBSTRING)
		return perr(p, line, MS_EINVAL, "capture group '%.64s' of rule '%s' is not unique",
		            s, r->name);
	if (n < 0)
		return perr(p, line, MS_EINVAL, "rule '%s' has no capture group '%.64s'", r->name,
		            s);
	r->group = (uint32_t)n;
	return 0;
}

/* Compile options: caseless = yes|no; triggered rules are anchored. */
static int pattern_options(struct parser *p, const struct deid_rule *r, uint32_t *opts_out)
{
	uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_DUPNAMES | PCRE2_NO_UTF_CHECK;

	if (p->has[KEY_CASELESS]) {
		const char *c = p->val[KEY_CASELESS].buf;

		if (strcmp(c, "yes") != 0 && strcmp(c, "no") != 0)
			return perr(p, p->val_line[KEY_CASELESS], MS_EINVAL,
			            "'caseless' of rule '%s' must be yes or no", r->name);
		if (c[0] == 'y')
			opts |= PCRE2_CASELESS;
	}
	/*
	 * Triggered rules only ever match at a trigger word: anchored at compile
	 * time, because the JIT does not support a match-time PCRE2_ANCHORED.
	 * Without start optimisations: for one anchored attempt they cost more
	 * than they save, and the search for a character the pattern requires
	 * (the "." of "am 3.4.") ran ahead to the text's end when the text
	 * lacked it, at each run (half a second for a 0.6 MB text of "Am Markt
	 * 3"). The results are the same: for an anchored pattern those checks
	 * only ever give up early on an attempt that cannot match.
	 */
	if (r->triggers || r->trigger_digit || r->trigger_mixed || r->line_scope)
		opts |= PCRE2_ANCHORED | PCRE2_NO_START_OPTIMIZE;
	*opts_out = opts;
	return 0;
}

/* Expands and compiles the pattern (JIT where the CPU allows). */
static int compile_pattern(struct parser *p, struct deid_rule *r, uint32_t opts)
{
	struct ms_buf pat = MS_BUF_INIT;
	size_t line = p->val_line[KEY_PATTERN];
	PCRE2_SIZE eo;
	PCRE2_UCHAR msg[160];
	int ec, rc;

	rc = expand(p, line, &pat, p->val[KEY_PATTERN].buf, p->val[KEY_PATTERN].len);
	if (rc)
		goto out;
	if (!pat.len) {
		rc = perr(p, line, MS_EINVAL, "empty 'pattern' in rule '%s'", r->name);
		goto out;
	}
	r->code = pcre2_compile((PCRE2_SPTR)pat.buf, pat.len, opts, &ec, &eo, p->rules->cctx);
	if (!r->code) {
		if (ec == PCRE2_ERROR_HEAP_FAILED) {
			rc = perr(p, line, MS_ENOMEM, "out of memory");
			goto out;
		}
		pcre2_get_error_message(ec, msg, sizeof(msg));
		rc = perr(p, line, MS_EREGEX,
		          "pattern of rule '%s' does not compile at offset %zu: %s", r->name,
		          (size_t)eo, (const char *)msg);
		goto out;
	}
	/* JIT is an optimisation: without it (unsupported CPU) the interpreter runs */
	r->jit = pcre2_jit_compile(r->code, PCRE2_JIT_COMPLETE) == 0;
	pcre2_pattern_info(r->code, PCRE2_INFO_CAPTURECOUNT, &r->n_captures);
out:
	ms_buf_release(&pat);
	return rc;
}

/* Appends the finished rule *r to the set, which takes it over (*r is zeroed). */
static int add_rule(struct parser *p, struct deid_rule *r)
{
	size_t i;

	for (i = 0; i < p->rules->n; i++) {
		if (strcmp(p->rules->v[i].name, r->name) == 0)
			return perr(p, p->rule_line, MS_EINVAL, "rule '%s' is defined twice",
			            r->name);
	}
	if (p->rules->n >= RULES_MAX)
		return perr(p, p->rule_line, MS_ETOOBIG, "more than %d rules", RULES_MAX);
	if (MS_GROW(p->rules->v, p->rules->cap, p->rules->n + 1))
		return perr(p, p->rule_line, MS_ENOMEM, "out of memory");
	p->rules->v[p->rules->n++] = *r;
	memset(r, 0, sizeof(*r));
	return 0;
}

static int finish_rule(struct parser *p)
{
	struct deid_rule r;
	uint32_t opts = 0;
	int rc = 0;

	if (!p->in_rule)
		return 0;
	p->in_rule = false;
	p->cont = NULL;
	memset(&r, 0, sizeof(r));
	r.name = ms_strdup(p->name);
	if (!r.name) {
		rc = perr(p, p->rule_line, MS_ENOMEM, "out of memory");
		goto out;
	}
	if (!p->has[KEY_PATTERN]) {
		rc = perr(p, p->rule_line, MS_EINVAL, "rule '%s' has no 'pattern'", r.name);
		goto out;
	}
	rc = parse_keys(p, &r);
	if (!rc)
		rc = pattern_options(p, &r, &opts);
	if (!rc)
		rc = compile_pattern(p, &r, opts);
	if (!rc)
		rc = collect_groups(p, &r);
	if (!rc)
		rc = resolve_group(p, &r);
	if (rc)
		goto out;
	if (r.label == LABEL_NONE && !r.n_groups) {
		rc = perr(p, p->rule_line, MS_EINVAL,
		          "rule '%s' has no 'label' and no capture group named after a label",
		          r.name);
		goto out;
	}
	if (p->has[KEY_CONTEXT])
		rc = compile_context(p, &r);
	if (!rc)
		rc = add_rule(p, &r);
out:
	rule_release(&r);
	return rc;
}

static int start_rule(struct parser *p, const char *line, size_t len, size_t line_no)
{
	const char *name;
	size_t i, n;

	/* "[rule NAME]" */
	if (len < 8 || memcmp(line, "[rule", 5) != 0 || !is_blank(line[5]) || line[len - 1] != ']')
		return perr(p, line_no, MS_EINVAL, "expected '[rule NAME]'");
	name = line + 6;
	n = len - 7;
	trim(&name, &n);
	if (!valid_name(name, n, false))
		return perr(p, line_no, MS_EINVAL, "rule names are 1-%d characters of [a-z0-9_]",
		            RULES_NAME_MAX);
	p->in_rule = true;
	memcpy(p->name, name, n);
	p->name[n] = '\0';
	p->rule_line = line_no;
	for (i = 0; i < KEY_COUNT; i++) {
		ms_buf_reset(&p->val[i]);
		p->has[i] = false;
		p->val_line[i] = 0;
	}
	return 0;
}

static int start_define(struct parser *p, const char *line, size_t len, size_t line_no)
{
	const char *eq = memchr(line, '=', len), *name = line + 7, *val;
	size_t n, vl;

	if (!eq)
		return perr(p, line_no, MS_EINVAL, "expected 'define NAME = VALUE'");
	n = (size_t)(eq - name);
	trim(&name, &n);
	if (!valid_name(name, n, true))
		return perr(p, line_no, MS_EINVAL,
		            "define names are 1-%d characters of [A-Za-z0-9_]", RULES_NAME_MAX);
	val = eq + 1;
	vl = (size_t)(line + len - val);
	trim(&val, &vl);
	ms_buf_reset(&p->def_name);
	ms_buf_reset(&p->def_val);
	ms_buf_add(&p->def_name, name, n);
	ms_buf_add(&p->def_val, val, vl);
	if (ms_buf_status(&p->def_name) || ms_buf_status(&p->def_val))
		return perr(p, line_no, MS_ENOMEM, "out of memory");
	p->in_define = true;
	p->def_line = line_no;
	p->cont = &p->def_val;
	return 0;
}

static int set_key(struct parser *p, const char *line, size_t len, size_t line_no)
{
	const char *eq = memchr(line, '=', len), *key = line, *val;
	size_t kl, vl;
	int k;

	if (!eq)
		return perr(p, line_no, MS_EINVAL, "expected 'key = value'");
	if (!p->in_rule)
		return perr(p, line_no, MS_EINVAL, "'key = value' outside a rule");
	kl = (size_t)(eq - line);
	trim(&key, &kl);
	for (k = 0; k < KEY_COUNT; k++) {
		if (strlen(key_names[k]) == kl && memcmp(key_names[k], key, kl) == 0)
			break;
	}
	if (k == KEY_COUNT)
		return perr(p, line_no, MS_EINVAL, "unknown key '%.*s' in rule '%s'",
		            (int)(kl > 32 ? 32 : kl), key, p->name);
	if (p->has[k])
		return perr(p, line_no, MS_EINVAL, "key '%s' given twice in rule '%s'",
		            key_names[k], p->name);
	val = eq + 1;
	vl = (size_t)(line + len - val);
	trim(&val, &vl);
	p->has[k] = true;
	p->val_line[k] = line_no;
	if (ms_buf_add(&p->val[k], val, vl))
		return perr(p, line_no, MS_ENOMEM, "out of memory");
	p->cont = &p->val[k];
	return 0;
}

static int parse_line(struct parser *p, const char *line, size_t len, size_t line_no)
{
	const char *s = line;
	size_t n = len;
	int rc;

	trim(&s, &n);
	if (!n || s[0] == '#')
		return 0;
	if (is_blank(line[0])) {
		if (!p->cont)
			return perr(p, line_no, MS_EINVAL,
			            "continuation line without a value above it");
		if (ms_buf_add(p->cont, s, n))
			return perr(p, line_no, MS_ENOMEM, "out of memory");
		return 0;
	}
	/* a new statement completes the define or key before it */
	rc = finish_define(p);
	if (rc)
		return rc;
	p->cont = NULL;
	if (s[0] == '[') {
		rc = finish_rule(p);
		if (!rc)
			rc = start_rule(p, s, n, line_no);
		return rc;
	}
	if (n > 7 && memcmp(s, "define", 6) == 0 && is_blank(s[6])) {
		rc = finish_rule(p);
		if (!rc)
			rc = start_define(p, s, n, line_no);
		return rc;
	}
	return set_key(p, s, n, line_no);
}

static size_t line_of(const char *s, size_t off)
{
	size_t i, line = 1;

	for (i = 0; i < off; i++)
		line += s[i] == '\n';
	return line;
}

static int cmp_trigger(const void *pa, const void *pb)
{
	const struct rule_trigger *a = pa, *b = pb;

	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	return (a->rule > b->rule) - (a->rule < b->rule);
}

/* Mixes a key's bits into its slot (trigger hashes are FNV-1a already). */
static size_t first_slot(uint64_t key, size_t mask)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

/*
 * Rebuilds fi over n entries sorted by key (key_of(i) gives entry i's key).
 * Allocates only to grow: rebuilding for fewer entries (a rule set cut
 * back after a failed add) cannot fail. Returns 0 or MS_ENOMEM (fi as it
 * was).
 */
static int first_index_build(struct first_index *fi, size_t n,
                             uint64_t (*key_of)(const void *, size_t), const void *entries)
{
	size_t size = 16, i;

	if (n >= UINT32_MAX)
		return MS_ENOMEM;
	while (size < 2 * n)
		size *= 2;
	if (size > fi->cap) {
		uint64_t *keys = ms_calloc(size, sizeof(*keys));
		uint32_t *first = ms_calloc(size, sizeof(*first));

		if (!keys || !first) {
			ms_free(keys);
			ms_free(first);
			return MS_ENOMEM;
		}
		ms_free(fi->keys);
		ms_free(fi->first);
		fi->keys = keys;
		fi->first = first;
		fi->cap = size;
	}
	memset(fi->first, 0, size * sizeof(*fi->first));
	fi->mask = size - 1;
	for (i = 0; i < n; i++) {
		uint64_t key = key_of(entries, i);
		size_t slot = first_slot(key, fi->mask);

		if (i > 0 && key_of(entries, i - 1) == key)
			continue;
		while (fi->first[slot])
			slot = (slot + 1) & fi->mask;
		fi->keys[slot] = key;
		fi->first[slot] = (uint32_t)i + 1;
	}
	return 0;
}

/* Index of the first entry with key, or n if none. */
static size_t first_index_find(const struct first_index *fi, uint64_t key, size_t n)
{
	size_t slot;

	if (!fi->first)
		return n;
	for (slot = first_slot(key, fi->mask); fi->first[slot]; slot = (slot + 1) & fi->mask) {
		if (fi->keys[slot] == key)
			return fi->first[slot] - 1;
	}
	return n;
}

static uint64_t trigger_key(const void *v, size_t i)
{
	return ((const struct rule_trigger *)v)[i].hash;
}

static uint64_t ending_key(const void *v, size_t i)
{
	return ((const struct rule_ending *)v)[i].tail;
}

static int cmp_ending(const void *pa, const void *pb)
{
	const struct rule_ending *a = pa, *b = pb;

	if (a->tail != b->tail)
		return a->tail < b->tail ? -1 : 1;
	return (a->slot > b->slot) - (a->slot < b->slot);
}

static uint16_t tail_of(const char *key, size_t len)
{
	return (uint16_t)((unsigned char)key[len - 2] << 8 | (unsigned char)key[len - 1]);
}

/* The last four bytes of key (len >= 1), the last one highest; zeros
 * before a shorter key. */
static uint32_t last4_of(const char *key, size_t len)
{
	const unsigned char *k = (const unsigned char *)key + len;
	uint32_t v = 0;
	size_t i;

	if (len >= 4) /* most words: one load */
		return (uint32_t)k[-4] | (uint32_t)k[-3] << 8 | (uint32_t)k[-2] << 16 |
		       (uint32_t)k[-1] << 24;
	for (i = 1; i <= len; i++)
		v |= (uint32_t)(unsigned char)key[len - i] << (32 - 8 * i);
	return v;
}

/* Where last four bytes v go in tail4_bits (a multiplicative hash). */
static uint32_t tail4_slot(uint32_t v)
{
	return (v * 0x9E3779B1u) >> 16;
}

/* Sets the filter bits of ending e: its last four bytes, or for a
 * three-byte ending every byte before it (0: the word is the ending). */
static void add_tail_bits(struct deid_rules *rules, const struct rule_ending *e)
{
	uint32_t b, v;

	if (e->len == 2) {
		ms_bit_set(rules->tail2_bits, e->tail);
		return;
	}
	v = last4_of(e->key, e->len);
	if (e->len >= 4) {
		ms_bit_set(rules->tail4_bits, tail4_slot(v));
		return;
	}
	for (b = 0; b < 256; b++)
		ms_bit_set(rules->tail4_bits, tail4_slot(v | b));
}

/* Does rule r start matches at words before trigger words or at word endings? */
static bool is_word_end_rule(const struct deid_rule *r)
{
	size_t k;

	if (r->endings)
		return true;
	for (k = 0; r->trigger_kind && r->trigger_kind[k]; k++) {
		if (r->trigger_kind[k] == TRIGGER_BEFORE)
			return true;
	}
	return false;
}

/* Gives every word-end rule a slot and indexes its endings. */
static int index_endings(struct deid_rules *rules, struct ms_error *err)
{
	size_t i, n = 0;

	rules->n_word_end = 0;
	for (i = 0; i < rules->n; i++) {
		struct deid_rule *r = &rules->v[i];
		const char *w;

		r->word_end = 0;
		if (!is_word_end_rule(r))
			continue;
		if (rules->n_word_end == RULES_WORD_END_MAX)
			return ms_error_set(err, MS_ETOOBIG,
			                    "more than %d rules with *ending or <word triggers",
			                    RULES_WORD_END_MAX);
		rules->word_end[rules->n_word_end++] = i;
		r->word_end = (unsigned)rules->n_word_end;
		for (w = r->endings; w && *w; w += strlen(w) + 1) {
			if (MS_GROW(rules->endings, rules->cap_endings, n + 1))
				return ms_error_set(err, MS_ENOMEM, "out of memory");
			rules->endings[n].key = w;
			rules->endings[n].len = strlen(w);
			rules->endings[n].tail = tail_of(w, rules->endings[n].len);
			rules->endings[n].slot = r->word_end - 1;
			n++;
		}
	}
	rules->n_endings = n;
	if (n)
		qsort(rules->endings, n, sizeof(*rules->endings), cmp_ending);
	memset(rules->tail4_bits, 0, sizeof(rules->tail4_bits));
	memset(rules->tail2_bits, 0, sizeof(rules->tail2_bits));
	for (i = 0; i < n; i++)
		add_tail_bits(rules, &rules->endings[i]);
	if (first_index_build(&rules->endings_at, n, ending_key, rules->endings))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return 0;
}

static int cmp_need(const void *pa, const void *pb)
{
	const struct rule_need *a = pa, *b = pb;

	if (a->anchor != b->anchor)
		return a->anchor < b->anchor ? -1 : 1;
	return (a->rule > b->rule) - (a->rule < b->rule);
}

/*
 * How often byte c occurs in German clinical text, roughly (per mille;
 * what counts is the order): the anchor of a literal is its cheapest byte.
 */
static unsigned byte_cost(unsigned char c)
{
	/* a-z, from German letter frequencies */
	static const unsigned char lower[26] = { 65, 19, 30, 50, 170, 17, 30, 45, 75,
		                                 3,  12, 35, 25, 100, 25, 8,  1,  70,
		                                 70, 60, 42, 7,  19,  1,  1,  11 };

	if (c >= 'a' && c <= 'z')
		return lower[c - 'a'];
	if (c >= 'A' && c <= 'Z')
		return 2 + lower[c - 'A'] / 10; /* nouns are capitalised */
	if (c >= '0' && c <= '9')
		return 10;
	if (c == 0xC3)
		return 15; /* the lead byte of ä, ö, ü, ß, Ä, Ö, Ü */
	switch (c) {
	case ' ':
		return 150;
	case '.':
		return 30; /* dates and abbreviations: 3 % of a radiology report */
	case ',':
	case '\n':
		return 12;
	case '-':
	case ':':
		return 5;
	default:
		return 1;
	}
}

/* Literal w of rule `rule` into nd: its anchor (its cheapest byte) and head. */
static void init_need(struct rule_need *nd, const char *w, size_t rule)
{
	size_t k;

	nd->key = w;
	nd->len = strlen(w);
	nd->rule = rule;
	nd->anchor_off = 0;
	for (k = 1; k < nd->len; k++) {
		if (byte_cost((unsigned char)w[k]) < byte_cost((unsigned char)w[nd->anchor_off]))
			nd->anchor_off = k;
	}
	nd->anchor = (unsigned char)w[nd->anchor_off];
	nd->head = nd->head_mask = 0;
	for (k = 0; k < 4 && k < nd->len; k++) {
		nd->head |= (uint32_t)(unsigned char)w[k] << (8 * k);
		nd->head_mask |= 0xFFu << (8 * k);
	}
}

/* The per-byte tables of the sorted needs: need_at, need_class,
 * need_bytes and the neighbour sets. */
static void index_need_bytes(struct deid_rules *rules)
{
	size_t i, k, n = rules->n_needs;

	memset(rules->need_class, 0, sizeof(rules->need_class));
	rules->has_line_scope = false;
	for (i = 0, k = 0; k <= 256; k++) {
		rules->need_at[k] = i;
		while (k < 256 && i < n && rules->needs[i].anchor == k) {
			rules->need_class[k] = 1;
			rules->has_line_scope |= rules->v[rules->needs[i].rule].line_scope;
			i++;
		}
	}
	rules->n_need_bytes = 0;
	for (k = 0; k < 256; k++) {
		if (rules->need_class[k])
			rules->need_bytes[rules->n_need_bytes++] = (unsigned char)k;
	}
	memset(rules->need_next, 0, sizeof(rules->need_next));
	memset(rules->need_prev, 0, sizeof(rules->need_prev));
	memset(rules->need_alone, 0, sizeof(rules->need_alone));
	for (i = 0; i < n; i++) {
		const struct rule_need *nd = &rules->needs[i];

		if (nd->anchor_off + 1 < nd->len)
			ms_bit_set(rules->need_next[nd->anchor],
			           (unsigned char)nd->key[nd->anchor_off + 1]);
		else if (nd->anchor_off > 0)
			ms_bit_set(rules->need_prev[nd->anchor],
			           (unsigned char)nd->key[nd->anchor_off - 1]);
		else
			rules->need_alone[nd->anchor] = true;
	}
}

/* Indexes every rule's `needs` literals (see struct rule_need). */
static int index_needs(struct deid_rules *rules, struct ms_error *err)
{
	size_t i, n = 0;

	for (i = 0; i < rules->n; i++) {
		const char *w;

		for (w = rules->v[i].needs; w && *w; w += strlen(w) + 1) {
			if (MS_GROW(rules->needs, rules->cap_needs, n + 1))
				return ms_error_set(err, MS_ENOMEM, "out of memory");
			init_need(&rules->needs[n++], w, i);
		}
	}
	rules->n_needs = n;
	if (n)
		qsort(rules->needs, n, sizeof(*rules->needs), cmp_need);
	index_need_bytes(rules);
	return 0;
}

/* The rules with #digit or #mixed triggers, in order. */
static int index_class_rules(struct deid_rules *rules, struct ms_error *err)
{
	size_t i, n = 0;

	rules->n_class_rules = 0;
	if (MS_GROW(rules->class_rules, rules->cap_class_rules, rules->n + 1))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	for (i = 0; i < rules->n; i++) {
		if (rules->v[i].trigger_digit || rules->v[i].trigger_mixed)
			rules->class_rules[n++] = i;
	}
	rules->n_class_rules = n;
	return 0;
}

/*
 * Drops the second of two triggers of one rule that fold to one word of one
 * kind ("Grüßen" and "Grüssen"; it would run the rule twice at each such
 * word); the one kept is capitalised only if both were. trig (n) is sorted
 * by hash and rule. Returns the triggers kept.
 */
static size_t dedupe_triggers(struct rule_trigger *trig, size_t n)
{
	size_t i, j, w = 0;

	for (i = 0; i < n; i++) {
		const struct rule_trigger *t = &trig[i];
		bool dup = false;

		for (j = w; j > 0 && trig[j - 1].hash == t->hash && trig[j - 1].rule == t->rule;
		     j--) {
			struct rule_trigger *u = &trig[j - 1];

			if (u->kind == t->kind && u->len == t->len &&
			    !memcmp(u->key, t->key, t->len)) {
				u->upper = u->upper && t->upper;
				dup = true;
				break;
			}
		}
		if (!dup)
			trig[w++] = *t;
	}
	return w;
}

/* Gives each literal (and #digit) of a line `near` window a cache slot. */
static void index_near_slots(struct deid_rules *rules)
{
	size_t i, n = 0;

	for (i = 0; i < rules->n; i++) {
		struct deid_rule *r = &rules->v[i];
		const char *w;

		r->near_slot = n;
		if (!r->near_lines)
			continue;
		for (w = r->near; w && *w; w += strlen(w) + 1)
			n++;
		n += r->near_digit;
	}
	rules->n_near_slots = n;
}

/* Rebuilds the sorted trigger index from every rule. */
static int index_triggers(struct deid_rules *rules, struct ms_error *err)
{
	size_t i, n = 0;
	int rc;

	rules->has_triggered = false;
	rules->has_digit_trigger = false;
	rules->has_mixed_trigger = false;
	for (i = 0; i < rules->n; i++) {
		const struct deid_rule *r = &rules->v[i];
		const char *w;
		size_t k = 0;

		if (r->triggers || r->trigger_digit || r->trigger_mixed)
			rules->has_triggered = true;
		rules->has_digit_trigger |= r->trigger_digit;
		rules->has_mixed_trigger |= r->trigger_mixed;
		for (w = r->triggers; w && *w; w += strlen(w) + 1, k++) {
			if (MS_GROW(rules->trig, rules->cap_trig, n + 1))
				return ms_error_set(err, MS_ENOMEM, "out of memory");
			rules->trig[n].key = w;
			rules->trig[n].len = strlen(w);
			rules->trig[n].hash = ms_fnv1a(w, rules->trig[n].len);
			rules->trig[n].rule = i;
			rules->trig[n].upper = r->trigger_upper[k] != 0;
			rules->trig[n].kind = (enum trigger_kind)r->trigger_kind[k];
			n++;
		}
	}
	rules->n_trig = n;
	memset(rules->trig_bloom, 0, sizeof(rules->trig_bloom));
	for (i = 0; i < n; i++) {
		size_t bit = rules->trig[i].hash % TRIGGER_BLOOM_BITS;

		ms_bit_set(rules->trig_bloom[rules->trig[i].kind == TRIGGER_BEFORE], bit);
	}
	if (n)
		qsort(rules->trig, n, sizeof(*rules->trig), cmp_trigger);
	n = rules->n_trig = dedupe_triggers(rules->trig, n);
	if (first_index_build(&rules->trig_at, n, trigger_key, rules->trig))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	rc = index_class_rules(rules, err);
	if (!rc)
		rc = index_needs(rules, err);
	if (!rc)
		index_near_slots(rules);
	return rc ? rc : index_endings(rules, err);
}

bool deid_rules_use_tokens(const struct deid_rules *rules)
{
	return rules && rules->has_triggered;
}

int deid_rules_add(struct deid_rules *rules, const char *text, size_t len, const char *name,
                   struct ms_error *err)
{
	struct parser p;
	struct ms_lines it;
	const char *line;
	size_t n0 = rules->n, d0 = rules->n_defs, ll, bad, i;
	int rc = 0;

	memset(&p, 0, sizeof(p));
	p.rules = rules;
	p.file = name ? name : "-";
	p.err = err;
	for (i = 0; i < KEY_COUNT; i++)
		ms_buf_init(&p.val[i], RULES_PATTERN_CAP);
	ms_buf_init(&p.def_name, 0);
	ms_buf_init(&p.def_val, RULES_PATTERN_CAP);
	if (len > RULES_TEXT_CAP) {
		rc = perr(&p, 0, MS_ETOOBIG, "rule file larger than %zu bytes", RULES_TEXT_CAP);
		goto out;
	}
	if (!ms_utf8_valid(text, len, &bad)) {
		rc = perr(&p, line_of(text, bad), MS_EINVAL, "invalid UTF-8 at byte %zu", bad);
		goto out;
	}
	if (memchr(text, '\0', len)) {
		rc = perr(&p, line_of(text, (size_t)((const char *)memchr(text, '\0', len) - text)),
		          MS_EINVAL, "NUL byte in rule file");
		goto out;
	}
	ms_lines_init(&it, text, len);
	while (!rc && ms_lines_next(&it, &line, &ll))
		rc = parse_line(&p, line, ll, it.line_no);
	if (!rc)
		rc = finish_define(&p);
	if (!rc)
		rc = finish_rule(&p);
out:
	for (i = 0; i < KEY_COUNT; i++)
		ms_buf_release(&p.val[i]);
	ms_buf_release(&p.def_name);
	ms_buf_release(&p.def_val);
	if (!rc)
		rc = index_triggers(rules, err);
	if (rc) {
		struct ms_error ignored = MS_ERROR_INIT;

		rules_truncate(rules, n0, d0);
		/* the index of the set as it was fits in the arrays grown for more */
		(void)index_triggers(rules, &ignored);
	}
	return rc;
}

int deid_rules_add_file(struct deid_rules *rules, const char *path, struct ms_error *err)
{
	struct ms_buf data = MS_BUF_INIT;
	int rc;

	rc = ms_file_read(&data, path, RULES_TEXT_CAP, err);
	if (!rc)
		rc = deid_rules_add(rules, data.buf, data.len, path, err);
	ms_buf_release(&data);
	return rc;
}

/* ---- matching ----------------------------------------------------------- */

int deid_rules_ws_new(struct deid_rules_ws **out, const struct deid_rules *rules,
                      struct ms_error *err)
{
	struct deid_rules_ws *ws;
	uint32_t max = 0;
	size_t i;

	*out = NULL;
	for (i = 0; rules && i < rules->n; i++) {
		if (rules->v[i].n_captures > max)
			max = rules->v[i].n_captures;
	}
	ws = ms_calloc(1, sizeof(*ws));
	if (!ws)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	ms_buf_init(&ws->scratch, 0);
	ws->n_rules = rules ? rules->n : 0;
	ws->last_end = ms_calloc(ws->n_rules + 1, sizeof(*ws->last_end));
	ws->line_done = ms_calloc(ws->n_rules + 1, sizeof(*ws->line_done));
	ws->n_slots = rules ? rules->n_near_slots : 0;
	ws->near_from = ms_calloc(ws->n_slots + 1, sizeof(*ws->near_from));
	ws->near_next = ms_calloc(ws->n_slots + 1, sizeof(*ws->near_next));
	ws->active = ms_calloc(ws->n_rules + 1, sizeof(*ws->active));
	ws->ns = ms_calloc(ws->n_rules + 1, sizeof(*ws->ns));
	ws->n_pairs = max + 1;
	ws->gctx = pcre2_general_context_create(pcre2_ms_malloc, pcre2_ms_free, NULL);
	if (ws->gctx) {
		ws->md = pcre2_match_data_create(ws->n_pairs, ws->gctx);
		ws->ctx_md = pcre2_match_data_create(1, ws->gctx);
		ws->mctx = pcre2_match_context_create(ws->gctx);
		ws->stack =
		        pcre2_jit_stack_create(RULES_JIT_STACK_MIN, RULES_JIT_STACK_MAX, ws->gctx);
	}
	if (!ws->md || !ws->ctx_md || !ws->mctx || !ws->stack || !ws->last_end || !ws->line_done ||
	    !ws->near_from || !ws->near_next || !ws->active || !ws->ns) {
		deid_rules_ws_free(ws);
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	pcre2_jit_stack_assign(ws->mctx, NULL, ws->stack);
	pcre2_set_match_limit(ws->mctx, RULES_MATCH_LIMIT);
	*out = ws;
	return 0;
}

void deid_rules_ws_free(struct deid_rules_ws *ws)
{
	if (!ws)
		return;
	pcre2_match_data_free(ws->md);
	pcre2_match_data_free(ws->ctx_md);
	pcre2_match_context_free(ws->mctx);
	pcre2_jit_stack_free(ws->stack);
	pcre2_general_context_free(ws->gctx);
	ms_buf_release(&ws->scratch);
	ms_free(ws->last_end);
	ms_free(ws->line_done);
	ms_free(ws->near_from);
	ms_free(ws->near_next);
	ms_free(ws->nl);
	ms_free(ws->lines);
	ms_free(ws->active);
	ms_free(ws->ns);
	ms_free(ws);
}

void deid_rules_ws_time(struct deid_rules_ws *ws, bool on)
{
	ws->timing = on;
}

void deid_rules_ws_times(const struct deid_rules_ws *ws, uint64_t *sum, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < ws->n_rules; i++)
		sum[i] += ws->ns[i];
}

/* Is one of the context words within the window before off? */
static int context_ok(const struct deid_rule *r, struct deid_rules_ws *ws, const char *text,
                      size_t off)
{
	size_t from = off;
	unsigned n = 0;
	int rc;

	while (from > 0 && n < r->window) {
		from--;
		if (((unsigned char)text[from] & 0xC0) != 0x80)
			n++;
	}
	rc = pcre2_match(r->ctx, (PCRE2_SPTR)text, off, from, PCRE2_NO_UTF_CHECK, ws->ctx_md,
	                 ws->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return rc < 0 ? rc : 1;
}

/*
 * [s, e) is on one line and ends a part of it: blanks, then the end of the
 * line, a tab or slash (signature columns: "Dr. A B / OA Dr. C D"), a comma
 * or a closing bracket ("Dr. med. A B, Oberärztin", "(Praxis Dr. A B)"),
 * the next person's title ("Dr. Hanns Wurst OA Dr. Matthias Metzger"), or
 * "am" or "um" and a number ("Rücksprache mit Dr. A B am 3.3.").
 */
static bool ends_its_line(const char *text, size_t len, size_t s, size_t e)
{
	static const char *const next_title[] = { "Dr.", "Prof.", "OA ", "PD ", "Doz.", "Ass." };
	size_t i;

	if (memchr(text + s, '\n', e - s))
		return false;
	if (e < len && (text[e] == '\t' || text[e] == ',' || text[e] == ')'))
		return true;
	while (e < len && text[e] == ' ')
		e++;
	if (e == len || text[e] == '\n' || text[e] == '\r' || text[e] == '\t' || text[e] == '/')
		return true;
	/* "Rücksprache mit Dr. X Y am 3.3. um 10 Uhr": a date or a time follows */
	if (e + 3 < len && (text[e] == 'a' || text[e] == 'u') && text[e + 1] == 'm' &&
	    text[e + 2] == ' ' && text[e + 3] >= '0' && text[e + 3] <= '9')
		return true;
	for (i = 0; i < sizeof(next_title) / sizeof(next_title[0]); i++) {
		size_t n = strlen(next_title[i]);

		if (e > 0 && text[e - 1] == ' ' && e + n <= len &&
		    memcmp(text + e, next_title[i], n) == 0)
			return true;
	}
	return false;
}

/* A name particle in capitals, as names in capitals write it ("DE BEAUHARNAIS"). */
static bool upper_particle(const char *w, size_t wl)
{
	static const char *const words[] = { "VON", "VAN", "DE", "DOS", "DA",  "DI",
		                             "DEL", "DU",  "LE", "LA",  "TEN", "TER" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i]) == wl && memcmp(words[i], w, wl) == 0)
			return true;
	}
	return false;
}

/*
 * The end of the name word that ends at we: past a particle and the word
 * after it when the span goes on so ("Purnia de Wärski": a particle keeps
 * the name going), else we.
 */
static size_t after_particle(const char *text, size_t we, size_t e)
{
	size_t p = we, pe, w2;

	while (p < e && text[p] == ' ')
		p++;
	if (p == we || p >= e || !(text[p] >= 'a' && text[p] <= 'z'))
		return we;
	for (pe = p; pe < e && text[pe] != ' ' && text[pe] != '\n'; pe++)
		;
	for (w2 = pe; w2 < e && text[w2] == ' '; w2++)
		;
	if (w2 == pe || w2 >= e)
		return we;
	while (w2 < e && text[w2] != ' ' && text[w2] != '\n')
		w2++;
	return w2;
}

/* Does s start its line (blanks before it at most)? */
static bool starts_its_line(const char *text, size_t s)
{
	while (s > 0 && (text[s - 1] == ' ' || text[s - 1] == '\t'))
		s--;
	return s == 0 || text[s - 1] == '\n';
}

/*
 * trim = given: the words of a name are kept while they are first names,
 * initials or particles, plus one more word (the surname); a name whose
 * first word is not a first name or initial is cut to that word (after the
 * first word, a particle may be written in capitals: "Beatrice DE
 * BEAUHARNAIS"; a particle carries the name on: "Purnia de Wärski"). Words
 * are separated by blanks (a hyphenated name is one word). A name that ends
 * its line or its part of the line after a title (a signature: "Dr. med.
 * Vasyl Oleksandrovych Lavrynenko") or alone on its line (an address block:
 * "Herrn\nAnna Muster") is kept whole: nothing else shares it, so every
 * word is part of the name.
 */
static size_t trim_given(const struct deid_gaz *g, struct ms_buf *scratch, const char *text,
                         size_t len, size_t s, size_t e, bool titled)
{
	size_t pos = s;

	/* a signature after a title, or a name alone on its line below the word
	 * that introduced it (an address block: "Herrn\nAnna Muster\n") */
	if ((titled || starts_its_line(text, s)) && ends_its_line(text, len, s, e))
		return e;

	while (pos < e) {
		size_t ws = pos, we = pos, wl;
		unsigned f;
		bool initial, particle;

		while (we < e && text[we] != ' ' && text[we] != '\n')
			we++;
		wl = we - ws;
		initial = wl >= 2 && wl <= 3 && text[we - 1] == '.';
		particle = ((unsigned char)text[ws] >= 'a' && (unsigned char)text[ws] <= 'z') ||
		           (ws > s && upper_particle(text + ws, wl));
		f = initial || particle ? 0 : deid_gaz_first_word(g, scratch, text + ws, wl, &wl);
		if (!initial && !particle && !(f & DEID_GAZ_FIRST))
			return after_particle(text, we, e);
		pos = we;
		while (pos < e && (text[pos] == ' ' || text[pos] == '\n'))
			pos++;
	}
	return e;
}

/* Applies require and trim to [s, *e); false if the match must be dropped. */
static bool refine(const struct deid_rule *r, struct deid_rules_ws *ws, const struct deid_gaz *g,
                   const char *text, size_t len, size_t s, size_t *e, bool titled, char *gender)
{
	unsigned f = 0;
	size_t wl = 0;

	if (g)
		f = deid_gaz_first_word(g, &ws->scratch, text + s, *e - s, &wl);
	switch (r->require) {
	case REQ_NONE:
		break;
	case REQ_FIRSTNAME:
		if (!(f & DEID_GAZ_FIRST))
			return false;
		break;
	case REQ_NAME:
		if (!(f & (DEID_GAZ_FIRST | DEID_GAZ_SURNAME)))
			return false;
		break;
	case REQ_CITY: {
		size_t n;

		if (!g)
			return false;
		n = deid_gaz_longest(g, &ws->scratch, text + s, *e - s, DEID_GAZ_CITY);
		if (!n)
			return false;
		*e = s + n;
		break;
	}
	}
	if (r->trim_given && g)
		*e = trim_given(g, &ws->scratch, text, len, s, *e, titled);
	if (!*gender)
		*gender = deid_gaz_gender(f);
	return true;
}

static int emit(struct deid_cands *cands, struct deid_regions *keep, const struct deid_rule *r,
                int label, size_t s, size_t e, char gender, bool keep_enabled)
{
	struct deid_cand c;

	if (s >= e)
		return 0;
	if (label == LABEL_KEEP)
		return keep_enabled ? deid_regions_add(keep, s, e) : 0;
	memset(&c, 0, sizeof(c));
	c.span.start = s;
	c.span.end = e;
	c.span.label = (enum phi_label)label;
	c.span.source_kind = DEID_SOURCE_RULE;
	c.span.source = r->name;
	c.span.score = r->score;
	c.span.field = -1;
	if (label <= PHI_PERSON_OTHER)
		c.span.gender = gender;
	c.rank = r->check >= 0 ? DEID_RANK_STRONG : DEID_RANK_RULE;
	c.priority = r->priority;
	return deid_cands_add(cands, &c);
}

/* Did a group labelled TITLE take part in the match ("Dr. med." before a name)? */
static bool title_matched(const struct deid_rule *r, const PCRE2_SIZE *ov)
{
	size_t i;

	for (i = 0; i < r->n_groups; i++) {
		size_t n = r->groups[i].num;

		if (r->groups[i].label == PHI_TITLE && ov[2 * n] != PCRE2_UNSET)
			return true;
	}
	return false;
}

static int on_match(const struct deid_rule *r, struct deid_rules_ws *ws, const struct deid_gaz *g,
                    const char *text, size_t len, bool keep_enabled, struct deid_cands *cands,
                    struct deid_regions *keep)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(ws->md);
	PCRE2_SPTR mark = pcre2_get_mark(ws->md);
	size_t group = r->group, s = ov[2 * group], e = ov[2 * group + 1], i;
	char gender = r->gender;
	int label = r->label, rc = 0;

	if (s == PCRE2_UNSET || s > e)
		return 0;
	/* (*MARK:LABEL) on the matching path sets the label of the match */
	if (mark) {
		enum phi_label ml;

		if (strcmp((const char *)mark, "KEEP") == 0)
			label = LABEL_KEEP;
		else if (phi_label_parse(&ml, (const char *)mark) == 0)
			label = (int)ml;
	}
	if (r->check >= 0 && !deid_check_valid((enum deid_check)r->check, text + s, e - s))
		return 0;
	if ((r->require || r->trim_given || (!gender && label >= 0 && label <= PHI_PERSON_OTHER)) &&
	    !refine(r, ws, g, text, len, s, &e, title_matched(r, ov), &gender))
		return 0;
	if (label != LABEL_NONE)
		rc = emit(cands, keep, r, label, s, e, gender, keep_enabled);
	for (i = 0; !rc && i < r->n_groups; i++) {
		size_t n = r->groups[i].num, gs = ov[2 * n], ge = ov[2 * n + 1];

		if (gs == PCRE2_UNSET || gs > ge)
			continue;
		if (n == group) {
			gs = s;
			ge = e;
		}
		rc = emit(cands, keep, r, (int)r->groups[i].label, gs, ge, gender, keep_enabled);
	}
	return rc;
}

/* Does rule r run at all (a keep rule not when keeping is off)? */
static bool rule_usable(const struct deid_rule *r, bool keep_enabled)
{
	return !(r->label == LABEL_KEEP && !keep_enabled);
}

/* The four bytes at p, the first lowest. */
static uint32_t load4(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

/* Does literal nd occur in text with its anchor byte at text[at]? */
static bool need_at(const struct rule_need *nd, const char *text, size_t len, size_t at)
{
	size_t k = nd->anchor_off, i;

	if (at < k || nd->len - k > len - at)
		return false;
	i = 0;
	/* most places differ in the first four bytes: one comparison */
	if (len - (at - k) >= 4) {
		if ((load4(text + at - k) & nd->head_mask) != nd->head)
			return false;
		i = 4;
	}
	/* the literals are short: a loop beats a call to memcmp() */
	for (; i < nd->len; i++) {
		if (text[at - k + i] != nd->key[i])
			return false;
	}
	return true;
}

/* What the needs pass carries along the text. */
struct needs_walk {
	unsigned char cls[256]; /* need_class, less the anchors no literal needs now */
	size_t left;            /* rules (not scope = line) still to meet */
	bool changed;           /* cls lost a byte */
	/* the line of the last literal of a scope = line rule: at line_pos,
	 * the line starts at line_start */
	size_t line_pos, line_start;
};

/* Where the line of text[at] starts; at is at or after the last place
 * asked for, so that no byte is looked at twice. */
static size_t line_start_of(struct needs_walk *w, const char *text, size_t at)
{
	size_t q = at;

	while (q > w->line_pos && text[q - 1] != '\n')
		q--;
	if (q == w->line_pos && (q == 0 || text[q - 1] != '\n'))
		q = w->line_start; /* no line break since */
	w->line_pos = at;
	w->line_start = q;
	return q;
}

/* Records that scope = line rule ri has a literal at text[at]. */
static int add_line(struct deid_rules_ws *ws, struct needs_walk *w, size_t ri, const char *text,
                    size_t at)
{
	size_t start = line_start_of(w, text, at);

	/* one literal a line is enough */
	if (ws->line_done[ri] == start)
		return 0;
	ws->line_done[ri] = start;
	if (MS_GROW(ws->lines, ws->cap_lines, ws->n_lines + 1))
		return MS_ENOMEM;
	ws->lines[ws->n_lines].rule = ri;
	ws->lines[ws->n_lines].start = start;
	ws->n_lines++;
	return 0;
}

/*
 * The literals anchored at byte text[at] (c): sets active[] of their rules,
 * and for scope = line rules records the line. *pending gets whether a
 * literal anchored at c may still count.
 */
static int needs_at(const struct deid_rules *rules, struct deid_rules_ws *ws, bool keep_enabled,
                    struct needs_walk *w, unsigned char c, const char *text, size_t len, size_t at,
                    bool *pending)
{
	size_t j;

	*pending = false;
	for (j = rules->need_at[c]; j < rules->need_at[c + 1]; j++) {
		const struct rule_need *nd = &rules->needs[j];
		const struct deid_rule *r = &rules->v[nd->rule];

		if ((ws->active[nd->rule] && !r->line_scope) || !rule_usable(r, keep_enabled))
			continue;
		*pending |= !ws->active[nd->rule] || r->line_scope;
		if (!need_at(nd, text, len, at))
			continue;
		if (!ws->active[nd->rule]) {
			ws->active[nd->rule] = true;
			w->left -= !r->line_scope;
		}
		/* the anchor's line: literals hold no line break */
		if (r->line_scope && add_line(ws, w, nd->rule, text, at))
			return MS_ENOMEM;
	}
	return 0;
}

/* Byte text[i] (of class cls[text[i]] != 0) in the needs pass. */
static int needs_byte(const struct deid_rules *rules, struct deid_rules_ws *ws, bool keep_enabled,
                      struct needs_walk *w, const char *text, size_t len, size_t i)
{
	unsigned char c = (unsigned char)text[i];
	bool pending;

	/* most anchor bytes have the wrong neighbour: no literal to compare */
	if (!rules->need_alone[c] &&
	    !(i + 1 < len && ms_bit_has(rules->need_next[c], (unsigned char)text[i + 1])) &&
	    !(i > 0 && ms_bit_has(rules->need_prev[c], (unsigned char)text[i - 1])))
		return 0;
	if (needs_at(rules, ws, keep_enabled, w, c, text, len, i, &pending))
		return MS_ENOMEM;
	if (!pending) {
		w->cls[c] = 0;
		w->changed = true;
	}
	return 0;
}

/* Is the needs pass done: every rule met, and no rule needs its lines? */
static bool needs_done(const struct deid_rules *rules, const struct needs_walk *w)
{
	return !w->left && !rules->has_line_scope;
}

#if defined(__SSE2__)
/*
 * The needs pass, 16 bytes at a time: one comparison per anchor byte in use
 * gives the places to look at. Returns how far it got (the rest is for the
 * byte loop) or (size_t)-1 on MS_ENOMEM.
 */
static size_t needs_sse2(const struct deid_rules *rules, struct deid_rules_ws *ws,
                         bool keep_enabled, struct needs_walk *w, const char *text, size_t len)
{
	__m128i want[256];
	size_t nw = 0, i = 0, k;

	w->changed = true;
	while (len - i >= 16 && !needs_done(rules, w)) {
		__m128i v, m;
		unsigned mask;

		if (w->changed) {
			for (nw = 0, k = 0; k < rules->n_need_bytes; k++) {
				unsigned char c = rules->need_bytes[k];

				if (w->cls[c])
					want[nw++] = _mm_set1_epi8((char)c);
			}
			w->changed = false;
			if (!nw)
				return len;
		}
		v = _mm_loadu_si128((const __m128i *)(const void *)(text + i));
		m = _mm_cmpeq_epi8(v, want[0]);
		for (k = 1; k < nw; k++)
			m = _mm_or_si128(m, _mm_cmpeq_epi8(v, want[k]));
		for (mask = (unsigned)_mm_movemask_epi8(m); mask; mask &= mask - 1) {
			size_t at = i + (size_t)__builtin_ctz(mask);

			/* a byte dropped from cls within this block is skipped */
			if (w->cls[(unsigned char)text[at]] &&
			    needs_byte(rules, ws, keep_enabled, w, text, len, at))
				return (size_t)-1;
		}
		i += 16;
	}
	return i;
}
#endif

/*
 * The needs pass: sets active[r] for each rule r with `needs` one of whose
 * literals occurs in the text, and records the lines of scope = line rules.
 * One walk over the text, 16 bytes at a time where the CPU has SSE2 (one
 * memchr() pass per anchor byte cost more: there are 15 of them, and short
 * memchr() calls are slow to start); an anchor byte leaves the walk once no
 * literal needs it, and the walk ends when every rule is met and no rule
 * needs lines. left: the rules with needs, not scope = line.
 */
static int find_needs(const struct deid_rules *rules, struct deid_rules_ws *ws, bool keep_enabled,
                      size_t left, const char *text, size_t len)
{
	struct needs_walk w;
	size_t i = 0;

	memcpy(w.cls, rules->need_class, sizeof(w.cls));
	w.line_pos = w.line_start = 0;
	w.left = left;
	w.changed = false;
#if defined(__SSE2__)
	i = needs_sse2(rules, ws, keep_enabled, &w, text, len);
	if (i == (size_t)-1)
		return MS_ENOMEM;
#endif
	for (; i < len && !needs_done(rules, &w); i++) {
		if (w.cls[(unsigned char)text[i]] &&
		    needs_byte(rules, ws, keep_enabled, &w, text, len, i))
			return MS_ENOMEM;
	}
	return 0;
}

/* Matches rule r from off into ws->md: PCRE2's result (the JIT where r has it). */
static int match_from(const struct deid_rule *r, struct deid_rules_ws *ws, const char *text,
                      size_t len, size_t off)
{
	if (r->jit)
		return pcre2_jit_match(r->code, (PCRE2_SPTR)text, len, off, 0, ws->md, ws->mctx);
	return pcre2_match(r->code, (PCRE2_SPTR)text, len, off, PCRE2_NO_UTF_CHECK, ws->md,
	                   ws->mctx);
}

/* Translates a PCRE2 match error (match limit, JIT stack) for rule r at off. */
static int match_error(const struct deid_rule *r, int code, size_t off, struct ms_error *err)
{
	PCRE2_UCHAR msg[160];

	if (code == PCRE2_ERROR_NOMEMORY)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	pcre2_get_error_message(code, msg, sizeof(msg));
	ms_error_set_off(err, off);
	return ms_error_set(err, MS_EREGEX, "rule '%s' failed at offset %zu: %s", r->name, off,
	                    (const char *)msg);
}

/* Handles a match of r in ws->md; next_out gets where scanning goes on. */
static int after_match(const struct deid_rule *r, struct deid_rules_ws *ws,
                       const struct deid_gaz *g, const char *text, size_t len, size_t off,
                       bool keep_enabled, struct deid_cands *cands, struct deid_regions *keep,
                       size_t *next_out, struct ms_error *err)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(ws->md);
	size_t ms = ov[0], me = ov[1], next;
	int rc;

	next = me > off ? me : off + 1;
	while (next < len && ((unsigned char)text[next] & 0xC0) == 0x80)
		next++;
	*next_out = next;
	rc = r->ctx ? context_ok(r, ws, text, ms < me ? ms : me) : 1;
	if (rc < 0)
		return match_error(r, rc, ms, err);
	if (rc > 0 && on_match(r, ws, g, text, len, keep_enabled, cands, keep))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return 0;
}

/* Finds the text's line breaks into ws->nl (once a text). */
static int find_line_breaks(struct deid_rules_ws *ws, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	ws->n_nl = 0;
	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (MS_GROW(ws->nl, ws->cap_nl, ws->n_nl + 1))
			return MS_ENOMEM;
		ws->nl[ws->n_nl++] = (size_t)(p - text);
		p++;
	}
	ws->nl_found = true;
	return 0;
}

/* Where the lines-th line from off ends: at its line break, or len. */
static size_t lines_end(const struct deid_rules_ws *ws, size_t len, size_t off, unsigned lines)
{
	size_t lo = 0, hi = ws->n_nl;

	while (lo < hi) { /* the first line break at or after off */
		size_t mid = lo + (hi - lo) / 2;

		if (ws->nl[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo + lines - 1 < ws->n_nl ? ws->nl[lo + lines - 1] : len;
}

/* The first place in [off, to) where literal w (wl bytes; NULL: a digit)
 * starts in text (len bytes; it may end after to), or to. */
static size_t next_literal(const char *w, size_t wl, const char *text, size_t len, size_t off,
                           size_t to)
{
	const char *q = text + off, *stop = text + to;

	if (!w) {
		for (; q < stop; q++) {
			if (*q >= '0' && *q <= '9')
				break;
		}
		return (size_t)(q - text);
	}
	while (q < stop && (q = memchr(q, w[0], (size_t)(stop - q))) != NULL) {
		if ((size_t)(text + len - q) >= wl && memcmp(q, w, wl) == 0)
			return (size_t)(q - text);
		q++;
	}
	return to;
}

/* The same through slot's cache: each byte of a text is searched once a slot. */
static size_t next_cached(struct deid_rules_ws *ws, size_t slot, const char *w, size_t wl,
                          const char *text, size_t len, size_t off)
{
	if (ws->near_from[slot] > off || ws->near_next[slot] < off) {
		ws->near_from[slot] = off;
		ws->near_next[slot] = next_literal(w, wl, text, len, off, len);
	}
	return ws->near_next[slot];
}

/*
 * Is at (>= off) within r->near_lines lines from off? 1 or 0, or MS_ENOMEM.
 * A place near off is looked at directly; a far one through the text's
 * line breaks, so that a long line is not searched again for each
 * trigger on it.
 */
static int in_lines(const struct deid_rule *r, struct deid_rules_ws *ws, const char *text,
                    size_t len, size_t off, size_t at)
{
	const char *p = text + off, *end = text + at;
	unsigned k;

	if (at - off <= NEAR_DIRECT) {
		for (k = 0; k < r->near_lines; k++) {
			p = memchr(p, '\n', (size_t)(end - p));
			if (!p)
				return 1;
			p++;
		}
		return 0;
	}
	if (!ws->nl_found && find_line_breaks(ws, text, len))
		return MS_ENOMEM;
	return at < lines_end(ws, len, off, r->near_lines);
}

/* Does literal w of slot (NULL: a digit) start within r's line window
 * from off? 1 or 0, or MS_ENOMEM. */
static int near_line_at(const struct deid_rule *r, struct deid_rules_ws *ws, size_t slot,
                        const char *w, size_t wl, const char *text, size_t len, size_t off)
{
	size_t at = next_cached(ws, slot, w, wl, text, len, off);

	return at < len ? in_lines(r, ws, text, len, off, at) : 0;
}

/*
 * May r match at off: does one of its `near` literals (or a digit) start
 * within its window (the next near_bytes bytes, or up to the line break
 * that ends the near_lines'th line)? 1 or 0, or MS_ENOMEM.
 */
static int near_ok(const struct deid_rule *r, struct deid_rules_ws *ws, const char *text,
                   size_t len, size_t off)
{
	size_t end, slot = r->near_slot, wl;
	const char *w;

	if (r->near_bytes) { /* a short window: searched each time */
		end = r->near_bytes < len - off ? off + r->near_bytes : len;
		if (r->near_digit && next_literal(NULL, 0, text, len, off, end) < end)
			return 1;
		for (w = r->near; w && *w; w += wl + 1) {
			wl = strlen(w);
			if (next_literal(w, wl, text, len, off, end) < end)
				return 1;
		}
		return 0;
	}
	for (w = r->near; w && *w; w += wl + 1, slot++) {
		int rc;

		wl = strlen(w);
		rc = near_line_at(r, ws, slot, w, wl, text, len, off);
		if (rc)
			return rc;
	}
	return r->near_digit ? near_line_at(r, ws, slot, NULL, 0, text, len, off) : 0;
}

/* Runs rule ri anchored at a trigger word starting at off. */
static int run_at(const struct deid_rules *rules, struct deid_rules_ws *ws, size_t ri,
                  const struct deid_gaz *g, const char *text, size_t len, size_t off,
                  bool keep_enabled, struct deid_cands *cands, struct deid_regions *keep,
                  struct ms_error *err)
{
	const struct deid_rule *r = &rules->v[ri];
	uint64_t t0;
	int rc;

	if (!ws->active[ri] || off < ws->last_end[ri])
		return 0;
	t0 = ws->timing ? deid_clock_ns() : 0;
	rc = r->near_bytes + r->near_lines ? near_ok(r, ws, text, len, off) : 1;
	if (rc < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	rc = rc ? match_from(r, ws, text, len, off) : PCRE2_ERROR_NOMATCH;
	if (rc >= 0)
		rc = after_match(r, ws, g, text, len, off, keep_enabled, cands, keep,
		                 &ws->last_end[ri], err);
	else if (rc == PCRE2_ERROR_NOMATCH)
		rc = 0;
	else
		rc = match_error(r, rc, off, err);
	if (ws->timing)
		ws->ns[ri] += deid_clock_ns() - t0;
	return rc;
}

/* Where a "+" right before number token k, or a "+" and a space ("+ 49"),
 * starts; k->start if there is none. */
static size_t plus_before(const char *text, const struct deid_tok *k)
{
	size_t s = k->start;

	if (s > 0 && text[s - 1] == '+')
		return s - 1;
	if (s > 1 && text[s - 1] == ' ' && text[s - 2] == '+')
		return s - 2;
	return s;
}

/* Does number token k fit r's #digits:MIN-MAX (if it has one)? */
static bool digits_fit(const struct deid_rule *r, const struct deid_tok *k)
{
	return !r->digits_min || ((k->flags & DEID_TOK_DIGITS) && k->n_chars >= r->digits_min &&
	                          k->n_chars <= r->digits_max);
}

/* Rules triggered by #digit or #mixed at token k. */
static inline int run_class_triggers(const struct deid_rules *rules, struct deid_rules_ws *ws,
                                     const struct deid_gaz *g, const struct deid_tok *k,
                                     const char *text, size_t len, bool keep_enabled,
                                     struct deid_cands *cands, struct deid_regions *keep,
                                     struct ms_error *err)
{
	char c = text[k->start];
	bool digit = c >= '0' && c <= '9';
	bool mixed = !(k->flags & (DEID_TOK_ALPHA | DEID_TOK_DIGITS));
	size_t j, plus;
	int rc = 0;

	if (!(digit && rules->has_digit_trigger) && !(mixed && rules->has_mixed_trigger))
		return 0;
	plus = digit ? plus_before(text, k) : k->start;
	/* a rule that has both runs once; a "+" before a number ("+49 30
	 * ...") is tried first, where a match would take it in */
	for (j = 0; j < rules->n_class_rules && !rc; j++) {
		size_t ri = rules->class_rules[j];
		const struct deid_rule *r = &rules->v[ri];

		if (!(digit && r->trigger_digit && digits_fit(r, k)) &&
		    !(mixed && r->trigger_mixed))
			continue;
		if (plus < k->start)
			rc = run_at(rules, ws, ri, g, text, len, plus, keep_enabled, cands, keep,
			            err);
		if (!rc)
			rc = run_at(rules, ws, ri, g, text, len, k->start, keep_enabled, cands,
			            keep, err);
	}
	return rc;
}

/* Index of the first trigger whose hash is hash (or n_trig). */
static size_t first_trigger(const struct deid_rules *rules, uint64_t hash)
{
	return first_index_find(&rules->trig_at, hash, rules->n_trig);
}

/* Is trigger tr the word of token k (same key; capitalised if written so)? */
static bool trigger_is(const struct rule_trigger *tr, const struct deid_toks *t,
                       const struct deid_tok *k)
{
	return tr->len == k->key_len && (!tr->upper || (k->flags & DEID_TOK_UPPER)) &&
	       memcmp(tr->key, deid_tok_key(t, k), tr->len) == 0;
}

/* May hash be a trigger word of that kind (TRIGGER_AT or TRIGGER_BEFORE)? */
static bool trigger_bloom(const struct deid_rules *rules, enum trigger_kind kind, uint64_t hash)
{
	size_t bit = hash % TRIGGER_BLOOM_BITS;

	return ms_bit_has(rules->trig_bloom[kind == TRIGGER_BEFORE], bit);
}

/* Rules triggered by the word of token k. */
static inline int run_word_triggers(const struct deid_rules *rules, struct deid_rules_ws *ws,
                                    const struct deid_gaz *g, const struct deid_toks *t,
                                    const struct deid_tok *k, const char *text, size_t len,
                                    bool keep_enabled, struct deid_cands *cands,
                                    struct deid_regions *keep, struct ms_error *err)
{
	size_t j;
	int rc = 0;

	if (!trigger_bloom(rules, TRIGGER_AT, k->hash))
		return 0;
	for (j = first_trigger(rules, k->hash);
	     j < rules->n_trig && rules->trig[j].hash == k->hash && !rc; j++) {
		const struct rule_trigger *tr = &rules->trig[j];

		if (tr->kind == TRIGGER_AT && trigger_is(tr, t, k))
			rc = run_at(rules, ws, tr->rule, g, text, len, k->start, keep_enabled,
			            cands, keep, err);
	}
	return rc;
}

/* ---- word-end rules: `*ending` and `<word` triggers ---------------------- */

/*
 * A word here is what word_endings-like patterns read: letters, and parts
 * joined by hyphens ("Robert-Koch-Str"). A pattern can only start such a
 * match where a letter follows a non-letter: at each part of a word, or
 * inside a token with digits or marks ("Hauptstr12").
 */

/* Are tokens a and a + 1 parts of one word (only hyphens between them)? */
static bool hyphen_gap(const char *text, const struct deid_toks *t, size_t a)
{
	size_t k;

	/* the tokenizer marks a "-" right after a token */
	if (!(t->v[a].flags & DEID_TOK_HYPHEN_AFTER) || a + 1 >= t->n ||
	    t->v[a + 1].start == t->v[a].end)
		return false;
	for (k = t->v[a].end; k < t->v[a + 1].start; k++) {
		if (text[k] != '-')
			return false;
	}
	return true;
}

static bool letters_only(const struct deid_tok *k)
{
	return (k->flags & DEID_TOK_ALPHA) != 0;
}

static uint64_t all_word_end_slots(const struct deid_rules *rules)
{
	return rules->n_word_end == 64 ? ~0ull : (1ull << rules->n_word_end) - 1;
}

/* Does key end with e? Compared from the end, where endings differ first
 * (their last two bytes are known to match); no call for short strings. */
static bool ends_with(const char *key, size_t len, const char *e, size_t e_len)
{
	size_t i;

	for (i = e_len; i > 0; i--) {
		if (key[len - e_len + i - 1] != e[i - 1])
			return false;
	}
	return true;
}

/* Slots of the word-end rules with an `*ending` that key ends with. */
static uint64_t ending_hits(const struct deid_rules *rules, const char *key, size_t len)
{
	uint64_t hits = 0;
	uint16_t tail;
	size_t lo;

	if (len < 2)
		return 0;
	tail = tail_of(key, len);
	/* most words pass no filter; the loop below decides for those that do */
	if (!(ms_bit_has(rules->tail4_bits, tail4_slot(last4_of(key, len))) |
	      ms_bit_has(rules->tail2_bits, tail)))
		return 0;
	lo = first_index_find(&rules->endings_at, tail, rules->n_endings);
	for (; lo < rules->n_endings && rules->endings[lo].tail == tail; lo++) {
		const struct rule_ending *e = &rules->endings[lo];

		if (e->len <= len && ends_with(key, len, e->key, e->len))
			hits |= 1ull << e->slot;
	}
	return hits;
}

/* Slots of the word-end rules with a `<word` trigger that token k is. */
static uint64_t before_hits(const struct deid_rules *rules, const struct deid_toks *t,
                            const struct deid_tok *k)
{
	uint64_t hits = 0;
	size_t j;

	if (!trigger_bloom(rules, TRIGGER_BEFORE, k->hash))
		return 0;
	for (j = first_trigger(rules, k->hash); j < rules->n_trig && rules->trig[j].hash == k->hash;
	     j++) {
		const struct rule_trigger *tr = &rules->trig[j];

		if (tr->kind == TRIGGER_BEFORE && trigger_is(tr, t, k))
			hits |= 1ull << (rules->v[tr->rule].word_end - 1);
	}
	return hits;
}

/* Runs the word-end rules of hits at each part a..b of a word, in order. */
static int run_word_parts(const struct deid_rules *rules, struct deid_rules_ws *ws,
                          const struct deid_gaz *g, const struct deid_toks *t, size_t a, size_t b,
                          uint64_t hits, const char *text, size_t len, bool keep_enabled,
                          struct deid_cands *cands, struct deid_regions *keep, struct ms_error *err)
{
	size_t slot, c;
	int rc = 0;

	for (slot = 0; slot < rules->n_word_end && !rc; slot++) {
		if (!(hits >> slot & 1))
			continue;
		for (c = a; c <= b && !rc; c++)
			rc = run_at(rules, ws, rules->word_end[slot], g, text, len, t->v[c].start,
			            keep_enabled, cands, keep, err);
	}
	return rc;
}

/* A token with digits or marks: every word-end rule at each letter that
 * follows a non-letter, since where its words end is not looked into. */
static int run_mixed_word(const struct deid_rules *rules, struct deid_rules_ws *ws,
                          const struct deid_gaz *g, const struct deid_tok *k, const char *text,
                          size_t len, bool keep_enabled, struct deid_cands *cands,
                          struct deid_regions *keep, struct ms_error *err)
{
	size_t slot;
	int rc = 0;

	for (slot = 0; slot < rules->n_word_end && !rc; slot++) {
		size_t off = k->start;
		bool after_letter = false;

		while (off < k->end && !rc) {
			size_t at = off;
			bool letter = deid_cp_is_letter(ms_utf8_next(text, k->end, &off));

			if (letter && !after_letter)
				rc = run_at(rules, ws, rules->word_end[slot], g, text, len, at,
				            keep_enabled, cands, keep, err);
			after_letter = letter;
		}
	}
	return rc;
}

/*
 * Word-end rules at token i: at the first part of a word of letters, they
 * run at every part of it when its last part ends with one of their
 * `*endings` or the next token is one of their `<words`; a word that goes
 * on into a token with digits runs them all.
 */
static int run_word_ends(const struct deid_rules *rules, struct deid_rules_ws *ws,
                         const struct deid_gaz *g, const struct deid_toks *t, size_t i,
                         const char *text, size_t len, bool keep_enabled, struct deid_cands *cands,
                         struct deid_regions *keep, struct ms_error *err)
{
	const struct deid_tok *k = &t->v[i];
	size_t j = i;
	uint64_t hits;

	if (k->flags & DEID_TOK_DIGITS)
		return 0;
	if (!letters_only(k))
		return run_mixed_word(rules, ws, g, k, text, len, keep_enabled, cands, keep, err);
	if (i > 0 && letters_only(&t->v[i - 1]) && hyphen_gap(text, t, i - 1))
		return 0; /* a later part: the first part ran the word */
	while (hyphen_gap(text, t, j) && letters_only(&t->v[j + 1]))
		j++;
	if (hyphen_gap(text, t, j)) {
		hits = all_word_end_slots(rules);
	} else {
		hits = ending_hits(rules, deid_tok_key(t, &t->v[j]), t->v[j].key_len);
		if (j + 1 < t->n)
			hits |= before_hits(rules, t, &t->v[j + 1]);
	}
	if (!hits)
		return 0;
	return run_word_parts(rules, ws, g, t, i, j, hits, text, len, keep_enabled, cands, keep,
	                      err);
}

/* Rules with triggers: one walk over the tokens, anchored matches only. */
static int run_triggered(const struct deid_rules *rules, struct deid_rules_ws *ws,
                         const struct deid_gaz *g, const struct deid_toks *t, const char *text,
                         size_t len, bool keep_enabled, struct deid_cands *cands,
                         struct deid_regions *keep, struct ms_error *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < t->n && !rc; i++) {
		const struct deid_tok *k = &t->v[i];

		rc = run_class_triggers(rules, ws, g, k, text, len, keep_enabled, cands, keep, err);
		if (!rc)
			rc = run_word_triggers(rules, ws, g, t, k, text, len, keep_enabled, cands,
			                       keep, err);
		if (!rc && rules->n_word_end)
			rc = run_word_ends(rules, ws, g, t, i, text, len, keep_enabled, cands, keep,
			                   err);
	}
	return rc;
}

/*
 * scope = line: rule ri runs anchored at the start of each line that holds
 * one of its `needs` literals, in text order (the line of a literal's first
 * byte; every match starts at a line start and stays on its line).
 */
static int run_lines(const struct deid_rules *rules, struct deid_rules_ws *ws, size_t ri,
                     const struct deid_gaz *g, const char *text, size_t len, bool keep_enabled,
                     struct deid_cands *cands, struct deid_regions *keep, struct ms_error *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < ws->n_lines && !rc; i++) {
		if (ws->lines[i].rule == ri)
			rc = run_at(rules, ws, ri, g, text, len, ws->lines[i].start, keep_enabled,
			            cands, keep, err);
	}
	return rc;
}

/* Runs rule r over the whole text, match after match. */
static int scan(const struct deid_rule *r, struct deid_rules_ws *ws, const struct deid_gaz *g,
                const char *text, size_t len, bool keep_enabled, struct deid_cands *cands,
                struct deid_regions *keep, struct ms_error *err)
{
	size_t off = 0;
	int rc;

	while (off <= len) {
		rc = match_from(r, ws, text, len, off);
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0)
			return match_error(r, rc, off, err);
		rc = after_match(r, ws, g, text, len, off, keep_enabled, cands, keep, &off, err);
		if (rc)
			return rc;
	}
	return 0;
}

int deid_rules_run(const struct deid_rules *rules, struct deid_rules_ws *ws,
                   const struct deid_gaz *g, const struct deid_toks *t, const char *text,
                   size_t len, bool keep_enabled, struct deid_cands *cands,
                   struct deid_regions *keep, struct ms_error *err)
{
	size_t i, n_pending;
	int rc;

	if (!rules)
		return 0;
	if (rules->n > ws->n_rules || rules->n_near_slots > ws->n_slots)
		return ms_error_set(err, MS_EUSAGE, "rule workspace older than its rule set");
	/* active: not a disabled keep rule, and its needs met (found below) */
	for (i = 0, n_pending = 0; i < rules->n; i++) {
		const struct deid_rule *r = &rules->v[i];
		bool usable = rule_usable(r, keep_enabled);

		ws->active[i] = usable && !r->needs;
		ws->line_done[i] = SIZE_MAX;
		n_pending += usable && r->needs && !r->line_scope;
	}
	for (i = 0; i < ws->n_slots; i++)
		ws->near_from[i] = SIZE_MAX; /* no cached place yet */
	ws->nl_found = false;
	ws->n_lines = 0;
	if ((n_pending || rules->has_line_scope) &&
	    find_needs(rules, ws, keep_enabled, n_pending, text, len))
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	for (i = 0; i < rules->n; i++) {
		const struct deid_rule *r = &rules->v[i];
		uint64_t t0;

		ws->last_end[i] = 0;
		if (!ws->active[i] || r->triggers || r->trigger_digit || r->trigger_mixed)
			continue;
		if (r->n_captures + 1 > ws->n_pairs)
			return ms_error_set(err, MS_EUSAGE, "rule workspace older than rule '%s'",
			                    r->name);
		if (r->line_scope) {
			/* run_at() times each run */
			rc = run_lines(rules, ws, i, g, text, len, keep_enabled, cands, keep, err);
			if (rc)
				return rc;
			continue;
		}
		t0 = ws->timing ? deid_clock_ns() : 0;
		rc = scan(r, ws, g, text, len, keep_enabled, cands, keep, err);
		if (ws->timing)
			ws->ns[i] += deid_clock_ns() - t0;
		if (rc)
			return rc;
	}
	if (rules->has_triggered && t)
		return run_triggered(rules, ws, g, t, text, len, keep_enabled, cands, keep, err);
	return 0;
}
