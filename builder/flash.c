/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `mkbootmedia flash IMAGE DEVICE`: writes a raw or compressed image to a whole disk, only
 * its mapped ranges (the .bmap beside it, or the raw image file's data extents), then reads
 * every range back and checks its SHA-256. It refuses a partition, a disk that is neither
 * removable nor on USB (unless --force), a disk that is mounted or held, one too small, and
 * asks before writing on a terminal (--yes does not ask). */
#include "flash.h"

#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bmap.h"
#include "blockdev.h"
#include "cli.h"
#include "compress.h"
#include "cryptfile.h"
#include "cryptio.h"
#include "log.h"
#include "luks.h"
#include "partgrow.h"
#include "secret.h"
#include "spawn.h"

#define CHUNK (4u << 20)

struct flash_options {
	const char *image, *device, *bmap;
	bool force, yes, verify_only, no_verify, grow;
	const char *passphrase_file;
	struct secret *passphrase; /* read before anything is written */
};

/* Progress with bytes, rate and time left: a line rewritten on a terminal, a line every
 * five seconds otherwise, nothing when MKBOOTMEDIA_NO_PROGRESS is set or with -q. */
struct meter {
	const char *what;
	uint64_t total, done;
	double start, last;
	bool on, tty;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void meter_begin(struct meter *m, const char *what, uint64_t total)
{
	*m = (struct meter){ .what = what, .total = total ? total : 1, .start = now() };
	m->on = log_get_level() >= LOG_INFO && !getenv("MKBOOTMEDIA_NO_PROGRESS");
	m->tty = isatty(STDERR_FILENO);
	m->last = m->start;
}

static void meter_show(struct meter *m, bool final)
{
	double t = now(), secs = t - m->start, rate = secs > 0 ? (double)m->done / secs : 0;
	char a[32], b[32], r[32];
	long left = rate > 0 ? (long)((double)(m->total - m->done) / rate) : 0;

	if (!m->on || (!final && t - m->last < (m->tty ? 0.25 : 5)))
		return;
	m->last = t;
	format_bytes(a, m->done);
	format_bytes(b, m->total);
	format_bytes(r, (uint64_t)rate);
	fprintf(stderr, "%s%s: %s of %s (%d%%), %s/s, %ld:%02ld %s%s", m->tty ? "\r" : "", m->what,
		a, b, (int)(m->done * 100 / m->total), r, (final ? (long)secs : left) / 60,
		(final ? (long)secs : left) % 60, final ? "taken" : "left",
		m->tty && !final ? "\033[K" : "\n");
}

static void meter_add(struct meter *m, uint64_t n)
{
	m->done += n;
	meter_show(m, false);
}

/* The image as a stream of bytes from offset 0: a raw file read with pread, or a
 * compressed one decompressed in order (skipping is reading). */
struct source {
	const char *path;
	int fd;
	struct decompressor *dec; /* NULL: raw */
	uint64_t pos;
	uint8_t *skip;
};

static int source_read(struct source *s, uint64_t off, void *buf, size_t n)
{
	if (!s->dec) {
		int r = pread_all(s->fd, buf, n, off);

		return r < 0 ? log_errno(r, "cannot read image '%s'", s->path) : 0;
	}
	if (off < s->pos)
		return log_fail("image '%s': the bmap's ranges go backwards", s->path);
	while (s->pos < off) {
		uint64_t k = off - s->pos < CHUNK ? off - s->pos : CHUNK;
		ssize_t got = decompressor_read(s->dec, s->skip, (size_t)k);

		if (got < 0)
			return (int)got;
		if (got == 0)
			return log_fail("image '%s' ends at %" PRIu64 " bytes, before its bmap "
					"says: the image does not match its bmap",
					s->path, s->pos);
		s->pos += (uint64_t)got;
	}
	for (size_t done = 0; done < n;) {
		ssize_t got = decompressor_read(s->dec, (uint8_t *)buf + done, n - done);

		if (got < 0)
			return (int)got;
		if (got == 0)
			return log_fail("image '%s' ends at %" PRIu64 " bytes, before its bmap "
					"says: the image does not match its bmap",
					s->path, s->pos);
		done += (size_t)got;
		s->pos += (uint64_t)got;
	}
	return 0;
}

/* bmaptool's discovery: IMAGE.bmap, then with one extension less, and so on. */
static char *find_bmap(const char *image)
{
	_cleanup_free_ char *base = xstrdup(image);

	for (;;) {
		char *path = xasprintf("%s.bmap", base), *dot, *slash;
		struct stat st;

		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			return path;
		free(path);
		dot = strrchr(base, '.');
		slash = strrchr(base, '/');
		if (!dot || (slash && dot < slash) || dot == base)
			return NULL;
		*dot = 0;
	}
}

static int io_error(int r, const char *dev, const char *what, uint64_t off)
{
	const char *hint = r == -ENODEV || r == -ENXIO || r == -EIO || r == -ENOMEDIUM ?
				   " (was the device removed, or is it failing?)" :
				   "";
	char sz[32];

	if (off == UINT64_MAX)
		log_error("cannot %s '%s': %s%s", what, dev, strerror(-r), hint);
	else
		log_error("cannot %s '%s' at %s (byte %" PRIu64 "): %s%s", what, dev,
			  format_bytes(sz, off), off, strerror(-r), hint);
	return r;
}

/* The device's own writeback, as the writes go: each chunk is handed to the device as soon as
 * it is written (SYNC_FILE_RANGE_WRITE starts the I/O and does not wait), and the one
 * WRITEBACK_DEPTH chunks back is waited for. So the device works while the image is read and
 * hashed, the final fsync has little left to do, the page cache holds at most that many
 * chunks of the device's writes (bmaptool gets this by lowering the device's bdi max_ratio),
 * and the progress bar shows what the device took, not what the page cache did. */
#define WRITEBACK_DEPTH 8

struct writeback {
	uint64_t off[WRITEBACK_DEPTH], len[WRITEBACK_DEPTH];
	size_t n;
};

static int writeback_push(struct writeback *w, int dev, uint64_t off, uint64_t len)
{
	size_t slot = w->n % WRITEBACK_DEPTH;

	if (w->n >= WRITEBACK_DEPTH &&
	    sync_file_range(dev, (off64_t)w->off[slot], (off64_t)w->len[slot],
			    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				    SYNC_FILE_RANGE_WAIT_AFTER) < 0 &&
	    errno != ESPIPE && errno != EINVAL)
		return -errno;
	w->off[slot] = off;
	w->len[slot] = len;
	w->n++;
	/* Not every file can (a pipe, some character devices): then fsync does it all. */
	if (sync_file_range(dev, (off64_t)off, (off64_t)len, SYNC_FILE_RANGE_WRITE) < 0 &&
	    errno != ESPIPE && errno != EINVAL)
		return -errno;
	return 0;
}

/* Writes (unless verify_only) each range and fills the hashes the verification compares
 * with: the bmap's, checked against the image as it is read, or computed here. */
static int write_ranges(const struct flash_options *o, struct source *src, int dev, struct bmap *m,
			bool have_sums, bool write)
{
	_cleanup_free_ uint8_t *buf = xmalloc(CHUNK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct writeback wb = { .n = 0 };
	struct meter meter;
	int r = 0;

	if (!md)
		return log_errno(ENOMEM, "cannot hash");
	meter_begin(&meter, write ? "writing" : "reading the image",
		    m->mapped_blocks * m->block_size);
	for (size_t i = 0; i < m->n_ranges && r >= 0; i++) {
		struct bmap_range *rg = &m->ranges[i];
		uint64_t off, len;
		char hex[65];
		unsigned char d[32];
		unsigned dn = 0;

		bmap_range_bytes(m, rg, &off, &len);
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		while (len && r >= 0) {
			size_t k = len < CHUNK ? (size_t)len : CHUNK;

			r = source_read(src, off, buf, k);
			if (r < 0)
				break;
			EVP_DigestUpdate(md, buf, k);
			if (write && ((r = pwrite_all(dev, buf, k, off)) < 0 ||
				      (r = writeback_push(&wb, dev, off, k)) < 0)) {
				io_error(r, o->device, "write", off);
				break;
			}
			off += k;
			len -= k;
			meter_add(&meter, k);
		}
		if (r < 0)
			break;
		EVP_DigestFinal_ex(md, d, &dn);
		for (unsigned j = 0; j < dn; j++)
			sprintf(hex + 2 * j, "%02x", d[j]);
		if (have_sums && !streq(hex, rg->sha256))
			r = log_fail(
				"image '%s': blocks %" PRIu64 "-%" PRIu64 " do not match the "
				"bmap's checksum: the image or its bmap is damaged, or they do "
				"not belong together",
				o->image, rg->first, rg->last);
		else
			memcpy(rg->sha256, hex, 65);
	}
	if (r >= 0)
		meter_show(&meter, true);
	else if (meter.on && meter.tty)
		fputc('\n', stderr);
	EVP_MD_CTX_free(md);
	return r;
}

/* The read-back: ranges are claimed in order by one thread per CPU (up to 4), each reading
 * and hashing its own; hashing is what bounds it, and one range's hash is sequential. What
 * went wrong is said after they are done, for the first range it went wrong in. */
struct verify {
	const struct bmap *m;
	int dev;
	size_t next;
	bool failed; /* ranges past a failed one are not worth reading */
	struct meter *meter;
	pthread_mutex_t lock;
	int *err;          /* per range: 0, a negative errno, or 1: differs */
	uint64_t *err_off; /* where the read failed */
};

static int verify_one(struct verify *v, size_t i, uint8_t *buf, EVP_MD_CTX *md)
{
	const struct bmap_range *rg = &v->m->ranges[i];
	uint64_t off, len;
	unsigned char d[32];
	unsigned dn = 0;
	char hex[65];

	bmap_range_bytes(v->m, rg, &off, &len);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	while (len) {
		size_t k = len < CHUNK ? (size_t)len : CHUNK;
		int r = pread_all(v->dev, buf, k, off);

		if (r < 0) {
			v->err_off[i] = off;
			return r;
		}
		EVP_DigestUpdate(md, buf, k);
		off += k;
		len -= k;
		pthread_mutex_lock(&v->lock);
		meter_add(v->meter, k);
		pthread_mutex_unlock(&v->lock);
	}
	EVP_DigestFinal_ex(md, d, &dn);
	for (unsigned j = 0; j < dn; j++)
		sprintf(hex + 2 * j, "%02x", d[j]);
	return streq(hex, rg->sha256) ? 0 : 1;
}

static void *verify_worker(void *userdata)
{
	struct verify *v = userdata;
	_cleanup_free_ uint8_t *buf = xmalloc(CHUNK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	for (;;) {
		size_t i;
		bool stop;
		int e;

		pthread_mutex_lock(&v->lock);
		i = v->next++;
		stop = v->failed || i >= v->m->n_ranges;
		pthread_mutex_unlock(&v->lock);
		if (stop)
			break;
		e = md ? verify_one(v, i, buf, md) : -ENOMEM;
		pthread_mutex_lock(&v->lock);
		v->err[i] = e;
		v->failed |= e != 0;
		pthread_mutex_unlock(&v->lock);
	}
	EVP_MD_CTX_free(md);
	return NULL;
}

static int verify_ranges(const struct flash_options *o, int dev, const struct bmap *m)
{
	_cleanup_free_ int *err = xcalloc(m->n_ranges + 1, sizeof(*err));
	_cleanup_free_ uint64_t *err_off = xcalloc(m->n_ranges + 1, sizeof(*err_off));
	struct meter meter;
	struct verify v = { .m = m, .dev = dev, .meter = &meter, .err = err, .err_off = err_off };
	pthread_t threads[4];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = ncpu < 1 ? 1 : ncpu > 4 ? 4 : (size_t)ncpu, started = 0;
	int r = 0;

	/* Read the device, not what the page cache kept of the writes. */
	posix_fadvise(dev, 0, 0, POSIX_FADV_DONTNEED);
	pthread_mutex_init(&v.lock, NULL);
	meter_begin(&meter, "verifying", m->mapped_blocks * m->block_size);
	for (size_t i = 1; i < n; i++)
		if (pthread_create(&threads[started], NULL, verify_worker, &v) == 0)
			started++;
	verify_worker(&v);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&v.lock);
	for (size_t i = 0; i < m->n_ranges && r >= 0; i++) {
		const struct bmap_range *rg = &m->ranges[i];
		char a[32];

		if (err[i] < 0) {
			r = io_error(err[i], o->device, "read back", err_off[i]);
		} else if (err[i] > 0) {
			r = log_fail("verification failed: '%s' differs from the image in blocks "
				     "%" PRIu64 "-%" PRIu64 " (from %s): the device returns other "
				     "data than was written (a failing or fake-capacity device?)",
				     o->device, rg->first, rg->last,
				     format_bytes(a, rg->first * m->block_size));
		}
	}
	if (r >= 0)
		meter_show(&meter, true);
	else if (meter.on && meter.tty)
		fputc('\n', stderr);
	return r;
}

/* A compressed image is decompressed once before anything is written: a truncated or
 * damaged stream is refused then, not halfway through the device; and its size is known.
 * The stream is then opened again for the writing. */
static int stream_size(struct source *s, uint64_t *ret)
{
	_cleanup_free_ uint8_t *buf = xmalloc(CHUNK);
	uint64_t size = 0;
	ssize_t k;

	log_info("checking the %s stream of '%s'",
		 compress_type_to_string(decompressor_type(s->dec)), s->path);
	while ((k = decompressor_read(s->dec, buf, CHUNK)) > 0)
		size += (uint64_t)k;
	if (k < 0)
		return (int)k;
	if (lseek(s->fd, 0, SEEK_SET) < 0)
		return log_errno(errno, "cannot read image '%s'", s->path);
	decompressor_free(s->dec);
	s->dec = NULL;
	if ((k = decompressor_new(s->fd, s->path, &s->dec)) < 0)
		return (int)k;
	*ret = size;
	return 0;
}

/* Without a bmap, all of a compressed image is written. */
static struct bmap *whole_map(uint64_t size)
{
	struct bmap *m = xcalloc(1, sizeof(*m));

	m->image_size = size;
	m->block_size = BMAP_BLOCK_SIZE;
	if (size) {
		m->ranges = xcalloc(1, sizeof(*m->ranges));
		m->n_ranges = 1;
		m->ranges[0].last = (size - 1) / BMAP_BLOCK_SIZE;
		m->mapped_blocks = m->ranges[0].last + 1;
	}
	return m;
}

/* Whether a LUKS header's data segment follows the size of its partition: always for
 * LUKS1; for LUKS2 when the JSON metadata's first segment has "size": "dynamic". 1 yes,
 * 0 no, -errno when the header cannot be read. */
static int luks_segment_dynamic(int fd, uint64_t offset)
{
	uint8_t hdr[16];
	uint64_t hdr_size = 0;
	_cleanup_free_ char *json = NULL;
	const char *seg, *size;
	int r;

	if ((r = pread_all(fd, hdr, sizeof(hdr), offset)) < 0)
		return r;
	if (hdr[6] != 0 || hdr[7] != 2)
		return 1; /* LUKS1: the payload runs to the end of the device */
	for (int i = 8; i < 16; i++)
		hdr_size = hdr_size << 8 | hdr[i];
	if (hdr_size <= 4096 || hdr_size > (4u << 20))
		return -EINVAL;
	json = xmalloc(hdr_size - 4096 + 1);
	if ((r = pread_all(fd, json, hdr_size - 4096, offset + 4096)) < 0)
		return r;
	json[hdr_size - 4096] = 0;
	/* {"keyslots":{...},"tokens":{},"segments":{"0":{"type":"crypt","offset":"16777216",
	 *  "size":"dynamic",...}},...}: the first "size" after "segments". */
	seg = strstr(json, "\"segments\"");
	size = seg ? strstr(seg, "\"size\"") : NULL;
	if (!size)
		return -EINVAL;
	size += strlen("\"size\"");
	while (*size == ' ' || *size == ':')
		size++;
	return startswith(size, "\"dynamic\"");
}

/* resize2fs on target (a device with ?offset=, or the plaintext file of an encrypted
 * volume run through run_in_volume) to size bytes. */
static int resize(char *target, uint64_t size, const struct cryptfile_volume *vol)
{
	_cleanup_free_ char *k = xasprintf("%" PRIu64 "K", size / 1024), *out = NULL;
	char *argv[] = { "resize2fs", target, k, NULL };
	int r;

	log_debug("running resize2fs %s %s", target, k);
	r = vol ? cryptfile_run(vol, argv, &out) : spawn_capture(argv, &out);
	if (r != 0) {
		log_error("--grow: resize2fs %s %s failed%s%s", target, k,
			  r < 0 ? ": " : "; it said:\n",
			  r < 0 ? strerror(-r) :
			  out   ? out :
				  "");
		return r < 0 ? r : -EIO;
	}
	return 0;
}

/* An encrypted last partition: the partition has grown; its LUKS2 data segment follows when
 * it is dynamic (checked here); the filesystem inside grows once unlocked with the
 * passphrase (--passphrase-file, or asked on the terminal): resize2fs runs on its plaintext,
 * which lib/cryptfile serves as a file (no device-mapper). */
static int grow_luks(const struct flash_options *o, int fd, const struct partgrow *g)
{
	_cleanup_(luks_result_freep) struct luks_result *v = NULL;
	_cleanup_(cryptio_cipher_freep) struct cryptio_cipher *c = NULL;
	_cleanup_(secret_freep) struct secret *asked = NULL;
	_cleanup_close_ int rw = -1;
	_cleanup_free_ uint8_t *sb = NULL;
	const struct secret *key = o->passphrase;
	struct cryptfile_volume vol;
	char a[32];
	int r = luks_segment_dynamic(fd, g->offset);

	if (r < 0)
		return log_errno(r, "--grow: cannot read the LUKS header of partition %u of '%s'",
				 g->number, o->device);
	if (r == 0) {
		log_warn("--grow: partition %u is encrypted and its LUKS2 data segment has a fixed "
			 "size: unlock it, then 'cryptsetup resize NAME' and 'resize2fs "
			 "/dev/mapper/NAME'",
			 g->number);
		return 0;
	}
	if (!key) {
		_cleanup_free_ char *prompt = NULL;

		if (!isatty(STDIN_FILENO))
			return log_fail("--grow: partition %u is encrypted: its filesystem was not "
					"grown (the partition was); give its passphrase with "
					"--passphrase-file FILE, or run flash on a terminal",
					g->number);
		prompt = xasprintf("Passphrase of partition %u of %s: ", g->number, o->device);
		if ((r = secret_prompt(prompt, false, &asked)) < 0)
			return r;
		key = asked;
	}
	rw = open(o->device, O_RDWR | O_CLOEXEC);
	if (rw < 0)
		return log_errno(errno, "cannot open device '%s'", o->device);
	r = luks_unlock(rw, g->offset, g->new_size, key, &v);
	if (r == -EPERM)
		return log_fail("--grow: cannot unlock partition %u of '%s': %s opens none of its "
				"key slots; its filesystem was not grown (the partition was)",
				g->number, o->device,
				o->passphrase_file ? "the --passphrase-file" : "that passphrase");
	if (r < 0)
		return r;
	r = cryptio_cipher_new(v->cipher, v->volume_key->data, v->volume_key->len, v->sector_size,
			       &c);
	if (r < 0)
		return r;
	vol = (struct cryptfile_volume){ .fd = rw,
					 .offset = g->offset + v->data_offset,
					 .size = (g->new_size - v->data_offset) / v->sector_size *
						 v->sector_size,
					 .cipher = c };
	/* ext2/3/4 inside? (the magic of the superblock at 1024) */
	sb = xmalloc(v->sector_size < 4096 ? 4096 : v->sector_size);
	if ((r = pread_all(rw, sb, 4096, vol.offset)) < 0 ||
	    (r = cryptio_decrypt(c, sb, 4096, 0)) < 0)
		return io_error(r, o->device, "read", vol.offset);
	if (sb[1024 + 56] != 0x53 || sb[1024 + 57] != 0xef) {
		log_warn("--grow: the encrypted partition %u holds no ext2/3/4 filesystem: only "
			 "the partition grew",
			 g->number);
		return 0;
	}
	if ((r = resize(CRYPTFILE_PATH, vol.size, &vol)) < 0)
		return r;
	log_info("grown the filesystem inside the %s volume of partition %u to %s",
		 luks_format_to_string(v->format), g->number, format_bytes(a, vol.size));
	return 0;
}

/* --grow: the last partition to the end of the device, then its ext2/3/4 filesystem
 * (resize2fs at the partition's offset on the device). */
static int grow_last(const struct flash_options *o)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *target = NULL;
	struct partgrow g;
	uint8_t magic[6], ext[2];
	char a[32], b[32];
	int r;

	r = partgrow_last(o->device, &g);
	if (r < 0)
		return r;
	if (g.new_size > g.old_size)
		log_info("grown partition %u from %s to %s", g.number, format_bytes(a, g.old_size),
			 format_bytes(b, g.new_size));
	else
		log_info("partition %u already reaches the end of '%s'", g.number, o->device);
	fd = open(o->device, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_errno(errno, "cannot open device '%s'", o->device);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if ((r = pread_all(fd, magic, sizeof(magic), g.offset)) < 0 ||
	    (r = pread_all(fd, ext, sizeof(ext), g.offset + 1024 + 56)) < 0)
		return io_error(r, o->device, "read", g.offset);
	if (!memcmp(magic, "LUKS\xba\xbe", 6))
		return grow_luks(o, fd, &g);
	if (ext[0] != 0x53 || ext[1] != 0xef) {
		log_warn("--grow: partition %u holds no ext2/3/4 filesystem: only the partition "
			 "grew",
			 g.number);
		return 0;
	}
	/* libext2fs's unix I/O takes the offset from the name: resize2fs then works on the
	 * partition without a partition device (which a loop device or a container may not
	 * have). The size is given: resize2fs would take the whole device's. */
	target = xasprintf("%s?offset=%" PRIu64, o->device, g.offset);
	if ((r = resize(target, g.new_size, NULL)) < 0)
		return r;
	log_info("grown the filesystem of partition %u to %s", g.number,
		 format_bytes(a, g.new_size));
	return 0;
}

static int confirm(const struct flash_options *o, const char *desc)
{
	char answer[16] = "";

	if (o->yes)
		return 0;
	if (!isatty(STDIN_FILENO))
		return log_fail("not asking on a non-terminal: give --yes to write to '%s' (%s)",
				o->device, desc);
	fprintf(stderr, "Everything on %s (%s) will be lost. Type 'yes' to write: ", o->device,
		desc);
	fflush(stderr);
	if (!fgets(answer, sizeof(answer), stdin) || strcmp(answer, "yes\n") != 0)
		return log_fail("not confirmed: nothing was written");
	return 0;
}

/* Which permission is missing to open the device. */
static int open_denied(const char *dev, const struct stat *st)
{
	struct group *g = getgrgid(st->st_gid);
	const char *name = g ? g->gr_name : "?";

	if ((st->st_mode & 060) != 060 || st->st_gid == 0)
		return log_fail("permission denied opening '%s' (mode %04o, group '%s'): only "
				"root may write to it; run flash as root (sudo)",
				dev, st->st_mode & 07777, name);
	return log_fail("permission denied opening '%s' (mode %04o, group '%s'): run flash as "
			"root, or as a member of the group '%s'",
			dev, st->st_mode & 07777, name, name);
}

static int parse_args(int argc, char **argv, struct flash_options *o)
{
	const struct cli_command *cmd = cli_command_find("flash");
	_cleanup_free_ struct option *longopts = NULL;
	_cleanup_free_ char *shortopts = NULL;
	enum log_level level = LOG_INFO;
	int c, r;

	optind = 1;
	cli_getopt(cmd, &longopts, &shortopts);
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case CLI_BMAP:
			o->bmap = optarg;
			break;
		case CLI_FORCE:
			o->force = true;
			break;
		case 'y':
			o->yes = true;
			break;
		case CLI_VERIFY_ONLY:
			o->verify_only = true;
			break;
		case CLI_NO_VERIFY:
			o->no_verify = true;
			break;
		case CLI_GROW:
			o->grow = true;
			break;
		case CLI_PASSPHRASE_FILE:
			o->passphrase_file = optarg;
			break;
		default:
			r = cli_common(c, cmd, &level);
			if (r < 0)
				return -1;
			if (r > 0)
				break;
			fprintf(stderr, "Try 'mkbootmedia flash --help'.\n");
			return 2;
		}
	}
	log_set_level(level);
	if (argc - optind != 2) {
		log_error("flash takes an image and a device (usage: mkbootmedia flash IMAGE "
			  "/dev/sdX)");
		return 2;
	}
	if (o->verify_only && o->grow) {
		log_error("--verify-only writes nothing: it cannot --grow");
		return 2;
	}
	if (o->passphrase_file && !o->grow) {
		log_error("--passphrase-file unlocks an encrypted partition for --grow: give "
			  "--grow too");
		return 2;
	}
	if (o->verify_only && o->no_verify) {
		log_error("--verify-only and --no-verify leave nothing to do");
		return 2;
	}
	o->image = argv[optind];
	o->device = argv[optind + 1];
	return 0;
}

static int flash_run(const struct flash_options *o)
{
	_cleanup_(bmap_freep) struct bmap *m = NULL;
	_cleanup_(blockdev_freep) struct blockdev *bd = NULL;
	_cleanup_free_ char *bmap_path = NULL, *desc = NULL;
	_cleanup_close_ int img = -1, dev = -1;
	struct source src = { .path = o->image, .fd = -1 };
	struct stat ist, dst;
	uint64_t dev_size = 0;
	bool have_sums = false;
	char a[32], b[32];
	int r;

	/* The image and its map first: bad input is found before the device is touched. */
	img = open_regular(o->image, O_RDONLY | O_CLOEXEC, &ist);
	if (img < 0)
		return log_errno(img, "cannot open image '%s'", o->image);
	src.fd = img;
	r = decompressor_new(img, o->image, &src.dec);
	if (r < 0)
		return r;
	if (decompressor_type(src.dec) == COMPRESS_NONE) {
		decompressor_free(src.dec);
		src.dec = NULL;
	}
	src.skip = xmalloc(CHUNK);
	bmap_path = o->bmap ? xstrdup(o->bmap) : find_bmap(o->image);
	if (bmap_path) {
		r = bmap_load(bmap_path, &m);
		if (r < 0)
			goto out;
		have_sums = true;
		if (!src.dec && (uint64_t)ist.st_size != m->image_size) {
			r = log_fail("image '%s' has %" PRIu64 " bytes, its bmap '%s' says %" PRIu64
				     ": they do not belong together",
				     o->image, (uint64_t)ist.st_size, bmap_path, m->image_size);
			goto out;
		}
		log_info("using the bmap '%s'", bmap_path);
	} else if (!src.dec) {
		r = bmap_from_file(img, (uint64_t)ist.st_size, &m);
		if (r < 0) {
			log_errno(r, "cannot find the data extents of '%s'", o->image);
			goto out;
		}
	}
	if (src.dec && (!o->verify_only || !m)) {
		uint64_t size = 0;

		if ((r = stream_size(&src, &size)) < 0)
			goto out;
		if (!m) {
			log_info("no bmap for '%s': all of its %s is %s", o->image,
				 format_bytes(a, size), o->verify_only ? "checked" : "written");
			m = whole_map(size);
		} else if (size != m->image_size) {
			r = log_fail("image '%s' holds %" PRIu64
				     " bytes, its bmap '%s' says %" PRIu64
				     ": they do not belong together",
				     o->image, size, bmap_path, m->image_size);
			goto out;
		}
	}

	/* The device. */
	if (stat(o->device, &dst) < 0) {
		r = log_errno(errno, "cannot open device '%s'", o->device);
		goto out;
	}
	if (!S_ISBLK(dst.st_mode)) {
		r = log_fail("'%s' is not a block device: flash writes to a whole disk such as "
			     "/dev/sdb ('lsblk' lists them)",
			     o->device);
		goto out;
	}
	r = blockdev_get("/sys", "/proc/self/mountinfo", dst.st_rdev, &bd);
	if (r < 0) {
		log_errno(r, "'%s': no such device in /sys", o->device);
		goto out;
	}
	if (bd->disk) {
		r = log_fail("'%s' is a partition of %s: flash writes whole disks (give /dev/%s)",
			     o->device, bd->disk, bd->disk);
		goto out;
	}
	desc = xasprintf("%s%s%s%s%s, %s", bd->vendor ? bd->vendor : "",
			 bd->vendor && bd->model ? " " : "", bd->model ? bd->model : "",
			 bd->vendor || bd->model ? ", " : "", bd->name, format_bytes(a, bd->size));
	if (!o->verify_only && !bd->removable && !bd->usb && !o->force) {
		r = log_fail("'%s' (%s) is neither removable nor on USB: it may be a system disk; "
			     "give --force if it really is the one to overwrite",
			     o->device, desc);
		goto out;
	}
	if (!o->verify_only && bd->in_use) {
		r = log_fail("'%s' is in use: %s; unmount or close it first", o->device,
			     bd->in_use);
		goto out;
	}
	dev = open(o->device, (o->verify_only ? O_RDONLY : O_RDWR | O_EXCL) | O_CLOEXEC);
	if (dev < 0) {
		if (errno == EACCES || errno == EPERM)
			r = open_denied(o->device, &dst);
		else if (errno == EBUSY)
			r = log_fail("'%s' is in use (mounted, or held by another program): "
				     "unmount or close it first",
				     o->device);
		else
			r = log_errno(errno, "cannot open device '%s'", o->device);
		goto out;
	}
	if (ioctl(dev, BLKGETSIZE64, &dev_size) < 0) {
		r = log_errno(errno, "cannot read the size of '%s'", o->device);
		goto out;
	}
	if (dev_size < m->image_size) {
		r = log_fail("'%s' (%s) is smaller than the image (%s)", o->device,
			     format_bytes(a, dev_size), format_bytes(b, m->image_size));
		goto out;
	}
	log_info("%s '%s' (%s, %s mapped) %s %s: %s", o->verify_only ? "checking" : "writing",
		 o->image, format_bytes(a, m->image_size),
		 format_bytes(b, m->mapped_blocks * m->block_size),
		 o->verify_only ? "against" : "to", o->device, desc);
	if (!o->verify_only) {
		if ((r = confirm(o, desc)) < 0)
			goto out;
		r = write_ranges(o, &src, dev, m, have_sums, true);
		if (r < 0)
			goto out;
		if (fsync(dev) < 0) {
			r = io_error(-errno, o->device, "flush", UINT64_MAX);
			goto out;
		}
	} else if (!have_sums) {
		/* The sums come from the image itself. */
		r = write_ranges(o, &src, dev, m, false, false);
		if (r < 0)
			goto out;
	}
	if (!o->no_verify) {
		r = verify_ranges(o, dev, m);
		if (r < 0)
			goto out;
		log_info("'%s' holds the image: every range's SHA-256 checked", o->device);
	} else {
		log_info("'%s' written (not verified: --no-verify)", o->device);
	}
	if (o->grow) {
		/* resize2fs opens the device itself. */
		close(TAKE_FD(dev));
		r = grow_last(o);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	decompressor_free(src.dec);
	free(src.skip);
	return r;
}

int flash_main(int argc, char **argv)
{
	struct flash_options o = { 0 };
	int r;

	log_set_scope("flash");
	r = parse_args(argc, argv, &o);
	if (r != 0)
		return r < 0 ? 0 : r;
	if (o.passphrase_file && secret_from_file(o.passphrase_file, true, &o.passphrase) < 0)
		return 1;
	r = flash_run(&o);
	secret_free(o.passphrase);
	return r < 0 ? 1 : 0;
}
