/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a recording (record/format.h) block by block. Nothing in the file is trusted:
 * every length is checked against what is there, every block against its CRC, and what is
 * wrong is one sentence that says at which offset. A file that ends before its END block
 * was cut short (kill -9, a full disk): its whole blocks are read, and it says so.
 */
#ifndef MEMSTUDY_RECORD_READER_H
#define MEMSTUDY_RECORD_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rec_block {
	uint32_t type;
	uint64_t offset; /* of its header in the file */
	const void *data;
	uint32_t len; /* raw */
};

struct recording {
	const uint8_t *data;
	size_t size;
	bool mapped;
	size_t at;	 /* the next block's offset */
	bool ended;	 /* the END block was read */
	bool cut;	 /* the file ends before END: cut_at is where its last whole block ends */
	uint64_t cut_at; /* (and why says so) */
	uint64_t blocks;
	char why[256]; /* what is wrong, or how it was cut short */
	void *dctx;
	uint8_t *raw;
	size_t raw_cap;
};

/* The fuzzer's: blocks are not checked against their CRC, so that its mutations reach
 * the records inside them. */
extern bool recording_skip_crc;

/* 0, or -1 with R->why ("not a memstudy recording", "version 7, this memstudy reads 1"...);
 * recording__close in both cases. */
int recording__open(struct recording *r, const char *path);
/* The same over LEN bytes at DATA, which must outlive R (tests, the fuzzer). */
int recording__open_mem(struct recording *r, const void *data, size_t len);
/* The next block into B (its data valid until the next call): 1; 0 at the end (R->cut
 * when it was cut short); -1 when the file is corrupt there (R->why). */
int recording__next(struct recording *r, struct rec_block *b);
void recording__close(struct recording *r);

/* An EVENTS block's next entry from *AT: true with *REC and *LEN (at least 8 bytes, its
 * first u32 the record's type); false at the block's end, or with *BAD when an entry runs
 * past it. */
bool rec_events__next(const struct rec_block *b, size_t *at, const void **rec, uint32_t *len,
		      bool *bad);

#endif
