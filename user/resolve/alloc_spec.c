// SPDX-License-Identifier: GPL-2.0
/* Custom allocator specs: the grammar of --alloc & co. and of spec files (alloc_spec.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "resolve/alloc_spec.h"

/* Each line word: its kind, the keys it takes and the ones it needs. */
static const struct {
	const char *word;
	enum ms_fn_kind kind;
	const char *keys, *needs;
	const char *what;
} words[] = {
    {"alloc", MS_KIND_ALLOC, "size,count,pool", "size", "returns a block"},
    {"free", MS_KIND_FREE, "ptr", "ptr", "frees the block passed in"},
    {"realloc", MS_KIND_REALLOC, "ptr,size", "ptr,size", "resizes a block: returns it"},
    {"pool-create", MS_KIND_OTHER, "", "", "counted and timed only"},
    {"pool-clear", MS_KIND_POOL_CLEAR, "pool", "pool", "frees every block of a pool"},
    {"pool-destroy", MS_KIND_POOL_DESTROY, "pool", "pool", "frees a pool and its blocks"},
};

static int word_index(const char *word)
{
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (!strcmp(words[i].word, word))
			return (int)i;
	return -1;
}

enum ms_fn_kind spec__kind_of(const char *word)
{
	int i = word_index(word);

	return i < 0 ? 0 : words[i].kind;
}

const char *spec__kind_word(enum ms_fn_kind kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (words[i].kind == kind)
			return words[i].word;
	return "?";
}

/* KEY is in the comma-separated LIST. */
static bool in_list(const char *list, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",");

		if (l == n && !strncmp(p, key, n))
			return true;
		p += l + (p[l] == ',');
	}
	return false;
}

static unsigned int *arg_field(struct spec_fn *f, const char *key)
{
	return !strcmp(key, "size")    ? &f->size
	       : !strcmp(key, "count") ? &f->count
	       : !strcmp(key, "ptr")   ? &f->ptr
	       : !strcmp(key, "pool")  ? &f->pool
				       : NULL;
}

/* "size=2,pool=1" into F for line word W: 0, or -1 with ERR. */
static int parse_args(struct spec_fn *f, int w, const char *args, char *err, size_t len)
{
	char buf[256], *save, *item;

	if (strlen(args) >= sizeof(buf)) {
		snprintf(err, len, "%s: the arguments are too long", f->sym);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", args);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '='), *end;
		unsigned int *field;
		long n;

		if (!eq) {
			snprintf(err, len, "%s: '%s' is not key=N (keys: %s)", f->sym, item,
				 words[w].keys);
			return -1;
		}
		*eq = '\0';
		field = arg_field(f, item);
		if (!field || !in_list(words[w].keys, item)) {
			snprintf(err, len, "%s: %s takes %s%s, not '%s'", f->sym, words[w].word,
				 *words[w].keys ? "the keys " : "no arguments", words[w].keys,
				 item);
			return -1;
		}
		if (*field) {
			snprintf(err, len, "%s: %s= is given twice", f->sym, item);
			return -1;
		}
		errno = 0;
		n = strtol(eq + 1, &end, 10);
		if (errno || end == eq + 1 || *end || n < 1) {
			snprintf(err, len,
				 "%s: %s=%s is not an argument number (1 is the first argument)",
				 f->sym, item, eq + 1);
			return -1;
		}
		if (n > SPEC_ARG_MAX) {
			snprintf(err, len,
				 "%s: %s=%ld is past the arguments memstudy reads: 1 to %d (rdi, "
				 "rsi, rdx, rcx, r8)",
				 f->sym, item, n, SPEC_ARG_MAX);
			return -1;
		}
		*field = (unsigned int)n;
	}
	for (const char *p = words[w].needs; *p;) {
		size_t l = strcspn(p, ",");
		char key[16];

		snprintf(key, sizeof(key), "%.*s", (int)l, p);
		if (!*arg_field(f, key)) {
			snprintf(err, len, "%s: %s needs %s=N (the argument holding the %s)",
				 f->sym, words[w].word, key,
				 !strcmp(key, "size")  ? "size in bytes"
				 : !strcmp(key, "ptr") ? "block"
						       : "pool");
			return -1;
		}
		p += l + (p[l] == ',');
	}
	return 0;
}

