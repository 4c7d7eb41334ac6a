"""Model architectures. Pick one by name from ``ARCHS`` (``asrkit.models.factory``); each entry builds a
randomly initialised model from its typed config (or a named config in ``asrkit/conf/model``).
``wav2vec2_model`` builds any of them from a config's ``model_type``; the others check that the config is
theirs."""
from asrkit.models.factory import ARCHS, sew_d_model, sew_model, wav2vec2_base, wav2vec2_large, wav2vec2_model
from asrkit.models.quantizer import GumbelVectorQuantizer, QuantizerOutput
from asrkit.models.wav2vec2 import Wav2Vec2Config, Wav2Vec2Model, Wav2Vec2Output, load_wav2vec2_config

__all__ = [
    "ARCHS",
    "GumbelVectorQuantizer",
    "QuantizerOutput",
    "Wav2Vec2Config",
    "Wav2Vec2Model",
    "Wav2Vec2Output",
    "load_wav2vec2_config",
    "sew_d_model",
    "sew_model",
    "wav2vec2_base",
    "wav2vec2_large",
    "wav2vec2_model",
]
