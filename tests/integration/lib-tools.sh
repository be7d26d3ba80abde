# Helpers for the real-tools scripts (t04*): the target directory, a
# private HOME, the tool check, and servers (dovecot, radicale) on
# 127.0.0.1 with their own configuration under $T. Source after tests/lib.sh.
#
#   sb_need TOOL...          skip_all unless every tool is installed
#   sb_target [OPTIONS]      sets $M: a sealbox mount (or, with SB_NATIVE=1,
#                            a plain directory) with mail/ calendars/ contacts/;
#                            OPTIONS go to `sealbox mount -o`
#   sb_wait_port PORT        waits until 127.0.0.1:PORT accepts connections
#   sb_need_dovecot          skip_all unless dovecot can run here
#   sb_dovecot MAILDIR       starts dovecot serving MAILDIR as user "test"
#                            (password "secret"); sets $DOVECOT_PORT; mail
#                            processes run as $SB_MAIL_USER, so MAILDIR and
#                            the directories above it must let them in
#   sb_radicale              starts radicale (auth none); sets $RADICALE_PORT
#                            and $RADICALE_URL
#   sb_run FILE CMD...       runs CMD with its output in FILE; on failure
#                            prints that output (for ok: the log shows why)
#   sb_listing DIR           one line per file: path, inode, mtime (ns), size

# Python from the distribution: the tools' modules (radicale) live there, not
# in a user's pyenv or virtualenv.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

# No user configuration is read or written.
export HOME=$T/home
export XDG_CONFIG_HOME=$T/home/.config
export XDG_DATA_HOME=$T/home/.local/share
export XDG_CACHE_HOME=$T/home/.cache
export XDG_STATE_HOME=$T/home/.local/state
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_STATE_HOME"
export TZ=UTC LC_ALL=C.UTF-8 LANG=C.UTF-8
unset NOTMUCH_CONFIG MAILDIR EDITOR VISUAL PYTHONPATH PYTHONHOME

sb_need() {
	for _t in "$@"; do
		command -v "$_t" >/dev/null 2>&1 ||
			skip_all "$_t is not installed (make deps installs it)"
	done
}

sb_target() {
	M=$T/mnt
	if [ "${SB_NATIVE:-}" = 1 ]; then
		diag "SB_NATIVE=1: target is a plain directory, not a mount"
		mkdir -p "$M"
	elif [ -n "${1:-}" ]; then
		sb_vault v
		mkdir -p "$M"
		"$SEALBOX" mount --passphrase-file "$(sb_passfile)" -o "$1" \
			"$T/v" "$M" || bail "sealbox mount -o $1 failed"
		_sb_mounts="$M $_sb_mounts"
	else
		sb_vault v
		sb_mount "$T/v" "$M"
	fi
	mkdir -p "$M/mail/cur" "$M/mail/new" "$M/mail/tmp" \
		"$M/calendars" "$M/contacts" ||
		bail "cannot create the top folders in $M"
}

sb_wait_port() {
	"$PY" - "$1" <<'EOF' || return 1
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

# Runs a server in the background as a child of this shell; its pid goes in
# $T/NAME.pid for the cleanup trap, its output in $T/NAME.log.
sb_server() {
	_name=$1; shift
	"$@" >"$T/$_name.log" 2>&1 &
	echo $! >"$T/$_name.pid"
	sb_daemon "$T/$_name.pid"
}

# Stops a server started with sb_server and waits for it to be gone.
sb_server_stop() {
	_pid=$(cat "$T/$1.pid")
	kill "$_pid" 2>/dev/null
	wait "$_pid" 2>/dev/null
	return 0
}

# Call before plan: dovecot runs here as root with its own config and needs
# Debian's internal users.
sb_need_dovecot() {
	sb_need dovecot
	[ "$(id -u)" = 0 ] || skip_all "dovecot with its own config needs root"
	getent passwd dovecot >/dev/null && getent passwd dovenull >/dev/null ||
		skip_all "users dovecot and dovenull missing (install dovecot-core)"
}

# Dovecot refuses mail access as root, so its mail processes run as nobody:
# the caller makes MAILDIR reachable (mode of $T, allow_other on a mount).
SB_MAIL_USER=nobody
SB_MAIL_GROUP=$(id -gn nobody 2>/dev/null || echo nogroup)

sb_dovecot() {
	_d=$T/dovecot
	mkdir -p "$_d/run" "$_d/state" "$_d/home"
	DOVECOT_PORT=$(sb_free_port)
	printf 'test:{PLAIN}secret:::%s::userdb_mail=maildir:%s\n' \
		"$_d/home" "$1" >"$_d/passwd"
	cat >"$_d/dovecot.conf" <<EOF
base_dir = $_d/run
state_dir = $_d/state
instance_name = sealbox-test-$$
log_path = $_d/log
info_log_path = $_d/log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
mail_uid = $SB_MAIL_USER
mail_gid = $SB_MAIL_GROUP
mail_privileged_group =
mail_location = maildir:$1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $_d/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $_d/passwd
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DOVECOT_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
# Root: the password file lives in the private $T (mode 0700).
service auth {
  user = root
}
service auth-worker {
  user = root
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
EOF
	sb_server dovecot dovecot -F -c "$_d/dovecot.conf"
	sb_wait_port "$DOVECOT_PORT" ||
		bail "dovecot did not start: $(cat "$T/dovecot.log" "$_d/log" 2>/dev/null | tail -5)"
}

sb_radicale() {
	_r=$T/radicale
	mkdir -p "$_r/storage"
	RADICALE_PORT=$(sb_free_port)
	RADICALE_URL=http://127.0.0.1:$RADICALE_PORT
	cat >"$_r/radicale.conf" <<EOF
[server]
hosts = 127.0.0.1:$RADICALE_PORT
[auth]
type = none
[rights]
type = owner_only
[storage]
filesystem_folder = $_r/storage
[web]
type = none
[logging]
level = warning
mask_passwords = True
EOF
	sb_server radicale "$PY" -m radicale --config "$_r/radicale.conf"
	sb_wait_port "$RADICALE_PORT" ||
		bail "radicale did not start: $(tail -5 "$T/radicale.log")"
}

sb_run() {
	_out=$1; shift
	"$@" >"$_out" 2>&1 && return 0
	_rc=$?
	cat "$_out"
	return $_rc
}

sb_listing() {
	(cd "$1" && find . -type f ! -name '.*' -printf '%p %i %T@ %s\n' | LC_ALL=C sort)
}
