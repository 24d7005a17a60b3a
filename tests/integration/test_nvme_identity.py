"""The image's nvme-host-identity (run by nvme-host-identity.service at first boot) gives
every machine its own NQN and host id (issue 13.4).

Root, needs the built Debian tree. Each "machine" is the tree in a private mount namespace
with a fresh tmpfs on /etc/nvme (so the tree is not changed) and /proc mounted; the
mounts end with the namespace.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]

NQN = re.compile(r"^nqn\.2014-08\.org\.nvmexpress:uuid:([0-9a-f-]{36})$")


def first_boot(root: Path) -> tuple[str, str]:
    script = ('set -e; mount -t tmpfs none "$1/etc/nvme"; mount -t proc proc "$1/proc"; '
              'chroot "$1" /usr/local/sbin/nvme-host-identity; '
              'cat "$1/etc/nvme/hostnqn" "$1/etc/nvme/hostid"')
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                             str(root.resolve())], capture_output=True, text=True, timeout=60, check=True)
    nqn, hostid = result.stdout.split()
    return nqn, hostid


def test_two_machines_get_different_identities(debian_rootfs: Path) -> None:
    assert not (debian_rootfs / "etc/nvme/hostnqn").exists(), "the image must not carry one"
    assert not (debian_rootfs / "etc/nvme/hostid").exists()
    one, two = first_boot(debian_rootfs), first_boot(debian_rootfs)
    for nqn, hostid in (one, two):
        match = NQN.match(nqn)
        assert match and match.group(1) == hostid, (nqn, hostid)
    assert one != two
    assert not (debian_rootfs / "etc/nvme/hostnqn").exists(), "the test changed the tree"
