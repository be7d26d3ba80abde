#!/bin/bash
# The semantics mail and PIM tools rely on (issue 3, section 2), checked by
# tests/tools/fs-semantics on a sealbox mount: its checks become this
# script's tests. The mount uses -o allow_other,default_permissions, so a
# process with another uid can use it (as dovecot's mail processes do)
# and the kernel checks permissions. Then remount persistence: phase 1
# records inode numbers, mtimes and contents, the vault is unmounted and
# mounted again (plain options), phase 2 finds them unchanged.
#
# SB_NATIVE=1 runs the same on a plain directory (no vault, no remount):
# every check must pass there.
#
#   make DEVELOPER=1 build-tests && SEALBOX=$PWD/sealbox SB_SRC=$PWD \
#       prove -v tests/integration/t0300-fs-semantics.sh
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"

FSS=$SB_BUILD/tests/tools/fs-semantics
[ -x "$FSS" ] || bail "$FSS is not built (make build-tests)"
native=${SB_NATIVE:-0}
if [ "$native" != 1 ]; then
	[ -c /dev/fuse ] || skip_all "no /dev/fuse"
	[ "$(id -u)" = 0 ] ||
		diag "not root: chown and other-uid checks are skipped"
fi
V=$T/v M=$T/mnt

# Like sb_mount, with FUSE options; unmounted by lib.sh's cleanup.
mount_opts() {
	mkdir -p "$3"
	"$SEALBOX" mount --passphrase-file "$(sb_passfile)" -o "$1" "$2" "$3" ||
		bail "sealbox mount -o $1 $2 $3 failed"
	_sb_mounts="$3 $_sb_mounts"
}

is_fuse() {
	case $(findmnt -n -o FSTYPE --mountpoint "$1" 2>/dev/null) in
	fuse*) return 0 ;;
	esac
	return 1
}

# Runs fs-semantics with ARGS and relays its TAP as this script's own
# tests (renumbered; SKIP and "# got ... want ..." kept), then checks that
# it ran to its end: its plan matches what it printed, and its exit status
# agrees with its results.
relay() {
	local name=$1 out=$T/$1.tap rc line plan= n=0 failed=0 want
	shift
	timeout -k 10 600 "$FSS" "$@" >"$out" 2>"$T/$name.err"
	rc=$?
	while IFS= read -r line; do
		if [[ $line =~ ^(not )?ok\ [0-9]+\ -\ (.*)$ ]]; then
			n=$((n + 1))
			if [ -n "${BASH_REMATCH[1]}" ]; then
				failed=$((failed + 1))
				_sb_result 1 "${BASH_REMATCH[2]}"
			else
				_sb_result 0 "${BASH_REMATCH[2]}"
			fi
		elif [[ $line =~ ^1\.\.([0-9]+) ]]; then
			plan=${BASH_REMATCH[1]}
		else
			echo "# ${line#\# }"
		fi
	done <"$out"
	[ -s "$T/$name.err" ] && sed 's/^/# stderr: /' "$T/$name.err" | head -20
	[ "$failed" = 0 ] && want=0 || want=1
	is "$name ran to its end (plan, exit status)" "$plan:$rc" "$n:$want"
}

if [ "$native" = 1 ]; then
	diag "SB_NATIVE=1: a plain directory, not a mount"
	mkdir -p "$M"
else
	sb_vault v
	mount_opts allow_other,default_permissions "$V" "$M"
	ok "the mount point is a FUSE mount" is_fuse "$M"
	ok "the mount root shows mail/" test -d "$M/mail"
fi

dir=$M
[ -d "$M/mail" ] && dir=$M/mail
relay fs-semantics "$dir"

mkdir -p "$M/persistence"
relay "fs-semantics --phase1" --phase1 "$M/persistence" "$T/state"
if [ "$native" != 1 ]; then
	ok "sealbox umount" sb_umount "$M"
	nok "the mount point is no longer a FUSE mount" is_fuse "$M"
	sb_mount "$V" "$M"
	ok "mounted again" is_fuse "$M"
fi
relay "fs-semantics --phase2" --phase2 "$M/persistence" "$T/state"

plan "$_sb_n"
sb_done
