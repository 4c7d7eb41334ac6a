"""``asrkit midtrain``: speech-translation mid-training of an audio encoder from each kind of checkpoint, exact
resume, and the encoder it hands to ``asrkit finetune`` (only the encoder, no conversion)."""
from __future__ import annotations

import pandas as pd
import pytest
import torch
import yaml

from asrkit.checkpoint import LAST, load_model, read_checkpoint
from asrkit.config import ConfigError
from asrkit.data.manifest import read_manifest, write_manifest
from asrkit.data.tokenizer import load_tokenizer, train_sentencepiece
from asrkit.models.seq2seq import EncoderDecoderModel
from asrkit.testing import make_tone_manifest
from asrkit.testing.ctc import write_ctc_checkpoint
from asrkit.train.finetune import load_finetune_config, run_finetune
from asrkit.train.loop import TrainingInterrupted
from asrkit.train.metrics import read_metrics
from asrkit.train.midtrain import TargetVocabulary, TranslationDataset, load_midtrain_config, run_midtrain
from asrkit.train.pretrain import load_pretrain_config, run_pretrain

from .conftest import MICRO_MODEL
from .test_av_pretrain import MICRO_AV, av_config

def _translate(text: str) -> str:
    """A made-up target language: each English word with an "o" appended, the order reversed."""
    return " ".join(f"{w.lower()}o" for w in reversed(text.split()))


@pytest.fixture(scope="module")
def st_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("st")
    paths = []
    for name, n, seed in (("train.tsv", 8, 0), ("valid.tsv", 3, 1)):
        path = make_tone_manifest(d, n, seed=seed, name=name)
        df = read_manifest(path)
        df["translation"] = [_translate(t) for t in df["text"]]
        write_manifest(df, path)
        paths.append(path)
    df = pd.concat([read_manifest(p) for p in paths])
    (d / "src.txt").write_text("\n".join(df["text"].str.lower()) + "\n")
    (d / "tgt.txt").write_text("\n".join(df["translation"]) + "\n")
    src = train_sentencepiece(d / "src.txt", d / "src", vocab_size=30, model_type="char")
    tgt = train_sentencepiece(d / "tgt.txt", d / "tgt", vocab_size=30, model_type="char")
    return {"train": paths[0], "valid": paths[1], "src": src.model_path, "tgt": tgt.model_path}


def st_overrides(st_data, **extra) -> list[str]:
    values = {
        "model.arch": "av_tiny", "model.decoder": "tiny", "model.decoder.layers": 1, "model.decoder.embed_dim": 32,
        "model.decoder.ffn_embed_dim": 64, "model.decoder.attention_heads": 2,
        "data.train_manifest": st_data["train"], "data.valid_manifest": st_data["valid"],
        "data.target_tokenizer": st_data["tgt"], "data.source_tokenizer": st_data["src"],
        "optim.lr": 2e-3, "optim.max_updates": 4, "optim.update_freq": 2, "optim.warmup_ratio": 0.25,
        "trainer.max_tokens": 48000, "trainer.log_every": 1, "trainer.valid_every": 2, "trainer.save_every": 2,
        "trainer.num_workers": 0, "trainer.tensorboard": False, "trainer.seed": 4,
        **extra,
    }
    return [f"{k}={v}" for k, v in values.items()]


@pytest.fixture(scope="module")
def pretrained(st_data, tmp_path_factory):
    """A pretrain checkpoint of each family (the AV Conformer by MAE, wav2vec 2.0) and a fine-tuned CTC one."""
    d = tmp_path_factory.mktemp("pre")
    train = make_tone_manifest(d, 6, seed=5, name="train.tsv")
    valid = make_tone_manifest(d, 2, seed=6, name="valid.tsv")
    av = load_pretrain_config(av_config(d, (train, valid), "mae", model={"use_video": False}))
    run_pretrain(av, d / "av")
    w2v = {"model": MICRO_MODEL, "data": {"train_manifest": str(train), "valid_manifest": str(valid),
                                          "max_sample_size": 16000, "min_sample_size": 4000},
           "optim": {"max_updates": 2}, "trainer": {"max_tokens": 40000, "num_workers": 0, "tensorboard": False,
                                                    "valid_every": 2, "save_every": 2}}
    (d / "w2v.yaml").write_text(yaml.safe_dump(w2v))
    run_pretrain(load_pretrain_config(d / "w2v.yaml"), d / "w2v")
    ctc = write_ctc_checkpoint(d / "ctc.pt", MICRO_MODEL)
    return {"av": d / "av" / LAST, "w2v": d / "w2v" / LAST, "ctc": ctc}


