"""The contract's static rules (metal-stack-contract.md sections 4, 7.2, 7.4 and 8), as a
registry: one small function per rule with an id and a one-line description, returning
why it fails (a string), `Skip(why)` when it does not apply, or None when it passes.
`check` runs them all on the facts of one archive.

Severity `error`: metal-hammer, install-go or metal-networker break without it ([H], [I]).
Severity `warning`: documented conventions and runtime expectations ([D], [S]) and our
own export habits; reported, but they do not fail `check`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from metal_images.contract.facts import UNIT_DIRS, ArchiveFacts, normalize
from metal_images.contract.modinfo import DKMS_MODULE
from metal_images.imagefiles import (
    DEBIAN_FAMILY,
    KNOWN_OS_IDS,
    RHEL_FAMILY,
    os_id,
    parse_group_names,
    parse_os_release,
    parse_passwd,
)
from metal_images.sidecar import sidecar_problem

Severity = Literal["error", "warning"]
Status = Literal["pass", "fail", "warn", "skip"]


@dataclass(frozen=True)
class Skip:
    """A rule's outcome when it does not apply to this archive."""

    reason: str


Outcome = str | Skip | None  # why it fails, why it does not apply, or None: it passes

ALLOWED_TYPES = frozenset({"dir", "file", "symlink", "hardlink"})
PSEUDO_FILESYSTEMS = ("proc", "sys", "dev", "run")
PATH_DIRS = ("usr/local/sbin", "usr/local/bin", "usr/sbin", "usr/bin", "sbin", "bin")
SHOWN = 5  # offending names listed in a reason


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    severity: Severity
    needs_complete: bool  # only meaningful when the whole archive could be read
    check: Callable[[ArchiveFacts], Outcome]


RULES: list[Rule] = []


def rule(
    rule_id: str, description: str, *, severity: Severity = "error", needs_complete: bool = True
) -> Callable[[Callable[[ArchiveFacts], Outcome]], Callable[[ArchiveFacts], Outcome]]:
    def register(func: Callable[[ArchiveFacts], Outcome]) -> Callable[[ArchiveFacts], Outcome]:
        if any(r.id == rule_id for r in RULES):
            raise ValueError(f"duplicate rule id {rule_id}")
        RULES.append(Rule(rule_id, description, severity, needs_complete, func))
        return func

    return register


def skip(reason: str) -> Skip:
    return Skip(reason)


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    more = f" (+{len(names) - SHOWN} more)" if len(names) > SHOWN else ""
    return f"{shown}{more}"


def _os(facts: ArchiveFacts) -> str:
    return os_id(parse_os_release(facts.text("etc/os-release") or ""))


# --- the artifact --------------------------------------------------------------------------


@rule("url-suffix", "the image path/URL ends in `lz4` (metal-hammer refuses other formats)",
      needs_complete=False)
def url_suffix(facts: ArchiveFacts) -> Outcome:
    path = facts.source.split("?", 1)[0]
    return None if path.endswith("lz4") else f"{path} does not end in lz4"


@rule("lz4-frame", "the archive is one valid LZ4 frame stream, read to its end (checksums ok)",
      needs_complete=False)
def lz4_frame(facts: ArchiveFacts) -> Outcome:
    return None if facts.lz4_error is None else f"LZ4: {facts.lz4_error}"


@rule("md5-sidecar", "`<image>.md5` exists and its first token is the md5 of the archive",
      needs_complete=False)
def md5_sidecar(facts: ArchiveFacts) -> Outcome:
    if "md5" in facts.sidecar_errors:
        return facts.sidecar_errors["md5"]
    text = facts.sidecars.get("md5")
    if text is None:
        return skip(f"no {facts.source}.md5 beside the image (metal-hammer needs it)")
    if "md5" not in facts.digests:
        return skip("not compared: the download stopped at the broken LZ4 frame")
    return sidecar_problem(text, "md5", facts.digests["md5"])


@rule("sha-sidecars", "`.sha256`/`.sha512` sidecars, where present, match the archive",
      severity="warning", needs_complete=False)
