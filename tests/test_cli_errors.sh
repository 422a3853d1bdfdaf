#!/usr/bin/env bash
# test_cli_errors.sh — dsmlp-compile: bad arguments exit 2, bad scripts exit
# 3, each with a message naming what was wrong; nothing is written to the
# store on a usage or script error.
. "$(dirname "$0")/lib/cli_common.sh"
# expect CODE REGEX ARGS...: exit code CODE, stderr matching REGEX.
expect() {
  local code=$1 re=$2
  shift 2
  run "$@"
  if [ $rc -ne "$code" ]; then fail "$*: want exit $code, got $rc: $err"
  elif ! tr '\n' ' ' <<<"$err" | grep -qE -- "$re"; then fail "$*: stderr lacks /$re/: $err"
  else ok "$* -> $code: $(head -1 <<<"$err")"; fi
}

cat >"$tmp/good.lua" <<'EOF'
local dsmlp = dsmlp or require("dsmlp")
return { block = dsmlp.mlp{hidden = 64, intermediate = 256, dtype = "f16", activation = "relu", norm = "layernorm"} }
EOF

# --- --help lists every option the parser takes (getopt_long's table) ---------
help=$("$bin" --help)
for opt in $(grep -oE '\{"[a-z-]+", (no|required)_argument' "$src/tools/dsmlp-compile/args.c" | sed -E 's/^\{"([a-z-]+)".*/\1/'); do
  grep -q -- "--$opt" <<<"$help" || fail "--help does not list --$opt"
done
n=$(grep -oE '\{"[a-z-]+", (no|required)_argument' "$src/tools/dsmlp-compile/args.c" | wc -l)
[ "$n" -gt 15 ] && ok "--help lists all $n long options" || fail "option table not found ($n)"

# --- usage errors: exit 2 --------------------------------------------------
expect 2 "unknown option '--frobnicate'" "$tmp/good.lua" --frobnicate
expect 2 "unknown option '-x'" "$tmp/good.lua" -x
expect 2 "option '--arch' needs a value" "$tmp/good.lua" --arch
expect 2 "option '--cache-dir' needs a value" "$tmp/good.lua" --cache-dir
expect 2 "option '--bundle' needs a value" "$tmp/good.lua" --bundle
expect 2 "option '--import' needs a value" --import
expect 2 "option '-j' needs a value" "$tmp/good.lua" -j
expect 2 "bad arch 'sm_99'.*sm_80, sm_86, sm_89, sm_90, sm_90a" "$tmp/good.lua" --arch sm_99
expect 2 "bad arch 'compute_90'" "$tmp/good.lua" --arch sm_90,compute_90
expect 2 "--arch needs at least one arch" "$tmp/good.lua" --arch ,
expect 2 "-j needs a whole number from 1 to 1024, got '0'" "$tmp/good.lua" -j 0
expect 2 "-j needs a whole number .* got 'many'" "$tmp/good.lua" -j many
expect 2 "-j needs a whole number .* got '-3'" "$tmp/good.lua" -j=-3
expect 2 "--stream-max-tokens 129: need -1 \\(auto\\), 0 \\(none\\) or 1..128" "$tmp/good.lua" --stream-max-tokens 129
expect 2 "--stream-max-tokens -2: need -1" "$tmp/good.lua" --stream-max-tokens=-2
expect 2 "option '--stream-max-tokens' needs a value" "$tmp/good.lua" --stream-max-tokens
expect 2 "--stream-pipe 2: need 0 \\(off\\) or 1" "$tmp/good.lua" --stream-pipe 2
expect 2 "--stream-pipe -1: need 0 \\(off\\) or 1" "$tmp/good.lua" --stream-pipe=-1
expect 2 "--stream-pipe on: need 0 \\(off\\) or 1" "$tmp/good.lua" --stream-pipe on
expect 2 "option '--stream-pipe' needs a value" "$tmp/good.lua" --stream-pipe
expect 2 "bad -O 'stream_pipe=2': compile option stream_pipe = 2 is outside \\[0, 1\\]" "$tmp/good.lua" -O stream_pipe=2
expect 2 "bad -O 'mixed_gemm=3': compile option mixed_gemm = 3 is outside \\[0, 2\\]" "$tmp/good.lua" -O mixed_gemm=3
expect 2 "bad -O 'nosuch=1': unknown compile option 'nosuch'" "$tmp/good.lua" -O nosuch=1
expect 2 "bad -O 'arch=sm_90': the arch is given with --arch" "$tmp/good.lua" -O arch=sm_90
expect 2 "no model script given" --arch sm_90
expect 2 "no model script given"
expect 2 "more than one model script" "$tmp/good.lua" "$tmp/good.lua"
expect 2 "--bundle needs a model script" --bundle "$tmp/x.bundle"
expect 2 "--verify needs a model script" --verify
expect 2 "--explain needs a model script" --explain

