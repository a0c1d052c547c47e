// SPDX-License-Identifier: GPL-2.0
/*
 * Output files that no other user can redirect, and writes whose errors are reported
 * (see outfile.h for the rules).
 *
 * Every FILE this opens (all but "-", which is stdout) is a cookie stream over a file
 * descriptor: it remembers the first write error's errno, so "No space left on device"
 * can be named at close even when the failing write happened inside an earlier fprintf.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <sys/stat.h>

#include "lib/outfile.h"
#include "lib/util.h"

#define LINK_DEPTH 8 /* symbolic links followed from one output path */

struct out_cookie {
	int fd;
	int err; /* first write error */
	bool own_fd;
};

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
	struct out_cookie *ck = c;
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(ck->fd, buf + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!ck->err)
				ck->err = w < 0 ? errno : EIO;
			return done ? (ssize_t)done : -1;
		}
		done += w;
	}
	return done;
}

static int cookie_close(void *c)
{
	struct out_cookie *ck = c;
	int err;

	if (ck->own_fd && close(ck->fd) && !ck->err)
		ck->err = errno;
	err = ck->err;
	free(ck);
	if (err) {
		errno = err; /* what fclose's caller reads */
		return -1;
	}
	return 0;
}

/* A stream over FD; its cookie is kept so out_close can read the error. */
static FILE *stream_over(int fd, bool own_fd)
{
	cookie_io_functions_t io = {.write = cookie_write, .close = cookie_close};
	struct out_cookie *ck = calloc(1, sizeof(*ck));
	FILE *f;

	if (!ck)
		return NULL;
	ck->fd = fd;
	ck->own_fd = own_fd;
	f = fopencookie(ck, "w", io);
	if (!f) {
		free(ck);
		return NULL;
	}
	if (isatty(fd))
		setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

/* The user who ran sudo, when we are root because of it; -1 otherwise. */
static uid_t sudo_uid(gid_t *gid)
{
	const char *u = getenv("SUDO_UID"), *g = getenv("SUDO_GID");
	char *end;
	unsigned long v;

	if (geteuid() != 0 || !u || !*u)
		return (uid_t)-1;
	errno = 0;
	v = strtoul(u, &end, 10);
	if (errno || *end || v == 0 || v > 0x7fffffff)
		return (uid_t)-1;
	if (gid) {
		unsigned long gv = g ? strtoul(g, &end, 10) : v;

		*gid = g && !*end ? (gid_t)gv : (gid_t)v;
	}
	return (uid_t)v;
}

static bool trusted(uid_t uid)
{
	return uid == 0 || uid == geteuid() || uid == sudo_uid(NULL);
}

static const char *user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, len, "user %s (uid %u)", pw->pw_name, (unsigned)uid);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
	return buf;
}

/* Others may create entries here (group or world write), sticky or not. */
static bool shared_dir(const struct stat *st)
{
	return st->st_mode & (S_IWGRP | S_IWOTH);
}

/*
 * Check every directory from / down to the canonical form of DIR. Returns an O_DIRECTORY
 * descriptor of it, with *SHARED set when others may create entries in it (a sticky
 * /tmp); -1 with the reason in WHY.
 */
static int check_dir_chain(const char *dir, bool *shared, char *why, size_t len)
{
	char real[PATH_MAX], part[PATH_MAX], who[96];
	struct stat st, fst;
	size_t n, i;
	int fd;

	if (!realpath(dir, real)) {
		snprintf(why, len, "%s: %s", dir, strerror(errno));
		return -1;
	}
	n = strlen(real);
	/* "/", then each longer prefix that ends at a '/', then the whole path */
	for (i = 0; i <= n; i++) {
		size_t plen = i ? i : 1;

		if (i && real[i] != '/' && real[i])
			continue;
		memcpy(part, real, plen);
		part[plen] = '\0';
		if (stat(part, &st)) {
			snprintf(why, len, "%s: %s", part, strerror(errno));
			return -1;
		}
		if (!trusted(st.st_uid)) {
			snprintf(why, len,
				 "%s belongs to %s, who could redirect the file; write to a "
				 "directory you own",
				 part, user_name(st.st_uid, who, sizeof(who)));
			return -1;
		}
		if (shared_dir(&st) && !(st.st_mode & S_ISVTX)) {
			snprintf(why, len,
				 "%s can be written by other users (mode %04o, no sticky bit), who "
				 "could redirect the file; write to a directory only you can write",
				 part, (unsigned)(st.st_mode & 07777));
			return -1;
		}
	}
	fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &fst) || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
		snprintf(why, len, "%s changed while it was checked", real);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*shared = shared_dir(&st);
	return fd;
}

