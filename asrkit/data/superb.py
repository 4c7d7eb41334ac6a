"""SUPERB's downstream tasks (Yang et al., 2021; s3prl ``downstream/``) as asrkit manifests: keyword spotting
(KS), intent classification (IC), phoneme recognition (PR) and speaker diarization (SD), the four tasks of the
multi-stage paper's Figure 2 (Jain et al., 2024; notes §2.7).

Every task reads ``<dir>/{train,dev,test}.tsv``: manifests of :mod:`asrkit.data.manifest` (``id audio
num_samples sample_rate duration speaker text``, ``offset`` in samples for a slice of a longer file) with the
task's columns after them:

==== ====================================================================================================
task columns
==== ====================================================================================================
ks   ``label``: one of 12 classes, 10 keywords + ``_unknown_`` + ``_silence_`` (Speech Commands v0.01, s3prl
     ``speech_commands``); a ``_silence_`` row is a 1 s slice (``offset``) of a background-noise file
ic   ``action``, ``object``, ``location``: Fluent Speech Commands' three slots (s3prl ``fluent_commands``:
     an utterance is right when all three are)
pr   ``phones``: space-separated phones of :data:`asrkit.data.phones.PHONES` (no silence: CTC has its blank)
sd   two-speaker mixtures; ``<split>.rttm`` beside ``<split>.tsv`` holds each mixture's speech segments as
     RTTM lines ``SPEAKER <id> 1 <start s> <duration s> <NA> <NA> <speaker> <NA> <NA>`` (LibriMix-style,
     s3prl ``diarization``); ``speaker`` is the mixture's speakers joined by ``,``
==== ====================================================================================================

Corpora into these manifests: the real ones (``local/prepare_speech_commands.py``,
``local/prepare_fluent_commands.py``, ``local/prepare_librispeech_phones.py``, ``local/prepare_librimix.py``,
through :mod:`asrkit.data.superb_corpora`), and the built-in analogs (``asrkit prepare synth-superb``), which
are written in the real corpora's layouts and read by the same code.
"""
from __future__ import annotations

TASKS = ("ks", "ic", "pr", "sd")
SPLITS = ("train", "dev", "test")
UNKNOWN, SILENCE = "_unknown_", "_silence_"
# Speech Commands v0.01's ten keywords (s3prl speech_commands: CLASSES), and the built-in corpus's: command
# words its grammar says (it never says yes, no or right)
SPEECH_COMMANDS_KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
SYNTH_KEYWORDS = ("on", "off", "up", "down", "stop", "go", "play", "pause", "open", "close")
IC_SLOTS = ("action", "object", "location")  # Fluent Speech Commands' columns
