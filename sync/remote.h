#ifndef SB_REMOTE_H
#define SB_REMOTE_H

/*
 * Fetch and push of refs/heads/main with the remote "origin" (DESIGN
 * sec. 6, issue 4 part 2). Transports: file:// (and a plain path),
 * ssh://, https://, git://.
 *
 * ssh: the server's host key must match the known_hosts file (default
 * ~/.ssh/known_hosts; hashed "|1|" entries and [host]:port understood)
 * or the pinned key; an unknown or different key is refused, never
 * accepted. Credentials: the key file when configured, else ssh-agent,
 * else ~/.ssh/id_ed25519; at most `attempts` tries (default 3), then
 * the fetch fails with a message saying which key was refused.
 * https: the system CA store, or ca_file instead of it (libgit2's TLS
 * settings are per process: the last call's choice holds). The URL is
 * used as configured (no url.*.insteadOf rewriting). A password in an
 * https URL is used but never appears in a message.
 *
 * Fetched objects go to the object database and the fetched head to
 * refs/sealbox/fetched; nothing else is touched (verification comes
 * before anything is used: sync/verify.h). Push sends a commit to the
 * remote's refs/heads/main, never forced; a rejection reported through
 * libgit2's push_update_reference callback is SB_EREJECT, not success.
 * A remote that cannot be reached (connection refused, DNS, timeout) is
 * SB_ENET, so the caller can retry later with backoff; a refused host
 * key or credentials are SB_EAUTH. Messages name the URL (without any
 * password) and what to do.
 *
 * Configuration lives in the repository's local git config (never
 * committed): remote.origin.url and sealbox.knownHosts, sealbox.hostKey,
 * sealbox.sshKey, sealbox.caFile, sealbox.attempts.
 *
 * Ownership: the caller keeps everything it passes; strings in
 * struct sb_remote_config are malloc'd and freed by
 * sb_remote_config_clear().
 */

#include "sync/repo.h"

#define SB_FETCHED_REF "refs/sealbox/fetched"

struct sb_remote_config {
	char *url;		/* remote.origin.url, or NULL (no remote) */
	char *known_hosts;	/* NULL: ~/.ssh/known_hosts */
	char *host_key;		/* pinned "ssh-ed25519 AAAA...", or NULL */
	char *ssh_key;		/* private key file, or NULL (agent) */
	char *ca_file;		/* https CA bundle, or NULL (system) */
	int attempts;		/* credential attempts; 0: 3 */
	int progress;		/* 1: progress lines on stderr (a tty) */
};

int sb_remote_config_load(struct sb_repo *r, struct sb_remote_config *c);
/* Stores every non-NULL field of c (url included) in the local config. */
int sb_remote_config_save(struct sb_repo *r, const struct sb_remote_config *c);
void sb_remote_config_clear(struct sb_remote_config *c);

/*
 * Fetches the remote's refs/heads/main. 0 with its commit id in head and
 * refs/sealbox/fetched set; -ENOENT when the remote has no main yet (an
 * empty repository); SB_ENET, SB_EAUTH, SB_EGIT.
 */
int sb_remote_fetch(struct sb_repo *r, const struct sb_remote_config *c,
		    char head[SB_OID_HEX]);

/*
 * Pushes commit oid to the remote's refs/heads/main (fast-forward only).
 * 0, SB_EREJECT (the remote has commits we do not: fetch, merge, retry),
 * SB_ENET, SB_EAUTH, SB_EGIT.
 */
int sb_remote_push(struct sb_repo *r, const struct sb_remote_config *c,
		   const char *oid);

/*
 * Checks an ssh host key (the raw key blob as the server sent it, or,
 * when key is NULL, its SHA-256 in sha256) for host and port: against
 * the pinned "TYPE BASE64" key when pinned is set, else against the
 * known_hosts file (NULL: ~/.ssh/known_hosts). Plain and hashed ("|1|")
 * host fields, comma lists, "*"/"?" patterns, "!" negation,
 * "[host]:port" and @revoked lines are understood; @cert-authority lines
 * are ignored. 0 when it matches; SB_EAUTH with a message naming the host
 * and the file (or the pinned key) when the host is unknown, its key
 * differs or is revoked.
 */
int sb_remote_hostkey_check(const char *known_hosts, const char *pinned,
			    const char *host, int port, const void *key,
			    size_t keylen, const unsigned char *sha256);

/*
 * $HOME/rel (the passwd entry's home when HOME is unset) into out;
 * -ENOENT with a message when there is no home or it does not fit.
 */
int sb_remote_home_file(char *out, size_t size, const char *rel);

/* Copies url to out (size bytes, truncated) without any password. */
void sb_remote_url_redact(char *out, size_t size, const char *url);

#endif