def sha_sidecars(facts: ArchiveFacts) -> Outcome:
    problems = [facts.sidecar_errors[a] for a in ("sha256", "sha512") if a in facts.sidecar_errors]
    present = [a for a in ("sha256", "sha512") if facts.sidecars.get(a) is not None]
    if present and not facts.digests:
        return skip("not compared: the download stopped at the broken LZ4 frame")
    for algorithm in present:
        problem = sidecar_problem(facts.sidecars[algorithm] or "", algorithm, facts.digests[algorithm])
        if problem:
            problems.append(f".{algorithm}: {problem}")
    if problems:
        return "; ".join(problems)
    return None if present else skip("no .sha256/.sha512 beside the image")


# --- the tar layer (archiver v2 semantics, contract 7.4) ----------------------------------


@rule("tar-readable", "the tar stream inside the frame is readable to its end-of-archive mark",
      needs_complete=False)
def tar_readable(facts: ArchiveFacts) -> Outcome:
    if facts.lz4_error is not None:
        return skip("the LZ4 layer failed first")
    if facts.tar_error is not None:
        return f"tar: {facts.tar_error}"
    return None if facts.entries else "the archive holds no entries"


@rule("tar-no-global-header", "no PAX global header (archiver v2: \"unknown type flag\")",
      needs_complete=False)
def tar_no_global_header(facts: ArchiveFacts) -> Outcome:
    if facts.global_headers:
        return f"{facts.global_headers} PAX global header(s) (type 'g')"
    return None


@rule("tar-entry-types", "only directory, file, symlink and hardlink entries (others become files)",
      needs_complete=False)
def tar_entry_types(facts: ArchiveFacts) -> Outcome:
    bad = [f"{e.raw_name} ({e.type})" for e in facts.entries if e.type not in ALLOWED_TYPES]
    return f"{len(bad)} other entries: {_listing(bad)}" if bad else None


def _climbs(parts: list[str]) -> bool:
    depth = 0
    for part in parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


@rule("tar-names", "names are relative, without `..`, unique, and never written through a symlink",
      needs_complete=False)
def tar_names(facts: ArchiveFacts) -> Outcome:
    problems: list[str] = []
    symlinks: set[str] = set()
    seen: set[str] = set()
    for entry in facts.entries:
        if entry.type != "dir" and entry.name in seen:
            # archiver v2 fails on an existing link name and writes a file *through* an earlier symlink
            problems.append(f"{entry.raw_name} (appears twice)")
        seen.add(entry.name)
        if entry.raw_name.startswith("/"):
            problems.append(f"{entry.raw_name} (absolute)")
        elif ".." in entry.raw_name.split("/"):
            problems.append(f"{entry.raw_name} (contains ..)")
        else:
            parts = entry.name.split("/")
            for depth in range(1, len(parts)):
                if "/".join(parts[:depth]) in symlinks:
                    problems.append(f"{entry.raw_name} (below the symlink {'/'.join(parts[:depth])})")
                    break
        if entry.type == "symlink":
            symlinks.add(entry.name)
        else:
            symlinks.discard(entry.name)
    return f"unsafe names: {_listing(problems)}" if problems else None


@rule("tar-links", "links stay inside the root; hardlinks point to an earlier entry",
      needs_complete=False)
def tar_links(facts: ArchiveFacts) -> Outcome:
    problems: list[str] = []
    seen: set[str] = set()
    for entry in facts.entries:
        if entry.type == "hardlink":
            target = normalize(entry.linkname)
            if entry.linkname.startswith("/") or _climbs(entry.linkname.split("/")):
                problems.append(f"{entry.raw_name} => {entry.linkname} (outside the root)")
            elif target not in seen:
                problems.append(f"{entry.raw_name} => {entry.linkname} (no earlier entry)")
        elif entry.type == "symlink":
            base = [] if entry.linkname.startswith("/") else entry.name.split("/")[:-1]
            if _climbs([*base, *entry.linkname.split("/")]):
                problems.append(f"{entry.raw_name} -> {entry.linkname} (escapes the root)")
        seen.add(entry.name)
    return f"unsafe links: {_listing(problems)}" if problems else None


