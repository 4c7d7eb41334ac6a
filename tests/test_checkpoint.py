"""The checkpoint format: crash-safe writing, safe reading (weights_only; a pickled callable is refused and
never run), the typed description, and checkpoints written by asrkit at e44333c loading everywhere."""
import errno
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from asrkit.benchmark import BenchmarkOptions, benchmark, load_benchmark_model
from asrkit.checkpoint import (LAST, CheckpointError, atomic_save, checkpoint_header, encoder_weights, load_checkpoint,
                               load_encoder, load_fairseq_checkpoint, load_model, numbered_checkpoints,
                               read_checkpoint, rng_state, save_checkpoint, set_rng_state, write_imported_checkpoint)
from asrkit.config import from_dict
from asrkit.decode.run import DecodeOptions, decode_manifest
from asrkit.models import load_wav2vec2_config
from asrkit.testing import make_tone_manifest
from asrkit.train.finetune import FinetuneDataConfig, FinetuneModelConfig, build_ctc_model
from asrkit.train.pretrain import PretrainConfig, load_pretrain_config, run_pretrain

from .train.conftest import MICRO_MODEL

WRITER = textwrap.dedent("""
    import sys, torch
    from asrkit.checkpoint import save_checkpoint
    big = torch.zeros(64 * 1024 * 1024 // 4)  # 64 MB: the kill lands mid-write
    step = 0
    while True:
        step += 1
        big.fill_(step)
        save_checkpoint({"step": step, "big": big}, sys.argv[1], step, keep_last=2)
        print(step, flush=True)
""")


def test_sigkill_during_save_leaves_the_previous_checkpoint_loadable(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert int(proc.stdout.readline()) == 1  # one complete checkpoint exists
        deadline = time.time() + 60
        while not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):  # a save is under way
            assert time.time() < deadline
            time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    state = load_checkpoint(tmp_path / LAST)
    assert state["step"] >= 1 and bool((state["big"] == state["step"]).all())
    newest = numbered_checkpoints(tmp_path)[-1]
    assert load_checkpoint(newest)["step"] == state["step"]


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "checkpoint_1.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="checkpoint_1.pt: cannot load checkpoint: it is corrupt") as e:
        load_checkpoint(tmp_path / "checkpoint_1.pt")
    assert "\n" not in str(e.value)


def test_best_survives_pruning_through_its_hard_link(tmp_path):
    save_checkpoint({"step": 1}, tmp_path, 1, is_best=True, keep_last=1)
    for step in (2, 3):
        save_checkpoint({"step": step}, tmp_path, step, keep_last=1)
    assert [p.name for p in numbered_checkpoints(tmp_path)] == ["checkpoint_3.pt"]
    assert torch.load(tmp_path / "checkpoint_best.pt")["step"] == 1
    assert torch.load(tmp_path / LAST)["step"] == 3


# ----------------------------------------------------------------------------------------------------
# checkpoints written by asrkit at e44333c (tests/fixtures/checkpoints/README.md)

OLD = Path(__file__).parent / "fixtures" / "checkpoints"
EXPECTED = json.loads((OLD / "expected.json").read_text())
OLD_FILES = ["pretrain_e44333c.pt", "ctc_e44333c.pt", "imported_hf_e44333c.pt"]


