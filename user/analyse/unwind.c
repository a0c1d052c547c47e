// SPDX-License-Identifier: GPL-2.0
/* The copied-stack unwinder (unwind.h), x86-64: DWARF registers 6 (rbp), 7 (rsp), 16 (ra). */
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include "analyse/addr_index.h"
#include "analyse/symbolize.h"
#include "analyse/unwind.h"

#define REG_RBP 6
#define REG_RSP 7
#define REG_RA	16

const char *const unwind_end_names[MS_UNWIND_END_MAX] = {
    [MS_UNWIND_OUTERMOST] = "outermost",
    [MS_UNWIND_NO_MODULE] = "no_module",
    [MS_UNWIND_NO_CFI] = "no_cfi",
    [MS_UNWIND_EXPRESSION] = "expression",
    [MS_UNWIND_COPY] = "stack_copy_too_short",
    [MS_UNWIND_DEPTH] = "depth",
    [MS_UNWIND_READ] = "unreadable_stack",
    [MS_UNWIND_ENTRY] = "program_entry",
};

/* How to find the caller's frame from one code address. */
enum rule_kind {
	RULE_CFA = 1,	 /* CFA = cfa_reg + cfa_off; ra at CFA - 8; rbp as rbp_at */
	RULE_FP,	 /* no CFI: the frame pointer chain (rbp, [rbp], [rbp + 8]) */
	RULE_NONE,	 /* no module */
	RULE_NO_CFI,	 /* a module, no row */
	RULE_EXPRESSION, /* a row memstudy cannot express */
	RULE_OUTERMOST,	 /* the CFI says there is no caller */
	RULE_ENTRY,	 /* main, or a thread's start_thread: what calls it is libc's start-up */
};

struct rule {
	uint64_t pc; /* key; 0 = empty slot */
	uint8_t kind, cfa_reg;
	bool rbp_saved; /* at CFA + rbp_off; else unchanged */
	int32_t cfa_off, rbp_off;
	/* RULE_NONE: the symbolizer's mappings then. Code mapped since (a process's maps read
	 * after its first stacks were walked) may hold PC: the rule is looked up again */
	int32_t nmaps;
};

/* A module's rows in the kernel's map. */
struct kernel_module {
	Dwfl_Module *mod;
	uint64_t bias;
	uint32_t first, count;
};

struct unwinder {
	struct symbolizer *sym;
	struct rule *rules; /* open addressing by pc */
	size_t cap, n;
	/* the in-kernel walk's tables */
	struct unwind_kernel_ops kops;
	bool kernel;
	struct kernel_module *kmods;
	uint32_t nkmods, kmods_cap;
	int synced_maps; /* symbolizer mappings already in the table */
	struct unwind_kernel_stats kst;
};

struct unwinder *unwinder__new(struct symbolizer *sym)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->sym = sym;
	u->cap = 4096;
	u->rules = calloc(u->cap, sizeof(*u->rules));
	if (!u->rules) {
		free(u);
		return NULL;
	}
	return u;
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	free(u->rules);
	free(u->kmods);
	free(u);
}

void unwinder__reset(struct unwinder *u)
{
	memset(u->rules, 0, u->cap * sizeof(*u->rules));
	u->n = 0;
}

/* The rule of libdw's frame F: only CFA = reg + off, ra at CFA - 8, rbp same or saved. */
static void rule_from_frame(Dwarf_Frame *f, struct rule *r)
{
	Dwarf_Op mem[3], *ops;
	size_t n;

	r->kind = RULE_EXPRESSION;
	if (dwarf_frame_cfa(f, &ops, &n) || n != 1 || ops[0].atom != DW_OP_bregx ||
	    (ops[0].number != REG_RSP && ops[0].number != REG_RBP))
		return;
	r->cfa_reg = ops[0].number;
	r->cfa_off = (int32_t)ops[0].number2;
	if (dwarf_frame_register(f, REG_RA, mem, &ops, &n))
		return;
	if (!n) { /* the return address is undefined: the outermost frame (_start) */
		r->kind = RULE_OUTERMOST;
		return;
	}
	if (n != 2 || ops[0].atom != DW_OP_call_frame_cfa || ops[1].atom != DW_OP_plus_uconst ||
	    (int64_t)ops[1].number != -8)
		return;
	if (dwarf_frame_register(f, REG_RBP, mem, &ops, &n))
		return;
	if (n == 2 && ops[0].atom == DW_OP_call_frame_cfa && ops[1].atom == DW_OP_plus_uconst) {
		r->rbp_saved = true;
		r->rbp_off = (int32_t)ops[1].number;
	} else if (n) {
		return; /* rbp in another register, or an expression */
	}
	r->kind = RULE_CFA;
}

