// SPDX-License-Identifier: GPL-2.0
/* The program of the golden recording (regen.sh): a few call sites that leak, churn, and
 * fault a large block in. Built -O0 -g so that its frames and lines are plain. */
#include <stdlib.h>
#include <string.h>

void *keep[10];

__attribute__((noinline)) void make_leaks(void)
{
	for (int i = 0; i < 10; i++)
		keep[i] = malloc(1000);
}

__attribute__((noinline)) void churn(void)
{
	for (int i = 0; i < 500; i++) {
		char *p = malloc(64 + i);

		memset(p, 1, 64 + i);
		free(p);
	}
}

__attribute__((noinline)) void big(void)
{
	char *p = malloc(1 << 20);

	memset(p, 0, 1 << 20);
	free(p);
}

int main(void)
{
	make_leaks();
	churn();
	big();
	return 0;
}
