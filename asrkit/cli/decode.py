"""``asrkit decode`` (a fine-tuned model over a manifest, :mod:`asrkit.decode.run`) and ``asrkit score``
(its hypotheses against the references, :mod:`asrkit.score`)."""
from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from ..precision import PRECISIONS
from .ui import CONTEXT, console, fail, given_options, progress_bars


# One flag per field of asrkit.decode.run.DecodeOptions, named after it, with its default (a test
# holds them together; the options are not imported here, which would load torch for every command).
@click.command("decode", context_settings=CONTEXT)
@click.option("--checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Fine-tuned CTC checkpoint (asrkit finetune), or a mid-trained one with --task st.")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Utterances to decode.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="hyp.trn, ref.trn, scores.tsv, decode.yaml (and tune.tsv).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="YAML file of decode options: the options below, snake_case (beam_size: 1500); "
                   "options given on the command line override it.")
@click.option("--lm", default="", help="KenLM model (binary or ARPA) or Transformer LM checkpoint (asrkit lm train "
                                       "--type transformer); with --lexicon: lexicon beam search.")
@click.option("--lexicon", default="", help="Flashlight lexicon (written by `asrkit lm train`).")
@click.option("--beam-size", default=50, help="Beam size (paper: 500 when tuning, 1500 at test).")
@click.option("--tune-beam-size", default=0,
              help="Beam size of the --tune trials (0: --beam-size); a smaller one makes tuning cheaper.")
@click.option("--beam-threshold", default=25.0, help="Prune hypotheses this far below the best.")
@click.option("--lm-weight", default=2.0, help="LM weight (ignored with --tune).")
@click.option("--word-score", default=0.0, help="Word insertion score (ignored with --tune).")
@click.option("--tune", default="", help="Dev manifest: search LM weight and word score on it first.")
@click.option("--trials", default=32, help="Tuning trials (paper: 128).")
@click.option("--tune-method", type=click.Choice(["bayes", "random"]), default="bayes",
              help="Gaussian-process Bayesian optimisation (as §4.4) or random search.")
@click.option("--lm-weight-range", type=(float, float), default=(0.0, 5.0), metavar="MIN MAX",
              help="LM weights --tune searches (§4.4: [0, 5]).")
@click.option("--word-score-range", type=(float, float), default=(-5.0, 5.0), metavar="MIN MAX",
              help="Word scores --tune searches (§4.4: [-5, 5]).")
@click.option("--seed", default=0, help="Seed of the search.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="auto",
              help="Network precision; auto: bf16 where the hardware has native bf16 (asrkit.precision), else fp32.")
@click.option("--max-tokens", default=1_600_000, help="Audio samples per batch of the network.")
@click.option("--resample", is_flag=True, default=False,
              help="Resample audio whose rate is not the model's (else such audio is an error).")
@click.option("--num-workers", default=1,
              help="Processes for the beam search, tuning trials and decode alike (0: one per CPU); "
                   "the output is the same for any number.")
@click.option("--task", type=click.Choice(["asr", "st"]), default="asr",
              help="asr: a fine-tuned CTC checkpoint; st: a mid-trained translation checkpoint (asrkit midtrain), "
                   "beam search of its decoder, BLEU and chrF with sacrebleu.")
@click.option("--device", default="auto", help="Where the network runs: auto (a GPU when torch sees one), cpu, cuda.")
@click.option("--len-penalty", default=1.0, help="st: rank hypotheses by log P / length ** LEN_PENALTY.")
@click.option("--max-len-a", default=0.0, help="st: at most MAX_LEN_A * encoder frames + MAX_LEN_B tokens.")
@click.option("--max-len-b", default=200, help="st: see --max-len-a.")
@click.option("--rescore-lm", default="",
              help="Transformer LM checkpoint: rank the --lm beam's --nbest hypotheses again with it.")
