// SPDX-License-Identifier: GPL-2.0
/*
 * Which file holds the target's malloc? The executable itself (static, or its own
 * allocator), an LD_PRELOADed library (jemalloc, tcmalloc), or libc.so.6. We list the
 * objects in lookup order and take the first that defines malloc, as the dynamic linker does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "resolve/elfsyms.h"
#include "resolve/fn_arity.h"
#include "resolve/target.h"
#include "lib/procfs.h"
#include "lib/util.h"

/* The table of bpf/memstudy.h, as data. */
const struct ms_fn_spec ms_fn_specs[MS_FN_COUNT] = {
#define MS_FN_SPEC(id, sym, size, count, ptr, kind) {sym, size, count, ptr, kind},
    MS_GLIBC_FUNCTIONS(MS_FN_SPEC) MS_CXX_FUNCTIONS(MS_FN_SPEC)
#undef MS_FN_SPEC
};

const char *const ms_fn_names[MS_FN_MAX] = {
#define MS_FN_NAME(id, sym, size, count, ptr, kind) [MS_FN_##id] = sym,
    MS_GLIBC_FUNCTIONS(MS_FN_NAME) MS_CXX_FUNCTIONS(MS_FN_NAME)
#undef MS_FN_NAME
};

/* What the operators read: new's size, delete's block. */
#define NEW_ARGS                                                                                   \
	{                                                                                          \
		NULL, 1, 0, 0, MS_KIND_ALLOC                                                       \
	}
#define DELETE_ARGS                                                                                \
	{                                                                                          \
		NULL, 0, 0, 1, MS_KIND_FREE                                                        \
	}
#define CXX(sym, fn, label, args)                                                                  \
	{                                                                                          \
		sym, MS_FN_##fn, label, MS_IN_CXX, args                                            \
	}
#define API(sym, fn, size, count, ptr, kind)                                                       \
	{                                                                                          \
		sym, MS_FN_##fn, sym, MS_IN_ALLOCATOR,                                             \
		{                                                                                  \
			NULL, size, count, ptr, MS_KIND_##kind                                     \
		}                                                                                  \
	}

/*
 * The Itanium C++ ABI's names of the replaceable operators (x86-64: size_t is m), then the
 * allocators' own APIs, counted in the malloc-family function they are closest to. Names
 * at an address already probed are aliases (tcmalloc's tc_malloc is its malloc).
 */
const struct ms_variant ms_variants[] = {
    CXX("_Znwm", OP_NEW, "new(size_t)", NEW_ARGS),
    CXX("_ZnwmRKSt9nothrow_t", OP_NEW, "new(size_t, nothrow_t)", NEW_ARGS),
    CXX("_ZnwmSt11align_val_t", OP_NEW, "new(size_t, align_val_t)", NEW_ARGS),
    CXX("_ZnwmSt11align_val_tRKSt9nothrow_t", OP_NEW, "new(size_t, align_val_t, nothrow_t)",
	NEW_ARGS),
    CXX("_Znam", OP_NEW_ARRAY, "new[](size_t)", NEW_ARGS),
    CXX("_ZnamRKSt9nothrow_t", OP_NEW_ARRAY, "new[](size_t, nothrow_t)", NEW_ARGS),
    CXX("_ZnamSt11align_val_t", OP_NEW_ARRAY, "new[](size_t, align_val_t)", NEW_ARGS),
    CXX("_ZnamSt11align_val_tRKSt9nothrow_t", OP_NEW_ARRAY, "new[](size_t, align_val_t, nothrow_t)",
	NEW_ARGS),
    CXX("_ZdlPv", OP_DELETE, "delete(void*)", DELETE_ARGS),
    CXX("_ZdlPvm", OP_DELETE, "delete(void*, size_t)", DELETE_ARGS),
    CXX("_ZdlPvSt11align_val_t", OP_DELETE, "delete(void*, align_val_t)", DELETE_ARGS),
    CXX("_ZdlPvmSt11align_val_t", OP_DELETE, "delete(void*, size_t, align_val_t)", DELETE_ARGS),
    CXX("_ZdlPvRKSt9nothrow_t", OP_DELETE, "delete(void*, nothrow_t)", DELETE_ARGS),
    CXX("_ZdlPvSt11align_val_tRKSt9nothrow_t", OP_DELETE, "delete(void*, align_val_t, nothrow_t)",
	DELETE_ARGS),
    CXX("_ZdaPv", OP_DELETE_ARRAY, "delete[](void*)", DELETE_ARGS),
    CXX("_ZdaPvm", OP_DELETE_ARRAY, "delete[](void*, size_t)", DELETE_ARGS),
    CXX("_ZdaPvSt11align_val_t", OP_DELETE_ARRAY, "delete[](void*, align_val_t)", DELETE_ARGS),
    CXX("_ZdaPvmSt11align_val_t", OP_DELETE_ARRAY, "delete[](void*, size_t, align_val_t)",
	DELETE_ARGS),
    CXX("_ZdaPvRKSt9nothrow_t", OP_DELETE_ARRAY, "delete[](void*, nothrow_t)", DELETE_ARGS),
    CXX("_ZdaPvSt11align_val_tRKSt9nothrow_t", OP_DELETE_ARRAY,
	"delete[](void*, align_val_t, nothrow_t)", DELETE_ARGS),
    /* jemalloc: mallocx(size, flags), rallocx(ptr, size, flags), xallocx(ptr, size, extra,
     * flags) resizes in place and returns the size, sdallocx(ptr, size, flags) and
     * dallocx(ptr, flags) free */
    API("mallocx", MALLOC, 1, 0, 0, ALLOC),
    API("rallocx", REALLOC, 2, 0, 1, REALLOC),
    API("xallocx", REALLOC, 0, 0, 0, OTHER),
    API("sdallocx", FREE, 0, 0, 1, FREE),
    API("dallocx", FREE, 0, 0, 1, FREE),
    /* mimalloc's own (mi_malloc, mi_free, mi_calloc, mi_realloc are its malloc...) */
    API("mi_zalloc", CALLOC, 1, 0, 0, ALLOC),
    API("mi_mallocn", MALLOC, 2, 1, 0, ALLOC),
    API("mi_malloc_aligned", MALLOC, 1, 0, 0, ALLOC),
    API("mi_zalloc_aligned", CALLOC, 1, 0, 0, ALLOC),
    API("mi_reallocn", REALLOC, 3, 2, 1, REALLOC),
    API("mi_reallocf", REALLOC, 2, 0, 1, REALLOC),
    API("mi_realloc_aligned", REALLOC, 2, 0, 1, REALLOC),
    API("mi_free_size", FREE, 0, 0, 1, FREE),
    API("mi_free_aligned", FREE, 0, 0, 1, FREE),
    API("mi_new", OP_NEW, 1, 0, 0, ALLOC),
    API("mi_new_n", OP_NEW, 2, 1, 0, ALLOC),
    /* tcmalloc's tc_* are its malloc family and operators under other names: aliases, but
     * this one is a function of its own */
    API("tc_malloc_skip_new_handler", MALLOC, 1, 0, 0, ALLOC),
};
const int ms_nvariants = sizeof(ms_variants) / sizeof(*ms_variants);
_Static_assert(sizeof(ms_variants) / sizeof(*ms_variants) <= MS_VARIANTS_MAX, "variants");

