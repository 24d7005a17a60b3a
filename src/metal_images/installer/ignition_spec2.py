"""Translate an Ignition spec 2.x config into spec 3.3.0 (what the image's ignition reads).

Debian's and Ubuntu's ignition (2.x releases) only read spec 3; metal-stack's old images
ran flatcar's ignition v0.36 with spec 2.x, and existing userdata is written in 2.x. The
parts that make sense for an installed root are translated: files (filesystem "root"),
directories, links, systemd units and drop-ins, networkd units (as files) and passwd.
Anything else (disks, raid, other filesystems, appends, remote config merges) is refused
with a message naming the key, instead of being silently dropped.
"""

from __future__ import annotations

from typing import Any, Dict, List
from urllib.parse import quote

from .errors import InstallError

TARGET_VERSION = "3.3.0"


def _refuse(where: str, why: str) -> InstallError:
    return InstallError(f"Ignition spec 2.x userdata: {where}: {why} (write the userdata in spec 3)")


def _only(obj: Dict[str, Any], allowed: List[str], where: str) -> None:
    for key, value in obj.items():
        if key not in allowed and value not in (None, [], {}, "", False):
            raise _refuse(f"{where}.{key}", "cannot be translated to spec 3")


def _owner(node: Dict[str, Any], out: Dict[str, Any]) -> None:
    for key in ("user", "group"):
        if node.get(key):
            out[key] = {k: v for k, v in node[key].items() if k in ("id", "name") and v is not None}


def _file(node: Dict[str, Any], where: str) -> Dict[str, Any]:
    _only(node, ["filesystem", "path", "contents", "mode", "user", "group", "overwrite", "append"], where)
    if node.get("filesystem", "root") != "root":
        raise _refuse(f"{where}.filesystem", f"only root is supported, not {node['filesystem']}")
    if node.get("append"):
        raise _refuse(f"{where}.append", "appending to files is not supported")
    out: Dict[str, Any] = {"path": node["path"]}
    contents = node.get("contents") or {}
    if contents:
        _only(contents, ["source", "compression", "verification"], f"{where}.contents")
        translated = {k: contents[k] for k in ("source", "compression") if contents.get(k)}
        if (contents.get("verification") or {}).get("hash"):
            translated["verification"] = {"hash": contents["verification"]["hash"]}
        out["contents"] = translated
    if node.get("mode") is not None:
        out["mode"] = node["mode"]
    # spec 2.x replaced existing files by default; spec 3 refuses unless overwrite is set
    out["overwrite"] = node.get("overwrite", True) if contents else bool(node.get("overwrite", False))
    _owner(node, out)
    return out


def _directory(node: Dict[str, Any], where: str) -> Dict[str, Any]:
    _only(node, ["filesystem", "path", "mode", "user", "group", "overwrite"], where)
    if node.get("filesystem", "root") != "root":
        raise _refuse(f"{where}.filesystem", "only the root filesystem is supported")
    out: Dict[str, Any] = {"path": node["path"], "overwrite": bool(node.get("overwrite", False))}
    if node.get("mode") is not None:
        out["mode"] = node["mode"]
    _owner(node, out)
    return out


def _link(node: Dict[str, Any], where: str) -> Dict[str, Any]:
    _only(node, ["filesystem", "path", "target", "hard", "user", "group", "overwrite"], where)
    if node.get("filesystem", "root") != "root":
        raise _refuse(f"{where}.filesystem", "only the root filesystem is supported")
    out: Dict[str, Any] = {"path": node["path"], "target": node["target"], "hard": bool(node.get("hard"))}
    out["overwrite"] = bool(node.get("overwrite", False))
    _owner(node, out)
    return out


def _unit(node: Dict[str, Any], where: str) -> Dict[str, Any]:
    _only(node, ["name", "enable", "enabled", "mask", "contents", "dropins"], where)
    out: Dict[str, Any] = {"name": node["name"]}
    if node.get("contents"):
        out["contents"] = node["contents"]
    enabled = node.get("enabled", node.get("enable"))
    if enabled is not None:
        out["enabled"] = bool(enabled)
    if node.get("mask"):
        out["mask"] = True
    dropins = [{"name": d["name"], "contents": d.get("contents", "")} for d in node.get("dropins") or []]
    if dropins:
        out["dropins"] = dropins
    return out


USER_KEYS = [
    "name",
    "passwordHash",
    "sshAuthorizedKeys",
    "uid",
    "gecos",
    "homeDir",
    "noCreateHome",
    "primaryGroup",
    "groups",
    "noUserGroup",
    "noLogInit",
    "shell",
    "system",
]


def translate(config: Dict[str, Any]) -> Dict[str, Any]:
    """Spec 2.x dict -> spec 3.3.0 dict."""
    ignition = config.get("ignition") or {}
    _only(ignition, ["version", "timeouts"], "ignition")
    _only(config, ["ignition", "storage", "systemd", "networkd", "passwd"], "config")
    out: Dict[str, Any] = {"ignition": {"version": TARGET_VERSION}}
    if ignition.get("timeouts"):
        out["ignition"]["timeouts"] = ignition["timeouts"]
    storage_in = config.get("storage") or {}
    _only(storage_in, ["files", "directories", "links", "filesystems"], "storage")
    for i, fs in enumerate(storage_in.get("filesystems") or []):
        if fs.get("name") != "root" or fs.get("mount"):
            raise _refuse(f"storage.filesystems[{i}]", "only the root filesystem is supported")
    files = [_file(f, f"storage.files[{i}]") for i, f in enumerate(storage_in.get("files") or [])]
    for i, unit in enumerate((config.get("networkd") or {}).get("units") or []):
        _only(unit, ["name", "contents"], f"networkd.units[{i}]")
        source = "data:," + _percent_encode(unit.get("contents", ""))
        files.append(
            {
                "path": f"/etc/systemd/network/{unit['name']}",
                "mode": 0o644,
                "overwrite": True,
                "contents": {"source": source},
            }
        )
    storage: Dict[str, Any] = {}
    if files:
        storage["files"] = files
    directories = [
        _directory(d, f"storage.directories[{i}]") for i, d in enumerate(storage_in.get("directories") or [])
    ]
    if directories:
        storage["directories"] = directories
    links = [_link(link, f"storage.links[{i}]") for i, link in enumerate(storage_in.get("links") or [])]
    if links:
        storage["links"] = links
    if storage:
        out["storage"] = storage
    systemd = config.get("systemd") or {}
    _only(systemd, ["units"], "systemd")
    units = [_unit(u, f"systemd.units[{i}]") for i, u in enumerate(systemd.get("units") or [])]
    if units:
        out["systemd"] = {"units": units}
    passwd = config.get("passwd") or {}
    _only(passwd, ["users", "groups"], "passwd")
    users = []
    for i, user in enumerate(passwd.get("users") or []):
        _only(user, USER_KEYS, f"passwd.users[{i}]")
        users.append({k: v for k, v in user.items() if k in USER_KEYS and v not in (None, [], "")})
    groups = []
    for i, group in enumerate(passwd.get("groups") or []):
        _only(group, ["name", "gid", "passwordHash", "system"], f"passwd.groups[{i}]")
        groups.append({k: v for k, v in group.items() if v not in (None, "")})
    if users or groups:
        out["passwd"] = {k: v for k, v in (("users", users), ("groups", groups)) if v}
    return out


def _percent_encode(text: str) -> str:
    return quote(text, safe="")
