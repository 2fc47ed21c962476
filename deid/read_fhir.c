/* SPDX-License-Identifier: MIT */
/*
 * FHIR reader: DiagnosticReport resources (R4 and STU3 shapes) from a single
 * resource, a Bundle or NDJSON, parsed with jansson. Within a Bundle the
 * resources a report references (Patient, Practitioner, Organization,
 * Encounter, ServiceRequest) are found through an index built once per
 * Bundle, so large Bundles do not cost quadratic time. The text precedence
 * and field mapping are documented in deid/deid.h. Includes the small
 * XHTML-to-text converter and base64 decoder that presentedForm and the
 * narrative need (nothing else in the module uses them).
 */
#include "deid/deid.h"

#include <string.h>

#include "common/alloc.h"
#include "deid/read_int.h"

#define FHIR_SNIFF_BYTES ((size_t)64 * 1024)

struct fhir_state {
	bool mode_known, ndjson, whole_done;
	struct ms_buf buf; /* one line or the whole input */
	size_t line_no;
	json_t *root;    /* current value: a report or a Bundle */
	json_t *index;   /* Bundle: "fullUrl" and "Type/id" -> resource */
	size_t entry;    /* next Bundle entry to look at */
	bool root_taken; /* single report already returned */
	size_t root_line;
	struct ms_buf text, bin, dec, key;
};

struct fhir_ctx {
	struct deid_reader *r;
	struct fhir_state *st;
	const json_t *dr;
	struct ms_error *err;
};

/* Field kinds for one kind of person. */
struct person_kinds {
	enum deid_field_kind id, name, family, given;
};

static const struct person_kinds patient_kinds = { DEID_FIELD_PATIENT_ID, DEID_FIELD_PATIENT_NAME,
	                                           DEID_FIELD_PATIENT_FAMILY,
	                                           DEID_FIELD_PATIENT_GIVEN };
static const struct person_kinds referrer_kinds = { DEID_FIELD_REFERRER_ID,
	                                            DEID_FIELD_REFERRER_NAME,
	                                            DEID_FIELD_REFERRER_FAMILY,
	                                            DEID_FIELD_REFERRER_GIVEN };
static const struct person_kinds performer_kinds = { DEID_FIELD_PERFORMER_ID,
	                                             DEID_FIELD_PERFORMER_NAME,
	                                             DEID_FIELD_PERFORMER_FAMILY,
	                                             DEID_FIELD_PERFORMER_GIVEN };

static void drop_root(struct fhir_state *st)
{
	json_decref(st->index);
	json_decref(st->root);
	st->index = NULL;
	st->root = NULL;
}

static void fhir_free(struct deid_reader *r)
{
	struct fhir_state *st = r->state;

	if (!st)
		return;
	drop_root(st);
	ms_buf_release(&st->buf);
	ms_buf_release(&st->text);
	ms_buf_release(&st->bin);
	ms_buf_release(&st->dec);
	ms_buf_release(&st->key);
	ms_free(st);
	r->state = NULL;
}

/* ---- small JSON helpers ------------------------------------------------ */

static const char *jstr(const json_t *o, const char *key, size_t *len_out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return NULL;
	if (len_out)
		*len_out = json_string_length(v);
	return json_string_value(v);
}

static bool jstr_is(const json_t *o, const char *key, const char *want)
{
	const char *s = jstr(o, key, NULL);

	return s && strcmp(s, want) == 0;
}

/* Items of v when it is an array, or v itself when it is an object/string. */
static size_t n_items(const json_t *v)
{
	if (json_is_array(v))
		return json_array_size(v);
	return v && !json_is_null(v) ? 1 : 0;
}

static const json_t *item(const json_t *v, size_t i)
{
	return json_is_array(v) ? json_array_get(v, i) : v;
}

static int add_jstr(struct fhir_ctx *c, enum deid_field_kind kind, const json_t *v)
{
	int rc;

	if (!json_is_string(v))
		return 0;
	rc = deid_doc_add_field(c->r, kind, json_string_value(v), json_string_length(v), c->err);
	return rc;
}

/* ---- base64 and markup ------------------------------------------------- */

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decodes base64 (standard or URL alphabet, white space ignored); false if invalid. */
static bool base64_decode(struct ms_buf *out, const char *s, size_t len)
{
	unsigned acc = 0;
	int bits = 0, v;
	size_t i, n = 0;
	bool pad = false;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad = true;
			continue;
		}
		v = b64val(c);
		if (v < 0 || pad)
			return false;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		n++;
		if (bits >= 8) {
			bits -= 8;
			ms_buf_addch(out, (int)((acc >> bits) & 0xFF));
		}
	}
	return n % 4 != 1;
}

