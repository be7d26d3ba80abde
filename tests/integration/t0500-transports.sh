#!/bin/bash
# Every transport of sync/remote.c against a real server on 127.0.0.1
# (file://, git daemon, sshd, lighttpd + git-http-backend over HTTPS):
# push to a bare repository and fetch back; host keys and certificates
# refused with a message that names what to check; a non-fast-forward or
# server-refused push is SB_EREJECT with the server's ref unchanged; a
# port nobody listens on is SB_ENET. Plain git repositories are driven
# through tests/tools/sb-remote (exit 4 SB_ENET, 5 SB_EAUTH, 6 SB_EREJECT).
. "${SB_SRC:?run the tests with make check, which sets SB_SRC}/tests/lib.sh"
. "$SB_SRC/tests/integration/lib-servers.sh"
srv_need_ssh
srv_need_https
srv_need_daemon
plan 134

SBR=$SB_BUILD/tests/tools/sb-remote
[ -x "$SBR" ] || bail "$SBR is missing (make build-tests)"
R=$T/srv
mkdir -p "$R"
srv_sshd "$R"
srv_https "$R"
srv_daemon "$R"

# A client repository NAME with the remote URL and sealbox remote options.
client() {
	_c=$T/$1; _u=$2; shift 2
	git init -q -b main "$_c" &&
		"$SEALBOX" remote set "$@" "$_u" "$_c" ||
		bail "cannot set up the client $_c"
}

commit() {
	git -C "$T/$1" -c user.name=t -c user.email=t@example.org \
		commit -q --allow-empty -m "$2" && git -C "$T/$1" rev-parse HEAD
}

# Runs sb-remote; its exit code in $rc, stdout in $out, stderr in $err.
sbr() {
	"$SBR" "$@" >"$T/sbr.out" 2>"$T/sbr.err"
	rc=$?
	out=$(cat "$T/sbr.out")
	err=$(cat "$T/sbr.err")
	[ -z "$err" ] || diag "$err"
}

server_main() {
	git -C "$1" rev-parse -q --verify refs/heads/main || echo none
}

fetched() {
	git -C "$T/$1" rev-parse -q --verify refs/sealbox/fetched || echo none
}

has() {
	case $1 in *"$2"*) _sb_result 0 "$3" ;;
	*) _sb_result 1 "$3"; printf '#   got: %s\n# want: ...%s...\n' "$1" "$2" ;;
	esac
}

# 10 checks: push, fast-forward push, fetch into a second repository,
# non-fast-forward push refused with the server's ref unchanged.
roundtrip() {
	_t=$1; _url=$2; shift 2
	srv_repo "$R/$_t.git"
	client "$_t-a" "$_url" "$@"
	c1=$(commit "$_t-a" one)
	sbr push "$T/$_t-a" "$c1"
	is "$_t: first push succeeds" "$rc" 0
	is "$_t: server main is the pushed commit" "$(server_main "$R/$_t.git")" "$c1"
	c2=$(commit "$_t-a" two)
	sbr push "$T/$_t-a" "$c2"
	is "$_t: fast-forward push succeeds" "$rc" 0
	is "$_t: server main moved to the new commit" "$(server_main "$R/$_t.git")" "$c2"

	client "$_t-b" "$_url" "$@"
	sbr fetch "$T/$_t-b"
	is "$_t: fetch succeeds and prints the head" "$rc:$out" "0:$c2"
	is "$_t: refs/sealbox/fetched is the server's main" "$(fetched "$_t-b")" "$c2"
	is "$_t: fetch touches no other ref" \
		"$(git -C "$T/$_t-b" for-each-ref --format='%(refname)')" \
		refs/sealbox/fetched
	ok "$_t: the fetched history is complete" \
		git -C "$T/$_t-b" fsck --no-dangling --connectivity-only "$c2"

	git -C "$T/$_t-b" update-ref refs/heads/main "$c1"
	d=$(commit "$_t-b" diverged)
	sbr push "$T/$_t-b" "$d"
	is "$_t: non-fast-forward push exits SB_EREJECT" "$rc" 6
	is "$_t: the server's main is unchanged" "$(server_main "$R/$_t.git")" "$c2"
	eval "HEAD_$_t=\$c2"
}

