// SPDX-License-Identifier: GPL-2.0
/* A function's arity from DWARF (libdw): its DW_TAG_formal_parameter children. */
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "resolve/elfsyms.h"
#include "resolve/fn_arity.h"

struct arity_search {
	const char *name;
	int arity;
};

static int count_params(Dwarf_Die *fn)
{
	Dwarf_Die child;
	int n = 0;

	if (dwarf_child(fn, &child))
		return 0;
	do {
		if (dwarf_tag(&child) == DW_TAG_formal_parameter)
			n++;
		else if (dwarf_tag(&child) == DW_TAG_unspecified_parameters)
			return FN_ARITY_VARIADIC;
	} while (!dwarf_siblingof(&child, &child));
	return n;
}

static int on_func(Dwarf_Die *fn, void *arg)
{
	struct arity_search *s = arg;
	const char *name = dwarf_diename(fn);

	/* the definition (it has code), not a declaration or an inlined copy's abstract */
	if (!name || strcmp(name, s->name) || dwarf_hasattr(fn, DW_AT_declaration) ||
	    !dwarf_hasattr(fn, DW_AT_low_pc))
		return DWARF_CB_OK;
	s->arity = count_params(fn);
	return DWARF_CB_ABORT;
}

static int arity_in(const char *path, const char *func)
{
	struct arity_search s = {func, FN_ARITY_UNKNOWN};
	Dwarf_Off off = 0, next;
	size_t hsize;
	Dwarf *dw;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return FN_ARITY_UNKNOWN;
	dw = dwarf_begin(fd, DWARF_C_READ);
	while (dw && s.arity == FN_ARITY_UNKNOWN &&
	       !dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL)) {
		Dwarf_Die cu;

		if (dwarf_offdie(dw, off + hsize, &cu))
			dwarf_getfuncs(&cu, on_func, &s, 0);
		off = next;
	}
	if (dw)
		dwarf_end(dw);
	close(fd);
	return s.arity;
}

int fn_arity(const char *path, const char *func)
{
	char debug[4096];
	struct elf_syms *es;
	int n = arity_in(path, func);

	if (n != FN_ARITY_UNKNOWN)
		return n;
	es = elf_syms__open(path);
	if (es && elf_syms__debug_file(es, debug, sizeof(debug)))
		n = arity_in(debug, func);
	elf_syms__close(es);
	return n;
}
