// SPDX-License-Identifier: GPL-2.0
/* Probe placement by decoding the prologue with capstone (Debian's libcapstone). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <capstone/capstone.h>

#include "resolve/elfsyms.h"
#include "resolve/probe_place.h"

#define MAX_SKIP_INSNS 4 /* look no further than this into a prologue */

/* Opcodes arch/x86/kernel/uprobes.c emulates: no prefixes allowed. */
static bool kernel_emulates(const cs_insn *in)
{
	const uint8_t *b = in->bytes;

	if (in->size == 1 && (b[0] == 0x90 || (b[0] >= 0x50 && b[0] <= 0x57)))
		return true; /* nop, push %rax..%rdi */
	if (in->size == 2 && b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57)
		return true; /* push %r8..%r15 */
	if (b[0] == 0xe8 || b[0] == 0xe9 || b[0] == 0xeb || (b[0] >= 0x70 && b[0] <= 0x7f))
		return true; /* call/jmp rel, jcc rel8 */
	return in->size == 6 && b[0] == 0x0f && b[1] >= 0x80 && b[1] <= 0x8f; /* jcc rel32 */
}

/* Why an instruction may not be stepped over, or NULL when it may. */
static const char *writes_reg(csh h, const cs_insn *in, unsigned int reads)
{
	cs_regs rd, wr;
	uint8_t nrd, nwr;

	if (cs_regs_access(h, in, rd, &nrd, wr, &nwr))
		return "has register effects capstone cannot tell"; /* assume the worst */
	for (int i = 0; i < nwr; i++) {
		switch (wr[i]) {
		case X86_REG_RSP:
		case X86_REG_ESP:
		case X86_REG_SP:
		case X86_REG_SPL:
			return "moves the stack pointer the return probe needs";
		case X86_REG_RDI:
		case X86_REG_EDI:
		case X86_REG_DI:
		case X86_REG_DIL:
			if (reads & PROBE_READS_RDI)
				return "changes rdi, an argument the probe reads";
			break;
		case X86_REG_RSI:
		case X86_REG_ESI:
		case X86_REG_SI:
		case X86_REG_SIL:
			if (reads & PROBE_READS_RSI)
				return "changes rsi, an argument the probe reads";
			break;
		case X86_REG_RDX:
		case X86_REG_EDX:
		case X86_REG_DX:
		case X86_REG_DL:
		case X86_REG_DH:
			if (reads & PROBE_READS_RDX)
				return "changes rdx, an argument the probe reads";
			break;
		}
	}
	return NULL;
}

static bool is_reg(const cs_insn *in, int op, x86_reg reg)
{
	const cs_x86 *x = &in->detail->x86;

	return op < x->op_count && x->operands[op].type == X86_OP_REG && x->operands[op].reg == reg;
}

/*
 * glibc computes reallocarray's n * size first: mov rax,rsi; mul rdx; mov rsi,rax. After
 * those three rsi holds the low 64 bits of rsi * rdx, exactly what the probe computes from
 * the arguments at the entry, and rdi is untouched. Only this exact sequence is accepted.
 */
static bool puts_product_in_rsi(const cs_insn *in, size_t n)
{
	return n >= 3 && in[0].id == X86_INS_MOV && in[0].detail->x86.op_count == 2 &&
	       is_reg(&in[0], 0, X86_REG_RAX) && is_reg(&in[0], 1, X86_REG_RSI) &&
	       in[1].id == X86_INS_MUL && in[1].detail->x86.op_count == 1 &&
	       is_reg(&in[1], 0, X86_REG_RDX) && in[2].id == X86_INS_MOV &&
	       in[2].detail->x86.op_count == 2 && is_reg(&in[2], 0, X86_REG_RSI) &&
	       is_reg(&in[2], 1, X86_REG_RAX);
}

static bool changes_flow(const cs_insn *in)
{
	const cs_detail *d = in->detail;

	for (int i = 0; i < d->groups_count; i++)
		switch (d->groups[i]) {
		case CS_GRP_JUMP:
		case CS_GRP_CALL:
		case CS_GRP_RET:
		case CS_GRP_INT:
		case CS_GRP_IRET:
			return true;
		}
	return in->id == X86_INS_SYSCALL || in->id == X86_INS_UD2 || in->id == X86_INS_HLT;
}

