#!/usr/bin/env bash
# build_variant.sh — builds dsmlp-bench (and the GPU test binaries that cover it) with a change applied, for A/B
# runs on the device (bench/gpu_session.sh ab), and leaves the tree and the build as they were:
#   bench/build_variant.sh NAME [PATCH...]     PATCH: bench/proto patches, applied in order (git apply); none: the
#                                              working tree as is
# Outputs: $BUILD_DIR/bin/var/NAME (dsmlp-bench) and NAME-TEST for each of VARIANT_TESTS (default: test_gpu_quant
# test_gpu_stream). The binaries are static and carry their templates, so they run from any folder; BUILD_DIR
# (default build-gpu) is rebuilt after.
set -euo pipefail
name="${1:?usage: bench/build_variant.sh NAME [PATCH...]}"
shift
patches=("$@")
B="${BUILD_DIR:-build-gpu}"
tests="${VARIANT_TESTS:-test_gpu_quant test_gpu_stream}"
[ -d "$B" ] || { echo "build_variant.sh: no build folder $B (configure it first: README)" >&2; exit 1; }
applied=()
revert() {   # the applied patches, last first
  for ((i = ${#applied[@]} - 1; i >= 0; i--)); do git apply -R "${applied[i]}"; done
  [ ${#applied[@]} -eq 0 ] || echo "build_variant.sh: ${applied[*]} reverted" >&2
  applied=()
}
trap revert EXIT
for patch in "${patches[@]}"; do
  git apply --check "$patch" || { echo "build_variant.sh: $patch does not apply to this tree (after ${applied[*]:-nothing})" >&2; exit 1; }
  git apply "$patch"
  applied+=("$patch")
done
mkdir -p "$B/bin/var"
echo "build_variant.sh: building $name${patches[*]:+ with ${patches[*]}}" >&2
# shellcheck disable=SC2086
cmake --build "$B" -j "$(nproc)" --target dsmlp-bench $tests >/dev/null
cp "$B/bin/dsmlp-bench" "$B/bin/var/$name"
for t in $tests; do cp "$B/tests/$t" "$B/bin/var/$name-$t"; done
if [ ${#patches[@]} -gt 0 ]; then
  revert
  echo "build_variant.sh: rebuilding $B without the change" >&2
  kept=""   # a test the change added is no target without it
  for t in $tests; do [ -e "tests/$t.c" ] || [ -e "tests/gpu/$t.c" ] && kept="$kept $t"; done
  # shellcheck disable=SC2086
  cmake --build "$B" -j "$(nproc)" --target dsmlp-bench $kept >/dev/null
fi
echo "build_variant.sh: $B/bin/var/$name (and -${tests// /, -})" >&2
