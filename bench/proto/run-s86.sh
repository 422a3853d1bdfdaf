#!/usr/bin/env bash
# Seventy-second session: for an H200 only (on any other card it names the card and stops: a start that brought an
# H100 costs ~30 s). On the goals' card, where the copy engine's read patterns top out at ~3.5 TB/s against the plain
# loads' ~3.85 (sixteenth session): (1) `fused_decode p1`: GEMM 1 on mma.sync with W1 in fragment order, loaded
# straight into registers, against W1's read stream (on the H100 it was level with main's code kernel: 28.8 against
# 28.2 us); (2) ncu per kernel of main's GELU-4096 int8 and f16 blocks at T = 8; (3) main's standing (run-s76.sh).
#   prep: build-gpu/bin/fused_decode (run-s83.sh's build); the store of run-s76.sh (its header)
#   carry: build-gpu/bin build-gpu/lib
name=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
echo "card: $name"
case "$name" in *H200*) ;; *) echo "not an H200: nothing run"; exit 0 ;; esac
timeout 150 build-gpu/bin/fused_decode p1; echo "fused_decode p1 rc $?"
. bench/proto/device-env.sh build-gpu/bin/s62d/store.tar.xz > /dev/null
ncu_prof g8 out_in gelu_i8_h4096 8
ncu_prof f8 out_in gelu_f16_h4096 8
bash bench/proto/run-s76.sh
