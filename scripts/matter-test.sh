#!/usr/bin/env bash
# The lock as a Matter Door Lock, driven by the CHIP Python controller
# (SPEC §10, R-MTR-*): tests/matter/README.md says what runs and what it costs.
#
#   bash scripts/matter-test.sh                 # install, build, run every test
#   bash scripts/matter-test.sh -k commission   # pytest arguments pass through
#   bash scripts/matter-test.sh --setup-only    # only install what it needs
#   bash scripts/matter-test.sh --demo          # the README's walk-through: commission, read, add a PIN
#
# Runs as root on a fresh Debian machine: installs the two libnl packages the
# CHIP wheel links against (only if missing), a venv in target/matter-venv
# (rebuilt only when tests/matter/requirements.txt changes), builds
# `lock-sim --features matter`, then runs pytest inside a private network
# namespace the script makes itself: `lo` and one veth pair, IPv6 only (a ULA
# on one end, link-local on both), so mDNS and Matter traffic never leave this
# machine and nothing on the host's network can answer. The namespace also has
# its own mount table, with tmpfs on /data and /tmp, because the CHIP wheel
# keeps its state there (/data/chip_*.ini, /tmp/chip_kvs).
#
# MATTER_TEST_DEVICE_CMD="path/to/device args" runs only the smoke test
# (tests/matter/test_smoke.py) against that device instead of building and
# testing the lock: a way to check the harness itself with any Matter device
# that prints `matter: commissioning open discriminator=D passcode=P …` and
# binds its mDNS to the interface named by $MDNS_IFACE.
#
# MATTER_TEST_SIM=path skips the build and runs the lock's tests against that
# binary (a prebuilt lock-sim, or any stand-in honouring its contract).
set -Eeuo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=target/matter-venv
REQS=tests/matter/requirements.txt
IFACE=mtr0
PEER=mtr1
DEBS=(libnl-3-200 libnl-route-3-200 iproute2)

say() { printf 'matter-test: %s\n' "$*"; }
now() { date +%s.%N; }
# "NAME took S s", S since $2 (python3, not bc: bc is not on every machine).
took() {
    local t
    t=$(python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$2")
    say "$1 took ${t} s"
}

# ---------------------------------------------------------------------------
# Inside the namespace (the script re-runs itself under unshare).

if [ "${1:-}" = "--inside-netns" ]; then
    shift
    # Fresh /tmp and /data for the CHIP wheel: nothing leaks between runs and
    # two runs on one machine cannot share a controller's state.
    mount --make-rprivate / 2>/dev/null || true
    mount -t tmpfs -o mode=1777 tmpfs /tmp
    mount -t tmpfs -o mode=0755 tmpfs /data
    # Addresses usable at once: no duplicate address detection on a private
    # link (a tentative link-local address makes the first mDNS answers fail).
    echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad
    echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad
    ip link set lo up
    ip link add "$IFACE" type veth peer name "$PEER"
    ip link set "$IFACE" up
    ip link set "$PEER" up
    ip -6 addr add fd11:22::1/64 dev "$IFACE" nodad
    # Wait for the link-local addresses (veth carrier comes up asynchronously).
    for _ in $(seq 50); do
        if [ "$(ip -6 -o addr show scope link | wc -l)" -ge 2 ] &&
            [ -z "$(ip -6 -o addr show tentative)" ]; then
            break
        fi
        sleep 0.1
    done
    if ip -4 -o addr show | grep -v ' lo ' | grep -q inet; then
        say "an IPv4 address appeared in the test namespace; refusing to run"
        exit 1
    fi
    export MATTER_TEST_IFACE="$IFACE"
    # No __pycache__ beside the tests (pytest would write its rewritten asserts).
    export PYTHONDONTWRITEBYTECODE=1
    if [ "${1:-}" = "--demo" ]; then
        exec "$VENV/bin/python" tests/matter/demo.py
    fi
    exec "$VENV/bin/python" -m pytest "$@"
fi

# ---------------------------------------------------------------------------
# Arguments.

SETUP_ONLY=0
DEMO=0
PYTEST_ARGS=()
for arg in "$@"; do
    case "$arg" in
        --setup-only) SETUP_ONLY=1 ;;
        --demo) DEMO=1 ;;
        -h | --help)
            sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) PYTEST_ARGS+=("$arg") ;;
    esac
done

if [ "$(id -u)" != 0 ]; then
    say "needs root (apt-get, /data, a network namespace)"
    exit 1
fi

# ---------------------------------------------------------------------------
# Setup: Debian packages, /data, the venv.

t=$(now)
missing=()
for deb in "${DEBS[@]}"; do
    dpkg -s "$deb" >/dev/null 2>&1 || missing+=("$deb")
done
# python3 -m venv needs ensurepip, which Debian ships apart.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_log=$(mktemp)
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
        cat "$apt_log"
        exit 1
    fi
    rm -f "$apt_log"
fi
mkdir -p /data

want=$(sha256sum "$REQS" | cut -d' ' -f1)
have=$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)
if [ "$want" != "$have" ] || ! "$VENV/bin/python" -c 'import chip.native, pytest' >/dev/null 2>&1; then
    say "creating $VENV (CHIP wheels, about 1.5 min)"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQS"
    echo "$want" >"$VENV/.requirements.sha256"
fi
took setup "$t"

if [ "$SETUP_ONLY" = 1 ]; then
    exit 0
fi

# ---------------------------------------------------------------------------
# Build the simulator (unless a smoke-test device was given).

if [ -n "${MATTER_TEST_DEVICE_CMD:-}" ]; then
    say "smoke test against: $MATTER_TEST_DEVICE_CMD"
    export MATTER_TEST_DEVICE_CMD
    PYTEST_ARGS=(tests/matter/test_smoke.py "${PYTEST_ARGS[@]}")
elif [ -n "${MATTER_TEST_SIM:-}" ]; then
    # A prebuilt simulator (or a stand-in that honours its contract).
    say "simulator (prebuilt): $MATTER_TEST_SIM"
    export MATTER_TEST_SIM
    PYTEST_ARGS=(tests/matter/test_door_lock.py "${PYTEST_ARGS[@]}")
else
    if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
        PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    fi
    t=$(now)
    cargo build -q -p lock-sim --features matter
    target_dir=$(cargo metadata -q --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    MATTER_TEST_SIM="$target_dir/debug/lock-sim"
    export MATTER_TEST_SIM
    say "simulator: $MATTER_TEST_SIM"
    took build "$t"
    PYTEST_ARGS=(tests/matter "${PYTEST_ARGS[@]}")
fi

# ---------------------------------------------------------------------------
# Tests, in a network (and mount) namespace of their own. pytest's temporary
# directories go under target/ so a failed test's transcripts survive.

if [ "$DEMO" = 1 ]; then
    exec unshare --net --mount -- "$0" --inside-netns --demo
fi

t=$(now)
status=0
unshare --net --mount -- "$0" --inside-netns \
    --basetemp="$PWD/target/matter-test-tmp" \
    "${PYTEST_ARGS[@]}" || status=$?
took tests "$t"
exit "$status"