@rule("pseudo-fs-empty", "nothing under /proc, /sys, /dev, /run (metal-hammer mounts over them)",
      severity="warning", needs_complete=False)
def pseudo_fs_empty(facts: ArchiveFacts) -> Outcome:
    inside = [e.raw_name for e in facts.entries
              if "/" in e.name and e.name.split("/", 1)[0] in PSEUDO_FILESYSTEMS]
    return f"{len(inside)} entries: {_listing(inside)}" if inside else None


@rule("hammer-write-paths", "/etc, /etc/metal, /etc/fstab are no symlinks (metal-hammer writes "
      "there from outside the chroot)")
def hammer_write_paths(facts: ArchiveFacts) -> Outcome:
    links = [f"/{path} -> {facts.by_name[path].linkname}" for path in ("etc", "etc/metal", "etc/fstab",
                                                                      "etc/lvm")
             if path in facts.by_name and facts.by_name[path].type == "symlink"]
    return f"symlinks would redirect metal-hammer's writes: {', '.join(links)}" if links else None


# --- what metal-hammer runs and boots (7.2, 7.3) -------------------------------------------


@rule("installer", "an executable installer: /install-go (regular file) or /install.sh")
def installer(facts: ArchiveFacts) -> Outcome:
    go = facts.by_name.get("install-go")
    if go is not None and go.type in ("file", "hardlink"):
        return None if facts.is_executable_file("install-go") else "/install-go is not executable"
    if facts.exists("install.sh"):
        return None if facts.is_executable_file("install.sh") else "/install.sh is not an executable file"
    if go is not None:
        return f"/install-go is a {go.type}, metal-hammer needs a regular file (and there is no /install.sh)"
    return "neither /install-go nor /install.sh in the image root"


def _kernel_version(facts: ArchiveFacts) -> tuple[str | None, str | None]:
    maps = sorted(e.name for e in facts.entries if re.fullmatch(r"boot/System\.map-[^/]+", e.name))
    maps = sorted(set(maps))
    if len(maps) != 1:
        found = ", ".join(f"/{m}" for m in maps) or "none"
        return None, f"exactly one /boot/System.map-* needed, found {len(maps)}: {found}"
    return maps[0].removeprefix("boot/System.map-"), None


@rule("kernel", "exactly one /boot/System.map-<v>, with /boot/vmlinuz-<v> and its initrd")
def kernel(facts: ArchiveFacts) -> Outcome:
    kver, problem = _kernel_version(facts)
    if kver is None:
        return problem
    rhel = _os(facts) in RHEL_FAMILY
    initrds = [f"boot/initramfs-{kver}.img"] if rhel else [f"boot/initrd.img-{kver}"]
    if not _os(facts):
        initrds = [f"boot/initrd.img-{kver}", f"boot/initramfs-{kver}.img"]
    problems = []
    for wanted in ([f"boot/vmlinuz-{kver}"], initrds):
        entry = next((facts.by_name[w] for w in wanted if w in facts.by_name), None)
        if entry is None or not facts.exists(entry.name, "file"):
            problems.append(f"/{wanted[0]} missing")
        elif entry.type == "symlink" and entry.linkname.startswith("/"):
            problems.append(f"/{entry.name} is an absolute symlink (metal-hammer copies it from outside)")
    return "; ".join(problems) or None


@rule("kernel-bzimage", "the kernel is a bzImage (kexec_file_load needs one)")
def kernel_bzimage(facts: ArchiveFacts) -> Outcome:
    kver, _ = _kernel_version(facts)
    if kver is None:
        return skip("no single kernel (see rule kernel)")
    entry = facts.resolve(f"boot/vmlinuz-{kver}")
    head = facts.contents.get(entry.name, b"") if entry is not None else b""
    if not head:
        return skip(f"/boot/vmlinuz-{kver} not readable")
    return None if head[0x202:0x206] == b"HdrS" else f"/boot/vmlinuz-{kver} has no bzImage header (HdrS)"


# --- what install-go and metal-networker need (section 6, 8) -------------------------------


