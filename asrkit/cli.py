"""The ``asrkit`` command line: each subcommand loads its config, writes the resolved config
next to its outputs and calls one library function."""
from __future__ import annotations

import dataclasses
import sys
import typing
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .data.synth.corpus import SynthConfig

console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)  # logs keep whole tables
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True, "max_content_width": 100}


def _progress(**kwargs) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console, **kwargs)


def _fail(message: str, code: int = 1) -> typing.NoReturn:
    console.print(f"[red]error:[/red] {message}")
    sys.exit(code)


def dataclass_options(cls):
    """One ``--kebab-name`` option per field of config dataclass ``cls`` (scalar fields only)."""
    hints = typing.get_type_hints(cls)

    def decorate(fn):
        for f in reversed(dataclasses.fields(cls)):
            tp = hints[f.name]
            click.option(f"--{f.name.replace('_', '-')}", f.name, type=tp, default=f.default,
                         show_default=True)(fn)
        return fn

    return decorate


def summary_table(title: str, rows: dict[str, dict]) -> Table:
    table = Table(title=title)
    for col in ("split", "hours", "utterances", "speakers"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for split, s in rows.items():
        table.add_row(split, f"{s['hours']:.3f}", str(s["utterances"]), str(s["speakers"]))
    return table


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="asrkit")
def cli():
    """asrkit: self-supervised speech pre-training (wav2vec 2.0, SEW, SEW-D) and ASR."""


# --------------------------------------------------------------------------------------
@cli.group(context_settings=CONTEXT)
def prepare():
    """Generate or prepare a corpus and write its manifests."""


@prepare.command("synth", context_settings=CONTEXT)
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@dataclass_options(SynthConfig)
def prepare_synth(out_dir: Path, **options):
    """Synthesise the built-in spoken-command corpus (espeak-ng, offline) into OUT_DIR.

    LibriSpeech + Libri-light layout: pretrain/, dev/, test/ and
    librispeech_finetuning/1h/<fold>/clean/ (fold 0 = the 10m set), with Italian
    translations, intents, slots and phoneme timings in metadata/<split>.jsonl.
    """
    from .data.synth.corpus import generate_corpus

    cfg = SynthConfig(**options)
    with _progress() as bar:
        tasks: dict[str, int] = {}

        def progress(split: str, done: float, target: float) -> None:
            if split not in tasks:
                tasks[split] = bar.add_task(f"synth {split} (s)", total=round(target))
            bar.update(tasks[split], completed=round(done))

        summary = generate_corpus(out_dir, cfg, progress)
    console.print(summary_table(f"synthetic corpus in {out_dir}", summary))


