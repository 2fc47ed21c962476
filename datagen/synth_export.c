/* SPDX-License-Identifier: MIT */
/*
 * Synthetic radiology exports (CSV or HL7 v2 ORU^R01), as a RIS/PACS would
 * hand them over: patients with several studies, structured header fields
 * (patient id, name, birth date, address, phone, accession, referrer,
 * reporting radiologist), a German report text that repeats some of them
 * (the PHI de-identification must find) and the GOÄ numbers billed for the
 * study, consistent with modality and body region (section O of the GOÄ:
 * CT head 5370, MRI spine 5705, chest X-ray 5135, ...).
 *
 * For the demo, tests and benchmarks, not for training: every value is
 * invented (names from short lists of common German names), and the same
 * (n, seed) gives the same patients and studies in both formats, so the CSV
 * export is the PHI truth of the HL7 one. Column and segment choices follow
 * the readers in deid/ (see deid.h, "Format notes").
 */
#include "datagen/datagen.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"

#define FLUSH_AT ((size_t)1 << 20)

/* ---- invented people and places ---- */

static const char *const family_names[] = {
	"Müller",     "Schmidt",  "Schneider", "Fischer", "Weber",   "Meyer",      "Wagner",
	"Becker",     "Schulz",   "Hoffmann",  "Schäfer", "Koch",    "Bauer",      "Richter",
	"Klein",      "Wolf",     "Schröder",  "Neumann", "Schwarz", "Zimmermann", "Braun",
	"Krüger",     "Hofmann",  "Hartmann",  "Lange",   "Schmitt", "Werner",     "Schmitz",
	"Krause",     "Meier",    "Lehmann",   "Schmid",  "Schulze", "Maier",      "Köhler",
	"Herrmann",   "König",    "Walter",    "Mayer",   "Huber",   "Kaiser",     "Fuchs",
	"Peters",     "Lang",     "Scholz",    "Möller",  "Weiß",    "Jung",       "Hahn",
	"Schubert",   "Vogel",    "Friedrich", "Keller",  "Günther", "Frank",      "Berger",
	"Winkler",    "Roth",     "Beck",      "Lorenz",  "Baumann", "Franke",     "Albrecht",
	"Schuster",   "Simon",    "Ludwig",    "Böhm",    "Winter",  "Kraus",      "Martin",
	"Schumacher", "Krämer",   "Vogt",      "Stein",   "Jäger",   "Otto",       "Sommer",
	"Groß",       "Seidel",   "Heinrich",  "Brandt",  "Haas",    "Schreiber",  "Graf",
	"Yılmaz",     "Kowalski", "Nowak",     "Popović", "Nguyen",  "Öztürk",
};

static const char *const female_names[] = {
	"Anna",   "Maria",   "Ursula",    "Monika",   "Petra",    "Elisabeth", "Sabine",
	"Renate", "Helga",   "Karin",     "Brigitte", "Ingrid",   "Erika",     "Andrea",
	"Gisela", "Claudia", "Susanne",   "Gabriele", "Christa",  "Christine", "Hildegard",
	"Uta",    "Birgit",  "Heike",     "Nicole",   "Stefanie", "Julia",     "Katharina",
	"Laura",  "Sarah",   "Lea",       "Sophie",   "Jana",     "Melanie",   "Sandra",
	"Ayşe",   "Elif",    "Agnieszka",
};

static const char *const male_names[] = {
	"Peter",    "Wolfgang",   "Michael",    "Klaus",     "Thomas", "Jürgen", "Werner", "Günter",
	"Manfred",  "Hans",       "Uwe",        "Bernd",     "Dieter", "Horst",  "Frank",  "Stefan",
	"Andreas",  "Helmut",     "Gerhard",    "Heinz",     "Ralf",   "Rainer", "Jörg",   "Markus",
	"Matthias", "Christian",  "Martin",     "Sebastian", "Tobias", "Jan",    "Lukas",  "Felix",
	"Jonas",    "Karl-Heinz", "Hans-Peter", "Mehmet",    "Piotr",  "Dragan",
};

