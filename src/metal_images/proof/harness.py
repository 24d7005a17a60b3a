"""`metal-images test`: install like metal-hammer, boot like kexec, check, report.

Phases (each timed): install (hammer emulation) -> boot to SSH -> checks. Output in
`out`: summary.txt (the table), junit.xml, console.log (ttyS1), phases.json, install.log,
and the installed disk.raw only when a check failed (it is GBs; a passing run removes it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from metal_images import ui
from metal_images.checks.context import CheckContext
from metal_images.checks.runner import CheckResult, run_checks
from metal_images.checks.userdata import expectations
from metal_images.files import atomic_write
from metal_images.hammer import emulate, inputs, pull
from metal_images.signals import interruptible
from metal_images.vm import session, switch

# install.yaml and userdata fixtures (copies of the project's shared fixtures)
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class TestReport:
    out: Path
    phases: dict[str, float] = field(default_factory=dict)
    results: list[CheckResult] = field(default_factory=list)
    accel: str = ""

    @property
    def failed(self) -> list[CheckResult]:
        # a check that does not apply to this image skips itself (reported, not a failure)
        return [r for r in self.results if r.outcome not in ("passed", "skipped")]

    @property
    def ok(self) -> bool:
        return bool(self.results) and not self.failed


@dataclass(frozen=True)
class TestOptions:
    role: str
    uefi: bool
    keep: bool
    install_yaml: Path
    userdata: Path | None
    boot_timeout: float | None = None


@contextmanager
def _phase(report: TestReport, name: str, title: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        with ui.step(title):
            yield
    finally:
        report.phases[name] = round(time.monotonic() - started, 1)


def _artifact_url(artifact: str) -> tuple[Path | None, str]:
    """(directory to serve, file name) for a local file; (None, url) for a URL."""
    if artifact.startswith(("http://", "https://")):
        return None, artifact
    return emulate.artifact_source(Path(artifact))


def machine(installed: emulate.Installed) -> session.Machine:
    """What the VM needs of the installed disk: boot files, uplink MACs, the SSH address."""
    first, second = inputs.nic_macs(installed.model)[:2]
    return session.Machine(installed.disk_image, installed.kernel, installed.initrd,
                           installed.boot_info.cmdline, (first, second), inputs.router_ip(installed.model))


def run_test(artifact: str, out: Path, options: TestOptions) -> TestReport:
    out.mkdir(parents=True, exist_ok=True)
    report = TestReport(out)
    key = inputs.generate_test_key(out / "key")
    config = inputs.load_install_config(options.install_yaml)
    config.update({"sshpublickey": key.public_key, "role": options.role,
                   "dns_servers": [switch.SERVICE_ADDRESS], "ntp_servers": [switch.SERVICE_ADDRESS]})
    userdata = options.userdata.read_text() if options.userdata else None
    try:
        with interruptible():
            with _phase(report, "install", "install like metal-hammer"):
                directory, name = _artifact_url(artifact)
                if directory is None:
                    installed = emulate.install_image(name, out, config, userdata, uefi=options.uefi)
                else:
                    with pull.serve_directory(directory) as base:
                        installed = emulate.install_image(f"{base}/{name}", out, config, userdata,
                                                          uefi=options.uefi)
            boot_started = time.monotonic()
            model = installed.model
            with session.booted(machine(installed), out, key.private_key_path, uefi=options.uefi,
                                boot_timeout=options.boot_timeout) as vm:
                report.phases["boot_to_ssh"] = round(time.monotonic() - boot_started, 1)
                report.accel = "kvm" if vm.use_kvm else "tcg"
                files, units = expectations(userdata)
                private_vrf, private_ip = inputs.private_vrf_and_ip(model)
                ctx = CheckContext(
                    role=options.role, os_id=installed.os_id, hostname=model.hostname,
                    router_id=inputs.router_ip(model), asn=inputs.local_asn(model),
                    public_key=key.public_key, password=model.password,
                    macs=inputs.nic_macs(model), boot_cmdline=installed.boot_info.cmdline,
                    uefi=options.uefi, dns_name=switch.ENDPOINT_NAME, dns_address=switch.ENDPOINT_ADDRESS,
                    endpoint_url=f"http://{switch.ENDPOINT_NAME}/", endpoint_text=switch.ENDPOINT_TEXT,
                    switch_namespace=vm.switch.namespace, switch_vty=str(vm.switch.state),
                    private_vrf=private_vrf, private_ip=private_ip,
                    machine_uuid=model.machineuuid,
                    install_timestamp=str(installed.config.get("timestamp", "")),
                    userdata_files=files, userdata_units=units)
                with _phase(report, "checks", "property checks (pytest-testinfra over SSH)"):
                    report.results = run_checks(ctx, address=vm.ssh.address, ssh_config=vm.ssh.config,
                                                key=key.private_key_path, out=out)
                write_report(report)
                print_summary(report)
                if options.keep:
                    hold(vm)
    finally:
        if not (out / "phases.json").exists():
            write_report(report)
        discard_disk(out, report)
    return report


def discard_disk(out: Path, report: TestReport) -> None:
    """The installed disk (GBs) is only worth keeping to look into a failure."""
    disk_image = out / emulate.DISK_FILE
    if not disk_image.exists():
        return
    if report.ok:
        disk_image.unlink()
    else:
        ui.info(f"the installed disk is kept for inspection: {disk_image}")


def hold(vm: session.VmSession) -> None:
    ui.info("--keep: the VM keeps running until you press Ctrl-C (then everything is torn down)")
    ui.info(f"  ssh:      {vm.ssh.manual_command()}")
    ui.info(f"  console:  tail -f {vm.console_log}")
    ui.info(f"  switch:   ip netns exec {vm.switch.namespace} vtysh --vty_socket {vm.switch.state}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        ui.info("stopping the VM")


def print_summary(report: TestReport) -> None:
    """The checks' table and the phases: the result of `test`, on stdout."""
    ui.result(summary_table(report))


def summary_table(report: TestReport) -> Table:
    table = Table(title=f"metal-images test ({report.accel or 'no boot'})")
    table.add_column("check")
    table.add_column("result")
    table.add_column("time", justify="right")
    table.add_column("message")
    for result in report.results:
        style = "green" if result.outcome == "passed" else "red"
        # names and messages are plain text: `test_sysctl[kernel.printk]` is no markup tag
        table.add_row(Text(result.name), Text(result.outcome, style=style), f"{result.seconds:.1f}s",
                      Text(result.message[:100]))
    for phase, seconds in report.phases.items():
        table.add_row(f"phase: {phase}", "", ui.format_duration(seconds), "")
    return table


def write_report(report: TestReport) -> None:
    file_console = Console(record=True, width=160, markup=False, file=open("/dev/null", "w"))  # noqa: SIM115
    file_console.print(summary_table(report))
    (report.out / "summary.txt").write_text(file_console.export_text())
    passed = sum(r.outcome == "passed" for r in report.results)
    data = {"accel": report.accel, "phases_seconds": report.phases, "checks": len(report.results),
            "passed": passed, "failed": len(report.results) - passed,
            "results": [asdict(r) for r in report.results]}
    atomic_write(report.out / "phases.json", json.dumps(data, indent=2) + "\n")


def default_install_yaml(role: str) -> Path:
    return FIXTURES / f"install-{role}.yaml"


def default_userdata(role: str) -> Path:
    """Machines get the cloud-config-downloader files, firewalls the controller's kubeconfig
    and the units firewall-controller and droptailer enabled (as upstream's test inputs)."""
    return FIXTURES / ("userdata-firewall-ignition.json" if role == "firewall" else "userdata-ignition.json")
