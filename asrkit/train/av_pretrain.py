"""Audio-visual pre-training (Jain et al., 2024, §3.1, §3.4, Fig. 1): MAE, CLR and MAE+CLR; the task behind
``asrkit pretrain`` with ``objective: mae | clr | mae_clr``.

- **MAE**: a random ``loss.audio_mask_ratio`` of the audio tokens (40 ms each) and ``loss.video_mask_ratio`` of
  the video tubelets are masked (paper: 60 % for both); the encoders see the visible tokens only and the shared
  decoder reconstructs audio, then video; squared L2 against the input (``asrkit.objectives.mae``).
- **CLR**: mean-pooled, projected, L2-normalised clip embeddings of the unmasked audio and video; InfoNCE over
  the batch with the same clip's pair positive (``asrkit.objectives.av_contrastive``).
- **MAE+CLR**: ``mae_weight * L_MAE + clr_weight * L_CLR``, 1 : 1 as the paper (like W2v-BERT).

The same trainer as wav2vec 2.0 (checkpoints, exact resume, precision, gradient accumulation, torchrun);
``use_video: false`` in the model config gives an audio-only MAE on the same audio as wav2vec 2.0. The best
checkpoint has the lowest validation loss of the objective.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..checkpoint import checkpoint_header
from ..config import ConfigError, check_ranges, field_error, load_config, to_dict
from ..data.av import AVDataset
from ..data.samplers import BucketBatchSampler, ShuffledBatchSampler
from ..data.video import set_cache_bytes
from ..models.av import AVConfig, load_av_config
from ..models.factory import av_model
from ..objectives.av_contrastive import clr_loss, mae_clr_loss
from ..objectives.mae import mae_objective, random_token_mask
from .experiment import open_experiment
from .loop import Trainer, TrainerConfig
from .optim import OptimConfig

AV_OBJECTIVES = ("mae", "clr", "mae_clr")


BATCHING = ("shuffle", "speaker", "length")


@dataclass(frozen=True)
class AVDataConfig:
    """Clips of the AV manifests (``asrkit/data/av.py``). Clip length, frame count and frame size are the model
    config's (``max_frames``, ``num_frames``, ``image_size``): one source of truth."""

    train_manifest: str = "data/manifests/av_train.tsv"
    valid_manifest: str = "data/manifests/av_dev.tsv"  # held-out clips: losses, retrieval, checkpoint selection
    # frames between sampled video frames (temporal stride)
    frame_stride: int = 4  # MAE-ST sampling_rate; 16 frames at 25 fps span 2.56 s, av_tiny's 248 fbank frames
    crop_scale: tuple[float, float] = (0.5, 1.0)  # RandomResizedCrop area (MAE-ST jitter_scales_relative)
    crop_ratio: tuple[float, float] = (0.75, 4 / 3)  # aspect range (MAE-ST jitter_aspect_relative)
    flip: bool = True  # random horizontal flip (MAE-ST)
    skip_bad: bool = False  # unreadable clips are logged and dropped instead of stopping the run
    # decoded frames kept per process (asrkit.data.video's cache), so that later epochs do not decode again: the
    # synthetic LRS3-like set's 840 training clips of 96 px hold 1.4 GB; 0 turns the cache off. DataLoader
    # workers (num_workers > 0, GPU) start each epoch with an empty cache
    video_cache_mb: int = 2048
    # how clips meet in a batch, i.e. which clips are each other's CLR negatives:
    #   shuffle: new random batches of trainer.max_batch_size clips every epoch (CLIP, CAV-MAE: a shuffled
    #            DataLoader); the default
    #   speaker: new batches every epoch, each of speakers_per_batch speakers' clips (not in the paper: same-speaker
    #            clips are hard negatives that face and voice identity cannot separate, so CLR must use the lips)
    #   length:  fairseq's length-bucketed batches, formed once (the w2v2 trainer's)
    batching: str = "shuffle"
    speakers_per_batch: int = 4

    def __post_init__(self) -> None:
        check_ranges(self, frame_stride=">= 1", crop_scale="(0, 1]", crop_ratio="> 0", video_cache_mb=">= 0",
                     speakers_per_batch=">= 1")
        if self.batching not in BATCHING:
            raise field_error(self, "batching", f"{self.batching!r}: choose one of {', '.join(BATCHING)}")
        for name in ("crop_scale", "crop_ratio"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise field_error(self, name, f"[{lo}, {hi}]: the lower bound is above the upper one")


@dataclass(frozen=True)
class AVLossConfig:
    # paper §3.4: video 60 %; audio and video "share the same masking ratio" (notes §1.2); CAV-MAE 0.75,
    # AV-MAE 0.5 / 0.9
    audio_mask_ratio: float = 0.6
    video_mask_ratio: float = 0.6
    masked_only: bool = True  # loss on masked tokens only (MAE, CAV-MAE); false: on every token
    norm_target_audio: bool = False  # per-token normalised targets (MAE norm_pix_loss); the paper: "original input"
    norm_target_video: bool = False
    audio_weight: float = 1.0  # the paper sums the audio and video terms (Fig. 1)
    video_weight: float = 1.0
    # MAE+CLR: equal weights (the paper, like W2v-BERT); CAV-MAE's 0.01 for the contrastive term was tuned
    # with its learning rate (cav-mae issue 20) and is not the paper's
    mae_weight: float = 1.0
    clr_weight: float = 1.0
    clr_symmetric: bool = True  # mean of audio->video and video->audio InfoNCE (CLIP); false: video->audio only
    # Not in the paper: > 0 adds, for each clip's video, its own utterance's audio s seconds earlier and later (whole
    # video frames; unedited windows inside the clip, whose start is drawn to leave room; shorter clips are left
    # out) as two more negatives: same voice and words, wrong timing, so only the lips tell them apart (SyncNet's
    # negatives, Chung & Zisserman 2016). In-batch negatives alone let CLR match clips by face and voice identity.
    clr_shift_negatives: float = 0.0

    def __post_init__(self) -> None:
        check_ranges(self, audio_mask_ratio="[0, 1)", video_mask_ratio="[0, 1)", audio_weight=">= 0",
                     video_weight=">= 0", mae_weight=">= 0", clr_weight=">= 0", clr_shift_negatives=">= 0")


@dataclass(frozen=True)
class AVPretrainConfig:
    objective: str = "mae"  # mae | clr | mae_clr (w2v2 is asrkit.train.pretrain.PretrainConfig)
    model: AVConfig = field(default_factory=AVConfig)
    data: AVDataConfig = field(default_factory=AVDataConfig)
    loss: AVLossConfig = field(default_factory=AVLossConfig)
    # the paper gives no optimiser (notes §4); AdamW with MAE-ST's betas and weight decay, linear warm-up
    # and decay
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(
        lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.05, max_updates=100_000, warmup_ratio=0.05,
        clip_norm=1.0))
    trainer: TrainerConfig = field(default_factory=TrainerConfig)

    def __post_init__(self) -> None:
        if self.objective not in AV_OBJECTIVES:
            raise field_error(self, "objective", f"{self.objective!r}: choose one of {', '.join(AV_OBJECTIVES)} "
                              "(or w2v2)")
        if self.objective != "mae" and not self.model.use_video:
            raise field_error(self, "objective", f"{self.objective} contrasts audio with video, but "
                              "model.use_video is false; use objective mae for audio-only pre-training")
        if self.objective == "mae" and self.model.use_video and self.model.video_tokens != "tubelet":
            raise field_error(self, "model.video_tokens", "MAE reconstructs space-time patches: use tubelet")


