/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-kernel stack walk (per-allocation stacks, --unwind kernel): at an allocator's
 * return, the caller's frames are found from the CFI rows the collector loaded (memstudy.h,
 * struct ms_unwind_row), reading 16 bytes of user stack a frame. A frame in code with no
 * rows yet (a library loaded a moment ago) stops the walk; the record then carries the
 * stack's top from there, and the collector goes on with the same rules.
 */
#ifndef MEMSTUDY_BPF_UNWIND_H
#define MEMSTUDY_BPF_UNWIND_H

/* Frames walked in the kernel, <= MS_STACK_DEPTH; 0: no walk here (--unwind copy). */
const volatile __u32 walk_depth;

/* Text mappings with their rows, two tables of MS_UNWIND_MAPS, sorted by address: the
 * collector writes the one unwind_live does not name, then flips unwind_live (bss). A map,
 * not a bss array: a key the verifier need not track keeps the binary search verifiable. */
__u32 unwind_live;
__u32 unwind_nmaps[2];
/* Bumped by the collector at a flip that drops or changes a mapping: a forked child walks
 * with the tables only while they still describe its code (--follow, walks_here). */
__u32 unwind_gen;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * MS_UNWIND_MAPS);
	__type(key, __u32);
	__type(value, struct ms_unwind_map);
} unwind_maps SEC(".maps");

/* Every module's rows, appended as modules appear. Sized before load (1 entry without
 * in-kernel walks). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ms_unwind_row);
} unwind_rows SEC(".maps");

struct stack_walk {
	struct ms_event_alloc_stack *e;
	__u64 pc, sp, bp;
	__u32 table;
	__u32 n;
	__u8 end;
};

/* The last mapping of table T starting below X (the tables are sorted and disjoint: the
 * only one that can hold X - 1 or meet a range ending at X), or NULL. */
static __always_inline struct ms_unwind_map *walk_last_below(__u32 t, __u64 x)
{
	__u32 base = (t & 1) * MS_UNWIND_MAPS, lo = base, hi, mid;
	struct ms_unwind_map *m;

	hi = unwind_nmaps[t & 1];
	if (hi > MS_UNWIND_MAPS)
		hi = MS_UNWIND_MAPS;
	hi += base;
	for (int k = 0; k < 9 && lo < hi; k++) { /* 2^9 > MS_UNWIND_MAPS */
		mid = lo + (hi - lo) / 2;
		m = bpf_map_lookup_elem(&unwind_maps, &mid);
		if (!m)
			return NULL;
		if (m->start < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == base)
		return NULL;
	lo--;
	return bpf_map_lookup_elem(&unwind_maps, &lo);
}

/* The mapping holding PC in table T, or NULL. */
static __always_inline struct ms_unwind_map *walk_map_of(__u32 t, __u64 pc)
{
	struct ms_unwind_map *m = walk_last_below(t, pc + 1);

	return m && pc < m->end ? m : NULL;
}

/* Does [LO, HI) meet a mapping of the live table? */
static __always_inline bool walk_table_meets(__u64 lo, __u64 hi)
{
	struct ms_unwind_map *m = walk_last_below(unwind_live, hi);

	return m && m->end > lo;
}

/* The rule of the last row at or before module address A among COUNT rows from FIRST. */
static __always_inline __u32 walk_rule_of(__u32 first, __u32 count, __u64 a)
{
	__u32 lo = first, hi = first + count, mid;
	struct ms_unwind_row *r;

	for (int k = 0; k < 25 && lo < hi; k++) { /* 2^25 rows: more than the map holds */
		mid = lo + (hi - lo) / 2;
		r = bpf_map_lookup_elem(&unwind_rows, &mid);
		if (!r)
			return MS_UNW_EXPRESSION;
		if (r->addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == first)
		return MS_UNW_FP; /* before the first row: no CFI */
	lo--;
	r = bpf_map_lookup_elem(&unwind_rows, &lo);
	return r ? r->rule : MS_UNW_EXPRESSION;
}

/* One frame: record the current one, then find its caller. 1 stops the walk. */
static long walk_step(__u32 i, void *arg)
{
	struct stack_walk *w = arg;
	struct ms_unwind_map *m;
	__u64 cfa, pair[2], a;
	__u32 rule, slot;

	w->e->frames[i & (MS_STACK_DEPTH - 1)] = w->pc;
	w->n = i + 1;
	if (w->n >= walk_depth) {
		w->end = MS_UNWIND_DEPTH;
		return 1;
	}
	m = walk_map_of(w->table, w->pc - 1);
	if (!m) {
		w->end = MS_UNWIND_NO_MODULE;
		return 1;
	}
	/* every pc here is a return address: its call instruction is just before it */
	a = w->pc - 1 - m->bias;
	rule = m->count ? walk_rule_of(m->first, m->count, a) : MS_UNW_FP;
	switch (MS_UNW_KIND(rule)) {
	case MS_UNW_CFA_RSP:
		cfa = w->sp + MS_UNW_CFA_OFF(rule);
		break;
	case MS_UNW_CFA_RBP:
		cfa = w->bp + MS_UNW_CFA_OFF(rule);
		break;
	case MS_UNW_FP:
		/* code without CFI (hand-written asm): frame pointers or nothing */
		if (w->bp < w->sp || w->bp - w->sp > (8 << 20)) {
			w->end = MS_UNWIND_NO_CFI;
			return 1;
		}
		cfa = w->bp + 16;
		rule = MS_UNW_RULE(MS_UNW_FP, 2, 16);
		break;
	case MS_UNW_OUTERMOST:
		w->end = MS_UNWIND_OUTERMOST;
		return 1;
	default:
		w->end = MS_UNWIND_EXPRESSION;
		return 1;
	}
	/* the return address at CFA - 8, and rbp most often saved just below it */
	if (bpf_probe_read_user(pair, sizeof(pair), (void *)(cfa - 16))) {
		w->end = MS_UNWIND_READ;
		return 1;
	}
	slot = MS_UNW_RBP_SLOT(rule);
	if (slot == 2)
		w->bp = pair[0];
	else if (slot && bpf_probe_read_user(&w->bp, sizeof(w->bp), (void *)(cfa - 8 * slot))) {
		w->end = MS_UNWIND_READ;
		return 1;
	}
	if (!pair[1] || cfa <= w->sp) { /* the outermost frame, or a loop */
		w->end = MS_UNWIND_OUTERMOST;
		w->n = i + 1;
		return 1;
	}
	w->sp = cfa;
	w->pc = pair[1];
	return 0;
}

/* Walk from the caller's registers at the allocator's return into E's frames. */
static __always_inline void walk_stack(struct pt_regs *ctx, struct ms_event_alloc_stack *e)
{
	struct stack_walk w = {
	    .e = e,
	    .pc = PT_REGS_IP(ctx),
	    .sp = PT_REGS_SP(ctx),
	    .bp = PT_REGS_FP(ctx),
	    .table = unwind_live & 1,
	    .end = MS_UNWIND_NO_MODULE,
	};

	if (walk_depth)
		bpf_loop(walk_depth, walk_step, &w, 0);
	e->nframes = w.n;
	e->end = w.end;
	e->pc = w.pc;
	e->sp = w.sp;
	e->bp = w.bp;
}

#endif
