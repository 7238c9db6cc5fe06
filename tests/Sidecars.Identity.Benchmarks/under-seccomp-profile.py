#!/usr/bin/python3
"""Runs a program under an OCI seccomp profile (JSON) as runc would load it, with libseccomp (python3-seccomp).

usage: under-seccomp-profile.py PROFILE.json PROGRAM [ARGS...]   (the program keeps this process's pid)

The benchmarks measure the agents as processes on the host; run through this with src/Sidecars.Seccomp/sidecars.json, an
agent measures as it does in a pod injected with the sidecars' Localhost profile, and a call the profile does not list
fails as it would there. Names this kernel's libseccomp does not know are skipped, as runc skips them.
"""
import errno
import json
import os
import sys

import seccomp

OPERATORS = {
    "SCMP_CMP_NE": seccomp.NE, "SCMP_CMP_LT": seccomp.LT, "SCMP_CMP_LE": seccomp.LE, "SCMP_CMP_EQ": seccomp.EQ,
    "SCMP_CMP_GE": seccomp.GE, "SCMP_CMP_GT": seccomp.GT, "SCMP_CMP_MASKED_EQ": seccomp.MASKED_EQ,
}


def action(name, errno_ret):
    if name == "SCMP_ACT_ALLOW":
        return seccomp.ALLOW
    if name == "SCMP_ACT_ERRNO":
        return seccomp.ERRNO(errno.EPERM if errno_ret is None else errno_ret)
    raise SystemExit(f"under-seccomp-profile: action {name} not supported here")


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        profile = json.load(f)
    rules = seccomp.SyscallFilter(action(profile["defaultAction"], profile.get("defaultErrnoRet")))
    for rule in profile.get("syscalls", []):
        taken = action(rule["action"], rule.get("errnoRet"))
        # For SCMP_CMP_MASKED_EQ, value is the mask and valueTwo what the masked argument must equal (as runc passes them).
        conditions = [seccomp.Arg(a["index"], OPERATORS[a["op"]], a["value"], a.get("valueTwo", 0)) for a in rule.get("args", [])]
        for name in rule["names"]:
            try:
                rules.add_rule(taken, name, *conditions)
            except (RuntimeError, ValueError):
                pass
    rules.load()
    os.execv(sys.argv[2], sys.argv[2:])


main()
