#!/usr/bin/env bash
# Sixty-first session, first call (an H200 if one comes): the mixed kernels' L2 prefetch at entry (main against
# 4695e73, two rounds) there; main's standing; then, on either card, which of SwiGLU-8192 bf16's two [in,out] decode
# GEMVs loses 30 us to cuBLASLt at T = 1 (H100, sixtieth session): ncu's duration and DRAM bytes of every kernel of
# one replay, GEMVs (auto) against cuBLASLt (DSMLP_DECODE_MAX_TOKENS=0); SwiGLU-4096 bf16 the same as the control.
#   prep: bash bench/proto/prep-s61.sh      bash bench/proto/run-s61.sh    carry: build-gpu/bin build-gpu/lib
. bench/proto/device-env.sh build-gpu/bin/s61/store.tar.xz
O=build-gpu/bin/old/dsmlp-bench-4695 B=build-gpu/bin/dsmlp-bench T=1,2,3,4,8,16,32,64,128,1024
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then
  for r in 1 2; do
    for blk in gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096; do
      echo "== $blk round $r"; bench_run 4695e73 $O out_in $T 50; bench_run main $B out_in $T 50
    done
  done
fi
for blk in gelu_f16_h4096 swiglu_bf16_h4096 gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096 swiglu_i8_h8192; do
  timeout 90 $B --block $blk --tokens $T --reps 50 --no-tune --layout out_in 2>&1 | grep "T=" |
    awk '{printf "%s %s %s | ", $1, $2, $4} END {print ""}'
done
for blk in swiglu_bf16_h8192 swiglu_bf16_h4096; do
  for s in auto 0; do
    e=""; [ $s = 0 ] && e="DSMLP_DECODE_MAX_TOKENS=0"
    echo "== ncu $blk [in,out] T = 1, decode GEMV $s"
    env $e timeout 150 ncu --clock-control none --csv --metrics gpu__time_duration.sum,dram__bytes_read.sum \
      --launch-skip 8 --launch-count 8 $B --block $blk --tokens 1 --reps 2 --no-tune --layout in_out \
      > $OUT/ncu-$blk-$s.csv 2>&1
    python3 bench/proto/ncu_kernels.py $OUT/ncu-$blk-$s.csv | head -10
  done
done
# Where the int8 block's T <= 16 and T = 128 time goes, kernel by kernel (serialized by ncu: no PDL overlap).
for c in gelu_i8_h4096:8 gelu_i8_h4096:16 swiglu_i8_h4096:128; do
  blk=${c%:*} t=${c#*:}
  echo "== ncu $blk [out,in] T = $t"
  timeout 120 ncu --clock-control none --csv --metrics gpu__time_duration.sum,dram__bytes_read.sum \
    --launch-skip 12 --launch-count 12 $B --block $blk --tokens $t --reps 2 --no-tune --layout out_in \
    > $OUT/ncu-$blk-$t.csv 2>&1
  python3 bench/proto/ncu_kernels.py $OUT/ncu-$blk-$t.csv | head -12
done
