// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analyse/addr_index.h"
#include "analyse/codemap.h"
#include "analyse/peralloc.h"
#include "analyse/symbolize.h"
#include "lib/util.h"
#include "output/check.h"
#include "output/frames.h"

enum { B_LIVE = 1, B_FREED };
#define NO_STACK UINT32_MAX

/* What the stream said of one address: its last block. */
struct cblock {
	uint64_t ptr, size, alloc_ts, free_ts, caller;
	uint32_t stack, free_tid;
	uint8_t state;
};

enum issue_kind {
	I_DOUBLE_FREE,	 /* free of a block already freed */
	I_UNKNOWN_FREE,	 /* free of a pointer never returned */
	I_FREED_REALLOC, /* realloc of a block already freed */
	I_UNKNOWN_REALLOC,
	I_KINDS,
};
static const char *const issue_names[I_KINDS] = {"double_free", "free_of_unknown_pointer",
						 "realloc_of_freed_block",
						 "realloc_of_unknown_pointer"};
static const char *const issue_titles[I_KINDS] = {
    "double frees (a block freed again)", "frees of pointers the allocator never returned",
    "reallocs of freed blocks", "reallocs of pointers the allocator never returned"};

#define ISSUES_KEPT 64

struct issue {
	uint64_t ptr, ts, tid;
	struct cblock b; /* the block as it was: its allocation, its first free */
	bool known;	 /* b is a block the trace saw */
};

struct checker {
	struct cblock *v;
	uint64_t cap, n;
	uint64_t count[I_KINDS];
	struct issue kept[I_KINDS][ISSUES_KEPT];
};

struct checker *checker__new(void)
{
	return calloc(1, sizeof(struct checker));
}

void checker__free(struct checker *c)
{
	if (!c)
		return;
	free(c->v);
	free(c);
}

/* The slot of PTR (made when CREATE), or NULL. */
static struct cblock *slot(struct checker *c, uint64_t ptr, bool create)
{
	uint64_t i;

	if (create && (c->n + 1) * 2 > c->cap) {
		uint64_t cap = c->cap ? c->cap * 2 : 4096;
		struct cblock *v = calloc(cap, sizeof(*v));

		if (!v)
			return NULL;
		for (uint64_t k = 0; k < c->cap; k++) {
			if (!c->v[k].state)
				continue;
			for (i = hash64(c->v[k].ptr) & (cap - 1); v[i].state;
			     i = (i + 1) & (cap - 1))
				;
			v[i] = c->v[k];
		}
		free(c->v);
		c->v = v;
		c->cap = cap;
	}
	if (!c->cap)
		return NULL;
	for (i = hash64(ptr) & (c->cap - 1); c->v[i].state; i = (i + 1) & (c->cap - 1))
		if (c->v[i].ptr == ptr)
			return &c->v[i];
	if (!create)
		return NULL;
	c->n++;
	c->v[i].ptr = ptr;
	return &c->v[i];
}

static void issue(struct checker *c, enum issue_kind k, uint64_t ptr, uint64_t ts, uint32_t tid,
		  const struct cblock *b)
{
	if (c->count[k] < ISSUES_KEPT) {
		struct issue *is = &c->kept[k][c->count[k]];

		is->ptr = ptr;
		is->ts = ts;
		is->tid = tid;
		is->known = b != NULL;
		if (b)
			is->b = *b;
	}
	c->count[k]++;
}

/* PTR freed at TS by TID (by a free, or a realloc: REALLOC). */
static void freed(struct checker *c, uint64_t ptr, uint64_t ts, uint32_t tid, bool realloc)
{
	struct cblock *b = slot(c, ptr, false);

	if (b && b->state == B_LIVE) {
		b->state = B_FREED;
		b->free_ts = ts;
		b->free_tid = tid;
	} else if (b) {
		issue(c, realloc ? I_FREED_REALLOC : I_DOUBLE_FREE, ptr, ts, tid, b);
	} else { /* with --pid, a block older than the trace: said so when printed */
		issue(c, realloc ? I_UNKNOWN_REALLOC : I_UNKNOWN_FREE, ptr, ts, tid, NULL);
	}
}

void checker__record(void *ctx, struct peralloc *pa, uint32_t pid, const void *rec, uint32_t len)
{
	struct checker *c = ctx;
	uint32_t type = *(const uint32_t *)rec;

	if (type == MS_EV_ALLOC && len >= sizeof(struct ms_event_alloc)) {
		const struct ms_event_alloc *a = rec;
		struct cblock *b;

		if (a->fn >= MS_FN_CUSTOM)
			return; /* the malloc family's and C++'s calls */
		if (a->kind == MS_KIND_REALLOC && a->old_ptr && (a->ptr || !a->size))
			freed(c, a->old_ptr, a->ts_ns, a->tid, true);
		if (!a->ptr || !(b = slot(c, a->ptr, true)))
			return;
		b->state = B_LIVE;
		b->size = a->size;
		b->alloc_ts = a->ts_ns;
		b->caller = a->caller;
		b->free_ts = 0;
		/* memstudy report's allocation records carry their stack's id */
		b->stack = a->stack_id == MS_STACK_UNWOUND &&
				   len >= offsetof(struct ms_event_alloc_stack, frames)
			       ? ((const struct ms_event_alloc_stack *)rec)->stack_len
			       : NO_STACK;
	} else if (type == MS_EV_FREE && len >= sizeof(struct ms_event_free)) {
		const struct ms_event_free *f = rec;

		if (f->fn < MS_FN_CUSTOM && f->kind == MS_KIND_FREE && f->ptr)
			freed(c, f->ptr, f->ts_ns, f->tid, false);
	}
}

