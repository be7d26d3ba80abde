#!/bin/bash
# SSHSIG and OpenSSH key files against the real ssh-keygen: for fixed
# seeds our key file is read by ssh-keygen, ssh-keygen's signature with
# it is byte-identical to ours, each side verifies the other's (through
# an allowed_signers file we wrote), fingerprints agree, keys ssh-keygen
# generated parse, and altered signatures, messages and namespaces are
# refused by both.
#
#   make DEVELOPER=1 build/tests/tools/sb-sigtool &&
#   SB_BUILD=$PWD/build SB_SRC=$PWD prove tests/integration/t0010-sshsig-interop.sh
set -u
: "${SB_SRC:?SB_SRC must point at the source tree}"
SB_BUILD=${SB_BUILD:-$SB_SRC/build}
SIG=$SB_BUILD/tests/tools/sb-sigtool

command -v ssh-keygen >/dev/null 2>&1 ||
	{ echo "1..0 # SKIP ssh-keygen not installed (openssh-client)"; exit 0; }
[ -x "$SIG" ] ||
	{ echo "Bail out! $SIG not built (make build/tests/tools/sb-sigtool)"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/sealbox-t0010.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM HUP
cd "$T" || exit 1

n=0
failed=0
result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
		[ -s .out ] && sed 's/^/# /' .out | head -20
	fi
	: >.out
}
# ok DESC CMD...: passes when CMD exits 0.
ok() {
	d=$1; shift
	"$@" >.out 2>&1
	result $? "$d"
}
# nok DESC CMD...: passes when CMD exits non-zero.
nok() {
	d=$1; shift
	if "$@" >.out 2>&1; then result 1 "$d"; else result 0 "$d"; fi
}
is() {
	if [ "$2" = "$3" ]; then
		result 0 "$1"
	else
		printf 'got:  %s\nwant: %s\n' "$2" "$3" >.out
		result 1 "$1"
	fi
}
has() {
	if grep -q -- "$3" "$2"; then
		result 0 "$1"
	else
		{ echo "no \"$3\" in:"; cat "$2"; } >.out
		result 1 "$1"
	fi
}

# ssh-keygen -Y sign writes FILE.sig beside FILE and asks before replacing.
kg_sign() { # KEY NAMESPACE FILE [OPTION]
	rm -f "$3.sig"
	ssh-keygen -Y sign -f "$1" -n "$2" ${4:+-O "$4"} "$3" </dev/null
}
kg_verify() { # ALLOWED PRINCIPAL NAMESPACE SIG FILE
	ssh-keygen -Y verify -f "$1" -I "$2" -n "$3" -s "$4" <"$5"
}
kg_fpr() { ssh-keygen -lf "$1" | awk '{print $2}'; }
# The decoded blob of an armored signature, and back (base64 -w 70 is
# ssh-keygen's line width).
unarmor() { sed '1d;$d' "$1" | tr -d '\n' | base64 -d; }
armor() {
	echo "-----BEGIN SSH SIGNATURE-----"
	base64 -w 70 "$1"
	echo "-----END SSH SIGNATURE-----"
}

plan=43
echo "1..$plan"

# RFC 8032 TEST 1's seed, and one whose first bytes are zero.
SEEDS="9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60
0000000000000000000000000000000000000000000000000000000000000001"
printf 'hello\n' >m.hello
: >m.empty
printf 'tree 4b825dc642cb6eb9a060e54bf8d69288fbc4904\n\0\377 binary\n' >m.bin
seq 1 20000 >m.big

i=0
for seed in $SEEDS; do
	i=$((i + 1))
	k=key$i
	"$SIG" privkey "$seed" "dev$i@sealbox" >$k && chmod 600 $k
	"$SIG" pubkey "$seed" "dev$i@sealbox" >$k.ours.pub
	ok "seed $i: ssh-keygen reads our private key file" \
		ssh-keygen -y -f $k
	ssh-keygen -y -f $k >$k.pub 2>/dev/null
	is "seed $i: ssh-keygen -y gives our public key and comment" \
		"$(cat $k.pub)" "$(cat $k.ours.pub)"
	is "seed $i: ssh-keygen -lf fingerprint is ours" \
		"$(kg_fpr $k)" "$("$SIG" fingerprint "$seed")"
	"$SIG" allowed-signers "dev$i@sealbox" "$seed" >as$i
	is "seed $i: ssh-keygen finds our allowed_signers principal" \
		"$(ssh-keygen -Y find-principals -f as$i -s /dev/stdin \
			< <("$SIG" sign "$seed" git <m.hello) 2>&1)" "dev$i@sealbox"
	msgs="m.hello m.empty m.bin m.big"
	[ $i = 1 ] || msgs=m.hello
	for m in $msgs; do
		kg_sign $k git $m >/dev/null 2>&1
		"$SIG" sign "$seed" git <$m >$m.$i.ours
		ok "seed $i, $m: ssh-keygen's signature is byte-identical to ours" \
			cmp $m.sig $m.$i.ours
		ok "seed $i, $m: ssh-keygen -Y verify accepts ours" \
			kg_verify as$i "dev$i@sealbox" git $m.$i.ours $m
		"$SIG" verify git $m.sig <$m >.fpr 2>&1
		is "seed $i, $m: we accept ssh-keygen's, signed by its key" \
			"$(cat .fpr)" "$(kg_fpr $k)"
	done
