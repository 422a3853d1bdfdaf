#!/bin/bash
# session 30, last call: (1) ncu per-kernel durations of one block run where dsmlp trails the cuBLAS GEMMs alone
# (SwiGLU-4096 bf16 [in,out] T = 8, GELU-4096 f16 [out,in] T = 32; the main steps' graph replays, last run's kernels,
# each kernel alone with its caches as ncu leaves them, clocks not locked); (2) the GPU suites.
# carry build-gpu/bin build-gpu/lib build-gpu/tests build-gpu/CTestTestfile.cmake build-gpu/run-final.sh (bin/var moved out)
export NCCL_NVLS_ENABLE=0
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
B=build-gpu/bin/dsmlp-bench
for cf in in_out:swiglu_bf16_h4096:8 out_in:gelu_f16_h4096:32; do
  IFS=: read lay b T <<< "$cf"
  DSMLP_CACHE_DIR=/tmp/nc timeout 60 $B --block $b --tokens $T --reps 3 --no-tune --layout $lay > /dev/null 2>&1
  DSMLP_CACHE_DIR=/tmp/nc timeout 90 ncu --clock-control none --metrics gpu__time_duration.sum --csv --page raw \
    $B --block $b --tokens $T --reps 2 --no-tune --layout $lay > $OUT/ncu-$b-$T.csv 2>$OUT/ncu-$b-$T.err
  echo "== ncu $lay $b T=$T rc=$? (last 10 launches: kernel, us)"
  python3 - $OUT/ncu-$b-$T.csv <<'PY'
import csv, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if r]
h = next(i for i, r in enumerate(rows) if "Kernel Name" in r)
hdr = rows[h]; k = hdr.index("Kernel Name"); m = hdr.index("gpu__time_duration.sum")
data = [r for r in rows[h + 1:] if len(r) == len(hdr) and r[m].replace(".", "").replace(",", "").isdigit()]
unit = rows[h + 1][m] if len(rows) > h + 1 else "?"
print("unit:", unit, "launches:", len(data))
for r in data[-10:]:
    v = float(r[m].replace(",", "")) / (1000 if unit.startswith("n") else 1)
    print(f"  {r[k][:90]:<90} {v:.2f}")
PY
done
timeout 480 ctest --test-dir build-gpu -L gpu -j 6 --timeout 470 > $OUT/suites.log 2>&1; echo "suites rc=$?"
grep -E "tests passed|Failed|Skipped|\*\*\*|Passed" $OUT/suites.log | head -20
grep -h "^== " build-gpu/Testing/Temporary/LastTest.log | head -30
