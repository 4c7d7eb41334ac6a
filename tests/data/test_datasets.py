"""AudioDataset: reading, normalization, crops, filtering, resampling, collation."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from asrkit.data.audio import AudioError, read_audio
from asrkit.data.datasets import AudioDataset, speed_perturb
from asrkit.data.manifest import manifest_row, write_manifest
from asrkit.data.samplers import BucketBatchSampler
from asrkit.testing import time_limit


def _wav(path: Path, n: int, rate: int = 16000, seed: int = 0) -> Path:
    """``n`` samples of offset, scaled noise: far from zero mean and unit variance."""
    wav = 0.2 + 0.1 * np.random.default_rng(seed).standard_normal(n)
    sf.write(path, wav.astype(np.float32), rate, subtype="FLOAT")
    return path


def _manifest(tmp_path: Path, sizes: list[int], rate: int = 16000) -> Path:
    rows = [
        manifest_row(f"utt{i}", _wav(tmp_path / f"utt{i}.wav", n, rate, seed=i), "spk", f"text {i}")
        for i, n in enumerate(sizes)
    ]
    return write_manifest(pd.DataFrame(rows), tmp_path / "train.tsv")


def test_reads_manifest_in_order(tmp_path):
    ds = AudioDataset(_manifest(tmp_path, [800, 1200]))
    assert list(ds.ids) == ["utt0", "utt1"] and ds.sizes.tolist() == [800, 1200]
    item = ds[1]
    assert item["id"] == "utt1" and item["source"].dtype == torch.float32
    torch.testing.assert_close(item["source"], read_audio(tmp_path / "utt1.wav"))


def test_normalize_gives_zero_mean_unit_variance(tmp_path):
    path = _manifest(tmp_path, [4000])
    raw = AudioDataset(path)[0]["source"]
    assert abs(float(raw.mean()) - 0.2) < 0.01
    wav = AudioDataset(path, normalize=True)[0]["source"]
    assert abs(float(wav.mean())) < 1e-4 and abs(float(wav.std()) - 1) < 1e-3


def test_random_crop_is_deterministic_per_seed_epoch_index(tmp_path):
    path = _manifest(tmp_path, [5000, 300])
    full = read_audio(tmp_path / "utt0.wav")
    ds = AudioDataset(path, max_sample_size=1000, seed=3)
    assert ds.sizes.tolist() == [1000, 300]
    crops = []
    for epoch in range(4):
        ds.set_epoch(epoch)
        crop = ds[0]["source"]
        assert len(crop) == 1000 and len(ds[1]["source"]) == 300
        start = int(torch.nonzero(full == crop[0])[0])
        torch.testing.assert_close(crop, full[start : start + 1000])
        crops.append(start)
    assert len(set(crops)) > 1  # the crop moves between epochs
    again = AudioDataset(path, max_sample_size=1000, seed=3)
    again.set_epoch(2)
    torch.testing.assert_close(again[0]["source"], full[crops[2] : crops[2] + 1000])


def test_start_crop_takes_the_beginning(tmp_path):
    ds = AudioDataset(_manifest(tmp_path, [5000]), max_sample_size=1000, crop="start")
    torch.testing.assert_close(ds[0]["source"], read_audio(tmp_path / "utt0.wav")[:1000])


def test_short_utterances_are_skipped(tmp_path):
    ds = AudioDataset(_manifest(tmp_path, [500, 2000, 100]), min_sample_size=400)
    assert list(ds.ids) == ["utt0", "utt1"] and list(ds.skipped) == ["utt2"]
    assert "min_sample_size=400" in ds.skipped["utt2"]


def test_collate_pads_to_longest_with_mask(tmp_path):
    ds = AudioDataset(_manifest(tmp_path, [800, 1200, 500]))
    batch = ds.collate([ds[0], ds[1], ds[2]])
    assert batch["ids"] == ["utt0", "utt1", "utt2"]
    assert batch["source"].shape == (3, 1200) and batch["padding_mask"].shape == (3, 1200)
    assert batch["lengths"].tolist() == [800, 1200, 500]
    assert batch["padding_mask"].sum(1).tolist() == [400, 0, 700]
    assert not batch["padding_mask"][0, :800].any() and batch["padding_mask"][0, 800:].all()
    assert (batch["source"][batch["padding_mask"]] == 0).all()
    torch.testing.assert_close(batch["source"][2, :500], ds[2]["source"])


def test_collate_without_padding_crops_to_shortest(tmp_path):
    ds = AudioDataset(_manifest(tmp_path, [800, 1200, 500]), pad_to_batch_max=False, seed=1)
    items = [ds[0], ds[1], ds[2]]
    batch = ds.collate(items)
    assert batch["source"].shape == (3, 500) and batch["lengths"].tolist() == [500] * 3
    assert not batch["padding_mask"].any()
    full = items[1]["source"]
    start = int(torch.nonzero(full == batch["source"][1, 0])[0])
    torch.testing.assert_close(batch["source"][1], full[start : start + 500])
    torch.testing.assert_close(ds.collate(items)["source"], batch["source"])


def test_labels_give_padded_targets(tmp_path):
    ds = AudioDataset(
        _manifest(tmp_path, [800, 1200, 9000]), labels=lambda text: [ord(c) for c in text],
        max_sample_size=5000, pad_id=-1,
    )
    assert list(ds.skipped) == ["utt2"]  # cropping would cut its transcript
    batch = ds.collate([ds[0], ds[1]])
    assert batch["target_lengths"].tolist() == [6, 6]
    assert batch["target"][0].tolist() == [ord(c) for c in "text 0"]
    short = ds.collate([{**ds[0], "target": torch.tensor([7, 8])}, ds[1]])
    assert short["target"][0].tolist() == [7, 8, -1, -1, -1, -1]


def test_segment_offset_reads_the_segment(tmp_path):
    path = _wav(tmp_path / "rec.wav", 6000)
    df = pd.DataFrame([
        {"id": "seg0", "audio": str(path), "num_samples": 1000, "sample_rate": 16000, "duration": 0.0625,
         "speaker": "s", "text": "a", "offset": 0},
        {"id": "seg1", "audio": str(path), "num_samples": 2500, "sample_rate": 16000, "duration": 0.15625,
         "speaker": "s", "text": "b", "offset": 3000},
    ])
    write_manifest(df, tmp_path / "seg.tsv")
    ds = AudioDataset(tmp_path / "seg.tsv", max_sample_size=2000, crop="start")
    full = read_audio(path)
    torch.testing.assert_close(ds[0]["source"], full[:1000])
    torch.testing.assert_close(ds[1]["source"], full[3000:5000])


def test_other_rate_needs_resample(tmp_path):
    path = _manifest(tmp_path, [4000], rate=8000)
    with pytest.raises(AudioError, match="8000 Hz.*resample"):
        AudioDataset(path)
    ds = AudioDataset(path, resample=True)
    assert ds.sizes.tolist() == [8000] and len(ds[0]["source"]) == 8000
    cropped = AudioDataset(path, resample=True, max_sample_size=3000, seed=1)
    assert len(cropped[0]["source"]) == 3000


def test_speed_perturb_copies_rows_kaldi_style(tmp_path):
    df = pd.DataFrame({"id": ["a", "b"], "speaker": ["s1", "s2"], "num_samples": [100, 200],
                       "sample_rate": [16000, 16000]})
    sp = speed_perturb(df, [0.9, 1.0, 1.1])
    assert sp["id"].tolist() == ["sp0.9-a", "sp0.9-b", "a", "b", "sp1.1-a", "sp1.1-b"]
    assert sp["speaker"].tolist()[:3] == ["sp0.9-s1", "sp0.9-s2", "s1"]
    assert sp["speed"].tolist() == [0.9, 0.9, 1.0, 1.0, 1.1, 1.1]
    assert speed_perturb(df, []) is df
    for bad in ([0.9, 0.9], [0.3], [1.0, 3.0]):
        with pytest.raises(ValueError, match="distinct and in"):
            speed_perturb(df, bad)


@pytest.mark.parametrize("rate", [16000, 8000])
def test_speed_perturbed_copy_is_faster_and_higher(tmp_path, rate):
    """sox speed 1.1: 1/1.1 of the duration, every frequency x 1.1; 0.9 the other way."""
    n = rate  # one second of a 400 Hz tone
    tone = 0.5 * np.sin(2 * np.pi * 400 * np.arange(n) / rate)
    sf.write(tmp_path / "tone.wav", tone.astype(np.float32), rate, subtype="FLOAT")
    df = pd.DataFrame([manifest_row("tone", tmp_path / "tone.wav", "spk", "a")])
    ds = AudioDataset(speed_perturb(df, [0.9, 1.0, 1.1]), resample=True)
    assert ds.ids.tolist() == ["sp0.9-tone", "tone", "sp1.1-tone"]
    assert ds.sizes.tolist() == [17778, 16000, 14546]  # ceil(16000 / speed)
    for i, speed in enumerate([0.9, 1.0, 1.1]):
        wav = ds[i]["source"]
        assert len(wav) == ds.sizes[i]
        spectrum = torch.fft.rfft(wav[1000:-1000] * torch.hann_window(len(wav) - 2000))
        peak_hz = float(spectrum.abs().argmax()) * 16000 / (len(wav) - 2000)
        assert abs(peak_hz - 400 * speed) < 3, (speed, peak_hz)


def test_stale_manifest_is_an_error(tmp_path):
    path = _manifest(tmp_path, [1000])
    _wav(tmp_path / "utt0.wav", 600)
    with pytest.raises(AudioError, match="regenerate"):
        AudioDataset(path)[0]


def test_dataloader_with_bucket_sampler(tmp_path):
    ds = AudioDataset(_manifest(tmp_path, [800, 1200, 500, 3000, 2000]), max_sample_size=2500)
    sampler = BucketBatchSampler(ds.sizes, 5000, ids=ds.ids)
    loader = DataLoader(ds, batch_sampler=sampler, collate_fn=ds.collate)
    seen = []
    for batch in loader:
        assert batch["source"].numel() <= 5000
        seen += batch["ids"]
    assert sorted(seen) == sorted(ds.ids)


def test_length_filters_log_what_they_left_out_and_an_emptied_set_is_an_error(tmp_path):
    from asrkit.config import ConfigError
    from asrkit.data.datasets import check_length_filters

    path = _manifest(tmp_path, [500, 2000, 100, 3000])
    lines = []
    ds = AudioDataset(path, min_sample_size=400, max_sample_size=2500, labels=lambda t: [1])
    check_length_filters(ds, "training", 5000, lines.append)
    assert lines == [f"{path}: data.min_sample_size=400 (0.03 s) left out 1 of 4 training utterances (shorter): utt2",
                     f"{path}: data.max_sample_size=2500 (0.16 s) left out 1 of 4 training utterances (longer): utt3"]
    with pytest.raises(ConfigError, match=rf"^{path}: validation utterance 'utt1' has 2000 samples, more than "
                                          r"trainer.max_tokens=1000 \(the samples of one batch\): raise"):
        check_length_filters(ds, "validation", 1000)
    empty = AudioDataset(path, min_sample_size=4000, max_sample_size=50, labels=lambda t: [1])
    with pytest.raises(ConfigError, match=rf"^{path}: no training utterance is left after the length filters: "
                                          r"data.min_sample_size=4000 \(0.25 s\) removes 4 of 4; its utterances have "
                                          r"100 to 3000 samples \(0.01 s to 0.19 s\): lower data.min_sample_size$"):
        check_length_filters(empty, "training")


def test_pretrain_and_finetune_report_both_sets(tmp_path):
    from asrkit.config import ConfigError
    from asrkit.data.tokenizer import CharTokenizer
    from asrkit.train.finetune import FinetuneDataConfig, finetune_datasets
    from asrkit.train.pretrain import PretrainDataConfig, pretrain_datasets

    (tmp_path / "t").mkdir()
    (tmp_path / "v").mkdir()
    train, valid = _manifest(tmp_path / "t", [4000, 20000, 30000]), _manifest(tmp_path / "v", [3000, 30000])
    lines = []
    pretrain_datasets(PretrainDataConfig(str(train), str(valid), min_sample_size=5000, max_sample_size=25000), 0,
                      40000, lines.append)
    assert [line.split(": ", 1)[1] for line in lines] == [
        "data.min_sample_size=5000 (0.31 s) left out 1 of 3 training utterances (shorter): utt0",
        "data.min_sample_size=5000 (0.31 s) left out 1 of 2 validation utterances (shorter): utt0"]

    class Console:
        log = lines.append

    lines.clear()  # fine-tuning skips what is too long for its transcript instead of cropping it
    cfg = FinetuneDataConfig(str(train), str(valid), min_sample_size=3500, max_sample_size=25000)
    finetune_datasets(cfg, CharTokenizer(tuple("tex0123")), lambda n: n // 320, 0, Console, 40000)
    assert [line.split(": ", 1)[1] for line in lines] == [
        "data.max_sample_size=25000 (1.56 s) left out 1 of 3 training utterances (longer): utt2",
        "data.min_sample_size=3500 (0.22 s) left out 1 of 2 validation utterances (shorter): utt0"]
    (tmp_path / "w").mkdir()
    short = _manifest(tmp_path / "w", [3000, 3200])
    with pytest.raises(ConfigError, match=rf"^{short}: no validation utterance is left .* removes 2 of 2"):
        finetune_datasets(dataclasses.replace(cfg, valid_manifest=str(short)), CharTokenizer(tuple("tex0123")),
                          lambda n: n // 320, 0)


def test_unreadable_audio_is_named_with_its_manifest_line(tmp_path):
    path = _manifest(tmp_path, [1000, 1000, 1000])
    (tmp_path / "utt1.wav").unlink()
    with pytest.raises(AudioError, match=rf"^{path}:3: utterance 'utt1': {tmp_path / 'utt1.wav'}: does not exist"):
        AudioDataset(path)[1]
    _wav(tmp_path / "utt1.wav", 500, rate=8000)  # another file at another rate: not what the manifest describes
    with pytest.raises(AudioError, match=r"utt1.wav is 8000 Hz and 500 samples long, but its manifest line says "
                                         r"16000 Hz and 1000 samples"):
        AudioDataset(path)[1]
    wav = np.zeros(1000, np.float32)
    wav[10] = np.inf
    sf.write(tmp_path / "utt2.wav", wav, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=rf"^{path}:4: utterance 'utt2': .*utt2.wav: sample 10 is inf"):
        AudioDataset(path)[2]
    os.mkfifo(tmp_path / "utt0.wav.fifo")
    os.replace(tmp_path / "utt0.wav.fifo", tmp_path / "utt0.wav")  # opening it would block: it is not opened
    with time_limit(30), pytest.raises(AudioError, match=r"utt0.wav: is a named pipe \(FIFO\), not a regular file"):
        AudioDataset(path)[0]


def test_other_rate_advice_names_what_exists(tmp_path):
    sf.write(tmp_path / "cd.wav", np.zeros(441, np.float32), 44100)
    with pytest.raises(AudioError) as e:
        read_audio(tmp_path / "cd.wav", sample_rate=16000)
    assert "resample: true" not in str(e.value)
    assert all(s in str(e.value) for s in ("sox", "ffmpeg", "asrkit decode --resample", "data.sample_rate: 44100"))