def load_av_pretrain_config(path: str | Path | None, overrides=()) -> AVPretrainConfig:
    return load_config(AVPretrainConfig, path, overrides, presets={"model": load_av_config})


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


class AVPretrainTask:
    """The loss of ``objective`` for ``AudioVisualModel``; every term logged by name."""

    def __init__(self, objective: str, cfg: AVLossConfig):
        self.objective, self.cfg = objective, cfg

    def masks(self, net: nn.Module, batch: dict, generator: torch.Generator | None):
        """Random token masks for MAE: per utterance over its valid audio tokens, and over the video tubelets."""
        source, padding_mask = batch["source"], batch["padding_mask"]
        lengths = torch.full((source.size(0),), source.size(1), device=source.device, dtype=torch.long)
        if padding_mask is not None:
            lengths = (~padding_mask).sum(dim=1)
        tokens = net.num_audio_tokens(net.audio_frame_lengths(lengths))
        # the longest clip fills the padded batch: its token count, from the host's number (no device sync)
        longest = int(net.num_audio_tokens(net.audio_frame_lengths(torch.tensor([source.size(1)])))[0])
        audio = random_token_mask(tokens, longest, self.cfg.audio_mask_ratio, generator)
        video = None
        if net.video_encoder is not None:
            n, lv = source.size(0), net.num_video_tokens
            video = random_token_mask(torch.full((n,), lv, device=source.device, dtype=torch.long), lv,
                                      self.cfg.video_mask_ratio, generator)
        return audio, video

    def loss(self, model: nn.Module, batch: dict, generator: torch.Generator | None = None):
        net = _unwrap(model)
        cfg = self.cfg
        audio_mask = video_mask = None
        if self.objective in ("mae", "mae_clr"):
            audio_mask, video_mask = self.masks(net, batch, generator)
        shifted, shifted_padding = batch.get("shifted_source"), batch.get("shifted_padding_mask")
        if self.objective == "mae":
            shifted = shifted_padding = None
        # through the (DDP) module's forward, so that torchrun all-reduces the gradients
        out = model(batch["source"], batch["padding_mask"], batch.get("video"), objective=self.objective,
                    audio_mask=audio_mask, video_mask=video_mask, shifted_source=shifted,
                    shifted_padding_mask=shifted_padding)
        stats: dict = {}
        if out.mae is not None:
            mae, mae_stats = mae_objective(out.mae, audio_weight=cfg.audio_weight, video_weight=cfg.video_weight,
                                           masked_only=cfg.masked_only, norm_target_audio=cfg.norm_target_audio,
                                           norm_target_video=cfg.norm_target_video, baseline=not model.training)
            stats.update({k: v for k, v in mae_stats.items() if not k.endswith("_tokens")})
        if out.clr is not None:
            audio_emb, video_emb, scale = out.clr
            clr, clr_stats = clr_loss(audio_emb, video_emb, scale, symmetric=cfg.clr_symmetric,
                                      audio_negatives=out.shifted_audio)
            stats.update(clr_stats)
        if self.objective == "mae_clr":
            loss, combined = mae_clr_loss(mae, clr, cfg.mae_weight, cfg.clr_weight)
            stats.update(combined)
        else:
            loss = mae if self.objective == "mae" else clr
        stats["loss"] = loss.detach()
        n = batch["source"].size(0)  # clips: every term is a mean over the batch's clips or tokens
        return loss * n, n, stats

    def on_update(self, model: nn.Module, num_updates: int) -> None:
        pass

    def valid_metric(self, stats: dict[str, float]) -> float:
        return stats["loss"]


