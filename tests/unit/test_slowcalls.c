// SPDX-License-Identifier: GPL-2.0
/*
 * The slow-call collector from records alone: it keeps the N slowest of each function
 * whatever order their records come in, keeps what happened inside them, groups the
 * syscalls made outside allocator calls by the stack that made them, and names them.
 * glibc's internal steps and the functions that allocate for the program are found in
 * this machine's libc (and its debug file, when installed).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyse/codemap.h"
#include "analyse/slowcalls_int.h"
#include "resolve/glibc_steps.h"
#include "resolve/target.h"
#include "check.h"

static void slow_record(struct slowcalls *sc, int fn, uint64_t ns, uint32_t nsys)
{
	/* a record cut after 16 bytes of stack, as the ring buffer would carry it */
	size_t size = offsetof(struct ms_event_slow, stack) + 16;
	struct ms_event_slow *e = calloc(1, sizeof(*e));

	e->type = MS_EV_SLOW;
	e->tid = 77;
	e->ts_ns = 1000 + ns;
	e->ns = ns;
	e->fn = fn;
	e->stack_len = MS_STACK_COPY_MAX; /* more than the record holds: cut to what it has */
	e->work = nsys > 0;
	e->w.nsys = nsys;
	if (nsys) {
		e->w.sys[0] = (struct ms_call_syscall){
		    .ns = ns / 2, .sys = MS_SYS_BRK, .delta = -(64 << 20), .result = 0x5000};
		e->w.sys_ns = ns / 2;
	}
	slowcalls__event(sc, e, size);
	free(e);
}

static json_object *report_with(struct slowcalls *sc)
{
	json_object *root = json_object_new_object(), *fns = json_object_new_object();

	for (int i = 0; i < MS_FN_GLIBC_COUNT; i++)
		json_object_object_add(fns, ms_fn_names[i], json_object_new_object());
	json_object_object_add(root, "functions", fns);
	slowcalls__add_json(sc, root, ms_fn_names, MS_FN_GLIBC_COUNT, 1000);
	return root;
}

static json_object *slowest_of(json_object *root, const char *fn)
{
	json_object *fns = json_object_object_get(root, "functions");

	return json_object_object_get(json_object_object_get(fns, fn), "slowest");
}

static uint64_t u64_at(json_object *o, const char *key)
{
	return json_object_get_uint64(json_object_object_get(o, key));
}

TEST(keeps_the_n_slowest_in_any_order)
{
	struct slowcalls *sc = slowcalls__new(NULL, 5, 32);
	json_object *root, *a;

	CHECK(sc != NULL);
	/* 0..99 ns in a scrambled order; 97 is the only call with a syscall inside */
	for (int i = 0; i < 100; i++) {
		uint64_t ns = (uint64_t)(i * 37) % 100;

		slow_record(sc, MS_FN_FREE, ns, ns == 97);
	}
	slow_record(sc, MS_FN_MALLOC, 5, 0);
	CHECK_U64(sc->slow_records, 101);
	slowcalls__finish(sc, 0, 0);
	root = report_with(sc);
	a = slowest_of(root, "free");
	CHECK_U64(json_object_array_length(a), 5);
	for (int i = 0; i < 5; i++)
		CHECK_U64(u64_at(json_object_array_get_idx(a, i), "ns"), 99 - i);
	{
		json_object *c = json_object_array_get_idx(a, 2), *s;

		CHECK_U64(u64_at(c, "ns"), 97);
		CHECK_U64(u64_at(c, "t_ns"), 97); /* since the trace began (1000) */
		CHECK_U64(u64_at(c, "kernel_ns"), 48);
		CHECK_U64(u64_at(c, "user_ns"), 49);
		s = json_object_array_get_idx(json_object_object_get(c, "syscalls"), 0);
		CHECK_STR(json_object_get_string(json_object_object_get(s, "name")), "brk");
		CHECK_U64(u64_at(s, "bytes"), 64 << 20);
		CHECK_U64(json_object_get_int64(json_object_object_get(s, "delta")), -(64 << 20));
	}
	CHECK_U64(json_object_array_length(slowest_of(root, "malloc")), 1);
	CHECK_U64(json_object_array_length(slowest_of(root, "calloc")), 0);
	json_object_put(root);
	slowcalls__free(sc);
}

TEST(syscall_bytes_are_lengths_or_changes)
{
	struct ms_call_syscall brk = {.sys = MS_SYS_BRK, .delta = -8192};
	struct ms_call_syscall mr = {.sys = MS_SYS_MREMAP, .len = 3 << 20, .delta = 2 << 20};
	struct ms_call_syscall mm = {.sys = MS_SYS_MMAP, .len = 1 << 20};

	CHECK_U64(sc_syscall_bytes(&brk), 8192);
	CHECK_U64(sc_syscall_bytes(&mr), 2 << 20);
	CHECK_U64(sc_syscall_bytes(&mm), 1 << 20);
}

/* Two code addresses in this program, for stacks of one frame. */
__attribute__((noinline)) static int caller_one(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) static int caller_two(int x)
{
	return x * 5 + 2;
}