static const struct {
	const char *city;
	const char *zip;
} places[] = {
	{ "Lüneburg", "21335" },   { "Hamburg", "22765" },   { "Bremen", "28195" },
	{ "Hannover", "30159" },   { "Celle", "29221" },     { "Uelzen", "29525" },
	{ "Göttingen", "37073" },  { "Kassel", "34117" },    { "Würzburg", "97070" },
	{ "Bamberg", "96047" },    { "Erlangen", "91054" },  { "Regensburg", "93047" },
	{ "Passau", "94032" },     { "Freiburg", "79098" },  { "Tübingen", "72070" },
	{ "Ulm", "89073" },        { "Mannheim", "68159" },  { "Heidelberg", "69117" },
	{ "Mainz", "55116" },      { "Trier", "54290" },     { "Koblenz", "56068" },
	{ "Bonn", "53111" },       { "Münster", "48143" },   { "Bielefeld", "33602" },
	{ "Paderborn", "33098" },  { "Dortmund", "44135" },  { "Leipzig", "04109" },
	{ "Dresden", "01067" },    { "Jena", "07743" },      { "Rostock", "18055" },
	{ "Greifswald", "17489" }, { "Schwerin", "19053" },  { "Potsdam", "14467" },
	{ "Cottbus", "03046" },    { "Magdeburg", "39104" }, { "Halle", "06108" },
};

static const char *const streets[] = {
	"Hauptstraße",  "Schulstraße",    "Gartenstraße",   "Bahnhofstraße", "Dorfstraße",
	"Bergstraße",   "Birkenweg",      "Lindenstraße",   "Kirchstraße",   "Waldstraße",
	"Ringstraße",   "Am Sportplatz",  "Wiesenweg",      "Mühlenweg",     "Rosenstraße",
	"Goethestraße", "Schillerstraße", "Eichendorffweg", "Am Markt",      "Lessingstraße",
	"Feldstraße",   "Amselweg",       "Ahornweg",       "Uhlandstraße",  "Talstraße",
};

/* ---- studies: GOÄ section O numbers by modality and region ---- */

struct extra_code {
	const char *code;
	unsigned percent;      /* chance of being billed with the study */
	const char *technique; /* sentence added to the technique when billed */
};

struct study {
	const char *title;    /* report heading */
	const char *local;    /* local procedure code (HL7 OBR-4) */
	const char *codes[2]; /* always billed */
	struct extra_code extra[3];
	const char *technique;
	const char *indications[3];
	const char *findings[6];
	const char *impressions[3];
};

