/* SPDX-License-Identifier: MIT */
/*
 * ClaML reader (BfArM/WHO ClaML 2.0: ICD-10-GM, OPS, ICD-O-3) with modifier
 * expansion, and the DTD check behind catalog_claml_check(). Not for GOÄ or
 * the flat code lists (see their own readers).
 *
 * The reader makes two streaming passes with libxml2's xmlTextReader. Pass 1
 * keeps only the skeleton: the header (Title, Identifier, top-level Meta),
 * every Modifier and ModifierClass with its rubrics (they are copied into the
 * codes they create) and, per Class, its code, first SuperClass, ModifiedBy
 * (with ValidModifierClass) and ExcludeModifier; the text of classes is
 * skipped. Pass 2 re-reads the file and builds one Class at a time in an
 * arena that is reset after the class (and the codes its modifiers create)
 * went to the sink. Two passes make the result independent of element order
 * (a ModifiedBy may name a Modifier defined later, a subclass may come
 * before its superclass) and leave the sink untouched when the file is
 * malformed; the cost is parsing twice. stdin and pipes cannot be read
 * twice, so they are read into memory first (capped).
 *
 * Modifier semantics, checked against BfArM's ICD-10-GM 2025 code list
 * (field 3 'S') and the OPS fragments quoted in public importers:
 *   - ModifiedBy inherits down the SuperClass tree and applies at the
 *     leaves: a class with modifiers but real subclasses (M00 with the
 *     localisation modifier) passes them to its subclasses (M00.0 ->
 *     M00.00 ... M00.09). A class counts as having subclasses when some
 *     Class in the file names it as SuperClass (dangling SubClass lists of
 *     excerpts are ignored).
 *   - ExcludeModifier on a class removes an inherited modifier of that code
 *     from the class and its descendants. A ModifiedBy of the same code
 *     nearer to the leaf replaces the inherited one.
 *   - Several modifiers apply in turn, outermost ancestor first and in file
 *     order within a class (E10: S04E10_4 then S04E10_5): E10 + ".0" ->
 *     E10.0 (non-terminal), E10.0 + "1" -> E10.01. A ModifierClass with
 *     Meta excludeOnPrecedingModifier="MOD CODE" is left out after MOD's
 *     class CODE was applied at an earlier position.
 *   - ValidModifierClass, when present, restricts the classes that apply
 *     (whether all= is true or not; OPS files carry both); without it,
 *     all="false" applies none and all="true" (the DTD default) all.
 *     A ValidModifierClass naming a missing class is ignored.
 *   - A created code is the parent code + the ModifierClass code
 *     ("C95.9" + "0", "E10" + ".0", "5-433.3" + "0"); its label is
 *     "<parent label>: <modifier class label>"; a "preferredLong" rubric is
 *     added, built the same way from the long labels, when the base class or
 *     a ModifierClass has one; the ModifierClass's other rubrics are copied,
 *     its usage wins over the inherited one, the base class's Meta and the
 *     ModifierClasses' Meta (except excludeOnPrecedingModifier) are passed
 *     on. A code that exists as a real Class, or was created already, is not
 *     created again.
 *   - A ModifiedBy naming a modifier that has neither a Modifier nor a
 *     ModifierClass in the file is an error (MS_EINVAL with its line).
 *
 * Text: the first Label of each rubric; Para, List, ListItem, Table rows and
 * Caption start new lines ("\n"), Cells are joined with " | ", Fragments with
 * a space, References in class="in brackets" are put in parentheses;
 * whitespace is collapsed and the result NFC-normalised. Codes are emitted
 * exactly as the file writes them (ICD-O-3 morphology "8140:3").
 *
 * Safety: never loads external DTDs or entities (XML_PARSE_NONET, no
 * DTDLOAD, no NOENT; entity references are dropped); libxml2's default
 * limits (no XML_PARSE_HUGE) bound text nodes, nesting and entity
 * amplification, and the caps below bound what a file can make us keep or
 * generate. libxml2's thread-local error handlers are redirected while a
 * call runs, so nothing is printed; one call per thread at a time.
 */
#include "catalog/catalog_int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/valid.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

#include "claml_dtd.h"
#include <libxml/xmlversion.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/fileio.h"
#include "common/hash.h"
#include "common/utf8.h"

#define CLAML_NONE            UINT32_MAX
#define CLAML_MAX_ITEMS       4000000u          /* classes, modifier classes, ModifiedBy */
#define CLAML_MAX_TEXT        (1u << 20)        /* bytes of one label */
#define CLAML_MAX_PARTS       65536u            /* rubrics, references or Meta of one class */
#define CLAML_MAX_PER_CLASS   64u               /* ModifiedBy, ExcludeModifier of one class */
#define CLAML_MAX_VALID       1024u             /* ValidModifierClass of one ModifiedBy */
#define CLAML_MAX_MOD_CLASSES 1024u             /* classes of one modifier */
#define CLAML_MAX_CHAIN       8u                /* modifiers applied to one class */
#define CLAML_MAX_GENERATED   100000u           /* codes created from one class */
#define CLAML_MAX_DEPTH       256u              /* SuperClass steps followed for inheritance */
#define CLAML_MAX_STREAM      ((size_t)1 << 30) /* stdin or pipe input, read into memory */
#define CLAML_XML_OPTS        (XML_PARSE_NONET | XML_PARSE_BIG_LINES)
#define CLAML_EXCLUDE_META    "excludeOnPrecedingModifier"

/* libxml2 2.12 made the structured error handler's argument const */
#if LIBXML_VERSION >= 21200
#define CLAML_XML_ERROR const xmlError
#else
#define CLAML_XML_ERROR xmlError
#endif

/* ---- a small string -> index hash map ---------------------------------- */

struct map_slot {
	const char *key; /* NULL: empty slot; keys outlive the map */
	size_t len;
	uint32_t val;
};

struct claml_map {
	struct map_slot *slots;
	size_t cap; /* 0 or a power of two */
	size_t n;
};

static bool map_find(const struct claml_map *m, const char *key, size_t len, uint32_t *val_out)
{
	size_t i, mask;

	if (!m->cap)
		return false;
	mask = m->cap - 1;
	for (i = (size_t)ms_fnv1a(key, len) & mask; m->slots[i].key; i = (i + 1) & mask) {
		if (m->slots[i].len == len && memcmp(m->slots[i].key, key, len) == 0) {
			*val_out = m->slots[i].val;
			return true;
		}
	}
	return false;
}

static void map_place(struct map_slot *slots, size_t cap, const struct map_slot *s)
{
	size_t i, mask = cap - 1;

	for (i = (size_t)ms_fnv1a(s->key, s->len) & mask; slots[i].key; i = (i + 1) & mask)
		;
	slots[i] = *s;
}

static int map_grow(struct claml_map *m)
{
	size_t ncap, i;
	struct map_slot *slots;

	if (!ms_size_mul(&ncap, m->cap ? m->cap : 32, 2))
		return MS_ENOMEM;
	slots = ms_calloc(ncap, sizeof(*slots));
	if (!slots)
		return MS_ENOMEM;
	for (i = 0; i < m->cap; i++) {
		if (m->slots[i].key)
			map_place(slots, ncap, &m->slots[i]);
	}
	ms_free(m->slots);
	m->slots = slots;
	m->cap = ncap;
	return 0;
}

/* Adds key -> val unless key is present; *added_out says which happened. */
static int map_add(struct claml_map *m, const char *key, size_t len, uint32_t val, bool *added_out)
{
	struct map_slot s;
	uint32_t old;
	int rc;

	*added_out = false;
	if (map_find(m, key, len, &old))
		return 0;
	if ((m->n + 1) * 2 > m->cap) {
		rc = map_grow(m);
		if (rc)
			return rc;
	}
	s.key = key;
	s.len = len;
	s.val = val;
	map_place(m->slots, m->cap, &s);
	m->n++;
	*added_out = true;
	return 0;
}

static void map_release(struct claml_map *m)
{
	ms_free(m->slots);
	m->slots = NULL;
	m->cap = 0;
	m->n = 0;
}

/* ---- the model kept across the passes ----------------------------------- */

struct claml_pair {
	const char *modifier;
	const char *code;
};

struct claml_mclass {
	const char *modifier;
	const char *code;
	const char *usage;      /* NULL if the file gives none */
	const char *label;      /* text of the first preferred rubric, "" if none */
	const char *label_long; /* text of the first preferredLong rubric or NULL */
	const struct catalog_rubric *rubrics;
	size_t n_rubrics;
	const struct catalog_meta *meta; /* without excludeOnPrecedingModifier */
	size_t n_meta;
	const struct claml_pair *excl; /* excludeOnPrecedingModifier pairs */
	size_t n_excl;
	uint32_t next; /* next class of the same modifier, in file order */
};

struct claml_modifier {
	const char *code;
	uint32_t first, last; /* modifier classes, linked by next */
	size_t n_classes;
};

struct claml_modby {
	const char *code;
	uint32_t modifier; /* index into mods, resolved after pass 1 */
	uint32_t valid_off, n_valid;
	bool all;
	size_t line;
};

struct claml_node {
	const char *code;
	const char *super; /* first SuperClass or NULL */
	uint32_t parent;   /* resolved after pass 1 */
	uint32_t n_children;
	uint32_t modby_off, n_modby;
	uint32_t excl_off, n_excl;
	size_t line;
};

