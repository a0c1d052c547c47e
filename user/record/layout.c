// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>

#include "output/report.h"
#include "record/format.h"
#include "record/layout.h"
#include "resolve/target.h"

const char *rec_layout(void)
{
	static char s[256];

	if (!s[0])
		snprintf(s, sizeof(s),
			 "report=%zu,target=%zu,thread=%zu,fn=%d,ev=%d,alloc=%zu,stack=%zu,"
			 "free=%zu,fault=%zu,map=%zu,module=%zu,finish=%zu",
			 sizeof(struct report), sizeof(struct target),
			 sizeof(struct ms_thread_work), MS_FN_MAX, MS_EV_TYPES,
			 sizeof(struct ms_event_alloc), sizeof(struct ms_event_alloc_stack),
			 sizeof(struct ms_event_free), sizeof(struct ms_event_fault),
			 sizeof(struct ms_event_map), sizeof(struct ms_event_module),
			 sizeof(struct rec_finish));
	return s;
}
