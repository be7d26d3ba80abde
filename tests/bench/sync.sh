#!/bin/sh
# The sync bench (issue 4, "Performance"; docs/bench.md, "Sync"): sealbox's
# sync path through the mounted daemon, measured in one run:
#
#  1. first import, commit and push of the corpus: sealbox (fresh vault with
#     a file:// bare remote, `cp -a` into the mount, `sealbox sync MNT` until
#     the remote has it) against gocryptfs plus the git command line (`cp -a`
#     into a gocryptfs mount whose cipher dir is a git work tree, `git add
#     -A`, `git commit`, `git push` to a bare repository); target: sealbox at
#     most half the time;
#  2. commit of one changed message in mounted vaults of 10,000 and 100,000
#     small messages in one folder: from the write to main moving and to
#     `sealbox sync MNT` returning, next to bench-commit's in-process numbers;
#     growth of .git/objects for that commit (target <= 64 KiB);
#  3. fetch and apply of 1,000 remote changes (new messages and flag
#     renames made on device A) on a mounted clone B: until B's `sealbox
#     sync` returns and until all of them show in B's mount.
#
#   sh tests/bench/sync.sh            as root; full size about 20 minutes here
#   BENCH_MESSAGES=1000 BENCH_SYNC_SIZES="1000 10000" sh tests/bench/sync.sh
#
# Environment (all optional):
#   BENCH_DIR             work directory on the disk under test
#                         (/var/tmp/sealbox-bench); the corpus is shared with
#                         tests/bench/run, this script works in BENCH_DIR/sync
#                         and writes BENCH_DIR/sync-results.md
#   BENCH_MESSAGES        corpus size for parts 1 and 3 (10000)
#   BENCH_SEED            corpus seed (1)
#   BENCH_SYNC_PARTS      which parts ("import commit fetch")
#   BENCH_SYNC_SIZES      vault sizes for part 2 ("10000 100000")
#   BENCH_SYNC_ROUNDS     rounds per size and change in part 2; median (5)
#   BENCH_SYNC_CHANGES    new messages pushed by device A in part 3 (1000)
#   BENCH_SYNC_RENAMES    flag renames pushed with them (200)
#   BENCH_SYNC_INPROC     bench-commit's Markdown output to quote next to
#                         part 2 (tests/bench/run passes its own); "run":
#                         run bench-commit here (-r 3); "no": leave it out.
#                         Default: run when bench-commit is built
#   BENCH_TIMEOUT         seconds before one timed step is abandoned (900)
#   BENCH_KEEP=1          keep BENCH_DIR/sync after the run
#   SEALBOX SB_BUILD SB_SRC   set by make; defaults from this script's place
#
# Every mount is unmounted and every daemon started here stopped on exit,
# also on failure or interrupt.

set -u

SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SB_BUILD=${SB_BUILD:-$SB_SRC/build}
SEALBOX=${SEALBOX:-$SB_SRC/sealbox}
PYTHON=${PYTHON:-python3}
[ "$PYTHON" = python3 ] && [ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
N=${BENCH_MESSAGES:-10000}
SEED=${BENCH_SEED:-1}
PARTS=${BENCH_SYNC_PARTS:-import commit fetch}
SIZES=${BENCH_SYNC_SIZES:-10000 100000}
ROUNDS=${BENCH_SYNC_ROUNDS:-5}
CHANGES=${BENCH_SYNC_CHANGES:-1000}
RENAMES=${BENCH_SYNC_RENAMES:-200}
TMO=${BENCH_TIMEOUT:-900}
export SEALBOX SEALBOX_KDF="${SEALBOX_KDF:-min}"
export LC_ALL=C
# git for the gocryptfs peer and for the checks: no user config, no hooks
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.org
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.org

die() {
	echo "bench-sync: $*" >&2
	exit 1
}

for v in "$N" "$ROUNDS" "$CHANGES" "$RENAMES" "$TMO" $SIZES; do
	case $v in '' | *[!0-9]*) die "counts must be numbers (got '$v')" ;; esac
done
[ "$ROUNDS" -ge 1 ] || die "BENCH_SYNC_ROUNDS must be at least 1"
[ -x "$SEALBOX" ] || die "$SEALBOX is not built (make DEVELOPER=1)"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found (make deps)"

BENCH_DIR=${BENCH_DIR:-/var/tmp/sealbox-bench}
mkdir -p "$BENCH_DIR" || die "cannot create $BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd -P)
case $BENCH_DIR in *[[:space:]]*) die "BENCH_DIR must not contain spaces" ;; esac
SW=$BENCH_DIR/sync
BIN=$SW/bin
CORPUS=$BENCH_DIR/corpus-$N-$SEED
LOG=$BENCH_DIR/sync.log
RES=$SW/results.tsv
NOTES=$SW/notes.txt
OUT=$BENCH_DIR/sync-results.md
P=$SW/pass

# --- mounts and daemons, undone in the trap ----------------------------------

MOUNTS=	# kind:mountpoint, kind sealbox or fuse
PIDS=	# daemons started here

is_mounted() {
	awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo
}

stop_pid() {
	kill -0 "$1" 2>/dev/null || return 0
	kill "$1" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.3
	done
	kill -9 "$1" 2>/dev/null
}

