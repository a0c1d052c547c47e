// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolve/elfsyms.h"
#include "resolve/glibc_steps.h"

/* clang-format off */
const char *const ms_step_names[MS_STEP_MAX] = {
#define MS_STEP_NAME(id, name) [MS_STEP_##id] = name,
	MS_GLIBC_STEPS(MS_STEP_NAME)
#undef MS_STEP_NAME
};
/* clang-format on */

const char glibc_steps_hint[] =
    "install libc6-dbg to see which calls consolidated fastbins, grew the heap (sysmalloc), "
    "unmapped a chunk or made an arena";

/*
 * libc functions that call malloc or realloc themselves and give the block to the program:
 * a call from inside them is the program's allocation, not glibc's own. Exported names
 * first; the internal ones only the debug file has.
 */
static const char *const user_fns[] = {
    "__strdup",
    "__strndup",
    "wcsdup",
    "__getdelim",
    "realpath",
    "open_memstream",
    "scandir",
    "getcwd",
    "tempnam",
    "get_current_dir_name",
    "open_wmemstream",
    "__vasprintf_internal",
    "backtrace_symbols",
    "canonicalize_file_name",
};

static void find_debug_file(struct glibc_steps *gs, struct elf_syms *libc)
{
	if (elf_syms__build_id(libc, gs->build_id, sizeof(gs->build_id)) < 2)
		gs->build_id[0] = '\0';
	else if (!elf_syms__debug_file(libc, gs->debug_file, sizeof(gs->debug_file)))
		gs->debug_file[0] = '\0';
}

void glibc_steps__resolve(struct glibc_steps *gs, const char *path, bool probe_at_entry)
{
	struct elf_syms *libc = elf_syms__open(path), *dbg = NULL;

	memset(gs, 0, sizeof(*gs));
	if (!libc)
		return;
	find_debug_file(gs, libc);
	if (gs->debug_file[0])
		dbg = elf_syms__open(gs->debug_file);
	for (size_t i = 0; i < sizeof(user_fns) / sizeof(*user_fns) && gs->nuser < GLIBC_USER_FNS;
	     i++) {
		uint64_t off, size;

		if ((elf_syms__find(libc, user_fns[i], &off, &size) ||
		     (dbg && elf_syms__find_debug(dbg, libc, user_fns[i], &off, &size))) &&
		    size) {
			gs->user_lo[gs->nuser] = off;
			gs->user_hi[gs->nuser++] = off + size;
		}
	}
	for (int s = 0; dbg && s < MS_STEP_COUNT; s++) {
		uint64_t off, size;

		if (!elf_syms__find_debug(dbg, libc, ms_step_names[s], &off, &size))
			continue;
		/* the probes read no argument: any instruction every call passes will do */
		probe_place(libc, path, off, size, 0, probe_at_entry, &gs->site[s]);
		gs->found[s] = true;
	}
	elf_syms__close(dbg);
	elf_syms__close(libc);
}

int glibc_steps__count(const struct glibc_steps *gs)
{
	int n = 0;

	for (int s = 0; s < MS_STEP_COUNT; s++)
		n += gs->found[s];
	return n;
}
