"""``asrkit decode``: a fine-tuned CTC model over a manifest, greedy or with a lexicon + n-gram LM (a translation
model's beam search with ``task: st``, :mod:`.translate`).

The LM, lexicon and token set are checked before any audio is read. With ``tune`` the LM
weight and word score are searched on a dev manifest (wav2vec 2.0 §4.4: LM weight in [0, 5],
word insertion score in [-5, 5]) and the best pair decodes the test manifest. Output, in
manifest order with one line per utterance: ``hyp.trn``, ``ref.trn`` (sclite), ``scores.tsv``,
and ``decode.yaml`` with the settings used (``tune.tsv`` with every trial when tuning).

With ``rescore_lm`` (a Transformer LM checkpoint) the beam search keeps ``nbest`` hypotheses per utterance and
:mod:`.rescore` ranks them again (its two weights tuned on dev with ``tune``, after the first pass's; the N-best
search runs in this process).

The network runs once per manifest; the beam search, single-threaded, dominates the time when
tuning (every trial searches the whole dev set). ``num_workers`` > 1 splits the utterances of
each trial and of the final decode across that many processes (:mod:`.parallel`), with the same
texts, scores and tuned weights as one process; the trials stay sequential, as the Bayesian
search proposes each from the results before it.
"""
from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import torch
import yaml

from ..checkpoint import load_model
from ..config import check_ranges, field_error, from_dict, load_config, to_dict
from ..data.tokenizer import token_unit
from ..precision import Precision
from ..score import score, write_trn
from . import write_hyp_trn, write_scores_tsv
from .greedy import greedy_decode
from .infer import Emissions, compute_emissions, resolve_device


@dataclass(frozen=True)
class DecodeOptions:
    lm: str = ""  # KenLM binary/ARPA or Transformer LM checkpoint; with ``lexicon`` selects lexicon beam search
    lexicon: str = ""  # flashlight lexicon (``asrkit lm train`` writes one)
    beam_size: int = 50  # 500 when tuning and 1,500 at test in the paper (§4.4)
    tune_beam_size: int = 0  # beam of the tuning trials on dev; 0 = beam_size (§4.4: 500 vs 1,500 at test)
    beam_threshold: float = 25.0
    lm_weight: float = 2.0
    word_score: float = 0.0  # word insertion score
    tune: str = ""  # dev manifest to tune lm_weight/word_score on
    trials: int = 32  # the paper runs 128
    tune_method: Literal["bayes", "random"] = "bayes"  # GP + expected improvement (as §4.4), or random search
    lm_weight_range: tuple[float, float] = (0.0, 5.0)
    word_score_range: tuple[float, float] = (-5.0, 5.0)
    seed: int = 0
    precision: Precision = "auto"  # bf16 / fp16: autocast; auto: bf16 with native hardware support
    max_tokens: int = 1_600_000  # samples per batch for the network
    resample: bool = False  # audio at another rate than the model's: resample it (else it is an error)
    num_workers: int = 1  # beam-search processes (0: one per CPU); the output does not depend on it
    # asr: a fine-tuned CTC model (greedy, or lexicon beam search with the LM); st: a mid-trained translation
    # model (its own decoder's beam search, beam_size wide; fairseq's speech-to-text default beam is 5)
    task: Literal["asr", "st"] = "asr"
    device: str = "auto"  # where the network runs: auto (cuda when torch sees a GPU), cpu, cuda, cuda:1
    len_penalty: float = 1.0  # st: hypotheses ranked by log P / length ** len_penalty (fairseq --lenpen)
    max_len_a: float = 0.0  # st: at most max_len_a * encoder frames + max_len_b tokens (fairseq --max-len-a/b)
    max_len_b: int = 200
    # N-best rescoring (§4.4's two LMs together): the lm beam's ``nbest`` best hypotheses ranked again with
    # a Transformer LM checkpoint, am + rescore_weight * log10 P + rescore_word_score * #words (tuned with ``tune``)
    rescore_lm: str = ""
    nbest: int = 1  # hypotheses the beam search keeps per utterance (fairseq --nbest)
    rescore_weight: float = 1.0
    rescore_word_score: float = 0.0

    def __post_init__(self) -> None:
        check_ranges(self, beam_size=">= 1", tune_beam_size=">= 0", beam_threshold=">= 0", lm_weight=">= 0",
                     word_score="any", trials=">= 1", lm_weight_range=">= 0", word_score_range="any", seed=">= 0",
                     max_tokens=">= 1", num_workers=">= 0", len_penalty="any", max_len_a=">= 0", max_len_b=">= 1",
                     nbest=">= 1", rescore_weight=">= 0", rescore_word_score="any")
        if self.rescore_lm and self.nbest < 2:
            raise field_error(self, "nbest", f"{self.nbest}: rescoring ranks N-best lists again; give nbest >= 2")
        for key in ("lm_weight_range", "word_score_range"):
            low, high = getattr(self, key)
            if low > high:
                raise field_error(self, key, f"[{low:g}, {high:g}]: the minimum is above the maximum")


