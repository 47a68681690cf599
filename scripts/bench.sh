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
#   scripts/bench.sh --pacing   the pacing table only (about 15 minutes)
#   scripts/bench.sh --quick    figures 1, 2 and 5 only (validate speed and
#                               memory, time to first request): under a
#                               minute after the build; run it before
#                               closing any change to input or checks
#   scripts/bench.sh --sync     the sync table only (issue 19): 10 000
#                               customers in the sandbox, 100 changed and
#                               100 new rows, --mode upsert at --rate 10
#                               against --mode overwrite (run at 200/s, its
#                               time at 10/s given as requests / 10; set
#                               SYNC_OVERWRITE_RATE=10 to measure it, 17
#                               minutes); about a minute after the build
#
# A full run ends with the sync table too (scripts/bench_sync.py).
#
# Every run ends with the pacing table (issues 11 and 23): each sandbox
# limiter at 50/s with --rate = limit (--burst 5 and --burst 1), 2 x limit,
# RateLimit headers and --rate auto, the same against real nginx limit_req
# and haproxy http_req_rate in front of the standalone sandbox, and an
# unlimited sandbox at --rate 10 to 1000 with --burst 1. When nginx or haproxy is missing the
# script tries `apt-get install` (as root, or with passwordless sudo) and
# prints a skip line when that fails; never in --tiny mode or under CI.
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
only_pacing=0
only_sync=0
quick=0
extra=()
while (($#)); do
    case $1 in
        --tiny) tiny=1 ;;
        --check) extra+=(--check) ;;
        --pacing) extra+=(--only-pacing); only_pacing=1 ;;
        --quick) extra+=(--quick); quick=1 ;;
        --sync) only_sync=1 ;;
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
    pace=(40 60)
    # --rate and rows of the runs against an unlimited server (--burst 1)
    free_rates=(10 1000)
    free_rows=(20 60)
    reps=1
    budget=90
else
    sizes=(1000000 100000 4000 1000 400000)
    pace=(1500 3000)
    free_rates=(10 50 200 400 1000)
    free_rows=(100 400 1600 3200 8000)
    reps=3
    budget=1500
fi

# nginx and haproxy for the pacing table: found, installed, or skipped.
proxies=()
note=""
if [[ $tiny == 1 || $quick == 1 || -n ${CI:-} ]]; then
    note="not in --tiny or --quick mode or CI"
else
    missing=()
    command -v nginx >/dev/null || missing+=(nginx)
    command -v haproxy >/dev/null || missing+=(haproxy)
    if ((${#missing[@]})); then
        sudo=()
        [[ $(id -u) == 0 ]] || sudo=(sudo -n)
        echo "bench.sh: installing ${missing[*]} for the pacing table (apt-get)..." >&2
        if ! { "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
            { "${sudo[@]}" apt-get update -qq >/dev/null 2>&1 &&
                "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; }; }; then
            note="apt-get install ${missing[*]} failed"
        fi
    fi
    for p in nginx haproxy; do
        path=$(command -v "$p" || true)
        # nginx lives in /usr/sbin, which is not on every PATH.
        [[ -n $path || ! -x /usr/sbin/$p ]] || path=/usr/sbin/$p
        [[ -z $path ]] || proxies+=(--"$p" "$path")
    done
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/notify-import-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The sync table: upsert against overwrite on the same data.
sync_table() {
    local args=(--bin "$bin" --work "$work")
    if [[ $tiny == 1 ]]; then
        args+=(--held 200 --differ 10 --new 10 --rate 1000 --overwrite-rate 1000 --budget 90)
    else
        args+=(--overwrite-rate "${SYNC_OVERWRITE_RATE:-200}")
    fi
    python3 "$root/scripts/bench_sync.py" "${args[@]}"
}
if [[ $only_sync == 1 ]]; then
    sync_table
    exit $?
fi

# The pacing table alone needs only its own inputs, --quick only the
# validate sizes and the 10-row file.
if [[ $quick == 1 ]]; then
    inputs=("${sizes[0]}" "${sizes[1]}" 10)
else
    inputs=("${pace[@]}" "${free_rows[@]}")
    [[ $only_pacing == 1 ]] || inputs+=("${sizes[@]}" 10)
fi
for rows in "${inputs[@]}"; do
    "$gen" "$rows" "$work/rows-$rows.csv"
done

python3 "$root/scripts/bench.py" \
    --bin "$bin" --walk "$walk" --work "$work" \
    --big "${sizes[0]}" --mid "${sizes[1]}" --upload "${sizes[2]}" --rate-rows "${sizes[3]}" \
    --import-rows "${sizes[4]}" \
    --reps "$reps" --budget "$budget" \
    --pace-rows "${pace[0]}" --pace-auto-rows "${pace[1]}" \
    --pace-free "${free_rates[*]}" --pace-free-rows "${free_rows[*]}" \
    ${proxies[@]+"${proxies[@]}"} ${note:+--proxy-note "$note"} \
    $([[ $tiny == 1 ]] && echo --tiny) ${extra[@]+"${extra[@]}"}
if [[ $only_pacing == 0 && $quick == 0 ]]; then
    echo
    sync_table
fi
