/*
 * resources.h - the cache of /security/resources answers, one per
 * server, keyed by source, with one request in flight per source.
 *
 * The engine thread drives it: res_step() starts what callers
 * asked for, res_done() takes a finished transfer.  Callers (the
 * local API, through engine_resources()) ask with res_demand(): an
 * answer, or RES_WAIT after their waiter's suspend() ran, then resume()
 * once the request in flight ended.  Waiters are the engine's.
 *
 * An answer is kept for ttl or until the server's token generation
 * changes, whichever comes first; a forced request (refresh=1) reaches
 * Plex at most once per min_forced per source.  At most RES_MAX_SOURCES
 * sources per server are kept; the least recently used idle one makes
 * room.  The source's access token is a secret: it is wiped with the
 * entry and never logged.
 */
#ifndef PLEX_TOKEND_RESOURCES_H
#define PLEX_TOKEND_RESOURCES_H

#include <stdint.h>

#include <curl/curl.h>

#include "engine.h"
#include "plex.h"
#include "plexres.h"

#define RES_MAX_SOURCES 64

struct res_cache;

enum res_status {
	RES_SERVE,		/* out->data holds a copy */
	RES_WAIT,
	RES_FAILED,		/* out->err, status, reason say why */
	RES_FULL,		/* every slot busy with a request */
	RES_NOSERVER
};

/* What a caller gets; res_answer_clear() frees the copy. */
struct res_answer {
	struct plexres *data;
	int notoken;			/* no token to ask Plex with */
	enum plex_err err;
	long status;			/* Plex's HTTP status, 0 if none */
	char reason[PLEX_REASON_LEN];
};

/* The knobs, read from the configuration in force at each call. */
struct res_params {
	int64_t ttl;			/* ms */
	int64_t min_forced;		/* ms */
	uint64_t generation;		/* of the server's token */
};

struct res_cache *res_cache_new(const char *server);
/* Aborts what is in flight (removing it from multi), wakes waiters. */
void res_cache_abort(struct res_cache *rc, CURLM *multi);
void res_cache_free(struct res_cache *rc);

enum res_status res_demand(struct res_cache *rc, const char *source,
    int refresh, int waited, const struct res_params *p,
    struct engine_waiter *w, struct res_answer *out);
void res_answer_clear(struct res_answer *a);

/* What the engine hands res_step(); pointers are borrowed. */
struct res_upstream {
	CURLM *multi;
	void *data;			/* the plex_req's data: the server */
	const struct plex_target *target;
	const struct secret *transient;	/* NULL when there is none */
	const struct secret *admin;
	int token_pending;		/* a token is being fetched */
	uint64_t generation;		/* of the transient token */
};

/*
 * Engine thread.  Start the requests callers wait for.  Without a
 * transient token they wait while one is pending, else fail as "no
 * token"; the admin token is used only once Plex refused the transient
 * one.  Returns the next deadline (mono ms).
 */
int64_t res_step(struct res_cache *rc, const struct res_upstream *u,
    int64_t now);
/* A PLEX_REQ_RESOURCES transfer finished; takes res->resources. */
void res_done(struct res_cache *rc, struct plex_req *r,
    struct plex_result *res);

#endif
