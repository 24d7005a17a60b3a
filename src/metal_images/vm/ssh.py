"""SSH into the booted server from inside the switch namespace, as an operator would."""

from __future__ import annotations

import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko

from metal_images.errors import MetalImagesError
from metal_images.runner import probe

from .netns import ns_argv

USER = "metal"


@dataclass(frozen=True)
class SshTarget:
    namespace: str
    address: str
    key: Path
    config: Path  # ssh_config with the ProxyCommand; testinfra and ssh(1) use it

    def proxy_command(self) -> str:
        return shlex.join(ns_argv(self.namespace, [sys.executable, "-m", "metal_images.vm.nsproxy",
                                                   self.address, "22"]))

    def manual_command(self) -> str:
        return f"ssh -F {self.config} {USER}@{self.address}"


def write_ssh_config(namespace: str, address: str, key: Path, path: Path) -> SshTarget:
    target = SshTarget(namespace, address, key, path)
    known_hosts = path.with_name("known_hosts")
    path.write_text(
        f"Host {address}\n"
        f"  User {USER}\n"
        f"  IdentityFile {key}\n"
        f"  IdentitiesOnly yes\n"
        f"  ProxyCommand {target.proxy_command()}\n"
        f"  StrictHostKeyChecking no\n"
        f"  UserKnownHostsFile {known_hosts}\n"
    )
    return target


def port_open(target: SshTarget) -> bool:
    argv = ns_argv(target.namespace, [sys.executable, "-m", "metal_images.vm.nsproxy", "--probe",
                                      target.address, "22"])
    return probe(argv, timeout=30).ok


def connect(target: SshTarget, timeout: float = 30) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # a fresh test VM every time
    client.connect(target.address, username=USER, key_filename=str(target.key), timeout=timeout,
                   banner_timeout=timeout, auth_timeout=timeout, allow_agent=False, look_for_keys=False,
                   sock=paramiko.ProxyCommand(target.proxy_command()))  # type: ignore[arg-type]
    return client


def wait_for_login(target: SshTarget, timeout: float, alive: object = None) -> None:
    """Until `metal` can log in with the test key (or raise after `timeout`)."""
    deadline = time.monotonic() + timeout
    last_error = "port 22 not reachable"
    while time.monotonic() < deadline:
        if callable(alive):
            alive()
        if port_open(target):
            try:
                client = connect(target)
                try:
                    _, stdout, _ = client.exec_command("true", timeout=30)
                    if stdout.channel.recv_exit_status() == 0:
                        return
                finally:
                    client.close()
            except (paramiko.SSHException, OSError, EOFError) as exc:
                last_error = f"ssh login failed: {exc}"
        time.sleep(3)
    raise MetalImagesError(f"no SSH login as {USER}@{target.address} within {timeout:.0f}s ({last_error})")
