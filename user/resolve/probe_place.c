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

#define MAX_SKIP_INSNS 12 /* look no further than this into a prologue */
#define PROLOGUE_BYTES 128

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

/* The probe register a capstone register is (any width of it), or 0; *FULL when it is the
 * whole 64-bit register. */
static int probe_reg(x86_reg r, bool *full)
{
	static const struct {
		x86_reg r64, r32, r16, r8;
		int arg;
	} regs[] = {
	    {X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, PROBE_ARG_RDI},
	    {X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL, PROBE_ARG_RSI},
	    {X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, PROBE_ARG_RDX},
	    {X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, PROBE_ARG_RCX},
	    {X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B, PROBE_ARG_R8},
	    {X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, PROBE_ARG_RAX},
	};

	*full = false;
	for (size_t i = 0; i < sizeof(regs) / sizeof(*regs); i++) {
		if (r == regs[i].r64)
			*full = true;
		if (r == regs[i].r64 || r == regs[i].r32 || r == regs[i].r16 || r == regs[i].r8 ||
		    (r == X86_REG_DH && regs[i].arg == PROBE_ARG_RDX) ||
		    (r == X86_REG_CH && regs[i].arg == PROBE_ARG_RCX) ||
		    (r == X86_REG_AH && regs[i].arg == PROBE_ARG_RAX))
			return regs[i].arg;
	}
	return 0;
}

static const char *const arg_reg_names[PROBE_ARG_REGS] = {"",	 "rdi", "rsi", "rdx",
							  "rcx", "r8",	"rax"};

/*
 * Step over IN with HOLDERS[a], the registers (bits of PROBE_ARG_*) that hold argument a:
 * a 64-bit register-to-register mov copies an argument, any other write loses it. Why the
 * instruction may not be stepped over (the stack pointer moved, an argument the probe
 * reads lost everywhere), or NULL when it may.
 */
