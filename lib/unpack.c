/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "unpack.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "deb.h"
#include "deb822.h"
#include "depends.h"
#include "log.h"

#define RING_SIZE (4u << 20)  /* per package in flight */
#define RING_MAX (16u << 20)  /* a ring ahead of the writer may grow to this... */
#define RING_EXTRA (16u << 20) /* ...while all rings' growth stays within this */
#define CHUNK (256u << 10)     /* data bytes per record */
#define WINDOW 16              /* packages in flight beyond the writer's (unpack_debs) */
#define ADMINDIR "/var/lib/dpkg"

/* What a worker hands the writer: a byte stream of records in a ring buffer. */
enum rec_type {
	REC_CONTROL, /* a control member: name, data */
	REC_ENTRY,   /* a data.tar entry; a regular file's data follows in REC_DATA records */
	REC_DATA,
	REC_END,
	REC_ERROR,   /* name: the message */
};

struct rec {
	uint32_t type, mode, uid, gid, major, minor, name_len, link_len;
	uint32_t etype; /* enum deb_type */
	int64_t mtime;
	uint64_t size;  /* entry size, or the bytes of data that follow this record */
};

/* One worker fills a ring and the writer empties it. The positions only grow (bytes put and
 * taken since the start) and are read without the lock; a side takes the lock only to sleep,
 * or to wake the other side when that one said it sleeps. */
struct ring {
	char *buf;
	size_t cap;                      /* RING_SIZE, or more once grown */
	bool reading;                    /* the writer is on it: it no longer grows */
	size_t head, tail;               /* taken, put: atomics */
	bool writer_waits, worker_waits; /* atomics, set under the lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

struct job {
	const struct unpack_pkg *pkg;
	struct ring ring;
	bool claimed;
};

/* Who ships each path so far, as dpkg's file database knows it: the package that owns it as
 * a non-directory (with the index of the path in its list), and whether some package ships
 * it as a directory. Packages are applied one at a time, by the writer thread only. */
struct owner {
	char *path;
	size_t file_pkg;  /* 1 + index of the package owning a non-directory here; 0: none */
	size_t file_idx;  /* its index in that package's list */
	size_t dir_pkg;   /* 1 + index of the first package shipping a directory here; 0: none */
	size_t last_pkg;  /* 1 + index of the last package that listed it */
	size_t list_idx;  /* the index of the path in that package's list */
};

struct owners {
	struct owner *v; /* open addressing, grown at half full */
	size_t n, cap;
};

struct pipeline {
	const struct unpack_opts *o;
	struct job *jobs;
	size_t n, next;   /* next job to claim */
	size_t window;    /* jobs beyond the writer's that may be claimed */
	size_t writing;   /* the job the writer is on */
	bool abort;
	size_t extra;          /* the rings' growth beyond RING_SIZE, in bytes: atomic */
	size_t grown, refused; /* times a ring grew, or the budget held one back: atomics */
	unsigned lzma_threads;
	size_t cache_events[DEB_CACHE_BAD + 1];
	struct pkg_state *states; /* the writer's, one per package */
	struct owners owners;     /* the writer's */
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void ring_init(struct ring *r)
{
	*r = (struct ring){ 0 };
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
}

static void ring_done(struct ring *r)
{
	free(r->buf);
	r->buf = NULL;
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
}

/* Wakes the other side if it said it sleeps. The caller has just moved its position with a
 * sequentially consistent store, which the sleeper checks again under the lock after
 * setting its flag: one of the two sees the other's store. */
static void ring_wake(struct ring *r, bool *flag)
{
	if (__atomic_load_n(flag, __ATOMIC_SEQ_CST)) {
		pthread_mutex_lock(&r->lock);
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
	}
}

/* Whether a ring may double, the rings' growth being `extra`; under the ring's lock. */
static bool ring_can_grow(const struct ring *r, size_t extra)
{
	return !r->reading && r->cap * 2 <= RING_MAX && extra + r->cap <= RING_EXTRA;
}

/* Doubles a full ring that the writer is not reading yet, within the pipeline's budget: a
 * package ahead of the writer then goes on decoding while the writer is held up by a big
 * one. Nothing was taken from such a ring, so its bytes are in place from the start. */
static bool ring_grow(struct pipeline *p, struct ring *r)
{
	size_t more = r->cap, extra = __atomic_load_n(&p->extra, __ATOMIC_RELAXED);
	bool grown = false;

	if (r->cap * 2 > RING_MAX)
		return false;
	pthread_mutex_lock(&r->lock);
	while (ring_can_grow(r, extra)) {
		if (__atomic_compare_exchange_n(&p->extra, &extra, extra + more, false,
						__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			r->buf = xrealloc(r->buf, r->cap + more);
			r->cap += more;
			grown = true;
			break;
		}
	}
	__atomic_fetch_add(grown ? &p->grown : &p->refused, !r->reading, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&r->lock);
	return grown;
}

/* Blocks until there is room; false when the pipeline is aborted. */
static bool ring_put(struct pipeline *p, struct ring *r, const void *data, size_t n)
{
	const char *s = data;
	size_t tail = r->tail; /* only this thread moves it */

	/* Nothing to put (a record without a name): after its end record the writer may
	 * already have freed the ring. */
	if (n == 0)
		return !__atomic_load_n(&p->abort, __ATOMIC_ACQUIRE);
	if (!r->buf) {
		pthread_mutex_lock(&r->lock);
		r->buf = xmalloc(RING_SIZE);
		r->cap = RING_SIZE;
		pthread_mutex_unlock(&r->lock);
	}
	while (n > 0) {
		size_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE), at, k;

		if (tail - head == r->cap) {
			bool abort;

			if (ring_grow(p, r))
				continue;
			/* Woken when the writer takes some, or gives budget back (then it may
			 * grow after all: checked again after the flag, as the writer checks
			 * the flag after giving back). */
			pthread_mutex_lock(&r->lock);
			__atomic_store_n(&r->worker_waits, true, __ATOMIC_SEQ_CST);
			if (tail - __atomic_load_n(&r->head, __ATOMIC_SEQ_CST) == r->cap &&
			    !__atomic_load_n(&p->abort, __ATOMIC_ACQUIRE) &&
			    !ring_can_grow(r, __atomic_load_n(&p->extra, __ATOMIC_SEQ_CST)))
				pthread_cond_wait(&r->cond, &r->lock);
			__atomic_store_n(&r->worker_waits, false, __ATOMIC_RELAXED);
			abort = __atomic_load_n(&p->abort, __ATOMIC_ACQUIRE);
			pthread_mutex_unlock(&r->lock);
			if (abort)
				return false;
			continue;
		}
		at = tail % r->cap;
		k = r->cap - (tail - head);
		if (k > r->cap - at)
			k = r->cap - at;
		if (k > n)
			k = n;
		memcpy(r->buf + at, s, k);
		tail += k;
		s += k;
		n -= k;
		__atomic_store_n(&r->tail, tail, __ATOMIC_SEQ_CST);
		ring_wake(r, &r->writer_waits);
	}
	return !__atomic_load_n(&p->abort, __ATOMIC_ACQUIRE);
}

/* Waits for up to n bytes and returns a pointer to at most n contiguous ones (*got). The
 * bytes stay in the ring until ring_consume. */
static const char *ring_peek(struct ring *r, size_t n, size_t *got)
{
	size_t head = r->head, tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE), k;

