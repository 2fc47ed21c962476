/* SPDX-License-Identifier: MIT */
/*
 * Gazetteers: case-folded token lists of first names, surnames, cities and
 * streets for membership features, plus the original spellings for the
 * synthetic report generator. Entries are deduplicated per kind after
 * folding. The fingerprint is a set hash (sum of the SHA-256 of every
 * (kind, entry) modulo 2^256, hashed once more), so it depends on the
 * entries, not on the order they were added in, and costs no allocation.
 */
#include "ner/ner.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "common/strmap.h"
#include "common/utf8.h"
#include "ner/ner_int.h"

#define GAZ_FILE_CAP ((size_t)64 << 20)

struct gaz_entry {
	char *orig;
	char *folded;
	size_t len; /* of folded */
	unsigned kind;
};

struct ner_gazetteer {
	struct gaz_entry *e;
	size_t n, cap;
	size_t *by_kind[NER_GAZ_COUNT]; /* indexes into e */
	size_t n_kind[NER_GAZ_COUNT], cap_kind[NER_GAZ_COUNT];
	struct ms_strmap map; /* folded word or entry -> bits */
	char **parts;         /* storage of the words of multi-word entries */
	size_t n_parts, cap_parts;
	unsigned char sum[MS_SHA256_LEN];
	struct ms_buf nfc, fold; /* scratch */
};

static const char *const kind_names[NER_GAZ_COUNT] = { "first_name", "last_name", "city",
	                                               "street" };

const char *ner_gaz_kind_name(enum ner_gaz_kind kind)
{
	return (unsigned)kind < NER_GAZ_COUNT ? kind_names[kind] : NULL;
}

int ner_gazetteer_new(struct ner_gazetteer **out, struct ms_error *err)
{
	*out = ms_calloc(1, sizeof(**out));
	if (!*out)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	ms_buf_init(&(*out)->nfc, 0);
	ms_buf_init(&(*out)->fold, 0);
	return 0;
}

void ner_gazetteer_free(struct ner_gazetteer *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->n; i++) {
		if (g->e[i].orig != g->e[i].folded)
			ms_free(g->e[i].orig);
		ms_free(g->e[i].folded);
	}
	for (i = 0; i < g->n_parts; i++)
		ms_free(g->parts[i]);
	for (i = 0; i < NER_GAZ_COUNT; i++)
		ms_free(g->by_kind[i]);
	ms_free(g->parts);
	ms_free(g->e);
	ms_strmap_release(&g->map);
	ms_buf_release(&g->nfc);
	ms_buf_release(&g->fold);
	ms_free(g);
}

static void sum_add(unsigned char sum[MS_SHA256_LEN], unsigned kind, const char *folded, size_t len)
{
	unsigned char h[MS_SHA256_LEN];
	unsigned carry = 0;
	int i;

	/* kind byte + entry; a fixed stack copy for short entries avoids allocation */
	if (len < 255) {
		unsigned char tmp[256];

		tmp[0] = (unsigned char)kind;
		memcpy(tmp + 1, folded, len);
		ms_sha256(h, tmp, len + 1);
	} else {
		/* long entries (never in practice): hash kind and text separately */
		unsigned char k = (unsigned char)kind, hk[MS_SHA256_LEN];

		ms_sha256(hk, &k, 1);
		ms_sha256(h, folded, len);
		for (i = 0; i < MS_SHA256_LEN; i++)
			h[i] ^= hk[i];
	}
	/* little-endian 256-bit addition */
	for (i = 0; i < MS_SHA256_LEN; i++) {
		unsigned v = (unsigned)sum[i] + h[i] + carry;

		sum[i] = (unsigned char)v;
		carry = v >> 8;
	}
}

static int map_or(struct ner_gazetteer *g, const char *key, size_t len, unsigned bits)
{
	const struct ms_strmap_slot *slot = ms_strmap_get(&g->map, key, len);
	size_t v = slot ? slot->val : 0;

	return ms_strmap_put(&g->map, key, len, v | bits);
}

/* Marks each word of a multi-word entry ("bad arolsen") as a part of kind. */
static int add_parts(struct ner_gazetteer *g, const char *folded, size_t len, unsigned kind)
{
	size_t a = 0, b;

	while (a < len) {
		char *w;

		while (a < len && folded[a] == ' ')
			a++;
		b = a;
		while (b < len && folded[b] != ' ')
			b++;
		if (b == a)
			break;
		if (MS_GROW(g->parts, g->cap_parts, g->n_parts + 1) < 0)
			return MS_ENOMEM;
		w = ms_strndup(folded + a, b - a);
		if (!w)
			return MS_ENOMEM;
		g->parts[g->n_parts++] = w;
		if (map_or(g, w, b - a, 1u << (NER_GAZ_COUNT + kind)) < 0)
			return MS_ENOMEM;
		a = b;
	}
	return 0;
}

