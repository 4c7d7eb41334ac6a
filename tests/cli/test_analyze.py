"""`asrkit analyze codes`: a tiny random pre-trained model on a tiny built-in corpus gives the counts, the
P(phone | code) figure and the summary; what has no quantizer is one error line."""
import json

import pandas as pd
import pytest

from asrkit.data.librispeech import prepare_librispeech
from asrkit.data.manifest import read_manifest, write_manifest
from asrkit.data.synth.corpus import SynthConfig, generate_corpus

from ..models.test_checkpoint_export import ctc_checkpoint, pretrain_checkpoint, tiny_config

TINY_CORPUS = dict(pretrain_hours=0.002, finetune_folds=1, fold_minutes=0.02, dev_minutes=0.05, test_minutes=0.02,
                   train_speakers=2, dev_speakers=1, test_speakers=1, unseen_minutes=0, engines="espeak",
                   num_workers=1)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    generate_corpus(root / "synth", SynthConfig(**TINY_CORPUS))
    prepare_librispeech(root / "synth", root / "manifests", splits=["dev"])
    return root


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    return pretrain_checkpoint(tmp_path_factory.mktemp("ckpt") / "pretrain.pt", tiny_config("wav2vec2_group_norm"))


def test_codes_of_a_synth_corpus_give_counts_figure_and_summary(corpus, pretrained, tmp_path, run_cli):
    dev = read_manifest(corpus / "manifests" / "dev.tsv")
    extra = dev.iloc[:1].assign(id="9999-1-0000")  # audio the metadata knows under another id
    write_manifest(pd.concat([dev, extra]), tmp_path / "dev_plus.tsv")
    res = run_cli("analyze", "codes", "--checkpoint", pretrained, "--manifest", tmp_path / "dev_plus.tsv",
                  "--top", 20, "--device", "cpu", "--out-dir", tmp_path / "codes")
    assert res.exit_code == 0, res.output
    for text in ("phone purity", "PNMI", "1 utterance(s) without alignment", "9999-1-0000"):
        assert text in res.output, text
    summary = json.loads((tmp_path / "codes" / "summary.json").read_text())
    assert summary["utterances"] == len(dev) + 1 and summary["utterances_analysed"] == len(dev)
    assert summary["utterances_without_alignment"] == 1 and summary["without_alignment"] == ["9999-1-0000"]
    assert summary["receptive_field_samples"] == 30 and summary["stride_samples"] == 20  # tiny_config's convs
    assert summary["codes_possible"] == 8 ** 2 and 1 <= summary["codes_used"] <= 64
    assert 0 < summary["phone_purity"] <= 1 and 0 <= summary["pnmi"] <= 1 and 0 <= summary["heldout_phone_purity"] <= 1
    assert summary["mutual_information"] == pytest.approx(summary["phone_entropy"] - summary["conditional_entropy"])
    counts = pd.read_csv(tmp_path / "codes" / "code_phone_counts.tsv", sep="\t")
    assert list(counts.columns[:3]) == ["code", "entries", "frames"] and counts.columns[-1] == "sil"
    assert counts["frames"].sum() == summary["frames_with_phone"] and counts["frames"].is_monotonic_decreasing
    png = (tmp_path / "codes" / "p_phone_given_code.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_codes_with_an_alignment_file_and_without_silence(corpus, pretrained, tmp_path, run_cli):
    dev = read_manifest(corpus / "manifests" / "dev.tsv")
    first = dev.iloc[0]
    (tmp_path / "dev.ali").write_text(f"{first['id']} 0.0 0.2 h#\n{first['id']} 0.2 {first['duration']} aa\n")
    res = run_cli("analyze", "codes", "--checkpoint", pretrained, "--manifest", corpus / "manifests" / "dev.tsv",
                  "--alignments", tmp_path / "dev.ali", "--no-silence", "--device", "cpu", "--out-dir", tmp_path / "o")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["utterances_analysed"] == 1 and summary["utterances_without_alignment"] == len(dev) - 1
    assert summary["phone_purity"] == 1.0 and summary["phone_entropy"] == 0.0  # every frame left is aa
    # the first 3200 samples are silent: frames 0-159 of 30 samples every 20 (frame 159, [3180, 3210), holds 20
    # silent samples and 10 of aa); silence wins them, so they are left out rather than given to aa
    assert summary["frames_silent_left_out"] == 160
    assert "sil" not in pd.read_csv(tmp_path / "o" / "code_phone_counts.tsv", sep="\t").columns


def test_a_checkpoint_without_quantizer_is_one_error_line(corpus, tmp_path, run_cli_as_user):
    ckpt = ctc_checkpoint(tmp_path / "ctc.pt", tiny_config("wav2vec2_group_norm"))
    res = run_cli_as_user("analyze", "codes", "--checkpoint", ckpt, "--manifest", corpus / "manifests" / "dev.tsv",
                          "--out-dir", tmp_path / "codes")
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {ckpt}: a fine-tuned CTC model"), res.output
    assert "pre-trained" in lines[0] and not (tmp_path / "codes").exists()
