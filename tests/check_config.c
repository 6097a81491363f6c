/*
 * check_config.c - cfg_load() on small files written to a temporary
 * folder: good files and their values, every refusal with its exact
 * "FILE:LINE: setting: message", and no secret in any message.
 */
#include "ac-config.h"

#include <sys/stat.h>

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "secret.h"
#include "testlib.h"

/* Every secret in these files starts with this; no message may hold it. */
#define MARK "SeCrEt"
#define SRV "servers = ( { name = \"a\"; url = \"http://127.0.0.1:32400\"; " \
	"token_file = \"a.token\"; } );\n"

static char dir[256];
static struct config *cfg;
static char err[CFG_ERR_LEN];

static void
put(const char *name, mode_t mode, const char *text, size_t len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void
puts0(const char *name, mode_t mode, const char *text)
{
	put(name, mode, text, strlen(text));
}

static void
setup(void)
{
	char big[5000], path[512];
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/check_config.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	unsetenv("CREDENTIALS_DIRECTORY");
	puts0("a.token", 0600, MARK "-a1\n");
	puts0("b.token", 0600, "  \t" MARK "-b2 \n\n");
	puts0("perm.token", 0644, MARK "-perm\n");
	puts0("gw.token", 0620, MARK "-gw\n");
	puts0("empty.token", 0600, " \n\n");
	puts0("space.token", 0600, MARK " with space\n");
	puts0("ctrl.token", 0600, MARK "\001x\n");
	memset(big, 'x', sizeof(big));
	put("big.token", 0600, big, sizeof(big));
	puts0("k1.key", 0600, MARK "-key-one\n");
	puts0("k2.key", 0600, MARK "-key-two\n");
	puts0("k1again.key", 0600, MARK "-key-one\n");
	puts0("permk.key", 0640, MARK "-key-perm\n");
	puts0("ca.pem", 0644, "not really a certificate\n");
	snprintf(path, sizeof(path), "%s/creds", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	puts0("creds/cred1", 0644, MARK "-cred1\n");
	snprintf(path, sizeof(path), "%s/sub", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	puts0("sub/c.token", 0600, MARK "-c\n");
	snprintf(path, sizeof(path), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	cfg = NULL;
	err[0] = '\0';
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
teardown(void)
{
	cfg_free(cfg);
	cfg = NULL;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write t.conf with mode and load it. */
static int
load_mode(const char *text, mode_t mode)
{
	char path[512];

	puts0("t.conf", mode, text);
	snprintf(path, sizeof(path), "%s/t.conf", dir);
	cfg_free(cfg);
	cfg = NULL;
	return cfg_load(path, &cfg, err, sizeof(err));
}

static int
load(const char *text)
{
	return load_mode(text, 0600);
}

static void
load_ok(const char *text)
{
	int rc = load(text);

	ck_assert_msg(rc == 0, "expected success, got: %s", err);
	ck_assert_ptr_nonnull(cfg);
}

/* Replace each @DIR@ in in with the temporary folder. */
static void
subst(const char *in, char *out, size_t len)
{
	const char *at;
	size_t n = 0;

	out[0] = '\0';
	while ((at = strstr(in, "@DIR@")) != NULL && n < len) {
		n += (size_t)snprintf(out + n, len - n, "%.*s%s",
		    (int)(at - in), in, dir);
		in = at + 5;
	}
	if (n < len)
		snprintf(out + n, len - n, "%s", in);
}

/* The load fails with "DIR/t.conf:LINE: msg" ("DIR/t.conf: msg" at 0). */
static void
expect_err_mode(const char *text, mode_t mode, int line, const char *msg)
{
	char want[2048], body[768];
	int rc;

	rc = load_mode(text, mode);
	ck_assert_msg(rc == -1, "expected an error for:\n%s", text);
	ck_assert_ptr_null(cfg);
	subst(msg, body, sizeof(body));
	if (line > 0)
		snprintf(want, sizeof(want), "%s/t.conf:%d: %s", dir, line,
		    body);
	else
		snprintf(want, sizeof(want), "%s/t.conf: %s", dir, body);
	ck_assert_str_eq(err, want);
	ck_assert_msg(strstr(err, MARK) == NULL, "secret in: %s", err);
}

static void
expect_err(const char *text, int line, const char *msg)
{
	expect_err_mode(text, 0600, line, msg);
}

/* ------------------------------------------------------ good files */

START_TEST(test_defaults)
{
	load_ok(SRV);
	ck_assert_str_eq(cfg->listen.address, "127.0.0.1");
	ck_assert_int_eq(cfg->listen.port, 32499);
	ck_assert_ptr_null(cfg->listen.unix_socket);
	ck_assert_uint_eq(cfg->listen.socket_mode, 0660);
	ck_assert_int_eq(cfg->listen.require_header, 0);
	ck_assert_int_eq(cfg->listen.allow_remote, 0);
	ck_assert_str_eq(cfg->state_directory, "/var/lib/plex-tokend");
	ck_assert_int_eq(cfg->log_level, LOGL_INFO);
	ck_assert_int_eq(cfg->insecure_permissions, 0);
	ck_assert_int_eq(cfg->refresh.lifetime, 48 * 3600 * 1000LL);
	ck_assert_int_eq(cfg->refresh.refresh_before, 6 * 3600 * 1000LL);
	ck_assert_int_eq(cfg->refresh.verify_interval, 60 * 1000);
	ck_assert_int_eq(cfg->refresh.retry_min, 1000);
	ck_assert_int_eq(cfg->refresh.retry_max, 5 * 60 * 1000);
	ck_assert_int_eq(cfg->refresh.timeout, 10 * 1000);
	ck_assert_int_eq(cfg->refresh.min_forced_interval, 10 * 1000);
	ck_assert_int_eq(cfg->refresh.resources_ttl, 10 * 60 * 1000);
	ck_assert_uint_eq(cfg->nservers, 1);
	ck_assert_str_eq(cfg->servers[0].name, "a");
	ck_assert_str_eq(cfg->servers[0].url, "http://127.0.0.1:32400");
	ck_assert_str_eq(secret_str(cfg->servers[0].token), MARK "-a1");
	ck_assert_ptr_null(cfg->servers[0].ca_file);
	ck_assert_int_eq(cfg->servers[0].verify_tls, 1);
	ck_assert_int_eq(cfg->servers[0].line, 1);
	ck_assert_uint_eq(cfg->nclients, 0);
	ck_assert_uint_eq(cfg->nsinks, 0);
	ck_assert_uint_eq(cfg->nhooks, 0);
	ck_assert_ptr_eq(cfg_find_server(cfg, "a"), &cfg->servers[0]);
	ck_assert_ptr_null(cfg_find_server(cfg, "b"));
	ck_assert_msg(strstr(cfg->path, "/t.conf") != NULL, "%s", cfg->path);
}
END_TEST

static const char full_conf[] =
    "listen: {\n"
    "  address = \"0.0.0.0\"; port = 0; allow_remote = true;\n"
    "  unix_socket = \"/run/plex-tokend/api.sock\"; socket_mode = \"0600\";\n"
    "  require_header = true;\n"
    "};\n"
    "state_directory = \"state\";\n"
    "log_level = \"debug\";\n"
    "refresh: {\n"
    "  lifetime = \"1d\"; refresh_before = \"1h30m\";\n"
    "  verify_interval = 30; retry_min = \"2s\"; retry_max = \"2s\";\n"
    "  timeout = \"5s\"; min_forced_interval = 0; resources_ttl = \"1m\";\n"
    "};\n"
    "servers = (\n"
    "  { name = \"living-room\"; url = \"https://h.plex.direct:32400/\";\n"
    "    token_file = \"b.token\"; ca_file = \"ca.pem\";\n"
    "    verify_tls = false; },\n"
    "  { name = \"b_2\"; url = \"http://[::1]:32400/plex\";\n"
    "    token_file = \"sub/c.token\"; },\n"
    "  { name = \"c\"; url = \"HTTP://Example.COM\"; token = \" "
    MARK "-inline \"; }\n"
    ");\n"
    "clients = (\n"
    "  { name = \"ha\"; key_file = \"k1.key\";\n"
    "    servers = [ \"living-room\" ]; },\n"
    "  { name = \"s\"; key = \"" MARK "-key-s\";\n"
    "    servers = ( \"b_2\", \"c\" ); }\n"
    ");\n"
    "sinks = (\n"
    "  { server = \"living-room\"; path = \"/run/x.token\"; },\n"
    "  { server = \"c\"; path = \"/run/y.token\"; mode = \"600\";\n"
    "    group = \"root\"; }\n"
    ");\n"
    "hooks = (\n"
    "  { on = [ \"refresh\", \"restart\" ];\n"
    "    command = [ \"/usr/local/bin/push\", \"--to\", \"hass\" ];\n"
    "    timeout = \"3s\"; },\n"
    "  { on = ( \"failure\", \"recovered\" ); server = \"c\";\n"
    "    webhook = \"http://127.0.0.1:8123/api/webhook/x?y=1\";\n"
    "    include_token = true; }\n"
    ");\n";

START_TEST(test_full)
{
	char want[512];

	load_ok(full_conf);
	ck_assert_str_eq(cfg->listen.address, "0.0.0.0");
	ck_assert_int_eq(cfg->listen.port, 0);
	ck_assert_int_eq(cfg->listen.allow_remote, 1);
	ck_assert_int_eq(cfg->listen.require_header, 1);
	ck_assert_str_eq(cfg->listen.unix_socket, "/run/plex-tokend/api.sock");
	ck_assert_uint_eq(cfg->listen.socket_mode, 0600);
	snprintf(want, sizeof(want), "%s/state", dir);
	ck_assert_str_eq(cfg->state_directory, want);
	ck_assert_int_eq(cfg->log_level, LOGL_DEBUG);
	ck_assert_int_eq(cfg->refresh.lifetime, 86400 * 1000LL);
	ck_assert_int_eq(cfg->refresh.refresh_before, 5400 * 1000LL);
	ck_assert_int_eq(cfg->refresh.verify_interval, 30 * 1000);
	ck_assert_int_eq(cfg->refresh.retry_min, 2000);
	ck_assert_int_eq(cfg->refresh.retry_max, 2000);
	ck_assert_int_eq(cfg->refresh.timeout, 5000);
	ck_assert_int_eq(cfg->refresh.min_forced_interval, 0);
	ck_assert_int_eq(cfg->refresh.resources_ttl, 60 * 1000);
	ck_assert_uint_eq(cfg->nservers, 3);
	ck_assert_str_eq(cfg->servers[0].name, "living-room");
	ck_assert_str_eq(cfg->servers[0].url, "https://h.plex.direct:32400");
	ck_assert_str_eq(secret_str(cfg->servers[0].token), MARK "-b2");
	snprintf(want, sizeof(want), "%s/ca.pem", dir);
	ck_assert_str_eq(cfg->servers[0].ca_file, want);
	ck_assert_int_eq(cfg->servers[0].verify_tls, 0);
	ck_assert_int_eq(cfg->servers[0].line, 14);
	ck_assert_str_eq(cfg->servers[1].url, "http://[::1]:32400/plex");
	ck_assert_str_eq(secret_str(cfg->servers[1].token), MARK "-c");
	ck_assert_str_eq(cfg->servers[2].url, "HTTP://Example.COM");
	ck_assert_str_eq(secret_str(cfg->servers[2].token), MARK "-inline");
	ck_assert_uint_eq(cfg->nclients, 2);
	ck_assert_str_eq(cfg->clients[0].name, "ha");
	ck_assert_str_eq(secret_str(cfg->clients[0].key), MARK "-key-one");
	ck_assert_uint_eq(cfg->clients[0].nservers, 1);
	ck_assert_str_eq(cfg->clients[0].servers[0], "living-room");
	ck_assert_str_eq(secret_str(cfg->clients[1].key), MARK "-key-s");
	ck_assert_uint_eq(cfg->clients[1].nservers, 2);
	ck_assert_str_eq(cfg->clients[1].servers[1], "c");
	ck_assert_uint_eq(cfg->nsinks, 2);
	ck_assert_str_eq(cfg->sinks[0].server, "living-room");
	ck_assert_str_eq(cfg->sinks[0].path, "/run/x.token");
	ck_assert_uint_eq(cfg->sinks[0].mode, 0640);
	ck_assert_uint_eq(cfg->sinks[0].gid, (gid_t)-1);
	ck_assert_uint_eq(cfg->sinks[1].mode, 0600);
	ck_assert_uint_eq(cfg->sinks[1].gid, 0);
}
END_TEST

START_TEST(test_full_hooks)
{
	load_ok(full_conf);
	ck_assert_uint_eq(cfg->nhooks, 2);
	ck_assert_uint_eq(cfg->hooks[0].events,
	    CFG_EV_REFRESH | CFG_EV_RESTART);
	ck_assert_str_eq(cfg->hooks[0].server, "*");
	ck_assert_str_eq(cfg->hooks[0].argv[0], "/usr/local/bin/push");
	ck_assert_str_eq(cfg->hooks[0].argv[2], "hass");
	ck_assert_ptr_null(cfg->hooks[0].argv[3]);
	ck_assert_ptr_null(cfg->hooks[0].webhook);
	ck_assert_int_eq(cfg->hooks[0].include_token, 0);
	ck_assert_int_eq(cfg->hooks[0].timeout, 3000);
	ck_assert_uint_eq(cfg->hooks[1].events,
	    CFG_EV_FAILURE | CFG_EV_RECOVERED);
	ck_assert_str_eq(cfg->hooks[1].server, "c");
	ck_assert_ptr_null(cfg->hooks[1].argv);
	ck_assert_str_eq(cfg->hooks[1].webhook,
	    "http://127.0.0.1:8123/api/webhook/x?y=1");
	ck_assert_int_eq(cfg->hooks[1].include_token, 1);
	ck_assert_int_eq(cfg->hooks[1].timeout, 10000);
}
END_TEST

START_TEST(test_listen_addresses)
{
	static const char *const good[] = { "localhost", "127.0.0.1",
		"127.1.2.3", "::1", "::ffff:127.0.0.1" };
	char conf[512];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(conf, sizeof(conf), "listen = { address = \"%s\"; "
		    "port = 65535; };\n" SRV, good[i]);
		load_ok(conf);
		ck_assert_str_eq(cfg->listen.address, good[i]);
		ck_assert_int_eq(cfg->listen.port, 65535);
	}
	load_ok("listen = { address = \"::\"; allow_remote = true; };\n" SRV);
	load_ok("listen = { };\nrefresh = { };\nclients = ();\nsinks = ();\n"
	    "hooks = ();\n" SRV);
	ck_assert_uint_eq(cfg->nclients, 0);
}
END_TEST

START_TEST(test_state_directory_off)
{
	load_ok("state_directory = \"\";\n" SRV);
	ck_assert_ptr_null(cfg->state_directory);
	load_ok("state_directory = \"/srv/state\";\n" SRV);
	ck_assert_str_eq(cfg->state_directory, "/srv/state");
}
END_TEST

START_TEST(test_log_levels)
{
	static const char *const names[] = { "error", "warning", "notice",
		"info", "debug" };
	char conf[512];
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(conf, sizeof(conf), "log_level = \"%s\";\n" SRV,
		    names[i]);
		load_ok(conf);
		ck_assert_int_eq(cfg->log_level, i);
	}
}
END_TEST

START_TEST(test_credential)
{
	char creds[512];

	snprintf(creds, sizeof(creds), "%s/creds", dir);
	ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", creds, 1), 0);
	/* cred1 is mode 0644: systemd owns credentials, no mode check */
	load_ok("servers = ( { name = \"a\"; url = \"http://h\"; "
	    "credential = \"cred1\"; } );\n"
	    "clients = ( { name = \"c\"; credential = \"cred1\"; "
	    "servers = [ \"a\" ]; } );\n");
	ck_assert_str_eq(secret_str(cfg->servers[0].token), MARK "-cred1");
	ck_assert_str_eq(secret_str(cfg->clients[0].key), MARK "-cred1");
	expect_err("servers = ( { name = \"a\"; url = \"http://h\";\n"
	    "  credential = \"nope\"; } );\n", 2,
	    "servers[0].credential: cannot open @DIR@/creds/nope: "
	    "No such file or directory");
}
END_TEST

START_TEST(test_insecure_permissions)
{
	load_ok("insecure_permissions = true;\n"
	    "servers = ( { name = \"a\"; url = \"http://h\"; "
	    "token_file = \"perm.token\"; } );\n"
	    "clients = ( { name = \"c\"; key_file = \"permk.key\"; "
	    "servers = [ \"a\" ]; } );\n");
	ck_assert_int_eq(cfg->insecure_permissions, 1);
	ck_assert_str_eq(secret_str(cfg->servers[0].token), MARK "-perm");
	ck_assert_str_eq(secret_str(cfg->clients[0].key), MARK "-key-perm");
	ck_assert_int_eq(load_mode("insecure_permissions = true;\n"
	    "servers = ( { name = \"a\"; url = \"http://h\"; "
	    "token = \"" MARK "-x\"; } );\n", 0644), 0);
}
END_TEST

START_TEST(test_inline_secret_file_mode)
{
	expect_err_mode("servers = ( { name = \"a\"; url = \"http://h\";\n"
	    "  token = \"" MARK "-x\"; } );\n", 0644, 2,
	    "servers[0].token: @DIR@/t.conf holds a secret and is readable "
	    "by group or others (mode 0644); chmod 600 it, or set "
	    "insecure_permissions = true");
	expect_err_mode("servers = ( { name = \"a\"; url = \"http://h\";\n"
	    "  token_file = \"a.token\"; } );\n"
	    "clients = ( { name = \"c\"; servers = [ \"a\" ];\n"
	    "  key = \"" MARK "-x\"; } );\n", 0604, 4,
	    "clients[0].key: @DIR@/t.conf holds a secret and is readable "
	    "by group or others (mode 0604); chmod 600 it, or set "
	    "insecure_permissions = true");
	/* no secret inside: the file may be readable by all */
	ck_assert_int_eq(load_mode(SRV, 0644), 0);
}
END_TEST

START_TEST(test_include)
{
	char want[1024];

	puts0("more.conf", 0600, "log_level = \"error\";\n");
	load_ok(SRV "@include \"more.conf\"\n");
	ck_assert_int_eq(cfg->log_level, LOGL_ERROR);
	/* an included file is named in messages, and checked for secrets */
	puts0("more.conf", 0644, "\nservers = ( { name = \"a\"; "
	    "url = \"http://h\"; token = \"" MARK "\"; } );\n");
	ck_assert_int_eq(load("@include \"more.conf\"\n"), -1);
	snprintf(want, sizeof(want), "%s/more.conf:2: servers[0].token: "
	    "%s/more.conf holds a secret and is readable by group or others "
	    "(mode 0644); chmod 600 it, or set insecure_permissions = true",
	    dir, dir);
	ck_assert_str_eq(err, want);
	puts0("more.conf", 0600, "\n\nlog_level = ;\n");
	ck_assert_int_eq(load(SRV "@include \"more.conf\"\n"), -1);
	snprintf(want, sizeof(want), "%s/more.conf:3: syntax error", dir);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_no_file)
{
	char path[512], want[600];

	snprintf(path, sizeof(path), "%s/nope.conf", dir);
	ck_assert_int_eq(cfg_load(path, &cfg, err, sizeof(err)), -1);
	ck_assert_ptr_null(cfg);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or "
	    "directory", path);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(cfg_load(dir, &cfg, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: is a directory; expected a file",
	    dir);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_relative_config_path)
{
	char cwd[4096], want[600];

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	puts0("t.conf", 0600, SRV "state_directory = \"st\";\n");
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(cfg_load("t.conf", &cfg, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/st", dir);
	ck_assert_str_eq(cfg->state_directory, want);
	cfg_free(cfg);
	cfg = NULL;
	puts0("t.conf", 0600, "bogus = 1;\n");
	ck_assert_int_eq(cfg_load("t.conf", &cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "t.conf:1: bogus: unknown setting; expected "
	    "one of listen, state_directory, log_level, insecure_permissions, "
	    "refresh, servers, clients, sinks, hooks");
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

START_TEST(test_small_err_buffer)
{
	char small[16], path[512];

	puts0("t.conf", 0600, "bogus = 1;\n");
	snprintf(path, sizeof(path), "%s/t.conf", dir);
	ck_assert_int_eq(cfg_load(path, &cfg, small, sizeof(small)), -1);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_int_eq(cfg_load(path, &cfg, NULL, 0), -1);
	ck_assert_ptr_null(cfg);
}
END_TEST

/* --------------------------------------------------------- durations */

START_TEST(test_parse_duration)
{
	static const struct {
		const char	*s;
		int64_t		 ms;
	} good[] = {
		{ "90s", 90000 }, { "5m", 300000 }, { "1h30m", 5400000 },
		{ "2d", 172800000 }, { "10", 10000 }, { "0", 0 },
		{ "0s", 0 }, { "1d2h3m4s", 93784000 }, { "90m", 5400000 },
		{ "007s", 7000 }, { "3650d", 3650LL * 86400 * 1000 },
		{ "315360000", 315360000LL * 1000 }
	};
	/* units once each, largest first; no sign, space or fraction */
	static const char *const bad[] = { "", "5x", "-1s", "+1s", "1h1h",
		"30m1h", "1s1m", "h", "1.5h", " 5s", "5s ", "5 s", "1h30",
		"5S", "1ms", "3651d", "315360001", "99999999999999999999s",
		"9223372036854775807", "1d-1h", "s5" };
	int64_t ms;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ms = -1;
		ck_assert_msg(cfg_parse_duration(good[i].s, &ms) == 0, "%s",
		    good[i].s);
		ck_assert_int_eq(ms, good[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 42;
		ck_assert_msg(cfg_parse_duration(bad[i], &ms) == -1, "%s",
		    bad[i]);
		ck_assert_int_eq(ms, 42);
	}
	ck_assert_int_eq(cfg_parse_duration(NULL, &ms), -1);
}
END_TEST

START_TEST(test_duration_settings)
{
	load_ok("refresh = { lifetime = 7200; refresh_before = \"1h\";\n"
	    "  verify_interval = \"1h59m59s\"; retry_max = 1; };\n" SRV);
	ck_assert_int_eq(cfg->refresh.lifetime, 7200 * 1000);
	ck_assert_int_eq(cfg->refresh.verify_interval, 7199 * 1000);
	ck_assert_int_eq(cfg->refresh.retry_max, 1000);
	load_ok("refresh = { lifetime = 7200L; refresh_before = 60; };\n"
	    SRV);
	ck_assert_int_eq(cfg->refresh.lifetime, 7200 * 1000);
}
END_TEST

/* ------------------------------------------------------------- names */

START_TEST(test_valid_name)
{
	static const char *const good[] = { "a", "0", "living-room", "a_b",
		"a-", "0123456789", "abcdefghijklmnopqrstuvwxyz" };
	static const char *const bad[] = { "", "-a", "_a", "A", "a b",
		"a.b", "a/b", "caf\xc3\xa9", "a\n" };
	char longest[CFG_NAME_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(cfg_valid_name(good[i]), "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!cfg_valid_name(bad[i]), "%s", bad[i]);
	ck_assert(!cfg_valid_name(NULL));
	memset(longest, 'x', sizeof(longest));
	longest[CFG_NAME_MAX] = '\0';
	ck_assert(cfg_valid_name(longest));
	longest[CFG_NAME_MAX] = 'x';
	longest[CFG_NAME_MAX + 1] = '\0';
	ck_assert(!cfg_valid_name(longest));
}
END_TEST

START_TEST(test_url_forms)
{
	static const struct {
		const char *in, *out;
	} urls[] = {
		{ "http://h", "http://h" },
		{ "http://h/", "http://h" },
		{ "http://h//", "http://h/" },
		{ "https://h:1/", "https://h:1" },
		{ "https://1.2.3.4:65535/a/b/", "https://1.2.3.4:65535/a/b" },
		{ "https://[fe80::1]", "https://[fe80::1]" },
		{ "http://my_host.lan", "http://my_host.lan" }
	};
	char conf[512];
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		snprintf(conf, sizeof(conf), "servers = ( { name = \"a\"; "
		    "url = \"%s\"; token_file = \"a.token\"; } );\n",
		    urls[i].in);
		load_ok(conf);
		ck_assert_str_eq(cfg->servers[0].url, urls[i].out);
	}
}
END_TEST

/* ------------------------------------------------------------ errors */

#define SRV_OPEN "servers = ( { name = \"a\"; url = \"http://h\";\n"
#define TWO_KEYS_ONE "clients = (\n" \
	"  { name = \"c\"; key_file = \"k1.key\"; servers = [ \"a\" ]; },\n"

static const struct bad_conf {
	const char	*conf;
	int		 line;
	const char	*msg;
} bad[] = {
	/* the file */
	{ SRV "log_level = ;\n", 2, "syntax error" },
	{ SRV "a = 1;\na = 2;\n", 3, "duplicate setting name" },
	{ SRV "lisen = { };\n", 2, "lisen: unknown setting; expected one of "
	    "listen, state_directory, log_level, insecure_permissions, "
	    "refresh, servers, clients, sinks, hooks" },
	{ SRV "log_level = \"verbose\";\n", 2, "log_level: expected one of "
	    "error, warning, notice, info or debug" },
	{ SRV "log_level = 3;\n", 2, "log_level: expected a string in "
	    "double quotes" },
	{ SRV "state_directory = [ \"/x\" ];\n", 2, "state_directory: "
	    "expected a string in double quotes" },
	{ SRV "insecure_permissions = \"yes\";\n", 2,
	    "insecure_permissions: expected true or false" },
	/* listen */
	{ SRV "listen = 5;\n", 2, "listen: expected a group: { ... }" },
	{ SRV "listen = {\n  adress = \"::1\"; };\n", 3, "listen.adress: "
	    "unknown setting; expected one of address, port, unix_socket, "
	    "socket_mode, require_header, allow_remote" },
	{ SRV "listen = { port = \"80\"; };\n", 2,
	    "listen.port: expected an integer" },
	{ SRV "listen = { port = 65536; };\n", 2,
	    "listen.port: expected an integer from 0 to 65535" },
	{ SRV "listen = { port = -1; };\n", 2,
	    "listen.port: expected an integer from 0 to 65535" },
	{ SRV "listen = { port = 1.5; };\n", 2,
	    "listen.port: expected an integer" },
	{ SRV "listen = { address = \"foo\"; };\n", 2, "listen.address: "
	    "expected an IPv4 or IPv6 address such as \"127.0.0.1\" or "
	    "\"::1\", or \"localhost\"" },
	{ SRV "listen = {\n  address = \"0.0.0.0\"; };\n", 3, "listen.address: "
	    "0.0.0.0 is not a loopback address; set listen.allow_remote = "
	    "true to accept other hosts" },
	{ SRV "listen = { address = \"192.168.1.2\";\n"
	    "  allow_remote = false; };\n", 2, "listen.address: 192.168.1.2 "
	    "is not a loopback address; set listen.allow_remote = true to "
	    "accept other hosts" },
	{ SRV "listen = { address = \"::\"; };\n", 2, "listen.address: "
	    ":: is not a loopback address; set listen.allow_remote = true to "
	    "accept other hosts" },
	{ SRV "listen = { socket_mode = 660; };\n", 2, "listen.socket_mode: "
	    "expected a string of octal digits such as \"0660\", at most "
	    "\"0777\"" },
	{ SRV "listen = { socket_mode = \"0698\"; };\n", 2,
	    "listen.socket_mode: expected a string of octal digits such as "
	    "\"0660\", at most \"0777\"" },
	{ SRV "listen = { socket_mode = \"4755\"; };\n", 2,
	    "listen.socket_mode: expected a string of octal digits such as "
	    "\"0660\", at most \"0777\"" },
	{ SRV "listen = { unix_socket = \"api.sock\"; };\n", 2,
	    "listen.unix_socket: expected an absolute path" },
	{ SRV "listen = { unix_socket = \"/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaa\"; };\n", 2, "listen.unix_socket: is too "
	    "long for a unix socket; expected at most 107 bytes" },
	{ SRV "listen = { require_header = 1; };\n", 2,
	    "listen.require_header: expected true or false" },
	/* refresh */
	{ SRV "refresh = {\n  lifetime = \"5x\"; };\n", 3, "refresh.lifetime: "
	    "expected a duration: a number of seconds, or a string such as "
	    "\"90s\", \"5m\", \"1h30m\" or \"2d\" (at most 3650d)" },
	{ SRV "refresh = { timeout = -5; };\n", 2, "refresh.timeout: "
	    "expected a duration: a number of seconds, or a string such as "
	    "\"90s\", \"5m\", \"1h30m\" or \"2d\" (at most 3650d)" },
	{ SRV "refresh = { timeout = true; };\n", 2, "refresh.timeout: "
	    "expected a duration: a number of seconds, or a string such as "
	    "\"90s\", \"5m\", \"1h30m\" or \"2d\" (at most 3650d)" },
	{ SRV "refresh = { lifetim = \"1h\"; };\n", 2, "refresh.lifetim: "
	    "unknown setting; expected one of lifetime, refresh_before, "
	    "verify_interval, retry_min, retry_max, timeout, "
	    "min_forced_interval, resources_ttl" },
	{ SRV "refresh = { lifetime = 0; };\n", 2,
	    "refresh.lifetime: must be longer than 0" },
	{ SRV "refresh = { resources_ttl = \"0s\"; };\n", 2,
	    "refresh.resources_ttl: must be longer than 0" },
	{ SRV "refresh = { retry_min = \"10m\"; };\n", 2, "refresh.retry_min: "
	    "must be at most refresh.retry_max (5m)" },
	{ SRV "refresh = {\n  retry_max = \"1s\";\n  retry_min = \"2s\"; };\n",
	    4, "refresh.retry_min: must be at most refresh.retry_max (1s)" },
	{ SRV "refresh = { retry_max = \"500\";\n  retry_min = 501; };\n", 3,
	    "refresh.retry_min: must be at most refresh.retry_max (8m20s)" },
	{ SRV "refresh = { refresh_before = \"48h\"; };\n", 2,
	    "refresh.refresh_before: must be shorter than refresh.lifetime "
	    "(2d)" },
	{ SRV "refresh = { lifetime = \"5h\"; };\n", 2, "refresh.lifetime: "
	    "must be longer than refresh.refresh_before (6h)" },
	{ SRV "refresh = { lifetime = \"1h\"; refresh_before = \"1m\";\n"
	    "  verify_interval = \"1h\"; };\n", 3, "refresh.verify_interval: "
	    "must be shorter than refresh.lifetime (1h)" },
	/* servers */
	{ "log_level = \"info\";\n", 0, "servers: expected at least one "
	    "server: ( { name = \"...\"; url = \"...\"; token_file = "
	    "\"...\"; } )" },
	{ "servers = ();\n", 1, "servers: expected at least one server: ( { "
	    "name = \"...\"; url = \"...\"; token_file = \"...\"; } )" },
	{ "servers = { name = \"a\"; };\n", 1,
	    "servers: expected a list of groups: ( { ... }, ... )" },
	{ "servers = ( \"a\" );\n", 1, "servers[0]: expected a group: "
	    "{ ... }" },
	{ "servers = ( { url = \"http://h\";\n"
	    "  token_file = \"a.token\"; } );\n", 1, "servers[0].name: "
	    "missing; expected a name matching [a-z0-9][a-z0-9_-]{0,62}" },
	{ "servers = (\n  { name = \"Living Room\"; } );\n", 2,
	    "servers[0].name: expected a name matching "
	    "[a-z0-9][a-z0-9_-]{0,62}" },
	{ "servers = ( { name = \"-a\"; } );\n", 1,
	    "servers[0].name: expected a name matching "
	    "[a-z0-9][a-z0-9_-]{0,62}" },
	{ "servers = ( { name = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaa\"; } );\n", 1, "servers[0].name: expected "
	    "a name matching [a-z0-9][a-z0-9_-]{0,62}" },
	{ "servers = ( { name = 5; } );\n", 1,
	    "servers[0].name: expected a string in double quotes" },
	{ SRV_OPEN "  token_file = \"a.token\"; },\n"
	    "  { name = \"a\"; url = \"http://g\"; token_file = \"a.token\"; }"
	    "\n);\n", 3, "servers[1].name: the name \"a\" is already used by "
	    "servers[0]" },
	{ SRV_OPEN "  tokn_file = \"a.token\"; } );\n", 2, "servers[0]."
	    "tokn_file: unknown setting; expected one of name, url, token, "
	    "token_file, credential, ca_file, verify_tls" },
	{ "servers = ( { name = \"a\";\n  token_file = \"a.token\"; } );\n", 1,
	    "servers[0].url: missing; expected an http:// or https:// URL" },
	{ "servers = ( { name = \"a\";\n  url = \"ftp://h\"; } );\n", 2,
	    "servers[0].url: expected an http:// or https:// URL" },
	{ "servers = ( { name = \"a\"; url = \"127.0.0.1:32400\"; } );\n", 1,
	    "servers[0].url: expected an http:// or https:// URL" },
	{ "servers = ( { name = \"a\"; url = \"http://\"; } );\n", 1,
	    "servers[0].url: expected an http:// or https:// URL with a host" },
	{ "servers = ( { name = \"a\"; url = \"https:///x\"; } );\n", 1,
	    "servers[0].url: expected an http:// or https:// URL with a host" },
	{ "servers = ( { name = \"a\"; url = \"http://:80\"; } );\n", 1,
	    "servers[0].url: expected an http:// or https:// URL with a host" },
	{ "servers = ( { name = \"a\"; url = \"http://u:" MARK "@h\"; } );\n",
	    1, "servers[0].url: must not hold a user name or password "
	    "(user:password@)" },
	{ "servers = ( { name = \"a\"; url = \"http://h/?X-Plex-Token=" MARK
	    "\"; } );\n", 1, "servers[0].url: must not have a query (?...)" },
	{ "servers = ( { name = \"a\"; url = \"http://h/#x\"; } );\n", 1,
	    "servers[0].url: must not have a fragment (#...)" },
	{ "servers = ( { name = \"a\"; url = \"http://h:99999\"; } );\n", 1,
	    "servers[0].url: has a bad port; expected 1 to 65535" },
	{ "servers = ( { name = \"a\"; url = \"http://h:0\"; } );\n", 1,
	    "servers[0].url: has a bad port; expected 1 to 65535" },
	{ "servers = ( { name = \"a\"; url = \"http://h:x1\"; } );\n", 1,
	    "servers[0].url: has a bad port; expected 1 to 65535" },
	{ "servers = ( { name = \"a\"; url = \"http://h:/\"; } );\n", 1,
	    "servers[0].url: has an empty port; expected 1 to 65535" },
	{ "servers = ( { name = \"a\"; url = \"http://h x\"; } );\n", 1,
	    "servers[0].url: must not hold spaces, control characters or "
	    "non-ASCII bytes" },
	{ "servers = ( { name = \"a\"; url = \"http://h!x\"; } );\n", 1,
	    "servers[0].url: has a bad host name" },
	{ "servers = ( { name = \"a\"; url = \"http://[zz]\"; } );\n", 1,
	    "servers[0].url: has a bad IPv6 address" },
	{ "servers = ( { name = \"a\"; url = \"http://[::1]x\"; } );\n", 1,
	    "servers[0].url: expected an http:// or https:// URL with a valid "
	    "host" },
	/* servers: the admin token */
	{ "servers = (\n  { name = \"a\"; url = \"http://h\"; } );\n", 2,
	    "servers[0]: expected one of token, token_file or credential" },
	{ SRV_OPEN "  token_file = \"a.token\";\n"
	    "  token = \"" MARK "\"; } );\n", 3, "servers[0].token: only "
	    "one of token, token_file or credential may be set" },
	{ SRV_OPEN "  credential = \"x\";\n  token_file = \"a.token\"; } );\n",
	    3, "servers[0].token_file: only one of token, token_file or "
	    "credential may be set" },
	{ SRV_OPEN "  token_file = \"nope.token\"; } );\n", 2,
	    "servers[0].token_file: cannot open @DIR@/nope.token: No such "
	    "file or directory" },
	{ SRV_OPEN "  token_file = \"empty.token\"; } );\n", 2,
	    "servers[0].token_file: @DIR@/empty.token is empty; expected a "
	    "secret" },
	{ SRV_OPEN "  token_file = \"perm.token\"; } );\n", 2,
	    "servers[0].token_file: @DIR@/perm.token is readable by group or "
	    "others (mode 0644); chmod 600 it, or set insecure_permissions = "
	    "true" },
	{ SRV_OPEN "  token_file = \"gw.token\"; } );\n", 2,
	    "servers[0].token_file: @DIR@/gw.token is writable by group or "
	    "others (mode 0620); chmod 600 it, or set insecure_permissions = "
	    "true" },
	{ SRV_OPEN "  token_file = \"space.token\"; } );\n", 2,
	    "servers[0].token_file: @DIR@/space.token holds a space, a control "
	    "character or a non-ASCII byte inside the secret" },
	{ SRV_OPEN "  token_file = \"ctrl.token\"; } );\n", 2,
	    "servers[0].token_file: @DIR@/ctrl.token holds a space, a control "
	    "character or a non-ASCII byte inside the secret" },
	{ SRV_OPEN "  token_file = \"big.token\"; } );\n", 2,
	    "servers[0].token_file: @DIR@/big.token is larger than 4 KiB; "
	    "expected one secret" },
	{ SRV_OPEN "  token_file = \"creds\"; } );\n", 2,
	    "servers[0].token_file: @DIR@/creds is not a regular file" },
	{ SRV_OPEN "  token_file = \"fifo\"; } );\n", 2,
	    "servers[0].token_file: @DIR@/fifo is not a regular file" },
	{ SRV_OPEN "  token_file = \"\"; } );\n", 2,
	    "servers[0].token_file: expected a path" },
	{ SRV_OPEN "  token_file = 5; } );\n", 2,
	    "servers[0].token_file: expected a string in double quotes" },
	{ SRV_OPEN "  token = \"\"; } );\n", 2,
	    "servers[0].token: the value is empty; expected a secret" },
	{ SRV_OPEN "  token = \"" MARK " x\"; } );\n", 2,
	    "servers[0].token: the value holds a space, a control character "
	    "or a non-ASCII byte inside the secret" },
	{ SRV_OPEN "  token = \"" MARK "\\n" MARK "\"; } );\n", 2,
	    "servers[0].token: the value holds a space, a control character "
	    "or a non-ASCII byte inside the secret" },
	{ SRV_OPEN "  credential = \"cred1\"; } );\n", 2,
	    "servers[0].credential: $CREDENTIALS_DIRECTORY is not set; a "
	    "credential needs systemd's LoadCredential=" },
	{ SRV_OPEN "  token_file = \"a.token\"; ca_file = \"nope.pem\"; } );\n",
	    2, "servers[0].ca_file: cannot read @DIR@/nope.pem: No such file "
	    "or directory" },
	{ SRV_OPEN "  token_file = \"a.token\"; verify_tls = \"no\"; } );\n",
	    2, "servers[0].verify_tls: expected true or false" },
	/* clients */
	{ SRV "clients = (\n  { name = \"c\"; key_file = \"k1.key\";\n"
	    "    servers = [ \"a\",\n  \"b\" ]; } );\n", 5,
	    "clients[0].servers[1]: no server is named \"b\"" },
	{ SRV "clients = (\n  { name = \"c\"; key_file = \"k1.key\";\n"
	    "    servers = [ \"B!\" ]; } );\n", 4,
	    "clients[0].servers[0]: expected a server name matching "
	    "[a-z0-9][a-z0-9_-]{0,62}" },
	{ SRV "clients = (\n  { name = \"c\"; key_file = \"k1.key\"; } );\n", 3,
	    "clients[0].servers: missing; expected a list of server names: "
	    "[ \"...\" ]" },
	{ SRV "clients = (\n  { name = \"c\"; key_file = \"k1.key\";\n"
	    "    servers = []; } );\n", 4,
	    "clients[0].servers: expected at least one server name" },
	{ SRV "clients = (\n  { name = \"c\"; key_file = \"k1.key\";\n"
	    "    servers = \"a\"; } );\n", 4, "clients[0].servers: expected a "
	    "list of strings: [ \"...\", ... ]" },
	{ SRV "clients = (\n  { name = \"c\"; key_file = \"k1.key\";\n"
	    "    servers = ( 1 ); } );\n", 4,
	    "clients[0].servers[0]: expected a string in double quotes" },
	{ SRV "clients = (\n  { name = \"c\"; servers = [ \"a\" ]; } );\n", 3,
	    "clients[0]: expected one of key, key_file or credential" },
	{ SRV "clients = (\n  { name = \"c\"; key_file = \"permk.key\";\n"
	    "    servers = [ \"a\" ]; } );\n", 3, "clients[0].key_file: "
	    "@DIR@/permk.key is readable by group or others (mode 0640); "
	    "chmod 600 it, or set insecure_permissions = true" },
	{ SRV TWO_KEYS_ONE "  { name = \"c\"; key_file = \"k2.key\"; "
	    "servers = [ \"a\" ]; }\n);\n", 4, "clients[1].name: the name "
	    "\"c\" is already used by clients[0]" },
	{ SRV TWO_KEYS_ONE "  { name = \"d\"; servers = [ \"a\" ];\n"
	    "    key_file = \"k1again.key\"; }\n);\n", 5,
	    "clients[1].key_file: the same key as clients[0]; each client "
	    "needs its own key" },
	{ SRV "clients = (\n  { name = \"c\"; key_file = \"k1.key\";\n"
	    "    servers = [ \"a\" ]; keys = 1; } );\n", 4,
	    "clients[0].keys: unknown setting; expected one of name, key, "
	    "key_file, credential, servers" },
	{ SRV "clients = (\n  { key_file = \"k1.key\";\n"
	    "    servers = [ \"a\" ]; } );\n", 3, "clients[0].name: missing; "
	    "expected a name matching [a-z0-9][a-z0-9_-]{0,62}" },
	/* sinks */
	{ SRV "sinks = (\n  { server = \"zz\"; path = \"/run/t\"; } );\n", 3,
	    "sinks[0].server: no server is named \"zz\"" },
	{ SRV "sinks = (\n  { path = \"/run/t\"; } );\n", 3,
	    "sinks[0].server: missing; expected a server name" },
	{ SRV "sinks = (\n  { server = \"a\";\n    path = \"run/t\"; } );\n",
	    4, "sinks[0].path: expected an absolute path" },
	{ SRV "sinks = (\n  { server = \"a\"; } );\n", 3,
	    "sinks[0].path: missing; expected an absolute path" },
	{ SRV "sinks = (\n  { server = \"a\"; path = \"/run/t\";\n"
	    "    mode = \"rw\"; } );\n", 4, "sinks[0].mode: expected a string "
	    "of octal digits such as \"0660\", at most \"0777\"" },
	{ SRV "sinks = (\n  { server = \"a\"; path = \"/run/t\";\n"
	    "    group = \"no-such-group-plex-tokend\"; } );\n", 4,
	    "sinks[0].group: no group is named \"no-such-group-plex-tokend\"" },
	{ SRV "sinks = (\n  { server = \"a\"; path = \"/run/t\"; },\n"
	    "  { server = \"a\"; path = \"/run/t\"; } );\n", 4,
	    "sinks[1].path: already the path of sinks[0]" },
	{ SRV "sinks = (\n  { server = \"a\"; path = \"/run/t\"; owner = 0; }"
	    " );\n", 3, "sinks[0].owner: unknown setting; expected one of "
	    "server, path, mode, group" },
	/* hooks */
	{ SRV "hooks = (\n  { command = [ \"/bin/true\" ]; } );\n", 3,
	    "hooks[0].on: missing; expected a list of events such as "
	    "[ \"refresh\", \"restart\" ]" },
	{ SRV "hooks = (\n  { on = []; command = [ \"/bin/true\" ]; } );\n", 3,
	    "hooks[0].on: expected at least one of refresh, restart, failure "
	    "or recovered" },
	{ SRV "hooks = (\n  { on = [ \"refresh\",\n \"boom\" ];\n"
	    "    command = [ \"/bin/true\" ]; } );\n", 4,
	    "hooks[0].on[1]: expected one of refresh, restart, failure or "
	    "recovered" },
	{ SRV "hooks = (\n  { on = \"refresh\"; command = [ \"/bin/true\" ]; }"
	    " );\n", 3, "hooks[0].on: expected a list of strings: "
	    "[ \"...\", ... ]" },
	{ SRV "hooks = (\n  { on = [ \"refresh\" ]; } );\n", 3,
	    "hooks[0]: expected one of command or webhook" },
	{ SRV "hooks = (\n  { on = [ \"refresh\" ];\n"
	    "    command = [ \"/bin/true\" ];\n"
	    "    webhook = \"http://h/x\"; } );\n", 5, "hooks[0].webhook: "
	    "only one of command or webhook may be set" },
	{ SRV "hooks = (\n  { on = [ \"refresh\" ];\n"
	    "    command = [ \"true\" ]; } );\n", 4, "hooks[0].command[0]: "
	    "expected the absolute path of a program" },
	{ SRV "hooks = (\n  { on = [ \"refresh\" ];\n    command = [ ]; } );\n",
	    4, "hooks[0].command: expected the absolute path of a program" },
	{ SRV "hooks = (\n  { on = [ \"refresh\" ];\n"
	    "    command = \"/bin/true\"; } );\n", 4, "hooks[0].command: "
	    "expected a list of strings: [ \"...\", ... ]" },
	{ SRV "hooks = (\n  { on = [ \"refresh\" ];\n"
	    "    command = ( \"/bin/true\", 1 ); } );\n", 4,
	    "hooks[0].command[1]: expected a string in double quotes" },
	{ SRV "hooks = (\n  { on = [ \"refresh\" ];\n"
	    "    webhook = \"mailto:x@y\"; } );\n", 4,
	    "hooks[0].webhook: expected an http:// or https:// URL" },
	{ SRV "hooks = (\n  { on = [ \"refresh\" ];\n"
	    "    webhook = \"http://h/x#y\"; } );\n", 4,
	    "hooks[0].webhook: must not have a fragment (#...)" },
	{ SRV "hooks = (\n  { on = [ \"refresh\" ]; webhook = \"http://h\";\n"
	    "    server = \"zz\"; } );\n", 4,
	    "hooks[0].server: no server is named \"zz\"" },
	{ SRV "hooks = (\n  { on = [ \"refresh\" ]; webhook = \"http://h\";\n"
	    "    timeout = 0; } );\n", 4, "hooks[0].timeout: must be longer "
	    "than 0" },
	{ SRV "hooks = (\n  { on = [ \"refresh\" ]; webhook = \"http://h\";\n"
	    "    include_token = 1; } );\n", 4, "hooks[0].include_token: "
	    "expected true or false" },
	{ SRV "hooks = (\n  { events = [ \"refresh\" ]; } );\n", 3,
	    "hooks[0].events: unknown setting; expected one of on, server, "
	    "command, webhook, include_token, timeout" },
	{ SRV "hooks = ( 5 );\n", 2, "hooks[0]: expected a group: { ... }" },
	{ SRV "hooks = 5;\n", 2,
	    "hooks: expected a list of groups: ( { ... }, ... )" },
};

START_TEST(test_bad)
{
	expect_err(bad[_i].conf, bad[_i].line, bad[_i].msg);
}
END_TEST

/* The first problem wins, even when the file has several. */
START_TEST(test_first_error_only)
{
	expect_err("bogus = 1;\nservers = ( { name = \"A\"; } );\n", 1,
	    "bogus: unknown setting; expected one of listen, state_directory, "
	    "log_level, insecure_permissions, refresh, servers, clients, "
	    "sinks, hooks");
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

/* ------------------------------------------------------------ runner */

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("good");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_full_hooks);
	tcase_add_test(tc, test_listen_addresses);
	tcase_add_test(tc, test_state_directory_off);
	tcase_add_test(tc, test_log_levels);
	tcase_add_test(tc, test_credential);
	tcase_add_test(tc, test_insecure_permissions);
	tcase_add_test(tc, test_inline_secret_file_mode);
	tcase_add_test(tc, test_include);
	tcase_add_test(tc, test_no_file);
	tcase_add_test(tc, test_relative_config_path);
	tcase_add_test(tc, test_small_err_buffer);
	tcase_add_test(tc, test_duration_settings);
	tcase_add_test(tc, test_url_forms);
	suite_add_tcase(s, tc);

	tc = tcase_create("pure");
	tcase_add_test(tc, test_parse_duration);
	tcase_add_test(tc, test_valid_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_first_error_only);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run(config_suite());
}
