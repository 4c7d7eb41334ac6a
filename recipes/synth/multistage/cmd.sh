# shellcheck shell=bash
# Parallelism for this recipe; edit for your machine.
nj=${nj:-$(nproc)}   # CPU processes for corpus synthesis, manifest preparation and validation
# torch threads per process: one. On 2 shared CPU cores torch's default (a thread per core) collapses when anything
# else runs: asrkit midtrain (15 s batches, bf16, 2-core AMD EPYC) made 45-50 audio s/s beside one busy process and
# 4-14 beside another training, against 127-143 with one thread; alone, two threads made 160, one 140.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
