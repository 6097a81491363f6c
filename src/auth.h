/*
 * auth.h - who may ask the local API (DESIGN.md "Who may ask"): the
 * client keys, the Host header (DNS-rebinding defence) and the
 * X-Plex-Tokend header.  Pure functions: no sockets, no locks, no
 * logging.  The configuration they read belongs to the engine and is
 * swapped on reload; api.c reaches the key check through
 * engine_authorize(), which holds the engine's table lock around it.
 */
#ifndef PLEX_TOKEND_AUTH_H
#define PLEX_TOKEND_AUTH_H

#include <stddef.h>

#include "config.h"

#define AUTH_KEY_MAX 1024	/* longer keys are refused unread */

enum auth_result {
	AUTH_OK = 0,
	AUTH_NO_KEY,		/* 401: a key is needed and none came */
	AUTH_BAD_KEY,		/* 401: no client holds that key */
	AUTH_FORBIDDEN		/* 403: the key may not see that server */
};

/*
 * May the holder of key (len bytes; NULL when none came) ask about
 * server (NULL: a route about no one server)?  Without clients in cfg
 * anyone may.  The key is compared with every client's key, in time
 * that depends on neither the key's bytes nor which client holds it.
 */
enum auth_result auth_allowed(const struct config *cfg, const char *key,
    size_t len, const char *server);

/* Does the route at url need a key?  /healthz and /metrics do not. */
int auth_needs_key(const char *url);

/*
 * The key of an "Authorization: Bearer KEY" header value (NULL: no
 * header); 0 and *key, *len pointing into value, or -1 when there is
 * no usable key.
 */
int auth_bearer(const char *value, const char **key, size_t *len);

/*
 * The key on a /plex/ route: the X-Plex-Token header, else the
 * X-Plex-Token query argument (either may be NULL).  -1 when neither.
 */
int auth_plex_key(const char *header, const char *query, const char **key,
    size_t *len);

/*
 * 1 when a Host header value names this host as DESIGN.md allows: a
 * loopback address (127.0.0.0/8, [::1]) or localhost, with or without
 * a port; or, when extra is not NULL (listen.allow_remote), the
 * configured listen address, any IP literal if that is a wildcard.
 * 0 for anything else, NULL included (the caller lets the unix socket
 * through on its own).
 */
int auth_check_host(const char *host, const char *extra);

/* 1 when an X-Plex-Tokend value is what require_header asks for. */
int auth_check_marker(const char *value);

#endif
