/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Block maps (bmap.h): bmaptool's format 2.0, written from a sparse file's extents and read
 * back for `flash`. */
#include "bmap.h"

#include <inttypes.h>
#include <pthread.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"
#include "util.h"

#define SCAN_CHUNK (4u << 20)

static const char zeros[4 << 20]; /* holes, handed on in large pieces */

void bmap_free(struct bmap *m)
{
	if (!m)
		return;
	free(m->ranges);
	free(m);
}

static void to_hex(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = 0;
}

static void md_hex(EVP_MD_CTX *md, char out[static 65])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	EVP_DigestFinal_ex(md, d, &n);
	to_hex(d, n, out);
}

void sha256_hex(const void *buf, size_t n, char ret_hex[static 65])
{
	unsigned char d[32];

	EVP_Digest(buf, n, d, NULL, EVP_sha256(), NULL);
	to_hex(d, sizeof(d), ret_hex);
}

void bmap_range_bytes(const struct bmap *m, const struct bmap_range *r, uint64_t *ret_off,
		      uint64_t *ret_len)
{
	uint64_t off = r->first * m->block_size, end = (r->last + 1) * m->block_size;

	if (end > m->image_size)
		end = m->image_size;
	*ret_off = off;
	*ret_len = end > off ? end - off : 0;
}

static void add_range(struct bmap *m, uint64_t first, uint64_t last)
{
	struct bmap_range *prev = m->n_ranges ? &m->ranges[m->n_ranges - 1] : NULL;

	if (prev && first <= prev->last + 1) {
		if (last > prev->last) {
			m->mapped_blocks += last - prev->last;
			prev->last = last;
		}
		return;
	}
	m->ranges = xrealloc(m->ranges, (m->n_ranges + 1) * sizeof(*m->ranges));
	m->ranges[m->n_ranges++] = (struct bmap_range){ .first = first, .last = last };
	m->mapped_blocks += last - first + 1;
}

/* Ranges of at most BMAP_RANGE_MAX blocks: hashed in parallel, and a mismatch found by
 * flash or bmaptool is placed within 16 MiB. */
static void split_ranges(struct bmap *m)
{
	size_t n = 0;
	struct bmap_range *r;

	for (size_t i = 0; i < m->n_ranges; i++)
		n += (m->ranges[i].last - m->ranges[i].first) / BMAP_RANGE_MAX + 1;
	if (n == m->n_ranges)
		return;
	r = xcalloc(n, sizeof(*r));
	n = 0;
	for (size_t i = 0; i < m->n_ranges; i++)
		for (uint64_t f = m->ranges[i].first; f <= m->ranges[i].last; f += BMAP_RANGE_MAX) {
			uint64_t l = f + BMAP_RANGE_MAX - 1;

			r[n++] = (struct bmap_range){ .first = f,
						      .last = l < m->ranges[i].last ?
								      l :
								      m->ranges[i].last };
		}
	free(m->ranges);
	m->ranges = r;
	m->n_ranges = n;
}

int bmap_from_file(int fd, uint64_t size, struct bmap **ret)
{
	struct bmap *m = xcalloc(1, sizeof(*m));
	uint64_t off = 0;

	m->image_size = size;
	m->block_size = BMAP_BLOCK_SIZE;
	while (off < size) {
		off_t data = lseek(fd, (off_t)off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			goto fail;
		if ((uint64_t)data >= size)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			goto fail;
		if ((uint64_t)hole > size)
			hole = (off_t)size;
		if (hole <= data) /* cannot happen; never loop forever on a strange filesystem */
			hole = (off_t)size;
		add_range(m, (uint64_t)data / m->block_size, ((uint64_t)hole - 1) / m->block_size);
		off = (uint64_t)hole;
	}
	split_ranges(m);
	*ret = m;
	return 0;
fail:;
	int r = -errno;

	bmap_free(m);
	return r;
}

static int feed_zeros(bmap_sink sink, void *ctx, uint64_t n)
{
	while (n) {
		size_t k = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);
		int r = sink(ctx, zeros, k);

		if (r < 0)
			return r;
		n -= k;
	}
	return 0;
}

