/* SPDX-License-Identifier: MIT */
/*
 * The PHI label set (schemas/phi-labels.json): names, lookup, and the
 * canonical string per label that spans carry, so that labels compare by
 * pointer everywhere in the module.
 */
#include "ner/ner.h"

#include <string.h>

#include "ner/ner_int.h"

static const char *const label_names[NER_N_LABELS] = {
	"PATIENT", "STAFF",    "PERSON_OTHER", "TITLE",      "DATE",   "BIRTHDATE", "AGE",
	"ID",      "PHONE",    "EMAIL",        "URL",        "STREET", "ZIP",       "CITY",
	"COUNTRY", "HOSPITAL", "ORGANIZATION", "PROFESSION", "OTHER",
};

const char *ner_label_name(unsigned i)
{
	return i < NER_N_LABELS ? label_names[i] : NULL;
}

int ner_label_parse(unsigned *out, const char *name, size_t len)
{
	unsigned i;

	for (i = 0; i < NER_N_LABELS; i++) {
		if (strlen(label_names[i]) == len && memcmp(label_names[i], name, len) == 0) {
			*out = i;
			return 0;
		}
	}
	return MS_ENOTFOUND;
}

const char *ner_label_canon(const char *name, size_t len)
{
	unsigned i;

	if (ner_label_parse(&i, name, len) < 0)
		return NULL;
	return label_names[i];
}

int ner_label_index(const char *canon)
{
	int i;

	for (i = 0; i < NER_N_LABELS; i++) {
		if (label_names[i] == canon)
			return i;
	}
	return -1;
}