# unmount KIND MNT: the peer's own way, then lazily as the last resort;
# a sealbox daemon (pid in VAULT/.git/sealbox/mount.pid, kept in PIDS) is
# waited for and stopped by the caller through PIDS.
unmount() {
	is_mounted "$2" || return 0
	if [ "$1" = sealbox ]; then
		timeout 300 "$SEALBOX" umount "$2" >>"$LOG" 2>&1
	else
		fusermount3 -u "$2" >>"$LOG" 2>&1
	fi
	is_mounted "$2" || return 0
	sleep 1
	fusermount3 -u "$2" >>"$LOG" 2>&1 ||
		fusermount3 -uz "$2" >>"$LOG" 2>&1 || umount -l "$2" >>"$LOG" 2>&1
	! is_mounted "$2"
}

cleanup() {
	set +e
	for e in $MOUNTS; do
		unmount "${e%%:*}" "${e#*:}"
	done
	for p in $PIDS; do
		stop_pid "$p"
	done
	MOUNTS=
	PIDS=
	if [ "${BENCH_KEEP:-0}" != 1 ] && [ -d "$SW" ]; then
		# never remove a tree something is still mounted in
		grep -qF " $SW/" /proc/self/mountinfo || rm -rf "$SW"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

log() {
	echo "$*" >&2
	echo "$*" >>"$LOG"
}

note() {
	log "note: $*"
	echo "$*" >>"$NOTES"
}

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
record() { printf '%s\t%s\n' "$1" "$2" >>"$RES"; }

HZ=$(getconf CLK_TCK)
cpu_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null
}

DROP=no
[ -w /proc/sys/vm/drop_caches ] && DROP=yes

# settle [DIR...]: nothing dirty in flight, caches dropped, DIRs read back
# in (the corpus before a copy), as tests/bench/run does before its rows.
settle() {
	sync
	[ "$DROP" = yes ] && echo 3 >/proc/sys/vm/drop_caches
	for d in "$@"; do
		find "$d" -type f -print0 | xargs -0 -r cat >/dev/null
	done
	return 0
}

# timed KEY CMD...: runs CMD (output to the log) under the step timeout and
# records KEY's seconds, or FAIL / TIMEOUT; returns CMD's status.
timed() {
	key=$1
	shift
	log "  $key"
	tt0=$(now)
	timeout -k 10 "$TMO" "$@" >>"$LOG" 2>&1
	rc=$?
	tt1=$(now)
	if [ "$rc" = 0 ]; then
		record "$key" "$(secs "$tt0" "$tt1")"
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		record "$key" TIMEOUT
		note "$key did not finish within ${TMO}s"
	else
		record "$key" FAIL
		note "$key failed (exit $rc); see $LOG"
	fi
	return "$rc"
}

# sb_new NAME [DEVICE]: a fresh vault $SW/NAME with the bare remote
# $SW/NAME.git (file://)
sb_new() {
	git init -q --bare -b main "$SW/$1.git" >>"$LOG" 2>&1 || return 1
	"$SEALBOX" init --device "${2:-alpha}" --remote "file://$SW/$1.git" \
		--passphrase-file "$P" --recovery-file "$SW/$1.recovery" \
		"$SW/$1" >>"$LOG" 2>&1
}

# quiet VAULT: the daemon commits and fetches only when asked
quiet() {
	git -C "$1" config sealbox.commitDelay 3600 &&
		git -C "$1" config sealbox.commitMax 3600 &&
		git -C "$1" config sealbox.fetchInterval 3600
}

# sb_mount VAULT MNT: mounts; sets DPID to the daemon's pid
sb_mount() {
	mkdir -p "$2"
	MOUNTS="sealbox:$2 $MOUNTS"
	"$SEALBOX" mount --passphrase-file "$P" "$1" "$2" >>"$LOG" 2>&1 ||
		return 1
	is_mounted "$2" || return 1
	DPID=$(head -n 1 "$1/.git/sealbox/mount.pid" 2>/dev/null)
	case $DPID in
	'' | *[!0-9]*) DPID= ;;
	*) PIDS="$PIDS $DPID" ;;
	esac
	# `sealbox sync MNT` goes through the daemon's control socket
	for _ in $(seq 50); do
		[ -S "$1/.git/sealbox/control.sock" ] && return 0
		sleep 0.1
	done
	note "the daemon serving $2 has no control socket ($1/.git/sealbox/control.sock): is the sync service started by sealbox mount (cmd/mount.c)?"
}

# sb_umount MNT: sealbox umount (a final sync), and the daemon gone
sb_umount() {
	pid=${2:-}
	unmount sealbox "$1" || return 1
	[ -z "$pid" ] || for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
}

head_of() { git --git-dir="$1" rev-parse -q --verify refs/heads/main 2>/dev/null; }

# sb_sync_until MNT VAULT REMOTE: `sealbox sync MNT` until the remote's
# main is the vault's and nothing was left for a next commit (at most 5
# syncs); a script in $BIN, so that timeout(1) can run it
sb_sync_until() { sh "$BIN/sync-until.sh" "$@"; }

count_files() { find "$1" -type f | wc -l; }

# --- helpers ------------------------------------------------------------------

