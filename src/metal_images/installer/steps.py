"""The install, step by step, in upstream install-go's order (contract section 6)."""

from __future__ import annotations

import time
from typing import Callable, Dict, List, Tuple

from . import accounts, basics, boot, config, lldp, network, osinfo, safeyaml, userdata
from .commands import Runner
from .context import INSTALL_YAML, Context
from .errors import InstallError, StepFailed
from .target import Target


def detect_os(ctx: Context) -> None:
    ctx.os = osinfo.detect(ctx.target)
    ctx.log(f"operating system: {ctx.os.id}")


def check_firmware(ctx: Context) -> None:
    """Upstream's check never fails on real hardware (a quirk); here it only reports."""
    if ctx.target.exists("/sys/firmware/efi"):
        ctx.log("firmware: UEFI")
    elif not ctx.target.exists("/sys/class/dmi"):
        ctx.log("firmware: virtual machine (no /sys/class/dmi)")
    else:
        ctx.log("warning: no /sys/firmware/efi: not booted in UEFI mode; only UEFI boot is supported")


def read_install_yaml(ctx: Context) -> None:
    if not ctx.target.exists(INSTALL_YAML):
        raise InstallError(f"{INSTALL_YAML} is missing (metal-hammer writes it before running the installer)")
    # every input is validated here, before the first step that writes
    text = safeyaml.decode(ctx.target.path(INSTALL_YAML).read_bytes(), "install.yaml")
    ctx.config = config.parse(text)
    userdata.precheck(ctx)
    # the phone-home values too, before anything is written, where an LLDP daemon will
    # announce them (os-installer's and metal-networker's inputs may lack them otherwise)
    if lldp.daemon(ctx) is not None:
        lldp.phone_home_values(text)
    ctx.log(f"install.yaml: role {ctx.config.role}, hostname {ctx.config.hostname}")
    # in a docker-built tree systemd-detect-virt would report "docker" forever
    ctx.target.remove("/.dockerenv")


def kernel_cmdline(ctx: Context) -> None:
    ctx.cmdline = boot.cmdline(ctx)
    ctx.log(f"cmdline: {ctx.cmdline}")


def boot_info(ctx: Context) -> None:
    info = boot.write_boot_info(ctx)
    ctx.log(f"boot-info: kernel {info.kernel}, initrd {info.initrd}")


Step = Tuple[str, Callable[[Context], None]]

STEPS: List[Step] = [
    ("detect os", detect_os),
    ("firmware", check_firmware),
    ("install.yaml", read_install_yaml),
    ("resolv.conf", basics.resolv_conf),
    ("ntp", basics.ntp),
    ("metal user", accounts.create_metal_user),
    ("network", network.configure),
    ("phone home (lldp)", lldp.configure),
    ("ssh keys", accounts.authorized_keys),
    ("permissions", basics.fix_permissions),
    ("userdata", userdata.process),
    ("kernel command line", kernel_cmdline),
    ("boot-info.yaml", boot_info),
    ("grub", boot.grub),
    ("machine-id", basics.clear_machine_id),
    ("build-meta.yaml", basics.build_meta),
]


def install(target: Target, runner: Runner, env: Dict[str, str], log: Callable[[str], None]) -> Context:
    """Run every step; the first failure raises StepFailed(step, cause)."""
    ctx = Context(target=target, runner=runner, env=env, log=log)
    for name, step in STEPS:
        started = time.monotonic()
        log(f"==> {name}")
        try:
            step(ctx)
        except InstallError as exc:
            raise StepFailed(name, str(exc)) from exc
        except OSError as exc:
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            raise StepFailed(name, f"{exc.strerror or exc}{where}") from exc
        except Exception as exc:  # a bug: still one line, with the exception's type
            raise StepFailed(name, f"internal error: {type(exc).__name__}: {exc}") from exc
        log(f"    {name}: done in {time.monotonic() - started:.1f}s")
    return ctx
