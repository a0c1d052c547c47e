// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <zlib.h>
#include <zstd.h>

#include "record/format.h"
#include "record/reader.h"

bool recording_skip_crc;

static int bad(struct recording *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct recording *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return -1;
}

int recording__open_mem(struct recording *r, const void *data, size_t len)
{
	struct rec_file_header h;

	memset(r, 0, sizeof(*r));
	r->data = data;
	r->size = len;
	if (len < sizeof(h) || memcmp(data, REC_MAGIC, sizeof(h.magic)))
		return bad(r, "not a memstudy recording (no \"%s\" at offset 0)", REC_MAGIC);
	memcpy(&h, data, sizeof(h));
	if (h.version != REC_VERSION)
		return bad(r, "recording format version %u; this memstudy reads version %u",
			   h.version, REC_VERSION);
	if (h.header_size < sizeof(h) || h.header_size > len)
		return bad(r, "bad header size %u at offset 12", h.header_size);
	r->at = h.header_size;
	r->dctx = ZSTD_createDCtx();
	if (!r->dctx)
		return bad(r, "%s", strerror(ENOMEM));
	return 0;
}

int recording__open(struct recording *r, const char *path)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return bad(r, "%s", strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return bad(r, "%s", errno ? strerror(errno) : "not a regular file");
	}
	if (!st.st_size) {
		close(fd);
		return bad(r, "empty file: not a memstudy recording");
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return bad(r, "%s", strerror(errno));
	ret = recording__open_mem(r, p, st.st_size);
	r->mapped = true;
	return ret;
}

/* The buffer every block is read into (8-byte aligned, as malloc's). */
static int raw_reserve(struct recording *r, size_t n)
{
	uint8_t *p;

	if (n <= r->raw_cap)
		return 0;
	p = realloc(r->raw, n);
	if (!p)
		return -1;
	r->raw = p;
	r->raw_cap = n;
	return 0;
}

/* The times of an EVENTS block's kernel records back from their deltas (format.h). Entries
 * that run past the block are left for rec_events__next to report. */
static void undelta(uint8_t *p, size_t len)
{
	uint64_t prev = 0;
	size_t at = 0;

	while (len - at >= REC_ENTRY_HDR) {
		uint32_t n;

		memcpy(&n, p + at, sizeof(n));
		if (n < 8 || n > REC_BLOCK_MAX || len - at - REC_ENTRY_HDR < rec_entry_padded(n))
			return;
		rec_ts_undelta(p + at + REC_ENTRY_HDR, n, &prev);
		at += REC_ENTRY_HDR + rec_entry_padded(n);
	}
}

static int cut_short(struct recording *r, const char *how)
{
	r->cut = true;
	r->cut_at = r->at;
	snprintf(r->why, sizeof(r->why),
		 "the recording was cut short: %s at offset %llu, so it ends with its last whole "
		 "block at offset %llu (memstudy record was killed, or the disk filled)",
		 how, (unsigned long long)r->at, (unsigned long long)r->at);
	return 0;
}

int recording__next(struct recording *r, struct rec_block *b)
{
	struct rec_block_header h;
	const uint8_t *stored;

	if (r->ended || r->cut)
		return 0;
	if (r->at == r->size)
		return cut_short(r, "no END block");
	if (r->size - r->at < sizeof(h))
		return cut_short(r, "a partial block header");
	memcpy(&h, r->data + r->at, sizeof(h));
	if (h.magic != REC_BLOCK_MAGIC)
		return bad(r, "corrupt recording: no block at offset %llu",
			   (unsigned long long)r->at);
	if (!h.type || h.type >= REC_BLOCK_TYPES)
		return bad(r, "corrupt recording: unknown block type %u at offset %llu", h.type,
			   (unsigned long long)r->at);
	if (h.stored_len > REC_BLOCK_MAX || h.raw_len > REC_BLOCK_MAX || h.codec > REC_ZSTD ||
	    (h.codec == REC_RAW && h.stored_len != h.raw_len))
		return bad(r, "corrupt recording: block at offset %llu has impossible sizes",
			   (unsigned long long)r->at);
	if (r->size - r->at - sizeof(h) < h.stored_len)
		return cut_short(r, "a partial block");
	stored = r->data + r->at + sizeof(h);
	if (!recording_skip_crc && crc32(0, stored, h.stored_len) != h.crc)
		return bad(r, "corrupt recording: block at offset %llu fails its CRC",
			   (unsigned long long)r->at);
	b->type = h.type;
	b->offset = r->at;
	b->len = h.raw_len;
	if (h.codec == REC_ZSTD) {
		size_t got;

		if (raw_reserve(r, h.raw_len))
			return bad(r, "%s", strerror(ENOMEM));
		got = ZSTD_decompressDCtx(r->dctx, r->raw, h.raw_len, stored, h.stored_len);
		if (ZSTD_isError(got) || got != h.raw_len)
			return bad(r, "corrupt recording: block at offset %llu does not decompress",
				   (unsigned long long)r->at);
	} else if (h.raw_len) { /* copied: the records in it are read as aligned structs */
		if (raw_reserve(r, h.raw_len))
			return bad(r, "%s", strerror(ENOMEM));
		memcpy(r->raw, stored, h.raw_len);
	}
	b->data = r->raw;
	if (h.type == REC_EVENTS)
		undelta(r->raw, h.raw_len);
	r->at += sizeof(h) + h.stored_len;
	r->blocks++;
	if (h.type == REC_END)
		r->ended = true;
	return 1;
}

void recording__close(struct recording *r)
{
	if (r->mapped && r->data)
		munmap((void *)r->data, r->size);
	ZSTD_freeDCtx(r->dctx);
	free(r->raw);
	r->data = NULL;
	r->dctx = NULL;
	r->raw = NULL;
}

bool rec_events__next(const struct rec_block *b, size_t *at, const void **rec, uint32_t *len,
		      bool *bad)
{
	const uint8_t *p = b->data;
	uint32_t n;

	*bad = false;
	if (*at >= b->len)
		return false;
	if (b->len - *at < REC_ENTRY_HDR) {
		*bad = true;
		return false;
	}
	memcpy(&n, p + *at, sizeof(n));
	if (n < 8 || n > REC_BLOCK_MAX || b->len - *at - REC_ENTRY_HDR < rec_entry_padded(n)) {
		*bad = true;
		return false;
	}
	*rec = p + *at + REC_ENTRY_HDR;
	*len = n;
	*at += REC_ENTRY_HDR + rec_entry_padded(n);
	return true;
}
