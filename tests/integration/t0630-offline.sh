#!/bin/bash
# Offline and killed syncs (issue 4, "How it is checked", last bullet).
#
# (a) The remote (git daemon on 127.0.0.1) goes away while the user keeps
#     working on a mounted device: the daemon commits anyway, `sealbox sync`
#     fails with one line saying the remote cannot be reached, `sealbox
#     status` shows the commits waiting and the error; once the server is
#     back on the same port the daemon pushes by itself (its backoff
#     retries), and a second device gets everything.
# (b) The daemon is killed (-9) while a sync applies a large incoming change
#     (1,000 messages, and bulk flag changes, moves and deletes), at several
#     delays, with and without local changes to merge: after `sealbox
#     umount` and a new mount the tree is the one before or the one after
#     (never half-merged), the next sync completes, both devices hold the
#     same tree, main equals the remote's, fsck is clean. The same with a
#     direct (unmounted) `sealbox sync` killed mid-way.
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"

"$SEALBOX" help 2>&1 | grep -q '^  sync ' || skip_all "no sealbox sync yet"
. "$SB_SRC/tests/integration/lib-servers.sh"
srv_need_daemon
plan 93

P=$(sb_passfile)
CONVERGE=$SB_SRC/tests/tools/converge.py
SRV=$T/srv
R=$SRV/remote.git
mkdir -p "$SRV"
srv_repo "$R"

# --- the git daemon (lib-servers.sh); restarted on the same port --------
srv_daemon "$SRV"
PORT=$GITD_PORT
URL=$GITD_URL/remote.git
port_open() {
	python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
		"$PORT" 2>/dev/null
}
gitd_stop() {
	srv_stop gitd
	srv_stop gitd2
	for _ in $(seq 100); do port_open || return 0; sleep 0.1; done
	return 1
}
# srv_daemon picks a new port; the client must find the server where it was.
gitd_restart() {
	/usr/lib/git-core/git-daemon --listen=127.0.0.1 --port="$PORT" \
		--reuseaddr --export-all --enable=receive-pack \
		--base-path="$SRV" "$SRV" >>"$T/gitd2.log" 2>&1 &
	echo $! >"$T/gitd2.pid"
	sb_daemon "$T/gitd2.pid"
	for _ in $(seq 100); do port_open && return 0; sleep 0.1; done
	return 1
}

