"""Is this machine ready for asrkit? One small check per thing the recipes and tests need, each returning a
:class:`Check` that says what was found and, when it is missing or broken, the command that fixes it.

``asrkit doctor`` prints them (:mod:`asrkit.cli.doctor`); ``make demo`` runs it first. Which checks must pass
depends on the purpose (:data:`REQUIRED`): the demo needs the three synthesis engines and KenLM's tools, the
test suite skips the engine and sclite tests where they are missing; the CPU's bf16 and the GPUs are
reported, never required.

The known trap is torch + torchaudio: torchaudio 2.11's wheels are CUDA builds and import only next to a
torch built for the same CUDA major version (setup.cfg). A mismatched pair can raise OSError or crash the
interpreter on ``import torchaudio``, so that import runs in a child process (:func:`probe_torch`). This module
imports torch only inside the checks that report on it (:func:`check_gpus`), and ``asrkit doctor`` imports it
nowhere else: the command line loads torch only for the commands that use it.
"""
from __future__ import annotations

import configparser
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

PURPOSES = {  # purpose -> what it readies the machine for, as the verdict says it
    "demo": "the demo (make demo)",
    "test": "the test suite (make test; its engine and sclite tests skip where those are missing)",
    "all": "everything asrkit does (the sclite parity test included)",
}
# The checks' names, as the table prints them
PYTHON, TORCH, SOUNDFILE, ESPEAK = "python", "torch + torchaudio", "soundfile", "espeak-ng"
FLITE, FESTIVAL = "flite", "festival"
LM_TOOLS, KENLM, DECODER, SCLITE = "kenlm tools", "kenlm module", "ctc decoder", "sclite"
CPU_BF16, GPUS, DISK, EXP_DIR = "cpu bf16", "gpus", "disk space", "exp dir"
_BASE = {PYTHON, TORCH, SOUNDFILE, ESPEAK, KENLM, DECODER, LM_TOOLS, DISK, EXP_DIR}
REQUIRED = {
    "demo": _BASE | {FLITE, FESTIVAL},
    "test": _BASE,
    "all": _BASE | {FLITE, FESTIVAL, SCLITE},
}
MIN_FREE_GB = 5.0  # the demo's corpus, LM, checkpoints and decodes, with room to spare
PROBE_TIMEOUT_S = 300  # importing torch on a loaded machine can take a minute
_CHECKOUT = Path(__file__).resolve().parents[1]  # setup.cfg, when asrkit runs from a source checkout


@dataclass(frozen=True)
class Check:
    """What one check found. ``required`` is set by :func:`run_checks` from the purpose; an informational
    check reports the machine (CPU bf16, GPUs) and never fails."""

    name: str
    ok: bool
    detail: str  # what was found: versions, paths, or the error
    fix: str = ""  # the command that makes ``ok`` true; empty when ok
    required: bool = True
    informational: bool = False

    @property
    def status(self) -> str:
        if self.informational:
            return "info"
        if self.ok:
            return "ok"
        return "FAIL" if self.required else "missing"


@dataclass(frozen=True)
class TorchProbe:
    """What a child ``python -c`` got through: one dict per stage it reached (``torch``, ``torchaudio``,
    ``ctc_decoder``), and how it ended (its exit code and last line of stderr)."""

    stages: dict[str, dict] = field(default_factory=dict)
    returncode: int = 0
    error: str = ""

    def reached(self, stage: str) -> bool:
        return stage in self.stages


# Each stage prints one JSON line once it has passed, so a crash (a signal) still shows how far it got.
_PROBE = r"""
import json
def say(stage, **kw):
    print(json.dumps(dict(stage=stage, **kw)), flush=True)
import torch
say("torch", version=torch.__version__, cuda=torch.version.cuda)
import torchaudio, torchaudio.functional, torchaudio.compliance.kaldi
from torchaudio._extension import _IS_TORCHAUDIO_EXT_AVAILABLE
cuda = torch.ops._torchaudio.cuda_version() if _IS_TORCHAUDIO_EXT_AVAILABLE else None
say("torchaudio", version=torchaudio.__version__, cuda=f"{cuda // 1000}.{cuda % 1000 // 10}" if cuda else None)
from torchaudio.models.decoder import ctc_decoder
say("ctc_decoder")
"""