@rule("dkms-modules", "modules DKMS built (a GPU driver's) exist for the image's kernel and their "
      "vermagic names it (a kernel bump without a rebuild fails here)")
def dkms_modules(facts: ArchiveFacts) -> Outcome:
    sources = [e.name for e in facts.entries if re.fullmatch(r"usr/src/[^/]+/dkms\.conf", e.name)]
    if not sources and not facts.module_vermagic:
        return skip("no DKMS module sources in the image")
    kver, problem = _kernel_version(facts)
    if kver is None:
        return problem
    problems = []
    built_for_image = []
    for name, vermagic in sorted(facts.module_vermagic.items()):
        match = DKMS_MODULE.fullmatch(name)
        assert match is not None  # the reader keeps only names the pattern matches
        if match["kernel"] != kver:
            problems.append(f"/{name} is built for kernel {match['kernel']}, the image boots {kver}")
        elif vermagic.split(" ", 1)[0] != kver:
            problems.append(f"/{name}: vermagic {vermagic!r} does not name the kernel {kver}")
        else:
            built_for_image.append(name)
    if sources and not built_for_image:
        listed = _listing(["/" + source for source in sources])
        problems.append(f"DKMS sources ({listed}) but no module built for {kver}")
    return "; ".join(problems) or None


@rule("os-release", "/etc/os-release has an ID install-go knows (debian, ubuntu, centos, almalinux)")
def os_release(facts: ArchiveFacts) -> Outcome:
    text = facts.text("etc/os-release")
    if text is None:
        return "/etc/os-release missing"
    found = os_id(parse_os_release(text))
    if found in KNOWN_OS_IDS:
        return None
    return f"ID={found or '(none)'} is not one of {', '.join(KNOWN_OS_IDS)}"


def required_tools(os_name: str, role: str) -> list[tuple[str, ...]]:
    """Each item: alternatives, one of which must be an executable on PATH."""
    common: list[tuple[str, ...]] = [
        ("useradd",), ("userdel",), ("passwd",), ("blkid",), ("mdadm",), ("efibootmgr",),
        # Debian and Ubuntu ship ignition for dracut only; the installer looks there too
        ("systemctl",), ("ignition", "/usr/lib/dracut/modules.d/30ignition/ignition"),
        ("cloud-init",), ("vtysh",), ("bash",), ("ip",),
    ]
    if os_name in RHEL_FAMILY:
        family: list[tuple[str, ...]] = [("grub2-mkconfig",), ("dracut",)]
        if os_name == "centos":
            family.append(("grub2-install",))
    else:
        family = [("grub-install",), ("update-grub2", "update-grub"), ("dpkg-reconfigure",),
                  ("update-initramfs",)]
    firewall: list[tuple[str, ...]] = [("nft",)] if role == "firewall" else []
    return common + family + firewall


def guess_role(facts: ArchiveFacts) -> str:
    if facts.role:
        return facts.role
    markers = ("usr/local/bin/firewall-controller", "etc/firewall-controller")
    if any(facts.exists(m) for m in markers) or "/firewall/" in facts.source:
        return "firewall"
    return "machine"


@rule("tools", "the tools install-go and metal-networker call (per OS family; nft on firewalls)")
def tools(facts: ArchiveFacts) -> Outcome:
    os_name = _os(facts)
    if os_name not in KNOWN_OS_IDS:
        return skip("unknown OS (see rule os-release)")
    missing = []
    for alternatives in required_tools(os_name, guess_role(facts)):
        candidates = [tool.lstrip("/") if tool.startswith("/") else f"{d}/{tool}"
                      for tool in alternatives for d in PATH_DIRS]
        if not any(facts.is_executable_file(path) for path in candidates):
            missing.append("|".join(alternatives))
    return f"missing on PATH ({guess_role(facts)}, {os_name}): {', '.join(missing)}" if missing else None


INSTALLER_PYTHON = (3, 9)