@prepare.command("lm-text", context_settings=CONTEXT)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sentences", default=200_000, help="Lines of text to draw from the synth grammar.")
@click.option("--seed", default=1234, help="Seed of the draw (independent of the corpus seed).")
@click.option("--exclude", "exclude", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Manifest whose transcripts must not appear in the text (dev/test; repeatable).")
def prepare_lm_text(out: Path, sentences: int, seed: int, exclude: tuple[Path, ...]):
    """LM training text for the synth corpus, drawn from its grammar (one sentence per line)."""
    from .data.manifest import read_manifest
    from .data.synth.corpus import write_lm_text

    held_out = frozenset(t for m in exclude for t in read_manifest(m)["text"])
    n = write_lm_text(out, sentences, seed, held_out)
    console.print(f"wrote {n} sentences to {out} (excluding {len(held_out)} held-out transcripts)")


@prepare.command("librispeech", context_settings=CONTEXT)
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for the <split>.tsv manifests.")
@click.option("--split", "splits", multiple=True, help="Split directory to include (repeatable); default: all.")
@click.option("--finetuning-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Libri-light librispeech_finetuning/ (default: CORPUS_DIR/librispeech_finetuning if present).")
def prepare_librispeech_cmd(corpus_dir: Path, out_dir: Path, splits: tuple[str, ...], finetuning_dir: Path | None):
    """Manifests for a LibriSpeech-layout corpus (LibriSpeech, Libri-light, or the synth corpus)."""
    from .data.librispeech import prepare_librispeech
    from .data.manifest import ManifestError, read_manifest, summarize

    try:
        written = prepare_librispeech(corpus_dir, out_dir, list(splits) or None, finetuning_dir,
                                      progress=lambda s: console.log(f"scanning {s}"))
    except ManifestError as e:
        _fail(str(e))
    console.print(summary_table(f"manifests in {out_dir}", {s: summarize(read_manifest(p)) for s, p in written.items()}))


# --------------------------------------------------------------------------------------
@cli.group(context_settings=CONTEXT)
def manifest():
    """Validate, summarise, import and export manifests."""


@manifest.command("validate", context_settings=CONTEXT)
@click.argument("manifests", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--sample-rate", default=16000, help="Expected sample rate (Hz).")
@click.option("--charset", default="ABCDEFGHIJKLMNOPQRSTUVWXYZ' ",
              help="Characters allowed in transcripts (default: LibriSpeech).")
@click.option("--unlabeled", is_flag=True, help="Transcripts may be empty (pre-training data).")
@click.option("--no-audio", is_flag=True, help="Skip decoding the audio (text and manifest checks only).")
@click.option("--num-workers", default=2, help="Processes decoding audio.")
@click.option("--fix", "fix_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the rows that pass to FIX_DIR/<manifest name> and the others to FIX_DIR/rejected.tsv.")
def manifest_validate(manifests, sample_rate, charset, unlabeled, no_audio, num_workers, fix_dir):
    """Check manifests and their audio; report each problem with line, id and reason code.

    Exits 1 when any problem is found (0 with --fix once the kept rows are written).
    """
    from .data.manifest import ManifestError
    from .data.validate import REASONS, count_rows, fix_manifest, validate_manifest

    if fix_dir is not None and len(manifests) != 1:
        _fail("--fix takes exactly one manifest", 2)
    reports = []
    with _progress(transient=True) as bar:
        for path in manifests:
            task = bar.add_task(f"validate {path.name}", total=count_rows(path) if path.is_file() else None)
            try:
                report = validate_manifest(
                    path, sample_rate=sample_rate, charset=charset, text_required=not unlabeled,
                    check_audio=not no_audio, num_workers=num_workers,
                    progress=lambda n, task=task: bar.update(task, advance=n),
                )
            except ManifestError as e:
                _fail(str(e), 2)
            reports.append(report)
    bad = 0
    for report in reports:
        if report.problems:
            table = Table(title=f"{report.manifest}: {len(report.problems)} problem(s)")
            for col in ("line", "id", "reason", "detail"):
                table.add_column(col)
            for p in report.problems:
                table.add_row(str(p.line), p.utt_id, p.reason, p.detail)
            console.print(table)
            bad += 1
        else:
            console.print(f"[green]ok[/green] {report.manifest}: {report.num_rows} utterances")
    if bad:
        codes = sorted({p.reason for r in reports for p in r.problems})
        for c in codes:
            console.print(f"  [bold]{c}[/bold]: {REASONS[c]}")
    if fix_dir is not None:
        try:
            kept_path, rejected_path, kept, total = fix_manifest(reports[0], fix_dir)
        except ValueError as e:
            _fail(str(e))
        console.print(f"kept {kept} of {total} -> {kept_path} (rejected rows: {rejected_path})")
        return
    if bad:
        sys.exit(1)


@manifest.command("summary", context_settings=CONTEXT)
@click.argument("manifests", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def manifest_summary(manifests):
    """Hours, utterances and speakers per manifest."""
    from .data.manifest import read_manifest, summarize

    console.print(summary_table("manifests", {p.stem: summarize(read_manifest(p)) for p in manifests}))


@manifest.command("combine", context_settings=CONTEXT)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("manifests", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def manifest_combine(out: Path, manifests: tuple[Path, ...]):
    """Concatenate MANIFESTS into OUT (e.g. LibriSpeech's three training splits into train-960)."""
    import pandas as pd

    from .data.manifest import ManifestError, read_manifest, summarize, write_manifest

    try:
        df = pd.concat([read_manifest(m) for m in manifests], ignore_index=True)
    except ManifestError as e:
        _fail(str(e))
    dup = df["id"][df["id"].duplicated()]
    if len(dup):
        _fail(f"utterance ids occur in more than one input manifest: {', '.join(dup.head(5))}")
    write_manifest(df, out)
    console.print(summary_table(str(out), {out.stem: summarize(df)}))


@manifest.command("from-kaldi", context_settings=CONTEXT)
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def manifest_from_kaldi(data_dir: Path, out: Path):
    """Convert a Kaldi data dir (wav.scp, text, utt2spk, segments) into manifest OUT."""
    from .data.manifest import ManifestError, import_kaldi, summarize, write_manifest

    try:
        df = import_kaldi(data_dir)
    except ManifestError as e:
        _fail(str(e))
    write_manifest(df, out)
    console.print(summary_table(f"{out}", {out.stem: summarize(df)}))


@manifest.command("to-fairseq", context_settings=CONTEXT)
@click.argument("manifest_path", metavar="MANIFEST", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--split", default=None, help="Name of the fairseq split (default: the manifest's stem).")
def manifest_to_fairseq(manifest_path: Path, out_dir: Path, split: str | None):
    """Export MANIFEST as fairseq's <split>.tsv / .ltr / .wrd into OUT_DIR."""
    from .data.manifest import ManifestError, export_fairseq, read_manifest

    try:
        files = export_fairseq(read_manifest(manifest_path), out_dir, split or manifest_path.stem)
    except ManifestError as e:
        _fail(str(e))
    console.print("wrote " + ", ".join(str(f) for f in files))


# --------------------------------------------------------------------------------------
@cli.group(context_settings=CONTEXT)
def lm():
    """n-gram language models (KenLM) and lexicons for beam-search decoding."""


@lm.command("train", context_settings=CONTEXT)
@click.argument("text", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_prefix", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output prefix: writes PREFIX.arpa and PREFIX.bin.")
@click.option("--order", default=4, help="n-gram order (wav2vec 2.0 decodes with the LibriSpeech 4-gram).")
@click.option("--lexicon", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Flashlight lexicon of the LM vocabulary to write (default: lexicon.txt next to PREFIX).")
@click.option("--tokens", "tokens_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="tokens.txt of the acoustic model (default: the LibriSpeech characters).")
@click.option("--memory", default="25%", help="lmplz -S: sort memory, e.g. 25% or 4G.")
@click.option("--prune", default="", help="lmplz --prune: count thresholds per order, e.g. '0 0 1'.")
@click.option("--tools-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory with bin/lmplz and bin/build_binary (default: $ASRKIT_TOOLS, then tools/, then PATH).")
def lm_train(text: Path, out_prefix: Path, order: int, lexicon: Path | None, tokens_path: Path | None,
             memory: str, prune: str, tools_dir: Path | None):
    """Train a KenLM n-gram on TEXT (one sentence per line) and write its lexicon."""
    from .data.tokenizer import LIBRISPEECH_CHARS, load_tokenizer
    from .decode.lm import LMError, LMToolsMissing, build_lexicon, lm_vocabulary, train_ngram

    tokens = load_tokenizer(tokens_path).tokens if tokens_path else LIBRISPEECH_CHARS
    lexicon = lexicon or out_prefix.parent / "lexicon.txt"
    try:
        arpa, binary = train_ngram(text, out_prefix, order, tools_dir=tools_dir, memory=memory,
                                   prune=[int(p) for p in prune.split()] or None)
        n, skipped = build_lexicon(lm_vocabulary(arpa), lexicon, tokens=tokens)
    except (LMError, LMToolsMissing) as e:
        _fail(str(e))
    console.print(f"wrote {arpa}, {binary} and {lexicon} ({n} words, {len(skipped)} outside the token set)")


@lm.command("lexicon", context_settings=CONTEXT)
@click.argument("arpa", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Lexicon to write.")
@click.option("--tokens", "tokens_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="tokens.txt of the acoustic model (default: the LibriSpeech characters).")
def lm_lexicon(arpa: Path, out: Path, tokens_path: Path | None):
    """Flashlight lexicon (WORD<TAB>W O R D |) of the vocabulary of an ARPA LM."""
    from .data.tokenizer import LIBRISPEECH_CHARS, load_tokenizer
    from .decode.lm import LMError, build_lexicon, lm_vocabulary

    tokens = load_tokenizer(tokens_path).tokens if tokens_path else LIBRISPEECH_CHARS
    try:
        n, skipped = build_lexicon(lm_vocabulary(arpa), out, tokens=tokens)
    except LMError as e:
        _fail(str(e))
    console.print(f"wrote {out}: {n} words; {len(skipped)} outside the token set" +
                  (f" (e.g. {', '.join(skipped[:5])})" if skipped else ""))


@lm.command("eval", context_settings=CONTEXT)
@click.argument("lm_path", metavar="LM", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("texts", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def lm_eval(lm_path: Path, texts: tuple[Path, ...]):
    """Perplexity and OOV count of LM on text files (one sentence per line) or manifests (*.tsv)."""
    from .data.manifest import read_manifest
    from .decode.lm import LMError, lm_perplexity, sentence_perplexity

    table = Table(title=f"perplexity of {lm_path}")
    for col in ("text", "sentences", "words", "oov", "ppl"):
        table.add_column(col, justify="left" if col == "text" else "right")
    for path in texts:
        try:
            stats = (sentence_perplexity(lm_path, read_manifest(path)["text"]) if path.suffix == ".tsv"
                     else lm_perplexity(lm_path, path))
        except LMError as e:
            _fail(str(e))
        table.add_row(str(path), str(stats["sentences"]), str(stats["words"]), str(stats["oov"]), f"{stats['ppl']:.2f}")
    console.print(table)


# --------------------------------------------------------------------------------------
def training_options(sections: str, outputs: str):
    """The options every training command shares: --config, --exp-dir, --set, --resume."""

    def decorate(fn):
        for opt in reversed([
            click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                         default=None, help=f"YAML config (sections {sections})."),
            click.option("--exp-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
                         help=f"{outputs}, metrics.tsv, TensorBoard events, curves.png and the resolved config.yaml."),
            click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                         help="Override a config value, e.g. --set optim.lr=1e-4 (repeatable)."),
            click.option("--resume/--no-resume", default=True,
                         help="Continue from EXP_DIR's last checkpoint when there is one."),
            click.option("--skip-bad", is_flag=True,
                         help="Log and drop unreadable audio instead of stopping (sets data.skip_bad)."),
        ]):
            fn = opt(fn)
        return fn

    return decorate


def _train(load_config, run, config_path, exp_dir, overrides, resume, skip_bad) -> None:
    """Load the config, train, and turn every bad-input error into a one-line message."""
    from .config import ConfigError
    from .data.audio import AudioError
    from .data.manifest import ManifestError
    from .data.tokenizer import TokenizerError
    from .train.loop import TrainingAborted

    if skip_bad:
        overrides = (*overrides, "data.skip_bad=true")
    try:
        run(load_config(config_path, overrides), exp_dir, resume=resume, console=console)
    except (ConfigError, ManifestError, AudioError, TokenizerError, TrainingAborted) as e:
        _fail(str(e))


@cli.command("pretrain", context_settings=CONTEXT)
@training_options("model (may name a preset: --set model=demo), data, loss, optim, trainer", "Checkpoints")
def pretrain_cmd(config_path: Path | None, exp_dir: Path, overrides: tuple[str, ...], resume: bool, skip_bad: bool):
    """wav2vec 2.0 self-supervised pre-training (runs unchanged under torchrun for DDP)."""
    from .train.pretrain import load_pretrain_config, run_pretrain

    _train(load_pretrain_config, run_pretrain, config_path, exp_dir, overrides, resume, skip_bad)


@cli.command("finetune", context_settings=CONTEXT)
@training_options("model, data, optim, trainer", "Checkpoints, tokens.txt")
@click.option("--init", "init_checkpoint", default=None,
              help="Pre-training checkpoint to start from (sets model.init_checkpoint; \"\" = from scratch).")
def finetune_cmd(config_path, exp_dir, overrides, resume, skip_bad, init_checkpoint):
    """CTC fine-tuning of wav2vec 2.0 on labelled data (runs unchanged under torchrun for DDP)."""
    from .train.finetune import load_finetune_config, run_finetune

    if init_checkpoint is not None:
        overrides = (*overrides, f"model.init_checkpoint={init_checkpoint}")
    _train(load_finetune_config, run_finetune, config_path, exp_dir, overrides, resume, skip_bad)


@cli.command("import-checkpoint", context_settings=CONTEXT)
@click.option("--from", "kind", type=click.Choice(["hf", "fairseq"]), required=True,
              help="hf: a transformers save_pretrained directory (wav2vec 2.0, SEW or SEW-D, by its "
                   "model_type); fairseq: a fairseq wav2vec 2.0 .pt file.")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def import_checkpoint_cmd(kind: str, source: Path, out: Path):
    """Convert wav2vec 2.0 / SEW / SEW-D weights into an asrkit checkpoint OUT (for fine-tuning or pre-training)."""
    from .config import to_dict
    from .models.checkpoint_import import import_checkpoint
    from .models.wav2vec2 import wav2vec2_model
    from .train.checkpoint import atomic_save

    try:
        cfg, state_dict = import_checkpoint(source, kind)
    except (FileNotFoundError, KeyError, ValueError, RuntimeError) as e:
        _fail(f"{source}: {e}")
    model = wav2vec2_model(cfg)
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    if unexpected:
        _fail(f"{source}: weights asrkit has no place for: {', '.join(unexpected[:10])}")
    atomic_save({"model": model.state_dict(), "config": {"model": to_dict(cfg)}, "num_updates": 0,
                 "imported_from": {"kind": kind, "source": str(source)}}, out)
    table = Table(title=f"imported {kind} checkpoint -> {out}")
    table.add_column("what")
    table.add_column("value")
    table.add_row("parameters", f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M")
    table.add_row("layers x dim", f"{cfg.encoder_layers} x {cfg.encoder_embed_dim} (ffn {cfg.encoder_ffn_embed_dim})")
    table.add_row("feature encoder", cfg.extractor_mode)
    table.add_row("left at initial values", ", ".join(sorted({k.split(".")[0] for k in missing})) or "none")
    console.print(table)


@cli.command("score", context_settings=CONTEXT)
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
def score_cmd(ref_trn, hyp_trn, out_dir, results, exp_name, decoder, split, top):
    """WER and CER with sclite-identical alignments, per speaker, and the top error pairs."""
    from .score import append_result, read_trn, score

    try:
        report = score(read_trn(ref_trn), read_trn(hyp_trn))
    except ValueError as e:
        _fail(str(e))
    out_dir = out_dir or hyp_trn.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    report.per_utt.to_csv(out_dir / "per_utt.tsv", sep="\t", index=False)
    report.per_speaker.to_csv(out_dir / "per_speaker.tsv", sep="\t", index=False)
    report.error_pairs.to_csv(out_dir / "error_pairs.tsv", sep="\t", index=False)
    summary = report.summary()
    table = Table(title=f"{hyp_trn} vs {ref_trn}")
    for col in summary:
        table.add_column(col, justify="right")
    table.add_row(*(str(v) for v in summary.values()))
    console.print(table)
    spk = Table(title="per speaker")
    for col in ("speaker", "sentences", "words", "sub", "del", "ins", "wer", "cer"):
        spk.add_column(col, justify="right")
    for r in report.per_speaker.to_dict("records"):
        spk.add_row(*(str(r[c]) for c in ("speaker", "sentences", "words", "sub", "del", "ins")),
                    f"{r['wer']:.2f}", f"{r['cer']:.2f}")
    console.print(spk)
    pairs = Table(title=f"top {top} errors per kind")
    for col in ("kind", "pair", "count"):
        pairs.add_column(col)
    for r in report.top_errors(top).itertuples(index=False):
        pairs.add_row(r.kind, r.pair, str(r.count))
    console.print(pairs)
    if results is not None:
        append_result(results, {"exp": exp_name, "decoder": decoder, "split": split, **summary})
        console.print(f"appended to {results}")


@cli.command("results", context_settings=CONTEXT)
@click.argument("results_tsv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def results_cmd(results_tsv: Path):
    """Show a results TSV (rows appended by `asrkit score --results`) as a table."""
    import pandas as pd

    df = pd.read_csv(results_tsv, sep="\t", keep_default_na=False)
    table = Table(title=str(results_tsv))
    for col in df.columns:
        table.add_column(col, justify="right" if pd.api.types.is_numeric_dtype(df[col]) else "left")
    for row in df.itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    Console(width=None if sys.stdout.isatty() else 140).print(table)


@cli.command("decode", context_settings=CONTEXT)
@click.option("--checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Fine-tuned CTC checkpoint (asrkit finetune).")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Utterances to decode.")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="hyp.trn, ref.trn, scores.tsv, decode.yaml (and tune.tsv).")
@click.option("--lm", default="", help="KenLM model (binary or ARPA); with --lexicon: lexicon beam search.")
@click.option("--lexicon", default="", help="Flashlight lexicon (written by `asrkit lm train`).")
@click.option("--beam-size", default=50, help="Beam size (paper: 500 when tuning, 1500 at test).")
@click.option("--tune-beam-size", default=0,
              help="Beam size of the --tune trials (0: --beam-size); a smaller one makes tuning cheaper.")
@click.option("--beam-threshold", default=25.0, help="Prune hypotheses this far below the best.")
@click.option("--lm-weight", default=2.0, help="LM weight (ignored with --tune).")
@click.option("--word-score", default=0.0, help="Word insertion score (ignored with --tune).")
@click.option("--tune", "tune_manifest", default="", help="Dev manifest: search LM weight and word score on it first.")
@click.option("--trials", default=32, help="Tuning trials (paper: 128).")
@click.option("--tune-method", type=click.Choice(["bayes", "random"]), default="bayes",
              help="Gaussian-process Bayesian optimisation (as §4.4) or random search.")
@click.option("--seed", default=0, help="Seed of the search.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto",
              help="Network precision; auto: bf16 where the hardware has native bf16 (asrkit.precision), else fp32.")
@click.option("--num-workers", default=1,
              help="Processes for the beam search, tuning trials and decode alike (0: one per CPU); "
                   "the output is the same for any number.")
def decode_cmd(checkpoint, manifest, out_dir, lm, lexicon, beam_size, tune_beam_size, beam_threshold, lm_weight,
               word_score, tune_manifest, trials, tune_method, seed, precision, num_workers):
    """Decode a manifest with a fine-tuned model: greedy CTC, or lexicon beam search with an n-gram LM."""
    from .data.audio import AudioError
    from .data.manifest import ManifestError
    from .data.tokenizer import TokenizerError
    from .decode import LMError, TokenMismatch
    from .decode.run import DecodeOptions, decode_manifest

    opts = DecodeOptions(lm=lm, lexicon=lexicon, beam_size=beam_size, tune_beam_size=tune_beam_size,
                         beam_threshold=beam_threshold, lm_weight=lm_weight, word_score=word_score,
                         tune=tune_manifest, trials=trials,
                         tune_method=tune_method, seed=seed, precision=precision, num_workers=num_workers)
    with _progress() as bar:
        tasks: dict[str, int] = {}

        def progress(what: str, advance: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], advance=advance)

        try:
            result = decode_manifest(checkpoint, manifest, out_dir, opts, progress=progress, log=console.log)
        except (ValueError, ManifestError, AudioError, TokenizerError, LMError, TokenMismatch) as e:
            _fail(str(e))
    wer = f", WER {result['wer']:.2f} %" if "wer" in result else ""
    console.print(f"decoded {result['utterances']} utterances -> {out_dir}/hyp.trn{wer}")


@cli.command("benchmark", context_settings=CONTEXT)
@click.option("--config", "configs", multiple=True, help="Model config: a name in asrkit/conf/model (tiny, base, "
              "sew_d_tiny, ...) or a YAML file; random weights unless --checkpoint is given. Repeat it (or "
              "--checkpoint) to time several models interleaved, utterance by utterance.")
@click.option("--checkpoint", "checkpoints", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
              help="asrkit checkpoint, pre-training or fine-tuned CTC (its encoder is timed); repeatable. With "
                   "--config given as often, they pair up in order.")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Utterances to time, one at a time, in manifest order.")
@click.option("--out", "outs", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
              help="Write the rows as TSV; once per model when several are timed.")
@click.option("--max-utterances", default=0, help="Time only the first N usable utterances (0: all).")
@click.option("--warmup", default=2, help="Utterances run untimed first.")
@click.option("--threads", default=0, help="torch intra-op threads (0: torch's default).")
@click.option("--precision", default="fp32,bf16", help="Comma-separated: fp32, bf16 (autocast).")
@click.option("--device", default="auto", help="auto (cuda when available), cpu or cuda.")
@click.option("--pretrain-batch", default=4, help="Utterances in the pre-training batch (0: skip that measurement).")
@click.option("--pretrain-steps", default=3, help="Timed pre-training updates.")
def benchmark_cmd(configs, checkpoints, manifest, outs, max_utterances, warmup, threads, precision, device,
                  pretrain_batch, pretrain_steps):
    """Parameters, inference time per utterance at batch 1 (mean ± std, real-time factor) and
    pre-training throughput, as SEW-D (Wu et al., 2021) compares models."""
    from .benchmark import BenchmarkOptions, benchmark_models, results_table, write_tsv
    from .config import ConfigError
    from .data.audio import AudioError
    from .data.manifest import ManifestError

    if configs and checkpoints and len(configs) != len(checkpoints):
        _fail(f"--config given {len(configs)} times and --checkpoint {len(checkpoints)} times: give them as often "
              "(they pair up in order) or give only one of them")
    models = list(zip(configs, checkpoints)) if configs and checkpoints else \
        [(c, None) for c in configs] or [(None, c) for c in checkpoints] or [(None, None)]
    if outs and len(outs) != len(models):
        _fail(f"--out given {len(outs)} times for {len(models)} model(s): give it once per model, in order")
    try:
        opts = BenchmarkOptions(tuple(p.strip() for p in precision.split(",") if p.strip()), max_utterances, warmup,
                                threads, device, pretrain_batch, pretrain_steps)
        with _progress(transient=True) as bar:
            tasks: dict[str, int] = {}

            def progress(what: str, advance: int, total: int) -> None:
                if what not in tasks:
                    tasks[what] = bar.add_task(what, total=total)
                bar.update(tasks[what], advance=advance)

            per_model = benchmark_models(manifest, models, opts, progress=progress)
    except (ValueError, ConfigError, ManifestError, AudioError) as e:
        _fail(str(e))
    rows = [row for model_rows in per_model for row in model_rows]
    names = ", ".join(dict.fromkeys(r["model"] for r in rows))
    Console(width=None if sys.stdout.isatty() else 140).print(results_table(rows, f"{names} on {manifest}"))
    for out, model_rows in zip(outs, per_model):
        console.print(f"wrote {write_tsv(model_rows, out)}")
    if rows[0]["skipped"]:
        console.print(f"[yellow]{rows[0]['skipped']} utterance(s) shorter than the receptive field were left out")


@cli.command("compare", context_settings=CONTEXT)
@click.option("--model", "models", nargs=3, multiple=True, required=True,
              metavar="NAME BENCHMARK_TSV RESULTS_TSV",
              help="One row, repeated per model: its name, an `asrkit benchmark --out` TSV and a results TSV "
                   "(`asrkit score --results`, a recipe's exp/results.tsv).")
@click.option("--exp", "exp_name", default="pretrained_10m", help="Experiment whose WERs to take (results column exp).")
@click.option("--split", default="test", help="Split whose WERs to take (results column split).")
@click.option("--decoders", default="greedy,4gram", help="Comma-separated decoders, one WER column each.")
@click.option("--precision", default="fp32", help="Benchmark row to take (SEW-D times fp32).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the table as TSV.")
def compare_cmd(models, exp_name, split, decoders, precision, out):
    """Models side by side as SEW-D's Table 1: parameters, inference time (batch 1, mean ± std), WER
    without and with the LM."""
    from .compare import CompareError, ModelRun, compare_models, compare_table, write_tsv

    try:
        df = compare_models([ModelRun(name, Path(bench), Path(results)) for name, bench, results in models],
                            exp=exp_name, split=split, precision=precision,
                            decoders=[d.strip() for d in decoders.split(",") if d.strip()])
    except CompareError as e:
        _fail(str(e))
    Console(width=None if sys.stdout.isatty() else 140).print(compare_table(df, f"{exp_name}, {split} set"))
    if out is not None:
        console.print(f"wrote {write_tsv(df, out)}")


if __name__ == "__main__":
    cli()
