#!/usr/bin/env bash
# prefix-internal.sh [BUILD_DIR] — gives every internal global symbol of the
# library its module's reserved prefix, as Lua does with luaK_/luaX_:
#   src/base (and the embedded-file tables)  dsmlpB_   src/compiler  dsmlpC_
#   src/runtime                              dsmlpR_   src/lua       dsmlpL_
#   src/model                                dsmlpM_
# The list comes from nm of the built library's objects (every defined global
# not already dsmlp_* or dsmlpX_*), so the script is reproducible: run it again
# after merging branches that add internal names, and it renames only those.
# Identifiers are renamed with word boundaries in src/ tests/ tools/ bench/
# examples/ (C and headers, outside string and character literals, so
# messages and generated CUDA text keep their words), in docs/ and README.md,
# and in CMakeLists.txt (the embedded tables' names). CUDA templates
# (templates/) are not touched. tests/test_symbols.sh checks the result.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
export PATH="/usr/local/cuda/bin:$PATH"
map="$(mktemp)"
trap 'rm -f "$map"' EXIT
total=0
# Until nm finds no unprefixed internal symbol (a pass rebuilds first; a
# second pass catches whatever the first could not see).
for pass in 1 2 3; do
cd "$root"
cmake --build "$build" --target dsmlp_internal >/dev/null
lib="$build/libdsmlp_internal.a"
# "archive:member.c.o:addr T name" -> "prefix name", the member's directory
# found from its source file (member names are unique per basename).
nm -A -g --defined-only "$lib" | awk 'NF == 3 && $2 ~ /^[TDBRCV]$/ { split($1, a, ":"); print a[2], $3 }' |
while read -r member sym; do
  case "$sym" in dsmlp_*|dsmlp[A-Z]_*) continue ;; esac
  base="${member%.o}"
  case "$base" in
    *embedded_*) p=dsmlpB_ ;;
    *) src=$(cd "$root/src" && ls */"$base" 2>/dev/null | head -1)
       case "$src" in base/*) p=dsmlpB_ ;; compiler/*) p=dsmlpC_ ;; runtime/*) p=dsmlpR_ ;; lua/*) p=dsmlpL_ ;;
         model/*) p=dsmlpM_ ;;
         *) echo "prefix-internal: no source for $member ($sym)" >&2; exit 1 ;; esac ;;
  esac
  echo "$sym $p$sym"
done | sort -u >"$map"
n=$(wc -l <"$map")
[ "$n" -gt 0 ] || break
total=$((total + n))
cd "$root"
files=$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 'tools/*.c' 'tools/*.h' 'bench/*.c' 'bench/*.h' \
          'examples/*.c' 'examples/*.h')
for f in $files; do
  MAP="$map" perl -0777 -i -pe '
    BEGIN { local $/ = "\n"; open my $f, "<", $ENV{MAP} or die; while (<$f>) { my ($old, $new) = split; $m{$old} = $new }
            close $f; $re = join "|", map quotemeta, sort { length($b) <=> length($a) } keys %m; }
    s{("(?:\\.|[^"\\\n])*"|\x27(?:\\.|[^\x27\\\n])*\x27)|\b($re)\b}{defined $1 ? $1 : $m{$2}}ge' "$f"
done
docs=$(git ls-files 'docs/*.md' README.md CMakeLists.txt)
MAP="$map" perl -0777 -i -pe '
  BEGIN { open my $f, "<", $ENV{MAP} or die; while (<$f>) { my ($a, $b) = split; $m{$a} = $b } close $f;
          $re = join "|", map quotemeta, sort { length $b <=> length $a } keys %m; }
  s{\b($re)\b}{$m{$1}}g' $docs
done
echo "prefix-internal: $total internal symbols prefixed (dsmlpB_/C_/R_/L_/M_)"