# --- script errors: exit 3, with file and line where Lua gives them -------
expect 3 "cannot open model script $tmp/missing.lua: No such file" "$tmp/missing.lua"
printf 'return {\n  block = dsmlp.mlp{hidden = 64,\n' >"$tmp/syntax.lua"
expect 3 "syntax.lua:[0-9]+:" "$tmp/syntax.lua"
printf 'local x = 1\nerror("boom from the script")\n' >"$tmp/raise.lua"
expect 3 "raise.lua:2:.*boom from the script" "$tmp/raise.lua"
printf 'return { block = dsmlp.mlp{hidden = -64} }\n' >"$tmp/neg.lua"
expect 3 "neg.lua:1:.*hidden" "$tmp/neg.lua"
printf 'return { block = dsmlp.mlp{hiden = 64} }\n' >"$tmp/typo.lua"
expect 3 "typo.lua:1:.*hiden" "$tmp/typo.lua"
printf 'os.execute("touch %s/pwned")\nreturn {}\n' "$tmp" >"$tmp/os.lua"
expect 3 "os.lua:1:" "$tmp/os.lua"
[ ! -e "$tmp/pwned" ] || fail "a script ran os.execute"
printf 'return {}\n' >"$tmp/empty.lua"
expect 3 "defined? no layers" "$tmp/empty.lua"
mkdir "$tmp/dir.lua"
expect 3 "dir.lua" "$tmp/dir.lua"

# --- compile errors: exit 4, naming the kernel and arch, with NVRTC's log --
# A CUDA include directory whose cuda_fp16.h cannot compile makes NVRTC fail.
mkdir -p "$tmp/badinc"
for h in cuda_fp16.h cuda_bf16.h; do echo '#error deliberately broken header for the test' >"$tmp/badinc/$h"; done
# NVRTC failures dump the source under TMPDIR: keep it in ours.
TMPDIR="$tmp" DSMLP_CUDA_INCLUDE="$tmp/badinc" \
  expect 4 "kernel [A-Za-z_0-9]+ \(sm_90\):.*failed.*source dumped to $tmp/.*deliberately broken header" \
  "$tmp/good.lua" --arch sm_90
DSMLP_CUDA_INCLUDE="$tmp/nowhere" expect 4 "CUDA headers not found.*DSMLP_CUDA_INCLUDE" "$tmp/good.lua" --arch sm_90

# None of the failures above wrote anything to the store.
if [ -d "$DSMLP_CACHE_DIR" ] && [ -n "$(find "$DSMLP_CACHE_DIR" -type f)" ]; then fail "errors left files: $(find "$DSMLP_CACHE_DIR" -type f)"
else ok "no store entries after errors"; fi

# A good run still works (the checks above did not poison anything).
run "$tmp/good.lua" --arch sm_90
[ $rc -eq 0 ] && ok "good script: exit 0" || fail "good script: exit $rc: $err"

# --- store and bundle I/O errors: exit 5 -----------------------------------
expect 5 "cannot write bundle $tmp/no/such/dir/x.bundle" "$tmp/good.lua" --arch sm_90 --bundle "$tmp/no/such/dir/x.bundle"
[ ! -e "$tmp/no" ] || fail "--bundle created directories"
expect 5 "import refused, store unchanged: .*$tmp/missing.bundle" --import "$tmp/missing.bundle" --arch sm_90

[ $fails -eq 0 ] && echo "all passed" || echo "$fails failed"
[ $fails -eq 0 ]
