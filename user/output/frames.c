// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>

#include "analyse/symbolize.h"
#include "output/frames.h"

void frame_label(const struct sym_info *si, uint64_t addr, char *buf, size_t size)
{
	if (si->function)
		snprintf(buf, size, "%s", si->function);
	else if (si->module)
		snprintf(buf, size, "[%s+0x%llx]", si->module,
			 (unsigned long long)si->module_offset);
	else
		snprintf(buf, size, "0x%llx", (unsigned long long)addr);
}

json_object *frame_location_json(const struct sym_info *si, uint64_t addr)
{
	json_object *l = json_object_new_object();
	char a[32];

	snprintf(a, sizeof(a), "0x%llx", (unsigned long long)addr);
	json_object_object_add(l, "address", json_object_new_string(a));
	if (si->function) {
		json_object_object_add(l, "function", json_object_new_string(si->function));
		json_object_object_add(l, "offset", json_object_new_uint64(si->offset));
	}
	if (si->module) {
		json_object_object_add(l, "module", json_object_new_string(si->module));
		json_object_object_add(l, "module_offset",
				       json_object_new_uint64(si->module_offset));
	}
	if (si->file) {
		json_object_object_add(l, "file", json_object_new_string(si->file));
		json_object_object_add(l, "line", json_object_new_int(si->line));
	}
	json_object_object_add(l, "inlined", json_object_new_boolean(si->inlined));
	return l;
}

void frames_json(const struct sym_info *si, const uint64_t *addr, int n, json_object **labels,
		 json_object **locations)
{
	char fr[256];

	*labels = json_object_new_array();
	*locations = json_object_new_array();
	for (int f = 0; f < n; f++) {
		frame_label(&si[f], addr[f], fr, sizeof(fr));
		json_object_array_add(*labels, json_object_new_string(fr));
		json_object_array_add(*locations, frame_location_json(&si[f], addr[f]));
	}
}