remote_main() { git --git-dir="$R" rev-parse -q --verify refs/heads/main; }
main_of() { git -C "$1" rev-parse -q --verify refs/heads/main; }
msgs() { # msgs DIR TAG N: N messages delivered into DIR/new
	for i in $(seq "$3"); do
		printf 'Subject: %s %s\nMessage-ID: <%s-%s@x>\n\noffline %s\n' \
			"$2" "$i" "$2" "$i" "$i" >"$1/tmp/$2-$i.host"
		mv "$1/tmp/$2-$i.host" "$1/new/$2-$i.host"
	done
}
# Waits (at most $1 seconds) until the command in the rest succeeds.
wait_for() {
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

# Waits (at most 30 s) until VAULT's main has not moved for 3 s.
settle() {
	local last now same=0 n=0
	last=$(main_of "$1")
	while [ $same -lt 6 ] && [ $n -lt 60 ]; do
		sleep 0.5
		now=$(main_of "$1")
		[ "$now" = "$last" ] && same=$((same + 1)) || same=0
		last=$now n=$((n + 1))
	done
}

# ======================================================================
# (a) offline
VA=$T/va MA=$T/a VB=$T/vb MB=$T/b
ok "init with a git:// remote on 127.0.0.1" \
	"$SEALBOX" init --device alpha --remote "$URL" --passphrase-file "$P" \
	--recovery-file "$T/rec" "$VA"
[ -d "$VA/.git" ] || bail "init failed"
git -C "$VA" config sealbox.commitDelay 1
git -C "$VA" config sealbox.fetchInterval 2
sb_mount "$VA" "$MA"
mkdir -p "$MA"/mail/{cur,new,tmp}
msgs "$MA/mail" base 3
ok "the first sync pushes to git daemon" "$SEALBOX" sync "$MA"
is "the remote has alpha's main" "$(remote_main)" "$(main_of "$VA")"
ok "beta clones over git://" \
	"$SEALBOX" clone --device beta --passphrase-file "$P" \
	--recovery-file "$T/rec" "$URL" "$VB"
[ -d "$VB/.git" ] || bail "clone failed"
git -C "$VB" config sealbox.fetchInterval 3600
ok "alpha's daemon fetches beta's enrolment by itself" \
	wait_for 20 bash -c '[ "$(git -C "$1" rev-parse refs/heads/main)" = "$(git --git-dir="$2" rev-parse main)" ]' _ "$VA" "$R"

ok "git daemon stops" gitd_stop
before=$(main_of "$VA")
msgs "$MA/mail" offline1 10
ok "offline: the daemon still commits the new messages" \
	wait_for 20 bash -c '[ "$(git -C "$1" rev-parse refs/heads/main)" != "$2" ]' _ "$VA" "$before"

"$SEALBOX" sync "$MA" >"$T/sync.out" 2>"$T/sync.err"
rc=$?
ok "offline: sealbox sync exits non-zero" test "$rc" != 0
is "offline: ... with one line on stderr" "$(wc -l <"$T/sync.err")" 1
ok "offline: ... saying the remote cannot be reached" \
	grep -qE "^sealbox: cannot fetch from $URL: .*Connection refused; the remote cannot be reached" "$T/sync.err"
diag "sync said: $(cat "$T/sync.err")"
"$SEALBOX" status "$VA" >"$T/status" 2>&1
ok "offline: sealbox status shows the commits waiting (ahead)" \
	grep -qE "^ahead [1-9][0-9]*, behind 0" "$T/status"
ok "offline: sealbox status shows the error" \
	grep -qE "^last error: cannot fetch from $URL: .*the remote cannot be reached" "$T/status"
sed 's/^/#   status: /' "$T/status" | head -12

# The user keeps working after the failed sync.
mid=$(main_of "$VA")
msgs "$MA/mail" offline2 5
mkdir -p "$MA"/mail/.Offline/{cur,new,tmp}
msgs "$MA/mail/.Offline" offline3 3
mv "$MA/mail/new/base-1.host" "$MA/mail/cur/base-1.host:2,S"
ok "offline: the later changes are committed too" \
	wait_for 20 bash -c '[ "$(git -C "$1" rev-parse refs/heads/main)" != "$2" ]' _ "$VA" "$mid"
settle "$VA"
pending=$(main_of "$VA")
nok "offline: the remote does not have them" \
	git --git-dir="$R" cat-file -e "$pending^{commit}"

ok "git daemon starts again on the same port" gitd_restart
start=$(date +%s)
ok "back online: alpha's commits reach the remote without a manual sync" \
	wait_for 90 git --git-dir="$R" merge-base --is-ancestor "$pending" main
diag "pushed $(($(date +%s) - start)) s after the server came back"
"$SEALBOX" status "$VA" >"$T/status" 2>&1
nok "back online: status no longer shows the error" \
	grep -q "cannot be reached" "$T/status"
ok "back online: status shows nothing waiting" \
	grep -qE "^ahead 0, behind 0" "$T/status"

ok "beta syncs (unmounted) and gets everything" \
	"$SEALBOX" sync --passphrase-file "$P" "$VB"
git -C "$VB" config sealbox.commitDelay 2
sb_mount "$VB" "$MB"
ok "beta's tree equals alpha's" diff -r "$MA" "$MB"
ok "the read mark made offline arrived" test -f "$MB/mail/cur/base-1.host:2,S"
ok "the folder made offline arrived" test -d "$MB/mail/.Offline/tmp"

# ======================================================================
# (b) killed during a sync
#
# Alpha makes a large change and pushes it; beta's sync of it is killed
# after a delay.  The first round is not killed: it measures how long such
# a sync takes, and the delays are fractions of that.
daemon_pid() {
	local p
	p=$(cat "$1/.git/sealbox/mount.pid" 2>/dev/null)
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && { echo "$p"; return; }
	pgrep -f "sealbox mount .*$2\$" | head -1
}
snap() { python3 "$CONVERGE" snapshot "$1"; }
# A reader goes through every file of beta's mount while beta syncs: each
# read gives a whole version, the one before or the one alpha pushed
# (applying is atomic per file).
reader_start() {
	snap "$MA" >"$T/asnap"
	rm -f "$T/stop"
	python3 "$CONVERGE" reader "$MB" "$T/stop" "$T/before" "$T/asnap" \
		>"$T/reader.out" 2>&1 &
	reader=$!
}
reader_check() {
	touch "$T/stop"
	wait "$reader"
	local rc=$?
	ok "$1: every file read during the sync was a whole version" test $rc = 0
	[ $rc = 0 ] && diag "$1: $(tail -1 "$T/reader.out")" ||
		sed 's/^/#   /' "$T/reader.out" | head -12
}
# Says whether the kill came while the store was being changed.
journal() {
	grep -q '^applying ' "$VB/.git/sealbox/sync-state" 2>/dev/null &&
		diag "round $round: killed while applying (the journal names the checkout)"
	return 0
}
bulk() { python3 "$CONVERGE" bulk "$@"; }
# Alpha's big change number $1 (1: 1,000 new messages; then flags, a move,
# deletes and new ones, in turn).
big_change() {
	case $(($1 % 4)) in
	1) bulk "$MA" deliver ".Big$1" 1000 "k$1" ;;
	2) bulk "$MA" seen ".Big$(($1 - 1))" ;;
	3) bulk "$MA" move ".Big$(($1 - 2))" ".Moved$1" ;;
	0) bulk "$MA" delete ".Moved$(($1 - 1))" 600 &&
	   bulk "$MA" deliver ".Moved$(($1 - 1))" 400 "k$1" ;;
	esac
}
# Alpha's config: quiet from here on (commits when asked).
"$SEALBOX" umount "$MA"
git -C "$VA" config sealbox.commitDelay 3600
git -C "$VA" config sealbox.commitMax 3600
git -C "$VA" config sealbox.fetchInterval 3600
sb_mount "$VA" "$MA"
"$SEALBOX" umount "$MB"
git -C "$VB" config sealbox.commitDelay 3600
git -C "$VB" config sealbox.commitMax 3600
sb_mount "$VB" "$MB"

