/* SPDX-License-Identifier: MIT */
/*
 * Validation of the codes attached to report records against one catalogue
 * version of the database: which system a label belongs to, whether it is
 * well-formed, whether the catalogue has it, its canonical (printed) form and
 * title, and the canonical order of a code set. Used by the report dataset
 * builder (reports.c); not for catalogue QA, whose codes come from the
 * catalogue itself.
 */
#include "datagen/datagen.h"

#include <string.h>

#include "common/alloc.h"
#include "datagen/datagen_int.h"

#define CODE_MAX 32

struct datagen_code_checker {
	struct qa_table t;
	char system[16];
};

/* System names as exports write them, mapped to catalogue systems. */
static const struct {
	const char *name;
	const char *system;
} system_names[] = {
	{ "goae", CATALOG_SYSTEM_GOAE },     { "goa", CATALOG_SYSTEM_GOAE },
	{ "goä", CATALOG_SYSTEM_GOAE },      { "icd10gm", CATALOG_SYSTEM_ICD10GM },
	{ "i10gm", CATALOG_SYSTEM_ICD10GM }, { "icd10", CATALOG_SYSTEM_ICD10GM },
	{ "i10", CATALOG_SYSTEM_ICD10GM },   { "ops", CATALOG_SYSTEM_OPS },
	{ "icdo3", CATALOG_SYSTEM_ICDO3 },   { "goz", CATALOG_SYSTEM_GOZ },
};

const char *datagen_code_system(const char *name)
{
	char key[32];
	size_t i, n = 0;

	if (!name)
		return NULL;
	/* "ICD-10-GM", "I10-GM", "GOÄ", "GOAE": drop '-', '_', ' ', fold ASCII case */
	for (i = 0; name[i] && n + 1 < sizeof(key); i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '-' || c == '_' || c == ' ' || c == '.')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		key[n++] = (char)c;
	}
	if (name[i])
		return NULL;
	key[n] = '\0';
	/* "GOÄ": the upper-case umlaut in UTF-8 is C3 84, lower case C3 A4 */
	if (n == 4 && !memcmp(key, "go\xc3\x84", 4))
		return CATALOG_SYSTEM_GOAE;
	for (i = 0; i < sizeof(system_names) / sizeof(system_names[0]); i++) {
		if (!strcmp(key, system_names[i].name))
			return system_names[i].system;
	}
	return NULL;
}

int datagen_code_checker_new(struct datagen_code_checker **out, struct catalog_store *store,
                             const char *system, const char *version, struct ms_error *err)
{
	struct catalog_summary sum;
	struct datagen_code_checker *c;
	int rc;

	*out = NULL;
	if (strlen(system) >= sizeof(c->system))
		return ms_error_set(err, MS_ENOTFOUND, "unknown coding system '%.32s'", system);
	rc = catalog_store_find(store, system, version, CATALOG_PART_CLASSIFICATION, &sum, err);
	if (rc == MS_ENOTFOUND)
		return ms_error_set(err, rc, "no '%s%s%s' catalogue in the database", system,
		                    version ? " " : "", version ? version : "");
	if (rc)
		return rc;
	c = ms_calloc(1, sizeof(*c));
	if (!c)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	rc = qa_table_load(&c->t, store, &sum, err);
	if (rc) {
		ms_free(c);
		return rc;
	}
	memcpy(c->system, system, strlen(system) + 1);
	*out = c;
	return 0;
}

void datagen_code_checker_free(struct datagen_code_checker *c)
{
	if (!c)
		return;
	qa_table_release(&c->t);
	ms_free(c);
}

const char *datagen_code_checker_version(const struct datagen_code_checker *c)
{
	return c->t.sum.version;
}

const struct catalog_summary *datagen_code_checker_catalog(const struct datagen_code_checker *c)
{
	return &c->t.sum;
}

/* Characters codes of the supported catalogues are made of. */
static bool code_char(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       ch == '.' || ch == '-' || ch == ':' || ch == '/' || ch == '!' || ch == '*' ||
	       ch == '+';
}

enum datagen_code_status datagen_code_checker_check(const struct datagen_code_checker *c,
                                                    const char *code, const char *label_system,
                                                    const char **canon_out, const char **title_out)
{
	char tmp[CODE_MAX + 1];
	const struct qa_entry *e;
	size_t len = strlen(code), i;

	*canon_out = NULL;
	if (title_out)
		*title_out = NULL;
	if (label_system && label_system[0]) {
		const char *sys = datagen_code_system(label_system);

		if (!sys || strcmp(sys, c->system) != 0)
			return DATAGEN_CODE_OTHER_SYSTEM;
	}
	/* blanks around a code are export noise, inside they are not */
	while (len && (code[0] == ' ' || code[0] == '\t')) {
		code++;
		len--;
	}
	while (len && (code[len - 1] == ' ' || code[len - 1] == '\t'))
		len--;
	if (len == 0 || len > CODE_MAX)
		return DATAGEN_CODE_MALFORMED;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)code[i];

		if (!code_char(ch))
			return DATAGEN_CODE_MALFORMED;
		/* codes are printed in upper case in every supported catalogue */
		tmp[i] = (char)(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
	}
	tmp[len] = '\0';
	e = qa_table_find(&c->t, tmp, len);
	if (!e)
		return DATAGEN_CODE_UNKNOWN;
	*canon_out = e->display ? e->display : e->code;
	if (title_out)
		*title_out = e->label_long ? e->label_long : e->label;
	if (!(e->flags & CATALOG_ENTRY_TERMINAL))
		return DATAGEN_CODE_NOT_TERMINAL;
	return DATAGEN_CODE_OK;
}

/* Length of the leading decimal number of s (no sign). */
static size_t digits(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

int datagen_code_compare(const char *a, const char *b)
{
	size_t da = digits(a), db = digits(b);
	int c;

	if (da && db) {
		const char *pa = a, *pb = b;

		/* numerically: skip leading zeros, then the longer number is larger */
		while (da > 1 && *pa == '0') {
			pa++;
			da--;
		}
		while (db > 1 && *pb == '0') {
			pb++;
			db--;
		}
		if (da != db)
			return da < db ? -1 : 1;
		c = memcmp(pa, pb, da);
		if (c)
			return c < 0 ? -1 : 1;
		c = strcmp(pa + da, pb + db);
		if (c)
			return c < 0 ? -1 : 1;
	}
	c = strcmp(a, b);
	return c < 0 ? -1 : (c > 0);
}