/* Is the instruction at file offset AT, decoded from the start of its function, a branch to
 * DST? Decoding from the function start tells real branches from bytes that only look
 * like one inside another instruction. */
static bool is_real_branch(csh h, int fd, uint64_t fstart, uint64_t fsize, uint64_t at)
{
	bool real = true; /* unknown: assume it is */
	uint8_t *code;
	cs_insn *in;
	size_t n;

	if (fsize > (1u << 20) || !(code = malloc(fsize)))
		return true;
	if (pread(fd, code, fsize, fstart) == (ssize_t)fsize) {
		cs_option(h, CS_OPT_DETAIL, CS_OPT_OFF);
		n = cs_disasm(h, code, fsize, fstart, 0, &in);
		if (n && in[n - 1].address + in[n - 1].size == fstart + fsize) {
			real = false; /* decoded whole: the answer is exact */
			for (size_t i = 0; i < n && !real; i++)
				real = in[i].address == at;
		}
		if (n)
			cs_free(in, n);
		cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	}
	free(code);
	return real;
}

/*
 * Does any direct branch land in (start, start + skip]? Then the moved probe could fire
 * without a call, or twice in one. Every byte of the file that could start a rel32 or rel8
 * branch there is a candidate; a candidate inside a known function is decoded from that
 * function's start to tell whether it is a real instruction. Unknown means yes.
 */
static bool branch_lands_in(csh h, struct elf_syms *es, int fd, const uint8_t *seg,
			    uint64_t seg_off, uint64_t seg_len, uint64_t start, uint64_t skip)
{
	for (uint64_t i = 0; i + 2 <= seg_len; i++) {
		uint8_t op = seg[i];
		uint64_t fstart, fsize;
		int64_t dst;

		if ((op == 0xe8 || op == 0xe9) && i + 5 <= seg_len) {
			int32_t rel;
			memcpy(&rel, seg + i + 1, 4);
			dst = seg_off + i + 5 + rel;
		} else if (op == 0x0f && seg[i + 1] >= 0x80 && seg[i + 1] <= 0x8f &&
			   i + 6 <= seg_len) {
			int32_t rel;
			memcpy(&rel, seg + i + 2, 4);
			dst = seg_off + i + 6 + rel;
		} else if (op == 0xeb || (op >= 0x70 && op <= 0x7f)) {
			dst = seg_off + i + 2 + (int8_t)seg[i + 1];
		} else {
			continue;
		}
		if (dst <= (int64_t)start || dst > (int64_t)(start + skip))
			continue;
		if (!es || !elf_syms__containing(es, seg_off + i, &fstart, &fsize) ||
		    is_real_branch(h, fd, fstart, fsize, seg_off + i))
			return true;
	}
	return false;
}

