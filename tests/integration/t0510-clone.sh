#!/bin/bash
# sealbox clone: a second device gets the whole verified history from a
# file:// remote, the same plaintext tree (mtimes included), and its
# enrolment (signed by the recovery key) reaches the remote, where stock git
# verifies every commit. Refusals: an empty remote, another vault's recovery
# key, an unsigned commit on top, a non-empty target, a device name taken.
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"
plan 46

P=$(sb_passfile)
R=$T/remote.git
URL=file://$R
git init -q --bare --initial-branch=main "$R" || bail "git init --bare failed"

# One line on stderr, exit 1, the target gone: what every refusal looks like.
refused() { # DESC PATTERN TARGET -- clone arguments...
	local what=$1 pat=$2 target=$3 rc
	shift 4
	"$SEALBOX" clone --passphrase-file "$P" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	is "$what: exit 1" "$rc" 1
	ok "$what: one line saying why" \
		bash -c '[ "$(wc -l <"$1")" = 1 ] && grep -q -- "$2" "$1"' _ \
		"$T/err" "$pat"
	[ "$(wc -l <"$T/err")" = 1 ] || sed 's/^/#   /' "$T/err"
	ok "$what: the target is not left behind" test ! -e "$target"
}

# --- an empty remote ---------------------------------------------------
sb_vault a laptop
refused "empty remote" "is empty" "$T/b" -- \
	--recovery-file "$T/a.recovery" "$URL" "$T/b"

# --- the first device: files through a mount, committed and pushed -----
sb_mount "$T/a" "$T/ma"
mkdir -p "$T/ma/mail/.Sent/cur" "$T/ma/mail/.Sent/new" "$T/ma/mail/.Sent/tmp"
for i in 1 2 3; do
	printf 'From: a@example.org\nSubject: %s\n\nbody %s\n' "$i" "$i" \
		>"$T/ma/mail/cur/100$i.M1P1.host:2,S"
done
printf 'Subject: sent\n\nhello\n' >"$T/ma/mail/.Sent/cur/2001.M2P2.host:2,S"
printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Ann\r\nEND:VCARD\r\n' \
	>"$T/ma/contacts/u1.vcf"
head -c 300000 /dev/urandom >"$T/ma/calendars/big.bin"
touch -d @1600000000 "$T/ma/mail/cur/1001.M1P1.host:2,S"
touch -d @1500000000 "$T/ma/contacts/u1.vcf"
sb_umount "$T/ma"

"$SEALBOX" remote set "$URL" "$T/a" >/dev/null ||
	bail "sealbox remote set failed"
ok "the first device commits and pushes its files" \
	"$SEALBOX" sync --passphrase-file "$P" "$T/a"
ncommits=$(git -C "$R" rev-list --count main)

# --- the clone -----------------------------------------------------------
"$SEALBOX" clone --device desktop --passphrase-file "$P" \
	--recovery-file "$T/a.recovery" "$URL" "$T/b" >"$T/clone.out" 2>&1
rc=$?
is "clone succeeds" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/clone.out"
[ -d "$T/b/.git" ] || bail "no clone to look at"
ok "clone says what it did" grep -q "desktop (member) enrolled" "$T/clone.out"
is "the key file is 0600" "$(stat -c %a "$T/b/.git/sealbox/device.key")" 600
is "the local state folder is 0700" "$(stat -c %a "$T/b/.git/sealbox")" 700
ok "the stat cache exists" test -s "$T/b/.git/sealbox/statcache"
is "the remote URL is stored" "$(git -C "$T/b" config remote.origin.url)" "$URL"
is "the remote has the enrolment on top" \
	"$(git -C "$R" rev-list --count main)" $((ncommits + 1))
is "the clone's main is the remote's" "$(git -C "$T/b" rev-parse main)" \
	"$(git -C "$R" rev-parse main)"
is "the sync state records the pushed head as verified" \
	"$(grep -E '^(verified|pushed) ' "$T/b/.git/sealbox/sync-state" | sort)" \
	"$(printf 'pushed %s\nverified %s' "$(git -C "$R" rev-parse main)" \
		"$(git -C "$R" rev-parse main)")"
is "the enrolment is signed in the recovery key's name" \
	"$(git -C "$R" log -1 --format='%an <%ae>' main)" \
	"recovery <recovery@sealbox>"
is "the enrolment changes only the policy, allowed_signers and the new wrap" \
	"$(git -C "$R" diff --name-only main~1 main | tr '\n' ' ')" \
	".sealbox/allowed_signers .sealbox/keys/desktop.wrap .sealbox/policy "
ok "the new device is a member in the policy" \
	grep -q '^device desktop member ' "$T/b/.sealbox/policy"

git -C "$R" show main:.sealbox/allowed_signers >"$T/as"
git -C "$R" -c gpg.ssh.allowedSignersFile="$T/as" log --show-signature main \
	>"$T/log" 2>&1