struct entity {
	const char *name;
	unsigned cp;
};

static const struct entity entities[] = {
	{ "amp", '&' },      { "lt", '<' },        { "gt", '>' },       { "quot", '"' },
	{ "apos", '\'' },    { "nbsp", ' ' },      { "auml", 0xE4 },    { "ouml", 0xF6 },
	{ "uuml", 0xFC },    { "Auml", 0xC4 },     { "Ouml", 0xD6 },    { "Uuml", 0xDC },
	{ "szlig", 0xDF },   { "eacute", 0xE9 },   { "egrave", 0xE8 },  { "agrave", 0xE0 },
	{ "ccedil", 0xE7 },  { "deg", 0xB0 },      { "plusmn", 0xB1 },  { "micro", 0xB5 },
	{ "times", 0xD7 },   { "middot", 0xB7 },   { "sup2", 0xB2 },    { "sup3", 0xB3 },
	{ "frac12", 0xBD },  { "laquo", 0xAB },    { "raquo", 0xBB },   { "ndash", 0x2013 },
	{ "mdash", 0x2014 }, { "hellip", 0x2026 }, { "bdquo", 0x201E }, { "ldquo", 0x201C },
	{ "rdquo", 0x201D }, { "lsquo", 0x2018 },  { "rsquo", 0x2019 }, { "euro", 0x20AC },
	{ "copy", 0xA9 },    { "reg", 0xAE },      { "sect", 0xA7 },    { "para", 0xB6 },
};

static int digit_val(int c, bool hex)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (hex && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (hex && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "#65" or "#x41" (s[0..n) between '&' and ';'); 0 if not a usable character. */
static unsigned numeric_entity(const char *s, size_t n)
{
	bool hex = n > 1 && (s[1] == 'x' || s[1] == 'X');
	size_t i = hex ? 2 : 1;
	unsigned v = 0;
	int d;

	if (i >= n)
		return 0;
	for (; i < n; i++) {
		d = digit_val((unsigned char)s[i], hex);
		if (d < 0)
			return 0;
		v = v * (hex ? 16 : 10) + (unsigned)d;
		if (v > 0x10FFFF)
			return 0;
	}
	if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	return v < 0x20 || (v >= 0x7F && v < 0xA0) ? ' ' : v;
}

/* Decodes the entity at s (s[0] == '&'); returns its length or 0 if unknown. */
static size_t entity(const char *s, size_t len, unsigned *cp)
{
	size_t i, n;

	for (n = 1; n < len && n < 12 && s[n] != ';'; n++)
		;
	if (n >= len || s[n] != ';' || n < 2)
		return 0;
	if (s[1] == '#') {
		*cp = numeric_entity(s + 1, n - 1);
		return *cp ? n + 1 : 0;
	}
	for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
		if (strlen(entities[i].name) == n - 1 &&
		    memcmp(entities[i].name, s + 1, n - 1) == 0) {
			*cp = entities[i].cp;
			return n + 1;
		}
	}
	return 0;
}

static bool name_in(const char *name, const char *const *list)
{
	for (; *list; list++) {
		if (strcmp(name, *list) == 0)
			return true;
	}
	return false;
}

/* Finds the '>' that ends a tag starting at s[i] == '<', skipping quoted values. */
static size_t tag_end(const char *s, size_t len, size_t i)
{
	char quote = 0;

	for (; i < len; i++) {
		if (quote) {
			if (s[i] == quote)
				quote = 0;
		} else if (s[i] == '"' || s[i] == '\'') {
			quote = s[i];
		} else if (s[i] == '>') {
			return i;
		}
	}
	return len;
}

/* Position after "</name ...>" (ASCII case-insensitive), or len. */
static size_t skip_element(const char *s, size_t len, size_t i, const char *name)
{
	size_t n = strlen(name);

	for (; i + n + 2 <= len; i++) {
		if (s[i] == '<' && s[i + 1] == '/' && deid_ascii_ieq(s + i + 2, n, name)) {
			size_t e = tag_end(s, len, i);

			return e < len ? e + 1 : len;
		}
	}
	return len;
}

/* Position after the "-->" that closes a comment opened at i, or len. */
static size_t skip_comment(const char *s, size_t len, size_t i)
{
	size_t p;

	for (p = i + 4; p + 3 <= len; p++) {
		if (memcmp(s + p, "-->", 3) == 0)
			return p + 3;
	}
	return len;
}

struct markup {
	struct ms_buf *out;
	size_t n_nl; /* line breaks due before the next text */
	bool space;  /* collapsed white space due */
	bool pre;    /* inside <pre> */
};

static bool is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == ':';
}