	if (tail == head) {
		pthread_mutex_lock(&r->lock);
		__atomic_store_n(&r->writer_waits, true, __ATOMIC_SEQ_CST);
		while ((tail = __atomic_load_n(&r->tail, __ATOMIC_SEQ_CST)) == head)
			pthread_cond_wait(&r->cond, &r->lock);
		__atomic_store_n(&r->writer_waits, false, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&r->lock);
	}
	k = tail - head < n ? tail - head : n;
	if (k > r->cap - head % r->cap)
		k = r->cap - head % r->cap;
	*got = k;
	return r->buf + head % r->cap;
}

static void ring_consume(struct ring *r, size_t n)
{
	__atomic_store_n(&r->head, r->head + n, __ATOMIC_SEQ_CST);
	ring_wake(r, &r->worker_waits);
}

static void ring_get(struct ring *r, void *data, size_t n)
{
	char *d = data;

	while (n > 0) {
		size_t got;
		const char *s = ring_peek(r, n, &got);

		memcpy(d, s, got);
		ring_consume(r, got);
		d += got;
		n -= got;
	}
}

/* --- worker side --- */

static bool put_rec(struct pipeline *p, struct job *j, struct rec *rec, const char *name,
		    const char *link)
{
	rec->name_len = name ? (uint32_t)strlen(name) : 0;
	rec->link_len = link ? (uint32_t)strlen(link) : 0;
	return ring_put(p, &j->ring, rec, sizeof(*rec)) &&
	       ring_put(p, &j->ring, name, rec->name_len) &&
	       ring_put(p, &j->ring, link, rec->link_len);
}

static void put_error(struct pipeline *p, struct job *j, const char *msg)
{
	struct rec rec = { .type = REC_ERROR };

	put_rec(p, j, &rec, msg, NULL);
}

static void produce(struct pipeline *p, struct job *j)
{
	struct deb *d = NULL;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	const struct deb_member *m;
	struct deb_entry e;
	size_t n_members;
	int r;

	fd = open(j->pkg->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		_cleanup_free_ char *msg =
			xasprintf("cannot open '%s': %s", j->pkg->path, strerror(errno));

		put_error(p, j, msg);
		return;
	}
	r = deb_open(fd, j->pkg->path, p->lzma_threads, &d);
	if (r < 0)
		goto fail;
	if (p->o->cache_dir && j->pkg->sha256)
		deb_use_cache(d,
			      &(struct deb_cache){ .dir = p->o->cache_dir,
						   .key = p->o->cache_key,
						   .id = j->pkg->sha256 },
			      UNPACK_CACHE_MIN);
	m = deb_control_members(d, &n_members);
	for (size_t i = 0; i < n_members; i++) {
		struct rec rec = { .type = REC_CONTROL, .mode = m[i].mode, .size = m[i].size };

		if (!put_rec(p, j, &rec, m[i].name, NULL) ||
		    !ring_put(p, &j->ring, m[i].data, m[i].size))
			goto out;
	}
	buf = xmalloc(CHUNK);
	while ((r = deb_next(d, &e)) > 0) {
		struct rec rec = {
			.type = REC_ENTRY, .etype = e.type, .mode = e.mode, .uid = e.uid,
			.gid = e.gid, .mtime = e.mtime, .size = e.size, .major = e.rdev_major,
			.minor = e.rdev_minor,
		};

		if (!put_rec(p, j, &rec, e.path, e.link))
			goto out;
		if (e.type != DEB_REG)
			continue;
		for (uint64_t left = e.size; left > 0;) {
			ssize_t k = deb_read(d, buf, left < CHUNK ? (size_t)left : CHUNK);
			struct rec data = { .type = REC_DATA };

			if (k < 0) {
				r = (int)k;
				goto fail;
			}
			if (k == 0) {
				put_error(p, j, "data.tar: truncated archive");
				goto out;
			}
			data.size = (uint64_t)k;
			if (!put_rec(p, j, &data, NULL, NULL) || !ring_put(p, &j->ring, buf, (size_t)k))
				goto out;
			left -= (uint64_t)k;
		}
	}
	if (r < 0)
		goto fail;
	pthread_mutex_lock(&p->lock);
	p->cache_events[deb_cache_event(d)]++;
	pthread_mutex_unlock(&p->lock);
	{
		struct rec end = { .type = REC_END };

		put_rec(p, j, &end, NULL, NULL);
	}
	goto out;
fail:
	put_error(p, j, d ? deb_error(d) : strerror(-r));
out:
	deb_close(d);
}

static void *worker(void *userdata)
{
	struct pipeline *p = userdata;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&p->lock);
		while (!p->abort && p->next < p->n && p->next >= p->writing + p->window)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->abort || p->next >= p->n) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		j = &p->jobs[p->next++];
		j->claimed = true;
		pthread_mutex_unlock(&p->lock);
		produce(p, j);
	}
}

