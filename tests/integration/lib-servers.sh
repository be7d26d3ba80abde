# Git servers on 127.0.0.1 for the transport tests, each on a free port with
# its own configuration under $T, stopped by the cleanup trap of
# tests/lib.sh (also when a test fails). Source after tests/lib.sh.
#
#   srv_need_ssh | srv_need_https | srv_need_daemon
#                            skip_all unless the server can run here
#   srv_repo PATH            creates a bare repository (main as HEAD) that
#                            every server below accepts pushes to
#   srv_sshd ROOT            sshd: own ed25519 host key, key authentication
#                            only, user root with $SRV_SSH_KEY (a fresh
#                            ed25519 key) in its own authorized_keys; sets
#                            $SSH_PORT, $SSH_URL (ssh://root@127.0.0.1:PORT,
#                            append an absolute path), $SSH_HOSTKEY (the
#                            "ssh-ed25519 AAAA..." line) and
#                            $SSH_KNOWN_HOSTS (a known_hosts file for it)
#   srv_https ROOT           lighttpd + git-http-backend over TLS, with a
#                            test CA made now; sets $HTTPS_PORT, $HTTPS_URL
#                            (https://127.0.0.1:PORT/git, append
#                            /NAME.git under ROOT) and $HTTPS_CA (the CA)
#   srv_daemon ROOT          git daemon --export-all --enable=receive-pack;
#                            sets $GITD_PORT and $GITD_URL (git://...:PORT,
#                            append /NAME.git under ROOT)
#   srv_stop NAME            stops one (sshd, https, gitd) before the end
#
# Every server binds 127.0.0.1 only; the helpers check that it does.

# No user configuration or key is read: a private HOME, no agent.
export HOME=$T/home
mkdir -p "$HOME"
unset SSH_AUTH_SOCK SSH_AGENT_PID GIT_SSH GIT_SSH_COMMAND
export GIT_CONFIG_NOSYSTEM=1

# libgit2 1.5 leaks in its ssh transport (the libssh2 known-hosts list of
# every connection), libssh2 1.10 when a key file is refused, and libgit2
# in its regex matching (pcre2 match data on no match); these libraries
# have no frame pointers, so the project's "leak:libgit2.so" does not
# catch them under SANITIZE=address.
if [ -n "${LSAN_OPTIONS:-}" ]; then
	{ cat "$SB_SRC/tests/lsan.supp"
	  echo "leak:libssh2.so"
	  echo "leak:libpcre2-8.so"; } >"$T/lsan-servers.supp"
	export LSAN_OPTIONS="suppressions=$T/lsan-servers.supp:print_suppressions=0"
fi

_srv_wait_port() {
	python3 - "$1" <<'EOF' || return 1
import socket, sys, time
end = time.time() + 20
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

# Fails unless every listening socket of pid is on 127.0.0.1.
_srv_check_bind() {
	_addrs=$(ss -H -ltnp 2>/dev/null | grep "pid=$1," | awk '{print $4}')
	[ -n "$_addrs" ] || return 0	# ss without -p support: nothing to check
	for _a in $_addrs; do
		case $_a in
		127.0.0.1:*) ;;
		*) echo "server pid $1 listens on $_a" >&2; return 1 ;;
		esac
	done
}

# Starts a server in the foreground of a background job; pid in $T/NAME.pid.
_srv_start() {
	_name=$1; _port=$2; shift 2
	"$@" >"$T/$_name.log" 2>&1 &
	echo $! >"$T/$_name.pid"
	sb_daemon "$T/$_name.pid"
	_srv_wait_port "$_port" ||
		bail "$_name did not start on port $_port: $(tail -5 "$T/$_name.log")"
	_srv_check_bind "$(cat "$T/$_name.pid")" ||
		bail "$_name listens beyond 127.0.0.1"
}

srv_stop() {
	_pid=$(cat "$T/$1.pid" 2>/dev/null) || return 0
	kill "$_pid" 2>/dev/null
	wait "$_pid" 2>/dev/null
	return 0
}

srv_need_ssh() {
	[ -x /usr/sbin/sshd ] || skip_all "sshd is not installed (make deps: openssh-server)"
	[ "$(id -u)" = 0 ] || skip_all "sshd with its own config and user root needs root"
	command -v ssh-keygen >/dev/null || skip_all "ssh-keygen is not installed"
}

srv_need_https() {
	[ -x /usr/sbin/lighttpd ] || skip_all "lighttpd is not installed (make deps)"
	[ -f /usr/lib/lighttpd/mod_openssl.so ] ||
		skip_all "lighttpd-mod-openssl is not installed (make deps)"
	[ -x /usr/lib/git-core/git-http-backend ] || skip_all "git-http-backend missing"
	command -v openssl >/dev/null || skip_all "openssl is not installed"
}

srv_need_daemon() {
	[ -x /usr/lib/git-core/git-daemon ] || skip_all "git daemon is not installed"
}

