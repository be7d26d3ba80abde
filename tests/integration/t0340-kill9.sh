#!/bin/bash
# kill -9 of the daemon during heavy writing: after sealbox umount and a
# new mount, every file fsynced before the kill reads back exactly, and
# fsck is clean apart from files being written at that moment.
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"
plan 6

V=$T/v M=$T/m
sb_vault v
sb_mount "$V" "$M"
pid=$(pgrep -f "sealbox mount .*$M\$" | head -1)
ok "found the daemon" test -n "$pid"

# The writer fsyncs each file, then logs its name and checksum outside.
python3 - "$M" "$T/done" <<'PY' >"$T/writer.log" 2>&1 &
import hashlib, os, random, sys
mnt, log = sys.argv[1], open(sys.argv[2], 'a')
os.makedirs(mnt + '/w', exist_ok=True)
r = random.Random(7)
i = 0
while True:
    i += 1
    data = r.randbytes(r.choice([300, 5000, 70000, 300000]))
    name = 'w/f%05d' % i
    try:
        fd = os.open(mnt + '/' + name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        for off in range(0, len(data), 8192):
            os.write(fd, data[off:off + 8192])
        os.fsync(fd)
        os.close(fd)
        if i % 5 == 0:   # rewrite an older file in place, fsynced
            j = r.randrange(1, i)
            path = mnt + '/w/f%05d' % j
            fd = os.open(path, os.O_RDWR)
            os.pwrite(fd, b'X' * 100, 10)
            os.fsync(fd)
            os.close(fd)
            log.write('rewrite %s\n' % ('w/f%05d' % j)); log.flush()
    except OSError:
        break
    log.write('%s %s\n' % (name, hashlib.sha256(data).hexdigest())); log.flush()
PY
writer=$!
sleep 3
kill -9 "$pid"
wait "$writer" 2>/dev/null
ok "files were written before the kill" test "$(wc -l <"$T/done")" -gt 5

ok "sealbox umount cleans up after the killed daemon" "$SEALBOX" umount "$M"
sb_mount "$V" "$M"
# Files rewritten in place after their checksum was logged are checked
# for the rewrite instead.
ok "every fsynced file reads back exactly" python3 - "$M" "$T/done" <<'PY'
import hashlib, sys
mnt = sys.argv[1]
want, rewritten = {}, set()
for line in open(sys.argv[2]):
    a, b = line.split()
    if a == 'rewrite':
        rewritten.add(b)
    else:
        want[a] = b
bad = []
for name, h in want.items():
    data = open(mnt + '/' + name, 'rb').read()
    if name in rewritten:
        ok = data[10:110] == b'X' * 100
    else:
        ok = hashlib.sha256(data).hexdigest() == h
    if not ok:
        bad.append(name)
if bad:
    sys.exit('wrong contents: %s' % bad[:10])
PY
sb_umount "$M"
"$SEALBOX" fsck --passphrase-file "$(sb_passfile)" "$V" >"$T/fsck" 2>&1
rc=$?
# Damage may only concern files not yet logged as done (being written).
ok "fsck reports nothing but files in flight" python3 - "$T/fsck" "$T/done" "$rc" <<'PY'
import re, sys
done = {l.split()[-1] if l.startswith('rewrite') else l.split()[0] for l in open(sys.argv[2])}
bad = [l for l in open(sys.argv[1]) if re.search(r'w/f\d{5}', l)
       and re.search(r'w/f\d{5}', l).group(0) in done]
sys.exit('fsck flags finished files: %s' % bad[:5] if bad else 0)
PY
ok "the vault mounts and works after the crash" bash -c \
	'"$SEALBOX" mount --passphrase-file "$1" "$2" "$3" && echo x >"$3/after" && "$SEALBOX" umount "$3"' \
	_ "$(sb_passfile)" "$V" "$M"
