"""asrkit checkpoints as Hugging Face ``transformers`` directories (``asrkit export --to hf``).

What transformers can hold exactly is exported (``HF_CLASSES`` of ``asrkit.models.checkpoint_export``):

- a pretrain checkpoint of wav2vec 2.0 -> ``Wav2Vec2ForPreTraining`` (quantizer, ``project_q`` and
  ``project_hid`` included; ``Wav2Vec2Model`` when its heads are SEW's MLPs), of SEW / SEW-D ->
  ``SEWModel`` / ``SEWDModel`` (transformers has no SEW pre-training model: the heads are left out);
- a ctc checkpoint -> ``Wav2Vec2ForCTC`` / ``SEWForCTC`` / ``SEWDForCTC``, with the processor files:
  ``vocab.json`` (asrkit's tokens, in order), ``tokenizer_config.json`` and ``special_tokens_map.json``
  of a ``Wav2Vec2CTCTokenizer`` whose pad token is the CTC blank and whose word delimiter is ``|``, and
  ``preprocessor_config.json`` of a ``Wav2Vec2FeatureExtractor`` reading audio as asrkit does (the
  checkpoint's ``sample_rate``; ``do_normalize`` = its ``normalize``; an attention mask for layer-norm
  feature encoders only, as transformers advises for group-norm ones).

Everything else is refused with a ``NotExportable`` naming what and why: midtrain and superb checkpoints,
the audio-visual model's Conformer, the filter-bank front end, pre-LN SEW, an LSTM CTC head,
sentencepiece tokens (``Wav2Vec2CTCTokenizer`` maps a delimiter token to a space, not a ``\u2581`` inside
pieces). The tokenizer has no unknown, begin or end token, so its ids are exactly the model's outputs.

Decoding the argmax ids with ``processor.batch_decode`` gives asrkit's greedy transcript
(``asrkit.decode.greedy``), except where the best path holds an empty word (``| <blank> |``): transformers
keeps both spaces, asrkit one. transformers normalises the waveform with eps 1e-7 where asrkit uses 1e-5
(``normalize_waveform``), a relative difference of about 1e-5 / variance; and it normalises a padded batch
without an attention mask (group-norm models) over the padding too, asrkit each utterance alone.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .checkpoint import KINDS, Checkpoint, encoder_weights, read_checkpoint
from .data.tokenizer import WORD_BOUNDARY
from .models.checkpoint_export import NotExportable, to_hf

EXPORTABLE_KINDS = ("pretrain", "ctc")


@dataclass(frozen=True)
class HFExport:
    out_dir: Path
    hf_class: str  # the transformers class, e.g. Wav2Vec2ForCTC
    num_parameters: int
    files: tuple[str, ...]  # written into out_dir
    dropped: tuple[str, ...]  # what of the checkpoint is not in the export, and why


def _ctc_parts(ckpt: Checkpoint) -> tuple[dict, dict]:
    """The classifier weights and the transformers config values of a ctc checkpoint; ``NotExportable``
    for a head or tokens transformers' CTC models cannot hold."""
    head = ckpt.task.get("model") if isinstance(ckpt.task.get("model"), dict) else {}
    if head.get("head", "linear") != "linear":
        raise NotExportable(f"CTC head {head['head']!r} (a BLSTM task decoder before the classifier): "
                            "transformers' CTC models have a linear head only")
    tokens = ckpt.tokens
    if not tokens:
        raise NotExportable("CTC checkpoint without its token list")
    if WORD_BOUNDARY not in tokens:
        raise NotExportable("CTC tokens are sentencepiece pieces ('\u2581' starts a word): Wav2Vec2CTCTokenizer "
                            f"decodes characters separated by a word delimiter token ('{WORD_BOUNDARY}') only")
    if len(set(tokens)) != len(tokens):
        raise NotExportable("CTC token list holds a token twice: vocab.json maps each token to one id")
    classifier = {name: ckpt.model.get(f"classifier.{name}") for name in ("weight", "bias")}
    if any(v is None for v in classifier.values()):
        raise NotExportable("CTC checkpoint without its classifier's weights (classifier.weight, classifier.bias)")
    config_values = dict(
        vocab_size=len(tokens), pad_token_id=0, bos_token_id=None, eos_token_id=None,  # the blank is index 0
        final_dropout=float(head.get("final_dropout", 0.0)),
        ctc_loss_reduction="sum", ctc_zero_infinity=True,  # as asrkit finetune
    )
    return classifier, config_values


