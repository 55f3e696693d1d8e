#!/usr/bin/env bash
# Build the Scriptbox sandbox image and print its tag.
#
# One definition (sandbox/image/Dockerfile + the runner files), two paths:
#   registry  `docker build` on debian:bookworm-slim (SCRIPTBOX_IMAGE_BASE, or
#             --registry): for machines that can pull.
#   offline   (default) debootstrap a minimal bookworm with the packages in
#             sandbox/image/base-packages.txt from the Debian mirror apt is
#             already configured with, `docker import` it, then build the same
#             Dockerfile on top with --build-arg BASE=<imported>.
#
# Idempotent and fast: the final image is tagged
# scriptbox-sandbox:<hash of the definition files> and scriptbox-sandbox:latest;
# when the hashed tag exists nothing is rebuilt.
#
# Environment (all optional):
#   SCRIPTBOX_IMAGE_BASE     build FROM this registry image instead of debootstrapping
#   SCRIPTBOX_DEBIAN_MIRROR  mirror URL for debootstrap (default: from apt sources)
#   SCRIPTBOX_DEBIAN_SUITE   Debian suite (default bookworm: the runner targets its python3.11)
#   SCRIPTBOX_IMAGE_REPO     image repository name (default scriptbox-sandbox); a
#                            second name lets a development build sit beside the
#                            image other sessions use as :latest
#   SCRIPTBOX_IMAGE_BASE_REPO repository of the debootstrapped base (default
#                            scriptbox-sandbox-base, shared by every REPO: it
#                            depends only on the suite and packages)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(dirname "$here")"
context="$repo_root/sandbox"
image_dir="$context/image"
repo="${SCRIPTBOX_IMAGE_REPO:-scriptbox-sandbox}"
base_repo="${SCRIPTBOX_IMAGE_BASE_REPO:-scriptbox-sandbox-base}"
suite="${SCRIPTBOX_DEBIAN_SUITE:-bookworm}"
base_image="${SCRIPTBOX_IMAGE_BASE:-}"
if [[ "${1:-}" == "--registry" ]]; then
    base_image="${base_image:-debian:bookworm-slim}"
fi

log() { printf 'build-sandbox-image: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

"$here/docker-up.sh"

# Everything that defines the image, in a fixed order. A change to any of
# them gives a new tag, so a stale image is never mistaken for the current one.
definition_files=(
    "$image_dir/Dockerfile"
    "$image_dir/base-packages.txt"
    "$context/.dockerignore"
    "$context"/runner/*.py
    "$context"/runner/*.mjs
)
packages_file="$image_dir/base-packages.txt"

hash_files() {
    # Hash names (relative) and contents, so renames count too.
    local f
    for f in "$@"; do
        printf '%s\n' "${f#"$repo_root"/}"
        cat "$f"
    done | sha256sum | cut -c1-12
}

definition_hash="$(
    {
        hash_files "${definition_files[@]}"
        printf 'suite=%s base=%s\n' "$suite" "${base_image:-debootstrap}"
    } | sha256sum | cut -c1-12
)"
tag="$repo:$definition_hash"

if docker image inspect "$tag" >/dev/null 2>&1; then
    docker tag "$tag" "$repo:latest"
    echo "$tag"
    exit 0
fi

# Concurrent callers (parallel test runs, CI) build once: the others wait,
# then find the tag.
exec 9>"${TMPDIR:-/tmp}/scriptbox-sandbox-image.lock"
flock -w 1800 9 || die "timed out waiting for another image build"
if docker image inspect "$tag" >/dev/null 2>&1; then
    docker tag "$tag" "$repo:latest"
    echo "$tag"
    exit 0
fi

# Read the Debian mirror from the apt sources this machine already uses
# (deb822 *.sources and one-line *.list), preferring an entry for $suite
# itself, then any other plain Debian archive entry.
apt_mirror() {
    local files=()
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] && files+=("$f")
    done
    ((${#files[@]})) || return 1
    awk -v suite="$suite" '
        function consider(uri, suites,    n, parts, i) {
            n = split(suites, parts, /[ \t]+/)
            for (i = 1; i <= n; i++) {
                if (parts[i] == suite && exact == "") exact = uri
            }
            if (any == "" && uri ~ /\/debian\/?$/) any = uri
        }
        function flush_stanza() {
            if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no" && uris != "") {
                split(uris, u, /[ \t]+/)
                consider(u[1], suites)
            }
            types = ""; uris = ""; suites = ""; enabled = ""
        }
        FILENAME ~ /\.sources$/ {
            if ($0 ~ /^[ \t]*$/) { flush_stanza(); next }
            if ($0 ~ /^#/) next
            key = tolower($0); sub(/:.*/, "", key)
            val = $0; sub(/^[^:]*:[ \t]*/, "", val)
            if (key == "types") types = val
            else if (key == "uris") uris = val
            else if (key == "suites") suites = val
            else if (key == "enabled") enabled = tolower(val)
            next
        }
        FNR == 1 { flush_stanza() }
        $1 == "deb" {
            i = 2
            if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
            consider($i, $(i + 1))
        }
        END {
            flush_stanza()
            if (exact != "") print exact
            else if (any != "") print any
        }
    ' "${files[@]}"
}

