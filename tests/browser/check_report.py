#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Check the counts shown in a `medsft deid eval` report against metrics.json.

usage: check_report.py REPORT_HTML METRICS_JSON

REPORT_HTML is report.html as written, or the DOM a browser rendered from it
(chromium --dump-dom). The numbers the report shows carry stable ids and
data-value attributes; the leak and false-positive tables have one row per
issue, the document list one section per document. Every one of them must
equal what metrics.json says. Exit status: 0 all equal, 1 a difference (each
printed), 2 usage error.
"""

import json
import sys
from html.parser import HTMLParser


class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values = {}
        self.rows = {"leak": 0, "fp": 0}
        self.sections = 0
        self.warning = False
        self.scripts = 0
        self.external = 0
        self.labels = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a and "data-value" in a:
            self.values[a["id"]] = a["data-value"]
        if tag == "tr" and a.get("class") in self.rows:
            self.rows[a["class"]] += 1
        if tag == "tr" and "data-label" in a:
            self.labels[a["data-label"]] = (a.get("data-gold"), a.get("data-predicted"),
                                            a.get("data-strict-tp"))
        if tag == "section" and a.get("class") == "doc":
            self.sections += 1
        if a.get("id") == "phi-warning":
            self.warning = True
        if tag == "script":
            self.scripts += 1
        if tag in ("link", "img", "iframe") or "src" in a:
            self.external += 1


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        page = Collect()
        page.feed(f.read())
    with open(sys.argv[2], encoding="utf-8") as f:
        m = json.load(f)

    def num(v):
        return "null" if v is None else "%.6f" % v

    want = {
        "count-documents": str(m["documents"]),
        "count-gold": str(m["gold_spans"]),
        "count-predicted": str(m["predicted_spans"]),
        "count-phi-entities": str(m["phi_recall"]["entities"]),
        "count-phi-removed": str(m["phi_recall"]["entities_removed"]),
        "count-leaks": str(len(m["leaks"])),
        "count-false-positives": str(len(m["false_positives"])),
        "leaks-count": str(len(m["leaks"])),
        "false-positives-count": str(len(m["false_positives"])),
        "documents-count": str(m["documents"]),
        "value-entity-recall": num(m["phi_recall"]["entity"]["value"]),
        "value-char-recall": num(m["phi_recall"]["char"]["value"]),
    }
    for kind in ("strict", "overlap", "token"):
        for what in ("precision", "recall", "f1"):
            want["value-%s-%s" % (kind, what)] = num(m["micro"][kind][what]["value"])
    bad = []
    for key, value in want.items():
        got = page.values.get(key)
        if got is None or (got != value and not _close(got, value)):
            bad.append("%s: report %s, metrics.json %s" % (key, got, value))
    for what, n in (("leak", len(m["leaks"])), ("fp", len(m["false_positives"]))):
        if page.rows[what] != n:
            bad.append("%s rows: report %d, metrics.json %d" % (what, page.rows[what], n))
    want_labels = {l["label"]: (str(l["gold"]), str(l["predicted"]), str(l["strict"]["tp"]))
                   for l in m["labels"]}
    if page.labels != want_labels:
        bad.append("per-label rows (gold, predicted, strict tp): report %s, metrics.json %s"
                   % (page.labels, want_labels))
    if page.sections != m["documents"]:
        bad.append("document sections: report %d, metrics.json %d" % (page.sections, m["documents"]))
    if not page.warning:
        bad.append("no raw-PHI warning (id=phi-warning)")
    if page.scripts or page.external:
        bad.append("scripts or external resources in the report")
    for b in bad:
        print("check_report: " + b)
    if not bad:
        print("report counts match metrics.json (%d values, %d labels, %d leak rows, "
              "%d false-positive rows, %d documents)"
              % (len(want), len(page.labels), page.rows["leak"], page.rows["fp"],
                 page.sections))
    return 1 if bad else 0


def _close(a, b):
    try:
        return abs(float(a) - float(b)) < 1e-6
    except ValueError:
        return False


if __name__ == "__main__":
    sys.exit(main())
