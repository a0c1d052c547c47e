// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

#include <bpf/bpf.h>

#include "attach/uprobe_multi.h"

#define MS_BPF_F_UPROBE_MULTI_RETURN 1

/* union bpf_attr's link_create as kernel 6.6+ lays it out for uprobe_multi; the system's
 * UAPI header (Debian 12: 6.1) does not have these fields yet. */
struct ms_link_create_uprobe_multi {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__aligned_u64 path;
	__aligned_u64 offsets;
	__aligned_u64 ref_ctr_offsets;
	__aligned_u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
	__u32 pad;
	char rest[64]; /* the kernel checks that what follows the last field it reads is zero */
};

bool uprobe_multi__supported(void)
{
	static int supported = -1;
	struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = MS_BPF_TRACE_UPROBE_MULTI);
	int fd;

	if (supported < 0) {
		fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "ms_probe_multi", "GPL", insns, 2, &o);
		supported = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	return supported;
}

int uprobe_multi__attach(int prog_fd, const char *path, const uint64_t *offsets,
			 const uint64_t *cookies, unsigned int cnt, bool retprobe, pid_t pid)
{
	struct ms_link_create_uprobe_multi a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_fd = prog_fd;
	a.attach_type = MS_BPF_TRACE_UPROBE_MULTI;
	a.path = (uintptr_t)path;
	a.offsets = (uintptr_t)offsets;
	a.cookies = (uintptr_t)cookies;
	a.cnt = cnt;
	a.multi_flags = retprobe ? MS_BPF_F_UPROBE_MULTI_RETURN : 0;
	a.pid = pid;
	fd = syscall(SYS_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	return fd < 0 ? -errno : fd;
}
