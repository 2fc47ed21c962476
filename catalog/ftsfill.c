/* SPDX-License-Identifier: MIT */
/*
 * The search index of an import into a fresh store, built on a second
 * thread: the writer hands each searchable text over as it stores its row,
 * the thread indexes them into the FTS5 table `search` of a private
 * in-memory database holding the same schema, and at the end the finished
 * index (FTS5's shadow tables) is copied into the store, inside its
 * transaction. Indexing then runs beside the row inserts instead of after
 * them. Not for imports into existing databases: those index their rows
 * through search_source at the end (store.c), next to the rows already
 * indexed.
 *
 * The writer also tokenizes: it runs the tokenizer `search` declares in the
 * schema on each text and queues the tokens, and the thread's `search` is
 * declared with a tokenizer that hands them back as they come. FTS5 then
 * builds the index it would build from the texts (same tokens, same
 * positions; the tests compare it with one built through search_source),
 * and the thread, which the import waits for at its end, does a fifth less
 * while the writer has time to spare.
 */
#include "catalog/catalog_int.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "catalog_schema.h"
#include "common/alloc.h"
#include "common/buf.h"

/*
 * Blocks of texts in flight and their size: a lock round trip per thousand
 * texts or so, little left to index after the writer's last row, and at
 * most FTSFILL_BLOCKS * (FTSFILL_BLOCK_MEM + one text) of memory.
 */
#define FTSFILL_BLOCKS    4
#define FTSFILL_BLOCK_MEM ((size_t)64 * 1024)

/* The name the finished index is attached under in the store's connection. */
#define FTSFILL_SCHEMA "ftsfill"

/* The thread's tokenizer: tokens as the writer queued them. */
#define FTSFILL_TOKENS "medsft_tokens"

/* The tokenize option in the schema, and its arguments at most. */
#define TOKENIZE_OPTION "tokenize = '"
#define TOKENIZE_ARGS   8

/*
 * Texts as records: int64_t id, uint32_t len, then len bytes of tokens,
 * each a length (one byte below 255, else 255 and a uint32_t) and its
 * bytes (unaligned).
 */
struct block {
	struct ms_buf data;
	size_t n;  /* records */
	bool last; /* the writer's final block */
	struct block *next;
};

struct catalog_ftsfill {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	pthread_t thread;
	bool running; /* thread started and not yet joined */
	struct block blocks[FTSFILL_BLOCKS];
	struct block *free_list, *full_head, *full_tail; /* under lock */
	struct block *cur;     /* the writer's; NULL once it handed over the last */
	bool cancel;           /* under lock: the writer gave up */
	bool done;             /* under lock: the thread finished; rc and error hold */
	int rc;                /* the thread's result */
	struct ms_error error; /* ... and its error */
	fts5_tokenizer tok;    /* the schema's tokenizer, run by the writer */
	Fts5Tokenizer *tok_obj;
	unsigned char *image; /* the finished database (sqlite3_malloc'd) */
	sqlite3_int64 image_len;
	sqlite3 *attached_to; /* the connection the image is attached to */
};

/* ---- tokens ------------------------------------------------------------- */

/* The FTS5 API of a connection; NULL without FTS5. */
static fts5_api *fts5_of(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
	(void)sqlite3_step(st);
	sqlite3_finalize(st);
	return api;
}

/* The value of the schema's tokenize option: "unicode61 remove_diacritics 2". */
static bool schema_tokenize(const char **value, size_t *len)
{
	const char *p = strstr(catalog_schema_sql, TOKENIZE_OPTION), *end;

	if (!p)
		return false;
	p += strlen(TOKENIZE_OPTION);
	end = strchr(p, '\'');
	if (!end || end == p)
		return false;
	*value = p;
	*len = (size_t)(end - p);
	return true;
}

/* The writer's callback: one token into the current block. */
static int put_token(void *ctx, int flags, const char *token, int n, int start, int end)
{
	struct ms_buf *d = ctx;
	uint32_t n32 = (uint32_t)n;

	(void)flags;
	(void)start;
	(void)end;
	if (n < 0)
		return SQLITE_ERROR;
	if (n32 < 255) {
		ms_buf_addch(d, (int)n32);
	} else {
		ms_buf_addch(d, 255);
		ms_buf_add(d, &n32, sizeof(n32));
	}
	ms_buf_add(d, token, n32);
	return ms_buf_status(d) ? SQLITE_NOMEM : SQLITE_OK;
}

