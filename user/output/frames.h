/* SPDX-License-Identifier: GPL-2.0 */
/* A symbolized frame as the reports show it: one label, or one JSON location. */
#ifndef MEMSTUDY_OUTPUT_FRAMES_H
#define MEMSTUDY_OUTPUT_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct sym_info;

/* "name", "[module+0xoff]" or "0xaddr" for the frame at ADDR. */
void frame_label(const struct sym_info *si, uint64_t addr, char *buf, size_t size);
/* {address, function, offset, module, module_offset, file, line, inlined}. */
json_object *frame_location_json(const struct sym_info *si, uint64_t addr);
/* FRAMES' labels as a JSON array of strings, and their locations. */
void frames_json(const struct sym_info *si, const uint64_t *addr, int n, json_object **labels,
		 json_object **locations);

#endif
