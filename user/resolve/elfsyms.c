// SPDX-License-Identifier: GPL-2.0
/* Symbol lookup with libelf: Debian's well-kept ELF reader, already a libbpf dependency. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <elfutils/libdwelf.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolve/elfsyms.h"

struct elf_syms {
	int fd;
	Elf *elf;
	char *interp;
	bool has_symtab;
};

struct elf_syms *elf_syms__open(const char *path)
{
	struct elf_syms *es;
	GElf_Phdr ph;
	size_t n, i;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	es = calloc(1, sizeof(*es));
	if (!es)
		return NULL;
	es->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (es->fd < 0)
		goto fail;
	es->elf = elf_begin(es->fd, ELF_C_READ, NULL);
	if (!es->elf || elf_kind(es->elf) != ELF_K_ELF) {
		errno = ENOEXEC;
		goto fail;
	}
	if (elf_getphdrnum(es->elf, &n) == 0) {
		for (i = 0; i < n; i++) {
			Elf_Data *d;
			if (!gelf_getphdr(es->elf, i, &ph) || ph.p_type != PT_INTERP)
				continue;
			d = elf_getdata_rawchunk(es->elf, ph.p_offset, ph.p_filesz, ELF_T_BYTE);
			if (d && d->d_size)
				es->interp = strndup(d->d_buf, d->d_size);
		}
	}
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(es->elf, scn));) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			es->has_symtab = true;
	}
	return es;
fail:
	elf_syms__close(es);
	return NULL;
}

void elf_syms__close(struct elf_syms *es)
{
	int saved = errno;

	if (!es)
		return;
	if (es->elf)
		elf_end(es->elf);
	if (es->fd >= 0)
		close(es->fd);
	free(es->interp);
	free(es);
	errno = saved;
}

/* Translate a symbol's virtual address to the file offset uprobes take. */
static bool vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	GElf_Phdr ph;
	size_t n, i;

	if (elf_getphdrnum(elf, &n))
		return false;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_memsz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

/* NAME's symbol in ES's table of TYPE, as a file offset of CODE (ES itself, or the file a
 * separate debug file ES describes: its program headers are the ones to trust). */
static bool find_in(struct elf_syms *es, Elf *code, Elf64_Word type, const char *name,
		    uint64_t *offset, uint64_t *size, bool object)
{
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(es->elf, scn));) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i, count;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		count = sh.sh_size / sh.sh_entsize;
		for (i = 0; data && i < count; i++) {
			GElf_Sym sym;
			const char *s;

			if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    (object ? GELF_ST_TYPE(sym.st_info) != STT_OBJECT
				    : GELF_ST_TYPE(sym.st_info) != STT_FUNC &&
					  GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC))
				continue;
			s = elf_strptr(es->elf, sh.sh_link, sym.st_name);
			if (!s || strcmp(s, name))
				continue;
			if (object)
				*offset = sym.st_value;
			else if (!vaddr_to_offset(code, sym.st_value, offset))
				continue;
			if (size)
				*size = sym.st_size;
			return true;
		}
	}
	return false;
}

bool elf_syms__find(struct elf_syms *es, const char *name, uint64_t *offset, uint64_t *size)
{
	return find_in(es, es->elf, SHT_DYNSYM, name, offset, size, false) ||
	       find_in(es, es->elf, SHT_SYMTAB, name, offset, size, false);
}

bool elf_syms__object(struct elf_syms *es, const char *name, uint64_t *vaddr, uint64_t *size)
{
	return find_in(es, es->elf, SHT_DYNSYM, name, vaddr, size, true) ||
	       find_in(es, es->elf, SHT_SYMTAB, name, vaddr, size, true);
}

uint64_t elf_syms__first_vaddr(struct elf_syms *es)
{
	uint64_t low = UINT64_MAX;
	size_t n;

	if (elf_getphdrnum(es->elf, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(es->elf, i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < low)
			low = ph.p_vaddr & ~(uint64_t)4095;
	}
	return low == UINT64_MAX ? 0 : low;
}

bool elf_syms__find_debug(struct elf_syms *debug, struct elf_syms *code, const char *name,
			  uint64_t *offset, uint64_t *size)
{
	return find_in(debug, code->elf, SHT_SYMTAB, name, offset, size, false);
}

int elf_syms__build_id(struct elf_syms *es, char *hex, size_t len)
{
	const unsigned char *id;
	int n = dwelf_elf_gnu_build_id(es->elf, (const void **)&id);

	if (n <= 0 || len < 2 * (size_t)n + 1)
		return -1;
	for (int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	return n;
}

bool elf_syms__debug_file(struct elf_syms *es, char *path, size_t len)
{
	const char *dir = getenv("MEMSTUDY_DEBUG_DIR");
	char id[64];

	if (elf_syms__build_id(es, id, sizeof(id)) < 2)
		return false;
	snprintf(path, len, "%s/.build-id/%.2s/%s.debug", dir && *dir ? dir : "/usr/lib/debug", id,
		 id + 2);
	return !access(path, R_OK);
}

bool elf_syms__containing(struct elf_syms *es, uint64_t off, uint64_t *start, uint64_t *size)
{
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(es->elf, scn));) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i, count;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		count = sh.sh_size / sh.sh_entsize;
		for (i = 0; data && i < count; i++) {
			GElf_Sym sym;
			uint64_t at;

			if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF ||
			    !sym.st_size || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    !vaddr_to_offset(es->elf, sym.st_value, &at))
				continue;
			if (off >= at && off < at + sym.st_size) {
				*start = at;
				*size = sym.st_size;
				return true;
			}
		}
	}
	return false;
}

const char *elf_syms__interp(struct elf_syms *es)
{
	return es->interp;
}

bool elf_syms__has_symtab(struct elf_syms *es)
{
	return es->has_symtab;
}

/* The PT_LOAD segment holding file offset (BY_OFFSET) or address X: its vaddr and offset. */
static bool load_segment(struct elf_syms *es, uint64_t x, bool by_offset, GElf_Phdr *out)
{
	size_t n;

	if (elf_getphdrnum(es->elf, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		uint64_t lo, hi;

		if (!gelf_getphdr(es->elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		lo = by_offset ? ph.p_offset : ph.p_vaddr;
		hi = lo + ph.p_filesz;
		if (x >= lo && x < hi) {
			*out = ph;
			return true;
		}
	}
	return false;
}

bool elf_syms__vaddr_of_offset(struct elf_syms *es, uint64_t off, uint64_t *vaddr)
{
	GElf_Phdr ph;

	if (!load_segment(es, off, true, &ph))
		return false;
	*vaddr = off - ph.p_offset + ph.p_vaddr;
	return true;
}

size_t elf_syms__read_vaddr(struct elf_syms *es, uint64_t vaddr, void *buf, size_t len)
{
	GElf_Phdr ph;
	uint64_t off, avail;
	ssize_t got;

	if (!load_segment(es, vaddr, false, &ph))
		return 0;
	off = vaddr - ph.p_vaddr + ph.p_offset;
	avail = ph.p_offset + ph.p_filesz - off;
	got = pread(es->fd, buf, len < avail ? len : avail, off);
	return got > 0 ? (size_t)got : 0;
}