/* Applies an element's effect on the layout (name without prefix, lower case). */
static void element(struct markup *mk, const char *name, bool closing)
{
	static const char *const blocks[] = {
		"p",     "div",        "h1",      "h2",      "h3",     "h4",     "h5", "h6",
		"li",    "tr",         "table",   "ul",      "ol",     "dl",     "dt", "dd",
		"pre",   "blockquote", "section", "article", "header", "footer", "hr", "caption",
		"thead", "tbody",      "body",    "html",    NULL
	};

	if (strcmp(name, "br") == 0) {
		mk->n_nl++;
	} else if (name_in(name, blocks)) {
		if (strcmp(name, "pre") == 0)
			mk->pre = !closing;
		if (!mk->n_nl)
			mk->n_nl = 1;
	} else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0) {
		mk->space = true;
	}
}

/*
 * Handles the markup at s[i] == '<'; returns the position after it, or i
 * when the '<' is plain text.
 */
static size_t tag(struct markup *mk, const char *s, size_t len, size_t i)
{
	static const char *const skipped[] = { "head", "script", "style", "title", NULL };
	char name[16];
	const char *local;
	size_t j = i + 1, k = 0, end;
	bool closing = false;

	if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0)
		return skip_comment(s, len, i);
	if (j < len && s[j] == '/') {
		closing = true;
		j++;
	}
	for (; j < len && k + 1 < sizeof(name) && is_name_char((unsigned char)s[j]); j++)
		name[k++] = (char)(s[j] >= 'A' && s[j] <= 'Z' ? s[j] - 'A' + 'a' : s[j]);
	name[k] = '\0';
	if (!k && j < len && (s[j] == '!' || s[j] == '?')) {
		end = tag_end(s, len, j); /* <!DOCTYPE ...>, <?xml ...?> */
		return end < len ? end + 1 : len;
	}
	if (!k)
		return i;
	local = strrchr(name, ':');
	local = local ? local + 1 : name;
	end = tag_end(s, len, j);
	if (!closing && name_in(local, skipped) && end < len && s[end - 1] != '/')
		return skip_element(s, len, end + 1, name);
	element(mk, local, closing);
	return end < len ? end + 1 : len;
}

/* Writes a text byte (or entity) at s[i] after pending breaks; returns the next position. */
static size_t text_char(struct markup *mk, const char *s, size_t len, size_t i)
{
	struct ms_buf *out = mk->out;
	unsigned cp = 0;
	size_t n;

	if (mk->n_nl && out->len)
		ms_buf_add(out, "\n\n", mk->n_nl > 1 ? 2 : 1);
	else if (mk->space && out->len && out->buf[out->len - 1] != '\n')
		ms_buf_addch(out, ' ');
	mk->n_nl = 0;
	mk->space = false;
	if (s[i] == '&') {
		n = entity(s + i, len - i, &cp);
		if (n) {
			ms_utf8_put(out, cp);
			return i + n;
		}
	}
	ms_buf_addch(out, s[i]);
	return i + 1;
}

/*
 * XHTML/HTML to text: tags go, block elements and <br> become line breaks,
 * white space collapses (except in <pre>), entities are decoded, <head>,
 * <title>, <script> and <style> are dropped. Never fails on malformed markup.
 */
static void markup_text(struct ms_buf *out, const char *s, size_t len)
{
	struct markup mk = { out, 0, false, false };
	size_t i = 0, next;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c == '<') {
			next = tag(&mk, s, len, i);
			if (next != i) {
				i = next;
				continue;
			}
		}
		if (!mk.pre && (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f')) {
			mk.space = true;
			i++;
			continue;
		}
		i = text_char(&mk, s, len, i);
	}
}

/* ---- references -------------------------------------------------------- */

static const json_t *resolve(const struct fhir_ctx *c, const json_t *ref)
{
	const char *s = jstr(ref, "reference", NULL), *slash, *prev;
	const json_t *contained, *res;
	size_t i;

	if (!s || !*s)
		return NULL;
	if (s[0] == '#') {
		contained = json_object_get(c->dr, "contained");
		for (i = 0; i < json_array_size(contained); i++) {
			res = json_array_get(contained, i);
			if (jstr_is(res, "id", s + 1))
				return res;
		}
		return NULL;
	}
	if (!c->st->index)
		return NULL;
	res = json_object_get(c->st->index, s);
	if (res)
		return res;
	/* an absolute URL: try its "Type/id" tail */
	slash = strrchr(s, '/');
	if (!slash || slash == s)
		return NULL;
	for (prev = slash - 1; prev > s && *prev != '/'; prev--)
		;
	if (*prev != '/')
		return NULL;
	return json_object_get(c->st->index, prev + 1);
}

