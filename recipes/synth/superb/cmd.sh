# shellcheck shell=bash
# Parallelism for this recipe; edit for your machine.
nj=${nj:-$(nproc)}   # CPU processes for corpus synthesis, manifest preparation and validation
# Trainings (and decodings) of one stage run side by side, train_nj at a time, each with its output in
# $exp/<run>/run.log (../../utils/jobs.sh); 1: one after another, on the terminal. On a GPU, 1 per GPU.
train_nj=${train_nj:-$(nproc)}
# torch threads per process: one. On 2 shared CPU cores torch's default (a thread per core) collapses when anything
# else runs: asrkit midtrain (15 s batches, bf16, 2-core AMD EPYC) made 45-50 audio s/s beside one busy process and
# 4-14 beside another training, against 127-143 with one thread; alone, two threads made 160, one 140. Two
# one-thread trainings side by side (train_nj=2) do ~1.5x the work of one alone (../../utils/jobs.sh).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
