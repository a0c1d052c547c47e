// SPDX-License-Identifier: GPL-2.0
#include <zlib.h>

#include "lib/encode.h"

int gzip_stream(const void *in, size_t len, encode_put put, void *ctx)
{
	z_stream z = {0};
	uint8_t buf[65536];
	int rc;

	/* 15 + 16: the gzip wrapper, not zlib's */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY))
		return -1;
	z.next_in = (Bytef *)in;
	z.avail_in = len;
	do {
		z.next_out = buf;
		z.avail_out = sizeof(buf);
		rc = deflate(&z, Z_FINISH);
		put(ctx, buf, sizeof(buf) - z.avail_out);
	} while (rc == Z_OK);
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

static const char b64_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Three bytes (N of them real) as four digits, '=' for the missing. */
static void b64_group(FILE *out, const uint8_t *g, int n)
{
	unsigned v = g[0] << 16 | (n > 1 ? g[1] << 8 : 0) | (n > 2 ? g[2] : 0);
	char d[4] = {b64_digits[v >> 18 & 63], b64_digits[v >> 12 & 63],
		     n > 1 ? b64_digits[v >> 6 & 63] : '=', n > 2 ? b64_digits[v & 63] : '='};

	fwrite(d, 1, 4, out);
}

void base64_put(void *ctx, const void *data, size_t n)
{
	struct base64 *b = ctx;
	const uint8_t *d = data;

	while (n) {
		b->carry[b->ncarry++] = *d++;
		n--;
		if (b->ncarry == 3) {
			b64_group(b->out, b->carry, 3);
			b->ncarry = 0;
		}
	}
}

void base64_end(struct base64 *b)
{
	if (b->ncarry)
		b64_group(b->out, b->carry, b->ncarry);
	b->ncarry = 0;
}

void encode_put_file(void *file, const void *d, size_t n)
{
	fwrite(d, 1, n, file);
}
