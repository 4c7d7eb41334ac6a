"""CTC fine-tuning: label checks at load time, a short run from a pre-trained checkpoint, decoding."""
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
import yaml

from asrkit.config import ConfigError
from asrkit.data.datasets import speed_perturb
from asrkit.data.manifest import read_manifest, write_manifest
from asrkit.data.tokenizer import (CharTokenizer, PhoneTokenizer, TokenizerError, load_tokenizer,
                                   train_sentencepiece)
from asrkit.checkpoint import LAST, load_model, read_checkpoint
from asrkit.decode.infer import compute_emissions
from asrkit.decode.greedy import greedy_decode
from asrkit.train.finetune import check_labels, load_finetune_config, run_finetune
from asrkit.train.metrics import read_metrics
from asrkit.train.pretrain import load_pretrain_config, run_pretrain

from .conftest import MICRO_MODEL


def test_char_tokenizer_round_trip_and_errors(tmp_path):
    tok = CharTokenizer()
    ids = tok.encode("IT'S A CAT")
    assert tok.tokens[ids[2]] == "'" and tok.tokens[ids[4]] == "|"
    assert tok.decode(ids) == "IT'S A CAT"
    with pytest.raises(TokenizerError, match="'x'"):
        tok.encode("xylophone")
    assert load_tokenizer(tok.save(tmp_path / "tokens.txt")).tokens == tok.tokens


def test_phone_tokenizer_round_trip_and_errors(tmp_path):
    tok = load_tokenizer("phones")  # data.tokenizer: phones, the 39 of asrkit.data.phones
    assert isinstance(tok, PhoneTokenizer) and len(tok) == 39 and tok.tokens[0] == "<blank>" and "|" not in tok.tokens
    ids = tok.encode("dh ah  k ae t")
    assert len(ids) == 5 and tok.decode(ids) == "dh ah k ae t"
    with pytest.raises(TokenizerError, match="phone 'zh'"):
        tok.encode("zh")  # a 61-set phone, folded away
    own = load_tokenizer(PhoneTokenizer(("a", "b")).save(tmp_path / "tokens.txt"))
    assert isinstance(own, PhoneTokenizer) and own.tokens == ["<blank>", "a", "b"]
    (tmp_path / "bad.txt").write_text("<blank>\na b\n")
    with pytest.raises(TokenizerError, match="bad.txt: phone 'a b'"):
        load_tokenizer(tmp_path / "bad.txt")


