/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MEMSTUDY_RECORD_LAYOUT_H
#define MEMSTUDY_RECORD_LAYOUT_H

/*
 * The sizes of the structures a recording holds as they are (the record stream's, the
 * resolved target, the summary), as one string: a recording is read only by a memstudy
 * whose string is the same (META's "layout"), else it says which version wrote it.
 */
const char *rec_layout(void);

#endif