# After a killed sync: the restarted (or next) sync completes, and both
# devices end with the same tree and the remote's main.
converged() { # converged WHAT
	ok "$1: alpha syncs" "$SEALBOX" sync "$MA"
	ok "$1: beta's tree equals alpha's" diff -r "$MA" "$MB"
	is "$1: beta's main is the remote's" "$(main_of "$VB")" "$(remote_main)"
	is "$1: alpha's main is the remote's" "$(main_of "$VA")" "$(remote_main)"
}

# Round 1, not killed: the time a 1,000-message sync takes.
big_change 1
ok "round 1: alpha pushes 1,000 messages" "$SEALBOX" sync "$MA"
snap "$MB" >"$T/before"
reader_start
t0=$(date +%s%N)
ok "round 1: beta syncs them (not killed)" "$SEALBOX" sync "$MB"
full=$((($(date +%s%N) - t0) / 1000000))
reader_check "round 1"
diag "a 1,000-message sync takes $full ms on beta"
[ "$full" -ge 200 ] || full=200
converged "round 1"

# Rounds 2..5: killed after 10, 30, 55 and 85 % of that time; rounds 3 and
# 5 have local changes on beta, so the sync merges.
round=1
for pct in 8 25 45 70; do
	round=$((round + 1))
	big_change $round
	ok "round $round: alpha pushes a large change" "$SEALBOX" sync "$MA"
	if [ $((round % 2)) = 1 ]; then
		msgs "$MB/mail" "local$round" 3
		f=$(ls "$MB/mail/new" | head -1)
		mv "$MB/mail/new/$f" "$MB/mail/cur/$f:2,F"
	fi
	snap "$MB" >"$T/before"
	reader_start
	pid=$(daemon_pid "$VB" "$MB")
	[ -n "$pid" ] || bail "beta's daemon is not running"
	delay=$(printf '%d.%03d' $((full * pct / 100 / 1000)) $((full * pct / 100 % 1000)))
	timeout 120 "$SEALBOX" sync "$MB" >"$T/ksync.out" 2>&1 &
	client=$!
	sleep "$delay"
	kill -9 "$pid"
	wait "$client"
	crc=$?
	diag "round $round: killed after $delay s; the sync client exited $crc: $(tail -1 "$T/ksync.out")"
	journal
	reader_check "round $round"
	ok "round $round: the sync client returns (no hang)" test "$crc" != 124
	ok "round $round: sealbox umount cleans up after the killed daemon" \
		"$SEALBOX" umount "$MB"
	# The restarted daemon finishes or undoes the interrupted apply
	# before the mount shows anything; with the server away, its start-up
	# sync cannot fetch, so what the mount shows then is that state.
	gitd_stop || bail "git daemon does not stop"
	ok "round $round: beta mounts again" \
		"$SEALBOX" mount --passphrase-file "$P" "$VB" "$MB"
	mountpoint -q "$MB" || bail "beta does not mount after the kill"
	snap "$MB" >"$T/restarted"
	gitd_restart || bail "git daemon does not start again"
	ok "round $round: beta's next sync completes" "$SEALBOX" sync "$MB"
	snap "$MB" >"$T/after"
	ok "round $round: after the restart beta shows the tree before or after the sync, never half of it" \
		bash -c 'cmp -s "$1" "$2" || cmp -s "$1" "$3" || { diff "$2" "$1" | head -5; diff "$3" "$1" | head -5; exit 1; }' _ \
		"$T/restarted" "$T/before" "$T/after"
	cmp -s "$T/restarted" "$T/before" && diag "round $round: restarted with the tree before the sync" ||
		diag "round $round: restarted with the tree after the sync"
	# A daemon that started offline retries with backoff by itself; a
	# fresh start makes the next round's sync the one that gets killed.
	"$SEALBOX" umount "$MB" && "$SEALBOX" mount --passphrase-file "$P" "$VB" "$MB" ||
		bail "beta does not mount again"
	converged "round $round"
