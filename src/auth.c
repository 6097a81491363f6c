/*
 * auth.c - who may ask the local API: client keys, the Host header and
 * the X-Plex-Tokend header.  See auth.h.
 *
 * A presented key is hashed once and its SHA-256 compared with the
 * SHA-256 of every client's key, all of them, without branching on the
 * outcome: the time taken depends on the number and lengths of the
 * configured keys, never on the key presented nor on which client
 * holds it.
 */
#include "ac-config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "secret.h"

#define AUTH_HOST_MAX 256	/* longest host name we look at */

/* ---------------------------------------------------------------- keys */

/* 1 when the digests are equal, in constant time. */
static size_t
digest_equal(const unsigned char *a, const unsigned char *b)
{
	unsigned diff = 0;
	size_t i;

	for (i = 0; i < SECRET_SHA256_LEN; i++)
		diff |= (unsigned)(a[i] ^ b[i]);
	return (size_t)1 & ((diff - 1) >> 8);
}

/* The index of the client holding key, or SIZE_MAX. */
static size_t
client_of(const struct config *cfg, const char *key, size_t len)
{
	unsigned char want[SECRET_SHA256_LEN], have[SECRET_SHA256_LEN];
	const struct secret *k;
	size_t i, mask, who = SIZE_MAX;

	secret_sha256(key, len, want);
	for (i = 0; i < cfg->nclients; i++) {
		k = cfg->clients[i].key;
		secret_sha256(secret_str(k), secret_len(k), have);
		mask = (size_t)0 - digest_equal(want, have);
		who = (who & ~mask) | (i & mask);
	}
	secret_wipe(want, sizeof(want));
	secret_wipe(have, sizeof(have));
	return who;
}

static int
client_has(const struct cfg_client *c, const char *server)
{
	size_t i;

	for (i = 0; i < c->nservers; i++)
		if (strcmp(c->servers[i], server) == 0)
			return 1;
	return 0;
}

enum auth_result
auth_allowed(const struct config *cfg, const char *key, size_t len,
    const char *server)
{
	size_t who;

	if (cfg->nclients == 0)
		return AUTH_OK;
	if (key == NULL || len == 0)
		return AUTH_NO_KEY;
	if (len > AUTH_KEY_MAX)
		return AUTH_BAD_KEY;
	who = client_of(cfg, key, len);
	if (who == SIZE_MAX)
		return AUTH_BAD_KEY;
	if (server == NULL || client_has(&cfg->clients[who], server))
		return AUTH_OK;
	return AUTH_FORBIDDEN;
}

int
auth_needs_key(const char *url)
{
	return strcmp(url, "/healthz") != 0 && strcmp(url, "/metrics") != 0;
}

int
auth_bearer(const char *value, const char **key, size_t *len)
{
	size_t n;

	if (value == NULL || strncasecmp(value, "Bearer", 6) != 0 ||
	    (value[6] != ' ' && value[6] != '\t'))
		return -1;
	value += 6;
	while (*value == ' ' || *value == '\t')
		value++;
	n = strlen(value);
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	if (n == 0)
		return -1;
	*key = value;
	*len = n;
	return 0;
}

int
auth_plex_key(const char *header, const char *query, const char **key,
    size_t *len)
{
	const char *k = header;

	if (k == NULL || k[0] == '\0')
		k = query;
	if (k == NULL || k[0] == '\0')
		return -1;
	*key = k;
	*len = strlen(k);
	return 0;
}

/* ---------------------------------------------------------------- Host */

/* "" or ":PORT" with PORT 0..65535 in at most 5 digits. */
static int
port_ok(const char *p)
{
	unsigned long v = 0;
	size_t n;

	if (*p == '\0')
		return 1;
	if (*p++ != ':')
		return 0;
	for (n = 0; p[n] != '\0'; n++) {
		if (p[n] < '0' || p[n] > '9' || n == 5)
			return 0;
		v = v * 10 + (unsigned long)(p[n] - '0');
	}
	return n > 0 && v <= 65535;
}

/*
 * Split HOST[:PORT] or [V6][:PORT] into name (without brackets);
 * *v6 tells which.  -1 when it is neither.
 */
static int
host_split(const char *host, char name[AUTH_HOST_MAX], int *v6)
{
	const char *end;
	size_t n;

	*v6 = host[0] == '[';
	if (*v6) {
		host++;
		end = strchr(host, ']');
		if (end == NULL || !port_ok(end + 1))
			return -1;
	} else {
		end = strchr(host, ':');
		if (end == NULL)
			end = host + strlen(host);
		else if (!port_ok(end))
			return -1;
	}
	n = (size_t)(end - host);
	if (n == 0 || n >= AUTH_HOST_MAX)
		return -1;
	memcpy(name, host, n);
	name[n] = '\0';
	return 0;
}

static int
v6_loopback(const struct in6_addr *a)
{
	return IN6_IS_ADDR_LOOPBACK(a) ||
	    (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

static int
host_loopback(const char *name, int v6)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (v6)
		return inet_pton(AF_INET6, name, &a6) == 1 && v6_loopback(&a6);
	if (strcasecmp(name, "localhost") == 0)
		return 1;
	return inet_pton(AF_INET, name, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127;
}

/* name is the listen address, or an IP literal and that a wildcard. */
static int
host_is(const char *name, int v6, const char *address)
{
	struct in6_addr n6, a6;
	struct in_addr n4, a4;
	int lit4, lit6;

	lit4 = !v6 && inet_pton(AF_INET, name, &n4) == 1;
	lit6 = v6 && inet_pton(AF_INET6, name, &n6) == 1;
	if (inet_pton(AF_INET, address, &a4) == 1) {
		if (a4.s_addr == htonl(INADDR_ANY))
			return lit4;
		return lit4 && n4.s_addr == a4.s_addr;
	}
	if (inet_pton(AF_INET6, address, &a6) == 1) {
		if (IN6_IS_ADDR_UNSPECIFIED(&a6))
			return lit4 || lit6;
		return lit6 && memcmp(&n6, &a6, sizeof(a6)) == 0;
	}
	return 0;
}

int
auth_check_host(const char *host, const char *extra)
{
	char name[AUTH_HOST_MAX];
	int v6;

	if (host == NULL || host_split(host, name, &v6) == -1)
		return 0;
	if (host_loopback(name, v6))
		return 1;
	return extra != NULL && host_is(name, v6, extra);
}

int
auth_check_marker(const char *value)
{
	return value != NULL && strcmp(value, "1") == 0;
}
