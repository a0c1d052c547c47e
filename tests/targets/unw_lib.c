// SPDX-License-Identifier: GPL-2.0
/* A frame in a shared library, built -O2 -fomit-frame-pointer like the rest of unw_chain. */
#include <stdlib.h>
#include <string.h>

void *volatile unw_sink;

__attribute__((noinline)) void unw_lib_level3(long n, void (*next)(long))
{
	char pad[64];

	memset(pad, (int)n, sizeof(pad)); /* a frame with locals of its own */
	unw_sink = pad;
	next(n);
	__asm__ volatile("" ::: "memory");
}
