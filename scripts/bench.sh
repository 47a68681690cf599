#!/usr/bin/env bash
# Measures notify-import against its performance targets (README,
# "Performance"): builds release, generates the inputs, runs the five
# measurements and prints one table of ratios measured in this run.
#
#   scripts/bench.sh            full run: 1M-row files, about two minutes
#                               of measuring after the build
#   scripts/bench.sh --tiny     a few hundred rows, seconds: proves the script
#                               works (tests/cli/bench.rs runs this); the
#                               figures mean nothing
#   scripts/bench.sh --check    exit 1 if a target is missed
#   scripts/bench.sh --json F   also write the figures as JSON to F
#
# Needs bash, python3 (standard library only) and cargo. To measure binaries
# that are already built, skipping cargo, set all three of NOTIFY_IMPORT_BIN,
# BENCH_GEN_BIN and BENCH_WALK_BIN (the test does, with the debug build).
# Generated inputs go to a temporary directory that is removed on exit; they
# are never committed. Every step has a deadline, so the script stops by
# itself (exit 2 if a measurement failed or ran out of time).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tiny=${BENCH_TINY:-0}
extra=()
while (($#)); do
    case $1 in
        --tiny) tiny=1 ;;
        --check) extra+=(--check) ;;
        --json)
            [[ $# -ge 2 ]] || { echo "bench.sh: --json needs a file" >&2; exit 2; }
            extra+=(--json "$(realpath -m "$2")")
            shift
            ;;
        -h | --help)
            # The comment block under the shebang.
            awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
            exit 0
            ;;
        *) echo "bench.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

command -v python3 >/dev/null || { echo "bench.sh: python3 is needed" >&2; exit 2; }

if [[ -n ${NOTIFY_IMPORT_BIN:-} ]]; then
    bin=$NOTIFY_IMPORT_BIN
    gen=${BENCH_GEN_BIN:?set BENCH_GEN_BIN too (the gen example binary)}
    walk=${BENCH_WALK_BIN:?set BENCH_WALK_BIN too (the csv_walk example binary)}
else
    echo "bench.sh: building release (cargo build --release)..." >&2
    (cd "$root" && cargo build --release --locked --quiet \
        --bin notify-import --example gen --example csv_walk)
    target=${CARGO_TARGET_DIR:-$root/target}
    bin=$target/release/notify-import
    gen=$target/release/examples/gen
    walk=$target/release/examples/csv_walk
fi

if [[ $tiny == 1 ]]; then
    # big, mid (for the RSS comparisons), upload, rate-limited upload,
    # import and resume (RSS beside mid)
    sizes=(300 100 200 20 200)
    reps=1
    budget=60
else
    sizes=(1000000 100000 4000 1000 400000)
    reps=3
    budget=270
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/notify-import-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

for rows in "${sizes[@]}" 10; do
    "$gen" "$rows" "$work/rows-$rows.csv"
done

python3 "$root/scripts/bench.py" \
    --bin "$bin" --walk "$walk" --work "$work" \
    --big "${sizes[0]}" --mid "${sizes[1]}" --upload "${sizes[2]}" --rate-rows "${sizes[3]}" \
    --import-rows "${sizes[4]}" \
    --reps "$reps" --budget "$budget" \
    $([[ $tiny == 1 ]] && echo --tiny) ${extra[@]+"${extra[@]}"}