def load_decode_options(config: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> DecodeOptions:
    """Decode options: the defaults, those of YAML file ``config`` over them (any field of
    :class:`DecodeOptions`), and ``overrides`` (``asrkit decode``'s flags given on the command line)
    over both. An unknown key or a value of the wrong type is a :class:`ConfigError` naming the
    file and the key."""
    opts = load_config(DecodeOptions, config)
    if not overrides:
        return opts
    return from_dict(DecodeOptions, {**to_dict(opts), **overrides}, str(config or "options"), overridden=overrides,
                     override_label=lambda key: "--" + key.split("[")[0].replace("_", "-"))


def decode_manifest(checkpoint: str | Path, manifest: str | Path, out_dir: str | Path, opts: DecodeOptions,
                    *, progress: Callable[[str, int, int], None] | None = None, log=print) -> dict:
    """Decode ``manifest``; returns ``{"wer": ..., "lm_weight": ..., "word_score": ...}`` (``"per"`` for a
    model over phones, which decodes greedily; ``task: st``: :func:`asrkit.decode.translate.translate_manifest`'s
    BLEU and chrF)."""
    if opts.task == "st":
        from .translate import translate_manifest

        return translate_manifest(checkpoint, manifest, out_dir, opts, progress=progress, log=log)
    from .beam import LexiconBeamDecoder
    from .lm import lexicon_words_missing_from_lm
    from .parallel import BeamSearchPool, resolve_num_workers

    num_workers = resolve_num_workers(opts.num_workers)
    out_dir = Path(out_dir)
    model, ckpt = load_model(checkpoint, kinds=("ctc",))
    tokens = list(ckpt.tokens)
    unit = token_unit(tokens)
    decoder = None
    if unit == "phone" and (opts.lm or opts.lexicon):
        raise ValueError(f"{checkpoint}: a phone model ({len(tokens) - 1} phones) decodes greedily: a lexicon "
                         "spells words in characters; leave out --lm and --lexicon")
    if opts.lm or opts.lexicon:
        if not (opts.lm and opts.lexicon):
            raise ValueError("beam search needs both --lm and --lexicon (greedy decoding needs neither)")
        if opts.rescore_lm:
            from .transformer_lm import is_transformer_lm

            if not Path(opts.rescore_lm).is_file() or not is_transformer_lm(opts.rescore_lm):
                raise ValueError(f"--rescore-lm {opts.rescore_lm}: not a Transformer LM checkpoint "
                                 "(asrkit lm train --type transformer writes one)")
        decoder = LexiconBeamDecoder(tokens, opts.lexicon, opts.lm, beam_size=opts.beam_size,
                                     beam_threshold=opts.beam_threshold, lm_weight=opts.lm_weight,
                                     word_score=opts.word_score)
        missing, words = lexicon_words_missing_from_lm(opts.lexicon, opts.lm)
        if missing:
            log(f"warning: {opts.lexicon}: {len(missing)} of its {words} words are not in the LM {opts.lm}, e.g. "
                f"{', '.join(missing[:5])}; the search scores them as <unk>: use the lexicon made from this LM's "
                "vocabulary (`asrkit lm train` writes both)")
    elif opts.rescore_lm:
        raise ValueError("--rescore-lm ranks the N-best lists of a beam search: give --lm and --lexicon too")

    def emissions(path, what):
        # the progress total; compute_emissions reads (and checks) the manifest itself
        n = sum(1 for _ in open(path, "rb")) - 1 if Path(path).is_file() else 0
        return compute_emissions(model, path, resample=opts.resample, max_tokens=opts.max_tokens,
                                 precision=opts.precision, device=resolve_device(opts.device),
                                 progress=(lambda k: progress(what, k, n)) if progress else None)

    def run(dec, em: Emissions) -> tuple[list[str], list[float]]:
        if dec is None:
            return [greedy_decode(lp[None], None, tokens)[0] for lp in em.log_probs], [0.0] * len(em.ids)
        results = [dec.decode(lp[None], torch.tensor([lp.size(0)]))[0] for lp in em.log_probs]
        return [r.text for r in results], [float(r.score) for r in results]

    lm_weight, word_score = opts.lm_weight, opts.word_score
    out_dir.mkdir(parents=True, exist_ok=True)
    tuning = bool(opts.tune) and decoder is not None
    # both emission sets first: the pool's workers receive them once, when they start
    dev = emissions(opts.tune, "dev emissions") if tuning else None
    em = emissions(manifest, "emissions")
    sets = {"test": em, **({"dev": dev} if dev is not None else {})}
    workers = min(num_workers, max(len(e.ids) for e in sets.values())) if decoder is not None else 1
    with contextlib.ExitStack() as stack:
        pool = None
        if workers > 1:  # one process: no pool, the search runs here
            pool = stack.enter_context(BeamSearchPool(workers, decoder, {k: e.log_probs for k, e in sets.items()}))

        def search(name: str, lw: float, ws: float, beam: int | None = None) -> tuple[list[str], list[float]]:
            """Emission set ``name`` with the given weights (and beam): in the pool, or here (greedy
            without a decoder)."""
            if pool is not None:
                return pool.decode(name, lw, ws, beam)
            return run(decoder.with_weights(lw, ws, beam) if decoder is not None else None, sets[name])

        if tuning:
            from .tune import tune_lm_weights

            refs = dict(zip(dev.ids, dev.refs))

            def dev_wer(lw: float, ws: float) -> float:
                hyps, _ = search("dev", lw, ws, opts.tune_beam_size or None)
                return score(refs, dict(zip(dev.ids, hyps))).total.wer

            (lm_weight, word_score), trials = tune_lm_weights(
                dev_wer, opts.trials, lm_weight_range=opts.lm_weight_range, word_score_range=opts.word_score_range,
                method=opts.tune_method, seed=opts.seed,
                progress=(lambda row: progress("tune", 1, opts.trials)) if progress else None)
            trials.to_csv(out_dir / "tune.tsv", sep="\t", index=False)
            log(f"tuned on {opts.tune}: lm_weight={lm_weight:.3f} word_score={word_score:.3f} "
                f"(dev WER {trials['wer'].min():.2f} over {len(trials)} trials)")
        if opts.rescore_lm:
            hyps, scores, rescore_weights = _rescore(decoder, opts, sets, lm_weight, word_score, tuning, out_dir,
                                                     progress, log)
        else:
            hyps, scores = search("test", lm_weight, word_score)
    write_hyp_trn(out_dir / "hyp.trn", em.ids, hyps)
    write_trn(out_dir / "ref.trn", dict(zip(em.ids, em.refs)))
    write_scores_tsv(out_dir / "scores.tsv", em.ids, hyps, scores)
    used = {**asdict(opts), "lm_weight": lm_weight, "word_score": word_score,
            "decoder": "lexicon" if decoder is not None else "greedy",
            "checkpoint": str(checkpoint), "manifest": str(manifest)}
    result = {"lm_weight": lm_weight, "word_score": word_score, "utterances": len(em.ids)}
    if opts.rescore_lm:
        used["rescore_weight"], used["rescore_word_score"] = rescore_weights
        result["rescore_weight"], result["rescore_word_score"] = rescore_weights
    used["lm_weight_range"], used["word_score_range"] = list(opts.lm_weight_range), list(opts.word_score_range)
    (out_dir / "decode.yaml").write_text(yaml.safe_dump(used, sort_keys=False))
    if any(r.split() for r in em.refs):
        phones = unit == "phone"
        report = score(dict(zip(em.ids, em.refs)), dict(zip(em.ids, hyps)), unit="phone" if phones else "word")
        result["per" if phones else "wer"] = report.total.wer
    return result


def _rescore(decoder, opts: DecodeOptions, sets: dict[str, Emissions], lm_weight: float, word_score: float,
             tuning: bool, out_dir: Path, progress, log) -> tuple[list[str], list[float], tuple[float, float]]:
    """The test set's texts and scores after N-best rescoring with ``opts.rescore_lm`` (:mod:`.rescore`), and the
    rescoring weights: ``opts``' or, when ``tuning``, those of the best dev WER (``tune_rescore.tsv``). The
    N-best search runs in this process (the worker pool returns single best hypotheses)."""
    from .rescore import NBestHyp, acoustic_score, rescore
    from .transformer_lm import LOG10, load_scorer

    scorer = load_scorer(opts.rescore_lm)
    first = decoder.with_weights(lm_weight, word_score, nbest=opts.nbest)

    def nbest_lists(name: str) -> list[list[NBestHyp]]:
        lists = []
        for k, lp in enumerate(sets[name].log_probs, 1):
            hyps = first.decode_nbest(lp)
            lm2 = scorer.sentence_logprobs([w for w, _ in hyps]) if hyps else []
            lists.append([NBestHyp(w, acoustic_score(s, first.lm_log10(w), len(w), lm_weight, word_score), l / LOG10)
                          for (w, s), l in zip(hyps, lm2)])
            if progress:
                progress(f"{name} {opts.nbest}-best", k, len(sets[name].ids))
        return lists

    weights = (opts.rescore_weight, opts.rescore_word_score)
    if tuning:
        from .tune import tune_lm_weights

        dev = sets["dev"]
        dev_lists, refs = nbest_lists("dev"), dict(zip(dev.ids, dev.refs))
        weights, trials = tune_lm_weights(
            lambda a, b: score(refs, dict(zip(dev.ids, rescore(dev_lists, a, b)[0]))).total.wer, opts.trials,
            lm_weight_range=opts.lm_weight_range, word_score_range=opts.word_score_range, method=opts.tune_method,
            seed=opts.seed)
        trials.to_csv(out_dir / "tune_rescore.tsv", sep="\t", index=False)
        log(f"tuned the rescoring on {opts.tune}: rescore_weight={weights[0]:.3f} "
            f"rescore_word_score={weights[1]:.3f} (dev WER {trials['wer'].min():.2f} over {len(trials)} trials)")
    hyps, scores = rescore(nbest_lists("test"), *weights)
    return hyps, scores, weights
