// SPDX-License-Identifier: GPL-2.0
/*
 * Offline symbolization with libdwfl. Each code mapping the collector saw is reported to
 * libdwfl as its file at its load bias (dwfl_report_elf), the first time an address in it is
 * looked up; the files are read after the fact, so a target that has exited, or unloaded a
 * library, still gets names. Debug info is found the standard way (build-id under
 * /usr/lib/debug, .gnu_debuglink); without it libdwfl falls back to the symbol tables.
 */
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include "analyse/symbolize.h"

struct sym_mapping {
	uint64_t start, end, off;
	char *path;
	int fd; /* the file, opened when the mapping appeared: read after the target is gone,
		 * even if its path was replaced or removed meanwhile; -1 when it could not be */
	Dwfl_Module *mod;
	bool tried;
};

struct sym_cache {
	uint64_t key; /* address << 1 | return_addr; 0 = empty */
	struct sym_info info;
	/* the frames inlined at the address, innermost first, then the function they are
	 * inlined into at its call line; computed on demand */
	struct sym_info *chain;
	int nchain; /* -1: not computed */
};

/*
 * A module's functions sorted by address, built once: libdwfl's dwfl_module_addrinfo scans
 * the whole symbol table at each call, and libLLVM's has ~100k symbols (clang-format's
 * report took seconds a thousand addresses).
 */
struct func_sym {
	uint64_t addr, size;
	const char *name; /* in the module's string table, alive as long as the Dwfl */
};

struct func_index {
	Dwfl_Module *mod;
	struct func_sym *v;
	size_t n;
};

struct symbolizer {
	Dwfl *dwfl;
	struct func_index *fidx;
	int nfidx, fidx_cap;
	struct sym_mapping *maps;
	int nmaps, cap;
	struct sym_cache *cache;
	size_t ncache, cache_cap; /* power of two */
};

static char *debuginfo_path;
static const Dwfl_Callbacks dwfl_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

struct symbolizer *symbolize__new(void)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->dwfl = dwfl_begin(&dwfl_callbacks);
	s->cache_cap = 1024;
	s->cache = calloc(s->cache_cap, sizeof(*s->cache));
	if (!s->dwfl || !s->cache) {
		symbolize__free(s);
		return NULL;
	}
	return s;
}

void symbolize__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cache_cap; i++) {
		if (!s->cache[i].key)
			continue;
		free((char *)s->cache[i].info.function);
		free((char *)s->cache[i].info.file);
		for (int k = 0; k < s->cache[i].nchain; k++) {
			free((char *)s->cache[i].chain[k].function);
			free((char *)s->cache[i].chain[k].file);
		}
		free(s->cache[i].chain);
	}
	for (int i = 0; i < s->nmaps; i++) {
		free(s->maps[i].path);
		if (s->maps[i].fd >= 0)
			close(s->maps[i].fd);
	}
	for (int i = 0; i < s->nfidx; i++)
		free(s->fidx[i].v);
	free(s->fidx);
	free(s->cache);
	free(s->maps);
	if (s->dwfl)
		dwfl_end(s->dwfl);
	free(s);
}

/* memstudy report --symfs: the recorded paths are looked up under this directory */
static char *symfs;

void symbolize__set_symfs(const char *dir)
{
	free(symfs);
	symfs = dir ? strdup(dir) : NULL;
}

/* The code file at PATH as the target mapped it (under --symfs's directory when given). */
static int open_code(const char *path)
{
	char buf[8192];

	if (!symfs)
		return open(path, O_RDONLY | O_CLOEXEC);
	snprintf(buf, sizeof(buf), "%s/%s", symfs, path);
	return open(buf, O_RDONLY | O_CLOEXEC);
}

bool symbolize__add_mapping(struct symbolizer *s, uint64_t start, uint64_t end, uint64_t off,
			    const char *path)
{
	struct sym_mapping *m;

	for (int i = 0; i < s->nmaps; i++)
		if (s->maps[i].start == start && s->maps[i].end == end && s->maps[i].off == off &&
		    !strcmp(s->maps[i].path, path))
			return false;
	if (s->nmaps == s->cap) {
		int cap = s->cap ? 2 * s->cap : 32;
		struct sym_mapping *n = realloc(s->maps, cap * sizeof(*n));

		if (!n)
			return false;
		s->maps = n;
		s->cap = cap;
	}
	m = &s->maps[s->nmaps++];
	*m = (struct sym_mapping){.start = start, .end = end, .off = off, .path = strdup(path)};
	m->fd = open_code(path);
	return true;
}

/* The PT_LOAD segments of the file open as FD (or at PATH when FD < 0), up to MAX of them
 * into PH; how many, or -1 when unreadable. */
