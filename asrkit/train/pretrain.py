"""wav2vec 2.0 self-supervised pre-training (§3, §4.2): the task and ``asrkit pretrain``.

L = L_m + alpha L_d (+ the feature L2 penalty for BASE on LibriSpeech); the best checkpoint
is the one with the lowest L_m on the validation set (§4.2).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml
from torch import nn

from ..checkpoint import checkpoint_header
from ..config import ConfigError, check_ranges, field_error, load_config, to_dict
from ..data.audio import SAMPLE_RATE
from ..data.augment import AugmentConfig
from ..data.datasets import SPEED_RANGE, AudioDataset, check_length_filters, check_speed_factors, training_manifest
from ..models.factory import wav2vec2_model
from ..models.wav2vec2 import Wav2Vec2Config, load_wav2vec2_config
from ..objectives.contrastive import wav2vec2_objective
from ..utf8 import read_utf8
from .experiment import open_experiment
from .loop import Trainer, TrainerConfig
from .optim import OptimConfig


@dataclass(frozen=True)
class PretrainDataConfig:
    train_manifest: str = "data/manifests/pretrain.tsv"
    valid_manifest: str = "data/manifests/dev.tsv"  # held-out set for L_m and checkpoint selection
    # sample_rate and normalize are written into the model config (and so into every checkpoint)
    sample_rate: int = SAMPLE_RATE
    normalize: bool = False  # zero-mean unit-variance waveform (§2; fairseq normalize: LARGE true, BASE false)
    max_sample_size: int = 250_000  # crop length in samples: 250k BASE, 320k LARGE (§4.2)
    min_sample_size: int = 32_000  # shorter utterances are skipped (fairseq min_sample_size)
    skip_bad: bool = False  # unreadable audio is logged and dropped instead of stopping the run
    # Training set only: a copy of every utterance at each speed (Kaldi/ESPnet 3-way speed
    # perturbation: [0.9, 1.0, 1.1]); () = off. Tempo, pitch and formants scale together.
    speed_perturb: tuple[float, ...] = ()
    # Training set only: random rooms, noise, mic EQ, level and telephone channel (asrkit.data.augment)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        check_ranges(self, sample_rate=">= 1", max_sample_size=">= 1", min_sample_size=">= 0",
                     speed_perturb=SPEED_RANGE)
        check_speed_factors(self)


@dataclass(frozen=True)
class PretrainLossConfig:
    diversity_weight: float = 0.1  # alpha in eq. 2 (§4.2)
    feature_penalty_weight: float = 10.0  # L2 penalty on encoder features, LibriSpeech BASE (fairseq loss_weights[1])

    def __post_init__(self) -> None:
        check_ranges(self, diversity_weight=">= 0", feature_penalty_weight=">= 0")


@dataclass(frozen=True)
class PretrainConfig:
    # w2v2 here; mae, clr and mae_clr are the audio-visual objectives (asrkit.train.av_pretrain), whose
    # config this key selects when the file is read (load_pretrain_config)
    objective: str = "w2v2"
    model: Wav2Vec2Config = field(default_factory=Wav2Vec2Config)
    data: PretrainDataConfig = field(default_factory=PretrainDataConfig)
    loss: PretrainLossConfig = field(default_factory=PretrainLossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)

    def __post_init__(self) -> None:
        if self.objective != "w2v2":
            raise field_error(self, "objective", f"{self.objective!r}: choose w2v2, mae, clr or mae_clr")


def config_objective(path: str | Path | None, overrides=()) -> str:
    """The ``objective`` a config file and its ``--set`` overrides name (the last override wins), else w2v2."""
    objective = "w2v2"
    if path is not None:
        try:
            loaded = yaml.safe_load(read_utf8(Path(path), ConfigError)) or {}
        except (yaml.YAMLError, OSError):
            loaded = {}  # load_config reports what is wrong with the file
        if isinstance(loaded, dict) and isinstance(loaded.get("objective"), str):
            objective = loaded["objective"]
    for o in overrides:
        key, _, value = o.partition("=")
        if key.strip() == "objective":
            objective = value.strip()
    return objective


def load_pretrain_config(path: str | Path | None, overrides=()):
    """A ``PretrainConfig`` (wav2vec 2.0), or an ``AVPretrainConfig`` when the file or ``--set`` names an
    audio-visual objective (mae, clr, mae_clr)."""
    from .av_pretrain import AV_OBJECTIVES, load_av_pretrain_config

    if config_objective(path, overrides) in AV_OBJECTIVES:
        return load_av_pretrain_config(path, overrides)
    return load_config(PretrainConfig, path, overrides, presets={"model": load_wav2vec2_config})


class PretrainTask:
    """Contrastive + diversity (+ feature penalty) loss for ``Wav2Vec2Model``."""

    def __init__(self, cfg: PretrainLossConfig):
        self.cfg = cfg

    def loss(self, model: nn.Module, batch: dict, generator: torch.Generator | None = None):
        out = model(batch["source"], batch["padding_mask"], generator=generator)
        net = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
        loss, stats = wav2vec2_objective(net, out, generator, diversity_weight=self.cfg.diversity_weight,
                                         feature_penalty_weight=self.cfg.feature_penalty_weight)
        num = out.targets.size(0)  # fairseq sample_size: the masked frames
        # left on the device (the loop sums them there): reading them here would wait for the device
        stats = {k: v for k, v in stats.items() if k != "num_masked"}
        stats["code_perplexity"] = out.code_perplexity.detach()
        stats["temperature"] = out.temperature  # a Python float
        return loss * num, num, stats

    def on_update(self, model: nn.Module, num_updates: int) -> None:
        model.set_num_updates(num_updates)

    def valid_metric(self, stats: dict[str, float]) -> float:
        return stats["contrastive"]  # L_m on the validation set (§4.2)


def pretrain_datasets(cfg: PretrainDataConfig, seed: int, max_tokens: int | None = None,
                      log=None) -> tuple[AudioDataset, AudioDataset | None]:
    """The training and validation sets; what the length filters left out is logged (``log``), and a set
    they leave empty, or an utterance longer than ``max_tokens``, is a ``ConfigError``."""
    common = dict(sample_rate=cfg.sample_rate, normalize=cfg.normalize, max_sample_size=cfg.max_sample_size,
                  min_sample_size=cfg.min_sample_size, pad_to_batch_max=False,  # crop batches to the shortest
                  skip_bad=cfg.skip_bad)
    train = AudioDataset(training_manifest(cfg.train_manifest, cfg.speed_perturb), seed=seed,
                         source=cfg.train_manifest, augment=cfg.augment, **common)
    check_length_filters(train, "training", max_tokens, log)
    valid = AudioDataset(cfg.valid_manifest, seed=seed, crop="start", **common) if cfg.valid_manifest else None
    if valid is not None:
        check_length_filters(valid, "validation", max_tokens, log)
    return train, valid


def _rank0_log(console):
    """``console.log`` on the first process (torchrun sets RANK), else None."""
    return console.log if console is not None and int(os.environ.get("RANK", 0)) == 0 else None


def run_pretrain(cfg: PretrainConfig, exp_dir: str | Path, *, resume: bool | Path = True, console=None,
                 hooks=None, allow_changes=()) -> dict:
    """Pre-train into ``exp_dir`` (resuming from its checkpoint if any); returns the last metrics.
    ``resume`` and ``allow_changes``: as :func:`asrkit.train.experiment.open_experiment`.

    The data config's ``sample_rate`` and ``normalize`` are written into the model config, which the
    checkpoints and ``config.yaml`` keep, so that decoding and benchmarks read audio as training did.
    """
    from .av_pretrain import AVPretrainConfig, run_av_pretrain

    if isinstance(cfg, AVPretrainConfig):
        return run_av_pretrain(cfg, exp_dir, resume=resume, console=console, hooks=hooks, allow_changes=allow_changes)
    exp_dir = Path(exp_dir)
    inputs = dict(sample_rate=cfg.data.sample_rate, normalize=cfg.data.normalize)
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, **inputs))
    with open_experiment(exp_dir, cfg, resume=resume, allow_changes=allow_changes, console=console) as exp:
        torch.manual_seed(cfg.trainer.seed)
        model = wav2vec2_model(cfg.model)
        train, valid = pretrain_datasets(cfg.data, cfg.trainer.seed, cfg.trainer.max_tokens, _rank0_log(console))
        header = checkpoint_header("pretrain", cfg.model, task=to_dict(cfg))
        trainer = Trainer(PretrainTask(cfg.loss), model, train, valid, exp_dir, cfg.trainer, cfg.optim,
                          checkpoint_header=header, console=console, hooks=hooks)
        if trainer.rank == 0 and console is not None:
            n = sum(p.numel() for p in model.parameters())
            console.log(f"wav2vec 2.0: {n / 1e6:.2f}M parameters; {len(train)} training utterances "
                        f"({float(train.sizes.sum()) / cfg.data.sample_rate / 3600:.2f} h after cropping); "
                        f"{trainer.world_size} process(es) on {trainer.device}, precision {trainer.precision}")
        return trainer.fit(resume=exp.resume_from or False)
