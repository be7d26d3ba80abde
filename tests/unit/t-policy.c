#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "crypto/crypto.h"
#include "crypto/err.h"
#include "sync/policy.h"

static const uint8_t k1[32] = { 1 }, k2[32] = { 2 }, k3[32] = { 3 },
		     k4[32] = { 4 }, k5[32] = { 5 }, k6[32] = { 6 };

static struct sb_policy *sample(void)
{
	struct sb_policy *p;

	assert_int_equal(sb_policy_new(&p, k1, k2), 0);
	assert_int_equal(sb_policy_add_device(p, "laptop", 1, k3, k4), 0);
	assert_int_equal(sb_policy_add_device(p, "phone", 0, k5, k6), 0);
	return p;
}

static void test_roundtrip(void **state)
{
	struct sb_policy *p = sample(), *q;
	char *text, *again;

	assert_int_equal(sb_policy_format(&text, p), 0);
	assert_int_equal(sb_policy_parse(&q, text, strlen(text)), 0);
	assert_int_equal(q->ndevices, 2);
	assert_string_equal(q->devices[1].name, "phone");
	assert_int_equal(q->devices[0].admin, 1);
	assert_int_equal(q->devices[1].admin, 0);
	assert_memory_equal(q->recovery_box, k2, 32);
	assert_non_null(sb_policy_signer(q, k5));
	assert_null(sb_policy_signer(q, k6));
	assert_int_equal(sb_policy_format(&again, q), 0);
	assert_string_equal(text, again);
	free(text);
	free(again);
	sb_policy_free(p);
	sb_policy_free(q);
}

static void test_duplicates_refused(void **state)
{
	struct sb_policy *p = sample();

	assert_int_equal(sb_policy_add_device(p, "laptop", 0, k6, k6), -EEXIST);
	assert_int_equal(sb_policy_add_device(p, "other", 0, k3, k6), -EEXIST);
	assert_int_equal(sb_policy_add_device(p, "other", 0, k1, k6), -EEXIST);
	assert_int_equal(sb_policy_add_device(p, ".hidden", 0, k6, k6),
			 SB_EFORMAT);
	sb_policy_free(p);
}

static int parse(const char *text)
{
	struct sb_policy *p;
	int rc = sb_policy_parse(&p, text, strlen(text));

	if (!rc)
		sb_policy_free(p);
	return rc;
}

#define K "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define L "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define M "AwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"sealbox-policy 1\n",
		"sealbox-policy 1\nepoch 0\nrecovery " K " " L "\n",	/* no device */
		"epoch 0\nsealbox-policy 1\n",
		"sealbox-policy 1\nepoch 00\nrecovery " K " " L "\ndevice a admin " M " " M "\n",
		"sealbox-policy 1\nepoch 4294967296\nrecovery " K " " L "\ndevice a admin " M " " M "\n",
		"sealbox-policy 1\nepoch -1\nrecovery " K " " L "\ndevice a admin " M " " M "\n",
		"sealbox-policy 1\nepoch 0\nepoch 0\nrecovery " K " " L "\ndevice a admin " M " " M "\n",
		"sealbox-policy 1\nepoch 0\nrecovery " K " " L "\ndevice a boss " M " " M "\n",
		"sealbox-policy 1\nepoch 0\nrecovery " K " " L "\ndevice a admin " M "\n",
		"sealbox-policy 1\nepoch 0\nrecovery " K " " L "\ndevice a admin " M " " M " x\n",
		"sealbox-policy 1\nepoch 0\nrecovery " K " " L "\ndevice a admin " M " AAAA\n",
		"sealbox-policy 1\nepoch 0\nrecovery " K " " L "\ndevice a admin " M " " M,
		"sealbox-policy 1\nepoch 0\nrecovery " K " " L "\ndevice a admin " M " " M "\ndevice a admin " L " " L "\n",
		"sealbox-policy 1\nepoch 0\nrecovery " K " " L "\ndevice b admin " K " " M "\n",
		"sealbox-policy 1\nepoch 0\nrecovery " K " " L "\ndevice  a admin " M " " M "\n",
		"sealbox-policy 1\nepoch 0\nrecovery " K " " L "\nfrobnicate\ndevice a admin " M " " M "\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int rc = parse(bad[i]);

		if (rc != SB_EFORMAT)
			fail_msg("case %zu: %d", i, rc);
	}
	assert_int_equal(parse("sealbox-policy 2\n"), SB_EVERSION);
	assert_int_equal(parse("# c\nsealbox-policy 1\nepoch 7\nrecovery " K " "
			       L "\ndevice a member " M " " M "\n"), 0);
	assert_int_equal(sb_policy_parse(&(struct sb_policy *){ NULL },
					 "sealbox-policy 1\0", 17), SB_EFORMAT);
}

static void test_allowed_signers(void **state)
{
	struct sb_policy *p = sample();
	char *as;

	assert_int_equal(sb_policy_allowed_signers(&as, p), 0);
	assert_non_null(strstr(as, "laptop@sealbox namespaces=\"git\" ssh-ed25519 "));
	assert_non_null(strstr(as, "phone@sealbox "));
	assert_non_null(strstr(as, "recovery@sealbox "));
	free(as);
	sb_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_duplicates_refused),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_allowed_signers),
	};

	if (sb_crypto_init(0))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
