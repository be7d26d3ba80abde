#!/bin/bash
# Real tools on the mount, part 1: Python's mailbox.Maildir delivers 1,000
# messages (tmp/ + link() into new/, no rename fallback), all read back
# byte for byte; notmuch (database inside the mount) indexes them, finds a
# marker word, and with maildir.synchronize_flags renames files when tags
# change; a second `notmuch new` sees nothing new, a later delivery is seen.
#
# SB_NATIVE=1 runs the same checks on a plain directory (to tell a tool's
# behaviour from the mount's).
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"
. "$SB_SRC/tests/integration/lib-tools.sh"
sb_need notmuch
plan 26

N=1000
sb_target
MD=$M/mail

# A message per number: deterministic, a few larger ones, the marker word in
# every hundredth.
cat >"$T/msgs.py" <<'EOF'
import sys

def message(i):
    marker = "quokkamarker" if i % 100 == 7 else "ordinary"
    filler = ("lorem ipsum %d " % i) * (4000 if i % 97 == 0 else 20)
    return ("From: Sender %d <s%d@example.org>\n"
            "To: Alice <alice@example.org>\n"
            "Subject: message %d\n"
            "Date: Mon, 01 Jan 2024 %02d:%02d:00 +0000\n"
            "Message-ID: <m%d@sealbox.test>\n"
            "\n"
            "Body of message %d, %s.\n%s\n"
            % (i, i, i, i // 60 % 24, i % 60, i, i, marker, filler))
EOF

# Delivery counts link() and rename() calls: mailbox.Maildir falls back to
# rename() when link() fails with EPERM, which would hide a missing link().
cat >"$T/deliver.py" <<'EOF'
import mailbox, os, sys
sys.path.insert(0, os.path.dirname(sys.argv[0]))
from msgs import message
calls = {"link": 0, "rename": 0}
real_link, real_rename = os.link, os.rename
def link(*a, **k):
    calls["link"] += 1
    return real_link(*a, **k)
def rename(*a, **k):
    calls["rename"] += 1
    return real_rename(*a, **k)
os.link, os.rename = link, rename
md = mailbox.Maildir(sys.argv[1], create=False)
for i in range(int(sys.argv[2]), int(sys.argv[3])):
    md.add(message(i))
print("link=%d rename=%d" % (calls["link"], calls["rename"]))
EOF

# Reads every message through mailbox.Maildir and compares it with what was
# delivered; prints the number that match and the flags seen.
cat >"$T/verify.py" <<'EOF'
import mailbox, os, sys, re
sys.path.insert(0, os.path.dirname(sys.argv[0]))
from msgs import message
md = mailbox.Maildir(sys.argv[1], factory=None, create=False)
good = bad = 0
flags = {}
for key in md.iterkeys():
    path = os.path.join(sys.argv[1], md._lookup(key))
    with open(path, "rb") as f:
        data = f.read()
    m = re.search(rb"^Subject: message (\d+)$", data, re.M)
    if m and data == message(int(m.group(1))).encode():
        good += 1
    else:
        bad += 1
    fl = md.get_message(key).get_flags()
    flags[fl] = flags.get(fl, 0) + 1
print("good=%d bad=%d flags=%s" % (good, bad,
      ",".join("%s:%d" % (k or "-", v) for k, v in sorted(flags.items()))))
EOF

out=$("$PY" "$T/deliver.py" "$MD" 0 $N 2>&1)
is "mailbox.Maildir delivers $N messages, each with link(), no rename fallback" \
	"$out" "link=$N rename=0"
is "new/ holds $N files" "$(ls "$MD/new" | wc -l)" $N
is "tmp/ is empty after delivery (unlink after link)" "$(ls -A "$MD/tmp" | wc -l)" 0
is "every delivered file has link count 1" \
	"$(find "$MD/new" -type f ! -links 1 | wc -l)" 0
is "all $N read back byte for byte through mailbox.Maildir" \
	"$("$PY" "$T/verify.py" "$MD" 2>&1)" "good=$N bad=0 flags=-:$N"

# notmuch with its database in the mount (Xapian: fsync, fcntl locks).
export NOTMUCH_CONFIG=$T/notmuch-config
cat >"$NOTMUCH_CONFIG" <<EOF
[database]
path=$MD
[user]
name=Alice
primary_email=alice@example.org
[new]
tags=unread;inbox;
ignore=
[search]
exclude_tags=
[maildir]
synchronize_flags=true
EOF

ok "notmuch new exits 0" sb_run "$T/new1" notmuch new
ok "notmuch new reports $N new messages" \
	grep -q "^Added $N new messages to the database" "$T/new1"
is "notmuch count finds $N messages" "$(notmuch count '*' 2>&1)" $N
is "notmuch counts $N unread (no S flag in the names)" \
	"$(notmuch count tag:unread 2>&1)" $N
is "notmuch search finds the 10 messages with the marker word" \
	"$(notmuch search --output=messages quokkamarker 2>&1 | LC_ALL=C sort | tr '\n' ' ')" \
	"id:m107@sealbox.test id:m207@sealbox.test id:m307@sealbox.test id:m407@sealbox.test id:m507@sealbox.test id:m607@sealbox.test id:m707@sealbox.test id:m7@sealbox.test id:m807@sealbox.test id:m907@sealbox.test "
is "a subject search finds exactly one message" \
	"$(notmuch search --output=messages 'subject:"message 523"' 2>&1)" \
	"id:m523@sealbox.test"

notmuch search --output=files quokkamarker >"$T/before" 2>&1
ok "the marked messages' files are in new/" \
	bash -c '[ $(grep -c "^$1/new/[^/:]*$" "$2") = 10 ]' _ "$MD" "$T/before"

ok "notmuch tag +flagged -unread exits 0" \
	notmuch tag +flagged -unread -- quokkamarker
notmuch search --output=files quokkamarker >"$T/after" 2>&1
is "the tagged messages now have 10 file names" "$(wc -l <"$T/after")" 10
ok "each new name is in cur/ and ends in :2,FS (flagged, seen)" \
	bash -c '[ $(grep -c "^$1/cur/[^/]*:2,FS$" "$2") = 10 ]' _ "$MD" "$T/after"
ok "each renamed file exists under its new name" \
	bash -c 'while read -r f; do [ -f "$f" ] || { echo "missing $f"; exit 1; }; done <"$1"' _ "$T/after"
nok "no old name is left" \
	bash -c 'while read -r f; do [ -e "$f" ] && echo "still there: $f"; done <"$1" | grep .' _ "$T/before"
is "new/ holds the $((N - 10)) others, cur/ the 10" \
	"$(ls "$MD/new" | wc -l) $(ls "$MD/cur" | wc -l)" "$((N - 10)) 10"
is "mailbox.Maildir reads all back, 10 with flags FS" \
	"$("$PY" "$T/verify.py" "$MD" 2>&1)" "good=$N bad=0 flags=-:$((N - 10)),FS:10"

ok "notmuch tag -flagged on one message" notmuch tag -flagged -- id:m107@sealbox.test
ok "its file is renamed to :2,S" \
	bash -c 'f=$(notmuch search --output=files id:m107@sealbox.test) && case $f in */cur/*:2,S) test -f "$f";; *) echo "$f"; false;; esac'

ok "a second notmuch new exits 0" sb_run "$T/new2" notmuch new
is "a second notmuch new finds nothing to do" "$(cat "$T/new2")" "No new mail."

is "one more delivery" "$("$PY" "$T/deliver.py" "$MD" $N $((N + 1)) 2>&1)" \
	"link=1 rename=0"
notmuch new >"$T/new3" 2>&1
ok "one more delivery is seen by the next notmuch new (directory mtime)" \
	grep -q "^Added 1 new message to the database" "$T/new3"
is "notmuch counts $((N + 1)) messages, $((N - 9)) unread" \
	"$(notmuch count '*') $(notmuch count tag:unread)" "$((N + 1)) $((N - 9))"

sb_done