roundtrip file "file://$R/file.git"
roundtrip gitd "$GITD_URL/gitd.git"
roundtrip ssh "$SSH_URL$R/ssh.git" --ssh-key "$SRV_SSH_KEY" \
	--known-hosts "$SSH_KNOWN_HOSTS"
roundtrip https "$HTTPS_URL/https.git" --ca-file "$HTTPS_CA"
c2=$HEAD_ssh	# what the ssh server holds, for the ssh checks below

# ---- ssh host keys ----
SSHR=$SSH_URL$R/ssh.git
cp "$SSH_KNOWN_HOSTS" "$T/khf-hashed"
ssh-keygen -q -H -f "$T/khf-hashed" >/dev/null 2>&1
rm -f "$T/khf-hashed.old"
ok "hashed known_hosts entry is hashed" grep -q '^|1|' "$T/khf-hashed"
client kh-hashed "$SSHR" --ssh-key "$SRV_SSH_KEY" --known-hosts "$T/khf-hashed"
sbr fetch "$T/kh-hashed"
is "ssh: a hashed known_hosts entry is accepted" "$rc:$out" "0:$c2"

client kh-pinned "$SSHR" --ssh-key "$SRV_SSH_KEY" --host-key "$SSH_HOSTKEY"
sbr fetch "$T/kh-pinned"
is "ssh: the pinned host key is accepted (no known_hosts)" "$rc:$out" "0:$c2"

ssh-keygen -q -t ed25519 -N '' -f "$T/other_host" || bail "ssh-keygen failed"
echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$T/other_host.pub")" >"$T/khf-wrong"
client kh-wrong "$SSHR" --ssh-key "$SRV_SSH_KEY" --known-hosts "$T/khf-wrong"
sbr fetch "$T/kh-wrong"
is "ssh: a different host key is refused (SB_EAUTH)" "$rc" 5
has "$err" "the host key of [127.0.0.1]:$SSH_PORT" "ssh: the message names the host"
has "$err" "does not match $T/khf-wrong line 1" "ssh: the message names the known_hosts file and line"
is "ssh: nothing fetched after a refused host key" "$(fetched kh-wrong)" none
ok "ssh: no object arrived" test -z "$(git -C "$T/kh-wrong" count-objects | grep -v '^0 objects')"

echo "[127.0.0.1]:1 $SSH_HOSTKEY" >"$T/khf-unknown"
echo "127.0.0.1 $SSH_HOSTKEY" >>"$T/khf-unknown"
client kh-unknown "$SSHR" --ssh-key "$SRV_SSH_KEY" --known-hosts "$T/khf-unknown"
sbr fetch "$T/kh-unknown"
is "ssh: a host missing from known_hosts (other port) is refused" "$rc" 5
has "$err" "[127.0.0.1]:$SSH_PORT is not a known host (no key in $T/khf-unknown)" \
	"ssh: the message says unknown and names the file"
has "$err" "SHA256:" "ssh: the message shows the fingerprint to check"

client kh-default "$SSHR" --ssh-key "$SRV_SSH_KEY"
sbr fetch "$T/kh-default"
is "ssh: no ~/.ssh/known_hosts: refused" "$rc" 5
has "$err" "$HOME/.ssh/known_hosts" "ssh: the default file is named"

client pin-wrong "$SSHR" --ssh-key "$SRV_SSH_KEY" \
	--host-key "$(cut -d' ' -f1,2 "$T/other_host.pub")"
sbr fetch "$T/pin-wrong"
is "ssh: a wrong pinned key is refused" "$rc" 5
has "$err" "is not the pinned key" "ssh: the message names the pinned key"
is "ssh: nothing fetched after a wrong pinned key" "$(fetched pin-wrong)" none

# ---- ssh credentials ----
mkdir -p "$HOME/.ssh"
cp "$SSH_KNOWN_HOSTS" "$HOME/.ssh/known_hosts"
ssh-keygen -q -t ed25519 -N '' -f "$T/stranger" || bail "ssh-keygen failed"
client cred-wrong "$SSHR" --ssh-key "$T/stranger"
sbr fetch "$T/cred-wrong"
is "ssh: a key the server does not accept is SB_EAUTH" "$rc" 5
has "$err" "root@127.0.0.1 refused $T/stranger" "ssh: the message names the refused key"
is "ssh: nothing fetched with a refused key" "$(fetched cred-wrong)" none