is "stock git: a good signature on every commit, the enrolment included" \
	"$(grep -c '^Good "git" signature for ' "$T/log")" \
	"$(git -C "$R" rev-list --count main)"
ok "stock git: the enrolment's signer is recovery@sealbox" \
	bash -c 'git -C "$1" -c gpg.ssh.allowedSignersFile="$2" log -1 \
		--show-signature main 2>&1 | grep -q "^Good \"git\" signature for recovery@sealbox"' \
	_ "$R" "$T/as"

"$SEALBOX" info "$T/b" >"$T/info" 2>&1
is "info works on the clone" $? 0
ok "info lists both devices, this one marked" \
	bash -c 'grep -Eq "^  laptop +admin " "$1" && grep -Eq "^  desktop +member .*\(this device\)" "$1"' \
	_ "$T/info"
ok "info shows the remote" grep -q "^remote: *$URL" "$T/info"

# --- the same plaintext on both devices --------------------------------
sb_mount "$T/a" "$T/ma"
sb_mount "$T/b" "$T/mb"
ok "both mounts show the same tree" diff -r "$T/ma" "$T/mb"
is "a file's mtime arrived" \
	"$(stat -c %Y "$T/mb/mail/cur/1001.M1P1.host:2,S")" 1600000000
is "another file's mtime arrived" \
	"$(stat -c %Y "$T/mb/contacts/u1.vcf")" 1500000000
ok "the Sent folder arrived with its message" \
	test -f "$T/mb/mail/.Sent/cur/2001.M2P2.host:2,S"
ok "the large file arrived intact" cmp "$T/ma/calendars/big.bin" \
	"$T/mb/calendars/big.bin"
ok "the empty Maildir folders exist on the clone" \
	test -d "$T/mb/mail/tmp" -a -d "$T/mb/mail/new"

# The second device's commits are accepted by the first one.
printf 'from the desktop\n' >"$T/mb/mail/new/3001.M3P3.desktop"
sb_umount "$T/mb"
sb_umount "$T/ma"
ok "the clone syncs a change of its own" \
	"$SEALBOX" sync --passphrase-file "$P" "$T/b"
ok "the first device accepts it" \
	"$SEALBOX" sync --passphrase-file "$P" "$T/a"
sb_mount "$T/a" "$T/ma"
is "...and shows it" "$(cat "$T/ma/mail/new/3001.M3P3.desktop" 2>&1)" \
	"from the desktop"
sb_umount "$T/ma"

# --- refusals --------------------------------------------------------------
sb_vault other
refused "another vault's recovery key" "another recovery key" "$T/c" -- \
	--recovery-file "$T/other.recovery" "$URL" "$T/c"

mkdir -p "$T/full" && echo x >"$T/full/f"
"$SEALBOX" clone --passphrase-file "$P" --recovery-file "$T/a.recovery" \
	"$URL" "$T/full" 2>"$T/err"
is "a non-empty target is refused" "$(cat "$T/err")" \
	"sealbox: $T/full exists and is not empty; choose a new folder for the vault"
ok "...and left untouched" test "$(ls -A "$T/full")" = f

refused "a device name already enrolled" 'already has a device named "laptop"' \
	"$T/d" -- --device laptop --recovery-file "$T/a.recovery" "$URL" "$T/d"

# An admin device, cloned into an existing empty folder.
mkdir "$T/f"
ok "clone --admin into an empty folder" \
	"$SEALBOX" clone --admin --device phone --passphrase-fd 3 \
	--recovery-file "$T/a.recovery" "$URL" "$T/f" 3<"$P"
ok "...enrols it as an admin" grep -q '^device phone admin ' "$T/f/.sealbox/policy"

# A clone that was killed half way (its marker is still there) is redone.
mkdir -p "$T/g/.git/sealbox" && echo junk >"$T/g/half-written"
echo "$URL" >"$T/g/.git/sealbox/clone-incomplete"
ok "clone starts an interrupted clone again" \
	"$SEALBOX" clone --device tablet --passphrase-file "$P" \
	--recovery-file "$T/a.recovery" "$URL" "$T/g"
ok "...without what the interrupted one left" test ! -e "$T/g/half-written"
ok "...and leaves no marker behind" \
	test ! -e "$T/g/.git/sealbox/clone-incomplete"

# An unsigned commit on top of the remote's history.
git clone -q "$R" "$T/w" 2>/dev/null
git -C "$T/w" -c user.name=mallory -c user.email=m@example.org \
	-c commit.gpgsign=false commit -q --allow-empty -m "unsigned"
bad=$(git -C "$T/w" rev-parse HEAD)
git init -q --bare --initial-branch=main "$T/evil.git"
git -C "$T/w" push -q "$T/evil.git" HEAD:main
refused "an unsigned commit on top" "commit ${bad:0:12} refused: it is not signed" \
	"$T/e" -- --recovery-file "$T/a.recovery" "file://$T/evil.git" "$T/e"

sb_done