/*
 * The program's own frames end at main, a thread's at glibc's start_thread: the frames
 * past them are libc's start-up code, the same in every stack. A walk stops there, so a
 * copy of the stack need not hold them (most of the bytes, the start-up frames are big).
 */
static bool is_entry(struct unwinder *u, Dwfl_Module *mod, uint64_t pc)
{
	const char *name = symbolize__function_at(u->sym, mod, pc);

	return name && (!strcmp(name, "main") || !strcmp(name, "start_thread"));
}

/* PC (a call's address) lies in the function at MOD's ELF entry point: the code the kernel
 * starts a process in, whose caller is no one. */
static bool at_elf_entry(Dwfl_Module *mod, uint64_t pc)
{
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	GElf_Ehdr eh;
	GElf_Sym sym;
	GElf_Off off;
	const char *name;

	if (!elf || !gelf_getehdr(elf, &eh) || !eh.e_entry)
		return false;
	name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
	return name ? pc - off == eh.e_entry + bias : pc - (eh.e_entry + bias) < 64;
}

static void rule_compute(struct unwinder *u, uint64_t pc, struct rule *r)
{
	Dwfl_Module *mod = symbolize__module(u->sym, pc);
	Dwarf_Addr bias;
	Dwarf_CFI *cfi;
	Dwarf_Frame *f;

	r->kind = mod ? RULE_NO_CFI : RULE_NONE;
	if (!mod)
		return;
	if (is_entry(u, mod, pc)) {
		r->kind = RULE_ENTRY;
		return;
	}
	for (int pass = 0; pass < 2; pass++) {
		/* the code's entry point (the dynamic loader's _start, before any frame of
		 * the program's) has no CFI row: it is the outermost frame. Said before the
		 * second pass, which would load the module's whole DWARF to look for one
		 * (in every process of a --follow tree, the loader's) */
		if (pass && at_elf_entry(mod, pc)) {
			r->kind = RULE_ENTRY;
			return;
		}
		cfi = pass ? dwfl_module_dwarf_cfi(mod, &bias) : dwfl_module_eh_cfi(mod, &bias);
		if (cfi && !dwarf_cfi_addrframe(cfi, pc - bias, &f)) {
			rule_from_frame(f, r);
			free(f);
			return;
		}
	}
	r->kind = RULE_FP;
}

/*
 * A file's unwind rules are the file's: kept once per file and address for every unwinder
 * (each process of a --follow tree would parse the same .eh_frame again). The rule of the
 * file's address FILE_PC, by the identity of the file. Never freed.
 */
struct file_rule {
	uint64_t file_key, file_pc; /* 0: empty */
	struct rule r;
};
static struct file_rule *file_rules;
static size_t nfile_rules, file_rules_cap;

static size_t file_rule_slot(uint64_t key, uint64_t pc)
{
	return hash64(key ^ hash64(pc)) & (file_rules_cap - 1);
}

static struct file_rule *file_rule_find(uint64_t key, uint64_t pc, bool create)
{
	size_t i;

	if (create && (nfile_rules + 1) * 2 > file_rules_cap) {
		size_t cap = file_rules_cap ? file_rules_cap * 2 : 4096, oldcap = file_rules_cap;
		struct file_rule *v = calloc(cap, sizeof(*v)), *old = file_rules;

		if (!v)
			return NULL;
		file_rules = v;
		file_rules_cap = cap;
		for (size_t k = 0; k < oldcap; k++) {
			if (!old[k].file_key)
				continue;
			for (i = file_rule_slot(old[k].file_key, old[k].file_pc); v[i].file_key;
			     i = (i + 1) & (cap - 1))
				;
			v[i] = old[k];
		}
		free(old);
	}
	if (!file_rules_cap)
		return NULL;
	for (i = file_rule_slot(key, pc); file_rules[i].file_key;
	     i = (i + 1) & (file_rules_cap - 1))
		if (file_rules[i].file_key == key && file_rules[i].file_pc == pc)
			return &file_rules[i];
	if (!create)
		return NULL;
	nfile_rules++;
	file_rules[i].file_key = key;
	file_rules[i].file_pc = pc;
	return &file_rules[i];
}

