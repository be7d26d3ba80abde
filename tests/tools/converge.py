#!/usr/bin/env python3
"""Seeded randomized convergence driver for sealbox sync (issue 4).

    converge.py run --model FILE [--seed N] [--ops N] [--rounds N]
                    [--sealbox BIN] [--passphrase-file F] [--sync-timeout S]
                    [--simulate] NAME=VAULT=MOUNTPOINT...
    converge.py check MODEL WHAT MOUNTPOINT...
    converge.py snapshot DIR        one line per file: path, size, sha256
    converge.py reader MOUNTPOINT STOPFILE SNAPSHOT...
    converge.py bulk MOUNTPOINT deliver FOLDER N TAG | seen FOLDER |
                                move FROM TO | delete FOLDER K

`run` works on mounted devices: in each round every device does random
operations on its own mount (Maildir++ delivery into new/, new -> cur with
flags, flag changes, moves between folders, deletes, folder creation,
vCard create / per-property edit / delete in contacts/default, edits of a
plain note), then the devices sync (`sealbox sync`) in a random order.  At
the end every device syncs twice, round-robin.  Everything that was done is
recorded in the model (JSON), which `check` compares with the final trees.

Every operation is an event stamped with its device and a vector clock
(what the device had seen: its own operations and, through each sync that
succeeded, everything the remote had).  "A happened before B" means B's
device had seen A when it did B; events neither of which saw the other are
concurrent.  The checks assert only what the merge rules of
sync/maildir_merge.h, sync/pim_merge.h and sync/merge.h guarantee, given
that syncs run one at a time (every merge then has one merge base: the
remote head the device saw last):

  messages  a message no device deleted is present exactly once (by unique
            name) on every device, with the content that was delivered;
            a message with a delete that no move to another folder was
            concurrent with is gone everywhere (a delete beats flag changes
            and new -> cur; only a move the deleting device had not seen
            keeps the message); no message is there twice
  flags     for a message no device deleted, per flag: if the last changes
            (those no other change of that flag saw) all set it, it is set;
            if they all cleared it, it is not; a flag nobody set is not;
            cur/ if some device moved it there, else new/; the folder of
            the last moves when they agree (no move: where it was delivered)
  mtimes    a message's mtime (ns) is the one set at delivery, everywhere
  folders   every folder created is on every device with cur/ new/ tmp/
  contacts  a contact no device deleted is there once, parses, has its
            UID; a single-valued property whose last changes agree has that
            value (concurrent different changes: the later REV wins, not
            asserted); a TEL/EMAIL line added and never removed is there,
            a removed line or one nobody added is not
  notes     the note and its "sealbox-conflict" copies hold only versions
            somebody wrote; when one edit saw all others, the note is that
            edit's version
  notes_kept  every version of the note that no device overwrote (wrote
            over while seeing it at the path) is in the note or a copy
  syncs     every sync exited 0

`run --simulate` checks the checks: the devices are plain directories and
a sync is a merge done here by those rules; every check must pass for any
seed (and fails when a rule is broken on purpose).

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
            # Events carry the device and its vector clock ("vc": what
            # it had seen: its own operations, and through each
            # successful sync everything the remote had).
            "messages": {},     # uniq -> {dev, vc, folder, sha, mtime_ns}
            "mev": {},          # uniq -> [{k: del|move|cur|flag, ...}]
            "folders": [],
            "contacts": {},     # uid -> {dev, vc}
            "cev": {},          # uid -> [{k: set (key, val)|del, ...}]
            "madd": {},         # uid -> [line]
            "mdel": {},         # uid -> [line]
            "notes": {},        # sha -> {dev, vc}
            "superseded": [],   # note shas some device wrote over
            "syncs": [],        # [round, dev, rc, message]
            "counts": {},
            "stale": 0,
        }

    def add(self, key, k, v):
        lst = self.d[key].setdefault(k, [])
        if v not in lst:
            lst.append(v)

    def event(self, key, k, ev):
        self.d[key].setdefault(k, []).append(ev)

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
        self.vc = {d.name: {} for d in devs}
        self.remote_vc = {}

    def ev(self, d, **kw):
        """A new event of device d (one per operation)."""
        vc = self.vc[d.name]
        if kw.pop("new", True):
            vc[d.name] = vc.get(d.name, 0) + 1
        kw.update(dev=d.name, vc=dict(vc))
        return kw

    def synced(self, d):
        vc = self.vc[d.name]
        for k, v in self.remote_vc.items():
            vc[k] = max(vc.get(k, 0), v)
        self.remote_vc = dict(vc)

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
        self.m.d["messages"][uniq] = self.ev(d, folder=folder, sha=sha(data),
                                             mtime_ns=mt)
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

    def note_flags(self, d, u, old, new):
        for c in sorted(set(new) ^ set(old)):
            self.m.event("mev", u, self.ev(d, new=False, k="flag", f=c,
                                           add=c in new))

    def to_cur(self, d):
        (c, _) = self.pick(d, "new")
        if not c:
            return None
        u, f, _, n = c
        fl = self.flagset()
        fd = folder_dir(f)
        os.rename(d.p(fd, "new", n), d.p(fd, "cur", "%s:2,%s" % (u, fl)))
        self.m.event("mev", u, self.ev(d, k="cur"))
        self.note_flags(d, u, "", fl)
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
        self.ev(d)
        self.note_flags(d, u, old, fl)
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
        self.m.event("mev", u, self.ev(d, k="move", to=to))
        return "move"

    def delete(self, d):
        (c, _) = self.pick(d)
        if not c:
            return None
        u, f, sub, n = c
        os.unlink(d.p(folder_dir(f), sub, n))
        self.m.event("mev", u, self.ev(d, k="del"))
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
        ev = self.ev(d)
        self.m.d["contacts"][uid] = ev
        for k in SINGLE:
            self.m.event("cev", uid, dict(ev, k="set", key=k,
                                          val=single.get(k)))
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
            self.m.event("cev", uid, self.ev(d, k="set", key=k, val=val))
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
        self.m.event("cev", name[:-4], self.ev(d, k="del"))
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
        self.m.d["notes"][sha(data)] = self.ev(d)
        self.trace("%s: note %s -> %s", d.name, sha(old)[:12] if old else "-",
                   sha(data)[:12])
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

    def trace(self, fmt, *args):
        if self.a.trace:
            with open(self.a.trace, "a") as f:
                f.write((fmt % args) + "\n")

    def notes_state(self, d):
        out = []
        for e in sorted(os.listdir(d.mnt)):
            if e.startswith(NOTE):
                with open(d.p(e), "rb") as f:
                    out.append("%s=%s" % (e[len(NOTE):] or ".", sha(f.read())[:12]))
        return " ".join(out)

    def sync(self, rnd, d):
        self.trace("round %s sync %s: before: %s", rnd, d.name,
                   self.notes_state(d) if self.a.trace else "")
        self._sync(rnd, d)
        self.trace("round %s sync %s: rc %s after: %s", rnd, d.name,
                   self.m.d["syncs"][-1][2],
                   self.notes_state(d) if self.a.trace else "")

    def _sync(self, rnd, d):
        if self.a.simulate:
            if not hasattr(self, "sim"):
                self.sim = Simulator(self.devs)
            self.sim.sync(d)
            self.m.d["syncs"].append([rnd, d.name, 0, "", 0])
            self.synced(d)
            return
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
        if rc == 0:
            self.synced(d)
        else:
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

# ---------------------------------------------------------------- simulate
#
# --simulate: the devices are plain directories and a sync is a three-way
# merge in Python following the rules of sync/maildir_merge.h,
# sync/pim_merge.h and sync/merge.h (base: the remote head the device saw
# last, which is what one-at-a-time syncs give).  It checks the checks:
# with rules as documented they must all pass, for any seed.

def sim_scan(root):
    tree = {}
    for dp, dns, fns in os.walk(root):
        rel = os.path.relpath(dp, root)
        rel = "" if rel == "." else rel
        if rel:
            tree[rel + "/"] = None
        parts = rel.split("/")
        if parts[-1] == "tmp" and parts[0] == "mail":
            continue
        for n in fns:
            path = os.path.join(dp, n)
            with open(path, "rb") as f:
                tree[os.path.join(rel, n)] = (f.read(),
                                              os.stat(path).st_mtime_ns)
    return tree


def sim_write(root, old, new):
    for path in sorted(old, reverse=True):
        if path not in new and not path.endswith("/"):
            os.unlink(os.path.join(root, path))
    for path in sorted(new):
        full = os.path.join(root, path)
        if path.endswith("/"):
            os.makedirs(full, exist_ok=True)
        elif old.get(path) != new[path]:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(new[path][0])
            os.utime(full, ns=(new[path][1], new[path][1]))


def is_msg(path):
    parts = path.split("/")
    return parts[0] == "mail" and len(parts) >= 3 and \
        parts[-2] in ("new", "cur") and not path.endswith("/")


def msg_state(path):
    parts = path.split("/")
    return "/".join(parts[:-2]), parts[-2], flags_of(parts[-1])


def msg_path(u, folder, sub, fl):
    return "%s/%s/%s" % (folder, sub, u if sub == "new" and not fl
                         else "%s:2,%s" % (u, fl))


def three(b, o, t):
    if o == b:
        return t
    if t == b or o == t:
        return o
    return None


def sim_maildir(base, ours, theirs):
    """The set of merged message paths (sync/maildir_merge.h)."""
    def group(paths):
        g = {}
        for p in paths:
            g.setdefault(uniq_of(p.split("/")[-1]), []).append(p)
        return g
    B, O, T = group(base), group(ours), group(theirs)
    out = set()
    for u in set(O) | set(T):
        b, o, t = B.get(u, []), O.get(u, []), T.get(u, [])
        if len(b) > 1 or len(o) > 1 or len(t) > 1 or not b:
            if not b:
                out |= set(o) | set(t)
            else:
                out |= (set(o) | set(t)) - (set(b) - set(o)) - \
                    (set(b) - set(t))
            continue
        bf, bs, bfl = msg_state(b[0])
        if o and t:
            of, os_, ofl = msg_state(o[0])
            tf, ts, tfl = msg_state(t[0])
            f = three(bf, of, tf)
            if f is None:
                f = min(of, tf)
            sub = three(bs, os_, ts) or os_
            fl = "".join(sorted(c for c in set(bfl) | set(ofl) | set(tfl)
                                if three(c in bfl, c in ofl, c in tfl)))
            if sub == "new" and fl:
                sub = "cur"
            out.add(msg_path(u, f, sub, fl if sub == "cur" else ""))
        else:
            kept = o or t
            if msg_state(kept[0])[0] != bf:
                out.add(kept[0])
    return out


def sim_vcard(b, o, t):
    def parse(data):
        if data is None:
            return None
        props = {}
        for l in unfold(data):
            k, v = split_line(l)
            if k in ("BEGIN", "END", "VERSION"):
                continue
            props.setdefault(k, []).append(l)
        return props
    pb, po, pt = parse(b) or {}, parse(o), parse(t)

    def rev(p):
        return "".join(c for c in (p.get("REV") or [""])[0] if c.isdigit())
    out = []
    for k in sorted(set(pb) | set(po) | set(pt)):
        lb, lo, lt = pb.get(k, []), po.get(k, []), pt.get(k, [])
        if k in MULTI or max(len(lb), len(lo), len(lt)) > 1:
            for l in sorted(set(lb) | set(lo) | set(lt)):
                if three(l in lb, l in lo, l in lt):
                    out.append(l)
            continue
        v = three(lb, lo, lt)
        if v is None:
            if k == "REV":
                v = max(lo, lt)
            elif rev(po) != rev(pt):
                v = lo if rev(po) > rev(pt) else lt
            else:
                v = max(lo, lt)
        out += v
    uid = [l for l in out if l.startswith("UID:")]
    return ("BEGIN:VCARD\r\nVERSION:4.0\r\n" +
            "".join(l + "\r\n" for l in out) + "END:VCARD\r\n").encode()


def sim_merge(base, ours, theirs, theirs_dev):
    msgs = sim_maildir([p for p in base if is_msg(p)],
                       [p for p in ours if is_msg(p)],
                       [p for p in theirs if is_msg(p)])
    out = {}
    for p in msgs:
        out[p] = ours.get(p) or theirs.get(p)
        if out[p] is None:      # moved: the content of the unique name
            u = uniq_of(p.split("/")[-1])
            for side in (ours, theirs):
                for q in side:
                    if is_msg(q) and uniq_of(q.split("/")[-1]) == u:
                        out[p] = side[q]
    for p in set(base) | set(ours) | set(theirs):
        if is_msg(p):
            continue
        if p.endswith("/"):
            if p in ours or p in theirs:
                out[p] = None
            continue
        b, o, t = base.get(p), ours.get(p), theirs.get(p)
        bc, oc, tc = [x and x[0] for x in (b, o, t)]
        if oc == bc:
            v = t
        elif tc == bc or oc == tc:
            v = o
        elif p.endswith(".vcf") and o and t:
            v = (sim_vcard(bc, oc, tc), max(o[1], t[1]))
        elif o and t:
            v = o
            k = "%s.sealbox-conflict-%s" % (p, theirs_dev)
            n = 1
            while k in ours or k in theirs or k in out:
                n += 1
                k = "%s.sealbox-conflict-%s-%d" % (p, theirs_dev, n)
            out[k] = t
        else:
            v = o or t
        if v is not None:
            out[p] = v
    for p in list(out):
        d = os.path.dirname(p.rstrip("/"))
        while d:
            out.setdefault(d + "/", None)
            d = os.path.dirname(d)
    return out


class Simulator:
    def __init__(self, devs):
        self.remote = {}
        self.last = None
        self.base = {d.name: {} for d in devs}

    def sync(self, d):
        ours = sim_scan(d.mnt)
        base = self.base[d.name]
        if self.remote == base:
            merged = ours
        else:
            merged = sim_merge(base, ours, self.remote, self.last)
            sim_write(d.mnt, ours, merged)
        self.remote = self.base[d.name] = merged
        self.last = d.name


# ---------------------------------------------------------------- check

def hb(e1, e2):
    """e1 happened before e2: e2's device had seen e1 when it did e2."""
    return e1 is not e2 and \
        e2["vc"].get(e1["dev"], 0) >= e1["vc"][e1["dev"]]