static double since(uint64_t ts, uint64_t t0)
{
	return ts > t0 ? (ts - t0) / 1e9 : 0;
}

/* The allocation's frames, named: "f (file:line) <- g ..." into BUF. */
static void stack_text(const struct cblock *b, struct peralloc *pa, checker_stack_fn stacks,
		       void *ctx, bool pc_first, char *buf, size_t len)
{
	struct codemap *cm = peralloc__codemap(pa);
	struct sym_info si[16];
	uint64_t addrs[16], one = b->caller;
	const uint64_t *frames = &one;
	int n = 1, k;

	if (b->stack != NO_STACK && stacks)
		n = stacks(ctx, b->stack, &frames);
	if (n <= 0) {
		frames = &one;
		n = 1;
	}
	k = codemap__symbolize(cm, frames, n, pc_first, si, addrs, 16);
	buf[0] = '\0';
	for (int i = 0; i < k && i < 6; i++) {
		char fr[256];

		frame_label(&si[i], addrs[i], fr, sizeof(fr));
		appendf(buf, len, "%s%s", i ? " <- " : "", fr);
		if (si[i].file)
			appendf(buf, len, " (%s:%d)",
				strrchr(si[i].file, '/') ? strrchr(si[i].file, '/') + 1
							 : si[i].file,
				si[i].line);
	}
}

/* The freed block that held ADDR, as the stream last said, or NULL. */
static const struct cblock *freed_block_at(const struct checker *c, uint64_t addr)
{
	for (uint64_t i = 0; i < c->cap; i++) {
		const struct cblock *b = &c->v[i];

		if (b->state == B_FREED && addr >= b->ptr && addr < b->ptr + b->size)
			return b;
	}
	return NULL;
}

/* The touches of freed memory, grouped by the instruction that made them. */
static void print_touches(struct checker *c, struct peralloc *pa, checker_stack_fn stacks,
			  void *ctx, uint64_t t0_ns, const struct pa_freed_touch *t, uint64_t n,
			  FILE *out)
{
	bool done[PA_FREED_TOUCH_MAX] = {false};
	char st[2048];

	for (uint64_t i = 0; i < n; i++) {
		struct cblock at = {.caller = t[i].ip, .stack = NO_STACK};
		uint64_t count = 0, lo = t[i].addr, hi = t[i].addr;
		const struct cblock *b;

		if (done[i])
			continue;
		for (uint64_t j = i; j < n; j++)
			if (!done[j] && t[j].ip == t[i].ip) {
				done[j] = true;
				count++;
				lo = t[j].addr < lo ? t[j].addr : lo;
				hi = t[j].addr > hi ? t[j].addr : hi;
			}
		/* the instruction that touched it: a program counter, not a return address */
		stack_text(&at, pa, NULL, NULL, true, st, sizeof(st));
		fprintf(out,
			"    %" PRIu64 " by %s, 0x%" PRIx64 "-0x%" PRIx64
			", from %.6f s (tid %u)\n",
			count, st, lo, hi, since(t[i].ts_ns, t0_ns), t[i].tid);
		b = freed_block_at(c, t[i].addr);
		if (b) {
			stack_text(b, pa, stacks, ctx, false, st, sizeof(st));
			fprintf(out,
				"      inside a block of %" PRIu64 " B freed at %.6f s (tid %u), "
				"allocated at %.6f s: %s\n",
				b->size, since(b->free_ts, t0_ns), b->free_tid,
				since(b->alloc_ts, t0_ns), st);
		}
	}
}

/* --pid: pointers never seen allocated were allocated before the trace */
static bool not_an_error(enum issue_kind k, bool attached_late)
{
	return attached_late && (k == I_UNKNOWN_FREE || k == I_UNKNOWN_REALLOC);
}

