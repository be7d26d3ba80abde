#!/bin/bash
# Random operations on a sealbox mount, mirrored on a native directory
# (tests/tools/fsx): writes at offsets and beyond EOF, truncates, appends,
# reads, mmap reads and writes, renames and hard links, unlinks, fsync,
# dropped page cache, close/reopen; contents compared after every step.
# Then the vault is unmounted and mounted again, and the whole tree must
# still match the native one (contents, sizes, link counts).
#
#   FSX_OPS   number of operations (20000; make stress runs 1000000)
#   FSX_SEED  seed (random, printed: set it to repeat a failing run)
#   SB_NATIVE=1  runs on two plain directories (no vault, no remount)
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"

FSX=$SB_BUILD/tests/tools/fsx
[ -x "$FSX" ] || bail "$FSX is not built (make build-tests)"
native=${SB_NATIVE:-0}
[ "$native" = 1 ] || [ -c /dev/fuse ] || skip_all "no /dev/fuse"
ops=${FSX_OPS:-20000}
seed=${FSX_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
timeout=${FSX_TIMEOUT:-900}
progress=
[ "$ops" -ge 200000 ] && progress="-p 100000"
V=$T/v M=$T/mnt N=$T/native

is_fuse() {
	case $(findmnt -n -o FSTYPE --mountpoint "$1" 2>/dev/null) in
	fuse*) return 0 ;;
	esac
	return 1
}

# Names, sizes and link counts, then every file's checksum.
listing() {
	(cd "$1" && find . -printf '%y %p %s %n\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0r md5sum)
}

if [ "$native" = 1 ]; then plan 3; else plan 5; fi
if [ "$native" = 1 ]; then
	diag "SB_NATIVE=1: two plain directories, no mount"
	mkdir -p "$M"
else
	sb_vault v
	sb_mount "$V" "$M"
	ok "the mount point is a FUSE mount" is_fuse "$M"
fi
mkdir -p "$M/fsx" "$N"
diag "fsx seed $seed, $ops ops (repeat with FSX_SEED=$seed FSX_OPS=$ops)"
# Progress lines ("# fsx: N ops done", long runs only) show while it runs.
# shellcheck disable=SC2086
{ timeout -k 10 "$timeout" "$FSX" -q $progress -n "$ops" -s "$seed" \
	"$M/fsx" "$N" 2>&1; echo $? >"$T/fsx.rc"; } |
	tee "$T/fsx.out" | grep --line-buffered '^# fsx: [0-9]* ops done'
is "fsx: $ops random operations on the mount match a native directory (seed $seed)" \
	"$(cat "$T/fsx.rc")" 0
grep -v '^# fsx: [0-9]* ops done' "$T/fsx.out" | sed 's/^/# /'

if [ "$native" != 1 ]; then
	ok "sealbox umount" sb_umount "$M"
	sb_mount "$V" "$M"
fi
listing "$N" >"$T/native.list"
ok "the native tree is listed" test -s "$T/native.list"
listing "$M/fsx" >"$T/mount.list" 2>"$T/mount.err"
is "after remount the tree matches the native one (names, sizes, links, contents)" \
	"$(diff "$T/native.list" "$T/mount.list" | head -20; cat "$T/mount.err")" ""
sb_done
