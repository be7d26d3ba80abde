#!/bin/bash
# A damaged or tampered file reads as EIO for that file alone, with one log
# line naming its plaintext path; never wrong bytes; every other file stays
# readable; sealbox fsck names it and exits non-zero.
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"
plan 15

V=$T/v M=$T/m
sb_vault v
sb_mount "$V" "$M"
mkdir "$M/dmg" "$M/ok"
head -c 20000 /dev/urandom >"$M/dmg/a"
cp "$M/dmg/a" "$T/a.orig"
echo "still fine" >"$M/ok/b"
ln -s ../ok/b "$M/dmg/link"
head -c 30000 /dev/urandom >"$M/dmg/h"
sb_umount "$M"

# dmg/a is the one backing file of its size (20000 bytes in 5 blocks:
# 88 + 20000 + 5 * 28), dmg/h too (30000 bytes in 8 blocks).
backing=$(find "$V" -path "$V/.git" -prune -o -type f -size 20228c -print)
ok "found the backing file of dmg/a" test -n "$backing"
cp "$backing" "$T/a.backing"

flip() { # FILE OFFSET
	printf "$(printf '\\%03o' $(( $(od -An -tu1 -j"$2" -N1 "$1") ^ 0x20 )))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
flip "$backing" 5000
# dmg/h (30000 bytes) gets a damaged header
hbacking=$(find "$V" -path "$V/.git" -prune -o -type f -size 30312c -print)
cp "$hbacking" "$T/h.backing"
flip "$hbacking" 40

mkdir -p "$M"
"$SEALBOX" mount -f --passphrase-file "$(sb_passfile)" "$V" "$M" 2>"$T/daemon.log" &
echo $! >"$T/daemon.pid"
for _ in $(seq 50); do mountpoint -q "$M" && break; sleep 0.1; done
_sb_mounts="$M $_sb_mounts"

cat "$M/dmg/a" >"$T/out" 2>"$T/err"
is "reading the damaged file fails" $? 1
ok "with EIO" grep -q "Input/output error" "$T/err"
ok "and returns no wrong bytes before the damaged block" \
	bash -c '[ ! -s "$1" ] || cmp -s "$1" <(head -c "$(stat -c %s "$1")" "$2")' _ "$T/out" "$T/a.orig"
is "the other file reads fine" "$(cat "$M/ok/b")" "still fine"
is "a symlink next to it still works" "$(cat "$M/dmg/link")" "still fine"
is "stat of the damaged file still works" "$(stat -c %s "$M/dmg/a")" 20000
ok "the daemon log names the plaintext path" grep -q "dmg/a" "$T/daemon.log"
is "one log line for it" "$(grep -c 'dmg/a' "$T/daemon.log")" 1
# A rename (a flag change) opens nothing: the times the kernel sends
# after it (forced out by sync) are the file's own, and its damaged
# header is only found when it is read.
stat "$M/dmg/h" >/dev/null
mv "$M/dmg/h" "$M/dmg/h2"
sync
nok "renaming the file with the damaged header logs nothing" \
	grep -q "dmg/h" "$T/daemon.log"
nok "reading it fails" cat "$M/dmg/h2"
ok "and that is logged" grep -q "dmg/h2" "$T/daemon.log"
sb_umount "$M"

"$SEALBOX" fsck --passphrase-file "$(sb_passfile)" "$V" >"$T/fsck" 2>&1
is "fsck exits non-zero" $? 1
ok "fsck names dmg/a" grep -q "dmg/a" "$T/fsck"

cp "$T/a.backing" "$backing"
# dmg/h was renamed to h2 since: its backing name changed, its size not.
cp "$T/h.backing" "$(find "$V" -path "$V/.git" -prune -o -type f -size 30312c -print)"
ok "fsck is clean once the file is restored" \
	"$SEALBOX" fsck --passphrase-file "$(sb_passfile)" "$V"
