/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Release and Packages (lib/repo.c, lib/resolve.c): the input, decompressed first when it
 * is xz or gzip as a Packages.xz/.gz would be, is parsed as deb822 and checked as the
 * Release that gpgv vouched for (Valid-Until, Architectures, Components, the SHA256 list),
 * then loaded as a Packages index and resolved. InRelease's signature is gpgv's business:
 * what gpgv writes out is this same text. repo.c is included for its static parsers. */
#include "../../lib/repo.c"

#include "fuzz.h"
#include "resolve.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static void check_release(const struct deb822_stanza *st)
{
	static const char *const names[] = { "main/binary-amd64/Packages.xz",
					     "main/binary-amd64/Packages.gz",
					     "main/binary-amd64/Packages" };
	const char *v;
	char hex[65];
	uint64_t size;
	time_t until;

	v = deb822_get(st, "Valid-Until");
	if (v)
		(void)parse_date(v, &until);
	v = deb822_get(st, "Date");
	if (v)
		(void)parse_date(v, &until);
	(void)word_in_list(deb822_get(st, "Architectures") ?: "", "amd64");
	(void)word_in_list(deb822_get(st, "Components") ?: "", "main");
	v = deb822_get(st, "SHA256");
	for (size_t i = 0; v && i < ARRAY_SIZE(names); i++)
		if (release_lookup(v, names[i], hex, &size) && strlen(hex) != 64)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deb822 *d = NULL;
	struct pkgdb *db;
	char *text = NULL, *include[4] = { NULL };
	const struct pkg **pkgs = NULL;
	size_t len = 0, n = 0, k = 0;
	int r = 0;

	if (size >= 6 && !memcmp(data, "\xfd" "7zXZ", 6))
		r = unxz((const char *)data, size, "fuzz", &text, &len);
	else if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
		r = ungzip((const char *)data, size, "fuzz", &text, &len);
	else
		text = fuzz_text(data, size), len = size;
	if (r < 0)
		return 0;
	if (deb822_parse(text, len, "fuzz", &d) < 0)
		return 0;
	if (d->n_stanzas)
		check_release(&d->stanzas[0]);
	for (size_t i = 0; i < d->n_stanzas && k < 2; i++) {
		const char *p = deb822_get(&d->stanzas[i], "Package");

		if (p)
			include[k++] = (char *)p;
	}
	include[k] = "base-files";
	db = pkgdb_new("amd64");
	if (pkgdb_add_index(db, d, 0, "fuzz") == 0) { /* d belongs to db either way */
		struct resolve_opts o = { .variant = VARIANT_REQUIRED, .include = include };

		for (size_t i = 0; include[i]; i++)
			(void)pkgdb_lookup(db, include[i]);
		if (resolve(db, &o, &pkgs, &n) == 0)
			free(pkgs);
	}
	pkgdb_free(db);
	return 0;
}