done

ok "sealbox umount beta" "$SEALBOX" umount "$MB"
ok "fsck of beta is clean after the killed daemons" \
	"$SEALBOX" fsck --passphrase-file "$P" "$VB"

# Direct (unmounted) syncs killed mid-way.
for pct in 20 60; do
	round=$((round + 1))
	big_change $round
	ok "round $round: alpha pushes a large change" "$SEALBOX" sync "$MA"
	delay=$(printf '%d.%03d' $((full * pct / 100 / 1000)) $((full * pct / 100 % 1000)))
	"$SEALBOX" sync --passphrase-file "$P" "$VB" >"$T/dsync.out" 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	diag "round $round: direct sync killed after $delay s: $(tail -1 "$T/dsync.out")"
	journal
	ok "round $round: the sync after the killed one completes" \
		"$SEALBOX" sync --passphrase-file "$P" "$VB"
	ok "round $round: fsck of beta is clean" \
		"$SEALBOX" fsck --passphrase-file "$P" "$VB"
	sb_mount "$VB" "$MB"
	converged "round $round"
	ok "round $round: unmount beta" "$SEALBOX" umount "$MB"
done

ok "unmount alpha" "$SEALBOX" umount "$MA"
ok "fsck of alpha is clean" "$SEALBOX" fsck --passphrase-file "$P" "$VA"
sb_done