# Unmount anything left mounted under a debootstrap target (proc, sys, ...)
# before deleting it: rm -rf through a live /proc or /sys mount is a disaster.
cleanup_rootfs() {
    local root="$1" m
    [[ -n "$root" && -d "$root" ]] || return 0
    while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done < <(awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r)
    rm -rf --one-file-system "$root"
}

build_offline_base() {
    local packages packages_csv base_hash base_tag mirror workdir root
    packages="$(grep -v '^[[:space:]]*#' "$packages_file" | grep -v '^[[:space:]]*$' | tr -s ' \n' ' ')"
    packages_csv="$(echo "$packages" | xargs | tr ' ' ',')"
    base_hash="$(printf 'suite=%s\npackages=%s\n' "$suite" "$packages_csv" | sha256sum | cut -c1-12)"
    base_tag="$base_repo:$suite-$base_hash"
    if docker image inspect "$base_tag" >/dev/null 2>&1; then
        echo "$base_tag"
        return 0
    fi

    [[ "$(id -u)" == 0 ]] || die "debootstrap needs root (run: sudo $0)"
    if ! command -v debootstrap >/dev/null 2>&1 || [[ ! -f /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
        log "installing debootstrap and debian-archive-keyring"
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-cache show debootstrap debian-archive-keyring >/dev/null 2>&1; then
            apt-get update -qq
        fi
        apt-get install -y -qq --no-install-recommends debootstrap debian-archive-keyring >/dev/null
    fi

    mirror="${SCRIPTBOX_DEBIAN_MIRROR:-$(apt_mirror || true)}"
    [[ -n "$mirror" ]] || die "no Debian mirror found in the apt sources; set SCRIPTBOX_DEBIAN_MIRROR"

    workdir="$(mktemp -d "${TMPDIR:-/var/tmp}/scriptbox-rootfs.XXXXXX")"
    root="$workdir/rootfs"
    # shellcheck disable=SC2064 # expand now: the trap must clean this very dir
    trap "cleanup_rootfs '$root'; rm -rf '$workdir'" EXIT
    mkdir -p /var/cache/scriptbox-debootstrap
    log "debootstrap $suite (minbase + $packages_csv) from $mirror"
    if ! debootstrap --variant=minbase --include="$packages_csv" \
        --cache-dir=/var/cache/scriptbox-debootstrap \
        "$suite" "$root" "$mirror" >"$workdir/debootstrap.log" 2>&1; then
        tail -n 30 "$workdir/debootstrap.log" >&2
        die "debootstrap failed"
    fi
    # Trim what a script runner never reads: docs, manuals, translations,
    # apt's package lists and caches. Keeps the image small and quick to copy.
    rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
        "$root"/usr/share/locale/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* \
        "$root"/var/cache/debconf/*-old "$root"/var/log/* "$root"/tmp/*
    log "importing base image $base_tag"
    # Docker provides /dev, /proc and /sys itself: leave device nodes out.
    tar -C "$root" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf - . |
        docker import --message "debootstrap $suite minbase + $packages_csv" - "$base_tag" >/dev/null
    cleanup_rootfs "$root"
    rm -rf "$workdir"
    trap - EXIT
    echo "$base_tag"
}

if [[ -z "$base_image" ]]; then
    base_image="$(build_offline_base)"
fi

log "building $tag on $base_image"
build_log="$(mktemp "${TMPDIR:-/tmp}/scriptbox-image-build.XXXXXX")"
# --network=none: the build needs nothing from outside on the offline base,
# and this engine runs without a bridge network. The registry path needs
# apt access, so it uses the default network.
network_args=(--network=none)
[[ -n "${SCRIPTBOX_IMAGE_BASE:-}" || "${1:-}" == "--registry" ]] && network_args=()
# The classic builder is part of every engine (BuildKit may lack its plugin).
if ! DOCKER_BUILDKIT=0 docker build -q "${network_args[@]}" \
    --build-arg "BASE=$base_image" \
    --label "scriptbox.image.definition=$definition_hash" \
    -f "$image_dir/Dockerfile" -t "$tag" "$context" >"$build_log" 2>&1; then
    cat "$build_log" >&2
    rm -f "$build_log"
    die "docker build failed"
fi
rm -f "$build_log"
docker tag "$tag" "$repo:latest"
# Older definitions' images are kept: a running service or test session may
# still use its hashed tag, and they share the base layers (each adds only
# the runner files, well under 1 MB).
echo "$tag"
