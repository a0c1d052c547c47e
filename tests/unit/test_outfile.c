// SPDX-License-Identifier: GPL-2.0
/* lib/outfile: which output paths are refused, and that write errors are caught. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "check.h"
#include "lib/outfile.h"

static char dir[64];

static void fresh_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/unit-outfile.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	chmod(dir, 0755);
}

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		abort();
}

TEST(own_private_directory_is_fine)
{
	char p[128], why[512];

	fresh_dir();
	snprintf(p, sizeof(p), "%s/out.txt", dir);
	CHECK(!out_path_refused(p, why, sizeof(why)));
	CHECK(!out_path_refused("-", why, sizeof(why)));
	CHECK(!out_path_refused("/dev/null", why, sizeof(why)));
	cleanup();
}

TEST(directory_others_can_write_is_refused)
{
	char sub[128], p[160], why[512];

	fresh_dir();
	snprintf(sub, sizeof(sub), "%s/shared", dir);
	mkdir(sub, 0777);
	chmod(sub, 0777); /* no sticky bit: anyone can swap the file */
	snprintf(p, sizeof(p), "%s/out.txt", sub);
	CHECK(out_path_refused(p, why, sizeof(why)));
	CHECK_CONTAINS(why, "can be written by other users");
	/* sticky (like /tmp): a new file is fine, a link is not */
	chmod(sub, 01777);
	CHECK(!out_path_refused(p, why, sizeof(why)));
	CHECK(!symlink("/etc/passwd", p));
	CHECK(out_path_refused(p, why, sizeof(why)));
	CHECK_CONTAINS(why, "symbolic link");
	cleanup();
}

TEST(writes_through_a_link_never_follow_a_stale_entry)
{
	char p[128], target[128];
	int fd;

	fresh_dir();
	snprintf(p, sizeof(p), "%s/report.md", dir);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	CHECK(!symlink(target, p));
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	/* a study directory's files are created afresh: the old entry goes, never followed */
	int out = out_create_at(fd, "report.md", false);

	CHECK(out >= 0);
	CHECK(write(out, "x", 1) == 1);
	close(out);
	close(fd);
	CHECK(access(target, F_OK) != 0);
	{
		struct stat st;

		CHECK(!lstat(p, &st) && S_ISREG(st.st_mode));
	}
	cleanup();
}

TEST(full_device_is_reported)
{
	FILE *f = out_open("/dev/full");

	CHECK(f != NULL);
	if (!f)
		return;
	for (int i = 0; i < 10000; i++)
		fputs("a line that will not fit\n", f);
	errno = 0;
	CHECK(out_close(f, "/dev/full") < 0);
}

TEST(study_directory_rules)
{
	char sub[128];
	int fd;

	fresh_dir();
	snprintf(sub, sizeof(sub), "%s/study", dir);
	fd = out_dir_open(sub); /* created */
	CHECK(fd >= 0);
	close(fd);
	fd = out_dir_open(sub); /* ours: again fine */
	CHECK(fd >= 0);
	close(fd);
	chmod(sub, 0775);
	CHECK(out_dir_open(sub) < 0); /* the group may write: refused */
	cleanup();
}