def probe_torch(timeout: float = PROBE_TIMEOUT_S) -> TorchProbe:
    """Import torch, torchaudio (with its extension) and torchaudio's flashlight ``ctc_decoder`` in a child
    Python, which a mismatched pair may crash."""
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    except subprocess.TimeoutExpired:
        return TorchProbe(returncode=-1, error=f"importing them took over {timeout:.0f} s")
    stages = {}
    for line in proc.stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "stage" in record:
            stages[record.pop("stage")] = record
    lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    if proc.returncode < 0:
        error = f"the interpreter was killed by {_signal_name(-proc.returncode)}"
    else:
        error = lines[-1] if lines and proc.returncode else ""
    return TorchProbe(stages, proc.returncode, error[:300])


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name  # SIGSEGV: what a mismatched torch + torchaudio pair can do
    except ValueError:
        return f"signal {number}"


def pins() -> dict[str, str]:
    """asrkit's requirements by distribution name (``torch`` -> ``torch>=2.11,<2.15,!=2.13.0+cpu``) and
    ``python`` -> its python_requires: from the installed metadata, else the checkout's setup.cfg."""
    from packaging.requirements import Requirement

    try:
        requires = importlib.metadata.requires("asrkit") or []
        python = importlib.metadata.metadata("asrkit")["Requires-Python"] or ""
    except importlib.metadata.PackageNotFoundError:
        setup_cfg = configparser.ConfigParser()
        setup_cfg.read(_CHECKOUT / "setup.cfg")
        options = setup_cfg["options"] if setup_cfg.has_section("options") else {}
        requires = [r for r in options.get("install_requires", "").splitlines() if r.strip()]
        python = options.get("python_requires", "")
    out = {"python": python}
    for text in requires:
        req = Requirement(text)
        if req.marker is None:
            order = {">": 0, ">=": 0, "<": 1, "<=": 1, "!=": 2}  # lower bound, upper bound, exclusions
            spec = ",".join(str(s) for s in sorted(req.specifier, key=lambda s: order.get(s.operator, 0)))
            out[req.name] = f"{req.name}{spec}"
    return out


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _satisfies(requirement: str, version: str | None) -> bool:
    from packaging.requirements import Requirement

    return version is not None and Requirement(requirement).specifier.contains(version, prereleases=True)


def _pip(*requirements: str) -> str:
    return f"{sys.executable} -m pip install " + " ".join(f"'{r}'" for r in requirements)


def torch_fix() -> str:
    """The pip commands that replace torch and torchaudio with a pair from PyPI that imports together."""
    p = pins()
    pair = (p.get("torch", "torch"), p.get("torchaudio", "torchaudio"))
    return (f"{sys.executable} -m pip uninstall -y torch torchaudio && {_pip(*pair)} (PyPI's CUDA builds, "
            "which pair up; not a +cpu torch), or a fresh .venv: rm -rf .venv && make install")


def check_python() -> Check:
    required = pins().get("python", "")
    version = platform.python_version()
    ok = not required or _satisfies(f"python{required}", version)
    return Check(PYTHON, ok, f"{version} ({sys.executable}); asrkit needs {required or 'any'}",
                 "" if ok else f"a new .venv with a Python {required}: rm -rf .venv && PYTHON=python3.11 make install")


def check_torch(probe: TorchProbe) -> Check:
    torch, audio = probe.stages.get("torch"), probe.stages.get("torchaudio")
    if torch is None:
        return Check(TORCH, False, f"import torch failed: {probe.error}", torch_fix())
    found = f"torch {torch['version']} (CUDA {torch['cuda'] or 'none: a CPU build'})"
    if audio is None:
        return Check(TORCH, False, f"{found}; import torchaudio failed: {probe.error} (torchaudio "
                     f"{_version('torchaudio') or 'not installed'}: its wheels need a torch built for their CUDA)",
                     torch_fix())
    found += f", torchaudio {audio['version']} (CUDA {audio['cuda'] or 'none'})"
    p = pins()
    outside = [f"{name} {probe.stages[name]['version']} is outside {p[name]}" for name in ("torch", "torchaudio")
               if name in p and not _satisfies(p[name], probe.stages[name]["version"])]
    if outside:
        return Check(TORCH, False, f"{found}; {'; '.join(outside)}", torch_fix())
    return Check(TORCH, True, found)


def check_ctc_decoder(probe: TorchProbe) -> Check:
    """torchaudio's flashlight-text lexicon decoder, which the 4-gram decode uses."""
    flashlight = _version("flashlight-text")
    if probe.reached("ctc_decoder"):
        return Check(DECODER, True, f"torchaudio.models.decoder.ctc_decoder, flashlight-text {flashlight}")
    if not probe.reached("torchaudio"):
        return Check(DECODER, False, "needs torchaudio (torch + torchaudio above)", torch_fix())
    return Check(DECODER, False, f"from torchaudio.models.decoder import ctc_decoder failed: {probe.error}",
                 _pip(pins().get("flashlight-text", "flashlight-text")) + " (or `make install`)")


