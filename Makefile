# asrkit: `make demo` runs the main job on the built-in corpus, `make test` the test suite.
# Everything is installed into .venv by `make install` (idempotent; fast when done).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.asrkit-installed
PYTEST_ARGS ?=
# pytest-xdist: a worker per CPU core, each test file to one worker (its fixtures built once), the files with slow
# tests handed out first (tests/conftest.py); PYTEST_XDIST= runs the suite in one process.
PYTEST_XDIST ?= -n auto --dist loadfile --no-loadscope-reorder
BENCH_ARGS ?=  # e.g. --sections inference --precisions fp32 --threads 1

.PHONY: install tools sclite engines test test-fast demo table1 reproduce-sewd reproduce-w2v2 reproduce-av multistage \
	reproduce-multistage reproduce-superb bench clean help

help:
	@echo "make demo     install, check the machine (asrkit doctor), then run the synth recipe (recipes/synth/w2v2_tiny)"
	@echo "make table1   make demo, then SEW-D on its corpus (recipes/synth/sewd_tiny): SEW-D Table 1 in miniature"
	@echo "make reproduce-sewd  install, then SEW-D's Table 6 ablation ladder and Figure 1 in miniature on the demo's"
	@echo "              corpus and budgets (recipes/synth/sewd_ablation; ROWS=2-8 by default, ROWS=\"1 9 figure1\" adds"
	@echo "              the rest to the same table; ~1.5 h on 2 CPU cores by timed updates, not yet measured)"
	@echo "make reproduce-w2v2  install, then WER against pre-training compute (recipes/synth/w2v2_claims; <= 2 h"
	@echo "              on 2 CPU cores, minutes on a GPU; REPRODUCE_ARGS=\"--budget-minutes 90\" or \"--pretrain-updates 3200\")"
	@echo "make reproduce-av  install, then audio-visual pre-training (MAE, CLR, MAE+CLR on the LRS3-like set),"
	@echo "              eval-av measures and Conformer ASR from each (frozen, trained) and from scratch"
	@echo "              (recipes/synth/multistage without mid-training; AV_ARGS=\"--pretrain-updates 300 --pt-data 'lrs3 kinetics'\")"
	@echo "make multistage  install, then the multi-stage chain once: MAE on the LRS3-like set, en-it mid-training,"
	@echo "              ASR WER without pre-training, with pre-training, with pre-training + mid-training (<= 30 min"
	@echo "              on 2 CPU cores; recipes/synth/multistage, MULTISTAGE_ARGS=\"...\")"
	@echo "make reproduce-multistage  install, then the multi-stage paper's Table 1 and Figure 3 in miniature (<= 2 h on"
	@echo "              2 CPU cores; the grid is GRID_ARGS, the paper's full grid is for a GPU: docs/reproduction.md)"
	@echo "make reproduce-superb  install, then SUPERB's KS, IC, PR and SD on the multi-stage recipe's MAE+CLR"
	@echo "              encoders with and without mid-training: Figure 2 in miniature (<= 1 h on 2 CPU cores;"
	@echo "              recipes/synth/superb, SUPERB_ARGS=\"--upstreams 'w2v2=CKPT'\" adds other upstreams)"
	@echo "make test     install, then run the test suite (CI runs this: everything, the slow tests too)"
	@echo "make test-fast  the test suite without the slow end-to-end recipe and torchrun tests"
	@echo "make bench    install (+bench extra), then write benchmark tables to bench/results/"
	@echo "make install  create $(VENV) and install asrkit with its dev extra"
	@echo "make tools    build KenLM's lmplz and build_binary into tools/bin (apt build deps when root)"
	@echo "make engines  install flite and festival with their voices (Debian packages; apt when root)"
	@echo "make clean    remove $(VENV), build files and recipe outputs"

install: $(STAMP)

# Re-installs only when the packaging files change.
$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# KenLM's lmplz/build_binary from the kenlm sdist on PyPI (the wheel can only query models).
tools: tools/bin/lmplz tools/bin/build_binary

tools/bin/lmplz tools/bin/build_binary &: scripts/build_kenlm.sh | install
	PYTHON=$(PY) bash scripts/build_kenlm.sh tools

# NIST sclite (Debian sctk) for the scoring parity test; where apt is not usable the test
# skips and says why.
sclite:
	@if command -v sclite >/dev/null || [ -x /usr/lib/sctk/bin/sclite ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sctk >/dev/null) \
	  || echo "could not install sctk: the sclite parity test will be skipped"; \
	else echo "sctk needs root and apt-get: the sclite parity test will be skipped"; fi

