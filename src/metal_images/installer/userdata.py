"""/etc/metal/userdata: validate cloud-config, or apply Ignition at install time.

cloud-config (`#cloud-config` in one of the first three lines) is only validated here,
with the image's cloud-init (`cloud-init schema`, or `cloud-init devel schema` on older
releases); cloud-init-custom.service, which the image provides, applies it at boot.

Anything else must be an Ignition JSON config. Spec 3 is used as is, spec 2.x is
translated (ignition_spec2), then the image's ignition binary runs its `fetch-offline`
and `files` stages against `/` with the `file` platform, which reads
/etc/metal/config.ign. Debian's ignition is built with SELinux relabeling on and fails
at the very end, after writing everything, on a system without SELinux; that one
failure is tolerated, every other one aborts the install.

Units that Ignition enabled are recorded in its preset file; instead of upstream's
`systemctl preset-all` (which would also re-apply the distribution presets to every unit
and so undo services the image deliberately enabled, disabled or left off) exactly those
units are preset.
"""

from __future__ import annotations

import json
import shutil
from typing import Any, Dict, List, Optional

from .commands import last_line
from .context import Context
from .errors import InstallError
from .ignition_spec2 import translate
from .safeyaml import MAX_DEPTH, check_shape, decode

USERDATA = "/etc/metal/userdata"
IGNITION_CONFIG = "/etc/metal/config.ign"
IGNITION_WORKDIR = "/tmp/metal-installer-ignition"
IGNITION_PRESETS = "/etc/systemd/system-preset/20-ignition.preset"
# Debian and Ubuntu package ignition for dracut only; the binary is not on PATH there
IGNITION_PATHS = ("/usr/lib/dracut/modules.d/30ignition/ignition", "/usr/local/bin/ignition")


def is_cloud_config(text: str) -> bool:
    return any("#cloud-config" in line for line in text.splitlines()[:3])


def json_depth(text: str) -> int:
    """The deepest nesting of [ and { in JSON text (outside strings), without recursion:
    Python's json module recurses per level and would die with a RecursionError."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def precheck(ctx: Context) -> None:
    """Refuse userdata that is not UTF-8 or nested beyond reason, before anything is
    written (the `userdata` step itself runs late in the install)."""
    if not ctx.target.exists(USERDATA):
        return
    text = decode(ctx.target.path(USERDATA).read_bytes(), "userdata")
    if not text.strip():
        return
    if is_cloud_config(text):
        check_shape(text, "userdata (cloud-config)")
    elif json_depth(text) > MAX_DEPTH:
        raise InstallError(f"userdata (Ignition JSON): nested deeper than {MAX_DEPTH} levels")


def process(ctx: Context) -> None:
    if not ctx.target.exists(USERDATA):
        ctx.log("no userdata")
        return
    text = ctx.target.read(USERDATA)
    if not text.strip():
        ctx.log("userdata is empty")
        return
    if is_cloud_config(text):
        validate_cloud_config(ctx)
    else:
        apply_ignition(ctx, text)


def validate_cloud_config(ctx: Context) -> None:
    if not ctx.has("cloud-init"):
        raise InstallError("userdata is cloud-config but the image has no cloud-init")
    result = ctx.runner.run(["cloud-init", "schema", "--config-file", USERDATA])
    if result.returncode != 0 and "invalid choice" in result.output:
        result = ctx.runner.run(["cloud-init", "devel", "schema", "--config-file", USERDATA])
    if result.returncode != 0:
        lines = [line.strip() for line in result.output.splitlines() if line.strip()]
        problems = " | ".join(line for line in lines if "deprecat" not in line.lower())[-400:]
        raise InstallError(f"userdata is not valid cloud-config: {problems or last_line(result.output)}")
    ctx.log("cloud-config is valid; cloud-init-custom.service applies it at boot")
    if not ctx.target.exists("/etc/systemd/system/cloud-init-custom.service") and not ctx.target.exists(
        "/lib/systemd/system/cloud-init-custom.service"
    ):
        ctx.log("warning: the image has no cloud-init-custom.service; nothing will apply the cloud-config")


def ignition_binary(ctx: Context) -> Optional[str]:
    found = ctx.runner.which("ignition")
    if found:
        return found
    return next((p for p in IGNITION_PATHS if ctx.target.exists(p)), None)


def spec3(text: str) -> Dict[str, Any]:
    try:
        config = json.loads(text)
    except ValueError as exc:
        raise InstallError(
            f"userdata is neither cloud-config (#cloud-config in the first lines) nor Ignition JSON: {exc}"
        ) from None
    version = ""
    if isinstance(config, dict) and isinstance(config.get("ignition"), dict):
        version = str(config["ignition"].get("version", ""))
    if version.startswith("3."):
        return config  # type: ignore[no-any-return]
    if version.startswith("2."):
        try:
            return translate(config)
        except (KeyError, TypeError, AttributeError) as exc:
            raise InstallError(f"Ignition spec 2.x userdata is malformed near {exc}") from None
    shown = version or "(none)"
    raise InstallError(f"Ignition userdata has unsupported ignition.version {shown!r} (need 2.x or 3.x)")


def apply_ignition(ctx: Context, text: str) -> None:
    config = spec3(text)
    binary = ignition_binary(ctx)
    if binary is None:
        raise InstallError("userdata is Ignition but the image has no ignition binary")
    ctx.target.write(IGNITION_CONFIG, json.dumps(config, indent=2, sort_keys=True) + "\n", mode=0o600)
    workdir = ctx.target.path(IGNITION_WORKDIR)
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(ctx.env)
    env["IGNITION_CONFIG_FILE"] = IGNITION_CONFIG
    common = [
        "-platform",
        "file",
        "-config-cache",
        f"{IGNITION_WORKDIR}/config.json",
        "-state-file",
        f"{IGNITION_WORKDIR}/state",
        "-neednet",
        f"{IGNITION_WORKDIR}/neednet",
        "-log-to-stdout",
    ]
    try:
        for stage in ("fetch-offline", "files"):
            argv = [binary, *common, "-stage", stage, "-root", "/"]
            ctx.log("$ " + " ".join(argv))
            result = ctx.runner.run(argv, env=env, cwd="/etc/metal")
            if result.returncode != 0 and not _only_relabel_failed(result.output):
                raise InstallError(f"ignition stage {stage} failed: {_critical(result.output)}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    units = preset_units(ctx)
    if units:
        ctx.run(["systemctl", "preset", *units])


def _critical(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if "CRITICAL" in line or "ERROR" in line]
    return " | ".join(lines)[-400:] if lines else last_line(output)


def _only_relabel_failed(output: str) -> bool:
    critical = [line for line in output.splitlines() if "CRITICAL" in line]
    return bool(critical) and all("relabel" in line for line in critical)


def preset_units(ctx: Context) -> List[str]:
    if not ctx.target.exists(IGNITION_PRESETS):
        return []
    units = []
    for line in ctx.target.read(IGNITION_PRESETS).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("enable", "disable") and parts[1] not in units:
            units.append(parts[1])
    return units
