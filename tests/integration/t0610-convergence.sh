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
. "$SB_SRC/tests/lib.sh"

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

# TAP TODO: reported, not counted as a failure.
todo() {
	local why=$1 desc=$2 rc
	shift 2
	"$@" >"$T/.out" 2>&1
	rc=$?
	_sb_n=$((_sb_n + 1))
	if [ $rc = 0 ]; then
		echo "ok $_sb_n - $desc # TODO $why"
	else
		echo "not ok $_sb_n - $desc # TODO $why"
		sed 's/^/# /' "$T/.out" | head -10
	fi
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
# BUG: sync/merge names a kept copy "<name>.sealbox-conflict-<device>"
# (numbered when that exists) checking only our side's tree: when the
# other side already has a kept copy of that name that ours lacks, the new
# copy replaces it and the older kept version disappears from the tree.
# Reproduction (three devices alpha, beta, gamma mounted on a file://
# remote, all synced; commit delay and fetch interval 3600):
#   echo "alpha's" >a/notes.txt; echo "beta's" >b/notes.txt;
#   echo "gamma's" >c/notes.txt
#   sealbox sync c      # remote: gamma's
#   sealbox sync a      # merge: alpha's, copy -gamma = gamma's
#   sealbox sync c      # fast-forward
#   touch c/other; sealbox sync c    # the head is signed by gamma
#   sealbox sync b      # "merged ... from gamma: ... 1 kept both"
#   grep . b/notes.txt*
#   b/notes.txt:beta's
#   b/notes.txt.sealbox-conflict-gamma:alpha's     <- "gamma's" is gone
# Hit by the default run (seed 20261128, 300 operations, 12 rounds) and
# by SEED=3 CONVERGE_OPS=400 CONVERGE_ROUNDS=15 (about 2 runs in 3).
# The cause, as read: sb_mergetree_taken() (sync/mergetree.c) takes the
# merge *result* of an item that sorts after "<name>" and is not merged
# yet, so theirs' "<name>.sealbox-conflict-<device>" looks free.
todo "kept copies can overwrite each other (BUG above)" \
	"every version of the note nobody overwrote is kept" check notes_kept

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
