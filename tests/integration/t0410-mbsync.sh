#!/bin/bash
# Real tools on the mount, part 2: mbsync pulls 1,000 messages from a dovecot
# IMAP server on 127.0.0.1 into the mount's Maildir, flag changes travel both
# ways (server STORE -> file renamed in the mount; file renamed in the mount
# -> \Flagged on the server), and a second run with nothing to do changes
# nothing on either side.
#
# SB_NATIVE=1 runs the same checks on a plain directory.
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"
. "$SB_SRC/tests/integration/lib-tools.sh"
sb_need mbsync
sb_need_dovecot
plan 24

N=1000
sb_target
MD=$M/mail

# The server's Maildir: N messages, arrival times one minute apart.
SRV=$T/srv
mkdir -p "$SRV/cur" "$SRV/new" "$SRV/tmp"
"$PY" - "$SRV" $N <<'EOF'
import os, sys
srv, n = sys.argv[1], int(sys.argv[2])
base = 1704067200  # 2024-01-01 00:00:00 UTC
for i in range(n):
    filler = ("lorem ipsum %d " % i) * (3000 if i % 89 == 0 else 15)
    body = ("From: Sender %d <s%d@example.org>\n"
            "To: Alice <alice@example.org>\n"
            "Subject: server message %d\n"
            "Message-ID: <srv%d@sealbox.test>\n"
            "\n"
            "Body %d.\n%s\n" % (i, i, i, i, i, filler))
    path = os.path.join(srv, "cur", "%d.M%dP1.server:2,%s"
                        % (base + 60 * i, i, "S" if i % 2 else ""))
    with open(path, "w") as f:
        f.write(body)
    os.utime(path, (base + 60 * i, base + 60 * i))
EOF
chmod 711 "$T"
chown -R "$SB_MAIL_USER:$SB_MAIL_GROUP" "$SRV"
sb_dovecot "$SRV"

cat >"$T/mbsyncrc" <<EOF
IMAPAccount server
Host 127.0.0.1
Port $DOVECOT_PORT
User test
Pass secret
SSLType None
AuthMechs PLAIN LOGIN

IMAPStore server
Account server

MaildirStore mount
Path $MD/
Inbox $MD
SubFolders Verbatim

Channel mail
Far :server:
Near :mount:
Patterns INBOX
Create Near
Sync All
Expunge Both
CopyArrivalDate yes
SyncState *
EOF

mbsync_run() { sb_run "$T/mbsync.out" mbsync -c "$T/mbsyncrc" -q -a; }

# imaplib on the server: "flagged" prints the Message-IDs flagged there;
# "flag ID..." sets \Flagged on those messages; "count" prints EXISTS.
cat >"$T/imap.py" <<'EOF'
import imaplib, re, sys
c = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
c.login("test", "secret")
typ, data = c.select("INBOX")
cmd = sys.argv[2]
if cmd == "count":
    print(int(data[0]))
