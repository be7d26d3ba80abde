#!/bin/bash
# Real tools on the mount, part 4: khal and khard on vdirs in the mount.
# Items are created (khal new, khal import, khard new), listed and searched,
# edited (khal edit and khard edit fed on stdin, khal import --batch over an
# existing UID, an in-place write by another program that khal must notice)
# and deleted; each change shows as .ics / .vcf files in the mount, and the
# result survives a remount.
#
# SB_NATIVE=1 runs the same checks on a plain directory.
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"
. "$SB_SRC/tests/integration/lib-tools.sh"
sb_need khal khard
plan 33

sb_target
CAL=$M/calendars/work
BOOK=$M/contacts/work
mkdir -p "$CAL" "$BOOK" || bail "cannot create the vdirs in $M"

mkdir -p "$XDG_CONFIG_HOME/khal" "$XDG_CONFIG_HOME/khard"
cat >"$XDG_CONFIG_HOME/khal/config" <<EOF
[calendars]
[[work]]
path = $CAL
type = calendar
[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
local_timezone = UTC
default_timezone = UTC
firstweekday = 0
[default]
default_calendar = work
[sqlite]
path = $T/khal.db
EOF
cat >"$XDG_CONFIG_HOME/khard/khard.conf" <<EOF
[addressbooks]
[[work]]
path = $BOOK
[general]
debug = no
default_action = list
editor = /bin/false
merge_editor = /bin/false
[contact table]
display = first_name
group_by_addressbook = no
reverse = no
show_nicknames = no
show_uids = no
sort = last_name
localize_dates = yes
preferred_phone_number_type = pref, cell, home
preferred_email_address_type = pref, work, home
[vcard]
private_objects = Jabber,
preferred_version = 3.0
search_in_source_files = no
skip_unparsable = no
EOF

# Files of a vdir, and no temporary file or anything else beside them.
nfiles() { ls -A "$1" | wc -l; }
only_ext() { ! ls -A "$1" | grep -v "\\.$2\$"; }
# A content line of an item file (they end in CRLF).
has_line() { tr -d '\r' <"$1" | grep -qx -e "$2"; }
khal_list() { khal list --format '{start} {end} {title}' 2030-06-10 3d 2>&1; }
remount() {
	[ "${SB_NATIVE:-}" = 1 ] && return 0
	sb_umount "$M" && "$SEALBOX" mount --passphrase-file "$(sb_passfile)" "$T/v" "$M"
}

### khal
ok "khal new: a timed event" khal new -a work 2030-06-10 10:00 11:00 Team meeting :: room one
ok "khal new: an all-day event" khal new -a work 2030-06-11 Offsite
is "two .ics files in the mount's calendar" "$(nfiles "$CAL")" 2
ok "...and nothing else (no temporary file left)" only_ext "$CAL" ics
ok "the timed event's file holds it" \
	has_line "$(grep -l 'SUMMARY:Team meeting' "$CAL"/*.ics)" 'SUMMARY:Team meeting'
is "khal list shows both" "$(khal_list)" \
"Monday, 2030-06-10
2030-06-10 10:00 2030-06-10 11:00 Team meeting
Tuesday, 2030-06-11
2030-06-11 2030-06-11 Offsite"
is "khal search finds the meeting" \
	"$(khal search --format '{start} {title}' meeting 2>&1)" "2030-06-10 10:00 Team meeting"

meeting=$(grep -l 'SUMMARY:Team meeting' "$CAL"/*.ics)
printf 's\nTeam sync\nq\n' >"$T/edit-summary"
ok "khal edit changes the summary (answers on stdin)" \
	sb_run "$T/khal-edit.out" khal edit --show-past meeting <"$T/edit-summary"
ok "...in the same file, rewritten" has_line "$meeting" 'SUMMARY:Team sync'
is "...still two files, no temporary file" "$(nfiles "$CAL") $(only_ext "$CAL" ics; echo $?)" "2 0"

cat >"$T/import.ics" <<'EOF'
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//sealbox//test//EN
BEGIN:VEVENT
UID:sealbox-import-1
DTSTAMP:20240101T000000Z
DTSTART:20300612T090000Z
DTEND:20300612T093000Z
SUMMARY:Imported call
END:VEVENT
END:VCALENDAR
EOF
ok "khal import --batch adds an event with a given UID" \
	khal import --batch -a work "$T/import.ics"
imported=$(grep -l '^UID:sealbox-import-1' "$CAL"/*.ics)
is "...as one new file in the mount" "$(nfiles "$CAL") $(echo "$imported" | wc -w)" "3 1"
sed 's/Imported call/Imported call moved/; s/T090000Z/T100000Z/; s/T093000Z/T103000Z/' \
	"$T/import.ics" >"$T/import2.ics"
ok "khal import --batch of the same UID updates it" \
	khal import --batch -a work "$T/import2.ics"
ok "...in the same file" has_line "$imported" 'SUMMARY:Imported call moved'
is "...still three files" "$(nfiles "$CAL")" 3

# Another program rewrites the file as vim does (a new file renamed over the
# old one); khal notices through the directory's mtime, then the file's.
"$PY" - "$imported" <<'EOF'
import os, sys
with open(sys.argv[1]) as f:
    data = f.read().replace("Imported call moved", "Edited by an editor")
tmp = os.path.join(os.path.dirname(sys.argv[1]), ".edit.tmp")
with open(tmp, "w") as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
os.rename(tmp, sys.argv[1])
EOF
is "khal list shows the edit made by another program" "$(khal_list)" \
"Monday, 2030-06-10
2030-06-10 10:00 2030-06-10 11:00 Team sync
Tuesday, 2030-06-11
2030-06-11 2030-06-11 Offsite
Wednesday, 2030-06-12
2030-06-12 10:00 2030-06-12 10:30 Edited by an editor"

offsite=$(grep -l 'SUMMARY:Offsite' "$CAL"/*.ics)
printf 'D\ny\n' >"$T/edit-delete"
ok "khal edit deletes the all-day event" \
	sb_run "$T/khal-del.out" khal edit --show-past Offsite <"$T/edit-delete"
nok "...its file is gone" test -e "$offsite"
is "two .ics files left" "$(nfiles "$CAL")" 2

### khard
cat >"$T/ada.yaml" <<'EOF'
First name : Ada
Last name : Lovelace
Email :
    work : ada@example.org
Phone :
    cell : "+44 20 7946 0000"
Organisation : Analytical Engines
EOF
cat >"$T/grace.yaml" <<'EOF'
First name : Grace
Last name : Hopper
Email :
    work : grace@example.org
EOF
ok "khard new: a contact from a template" khard new -a work -i "$T/ada.yaml"
ok "khard new: a second one" khard new -a work -i "$T/grace.yaml"
is "two .vcf files in the mount's address book, nothing else" \
	"$(nfiles "$BOOK") $(only_ext "$BOOK" vcf; echo $?)" "2 0"
ok "a file holds the contact" \
	has_line "$(grep -l 'FN:Ada Lovelace' "$BOOK"/*.vcf)" 'FN:Ada Lovelace'
is "khard list shows both" "$(khard list -p 2>&1 | cut -f2,3)" \
	"$(printf 'Grace Hopper\twork\nAda Lovelace\twork')"
ok "khard show shows the details" \
	bash -c 'khard show Ada </dev/null | grep -q "work: ada@example.org"'

ada=$(grep -l 'FN:Ada Lovelace' "$BOOK"/*.vcf)
sed 's/ada@example.org/ada@engines.example.org/' "$T/ada.yaml" >"$T/ada2.yaml"
ok "khard edit from a template (confirmed on stdin)" \
	sb_run "$T/khard-edit.out" khard edit -i "$T/ada2.yaml" Ada <<<y
ok "...rewrites the same file" has_line "$ada" 'EMAIL;TYPE=work:ada@engines.example.org'
is "khard email shows the new address" \
	"$(khard email -p Ada 2>/dev/null | grep -v '^searching' | cut -f1,2)" \
	"$(printf 'ada@engines.example.org\tAda Lovelace')"
grace=$(grep -l 'FN:Grace Hopper' "$BOOK"/*.vcf)
ok "khard remove --force" khard remove --force Grace
nok "...its file is gone" test -e "$grace"

### after a remount (a no-op with SB_NATIVE=1)
ok "remount" remount
is "khal list after the remount" "$(khal_list)" \
"Monday, 2030-06-10
2030-06-10 10:00 2030-06-10 11:00 Team sync
Wednesday, 2030-06-12
2030-06-12 10:00 2030-06-12 10:30 Edited by an editor"
is "khard list after the remount" "$(khard list -p 2>&1 | cut -f2,3)" \
	"$(printf 'Ada Lovelace\twork')"

sb_done
