"""Recording-condition augmentation (asrkit.data.augment) and its use by AudioDataset (data.augment)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from asrkit.config import ConfigError
from asrkit.data.augment import (AugmentConfig, add_noise, apply_augment, babble, eq_response_db, gain_db,
                                 image_method_rir, measure_rt60, mic_eq, nonstationary_noise, random_room,
                                 reverberate, stationary_noise, telephone)
from asrkit.data.datasets import AudioDataset
from asrkit.data.manifest import manifest_row, write_manifest

SR = 16000


def _vowel(seconds: float = 1.0, f0: float = 120.0, seed: int = 0) -> np.ndarray:
    """A harmonic "vowel" up to 7.5 kHz (formant-like peaks at 700, 1200 and 2600 Hz) plus a little noise."""
    t = np.arange(int(seconds * SR)) / SR
    x = np.zeros_like(t)
    for k in range(1, int(7500 / f0) + 1):
        f = k * f0
        amp = sum(np.exp(-((f - fc) / 250.0) ** 2) for fc in (700, 1200, 2600)) + 0.05
        x += amp * np.sin(2 * np.pi * f * t + k)
    x += 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    return 0.3 * x / np.abs(x).max()


def _band_db(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2  # windowed: no leakage from the edges
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return 10 * np.log10(spec[(f >= lo) & (f < hi)].sum() + 1e-30)


def test_telephone_removes_energy_above_4khz_and_keeps_the_band():
    x = _vowel()
    y, rec = telephone(x, SR, np.random.default_rng(0))
    assert len(y) == len(x) and rec["codec"] == "mulaw"
    assert _band_db(x, 4200, 8000) - _band_db(y, 4200, 8000) > 40
    y_level = y / 10 ** (rec["gain_db"] / 20)  # the codec's input gain
    assert abs(_band_db(x, 300, 3400) - _band_db(y_level, 300, 3400)) < 3


def test_add_noise_gives_the_requested_snr():
    x = _vowel()
    for kind in ("white", "pink", "brown"):
        noise = stationary_noise(np.random.default_rng(1), len(x), kind)
        y = add_noise(x, noise, 7.5)
        assert 10 * np.log10(np.mean(x ** 2) / np.mean((y - x) ** 2)) == pytest.approx(7.5, abs=0.1)


def test_noise_generators_have_unit_rms_and_their_colour():
    rng = np.random.default_rng(0)
    white, brown = stationary_noise(rng, SR, "white"), stationary_noise(rng, SR, "brown")
    assert np.sqrt(np.mean(white ** 2)) == pytest.approx(1.0) and np.sqrt(np.mean(brown ** 2)) == pytest.approx(1.0)
    tilt = lambda s: _band_db(s, 50, 500) - _band_db(s, 4000, 8000)  # noqa: E731
    assert tilt(brown) > tilt(white) + 20
    ns, rec = nonstationary_noise(rng, 3 * SR, SR)
    frames = ns[: 3 * SR // 800 * 800].reshape(-1, 800)
    level = 10 * np.log10(np.mean(frames ** 2, axis=1))
    assert level.max() - level.min() > 6 and set(rec) == {"alpha", "bursts"}  # it changes over time
    b = babble(rng, [_vowel(0.3, f0) for f0 in (100, 140, 180, 220)], SR)
    assert len(b) == SR and np.sqrt(np.mean(b ** 2)) == pytest.approx(1.0)


def test_apply_augment_records_an_snr_within_the_range():
    x = _vowel(0.5)
    cfg = AugmentConfig(noise=1.0, snr_db=(3.0, 9.0), noise_types=("stationary", "nonstationary"))
    for seed in range(20):
        y, rec = apply_augment(x, SR, cfg, np.random.default_rng(seed))
        assert 3.0 <= rec["noise"]["snr_db"] <= 9.0 and set(rec) <= {"noise", "limit_db"}
        if "limit_db" not in rec:
            snr = 10 * np.log10(np.mean(x ** 2) / np.mean((y.astype(np.float64) - x) ** 2))
            assert snr == pytest.approx(rec["noise"]["snr_db"], abs=0.1)


def test_babble_without_a_source_falls_back_and_with_one_uses_it():
    x = _vowel(0.5)
    cfg = AugmentConfig(noise=1.0, noise_types=("babble",))
    _, rec = apply_augment(x, SR, cfg, np.random.default_rng(0))
    assert rec["noise"]["type"] == "stationary"
    _, rec = apply_augment(x, SR, cfg, np.random.default_rng(0),
                           lambda rng, k: [_vowel(0.3, 100 + 20 * i, seed=i) for i in range(k)])
    assert rec["noise"]["type"] == "babble" and 3 <= rec["noise"]["talkers"] <= 6


@pytest.mark.parametrize("room,rt60", [((6.0, 5.0, 3.0), 0.4), ((9.0, 7.0, 3.5), 0.7)])
def test_rir_decays_at_the_requested_rt60(room, rt60):
    rir = image_method_rir(room, (1.5, 1.2, 1.5), (3.5, 2.9, 1.4), rt60, SR)
    assert measure_rt60(rir, SR) == pytest.approx(rt60, rel=0.3)


def test_reverberation_fills_the_silence_after_an_offset():
    dry = np.concatenate([_vowel(0.5), np.zeros(SR // 2)])
    wet = reverberate(dry, image_method_rir((5.0, 4.0, 3.0), (1.0, 1.0, 1.5), (3.5, 2.5, 1.2), 0.6, SR))
    assert len(wet) == len(dry) and np.sqrt(np.mean(wet ** 2)) == pytest.approx(np.sqrt(np.mean(dry ** 2)))
    after = slice(SR // 2 + 80, SR // 2 + int(0.2 * SR))  # the 200 ms after the offset
    assert np.sum(wet[after] ** 2) > 1e3 * (np.sum(dry[after] ** 2) + 1e-12)
    # the direct path is kept at time 0: the wet signal lines up with the dry one
    assert np.argmax(np.correlate(wet[:4000], dry[:4000], "full")) - 3999 == 0


def test_random_room_keeps_its_promises():
    for seed in range(20):
        r = random_room(np.random.default_rng(seed))
        room, s, m = (np.array(r[k]) for k in ("room", "source", "mic"))
        assert 0.15 <= r["rt60"] <= 0.8 and np.all(s >= 0.5) and np.all(room - s >= 0.5 - 1e-3)
        assert np.all(m >= 0.5) and np.all(room - m >= 0.5 - 1e-3)


def test_mic_eq_and_gain_change_the_spectrum_and_level_by_what_they_record():
    x = stationary_noise(np.random.default_rng(3), 4 * SR, "white")
    y, bands = mic_eq(x, SR, np.random.default_rng(5))
    assert 1 <= len(bands) <= 2
    # spectral ratio averaged over 60 frames against the recorded bands' response
    frames = lambda s: np.abs(  # noqa: E731
        np.fft.rfft(s[1024: 1024 + 60 * 1024].reshape(60, 1024) * np.hanning(1024))) ** 2
    ratio = 10 * np.log10(frames(y).mean(0) / frames(x).mean(0))
    freqs = np.fft.rfftfreq(1024, 1 / SR)
    inside = (freqs > 100) & (freqs < 7000)
    assert np.abs(ratio - eq_response_db(bands, freqs, SR))[inside].mean() < 0.5
    assert np.sqrt(np.mean(gain_db(x, -6.0) ** 2)) == pytest.approx(10 ** (-6 / 20), rel=1e-6)
    y, rec = apply_augment(0.1 * x, SR, AugmentConfig(gain_db=(-10.0, 3.0)), np.random.default_rng(2))
    assert -10 <= rec["gain_db"] <= 3
    assert 20 * np.log10(np.sqrt(np.mean(y.astype(np.float64) ** 2)) / 0.1) == pytest.approx(rec["gain_db"], abs=0.02)


def test_same_seed_same_output_other_seed_other():
    x = _vowel(0.5)
    cfg = AugmentConfig(rir=1.0, noise=1.0, eq=1.0, telephone=1.0, gain_db=(-3.0, 3.0))
    a, rec_a = apply_augment(x, SR, cfg, np.random.default_rng(7))
    b, rec_b = apply_augment(x, SR, cfg, np.random.default_rng(7))
    c, rec_c = apply_augment(x, SR, cfg, np.random.default_rng(8))
    assert np.array_equal(a, b) and rec_a == rec_b
    assert not np.array_equal(a, c) and rec_a != rec_c
    assert a.dtype == np.float32 and len(a) == len(x) and np.abs(a).max() <= 0.99 + 1e-6
    assert list(rec_a)[:5] == ["rir", "noise", "eq", "gain_db", "telephone"]


@pytest.mark.parametrize("kwargs,key", [({"rir": 1.5}, "rir"), ({"snr_db": (20.0, 5.0)}, "snr_db"),
                                        ({"noise_types": ("wind",)}, "noise_types")])
def test_config_refuses_bad_values_naming_the_field(kwargs, key):
    with pytest.raises(ConfigError, match=rf"^AugmentConfig\.{key}: ") as e:
        AugmentConfig(**kwargs)
    assert "\n" not in str(e.value)
    assert not AugmentConfig().enabled and AugmentConfig(eq=0.1).enabled and AugmentConfig(gain_db=(-1, 1)).enabled


def _dataset(tmp_path, augment=None, **kwargs) -> AudioDataset:
    rows = []
    for i in range(5):
        path = tmp_path / f"utt{i}.wav"
        sf.write(path, _vowel(0.4, 100 + 15 * i, seed=i).astype(np.float32), SR, subtype="FLOAT")
        rows.append(manifest_row(f"utt{i}", path, "spk", f"text {i}"))
    return AudioDataset(write_manifest(pd.DataFrame(rows), tmp_path / "train.tsv"), augment=augment, **kwargs)


def test_dataset_augments_training_items_per_seed_epoch_index(tmp_path):
    cfg = AugmentConfig(rir=0.5, noise=1.0, eq=0.5, telephone=0.3)
    clean, ds = _dataset(tmp_path), _dataset(tmp_path, cfg, seed=3)
    a = ds[2]["source"]
    assert a.dtype == torch.float32 and len(a) == len(clean[2]["source"])
    assert not torch.equal(a, clean[2]["source"])
    assert torch.equal(a, _dataset(tmp_path, cfg, seed=3)[2]["source"])  # a re-run epoch sees the same
    ds.set_epoch(1)
    assert not torch.equal(ds[2]["source"], a)


def test_dataset_without_augment_is_unchanged(tmp_path):
    clean = _dataset(tmp_path)
    off = _dataset(tmp_path, AugmentConfig())
    assert off.augment is None
    for i in range(len(clean)):
        assert torch.equal(off[i]["source"], clean[i]["source"])


def test_pretrain_config_carries_data_augment(tmp_path):
    from asrkit.train.pretrain import load_pretrain_config, pretrain_datasets

    cfg = load_pretrain_config(None, ["data.augment.rir=0.5", "data.augment.snr_db=[0, 10]"])
    assert cfg.data.augment == AugmentConfig(rir=0.5, snr_db=(0.0, 10.0))
    conf = tmp_path / "conf.yaml"
    conf.write_text("data: {augment: {noise: 0.3, snr_db: [5, 20]}}\n")
    assert load_pretrain_config(conf).data.augment == AugmentConfig(noise=0.3)
    with pytest.raises(ConfigError, match=r"^--set data\.augment\.rir: 1\.5 is out of range"):
        load_pretrain_config(None, ["data.augment.rir=1.5"])
    manifest = _dataset(tmp_path).source
    data = type(cfg.data)(train_manifest=manifest, valid_manifest=manifest, min_sample_size=0,
                          augment=AugmentConfig(noise=1.0))
    train, valid = pretrain_datasets(data, seed=0)
    assert train.augment == AugmentConfig(noise=1.0) and valid.augment is None
