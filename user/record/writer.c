// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "lib/outfile.h"
#include "lib/util.h"
#include "record/format.h"
#include "record/writer.h"

/* An EVENTS block's raw size: big enough for zstd to find the repeats between records,
 * small enough that a cut-short recording loses little. */
#define EVENTS_BLOCK (1u << 20)
/* Level 1: ~400 MB/s on these machines, so that compressing never holds the collector up. */
#define ZSTD_LEVEL 1

struct recorder {
	FILE *f;
	char *path;
	ZSTD_CCtx *zc;
	uint8_t *buf; /* EVENTS entries not written yet */
	size_t used;
	uint8_t *out; /* one compressed block */
	size_t out_cap;
	uint64_t entries, bytes;
	uint64_t prev_ts; /* the block's last kernel record's time: each is stored as a delta */
	bool failed;
};

static int fail(struct recorder *r, const char *what)
{
	if (!r->failed)
		ms_err("cannot write the recording %s (%s): %s; it ends at %llu bytes, which "
		       "memstudy report reads",
		       r->path, what, strerror(errno ? errno : EIO), (unsigned long long)r->bytes);
	r->failed = true;
	return -1;
}

static int put(struct recorder *r, const void *p, size_t n)
{
	if (!n)
		return 0; /* an empty block's payload: nothing to write */
	errno = 0;
	if (fwrite(p, 1, n, r->f) != n)
		return fail(r, "write");
	r->bytes += n;
	return 0;
}

struct recorder *recorder__create(const char *path)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct rec_file_header h = {.version = REC_VERSION, .header_size = sizeof(h)};

	if (!r)
		return NULL;
	r->path = xstrdup(path);
	r->zc = ZSTD_createCCtx();
	r->buf = malloc(EVENTS_BLOCK);
	r->out_cap = ZSTD_compressBound(EVENTS_BLOCK);
	r->out = malloc(r->out_cap);
	if (!r->zc || !r->buf || !r->out) {
		ms_err("cannot set up the recording: %s", strerror(ENOMEM));
		goto err;
	}
	r->f = out_open(path);
	if (!r->f)
		goto err;
	memcpy(h.magic, REC_MAGIC, sizeof(h.magic));
	if (put(r, &h, sizeof(h)))
		goto err;
	return r;
err:
	if (r->f)
		fclose(r->f);
	ZSTD_freeCCtx(r->zc);
	free(r->buf);
	free(r->out);
	free(r->path);
	free(r);
	return NULL;
}

int recorder__block(struct recorder *r, uint32_t type, const void *data, size_t len)
{
	struct rec_block_header h = {.magic = REC_BLOCK_MAGIC, .type = type, .raw_len = len};
	const void *stored = data;
	size_t n = len, cap = ZSTD_compressBound(len);

	if (r->failed)
		return -1;
	if (len > REC_BLOCK_MAX) {
		errno = EFBIG;
		return fail(r, "a block too big");
	}
	if (cap > r->out_cap) {
		r->out = xrealloc(r->out, cap);
		r->out_cap = cap;
	}
	if (len) {
		size_t z = ZSTD_compressCCtx(r->zc, r->out, r->out_cap, data, len, ZSTD_LEVEL);

		if (!ZSTD_isError(z) && z < len) {
			stored = r->out;
			n = z;
			h.codec = REC_ZSTD;
		}
	}
	h.stored_len = n;
	h.crc = crc32(0, stored, n);
	if (put(r, &h, sizeof(h)) || put(r, stored, n))
		return -1;
	/* a block is whole on disk, or the reader stops before it */
	if (fflush(r->f))
		return fail(r, "flush");
	return 0;
}

int recorder__flush(struct recorder *r)
{
	int ret;

	if (!r->used)
		return r->failed ? -1 : 0;
	ret = recorder__block(r, REC_EVENTS, r->buf, r->used);
	r->used = 0;
	r->prev_ts = 0; /* each block is read on its own */
	return ret;
}

int recorder__entry(struct recorder *r, const void *head, size_t hlen, const void *body,
		    size_t blen)
{
	uint32_t len = hlen + blen, hdr[2] = {len, 0};
	size_t whole = REC_ENTRY_HDR + rec_entry_padded(len);
	uint8_t *p;

	if (r->failed)
		return -1;
	if (whole > EVENTS_BLOCK) {
		errno = EFBIG;
		return fail(r, "a record too big");
	}
	if (r->used + whole > EVENTS_BLOCK && recorder__flush(r))
		return -1;
	p = r->buf + r->used;
	memcpy(p, hdr, REC_ENTRY_HDR);
	memcpy(p + REC_ENTRY_HDR, head, hlen);
	if (blen)
		memcpy(p + REC_ENTRY_HDR + hlen, body, blen);
	memset(p + REC_ENTRY_HDR + len, 0, whole - REC_ENTRY_HDR - len);
	rec_ts_delta(p + REC_ENTRY_HDR, len, &r->prev_ts);
	r->used += whole;
	r->entries++;
	return 0;
}

uint64_t recorder__entries(const struct recorder *r)
{
	return r->entries;
}

uint64_t recorder__bytes(const struct recorder *r)
{
	return r->bytes;
}

bool recorder__failed(const struct recorder *r)
{
	return r->failed;
}

int recorder__close(struct recorder *r)
{
	int ret = 0;

	if (!r)
		return 0;
	if (recorder__flush(r) || recorder__block(r, REC_END, NULL, 0))
		ret = -1;
	if (out_close(r->f, r->path))
		ret = -1;
	ZSTD_freeCCtx(r->zc);
	free(r->buf);
	free(r->out);
	free(r->path);
	free(r);
	return ret;
}
