#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""End-to-end checks of a `medsft build` run on synthetic exports.

usage: check_e2e.py [--audit DB] DEID_JSONL REPORTS_DIR TRUTH_CSV...

TRUTH_CSV are the synthetic exports in CSV form, in the order their records
were de-identified (a CSV export is its own truth; an HL7 export's truth is
the CSV export made with the same --n and --seed). Prints counts that must
all be zero, and exits 1 if one is not:

  - an original identifier of a record (patient name in either order,
    patient id, case id, accession, birth date, phone, referrer and
    radiologist name) still in its de-identified text: a surrogate equal to
    its original, or PHI that was missed;
  - a patient (group) in two parts of the report dataset;
  - a report example whose text is not in the de-identified output;
  - with --audit, an original identifier anywhere in the audit database
    (every text and blob value of every table).
"""
import csv
import json
import os
import sqlite3
import sys


def truth(paths):
    for p in paths:
        with open(p, newline="", encoding="utf-8") as f:
            yield from csv.DictReader(f)


def identifiers(row):
    return [
        f"{row['patient.given']} {row['patient.family']}",
        f"{row['patient.family']}, {row['patient.given']}",
        row["patient.id"], row["case.id"], row["accession"],
        row["patient.birthdate"], row["patient.phone"],
        f"{row['referrer.given']} {row['referrer.family']}",
        f"{row['performer.given']} {row['performer.family']}",
        f"{row['patient.street']}, {row['patient.zip']}",
    ]


def audit_leaks(db, rows):
    """Original identifiers (and raw ids) found in any value of the audit database."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    blob = []
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for t in tables:
        for r in con.execute(f'SELECT * FROM "{t}"'):
            for v in r:
                if isinstance(v, bytes):
                    blob.append(v.decode("latin-1"))
                elif isinstance(v, str):
                    blob.append(v)
    con.close()
    everything = "\n".join(blob)
    values = set()
    for row in rows:
        values.update(identifiers(row))
        values.update([row["id"], row["patient"], row["patient.family"]])
    found = sorted(v for v in values if v and v in everything)
    print(f"audit database: {len(tables)} tables, {len(blob)} values; "
          f"original values found: {len(found)}")
    return len(found)


def main():
    args = sys.argv[1:]
    audit = None
    if args and args[0] == "--audit":
        audit, args = args[1], args[2:]
    deid, reports, truths = args[0], args[1], args[2:]
    with open(deid, encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    rows = list(truth(truths))
    print(f"records: {len(docs)} de-identified, {len(rows)} in the truth")
    leaks = 0
    checked = 0
    for doc, row in zip(docs, rows):
        text = doc["text"]
        for v in identifiers(row):
            checked += 1
            if v in text:
                leaks += 1
                print(f"leak: record {doc['id']}: a {len(v)}-character original value")
        if row["id"] in text or doc["id"] == row["id"] or doc["group"] == row["patient"]:
            leaks += 1
            print(f"leak: record {doc['id']}: an original id")
    print(f"original values checked: {checked}; found in the cleaned text: {leaks}")

    by_id = {d["id"]: d for d in docs}
    part_of = {}
    two_parts = 0
    not_from_deid = 0
    n = 0
    data = os.path.join(reports, "data")
    for name in sorted(os.listdir(data)):
        part = name.split(".")[0]
        with open(os.path.join(data, name), encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                n += 1
                group, _, rid = rec["meta"]["source"].partition("/")
                if part_of.setdefault(group, part) != part:
                    two_parts += 1
                user = rec["messages"][1]["content"]
                d = by_id.get(rid)
                if d is None or d["group"] != group or d["text"] not in user:
                    not_from_deid += 1
    print(f"report examples: {n}; patients: {len(part_of)}; patients in two parts: "
          f"{two_parts}; examples not from the de-identified output: {not_from_deid}")
    in_audit = audit_leaks(audit, rows) if audit else 0
    return 1 if leaks or two_parts or not_from_deid or in_audit or not n else 0


if __name__ == "__main__":
    sys.exit(main())
