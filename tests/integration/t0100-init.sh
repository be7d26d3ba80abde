#!/bin/bash
# sealbox init, info, passwd: the vault on disk, stock git verification,
# bad input (wrong passphrase, damaged files, unknown versions), and no
# secret written unencrypted.
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"
plan 30

V=$T/v
P=$(sb_passfile)

ok "init creates a vault" \
	"$SEALBOX" init --device laptop --passphrase-file "$P" \
	--recovery-file "$T/rec" "$V"
is "recovery file is 0600" "$(stat -c %a "$T/rec")" 600
ok "recovery key has the SBXR1 form" grep -Eq '^SBXR1-([A-Z2-7]{5}-){11}[A-Z2-7]$' "$T/rec"
is "key file is 0600" "$(stat -c %a "$V/.git/sealbox/device.key")" 600
is "local state dir is 0700" "$(stat -c %a "$V/.git/sealbox")" 700
is "git log shows one commit" "$(git -C "$V" rev-list --count HEAD)" 1

(cd "$T" && git -C "$V" show HEAD:.sealbox/allowed_signers > as)
ok "stock git verify-commit accepts the first commit" \
	git -C "$V" -c gpg.ssh.allowedSignersFile="$T/as" verify-commit HEAD

tree=$(git -C "$V" ls-tree -r --name-only HEAD)
ok "commit holds the policy" grep -qx .sealbox/policy <<<"$tree"
ok "commit holds the wrapped secrets for device and recovery" \
	bash -c 'grep -qx .sealbox/keys/laptop.wrap <<<"$1" && grep -qx .sealbox/keys/recovery.wrap <<<"$1"' _ "$tree"
nok "no plaintext folder name in the tree" \
	grep -Eq '(^|/)(mail|cur|new|tmp|calendars|contacts)(/|$)' <<<"$tree"
# mail/{cur,new,tmp}, calendars, contacts: one directory marker each.
is "six directory markers committed" "$(grep -c '/\.sbdir$' <<<"$tree")" 6

info=$("$SEALBOX" info "$V" </dev/null 2>&1)
ok "info needs no passphrase" test $? = 0
ok "info shows format, device and KDF" \
	bash -c 'grep -q "^format: *1" <<<"$1" && grep -q "^device: *laptop" <<<"$1" && grep -q "argon2id" <<<"$1"' _ "$info"
fpr=$(ssh-keygen -lf <(awk '{print $3, $4}' "$T/as" | head -1) | awk '{print $2}')
ok "info's fingerprint is ssh-keygen's" grep -q "fingerprint: *$fpr" <<<"$info"

mkdir -p "$T/full" && echo x >"$T/full/f"
nok "init refuses a non-empty directory" \
	"$SEALBOX" init --passphrase-file "$P" "$T/full"
ok "...and leaves it untouched" test "$(ls -A "$T/full")" = f

printf 'wrong\n' >"$T/wrong"
cp "$V/.git/sealbox/device.key" "$T/key.before"
"$SEALBOX" passwd --passphrase-file "$T/wrong" --new-passphrase-file "$T/wrong" \
	"$V" 2>"$T/err"
is "wrong passphrase exits 1" $? 1
is "wrong passphrase says so in one line" "$(cat "$T/err")" \
	"sealbox: wrong passphrase for $V"
ok "wrong passphrase changes nothing" cmp "$V/.git/sealbox/device.key" "$T/key.before"

printf 'new passphrase\n' >"$T/new"
ok "passwd changes the passphrase" \
	"$SEALBOX" passwd --passphrase-file "$P" --new-passphrase-file "$T/new" "$V"
nok "the old passphrase no longer works" \
	"$SEALBOX" passwd --passphrase-file "$P" --new-passphrase-file "$P" "$V"
ok "the new one does (given on a file descriptor)" \
	"$SEALBOX" passwd --passphrase-fd 3 --new-passphrase-file "$P" "$V" 3<"$T/new"

# Any damaged byte of .sealbox/ or the key file: a one-line error naming it.
flip() { # FILE OFFSET
	printf "$(printf '\\%03o' $(( $(od -An -tu1 -j"$2" -N1 "$1") ^ 1 )))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
for f in version policy allowed_signers keys/laptop.wrap; do
	cp "$V/.sealbox/$f" "$T/saved"
	flip "$V/.sealbox/$f" 3
	"$SEALBOX" info "$V" >/dev/null 2>"$T/err"
	rc=$?
	cp "$T/saved" "$V/.sealbox/$f"
	ok "damaged .sealbox/$f is named (exit $rc)" \
		bash -c '[ "$1" != 0 ] && [ $(wc -l <"$2") = 1 ] && grep -q "\.sealbox/$3" "$2"' _ "$rc" "$T/err" "$f"
done
cp "$V/.git/sealbox/device.key" "$T/saved"
flip "$V/.git/sealbox/device.key" 40
"$SEALBOX" info "$V" >/dev/null 2>"$T/err"
rc=$?
cp "$T/saved" "$V/.git/sealbox/device.key"
ok "damaged key file is named (exit $rc)" \
	bash -c '[ "$1" != 0 ] && grep -q "device.key" "$2"' _ "$rc" "$T/err"

cp -a "$V" "$T/v2"
echo "sealbox-vault 2" >"$T/v2/.sealbox/version"
"$SEALBOX" info "$T/v2" >/dev/null 2>"$T/err"
ok "unknown format version refused (exit $?)" grep -q "format 2.*upgrade" "$T/err"

# No secret is ever written unencrypted: search every file and every git
# object (decompressed) for each raw secret.
"$SB_BUILD/tests/tools/sb-keydump" "$V" laptop "$P" >"$T/secrets" ||
	bail "sb-keydump failed"
is "keydump found 7 secrets" "$(wc -l <"$T/secrets")" 7
git -C "$V" cat-file --batch-all-objects --batch >"$T/objects"
ok "no secret in any file of the vault or in any git object" \
	python3 - "$T/secrets" "$V" "$T/objects" <<'PY'
import os, sys
secrets = [bytes.fromhex(l.split()[1]) for l in open(sys.argv[1])]
files = [os.path.join(d, f) for d, _, fs in os.walk(sys.argv[2]) for f in fs]
files.append(sys.argv[3])
for path in files:
    data = open(path, 'rb').read()
    for s in secrets:
        if s in data or s.hex().encode() in data:
            sys.exit("secret found in " + path)
PY
