// SPDX-License-Identifier: GPL-2.0
/*
 * Probe placement on byte strings: the prologues of Debian 12's glibc 2.36 (read from
 * /lib/x86_64-linux-gnu/libc.so.6) and shapes that must keep the probe at the entry.
 */
#include "check.h"
#include "resolve/probe_place.h"

static void place(const char *hex, unsigned int reads, bool entry_only, struct probe_site *site)
{
	uint8_t code[64] = {0};
	size_t n = 0;

	for (const char *p = hex; *p && n < sizeof(code);) {
		unsigned int b;

		if (*p == ' ') {
			p++;
			continue;
		}
		if (sscanf(p, "%2x", &b) != 1)
			break;
		code[n++] = b;
		p += 2;
	}
	probe_place_prologue(code, sizeof(code), 0x1000, 0, reads, entry_only, site);
}

TEST(malloc_entry_is_emulated)
{
	struct probe_site s;

	place("4155 4154 55 4889fb 4883ec10", PROBE_READS_RDI, false, &s); /* push %r13 */
	CHECK_U64(s.skip, 0);
	CHECK(s.emulated);
	CHECK_CONTAINS(s.insn, "push");
}

TEST(free_moves_past_test_to_je)
{
	struct probe_site s;

	/* test %rdi,%rdi; je rel32: the test writes only flags, the je is emulated */
	place("4885ff 0f84bf000000 55 488d77f0 53", PROBE_READS_RDI, false, &s);
	CHECK_U64(s.skip, 3);
	CHECK_U64(s.offset, 0x1003);
	CHECK(s.emulated);
	CHECK_CONTAINS(s.insn, "je");
	/* --probe-at-entry keeps it, single-stepped */
	place("4885ff 0f84bf000000 55 488d77f0 53", PROBE_READS_RDI, true, &s);
	CHECK_U64(s.skip, 0);
	CHECK(!s.emulated);
	CHECK_STR(s.why, "--probe-at-entry");
}

TEST(posix_memalign_skips_the_rip_relative_compare)
{
	struct probe_site s;

	place("803d0102140000 4154 4989d4 55 4889fd",
	      PROBE_READS_RDI | PROBE_READS_RSI | PROBE_READS_RDX, false, &s);
	CHECK_U64(s.skip, 7);
	CHECK(s.emulated);
	CHECK_CONTAINS(s.insn, "push");
}

TEST(reallocarray_reads_the_product_from_rsi)
{
	struct probe_site s;

	/* mov %rsi,%rax; mul %rdx; mov %rax,%rsi; jo: rsi holds n * size */
	place("4889f0 48f7e2 4889c6 7005 e940b8f8ff", PROBE_READS_RDI | PROBE_READS_RSI_TIMES_RDX,
	      false, &s);
	CHECK_U64(s.skip, 9);
	CHECK(s.product_in_rsi);
	CHECK(s.emulated);
	CHECK_CONTAINS(s.why, "n*size from rsi");
	/* the same bytes, when the probe needs rsi itself: mul changes rdx, mov changes rsi */
	place("4889f0 48f7e2 4889c6 7005 e940b8f8ff", PROBE_READS_RDI | PROBE_READS_RSI, false, &s);
	CHECK_U64(s.skip, 0);
	CHECK(!s.product_in_rsi);
}

TEST(shapes_that_keep_the_entry)
{
	struct probe_site s;

	/* sub $8,%rsp first: the return probe needs the stack pointer */
	place("4883ec08 53", PROBE_READS_RDI, false, &s);
	CHECK_U64(s.skip, 0);
	CHECK_CONTAINS(s.why, "stack pointer");
	/* mov %rsi,%rdi: changes an argument the probe reads */
	place("4889f7 53", PROBE_READS_RDI, false, &s);
	CHECK_U64(s.skip, 0);
	CHECK_CONTAINS(s.why, "changes rdi");
	/* ... unless the probe does not read it */
	place("4889f7 53", PROBE_READS_RSI, false, &s);
	CHECK_U64(s.skip, 3);
	/* ret first: control flow */
	place("c3 53", PROBE_READS_RDI, false, &s);
	CHECK_U64(s.skip, 0);
	CHECK_CONTAINS(s.why, "branches");
	/* thirteen instructions before anything emulated: too far */
	place("4889c0 4889c0 4889c0 4889c0 4889c0 4889c0 4889c0 4889c0 4889c0 4889c0 4889c0 "
	      "4889c0 4889c0 53",
	      PROBE_READS_RDI, false, &s);
	CHECK_U64(s.skip, 0);
	CHECK_CONTAINS(s.why, "no emulated instruction in the first 12");
	/* an argument copied into 32 bits only is not a copy: rdi overwritten, it is lost */
	place("89fe 31ff 7710", PROBE_READS_RDI, false, &s);
	CHECK_U64(s.skip, 0);
	CHECK_CONTAINS(s.why, "changes rdi");
}

/* mimalloc 2.0's malloc: mov rsi,rdi; mov rdi,fs:[rax]; ja: the size is read from rsi */
TEST(arguments_followed_to_where_the_prologue_copied_them)
{
	struct probe_site s;

	place("4889fe 64488b38 7710", PROBE_READS_RDI, false, &s);
	CHECK_U64(s.skip, 7);
	CHECK(s.emulated);
	CHECK_U64(s.arg_at[PROBE_ARG_RDI], PROBE_ARG_RSI);
	CHECK_U64(s.arg_at[PROBE_ARG_RSI], PROBE_ARG_RSI);
	CHECK_CONTAINS(s.why, "from rsi");
	/* calloc's: mov rax,rdi; mov rdi,fs:[rdx]; je: the count in rax, the size in rsi */
	place("4889f8 64488b3a 7408", PROBE_READS_RDI | PROBE_READS_RSI, false, &s);
	CHECK_U64(s.skip, 7);
	CHECK_U64(s.arg_at[PROBE_ARG_RDI], PROBE_ARG_RAX);
	CHECK_U64(s.arg_at[PROBE_ARG_RSI], PROBE_ARG_RSI);
	/* an argument left in place is read there, even when copied too */
	place("4889f8 7408", PROBE_READS_RDI, false, &s);
	CHECK_U64(s.skip, 3);
	CHECK_U64(s.arg_at[PROBE_ARG_RDI], PROBE_ARG_RDI);
}
