"""The viseme renderer: phoneme events move the mouth; appearance is per speaker; same seed, same frames."""
import numpy as np
import pytest

from asrkit.data.synth.face import (
    FPS,
    VISEMES,
    make_appearance,
    mouth_track,
    num_frames,
    render_face,
    talking_face,
    viseme_of,
)

# "_ p a m _": silence, a bilabial closure, an open vowel, a bilabial, silence (ms)
EVENTS = [[0, "_"], [200, "p"], [320, "'a"], [560, "m"], [660, "_:"], [680, "_"]]
DURATION = 0.96
SILENCE, CLOSURE, VOWEL = 2, 7, 11  # frames: 80-120 ms, 280-320 ms (p), 440-480 ms (a)


def opening_area(frame: np.ndarray) -> int:
    """Pixels of the dark inner mouth or the teeth below the nose (the nostrils and eyes are above)."""
    lower = frame[int(frame.shape[0] * 0.4):].astype(int)
    dark = lower.max(-1) < 70
    teeth = (lower.min(-1) > 200) & (np.ptp(lower, -1) < 30)
    return int((dark | teeth).sum())


def test_espeak_mnemonics_map_to_visemes():
    assert viseme_of("'a") == ("open",) and viseme_of(",aa") == ("open",)
    assert viseme_of("p") == viseme_of("b") == viseme_of("m") == ("bilabial",)
    assert viseme_of("f") == viseme_of("v") == ("labiodental",)
    assert viseme_of("'u:") == ("close_round",) and viseme_of("w") == ("w",)
    assert viseme_of("_") == viseme_of("_:") == ("rest",)
    assert viseme_of("'aI") == ("open", "close_front")  # diphthongs: two targets
    assert viseme_of("I2") == viseme_of("I") and viseme_of("@5") == viseme_of("@")
    assert viseme_of("O~") == ("open_round",) and viseme_of("n^") == ("alveolar",)  # French, Italian
    assert viseme_of("**") == ("neutral",)  # unknown marks say almost nothing


def test_track_opens_for_open_vowels_and_closes_for_bilabials_and_silence():
    track = mouth_track(EVENTS, DURATION)
    assert track.shape == (num_frames(DURATION), 4) == (24, 4)
    assert track[VOWEL, 0] > 0.7
    assert track[CLOSURE, 0] < 0.1 and track[SILENCE, 0] < 0.05
    rounded = mouth_track([[0, "w"], [100, "'u:"], [300, "_"]], 0.4)
    spread = mouth_track([[0, "s"], [100, "'i:"], [300, "_"]], 0.4)
    assert rounded[4, 2] > 0.8 > 0.1 > spread[4, 2]  # round
    assert spread[4, 1] > 0.5 > -0.3 > rounded[4, 1]  # spread


@pytest.mark.parametrize("speaker", ["101", "2002", "30303"])
def test_mouth_opening_area_is_larger_during_open_vowels(speaker):
    frames = talking_face(EVENTS, DURATION, make_appearance(speaker), seed=3)
    assert frames.dtype == np.uint8 and frames.shape == (24, 96, 96, 3)
    area = [opening_area(f) for f in frames]
    assert area[VOWEL] > 60
    assert area[VOWEL] > 4 * max(area[SILENCE], area[CLOSURE], 1)


def test_same_seed_same_frames_other_seed_other_blinks_and_motion():
    app = make_appearance("7")
    track = mouth_track(EVENTS * 1, 0.96)
    a = render_face(np.repeat(track, 8, axis=0), app, seed=11)  # ~7.7 s: blinks happen
    b = render_face(np.repeat(track, 8, axis=0), app, seed=11)
    c = render_face(np.repeat(track, 8, axis=0), app, seed=12)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_appearance_differs_between_speakers_and_is_stable():
    apps = [make_appearance(str(s)) for s in range(6)]
    assert make_appearance("3") == apps[3]
    assert len({a.skin for a in apps}) == 6 and len({a.face_width for a in apps}) == 6
    track = mouth_track(EVENTS, DURATION)[:1]
    frames = [render_face(track, a, seed=0)[0].astype(int) for a in apps]
    assert min(np.abs(frames[i] - frames[j]).mean() for i in range(6) for j in range(i)) > 5
    assert set(apps[0].to_dict()) >= {"skin", "face_width", "offset", "light_angle"}


def test_frame_count_covers_the_audio():
    assert num_frames(1.0) == FPS and num_frames(1.001) == FPS + 1 and num_frames(0.0) == 1
    assert set(VISEMES) >= {"rest", "bilabial", "labiodental", "open", "close_round"}