/* Ref's type: from the resolved resource, else from "Type/id". */
static bool ref_is(const json_t *ref, const json_t *res, const char *type)
{
	const char *s = jstr(ref, "reference", NULL);
	size_t n = strlen(type);

	if (res)
		return jstr_is(res, "resourceType", type);
	if (jstr_is(ref, "type", type))
		return true;
	return s && strncmp(s, type, n) == 0 && s[n] == '/';
}

/* Is this Identifier typed as an accession number (v2-0203 ACSN)? */
static bool is_accession(const json_t *ident)
{
	const json_t *coding = json_object_get(json_object_get(ident, "type"), "coding");
	size_t i;

	for (i = 0; i < n_items(coding); i++) {
		if (jstr_is(item(coding, i), "code", "ACSN"))
			return true;
	}
	return false;
}

static int identifiers(struct fhir_ctx *c, const json_t *idents, enum deid_field_kind kind,
                       bool accession)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < n_items(idents); i++) {
		const json_t *id = item(idents, i);

		rc = add_jstr(c, accession && is_accession(id) ? DEID_FIELD_ACCESSION : kind,
		              json_object_get(id, "value"));
	}
	return rc;
}

static int human_names(struct fhir_ctx *c, const json_t *names, const struct person_kinds *k)
{
	size_t i, j;
	int rc = 0;

	for (i = 0; !rc && i < n_items(names); i++) {
		const json_t *name = item(names, i), *family, *given;

		rc = add_jstr(c, k->name, json_object_get(name, "text"));
		family = json_object_get(name, "family");
		for (j = 0; !rc && j < n_items(family); j++)
			rc = add_jstr(c, k->family, item(family, j));
		given = json_object_get(name, "given");
		for (j = 0; !rc && j < n_items(given); j++)
			rc = add_jstr(c, k->given, item(given, j));
	}
	return rc;
}

static int patient(struct fhir_ctx *c, const json_t *p)
{
	const json_t *addrs = json_object_get(p, "address"),
	             *telecom = json_object_get(p, "telecom");
	size_t i, j;
	int rc;

	rc = identifiers(c, json_object_get(p, "identifier"), DEID_FIELD_PATIENT_ID, false);
	if (!rc)
		rc = human_names(c, json_object_get(p, "name"), &patient_kinds);
	if (!rc)
		rc = add_jstr(c, DEID_FIELD_PATIENT_BIRTHDATE, json_object_get(p, "birthDate"));
	for (i = 0; !rc && i < n_items(addrs); i++) {
		const json_t *a = item(addrs, i), *lines = json_object_get(a, "line");

		for (j = 0; !rc && j < n_items(lines); j++)
			rc = add_jstr(c, DEID_FIELD_PATIENT_STREET, item(lines, j));
		if (!rc)
			rc = add_jstr(c, DEID_FIELD_PATIENT_CITY, json_object_get(a, "city"));
		if (!rc)
			rc = add_jstr(c, DEID_FIELD_PATIENT_ZIP, json_object_get(a, "postalCode"));
	}
	for (i = 0; !rc && i < n_items(telecom); i++) {
		const json_t *t = item(telecom, i);

		if (jstr_is(t, "system", "url"))
			continue;
		rc = add_jstr(c,
		              jstr_is(t, "system", "email") ? DEID_FIELD_PATIENT_EMAIL
		                                            : DEID_FIELD_PATIENT_PHONE,
		              json_object_get(t, "value"));
	}
	return rc;
}

/* A reference to a person or organisation in the given role. */
static int person_ref(struct fhir_ctx *c, const json_t *ref, const struct person_kinds *k)
{
	const json_t *res;
	int rc;

	if (json_object_get(ref, "actor")) /* STU3 performer, requester.agent */
		ref = json_object_get(ref, "actor");
	else if (json_object_get(ref, "agent"))
		ref = json_object_get(ref, "agent");
	res = resolve(c, ref);
	if (ref_is(ref, res, "Organization"))
		return add_jstr(c, DEID_FIELD_FACILITY,
		                res ? json_object_get(res, "name")
		                    : json_object_get(ref, "display"));
	rc = add_jstr(c, k->name, json_object_get(ref, "display"));
	if (!rc)
		rc = add_jstr(c, k->id,
		              json_object_get(json_object_get(ref, "identifier"), "value"));
	if (rc || !res)
		return rc;
	if (jstr_is(res, "resourceType", "PractitionerRole")) {
		res = resolve(c, json_object_get(res, "practitioner"));
		if (!res)
			return 0;
	}
	if (!jstr_is(res, "resourceType", "Practitioner"))
		return 0;
	rc = identifiers(c, json_object_get(res, "identifier"), k->id, false);
	if (!rc)
		rc = human_names(c, json_object_get(res, "name"), k);
	return rc;
}

