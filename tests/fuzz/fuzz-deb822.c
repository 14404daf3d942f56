/* SPDX-License-Identifier: GPL-2.0-or-later */
/* deb822 (lib/deb822.c): control files, Release and Packages indices, as parsed text. */
#include "deb822.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deb822 *d = NULL;

	if (deb822_parse(fuzz_text(data, size), size, "fuzz", &d) < 0)
		return 0;
	for (size_t i = 0; i < d->n_stanzas; i++) {
		const struct deb822_stanza *s = &d->stanzas[i];

		for (size_t k = 0; k < s->n_fields; k++)
			if (deb822_get(s, s->fields[k].name) == NULL)
				abort(); /* a field the stanza has is found by its name */
		(void)deb822_get(s, "Package");
	}
	deb822_free(d);
	return 0;
}