static const struct study studies[] = {
	{ "CT Schädel nativ",
	  "CTKOPF",
	  { "5370", NULL },
	  { { "5376", 10, "Ergänzende Spätserie." },
	    { "5377", 10, "Multiplanare 3D-Rekonstruktion am separaten Arbeitsplatz." } },
	  "Spiral-CT des Neurokraniums ohne Kontrastmittel, Rekonstruktion in 2 mm Schichtdicke.",
	  { "Sturz mit Kopfanprall unter Antikoagulation.", "Akute Verwirrtheit seit dem Morgen.",
	    "Ausschluss einer intrakraniellen Blutung." },
	  { "Keine intrakranielle Blutung.", "Keine Raumforderung, keine Mittellinienverlagerung.",
	    "Altersentsprechende Weite der inneren und äußeren Liquorräume.",
	    "Keine frische territoriale Ischämie abgrenzbar.",
	    "Periventrikuläre Hypodensitäten im Sinne einer Mikroangiopathie.",
	    "Kalotte intakt, Mastoidzellen und Nasennebenhöhlen regelrecht belüftet." },
	  { "Kein Nachweis einer akuten intrakraniellen Pathologie.",
	    "Mikroangiopathische Marklagerveränderungen, keine Blutung.",
	    "Keine Fraktur, keine Blutung." } },
	{ "CT Thorax mit Kontrastmittel",
	  "CTTHO",
	  { "5371", NULL },
	  { { "5377", 15, "3D-Rekonstruktion der Gefäße am separaten Arbeitsplatz." } },
	  "Spiral-CT des Thorax nach intravenöser Gabe von 80 ml Kontrastmittel.",
	  { "Tumornachsorge bei Bronchialkarzinom.", "Persistierender Husten, Gewichtsverlust.",
	    "Verdacht auf Lungenarterienembolie." },
	  { "Kein Nachweis pulmonaler Rundherde.",
	    "Keine Lungenarterienembolie bis auf Segmentebene.",
	    "Mediastinale Lymphknoten nicht vergrößert.", "Kleiner Pleuraerguss rechts.",
	    "Geringe dorsobasale Dystelektasen beidseits.",
	    "Spiculierter Rundherd im rechten Oberlappen, 14 mm." },
	  { "Kein Anhalt für Malignität.", "Keine Lungenarterienembolie.",
	    "Suspekter Rundherd rechter Oberlappen, histologische Sicherung empfohlen." } },
	{ "CT Abdomen und Becken mit Kontrastmittel",
	  "CTABD",
	  { "5372", NULL },
	  { { "5377", 10, "Multiplanare Rekonstruktionen am separaten Arbeitsplatz." } },
	  "Spiral-CT von Abdomen und Becken in portalvenöser Phase nach oraler und "
	  "intravenöser Kontrastierung.",
	  { "Unklare Unterbauchschmerzen rechts.", "Staging bei Kolonkarzinom.",
	    "Erhöhte Entzündungswerte, Fokussuche." },
	  { "Leber normal groß, keine fokalen Läsionen.", "Gallenblase mit Konkrement, 12 mm.",
	    "Appendix verdickt mit periappendizitischer Imbibierung.",
	    "Keine freie Flüssigkeit, keine freie Luft.", "Nieren beidseits ohne Aufstau.",
	    "Keine vergrößerten retroperitonealen Lymphknoten." },
	  { "Befund vereinbar mit akuter Appendizitis.", "Cholezystolithiasis ohne Cholezystitis.",
	    "Kein Nachweis von Metastasen." } },
	{ "CT Thorax und Abdomen (Staging)",
	  "CTTHABD",
	  { "5371", "5372" },
	  { { "5377", 20, "3D-Rekonstruktion am separaten Arbeitsplatz." } },
	  "Spiral-CT von Thorax, Abdomen und Becken nach intravenöser Kontrastmittelgabe.",
	  { "Staging bei Mammakarzinom.", "Verlaufskontrolle unter Chemotherapie.",
	    "Tumorsuche bei B-Symptomatik." },
	  { "Keine pulmonalen Metastasen.", "Leber mit zwei hypodensen Läsionen, bis 9 mm.",
	    "Keine ossären Destruktionen.", "Lymphknoten axillär links bis 11 mm.",
	    "Nebennieren schlank.", "Kein Aszites." },
	  { "Kein Anhalt für Fernmetastasen.", "Größenregrediente Lebermetastasen.",
	    "Neu aufgetretene Lebermetastasen." } },
	{ "CT Lendenwirbelsäule",
	  "CTLWS",
	  { "5373", NULL },
	  { { "5377", 10, "Sagittale und koronare Rekonstruktionen am separaten Arbeitsplatz." } },
	  "Spiral-CT der Lendenwirbelsäule, Rekonstruktion im Knochen- und Weichteilfenster.",
	  { "Sturz auf das Gesäß, Schmerzen LWS.", "Verdacht auf Wirbelkörperfraktur.",
	    "Osteoporose, akute Lumbago." },
	  { "Deckplattenimpressionsfraktur LWK 1 ohne Hinterkantenbeteiligung.", "Keine Fraktur.",
	    "Osteochondrose L4/5 und L5/S1.", "Spinalkanal nicht eingeengt.",
	    "Spondylarthrose der unteren LWS.", "Iliosakralgelenke unauffällig." },
	  { "Stabile Deckplattenfraktur LWK 1.", "Keine Fraktur, degenerative Veränderungen.",
	    "Degenerative Veränderungen ohne Spinalkanalstenose." } },
	{ "CT-Angiographie der Aorta",
	  "CTAORTA",
	  { "5375", NULL },
	  { { "5377", 60, "3D-Rekonstruktion der Aorta am separaten Arbeitsplatz." } },
	  "CT-Angiographie der gesamten Aorta nach Bolusgabe von 90 ml Kontrastmittel.",
	  { "Verlaufskontrolle bei Bauchaortenaneurysma.",
	    "Thoraxschmerz, Verdacht auf Dissektion.", "Präoperative Planung." },
	  { "Infrarenales Bauchaortenaneurysma, maximal 48 mm.", "Keine Dissektion.",
	    "Wandständige Thromben im Aneurysmasack.", "Nierenarterien regelrecht kontrastiert.",
	    "Ausgeprägte Arteriosklerose der Beckenarterien.", "Aorta ascendens nicht erweitert." },
	  { "Größenkonstantes Bauchaortenaneurysma.", "Kein Anhalt für Aortendissektion.",
	    "Größenprogredientes Aneurysma, gefäßchirurgische Vorstellung empfohlen." } },
	{ "MRT Schädel",
	  "MRKOPF",
	  { "5700", NULL },
	  { { "5731", 60, "Ergänzende Sequenzen nach Gabe von Gadolinium." },
	    { "5733", 10, "Computergestützte Perfusionsanalyse." } },
	  "MRT des Neurokraniums: T2 TSE axial, FLAIR, DWI, SWI, T1 nativ.",
	  { "Schwindel und Kopfschmerzen.", "Verdacht auf Multiple Sklerose.",
	    "Verlaufskontrolle nach Meningeom-Operation." },
	  { "Keine Diffusionsstörung.", "Einzelne unspezifische Marklagerläsionen.",
	    "Kein Nachweis einer Raumforderung.", "Periventrikuläre T2-Hyperintensitäten.",
	    "Keine pathologische Kontrastmittelanreicherung.", "Liquorräume normal weit." },
	  { "Unauffälliger Befund.", "Mikroangiopathische Marklagerläsionen.",
	    "Befundkonstellation vereinbar mit Encephalitis disseminata." } },
	{ "MRT Lendenwirbelsäule",
	  "MRLWS",
	  { "5705", NULL },
	  { { "5731", 20, "Ergänzende T1-Sequenzen nach Kontrastmittelgabe." } },
	  "MRT der LWS: T2 sagittal und axial, T1 sagittal, STIR.",
	  { "Lumboischialgie links seit drei Wochen.", "Verdacht auf Bandscheibenvorfall.",
	    "Chronische Rückenschmerzen." },
	  { "Mediolateraler Bandscheibenvorfall L4/5 links mit Kontakt zur Nervenwurzel L5.",
	    "Osteochondrose L5/S1 Modic Typ 2.", "Spinalkanal nicht eingeengt.",
	    "Facettengelenksarthrose L4/5 beidseits.", "Conus medullaris regelrecht.",
	    "Kein Knochenmarködem." },
	  { "Bandscheibenvorfall L4/5 links mit Wurzelkontakt L5.",
	    "Degenerative Veränderungen ohne Nervenwurzelkompression.", "Osteochondrose L5/S1." } },
	{ "MRT Knie rechts",
	  "MRKNIE",
	  { "5729", NULL },
	  { { "5731", 5, "Ergänzende Sequenz nach Kontrastmittelgabe." } },
	  "MRT des rechten Kniegelenks: PD fettgesättigt in drei Ebenen, T1 koronar.",
	  { "Distorsionstrauma beim Fußball.", "Belastungsabhängige Schmerzen medial.",
	    "Verdacht auf Meniskusläsion." },
	  { "Horizontalriss im Hinterhorn des Innenmeniskus.", "Vorderes Kreuzband intakt.",
	    "Knochenmarködem im lateralen Femurkondylus.", "Geringer Gelenkerguss.",
	    "Knorpel retropatellar Grad II.", "Kollateralbänder intakt." },
	  { "Innenmeniskushinterhornriss.", "Bone bruise ohne Bandläsion.",
	    "Chondropathia patellae Grad II." } },
	{ "MRT Mamma beidseits",
	  "MRMAMMA",
	  { "5721", NULL },
	  { { "5733", 70, "Computergestützte Kinetikanalyse." } },
	  "MRT beider Mammae mit dynamischer Kontrastmittelserie.",
	  { "Familiäre Belastung, Früherkennung.", "Unklarer Befund in der Mammographie.",
	    "Präoperatives Staging." },
	  { "Keine suspekte Kontrastmittelanreicherung.",
	    "Fokale Anreicherung rechts oben außen, 8 mm, Typ-3-Kurve.",
	    "Hintergrundanreicherung minimal.", "Axilläre Lymphknoten unauffällig.",
	    "Zyste links, 6 mm.", "Haut und Mamillen unauffällig." },
	  { "BI-RADS 1.", "BI-RADS 4, Biopsie empfohlen.", "BI-RADS 2." } },
	{ "Röntgen Thorax",
	  "XTHO",
	  { "5135", NULL },
	  { { "5298", 25, "Digitale Radiographie." } },
	  "Thorax im Liegen a.p.",
	  { "Zustand nach ZVK-Anlage.", "Fieber und Husten.", "Präoperativ." },
	  { "Herz normal groß.", "Keine Infiltrate.", "Kein Pneumothorax.",
	    "ZVK über die V. jugularis interna rechts, Spitze in der oberen Hohlvene.",
	    "Zwerchfell glatt begrenzt, Sinus frei.",
	    "Zunehmende Transparenzminderung rechts basal." },
	  { "Kein Pneumothorax, ZVK regelrecht.", "Pneumonisches Infiltrat rechts basal.",
	    "Kein akuter kardiopulmonaler Befund." } },
	{ "Röntgen Halswirbelsäule in zwei Ebenen",
	  "XHWS",
	  { "5100", NULL },
	  { { "5101", 30, "Ergänzende Funktionsaufnahmen in Inklination und Reklination." },
	    { "5298", 25, "Digitale Radiographie." } },
	  "HWS in zwei Ebenen.",
	  { "Nackenschmerzen nach Auffahrunfall.", "Chronische Zervikalgie.",
	    "Verdacht auf Instabilität." },
	  { "Steilstellung der HWS.", "Osteochondrose C5/6 und C6/7.", "Keine Fraktur.",
	    "Keine Gefügestörung.", "Unkovertebralarthrose C5/6.", "Dens regelrecht." },
	  { "Keine Fraktur, degenerative Veränderungen.", "Steilstellung, keine Instabilität.",
	    "Osteochondrose C5/6." } },
	{ "Röntgen Schädel in zwei Ebenen",
	  "XSCHAEDEL",
	  { "5090", NULL },
	  { { "5298", 25, "Digitale Radiographie." } },
	  "Schädel in zwei Ebenen.",
	  { "Sturz, Prellmarke frontal.", "Kontrolle nach Shuntanlage.", "Kopfschmerzen." },
	  { "Keine Fraktur der Kalotte.", "Shuntkatheter ohne Diskonnektion.",
	    "Nasennebenhöhlen frei.", "Sella unauffällig.", "Keine Osteolysen.",
	    "Regelrechte Schädelnähte." },
	  { "Keine Fraktur.", "Shuntsystem ohne Diskonnektion.", "Unauffälliger Befund." } },
	{ "Röntgen Abdomenübersicht",
	  "XABD",
	  { "5190", NULL },
	  { { "5298", 25, "Digitale Radiographie." } },
	  "Abdomen im Stehen a.p.",
	  { "Verdacht auf Ileus.", "Bauchschmerzen, Erbrechen.", "Kontrolle nach Laparotomie." },
	  { "Keine freie Luft.", "Dünndarmspiegel im Mittelbauch.", "Normale Gasverteilung.",
	    "Kein Nachweis röntgendichter Konkremente.", "Operationsclips im rechten Oberbauch.",
	    "Stuhlgefülltes Kolon." },
	  { "Befund vereinbar mit Dünndarmileus.", "Keine freie Luft, kein Ileus.",
	    "Unauffällige Abdomenübersicht." } },
	{ "Ösophagus-Breischluck",
	  "XOESO",
	  { "5150", NULL },
	  { { "5298", 25, "Digitale Radiographie." } },
	  "Kontrastdarstellung des Ösophagus mit wasserlöslichem Kontrastmittel.",
	  { "Dysphagie.", "Kontrolle nach Ösophagusresektion.", "Verdacht auf Achalasie." },
	  { "Regelrechte Passage.", "Keine Anastomoseninsuffizienz.", "Kleine axiale Hiatushernie.",
	    "Sektglasförmige Engstellung am gastroösophagealen Übergang.",
	    "Kein Kontrastmittelaustritt.", "Motilität regelrecht." },
	  { "Keine Insuffizienz.", "Befund vereinbar mit Achalasie.", "Kleine Hiatushernie." } },
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- generator ---- */

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t pick(struct rng *r, size_t n)
{
	return (size_t)(next(r) % n);
}

static bool chance(struct rng *r, unsigned percent)
{
	return next(r) % 100 < percent;
}

struct date {
	int d, m, y;
};

static struct date rand_date(struct rng *r, int y0, int y1)
{
	struct date d;

	d.y = y0 + (int)pick(r, (size_t)(y1 - y0) + 1);
	d.m = 1 + (int)pick(r, 12);
	d.d = 1 + (int)pick(r, 28);
	return d;
}

struct person {
	const char *family, *given;
	bool female;
};

struct patient {
	struct person p;
	char id[16];
	struct date birth;
	const char *street;
	unsigned house;
	size_t place;
	char phone[24];
	char case_id[16];
};

struct report {
	char id[32];
	char accession[24];
	struct date date;
	struct person referrer, performer;
	const struct study *st;
	const char *codes[5];
	size_t n_codes;
	struct ms_buf text;
};

static void rand_person(struct person *p, struct rng *r)
{
	p->female = chance(r, 50);
	p->family = family_names[pick(r, N_OF(family_names))];
	p->given = p->female ? female_names[pick(r, N_OF(female_names))]
	                     : male_names[pick(r, N_OF(male_names))];
}

/*
 * Identifiers mix the seed in, so that exports made with different seeds can
 * be read together without two people sharing a patient id or two reports
 * an id.
 */
static void make_patient(struct patient *pt, struct rng *r, uint64_t seed, uint64_t index)
{
	index += seed * 1000003;
	rand_person(&pt->p, r);
	snprintf(pt->id, sizeof(pt->id), "PID%08llu",
	         (unsigned long long)(10000000 + index * 7919 % 89999999));
	pt->birth = rand_date(r, 1930, 2004);
	pt->street = streets[pick(r, N_OF(streets))];
	pt->house = 1 + (unsigned)pick(r, 120);
	pt->place = pick(r, N_OF(places));
	snprintf(pt->phone, sizeof(pt->phone), "0%u %u%03u", 30 + (unsigned)pick(r, 9000),
	         100 + (unsigned)pick(r, 900), (unsigned)pick(r, 1000));
	snprintf(pt->case_id, sizeof(pt->case_id), "F%09llu",
	         (unsigned long long)(100000000 + index * 104729 % 899999999));
}

static void add_date(struct ms_buf *b, struct date d)
{
	ms_buf_addf(b, "%02d.%02d.%04d", d.d, d.m, d.y);
}

static void make_text(struct report *rep, const struct patient *pt, struct rng *r)
{
	const struct study *st = rep->st;
	struct ms_buf *b = &rep->text;
	size_t i, n, first;
	unsigned style = (unsigned)pick(r, 3);

	ms_buf_reset(b);
	ms_buf_addf(b, "%s vom ", st->title);
	add_date(b, rep->date);
	ms_buf_addch(b, '\n');
	if (style == 0) {
		ms_buf_addf(b, "Patient%s: %s %s, geb. ", pt->p.female ? "in" : "", pt->p.given,
		            pt->p.family);
		add_date(b, pt->birth);
		ms_buf_addf(b, ", PID %s\n", pt->id);
	} else if (style == 1) {
		ms_buf_addf(b, "Name: %s, %s\nGeburtsdatum: ", pt->p.family, pt->p.given);
		add_date(b, pt->birth);
		ms_buf_addch(b, '\n');
	} else {
		ms_buf_addf(b, "%s %s %s (*", pt->p.female ? "Frau" : "Herr", pt->p.given,
		            pt->p.family);
		add_date(b, pt->birth);
		ms_buf_addf(b, "), %s %u, %s %s\n", pt->street, pt->house, places[pt->place].zip,
		            places[pt->place].city);
	}
	ms_buf_addf(b, "Überweisung: Dr. med. %s %s\n\n", rep->referrer.given,
	            rep->referrer.family);
	ms_buf_addf(b, "Fragestellung: %s\n\n", st->indications[pick(r, 3)]);
	ms_buf_addf(b, "Technik: %s", st->technique);
	for (i = 0; i < rep->n_codes; i++) {
		size_t e;

		for (e = 0; e < N_OF(st->extra) && st->extra[e].code; e++) {
			if (!strcmp(st->extra[e].code, rep->codes[i]))
				ms_buf_addf(b, " %s", st->extra[e].technique);
		}
	}
	ms_buf_adds(b, "\n\nBefund:\n");
	if (chance(r, 40)) {
		ms_buf_adds(b, "Zum Vergleich liegt eine Voruntersuchung vom ");
		add_date(b, rand_date(r, rep->date.y - 3, rep->date.y - 1));
		ms_buf_adds(b, " vor.\n");
	}
	n = 2 + pick(r, 4);
	first = pick(r, N_OF(st->findings));
	for (i = 0; i < n; i++)
		ms_buf_addf(b, "%s%s", i ? " " : "",
		            st->findings[(first + i * 5) % N_OF(st->findings)]);
	ms_buf_addf(b, "\n\nBeurteilung:\n%s\n", st->impressions[pick(r, 3)]);
	if (chance(r, 30))
		ms_buf_addf(b, "Befund telefonisch an Dr. %s übermittelt.\n", rep->referrer.family);
	if (chance(r, 15))
		ms_buf_addf(b, "%s %s wurde über den Befund informiert, Rückruf unter %s.\n",
		            pt->p.female ? "Frau" : "Herr", pt->p.family, pt->phone);
	ms_buf_addf(b, "\nDr. med. %s %s, %s für Radiologie", rep->performer.given,
	            rep->performer.family, rep->performer.female ? "Fachärztin" : "Facharzt");
}

static void make_report(struct report *rep, const struct patient *pt, struct rng *r, uint64_t seed,
                        uint64_t index)
{
	const struct study *st = &studies[pick(r, N_OF(studies))];
	size_t i;

	rep->st = st;
	snprintf(rep->id, sizeof(rep->id), "R%" PRIu64 "-%09" PRIu64, seed % 1000000, index + 1);
	snprintf(rep->accession, sizeof(rep->accession), "ACC%010" PRIu64,
	         UINT64_C(1000000000) + (index + seed * 100000007) * 7 % UINT64_C(8999999999));
	rep->date = rand_date(r, 2018, 2024);
	rand_person(&rep->referrer, r);
	rand_person(&rep->performer, r);
	rep->n_codes = 0;
	for (i = 0; i < 2 && st->codes[i]; i++)
		rep->codes[rep->n_codes++] = st->codes[i];
	for (i = 0; i < N_OF(st->extra) && st->extra[i].code; i++) {
		if (chance(r, st->extra[i].percent))
			rep->codes[rep->n_codes++] = st->extra[i].code;
	}
	make_text(rep, pt, r);
}

/* ---- CSV ---- */

static void csv_field(struct ms_buf *o, const char *s, size_t len)
{
	size_t i;

	ms_buf_addch(o, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"')
			ms_buf_addch(o, '"');
		ms_buf_addch(o, s[i]);
	}
	ms_buf_addch(o, '"');
}

static const char csv_header[] =
        "id,patient,patient.id,patient.family,patient.given,patient.birthdate,"
        "patient.street,patient.zip,patient.city,patient.phone,case.id,accession,"
        "referrer.family,referrer.given,performer.family,performer.given,study_date,text,"
        "labels\n";

static void csv_row(struct ms_buf *o, const struct patient *pt, const struct report *rep)
{
	size_t i;

	ms_buf_addf(o, "%s,%s,%s,%s,%s,", rep->id, pt->id, pt->id, pt->p.family, pt->p.given);
	add_date(o, pt->birth);
	ms_buf_addf(o, ",%s %u,%s,%s,%s,%s,%s,%s,%s,%s,%s,", pt->street, pt->house,
	            places[pt->place].zip, places[pt->place].city, pt->phone, pt->case_id,
	            rep->accession, rep->referrer.family, rep->referrer.given,
	            rep->performer.family, rep->performer.given);
	add_date(o, rep->date);
	ms_buf_addch(o, ',');
	csv_field(o, rep->text.buf, rep->text.len);
	ms_buf_addch(o, ',');
	for (i = 0; i < rep->n_codes; i++)
		ms_buf_addf(o, "%s%s", i ? "|" : "", rep->codes[i]);
	ms_buf_addch(o, '\n');
}

/* ---- HL7 v2.5.1 ORU^R01 ---- */

/* Text with the HL7 delimiters escaped, lines as repetitions. */
static void hl7_text(struct ms_buf *o, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '|':
			ms_buf_adds(o, "\\F\\");
			break;
		case '^':
			ms_buf_adds(o, "\\S\\");
			break;
		case '&':
			ms_buf_adds(o, "\\T\\");
			break;
		case '~':
			ms_buf_adds(o, "\\R\\");
			break;
		case '\\':
			ms_buf_adds(o, "\\E\\");
			break;
		case '\n':
			ms_buf_addch(o, '~');
			break;
		default:
			ms_buf_addch(o, s[i]);
		}
	}
}