/* One Class (pass 2) or ModifierClass (pass 1) while it is read. */
struct claml_item {
	const char *code;
	const char *kind;
	const char *usage;
	const char *modifier;
	const char *super;
	size_t n_subclasses; /* SubClass elements, dangling or not */
	size_t line;
	struct catalog_rubric *rubrics;
	size_t *rub_refs; /* offset of each rubric's references in refs */
	size_t n_rubrics, cap_rubrics, cap_rub_refs;
	struct catalog_ref *refs;
	size_t n_refs, cap_refs;
	struct catalog_meta *meta;
	size_t n_meta, cap_meta;
};

/* Text collected with whitespace collapsed as it arrives. */
struct claml_text {
	struct ms_buf buf;
	bool space; /* whitespace seen since the last character */
};

enum claml_top { TOP_NONE, TOP_TITLE, TOP_CLASS, TOP_MCLASS };
enum claml_sub { SUB_NONE, SUB_RUBRIC, SUB_MODBY };

struct claml {
	const char *path; /* NULL: read data/len */
	const char *data;
	size_t len;
	const char *name; /* for messages */
	const struct catalog_read_opts *opts;
	const struct catalog_sink *sink; /* NULL: structure check only */
	struct ms_error *err;
	xmlTextReaderPtr xr;
	int pass;

	/* first libxml2 error of the pass */
	bool xml_failed, xml_fatal;
	int xml_code, xml_domain;
	size_t xml_line;
	char xml_msg[160];

	/* header (pass 1) */
	bool seen_root, seen_title;
	const char *title_name, *title_version, *title_date, *authority, *lang, *title_long;
	struct claml_text title;
	char version[32];

	struct ms_arena keep; /* skeleton and modifier classes: until the end */
	struct ms_arena tmp;  /* the current class: reset after each */
	struct ms_arena *ia;  /* where the current item's strings go */
	struct claml_node *nodes;
	size_t n_nodes, cap_nodes;
	struct claml_modby *modbys;
	size_t n_modbys, cap_modbys;
	const char **valids;
	size_t n_valids, cap_valids;
	const char **excls;
	size_t n_excls, cap_excls;
	struct claml_mclass *mcs;
	size_t n_mcs, cap_mcs;
	struct claml_modifier *mods;
	size_t n_mods, cap_mods;
	struct claml_map node_map, mod_map, mc_map, gen_map;

	/* reading state */
	enum claml_top top;
	enum claml_sub sub;
	uint32_t cur; /* node (pass 1 Class) */
	uint32_t cur_modby;
	struct claml_item item;
	const char *rub_kind;
	const char *rub_usage;
	const char *rub_text;
	size_t rub_ref_off;
	bool rub_labelled;
	bool in_label;
	int ref_depth; /* depth of the open Reference, -1 if none */
	const char *ref_code;
	const char *ref_usage;
	bool ref_brackets;
	struct claml_text text, reftext;
	struct ms_buf nfc, scratch, probe;

	/* modifier expansion of the current class */
	uint32_t eff[CLAML_MAX_CHAIN]; /* ModifiedBy indices, outermost first */
	size_t n_eff;
	uint32_t chain[CLAML_MAX_CHAIN]; /* modifier class applied at each level */
	struct ms_buf codes[CLAML_MAX_CHAIN], labels[CLAML_MAX_CHAIN], longs[CLAML_MAX_CHAIN];
	const char **seen_excl;
	size_t cap_seen_excl;
	struct catalog_rubric *grub;
	size_t cap_grub;
	struct catalog_meta *gmeta;
	size_t cap_gmeta;
	size_t n_generated;
};

static void claml_init(struct claml *c, const char *name, const struct catalog_read_opts *opts,
                       const struct catalog_sink *sink, struct ms_error *err)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->opts = opts;
	c->sink = sink;
	c->err = err;
	ms_arena_init(&c->keep, 0);
	ms_arena_init(&c->tmp, 0);
	ms_buf_init(&c->title.buf, CLAML_MAX_TEXT);
	ms_buf_init(&c->text.buf, CLAML_MAX_TEXT);
	ms_buf_init(&c->reftext.buf, CLAML_MAX_TEXT);
	ms_buf_init(&c->nfc, 0);
	ms_buf_init(&c->scratch, 0);
	ms_buf_init(&c->probe, 0);
	for (i = 0; i < CLAML_MAX_CHAIN; i++) {
		ms_buf_init(&c->codes[i], 0);
		ms_buf_init(&c->labels[i], 0);
		ms_buf_init(&c->longs[i], 0);
	}
	c->ref_depth = -1;
}

static void claml_release(struct claml *c)
{
	size_t i;

	xmlFreeTextReader(c->xr);
	c->xr = NULL;
	ms_arena_release(&c->keep);
	ms_arena_release(&c->tmp);
	ms_free(c->nodes);
	ms_free(c->modbys);
	ms_free(c->valids);
	ms_free(c->excls);
	ms_free(c->mcs);
	ms_free(c->mods);
	map_release(&c->node_map);
	map_release(&c->mod_map);
	map_release(&c->mc_map);
	map_release(&c->gen_map);
	ms_free(c->item.rubrics);
	ms_free(c->item.rub_refs);
	ms_free(c->item.refs);
	ms_free(c->item.meta);
	ms_buf_release(&c->title.buf);
	ms_buf_release(&c->text.buf);
	ms_buf_release(&c->reftext.buf);
	ms_buf_release(&c->nfc);
	ms_buf_release(&c->scratch);
	ms_buf_release(&c->probe);
	for (i = 0; i < CLAML_MAX_CHAIN; i++) {
		ms_buf_release(&c->codes[i]);
		ms_buf_release(&c->labels[i]);
		ms_buf_release(&c->longs[i]);
	}
	ms_free(c->seen_excl);
	ms_free(c->grub);
	ms_free(c->gmeta);
}

/* ---- errors --------------------------------------------------------------- */

static int fail(struct claml *c, int code, size_t line, const char *fmt, ...) MS_PRINTF(4, 5);

static int fail(struct claml *c, int code, size_t line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ms_error_vset(c->err, code, fmt, ap);
	va_end(ap);
	ms_error_set_path(c->err, c->name);
	if (line)
		ms_error_set_line(c->err, line);
	return code;
}

static size_t cur_line(const struct claml *c)
{
	xmlNodePtr n = c->xr ? xmlTextReaderCurrentNode(c->xr) : NULL;
	int pl;

	/* node lines stop at 65535 (libxml2 keeps them in a short); beyond,
	 * the parser's line is a few lines ahead at most */
	if (n && n->line > 0 && n->line < 65535)
		return n->line;
	pl = c->xr ? xmlTextReaderGetParserLineNumber(c->xr) : 0;
	return pl > 0 ? (size_t)pl : 1;
}

static int oom(struct claml *c)
{
	return fail(c, MS_ENOMEM, 0, "out of memory");
}

static int buf_fail(struct claml *c, int status)
{
	if (status == MS_ETOOBIG)
		return fail(c, MS_ETOOBIG, cur_line(c), "text longer than %u bytes",
		            CLAML_MAX_TEXT);
	return oom(c);
}

static void copy_xml_message(char *out, size_t size, const char *msg)
{
	size_t n = 0;

	if (msg) {
		/* the first line only: later lines quote input bytes */
		while (msg[n] && msg[n] != '\n' && n + 1 < size) {
			out[n] = msg[n];
			n++;
		}
	}
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '!' || out[n - 1] == '\r'))
		n--;
	out[n] = '\0';
	if (n >= 2 && out[0] >= 'A' && out[0] <= 'Z' && out[1] >= 'a' && out[1] <= 'z')
		out[0] = (char)(out[0] - 'A' + 'a');
}

static void on_xml_error(void *arg, CLAML_XML_ERROR *e)
{
	struct claml *c = arg;
	bool fatal;

	if (!c || !e || e->level < XML_ERR_ERROR)
		return;
	fatal = e->level == XML_ERR_FATAL;
	/* keep the first error, but let a fatal one replace a recoverable one */
	if (c->xml_failed && (c->xml_fatal || !fatal))
		return;
	c->xml_failed = true;
	c->xml_fatal = fatal;
	c->xml_code = e->code;
	c->xml_domain = e->domain;
	c->xml_line = e->line > 0 ? (size_t)e->line : 0;
	copy_xml_message(c->xml_msg, sizeof(c->xml_msg), e->message);
}

static void xml_quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static bool is_encoding_error(const struct claml *c)
{
	return c->xml_domain == XML_FROM_I18N || c->xml_code == XML_ERR_INVALID_ENCODING ||
	       c->xml_code == XML_ERR_UNKNOWN_ENCODING ||
	       c->xml_code == XML_ERR_UNSUPPORTED_ENCODING ||
	       (c->xml_code == XML_ERR_INVALID_CHAR && strstr(c->xml_msg, "UTF-8"));
}

static int xml_fail(struct claml *c)
{
	size_t line = c->xml_line;
	const char *msg = c->xml_msg[0] ? c->xml_msg : "parser error";
	int pl;

	if (!line) {
		pl = c->xr ? xmlTextReaderGetParserLineNumber(c->xr) : 0;
		line = pl > 0 ? (size_t)pl : 1;
	}
	if (c->xml_domain == XML_FROM_IO)
		return fail(c, MS_EIO, line, "cannot read: %s", msg);
	if (c->xml_domain == XML_FROM_MEMORY)
		return fail(c, MS_ENOMEM, line, "out of memory in the XML parser");
	if (is_encoding_error(c))
		return fail(c, MS_EUNICODE, line, "invalid text encoding: %s", msg);
	return fail(c, MS_EINVAL, line, "malformed XML: %s", msg);
}

/* ---- strings -------------------------------------------------------------- */

