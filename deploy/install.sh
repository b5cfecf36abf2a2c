#!/usr/bin/env bash
# Install (or upgrade, or remove) the campus edge agent as a systemd service.
#
#   sudo deploy/install.sh                 # build a wheel from this checkout, install, enable
#   sudo deploy/install.sh --wheel F.whl   # install a wheel built elsewhere
#   sudo deploy/install.sh --uninstall     # remove program and unit; keep config and buffer
#   sudo deploy/install.sh --uninstall --purge   # ... and delete config and buffered data
#   deploy/install.sh --root /tmp/r        # everything under /tmp/r (tests, packaging); no systemctl
#
# Safe to run again: the program and the unit are replaced, the technician's files in
# /etc/edge-agent are never overwritten (new profiles are added, edited ones kept; the
# shipped versions sit in /opt/edge-agent/share/configs for comparison).
# Network: only pip's package index (for the agent's dependencies).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="${DESTDIR:-}"
WHEEL=""
PYTHON="${PYTHON:-python3}"
ACTION=install
PURGE=no

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
        --root=*) ROOT="${1#--root=}"; shift ;;
        --wheel) WHEEL="${2:?--wheel needs a file}"; shift 2 ;;
        --wheel=*) WHEEL="${1#--wheel=}"; shift ;;
        --python) PYTHON="${2:?--python needs an interpreter}"; shift 2 ;;
        --uninstall) ACTION=uninstall; shift ;;
        --purge) PURGE=yes; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
ROOT="${ROOT%/}"

PREFIX=/opt/edge-agent
CONFIG_DIR=/etc/edge-agent
UNIT_DIR=/etc/systemd/system
UNIT=edge-agent.service
COMMAND=/usr/local/bin/edge-agent
STATE_DIRS=(/var/lib/edge-agent /var/lib/private/edge-agent)

say() { echo "edge-agent install: $*"; }
die() { echo "edge-agent install: $*" >&2; exit 1; }

