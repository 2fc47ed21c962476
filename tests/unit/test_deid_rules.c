/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for deid/rules.c and the shipped rule files (data/rules/):
 * the rule-file reader (every key, defines, continuation lines, errors with
 * file and line, PCRE2 errors with the pattern offset, all-or-nothing adds),
 * the matcher (context, window, validate, require, trim, triggers, needs,
 * marks, named groups, KEEP, the match limit), positive and negative cases
 * for every rule family, and an allocation-failure walk.
 */
#include "ms_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/fileio.h"
#include "deid/deid.h"

static struct deid_detector *shipped; /* data/rules + data/gazetteers */

static int setup(void **state)
{
	struct deid_detector_opts o = DEID_DETECTOR_OPTS_INIT;
	struct ms_error err = MS_ERROR_INIT;
	char rules[4096], gaz[4096], msg[512];

	(void)state;
	snprintf(rules, sizeof(rules), "%s", ms_test_src_path("data/rules"));
	snprintf(gaz, sizeof(gaz), "%s", ms_test_src_path("data/gazetteers"));
	o.rules_dir = rules;
	o.gazetteer_dir = gaz;
	if (deid_detector_new(&shipped, &o, &err)) {
		printf("cannot load the shipped data: %s\n",
		       ms_error_format(&err, msg, sizeof(msg)));
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	deid_detector_free(shipped);
	return 0;
}

static void run(struct deid_detector *det, const char *text, struct deid_spans *out)
{
	struct deid_doc doc;
	struct ms_error err = MS_ERROR_INIT;
	char msg[512];

	memset(&doc, 0, sizeof(doc));
	doc.id = "t";
	doc.text = text;
	doc.len = strlen(text);
	if (deid_detector_run(det, &doc, out, &err))
		fail_msg("%s", ms_error_format(&err, msg, sizeof(msg)));
}

static void dump(const char *text, const struct deid_spans *sp)
{
	size_t i;

	for (i = 0; i < sp->n; i++)
		printf("  %s %s '%.*s'\n", phi_label_name(sp->v[i].label), sp->v[i].source,
		       (int)(sp->v[i].end - sp->v[i].start), text + sp->v[i].start);
}

/* Is there a span with this label and exactly this text? */
static bool has(const char *text, const struct deid_spans *sp, enum phi_label label,
                const char *what)
{
	size_t i, n = strlen(what);

	for (i = 0; i < sp->n; i++) {
		if (sp->v[i].label == label && sp->v[i].end - sp->v[i].start == n &&
		    memcmp(text + sp->v[i].start, what, n) == 0)
			return true;
	}
	return false;
}

struct pos {
	const char *text;
	enum phi_label label;
	const char *span;
};

static void check_positives(const struct pos *cases, size_t n)
{
	struct deid_spans sp = DEID_SPANS_INIT;
	size_t i, bad = 0;

	for (i = 0; i < n; i++) {
		run(shipped, cases[i].text, &sp);
		if (!has(cases[i].text, &sp, cases[i].label, cases[i].span)) {
			printf("missing %s '%s' in '%s'; found:\n", phi_label_name(cases[i].label),
			       cases[i].span, cases[i].text);
			dump(cases[i].text, &sp);
			bad++;
		}
	}
	deid_spans_release(&sp);
	assert_int_equal(bad, 0);
}

/* ---- rule families: positives ------------------------------------------ */

static void test_dates(void **state)
{
	static const struct pos cases[] = {
		{ "Kontrolle am 3. März 2021 empfohlen.", PHI_DATE, "3. März 2021" },
		{ "CT vom 03.03.2021: kein Befund.", PHI_DATE, "03.03.2021" },
		{ "Aufnahme 3.3.21, Entlassung 5.3.21.", PHI_DATE, "3.3.21" },
		{ "Erstdiagnose 03/21, Progress 11/2022.", PHI_DATE, "03/21" },
		{ "Erstdiagnose 03/21, Progress 11/2022.", PHI_DATE, "11/2022" },
		{ "Beschwerden seit März 2021.", PHI_DATE, "März 2021" },
		{ "Therapie von \nJuni bis November 2019", PHI_DATE, "Juni" },
		{ "Aufenthalt vom 2. bis zum 7.10.2021 hier", PHI_DATE, "2." },
		{ "Termin erst Oktober\n2012.", PHI_DATE, "Oktober\n2012" },
		{ "ultrasound on August\n14, 2024. Stable", PHI_DATE, "August\n14, 2024" },
		{ "Beschwerden seit Mitte März.", PHI_DATE, "März" },
		{ "Wiedervorstellung am 3.3. geplant.", PHI_DATE, "3.3." },
		{ "Befund vom 2023-04-26.", PHI_DATE, "2023-04-26" },
		{ "Verlauf 15. 03. 2043 stabil.", PHI_DATE, "15. 03. 2043" },
		{ "Zuletzt 16/12/1929.", PHI_DATE, "16/12/1929" },
		{ "Z. n. Appendektomie 1995.", PHI_DATE, "1995" },
		{ "Kontrolle im 1. Quartal 2024.", PHI_DATE, "1. Quartal 2024" },
		{ "Labor vom 29.09.: unauffällig.", PHI_DATE, "29.09." },
		{ "stationär vom 13.-21.10.2021", PHI_DATE, "13." },
		{ "stationär vom 3. -  21. Juli 2022", PHI_DATE, "3." },
		{ "stationär vom 3. -  21. Juli 2022", PHI_DATE, "21. Juli 2022" },
		/* a one-digit month after a word; month ranges of therapy lists */
		{ "3. Urosepsis 4.3. (E. coli)", PHI_DATE, "4.3." },
		{ "Capecitabin 6-9/19, Progress", PHI_DATE, "6" },
		{ "Capecitabin 6-9/19, Progress", PHI_DATE, "9/19" },
		{ "Bestrahlung 4-5/2021 der Leber", PHI_DATE, "4" },
		/* a bare day before a range's full date; a four-digit year is no
		 * node count; the day's dot left out; the month first */
		{ "Szintigraphie vom 10 und 11.10.2033:", PHI_DATE, "10" },
		{ "Aufenthalt 3 bis 4.5.21 hier", PHI_DATE, "3" },
		{ "Mitosen+)\n04/2023 tumorfreier Sentinel", PHI_DATE, "04/2023" },
		{ "Verlauf: 26 09.2033 mit HVS", PHI_DATE, "26 09.2033" },
		{ "Thoraxröntgen 03.17.2027 -", PHI_DATE, "03.17.2027" },
	};

	(void)state;
	check_positives(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_birthdates_ages(void **state)
{
	static const struct pos cases[] = {
		{ "Anna Muster, geb. 01.03.1960, wohnhaft", PHI_BIRTHDATE, "01.03.1960" },
		{ "Geburtsdatum: 1960-03-01", PHI_BIRTHDATE, "1960-03-01" },
		{ "Herr X, * 3.3.60, kam", PHI_BIRTHDATE, "3.3.60" },
		{ "geboren am 3. März 1960 in", PHI_BIRTHDATE, "3. März 1960" },
		{ "die 92-jährige Patientin", PHI_AGE, "92" },
		{ "ein 15–jähriges Mädchen", PHI_AGE, "15" },
		{ "ein 6-jahriger Junge", PHI_AGE, "6" },
		{ "Patient, 92 Jahre alt, kam", PHI_AGE, "92" },
		{ "Alter: 93", PHI_AGE, "93" },
		{ "im 95. Lebensjahr", PHI_AGE, "95" },
		{ "Patientin, 91 Jahre, mit", PHI_AGE, "91" },
		{ "Aufnahme: 47-j. Patientin", PHI_AGE, "47" },
		{ "Glaukom ab dem 62. Lj. bekannt", PHI_AGE, "62" },
		{ "erste Brille mit ca. 11. LJ", PHI_AGE, "11" },
		{ "Befund: 7 Jahre alter Junge", PHI_AGE, "7" },
		{ "bereits im Alter von 16 Jahren", PHI_AGE, "16" },
		{ "Vater mit 63 an Herzinfarkt verstorben", PHI_AGE, "63" },
		{ "Mutter mit 58 Jahren Apoplex", PHI_AGE, "58" },
		{ "ein dreijähriger Bruder", PHI_AGE, "drei" },
		{ "Zweiundachtzigjährige Patientin", PHI_AGE, "Zweiundachtzig" },
		{ "Vater mit 61 an einem Kolon-Ca verstorben", PHI_AGE, "61" },
		{ "Großmutter mit 94 an Altersschwäche", PHI_AGE, "94" },
	};

	(void)state;
	check_positives(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_contact(void **state)
{
	static const struct pos cases[] = {
		{ "Tel. 030 1234567", PHI_PHONE, "030 1234567" },
		{ "Telefon 03012345678 / Fax: 030 123", PHI_PHONE, "03012345678" },
		{ "Fax (0461) 708 - 223", PHI_PHONE, "(0461) 708 - 223" },
		{ "erreichbar unter +49 30 12345678.", PHI_PHONE, "+49 30 12345678" },
		{ "Rückruf 0049 (0)89 123-456", PHI_PHONE, "0049 (0)89 123-456" },
		{ "Zentrale +43 316 385-0, Station", PHI_PHONE, "+43 316 385-0" },
		{ "Sekretariat: 012/332-4454", PHI_PHONE, "012/332-4454" },
		{ "Tel.: 2522", PHI_PHONE, "2522" },
		{ "Befund an radiologie@klinikum-muster.de senden", PHI_EMAIL,
		  "radiologie@klinikum-muster.de" },
		{ "siehe www.klinikum-muster.de/radiologie.", PHI_URL,
		  "www.klinikum-muster.de/radiologie" },
		{ "Portal https://befunde.example.org/x?id=1 abrufbar", PHI_URL,
		  "https://befunde.example.org/x?id=1" },
		{ "(Terminvereinbarung unter 5110-2882).", PHI_PHONE, "5110-2882" },
		{ "Tel. 511/2882, Fax 511/2883", PHI_PHONE, "511/2882" },
	};

	(void)state;
	check_positives(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_ids(void **state)
{
	static const struct pos cases[] = {
		{ "Pat.-Nr.: 12345678", PHI_ID, "12345678" },
		{ "Fall-Nr. 6733340001", PHI_ID, "6733340001" },
		{ "Auftragsnummer A-123/45 vom", PHI_ID, "A-123/45" },
		{ "Accession: RAD2021000123", PHI_ID, "RAD2021000123" },
		{ "PIZ 1822544", PHI_ID, "1822544" },
		{ "Versicherter A123456780 der AOK", PHI_ID, "A123456780" },
		{ "IBAN DE89 3704 0044 0532 0130 00", PHI_ID, "DE89 3704 0044 0532 0130 00" },
		{ "RV-Nr. 15 070649 C 103", PHI_ID, "15 070649 C 103" },
		{ "Nummer 15070649C103.", PHI_ID, "15070649C103" },
		{ "LANR 123456601", PHI_ID, "123456601" },
		{ "Steuer-ID: 86095742719", PHI_ID, "86095742719" },
		{ "Studie 1.2.840.113619.2.55.3 angehängt", PHI_ID, "1.2.840.113619.2.55.3" },
		{ "auf Station A23 verlegt", PHI_ID, "A23" },
		{ "Krankenkasse: DAK-Gesundheit, Vers.-Nr. 1", PHI_ORGANIZATION, "DAK-Gesundheit" },
		{ "Beruf: Krankenpfleger\n", PHI_PROFESSION, "Krankenpfleger" },
		{ "Er ist von Beruf Schreiner.", PHI_PROFESSION, "Schreiner" },
		{ "Station: A31 /\nZi: 119 \n", PHI_ID, "119" },
		{ "Histologie (E12345/21): Adenom", PHI_ID, "E12345/21" },
		{ "mehrere Aufenthalte auf PSY12, zuvor", PHI_ID, "PSY12" },
		{ "Wiederaufnahme Onkologie B21 zur Chemotherapie", PHI_ID, "B21" },
		{ "Exstirpation (48213/2020: tumorfrei)", PHI_ID, "48213/2020" },
		{ "Vorstellung in der Ambulanz UC4: Procedere", PHI_ID, "UC4" },
		{ "Eingriff im OP III am Vormittag", PHI_ID, "III" },
	};

	(void)state;
	check_positives(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_addresses(void **state)
{
	static const struct pos cases[] = {
		{ "wohnhaft 12345 Berlin, Hauptstraße 12a", PHI_ZIP, "12345" },
		/* a letter's place and date line, the place known or not */
		{ "Grüßen\nMusterbrück, den 04.05.2020", PHI_CITY, "Musterbrück" },
		{ "Oberärztin\nBad Musterhausen, den 4. Mai 2028", PHI_CITY, "Bad Musterhausen" },
		{ "Grüßen\n\t\tMusterbrück, den 04.05.2020", PHI_CITY, "Musterbrück" },
		{ "wohnhaft 12345 Berlin, Hauptstraße 12a", PHI_CITY, "Berlin" },
		{ "wohnhaft 12345 Berlin, Hauptstraße 12a", PHI_STREET, "Hauptstraße 12a" },
		{ "Robert-Koch-Str. 17, 01334 Irgendwo", PHI_STREET, "Robert-Koch-Str. 17" },
		{ "Robert-Koch-Str. 17, 01334 Irgendwo", PHI_ZIP, "01334" },
		{ "Robert-Koch-Str. 17, 01334 Irgendwo", PHI_CITY, "Irgendwo" },
		{ "Am Markt 3\n33455 Wiesental", PHI_STREET, "Am Markt 3" },
		{ "Am Hang 3 - 20223 Musterstadt", PHI_STREET, "Am Hang 3" },
		{ "Am Hang 3 a | A-9020 Musterstadt", PHI_STREET, "Am Hang 3 a" },
		{ "Anschrift: Am Musterstr. 5, 20223 Musterstadt", PHI_STREET, "Am Musterstr. 5" },
		/* after an address field, the street before the postcode whatever its words */
		{ "Anschrift: Lippe 79 - 63277 Musterstadt\n", PHI_STREET, "Lippe 79" },
		{ "wohnhaft Sporrenberger Mühle 7 c, 42508 Musterstadt", PHI_STREET,
		  "Sporrenberger Mühle 7 c" },
		{ "wohnhaft Sporrenberger Mühle 7 c, 42508 Musterstadt", PHI_CITY, "Musterstadt" },
		{ "Am Markt 3\n33455 Wiesental", PHI_CITY, "Wiesental" },
		{ "Kärntner Straße 33, A-9011 Neustadt", PHI_STREET, "Kärntner Straße 33" },
		{ "Kärntner Straße 33, A-9011 Neustadt", PHI_ZIP, "A-9011" },
		{ "wohnhaft in 9020 Klagenfurt.", PHI_CITY, "Klagenfurt" },
		{ "Sie lebt in Heidelberg.", PHI_CITY, "Heidelberg" },
		{ "Pettenkoferstraße, 10247 Berlin", PHI_STREET, "Pettenkoferstraße" },
		{ "Hofgasse 3 A-9020 Klagenfurt", PHI_STREET, "Hofgasse 3" },
		{ "Hofgasse 3 A-9020 Klagenfurt", PHI_ZIP, "A-9020" },
		{ "Am Sandberg 101 - 84614 Goheim\n", PHI_CITY, "Goheim" },
		{ "FA für Neurologie, Bechterew-Platz 20, Villach behandelt.", PHI_CITY,
		  "Villach" },
		{ "Walter-Nernst-Str. 104 | 09702 Söldheim\n", PHI_ZIP, "09702" },
		/* a street without a number right above the postcode's line */
		{ "Anna Muster\nAm Hasenstall\n20223 Musterbeck\n", PHI_STREET, "Am Hasenstall" },
		/* a postcode that starts a line, before a street */
		{ "Vorstand: Prof. Dr. A. Muster\n20223 Klein Musterbeck, Hauptplatz 8, Tel.",
		  PHI_CITY, "Klein Musterbeck" },
		/* "St." before a place, particles between its hyphenated parts */
		{ "Bühelweg 119\n18115 St. Musterbrunn\n", PHI_CITY, "St. Musterbrunn" },
		{ "Hauptstr. 28 c\n66766 St. Jakob im Musterthal\n", PHI_CITY,
		  "St. Jakob im Musterthal" },
		{ "Jakubweg 105, 22725 Montagne-de-Musterlary\n", PHI_CITY,
		  "Montagne-de-Musterlary" },
	};

	(void)state;
	check_positives(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_people(void **state)
{
	static const struct pos cases[] = {
		{ "Befundet von Dr. med. Anna Beispiel.", PHI_TITLE, "Dr. med." },
		{ "Befundet von Dr. med. Anna Beispiel.", PHI_STAFF, "Anna Beispiel" },
		{ "Prof. Dr. K. O. von Hausen", PHI_STAFF, "K. O. von Hausen" },
		/* a signature line after a title: every word of it is the name */
		{ "Grüße\nDr. med. Vasyl Oleksandrovych Lavrynenko  \nFA", PHI_STAFF,
		  "Vasyl Oleksandrovych Lavrynenko" },
		{ "Grüße\n\nDr. Bernwart Schulze", PHI_STAFF, "Bernwart Schulze" },
		{ "Grüße\nDr. Hanns Wurst OA Dr. Matthias Metzger", PHI_STAFF, "Hanns Wurst" },
		{ "Untersucher: OA Dr. Wiesler Franz / OA Dr. Leber", PHI_STAFF, "Wiesler Franz" },
		{ "Prof. Dr. K. O. von Hausen", PHI_TITLE, "Prof. Dr." },
		{ "Frau Muster kam zur Kontrolle.", PHI_PATIENT, "Muster" },
		{ "Herrn Beate Albers Schmerzen", PHI_PATIENT, "Beate Albers" },
		{ "Bei Frau Albers Schmerzen im Knie.", PHI_PATIENT, "Albers" },
		{ "Herr W. stellte sich vor.", PHI_PATIENT, "W." },
		{ "OA Meierhofer, Chefarzt Prof. Dr. Zeller", PHI_STAFF, "Meierhofer" },
		{ "Sehr geehrter Herr Kollege Knoblauch,", PHI_STAFF, "Knoblauch" },
		{ "Patientin: Muster, Anna", PHI_PATIENT, "Muster, Anna" },
		{ "Information an Sohn Alois Muster.", PHI_PERSON_OTHER, "Alois Muster" },
		{ "Janina Parkinson MD MSc", PHI_TITLE, "MD MSc" },
		{ "Gebauer, Gerlinde geb. am", PHI_PATIENT, "Gebauer, Gerlinde" },
		{ "Beate Albers wurde aufgenommen.", PHI_PATIENT, "Beate Albers" },
		{ "Rückruf durch Drs. Wolter und Brandauer.", PHI_STAFF, "Brandauer" },
		{ "Rückruf durch Drs. Wolter und Brandauer.", PHI_STAFF, "Wolter" },
		{ "Freigabe: Ostermeier K. MBA", PHI_STAFF, "Ostermeier K." },
		{ "Freigabe: Ostermeier K. MBA", PHI_TITLE, "MBA" },
		{ "Dimitrios Papadakis MD PhD\nStationsarzt", PHI_STAFF, "Dimitrios Papadakis" },
		/* two name words right before a birth marker, known names or not */
		{ "Patientin \nHuberta Hotzenplotz, geb. am 3.6.1942", PHI_PATIENT,
		  "Huberta Hotzenplotz" },
		{ "Arztbrief\nHelmfried Koenig * 13.09.1955", PHI_PATIENT, "Helmfried Koenig" },
		{ "Patientin Frauke Weber (* 2.2.1964)", PHI_PATIENT, "Frauke Weber" },
		{ "Aufnahme Max Muster, geb. 1950", PHI_PATIENT, "Max Muster" },
		{ "OA PD Dr. med K. Wendlinger", PHI_STAFF, "K. Wendlinger" },
		{ "gez. Doz. DDr. Dr.med.univer. K. Obermoser", PHI_STAFF, "K. Obermoser" },
		{ "gez. Doz. DDr. Dr.med.univer. K. Obermoser", PHI_TITLE,
		  "Doz. DDr. Dr.med.univer." },
		{ "Univ-Prof. Dr. Karl Wendlinger", PHI_STAFF, "Karl Wendlinger" },
		{ "Dr. Ștefan Bălănescu kam", PHI_STAFF, "Ștefan Bălănescu" },
		{ "Hr. Wendlinger zur Anschlussheilbehandlung", PHI_PATIENT, "Wendlinger" },
		{ "Pat.: Anna Obermoser, Geb.Dat. 01.02.1950", PHI_PATIENT, "Anna Obermoser" },
		{ "die Patientin M. Obermoserova kam", PHI_PATIENT, "M. Obermoserova" },
		{ "Obermoser, Wiltrud, geb. am 01.02.1950", PHI_PATIENT, "Obermoser, Wiltrud" },
		/* given names the gazetteer does not know: the surname goes too */
		{ "PD Dr. med. Brieko Musterfeld, Chefarzt", PHI_STAFF, "Brieko Musterfeld" },
		{ "Rücksprache mit Dr. Musterfeld, Brieko am 3.3.2020", PHI_STAFF,
		  "Musterfeld, Brieko" },
		{ "Befund für Fr. Brieka Musterfeld (* 01.06.1980)", PHI_PATIENT,
		  "Brieka Musterfeld" },
		{ "für Patientin Brieka von Musterfeld (* 01.06.1980)", PHI_PATIENT,
		  "Brieka von Musterfeld" },
		{ "berichten über Frau MUSTERFELD, Brieka, vom 2.5.2018 bis", PHI_PATIENT,
		  "MUSTERFELD, Brieka" },
		{ "über Ihren Patienten Musterfeld, Brieko, * 21.3.1979, der", PHI_PATIENT,
		  "Musterfeld, Brieko" },
		{ "Verlegung von Frau MUSTERFELD, Station 3", PHI_PATIENT, "MUSTERFELD" },
		{ "über Patient von Musterfeld, Brieko (* 09.01.1947)", PHI_PATIENT,
		  "von Musterfeld, Brieko" },
		/* header fields, contacts and signatures without a title */
		{ "Direktor: Brieko Musterfeld\n", PHI_STAFF, "Brieko Musterfeld" },
		{ "Chefärztin: MUSTERFELD, Brieka\n", PHI_STAFF, "MUSTERFELD, Brieka" },
		{ "Überweiser: M. Musterfeld, Klinikum Nord", PHI_STAFF, "M. Musterfeld" },
		{ "Rücksprache mit Brieko Musterfeld am 3.3.2020 um 10 Uhr", PHI_STAFF,
		  "Brieko Musterfeld" },
		{ "Befund vorab telefonisch an J. Musterfeld am 3.3.2020", PHI_STAFF,
		  "J. Musterfeld" },
		{ "Grüßen\n\nMusterfeld, Assistenzarzt", PHI_STAFF, "Musterfeld" },
		{ "Befundet: Brieko Musterfeld, Assistenzarzt", PHI_STAFF, "Brieko Musterfeld" },
		{ "Anforderer: Brieko Musterfeld\n", PHI_STAFF, "Brieko Musterfeld" },
		{ "Einweiser: A. Musterfeld\n", PHI_STAFF, "A. Musterfeld" },
		{ "Freigegeben durch: Brieka Musterfeld\n", PHI_STAFF, "Brieka Musterfeld" },
		{ "Hausärztin: MUSTERFELD, Brieka\n", PHI_STAFF, "MUSTERFELD, Brieka" },
		{ "Kopie an: Brieko Musterfeld, Praxis Nord", PHI_STAFF, "Brieko Musterfeld" },
		{ "Behandelnde Ärztin: Brieka Musterfeld\n", PHI_STAFF, "Brieka Musterfeld" },
		{ "Mit freundlichen Grüßen\n\nE. Musterfeld", PHI_STAFF, "E. Musterfeld" },
		{ "Mit freundlichen Grüßen\n\nMusterfeld\n", PHI_STAFF, "Musterfeld" },
		{ "gez.\n\nMusterfeld\nAssistenzarzt", PHI_STAFF, "Musterfeld" },
		{ "gez. Dr. med. MUSTERFELD, Brieka\n", PHI_STAFF, "MUSTERFELD, Brieka" },
		{ "Überweiser: MUSTERßOVA, Brieka\n", PHI_STAFF, "MUSTERßOVA, Brieka" },
		{ "Befundmitteilung an MUSTERFELD, Brieko am 3.3.2020", PHI_STAFF,
		  "MUSTERFELD, Brieko" },
		{ "Patient: VON MUSTERFELD, Brieko\n", PHI_PATIENT, "VON MUSTERFELD, Brieko" },
		{ "Grüßen\n\nB. Musterfeld\nOberärztin", PHI_STAFF, "B. Musterfeld" },
		/* a name alone on a line under the closing, titled or not */
		{ "Mit freundlichen Grüßen\n\nIda Fuß\nFachärztin", PHI_STAFF, "Ida Fuß" },
		{ "Mit kollegialen Grüßen  \n\n\nDhayana dos Santos Aveiro", PHI_STAFF,
		  "Dhayana dos Santos Aveiro" },
		{ "Grüßen\n\nProf. Dr. Burkhard zur Hausen\n", PHI_STAFF, "Burkhard zur Hausen" },
		{ "Mit kollegialen Grüßen\n\nde Someier, Zülzus\n", PHI_STAFF,
		  "de Someier, Zülzus" },
		{ "Patientin, Frau Beatrice DE BEAUHARNAIS, kam", PHI_PATIENT,
		  "Beatrice DE BEAUHARNAIS" },
		/* "Surname, Given" after a title, a salutation or a header field */
		{ "Priv.-Doz. Dr. med. GRETZER, Ramiza\nOberärztin", PHI_STAFF, "GRETZER, Ramiza" },
		{ "Befundet von Dr. Muster, Chefarzt\n", PHI_STAFF, "Muster" },
		{ "Befund für Frau BIGDELI, Hue, geboren am 21.10.1958", PHI_PATIENT,
		  "BIGDELI, Hue" },
		{ "Überweiser: VON JIRMEIER, Gordana, Diagnostikzentrum", PHI_STAFF,
		  "VON JIRMEIER, Gordana" },
		{ "Befundender Arzt: Dr. Anna Muster\n", PHI_STAFF, "Anna Muster" },
		{ "Patient/in: Klaa Bauinger\ngeb.: 27. September 2003", PHI_PATIENT,
		  "Klaa Bauinger" },
		{ "Angehörige: Ehemann Rünks, Tel. 05683 2934", PHI_PERSON_OTHER, "Rünks" },
		{ "Grüßen\n\nDr. med. Carlo  Weißenberger / Chefarzt", PHI_STAFF,
		  "Carlo  Weißenberger" },
		/* a signature without a title, before or above the role */
		{ "Mit Grüßen\nLieey Matschke, Oberärztin\n", PHI_STAFF, "Lieey Matschke" },
		{ "gez.\nKäsia Köhrbrück\nFachärztin für Radiologie", PHI_STAFF,
		  "Käsia Köhrbrück" },
		/* after a title, a name before "am"/"um" and a number is kept whole */
		{ "Rücksprache mit Prof. Dr. Freindric Pfister am 27/04/2027 um 08:45 Uhr.",
		  PHI_STAFF, "Freindric Pfister" },
		/* a particle carries an unknown name on ("Purnia de Wärski am ...") */
		{ "Rücksprache mit Dr. med. Purnia de Wärski am 3.3.", PHI_STAFF,
		  "Purnia de Wärski" },
		/* a referral letter's subject, the name unknown */
		{ "über unseren gemeinsamen Patienten Euripedes Erler (FN: 1)", PHI_PATIENT,
		  "Euripedes Erler" },
		/* "Dr" without its dot before a degree ("Dr  med.") */
		{ "Befund: Dr  med. L. Rombach", PHI_STAFF, "L. Rombach" },
		/* after a title, "M. X" is a person, not "Morbus X" */
		{ "OA PD Dr. med M. Kienböck\n", PHI_STAFF, "M. Kienböck" },
		{ "Dr. M. Parkinson kam", PHI_STAFF, "M. Parkinson" },
		/* an address block: the name alone on the line below "Herrn" or "An" */
		{ "Herrn\nPfeuso Föskiner\nKliefweg 119\n", PHI_PATIENT, "Pfeuso Föskiner" },
		{ "An\nTühard von Sinnhubermann\nPraxis für Orthopädie", PHI_STAFF,
		  "Tühard von Sinnhubermann" },
		/* a colleague by first name; the title after the name; names side by
		 * side in tab-separated signature cells */
		{ "Werte Frau Kollegin, liebe Anna!", PHI_STAFF, "Anna" },
		{ "Lieber Thomas,\nwir berichten", PHI_STAFF, "Thomas" },
		{ "Orthoptistin: Hendl H. MBA\nBrunzlinger B. Dr.\n", PHI_STAFF, "Brunzlinger B." },
		{ "Prof. Dr. K. Starmann \tL. Kemmerlinger \tDr. C. Fingerle\n", PHI_STAFF,
		  "L. Kemmerlinger" },
		{ "Prof. Dr. Ch. Jansing\tProf. V. Ceuster\tJ. Thielmann\nDirektorin", PHI_STAFF,
		  "J. Thielmann" },
		/* a name above an address, without a title or a salutation */
		{ "Radiologie\n\nKerus Musterfeld\nHelmestr. 139\n40063 Langenfeld", PHI_STAFF,
		  "Kerus Musterfeld" },
		{ "KLAUCKE, Feran\nAtzlenbacher Str. 48\nD-56789 Musterstadt\n", PHI_STAFF,
		  "KLAUCKE, Feran" },
		{ "S. Zeilzel\nGusstr. 130 a\n48721 Hamburg\n", PHI_STAFF, "S. Zeilzel" },
		{ "Musterfeldova\nHalenseestr. 62\n88327 Barver\n", PHI_STAFF, "Musterfeldova" },
		{ "Brieka Musterfeld\nInnere Medizin\nWarthestr. 57\n12345 Musterstadt\n",
		  PHI_STAFF, "Brieka Musterfeld" },
		{ "von Musterfeld, Brieka\nPichlmaierweg 36 - 44378 Bergkirchen\n", PHI_STAFF,
		  "von Musterfeld, Brieka" },
		/* a surname alone above the role; a capitalised particle */
		{ "Befund unauffällig.\n\nMusterfeld\nFacharzt für Radiologie", PHI_STAFF,
		  "Musterfeld" },
		{ "DE MUSTERFELD, Orlando\nFacharzt für Radiologie", PHI_STAFF,
		  "DE MUSTERFELD, Orlando" },
		{ "Mit Grüßen\n\nVON MUSTERFELD, Adel\n", PHI_STAFF, "VON MUSTERFELD, Adel" },
		/* the requesting doctor of a RIS header */
		{ "Befund für Patient G. de Musterfeld, geb. 1984", PHI_PATIENT,
		  "G. de Musterfeld" },
		{ "Anforderung: Brieko Musterfeld\n", PHI_STAFF, "Brieko Musterfeld" },
		{ "Anforderung: Nue von Musterfeld\nUntersuchung", PHI_STAFF,
		  "Nue von Musterfeld" },
		{ "Anforderung: Musterfeld, Kiman\n", PHI_STAFF, "Musterfeld, Kiman" },
		{ "Anforderung: Brieka Musterfeld, Klinikum Nord", PHI_STAFF, "Brieka Musterfeld" },
		{ "Anforderung: Dr. med. P. Musterfeld\n", PHI_STAFF, "P. Musterfeld" },
	};

	(void)state;
	check_positives(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_hospitals(void **state)
{
	static const struct pos cases[] = {
		{ "Verlegung ins Klinikum Musterstadt.", PHI_HOSPITAL, "Klinikum Musterstadt" },
		{ "Universitätsklinikum Wilhelmsburg, Radiologie", PHI_HOSPITAL,
		  "Universitätsklinikum Wilhelmsburg" },
		{ "Vorbefunde aus der Praxis Dr. Kropka.", PHI_HOSPITAL, "Praxis Dr. Kropka" },
		{ "(auswärts, Praxis Dr. Brieko Musterfeld).", PHI_HOSPITAL,
		  "Praxis Dr. Brieko Musterfeld" },
		{ "Zuweisung: Radiologie am Markt", PHI_HOSPITAL, "Radiologie am Markt" },
		{ "in der Christian-Drosten-Klinik", PHI_HOSPITAL, "Christian-Drosten-Klinik" },
		{ "Städt. Klinikum Neustadt", PHI_HOSPITAL, "Städt. Klinikum Neustadt" },
		{ "im Krankenhaus der Samariter Holzhausen", PHI_HOSPITAL,
		  "Krankenhaus der Samariter Holzhausen" },
		{ "Restaging im KH der Johanniter am 3.3.", PHI_HOSPITAL, "KH der Johanniter" },
		{ "Vor-CT vom Klinikum HH ohne Befund", PHI_HOSPITAL, "Klinikum HH" },
		/* a place name's "am X" where the letterhead's line ends, not "am Abend" */
		{ "Klinikum Frankfurt am Main\nRadiologie", PHI_HOSPITAL,
		  "Klinikum Frankfurt am Main" },
		{ "Krankenhaus der Barmherzigen Brüder Plau am See - Radiologie", PHI_HOSPITAL,
		  "Krankenhaus der Barmherzigen Brüder Plau am See" },
		{ "Aufnahme im Klinikum Musterstadt am Abend, stabil", PHI_HOSPITAL,
		  "Klinikum Musterstadt" },
		{ "Verlegung ins St.-Anna-Hospital.", PHI_HOSPITAL, "St.-Anna-Hospital" },
		{ "Krankenhaus der Barmherzigen Brüder St. Musterpölten\nRadiologie", PHI_HOSPITAL,
		  "Krankenhaus der Barmherzigen Brüder St. Musterpölten" },
		{ "STÄDTISCHES KLINIKUM MUSTERMARKT AM WALLERSEE\n", PHI_HOSPITAL,
		  "STÄDTISCHES KLINIKUM MUSTERMARKT AM WALLERSEE" },
		{ "Klinik für Chirurgie des Diakonissenkrankenhauses Musterthal\n", PHI_HOSPITAL,
		  "Diakonissenkrankenhauses Musterthal" },
		{ "Radiologie des Universitätsklinikums Musterstadt, Haus 3", PHI_HOSPITAL,
		  "Universitätsklinikums Musterstadt" },
		{ "Lehrkrankenhaus\nder Otto-Muster-Universität Musterburg\n", PHI_ORGANIZATION,
		  "Otto-Muster-Universität Musterburg" },
		{ "Partner: Medizinische Hochschule Bad Musterthal\n", PHI_ORGANIZATION,
		  "Hochschule Bad Musterthal" },
		{ "wurde eine Woche lang im ÖHK Musterhausen behandelt.", PHI_HOSPITAL,
		  "ÖHK Musterhausen" },
		{ "Verlegung ins LKH Musterstadt, Station 3", PHI_HOSPITAL, "LKH Musterstadt" },
		{ "Kreiskrankenhaus Musterkirchen in Steiermark - Radiologie", PHI_HOSPITAL,
		  "Kreiskrankenhaus Musterkirchen in Steiermark" },
		{ "Aufnahme im Klinikum Musterstadt in Behandlung, stabil", PHI_HOSPITAL,
		  "Klinikum Musterstadt" },
		{ "MVZ Radiologie Musterdorf bei Sankt Veit\n", PHI_HOSPITAL,
		  "MVZ Radiologie Musterdorf bei Sankt Veit" },
		/* letterheads in capitals */
		{ "STÄDTISCHES KLINIKUM MUSTERHAUSEN\n", PHI_HOSPITAL,
		  "STÄDTISCHES KLINIKUM MUSTERHAUSEN" },
		{ "MVZ RADIOLOGIE MUSTERHAUSEN\nAbteilung", PHI_HOSPITAL,
		  "MVZ RADIOLOGIE MUSTERHAUSEN" },
		{ "Befund der PRAXIS DR. MUSTERFELD\n", PHI_HOSPITAL, "PRAXIS DR. MUSTERFELD" },
		{ "RADIOLOGIE AM MARKT\n", PHI_HOSPITAL, "RADIOLOGIE AM MARKT" },
		{ "KRANKENHAUS DER BARMHERZIGEN BRÜDER\n", PHI_HOSPITAL,
		  "KRANKENHAUS DER BARMHERZIGEN BRÜDER" },
		{ "Diagnostikzentrum Pfenkheim\nAbteilung für Radiologie", PHI_HOSPITAL,
		  "Diagnostikzentrum Pfenkheim" },
		{ "Zuweiser: MVZ Radiologie Schwierndorf\n", PHI_HOSPITAL,
		  "MVZ Radiologie Schwierndorf" },
		{ "MRT vom 9.4.2019 (Radiologische Praxis Flieth-Stegelitz).", PHI_HOSPITAL,
		  "Radiologische Praxis Flieth-Stegelitz" },
		/* a place of several words or with an inner capital; a street's "Str." */
		{ "Diagnostikzentrum Neunkirchen am Brand\nInstitut", PHI_HOSPITAL,
		  "Diagnostikzentrum Neunkirchen am Brand" },
		{ "Radiologische Praxis NeuMusterhausen\n", PHI_HOSPITAL,
		  "Radiologische Praxis NeuMusterhausen" },
		{ "Radiologie am Kieler Str.\nAbteilung", PHI_HOSPITAL,
		  "Radiologie am Kieler Str." },
		{ "(auswärts, Praxis Dr. MUSTERFELD, Brieka).", PHI_HOSPITAL,
		  "Praxis Dr. MUSTERFELD, Brieka" },
		{ "Praxis Dr. von Musterfeld\nInstitut für Radiologie", PHI_HOSPITAL,
		  "Praxis Dr. von Musterfeld" },
	};

	(void)state;
	check_positives(cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- negatives: what must survive ----------------------------------------- */

/* No span in any of texts[0..n) (with source: none from that rule). */
static void check_negatives(const char *const *texts, size_t n, const char *source)
{
	struct deid_spans sp = DEID_SPANS_INIT;
	size_t i, j, bad = 0;

	for (i = 0; i < n; i++) {
		run(shipped, texts[i], &sp);
		for (j = 0; j < sp.n; j++) {
			if (!source || strcmp(sp.v[j].source, source) == 0) {
				printf("negative case '%s' gave:\n", texts[i]);
				dump(texts[i], &sp);
				bad++;
				break;
			}
		}
	}
	deid_spans_release(&sp);
	assert_int_equal(bad, 0);
}

static void test_negatives(void **state)
{
	static const char *const texts[] = {
		"Raumforderung 12 mm, vormals 5,3 cm.",
		"Große Läsion * 2 cm, Zyste Segment * 7.",
		"Gabe von 120 mg Prednisolon, 2 x 500 mg.",
		"Zyste 3 x 4 cm im Segment 7.",
		"BI-RADS 4, ACR C.",
		"T2-gewichtete Sequenzen, T1 nativ.",
		"Höhenminderung LWK 3 und BWK 12, Protrusion L4/5 und C5/6, Th11/12.",
		"pT2 pN1 (2/14) M0 G2 R0, 2/24 LK befallen.",
		"Hb 12,3 g/dl, CRP 45 mg/l, Leukozyten 12.000/µl, Quick 85 %.",
		"DLP 1950 mGycm, CTDI 12,5 mGy, 2000 ml Volumen.",
		"Medikation 1-0-1, 5-jährige Überlebensrate 80 %.",
		"Fünfjährige Überlebensrate 60 %, 5-J.-Überleben 40 %.",
		"Amlodipin/Valsartan 10/160 mg, Ramipril 2,5/12,5 mg, 5/20 mg.",
		"1.2. Vorbefunde\nsiehe Abschnitt 1.2. oben, 2-3/12 LK befallen.",
		"Speicherung mit SUV max 8.2. Keine weiteren Herde.",
		"Tumor mit 30 mm Durchmesser, mit 2 Zyklen.",
		"Reizschwelle Ventrikel 1,2 V, Vorhof 13 mm dilatiert.",
		"Konsil durch Kollegen der Chirurgie und die Oberärztin der Klinik.",
		"die einjährige Interferontherapie, eine zweijährige Pause.",
		"KLINIK UND POLIKLINIK FÜR RADIOLOGIE, im Klinikum CT gemacht.",
		"Testung auf HER2 negativ, Umstellung auf FOLFOX4, C5/6, pT2/14.",
		"Mutter mit 2 Kindern, Vater mit 3 Geschwistern.",
		"Schmerzen NRS 3-4/10 in Ruhe, VAS 5/10, Gleason 3+4/10.",
		"Leukozyten 12000/µl, 50000/20000 IE/ml.",
		"Patient M. Crohn bekannt, Pat. M. Parkinson seit Jahren.",
		"Urologie S3-Leitlinie, Kardiologie NYHA II, Diabetes Typ II.",
		"Gleason 3+4=7, ECOG 1, NYHA II, Child-Pugh A.",
		"Morbus Crohn, Baker-Zyste links, Weber-B-Fraktur rechts.",
		"Hashimoto-Thyreoiditis, Morbus Parkinson, Alzheimer-Demenz.",
		"Horner-Syndrom, Hill-Sachs-Läsion, Virchowsche Trias.",
		"Verdacht auf M. Bechterew, Osgood-Schlatter.",
		"Kontrolle in 3 Monaten, Schicht 12/40, Serie 5/12.",
		"Kein Nachweis in Höhe LWK 2, in Lage regelrecht.",
		"Essen und Trinken unauffällig.",
		"Flüssigkeit 1,5 l, Dosis 0,5 mg/kg KG.",
		"Klinik für Innere Medizin, Klinik und Poliklinik für Radiologie.",
		"Mit freundlichen Grüßen\n\nIhr Radiologie Team\n",
		"Mit freundlichen Grüßen\nDie Abteilung\n",
		"Ihre Patientin Zustand nach Operation, stabil.",
		"Bili 0.21, GGT 265, AST 56, ALT 49, CK 123.",
		"Radiologische Abteilung\nChefarzt: siehe unten",
		"Die Praxis Schmerzen im Knie, keine Besserung.",
		"Rücksprache mit Neurologie um 10 Uhr, mit Angehörigen um 11 Uhr.",
		"Befund telefonisch an Station um 9 Uhr, Rücksprache mit Hausarzt um 12 Uhr.",
		"Leitung: Abteilung für Radiologie\nDirektor: siehe oben",
		"Mit freundlichen Grüßen\n\nUnterschrift\n\ngez.\n\nSekretariat\nOberarzt",
		"Liebe Kollegin,\nliebe Kollegen!\nLiebe Eltern, lieber Herr Doktor,",
		"Diagnose\tM. Crohn\nWert\tA. 12\n",
		"3/14 tumorbefallene LK, pN1 (2/14) tumorfrei, Dosis 10-11 mg, Segment 4-5.",
		"Im Verlauf\n12 Tage später, Am Ende\n3 Zyklen.",
		"An\nAbteilung Radiologie\nAn\nRadiologische Gemeinschaftspraxis\n",
		"An\nZentrale Notaufnahme\n\nAn\nPflegedienst Sonnenschein\n",
		"Anforderung: MRT Knie\nAnforderung: Röntgen Thorax\nAnforderung: Notfall\n",
		"Anforderung: CT Schädel nativ\nAnforderung: Station Nord, Ambulanz\n",
		"Anforderung: Sonographie Abdomen | Anforderung: Kontrolle\n",
		"Thrombozyten erreichbar 100-200 mg, Rückfragen 3-4 Tage.\n",
		"Studium an der Hochschule für Musik, Universität der Künste.\n",
		"Kopie an: Patient\nHausarzt: unbekannt\nKopie an: Akte\nEinweiser: Sekretariat\n",
	};

	(void)state;
	check_negatives(texts, sizeof(texts) / sizeof(texts[0]), NULL);
}

/* Above an address, units, roles and salutations are not names. */
static void test_address_block_units(void **state)
{
	static const char *const texts[] = {
		"Innere Medizin\nHauptstr. 5\n12345 Musterstadt\n",
		"Radiologische Gemeinschaftspraxis\nHauptstr. 5\n12345 Musterstadt\n",
		"Urologe\nFriesische Str. 21 a\n24937 Flensburg\n",
		"Postanschrift\nHauptstr. 5\n12345 Musterstadt\n",
		"Herr\nDr. Steffen Musterfeld Kärntner Straße 33\nA-9011 Neustadt\n",
		"Praxis für Orthopädie\nHauptstr. 5 - 12345 Musterstadt\n",
	};

	(void)state;
	check_negatives(texts, sizeof(texts) / sizeof(texts[0]), "person_address_block");
}

/* Eponyms on the allowlist survive; the same word with "Frau" does not. */
static void test_allowlist(void **state)
{
	const char *text = "Morbus Parkinson bei Frau Parkinson, Sudeck-Syndrom.";
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	run(shipped, text, &sp);
	assert_int_equal(sp.n, 1);
	assert_true(has(text, &sp, PHI_PATIENT, "Parkinson"));
	assert_int_equal(sp.v[0].start, strstr(text, "Frau Parkinson") - text + 5);
	deid_spans_release(&sp);
}

/*
 * A name a rule found is also found in a spelling variant one edit away
 * that is itself a known name ("Maria" for "Marija"); not in a word one
 * edit away ("Sturz" for "Stutz") nor where the last letter differs.
 */
static void test_name_variants(void **state)
{
	const char *text = "Patientin: Marija Musterfeld\nEs geht Maria gut, Marie kam. "
	                   "Dr. Stutz sah den Sturz.";
	struct deid_spans sp = DEID_SPANS_INIT;
	size_t i;

	(void)state;
	run(shipped, text, &sp);
	assert_true(has(text, &sp, PHI_PATIENT, "Marija Musterfeld"));
	assert_true(has(text, &sp, PHI_PATIENT, "Maria"));
	assert_true(has(text, &sp, PHI_STAFF, "Stutz"));
	for (i = 0; i < sp.n; i++) {
		assert_true(sp.v[i].start != (size_t)(strstr(text, "Marie") - text));
		assert_true(sp.v[i].start != (size_t)(strstr(text, "Sturz") - text));
	}
	deid_spans_release(&sp);
}

/* ---- the reader ---------------------------------------------------------- */

static int add(struct deid_rules *r, const char *text, struct ms_error *err)
{
	ms_error_clear(err);
	return deid_rules_add(r, text, strlen(text), "t.rules", err);
}

static void expect_error(const char *text, int code, size_t line, const char *msg)
{
	struct deid_rules *r;
	struct ms_error err = MS_ERROR_INIT;

	assert_int_equal(deid_rules_new(&r, &err), 0);
	assert_int_equal(add(r, text, &err), code);
	if (strcmp(err.msg, msg) != 0)
		printf("got message '%s'\n", err.msg);
	assert_string_equal(err.msg, msg);
	assert_string_equal(err.path, "t.rules");
	assert_int_equal(err.line, line);
	assert_int_equal(deid_rules_count(r), 0);
	deid_rules_free(r);
}

static void test_reader_errors(void **state)
{
	(void)state;
	expect_error("[rule a]\nlabel = DATE\npattern = x\nfoo = 1\n", MS_EINVAL, 4,
	             "unknown key 'foo' in rule 'a'");
	expect_error("label = DATE\n", MS_EINVAL, 1, "'key = value' outside a rule");
	expect_error("[rule a]\nlabel DATE\n", MS_EINVAL, 2, "expected 'key = value'");
	expect_error("[rule a]\nlabel = DATE\n", MS_EINVAL, 1, "rule 'a' has no 'pattern'");
	expect_error("# c\n[rule a]\nlabel = PATIENTT\npattern = x\n", MS_EINVAL, 3,
	             "unknown label 'PATIENTT' in rule 'a'");
	expect_error("[rule a]\nlabel = DATE\npattern = x\n[rule a]\nlabel = DATE\npattern = y\n",
	             MS_EINVAL, 4, "rule 'a' is defined twice");
	expect_error("[rule A-b]\n", MS_EINVAL, 1, "rule names are 1-64 characters of [a-z0-9_]");
	expect_error("[rule a]\nlabel = ID\nvalidate = luhn\npattern = x\n", MS_EINVAL, 3,
	             "unknown validator 'luhn' in rule 'a'");
	expect_error("[rule a]\nlabel = ID\nwindow = 0\npattern = x\n", MS_EINVAL, 3,
	             "'window' of rule 'a' must be 1..400");
	expect_error("[rule a]\nlabel = ID\npriority = 101\npattern = x\n", MS_EINVAL, 3,
	             "'priority' of rule 'a' must be 0..100");
	expect_error("[rule a]\nlabel = ID\ngroup = 2\npattern = (x)\n", MS_EINVAL, 3,
	             "rule 'a' has no capture group 2");
	expect_error("[rule a]\nlabel = ID\ngroup = num\npattern = (x)\n", MS_EINVAL, 3,
	             "rule 'a' has no capture group 'num'");
	expect_error("[rule a]\npattern = (?<CITTY>x)\n", MS_EINVAL, 2,
	             "capture group 'CITTY' of rule 'a' is not named after a label");
	expect_error("[rule a]\npattern = (?<num>x)\n", MS_EINVAL, 1,
	             "rule 'a' has no 'label' and no capture group named after a label");
	expect_error("[rule a]\nlabel = ID\npattern = %{NOPE}x\n", MS_EINVAL, 3,
	             "unknown define 'NOPE'");
	expect_error("define X = a\ndefine X = b\n", MS_EINVAL, 2, "define 'X' is defined twice");
	expect_error("  continued\n", MS_EINVAL, 1, "continuation line without a value above it");
	expect_error("[rule a]\nlabel = ID\ncontext = Tel||Fax\npattern = x\n", MS_EINVAL, 3,
	             "empty word in 'context' of rule 'a'");
	expect_error("[rule a]\nlabel = ID\ntrigger = Pat Nr\npattern = x\n", MS_EINVAL, 3,
	             "'trigger' of rule 'a' needs single words, *ending, <word, #digit, "
	             "#digits:N-M or #mixed");
	expect_error("[rule a]\nlabel = ID\ntrigger = #digits:5-4\npattern = x\n", MS_EINVAL, 3,
	             "'trigger' of rule 'a': #digits needs a range such as #digits:4-5");
	expect_error("[rule a]\nlabel = ID\ntrigger = #digits:0-4\npattern = x\n", MS_EINVAL, 3,
	             "'trigger' of rule 'a': #digits needs a range such as #digits:4-5");
	expect_error("[rule a]\nlabel = ID\ntrigger = #digits:4-100\npattern = x\n", MS_EINVAL, 3,
	             "'trigger' of rule 'a': #digits needs a range such as #digits:4-5");
	expect_error("[rule a]\nlabel = ID\ntrigger = #digits:4\npattern = x\n", MS_EINVAL, 3,
	             "'trigger' of rule 'a': #digits needs a range such as #digits:4-5");
	expect_error("[rule a]\nlabel = ID\ntrigger = #digits:4-5x\npattern = x\n", MS_EINVAL, 3,
	             "'trigger' of rule 'a': #digits needs a range such as #digits:4-5");
	expect_error("[rule a]\nlabel = ID\nscope = lines\npattern = x\n", MS_EINVAL, 3,
	             "'scope' of rule 'a' must be text or line");
	expect_error("[rule a]\nlabel = ID\nscope = line\npattern = x\n", MS_EINVAL, 3,
	             "'scope = line' of rule 'a' needs 'needs'");
	expect_error("[rule a]\nlabel = ID\nneeds = x\ntrigger = Tel\nscope = line\npattern = x\n",
	             MS_EINVAL, 5, "rule 'a' has both 'scope = line' and 'trigger'");
	expect_error("[rule a]\nlabel = ID\nnear = 9: x\npattern = x\n", MS_EINVAL, 3,
	             "'near' of rule 'a' needs a 'trigger' or 'scope = line'");
	expect_error("[rule a]\nlabel = ID\ntrigger = Tel\nnear = 0: x\npattern = x\n", MS_EINVAL,
	             4,
	             "'near' of rule 'a' must be N: WORDS (N: 1-4096 bytes), line: WORDS or N "
	             "lines: WORDS (N: 1-100)");
	expect_error("[rule a]\nlabel = ID\ntrigger = Tel\nnear = 4097: x\npattern = x\n",
	             MS_EINVAL, 4,
	             "'near' of rule 'a' must be N: WORDS (N: 1-4096 bytes), line: WORDS or N "
	             "lines: WORDS (N: 1-100)");
	expect_error("[rule a]\nlabel = ID\ntrigger = Tel\nnear = 101 lines: x\npattern = x\n",
	             MS_EINVAL, 4,
	             "'near' of rule 'a' must be N: WORDS (N: 1-4096 bytes), line: WORDS or N "
	             "lines: WORDS (N: 1-100)");
	expect_error("[rule a]\nlabel = ID\ntrigger = Tel\nnear = lines: x\npattern = x\n",
	             MS_EINVAL, 4,
	             "'near' of rule 'a' must be N: WORDS (N: 1-4096 bytes), line: WORDS or N "
	             "lines: WORDS (N: 1-100)");
	expect_error("[rule a]\nlabel = ID\ntrigger = Tel\nnear = x\npattern = x\n", MS_EINVAL, 4,
	             "'near' of rule 'a' must be N: WORDS (N: 1-4096 bytes), line: WORDS or N "
	             "lines: WORDS (N: 1-100)");
	expect_error("[rule a]\nlabel = ID\ntrigger = Tel\nnear = 9: x||y\npattern = x\n",
	             MS_EINVAL, 4, "empty word in 'near' of rule 'a'");
	expect_error("[rule a]\nlabel = ID\ntrigger = Tel\nnear = 9:\npattern = x\n", MS_EINVAL, 4,
	             "empty word in 'near' of rule 'a'");
	expect_error("[rule a]\nlabel = ID\npattern = x\nlabel = DATE\n", MS_EINVAL, 4,
	             "key 'label' given twice in rule 'a'");
	expect_error("[rule a]\nlabel = ID\npattern = x\n\xc3\x28\n", MS_EINVAL, 4,
	             "invalid UTF-8 at byte 32");
}

/* A PCRE2 compile error names file, line, rule and the pattern offset. */
static void test_pcre2_error(void **state)
{
	(void)state;
	expect_error("[rule dates]\nlabel = DATE\npattern = [0-9]+(ab\n", MS_EREGEX, 3,
	             "pattern of rule 'dates' does not compile at offset 9: missing closing "
	             "parenthesis");
	/* the offset is into the expanded pattern */
	expect_error("define D = [0-9]\n[rule d]\nlabel = DATE\npattern = %{D}{2}(\n", MS_EREGEX, 4,
	             "pattern of rule 'd' does not compile at offset 9: missing closing "
	             "parenthesis");
}

/* A failed add leaves the set as it was; defines carry over between adds. */
static void test_reader_atomic(void **state)
{
	struct deid_rules *r;
	struct ms_error err = MS_ERROR_INIT;

	(void)state;
	assert_int_equal(deid_rules_new(&r, &err), 0);
	assert_int_equal(add(r, "define N = [0-9]\n[rule a]\nlabel = ID\npattern = %{N}+\n", &err),
	                 0);
	assert_int_equal(deid_rules_count(r), 1);
	assert_int_equal(add(r, "define M = x\n[rule b]\nlabel = ID\npattern = (\n", &err),
	                 MS_EREGEX);
	assert_int_equal(deid_rules_count(r), 1);
	/* M was rolled back, N stays */
	assert_int_equal(add(r, "[rule c]\nlabel = ID\npattern = %{M}\n", &err), MS_EINVAL);
	assert_int_equal(add(r, "[rule c]\nlabel = ID\n# comment\npattern = a\n  %{N}\n", &err), 0);
	assert_int_equal(deid_rules_count(r), 2);
	assert_int_equal(add(r, "[rule c]\nlabel = ID\npattern = x\n", &err), MS_EINVAL);
	deid_rules_free(r);
	deid_rules_free(NULL);
}

/* ---- the matcher, with rule files written for the test -------------------- */

static struct deid_detector *detector_with(const char *rules, unsigned flags)
{
	struct deid_detector_opts o = DEID_DETECTOR_OPTS_INIT;
	struct deid_detector *det = NULL;
	struct ms_error err = MS_ERROR_INIT;
	const char *dir = ms_test_tmpdir();
	static char path[4096], gaz[4096];
	const char *files[1];
	char msg[512];

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/t.rules", dir);
	assert_int_equal(ms_file_write_atomic(path, rules, strlen(rules), 0644, &err), 0);
	snprintf(gaz, sizeof(gaz), "%s", ms_test_src_path("data/gazetteers"));
	files[0] = path;
	o.rule_files = files;
	o.n_rule_files = 1;
	o.gazetteer_dir = gaz;
	o.flags = flags | DEID_DETECT_NO_MERGE;
	if (deid_detector_new(&det, &o, &err))
		fail_msg("%s", ms_error_format(&err, msg, sizeof(msg)));
	remove(path);
	return det;
}

/* Keeps the rule hits only (the gazetteers add their own candidates). */
static void only_rules(struct deid_spans *sp)
{
	size_t i, w = 0;

	for (i = 0; i < sp->n; i++) {
		if (sp->v[i].source_kind == DEID_SOURCE_RULE)
			sp->v[w++] = sp->v[i];
	}
	sp->n = w;
}

static void test_matcher(void **state)
{
	static const char rules[] =
	        "define N = [0-9]\n"
	        "[rule ctx]\nlabel = ID\ncontext = Fall-Nr|PID\nwindow = 12\n"
	        "pattern = (?<![0-9])%{N}{6}(?![0-9])\n"
	        "[rule val]\nlabel = ID\nvalidate = kvnr\npattern = [A-Z]%{N}{9}\n"
	        "[rule city]\ngroup = CITY\nrequire = city\n"
	        "pattern = (?<ZIP>%{N}{5}) (?<CITY>\\p{Lu}\\p{Ll}+(?: \\p{Lu}\\p{Ll}+)?)\n"
	        "[rule who]\nlabel = PATIENT\ntrigger = Frau\ntrim = given\ngender = f\n"
	        "pattern = Frau (?<n>\\p{Lu}\\p{Ll}+(?: \\p{Lu}\\p{Ll}+)*)\ngroup = n\n"
	        "[rule at]\nneeds = @\nlabel = EMAIL\npattern = \\w+@\\w+\\.de\n"
	        "[rule marks]\nlabel = OTHER\n"
	        "pattern = Zimmer (*MARK:ID)%{N}+|Ort (*MARK:KEEP)\\p{L}+\n";
	struct deid_detector *det = detector_with(rules, 0);
	struct deid_spans sp = DEID_SPANS_INIT;
	const char *t1 = "Fall-Nr. 123456, 654321 und 123457.";
	const char *t2 = "A123456780 A123456781";
	const char *t3 = "10117 Berlin Mitte, 10000 Einheiten";
	const char *t4 = "Frau Beate Albers Schmerzen, Frau Albers Schmerzen";
	const char *t5 = "Zimmer 12, Ort Mulde, mail x@y.de";

	(void)state;
	run(det, t1, &sp); /* context within 12 characters only */
	only_rules(&sp);
	assert_int_equal(sp.n, 1);
	assert_true(has(t1, &sp, PHI_ID, "123456"));
	run(det, t2, &sp);
	only_rules(&sp);
	assert_int_equal(sp.n, 1);
	assert_true(has(t2, &sp, PHI_ID, "A123456780"));
	assert_int_equal(sp.v[0].score, 1.0f);
	run(det, t3, &sp); /* "Berlin Mitte" cut to the known place */
	only_rules(&sp);
	assert_int_equal(sp.n, 2);
	assert_true(has(t3, &sp, PHI_ZIP, "10117"));
	assert_true(has(t3, &sp, PHI_CITY, "Berlin"));
	run(det, t4, &sp);
	only_rules(&sp);
	assert_int_equal(sp.n, 2);
	assert_true(has(t4, &sp, PHI_PATIENT, "Beate Albers"));
	assert_true(has(t4, &sp, PHI_PATIENT, "Albers"));
	assert_int_equal(sp.v[0].gender, 'f');
	run(det, t5, &sp); /* marks; KEEP regions are not spans */
	only_rules(&sp);
	assert_int_equal(sp.n, 2);
	assert_true(has(t5, &sp, PHI_ID, "Zimmer 12"));
	assert_true(has(t5, &sp, PHI_EMAIL, "x@y.de"));
	run(det, "no at sign here x at y.de", &sp);
	only_rules(&sp);
	assert_int_equal(sp.n, 0);
	assert_int_equal(deid_detector_rule_count(det), 6);
	deid_spans_release(&sp);
	deid_detector_free(det);
}

/* A catastrophic pattern hits the match limit: an error naming the rule. */
/* ---- triggers: the same matches as a scan -------------------------------- */

/* The shipped defines and one shipped rule file (file: "words.rules")
 * without the keys in drop (NULL-terminated, such as "near"). */
static char *shipped_rules_without(const char *file, const char *const *drop)
{
	char path[64];
	struct ms_buf defs = MS_BUF_INIT, words = MS_BUF_INIT, out = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;
	const char *p, *end;
	bool in_dropped = false;
	char *text;
	size_t k;

	assert_int_equal(ms_file_read(&defs, ms_test_src_path("data/rules/00-defines.rules"),
	                              (size_t)1 << 22, &err),
	                 0);
	snprintf(path, sizeof(path), "data/rules/%s", file);
	assert_int_equal(ms_file_read(&words, ms_test_src_path(path), (size_t)1 << 22, &err), 0);
	ms_buf_add(&out, defs.buf, defs.len);
	ms_buf_addch(&out, '\n');
	for (p = words.buf, end = words.buf + words.len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)((nl ? nl + 1 : end) - p);

		if (p[0] != ' ' && p[0] != '\t') { /* not a continuation line */
			in_dropped = false;
			for (k = 0; drop[k]; k++) {
				size_t kl = strlen(drop[k]);

				if (strncmp(p, drop[k], kl) == 0 && p[kl] == ' ' &&
				    p[kl + 1] == '=')
					in_dropped = true;
			}
		}
		if (!in_dropped)
			ms_buf_add(&out, p, ll);
		p += ll;
	}
	assert_int_equal(ms_buf_status(&out), 0);
	text = ms_buf_detach(&out, NULL);
	ms_buf_release(&defs);
	ms_buf_release(&words);
	return text;
}

/* The keys that make a rule run only at some places: without them it scans. */
static const char *const scan_keys[] = { "trigger", "scope", "near", NULL };

/* The same; without triggers, scopes and near windows (triggered false)
 * its rules scan the text. */
static char *shipped_rules(const char *file, bool triggered)
{
	static const char *const none[] = { NULL };

	return shipped_rules_without(file, triggered ? none : scan_keys);
}

/* Fails unless both find the same spans; returns how many. */
static size_t same_spans(struct deid_detector *scan, struct deid_detector *trig, const char *text)
{
	struct deid_spans a = DEID_SPANS_INIT, b = DEID_SPANS_INIT;
	size_t i;

	run(scan, text, &a);
	run(trig, text, &b);
	if (a.n != b.n)
		fail_msg("%zu spans scanning, %zu triggered in '%s'", a.n, b.n, text);
	for (i = 0; i < a.n; i++) {
		if (a.v[i].start != b.v[i].start || a.v[i].end != b.v[i].end ||
		    a.v[i].label != b.v[i].label)
			fail_msg("span %zu differs in '%s': [%zu, %zu) %s scanning, [%zu, %zu) %s "
			         "triggered",
			         i, text, a.v[i].start, a.v[i].end, phi_label_name(a.v[i].label),
			         b.v[i].start, b.v[i].end, phi_label_name(b.v[i].label));
	}
	deid_spans_release(&a);
	deid_spans_release(&b);
	return i;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Words and separators that random texts are made of. */
struct word_mix {
	const char *const *words;
	size_t n_words;
	const char *const *seps;
	size_t n_seps;
	size_t min_parts, spread; /* min_parts + (0 .. spread - 1) words a text */
};

/*
 * Runs both detectors on n random texts of m's words, each followed by one
 * of its separators (a seeded LCG, so every run tests the same texts);
 * fails where they differ; returns the spans found.
 */
static size_t same_on_random(struct deid_detector *a, struct deid_detector *b,
                             const struct word_mix *m, uint32_t seed, size_t n)
{
	size_t i, k, found = 0;

	for (i = 0; i < n; i++) {
		char text[512];
		size_t len = 0, parts;

		seed = seed * 1103515245u + 12345u;
		parts = m->min_parts + (seed >> 16) % m->spread;
		for (k = 0; k < parts; k++) {
			const char *w, *sep;

			seed = seed * 1103515245u + 12345u;
			w = m->words[(seed >> 16) % m->n_words];
			seed = seed * 1103515245u + 12345u;
			sep = m->seps[(seed >> 16) % m->n_seps];
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s", w, sep);
		}
		found += same_spans(a, b, text);
	}
	return found;
}

/*
 * Fails unless the shipped rule file finds the same spans with all its keys
 * and without those in drop (such as scan_keys) on texts and on n random
 * texts of mix; the file must use drop[0]. Returns the spans found.
 */
static size_t same_without(const char *file, const char *const *drop, const char *const *texts,
                           size_t n_texts, const struct word_mix *mix, uint32_t seed, size_t n)
{
	static const char *const keep[] = { NULL };
	char *plain = shipped_rules_without(file, drop);
	char *full = shipped_rules_without(file, keep);
	struct deid_detector *a = detector_with(plain, DEID_DETECT_NO_GAZETTEER);
	struct deid_detector *b = detector_with(full, DEID_DETECT_NO_GAZETTEER);
	char used[32];
	size_t i, found = 0;

	snprintf(used, sizeof(used), "\n%s = ", drop[0]);
	assert_non_null(strstr(full, used));
	assert_null(strstr(plain, used));
	for (i = 0; i < n_texts; i++)
		found += same_spans(a, b, texts[i]);
	found += same_on_random(a, b, mix, seed, n);
	deid_detector_free(a);
	deid_detector_free(b);
	ms_free(plain);
	ms_free(full);
	return found;
}

/*
 * rules plus a rule that labels every capitalised word: a KEEP match
 * ("Virchowsche Trias") then shows as the words it takes away. Frees rules.
 */
static char *with_word_probe(char *rules)
{
	struct ms_buf b = MS_BUF_INIT;

	ms_buf_adds(&b, rules);
	ms_buf_adds(&b, "\n[rule word_probe]\nlabel = PATIENT\n"
	                "pattern = (?<![\\p{L}])\\p{Lu}\\p{Ll}+(?![\\p{L}])\n");
	assert_int_equal(ms_buf_status(&b), 0);
	ms_free(rules);
	return ms_buf_detach(&b, NULL);
}

/*
 * For each noun of the shipped define EPONYM_ADJ_NOUN, "Bakersche NOUN",
 * "Baker-sche NOUN" and "Hoffa'sche NOUN": both detectors find the same;
 * returns the nouns.
 */
static size_t each_eponym_noun(struct deid_detector *a, struct deid_detector *b)
{
	static const char start[] = "define EPONYM_ADJ_NOUN = (?:";
	struct ms_buf defs = MS_BUF_INIT;
	struct ms_error err = MS_ERROR_INIT;
	const char *p, *end;
	size_t n = 0;

	assert_int_equal(ms_file_read(&defs, ms_test_src_path("data/rules/00-defines.rules"),
	                              (size_t)1 << 22, &err),
	                 0);
	p = strstr(defs.buf, start);
	assert_non_null(p);
	p += strlen(start);
	end = strchr(p, ')');
	assert_non_null(end);
	while (p < end) {
		const char *bar = memchr(p, '|', (size_t)(end - p));
		int wl = (int)((bar ? bar : end) - p);
		char text[160];

		snprintf(text, sizeof(text), "Bakersche %.*s, Baker-sche %.*s, Hoffa'sche %.*s", wl,
		         p, wl, p, wl, p);
		same_spans(a, b, text);
		n++;
		p = bar ? bar + 1 : end;
	}
	ms_buf_release(&defs);
	return n;
}

/*
 * word_endings runs only at its triggers (*endings, <words, first words);
 * it must find what a scan of every capitalised word finds: hand-made
 * edge cases, then random strings of its words and separators.
 */
static void test_word_end_triggers(void **state)
{
	static const char *const texts[] = {
		"Robert-Koch-Str. 17",
		"Hauptstr12",
		"3Hauptstraße 5",
		"von-Müller-Str. 3",
		"A1B-Klinik Süd",
		"Covid19-Klinik Nord",
		"Klinik- und Poliklinik",
		"Hoffa'sche Fettkörper",
		"Hoffa-'sche Fettkörper",
		"Rote Straße 3",
		"Groß-Gerauer Straße 5 a",
		"Anna-Sankt-Klinik Nord",
		"Universitätsklinikum Wilhelmsburg, Radiologie",
		"Städt. Klinikum Neustadt",
		"Morbus Osgood-Schlatter",
		"Virchowsche Trias",
		"Ce\xcc\x81klinik Nord",
		"KH der Johanniter",
		"Christian-Drosten-Klinik",
		"Vorhof 13 mm",
		"Kantstraße. 21 a",
		"St. Anna-Krankenhaus Süd",
		"Hofgasse 3 A-9020",
		"Rote--Straße 3",
		"Hoffa’schen Fettkörper",
		"Ärztehaus-Klinikum West",
		"St.-Anna-Hospital Nord",
		"ST.-ANNA-HOSPITAL",
		"STÄDTISCHES KLINIKUM NORD",
		"st.-Anna-Klinik",
	};
	static const char *const words[] = {
		"Haupt",    "str",     "Straße",      "straße",     "Klinik",  "klinikum",
		"Kliniken", "KH",      "Sankt",       "St.",        "Städt.",  "Rote",
		"Kärntner", "Morbus",  "Osgood",      "Schlatter",  "Virchow", "sche",
		"schen",    "Trias",   "Hoffa",       "Fettkörper", "Anna",    "von",
		"der",      "Süd",     "12",          "3a",         "A1B",     "Covid19",
		"Ärzte",    "Hof",     "Vorhof",      "berg",       "weg",     "Allee",
		"DD",       "Drosten", "Krankenhaus", "Samariter",  "Ev.",     "Zyste",
	};
	static const char *const seps[] = { " ", "-", "--", ". ", "'", "’", "\n", ", ", "", "." };
	char *scan_rules = with_word_probe(shipped_rules("words.rules", false));
	char *trig_rules = with_word_probe(shipped_rules("words.rules", true));
	struct deid_detector *scan = detector_with(scan_rules, DEID_DETECT_NO_GAZETTEER);
	struct deid_detector *trig = detector_with(trig_rules, DEID_DETECT_NO_GAZETTEER);
	const struct word_mix mix = { words, N_OF(words), seps, N_OF(seps), 3, 7 };
	size_t i;

	(void)state;
	for (i = 0; i < N_OF(texts); i++)
		same_spans(scan, trig, texts[i]);
	/* every noun an -sche adjective keeps ("Virchowsche Trias") */
	assert_true(each_eponym_noun(scan, trig) > 30);
	/* the random strings do hold streets, hospitals and eponyms */
	assert_true(same_on_random(scan, trig, &mix, 12345, 3000) > 200);
	deid_detector_free(scan);
	deid_detector_free(trig);
	ms_free(scan_rules);
	ms_free(trig_rules);
}

/*
 * The number rule runs at numbers (#digit, and a "+" right before one); it
 * must find what a scan of every digit and "+" finds: hand-made edge cases
 * (signs, numbers inside words, after marks and non-ASCII letters), then
 * random strings of number-like words and separators.
 */
static void test_number_triggers(void **state)
{
	static const char *const texts[] = {
		"Tel. +49 30 1234567",
		"Tel.+49 (0)30 123-45",
		"x+49 30 1234567",
		"++49 30 1234567",
		"+5 mg",
		"+ 49 30 1234567",
		"0049 30 1234567",
		"A1234567 B12.03.2021",
		"\xc3\xa9"
		"12.03.2021 und \xc3\xa9"
		"1234567",
		"e\xcc\x81"
		"12.03.2021, e\xcc\x81"
		"0049 30 1234567",
		"\xc2\xb2"
		"12.03.2021",
		"Hauptstr. 8, 47809 Musterstadt",
		"Am Hang 3\n33455 Musterstadt",
		"20223 Musterstadt\n",
		"vom 1. - 21. Juli 2022, 3 bis 4.5.21, Sepsis 1.2. (Fokus)",
		"92-jährig, im 93. Lebensjahr, 37848/2019, 1.2.840.10008.5.1.4",
		"seit 2007, 2000 mg, 6-9/19, 3,5 cm, 03/21, NRS 5/10",
	};
	static const char *const words[] = {
		"12",      "03",    "2021",       "+49",         "0049",      "30",
		"1234567", "47809", "mg",         "Musterstadt", "Hauptstr",  "vom",
		"3",       "a",     "(0)",        "Juli",        "jährig",    "Jahre",
		"alt",     "/",     "x",          "\xc3\xa9",    "e\xcc\x81", "1.2",
		"19",      "LK",    "Lebensjahr", "-",           "bis",       "+",
	};
	static const char *const seps[] = { " ", ".", ", ", "-", "/", "\n", "", ". ", " - ", "+" };
	char *scan_rules = shipped_rules("numbers.rules", false);
	char *trig_rules = shipped_rules("numbers.rules", true);
	struct deid_detector *scan = detector_with(scan_rules, DEID_DETECT_NO_GAZETTEER);
	struct deid_detector *trig = detector_with(trig_rules, DEID_DETECT_NO_GAZETTEER);
	const struct word_mix mix = { words, N_OF(words), seps, N_OF(seps), 3, 9 };
	size_t i, found = 0;

	(void)state;
	assert_non_null(strstr(trig_rules, "trigger = #digit"));
	assert_null(strstr(scan_rules, "trigger = #digit"));
	for (i = 0; i < N_OF(texts); i++)
		found += same_spans(scan, trig, texts[i]);
	/* the cases hold phone numbers, dates, ages and ids */
	assert_true(found > 20);
	assert_true(same_on_random(scan, trig, &mix, 4711, 5000) > 1000);
	deid_detector_free(scan);
	deid_detector_free(trig);
	ms_free(scan_rules);
	ms_free(trig_rules);
}

/* Appends code point cp to b as UTF-8. */
static void put_utf8(struct ms_buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		ms_buf_addch(b, (char)cp);
	} else if (cp < 0x800) {
		ms_buf_addch(b, (char)(0xC0 | cp >> 6));
		ms_buf_addch(b, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		ms_buf_addch(b, (char)(0xE0 | cp >> 12));
		ms_buf_addch(b, (char)(0x80 | (cp >> 6 & 0x3F)));
		ms_buf_addch(b, (char)(0x80 | (cp & 0x3F)));
	} else {
		ms_buf_addch(b, (char)(0xF0 | cp >> 18));
		ms_buf_addch(b, (char)(0x80 | (cp >> 12 & 0x3F)));
		ms_buf_addch(b, (char)(0x80 | (cp >> 6 & 0x3F)));
		ms_buf_addch(b, (char)(0x80 | (cp & 0x3F)));
	}
}

/*
 * The shipped defines LU, LL and SPACE, which spell out the ASCII part of
 * \p{Lu}, \p{Ll} and \s for speed, take exactly the same characters: every
 * code point (but NUL and surrogates), between \x01 separators, in blocks.
 */
static void test_class_defines(void **state)
{
	static const char *const pairs[][2] = {
		{ "%{LU}", "\\p{Lu}" },
		{ "%{LL}", "\\p{Ll}" },
		{ "[%{SPACE}]", "\\s" },
		{ "[^%{SPACE},(]", "[^\\s,(]" },
	};
	char *defs = shipped_rules("words.rules", false);
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
		struct ms_buf ra = MS_BUF_INIT, rb = MS_BUF_INIT;
		struct deid_detector *a, *b;
		uint32_t lo;
		size_t found = 0;

		ms_buf_addf(&ra, "%s\n[rule cls]\nlabel = ID\npattern = (?<=\\x01)%s(?=\\x01)\n",
		            defs, pairs[k][0]);
		ms_buf_addf(&rb, "%s\n[rule cls]\nlabel = ID\npattern = (?<=\\x01)%s(?=\\x01)\n",
		            defs, pairs[k][1]);
		assert_int_equal(ms_buf_status(&ra), 0);
		assert_int_equal(ms_buf_status(&rb), 0);
		a = detector_with(ra.buf, DEID_DETECT_NO_GAZETTEER | DEID_DETECT_NO_MERGE);
		b = detector_with(rb.buf, DEID_DETECT_NO_GAZETTEER | DEID_DETECT_NO_MERGE);
		for (lo = 1; lo < 0x110000; lo += 0x2000) {
			struct ms_buf text = MS_BUF_INIT;
			uint32_t cp;

			ms_buf_addch(&text, '\x01');
			for (cp = lo; cp < lo + 0x2000 && cp < 0x110000; cp++) {
				if (cp >= 0xD800 && cp <= 0xDFFF)
					continue;
				put_utf8(&text, cp);
				ms_buf_addch(&text, '\x01');
			}
			assert_int_equal(ms_buf_status(&text), 0);
			found += same_spans(a, b, text.buf);
			ms_buf_release(&text);
		}
		/* thousands of capitals and small letters, two dozen spaces */
		assert_true(found > 20);
		deid_detector_free(a);
		deid_detector_free(b);
		ms_buf_release(&ra);
		ms_buf_release(&rb);
	}
	ms_free(defs);
}

/*
 * Rules with scope = line (name_before_birth, patient_before_birthdate,
 * staff_title_after) run only at the lines that hold a `needs` literal; they
 * must find what a scan finds: hand-made cases (the literal on another line,
 * twice on a line, CRLF, the text's first and last line), then random texts
 * of names, birth marks, titles and line breaks.
 */
static void test_line_scope(void **state)
{
	static const char *const texts[] = {
		"Anna Muster, geb. 01.02.1950",
		"Befund\nAnna Muster geb. 01.02.1950\nBeurteilung: geb. frei",
		"Anna Muster\ngeb. 01.02.1950",
		"x\r\nMuster, Anna geb. 01.02.1950\r\nMuster B. Dr.\r\n",
		"Anna Muster (*1950), geb. Meier, geboren 1950 *",
		"Muster, Anna Maria geb. 3. März 1950\nMuster A. Dr. med.",
		"Frau Anna Muster, geb. 01.02.1950 und Hans Muster geb. 02.03.1951",
		"\n\nMuster B. Dr.",
		"Muster B. Dr.,\nMuster C. Dr.",
	};
	static const char *const words[] = {
		"Anna", "Muster",     "Hans", "Meier", "geb.",     "geboren", "Geb.", "*",
		"(*",   "01.02.1950", "1950", "Dr.",   "Dr. med.", "B.",      "Frau", "Befund:",
	};
	static const char *const seps[] = { " ", ", ", "\n", "\r\n", " ", ",", "\n ", " " };
	static const char *const drop[] = { "scope", "trigger", "near", NULL };
	const struct word_mix mix = { words, N_OF(words), seps, N_OF(seps), 3, 10 };

	(void)state;
	assert_true(same_without("persons.rules", drop, texts, N_OF(texts), &mix, 2024, 4000) >
	            1000);
}

/*
 * age_word runs at the word before its nouns (<patient, <sohn, ... in any
 * case, as its caseless pattern reads them); it must find what a scan of
 * the text finds: hand-made cases (capitals, a hyphen, two spaces, a noun
 * that only starts the next word), then random texts of number words,
 * "jährig" endings and nouns.
 */
static void test_age_word_triggers(void **state)
{
	static const char *const texts[] = {
		"die zweiundachtzigjährige Patientin",
		"DIE ZWEIUNDACHTZIGJÄHRIGE PATIENTIN",
		"ein fünfjähriger Sohn, eine dreijährige Tochter",
		"der achtzehnjährige  Patient",
		"die einjährige Interferontherapie, der zweijährige Sohnemann",
		"Drei-zwölfjähriger Knabe",
		"der vierzigjährige Pat. und die neunjährige Schülerin",
	};
	static const char *const words[] = {
		"zweiundachtzigjährige",
		"fünfjähriger",
		"ZWÖLFJÄHRIGE",
		"einjährige",
		"zwei",
		"jährige",
		"Patient",
		"PATIENT",
		"Patientin",
		"Pat.",
		"Sohn",
		"mädchen",
		"Säugling",
		"Therapie",
		"Frau",
		"x",
	};
	static const char *const seps[] = { " ", " ", " ", "", "-", "  ", "\n", ", " };
	const struct word_mix mix = { words, N_OF(words), seps, N_OF(seps), 3, 9 };
	char *rules = shipped_rules("age.rules", true);

	(void)state;
	assert_non_null(strstr(rules, "trigger = <patient"));
	ms_free(rules);
	assert_true(same_without("age.rules", scan_keys, texts, N_OF(texts), &mix, 31, 6000) > 700);
}

/*
 * #digits:4-5 runs a rule only at words of four or five ASCII digits: the
 * same spans as #digit for a pattern that needs such a word, and none at
 * longer, shorter or mixed numbers; #digit beside it widens it to all.
 */
static void test_digits_trigger(void **state)
{
	static const char rules_range[] = "[rule z]\nlabel = ZIP\ntrigger = #digits:4-5\n"
	                                  "pattern = (?<![\\p{L}\\p{N}\\p{M}])[0-9]{1,9}\n";
	static const char rules_all[] = "[rule z]\nlabel = ZIP\ntrigger = #digits:4-5|#digit\n"
	                                "pattern = (?<![\\p{L}\\p{N}\\p{M}])[0-9]{1,9}\n";
	static const char rules_zip[] =
	        "[rule z]\nlabel = ZIP\ntrigger = #digit\n"
	        "pattern = (?=[0-9]{4,5}(?![0-9\\p{L}\\p{M}]))(?<![\\p{L}\\p{N}\\p{M}])[0-9]{4,5}\n";
	static const char *const words[] = { "1",     "12",   "123",  "1234", "12345", "123456",
		                             "1234a", "a123", "4711", "+",    "x",     "\xc3\xa9" };
	static const char *const seps[] = { " ", "-", ".", "/", "", "\n", ", " };
	struct deid_detector *range = detector_with(rules_range, DEID_DETECT_NO_GAZETTEER);
	struct deid_detector *all = detector_with(rules_all, DEID_DETECT_NO_GAZETTEER);
	struct deid_detector *zip = detector_with(rules_zip, DEID_DETECT_NO_GAZETTEER);
	struct deid_spans sp = DEID_SPANS_INIT;
	const struct word_mix mix = { words, N_OF(words), seps, N_OF(seps), 2, 8 };

	(void)state;
	/* the pattern takes any number; the trigger lets it run at 4 and 5 digits */
	run(range, "1 12 123 1234 12345 123456 1234a 4711", &sp);
	assert_int_equal(sp.n, 3);
	assert_int_equal(sp.v[0].start, 9);
	assert_int_equal(sp.v[1].start, 14);
	assert_int_equal(sp.v[2].start, 33);
	run(all, "1 12 123 1234 12345 123456 1234a 4711", &sp);
	assert_int_equal(sp.n, 8); /* "1234a" too */
	assert_true(same_on_random(zip, range, &mix, 99, 3000) > 1000);
	deid_spans_release(&sp);
	deid_detector_free(range);
	deid_detector_free(all);
	deid_detector_free(zip);
}

/*
 * near: a triggered rule runs only where a literal (#digit: a digit) starts
 * within its window: N bytes from the trigger word, or to the end of its
 * line or of the next lines. At the edge of each window, in and out.
 */
static void test_near_window(void **state)
{
	static const char bytes[] = "[rule t]\nlabel = PHONE\ntrigger = Tel\nnear = 8: #digit|x\n"
	                            "pattern = Tel[^\\n]*\n";
	static const char lines[] = "[rule t]\nlabel = PHONE\ntrigger = Tel\nnear = 2 lines: 42\n"
	                            "pattern = Tel\\b\n";
	static const char line[] = "[rule t]\nlabel = PHONE\ntrigger = Tel\nnear = line: 42\n"
	                           "pattern = Tel\\b\n";
	static const char digit[] = "[rule t]\nlabel = PHONE\ntrigger = Tel\n"
	                            "near = 2 lines: #digit\npattern = Tel\\b\n";
	struct deid_detector *db = detector_with(bytes, DEID_DETECT_NO_GAZETTEER);
	struct deid_detector *dl = detector_with(lines, DEID_DETECT_NO_GAZETTEER);
	struct deid_detector *d1 = detector_with(line, DEID_DETECT_NO_GAZETTEER);
	struct deid_detector *dd = detector_with(digit, DEID_DETECT_NO_GAZETTEER);
	struct deid_spans sp = DEID_SPANS_INIT;

	(void)state;
	run(db, "Tel abcd1", &sp); /* the digit is the 9th byte from "T" */
	assert_int_equal(sp.n, 0);
	run(db, "Tel abc1", &sp);
	assert_int_equal(sp.n, 1);
	run(db, "Tel abcx", &sp);
	assert_int_equal(sp.n, 1);
	run(db, "Tel abc", &sp); /* the text ends inside the window */
	assert_int_equal(sp.n, 0);
	run(db, "Tel a\nTel b 7", &sp); /* windows are per trigger */
	assert_int_equal(sp.n, 1);
	assert_int_equal(sp.v[0].start, 6);
	run(dl, "Tel a\nb 42", &sp);
	assert_int_equal(sp.n, 1);
	run(dl, "Tel a\nb\n42", &sp);
	assert_int_equal(sp.n, 0);
	run(dl, "Tel a\nb 4\n2", &sp); /* a literal does not cross a line */
	assert_int_equal(sp.n, 0);
	run(d1, "x 42 Tel a\n42", &sp); /* only after the trigger */
	assert_int_equal(sp.n, 0);
	run(d1, "Tel a 42\n", &sp);
	assert_int_equal(sp.n, 1);
	/* several triggers on a line and across lines (each is looked at
	 * from where it stands, through one search of the text) */
	run(d1, "Tel a Tel b 42 Tel c\nTel d", &sp);
	assert_int_equal(sp.n, 2);
	assert_int_equal(sp.v[1].start, 6);
	run(dl, "Tel\nTel\n42\nTel\nx 42 Tel\nTel", &sp);
	assert_int_equal(sp.n, 2);
	assert_int_equal(sp.v[0].start, 4);
	assert_int_equal(sp.v[1].start, 11);
	{ /* far from the trigger: through the text's line breaks */
		char far[1200];

		memset(far, 'x', sizeof(far));
		memcpy(far, "Tel ", 4);
		memcpy(far + 1000, "\nx 42\n", 7);
		far[sizeof(far) - 1] = '\0';
		run(d1, far, &sp);
		assert_int_equal(sp.n, 0);
		run(dl, far, &sp);
		assert_int_equal(sp.n, 1);
		far[1000] = 'x'; /* one long line */
		run(d1, far, &sp);
		assert_int_equal(sp.n, 1);
		far[1000] = '\n';
		far[500] = '\n';
		run(dl, far, &sp);
		assert_int_equal(sp.n, 0);
	}
	run(dd, "Tel\nTel x\n7 Tel\n\nTel 8", &sp);
	assert_int_equal(sp.n, 2);
	assert_int_equal(sp.v[0].start, 4);
	assert_int_equal(sp.v[1].start, 17);
	deid_spans_release(&sp);
	deid_detector_free(db);
	deid_detector_free(dl);
	deid_detector_free(d1);
	deid_detector_free(dd);
}

/*
 * The shipped rules with `near` find what they find without it: hand-made
 * cases at the edges of their windows (the longest context words, a name
 * on the next line), then random texts of their trigger words, names,
 * birth marks, commas, numbers and line breaks.
 */
static void test_near_shipped(void **state)
{
	static const char *const person_texts[] = {
		"Frau\nMuster, Anna geb. 01.02.1950", "Frau MUSTER, Anna",
		"Herrn von Muster, Hans (* 1950)",    "Patientin Anna Muster\n(*1.2.1950)",
		"Dr. med.\nMuster, Anna\n",           "Prof. Dr. Muster, Anna am 3.4.",
	};
	static const char *const person_words[] = {
		"Frau",   "Herrn",  "Patientin", "Pat.",    "Dr.",        "Prof. Dr. med.",
		"Muster", "MUSTER", "Anna",      "von",     "geb.",       "geboren",
		"(*",     "*",      "1950",      "am 3.4.", "01.02.1950",
	};
	static const char *const person_seps[] = { " ", ", ", "\n", ": ", "", " ", ",", "\n\n" };
	static const char *const date_texts[] = {
		"bis einschließlich 3.4. und zuletzt am 4.5.",
		"Datum: 3.4. Befund",
		"Bis zum 31.12.",
	};
	static const char *const date_words[] = {
		"am",       "vom",    "bis",     "zum",  "einschließlich",
		"zuletzt",  "Datum:", "Seit",    "3.4.", "12.10.",
		"3.4.2021", "31.12.", "am 3.4.", "3.",   "4.",
	};
	static const char *const date_seps[] = { " ", "", "\n", ". ", ", ", " " };
	static const char *const id_texts[] = {
		"Krankenversichertennummer: AB-12345, Sozialversicherungsnummer # ABCD 123",
		"Patienten.-Kennung.: ABCD-123",
		"Verlegung auf ICU-12 und nach ABCDE-123",
	};
	static const char *const id_words[] = {
		"Fall-Nr.",
		"PID",
		"Krankenversichertennummer",
		"Patienten.-Kennung.",
		"Pat.-Nr.",
		"A-12345",
		"12345678",
		"ABCD-123",
		"123",
		"x12",
		"ID",
		"Sozialversicherungsnummer",
		"auf",
		"nach",
		"ICU-12",
		"ABCDE-123",
		"Verlegung",
		"verlegt",
	};
	static const char *const id_seps[] = { " ", ": ", "#", "", "\n", ", ", " # ", " " };
	static const char *const age_texts[] = { "mit etwa 45 Jahren, mit ca. 50 J." };
	static const char *const age_words[] = { "mit", "mit ca.", "mit etwa",
		                                 "45",  "92",      "Jahren",
		                                 "J.",  "mit 92",  "an Krebs verstorben",
		                                 "x" };
	static const char *const age_seps[] = { " ", "", "\n", ", ", " ", " " };
	const struct word_mix persons = {
		person_words, N_OF(person_words), person_seps, N_OF(person_seps), 3, 10
	};
	const struct word_mix dates = { date_words, N_OF(date_words), date_seps, N_OF(date_seps), 3,
		                        10 };
	const struct word_mix ids = { id_words, N_OF(id_words), id_seps, N_OF(id_seps), 2, 8 };
	const struct word_mix ages = { age_words, N_OF(age_words), age_seps, N_OF(age_seps), 2, 8 };
	static const char *const no_near[] = { "near", NULL };

	(void)state;
	assert_true(same_without("persons.rules", no_near, person_texts, N_OF(person_texts),
	                         &persons, 7, 4000) > 1000);
	assert_true(same_without("dates.rules", no_near, date_texts, N_OF(date_texts), &dates, 8,
	                         4000) > 1000);
	assert_true(same_without("ids.rules", no_near, id_texts, N_OF(id_texts), &ids, 9, 4000) >
	            500);
	assert_true(same_without("age.rules", no_near, age_texts, N_OF(age_texts), &ages, 10,
	                         4000) > 100);
}

static bool has_label(const struct deid_spans *sp, enum phi_label label)
{
	size_t i;

	for (i = 0; i < sp->n; i++) {
		if (sp->v[i].label == label)
			return true;
	}
	return false;
}

static bool holds_one_of(const char *text, const char *const *words)
{
	for (; *words; words++) {
		if (strstr(text, *words))
			return true;
	}
	return false;
}

/*
 * `needs`: a rule runs exactly when one of its literals occurs in the text.
 * The literals share first bytes across rules, are one byte long, a prefix
 * of another's, or multi-byte UTF-8; random strings of their letters put
 * them at every position, the last two bytes included.
 */
static void test_needs(void **state)
{
	static const char rules[] =
	        "[rule a]\nlabel = ID\nneeds = arzt|Arzt|ärztin|@\n"
	        "pattern = \\A.\n"
	        "[rule b]\nlabel = DATE\nneeds = ar|rz|z\npattern = \\A.\n"
	        "[rule c]\nlabel = PHONE\nneeds = tzt|Ärz|t@|ta\npattern = \\A.\n";
	static const char *const a[] = { "arzt", "Arzt", "ärztin", "@", NULL };
	static const char *const b[] = { "ar", "rz", "z", NULL };
	static const char *const c[] = { "tzt", "Ärz", "t@", "ta", NULL };
	static const char *const letters[] = { "a", "r", "z", "t", "Ä", "ä", "@", "A", " ", "in" };
	struct deid_detector *det = detector_with(rules, DEID_DETECT_NO_GAZETTEER);
	struct deid_spans sp = DEID_SPANS_INIT;
	uint32_t seed = 4711;
	size_t i, k, runs[3] = { 0, 0, 0 };

	(void)state;
	for (i = 0; i < 4000; i++) {
		char text[128];
		size_t n = 0, len;

		seed = seed * 1103515245u + 12345u;
		len = 1 + (seed >> 16) % 9;
		for (k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s",
			                      letters[(seed >> 16) % 10]);
		}
		run(det, text, &sp);
		if (has_label(&sp, PHI_ID) != holds_one_of(text, a) ||
		    has_label(&sp, PHI_DATE) != holds_one_of(text, b) ||
		    has_label(&sp, PHI_PHONE) != holds_one_of(text, c))
			fail_msg("needs misjudged in '%s'", text);
		runs[0] += has_label(&sp, PHI_ID);
		runs[1] += has_label(&sp, PHI_DATE);
		runs[2] += has_label(&sp, PHI_PHONE);
	}
	/* each rule both ran and stayed idle many times */
	for (k = 0; k < 3; k++)
		assert_true(runs[k] > 200 && runs[k] < 3800);
	deid_spans_release(&sp);
	deid_detector_free(det);
}

/*
 * Per-rule times of a detector that times its rules: the rules that matched
 * the text took time ("numbers" for the dates, "staff_title" never ran: no
 * title), the sum stays within the rules stage; plain (which may time its
 * stages, but not its rules) has none.
 */
static void rule_times(const struct deid_detector *timed, const struct deid_detector *plain)
{
	size_t n = deid_detector_rule_count(timed), i, numbers = n, title = n;
	uint64_t *t = calloc(n, sizeof(*t)), *u = calloc(n, sizeof(*u)), sum = 0;
	struct deid_stage_times st;

	assert_non_null(t);
	assert_non_null(u);
	assert_true(n > 10);
	assert_null(deid_detector_rule_name(timed, n));
	deid_detector_rule_times(timed, t);
	deid_detector_rule_times(plain, u);
	for (i = 0; i < n; i++) {
		const char *name = deid_detector_rule_name(timed, i);

		assert_non_null(name);
		if (strcmp(name, "numbers") == 0)
			numbers = i;
		if (strcmp(name, "staff_title") == 0)
			title = i;
		assert_true(u[i] == 0);
		sum += t[i];
	}
	assert_true(numbers < n && title < n);
	assert_true(t[numbers] > 0);
	assert_true(t[title] == 0);
	memset(&st, 0, sizeof(st));
	deid_detector_stage_times(timed, &st);
	assert_true(sum <= st.ns[DEID_STAGE_RULES]);
	free(t);
	free(u);
}

/* A clone times its own stages and rules when asked; a run that does not reads no clock. */
static void test_stage_times(void **state)
{
	static const char text[] = "Patientin: Anna Muster, geb. 01.02.1950, wohnhaft "
	                           "Hauptstraße 12, 12345 Berlin. Befund vom 03.03.2021.";
	struct deid_detector *timed = NULL, *plain = NULL, *staged = NULL;
	struct deid_stage_times t, u, v;
	struct deid_spans sp = DEID_SPANS_INIT;
	struct ms_error err = MS_ERROR_INIT;
	size_t k;

	(void)state;
	assert_int_equal(deid_detector_clone(&timed, shipped, &err), 0);
	assert_int_equal(deid_detector_clone(&plain, shipped, &err), 0);
	assert_int_equal(deid_detector_clone(&staged, shipped, &err), 0);
	deid_detector_time_stages(timed, true);
	deid_detector_time_rules(timed, true);
	deid_detector_time_stages(staged, true);
	for (k = 0; k < 20; k++) {
		run(timed, text, &sp);
		run(plain, text, &sp);
		run(staged, text, &sp);
	}
	assert_true(sp.n > 0);
	memset(&t, 0, sizeof(t));
	memset(&u, 0, sizeof(u));
	memset(&v, 0, sizeof(v));
	deid_detector_stage_times(timed, &t);
	deid_detector_stage_times(plain, &u);
	deid_detector_stage_times(staged, &v);
	for (k = 0; k < DEID_STAGE_COUNT; k++) {
		bool ran = k == DEID_STAGE_TOKENS || k == DEID_STAGE_RULES ||
		           k == DEID_STAGE_GAZETTEERS || k == DEID_STAGE_MERGE ||
		           k == DEID_STAGE_NAMES;

		assert_true(ran ? t.ns[k] > 0 : t.ns[k] == 0);
		assert_true(ran ? v.ns[k] > 0 : v.ns[k] == 0);
		assert_true(u.ns[k] == 0);
	}
	rule_times(timed, plain);
	rule_times(timed, staged);
	deid_spans_release(&sp);
	deid_detector_free(timed);
	deid_detector_free(plain);
	deid_detector_free(staged);
}

static void test_match_limit(void **state)
{
	struct deid_detector *det = detector_with("[rule slow]\nlabel = ID\npattern = (a+)+$\n",
	                                          DEID_DETECT_NO_GAZETTEER);
	struct deid_spans sp = DEID_SPANS_INIT;
	struct deid_doc doc;
	struct ms_error err = MS_ERROR_INIT;
	char text[64];

	(void)state;
	memset(text, 'a', 40);
	strcpy(text + 40, "b");
	memset(&doc, 0, sizeof(doc));
	doc.id = "t";
	doc.text = text;
	doc.len = strlen(text);
	assert_int_equal(deid_detector_run(det, &doc, &sp, &err), MS_EREGEX);
	assert_non_null(strstr(err.msg, "rule 'slow' failed at offset 0"));
	assert_null(strstr(err.msg, "aaaa"));
	deid_spans_release(&sp);
	deid_detector_free(det);
}

/* ---- allocation failures ---------------------------------------------------- */

static void test_alloc_failures(void **state)
{
	static const char rules[] =
	        "define N = [0-9]\n"
	        "[rule a]\nlabel = DATE\ncontext = am\npattern = %{N}+\\.%{N}+\\.\n"
	        "[rule b]\ntrigger = Frau\npattern = Frau (?<PATIENT>\\p{Lu}\\p{Ll}+)\n"
	        "[rule c]\nlabel = ID\nneeds = Nr\nvalidate = kvnr\npattern = [A-Z]%{N}{9}\n";
	const char *text = "am 3.4. Frau Muster, Nr A123456780";
	struct ms_error err = MS_ERROR_INIT;
	const char *dir = ms_test_tmpdir();
	char path[4096];
	long n;

	(void)state;
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/a.rules", dir);
	assert_int_equal(ms_file_write_atomic(path, rules, strlen(rules), 0644, &err), 0);
	for (n = 0; n < 10000; n++) {
		struct deid_detector_opts o = DEID_DETECTOR_OPTS_INIT;
		struct deid_detector *det = NULL;
		struct deid_spans sp = DEID_SPANS_INIT;
		struct deid_doc doc;
		const char *files[1] = { path };
		int rc;

		o.rule_files = files;
		o.n_rule_files = 1;
		memset(&doc, 0, sizeof(doc));
		doc.id = "t";
		doc.text = text;
		doc.len = strlen(text);
		ms_error_clear(&err);
		ms_alloc_fail_after(n);
		rc = deid_detector_new(&det, &o, &err);
		if (!rc)
			rc = deid_detector_run(det, &doc, &sp, &err);
		ms_alloc_fail_after(-1);
		deid_detector_free(det);
		if (rc == 0) {
			assert_int_equal(sp.n, 3);
			deid_spans_release(&sp);
			remove(path);
			return;
		}
		deid_spans_release(&sp);
		assert_int_equal(rc, MS_ENOMEM);
		assert_int_equal(err.code, MS_ENOMEM);
	}
	fail_msg("never succeeded");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_birthdates_ages),
		cmocka_unit_test(test_contact),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_people),
		cmocka_unit_test(test_hospitals),
		cmocka_unit_test(test_negatives),
		cmocka_unit_test(test_address_block_units),
		cmocka_unit_test(test_allowlist),
		cmocka_unit_test(test_name_variants),
		cmocka_unit_test(test_reader_errors),
		cmocka_unit_test(test_pcre2_error),
		cmocka_unit_test(test_reader_atomic),
		cmocka_unit_test(test_matcher),
		cmocka_unit_test(test_word_end_triggers),
		cmocka_unit_test(test_number_triggers),
		cmocka_unit_test(test_class_defines),
		cmocka_unit_test(test_line_scope),
		cmocka_unit_test(test_digits_trigger),
		cmocka_unit_test(test_age_word_triggers),
		cmocka_unit_test(test_near_window),
		cmocka_unit_test(test_near_shipped),
		cmocka_unit_test(test_needs),
		cmocka_unit_test(test_stage_times),
		cmocka_unit_test(test_match_limit),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
