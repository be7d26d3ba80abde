#!/usr/bin/env python3
"""Seeded randomized convergence driver for sealbox sync (issue 4).

    converge.py run --model FILE [--seed N] [--ops N] [--rounds N]
                    [--sealbox BIN] [--passphrase-file F] [--sync-timeout S]
                    NAME=VAULT=MOUNTPOINT...
    converge.py check MODEL WHAT MOUNTPOINT...
    converge.py snapshot DIR        one line per file: path, size, sha256
    converge.py bulk MOUNTPOINT deliver FOLDER N TAG | seen FOLDER |
                                move FROM TO | delete FOLDER K

`run` works on mounted devices: in each round every device does random
operations on its own mount (Maildir++ delivery into new/, new -> cur with
flags, flag changes, moves between folders, deletes, folder creation,
vCard create / per-property edit / delete in contacts/default, edits of a
plain note), then the devices sync (`sealbox sync`) in a random order.  At
the end every device syncs twice, round-robin.  Everything that was done is
recorded in the model (JSON), which `check` compares with the final trees.

The checks assert only what the merge rules of sync/maildir_merge.h and
sync/pim_merge.h guarantee, given that syncs run one at a time (each merge
then has a single best merge base: the remote head the device saw last):

  messages  a message no device deleted is present exactly once (by unique
            name) on every device, with the content that was delivered;
            a message deleted on some device and never moved to another
            folder by any device is gone everywhere (a delete beats flag
            changes and new -> cur; only a move on another device keeps it)
  flags     for a message no device deleted: every flag some device added
            and no device removed is set; no flag nobody added is set;
            cur/ if some device moved it there, else new/; the folder it
            was delivered to when no device moved it to another folder
  mtimes    a message's mtime (ns) is the one set at delivery, everywhere
  folders   every folder created is on every device with cur/ new/ tmp/
  contacts  a contact no device deleted is there once, parses, has its
            UID; a single-valued property that only one device changed
            after creation has that device's last value; a TEL/EMAIL line
            added and never removed is there, a line nobody added is not
  notes     the note and its "sealbox-conflict" copies hold only versions
            somebody wrote, and every version that no device overwrote
            (wrote over while seeing it) is in one of them
  syncs     every sync exited 0

No third-party modules.  Deterministic for a seed, apart from what the
syncs themselves do (merge results are independent of timing, since a
device's tree only changes when it syncs).
"""

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time

FLAGS = "DFPRST"
KEYWORDS = "ab"                 # dovecot-style keyword letters
FOLDER_POOL = [".Archive", ".Sent", ".Lists", ".Lists.sealbox",
               ".Projects 2026", ".Trash", ".Entw&APw-rfe"]
SINGLE = ["FN", "NOTE", "ORG", "TITLE", "NICKNAME"]
MULTI = ["EMAIL", "TEL"]
CONTACTS = "contacts/default"
NOTE = "notes.txt"


def sha(data):
    return hashlib.sha256(data).hexdigest()


def uniq_of(name):
    i = name.find(":2,")
    return name if i < 0 else name[:i]


def flags_of(name):
    i = name.find(":2,")
    return "" if i < 0 else name[i + 3:]


def folder_dir(folder):
    return "mail" if folder == "" else "mail/" + folder


# ---------------------------------------------------------------- trees

def scan_mail(root):
    """{uniq: [(folder, sub, name)]} and the list of folders."""
    msgs, folders = {}, []
    base = os.path.join(root, "mail")
    cands = [""]
    try:
        cands += sorted(e for e in os.listdir(base)
                        if e.startswith(".") and
                        os.path.isdir(os.path.join(base, e)))
    except FileNotFoundError:
        return msgs, folders
    for f in cands:
        fd = os.path.join(root, folder_dir(f))
        if not os.path.isdir(os.path.join(fd, "cur")):
            continue
        folders.append(f)
        for sub in ("new", "cur"):
            try:
                names = os.listdir(os.path.join(fd, sub))
            except FileNotFoundError:
                continue
            for n in names:
                msgs.setdefault(uniq_of(n), []).append((f, sub, n))
    return msgs, folders