const char *target__allocator_name(const char *path)
{
	static const struct {
		const char *prefix, *name;
	} known[] = {{"libc.so", "glibc"},	  {"libc-", "glibc"},
		     {"libjemalloc", "jemalloc"}, {"libtcmalloc", "tcmalloc"},
		     {"libmimalloc", "mimalloc"}, {"libstdc++", "libstdc++"}};
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
		if (!strncmp(base, known[i].prefix, strlen(known[i].prefix)))
			return known[i].name;
	return base;
}

const char *const ms_sys_names[MS_SYS_MAX] = {
    [MS_SYS_BRK] = "brk",	[MS_SYS_MMAP] = "mmap",	      [MS_SYS_MUNMAP] = "munmap",
    [MS_SYS_MREMAP] = "mremap", [MS_SYS_MADVISE] = "madvise", [MS_SYS_MPROTECT] = "mprotect",
};

int target__check_pid(struct target *t, pid_t pid)
{
	struct proc_stat st;
	char path[64], why[256];
	ssize_t n;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	if (!proc_stat_read(pid, &st)) {
		ms_err("no process with PID %d (check the number with 'ps -p %d')", pid, pid);
		return -1;
	}
	if (st.flags & PROC_PF_KTHREAD) {
		ms_err("PID %d is a kernel thread: it has no user memory or allocator to trace",
		       pid);
		return -1;
	}
	if (proc_zombie_words(pid, why, sizeof(why))) {
		ms_err("%s", why);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_file(path, t->comm, sizeof(t->comm)) > 0)
		t->comm[strcspn(t->comm, "\n")] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, t->exe, sizeof(t->exe) - 1);
	if (n < 0) {
		int err = errno;

		if (geteuid() && (err == EACCES || err == EPERM))
			ms_err("cannot read %s: %s: PID %d belongs to another user; run memstudy "
			       "with sudo",
			       path, strerror(err), pid);
		else
			ms_err("cannot read %s: %s (did PID %d just exit?)", path, strerror(err),
			       pid);
		return -1;
	}
	t->exe[n] = '\0';
	return 0;
}

static void note_searched(struct target *t, const char *path)
{
	size_t len = strlen(t->searched);

	if (len + strlen(path) + 3 < sizeof(t->searched))
		snprintf(t->searched + len, sizeof(t->searched) - len, "%s%s", len ? ", " : "",
			 path);
}

/* Slot F of the built-in table: its name and arguments, nothing found yet. */
static void fn_init_builtin(struct target *t, int f)
{
	t->fn[f] = (struct target_fn){.alias_of = -1, .spec = ms_fn_specs[f]};
	snprintf(t->fn[f].name, sizeof(t->fn[f].name), "%s", ms_fn_names[f]);
}

/* Fill t->fn from PATH when it defines malloc; true if it does. */
static bool try_allocator(struct target *t, const char *path)
{
	struct elf_syms *es;
	int i, j;

	note_searched(t, path);
	es = elf_syms__open(path);
	if (!es)
		return false;
	if (!elf_syms__find(es, "malloc", &t->fn[MS_FN_MALLOC].offset, NULL)) {
		elf_syms__close(es);
		return false;
	}
	snprintf(t->allocator, sizeof(t->allocator), "%s", path);
	t->nfn = MS_FN_COUNT;
	for (i = 0; i < MS_FN_GLIBC_COUNT; i++) {
		fn_init_builtin(t, i);
		t->fn[i].found =
		    elf_syms__find(es, ms_fn_names[i], &t->fn[i].offset, &t->fn[i].size);
		for (j = 0; t->fn[i].found && j < i; j++)
			if (t->fn[j].found && t->fn[j].alias_of < 0 &&
			    t->fn[j].offset == t->fn[i].offset)
				t->fn[i].alias_of = j;
	}
	elf_syms__close(es);
	return true;
}