/* The thread's tokenizer: no state, one instance for every table. */
static int tokens_create(void *ctx, const char **argv, int argc, Fts5Tokenizer **out)
{
	static char instance;

	(void)ctx;
	(void)argv;
	(void)argc;
	*out = (Fts5Tokenizer *)(void *)&instance;
	return SQLITE_OK;
}

static void tokens_delete(Fts5Tokenizer *t)
{
	(void)t;
}

/* Hands the tokens of a record back; offsets are those in the record. */
static int tokens_tokenize(Fts5Tokenizer *t, void *ctx, int flags, const char *text, int n,
                           int (*token)(void *, int, const char *, int, int, int))
{
	const char *p = text, *end = text + (n > 0 ? n : 0);
	int rc = SQLITE_OK;

	(void)t;
	(void)flags;
	while (rc == SQLITE_OK && p < end) {
		uint32_t len = (unsigned char)*p++;

		if (len == 255) {
			if (end - p < (ptrdiff_t)sizeof(len))
				return SQLITE_CORRUPT;
			memcpy(&len, p, sizeof(len));
			p += sizeof(len);
		}
		if ((size_t)(end - p) < len)
			return SQLITE_CORRUPT;
		rc = token(ctx, 0, p, (int)len, (int)(p - text), (int)(p - text) + (int)len);
		p += len;
	}
	return rc;
}

/* ---- the thread -------------------------------------------------------- */

static int nomem(struct ms_error *err)
{
	return ms_error_set(err, MS_ENOMEM, "out of memory");
}

static int aux_error(struct ms_error *err, sqlite3 *db, const char *what)
{
	if (!db || sqlite3_errcode(db) == SQLITE_NOMEM)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return ms_error_set(err, MS_EDB, "%s: %s", what, sqlite3_errmsg(db));
}

/* Waits for a full block; NULL once the writer gave up. */
static struct block *take_full(struct catalog_ftsfill *f)
{
	struct block *b = NULL;

	pthread_mutex_lock(&f->lock);
	while (!f->full_head && !f->cancel)
		pthread_cond_wait(&f->changed, &f->lock);
	if (!f->cancel) {
		b = f->full_head;
		f->full_head = b->next;
		if (!f->full_head)
			f->full_tail = NULL;
	}
	pthread_mutex_unlock(&f->lock);
	return b;
}

static void give_back(struct catalog_ftsfill *f, struct block *b)
{
	pthread_mutex_lock(&f->lock);
	b->next = f->free_list;
	f->free_list = b;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
}

/*
 * The queue as a table, ftsfill_queue(id, text), read by one INSERT ...
 * SELECT as the writer fills it (a scan waits for the next block): a
 * statement per text would cost a third more than indexing it, and a
 * multi-row INSERT opens a savepoint, which makes FTS5 write its pending
 * terms out as a segment each time.
 */
struct queue_vtab {
	sqlite3_vtab base;
	struct catalog_ftsfill *f;
};

struct queue_cursor {
	sqlite3_vtab_cursor base;
	struct catalog_ftsfill *f;
	struct block *b; /* the block read, NULL at the end */
	const char *p;   /* its next record */
	size_t left;     /* records from p on */
	int64_t id;      /* the current record */
	const char *text;
	uint32_t len;
};

static int queue_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                         sqlite3_vtab **out, char **errmsg)
{
	struct queue_vtab *t;
	int rc;

	(void)argc;
	(void)argv;
	(void)errmsg;
	rc = sqlite3_declare_vtab(db, "CREATE TABLE x (id INTEGER, text TEXT)");
	if (rc != SQLITE_OK)
		return rc;
	t = ms_calloc(1, sizeof(*t));
	if (!t)
		return SQLITE_NOMEM;
	t->f = aux;
	*out = &t->base;
	return SQLITE_OK;
}

