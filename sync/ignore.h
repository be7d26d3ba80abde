#ifndef SB_IGNORE_H
#define SB_IGNORE_H

/*
 * Per-machine state that is never committed (DESIGN sec. 6), by plaintext
 * path relative to the mount root: anything inside a Maildir tmp/
 * ("mail/tmp/x", "mail/.Sent/tmp/x"; the tmp/ directory itself is kept so
 * it exists on every device), ".uidvalidity", ".mbsyncstate*",
 * "dovecot-uidlist", "dovecot-uidvalidity*", "dovecot.index*",
 * "dovecot-keywords", "dovecot.list.index*", "*.lock", ".fuse_hidden*",
 * vdir temporary files (vdirsyncer's and khal's ".*.tmp", "*~" backups,
 * vim swap files ".*.swp") and sealbox's conflict scratch files.
 *
 * Returns 1 when path is ignored, 0 when it is committed. Pure.
 */
int sb_ignore_plain(const char *path);

#endif
