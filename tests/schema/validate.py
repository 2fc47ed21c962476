#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Validate a medsft dataset folder against schemas/.

usage: validate.py [--schemas DIR] DATASET_DIR

Checks every JSONL line of every data file listed in manifest.json against the
record schema of the manifest's format, plus manifest.json and stats.json
against their schemas, and the promises the schemas cannot express: turn
alternation, one record shape per file (Hugging Face datasets needs it),
"\\n" line ends, file hashes, sizes and counts, dataset_info.json and the
README front matter pointing at existing files.

Runs with Debian's /usr/bin/python3 and python3-jsonschema (Draft 2020-12).
Exit status: 0 valid, 1 invalid, 2 usage error.
"""

import argparse
import gzip
import hashlib
import json
import os
import sys

import jsonschema

FORMAT_SCHEMAS = {
    "messages": "sft-messages.schema.json",
    "prompt-completion": "sft-prompt-completion.schema.json",
    "alpaca": "sft-alpaca.schema.json",
    "sharegpt": "sft-sharegpt.schema.json",
}

# role key, content key, system, user, assistant
STYLES = {
    "messages": ("role", "content", "system", "user", "assistant"),
    "prompt-completion": ("role", "content", "system", "user", "assistant"),
    "sharegpt": ("from", "value", "system", "human", "gpt"),
}


class Checker:
    def __init__(self):
        self.errors = []

    def fail(self, where, msg):
        self.errors.append(f"{where}: {msg}")


def load_schema(schema_dir, name):
    with open(os.path.join(schema_dir, name), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def validate(chk, validator, obj, where):
    for e in sorted(validator.iter_errors(obj), key=lambda e: list(e.path)):
        path = "/".join(str(p) for p in e.path)
        chk.fail(where, f"{path or '<root>'}: {e.message}")


def shape(value):
    """Key sets and scalar types of a JSON value. Element types of arrays are
    the schema's business; an empty array unifies with any list in Arrow."""
    if isinstance(value, dict):
        return ("object", tuple((k, shape(v)) for k, v in value.items()))
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def conversation(fmt, rec):
    if fmt == "messages":
        return rec["messages"]
    if fmt == "sharegpt":
        return rec["conversations"]
    if fmt == "prompt-completion":
        return rec["prompt"] + rec["completion"]
    return None


def check_turns(chk, fmt, rec, where):
    msgs = conversation(fmt, rec)
    if msgs is None:
        return
    role, _content, system, user, assistant = STYLES[fmt]
    roles = [m[role] for m in msgs]
    if roles and roles[0] == system:
        roles = roles[1:]
    want = [user if i % 2 == 0 else assistant for i in range(len(roles))]
    if roles != want or not roles or roles[-1] != assistant:
        chk.fail(where, f"turns do not alternate {user}/{assistant}: {roles}")


def open_data(path):
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def check_data_file(chk, root, entry, fmt, record_validator, want_meta):
    path = os.path.join(root, entry["path"])
    with open(path, "rb") as f:
        raw = f.read()
    if hashlib.sha256(raw).hexdigest() != entry["sha256"]:
        chk.fail(entry["path"], "sha256 does not match the manifest")
    if len(raw) != entry["bytes"]:
        chk.fail(entry["path"], f"{len(raw)} bytes, manifest says {entry['bytes']}")
    with open_data(path) as f:
        data = f.read()
    if b"\r" in data:
        chk.fail(entry["path"], "contains CR")
    if data and not data.endswith(b"\n"):
        chk.fail(entry["path"], "last line does not end with \\n")
    lines = data.split(b"\n")[:-1] if data else []
    if len(lines) != entry["records"]:
        chk.fail(entry["path"], f"{len(lines)} records, manifest says {entry['records']}")
    first_shape = None
    ids = set()
    for n, line in enumerate(lines, 1):
        where = f"{entry['path']}:{n}"
        try:
            rec = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            chk.fail(where, f"not JSON: {e}")
            continue
        validate(chk, record_validator, rec, where)
        if ("meta" in rec) != want_meta:
            chk.fail(where, "meta presence differs from manifest")
        # list lengths differ between records; key sets and scalar types must not
        sig = shape(rec)
        if first_shape is None:
            first_shape = sig
        elif sig != first_shape:
            chk.fail(where, "record shape differs from the first record of the file")
        if "meta" in rec and isinstance(rec["meta"], dict):
            if rec["meta"].get("id") in ids:
                chk.fail(where, f"duplicate id {rec['meta'].get('id')!r}")
            ids.add(rec["meta"].get("id"))
        try:
            check_turns(chk, fmt, rec, where)
        except (KeyError, TypeError) as e:
            chk.fail(where, f"malformed turns: {e}")
    return len(lines)


def check_dataset_info(chk, root, files):
    path = os.path.join(root, "dataset_info.json")
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        info = json.load(f)
    listed = {e["path"] for e in files}
    for name, entry in info.items():
        if entry.get("file_name") not in listed:
            chk.fail("dataset_info.json", f"{name}: file_name not in the manifest")
        if entry.get("formatting") not in ("alpaca", "sharegpt"):
            chk.fail("dataset_info.json", f"{name}: unknown formatting")
    if len(info) != len(files):
        chk.fail("dataset_info.json", "entry count differs from the data files")


def check_readme(chk, root, files):
    path = os.path.join(root, "README.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.startswith("---\n") or "\n---\n" not in text[4:]:
        chk.fail("README.md", "no YAML front matter")
        return
    front = text[4 : text.index("\n---\n", 4)]
    for key in ("language:", "license:", "size_categories:", "task_categories:"):
        if f"\n{key}" not in "\n" + front:
            chk.fail("README.md", f"front matter lacks {key}")
    for e in files:
        if e["path"] not in front:
            chk.fail("README.md", f"configs do not mention {e['path']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--schemas", default=os.path.join(here, "..", "..", "schemas"))
    ap.add_argument("dataset")
    args = ap.parse_args()

    chk = Checker()
    root = args.dataset
    with open(os.path.join(root, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    with open(os.path.join(root, "stats.json"), encoding="utf-8") as f:
        stats = json.load(f)
    validate(chk, load_schema(args.schemas, "manifest.schema.json"), manifest, "manifest.json")
    validate(chk, load_schema(args.schemas, "stats.schema.json"), stats, "stats.json")
    if chk.errors:
        print("\n".join(chk.errors), file=sys.stderr)
        return 1

    fmt = manifest["format"]
    record_validator = load_schema(args.schemas, FORMAT_SCHEMAS[fmt])
    total = 0
    for entry in manifest["files"]:
        total += check_data_file(chk, root, entry, fmt, record_validator, manifest["meta"])
        if stats["splits"].get(entry["split"]) != entry["records"]:
            chk.fail("stats.json", f"split {entry['split']} count differs from the manifest")
    if total != manifest["examples"] or stats["examples"] != total:
        chk.fail("manifest.json", f"examples {manifest['examples']}, records {total}")
    if sum(stats["splits"].values()) != total:
        chk.fail("stats.json", "split counts do not add up")
    if sum(stats["tasks"].values()) != total or sum(stats["systems"].values()) != total:
        chk.fail("stats.json", "task or system counts do not add up")
    check_dataset_info(chk, root, manifest["files"])
    check_readme(chk, root, manifest["files"])

    if chk.errors:
        print("\n".join(chk.errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