/* --- writer side --- */

struct member {
	char *name;
	char *data;
	size_t size;
	unsigned mode;
};

struct pkg_state {
	char *name;          /* Package: */
	char *version;       /* Version: */
	char *arch;          /* Architecture: */
	struct dep_list replaces; /* Replaces: */
	bool ma_same;        /* Multi-Arch: same, whose info files carry ":arch" */
	struct member *members;
	size_t n_members;
	char **conffiles;    /* "/etc/foo" */
	char (*conffile_md5)[33]; /* hex MD5 of each conffile as unpacked ("" if absent) */
	char **list;         /* every path, as dpkg lists it ("" once taken over) */
	size_t n_list, list_cap; /* strv_append would count the list on every path */
	char *status;        /* the status stanza, once done */
};

static void list_add(struct pkg_state *s, const char *path)
{
	if (s->n_list + 1 >= s->list_cap) {
		s->list_cap = s->list_cap ? 2 * s->list_cap : 64;
		s->list = xrealloc(s->list, s->list_cap * sizeof(*s->list));
	}
	s->list[s->n_list++] = xstrdup(path);
	s->list[s->n_list] = NULL;
}

static void pkg_state_done(struct pkg_state *s)
{
	free(s->name);
	free(s->version);
	free(s->arch);
	dep_list_done(&s->replaces);
	for (size_t i = 0; i < s->n_members; i++) {
		free(s->members[i].name);
		free(s->members[i].data);
	}
	free(s->members);
	strv_free(s->conffiles);
	free(s->conffile_md5);
	strv_free(s->list);
	free(s->status);
	memset(s, 0, sizeof(*s));
}

