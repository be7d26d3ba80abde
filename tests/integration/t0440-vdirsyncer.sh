#!/bin/bash
# Real tools on the mount, part 5: vdirsyncer syncs a calendar and an
# address book between a radicale server on 127.0.0.1 and vdirs in the mount,
# both ways: items made on the server arrive as files; items created, edited
# and deleted in the mount reach the server; a change on the server reaches
# the file; a sync with nothing to do changes nothing on either side.
#
# SB_NATIVE=1 runs the same checks on a plain directory.
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"
. "$SB_SRC/tests/integration/lib-tools.sh"
sb_need vdirsyncer
"$PY" -c 'import radicale' 2>/dev/null ||
	skip_all "radicale is not installed for $PY (make deps installs it)"
plan 30

sb_target
CAL=$M/calendars/shared
BOOK=$M/contacts/shared
mkdir -p "$CAL" "$BOOK" || bail "cannot create the vdirs in $M"

sb_radicale
CALURL=$RADICALE_URL/alice/cal/
BOOKURL=$RADICALE_URL/alice/book/

# A small WebDAV client: mkcalendar URL | mkbook URL | put URL FILE |
# get URL (prints the body, or the status when not 200) | delete URL |
# hrefs URL (the items' names, sorted).
cat >"$T/dav.py" <<'EOF'
import base64, re, sys, urllib.error, urllib.request
cmd, url = sys.argv[1], sys.argv[2]
auth = "Basic " + base64.b64encode(b"alice:x").decode()
def req(method, data=None, ctype=None, depth=None):
    r = urllib.request.Request(url, data=data, method=method)
    r.add_header("Authorization", auth)
    if ctype:
        r.add_header("Content-Type", ctype)
    if depth is not None:
        r.add_header("Depth", depth)
    try:
        with urllib.request.urlopen(r, timeout=20) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
if cmd == "mkcalendar":
    st, _ = req("MKCALENDAR")
    assert st == 201, st
elif cmd == "mkbook":
    body = (b'<?xml version="1.0"?><mkcol xmlns="DAV:" '
            b'xmlns:C="urn:ietf:params:xml:ns:carddav"><set><prop>'
            b'<resourcetype><collection/><C:addressbook/></resourcetype>'
            b'</prop></set></mkcol>')
    st, _ = req("MKCOL", body, "application/xml")
    assert st == 201, st
elif cmd == "put":
    data = open(sys.argv[3], "rb").read()
    ctype = "text/vcard" if url.endswith(".vcf") else "text/calendar"
    st, _ = req("PUT", data, ctype)
    assert st in (201, 204), st
elif cmd == "get":
    st, body = req("GET")
    sys.stdout.write(body.decode().replace("\r\n", "\n") if st == 200
                     else "HTTP %d\n" % st)
elif cmd == "delete":
    st, _ = req("DELETE")
    assert st in (200, 204), st
elif cmd == "hrefs":
    st, body = req("PROPFIND", b'<?xml version="1.0"?><propfind xmlns="DAV:">'
                   b'<prop><getetag/></prop></propfind>', "application/xml", "1")
    assert st == 207, st
    hrefs = re.findall(r"<(?:\w+:)?href>([^<]*)</(?:\w+:)?href>", body.decode())
    print(" ".join(sorted(h.rstrip("/").rsplit("/", 1)[1] for h in hrefs
                          if not h.endswith("/"))))
EOF
dav() { "$PY" "$T/dav.py" "$@"; }
# The item at URL on the server has the content line LINE.
dav_has() { dav get "$1" | grep -qx -e "$2"; }
# The file has the content line LINE (item files end lines in CRLF).
has_line() { tr -d '\r' <"$1" | grep -qx -e "$2"; }

ics() {	# UID SUMMARY DAY
	printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//sealbox//test//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:203007%02dT090000Z\r\nDTEND:203007%02dT100000Z\r\nSUMMARY:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' \
		"$1" "$3" "$3" "$2"
}
vcf() {	# UID NAME
	printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:%s\r\nN:%s;;;;\r\nEMAIL:%s@example.org\r\nEND:VCARD\r\n' \
		"$1" "$2" "$2" "$1"
}

ok "MKCALENDAR on radicale" dav mkcalendar "$CALURL"
ok "MKCOL of an address book on radicale" dav mkbook "$BOOKURL"
put_all() {
	for i in 1 2 3; do
		ics "srv-ev$i" "Server event $i" $i >"$T/ev$i.ics" &&
			dav put "${CALURL}srv-ev$i.ics" "$T/ev$i.ics" || return 1
		vcf "srv-c$i" "Server Contact $i" >"$T/c$i.vcf" &&
			dav put "${BOOKURL}srv-c$i.vcf" "$T/c$i.vcf" || return 1
	done
}
ok "PUT 3 events and 3 contacts on the server" put_all

mkdir -p "$T/vds/status"
cat >"$T/vds/config" <<EOF
[general]
status_path = "$T/vds/status/"

[pair cal]
a = "cal_mount"
b = "cal_server"
collections = null
conflict_resolution = "a wins"

[storage cal_mount]
type = "filesystem"
path = "$CAL"
fileext = ".ics"

[storage cal_server]
type = "caldav"
url = "$CALURL"
username = "alice"
password = "x"

[pair book]
a = "book_mount"
b = "book_server"
collections = null
conflict_resolution = "a wins"