/* Split PATH into its directory (into DIR) and final name. */
static const char *split_path(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		snprintf(dir, len, ".");
		return path;
	}
	if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
	return slash + 1;
}

/* Give a file we created to the user who ran sudo, when it sits in their directory. */
static void chown_to_caller(int fd, int dirfd)
{
	struct stat st;
	gid_t gid;
	uid_t uid = sudo_uid(&gid);

	/* on failure it stays root's, still readable (0644) */
	if (uid != (uid_t)-1 && !fstat(dirfd, &st) && st.st_uid == uid)
		(void)!fchown(fd, uid, gid);
}

/* Open PATH for writing after the checks; a descriptor, or -1 with WHY (and *REFUSED when it
 * is our rule, not the system, that said no). */
static int open_checked(const char *path, int depth, bool check_only, bool *refused, char *why,
			size_t len)
{
	char dir[PATH_MAX];
	const char *base = split_path(path, dir, sizeof(dir));
	bool shared;
	struct stat st;
	int dfd, fd;

	*refused = false;
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		snprintf(why, len, "not a file name");
		return -1;
	}
	dfd = check_dir_chain(dir, &shared, why, len);
	if (dfd < 0) {
		*refused = !!strstr(why, "could redirect");
		return -1;
	}
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW)) {
		if (errno != ENOENT) {
			snprintf(why, len, "%s", strerror(errno));
			close(dfd);
			return -1;
		}
		if (check_only) {
			close(dfd);
			return 0;
		}
		fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			snprintf(why, len, "%s", strerror(errno));
		else
			chown_to_caller(fd, dfd);
		close(dfd);
		return fd;
	}
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX], next[PATH_MAX * 2];
		ssize_t n;

		if (shared || !trusted(st.st_uid)) {
			*refused = true;
			snprintf(why, len,
				 "it is a symbolic link in %s, which other users can write to: "
				 "remove it or write elsewhere",
				 dir);
			close(dfd);
			return -1;
		}
		n = readlinkat(dfd, base, target, sizeof(target) - 1);
		close(dfd);
		if (n < 0) {
			snprintf(why, len, "%s", strerror(errno));
			return -1;
		}
		target[n] = '\0';
		/* /dev/stdout and the like: a descriptor of ours, whatever it is */
		if (!strncmp(target, "/proc/self/fd/", 14) || !strncmp(target, "/dev/fd/", 8)) {
			if (check_only)
				return 0;
			fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd < 0)
				snprintf(why, len, "%s", strerror(errno));
			return fd;
		}
		if (depth >= LINK_DEPTH) {
			snprintf(why, len, "%s", strerror(ELOOP));
			return -1;
		}
		if (target[0] == '/')
			snprintf(next, sizeof(next), "%s", target);
		else
			snprintf(next, sizeof(next), "%s/%s", dir, target);
		return open_checked(next, depth + 1, check_only, refused, why, len);
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(why, len, "%s", strerror(EISDIR));
		close(dfd);
		return -1;
	}
	if (S_ISREG(st.st_mode) &&
	    (!trusted(st.st_uid) || (shared && (st.st_uid != geteuid() || st.st_nlink > 1)))) {
		char who[96];

		*refused = true;
		if (!trusted(st.st_uid) || st.st_uid != geteuid())
			snprintf(why, len, "the file belongs to %s%s; remove it or write elsewhere",
				 user_name(st.st_uid, who, sizeof(who)),
				 shared ? " in a directory other users can write to" : "");
		else
			snprintf(why, len,
				 "the file has other hard links in a directory other users can "
				 "write to; remove it or write elsewhere");
		close(dfd);
		return -1;
	}
	/* an existing regular file, a device, a FIFO: open what we checked, then truncate */
	if (check_only) {
		close(dfd);
		return 0;
	}
	fd = openat(dfd, base, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	close(dfd);
	if (fd < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return -1;
	}
	{
		struct stat now;

		if (fstat(fd, &now) || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
			*refused = true;
			snprintf(why, len, "the file changed while it was checked");
			close(fd);
			return -1;
		}
		if (S_ISREG(now.st_mode) && ftruncate(fd, 0)) {
			snprintf(why, len, "%s", strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

bool out_path_refused(const char *path, char *why, size_t len)
{
	bool refused;

	if (!strcmp(path, "-"))
		return false;
	/* only our own rules refuse; "cannot create" and the like show at the write */
	return open_checked(path, 0, true, &refused, why, len) < 0 && refused;
}
FILE *out_open(const char *path)
{
	char why[PATH_MAX + 256];
	bool refused;
	FILE *f;
	int fd;

	if (!strcmp(path, "-"))
		return stdout;
	fd = open_checked(path, 0, false, &refused, why, sizeof(why));
	if (fd < 0) {
		ms_err("%s %s: %s", refused ? "refusing to write" : "cannot write", path, why);
		return NULL;
	}
	f = stream_over(fd, true);
	if (!f) {
		ms_err("cannot write %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	return f;
}

int out_close(FILE *f, const char *path)
{
	int err = 0;

	if (!f)
		return -1;
	errno = 0;
	if (f == stdout || f == stderr) {
		if (fflush(f) || ferror(f))
			err = errno ? errno : EIO;
	} else if (fclose(f)) {
		err = errno ? errno : EIO;
	}
	if (err) {
		ms_err("cannot write %s: %s", !strcmp(path, "-") ? "standard output" : path,
		       strerror(err));
		return -1;
	}
	return 0;
}

int out_dir_open(const char *path)
{
	char dir[PATH_MAX], why[PATH_MAX + 256];
	const char *base = split_path(path, dir, sizeof(dir));
	bool shared, created;
	struct stat st;
	int pfd, fd;

	if (!*base) { /* "out/": the directory itself */
		snprintf(dir, sizeof(dir), "%s", path);
		while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
			dir[strlen(dir) - 1] = '\0';
		return out_dir_open(dir);
	}
	pfd = check_dir_chain(dir, &shared, why, sizeof(why));
	if (pfd < 0) {
		ms_err("refusing to write into %s: %s", path, why);
		return -1;
	}
	created = !mkdirat(pfd, base, 0755);
	if (!created && errno != EEXIST) {
		ms_err("cannot create %s: %s (pick another --output DIR)", path, strerror(errno));
		close(pfd);
		return -1;
	}
	fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ms_err(errno == ELOOP || errno == ENOTDIR
			   ? "refusing to write into %s: it is not a directory (a symbolic link "
			     "or a file); pick another --output DIR"
			   : "cannot open %s: %s",
		       path, strerror(errno));
		close(pfd);
		return -1;
	}
	if (created)
		chown_to_caller(fd, pfd);
	close(pfd);
	if (fstat(fd, &st) || !trusted(st.st_uid) || shared_dir(&st)) {
		char who[96];

		if (!trusted(st.st_uid))
			ms_err("refusing to write into %s: it belongs to %s, who could redirect "
			       "the files in it; pick a directory you own",
			       path, user_name(st.st_uid, who, sizeof(who)));
		else
			ms_err("refusing to write into %s: other users can write to it (mode "
			       "%04o) and could plant links there; pick a directory only you "
			       "can write",
			       path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	return fd;
}

int out_subdir_open(int dirfd, const char *name, const char *shown)
{
	bool created = !mkdirat(dirfd, name, 0755);
	struct stat st;
	int fd;

	if (!created && errno != EEXIST) {
		ms_err("cannot create %s: %s", shown, strerror(errno));
		return -1;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !trusted(st.st_uid) || shared_dir(&st)) {
		ms_err("refusing to write into %s: not a directory of ours that only we can write",
		       shown);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (created)
		chown_to_caller(fd, dirfd);
	return fd;
}

int out_create_at(int dirfd, const char *name, bool append)
{
	int fd;

	if (unlinkat(dirfd, name, 0) && errno != ENOENT)
		return -1;
	fd = openat(dirfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | (append ? O_APPEND : 0),
		    0644);
	if (fd >= 0)
		chown_to_caller(fd, dirfd);
	return fd;
}

FILE *out_fopen_at(int dirfd, const char *name, const char *shown)
{
	int fd = out_create_at(dirfd, name, false);
	FILE *f;

	if (fd < 0) {
		ms_err("cannot write %s: %s", shown, strerror(errno));
		return NULL;
	}
	f = stream_over(fd, true);
	if (!f) {
		ms_err("cannot write %s: %s", shown, strerror(errno));
		close(fd);
		return NULL;
	}
	return f;
}

int drop_to_sudo_caller(void)
{
	gid_t gid;
	uid_t uid = sudo_uid(&gid);

	if (uid == (uid_t)-1)
		return 0;
	if (setgroups(0, NULL) || setgid(gid) || setuid(uid))
		return -1;
	return 0;
}
