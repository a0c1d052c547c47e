// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>

#include "lib/procfs.h"
#include "lib/util.h"

bool proc_stat_read(pid_t pid, struct proc_stat *st)
{
	char path[64], buf[1024], *p;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (pid <= 0 || read_file(path, buf, sizeof(buf)) <= 0)
		return false;
	/* comm may hold spaces and parentheses: the fields resume after the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%c %d %*d %*d %*d %*d %lu", &st->state, &ppid, &st->flags) != 3)
		return false;
	st->ppid = ppid;
	return true;
}

bool proc_zombie_words(pid_t pid, char *buf, size_t len)
{
	struct proc_stat st;

	if (!proc_stat_read(pid, &st) || st.state != 'Z')
		return false;
	snprintf(buf, len,
		 "PID %d is a zombie: it has exited and its parent, PID %d, has not reaped it "
		 "yet, so it has no memory left to look at",
		 pid, st.ppid);
	return true;
}