static void hl7_date(struct ms_buf *o, struct date d)
{
	ms_buf_addf(o, "%04d%02d%02d", d.y, d.m, d.d);
}

static void hl7_message(struct ms_buf *o, const struct patient *pt, const struct report *rep)
{
	size_t i;

	ms_buf_adds(o, "MSH|^~\\&|RIS|RADIOLOGIE|PACS|KLINIKUM|");
	hl7_date(o, rep->date);
	ms_buf_addf(o, "0930||ORU^R01^ORU_R01|%s|P|2.5.1|||||DE|UNICODE UTF-8\r", rep->id);
	ms_buf_addf(o, "PID|1||%s^^^KLINIKUM^MR||%s^%s^^^^^L||", pt->id, pt->p.family, pt->p.given);
	hl7_date(o, pt->birth);
	ms_buf_addf(o, "|%s|||%s %u^^%s^^%s^DE||%s\r", pt->p.female ? "F" : "M", pt->street,
	            pt->house, places[pt->place].city, places[pt->place].zip, pt->phone);
	ms_buf_addf(o, "PV1|1|O|RAD||||||||||||||||%s\r", pt->case_id);
	ms_buf_addf(o, "ORC|RE|O%s|%s\r", rep->id + 1, rep->accession);
	ms_buf_addf(o, "OBR|1|O%s|%s|%s^%s^L|||", rep->id + 1, rep->accession, rep->st->local,
	            rep->st->title);
	hl7_date(o, rep->date);
	ms_buf_addf(o, "0900|||||||||LANR%u^%s^%s^^^Dr. med.||||||||||||||||RAD&%s&%s\r",
	            100000 + (unsigned)(strlen(rep->referrer.family) * 7919 % 899999),
	            rep->referrer.family, rep->referrer.given, rep->performer.family,
	            rep->performer.given);
	ms_buf_adds(o, "OBX|1|TX|BEFUND^Befund^L||");
	hl7_text(o, rep->text.buf, rep->text.len);
	ms_buf_adds(o, "||||||F\r");
	for (i = 0; i < rep->n_codes; i++)
		ms_buf_addf(o, "OBX|%zu|CWE|GOAE^GOÄ-Ziffer^L||%s^GOÄ %s^GOAE||||||F\r", i + 2,
		            rep->codes[i], rep->codes[i]);
	ms_buf_addch(o, '\n');
}

