-- SPDX-License-Identifier: MIT
-- Schema of the medsft catalogue database (catalog.db), version 1.
-- Embedded into the binary at build time; PRAGMA user_version records it.
-- A catalogue is keyed by (system, version, part): part 'classification'
-- holds codes, part 'index' holds alphabetical-index terms.

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
	meta TEXT,                     -- JSON object of Meta name/value pairs
	UNIQUE (catalog_id, code)
);
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
CREATE INDEX term_code ON term (catalog_id, code);

-- Full-text index over labels, preferredLong/inclusion rubrics and index
-- terms. unicode61 with remove_diacritics 2 makes search case- and
-- diacritics-insensitive ("Bechterew" = "bechterew", "Ödem" = "odem").
-- columnsize = 0 drops FTS5's per-document size table: a fifth less import
-- time; bm25 then counts the tokens of the matching rows at query time.
CREATE VIRTUAL TABLE search USING fts5 (
	text,
	catalog_id UNINDEXED,
	code UNINDEXED,
	source UNINDEXED,              -- label, rubric:<kind>, index
	tokenize = 'unicode61 remove_diacritics 2',
	columnsize = 0
);

PRAGMA user_version = 1;