done

# sha256 is the other hash ssh-keygen signs with.
kg_sign key1 git m.hello hashalg=sha256 >/dev/null 2>&1
ok "ssh-keygen signed with hashalg=sha256" grep -q "BEGIN SSH SIGNATURE" m.hello.sig
ok "we accept ssh-keygen's sha256 signature" \
	"$SIG" verify git m.hello.sig <m.hello
has "it names the hash in the blob" <(unarmor m.hello.sig | tr -c '[:print:]' .) "sha256"

# Keys ssh-keygen generates.
ssh-keygen -q -t ed25519 -N '' -C gen@test -f gen </dev/null
is "a key ssh-keygen generated parses to its public key" \
	"$("$SIG" pubkey-from-privkey gen 2>&1)" "$(awk '{print $1, $2}' gen.pub)"
is "its .pub file parses to its fingerprint" \
	"$("$SIG" fingerprint-pubkey gen.pub 2>&1)" "$(kg_fpr gen.pub)"
kg_sign gen git m.bin >/dev/null 2>&1
is "we verify a signature by a generated key and name its signer" \
	"$("$SIG" verify git m.bin.sig <m.bin 2>&1)" "$(kg_fpr gen.pub)"
ssh-keygen -q -t ed25519 -N 'a passphrase' -f enc </dev/null
nok "an encrypted key file is refused" "$SIG" pubkey-from-privkey enc
"$SIG" pubkey-from-privkey enc >.err 2>&1
has "with a message that says why" .err "encrypted"

# Alterations. Our re-armoring is exact, so only the byte flipped differs.
S1=$(echo "$SEEDS" | head -1)
"$SIG" sign "$S1" git <m.hello >good.sig
unarmor good.sig >good.blob
armor good.blob >same.sig
ok "re-armoring an untouched blob gives the same file" cmp good.sig same.sig
# The last byte of the blob is the last byte of S.
perl -0777 -pe 'substr($_, -1, 1) = chr(ord(substr($_, -1, 1)) ^ 1)' \
	good.blob >bad.blob
armor bad.blob >bad.sig
nok "we refuse a signature with an altered byte" \
	"$SIG" verify git bad.sig <m.hello
"$SIG" verify git bad.sig <m.hello >.err 2>&1
has "as a bad signature (SB_ESIG)" .err "^error -1007:"
nok "ssh-keygen refuses it too" kg_verify as1 dev1@sealbox git bad.sig m.hello
# A byte of the pubkey's length field: malformed, not merely wrong.
perl -0777 -pe 'substr($_, 13, 1) = chr(ord(substr($_, 13, 1)) ^ 1)' \
	good.blob >fmt.blob
armor fmt.blob >fmt.sig
"$SIG" verify git fmt.sig <m.hello >.err 2>&1
has "a damaged length is malformed (SB_EFORMAT)" .err "^error -1002:"
printf 'hellp\n' >m.other
nok "we refuse our signature over another message" \
	"$SIG" verify git good.sig <m.other
nok "ssh-keygen refuses it too" kg_verify as1 dev1@sealbox git good.sig m.other
"$SIG" verify file good.sig <m.hello >.err 2>&1
has "we refuse it for another namespace (SB_ESIG)" .err "^error -1007:.*namespace"
nok "ssh-keygen refuses it for another namespace" \
	kg_verify as1 dev1@sealbox file good.sig m.hello
kg_sign key1 file m.hello >/dev/null 2>&1
nok "we refuse ssh-keygen's signature made for namespace file as git" \
	"$SIG" verify git m.hello.sig <m.hello
# git stores the armor in a commit header without its final newline.
head -c -1 good.sig >nonl.sig
is "we accept the armor without its final newline" \
	"$("$SIG" verify git nonl.sig <m.hello 2>&1)" "$(kg_fpr key1)"
ok "so does ssh-keygen" kg_verify as1 dev1@sealbox git nonl.sig m.hello

[ "$n" = "$plan" ] || { echo "# ran $n tests, planned $plan"; exit 1; }
[ "$failed" = 0 ]