write_helpers() {
	mkdir -p "$BIN"
	cat >"$BIN/sync-until.sh" <<'EOF'
i=0
while [ "$i" -lt 5 ]; do
	i=$((i + 1))
	# each line of the daemon's report with the time it arrived (ns)
	out=$({ "$SEALBOX" sync "$1" 2>&1; echo "exit $?"; } |
		while IFS= read -r l; do echo "$(date +%s%N) $l"; done)
	echo "$out"
	case $out in *" exit 0") ;; *) exit 1 ;; esac
	case $out in *"changed here while syncing"*) continue ;; esac
	h=$(git --git-dir="$2/.git" rev-parse -q --verify refs/heads/main) &&
		[ "$h" = "$(git --git-dir="$3" rev-parse -q --verify refs/heads/main)" ] &&
		exit 0
done
echo "the remote does not have the vault's main after $i syncs"
exit 1
EOF
	# gen.py DIR COUNT START [new]: small messages (2-8 KiB, as
	# bench-commit makes them) in DIR, named as a Maildir delivery would;
	# "new": without the info part (for new/). Prints the seconds.
	cat >"$BIN/gen.py" <<'EOF'
import os, random, sys, time
d, n, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
new = len(sys.argv) > 4 and sys.argv[4] == "new"
rnd = random.Random(start)
words = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do "
         "eiusmod tempor incididunt ut labore et dolore magna aliqua").split()
os.makedirs(d, exist_ok=True)
t0 = time.monotonic()
for i in range(start, start + n):
    want = rnd.randrange(2048, 8192)
    head = (f"From: sender{i % 977}@example.org\nTo: me@example.org\n"
            f"Subject: message {i}\nMessage-ID: <{i}.{rnd.getrandbits(48)}@bench>\n"
            f"Date: Mon, 01 Jan 2024 00:00:00 +0000\n\n")
    body = []
    size = len(head)
    while size < want:
        line = " ".join(rnd.choice(words) for _ in range(12)) + "\n"
        body.append(line)
        size += len(line)
    name = f"{1600000000 + i}.M{i * 7 % 1000000}P{1000 + i % 30000}.bench.example"
    if not new:
        name += ":2,S"
    with open(os.path.join(d, name), "w") as f:
        f.write(head + "".join(body))
print("%.3f" % (time.monotonic() - t0))
EOF
	# one.py SEALBOX MNT GITDIR new|flag I: one changed message in
	# MNT/mail/cur (a new message I, or a flag rename of message I), then
	# `sealbox sync MNT`; prints the milliseconds from before the change
	# to main moving (polled every 0.5 ms) and to the sync returning.
	cat >"$BIN/one.py" <<'EOF'
import os, subprocess, sys, time
sb, mnt, git, op, i = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
cur = os.path.join(mnt, "mail", "cur")
base = f"{1600000000 + i}.M{i * 7 % 1000000}P{1000 + i % 30000}.bench.example"
ref = os.path.join(git, "refs", "heads", "main")
def head():
    try:
        with open(ref) as f:
            return f.read()
    except FileNotFoundError:
        return None
body = (f"From: one@example.org\nTo: me@example.org\nSubject: one {i}\n"
        f"Message-ID: <{i}.one@bench>\n\n" + "one changed message\n" * 150)
h0 = head()
t0 = time.monotonic()
if op == "new":
    with open(os.path.join(cur, base + ":2,S"), "w") as f:
        f.write(body)
else:
    os.rename(os.path.join(cur, base + ":2,S"), os.path.join(cur, base + ":2,FS"))
p = subprocess.Popen([sb, "sync", mnt], stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT)
moved = None
while p.poll() is None:
    if moved is None and head() != h0:
        moved = time.monotonic()
    time.sleep(0.0005)
t2 = time.monotonic()
out = p.stdout.read().decode(errors="replace").strip().replace("\n", "; ")
if moved is None and head() != h0:
    moved = t2
if p.returncode:
    print(f"FAIL FAIL sync exit {p.returncode}: {out}")
elif moved is None:
    print(f"NOCOMMIT {(t2 - t0) * 1e3:.1f} main did not move: {out}")
else:
    print(f"{(moved - t0) * 1e3:.1f} {(t2 - t0) * 1e3:.1f}")
EOF
	# flags.py DIR COUNT: toggles F on the first COUNT messages of DIR
	cat >"$BIN/flags.py" <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
names = sorted(os.listdir(d))[:n]
for f in names:
    base, _, fl = f.partition(":2,")
    os.rename(os.path.join(d, f),
              os.path.join(d, base + ":2," + "".join(sorted(set(fl) ^ {"F"}))))
print(len(names))
EOF
	# median.py: the median of the numbers on stdin (FAIL if one failed)
	cat >"$BIN/median.py" <<'EOF'
import sys
v = sys.stdin.read().split()
if not v or any(not x[0].isdigit() for x in v):
    print(next((x for x in v if not x[0].isdigit()), "-"))
else:
    f = sorted(float(x) for x in v)
    print(f"{f[(len(f) - 1) // 2]:.1f}")
EOF
}