def maximal(evs):
    """The events that no other event of the list saw."""
    return [e for e in evs if not any(hb(e, x) for x in evs)]


def concurrent(e1, e2):
    return not hb(e1, e2) and not hb(e2, e1)


class Checker:
    def __init__(self, model, mounts):
        with open(model) as f:
            self.m = json.load(f)
        self.mounts = mounts
        self.bad = []

    def fail(self, mnt, fmt, *args):
        self.bad.append("%s: %s" % (mnt, fmt % args))

    def evs(self, u, k):
        return [e for e in self.m["mev"].get(u, []) if e["k"] == k]

    def c_syncs(self):
        for rnd, dev, rc, err, _ in self.m["syncs"]:
            if rc:
                self.fail(dev, "sync in round %s exited %s: %s", rnd, rc, err)

    def c_messages(self):
        for mnt in self.mounts:
            msgs, _ = scan_mail(mnt)
            for u, info in sorted(self.m["messages"].items()):
                locs = msgs.get(u, [])
                dels, moves = self.evs(u, "del"), self.evs(u, "move")
                if not dels:
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
                    continue
                # A delete beats flag changes and new -> cur; only a move
                # to another folder that the deleting device had not seen
                # keeps the message.
                final = [d for d in dels
                         if not any(concurrent(d, mv) for mv in moves)]
                if final and locs:
                    self.fail(mnt, "%s deleted on %s (no move it had not "
                              "seen) is back: %s", u, final[0]["dev"], locs)
                if len(locs) > 1:
                    self.fail(mnt, "%s is there %d times: %s", u, len(locs),
                              locs)
            for u in msgs:
                if u not in self.m["messages"]:
                    self.fail(mnt, "unknown message %s: %s", u, msgs[u])

    def c_flags(self):
        for mnt in self.mounts:
            msgs, _ = scan_mail(mnt)
            for u, info in sorted(self.m["messages"].items()):
                if self.evs(u, "del") or len(msgs.get(u, [])) != 1:
                    continue
                f, sub, n = msgs[u][0]
                have = set(flags_of(n))
                fev = self.evs(u, "flag")
                for c in sorted(set(e["f"] for e in fev) | have):
                    last = maximal([e for e in fev if e["f"] == c])
                    if not last and c in have:
                        self.fail(mnt, "%s: flag %s was never set: %s", u,
                                  c, n)
                    elif last and all(e["add"] for e in last) and \
                            c not in have:
                        self.fail(mnt, "%s: flag %s set last on %s is "
                                  "missing: %s", u, c, last[0]["dev"], n)
                    elif last and not any(e["add"] for e in last) and \
                            c in have:
                        self.fail(mnt, "%s: flag %s removed last on %s is "
                                  "set: %s", u, c, last[0]["dev"], n)
                want_sub = "cur" if self.evs(u, "cur") else "new"
                if sub != want_sub:
                    self.fail(mnt, "%s is in %s/, want %s/", u, sub, want_sub)
                if sub == "new" and n != u:
                    self.fail(mnt, "%s in new/ has a suffix: %s", u, n)
                last = maximal(self.evs(u, "move"))
                want = set(e["to"] for e in last) or {info["folder"]}
                if len(want) == 1 and f not in want:
                    self.fail(mnt, "%s is in folder '%s', want '%s' (moved "
                              "last on %s)", u, f, want.pop(),
                              last[0]["dev"] if last else "none")

    def c_mtimes(self):
        for mnt in self.mounts:
            msgs, _ = scan_mail(mnt)
            for u, info in sorted(self.m["messages"].items()):
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
                cev = m["cev"].get(uid, [])
                if any(e["k"] == "del" for e in cev):
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
                for k in SINGLE:
                    last = maximal([e for e in cev if e.get("key") == k])
                    vals = set(e["val"] for e in last)
                    if len(vals) != 1:
                        continue    # concurrent changes: the later REV wins
                    want = vals.pop()
                    got = [v for kk, v in kv if kk == k]
                    if (want is None and got) or \
                            (want is not None and got != [want]):
                        self.fail(mnt, "contact %s: %s set last on %s "
                                  "should be %r, is %r", uid, k,
                                  last[0]["dev"], want, got)
                added = set(m["madd"].get(uid, []))
                removed = set(m["mdel"].get(uid, []))
                have = set(l for l in lines if split_line(l)[0] in MULTI)
                if not (added - removed) <= have:
                    self.fail(mnt, "contact %s: lines added and never "
                              "removed are missing: %s", uid,
                              sorted(added - removed - have))
                if have - (added - removed):
                    self.fail(mnt, "contact %s: lines removed or never "
                              "added: %s", uid,
                              sorted(have - (added - removed)))

    def notes(self, mnt):
        out = {}
        for e in sorted(os.listdir(mnt)):
            if e.startswith(NOTE):
                with open(os.path.join(mnt, e), "rb") as fh:
                    out[e] = sha(fh.read())
        return out

    def c_notes(self):
        m = self.m
        last = maximal(list(m["notes"].values()))
        for mnt in self.mounts:
            for e, h in self.notes(mnt).items():
                if h not in m["notes"]:
                    self.fail(mnt, "%s holds a version nobody wrote", e)
                if e == NOTE and len(last) == 1 and \
                        m["notes"].get(h) is not last[0]:
                    self.fail(mnt, "%s is not the version written last "
                              "(on %s)", e, last[0]["dev"])

    def c_notes_kept(self):
        m = self.m
        live = set(m["notes"]) - set(m["superseded"])
        for mnt in self.mounts:
            seen = set(self.notes(mnt).values())
            for h in sorted(live - seen):
                self.fail(mnt, "the note version %s written on %s (never "
                          "overwritten) is lost", h[:12],
                          m["notes"][h]["dev"])

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
            try:
                with open(p, "rb") as fh:
                    data = fh.read()
            except FileNotFoundError:   # changed while walking
                out.append("%s vanished" % os.path.join(rel, n))
                continue
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


