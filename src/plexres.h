/*
 * plexres.h - GET /security/resources: the request and its answer.
 *
 * Part of the Plex client (plex.c drives the transfer and calls
 * plexres_parse() on a 2xx body).  A source (a shared server, a cloud
 * provider) is described by one Device: its name, client identifier,
 * an access token of its own (a secret) and up to PLEXRES_CONN_MAX
 * connections.  Both JSON and XML answers are parsed, whatever was
 * asked for; JSON's Device may be an object (as the Plex API spec has
 * it) or an array (as some servers send it), of which the first is
 * taken.  Nothing here logs.
 */
#ifndef PLEX_TOKEND_PLEXRES_H
#define PLEX_TOKEND_PLEXRES_H

#include <stddef.h>

#include "plex.h"
#include "secret.h"

#define PLEXRES_CONN_MAX 16	/* more connections are dropped */
#define PLEXRES_NAME_MAX 256
#define PLEXRES_URI_MAX 512
#define PLEXRES_PROTO_MAX 16
#define PLEXRES_SOURCE_MAX 200	/* "server://ID" and the like */

struct plexres_conn {
	char uri[PLEXRES_URI_MAX];
	char protocol[PLEXRES_PROTO_MAX];
	char address[PLEX_FIELD_MAX];
	int port;			/* 0 when Plex gave none */
	int local;
	int relay;
	int ipv6;
};

struct plexres {
	char name[PLEXRES_NAME_MAX];
	char client_id[PLEX_FIELD_MAX];
	struct secret *access_token;	/* NULL when Plex gave none */
	size_t nconn;
	struct plexres_conn conn[PLEXRES_CONN_MAX];
};

/*
 * Parse an answer.  PLEX_OK and *out (free with plexres_free), or an
 * error and a reason without any secret in it.
 */
enum plex_err plexres_parse(const char *body, size_t len,
    struct plexres **out, char *reason, size_t reasonlen);
struct plexres *plexres_dup(const struct plexres *p);
/* Wipes the access token and frees; NULL is fine. */
void plexres_free(struct plexres *p);

/*
 * 1 when source looks like "scheme://ID": a lower-case scheme, then
 * [A-Za-z0-9._-], at most PLEXRES_SOURCE_MAX bytes in all.
 */
int plexres_source_valid(const char *source);

/*
 * GET {url}/security/resources?source=SOURCE[&refresh=1] with tok in
 * X-Plex-Token.  NULL when out of memory or source is not valid.
 */
struct plex_req *plexres_req_new(const struct plex_target *t,
    const struct secret *tok, const char *source, int refresh);

#endif