def test_the_dataset_frames_the_translation_with_eos(st_data):
    vocab = TargetVocabulary(load_tokenizer(st_data["tgt"]))
    df = read_manifest(st_data["valid"])
    ds = TranslationDataset(df, vocab=vocab)
    batch = ds.collate([ds[0], ds[1]])
    ids = vocab.encode(df["translation"][0])
    n = len(ids) + 1
    assert batch["prev_tokens"][0, :n].tolist() == [vocab.eos] + ids
    assert batch["target_out"][0, :n].tolist() == ids + [vocab.eos]
    assert batch["target_out_lengths"][0] == n
    assert (batch["target_out"][0, n:] == vocab.pad).all() and vocab.pad == 0
    assert vocab.decode(batch["target_out"][0].tolist()) == df["translation"][0]


@pytest.mark.parametrize("init", ["scratch", "av", "w2v", "ctc"])
def test_midtraining_trains_from_each_kind_and_hands_over_the_encoder(st_data, pretrained, tmp_path, init):
    if init == "scratch":  # a micro Conformer of av_tiny's design, as a YAML arch
        arch = tmp_path / "arch.yaml"
        arch.write_text(yaml.safe_dump({**MICRO_AV, "use_video": False, "model_type": "av"}))
        extra = {"model.arch": arch}
    else:
        extra = {"model.init_checkpoint": pretrained[init]}
    cfg = load_midtrain_config(None, st_overrides(st_data, **extra))
    run_midtrain(cfg, tmp_path / "st")
    metrics = read_metrics(tmp_path / "st" / "metrics.tsv")
    for name in ("loss", "nll", "acc", "ctc"):
        assert name in metrics["train"], name
    assert "nll" in metrics["valid"]
    ckpt = read_checkpoint(tmp_path / "st" / LAST)
    assert ckpt.kind == "midtrain" and ckpt.tokens[-1] == "</s>" and ckpt.num_updates == 4
    model, _ = load_model(tmp_path / "st" / LAST)
    assert isinstance(model, EncoderDecoderModel) and model.ctc is not None
    if init != "scratch":  # the encoder started from the checkpoint's and trained
        source = read_checkpoint(pretrained[init])
        prefix = {"av": "audio_encoder.", "w2v": "", "ctc": "encoder."}[init]
        moved = [k for k, v in ckpt.model.items() if k.startswith("encoder.") and v.is_floating_point()
                 and prefix + k.removeprefix("encoder.") in source.model
                 and not torch.equal(v, source.model[prefix + k.removeprefix("encoder.")])]
        assert moved
    # fine-tuning takes the encoder and nothing else, with no conversion, bit-identical when frozen
    ft = load_finetune_config(None, [
        f"model.init_checkpoint={tmp_path / 'st' / LAST}", "model.freeze_encoder=true",
        "model.freeze_finetune_updates=0", f"data.train_manifest={st_data['train']}",
        f"data.valid_manifest={st_data['valid']}", f"data.tokenizer={st_data['src']}", "optim.max_updates=2",
        "trainer.max_tokens=48000", "trainer.valid_every=2", "trainer.save_every=2", "trainer.tensorboard=false",
        "trainer.num_workers=0"] + ([] if init != "w2v" else ["model.mask_prob=0.0", "model.mask_channel_prob=0.0"]))
    run_finetune(ft, tmp_path / "ctc")
    tuned = read_checkpoint(tmp_path / "ctc" / LAST).model
    encoder = {k: v for k, v in ckpt.model.items() if k.startswith("encoder.")}
    assert {k for k in tuned if k.startswith("encoder.")} <= set(encoder)
    assert all(torch.equal(tuned[k], encoder[k]) for k in tuned if k.startswith("encoder."))
    assert not any(k.startswith(("decoder.", "ctc.", "adapter.")) for k in tuned)


def test_interrupted_midtraining_resumes_to_the_same_result(st_data, pretrained, tmp_path):
    cfg = load_midtrain_config(None, st_overrides(st_data, **{"model.init_checkpoint": pretrained["av"]}))
    run_midtrain(cfg, tmp_path / "full")
    seen = {"n": 0}

    def stop_after_three(trainer):
        seen["n"] += 1
        if seen["n"] == 3:
            trainer.stop_requested = True

    with pytest.raises(TrainingInterrupted):
        run_midtrain(cfg, tmp_path / "split", hooks=[stop_after_three])
    run_midtrain(cfg, tmp_path / "split")
    full = dict(read_metrics(tmp_path / "full" / "metrics.tsv")["train"]["loss"])
    split = dict(read_metrics(tmp_path / "split" / "metrics.tsv")["train"]["loss"])
    assert sorted(full) == sorted(split) == [1, 2, 3, 4]
    assert all(split[k] == pytest.approx(full[k], rel=1e-5) for k in full)


