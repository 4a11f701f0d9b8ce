#!/usr/bin/python3
"""Generates the seccomp filters of Berth's local sandboxes from lib/sandbox/seccomp/policy.json.

    /usr/bin/python3 scripts/seccomp/generate.py [out_dir]     (Debian: apt-get install python3-seccomp)

Writes one BPF program per architecture (x86_64.bpf, aarch64.bpf) into out_dir (default: the
policy's own folder), which bubblewrap loads with --seccomp. The programs are checked in, so
Berth itself needs neither libseccomp nor Python; tests/isolation/seccomp.test.ts regenerates
them and fails when they drift from the policy.

Written with libseccomp (the library Flatpak, systemd and Docker's runc build their filters
with) rather than by hand: it knows each architecture's syscall numbers and the x32 ABI trap.
"""

import errno
import json
import os
import sys

import seccomp
from seccomp import ALLOW, ERRNO, GE, MASKED_EQ, Arch, Arg, Attr, SyscallFilter

HERE = os.path.dirname(os.path.abspath(__file__))
POLICY_DIR = os.path.join(HERE, "..", "..", "lib", "sandbox", "seccomp")
ARCHES = {"x86_64": Arch.X86_64, "aarch64": Arch.AARCH64}
MASK32 = 0xFFFFFFFF


def build(policy, arch):
    f = SyscallFilter(ALLOW)
    f.remove_arch(Arch.NATIVE)
    f.add_arch(arch)
    # Another ABI (x32, i386 on x86_64; arm32 on aarch64) could reach the kernel by other
    # syscall numbers: kill the process rather than let it slip past the rules.
    f.set_attr(Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    f.set_attr(Attr.CTL_OPTIMIZE, 2)  # a binary tree: a few comparisons per syscall, not ~90

    eperm = ERRNO(errno.EPERM)
    for names in policy["deny"].values():
        for name in names:
            if seccomp.resolve_syscall(arch, name) < 0:
                continue  # not a syscall of this architecture (vm86 on aarch64, say)
            f.add_rule(eperm, name)

    enosys = ERRNO(errno.ENOSYS)
    for name in policy["absent"]["names"]:
        if seccomp.resolve_syscall(arch, name) >= 0:
            f.add_rule(enosys, name)

    # libseccomp 2.5 compares each argument once per rule, so "not one of these values" is
    # spelled as rules that each match a bit pattern no allowed value has.
    allowed = policy["personality"]["allow"]
    query = MASK32
    good_bits = 0
    for v in allowed:
        if v != query:
            good_bits |= v
    bad = [b for b in range(32) if not good_bits >> b & 1]
    for v in allowed:
        if v != query:
            assert v & ~good_bits == 0
    # A value with a bad bit set is refused unless it is the query (all 32 bits set), i.e.
    # whenever some bit is clear too: a good bit, or the next bad bit in a cycle (a set and a
    # clear bad bit always meet somewhere around the cycle).
    for i, b in enumerate(bad):
        clear = [g for g in range(32) if good_bits >> g & 1] + [bad[(i + 1) % len(bad)]]
        for c in clear:
            f.add_rule(eperm, "personality", Arg(0, MASKED_EQ, (1 << b) | (1 << c), 1 << b))

    sock = policy["socket"]
    eafnosupport = ERRNO(errno.EAFNOSUPPORT)
    netlink = sock["netlink"]["family"]
    ok = set(sock["families"]) | {netlink}
    top = max(ok)
    for family in range(top):
        if family not in ok:
            f.add_rule(eafnosupport, "socket", Arg(0, MASKED_EQ, MASK32, family))
    f.add_rule(eafnosupport, "socket", Arg(0, GE, top + 1))
    # Route netlink only (interfaces and addresses of the sandbox's own namespace).
    assert sock["netlink"]["protocols"] == [0]
    f.add_rule(eafnosupport, "socket", Arg(0, MASKED_EQ, MASK32, netlink), Arg(2, seccomp.NE, 0))

    for request in policy["ioctl"]["deny"]:
        f.add_rule(eperm, "ioctl", Arg(1, MASKED_EQ, MASK32, request))
    return f


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else POLICY_DIR
    with open(os.path.join(POLICY_DIR, "policy.json")) as fh:
        policy = json.load(fh)
    for name, arch in ARCHES.items():
        path = os.path.join(out_dir, f"{name}.bpf")
        with open(path, "wb") as out:
            build(policy, arch).export_bpf(out)
        print(f"{os.path.relpath(path)}: {os.path.getsize(path) // 8} instructions")


if __name__ == "__main__":
    main()
