# shellcheck shell=bash
# Parallelism for this recipe; edit for your machine.
nj=${nj:-$(nproc)}   # CPU processes for corpus synthesis, manifest validation and the LM beam search
# The two fine-tunings of stage 5 (pre-trained, scratch) run side by side when train_nj > 1, one torch thread
# each, their output in $exp/<run>/run.log (../../utils/jobs.sh); 1: one after the other, on the terminal, with
# torch's default threads. Two one-thread trainings side by side do ~1.5x the work of one alone on 2 cores
# (../multistage/cmd.sh). On a GPU, 1 per GPU.
train_nj=${train_nj:-$(nproc)}