# systemctl only on the machine itself, and only when systemd runs it.
use_systemctl() {
    [ -z "$ROOT" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null
}

if [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
    die "run as root (sudo $0 $*), or use --root DIR to install under a directory"
fi

uninstall() {
    if use_systemctl; then
        systemctl disable --now "$UNIT" 2>/dev/null || true
    else
        say "no running systemd here (or --root): not calling systemctl"
    fi
    rm -f "$ROOT$UNIT_DIR/$UNIT"
    if use_systemctl; then systemctl daemon-reload; fi
    if [ "$(readlink "$ROOT$COMMAND" 2>/dev/null)" = "$PREFIX/bin/edge-agent" ]; then
        rm -f "$ROOT$COMMAND"
    fi
    rm -rf "$ROOT$PREFIX"
    if [ "$PURGE" = yes ]; then
        rm -rf "$ROOT$CONFIG_DIR"
        for dir in "${STATE_DIRS[@]}"; do rm -rf "$ROOT$dir"; done
        say "removed the program, the unit, $CONFIG_DIR and the buffer (--purge)"
    else
        say "removed the program and the unit; kept $CONFIG_DIR and the buffer in /var/lib/edge-agent" \
            "(--purge deletes them)"
    fi
}

build_wheel() {
    local out="$1"
    say "building a wheel from $REPO" >&2
    # From a clean copy: setuptools builds in the source folder, and leftovers of an earlier
    # build/ (a module since removed) would end up in the wheel.
    mkdir -p "$out/src"
    tar -C "$REPO" --exclude=./.git --exclude=./.venv --exclude=./build --exclude=./dist \
        --exclude='*.egg-info' --exclude=./state --exclude='__pycache__' --exclude='.*_cache' \
        -cf - . | tar -C "$out/src" -xf -
    "$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$out" "$out/src" >&2
    ls "$out"/campus_edge_agent-*.whl | head -n 1
}

install_program() {
    local venv="$ROOT$PREFIX" wheel="$1"
    "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null \
        || die "$PYTHON cannot make a venv: apt-get install python3-venv"
    if [ ! -x "$venv/bin/python" ]; then
        say "creating the venv $PREFIX"
        "$PYTHON" -m venv "$venv"
    fi
    say "installing $(basename "$wheel") and its dependencies into $PREFIX"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel"
    # The same version number may carry new code (a rebuilt checkout): replace the agent itself.
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"
    # Shipped configs and docs, for reference and comparison with /etc/edge-agent.
    rm -rf "$venv/share/configs" "$venv/share/docs"
    mkdir -p "$venv/share/configs" "$venv/share/docs"
    cp "$REPO/configs/agent.example.toml" "$venv/share/configs/"
    cp -r "$REPO/configs/profiles" "$venv/share/configs/"
    cp "$REPO/README.md" "$REPO/docs/"*.md "$venv/share/docs/"
    # `edge-agent check` on the PATH, for the technician.
    install -d -m 0755 "$ROOT$(dirname "$COMMAND")"
    if [ -e "$ROOT$COMMAND" ] && [ ! -L "$ROOT$COMMAND" ]; then
        say "left $COMMAND alone (not ours); the agent is $PREFIX/bin/edge-agent"
    else
        ln -sfn "$PREFIX/bin/edge-agent" "$ROOT$COMMAND"
    fi
}

install_config() {
    local etc="$ROOT$CONFIG_DIR"
    install -d -m 0755 "$etc" "$etc/conf.d" "$etc/profiles"
    install -d -m 0700 "$etc/secrets"
    if [ -e "$etc/agent.toml" ]; then
        say "kept $CONFIG_DIR/agent.toml"
    else
        install -m 0644 "$REPO/configs/agent.example.toml" "$etc/agent.toml"
        say "wrote $CONFIG_DIR/agent.toml from the example: edit it (school, devices, store)"
    fi
    local profile name
    for profile in "$REPO"/configs/profiles/*.toml; do
        name="$(basename "$profile")"
        if [ ! -e "$etc/profiles/$name" ]; then
            install -m 0644 "$profile" "$etc/profiles/$name"
        elif ! cmp -s "$profile" "$etc/profiles/$name"; then
            say "kept your $CONFIG_DIR/profiles/$name (the shipped one: $PREFIX/share/configs/profiles/$name)"
        fi
    done
    if [ ! -e "$etc/secrets/influxdb.token" ]; then
        # Empty until the technician puts the store's token in; the unit loads it as a credential.
        install -m 0600 /dev/null "$etc/secrets/influxdb.token"
        say "created $CONFIG_DIR/secrets/influxdb.token (empty, mode 0600): put the store's token in it"
    fi
}

install_unit() {
    install -d -m 0755 "$ROOT$UNIT_DIR"
    install -m 0644 "$REPO/deploy/systemd/$UNIT" "$ROOT$UNIT_DIR/$UNIT"
    if use_systemctl; then
        systemctl daemon-reload
        systemctl enable "$UNIT"
        if systemctl is-active --quiet "$UNIT"; then
            systemctl restart "$UNIT"
            say "restarted the running agent with the new version"
        else
            say "enabled $UNIT; once $CONFIG_DIR/agent.toml is right: systemctl start edge-agent"
        fi
    else
        say "no running systemd here (or --root): not calling systemctl;" \
            "on the gateway: systemctl daemon-reload && systemctl enable --now edge-agent"
    fi
}

if [ "$ACTION" = uninstall ]; then
    uninstall
    exit 0
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
if [ -z "$WHEEL" ]; then
    WHEEL="$(build_wheel "$scratch")"
fi
[ -f "$WHEEL" ] || die "no wheel at $WHEEL"
install_program "$WHEEL"
install_config
install_unit
"$ROOT$PREFIX/bin/edge-agent" --version >/dev/null || die "the installed agent does not start"
say "done: $("$ROOT$PREFIX/bin/edge-agent" --version) in ${ROOT:-}$PREFIX"
