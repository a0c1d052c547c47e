// SPDX-License-Identifier: GPL-2.0
/*
 * Known numbers of C++ operator calls (tests/test_cxx.py): 1000 new + delete, 500 new[] +
 * delete[], 200 nothrow new + delete, 100 new + delete of an over-aligned type (the
 * align_val_t variants). Built linked with libstdc++ alone and against tcmalloc, mimalloc
 * and jemalloc (target-cxx_ops_ALLOCATOR), which replace the operators. Prints its counts.
 */
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <new>

struct alignas(64) Wide {
	char bytes[64];
};

/* volatile: the compiler may not pair a new with its delete and drop both */
static int *volatile one;
static int *volatile many;
static Wide *volatile wide;

/* "throw": an operator new that fails must still throw bad_alloc to the catch */
static int fail_news()
{
	volatile std::size_t huge = std::size_t(1) << 50;

	try {
		char *p = new char[huge];
		std::printf("new of 1 PiB returned %p\n", static_cast<void *>(p));
	} catch (std::bad_alloc &) {
		std::printf("caught bad_alloc\n");
	}
	std::printf("nothrow new: %s\n", new (std::nothrow) char[huge] ? "a block" : "NULL");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !std::strcmp(argv[1], "throw"))
		return fail_news();
	for (int i = 0; i < 1000; i++) {
		one = new int(i);
		delete one;
	}
	for (int i = 0; i < 500; i++) {
		many = new int[10];
		delete[] many;
	}
	for (int i = 0; i < 200; i++) {
		one = new (std::nothrow) int(i);
		delete one;
	}
	for (int i = 0; i < 100; i++) {
		wide = new Wide;
		delete wide;
	}
	std::printf("new 1000 new[] 500 nothrow 200 aligned 100\n");
	return 0;
}
