#!/usr/bin/env bash
# The forty-eighth session's device call: fused_decode quick (the tensor-core one-kernel block: RED 7 rows after a
# grid barrier with an L2 prefetch, RED 10-12 clusters of 2, 4, 8 blocks sharing W2 row groups by k; also 2 units a block at T = 16) beside main (dsmlp-bench) on
# the same card (third call: h in two k chunks, clusters of 2 at two blocks a SM). carry: build-gpu/bin/fused_decode build-gpu/bin/dsmlp-bench build-gpu/lib build-gpu/bin/store-s48.tar.xz
#   (store: bench/store_prefill.sh build-gpu/bin/store-s48.tar.xz 1,8 build-gpu/bin/dsmlp-bench:gelu_i8_h4096 \
#    build-gpu/bin/dsmlp-bench:swiglu_i8_h4096)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 300 build-gpu/bin/fused_decode quick > "$OUT/q.log" 2>&1
echo "fused_decode rc $?"
mkdir -p /tmp/c-b && tar -xJf build-gpu/bin/store-s48.tar.xz -C /tmp/c-b && export DSMLP_CACHE_DIR=/tmp/c-b
for round in 1; do
  for b in gelu_i8_h4096 swiglu_i8_h4096; do
    timeout 120 build-gpu/bin/dsmlp-bench --block $b --tokens 1,8 --reps 30 --no-tune --layout out_in \
      --md "$OUT/$b-$round.md" > "$OUT/$b-$round.log" 2>&1
    echo "$b round $round rc $?"
  done
done
cat "$OUT/q.log"
for f in "$OUT"/*.md; do echo "== $f"; cat "$f"; done
