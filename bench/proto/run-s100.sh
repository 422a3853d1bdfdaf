#!/usr/bin/env bash
# Seventy-sixth session (~150 s on an H100; ~300 s on an H200 with the standing): is a mixed GEMM's slow tail the SM
# or the rows it streams? Two -DDSMLP_TIMELINE=20 builds of main with bench/proto/tl-rotate-tiles.patch, whose row
# tile is (blockIdx.y + ROT) mod gridDim.y: build-tl0 (ROT 0, main's mapping) and build-tl61 (ROT 61). Three processes
# of each per (block, T); bench/proto/tl_rotation.py correlates the block times keyed by SM, by row tile, by block.
# A high SM correlation across rotations with a low tile one says some SMs stream slower whatever rows they get: a
# per-SM assignment measured on the device (the four SMs GELU-4096's 128-tile first GEMM leaves idle chosen as the
# slowest) could pay; the opposite says the rows' addresses are slow. On an H200, main's standing after (run-s76.sh).
#   prep: cmake -S . -B build-tlR -G Ninja -DCMAKE_BUILD_TYPE=Release -DDSMLP_BUILD_TESTS=OFF
#           "-DCMAKE_C_FLAGS=-DDSMLP_TIMELINE=20 -DDSMLP_TL_ROT=R" for R = 0, 61, built with the patch applied
#         bench/store_prefill.sh build-gpu/bin/tl/store.tar.xz 16 build-tlR/bin/dsmlp-bench:BLOCK ... (and :64)
#   carry: build-tl0/bin build-tl61/bin build-gpu/bin build-gpu/lib
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
card=$(nvidia-smi --query-gpu=name --format=csv,noheader)
if [[ $card == *H200* ]]; then STORE=build-gpu/bin/s93/store.tar.xz bash bench/proto/run-s76.sh; fi
export DSMLP_CACHE_DIR=/tmp/c-tl && mkdir -p $DSMLP_CACHE_DIR && tar -xJf build-gpu/bin/tl/store.tar.xz -C $DSMLP_CACHE_DIR
s0=$SECONDS
for bt in gelu_i8_h4096:16 gelu_f16_h4096:16 swiglu_i8_h4096:16 gelu_i8_h4096:64; do
  b=${bt%:*} t=${bt#*:}
  args=()
  for i in 1 2 3; do
    for r in 0 61; do
      f=$OUT/tl-$b-$t-r$r-$i.raw
      timeout 90 build-tl$r/bin/dsmlp-bench --block $b --tokens $t --reps 30 --no-tune --layout out_in > "$f" 2>&1
      echo "$b T=$t rot $r #$i rc=$? $((SECONDS - s0))s $(grep 'T=' "$f" | head -1)"
      args+=("$r:$f")
    done
  done
  python3 bench/proto/tl_rotation.py "${args[@]}"
done