int spec__add(struct alloc_spec *s, const char *word, const char *value, char *err, size_t len)
{
	int w = word_index(word);
	const char *colon, *args = "", *name = value;
	struct spec_fn f = {0};
	size_t nlen;

	if (w < 0) {
		snprintf(err, len,
			 "'%s' is not a spec line: alloc, free, realloc, pool-create, pool-clear "
			 "or pool-destroy",
			 word);
		return -1;
	}
	f.kind = words[w].kind;
	/* [MODULE:]FUNC[:ARGS]: the arguments are after the last colon, and have an '=' */
	colon = strrchr(value, ':');
	if (colon && strchr(colon, '=')) {
		args = colon + 1;
		nlen = colon - value;
	} else {
		nlen = strlen(value);
	}
	colon = memchr(value, ':', nlen);
	if (colon) {
		if ((size_t)(colon - value) >= sizeof(f.module)) {
			snprintf(err, len, "the module name in '%s' is too long", value);
			return -1;
		}
		snprintf(f.module, sizeof(f.module), "%.*s", (int)(colon - value), value);
		name = colon + 1;
		nlen -= colon + 1 - value;
	}
	if (!nlen || nlen >= sizeof(f.sym) || memchr(name, ':', nlen) || (colon && !f.module[0])) {
		snprintf(err, len, "'%s' is not [MODULE:]FUNCTION[:key=N,...]", value);
		return -1;
	}
	snprintf(f.sym, sizeof(f.sym), "%.*s", (int)nlen, name);
	if (parse_args(&f, w, args, err, len))
		return -1;
	for (int i = 0; i < s->nfn; i++)
		if (!strcmp(s->fn[i].sym, f.sym) && !strcmp(s->fn[i].module, f.module)) {
			snprintf(err, len, "%s is named twice", f.sym);
			return -1;
		}
	if (s->nfn >= SPEC_FNS_MAX) {
		snprintf(err, len, "more than %d custom allocator functions", SPEC_FNS_MAX);
		return -1;
	}
	s->fn[s->nfn++] = f;
	return 0;
}