[storage book_mount]
type = "filesystem"
path = "$BOOK"
fileext = ".vcf"

[storage book_server]
type = "carddav"
url = "$BOOKURL"
username = "alice"
password = "x"
EOF
vds() { vdirsyncer -c "$T/vds/config" "$@"; }
vsync() { sb_run "$T/vds.out" vds sync </dev/null; }

ok "vdirsyncer discover" sb_run "$T/discover.out" vds discover </dev/null
ok "vdirsyncer sync (first)" vsync
is "3 .ics files arrive in the mount" "$(ls -A "$CAL" | LC_ALL=C sort | tr '\n' ' ')" \
	"srv-ev1.ics srv-ev2.ics srv-ev3.ics "
is "3 .vcf files arrive in the mount" "$(ls -A "$BOOK" | LC_ALL=C sort | tr '\n' ' ')" \
	"srv-c1.vcf srv-c2.vcf srv-c3.vcf "
ok "an event file holds the server's item" \
	has_line "$CAL/srv-ev2.ics" "SUMMARY:Server event 2"
ok "a contact file holds the server's item" \
	has_line "$BOOK/srv-c3.vcf" "FN:Server Contact 3"

# Changes in the mount: create, edit (a new file renamed over the old one,
# as editors and vdir tools do), delete.
ics mnt-ev4 "Mount event 4" 4 >"$CAL/mnt-ev4.ics"
vcf mnt-c4 "Mount Contact 4" >"$BOOK/mnt-c4.vcf"
ics srv-ev1 "Server event 1 edited in the mount" 1 >"$CAL/.tmp-ev1" &&
	mv "$CAL/.tmp-ev1" "$CAL/srv-ev1.ics"
vcf srv-c1 "Server Contact 1 edited" >"$BOOK/.tmp-c1" &&
	mv "$BOOK/.tmp-c1" "$BOOK/srv-c1.vcf"
rm "$CAL/srv-ev3.ics" "$BOOK/srv-c3.vcf"
ok "vdirsyncer sync after changes in the mount" vsync
is "the server's calendar now holds what the mount holds" \
	"$(dav hrefs "$CALURL" 2>&1)" "mnt-ev4.ics srv-ev1.ics srv-ev2.ics"
is "the server's address book too" \
	"$(dav hrefs "$BOOKURL" 2>&1)" "mnt-c4.vcf srv-c1.vcf srv-c2.vcf"
ok "an event created in the mount reads back from the server" \
	dav_has "${CALURL}mnt-ev4.ics" "SUMMARY:Mount event 4"
ok "a contact created in the mount reads back from the server" \
	dav_has "${BOOKURL}mnt-c4.vcf" "FN:Mount Contact 4"
ok "an event edited in the mount is edited on the server" \
	dav_has "${CALURL}srv-ev1.ics" "SUMMARY:Server event 1 edited in the mount"
ok "a contact edited in the mount is edited on the server" \
	dav_has "${BOOKURL}srv-c1.vcf" "FN:Server Contact 1 edited"
is "an event deleted in the mount is gone from the server" \
	"$(dav get "${CALURL}srv-ev3.ics" 2>&1)" "HTTP 404"
is "a contact deleted in the mount is gone from the server" \
	"$(dav get "${BOOKURL}srv-c3.vcf" 2>&1)" "HTTP 404"
ok "radicale's own storage has the new event" \
	grep -rq "SUMMARY:Mount event 4" "$T/radicale/storage/collection-root/alice/cal"

# A change on the server reaches the file in the mount.
ics srv-ev2 "Server event 2 moved on the server" 2 >"$T/ev2b.ics"
ok "PUT an edit of an event on the server" dav put "${CALURL}srv-ev2.ics" "$T/ev2b.ics"
ok "DELETE a contact on the server" dav delete "${BOOKURL}srv-c2.vcf"
ok "vdirsyncer sync after changes on the server" vsync
ok "the server's edit is in the file in the mount" \
	has_line "$CAL/srv-ev2.ics" "SUMMARY:Server event 2 moved on the server"
nok "the server's deletion removed the file in the mount" test -e "$BOOK/srv-c2.vcf"
is "the mount's vdirs hold exactly the server's items" \
	"$(ls -A "$CAL" | LC_ALL=C sort | tr '\n' ' ')| $(ls -A "$BOOK" | LC_ALL=C sort | tr '\n' ' ')" \
	"mnt-ev4.ics srv-ev1.ics srv-ev2.ics | mnt-c4.vcf srv-c1.vcf "

# Nothing to do: no file touched on either side, nothing copied.
ok "vdirsyncer sync settles" vsync
sb_listing "$M/calendars" >"$T/mount.1"; sb_listing "$M/contacts" >>"$T/mount.1"
sb_listing "$T/radicale/storage" | grep -v '/\.Radicale\.cache/' >"$T/srv.1"
ok "a second sync with nothing to do" vsync
sb_listing "$M/calendars" >"$T/mount.2"; sb_listing "$M/contacts" >>"$T/mount.2"
sb_listing "$T/radicale/storage" | grep -v '/\.Radicale\.cache/' >"$T/srv.2"
nok "...copies, updates and deletes nothing" \
	grep -E "Copying|Updating|Deleting" "$T/vds.out"
ok "...touches no file in the mount" diff "$T/mount.1" "$T/mount.2"
ok "...and no item on the server" diff "$T/srv.1" "$T/srv.2"

sb_done
