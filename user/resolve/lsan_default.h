/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A program's own LeakSanitizer suppressions: the string its __lsan_default_suppressions()
 * returns, read from the file without running it. The function is almost always "return a
 * string literal": lea rax, [rip + X] (after endbr64, or a frame set up at -O0), then ret.
 */
#ifndef MEMSTUDY_RESOLVE_LSAN_DEFAULT_H
#define MEMSTUDY_RESOLVE_LSAN_DEFAULT_H

/* The text (malloc'ed) of PATH's __lsan_default_suppressions, or NULL: no such function,
 * or one that does more than return a literal. */
char *lsan_default_suppressions(const char *path);

#endif