static bool is_xml_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Copies s[0..len) (valid UTF-8 from libxml2) into a, normalised to NFC. */
static int dup_nfc(struct claml *c, struct ms_arena *a, const char *s, size_t len, const char **out)
{
	size_t i = 0;
	char *p;
	int rc;

	while (i < len && !(s[i] & 0x80))
		i++;
	if (i < len) {
		ms_buf_reset(&c->nfc);
		rc = ms_nfc_append(&c->nfc, s, len, c->err);
		if (rc)
			return fail(c, rc, cur_line(c), "cannot normalise text");
		s = c->nfc.buf;
		len = c->nfc.len;
	}
	p = ms_arena_strndup(a, s, len);
	if (!p)
		return oom(c);
	*out = p;
	return 0;
}

/*
 * Reads attribute name of the current element into *out (NFC, in a), NULL
 * when absent. Codes and keywords are trimmed: without the DTD, libxml2
 * does not normalise NMTOKEN values.
 */
static int attr(struct claml *c, const char *name, struct ms_arena *a, bool trim, const char **out)
{
	xmlChar *v = xmlTextReaderGetAttribute(c->xr, (const xmlChar *)name);
	const char *s = (const char *)v;
	size_t len;
	int rc;

	*out = NULL;
	if (!v)
		return 0;
	len = strlen(s);
	if (trim) {
		while (len && is_xml_space(*s)) {
			s++;
			len--;
		}
		while (len && is_xml_space(s[len - 1]))
			len--;
	}
	rc = dup_nfc(c, a, s, len, out);
	xmlFree(v);
	return rc;
}

static int attr_req(struct claml *c, const char *elem, const char *name, struct ms_arena *a,
                    const char **out)
{
	int rc = attr(c, name, a, true, out);

	if (rc)
		return rc;
	if (!*out || !**out)
		return fail(c, MS_EINVAL, cur_line(c), "element '%s' without '%s' attribute", elem,
		            name);
	return 0;
}

static bool ascii_ieq(char a, char b)
{
	if (a >= 'A' && a <= 'Z')
		a = (char)(a - 'A' + 'a');
	if (b >= 'A' && b <= 'Z')
		b = (char)(b - 'A' + 'a');
	return a == b;
}

static bool starts_with_ci(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++) {
		if (!*s || !ascii_ieq(*s, *prefix))
			return false;
	}
	return true;
}

static bool contains_ci(const char *s, const char *needle)
{
	for (; *s; s++) {
		if (starts_with_ci(s, needle))
			return true;
	}
	return false;
}

/* ---- text of labels ------------------------------------------------------- */

static bool at_line_start(const struct ms_buf *b)
{
	return b->len == 0 || b->buf[b->len - 1] == '\n';
}

static void text_add(struct claml_text *t, const char *s, size_t len)
{
	size_t i = 0, j;

	while (i < len) {
		if (is_xml_space(s[i])) {
			t->space = true;
			i++;
			continue;
		}
		for (j = i; j < len && !is_xml_space(s[j]); j++)
			;
		if (t->space && !at_line_start(&t->buf))
			ms_buf_addch(&t->buf, ' ');
		t->space = false;
		ms_buf_add(&t->buf, s + i, j - i);
		i = j;
	}
}

static void text_reset(struct claml_text *t)
{
	ms_buf_reset(&t->buf);
	t->space = false;
}

static void text_break(struct claml *c)
{
	if (!at_line_start(&c->text.buf))
		ms_buf_addch(&c->text.buf, '\n');
	c->text.space = false;
}

static void text_sep(struct claml *c, const char *sep)
{
	if (!at_line_start(&c->text.buf))
		ms_buf_adds(&c->text.buf, sep);
	c->text.space = false;
}

static bool is_block(const char *name)
{
	static const char *const blocks[] = { "Para",  "List",  "ListItem", "Table",  "Row",
		                              "THead", "TBody", "TFoot",    "Caption" };
	size_t i;

	for (i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
		if (strcmp(name, blocks[i]) == 0)
			return true;
	}
	return false;
}

static int ref_start(struct claml *c, int depth)
{
	const char *cls;
	int rc;

	if (c->ref_depth >= 0)
		return 0; /* nested: its text belongs to the outer reference */
	c->ref_depth = depth;
	rc = attr(c, "code", c->ia, true, &c->ref_code);
	if (!rc)
		rc = attr(c, "usage", c->ia, true, &c->ref_usage);
	if (!rc)
		rc = attr(c, "class", &c->tmp, false, &cls);
	if (rc)
		return rc;
	c->ref_brackets = cls && strstr(cls, "in brackets");
	text_reset(&c->reftext);
	if (c->ref_brackets) {
		if (!at_line_start(&c->text.buf))
			ms_buf_addch(&c->text.buf, ' ');
		ms_buf_addch(&c->text.buf, '(');
		c->text.space = false;
	}
	return 0;
}

static int ref_end(struct claml *c)
{
	struct claml_item *it = &c->item;
	const char *code = c->ref_code;
	int rc;

	c->ref_depth = -1;
	rc = ms_buf_status(&c->reftext.buf);
	if (rc)
		return buf_fail(c, rc);
	if (!c->reftext.buf.len && code)
		text_add(&c->text, code, strlen(code));
	if (c->ref_brackets) {
		ms_buf_addch(&c->text.buf, ')');
		c->text.space = false;
	}
	if (!code || !*code) {
		if (!c->reftext.buf.len)
			return 0;
		rc = dup_nfc(c, c->ia, c->reftext.buf.buf, c->reftext.buf.len, &code);
		if (rc)
			return rc;
	}
	if (it->n_refs >= CLAML_MAX_PARTS)
		return fail(c, MS_ETOOBIG, cur_line(c), "more than %u references in one class",
		            CLAML_MAX_PARTS);
	if (MS_GROW(it->refs, it->cap_refs, it->n_refs + 1))
		return oom(c);
	it->refs[it->n_refs].code = code;
	it->refs[it->n_refs].usage = c->ref_usage;
	it->n_refs++;
	return 0;
}

static int label_begin(struct claml *c, bool *skip)
{
	if (c->rub_labelled) {
		*skip = true; /* further labels (other languages, variants) */
		return 0;
	}
	c->rub_labelled = true;
	c->in_label = true;
	c->ref_depth = -1;
	text_reset(&c->text);
	return 0;
}

static int label_end(struct claml *c)
{
	struct ms_buf *b = &c->text.buf;
	int rc = ms_buf_status(b);

	c->in_label = false;
	if (rc == MS_ETOOBIG)
		return fail(c, MS_ETOOBIG, cur_line(c), "label of class '%s' longer than %u bytes",
		            c->item.code ? c->item.code : "", CLAML_MAX_TEXT);
	if (rc)
		return oom(c);
	while (b->len && b->buf[b->len - 1] == '\n')
		ms_buf_truncate(b, b->len - 1);
	return dup_nfc(c, c->ia, b->buf, b->len, &c->rub_text);
}

static int label_child_start(struct claml *c, const char *name, int depth, bool *skip)
{
	if (is_block(name))
		text_break(c);
	else if (strcmp(name, "Cell") == 0)
		text_sep(c, " | ");
	else if (strcmp(name, "Fragment") == 0)
		c->text.space = true;
	else if (strcmp(name, "Reference") == 0)
		return ref_start(c, depth);
	else if (strcmp(name, "Include") == 0 || strcmp(name, "IncludeDescendants") == 0)
		*skip = true;
	return 0;
}

static int label_child_end(struct claml *c, const char *name, int depth)
{
	if (is_block(name))
		text_break(c);
	else if (depth == c->ref_depth)
		return ref_end(c);
	return 0;
}

static void on_text(struct claml *c, int depth)
{
	const char *v = (const char *)xmlTextReaderConstValue(c->xr);
	size_t len;

	if (!v)
		return;
	len = strlen(v);
	if (c->in_label) {
		text_add(&c->text, v, len);
		if (c->ref_depth >= 0)
			text_add(&c->reftext, v, len);
	} else if (c->top == TOP_TITLE && depth == 2) {
		text_add(&c->title, v, len);
	}
}

/* ---- items: rubrics and Meta ---------------------------------------------- */

static void item_reset(struct claml *c, struct ms_arena *a)
{
	struct claml_item *it = &c->item;

	it->code = it->kind = it->usage = it->modifier = it->super = NULL;
	it->n_subclasses = 0;
	it->line = cur_line(c);
	it->n_rubrics = 0;
	it->n_refs = 0;
	it->n_meta = 0;
	c->ia = a;
	c->sub = SUB_NONE;
	c->in_label = false;
	c->ref_depth = -1;
}

static int meta_add(struct claml *c)
{
	struct claml_item *it = &c->item;
	const char *name = NULL, *value = NULL;
	int rc;

	rc = attr(c, "name", c->ia, true, &name);
	if (!rc)
		rc = attr(c, "value", c->ia, false, &value);
	if (rc || !name)
		return rc;
	if (it->n_meta >= CLAML_MAX_PARTS)
		return fail(c, MS_ETOOBIG, cur_line(c), "more than %u Meta elements in one class",
		            CLAML_MAX_PARTS);
	if (MS_GROW(it->meta, it->cap_meta, it->n_meta + 1))
		return oom(c);
	it->meta[it->n_meta].name = name;
	it->meta[it->n_meta].value = value ? value : "";
	it->n_meta++;
	return 0;
}

static int rubric_begin(struct claml *c)
{
	int rc = attr_req(c, "Rubric", "kind", c->ia, &c->rub_kind);

	if (!rc)
		rc = attr(c, "usage", c->ia, true, &c->rub_usage);
	if (rc)
		return rc;
	c->rub_text = NULL;
	c->rub_ref_off = c->item.n_refs;
	c->rub_labelled = false;
	c->sub = SUB_RUBRIC;
	return 0;
}