static size_t path_hash(const char *s)
{
	size_t h = 5381;

	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static struct owner *owner_get(struct owners *o, const char *path)
{
	size_t i;

	if (2 * (o->n + 1) > o->cap) {
		struct owners g = { .cap = o->cap ? 2 * o->cap : 4096 };

		g.v = xcalloc(g.cap, sizeof(*g.v));
		for (size_t k = 0; k < o->cap; k++) {
			if (!o->v[k].path)
				continue;
			for (i = path_hash(o->v[k].path) & (g.cap - 1); g.v[i].path;
			     i = (i + 1) & (g.cap - 1))
				;
			g.v[i] = o->v[k];
		}
		free(o->v);
		g.n = o->n;
		*o = g;
	}
	for (i = path_hash(path) & (o->cap - 1); o->v[i].path; i = (i + 1) & (o->cap - 1))
		if (streq(o->v[i].path, path))
			return &o->v[i];
	o->v[i].path = xstrdup(path);
	o->n++;
	return &o->v[i];
}

static void owners_done(struct owners *o)
{
	for (size_t i = 0; i < o->cap; i++)
		free(o->v[i].path);
	free(o->v);
}

/* Whether package a declares Replaces on package b (by name, with a version relation that
 * b's version satisfies), as dpkg's does_replace(). */
static bool does_replace(const struct pkg_state *a, const struct pkg_state *b)
{
	for (size_t i = 0; i < a->replaces.n; i++)
		for (size_t k = 0; k < a->replaces.alts[i].n; k++) {
			const struct dep_atom *at = &a->replaces.alts[i].atoms[k];

			if (streq(at->name, b->name) &&
			    dep_version_satisfies(at->op, b->version, at->version))
				return true;
		}
	return false;
}

static const struct member *member_get(const struct pkg_state *s, const char *name)
{
	for (size_t i = 0; i < s->n_members; i++)
		if (streq(s->members[i].name, name))
			return &s->members[i];
	return NULL;
}

/* The value of a control field (first line only), or NULL. */
static char *control_field(const char *control, const char *field)
{
	size_t fl = strlen(field);

	for (const char *l = control; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncasecmp(l, field, fl) == 0 && l[fl] == ':') {
			const char *v = l + fl + 1;

			v += strspn(v, " \t");
			return xstrndup(v, strcspn(v, "\r\n"));
		}
	}
	return NULL;
}

/* The whole value of a control field (continuation lines joined), or NULL. */
static char *control_value(const char *control, const char *field)
{
	struct deb822 *d = NULL;
	_cleanup_free_ char *msg = NULL;
	char *v = NULL;

	if (deb822_parse_quiet(xstrdup(control), strlen(control), "control", &msg, &d) < 0)
		return NULL;
	if (d->n_stanzas && deb822_get(&d->stanzas[0], field))
		v = xstrdup(deb822_get(&d->stanzas[0], field));
	deb822_free(d);
	return v;
}

bool unpack_path_skipped(char *const *exclude, char *const *include, const char *path,
			 bool dir_or_symlink)
{
	bool skip = false;

	for (char *const *g = exclude; g && *g; g++)
		if (fnmatch(*g, path, 0) == 0)
			skip = true;
	if (!skip)
		return false;
	for (char *const *g = include; g && *g; g++)
		if (fnmatch(*g, path, 0) == 0)
			return false;
	if (!dir_or_symlink)
		return true;
	for (char *const *g = include; g && *g; g++) {
		size_t len = strcspn(*g, "*?[\\");

		while (len && (*g)[len - 1] == '/')
			len--;
		if (strncmp(path, *g, len) == 0)
			return false;
	}
	return true;
}

static int64_t mtime_clamped(const struct unpack_opts *o, int64_t t)
{
	return o->clamp_mtime > 0 && t > o->clamp_mtime ? o->clamp_mtime : t;
}

static int write_member_file(const struct unpack_opts *o, const char *path, const char *data,
			     size_t size, unsigned mode)
{
	struct tree_attr a = { .mode = mode, .mtime = o->now };

	return tree_write(o->tree, path, &a, data, size);
}

static char *info_base(const struct pkg_state *s)
{
	return s->ma_same ? xasprintf(ADMINDIR "/info/%s:%s", s->name, s->arch)
			  : xasprintf(ADMINDIR "/info/%s", s->name);
}

/* Each package's .list, once every package is in: the paths it still owns, each once. */
static int write_lists(const struct unpack_opts *o, struct pkg_state *states, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *base = info_base(&states[i]), *p = NULL, *list = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&list, &len);
		int r;

		for (char **l = states[i].list; l && *l; l++)
			if (**l) /* "": taken over by a package that replaces this one */
				fprintf(f, "%s\n", *l);
		fclose(f);
		p = xasprintf("%s.list", base);
		r = write_member_file(o, p, list, len, 0644);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Info files and the status stanza once a package is unpacked. */
static int finish_pkg(const struct unpack_opts *o, struct pkg_state *s)
{
	const struct member *control = member_get(s, "control");
	_cleanup_free_ char *base = NULL, *stanza = NULL;
	FILE *f;
	int r;

	/* The .list is written last (write_lists): a later package may take files over. */
	base = info_base(s);
	for (size_t i = 0; i < s->n_members; i++) {
		_cleanup_free_ char *p = NULL;

		if (streq(s->members[i].name, "control"))
			continue;
		p = xasprintf("%s.%s", base, s->members[i].name);
		r = write_member_file(o, p, s->members[i].data, s->members[i].size,
				      s->members[i].mode & 0777);
		if (r < 0)
			return r;
	}

	/* The status stanza: Package, Status, the control fields in order, Conffiles before
	 * Description. dpkg reads any order; this is close to what it writes. */
	{
		size_t len = 0;
		bool conffiles_done = false;
		const char *c = control->data;

		f = open_memstream(&stanza, &len);
		fprintf(f, "Package: %s\nStatus: install ok unpacked\n", s->name);
		while (*c) {
			size_t ll = strcspn(c, "\n");
			bool is_field = c[0] != ' ' && c[0] != '\t';

			/* Blank and comment lines: the control file was checked as one stanza
			 * with comments skipped (deb_open). */
			if (ll == 0 || (ll == 1 && c[0] == '\r') || c[0] == '#') {
				c += ll + (c[ll] ? 1 : 0);
				continue;
			}
			if (is_field && strncasecmp(c, "Package:", 8) == 0) {
				c += ll + (c[ll] ? 1 : 0);
				continue;
			}
			if (is_field && !conffiles_done && strncasecmp(c, "Description:", 12) == 0 &&
			    s->conffiles) {
				fputs("Conffiles:\n", f);
				for (size_t k = 0; s->conffiles[k]; k++) {
					const char *hash = s->conffile_md5[k];

					/* dpkg --unpack records "newconffile" until configure. */
					if (o->conffiles_new || !hash[0])
						hash = "newconffile";
					fprintf(f, " %s %s\n", s->conffiles[k], hash);
				}
				conffiles_done = true;
			}
			fwrite(c, 1, ll, f);
			fputc('\n', f);
			c += ll + (c[ll] ? 1 : 0);
		}
		fclose(f);
		s->status = TAKE_PTR(stanza);
	}
	return 0;
}