uint64_t checker__print(struct checker *c, struct peralloc *pa, checker_stack_fn stacks, void *ctx,
			uint64_t t0_ns, bool attached_late, FILE *out)
{
	uint64_t total = 0, nt;
	const struct pa_freed_touch *t = peralloc__freed_touches(pa, &nt);
	char st[2048];

	for (int k = 0; k < I_KINDS; k++)
		total += not_an_error(k, attached_late) ? 0 : c->count[k];
	fprintf(out,
		"Checks of the allocator calls (as mcheck and memcheck make them): %llu "
		"problems in the calls, %llu touches of freed memory\n",
		(unsigned long long)total, (unsigned long long)nt);
	for (int k = 0; k < I_KINDS; k++) {
		if (not_an_error(k, attached_late)) {
			fprintf(out,
				"  %-60s %llu (attached with --pid: blocks older than the trace)\n",
				issue_titles[k], (unsigned long long)c->count[k]);
			continue;
		}
		fprintf(out, "  %-60s %llu\n", issue_titles[k], (unsigned long long)c->count[k]);
		for (uint64_t i = 0; i < c->count[k] && i < ISSUES_KEPT; i++) {
			const struct issue *is = &c->kept[k][i];

			fprintf(out, "    0x%" PRIx64 " at %.6f s by tid %" PRIu64, is->ptr,
				since(is->ts, t0_ns), is->tid);
			if (is->known && is->b.state == B_FREED)
				fprintf(out, ": freed before at %.6f s by tid %u",
					since(is->b.free_ts, t0_ns), is->b.free_tid);
			fputc('\n', out);
			if (is->known) {
				stack_text(&is->b, pa, stacks, ctx, false, st, sizeof(st));
				fprintf(out,
					"      a block of %" PRIu64 " B allocated at %.6f s: %s\n",
					is->b.size, since(is->b.alloc_ts, t0_ns), st);
			}
		}
	}
	fprintf(out, "  %-60s %llu\n",
		"touches of freed memory (faults in it outside allocator calls)",
		(unsigned long long)nt);
	print_touches(c, pa, stacks, ctx, t0_ns, t,
		      nt < PA_FREED_TOUCH_MAX ? nt : PA_FREED_TOUCH_MAX, out);
	fprintf(out, "  (a free's own stack is not recorded: the allocation's is shown; a touch "
		     "of freed memory shows only when its page had been given back, as after "
		     "malloc_trim)\n");
	return total + nt;
}

json_object *checker__json(struct checker *c, struct peralloc *pa, checker_stack_fn stacks,
			   void *ctx, uint64_t t0_ns, bool attached_late)
{
	json_object *root = json_object_new_object(), *touches = json_object_new_array();
	const struct pa_freed_touch *t;
	uint64_t nt;
	char st[2048];

	for (int k = 0; k < I_KINDS; k++) {
		json_object *o = json_object_new_object(), *arr = json_object_new_array();

		json_object_object_add(o, "count", json_object_new_uint64(c->count[k]));
		json_object_object_add(o, "older_than_the_trace",
				       json_object_new_boolean(not_an_error(k, attached_late)));
		for (uint64_t i = 0; i < c->count[k] && i < ISSUES_KEPT; i++) {
			const struct issue *is = &c->kept[k][i];
			json_object *j = json_object_new_object();
			char hex[32];

			snprintf(hex, sizeof(hex), "0x%" PRIx64, is->ptr);
			json_object_object_add(j, "ptr", json_object_new_string(hex));
			json_object_object_add(j, "t_s",
					       json_object_new_double(since(is->ts, t0_ns)));
			json_object_object_add(j, "tid", json_object_new_uint64(is->tid));
			if (is->known) {
				stack_text(&is->b, pa, stacks, ctx, false, st, sizeof(st));
				json_object_object_add(j, "size",
						       json_object_new_uint64(is->b.size));
				json_object_object_add(
				    j, "allocated_s",
				    json_object_new_double(since(is->b.alloc_ts, t0_ns)));
				json_object_object_add(j, "allocated_at",
						       json_object_new_string(st));
				if (is->b.state == B_FREED) {
					json_object_object_add(
					    j, "freed_before_s",
					    json_object_new_double(since(is->b.free_ts, t0_ns)));
					json_object_object_add(
					    j, "freed_before_tid",
					    json_object_new_uint64(is->b.free_tid));
				}
			}
			json_object_array_add(arr, j);
		}
		json_object_object_add(o, "first", arr);
		json_object_object_add(root, issue_names[k], o);
	}
	t = peralloc__freed_touches(pa, &nt);
	for (uint64_t i = 0; i < nt && i < PA_FREED_TOUCH_MAX; i++) {
		struct cblock at = {.caller = t[i].ip, .stack = NO_STACK};
		json_object *j = json_object_new_object();
		const struct cblock *b;
		char hex[32];

		stack_text(&at, pa, NULL, NULL, true, st, sizeof(st));
		snprintf(hex, sizeof(hex), "0x%" PRIx64, t[i].addr);
		json_object_object_add(j, "addr", json_object_new_string(hex));
		json_object_object_add(j, "t_s", json_object_new_double(since(t[i].ts_ns, t0_ns)));
		json_object_object_add(j, "tid", json_object_new_uint64(t[i].tid));
		json_object_object_add(j, "by", json_object_new_string(st));
		if ((b = freed_block_at(c, t[i].addr))) {
			stack_text(b, pa, stacks, ctx, false, st, sizeof(st));
			json_object_object_add(j, "block_size", json_object_new_uint64(b->size));
			json_object_object_add(j, "block_freed_s",
					       json_object_new_double(since(b->free_ts, t0_ns)));
			json_object_object_add(j, "block_allocated_at", json_object_new_string(st));
		}
		json_object_array_add(touches, j);
	}
	json_object_object_add(root, "freed_memory_touches", json_object_new_uint64(nt));
	json_object_object_add(root, "freed_memory_touches_first", touches);
	return root;
}