/* PATH defines C++'s operator new: its operators are probed there (the first such file in
 * lookup order wins, as it does for the dynamic linker). */
static bool try_cxx(struct target *t, const char *path)
{
	struct elf_syms *es;
	uint64_t off;
	bool found;

	if (t->cxx[0])
		return true;
	es = elf_syms__open(path);
	found = es && elf_syms__find(es, "_Znwm", &off, NULL);
	elf_syms__close(es);
	if (found)
		snprintf(t->cxx, sizeof(t->cxx), "%s", path);
	return found;
}

/* The file variant V is looked for in: C++'s, or the allocator's. */
static const char *variant_file(const struct target *t, int v)
{
	return ms_variants[v].file == MS_IN_CXX ? t->cxx : t->allocator;
}

/* The variants in their files, aliases found, and which of C++'s functions are traced. */
static void resolve_variants(struct target *t)
{
	struct elf_syms *files[2] = {t->cxx[0] ? elf_syms__open(t->cxx) : NULL,
				     elf_syms__open(t->allocator)};

	for (int f = MS_FN_GLIBC_COUNT; f < MS_FN_COUNT; f++)
		fn_init_builtin(t, f);
	for (int v = 0; v < ms_nvariants; v++) {
		struct target_variant *tv = &t->variants[v];
		struct elf_syms *es = files[ms_variants[v].file];
		bool in_allocator = !strcmp(variant_file(t, v), t->allocator);
		struct target_fn *f = &t->fn[ms_variants[v].fn];

		tv->alias_of = tv->alias_variant = -1;
		tv->found = es && elf_syms__find(es, ms_variants[v].sym, &tv->offset, &tv->size);
		if (!tv->found)
			continue;
		/* mimalloc's operator delete is its free: one address, one probe, counted there */
		for (int g = 0; in_allocator && g < MS_FN_GLIBC_COUNT; g++)
			if (t->fn[g].found && t->fn[g].alias_of < 0 &&
			    t->fn[g].offset == tv->offset)
				tv->alias_of = g;
		for (int u = 0; tv->alias_of < 0 && u < v; u++)
			if (t->variants[u].found && t->variants[u].offset == tv->offset &&
			    !strcmp(variant_file(t, u), variant_file(t, v))) {
				tv->alias_variant = t->variants[u].alias_variant >= 0
							? t->variants[u].alias_variant
							: u;
				tv->alias_of = t->variants[u].alias_of;
				break;
			}
		if (ms_variants[v].fn < MS_FN_GLIBC_COUNT)
			continue; /* an API of the allocator: its function is traced anyway */
		if (!f->found || (f->alias_of >= 0 && tv->alias_of < 0 && tv->alias_variant < 0)) {
			f->offset = tv->offset;
			f->size = tv->size;
		}
		f->found = true;
	}
	elf_syms__close(files[0]);
	elf_syms__close(files[1]);
	/* a function all of whose variants are another's addresses is counted there */
	for (int f = MS_FN_GLIBC_COUNT; f < MS_FN_COUNT; f++) {
		int other = -1;
		bool own = false;

		for (int v = 0; v < ms_nvariants; v++) {
			const struct target_variant *tv = &t->variants[v];

			if (ms_variants[v].fn != f || !tv->found ||
			    ms_variants[v].file != MS_IN_CXX)
				continue;
			if (tv->alias_of < 0 && tv->alias_variant < 0)
				own = true;
			else if (other < 0)
				other = tv->alias_of >= 0 ? tv->alias_of
							  : ms_variants[tv->alias_variant].fn;
		}
		t->fn[f].alias_of = own || other == f ? -1 : other;
	}
}

/* A path as this process can open it, even when the target has another mount namespace. */
static void path_in_target(const struct target *t, const char *path, char *out, size_t size)
{
	struct stat ours, theirs;
	char root[64];

	snprintf(root, sizeof(root), "/proc/%d/root", t->pid);
	if (!stat("/", &ours) && !stat(root, &theirs) &&
	    (ours.st_dev != theirs.st_dev || ours.st_ino != theirs.st_ino)) {
		snprintf(out, size, "%s%s", root, path);
		if (!access(out, R_OK))
			return;
	}
	snprintf(out, size, "%s", path);
}

static int find_phase_marker(struct target *t, const char *exe)
{
	struct elf_syms *es = elf_syms__open(exe);

	if (es) {
		t->has_phase = elf_syms__find(es, "memstudy_phase", &t->phase_offset, NULL);
		elf_syms__close(es);
	}
	return 0;
}

/* An error about T, unless it is resolved quietly (target__exec_traced). */
#define target_err(t, ...)                                                                         \
	do {                                                                                       \
		if (!(t)->quiet)                                                                   \
			ms_err(__VA_ARGS__);                                                       \
	} while (0)

