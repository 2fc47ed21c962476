-- SPDX-License-Identifier: MIT
-- Schema of the medsft de-identification audit database (audit.db), version 1.
-- Compiled into the binary (deid/audit.c keeps an identical copy; a unit test
-- compares them byte for byte); PRAGMA user_version records the version.
-- The database never holds text from a record: documents appear by their
-- pseudonyms, spans by label, offsets, length, source and a keyed hash.

-- One run of 'medsft deid run'; rows appear when the run completes.
CREATE TABLE run (
	id INTEGER PRIMARY KEY,
	tool_version TEXT NOT NULL,
	mode TEXT NOT NULL CHECK (mode IN ('surrogate', 'tag', 'mask')),
	shard TEXT,                    -- 'K/N', NULL when not sharded
	key_fingerprint TEXT NOT NULL, -- HMAC(key, 'medsft-key-fingerprint'), hex
	rules_fingerprint TEXT,        -- detector rules and dictionaries
	model_fingerprint TEXT,        -- NER model, NULL without one
	surrogates_fingerprint TEXT,   -- surrogate rules and lists (surrogate mode)
	started TEXT NOT NULL,         -- ISO 8601 UTC (SOURCE_DATE_EPOCH when set)
	finished TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('ok', 'rejects')),
	n_records INTEGER NOT NULL,    -- records of this run's shard
	n_documents INTEGER NOT NULL,
	n_spans INTEGER NOT NULL,
	n_rejects INTEGER NOT NULL
);

-- The inputs of a run, in command-line order.
CREATE TABLE input (
	run_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,          -- 1-based
	name TEXT NOT NULL,            -- as given; '-' for standard input
	sha256 TEXT,                   -- NULL for standard input
	PRIMARY KEY (run_id, seq)
);

-- One de-identified document.
CREATE TABLE document (
	id INTEGER PRIMARY KEY,
	run_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,
	input_seq INTEGER NOT NULL,
	record INTEGER NOT NULL,       -- 1-based record number in its input
	pseudonym TEXT NOT NULL,       -- output id ('d-...')
	group_pseudonym TEXT,          -- output group ('p-...')
	length INTEGER NOT NULL,       -- bytes of the original text
	clean_length INTEGER NOT NULL, -- bytes of the cleaned text
	n_spans INTEGER NOT NULL
);
CREATE INDEX document_run ON document (run_id);

-- Spans per label of a document (labels without spans are left out).
-- Span and label rows have no key but the rowid: they are written once per
-- span, and an index per row would cost more than the summary saves.
CREATE TABLE document_label (
	document_id INTEGER NOT NULL REFERENCES document (id) ON DELETE CASCADE,
	label TEXT NOT NULL,
	n INTEGER NOT NULL
);

-- One replaced (or kept) span, at its offsets in the original text.
CREATE TABLE span (
	document_id INTEGER NOT NULL REFERENCES document (id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,          -- 0-based, in text order
	label TEXT NOT NULL,
	start_off INTEGER NOT NULL,    -- byte offsets [start_off, end_off) in the original
	end_off INTEGER NOT NULL,
	length INTEGER NOT NULL,       -- end_off - start_off
	source TEXT,                   -- rule name, 'dict:<field>', 'ner', ...
	kept INTEGER NOT NULL,         -- 1 when left in the text (TITLE, ages up to 89)
	text_hmac TEXT NOT NULL        -- HMAC(key, 'audit-span' 0x1f text), hex
);

-- A rejected record: where it was and why (messages carry no record text).
CREATE TABLE reject (
	run_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,
	input_seq INTEGER NOT NULL,
	record INTEGER NOT NULL,
	line INTEGER,                  -- 1-based line where the record starts
	code TEXT NOT NULL,            -- status name ('malformed input', ...)
	reason TEXT NOT NULL
);
CREATE INDEX reject_run ON reject (run_id);
