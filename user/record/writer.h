/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Writing a recording (record/format.h): blocks compressed one by one and written as they
 * fill, so that what was recorded before a kill -9 stays readable. A failed write (a full
 * disk) is kept, said once, and ends the writing: the trace goes on, the file says where
 * it stops.
 */
#ifndef MEMSTUDY_RECORD_WRITER_H
#define MEMSTUDY_RECORD_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct recorder;

/* PATH as an output file no other user can redirect (lib/outfile.h); NULL after saying why. */
struct recorder *recorder__create(const char *path);
/* A whole block of TYPE (its LEN bytes). 0, or -1 once writing has failed. */
int recorder__block(struct recorder *r, uint32_t type, const void *data, size_t len);
/* One EVENTS entry, HEAD then BODY (BODY may be NULL): buffered, written when the buffer
 * fills or at recorder__flush. */
int recorder__entry(struct recorder *r, const void *head, size_t hlen, const void *body,
		    size_t blen);
/* Write the buffered entries now (at most every second while tracing). */
int recorder__flush(struct recorder *r);
/* Entries and bytes so far (the file's, compressed), and whether writing failed. */
uint64_t recorder__entries(const struct recorder *r);
uint64_t recorder__bytes(const struct recorder *r);
bool recorder__failed(const struct recorder *r);
/* The END block, then close. 0, or -1 when anything was not written (said). Frees R. */
int recorder__close(struct recorder *r);

#endif