# the corpus, shared with tests/bench/run (same stamp: corpus.py's cksum)
make_corpus() {
	sum=$(cksum <"$SB_SRC/tests/bench/corpus.py")
	if [ "$(head -n 1 "$CORPUS.stamp" 2>/dev/null)" != "$sum" ] ||
		[ ! -d "$CORPUS" ]; then
		log "== corpus: $N messages, seed $SEED -> $CORPUS"
		rm -rf "$CORPUS" "$CORPUS.tmp" "$CORPUS.stamp"
		"$PYTHON" "$SB_SRC/tests/bench/corpus.py" --messages "$N" \
			--seed "$SEED" "$CORPUS.tmp" 2>"$SW/corpus.txt" ||
			die "corpus.py failed: $(cat "$SW/corpus.txt")"
		mv "$CORPUS.tmp" "$CORPUS"
		{ echo "$sum"; cat "$SW/corpus.txt"; } >"$CORPUS.stamp"
	fi
	record corpus_files "$(count_files "$CORPUS")"
	record corpus_mib "$(du -sm "$CORPUS" | cut -f1)"
}

# --- 1. first import ----------------------------------------------------------

# device A: the imported vault stays mounted at $SW/a for part 3
A_UP=no
import_sealbox() {
	log "== import: sealbox"
	sb_new va alpha || { note "sealbox init failed; see $LOG"; return 1; }
	sb_mount "$SW/va" "$SW/a" || { note "sealbox mount failed; see $LOG"; return 1; }
	A_PID=$DPID
	A_UP=yes
	echo 5 >"/proc/$A_PID/clear_refs" 2>/dev/null
	settle "$CORPUS"
	c0=$(cpu_ticks "$A_PID")
	t0=$(now)
	timed sb_copy cp -a "$CORPUS/." "$SW/a/" || return 1
	t1=$(now)
	timed sb_sync sh "$BIN/sync-until.sh" "$SW/a" "$SW/va" "$SW/va.git" || return 1
	# the daemon reports "committed ..." when its commit is done
	tc=$(awk '$2 == "committed" { print $1 }' "$LOG" | tail -n 1)
	[ -n "$tc" ] && [ "$tc" -gt "$t1" ] &&
		record sb_sync_commit "$(secs "$t1" "$tc")" &&
		record sb_sync_push "$(secs "$tc" "$(awk '$2 == "exit" { t = $1 } END { print t }' "$LOG")")"
	record sb_peak_mib "$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$A_PID/status" 2>/dev/null)"
	record sb_total "$(secs "$t0" "$(now)")"
	c1=$(cpu_ticks "$A_PID")
	[ -n "$c0" ] && [ -n "$c1" ] &&
		record sb_cpu "$(awk -v t=$((c1 - c0)) -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }')"
	record sb_commits "$(git -C "$SW/va" rev-list --count main)"
	record sb_remote_mib "$(du -sm "$SW/va.git" | cut -f1)"
	record sb_local_mib "$(du -sm "$SW/va/.git/objects" | cut -f1)"
	record sb_tree "$(git --git-dir="$SW/va.git" ls-tree -r main | wc -l)"
	record sb_backing "$(find "$SW/va" -path "$SW/va/.git" -prune -o -type f -print | wc -l)"
}

import_gocryptfs() {
	log "== import: gocryptfs + git"
	command -v gocryptfs >/dev/null ||
		{ note "gocryptfs not installed (make deps); its column is n/a"; return 1; }
	G=$SW/gc
	mkdir -p "$G/cipher" "$G/mnt"
	printf 'bench password\n' >"$G/pass"
	gocryptfs -q -init -scryptn 10 -passfile "$G/pass" "$G/cipher" >>"$LOG" 2>&1 ||
		{ note "gocryptfs -init failed"; return 1; }
	git init -q --bare -b main "$G/remote.git" &&
		git init -q -b main "$G/cipher" &&
		git -C "$G/cipher" remote add origin "$G/remote.git" ||
		{ note "git init failed"; return 1; }
	MOUNTS="fuse:$G/mnt $MOUNTS"
	gocryptfs -q -f -passfile "$G/pass" "$G/cipher" "$G/mnt" >>"$LOG" 2>&1 &
	GPID=$!
	PIDS="$PIDS $GPID"
	for _ in $(seq 300); do
		is_mounted "$G/mnt" && break
		kill -0 "$GPID" 2>/dev/null || break
		sleep 0.1
	done
	is_mounted "$G/mnt" || { note "gocryptfs did not mount"; return 1; }
	settle "$CORPUS"
	c0=$(cpu_ticks "$GPID")
	t0=$(now)
	timed gc_copy cp -a "$CORPUS/." "$G/mnt/" || return 1
	c1=$(cpu_ticks "$GPID")
	timed gc_add git -C "$G/cipher" add -A || return 1
	timed gc_commit git -C "$G/cipher" commit -q -m "import" || return 1
	timed gc_push git -C "$G/cipher" push -q origin main || return 1
	record gc_total "$(secs "$t0" "$(now)")"
	record gc_cpu "$(awk -v t=$((c1 - c0)) -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }')"
	record gc_commits "$(git -C "$G/cipher" rev-list --count main)"
	record gc_remote_mib "$(du -sm "$G/remote.git" | cut -f1)"
	record gc_local_mib "$(du -sm "$G/cipher/.git/objects" | cut -f1)"
	record gc_tree "$(git --git-dir="$G/remote.git" ls-tree -r main | wc -l)"
	record gc_backing "$(find "$G/cipher" -path "$G/cipher/.git" -prune -o -type f -print | wc -l)"
	unmount fuse "$G/mnt" || note "gocryptfs: $G/mnt would not unmount"
	stop_pid "$GPID"
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$G"
}

