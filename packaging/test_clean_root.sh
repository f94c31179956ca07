#!/usr/bin/env bash
# Proves a Hearken .deb works on a fresh, minimal, offline Debian 12.
#
#   sudo packaging/test_clean_root.sh DEB_FILE [AUDIO_WAV]
#
# 1. a pristine `debootstrap --variant=minbase bookworm` root, built once and cached as
#    ${HEARKEN_ROOT_CACHE:-/var/cache/hearken-test}/bookworm-minbase.tar; each run unpacks a fresh copy
# 2. installs exactly the .deb's Depends (and Pre-Depends) with apt (network on, this step only)
# 3. with no network (unshare --net): dpkg -i the .deb, checks the installed paths
# 4. still offline, as an unprivileged user with HOME=/tmp/home, QT_QPA_PLATFORM=offscreen, no DISPLAY:
#    `hearken selftest`, `hearken listen` on a real recording, `hearken gui ... --screenshot`, and
#    the cold start of `hearken --version`
# 5. a PASS/FAIL summary, also in $OUT_DIR/summary.txt (default out/package-test, relative to the
#    repo root), with the logs, report.json and screenshot.png; exit status 1 if any check failed.
#
# Environment:
#   HEARKEN_DEBIAN_MIRROR  the Debian mirror; when unset it is read from the host's apt sources
#   HEARKEN_ROOT_CACHE     where the pristine root tarball (and downloaded .debs) are kept
#   HEARKEN_REBUILD_ROOT=1 rebuild the cached root
#   HEARKEN_TEST_TMP       where the per-run root is unpacked (default /var/tmp; it holds the whole app)
#   HEARKEN_TEST_AS_ROOT=1 run the step-4 commands as root instead of an unprivileged user
#   HEARKEN_TEST_TIMEOUT   seconds allowed to selftest, listen and gui each (default 300)
#   OUT_DIR                where the summary, logs and screenshot go
set -euo pipefail
# shellcheck disable=SC2016  # the sh -c / bash -c scripts expand inside the root, on purpose

usage() { echo "usage: $0 DEB_FILE [AUDIO_WAV]   (as root)" >&2; exit 2; }
die() { echo "test_clean_root: $*" >&2; exit 2; }
log() { printf '\n==> %s\n' "$*"; }

