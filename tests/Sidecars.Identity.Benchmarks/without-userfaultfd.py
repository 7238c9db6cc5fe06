#!/usr/bin/env python3
"""Runs a program with userfaultfd(2) refused with EPERM, as containerd's RuntimeDefault seccomp profile refuses it.

usage: without-userfaultfd.py PROGRAM [ARGS...]   (x86_64; the program keeps this process's pid)

The benchmarks measure the agents and the webhook as processes on the host, where nothing refuses userfaultfd; run
through this, a process measures as it would in a pod injected with seccompProfile RuntimeDefault on containerd.
"""
import ctypes
import os
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
USERFAULTFD_X86_64 = 323
EPERM = 1

# struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }: load the syscall number, refuse userfaultfd, allow the rest.
BPF_LD_W_ABS = 0x20
BPF_JMP_JEQ_K = 0x15
BPF_RET_K = 0x06
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
program = [
    (BPF_LD_W_ABS, 0, 0, 0),
    (BPF_JMP_JEQ_K, 0, 1, USERFAULTFD_X86_64),
    (BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM),
    (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    filters = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *f) for f in program))
    fprog = SockFprog(len(program), ctypes.cast(filters, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_NO_NEW_PRIVS): {os.strerror(ctypes.get_errno())}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_SECCOMP): {os.strerror(ctypes.get_errno())}")
    os.execv(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