# --- 2. one changed message -----------------------------------------------------

commit_setup() {
	s=$1
	log "== commit: vault of $s messages"
	sb_new "v$s" alpha && quiet "$SW/v$s" ||
		{ note "sealbox init of the $s-message vault failed"; return 1; }
	sb_mount "$SW/v$s" "$SW/m$s" ||
		{ note "sealbox mount of the $s-message vault failed"; return 1; }
	eval "PID_$s=\$DPID"
	t=$("$PYTHON" "$BIN/gen.py" "$SW/m$s/mail/cur" "$s" 0 2>>"$LOG") ||
		{ note "writing $s messages failed"; return 1; }
	record "c${s}_write" "$t"
	timed "c${s}_first" sh "$BIN/sync-until.sh" "$SW/m$s" "$SW/v$s" "$SW/v$s.git" ||
		return 1
}

# one_round SIZE OP I: one measured change; records main/sync ms, growth
one_round() {
	s=$1 op=$2 i=$3
	sync
	f0=$(find "$SW/v$s/.git/objects" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
	b0=$(du -sb "$SW/v$s/.git/objects" | cut -f1)
	k0=$(du -sk "$SW/v$s/.git/objects" | cut -f1)
	o_r=$("$PYTHON" "$BIN/one.py" "$SEALBOX" "$SW/m$s" "$SW/v$s/.git" "$op" "$i" 2>&1)
	log "    $s $op $i: $o_r"
	f1=$(find "$SW/v$s/.git/objects" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
	b1=$(du -sb "$SW/v$s/.git/objects" | cut -f1)
	k1=$(du -sk "$SW/v$s/.git/objects" | cut -f1)
	set -- $o_r
	case ${1:-FAIL} in
	[0-9]*) ;;
	*) note "one changed message ($s, $op): $o_r" ;;
	esac
	printf '%s\n' "${1:-FAIL}" >>"$SW/c${s}_${op}_main"
	printf '%s\n' "${2:-FAIL}" >>"$SW/c${s}_${op}_sync"
	printf '%s\n' $((f1 - f0)) >>"$SW/c${s}_${op}_obj"
	printf '%s\n' $((b1 - b0)) >>"$SW/c${s}_${op}_grow"
	printf '%s\n' $(((k1 - k0) * 1024)) >>"$SW/c${s}_${op}_disk"
}

part_commit() {
	ok=
	for s in $SIZES; do
		commit_setup "$s" && ok="$ok $s"
	done
	# rounds alternate between the sizes, as bench-commit's do
	r=0
	while [ "$r" -lt "$ROUNDS" ]; do
		for s in $ok; do
			one_round "$s" new $((s + r))
			one_round "$s" flag "$r"
		done
		r=$((r + 1))
	done
	for s in $ok; do
		for op in new flag; do
			for k in main sync obj grow disk; do
				[ -f "$SW/c${s}_${op}_$k" ] || continue
				record "c${s}_${op}_$k" "$("$PYTHON" "$BIN/median.py" <"$SW/c${s}_${op}_$k")"
				record "c${s}_${op}_${k}_runs" "$(tr '\n' ' ' <"$SW/c${s}_${op}_$k")"
			done
		done
		record "c${s}_objects_mib" "$(du -sm "$SW/v$s/.git/objects" | cut -f1)"
		eval "pid=\$PID_$s"
		sb_umount "$SW/m$s" "$pid" || note "$SW/m$s would not unmount"
		[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$SW/v$s" "$SW/v$s.git" "$SW/m$s"
	done
}

# bench-commit's table, next to part 2
inproc() {
	case ${BENCH_SYNC_INPROC:-} in
	no) return 0 ;;
	'' | run)
		bc=$SB_BUILD/tests/bench/bench-commit
		if [ ! -x "$bc" ]; then
			note "bench-commit is not built ($bc): no in-process numbers"
			return 0
		fi
		log "== bench-commit (in-process), sizes $SIZES"
		# shellcheck disable=SC2086
		timeout "$TMO" "$bc" -d "$SW/bench-commit" -r 3 $SIZES \
			>"$SW/inproc.md" 2>>"$LOG" ||
			note "bench-commit failed; see $LOG"
		rm -rf "$SW/bench-commit"
		;;
	*)
		if [ -s "$BENCH_SYNC_INPROC" ]; then
			cp "$BENCH_SYNC_INPROC" "$SW/inproc.md"
		else
			note "no bench-commit output in $BENCH_SYNC_INPROC"
		fi
		;;
	esac
}

# --- 3. fetch and apply on a mounted clone -----------------------------------------

