// SPDX-License-Identifier: GPL-2.0
/* report --check on synthetic record streams: what is a double free, a free or realloc of a
 * pointer never returned, a realloc of a freed block; and --pid's blocks older than the
 * trace, which are not errors. */
#include <json-c/json.h>

#include "analyse/peralloc.h"
#include "check.h"
#include "lib/json.h"
#include "output/check.h"

static void alloc(struct checker *c, uint64_t ptr, uint64_t size, uint64_t old, int kind,
		  uint64_t ts)
{
	struct ms_event_alloc e = {.type = MS_EV_ALLOC,
				   .tid = 7,
				   .ts_ns = ts,
				   .ptr = ptr,
				   .size = size,
				   .old_ptr = old,
				   .stack_id = MS_STACK_NO_FP,
				   .fn = kind == MS_KIND_REALLOC ? MS_FN_REALLOC : MS_FN_MALLOC,
				   .kind = kind};

	checker__record(c, NULL, 7, &e, sizeof(e));
}

static void release(struct checker *c, uint64_t ptr, uint64_t ts)
{
	struct ms_event_free e = {.type = MS_EV_FREE,
				  .tid = 7,
				  .ts_ns = ts,
				  .ptr = ptr,
				  .kind = MS_KIND_FREE,
				  .fn = MS_FN_FREE};

	checker__record(c, NULL, 7, &e, sizeof(e));
}

static uint64_t count(json_object *j, const char *kind)
{
	char path[128];

	snprintf(path, sizeof(path), "%s.count", kind);
	return (uint64_t)json_path_num(j, path);
}

TEST(finds_each_kind_of_misuse)
{
	struct checker *c = checker__new();
	struct peralloc *pa = peralloc__new(4242, false, NULL);
	json_object *j, *df;

	alloc(c, 0x1000, 40, 0, MS_KIND_ALLOC, 10);
	release(c, 0x1000, 20);
	release(c, 0x1000, 30);				   /* double free */
	release(c, 0x9000, 40);				   /* never returned */
	alloc(c, 0x2000, 80, 0x1000, MS_KIND_REALLOC, 50); /* realloc of a freed block */
	alloc(c, 0x3000, 80, 0x8000, MS_KIND_REALLOC, 60); /* of a pointer never returned */
	alloc(c, 0x1000, 16, 0, MS_KIND_ALLOC, 70);	   /* the address again: a new block */
	release(c, 0x1000, 80);				   /* not a double free */
	release(c, 0, 90);				   /* free(NULL): nothing */
	j = checker__json(c, pa, NULL, NULL, 0, false);
	CHECK_U64(count(j, "double_free"), 1);
	CHECK_U64(count(j, "free_of_unknown_pointer"), 1);
	CHECK_U64(count(j, "realloc_of_freed_block"), 1);
	CHECK_U64(count(j, "realloc_of_unknown_pointer"), 1);
	df = json_object_array_get_idx(json_path(j, "double_free.first"), 0);
	CHECK(df != NULL);
	CHECK_STR(json_path_str(df, "ptr"), "0x1000");
	CHECK_U64(json_path_num(df, "size"), 40);
	CHECK_DBL(json_path_num(df, "freed_before_s"), 20e-9, 1e-12);
	CHECK_DBL(json_path_num(df, "t_s"), 30e-9, 1e-12);
	json_object_put(j);
	/* attached with --pid, a pointer never seen allocated is older than the trace */
	j = checker__json(c, pa, NULL, NULL, 0, true);
	CHECK(
	    json_object_get_boolean(json_path(j, "free_of_unknown_pointer.older_than_the_trace")));
	CHECK(!json_object_get_boolean(json_path(j, "double_free.older_than_the_trace")));
	json_object_put(j);
	checker__free(c);
	peralloc__free(pa);
}
