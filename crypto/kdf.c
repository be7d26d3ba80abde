#include <pthread.h>
#include <string.h>

#include <gcrypt.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "crypto/kdf.h"

#define KDF_OUT 32

/*
 * Defaults: about half a second on the reference machine (2 cores, AMD
 * EPYC, Debian 12, libgcrypt 1.10.1), measured with
 *   build/tests/unit/t-kdf-argon2 bench TIME MEM_KIB LANES 9
 * (nine sb_kdf_derive calls each; median wall time):
 *   t=2   64 MiB 1 lane  0.154 s     t=2  256 MiB 1 lane  0.797 s
 *   t=2   64 MiB 2 lanes 0.125 s     t=2  256 MiB 2 lanes 0.524 s
 *   t=2  128 MiB 2 lanes 0.260 s     t=2  256 MiB 4 lanes 0.511 s
 *   t=3  128 MiB 2 lanes 0.339 s
 * Two lanes on two threads buy more memory for the same wall time than
 * more passes would (not twice as much: libgcrypt allocates, zeroes and
 * wipes the block memory on one thread).
 */
#define KDF_DEFAULT_TIME	2
#define KDF_DEFAULT_MEM_KIB	(256u << 10)
#define KDF_DEFAULT_LANES	2

void sb_kdf_default(struct sb_kdf_params *p)
{
	p->time = KDF_DEFAULT_TIME;
	p->mem_kib = KDF_DEFAULT_MEM_KIB;
	p->lanes = KDF_DEFAULT_LANES;
}

int sb_kdf_check(const struct sb_kdf_params *p)
{
	if (p->time < SB_KDF_MIN_TIME || p->time > SB_KDF_MAX_TIME)
		return sb_err_set(SB_EFORMAT,
				  "Argon2id time cost %u out of range %u..%u",
				  p->time, SB_KDF_MIN_TIME, SB_KDF_MAX_TIME);
	if (p->mem_kib < SB_KDF_MIN_MEM_KIB || p->mem_kib > SB_KDF_MAX_MEM_KIB)
		return sb_err_set(SB_EFORMAT,
				  "Argon2id memory %u KiB out of range %u..%u KiB",
				  p->mem_kib, SB_KDF_MIN_MEM_KIB,
				  SB_KDF_MAX_MEM_KIB);
	if (p->lanes < 1 || p->lanes > SB_KDF_MAX_LANES)
		return sb_err_set(SB_EFORMAT,
				  "Argon2id lanes %u out of range 1..%u",
				  p->lanes, SB_KDF_MAX_LANES);
	return 0;
}

/*
 * The job runner libgcrypt drives through struct gcry_kdf_thread_ops:
 * for each slice of each pass it dispatches one job per lane, then waits
 * for all of them before the next slice. One thread per job; a job
 * whose thread cannot be started runs inline, so the result never
 * depends on how many threads we got.
 */
struct kdf_jobs {
	pthread_t thread[SB_KDF_MAX_LANES];
	unsigned int n;
	struct kdf_job {
		gcry_kdf_job_fn_t fn;
		void *priv;
	} job[SB_KDF_MAX_LANES];
};

static void *kdf_job_run(void *arg)
{
	struct kdf_job *j = arg;

	j->fn(j->priv);
	return NULL;
}

static int kdf_jobs_wait(void *ctx)
{
	struct kdf_jobs *jobs = ctx;
	int rc = 0;

	while (jobs->n > 0)
		if (pthread_join(jobs->thread[--jobs->n], NULL))
			rc = -1;
	return rc;
}

static int kdf_jobs_dispatch(void *ctx, gcry_kdf_job_fn_t fn, void *priv)
{
	struct kdf_jobs *jobs = ctx;
	struct kdf_job *j;

	if (jobs->n == SB_KDF_MAX_LANES) {
		fn(priv);
		return 0;
	}
	j = &jobs->job[jobs->n];
	j->fn = fn;
	j->priv = priv;
	if (pthread_create(&jobs->thread[jobs->n], NULL, kdf_job_run, j))
		fn(priv);
	else
		jobs->n++;
	return 0;
}

static int kdf_compute(gcry_kdf_hd_t h, uint32_t lanes)
{
	struct kdf_jobs jobs = { .n = 0 };
	const gcry_kdf_thread_ops_t ops = {
		.jobs_context = &jobs,
		.dispatch_job = kdf_jobs_dispatch,
		.wait_all_jobs = kdf_jobs_wait,
	};
	gcry_error_t err;

	err = gcry_kdf_compute(h, lanes > 1 ? &ops : NULL);
	kdf_jobs_wait(&jobs);
	return err ? sb_err_set(SB_ECRYPTO, "Argon2id failed: %s",
				gcry_strerror(err)) : 0;
}

static int kdf_open_error(gcry_error_t err, const struct sb_kdf_params *p)
{
	if (gcry_err_code(err) == GPG_ERR_ENOMEM)
		return sb_err_set(-ENOMEM, "Argon2id needs %u MiB of memory",
				  p->mem_kib >> 10);
	return sb_err_set(SB_ECRYPTO, "Argon2id cannot start: %s",
			  gcry_strerror(err));
}

int sb_kdf_derive(uint8_t out[32], const struct sb_kdf_params *p,
		  const uint8_t salt[SB_KDF_SALT],
		  const char *pass, size_t passlen)
{
	const unsigned long param[4] = { KDF_OUT, p->time, p->mem_kib,
					  p->lanes };
	gcry_kdf_hd_t h;
	gcry_error_t err;
	int rc;

	if ((rc = sb_kdf_check(p)))
		return rc;
	if (passlen == 0)
		return sb_err_set(-EINVAL, "empty passphrase");
	err = gcry_kdf_open(&h, GCRY_KDF_ARGON2, GCRY_KDF_ARGON2ID, param, 4,
			    pass, passlen, salt, SB_KDF_SALT, NULL, 0, NULL, 0);
	if (err)
		return kdf_open_error(err, p);
	if (!(rc = kdf_compute(h, p->lanes)) &&
	    (err = gcry_kdf_final(h, KDF_OUT, out)))
		rc = sb_err_set(SB_ECRYPTO, "Argon2id failed: %s",
				gcry_strerror(err));
	gcry_kdf_close(h);
	return rc;
}