/* One line of a spec (NUL-terminated, no newline): 0, or -1 with ERR. */
static int parse_line(struct alloc_spec *s, char *line, char *err, size_t len)
{
	char *p = line + strspn(line, " \t"), *word, *value, *end;

	p[strcspn(p, "#")] = '\0';
	for (end = p + strlen(p);
	     end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r');)
		*--end = '\0';
	if (!*p)
		return 0;
	if (!strncmp(p, "name:", 5)) {
		value = p + 5 + strspn(p + 5, " \t");
		if (!*value || strlen(value) >= sizeof(s->name)) {
			snprintf(err, len, "name: needs a name of at most %zu characters",
				 sizeof(s->name) - 1);
			return -1;
		}
		snprintf(s->name, sizeof(s->name), "%s", value);
		return 0;
	}
	word = p + (strncmp(p, "--", 2) ? 0 : 2); /* "--alloc f:size=1" as typed */
	value = word + strcspn(word, " \t=");
	if (*value)
		*value++ = '\0';
	value += strspn(value, " \t");
	if (!*value) {
		snprintf(err, len, "'%s' needs a function: %s FUNCTION[:key=N,...]", word, word);
		return -1;
	}
	return spec__add(s, word, value, err, len);
}

int spec__parse_text(struct alloc_spec *s, const char *text, char *err, size_t len)
{
	char *copy = strdup(text), *line, *save = NULL, msg[512];
	int n = 0, ret = 0;

	if (!copy) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	/* strtok_r would merge empty lines and shift the line numbers */
	for (line = copy; line && !ret; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		n++;
		if (parse_line(s, line, msg, sizeof(msg))) {
			snprintf(err, len, "line %d: %s", n, msg);
			ret = -1;
		}
	}
	free(copy);
	if (!ret && !s->nfn) {
		snprintf(err, len, "no functions (alloc, free, ... lines)");
		ret = -1;
	}
	return ret;
}

int spec__parse_file(struct alloc_spec *s, const char *path, char *err, size_t len)
{
	char buf[16384], msg[512];
	long n = read_file(path, buf, sizeof(buf));

	if (n < 0) {
		snprintf(err, len, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if ((size_t)n >= sizeof(buf) - 1) {
		snprintf(err, len, "%s: longer than %zu bytes", path, sizeof(buf) - 2);
		return -1;
	}
	if (spec__parse_text(s, buf, msg, sizeof(msg))) {
		/* "line 3: ..." as "FILE:3: ..." */
		if (!strncmp(msg, "line ", 5))
			snprintf(err, len, "%s:%s", path, msg + 5);
		else
			snprintf(err, len, "%s: %s", path, msg);
		return -1;
	}
	if (!s->name[0]) {
		const char *base = strrchr(path, '/');

		snprintf(s->name, sizeof(s->name), "%.*s",
			 (int)strcspn(base ? base + 1 : path, "."), base ? base + 1 : path);
	}
	return 0;
}

void spec__format_fn(const struct spec_fn *f, char *buf, size_t len)
{
	static const char *const keys[] = {"ptr", "size", "count", "pool"};
	const unsigned int vals[] = {f->ptr, f->size, f->count, f->pool};
	char sep = ':';

	snprintf(buf, len, "%s %s%s%s", spec__kind_word(f->kind), f->module,
		 f->module[0] ? ":" : "", f->sym);
	for (int i = 0; i < 4; i++)
		if (vals[i]) {
			appendf(buf, len, "%c%s=%u", sep, keys[i], vals[i]);
			sep = ',';
		}
}

/*
 * The built-in specs, chosen when their first function is defined in the program or a
 * library it loads. kamailio's allocators take the pool first and, in its debug builds,
 * the caller's file, function, line and module after the arguments read here; their shm
 * versions lock and call these.
 */
static const char *const builtin_text[] = {
    "name: tlsf\n"
    "alloc tlsf_malloc:size=2\n"
    "free tlsf_free:ptr=2\n"
    "realloc tlsf_realloc:ptr=2,size=3\n",
    "name: q_malloc\n"
    "alloc qm_malloc:size=2\n"
    "free qm_free:ptr=2\n"
    "realloc qm_realloc:ptr=2,size=3\n",
    "name: f_malloc\n"
    "alloc fm_malloc:size=2\n"
    "free fm_free:ptr=2\n"
    "realloc fm_realloc:ptr=2,size=3\n",
    /* jemalloc built with --with-jemalloc-prefix=je_ (redis's bundled copy), beside
     * the program's other malloc */
    "name: jemalloc-je\n"
    "alloc je_malloc:size=1\n"
    "alloc je_calloc:size=1,count=2\n"
    "realloc je_realloc:ptr=1,size=2\n"
    "free je_free:ptr=1\n"
    "alloc je_aligned_alloc:size=2\n"
    "alloc je_mallocx:size=1\n"
    "realloc je_rallocx:ptr=1,size=2\n"
    "free je_sdallocx:ptr=1\n"
    "free je_dallocx:ptr=1\n",
    /* apr_pool_clear and apr_pool_destroy destroy the pool's children through
     * apr_pool_destroy: each is seen */
    "name: apr-pools\n"
    "alloc apr_palloc:size=2,pool=1\n"
    "alloc apr_pcalloc:size=2,pool=1\n"
    "pool-create apr_pool_create_ex\n"
    "pool-clear apr_pool_clear:pool=1\n"
    "pool-destroy apr_pool_destroy:pool=1\n",
};

int spec__builtins(const struct alloc_spec **out)
{
	static struct alloc_spec specs[ARRAY_SIZE(builtin_text)];
	static int n = -1;
	char err[256];

	if (n < 0) {
		n = 0;
		for (size_t i = 0; i < ARRAY_SIZE(builtin_text); i++) {
			if (spec__parse_text(&specs[n], builtin_text[i], err, sizeof(err)))
				abort(); /* a bug in the table above: the unit tests parse it */
			specs[n++].builtin = true;
		}
	}
	*out = specs;
	return n;
}
