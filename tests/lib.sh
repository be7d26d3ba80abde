# Shared helpers for the TAP integration scripts (bash).
#
#   . "$SB_SRC/tests/lib.sh"
#   plan 3
#   ok "desc" cmd args...        passes when the command exits 0
#   nok "desc" cmd args...       passes when the command exits non-zero
#   is "desc" "$got" "$want"
#   sb_vault NAME                creates $T/NAME (passphrase in $T/pass)
#   sb_mount VAULT MOUNTPOINT    mounts; unmounted on exit
#   sb_daemon PIDFILE            registers a daemon to kill on exit
#
# $T is a fresh temporary directory, removed on exit; every mount made with
# sb_mount is unmounted and every registered daemon killed, also when the
# script fails or is interrupted.

set -u
: "${SEALBOX:?SEALBOX must point at the sealbox binary (run through make check)}"
: "${SB_SRC:?SB_SRC must point at the source tree}"
SB_BUILD=${SB_BUILD:-$SB_SRC/build}
export SEALBOX_KDF=${SEALBOX_KDF:-min}

T=$(mktemp -d "${TMPDIR:-/tmp}/sealbox-test.XXXXXX")
_sb_n=0
_sb_failed=0
_sb_mounts=
_sb_pids=

sb_cleanup() {
	set +e
	for m in $_sb_mounts; do
		"$SEALBOX" umount "$m" >/dev/null 2>&1 ||
			fusermount3 -uz "$m" >/dev/null 2>&1 ||
			umount -l "$m" >/dev/null 2>&1
	done
	for p in $_sb_pids; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	for p in $_sb_pids; do
		[ -f "$p" ] || continue
		pid=$(cat "$p")
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$pid" 2>/dev/null
	done
	rm -rf "$T"
}
trap 'sb_cleanup' EXIT
trap 'exit 130' INT TERM HUP

plan() { echo "1..$1"; }

_sb_result() {
	_sb_n=$((_sb_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $_sb_n - $2"
	else
		echo "not ok $_sb_n - $2"
		_sb_failed=$((_sb_failed + 1))
	fi
}

ok() {
	desc=$1; shift
	"$@" >"$T/.out" 2>&1
	rc=$?
	_sb_result $rc "$desc"
	[ $rc = 0 ] || sed 's/^/# /' "$T/.out" | head -20
	return 0
}

nok() {
	desc=$1; shift
	"$@" >"$T/.out" 2>&1
	rc=$?
	[ $rc != 0 ] && r=0 || r=1
	_sb_result $r "$desc"
	[ $r = 0 ] || sed 's/^/# /' "$T/.out" | head -20
	return 0
}

is() {
	if [ "$2" = "$3" ]; then
		_sb_result 0 "$1"
	else
		_sb_result 1 "$1"
		printf '#   got: %s\n# want: %s\n' "$2" "$3" | head -20
	fi
}

skip_all() { echo "1..0 # SKIP $1"; exit 0; }

diag() { echo "# $*"; }

# Fails the script (stops it) with a message.
bail() { echo "Bail out! $*"; exit 1; }

sb_passfile() {
	[ -f "$T/pass" ] || printf 'correct horse battery staple\n' >"$T/pass"
	echo "$T/pass"
}

sb_vault() {
	"$SEALBOX" init --device "${2:-laptop}" --passphrase-file "$(sb_passfile)" \
		--recovery-file "$T/$1.recovery" "$T/$1" >"$T/$1.init.log" 2>&1 ||
		bail "sealbox init $1 failed: $(cat "$T/$1.init.log")"
}

sb_mount() {
	mkdir -p "$2"
	"$SEALBOX" mount --passphrase-file "$(sb_passfile)" "$1" "$2" ||
		bail "sealbox mount $1 $2 failed"
	_sb_mounts="$2 $_sb_mounts"
}

sb_umount() {
	"$SEALBOX" umount "$1"
}

sb_daemon() { _sb_pids="$_sb_pids $1"; }

# A free TCP port on 127.0.0.1.
sb_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

sb_done() {
	[ "$_sb_failed" = 0 ]
}
