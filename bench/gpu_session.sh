#!/usr/bin/env bash
# gpu_session.sh — one device session: card facts, GPU suites, benchmarks, SASS checks.
# Run on the GPU machine from the repository root after building here into build-gpu/:
#   bench/gpu_session.sh [phase ...]    phases: card sass stream suites shared bench peers profile variants ring
#                                       patterns ringprof fp8 tall timeline ab
#                                       (default: card sass stream bench)
# Logs go to $OUT (the device tool's folder) or ./gpu-out; a short summary is printed last.
set -uo pipefail
export NCCL_NVLS_ENABLE=0
B="${BUILD_DIR:-build-gpu}"
O="${OUT:-gpu-out}"
mkdir -p "$O"
phases=("$@")
((${#phases[@]})) || phases=(card sass stream bench)
summary=()
t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0)) s] $*"; }
for ph in "${phases[@]}"; do
  stamp "phase $ph"
  case "$ph" in
  card)
    nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv | tee "$O/card.txt"
    summary+=("card: $(tail -1 "$O/card.txt")") ;;
  sass)
    # the stream kernels' machine code: tensor-core MMAs, 16-byte weight loads, no local memory
    rm -rf /tmp/ds-sass && "$B/bin/dsmlp-compile" examples/llama3-8b.lua --cache-dir /tmp/ds-sass -j 8 -q >/dev/null 2>&1
    : > "$O/sass.txt"
    for f in /tmp/ds-sass/*.dsk; do
      name=$(dd if="$f" bs=1 skip=80 count=128 2>/dev/null | tr -d '\0')
      case "$name" in dsmlp_ws_*) ;; *) continue ;; esac
      dd if="$f" bs=256 skip=1 of=/tmp/k.cubin 2>/dev/null
      cuobjdump -sass /tmp/k.cubin > /tmp/k.sass 2>&1
      printf '%s: HMMA %s  LDG.128 %s  LDGSTS %s  STL/LDL %s  BAR %s\n' "$name" \
        "$(grep -c HMMA /tmp/k.sass)" "$(grep -cE 'LDG\.E\.(EL\.)?(LTC256B\.)?128|LDG\.E.*\.128' /tmp/k.sass)" \
        "$(grep -c LDGSTS /tmp/k.sass)" "$(grep -cE '\bSTL|\bLDL' /tmp/k.sass)" "$(grep -c 'BAR.SYNC' /tmp/k.sass)" | tee -a "$O/sass.txt"
      grep -m3 -E 'LDG' /tmp/k.sass >> "$O/sass.txt"
    done
    summary+=("sass: $(wc -l < "$O/sass.txt") lines") ;;
  stream)
    ctest --test-dir "$B" -R 'test_gpu_stream' --output-on-failure --timeout 500 > "$O/stream.log" 2>&1
    summary+=("stream suite rc=$? :: $(grep -E '^== |cases|Checks' "$O/stream.log" | tr '\n' ' ' | cut -c1-600)") ;;
  shared)
    # every GPU suite at once, as CI-like runs do: the stream route's T <= 32 bodies failed only this way once
    # (docs/stream.md: the harness's uploads raced the runs)
    ctest --test-dir "$B" -L gpu -j 4 --output-on-failure --timeout 550 > "$O/shared.log" 2>&1
    summary+=("shared rc=$? :: $(grep -E '^FAIL|tests passed|Failed|== stream' "$O/shared.log" | tr '\n' ' ' | cut -c1-900)") ;;
  suites)
    ctest --test-dir "$B" -L gpu -E 'test_gpu_stream|test_gpu_tp' --output-on-failure --timeout 550 > "$O/suites.log" 2>&1
    summary+=("suites rc=$? :: $(grep -E '^== |tests passed|Failed|Skipped' "$O/suites.log" | tr '\n' ' ' | cut -c1-900)") ;;
  bench)
    "$B/bin/dsmlp-bench" --all --tokens "${TOKENS:-1,2,4,8,16,32,64,128,1024}" --reps "${REPS:-100}" --md "$O/bench.md" \
      > "$O/bench.log" 2>&1
    summary+=("bench rc=$?") ;;
  profile)
    # per-kernel facts of the stream kernels (duration, DRAM throughput, stalls)
    ncu --clock-control none --kernel-name regex:'ws_' --launch-count ${NCU_COUNT:-4} --section SpeedOfLight \
      --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy --section LaunchStats \
      "$B/bin/dsmlp-bench" --block ${NCU_BLOCK:-gelu_f16_h4096} --tokens ${NCU_T:-1} --reps 2 --no-tune \
      > "$O/ncu.txt" 2>&1
    summary+=("ncu rc=$? $(grep -E 'Duration|DRAM Throughput|Memory Throughput' "$O/ncu.txt" | head -12 | tr -s ' ' | tr '\n' ';')") ;;
  variants)
    # float plans build the route only when asked (stream_max_tokens)
    for blk in ${VBLOCKS:-gelu_f16_h4096 swiglu_bf16_h4096 gelu_i8_h4096 swiglu_i8_h4096}; do
      DSMLP_STREAM_MAX_TOKENS="${DSMLP_STREAM_MAX_TOKENS:-128}" "$B/bin/dsmlp-bench" --block "$blk" \
        --tokens "${VTOKENS:-1,8,16,32,64}" --reps 60 --variants >> "$O/variants.log" 2>&1
    done
    summary+=("$(grep 'variants:' "$O/variants.log")") ;;
  ring)
    # the shared-memory W ring variants (stream_pipe): correctness on the card, then the variants side by side
    # ([out,in] weights: int8 blocks, and the float blocks with --layout out_in)
    CK_RUN_CASE=ring ctest --test-dir "$B" -R 'test_gpu_stream' --output-on-failure --timeout "${RING_TIMEOUT:-300}" \
      > "$O/ring.log" 2>&1
    summary+=("ring suite rc=$? :: $(grep -E 'W ring|FAIL|Checks|chained|Timeout' "$O/ring.log" | tr '\n' ' ' | cut -c1-700)")
    for blk in ${RBLOCKS:-gelu_i8_h4096 swiglu_i8_h4096 gelu_f16_h4096 swiglu_bf16_h4096}; do
      DSMLP_STREAM_PIPE=1 DSMLP_STREAM_MAX_TOKENS=8 timeout "${RBENCH_TIMEOUT:-120}" "$B/bin/dsmlp-bench" --block "$blk" \
        --layout out_in --tokens "${RTOKENS:-1,2,4,8}" --reps 60 --variants --grids 0 >> "$O/ring_variants.log" 2>&1 \
        || echo "$blk: rc=$?" >> "$O/ring_variants.log"
    done
    summary+=("$(grep 'variants:' "$O/ring_variants.log")") ;;
  tall)
    # the T = 17..128 rings (variants 9 and 10) against the main steps, quantized blocks; with B2=<another build dir>
    # the same runs from that build as well, interleaved (B, B2, B), so two versions compare within one call;
    # TLOADED=1 times the plans as loaded (the heuristic's picks) instead of every variant pinned: about half the time
    tflags=(--variants --grids 0)
    [[ -n "${TLOADED:-}" ]] && tflags=()
    for blk in ${TBLOCKS:-gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096}; do
      for d in "$B" ${B2:+"$B2" "$B"}; do
        echo "== $d" >> "$O/tall.log"
        DSMLP_STREAM_PIPE=1 DSMLP_STREAM_MAX_TOKENS=128 timeout "${TBENCH_TIMEOUT:-150}" "$d/bin/dsmlp-bench" \
          --block "$blk" --tokens "${TTOKENS:-17,32,33,64,96,128}" --reps 40 --no-tune \
          "${tflags[@]}" \
          >> "$O/tall.log" 2>&1 || echo "$blk: rc=$?" >> "$O/tall.log"
      done
    done
    summary+=("$(grep -E '^== |variants:| T=' "$O/tall.log")") ;;
  ringprof)
    # where the W ring kernels' cycles go, per source line: the int8 ring streams 2.1-2.4 TB/s where the bare ring
    # streams 3.6 (docs/stream.md); stall reasons per PC and the instruction mix of the heuristic's ring kernels
    ncu --clock-control none --kernel-name regex:'ws_.*p_t' --launch-count 2 --section WarpStateStats \
      --section SourceCounters --section InstructionStats --section SchedulerStats --print-details all \
      "$B/bin/dsmlp-bench" --block ${NCU_BLOCK:-gelu_i8_h4096} --tokens ${NCU_T:-1} --reps 2 --no-tune \
      > "$O/ringprof.txt" 2>&1
    summary+=("ringprof rc=$? $(grep -cE 'Stall' "$O/ringprof.txt") stall lines")
    # per-SASS-instruction counts and stall samples of the first ring kernel (the consumers' inner loop mix)
    ncu --clock-control none --kernel-name regex:'ws_.*p_t' --launch-count 1 --section SourceCounters \
      --section WarpStateStats --import-source no -o "$O/ringprof" -f \
      "$B/bin/dsmlp-bench" --block ${NCU_BLOCK:-gelu_i8_h4096} --tokens ${NCU_T:-1} --reps 2 --no-tune > /dev/null 2>&1
    ncu -i "$O/ringprof.ncu-rep" --page source --print-source sass --csv > "$O/ringprof_sass.csv" 2>&1
    summary+=("ringprof sass rc=$? $(wc -l < "$O/ringprof_sass.csv") lines") ;;
  fp8)
    # fp8 e4m3 weight-only blocks (per-channel scales) beside int8 and f16, as loaded
    for blk in gelu_fp8_h4096 swiglu_fp8_h4096; do
      timeout 200 "$B/bin/dsmlp-bench" --block "$blk" --tokens "${TOKENS:-1,8,16,32,128,1024}" --reps 60 --no-tune \
        >> "$O/fp8.log" 2>&1 || echo "$blk: rc=$?" >> "$O/fp8.log"
    done
    summary+=("fp8: $(grep -cE 'T=' "$O/fp8.log") rows") ;;
  patterns)
    # bench/proto/read_patterns.cu (built by hand into $B/bin, see its first lines): ways of reading W, the bare
    # bulk-copy ring, and the ring with the stream kernels' consumer work
    timeout 200 "$B/bin/read_patterns" > "$O/patterns.log" 2>&1
    summary+=("patterns rc=$? :: $(grep -E 'bulk\+mma|ranges=1 BN=32 SEG=1024 S=4 consumers=16' "$O/patterns.log" | tr -s ' ' | tr '\n' ';')") ;;
  timeline)
    # where a block's time goes inside a graph replay: a -DDSMLP_TIMELINE=20 build in $TL_BUILD_DIR (docs/quant.md),
    # one process per block and T (each module counts its own launches); TL_VARIANTS: builds in $TL_BUILD_DIR/bin/var
    # (BUILD_DIR=build-tl bench/build_variant.sh NAME PATCH) instead of the build's own dsmlp-bench
    TLB="${TL_BUILD_DIR:-build-tl}"
    for v in ${TL_VARIANTS:-.}; do
      bin="$TLB/bin/dsmlp-bench"; [ "$v" = . ] || bin="$TLB/bin/var/$v"
      for blk in ${TL_BLOCKS:-gelu_i8_h4096 swiglu_i8_h4096}; do
        for t in ${TL_TOKENS:-16 64}; do
          raw="$O/timeline-$blk-$t.raw"; [ "$v" = . ] || raw="$O/timeline-$v-$blk-$t.raw"
          DSMLP_CACHE_DIR=/tmp/ds-tl timeout 120 "$bin" --block "$blk" --tokens "$t" --reps 30 --no-tune > "$raw" 2>&1
          { echo "== ${v#.} $blk T=$t"; python3 bench/timeline.py < "$raw"; } >> "$O/timeline.txt" 2>&1
        done
      done
    done
    summary+=("timeline: $(grep -c '^whole' "$O/timeline.txt") tables in $O/timeline.txt") ;;
  ab)
    # builds side by side (bench/build_variant.sh puts each in $B/bin/var/NAME): AB_VARIANTS in turn, AB_ROUNDS
    # times, for each of AB_BLOCKS at AB_TOKENS; one line per run: "round block variant T=.. as loaded/main ..."
    for v in ${AB_VARIANTS:?AB_VARIANTS: names of builds in $B/bin/var}; do
      timeout 60 "$B/bin/var/$v" --block gelu_i8_h4096 --tokens 16 --reps 3 --no-tune > /dev/null 2>&1   # warm the store
    done
    for r in $(seq 1 "${AB_ROUNDS:-2}"); do
      for blk in ${AB_BLOCKS:-gelu_i8_h4096 swiglu_i8_h4096 gelu_fp8_h4096}; do
        for v in $AB_VARIANTS; do
          echo "$r $blk $v $(timeout 120 "$B/bin/var/$v" --block "$blk" --tokens "${AB_TOKENS:-2,16,32,64,128,1024}" --reps 30 \
            --no-tune 2>&1 | grep -E 'T=' | awk '{printf "%s %s/%s  ", $2, $4, $6}')"
        done
      done
    done | tee "$O/ab.txt"
    summary+=("ab: $(wc -l < "$O/ab.txt") runs in $O/ab.txt") ;;
  peers)
    PYTHONUNBUFFERED=1 python3 bench/peers.py --lib "$B/lib/libdsmlp.so" --tokens "${TOKENS:-1,2,4,8,16,32,64,128}" \
      --json "$O/peers.json" ${PEERS_ARGS:-} > "$O/peers.log" 2>&1
    summary+=("peers rc=$?") ;;
  *) echo "unknown phase $ph" ;;
  esac
done
stamp "done"
printf '%s\n' "${summary[@]}"
[ -f "$O/bench.log" ] && grep -E "^card|^measured|T=" "$O/bench.log" | cut -c1-170
