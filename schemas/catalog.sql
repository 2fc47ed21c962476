-- SPDX-License-Identifier: MIT
-- Schema of the medsft catalogue database (catalog.db), version 2.
-- Embedded into the binary at build time; PRAGMA user_version records it.
-- A catalogue is keyed by (system, version, part): part 'classification'
-- holds codes, part 'index' holds alphabetical-index terms.
--
-- Row ids of entry, rubric and term come from one counter, so that one id
-- names one searchable text (see search_source below): the import numbers
-- the rows of all three tables in the order it writes them (an entry, its
-- rubrics, the next entry, ...; index terms), from the largest id of the
-- three tables + 1 on. Ids of one table ascend in source order. Version 1
-- databases (each table numbered from 1) are renumbered by the first import
-- that writes to them; older version 2 databases used disjoint ranges per
-- table (rubric ids from 2^40, term ids from 2^41), which stay valid.

CREATE TABLE catalog (
	id INTEGER PRIMARY KEY,
	system TEXT NOT NULL,          -- icd10gm, ops, icdo3, goae, goz
	version TEXT NOT NULL,         -- 2025, 2019, ...
	part TEXT NOT NULL CHECK (part IN ('classification', 'index')),
	title TEXT,
	release_date TEXT,             -- ISO date from the file, if it says
	format TEXT NOT NULL,          -- claml, flat, alpha, goae
	lang TEXT,
	source TEXT NOT NULL,          -- file name the catalogue was read from
	source_sha256 TEXT NOT NULL,
	tool_version TEXT NOT NULL,
	UNIQUE (system, version, part)
);

-- One class: chapter, block, category (ClaML kinds) or fee (GOÄ numbers).
CREATE TABLE entry (
	id INTEGER PRIMARY KEY,
	catalog_id INTEGER NOT NULL REFERENCES catalog (id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,          -- order in the source file
	code TEXT NOT NULL,
	kind TEXT NOT NULL,
	parent TEXT,                   -- code of the superclass
	usage TEXT,                    -- dagger, aster, optional
	label TEXT,                    -- preferred label
	terminal INTEGER NOT NULL,     -- 1 for codable leaves
	modified INTEGER NOT NULL,     -- 1 if created by ClaML modifier expansion
	line INTEGER,                  -- line in the source file
	meta TEXT                      -- JSON object of Meta name/value pairs
);
-- One code once per catalogue. A named index rather than a UNIQUE table
-- constraint, so that the first import into a new database can build it
-- after the rows, sorted, like the other indexes (kept up row by row it
-- cost a quarter of the writer's time); the readers refuse duplicate codes
-- themselves, with their line. Databases made before have the same
-- constraint as the table's (sqlite_autoindex_entry_1), which works alike.
CREATE UNIQUE INDEX entry_code ON entry (catalog_id, code);
CREATE INDEX entry_parent ON entry (catalog_id, parent);

-- Rubrics other than the preferred label (which is entry.label).
CREATE TABLE rubric (
	id INTEGER PRIMARY KEY,
	entry_id INTEGER NOT NULL REFERENCES entry (id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,
	kind TEXT NOT NULL,            -- as declared by the file: inclusion, exclusion, note, ...
	text TEXT NOT NULL,
	usage TEXT                     -- e.g. obs (obsolete synonym, ICD-O-3)
);
CREATE INDEX rubric_entry ON rubric (entry_id);

-- Codes a rubric refers to (e.g. the targets of an exclusion).
CREATE TABLE reference (
	rubric_id INTEGER NOT NULL REFERENCES rubric (id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,
	code TEXT NOT NULL,
	usage TEXT,
	PRIMARY KEY (rubric_id, seq)
) WITHOUT ROWID;
CREATE INDEX reference_code ON reference (code);

-- Alphabetical-index terms.
CREATE TABLE term (
	id INTEGER PRIMARY KEY,
	catalog_id INTEGER NOT NULL REFERENCES catalog (id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,
	type INTEGER NOT NULL,
	term_id TEXT,
	valid INTEGER NOT NULL,
	code TEXT,
	code_asterisk TEXT,
	code_extra TEXT,
	code2 TEXT,                    -- Alpha-ID "Primärschlüssel 2"
	text TEXT NOT NULL
);
-- No index on term: it is read whole per catalogue (qa, stats) in id order,
-- which the rowid gives; an index by code cost a tenth of the import.

-- The searchable texts: labels, preferredLong/inclusion/definition rubrics
-- that are not obsolete, and index terms, each under the id of its row.
CREATE VIEW search_source (id, text, catalog_id, code, source) AS
	SELECT id, label, catalog_id, code, 'label' FROM entry WHERE label <> ''
	UNION ALL
	SELECT r.id, r.text, e.catalog_id, e.code, 'rubric:' || r.kind
	FROM rubric r JOIN entry e ON e.id = r.entry_id
	WHERE r.kind IN ('preferredLong', 'inclusion', 'definition') AND r.usage IS NULL
	      AND r.text <> ''
	UNION ALL
	SELECT id, text, catalog_id, code, 'index' FROM term WHERE text <> '';

-- Full-text index over search_source. unicode61 with remove_diacritics 2
-- makes search case- and diacritics-insensitive ("Bechterew" = "bechterew",
-- "Ödem" = "odem"). External content: the texts are stored once, in their
-- tables, and FTS5 reads them back through the view by id; the import adds
-- and removes index rows itself ('delete' with the old values before their
-- rows go). columnsize = 0 drops FTS5's per-document size table: a fifth
-- less import time; bm25 then counts the tokens of the matching rows at
-- query time.
CREATE VIRTUAL TABLE search USING fts5 (
	text,
	catalog_id UNINDEXED,
	code UNINDEXED,
	source UNINDEXED,              -- label, rubric:<kind>, index
	tokenize = 'unicode61 remove_diacritics 2',
	columnsize = 0,
	content = 'search_source',
	content_rowid = 'id'
);
-- FTS5 writes its pending terms out as a new segment whenever they exceed
-- hashsize (1 MiB by default), and merges segments as they pile up: with
-- 8 MiB a whole ICD-10-GM import is one segment, written once (a twentieth
-- less import time, about 5 MiB more memory).
INSERT INTO search (search, rank) VALUES ('hashsize', 8388608);

PRAGMA user_version = 2;
