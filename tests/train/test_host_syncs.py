"""The training loop's hot path does not make the host wait for the device.

On CUDA every conversion of a device tensor to a Python value (``float()``, ``.item()``, ``.tolist()``, ``bool()``
in an ``if``) waits for the device. CPU tensors cannot tell us whether that happened, so these tests count the
conversions themselves, wherever they happen: none per micro-batch, one per update."""
import io
import math
import re

import torch
import yaml
from rich.console import Console

from asrkit.train.finetune import load_finetune_config, run_finetune
from asrkit.train.loop import Trainer
from asrkit.train.stats import Stats
from asrkit.train.pretrain import PretrainTask, load_pretrain_config, run_pretrain

from .conftest import MICRO_MODEL

CONVERSIONS = ("__float__", "__int__", "__bool__", "__index__", "item", "tolist", "numpy")


class ConversionCounter:
    """Counts tensor -> Python conversions while ``active`` and not ``paused``."""

    def __init__(self, monkeypatch):
        self.active, self.paused, self.count = False, 0, 0
        for name in CONVERSIONS:
            original = getattr(torch.Tensor, name)
            monkeypatch.setattr(torch.Tensor, name, self._counting(original))

    def _counting(self, original):
        def wrapper(tensor, *args, **kwargs):
            if self.active and not self.paused:
                self.count += 1
            return original(tensor, *args, **kwargs)

        return wrapper

    def measure(self, fn, *args, **kwargs):
        """``(fn's result, conversions it made)``."""
        before, self.active = self.count, True
        try:
            result = fn(*args, **kwargs)
        finally:
            self.active = False
        return result, self.count - before

    def pausing(self, fn):
        """``fn`` with its own conversions not counted."""

        def wrapper(*args, **kwargs):
            self.paused += 1
            try:
                return fn(*args, **kwargs)
            finally:
                self.paused -= 1

        return wrapper


def count_loop_conversions(monkeypatch, run):
    """Per micro-batch (``_micro_step``) and per update (``_update``), the conversions the loop, the task's loss
    and the objective make. Not counted: the model's forward pass (masking draws its spans on the host) and the
    optimizer's step (AdamW's step counter is a host tensor, not a device one)."""
    counter = ConversionCounter(monkeypatch)
    micro, updates = [], []
    micro_step, update = Trainer._micro_step, Trainer._update

    def counted_micro_step(self, batch, last):
        forward = self.model.forward
        self.model.forward = counter.pausing(forward)
        try:
            result, n = counter.measure(micro_step, self, batch, last)
        finally:
            del self.model.forward
        micro.append(n)
        return result

    def counted_update(self, window):
        result, n = counter.measure(update, self, window)
        updates.append(n)
        return result

    monkeypatch.setattr(torch.optim.AdamW, "step", counter.pausing(torch.optim.AdamW.step))
    monkeypatch.setattr(Trainer, "_micro_step", counted_micro_step)
    monkeypatch.setattr(Trainer, "_update", counted_update)
    run()
    return micro, updates


def test_pretraining_converts_nothing_per_micro_batch_and_one_vector_per_update(micro_config, tmp_path,
                                                                                 monkeypatch):
    cfg = load_pretrain_config(micro_config, ["optim.max_updates=3", "optim.clip_norm=1.0"])
    micro, updates = count_loop_conversions(monkeypatch, lambda: run_pretrain(cfg, tmp_path / "exp"))
    assert len(micro) == 6 and len(updates) == 3
    assert micro == [0] * 6 and updates == [1] * 3


