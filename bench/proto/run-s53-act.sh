#!/usr/bin/env bash
# Prepared in the fifty-second session (no device lent then) for the branch act-follower: its GPU tests, then what
# taking the erf-GELU step into the generated kernels' epilogues is worth (BERT as it is, GELU-4096 int8 with
# erf-GELU), main against the branch in one call, two rounds; bert_f16_h768 (tanh: cuBLASLt's epilogue, no act
# kernel) as the bound; and whether the float wgmma kernels should serve BERT's first GEMM at small T now that they
# take its erf-GELU (DSMLP_MIXED_GEMM=2 pins them; one tuned run says what dsmlp_plan_tune picks per bucket).
# Built by bench/proto/build-s53-act.sh (on the branch) into build-gpu/bin/s53 (with a store); runs from either branch.
#   bash bench/proto/run-s53-act.sh     carry: build-gpu/bin/s53, build-gpu/lib      (~6-9 min: give it timeout_s 600;
#   the family case runs last, and if the limit cuts it, run it alone: CK_RUN_CASE=family build-gpu/bin/s53/act-test_gpu_mlp_family)
final=$OUT
export OUT=/tmp/s53 && mkdir -p $OUT
export NCCL_NVLS_ENABLE=0 DSMLP_COMPILE_THREADS=16 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
B=build-gpu/bin/s53
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p /tmp/c-a && tar -xJf $B/store.tar.xz -C /tmp/c-a && export DSMLP_CACHE_DIR=/tmp/c-a
s0=$SECONDS
# 1. the branch's GPU tests: the new act_epilogues case (GEMV, mixed int8, wgmma float; erf and SiLU), then the
#    suites its rename and the mixed kernels' gated flag touch
CK_RUN_CASE=act timeout 300 $B/act-test_gpu_mlp_family > $OUT/family.log 2>&1
echo "== test_gpu_mlp_family act rc $? ($((SECONDS - s0)) s)"; grep -E "FAIL|cases|Checks|erf|silu" $OUT/family.log | tail -30
for t in test_gpu_wgmma test_gpu_runtime; do
  timeout 200 $B/act-$t > $OUT/$t.log 2>&1; echo "== $t rc $?"; grep -E "FAIL|cases|Checks" $OUT/$t.log | tail -4
done
CK_RUN_CASE=mixed timeout 300 $B/act-test_gpu_quant > $OUT/quant.log 2>&1; echo "== test_gpu_quant (mixed) rc $?"
grep -E "FAIL|cases|Checks" $OUT/quant.log | tail -6
echo "tests $((SECONDS - s0)) s"
# 2. timing, main (head) against the branch (act), as loaded, two rounds
bench() {   # BUILD BLOCK LAYOUT TOKENS ROUND
  timeout 150 $B/$1-dsmlp-bench --block "$2" --tokens "$4" --reps 50 --no-tune --layout "$3" \
    --md "$OUT/$1-$2-$3-$5.md" > "$OUT/$1-$2-$3-$5.log" 2>&1 || echo "$1 $2 $3 round $5 rc $?"
}
s0=$SECONDS
for r in 1 2; do for b in head act; do
  bench $b bert_erf_f16_h768 out_in 1,2,4,8,16,32,64,128 $r
  bench $b bert_erf_f16_h768 in_out 1,2,8,64,100,128 $r
  bench $b gelu_erf_i8_h4096 out_in 1,2,16,64,128,1024 $r
done; done
bench act bert_f16_h768 out_in 1,2,4,8,16,32,64,128 1
for r in 1 2; do
  DSMLP_MIXED_GEMM=2 timeout 150 $B/act-dsmlp-bench --block bert_erf_f16_h768 --tokens 2,4,8,16,32,64 --reps 50 --no-tune \
    --layout out_in --md $OUT/actpin-bert_erf_f16_h768-out_in-$r.md > $OUT/actpin-$r.log 2>&1 || echo "actpin round $r rc $?"
done
echo "bench $((SECONDS - s0)) s"
bash bench/proto/md_lines.sh $OUT/*.md
# after the timing (nothing else on the card then): the existing families and int8 blocks (RMS + gated SiLU on the
# mixed kernels' gated form, which plan_gemm.mixed_gated now selects)
CK_RUN_CASE=family timeout 420 $B/act-test_gpu_mlp_family > $OUT/family2.log 2>&1
echo "== test_gpu_mlp_family family rc $?"; grep -E "FAIL|cases|Checks" $OUT/family2.log | tail -6
timeout 200 $B/act-dsmlp-bench --block bert_erf_f16_h768 --tokens 1,2,4,8,16,32,64,128 --reps 50 --layout out_in \
  --md $OUT/tuned.md > $OUT/tuned.log 2>&1; echo "== tuned run rc $?"; cat $OUT/tuned.md
cp $OUT/family.log $OUT/quant.log $final/ 2>/dev/null