static int rubric_end(struct claml *c)
{
	struct claml_item *it = &c->item;
	struct catalog_rubric *r;

	c->sub = SUB_NONE;
	if (it->n_rubrics >= CLAML_MAX_PARTS)
		return fail(c, MS_ETOOBIG, cur_line(c), "more than %u rubrics in one class",
		            CLAML_MAX_PARTS);
	if (MS_GROW(it->rubrics, it->cap_rubrics, it->n_rubrics + 1) ||
	    MS_GROW(it->rub_refs, it->cap_rub_refs, it->n_rubrics + 1))
		return oom(c);
	r = &it->rubrics[it->n_rubrics];
	r->kind = c->rub_kind;
	r->usage = c->rub_usage;
	r->text = c->rub_text ? c->rub_text : "";
	r->refs = NULL; /* set once all references are in (the array may move) */
	r->n_refs = it->n_refs - c->rub_ref_off;
	it->rub_refs[it->n_rubrics] = c->rub_ref_off;
	it->n_rubrics++;
	return 0;
}

static void item_fix_refs(struct claml_item *it)
{
	size_t i;

	for (i = 0; i < it->n_rubrics; i++)
		it->rubrics[i].refs = it->rubrics[i].n_refs ? it->refs + it->rub_refs[i] : NULL;
}

static const char *item_rubric_text(const struct claml_item *it, const char *kind)
{
	size_t i;

	for (i = 0; i < it->n_rubrics; i++) {
		if (strcmp(it->rubrics[i].kind, kind) == 0)
			return it->rubrics[i].text;
	}
	return NULL;
}

/* ---- pass 1: header, modifiers, skeleton ---------------------------------- */

static int header_meta(struct claml *c)
{
	const char *name = NULL, *value = NULL;
	int rc;

	rc = attr(c, "name", &c->keep, true, &name);
	if (!rc)
		rc = attr(c, "value", &c->keep, false, &value);
	if (rc || !name || !value)
		return rc;
	if (strcmp(name, "lang") == 0 && !c->lang && *value)
		c->lang = value;
	else if (strcmp(name, "titleLong") == 0 && !c->title_long)
		c->title_long = value;
	return 0;
}

static int title_begin(struct claml *c, bool *skip)
{
	int rc;

	if (c->seen_title) {
		*skip = true;
		return 0;
	}
	c->seen_title = true;
	rc = attr(c, "name", &c->keep, true, &c->title_name);
	if (!rc)
		rc = attr(c, "version", &c->keep, true, &c->title_version);
	if (!rc)
		rc = attr(c, "date", &c->keep, true, &c->title_date);
	text_reset(&c->title);
	c->top = TOP_TITLE;
	return rc;
}

static int modifier_add(struct claml *c, const char *code, uint32_t *idx_out)
{
	bool added;
	int rc;

	if (map_find(&c->mod_map, code, strlen(code), idx_out))
		return 0;
	if (c->n_mods >= CLAML_MAX_ITEMS)
		return fail(c, MS_ETOOBIG, cur_line(c), "more than %u modifiers", CLAML_MAX_ITEMS);
	if (MS_GROW(c->mods, c->cap_mods, c->n_mods + 1))
		return oom(c);
	rc = map_add(&c->mod_map, code, strlen(code), (uint32_t)c->n_mods, &added);
	if (rc)
		return oom(c);
	c->mods[c->n_mods].code = code;
	c->mods[c->n_mods].first = CLAML_NONE;
	c->mods[c->n_mods].last = CLAML_NONE;
	c->mods[c->n_mods].n_classes = 0;
	*idx_out = (uint32_t)c->n_mods++;
	return 0;
}

static int modifier_begin(struct claml *c)
{
	const char *code;
	uint32_t idx;
	int rc = attr_req(c, "Modifier", "code", &c->keep, &code);

	return rc ? rc : modifier_add(c, code, &idx);
}

static int mclass_begin(struct claml *c)
{
	struct claml_item *it = &c->item;
	int rc;

	item_reset(c, &c->keep);
	rc = attr_req(c, "ModifierClass", "code", &c->keep, &it->code);
	if (!rc)
		rc = attr_req(c, "ModifierClass", "modifier", &c->keep, &it->modifier);
	if (!rc)
		rc = attr(c, "usage", &c->keep, true, &it->usage);
	c->top = TOP_MCLASS;
	return rc;
}

/* Splits "S04E10_4 .0" into a pair; false if the value has no two parts. */
static int split_exclusion(struct claml *c, const char *value, struct claml_pair *out, bool *ok)
{
	const char *a = value, *b;
	size_t la, lb;

	*ok = false;
	while (is_xml_space(*a))
		a++;
	for (la = 0; a[la] && !is_xml_space(a[la]); la++)
		;
	for (b = a + la; is_xml_space(*b); b++)
		;
	for (lb = 0; b[lb] && !is_xml_space(b[lb]); lb++)
		;
	if (!la || !lb)
		return 0;
	out->modifier = ms_arena_strndup(&c->keep, a, la);
	out->code = ms_arena_strndup(&c->keep, b, lb);
	if (!out->modifier || !out->code)
		return oom(c);
	*ok = true;
	return 0;
}

static int mclass_copy_meta(struct claml *c, struct claml_mclass *mc)
{
	const struct claml_item *it = &c->item;
	struct catalog_meta *meta;
	struct claml_pair *excl;
	size_t i, n_excl = 0;
	bool ok;
	int rc;

	for (i = 0; i < it->n_meta; i++)
		n_excl += strcmp(it->meta[i].name, CLAML_EXCLUDE_META) == 0;
	meta = ms_arena_calloc(&c->keep, it->n_meta - n_excl + 1, sizeof(*meta));
	excl = ms_arena_calloc(&c->keep, n_excl + 1, sizeof(*excl));
	if (!meta || !excl)
		return oom(c);
	mc->meta = meta;
	mc->excl = excl;
	for (i = 0; i < it->n_meta; i++) {
		if (strcmp(it->meta[i].name, CLAML_EXCLUDE_META) != 0) {
			meta[mc->n_meta++] = it->meta[i];
			continue;
		}
		rc = split_exclusion(c, it->meta[i].value, &excl[mc->n_excl], &ok);
		if (rc)
			return rc;
		mc->n_excl += ok;
	}
	return 0;
}

static int mclass_copy_rubrics(struct claml *c, struct claml_mclass *mc)
{
	struct claml_item *it = &c->item;
	struct catalog_rubric *rub;
	struct catalog_ref *refs;
	size_t i;

	item_fix_refs(it);
	rub = ms_arena_calloc(&c->keep, it->n_rubrics + 1, sizeof(*rub));
	refs = ms_arena_calloc(&c->keep, it->n_refs + 1, sizeof(*refs));
	if (!rub || !refs)
		return oom(c);
	if (it->n_refs)
		memcpy(refs, it->refs, it->n_refs * sizeof(*refs));
	for (i = 0; i < it->n_rubrics; i++) {
		rub[i] = it->rubrics[i];
		rub[i].refs = rub[i].n_refs ? refs + it->rub_refs[i] : NULL;
	}
	mc->rubrics = rub;
	mc->n_rubrics = it->n_rubrics;
	mc->label = item_rubric_text(it, "preferred");
	if (!mc->label)
		mc->label = "";
	mc->label_long = item_rubric_text(it, "preferredLong");
	return 0;
}

static int mclass_end(struct claml *c)
{
	struct claml_item *it = &c->item;
	struct claml_mclass mc;
	size_t lm = strlen(it->modifier), lc = strlen(it->code);
	char *key;
	bool added;
	int rc;

	c->top = TOP_NONE;
	ms_arena_reset(&c->tmp);
	memset(&mc, 0, sizeof(mc));
	mc.modifier = it->modifier;
	mc.code = it->code;
	mc.usage = it->usage;
	mc.next = CLAML_NONE;
	rc = mclass_copy_rubrics(c, &mc);
	if (!rc)
		rc = mclass_copy_meta(c, &mc);
	if (rc)
		return rc;
	/* key "modifier\0code": both parts may hold any character but NUL */
	key = ms_arena_alloc(&c->keep, lm + lc + 1);
	if (!key)
		return oom(c);
	memcpy(key, it->modifier, lm + 1);
	memcpy(key + lm + 1, it->code, lc);
	if (c->n_mcs >= CLAML_MAX_ITEMS)
		return fail(c, MS_ETOOBIG, it->line, "more than %u modifier classes",
		            CLAML_MAX_ITEMS);
	if (MS_GROW(c->mcs, c->cap_mcs, c->n_mcs + 1))
		return oom(c);
	if (map_add(&c->mc_map, key, lm + 1 + lc, (uint32_t)c->n_mcs, &added))
		return oom(c);
	if (!added)
		return fail(c, MS_EINVAL, it->line, "duplicate class '%s' of modifier '%s'",
		            it->code, it->modifier);
	c->mcs[c->n_mcs++] = mc;
	return 0;
}

static int node_begin(struct claml *c)
{
	struct claml_node *n;
	const char *code, *kind;
	int rc;

	rc = attr_req(c, "Class", "code", &c->keep, &code);
	if (!rc)
		rc = attr_req(c, "Class", "kind", &c->tmp, &kind);
	if (rc)
		return rc;
	if (c->n_nodes >= CLAML_MAX_ITEMS)
		return fail(c, MS_ETOOBIG, cur_line(c), "more than %u classes", CLAML_MAX_ITEMS);
	if (MS_GROW(c->nodes, c->cap_nodes, c->n_nodes + 1))
		return oom(c);
	n = &c->nodes[c->n_nodes];
	memset(n, 0, sizeof(*n));
	n->code = code;
	n->parent = CLAML_NONE;
	n->modby_off = (uint32_t)c->n_modbys;
	n->excl_off = (uint32_t)c->n_excls;
	n->line = cur_line(c);
	c->cur = (uint32_t)c->n_nodes++;
	c->top = TOP_CLASS;
	return 0;
}

