"""``asrkit doctor``: each check, made to fail by faking what it probes, names its fix and fails the command
(exit 1) when the purpose needs it; optional and informational checks do not; on this machine it prints
every check."""
from __future__ import annotations

import collections
import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.requirements import Requirement

from asrkit import doctor
from asrkit.cli import cli

# check function -> the name its row has
CHECKS = {
    "check_python": doctor.PYTHON, "check_torch": doctor.TORCH, "check_soundfile": doctor.SOUNDFILE,
    "check_espeak": doctor.ESPEAK, "check_flite": doctor.FLITE, "check_festival": doctor.FESTIVAL,
    "check_lm_tools": doctor.LM_TOOLS, "check_kenlm": doctor.KENLM, "check_ctc_decoder": doctor.DECODER,
    "check_sclite": doctor.SCLITE, "check_cpu_bf16": doctor.CPU_BF16, "check_gpus": doctor.GPUS,
    "check_disk": doctor.DISK, "check_exp_dir": doctor.EXP_DIR,
}
INFORMATIONAL = {"check_cpu_bf16", "check_gpus"}
GOOD_PROBE = doctor.TorchProbe({"torch": {"version": "2.14.1+cu130", "cuda": "13.0"},
                                "torchaudio": {"version": "2.11.1+cu132", "cuda": "13.2"}, "ctc_decoder": {}})
SETUP_CFG = Path(__file__).resolve().parents[1] / "setup.cfg"


