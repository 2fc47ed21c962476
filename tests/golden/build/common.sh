# SPDX-License-Identifier: MIT
# Shared by the build golden cases (sourced by their cmd scripts; not a case).

# synthetic exports (CSV seed 11, HL7 seed 12), the test key and a pipeline
# p.json in the current directory; $1 = extra reports settings
make_pipeline() {
	"$MEDSFT" datagen synth-export --n 240 --seed 11 --out ris.csv || exit
	"$MEDSFT" datagen synth-export --n 120 --seed 12 --format hl7 --out ris.hl7 || exit
	mkdir -p work && cp "$DATA/deid/test.key" work/site.key && chmod 600 work/site.key
	cat >p.json <<JSON
{
  "workdir": "work",
  "seed": 42,
  "catalog": { "files": ["$SRC/data/catalogs/goae-excerpt.csv"] },
  "qa": { "out": "qa", "systems": ["goae"], "paraphrases": 1 },
  "deid": { "inputs": ["ris.csv", "ris.hl7"], "threads": 2, "audit": "audit.db" },
  "reports": { "out": "reports-goae", "codes": "goae", "folds": 5, "holdout": 0.1 $1 }
}
JSON
}

# name and status of every stage in the run manifest
stages() {
	python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
for s in m["stages"]:
    print(s["name"], s["status"], [o["path"] for o in s["outputs"]])
' work/build-manifest.json
}