/* The index of path in the conffiles, or -1. */
static int conffile_index(const struct pkg_state *s, const char *path)
{
	for (size_t i = 0; s->conffiles && s->conffiles[i]; i++)
		if (streq(s->conffiles[i], path))
			return (int)i;
	return -1;
}

/* Skips the data records of a regular file entry that is not written. */
static void drain(struct job *j, uint64_t left)
{
	while (left > 0) {
		struct rec data;
		size_t got;

		ring_get(&j->ring, &data, sizeof(data));
		for (uint64_t k = data.size; k > 0; k -= got) {
			ring_peek(&j->ring, k, &got);
			ring_consume(&j->ring, got);
		}
		left -= data.size;
	}
}

enum claim { CLAIM_WRITE, CLAIM_KEEP_DIR, CLAIM_SKIP };

/* dpkg's file conflict rules for entry `path` of package `me` (its index in p->states):
 * directories are shared; a non-directory another package ships may be overwritten only by a
 * package that Replaces it (the path then leaves that package's list), and is kept when that
 * package Replaces this one (the entry is skipped); a symlink over a directory keeps the
 * directory. */
static int claim_path(struct pipeline *p, size_t me, const char *path, enum deb_type type,
		      enum claim *ret, struct owner **ret_owner)
{
	struct pkg_state *s = &p->states[me];
	struct owner *ow = owner_get(&p->owners, path);
	struct tree *t = p->o->tree;
	struct tree_stat ts;
	bool existing_dir = false, existing = false;
	int r;

	*ret_owner = ow;
	*ret = CLAIM_WRITE;
	if (type == DEB_DIR || (type == DEB_SYMLINK && ow->dir_pkg)) {
		r = tree_stat(t, path, &ts);
		if (r < 0 && r != -ENOENT)
			return r;
		existing = r == 0;
		existing_dir = existing && LINUX_S_ISDIR(ts.mode);
	}
	if (existing_dir) {
		*ret = CLAIM_KEEP_DIR;
		return 0;
	}
	if (type != DEB_DIR && ow->dir_pkg) {
		const struct pkg_state *o = &p->states[ow->dir_pkg - 1];

		if (ow->dir_pkg - 1 != me && does_replace(o, s)) {
			*ret = CLAIM_SKIP;
			return 0;
		}
		return log_fail("trying to overwrite directory '%s' in package %s (%s) with "
				"nondirectory", path, o->name, o->version);
	}
	if (ow->file_pkg && ow->file_pkg - 1 != me) {
		struct pkg_state *o = &p->states[ow->file_pkg - 1];

		if (o->ma_same && s->ma_same && streq(o->name, s->name))
			return 0; /* instances of one Multi-Arch: same package share files */
		if (does_replace(s, o)) {
			log_debug("replacing '%s' of package %s (%s)", path, o->name, o->version);
			free(o->list[ow->file_idx]);
			o->list[ow->file_idx] = xstrdup("");
			ow->file_pkg = 0;
		} else if (does_replace(o, s)) {
			log_debug("keeping '%s' of package %s (%s), which replaces this one", path,
				  o->name, o->version);
			*ret = CLAIM_SKIP;
			return 0;
		} else {
			return log_fail("trying to overwrite '%s', which is also in package %s "
					"(%s)", path, o->name, o->version);
		}
	}
	/* A directory where a file is (one nobody ships any more, or this package's own
	 * earlier entry): the file goes, as dpkg moves it aside. */
	if (type == DEB_DIR && existing) {
		r = tree_remove(t, path);
		if (r < 0)
			return r;
		if (ow->file_pkg) {
			free(s->list[ow->file_idx]);
			s->list[ow->file_idx] = xstrdup("");
			ow->file_pkg = 0;
			ow->last_pkg = 0;
		}
	}
	return 0;
}