static int people(struct fhir_ctx *c, const json_t *refs, const struct person_kinds *k)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < n_items(refs); i++)
		rc = person_ref(c, item(refs, i), k);
	return rc;
}

static int subject(struct fhir_ctx *c)
{
	const json_t *ref = json_object_get(c->dr, "subject"), *res;
	const json_t *ids;
	const char *s, *slash;
	size_t len;
	int rc;

	if (!json_is_object(ref))
		return 0;
	res = resolve(c, ref);
	rc = add_jstr(c, DEID_FIELD_PATIENT_NAME, json_object_get(ref, "display"));
	if (!rc)
		rc = add_jstr(c, DEID_FIELD_PATIENT_ID,
		              json_object_get(json_object_get(ref, "identifier"), "value"));
	if (!rc && res && jstr_is(res, "resourceType", "Patient"))
		rc = patient(c, res);
	if (rc)
		return rc;
	/* group: subject.identifier, the Patient's first identifier, the reference id */
	s = jstr(json_object_get(ref, "identifier"), "value", &len);
	ids = res ? json_object_get(res, "identifier") : NULL;
	if (!s && n_items(ids))
		s = jstr(item(ids, 0), "value", &len);
	if (!s) {
		s = jstr(ref, "reference", &len);
		if (s && ref_is(ref, res, "Patient")) {
			slash = strrchr(s, '/');
			if (!slash)
				slash = strrchr(s, '#');
			if (slash) {
				len -= (size_t)(slash + 1 - s);
				s = slash + 1;
			}
		} else {
			s = NULL;
		}
	}
	return s ? deid_doc_set_group(c->r, s, len, c->err) : 0;
}

static int orders(struct fhir_ctx *c)
{
	const json_t *based = json_object_get(c->dr, "basedOn"), *ref, *res;
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < n_items(based); i++) {
		ref = item(based, i);
		rc = identifiers(c, json_object_get(ref, "identifier"), DEID_FIELD_ORDER_PLACER,
		                 true);
		res = resolve(c, ref);
		if (rc || !res)
			continue;
		rc = identifiers(c, json_object_get(res, "identifier"), DEID_FIELD_ORDER_PLACER,
		                 true);
		if (!rc)
			rc = people(c, json_object_get(res, "requester"), &referrer_kinds);
	}
	return rc;
}

static int encounter(struct fhir_ctx *c)
{
	const json_t *ref = json_object_get(c->dr, "encounter"), *res;
	int rc;

	if (!ref)
		ref = json_object_get(c->dr, "context"); /* STU3 */
	if (!json_is_object(ref))
		return 0;
	rc = add_jstr(c, DEID_FIELD_CASE_ID,
	              json_object_get(json_object_get(ref, "identifier"), "value"));
	res = resolve(c, ref);
	if (!rc && res && jstr_is(res, "resourceType", "Encounter"))
		rc = identifiers(c, json_object_get(res, "identifier"), DEID_FIELD_CASE_ID, false);
	return rc;
}

static int codings(struct fhir_ctx *c, const json_t *concept)
{
	const json_t *coding = json_object_get(concept, "coding");
	size_t i, clen = 0, slen = 0;
	int rc = 0;

	for (i = 0; !rc && i < n_items(coding); i++) {
		const char *code = jstr(item(coding, i), "code", &clen);
		const char *sys = jstr(item(coding, i), "system", &slen);

		if (code)
			rc = deid_doc_add_label(c->r, code, clen, sys, sys ? slen : 0, c->err);
	}
	return rc;
}

static int labels(struct fhir_ctx *c)
{
	static const char *const keys[] = { "conclusionCode", "codedDiagnosis" };
	const json_t *list;
	size_t i, k;
	int rc = 0;

	for (k = 0; k < 2; k++) {
		list = json_object_get(c->dr, keys[k]);
		for (i = 0; !rc && i < n_items(list); i++)
			rc = codings(c, item(list, i));
	}
	if (!rc)
		rc = codings(c, json_object_get(c->dr, "code"));
	return rc;
}

/* ---- text -------------------------------------------------------------- */

enum form_kind { FORM_OTHER, FORM_PLAIN, FORM_HTML };

struct media {
	enum form_kind kind;
	enum deid_charset charset; /* from a charset parameter, else AUTO */
};

static struct media media_type(const char *ct, size_t len)
{
	struct media m = { FORM_OTHER, DEID_CHARSET_AUTO };
	const char *semi = memchr(ct, ';', len), *p;
	size_t n = semi ? (size_t)(semi - ct) : len, rest;

