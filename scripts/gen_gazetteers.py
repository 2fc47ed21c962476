#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Builds the detection gazetteers in data/gazetteers/ from ../shared/data/gazetteers.

    python3 scripts/gen_gazetteers.py [SHARED_GAZETTEER_DIR]

Writes first-names.tsv, surnames.txt, cities.txt and streets.txt (sorted,
one entry per line, UTF-8, LF) and copies the licence texts. Only sources
whose licence allows redistribution are read; data/gazetteers/SOURCES.md
says which, and what was changed. common-words.txt and allowlist-de.txt are
written by hand and not touched here.
"""
import csv
import os
import re
import shutil
import sys

BERLIN_MIN_COUNT = 10  # below this the Berlin list holds noise and rare spellings

# Places that are companies or offices (GeoNames "Großkunden" postcodes in DE):
# marker words, word endings of organisations, characters no place name has.
COMPANY = re.compile(
    r"(?:^|[\s-])(?:GmbH|mbH|AG|KG|KGaA|OHG|eG|e\.V\.|Co|Bank|Sparkasse|Finanzamt|Deutsche|"
    r"Postfach|Großkunden?|AOK|BKK|IKK|Lotto|Otto|Quelle|Bundes\w*|Landes\w*|Universität|"
    r"Hochschule|Telekom|Post|International|Group|Holding|Germany|Deutschland)(?=$|[\s-])"
    r"|(?:^|[\s-])\w*(?:ung|ungs|werk|werke|dienst|dienste|verlag|kasse|bank|zentrum|zentrale|institut|"
    r"anstalt|anstalten|stiftung|verband|gruppe|schule|akademie|amt|klinik|klinikum|"
    r"krankenhaus|versand|handel|logistik|technik|systeme|software|medien|service|services|"
    r"versorgung|verwaltung|versicherung|versicherungen|gesellschaft|optik|wirtschaft|"
    r"werbung|partner|consulting|vertrieb|direkt|online|zeitung|rundfunk|kreis|verein|"
    r"spital|hospital|kliniken)(?=$|[\s-])"
    r"|[&\"()\d/+@]",
    re.IGNORECASE,
)
LOWER_OK = {"am", "im", "an", "der", "den", "dem", "in", "ob", "bei", "vor", "auf", "und",
            "zum", "zur", "unter", "ob", "a.", "i.", "b.", "d.", "v.", "bei", "vom"}
# Parts after which a place name goes on with a qualifier ("Freiburg im Breisgau").
QUALIFIER = re.compile(r"\s(?:am|im|an der|an den|in der|in|ob der|bei|vor der|auf der)\s|\s\(|,|/")


def looks_like_place(name):
    if COMPANY.search(name):
        return False
    words = name.split()
    if not words or len(words) > 4:
        return False
    for w in words:
        if w in LOWER_OK:
            continue
        if not w[0].isupper():
            return False
        if len(w) >= 2 and sum(c.isupper() for c in w) >= 2 and "-" not in w:
            return False
        if "." in w and w not in ("St.", "Sankt", "Bad"):
            return False
    return True


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def clean_place(name):
    name = name.strip()
    name = re.sub(r"\s+\d+$", "", name)  # "Aarau 1"
    return name


def place_variants(name):
    name = clean_place(name)
    out = set()
    if not name or not looks_like_place(name):
        return out
    out.add(name)
    m = QUALIFIER.search(name)
    if m and m.start() > 0:
        out.add(name[: m.start()].strip())
    return {n for n in out if len(n) >= 3}


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "data",
                                                              "gazetteers")
    dst = os.path.join(root, "data", "gazetteers")
    os.makedirs(dst, exist_ok=True)

    # first names: name -> set of genders
    first = {}

    def add_first(name, g):
        name = name.strip()
        if len(name) < 2 or re.search(r"[\d\s]", name):
            return
        first.setdefault(name, set()).add(g)

    counts = {}
    with open(os.path.join(src, "berlin-vornamen", "vornamen_berlin_2012_2023.tsv"),
              encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            key = (row["vorname"], row["geschlecht"])
            counts[key] = counts.get(key, 0) + int(row["anzahl_summe"])
    for (name, g), n in counts.items():
        if n >= BERLIN_MIN_COUNT:
            add_first(name, "f" if g == "w" else "m")
    fj = os.path.join(src, "fakerjs-de")
    for loc in ("de", "de_AT", "de_CH"):
        for g, suffix in (("f", "female"), ("m", "male"), ("u", "generic")):
            path = os.path.join(fj, "%s.person.first_name.%s.txt" % (loc, suffix))
            if os.path.exists(path):
                for name in read_lines(path):
                    add_first(name, g)
    fp = os.path.join(src, "faker-python-de")
    for loc in ("de_AT", "de_CH"):
        for g, suffix in (("f", "female"), ("m", "male")):
            for name in read_lines(os.path.join(fp, "%s.person.first_names_%s.txt" % (loc, suffix))):
                add_first(name, g)
    with open(os.path.join(dst, "first-names.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("# first names with gender (f, m, u = either); see SOURCES.md\n")
        for name in sorted(first):
            gs = first[name] - {"u"}
            g = gs.pop() if len(gs) == 1 else "u"
            f.write("%s\t%s\n" % (name, g))

    surnames = set(read_lines(os.path.join(fj, "de.person.last_name.generic.txt")))
    surnames |= set(read_lines(os.path.join(fj, "de_CH.person.last_name.generic.txt")))
    surnames |= set(read_lines(os.path.join(fp, "de_CH.person.last_names.txt")))
    surnames = {s for s in surnames if len(s) >= 2 and not re.search(r"\d", s)}
    with open(os.path.join(dst, "surnames.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("# surnames; see SOURCES.md\n")
        f.writelines(s + "\n" for s in sorted(surnames))

    cities = set()
    geo = os.path.join(src, "geonames-postal-dach")
    for cc in ("de", "at", "ch"):
        with open(os.path.join(geo, "zipcodes.%s.csv" % cc), encoding="utf-8") as f:
            for row in csv.DictReader(f):
                place = row["place"].split(",")[0]
                if cc == "ch":
                    place = re.sub(r"\s[A-Z]{2}$", "", place)  # "Buchs AG": canton
                cities |= place_variants(place)
                cities |= place_variants(row["community"].split(",")[0])
    for loc in ("de", "de_AT", "de_CH"):
        cities |= {c for n in read_lines(os.path.join(fj, "%s.location.city_name.txt" % loc))
                   for c in place_variants(n)}
    for loc in ("de_AT", "de_CH"):
        cities |= {c for n in read_lines(os.path.join(fp, "%s.address.cities.txt" % loc))
                   for c in place_variants(n)}
    with open(os.path.join(dst, "cities.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("# places in Germany, Austria and Switzerland; see SOURCES.md\n")
        f.writelines(c + "\n" for c in sorted(cities))

    streets = set()
    for loc in ("de", "de_AT", "de_CH"):
        streets |= set(read_lines(os.path.join(fj, "%s.location.street_name.txt" % loc)))
    with open(os.path.join(dst, "streets.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("# street names; see SOURCES.md\n")
        f.writelines(s + "\n" for s in sorted(streets))

    shutil.copyfile(os.path.join(fj, "LICENSE-MIT-fakerjs.txt"),
                    os.path.join(dst, "LICENSE-MIT-fakerjs.txt"))
    shutil.copyfile(os.path.join(fp, "LICENSE-MIT-faker.txt"),
                    os.path.join(dst, "LICENSE-MIT-faker.txt"))
    shutil.copyfile(os.path.join(geo, "LICENSE-CC-BY-4.0.txt"),
                    os.path.join(dst, "LICENSE-CC-BY-4.0.txt"))
    print("first names %d, surnames %d, cities %d, streets %d"
          % (len(first), len(surnames), len(cities), len(streets)))


if __name__ == "__main__":
    main()
