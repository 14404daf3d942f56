/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SPDX 2.3 JSON (sbom.h). */
#include "sbom.h"

#include <ctype.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "deb.h"
#include "deb822.h"
#include "fetch.h"
#include "log.h"
#include "util.h"

#define COPYRIGHT_MAX (4u << 20)

static void json_str(struct strbuf *s, const char *v)
{
	char esc[8];

	strbuf_adds(s, "\"");
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			strbuf_add(s, esc, 2);
		} else if (*p < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			strbuf_adds(s, esc);
		} else {
			strbuf_add(s, (const char *)p, 1);
		}
	}
	strbuf_adds(s, "\"");
}

/* "key": "value" with a leading comma unless first. */
static void json_kv(struct strbuf *s, const char *indent, const char *key, const char *v,
		    bool comma)
{
	strbuf_adds(s, comma ? ",\n" : "\n");
	strbuf_adds(s, indent);
	json_str(s, key);
	strbuf_adds(s, ": ");
	json_str(s, v);
}

/* Debian's short names (copyright-format 1.0) that are not SPDX identifiers already. */
static const struct {
	const char *debian, *spdx;
} license_names[] = {
	{ "Expat", "MIT" },
	{ "BSD-2-clause", "BSD-2-Clause" },
	{ "BSD-3-clause", "BSD-3-Clause" },
	{ "BSD-4-clause", "BSD-4-Clause" },
	{ "Artistic", "Artistic-1.0-Perl" },
	{ "Artistic-1.0", "Artistic-1.0" },
	{ "Artistic-2.0", "Artistic-2.0" },
	{ "Apache-2.0", "Apache-2.0" },
	{ "Apache-2", "Apache-2.0" },
	{ "Apache-1.1", "Apache-1.1" },
	{ "MIT", "MIT" },
	{ "ISC", "ISC" },
	{ "Zlib", "Zlib" },
	{ "MPL-1.1", "MPL-1.1" },
	{ "MPL-2.0", "MPL-2.0" },
	{ "CC0-1.0", "CC0-1.0" },
	{ "BSL-1.0", "BSL-1.0" },
	{ "Unlicense", "Unlicense" },
	{ "X11", "X11" },
	{ "OpenSSL", "OpenSSL" },
	{ "PSF-2", "PSF-2.0" },
	{ "Python-2.0", "Python-2.0" },
	{ "curl", "curl" },
	{ "FTL", "FTL" },
	{ "BSD-2-Clause", "BSD-2-Clause" },
	{ "BSD-3-Clause", "BSD-3-Clause" },
};

/* GPL-2, GPL-2+, LGPL-2.1+, AGPL-3, GFDL-1.3+: the SPDX -only / -or-later forms. */
static char *map_gnu(const char *n)
{
	static const char *const fams[] = { "GPL", "LGPL", "AGPL", "GFDL" };

	for (size_t i = 0; i < ARRAY_SIZE(fams); i++) {
		size_t fl = strlen(fams[i]);
		const char *v = n + fl + 1;
		size_t vl = 0;
		bool plus;

		if (strncasecmp(n, fams[i], fl) != 0 || n[fl] != '-' || !is_digit(*v))
			continue;
		while (is_digit(v[vl]) || v[vl] == '.')
			vl++;
		plus = v[vl] == '+';
		if (v[vl + plus] != 0)
			return NULL;
		return xasprintf("%s-%.*s%s-%s", fams[i], (int)vl, v,
				 memchr(v, '.', vl) ? "" : ".0", plus ? "or-later" : "only");
	}
	return NULL;
}