def unfold(data):
    out = []
    for raw in data.replace(b"\r\n", b"\n").split(b"\n"):
        line = raw.decode("utf-8", "replace")
        if not line:
            continue
        if line[0] in " \t" and out:
            out[-1] += line[1:]
        else:
            out.append(line)
    return out


def split_line(line):
    """("NAME;params", value) with the name part upper-cased."""
    i = line.find(":")
    if i < 0:
        return line.upper(), ""
    head = line[:i]
    j = head.find(";")
    if j < 0:
        return head.upper(), line[i + 1:]
    return head[:j].upper() + head[j:], line[i + 1:]


# ---------------------------------------------------------------- run

class Model:
    def __init__(self, seed, devices):
        self.d = {
            "seed": seed,
            "devices": devices,
            "messages": {},     # uniq -> {dev, folder, sha, mtime_ns}
            "deleted": {},      # uniq -> [dev]
            "moved": {},        # uniq -> [dev] (to another folder)
            "to_cur": {},       # uniq -> [dev]
            "fadd": {},         # uniq -> flags added by anyone
            "fdel": {},         # uniq -> flags removed by anyone
            "folders": [],
            "contacts": {},     # uid -> {dev}
            "cdeleted": {},     # uid -> [dev]
            "single": {},       # uid -> key -> [[dev, value|None]...]
            "madd": {},         # uid -> [line]
            "mdel": {},         # uid -> [line]
            "notes": {},        # sha -> dev
            "superseded": [],   # note shas some device wrote over
            "syncs": [],        # [round, dev, rc, message]
            "counts": {},
            "stale": 0,
        }

    def add(self, key, k, v):
        lst = self.d[key].setdefault(k, [])
        if v not in lst:
            lst.append(v)

    def count(self, what):
        c = self.d["counts"]
        c[what] = c.get(what, 0) + 1


class Device:
    def __init__(self, idx, name, vault, mnt):
        self.idx, self.name, self.vault, self.mnt = idx, name, vault, mnt

    def p(self, *parts):
        return os.path.join(self.mnt, *parts)