def check_soundfile() -> Check:
    """soundfile and its libsndfile write and read back a tiny FLAC (the corpus format)."""
    fix = _pip(pins().get("soundfile", "soundfile")) + " (its wheels bundle libsndfile; else: apt-get install " \
        "libsndfile1)"
    try:
        import numpy as np
        import soundfile

        with tempfile.TemporaryDirectory(prefix="asrkit-doctor-") as tmp:
            path = Path(tmp) / "tone.flac"
            written = (np.sin(np.arange(1600) / 5) * 8000).astype(np.int16)
            soundfile.write(path, written, 16000, subtype="PCM_16")
            read, rate = soundfile.read(path, dtype="int16")
        if rate != 16000 or not np.array_equal(read, written):
            return Check(SOUNDFILE, False, "a FLAC written and read back differs", fix)
    except Exception as e:  # ImportError, OSError (no libsndfile), soundfile.LibsndfileError
        return Check(SOUNDFILE, False, f"{type(e).__name__}: {e}", fix)
    return Check(SOUNDFILE, True, f"soundfile {soundfile.__version__}, libsndfile {soundfile.__libsndfile_version__}; "
                 "FLAC write + read ok")


def check_espeak() -> Check:
    """espeak-ng, loaded in process from ``espeakng-loader``, speaks one word."""
    fix = _pip(pins().get("espeakng-loader", "espeakng-loader")) + " (it bundles libespeak-ng and its voices)"
    try:
        from .data.synth.espeak import Voice, engine

        speech = engine().synthesize("yes", Voice("en-us", "m3", 175, 50))
    except Exception as e:  # ImportError, OSError (the library), RuntimeError (its data), ValueError (no voice)
        return Check(ESPEAK, False, f"{type(e).__name__}: {e}", fix)
    if len(speech.samples) == 0:
        return Check(ESPEAK, False, "espeak-ng synthesised no audio for 'yes'", fix)
    return Check(ESPEAK, True, f"espeakng-loader {_version('espeakng-loader')}; 'yes' is "
                 f"{len(speech.samples) / speech.sample_rate:.2f} s at {speech.sample_rate} Hz")


def _check_engine(name: str) -> Check:
    from .data.synth.engines import DEBIAN_PACKAGES, missing_engines

    packages = " ".join(DEBIAN_PACKAGES[name])
    fix = f"make engines (as root), or: sudo apt-get install {packages}"
    try:
        problem = missing_engines([name]).get(name)
    except Exception as e:
        return Check(name, False, f"{type(e).__name__}: {e}", fix)
    if problem:
        return Check(name, False, problem, fix)
    return Check(name, True, f"usable, with the voices the corpus uses ({packages})")


def check_flite() -> Check:
    return _check_engine(FLITE)


def check_festival() -> Check:
    return _check_engine(FESTIVAL)


def check_lm_tools() -> Check:
    """KenLM's lmplz and build_binary, found where ``asrkit lm train`` finds them."""
    fix = "make tools (builds tools/bin/lmplz and build_binary: scripts/build_kenlm.sh), or set ASRKIT_TOOLS to " \
          "a directory whose bin/ holds them"
    try:
        from .decode.lm import find_lm_tools

        lmplz, build_binary = find_lm_tools()
    except Exception as e:  # LMToolsMissing, or an import that failed
        return Check(LM_TOOLS, False, str(e).split(";")[0], fix)
    return Check(LM_TOOLS, True, f"{lmplz}, {build_binary}")


def check_kenlm() -> Check:
    """The ``kenlm`` Python module, which queries the 4-gram (``asrkit lm eval``)."""
    try:
        import kenlm  # noqa: F401
    except Exception as e:
        return Check(KENLM, False, f"import kenlm failed: {type(e).__name__}: {e}",
                     _pip(pins().get("kenlm", "kenlm")) + " (or `make install`; it builds with a C++ compiler)")
    return Check(KENLM, True, f"kenlm {_version('kenlm') or '(version unknown)'}")


def check_sclite() -> Check:
    """NIST sclite (Debian sctk; off PATH in /usr/lib/sctk/bin): only the scoring parity test runs it."""
    path = shutil.which("sclite") or shutil.which("sclite", path="/usr/lib/sctk/bin")
    if path is None:
        return Check(SCLITE, False, "not on PATH nor in /usr/lib/sctk/bin (only the sclite parity test needs it)",
                     "make sclite (as root), or: sudo apt-get install sctk")
    return Check(SCLITE, True, path)