static int node_end(struct claml *c)
{
	const struct claml_node *n = &c->nodes[c->cur];
	bool added;

	c->top = TOP_NONE;
	ms_arena_reset(&c->tmp);
	if (map_add(&c->node_map, n->code, strlen(n->code), c->cur, &added))
		return oom(c);
	if (!added)
		return fail(c, MS_EINVAL, n->line, "duplicate class '%s'", n->code);
	return 0;
}

static int node_modby(struct claml *c)
{
	struct claml_node *n = &c->nodes[c->cur];
	struct claml_modby *m;
	const char *code, *all;
	int rc;

	rc = attr_req(c, "ModifiedBy", "code", &c->keep, &code);
	if (!rc)
		rc = attr(c, "all", &c->tmp, true, &all);
	if (rc)
		return rc;
	if (n->n_modby >= CLAML_MAX_PER_CLASS || c->n_modbys >= CLAML_MAX_ITEMS)
		return fail(c, MS_ETOOBIG, cur_line(c), "too many ModifiedBy in class '%s'",
		            n->code);
	if (MS_GROW(c->modbys, c->cap_modbys, c->n_modbys + 1))
		return oom(c);
	m = &c->modbys[c->n_modbys];
	m->code = code;
	m->modifier = CLAML_NONE;
	m->valid_off = (uint32_t)c->n_valids;
	m->n_valid = 0;
	m->all = !(all && strcmp(all, "false") == 0);
	m->line = cur_line(c);
	c->cur_modby = (uint32_t)c->n_modbys++;
	n->n_modby++;
	c->sub = SUB_MODBY;
	return 0;
}

static int node_valid(struct claml *c)
{
	struct claml_modby *m = &c->modbys[c->cur_modby];
	const char *code;
	int rc = attr_req(c, "ValidModifierClass", "code", &c->keep, &code);

	if (rc)
		return rc;
	if (m->n_valid >= CLAML_MAX_VALID || c->n_valids >= CLAML_MAX_ITEMS)
		return fail(c, MS_ETOOBIG, cur_line(c), "too many ValidModifierClass in class '%s'",
		            c->nodes[c->cur].code);
	if (MS_GROW(c->valids, c->cap_valids, c->n_valids + 1))
		return oom(c);
	c->valids[c->n_valids++] = code;
	m->n_valid++;
	return 0;
}

static int node_exclude(struct claml *c)
{
	struct claml_node *n = &c->nodes[c->cur];
	const char *code;
	int rc = attr_req(c, "ExcludeModifier", "code", &c->keep, &code);

	if (rc)
		return rc;
	if (n->n_excl >= CLAML_MAX_PER_CLASS || c->n_excls >= CLAML_MAX_ITEMS)
		return fail(c, MS_ETOOBIG, cur_line(c), "too many ExcludeModifier in class '%s'",
		            n->code);
	if (MS_GROW(c->excls, c->cap_excls, c->n_excls + 1))
		return oom(c);
	c->excls[c->n_excls++] = code;
	n->n_excl++;
	return 0;
}

static int node_child_begin(struct claml *c, const char *name, bool *skip)
{
	struct claml_node *n = &c->nodes[c->cur];

	if (strcmp(name, "SuperClass") == 0) {
		*skip = true;
		return n->super ? 0 : attr(c, "code", &c->keep, true, &n->super);
	}
	if (strcmp(name, "ModifiedBy") == 0)
		return node_modby(c);
	*skip = true;
	if (strcmp(name, "ExcludeModifier") == 0)
		return node_exclude(c);
	if (strcmp(name, "Rubric") == 0) {
		const char *kind;

		/* checked here too, so that a bad file never reaches the sink */
		return attr_req(c, "Rubric", "kind", &c->tmp, &kind);
	}
	return 0;
}

/* Links modifier classes, parents and ModifiedBy once the whole file is known. */
static int finish_scan(struct claml *c)
{
	size_t i, k;
	uint32_t m = 0, p = 0;
	int rc;

	for (i = 0; i < c->n_mcs; i++) {
		rc = modifier_add(c, c->mcs[i].modifier, &m);
		if (rc)
			return rc;
		if (c->mods[m].n_classes >= CLAML_MAX_MOD_CLASSES)
			return fail(c, MS_ETOOBIG, 0, "modifier '%s' has more than %u classes",
			            c->mods[m].code, CLAML_MAX_MOD_CLASSES);
		if (c->mods[m].last == CLAML_NONE)
			c->mods[m].first = (uint32_t)i;
		else
			c->mcs[c->mods[m].last].next = (uint32_t)i;
		c->mods[m].last = (uint32_t)i;
		c->mods[m].n_classes++;
	}
	for (i = 0; i < c->n_nodes; i++) {
		struct claml_node *n = &c->nodes[i];

		if (n->super && map_find(&c->node_map, n->super, strlen(n->super), &p) && p != i) {
			n->parent = p;
			c->nodes[p].n_children++;
		}
		for (k = n->modby_off; k < (size_t)n->modby_off + n->n_modby; k++) {
			struct claml_modby *mb = &c->modbys[k];

			if (!map_find(&c->mod_map, mb->code, strlen(mb->code), &mb->modifier))
				return fail(c, MS_EINVAL, mb->line,
				            "class '%s' is modified by unknown modifier '%s'",
				            n->code, mb->code);
		}
	}
	return 0;
}

/* ---- pass 2: classes and the codes their modifiers create ----------------- */

static int sink_entry(struct claml *c, const struct catalog_entry *e)
{
	int rc;

	if (!c->sink || !c->sink->entry)
		return 0;
	rc = c->sink->entry(c->sink->payload, e, c->err);
	if (rc && c->err && c->err->code) {
		ms_error_set_path(c->err, c->name);
		ms_error_set_line(c->err, e->line);
	}
	return rc;
}

static bool code_taken(const struct claml *c, const char *code, size_t len)
{
	uint32_t v;

	return map_find(&c->node_map, code, len, &v) || map_find(&c->gen_map, code, len, &v);
}

static bool str_in(const char *const *list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(list[i], s) == 0)
			return true;
	}
	return false;
}

/* Whether modifier class mc applies at level lv after chain[0..lv). */
static bool mc_applies(const struct claml *c, size_t lv, uint32_t mc_idx)
{
	const struct claml_modby *mb = &c->modbys[c->eff[lv]];
	const struct claml_mclass *mc = &c->mcs[mc_idx];
	size_t i, j;

	if (mb->n_valid) {
		if (!str_in(c->valids + mb->valid_off, mb->n_valid, mc->code))
			return false;
	} else if (!mb->all) {
		return false;
	}
	for (i = 0; i < mc->n_excl; i++) {
		for (j = 0; j < lv; j++) {
			const struct claml_mclass *prev = &c->mcs[c->chain[j]];

			if (strcmp(mc->excl[i].modifier, prev->modifier) == 0 &&
			    strcmp(mc->excl[i].code, prev->code) == 0)
				return false;
		}
	}
	return true;
}

/* Counts the codes level lv would create below pcode. */
static int count_children(struct claml *c, size_t lv, const char *pcode, size_t *n_out)
{
	const struct claml_modifier *m = &c->mods[c->modbys[c->eff[lv]].modifier];
	uint32_t i;
	int rc;

	*n_out = 0;
	for (i = m->first; i != CLAML_NONE; i = c->mcs[i].next) {
		if (!mc_applies(c, lv, i))
			continue;
		ms_buf_reset(&c->probe);
		ms_buf_adds(&c->probe, pcode);
		ms_buf_adds(&c->probe, c->mcs[i].code);
		rc = ms_buf_status(&c->probe);
		if (rc)
			return buf_fail(c, rc);
		if (!code_taken(c, c->probe.buf, c->probe.len))
			(*n_out)++;
	}
	return 0;
}

/* Stores idx and its ancestors in path (idx first); stops at a cycle. */
static size_t super_path(const struct claml *c, uint32_t idx, uint32_t path[CLAML_MAX_DEPTH])
{
	size_t depth = 0, k;
	uint32_t u;

	for (u = idx; u != CLAML_NONE && depth < CLAML_MAX_DEPTH; u = c->nodes[u].parent) {
		for (k = 0; k < depth && path[k] != u; k++)
			;
		if (k < depth)
			break;
		path[depth++] = u;
	}
	return depth;
}

/*
 * Collects the modifiers that apply to leaf node idx into eff[], outermost
 * ancestor first: a ModifiedBy counts unless the node or an ancestor below
 * the declaring class excludes its code, or a class nearer to the node
 * declares the same code.
 */
