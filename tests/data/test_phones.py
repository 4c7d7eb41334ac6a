"""The one phone set and its foldings: TIMIT 61 -> 39 (Lee & Hon), CMUdict ARPAbet, espeak-ng's mnemonics."""
import pytest

from asrkit.data.phones import (ESPEAK_FOLD, PHONES, PHONES_48, TIMIT_PHONES, PhoneError, fold_48, fold_arpabet,
                                fold_espeak, fold_timit, fold_timit_48)


def test_the_set_is_lee_and_hons_39_without_silence():
    assert len(PHONES) == 38 and len(set(PHONES)) == 38 and "sil" not in PHONES
    assert all(p in PHONES for phones in ESPEAK_FOLD.values() for p in phones)


def test_timit_folding_merges_as_lee_and_hon_and_drops_silences():
    assert fold_timit("h# dh ix s pcl p ao r tcl t zh el en ux axr hv q pau".split()) == \
        "dh ih s p aa r t sh l n uw er hh".split()


def test_timit_folds_61_to_48_to_39_as_kaldis_map():
    assert len(TIMIT_PHONES) == len(set(TIMIT_PHONES)) == 61 and len(set(PHONES_48)) == 48
    # Kaldi egs/timit/s5/conf/phones.60-48-39.map rows: 61, 48, 39 (q has no row: dropped)
    rows = ["bcl vcl sil", "pcl cl sil", "h# sil sil", "pau sil sil", "epi epi sil", "ax-h ax ah", "ix ix ih",
            "el el l", "en en n", "em m m", "nx n n", "zh zh sh", "ao ao aa", "ux uw uw", "axr er er", "dx dx dx"]
    for row in rows:
        p61, p48, p39 = row.split()
        assert fold_timit_48([p61]) == [p48] and fold_48([p48]) == ([] if p39 == "sil" else [p39]), row
    assert fold_timit_48(["q", "H#", "IY"]) == ["sil", "iy"]  # LDC's upper-case .PHN labels too
    assert all(len(fold_timit([p])) <= 1 for p in TIMIT_PHONES)
    with pytest.raises(PhoneError, match="'xx' is not a TIMIT phone"):
        fold_timit(["xx"])
    with pytest.raises(PhoneError, match="'q' is not one of the 48"):
        fold_48(["q"])


def test_arpabet_loses_stress_and_folds_ao_and_zh():
    assert fold_arpabet("M EH1 ZH ER0".split()) == ["m", "eh", "sh", "er"]
    assert fold_arpabet(["AO1", "L"]) == ["aa", "l"]
    with pytest.raises(PhoneError, match="'DX' is not an ARPAbet phoneme"):
        fold_arpabet(["DX"])


def test_espeak_mnemonics_fold_with_stress_pauses_and_r_coloured_vowels():
    # espeak-ng en-us "please open the patio door", as the built-in corpus stores it
    events = ["p", "l", "'i:", "z", "'oU", "p", "@", "n", "D", "@2", "p", "'a", "t#", "I", ";", ",oU", "d", "'o@",
              "_:", "_"]
    assert fold_espeak(events) == "p l iy z ow p ah n dh ah p ae dx ih ow d aa r".split()
    with pytest.raises(PhoneError, match="espeak-ng phoneme 'xx' has no entry"):
        fold_espeak(["'xx"])
