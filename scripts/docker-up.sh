#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine; start one if not.
#
# Idempotent: when `docker info` already works this exits 0 at once.
# Otherwise it installs docker.io (Debian) if missing, picks a storage driver
# that actually works on this host, starts dockerd in the background and waits
# (bounded) until it answers.
#
# The daemon is started with --bridge=none and --iptables=false: sandbox
# containers run with network_mode=none, so the engine needs no bridge, no
# NAT rules and no address in a private range.
#
# Environment (all optional):
#   SCRIPTBOX_DOCKER_STORAGE_DRIVER  force a driver (overlay2, vfs, ...)
#   SCRIPTBOX_DOCKER_DATA_ROOT       dockerd --data-root (default /var/lib/docker)
#   SCRIPTBOX_DOCKER_LOG             daemon log file (default /var/log/scriptbox-dockerd.log)
#   SCRIPTBOX_DOCKER_WAIT_SECONDS    how long to wait for the daemon (default 60)
set -euo pipefail

log() { printf 'docker-up: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

if docker info >/dev/null 2>&1; then
    exit 0
fi

# A DOCKER_HOST pointing elsewhere is someone else's engine: starting a local
# daemon would not make that one answer.
if [[ -n "${DOCKER_HOST:-}" && "${DOCKER_HOST}" != "unix:///var/run/docker.sock" ]]; then
    die "DOCKER_HOST=${DOCKER_HOST} does not answer; start that engine or unset DOCKER_HOST"
fi

[[ "$(id -u)" == 0 ]] || die "dockerd is not running and starting it needs root (run: sudo $0)"

# Test runs, CI steps and services may all call this at once: one at a time
# past this point, or two daemons race for the same pid file and data root.
exec 9>/run/lock/scriptbox-docker-up.lock 2>/dev/null || exec 9>/tmp/scriptbox-docker-up.lock
flock -w 120 9 || die "timed out waiting for another docker-up to finish"
if docker info >/dev/null 2>&1; then
    exit 0
fi

data_root="${SCRIPTBOX_DOCKER_DATA_ROOT:-/var/lib/docker}"
log_file="${SCRIPTBOX_DOCKER_LOG:-/var/log/scriptbox-dockerd.log}"
wait_seconds="${SCRIPTBOX_DOCKER_WAIT_SECONDS:-60}"

if ! command -v dockerd >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "dockerd is missing and apt-get is not available"
    log "installing docker.io"
    export DEBIAN_FRONTEND=noninteractive
    # Only refresh the package lists when apt does not know the package yet:
    # an update costs seconds to minutes.
    if ! apt-cache show docker.io >/dev/null 2>&1; then
        apt-get update -qq
    fi
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null
    command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is still not on PATH"
fi

# Probe whether an overlay mount works on the file system holding data_root.
# overlay2 fails when data_root itself sits on overlayfs (nested containers)
# or the kernel lacks overlay; dockerd then refuses to start or breaks at the
# first container, so test with a real mount rather than trusting the kernel
# list.
overlay_works() {
    local probe
    mkdir -p "$data_root"
    probe="$(mktemp -d "${data_root%/}/.overlay-probe.XXXXXX")" || return 1
    mkdir -p "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
    echo ok >"$probe/lower/f"
    local ok=1
    if mount -t overlay overlay \
        -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
        "$probe/merged" 2>/dev/null; then
        # A mount that works but cannot copy up is as useless as none.
        if echo changed >"$probe/merged/f" 2>/dev/null && [[ "$(cat "$probe/upper/f" 2>/dev/null)" == changed ]]; then
            ok=0
        fi
        umount "$probe/merged" 2>/dev/null || true
    fi
    rm -rf "$probe"
    return "$ok"
}

choose_storage_driver() {
    if [[ -n "${SCRIPTBOX_DOCKER_STORAGE_DRIVER:-}" ]]; then
        echo "$SCRIPTBOX_DOCKER_STORAGE_DRIVER"
        return
    fi
    # Keep the driver an existing data root was made with: switching drivers
    # hides every image already built.
    local d
    for d in overlay2 vfs; do
        if [[ -d "$data_root/$d" && -d "$data_root/image/$d" ]]; then
            echo "$d"
            return
        fi
    done
    if grep -qw overlay /proc/filesystems 2>/dev/null || modprobe overlay 2>/dev/null; then
        if overlay_works; then
            echo overlay2
            return
        fi
    fi
    # vfs always works (plain copies): slower to build and more disk, but
    # containers start just as fast.
    echo vfs
}

# A dockerd from the pid file that is alive (not a zombie awaiting its
# reaper after a crash) is still starting up: wait for it, don't start twice.
daemon_running() {
    local pid state
    [[ -f /var/run/docker.pid ]] || return 1
    pid="$(cat /var/run/docker.pid 2>/dev/null)" || return 1
    [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] || return 1
    state="$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null)"
    [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

if daemon_running; then
    log "dockerd (pid $(cat /var/run/docker.pid)) is already starting; waiting for it"
else
    # A pid file left by a crashed daemon (possibly still a zombie) makes the
    # new dockerd refuse to start.
    rm -f /var/run/docker.pid
    driver="$(choose_storage_driver)"
    mkdir -p "$(dirname "$log_file")"
    log "starting dockerd (storage driver $driver, log $log_file)"
    # setsid + nohup: the daemon must outlive this script and the shell or CI
    # step that called it, and not get its SIGHUP.
    # 9>&-: the daemon must not inherit (and so hold forever) the lock.
    setsid nohup dockerd \
        --bridge=none \
        --iptables=false \
        --ip-masq=false \
        --storage-driver="$driver" \
        --data-root="$data_root" \
        --host=unix:///var/run/docker.sock \
        >>"$log_file" 2>&1 </dev/null 9>&- &
    started_pid=$!
fi

deadline=$((SECONDS + wait_seconds))
until docker info >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
        log "dockerd did not answer within ${wait_seconds}s; last lines of $log_file:"
        tail -n 20 "$log_file" >&2 || true
        die "Docker engine unavailable"
    fi
    if [[ -n "${started_pid:-}" ]] && ! kill -0 "$started_pid" 2>/dev/null; then
        log "dockerd exited; last lines of $log_file:"
        tail -n 20 "$log_file" >&2 || true
        die "dockerd failed to start"
    fi
    sleep 0.2
done
log "Docker engine is up ($(docker info --format '{{.Driver}}' 2>/dev/null))"
