"""Pure parts of the VM harness: switch config, SNTP replies, qemu command line."""

from __future__ import annotations

import struct
import time
from pathlib import Path

from metal_images.vm import qemu, sntp
from metal_images.vm.switch import frr_config


def test_switch_frr_config_peers_unnumbered_and_originates_default() -> None:
    text = frr_config(("tap0", "tap1"))
    assert " neighbor tap0 interface remote-as external" in text
    assert "  neighbor tap1 default-originate" in text
    assert "  network 10.254.0.1/32" in text


def test_sntp_reply_echoes_the_client_transmit_time() -> None:
    transmit = struct.pack("!Q", sntp.ntp_timestamp(time.time()))
    request = bytes([0x23]) + bytes(39) + transmit  # v4, mode 3 (client)
    answer = sntp.reply(request, time.time(), b"\x0a\xfe\x00\x01")
    assert answer is not None and len(answer) == 48
    assert answer[0] & 0x7 == 4 and (answer[0] >> 6) == 0  # server, leap indicator ok
    assert answer[1] == sntp.STRATUM
    assert answer[24:32] == transmit
    assert abs(struct.unpack("!Q", answer[40:48])[0] / 2**32 - sntp.NTP_EPOCH_OFFSET - time.time()) < 5
    assert sntp.reply(bytes([0x24]) + bytes(47), time.time(), b"xxxx") is None  # not a client


def test_qemu_argv_kexec_like(tmp_path: Path) -> None:
    spec = qemu.VmSpec(disk=tmp_path / "d.raw", macs=("00:03:00:11:11:01", "00:03:00:11:12:01"),
                       taps=("tap0", "tap1"), console_log=tmp_path / "c", serial0_log=tmp_path / "s",
                       kernel=tmp_path / "vmlinuz", initrd=tmp_path / "initrd", cmdline="console=ttyS1 x")
    argv = qemu.qemu_argv(spec, use_kvm=False)
    assert argv[argv.index("-append") + 1] == "console=ttyS1 x"
    assert argv.index(f"file:{tmp_path / 'c'}") > argv.index(f"file:{tmp_path / 's'}")  # ttyS1 second
    assert "virtio-net-pci,netdev=net1,mac=00:03:00:11:12:01,romfile=" in argv
    assert not any("user" in a for a in argv)  # no user-mode networking
    assert "tcg,thread=multi" in argv


def test_qemu_argv_uefi(tmp_path: Path) -> None:
    spec = qemu.VmSpec(disk=tmp_path / "d.raw", macs=("a", "b"), taps=("tap0", "tap1"),
                       console_log=tmp_path / "c", serial0_log=tmp_path / "s", ovmf_vars=tmp_path / "vars")
    argv = qemu.qemu_argv(spec, use_kvm=True)
    assert "-kernel" not in argv and "kvm" in argv
    assert any(a.startswith("if=pflash") and str(tmp_path / "vars") in a for a in argv)


def test_check_names_drop_the_host_parameter() -> None:
    from metal_images.checks.runner import _Collector

    collector = _Collector("ssh://10.1.0.1")
    assert collector._name("properties.py::test_hostname[ssh://10.1.0.1]") == "test_hostname"
    assert collector._name("properties.py::test_sysctl[ssh://10.1.0.1-kernel.printk]") == \
        "test_sysctl[kernel.printk]"
    assert collector._name("properties.py::test_service[ssh://10.1.0.1-frr-True]") == "test_service[frr-True]"