def check_cpu_bf16() -> Check:
    try:
        from .precision import cpu_has_native_bf16
    except Exception as e:
        return Check(CPU_BF16, True, f"unknown: {type(e).__name__}: {e}", informational=True)
    if cpu_has_native_bf16():
        return Check(CPU_BF16, True, "native (AVX-512 BF16 or AMX): precision auto trains in bf16 on the CPU",
                     informational=True)
    return Check(CPU_BF16, True, "not native (no AVX-512 BF16 or AMX): precision auto picks fp32 on the CPU",
                 informational=True)


def check_gpus() -> Check:
    try:
        import torch

        count = torch.cuda.device_count()
        names = [torch.cuda.get_device_name(i) for i in range(count)]
    except Exception as e:
        return Check(GPUS, True, f"unknown: {type(e).__name__}: {e}", informational=True)
    if not count:
        build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "a CPU build of torch"
        return Check(GPUS, True, f"none ({build}): training and decoding run on the CPU", informational=True)
    bf16 = "bf16" if torch.cuda.is_bf16_supported() else "fp32 (no bf16)"
    return Check(GPUS, True, f"{count}: {', '.join(names)}; precision auto picks {bf16} on them", informational=True)


def _existing(path: Path) -> Path:
    """``path``, or its nearest ancestor that exists."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(exp_dir: str | Path, min_free_gb: float = MIN_FREE_GB) -> Check:
    where = _existing(Path(exp_dir))
    free = shutil.disk_usage(where).free / 1e9
    detail = f"{free:.1f} GB free on the disk of {where} (needs {min_free_gb:g})"
    if free < min_free_gb:
        return Check(DISK, False, detail, f"free {min_free_gb - free:.1f} GB there, or pass --exp-dir on a disk with "
                     "more room (--min-free-gb changes the threshold)")
    return Check(DISK, True, detail)


def check_exp_dir(exp_dir: str | Path) -> Check:
    """A file can be created and deleted in ``exp_dir`` (in its nearest existing ancestor when it is not made
    yet: the commands create it)."""
    exp_dir = Path(exp_dir)
    where = _existing(exp_dir)
    fix = f"make {where} writable (chmod u+w, or chown it to {_user()}), or pass --exp-dir a directory you can write"
    if not where.is_dir():
        return Check(EXP_DIR, False, f"{where} is not a directory", "pass --exp-dir a directory you can write")
    try:
        fd, name = tempfile.mkstemp(prefix=".asrkit-doctor-", dir=where)
        os.close(fd)
        os.unlink(name)
    except OSError as e:
        return Check(EXP_DIR, False, f"cannot create a file in {where}: {e.strerror or e}", fix)
    made = "" if where == exp_dir.absolute() else f" ({exp_dir} will be created there)"
    return Check(EXP_DIR, True, f"{where} is writable{made}")


def _user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:
        return "you"


def run_checks(purpose: str = "demo", exp_dir: str | Path = ".", min_free_gb: float = MIN_FREE_GB) -> list[Check]:
    """Every check, in the table's order, ``required`` as ``purpose`` (a key of :data:`PURPOSES`) needs."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose {purpose!r}: one of {', '.join(PURPOSES)}")
    probe = probe_torch()
    checks = [check_python(), check_torch(probe), check_soundfile(), check_espeak(), check_flite(), check_festival(),
              check_lm_tools(), check_kenlm(), check_ctc_decoder(probe), check_sclite(), check_cpu_bf16(),
              check_gpus(), check_disk(exp_dir, min_free_gb), check_exp_dir(exp_dir)]
    return [replace(c, required=not c.informational and c.name in REQUIRED[purpose]) for c in checks]


def verdict(checks: Sequence[Check], purpose: str) -> tuple[bool, str]:
    """(ready, one line saying so): ready when every required check passed."""
    failed = [c.name for c in checks if c.required and not c.ok]
    missing = [c.name for c in checks if not c.required and not c.ok and not c.informational]
    if failed:
        return False, (f"not ready for {PURPOSES[purpose]}: {', '.join(failed)} failed; run the fix in each FAIL "
                       "row, then `asrkit doctor` again")
    also = f" ({', '.join(missing)} missing: optional here)" if missing else ""
    return True, f"ready for {PURPOSES[purpose]}: every required check passed{also}"
