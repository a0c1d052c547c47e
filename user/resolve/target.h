/* SPDX-License-Identifier: GPL-2.0 */
/* The process to trace: checks, and which allocator library it really uses. */
#ifndef MEMSTUDY_TARGET_H
#define MEMSTUDY_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "memstudy.h"
#include "resolve/alloc_spec.h"
#include "resolve/glibc_steps.h"
#include "resolve/probe_place.h"

/* One allocator function: its symbol and what the BPF side reads (bpf/memstudy.h). */
struct ms_fn_spec {
	const char *name;
	unsigned int size_arg, count_arg, ptr_arg; /* 1-based, 0 = none */
	enum ms_fn_kind kind;
};

/* One function of the report: the malloc family's, C++'s operators, or a custom allocator's. */
struct target_fn {
	bool found;
	uint64_t offset; /* file offset in target.allocator (custom: in file) */
	int alias_of;	 /* another function at the same address, or -1 */
	uint64_t size;
	struct probe_site site;	 /* where the probes go: see probe_place.h */
	char name[SPEC_SYM_LEN]; /* the report's and the JSON's name */
	/* custom allocators (slots from MS_FN_CUSTOM) */
	bool elsewhere;	   /* not here (found false) but in another image of the tree */
	int family;	   /* its spec: target.families[family] */
	unsigned int pool; /* the pool argument, 0 = none (in spec.ptr_arg for the probes) */
	int arity;	   /* its arguments from DWARF, or FN_ARITY_UNKNOWN (fn_arity.h) */
	struct ms_fn_spec spec;
	char file[PATH_MAX];
};

/* A custom allocator: a spec whose functions were found. */
struct target_family {
	char name[SPEC_NAME_LEN];
	bool builtin;	     /* chosen by memstudy, not named by the user */
	char file[PATH_MAX]; /* where its first function is */
};

/* One C++ operator variant (ms_variants[]), probed in target.cxx. */
struct target_variant {
	bool found;
	uint64_t offset; /* file offset in target.cxx */
	uint64_t size;
	int alias_of;	   /* a malloc-family function at the same address (target.cxx is the
			    * allocator): its probe counts the calls, or -1 */
	int alias_variant; /* an earlier variant at the same address in the same file
			    * (tcmalloc's new and new[] are one function): counted there, or -1 */
	struct probe_site site;
};

struct target {
	pid_t pid;
	char comm[32];
	char exe[PATH_MAX];
	char allocator[PATH_MAX]; /* the file the malloc family is probed in */
	struct target_fn fn[MS_FN_MAX];
	/* function slots in use: MS_FN_COUNT and the custom allocators' (C++'s found when cxx[]
	 * names a file) */
	int nfn;
	const struct alloc_specs *specs; /* the user's, set before resolving; NULL: none */
	struct target_family families[SPECS_MAX + 4];
	int nfamilies;
	char cxx[PATH_MAX]; /* the file C++'s operators are probed in; "" without C++ */
	struct target_variant variants[MS_VARIANTS_MAX];
	bool has_phase; /* exe defines memstudy_phase() */
	uint64_t phase_offset;
	char searched[1024];	  /* files looked at, for error messages */
	bool probe_at_entry;	  /* --probe-at-entry: no placement past the first instruction */
	bool is_glibc;		  /* the allocator is glibc's libc: its own calls can be told */
	struct glibc_steps steps; /* its internal steps, when its debug file is installed */
	bool quiet;		  /* resolving says nothing on failure */
	/* --follow: a spec's module missing here may be another image's: not an error */
	bool specs_optional;
	/* resolve_exec with another process's dynamic-linker environment (--follow: a
	 * child's LD_PRELOAD and LD_LIBRARY_PATH, not memstudy's): "NAME=value" or "" */
	bool env_given;
	char ld_env[2][PATH_MAX];
};

extern const struct ms_fn_spec ms_fn_specs[MS_FN_COUNT];