def test_sentencepiece_tokenizer(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("\n".join(["TURN ON THE KITCHEN LIGHT", "SET AN ALARM FOR SEVEN", "PLAY SOME JAZZ"] * 50))
    tok = train_sentencepiece(text, tmp_path / "spm", vocab_size=30)
    assert tok.tokens[0] == "<blank>" and len(tok) == 31
    assert tok.decode(tok.encode("TURN ON THE LIGHT")) == "TURN ON THE LIGHT"
    assert 0 not in tok.encode("PLAY SOME JAZZ")


def test_labels_ctc_cannot_learn_are_reported_at_load():
    df = pd.DataFrame({"id": ["ok", "long", "oov", "empty"], "num_samples": [16000, 1600, 16000, 16000],
                       "sample_rate": 16000, "text": ["HELLO", "A VERY LONG SENTENCE INDEED", "hello", ""]})
    frames = lambda n: n // 320  # noqa: E731
    keep, problems = check_labels(df, CharTokenizer(), frames, "m.tsv", 16000)
    assert keep.tolist() == [True, False, False, False]
    reasons = dict(problems)
    assert "needs" in reasons["long"] and "audio gives 5" in reasons["long"]
    assert "'h'" in reasons["oov"] and "empty" in reasons["empty"]


def test_repeated_letters_need_a_blank_between_them():
    df = pd.DataFrame({"id": ["a"], "num_samples": [5 * 320], "sample_rate": 16000, "text": ["AAAA"]})
    keep, problems = check_labels(df, CharTokenizer(), lambda n: n // 320, "m.tsv", 16000)
    assert not keep[0] and "needs 7" in problems[0][1]


def test_labels_are_checked_on_speed_perturbed_audio():
    """7 frames fit AAAA at speed 1.0 and 0.9 (7, 7.8 frames) but not 1.1 (6.4)."""
    df = pd.DataFrame({"id": ["a"], "num_samples": [7 * 320], "sample_rate": 16000, "speaker": "s",
                       "text": ["AAAA"]})
    keep, problems = check_labels(speed_perturb(df, [0.9, 1.0, 1.1]), CharTokenizer(),
                                  lambda n: n // 320, "m.tsv", 16000)
    assert keep.tolist() == [True, True, False]
    assert problems == [("sp1.1-a", "m.tsv: label needs 7 CTC frames, audio gives 6")]


@pytest.fixture(scope="module")
def pretrained(tone_data, tmp_path_factory):
    train, valid = tone_data
    exp = tmp_path_factory.mktemp("pt")
    cfg = load_pretrain_config(None, [f"data.train_manifest={train}", f"data.valid_manifest={valid}",
                                      "data.max_sample_size=16000", "data.min_sample_size=4000",
                                      "optim.max_updates=2", "trainer.max_tokens=40000", "trainer.tensorboard=false",
                                      "trainer.valid_every=2", "trainer.save_every=2"]
                              + [f"model.{k}={v!r}" if isinstance(v, str) else f"model.{k}={v}"
                                 for k, v in MICRO_MODEL.items()])
    run_pretrain(cfg, exp)
    return exp / "checkpoint_best.pt"


def finetune_config(tmp_path, tone_data, init, **optim):
    train, valid = tone_data
    arch = tmp_path / "micro.yaml"
    arch.write_text(yaml.safe_dump(MICRO_MODEL))
    cfg = {"model": {"init_checkpoint": str(init) if init else "", "arch": str(arch), "freeze_finetune_updates": 2,
                     "mask_channel_length": 4, "mask_prob": 0.3, "mask_length": 3},
           "data": {"train_manifest": str(train), "valid_manifest": str(valid)},
           "optim": {"lr": 1e-3, "max_updates": 4, **optim},
           "trainer": {"max_tokens": 40000, "log_every": 1, "valid_every": 2, "save_every": 2, "tensorboard": False}}
    path = tmp_path / "ft.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return load_finetune_config(path)


@pytest.mark.parametrize("from_pretrained", [True, False])
def test_finetune_runs_validates_wer_and_keeps_frozen_parts(pretrained, tone_data, tmp_path, from_pretrained):
    cfg = finetune_config(tmp_path, tone_data, pretrained if from_pretrained else None)
    run_finetune(cfg, tmp_path / "ft")
    valid = read_metrics(tmp_path / "ft" / "metrics.tsv")["valid"]
    assert [u for u, _ in valid["wer"]] == [2, 4]
    ckpt = read_checkpoint(tmp_path / "ft" / LAST)
    assert ckpt.kind == "ctc" and list(ckpt.tokens) == CharTokenizer().tokens
    assert ckpt.task["data"]["train_manifest"] == str(tone_data[0])  # the run's config
    assert (tmp_path / "ft" / "tokens.txt").read_text().split("\n")[0] == "<blank>"
    if from_pretrained:  # the feature encoder is frozen (§4.3): identical to the pre-trained one
        pre = read_checkpoint(pretrained).model
        for k, v in ckpt.model.items():
            if k.startswith("encoder.feature_encoder."):
                assert torch.equal(v, pre[k.removeprefix("encoder.")]), k


def test_speed_perturbation_triples_the_training_set_only(pretrained, tone_data, tmp_path):
    import dataclasses

    cfg = finetune_config(tmp_path, tone_data, pretrained, max_updates=2)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, speed_perturb=(0.9, 1.0, 1.1)))
    seen = {}
    run_finetune(cfg, tmp_path / "ft", hooks=[lambda t: seen.update(train=t.train_set, valid=t.valid_set)])
    ids = read_manifest(tone_data[0])["id"].tolist()
    train = seen["train"]
    assert sorted(train.ids.tolist()) == sorted(ids + [f"sp{f}-{i}" for f in ("0.9", "1.1") for i in ids])
    for i in ids[:2]:  # each copy is 1/speed as long as the original
        n = int(train.sizes[train.ids.tolist().index(i)])
        assert int(train.sizes[train.ids.tolist().index(f"sp1.1-{i}")]) == -(-n * 10 // 11)
        assert len(train[train.ids.tolist().index(f"sp0.9-{i}")]["source"]) == -(-n * 10 // 9)
    assert sorted(seen["valid"].ids.tolist()) == sorted(read_manifest(tone_data[1])["id"])
    assert yaml.safe_load((tmp_path / "ft" / "config.yaml").read_text())["data"]["speed_perturb"] == [0.9, 1.0, 1.1]
    with pytest.raises(ConfigError, match="speed_perturb: .*distinct"):  # checked with the config, before a run
        dataclasses.replace(cfg.data, speed_perturb=(1.0, 1.0))


def test_decoding_gives_one_emission_per_utterance_in_order(pretrained, tone_data, tmp_path):
    cfg = finetune_config(tmp_path, tone_data, pretrained, max_updates=2)
    run_finetune(cfg, tmp_path / "ft")
    model, ckpt = load_model(tmp_path / "ft" / "checkpoint_last.pt", kinds=("ctc",))
    tokens = ckpt.tokens
    df = read_manifest(tone_data[1])
    empty = tmp_path / "empty.flac"
    sf.write(empty, np.zeros(0, dtype=np.float32), 16000)
    df = pd.concat([df, pd.DataFrame([{**df.iloc[0].to_dict(), "id": "zero-length", "audio": str(empty),
                                       "num_samples": 0, "duration": 0.0}])], ignore_index=True)
    manifest = write_manifest(df, tmp_path / "with_empty.tsv")
    em = compute_emissions(model, manifest)
    assert em.ids == list(df["id"])
    assert em.log_probs[-1].shape == (0, len(tokens))
    texts = greedy_decode(torch.nn.utils.rnn.pad_sequence(em.log_probs, batch_first=True),
                          torch.tensor([len(x) for x in em.log_probs]), tokens)
    assert len(texts) == len(df) and texts[-1] == ""


def test_sentencepiece_model_finetunes_and_decodes_to_words(pretrained, tone_data, tmp_path):
    from asrkit.data.tokenizer import train_sentencepiece
    from asrkit.decode.run import DecodeOptions, decode_manifest

    text = tmp_path / "text.txt"
    text.write_text("\n".join(read_manifest(tone_data[0])["text"]) * 20)
    train_sentencepiece(text, tmp_path / "spm", vocab_size=20)
    cfg = finetune_config(tmp_path, tone_data, pretrained, max_updates=2)
    import dataclasses
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, tokenizer=str(tmp_path / "spm.model")))
    run_finetune(cfg, tmp_path / "ft")
    decode_manifest(tmp_path / "ft" / "checkpoint_last.pt", tone_data[1], tmp_path / "dec", DecodeOptions())
    hyp = (tmp_path / "dec" / "hyp.trn").read_text().splitlines()
    assert len(hyp) == len(read_manifest(tone_data[1]))


def test_phone_model_finetunes_validates_per_and_decodes_phones(tone_data, tmp_path):
    import dataclasses

    from asrkit.decode.run import DecodeOptions, decode_manifest
    from asrkit.score import read_trn

    manifests = []
    for path, phones in zip(tone_data, ("dh ah k ae t", "s ae t")):
        df = read_manifest(path).assign(text=phones)
        manifests.append(write_manifest(df, tmp_path / path.name))
    cfg = finetune_config(tmp_path, manifests, None, max_updates=2)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, tokenizer="phones"))
    run_finetune(cfg, tmp_path / "ft")
    valid = read_metrics(tmp_path / "ft" / "metrics.tsv")["valid"]
    assert [u for u, _ in valid["per"]] == [2] and "wer" not in valid  # the phone error rate picks the best
    ckpt = read_checkpoint(tmp_path / "ft" / LAST)
    assert list(ckpt.tokens) == PhoneTokenizer().tokens
    assert isinstance(load_tokenizer(tmp_path / "ft" / "tokens.txt"), PhoneTokenizer)
    result = decode_manifest(tmp_path / "ft" / LAST, manifests[1], tmp_path / "dec", DecodeOptions())
    assert "per" in result and "wer" not in result
    assert set(read_trn(tmp_path / "dec" / "ref.trn").values()) == {"s ae t"}
    hyps = read_trn(tmp_path / "dec" / "hyp.trn").values()
    assert all(p in PhoneTokenizer().tokens[1:] for h in hyps for p in h.split())
    with pytest.raises(ValueError, match="a phone model .* decodes greedily"):
        decode_manifest(tmp_path / "ft" / LAST, manifests[1], tmp_path / "lm", DecodeOptions(lm="x.bin", lexicon="l"))