/* R for PC: the file's rule when an unwinder has computed it, else computed and kept. */
static void rule_shared(struct unwinder *u, uint64_t pc, struct rule *r)
{
	uint64_t key, bias;
	struct file_rule *g;

	if (!symbolize__file_of(u->sym, pc, &key, &bias)) {
		rule_compute(u, pc, r);
		return;
	}
	g = file_rule_find(key, pc - bias, false);
	if (g) {
		*r = g->r;
		r->pc = pc;
		return;
	}
	rule_compute(u, pc, r);
	g = file_rule_find(key, pc - bias, true);
	if (g)
		g->r = *r;
}

/* The rule for code address PC (already the call instruction's, not the return address). */
static const struct rule *rule_for(struct unwinder *u, uint64_t pc)
{
	size_t i;

	if (u->n * 2 >= u->cap) {
		struct rule *old = u->rules;
		size_t oldcap = u->cap;

		u->rules = calloc(oldcap * 2, sizeof(*u->rules));
		if (!u->rules) {
			u->rules = old;
			unwinder__reset(u); /* full, and no memory: start over */
		} else {
			u->cap = oldcap * 2;
			u->n = 0;
			for (size_t k = 0; k < oldcap; k++) {
				if (!old[k].pc)
					continue;
				for (i = hash64(old[k].pc) & (u->cap - 1); u->rules[i].pc;
				     i = (i + 1) & (u->cap - 1))
					;
				u->rules[i] = old[k];
				u->n++;
			}
			free(old);
		}
	}
	for (i = hash64(pc) & (u->cap - 1); u->rules[i].pc; i = (i + 1) & (u->cap - 1))
		if (u->rules[i].pc == pc)
			break;
	if (u->rules[i].pc &&
	    (u->rules[i].kind != RULE_NONE || u->rules[i].nmaps == symbolize__nmappings(u->sym)))
		return &u->rules[i];
	u->n += !u->rules[i].pc;
	u->rules[i].pc = pc;
	rule_shared(u, pc, &u->rules[i]);
	u->rules[i].nmaps = symbolize__nmappings(u->sym);
	return &u->rules[i];
}

struct copy {
	const uint8_t *stack;
	size_t len;
	uint64_t sp0;
	size_t used; /* the end of the furthest word read */
};

/* The 8 bytes at A, when they lie in the copy of [SP0, SP0 + LEN). */
static bool read_word(struct copy *c, uint64_t a, uint64_t *v)
{
	if (a < c->sp0 || a - c->sp0 > c->len || a - c->sp0 + 8 > c->len)
		return false;
	memcpy(v, c->stack + (a - c->sp0), 8);
	if (a - c->sp0 + 8 > c->used)
		c->used = a - c->sp0 + 8;
	return true;
}

int unwinder__walk(struct unwinder *u, uint64_t pc, uint64_t sp, uint64_t bp, const uint8_t *stack,
		   size_t len, uint64_t *frames, int max, enum ms_unwind_end *end, size_t *used)
{
	struct copy c = {stack, len, sp};
	int n = 0;

	*end = MS_UNWIND_DEPTH;
	while (n < max) {
		const struct rule *r;
		uint64_t cfa, ra;

		frames[n++] = pc;
		if (n == max)
			break;
		/* every pc here is a return address: its call instruction is just before it */
		r = rule_for(u, pc - 1);
		switch (r->kind) {
		case RULE_CFA:
			cfa = (r->cfa_reg == REG_RSP ? sp : bp) + r->cfa_off;
			if (!read_word(&c, cfa - 8, &ra) ||
			    (r->rbp_saved && !read_word(&c, cfa + r->rbp_off, &bp))) {
				*end = MS_UNWIND_COPY;
				goto out;
			}
			break;
		case RULE_FP:
			/* code without CFI (hand-written asm, some JITs): frame pointers or nothing
			 */
			cfa = bp + 16;
			if (bp < sp || !read_word(&c, bp + 8, &ra) || !read_word(&c, bp, &bp)) {
				*end = MS_UNWIND_NO_CFI;
				goto out;
			}
			break;
		case RULE_NONE:
			*end = MS_UNWIND_NO_MODULE;
			goto out;
		case RULE_EXPRESSION:
			*end = MS_UNWIND_EXPRESSION;
			goto out;
		case RULE_OUTERMOST:
			*end = MS_UNWIND_OUTERMOST;
			goto out;
		case RULE_ENTRY:
			*end = MS_UNWIND_ENTRY;
			goto out;
		default:
			*end = MS_UNWIND_NO_CFI;
			goto out;
		}
		if (!ra || cfa <= sp) { /* the outermost frame, or a loop */
			*end = MS_UNWIND_OUTERMOST;
			goto out;
		}
		sp = cfa;
		pc = ra;
	}
out:
	*used = c.used;
	return n;
}

