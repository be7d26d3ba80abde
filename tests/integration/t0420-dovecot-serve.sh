#!/bin/bash
# Real tools on the mount, part 3: dovecot serves the mount's Maildir over
# IMAP (its index files, mmap and fcntl locks in the mount too) and an IMAP
# client (python's imaplib) lists, fetches, flags, copies, appends and
# expunges; the files in the mount show each change, and a message delivered
# into the mount behind dovecot's back shows up over IMAP.
#
# Dovecot's mail processes never run as root, so the mount is made with
# allow_other,default_permissions and the mail tree is chowned to them.
# SB_NATIVE=1 runs the same checks on a plain directory.
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"
. "$SB_SRC/tests/integration/lib-tools.sh"
sb_need_dovecot
plan 29

sb_target allow_other,default_permissions
MD=$M/mail
N=40

# N messages in the INBOX (even ones seen, in cur/; odd ones in new/) and 5
# in a Maildir++ folder .Archive.
"$PY" - "$MD" $N <<'EOF'
import mailbox, sys
md = mailbox.Maildir(sys.argv[1], create=False)
arch = md.add_folder("Archive")
def text(i, box):
    return ("From: Sender %d <s%d@example.org>\nTo: alice@example.org\n"
            "Subject: %s message %d\nMessage-ID: <%s%d@sealbox.test>\n\n"
            "Body of %s message %d.\n%s\n"
            % (i, i, box, i, box, i, box, i, "x" * (i * 211 % 5000)))
for i in range(int(sys.argv[2])):
    m = mailbox.MaildirMessage(text(i, "in"))
    if i % 2 == 0:
        m.set_subdir("cur")
        m.set_flags("S")
    md.add(m)
for i in range(5):
    arch.add(text(i, "arch"))