	while (n && ct[n - 1] == ' ')
		n--;
	if (deid_ascii_ieq(ct, n, "text/plain"))
		m.kind = FORM_PLAIN;
	else if (deid_ascii_ieq(ct, n, "text/html") || deid_ascii_ieq(ct, n, "application/xhtml") ||
	         deid_ascii_ieq(ct, n, "application/xhtml+xml"))
		m.kind = FORM_HTML;
	for (p = semi; p && p < ct + len; p = memchr(p + 1, ';', (size_t)(ct + len - p - 1))) {
		p++;
		while (p < ct + len && *p == ' ')
			p++;
		rest = (size_t)(ct + len - p);
		if (rest > 8 && deid_ascii_ieq(p, 8, "charset=")) {
			const char *v = p + 8, *e = memchr(v, ';', rest - 8);
			size_t vl = e ? (size_t)(e - v) : rest - 8;

			while (vl && v[vl - 1] == ' ')
				vl--;
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
				v++;
				vl -= 2;
			}
			if (deid_ascii_ieq(v, vl, "utf-8"))
				m.charset = DEID_CHARSET_UTF8;
			else if (deid_ascii_ieq(v, vl, "iso-8859-1"))
				m.charset = DEID_CHARSET_LATIN1;
			else if (deid_ascii_ieq(v, vl, "windows-1252"))
				m.charset = DEID_CHARSET_CP1252;
		}
		p--;
	}
	return m;
}

static bool has_text(const struct ms_buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++) {
		if (b->buf[i] != ' ' && b->buf[i] != '\t' && b->buf[i] != '\n' && b->buf[i] != '\r')
			return true;
	}
	return false;
}

static int buf_status(const struct ms_buf *b, struct ms_error *err)
{
	if (b->status == MS_ETOOBIG)
		return ms_error_set(err, MS_ETOOBIG, "report text exceeds the record limit");
	if (b->status)
		return ms_error_set(err, b->status, "%s", ms_status_str(b->status));
	return 0;
}

/* Decodes presentedForm idx into st->text (which may end up empty). */
static int form_text(struct fhir_ctx *c, const json_t *form, struct media m, size_t idx)
{
	struct fhir_state *st = c->st;
	enum deid_charset cs = m.charset != DEID_CHARSET_AUTO ? m.charset : c->r->charset;
	size_t len = 0, skip = 0;
	const char *data = jstr(form, "data", &len);
	enum ms_encoding enc;
	bool guessed;
	int rc;

	ms_buf_reset(&st->bin);
	if (!base64_decode(&st->bin, data, len))
		return deid_reject(c->err, MS_EINVAL, "invalid base64 in presentedForm %zu",
		                   idx + 1);
	rc = buf_status(&st->bin, c->err);
	if (rc)
		return rc;
	if (st->bin.len >= 3 && memcmp(st->bin.buf, "\xEF\xBB\xBF", 3) == 0)
		skip = 3;
	ms_buf_reset(&st->dec);
	rc = deid_decode(&st->dec, st->bin.buf + skip, st->bin.len - skip, cs, &enc, &guessed,
	                 c->err);
	if (rc)
		return rc;
	c->r->doc.encoding = enc;
	if (guessed)
		c->r->doc.flags |= DEID_DOC_CHARSET_GUESSED;
	ms_buf_reset(&st->text);
	if (m.kind == FORM_HTML)
		markup_text(&st->text, st->dec.buf, st->dec.len);
	else
		ms_buf_add(&st->text, st->dec.buf, st->dec.len);
	return buf_status(&st->text, c->err);
}

