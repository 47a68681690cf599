#!/usr/bin/env bash
# Renders report.html (issue 22) the way a person sees it: the report of
# the sample import (samples/customers.csv against the embedded --sandbox),
# of a check (tests/data/every-local-outcome.csv, every kind of local
# problem), each in light and dark mode, and of an import that met 429s
# (200 rows, --rate auto, against the standalone sandbox limited to 10/s:
# about 20 seconds), as PNG through headless Chromium; and the sample
# import's report printed to an A4 PDF (with PNGs of its first pages when
# pdftoppm is there).
#
#   scripts/report-screenshots.sh [OUT_DIR]
#
# OUT_DIR defaults to a new temporary folder; the files are listed at the
# end. Nothing is written into the tree: the runs happen in a temporary
# folder removed on exit.
#
# Chromium is Debian's `chromium-headless-shell` (or `chromium`); when
# neither is there the script installs chromium-headless-shell with apt-get
# (as root, or with passwordless sudo). It builds the debug binary with
# cargo unless NOTIFY_IMPORT_BIN names one. Every browser call has a
# deadline, so the script stops by itself.
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

# An import that meets 429s: the standalone sandbox on a free loopback
# port, limited to 10 requests/s, and --rate auto looking for the limit.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" sandbox --port "$port" --rate 10 --burst 5 >"$work/sandbox.log" 2>&1 &
sandbox_pid=$!
python3 - "$work/paced.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("CustomerCode,Name,Address,Postalcode,City,Country,Contact,Phone,Mobile,Email,InvoiceEmail,RegistrationNumber,Language\n")
    for i in range(1, 201):
        f.write(f"P{i:04},Klant {i} B.V.,Straat {i},1234 AB,Utrecht,NL,,,,k{i}@example.nl,,,dutch\n")
PY
for _ in $(seq 50); do
    grep -q listening "$work/sandbox.log" && break
    sleep 0.1
done
NOTIFY_API_KEY=test_R7HQ9QpXgx8J32rW9X9UyXjgfNk6C7TQ2UD8M5rwf8vVnYxnSETvSuEC6SKFW8Ug \
    timeout 120 "$bin" import paced.csv --api-url "http://127.0.0.1:$port/v2" \
    --rate auto --max-rate 40 --quiet >/dev/null 2>"$work/stderr" || {
    echo "report-screenshots: the paced import failed:" >&2
    cat "$work/stderr" >&2
    exit 2
}
kill "$sandbox_pid" 2>/dev/null || true
sandbox_pid=
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

dark=--blink-settings=preferredColorScheme=0
shot "$out/import-light.png" 1000 2300 "$import_page"
shot "$out/import-dark.png" 1000 2300 "$import_page" "$dark"
shot "$out/check-light.png" 1000 1900 "$check_page"
shot "$out/check-dark.png" 1000 1900 "$check_page" "$dark"
shot "$out/paced-light.png" 1000 1300 "$paced_page"
# The top of the import's page, small enough for the README.
shot "$out/readme.png" 800 780 "$import_page"

timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --no-pdf-header-footer \
    --print-to-pdf="$out/import-a4.pdf" "file://$import_page" >/dev/null 2>&1
if command -v pdftoppm >/dev/null 2>&1; then
    pdftoppm -png -r 60 -f 1 -l 2 "$out/import-a4.pdf" "$out/import-a4"
fi

ls -l "$out"
