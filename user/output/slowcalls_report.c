// SPDX-License-Identifier: GPL-2.0
/* The slowest calls and the syscalls outside allocator calls, as text and JSON. */
#include <stdlib.h>
#include <string.h>

#include "analyse/slowcalls_int.h"
#include "analyse/unwind.h"
#include "lib/fmt.h"
#include "output/frames.h"
#include "resolve/glibc_steps.h"
#include "resolve/target.h"

#define U64(v) json_object_new_uint64(v)

static int by_ns_desc(const void *a, const void *b)
{
	const struct sc_call *x = a, *y = b;

	return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

static void sort_calls(struct slowcalls *sc, int fn)
{
	qsort(sc->calls[fn], sc->ncalls[fn], sizeof(struct sc_call), by_ns_desc);
}

/* The syscall's arguments that matter, as the text shows them: "brk -763.0 MiB". */
static void syscall_args(const struct ms_call_syscall *c, char *buf, size_t size)
{
	char b[32];

	fmt_bytes(b, sizeof(b), sc_syscall_bytes(c));
	if (c->sys == MS_SYS_BRK || c->sys == MS_SYS_MREMAP)
		snprintf(buf, size, "%s %s%s", ms_sys_names[c->sys], c->delta < 0 ? "-" : "+", b);
	else
		snprintf(buf, size, "%s %s", ms_sys_names[c->sys < MS_SYS_MAX ? c->sys : 0], b);
	if (c->result < 0 && c->result > -4096)
		snprintf(buf + strlen(buf), size - strlen(buf), " (failed: errno %lld)",
			 (long long)-c->result);
}

/* "f (file.c:12) <- g <- h", the first frames of a stack. */
static void print_chain(const struct sc_stack *st, FILE *out, int max)
{
	char fr[256];

	for (int f = 0; f < st->nsym && f < max; f++) {
		frame_label(&st->sym[f], st->sym_addr[f], fr, sizeof(fr));
		fprintf(out, "%s%s", f ? " <- " : "", fr);
		if (st->sym[f].file) {
			const char *base = strrchr(st->sym[f].file, '/');

			fprintf(out, " (%s:%d)", base ? base + 1 : st->sym[f].file,
				st->sym[f].line);
		}
	}
	if (!st->nsym)
		fprintf(out, "(no stack)");
	fputc('\n', out);
}

/* The call's time on the CPU in user mode: what neither syscalls nor switches took (a
 * page fault's time is in it: no tracepoint marks a fault's end). */
static uint64_t user_ns(const struct sc_call *c)
{
	uint64_t other = c->w.sys_ns + c->w.offcpu_ns;

	return c->ns > other ? c->ns - other : 0;
}

static void print_call(const struct sc_call *c, FILE *out, uint64_t t0)
{
	const struct ms_call_work *w = &c->w;
	char a[32], b[32], d[32], args[96];

	fmt_ns(a, sizeof(a), c->ns);
	fmt_ns(b, sizeof(b), w->sys_ns);
	fmt_ns(d, sizeof(d), user_ns(c));
	fprintf(out, "    %9s  at %.3f s  tid %u  user %s, kernel %s in %u syscall%s, %llu fault%s",
		a, c->ts_ns > t0 ? (c->ts_ns - t0) / 1e9 : 0.0, c->tid, d, b, w->nsys,
		w->nsys == 1 ? "" : "s",
		(unsigned long long)w->faults, /* major faults are of these */
		w->faults == 1 ? "" : "s");
	if (w->switches)
		fprintf(out, ", off-CPU %s (%u switch%s)", fmt_ns(b, sizeof(b), w->offcpu_ns),
			w->switches, w->switches == 1 ? "" : "es");
	if (c->own)
		fprintf(out, "  [glibc's own call]");
	if (c->bytes)
		fprintf(out, "  %s", fmt_bytes(a, sizeof(a), c->bytes));
	fputc('\n', out);
	for (uint32_t i = 0; i < w->nsys && i < MS_CALL_SYSCALLS; i++) {
		syscall_args(&w->sys[i], args, sizeof(args));
		fprintf(out, "                 %s  %s\n", args, fmt_ns(a, sizeof(a), w->sys[i].ns));
	}
	if (w->nsys > MS_CALL_SYSCALLS)
		fprintf(out, "                 ... %u more syscalls\n", w->nsys - MS_CALL_SYSCALLS);
	for (int s = 0; s < MS_STEP_COUNT; s++)
		if (w->step_calls[s])
			fprintf(out, "                 inside: %s x%u  %s\n", ms_step_names[s],
				w->step_calls[s], fmt_ns(a, sizeof(a), w->step_ns[s]));
	fprintf(out, "                 from: ");
	print_chain(&c->st, out, 4);
}

static int by_key_desc(const void *a, const void *b, bool by_bytes)
{
	const struct sc_site *x = *(struct sc_site *const *)a, *y = *(struct sc_site *const *)b;
	uint64_t kx = by_bytes ? x->bytes : x->ns, ky = by_bytes ? y->bytes : y->ns;

	return kx < ky ? 1 : kx > ky ? -1 : 0;
}

static int by_bytes_desc(const void *a, const void *b)
{
	return by_key_desc(a, b, true);
}

static int by_time_desc(const void *a, const void *b)
{
	return by_key_desc(a, b, false);
}

/* The sites sorted by bytes or time; NULL when there are none. */
static struct sc_site **sorted_sites(struct slowcalls *sc, bool by_bytes)
{
	struct sc_site **v = sc->nsites ? malloc(sc->nsites * sizeof(*v)) : NULL;

	if (!v)
		return NULL;
	for (uint32_t i = 0; i < sc->nsites; i++)
		v[i] = &sc->sites[i];
	qsort(v, sc->nsites, sizeof(*v), by_bytes ? by_bytes_desc : by_time_desc);
	return v;
}

static void print_sites(struct slowcalls *sc, FILE *out, int top, bool by_bytes)
{
	struct sc_site **v = sorted_sites(sc, by_bytes);
	char a[32], b[32];

	if (!v)
		return;
	fprintf(out, "  by %s:\n", by_bytes ? "bytes" : "time");
	for (uint32_t i = 0; i < sc->nsites && (int)i < top; i++) {
		const struct sc_site *s = v[i];

		fprintf(out, "    %-8s %6llu call%s %10s %10s  ", ms_sys_names[s->sys % MS_SYS_MAX],
			(unsigned long long)s->calls, s->calls == 1 ? " " : "s",
			fmt_bytes(a, sizeof(a), s->bytes), fmt_ns(b, sizeof(b), s->ns));
		print_chain(&s->st, out, 4);
	}
	free(v);
}

void slowcalls__print_text(struct slowcalls *sc, FILE *out, const char *const *fn_names, int nfn,
			   uint64_t t0, int top)
{
	bool any = false;

	for (int fn = 0; fn < nfn && fn < MS_FN_MAX; fn++) {
		if (!sc->ncalls[fn])
			continue;
		if (!any)
			fprintf(out,
				"\nSlowest calls (the %d slowest of each function; kernel: the "
				"syscalls inside the call; off-CPU: switched out; user: the rest, "
				"page faults included):\n",
				sc->n);
		any = true;
		sort_calls(sc, fn);
		fprintf(out, "  %s:\n", fn_names[fn]);
		for (int i = 0; i < sc->ncalls[fn]; i++)
			print_call(&sc->calls[fn][i], out, t0);
	}
	if (sc->lost_slow)
		fprintf(out,
			"  INCOMPLETE: %llu slow-call records were lost (ring buffer full): a "
			"slowest call may be missing\n",
			(unsigned long long)sc->lost_slow);
	if (!sc->nsites && !sc->lost_syscalls)
		return;
	fprintf(out,
		"\nMemory syscalls outside allocator calls, by caller (%llu calls from %u "
		"stacks):\n",
		(unsigned long long)sc->syscall_records, sc->nsites);
	print_sites(sc, out, top, true);
	print_sites(sc, out, top, false);
	if (sc->sites_merged)
		fprintf(out, "  %llu more calls from stacks past the first 4096 are not listed\n",
			(unsigned long long)sc->sites_merged);
	if (sc->lost_syscalls)
		fprintf(out, "  INCOMPLETE: %llu syscall records were lost (ring buffer full)\n",
			(unsigned long long)sc->lost_syscalls);
}

static json_object *json_stack(const struct sc_stack *st)
{
	json_object *o = json_object_new_object(), *labels, *locs;

	frames_json(st->sym, st->sym_addr, st->nsym, &labels, &locs);
	json_object_object_add(o, "frames", labels);
	json_object_object_add(o, "locations", locs);
	json_object_object_add(o, "end", json_object_new_string(unwind_end_names[st->end]));
	return o;
}

static json_object *json_call(const struct sc_call *c, uint64_t t0)
{
	const struct ms_call_work *w = &c->w;
	json_object *o = json_object_new_object(), *sys = json_object_new_array();
	json_object *in = json_object_new_array(), *st = json_stack(&c->st);

	json_object_object_add(o, "ns", U64(c->ns));
	json_object_object_add(o, "user_ns", U64(user_ns(c)));
	json_object_object_add(o, "kernel_ns", U64(w->sys_ns));
	json_object_object_add(o, "offcpu_ns", U64(w->offcpu_ns));
	json_object_object_add(o, "switches", U64(w->switches));
	json_object_object_add(o, "t_ns", U64(c->ts_ns > t0 ? c->ts_ns - t0 : 0));
	json_object_object_add(o, "tid", U64(c->tid));
	json_object_object_add(o, "bytes", U64(c->bytes));
	json_object_object_add(o, "by_glibc", json_object_new_boolean(c->own));
	json_object_object_add(o, "faults", U64(w->faults));
	json_object_object_add(o, "major_faults", U64(w->major_faults));
	json_object_object_add(o, "syscall_count", U64(w->nsys));
	for (uint32_t i = 0; i < w->nsys && i < MS_CALL_SYSCALLS; i++) {
		const struct ms_call_syscall *s = &w->sys[i];
		json_object *so = json_object_new_object();

		json_object_object_add(so, "name",
				       json_object_new_string(ms_sys_names[s->sys % MS_SYS_MAX]));
		json_object_object_add(so, "ns", U64(s->ns));
		json_object_object_add(so, "bytes", U64(sc_syscall_bytes(s)));
		json_object_object_add(so, "len", U64(s->len));
		json_object_object_add(so, "delta", json_object_new_int64(s->delta));
		json_object_object_add(so, "result", json_object_new_int64(s->result));
		json_object_array_add(sys, so);
	}
	json_object_object_add(o, "syscalls", sys);
	for (int s = 0; s < MS_STEP_COUNT; s++) {
		json_object *so;

		if (!w->step_calls[s])
			continue;
		so = json_object_new_object();
		json_object_object_add(so, "name", json_object_new_string(ms_step_names[s]));
		json_object_object_add(so, "calls", U64(w->step_calls[s]));
		json_object_object_add(so, "ns", U64(w->step_ns[s]));
		json_object_array_add(in, so);
	}
	json_object_object_add(o, "internal", in);
	json_object_object_add(o, "frames", json_object_get(json_object_object_get(st, "frames")));
	json_object_object_add(o, "locations",
			       json_object_get(json_object_object_get(st, "locations")));
	json_object_object_add(o, "stack_end", json_object_get(json_object_object_get(st, "end")));
	json_object_put(st);
	return o;
}

static json_object *json_sites(struct slowcalls *sc, bool by_bytes)
{
	struct sc_site **v = sorted_sites(sc, by_bytes);
	json_object *a = json_object_new_array();

	for (uint32_t i = 0; v && i < sc->nsites; i++) {
		const struct sc_site *s = v[i];
		json_object *o = json_stack(&s->st);

		json_object_object_add(o, "syscall",
				       json_object_new_string(ms_sys_names[s->sys % MS_SYS_MAX]));
		json_object_object_add(o, "calls", U64(s->calls));
		json_object_object_add(o, "failed", U64(s->failed));
		json_object_object_add(o, "bytes", U64(s->bytes));
		json_object_object_add(o, "ns", U64(s->ns));
		json_object_object_add(o, "max_ns", U64(s->max_ns));
		json_object_array_add(a, o);
	}
	free(v);
	return a;
}

void slowcalls__add_json(struct slowcalls *sc, json_object *root, const char *const *fn_names,
			 int nfn, uint64_t t0)
{
	json_object *fns = json_object_object_get(root, "functions"), *out;

	for (int fn = 0; fns && fn < nfn && fn < MS_FN_MAX; fn++) {
		json_object *fo = json_object_object_get(fns, fn_names[fn]), *a;

		if (!fo)
			continue;
		sort_calls(sc, fn);
		a = json_object_new_array();
		for (int i = 0; i < sc->ncalls[fn]; i++)
			json_object_array_add(a, json_call(&sc->calls[fn][i], t0));
		json_object_object_add(fo, "slowest", a);
	}
	out = json_object_new_object();
	json_object_object_add(out, "calls", U64(sc->syscall_records));
	json_object_object_add(out, "stacks", U64(sc->nsites));
	json_object_object_add(out, "calls_not_listed", U64(sc->sites_merged));
	json_object_object_add(out, "records_lost", U64(sc->lost_syscalls));
	json_object_object_add(out, "by_bytes", json_sites(sc, true));
	json_object_object_add(out, "by_time", json_sites(sc, false));
	json_object_object_add(root, "syscalls_outside_calls", out);
	json_object_object_add(root, "slow_call_records_lost", U64(sc->lost_slow));
}
