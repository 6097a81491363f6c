/*
 * check_auth.c - unit tests for auth.c: the Host check (loopback,
 * localhost, ports, allow_remote addresses and wildcards), the key
 * parsers, and the key lookup with clients and servers.
 */
#include "ac-config.h"

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "auth.h"
#include "config.h"
#include "secret.h"
#include "testlib.h"

START_TEST(test_host_loopback)
{
	static const char *const good[] = { "127.0.0.1", "127.0.0.1:32499",
	    "127.255.0.9:1", "localhost", "LOCALHOST:80", "localhost:65535",
	    "[::1]", "[::1]:32499", "[0:0:0:0:0:0:0:1]:9", "[::ffff:127.0.0.1]",
	    NULL };
	static const char *const bad[] = { "", "evil.example.com",
	    "evil.example.com:32499", "127.0.0.1.evil.example.com",
	    "localhost.evil.example.com", "localhost.", "128.0.0.1",
	    "10.0.0.1", "127.1", "0x7f.0.0.1", "127.0.0.1:", "127.0.0.1:x",
	    "127.0.0.1:65536", "127.0.0.1:000001", "127.0.0.1:1:2", "::1",
	    "[::1", "[::1]x", "[::2]", "[127.0.0.1]", "evil:127.0.0.1",
	    " localhost", "localhost ", "[::1]:", "[::ffff:10.0.0.1]", NULL };
	size_t i;

	for (i = 0; good[i] != NULL; i++)
		ck_assert_msg(auth_check_host(good[i], NULL), "%s", good[i]);
	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(!auth_check_host(bad[i], NULL), "%s", bad[i]);
	ck_assert(!auth_check_host(NULL, NULL));
	ck_assert(!auth_check_host(NULL, "0.0.0.0"));
}
END_TEST

START_TEST(test_host_remote)
{
	ck_assert(auth_check_host("192.0.2.7", "192.0.2.7"));
	ck_assert(auth_check_host("192.0.2.7:32499", "192.0.2.7"));
	ck_assert(!auth_check_host("192.0.2.8", "192.0.2.7"));
	ck_assert(!auth_check_host("[192.0.2.7]", "192.0.2.7"));
	ck_assert(auth_check_host("[2001:db8::1]:1", "2001:db8::1"));
	ck_assert(auth_check_host("[2001:DB8:0::1]", "2001:db8::1"));
	ck_assert(!auth_check_host("2001:db8::1", "2001:db8::1"));
	ck_assert(!auth_check_host("[2001:db8::2]", "2001:db8::1"));
	/* a wildcard takes any IP literal, never a name */
	ck_assert(auth_check_host("198.51.100.1", "0.0.0.0"));
	ck_assert(!auth_check_host("[2001:db8::1]", "0.0.0.0"));
	ck_assert(auth_check_host("[2001:db8::1]", "::"));
	ck_assert(auth_check_host("198.51.100.1:8", "::"));
	ck_assert(!auth_check_host("plex.example.com", "0.0.0.0"));
	ck_assert(!auth_check_host("plex.example.com", "::"));
	/* loopback stays good whatever is configured */
	ck_assert(auth_check_host("localhost", "192.0.2.7"));
}
END_TEST

START_TEST(test_bearer)
{
	const char *k;
	size_t n;

	ck_assert_int_eq(auth_bearer("Bearer abc", &k, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert(memcmp(k, "abc", 3) == 0);
	ck_assert_int_eq(auth_bearer("bearer \t abc \t", &k, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(auth_bearer(NULL, &k, &n), -1);
	ck_assert_int_eq(auth_bearer("Bearer", &k, &n), -1);
	ck_assert_int_eq(auth_bearer("Bearer   ", &k, &n), -1);
	ck_assert_int_eq(auth_bearer("Bearerabc", &k, &n), -1);
	ck_assert_int_eq(auth_bearer("Basic YWJj", &k, &n), -1);
	ck_assert_int_eq(auth_plex_key(NULL, "q", &k, &n), 0);
	ck_assert_str_eq(k, "q");
	ck_assert_int_eq(auth_plex_key("h", "q", &k, &n), 0);
	ck_assert_str_eq(k, "h");
	ck_assert_int_eq(auth_plex_key("", "", &k, &n), -1);
	ck_assert_int_eq(auth_plex_key(NULL, NULL, &k, &n), -1);
	ck_assert(auth_check_marker("1"));
	ck_assert(!auth_check_marker("0"));
	ck_assert(!auth_check_marker(NULL));
	ck_assert(!auth_needs_key("/healthz"));
	ck_assert(!auth_needs_key("/metrics"));
	ck_assert(auth_needs_key("/readyz"));
	ck_assert(auth_needs_key("/healthz/"));
}
END_TEST

START_TEST(test_allowed)
{
	static char *sa[] = { "demo" }, *sb[] = { "other", "demo" };
	struct cfg_client cl[2];
	struct config cfg;
	char big[AUTH_KEY_MAX + 2];

	memset(&cfg, 0, sizeof(cfg));
	memset(cl, 0, sizeof(cl));
	ck_assert_int_eq(auth_allowed(&cfg, NULL, 0, "demo"), AUTH_OK);
	cl[0].key = secret_new("alpha-key", 9);
	cl[0].servers = sa;
	cl[0].nservers = 1;
	cl[1].key = secret_new("beta", 4);
	cl[1].servers = sb;
	cl[1].nservers = 2;
	cfg.clients = cl;
	cfg.nclients = 2;
	ck_assert_int_eq(auth_allowed(&cfg, NULL, 0, NULL), AUTH_NO_KEY);
	ck_assert_int_eq(auth_allowed(&cfg, "x", 0, NULL), AUTH_NO_KEY);
	ck_assert_int_eq(auth_allowed(&cfg, "alpha-kez", 9, NULL),
	    AUTH_BAD_KEY);
	ck_assert_int_eq(auth_allowed(&cfg, "alpha-key", 8, NULL),
	    AUTH_BAD_KEY);
	ck_assert_int_eq(auth_allowed(&cfg, "alpha-key", 9, NULL), AUTH_OK);
	ck_assert_int_eq(auth_allowed(&cfg, "alpha-key", 9, "demo"), AUTH_OK);
	ck_assert_int_eq(auth_allowed(&cfg, "alpha-key", 9, "other"),
	    AUTH_FORBIDDEN);
	ck_assert_int_eq(auth_allowed(&cfg, "beta", 4, "other"), AUTH_OK);
	ck_assert_int_eq(auth_allowed(&cfg, "beta", 4, "demo"), AUTH_OK);
	ck_assert_int_eq(auth_allowed(&cfg, "beta", 4, "nosuch"),
	    AUTH_FORBIDDEN);
	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(auth_allowed(&cfg, big, sizeof(big), NULL),
	    AUTH_BAD_KEY);
	secret_free(cl[0].key);
	secret_free(cl[1].key);
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");

	tcase_add_test(tc, test_host_loopback);
	tcase_add_test(tc, test_host_remote);
	tcase_add_test(tc, test_bearer);
	tcase_add_test(tc, test_allowed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run(auth_suite());
}
