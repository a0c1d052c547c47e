// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

bool ms_verbose;

void ms_err(const char *fmt, ...)
{
	va_list ap;

	fputs("memstudy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ms_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("memstudy: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

long read_file(const char *path, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

void appendf(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t self_file_offset(const void *fn)
{
	FILE *f = fopen("/proc/self/maps", "re");
	uintptr_t a = (uintptr_t)fn;
	unsigned long s, e, off;
	char line[512];
	uint64_t ret = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %lx", &s, &e, &off) == 3 && a >= s && a < e) {
			ret = a - s + off;
			break;
		}
	if (f)
		fclose(f);
	return ret;
}

void *close_fd_job(void *fd)
{
	close((int)(intptr_t)fd);
	return NULL;
}

void run_parallel(const struct par_job *jobs, int n)
{
	pthread_t *th = calloc(n ? n : 1, sizeof(*th)); /* th[i] == 0: ran inline */
	int i;

	for (i = 0; i < n; i++)
		if (!th || pthread_create(&th[i], NULL, jobs[i].fn, jobs[i].arg)) {
			if (th)
				th[i] = 0;
			jobs[i].fn(jobs[i].arg);
		}
	for (i = 0; th && i < n; i++)
		if (th[i])
			pthread_join(th[i], NULL);
	free(th);
}

char *xstrdup(const char *s)
{
	char *r = strdup(s ? s : "");

	if (!r) {
		perror("memstudy");
		exit(1);
	}
	return r;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *r;

	va_start(ap, fmt);
	if (vasprintf(&r, fmt, ap) < 0) {
		perror("memstudy");
		exit(1);
	}
	va_end(ap);
	return r;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		perror("memstudy");
		exit(1);
	}
	return p;
}

void set_str(char **dst, char *s)
{
	free(*dst);
	*dst = s;
}
