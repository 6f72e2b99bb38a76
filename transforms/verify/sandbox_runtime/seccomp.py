"""A seccomp filter for sandboxed programs, written as classic BPF (no libseccomp needed).

It refuses, with EPERM, the system calls a program could use to reach past its namespaces or attack the
kernel: ptrace and cross-process memory access, mount and namespace changes, module and key management,
BPF, perf events, io_uring, userfaultfd, and clone() with namespace flags. clone3 answers ENOSYS so the C
library falls back to clone(), whose flags the filter can read. A foreign system-call ABI (x32, i386 on
x86_64) kills the process. Everything else is allowed: the boundary is the namespaces, rlimits and uid;
this filter narrows the kernel surface those rely on.
"""

import ctypes
import errno
import platform
import struct

# (audit arch, x32 bit?) and the numbers of the refused calls, per architecture.
_ARCHES = {
    "x86_64": (0xC000003E, True, {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "mount": 165, "umount2": 166,
        "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308, "kexec_load": 246,
        "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176, "bpf": 321,
        "perf_event_open": 298, "keyctl": 250, "add_key": 248, "request_key": 249, "userfaultfd": 323,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_by_handle_at": 304,
        "name_to_handle_at": 303, "swapon": 167, "swapoff": 168, "reboot": 169, "acct": 163, "kcmp": 312,
        "pidfd_getfd": 438, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "mount_setattr": 442, "quotactl": 179, "settimeofday": 164,
        "clock_settime": 227, "vhangup": 153, "lookup_dcookie": 212,
    }, 56, 435),
    "aarch64": (0xC00000B7, False, {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "mount": 40, "umount2": 39,
        "pivot_root": 41, "chroot": 51, "unshare": 97, "setns": 268, "kexec_load": 104,
        "kexec_file_load": 294, "init_module": 105, "finit_module": 273, "delete_module": 106, "bpf": 280,
        "perf_event_open": 241, "keyctl": 219, "add_key": 217, "request_key": 218, "userfaultfd": 282,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_by_handle_at": 265,
        "name_to_handle_at": 264, "swapon": 224, "swapoff": 225, "reboot": 142, "acct": 89, "kcmp": 272,
        "pidfd_getfd": 438, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "mount_setattr": 442, "quotactl": 60, "settimeofday": 170,
        "clock_settime": 112, "vhangup": 58, "lookup_dcookie": 18,
    }, 220, 435),
}
_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _KILL, _ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2


def _program(arch):
    audit_arch, has_x32, refused, clone_nr, clone3_nr = _ARCHES[arch]
    ops = [(_LD_W_ABS, 0, 0, 4), (_JEQ_K, 1, 0, audit_arch), (_RET_K, 0, 0, _KILL), (_LD_W_ABS, 0, 0, 0)]
    if has_x32:
        ops += [(_JGE_K, 0, 1, 0x40000000), (_RET_K, 0, 0, _KILL)]
    for nr in sorted(set(refused.values())):
        ops += [(_JEQ_K, 0, 1, nr), (_RET_K, 0, 0, _ERRNO | errno.EPERM)]
    ops += [(_JEQ_K, 0, 1, clone3_nr), (_RET_K, 0, 0, _ERRNO | errno.ENOSYS)]
    # clone(flags, ...): args[0] starts at offset 16 of seccomp_data; its low word holds the flags.
    ops += [(_JEQ_K, 0, 3, clone_nr), (_LD_W_ABS, 0, 0, 16), (_JSET_K, 0, 1, _NAMESPACE_FLAGS),
            (_RET_K, 0, 0, _ERRNO | errno.EPERM)]
    ops += [(_RET_K, 0, 0, _ALLOW)]
    return ops


def supported():
    return platform.machine() in _ARCHES


def install_filter():
    """Install the filter on this process (inherited by its children); no-op on unknown architectures."""
    machine = platform.machine()
    if machine not in _ARCHES:
        return False
    ops = _program(machine)
    raw = b"".join(struct.pack("HBBI", *op) for op in ops)
    buffer = ctypes.create_string_buffer(raw, len(raw))
    prog = struct.pack("HxxxxxxQ", len(ops), ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "no_new_privs")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.c_char_p(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp")
    return True