class Runner:
    def __init__(self, args, devs):
        self.a = args
        self.devs = devs
        self.r = random.Random(args.seed)
        self.m = Model(args.seed, [d.name for d in devs])
        self.n = 0              # global counter: unique names, REV clock

    def tick(self):
        self.n += 1
        return self.n

    def rev(self):
        t = time.gmtime(1767225600 + self.tick() * 61)
        return time.strftime("%Y%m%dT%H%M%SZ", t)

    # --- Maildir
    def deliver(self, d):
        _, folders = scan_mail(d.mnt)
        folder = self.r.choice(folders) if folders else ""
        n = self.tick()
        uniq = "%d.M%dP%d.conv-%s" % (1700000000 + n, n, 1000 + d.idx,
                                      d.name)
        size = self.r.choice([200, 800, 3000, 4096, 9000, 20000])
        body = bytes(self.r.randrange(32, 127) for _ in range(size))
        data = (("From: %s@example.org\nTo: you@example.org\n"
                 "Subject: converge %d seed %d\nMessage-ID: <%s@x>\n\n")
                % (d.name, n, self.a.seed, uniq)).encode() + body + b"\n"
        fd = folder_dir(folder)
        tmp = d.p(fd, "tmp", uniq)
        os.makedirs(d.p(fd, "tmp"), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        mt = (1600000000 + self.r.randrange(10 ** 8)) * 10 ** 9 + \
            self.r.randrange(10 ** 9)
        os.utime(tmp, ns=(mt, mt))
        os.rename(tmp, d.p(fd, "new", uniq))
        self.m.d["messages"][uniq] = {"dev": d.name, "folder": folder,
                                      "sha": sha(data), "mtime_ns": mt}
        return "deliver"

    def pick(self, d, want=None):
        msgs, folders = scan_mail(d.mnt)
        cands = []
        for u, locs in msgs.items():
            if len(locs) != 1:
                continue
            f, sub, n = locs[0]
            if want is None or sub == want:
                cands.append((u, f, sub, n))
        cands.sort()
        if not cands:
            return None, folders
        return self.r.choice(cands), folders

    def flagset(self):
        s = set(self.r.sample(FLAGS, self.r.randrange(0, 4)))
        if self.r.random() < 0.1:
            s.add(self.r.choice(KEYWORDS))
        return "".join(sorted(s))

    def note_flags(self, u, old, new):
        for c in set(new) - set(old):
            self.m.add("fadd", u, c)
        for c in set(old) - set(new):
            self.m.add("fdel", u, c)

    def to_cur(self, d):
        (c, _) = self.pick(d, "new")
        if not c:
            return None
        u, f, _, n = c
        fl = self.flagset()
        fd = folder_dir(f)
        os.rename(d.p(fd, "new", n), d.p(fd, "cur", "%s:2,%s" % (u, fl)))
        self.m.add("to_cur", u, d.name)
        self.note_flags(u, "", fl)
        return "to_cur"

    def flag(self, d):
        (c, _) = self.pick(d, "cur")
        if not c:
            return None
        u, f, _, n = c
        old = flags_of(n)
        fl = set(old)
        for _ in range(self.r.randrange(1, 3)):
            x = self.r.choice(FLAGS + KEYWORDS[:1])
            fl ^= {x}
        fl = "".join(sorted(fl))
        if fl == old:
            return None
        fd = folder_dir(f)
        os.rename(d.p(fd, "cur", n), d.p(fd, "cur", "%s:2,%s" % (u, fl)))
        self.note_flags(u, old, fl)
        return "flag"

    def move(self, d):
        (c, folders) = self.pick(d)
        if not c:
            return None
        u, f, sub, n = c
        others = [x for x in folders if x != f]
        if not others:
            return None
        to = self.r.choice(others)
        os.rename(d.p(folder_dir(f), sub, n), d.p(folder_dir(to), sub, n))
        self.m.add("moved", u, d.name)
        return "move"

    def delete(self, d):
        (c, _) = self.pick(d)
        if not c:
            return None
        u, f, sub, n = c
        os.unlink(d.p(folder_dir(f), sub, n))
        self.m.add("deleted", u, d.name)
        return "delete"

    def mkfolder(self, d):
        _, folders = scan_mail(d.mnt)
        free = [x for x in FOLDER_POOL if x not in folders]
        if not free:
            return None
        f = self.r.choice(free)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(d.p(folder_dir(f), sub), exist_ok=True)
        if f not in self.m.d["folders"]:
            self.m.d["folders"].append(f)
        return "mkfolder"

    # --- vCards
    def contacts(self, d):
        try:
            return sorted(x for x in os.listdir(d.p(CONTACTS))
                          if x.endswith(".vcf"))
        except FileNotFoundError:
            return []

    def write_card(self, d, uid, lines):
        text = "".join(l + "\r\n" for l in lines).encode()
        path = d.p(CONTACTS, uid + ".vcf")
        if self.r.random() < 0.5:
            with open(path, "wb") as f:
                f.write(text)
        else:                   # the way vdir tools write: temp + rename
            tmp = d.p(CONTACTS, ".%s.vcf.tmp" % uid)
            with open(tmp, "wb") as f:
                f.write(text)
            os.rename(tmp, path)

    def vcard_new(self, d):
        n = self.tick()
        uid = "c%d-%s" % (n, d.name)
        lines = ["BEGIN:VCARD", "VERSION:4.0", "UID:" + uid,
                 "FN:Person %d of %s" % (n, d.name), "REV:" + self.rev()]
        single = {"FN": "Person %d of %s" % (n, d.name)}
        for k in ("NOTE", "ORG", "TITLE"):
            if self.r.random() < 0.5:
                single[k] = "%s %d %s" % (k.lower(), n, d.name)
                lines.append("%s:%s" % (k, single[k]))
        email = "EMAIL:p%d@%s.example" % (n, d.name)
        lines.append(email)
        self.m.add("madd", uid, email)
        if self.r.random() < 0.5:
            tel = "TEL:+1 555 %07d" % n
            lines.append(tel)
            self.m.add("madd", uid, tel)
        lines.append("END:VCARD")
        os.makedirs(d.p(CONTACTS), exist_ok=True)
        self.write_card(d, uid, lines)
        self.m.d["contacts"][uid] = {"dev": d.name}
        s = self.m.d["single"].setdefault(uid, {})
        for k in SINGLE:
            s[k] = [[d.name, single.get(k)]]
        return "vcard_new"

    def vcard_edit(self, d):
        cs = self.contacts(d)
        if not cs:
            return None
        name = self.r.choice(cs)
        uid = name[:-4]
        with open(d.p(CONTACTS, name), "rb") as f:
            lines = unfold(f.read())
        keys = [split_line(l)[0] for l in lines]
        n = self.tick()
        if self.r.random() < 0.6:
            k = self.r.choice(SINGLE)
            idx = [i for i, x in enumerate(keys) if x == k]
            if len(idx) > 1:
                return None     # not single-valued any more
            if idx and k != "FN" and self.r.random() < 0.25:
                del lines[idx[0]]
                val = None
            else:
                val = "%s %d %s" % (k.lower(), n, d.name)
                if idx:
                    lines[idx[0]] = "%s:%s" % (k, val)
                else:
                    lines.insert(len(lines) - 1, "%s:%s" % (k, val))
            if uid in self.m.d["single"]:
                self.m.d["single"][uid].setdefault(k, []).append(
                    [d.name, val])
        else:
            k = self.r.choice(MULTI)
            have = [i for i, l in enumerate(lines) if split_line(l)[0] == k]
            if have and self.r.random() < 0.4:
                i = self.r.choice(have)
                self.m.add("mdel", uid, lines[i])
                del lines[i]
            else:
                line = ("EMAIL:e%d@%s.example" % (n, d.name) if k == "EMAIL"
                        else "TEL:+1 555 %07d" % n)
                lines.insert(len(lines) - 1, line)
                self.m.add("madd", uid, line)
        r = [i for i, l in enumerate(lines) if split_line(l)[0] == "REV"]
        if r:
            lines[r[0]] = "REV:" + self.rev()
        else:
            lines.insert(len(lines) - 1, "REV:" + self.rev())
        self.write_card(d, uid, lines)
        return "vcard_edit"

    def vcard_del(self, d):
        cs = self.contacts(d)
        if not cs:
            return None
        name = self.r.choice(cs)
        os.unlink(d.p(CONTACTS, name))
        self.m.add("cdeleted", name[:-4], d.name)
        return "vcard_del"

    # --- the note
    def note(self, d):
        path = d.p(NOTE)
        try:
            with open(path, "rb") as f:
                old = f.read()
            self.m.d["superseded"].append(sha(old))
        except FileNotFoundError:
            old = b""
        lines = old.decode().splitlines()
        line = "edit %d by %s" % (self.tick(), d.name)
        if lines and self.r.random() < 0.4:
            lines[self.r.randrange(len(lines))] = line
        else:
            lines.append(line)
        data = ("\n".join(lines) + "\n").encode()
        with open(path, "wb") as f:
            f.write(data)
        self.m.d["notes"][sha(data)] = d.name
        return "note"

    OPS = [("deliver", 25), ("to_cur", 12), ("flag", 15), ("move", 8),
           ("delete", 7), ("mkfolder", 2), ("vcard_new", 5),
           ("vcard_edit", 12), ("vcard_del", 2), ("note", 5)]

    def one_op(self, d):
        names = [o for o, _ in self.OPS]
        weights = [w for _, w in self.OPS]
        for _ in range(5):
            op = self.r.choices(names, weights)[0]
            try:
                done = getattr(self, op)(d)
            except FileNotFoundError as e:
                # the mount showed something that is not there (a stale
                # cache would be a bug, but the test goes on)
                self.m.d["stale"] += 1
                print("# %s: %s: %s" % (d.name, op, e), file=sys.stderr)
                done = None
            if done:
                self.m.count(done)
                return
        self.deliver(d)
        self.m.count("deliver")

    def sync(self, rnd, d):
        target = d.mnt if self.r.random() < 0.5 else d.vault
        cmd = [self.a.sealbox, "sync"]
        if self.a.passphrase_file:
            cmd += ["--passphrase-file", self.a.passphrase_file]
        cmd.append(target)
        t0 = time.time()
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE,
                               timeout=self.a.sync_timeout)
            rc, err = p.returncode, p.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            rc, err = -1, "timed out after %ss" % self.a.sync_timeout
        dt = time.time() - t0
        self.m.d["syncs"].append([rnd, d.name, rc, err.strip()[:500],
                                  round(dt, 3)])
        if rc:
            print("# round %s: sync %s failed (%s): %s" %
                  (rnd, d.name, rc, err.strip()[:300]), file=sys.stderr)

    def run(self):
        a = self.a
        per_round = max(1, a.ops // a.rounds)
        left = {d.name: a.ops for d in self.devs}
        for d in self.devs:
            for sub in ("cur", "new", "tmp"):
                os.makedirs(d.p("mail", sub), exist_ok=True)
        for rnd in range(1, a.rounds + 1):
            for d in self.devs:
                k = left[d.name] if rnd == a.rounds else \
                    min(left[d.name], self.r.randint(per_round // 2,
                                                     per_round * 3 // 2))
                for _ in range(k):
                    self.one_op(d)
                left[d.name] -= k
            order = list(self.devs)
            self.r.shuffle(order)
            for d in order:
                if rnd == a.rounds or self.r.random() < 0.8:
                    self.sync(rnd, d)
            print("# round %d: %d operations so far" %
                  (rnd, sum(self.m.d["counts"].values())), file=sys.stderr)
        for _ in range(2):
            for d in self.devs:
                self.sync("final", d)

    def save(self):
        with open(self.a.model, "w") as f:
            json.dump(self.m.d, f, indent=1, sort_keys=True)
    def report(self):
        c = self.m.d["counts"]
        print("# operations: " + ", ".join("%s %d" % (k, c[k])
                                           for k in sorted(c)),
              file=sys.stderr)
        ts = [s[4] for s in self.m.d["syncs"]]
        if ts:
            print("# syncs: %d, %.2f s on average, %.2f s at most" %
                  (len(ts), sum(ts) / len(ts), max(ts)), file=sys.stderr)


# ---------------------------------------------------------------- check

class Checker:
    def __init__(self, model, mounts):
        with open(model) as f:
            self.m = json.load(f)
        self.mounts = mounts
        self.bad = []

    def fail(self, mnt, fmt, *args):
        self.bad.append("%s: %s" % (mnt, fmt % args))

    def c_syncs(self):
        for rnd, dev, rc, err, _ in self.m["syncs"]:
            if rc:
                self.fail(dev, "sync in round %s exited %s: %s", rnd, rc, err)

    def c_messages(self):
        m = self.m
        for mnt in self.mounts:
            msgs, _ = scan_mail(mnt)
            for u, info in sorted(m["messages"].items()):
                locs = msgs.get(u, [])
                if u not in m["deleted"]:
                    if len(locs) != 1:
                        self.fail(mnt, "%s (never deleted) is there %d "
                                  "times: %s", u, len(locs), locs)
                        continue
                    f, sub, n = locs[0]
                    with open(os.path.join(mnt, folder_dir(f), sub, n),
                              "rb") as fh:
                        if sha(fh.read()) != info["sha"]:
                            self.fail(mnt, "%s/%s/%s: wrong content", f, sub,
                                      n)
                elif u not in m["moved"] and locs:
                    self.fail(mnt, "%s deleted on %s (never moved to "
                              "another folder) is back: %s", u,
                              m["deleted"][u], locs)
            for u in msgs:
                if u not in m["messages"]:
                    self.fail(mnt, "unknown message %s: %s", u, msgs[u])

    def c_flags(self):
        m = self.m
        for mnt in self.mounts:
            msgs, _ = scan_mail(mnt)
            for u, info in sorted(m["messages"].items()):
                if u in m["deleted"] or len(msgs.get(u, [])) != 1:
                    continue
                f, sub, n = msgs[u][0]
                have = set(flags_of(n))
                added = set(m["fadd"].get(u, []))
                removed = set(m["fdel"].get(u, []))
                if not (added - removed) <= have:
                    self.fail(mnt, "%s: flags %s added and never removed "
                              "are missing: %s", u,
                              "".join(sorted(added - removed - have)), n)
                if not have <= added:
                    self.fail(mnt, "%s: flags %s were never added: %s", u,
                              "".join(sorted(have - added)), n)
                want_sub = "cur" if u in m["to_cur"] else "new"
                if sub != want_sub:
                    self.fail(mnt, "%s is in %s/, want %s/", u, sub, want_sub)
                if sub == "new" and n != u:
                    self.fail(mnt, "%s in new/ has a suffix: %s", u, n)
                if u not in m["moved"] and f != info["folder"]:
                    self.fail(mnt, "%s never moved but is in folder '%s', "
                              "not '%s'", u, f, info["folder"])

    def c_mtimes(self):
        m = self.m
        for mnt in self.mounts:
            msgs, _ = scan_mail(mnt)
            for u, info in sorted(m["messages"].items()):
                for f, sub, n in msgs.get(u, []):
                    st = os.stat(os.path.join(mnt, folder_dir(f), sub, n))
                    if st.st_mtime_ns != info["mtime_ns"]:
                        self.fail(mnt, "%s: mtime %d, want %d", n,
                                  st.st_mtime_ns, info["mtime_ns"])

    def c_folders(self):
        for mnt in self.mounts:
            for f in self.m["folders"]:
                for sub in ("cur", "new", "tmp"):
                    if not os.path.isdir(os.path.join(mnt, folder_dir(f),
                                                      sub)):
                        self.fail(mnt, "folder '%s' has no %s/", f, sub)

    def c_contacts(self):
        m = self.m
        for mnt in self.mounts:
            for uid in sorted(m["contacts"]):
                if uid in m["cdeleted"]:
                    continue
                path = os.path.join(mnt, CONTACTS, uid + ".vcf")
                try:
                    with open(path, "rb") as fh:
                        lines = unfold(fh.read())
                except FileNotFoundError:
                    self.fail(mnt, "contact %s (never deleted) is missing",
                              uid)
                    continue
                kv = [split_line(l) for l in lines]
                keys = [k for k, _ in kv]
                if keys.count("BEGIN") != 1 or keys.count("END") != 1 or \
                        ("UID", uid) not in kv:
                    self.fail(mnt, "contact %s: not one vCard with its "
                              "UID: %s", uid, lines)
                    continue
                for k, hist in sorted(m["single"].get(uid, {}).items()):
                    devs = set(dv for dv, _ in hist[1:])
                    if len(devs) != 1:
                        continue
                    want = hist[-1][1]
                    got = [v for kk, v in kv if kk == k]
                    if (want is None and got) or \
                            (want is not None and got != [want]):
                        self.fail(mnt, "contact %s: %s changed only on %s "
                                  "should be %r, is %r", uid, k,
                                  devs.pop(), want, got)
                added = set(m["madd"].get(uid, []))
                removed = set(m["mdel"].get(uid, []))
                have = set(l for l in lines if split_line(l)[0] in MULTI)
                if not (added - removed) <= have:
                    self.fail(mnt, "contact %s: lines added and never "
                              "removed are missing: %s", uid,
                              sorted(added - removed - have))
                if not have <= added:
                    self.fail(mnt, "contact %s: lines nobody added: %s", uid,
                              sorted(have - added))

    def c_notes(self):
        m = self.m
        written = set(m["notes"])
        live = written - set(m["superseded"])
        for mnt in self.mounts:
            seen = set()
            for e in sorted(os.listdir(mnt)):
                if not e.startswith(NOTE):
                    continue
                with open(os.path.join(mnt, e), "rb") as fh:
                    h = sha(fh.read())
                if h not in written:
                    self.fail(mnt, "%s holds a version nobody wrote", e)
                seen.add(h)
            for h in sorted(live - seen):
                self.fail(mnt, "the note version %s written on %s (never "
                          "overwritten) is lost", h[:12], m["notes"][h])

    def run(self, what):
        getattr(self, "c_" + what)()
        for b in self.bad[:30]:
            print(b)
        if len(self.bad) > 30:
            print("... %d more" % (len(self.bad) - 30))
        return 1 if self.bad else 0


# ---------------------------------------------------------------- main

def snapshot(root):
    out = []
    for dp, dns, fns in os.walk(root):
        dns.sort()
        rel = os.path.relpath(dp, root)
        out.append("%s/" % rel)
        for n in sorted(fns):
            p = os.path.join(dp, n)
            with open(p, "rb") as fh:
                data = fh.read()
            out.append("%s %d %s" % (os.path.join(rel, n), len(data),
                                     sha(data)))
    return sorted(out)


def bulk(mnt, kind, args):
    """Large changes for the offline / kill tests:
    deliver FOLDER N TAG | seen FOLDER | move FROM TO | delete FOLDER K"""
    def fdir(f):
        return os.path.join(mnt, folder_dir(f))

    def listing(f):
        return sorted((sub, n) for sub in ("new", "cur")
                      for n in os.listdir(os.path.join(fdir(f), sub)))
    if kind == "deliver":
        f, n, tag = args[0], int(args[1]), args[2]
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(fdir(f), sub), exist_ok=True)
        for i in range(n):
            u = "%d.M%dP%s.bulk" % (1710000000 + i, i, tag)
            tmp = os.path.join(fdir(f), "tmp", u)
            with open(tmp, "wb") as fh:
                fh.write(("Subject: %s %d\nMessage-ID: <%s@x>\n\n%s\n" %
                          (tag, i, u, "body %s %d " % (tag, i) * (1 + i % 40))
                          ).encode())
            os.rename(tmp, os.path.join(fdir(f), "new", u))
    elif kind == "seen":
        f = args[0]
        for sub, n in listing(f):
            if sub == "new":
                os.rename(os.path.join(fdir(f), "new", n),
                          os.path.join(fdir(f), "cur", n + ":2,S"))
    elif kind == "move":
        src, dst = args
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(fdir(dst), sub), exist_ok=True)
        for sub, n in listing(src):
            os.rename(os.path.join(fdir(src), sub, n),
                      os.path.join(fdir(dst), sub, n))
    elif kind == "delete":
        f, k = args[0], int(args[1])
        for sub, n in listing(f)[:k]:
            os.unlink(os.path.join(fdir(f), sub, n))
    else:
        raise SystemExit("bulk: unknown kind " + kind)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--model", required=True)
    r.add_argument("--seed", type=int, default=20261128)
    r.add_argument("--ops", type=int, default=200)
    r.add_argument("--rounds", type=int, default=10)
    r.add_argument("--sealbox", default=os.environ.get("SEALBOX", "sealbox"))
    r.add_argument("--passphrase-file")
    r.add_argument("--sync-timeout", type=float, default=120)
    r.add_argument("devices", nargs="+", help="NAME=VAULT=MOUNTPOINT")
    c = sub.add_parser("check")
    c.add_argument("model")
    c.add_argument("what", choices=["syncs", "messages", "flags", "mtimes",
                                    "folders", "contacts", "notes"])
    c.add_argument("mounts", nargs="+")
    s = sub.add_parser("snapshot")
    s.add_argument("dir")
    b = sub.add_parser("bulk")
    b.add_argument("mount")
    b.add_argument("kind")
    b.add_argument("args", nargs="*")
    a = ap.parse_args()
    if a.cmd == "bulk":
        bulk(a.mount, a.kind, a.args)
        return 0
    if a.cmd == "run":
        devs = []
        for i, spec in enumerate(a.devices):
            name, vault, mnt = spec.split("=", 2)
            devs.append(Device(i, name, vault, mnt))
        print("# seed %d, %d operations per device in %d rounds" %
              (a.seed, a.ops, a.rounds), file=sys.stderr)
        run = Runner(a, devs)
        try:
            run.run()
        finally:
            run.save()
            run.report()
        return 0
    if a.cmd == "check":
        return Checker(a.model, a.mounts).run(a.what)
    for line in snapshot(a.dir):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
