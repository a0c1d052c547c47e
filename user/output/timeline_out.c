// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "analyse/timeline.h"
#include "lib/outfile.h"
#include "lib/spawn.h"
#include "lib/util.h"
#include "output/timeline_out.h"

int timeline__write_csv(const struct timeline *tl, uint64_t t0_ns, const char *path)
{
	FILE *out = out_open(path);

	if (!out)
		return 1;
	fprintf(out, "t_s,live_bytes,allocator_mapped_bytes,rss_bytes,rss_anon_bytes,"
		     "rss_file_bytes,rss_shmem_bytes,allocs,frees,faults\n");
	for (size_t i = 0; i < tl->n; i++) {
		const struct timeline_point *p = &tl->v[i];

		fprintf(out, "%.6f,%llu,%llu,%lld,%lld,%lld,%lld,%llu,%llu,%llu\n",
			p->ts_ns > t0_ns ? (p->ts_ns - t0_ns) / 1e9 : 0.0,
			(unsigned long long)p->live_bytes, (unsigned long long)p->mapped_bytes,
			(long long)timeline_point__rss(p), (long long)p->rss[1],
			(long long)p->rss[0], (long long)p->rss[3], (unsigned long long)p->allocs,
			(unsigned long long)p->frees, (unsigned long long)p->faults);
	}
	return out_close(out, path) ? 1 : 0;
}

/* S in a gnuplot string: no quotes or backslashes to end it early. */
static void gp_string(char *buf, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s && o + 1 < len; s++)
		if (*s != '"' && *s != '\\' && *s != '\n')
			buf[o++] = *s;
	buf[o] = '\0';
}

int timeline__plot(const char *csv, const char *png, const char *title)
{
	char gnuplot[PATH_MAX], script[8192], file[PATH_MAX], name[512];
	char *argv[] = {gnuplot, "-e", script, NULL}, buf[65536];
	FILE *out;
	ssize_t got;
	int rc, mem;

	if (!in_path("gnuplot", gnuplot, sizeof(gnuplot))) {
		ms_err(
		    "gnuplot is not installed, so %s was not drawn (apt-get install gnuplot-nox; "
		    "the numbers are in %s)",
		    png, csv);
		return 1;
	}
	gp_string(file, sizeof(file), csv);
	gp_string(name, sizeof(name), title);
	snprintf(script, sizeof(script),
		 "set terminal pngcairo size 1100,560 enhanced font 'DejaVu Sans,10'; "
		 "set datafile separator ','; set key top left; set grid; "
		 "set title \"%s: memory over time\" noenhanced; "
		 "set xlabel 'seconds since the trace started'; set ylabel 'MiB'; "
		 "plot \"%s\" using 1:($4/1048576) with lines lw 2 title 'resident (RSS)', "
		 "'' using 1:($3/1048576) with lines lw 2 title 'mapped by the allocator', "
		 "'' using 1:($2/1048576) with lines lw 2 title 'live (requested)'",
		 name, file);
	/* the picture on gnuplot's stdout (a memory file: gnuplot runs as the sudo caller),
	 * then into a file opened as memstudy's outputs are */
	mem = memfd_create("memstudy-timeline", MFD_CLOEXEC);
	if (mem < 0) {
		ms_err("cannot draw %s: %s", png, strerror(errno));
		return 1;
	}
	rc = spawn(argv, mem, STDERR_FILENO, NULL, -1, true);
	if (rc) {
		ms_err("gnuplot could not draw %s (exit %d); the numbers are in %s", png, rc, csv);
		close(mem);
		return 1;
	}
	out = out_open(png);
	if (!out) {
		close(mem);
		return 1;
	}
	lseek(mem, 0, SEEK_SET);
	while ((got = read(mem, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, got, out);
	close(mem);
	return out_close(out, png) ? 1 : 0;
}
