#!/bin/sh
# Writes a small sample mailbox into DIR (a mounted vault): a Maildir++
# with INBOX, Sent and Archive, a calendar of events and an address book.
#   tests/sample-mailbox.sh DIR [MESSAGES]
set -eu
dir=$1
n=${2:-25}

# person N (0..3): sets first, last, addr
person() {
	case $1 in
	0) first=Alice last=Martin ;;
	1) first=Bob last=Chen ;;
	2) first=Carol last=Diaz ;;
	*) first=Dan last=Okafor ;;
	esac
	addr=$(echo "$first" | tr 'A-Z' 'a-z')@example.com
}
host=demo.sealbox

maildir() {
	mkdir -p "$1/cur" "$1/new" "$1/tmp"
}

message() { # FILE FROM-NAME FROM-ADDR SUBJECT DAY
	cat >"$1" <<MSG
Return-Path: <$3>
From: $2 <$3>
To: You <you@example.com>
Subject: $4
Date: $(date -u -d "2026-11-01 +$5 days 09:$(($5 % 60)):00" -R)
Message-ID: <$5.$(basename "$1" | cut -d. -f1)@example.com>
Content-Type: text/plain; charset=utf-8

Hello,

this is sample message $5 of the sealbox demo. It is stored encrypted
in the vault and shown here as a plain file of a Maildir.

-- 
$2
MSG
}

maildir "$dir/mail"
maildir "$dir/mail/.Sent"
maildir "$dir/mail/.Archive"
i=1
while [ "$i" -le "$n" ]; do
	person $((i % 4))
	name="$first $last"
	id=$((1764000000 + i)).M${i}P$$.$host
	case $((i % 5)) in
	0) f="$dir/mail/new/$id" ;;
	1) f="$dir/mail/cur/$id:2,S" ;;
	2) f="$dir/mail/cur/$id:2,FS" ;;
	3) f="$dir/mail/.Archive/cur/$id:2,S" ;;
	*) f="$dir/mail/.Sent/cur/$id:2,S" ;;
	esac
	message "$f" "$name" "$addr" "Sample message $i: project update" "$i"
	i=$((i + 1))
done

mkdir -p "$dir/calendars/work" "$dir/contacts/default"
for d in 1 2 3 4 5 6; do
	uid=sealbox-demo-event-$d
	cat >"$dir/calendars/work/$uid.ics" <<ICS
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//sealbox//demo//EN
BEGIN:VEVENT
UID:$uid
DTSTAMP:20261101T090000Z
DTSTART:202612$(printf %02d "$d")T100000Z
DTEND:202612$(printf %02d "$d")T110000Z
SUMMARY:Team meeting $d
LOCATION:Room $d
END:VEVENT
END:VCALENDAR
ICS
done
for p in 0 1 2 3; do
	person $p
	name="$first $last"
	uid=sealbox-demo-${addr%@*}
	cat >"$dir/contacts/default/$uid.vcf" <<VCF
BEGIN:VCARD
VERSION:3.0
UID:$uid
FN:$name
N:$last;$first;;;
EMAIL;TYPE=work:$addr
END:VCARD
VCF
done
