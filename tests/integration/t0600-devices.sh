#!/bin/bash
# Two and three devices sharing one bare remote, mounted, with concurrent
# changes of every kind (issue 4, "How it is checked", first bullet): after
# syncing in every order, all devices hold identical plaintext trees with
# the expected merge results, nothing is lost, and stock git verifies every
# commit, merges included.
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"
plan 35

P=$(sb_passfile)
R=$T/remote.git
git init -q --bare -b main "$R" || bail "git init --bare failed"

# Commits only when asked: the test makes its changes "at the same time".
quiet() { git -C "$1" config sealbox.commitDelay 3600 &&
	  git -C "$1" config sealbox.commitMax 3600 &&
	  git -C "$1" config sealbox.fetchInterval 3600; }

sync_dev() { "$SEALBOX" sync "$T/$1"; }

msg() {	# msg FILE [SUBJECT]
	mkdir -p "$(dirname "$1")"
	printf 'From: a@example.com\nTo: b@example.com\nSubject: %s\nMessage-ID: <%s@x>\n\nbody of %s\n' \
		"${2:-hello}" "$(basename "$1")" "$(basename "$1")" >"$1"
}

vcard() { # vcard FILE UID REV [PROP...]
	f=$1 uid=$2 rev=$3; shift 3
	{ printf 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:%s\r\nFN:%s\r\nREV:%s\r\n' "$uid" "$uid" "$rev"
	  for p in "$@"; do printf '%s\r\n' "$p"; done
	  printf 'END:VCARD\r\n'; } >"$f"
}

"$SEALBOX" init --device alpha --remote "file://$R" --passphrase-file "$P" \
	--recovery-file "$T/rec" "$T/va" >"$T/init.log" 2>&1 ||
	bail "init failed: $(cat "$T/init.log")"
quiet "$T/va"
sb_mount "$T/va" "$T/a"
A=$T/a

# The common base.
mkdir -p "$A"/mail/.Archive/{cur,new,tmp} "$A"/mail/.Old/{cur,new,tmp} \
	"$A/contacts/default"
msg "$A/mail/cur/m1.host:2,S"
msg "$A/mail/cur/m2.host:2,"
msg "$A/mail/cur/m3.host:2,S"
msg "$A/mail/.Old/cur/o1.host:2,S"
vcard "$A/contacts/default/alice.vcf" alice 20260101T000000Z 'TEL:+1 555 0100' 'EMAIL:alice@old.example'
vcard "$A/contacts/default/bob.vcf" bob 20260101T000000Z 'NOTE:base'
echo "base notes" >"$A/notes.txt"
touch -d '2026-01-02 03:04:05.123456789' "$A/mail/cur/m1.host:2,S"
ok "first device syncs the base to the empty remote" sync_dev va
ok "the remote's main is signed and holds the base" \
	git --git-dir="$R" rev-parse --verify -q main

ok "second device clones with the recovery key" \
	"$SEALBOX" clone --device beta --passphrase-file "$P" \
	--recovery-file "$T/rec" "file://$R" "$T/vb"
quiet "$T/vb"
sb_mount "$T/vb" "$T/b"
B=$T/b
ok "first device picks up the enrolment" sync_dev va
ok "both devices show the same base" diff -r "$A" "$B"
is "file mtimes travel with the files" \
	"$(stat -c %y "$B/mail/cur/m1.host:2,S")" "$(stat -c %y "$A/mail/cur/m1.host:2,S")"

# Concurrent changes of every kind.
msg "$A/mail/new/n-alpha.host"                              # new on both
msg "$B/mail/new/n-beta.host"
mv "$A/mail/cur/m1.host:2,S" "$A/mail/cur/m1.host:2,FS"      # flags both ways
mv "$B/mail/cur/m1.host:2,S" "$B/mail/cur/m1.host:2,RS"
mv "$A/mail/cur/m2.host:2," "$A/mail/.Archive/cur/m2.host:2," # move vs flag
mv "$B/mail/cur/m2.host:2," "$B/mail/cur/m2.host:2,F"
rm "$A/mail/cur/m3.host:2,S"                                 # delete vs flag
mv "$B/mail/cur/m3.host:2,S" "$B/mail/cur/m3.host:2,FS"
vcard "$A/contacts/default/alice.vcf" alice 20260201T000000Z 'TEL:+1 555 0199' 'EMAIL:alice@old.example'
vcard "$B/contacts/default/alice.vcf" alice 20260202T000000Z 'TEL:+1 555 0100' 'EMAIL:alice@new.example'
vcard "$A/contacts/default/bob.vcf" bob 20260301T000000Z 'NOTE:from alpha'
vcard "$B/contacts/default/bob.vcf" bob 20260302T000000Z 'NOTE:from beta'
mkdir -p "$A"/mail/.Projects/{cur,new,tmp} "$B"/mail/.Projects/{cur,new,tmp}
msg "$A/mail/.Projects/new/p-alpha.host"                     # folder on both
msg "$B/mail/.Projects/new/p-beta.host"
rm -rf "$A/mail/.Old"                                        # folder gone vs new mail
msg "$B/mail/.Old/new/o2.host"
echo "alpha's notes" >"$A/notes.txt"                         # other file on both
echo "beta's notes" >"$B/notes.txt"

