// SPDX-License-Identifier: GPL-2.0
/*
 * Recordings: the golden one (data/golden, made by its regen.sh) read back into the
 * report, leaks and folded stacks it printed when made; and bad files - cut short,
 * corrupt, foreign, of another version - each one sentence with its offset, never a crash.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cli/commands.h"
#include "lib/util.h"
#include "record/format.h"
#include "record/reader.h"
#include "record/replay.h"
#include "record/writer.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (!f)
		return NULL;
	do {
		if (n + 4096 > cap)
			buf = xrealloc(buf, cap = cap * 2 + 65536);
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
	static char p[128];

	if (!tmpdir[0]) {
		strcpy(tmpdir, "/tmp/unit-record.XXXXXX");
		if (!mkdtemp(tmpdir))
			abort();
	}
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	unlink(p);
	return p;
}

/* memstudy report ARGS... on the golden recording, its output FILE against EXPECTED. */
static void check_golden(const char *expected, const char *out_opt, const char *extra1,
			 const char *extra2)
{
	char rec[512], symfs[512], want_path[512], *argv[12], *want, *got;
	const char *out = tmp_path(expected);
	size_t want_len = 0, got_len = 0;
	int argc = 0;

	snprintf(rec, sizeof(rec), "%s/data/golden/golden.rec", unit_data_dir());
	snprintf(symfs, sizeof(symfs), "%s/data/golden/symfs", unit_data_dir());
	snprintf(want_path, sizeof(want_path), "%s/data/golden/%s", unit_data_dir(), expected);
	argv[argc++] = "report";
	argv[argc++] = "--symfs";
	argv[argc++] = symfs;
	if (extra1)
		argv[argc++] = (char *)extra1;
	if (extra2)
		argv[argc++] = (char *)extra2;
	argv[argc++] = (char *)out_opt;
	argv[argc++] = (char *)out;
	if (strcmp(out_opt, "-o")) { /* the JSON or the folded file: no text report */
		argv[argc++] = "-o";
		argv[argc++] = "/dev/null";
	}
	argv[argc++] = rec;
	argv[argc] = NULL;
	CHECK_U64(cmd_report(argc, argv), 0);
	want = slurp(want_path, &want_len);
	got = slurp(out, &got_len);
	CHECK(want && got);
	if (want && got && (want_len != got_len || memcmp(want, got, want_len)))
		FAIL_AT("memstudy report's %s differs from data/golden/%s (regen.sh remakes it "
			"when the change is meant): got\n%s",
			out, expected, got);
	free(want);
	free(got);
}

TEST(golden_report_text)
{
	check_golden("report.txt", "-o", NULL, NULL);
}

TEST(golden_report_json)
{
	check_golden("report.json", "--json", NULL, NULL);
}

TEST(golden_leaks)
{
	check_golden("leaks.txt", "-o", "--leaks", NULL);
}

TEST(golden_folded)
{
	check_golden("folded.txt", "--folded", "--weight", "bytes");
}

TEST(golden_timeline)
{
	check_golden("timeline.csv", "--timeline", NULL, NULL);
}

TEST(golden_perfetto)
{
	check_golden("perfetto.json", "--perfetto", NULL, NULL);
}

TEST(golden_mtrace)
{
	check_golden("mtrace.log", "--mtrace", NULL, NULL);
}

TEST(golden_pprof)
{
	check_golden("pprof.pb.gz", "--pprof", NULL, NULL);
}

/* The golden recording's bytes, for the bad files made from it. */
static char *golden(size_t *len)
{
	char rec[512];

	snprintf(rec, sizeof(rec), "%s/data/golden/golden.rec", unit_data_dir());
	return slurp(rec, len);
}

static int load(const void *data, size_t len, char *err, size_t errlen, struct replay *rp)
{
	int rc = replay__load_mem(rp, data, len, err, errlen);

	return rc;
}

TEST(cut_short_reads_its_whole_blocks)
{
	size_t len;
	char *g = golden(&len), err[512];
	struct replay rp = {0};
	struct rec_block_header h;
	size_t at = sizeof(struct rec_file_header), last_events_end = 0;

	CHECK(g != NULL);
	if (!g)
		return;
	/* the end of the last EVENTS block: what a kill -9 after it leaves */
	while (at + sizeof(h) <= len) {
		memcpy(&h, g + at, sizeof(h));
		at += sizeof(h) + h.stored_len;
		if (h.type == REC_EVENTS)
			last_events_end = at;
	}
	CHECK(last_events_end > 0);
	CHECK_U64(load(g, last_events_end, err, sizeof(err), &rp), 1);
	CHECK(rp.rec.cut);
	CHECK_CONTAINS(rp.rec.why, "cut short");
	CHECK(rp.r == NULL); /* the summary comes at the end */
	CHECK(rp.records > 1000);
	replay__free(&rp);
	/* ... and in the middle of a block: the block before it is the last read */
	CHECK_U64(load(g, last_events_end + 30, err, sizeof(err), &rp), 1);
	CHECK_CONTAINS(rp.rec.why, "a partial block");
	replay__free(&rp);
	free(g);
}

