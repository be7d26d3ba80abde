#!/bin/bash
# A hostile remote (issue 4, "Attacks"): an unsigned commit, a commit
# signed by an unknown key, a member device that makes itself admin, a
# remote reset to an older commit, rewritten history and a corrupted
# object are each refused with a clear message, and the store, the mount
# and refs/heads/main stay exactly as they were.
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"
plan 25

P=$(sb_passfile)
R=$T/remote.git
git init -q --bare -b main "$R" || bail "git init --bare failed"
V=$T/va
"$SEALBOX" init --device alpha --remote "file://$R" --passphrase-file "$P" \
	--recovery-file "$T/rec" "$V" >"$T/init.log" 2>&1 ||
	bail "init failed: $(cat "$T/init.log")"
git -C "$V" config sealbox.commitDelay 3600
git -C "$V" config sealbox.fetchInterval 3600
sb_mount "$V" "$T/a"
A=$T/a
mkdir -p "$A/mail/cur" && echo "first message" >"$A/mail/cur/1.host:2,S"
"$SEALBOX" sync "$V" >/dev/null || bail "first sync failed"
good1=$(git --git-dir="$R" rev-parse main)

# What must not change: every file of the vault but git's and sealbox's
# own bookkeeping, the plaintext tree, and main.
snapshot() {
	(cd "$V" && find . -path ./.git -prune -o -type f -print0 | sort -z |
		xargs -0 sha256sum) >"$T/snap.store"
	(cd "$A" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$T/snap.plain"
	git -C "$V" rev-parse main >"$T/snap.head"
}
unchanged() {
	(cd "$V" && find . -path ./.git -prune -o -type f -print0 | sort -z |
		xargs -0 sha256sum) | cmp -s - "$T/snap.store" &&
	(cd "$A" && find . -type f -print0 | sort -z | xargs -0 sha256sum) |
		cmp -s - "$T/snap.plain" &&
	git -C "$V" rev-parse main | cmp -s - "$T/snap.head"
}
# attack NAME PATTERN: sync must fail, say PATTERN, and change nothing.
attack() {
	snapshot
	"$SEALBOX" sync "$V" >"$T/out" 2>&1
	rc=$?
	ok "$1: sync fails" test $rc != 0
	ok "$1: the message says why" grep -Eq "$2" "$T/out"
	[ $rc != 0 ] && grep -Eq "$2" "$T/out" || sed 's/^/#   /' "$T/out"
	ok "$1: store, mount and main unchanged" unchanged
}
restore() { git --git-dir="$R" update-ref refs/heads/main "$1"; }

git clone -q "$R" "$T/evil" || bail "git clone failed"
E=$T/evil
git -C "$E" config user.name mallory
git -C "$E" config user.email mallory@example.com

echo junk >"$E/junk"
git -C "$E" add junk && git -C "$E" commit -qm "unsigned" && git -C "$E" push -q origin HEAD:main
attack "unsigned commit" "refused.*not signed"
ok "status shows the refusal" \
	bash -c '"$SEALBOX" status "$1" | grep -Eq "refused.*not signed"' _ "$V"
restore "$good1"

ssh-keygen -q -t ed25519 -N '' -f "$T/mallory" || bail "ssh-keygen failed"
git -C "$E" reset -q --hard "$good1"
echo junk2 >"$E/junk2"
git -C "$E" add junk2 &&
	git -C "$E" -c gpg.format=ssh -c user.signingkey="$T/mallory" commit -S -qm "signed by a stranger" &&
	git -C "$E" push -qf origin HEAD:main
attack "unknown key" "refused.*(not authorize|does not authorize)"
restore "$good1"

# A member device (beta) promotes itself to admin, signed by itself: the
# owner of beta's key file crafts the commit with stock git.
"$SEALBOX" clone --device beta --passphrase-file "$P" --recovery-file "$T/rec" \
	"file://$R" "$T/vb" >"$T/clone.log" 2>&1 || bail "clone failed: $(cat "$T/clone.log")"
"$SEALBOX" sync "$V" >/dev/null || bail "sync after the enrolment failed"
good2=$(git --git-dir="$R" rev-parse main)
seed=$("$SB_BUILD/tests/tools/sb-keydump" "$T/vb" beta "$P" | awk '$1 == "ed25519-seed" { print $2 }')
"$SB_BUILD/tests/tools/sb-sigtool" privkey "$seed" >"$T/beta.key" && chmod 600 "$T/beta.key"
git -C "$E" fetch -q origin && git -C "$E" reset -q --hard origin/main
sed -i 's/^device beta member /device beta admin /' "$E/.sealbox/policy"
git -C "$E" -c gpg.format=ssh -c user.signingkey="$T/beta.key" \
	-c user.name=beta -c user.email=beta@sealbox commit -S -qam "beta is admin now" &&
	git -C "$E" push -q origin HEAD:main
ok "beta's self-promotion is on the remote and verifies with stock git" \
	git -C "$E" -c gpg.ssh.allowedSignersFile="$E/.sealbox/allowed_signers" verify-commit HEAD
attack "member changes the policy" "refused.*\.sealbox/ without an admin"
restore "$good2"
ok "the honest remote syncs again" "$SEALBOX" sync "$V"

# Rollback: the remote goes back to an older commit.
echo "second message" >"$A/mail/cur/2.host:2,S"
"$SEALBOX" sync "$V" >/dev/null || bail "sync failed"
good3=$(git --git-dir="$R" rev-parse main)
restore "$good2"
attack "remote reset to an older commit" "rolled back or rewritten"
restore "$good3"

# Rewritten history: good3 replaced by another child of good2.
tree=$(git --git-dir="$R" rev-parse "$good3^{tree}")
fake=$(git --git-dir="$R" commit-tree -p "$good2" -m rewritten "$tree")
restore "$fake"
attack "rewritten history" "rolled back or rewritten|not signed"
restore "$good3"

# A corrupted object: a new commit whose loose object is damaged.
git -C "$E" fetch -q origin && git -C "$E" reset -q --hard origin/main
echo junk3 >"$E/junk3" && git -C "$E" add junk3 &&
	git -C "$E" commit -qm "to be damaged" && git -C "$E" push -q origin HEAD:main
bad=$(git --git-dir="$R" rev-parse main)
obj=$R/objects/${bad:0:2}/${bad:2}
chmod u+w "$obj" && printf '\x78\x01garbage' | dd of="$obj" bs=1 seek=0 conv=notrunc status=none
attack "corrupted object" "corrupt|inflate|damaged|cannot|failed"
restore "$good3"

ok "after all that, the honest remote syncs" "$SEALBOX" sync "$V"
is "main is the honest head" "$(git -C "$V" rev-parse main)" "$good3"
ok "the mount still reads every message" \
	bash -c 'grep -q "first message" "$1/mail/cur/1.host:2,S" && grep -q "second message" "$1/mail/cur/2.host:2,S"' _ "$A"
ok "fsck is clean" "$SEALBOX" fsck --passphrase-file "$P" "$V"
sb_done
