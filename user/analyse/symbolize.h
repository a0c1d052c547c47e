/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Addresses of a traced process to function names and file:line, offline from the ELF
 * files (elfutils libdwfl): works after the process has exited and for code it dlopen()ed,
 * from the list of code mappings the collector kept (symbolize__add_mapping).
 */
#ifndef MEMSTUDY_SYMBOLIZE_H
#define MEMSTUDY_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>

struct symbolizer;

struct sym_info {
	const char *function;	/* demangled; NULL when unknown */
	uint64_t offset;	/* into function */
	const char *module;	/* basename of the file; NULL when no mapping held the address */
	uint64_t module_offset; /* ADDR in the file's own addresses: what addr2line -e takes */
	const char *file;	/* source file, or NULL */
	int line;
	bool inlined; /* a function inlined into the next frame: no frame of its own */
};

struct symbolizer *symbolize__new(void);
/* Look the code files up under DIR (their recorded paths appended), and nowhere else: a
 * report of a recording made on another machine (perf report --symfs). NULL: as they are. */
void symbolize__set_symfs(const char *dir);
void symbolize__free(struct symbolizer *s);
/* A file mapping with execute permission, as in /proc/PID/maps. false if already known. */
bool symbolize__add_mapping(struct symbolizer *s, uint64_t start, uint64_t end, uint64_t off,
			    const char *path);
/* A whole ELF image mapped from BASE (the interpreter at AT_BASE), its extent from its
 * program headers. false if already known or unreadable. */
bool symbolize__add_image(struct symbolizer *s, uint64_t base, const char *path);
/* ADDR is a return address (looked up at ADDR - 1). Strings live as long as S. */
void symbolize__addr(struct symbolizer *s, uint64_t addr, bool return_addr, struct sym_info *out);

/* ADDR as frames: the functions inlined there (DWARF), innermost first, marked inlined,
 * each with its line, then the function they were inlined into, at the line of the call;
 * one frame where nothing is inlined. At most MAX (the real function kept last). */
int symbolize__frames(struct symbolizer *s, uint64_t addr, bool return_addr, struct sym_info *out,
		      int max);

/* The libdwfl module of the code at ADDR (for the unwinder's CFI), or NULL. */
typedef struct Dwfl_Module Dwfl_Module;
Dwfl_Module *symbolize__module(struct symbolizer *s, uint64_t addr);
/* The function (its symbol's name, mangled) holding the run-time address ADDR in MOD. */
const char *symbolize__function_at(struct symbolizer *s, Dwfl_Module *mod, uint64_t addr);
/* The code mappings added so far, oldest first: mapping I's extent and module (NULL when
 * its file cannot be read). */
int symbolize__nmappings(const struct symbolizer *s);
Dwfl_Module *symbolize__mapping(struct symbolizer *s, int i, uint64_t *start, uint64_t *end);
/* The identity of the file mapped at ADDR (device, inode, size, time) and its load bias
 * (run-time address - the file's own): what is learned of the file is shared by every
 * symbolizer. False when unknown. */
bool symbolize__file_of(struct symbolizer *s, uint64_t addr, uint64_t *file_key, uint64_t *bias);
/* The path of the file mapped at ADDR, as mapped; "" when none is. */
const char *symbolize__module_path(struct symbolizer *s, uint64_t addr);
/* Mapping I's file (its path as mapped), file offset, and GNU build-id in hex into BUILD_ID
 * ("" when the file has none or cannot be read). */
const char *symbolize__mapping_file(struct symbolizer *s, int i, uint64_t *off, char *build_id,
				    size_t len);

#endif
