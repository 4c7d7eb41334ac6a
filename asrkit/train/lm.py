"""Training the Transformer LM of wav2vec 2.0 §4.4 (:mod:`asrkit.models.transformer_lm`): the task and
``asrkit lm train --type transformer``.

Next-unit cross-entropy summed over the units of a batch (``</s>`` included), on sentences batched by units
(``trainer.max_tokens`` counts units here); the shared :class:`~asrkit.train.loop.Trainer` runs it (checkpoints,
resume, ``trainer.precision``, torchrun). The vocabulary is built from the training text and stored in the
checkpoint (kind ``lm``). Validation reports the per-unit loss and the per-word perplexity (``</s>`` counted as a
word, as KenLM counts it), which picks the best checkpoint.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoint import checkpoint_header
from ..config import ConfigError, check_ranges, load_config, to_dict
from ..data.lm_text import LMTextDataset, LMTextError, LMVocabulary, read_sentences
from ..models.transformer_lm import LM_CONFIGS, TransformerLMConfig, lm_config, transformer_lm
from .experiment import open_experiment
from .loop import Trainer, TrainerConfig
from .optim import OptimConfig


@dataclass(frozen=True)
class LMDataConfig:
    train_text: str = "data/lm/text.txt"  # one sentence per line (asrkit prepare lm-text)
    valid_text: str = ""  # held-out sentences; "" holds out valid_fraction of train_text
    valid_fraction: float = 0.02  # the last sentences of train_text, when no valid_text is given
    min_count: int = 1  # words seen fewer times are <unk>
    sentencepiece: str = ""  # a sentencepiece .model: its pieces are the units instead of words

    def __post_init__(self) -> None:
        check_ranges(self, valid_fraction="[0, 1)", min_count=">= 1")


@dataclass(frozen=True)
class LMTrainConfig:
    model: TransformerLMConfig = field(default_factory=lambda: LM_CONFIGS["tiny"])  # model=paper: 20 x 1280
    data: LMDataConfig = field(default_factory=LMDataConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(
        lr=1e-3, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01, max_updates=2000, warmup_ratio=0.05,
        clip_norm=1.0))
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(
        max_tokens=4096, valid_every=200, save_every=200, log_every=20))


def load_lm_config(path: str | Path | None, overrides=()) -> LMTrainConfig:
    return load_config(LMTrainConfig, path, overrides, presets={"model": lm_config})


class LMTask:
    """Cross-entropy of the next unit, summed over the batch's units."""

    def loss(self, model: nn.Module, batch: dict, generator: torch.Generator | None = None):
        logits, _ = model(batch["source"])
        target = batch["target"]
        loss = F.cross_entropy(logits.float().flatten(0, 1), target.flatten(), ignore_index=-100, reduction="sum")
        n = int((target >= 0).sum())
        nll = loss.detach().to(torch.float64) / max(n, 1)
        stats: dict = {"loss": nll}
        if not model.training:  # per word (</s> counted as one): what asrkit lm eval reports
            words = batch["words"] + len(batch["ids"])
            stats["word_nll"] = (float(loss) / words, words)
        return loss, n, stats

    def on_update(self, model: nn.Module, num_updates: int) -> None:
        pass

    def valid_metric(self, stats: dict[str, float]) -> float:
        return stats["loss"]


def lm_datasets(cfg: LMDataConfig, max_units: int = 0) -> tuple[LMVocabulary, LMTextDataset, LMTextDataset | None]:
    """The vocabulary (of the training sentences) and the training and validation sets."""
    train = read_sentences(cfg.train_text)
    if cfg.valid_text:
        valid = read_sentences(cfg.valid_text)
    else:
        k = int(len(train) * cfg.valid_fraction)
        train, valid = (train[:-k], train[-k:]) if k else (train, [])
        if not train:
            raise LMTextError(f"{cfg.train_text}: nothing left to train on after holding out "
                              f"data.valid_fraction={cfg.valid_fraction}")
    vocab = LMVocabulary.build(train, min_count=cfg.min_count, sentencepiece=cfg.sentencepiece or None)
    return vocab, LMTextDataset(train, vocab, max_units), LMTextDataset(valid, vocab, max_units) if valid else None


def run_lm_training(cfg: LMTrainConfig, exp_dir: str | Path, *, resume: bool | Path = True, console=None,
                    hooks=None, allow_changes=()) -> dict:
    """Train the Transformer LM into ``exp_dir`` (``vocab.txt`` beside the checkpoints). Returns the last
    logged metrics."""
    exp_dir = Path(exp_dir)
    try:
        vocab, train, valid = lm_datasets(cfg.data, cfg.model.max_positions if cfg.model.positions == "learned" else 0)
    except LMTextError as e:
        raise ConfigError(str(e)) from None
    with open_experiment(exp_dir, cfg, resume=resume, allow_changes=allow_changes, console=console) as exp:
        model_cfg = TransformerLMConfig.from_dict({**to_dict(cfg.model), "vocab_size": len(vocab)})
        if exp.resume_from is not None and exp.resume_from.tokens and list(exp.resume_from.tokens) != vocab.tokens:
            raise ConfigError(f"{exp.resume_from.path}: its vocabulary is not the one of {cfg.data.train_text} "
                              "(the text changed?); train into another --exp-dir")
        torch.manual_seed(cfg.trainer.seed)
        model = transformer_lm(model_cfg)
        header = checkpoint_header("lm", model_cfg, tokens=vocab.tokens, task=to_dict(cfg))
        trainer = Trainer(LMTask(), model, train, valid, exp_dir, cfg.trainer, cfg.optim,
                          checkpoint_header=header, console=console, hooks=hooks)
        if trainer.rank == 0:
            (exp_dir / "vocab.txt").write_text("\n".join(vocab.tokens) + "\n", encoding="utf-8")
            if console is not None:
                params = sum(p.numel() for p in model.parameters())
                console.log(f"Transformer LM: {model_cfg.num_layers} blocks x {model_cfg.embed_dim}, "
                            f"{params / 1e6:.2f}M parameters, {len(vocab)} units; {len(train)} training sentences"
                            f" ({int(train.sizes.sum())} units), {len(valid) if valid else 0} validation")
        row = trainer.fit(resume=exp.resume_from or False)
    return row
