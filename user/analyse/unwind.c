// SPDX-License-Identifier: GPL-2.0
/* The copied-stack unwinder (unwind.h), x86-64: DWARF registers 6 (rbp), 7 (rsp), 16 (ra). */
#include <stdlib.h>
#include <string.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include "analyse/addr_index.h"
#include "analyse/symbolize.h"
#include "analyse/unwind.h"

#define REG_RBP 6
#define REG_RSP 7
#define REG_RA	16

const char *const unwind_end_names[UNWIND_END_MAX] = {
    [UNWIND_END_OUTERMOST] = "outermost",
    [UNWIND_END_NO_MODULE] = "no_module",
    [UNWIND_END_NO_CFI] = "no_cfi",
    [UNWIND_END_EXPRESSION] = "expression",
    [UNWIND_END_COPY] = "stack_copy_too_short",
    [UNWIND_END_DEPTH] = "depth",
};

/* How to find the caller's frame from one code address. */
enum rule_kind {
	RULE_CFA = 1,	 /* CFA = cfa_reg + cfa_off; ra at CFA - 8; rbp as rbp_at */
	RULE_FP,	 /* no CFI: the frame pointer chain (rbp, [rbp], [rbp + 8]) */
	RULE_NONE,	 /* no module */
	RULE_NO_CFI,	 /* a module, no row */
	RULE_EXPRESSION, /* a row memstudy cannot express */
	RULE_OUTERMOST,	 /* the CFI says there is no caller */
};

struct rule {
	uint64_t pc; /* key; 0 = empty slot */
	uint8_t kind, cfa_reg;
	bool rbp_saved; /* at CFA + rbp_off; else unchanged */
	int32_t cfa_off, rbp_off;
};

struct unwinder {
	struct symbolizer *sym;
	struct rule *rules; /* open addressing by pc */
	size_t cap, n;
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

static void rule_compute(struct unwinder *u, uint64_t pc, struct rule *r)
{
	Dwfl_Module *mod = symbolize__module(u->sym, pc);
	Dwarf_Addr bias;
	Dwarf_CFI *cfi;
	Dwarf_Frame *f;

	r->kind = mod ? RULE_NO_CFI : RULE_NONE;
	if (!mod)
		return;
	for (int pass = 0; pass < 2; pass++) {
		cfi = pass ? dwfl_module_dwarf_cfi(mod, &bias) : dwfl_module_eh_cfi(mod, &bias);
		if (cfi && !dwarf_cfi_addrframe(cfi, pc - bias, &f)) {
			rule_from_frame(f, r);
			free(f);
			return;
		}
	}
	r->kind = RULE_FP;
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
			return &u->rules[i];
	u->rules[i].pc = pc;
	rule_compute(u, pc, &u->rules[i]);
	u->n++;
	return &u->rules[i];
}

/* The 8 bytes at A, when they lie in the copy of [SP0, SP0 + LEN). */
static bool read_word(const uint8_t *stack, size_t len, uint64_t sp0, uint64_t a, uint64_t *v)
{
	if (a < sp0 || a - sp0 > len || a - sp0 + 8 > len)
		return false;
	memcpy(v, stack + (a - sp0), 8);
	return true;
}

int unwinder__walk(struct unwinder *u, uint64_t pc, uint64_t sp, uint64_t bp, const uint8_t *stack,
		   size_t len, uint64_t *frames, int max, enum unwind_end *end)
{
	uint64_t sp0 = sp;
	int n = 0;

	*end = UNWIND_END_DEPTH;
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
			if (!read_word(stack, len, sp0, cfa - 8, &ra) ||
			    (r->rbp_saved && !read_word(stack, len, sp0, cfa + r->rbp_off, &bp))) {
				*end = UNWIND_END_COPY;
				return n;
			}
			break;
		case RULE_FP:
			/* code without CFI (hand-written asm, some JITs): frame pointers or nothing
			 */
			cfa = bp + 16;
			if (bp < sp || !read_word(stack, len, sp0, bp + 8, &ra) ||
			    !read_word(stack, len, sp0, bp, &bp)) {
				*end = UNWIND_END_NO_CFI;
				return n;
			}
			break;
		case RULE_NONE:
			*end = UNWIND_END_NO_MODULE;
			return n;
		case RULE_EXPRESSION:
			*end = UNWIND_END_EXPRESSION;
			return n;
		case RULE_OUTERMOST:
			*end = UNWIND_END_OUTERMOST;
			return n;
		default:
			*end = UNWIND_END_NO_CFI;
			return n;
		}
		if (!ra || cfa <= sp) { /* the outermost frame, or a loop */
			*end = UNWIND_END_OUTERMOST;
			return n;
		}
		sp = cfa;
		pc = ra;
	}
	return n;
}
