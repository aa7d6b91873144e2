# Shared helpers for ops/ scripts. Every install step Wharf needs lives here, so a fresh machine works.
set -euo pipefail

WHARF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export WHARF_ROOT

say() { printf '%s\n' "ops: $*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        say "need root to run: $*"; return 1; fi
}

apt_updated=0
apt_install() {
    if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq >/dev/null; apt_updated=1; fi
    say "installing $*"
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

ensure_swift() {
    command -v swift >/dev/null || { [ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"; }
    command -v swift >/dev/null || { say "Swift 6.3 is required (swift not found on PATH)"; exit 1; }
}

# PostgreSQL server binaries (initdb, pg_ctl, postgres) and the psql client.
pg_bindir() {
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then dirname "$(command -v initdb)"; return; fi
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

ensure_postgres() {
    if [ -z "$(pg_bindir)" ] || ! command -v psql >/dev/null; then apt_install postgresql; fi
    PG_BIN="$(pg_bindir)"
    export PATH="$PG_BIN:$PATH"
    command -v runuser >/dev/null || apt_install util-linux
}

# Python packages the test suite uses to validate JSON Schemas and the OpenAPI document.
ensure_python_tools() {
    command -v python3 >/dev/null || apt_install python3 python3-pip
    # kubernetes-validate checks the objects the cluster worker renders (its schemas for 1.29 and 1.33 ship with it).
    if ! python3 -c 'import jsonschema, referencing, yaml, openapi_spec_validator, kubernetes_validate' 2>/dev/null; then
        say "installing jsonschema, pyyaml, openapi-spec-validator, kubernetes-validate (pip)"
        python3 -m pip install -q jsonschema referencing pyyaml openapi-spec-validator kubernetes-validate >/dev/null 2>&1 \
            || python3 -m pip install -q --break-system-packages jsonschema referencing pyyaml openapi-spec-validator kubernetes-validate >/dev/null
    fi
}

# librdkafka's headers (Debian's librdkafka-dev, 2.0.2) and pkg-config: Wharf compiles its Kafka adapter against
# them. At run time a Kafka deployment needs librdkafka >= 2.3; `ops/kafka install` fetches 2.16 (see kafka_runtime).
ensure_kafka_headers() {
    if ! pkg-config --exists rdkafka 2>/dev/null; then apt_install librdkafka-dev pkg-config; fi
}

# Puts librdkafka 2.16 (from ops/kafka) first on LD_LIBRARY_PATH, for Wharf processes that talk to Kafka.
kafka_runtime() {
    "$WHARF_ROOT/ops/kafka" install >/dev/null
    export LD_LIBRARY_PATH="$WHARF_ROOT/.ops-cache/kafka/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}

# nginx for the Nginx worker's `nginx -t` and the tests' nginx nodes. nginx-light is enough (core + upstream,
# map, split_clients, ssl). Debian's package would start a system nginx on :80; we run our own on loopback.
ensure_nginx() {
    if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then apt_install nginx-light; fi
    export PATH="$PATH:/usr/sbin"
}

# The TLS test makes its own certificate with the openssl command.
# Builds (issue 14): git for mirrors, buildah for images, the CNCF registry for the embedded default and tests,
# busybox-static for the small base image made locally (no public registry is reachable here), util-linux for
# the build sandbox (unshare, setpriv, prlimit).
ensure_build_tools() {
    local missing=()
    command -v git >/dev/null || missing+=(git)
    command -v buildah >/dev/null || missing+=(buildah)
    command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
    [ -x /bin/busybox ] || missing+=(busybox-static)
    { command -v unshare >/dev/null && command -v setpriv >/dev/null && command -v prlimit >/dev/null; } || missing+=(util-linux)
    if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
}

ensure_openssl() {
    if ! command -v openssl >/dev/null; then apt_install openssl; fi
}

build_config() { echo "${WHARF_BUILD_CONFIG:-debug}"; }

wharf_binary() { echo "$WHARF_ROOT/.build/$(build_config)/wharf"; }

# Builds the wharf executable when any source is newer than the binary.
ensure_built() {
    ensure_swift
    ensure_kafka_headers
    local bin; bin=$(wharf_binary)
    if [ ! -x "$bin" ] || [ -n "$(find "$WHARF_ROOT/Sources" "$WHARF_ROOT/Package.swift" -newer "$bin" -print -quit)" ]; then
        say "building wharf ($(build_config)); the first build fetches and compiles dependencies and takes several minutes"
        (cd "$WHARF_ROOT" && swift build -c "$(build_config)" --product wharf >&2)
    fi
}
