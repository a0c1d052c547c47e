/* Reads P pages (argv[1], default 256) of a file dropped from the page cache through a
 * mapping with MADV_RANDOM, so each first touch is a major fault. Prints its own
 * getrusage fault counts for the read loop as "minflt N majflt M", and its major faults
 * since it started (a page of its code read back in under memory pressure is one too) as
 * "total_majflt T". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>

int main(int argc, char **argv)
{
	long pages = argc > 1 ? atol(argv[1]) : 256, sum = 0;
	char path[] = "/tmp/memstudy-majfault-XXXXXX", buf[4096] = {1};
	struct rusage a, b;
	int fd = mkstemp(path);
	char *p;

	if (fd < 0)
		return 1;
	unlink(path);
	for (long i = 0; i < pages; i++)
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			return 1;
	fsync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	p = mmap(NULL, pages * 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 1;
	madvise(p, pages * 4096, MADV_RANDOM);
	getrusage(RUSAGE_SELF, &a);
	for (long i = 0; i < pages; i++)
		sum += p[i * 4096];
	getrusage(RUSAGE_SELF, &b);
	printf("minflt %ld majflt %ld sum %ld total_majflt %ld\n", b.ru_minflt - a.ru_minflt,
	       b.ru_majflt - a.ru_majflt, sum, b.ru_majflt);
	return 0;
}