static char *license_ref(const char *name)
{
	char *r = xasprintf("LicenseRef-%s", name);

	for (char *p = r + strlen("LicenseRef-"); *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			*p = '-';
	return r;
}

/* One Debian license name as an SPDX identifier (new string); unknown ones are refs. */
static char *map_license(const char *name, char ***refs)
{
	char *g;

	for (size_t i = 0; i < ARRAY_SIZE(license_names); i++)
		if (strcasecmp(name, license_names[i].debian) == 0)
			return xstrdup(license_names[i].spdx);
	if ((g = map_gnu(name)))
		return g;
	g = license_ref(name);
	if (refs && !strv_contains(*refs, g))
		*refs = strv_append(*refs, g);
	return g;
}

/* A License: field's first line ("GPL-2+ or Artistic") as an SPDX expression. */
static char *map_expression(const char *line, char ***refs)
{
	_cleanup_free_ char *copy = xstrdup(line);
	struct strbuf s = { 0 };
	bool need_op = false;
	size_t before_op = 0;
	char *save = NULL;

	if (strcasestr(line, " with ") || strpbrk(line, "()")) {
		/* Exceptions and groups: one reference for the whole, rather than a guess. */
		char *r = license_ref(line);

		if (refs && !strv_contains(*refs, r))
			*refs = strv_append(*refs, r);
		return r;
	}
	for (char *t = strtok_r(copy, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
		_cleanup_free_ char *id = NULL;

		if (strcasecmp(t, "or") == 0 || strcasecmp(t, "and") == 0) {
			if (!need_op)
				continue;
			before_op = s.len;
			strbuf_adds(&s, strcasecmp(t, "or") == 0 ? " OR " : " AND ");
			need_op = false;
			continue;
		}
		if (need_op) { /* "A, B": both */
			before_op = s.len;
			strbuf_adds(&s, " AND ");
		}
		id = map_license(t, refs);
		strbuf_adds(&s, id);
		need_op = true;
	}
	if (!s.len) {
		strbuf_freep(&s);
		return NULL;
	}
	if (!need_op) /* a trailing operator */
		s.s[before_op] = 0;
	return strbuf_take(&s);
}

char *sbom_dep5_license(const char *text, size_t len, char ***ret_refs)
{
	_cleanup_strv_free_ char **exprs = NULL;
	struct deb822 *d = NULL;
	_cleanup_free_ char *msg = NULL;
	const char *format;
	struct strbuf s = { 0 };
	size_t n;

	if (deb822_parse_quiet(xstrndup(text, len), len, "copyright", &msg, &d) < 0)
		return NULL;
	format = d->n_stanzas ? deb822_get(&d->stanzas[0], "Format") : NULL;
	if (!format || (!strstr(format, "copyright-format") && !strstr(format, "dep5") &&
			!strstr(format, "DEP5") && !strstr(format, "DEP-5"))) {
		deb822_free(d);
		return NULL;
	}
	for (size_t i = 0; i < d->n_stanzas; i++) {
		const char *lic = deb822_get(&d->stanzas[i], "License");
		_cleanup_free_ char *first = NULL, *e = NULL;

		/* Files paragraphs only (standalone License paragraphs hold the texts). */
		if (!lic || !deb822_get(&d->stanzas[i], "Files"))
			continue;
		first = xstrndup(lic, strcspn(lic, "\n"));
		e = map_expression(first, ret_refs);
		if (!e)
			continue;
		/* "A AND B" adds A and B, each once in the whole; a choice stays as it is. */
		if (!strstr(e, " OR ")) {
			char *save = NULL;

			for (char *t = strtok_r(e, " ", &save); t; t = strtok_r(NULL, " ", &save))
				if (!streq(t, "AND") && !strv_contains(exprs, t))
					exprs = strv_append(exprs, t);
		} else if (!strv_contains(exprs, e)) {
			exprs = strv_append(exprs, e);
		}
	}
	deb822_free(d);
	n = strv_length(exprs);
	if (!n)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool paren = n > 1 && strstr(exprs[i], " OR ");

		if (i)
			strbuf_adds(&s, " AND ");
		strbuf_adds(&s, paren ? "(" : "");
		strbuf_adds(&s, exprs[i]);
		strbuf_adds(&s, paren ? ")" : "");
	}
	return strbuf_take(&s);
}

/* What is read from each .deb, by worker threads. */
struct deb_facts {
	char sha256[65];
	char *license; /* SPDX expression, or NULL: NOASSERTION */
	char **refs;
	char *error; /* a reason the .deb could not be read */
};

static void read_copyright(const struct sbom_package *p, struct deb_facts *f)
{
	_cleanup_close_ int fd = open(p->deb_path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *want = xasprintf("usr/share/doc/%s/copyright", p->name);
	struct deb *d = NULL;
	struct deb_entry e;
	int r;

	if (fd < 0) {
		f->error = xasprintf("cannot open '%s': %s", p->deb_path, strerror(errno));
		return;
	}
	r = deb_open(fd, p->deb_path, 1, &d);
	while (r >= 0 && (r = deb_next(d, &e)) > 0) {
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;
		ssize_t k;

		if (e.type != DEB_REG || !streq(e.path, want))
			continue;
		if (e.size > COPYRIGHT_MAX)
			break;
		buf = xmalloc(e.size + 1);
		while (len < e.size && (k = deb_read(d, buf + len, e.size - len)) > 0)
			len += (size_t)k;
		buf[len] = 0;
		f->license = sbom_dep5_license(buf, len, &f->refs);
		break;
	}
	if (r < 0)
		f->error = xasprintf("cannot read '%s': %s", p->deb_path, deb_error(d));
	deb_close(d);
}

struct work {
	const struct sbom_info *info;
	struct deb_facts *facts;
	size_t next;
	pthread_mutex_t lock;
};

static void *worker(void *arg)
{
	struct work *w = arg;

	for (;;) {
		size_t i;
		const struct sbom_package *p;

		pthread_mutex_lock(&w->lock);
		i = w->next++;
		pthread_mutex_unlock(&w->lock);
		if (i >= w->info->n_packages)
			return NULL;
		p = &w->info->packages[i];
		if (p->sha256) {
			snprintf(w->facts[i].sha256, 65, "%s", p->sha256);
		} else {
			int r = sha256_file(p->deb_path, w->facts[i].sha256);

			if (r < 0) {
				w->facts[i].error = xasprintf("cannot read '%s': %s", p->deb_path,
							      strerror(-r));
				continue;
			}
		}
		if (p->copyright)
			w->facts[i].license = sbom_dep5_license(p->copyright, p->copyright_len,
								&w->facts[i].refs);
		else
			read_copyright(p, &w->facts[i]);
	}
}

/* "foo (1.2-1)" -> name "foo", version "1.2-1"; no version: the binary's. */
static void source_of(const struct sbom_package *p, char **ret_name, char **ret_version)
{
	const char *s = p->source ? p->source : p->name, *paren = strchr(s, '(');
	size_t nl = paren ? (size_t)(paren - s) : strlen(s);

	while (nl && s[nl - 1] == ' ')
		nl--;
	*ret_name = xstrndup(s, nl);
	if (paren && strchr(paren, ')'))
		*ret_version = xstrndup(paren + 1, (size_t)(strchr(paren, ')') - paren - 1));
	else
		*ret_version = xstrdup(p->version);
}

/* purl: pkg:deb/debian/NAME@VERSION?arch=ARCH, with the version percent-encoded. */
static void purl(struct strbuf *s, const struct sbom_package *p)
{
	char esc[4];

	strbuf_adds(s, "pkg:deb/debian/");
	strbuf_adds(s, p->name);
	strbuf_adds(s, "@");
	for (const char *c = p->version; *c; c++) {
		if (isalnum((unsigned char)*c) || *c == '.' || *c == '-' || *c == '_' ||
		    *c == '~') {
			strbuf_add(s, c, 1);
		} else {
			snprintf(esc, sizeof(esc), "%%%02X", (unsigned char)*c);
			strbuf_adds(s, esc);
		}
	}
	strbuf_adds(s, "?arch=");
	strbuf_adds(s, p->arch);
}

char *sbom_spdx_json(const struct sbom_info *info)
{
	struct deb_facts *facts = xcalloc(info->n_packages + 1, sizeof(*facts));
	struct work w = { .info = info, .facts = facts, .lock = PTHREAD_MUTEX_INITIALIZER };
	_cleanup_strv_free_ char **refs = NULL;
	unsigned nt = info->threads ? info->threads : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t th[64];
	struct strbuf s = { 0 };
	char created[32];
	struct tm tm;
	char *result = NULL;
	size_t started = 0;

	if (nt < 1)
		nt = 1;
	if (nt > ARRAY_SIZE(th))
		nt = ARRAY_SIZE(th);
	for (unsigned i = 0; i < nt && i < info->n_packages; i++)
		if (pthread_create(&th[started], NULL, worker, &w) == 0)
			started++;
	if (!started)
		worker(&w);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	for (size_t i = 0; i < info->n_packages; i++) {
		if (facts[i].error) {
			log_error("sbom: package '%s': %s", info->packages[i].name, facts[i].error);
			goto out;
		}
		for (char **r = facts[i].refs; r && *r; r++)
			if (!strv_contains(refs, *r))
				refs = strv_append(refs, *r);
	}

	gmtime_r(&info->created, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	strbuf_adds(&s, "{");
	json_kv(&s, "  ", "spdxVersion", "SPDX-2.3", false);
	json_kv(&s, "  ", "dataLicense", "CC0-1.0", true);
	json_kv(&s, "  ", "SPDXID", "SPDXRef-DOCUMENT", true);
	json_kv(&s, "  ", "name", info->image_name, true);
	{
		/* Unique per image, and the same for the same image. */
		_cleanup_free_ char *ns = xasprintf("https://spdx.org/spdxdocs/mkbootmedia-%s-%s",
						    info->image_name, info->image_sha256);

		for (char *p = ns + strlen("https://spdx.org/spdxdocs/"); *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
				*p = '-';
		json_kv(&s, "  ", "documentNamespace", ns, true);
	}
	strbuf_adds(&s, ",\n  \"creationInfo\": {");
	json_kv(&s, "    ", "created", created, false);
	strbuf_adds(&s, ",\n    \"creators\": [");
	{
		_cleanup_free_ char *tool = xasprintf("Tool: mkbootmedia-%s", info->tool_version);

		json_str(&s, tool);
	}
	strbuf_adds(&s, "]\n  },\n  \"documentDescribes\": [\"SPDXRef-Image\"],\n");
	strbuf_adds(&s, "  \"packages\": [\n    {");
	json_kv(&s, "      ", "SPDXID", "SPDXRef-Image", false);
	json_kv(&s, "      ", "name", info->image_name, true);
	json_kv(&s, "      ", "downloadLocation", "NOASSERTION", true);
	strbuf_adds(&s, ",\n      \"filesAnalyzed\": false");
	json_kv(&s, "      ", "primaryPackagePurpose", "OPERATING_SYSTEM", true);
	json_kv(&s, "      ", "supplier", "NOASSERTION", true);
	json_kv(&s, "      ", "comment",
		"a disk image built by mkbootmedia; the checksum is the image file's", true);
	strbuf_adds(&s, ",\n      \"checksums\": [{\"algorithm\": \"SHA256\", \"checksumValue\": ");
	json_str(&s, info->image_sha256);
	strbuf_adds(&s, "}]");
	json_kv(&s, "      ", "licenseConcluded", "NOASSERTION", true);
	json_kv(&s, "      ", "licenseDeclared", "NOASSERTION", true);
	json_kv(&s, "      ", "copyrightText", "NOASSERTION", true);
	strbuf_adds(&s, "\n    }");
	for (size_t i = 0; i < info->n_packages; i++) {
		const struct sbom_package *p = &info->packages[i];
		_cleanup_free_ char *id = xasprintf("SPDXRef-Package-%zu-", i + 1);
		_cleanup_free_ char *src = NULL, *srcver = NULL, *srcinfo = NULL;
		struct strbuf pu = { 0 };
		_cleanup_free_ char *purl_s = NULL;

		{
			_cleanup_free_ char *full = xasprintf("%s%s", id, p->name);

			for (char *c = full + strlen(id); *c; c++)
				if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-')
					*c = '-';
			free(id);
			id = TAKE_PTR(full);
		}
		source_of(p, &src, &srcver);
		srcinfo = xasprintf("built package from: %s %s", src, srcver);
		purl(&pu, p);
		purl_s = strbuf_take(&pu);
		strbuf_adds(&s, ",\n    {");
		json_kv(&s, "      ", "SPDXID", id, false);
		json_kv(&s, "      ", "name", p->name, true);
		json_kv(&s, "      ", "versionInfo", p->version, true);
		json_kv(&s, "      ", "downloadLocation", p->url ? p->url : "NOASSERTION", true);
		strbuf_adds(&s, ",\n      \"filesAnalyzed\": false");
		json_kv(&s, "      ", "primaryPackagePurpose", "INSTALL", true);
		json_kv(&s, "      ", "sourceInfo", srcinfo, true);
		json_kv(&s, "      ", "supplier", "NOASSERTION", true);
		strbuf_adds(&s, ",\n      \"checksums\": [{\"algorithm\": \"SHA256\", "
				"\"checksumValue\": ");
		json_str(&s, facts[i].sha256);
		strbuf_adds(&s, "}]");
		json_kv(&s, "      ", "licenseConcluded", "NOASSERTION", true);
		json_kv(&s, "      ", "licenseDeclared",
			facts[i].license ? facts[i].license : "NOASSERTION", true);
		json_kv(&s, "      ", "copyrightText", "NOASSERTION", true);
		strbuf_adds(&s, ",\n      \"externalRefs\": [{\"referenceCategory\": "
				"\"PACKAGE-MANAGER\", \"referenceType\": \"purl\", "
				"\"referenceLocator\": ");
		json_str(&s, purl_s);
		strbuf_adds(&s, "}]");
		strbuf_adds(&s, "\n    }");
		free(TAKE_PTR(id));
	}
	strbuf_adds(&s, "\n  ]");
	if (refs) {
		strbuf_adds(&s, ",\n  \"hasExtractedLicensingInfos\": [");
		for (size_t i = 0; refs[i]; i++) {
			_cleanup_free_ char *text = xasprintf(
				"The license named '%s' in a machine-readable debian/copyright "
				"file; its text is in that file",
				refs[i] + strlen("LicenseRef-"));

			strbuf_adds(&s, i ? ",\n    {" : "\n    {");
			json_kv(&s, "      ", "licenseId", refs[i], false);
			json_kv(&s, "      ", "extractedText", text, true);
			json_kv(&s, "      ", "name", refs[i] + strlen("LicenseRef-"), true);
			strbuf_adds(&s, "\n    }");
		}
		strbuf_adds(&s, "\n  ]");
	}
	strbuf_adds(&s, ",\n  \"relationships\": [\n    {\"spdxElementId\": \"SPDXRef-DOCUMENT\", "
			"\"relationshipType\": \"DESCRIBES\", \"relatedSpdxElement\": "
			"\"SPDXRef-Image\"}");
	for (size_t i = 0; i < info->n_packages; i++) {
		_cleanup_free_ char *id =
			xasprintf("SPDXRef-Package-%zu-%s", i + 1, info->packages[i].name);

		for (char *c = id + strlen("SPDXRef-"); *c; c++)
			if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-')
				*c = '-';
		strbuf_adds(&s, ",\n    {\"spdxElementId\": \"SPDXRef-Image\", "
				"\"relationshipType\": \"CONTAINS\", \"relatedSpdxElement\": ");
		json_str(&s, id);
		strbuf_adds(&s, "}");
	}
	strbuf_adds(&s, "\n  ]\n}\n");
	result = strbuf_take(&s);
out:
	for (size_t i = 0; i < info->n_packages; i++) {
		free(facts[i].license);
		free(facts[i].error);
		strv_free(facts[i].refs);
	}
	free(facts);
	return result;
}
