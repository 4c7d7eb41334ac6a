"""precision: auto picks bf16 only where the hardware has native bf16 arithmetic."""
import pytest
import torch

from asrkit import precision as prec


def test_explicit_precisions_pass_through():
    for p in ("fp32", "bf16", "fp16"):
        assert prec.resolve_precision(p, "cpu") == p


def test_auto_on_cpu_follows_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(prec, "cpu_has_native_bf16", lambda: True)
    assert prec.resolve_precision("auto", "cpu") == "bf16"
    monkeypatch.setattr(prec, "cpu_has_native_bf16", lambda: False)
    assert prec.resolve_precision("auto", torch.device("cpu")) == "fp32"


def test_cpu_flags_are_read_from_cpuinfo(tmp_path, monkeypatch):
    info = tmp_path / "cpuinfo"
    real_path = prec.Path

    def fake_path(p):
        return info if p == "/proc/cpuinfo" else real_path(p)

    monkeypatch.setattr(prec, "Path", fake_path)
    for flags, expected in (("fpu avx512f avx512_bf16 amx_tile", True), ("fpu avx2 amx_bf16", True),
                            ("fpu avx512f avx512bw", False)):
        info.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        prec.cpu_has_native_bf16.cache_clear()
        assert prec.cpu_has_native_bf16() is expected
    prec.cpu_has_native_bf16.cache_clear()


def test_unknown_precision_is_an_error():
    with pytest.raises(ValueError, match="fp8"):
        prec.resolve_precision("fp8", "cpu")
    with pytest.raises(ValueError, match="resolved first"):
        prec.autocast("auto", "cpu")


def test_autocast_contexts():
    x = torch.randn(4, 4)
    with prec.autocast("fp32", "cpu"):
        assert (x @ x).dtype == torch.float32
    with prec.autocast("bf16", "cpu"):
        assert (x @ x).dtype == torch.bfloat16