client cred-none "$SSHR"
sbr fetch "$T/cred-none"
is "ssh: no agent and no ~/.ssh/id_ed25519: SB_EAUTH" "$rc" 5
cp "$SRV_SSH_KEY" "$HOME/.ssh/id_ed25519"
cp "$SRV_SSH_KEY.pub" "$HOME/.ssh/id_ed25519.pub"
sbr fetch "$T/cred-none"
is "ssh: ~/.ssh/id_ed25519 and ~/.ssh/known_hosts by default" "$rc:$out" "0:$c2"
rm -f "$HOME/.ssh/id_ed25519" "$HOME/.ssh/id_ed25519.pub"

ssh-keygen -q -t ed25519 -N 'agent pass' -f "$T/enc" || bail "ssh-keygen failed"
cat "$T/enc.pub" >>"$T/sshd/authorized_keys"
client cred-enc "$SSHR" --ssh-key "$T/enc"
sbr fetch "$T/cred-enc"
is "ssh: a key file with a passphrase is SB_EAUTH" "$rc" 5
has "$err" "$T/enc is protected by a passphrase; add it to ssh-agent" \
	"ssh: the message says to use ssh-agent"
ssh-agent -D -a "$T/agent.sock" >"$T/agent.log" 2>&1 &
echo $! >"$T/agent.pid"
sb_daemon "$T/agent.pid"
for _ in $(seq 50); do [ -S "$T/agent.sock" ] && break; sleep 0.1; done
printf '#!/bin/sh\necho "agent pass"\n' >"$T/askpass"
chmod +x "$T/askpass"
SSH_AUTH_SOCK=$T/agent.sock SSH_ASKPASS=$T/askpass SSH_ASKPASS_REQUIRE=force \
	DISPLAY=none ssh-add -q "$T/enc" </dev/null >/dev/null 2>&1 ||
	bail "ssh-add failed"
export SSH_AUTH_SOCK=$T/agent.sock
client cred-agent "$SSHR"
sbr fetch "$T/cred-agent"
is "ssh: the key in ssh-agent is used when no key file is set" "$rc:$out" "0:$c2"
SSH_AUTH_SOCK=$T/agent.sock ssh-add -q -D >/dev/null 2>&1
sbr fetch "$T/cred-none"
is "ssh: an agent without keys and no ~/.ssh/id_ed25519: SB_EAUTH" "$rc" 5
has "$err" "refused the ssh-agent's keys" "ssh: the message names the agent"

# agent (a key the server refuses), then ~/.ssh/id_ed25519 (accepted)
SSH_AUTH_SOCK=$T/agent.sock ssh-add -q "$T/stranger" >/dev/null 2>&1 ||
	bail "ssh-add failed"
cp "$SRV_SSH_KEY" "$HOME/.ssh/id_ed25519"
client cred-one "$SSHR" --attempts 1
sbr fetch "$T/cred-one"
is "ssh: --attempts 1 stops after the agent's refused key" "$rc" 5
has "$err" "refused the ssh-agent's keys;" "ssh: only the agent was tried"
client cred-two "$SSHR" --attempts 2
sbr fetch "$T/cred-two"
is "ssh: the second attempt falls back to ~/.ssh/id_ed25519" "$rc:$out" "0:$c2"
rm -f "$HOME/.ssh/id_ed25519"
unset SSH_AUTH_SOCK

# ---- a refusal that only the server knows: push_update_reference ----
printf '#!/bin/sh\necho "sealbox test: no pushes today" >&2\nexit 1\n' \
	>"$R/ssh.git/hooks/pre-receive"