def _probe():
    return torch.randn(1, 4000, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def old_data(tmp_path_factory):
    """The tone manifests the old checkpoints were trained on (make_tone_manifest is deterministic)."""
    d = tmp_path_factory.mktemp("old_data")
    return make_tone_manifest(d, 4, seed=0, name="train.tsv"), make_tone_manifest(d, 2, seed=1, name="valid.tsv")


def _old_run_config(old_data) -> PretrainConfig:
    """The config of the run that wrote the old pretrain checkpoint, on this machine's copy of its data."""
    task = read_checkpoint(OLD / "pretrain_e44333c.pt").task
    task["data"] = {**task["data"], "train_manifest": str(old_data[0]), "valid_manifest": str(old_data[1])}
    return from_dict(PretrainConfig, task)


@pytest.fixture(scope="module")
def micro_pretrain(old_data, tmp_path_factory):
    """A run of today's code: two updates of a micro model on normalised audio."""
    exp = tmp_path_factory.mktemp("micro_pretrain")
    overrides = [f"model.{k}={v!r}" if isinstance(v, str) else f"model.{k}={v}" for k, v in MICRO_MODEL.items()]
    cfg = load_pretrain_config(None, [*overrides, f"data.train_manifest={old_data[0]}",
                                      f"data.valid_manifest={old_data[1]}", "data.normalize=true",
                                      "data.max_sample_size=16000", "data.min_sample_size=4000", "optim.max_updates=2",
                                      "trainer.max_tokens=40000", "trainer.tensorboard=false", "trainer.save_every=1",
                                      "trainer.valid_every=2", "trainer.num_workers=0"])
    run_pretrain(cfg, exp)
    return exp


@pytest.mark.parametrize("name", OLD_FILES)
def test_old_checkpoints_give_the_encoder_outputs_the_old_code_computed(name):
    model, ckpt = load_encoder(OLD / name)
    expected = EXPECTED[name]
    with torch.no_grad():
        h = model.eval().extract_features(_probe()).x
    assert torch.allclose(h[0, 0, :4], torch.tensor(expected["encoder_head"]), atol=1e-5)
    assert ckpt.model_config.normalize == expected["normalize"] and ckpt.model_config.sample_rate == 16000
    assert ckpt.kind == ("ctc" if name.startswith("ctc") else "pretrain")
    assert (ckpt.trainer is None) == name.startswith("imported")


def test_old_ctc_checkpoint_loads_whole_and_decodes(old_data, tmp_path):
    model, ckpt = load_model(OLD / "ctc_e44333c.pt", kinds=("ctc",))
    expected = EXPECTED["ctc_e44333c.pt"]
    with torch.no_grad():
        log_probs, _ = model(_probe())
    assert len(ckpt.tokens) == expected["tokens"] and ckpt.tokens[0] == "<blank>"
    assert torch.allclose(log_probs[0, 0, :4], torch.tensor(expected["log_probs_head"]), atol=1e-5)
    assert model.encoder.cfg.normalize  # the run's data config said normalize: true
    result = decode_manifest(OLD / "ctc_e44333c.pt", old_data[1], tmp_path / "dec", DecodeOptions(precision="fp32"))
    assert result["utterances"] == 2 and len((tmp_path / "dec" / "hyp.trn").read_text().splitlines()) == 2


@pytest.mark.parametrize("name", OLD_FILES)
def test_fine_tuning_starts_from_old_checkpoints(name):
    init = FinetuneModelConfig(init_checkpoint=str(OLD / name), mask_channel_prob=0.0, freeze_finetune_updates=0)
    model, origin = build_ctc_model(init, vocab_size=29, data=FinetuneDataConfig(normalize=True))
    weights = encoder_weights(read_checkpoint(OLD / name))
    assert str(OLD / name) in origin and model.encoder.cfg.normalize and model.encoder.cfg.mask_channel_prob == 0.0
    for k, v in model.encoder.state_dict().items():
        assert torch.equal(v, weights[k]), k


@pytest.mark.parametrize("name", OLD_FILES)
def test_benchmark_times_old_checkpoints(name, old_data):
    model, model_name = load_benchmark_model(checkpoint=OLD / name)
    assert model_name == name.removesuffix(".pt") and model.cfg.normalize == EXPECTED[name]["normalize"]
    (row,) = benchmark(old_data[1], checkpoint=OLD / name,
                       opts=BenchmarkOptions(("fp32",), warmup=0, pretrain_batch=2, pretrain_steps=1))
    assert row["utterances"] == 2 and row["pretrain_audio_s_per_s"] > 0


def test_an_old_run_interrupted_mid_update_resumes(old_data, tmp_path):
    """The old pretrain checkpoint holds an accumulation window (pickled statistics, numpy's RNG as an array)."""
    old = read_checkpoint(OLD / "pretrain_e44333c.pt")
    assert old.num_updates == 1 and old.trainer["accum"]["micro"] == 1
    run_pretrain(_old_run_config(old_data), tmp_path / "exp", resume=OLD / "pretrain_e44333c.pt",
                 allow_changes=("data.train_manifest", "data.valid_manifest"))  # the same data at another path
    new = read_checkpoint(tmp_path / "exp" / LAST)
    assert new.num_updates == 2 and new.trainer["accum"] is None
    assert torch.load(tmp_path / "exp" / LAST, weights_only=True)["format"] == "asrkit"


# ----------------------------------------------------------------------------------------------------
# the format of today


def test_new_checkpoints_hold_only_plain_data_and_describe_the_model(micro_pretrain):
    exp = micro_pretrain
    for path in (exp / LAST, exp / "checkpoint_2.pt"):
        assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
        raw = torch.load(path, weights_only=True)  # torch's own allowlist, nothing added
        assert raw["format"] == "asrkit" and raw["version"] == 2 and raw["kind"] == "pretrain"
        assert raw["model_config"]["normalize"] is True and raw["model_config"]["sample_rate"] == 16000
        assert raw["task"]["data"]["normalize"] is True and set(raw["trainer"]["rng"]) >= {"python", "numpy", "torch"}
    assert yaml.safe_load((exp / "config.yaml").read_text())["model"]["normalize"] is True


def test_the_numpy_rng_round_trips_through_a_checkpoint(tmp_path):
    np.random.seed(3)
    np.random.standard_normal()  # leaves a cached gaussian in the state
    atomic_save({"rng": rng_state()}, tmp_path / "rng.pt")
    expected = np.random.standard_normal(5)
    np.random.seed(0)
    set_rng_state(load_checkpoint(tmp_path / "rng.pt")["rng"])
    assert np.array_equal(np.random.standard_normal(5), expected)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


@pytest.mark.parametrize("payload", ["reduce", "function"])
def test_a_checkpoint_holding_a_pickled_callable_is_refused_without_running_it(payload, tmp_path, old_data):
    marker = tmp_path / "marker"
    evil = tmp_path / "evil.pt"
    inside = _RunsCode(marker) if payload == "reduce" else os.system
    cfg = load_wav2vec2_config("tiny")
    torch.save({**checkpoint_header("ctc", cfg, tokens=["<blank>", "A"]), "model": {}, "x": inside}, evil)
    finetune = FinetuneModelConfig(init_checkpoint=str(evil))
    calls = [lambda: load_checkpoint(evil), lambda: read_checkpoint(evil), lambda: load_encoder(evil),
             lambda: load_model(evil), lambda: build_ctc_model(finetune, 29),
             lambda: load_benchmark_model(checkpoint=evil),
             lambda: decode_manifest(evil, old_data[1], tmp_path / "dec", DecodeOptions()),
             lambda: run_pretrain(_old_run_config(old_data), tmp_path / "exp", resume=evil),
             lambda: write_imported_checkpoint(evil, "fairseq", tmp_path / "imported.pt"),
             lambda: load_fairseq_checkpoint(evil)]
    for call in calls:
        with pytest.raises(CheckpointError) as e:
            call()
        message = str(e.value)
        assert re.match(f"{re.escape(str(evil))}: refused to (load|unpickle)", message) and "\n" not in message
        assert ("exec" if payload == "reduce" else "system") in message
    assert not marker.exists() and not (tmp_path / "imported.pt").exists()


def _fairseq_file(path, **extra) -> Path:
    """A fairseq checkpoint of the ``args`` era (options in an ``argparse.Namespace``, numpy numbers in
    ``extra_state``) of a tiny transformers model, plus ``extra`` entries."""
    import argparse

    import transformers

    from .models.test_wav2vec2_parity import _fairseq_checkpoint, _hf_config

    torch.manual_seed(0)
    checkpoint = _fairseq_checkpoint(transformers.Wav2Vec2ForPreTraining(_hf_config(stable=True)))
    torch.save({"args": argparse.Namespace(**checkpoint["cfg"]["model"]), "model": checkpoint["model"],
                "extra_state": {"val_loss": np.float64(2.5), "epoch": np.int64(3)}, **extra}, path)
    return path


def test_a_fairseq_file_is_read_safely_and_unpickled_fully_only_when_trusted(tmp_path):
    plain = _fairseq_file(tmp_path / "fairseq.pt")  # Namespace and numpy numbers: on the safe list
    model, _ = write_imported_checkpoint(plain, "fairseq", tmp_path / "plain_out.pt")
    assert model.cfg.encoder_layers == 2 and read_checkpoint(tmp_path / "plain_out.pt").kind == "pretrain"
    marker = tmp_path / "marker"
    evil = _fairseq_file(tmp_path / "evil.pt", x=_RunsCode(marker))
    with pytest.raises(CheckpointError, match=r"evil.pt: refused to unpickle: it holds Python objects "
                                              r"\(builtins.exec\) that run code when unpickled; only pass "
                                              r"--trust-checkpoint for a file from a source you trust"):
        write_imported_checkpoint(evil, "fairseq", tmp_path / "evil_out.pt")
    assert not marker.exists() and not (tmp_path / "evil_out.pt").exists()
    write_imported_checkpoint(evil, "fairseq", tmp_path / "evil_out.pt", trust=True)  # the user said so
    assert marker.exists() and read_checkpoint(tmp_path / "evil_out.pt").kind == "pretrain"


def test_a_trusted_fairseq_file_needing_a_missing_package_is_a_clear_error(tmp_path, monkeypatch):
    """As a hydra-era fairseq file needs omegaconf, which asrkit does not install."""
    import types

    package, module = types.ModuleType("no_such_package_xyz"), types.ModuleType("no_such_package_xyz.config")
    module.DictConfig = type("DictConfig", (), {"__module__": "no_such_package_xyz.config"})
    with monkeypatch.context() as m:  # the package exists while the file is written, not when it is read
        m.setitem(sys.modules, "no_such_package_xyz", package)
        m.setitem(sys.modules, "no_such_package_xyz.config", module)
        torch.save({"cfg": module.DictConfig(), "model": {}}, tmp_path / "hydra.pt")
    with pytest.raises(CheckpointError, match=r"hydra.pt: refused to unpickle: .*\(no_such_package_xyz"):
        load_fairseq_checkpoint(tmp_path / "hydra.pt")
    with pytest.raises(CheckpointError, match="hydra.pt: unpickling it needs the Python package "
                                              "'no_such_package_xyz', which is not installed"):
        load_fairseq_checkpoint(tmp_path / "hydra.pt", trust=True)


# ----------------------------------------------------------------------------------------------------
# a save that fails


def _failing_save(error: str, saves_before: int = 0):
    """A ``torch.save`` that works ``saves_before`` times, then writes part of the file and fails as a full
    disk does: an ``OSError``, or (``error="torch"``) the ``RuntimeError`` torch's zip writer raises from it."""
    real_save, calls = torch.save, []

    def save(obj, f, *args, **kwargs):
        calls.append(f)
        if len(calls) <= saves_before:
            return real_save(obj, f, *args, **kwargs)
        f.write(b"PK\x03\x04 partial")
        full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        if error == "oserror":
            raise full
        try:
            raise full
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")  # noqa: B904

    return save


@pytest.mark.parametrize("error", ["oserror", "torch"])
def test_a_full_disk_on_save_is_one_error_keeping_the_previous_checkpoint(error, tmp_path, monkeypatch):
    monkeypatch.setattr(torch, "save", _failing_save(error, saves_before=1))
    save_checkpoint({"step": 1}, tmp_path, 1)
    with pytest.raises(CheckpointError) as e:
        save_checkpoint({"step": 2}, tmp_path, 2)
    message = str(e.value)
    assert "\n" not in message and message.startswith(f"{tmp_path / 'checkpoint_2.pt'}: could not be written "
                                                      "(No space left on device, ")
    assert message.endswith(f"free space on {tmp_path} and rerun the same command to resume (the previous "
                            f"checkpoint {tmp_path / LAST} is intact)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint_1.pt", LAST]  # no temp file
    assert load_checkpoint(tmp_path / LAST)["step"] == 1


def test_a_full_disk_on_the_first_save_says_no_checkpoint_was_written(tmp_path, monkeypatch):
    monkeypatch.setattr(torch, "save", _failing_save("oserror"))
    with pytest.raises(CheckpointError, match=r"checkpoint_1.pt: could not be written .* \(no earlier checkpoint "
                                              r"was written\)$"):
        save_checkpoint({"step": 1}, tmp_path / "exp", 1)
    assert list((tmp_path / "exp").iterdir()) == []


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MB tmpfs: a disk that really fills up (needs root and ``mount -t tmpfs``)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the in-process ENOSPC tests cover the logic")
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True,
                       capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"mount -t tmpfs does not work here ({e}); the in-process ENOSPC tests cover the logic")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False, timeout=30)


