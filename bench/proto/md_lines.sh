#!/usr/bin/env bash
# md_lines.sh FILE.md ... — one line per dsmlp-bench --md table: "NAME: T=µs T=µs ..." (the "as loaded" column),
# NAME the file's name without .md; sorted by block, then build (names BUILD-BLOCK-ROUND).
for f in "$@"; do
  awk -F'|' -v n="$(basename "$f" .md)" 'NR > 2 { gsub(/ /, ""); r = r " " $4 "=" $5 } END { print n ":" r }' "$f"
done | sort -t- -k2,2 -k1,1