chmod +x "$R/ssh.git/hooks/pre-receive"
c3s=$(commit ssh-a three)
sbr push "$T/ssh-a" "$c3s"
is "ssh: a push the server's hook declines exits SB_EREJECT" "$rc" 6
has "$err" "pre-receive hook declined" "ssh: the message carries the server's reason"
is "ssh: the server's main is unchanged after the refusal" "$(server_main "$R/ssh.git")" "$c2"
cp "$R/ssh.git/hooks/pre-receive" "$R/gitd.git/hooks/pre-receive"
c3g=$(commit gitd-a three)
sbr push "$T/gitd-a" "$c3g"
is "git daemon: a declined push exits SB_EREJECT" "$rc" 6
is "git daemon: the server's main is unchanged" "$(server_main "$R/gitd.git")" "$HEAD_gitd"
rm -f "$R/ssh.git/hooks/pre-receive"
sbr push "$T/ssh-a" "$c3s"
is "ssh: the same push goes through once the hook is gone" "$rc:$(server_main "$R/ssh.git")" "0:$c3s"

# ---- https certificates ----
c2=$HEAD_https
HR=$HTTPS_URL/https.git
client ca-none "$HR"
sbr fetch "$T/ca-none"
is "https: the test CA is not trusted without --ca-file (SB_EAUTH)" "$rc" 5
has "$err" "certificate is not trusted" "https: the message says the certificate is not trusted"
has "$err" "trusted CAs: the system store" "https: the message names the CA store used"
is "https: nothing fetched with an untrusted certificate" "$(fetched ca-none)" none

mkdir -p "$T/otherca"
_srv_certs "$T/otherca" >/dev/null 2>&1 || bail "openssl failed"
client ca-other "$HR" --ca-file "$T/otherca/ca.crt"
sbr fetch "$T/ca-other"
is "https: a certificate from another CA is refused" "$rc" 5
has "$err" "trusted CAs: $T/otherca/ca.crt" "https: the message names the CA file"

client ca-good "$HR" --ca-file "$HTTPS_CA"
sbr fetch "$T/ca-good"
is "https: the configured CA is used again after a failure" "$rc:$out" "0:$c2"

client pw "https://sbuser:s3cr3t-pw@127.0.0.1:$HTTPS_PORT/git/missing.git" \
	--ca-file "$HTTPS_CA"
show=$("$SEALBOX" remote "$T/pw" 2>&1)
has "$show" "url:         https://sbuser@127.0.0.1:$HTTPS_PORT/git/missing.git" \
	"sealbox remote shows the URL without its password"
has "$show" "ca-file:     $HTTPS_CA" "sealbox remote shows the CA file"
sbr fetch "$T/pw"
ok "https: a failing fetch fails" test "$rc" != 0
nok "https: no message contains the password" grep -q s3cr3t-pw "$T/sbr.err"
is "the password stays in the repository config only" \
	"$(git -C "$T/pw" config remote.origin.url)" \
	"https://sbuser:s3cr3t-pw@127.0.0.1:$HTTPS_PORT/git/missing.git"

# ---- whole vaults: sealbox sync and sealbox clone over every transport ----
# The second device clones with the defaults (~/.ssh, the system CA store):
# over https it clones through file:// and then syncs over https.
cp "$SRV_SSH_KEY" "$HOME/.ssh/id_ed25519"
cp "$SSH_KNOWN_HOSTS" "$HOME/.ssh/known_hosts"
PW=$(sb_passfile)
vsync() { "$SEALBOX" sync --passphrase-file "$PW" "$1"; }
head_of() { git -C "$1" rev-parse -q --verify HEAD || echo none; }
verify_all() {
	git -C "$1" show main:.sealbox/allowed_signers >"$T/as" || return 1
	for _c in $(git -C "$1" rev-list main); do
		git -C "$1" -c gpg.ssh.allowedSignersFile="$T/as" \
			verify-commit "$_c" 2>/dev/null || return 1
	done
}