def write_ctc_processor(out_dir: Path, tokens: tuple[str, ...], sample_rate: int, normalize: bool,
                        attention_mask: bool) -> None:
    """``vocab.json``, ``tokenizer_config.json``, ``special_tokens_map.json``, ``preprocessor_config.json`` and
    ``processor_config.json`` of a ``Wav2Vec2Processor`` for ``tokens`` (blank first)."""
    from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2Processor

    vocab_file = out_dir / "vocab.json"
    vocab_file.write_text(json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False, indent=2) + "\n",
                          encoding="utf-8")
    tokenizer = Wav2Vec2CTCTokenizer(str(vocab_file), pad_token=tokens[0], word_delimiter_token=WORD_BOUNDARY,
                                     unk_token=None, bos_token=None, eos_token=None, do_lower_case=False)
    features = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=sample_rate, padding_value=0.0,
                                        do_normalize=normalize, return_attention_mask=attention_mask)
    Wav2Vec2Processor(feature_extractor=features, tokenizer=tokenizer).save_pretrained(out_dir)
    features.save_pretrained(out_dir)  # preprocessor_config.json: transformers 5 keeps it in processor_config.json
    # transformers 5 writes no special_tokens_map.json; transformers 4 reads the special tokens from it
    (out_dir / "special_tokens_map.json").write_text(json.dumps({"pad_token": tokens[0]}, indent=2) + "\n",
                                                     encoding="utf-8")


@contextlib.contextmanager
def _no_progress_bars():
    """transformers' progress bars off (save_pretrained draws one per file), as they were after."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir}: is a file; give a directory to export into")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir}: is not empty; give a new or empty directory (an export into an old one "
                              "would mix its files with the new ones)")


def export_hf(checkpoint: str | Path, out_dir: str | Path) -> HFExport:
    """Write the transformers ``save_pretrained`` directory of an asrkit pretrain or ctc checkpoint into the new
    (or empty) ``out_dir``: ``config.json``, ``model.safetensors`` and, for ctc, the processor files. The files
    go to a temporary directory beside it that is renamed when complete, so a failed export leaves nothing.
    ``NotExportable`` (with the checkpoint's path) for what transformers cannot hold."""
    checkpoint, out_dir = Path(checkpoint), Path(out_dir)
    _check_out_dir(out_dir)
    ckpt = read_checkpoint(checkpoint, KINDS)
    try:
        if ckpt.kind not in EXPORTABLE_KINDS:
            raise NotExportable(f"{KINDS[ckpt.kind]}: transformers holds wav2vec 2.0 / SEW / SEW-D encoders and "
                                f"their CTC models only (checkpoint kinds {', '.join(EXPORTABLE_KINDS)})")
        classifier, config_values = _ctc_parts(ckpt) if ckpt.kind == "ctc" else (None, {})
        exported = to_hf(ckpt.model_config, encoder_weights(ckpt), classifier, **config_values)
    except NotExportable as e:
        raise NotExportable(f"{checkpoint}: not exportable: {e}") from e

    cfg = ckpt.model_config
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.tmp")
    try:
        tmp.mkdir()
        with _no_progress_bars():
            exported.model.save_pretrained(tmp)
        if ckpt.kind == "ctc":
            write_ctc_processor(tmp, ckpt.tokens, cfg.sample_rate, cfg.normalize, cfg.extractor_mode == "layer_norm")
        with contextlib.suppress(FileNotFoundError):
            out_dir.rmdir()  # empty, checked above
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return HFExport(out_dir, type(exported.model).__name__, sum(p.numel() for p in exported.model.parameters()),
                    tuple(sorted(p.name for p in out_dir.iterdir())), exported.dropped)

