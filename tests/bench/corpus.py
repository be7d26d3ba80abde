#!/usr/bin/env python3
"""Deterministic benchmark corpus: a Maildir++ mailbox, vdir calendars and
vdir address books, as a mail client, vdirsyncer and khal/khard leave them.

    corpus.py OUTDIR [--messages N] [--events N] [--contacts N] [--seed S]

OUTDIR must be missing or empty. It receives:

    mail/                       INBOX (cur/ new/ tmp/) and Maildir++ folders
    mail/.Sent/ .Archive/ ...   each with cur/ new/ tmp/ and maildirfolder
    calendars/<name>/<uid>.ics  one VEVENT per file, plus displayname, color
    contacts/<name>/<uid>.vcf   one vCard per file, plus displayname

Message sizes are lognormal (median about 8 KB over the whole corpus); 8% of
messages carry a base64 attachment whose decoded size is log-uniform between
100 KB and 4 MB. Maildir names are unique and carry dovecot-style S= and W=
sizes and flags (:2,S :2,RS :2,FS ...); new/ holds unread mail without an
info part. File and directory mtimes are set from the corpus clock, so the
same arguments give byte-identical trees with identical timestamps.

Defaults: 10,000 messages, events and contacts each a fifth of the messages
(2,000), seed 1. Python 3 standard library only.
"""

import argparse
import base64
import email.utils
import os
import random
import statistics
import sys
import time

# The word grep -r looks for in the benchmark: present in about 2% of the
# messages, never in the generated vocabulary otherwise.
GREP_WORD = "kumquat"

EPOCH = 1672531200          # 2023-01-01T00:00:00Z, start of the corpus clock
SPAN = 3 * 365 * 86400      # messages spread over three years
HOST = "mail.example.net"

WORDS = """
the of and to in is that for it as was with be by on not he this are or his
from at which but have an they you were her she there would their we him been
has when who will more no if out so said what up its about into than them can
only other new some could time these two may then do first any my now such
like our over man me even most made after also did many before must through
back years where much your way well down should because each just those people
how too little state good very make world still own see men work long get here
between both life being under never day same another know while last might us
great old year off come since against go came right used take three states
himself few house use during without again place american around however home
small found thought went say part once general high upon school every does got
united left number course war until always away something fact though water
less public put think almost hand enough far took head yet government system
better set told nothing night end why called didnt eyes find going look asked
later knew point next program city business give group toward young days let
room president side social given present several order national possible rather
second face per among form important often things looking early white case john
become large big need four within felt along children saw best church ever
least power development light thing seemed family interest want members mind
country area others done turned although open problem meeting review release
deadline budget quarter report draft schedule client server patch build test
deploy branch merge ticket customer invoice contract proposal agenda minutes
""".split()

FIRST = """Alice Bob Carol Dan Erin Frank Grace Heidi Ivan Judy Karl Laura
Mallory Niaj Olivia Peggy Quentin Rupert Sybil Trent Uma Victor Wendy Xavier
Yvonne Zoe Amir Beatriz Chen Dmitri Elena Fatima Goran Hiro Ines Jamal Kasia
Lars Mei Nadia Omar Priya Rafael Sanna Tomasz Ursula Vikram Wei Yusuf""".split()
LAST = """Martin Chen Diaz Okafor Smith Garcia Novak Rossi Muller Kowalski
Tanaka Silva Nguyen Haddad Larsen Petrov Dubois Schmidt Costa Ivanova Singh
Moreau Fischer Jensen Kim Lopez Weber Horvat Sato Andersen Papadopoulos Lindqvist
Oliveira Nakamura Bauer Fontaine Kaya Mendes Brennan Varga""".split()
DOMAINS = """example.com example.org example.net corp.example lists.example.org
partner.example customer.example vendor.example""".split()
LISTS = [("dev", "dev.lists.example.org"),
         ("announce", "announce.lists.example.org")]
ATTACH_TYPES = [("application/pdf", "pdf"), ("image/jpeg", "jpg"),
                ("image/png", "png"), ("application/zip", "zip"),
                ("application/vnd.openxmlformats-officedocument."
                 "spreadsheetml.sheet", "xlsx")]
MAILERS = ["Mutt/2.2.9 (2022-11-12)", "Thunderbird 115.4.1",
           "Microsoft Outlook 16.0", "Evolution 3.46.4", "aerc 0.15.2",
           "Apple Mail (2.3731.700.6)", "git-send-email 2.39.2"]

