"""Speech-translation mid-training of an audio encoder (Jain et al., 2024, §3.2, stage 2): ``asrkit midtrain``.

The audio encoder of any checkpoint (the Conformer of an audio-visual one, an audio-only MAE, wav2vec 2.0, SEW,
SEW-D, or a fine-tuned or mid-trained one) or a named encoder config from scratch, under a Transformer decoder
with cross-attention (``asrkit.models.seq2seq``) that translates English speech into the target language
(MuST-C en-de, en-it, en-nl). The paper gives no detail of this stage beyond "until convergence" (notes §1.4);
the defaults follow ESPnet's MuST-C ST Conformer recipe (``egs2/must_c/st1``): label-smoothed cross-entropy
(0.1), a CTC auxiliary loss on the English transcript (weight 0.3), SpecAugment-style masking of the filter
banks. The same trainer as every stage (checkpoints, exact resume, precision, accumulation, torchrun); the
best checkpoint has the lowest validation NLL per target token (fairseq's ``best_checkpoint_metric: loss``).
Its kind is ``midtrain``: ``asrkit finetune --init`` takes its encoder (only the encoder: the sub-sampling and
the blocks, §3.4) and ``asrkit decode --task st`` translates with it.

Target tokens: the target language's sentencepiece units with 0 (the CTC blank of asrkit's tokenizers) as the
padding and one added ``</s>``, which starts every decoder input and ends every target (fairseq's speech-to-text
uses its ``</s>`` as the decoder's first token the same way).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoint import checkpoint_header, load_encoder, read_checkpoint
from ..config import ConfigError, check_ranges, load_config, to_dict
from ..data.datasets import AudioDataset, LabelledDataConfig, labelled_datasets
from ..data.manifest import ManifestError
from ..data.tokenizer import SentencePieceTokenizer, TokenizerError, load_tokenizer
from ..models.factory import encoder_model, load_model_config
from ..models.seq2seq import DECODER_CONFIGS, DecoderConfig, EncoderDecoderModel, TransformerDecoder
from ..models.wav2vec2 import DROPOUT
from ..objectives.seq2seq import label_smoothed_nll_loss
from .experiment import open_experiment
from .finetune import encoder_changes
from .loop import Trainer, TrainerConfig
from .optim import OptimConfig

EOS = "</s>"


@dataclass(frozen=True)
class MidtrainModelConfig:
    init_checkpoint: str = ""  # any checkpoint with an audio encoder; "" trains ``arch`` from scratch
    arch: str = "av_paper"  # named encoder config (or YAML) from scratch: the paper's Conformer
    decoder: DecoderConfig = field(default_factory=DecoderConfig)  # or a name: mustc_st (default), tiny
    ctc_weight: float = 0.3  # CTC on the English transcript (ESPnet MuST-C ST: mtlalpha 0.3); 0 = none
    label_smoothing: float = 0.1  # ESPnet lsm_weight, fairseq label_smoothing
    # SpecAugment as ESPnet's MuST-C ST Conformer config (specaug_conf), as expected fractions: 5 time masks of up
    # to 5 % of the segment (mean 2.5 %: 16 frames of MuST-C's mean 6.4 s) -> 0.125 in spans of 16; 2 frequency
    # masks of up to 27 of 80 bins (mean 13.5) -> 0.3375 in spans of 14 (the Conformer masks its filter banks;
    # wav2vec 2.0-style encoders their features, fairseq's semantics); recipes/mustc/midtrain/conf says the same
    mask_prob: float = 0.125
    mask_length: int = 16
    mask_channel_prob: float = 0.3375
    mask_channel_length: int = 14
    dropout: float = 0.1  # encoder dropouts (ESPnet MuST-C Conformer: 0.1)
    attention_dropout: float = 0.1

    def __post_init__(self) -> None:
        check_ranges(self, ctc_weight="[0, 1)", label_smoothing="[0, 1)", mask_prob="[0, 1]", mask_length=">= 1",
                     mask_channel_prob="[0, 1]", mask_channel_length=">= 1", dropout=DROPOUT,
                     attention_dropout=DROPOUT)


@dataclass(frozen=True)
class MidtrainDataConfig(LabelledDataConfig):
    """The ST manifests, the tokenizers and (from :class:`LabelledDataConfig`) the audio settings: sample_rate,
    normalize (must match the encoder's pre-training, wav2vec 2.0), max_sample_size, min_sample_size, skip_bad,
    speed_perturb (() by default; ESPnet's MuST-C recipe: (0.9, 1.0, 1.1))."""

    train_manifest: str = "data/manifests/mustc/en-de/train.tsv"  # ST manifests: local/prepare_mustc.py
    valid_manifest: str = "data/manifests/mustc/en-de/dev.tsv"
    target_tokenizer: str = ""  # the target language's sentencepiece .model (required)
    source_tokenizer: str = ""  # the English transcript's units for the CTC loss (required when ctc_weight > 0)
    # fairseq's MuST-C manifests keep 5 to 3000 fbank frames (0.05-30 s)
    max_sample_size: int = 480_000
    min_sample_size: int = 800


@dataclass(frozen=True)
class MidtrainConfig:
    model: MidtrainModelConfig = field(default_factory=MidtrainModelConfig)
    data: MidtrainDataConfig = field(default_factory=MidtrainDataConfig)
    # ESPnet MuST-C ST: Adam, peak 2e-3, 25k warm-up (noam); here AdamW with linear warm-up and decay
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(
        lr=2e-3, betas=(0.9, 0.98), eps=1e-9, weight_decay=1e-6, max_updates=100_000, warmup_ratio=0.25,
        clip_norm=3.0))
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(max_tokens=1_600_000))


