/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MEMSTUDY_PROG_COST_H
#define MEMSTUDY_PROG_COST_H
#define PC_REPEAT 64 /* helper calls per probe hit */
#endif
