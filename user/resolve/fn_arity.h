/* SPDX-License-Identifier: GPL-2.0 */
/* How many arguments a function takes, from its DWARF (fn_arity.c), to check a custom
 * allocator spec against. */
#ifndef MEMSTUDY_FN_ARITY_H
#define MEMSTUDY_FN_ARITY_H

#include <limits.h>

#define FN_ARITY_UNKNOWN  (-1)	  /* no DWARF describes it (a stripped build) */
#define FN_ARITY_VARIADIC INT_MAX /* takes "..." */

/* FUNC's parameters, from the DWARF of PATH or of its debug file (by build-id). */
int fn_arity(const char *path, const char *func);

#endif