/* Say why no allocator was found in T's program, by what kind of program it is. */
static int no_allocator(struct target *t)
{
	struct elf_syms *es = elf_syms__open(t->exe);
	bool is_static = es && !elf_syms__interp(es), stripped = es && !elf_syms__has_symtab(es);

	elf_syms__close(es);
	if (is_static && stripped)
		target_err(
		    t,
		    "no allocator symbols (malloc, free, ...) in %s: it is statically linked "
		    "and stripped, so its malloc has no symbol to probe. Rebuild it without "
		    "-s, or link it dynamically",
		    t->exe);
	else if (is_static)
		target_err(
		    t,
		    "no allocator symbols (malloc, free, ...) in %s: it is statically linked "
		    "and not stripped, and defines no malloc, so it does not allocate through "
		    "the malloc family and there is nothing to trace",
		    t->exe);
	else
		target_err(t, "no allocator symbols (malloc, free, ...) found; searched: %s",
			   t->searched[0] ? t->searched : "(nothing)");
	return -1;
}

static int resolve_pid_once(struct target *t);
static int pid_objects(const struct target *t, char ***out);
static int resolve_custom(struct target *t, char **objs, int n);
static void objects_free(char **objs, int n);

int target__resolve_pid(struct target *t)
{
	char exe[PATH_MAX];
	struct elf_syms *es;
	bool dynamic;
	int tries;

	path_in_target(t, t->exe, exe, sizeof(exe));
	es = elf_syms__open(exe);
	dynamic = es && elf_syms__interp(es);
	elf_syms__close(es);
	/* A dynamic program caught before ld.so mapped libc: give it a moment. */
	for (tries = 0; tries < 40; tries++) {
		if (!resolve_pid_once(t)) {
			char **objs;
			int n = pid_objects(t, &objs), err = resolve_custom(t, objs, n);

			objects_free(objs, n);
			return err;
		}
		if (!dynamic)
			break;
		usleep(25000);
		t->searched[0] = '\0';
	}
	return no_allocator(t);
}

static int resolve_pid_once(struct target *t)
{
	char path[64], line[PATH_MAX + 128], file[PATH_MAX], exe[PATH_MAX];
	char(*libs)[PATH_MAX] = NULL;
	int nlibs = 0, i, pass;
	FILE *f;

	path_in_target(t, t->exe, exe, sizeof(exe));
	find_phase_marker(t, exe);
	try_cxx(t, exe);
	if (try_allocator(t, exe))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	f = fopen(path, "re");
	if (!f) {
		ms_err("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *name = strchr(line, '/');

		if (!name || !strstr(line, " r-xp ") || strstr(line, "(deleted)"))
			continue;
		name[strcspn(name, "\n")] = '\0';
		for (i = 0; i < nlibs && strcmp(libs[i], name); i++)
			;
		if (i < nlibs || !strcmp(name, t->exe))
			continue;
		libs = realloc(libs, (nlibs + 1) * sizeof(*libs));
		snprintf(libs[nlibs++], PATH_MAX, "%s", name);
	}
	fclose(f);
	/* An allocator replacing C++'s operators wins over libstdc++ (second pass). */
	for (pass = 0; pass < 2 && !t->cxx[0]; pass++) {
		for (i = 0; i < nlibs; i++) {
			if (!!strstr(libs[i], "/libstdc++") != (pass == 1))
				continue;
			path_in_target(t, libs[i], file, sizeof(file));
			if (try_cxx(t, file))
				break;
		}
	}
	/* A preloaded allocator wins over libc: look at libc only on the second pass. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < nlibs; i++) {
			bool is_libc = strstr(libs[i], "/libc.so") || strstr(libs[i], "/libc-");

			if (is_libc != (pass == 1))
				continue;
			path_in_target(t, libs[i], file, sizeof(file));
			if (try_allocator(t, file)) {
				free(libs);
				return 0;
			}
		}
	}
	free(libs);
	return -1;
}

void target__env_of(struct target *t, pid_t pid)
{
	static const char *const names[2] = {"LD_PRELOAD=", "LD_LIBRARY_PATH="};
	char path[64], *env = malloc(65536);
	long n;

	t->env_given = true;
	t->ld_env[0][0] = t->ld_env[1][0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	n = env ? read_file(path, env, 65536) : -1;
	for (long at = 0; at < n; at += strlen(env + at) + 1)
		for (int k = 0; k < 2; k++)
			if (!strncmp(env + at, names[k], strlen(names[k])))
				snprintf(t->ld_env[k], sizeof(t->ld_env[k]), "%s", env + at);
	free(env);
}

/* Objects the dynamic linker will load for PATH, in lookup order, from "ld.so --list". */
static int list_objects(const struct target *t, const char *interp, const char *path, char ***out)
{
	char line[PATH_MAX + 128], **objs = NULL;
	int fds[2], n = 0, status;
	pid_t pid;
	FILE *f;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], 1);
		if (t->env_given) { /* the traced process's, not ours */
			unsetenv("LD_PRELOAD");
			unsetenv("LD_LIBRARY_PATH");
			for (int k = 0; k < 2; k++)
				if (t->ld_env[k][0])
					putenv((char *)t->ld_env[k]);
		}
		execl(interp, interp, "--list", path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *arrow = strstr(line, "=> "), *p = arrow ? arrow + 3 : line;

		while (*p == '\t' || *p == ' ')
			p++;
		if (*p != '/')
			continue;
		p[strcspn(p, " (\n")] = '\0';
		objs = realloc(objs, (n + 1) * sizeof(*objs));
		objs[n++] = strdup(p);
	}
	if (f)
		fclose(f);
	waitpid(pid, &status, 0);
	*out = objs;
	return n;
}

