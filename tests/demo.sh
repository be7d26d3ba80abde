#!/bin/sh
# make demo: a vault with a sample mailbox, mounted, ready for a mail client,
# syncing to a local bare repository.
#   DEMO_DIR (default ./demo) holds the vault, the mount point, the remote
#   (remote.git), the demo passphrase and the recovery key. Running it
#   again reuses them.
set -eu
: "${SEALBOX:=$(pwd)/sealbox}"
src=$(cd "$(dirname "$0")/.." && pwd)
demo=${DEMO_DIR:-$src/demo}
vault=$demo/vault
mnt=$demo/Mailbox
pass=$demo/passphrase
remote=$demo/remote.git

mkdir -p "$demo"
chmod 700 "$demo"
[ -f "$pass" ] || printf 'demo passphrase, change me\n' >"$pass"
chmod 600 "$pass"

if [ ! -d "$remote" ]; then
	echo "== creating the remote $remote (a bare git repository)"
	git init -q --bare -b main "$remote"
fi
if [ ! -d "$vault" ]; then
	echo "== creating the demo vault $vault"
	"$SEALBOX" init --device demo-laptop --remote "file://$remote" \
		--passphrase-file "$pass" \
		--recovery-file "$demo/recovery-key" "$vault"
	fresh=1
else
	fresh=0
fi

if ! mountpoint -q "$mnt" 2>/dev/null; then
	"$SEALBOX" umount "$mnt" >/dev/null 2>&1 || true
	mkdir -p "$mnt"
	echo "== mounting it at $mnt"
	"$SEALBOX" mount --passphrase-file "$pass" "$vault" "$mnt"
fi
if [ "$fresh" = 1 ]; then
	echo "== writing a sample mailbox (messages, events, contacts)"
	sh "$src/tests/sample-mailbox.sh" "$mnt" 25
fi

echo "== syncing: every change becomes a signed commit on the remote"
"$SEALBOX" sync "$mnt"
echo
echo "== sealbox info $vault"
"$SEALBOX" info "$vault"
echo
echo "== the mailbox as plain files"
( cd "$mnt" && find . -maxdepth 3 -type d | sort | sed 's/^/   /' )
echo "   $(find "$mnt/mail" -type f | wc -l) messages," \
	"$(find "$mnt/calendars" -name '*.ics' | wc -l) events," \
	"$(find "$mnt/contacts" -name '*.vcf' | wc -l) contacts"
echo
echo "== what the disk holds (encrypted names and contents)"
( cd "$vault" && find . -path ./.git -prune -o -type f -print | head -5 | sed 's/^/   /' )
echo
echo "== the remote's history (signed commits, ciphertext only)"
git --git-dir="$remote" log --format='   %h %an: %s' -5 main
echo
echo "== sealbox log $mnt"
"$SEALBOX" log -n 3 --passphrase-file "$pass" "$mnt" | sed 's/^/   /' 
cat <<TXT

Open it with your mail client, e.g.:
    mutt -f $mnt/mail        (or: neomutt -f $mnt/mail)
    notmuch, khal and khard work on $mnt too.
Changes you make in $mnt are committed and pushed to $remote
within seconds; "$SEALBOX status $mnt" shows the sync state. A second
device: $SEALBOX clone --recovery-file $demo/recovery-key file://$remote VAULT2
The passphrase is in $pass, the recovery key in $demo/recovery-key.
Unmount with:  $SEALBOX umount $mnt
TXT
