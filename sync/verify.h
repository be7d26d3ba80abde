#ifndef SB_VERIFY_H
#define SB_VERIFY_H

/*
 * Verification of history before anything in it is used (DESIGN sec. 6,
 * 7). A commit is accepted only when:
 *
 *   - it carries an SSHSIG signature (namespace "git") in its headers, as
 *     git parses them (sync/commitsig.h), that verifies over the payload;
 *   - a root commit is signed by an admin device of the policy in its own
 *     tree, or its recovery key; when the caller gives the expected
 *     recovery key (a fresh clone), the root must be signed by exactly that
 *     key and its policy must name it: that anchors the clone to the
 *     person's recovery key, since `sealbox init` signs the first commit
 *     with it (public keys alone are no anchor: they are in every copy of
 *     the policy);
 *   - any other commit is signed by a device that the policy of every one
 *     of its parents authorizes, or by that policy's recovery key;
 *   - a commit that changes anything under .sealbox/ is signed by an admin
 *     device of every parent's policy, or by the recovery key;
 *   - .sealbox/allowed_signers in its tree is what its policy derives.
 *
 * A range is accepted when the new head descends from the last verified
 * head (no rollback, no rewritten history) and every commit between them
 * is accepted; the first refusal is reported with the commit id and why.
 */

#include <stdint.h>

#include "crypto/sign.h"
#include "sync/repo.h"

struct sb_verify_result {
	char bad_commit[SB_OID_HEX];	/* set when a commit is refused */
	size_t verified;		/* commits checked */
};

/*
 * Verifies every commit reachable from head and not from base (base NULL:
 * the whole history). recovery_sign, when not NULL, must be the recovery
 * key of the root commit's policy. Returns 0, SB_ESIG, SB_EPOLICY,
 * SB_EFORMAT (with a message naming the commit), or -ESTALE when head does
 * not descend from base.
 */
int sb_verify_range(struct sb_verify_result *res, struct sb_repo *r,
		    const char *base, const char *head,
		    const uint8_t *recovery_sign);

/* The device (or "recovery") that signed a verified commit, for logs. */
int sb_verify_signer(char *name, size_t size, struct sb_repo *r,
		     const char *oid);

#endif