int target__resolve_exec(struct target *t, const char *path)
{
	struct elf_syms *es;
	char interp[PATH_MAX] = "", **objs = NULL;
	int n, i, ret = -1;

	snprintf(t->exe, sizeof(t->exe), "%s", path);
	find_phase_marker(t, path);
	es = elf_syms__open(path);
	if (!es) {
		/* A script: its interpreter is the program whose allocator runs. */
		char buf[PATH_MAX + 2];
		long got = read_file(path, buf, sizeof(buf));

		if (got > 2 && buf[0] == '#' && buf[1] == '!') {
			char *p = buf + 2;

			p += strspn(p, " \t");
			p[strcspn(p, " \t\n")] = '\0';
			return target__resolve_exec(t, p);
		}
		target_err(t, "cannot read %s as an ELF program: %s", path, strerror(errno));
		return -1;
	}
	if (elf_syms__interp(es))
		snprintf(interp, sizeof(interp), "%s", elf_syms__interp(es));
	elf_syms__close(es);
	try_cxx(t, path);
	if (try_allocator(t, path))
		ret = 0;
	else if (!interp[0])
		return no_allocator(t);
	n = interp[0] ? list_objects(t, interp, path, &objs) : 0;
	if (n < 0)
		n = 0;
	for (i = 0; i < n; i++) {
		if (ret && try_allocator(t, objs[i]))
			ret = 0;
		try_cxx(t, objs[i]);
	}
	if (ret) {
		objects_free(objs, n);
		return no_allocator(t);
	}
	/* the program first: where the dynamic linker looks first */
	objs = realloc(objs, (n + 1) * sizeof(*objs));
	memmove(objs + 1, objs, n * sizeof(*objs));
	objs[0] = strdup(path);
	ret = resolve_custom(t, objs, n + 1);
	objects_free(objs, n + 1);
	return ret;
}

/* Custom allocators ------------------------------------------------------------------- */

/* OBJ is the module a spec names: its path, or a base name it starts with. */
static bool module_is(const char *obj, const char *module)
{
	const char *base = strrchr(obj, '/');

	if (module[0] == '/')
		return !strcmp(obj, module);
	base = base ? base + 1 : obj;
	return !strncmp(base, module, strlen(module));
}

/* The first of OBJS (lookup order) defining F's symbol, in F's module when it names one:
 * its index, with the offset and size; -1 when none does. */
static int find_spec_fn(char **objs, int n, const struct spec_fn *f, uint64_t *off, uint64_t *size)
{
	for (int i = 0; i < n; i++) {
		struct elf_syms *es;
		bool found;

		if (f->module[0] && !module_is(objs[i], f->module))
			continue;
		es = elf_syms__open(objs[i]);
		found = es && elf_syms__find(es, f->sym, off, size);
		elf_syms__close(es);
		if (found)
			return i;
	}
	return -1;
}

/* Say what is wrong with F, not found in OBJS. */
static void spec_fn_missing(const struct alloc_spec *s, const struct spec_fn *f, char **objs, int n)
{
	char searched[1024] = "";
	bool module_seen = false;

	for (int i = 0; i < n; i++) {
		module_seen |= f->module[0] && module_is(objs[i], f->module);
		appendf(searched, sizeof(searched), "%s%s", i ? ", " : "", objs[i]);
	}
	if (f->module[0] && !module_seen)
		ms_err("%s (%s): the program loads no module '%s' (it loads: %s); name it by "
		       "the start of its file name or its full path",
		       f->sym, s->name, f->module, searched);
	else
		ms_err("%s (%s): no function %s in %s%s; check the name with 'nm -D FILE' (C++ "
		       "names are mangled)",
		       f->sym, s->name, f->sym, f->module[0] ? "module " : "",
		       f->module[0] ? f->module : searched);
}

/* The highest argument F reads past FILE's DWARF arity of it? Then say so. The arity into
 * *ARITY (FN_ARITY_UNKNOWN without DWARF). */
static bool spec_past_arity(const struct alloc_spec *s, const struct spec_fn *f, const char *file,
			    int *arity)
{
	const unsigned int args[] = {f->size, f->count, f->ptr, f->pool};
	static const char *const keys[] = {"size", "count", "ptr", "pool"};

	*arity = fn_arity(file, f->sym);
	for (int i = 0; *arity != FN_ARITY_UNKNOWN && i < 4; i++)
		if (args[i] && (int)args[i] > *arity) {
			ms_err("%s (%s): %s=%u, but %s takes %d argument%s (its DWARF in %s says); "
			       "arguments count from 1",
			       f->sym, s->name, keys[i], args[i], f->sym, *arity,
			       *arity == 1 ? "" : "s", file);
			return true;
		}
	return false;
}

/* Probe the functions of spec S found in OBJS as one family; a spec the user gave must be
 * found whole (-1 after saying what is missing), a built-in one is taken when its first
 * function is there. */