/* In-kernel walk tables ------------------------------------------------------------------ */

/* The packed rule of R, or MS_UNW_EXPRESSION when the kernel's walk cannot express it. */
static uint32_t pack_rule(const struct rule *r)
{
	uint32_t slot = 0;

	switch (r->kind) {
	case RULE_OUTERMOST:
		return MS_UNW_OUTERMOST;
	case RULE_CFA:
		break;
	default:
		return MS_UNW_EXPRESSION;
	}
	if (r->cfa_off < 0 || (uint32_t)r->cfa_off > MS_UNW_CFA_OFF_MAX)
		return MS_UNW_EXPRESSION;
	if (r->rbp_saved) {
		if (r->rbp_off >= 0 || r->rbp_off % 8 || -r->rbp_off / 8 > 31)
			return MS_UNW_EXPRESSION;
		slot = -r->rbp_off / 8;
	}
	return MS_UNW_RULE(r->cfa_reg == REG_RSP ? MS_UNW_CFA_RSP : MS_UNW_CFA_RBP, slot,
			   r->cfa_off);
}

/*
 * The start address of every FDE, from .eh_frame_hdr's sorted search table (found by its
 * program header, which stripped files keep). Only the encoding every x86-64 toolchain
 * writes is read: 4-byte entries relative to the header. NULL when absent or other.
 */
static uint64_t *fde_starts(Elf *elf, uint64_t *count)
{
	size_t nph, at = 4;
	GElf_Phdr ph;
	Elf_Data *d = NULL;
	const uint8_t *h;
	uint64_t *starts, vaddr = 0;
	uint32_t n;

	if (elf_getphdrnum(elf, &nph))
		return NULL;
	for (size_t i = 0; i < nph && !d; i++)
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_GNU_EH_FRAME) {
			d = elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz, ELF_T_BYTE);
			vaddr = ph.p_vaddr;
		}
	if (!d || d->d_size < 12)
		return NULL;
	h = d->d_buf;
	/* version 1; eh_frame_ptr pcrel|sdata4; fde_count udata4; table datarel|sdata4 */
	if (h[0] != 1 || h[1] != (DW_EH_PE_pcrel | DW_EH_PE_sdata4) || h[2] != DW_EH_PE_udata4 ||
	    h[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
		return NULL;
	at += 4;
	memcpy(&n, h + at, 4);
	at += 4;
	if (!n || (d->d_size - at) / 8 < n)
		return NULL;
	starts = malloc(n * sizeof(*starts));
	if (!starts)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		int32_t rel;

		memcpy(&rel, h + at + 8 * i, 4);
		starts[i] = vaddr + rel;
	}
	*count = n;
	return starts;
}

struct row_buf {
	struct ms_unwind_row *v;
	uint32_t n, cap;
	bool failed;
};

