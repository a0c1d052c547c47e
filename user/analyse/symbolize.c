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
#include <sys/stat.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include "analyse/addr_index.h"
#include "analyse/symbolize.h"
#include "lib/util.h"

struct sym_mapping {
	uint64_t start, end, off;
	char *path;
	int fd; /* the file, opened when the mapping appeared: read after the target is gone,
		 * even if its path was replaced or removed meanwhile; -1 when it could not be */
	Dwfl_Module *mod;
	bool tried;
	uint64_t file_key; /* the file's identity (device, inode, size, time); 0: unknown */
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
	uint64_t addr, size; /* the file's own addresses */
	const char *name;
};

/* A module's sorted functions are the file's: made once per file and shared by every
 * symbolizer (each process of a --follow tree maps the same libc, the same cc1). */
struct file_funcs {
	uint64_t file_key;
	struct func_sym *v;
	size_t n;
};

struct func_index {
	Dwfl_Module *mod;
	const struct func_sym *v; /* a file_funcs', or the module's own when its file is unknown */
	size_t n;
	uint64_t bias; /* run-time address - file address */
	bool own;      /* v is this index's (freed with it) */
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

static void readers_drop(struct symbolizer *s);

void symbolize__free(struct symbolizer *s)
{
	if (!s)
		return;
	readers_drop(s);
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
		if (s->fidx[i].own) {
			for (size_t k = 0; k < s->fidx[i].n; k++)
				free((char *)s->fidx[i].v[k].name);
			free((void *)s->fidx[i].v);
		}
	free(s->fidx);
	free(s->cache);
	free(s->maps);
	if (s->dwfl)
		dwfl_end(s->dwfl);
	free(s);
}

/* A file's identity, for what is learned of it once and shared: device, inode, size and
 * modification time (a file rebuilt at the same path is another). 0 when unknown. */
static uint64_t file_key(int fd)
{
	struct stat st;
	uint64_t h = 0xcbf29ce484222325ull;
	uint64_t parts[5];

	if (fd < 0 || fstat(fd, &st))
		return 0;
	parts[0] = st.st_dev;
	parts[1] = st.st_ino;
	parts[2] = st.st_size;
	parts[3] = st.st_mtim.tv_sec;
	parts[4] = st.st_mtim.tv_nsec;
	for (int i = 0; i < 5; i++)
		h = (h ^ parts[i]) * 0x100000001b3ull;
	return h | 1;
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
	m->file_key = file_key(m->fd);
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

static struct file_funcs *files_funcs;
static size_t nfile_funcs;

/* The identity of MOD's file, as its mapping opened it. */
static uint64_t file_key_of(struct symbolizer *s, Dwfl_Module *mod)
{
	for (int i = 0; i < s->nmaps; i++)
		if (s->maps[i].mod == mod)
			return s->maps[i].file_key;
	return 0;
}

/* MOD's functions, sorted, at the file's own addresses (names copied: they outlive MOD). */
static void read_funcs(Dwfl_Module *mod, uint64_t bias, struct func_sym **out, size_t *nout)
{
	int n = dwfl_module_getsymtab(mod);
	struct func_sym *v;
	size_t k = 0;

	*out = NULL;
	*nout = 0;
	if (n <= 0 || !(v = malloc(n * sizeof(*v))))
		return;
	for (int i = 1; i < n; i++) {
		GElf_Addr addr;
		GElf_Sym sym;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);

		if (name && *name && addr && sym.st_shndx != SHN_UNDEF &&
		    (GELF_ST_TYPE(sym.st_info) == STT_FUNC ||
		     GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC))
			v[k++] = (struct func_sym){addr - bias, sym.st_size, strdup(name)};
	}
	qsort(v, k, sizeof(*v), func_cmp);
	*out = v;
	*nout = k;
}

static struct func_index *func_index_of(struct symbolizer *s, Dwfl_Module *mod)
{
	struct func_index *fi;
	uint64_t key;
	Dwarf_Addr bias = 0;

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
	dwfl_module_getelf(mod, &bias);
	*fi = (struct func_index){.mod = mod, .bias = bias};
	key = file_key_of(s, mod);
	for (size_t i = 0; key && i < nfile_funcs; i++)
		if (files_funcs[i].file_key == key) {
			fi->v = files_funcs[i].v;
			fi->n = files_funcs[i].n;
			return fi;
		}
	{
		struct func_sym *v;
		size_t n;

		read_funcs(mod, bias, &v, &n);
		fi->v = v;
		fi->n = n;
		if (key) { /* kept for every later symbolizer of the same file */
			struct file_funcs *g = realloc(files_funcs, (nfile_funcs + 1) * sizeof(*g));

			if (g) {
				files_funcs = g;
				files_funcs[nfile_funcs++] = (struct file_funcs){key, v, n};
				return fi;
			}
		}
		fi->own = true;
	}
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
	a -= fi->bias; /* the file's address */
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

/*
 * What an address of a file names is the file's: kept once per file and address for every
 * symbolizer (the processes of a --follow tree map the same libraries at other places; each
 * would load their DWARF again, decompressing their debug files). Entries are never freed.
 */
struct file_sym {
	uint64_t file_key, file_addr; /* 0: empty */
	bool ret;
	struct sym_info info; /* function, file, line, offset (module is the caller's) */
	struct sym_info *chain;
	int nchain;
};
static struct file_sym *file_syms;
static size_t nfile_syms, file_syms_cap;

static size_t file_sym_slot(uint64_t key, uint64_t addr, bool ret)
{
	return hash64(key ^ hash64(addr << 1 | ret)) & (file_syms_cap - 1);
}

static struct file_sym *file_sym_find(uint64_t key, uint64_t addr, bool ret, bool create)
{
	size_t i;

