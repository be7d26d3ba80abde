#!/bin/bash
# A full disk gives ENOSPC to the writer; everything written and fsynced
# before is intact, and the vault works again once space is freed.
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root to mount a small tmpfs"
plan 8

mkdir -p "$T/small"
mount -t tmpfs -o size=24m tmpfs "$T/small" || bail "cannot mount tmpfs"
trap 'sb_cleanup_small' EXIT
sb_cleanup_small() {
	"$SEALBOX" umount "$T/m" >/dev/null 2>&1
	umount -l "$T/small" 2>/dev/null
	sb_cleanup
}
V=$T/small/v M=$T/m
"$SEALBOX" init --passphrase-file "$(sb_passfile)" --recovery-file "$T/rec" "$V" \
	>/dev/null 2>&1 || bail "init failed"
sb_mount "$V" "$M"

head -c 3000000 /dev/urandom >"$T/keep"
cp "$T/keep" "$M/mail/cur/keep:2,S"
sync "$M/mail/cur/keep:2,S" 2>/dev/null || python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$M/mail/cur/keep:2,S"

dd if=/dev/zero of="$M/big" bs=1M count=64 conv=fsync 2>"$T/dd.err"
is "filling the disk fails" $? 1
ok "with ENOSPC" grep -q "No space left on device" "$T/dd.err"
ok "the fsynced file is intact" cmp "$T/keep" "$M/mail/cur/keep:2,S"
echo small >"$M/small.txt" 2>/dev/null
rm -f "$M/big" "$M/small.txt"
ok "writing works again after freeing space" \
	bash -c 'echo hello >"$1/after" && [ "$(cat "$1/after")" = hello ]' _ "$M"
sb_umount "$M"
ok "remount after ENOSPC" "$SEALBOX" mount --passphrase-file "$(sb_passfile)" "$V" "$M"
ok "the fsynced file is still intact" cmp "$T/keep" "$M/mail/cur/keep:2,S"
is "the later file too" "$(cat "$M/after")" hello
sb_umount "$M"
ok "fsck is clean" "$SEALBOX" fsck --passphrase-file "$(sb_passfile)" "$V"
