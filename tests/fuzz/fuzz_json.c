// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: every JSON reader memstudy has - json_read_file, maps snapshots (and
 * the diff of one with itself), study plans and the study's readers of a case's results.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "lib/json.h"
#include "maps/maps.h"
#include "study/study.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct study s;
	static struct st_opts o;
	static struct st_case c;
	struct st_wl_phase ph[PH_N];
	char path[64], why[512];
	const char *err;
	json_object *j;
	double elapsed;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	j = json_read_file(path, 1 << 20, why, sizeof(why));
	if (j) {
		struct maps_snapshot *m = maps_snapshot__from_json(j, &err);

		if (m) {
			json_object *back = maps_snapshot__to_json(m),
				    *d = maps_diff__to_json(m, m);
			FILE *null = fopen("/dev/null", "w");

			if (null) {
				maps_snapshot__print(m, null);
				maps_diff__print(m, m, null);
				fclose(null);
			}
			json_object_put(back);
			json_object_put(d);
			maps_snapshot__free(m);
		}
		memset(&s, 0, sizeof(s));
		memset(&o, 0, sizeof(o));
		s.o = &o;
		st_plan_from_json(&s, j, path, &elapsed);
		json_object_put(j);
	}
	parse_workload(path, ph, why, sizeof(why));
	memset(&c, 0, sizeof(c));
	parse_traced(path, &c, why, sizeof(why));
	close(fd);
	return 0;
}