# Maildir++ folders: (folder under mail/, share of messages, share in new/,
# flag choices with weights)
FOLDERS = [
    ("", 0.30, 0.04, [(":2,S", 70), (":2,RS", 14), (":2,FS", 6), (":2,", 10)]),
    (".Sent", 0.12, 0.0, [(":2,S", 100)]),
    (".Drafts", 0.01, 0.0, [(":2,DS", 80), (":2,D", 20)]),
    (".Archive", 0.25, 0.0, [(":2,S", 80), (":2,RS", 15), (":2,FRS", 5)]),
    (".Archive.2023", 0.10, 0.0, [(":2,S", 85), (":2,RS", 15)]),
    (".Lists.dev", 0.12, 0.05, [(":2,S", 90), (":2,", 10)]),
    (".Lists.announce", 0.04, 0.10, [(":2,S", 95), (":2,", 5)]),
    (".Trash", 0.03, 0.0, [(":2,ST", 80), (":2,RST", 20)]),
    (".Junk", 0.03, 0.0, [(":2,S", 60), (":2,", 40)]),
]
CALENDARS = [("work", "Work", "#1f77b4", 0.55), ("personal", "Personal",
             "#2ca02c", 0.30), ("team-oncall", "Team on-call", "#d62728",
             0.15)]
BOOKS = [("work", "Work", 0.6), ("personal", "Personal", 0.4)]