static int add_family(struct target *t, const struct alloc_spec *s, char **objs, int n)
{
	int fam = t->nfamilies, first = t->nfn;

	if (fam >= (int)(sizeof(t->families) / sizeof(*t->families)))
		return 0;
	for (int i = 0; i < s->nfn; i++) {
		const struct spec_fn *f = &s->fn[i];
		struct target_fn *tf = &t->fn[t->nfn];
		uint64_t off, size;
		int o = find_spec_fn(objs, n, f, &off, &size);

		if (o < 0) {
			if (s->builtin || t->specs_optional) {
				if (!i)
					return 0;
				continue;
			}
			spec_fn_missing(s, f, objs, n);
			return -1;
		}
		if (t->nfn >= MS_FN_MAX) {
			ms_err("%s (%s): more than %d allocator functions in all; memstudy traces "
			       "%d besides the malloc family and C++'s",
			       f->sym, s->name, MS_FN_MAX, MS_FN_MAX - MS_FN_CUSTOM);
			t->nfn = first;
			return s->builtin ? 0 : -1;
		}
		*tf = (struct target_fn){.found = true,
					 .offset = off,
					 .size = size,
					 .alias_of = -1,
					 .family = fam,
					 .pool = f->pool,
					 .arity = FN_ARITY_UNKNOWN};
		if (!s->builtin && spec_past_arity(s, f, objs[o], &tf->arity)) {
			t->nfn = first;
			return t->specs_optional ? 0 : -1; /* said; an exec'd image goes on */
		}
		snprintf(tf->name, sizeof(tf->name), "%s", f->sym);
		snprintf(tf->file, sizeof(tf->file), "%s", objs[o]);
		tf->spec = (struct ms_fn_spec){NULL, f->size, f->count,
					       f->kind == MS_KIND_ALLOC	       ? f->pool
					       : f->kind >= MS_KIND_POOL_CLEAR ? f->pool
									       : f->ptr,
					       f->kind};
		/* one address, one probe: counted under the first name */
		for (int g = 0; g < t->nfn && tf->alias_of < 0; g++)
			if (t->fn[g].found && t->fn[g].alias_of < 0 && t->fn[g].offset == off &&
			    !strcmp(target__fn_file(t, g), objs[o]))
				tf->alias_of = g;
		t->nfn++;
	}
	snprintf(t->families[fam].name, sizeof(t->families[fam].name), "%s",
		 s->name[0] ? s->name : "custom");
	t->families[fam].builtin = s->builtin;
	memcpy(t->families[fam].file, t->fn[first].file, sizeof(t->families[fam].file));
	t->nfamilies++;
	return 0;
}

/* The user's specs, then the built-in ones whose symbols OBJS define and no spec of the
 * user's names. */
static int resolve_custom(struct target *t, char **objs, int n)
{
	const struct alloc_spec *b;
	int nb = t->specs && t->specs->no_builtin ? 0 : spec__builtins(&b);

	t->nfamilies = 0;
	for (int i = 0; t->specs && i < t->specs->n; i++)
		if (add_family(t, &t->specs->s[i], objs, n))
			return -1;
	for (int i = 0; i < nb; i++) {
		bool named = false;

		for (int f = MS_FN_CUSTOM; f < t->nfn; f++)
			named |= !strcmp(t->fn[f].name, b[i].fn[0].sym);
		if (!named)
			add_family(t, &b[i], objs, n);
	}
	return 0;
}

const char *target__fn_file(const struct target *t, int fn)
{
	if (fn >= MS_FN_CUSTOM)
		return t->fn[fn].file;
	return fn >= MS_FN_GLIBC_COUNT ? t->cxx : t->allocator;
}

void target__fn_names(const struct target *t, const char **names)
{
	for (int f = 0; f < MS_FN_MAX; f++)
		names[f] = f < t->nfn ? t->fn[f].name : NULL;
}

/* The program's objects as this process opens them, in lookup order: the executable, then
 * the text mappings of /proc/PID/maps. */
static int pid_objects(const struct target *t, char ***out)
{
	char path[64], line[PATH_MAX + 128], file[PATH_MAX], **objs = NULL;
	int n = 0, i;
	FILE *f;

	path_in_target(t, t->exe, file, sizeof(file));
	objs = malloc(sizeof(*objs));
	objs[n++] = strdup(file);
	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *name = strchr(line, '/');

		if (!name || !strstr(line, " r-xp ") || strstr(line, "(deleted)"))
			continue;
		name[strcspn(name, "\n")] = '\0';
		if (!strcmp(name, t->exe))
			continue;
		path_in_target(t, name, file, sizeof(file));
		for (i = 0; i < n && strcmp(objs[i], file); i++)
			;
		if (i < n)
			continue;
		objs = realloc(objs, (n + 1) * sizeof(*objs));
		objs[n++] = strdup(file);
	}
	if (f)
		fclose(f);
	*out = objs;
	return n;
}

static void objects_free(char **objs, int n)
{
	for (int i = 0; i < n; i++)
		free(objs[i]);
	free(objs);
}

/* The argument registers the BPF side reads at a function's entry, for probe placement. */
static unsigned int registers_read(const struct ms_fn_spec *f)
{
	static const unsigned int reg[] = {0, PROBE_READS_RDI, PROBE_READS_RSI, PROBE_READS_RDX};
	unsigned int r = 0;

	/* n * size, where only the product is needed: placement may find it computed */
	if (f->size_arg == 2 && f->count_arg == 3)
		r |= PROBE_READS_RSI_TIMES_RDX;
	else
		r |= (f->size_arg < 4 ? reg[f->size_arg] : 0) |
		     (f->count_arg < 4 ? reg[f->count_arg] : 0);
	return r | (f->ptr_arg < 4 ? reg[f->ptr_arg] : 0);
}

/* The cookie of a probe at SITE on a function of slot FN reading F's arguments: each read
 * where the probe finds it. */
