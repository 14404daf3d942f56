/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The software bill of materials of an image: an SPDX 2.3 JSON document with the image (its
 * SHA-256), the tool that made it, and every installed package with its version,
 * architecture, source package, the .deb's SHA-256 and download location, a purl, and the
 * licenses its copyright file names when the file is machine-readable (DEP-5), as the image
 * holds it, else read from the .deb itself (the image may have path-excluded it). */
#pragma once

#include <stddef.h>
#include <time.h>

struct sbom_package {
	const char *name, *version, *arch;
	const char *source;   /* "foo" or "foo (1.2-1)"; NULL: the package's own name */
	const char *deb_path; /* the .deb: read for the copyright file (and hashed if needed) */
	const char *sha256;   /* NULL: the .deb is hashed here */
	const char *url;      /* NULL: NOASSERTION (a local .deb) */
	/* The copyright file as the image holds it, when it does (NULL: read from the .deb) */
	const char *copyright;
	size_t copyright_len;
};

struct sbom_info {
	const char *image_name;   /* the file name of the image */
	const char *image_sha256; /* lowercase hex */
	const char *tool_version;
	time_t created;
	unsigned threads; /* reading the .debs: 0 one per CPU */
	const struct sbom_package *packages;
	size_t n_packages;
};

/* The document, as a new string; NULL after a logged error. */
char *sbom_spdx_json(const struct sbom_info *info);

/* The SPDX license expression of a DEP-5 copyright file, as a new string: the License:
 * fields of its Files paragraphs, each Debian short name mapped to its SPDX identifier,
 * others to "LicenseRef-<name>" (returned in *ret_refs, NULL-terminated, when given).
 * NULL when the file is not machine-readable. */
char *sbom_dep5_license(const char *text, size_t len, char ***ret_refs);
