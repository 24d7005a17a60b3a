"""The GPU checks read their facts from one script's output: a parse that cannot confuse
sections, and facts that tell a rebuilt module from a stale one."""

from __future__ import annotations

from metal_images.checks.gpu import MARK, MODULES, parse_facts

KERNEL = "6.12.117+deb12-amd64"


def output(vermagic_kernel: str, *, sources: bool = True) -> str:
    lines = [KERNEL, f"{MARK}sources"]
    if sources:
        lines.append("/usr/src/nvidia-current-535.309.01/dkms.conf")
    lines += [f"{MARK}status", f"nvidia-current/535.309.01, {KERNEL}, x86_64: installed"]
    for module in MODULES:
        lines += [f"{MARK}module {module}",
                  f"/lib/modules/{vermagic_kernel}/updates/dkms/{module}-current.ko",
                  f"{vermagic_kernel} SMP preempt mod_unload modversions "]
    return "\n".join(lines) + "\n"


def test_facts_of_a_good_image() -> None:
    facts = parse_facts(output(KERNEL))
    assert facts.kernel == KERNEL
    assert facts.dkms_sources == ["/usr/src/nvidia-current-535.309.01/dkms.conf"]
    assert facts.module_files["nvidia-uvm"] == f"/lib/modules/{KERNEL}/updates/dkms/nvidia-uvm-current.ko"
    assert {m.split(" ", 1)[0] for m in facts.vermagic.values()} == {KERNEL}


def test_a_stale_module_shows_its_own_kernel() -> None:
    facts = parse_facts(output("6.1.0-57-amd64"))
    assert facts.vermagic["nvidia"].startswith("6.1.0-57-amd64 ")


def test_no_sources_and_missing_modules() -> None:
    text = f"{KERNEL}\n{MARK}sources\n{MARK}status\n" + "".join(f"{MARK}module {m}\n" for m in MODULES)
    facts = parse_facts(text)
    assert facts.dkms_sources == [] and facts.vermagic == {m: "" for m in MODULES}