static int queue_disconnect(sqlite3_vtab *vt)
{
	ms_free(vt);
	return SQLITE_OK;
}

static int queue_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
	(void)vt;
	info->estimatedCost = 1e6;
	return SQLITE_OK;
}

static int queue_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **out)
{
	struct queue_cursor *c = ms_calloc(1, sizeof(*c));

	if (!c)
		return SQLITE_NOMEM;
	c->f = ((struct queue_vtab *)vt)->f;
	*out = &c->base;
	return SQLITE_OK;
}

static int queue_close(sqlite3_vtab_cursor *cur)
{
	struct queue_cursor *c = (struct queue_cursor *)cur;

	if (c->b)
		give_back(c->f, c->b);
	ms_free(c);
	return SQLITE_OK;
}

/*
 * Moves to the next record, across blocks: the end after the writer's last
 * block; SQLITE_INTERRUPT once it gave up.
 */
static int queue_next(sqlite3_vtab_cursor *cur)
{
	struct queue_cursor *c = (struct queue_cursor *)cur;

	while (c->b && !c->left) {
		bool last = c->b->last;

		give_back(c->f, c->b);
		c->b = last ? NULL : take_full(c->f);
		if (!last && !c->b)
			return SQLITE_INTERRUPT;
		if (c->b) {
			c->p = c->b->data.buf;
			c->left = c->b->n;
		}
	}
	if (!c->b)
		return SQLITE_OK;
	memcpy(&c->id, c->p, sizeof(c->id));
	memcpy(&c->len, c->p + sizeof(c->id), sizeof(c->len));
	c->text = c->p + sizeof(c->id) + sizeof(c->len);
	c->p = c->text + c->len;
	c->left--;
	return SQLITE_OK;
}

static int queue_filter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str, int argc,
                        sqlite3_value **argv)
{
	struct queue_cursor *c = (struct queue_cursor *)cur;

	(void)idx_num;
	(void)idx_str;
	(void)argc;
	(void)argv;
	if (c->b)
		return SQLITE_MISUSE; /* the queue is read once */
	c->b = take_full(c->f);
	if (!c->b)
		return SQLITE_INTERRUPT;
	c->p = c->b->data.buf;
	c->left = c->b->n;
	return queue_next(cur);
}

static int queue_eof(sqlite3_vtab_cursor *cur)
{
	return ((struct queue_cursor *)cur)->b == NULL;
}

static int queue_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct queue_cursor *c = (struct queue_cursor *)cur;

	if (col == 0)
		sqlite3_result_int64(ctx, c->id);
	else
		sqlite3_result_text(ctx, c->text, (int)c->len, SQLITE_TRANSIENT);
	return SQLITE_OK;
}

static int queue_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out)
{
	*out = ((struct queue_cursor *)cur)->id;
	return SQLITE_OK;
}

/* Eponymous only (no xCreate): the table exists without CREATE. */
static const sqlite3_module queue_module = {
	.xConnect = queue_connect,
	.xBestIndex = queue_best_index,
	.xDisconnect = queue_disconnect,
	.xOpen = queue_open,
	.xClose = queue_close,
	.xFilter = queue_filter,
	.xNext = queue_next,
	.xEof = queue_eof,
	.xColumn = queue_column,
	.xRowid = queue_rowid,
};

/*
 * The thread's database: the whole catalogue schema, so that `search` is
 * configured (hashsize) exactly as the store's, but with the tokenizer
 * that takes the writer's tokens; its content view stays empty, which
 * inserts into an external-content table never read. No journal: a failed
 * fill is thrown away whole.
 */