static uint64_t cookie_at(int fn, const struct ms_fn_spec *f, const struct probe_site *site)
{
	const uint8_t *at = site->arg_at;

	/* past a prologue that put n * size in rsi, the size is that one argument */
	if (site->product_in_rsi)
		return MS_COOKIE(fn, at[2], 0, at[f->ptr_arg], f->kind);
	return MS_COOKIE(fn, at[f->size_arg], at[f->count_arg], at[f->ptr_arg], f->kind);
}

bool target__variant_probed(const struct target *t, int v)
{
	const struct target_variant *tv = &t->variants[v];

	return v < ms_nvariants && variant_file(t, v)[0] && tv->found && tv->alias_of < 0 &&
	       tv->alias_variant < 0;
}

const char *target__variant_file(const struct target *t, int v)
{
	return variant_file(t, v);
}

bool target__variant_entry_only(const struct target *t, int v)
{
	int fn = ms_variants[v].fn;

	/* libstdc++'s new calls the probed malloc, which can stand for it; an allocator's own
	 * new (tcmalloc's, jemalloc's) does not, and keeps its return probe */
	return ms_variants[v].file == MS_IN_CXX &&
	       (fn == MS_FN_OP_NEW || fn == MS_FN_OP_NEW_ARRAY) && t->cxx[0] &&
	       strcmp(t->cxx, t->allocator);
}

uint64_t target__variant_cookie(const struct target *t, int v)
{
	return cookie_at(ms_variants[v].fn, &ms_variants[v].args, &t->variants[v].site) |
	       (uint64_t)(v + 1) << MS_COOKIE_VARIANT_SHIFT |
	       (target__variant_entry_only(t, v) ? MS_COOKIE_ENTRY_ONLY : 0);
}

/* ROOT's slot for the custom function NAME, named now when it has none; -1: no slot left. */
/* F: a slot with NAME and nothing probed for it here (ELSEWHERE: in another image). */
static void fn_not_here(struct target_fn *f, const char *name, bool elsewhere)
{
	memset(f, 0, sizeof(*f));
	f->alias_of = -1;
	f->family = -1;
	f->elsewhere = elsewhere;
	snprintf(f->name, sizeof(f->name), "%s", name);
}

static int shared_slot(struct target *root, const char *name)
{
	for (int f = MS_FN_CUSTOM; f < root->nfn; f++)
		if (!strcmp(root->fn[f].name, name))
			return f;
	if (root->nfn >= MS_FN_MAX)
		return -1;
	if (root->nfn < MS_FN_CUSTOM)
		root->nfn = MS_FN_CUSTOM;
	fn_not_here(&root->fn[root->nfn], name, true);
	return root->nfn++;
}

int target__share_slots(struct target *t, struct target *root)
{
	int n = t->nfn, lost = 0, to[MS_FN_MAX];
	struct target_fn *mine;

	if (n <= MS_FN_CUSTOM)
		return 0;
	/* the glibc and C++ slots are the same in every image: the custom ones move */
	mine = xrealloc(NULL, (n - MS_FN_CUSTOM) * sizeof(*mine));
	memcpy(mine, &t->fn[MS_FN_CUSTOM], (n - MS_FN_CUSTOM) * sizeof(*mine));
	t->nfn = MS_FN_CUSTOM;
	for (int k = 0; k < n - MS_FN_CUSTOM; k++) {
		int slot = mine[k].found ? shared_slot(root, mine[k].name) : -1;

		to[MS_FN_CUSTOM + k] = slot;
		if (slot < 0) {
			lost += mine[k].found;
			continue;
		}
		for (; t->nfn <= slot;
		     t->nfn++) /* the slots between: the tree's, not this image's */
			fn_not_here(&t->fn[t->nfn], root->fn[t->nfn].name, false);
		t->fn[slot] = mine[k];
	}
	for (int f = 0; f < t->nfn; f++) /* an alias names the moved slot */
		if (t->fn[f].alias_of >= MS_FN_CUSTOM)
			t->fn[f].alias_of = to[t->fn[f].alias_of];
	free(mine);
	return lost;
}

const char *target__spec_unmatched(const struct target *root)
{
	for (int i = 0; root->specs && i < root->specs->n; i++) {
		const struct alloc_spec *s = &root->specs->s[i];

		for (int k = 0; !s->builtin && k < s->nfn; k++) {
			bool named = false;

			for (int f = MS_FN_CUSTOM; f < root->nfn && !named; f++)
				named = !strcmp(root->fn[f].name, s->fn[k].sym) &&
					(root->fn[f].found || root->fn[f].elsewhere);
			if (!named)
				return s->fn[k].sym;
		}
	}
	return NULL;
}

uint64_t target__cookie(const struct target *t, int fn)
{
	return cookie_at(fn, &t->fn[fn].spec, &t->fn[fn].site);
}

static void place_custom(struct target *t)
{
	for (int f = MS_FN_CUSTOM; f < t->nfn; f++) {
		struct target_fn *tf = &t->fn[f];
		struct elf_syms *es;

		if (!tf->found || tf->alias_of >= 0)
			continue;
		es = elf_syms__open(tf->file);
		probe_place(es, tf->file, tf->offset, tf->size, registers_read(&tf->spec),
			    t->probe_at_entry, &tf->site);
		elf_syms__close(es);
	}
}

void target__place_probes_like(struct target *t, const struct target *like)
{
	if (!like || strcmp(t->allocator, like->allocator) || strcmp(t->cxx, like->cxx) ||
	    t->probe_at_entry != like->probe_at_entry) {
		target__place_probes(t);
		return;
	}
	/* the same files: the same places (disassembling them again costs ~40 ms) */
	for (int f = 0; f < MS_FN_CUSTOM; f++)
		t->fn[f] = like->fn[f];
	memcpy(t->variants, like->variants, sizeof(t->variants));
	t->steps = like->steps;
	t->is_glibc = like->is_glibc;
	place_custom(t);
}

