// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: memstudy report's reader. An input that starts as a recording is read
 * whole: its blocks, its records through the collectors, the per-allocation report and the
 * leaks made of them. Any other input is an EVENTS block's payload (the records), read
 * after the golden recording's META and TARGET, so that short inputs reach the collectors.
 * CRCs are not checked (mutations must reach the records) and no code file is opened (the
 * recorded paths are looked up under a directory that does not exist).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "analyse/peralloc.h"
#include "analyse/symbolize.h"
#include "lib/util.h"
#include "output/leaks.h"
#include "record/format.h"
#include "record/reader.h"
#include "record/replay.h"

static FILE *null;
static uint8_t *head; /* the golden recording up to its first EVENTS block */
static size_t head_len;

static void setup(void)
{
	FILE *f = fopen(MEMSTUDY_SOURCE_DIR "/tests/fuzz/data/golden-raw.rec", "re");
	struct rec_block_header h;
	long len;

	null = fopen("/dev/null", "we");
	symbolize__set_symfs("/nonexistent/memstudy-fuzz");
	recording_skip_crc = true;
	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET))
		abort();
	head = malloc(len);
	if (!head || fread(head, 1, len, f) != (size_t)len)
		abort();
	fclose(f);
	for (head_len = sizeof(struct rec_file_header); head_len + sizeof(h) <= (size_t)len;
	     head_len += sizeof(h) + h.stored_len) {
		memcpy(&h, head + head_len, sizeof(h));
		if (h.type == REC_EVENTS)
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct replay rp = {0};
	uint8_t *file = NULL;
	char err[512];

	if (!null)
		setup();
	if (size < 8 || memcmp(data, REC_MAGIC, 8)) { /* records: behind the golden head */
		struct rec_block_header h = {.magic = REC_BLOCK_MAGIC,
					     .type = REC_EVENTS,
					     .stored_len = size,
					     .raw_len = size,
					     .codec = REC_RAW};

		file = xrealloc(NULL, head_len + sizeof(h) + size);
		memcpy(file, head, head_len);
		memcpy(file + head_len, &h, sizeof(h));
		memcpy(file + head_len + sizeof(h), data, size);
		data = file;
		size += head_len + sizeof(h);
	}
	if (replay__load_mem(&rp, data, size, err, sizeof(err)) >= 0) {
		json_object_put(peralloc__json(rp.pa));
		json_object_put(leaks__json(rp.pa, NULL));
		leaks__print_text(rp.pa, NULL, null, 10, "at the end");
		peralloc__print_text(rp.pa, null, 10);
	}
	replay__free(&rp);
	free(file);
	return 0;
}