def test_a_really_full_disk_on_save_is_one_error_keeping_the_previous_checkpoint(small_tmpfs):
    exp = small_tmpfs / "exp"
    save_checkpoint({"step": 1, "w": torch.zeros(10)}, exp, 1)
    with pytest.raises(CheckpointError, match=r"checkpoint_2.pt: could not be written \(No space left on device, "
                                              r"0 MB free\); .* \(the previous checkpoint .* is intact\)$"):
        save_checkpoint({"step": 2, "w": torch.zeros(1_000_000)}, exp, 2)  # 4 MB
    assert sorted(p.name for p in exp.iterdir()) == ["checkpoint_1.pt", LAST]
    assert load_checkpoint(exp / LAST)["step"] == 1


def test_bad_checkpoints_are_one_line_errors_naming_the_file_and_what_to_do(micro_pretrain, tmp_path, old_data):
    cases = {tmp_path / "missing.pt": "checkpoint not found", tmp_path: "is a directory"}
    plain = tmp_path / "pytorch_model.bin"  # a bare state dict, as transformers writes one
    torch.save({"w": torch.zeros(2)}, plain)
    cases[plain] = "not an asrkit checkpoint .* `asrkit import-checkpoint`"
    for path, message in cases.items():
        with pytest.raises(CheckpointError, match=f"^{re.escape(str(path))}: {message}"):
            load_encoder(path)
    with pytest.raises(CheckpointError, match="pre-trained encoder .* but this needs a fine-tuned CTC model"):
        decode_manifest(micro_pretrain / LAST, old_data[1], tmp_path / "dec", DecodeOptions())
    with pytest.raises(CheckpointError, match="holds no trainer state"):
        run_pretrain(_old_run_config(old_data), tmp_path / "x", resume=OLD / "imported_hf_e44333c.pt")


