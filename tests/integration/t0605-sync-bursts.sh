#!/bin/bash
# The sync service's timing (cmd/syncd.c): a burst of changes becomes one
# commit once it has been quiet for commitDelay, also when the periodic
# fetch falls due in the middle of it (the fetch waits for the burst's
# batch instead of committing half of it); a fetch falling due with
# nothing pending runs at once.
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"

[ -c /dev/fuse ] || skip_all "no /dev/fuse"
V=$T/v M=$T/mnt
sb_vault v
git -C "$V" config sealbox.commitDelay 2
git -C "$V" config sealbox.commitMax 30
git -C "$V" config sealbox.fetchInterval 1
commits() { git -C "$V" rev-list --count refs/heads/main 2>/dev/null || echo 0; }
# waits until main stays the same for 4 s (twice commitDelay), 30 s at most
settle() {
	local last now i=0 same=0
	last=$(commits)
	while [ $same -lt 8 ] && [ $i -lt 60 ]; do
		sleep 0.5
		now=$(commits)
		if [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; fi
		last=$now i=$((i + 1))
	done
	echo "$last"
}

sb_mount "$V" "$M"
mkdir -p "$M/mail/INBOX/new"
c0=$(settle)
# 12 messages 0.4 s apart: 4.8 s of changes never quiet for 2 s, across
# four or five fetch ticks
for i in $(seq 1 12); do
	printf 'Subject: %s\n\nbody\n' "$i" >"$M/mail/INBOX/new/$i.host"
	sleep 0.4
done
c1=$(settle)
is "the burst is one commit, fetch ticks or not" "$((c1 - c0))" 1
is "and that commit holds all 12 messages" \
	"$(git -C "$V" diff-tree --no-commit-id --name-only -r main | wc -l)" 12
# nothing pending: a tick does not wait (the fetch is local here: no
# remote), and a single change commits after its delay as before
printf 'Subject: last\n\nbody\n' >"$M/mail/INBOX/new/last.host"
c2=$(settle)
is "a lone change is one more commit" "$((c2 - c1))" 1
ok "sealbox umount" sb_umount "$M"

plan "$_sb_n"
sb_done