static int effective_modifiers(struct claml *c, uint32_t idx)
{
	uint32_t path[CLAML_MAX_DEPTH], pick[CLAML_MAX_CHAIN] = { 0 };
	size_t pick_lv[CLAML_MAX_CHAIN] = { 0 };
	size_t depth, n_pick = 0, n_seen = 0, lv, k;

	c->n_eff = 0;
	depth = super_path(c, idx, path);
	for (lv = 0; lv < depth; lv++) {
		const struct claml_node *n = &c->nodes[path[lv]];

		if (MS_GROW(c->seen_excl, c->cap_seen_excl, n_seen + n->n_excl + 1))
			return oom(c);
		for (k = 0; k < n->n_excl; k++)
			c->seen_excl[n_seen++] = c->excls[n->excl_off + k];
		for (k = n->modby_off; k < (size_t)n->modby_off + n->n_modby; k++) {
			const char *code = c->modbys[k].code;
			size_t j;
			bool dup = false;

			if (str_in(c->seen_excl, n_seen, code))
				continue;
			for (j = 0; j < n_pick && !dup; j++)
				dup = strcmp(c->modbys[pick[j]].code, code) == 0;
			if (dup)
				continue;
			if (n_pick == CLAML_MAX_CHAIN)
				return fail(c, MS_ETOOBIG, c->item.line,
				            "class '%s' has more than %u modifiers",
				            c->nodes[idx].code, CLAML_MAX_CHAIN);
			pick[n_pick] = (uint32_t)k;
			pick_lv[n_pick++] = lv;
		}
	}
	for (lv = depth; lv-- > 0;) {
		for (k = 0; k < n_pick; k++) {
			if (pick_lv[k] == lv)
				c->eff[c->n_eff++] = pick[k];
		}
	}
	return 0;
}

/* out = NFC(a + ": " + b), or a when b is empty. */
static int join_label(struct claml *c, struct ms_buf *out, const char *a, const char *b)
{
	int rc;

	ms_buf_reset(&c->scratch);
	ms_buf_adds(&c->scratch, a);
	if (*b) {
		ms_buf_adds(&c->scratch, ": ");
		ms_buf_adds(&c->scratch, b);
	}
	rc = ms_buf_status(&c->scratch);
	if (rc)
		return buf_fail(c, rc);
	ms_buf_reset(out);
	rc = ms_nfc_append(out, c->scratch.buf, c->scratch.len, c->err);
	if (rc)
		return fail(c, rc, c->item.line, "cannot normalise text");
	return 0;
}

struct claml_gen {
	const char *code;
	const char *parent;
	const char *label;
	const char *label_long; /* NULL if none */
	const char *usage;
	bool terminal;
};

static int emit_generated(struct claml *c, size_t lv, const struct claml_gen *g)
{
	const struct claml_mclass *mc = &c->mcs[c->chain[lv]];
	const struct claml_item *it = &c->item;
	struct catalog_entry e;
	size_t i, j, n_rub = 0, n_meta = 0, need_meta = it->n_meta;

	for (j = 0; j <= lv; j++)
		need_meta += c->mcs[c->chain[j]].n_meta;
	if (MS_GROW(c->grub, c->cap_grub, mc->n_rubrics + 2) ||
	    MS_GROW(c->gmeta, c->cap_gmeta, need_meta + 1))
		return oom(c);
	memset(&c->grub[n_rub], 0, sizeof(c->grub[0]));
	c->grub[n_rub].kind = "preferred";
	c->grub[n_rub++].text = g->label;
	if (g->label_long) {
		memset(&c->grub[n_rub], 0, sizeof(c->grub[0]));
		c->grub[n_rub].kind = "preferredLong";
		c->grub[n_rub++].text = g->label_long;
	}
	for (i = 0; i < mc->n_rubrics; i++) {
		if (strcmp(mc->rubrics[i].kind, "preferred") != 0 &&
		    strcmp(mc->rubrics[i].kind, "preferredLong") != 0)
			c->grub[n_rub++] = mc->rubrics[i];
	}
	for (i = 0; i < it->n_meta; i++)
		c->gmeta[n_meta++] = it->meta[i];
	for (j = 0; j <= lv; j++) {
		const struct claml_mclass *m = &c->mcs[c->chain[j]];

		for (i = 0; i < m->n_meta; i++)
			c->gmeta[n_meta++] = m->meta[i];
	}
	memset(&e, 0, sizeof(e));
	e.code = g->code;
	e.kind = it->kind;
	e.parent = g->parent;
	e.usage = g->usage;
	e.label = g->label;
	e.flags = CATALOG_ENTRY_MODIFIED | (g->terminal ? CATALOG_ENTRY_TERMINAL : 0);
	e.rubrics = c->grub;
	e.n_rubrics = n_rub;
	e.meta = n_meta ? c->gmeta : NULL;
	e.n_meta = n_meta;
	e.line = it->line;
	return sink_entry(c, &e);
}

static int remember_generated(struct claml *c, const char *code, size_t len)
{
	const char *key;
	bool added;

	if (++c->n_generated > CLAML_MAX_GENERATED)
		return fail(c, MS_ETOOBIG, c->item.line,
		            "class '%s' creates more than %u codes through modifiers", c->item.code,
		            CLAML_MAX_GENERATED);
	key = ms_arena_strndup(&c->keep, code, len);
	if (!key || map_add(&c->gen_map, key, len, 0, &added))
		return oom(c);
	return 0;
}

/*
 * Fills g for modifier class mc applied at level lv below parent: code (in
 * codes[lv]), labels (in labels[lv], longs[lv]), usage and whether it gets
 * children. *taken_out is set when the code exists already.
 */
static int gen_prepare(struct claml *c, size_t lv, const struct claml_gen *parent, uint32_t i,
                       struct claml_gen *g, bool *taken_out)
{
	const struct claml_mclass *mc = &c->mcs[i];
	struct ms_buf *code = &c->codes[lv];
	size_t n_kids = 0;
	int rc;

	*taken_out = false;
	g->code = g->label = "";
	g->parent = parent->code;
	g->label_long = g->usage = NULL;
	g->terminal = true;
	ms_buf_reset(code);
	ms_buf_adds(code, parent->code);
	ms_buf_adds(code, mc->code);
	rc = ms_buf_status(code);
	if (rc)
		return buf_fail(c, rc);
	*taken_out = code_taken(c, code->buf, code->len);
	if (*taken_out)
		return 0;
	c->chain[lv] = i;
	if (lv + 1 < c->n_eff) {
		rc = count_children(c, lv + 1, code->buf, &n_kids);
		if (rc)
			return rc;
	}
	rc = join_label(c, &c->labels[lv], parent->label, mc->label);
	if (rc)
		return rc;
	g->label_long = NULL;
	if (parent->label_long || mc->label_long) {
		rc = join_label(c, &c->longs[lv],
		                parent->label_long ? parent->label_long : parent->label,
		                mc->label_long ? mc->label_long : mc->label);
		if (rc)
			return rc;
		g->label_long = c->longs[lv].buf;
	}
	g->code = code->buf;
	g->parent = parent->code;
	g->label = c->labels[lv].buf;
	g->usage = mc->usage ? mc->usage : parent->usage;
	g->terminal = n_kids == 0;
	return 0;
}

/*
 * Creates the codes of level lv below parent, depth first, so that every
 * code follows its parent.
 */
static int expand(struct claml *c, size_t lv, const struct claml_gen *parent)
{
	const struct claml_modifier *m = &c->mods[c->modbys[c->eff[lv]].modifier];
	struct claml_gen g;
	bool taken;
	uint32_t i;
	int rc;

	for (i = m->first; i != CLAML_NONE; i = c->mcs[i].next) {
		if (!mc_applies(c, lv, i))
			continue;
		rc = gen_prepare(c, lv, parent, i, &g, &taken);
		if (rc)
			return rc;
		if (taken)
			continue;
		rc = emit_generated(c, lv, &g);
		if (!rc)
			rc = remember_generated(c, g.code, strlen(g.code));
		if (!rc && !g.terminal)
			rc = expand(c, lv + 1, &g);
		if (rc)
			return rc;
	}
	return 0;
}

static int class_emit(struct claml *c)
{
	struct claml_item *it = &c->item;
	struct catalog_entry e;
	struct claml_gen base;
	size_t n_first = 0;
	uint32_t idx;
	int rc;

	if (!map_find(&c->node_map, it->code, strlen(it->code), &idx))
		return fail(c, MS_EINVAL, it->line,
		            "class '%s' appeared while reading: file changed", it->code);
	item_fix_refs(it);
	c->n_eff = 0;
	if (!c->nodes[idx].n_children) {
		rc = effective_modifiers(c, idx);
		if (!rc && c->n_eff)
			rc = count_children(c, 0, it->code, &n_first);
		if (rc)
			return rc;
	}
	memset(&e, 0, sizeof(e));
	e.code = it->code;
	e.kind = it->kind;
	e.parent = it->super;
	e.usage = it->usage;
	e.label = item_rubric_text(it, "preferred");
	if (!e.label)
		e.label = "";
	/* a class the file gives subclasses is no leaf, even in an excerpt
	 * that leaves them out (modifier inheritance still follows the classes
	 * actually present) */
	e.flags = (!c->nodes[idx].n_children && !n_first && !it->n_subclasses)
	                  ? CATALOG_ENTRY_TERMINAL
	                  : 0;
	e.rubrics = it->n_rubrics ? it->rubrics : NULL;
	e.n_rubrics = it->n_rubrics;
	e.meta = it->n_meta ? it->meta : NULL;
	e.n_meta = it->n_meta;
	e.line = it->line;
	rc = sink_entry(c, &e);
	if (rc || !n_first)
		return rc;
	c->n_generated = 0;
	base.code = it->code;
	base.parent = it->super;
	base.label = e.label;
	base.label_long = item_rubric_text(it, "preferredLong");
	base.usage = it->usage;
	base.terminal = false;
	return expand(c, 0, &base);
}

static int class_begin(struct claml *c)
{
	struct claml_item *it = &c->item;
	int rc;

	ms_arena_reset(&c->tmp);
	item_reset(c, &c->tmp);
	rc = attr_req(c, "Class", "code", &c->tmp, &it->code);
	if (!rc)
		rc = attr_req(c, "Class", "kind", &c->tmp, &it->kind);
	if (!rc)
		rc = attr(c, "usage", &c->tmp, true, &it->usage);
	c->top = TOP_CLASS;
	return rc;
}

