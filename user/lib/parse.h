/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Numbers from the command line and from files, strictly: the whole string or nothing, no
 * NaN, no infinity, no trailing junk, no empty list items.
 */
#ifndef MEMSTUDY_LIB_PARSE_H
#define MEMSTUDY_LIB_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* "12", "1.5", "1e6", "-3": a finite real number. */
bool parse_real(const char *s, double *out);
/* A real that is a whole number ("1e6" is 1000000), |v| < 2^53 so it is exact. */
bool parse_whole(const char *s, double *out);
/* Bytes: a whole number after an optional K, M, G or T suffix (powers of 1024, an optional
 * trailing B or iB): "4096", "64K", "1.5M" (= 1572864), "2GiB". */
bool parse_bytes(const char *s, double *out);
/* A power of two (1, 2, 4, ...), given as a whole number. */
bool is_pow2(double v);

/*
 * Split a comma-separated LIST into at most MAX items in ITEMS, each pointing into BUF
 * (LEN bytes, a copy of LIST). Returns the number of items, or -1 when an item is empty
 * ("64,,1040", ",64", "64,"), the list is empty, or it holds more than MAX items.
 */
int parse_list(const char *list, char *buf, size_t len, char **items, int max);

#endif
