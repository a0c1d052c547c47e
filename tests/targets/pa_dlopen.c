/* Per-allocation symbols of a library loaded mid-run and unloaded before the end:
 * dlopen(argv[1]), call its pa_lib_alloc(argv[2]) (the library mallocs), dlclose. */
#pragma GCC optimize("no-omit-frame-pointer")
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	void (*fn)(long);
	void *h;

	if (argc < 2)
		return 2;
	h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	fn = (void (*)(long))dlsym(h, "pa_lib_alloc");
	if (!fn)
		return 1;
	fn(argc > 2 ? atol(argv[2]) : 100);
	/* stay loaded a while: the collector reads /proc/PID/maps every few ms */
	usleep(100 * 1000);
	dlclose(h);
	return 0;
}