static int load_segments(const char *path, int fd_in, GElf_Phdr *ph, int max)
{
	int fd = fd_in >= 0 ? fd_in : open_code(path), got = -1;
	size_t n;
	Elf *e;

	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (e && !elf_getphdrnum(e, &n)) {
		got = 0;
		for (size_t i = 0; i < n && got < max; i++)
			if (gelf_getphdr(e, i, &ph[got]) && ph[got].p_type == PT_LOAD)
				got++;
	}
	if (e)
		elf_end(e);
	if (fd != fd_in)
		close(fd);
	return got;
}

#define MAX_LOAD_SEGMENTS 16

bool symbolize__add_image(struct symbolizer *s, uint64_t base, const char *path)
{
	GElf_Phdr ph[MAX_LOAD_SEGMENTS];
	int n = load_segments(path, -1, ph, MAX_LOAD_SEGMENTS);
	uint64_t top = 0;

	for (int i = 0; i < n; i++)
		if (ph[i].p_vaddr + ph[i].p_memsz > top)
			top = ph[i].p_vaddr + ph[i].p_memsz;
	/* one mapping for the whole image, from offset 0: the bias is BASE */
	return top && symbolize__add_mapping(s, base, base + ((top + 4095) & ~4095ULL), 0, path);
}

/* Load bias of M's file mapped at START from file offset OFF: start - off + p_offset - p_vaddr
 * of the PT_LOAD segment holding OFF (0 for a non-PIE executable). */
static bool elf_bias(const struct sym_mapping *m, uint64_t start, uint64_t off, uint64_t *bias)
{
	GElf_Phdr ph[MAX_LOAD_SEGMENTS];
	int n = load_segments(m->path, m->fd, ph, MAX_LOAD_SEGMENTS);

	for (int i = 0; i < n; i++) {
		if ((ph[i].p_offset & ~4095ULL) <= off && off < ph[i].p_offset + ph[i].p_filesz) {
			*bias = start - off + ph[i].p_offset - ph[i].p_vaddr;
			return true;
		}
	}
	return false;
}

static Dwfl_Module *module_of(struct symbolizer *s, uint64_t addr, struct sym_mapping **mp)
{
	/* Newest first: a later mapping at the same place replaced the earlier one. */
	for (int i = s->nmaps - 1; i >= 0; i--) {
		struct sym_mapping *m = &s->maps[i];
		const char *base;
		uint64_t bias;

		if (addr < m->start || addr >= m->end)
			continue;
		*mp = m;
		if (m->tried)
			return m->mod;
		m->tried = true;
		/* Other mappings of the same file at the same bias share one module. */
		for (int j = 0; j < s->nmaps; j++)
			if (j != i && s->maps[j].mod && !strcmp(s->maps[j].path, m->path) &&
			    s->maps[j].start - s->maps[j].off == m->start - m->off)
				return m->mod = s->maps[j].mod;
		if (!elf_bias(m, m->start, m->off, &bias))
			return NULL;
		base = strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path;
		dwfl_report_begin_add(s->dwfl);
		/* the file as it was when mapped (a copy of the descriptor: libdwfl keeps it) */
		m->mod = dwfl_report_elf(s->dwfl, base, m->path, m->fd >= 0 ? dup(m->fd) : -1, bias,
					 true);
		dwfl_report_end(s->dwfl, NULL, NULL);
		return m->mod;
	}
	*mp = NULL;
	return NULL;
}

/* C++ (and Rust legacy) names as people read them: libstdc++'s demangler (linked for it). */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

static char *demangle(const char *name)
{
	char *d = NULL;
	int status = -1;

	if (name[0] == '_' && name[1] == 'Z')
		d = __cxa_demangle(name, NULL, NULL, &status);
	return d && !status ? d : strdup(name);
}

static int func_cmp(const void *a, const void *b)
{
	const struct func_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->size < y->size ? 1 : x->size > y->size ? -1 : 0; /* sized first */
}

static struct func_index *func_index_of(struct symbolizer *s, Dwfl_Module *mod)
{
	struct func_index *fi;
	int n;

	for (int i = 0; i < s->nfidx; i++)
		if (s->fidx[i].mod == mod)
			return &s->fidx[i];
	if (s->nfidx == s->fidx_cap) {
		int cap = s->fidx_cap ? 2 * s->fidx_cap : 16;
		struct func_index *v = realloc(s->fidx, cap * sizeof(*v));

		if (!v)
			return NULL;
		s->fidx = v;
		s->fidx_cap = cap;
	}
	fi = &s->fidx[s->nfidx++];
	*fi = (struct func_index){.mod = mod};
	n = dwfl_module_getsymtab(mod);
	if (n <= 0 || !(fi->v = malloc(n * sizeof(*fi->v))))
		return fi;
	for (int i = 1; i < n; i++) {
		GElf_Addr addr;
		GElf_Sym sym;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);

