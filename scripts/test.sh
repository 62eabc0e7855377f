#!/usr/bin/env bash
# The test command: every test of the project, from the repository root.
#
#   scripts/test.sh            # packages, PostgreSQL, cargo build + test, e2e with real clients
#   scripts/test.sh --quick    # cargo build + test only (PostgreSQL when it can be started)
#   scripts/test.sh --e2e [-- PYTEST ARGS]   # build the server and run only the e2e tests
#
# Stages:
#   1. system packages: postgresql, qemu-utils, python3-venv, nginx (apt-get, only when
#      missing; as root, else it says what to install and stops)
#   2. a throwaway PostgreSQL (scripts/postgres-test-server.sh) exported as
#      IMAGERY_TEST_POSTGRES_URL, stopped on exit (--e2e: for the cluster tests; an
#      IMAGERY_TEST_POSTGRES_URL already set is used instead)
#   3. a throwaway Garage S3 server (scripts/garage-test-server.sh; built once into a
#      cache outside the repo) exported as IMAGERY_TEST_S3_URL, _BUCKET, _REGION,
#      _ACCESS_KEY_ID, _SECRET_ACCESS_KEY, stopped on exit (--e2e: likewise, unless
#      IMAGERY_TEST_S3_URL is already set)
#   4. cargo build --workspace --all-targets, cargo test --workspace
#   5. a venv (target/e2e-venv) with tests/e2e/requirements.txt from PyPI, then
#      pytest tests/e2e against target/debug/imagery
# Non-interactive; exits non-zero when any stage fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

MODE=full
PYTEST_ARGS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) MODE=quick ;;
        --e2e) MODE=e2e ;;
        --) shift; PYTEST_ARGS=("$@"); break ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "scripts/test.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[[ "$TARGET_DIR" = /* ]] || TARGET_DIR=$ROOT/$TARGET_DIR
VENV=$TARGET_DIR/e2e-venv
LOG_DIR=$TARGET_DIR/test-logs
mkdir -p "$LOG_DIR"
export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=${PIP_DISABLE_PIP_VERSION_CHECK:-1}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

# ---------------------------------------------------------------------------
# Stage bookkeeping and the summary printed on exit

STAGES=()
CURRENT_STAGE=""
STAGE_START=0
PG_DIR=""
GARAGE_DIR=""
TESTS_PASSED=0
TESTS_FAILED=0
TESTS_SKIPPED=0

now() { date +%s; }

stage() {
    CURRENT_STAGE=$1
    STAGE_START=$(now)
    echo
    echo "==> $1"
}

stage_done() {  # stage_done ok|skipped [note]
    STAGES+=("$(printf '%-28s %-8s %4ss %s' "$CURRENT_STAGE" "$1" "$(( $(now) - STAGE_START ))" "${2:-}")")
    CURRENT_STAGE=""
}

skip_stage() {  # skip_stage NAME REASON
    STAGES+=("$(printf '%-28s %-8s %4s  %s' "$1" "skipped" "" "$2")")
}

finish() {
    local status=$?
    set +e
    if [[ -n "$CURRENT_STAGE" ]]; then
        STAGES+=("$(printf '%-28s %-8s %4ss' "$CURRENT_STAGE" "FAILED" "$(( $(now) - STAGE_START ))")")
    fi
    if [[ -n "$PG_DIR" ]]; then
        scripts/postgres-test-server.sh stop "$PG_DIR" >/dev/null 2>&1
        rm -rf "$PG_DIR"
    fi
    if [[ -n "$GARAGE_DIR" ]]; then
        scripts/garage-test-server.sh stop "$GARAGE_DIR" >/dev/null 2>&1
        rm -rf "$GARAGE_DIR"
    fi
    echo
    echo "==> summary (scripts/test.sh, mode $MODE; logs in ${LOG_DIR#"$ROOT"/})"
    local line
    for line in "${STAGES[@]}"; do
        echo "    $line"
    done
    if [[ $status -eq 0 ]]; then
        echo "    result: OK"
    else
        echo "    result: FAILED (exit $status)"
    fi
    echo "tests: $TESTS_PASSED passed, $TESTS_FAILED failed, $TESTS_SKIPPED skipped"
    exit $status
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# 1. System packages

package_present() {
    case "$1" in
        qemu-utils) command -v qemu-img >/dev/null ;;
        postgresql) compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null ;;
        python3-venv)
            # Any python3 whose venv can bootstrap pip will do (Debian's needs python3-venv).
            python3 -c 'import ensurepip, venv' >/dev/null 2>&1 ;;
        # The cluster e2e tests run their own nginx in front of two nodes.
        nginx) command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] ;;
    esac
}