/* The executable PT_LOAD segment holding OFF, read whole. */
static uint8_t *read_text_segment(int fd, uint64_t off, uint64_t *seg_off, uint64_t *seg_len)
{
	struct stat st;
	uint8_t *buf;

	/* The segment bounds need libelf; the scan is conservative, so the whole file will do
	 * when it is small enough, and the neighbourhood of the function otherwise. */
	if (fstat(fd, &st))
		return NULL;
	*seg_off = 0;
	*seg_len = st.st_size;
	if (*seg_len > (256u << 20)) {
		*seg_off = off > (64u << 20) ? off - (64u << 20) : 0;
		*seg_len = 128u << 20;
	}
	buf = malloc(*seg_len);
	if (buf && pread(fd, buf, *seg_len, *seg_off) != (ssize_t)*seg_len) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The instruction at SITE->offset: its text, and whether the kernel emulates it. */
static void describe_site(const cs_insn *in, size_t n, struct probe_site *site)
{
	for (size_t i = 0; i < n; i++) {
		if (in[i].address == site->offset) {
			site->emulated = kernel_emulates(&in[i]);
			snprintf(site->insn, sizeof(site->insn), "%.12s %.32s", in[i].mnemonic,
				 in[i].op_str);
		}
	}
}

void probe_place_prologue(const uint8_t *code, size_t len, uint64_t func_off, uint64_t func_size,
			  unsigned int reads, bool entry_only, struct probe_site *site)
{
	cs_insn *in = NULL;
	size_t n = 0, i;
	uint64_t skip = 0;
	const char *why;
	csh h = 0;

	memset(site, 0, sizeof(*site));
	site->offset = func_off;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) {
		snprintf(site->why, sizeof(site->why), "capstone cannot decode x86-64");
		return;
	}
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	n = cs_disasm(h, code, func_size && func_size < len ? func_size : len, func_off,
		      MAX_SKIP_INSNS + 1, &in);
	if (entry_only)
		snprintf(site->why, sizeof(site->why), "--probe-at-entry");
	i = 0;
	if (reads & PROBE_READS_RSI_TIMES_RDX) {
		if (!entry_only && puts_product_in_rsi(in, n)) {
			for (; i < 3; i++)
				skip += in[i].size;
			site->product_in_rsi = true;
			reads |= PROBE_READS_RSI; /* from here on rsi is the product */
		} else {
			reads |= PROBE_READS_RSI | PROBE_READS_RDX;
		}
	}
	for (i = entry_only ? n : i; i < n; i++) {
		if (kernel_emulates(&in[i]))
			break;
		if (i == MAX_SKIP_INSNS) {
			snprintf(site->why, sizeof(site->why),
				 "no emulated instruction in the first %d: kept the entry",
				 MAX_SKIP_INSNS);
			i = n;
			break;
		}
		why = changes_flow(&in[i]) ? "branches" : writes_reg(h, &in[i], reads);
		if (why) {
			snprintf(site->why, sizeof(site->why),
				 "'%.16s %.40s' at +%llu %.50s: kept the entry", in[i].mnemonic,
				 in[i].op_str, (unsigned long long)skip, why);
			i = n;
			break;
		}
		skip += in[i].size;
	}
	if (i >= n) {
		if (!site->why[0])
			snprintf(site->why, sizeof(site->why), "no emulated instruction in reach");
		skip = 0;
	}
	if (!skip)
		site->product_in_rsi = false;
	else if (site->product_in_rsi)
		snprintf(site->why, sizeof(site->why),
			 "reads n*size from rsi, where the skipped 'mul rdx' put it");
	site->skip = skip;
	site->offset = func_off + skip;
	describe_site(in, n, site);
	if (in)
		cs_free(in, n);
	cs_close(&h);
}

void probe_place(struct elf_syms *es, const char *path, uint64_t func_off, uint64_t func_size,
		 unsigned int reads, bool entry_only, struct probe_site *site)
{
	uint64_t seg_off, seg_len;
	uint8_t code[64], *seg;
	bool lands;
	csh h = 0;
	int fd;

	memset(site, 0, sizeof(*site));
	site->offset = func_off;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, code, sizeof(code), func_off) != (ssize_t)sizeof(code)) {
		snprintf(site->why, sizeof(site->why), "cannot read the function's code");
		if (fd >= 0)
			close(fd);
		return;
	}
	probe_place_prologue(code, sizeof(code), func_off, func_size, reads, entry_only, site);
	if (!site->skip) {
		close(fd);
		return;
	}
	/* a moved probe is only right if no branch lands in the bytes it skipped */
	seg = read_text_segment(fd, func_off, &seg_off, &seg_len);
	lands = !seg || cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK;
	if (!lands) {
		cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
		lands = branch_lands_in(h, es, fd, seg, seg_off, seg_len, func_off, site->skip);
		cs_close(&h);
	}
	if (lands) {
		uint64_t skip = site->skip;

		probe_place_prologue(code, sizeof(code), func_off, func_size, reads, true, site);
		snprintf(site->why, sizeof(site->why),
			 seg ? "a branch lands inside the first %llu bytes: kept the entry"
			     : "cannot read the code to check branches: kept the entry",
			 (unsigned long long)skip);
	}
	free(seg);
	close(fd);
}
