"""``asrkit prepare`` (synth, synth-av, synth-mustc, synth-superb, lm-text, librispeech) and ``asrkit manifest``
(validate, summary, combine, from-kaldi, to-fairseq): corpora in, manifests out (:mod:`asrkit.data`)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from ..data.audio import SAMPLE_RATE
from ..data.synth.av_corpus import AVSynthConfig
from ..data.synth.corpus import SynthConfig
from ..data.synth.grammar import TRANSLATION_KEYS
from ..data.synth.mustc_corpus import MustcSynthConfig
from ..data.synth.superb_corpus import SuperbSynthConfig
from .ui import CONTEXT, console, dataclass_options, fail, progress_bars, progress_display, summary_table


@click.group(context_settings=CONTEXT)
def prepare():
    """Generate or prepare a corpus and write its manifests."""


def synth_config(cls, options: dict):
    """A synthetic corpus's config from its command's options; a bad value is a usage error (exit 2) naming the
    option."""
    from ..config import FieldError

    try:
        return cls(**options)
    except FieldError as e:
        fail(f"--{e.key.replace('_', '-')}: {e.problem}", 2)
    except ValueError as e:
        fail(str(e), 2)


@prepare.command("synth", context_settings=CONTEXT)
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@dataclass_options(SynthConfig)
@click.option("--video/--no-video", default=False,
              help="Also write <id>.mp4 next to every flac: the speaker's talking face (25 fps, 96 px) + the audio.")
def prepare_synth(out_dir: Path, video: bool, **options):
    """Synthesise the built-in spoken-command corpus (espeak-ng, flite, festival; offline) into OUT_DIR.

    LibriSpeech + Libri-light layout: pretrain/, dev/, test/ and
    librispeech_finetuning/1h/<fold>/clean/ (fold 0 = the 10m set), with Italian, German and
    Dutch translations, intents, slots, phoneme and word timings, the voice and its engine and the
    recording condition in metadata/<split>.jsonl. Speakers are voices of --engines; utterances are
    reverberated (--rir), noisy (--noise, SNR in --snr-db-low..--snr-db-high), EQ'd (--eq), changed
    in level (--gain-db) or sent through a telephone channel (--telephone) with those probabilities.
    test_unseen_engine/ and test_unseen_engine_tel/ (--unseen-minutes; clean and telephone) are
    spoken by an engine and speaker no other split uses (CMU ARCTIC slt in flite and festival HTS).
    A missing engine is an error naming its Debian packages (`make engines` installs them).

    \b
    Examples:
      asrkit prepare synth data/synth --num-workers 2
      asrkit prepare synth data/synth_old --engines espeak --rir 0 --noise 0 --eq 0 --gain-db 0 --telephone 0
    """
    from ..data.synth.corpus import SynthError, generate_corpus

    cfg = synth_config(SynthConfig, options)
    try:
        with progress_bars(absolute=True) as update:
            summary = generate_corpus(out_dir, cfg, lambda split, done, target: update(f"synth {split} (s)",
                                                                                        round(done), round(target)))
        if video:
            from ..data.synth.av_corpus import add_talking_faces

            with progress_bars(absolute=True) as update:
                add_talking_faces(out_dir, cfg.num_workers, progress=lambda n, total: update("talking faces", n, total))
    except (SynthError, ValueError) as e:
        fail(str(e))
    console.print(summary_table(f"synthetic corpus in {out_dir}", summary))


@prepare.command("synth-av", context_settings=CONTEXT)
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--sets", default="lrs3,voxceleb2,kinetics", help="Comma-separated sets to write.")
@dataclass_options(AVSynthConfig)
def prepare_synth_av(out_dir: Path, sets: str, **options):
    """Synthesise the three audio-visual pre-training sets into OUT_DIR/{lrs3,voxceleb2,kinetics}.

    Layouts of LRS3 (pretrain/, trainval/, test/ <talk>/<NNNNN>.mp4 + .txt), VoxCeleb2
    (dev|test/mp4/idNNNNN/<youtube id>/<NNNNN>.mp4, vox2_meta.csv) and Kinetics-600
    (<split>/<class>/<ytid>_<start>_<end>.mp4, annotations/<split>.csv); H.264 + AAC 16 kHz mp4,
    96 x 96 mouth-centred talking faces at 25 fps; metadata/<split>.jsonl per set.

    \b
    Examples:
      asrkit prepare synth-av data/av --num-workers 2
      asrkit prepare synth-av data/av_lrs3 --sets lrs3 --lrs3-pretrain-clips 200 --seed 1
    """
    from ..data.synth.av_corpus import generate_av_corpus
    from ..data.synth.corpus import SynthError

    cfg = synth_config(AVSynthConfig, options)
    chosen = tuple(s.strip() for s in sets.split(",") if s.strip())
    try:
        with progress_bars(absolute=True) as update:
            summary = generate_av_corpus(out_dir, cfg, chosen, lambda name, n, total: update(f"{name} (clips)", n, total))
    except (SynthError, ValueError) as e:
        fail(str(e))
    table = Table(title=f"synthetic audio-visual sets in {out_dir}")
    for col in ("set/split", "clips", "hours", "speakers/classes", "broken"):
        table.add_column(col, justify="left" if col == "set/split" else "right")
    for key, s in summary.items():
        table.add_row(key, str(s["clips"]), f"{s['hours']:.3f}", str(s["speakers"]), str(s["broken"]))
    console.print(table)


@prepare.command("synth-mustc", context_settings=CONTEXT)
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--pairs", default="en-de,en-it,en-nl", show_default=True,
              help="Comma-separated language pairs to write (the English talks are shared).")
@dataclass_options(MustcSynthConfig)
def prepare_synth_mustc(out_dir: Path, pairs: str, **options):
    """Synthesise a speech-translation corpus in MuST-C's layout into OUT_DIR.

    OUT_DIR/en-<xx>/data/{train,dev,tst-COMMON}/{wav/ted_<N>.wav, txt/<split>.yaml, .en, .<xx>}:
    talks of one espeak-ng voice each, a segment per sentence of the built-in grammar, the target
    side its translation; the English is the grammar's (lowercase, no punctuation). Read it with
    local/prepare_mustc.py.

    \b
    Examples:
      asrkit prepare synth-mustc data/mustc --num-workers 2
      asrkit prepare synth-mustc data/mustc_it --pairs en-it --train-talks 48
    """
    from ..data.synth.corpus import SynthError
    from ..data.synth.mustc_corpus import generate_mustc_corpus

    cfg = synth_config(MustcSynthConfig, options)
    chosen = [p.strip() for p in pairs.split(",") if p.strip()]
    try:
        with progress_bars(absolute=True) as update:
            summary = generate_mustc_corpus(out_dir, cfg, chosen, lambda split, n, total: update(
                f"{split} (talks)", n, total))
    except (SynthError, ValueError) as e:
        fail(str(e))
    table = Table(title=f"synthetic MuST-C in {out_dir} ({', '.join(chosen)})")
    for col in ("split", "talks", "segments", "hours", "speakers"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for split, s in summary.items():
        table.add_row(split, str(s["talks"]), str(s["segments"]), f"{s['hours']:.3f}", str(s["speakers"]))
    console.print(table)


@prepare.command("synth-superb", context_settings=CONTEXT)
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--tasks", default="ks,ic,sd", show_default=True, help="Comma-separated SUPERB tasks to write.")
@dataclass_options(SuperbSynthConfig)
def prepare_synth_superb(out_dir: Path, tasks: str, **options):
    """Synthesise analogs of SUPERB's KS, IC and SD corpora in the real corpora's layouts into OUT_DIR.

    speech_commands_v0.01/ and speech_commands_test_set_v0.01/ (KS: 1 s words, noises, split lists),
    fluent_speech_commands_dataset/ (IC: grammar commands with action, object, location) and
    Libri2Mix/wav16k/max/ (SD: two-speaker mixtures, mix_clean = s1 + s2); dev and test speakers are
    unseen in training.

    \b
    Examples:
      asrkit prepare synth-superb data/superb --num-workers 2
      asrkit prepare synth-superb data/superb_ks --tasks ks --seed 1
    """
    from ..data.synth.corpus import SynthError
    from ..data.synth.superb_corpus import generate_superb_corpus

    cfg = synth_config(SuperbSynthConfig, options)
    chosen = tuple(t.strip() for t in tasks.split(",") if t.strip())
    try:
        with progress_bars(absolute=True) as update:
            summary = generate_superb_corpus(out_dir, cfg, chosen, update)
    except (SynthError, ValueError) as e:
        fail(str(e))
    table = Table(title=f"synthetic SUPERB corpora in {out_dir}")
    for col in ("task/split", "files", "hours", "speakers", "labels"):
        table.add_column(col, justify="left" if col == "task/split" else "right")
    for key, s in summary.items():
        table.add_row(key, str(s["files"]), f"{s['hours']:.3f}", str(s["speakers"]), str(s["labels"]))
    console.print(table)


@prepare.command("lm-text", context_settings=CONTEXT)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sentences", default=200_000, help="Lines of text to draw from the synth grammar.")
@click.option("--seed", default=1234, help="Seed of the draw (independent of the corpus seed).")
@click.option("--exclude", "exclude", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Manifest whose transcripts must not appear in the text (dev/test; repeatable).")
def prepare_lm_text(out: Path, sentences: int, seed: int, exclude: tuple[Path, ...]):
    """LM training text for the synth corpus, drawn from its grammar (one sentence per line).

    \b
    Example:
      asrkit prepare lm-text data/lm/text.txt --sentences 200000 --exclude data/manifests/dev.tsv \\
          --exclude data/manifests/test.tsv
    """
    from ..data.manifest import ManifestError, manifest_texts
    from ..data.synth.corpus import write_lm_text

    try:
        held_out = manifest_texts(exclude)
    except ManifestError as e:
        fail(str(e))
    n = write_lm_text(out, sentences, seed, held_out)
    console.print(f"wrote {n} sentences to {out} (excluding {len(held_out)} held-out transcripts)")


@prepare.command("librispeech", context_settings=CONTEXT)
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for the <split>.tsv manifests.")
@click.option("--split", "splits", multiple=True, help="Split directory to include (repeatable); default: all.")
@click.option("--finetuning-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Libri-light librispeech_finetuning/ (default: CORPUS_DIR/librispeech_finetuning if present).")
@click.option("--translation", type=click.Choice(list(TRANSLATION_KEYS)), default="it", show_default=True,
              help="Synth corpus: the language of the translation column (MuST-C target code).")
def prepare_librispeech_cmd(corpus_dir: Path, out_dir: Path, splits: tuple[str, ...], finetuning_dir: Path | None,
                            translation: str):
    """Manifests for a LibriSpeech-layout corpus (LibriSpeech, Libri-light, or the synth corpus).

    \b
    Examples:
      asrkit prepare librispeech data/synth --out data/manifests
      asrkit prepare librispeech /corpora/LibriSpeech --out data/manifests --split train-clean-100 --split dev-clean
    """
    from ..data.librispeech import prepare_librispeech
    from ..data.manifest import ManifestError, summarize_manifests

    try:
        written = prepare_librispeech(corpus_dir, out_dir, list(splits) or None, finetuning_dir,
                                      progress=lambda s: console.log(f"scanning {s}"), translation=translation)
        summary = summarize_manifests(written)
    except ManifestError as e:
        fail(str(e))
    console.print(summary_table(f"manifests in {out_dir}", summary))


@click.group(context_settings=CONTEXT)
def manifest():
    """Validate, summarise, import and export manifests."""


@manifest.command("validate", context_settings=CONTEXT)
@click.argument("manifests", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--sample-rate", default=SAMPLE_RATE, help="Expected sample rate (Hz).")
@click.option("--charset", default="ABCDEFGHIJKLMNOPQRSTUVWXYZ' ",
              help="Characters allowed in transcripts (default: LibriSpeech); '' allows any.")
@click.option("--unlabeled", is_flag=True, help="Transcripts may be empty (pre-training data).")
@click.option("--no-audio", is_flag=True, help="Skip decoding the audio (text and manifest checks only).")
@click.option("--num-workers", default=2, help="Processes decoding audio.")
@click.option("--fix", "fix_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the rows that pass to FIX_DIR/<manifest name> and the others to FIX_DIR/rejected.tsv.")
@click.option("--fps", type=float, default=None, help="Expected video frame rate (AV manifests; default: any).")
@click.option("--frame-size", default=None, metavar="WxH",
              help="Expected video frame size, e.g. 96x96 (AV manifests; default: any).")
def manifest_validate(manifests, sample_rate, charset, unlabeled, no_audio, num_workers, fix_dir, fps, frame_size):
    """Check manifests and their audio; report each problem with line, id and reason code.

    Exits 1 when any problem is found (0 with --fix once the kept rows are written). A manifest with a
    video column is audio-visual: its videos are decoded too and checked against --fps and --frame-size.

    \b
    Examples:
      asrkit manifest validate data/manifests/*.tsv --num-workers 2
      asrkit manifest validate data/manifests/pretrain.tsv --unlabeled --fix data/manifests_fixed
    """
    from ..data.manifest import ManifestError
    from ..data.validate import REASONS, count_rows, fix_manifest, validate_manifest

    size = None
    if frame_size is not None:
        try:
            size = tuple(int(v) for v in frame_size.lower().split("x"))
            assert len(size) == 2 and min(size) > 0
        except (ValueError, AssertionError):
            fail(f"--frame-size {frame_size!r}: expected WIDTHxHEIGHT, e.g. 96x96", 2)
    if fix_dir is not None and len(manifests) != 1:
        fail("--fix takes exactly one manifest", 2)
    reports = []
    with progress_display(transient=True) as bar:
        for path in manifests:
            task = bar.add_task(f"validate {path.name}", total=count_rows(path) if path.is_file() else None)
            try:
                report = validate_manifest(
                    path, sample_rate=sample_rate, charset=charset or None, text_required=not unlabeled,
                    check_audio=not no_audio, num_workers=num_workers, fps=fps, frame_size=size,
                    progress=lambda n, task=task: bar.update(task, advance=n),
                )
            except ManifestError as e:
                fail(str(e), 2)
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
        for c in sorted({p.reason for r in reports for p in r.problems}):
            console.print(f"  [bold]{c}[/bold]: {REASONS[c]}")
    if fix_dir is not None:
        try:
            kept_path, rejected_path, kept, total = fix_manifest(reports[0], fix_dir)
        except ValueError as e:
            fail(str(e))
        console.print(f"kept {kept} of {total} -> {kept_path} (rejected rows: {rejected_path})")
        return
    if bad:
        sys.exit(1)


@manifest.command("summary", context_settings=CONTEXT)
@click.argument("manifests", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def manifest_summary(manifests):
    """Hours, utterances and speakers per manifest.

    \b
    Example:
      asrkit manifest summary data/manifests/*.tsv
    """
    from ..data.manifest import ManifestError, summarize_manifests

    try:
        summary = summarize_manifests({p.stem: p for p in manifests})
    except ManifestError as e:
        fail(str(e))
    console.print(summary_table("manifests", summary))


@manifest.command("combine", context_settings=CONTEXT)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("manifests", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def manifest_combine(out: Path, manifests: tuple[Path, ...]):
    """Concatenate MANIFESTS into OUT (e.g. LibriSpeech's three training splits into train-960).

    \b
    Example:
      asrkit manifest combine data/manifests/train-960.tsv data/manifests/train-clean-100.tsv \\
          data/manifests/train-clean-360.tsv data/manifests/train-other-500.tsv
    """
    from ..data.manifest import ManifestError, combine_manifests, summarize, write_manifest

    try:
        df = combine_manifests(manifests)
    except ManifestError as e:
        fail(str(e))
    write_manifest(df, out)
    console.print(summary_table(str(out), {out.stem: summarize(df)}))


@manifest.command("from-kaldi", context_settings=CONTEXT)
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def manifest_from_kaldi(data_dir: Path, out: Path):
    """Convert a Kaldi data dir (wav.scp, text, utt2spk, segments) into manifest OUT.

    \b
    Example:
      asrkit manifest from-kaldi kaldi/data/train data/manifests/train.tsv
    """
    from ..data.manifest import ManifestError, import_kaldi, summarize, write_manifest

    try:
        df = import_kaldi(data_dir)
    except ManifestError as e:
        fail(str(e))
    write_manifest(df, out)
    console.print(summary_table(f"{out}", {out.stem: summarize(df)}))


@manifest.command("to-fairseq", context_settings=CONTEXT)
@click.argument("manifest_path", metavar="MANIFEST", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--split", default=None, help="Name of the fairseq split (default: the manifest's stem).")
def manifest_to_fairseq(manifest_path: Path, out_dir: Path, split: str | None):
    """Export MANIFEST as fairseq's <split>.tsv / .ltr / .wrd into OUT_DIR.

    \b
    Example:
      asrkit manifest to-fairseq data/manifests/10m.tsv data/fairseq --split train_10m
    """
    from ..data.manifest import ManifestError, export_fairseq, read_manifest

    try:
        files = export_fairseq(read_manifest(manifest_path), out_dir, split or manifest_path.stem)
    except ManifestError as e:
        fail(str(e))
    console.print("wrote " + ", ".join(str(f) for f in files))


# ---------------------------------------------------------------------------------------------------
# local/prepare_{lrs3,voxceleb2,kinetics}.py: one command line and one report for the three AV corpus readers


def av_prepare_parser(doc: str, corpus_help: str):
    """The arguments every AV corpus reader takes (``local/prepare_<corpus>.py``); add a corpus's own next."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("corpus_dir", type=Path, help=corpus_help)
    parser.add_argument("--out", required=True, type=Path, help="Directory for the <split>.tsv manifests.")
    parser.add_argument("--split", action="append", help="Split to include (repeatable); default: all found.")
    parser.add_argument("--extract-audio", action="store_true",
                        help="Write each clip's 16 kHz audio as FLAC under OUT/audio/ (faster training).")
    parser.add_argument("--num-workers", type=int, default=2, help="Processes probing clips.")
    return parser


def run_av_prepare(prepare, args, **options) -> None:
    """``prepare(corpus_dir, out, splits, extract_audio=, num_workers=, progress=, **options)`` with a progress bar,
    then the manifests' summary table and a line per reason clips were left out; a bad corpus is one error line."""
    from ..data.av_corpora import skip_lines
    from ..data.manifest import ManifestError, summarize_manifests

    try:
        with progress_bars(transient=True) as progress:
            written = prepare(args.corpus_dir, args.out, args.split, extract_audio=args.extract_audio,
                              num_workers=args.num_workers, progress=progress, **options)
        summary = summarize_manifests({s: p.manifest for s, p in written.items()})
    except ManifestError as e:
        fail(str(e))
    console.print(summary_table(f"manifests in {args.out}", summary))
    for line in skip_lines(written):
        console.print(line, soft_wrap=True)


# ---------------------------------------------------------------------------------------------------
# local/prepare_mustc.py: the run and its report


def _comma_list(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def run_mustc_prepare(corpus_dir: Path, out_dir: Path, pairs: str | None, splits: str | None, *, min_seconds: float,
                      max_seconds: float, max_chars: int, filter_splits: str) -> None:
    """:func:`asrkit.data.mustc.prepare_mustc` with comma-separated lists, then a table per pair/split (segments,
    hours, talks, speakers, left out) and a line per reason segments were left out; a bad corpus is one error."""
    from ..data.manifest import ManifestError
    from ..data.mustc import prepare_mustc, report_lines

    try:
        written = prepare_mustc(corpus_dir, out_dir, _comma_list(pairs), _comma_list(splits),
                                min_seconds=min_seconds, max_seconds=max_seconds, max_chars=max_chars,
                                filter_splits=_comma_list(filter_splits) or ())
    except ManifestError as e:
        fail(str(e))
    table = Table(title=f"speech-translation manifests in {out_dir}")
    for col in ("pair/split", "segments", "hours", "talks", "speakers", "left out"):
        table.add_column(col, justify="left" if col == "pair/split" else "right")
    for key, p in written.items():
        table.add_row(key, str(p.rows), f"{p.hours:.3f}", str(p.talks), str(p.speakers),
                      str(sum(p.dropped.values())) + ("" if p.filtered else " (unfiltered)"))
    console.print(table)
    for line in report_lines(written, min_seconds):
        console.print(line, soft_wrap=True)