ensure_packages() {
    local wanted=("$@") missing=() pkg
    for pkg in "${wanted[@]}"; do
        package_present "$pkg" || missing+=("$pkg")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        stage_done ok "present: ${wanted[*]}"
        return
    fi
    if [[ $(id -u) -ne 0 ]]; then
        echo "missing system packages: ${missing[*]}" >&2
        echo "install them, then run again:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null; then
        echo "missing system packages (${missing[*]}) and no apt-get to install them" >&2
        exit 1
    fi
    if [[ " ${missing[*]} " == *" postgresql "* ]]; then
        # Tests run their own throwaway cluster: keep the distro's main cluster from
        # being created and started by the package.
        mkdir -p /etc/postgresql-common
        grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
            echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
    fi
    # Packaged daemons (nginx) must not be started by their install: the tests run
    # their own. Where no policy says so already, one does for the install only.
    local policy_rc=""
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        policy_rc=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\n# scripts/test.sh: no service starts during its package install\nexit 101\n' >"$policy_rc"
        chmod 755 "$policy_rc"
    fi
    echo "installing: ${missing[*]}"
    apt-get update -qq >"$LOG_DIR/apt.log" 2>&1 || { [[ -z "$policy_rc" ]] || rm -f "$policy_rc"; cat "$LOG_DIR/apt.log" >&2; exit 1; }
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$LOG_DIR/apt.log" 2>&1 || {
        [[ -z "$policy_rc" ]] || rm -f "$policy_rc"
        tail -50 "$LOG_DIR/apt.log" >&2
        exit 1
    }
    [[ -z "$policy_rc" ]] || rm -f "$policy_rc"
    for pkg in "${missing[@]}"; do
        package_present "$pkg" || { echo "package $pkg installed but still not usable" >&2; exit 1; }
    done
    stage_done ok "installed: ${missing[*]}"
}

if [[ $MODE == full ]]; then
    stage "system packages"
    ensure_packages postgresql qemu-utils python3-venv nginx
elif [[ $MODE == e2e ]]; then
    stage "system packages"
    ensure_packages postgresql qemu-utils python3-venv nginx
else
    skip_stage "system packages" "(--quick)"
fi

# ---------------------------------------------------------------------------
# 2. Throwaway PostgreSQL

if [[ $MODE == e2e && -n "${IMAGERY_TEST_POSTGRES_URL:-}" ]]; then
    skip_stage "postgresql (throwaway)" "(IMAGERY_TEST_POSTGRES_URL given)"
else
    stage "postgresql (throwaway)"
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/imagery-test-pg.XXXXXX")
    if url=$(scripts/postgres-test-server.sh start "$PG_DIR" 2>"$LOG_DIR/postgres-start.log"); then
        export IMAGERY_TEST_POSTGRES_URL=$url
        stage_done ok "$url"
    elif [[ $MODE == quick ]]; then
        echo "warning: could not start PostgreSQL; PostgreSQL tests will not run (see $LOG_DIR/postgres-start.log)" >&2
        tail -5 "$LOG_DIR/postgres-start.log" >&2
        rm -rf "$PG_DIR"
        PG_DIR=""
        stage_done skipped "could not start"
    else
        cat "$LOG_DIR/postgres-start.log" >&2
        exit 1
    fi
fi

# ---------------------------------------------------------------------------
# 3. Throwaway Garage (S3): the blob-store conformance suite and the cluster e2e tests
#    fail without it under CI

if [[ $MODE == e2e && -n "${IMAGERY_TEST_S3_URL:-}" ]]; then
    skip_stage "garage s3 (throwaway)" "(IMAGERY_TEST_S3_URL given)"
