# Sourced by the bench/proto call scripts on the device machine: NCCL without NVLink multicast (KINDS.md), the
# templates and build found from the repository root, the carried kernel store unpacked as the store, the card named.
#   . bench/proto/device-env.sh STORE.tar.xz     (bench/store_prefill.sh makes STORE)
export NCCL_NVLS_ENABLE=0 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
export DSMLP_CACHE_DIR=/tmp/c-b && mkdir -p $DSMLP_CACHE_DIR
tar -xJf "${1:?usage: . bench/proto/device-env.sh STORE.tar.xz}" -C $DSMLP_CACHE_DIR
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
# One dsmlp-bench process of an A/B table (the block in $blk): prints "T=<t> <µs as loaded> ..." and the label.
bench_run() {   # label binary layout tokens reps [VAR=VALUE...]
  local l=$1 b=$2 lay=$3 tok=$4 reps=$5
  shift 5
  env "$@" timeout 90 "$b" --block "$blk" --tokens "$tok" --reps "$reps" --no-tune --layout "$lay" 2>&1 | grep "T=" |
    awk -v l="$l" '{printf "%s %s ", $2, $4} END {print "  " l}'
}