def _python_minor(facts: ArchiveFacts) -> int | None:
    """The minor version of the image's /usr/bin/python3: its link target, else its stdlib."""
    entry = facts.resolve("usr/bin/python3")
    if entry is None:
        return None
    named = re.search(r"/python3\.(\d+)$", "/" + entry.name)
    if named:
        return int(named.group(1))
    stdlib = [int(m.group(1)) for e in facts.entries
              if (m := re.fullmatch(r"usr/lib(?:64)?/python3\.(\d+)/os\.py", e.name))]
    return max(stdlib) if stdlib else None


@rule("installer-python", "/install.sh (a Python zipapp) finds python3 >= 3.9 with PyYAML "
      "(CentOS 7 has 3.6)")
def installer_python(facts: ArchiveFacts) -> Outcome:
    go = facts.by_name.get("install-go")
    if (go is not None and go.type in ("file", "hardlink")) or not facts.exists("install.sh"):
        return skip("no /install.sh (install-go needs no Python)")
    minor = _python_minor(facts)
    if minor is None:
        return "/usr/bin/python3 missing (or of unknown version): /install.sh runs with it"
    if (3, minor) < INSTALLER_PYTHON:
        return f"/usr/bin/python3 is 3.{minor}; /install.sh needs 3.{INSTALLER_PYTHON[1]} or newer"
    yaml_module = re.compile(r"usr/lib(?:64)?/python3(?:\.\d+)?/(?:site|dist)-packages/yaml/__init__\.py")
    if not any(yaml_module.fullmatch(e.name) for e in facts.entries):
        return "PyYAML missing (no site-packages/yaml or dist-packages/yaml): /install.sh imports it"
    return None


@rule("uid-1000-free", "uid 1000 is free (or already `metal`): install-go creates metal with it")
def uid_1000_free(facts: ArchiveFacts) -> Outcome:
    text = facts.text("etc/passwd")
    if text is None:
        return "/etc/passwd missing"
    taken = [u.name for u in parse_passwd(text) if u.uid == 1000 and u.name != "metal"]
    return f"uid 1000 belongs to {', '.join(taken)}" if taken else None


@rule("sudo-group", "the admin group metal joins exists: sudo (Debian family) / wheel (RHEL)")
def sudo_group(facts: ArchiveFacts) -> Outcome:
    os_name = _os(facts)
    if os_name not in KNOWN_OS_IDS:
        return skip("unknown OS (see rule os-release)")
    text = facts.text("etc/group")
    if text is None:
        return "/etc/group missing"
    wanted = "sudo" if os_name in DEBIAN_FAMILY else "wheel"
    return None if wanted in parse_group_names(text) else f"group {wanted} missing from /etc/group"


@rule("networker-dir", "/etc/metal/networker/ exists (metal-networker's temp directory)")
def networker_dir(facts: ArchiveFacts) -> Outcome:
    return None if facts.exists("etc/metal/networker", "dir") else "/etc/metal/networker missing"


@rule("services", "services metal-stack expects are enabled; default target multi-user",
      severity="warning")
def services(facts: ArchiveFacts) -> Outcome:
    os_name = _os(facts)
    enabled = facts.enabled_units
    wanted: list[tuple[str, ...]] = [("ssh.service", "sshd.service")]
    if os_name not in RHEL_FAMILY:
        wanted += [("frr.service",), ("lldpd.service",), ("systemd-networkd.service",),
                   ("serial-getty@ttyS1.service",), ("watchdog.service",)]
    else:  # RHEL keeps time with chronyd (no systemd-timesyncd); networkd comes from EPEL
        wanted += [("frr.service",), ("lldpd.service",), ("systemd-networkd.service",),
                   ("chronyd.service",)]
    problems = [f"{'|'.join(w)} not enabled" for w in wanted if not enabled.intersection(w)]
    default = facts.by_name.get("etc/systemd/system/default.target")
    if default is None or not default.linkname.endswith("multi-user.target"):
        problems.append("default.target is not multi-user.target")
    return "; ".join(problems) or None


@rule("lldp-daemon", "an LLDP daemon the installer configures for phone home: Debian's lldpd "
      "(lldpd + lldpcli, lldpd.service enabled) or go-lldpd (/usr/local/bin/lldpd)", severity="warning")
