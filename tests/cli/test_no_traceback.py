"""Bad inputs reach the user as one line naming the file, never as a traceback: each runs through the CLI
in-process with the top-level handler on (as a user runs it), and a pickled callable never runs."""
import errno
import os
import shutil

import pytest
import torch
import yaml

from asrkit.checkpoint import LAST, checkpoint_header
from asrkit.models import load_wav2vec2_config
from asrkit.testing import make_tone_manifest
from asrkit.testing.ctc import write_ctc_checkpoint

from ..test_checkpoint import _RunsCode
from ..train.conftest import MICRO_MODEL


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Tone manifests, a fine-tuning config (a micro model from scratch, a checkpoint per update), a CTC
    checkpoint, its first half, and random bytes."""
    root = tmp_path_factory.mktemp("bad_inputs")
    train, valid = make_tone_manifest(root, 4, name="train.tsv"), make_tone_manifest(root, 2, seed=1, name="valid.tsv")
    (root / "micro.yaml").write_text(yaml.safe_dump(MICRO_MODEL))
    config = {"model": {"arch": str(root / "micro.yaml")},
              "data": {"train_manifest": str(train), "valid_manifest": str(valid)},
              "optim": {"max_updates": 2},
              "trainer": {"max_tokens": 40000, "valid_every": 2, "save_every": 1, "num_workers": 0,
                          "tensorboard": False}}
    (root / "finetune.yaml").write_text(yaml.safe_dump(config))
    ctc = write_ctc_checkpoint(root / "ctc.pt", MICRO_MODEL)
    data = ctc.read_bytes()
    (root / "truncated.pt").write_bytes(data[:len(data) // 2])
    (root / "random.pt").write_bytes(os.urandom(4096))
    (root / "hf").mkdir()
    (root / "hf" / "config.json").write_text('{"model_type": "wav2vec2"}')
    (root / "hf" / "pytorch_model.bin").write_bytes(os.urandom(4096))
    return {"root": root, "valid": valid, "config": root / "finetune.yaml"}


def _finetune(f, exp, *more):
    return ["finetune", "--config", f["config"], "--exp-dir", exp, *more]


def _resume_from(f, evil, tmp_path):
    (tmp_path / "exp").mkdir()
    shutil.copy(evil, tmp_path / "exp" / LAST)
    return _finetune(f, tmp_path / "exp"), tmp_path / "exp" / LAST


def _full_disk(f, tmp_path, monkeypatch):
    """The second checkpoint of a fine-tuning run finds the disk full (ENOSPC where the file is written)."""
    real_save, saves = torch.save, []

    def save(obj, file, *args, **kwargs):
        saves.append(file)
        if len(saves) == 1:
            return real_save(obj, file, *args, **kwargs)
        file.write(b"PK\x03\x04 partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", save)
    return _finetune(f, tmp_path / "exp"), tmp_path / "exp" / "checkpoint_2.pt"


# case -> (arguments, the file the message must name); ``evil`` holds a pickled callable
CASES = {
    "missing --init checkpoint": lambda f, evil, tmp, mp: (
        _finetune(f, tmp / "exp", "--init", tmp / "missing.pt"), tmp / "missing.pt"),
    "corrupt --init checkpoint": lambda f, evil, tmp, mp: (
        _finetune(f, tmp / "exp", "--init", f["root"] / "random.pt"), f["root"] / "random.pt"),
    "truncated checkpoint to decode": lambda f, evil, tmp, mp: (
        ["decode", "--checkpoint", f["root"] / "truncated.pt", "--manifest", f["valid"], "--out-dir", tmp / "dec"],
        f["root"] / "truncated.pt"),
    "pickled callable as --init": lambda f, evil, tmp, mp: (_finetune(f, tmp / "exp", "--init", evil), evil),
    "pickled callable to decode": lambda f, evil, tmp, mp: (
        ["decode", "--checkpoint", evil, "--manifest", f["valid"], "--out-dir", tmp / "dec"], evil),
    "pickled callable to import": lambda f, evil, tmp, mp: (
        ["import-checkpoint", "--from", "fairseq", evil, tmp / "out.pt"], evil),
    "pickled callable to benchmark": lambda f, evil, tmp, mp: (
        ["benchmark", "--checkpoint", evil, "--manifest", f["valid"], "--precision", "fp32"], evil),
    "pickled callable to resume from": lambda f, evil, tmp, mp: _resume_from(f, evil, tmp),
    "import of random bytes as fairseq": lambda f, evil, tmp, mp: (
        ["import-checkpoint", "--from", "fairseq", f["root"] / "random.pt", tmp / "out.pt"], f["root"] / "random.pt"),
    "import of random bytes as hf": lambda f, evil, tmp, mp: (
        ["import-checkpoint", "--from", "hf", f["root"] / "hf", tmp / "out.pt"],
        f["root"] / "hf" / "pytorch_model.bin"),
    "full disk on save": lambda f, evil, tmp, mp: _full_disk(f, tmp, mp),
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_input_is_one_line_naming_the_file(case, files, run_cli_as_user, tmp_path, monkeypatch):
    marker = tmp_path / "marker"
    evil = tmp_path / "evil.pt"
    torch.save({**checkpoint_header("ctc", load_wav2vec2_config("tiny"), tokens=["<blank>", "A"]), "model": {},
                "x": _RunsCode(marker)}, evil)
    args, named = CASES[case](files, evil, tmp_path, monkeypatch)
    res = run_cli_as_user(*args)
    assert res.exit_code != 0, res.output
    assert "Traceback" not in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and f"error: {named}: " in errors[0], res.output
    assert "unexpected" not in errors[0]  # a message of its own, not the handler's
    assert not marker.exists()  # the pickled callable never ran
    if case == "full disk on save":
        assert "No space left on device" in errors[0] and f"{tmp_path / 'exp' / LAST} is intact" in errors[0]
        assert not [p for p in (tmp_path / "exp").iterdir() if p.name.endswith(".tmp")]
        assert torch.load(tmp_path / "exp" / LAST, weights_only=True)["trainer"]["num_updates"] == 1