part_fetch() {
	if [ "$A_UP" != yes ]; then
		log "== fetch: device A (the corpus, untimed)"
		sb_new va alpha && sb_mount "$SW/va" "$SW/a" ||
			{ note "device A could not be set up"; return 1; }
		A_PID=$DPID
		A_UP=yes
		cp -a "$CORPUS/." "$SW/a/" &&
			sb_sync_until "$SW/a" "$SW/va" "$SW/va.git" >>"$LOG" 2>&1 ||
			{ note "device A: import failed"; return 1; }
	fi
	log "== fetch: device B, a clone"
	timed f_clone "$SEALBOX" clone --device beta --passphrase-file "$P" \
		--recovery-file "$SW/va.recovery" "file://$SW/va.git" "$SW/vb" ||
		return 1
	quiet "$SW/vb"
	sb_mount "$SW/vb" "$SW/b" || { note "mounting device B failed"; return 1; }
	B_PID=$DPID
	# A picks up B's enrolment; B starts level with the remote
	sb_sync_until "$SW/a" "$SW/va" "$SW/va.git" >>"$LOG" 2>&1 &&
		sb_sync_until "$SW/b" "$SW/vb" "$SW/va.git" >>"$LOG" 2>&1 ||
		{ note "the first syncs of A and B failed"; return 1; }
	# untimed: the clone shows what part 1 imported
	if [ "$(head_of "$SW/va.git")" = "$(head_of "$SW/vb/.git")" ] &&
		diff -r -q "$CORPUS" "$SW/b" >"$SW/diff.out" 2>&1; then
		record f_check_clone same
	else
		record f_check_clone "$(wc -l <"$SW/diff.out") differences"
		note "device B differs from the corpus: $(head -n 3 "$SW/diff.out" | tr '\n' ';')"
	fi
	new0=$(find "$SW/b/mail/new" -type f | wc -l)
	flagged0=$(find "$SW/b/mail/cur" -name '*:2,*F*' | wc -l)
	# a mail client has the folders open on B: names and attributes cached
	ls -lR "$SW/b/mail" >/dev/null

	log "  device A: $CHANGES new messages, $RENAMES flag renames"
	"$PYTHON" "$BIN/gen.py" "$SW/a/mail/new" "$CHANGES" 5000000 new >>"$LOG" 2>&1 &&
		n=$("$PYTHON" "$BIN/flags.py" "$SW/a/mail/cur" "$RENAMES" 2>>"$LOG") ||
		{ note "device A: changes failed"; return 1; }
	flagged1=$(find "$SW/a/mail/cur" -name '*:2,*F*' | wc -l)
	record f_renames "$n"
	timed f_push sh "$BIN/sync-until.sh" "$SW/a" "$SW/va" "$SW/va.git" || return 1
	want=$((new0 + CHANGES))
	sync
	c0=$(cpu_ticks "$B_PID")
	t0=$(now)
	timed f_sync "$SEALBOX" sync "$SW/b"
	# until every new message and every flag shows in B's mount
	while :; do
		got=$(ls "$SW/b/mail/new" | wc -l)
		fl=$(ls "$SW/b/mail/cur" | grep -c ':2,.*F')
		[ "$got" = "$want" ] && [ "$fl" = "$flagged1" ] && break
		if [ $(($(now) - t0)) -gt $((TMO * 1000000000)) ]; then
			note "device B shows $got of $want messages in new/, $fl of $flagged1 flagged"
			record f_visible TIMEOUT
			return 1
		fi
		sleep 0.01
	done
	record f_visible "$(secs "$t0" "$(now)")"
	c1=$(cpu_ticks "$B_PID")
	[ -n "$c0" ] && [ -n "$c1" ] &&
		record f_cpu "$(awk -v t=$((c1 - c0)) -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }')"
	record f_flagged "$flagged0 -> $flagged1"
	if [ "$(head_of "$SW/va.git")" = "$(head_of "$SW/vb/.git")" ] &&
		diff -r -q "$SW/a" "$SW/b" >"$SW/diff.out" 2>&1; then
		record f_check same
	else
		record f_check "$(wc -l <"$SW/diff.out") differences"
		note "device B differs from device A: $(head -n 3 "$SW/diff.out" | tr '\n' ';')"
	fi
}

# --- main -------------------------------------------------------------------------

for e in $(awk -v s="$SW/" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo); do
	die "$e is still mounted from an earlier run; unmount it first"
done
rm -rf "$SW"
mkdir -p "$SW"
: >"$LOG"
: >"$RES"
: >"$NOTES"
printf 'correct horse battery staple bench\n' >"$P"
write_helpers
T_START=$(now)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
[ "$DROP" = yes ] || note "not root: page caches were not dropped before the import"

case " $PARTS " in *" import "* | *" fetch "*) make_corpus ;; esac
case " $PARTS " in *" import "*)
	import_sealbox || note "sealbox import not measured"
	import_gocryptfs || note "gocryptfs + git import not measured"
	;;
esac
case " $PARTS " in *" fetch "*) part_fetch || note "part 3 (fetch) incomplete" ;; esac
if [ "$A_UP" = yes ]; then
	sb_umount "$SW/a" "$A_PID" || note "$SW/a would not unmount"
	[ -n "${B_PID:-}" ] && { sb_umount "$SW/b" "$B_PID" || note "$SW/b would not unmount"; }
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$SW/va" "$SW/vb" "$SW/va.git"
fi
case " $PARTS " in *" commit "*)
	part_commit
	inproc
	;;
esac
T_END=$(now)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the report ---------------------------------------------------------------------