static int hash_range(int fd, const struct bmap *m, struct bmap_range *rg, uint8_t *buf,
		      EVP_MD_CTX *md)
{
	uint64_t off, len;

	bmap_range_bytes(m, rg, &off, &len);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	while (len) {
		size_t k = len < SCAN_CHUNK ? (size_t)len : SCAN_CHUNK;
		ssize_t got = pread(fd, buf, k, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 ? -errno : -EIO;
		EVP_DigestUpdate(md, buf, (size_t)got);
		off += (uint64_t)got;
		len -= (uint64_t)got;
	}
	md_hex(md, rg->sha256);
	return 0;
}

struct hash_work {
	int fd;
	struct bmap *m;
	size_t next;
	int error;
	pthread_mutex_t lock;
};

static void *hash_worker(void *arg)
{
	struct hash_work *w = arg;
	uint8_t *buf = xmalloc(SCAN_CHUNK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	for (;;) {
		size_t i;
		int r;

		pthread_mutex_lock(&w->lock);
		i = w->error ? w->m->n_ranges : w->next++;
		pthread_mutex_unlock(&w->lock);
		if (i >= w->m->n_ranges)
			break;
		r = md ? hash_range(w->fd, w->m, &w->m->ranges[i], buf, md) : -ENOMEM;
		if (r < 0) {
			pthread_mutex_lock(&w->lock);
			w->error = w->error ? w->error : r;
			pthread_mutex_unlock(&w->lock);
		}
	}
	EVP_MD_CTX_free(md);
	free(buf);
	return NULL;
}

int bmap_hash(int fd, struct bmap *m, unsigned threads)
{
	struct hash_work w = { .fd = fd, .m = m, .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[64];
	size_t started = 0;

	if (!threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		threads = n > 0 ? (unsigned)n : 1;
	}
	for (unsigned i = 0; i < threads && i < ARRAY_SIZE(th) && i < m->n_ranges; i++)
		if (pthread_create(&th[started], NULL, hash_worker, &w) == 0)
			started++;
	if (!started)
		hash_worker(&w);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return w.error;
}

int bmap_scan(int fd, struct bmap *m, bmap_sink sink, void *ctx, bool holes)
{
	_cleanup_free_ uint8_t *buf = xmalloc(SCAN_CHUNK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t pos = 0;
	int r = 0;

	if (!md)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_ranges && r >= 0; i++) {
		uint64_t off, len;

		bmap_range_bytes(m, &m->ranges[i], &off, &len);
		if (sink && holes && off > pos && (r = feed_zeros(sink, ctx, off - pos)) < 0)
			break;
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		while (len) {
			size_t k = len < SCAN_CHUNK ? (size_t)len : SCAN_CHUNK;
			ssize_t got = pread(fd, buf, k, (off_t)off);

			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				r = got < 0 ? -errno : -EIO;
				break;
			}
			EVP_DigestUpdate(md, buf, (size_t)got);
			if (sink && (r = sink(ctx, buf, (size_t)got)) < 0)
				break;
			off += (uint64_t)got;
			len -= (uint64_t)got;
		}
		if (r < 0)
			break;
		md_hex(md, m->ranges[i].sha256);
		pos = off;
	}
	if (r >= 0 && sink && holes && m->image_size > pos)
		r = feed_zeros(sink, ctx, m->image_size - pos);
	EVP_MD_CTX_free(md);
	return r;
}

char *bmap_format(const struct bmap *m)
{
	struct strbuf s = { 0 };
	uint64_t blocks = (m->image_size + m->block_size - 1) / m->block_size;
	char line[256], sz[32], msz[32], hex[65];
	char *text, *at;

	format_bytes(sz, m->image_size);
	format_bytes(msz, m->mapped_blocks * m->block_size);
	snprintf(line, sizeof(line),
		 "<?xml version=\"1.0\" ?>\n"
		 "<!-- Block map of an image written by mkbootmedia: the blocks that hold data;\n"
		 "     the others are holes. 'bmaptool copy' writes only these. -->\n"
		 "<bmap version=\"2.0\">\n");
	strbuf_adds(&s, line);
	snprintf(line, sizeof(line),
		 "    <!-- Image size in bytes: %s -->\n"
		 "    <ImageSize> %" PRIu64 " </ImageSize>\n\n",
		 sz, m->image_size);
	strbuf_adds(&s, line);
	snprintf(line, sizeof(line),
		 "    <!-- Size of a block in bytes -->\n"
		 "    <BlockSize> %u </BlockSize>\n\n"
		 "    <!-- Count of blocks in the image file -->\n"
		 "    <BlocksCount> %" PRIu64 " </BlocksCount>\n\n",
		 m->block_size, blocks);
	strbuf_adds(&s, line);
	snprintf(line, sizeof(line),
		 "    <!-- Count of mapped blocks: %s or %.1f%% -->\n"
		 "    <MappedBlocksCount> %" PRIu64 " </MappedBlocksCount>\n\n",
		 msz, blocks ? 100.0 * (double)m->mapped_blocks / (double)blocks : 0.0,
		 m->mapped_blocks);
	strbuf_adds(&s, line);
	strbuf_adds(&s, "    <!-- Type of checksum used in this file -->\n"
			"    <ChecksumType> sha256 </ChecksumType>\n\n"
			"    <!-- The checksum of this bmap file. When it is calculated, the value "
			"of\n         the checksum has be zero (all ASCII \"0\" symbols).  -->\n"
			"    <BmapFileChecksum> ");
	strbuf_adds(&s, "0000000000000000000000000000000000000000000000000000000000000000");
	strbuf_adds(&s, " </BmapFileChecksum>\n\n"
			"    <!-- The block map which consists of elements which may either be a\n"
			"         range of blocks or a single block. The 'chksum' attribute\n"
			"         (if present) is the checksum of this blocks range. -->\n"
			"    <BlockMap>\n");
	for (size_t i = 0; i < m->n_ranges; i++) {
		const struct bmap_range *r = &m->ranges[i];

		if (r->first == r->last)
			snprintf(line, sizeof(line),
				 "        <Range chksum=\"%s\"> %" PRIu64 " </Range>\n", r->sha256,
				 r->first);
		else
			snprintf(line, sizeof(line),
				 "        <Range chksum=\"%s\"> %" PRIu64 "-%" PRIu64 " </Range>\n",
				 r->sha256, r->first, r->last);
		strbuf_adds(&s, line);
	}
	strbuf_adds(&s, "    </BlockMap>\n</bmap>\n");
	text = strbuf_take(&s);
	sha256_hex(text, strlen(text), hex);
	at = strstr(text, "<BmapFileChecksum> ") + strlen("<BmapFileChecksum> ");
	memcpy(at, hex, 64);
	return text;
}

/* The text of the first <tag>...</tag> after *pos, trimmed, as a new string (NULL: none). */
static char *element(const char *text, const char *tag)
{
	_cleanup_free_ char *open = xasprintf("<%s>", tag), *close = xasprintf("</%s>", tag);
	const char *a = strstr(text, open), *b;

	if (!a)
		return NULL;
	a += strlen(open);
	b = strstr(a, close);
	if (!b)
		return NULL;
	while (a < b && (*a == ' ' || *a == '\t' || *a == '\n'))
		a++;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n'))
		b--;
	return xstrndup(a, (size_t)(b - a));
}

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !is_digit(*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int get_u64(const char *text, const char *tag, const char *what, uint64_t *ret)
{
	_cleanup_free_ char *v = element(text, tag);

	if (parse_u64(v, ret) < 0)
		return log_fail("bmap '%s': <%s> is %s%s%s: not a bmap file, or a damaged one",
				what, tag, v ? "'" : "missing", v ? v : "", v ? "'" : "");
	return 0;
}

static bool is_hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* A copy of the text with every XML comment blanked out: bmaptool's header comment names
 * <MappedBlocksCount> and <BlocksCount> in its prose. NULL: an unterminated comment. */
static char *uncomment(const char *text)
{
	char *copy = xstrdup(text), *a = copy, *b;

	while ((a = strstr(a, "<!--")) != NULL) {
		b = strstr(a + 4, "-->");
		if (!b) {
			free(copy);
			return NULL;
		}
		memset(a, ' ', (size_t)(b + 3 - a));
		a = b + 3;
	}
	return copy;
}

int bmap_parse(const char *text, size_t len, const char *what, struct bmap **ret)
{
	_cleanup_(bmap_freep) struct bmap *m = NULL;
	_cleanup_free_ char *copy = NULL, *type = NULL, *sum = NULL, *plain = NULL;
	uint64_t bs, blocks, mapped = 0, want_mapped;
	const char *p, *v;
	char hex[65];

	if (strlen(text) != len || !(plain = uncomment(text)) || !strstr(plain, "<bmap "))
		return log_fail("bmap '%s': not a bmap file (no <bmap> element)", what);
	/* The checksum covers the whole text; everything else is read without comments. */
	copy = xstrdup(text);
	text = plain;
	v = strstr(text, "<bmap version=\"");
	if (!v || !(startswith(v + 15, "2.") || startswith(v + 15, "1.4\"")))
		return log_fail("bmap '%s': only bmap format 2.0 (bmaptool 3.1 or later) is "
				"supported",
				what);
	m = xcalloc(1, sizeof(*m));
	if (get_u64(text, "ImageSize", what, &m->image_size) < 0 ||
	    get_u64(text, "BlockSize", what, &bs) < 0 ||
	    get_u64(text, "BlocksCount", what, &blocks) < 0 ||
	    get_u64(text, "MappedBlocksCount", what, &want_mapped) < 0)
		return -EINVAL;
	if (bs < 512 || bs > (1u << 24) || (bs & (bs - 1)))
		return log_fail("bmap '%s': block size %" PRIu64 " is not a power of two from "
				"512 to 16 MiB",
				what, bs);
	m->block_size = (unsigned)bs;
	if (blocks != (m->image_size + bs - 1) / bs)
		return log_fail("bmap '%s': %" PRIu64 " blocks of %" PRIu64 " bytes do not make "
				"an image of %" PRIu64 " bytes: the bmap is damaged",
				what, blocks, bs, m->image_size);
	type = element(text, "ChecksumType");
	if (!type || !streq(type, "sha256"))
		return log_fail("bmap '%s': checksum type '%s': only sha256 is supported (make "
				"the bmap with 'bmaptool create', which uses sha256)",
				what, type ? type : "none");
	sum = element(text, "BmapFileChecksum");
	if (!sum || strlen(sum) != 64 || !is_hex64(sum))
		return log_fail("bmap '%s': no valid <BmapFileChecksum>: the bmap is damaged",
				what);
	{
		char *at = strstr(copy, sum);

		memset(at, '0', 64);
	}
	sha256_hex(copy, len, hex);
	if (!streq(hex, sum))
		return log_fail("bmap '%s': its checksum does not match its contents: the bmap "
				"is damaged or was edited",
				what);
	p = strstr(text, "<BlockMap>");
	if (!p)
		return log_fail("bmap '%s': no <BlockMap>: the bmap is damaged", what);
	while ((p = strstr(p, "<Range")) != NULL) {
		const char *c = strstr(p, "chksum=\""), *gt = strchr(p, '>'), *end;
		uint64_t first, last;
		_cleanup_free_ char *body = NULL;
		char *dash;

		if (!gt || !(end = strstr(gt, "</Range>")))
			return log_fail("bmap '%s': an unterminated <Range>: the bmap is damaged",
					what);
		if (!c || c > gt || !is_hex64(c + 8) || c[72] != '"')
			return log_fail("bmap '%s': a <Range> without a sha256 chksum: flash "
					"verifies every range it writes",
					what);
		body = xstrndup(gt + 1, (size_t)(end - gt - 1));
		{
			char *b = body, *e;

			while (*b == ' ')
				b++;
			e = b + strlen(b);
			while (e > b && e[-1] == ' ')
				*--e = 0;
			dash = strchr(b, '-');
			if (dash)
				*dash = 0;
			if (parse_u64(b, &first) < 0 || parse_u64(dash ? dash + 1 : b, &last) < 0 ||
			    last < first)
				return log_fail("bmap '%s': <Range> '%s' is not a block range: the "
						"bmap is damaged",
						what, b);
		}
		if (last >= blocks || (m->n_ranges && first <= m->ranges[m->n_ranges - 1].last))
			return log_fail("bmap '%s': range %" PRIu64 "-%" PRIu64 " is outside the "
					"image or not in order: the bmap is damaged",
					what, first, last);
		m->ranges = xrealloc(m->ranges, (m->n_ranges + 1) * sizeof(*m->ranges));
		m->ranges[m->n_ranges] = (struct bmap_range){ .first = first, .last = last };
		memcpy(m->ranges[m->n_ranges].sha256, c + 8, 64);
		m->ranges[m->n_ranges++].sha256[64] = 0;
		mapped += last - first + 1;
		p = end;
	}
	if (mapped != want_mapped)
		return log_fail("bmap '%s': the ranges hold %" PRIu64 " blocks, "
				"<MappedBlocksCount> says %" PRIu64 ": the bmap is damaged",
				what, mapped, want_mapped);
	m->mapped_blocks = mapped;
	*ret = TAKE_PTR(m);
	return 0;
}

int bmap_load(const char *path, struct bmap **ret)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = read_file(path, BMAP_FILE_MAX, &data, &len);

	if (r < 0)
		return log_errno(r, "cannot read bmap '%s'", path);
	return bmap_parse(data, len, path, ret);
}