/*
 * A variant: a C++ operator overload (in target.cxx), or an allocator's own API function
 * (jemalloc's mallocx, mimalloc's mi_zalloc..., in target.allocator): its symbol, the
 * report function it counts in, how the report names it, and what the BPF side reads.
 */
enum ms_variant_file { MS_IN_CXX, MS_IN_ALLOCATOR };
struct ms_variant {
	const char *sym;
	int fn;
	const char *label;
	enum ms_variant_file file;
	struct ms_fn_spec args; /* .name unused */
};
extern const struct ms_variant ms_variants[];
extern const int ms_nvariants;

/* Which allocator a file is, by its name: "glibc", "jemalloc", "tcmalloc", "mimalloc",
 * "libstdc++", or the file's base name. */
const char *target__allocator_name(const char *path);
extern const char *const ms_fn_names[MS_FN_MAX];
extern const char *const ms_sys_names[MS_SYS_MAX];

/* 0, or prints one line saying what is wrong and returns -1. */
int target__check_pid(struct target *t, pid_t pid);
/* Find the allocator among the objects a running process has mapped. */
int target__resolve_pid(struct target *t);
/* CMD as execve() wants it, searched in PATH like a shell does, into PATH (SIZE bytes). 0, or
 * the shell's exit code (127 not found, 126 not executable) after saying why. */
int target__command_path(const char *cmd, char *path, size_t size);
/* Find the allocator the program at PATH will use once exec'd (ld.so --list). */
int target__resolve_exec(struct target *t, const char *path);
/* Decide each function's probe site (after resolving). */
void target__place_probes(struct target *t);
/* The same, taken from LIKE where it probes the same allocator and C++ files. */
void target__place_probes_like(struct target *t, const struct target *like);
/* After T exec'ed into EXE: is the new image's allocator the file T's probes are on (then
 * its calls keep being counted)? Its allocator's path, or "none found", into ALLOCATOR. */
bool target__exec_traced(const struct target *t, const char *exe, char *allocator, size_t len);
/* Take PID's LD_PRELOAD and LD_LIBRARY_PATH for target__resolve_exec (/proc/PID/environ). */
void target__env_of(struct target *t, pid_t pid);
/* The text (r-xp) mapping of the dynamic loader in process PID (from its AT_BASE). */
bool target__loader_text(pid_t pid, uint64_t *start, uint64_t *end);
/* C++ variant V has a probe of its own (found, and at no address already probed). */
bool target__variant_probed(const struct target *t, int v);
/* Variant V gets an entry probe only: libstdc++'s throwing operator new, through which a
 * bad_alloc must unwind (MS_COOKIE_ENTRY_ONLY). */
bool target__variant_entry_only(const struct target *t, int v);
/* The file variant V is probed in. */
const char *target__variant_file(const struct target *t, int v);
/* The BPF cookie of C++ variant V's probes. */
uint64_t target__variant_cookie(const struct target *t, int v);
/* The BPF cookie of FN's probes: its slot, arguments and kind, as placed. */
/*
 * --follow: T's custom functions (an exec'd image's) moved to the slots the tree's ROOT
 * target gives their names, ROOT naming those it has not yet (elsewhere: true, found:
 * false, so nothing of theirs is probed in ROOT's own process). Across a followed tree one
 * function is one slot: in the kernel's counts, per process and in the report. Returns how
 * many functions had no slot left (MS_FN_MAX) and were left out.
 */
int target__share_slots(struct target *t, struct target *root);
/* The first function of a spec given by the user that no image of ROOT's tree had
 * (target__share_slots named the others'), or NULL. */
const char *target__spec_unmatched(const struct target *root);
uint64_t target__cookie(const struct target *t, int fn);
/* The file function FN is probed in. */
const char *target__fn_file(const struct target *t, int fn);
/* Every function's name, for tables indexed by slot (NAMES holds MS_FN_MAX). */
void target__fn_names(const struct target *t, const char **names);

#endif
