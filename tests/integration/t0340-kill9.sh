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
# Every fifth file, an older one is rewritten in place: its checksum
# after the rewrite is logged as "pending" before and as done after the
# fsync (the kill may land after the daemon wrote it and before the
# writer heard back, so either checksum is right for the last pending).
python3 - "$M" "$T/done" <<'PY' >"$T/writer.log" 2>&1 &
import hashlib, os, random, sys
mnt, log = sys.argv[1], open(sys.argv[2], 'a')
os.makedirs(mnt + '/w', exist_ok=True)
r = random.Random(7)
i = 0
def log_line(*words):
    log.write(' '.join(words) + '\n'); log.flush()
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
        log_line(name, hashlib.sha256(data).hexdigest())
        if i % 5 == 0:
            old = 'w/f%05d' % r.randrange(1, i)
            fd = os.open(mnt + '/' + old, os.O_RDWR)
            cur = os.pread(fd, 1 << 20, 0)
            h = hashlib.sha256(cur[:10] + b'X' * 100 + cur[110:]).hexdigest()
            log_line('pending', old, h)
            os.pwrite(fd, b'X' * 100, 10)
            os.fsync(fd)
            os.close(fd)
            log_line(old, h)
    except OSError:
        break
PY
writer=$!
sleep 3
kill -9 "$pid"
wait "$writer" 2>/dev/null
ok "files were written before the kill" test "$(wc -l <"$T/done")" -gt 5

ok "sealbox umount cleans up after the killed daemon" "$SEALBOX" umount "$M"
sb_mount "$V" "$M"
ok "every fsynced file reads back exactly" python3 - "$M" "$T/done" <<'PY'
import hashlib, sys
mnt = sys.argv[1]
want, pending = {}, None
for line in open(sys.argv[2]):
    w = line.split()
    if w[0] == 'pending':
        pending = w[1:]
    else:
        want[w[0]] = {w[1]}
        pending = None
if pending:
    want[pending[0]].add(pending[1])
bad = [name for name, h in want.items()
       if hashlib.sha256(open(mnt + '/' + name, 'rb').read()).hexdigest()
       not in h]
if bad:
    sys.exit('wrong contents: %s' % bad[:10])
PY
sb_umount "$M"
"$SEALBOX" fsck --passphrase-file "$(sb_passfile)" "$V" >"$T/fsck" 2>&1
rc=$?
# Damage may only concern files not yet logged as done (being written).
ok "fsck reports nothing but files in flight" python3 - "$T/fsck" "$T/done" "$rc" <<'PY'
import re, sys
done = {l.split()[0] for l in open(sys.argv[2]) if not l.startswith('pending')}
bad = [l for l in open(sys.argv[1]) if re.search(r'w/f\d{5}', l)
       and re.search(r'w/f\d{5}', l).group(0) in done]
sys.exit('fsck flags finished files: %s' % bad[:5] if bad else 0)
PY
ok "the vault mounts and works after the crash" bash -c \
	'"$SEALBOX" mount --passphrase-file "$1" "$2" "$3" && echo x >"$3/after" && "$SEALBOX" umount "$3"' \
	_ "$(sb_passfile)" "$V" "$M"
