# Sourced by the bench/proto call scripts on the device machine: NCCL without NVLink multicast (KINDS.md), the
# templates and build found from the repository root, the carried kernel store unpacked as the store, the card named.
#   . bench/proto/device-env.sh STORE.tar.xz     (bench/store_prefill.sh makes STORE)
export NCCL_NVLS_ENABLE=0 DSMLP_SOURCE_DIR=$PWD DSMLP_BINARY_DIR=$PWD/build-gpu
export DSMLP_CACHE_DIR=/tmp/c-b && mkdir -p $DSMLP_CACHE_DIR
tar -xJf "${1:?usage: . bench/proto/device-env.sh STORE.tar.xz}" -C $DSMLP_CACHE_DIR
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