/* Applies one package's records. */
static int consume(struct pipeline *p, size_t me, struct unpack_stats *st)
{
	struct job *j = &p->jobs[me];
	struct pkg_state *s = &p->states[me];
	const struct unpack_opts *o = p->o;
	struct tree *t = o->tree;
	bool control_done = false;
	char *name = xmalloc(DEB_PATH_MAX + 2), *link = xmalloc(DEB_PATH_MAX + 2);
	char *path = xmalloc(DEB_PATH_MAX + 32);
	int r = 0;

	for (;;) {
		struct rec rec;

		ring_get(&j->ring, &rec, sizeof(rec));
		if (rec.name_len > DEB_PATH_MAX + 1 || rec.link_len > DEB_PATH_MAX + 1) {
			/* Only messages are long; cut them. */
			char *big = xmalloc(rec.name_len + 1);

			ring_get(&j->ring, big, rec.name_len);
			big[rec.name_len] = 0;
			r = log_fail("%s", big);
			free(big);
			goto out;
		}
		ring_get(&j->ring, name, rec.name_len);
		name[rec.name_len] = 0;
		ring_get(&j->ring, link, rec.link_len);
		link[rec.link_len] = 0;

		if (rec.type == REC_ERROR) {
			r = log_fail("%s", name);
			goto out;
		}
		if (rec.type == REC_END)
			break;
		if (rec.type == REC_CONTROL) {
			struct member *m;

			s->members = xrealloc(s->members, (s->n_members + 1) * sizeof(*s->members));
			m = &s->members[s->n_members++];
			m->name = xstrdup(name);
			m->size = rec.size;
			m->mode = rec.mode;
			m->data = xmalloc(rec.size + 1);
			ring_get(&j->ring, m->data, rec.size);
			m->data[rec.size] = 0;
			continue;
		}
		if (!control_done) {
			const struct member *c = member_get(s, "control");
			const struct member *cf = member_get(s, "conffiles");
			_cleanup_free_ char *ma = NULL;

			if (!c) {
				r = log_fail("the package has no control file");
				goto out;
			}
			s->name = control_field(c->data, "Package");
			s->version = control_field(c->data, "Version");
			s->arch = control_field(c->data, "Architecture");
			ma = control_field(c->data, "Multi-Arch");
			if (!s->name || !s->arch || !s->version) {
				r = log_fail("the control file lacks Package, Version or "
					     "Architecture");
				goto out;
			}
			{
				_cleanup_free_ char *rep = control_value(c->data, "Replaces");

				if (dep_parse(rep, &s->replaces) < 0) {
					r = log_fail("control: cannot parse Replaces: '%s'", rep);
					goto out;
				}
			}
			s->ma_same = ma && streq(ma, "same");
			for (const char *l = cf ? cf->data : ""; *l;) {
				size_t n = strcspn(l, "\n");
				_cleanup_free_ char *line = xstrndup(l, n);
				char *sp = line + strcspn(line, " \t\r");

				*sp = 0;
				if (line[0] == '/')
					s->conffiles = strv_append(s->conffiles, line);
				l += n + (l[n] ? 1 : 0);
			}
			s->conffile_md5 = xcalloc(strv_length(s->conffiles) + 1,
						  sizeof(*s->conffile_md5));
			control_done = true;
		}
		if (rec.type != REC_ENTRY) {
			r = log_fail("unexpected data in the package stream");
			goto out;
		}

		/* One data.tar entry. */
		{
			struct tree_attr a = {
				.uid = rec.uid, .gid = rec.gid, .mode = rec.mode & 07777,
				.mtime = mtime_clamped(o, rec.mtime),
			};
			bool dirlike = rec.etype == DEB_DIR || rec.etype == DEB_SYMLINK;
			uint64_t left = rec.etype == DEB_REG ? rec.size : 0;
			struct owner *ow;
			enum claim claim;

			snprintf(path, DEB_PATH_MAX + 32, "/%s", name);
			st->entries++;
			if (!name[0]) {
				struct owner *root = owner_get(&p->owners, "/.");

				if (root->last_pkg != me + 1) {
					root->last_pkg = me + 1;
					list_add(s, "/.");
				}
				continue;
			}
			if (unpack_path_skipped(o->path_exclude, o->path_include, path, dirlike)) {
				st->filtered++;
				drain(j, left);
				continue;
			}
			r = claim_path(p, me, path, rec.etype, &claim, &ow);
			if (r < 0)
				goto out;
			if (claim == CLAIM_SKIP) {
				drain(j, left);
				continue;
			}
			/* Each path once in the list, however often the archive has it. */
			if (ow->last_pkg != me + 1) {
				ow->last_pkg = me + 1;
				ow->list_idx = s->n_list;
				list_add(s, path);
			}
			if (rec.etype == DEB_DIR) {
				if (!ow->dir_pkg)
					ow->dir_pkg = me + 1;
			} else if (claim == CLAIM_WRITE) {
				ow->file_pkg = me + 1;
				ow->file_idx = ow->list_idx;
			}
			if (claim == CLAIM_KEEP_DIR)
				continue;
			switch (rec.etype) {
			case DEB_DIR:
				r = tree_mkdir(t, path, &a);
				break;
			case DEB_SYMLINK:
				r = tree_symlink(t, path, link, &a);
				break;
			case DEB_HARDLINK: {
				_cleanup_free_ char *target = xasprintf("/%s", link);

				r = tree_link(t, path, target);
				break;
			}
			case DEB_CHR:
			case DEB_BLK:
			case DEB_FIFO:
				r = tree_mknod(t, path,
					       rec.etype == DEB_CHR ? 'c' : rec.etype == DEB_BLK ? 'b' : 'p',
					       &a, rec.major, rec.minor);
				break;
			case DEB_REG: {
				struct tree_file *f;
				int cf = conffile_index(s, path);
				EVP_MD_CTX *md5 = NULL;

				if (cf >= 0) {
					md5 = EVP_MD_CTX_new();
					if (!md5 || !EVP_DigestInit_ex(md5, EVP_md5(), NULL)) {
						EVP_MD_CTX_free(md5);
						r = log_fail("cannot compute MD5 sums");
						break;
					}
					if (o->conffiles_new)
						strcat(path, ".dpkg-new");
				}
				r = tree_file_create(t, path, &a, rec.size, &f);
				if (r < 0) {
					EVP_MD_CTX_free(md5);
					break;
				}
				while (left > 0) {
					struct rec data;
					size_t got;

					ring_get(&j->ring, &data, sizeof(data));
					if (data.type != REC_DATA) {
						tree_file_abort(f);
						EVP_MD_CTX_free(md5);
						if (data.type == REC_ERROR) {
							char *msg = xmalloc(data.name_len + 1);

							ring_get(&j->ring, msg, data.name_len);
							msg[data.name_len] = 0;
							r = log_fail("%s", msg);
							free(msg);
						} else {
							r = log_fail("'%s' is truncated", path);
						}
						goto out;
					}
					for (uint64_t k = data.size; k > 0 && r >= 0; k -= got) {
						const char *d = ring_peek(&j->ring, k, &got);

						r = tree_file_write(f, d, got);
						if (md5)
							EVP_DigestUpdate(md5, d, got);
						ring_consume(&j->ring, got);
					}
					if (r < 0) {
						tree_file_abort(f);
						EVP_MD_CTX_free(md5);
						goto out;
					}
					left -= data.size;
				}
				if (md5) {
					unsigned char dg[16];
					unsigned dl = 0;

					EVP_DigestFinal_ex(md5, dg, &dl);
					EVP_MD_CTX_free(md5);
					for (unsigned k = 0; k < 16; k++)
						sprintf(s->conffile_md5[cf] + 2 * k, "%02x", dg[k]);
				}
				r = tree_file_close(f);
				st->bytes += rec.size;
				break;
			}
			default:
				r = log_fail("entry '%s' has an unknown type", name);
			}
			if (r < 0)
				goto out;
		}
	}
	if (!control_done)
		r = log_fail("the package has no control file");
	else
		r = finish_pkg(o, s);
out:
	free(name);
	free(link);
	free(path);
	return r;
}

