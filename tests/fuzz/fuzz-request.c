/*
 * fuzz-request.c - libFuzzer target: what the local API decides from a
 * request before any route runs, without sockets: the router
 * (api_route), the Host check (auth_check_host), the key parsers
 * (auth_bearer, auth_plex_key) and the key lookup (auth_allowed) on a
 * configuration with two clients.
 */
#include "ac-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "config.h"
#include "secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config cfg;
static struct cfg_client clients[2];
static char *alpha_servers[] = { "demo" };
static char *beta_servers[] = { "other", "demo" };

static void
setup(void)
{
	static const char ka[] = "alpha-key-0123456789";
	static const char kb[] = "beta-key";

	clients[0].name = "alpha";
	clients[0].key = secret_new(ka, sizeof(ka) - 1);
	clients[0].servers = alpha_servers;
	clients[0].nservers = 1;
	clients[1].name = "beta";
	clients[1].key = secret_new(kb, sizeof(kb) - 1);
	clients[1].servers = beta_servers;
	clients[1].nservers = 2;
	cfg.clients = clients;
	cfg.nclients = 2;
}

/* A host the check let through holds only what a Host may hold. */
static void
host_sane(const char *s)
{
	if (strspn(s, "0123456789abcdefABCDEFlLoOcCaAhHsStT.:[]") !=
	    strlen(s))
		abort();
}

static void
check_route(const char *s)
{
	char name[CFG_NAME_MAX + 1];
	int rt;

	memset(name, 0, sizeof(name));
	rt = api_route(s, name);
	if (rt != 0 && name[0] != '\0' &&
	    (!cfg_valid_name(name) || strstr(s, name) == NULL))
		abort();
}

static void
check_key(const char *s)
{
	const char *key;
	size_t len;
	int rc;

	if (auth_bearer(s, &key, &len) == 0) {
		if (len == 0 || key < s || key + len > s + strlen(s))
			abort();
		rc = auth_allowed(&cfg, key, len, "demo");
		if (rc != AUTH_OK && rc != AUTH_BAD_KEY)
			abort();
		rc = auth_allowed(&cfg, key, len, "other");
		if (rc == AUTH_NO_KEY)
			abort();
	}
	if (auth_plex_key(s, NULL, &key, &len) == 0 && len != strlen(s))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (cfg.nclients == 0)
		setup();
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_route(s);
	if (auth_check_host(s, NULL))
		host_sane(s);
	if (auth_check_host(s, "::") && !auth_check_host(s, "0.0.0.0") &&
	    s[0] != '[')
		abort();
	(void)auth_check_host(s, "192.0.2.1");
	(void)auth_check_host(s, "2001:db8::1");
	(void)auth_needs_key(s);
	(void)auth_check_marker(s);
	check_key(s);
	free(s);
	return 0;
}