void target__place_probes(struct target *t)
{
	struct elf_syms *es = elf_syms__open(t->allocator);
	const char *base;

	for (int i = 0; i < MS_FN_GLIBC_COUNT; i++) {
		struct target_fn *f = &t->fn[i];

		if (!f->found || f->alias_of >= 0)
			continue;
		probe_place(es, t->allocator, f->offset, f->size, registers_read(&ms_fn_specs[i]),
			    t->probe_at_entry, &f->site);
	}
	elf_syms__close(es);
	resolve_variants(t);
	for (int v = 0; v < ms_nvariants; v++) {
		struct target_variant *tv = &t->variants[v];

		if (!target__variant_probed(t, v))
			continue;
		es = elf_syms__open(variant_file(t, v));
		probe_place(es, variant_file(t, v), tv->offset, tv->size,
			    registers_read(&ms_variants[v].args) |
				(target__variant_entry_only(t, v) ? PROBE_NO_RETURN : 0),
			    t->probe_at_entry, &tv->site);
		elf_syms__close(es);
	}
	for (int f = MS_FN_GLIBC_COUNT; f < MS_FN_COUNT; f++)
		for (int v = ms_nvariants - 1; v >= 0; v--) /* the base variant's, for reports */
			if (ms_variants[v].fn == f && target__variant_probed(t, v))
				t->fn[f].site = t->variants[v].site;
	place_custom(t);
	base = strrchr(t->allocator, '/');
	t->is_glibc = !strncmp(base ? base + 1 : t->allocator, "libc.so", 7);
	if (t->is_glibc)
		glibc_steps__resolve(&t->steps, t->allocator, t->probe_at_entry);
}

bool target__exec_traced(const struct target *t, const char *exe, char *allocator, size_t len)
{
	struct target *n = calloc(1, sizeof(*n));
	struct stat a, b;
	bool same;

	snprintf(allocator, len, "none found");
	if (!n)
		return false;
	n->quiet = true;
	if (target__resolve_exec(n, exe)) {
		free(n);
		return false;
	}
	snprintf(allocator, len, "%s", n->allocator);
	same = !stat(n->allocator, &a) && !stat(t->allocator, &b) && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
	free(n);
	return same;
}

/* CMD as execve() wants it: searched in PATH like a shell does. */
int target__command_path(const char *cmd, char *path, size_t size)
{
	const char *dirs = getenv("PATH");
	char real[PATH_MAX];
	struct stat st;
	char *copy, *dir, *save;

	if (strchr(cmd, '/')) {
		snprintf(path, size, "%s", cmd);
	} else {
		path[0] = '\0';
		copy = strdup(dirs && *dirs ? dirs : "/usr/local/bin:/usr/bin:/bin");
		for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			snprintf(path, size, "%s/%s", *dir ? dir : ".", cmd);
			if (!access(path, X_OK) && !stat(path, &st) && S_ISREG(st.st_mode))
				break;
			path[0] = '\0';
		}
		free(copy);
		if (!path[0]) {
			ms_err("cannot run '%s': command not found in PATH", cmd);
			return 127;
		}
	}
	if (stat(path, &st)) {
		ms_err("cannot run '%s': %s", cmd, strerror(errno));
		return 127;
	}
	if (realpath(path, real))
		snprintf(path, size, "%s", real); /* reports name the file, wherever we ran */
	if (!S_ISREG(st.st_mode) || access(path, X_OK)) {
		ms_err("cannot run '%s': not an executable file", cmd);
		return 126;
	}
	return 0;
}

/* The mapping holding ADDR in /proc/PID/maps: its path into PATH. */
static bool mapping_path(pid_t pid, uint64_t addr, char *path, size_t size)
{
	char name[64], line[4096 + 256];
	bool found = false;
	FILE *f;

	snprintf(name, sizeof(name), "/proc/%d/maps", pid);
	f = fopen(name, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char file[4096] = "";

		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %4095[^\n]", &lo, &hi, file) >= 2 &&
		    addr >= lo && addr < hi && file[0] == '/') {
			snprintf(path, size, "%s", file);
			found = true;
		}
	}
	fclose(f);
	return found;
}

bool target__loader_text(pid_t pid, uint64_t *start, uint64_t *end)
{
	char name[64], line[4096 + 256], ld[PATH_MAX];
	uint64_t auxv[2], base = 0;
	bool found = false;
	FILE *f;

	snprintf(name, sizeof(name), "/proc/%d/auxv", pid);
	f = fopen(name, "re");
	if (!f)
		return false;
	while (fread(auxv, sizeof(auxv), 1, f) == 1 && auxv[0])
		if (auxv[0] == 7) /* AT_BASE */
			base = auxv[1];
	fclose(f);
	if (!base || !mapping_path(pid, base, ld, sizeof(ld)))
		return false;
	snprintf(name, sizeof(name), "/proc/%d/maps", pid);
	f = fopen(name, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perms[8], file[4096] = "";

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %4095[^\n]", &lo, &hi, perms, file) ==
			4 &&
		    perms[2] == 'x' && !strcmp(file, ld)) {
			*start = lo;
			*end = hi;
			found = true;
		}
	}
	fclose(f);
	return found;
}