else
    stage "garage s3 (throwaway)"
    GARAGE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/imagery-test-garage.XXXXXX")
    if garage_env=$(scripts/garage-test-server.sh start "$GARAGE_DIR" 2>"$LOG_DIR/garage-start.log"); then
        while IFS='=' read -r name value; do
            [[ $name == IMAGERY_TEST_S3_* ]] && export "$name=$value"
        done <<<"$garage_env"
        stage_done ok "$IMAGERY_TEST_S3_URL $(grep -o 'built Garage .*' "$LOG_DIR/garage-start.log" || true)"
    elif [[ $MODE == quick ]]; then
        echo "warning: could not start Garage; the S3 tests will be skipped (see $LOG_DIR/garage-start.log)" >&2
        tail -5 "$LOG_DIR/garage-start.log" >&2
        rm -rf "$GARAGE_DIR"
        GARAGE_DIR=""
        stage_done skipped "could not start"
    else
        tail -50 "$LOG_DIR/garage-start.log" >&2
        exit 1
    fi
fi

# ---------------------------------------------------------------------------
# 4. Rust: build everything, run every crate's tests

# Adds the counts of every `test result:` line of cargo test's output in $1.
count_cargo_results() {
    local p f i
    read -r p f i < <(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 \2 \3/p' "$1" |
        awk '{p+=$1; f+=$2; i+=$3} END {print p+0, f+0, i+0}')
    TESTS_PASSED=$((TESTS_PASSED + p))
    TESTS_FAILED=$((TESTS_FAILED + f))
    TESTS_SKIPPED=$((TESTS_SKIPPED + i))
}

if [[ $MODE != e2e ]]; then
    stage "cargo build"
    cargo build --workspace --all-targets --quiet
    stage_done ok "--workspace --all-targets"

    stage "cargo test"
    set +e
    cargo test --workspace --quiet --no-fail-fast 2>&1 | tee "$LOG_DIR/cargo-test.log"
    status=${PIPESTATUS[0]}
    set -e
    count_cargo_results "$LOG_DIR/cargo-test.log"
    [[ $status -eq 0 ]] || exit "$status"
    stage_done ok "--workspace"
else
    stage "cargo build (server)"
    cargo build -p imagery-server --quiet
    stage_done ok "-p imagery-server"
fi

if [[ $MODE == quick ]]; then
    skip_stage "e2e venv" "(--quick)"
    skip_stage "e2e tests" "(--quick)"
    exit 0
fi

# ---------------------------------------------------------------------------
# 5. End-to-end tests with the real clients from PyPI

stage "e2e venv"
REQS=tests/e2e/requirements.txt
STAMP=$VENV/.requirements.sha256
want=$( (sha256sum "$REQS"; python3 --version 2>&1) | sha256sum | cut -d' ' -f1)
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] && "$VENV/bin/python" -c 'import pytest' 2>/dev/null; then
    stage_done ok "up to date ($VENV)"
else
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q -r "$REQS" 2>&1 | tee "$LOG_DIR/pip.log"
    echo "$want" >"$STAMP"
    stage_done ok "installed $REQS"
fi

stage "e2e tests"
export IMAGERY_BIN=$TARGET_DIR/debug/imagery
[[ -x "$IMAGERY_BIN" ]] || { echo "no server binary at $IMAGERY_BIN" >&2; exit 1; }
set +e
# A watchdog: a hung server or client must fail the run, not eat CI's whole budget.
timeout --kill-after=30 "${IMAGERY_E2E_TIMEOUT:-1500}" \
    "$VENV/bin/python" -m pytest -x -q -p no:cacheprovider tests/e2e "${PYTEST_ARGS[@]}" 2>&1 | tee "$LOG_DIR/e2e.log"
status=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^=*[ ]*[0-9]+ (passed|failed|error|skipped)' "$LOG_DIR/e2e.log" | tail -1 || true)
for kind in passed failed error errors skipped; do
    n=$(sed -n "s/.*\b\([0-9][0-9]*\) $kind\b.*/\1/p" <<<"$summary" | head -1)
    n=${n:-0}
    case $kind in
        passed) TESTS_PASSED=$((TESTS_PASSED + n)) ;;
        failed|error|errors) TESTS_FAILED=$((TESTS_FAILED + n)) ;;
        skipped) TESTS_SKIPPED=$((TESTS_SKIPPED + n)) ;;
    esac
done
[[ $status -eq 0 ]] || exit "$status"
stage_done ok "${summary//=/}"