class Gen:
    """All randomness comes from one seeded generator, in a fixed order."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.people = [self.person() for _ in range(400)]

    def person(self):
        r = self.r
        first, last = r.choice(FIRST), r.choice(LAST)
        dom = r.choice(DOMAINS)
        return (f"{first} {last}", f"{first.lower()}.{last.lower()}@{dom}")

    def words(self, n):
        return self.r.choices(WORDS, k=n)

    def hexid(self, n):
        return "%0*x" % (n, self.r.getrandbits(4 * n))

    def uuid(self):
        h = self.hexid(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def paragraph_lines(self, nbytes, word=None):
        """Sentences wrapped at 72 columns in paragraphs, about nbytes."""
        r = self.r
        ws = self.words(max(8, nbytes // 6 + 8))
        if word:
            ws[r.randrange(len(ws))] = word
        out, line, total, i = [], "", 0, 0
        while i < len(ws) and total < nbytes:
            n = r.randint(5, 17)
            sent = ws[i:i + n]
            i += n
            sent[0] = sent[0].capitalize()
            for w in sent[:-1] + [sent[-1] + r.choice(".....?!")]:
                if len(line) + len(w) + 1 > 72:
                    out.append(line)
                    total += len(line) + 1
                    line = ""
                line = f"{line} {w}" if line else w
            if r.random() < 0.15 and line:
                out += [line, ""]
                total += len(line) + 2
                line = ""
        if line:
            out.append(line)
        if out and out[-1] == "":
            out.pop()
        if word and not any(word in ln for ln in out):
            out.append(word.capitalize() + ".")
        return out


def rfc2822(t):
    return email.utils.formatdate(t, usegmt=True)


def body_text(g, nbytes, word, reply, sender):
    lines = ["Hi,", ""] + g.paragraph_lines(nbytes, word)
    if reply:
        lines += ["", f"On {rfc2822(reply)}, {sender} wrote:"]
        lines += ["> " + ln for ln in g.paragraph_lines(min(nbytes, 1500))]
    lines += ["", "-- ", sender.split()[0]]
    return "\n".join(lines) + "\n"


def html_of(text):
    paras = text.replace("&", "&amp;").replace("<", "&lt;").split("\n\n")
    inner = "\n".join("<p>" + p.replace("\n", "<br>\n") + "</p>" for p in paras)
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>"
            f"<body style=\"font-family: sans-serif\">\n{inner}\n</body></html>\n")


def headers(g, t, folder, sender, rcpt, subject, msgid, reply_to):
    r = g.r
    h = []
    h.append(f"Return-Path: <{sender[1]}>")
    hops = r.randint(1, 3)
    for i in range(hops):
        ip = "%d.%d.%d.%d" % (10, r.randrange(256), r.randrange(256),
                               r.randrange(1, 255))
        h.append(f"Received: from mx{i + 1}.{sender[1].split('@')[1]} "
                 f"(mx{i + 1} [{ip}])\n\tby {HOST} (Postfix) with ESMTPS id "
                 f"{g.hexid(10).upper()}\n\tfor <{rcpt[1]}>; {rfc2822(t - i)}")
    if folder != ".Sent" and r.random() < 0.7:
        sig = base64.b64encode(r.randbytes(256)).decode()
        sig = "\n\t ".join(sig[i:i + 70] for i in range(0, len(sig), 70))
        h.append(f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
                 f"d={sender[1].split('@')[1]};\n\ts=2023; t={t}; "
                 f"h=from:to:subject:date:message-id;\n\tbh="
                 f"{base64.b64encode(r.randbytes(32)).decode()};\n\tb={sig}")
    h.append(f"Date: {rfc2822(t)}")
    h.append(f"From: {sender[0]} <{sender[1]}>")
    h.append(f"To: {rcpt[0]} <{rcpt[1]}>")
    if r.random() < 0.3:
        cc = ", ".join(f"{p[0]} <{p[1]}>" for p in r.sample(g.people,
                                                              r.randint(1, 4)))
        h.append(f"Cc: {cc}")
    h.append(f"Subject: {subject}")
    h.append(f"Message-ID: <{msgid}>")
    if reply_to:
        h.append(f"In-Reply-To: <{reply_to}>")
        h.append(f"References: <{reply_to}>")
    if folder.startswith(".Lists."):
        name, lid = LISTS[0] if folder.endswith("dev") else LISTS[1]
        h.append(f"List-Id: {name} discussion <{lid}>")
        h.append(f"List-Unsubscribe: <mailto:{name}-leave@{lid}>")
        h.append(f"Precedence: list")
    h.append(f"X-Mailer: {r.choice(MAILERS)}")
    h.append("MIME-Version: 1.0")
    return h


def message(g, t, folder, idx):
    """Returns the bytes of one message."""
    r = g.r
    me = ("You Example", "you@corp.example")
    other = r.choice(g.people)
    sender, rcpt = (me, other) if folder in (".Sent", ".Drafts") else (other, me)
    subject = " ".join(g.words(r.randint(3, 9))).capitalize()
    reply = r.random() < 0.35
    if reply:
        subject = "Re: " + subject
    msgid = f"{t}.{g.hexid(12)}.{idx}@{sender[1].split('@')[1]}"
    reply_to = f"{t - 3600}.{g.hexid(12)}@{rcpt[1].split('@')[1]}" if reply else None
    word = GREP_WORD if r.random() < 0.02 else None
    attach = r.random() < 0.08
    # Non-attachment messages: lognormal around 7.3 KB, so that the median
    # over all messages, attachments included, comes out at about 8 KB.
    target = int(min(max(r.lognormvariate(8.9, 0.9), 700), 300_000))
    h = headers(g, t, folder, sender, rcpt, subject, msgid, reply_to)
    hlen = sum(len(x) + 1 for x in h)
    text_bytes = max(200, target - hlen - 300)
    html = not attach and r.random() < 0.3
    if html:
        text_bytes //= 2
    text = body_text(g, text_bytes, word, t - 3600 if reply else 0, sender[0])
    bnd = f"=_{g.hexid(24)}"
    if attach:
        ctype, ext = r.choice(ATTACH_TYPES)
        size = int(100_000 * (40 ** r.random()))
        data = base64.encodebytes(r.randbytes(size)).decode()
        fname = "_".join(g.words(2)) + "." + ext
        h.append(f"Content-Type: multipart/mixed; boundary=\"{bnd}\"")
        body = (f"This is a multi-part message in MIME format.\n\n--{bnd}\n"
                "Content-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: 8bit\n\n"
                f"{text}\n--{bnd}\nContent-Type: {ctype}; name=\"{fname}\"\n"
                "Content-Transfer-Encoding: base64\n"
                f"Content-Disposition: attachment; filename=\"{fname}\"; "
                f"size={size}\n\n{data}\n--{bnd}--\n")
    elif html:
        h.append(f"Content-Type: multipart/alternative; boundary=\"{bnd}\"")
        body = (f"--{bnd}\nContent-Type: text/plain; charset=utf-8\n"
                f"Content-Transfer-Encoding: 8bit\n\n{text}\n--{bnd}\n"
                "Content-Type: text/html; charset=utf-8\n"
                f"Content-Transfer-Encoding: 8bit\n\n{html_of(text)}\n"
                f"--{bnd}--\n")
    else:
        h.append("Content-Type: text/plain; charset=utf-8; format=flowed")
        h.append("Content-Transfer-Encoding: 8bit")
        body = text
    return ("\n".join(h) + "\n\n" + body).encode(), attach


def pick(r, weighted):
    return r.choices([x[0] for x in weighted], [x[1] for x in weighted])[0]


def write(path, data, mtime):
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (mtime, mtime))


def maildir(path, plusplus):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    if plusplus:
        write(os.path.join(path, "maildirfolder"), b"", EPOCH)


def gen_mail(g, out, n, stats):
    r = g.r
    root = os.path.join(out, "mail")
    for folder, _, _, _ in FOLDERS:
        maildir(os.path.join(root, folder), folder != "")
    shares = [f[1] for f in FOLDERS]
    times = sorted(EPOCH + r.randrange(SPAN) for _ in range(n))
    for idx, t in enumerate(times):
        folder, _, newshare, flags = FOLDERS[r.choices(range(len(FOLDERS)),
                                                      shares)[0]]
        recent = idx >= n - n // 10
        data, attach = message(g, t, folder, idx)
        isnew = recent and r.random() < newshare * 10
        info = "" if isnew else pick(r, flags)
        wsize = len(data) + data.count(b"\n")
        name = (f"{t}.M{r.randrange(1000000)}P{r.randint(300, 99999)}Q{idx}"
                f".{HOST},S={len(data)},W={wsize}{info}")
        sub = "new" if isnew else "cur"
        write(os.path.join(root, folder, sub, name), data, t)
        stats["sizes"].append(len(data))
        stats["attach"] += attach
        stats["new"] += isnew


def ics_time(t):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


def crlf(lines):
    out = []
    for ln in lines:     # RFC 5545 / 6350 line folding at 75 octets
        while len(ln) > 75:
            out.append(ln[:75])
            ln = " " + ln[75:]
        out.append(ln)
    return ("\r\n".join(out) + "\r\n").encode()


def event(g, uid, t):
    r = g.r
    start = EPOCH + r.randrange(SPAN) // 900 * 900
    dur = r.choice([900, 1800, 3600, 3600, 5400, 7200])
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0",
             "PRODID:-//pimutils.org//khal//EN", "CALSCALE:GREGORIAN"]
    tz = r.random() < 0.4
    if tz:
        lines += ["BEGIN:VTIMEZONE", "TZID:Europe/Berlin",
                  "BEGIN:STANDARD", "DTSTART:19701025T030000",
                  "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
                  "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "END:STANDARD",
                  "BEGIN:DAYLIGHT", "DTSTART:19700329T020000",
                  "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
                  "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "END:DAYLIGHT",
                  "END:VTIMEZONE"]
    lines += ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{ics_time(t)}",
              f"CREATED:{ics_time(t)}", f"LAST-MODIFIED:{ics_time(t)}"]
    if tz:
        loc = ics_time(start + 3600)[:-1]
        end = ics_time(start + 3600 + dur)[:-1]
        lines += [f"DTSTART;TZID=Europe/Berlin:{loc}",
                  f"DTEND;TZID=Europe/Berlin:{end}"]
    else:
        lines += [f"DTSTART:{ics_time(start)}", f"DTEND:{ics_time(start + dur)}"]
    lines.append("SUMMARY:" + " ".join(g.words(r.randint(2, 6))).capitalize())
    if r.random() < 0.5:
        lines.append("LOCATION:" + r.choice(["Room 4.12", "Video call",
                     "Cafeteria", "Berlin office", "https://meet.example/"
                     + g.hexid(10)]))
    if r.random() < 0.6:
        desc = " ".join(ln for ln in g.paragraph_lines(r.randint(80, 1200))
                        if ln)
        lines.append("DESCRIPTION:" + desc)
    if r.random() < 0.2:
        lines.append("RRULE:" + r.choice(["FREQ=WEEKLY;BYDAY=MO",
                     "FREQ=WEEKLY;INTERVAL=2", "FREQ=MONTHLY;COUNT=12",
                     "FREQ=DAILY;COUNT=5"]))
    if r.random() < 0.5:
        org = r.choice(g.people)
        lines.append(f"ORGANIZER;CN={org[0]}:mailto:{org[1]}")
        for p in r.sample(g.people, r.randint(1, 6)):
            lines.append(f"ATTENDEE;CN={p[0]};ROLE=REQ-PARTICIPANT;"
                         f"PARTSTAT={r.choice(['ACCEPTED', 'TENTATIVE', 'NEEDS-ACTION'])}"
                         f":mailto:{p[1]}")
    if r.random() < 0.4:
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Reminder",
                  f"TRIGGER:-PT{r.choice([5, 10, 15, 30])}M", "END:VALARM"]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return crlf(lines)


def vcard(g, uid, t):
    r = g.r
    first, last = r.choice(FIRST), r.choice(LAST)
    dom = r.choice(DOMAINS)
    lines = ["BEGIN:VCARD", "VERSION:3.0", "PRODID:-//khard//EN",
             f"UID:{uid}", f"N:{last};{first};;;", f"FN:{first} {last}",
             f"EMAIL;TYPE=WORK:{first.lower()}.{last.lower()}@{dom}"]
    if r.random() < 0.3:
        lines.append(f"EMAIL;TYPE=HOME:{first.lower()}{r.randint(1, 99)}"
                     "@mail.example")
    for kind in ("WORK", "CELL"):
        if r.random() < 0.7:
            lines.append(f"TEL;TYPE={kind}:+49 30 {r.randint(1000000, 9999999)}")
    if r.random() < 0.6:
        lines.append(f"ORG:{r.choice(LAST)} {r.choice(['GmbH', 'Ltd', 'Inc', 'AG'])}")
        lines.append("TITLE:" + " ".join(g.words(2)).title())
    if r.random() < 0.4:
        lines.append(f"ADR;TYPE=WORK:;;{r.randint(1, 200)} "
                     f"{r.choice(LAST)}strasse;Berlin;;{r.randint(10115, 14199)};"
                     "Germany")
    if r.random() < 0.2:
        lines.append(f"BDAY:{r.randint(1950, 2003)}-{r.randint(1, 12):02d}-"
                     f"{r.randint(1, 28):02d}")
    if r.random() < 0.3:
        lines.append("NOTE:" + " ".join(g.words(r.randint(5, 40))))
    if r.random() < 0.05:
        photo = base64.b64encode(r.randbytes(r.randint(4000, 24000))).decode()
        lines.append("PHOTO;ENCODING=b;TYPE=JPEG:" + photo)
    lines += [f"REV:{ics_time(t)}", "END:VCARD"]
    return crlf(lines)


def gen_vdir(g, out, top, collections, n, ext, make):
    r = g.r
    for name, display, *rest in collections:
        d = os.path.join(out, top, name)
        os.makedirs(d, exist_ok=True)
        write(os.path.join(d, "displayname"), display.encode() + b"\n", EPOCH)
        if len(rest) == 2:
            write(os.path.join(d, "color"), rest[0].encode() + b"\n", EPOCH)
    shares = [c[-1] for c in collections]
    for i in range(n):
        c = collections[r.choices(range(len(collections)), shares)[0]][0]
        uid = g.uuid()
        t = EPOCH + r.randrange(SPAN)
        write(os.path.join(out, top, c, f"{uid}.{ext}"), make(g, uid, t), t)


def set_dir_mtimes(out):
    for dirpath, _, _ in os.walk(out, topdown=False):
        os.utime(dirpath, (EPOCH + SPAN, EPOCH + SPAN))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--events", type=int, default=None,
                    help="default: a fifth of --messages")
    ap.add_argument("--contacts", type=int, default=None,
                    help="default: a fifth of --messages")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args()
    events = a.messages // 5 if a.events is None else a.events
    contacts = a.messages // 5 if a.contacts is None else a.contacts
    if min(a.messages, events, contacts) < 0:
        ap.error("counts must not be negative")
    if os.path.exists(a.outdir) and os.listdir(a.outdir):
        ap.error(f"{a.outdir}: exists and is not empty")
    os.makedirs(a.outdir, exist_ok=True)
    g = Gen(a.seed)
    stats = {"sizes": [], "attach": 0, "new": 0}
    gen_mail(g, a.outdir, a.messages, stats)
    gen_vdir(g, a.outdir, "calendars", CALENDARS, events, "ics", event)
    gen_vdir(g, a.outdir, "contacts", BOOKS, contacts, "vcf", vcard)
    set_dir_mtimes(a.outdir)
    if not a.quiet:
        s = stats["sizes"]
        med = statistics.median(s) if s else 0
        print(f"corpus: {a.messages} messages ({stats['attach']} with "
              f"attachments, {stats['new']} in new/), median {med / 1024:.1f} "
              f"KiB, {sum(s) / 2**20:.0f} MiB of mail; {events} events, "
              f"{contacts} contacts; seed {a.seed}; grep word "
              f"'{GREP_WORD}'", file=sys.stderr)


if __name__ == "__main__":
    main()