else:
    typ, data = c.uid("FETCH", "1:*",
        "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    ids = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        uid = re.search(rb"UID (\d+)", item[0]).group(1).decode()
        mid = re.search(rb"<([^>]*)>", item[1]).group(1).decode()
        ids[mid] = (uid, b"\\Flagged" in item[0])
    if cmd == "flagged":
        print(" ".join(sorted(m for m, (u, f) in ids.items() if f)))
    elif cmd == "flag":
        for mid in sys.argv[3:]:
            typ, _ = c.uid("STORE", ids[mid][0], "+FLAGS", "(\\Flagged)")
            assert typ == "OK", typ
c.logout()
EOF
imap() { "$PY" "$T/imap.py" "$DOVECOT_PORT" "$@"; }

# The mount's file for a Message-ID.
local_file() {
	grep -l -x -F "Message-ID: <$1>" "$MD"/cur/* "$MD"/new/* 2>/dev/null
}

# Flags of a Maildir file name (after ":2,"), or "-" for none.
flags_of() {
	case $1 in *:2,?*) echo "${1##*:2,}" ;; *) echo - ;; esac
}

is "the server holds $N messages" "$(imap count 2>&1)" $N
ok "mbsync pulls the server's INBOX into the mount" mbsync_run
is "the mount holds $N messages" \
	"$(find "$MD/cur" "$MD/new" -type f | wc -l)" $N
is "tmp/ is empty" "$(ls -A "$MD/tmp" | wc -l)" 0

# mbsync adds an X-TUID header to each message it stores (to find it again
# after an interruption); everything else must be the server's bytes.
ok "every message reads back byte for byte (apart from mbsync's X-TUID)" \
	"$PY" - "$SRV" "$MD" <<'EOF'
import os, re, sys
def load(d):
    out = {}
    for sub in ("cur", "new"):
        for name in os.listdir(os.path.join(d, sub)):
            with open(os.path.join(d, sub, name), "rb") as f:
                data = f.read()
            mid = re.search(rb"^Message-ID: <([^>]*)>", data, re.M).group(1)
            data = re.sub(rb"^X-TUID: [^\n]*\n", b"", data, count=1, flags=re.M)
            out[mid] = (data, name)
    return out
srv, loc = load(sys.argv[1]), load(sys.argv[2])
assert len(srv) == len(loc), (len(srv), len(loc))
bad = [m for m in srv if m not in loc or srv[m][0] != loc[m][0]]
assert not bad, "differ: %r" % bad[:5]
EOF

ok "seen flags arrive in the names (odd messages :2,S)" "$PY" - "$MD" <<'EOF'
import os, re, sys
bad = []
for sub in ("cur", "new"):
    for name in os.listdir(os.path.join(sys.argv[1], sub)):
        data = open(os.path.join(sys.argv[1], sub, name), "rb").read()
        i = int(re.search(rb"^Message-ID: <srv(\d+)@", data, re.M).group(1))
        flags = name.split(":2,")[1] if ":2," in name else ""
        if ("S" in flags) != bool(i % 2) or "F" in flags:
            bad.append(name)
assert not bad, bad[:5]
EOF

ok "arrival times become the files' mtimes (utime on the mount)" "$PY" - "$MD" <<'EOF'
import os, re, sys
bad = []
for sub in ("cur", "new"):
    for name in os.listdir(os.path.join(sys.argv[1], sub)):
        p = os.path.join(sys.argv[1], sub, name)
        i = int(re.search(rb"^Message-ID: <srv(\d+)@", open(p, "rb").read(),
                          re.M).group(1))
        if int(os.stat(p).st_mtime) != 1704067200 + 60 * i:
            bad.append((name, os.stat(p).st_mtime))
assert not bad, bad[:5]
EOF

# Server -> mount: \Flagged set with IMAP STORE.
ok "imaplib sets \\Flagged on 5 messages on the server" \
	imap flag srv10@sealbox.test srv11@sealbox.test srv500@sealbox.test \
	srv998@sealbox.test srv999@sealbox.test
for m in 10 11 500 998 999; do
	before[$m]=$(local_file srv$m@sealbox.test)
done
ok "mbsync after the server-side flag change" mbsync_run
res=
for m in 10 11 500 998 999; do
	f=$(local_file srv$m@sealbox.test)
	[ -n "$f" ] && [ -f "$f" ] && [ "$f" != "${before[$m]}" ] || res="$res srv$m:notrenamed"
	case $(flags_of "$f") in *F*) ;; *) res="$res srv$m:$(flags_of "$f")" ;; esac
	[ -e "${before[$m]}" ] && res="$res srv$m:oldname-left"
done
is "the 5 files in the mount were renamed with F in their flags" "$res" ""
is "no other file in the mount is flagged" \
	"$(find "$MD/cur" "$MD/new" -name '*:2,*F*' | wc -l)" 5

# Mount -> server: flag by renaming the file, as a mail reader does.
flag_local() {
	f=$(local_file "$1") || return 1
	fl=$(flags_of "$f")
	[ "$fl" = - ] && fl=
	new=$(echo "${fl}F" | fold -w1 | LC_ALL=C sort | tr -d '\n')
	mv "$f" "$MD/cur/$(basename "${f%%:2,*}"):2,$new"
}
unflag_local() {
	f=$(local_file "$1") || return 1
	fl=$(flags_of "$f")
	mv "$f" "$MD/cur/$(basename "${f%%:2,*}"):2,${fl//F/}"
}
flag_local4() {
	flag_local srv20@sealbox.test && flag_local srv21@sealbox.test &&
		flag_local srv600@sealbox.test && flag_local srv601@sealbox.test
}
ok "renaming 4 files in the mount adds F" flag_local4
ok "renaming one flagged file in the mount removes F" \
	unflag_local srv500@sealbox.test
ok "mbsync after the local flag changes" mbsync_run
is "the server shows \\Flagged on exactly the expected messages" \
	"$(imap flagged 2>&1)" \
	"srv10@sealbox.test srv11@sealbox.test srv20@sealbox.test srv21@sealbox.test srv600@sealbox.test srv601@sealbox.test srv998@sealbox.test srv999@sealbox.test"
is "the server still holds $N messages, the mount too" \
	"$(imap count 2>&1) $(find "$MD/cur" "$MD/new" -type f | wc -l)" "$N $N"

# A run with nothing to do: no file renamed, rewritten or touched.
ok "mbsync settles (one more run)" mbsync_run
sb_listing "$MD" >"$T/mount.1"
sb_listing "$SRV" | grep -v '/dovecot' >"$T/srv.1"
stat -c '%Y.%y' "$MD/cur" "$MD/new" >"$T/dirs.1"
ok "a second mbsync run with nothing to do" mbsync_run
sb_listing "$MD" >"$T/mount.2"
sb_listing "$SRV" | grep -v '/dovecot' >"$T/srv.2"
stat -c '%Y.%y' "$MD/cur" "$MD/new" >"$T/dirs.2"
ok "...renames, rewrites and touches no file in the mount" \
	diff "$T/mount.1" "$T/mount.2"
ok "...leaves cur/ and new/ mtimes as they were" diff "$T/dirs.1" "$T/dirs.2"
ok "...and changes no message file on the server" diff "$T/srv.1" "$T/srv.2"
is "the listing still holds $N messages" "$(grep -c '^\./\(cur\|new\)/' "$T/mount.2")" $N

ok "mbsync's state file is in the mount" test -s "$MD/.mbsyncstate"
ok "dovecot logged no error or warning" \
	bash -c '! grep -E "Error|Panic|Fatal|Warning" "$1"' _ "$T/dovecot/log"
sb_server_stop dovecot

sb_done