GIT_REV=$(git -C "$SB_SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(git -C "$SB_SRC" status --porcelain --untracked-files=no 2>/dev/null | wc -l)
GOCRYPTFS_V=$(gocryptfs -version 2>/dev/null | cut -d';' -f1)
GIT_V=$(git --version)
FS=$(df -T "$BENCH_DIR" | awk 'NR == 2 { print $2 " on " $1 }')
TOTAL=$(secs "$T_START" "$T_END")
export RES NOTES SW N SEED SIZES ROUNDS CHANGES PARTS GIT_REV GIT_DIRTY \
	GOCRYPTFS_V GIT_V FS TOTAL LOAD_START LOAD_END
"$PYTHON" - >"$OUT" <<'EOF'
import os, re
E = os.environ
res = {}
for line in open(E["RES"]):
    k, _, v = line.rstrip("\n").partition("\t")
    res[k] = v
notes = [l.rstrip("\n") for l in open(E["NOTES"]) if l.strip()]
parts = E["PARTS"].split()
sizes = E["SIZES"].split()
out = []
w = out.append

def f(k, fmt="%.2f"):
    v = res.get(k)
    if v is None:
        return "-"
    try:
        return fmt % float(v)
    except ValueError:
        return v

def num(k):
    try:
        return float(res[k])
    except (KeyError, ValueError):
        return None

w("## Sync (tests/bench/sync.sh)\n")
if "import" in parts:
    w(f"### First import, commit and push of the corpus\n")
    w(f"Corpus: {res.get('corpus_files', '?')} files, {res.get('corpus_mib', '?')} MiB "
      f"({E['N']} messages, seed {E['SEED']}), copied with `cp -a` after "
      f"`sync; echo 3 > /proc/sys/vm/drop_caches` and reading the corpus back in. "
      f"Seconds (lower is better); each remote is a bare repository on the same disk "
      f"(`file://`).\n")
    w("| step | sealbox | gocryptfs + git |")
    w("|---|---:|---:|")
    w(f"| copy in (`cp -a` corpus into the mount) | {f('sb_copy')} | {f('gc_copy')} |")
    w(f"| `git add -A` (cipher dir) | - | {f('gc_add')} |")
    w(f"| `git commit` | - | {f('gc_commit')} |")
    w(f"| `sealbox sync MNT` until the remote has it / `git push` | {f('sb_sync')} | {f('gc_push')} |")
    w(f"| of which the commit (until the daemon reports it) | {f('sb_sync_commit')} | - |")
    w(f"| of which fetch, verify and push | {f('sb_sync_push')} | - |")
    w(f"| **total** | **{f('sb_total')}** | **{f('gc_total')}** |")
    w(f"| daemon CPU seconds (sealbox: copy and sync; gocryptfs: copy) | {f('sb_cpu', '%.1f')} | {f('gc_cpu', '%.1f')} |")
    w(f"| daemon peak memory (VmHWM, from the copy on), MiB | {res.get('sb_peak_mib', '-')} | - |")
    w(f"| commits on the remote | {res.get('sb_commits', '-')} | {res.get('gc_commits', '-')} |")
    w(f"| remote repository, MiB | {res.get('sb_remote_mib', '-')} | {res.get('gc_remote_mib', '-')} |")
    w(f"| local .git/objects, MiB | {res.get('sb_local_mib', '-')} | {res.get('gc_local_mib', '-')} |")
    w(f"| files in the remote's tree / backing files | {res.get('sb_tree', '-')} / {res.get('sb_backing', '-')} | {res.get('gc_tree', '-')} / {res.get('gc_backing', '-')} |")
    s, g = num("sb_total"), num("gc_total")
    if s is not None and g:
        r = s / g
        w(f"\nsealbox / (gocryptfs + git): **{r:.2f}** (target <= 0.50: "
          f"{'met' if r <= 0.5 else '**missed**'}).\n")
    else:
        w("\nsealbox / (gocryptfs + git): - (a side was not measured).\n")

if "commit" in parts:
    inproc = {}
    p = os.path.join(E["SW"], "inproc.md")
    if os.path.exists(p):
        for line in open(p):
            m = re.match(r"\|\s*(\d+)\s*\|\s*([^|]*?)\s*\|\s*([\d.]+)\s*\|", line)
            if m:
                kind = "new" if m.group(2).startswith("new") else \
                       "flag" if m.group(2).startswith("flag") else None
                if kind:
                    inproc[(m.group(1), kind)] = m.group(3)
    w("### One changed message through the mounted daemon\n")
    w(f"A vault per size with all messages (2-8 KiB) in `mail/cur/`, mounted, "
      f"with a `file://` remote and `sealbox.commitDelay` 3600 (only "
      f"`sealbox sync` commits). Per round: a new message written into "
      f"`mail/cur/`, or a flag rename of a message, then `sealbox sync MNT` "
      f"at once; ms from before the change to the vault's `refs/heads/main` "
      f"moving (the commit, through the control socket) and to `sealbox sync` "
      f"returning (commit, fetch, verify, push). Median of {E['ROUNDS']} rounds, "
      f"rounds alternating between the sizes. Growth of VAULT/.git/objects: "
      f"the bytes of the object files written, `du -sb` (apparent size, "
      f"directories included: a loose object in a fan-out directory that "
      f"did not exist yet adds 4 KiB) and `du -sk` (allocated). bench-commit: "
      f"`sb_commit_changes()` in-process (tests/bench/bench-commit.c).\n")
    w("| messages | change | write -> main moved, ms | write -> `sealbox sync` returned, ms | bench-commit in-process, ms | objects written, bytes | `du -sb` growth | `du -sk` growth, bytes |")
    w("|---:|---|---:|---:|---:|---:|---:|---:|")
    for s in sizes:
        for op, label in (("new", "new message in cur/"), ("flag", "flag change (rename in cur/)")):
            w(f"| {s} | {label} | {f(f'c{s}_{op}_main', '%.1f')} | {f(f'c{s}_{op}_sync', '%.1f')} | "
              f"{inproc.get((s, op), '-')} | {f(f'c{s}_{op}_obj', '%.0f')} | {f(f'c{s}_{op}_grow', '%.0f')} | {f(f'c{s}_{op}_disk', '%.0f')} |")
    w("")
    w("Targets (issue 4): one message commits in at most 50 ms, the largest "
      "vault's time at most 1.5 times the smallest's, growth (`du -sb` of "
      ".git/objects) at most 64 KiB:\n")
    for s in sizes:
        for op in ("new", "flag"):
            m, g = num(f"c{s}_{op}_main"), num(f"c{s}_{op}_grow")
            if m is None:
                continue
            w(f"- {s}, {op}: main moved after {m:.1f} ms "
              f"({'met' if m <= 50 else '**missed**'}); growth "
              f"{'-' if g is None else '%.0f' % g} bytes "
              f"({'met' if g is not None and g <= 65536 else '**missed**'})")
    if len(sizes) > 1:
        for op in ("new", "flag"):
            a, b = num(f"c{sizes[0]}_{op}_main"), num(f"c{sizes[-1]}_{op}_main")
            if a and b:
                w(f"- {op}: {sizes[-1]} vs {sizes[0]} messages: {b / a:.2f}x "
                  f"({'met' if b / a <= 1.5 else '**missed**'})")
    w("")
    w("Every round (main moved / sync returned, ms):\n")
    w("| messages | change | main moved | sync returned | objects written, bytes | `du -sb` growth |")
    w("|---:|---|---|---|---|---|")
    for s in sizes:
        for op in ("new", "flag"):
            w(f"| {s} | {op} | {res.get(f'c{s}_{op}_main_runs', '-')} | "
              f"{res.get(f'c{s}_{op}_sync_runs', '-')} | {res.get(f'c{s}_{op}_obj_runs', '-')} | {res.get(f'c{s}_{op}_grow_runs', '-')} |")
    w("")
    w("Set-up (untimed in the rows above): " + "; ".join(
        f"{s} messages written into the mount in {f(f'c{s}_write', '%.1f')} s, "
        f"first commit and push {f(f'c{s}_first', '%.1f')} s, "
        f"objects {res.get(f'c{s}_objects_mib', '-')} MiB" for s in sizes) + ".\n")

if "fetch" in parts:
    w(f"### Fetch and apply of {E['CHANGES']} remote changes on a mounted clone\n")
    w(f"Device A is the imported corpus vault, mounted; device B a `sealbox clone` "
      f"of it, mounted (`sealbox.fetchInterval` 3600), its folders listed once "
      f"(`ls -lR`) as a mail client would. A writes {E['CHANGES']} new messages "
      f"into `mail/new/` and toggles the F flag of {res.get('f_renames', '?')} "
      f"messages in `mail/cur/`, and syncs; then B runs `sealbox sync` on its "
      f"mount.\n")
    w("| step | seconds |")
    w("|---|---:|")
    w(f"| device B: `sealbox clone` of the corpus vault (set-up) | {f('f_clone')} |")
    w(f"| device A: commit and push of the changes (`sealbox sync`) | {f('f_push')} |")
    w(f"| device B: `sealbox sync` returns | **{f('f_sync')}** |")
    w(f"| device B: all new messages and flags visible in the mount (`ls` count) | **{f('f_visible')}** |")
    w(f"| device B: daemon CPU seconds during it | {f('f_cpu', '%.1f')} |")
    v = num("f_visible")
    if v:
        w(f"\n{(int(E['CHANGES']) + int(res.get('f_renames', 0))) / v:.0f} changes "
          f"per second applied. Checks: B's mount after the clone vs the corpus "
          f"(`diff -r`): {res.get('f_check_clone', '-')}; B vs A after the sync: "
          f"{res.get('f_check', '-')}; flagged messages {res.get('f_flagged', '-')}.")
    w("")

if notes:
    w("#### Notes\n")
    for n in notes:
        w(f"- {n}")
    w("")
w(f"sealbox {E['GIT_REV']}{' with local changes in the tree' if E['GIT_DIRTY'] != '0' else ''}; "
  f"{E['GOCRYPTFS_V'] or 'gocryptfs'} (-scryptn 10); {E['GIT_V']}; {E['FS']}; "
  f"{float(E['TOTAL']) / 60:.1f} min; load average {E['LOAD_START']} at the start, "
  f"{E['LOAD_END']} at the end.")
print("\n".join(out))
EOF
cat "$OUT"
