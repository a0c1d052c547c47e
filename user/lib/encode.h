/* SPDX-License-Identifier: GPL-2.0 */
/* gzip and base64, streamed: pprof's gzipped profile, the HTML pages' data and figures. */
#ifndef MEMSTUDY_LIB_ENCODE_H
#define MEMSTUDY_LIB_ENCODE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Where encoded bytes go: PUT(CTX, bytes, n). */
typedef void (*encode_put)(void *ctx, const void *d, size_t n);

/* IN's LEN bytes gzipped (RFC 1952), in pieces to PUT. 0, or -1 when zlib failed. */
int gzip_stream(const void *in, size_t len, encode_put put, void *ctx);

/* A base64 (RFC 4648) encoder into OUT, fed in pieces by base64_put, ended by base64_end. */
struct base64 {
	FILE *out;
	uint8_t carry[3];
	int ncarry;
};
void base64_put(void *b64, const void *d, size_t n);
void base64_end(struct base64 *b);
/* fwrite as an encode_put: CTX is the FILE. */
void encode_put_file(void *file, const void *d, size_t n);

#endif
