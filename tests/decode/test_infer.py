"""Emissions over a manifest: audio is read at the model's sample rate and normalisation (from its config),
and audio at another rate is refused unless resampling is asked for."""
from __future__ import annotations

import pandas as pd
import pytest
import soundfile as sf
import torch

from asrkit.checkpoint import checkpoint_header
from asrkit.data.audio import AudioError
from asrkit.data.manifest import manifest_row, write_manifest
from asrkit.data.tokenizer import CharTokenizer
from asrkit.decode.infer import compute_emissions
from asrkit.decode.run import DecodeOptions, decode_manifest
from asrkit.models import Wav2Vec2Config, wav2vec2_model
from asrkit.models.heads import Wav2Vec2ForCTC
from asrkit.testing import tone

from ..train.conftest import MICRO_MODEL

TOKENS = CharTokenizer().tokens


@pytest.fixture(scope="module")
def ctc(tmp_path_factory):
    """A micro CTC model (16 kHz, normalised input) and its checkpoint."""
    torch.manual_seed(0)
    encoder = wav2vec2_model(Wav2Vec2Config.from_dict({**MICRO_MODEL, "normalize": True}))
    model = Wav2Vec2ForCTC(encoder, len(TOKENS)).eval()
    path = tmp_path_factory.mktemp("ctc") / "ctc.pt"
    torch.save({**checkpoint_header("ctc", encoder.cfg, tokens=TOKENS), "model": model.state_dict()}, path)
    return model, path


def _manifest(root, rate: int):
    """Three tone utterances at ``rate``: the same signals at every rate."""
    rows = []
    for i, seconds in enumerate((0.5, 0.8, 1.1)):
        path = root / f"{rate}-{i}.flac"
        sf.write(path, tone(seconds, rate, freq=200 + 50 * i, seed=i), rate)
        rows.append(manifest_row(f"spk-{i}", path, "spk", "A CAT"))
    return write_manifest(pd.DataFrame(rows), root / f"{rate}.tsv")


def test_audio_at_another_rate_is_refused_naming_the_utterance_its_file_and_the_rates(ctc, tmp_path):
    model, path = ctc
    manifest = _manifest(tmp_path, 8000)
    with pytest.raises(AudioError) as e:
        compute_emissions(model, manifest)
    message = str(e.value)
    assert "\n" not in message and "utterance 'spk-0'" in message and str(tmp_path / "8000-0.flac") in message
    assert "8000 Hz" in message and "16000 Hz" in message and "--resample" in message and "2 more" in message
    with pytest.raises(AudioError, match="--resample"):
        decode_manifest(path, manifest, tmp_path / "dec", DecodeOptions())


def test_resampled_audio_gives_the_frames_of_audio_at_the_model_s_rate(ctc, tmp_path):
    model, path = ctc
    native = compute_emissions(model, _manifest(tmp_path, 16000))
    resampled = compute_emissions(model, _manifest(tmp_path, 8000), resample=True)
    assert [lp.shape for lp in resampled.log_probs] == [lp.shape for lp in native.log_probs]
    result = decode_manifest(path, tmp_path / "8000.tsv", tmp_path / "dec", DecodeOptions(resample=True))
    assert result["utterances"] == 3


@pytest.mark.parametrize("normalize", [True, False])
def test_the_model_s_normalisation_is_applied(normalize, tmp_path):
    torch.manual_seed(0)
    encoder = wav2vec2_model(Wav2Vec2Config.from_dict({**MICRO_MODEL, "normalize": normalize}))
    model = Wav2Vec2ForCTC(encoder, len(TOKENS)).eval()
    before = compute_emissions(model, _manifest(tmp_path, 16000))
    for i in range(3):  # the same audio at half the level: normalised, the input is the same up to FLAC's rounding
        audio = tmp_path / f"16000-{i}.flac"
        wav, rate = sf.read(audio, dtype="float32")
        sf.write(audio, 0.5 * wav, rate)
    after = compute_emissions(model, tmp_path / "16000.tsv")
    change = max(float((a - b).abs().max()) for a, b in zip(before.log_probs, after.log_probs))
    assert change < 5e-3 if normalize else change > 1e-2
