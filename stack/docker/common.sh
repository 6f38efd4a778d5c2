# Shared helpers for the Docker path of the reference stack. Sourced, not run.
# Nothing here names a host: the Debian mirror is read from apt's own configuration
# at run time, and Python packages come through pip's own configuration.

VX11_REPO="${VX11_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
VX11_DOCKER_RUN="${VX11_DOCKER_RUN:-$VX11_REPO/.run/docker}"
VX11_BASE_IMAGE="${VX11_BASE_IMAGE:-vx11-base:bookworm}"
VX11_SERVICES=(tentaculo_link madre switch spawner)

vx11_say() { printf '%s: %s\n' "${VX11_ME:-vx11-docker}" "$*" >&2; }
vx11_die() { printf '%s: ERROR: %s\n' "${VX11_ME:-vx11-docker}" "$*" >&2; exit "${2:-1}"; }

# The Debian archive apt uses on this machine (the stanza whose Suites holds "bookworm"),
# or VX11_DEBIAN_MIRROR when set. Prints nothing when none is found.
vx11_debian_mirror() {
    if [[ -n "${VX11_DEBIAN_MIRROR:-}" ]]; then printf '%s\n' "$VX11_DEBIAN_MIRROR"; return; fi
    local f=/etc/apt/sources.list.d/debian.sources m=""
    if [[ -r "$f" ]]; then
        m="$(awk 'BEGIN{RS=""; FS="\n"}
            { uris=""; suite=0
              for (i=1;i<=NF;i++) {
                if ($i ~ /^URIs:/)   { split($i,a,/[ \t]+/); uris=a[2] }
                if ($i ~ /^Suites:/) { n=split($i,s,/[ \t]+/); for (j=2;j<=n;j++) if (s[j]=="bookworm") suite=1 }
              }
              if (suite && uris!="") { print uris; exit } }' "$f")"
        [[ -z "$m" ]] && m="$(awk '/^URIs:/{print $2; exit}' "$f")"
    fi
    if [[ -z "$m" && -r /etc/apt/sources.list ]]; then
        m="$(awk '$1=="deb" { i=2; if ($2 ~ /^\[/) { while (i<=NF && $i !~ /\]$/) i++; i++ }
                              if ($(i+1)=="bookworm") { print $i; exit } }' /etc/apt/sources.list)"
    fi
    printf '%s\n' "$m"
}

# Start "$@" in the background in a session of its own, with stdin from /dev/null,
# stdout and stderr appended to LOG, and no other descriptor of ours: a daemon that
# kept a caller's flock descriptor would hold that lock for its whole life.
# Sets VX11_DETACHED_PID to the pid of the command (setsid execs in place: a
# background subshell of a script is no process-group leader).
vx11_detach() {  # LOG command [args...]
    local log="$1"; shift
    (
        local fd
        for fd in /proc/"$BASHPID"/fd/*; do
            fd="${fd##*/}"
            if (( fd > 2 )); then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec setsid "$@" >>"$log" 2>&1 </dev/null
    ) &
    VX11_DETACHED_PID=$!
}

# Take an exclusive flock on descriptor FD within SECONDS, or die naming who holds it.
vx11_lock() {  # FD SECONDS FILE WHAT
    local fd="$1" secs="$2" file="$3" what="$4" real
    flock -n "$fd" && return 0
    real="$(realpath "$file")"
    vx11_say "waiting up to ${secs}s for $what (lock $file)"
    flock -w "$secs" "$fd" && return 0
    local holders="" link p
    # One find over every process's descriptors (a readlink per descriptor takes tens of
    # seconds on a busy machine); -lname matches the link's target as a glob, so it is escaped.
    local pattern
    pattern="$(printf '%s' "$real" | sed 's/[][*?\\]/\\&/g')"
    while IFS= read -r link; do
        p="${link#/proc/}"; p="${p%%/*}"
        [[ "$p" == "$$" || "$p" == "$BASHPID" ]] && continue
        [[ " $holders " == *" $p ("* ]] && continue
        [[ -r "/proc/$p/cmdline" ]] || continue      # gone meanwhile
        holders+=" $p ($( { tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-80; } 2>/dev/null || true))"
    done < <(eval "exec $fd>&-"; find /proc/[0-9]*/fd -maxdepth 1 -lname "$pattern" 2>/dev/null || true)
    vx11_die "$what: the lock $file was held for ${secs}s by${holders:- an unknown process}; end that process or wait for it"
}

vx11_image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

vx11_image_label() {  # image label
    docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

# Elapsed-time note, appended to .run/docker/timings.log as "<step> <seconds>".
vx11_timing() {
    mkdir -p "$VX11_DOCKER_RUN"
    printf '%s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$2" >>"$VX11_DOCKER_RUN/timings.log"
    vx11_say "$1 took ${2}s"
}

# Logs we keep must not name hosts either: replace the host part of every URL.
vx11_redact() {  # hosts with a dot and a letter: not loopback addresses nor service names
    sed -E 's#([a-zA-Z][a-zA-Z0-9+.-]*://)([A-Za-z0-9-]*[A-Za-z][A-Za-z0-9-]*\.[A-Za-z0-9.-]+|[A-Za-z0-9-]+\.[A-Za-z0-9.-]*[A-Za-z][A-Za-z0-9.-]*)#\1<host>#g'
}

# apt-get install the named Debian packages (root only); the log, redacted, in .run/docker/apt.log.
vx11_apt_install() {
    [[ "$(id -u)" == 0 ]] || vx11_die "missing Debian package(s) $*; install them (apt-get install -y $*) or run as root"
    command -v apt-get >/dev/null 2>&1 || vx11_die "missing $* and no apt-get to install them"
    mkdir -p "$VX11_DOCKER_RUN"
    local log="$VX11_DOCKER_RUN/apt.log"
    vx11_say "installing $* (apt-get)"
    local rc
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" 2>&1 | vx11_redact >"$log"; rc=${PIPESTATUS[0]}
    if [[ $rc != 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get update 2>&1 | vx11_redact >>"$log" || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" 2>&1 | vx11_redact >>"$log"; rc=${PIPESTATUS[0]}
        if [[ $rc != 0 ]]; then
            tail -n 15 "$log" >&2
            vx11_die "apt-get install $* failed (log above); check that apt reaches its mirror"
        fi
    fi
}