ok "alpha syncs first" sync_dev va
ok "beta syncs and merges" sync_dev vb
ok "alpha syncs again" sync_dev va
ok "both devices hold identical trees" diff -r "$A" "$B"

for f in mail/new/n-alpha.host mail/new/n-beta.host \
	 "mail/cur/m1.host:2,FRS" "mail/.Archive/cur/m2.host:2,F" \
	 mail/.Projects/new/p-alpha.host mail/.Projects/new/p-beta.host \
	 mail/.Old/new/o2.host; do
	ok "merged: $f" test -f "$B/$f"
done
nok "a deleted message stays deleted though flagged elsewhere" \
	bash -c 'ls "$1"/mail/cur/m3.* "$1"/mail/*/cur/m3.* 2>/dev/null | grep -q .' _ "$B"
nok "the message deleted with its folder does not come back" \
	test -e "$B/mail/.Old/cur/o1.host:2,S"
ok "the contact has both sides' property changes" \
	bash -c 'grep -q "TEL:+1 555 0199" "$1" && grep -q "EMAIL:alice@new.example" "$1"' _ "$B/contacts/default/alice.vcf"
ok "the later change of the same property wins" \
	grep -q "NOTE:from beta" "$B/contacts/default/bob.vcf"
ok "the losing value is kept where the merge happened, and listed" \
	bash -c '"$SEALBOX" conflicts --passphrase-file "$2" "$1" | grep -q "from alpha"' _ "$T/vb" "$P"
ok "a plain file changed on both sides keeps both" \
	bash -c 'ls "$1"/notes.txt.sealbox-conflict-* >/dev/null && cat "$1"/notes.txt "$1"/notes.txt.sealbox-conflict-* | sort | tr "\n" "|" | grep -q "^alpha.s notes|beta.s notes|$"' _ "$B"

# A third device, and syncs in the other order.
ok "third device clones" \
	"$SEALBOX" clone --device gamma --passphrase-file "$P" \
	--recovery-file "$T/rec" "file://$R" "$T/vc"
quiet "$T/vc"
sb_mount "$T/vc" "$T/c"
C=$T/c
ok "beta and alpha pick up the enrolment" bash -c '"$SEALBOX" sync "$1" && "$SEALBOX" sync "$2"' _ "$T/vb" "$T/va"
msg "$A/mail/new/x-alpha.host"
msg "$B/mail/new/x-beta.host"
msg "$C/mail/new/x-gamma.host"
mv "$C/mail/new/n-alpha.host" "$C/mail/cur/n-alpha.host:2,S"
rm "$B/mail/new/n-beta.host"
for order in "vc vb va" "va vb vc"; do
	for d in $order; do sync_dev "$d" >/dev/null 2>&1 || diag "sync $d failed"; done
done
ok "three devices converge: alpha = beta" diff -r "$A" "$B"
ok "three devices converge: beta = gamma" diff -r "$B" "$C"
ok "every device's new message arrived" \
	bash -c 'test -f "$1/mail/new/x-alpha.host" && test -f "$1/mail/new/x-beta.host" && test -f "$1/mail/new/x-gamma.host"' _ "$A"
ok "a read mark made on one device arrived" test -f "$A/mail/cur/n-alpha.host:2,S"
nok "a delete made on one device arrived" test -e "$C/mail/new/n-beta.host"

# Stock git: every commit on the remote, merges included, verifies.
git clone -q "$R" "$T/plain" || bail "git clone failed"
git -C "$T/plain" show HEAD:.sealbox/allowed_signers >"$T/as"
n=$(git -C "$T/plain" rev-list --count HEAD)
good=$(git -C "$T/plain" -c gpg.ssh.allowedSignersFile="$T/as" log --show-signature --format=%H 2>&1 | grep -c '^Good "git" signature')
is "git log --show-signature: every commit good" "$good" "$n"
ok "merges are among them" test "$(git -C "$T/plain" rev-list --merges --count HEAD)" -gt 0
ok "nothing plaintext on the remote" \
	bash -c '! git -C "$1" grep -q -e "body of" -e alice -e "notes" $(git -C "$1" rev-list --all) -- 2>/dev/null' _ "$T/plain"

ok "status shows the last sync" \
	bash -c '"$SEALBOX" status "$1" | grep -q "last sync"' _ "$T/va"
ok "unmount all" bash -c 'for m in "$@"; do "$SEALBOX" umount "$m" || exit 1; done' _ "$A" "$B" "$C"
sb_done