	if (create && (nfile_syms + 1) * 2 > file_syms_cap) {
		size_t cap = file_syms_cap ? file_syms_cap * 2 : 4096;
		struct file_sym *v = calloc(cap, sizeof(*v)), *old = file_syms;
		size_t oldcap = file_syms_cap;

		if (!v)
			return NULL;
		file_syms = v;
		file_syms_cap = cap;
		for (size_t k = 0; k < oldcap; k++) {
			if (!old[k].file_key)
				continue;
			for (i = file_sym_slot(old[k].file_key, old[k].file_addr, old[k].ret);
			     file_syms[i].file_key; i = (i + 1) & (cap - 1))
				;
			file_syms[i] = old[k];
		}
		free(old);
	}
	if (!file_syms_cap)
		return NULL;
	for (i = file_sym_slot(key, addr, ret); file_syms[i].file_key;
	     i = (i + 1) & (file_syms_cap - 1))
		if (file_syms[i].file_key == key && file_syms[i].file_addr == addr &&
		    file_syms[i].ret == ret)
			return &file_syms[i];
	if (!create)
		return NULL;
	nfile_syms++;
	file_syms[i] = (struct file_sym){.file_key = key, .file_addr = addr, .ret = ret};
	return &file_syms[i];
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* INFO's strings copied (MODULE kept as given). */
static void info_copy(struct sym_info *to, const struct sym_info *from, const char *module)
{
	*to = *from;
	to->function = dup_or_null(from->function);
	to->file = dup_or_null(from->file);
	to->module = module;
}

static void inline_chain(struct symbolizer *s, uint64_t addr, bool ret, struct sym_cache *c);

/*
 * The symbolizer that reads a file's DWARF for every other: the first to look an address
 * of it up, with where it has the file (its bias). A --follow tree's processes map the same
 * libraries; each reading their DWARF again cost it most of its time (libc6-dbg's debug
 * files are compressed). Until the reader is freed.
 */
struct file_reader {
	uint64_t file_key, bias;
	struct symbolizer *s;
};
static struct file_reader *readers;
static size_t nreaders;

/* The reader of the file KEY other than S that still has it at its place, or NULL. */
static struct file_reader *reader_of(struct symbolizer *s, uint64_t key, uint64_t file_addr)
{
	for (size_t i = 0; i < nreaders; i++) {
		struct sym_mapping *m = NULL;

		if (readers[i].file_key != key || readers[i].s == s)
			continue;
		/* its mapping there is still the file's (not replaced since) */
		if (module_of(readers[i].s, readers[i].bias + file_addr, &m) && m &&
		    m->file_key == key)
			return &readers[i];
	}
	return NULL;
}

static void reader_add(struct symbolizer *s, uint64_t key, uint64_t bias)
{
	for (size_t i = 0; i < nreaders; i++)
		if (readers[i].file_key == key)
			return;
	readers = xrealloc(readers, (nreaders + 1) * sizeof(*readers));
	readers[nreaders++] = (struct file_reader){key, bias, s};
}

static void readers_drop(struct symbolizer *s)
{
	size_t n = 0;

	for (size_t i = 0; i < nreaders; i++)
		if (readers[i].s != s)
			readers[n++] = readers[i];
	nreaders = n;
}

/* C (ADDR's entry, its key set) filled from what its file is known to name, or looked up
 * and then kept for the file. */
static void fill_entry(struct symbolizer *s, uint64_t addr, bool ret, struct sym_cache *c)
{
	uint64_t a = ret ? addr - 1 : addr;
	struct sym_mapping *m = NULL;
	Dwfl_Module *mod = module_of(s, a, &m);
	Dwarf_Addr bias = 0;
	struct file_sym *g;

	if (!mod || !m || !m->file_key || !dwfl_module_getelf(mod, &bias)) {
		lookup(s, addr, ret, &c->info);
		c->nchain = -1;
		return;
	}
	g = file_sym_find(m->file_key, addr - bias, ret, false);
	if (!g) { /* the first time: the DWARF is read, and what it says kept */
		struct file_reader *r = reader_of(s, m->file_key, a - bias);

		if (r) { /* by the symbolizer that has read it: at its address, named as here */
			lookup(r->s, r->bias + (addr - bias), ret, &c->info);
			c->info.module =
			    strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path;
			c->info.module_offset = addr - bias;
			inline_chain(r->s, r->bias + (addr - bias), ret, c);
		} else {
			lookup(s, addr, ret, &c->info);
			inline_chain(s, addr, ret, c);
			reader_add(s, m->file_key, bias);
		}
		g = file_sym_find(m->file_key, addr - bias, ret, true);
		if (!g)
			return;
		info_copy(&g->info, &c->info, NULL);
		g->nchain = c->nchain;
		g->chain = c->nchain > 0 ? calloc(c->nchain, sizeof(*g->chain)) : NULL;
		for (int k = 0; g->chain && k < c->nchain; k++)
			info_copy(&g->chain[k], &c->chain[k], NULL);
		if (c->nchain > 0 && !g->chain)
			g->nchain = -1;
		return;
	}
	info_copy(&c->info, &g->info, strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path);
	c->info.module_offset = addr - bias;
	c->nchain = g->nchain;
	c->chain = g->nchain > 0 ? calloc(g->nchain, sizeof(*c->chain)) : NULL;
	for (int k = 0; c->chain && k < g->nchain; k++) {
		info_copy(&c->chain[k], &g->chain[k], c->info.module);
		c->chain[k].module_offset = c->info.module_offset;
	}
	if (g->nchain > 0 && !c->chain)
		c->nchain = -1;
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
	s->cache[i].key = key;
	fill_entry(s, addr, return_addr, &s->cache[i]);
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

bool symbolize__file_of(struct symbolizer *s, uint64_t addr, uint64_t *file_key, uint64_t *bias)
{
	struct sym_mapping *m = NULL;
	Dwfl_Module *mod = module_of(s, addr, &m);
	Dwarf_Addr b = 0;

	if (!mod || !m || !m->file_key || !dwfl_module_getelf(mod, &b))
		return false;
	*file_key = m->file_key;
	*bias = b;
	return true;
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