def reader(mnt, snaps, stop):
    """Reads every file of mnt over and over until the file stop exists:
    each read must give a whole version that one of the snapshots (output
    of `snapshot`) has, for a message by its unique name, else by path.
    A file that vanished meanwhile is fine; a dead mount ends the loop."""
    valid = {}
    for sn in snaps:
        with open(sn) as f:
            for line in f:
                parts = line.rstrip("\n").rsplit(" ", 2)
                if len(parts) != 3 or parts[1] == "vanished":
                    continue
                path, _, h = parts
                key = uniq_of(os.path.basename(path)) \
                    if is_msg(path) else path
                valid.setdefault(key, set()).add(h)
    reads = bad = 0
    while not os.path.exists(stop):
        try:
            for dp, dns, fns in os.walk(mnt):
                for n in fns:
                    path = os.path.join(dp, n)
                    rel = os.path.relpath(path, mnt)
                    try:
                        with open(path, "rb") as fh:
                            h = sha(fh.read())
                    except FileNotFoundError:
                        continue
                    reads += 1
                    key = uniq_of(n) if is_msg(rel) else rel
                    if key in valid and h not in valid[key]:
                        bad += 1
                        if bad <= 10:
                            print("%s: a version no side has (%s)" %
                                  (rel, h[:12]))
        except OSError as e:    # the daemon was killed
            print("# reader stopped: %s" % e)
            break
    print("# %d reads, %d bad" % (reads, bad))
    return 1 if bad else 0


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
    r.add_argument("--trace", help="append the note files' versions "
                   "around every sync to this file")
    r.add_argument("--simulate", action="store_true",
                   help="plain directories, merges done here by the rules")
    r.add_argument("devices", nargs="+", help="NAME=VAULT=MOUNTPOINT")
    c = sub.add_parser("check")
    c.add_argument("model")
    c.add_argument("what", choices=["syncs", "messages", "flags", "mtimes",
                                    "folders", "contacts", "notes",
                                    "notes_kept"])
    c.add_argument("mounts", nargs="+")
    s = sub.add_parser("snapshot")
    s.add_argument("dir")
    rd = sub.add_parser("reader")
    rd.add_argument("mount")
    rd.add_argument("stop")
    rd.add_argument("snaps", nargs="+")
    b = sub.add_parser("bulk")
    b.add_argument("mount")
    b.add_argument("kind")
    b.add_argument("args", nargs="*")
    a = ap.parse_args()
    if a.cmd == "reader":
        return reader(a.mount, a.snaps, a.stop)
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