		if (name && *name && addr && sym.st_shndx != SHN_UNDEF &&
		    (GELF_ST_TYPE(sym.st_info) == STT_FUNC ||
		     GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC))
			fi->v[fi->n++] = (struct func_sym){addr, sym.st_size, name};
	}
	qsort(fi->v, fi->n, sizeof(*fi->v), func_cmp);
	return fi;
}

/* The function holding A in MOD (its symbol's extent, or up to the next one when it has no
 * size), with A's offset into it; NULL when none. */
static const char *function_at(struct symbolizer *s, Dwfl_Module *mod, uint64_t a, uint64_t *off)
{
	struct func_index *fi = func_index_of(s, mod);
	size_t lo = 0, hi;

	if (!fi || !fi->n)
		return NULL;
	hi = fi->n;
	while (lo < hi) { /* the first symbol past A */
		size_t mid = lo + (hi - lo) / 2;

		if (fi->v[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* among the symbols at or before A, the nearest that covers it */
	for (size_t i = lo; i-- > 0 && lo - i <= 8;) {
		const struct func_sym *f = &fi->v[i];

		if (a < f->addr + f->size ||
		    (!f->size && (i + 1 == fi->n || a < fi->v[i + 1].addr))) {
			*off = a - f->addr;
			return f->name;
		}
	}
	return NULL;
}

const char *symbolize__function_at(struct symbolizer *s, Dwfl_Module *mod, uint64_t addr)
{
	uint64_t off;

	return function_at(s, mod, addr, &off);
}

static void lookup(struct symbolizer *s, uint64_t addr, bool ret, struct sym_info *out)
{
	uint64_t a = ret ? addr - 1 : addr, off = 0;
	Dwarf_Addr bias;
	struct sym_mapping *m;
	Dwfl_Module *mod = module_of(s, a, &m);
	const char *name, *file;
	Dwfl_Line *l;
	int line = 0;

	memset(out, 0, sizeof(*out));
	if (m) {
		out->module = strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path;
		out->module_offset = addr - m->start + m->off; /* the file offset, until known */
	}
	if (!mod)
		return;
	if (dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL) &&
	    dwfl_module_getelf(mod, &bias))
		out->module_offset = addr - bias;
	name = function_at(s, mod, a, &off);
	if (name) {
		out->function = demangle(name);
		out->offset = off + (a != addr);
	}
	l = dwfl_module_getsrc(mod, a);
	if (l && (file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL))) {
		out->file = strdup(file);
		out->line = line;
	}
}

/* The cache entry of ADDR, filled; NULL without memory. Valid until the next call. */
static struct sym_cache *cache_entry(struct symbolizer *s, uint64_t addr, bool return_addr)
{
	uint64_t key = addr << 1 | return_addr | 1ULL << 63;
	size_t i;

	if (s->ncache * 2 >= s->cache_cap) {
		struct sym_cache *old = s->cache;
		size_t oldcap = s->cache_cap;

		s->cache = calloc(oldcap * 2, sizeof(*s->cache));
		if (!s->cache) { /* keep the old one */
			s->cache = old;
			return NULL;
		}
		s->cache_cap = oldcap * 2;
		for (i = 0; i < oldcap; i++) {
			size_t j;

			if (!old[i].key)
				continue;
			for (j = (old[i].key * 0x9e3779b97f4a7c15ULL) >> 20 & (s->cache_cap - 1);
			     s->cache[j].key; j = (j + 1) & (s->cache_cap - 1))
				;
			s->cache[j] = old[i];
		}
		free(old);
	}
	for (i = (key * 0x9e3779b97f4a7c15ULL) >> 20 & (s->cache_cap - 1); s->cache[i].key;
	     i = (i + 1) & (s->cache_cap - 1))
		if (s->cache[i].key == key)
			return &s->cache[i];
	lookup(s, addr, return_addr, &s->cache[i].info);
	s->cache[i].key = key;
	s->cache[i].nchain = -1;
	s->ncache++;
	return &s->cache[i];
}

void symbolize__addr(struct symbolizer *s, uint64_t addr, bool return_addr, struct sym_info *out)
{
	struct sym_cache *c = cache_entry(s, addr, return_addr);

	if (c)
		*out = c->info;
	else
		lookup(s, addr, return_addr, out);
}

/* A DWARF function's name as people read it: its linkage name demangled, or its name. */
static char *die_name(Dwarf_Die *d)
{
	Dwarf_Attribute at;
	const char *n = NULL;

	if (dwarf_attr_integrate(d, DW_AT_linkage_name, &at) ||
	    dwarf_attr_integrate(d, DW_AT_MIPS_linkage_name, &at))
		n = dwarf_formstring(&at);
	if (!n && dwarf_attr_integrate(d, DW_AT_name, &at))
		n = dwarf_formstring(&at);
	return n ? demangle(n) : NULL;
}

/* Where the inlined subroutine D was called from: file and line in its caller. */
static void call_site(Dwarf_Die *d, Dwarf_Files *files, size_t nfiles, struct sym_info *out)
{
	Dwarf_Attribute at;
	Dwarf_Word w;
	const char *f;

	out->file = NULL;
	out->line = 0;
	if (dwarf_attr(d, DW_AT_call_line, &at) && !dwarf_formudata(&at, &w))
		out->line = (int)w;
	if (files && dwarf_attr(d, DW_AT_call_file, &at) && !dwarf_formudata(&at, &w) &&
	    w < nfiles && (f = dwarf_filesrc(files, w, NULL, NULL)))
		out->file = strdup(f);
}

/* C's frames inlined at its address (see struct sym_cache), from the DWARF scopes. */
static void inline_chain(struct symbolizer *s, uint64_t addr, bool ret, struct sym_cache *c)
{
	uint64_t a = ret ? addr - 1 : addr;
	struct sym_mapping *m;
	Dwfl_Module *mod = module_of(s, a, &m);
	Dwarf_Die *cu, *scopes = NULL;
	Dwarf_Files *files = NULL;
	Dwarf_Addr bias;
	size_t nfiles = 0;
	int n, ninl = 0;

	c->nchain = 0;
	if (!mod || !(cu = dwfl_module_addrdie(mod, a, &bias)))
		return;
	n = dwarf_getscopes(cu, a - bias, &scopes);
	while (ninl < n && dwarf_tag(&scopes[ninl]) == DW_TAG_inlined_subroutine)
		ninl++;
	if (!ninl || !(c->chain = calloc(ninl + 1, sizeof(*c->chain)))) {
		free(scopes);
		return;
	}
	if (dwarf_getsrcfiles(cu, &files, &nfiles))
		files = NULL;
	for (int k = 0; k <= ninl; k++) {
		struct sym_info *o = &c->chain[k];

		*o = c->info;
		o->inlined = k < ninl;
		o->offset = 0;
		o->function = k < ninl ? die_name(&scopes[k])
				       : (c->info.function ? strdup(c->info.function) : NULL);
		if (k == 0) /* the innermost: the address's own line */
			o->file = c->info.file ? strdup(c->info.file) : NULL;
		else /* the caller of the one inside: where that was inlined */
			call_site(&scopes[k - 1], files, nfiles, o);
		if (k == ninl)
			o->offset = c->info.offset;
	}
	c->nchain = ninl + 1;
	free(scopes);
}

int symbolize__frames(struct symbolizer *s, uint64_t addr, bool return_addr, struct sym_info *out,
		      int max)
{
	struct sym_cache *c = cache_entry(s, addr, return_addr);
	int n;

	if (max < 1)
		return 0;
	if (!c) {
		lookup(s, addr, return_addr, out);
		return 1;
	}
	if (c->nchain < 0)
		inline_chain(s, addr, return_addr, c);
	if (c->nchain <= 0) {
		out[0] = c->info;
		return 1;
	}
	n = c->nchain < max ? c->nchain : max;
	/* cut short: keep the outermost, the real function, last */
	for (int k = 0; k < n; k++)
		out[k] = c->chain[k == n - 1 ? c->nchain - 1 : k];
	return n;
}

Dwfl_Module *symbolize__module(struct symbolizer *s, uint64_t addr)
{
	struct sym_mapping *m;

	return module_of(s, addr, &m);
}

int symbolize__nmappings(const struct symbolizer *s)
{
	return s->nmaps;
}

const char *symbolize__module_path(struct symbolizer *s, uint64_t addr)
{
	struct sym_mapping *m = NULL;

	module_of(s, addr, &m);
	return m ? m->path : "";
}

const char *symbolize__mapping_file(struct symbolizer *s, int i, uint64_t *off, char *build_id,
				    size_t len)
{
	Dwfl_Module *mod = symbolize__module(s, s->maps[i].start);
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = mod ? dwfl_module_build_id(mod, &bits, &vaddr) : -1;

	*off = s->maps[i].off;
	build_id[0] = '\0';
	for (int k = 0; k < n && (size_t)(2 * k + 2) < len; k++)
		snprintf(build_id + 2 * k, 3, "%02x", bits[k]);
	return s->maps[i].path;
}

Dwfl_Module *symbolize__mapping(struct symbolizer *s, int i, uint64_t *start, uint64_t *end)
{
	*start = s->maps[i].start;
	*end = s->maps[i].end;
	return symbolize__module(s, s->maps[i].start);
}