/* Report text into st->text by the documented precedence. */
static int report_text(struct fhir_ctx *c)
{
	struct fhir_state *st = c->st;
	const json_t *forms = json_object_get(c->dr, "presentedForm"), *notes, *narr;
	struct media m, pick[2];
	long which[2] = { -1, -1 };
	const char *s;
	size_t i, len;
	int k, rc;

	for (i = 0; i < n_items(forms); i++) {
		const json_t *f = item(forms, i);

		s = jstr(f, "contentType", &len);
		m = media_type(s ? s : "", s ? len : 0);
		if (m.kind == FORM_OTHER || !jstr(f, "data", NULL)) {
			c->r->doc.n_skipped++;
			c->r->doc.flags |= DEID_DOC_SKIPPED_PARTS;
			continue;
		}
		k = m.kind == FORM_PLAIN ? 0 : 1;
		if (which[k] < 0) {
			which[k] = (long)i;
			pick[k] = m;
		}
	}
	for (k = 0; k < 2; k++) {
		if (which[k] < 0)
			continue;
		rc = form_text(c, item(forms, (size_t)which[k]), pick[k], (size_t)which[k]);
		if (rc || has_text(&st->text))
			return rc;
	}
	/* R5 note[] and conclusion */
	c->r->doc.encoding = MS_ENC_UTF8;
	c->r->doc.flags &= ~(unsigned)DEID_DOC_CHARSET_GUESSED;
	ms_buf_reset(&st->text);
	notes = json_object_get(c->dr, "note");
	for (i = 0; i < n_items(notes); i++) {
		s = jstr(item(notes, i), "text", &len);
		if (!s)
			continue;
		if (st->text.len)
			ms_buf_add(&st->text, "\n\n", 2);
		ms_buf_add(&st->text, s, len);
	}
	s = jstr(c->dr, "conclusion", &len);
	if (s) {
		if (st->text.len)
			ms_buf_add(&st->text, "\n\n", 2);
		ms_buf_add(&st->text, s, len);
	}
	if (has_text(&st->text) || st->text.status)
		return buf_status(&st->text, c->err);
	narr = json_object_get(c->dr, "text");
	if (jstr_is(narr, "status", "generated"))
		return 0;
	s = jstr(narr, "div", &len);
	if (s)
		markup_text(&st->text, s, len);
	return buf_status(&st->text, c->err);
}

/* ---- documents --------------------------------------------------------- */

static int build(struct deid_reader *r, struct fhir_state *st, const json_t *dr,
                 struct ms_error *err)
{
	struct fhir_ctx c = { r, st, dr, err };
	const json_t *ids = json_object_get(dr, "identifier");
	const char *s;
	size_t len = 0;
	int rc;

	deid_doc_begin(r, st->root_line);
	ms_error_set_line(err, st->root_line);
	s = jstr(dr, "id", &len);
	if (!s && n_items(ids))
		s = jstr(item(ids, 0), "value", &len);
	rc = s ? deid_doc_set_id(r, s, len, err) : 0;
	if (!rc)
		rc = identifiers(&c, ids, DEID_FIELD_REPORT_ID, true);
	if (!rc)
		rc = subject(&c);
	if (!rc)
		rc = encounter(&c);
	if (!rc)
		rc = orders(&c);
	if (!rc)
		rc = people(&c, json_object_get(dr, "performer"), &performer_kinds);
	if (!rc)
		rc = people(&c, json_object_get(dr, "resultsInterpreter"), &performer_kinds);
	if (!rc)
		rc = labels(&c);
	if (!rc)
		rc = report_text(&c);
	if (!rc)
		rc = deid_doc_set_text(r, st->text.buf, st->text.len, err);
	if (rc < 0)
		return deid_read_classify(rc);
	if (rc)
		return rc;
	return deid_doc_finish(r,
	                       r->doc.n_skipped ? "report text only in a non-text presentedForm"
	                                        : "no report text",
	                       err);
}

