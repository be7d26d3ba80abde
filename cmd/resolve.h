#ifndef SB_RESOLVE_H
#define SB_RESOLVE_H

/*
 * VAULT|MOUNTPOINT arguments (sealbox status, log, conflicts, sync): a
 * directory where a sealbox file system is mounted (type fuse.sealbox in
 * /proc/self/mountinfo) stands for the vault it shows, the mount's source
 * (the daemon mounts with fsname = the vault's absolute path); any other
 * path is the vault itself.
 */

#include <stddef.h>

/*
 * Writes the vault's absolute path for arg into vault (size bytes).
 * Returns 0, or -errno with a message recorded (sb_err_set) when arg does
 * not exist or the path does not fit.
 */
int sb_resolve_vault(char *vault, size_t size, const char *arg);

/*
 * The mount point of the sealbox mount showing vault into mnt, from
 * /proc/self/mountinfo: 1 when mounted, 0 when not.
 */
int sb_resolve_mountpoint(char *mnt, size_t size, const char *vault);

#endif