# flite and festival (Debian) with the voices asrkit.data.synth.engines knows; where apt is not usable the
# engine tests skip and say which packages are missing.
FLITE_PKGS := flite libflite1
FESTIVAL_PKGS := festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
engines:
	@if command -v flite >/dev/null && command -v festival >/dev/null && { [ -e /usr/lib/x86_64-linux-gnu/libflite.so.1 ] || /sbin/ldconfig -p 2>/dev/null | grep -q libflite.so.1; } \
	  && [ -d /usr/share/festival/voices/english/kal_diphone ] && [ -d /usr/share/festival/voices/english/ked_diphone ] \
	  && [ -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(FLITE_PKGS) $(FESTIVAL_PKGS) >/dev/null) \
	  || echo "could not install $(FLITE_PKGS) $(FESTIVAL_PKGS): the flite/festival engine tests will be skipped"; \
	else echo "flite and festival need root and apt-get (apt-get install $(FLITE_PKGS) $(FESTIVAL_PKGS)):" \
	  "the engine tests will be skipped"; fi

test: install tools sclite engines
	$(PY) -m pytest -q $(PYTEST_XDIST) $(PYTEST_ARGS)

test-fast: install tools engines
	$(PY) -m pytest -q -m "not slow" $(PYTEST_XDIST) $(PYTEST_ARGS)

# asrkit doctor stops the demo, naming the fix, when something it needs is missing (engines where apt was not usable)
demo: install tools engines
	$(VENV)/bin/asrkit doctor --for demo --exp-dir recipes/synth/w2v2_tiny
	cd recipes/synth/w2v2_tiny && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./run.sh

# The reproduction targets copy their figures and tables into docs/figures/ (as <prefix><name>), where
# docs/reproduction.md shows them: commit them when they change, so the page and the code agree.
FIGURES := docs/figures
figures = @mkdir -p $(FIGURES) && for f in $(2); do test -f $(1)/$$f && cp $(1)/$$f $(FIGURES)/$(3)$$f \
	  && echo "$(FIGURES)/$(3)$$f updated from $(1)/$$f (commit it with the docs)"; done; true

# SEW-D's Table 1 (Wu et al., 2021) in miniature: W2V2 (demo) vs SEW-D (sew_d_demo, demo's inference time)
# on the synth corpus. sewd_tiny trains on w2v2_tiny's corpus and LM (stages 3-7); each pre-trained + fine-tuned
# model is timed on the test set (batch 1, fp32, one thread); `asrkit compare` joins times and test WERs.
SYNTH := recipes/synth
TABLE1 ?= $(SYNTH)/sewd_tiny/exp/table1.tsv
table1: demo
	cd $(SYNTH)/sewd_tiny && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./run.sh --stage 3 --data ../w2v2_tiny/data
	$(VENV)/bin/asrkit benchmark --manifest $(SYNTH)/w2v2_tiny/data/manifests/test.tsv --precision fp32 --threads 1 \
	  --pretrain-batch 0 \
	  --checkpoint $(SYNTH)/w2v2_tiny/exp/pretrained_10m/checkpoint_best.pt \
	  --out $(SYNTH)/w2v2_tiny/exp/pretrained_10m/benchmark_test.tsv \
	  --checkpoint $(SYNTH)/sewd_tiny/exp/pretrained_10m/checkpoint_best.pt \
	  --out $(SYNTH)/sewd_tiny/exp/pretrained_10m/benchmark_test.tsv
	$(VENV)/bin/asrkit compare --out $(TABLE1) \
	  --model "W2V2 (demo)" $(SYNTH)/w2v2_tiny/exp/pretrained_10m/benchmark_test.tsv $(SYNTH)/w2v2_tiny/exp/results.tsv \
	  --model "SEW-D (sew_d_demo)" $(SYNTH)/sewd_tiny/exp/pretrained_10m/benchmark_test.tsv $(SYNTH)/sewd_tiny/exp/results.tsv

# SEW-D's Table 6 ablation ladder and Figure 1 in miniature (issue 26): recipes/synth/sewd_ablation on the demo's corpus
# and LM (w2v2_tiny's stages 0-2, made first where missing) and budgets. Each row of ROWS (asrkit ablation rows: 1-9,
# ranges, w2v2_mid, sewd_small, sewd_mid, figure1, all; row 2 also with a second seed) is pre-trained, fine-tuned and
# decoded as make demo trains its model, every run is timed on the test set in one interleaved benchmark (ratios to
# row 2 paired by utterance), and ONE results table (exp/ablation.tsv) gains a line per run: a later ROWS adds to it
# without training finished rows. Table 6 and Figure 1 in exp/report/.
ROWS ?= 2-8
SEWD_ARGS ?=
reproduce-sewd: install tools engines
	cd $(SYNTH)/sewd_ablation && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./run.sh --rows "$(ROWS)" $(SEWD_ARGS)
	$(call figures,$(SYNTH)/sewd_ablation/exp/report,figure1.png table6.txt,reproduce_sewd_)
	$(call figures,$(SYNTH)/sewd_ablation/exp,ablation.tsv,reproduce_sewd_)