static int state_cmp(const void *x, const void *y)
{
	const struct pkg_state *a = *(struct pkg_state *const *)x, *b = *(struct pkg_state *const *)y;
	int c = strcmp(a->name, b->name);

	return c ? c : strcmp(a->arch, b->arch);
}

static int write_admindir(const struct unpack_opts *o, struct pkg_state *states, size_t n)
{
	_cleanup_free_ char *status = NULL, *arch = NULL;
	size_t len = 0;
	struct pkg_state **order = xmalloc((n ? n : 1) * sizeof(*order));
	FILE *f;
	int r;

	/* dpkg keeps status sorted by name (then architecture). */
	for (size_t i = 0; i < n; i++)
		order[i] = &states[i];
	qsort(order, n, sizeof(*order), state_cmp);
	f = open_memstream(&status, &len);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", order[i]->status);
	fclose(f);
	free(order);
	r = write_member_file(o, ADMINDIR "/status", status, len, 0644);
	if (r < 0)
		return r;
	arch = xasprintf("%s\n", o->arch);
	r = write_member_file(o, ADMINDIR "/arch", arch, strlen(arch), 0644);
	if (r < 0)
		return r;
	if ((r = tree_exists(o->tree, ADMINDIR "/available")) == 0)
		r = write_member_file(o, ADMINDIR "/available", "", 0, 0644);
	return r < 0 ? r : 0;
}

static int admindir_prepare(const struct unpack_opts *o)
{
	static const char *const dirs[] = {
		ADMINDIR, ADMINDIR "/info", ADMINDIR "/updates", ADMINDIR "/triggers",
		ADMINDIR "/alternatives", ADMINDIR "/parts",
	};
	struct tree_attr dir = { .mode = 0755, .mtime = o->now };

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		int r = tree_mkdir(o->tree, dirs[i], &dir);

		if (r < 0)
			return r;
	}
	return 0;
}