class Machine:
    """Every check passes (a stub) but those a test makes real with :meth:`real`, whose probes it then breaks."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.originals = {name: getattr(doctor, name) for name in (*CHECKS, "probe_torch")}
        for fn, name in CHECKS.items():
            informational = fn in INFORMATIONAL
            monkeypatch.setattr(doctor, fn, lambda *a, _n=name, _i=informational, **k: doctor.Check(
                _n, True, "stubbed", informational=_i))
        monkeypatch.setattr(doctor, "probe_torch", lambda: GOOD_PROBE)

    def real(self, *names: str) -> None:
        for name in names:
            self.monkeypatch.setattr(doctor, name, self.originals[name])


@pytest.fixture
def machine(monkeypatch):
    return Machine(monkeypatch)


def run_doctor(*args):
    return CliRunner().invoke(cli, ["doctor", *map(str, args)], catch_exceptions=False)


def row(output: str, name: str) -> str:
    """The table row of check ``name`` (its first line)."""
    lines = [ln for ln in output.splitlines() if re.match(rf"│ {re.escape(name)} +│", ln)]
    assert len(lines) == 1, output
    return lines[0]


def fake_run(stdout: str, stderr: str = "", returncode: int = 1):
    def run(cmd, *args, **kwargs):
        assert cmd[0] == sys.executable and cmd[1] == "-c"
        return subprocess.CompletedProcess(cmd, returncode, stdout, stderr)

    return run


def setup_cfg_pin(name: str) -> str:
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG)
    pins = [Requirement(r) for r in parser["options"]["install_requires"].splitlines() if r.strip()]
    return next(str(p.specifier) for p in pins if p.name == name)


def which_without(*missing: str):
    real = shutil.which

    def which(cmd, *args, **kwargs):
        return None if os.path.basename(cmd) in missing else real(cmd, *args, **kwargs)

    return which


def test_doctor_passes_when_every_check_passes(machine, tmp_path):
    result = run_doctor("--exp-dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert "ready for the demo" in result.output and "not ready" not in result.output
    for name in CHECKS.values():
        assert " stubbed " in row(result.output, name)


def test_a_torchaudio_that_cannot_load_next_to_torch_names_the_matching_pair(machine, monkeypatch, tmp_path):
    machine.real("probe_torch", "check_torch", "check_ctc_decoder")
    monkeypatch.setattr(subprocess, "run", fake_run(
        '{"stage": "torch", "version": "2.13.0+cpu", "cuda": null}\n',
        "Traceback (most recent call last):\n  ...\nOSError: libcudart.so.13: cannot open shared object file: "
        "No such file or directory\n"))
    result = run_doctor("--exp-dir", tmp_path)
    assert result.exit_code == 1, result.output
    assert "FAIL" in row(result.output, doctor.TORCH) and "FAIL" in row(result.output, doctor.DECODER)
    fix = next(ln for ln in result.output.splitlines() if ln.startswith(f"fix {doctor.TORCH}: "))
    assert "pip uninstall -y torch torchaudio" in fix and "pip install" in fix
    # the pair setup.cfg pins, quoted for the shell
    pinned = dict(re.findall(r"'(torch|torchaudio)([<>=!][^']*)'", fix))
    for name in ("torch", "torchaudio"):
        assert Requirement(name + pinned[name]).specifier == Requirement(name + setup_cfg_pin(name)).specifier
    assert "libcudart.so.13" in result.output and "2.13.0+cpu" in result.output
    assert "not ready for the demo" in result.output and "torch + torchaudio" in result.output.splitlines()[-1]


def test_a_crash_on_import_torchaudio_is_reported_not_raised(machine, monkeypatch):
    machine.real("probe_torch", "check_torch")
    monkeypatch.setattr(subprocess, "run", fake_run('{"stage": "torch", "version": "2.14.1+cu130", "cuda": "13.0"}\n',
                                                    returncode=-11))
    check = doctor.check_torch(doctor.probe_torch())
    assert not check.ok and "SIGSEGV" in check.detail and "pip uninstall -y torch torchaudio" in check.fix


def test_a_torch_outside_the_pins_fails_though_it_imports(machine):
    machine.real("check_torch")
    probe = doctor.TorchProbe({"torch": {"version": "2.15.0+cu130", "cuda": "13.0"},
                               "torchaudio": {"version": "2.11.1+cu132", "cuda": "13.2"}})
    check = doctor.check_torch(probe)
    assert not check.ok and "torch 2.15.0+cu130 is outside" in check.detail
    assert doctor.check_torch(GOOD_PROBE).ok


def break_python(monkeypatch, tmp_path):
    monkeypatch.setattr(doctor.platform, "python_version", lambda: "3.9.18")


def break_soundfile(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "soundfile", None)  # import soundfile raises ImportError


def break_espeak(monkeypatch, tmp_path):
    from asrkit.data.synth import espeak

    monkeypatch.setattr(espeak, "_ENGINE", None)
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)


def break_flite(monkeypatch, tmp_path):
    from asrkit.data.synth import engines

    monkeypatch.setattr(engines, "_loadable", lambda lib: False)


def break_festival(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", which_without("festival"))


def break_lm_tools(monkeypatch, tmp_path):
    from asrkit.decode import lm

    monkeypatch.setenv("ASRKIT_TOOLS", str(tmp_path / "no_tools"))
    monkeypatch.setattr(lm, "_CHECKOUT_TOOLS", tmp_path / "no_checkout_tools")
    monkeypatch.setattr(shutil, "which", which_without("lmplz", "build_binary"))


def break_kenlm(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "kenlm", None)


def break_ctc_decoder(monkeypatch, tmp_path):
    monkeypatch.setattr(subprocess, "run", fake_run(
        '{"stage": "torch", "version": "2.14.1+cu130", "cuda": "13.0"}\n'
        '{"stage": "torchaudio", "version": "2.11.1+cu132", "cuda": "13.2"}\n',
        "ModuleNotFoundError: No module named 'flashlight'\n"))


def break_sclite(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", which_without("sclite"))


def break_disk(monkeypatch, tmp_path):
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(100e9, 99e9, 1e9))


def break_exp_dir(monkeypatch, tmp_path):
    tmp_path.chmod(0o555)
    if os.geteuid() == 0:  # root writes anyway
        def mkstemp(*args, dir=None, **kwargs):
            raise PermissionError(13, "Permission denied", str(dir))

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


@pytest.mark.parametrize("check, breaks, args, fix", [
    ("check_python", break_python, (), "PYTHON=python3.11 make install"),
    ("check_soundfile", break_soundfile, (), "libsndfile1"),
    ("check_espeak", break_espeak, (), "-m pip install 'espeakng-loader>="),
    ("check_flite", break_flite, (), "apt-get install flite libflite1"),
    ("check_festival", break_festival, (),
     "make engines (as root), or: sudo apt-get install festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"),
    ("check_lm_tools", break_lm_tools, (), "make tools"),
    ("check_kenlm", break_kenlm, (), "-m pip install 'kenlm'"),
    ("check_ctc_decoder", break_ctc_decoder, (), "-m pip install 'flashlight-text>=0.0.7'"),
    ("check_sclite", break_sclite, ("--for", "all"), "apt-get install sctk"),
    ("check_disk", break_disk, (), "--min-free-gb"),
    ("check_exp_dir", break_exp_dir, (), "chmod u+w"),
])
def test_a_failing_check_names_its_fix_and_fails_the_command(machine, monkeypatch, tmp_path, check, breaks, args,
                                                              fix):
    exp_dir = tmp_path / "exp"
    exp_dir.mkdir()
    breaks(monkeypatch, exp_dir)
    machine.real(check, *(("probe_torch",) if check == "check_ctc_decoder" else ()))
    try:
        result = run_doctor("--exp-dir", exp_dir, *args)
    finally:
        exp_dir.chmod(0o755)
    name = CHECKS[check]
    assert result.exit_code == 1, result.output
    assert " FAIL " in row(result.output, name)
    fixes = [ln for ln in result.output.splitlines() if ln.startswith("fix ")]
    assert len(fixes) == 1 and fixes[0].startswith(f"fix {name}: ") and fix in fixes[0], result.output
    assert f"not ready for {doctor.PURPOSES[args[1] if args else 'demo']}: {name} failed" in result.output


def test_an_optional_check_that_fails_is_missing_not_fatal(machine, monkeypatch, tmp_path):
    """sclite is needed --for all only; flite and festival not --for test."""
    machine.real("check_sclite", "check_flite")
    break_sclite(monkeypatch, tmp_path)
    break_flite(monkeypatch, tmp_path)
    result = run_doctor("--exp-dir", tmp_path, "--for", "test")
    assert result.exit_code == 0, result.output
    assert " missing " in row(result.output, doctor.SCLITE) and " missing " in row(result.output, doctor.FLITE)
    assert "fix sclite: make sclite" in result.output and "fix flite: make engines" in result.output
    assert "ready for the test suite" in result.output and "(flite, sclite missing: optional here)" in result.output
    assert run_doctor("--exp-dir", tmp_path, "--for", "demo").exit_code == 1  # flite


def test_min_free_gb_sets_the_threshold(machine, monkeypatch, tmp_path):
    machine.real("check_disk")
    break_disk(monkeypatch, tmp_path)
    assert run_doctor("--exp-dir", tmp_path).exit_code == 1
    result = run_doctor("--exp-dir", tmp_path, "--min-free-gb", "0.5")
    assert result.exit_code == 0 and "1.0 GB free" in row(result.output, doctor.DISK), result.output


def test_an_exp_dir_not_made_yet_is_checked_at_its_parent(machine, tmp_path):
    machine.real("check_exp_dir")
    check = doctor.check_exp_dir(tmp_path / "a" / "b")
    assert check.ok and str(tmp_path) in check.detail and "will be created" in check.detail
    assert not list(tmp_path.iterdir())  # nothing left behind
    (tmp_path / "file").write_text("")
    assert not doctor.check_exp_dir(tmp_path / "file" / "exp").ok


def test_informational_checks_never_fail(machine, monkeypatch, tmp_path):
    import torch

    machine.real("check_gpus", "check_cpu_bf16")

    def broken():
        raise RuntimeError("CUDA driver initialization failed")

    monkeypatch.setattr(torch.cuda, "device_count", broken)
    result = run_doctor("--exp-dir", tmp_path, "--for", "all")
    assert result.exit_code == 0, result.output
    assert " info " in row(result.output, doctor.GPUS) and "CUDA driver initialization failed" in result.output
    assert " info " in row(result.output, doctor.CPU_BF16) and "precision auto picks" in result.output


def test_every_required_check_exists():
    names = set(CHECKS.values())
    for purpose, required in doctor.REQUIRED.items():
        assert required <= names, purpose
        assert not required & {doctor.CPU_BF16, doctor.GPUS}
    assert doctor.REQUIRED["all"] == names - {doctor.CPU_BF16, doctor.GPUS}


def test_doctor_on_this_machine_prints_every_check(tmp_path):
    result = run_doctor("--exp-dir", tmp_path, "--for", "all", "--min-free-gb", "0")
    assert result.exit_code in (0, 1), result.output
    for name in CHECKS.values():
        assert re.search(r" (ok|FAIL|missing|info) ", row(result.output, name)), name
    failed = [name for name in CHECKS.values() if " FAIL " in row(result.output, name)]
    last = result.output.strip().splitlines()[-1]
    if failed:
        assert result.exit_code == 1 and last.startswith("error: not ready for") and all(n in last for n in failed)
    else:
        assert result.exit_code == 0 and last.startswith("ready for everything")
    assert " ok " in row(result.output, doctor.EXP_DIR) and " ok " in row(result.output, doctor.PYTHON)


def test_gpus_are_named_with_the_precision_auto_picks(machine, monkeypatch):
    import torch

    machine.real("check_gpus")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: f"NVIDIA H100 #{i}")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    check = doctor.check_gpus()
    assert check.ok and check.informational
    assert check.detail == "2: NVIDIA H100 #0, NVIDIA H100 #1; precision auto picks bf16 on them"


def test_pins_come_from_setup_cfg_when_asrkit_is_not_installed(monkeypatch):
    def not_installed(name):
        raise doctor.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(doctor.importlib.metadata, "requires", not_installed)
    from_checkout = doctor.pins()
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG)
    assert from_checkout["python"] == parser["options"]["python_requires"]
    for name in ("torch", "torchaudio"):
        assert Requirement(from_checkout[name]).specifier == Requirement(name + setup_cfg_pin(name)).specifier