# wav2vec 2.0's claims in miniature (issue 18): does pre-training help, more with more of it, and less as labels
# grow? A 9-hour pool, pre-training planned into --budget-minutes (120) by timed warm-ups, identical fine-tuning
# from scratch and from checkpoints at 800, 1600, 3200, ... updates (10m), and from the last and scratch (1h).
REPRODUCE_ARGS ?=
reproduce-w2v2: install tools engines
	cd $(SYNTH)/w2v2_claims && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./run.sh $(REPRODUCE_ARGS)
	$(call figures,$(SYNTH)/w2v2_claims/exp,sweep.png sweep.tsv,reproduce_w2v2_)

# The multi-stage paper's first stage (Jain et al., 2024, issue 19): MAE, CLR and MAE+CLR pre-training on the
# synthetic AV sets, measured by asrkit eval-av (exp/av_eval.tsv), then CTC ASR on sentencepiece units from each
# checkpoint with the Conformer frozen and trained, and from scratch (exp/results.tsv).
# recipes/synth/multistage without its stage 4 (mid-training), in its own data_av/ and exp_av/.
AV_ARGS ?=
reproduce-av: install tools engines
	cd $(SYNTH)/multistage && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./run.sh --data data_av --exp exp_av \
	  --midtrain-pairs "" --asr-modes "frozen trained" $(AV_ARGS)

# The multi-stage paper's chain (issue 20): AV pre-training (MAE, LRS3-like set) -> en-it speech-translation
# mid-training (BLEU on tst-COMMON: exp/bleu.tsv) -> ASR with the encoder frozen, and from scratch end to end;
# WER and relative improvements as Table 1 in exp/report_frozen/table1.md.
MULTISTAGE_ARGS ?=
multistage: install engines
	cd $(SYNTH)/multistage && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./run.sh --objectives mae --pt-data lrs3 \
	  --midtrain-pairs en-it $(MULTISTAGE_ARGS)

# Table 1 and Figure 3 in miniature (data_grid/, exp_grid/; exp_grid/report_frozen/{table1.md,figure3.png}). The
# default grid, {MAE, CLR} x {LRS3, Kinetics} x {none, en-it} + no pre-training, and the MAE/LRS3/en-it cell with a
# second seed, tests each of the paper's three findings once: 68 minutes on 2 CPU cores, measured (docs/reproduction.md). The
# paper's whole grid (9 pre-trainings, 27 mid-trainings, 37 ASR models: ~4.5 h on 2 cores by the per-run times):
# GRID_ARGS='--objectives "mae clr mae_clr" --pt-data "lrs3 voxceleb2 kinetics" --midtrain-pairs "en-de en-it en-nl"'
GRID_ARGS ?= --objectives "mae clr" --pt-data "lrs3 kinetics" --midtrain-pairs en-it \
	--repeat-cell "mae lrs3 en-it" --repeat-seeds 2
reproduce-multistage: install engines
	cd $(SYNTH)/multistage && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./run.sh --data data_grid --exp exp_grid $(GRID_ARGS)
	$(call figures,$(SYNTH)/multistage/exp_grid/report_frozen,table1.md figure3.png,multistage_)

# SUPERB's four downstream tasks (issue 21) on the built-in analogs: the multi-stage recipe pre-trains MAE+CLR on
# its LRS3- and Kinetics-like sets and mid-trains each on en-it (recipes/synth/multistage, data_superb/ and
# exp_superb/), then each task's downstream learns on every frozen encoder; Figure 2 in miniature in
# recipes/synth/superb/exp/report/{figure2.md,figure2.png}.
SUPERB_ARGS ?=
reproduce-superb: install
	cd $(SYNTH)/superb && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./run.sh $(SUPERB_ARGS)
	$(call figures,$(SYNTH)/superb/exp/report,figure2.md figure2.png layer_weights.png,superb_)
	$(call figures,$(SYNTH)/superb/exp,superb_results.tsv,)

bench: install
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m benchmarks --out bench/results $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache bench/results tools
	rm -rf recipes/*/*/data recipes/*/*/exp recipes/*/*/data_* recipes/*/*/exp_*
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
