/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "audit.h"

#include <fcntl.h>
#include <unistd.h>

#include "imgmap.h"
#include "log.h"

#define SECTOR 512u
#define CHUNK (1u << 20)

int audit_copy(const char *image, char **ret_path)
{
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *path =
		xasprintf("%s/mkbootmedia-audit-XXXXXX.img", tmp && tmp[0] ? tmp : "/tmp");
	_cleanup_free_ char *buf = xmalloc(CHUNK);
	_cleanup_close_ int in = open(image, O_RDONLY | O_CLOEXEC), out = -1;
	off_t size, pos = 0;
	int r;

	if (in < 0)
		return log_errno(errno, "cannot open '%s'", image);
	out = mkostemps(path, 4, O_CLOEXEC);
	if (out < 0)
		return log_errno(errno, "cannot create a copy of the image in '%s'",
				 tmp && tmp[0] ? tmp : "/tmp");
	size = lseek(in, 0, SEEK_END);
	if (size < 0 || ftruncate(out, size) < 0) {
		r = log_errno(errno, "cannot size the copy '%s'", path);
		goto fail;
	}
	while (pos < size) {
		off_t data = lseek(in, pos, SEEK_DATA), hole;

		if (data < 0)
			break; /* ENXIO: only a hole is left */
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0) {
			r = log_errno(errno, "cannot read '%s'", image);
			goto fail;
		}
		for (pos = data; pos < hole;) {
			size_t n = (size_t)(hole - pos < CHUNK ? hole - pos : CHUNK);

			if ((r = pread_all(in, buf, n, (uint64_t)pos)) < 0 ||
			    (r = pwrite_all(out, buf, n, (uint64_t)pos)) < 0) {
				log_errno(r, "cannot copy '%s' to '%s'", image, path);
				goto fail;
			}
			pos += (off_t)n;
		}
	}
	*ret_path = TAKE_PTR(path);
	return 0;
fail:
	unlink(path);
	return r;
}

struct tally {
	char *what;
	uint64_t bytes;
};

static void tally_add(struct tally **t, size_t *n, const char *what, uint64_t bytes)
{
	for (size_t i = 0; i < *n; i++)
		if (streq((*t)[i].what, what)) {
			(*t)[i].bytes += bytes;
			return;
		}
	*t = xrealloc(*t, (*n + 1) * sizeof(**t));
	(*t)[(*n)++] = (struct tally){ .what = xstrdup(what), .bytes = bytes };
}

/* "partition 2, /etc/x" -> "/etc/x"; the partition is said on the line above. */
static const char *after_partition(const char *s)
{
	const char *c = startswith(s, "partition ") ? strstr(s, ", ") : NULL;

	return c ? c + 2 : s;
}

/* imgmap's phrase for one sector, made per file: "partition 4, block 9 of /etc/x" ->
 * "partition 4, /etc/x"; "partition 4, block 47, inode table: inode 12 (/x)" -> "partition 4,
 * inode tables"; other metadata without its block number. A new string. */
static char *tally_key(const char *what)
{
	const char *rest = after_partition(what), *p = rest;
	size_t head = (size_t)(rest - what);

	if (!startswith(p, "block "))
		return xstrdup(what);
	p += strlen("block ");
	p += strspn(p, "0123456789");
	if (startswith(p, " of "))
		p += strlen(" of ");
	else if (startswith(p, ", "))
		p += strlen(", ");
	if (startswith(p, "inode table"))
		p = "inode tables";
	return xasprintf("%.*s%s", (int)head, what, p);
}

void audit_result_done(struct audit_result *a)
{
	free(a->numbers);
	free(a->bytes);
	*a = (struct audit_result){};
}

