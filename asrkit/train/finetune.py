"""CTC fine-tuning of wav2vec 2.0 (§3.3, §4.3, Appendix B): the task and ``asrkit finetune``.

A linear CTC head on the context network, initialised from a pre-training checkpoint (asrkit's
or one converted by ``asrkit import-checkpoint``) or trained from scratch for comparison. The
feature encoder is frozen; only the head learns for the first ``freeze_finetune_updates``
updates; tri-state LR; time masking with the pre-trained mask embedding and channel masking;
LayerDrop; CTC with ``zero_infinity``. Validation WER (greedy, sclite alignment) picks the best checkpoint;
over phones (``data.tokenizer: phones``, TIMIT §5.3) the same alignment gives the phone error rate.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoint import checkpoint_header, load_encoder, read_checkpoint
from ..config import ConfigError, check_ranges, field_error, load_config, to_dict
from ..data.datasets import AudioDataset, LabelledDataConfig, labelled_datasets, output_sizes
from ..data.tokenizer import CharTokenizer, TokenizerError, load_tokenizer
from ..decode.greedy import best_paths
from ..models.factory import ctc_model, encoder_model, load_model_config
from ..models.heads import HEADS, CTCModel
from ..models.wav2vec2 import DROPOUT, MODEL_RANGES
from ..score import error_counts
from .experiment import open_experiment
from .loop import Trainer, TrainerConfig
from .optim import OptimConfig


@dataclass(frozen=True)
class FinetuneModelConfig:
    """Fine-tuning settings laid over the pre-trained architecture (Table 6, Appendix B)."""

    init_checkpoint: str = ""  # pre-training checkpoint; "" trains ``arch`` from scratch
    arch: str = "base"  # named model config (or YAML) used when training from scratch
    mask_prob: float = 0.65  # p * M; Table 6: p = 0.075 (10m, 1h), 0.065 (10h), 0.05 (100h, 960h)
    mask_length: int = 10  # M, spans of ten time steps (Appendix B)
    mask_channel_prob: float = 0.256  # p * 64; Table 6: p = 0.008 (10m, 100h), 0.004 (1h, 10h), 0.0016 (960h)
    mask_channel_length: int = 64  # channel span (Appendix B)
    encoder_layerdrop: float = 0.05  # LayerDrop: 0.05 BASE, 0.1 LARGE (Appendix B)
    dropout: float = 0.0  # fairseq base_*h.yaml: dropout 0.0 in the Transformer
    attention_dropout: float = 0.0
    activation_dropout: float = 0.1  # fairseq fine-tuning configs
    dropout_input: float = 0.0
    final_dropout: float = 0.0  # before the CTC classifier (fairseq final_dropout)
    feature_grad_mult: float = 0.0  # the feature encoder is not trained (§4.3)
    freeze_finetune_updates: int = 10_000  # only the classifier for the first 10k updates (§4.3)
    # the encoder never learns and runs in eval mode, only the head trains: the multi-stage paper's ASR and
    # SUPERB protocol (Jain et al., 2024, §3.3, "encoder weights frozen"); false: wav2vec 2.0's fine-tuning
    freeze_encoder: bool = False
    # the task decoder between the encoder and the CTC classifier: linear (none: wav2vec 2.0's fine-tuning) or
    # lstm (head_layers BLSTM layers of head_dim units per direction: SUPERB's ASR downstream, 2 x 1024, dropout
    # 0.2, the usual light decoder on a frozen encoder; the multi-stage paper does not name its own, notes §1.5)
    head: str = "linear"
    head_layers: int = 2
    head_dim: int = 1024
    head_dropout: float = 0.2

    def __post_init__(self) -> None:
        shared = {f.name: MODEL_RANGES[f.name] for f in dataclasses.fields(self) if f.name in MODEL_RANGES}
        check_ranges(self, **shared, final_dropout=DROPOUT, freeze_finetune_updates=">= 0", head_layers=">= 1",
                     head_dim=">= 1", head_dropout=DROPOUT)
        if self.head not in HEADS:
            raise field_error(self, "head", f"{self.head!r}: choose one of {', '.join(HEADS)}")


@dataclass(frozen=True)
class FinetuneDataConfig(LabelledDataConfig):
    """The manifests, the tokenizer and (from :class:`LabelledDataConfig`) the audio settings: sample_rate,
    normalize, max_sample_size (560k, 35 s), min_sample_size (0), skip_bad, speed_perturb (training set only)."""

    train_manifest: str = "data/manifests/10m.tsv"
    valid_manifest: str = "data/manifests/dev.tsv"
    # tokens.txt (characters, or phones), a sentencepiece .model, or "phones": the 39-class phone set (TIMIT,
    # wav2vec 2.0 §5.3; texts are space-separated phones); "" = LibriSpeech characters
    tokenizer: str = ""

    # the validation set is not filtered by max_sample_size (finetune_datasets), only the training set
    min_above_max: ClassVar[str] = "every training utterance would be skipped"


@dataclass(frozen=True)
class FinetuneConfig:
    model: FinetuneModelConfig = field(default_factory=FinetuneModelConfig)
    data: FinetuneDataConfig = field(default_factory=FinetuneDataConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(
        lr=5e-5, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.0, max_updates=12_000, schedule="tri_stage",
        warmup_ratio=0.1, hold_ratio=0.4, final_lr_scale=0.05, clip_norm=0.0))  # §4.3, fairseq base_10m
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(max_tokens=3_200_000))


def load_finetune_config(path: str | Path | None, overrides=()) -> FinetuneConfig:
    return load_config(FinetuneConfig, path, overrides)


def encoder_changes(cfg: FinetuneModelConfig, data: LabelledDataConfig, config_class: type) -> dict:
    """The fine-tuning (or mid-training) masking/dropout settings and the data's input settings, laid over the
    encoder config: those its class has (the Conformer has no LayerDrop, feature-encoder gradient or waveform
    normalisation)."""
    names = {f.name for f in dataclasses.fields(config_class)}
    changes = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name in names}
    # the Conformer reads whole utterances: "the first 1000 frames" (max_frames) is pre-training's crop (§3.4)
    inputs = {"sample_rate": data.sample_rate, "normalize": data.normalize, "max_frames": 0}
    return {**changes, **{k: v for k, v in inputs.items() if k in names}}


def build_ctc_model(cfg: FinetuneModelConfig, vocab_size: int, data: FinetuneDataConfig = FinetuneDataConfig()
                    ) -> tuple[CTCModel, str]:
    """The CTC model and a line saying where its encoder weights came from: a pretrain, midtrain or ctc
    checkpoint (``asrkit.checkpoint.load_encoder``: wav2vec 2.0 / SEW / SEW-D, or the Conformer audio encoder of
    an audio-visual one), or the ``arch`` config from scratch."""
    if cfg.init_checkpoint:
        ckpt = read_checkpoint(cfg.init_checkpoint)
        if data.normalize and not hasattr(ckpt.model_config, "normalize"):
            raise ConfigError(f"{cfg.init_checkpoint}: its encoder normalises filter banks, not the waveform; "
                              "fine-tune with data.normalize=false")
        encoder, ckpt = load_encoder(ckpt, **encoder_changes(cfg, data, type(ckpt.model_config)))
        encoder_cfg = dataclasses.replace(ckpt.model_config, **encoder_changes(cfg, data, type(ckpt.model_config)))
        if ckpt.model_config.sample_rate != data.sample_rate:
            raise ConfigError(f"{cfg.init_checkpoint}: pre-trained on {ckpt.model_config.sample_rate} Hz audio, but "
                              f"data.sample_rate is {data.sample_rate}; fine-tune at the encoder's rate "
                              f"(data.sample_rate={ckpt.model_config.sample_rate})")
        origin = f"encoder initialised from {cfg.init_checkpoint} (update {ckpt.num_updates})"
    else:
        if cfg.freeze_encoder:
            raise ConfigError("model.freeze_encoder with no model.init_checkpoint would train a head on a random "
                              "encoder; give a pre-trained checkpoint (--init) or set model.freeze_encoder=false")
        arch = load_model_config(cfg.arch)
        encoder_cfg = dataclasses.replace(arch, **encoder_changes(cfg, data, type(arch)))
        encoder = encoder_model(encoder_cfg)
        origin = f"encoder '{cfg.arch}' trained from scratch"
    if cfg.freeze_encoder:
        origin += ", frozen"
    model = ctc_model(encoder, encoder_cfg, vocab_size, final_dropout=cfg.final_dropout,
                      freeze_finetune_updates=cfg.freeze_finetune_updates, freeze_encoder=cfg.freeze_encoder,
                      head=cfg.head, head_layers=cfg.head_layers, head_dim=cfg.head_dim,
                      head_dropout=cfg.head_dropout)
    return model, origin


class CTCTask:
    """CTC loss summed over utterances (fairseq ``sentence_avg``); greedy WER in validation (``per``, the phone
    error rate, for a phone tokenizer)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.metric = "per" if getattr(tokenizer, "kind", "") == "phone" else "wer"

    def loss(self, model: nn.Module, batch: dict, generator: torch.Generator | None = None):
        log_probs, lengths = model(batch["source"], batch["padding_mask"])
        loss = F.ctc_loss(log_probs.transpose(0, 1), batch["target"], lengths, batch["target_lengths"],
                          blank=self.tokenizer.blank, reduction="sum", zero_infinity=True)
        n = log_probs.size(0)
        stats: dict = {"loss": loss.detach().to(torch.float64) / max(n, 1)}  # on the device, as float(loss) / n
        if not model.training:
            refs = [self.tokenizer.decode(t[:k].tolist()) for t, k in zip(batch["target"], batch["target_lengths"])]
            # the hypotheses' text as the references': through the tokenizer (sentencepiece's own decoding)
            hyps = [self.tokenizer.decode(ids) for ids in best_paths(log_probs, lengths, self.tokenizer.blank)]
            # over a phone tokenizer's space-separated phones this is the phone error rate
            counts = error_counts([(r.split(), h.split()) for r, h in zip(refs, hyps)])
            stats[self.metric] = (100.0 * counts.errors / max(counts.ref_words, 1), counts.ref_words)
        return loss, n, stats

    def on_update(self, model: nn.Module, num_updates: int) -> None:
        model.set_num_updates(num_updates)

    def valid_metric(self, stats: dict[str, float]) -> float:
        return stats[self.metric]