/* Adds a folded entry (copied); orig NULL: the entry is its own spelling. */
static int add_entry(struct ner_gazetteer *g, unsigned kind, const char *orig, size_t orig_len,
                     const char *folded, size_t len, bool fingerprint, struct ms_error *err)
{
	const struct ms_strmap_slot *slot = ms_strmap_get(&g->map, folded, len);
	struct gaz_entry *e;

	if (slot && (slot->val & (1u << kind)))
		return 0;
	if (MS_GROW(g->e, g->cap, g->n + 1) < 0 ||
	    MS_GROW(g->by_kind[kind], g->cap_kind[kind], g->n_kind[kind] + 1) < 0)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	e = &g->e[g->n];
	e->folded = ms_strndup(folded, len);
	if (!e->folded)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	e->orig = orig ? ms_strndup(orig, orig_len) : e->folded;
	if (!e->orig) {
		ms_free(e->folded);
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	}
	e->len = len;
	e->kind = kind;
	if (map_or(g, e->folded, len, 1u << kind) < 0 ||
	    (memchr(folded, ' ', len) && add_parts(g, e->folded, len, kind) < 0))
		goto fail;
	g->by_kind[kind][g->n_kind[kind]++] = g->n;
	g->n++;
	if (fingerprint)
		sum_add(g->sum, kind, folded, len);
	return 0;
fail:
	/*
	 * The map may point at e->folded by now and cannot forget a key, so the
	 * entry stays (it is freed with the gazetteer); only some of its words
	 * are missing, and the caller gives up on MS_ENOMEM anyway.
	 */
	g->by_kind[kind][g->n_kind[kind]++] = g->n;
	g->n++;
	return ms_error_set(err, MS_ENOMEM, "out of memory");
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int ner_gazetteer_add(struct ner_gazetteer *g, enum ner_gaz_kind kind, const char *s, size_t len,
                      struct ms_error *err)
{
	size_t i;
	int rc;

	if ((unsigned)kind >= NER_GAZ_COUNT)
		return ms_error_set(err, MS_EUSAGE, "gazetteer kind %u out of range",
		                    (unsigned)kind);
	while (len > 0 && blank(s[0])) {
		s++;
		len--;
	}
	while (len > 0 && blank(s[len - 1]))
		len--;
	if (len == 0)
		return 0;
	if (!ms_utf8_valid(s, len, &i))
		return ms_error_set(err, MS_EUNICODE, "invalid UTF-8 at byte %zu of an entry", i);
	ms_buf_reset(&g->nfc);
	ms_buf_reset(&g->fold);
	rc = ms_nfc_append(&g->nfc, s, len, err);
	if (rc < 0)
		return rc;
	rc = ner_fold_append(&g->fold, g->nfc.buf, g->nfc.len, err);
	if (rc < 0)
		return rc;
	return add_entry(g, kind, g->nfc.buf, g->nfc.len, g->fold.buf, g->fold.len, true, err);
}

int ner_gazetteer_add_file(struct ner_gazetteer *g, enum ner_gaz_kind kind, const char *path,
                           struct ms_error *err)
{
	struct ms_buf data = MS_BUF_INIT;
	struct ms_lines it;
	const char *line;
	size_t len;
	int rc;

	rc = ms_file_read(&data, path, GAZ_FILE_CAP, err);
	if (rc < 0)
		goto out;
	ms_lines_init(&it, data.buf, data.len);
	while (ms_lines_next(&it, &line, &len)) {
		const char *tab = memchr(line, '\t', len);

		if (tab)
			len = (size_t)(tab - line);
		if (len == 0 || line[0] == '#')
			continue;
		/* a UTF-8 BOM on the first line */
		if (it.line_no == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
			line += 3;
			len -= 3;
		}
		rc = ner_gazetteer_add(g, kind, line, len, err);
		if (rc < 0) {
			ms_error_set_path(err, path);
			ms_error_set_line(err, it.line_no);
			goto out;
		}
	}
out:
	ms_buf_release(&data);
	return rc;
}

static int kind_of_file(const char *name)
{
	char n[256];
	size_t l = strlen(name), i;

	if (l < 5 || l >= sizeof(n) ||
	    (strcmp(name + l - 4, ".txt") != 0 && strcmp(name + l - 4, ".tsv") != 0))
		return -1;
	/* "first-names.tsv" and "first_names.txt" alike */
	for (i = 0; i <= l; i++)
		n[i] = (char)(name[i] == '-' ? '_' : name[i]);
	if (strstr(n, "first_name") || strstr(n, "vorname"))
		return NER_GAZ_FIRST_NAME;
	if (strstr(n, "last_name") || strstr(n, "surname") || strstr(n, "nachname"))
		return NER_GAZ_LAST_NAME;
	if (strstr(n, "street_suffix"))
		return -1;
	if (strstr(n, "city") || strstr(n, "cities"))
		return NER_GAZ_CITY;
	if (strstr(n, "street"))
		return NER_GAZ_STREET;
	return -1;
}

static bool is_list_name(const char *name, void *arg)
{
	(void)arg;
	return kind_of_file(name) >= 0;
}

int ner_gazetteer_add_dir(struct ner_gazetteer *g, const char *dir, size_t *n_files_out,
                          struct ms_error *err)
{
	DIR *d;
	char **names = NULL;
	size_t n = 0, i, used = 0;
	struct ms_buf path = MS_BUF_INIT;
	int rc = 0;

	if (n_files_out)
		*n_files_out = 0;
	d = opendir(dir);
	if (!d) {
		rc = ms_error_set(err, MS_EIO, "cannot open gazetteer directory");
		ms_error_set_path(err, dir);
		return rc;
	}
	rc = ms_dir_names(d, is_list_name, NULL, 0, &names, &n);
	closedir(d);
	if (rc) {
		rc = ms_error_set(err, rc, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		ms_buf_reset(&path);
		if (ms_buf_addf(&path, "%s/%s", dir, names[i]) < 0) {
			rc = ms_error_set(err, MS_ENOMEM, "out of memory");
			goto out;
		}
		rc = ner_gazetteer_add_file(g, (enum ner_gaz_kind)kind_of_file(names[i]), path.buf,
		                            err);
		if (rc < 0)
			goto out;
		used++;
	}
	if (used == 0) {
		rc = ms_error_set(err, MS_ENOTFOUND, "no gazetteer list in directory");
		ms_error_set_path(err, dir);
	}
	if (n_files_out)
		*n_files_out = used;
out:
	ms_dir_names_free(names, n);
	ms_buf_release(&path);
	return rc;
}

size_t ner_gazetteer_count(const struct ner_gazetteer *g, enum ner_gaz_kind kind)
{
	return g && (unsigned)kind < NER_GAZ_COUNT ? g->n_kind[kind] : 0;
}

const char *ner_gazetteer_entry(const struct ner_gazetteer *g, enum ner_gaz_kind kind, size_t i)
{
	if (!g || (unsigned)kind >= NER_GAZ_COUNT || i >= g->n_kind[kind])
		return NULL;
	return g->e[g->by_kind[kind][i]].orig;
}

void ner_gazetteer_fingerprint(const struct ner_gazetteer *g, unsigned char out[MS_SHA256_LEN])
{
	unsigned char zero[MS_SHA256_LEN] = { 0 };

	ms_sha256(out, g ? g->sum : zero, MS_SHA256_LEN);
}

unsigned ner_gazetteer_lookup(const struct ner_gazetteer *g, const char *folded, size_t len)
{
	const struct ms_strmap_slot *slot;

	if (!g || g->map.n == 0)
		return 0;
	slot = ms_strmap_get(&g->map, folded, len);
	return slot ? (unsigned)slot->val : 0;
}

struct key_ref {
	const char *key;
	size_t len;
	unsigned bits;
};

static int cmp_key(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	size_t l = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, l);

	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

int ner_gazetteer_visit_keys(const struct ner_gazetteer *g, ner_gaz_key_fn fn, void *payload)
{
	struct key_ref *keys;
	size_t i, n = 0;
	int rc = 0;

	if (!g || g->map.n == 0)
		return 0;
	keys = ms_malloc(g->map.n * sizeof(*keys));
	if (!keys)
		return MS_ENOMEM;
	for (i = 0; i < g->map.cap; i++) {
		const struct ms_strmap_slot *sl = &g->map.slots[i];

		if (!sl->key)
			continue;
		keys[n].key = sl->key;
		keys[n].len = sl->len;
		keys[n].bits = (unsigned)sl->val;
		n++;
	}
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (i = 0; i < n && rc == 0; i++)
		rc = fn(keys[i].key, keys[i].len, keys[i].bits, payload);
	ms_free(keys);
	return rc;
}

size_t ner_gazetteer_n_keys(const struct ner_gazetteer *g)
{
	return g ? g->map.n : 0;
}

int ner_gazetteer_add_key(struct ner_gazetteer *g, const char *key, size_t len, unsigned bits)
{
	return map_or(g, key, len, bits);
}

int ner_gazetteer_copy(struct ner_gazetteer **out, const struct ner_gazetteer *g,
                       struct ms_error *err)
{
	struct ner_gazetteer *c = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if (!g)
		return 0;
	rc = ner_gazetteer_new(&c, err);
	if (rc < 0)
		return rc;
	for (i = 0; i < g->n; i++) {
		const struct gaz_entry *e = &g->e[i];

		rc = add_entry(c, e->kind, e->orig == e->folded ? NULL : e->orig, strlen(e->orig),
		               e->folded, e->len, true, err);
		if (rc < 0) {
			ner_gazetteer_free(c);
			return rc;
		}
	}
	*out = c;
	return 0;
}