/* A row from ADDR on; merged into the last when its rule is the same. */
static void row_push(struct row_buf *b, uint64_t addr, uint32_t rule)
{
	if (addr > UINT32_MAX) {
		b->failed = true;
		return;
	}
	if (b->n && b->v[b->n - 1].addr >= addr) /* overlapping FDEs: the later one wins */
		b->n--;
	if (b->n && b->v[b->n - 1].rule == rule)
		return;
	if (b->n == b->cap) {
		uint32_t cap = b->cap ? 2 * b->cap : 4096;
		struct ms_unwind_row *v = realloc(b->v, cap * sizeof(*v));

		if (!v) {
			b->failed = true;
			return;
		}
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = (struct ms_unwind_row){(uint32_t)addr, rule};
}

bool unwind_rows_of_module(Dwfl_Module *mod, struct ms_unwind_row **rows, uint32_t *n,
			   uint64_t *bias)
{
	struct row_buf b = {0};
	Dwarf_Addr cfi_bias, elf_bias;
	Dwarf_CFI *cfi = dwfl_module_eh_cfi(mod, &cfi_bias);
	Elf *elf = dwfl_module_getelf(mod, &elf_bias);
	uint64_t nfde = 0, *starts = elf ? fde_starts(elf, &nfde) : NULL;

	if (!cfi || !starts) {
		free(starts);
		return false;
	}
	/* each FDE's rows in turn, libdw telling where each row ends; a gap up to the next
	 * FDE has no CFI */
	for (uint64_t k = 0; k < nfde && !b.failed; k++) {
		uint64_t pc = starts[k], next = k + 1 < nfde ? starts[k + 1] : UINT64_MAX;
		Dwarf_Addr start, end;
		Dwarf_Frame *f;
		struct rule r;
		bool signal;

		while (pc < next && !dwarf_cfi_addrframe(cfi, pc, &f)) {
			memset(&r, 0, sizeof(r));
			rule_from_frame(f, &r);
			if (dwarf_frame_info(f, &start, &end, &signal) < 0 || end <= pc)
				end = pc + 1;
			free(f);
			row_push(&b, pc, signal ? MS_UNW_EXPRESSION : pack_rule(&r));
			pc = end;
		}
		if (pc < next && next != UINT64_MAX)
			row_push(&b, pc, MS_UNW_FP);
	}
	free(starts);
	if (b.failed || !b.n) {
		free(b.v);
		return false;
	}
	*rows = b.v;
	*n = b.n;
	*bias = cfi_bias;
	return true;
}

int unwinder__trim_at_entry(struct unwinder *u, const uint64_t *frames, int n,
			    enum ms_unwind_end *end)
{
	for (int i = 0; i < n; i++) {
		if (rule_for(u, frames[i] - 1)->kind == RULE_ENTRY) {
			*end = MS_UNWIND_ENTRY;
			return i + 1;
		}
	}
	return n;
}

void unwinder__set_kernel(struct unwinder *u, const struct unwind_kernel_ops *ops)
{
	u->kops = *ops;
	u->kernel = true;
}

const struct unwind_kernel_stats *unwinder__kernel_stats(const struct unwinder *u)
{
	return &u->kst;
}

/* MOD's rows in the kernel, loaded the first time. */
static struct kernel_module *kernel_module_of(struct unwinder *u, Dwfl_Module *mod)
{
	struct ms_unwind_row *rows = NULL;
	struct kernel_module *k;
	struct timespec t0, t1;
	uint32_t n = 0;

	for (uint32_t i = 0; i < u->nkmods; i++)
		if (u->kmods[i].mod == mod)
			return &u->kmods[i];
	if (u->nkmods == u->kmods_cap) {
		uint32_t cap = u->kmods_cap ? 2 * u->kmods_cap : 32;
		struct kernel_module *v = realloc(u->kmods, cap * sizeof(*v));

		if (!v)
			return NULL;
		u->kmods = v;
		u->kmods_cap = cap;
	}
	k = &u->kmods[u->nkmods++];
	*k = (struct kernel_module){.mod = mod};
	u->kst.modules++;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!unwind_rows_of_module(mod, &rows, &n, &k->bias) ||
	    !u->kops.add_rows(u->kops.ctx, rows, n, &k->first)) {
		/* frame pointers only: the walk still goes through code that keeps them */
		dwfl_module_getelf(mod, &k->bias);
		u->kst.modules_without_rows++;
		n = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	u->kst.build_ns += (t1.tv_sec - t0.tv_sec) * 1000000000ULL + t1.tv_nsec - t0.tv_nsec;
	k->count = n;
	u->kst.rows += n;
	free(rows);
	return k;
}

static int map_cmp(const void *a, const void *b)
{
	const struct ms_unwind_map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

void unwinder__sync_kernel(struct unwinder *u)
{
	struct ms_unwind_map maps[MS_UNWIND_MAPS];
	int total = symbolize__nmappings(u->sym);
	uint32_t n = 0;

	if (!u->kernel || total == u->synced_maps)
		return;
	u->synced_maps = total;
	/* newest first: a mapping that overlaps a newer one was replaced by it */
	for (int i = total - 1; i >= 0 && n < MS_UNWIND_MAPS; i--) {
		struct kernel_module *k;
		uint64_t start, end;
		Dwfl_Module *mod = symbolize__mapping(u->sym, i, &start, &end);
		bool hidden = false;

		for (uint32_t j = 0; j < n && !hidden; j++)
			hidden = start < maps[j].end && maps[j].start < end;
		if (hidden || !mod || !(k = kernel_module_of(u, mod)))
			continue;
		maps[n++] = (struct ms_unwind_map){.start = start,
						   .end = end,
						   .bias = k->bias,
						   .first = k->first,
						   .count = k->count};
	}
	qsort(maps, n, sizeof(maps[0]), map_cmp);
	u->kops.publish(u->kops.ctx, maps, n);
}
