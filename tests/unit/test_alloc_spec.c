// SPDX-License-Identifier: GPL-2.0
/* resolve/alloc_spec: the grammar of --alloc & co. and spec files; analyse/pools. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "analyse/pools.h"
#include "check.h"
#include "resolve/alloc_spec.h"

static int add(struct alloc_spec *s, const char *word, const char *value, char *err)
{
	return spec__add(s, word, value, err, 256);
}

TEST(spec_lines_as_the_options_take_them)
{
	struct alloc_spec s = {0};
	char err[256] = "";

	CHECK(!add(&s, "alloc", "pool_alloc:size=2,count=3,pool=1", err));
	CHECK(!add(&s, "free", "libfoo.so.1:pool_free:ptr=2", err));
	CHECK(!add(&s, "realloc", "/opt/lib/libfoo.so:pool_realloc:ptr=2,size=3", err));
	CHECK(!add(&s, "pool-create", "pool_new", err));
	CHECK(!add(&s, "pool-clear", "pool_clear:pool=1", err));
	CHECK(!add(&s, "pool-destroy", "pool_destroy:pool=1", err));
	CHECK(s.nfn == 6);
	CHECK(s.fn[0].kind == MS_KIND_ALLOC && s.fn[0].size == 2 && s.fn[0].count == 3 &&
	      s.fn[0].pool == 1 && !s.fn[0].module[0] && !strcmp(s.fn[0].sym, "pool_alloc"));
	CHECK(s.fn[1].kind == MS_KIND_FREE && s.fn[1].ptr == 2 &&
	      !strcmp(s.fn[1].module, "libfoo.so.1") && !strcmp(s.fn[1].sym, "pool_free"));
	CHECK(!strcmp(s.fn[2].module, "/opt/lib/libfoo.so") && s.fn[2].ptr == 2 &&
	      s.fn[2].size == 3 && s.fn[2].kind == MS_KIND_REALLOC);
	CHECK(s.fn[3].kind == MS_KIND_OTHER && !strcmp(s.fn[3].sym, "pool_new"));
	CHECK(s.fn[4].kind == MS_KIND_POOL_CLEAR && s.fn[4].pool == 1);
	CHECK(s.fn[5].kind == MS_KIND_POOL_DESTROY && s.fn[5].pool == 1);
}

TEST(spec_errors_say_what_is_wrong)
{
	struct alloc_spec s = {0};
	char err[256];

	CHECK(add(&s, "alloc", "f", err) && strstr(err, "needs size=N"));
	CHECK(add(&s, "alloc", "f:size=6", err) && strstr(err, "past the arguments"));
	CHECK(add(&s, "alloc", "f:size=0", err) && strstr(err, "not an argument number"));
	CHECK(add(&s, "alloc", "f:size=x", err) && strstr(err, "not an argument number"));
	CHECK(add(&s, "alloc", "f:size=1,size=2", err) && strstr(err, "given twice"));
	CHECK(add(&s, "alloc", "f:ptr=1", err) && strstr(err, "size,count,pool"));
	CHECK(add(&s, "free", "f:size=1", err) && strstr(err, "free takes the keys ptr"));
	CHECK(add(&s, "realloc", "f:ptr=1", err) && strstr(err, "needs size=N"));
	CHECK(add(&s, "pool-clear", "f", err) && strstr(err, "needs pool=N"));
	CHECK(add(&s, "pool-create", "f:size=1", err) && strstr(err, "no arguments"));
	CHECK(add(&s, "alloc", ":f:size=1", err) && strstr(err, "[MODULE:]FUNCTION"));
	CHECK(add(&s, "alloc", "", err));
	CHECK(add(&s, "malloc", "f:size=1", err) && strstr(err, "not a spec line"));
	CHECK(!add(&s, "alloc", "f:size=1", err));
	CHECK(add(&s, "free", "f:ptr=1", err) && strstr(err, "named twice"));
	CHECK(s.nfn == 1);
}

TEST(spec_text_with_name_comments_and_line_numbers)
{
	struct alloc_spec s = {0};
	char err[256];

	CHECK(
	    !spec__parse_text(&s,
			      "# a pool\nname: mypool\n\n  alloc p_alloc:size=2,pool=1  # blocks\n"
			      "--free p_free:ptr=1\r\npool-destroy p_done:pool=1\n",
			      err, sizeof(err)));
	CHECK(!strcmp(s.name, "mypool") && s.nfn == 3);
	CHECK(s.fn[1].kind == MS_KIND_FREE && s.fn[2].kind == MS_KIND_POOL_DESTROY);
	memset(&s, 0, sizeof(s));
	CHECK(spec__parse_text(&s, "name: x\n\nalloc a:size=1\nfree b\n", err, sizeof(err)));
	CHECK(!strncmp(err, "line 4: ", 8) && strstr(err, "needs ptr=N"));
	memset(&s, 0, sizeof(s));
	CHECK(spec__parse_text(&s, "name: empty\n# nothing\n", err, sizeof(err)) &&
	      strstr(err, "no functions"));
}

TEST(spec_file_named_after_itself)
{
	char path[] = "/tmp/memstudy-spec-XXXXXX", err[512];
	struct alloc_spec s = {0};
	int fd = mkstemp(path);
	const char text[] = "alloc a:size=1\nfree b:ptr=1\nrealloc c:ptr=1\n";

	CHECK(fd >= 0 && write(fd, text, sizeof(text) - 1) == sizeof(text) - 1);
	close(fd);
	CHECK(spec__parse_file(&s, path, err, sizeof(err)));
	CHECK(!strncmp(err, path, strlen(path)) && strstr(err, ":3: ") && strstr(err, "size=N"));
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, text, 28) == 28);
	close(fd);
	memset(&s, 0, sizeof(s));
	CHECK(!spec__parse_file(&s, path, err, sizeof(err)));
	CHECK(!strncmp(s.name, "memstudy-spec-", 14) && s.nfn == 2);
	unlink(path);
	CHECK(spec__parse_file(&s, path, err, sizeof(err)) && strstr(err, "cannot read"));
}

TEST(spec_builtins_and_formatting)
{
	const struct alloc_spec *b;
	int n = spec__builtins(&b);
	char line[256];

	CHECK(n == 5);
	CHECK(!strcmp(b[0].name, "tlsf") && !strcmp(b[0].fn[0].sym, "tlsf_malloc"));
	CHECK(b[0].fn[0].size == 2 && b[0].fn[1].ptr == 2 && b[0].fn[2].size == 3);
	CHECK(!strcmp(b[1].name, "q_malloc") && !strcmp(b[2].name, "f_malloc"));
	CHECK(!strcmp(b[3].name, "jemalloc-je") && b[3].nfn == 9);
	CHECK(b[3].fn[1].size == 1 && b[3].fn[1].count == 2);
	CHECK(!strcmp(b[4].name, "apr-pools") && b[4].nfn == 5 && b[4].builtin);
	spec__format_fn(&b[4].fn[0], line, sizeof(line));
	CHECK(!strcmp(line, "alloc apr_palloc:size=2,pool=1"));
	spec__format_fn(&b[0].fn[2], line, sizeof(line));
	CHECK(!strcmp(line, "realloc tlsf_realloc:ptr=2,size=3"));
	spec__format_fn(&b[4].fn[2], line, sizeof(line));
	CHECK(!strcmp(line, "pool-create apr_pool_create_ex"));
}

TEST(pools_keep_their_blocks_until_cleared)
{
	struct pools p = {0};
	struct pool_blocks *b;

	for (uint64_t pool = 1; pool <= 100; pool++)
		for (uint64_t i = 0; i < pool; i++)
			CHECK(!pools__add(&p, pool << 20, (pool << 20) + i * 16));
	CHECK(p.n == 100);
	b = pools__find(&p, 37 << 20);
	CHECK(b && b->n == 37 && b->ptr[36] == (37 << 20) + 36 * 16);
	pools__clear(b);
	CHECK(pools__find(&p, 37 << 20)->n == 0 && pools__find(&p, 38 << 20)->n == 38);
	CHECK(!pools__find(&p, 12345) && !pools__find(&p, 0));
	CHECK(!pools__add(&p, 37 << 20, 1) && pools__find(&p, 37 << 20)->n == 1);
	pools__reset(&p);
	CHECK(!pools__find(&p, 38 << 20) && p.n == 0);
	pools__free(&p);
}
