/* SPDX-License-Identifier: GPL-2.0 */
/* Function symbols of an ELF file, as file offsets ready for a uprobe (libelf). */
#ifndef MEMSTUDY_ELFSYMS_H
#define MEMSTUDY_ELFSYMS_H

#include <stdbool.h>
#include <stdint.h>

struct elf_syms;

/* NULL with errno set when the file cannot be read as ELF. */
struct elf_syms *elf_syms__open(const char *path);
void elf_syms__close(struct elf_syms *es);
/* File offset of the defined function NAME (dynamic table first, then .symtab). */
bool elf_syms__find(struct elf_syms *es, const char *name, uint64_t *offset, uint64_t *size);
/* The data object NAME: its link-time address (st_value) and size. */
bool elf_syms__object(struct elf_syms *es, const char *name, uint64_t *vaddr, uint64_t *size);
/* The lowest PT_LOAD address, page-aligned: where the file's offset 0 maps, less the bias. */
uint64_t elf_syms__first_vaddr(struct elf_syms *es);
/* NAME from the .symtab of DEBUG, a separate debug file of CODE, as a file offset in CODE. */
bool elf_syms__find_debug(struct elf_syms *debug, struct elf_syms *code, const char *name,
			  uint64_t *offset, uint64_t *size);
/* Its separate debug file by build-id (/usr/lib/debug/.build-id/, or MEMSTUDY_DEBUG_DIR's)
 * into PATH: true when it is there. */
bool elf_syms__debug_file(struct elf_syms *es, char *path, size_t len);
/* The GNU build-id as hex into HEX: its length in bytes, or -1. */
int elf_syms__build_id(struct elf_syms *es, char *hex, size_t len);
/* The function symbol whose code holds file offset OFF: its start and size. */
bool elf_syms__containing(struct elf_syms *es, uint64_t off, uint64_t *start, uint64_t *size);
/* PT_INTERP of an executable, or NULL when statically linked. */
const char *elf_syms__interp(struct elf_syms *es);
bool elf_syms__has_symtab(struct elf_syms *es);
/* The link-time address of file offset OFF (in a PT_LOAD segment). */
bool elf_syms__vaddr_of_offset(struct elf_syms *es, uint64_t off, uint64_t *vaddr);
/* Up to LEN bytes of the file's contents at link-time address VADDR: how many. */
size_t elf_syms__read_vaddr(struct elf_syms *es, uint64_t vaddr, void *buf, size_t len);

#endif