[[ $# -ge 1 && $# -le 2 ]] || usage
[[ $EUID -eq 0 ]] || die "must run as root (debootstrap, chroot, unshare)"

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
DEB=$(realpath -e "$1" 2>/dev/null) || die "no such .deb: $1"
AUDIO=${2:-"$SCRIPT_DIR/../../shared/audio/ibm_thunderstorms.wav"}
[[ -f $AUDIO ]] || die "no such audio file: $AUDIO"
AUDIO=$(realpath -e "$AUDIO")

OUT_DIR=${OUT_DIR:-out/package-test}
[[ $OUT_DIR = /* ]] || OUT_DIR="$REPO_ROOT/$OUT_DIR"
CACHE_DIR=${HEARKEN_ROOT_CACHE:-/var/cache/hearken-test}
CACHE_TAR="$CACHE_DIR/bookworm-minbase.tar"
SUITE=bookworm
# per-command limits in seconds (HEARKEN_TEST_TIMEOUT overrides the three app checks at once)
T_SELFTEST=${HEARKEN_TEST_TIMEOUT:-300} T_LISTEN=${HEARKEN_TEST_TIMEOUT:-300} T_GUI=${HEARKEN_TEST_TIMEOUT:-300}
T_VERSION=120 T_INSTALL=900

for tool in dpkg-deb unshare chroot tar timeout python3 flock; do
    command -v "$tool" >/dev/null || die "missing tool on the host: $tool"
done
dpkg-deb --info "$DEB" >/dev/null 2>&1 || die "not a valid .deb: $DEB"
PKG=$(dpkg-deb -f "$DEB" Package)

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- work dir, cleanup
mkdir -p "${HEARKEN_TEST_TMP:-/var/tmp}"
WORK=$(mktemp -d "${HEARKEN_TEST_TMP:-/var/tmp}/hearken-clean-root.XXXXXX")
ROOT="$WORK/root"
LOGS="$WORK/logs"
mkdir -p "$LOGS"

cleanup() {
    local rc=$? m
    # Every mount is made inside a private mount namespace that dies with its command, so nothing
    # should be left; unmount whatever is (deepest first) before deleting, never across a mount.
    if [[ -n ${WORK:-} && -d $WORK ]]; then
        while read -r m; do
            umount -l "$m" 2>/dev/null || true
        done < <(awk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
        rm -rf --one-file-system "$WORK"
    fi
    rm -f "${CACHE_TAR}.partial.$$"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------------- results
RESULTS=()
FAILED=0
pass() { RESULTS+=("PASS  $1"); echo "PASS  $1"; }
fail() {  # fail NAME MESSAGE [LOGFILE]
    RESULTS+=("FAIL  $1: $2"); FAILED=1
    echo "FAIL  $1: $2" >&2
    if [[ -n ${3:-} && -f $3 ]]; then
        echo "----- last 40 lines of $(basename "$3") -----" >&2
        tail -n 40 "$3" >&2
        echo "-----" >&2
    fi
}
skip() { RESULTS+=("SKIP  $1: $2"); echo "SKIP  $1: $2"; }

summary() {
    mkdir -p "$OUT_DIR"
    cp -f "$LOGS"/*.log "$OUT_DIR"/ 2>/dev/null || true
    {
        echo "Hearken clean-root package test: $(basename "$DEB") ($PKG $(dpkg-deb -f "$DEB" Version))"
        echo "root: debootstrap --variant=minbase $SUITE, cache $CACHE_TAR"
        printf '%s\n' "${RESULTS[@]}"
        if [[ $FAILED -eq 0 ]]; then echo "RESULT: all checks passed"; else echo "RESULT: FAILED"; fi
    } > "$OUT_DIR/summary.txt"
    echo
    echo "================ summary ================"
    cat "$OUT_DIR/summary.txt"
    echo "(summary, logs and artefacts in $OUT_DIR)"
}

# ---------------------------------------------------------------- mirror
# The first `deb` source for the suite "bookworm" in the host's apt sources, one-line (*.list) or
# deb822 (*.sources) format; HEARKEN_DEBIAN_MIRROR, when set, wins.
host_mirror() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        awk -v s="$SUITE" '
            { sub(/#.*/, "") }
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == s && $i ~ /^(https?|ftp|file):\/\//) { print $i; exit }
            }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        awk -v s="$SUITE" '
            function flush() {
                if (!found && types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ") && enabled != "no")
                    for (k = 1; k <= nuris; k++) if (uris[k] ~ /^(https?|ftp|file):\/\//) { print uris[k]; found = 1; exit }
                types = ""; suites = ""; enabled = ""; nuris = 0
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            {
                line = $0; key = tolower(line); sub(/:.*/, "", key); val = line; sub(/^[^:]*:[ \t]*/, "", val)
                if (key == "types") types = val
                else if (key == "suites") suites = val
                else if (key == "enabled") enabled = tolower(val)
                else if (key == "uris") nuris = split(val, uris, /[ \t]+/)
            }
            END { flush() }' "$f"
    done
}

# ---------------------------------------------------------------- namespaces
# in_root NET WHO TIMEOUT CMD...: run CMD in the chroot, in private mount + pid namespaces (all
# mounts vanish with it, and so do leftover processes); NET=offline adds a network namespace with
# only loopback. WHO=admin: root with a root environment; WHO=app: $RUN_AS (root or uid:gid) with
# the plain desktop-user environment (HOME=/tmp/home, offscreen Qt, no DISPLAY, no HEARKEN_*).
# The environment is rebuilt from nothing (env -i).
in_root() {
    local net=$1 who=$2 limit=$3; shift 3
    local -a ns=(--mount --pid --fork --kill-child --propagation private)
    [[ $net = offline ]] && ns+=(--net)
    local -a envv=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
                   LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive)
    local -a chr=()
    if [[ $who = app ]]; then
        [[ $RUN_AS = root ]] || chr=(--userspec="$RUN_AS" --groups="${RUN_AS#*:}")
        envv=(HOME=/tmp/home USER="$TEST_USER" LOGNAME="$TEST_USER" SHELL=/bin/sh
              PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 TERM=dumb QT_QPA_PLATFORM=offscreen)
    fi
    timeout -k 15 $((limit + 60)) unshare "${ns[@]}" -- /bin/bash -c '
        set -e
        r=$1 net=$2; shift 2
        mount -t proc proc "$r/proc"
        mount -t sysfs -o ro sysfs "$r/sys" 2>/dev/null || true
        mount --rbind /dev "$r/dev"
        mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm"
        mount -t tmpfs -o mode=755 tmpfs "$r/run"
        if [[ $net = offline ]] && command -v ip >/dev/null; then ip link set lo up; fi
        if [[ -n ${APT_ARCHIVES:-} ]]; then mount --bind "$APT_ARCHIVES" "$r/var/cache/apt/archives"; fi
        exec chroot "$@"' in_root "$ROOT" "$net" "${chr[@]}" "$ROOT" \
        /usr/bin/env -i "${envv[@]}" timeout -k 15 "$limit" "$@"
}

# ---------------------------------------------------------------- 1. the root
build_root_cache() {
    local mirror=${HEARKEN_DEBIAN_MIRROR:-}
    if [[ -z $mirror ]]; then
        mirror=$(host_mirror | head -n 1)
        [[ -n $mirror ]] || die "no 'deb ... $SUITE' source in /etc/apt/sources.list{,.d/*}; set HEARKEN_DEBIAN_MIRROR"
    fi
    command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install -y debootstrap"
    log "building the pristine root: debootstrap --variant=minbase $SUITE $mirror (once; a few minutes)"
    local build="$WORK/debootstrap"
    # in its own mount namespace, so the /proc and /sys it mounts cannot outlive it
    if ! unshare --mount --fork --propagation private \
            debootstrap --variant=minbase "$SUITE" "$build" "$mirror" > "$LOGS/debootstrap.log" 2>&1; then
        fail root "debootstrap failed (mirror $mirror)" "$LOGS/debootstrap.log"
        summary; exit 1
    fi
    rm -rf "$build/var/cache/apt/archives/"*.deb "$build/debootstrap"
    mkdir -p "$CACHE_DIR"
    tar --numeric-owner --xattrs -C "$build" -cpf "${CACHE_TAR}.partial.$$" .
    mv -f "${CACHE_TAR}.partial.$$" "$CACHE_TAR"
    printf 'mirror=%s\nsuite=%s\nvariant=minbase\nbuilt=%s\n' "$mirror" "$SUITE" "$(date -u +%FT%TZ)" \
        > "$CACHE_DIR/bookworm-minbase.info"
    rm -rf --one-file-system "$build"
}

t0=$(now)
mkdir -p "$CACHE_DIR"
(
    flock 9   # one builder at a time; a second run waits and then reuses the tarball
    if [[ ! -s $CACHE_TAR || ${HEARKEN_REBUILD_ROOT:-0} = 1 ]]; then build_root_cache; fi
) 9> "$CACHE_DIR/.lock"
mkdir -p "$ROOT"
tar --numeric-owner --xattrs -C "$ROOT" -xpf "$CACHE_TAR"
t1=$(now)
pass "root        fresh minbase root ready in $(secs "$t0" "$t1") s ($ROOT)"

# ---------------------------------------------------------------- 2. the Depends, and only them
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
PREDEPENDS=$(dpkg-deb -f "$DEB" Pre-Depends)
ALLDEPS=$(printf '%s, %s' "$PREDEPENDS" "$DEPENDS" | tr -s '\n\t ' '   ' | sed -E 's/^[ ,]+//; s/[ ,]+$//')
log "installing the .deb's dependencies (network on): ${ALLDEPS:-<none>}"
cp -fL /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"; chmod 755 "$ROOT/usr/sbin/policy-rc.d"
export APT_ARCHIVES="$CACHE_DIR/apt-archives"   # downloaded .debs are kept between runs
mkdir -p "$APT_ARCHIVES/partial"
t0=$(now)
deps_ok=1
{
    in_root online admin "$T_INSTALL" apt-get -o Acquire::Check-Valid-Until=false -q update &&
    if [[ -n $ALLDEPS ]]; then
        in_root online admin "$T_INSTALL" apt-get -q -y --no-install-recommends satisfy "$ALLDEPS"
    fi
} > "$LOGS/depends.log" 2>&1 || deps_ok=0
unset APT_ARCHIVES
rm -f "$ROOT/usr/sbin/policy-rc.d"
t1=$(now)
if [[ $deps_ok = 1 ]]; then
    pass "depends     apt-get satisfy '${ALLDEPS:-<none>}' (no recommends) in $(secs "$t0" "$t1") s"
else
    fail depends "apt could not install the Depends line '${ALLDEPS}'" "$LOGS/depends.log"
    summary; exit 1
fi

# ---------------------------------------------------------------- 3. offline dpkg -i
log "dpkg -i $(basename "$DEB") with no network"
mkdir -p "$ROOT/tmp/pkg"
cp -f "$DEB" "$ROOT/tmp/pkg/hearken.deb"
installed=0
if in_root offline admin "$T_INSTALL" dpkg -i /tmp/pkg/hearken.deb > "$LOGS/install.log" 2>&1; then
    rm -rf "$ROOT/tmp/pkg"
    if in_root offline admin 60 /bin/sh -c '
            set -e
            st=$(dpkg-query -W -f="\${Status}" "$1"); echo "dpkg status of $1: $st"
            [ "$st" = "install ok installed" ] || { echo "package $1 is not fully installed"; exit 1; }
            [ -x /opt/hearken/hearken ] || { echo "missing or not executable: /opt/hearken/hearken"; exit 1; }
            [ -x /usr/bin/hearken ] || { echo "missing or not executable (or a dangling link): /usr/bin/hearken"; exit 1; }
            ls -l /usr/bin/hearken /opt/hearken/hearken
            found=0
            for d in /usr/share/applications/*.desktop; do
                [ -f "$d" ] || continue
                found=1; echo "desktop file: $d"; grep -E "^(Exec|Icon|Name)=" "$d" || true
            done
            [ $found = 1 ] || { echo "no .desktop file in /usr/share/applications"; exit 1; }
            du -sh /opt/hearken' sh "$PKG" >> "$LOGS/install.log" 2>&1; then
        installed=1
        desk=$(sed -n 's/^desktop file: //p' "$LOGS/install.log" | paste -sd' ' -)
        pass "install     offline dpkg -i; /opt/hearken/hearken, /usr/bin/hearken, $desk"
    else
        fail install "the installed files are not as expected: $(tail -n 1 "$LOGS/install.log")" "$LOGS/install.log"
    fi
else
    fail install "offline dpkg -i failed" "$LOGS/install.log"
fi

# ---------------------------------------------------------------- 4. run it, offline, as a user
if [[ $installed = 1 ]]; then
    if [[ ${HEARKEN_TEST_AS_ROOT:-0} = 1 ]]; then
        TEST_USER=root; RUN_AS=root
        mkdir -p "$ROOT/tmp/home"
    else
        TEST_USER=hearken-test
        in_root offline admin 60 useradd --no-create-home --home-dir /tmp/home --shell /bin/sh "$TEST_USER" \
            >> "$LOGS/install.log" 2>&1 || die "useradd failed in the root"
        uid=$(chroot "$ROOT" /usr/bin/id -u "$TEST_USER"); gid=$(chroot "$ROOT" /usr/bin/id -g "$TEST_USER")
        RUN_AS="$uid:$gid"
        mkdir -p "$ROOT/tmp/home"; chown "$RUN_AS" "$ROOT/tmp/home"
    fi
    cp -f "$AUDIO" "$ROOT/tmp/q.wav"; chmod 644 "$ROOT/tmp/q.wav"
    rm -rf "$ROOT/tmp/out" "$ROOT/tmp/report.json" "$ROOT/tmp/shot.png"

    # hearken_run NAME TIMEOUT ARGS...: runs `hearken ARGS` as the test user, offline; sets RC and
    # ELAPSED (seconds, measured inside the root); output in $LOGS/NAME.log
    hearken_run() {
        local name=$1 limit=$2; shift 2
        RC=0
        in_root offline app "$limit" /bin/sh -c '
            s=$(date +%s%N); hearken "$@"; rc=$?; e=$(date +%s%N)
            echo "$(( (e - s) / 1000000 ))" > /tmp/.elapsed_ms; exit $rc' sh "$@" > "$LOGS/$name.log" 2>&1 || RC=$?
        ELAPSED=$(awk '{ printf "%.2f", $1 / 1000 }' "$ROOT/tmp/.elapsed_ms" 2>/dev/null || echo "?")
        rm -f "$ROOT/tmp/.elapsed_ms"
    }
    # common_ok NAME LIMIT: true if the run exited 0 without a Traceback; else says why, with the log tail
    common_ok() {
        local name=$1 limit=$2
        if [[ $RC = 124 || $RC = 137 ]]; then
            fail "$name" "timed out after $limit s (exit $RC)" "$LOGS/$name.log"; return 1
        elif [[ $RC != 0 ]]; then
            fail "$name" "exit status $RC, expected 0" "$LOGS/$name.log"; return 1
        elif grep -q Traceback "$LOGS/$name.log"; then
            fail "$name" "exit 0 but the output has a Traceback (line $(grep -n -m1 Traceback "$LOGS/$name.log" | cut -d: -f1))" "$LOGS/$name.log"
            return 1
        fi
    }

    # d. cold start first, before anything else has run the app
    log "cold start: hearken --version"
    hearken_run version "$T_VERSION" --version
    if common_ok version "$T_VERSION"; then
        first=$ELAPSED; hearken_run version2 "$T_VERSION" --version
        pass "coldstart   hearken --version: $first s (first run), $ELAPSED s (second run) -> $(grep -m1 -i hearken "$LOGS/version.log" || head -n 1 "$LOGS/version.log")"
    else
        hearken_run help "$T_VERSION" --help
        if common_ok help "$T_VERSION"; then
            RESULTS+=("INFO  coldstart   hearken --help: $ELAPSED s (--version failed)")
        fi
    fi

    # a. selftest
    log "hearken selftest"
    hearken_run selftest "$T_SELFTEST" selftest
    if common_ok selftest "$T_SELFTEST"; then
        if grep -q "selftest passed" "$LOGS/selftest.log"; then
            pass "selftest    exit 0, 'selftest passed', $ELAPSED s"
        else
            fail selftest "exit 0 but the output lacks 'selftest passed'" "$LOGS/selftest.log"
        fi
    fi

    # b. listen on the real recording
    log "hearken listen /tmp/q.wav --pace fast (audio: $(basename "$AUDIO"))"
    hearken_run listen "$T_LISTEN" listen /tmp/q.wav --pace fast --out /tmp/out --report /tmp/report.json
    if common_ok listen "$T_LISTEN"; then
        if [[ ! -s $ROOT/tmp/report.json ]]; then
            fail listen "exit 0 but no report at /tmp/report.json" "$LOGS/listen.log"
        else
            mkdir -p "$OUT_DIR"; cp -f "$ROOT/tmp/report.json" "$OUT_DIR/report.json"
            if python3 - "$ROOT/tmp/report.json" > "$LOGS/report-check.log" 2>&1 <<'EOF'
import json, sys
try:
    report = json.load(open(sys.argv[1], encoding="utf-8"))
except Exception as e:  # noqa: BLE001
    sys.exit(f"the report is not valid JSON: {e}")
turns = report.get("turns") if isinstance(report, dict) else None
if not turns:
    sys.exit("the report has no turns")
good = None
for i, t in enumerate(turns):
    user, answer = (t.get("user_text") or "").strip(), (t.get("assistant_text") or "").strip()
    print(f"turn {i}: user_text      = {user!r}")
    print(f"turn {i}: assistant_text = {answer!r}")
    if good is None and "thunderstorm" in user.lower() and answer:
        good = i
if good is None:
    sys.exit("no turn has 'thunderstorm' in user_text together with a non-empty assistant_text")
print(f"turn {good} heard the question and answered it")
EOF
            then
                cat "$LOGS/report-check.log"
                wavs=$(find "$ROOT/tmp/out" -name '*.wav' 2>/dev/null | wc -l)
                pass "listen      exit 0, $ELAPSED s, the report has the question and an answer ($wavs answer WAVs)"
            else
                cat "$LOGS/report-check.log" >> "$LOGS/listen.log"
                fail listen "report check: $(tail -n 1 "$LOGS/report-check.log")" "$LOGS/listen.log"
            fi
        fi
    fi

    # c. the GUI, offscreen, with the recording as a virtual microphone
    log "hearken gui --mic-file /tmp/q.wav --quit-after-turns 1 --screenshot /tmp/shot.png"
    hearken_run gui "$T_GUI" gui --mic-file /tmp/q.wav --quit-after-turns 1 --screenshot /tmp/shot.png
    if common_ok gui "$T_GUI"; then
        shot="$ROOT/tmp/shot.png"
        if [[ ! -f $shot ]]; then
            fail gui "exit 0 but no screenshot at /tmp/shot.png" "$LOGS/gui.log"
        elif [[ $(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n') != 89504e470d0a1a0a ]]; then
            fail gui "/tmp/shot.png is not a PNG" "$LOGS/gui.log"
        elif (( $(stat -c %s "$shot") <= 10240 )); then
            fail gui "the screenshot is only $(stat -c %s "$shot") bytes (want > 10 KB)" "$LOGS/gui.log"
        else
            mkdir -p "$OUT_DIR"; cp -f "$shot" "$OUT_DIR/screenshot.png"
            pass "gui         exit 0, $ELAPSED s, screenshot $(( $(stat -c %s "$shot") / 1024 )) KB -> $OUT_DIR/screenshot.png"
        fi
    fi
else
    for c in coldstart selftest listen gui; do skip "$c" "the install check failed"; done
fi

summary
exit "$FAILED"