def load_midtrain_config(path: str | Path | None, overrides=()) -> MidtrainConfig:
    return load_config(MidtrainConfig, path, overrides, presets={"model.decoder": _decoder_preset})


def _decoder_preset(name: str) -> DecoderConfig:
    if name not in DECODER_CONFIGS:
        raise ConfigError(f"no decoder config {name!r}; named configs: {', '.join(DECODER_CONFIGS)}")
    return DECODER_CONFIGS[name]


class TargetVocabulary:
    """The decoder's tokens: a sentencepiece model's units (0 = padding) and ``</s>`` last."""

    def __init__(self, tokenizer: SentencePieceTokenizer):
        self.tokenizer = tokenizer
        self.tokens = list(tokenizer.tokens) + [EOS]
        self.pad, self.eos = tokenizer.blank, len(tokenizer.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def decode(self, ids) -> str:
        return self.tokenizer.decode([i for i in ids if i not in (self.pad, self.eos)])


def _spm(path: str, what: str) -> SentencePieceTokenizer:
    if not path:
        raise ConfigError(f"data.{what} is not set: give a sentencepiece .model (recipes/synth/multistage stage 2 "
                          "trains one per language)")
    tok = load_tokenizer(path)
    if not isinstance(tok, SentencePieceTokenizer):
        raise ConfigError(f"data.{what}: {path} is not a sentencepiece .model")
    return tok


class TranslationDataset(AudioDataset):
    """An ST manifest's utterances (``translation`` column) with the English ``text`` as source labels.

    Adds ``prev_tokens`` (``</s>`` + target) and ``target_out`` (target + ``</s>``), both right-padded with
    ``pad``, and ``target_out_lengths``, to :class:`AudioDataset`'s batches. Utterances longer than
    ``max_sample_size`` are left out, never cropped (they have labels)."""

    def __init__(self, manifest: pd.DataFrame, *, vocab: TargetVocabulary, source_labels=None, **kwargs):
        if "translation" not in manifest.columns:
            raise ManifestError(f"{kwargs.get('source') or 'manifest'}: no translation column; an ST manifest comes "
                                "from local/prepare_mustc.py")
        super().__init__(manifest, labels=source_labels or (lambda _: []), **kwargs)
        by_id = dict(zip(manifest["id"], manifest["translation"]))
        self._translations = np.asarray([by_id[i] for i in self.ids], dtype=str)
        self.vocab = vocab

    def __getitem__(self, index: int) -> dict:
        item = super().__getitem__(index)
        if "error" not in item:
            item["translation"] = self.vocab.encode(str(self._translations[index]))
        return item

    def collate(self, items: list[dict]) -> dict:
        batch = super().collate(items)
        items = [it for it in items if "error" not in it]
        eos, pad = self.vocab.eos, self.vocab.pad
        lengths = torch.tensor([len(it["translation"]) + 1 for it in items], dtype=torch.long)
        t = int(lengths.max()) if items else 0
        prev, out = torch.full((len(items), t), pad), torch.full((len(items), t), pad)
        for i, it in enumerate(items):
            ids = torch.as_tensor(it["translation"], dtype=torch.long)
            prev[i, : len(ids) + 1] = torch.cat([torch.tensor([eos]), ids])
            out[i, : len(ids) + 1] = torch.cat([ids, torch.tensor([eos])])
        batch.update(prev_tokens=prev, target_out=out, target_out_lengths=lengths)
        return batch


def check_translations(df: pd.DataFrame, vocab: TargetVocabulary, source, max_positions: int, where: str
                       ) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Utterances the model cannot learn: an empty or unencodable translation, one longer than the decoder's
    positions, or (with a source tokenizer) an English transcript it cannot encode."""
    keep = np.ones(len(df), dtype=bool)
    problems = []
    for i, (utt, text, translation) in enumerate(zip(df["id"], df["text"], df["translation"])):
        try:
            n = len(vocab.encode(translation))
            if source is not None:
                source.encode(text)
        except TokenizerError as e:
            keep[i] = False
            problems.append((utt, f"{where}: {e}"))
            continue
        if n == 0:
            keep[i] = False
            problems.append((utt, f"{where}: empty translation"))
        elif n + 1 > max_positions:
            keep[i] = False
            problems.append((utt, f"{where}: translation of {n} tokens is longer than the decoder's "
                                  f"max_target_positions ({max_positions}) allows"))
    return keep, problems


def midtrain_datasets(cfg: MidtrainConfig, vocab: TargetVocabulary, source, seed: int, console=None):
    d = cfg.data
    log = console.log if console is not None and int(os.environ.get("RANK", 0)) == 0 else None

    def check(df: pd.DataFrame, path: str):
        if "translation" not in df.columns:
            raise ConfigError(f"{path}: no translation column; an ST manifest comes from local/prepare_mustc.py")
        return check_translations(df, vocab, source, cfg.model.decoder.max_target_positions, path)

    def build(df: pd.DataFrame, path: str, train: bool) -> TranslationDataset:
        return TranslationDataset(df, vocab=vocab, source_labels=source.encode if source is not None else None,
                                  sample_rate=d.sample_rate, normalize=d.normalize,
                                  max_sample_size=d.max_sample_size, min_sample_size=d.min_sample_size, seed=seed,
                                  skip_bad=d.skip_bad, source=path, augment=d.augment if train else None)

    return labelled_datasets(d, check, build, "translation", max_tokens=cfg.trainer.max_tokens, log=log)


def build_st_model(cfg: MidtrainModelConfig, data: MidtrainDataConfig, vocab_size: int, ctc_vocab_size: int
                   ) -> tuple[EncoderDecoderModel, object, str]:
    """The encoder-decoder model, its encoder's config and a line saying where the encoder came from."""
    if cfg.init_checkpoint:
        ckpt = read_checkpoint(cfg.init_checkpoint)
        changes = encoder_changes(cfg, data, type(ckpt.model_config))
        encoder, ckpt = load_encoder(ckpt, **changes)
        encoder_cfg = dataclasses.replace(ckpt.model_config, **changes)
        if ckpt.model_config.sample_rate != data.sample_rate:
            raise ConfigError(f"{cfg.init_checkpoint}: pre-trained on {ckpt.model_config.sample_rate} Hz audio, but "
                              f"data.sample_rate is {data.sample_rate}; use the encoder's rate")
        origin = f"encoder from {cfg.init_checkpoint} ({ckpt.kind}, update {ckpt.num_updates})"
    else:
        arch = load_model_config(cfg.arch)
        encoder_cfg = dataclasses.replace(arch, **encoder_changes(cfg, data, type(arch)))
        encoder = encoder_model(encoder_cfg)
        origin = f"encoder '{cfg.arch}' from scratch"
    dim = encoder.embed_dim
    decoder = TransformerDecoder(cfg.decoder, vocab_size, encoder_dim=cfg.decoder.embed_dim)
    return EncoderDecoderModel(encoder, dim, decoder, ctc_vocab_size=ctc_vocab_size), encoder_cfg, origin


class TranslationTask:
    """``(1 - w) * label-smoothed CE + w * CTC`` summed over utterances (ESPnet's weighting of the attention
    and CTC losses); NLL per target token and token accuracy logged, the NLL picks the best checkpoint."""

    def __init__(self, vocab: TargetVocabulary, cfg: MidtrainModelConfig, blank: int = 0):
        self.vocab, self.cfg, self.blank = vocab, cfg, blank

    def loss(self, model: nn.Module, batch: dict, generator: torch.Generator | None = None):
        out = model(batch["source"], batch["padding_mask"], batch["prev_tokens"])
        target = batch["target_out"]
        lprobs = F.log_softmax(out.logits.float(), dim=-1)
        att, nll = label_smoothed_nll_loss(lprobs, target, self.cfg.label_smoothing, ignore_index=self.vocab.pad)
        w = self.cfg.ctc_weight
        loss = (1.0 - w) * att
        n = target.size(0)
        tokens = int(batch["target_out_lengths"].sum())
        real = target != self.vocab.pad
        correct = ((lprobs.argmax(-1) == target) & real).sum()
        stats: dict = {"nll": (nll.detach().double() / max(tokens, 1), tokens),
                       "acc": (100.0 * correct.double() / max(tokens, 1), tokens)}
        if w > 0 and out.ctc_logits is not None:
            lengths = (out.encoder_out.size(1) if out.encoder_padding_mask is None else
                       (~out.encoder_padding_mask).sum(-1))
            lengths = torch.as_tensor(lengths, device=target.device).expand(n) if not torch.is_tensor(lengths) \
                else lengths
            ctc_lp = F.log_softmax(out.ctc_logits.float(), dim=-1).transpose(0, 1)
            ctc = F.ctc_loss(ctc_lp, batch["target"], lengths, batch["target_lengths"], blank=self.blank,
                             reduction="sum", zero_infinity=True)
            loss = loss + w * ctc
            stats["ctc"] = ctc.detach().double() / max(n, 1)
        stats["loss"] = loss.detach().double() / max(n, 1)
        return loss, n, stats

    def on_update(self, model: nn.Module, num_updates: int) -> None:
        pass

    def valid_metric(self, stats: dict[str, float]) -> float:
        return stats["nll"]


def run_midtrain(cfg: MidtrainConfig, exp_dir: str | Path, *, resume: bool | Path = True, console=None,
                 hooks=None, allow_changes=()) -> dict:
    """Mid-train into ``exp_dir``; ``resume`` and ``allow_changes`` as
    :func:`asrkit.train.experiment.open_experiment`."""
    exp_dir = Path(exp_dir)
    with open_experiment(exp_dir, cfg, resume=resume, allow_changes=allow_changes, console=console) as exp:
        vocab = TargetVocabulary(_spm(cfg.data.target_tokenizer, "target_tokenizer"))
        source = _spm(cfg.data.source_tokenizer, "source_tokenizer") if cfg.model.ctc_weight > 0 else None
        torch.manual_seed(cfg.trainer.seed)
        model, encoder_cfg, origin = build_st_model(cfg.model, cfg.data, len(vocab),
                                                    len(source) if source is not None else 0)
        train, valid = midtrain_datasets(cfg, vocab, source, cfg.trainer.seed, console)
        header = checkpoint_header("midtrain", encoder_cfg, tokens=vocab.tokens, task=to_dict(cfg))
        trainer = Trainer(TranslationTask(vocab, cfg.model), model, train, valid, exp_dir, cfg.trainer, cfg.optim,
                          checkpoint_header=header, console=console, hooks=hooks)
        if trainer.rank == 0 and console is not None:
            params = sum(p.numel() for p in model.parameters()) / 1e6
            console.log(f"ST mid-training: {origin}; {params:.2f}M parameters, {len(vocab)} target tokens"
                        + (f", CTC on {len(source)} source units (weight {cfg.model.ctc_weight})" if source else "")
                        + f"; {len(train)} utterances ({float(train.sizes.sum()) / cfg.data.sample_rate / 3600:.2f} h)")
        return trainer.fit(resume=exp.resume_from or False)