EOF
# Give Archive exactly the INBOX's mode, so that dovecot (which only
# hard-links between folders of equal permissions) copies with link().
chmod --reference="$MD" "$MD/.Archive" "$MD"/.Archive/*
chmod 711 "$T"
ok "chmod 0755 on the mount root" chmod 0755 "$M"
ok "chown -R of the mail tree to dovecot's mail user (as root)" \
	chown -R "$SB_MAIL_USER:$SB_MAIL_GROUP" "$MD"
sb_dovecot "$MD"

cat >"$T/imap.py" <<'EOF'
import imaplib, os, re, sys

port, md, cmd, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
c = imaplib.IMAP4("127.0.0.1", port)
c.login("test", "secret")

def select(box="INBOX"):
    typ, data = c.select(box)
    assert typ == "OK", data
    return int(data[0])

def uids():
    """Message-ID -> (UID, flags) of the selected mailbox."""
    typ, data = c.uid("FETCH", "1:*",
                      "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    out = {}
    for item in data:
        if isinstance(item, tuple):
            uid = re.search(rb"UID (\d+)", item[0]).group(1)
            flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1)
            mid = re.search(rb"<([^>]*)>", item[1]).group(1).decode()
            out[mid] = (uid, flags.decode())
    return out

def files(box):
    """Message-ID -> file path in the mount's folder."""
    d = md if box == "INBOX" else os.path.join(md, "." + box)
    out = {}
    for sub in ("cur", "new"):
        for name in os.listdir(os.path.join(d, sub)):
            p = os.path.join(d, sub, name)
            with open(p, "rb") as f:
                m = re.search(rb"^Message-ID: <([^>]*)>", f.read(), re.M)
            out[m.group(1).decode()] = p
    return out

if cmd == "list":
    typ, data = c.list()
    print(" ".join(sorted(d.decode().split(' "." ')[1].strip('"')
                          for d in data)))
elif cmd == "count":
    print(select(args[0]))
elif cmd == "fetchcmp":
    n = select(args[0])
    f = files(args[0])
    typ, data = c.fetch("1:*", "(BODY.PEEK[])")
    bodies = [item[1] for item in data if isinstance(item, tuple)]
    same = 0
    for b in bodies:
        mid = re.search(rb"^Message-ID: <([^>]*)>", b, re.M).group(1).decode()
        with open(f[mid], "rb") as fh:
            if fh.read() == b.replace(b"\r\n", b"\n"):
                same += 1
            else:
                print("differs:", mid)
    print("%d of %d equal, %d files" % (same, n, len(f)))
elif cmd == "store":
    select()
    u = uids()
    for mid in args[1:]:
        typ, data = c.uid("STORE", u[mid][0], args[0].split()[0],
                          "(%s)" % args[0].split()[1])
        assert typ == "OK", data
elif cmd == "flags":
    select(args[0])
    u = uids()
    print(u[args[1]][1])
elif cmd == "copy":
    select()
    typ, data = c.uid("COPY", uids()[args[0]][0], args[1])
    assert typ == "OK", data
elif cmd == "append":
    with open(args[2], "rb") as f:
        typ, data = c.append(args[0], args[1], None, f.read())
    assert typ == "OK", data
elif cmd == "expunge":
    select()
    u = uids()
    for mid in args:
        typ, data = c.uid("STORE", u[mid][0], "+FLAGS", "(\\Deleted)")
        assert typ == "OK", data
    typ, data = c.expunge()
    assert typ == "OK", data
    print(len(data))
c.logout()
EOF
imap() { "$PY" "$T/imap.py" "$DOVECOT_PORT" "$MD" "$@"; }

# The file in the mount holding a Message-ID (INBOX unless a folder given).
mfile() {
	d=$MD
	[ -n "${2:-}" ] && d=$MD/.$2
	grep -l -x -F "Message-ID: <$1>" "$d"/cur/* "$d"/new/* 2>/dev/null
}

is "LIST shows INBOX and the Maildir++ folder" "$(imap list 2>&1)" "Archive INBOX"
is "SELECT INBOX counts $N messages" "$(imap count INBOX 2>&1)" $N
is "FETCH BODY[] of every INBOX message equals its file in the mount" \
	"$(imap fetchcmp INBOX 2>&1)" "$N of $N equal, $N files"
is "...and in the Archive folder" "$(imap fetchcmp Archive 2>&1)" "5 of 5 equal, 5 files"
ok "dovecot keeps its index and uid list in the mount" \
	test -s "$MD/dovecot-uidlist" -a -s "$MD/dovecot.index.log"

# Flags: STORE renames the files.
old4=$(mfile in4@sealbox.test) old5=$(mfile in5@sealbox.test)
ok "STORE +FLAGS \\Flagged on two messages" \
	imap store '+FLAGS \Flagged' in4@sealbox.test in5@sealbox.test
f4=$(mfile in4@sealbox.test) f5=$(mfile in5@sealbox.test)
is "the seen message's file is renamed to :2,FS in cur/" \
	"${f4#"$MD"/}" "cur/$(basename "${old4%%:2,*}"):2,FS"
is "the unseen one moves from new/ to cur/ as :2,F" \
	"${f5#"$MD"/}" "cur/$(basename "${old5%%:2,*}"):2,F"
nok "the old names are gone" test -e "$old4" -o -e "$old5"
ok "STORE -FLAGS \\Seen" imap store '-FLAGS \Seen' in4@sealbox.test
f4=$(mfile in4@sealbox.test)
is "...renames the file to :2,F" "$(basename "$f4")" "$(basename "${old4%%:2,*}"):2,F"
is "a new connection sees the flags" "$(imap flags INBOX in4@sealbox.test 2>&1)" '\Flagged'

# COPY: dovecot hard-links the file into the other folder.
src=$(mfile in6@sealbox.test)
ok "COPY a message to Archive" imap copy in6@sealbox.test Archive
dst=$(mfile in6@sealbox.test Archive)
ok "the copy is a file in the mount's .Archive" test -f "$dst"
is "...a hard link of the original (same inode, 2 links)" \
	"$(stat -c '%i %h' "$dst")" "$(stat -c '%i' "$src") 2"
is "Archive counts 6" "$(imap count Archive 2>&1)" 6

# APPEND: a new file appears in the mount.
printf 'From: bob@example.org\r\nTo: alice@example.org\r\nSubject: appended\r\nMessage-ID: <app1@sealbox.test>\r\n\r\nAppended over IMAP.\r\n' >"$T/app1"
ok "APPEND a message with \\Seen to INBOX" imap append INBOX '(\Seen)' "$T/app1"
f=$(mfile app1@sealbox.test)
case $f in "$MD"/cur/*:2,S) r= ;; *) r="file: ${f:-none}" ;; esac
is "it appears in the mount's cur/ with :2,S" "$r" ""
ok "...holding the appended message (LF line ends)" \
	bash -c 'tr -d "\r" <"$1" | cmp - "$2"' _ "$T/app1" "$f"
is "...owned by dovecot's mail user (the caller)" \
	"$(stat -c %U "$f" 2>&1)" "$SB_MAIL_USER"
is "SELECT INBOX counts $((N + 1))" "$(imap count INBOX 2>&1)" $((N + 1))

# EXPUNGE: files go away.
e1=$(mfile in10@sealbox.test) e2=$(mfile in11@sealbox.test)
is "EXPUNGE of two messages" "$(imap expunge in10@sealbox.test in11@sealbox.test 2>&1)" 2
nok "their files are gone from the mount" test -e "$e1" -o -e "$e2"
is "the mount holds $((N - 1)) INBOX files, IMAP counts $((N - 1))" \
	"$(find "$MD/cur" "$MD/new" -type f | wc -l) $(imap count INBOX 2>&1)" \
	"$((N - 1)) $((N - 1))"

# A delivery into the mount behind dovecot's back (as an MDA would).
"$PY" - "$MD" <<'EOF'
import mailbox, sys
mailbox.Maildir(sys.argv[1], create=False).add(
    "From: carol@example.org\nSubject: late\nMessage-ID: <late@sealbox.test>\n\nLate.\n")
EOF
chown "$SB_MAIL_USER:$SB_MAIL_GROUP" "$MD"/new/*
is "a message delivered into the mount shows up over IMAP" \
	"$(imap count INBOX 2>&1)" $N
is "...and fetches equal to its file" "$(imap fetchcmp INBOX 2>&1)" "$N of $N equal, $N files"

ok "dovecot logged no error or warning" \
	bash -c '! grep -E "Error|Panic|Fatal|Warning" "$1"' _ "$T/dovecot/log"
sb_server_stop dovecot

sb_done
