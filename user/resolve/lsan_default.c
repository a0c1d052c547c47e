// SPDX-License-Identifier: GPL-2.0
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolve/elfsyms.h"
#include "resolve/lsan_default.h"

#define SUPPRESSIONS_TEXT_MAX (64 << 10)

/* The string literal the code at VADDR (its first LEN bytes in CODE) returns, by address:
 * the first lea rax, [rip + disp32] followed within a few bytes by a ret. */
static bool literal_returned(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *str)
{
	for (size_t i = 0; i + 7 <= len; i++) {
		int32_t disp;

		if (code[i] != 0x48 || code[i + 1] != 0x8d || code[i + 2] != 0x05)
			continue;
		memcpy(&disp, code + i + 3, sizeof(disp));
		for (size_t j = i + 7; j < len && j < i + 7 + 4; j++)
			if (code[j] == 0xc3) { /* ret, maybe after pop rbp / leave */
				*str = vaddr + i + 7 + (int64_t)disp;
				return true;
			}
		return false;
	}
	return false;
}

char *lsan_default_suppressions(const char *path)
{
	struct elf_syms *es = elf_syms__open(path);
	uint64_t off, size, vaddr, str;
	uint8_t code[32];
	char *text = NULL;
	size_t got;

	if (!es)
		return NULL;
	if (!elf_syms__find(es, "__lsan_default_suppressions", &off, &size) ||
	    !elf_syms__vaddr_of_offset(es, off, &vaddr))
		goto out;
	got = elf_syms__read_vaddr(es, vaddr, code,
				   size && size < sizeof(code) ? size : sizeof(code));
	if (!literal_returned(code, got, vaddr, &str))
		goto out;
	text = calloc(1, SUPPRESSIONS_TEXT_MAX + 1);
	if (!text)
		goto out;
	got = elf_syms__read_vaddr(es, str, text, SUPPRESSIONS_TEXT_MAX);
	text[got] = '\0';
	if (strlen(text) == got && got == SUPPRESSIONS_TEXT_MAX) { /* no end: not a string */
		free(text);
		text = NULL;
	}
out:
	elf_syms__close(es);
	return text;
}