def lldp_daemon(facts: ArchiveFacts) -> Outcome:
    if facts.is_executable_file("usr/local/bin/lldpd"):
        return None  # go-lldpd reads install.yaml itself
    missing = [f"/{p}" for p in ("usr/sbin/lldpd", "usr/sbin/lldpcli") if not facts.is_executable_file(p)]
    if missing:
        return (f"no LLDP daemon ({', '.join(missing)} missing): the machine never phones home "
                "to metal-core, which then treats it as dead")
    if "lldpd.service" not in facts.enabled_units:
        return "lldpd.service is not enabled: the machine never phones home to metal-core"
    return None


@rule("no-baked-nvme-identity", "no /etc/nvme/hostnqn or hostid in the image (each machine "
      "generates its own; a shared one breaks NVMe/TCP access control)", severity="warning")
def no_baked_nvme_identity(facts: ArchiveFacts) -> Outcome:
    baked = [f"/{p}" for p in ("etc/nvme/hostnqn", "etc/nvme/hostid") if facts.exists(p)]
    return f"{', '.join(baked)} baked into the image: every machine would share it" if baked else None


def _unit_text(facts: ArchiveFacts, name: str) -> str | None:
    return next((t for d in UNIT_DIRS if (t := facts.text(f"{d}/{name}")) is not None), None)


@rule("firewall-services", "firewall: what the installer's units need: chrony@.service runs in "
      "`ip vrf exec %i`, nftables.conf includes /etc/nftables/*, node_exporter, nftables + suricata on")
def firewall_services(facts: ArchiveFacts) -> Outcome:
    if guess_role(facts) != "firewall":
        return skip("not a firewall image")
    problems = []
    template = _unit_text(facts, "chrony@.service")
    if template is None:
        problems.append("no chrony@.service (the installer enables chrony@vrf<internet vrf>)")
    elif not re.search(r"^ExecStart=[-@:+!]*/s?bin/ip vrf exec %i ", template, re.MULTILINE):
        problems.append("chrony@.service does not run chronyd in `ip vrf exec %i`")
    nft_conf = facts.text("etc/nftables.conf") or ""
    if not re.search(r'^\s*include\s+"/etc/nftables/\*"', nft_conf, re.MULTILINE):
        problems.append('/etc/nftables.conf does not include "/etc/nftables/*" '
                        "(the installer writes rules there)")
    if not facts.is_executable_file("usr/local/bin/node_exporter"):
        problems.append("/usr/local/bin/node_exporter missing (node-exporter.service runs it)")
    enabled = facts.enabled_units
    problems += [f"{unit} not enabled" for unit in ("nftables.service", "suricata.service")
                 if unit not in enabled]
    return "; ".join(problems) or None


# --- what differs between releases (docs/build.md, "Releases of a family") ------------------

FRR_STATE_LINE = re.compile(r"^\s*[dDz]\s+/var/lib/frr/?\s+\S+\s+frr\s", re.MULTILINE)


@rule("frr-state-dir", "where FRR has mgmtd (FRR 10), a tmpfiles.d line gives /var/lib/frr to frr "
      "(metal-hammer's burn leaves every directory to root)", severity="warning")
def frr_state_dir(facts: ArchiveFacts) -> Outcome:
    if not facts.is_executable_file("usr/lib/frr/mgmtd"):
        return skip("this FRR has no mgmtd")
    for name, data in facts.contents.items():
        if "/tmpfiles.d/" in f"/{name}" and FRR_STATE_LINE.search(data.decode("utf-8", errors="replace")):
            return None
    return "no tmpfiles.d line owns /var/lib/frr to frr: mgmtd cannot write its state after install"


def evaluate(facts: ArchiveFacts) -> list[tuple[Rule, Status, str]]:
    results: list[tuple[Rule, Status, str]] = []
    for item in RULES:
        if item.needs_complete and not facts.complete:
            results.append((item, "skip", "the archive could not be read to its end"))
            continue
        outcome = item.check(facts)
        if outcome is None:
            results.append((item, "pass", ""))
        elif isinstance(outcome, Skip):
            results.append((item, "skip", outcome.reason))
        else:
            results.append((item, "fail" if item.severity == "error" else "warn", outcome))
    return results