def test_imported_weights_become_a_pretrain_checkpoint(tmp_path):
    import transformers

    torch.manual_seed(0)
    hf_cfg = transformers.Wav2Vec2Config(hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                         intermediate_size=16, conv_dim=(8,) * 7, num_conv_pos_embeddings=4,
                                         num_conv_pos_embedding_groups=2, codevector_dim=4, proj_codevector_dim=4,
                                         num_codevectors_per_group=4, num_codevector_groups=2)
    hf = transformers.Wav2Vec2Model(hf_cfg).eval()  # no pre-training heads
    hf.save_pretrained(tmp_path / "hf")
    _, missing = write_imported_checkpoint(tmp_path / "hf", "hf", tmp_path / "imported.pt")
    assert missing and all(k.startswith(("quantizer.", "final_proj.")) for k in missing)
    model, ckpt = load_encoder(tmp_path / "imported.pt")
    assert ckpt.kind == "pretrain" and ckpt.task["imported_from"] == {"kind": "hf", "source": str(tmp_path / "hf")}
    with torch.no_grad():
        assert torch.allclose(model.eval().extract_features(_probe()).x, hf(_probe()).last_hidden_state, atol=1e-5)


def test_an_asrkit_checkpoint_given_as_fairseq_s_is_recognised_by_the_safe_loader(tmp_path):
    for name in ("pretrain_e44333c.pt", "imported_hf_e44333c.pt"):
        with pytest.raises(CheckpointError, match=f"{name}: already an asrkit checkpoint"):
            write_imported_checkpoint(OLD / name, "fairseq", tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()
