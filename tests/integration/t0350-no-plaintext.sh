#!/bin/bash
# The vault never holds a byte of plaintext: write messages, names and
# symlink targets with a marker and search the whole vault for it.
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"
plan 4

V=$T/v M=$T/m
sb_vault v
sb_mount "$V" "$M"
marker=SBXMARK$RANDOM$RANDOM
for i in $(seq 20); do
	printf 'Subject: %s %d\n\n%s body %d\n' "$marker" "$i" "$marker" "$i" \
		>"$M/mail/new/$marker.$i.host"
done
mkdir "$M/calendars/$marker"
ln -s "/home/$marker/target" "$M/$marker-link"
head -c 100000 /dev/zero | tr '\0' 'A' | sed "s/^/$marker/" >"$M/big-$marker"
ok "the files read back" grep -q "$marker body 7" "$M/mail/new/$marker.7.host"
sb_umount "$M"

nok "no file name in the vault holds the marker" \
	bash -c 'find "$1" | grep -q "$2"' _ "$V" "$marker"
nok "no file content in the vault holds the marker" grep -r -a -q "$marker" "$V"
nok "no symlink target holds the marker" \
	bash -c 'find "$1" -type l -printf "%l\n" | grep -q "$2"' _ "$V" "$marker"