TEST(corrupt_and_foreign_files_say_where)
{
	size_t len;
	char *g = golden(&len), err[512];
	struct replay rp = {0};
	struct rec_file_header fh;

	if (!g)
		return;
	/* a byte flipped inside the first block's payload */
	g[sizeof(fh) + sizeof(struct rec_block_header) + 5] ^= 0x40;
	CHECK_U64(load(g, len, err, sizeof(err), &rp), -1);
	CHECK_CONTAINS(err, "fails its CRC");
	CHECK_CONTAINS(err, "offset 16");
	replay__free(&rp);
	g[sizeof(fh) + sizeof(struct rec_block_header) + 5] ^= 0x40;
	/* another version */
	memcpy(&fh, g, sizeof(fh));
	fh.version = 99;
	memcpy(g, &fh, sizeof(fh));
	CHECK_U64(load(g, len, err, sizeof(err), &rp), -1);
	CHECK_CONTAINS(err, "version 99");
	replay__free(&rp);
	/* not a recording at all */
	CHECK_U64(load("\x7f"
		       "ELF\2\1\1\0\0\0\0\0\0\0\0\0\0\0\0\0",
		       20, err, sizeof(err), &rp),
		  -1);
	CHECK_CONTAINS(err, "not a memstudy recording");
	replay__free(&rp);
	CHECK_U64(load("", 0, err, sizeof(err), &rp), -1);
	replay__free(&rp);
	/* a block header whose length runs far past the file: cut short, not a crash */
	memcpy(g, REC_MAGIC, 8);
	fh.version = REC_VERSION;
	memcpy(g, &fh, sizeof(fh));
	{
		struct rec_block_header h;

		memcpy(&h, g + sizeof(fh), sizeof(h));
		h.stored_len = REC_BLOCK_MAX;
		memcpy(g + sizeof(fh), &h, sizeof(h));
		CHECK_U64(load(g, len, err, sizeof(err), &rp), -1);
		CHECK_CONTAINS(err, "cut short");
		replay__free(&rp);
		h.stored_len = REC_BLOCK_MAX + 1;
		memcpy(g + sizeof(fh), &h, sizeof(h));
		CHECK_U64(load(g, len, err, sizeof(err), &rp), -1);
		CHECK_CONTAINS(err, "impossible sizes");
		replay__free(&rp);
	}
	free(g);
}

/* A recording written here: what the writer writes, the reader reads, entry by entry. */
TEST(writer_and_reader_agree)
{
	const char *path = tmp_path("w.rec");
	struct recorder *w = recorder__create(path);
	struct recording r;
	struct rec_block b;
	uint64_t seen = 0, sum = 0, want = 0;
	int blocks = 0;

	CHECK(w != NULL);
	if (!w)
		return;
	CHECK_U64(recorder__block(w, REC_META, "{}", 2), 0);
	for (uint64_t i = 0; i < 200000; i++) { /* several EVENTS blocks */
		struct ms_event_free f = {.type = MS_EV_FREE, .tid = 7, .ts_ns = i, .ptr = i * 16};

		CHECK_U64(recorder__entry(w, &f, sizeof(f), NULL, 0), 0);
		want += i * 16;
	}
	CHECK_U64(recorder__close(w), 0);
	CHECK_U64(recording__open(&r, path), 0);
	while (recording__next(&r, &b) > 0) {
		const void *rec;
		uint32_t len;
		size_t at = 0;
		bool bad;

		blocks++;
		if (b.type != REC_EVENTS)
			continue;
		while (rec_events__next(&b, &at, &rec, &len, &bad)) {
			const struct ms_event_free *f = rec;

			CHECK_U64(len, sizeof(*f));
			CHECK_U64((uintptr_t)rec % 8, 0);
			sum += f->ptr;
			seen++;
		}
		CHECK(!bad);
	}
	CHECK(r.ended && !r.cut);
	CHECK(blocks > 3);
	CHECK_U64(seen, 200000);
	CHECK_U64(sum, want);
	recording__close(&r);
	unlink(path);
}