def check_labels(df, tokenizer, frames_fn, where: str, sample_rate: int) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Utterances that CTC cannot learn: empty or out-of-vocabulary transcripts, and labels
    needing more frames than the audio gives (one per token plus one per repeated pair),
    counted on the audio the model sees (resampled, speed-perturbed)."""
    keep = np.ones(len(df), dtype=bool)
    problems = []
    frames = frames_fn(torch.tensor(output_sizes(df, sample_rate))).tolist()
    for i, (utt, text, t) in enumerate(zip(df["id"], df["text"], frames)):
        try:
            ids = tokenizer.encode(text)
        except TokenizerError as e:
            keep[i] = False
            problems.append((utt, f"{where}: {e}"))
            continue
        if not ids:
            keep[i] = False
            problems.append((utt, f"{where}: empty transcript"))
            continue
        need = len(ids) + sum(a == b for a, b in zip(ids, ids[1:]))
        if need > t:
            keep[i] = False
            problems.append((utt, f"{where}: label needs {need} CTC frames, audio gives {t}"))
    return keep, problems


def finetune_datasets(cfg: FinetuneDataConfig, tokenizer, frames_fn, seed: int, console=None,
                      max_tokens: int | None = None):
    """The training and validation sets of utterances CTC can learn; what the label checks and the
    length filters left out is logged, and a set left empty is a ``ConfigError``."""
    log = console.log if console is not None and int(os.environ.get("RANK", 0)) == 0 else None

    def build(df, path: str, train: bool) -> AudioDataset:
        return AudioDataset(df, sample_rate=cfg.sample_rate, normalize=cfg.normalize,
                            max_sample_size=cfg.max_sample_size if train else None,
                            min_sample_size=cfg.min_sample_size, seed=seed, labels=tokenizer.encode,
                            skip_bad=cfg.skip_bad, source=path, augment=cfg.augment if train else None)

    return labelled_datasets(cfg, lambda df, path: check_labels(df, tokenizer, frames_fn, path, cfg.sample_rate),
                             build, "CTC training", unusable=" CTC cannot use", max_tokens=max_tokens, log=log)


def run_finetune(cfg: FinetuneConfig, exp_dir: str | Path, *, resume: bool | Path = True, console=None,
                 hooks=None, allow_changes=()) -> dict:
    """Fine-tune into ``exp_dir``; writes ``config.yaml`` and ``tokens.txt``/tokenizer beside it.
    ``resume`` and ``allow_changes``: as :func:`asrkit.train.experiment.open_experiment`."""
    exp_dir = Path(exp_dir)
    with open_experiment(exp_dir, cfg, resume=resume, allow_changes=allow_changes, console=console) as exp:
        tokenizer = load_tokenizer(cfg.data.tokenizer) if cfg.data.tokenizer else CharTokenizer()
        torch.manual_seed(cfg.trainer.seed)
        model, origin = build_ctc_model(cfg.model, len(tokenizer), cfg.data)
        train, valid = finetune_datasets(cfg.data, tokenizer, model.output_lengths, cfg.trainer.seed, console,
                                         cfg.trainer.max_tokens)
        header = checkpoint_header("ctc", model.encoder_config, tokens=tokenizer.tokens, task=to_dict(cfg))
        trainer = Trainer(CTCTask(tokenizer), model, train, valid, exp_dir, cfg.trainer, cfg.optim,
                          checkpoint_header=header, console=console, hooks=hooks)
        if trainer.rank == 0:
            (exp_dir / "tokens.txt").write_text("\n".join(tokenizer.tokens) + "\n", encoding="utf-8")
            if console is not None and isinstance(tokenizer, CharTokenizer) \
                    and getattr(model.encoder, "downsample_rate", 0) >= 640:
                console.log("[yellow]characters at 40 ms per frame: CTC needs a frame per character (two for a "
                            "doubled letter), which fast speech does not leave; utterances that lack frames are "
                            "skipped. Sentencepiece units (data.tokenizer, e.g. recipes/synth/multistage stage 2) "
                            "avoid it")
            if console is not None:
                trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
                console.log(f"CTC fine-tuning: {origin}; {trainable / 1e6:.2f}M trainable parameters, "
                            f"{len(tokenizer)} output tokens; {len(train)} utterances "
                            f"({float(train.sizes.sum()) / cfg.data.sample_rate / 3600:.2f} h)")
        return trainer.fit(resume=exp.resume_from or False)
