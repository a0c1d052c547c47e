/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Custom allocators: what a function named on the command line (--alloc, --free, ...) or in
 * a spec file (--allocator-spec) does with its arguments, and the built-in specs memstudy
 * chooses itself when their symbols are present (TLSF, kamailio's q_malloc and f_malloc,
 * APR pools). Parsing only: resolve/target.c finds the symbols and probes them.
 */
#ifndef MEMSTUDY_ALLOC_SPEC_H
#define MEMSTUDY_ALLOC_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "memstudy.h"

#define SPEC_NAME_LEN	64
#define SPEC_SYM_LEN	128
#define SPEC_MODULE_LEN 256
#define SPEC_FNS_MAX	(MS_FN_MAX - MS_FN_CUSTOM) /* the function slots left */
#define SPEC_ARG_MAX	5 /* rdi, rsi, rdx, rcx, r8: the arguments a probe reads */
#define SPECS_MAX	8

/* One function: its symbol (in MODULE when given) and its arguments, 1-based, 0 = none. */
struct spec_fn {
	char module[SPEC_MODULE_LEN]; /* "" = wherever the program finds the symbol first */
	char sym[SPEC_SYM_LEN];
	enum ms_fn_kind kind;
	unsigned int size, count, ptr, pool;
};

/* An allocator: its functions, reported as one family under NAME. */
struct alloc_spec {
	char name[SPEC_NAME_LEN];
	bool builtin;
	int nfn;
	struct spec_fn fn[SPEC_FNS_MAX];
};

struct alloc_specs {
	int n;
	struct alloc_spec s[SPECS_MAX];
	bool no_builtin; /* --no-builtin-allocators */
};

/* The line words, in spec files and as options without their "--": "alloc", "free",
 * "realloc", "pool-create", "pool-clear", "pool-destroy". The kind of WORD, or 0. */
enum ms_fn_kind spec__kind_of(const char *word);
/* The word of a kind ("alloc"...). */
const char *spec__kind_word(enum ms_fn_kind kind);

/*
 * Add to S the function VALUE describes ("[MODULE:]FUNC[:key=N,...]") for the line word
 * WORD. 0, or -1 with what is wrong (one sentence) in ERR.
 */
int spec__add(struct alloc_spec *s, const char *word, const char *value, char *err, size_t len);
/* A spec's text: "name: NAME" and one "WORD [MODULE:]FUNC[:key=N,...]" per line, '#'
 * comments. 0, or -1 with "line N: what is wrong" in ERR. */
int spec__parse_text(struct alloc_spec *s, const char *text, char *err, size_t len);
/* The file PATH as a spec: 0, or -1 with "PATH:N: what is wrong" (or why it cannot be
 * read) in ERR. */
int spec__parse_file(struct alloc_spec *s, const char *path, char *err, size_t len);
/* One function as a spec line ("alloc apr_palloc:size=2,pool=1"). */
void spec__format_fn(const struct spec_fn *f, char *buf, size_t len);

/* The built-in specs, and how many. */
int spec__builtins(const struct alloc_spec **out);

#endif
