#!/usr/bin/env bash
# tp-launch.sh — start P copies of a program as one tensor-parallel group on
# this host, the way torchrun would: RANK, WORLD_SIZE, LOCAL_RANK and a file
# rendezvous (DSMLP_TP_RENDEZVOUS, unless already set) in a private directory.
#
#   tools/tp-launch.sh -n P [--one-gpu] [--] PROGRAM [ARGS...]
#
# --one-gpu puts every rank on GPU 0 (DSMLP_TP_DEVICE=0) without NCCL
# (DSMLP_TP_NCCL=0; NCCL refuses two ranks on one GPU): the peer-memory
# all-reduce still runs, which is how it is tested on a single GPU.
# Exit status: 0 when every rank exited 0, else the first non-zero status
# in rank order. Ctrl-C stops every rank.
set -uo pipefail
usage() { echo "usage: $0 -n P [--one-gpu] [--] PROGRAM [ARGS...]" >&2; exit 2; }
P=""; one_gpu=0
while (($#)); do
  case "$1" in
    -n) [ $# -ge 2 ] || usage; P="$2"; shift 2 ;;
    -n*) P="${1#-n}"; shift ;;
    --one-gpu) one_gpu=1; shift ;;
    --) shift; break ;;
    -h|--help) usage ;;
    -*) echo "tp-launch: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[[ "$P" =~ ^[1-9][0-9]*$ ]] || { echo "tp-launch: -n needs a positive number of ranks" >&2; usage; }
[ $# -ge 1 ] || usage
dir="$(mktemp -d "${TMPDIR:-/tmp}/dsmlp-tp-launch.XXXXXX")" || exit 1
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap 'cleanup; exit 130' INT TERM
export WORLD_SIZE="$P"
export DSMLP_TP_RENDEZVOUS="${DSMLP_TP_RENDEZVOUS:-file:$dir/rdv}"
if ((one_gpu)); then export DSMLP_TP_DEVICE=0 DSMLP_TP_NCCL=0; fi
for ((r = 0; r < P; r++)); do
  RANK=$r LOCAL_RANK=$r "$@" &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do
  wait "$p"; s=$?
  if ((rc == 0 && s != 0)); then rc=$s; fi
done
rm -rf "$dir"
exit "$rc"
