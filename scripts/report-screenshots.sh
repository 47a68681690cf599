#!/usr/bin/env bash
# Renders report.html (issue 22) the way a person sees it, as PNG through
# headless Chromium:
#   - the sample import (samples/customers.csv against the embedded
#     --sandbox), light and dark, and printed to an A4 PDF (with PNGs of
#     its first pages when pdftoppm is there);
#   - a check (tests/data/every-local-outcome.csv, every kind of local
#     problem), light and dark;
#   - a plan with updates (samples/customers-changed.csv, --mode upsert,
#     against the standalone sandbox started with --customers
#     samples/held.csv), light, dark, at a phone's width and on A4; then
#     that upsert run for real, and, when the binary has `undo`, its undo;
#   - an import that met 429s (200 rows, --rate auto, against the
#     standalone sandbox limited to 10/s: about 20 seconds).
#
#   scripts/report-screenshots.sh [OUT_DIR]
#
# OUT_DIR defaults to a new temporary folder; the files are listed at the
# end. Nothing is written into the tree: the runs happen in a temporary
# folder removed on exit. The README's picture, docs/report-plan.png, is
# OUT_DIR/readme-plan.png.
#
# Chromium is Debian's `chromium-headless-shell` (or `chromium`); when
# neither is there the script installs chromium-headless-shell with apt-get
# (as root, or with passwordless sudo). It builds the debug binary with
# cargo unless NOTIFY_IMPORT_BIN names one. Every browser call and run has
# a deadline, so the script stops by itself.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$(mktemp -d -t report-screenshots.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

browser() {
    local b
    for b in chromium-headless-shell chromium; do
        if command -v "$b" >/dev/null 2>&1; then
            command -v "$b"
            return 0
        fi
    done
    return 1
}

if ! chrome=$(browser); then
    echo "report-screenshots: installing chromium-headless-shell with apt-get" >&2
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo=(sudo -n)
    fi
    "${sudo[@]}" apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium-headless-shell >/dev/null
    chrome=$(browser) || {
        echo "report-screenshots: no headless Chromium, and apt-get could not install one" >&2
        exit 2
    }
fi

bin=${NOTIFY_IMPORT_BIN:-}
if [[ -z $bin ]]; then
    (cd "$root" && cargo build --quiet --bin notify-import)
    bin=$root/target/debug/notify-import
fi