static void syscall_record(struct slowcalls *sc, uint64_t pc, uint32_t sys, uint64_t len,
			   uint64_t ns)
{
	struct ms_event_syscall e = {.type = MS_EV_SYSCALL, .tid = 5, .pc = pc};

	e.s = (struct ms_call_syscall){.sys = sys, .len = len, .ns = ns, .result = 0};
	slowcalls__event(sc, &e, offsetof(struct ms_event_syscall, stack));
}

TEST(syscalls_outside_calls_are_grouped_by_stack)
{
	struct codemap *cm = codemap__new(getpid());
	struct slowcalls *sc;
	json_object *root, *out, *by_bytes, *by_time, *top;
	uint64_t one = (uint64_t)(uintptr_t)caller_one + 1,
		 two = (uint64_t)(uintptr_t)caller_two + 1;

	CHECK(cm != NULL);
	codemap__refresh(cm, true); /* this program's code */
	sc = slowcalls__new(cm, 10, 8);
	syscall_record(sc, one, MS_SYS_MMAP, 4096, 100);
	syscall_record(sc, one, MS_SYS_MMAP, 8192, 100);
	syscall_record(sc, one, MS_SYS_MUNMAP, 4096, 900); /* another syscall: its own row */
	syscall_record(sc, two, MS_SYS_MMAP, 1 << 20, 10);
	slowcalls__finish(sc, 0, 3);
	root = report_with(sc);
	out = json_object_object_get(root, "syscalls_outside_calls");
	CHECK_U64(u64_at(out, "calls"), 4);
	CHECK_U64(u64_at(out, "stacks"), 3);
	CHECK_U64(u64_at(out, "records_lost"), 3);
	by_bytes = json_object_object_get(out, "by_bytes");
	by_time = json_object_object_get(out, "by_time");
	top = json_object_array_get_idx(by_bytes, 0);
	CHECK_U64(u64_at(top, "bytes"), 1 << 20);
	CHECK_STR(json_object_get_string(
		      json_object_array_get_idx(json_object_object_get(top, "frames"), 0)),
		  "caller_two");
	top = json_object_array_get_idx(by_bytes, 1);
	CHECK_U64(u64_at(top, "calls"), 2);
	CHECK_U64(u64_at(top, "bytes"), 12288);
	CHECK_STR(json_object_get_string(json_object_object_get(top, "syscall")), "mmap");
	top = json_object_array_get_idx(by_time, 0);
	CHECK_STR(json_object_get_string(json_object_object_get(top, "syscall")), "munmap");
	CHECK_U64(u64_at(top, "ns"), 900);
	json_object_put(root);
	slowcalls__free(sc);
	codemap__free(cm);
	CHECK(caller_one(1) + caller_two(1) == 11);
}

/* This machine's libc: Debian 12's glibc, and libc6-dbg where installed (CI installs it). */
static const char *libc_path(void)
{
	static const char *const paths[] = {"/lib/x86_64-linux-gnu/libc.so.6",
					    "/usr/lib/x86_64-linux-gnu/libc.so.6"};

	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++)
		if (!access(paths[i], R_OK))
			return paths[i];
	return NULL;
}

TEST(glibc_functions_that_allocate_for_the_program)
{
	struct glibc_steps gs;
	const char *libc = libc_path();

	CHECK(libc != NULL);
	setenv("MEMSTUDY_DEBUG_DIR", "/nonexistent", 1);
	glibc_steps__resolve(&gs, libc, false);
	unsetenv("MEMSTUDY_DEBUG_DIR");
	CHECK_STR(gs.debug_file, ""); /* none there */
	CHECK(strlen(gs.build_id) == 40);
	CHECK_U64(glibc_steps__count(&gs), 0);
	/* strdup, strndup, wcsdup, getdelim, realpath... are exported */
	CHECK(gs.nuser >= 8);
	for (unsigned int i = 0; i < gs.nuser; i++)
		CHECK(gs.user_lo[i] < gs.user_hi[i]);
}

TEST(glibc_steps_from_the_debug_file)
{
	struct glibc_steps gs;
	const char *libc = libc_path();

	CHECK(libc != NULL);
	glibc_steps__resolve(&gs, libc, false);
	if (!gs.debug_file[0]) {
		fprintf(stderr, "libc6-dbg is not installed: nothing more to check\n");
		return;
	}
	CHECK_CONTAINS(gs.debug_file, gs.build_id + 2);
	CHECK_U64(glibc_steps__count(&gs), MS_STEP_COUNT);
	CHECK(gs.found[MS_STEP_CONSOLIDATE] && gs.found[MS_STEP_SYSMALLOC]);
	/* the return probes need the entry: no step probe is moved past it */
	CHECK_U64(gs.site[MS_STEP_CONSOLIDATE].skip, 0);
	CHECK_U64(gs.site[MS_STEP_MUNMAP_CHUNK].skip, 0);
	/* __vasprintf_internal is named by the debug file only */
	CHECK(gs.nuser > 8);
}