# 8 checks.
vault_flow() {
	_t=$1; _url=$2; _curl=$3; shift 3
	_s=$R/v-$_t.git
	srv_repo "$_s"
	sb_vault "va-$_t" laptop
	"$SEALBOX" remote set "$@" "$_url" "$T/va-$_t" || bail "remote set failed"
	ok "$_t: sealbox sync pushes a new vault" vsync "$T/va-$_t"
	is "$_t: the server holds the vault's head" "$(server_main "$_s")" \
		"$(head_of "$T/va-$_t")"
	ok "$_t: sealbox clone verifies, enrols and pushes" \
		"$SEALBOX" clone --device phone --passphrase-file "$PW" \
		--recovery-file "$T/va-$_t.recovery" "$_curl" "$T/vb-$_t"
	is "$_t: the server holds the enrolment" "$(server_main "$_s")" \
		"$(head_of "$T/vb-$_t")"
	[ "$_curl" = "$_url" ] ||
		"$SEALBOX" remote set "$@" "$_url" "$T/vb-$_t" || bail "remote set failed"
	ok "$_t: the first device syncs the enrolment in" vsync "$T/va-$_t"
	ok "$_t: the second device syncs" vsync "$T/vb-$_t"
	is "$_t: both devices at the server's head" \
		"$(head_of "$T/va-$_t") $(head_of "$T/vb-$_t")" \
		"$(server_main "$_s") $(server_main "$_s")"
	ok "$_t: stock git verifies every commit on the server" verify_all "$_s"
}

vault_flow file "file://$R/v-file.git" "file://$R/v-file.git"
vault_flow gitd "$GITD_URL/v-gitd.git" "$GITD_URL/v-gitd.git"
vault_flow ssh "$SSH_URL$R/v-ssh.git" "$SSH_URL$R/v-ssh.git"
vault_flow https "$HTTPS_URL/v-https.git" "file://$R/v-https.git" \
	--ca-file "$HTTPS_CA"

before=$(server_main "$R/v-ssh.git"):$(head_of "$T/va-ssh")
"$SEALBOX" remote set --known-hosts "$T/khf-wrong" "$SSH_URL$R/v-ssh.git" "$T/va-ssh"
out=$(vsync "$T/va-ssh" 2>&1)
is "sync: a wrong host key fails the sync" "$?" 1
has "$out" "does not match $T/khf-wrong line 1" "sync: the reason is shown"
is "sync: the vault and the server are unchanged" \
	"$(server_main "$R/v-ssh.git"):$(head_of "$T/va-ssh")" "$before"
git -C "$T/va-https" config --unset sealbox.caFile
out=$(vsync "$T/va-https" 2>&1)
is "sync: an untrusted certificate fails the sync" "$?" 1
has "$out" "certificate is not trusted" "sync: the certificate is named as the reason"
"$SEALBOX" remote set "git://127.0.0.1:$(sb_free_port)/v.git" "$T/va-file"
out=$(vsync "$T/va-file" 2>&1)
ok "sync: an unreachable remote fails the sync" test -n "$out"
has "$out" "the remote cannot be reached" "sync: the SB_ENET message is shown"

# ---- unreachable ----
P=$(sb_free_port)
client net-ssh "ssh://root@127.0.0.1:$P/x.git" --ssh-key "$SRV_SSH_KEY"
sbr fetch "$T/net-ssh"
is "ssh: nobody on the port: SB_ENET" "$rc" 4
has "$err" "the remote cannot be reached" "ssh: the SB_ENET message says so"
client net-https "https://127.0.0.1:$P/git/x.git" --ca-file "$HTTPS_CA"
sbr fetch "$T/net-https"
is "https: nobody on the port: SB_ENET" "$rc" 4
client net-gitd "git://127.0.0.1:$P/x.git"
sbr push "$T/net-gitd" "$(commit net-gitd one)"
is "git: nobody on the port: SB_ENET (push)" "$rc" 4
has "$err" "cannot push to git://127.0.0.1:$P/x.git" "git: the message names the URL"
client net-file "file://$T/nowhere.git"
sbr fetch "$T/net-file"
is "file: a missing repository: SB_ENET" "$rc" 4
srv_stop gitd
sbr fetch "$T/gitd-b"
is "git daemon stopped: SB_ENET, the fetched ref kept" "$rc:$(fetched gitd-b)" "4:$HEAD_gitd"

# ---- an empty remote ----
srv_repo "$R/empty.git"
client empty "file://$R/empty.git"
sbr fetch "$T/empty"
is "an empty remote: no main yet (-ENOENT)" "$rc" 3

sb_done