def test_midtraining_config_errors_name_the_fix(st_data, tmp_path):
    cfg = load_midtrain_config(None, st_overrides(st_data, **{"data.target_tokenizer": ""}))
    with pytest.raises(ConfigError, match="target_tokenizer is not set"):
        run_midtrain(cfg, tmp_path / "a")
    plain = make_tone_manifest(tmp_path, 2, seed=9, name="plain.tsv")
    cfg = load_midtrain_config(None, st_overrides(st_data, **{"data.train_manifest": plain}))
    with pytest.raises(ConfigError, match="plain.tsv: no translation column.*prepare_mustc"):
        run_midtrain(cfg, tmp_path / "b")
    with pytest.raises(ConfigError, match="no decoder config 'huge'"):
        load_midtrain_config(None, ["model.decoder=huge"])
    assert load_midtrain_config(None, ["model.decoder=tiny", "model.decoder.layers=3"]).model.decoder.layers == 3


def test_decode_task_st_translates_and_scores_with_sacrebleu(st_data, pretrained, tmp_path):
    from click.testing import CliRunner

    from asrkit.cli import cli
    from asrkit.score.bleu import bleu_chrf

    cfg = load_midtrain_config(None, st_overrides(st_data, **{"model.init_checkpoint": pretrained["av"]}))
    run_midtrain(cfg, tmp_path / "st")
    out = tmp_path / "dec"
    result = CliRunner().invoke(cli, ["decode", "--task", "st", "--checkpoint", str(tmp_path / "st" / LAST),
                                      "--manifest", str(st_data["valid"]), "--out-dir", str(out), "--beam-size", "3",
                                      "--max-len-b", "12", "--precision", "fp32"])
    assert result.exit_code == 0, result.output
    assert "BLEU" in result.output and "nrefs:1|case:mixed" in result.output
    hyps = (out / "hyp.txt").read_text().splitlines()
    refs = (out / "ref.txt").read_text().splitlines()
    assert refs == [_translate(t) for t in read_manifest(st_data["valid"])["text"]] and len(hyps) == len(refs)
    scores = yaml.safe_load((out / "bleu.yaml").read_text())
    assert scores["bleu"] == pytest.approx(bleu_chrf(hyps, refs)["bleu"])
    assert all(len(h.split()) <= 12 for h in hyps)  # at most max_len_b character units
    # a CTC checkpoint is not a translation model: one line naming the kinds
    bad = CliRunner().invoke(cli, ["decode", "--task", "st", "--checkpoint", str(pretrained["av"]),
                                   "--manifest", str(st_data["valid"]), "--out-dir", str(out)])
    assert bad.exit_code != 0 and "Traceback" not in bad.output and "midtrain" in bad.output


def test_a_blstm_task_decoder_trains_on_a_frozen_midtrained_encoder(st_data, pretrained, tmp_path):
    """The paper's ASR protocol (§3.3): the encoder frozen, only a task decoder (SUPERB's BLSTM) trained; the
    decode reloads the head from the checkpoint's own config."""
    from asrkit.decode.run import DecodeOptions, decode_manifest
    from asrkit.models.heads import CTCModel, LSTMHead

    ft = load_finetune_config(None, [
        f"model.init_checkpoint={pretrained['av']}", "model.freeze_encoder=true", "model.head=lstm",
        "model.head_layers=1", "model.head_dim=16", "model.freeze_finetune_updates=0",
        f"data.train_manifest={st_data['train']}", f"data.valid_manifest={st_data['valid']}",
        f"data.tokenizer={st_data['src']}", "optim.max_updates=2", "optim.lr=1e-2", "trainer.max_tokens=48000",
        "trainer.valid_every=2", "trainer.save_every=2", "trainer.tensorboard=false", "trainer.num_workers=0"])
    run_finetune(ft, tmp_path / "ctc")
    tuned = read_checkpoint(tmp_path / "ctc" / LAST).model
    source = read_checkpoint(pretrained["av"]).model
    assert all(torch.equal(v, source["audio_" + k]) for k, v in tuned.items() if k.startswith("encoder."))
    assert any(k.startswith("head.lstm.") for k in tuned)
    model, _ = load_model(tmp_path / "ctc" / LAST)
    assert isinstance(model, CTCModel) and isinstance(model.head, LSTMHead) and model.head.output_dim == 32
    result = decode_manifest(tmp_path / "ctc" / LAST, st_data["valid"], tmp_path / "dec", DecodeOptions(precision="fp32"))
    assert result["utterances"] == 3 and "wer" in result
    with pytest.raises(ConfigError, match="head: 'gru'"):
        load_finetune_config(None, ["model.head=gru"])


def test_the_blstm_head_ignores_padding():
    from asrkit.models.heads import LSTMHead

    torch.manual_seed(0)
    head = LSTMHead(8, hidden=4, layers=2, dropout=0.0).eval()
    x = torch.randn(1, 5, 8)
    padded = torch.cat([x, torch.full((1, 3, 8), 1e3)], dim=1)
    alone = head(x, torch.tensor([5]))
    batch = head(torch.cat([padded, torch.randn(1, 8, 8)]), torch.tensor([5, 8]))
    assert torch.allclose(alone, batch[:1, :5], atol=1e-6)