static const char *step_over(csh h, const cs_insn *in, unsigned int reads, uint8_t *holders)
{
	const cs_x86 *x = &in->detail->x86;
	uint8_t copy_from = 0, copy_to = 0;
	cs_regs rd, wr;
	uint8_t nrd, nwr;
	bool full_d, full_s;
	static char why[64];

	if (cs_regs_access(h, in, rd, &nrd, wr, &nwr))
		return "has register effects capstone cannot tell"; /* assume the worst */
	if (in->id == X86_INS_MOV && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
	    x->operands[1].type == X86_OP_REG) {
		int d = probe_reg(x->operands[0].reg, &full_d),
		    s = probe_reg(x->operands[1].reg, &full_s);

		if (d && s && full_d && full_s) {
			copy_from = 1 << s;
			copy_to = 1 << d;
		}
	}
	for (int i = 0; i < nwr; i++) {
		bool full;
		int r = probe_reg(wr[i], &full);

		if ((wr[i] == X86_REG_RSP || wr[i] == X86_REG_ESP || wr[i] == X86_REG_SP ||
		     wr[i] == X86_REG_SPL) &&
		    !(reads & PROBE_NO_RETURN))
			return "moves the stack pointer the return probe needs";
		for (int a = 1; r && a < PROBE_ARG_REGS; a++)
			holders[a] &= ~(1 << r);
	}
	for (int a = 1; copy_from && a < PROBE_ARG_REGS; a++)
		if (holders[a] & copy_from)
			holders[a] |= copy_to;
	for (int a = 1; a <= PROBE_ARG_RDX; a++) {
		if ((reads & (PROBE_READS_RDI << (a - 1))) && !holders[a]) {
			snprintf(why, sizeof(why), "changes %s, an argument the probe reads",
				 arg_reg_names[a]);
			return why;
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
static uint8_t *read_text_segment(int fd, uint64_t off, uint64_t *seg_off, uint64_t *seg_len);

struct branch_cand {
	uint32_t dst, src; /* file offsets */
};

/* Every candidate direct branch of a file's bytes, grouped by where it lands (64-byte
 * buckets, a counting sort): built once per file, then each placement looks at the bucket
 * or two its skipped bytes are in. */
#define BUCKET_SHIFT 6
struct branch_index {
	dev_t dev;
	ino_t ino;
	uint64_t seg_off, seg_len; /* the bytes scanned: the file, or near the function */
	struct branch_cand *c;
	uint64_t n;
	uint32_t *first; /* bucket b's candidates: c[first[b] .. first[b + 1]) */
	uint64_t nbuckets;
};

/* Group IX's candidates by bucket. */
static bool index_group(struct branch_index *ix)
{
	struct branch_cand *by = malloc((ix->n ? ix->n : 1) * sizeof(*by));
	uint32_t *at;

	ix->nbuckets = ((ix->seg_off + ix->seg_len) >> BUCKET_SHIFT) + 1;
	ix->first = calloc(ix->nbuckets + 1, sizeof(*ix->first));
	at = malloc((ix->nbuckets + 1) * sizeof(*at));
	if (!by || !ix->first || !at) {
		free(by);
		free(at);
		return false;
	}
	for (uint64_t i = 0; i < ix->n; i++)
		ix->first[(ix->c[i].dst >> BUCKET_SHIFT) + 1]++;
	for (uint64_t b = 0; b < ix->nbuckets; b++)
		ix->first[b + 1] += ix->first[b];
	memcpy(at, ix->first, (ix->nbuckets + 1) * sizeof(*at));
	for (uint64_t i = 0; i < ix->n; i++)
		by[at[ix->c[i].dst >> BUCKET_SHIFT]++] = ix->c[i];
	free(at);
	free(ix->c);
	ix->c = by;
	return true;
}

static bool index_build(struct branch_index *ix, const uint8_t *seg, uint64_t seg_off,
			uint64_t seg_len)
{
	uint64_t cap = 1 << 16;

	ix->n = 0;
	ix->c = malloc(cap * sizeof(*ix->c));
	for (uint64_t i = 0; ix->c && i + 2 <= seg_len; i++) {
		uint8_t op = seg[i];
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
		if (dst < 0 || (uint64_t)dst >= seg_off + seg_len || seg_off + i > UINT32_MAX)
			continue; /* lands outside the file: not in a function of it */
		if (ix->n == cap) {
			struct branch_cand *c = realloc(ix->c, (cap *= 2) * sizeof(*c));

			if (!c) {
				free(ix->c);
				ix->c = NULL;
				break;
			}
			ix->c = c;
		}
		ix->c[ix->n++] = (struct branch_cand){(uint32_t)dst, (uint32_t)(seg_off + i)};
	}
	return ix->c && index_group(ix);
}

/* FD's index, from the cache of the last INDEX_CACHE files (--follow resolves image after
 * image, each with its libraries: two thrashed, each miss a read and scan of the whole file);
 * NULL when it cannot be built. */
#define INDEX_CACHE 16
static const struct branch_index *index_of(int fd, uint64_t func_off)
{
	static struct branch_index cache[INDEX_CACHE];
	static int next;
	struct branch_index *ix;
	uint64_t seg_off, seg_len;
	struct stat st;
	uint8_t *seg;

	if (fstat(fd, &st) || st.st_size > UINT32_MAX)
		return NULL;
	for (int i = 0; i < INDEX_CACHE; i++)
		if (cache[i].c && cache[i].dev == st.st_dev && cache[i].ino == st.st_ino &&
		    func_off >= cache[i].seg_off && func_off < cache[i].seg_off + cache[i].seg_len)
			return &cache[i];
	seg = read_text_segment(fd, func_off, &seg_off, &seg_len);
	if (!seg)
		return NULL;
	ix = &cache[next];
	next = (next + 1) % INDEX_CACHE;
	free(ix->c);
	free(ix->first);
	*ix = (struct branch_index){
	    .dev = st.st_dev, .ino = st.st_ino, .seg_off = seg_off, .seg_len = seg_len};
	if (!index_build(ix, seg, seg_off, seg_len))
		ix = NULL;
	free(seg);
	return ix;
}

static bool branch_lands_in(csh h, struct elf_syms *es, int fd, const struct branch_index *ix,
			    uint64_t start, uint64_t skip)
{
	uint64_t last = (start + skip) >> BUCKET_SHIFT;

	for (uint64_t b = (start + 1) >> BUCKET_SHIFT; b <= last && b < ix->nbuckets; b++)
		for (uint32_t i = ix->first[b]; i < ix->first[b + 1]; i++) {
			const struct branch_cand *c = &ix->c[i];
			uint64_t fstart, fsize;

			if (c->dst <= start || c->dst > start + skip)
				continue;
			if (!es || !elf_syms__containing(es, c->src, &fstart, &fsize) ||
			    is_real_branch(h, fd, fstart, fsize, c->src))
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
	uint8_t holders[PROBE_ARG_REGS];
	cs_insn *in = NULL;
	size_t n = 0, i;
	uint64_t skip = 0;
	const char *why;
	csh h = 0;

	memset(site, 0, sizeof(*site));
	site->offset = func_off;
	for (int a = 0; a < PROBE_ARG_REGS; a++) {
		site->arg_at[a] = a;
		holders[a] = a ? 1 << a : 0;
	}
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
		why = changes_flow(&in[i]) ? "branches" : step_over(h, &in[i], reads, holders);
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
	/* each argument read where it still is: its own register if it can */
	for (int a = 1; skip && a < PROBE_ARG_REGS; a++) {
		if (!holders[a] || (holders[a] & (1 << a)))
			continue;
		site->arg_at[a] = __builtin_ctz(holders[a]);
		if (!site->why[0])
			snprintf(site->why, sizeof(site->why),
				 "reads argument %d from %s, where the "
				 "prologue copied it",
				 a, arg_reg_names[site->arg_at[a]]);
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
	const struct branch_index *ix;
	uint8_t code[PROLOGUE_BYTES];
	ssize_t len = -1;
	bool lands;
	csh h = 0;
	int fd;

	memset(site, 0, sizeof(*site));
	site->offset = func_off;
	for (int a = 0; a < PROBE_ARG_REGS; a++)
		site->arg_at[a] = a;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		len = pread(fd, code, sizeof(code), func_off); /* less near the end of the file */
	if (len < 16) {
		snprintf(site->why, sizeof(site->why), "cannot read the function's code");
		if (fd >= 0)
			close(fd);
		return;
	}
	probe_place_prologue(code, len, func_off, func_size, reads, entry_only, site);
	if (!site->skip) {
		close(fd);
		return;
	}
	/* a moved probe is only right if no branch lands in the bytes it skipped */
	ix = index_of(fd, func_off);
	lands = !ix || cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK;
	if (!lands) {
		cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
		lands = branch_lands_in(h, es, fd, ix, func_off, site->skip);
		cs_close(&h);
	}
	if (lands) {
		uint64_t skip = site->skip;

		probe_place_prologue(code, len, func_off, func_size, reads, true, site);
		snprintf(site->why, sizeof(site->why),
			 ix ? "a branch lands inside the first %llu bytes: kept the entry"
			    : "cannot read the code to check branches: kept the entry",
			 (unsigned long long)skip);
	}
	close(fd);
}