int unpack_debs(const struct unpack_opts *o, const struct unpack_pkg *pkgs, size_t n,
		struct unpack_stats *ret_stats)
{
	struct pipeline p = { .o = o };
	struct unpack_stats st = { 0 };
	struct pkg_state *states = xcalloc(n ? n : 1, sizeof(*states));
	pthread_t *threads;
	unsigned n_threads = o->threads;
	uint64_t total = 0, done = 0;
	size_t started = 0;
	int r = 0;

	if (!n_threads) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		n_threads = c > 0 ? (unsigned)c : 1;
	}
	if (n_threads > 16)
		n_threads = 16;
	p.lzma_threads = n_threads;
	/* How far the decoders may run ahead of the writer, which applies the packages in
	 * order: a big package being decoded must not leave the other decoders idle once they
	 * have done the next two (the packages bench set: 5.1-5.2 s with 3, 4.7-4.8 s with
	 * 16). At most that many rings of RING_SIZE are held (64 MiB below 16 threads), and
	 * RING_EXTRA more when some grow. */
	p.window = n_threads + 1 > WINDOW ? n_threads + 1 : WINDOW;
	p.jobs = xcalloc(n ? n : 1, sizeof(*p.jobs));
	p.n = n;
	for (size_t i = 0; i < n; i++) {
		p.jobs[i].pkg = &pkgs[i];
		ring_init(&p.jobs[i].ring);
		total += pkgs[i].size;
	}
	p.states = states;
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);

	r = admindir_prepare(o);
	if (r < 0)
		goto cleanup_nothreads;

	threads = xcalloc(n_threads, sizeof(*threads));
	for (unsigned i = 0; i < n_threads; i++) {
		if (pthread_create(&threads[i], NULL, worker, &p) != 0) {
			r = log_errno(errno ? errno : EAGAIN, "cannot start a worker thread");
			break;
		}
		started++;
	}
	tree_set_strict(o->tree, true);
	progress_begin("unpacking", total);
	for (size_t i = 0; r == 0 && i < n; i++) {
		pthread_mutex_lock(&p.lock);
		p.writing = i;
		pthread_cond_broadcast(&p.cond);
		pthread_mutex_unlock(&p.lock);
		if (!started)
			break;
		{
			_cleanup_free_ char *scope = xasprintf("packages(%s)", pkgs[i].name);

			log_set_scope(scope);
		}
		/* From now on the ring is a stream: it no longer grows. */
		pthread_mutex_lock(&p.jobs[i].ring.lock);
		p.jobs[i].ring.reading = true;
		pthread_mutex_unlock(&p.jobs[i].ring.lock);
		r = consume(&p, i, &st);
		log_set_scope("packages");
		/* The ring's memory goes back as soon as a package is done: its worker wrote
		 * the end record last. After a failure the worker may still be writing: the
		 * ring is freed once the workers are joined. */
		if (r == 0) {
			struct ring *ring = &p.jobs[i].ring;
			size_t grown = ring->buf ? ring->cap - RING_SIZE : 0;

			pthread_mutex_lock(&ring->lock);
			free(ring->buf);
			ring->buf = NULL;
			pthread_mutex_unlock(&ring->lock);
			/* Its growth is in the budget again: the full rings ahead may grow. */
			if (grown) {
				__atomic_fetch_sub(&p.extra, grown, __ATOMIC_SEQ_CST);
				for (size_t k = i + 1; k < n && k <= i + p.window; k++)
					ring_wake(&p.jobs[k].ring, &p.jobs[k].ring.worker_waits);
			}
		}
		done += pkgs[i].size;
		progress_update(done);
		st.packages++;
	}
	progress_end();
	tree_set_strict(o->tree, false);

	/* Stop and join the workers (they may be blocked on a full ring after a failure). */
	pthread_mutex_lock(&p.lock);
	__atomic_store_n(&p.abort, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&p.cond);
	pthread_mutex_unlock(&p.lock);
	for (size_t i = 0; i < n; i++) {
		pthread_mutex_lock(&p.jobs[i].ring.lock);
		pthread_cond_broadcast(&p.jobs[i].ring.cond);
		pthread_mutex_unlock(&p.jobs[i].ring.lock);
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);

	if (p.grown)
		log_debug("the decoders ran ahead of the writer: rings grew %zu times, the budget "
			  "held one back %zu times",
			  p.grown, p.refused);
	if (r == 0)
		r = write_lists(o, states, n);
	if (r == 0)
		r = write_admindir(o, states, n);
	st.cache_read = p.cache_events[DEB_CACHE_READ];
	st.cache_stored = p.cache_events[DEB_CACHE_STORED];
	st.cache_bad = p.cache_events[DEB_CACHE_BAD];
	if (r == 0 && ret_stats)
		*ret_stats = st;
cleanup_nothreads:
	for (size_t i = 0; i < n; i++) {
		ring_done(&p.jobs[i].ring);
		pkg_state_done(&states[i]);
	}
	free(states);
	owners_done(&p.owners);
	free(p.jobs);
	pthread_mutex_destroy(&p.lock);
	pthread_cond_destroy(&p.cond);
	return r;
}
