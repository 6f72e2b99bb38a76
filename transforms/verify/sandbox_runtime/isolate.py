"""Per-process isolation inside the sandbox: one nested user, mount and PID namespace per program.

`spawn(...)` forks a keeper process (A) that enters fresh namespaces, mounts a private /tmp, /work,
/dev/shm and an empty /proc, and forks the program's process (B) as PID 1 of the new PID namespace. When
B ends, or the keeper is killed, the kernel kills every process left in that namespace, so no descendant
of a program outlives it. B then drops every capability, sets no_new_privs, installs the seccomp filter
and closes every descriptor it was not given. The namespaces and mounts die with the program: nothing it
writes survives to the next one.
"""

import ctypes
import fcntl
import os
import signal
import struct

from seccomp import install_filter

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
EXIT_SETUP = 87  # the isolation could not be set up: an infrastructure failure, never the program's
EXIT_HARNESS = 88  # the harness failed after the program's code ran in its process (the program broke it)

_libc = ctypes.CDLL(None, use_errno=True)


class IsolationError(OSError):
    pass


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise IsolationError(err, f"{what}: {os.strerror(err)}")


def _write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def _mount_tmpfs(path, options, flags=MS_NOSUID | MS_NODEV):
    _check(_libc.mount(b"tmpfs", path.encode(), b"tmpfs", flags, options.encode()), f"mount tmpfs on {path}")


def enter_namespaces(uid, tmpfs_bytes):
    """In the keeper: switch to `uid` (root mode), then a new user, mount, PID and IPC namespace."""
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # a uid change made /proc/self root's; we write our maps
    real_uid, real_gid = os.getuid(), os.getgid()
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC), "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{real_uid} {real_uid} 1")
    _write("/proc/self/gid_map", f"{real_gid} {real_gid} 1")
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make mounts private")
    size = f"size={max(tmpfs_bytes, 1 << 20)},mode=1777"
    for path in ("/tmp", "/work"):
        _mount_tmpfs(path, size)
    if os.path.isdir("/dev/shm"):
        _mount_tmpfs("/dev/shm", size)
    # An empty, read-only /proc: no other process, no environ, no fd table to look at.
    _mount_tmpfs("/proc", "size=4096,mode=555", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


def drop_privileges():
    """In the program's process: no capabilities (even inside its own namespaces), no new privileges."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    header = struct.pack("II", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = ctypes.create_string_buffer(24)  # two zeroed __user_cap_data_struct
    _check(_libc.capset(ctypes.c_char_p(header), data), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # not ptrace-able by its own uid, no core


def spawn(role, fds, *, uid, tmpfs_bytes, namespaces=True):
    """Start `role()` isolated; returns (keeper_pid, status_fd).

    `fds` maps the program's descriptor numbers to the zygote's descriptors; everything else is closed.
    The keeper writes `pid <n>` (the program's pid as the zygote sees it), then `status <wait status>`
    or `setup <error>` on status_fd.
    """
    status_r, status_w = os.pipe()
    keeper = os.fork()
    if keeper:
        os.close(status_w)
        return keeper, status_r
    code = EXIT_SETUP
    try:
        _close_all_but({status_w, *fds.values()})  # nothing of the zygote's (its job pipe, other programs')
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the template process ignores it; we wait for ours
        os.setsid()
        if namespaces:
            enter_namespaces(uid, tmpfs_bytes)
        elif uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        ready_r, ready_w = os.pipe()
        program = os.fork()
        if program == 0:
            os.close(ready_w)
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            os.read(ready_r, 1)  # the keeper has reported our pid: a kill of the zygote's now reaches us
            _become_program(role, fds, status_w, ready_r)
        os.close(ready_r)
        os.write(status_w, f"pid {program}\n".encode())
        os.write(ready_w, b"x")
        os.close(ready_w)
        for fd in set(fds.values()):
            os.close(fd)
        _, wait_status, usage = os.wait4(program, 0)
        # The program is PID 1 of its namespace, and the kernel does not deliver SIGXCPU to an init without
        # a handler: at the CPU limit it meets the hard limit's SIGKILL instead. Its CPU time tells that kill
        # from the OOM killer's.
        os.write(status_w, f"status {wait_status} cpu {usage.ru_utime + usage.ru_stime:.3f}\n".encode())
        code = 0
    except BaseException as exc:  # the keeper must never fall back into the zygote's loop
        try:
            os.write(status_w, f"setup {exc}\n".encode()[:500])
        except OSError:
            pass
    os._exit(code)


def _become_program(role, fds, status_w, ready_r):
    code = EXIT_SETUP
    try:
        os.close(ready_r)
        status_w = fcntl.fcntl(status_w, fcntl.F_DUPFD, 512)  # kept until setup is done, to report a failure
        # Move the given descriptors into place (through high numbers, so no mapping overwrites another).
        staged = {target: fcntl.fcntl(source, fcntl.F_DUPFD, 256) for target, source in fds.items()}
        for target, fd in staged.items():
            os.dup2(fd, target, inheritable=True)
        _close_all_but(set(staged) | {status_w})
        os.chdir("/work")
        os.environ.clear()
        os.environ.update({"PATH": "/usr/bin:/bin", "HOME": "/work", "LANG": "C.UTF-8", "TMPDIR": "/tmp"})
        drop_privileges()
        install_filter()
    except BaseException as exc:
        try:
            os.write(status_w, f"setup {type(exc).__name__}: {exc}\n".encode()[:500])
        finally:
            os._exit(EXIT_SETUP)
    os.close(status_w)
    try:
        code = role()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # the harness failed; in the program's process, the program broke it
        try:
            os.write(2, f"prefmill sandbox harness error: {type(exc).__name__}: {exc}\n".encode()[:1000])
        except OSError:
            pass
        code = EXIT_HARNESS
    os._exit(code if isinstance(code, int) else 0)


def _close_all_but(keep):
    low = 0
    for fd in sorted(keep):
        if fd > low:  # closerange(n, n) is not a no-op on every build
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 65536)