static int class_child_begin(struct claml *c, const char *name, bool *skip)
{
	if (strcmp(name, "Rubric") == 0)
		return rubric_begin(c);
	*skip = true;
	if (strcmp(name, "Meta") == 0)
		return meta_add(c);
	if (strcmp(name, "SuperClass") == 0 && !c->item.super && c->top == TOP_CLASS)
		return attr(c, "code", c->ia, true, &c->item.super);
	if (strcmp(name, "SubClass") == 0)
		c->item.n_subclasses++;
	return 0;
}

/* ---- event dispatch --------------------------------------------------------- */

static int root_begin(struct claml *c, const char *name)
{
	if (strcmp(name, "ClaML") != 0)
		return fail(c, MS_EINVAL, cur_line(c), "root element '%.64s' is not ClaML", name);
	c->seen_root = true;
	return 0;
}

static int top_begin(struct claml *c, const char *name, bool *skip)
{
	bool pass1 = c->pass == 1;

	if (strcmp(name, "Class") == 0)
		return pass1 ? node_begin(c) : class_begin(c);
	*skip = true;
	if (!pass1)
		return 0;
	if (strcmp(name, "ModifierClass") == 0) {
		*skip = false;
		return mclass_begin(c);
	}
	if (strcmp(name, "Title") == 0) {
		*skip = false;
		return title_begin(c, skip);
	}
	if (strcmp(name, "Meta") == 0)
		return header_meta(c);
	if (strcmp(name, "Identifier") == 0 && !c->authority)
		return attr(c, "authority", &c->keep, true, &c->authority);
	if (strcmp(name, "Modifier") == 0)
		return modifier_begin(c);
	return 0;
}

static int sub_begin(struct claml *c, const char *name, bool *skip)
{
	if (c->top == TOP_CLASS && c->pass == 1)
		return node_child_begin(c, name, skip);
	if (c->top == TOP_CLASS || c->top == TOP_MCLASS)
		return class_child_begin(c, name, skip);
	*skip = true;
	return 0;
}

static int leaf_begin(struct claml *c, const char *name, bool *skip)
{
	if (c->sub == SUB_RUBRIC && strcmp(name, "Label") == 0)
		return label_begin(c, skip);
	*skip = true;
	if (c->sub == SUB_MODBY && strcmp(name, "ValidModifierClass") == 0)
		return node_valid(c);
	return 0;
}

static int on_begin(struct claml *c, const char *name, int depth, bool *skip)
{
	*skip = false;
	if (c->in_label)
		return label_child_start(c, name, depth, skip);
	switch (depth) {
	case 0:
		return root_begin(c, name);
	case 1:
		return top_begin(c, name, skip);
	case 2:
		return sub_begin(c, name, skip);
	case 3:
		return leaf_begin(c, name, skip);
	default:
		*skip = true;
		return 0;
	}
}

static int top_end(struct claml *c)
{
	enum claml_top top = c->top;

	c->top = TOP_NONE;
	switch (top) {
	case TOP_TITLE:
		return 0;
	case TOP_CLASS:
		if (c->pass == 1)
			return node_end(c);
		return class_emit(c);
	case TOP_MCLASS:
		return mclass_end(c);
	case TOP_NONE:
	default:
		return 0;
	}
}

static int on_end(struct claml *c, const char *name, int depth)
{
	if (c->in_label)
		return depth == 3 ? label_end(c) : label_child_end(c, name, depth);
	if (depth == 1)
		return top_end(c);
	if (depth == 2 && c->sub == SUB_RUBRIC)
		return rubric_end(c);
	if (depth == 2)
		c->sub = SUB_NONE;
	return 0;
}

static int on_node(struct claml *c, bool *skip)
{
	int type = xmlTextReaderNodeType(c->xr);
	int depth = xmlTextReaderDepth(c->xr);
	const char *name;
	int rc = 0;

	*skip = false;
	switch (type) {
	case XML_READER_TYPE_ELEMENT:
		name = (const char *)xmlTextReaderConstName(c->xr);
		if (!name)
			return oom(c);
		rc = on_begin(c, name, depth, skip);
		if (!rc && !*skip && xmlTextReaderIsEmptyElement(c->xr) == 1)
			rc = on_end(c, name, depth);
		break;
	case XML_READER_TYPE_END_ELEMENT:
		name = (const char *)xmlTextReaderConstName(c->xr);
		rc = on_end(c, name ? name : "", depth);
		break;
	case XML_READER_TYPE_TEXT:
	case XML_READER_TYPE_CDATA:
	case XML_READER_TYPE_WHITESPACE:
	case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
		on_text(c, depth);
		break;
	default:
		break; /* comments, PIs, DOCTYPE, entity references */
	}
	return rc;
}

static int run_pass(struct claml *c, int pass)
{
	bool skip;
	int ret, rc = 0;

	c->pass = pass;
	c->top = TOP_NONE;
	c->sub = SUB_NONE;
	c->in_label = false;
	c->ref_depth = -1;
	c->xml_failed = c->xml_fatal = false;
	c->xml_msg[0] = '\0';
	c->xml_line = 0;
	c->xml_code = c->xml_domain = 0;
	if (c->path)
		c->xr = xmlReaderForFile(c->path, NULL, CLAML_XML_OPTS);
	else
		c->xr = xmlReaderForMemory(c->data, (int)c->len, NULL, NULL, CLAML_XML_OPTS);
	if (!c->xr)
		return c->path ? fail(c, MS_EIO, 0, "cannot open for reading") : oom(c);
	xmlTextReaderSetStructuredErrorHandler(c->xr, on_xml_error, c);
	ret = xmlTextReaderRead(c->xr);
	while (ret == 1) {
		rc = on_node(c, &skip);
		if (rc)
			goto out;
		ret = skip ? xmlTextReaderNext(c->xr) : xmlTextReaderRead(c->xr);
	}
	if (ret < 0 || c->xml_fatal) {
		rc = xml_fail(c);
		goto out;
	}
	if (!c->seen_root)
		rc = fail(c, MS_EINVAL, 1, "no root element");
out:
	xmlFreeTextReader(c->xr);
	c->xr = NULL;
	return rc;
}

/* ---- catalogue info ------------------------------------------------------- */