@click.option("--nbest", default=1, help="Hypotheses the beam search keeps per utterance (for --rescore-lm).")
@click.option("--rescore-weight", default=1.0, help="Weight of the --rescore-lm log10 score (ignored with --tune).")
@click.option("--rescore-word-score", default=0.0, help="Word score of the rescoring (ignored with --tune).")
@click.pass_context
def decode_cmd(ctx: click.Context, checkpoint: Path, manifest: Path, out_dir: Path, config_path: Path | None,
               **options):
    """Decode a manifest with a fine-tuned model: greedy CTC, or lexicon beam search with an n-gram or
    Transformer LM, optionally with N-best rescoring by a Transformer LM; or translate it with a mid-trained
    model (--task st).

    \b
    Examples:
      asrkit decode --checkpoint exp/pretrained_10m/checkpoint_best.pt --manifest data/manifests/test.tsv \\
          --out-dir exp/pretrained_10m/test_greedy
      asrkit decode --checkpoint exp/pretrained_10m/checkpoint_best.pt --manifest data/manifests/test.tsv \\
          --out-dir exp/pretrained_10m/test_4gram_tlm --lm data/lm/4gram.bin --lexicon data/lm/lexicon.txt \\
          --tune data/manifests/dev.tsv --beam-size 500 --tune-beam-size 50 --num-workers 2 \\
          --rescore-lm exp/transformer_lm/checkpoint_best.pt --nbest 50
    """
    from ..data.audio import AudioError
    from ..data.manifest import ManifestError
    from ..data.tokenizer import TokenizerError
    from ..decode import LMError, TokenMismatch
    from ..decode.run import decode_manifest, load_decode_options

    try:  # a ConfigError (bad --config) is a ValueError
        opts = load_decode_options(config_path, given_options(ctx, options))
        with progress_bars() as update:
            result = decode_manifest(checkpoint, manifest, out_dir, opts, progress=update, log=console.log)
    except (ValueError, ManifestError, AudioError, TokenizerError, LMError, TokenMismatch) as e:
        fail(str(e))
    wer = "".join(f", {k.upper()} {result[k]:.2f} %" for k in ("wer", "per") if k in result)
    bleu = f", BLEU {result['bleu']:.2f} ({result['bleu_signature']})" if "bleu" in result else ""
    console.print(f"decoded {result['utterances']} utterances -> {out_dir}/hyp.trn{wer}{bleu}")


@click.command("score", context_settings=CONTEXT)
@click.option("--ref", "ref_trn", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Reference transcripts, sclite trn format: TEXT (utt_id).")
@click.option("--hyp", "hyp_trn", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Hypotheses, sclite trn format.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write per_utt.tsv, per_speaker.tsv and error_pairs.tsv here (default: beside --hyp).")
@click.option("--results", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Append a results row (exp, decoder, split, wer, cer, S/D/I, ...) to this TSV.")
@click.option("--exp", "exp_name", default="", help="Experiment name for the results row.")
@click.option("--decoder", default="", help="Decoder name for the results row (e.g. greedy, 4gram).")
@click.option("--split", default="", help="Data split for the results row (e.g. test).")
@click.option("--top", default=10, help="Most frequent substitutions, deletions and insertions to show.")
@click.option("--unit", type=click.Choice(["auto", "word", "phone"]), default="auto",
              help="word: WER and CER; phone: the phone error rate (PER) over space-separated phones; auto: phone "
                   "when every reference token is one of the 39 phones (asrkit.data.phones), else word.")
def score_cmd(ref_trn, hyp_trn, out_dir, results, exp_name, decoder, split, top, unit):
    """WER and CER (or PER over phones) with sclite-identical alignments, per speaker, and the top error pairs.

    \b
    Examples:
      asrkit score --ref exp/pretrained_10m/test_4gram/ref.trn --hyp exp/pretrained_10m/test_4gram/hyp.trn \\
          --results exp/results.tsv --exp pretrained_10m --decoder 4gram --split test
      asrkit score --ref exp/finetune/test_greedy/ref.trn --hyp exp/finetune/test_greedy/hyp.trn --unit phone
    """
    from ..score import append_result, read_trn, score, text_unit

    try:
        refs = read_trn(ref_trn)
        report = score(refs, read_trn(hyp_trn), unit=text_unit(refs.values()) if unit == "auto" else unit)
    except ValueError as e:
        fail(str(e))
    report.write_tables(out_dir or hyp_trn.parent)
    summary = report.summary()
    table = Table(title=f"{hyp_trn} vs {ref_trn}")
    for col in summary:
        table.add_column(col, justify="right")
    table.add_row(*(str(v) for v in summary.values()))
    console.print(table)
    spk = Table(title="per speaker")
    counts = ("speaker", "sentences", "phones" if report.unit == "phone" else "words", "sub", "del", "ins")
    rates = ("per",) if report.unit == "phone" else ("wer", "cer")
    for col in counts + rates:
        spk.add_column(col, justify="right")
    for r in report.per_speaker.to_dict("records"):
        spk.add_row(*(str(r[c]) for c in counts), *(f"{r[c]:.2f}" for c in rates))
    console.print(spk)
    pairs = Table(title=f"top {top} errors per kind")
    for col in ("kind", "pair", "count"):
        pairs.add_column(col)
    for r in report.top_errors(top).itertuples(index=False):
        pairs.add_row(r.kind, r.pair, str(r.count))
    console.print(pairs)
    if results is not None:
        try:
            append_result(results, {"exp": exp_name, "decoder": decoder, "split": split, **summary})
        except ValueError as e:
            fail(str(e))
        console.print(f"appended to {results}")
