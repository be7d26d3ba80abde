#!/bin/bash
# Seeded randomized convergence (issue 4, "How it is checked", second
# bullet): three mounted devices sharing a bare file:// remote do hundreds
# of random operations each (Maildir++ delivery, new -> cur, flag changes,
# moves between folders, deletes, new folders, vCard create / per-property
# edit / delete, edits of a plain note) in rounds, syncing in a random order
# after each round. At the end all trees are identical, nothing that was
# not deleted is lost, and flags, mtimes, contacts and the note obey the
# merge rules (tests/tools/converge.py says exactly what is asserted and
# why it is guaranteed). Every vault is fsck-clean and all heads agree.
#
#   SEED=N           another seed (the seed is printed; default fixed)
#   CONVERGE_OPS=N   operations per device (default 300)
#   CONVERGE_ROUNDS=N  rounds (default 12)
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"

SEED=${SEED:-20261128}
OPS=${CONVERGE_OPS:-300}
ROUNDS=${CONVERGE_ROUNDS:-12}
CONVERGE=$SB_SRC/tests/tools/converge.py
diag "seed $SEED, $OPS operations per device, $ROUNDS rounds" \
	"(SEED=$SEED CONVERGE_OPS=$OPS CONVERGE_ROUNDS=$ROUNDS to repeat)"

"$SEALBOX" help 2>&1 | grep -q '^  sync ' || skip_all "no sealbox sync yet"
plan 23

P=$(sb_passfile)
R=$T/remote.git
git init -q --bare --initial-branch=main "$R" || bail "git init --bare failed"

# Commits, fetches and pushes only when the driver syncs: syncs then run
# one at a time, so every merge has one merge base (what converge.py's
# checks rely on).
quiet() {
	git -C "$1" config sealbox.commitDelay 3600 &&
	git -C "$1" config sealbox.commitMax 3600 &&
	git -C "$1" config sealbox.fetchInterval 3600
}

ok "first device: init with a file:// remote" \
	"$SEALBOX" init --device alpha --remote "file://$R" \
	--passphrase-file "$P" --recovery-file "$T/rec" "$T/va"
[ -d "$T/va/.git" ] || bail "init failed"
quiet "$T/va"
sb_mount "$T/va" "$T/a"
mkdir -p "$T/a"/mail/{cur,new,tmp} "$T/a/contacts/default"
ok "first device syncs the base" "$SEALBOX" sync "$T/va"

for d in beta:b gamma:c; do
	v=$T/v${d#*:}
	ok "${d%:*} clones" "$SEALBOX" clone --device "${d%:*}" \
		--passphrase-file "$P" --recovery-file "$T/rec" "file://$R" "$v"
	[ -d "$v/.git" ] || bail "clone ${d%:*} failed"
	quiet "$v"
	sb_mount "$v" "$T/${d#*:}"
done

start=$(date +%s)
ok "the driver runs (seed $SEED)" python3 "$CONVERGE" run \
	--model "$T/model.json" --seed "$SEED" --ops "$OPS" --rounds "$ROUNDS" \
	--sealbox "$SEALBOX" \
	alpha="$T/va=$T/a" beta="$T/vb=$T/b" gamma="$T/vc=$T/c"
sed -n '/^# /p' "$T/.out" | tail -4
diag "driver: $(($(date +%s) - start)) s"
[ -f "$T/model.json" ] || bail "the driver wrote no model"

# The mount shows a sync's result within a second.
sleep 1.2
check() { python3 "$CONVERGE" check "$T/model.json" "$1" "$T/a" "$T/b" "$T/c"; }
ok "every sync succeeded" check syncs
ok "alpha and beta hold identical trees" diff -r "$T/a" "$T/b"
ok "beta and gamma hold identical trees" diff -r "$T/b" "$T/c"
ok "every message nobody deleted is there once, deleted ones stay deleted" \
	check messages
ok "flags merge per flag, new -> cur and folders three-way" check flags
ok "message mtimes travel with the messages" check mtimes
ok "every folder created is everywhere with cur/ new/ tmp/" check folders
ok "contacts merge per property; nothing added is lost" check contacts
ok "the note holds only versions somebody wrote, the last one when it saw all" \
	check notes
# A kept copy never replaces another kept copy that only the other side
# had so far (fixed in sync/mergetree.c; it was hit by the default seed).
ok "every version of the note nobody overwrote is kept" check notes_kept

heads() {
	for v in "$T/va" "$T/vb" "$T/vc"; do
		git -C "$v" rev-parse -q --verify refs/heads/main || echo none
	done
	git --git-dir="$R" rev-parse -q --verify refs/heads/main || echo none
}
is "all three devices and the remote agree on main" \
	"$(heads | sort -u | wc -l)" 1
# Applying another device's changes is not a local change: after the last
# round nothing is left to commit (a sync adds no commit).
h=$(git -C "$T/va" rev-parse -q --verify refs/heads/main)
"$SEALBOX" sync "$T/va" >/dev/null 2>&1
is "a further sync of a converged device commits nothing" \
	"$(git -C "$T/va" rev-parse -q --verify refs/heads/main)" "$h"

for m in a b c; do
	ok "unmount $m" "$SEALBOX" umount "$T/$m"
done
for v in va vb vc; do
	ok "fsck $v is clean" "$SEALBOX" fsck --passphrase-file "$P" "$T/$v"
done
sb_done
