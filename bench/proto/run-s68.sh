#!/usr/bin/env bash
# Sixty-sixth session: the short form of run-s67.sh for a call with less device time left (~300 s on an H100): the
# pair probe, variant dpf against main (one round), variants w4 / w4n against main ([out,in], one round), then dpf's
# mixed test case as far as the time allows.
#   carry: build-gpu/bin build-gpu/lib      (timeout_s >= 330)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
t0=$(date +%s)
timeout 100 build-gpu/bin/pair_stream; echo "== pair_stream rc $? in $(( $(date +%s) - t0 )) s"
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz
export DSMLP_COMPILE_THREADS=16
B=build-gpu/bin/dsmlp-bench
for blk in gelu_i8_h4096 swiglu_i8_h4096; do
  echo "== $blk"; bench_run main $B out_in 3,8,16,64 50; bench_run dpf build-gpu/bin/var/dpf out_in 3,8,16,64 50
done
for blk in gelu_f16_h4096 swiglu_bf16_h4096; do
  echo "== $blk out_in"; bench_run main $B out_in 1,2,3,4,8 50
  bench_run w4 build-gpu/bin/var/w4 out_in 1,2,3,4,8 50; bench_run w4n build-gpu/bin/var/w4n out_in 1,2,3,4,8 50
done
echo "== A/B done at $(( $(date +%s) - t0 )) s"
CK_RUN_CASE=mixed timeout ${QUANT_LIMIT:-60} build-gpu/bin/var/dpf-test_gpu_quant > /tmp/m.log 2>&1
echo "dpf test_gpu_quant mixed rc $?: $(grep -E '^[0-9]+%:' /tmp/m.log)"; grep -E "^FAIL|cases \(" /tmp/m.log | tail -4
echo "== run-s68.sh took $(( $(date +%s) - t0 )) s"