def test_ctc_finetuning_converts_nothing_per_micro_batch_and_one_vector_per_update(tone_data, tmp_path,
                                                                                    monkeypatch):
    train, valid = tone_data
    arch = tmp_path / "micro.yaml"
    arch.write_text(yaml.safe_dump(MICRO_MODEL))
    path = tmp_path / "ft.yaml"
    path.write_text(yaml.safe_dump({
        "model": {"arch": str(arch), "freeze_finetune_updates": 1, "mask_channel_length": 4, "mask_prob": 0.3,
                  "mask_length": 3},
        "data": {"train_manifest": str(train), "valid_manifest": str(valid)},
        "optim": {"lr": 1e-3, "max_updates": 3, "update_freq": 2},
        "trainer": {"max_tokens": 40000, "log_every": 1, "valid_every": 3, "save_every": 3, "tensorboard": False}}))
    cfg = load_finetune_config(path)
    micro, updates = count_loop_conversions(monkeypatch, lambda: run_finetune(cfg, tmp_path / "ft"))
    assert micro == [0] * 6 and updates == [1] * 3


def test_stats_stay_tensors_until_read_and_sum_as_python_floats_did(monkeypatch):
    """``Stats`` adds tensors on their device in float64: the means are the old ``float(value) * weight``
    sums bit for bit, and nothing is read until ``means()`` (or ``state()``, for a checkpoint)."""
    gen = torch.Generator().manual_seed(0)
    batches = [({"a": torch.rand((), generator=gen), "b": torch.rand((), generator=gen).to(torch.bfloat16),
                 "t": 0.5 + i, "w": (float(i), 3)}, 7 + i) for i in range(6)]

    def reference(windows):  # the loop before: Python floats, window by window, then merged
        sums, weights = {}, {}
        for window in windows:
            ws, ww = {}, {}
            for stats, n in window:
                for k, v in stats.items():
                    value, w = v if isinstance(v, tuple) else (v, n)
                    ws[k] = ws.get(k, 0.0) + float(value) * w
                    ww[k] = ww.get(k, 0.0) + w
            for k, v in ws.items():
                sums[k] = sums.get(k, 0.0) + v
                weights[k] = weights.get(k, 0.0) + ww[k]
        return {k: v / max(weights[k], 1e-12) for k, v in sums.items()}

    windows = [batches[:2], batches[2:4], batches[4:]]
    expected = reference(windows)
    counter = ConversionCounter(monkeypatch)

    def accumulate(restore_after=None):
        total = Stats()
        for i, window in enumerate(windows):
            stats = Stats()
            for j, (s, n) in enumerate(window):
                stats.add(s, n)
                if (i, j) == restore_after:  # a checkpoint mid-window, then a resume
                    state = stats.state()
                    stats = Stats.from_state(state)
            total.merge(stats)
        return total

    total, conversions = counter.measure(accumulate)
    assert conversions == 0  # the tuple's float weight and the float stat are Python numbers already
    means, conversions = counter.measure(total.means)
    assert conversions == 1  # one vector for the tensor stats
    assert list(means) == ["a", "b", "t", "w"] and means == expected  # exactly
    assert accumulate(restore_after=(1, 0)).means() == expected


def test_a_non_finite_micro_batch_skips_its_update_only_and_is_named(micro_config, tmp_path, monkeypatch):
    """One micro-batch's NaN loss: that update is skipped with that micro-batch's utterances named, the others train."""
    original = PretrainTask.loss
    seen = {"n": 0}

    def poisoned(self, model, batch, generator=None):
        loss, n, stats = original(self, model, batch, generator)
        if model.training:
            seen["n"] += 1
            if seen["n"] == 3:  # the first of update 2's two micro-batches
                seen["ids"] = list(batch["ids"])
                return loss * math.nan, n, stats
        return loss, n, stats

    monkeypatch.setattr(PretrainTask, "loss", poisoned)
    cfg = load_pretrain_config(micro_config, ["optim.max_updates=3", "trainer.valid_every=100"])
    console = Console(file=io.StringIO(), width=500)
    row = run_pretrain(cfg, tmp_path / "exp", console=console)
    skipped = re.findall(r"skipped update .*?(?=\s{2,}|$)", console.file.getvalue(), re.M)
    assert skipped == [
        f"skipped update 2: non-finite loss/gradients; utterances: {', '.join(seen['ids'])}"]
    assert row["update"] == 3 and math.isfinite(row["loss"]) and seen["n"] == 8  # 4 windows of 2 for 3 updates