/* Writes up to k studies of one patient (fewer when n is reached). */
static int write_patient(const struct datagen_synth_options *o, struct ms_buf *out,
                         const struct patient *pt, struct report *rep, struct rng *r,
                         uint64_t *done, uint64_t k, datagen_write_fn write, void *payload,
                         struct ms_error *err)
{
	uint64_t i;
	int rc;

	for (i = 0; i < k && *done < o->n; i++, (*done)++) {
		make_report(rep, pt, r, o->seed, *done);
		if (o->format == DATAGEN_SYNTH_CSV)
			csv_row(out, pt, rep);
		else
			hl7_message(out, pt, rep);
		if (ms_buf_status(out) || ms_buf_status(&rep->text))
			return ms_error_set(err, MS_ENOMEM, "out of memory");
		if (out->len >= FLUSH_AT) {
			rc = write(payload, out->buf, out->len);
			ms_buf_reset(out);
			if (rc)
				return ms_error_set(err, rc, "cannot write: %s", ms_status_str(rc));
		}
	}
	return 0;
}

int datagen_synth_export(const struct datagen_synth_options *o, datagen_write_fn write,
                         void *payload, struct ms_error *err)
{
	struct ms_buf out = MS_BUF_INIT;
	struct patient pt;
	struct report rep;
	struct rng r = { 0 };
	uint64_t done = 0, patient = 0;
	int rc = 0;

	memset(&rep, 0, sizeof(rep));
	if (!o->system || strcmp(o->system, CATALOG_SYSTEM_GOAE) != 0)
		return ms_error_set(err, MS_EUSAGE, "synthetic exports carry goae codes only");
	if (o->format != DATAGEN_SYNTH_CSV && o->format != DATAGEN_SYNTH_HL7)
		return ms_error_set(err, MS_EUSAGE, "unknown export format");
	r.s = o->seed * 0x2545f4914f6cdd1dULL + 1;
	ms_buf_init(&rep.text, 0);
	ms_buf_init(&out, 0);
	if (o->format == DATAGEN_SYNTH_CSV)
		ms_buf_adds(&out, csv_header);
	while (done < o->n && !rc) {
		/* one to eight studies per patient, mostly few */
		uint64_t k = 1 + pick(&r, 4) + (chance(&r, 30) ? pick(&r, 5) : 0);

		make_patient(&pt, &r, o->seed, patient++);
		rc = write_patient(o, &out, &pt, &rep, &r, &done, k, write, payload, err);
	}
	if (!rc && out.len) {
		rc = write(payload, out.buf, out.len);
		if (rc)
			rc = ms_error_set(err, rc, "cannot write: %s", ms_status_str(rc));
	}
	ms_buf_release(&out);
	ms_buf_release(&rep.text);
	return rc;
}
