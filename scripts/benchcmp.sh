#!/usr/bin/env bash
# Compares the Go benchmarks of two revisions with benchstat.
#
#   scripts/benchcmp.sh [flags] [OLD [NEW]]
#
# OLD defaults to HEAD~1 and NEW to the work tree as it is (uncommitted
# changes included); either may be any git revision. A revision other than
# the work tree is checked out with `git worktree` in a temporary folder,
# removed afterwards. Results go to DIR/old.txt and DIR/new.txt, then
# `benchstat old=… new=…` prints medians, confidence intervals and the
# change where it is not likely noise ("~" otherwise).
#
# Flags:
#   -bench REGEXP    benchmarks to run (default: all, '.')
#   -pkg PATTERNS    packages, space-separated (default: ./pkg/...)
#   -count N         runs of each benchmark per revision (default: 6)
#   -benchtime T     go test -benchtime (default: go's, 1s)
#   -quick           the rules and the calendar only (./pkg/consultation
#                    ./pkg/calendar), -count 4, -benchtime 100ms: a minute
#                    or so; -pkg, -count and -benchtime given after it win
#   -interleave      run OLD and NEW alternately, one count at a time, so
#                    a busy machine's drift falls on both (slower: benchmark
#                    set-up, such as a store of 100,000 consultations, is
#                    redone for every count)
#   -overlay         copy NEW's benchmark files (bench_test.go, *_bench_test.go)
#                    into OLD before running, to measure OLD's code with a
#                    benchmark that NEW adds or changes (they must compile
#                    against OLD)
#   -o DIR           where the results go (default: .tools/bench, ignored by git)
#
# Examples:
#   scripts/benchcmp.sh -quick                       # HEAD~1 vs work tree
#   scripts/benchcmp.sh -bench 'Core/' -pkg ./pkg/server HEAD~5 HEAD
#   scripts/benchcmp.sh v0.3.0 HEAD
#   scripts/benchcmp.sh -overlay -interleave -bench Sweep100k -pkg ./pkg/server -count 5 HEAD~3 HEAD
#
# The whole default set (./pkg/..., -count 6) takes a while: the server's
# benchmarks build stores of 100,000 consultations (once per process) and
# the sweep benchmark copies one per op.
#
# benchstat is pinned (golang.org/x/perf has no tags: a pseudo-version the
# module proxy serves) and installed into .tools/bin on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da

bench=. pkgs=./pkg/... count=6 benchtime= interleave=0 overlay=0 out="$ROOT/.tools/bench"
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
refs=()
while [ $# -gt 0 ]; do
  case "$1" in
    -bench) bench=${2:?-bench needs a regexp}; shift 2 ;;
    -pkg) pkgs=${2:?-pkg needs packages}; shift 2 ;;
    -count) count=${2:?-count needs a number}; shift 2 ;;
    -benchtime) benchtime=${2:?-benchtime needs a duration}; shift 2 ;;
    -quick) pkgs="./pkg/consultation ./pkg/calendar" count=4 benchtime=100ms; shift ;;
    -interleave) interleave=1; shift ;;
    -overlay) overlay=1; shift ;;
    -o) out=${2:?-o needs a folder}; shift 2 ;;
    -h | -help | --help) usage ;;
    -*) echo "benchcmp: unknown flag $1" >&2; usage ;;
    *) refs+=("$1"); shift ;;
  esac
done
[ ${#refs[@]} -le 2 ] || { echo "benchcmp: at most two revisions, got ${refs[*]}" >&2; exit 2; }
[[ "$count" =~ ^[1-9][0-9]*$ ]] || { echo "benchcmp: -count must be a positive number, got $count" >&2; exit 2; }
old=${refs[0]:-HEAD~1}
new=${refs[1]:-}

# benchstat, pinned.
TOOLS="$ROOT/.tools"
BENCHSTAT="$TOOLS/bin/benchstat"
if [ ! -x "$BENCHSTAT" ] || ! go version -m "$BENCHSTAT" 2>/dev/null | grep -q "golang.org/x/perf[[:space:]]*$BENCHSTAT_VERSION"; then
  echo "installing benchstat $BENCHSTAT_VERSION into $TOOLS/bin" >&2
  mkdir -p "$TOOLS/bin"
  GOBIN="$TOOLS/bin" GOFLAGS= go install "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION"
fi

# The folders to run in: the work tree itself, or a temporary worktree.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tacit-benchcmp.XXXXXX")
worktrees=()
cleanup() {
  for w in "${worktrees[@]}"; do git -C "$ROOT" worktree remove --force "$w" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
checkout() { # REF NAME: checks REF out in $tmp/NAME and sets dir to it
  local rev
  rev=$(git rev-parse --verify --quiet "$1^{commit}") || { echo "benchcmp: $1 is not a revision" >&2; exit 2; }
  git worktree add --detach --quiet "$tmp/$2" "$rev"
  worktrees+=("$tmp/$2")
  dir="$tmp/$2"
}
describe() { # REF -> "REF (abbrev subject)"
  echo "$1 ($(git log -1 --format='%h %s' "$1" | cut -c1-72))"
}
checkout "$old" old
olddir=$dir oldname=$(describe "$old")
if [ -z "$new" ]; then
  newdir=$ROOT newname="work tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' + uncommitted changes'))"
else
  checkout "$new" new
  newdir=$dir newname=$(describe "$new")
fi

if [ "$overlay" = 1 ]; then
  (cd "$newdir" && find . -path ./.tools -prune -o -path ./.git -prune -o -type f \( -name bench_test.go -o -name '*_bench_test.go' \) -print) |
    while read -r f; do
      mkdir -p "$olddir/$(dirname "$f")"
      cp "$newdir/$f" "$olddir/$f"
      echo "overlay: $f" >&2
    done
fi

mkdir -p "$out"
: >"$out/old.txt"
: >"$out/new.txt"
# shellcheck disable=SC2086 # pkgs is a list
run() { # DIR FILE COUNT
  local args=(-run '^$' -bench "$bench" -benchmem -count "$3")
  [ -n "$benchtime" ] && args+=(-benchtime "$benchtime")
  if ! (cd "$1" && go test "${args[@]}" $pkgs) >>"$2" 2>&1; then
    echo "benchcmp: go test failed in $1 (see $2); comparing what ran" >&2
  fi
}
echo "old: $oldname" >&2
echo "new: $newname" >&2
echo "benchmarks: -bench '$bench' -count $count${benchtime:+ -benchtime $benchtime} in $pkgs" >&2
if [ "$interleave" = 1 ]; then
  for i in $(seq "$count"); do
    echo "round $i/$count" >&2
    run "$olddir" "$out/old.txt" 1
    run "$newdir" "$out/new.txt" 1
  done
else
  run "$olddir" "$out/old.txt" "$count"
  run "$newdir" "$out/new.txt" "$count"
fi

for f in old new; do
  if ! grep -q '^Benchmark' "$out/$f.txt"; then
    echo "benchcmp: no benchmark results for $f in $out/$f.txt" >&2
    exit 1
  fi
done
echo "results: $out/old.txt $out/new.txt" >&2
echo "old = $oldname"
echo "new = $newname"
echo
"$BENCHSTAT" old="$out/old.txt" new="$out/new.txt"
