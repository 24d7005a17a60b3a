"""Test doubles for running the installer against a temporary root.

`FakeRunner` stands in for the image's tools (useradd, vtysh, ignition, grub-install,
...): the installer takes its command runner as a parameter precisely so that tests can
record every call and fake the tools' effects without a real machine. The fake tools
write what the real ones would (useradd adds the passwd line, ignition's files stage
writes its preset file) so the following steps see a consistent tree.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Unpack

from metal_images.installer.commands import Completed, RunOptions

FIXTURES = Path(__file__).parent / "fixtures"
KERNEL = "6.1.0-56-amd64"
IGNITION_DRACUT = "/usr/lib/dracut/modules.d/30ignition/ignition"

Handler = Callable[[list[str], str | None], tuple[int, str]]


@dataclass
class Call:
    argv: list[str]
    stdin: str | None
    cwd: str | None
    env_extra: dict[str, str]

    def line(self) -> str:
        text = " ".join(self.argv)
        if self.cwd:
            text = f"(cd {self.cwd}) {text}"
        for key, value in sorted(self.env_extra.items()):
            text = f"{key}={value} {text}"
        if self.stdin is not None:
            text += f"  <<< {self.stdin!r}"
        return text


@dataclass
class FakeRunner:
    root: Path
    tools: set[str]
    handlers: dict[str, Handler] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    base_env: dict[str, str] = field(default_factory=dict)

    def run(self, argv: Sequence[str], **options: Unpack[RunOptions]) -> Completed:
        args = [str(a) for a in argv]
        stdin = options.get("stdin")
        extra = {k: v for k, v in (options.get("env") or {}).items() if self.base_env.get(k) != v}
        self.calls.append(Call(args, stdin, options.get("cwd"), extra))
        name = Path(args[0]).name
        handler = self.handlers.get(name)
        if handler is None:
            return Completed(args, 0, "")
        code, output = handler(args, stdin)
        return Completed(args, code, output)

    def which(self, tool: str) -> str | None:
        return f"/usr/bin/{tool}" if tool in self.tools else None

    def lines(self) -> list[str]:
        return [c.line() for c in self.calls]


def write(root: Path, path: str, text: str, mode: int = 0o644) -> None:
    dest = root / path.lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    dest.chmod(mode)


def make_tree(root: Path, *, os_id: str = "debian", firewall: bool = False) -> None:
    """The parts of a Debian image the installer reads."""
    write(root, "/etc/os-release", f'PRETTY_NAME="test"\nNAME="test"\nID={os_id}\nVERSION_ID="12"\n')
    write(
        root,
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nfrr:x:100:102::/nonexistent:/usr/sbin/nologin\n",
    )
    write(root, "/etc/group", "root:x:0:\nsudo:x:27:\nwheel:x:10:\nfrr:x:102:\nfrrvty:x:103:frr\n")
    write(root, "/etc/frr/daemons", "zebra=yes\nbgpd=no\nospfd=no\nvtysh_enable=yes\n", 0o640)
    write(root, "/etc/hosts", "127.0.0.1 localhost\n", 0o600)
    write(root, "/etc/machine-id", "0123456789abcdef0123456789abcdef\n", 0o444)
    (root / "etc/resolv.conf").symlink_to("../run/systemd/resolve/stub-resolv.conf")
    (root / "var/tmp").mkdir(parents=True)
    (root / "var/tmp").chmod(0o755)
    (root / "etc/mdadm").mkdir(parents=True)
    for name in (f"System.map-{KERNEL}", f"vmlinuz-{KERNEL}", f"initrd.img-{KERNEL}"):
        write(root, f"/boot/{name}", "fake\n")
    write(root, IGNITION_DRACUT, "#!/bin/sh\n", 0o755)
    for lldp_tool in ("/usr/sbin/lldpd", "/usr/sbin/lldpcli"):
        write(root, lldp_tool, "#!/bin/sh\n", 0o755)
    write(root, "/etc/systemd/system/cloud-init-custom.service", "[Unit]\n")
    write(root, "/.dockerenv", "")
    if firewall:
        write(root, "/lib/systemd/system/chrony@.service", "[Service]\n")
        write(root, "/etc/chrony/chrony.conf", "pool 2.debian.pool.ntp.org iburst\nmakestep 1 3\nrtcsync\n")
        # the programs of the units the installer enables (it skips those an image lacks)
        for program in ("/usr/local/bin/node_exporter", "/usr/bin/nftables-exporter",
                        "/usr/bin/suricata-update"):
            write(root, program, "#!/bin/sh\n", 0o755)


def install_fixture(root: Path, name: str, *, extra: str = "", userdata: str | None = None) -> None:
    text = (FIXTURES / name).read_text() + extra
    write(root, "/etc/metal/install.yaml", text, 0o600)
    if userdata is not None:
        shutil.copyfile(FIXTURES / userdata, root / "etc/metal/userdata")
        (root / "etc/metal/userdata").chmod(0o600)


def default_handlers(root: Path) -> dict[str, Handler]:
    passwd = root / "etc/passwd"

    def useradd(argv: list[str], stdin: str | None) -> tuple[int, str]:
        uid = argv[argv.index("--uid") + 1]
        gid = {"sudo": "27", "wheel": "10"}[argv[argv.index("--gid") + 1]]
        name = argv[-1]
        passwd.write_text(passwd.read_text() + f"{name}:x:{uid}:{gid}::/home/{name}:/bin/bash\n")
        (root / "home" / name).mkdir(parents=True, exist_ok=True)
        return 0, ""

    def userdel(argv: list[str], stdin: str | None) -> tuple[int, str]:
        kept = [line for line in passwd.read_text().splitlines() if not line.startswith(argv[-1] + ":")]
        passwd.write_text("\n".join(kept) + "\n")
        return 0, ""

    def ignition(argv: list[str], stdin: str | None) -> tuple[int, str]:
        if "-version" in argv:
            return 0, "Ignition Debian 2.14.0+ds1-1+b6\n"
        if argv[argv.index("-stage") + 1] == "files":
            # like Debian's build: everything written, then SELinux relabeling fails
            write(
                root,
                "/etc/systemd/system-preset/20-ignition.preset",
                "enable cloud-config-downloader.service\n",
            )
            return 1, (
                "INFO     : files: op(1): [finished] writing unit\n"
                "CRITICAL : Ignition failed: failed to handle relabeling: "
                "failed to open /etc/selinux/config\n"
            )
        return 0, "INFO     : Stage: fetch-offline\n"

    def cloud_init(argv: list[str], stdin: str | None) -> tuple[int, str]:
        return 0, "Valid cloud-config: /etc/metal/userdata\n"

    return {"useradd": useradd, "userdel": userdel, "ignition": ignition, "cloud-init": cloud_init}


ALL_TOOLS = {
    "useradd",
    "userdel",
    "chpasswd",
    "vtysh",
    "nft",
    "systemctl",
    "cloud-init",
    "grub-install",
    "update-grub",
    "blkid",
    "mdadm",
    "efibootmgr",
    "update-initramfs",
}