static int aux_open(struct catalog_ftsfill *f, sqlite3 **db_out, struct ms_error *err)
{
	static fts5_tokenizer tokens = { tokens_create, tokens_delete, tokens_tokenize };
	struct ms_buf schema = MS_BUF_INIT;
	const char *value = NULL;
	size_t len = 0;
	fts5_api *api;
	sqlite3 *db = NULL;
	int rc = 0;

	if (sqlite3_open_v2(":memory:", &db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		*db_out = db;
		return aux_error(err, db, "cannot open the search index database");
	}
	*db_out = db;
	if (!schema_tokenize(&value, &len))
		return ms_error_set(err, MS_EDB, "no tokenizer in the catalogue schema");
	ms_buf_add(&schema, catalog_schema_sql, (size_t)(value - catalog_schema_sql));
	ms_buf_adds(&schema, FTSFILL_TOKENS);
	ms_buf_adds(&schema, value + len);
	if (ms_buf_status(&schema)) {
		ms_buf_release(&schema);
		return nomem(err);
	}
	api = fts5_of(db);
	if (!api || api->xCreateTokenizer(api, FTSFILL_TOKENS, NULL, &tokens, NULL) != SQLITE_OK ||
	    sqlite3_create_module_v2(db, "ftsfill_queue", &queue_module, f, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode = OFF", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, schema.buf, NULL, NULL, NULL) != SQLITE_OK)
		rc = aux_error(err, db, "cannot create the search index");
	ms_buf_release(&schema);
	return rc;
}

/*
 * Indexes the queue until the writer's last block, in one transaction (one
 * segment per hashsize of terms, written at COMMIT), and takes the image;
 * MS_EUSAGE if the writer gave up.
 */
static int fill(struct catalog_ftsfill *f, sqlite3 *db, struct ms_error *err)
{
	int s = sqlite3_exec(db,
	                     "BEGIN; INSERT INTO search (rowid, text) SELECT id, text FROM "
	                     "ftsfill_queue; COMMIT",
	                     NULL, NULL, NULL);

	if (s == SQLITE_INTERRUPT)
		return MS_EUSAGE; /* nobody waits for this result */
	if (s != SQLITE_OK)
		return aux_error(err, db, "cannot build the search index");
	f->image = sqlite3_serialize(db, "main", &f->image_len, 0);
	if (!f->image)
		return ms_error_set(err, MS_ENOMEM, "out of memory");
	return 0;
}

static void *fill_main(void *arg)
{
	struct catalog_ftsfill *f = arg;
	sqlite3 *db = NULL;
	int rc;

	rc = aux_open(f, &db, &f->error);
	if (!rc)
		rc = fill(f, db, &f->error);
	sqlite3_close(db);
	pthread_mutex_lock(&f->lock);
	f->rc = rc;
	f->done = true;
	pthread_cond_broadcast(&f->changed);
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/* ---- the writer -------------------------------------------------------- */

/*
 * The tokenizer the schema declares for `search`, from db's FTS5 (the
 * library the store's index is read with).
 */
static int tokenizer_open(struct catalog_ftsfill *f, sqlite3 *db, struct ms_error *err)
{
	char spec[128], *argv[TOKENIZE_ARGS + 1], *p;
	const char *value = NULL;
	size_t len = 0;
	void *user = NULL;
	fts5_api *api = fts5_of(db);
	int argc = 0, rc;

	if (!api)
		return ms_error_set(err, MS_EDB, "SQLite has no FTS5");
	if (!schema_tokenize(&value, &len) || len >= sizeof(spec))
		return ms_error_set(err, MS_EDB, "no tokenizer in the catalogue schema");
	memcpy(spec, value, len);
	spec[len] = '\0';
	for (p = spec; *p && argc <= TOKENIZE_ARGS;) {
		argv[argc++] = p;
		p += strcspn(p, " ");
		while (*p == ' ')
			*p++ = '\0';
	}
	if (argc == 0 || argc > TOKENIZE_ARGS)
		return ms_error_set(err, MS_EDB,
		                    "tokenizer of the catalogue schema not understood");
	rc = api->xFindTokenizer(api, argv[0], &user, &f->tok);
	if (rc == SQLITE_OK)
		rc = f->tok.xCreate(user, (const char **)argv + 1, argc - 1, &f->tok_obj);
	if (rc != SQLITE_OK) {
		f->tok_obj = NULL;
		return ms_error_set(err, MS_EDB, "cannot create the tokenizer '%s'", argv[0]);
	}
	return 0;
}

int catalog_ftsfill_start(struct catalog_ftsfill **out, sqlite3 *db, struct ms_error *err)
{
	struct catalog_ftsfill *f;
	size_t i;
	int rc;

	*out = NULL;
	f = ms_calloc(1, sizeof(*f));
	if (!f)
		return nomem(err);
	for (i = 0; i < FTSFILL_BLOCKS; i++) {
		ms_buf_init(&f->blocks[i].data, 0);
		f->blocks[i].next = i + 1 < FTSFILL_BLOCKS ? &f->blocks[i + 1] : NULL;
	}
	if (pthread_mutex_init(&f->lock, NULL) != 0) {
		ms_free(f);
		return nomem(err);
	}
	if (pthread_cond_init(&f->changed, NULL) != 0) {
		pthread_mutex_destroy(&f->lock);
		ms_free(f);
		return nomem(err);
	}
	f->cur = &f->blocks[0];
	f->free_list = &f->blocks[1];
	for (i = 0; i < FTSFILL_BLOCKS; i++) {
		if (ms_buf_grow(&f->blocks[i].data, FTSFILL_BLOCK_MEM + 64)) {
			catalog_ftsfill_free(f);
			return nomem(err);
		}
	}
	rc = tokenizer_open(f, db, err);
	if (rc) {
		catalog_ftsfill_free(f);
		return rc;
	}
	if (pthread_create(&f->thread, NULL, fill_main, f) != 0) {
		catalog_ftsfill_free(f);
		return ms_error_set(err, MS_ENOMEM, "cannot start the search index thread");
	}
	f->running = true;
	*out = f;
	return 0;
}

/* The thread's error, after it stopped before the writer's last block. */
static int thread_failed(struct catalog_ftsfill *f, struct ms_error *err)
{
	assert(f->rc < 0);
	if (err)
		*err = f->error;
	return f->rc;
}

/*
 * Queues the current block (the last one if last) and, unless last, takes a
 * free one, waiting while the thread is behind. Fails with the thread's
 * error if it stopped.
 */
static int hand_over(struct catalog_ftsfill *f, bool last, struct ms_error *err)
{
	struct block *b = f->cur;
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	b->last = last;
	b->next = NULL;
	if (f->full_tail)
		f->full_tail->next = b;
	else
		f->full_head = b;
	f->full_tail = b;
	f->cur = NULL;
	pthread_cond_broadcast(&f->changed);
	while (!last && !f->free_list && !f->done)
		pthread_cond_wait(&f->changed, &f->lock);
	if (f->done) {
		rc = thread_failed(f, err);
	} else if (!last) {
		f->cur = f->free_list;
		f->free_list = f->cur->next;
		ms_buf_reset(&f->cur->data);
		f->cur->n = 0;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int catalog_ftsfill_add(struct catalog_ftsfill *f, int64_t id, const char *text, size_t len,
                        struct ms_error *err)
{
	struct ms_buf *d;
	size_t start, tokens;
	uint32_t len32 = 0;
	int rc;

	assert(f->cur);
	if (len > INT32_MAX)
		return ms_error_set(err, MS_ETOOBIG, "text of row %" PRId64 " too long to index",
		                    id);
	d = &f->cur->data;
	start = d->len;
	ms_buf_add(d, &id, sizeof(id));
	ms_buf_add(d, &len32, sizeof(len32));
	if (ms_buf_status(d))
		return nomem(err);
	rc = f->tok.xTokenize(f->tok_obj, d, FTS5_TOKENIZE_DOCUMENT, text, (int)len, put_token);
	tokens = d->len - start - sizeof(id) - sizeof(len32);
	if (rc == SQLITE_OK && tokens > INT32_MAX)
		rc = SQLITE_TOOBIG;
	if (rc != SQLITE_OK) {
		ms_buf_truncate(d, start);
		if (rc == SQLITE_NOMEM)
			return nomem(err);
		if (rc == SQLITE_TOOBIG)
			return ms_error_set(err, MS_ETOOBIG,
			                    "text of row %" PRId64 " too long to index", id);
		return ms_error_set(err, MS_EDB, "cannot tokenize the text of row %" PRId64, id);
	}
	len32 = (uint32_t)tokens;
	memcpy(d->buf + start + sizeof(id), &len32, sizeof(len32));
	f->cur->n++;
	if (d->len >= FTSFILL_BLOCK_MEM)
		return hand_over(f, false, err);
	return 0;
}

int catalog_ftsfill_end(struct catalog_ftsfill *f, struct ms_error *err)
{
	assert(f->cur);
	return hand_over(f, true, err);
}

/* Waits for the thread; its result. */
static int join(struct catalog_ftsfill *f, struct ms_error *err)
{
	pthread_join(f->thread, NULL);
	f->running = false;
	if (f->rc)
		return thread_failed(f, err);
	return 0;
}

/*
 * Replaces the store's index by the thread's: every shadow table of
 * `search` the store has, emptied and filled from the image (same
 * declarations, so SQLite copies the records as they are).
 */
static int copy_tables(sqlite3 *db, struct ms_error *err)
{
	static const char *const shadow[] = { "search_data", "search_idx", "search_config",
		                              "search_docsize", "search_content" };
	struct ms_buf sql = MS_BUF_INIT;
	sqlite3_stmt *st = NULL;
	int rc = 0, s;

	if (sqlite3_prepare_v2(db,
	                       "SELECT name FROM main.sqlite_schema WHERE type = 'table' AND "
	                       "name IN (?1, ?2, ?3, ?4, ?5) ORDER BY name",
	                       -1, &st, NULL) != SQLITE_OK)
		return catalog_db_error(err, db, "cannot copy the search index");
	for (s = 0; s < 5; s++)
		sqlite3_bind_text(st, s + 1, shadow[s], -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		ms_buf_addf(&sql,
		            "DELETE FROM main.\"%s\"; INSERT INTO main.\"%s\" SELECT * FROM "
		            "%s.\"%s\";",
		            name, name, FTSFILL_SCHEMA, name);
	}
	if (s != SQLITE_DONE)
		rc = catalog_db_error(err, db, "cannot copy the search index");
	sqlite3_finalize(st);
	if (!rc && ms_buf_status(&sql))
		rc = nomem(err);
	if (!rc && sqlite3_exec(db, sql.buf, NULL, NULL, NULL) != SQLITE_OK)
		rc = catalog_db_error(err, db, "cannot copy the search index");
	ms_buf_release(&sql);
	return rc;
}

int catalog_ftsfill_copy(struct catalog_ftsfill *f, sqlite3 *db, struct ms_error *err)
{
	unsigned char *image;
	int rc;

	assert(!f->cur && f->running);
	rc = join(f, err);
	if (rc)
		return rc;
	if (sqlite3_exec(db, "ATTACH ':memory:' AS " FTSFILL_SCHEMA, NULL, NULL, NULL) != SQLITE_OK)
		return catalog_db_error(err, db, "cannot copy the search index");
	f->attached_to = db;
	/* the connection owns the image from here, even if this fails */
	image = f->image;
	f->image = NULL;
	if (sqlite3_deserialize(db, FTSFILL_SCHEMA, image, f->image_len, f->image_len,
	                        SQLITE_DESERIALIZE_READONLY | SQLITE_DESERIALIZE_FREEONCLOSE) !=
	    SQLITE_OK)
		return catalog_db_error(err, db, "cannot copy the search index");
	return copy_tables(db, err);
}

void catalog_ftsfill_free(struct catalog_ftsfill *f)
{
	size_t i;

	if (!f)
		return;
	if (f->running) {
		pthread_mutex_lock(&f->lock);
		f->cancel = true;
		pthread_cond_broadcast(&f->changed);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
	}
	/* fails only inside a transaction: the connection frees the image
	 * when it closes then */
	if (f->attached_to)
		(void)sqlite3_exec(f->attached_to, "DETACH " FTSFILL_SCHEMA, NULL, NULL, NULL);
	for (i = 0; i < FTSFILL_BLOCKS; i++)
		ms_buf_release(&f->blocks[i].data);
	if (f->tok_obj)
		f->tok.xDelete(f->tok_obj);
	sqlite3_free(f->image);
	pthread_cond_destroy(&f->changed);
	pthread_mutex_destroy(&f->lock);
	ms_free(f);
}
