#!/usr/bin/env bash
# Seventy-sixth session (~60 s on an H100): the trigger with mixed_serial_split = 0 (the second GEMM at T <= 32 in
# clusters again, launched early): main's binary (build-main) against the landed build, both with the option 0, and
# the landed build as loaded, two rounds, GELU- / SwiGLU-4096 int8 at T = 3..32.
#   prep: bench/store_prefill.sh build-gpu/bin/s103/store.tar.xz 3,8,16,32 over both binaries x both blocks, with
#         and without DSMLP_MIXED_SERIAL_SPLIT=0
#   carry: build-gpu/bin build-gpu/lib build-main/bin
. bench/proto/device-env.sh build-gpu/bin/s103/store.tar.xz
export DSMLP_COMPILE_THREADS=16
TL=3,8,16,32
a() { bench_run main-ss0 build-main/bin/dsmlp-bench out_in $TL 50 DSMLP_MIXED_SERIAL_SPLIT=0; }
b() { bench_run trig-ss0 build-gpu/bin/dsmlp-bench out_in $TL 50 DSMLP_MIXED_SERIAL_SPLIT=0; }
c() { bench_run trig build-gpu/bin/dsmlp-bench out_in $TL 50; }
for r in 1 2; do
  for blk in gelu_i8_h4096 swiglu_i8_h4096; do
    echo "== $blk r$r"
    if [ $r = 1 ]; then a; b; c; else c; b; a; fi
  done
done
