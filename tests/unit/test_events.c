// SPDX-License-Identifier: GPL-2.0
/*
 * The event sink: every ring-buffer record passes its size check once, here; a record
 * too short for its type, or of no type the kernel side writes, is counted (it goes into
 * lost_events) and reaches no handler.
 */
#include "analyse/peralloc.h"
#include "collect/events.h"
#include "check.h"

TEST(phase_records_name_phases)
{
	struct ms_event_phase p = {.type = MS_EV_PHASE, .phase = 1, .ts_ns = 7};
	struct event_sink s;

	event_sink__init(&s, 0, true, false, NULL);
	snprintf(p.name, sizeof(p.name), "build");
	event_sink__record(&s, &p, sizeof(p));
	CHECK_U64(s.nphases, 2);
	CHECK_STR(s.phase_names[0], "start");
	CHECK_STR(s.phase_names[1], "build");
	CHECK_U64(s.phase_start[1], 7);
	CHECK_U64(s.bad_records, 0);
}

TEST(short_and_unknown_records_are_counted_not_read)
{
	struct ms_event_phase p = {.type = MS_EV_PHASE, .phase = 1};
	struct ms_event_free f = {.type = MS_EV_FREE, .tid = 1, .ptr = 0x1000, .seq = 1};
	uint32_t unknown = MS_EV_TYPES + 1, zero = 0;
	struct peralloc *pa = peralloc__new(4242, false, NULL);
	struct event_sink s;

	CHECK(pa != NULL);
	event_sink__init(&s, 0, false, false, pa);
	event_sink__record(&s, &p, sizeof(p) - 1);
	event_sink__record(&s, &f, sizeof(f) - 8);
	event_sink__record(&s, &unknown, sizeof(unknown));
	event_sink__record(&s, &zero, sizeof(zero));
	event_sink__record(&s, &zero, 2);
	CHECK_U64(s.bad_records, 5);
	CHECK_U64(s.nphases, 1); /* the short phase record named nothing */
	CHECK_U64(peralloc__events(pa), 0);
	event_sink__record(&s, &f, sizeof(f)); /* a whole record goes on */
	CHECK_U64(peralloc__events(pa), 1);
	CHECK_U64(s.bad_records, 5);
	peralloc__free(pa);
}