def av_datasets(cfg: AVPretrainConfig, seed: int) -> tuple[AVDataset, AVDataset | None]:
    m, d = cfg.model, cfg.data
    set_cache_bytes(d.video_cache_mb << 20)
    common = dict(sample_rate=m.sample_rate, max_frames=m.max_frames, num_frames=m.num_frames,
                  frame_stride=d.frame_stride, crop_size=m.image_size, crop_scale=d.crop_scale,
                  crop_ratio=d.crop_ratio, seed=seed, skip_bad=d.skip_bad, use_video=m.use_video)
    shift = cfg.loss.clr_shift_negatives if cfg.objective != "mae" else 0.0
    train = AVDataset(d.train_manifest, train=True, flip=d.flip, negative_shift_seconds=shift, **common)
    valid = AVDataset(d.valid_manifest, train=False, flip=False, **common) if d.valid_manifest else None
    for split, ds in (("training", train), ("validation", valid)):
        if ds is not None and len(ds) == 0:
            raise ConfigError(f"{ds.source}: the {split} manifest lists no usable clips")
    return train, valid


def av_sampler(cfg: AVPretrainConfig, train: AVDataset) -> Callable[[int, int], BucketBatchSampler] | None:
    """The trainer's ``make_sampler`` for ``cfg.data.batching`` (None: its length-bucketed batches)."""
    d, t = cfg.data, cfg.trainer
    if d.batching == "length":
        return None
    groups = train.speakers if d.batching == "speaker" else None

    def make(world_size: int, rank: int) -> BucketBatchSampler:
        return ShuffledBatchSampler(train.sizes, t.max_tokens, t.seed, batch_size=t.max_batch_size or len(train),
                                    groups=groups, groups_per_batch=d.speakers_per_batch if groups is not None else 0,
                                    num_replicas=world_size, rank=rank, ids=list(train.ids))
    return make


def run_av_pretrain(cfg: AVPretrainConfig, exp_dir: str | Path, *, resume: bool | Path = True, console=None,
                    hooks=None, allow_changes=()) -> dict:
    """Pre-train ``cfg.objective`` into ``exp_dir`` (resuming from its checkpoint if any); returns the last
    metrics. ``resume`` and ``allow_changes``: as :func:`asrkit.train.experiment.open_experiment`."""
    exp_dir = Path(exp_dir)
    with open_experiment(exp_dir, cfg, resume=resume, allow_changes=allow_changes, console=console) as exp:
        torch.manual_seed(cfg.trainer.seed)
        model = av_model(cfg.model)
        train, valid = av_datasets(cfg, cfg.trainer.seed)
        header = checkpoint_header("pretrain", cfg.model, task=to_dict(cfg))
        trainer = Trainer(AVPretrainTask(cfg.objective, cfg.loss), model, train, valid, exp_dir, cfg.trainer,
                          cfg.optim, checkpoint_header=header, console=console, hooks=hooks,
                          make_sampler=av_sampler(cfg, train))
        if trainer.rank == 0 and console is not None:
            parts = {name: sum(p.numel() for p in part.parameters()) / 1e6
                     for name, part in model.named_children()}
            console.log(f"audio-visual {cfg.objective.upper()}: " + ", ".join(f"{k} {v:.2f}M" for k, v in parts.items())
                        + f"; {len(train)} training clips; {trainer.world_size} process(es) on {trainer.device}, "
                        f"precision {trainer.precision}")
        return trainer.fit(resume=exp.resume_from or False)