static bool is_year(const char *s, size_t len)
{
	size_t i;

	if (len != 4 || (s[0] != '1' && s[0] != '2'))
		return false;
	for (i = 0; i < 4; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

/* Finds a year (4 digits, 1xxx or 2xxx, not part of a longer number). */
static bool find_year(const char *s, bool last, char out[5])
{
	size_t i, n = s ? strlen(s) : 0;
	bool found = false;

	for (i = 0; i + 4 <= n; i++) {
		if ((i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9') ||
		    (i + 4 < n && s[i + 4] >= '0' && s[i + 4] <= '9') || !is_year(s + i, 4))
			continue;
		memcpy(out, s + i, 4);
		out[4] = '\0';
		found = true;
		if (!last)
			break;
	}
	return found;
}

static int derive_system(struct claml *c, const char **out)
{
	const char *name = c->title_name;
	const char *auth = c->authority ? c->authority : "";
	const char *ver = c->title_version ? c->title_version : "";

	if (c->opts && c->opts->system) {
		*out = c->opts->system;
		return 0;
	}
	if (!name || !*name)
		return fail(c, MS_EINVAL, 0,
		            "no Title name: cannot tell which catalogue this is (give the system)");
	if (contains_ci(name, "ICD-O")) {
		*out = CATALOG_SYSTEM_ICDO3;
		return 0;
	}
	if (starts_with_ci(name, "OPS")) {
		*out = CATALOG_SYSTEM_OPS;
		return 0;
	}
	if (starts_with_ci(name, "ICD-10") &&
	    (starts_with_ci(auth, "BfArM") || starts_with_ci(auth, "DIMDI") ||
	     is_year(ver, strlen(ver)) || contains_ci(name, "GM"))) {
		*out = CATALOG_SYSTEM_ICD10GM;
		return 0;
	}
	return fail(c, MS_EINVAL, 0,
	            "catalogue '%.64s' (authority '%.32s') is not ICD-10-GM, OPS or ICD-O-3", name,
	            auth);
}

static int derive_version(struct claml *c)
{
	const char *v = c->title_version;
	char year[5];

	if (c->opts && c->opts->version) {
		if (strlen(c->opts->version) >= sizeof(c->version))
			return fail(c, MS_EUSAGE, 0, "version '%.32s...' is too long",
			            c->opts->version);
		memcpy(c->version, c->opts->version, strlen(c->opts->version) + 1);
		return 0;
	}
	if (v && is_year(v, strlen(v))) {
		memcpy(c->version, v, 5);
		return 0;
	}
	if (find_year(c->title_long, true, year) || find_year(c->title_date, false, year) ||
	    find_year(ms_basename(c->name), false, year)) {
		memcpy(c->version, year, 5);
		return 0;
	}
	return fail(c, MS_EINVAL, 0,
	            "cannot tell the catalogue version (no year in Title, titleLong, date or file "
	            "name)");
}

static bool is_iso_date(const char *s)
{
	size_t i;

	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	}
	return true;
}

static int derive_info(struct claml *c, struct catalog_info *info)
{
	const char *title = NULL;
	int rc;

	memset(info, 0, sizeof(*info));
	rc = derive_system(c, &info->system);
	if (!rc)
		rc = derive_version(c);
	if (rc)
		return rc;
	rc = ms_buf_status(&c->title.buf);
	if (rc)
		return buf_fail(c, rc);
	if (c->title.buf.len) {
		rc = dup_nfc(c, &c->keep, c->title.buf.buf, c->title.buf.len, &title);
		if (rc)
			return rc;
	}
	info->version = c->version;
	info->part = CATALOG_PART_CLASSIFICATION;
	info->title = title;
	info->date = is_iso_date(c->title_date) ? c->title_date : NULL;
	info->format = "claml";
	info->lang = c->lang ? c->lang : "de";
	return 0;
}

/* ---- entry points ----------------------------------------------------------- */

struct claml_xml_handlers {
	xmlStructuredErrorFunc serror;
	void *serror_ctx;
	xmlGenericErrorFunc generic;
	void *generic_ctx;
};

/* libxml2 reports errors without a parser context (encoding, I/O) through
 * its thread-local handlers, which print by default: route them to us. */
static void handlers_push(struct claml_xml_handlers *saved, void *ctx, xmlStructuredErrorFunc fn)
{
	saved->serror = xmlStructuredError;
	saved->serror_ctx = xmlStructuredErrorContext;
	saved->generic = xmlGenericError;
	saved->generic_ctx = xmlGenericErrorContext;
	xmlSetStructuredErrorFunc(ctx, fn);
	xmlSetGenericErrorFunc(NULL, xml_quiet);
}

static void handlers_pop(const struct claml_xml_handlers *saved)
{
	xmlSetStructuredErrorFunc(saved->serror_ctx, saved->serror);
	xmlSetGenericErrorFunc(saved->generic_ctx, saved->generic);
}

static int claml_run(struct claml *c)
{
	struct claml_xml_handlers saved;
	struct catalog_info info;
	int rc;

	handlers_push(&saved, c, on_xml_error);
	rc = run_pass(c, 1);
	if (!rc)
		rc = finish_scan(c);
	if (rc || !c->sink)
		goto out;
	rc = derive_info(c, &info);
	if (rc)
		goto out;
	if (c->sink->begin) {
		rc = c->sink->begin(c->sink->payload, &info, c->err);
		if (rc)
			goto out;
	}
	rc = run_pass(c, 2);
out:
	handlers_pop(&saved);
	return rc;
}

static const struct catalog_read_opts claml_no_opts = { NULL, NULL };

int catalog_claml_read_mem(const char *data, size_t len, const char *name,
                           const struct catalog_read_opts *opts, const struct catalog_sink *sink,
                           struct ms_error *err)
{
	struct claml c;
	int rc;

	claml_init(&c, name ? name : "<memory>", opts ? opts : &claml_no_opts, sink, err);
	if (!len) {
		rc = fail(&c, MS_EINVAL, 1, "file is empty");
		goto out;
	}
	if (len > (size_t)INT_MAX) {
		rc = fail(&c, MS_ETOOBIG, 0, "%zu bytes are more than the XML parser takes", len);
		goto out;
	}
	c.data = data;
	c.len = len;
	rc = claml_run(&c);
out:
	claml_release(&c);
	return rc;
}

/* stdin and pipes cannot be read twice: read them into memory (capped). */
static int read_stream(const char *path, const struct catalog_read_opts *opts,
                       const struct catalog_sink *sink, struct ms_error *err)
{
	struct ms_buf b = MS_BUF_INIT;
	int rc;

	rc = ms_file_read(&b, path, CLAML_MAX_STREAM, err);
	if (!rc)
		rc = catalog_claml_read_mem(b.buf, b.len, strcmp(path, "-") == 0 ? "<stdin>" : path,
		                            opts, sink, err);
	ms_buf_release(&b);
	return rc;
}

/* Opens path once, so that problems come with errno and libxml2 stays quiet. */
static int check_file(const char *path, struct stat *st, struct ms_error *err)
{
	FILE *f = fopen(path, "rb");

	if (!f || fstat(fileno(f), st) != 0) {
		ms_error_set_path(err, path);
		ms_error_set(err, MS_EIO, "cannot open: %s", strerror(errno));
		if (f)
			fclose(f);
		return MS_EIO;
	}
	fclose(f);
	if (S_ISDIR(st->st_mode)) {
		ms_error_set_path(err, path);
		return ms_error_set(err, MS_EIO, "cannot read: is a directory");
	}
	return 0;
}

int catalog_claml_read(const char *path, const struct catalog_read_opts *opts,
                       const struct catalog_sink *sink, struct ms_error *err)
{
	struct claml c;
	struct stat st;
	int rc;

	if (strcmp(path, "-") == 0)
		return read_stream(path, opts, sink, err);
	rc = check_file(path, &st, err);
	if (rc)
		return rc;
	if (!S_ISREG(st.st_mode))
		return read_stream(path, opts, sink, err);
	claml_init(&c, path, opts ? opts : &claml_no_opts, sink, err);
	if (st.st_size == 0) {
		rc = fail(&c, MS_EINVAL, 1, "file is empty");
		goto out;
	}
	c.path = path;
	rc = claml_run(&c);
out:
	claml_release(&c);
	return rc;
}

/* ---- DTD check ------------------------------------------------------------- */

struct claml_check {
	catalog_problem_cb cb;
	void *payload;
	size_t n_problems;
	char first[160]; /* first error while loading the DTD */
};

static void on_check_problem(void *arg, CLAML_XML_ERROR *e)
{
	struct claml_check *k = arg;
	char msg[512];
	size_t n, line = 0;
	long l;

	if (!k || !e || e->level < XML_ERR_ERROR)
		return;
	n = e->message ? strlen(e->message) : 0;
	if (n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (n)
		memcpy(msg, e->message, n);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		n--;
	msg[n] = '\0';
	if (e->node && ((xmlNodePtr)e->node)->type == XML_ELEMENT_NODE) {
		l = xmlGetLineNo((xmlNodePtr)e->node);
		line = l > 0 ? (size_t)l : 0;
	}
	if (!line && e->line > 0)
		line = (size_t)e->line;
	k->n_problems++;
	if (k->cb)
		k->cb(k->payload, line, msg);
}

static void on_dtd_error(void *arg, CLAML_XML_ERROR *e)
{
	struct claml_check *k = arg;

	if (k && e && e->level >= XML_ERR_ERROR && !k->first[0])
		copy_xml_message(k->first, sizeof(k->first), e->message);
}

/* The structural rules the reader relies on beyond the DTD (pass 1). */
static void check_structure(struct claml_check *k, const char *path)
{
	struct ms_error e = MS_ERROR_INIT;
	struct claml c;

	claml_init(&c, path, &claml_no_opts, NULL, &e);
	c.path = path;
	if (run_pass(&c, 1) == 0)
		(void)finish_scan(&c);
	claml_release(&c);
	if (e.code) {
		k->n_problems++;
		if (k->cb)
			k->cb(k->payload, e.line, e.msg);
	}
}

int catalog_claml_check(const char *path, const char *dtd_path, catalog_problem_cb cb,
                        void *payload, size_t *n_problems_out, struct ms_error *err)
{
	struct claml_check k;
	struct claml_xml_handlers saved;
	xmlDtdPtr dtd = NULL;
	xmlParserCtxtPtr pctxt = NULL;
	xmlDocPtr doc = NULL;
	xmlValidCtxtPtr vctxt = NULL;
	struct stat st;
	int rc;

	memset(&k, 0, sizeof(k));
	k.cb = cb;
	k.payload = payload;
	if (n_problems_out)
		*n_problems_out = 0;
	rc = dtd_path ? check_file(dtd_path, &st, err) : 0;
	if (!rc)
		rc = check_file(path, &st, err);
	if (rc)
		return rc;
	handlers_push(&saved, &k, on_dtd_error);
	if (dtd_path) {
		dtd = xmlParseDTD(NULL, (const xmlChar *)dtd_path);
	} else {
		/* the bundled DTD; xmlIOParseDTD takes ownership of the buffer */
		xmlParserInputBufferPtr in = xmlParserInputBufferCreateMem(
		        claml_dtd, (int)sizeof(claml_dtd) - 1, XML_CHAR_ENCODING_UTF8);

		dtd = in ? xmlIOParseDTD(NULL, in, XML_CHAR_ENCODING_UTF8) : NULL;
	}
	if (!dtd) {
		ms_error_set_path(err, dtd_path ? dtd_path : "schemas/ClaML.dtd");
		rc = ms_error_set(err, MS_EINVAL, "cannot load the DTD: %s",
		                  k.first[0] ? k.first : "parser error");
		goto out;
	}
	xmlSetStructuredErrorFunc(&k, on_check_problem);
	pctxt = xmlNewParserCtxt();
	vctxt = xmlNewValidCtxt();
	if (!pctxt || !vctxt) {
		rc = ms_error_set(err, MS_ENOMEM, "out of memory");
		goto out;
	}
	doc = xmlCtxtReadFile(pctxt, path, NULL, CLAML_XML_OPTS);
	if (doc) {
		(void)xmlValidateDtd(vctxt, doc, dtd);
		check_structure(&k, path);
	} else if (!k.n_problems) {
		k.n_problems++;
		if (cb)
			cb(payload, 1, "cannot parse the file");
	}
	if (k.n_problems) {
		ms_error_set_path(err, path);
		rc = ms_error_set(err, MS_EINVAL, "%zu problem%s found", k.n_problems,
		                  k.n_problems == 1 ? "" : "s");
	}
out:
	handlers_pop(&saved);
	xmlFreeDoc(doc);
	xmlFreeValidCtxt(vctxt);
	xmlFreeParserCtxt(pctxt);
	xmlFreeDtd(dtd);
	if (n_problems_out)
		*n_problems_out = k.n_problems;
	return rc;
}
