#!/bin/bash
# sealbox mount's parent and daemon (cmd/mount.c): the parent unlocks (the
# passphrase KDF runs there), so a wrong passphrase is one line and a
# non-zero exit before any daemon starts; the daemon gets the keys over a
# pipe (never argv, the environment or a file) and its peak memory stays
# under 64 MiB although the vault uses the full-size KDF (256 MiB).
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"

[ -c /dev/fuse ] || skip_all "no /dev/fuse"
V=$T/v M=$T/mnt
mkdir -p "$M"
# The real KDF parameters, not the tests' minimum.
SEALBOX_KDF=default sb_vault v
printf 'not the passphrase\n' >"$T/wrong"

"$SEALBOX" mount --passphrase-file "$T/wrong" "$V" "$M" >"$T/out" 2>"$T/err"
rc=$?
ok "a wrong passphrase exits non-zero" test "$rc" -ne 0
is "a wrong passphrase is one line on stderr" "$(wc -l <"$T/err")" 1
is "the line says so" "$(cat "$T/err")" "sealbox: wrong passphrase for $(cd "$V" && pwd -P)"
is "nothing on stdout" "$(wc -c <"$T/out")" 0
nok "no daemon was left (no pid file)" test -e "$V/.git/sealbox/mount.pid"
nok "nothing is mounted" mountpoint -q "$M"

sb_mount "$V" "$M"
ok "mount returns when the mount is ready" test -d "$M/mail"
pid=$(head -n 1 "$V/.git/sealbox/mount.pid")
ok "the daemon runs" kill -0 "$pid"
pass=$(head -n 1 "$(sb_passfile)")
nok "the passphrase is not on the daemon's command line" \
	grep -qF -- "$pass" "/proc/$pid/cmdline"
nok "nor in its environment" grep -qF -- "$pass" "/proc/$pid/environ"
nok "the daemon holds no passphrase descriptor" \
	sh -c 'ls -l /proc/$1/fd | grep -q "$2"' sh "$pid" "$(sb_passfile)"
echo "hello" >"$M/mail/probe"
is "the daemon serves with the handed-over keys" "$(cat "$M/mail/probe")" hello
hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status")
diag "daemon VmHWM ${hwm} kB"
ok "the daemon's peak memory is under 64 MiB" test "$hwm" -lt 65536
# unlink, rmdir and rename over hold the removed file's descriptor until
# the reply is sent (its blocks are freed at that close, off the caller's
# path); none may stay open, also when the removal fails
fds() { ls "/proc/$pid/fd" | wc -l; }
mkdir -p "$M/mail/rm/sub"
for i in $(seq 1 100); do echo "$i" >"$M/mail/rm/f$i"; done
head -c 3000000 /dev/urandom >"$M/mail/rm/big"
fds0=$(fds)
for i in $(seq 1 50); do
	echo "new $i" >"$M/mail/rm/n$i"
	mv "$M/mail/rm/n$i" "$M/mail/rm/f$i"
done
is "a file renamed over reads as the new one" "$(cat "$M/mail/rm/f7")" "new 7"
nok "rmdir of a directory that is not empty fails" rmdir "$M/mail/rm"
rm -f "$M/mail/rm/big"
nok "a removed file is gone" test -e "$M/mail/rm/big"
rm -rf "$M/mail/rm"
nok "rm -rf leaves nothing" test -e "$M/mail/rm"
is "removals and renames over leave no descriptor open" "$(fds)" "$fds0"
ok "sealbox umount" sb_umount "$M"
sb_mount "$V" "$M"
is "the file reads back after a remount" "$(cat "$M/mail/probe")" hello
ok "sealbox umount again" sb_umount "$M"

plan "$_sb_n"
sb_done