static int build_index(struct fhir_state *st, struct ms_error *err)
{
	const json_t *entries = json_object_get(st->root, "entry");
	size_t i;

	st->index = json_object();
	if (!st->index)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	for (i = 0; i < json_array_size(entries); i++) {
		const json_t *e = json_array_get(entries, i);
		json_t *res = json_object_get(e, "resource");
		const char *url = jstr(e, "fullUrl", NULL), *type, *id;

		if (!json_is_object(res))
			continue;
		if (url && json_object_set(st->index, url, res) < 0)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		type = jstr(res, "resourceType", NULL);
		id = jstr(res, "id", NULL);
		if (!type || !id)
			continue;
		ms_buf_reset(&st->key);
		ms_buf_addf(&st->key, "%s/%s", type, id);
		if (st->key.status || json_object_set(st->index, st->key.buf, res) < 0)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	return 0;
}

/* Takes ownership of root. Returns 0 (kept or skipped), a reject or < 0. */
static int take_root(struct deid_reader *r, struct fhir_state *st, json_t *root,
                     struct ms_error *err)
{
	const char *type = jstr(root, "resourceType", NULL);
	bool is_object = json_is_object(root);

	if (!is_object || !type) {
		json_decref(root);
		deid_doc_begin(r, st->root_line);
		ms_error_set_line(err, st->root_line);
		return deid_reject(err, MS_EINVAL, "%s",
		                   is_object ? "missing resourceType"
		                             : "resource is not a JSON object");
	}
	if (strcmp(type, "DiagnosticReport") != 0 && strcmp(type, "Bundle") != 0) {
		json_decref(root);
		return 0;
	}
	st->root = root;
	st->entry = 0;
	st->root_taken = false;
	return strcmp(type, "Bundle") == 0 ? build_index(st, err) : 0;
}

static const json_t *next_report(struct fhir_state *st)
{
	const json_t *entries, *res;

	if (jstr_is(st->root, "resourceType", "DiagnosticReport")) {
		if (st->root_taken)
			return NULL;
		st->root_taken = true;
		return st->root;
	}
	entries = json_object_get(st->root, "entry");
	while (st->entry < json_array_size(entries)) {
		res = json_object_get(json_array_get(entries, st->entry++), "resource");
		if (jstr_is(res, "resourceType", "DiagnosticReport"))
			return res;
	}
	return NULL;
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* NDJSON when the first non-blank line is a complete object (or very long). */
static void sniff_mode(struct deid_reader *r, struct fhir_state *st)
{
	long avail = deid_input_fill(&r->in, FHIR_SNIFF_BYTES);
	const unsigned char *p = r->in.data + r->in.pos;
	size_t n = avail > 0 ? (size_t)avail : 0, i = 0, end, e;

	if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
		r->in.pos += 3;
		p += 3;
		n -= 3;
	}
	while (i < n && is_space(p[i]))
		i++;
	for (end = i; end < n && p[end] != '\n'; end++)
		;
	st->ndjson = false;
	if (i < n && p[i] == '{') {
		for (e = end; e > i && is_space(p[e - 1]); e--)
			;
		st->ndjson = end == n || (e > i + 1 && p[e - 1] == '}');
	}
	st->mode_known = true;
}

static bool blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!is_space((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* Reads the next non-blank NDJSON line: 1, 0 at the end, MS_ETOOBIG or < 0. */
static int next_ndjson(struct deid_reader *r, struct fhir_state *st)
{
	int rc;

	do {
		rc = deid_input_line(&r->in, &st->buf, 0);
		if (rc == 0 || (rc < 0 && rc != MS_ETOOBIG))
			return rc;
		st->line_no++;
	} while (rc == 1 && blank(st->buf.buf, st->buf.len));
	st->root_line = st->line_no;
	return rc;
}

/* Reads the whole input once: 1, 0 when empty or done, MS_ETOOBIG or < 0. */
static int next_whole(struct deid_reader *r, struct fhir_state *st)
{
	int rc;

	if (st->whole_done)
		return 0;
	st->whole_done = true;
	st->root_line = 0;
	rc = deid_input_rest(&r->in, &st->buf);
	if (rc == 0 && blank(st->buf.buf, st->buf.len))
		return 0;
	return rc ? rc : 1;
}

/* Reads and parses the next value. Returns 1 (parsed or skipped), 0 (end), reject or < 0. */
static int read_value(struct deid_reader *r, struct fhir_state *st, struct ms_error *err)
{
	json_error_t je;
	json_t *root;
	int rc;

	rc = st->ndjson ? next_ndjson(r, st) : next_whole(r, st);
	if (rc == 0)
		return 0;
	if (rc < 0 && rc != MS_ETOOBIG)
		return ms_error_set(err, rc, "%s", rc == MS_EIO ? "read error" : ms_status_str(rc));
	if (rc == MS_ETOOBIG) {
		deid_doc_begin(r, st->root_line);
		ms_error_set_line(err, st->root_line);
		return deid_reject(err, MS_ETOOBIG, "record exceeds %zu bytes", r->max_record);
	}
	root = json_loadb(st->buf.buf, st->buf.len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		deid_doc_begin(r, st->root_line);
		ms_error_set_line(err,
		                  st->ndjson ? st->root_line : (size_t)(je.line > 0 ? je.line : 0));
		return deid_json_error(&je, err);
	}
	rc = take_root(r, st, root, err);
	return rc ? rc : 1;
}

static int fhir_next(struct deid_reader *r, struct ms_error *err)
{
	struct fhir_state *st = r->state;
	const json_t *dr;
	size_t cap;
	int rc;

	if (!st) {
		st = ms_calloc(1, sizeof(*st));
		if (!st)
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		cap = r->max_record > ((size_t)-1) / 4 ? 0 : r->max_record * 4;
		ms_buf_init(&st->buf, r->max_record);
		ms_buf_init(&st->text, cap);
		ms_buf_init(&st->bin, cap);
		ms_buf_init(&st->dec, cap);
		ms_buf_init(&st->key, 0);
		r->state = st;
	}
	if (!st->mode_known)
		sniff_mode(r, st);
	for (;;) {
		if (st->root) {
			dr = next_report(st);
			if (dr)
				return build(r, st, dr, err);
			drop_root(st);
		}
		rc = read_value(r, st, err);
		if (rc == 0)
			return DEID_READ_END;
		if (rc != 1)
			return rc;
	}
}

const struct deid_read_ops deid_read_fhir_ops = {
	.next = fhir_next,
	.free = fhir_free,
};
