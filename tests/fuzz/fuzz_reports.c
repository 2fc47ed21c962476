/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the report dataset builder (datagen/reports.c) on
 * arbitrary de-identified JSONL: the build must either fail with an input
 * error (malformed record, over a cap, bad Unicode) and leave no folder, or
 * write a folder that datagen_qa_check finds valid (shapes, no patient in two
 * parts, no duplicate in the folds, counts and hashes). Options vary with the
 * input size so that seeds stay valid files. A small GOÄ catalogue is
 * imported once into a scratch directory. Corpus: corpus/reports/,
 * dictionary: reports.dict.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/hash.h"
#include "datagen/datagen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char goae_csv[] =
        "Index;GOÄ;Schlüssel;GOÄZiffer;Beschreibung;Punktzahl;Einfachfaktor;Einfachsatz;Regelhöchstfaktor;Regelhöchstsatz;Höchstfaktor;Höchstsatz;Ausschlussziffer;go;ziffer;analog\n"
        "11;GOÄ A:;A;z A; Zuschlag für außerhalb der Sprechstunde erbrachte Leistungen;70;1;4,08;-;-;-;-;Ausschlussziffern: GOÄ B, GOÄ C, GOÄ D, GOÄ E, GOÄ F, GOÄ G, GOÄ H, GOÄ J, GOÄ K2;GOAE;z A;\n"
        "2298;GOÄ 5370:;5370;z 5370; Computergesteuerte Tomographie im Kopfbereich – gegebenenfalls einschließlich des kranio-zervikalen Übergangs –;2000;1;116,57;1,8;209,83;2,5;291,44;Ausschlussziffern: GOÄ 5369, GOÄ 5378, GOÄ 5810, GOÄ 5831, GOÄ 5840, GOÄ 5841;GOAE;z 5370;\n"
        "2299;GOÄ 5371:;5371;z 5371; Computergesteuerte Tomographie im Hals- und/oder Thoraxbereich;2300;1;134,06;1,8;241,31;2,5;335,15;Ausschlussziffern: GOÄ 5357, GOÄ 5369, GOÄ 5375, GOÄ 5378, GOÄ 5810, GOÄ 5831, GOÄ 5840, GOÄ 5841;GOAE;z 5371;\n"
        "2305;GOÄ 5377:;5377;z 5377; Zuschlag für computergesteuerte Analyse – einschließlich speziell nachfolgender 3D-Rekonstruktion –;800;1;46,63;1,8;83,93;2,5;116,57;Ausschlussziffern:;GOAE;z 5377;\n"
        "2362;GOÄ 5700:;5700;z 5700; Magnetresonanztomographie im Bereich des Kopfes – gegebenenfalls einschließlich des Halses -, in zwei Projektionen, davon mindestens eine Projektion unter Einschluß T2-gewichteter Aufnahmen;4400;1;256,46;1,8;461,64;2,5;641,16;Ausschlussziffern: GOÄ 5735;GOAE;z 5700;\n"
        "2369;GOÄ 5731:;5731;z 5731; Ergänzende Serie(n) zu den Leistungen nach den Nummern 5700 bis 5730 (z.B. nach Kontrastmitteleinbringung, Darstellung von Arterien als MR-Angiographie);1000;1;58,29;1,8;104,92;2,5;145,72;Ausschlussziffern:;GOAE;z 5731;\n";

static char dir[64], db[96], in[96], out[96];

/* rm -rf of this target's scratch directory (two levels deep at most) */
static void remove_tree(const char *path)
{
	const struct dirent *e;
	char child[512];
	struct stat sb;
	DIR *d;

	if (lstat(path, &sb) != 0)
		return;
	if (!S_ISDIR(sb.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	while (d && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
			remove_tree(child);
		}
	}
	if (d)
		closedir(d);
	rmdir(path);
}

static void setup(void)
{
	struct catalog_store *store = NULL;
	struct catalog_import_opts io;
	char csv[96];
	const char *paths[1] = { csv };
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", "/tmp/medsft-fuzz-reports-XXXXXX");
	if (!mkdtemp(dir) || ms_hash_init())
		abort();
	snprintf(csv, sizeof(csv), "%s/GOA_Ziffern.csv", dir);
	snprintf(db, sizeof(db), "%s/g.db", dir);
	snprintf(in, sizeof(in), "%s/in.jsonl", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	f = fopen(csv, "wb");
	if (!f || fwrite(goae_csv, 1, sizeof(goae_csv) - 1, f) != sizeof(goae_csv) - 1 ||
	    fclose(f) != 0)
		abort();
	memset(&io, 0, sizeof(io));
	if (catalog_store_open(&store, db, CATALOG_STORE_CREATE, NULL) ||
	    catalog_store_import(store, paths, 1, &io, NULL, NULL, NULL))
		abort();
	catalog_store_free(store);
}

static void cleanup(void)
{
	if (dir[0])
		remove_tree(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct datagen_reports_options o;
	struct catalog_store *store = NULL;
	struct ms_error err = MS_ERROR_INIT;
	struct stat sb;
	size_t n_problems = 0;
	FILE *f;
	int rc;

	if (!dir[0]) {
		setup();
		atexit(cleanup);
	}
	f = fopen(in, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	memset(&o, 0, sizeof(o));
	o.output = (struct output_dataset_options)OUTPUT_DATASET_OPTIONS_INIT;
	o.output.seed = size;
	o.system = CATALOG_SYSTEM_GOAE;
	o.folds = 2 + (unsigned)(size % 4);
	o.holdout = size % 2 ? 0.2 : 0;
	o.near_dup = size % 3 ? 0.8 : 0;
	o.unknown = (enum datagen_unknown_policy)(size % 3);
	o.answer = (enum datagen_answer)(size % 2);
	if (catalog_store_open(&store, db, CATALOG_STORE_READONLY, NULL))
		abort();
	rc = datagen_reports_build(NULL, store, &o, in, out, &err);
	if (rc == 0) {
		if (datagen_qa_check(&n_problems, out, store, NULL, NULL, &err) || n_problems)
			abort();
		remove_tree(out);
	} else if (rc != MS_EINVAL && rc != MS_ETOOBIG && rc != MS_EUNICODE) {
		abort();
	} else if (stat(out, &sb) == 0) {
		abort(); /* a failed build leaves nothing */
	}
	catalog_store_free(store);
	return 0;
}
