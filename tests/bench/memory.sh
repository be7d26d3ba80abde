#!/bin/sh
# The daemon's memory through what a mailbox goes through (docs/bench.md,
# "The commit's memory, reads that looked like changes, appends"): one
# sealbox mount of a fresh vault, its sync service committing locally, and
# the daemon's VmHWM, VmRSS, RssAnon and RssFile after each step:
#
#   copy        `cp -a` of the bench corpus into the mount
#   commit      `sealbox sync MNT` (the commit of the copy)
#   read N      caches dropped, every file read, `sealbox sync MNT` (N = 1..3:
#               reading must not look like a change, nor keep memory)
#   renames     the F flag of every message toggled in one process, then
#               `sealbox sync MNT` (the commit of ~20,000 path changes)
#
#   sh tests/bench/memory.sh          as root; about 2 minutes here
#
# Environment (all optional): BENCH_DIR (/var/tmp/sealbox-bench; the corpus
# is tests/bench/run's, made there when missing), BENCH_MESSAGES (10000),
# BENCH_SEED (1); SEALBOX SB_SRC as make sets them.
set -eu

SB_SRC=${SB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SEALBOX=${SEALBOX:-$SB_SRC/sealbox}
DIR=${BENCH_DIR:-/var/tmp/sealbox-bench}
N=${BENCH_MESSAGES:-10000}
SEED=${BENCH_SEED:-1}
CORPUS=$DIR/corpus-$N-$SEED
W=$DIR/memory
M=$W/mnt
export SEALBOX_KDF=min

die() { echo "memory.sh: $*" >&2; exit 1; }
[ -x "$SEALBOX" ] || die "$SEALBOX is not built (make)"
[ "$(id -u)" = 0 ] || die "run as root (it drops the page cache)"

cleanup() {
	mountpoint -q "$M" 2>/dev/null && "$SEALBOX" umount "$M" >/dev/null 2>&1
	mountpoint -q "$M" 2>/dev/null && fusermount3 -u -z "$M"
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

mkdir -p "$DIR"
sum=$(cksum <"$SB_SRC/tests/bench/corpus.py")
if [ "$(head -n 1 "$CORPUS.stamp" 2>/dev/null)" != "$sum" ] ||
	[ ! -d "$CORPUS" ]; then
	rm -rf "$CORPUS" "$CORPUS.tmp" "$CORPUS.stamp"
	python3 "$SB_SRC/tests/bench/corpus.py" --messages "$N" --seed "$SEED" \
		"$CORPUS.tmp" 2>"$DIR/corpus.txt" || die "corpus.py failed"
	mv "$CORPUS.tmp" "$CORPUS"
	{ echo "$sum"; cat "$DIR/corpus.txt"; } >"$CORPUS.stamp"
fi

rm -rf "$W"
mkdir -p "$M"
printf 'memory bench\n' >"$W/pass"
"$SEALBOX" init --passphrase-file "$W/pass" "$W/vault" >/dev/null 2>&1 ||
	die "sealbox init failed"
"$SEALBOX" mount --passphrase-file "$W/pass" "$W/vault" "$M" ||
	die "sealbox mount failed"
PID=$(head -n 1 "$W/vault/.git/sealbox/mount.pid")

mib() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }
step() {
	printf '| %s | %s | %s | %s | %s |\n' "$1" "$(mib VmHWM)" "$(mib VmRSS)" \
		"$(mib RssAnon)" "$(mib RssFile)"
}

echo "binary $SEALBOX (source tree at $(git -C "$SB_SRC" rev-parse --short HEAD 2>/dev/null || echo '?')), corpus $CORPUS"
echo
echo "| after | VmHWM MiB | VmRSS MiB | RssAnon MiB | RssFile MiB |"
echo "|---|---:|---:|---:|---:|"
step "mount"
cp -a "$CORPUS/." "$M/"
step "copy"
"$SEALBOX" sync "$M" >/dev/null
step "commit"
for i in 1 2 3; do
	sync
	echo 3 >/proc/sys/vm/drop_caches
	find "$M" -type f -print0 | xargs -0 cat >/dev/null
	"$SEALBOX" sync "$M" >/dev/null
	step "read $i"
done
python3 - "$M" <<'EOF'
import os, sys
root = os.path.join(sys.argv[1], "mail")
todo = []
for d, _, files in os.walk(root):
    if os.path.basename(d) in ("cur", "new"):
        todo += [(d, f) for f in files]
for d, f in todo:
    base, _, fl = f.partition(":2,")
    new = base + ":2," + "".join(sorted(set(fl) ^ {"F"}))
    os.rename(os.path.join(d, f), os.path.join(os.path.dirname(d), "cur", new))
EOF
"$SEALBOX" sync "$M" >/dev/null
step "renames"