srv_repo() {
	git init -q --bare -b main "$1" &&
		git -C "$1" config http.receivepack true &&
		git -C "$1" config receive.denyNonFastForwards true ||
		bail "cannot create the bare repository $1"
}

srv_sshd() {
	_d=$T/sshd
	mkdir -p "$_d" /run/sshd
	chmod 0755 /run/sshd
	ssh-keygen -q -t ed25519 -N '' -C sshd-host -f "$_d/host_ed25519" ||
		bail "ssh-keygen failed"
	SRV_SSH_KEY=$T/client_ed25519
	ssh-keygen -q -t ed25519 -N '' -C sealbox-test -f "$SRV_SSH_KEY" ||
		bail "ssh-keygen failed"
	cp "$SRV_SSH_KEY.pub" "$_d/authorized_keys"
	SSH_PORT=$(sb_free_port)
	cat >"$_d/sshd_config" <<EOF
ListenAddress 127.0.0.1:$SSH_PORT
HostKey $_d/host_ed25519
PidFile $_d/sshd.pid
AuthorizedKeysFile $_d/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
PermitRootLogin prohibit-password
AllowUsers root
UsePAM no
StrictModes no
UseDNS no
PermitUserEnvironment no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PrintMotd no
MaxAuthTries 6
LogLevel VERBOSE
EOF
	/usr/sbin/sshd -t -f "$_d/sshd_config" >"$T/sshd.check" 2>&1 ||
		bail "sshd -t: $(cat "$T/sshd.check")"
	_srv_start sshd "$SSH_PORT" /usr/sbin/sshd -D -e -f "$_d/sshd_config"
	SSH_URL=ssh://root@127.0.0.1:$SSH_PORT
	SSH_HOSTKEY=$(cut -d' ' -f1,2 "$_d/host_ed25519.pub")
	SSH_KNOWN_HOSTS=$T/known_hosts
	echo "[127.0.0.1]:$SSH_PORT $SSH_HOSTKEY" >"$SSH_KNOWN_HOSTS"
}

# A CA and a server certificate for 127.0.0.1 (mbedTLS, which Debian's
# libgit2 uses, matches the name against the DNS entries).
_srv_certs() {
	_d=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$_d/ca.key" -out "$_d/ca.crt" -days 2 \
		-subj "/CN=sealbox test CA" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$_d/server.key" -out "$_d/server.csr" \
		-subj "/CN=127.0.0.1" &&
	printf '%s\n' "subjectAltName=DNS:127.0.0.1,IP:127.0.0.1" \
		"basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" \
		"keyUsage=digitalSignature" >"$_d/server.ext" &&
	openssl x509 -req -in "$_d/server.csr" -CA "$_d/ca.crt" \
		-CAkey "$_d/ca.key" -CAcreateserial -days 2 \
		-extfile "$_d/server.ext" -out "$_d/server.crt" &&
	cat "$_d/server.crt" "$_d/server.key" >"$_d/server.pem"
}

srv_https() {
	_d=$T/https
	mkdir -p "$_d/www"
	_srv_certs "$_d" >"$T/certs.log" 2>&1 ||
		bail "openssl failed: $(tail -5 "$T/certs.log")"
	HTTPS_CA=$_d/ca.crt
	HTTPS_PORT=$(sb_free_port)
	cat >"$_d/lighttpd.conf" <<EOF
server.modules = ("mod_openssl", "mod_alias", "mod_setenv", "mod_cgi")
server.bind = "127.0.0.1"
server.port = $HTTPS_PORT
server.document-root = "$_d/www"
server.errorlog = "$_d/error.log"
server.upload-dirs = ("$_d")
ssl.engine = "enable"
ssl.pemfile = "$_d/server.pem"
alias.url = ("/git" => "/usr/lib/git-core/git-http-backend")
\$HTTP["url"] =~ "^/git" {
	cgi.assign = ("" => "")
	setenv.add-environment = (
		"GIT_PROJECT_ROOT" => "$1",
		"GIT_HTTP_EXPORT_ALL" => "1",
		"GIT_CONFIG_NOSYSTEM" => "1"
	)
}
EOF
	/usr/sbin/lighttpd -tt -f "$_d/lighttpd.conf" >"$T/https.check" 2>&1 ||
		bail "lighttpd -tt: $(cat "$T/https.check")"
	_srv_start https "$HTTPS_PORT" /usr/sbin/lighttpd -D -f "$_d/lighttpd.conf"
	HTTPS_URL=https://127.0.0.1:$HTTPS_PORT/git
}

srv_daemon() {
	GITD_PORT=$(sb_free_port)
	_srv_start gitd "$GITD_PORT" /usr/lib/git-core/git-daemon --listen=127.0.0.1 \
		--port="$GITD_PORT" --reuseaddr --export-all \
		--enable=receive-pack --base-path="$1" "$1"
	GITD_URL=git://127.0.0.1:$GITD_PORT
}