int audit_report(const char *image, const char *copy, FILE *out, struct audit_result *ret)
{
	_cleanup_imgmap_ struct imgmap *m = NULL;
	_cleanup_free_ char *a = xmalloc(CHUNK), *b = xmalloc(CHUNK);
	_cleanup_close_ int fa = open(image, O_RDONLY | O_CLOEXEC),
			    fb = open(copy, O_RDONLY | O_CLOEXEC);
	struct tally *t = NULL;
	size_t n_t = 0;
	uint64_t *per_part = NULL, outside = 0, total = 0;
	off_t size, pos = 0;
	char sz[32];
	int r;

	if (fa < 0 || fb < 0)
		return log_errno(errno, "cannot open '%s'", fa < 0 ? image : copy);
	/* The copy as the guest left it: files it created have their names there. */
	if ((r = imgmap_open(copy, &m)) < 0)
		return r;
	per_part = xcalloc(m->n_parts + 1, sizeof(*per_part));
	size = lseek(fb, 0, SEEK_END);
	/* Only the copy's data can differ: the guest's writes allocate it (a discard that
	 * punched a hole where the image had data is not seen). */
	while (size > 0 && pos < size) {
		off_t data = lseek(fb, pos, SEEK_DATA), hole;

		if (data < 0)
			break;
		hole = lseek(fb, data, SEEK_HOLE);
		if (hole < 0) {
			r = log_errno(errno, "cannot read '%s'", copy);
			goto out;
		}
		for (pos = data; pos < hole;) {
			size_t n = (size_t)(hole - pos < CHUNK ? hole - pos : CHUNK);

			if ((r = pread_all(fa, a, n, (uint64_t)pos)) < 0 ||
			    (r = pread_all(fb, b, n, (uint64_t)pos)) < 0) {
				log_errno(r, "cannot compare '%s' with '%s'", image, copy);
				goto out;
			}
			for (size_t i = 0; i < n; i += SECTOR) {
				uint64_t off = (uint64_t)pos + i;
				size_t len = n - i < SECTOR ? n - i : SECTOR;
				const struct imgmap_part *p;
				_cleanup_free_ char *what = NULL;

				if (!memcmp(a + i, b + i, len))
					continue;
				total += len;
				p = imgmap_part_at(m, off);
				if (!p) {
					outside += len;
				} else {
					per_part[p - m->parts] += len;
				}
				what = imgmap_describe(m, off);
				{
					_cleanup_free_ char *key = tally_key(what);

					tally_add(&t, &n_t, key, len);
				}
			}
			pos += (off_t)n;
		}
	}
	fprintf(out, "audit: the guest wrote %s (%llu bytes, in 512-byte sectors)\n",
		format_bytes(sz, total), (unsigned long long)total);
	for (size_t i = 0; i < m->n_parts; i++) {
		char name[32], prefix[40];

		fprintf(out, "  partition %u: %llu bytes\n", m->parts[i].number,
			(unsigned long long)per_part[i]);
		snprintf(name, sizeof(name), "partition %u", m->parts[i].number);
		snprintf(prefix, sizeof(prefix), "%s,", name);
		for (size_t j = 0; j < n_t; j++)
			if (startswith(t[j].what, prefix) || streq(t[j].what, name))
				fprintf(out, "    %s: %llu bytes\n", after_partition(t[j].what),
					(unsigned long long)t[j].bytes);
	}
	if (outside) {
		fprintf(out, "  outside the partitions: %llu bytes\n", (unsigned long long)outside);
		for (size_t j = 0; j < n_t; j++)
			if (!startswith(t[j].what, "partition "))
				fprintf(out, "    %s: %llu bytes\n", t[j].what,
					(unsigned long long)t[j].bytes);
	}
	fflush(out);
	ret->n = m->n_parts;
	ret->numbers = xcalloc(m->n_parts + 1, sizeof(*ret->numbers));
	for (size_t i = 0; i < m->n_parts; i++)
		ret->numbers[i] = m->parts[i].number;
	ret->bytes = TAKE_PTR(per_part);
	r = 0;
out:
	for (size_t j = 0; j < n_t; j++)
		free(t[j].what);
	free(t);
	free(per_part);
	return r;
}
