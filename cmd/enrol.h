#ifndef SB_ENROL_H
#define SB_ENROL_H

/*
 * Enrolling a device into a vault (DESIGN sec. 7, issue 4 part 5): the
 * vault secrets wrapped for its X25519 key (.sealbox/keys/<name>.wrap),
 * its line in the policy (admin or member), .sealbox/allowed_signers
 * derived again from the policy, all three written to the work tree and
 * committed on top of HEAD in one commit signed by the approving key: the
 * recovery key (`sealbox clone`) or, later, an admin device ("approve from
 * another device"). The author and committer are "<signer> <<signer>@sealbox>"
 * ("recovery" for the recovery key), matching the principal in
 * allowed_signers, so stock git verifies the commit.
 *
 * The policy it starts from is HEAD's (signed and verified), never the
 * work tree's copy. Nothing is pushed here.
 *
 * Ownership: the caller keeps everything it passes.
 */

#include <stdint.h>

#include "crypto/keyfile.h"
#include "crypto/secrets.h"
#include "crypto/sign.h"
#include "crypto/wrap.h"
#include "fs/store.h"
#include "sync/policy.h"
#include "sync/repo.h"
#include "sync/statcache.h"

struct sb_enrol {
	const char *vault;		/* store root and work tree */
	struct sb_repo *repo;
	struct sb_store *store;
	struct sb_statcache *sc;
	const struct sb_secrets *secrets;	/* the vault secrets */

	/* the device to enrol */
	const char *name;
	int admin;
	const uint8_t *sign_pub;	/* SB_ED25519_LEN */
	const uint8_t *box_pub;		/* SB_X25519_LEN */

	/* who approves: the recovery key or an admin device's key */
	const struct sb_signkey *signer;
	const char *signer_name;	/* "recovery" or the device's name */
};

/*
 * Reads and parses the policy of HEAD into *out (sb_policy_free).
 * SB_EFORMAT with a message naming .sealbox/policy when it is malformed.
 */
int sb_enrol_head_policy(struct sb_repo *repo, struct sb_policy **out);

/*
 * Writes VAULT/.sealbox/keys/<who>.wrap: the secrets wrapped for box_pub.
 * An existing file is replaced atomically.
 */
int sb_enrol_write_wrap(const char *vault, const char *who,
			const uint8_t box_pub[SB_X25519_LEN],
			const struct sb_secrets *s);

/*
 * Writes VAULT/.sealbox/policy and the allowed_signers it derives
 * (each replaced atomically).
 */
int sb_enrol_write_policy(const char *vault, const struct sb_policy *p);

/*
 * Enrols e->name as described above and commits it; oid receives the new
 * commit (refs/heads/main moves to it). Returns 0; -EEXIST when the
 * policy already has a device of that name or signing key; SB_EPOLICY
 * when the signer is neither the policy's recovery key nor one of its
 * admin devices; or the error of the step that failed. On error the work
 * tree may hold the new .sealbox/ files uncommitted; HEAD is unchanged.
 */
int sb_enrol_device(const struct sb_enrol *e, char oid[SB_OID_HEX]);

#endif