work=$(mktemp -d -t report-runs.XXXXXX)
sandbox_pid=
cleanup() {
    if [[ -n $sandbox_pid ]]; then
        kill "$sandbox_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Runs notify-import; exit 1 (some rows invalid) is what these inputs give.
run() {
    local rc=0
    "$bin" "$@" --quiet >/dev/null 2>"$work/stderr" || rc=$?
    if ((rc > 1)); then
        echo "report-screenshots: notify-import $* exited $rc:" >&2
        cat "$work/stderr" >&2
        exit 2
    fi
}

cp "$root/samples/customers.csv" "$work/customers.csv"
cp "$root/tests/data/every-local-outcome.csv" "$work/check.csv"
# From inside the folder, so the pages name the files as a user would.
cd "$work"
run import customers.csv --sandbox --rate 50
run validate check.csv
import_page=$work/customers.runs/latest/report.html
check_page=$work/check.runs/latest/report.html

key=test_R7HQ9QpXgx8J32rW9X9UyXjgfNk6C7TQ2UD8M5rwf8vVnYxnSETvSuEC6SKFW8Ug

# start_sandbox FLAG...: the standalone sandbox on a free loopback port
# (in $port), until stop_sandbox.
start_sandbox() {
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$bin" sandbox --port "$port" "$@" >"$work/sandbox.log" 2>&1 &
    sandbox_pid=$!
    for _ in $(seq 100); do
        grep -q listening "$work/sandbox.log" && return 0
        kill -0 "$sandbox_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "report-screenshots: the sandbox did not start:" >&2
    cat "$work/sandbox.log" >&2
    exit 2
}
stop_sandbox() {
    kill "$sandbox_pid" 2>/dev/null || true
    wait "$sandbox_pid" 2>/dev/null || true
    sandbox_pid=
}

# remote ARG...: notify-import against the standalone sandbox; exit 1
# (some rows not as asked) is accepted like run's.
remote() {
    local rc=0
    NOTIFY_API_KEY=$key timeout 120 "$bin" "$@" --api-url "http://127.0.0.1:$port/v2" \
        --quiet >/dev/null 2>"$work/stderr" || rc=$?
    if ((rc > 1)); then
        echo "report-screenshots: notify-import $* exited $rc:" >&2
        cat "$work/stderr" >&2
        exit 2
    fi
}

# A plan with updates: Notify holds samples/held.csv; the file changes
# four of them, leaves eight as they are and adds three. Then the same
# upsert for real, and its undo when the binary has one.
cp "$root/samples/held.csv" "$work/held.csv"
cp "$root/samples/customers-changed.csv" "$work/customers-changed.csv"
start_sandbox --customers held.csv
remote plan customers-changed.csv --mode upsert
plan_page=$(readlink -f "$work/customers-changed.runs/latest")/report.html
remote import customers-changed.csv --mode upsert
upsert_folder=$(readlink -f "$work/customers-changed.runs/latest")
upsert_page=$upsert_folder/report.html
undo_page=
# `notify-import FILE` is an import, so `undo --help` alone proves nothing:
# the help must be undo's own.
undo_help=$("$bin" undo --help 2>/dev/null || true)
if [[ $undo_help =~ Usage:\ [^[:space:]]+\ undo\  ]]; then
    remote undo "$upsert_folder"
    # The newest report of all: the undo's, wherever its run folder is.
    undo_page=$(ls -t "$work"/*.runs/*/report.html | head -n 1)
    [[ $undo_page != "$upsert_page" ]] || undo_page=
fi
stop_sandbox

# An import that meets 429s: the standalone sandbox limited to 10
# requests/s, and --rate auto looking for the limit.
start_sandbox --rate 10 --burst 5
python3 - "$work/paced.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("CustomerCode,Name,Address,Postalcode,City,Country,Contact,Phone,Mobile,Email,InvoiceEmail,RegistrationNumber,Language\n")
    for i in range(1, 201):
        f.write(f"P{i:04},Klant {i} B.V.,Straat {i},1234 AB,Utrecht,NL,,,,k{i}@example.nl,,,dutch\n")
PY
remote import paced.csv --rate auto --max-rate 40
stop_sandbox
paced_page=$work/paced.runs/latest/report.html

# shot PNG WIDTH HEIGHT PAGE [FLAG...]: the top WIDTHxHEIGHT of PAGE.
shot() {
    local png=$1 width=$2 height=$3 page=$4
    shift 4
    timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size="$width,$height" "$@" --screenshot="$png" "file://$page" \
        >/dev/null 2>&1
    [[ -s $png ]] || {
        echo "report-screenshots: $chrome wrote no $png" >&2
        exit 2
    }
}

# pdf PDF PAGE: PAGE printed on A4 (the page's own @page rule), and PNGs
# of its first two pages when pdftoppm is there.
pdf() {
    local file=$1 page=$2
    timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --no-pdf-header-footer \
        --print-to-pdf="$file" "file://$page" >/dev/null 2>&1
    [[ -s $file ]] || {
        echo "report-screenshots: $chrome wrote no $file" >&2
        exit 2
    }
    if command -v pdftoppm >/dev/null 2>&1; then
        pdftoppm -png -r 60 -f 1 -l 2 "$file" "${file%.pdf}"
    fi
}

dark=--blink-settings=preferredColorScheme=0
shot "$out/import-light.png" 1000 2300 "$import_page"
shot "$out/import-dark.png" 1000 2300 "$import_page" "$dark"
shot "$out/check-light.png" 1000 1900 "$check_page"
shot "$out/check-dark.png" 1000 1900 "$check_page" "$dark"
shot "$out/plan-light.png" 1000 1900 "$plan_page"
shot "$out/plan-dark.png" 1000 1900 "$plan_page" "$dark"
# A phone's width: long values must wrap, not widen the page.
shot "$out/plan-narrow.png" 420 1900 "$plan_page"
shot "$out/upsert-light.png" 1000 1300 "$upsert_page"
if [[ -n $undo_page ]]; then
    shot "$out/undo-light.png" 1000 1600 "$undo_page"
    shot "$out/undo-dark.png" 1000 1600 "$undo_page" "$dark"
fi
shot "$out/paced-light.png" 1000 1300 "$paced_page"
shot "$out/paced-dark.png" 1000 1300 "$paced_page" "$dark"
# The top of the plan's page, small enough for the README
# (docs/report-plan.png).
shot "$out/readme-plan.png" 820 1240 "$plan_page"

pdf "$out/import-a4.pdf" "$import_page"
pdf "$out/plan-a4.pdf" "$plan_page"

ls -l "$out"
