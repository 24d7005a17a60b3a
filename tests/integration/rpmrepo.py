"""A signed RPM repository made on the spot: gpg keys, rpmbuild, rpmsign, createrepo_c,
served over HTTP on loopback with a log of what was fetched.

Debian ships all of it (rpm, createrepo-c, gnupg); no RPM mirror is needed.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    files: dict[str, str]  # absolute path in the image -> content
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    copies: dict[str, Path] = field(default_factory=dict)  # path in the image -> host file (mode 0755)
    links: dict[str, str] = field(default_factory=dict)  # path in the image -> link target
    post: str = ""  # a %post scriptlet (runs with the image's /bin/sh, chrooted by rpm)


def _run(argv: list[str], **kwargs: object) -> None:
    subprocess.run(argv, check=True, capture_output=True, **kwargs)  # type: ignore[call-overload]


@dataclass
class SigningKey:
    """A passphrase-less signing key in its own GNUPGHOME."""

    home: Path
    email: str

    @classmethod
    def create(cls, home: Path, email: str) -> SigningKey:
        home.mkdir(parents=True, mode=0o700)
        _run(["gpg", "--homedir", str(home), "--batch", "--passphrase", "", "--quick-gen-key",
              f"metal-images test <{email}>", "rsa2048", "sign", "never"])
        return cls(home, email)

    def export(self, path: Path) -> Path:
        armored = subprocess.run(["gpg", "--homedir", str(self.home), "--armor", "--export", self.email],
                                 check=True, capture_output=True).stdout
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(armored)
        return path

    def sign(self, rpms: list[Path]) -> None:
        _run([
            "rpmsign", "--addsign",
            "--define", "__gpg /usr/bin/gpg",
            "--define", f"_gpg_path {self.home}",
            "--define", f"_gpg_name {self.email}",
            "--define", "_gpg_sign_cmd_extra_args --batch --pinentry-mode loopback --passphrase=",
            *map(str, rpms),
        ])


def _spec(package: Package) -> str:
    install = [
        f"mkdir -p %{{buildroot}}{Path(path).parent}\n"
        f"printf '%s' {_shell_quote(content)} > %{{buildroot}}{path}"
        for path, content in package.files.items()
    ]
    install += [f"install -D -m 0755 {source} %{{buildroot}}{path}"
                for path, source in package.copies.items()]
    install += [f"mkdir -p %{{buildroot}}{Path(path).parent}\nln -s {target} %{{buildroot}}{path}"
                for path, target in package.links.items()]
    requires = "".join(f"Requires: {r}\n" for r in package.requires)
    requires += "".join(f"Provides: {p}\n" for p in package.provides)
    files = "\n".join([*package.files, *package.copies, *package.links])
    post = f"%post\n{package.post}\n" if package.post else ""
    arch = "x86_64" if package.copies else "noarch"  # a binary makes it an x86_64 package
    return (
        f"Name: {package.name}\nVersion: {package.version}\nRelease: 1\n"
        "Summary: a metal-images test package\nLicense: MIT\n"
        f"BuildArch: {arch}\n"
        "AutoReqProv: no\n"
        f"{requires}"
        "%description\nA package of the metal-images dnf backend tests.\n"
        "%global debug_package %{nil}\n%global __os_install_post %{nil}\n"
        f"%install\n{chr(10).join(install)}\n%files\n{files}\n{post}"
    )


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def build_rpms(packages: list[Package], workdir: Path) -> list[Path]:
    topdir = workdir / "rpmbuild"
    (topdir / "SPECS").mkdir(parents=True, exist_ok=True)
    for package in packages:
        spec = topdir / "SPECS" / f"{package.name}.spec"
        spec.write_text(_spec(package))
        _run(["rpmbuild", "--define", f"_topdir {topdir}", "-bb", str(spec)])
    return sorted((topdir / "RPMS").glob("*/*.rpm"))


def make_repository(folder: Path, rpms: list[Path], key: SigningKey) -> Path:
    """A copy of `rpms` signed by `key`, with repodata."""
    folder.mkdir(parents=True)
    copies = []
    for rpm in rpms:
        copies.append(folder / rpm.name)
        shutil.copyfile(rpm, copies[-1])
    key.sign(copies)
    _run(["createrepo_c", "--quiet", str(folder)])
    return folder


@dataclass
class Served:
    url: str
    requests: list[str] = field(default_factory=list)

    def fetched(self, suffix: str) -> list[str]:
        return [path for path in self.requests if path.endswith(suffix)]


@contextmanager
def serve(folder: Path) -> Iterator[Served]:
    """`folder` over HTTP on 127.0.0.1 (a free port), stopped on every exit path."""
    served = Served("")

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            served.requests.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
