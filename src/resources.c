/*
 * resources.c - the cache of /security/resources answers and its
 * single flight (see resources.h).
 *
 * One mutex per server's cache.  Callers (API threads) take it to read
 * or to register as waiters; the engine thread takes it to start and
 * finish requests.  Waiters are resumed with no lock held.  This layer
 * decides what a failed request means for its callers, so it logs it,
 * once, with the server's name and the source (checked by
 * plexres_source_valid(), so never a key); never the source's token,
 * only its fingerprint.
 */
#include "ac-config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "resources.h"
#include "token.h"

#define RES_RETRY_OOM 1000	/* ms */

struct ent {
	int used;
	char source[PLEXRES_SOURCE_MAX + 1];
	int64_t used_at;		/* mono ms, for LRU */
	struct plexres *data;		/* the last good answer */
	uint64_t data_gen;		/* token generation it was asked in */
	int64_t fetched_at;		/* mono ms */
	int64_t forced_at;		/* mono ms of the last refresh=1 */
	int failed;			/* the last request failed: last says */
	struct res_answer last;
	int want;			/* a request is due */
	int force;			/* ... with refresh=1 */
	int admin;			/* ... with the admin token */
	struct plex_req *req;		/* in flight */
	int with_admin;
	uint64_t req_gen;
	struct engine_waiter *waiters;
};

struct res_cache {
	pthread_mutex_t mu;
	char server[CFG_NAME_MAX + 1];
	uint64_t gen;			/* last generation seen */
	struct ent ent[RES_MAX_SOURCES];
};

/* ------------------------------------------------------------ helpers */

/* Move every waiter of e onto *list. */
static void
take_waiters(struct ent *e, struct engine_waiter **list)
{
	struct engine_waiter *w;

	while (e->waiters != NULL) {
		w = e->waiters;
		e->waiters = w->next;
		w->next = *list;
		*list = w;
	}
}

static void
ent_fail(struct ent *e, int notoken, enum plex_err err, long status,
    const char *reason)
{
	e->failed = 1;
	e->last.notoken = notoken;
	e->last.err = err;
	e->last.status = status;
	snprintf(e->last.reason, sizeof(e->last.reason), "%s", reason);
}

static void
ent_clear(struct ent *e)
{
	plexres_free(e->data);
	memset(e, 0, sizeof(*e));
}

static struct ent *
ent_find(struct res_cache *rc, const char *source)
{
	size_t i;

	for (i = 0; i < RES_MAX_SOURCES; i++)
		if (rc->ent[i].used && strcmp(rc->ent[i].source, source) == 0)
			return &rc->ent[i];
	return NULL;
}

/* A free slot, or the least recently used idle one; NULL if none. */
static struct ent *
ent_take(struct res_cache *rc, const char *source, int64_t now)
{
	struct ent *e, *best = NULL;
	size_t i;

	for (i = 0; i < RES_MAX_SOURCES; i++) {
		e = &rc->ent[i];
		if (!e->used) {
			best = e;
			break;
		}
		if (e->want || e->req != NULL || e->waiters != NULL)
			continue;
		if (best == NULL || e->used_at < best->used_at)
			best = e;
	}
	if (best == NULL)
		return NULL;
	ent_clear(best);
	best->used = 1;
	best->used_at = now;
	snprintf(best->source, sizeof(best->source), "%s", source);
	return best;
}

/* ------------------------------------------------------------ callers */

struct res_cache *
res_cache_new(const char *server)
{
	struct res_cache *rc;

	rc = calloc(1, sizeof(*rc));
	if (rc == NULL)
		return NULL;
	pthread_mutex_init(&rc->mu, NULL);
	snprintf(rc->server, sizeof(rc->server), "%s", server);
	return rc;
}

void
res_cache_abort(struct res_cache *rc, CURLM *multi)
{
	struct engine_waiter *list = NULL;
	struct ent *e;
	size_t i;

	if (rc == NULL)
		return;
	pthread_mutex_lock(&rc->mu);
	for (i = 0; i < RES_MAX_SOURCES; i++) {
		e = &rc->ent[i];
		if (e->req != NULL) {
			curl_multi_remove_handle(multi, plex_req_easy(e->req));
			plex_req_free(e->req);
			e->req = NULL;
		}
		if (e->want || e->waiters != NULL)
			ent_fail(e, 0, PLEX_ERR_INTERNAL, 0,
			    "the server was removed or the daemon is stopping");
		e->want = 0;
		take_waiters(e, &list);
	}
	pthread_mutex_unlock(&rc->mu);
	engine_resume_all(list);
}

void
res_cache_free(struct res_cache *rc)
{
	size_t i;

	if (rc == NULL)
		return;
	for (i = 0; i < RES_MAX_SOURCES; i++)
		ent_clear(&rc->ent[i]);
	pthread_mutex_destroy(&rc->mu);
	free(rc);
}

/* A new token: answers asked with the old one are no longer served. */
static void
res_new_generation(struct res_cache *rc, uint64_t gen)
{
	struct ent *e;
	size_t i;

	rc->gen = gen;
	for (i = 0; i < RES_MAX_SOURCES; i++) {
		e = &rc->ent[i];
		if (e->data != NULL && e->data_gen != gen) {
			plexres_free(e->data);
			e->data = NULL;
		}
	}
}

/* Serve, fail, or wait (after marking a request as due). */
static enum res_status
ent_decide(struct ent *e, int refresh, int waited,
    const struct res_params *p, int64_t now)
{
	int fresh = e->data != NULL && e->data_gen == p->generation &&
	    now - e->fetched_at < p->ttl;

	if (e->want || e->req != NULL)
		return RES_WAIT;
	if (waited && (e->data != NULL || e->failed))
		return e->failed ? RES_FAILED : RES_SERVE;
	if (refresh && (e->forced_at == 0 ||
	    now - e->forced_at >= p->min_forced)) {
		e->force = 1;
		e->forced_at = now;
		e->want = 1;
		return RES_WAIT;
	}
	if (fresh)
		return RES_SERVE;
	e->want = 1;
	return RES_WAIT;
}

static enum res_status
ent_answer(struct ent *e, enum res_status st, struct res_answer *out)
{
	if (st == RES_FAILED) {
		*out = e->last;
		out->data = NULL;
		return st;
	}
	out->data = plexres_dup(e->data);
	if (out->data != NULL)
		return RES_SERVE;
	out->err = PLEX_ERR_NOMEM;
	snprintf(out->reason, sizeof(out->reason), "out of memory");
	return RES_FAILED;
}

enum res_status
res_demand(struct res_cache *rc, const char *source, int refresh,
    int waited, const struct res_params *p, struct engine_waiter *w,
    struct res_answer *out)
{
	int64_t now = clock_mono_ms();
	enum res_status st;
	struct ent *e;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&rc->mu);
	if (p->generation != rc->gen)
		res_new_generation(rc, p->generation);
	e = ent_find(rc, source);
	if (e == NULL)
		e = ent_take(rc, source, now);
	if (e == NULL) {
		pthread_mutex_unlock(&rc->mu);
		snprintf(out->reason, sizeof(out->reason), "more than %d "
		    "sources asked for at once", RES_MAX_SOURCES);
		return RES_FULL;
	}
	e->used_at = now;
	st = ent_decide(e, refresh, waited, p, now);
	if (st == RES_WAIT && w != NULL) {
		w->suspend(w->arg);
		w->next = e->waiters;
		e->waiters = w;
	} else if (st != RES_WAIT)
		st = ent_answer(e, st, out);
	pthread_mutex_unlock(&rc->mu);
	return st;
}

void
res_answer_clear(struct res_answer *a)
{
	if (a == NULL)
		return;
	plexres_free(a->data);
	a->data = NULL;
}

/* ------------------------------------------------------ engine thread */

/* Start e's request; -1 when out of memory. */
static int
ent_start(struct ent *e, const struct res_upstream *u)
{
	const struct secret *tok;
	struct plex_req *r;

	tok = e->admin || u->transient == NULL ? u->admin : u->transient;
	r = plexres_req_new(u->target, tok, e->source, e->force);
	if (r == NULL)
		return -1;
	plex_req_set_data(r, u->data);
	curl_multi_add_handle(u->multi, plex_req_easy(r));
	e->req = r;
	e->want = 0;
	e->with_admin = tok == u->admin;
	e->req_gen = u->generation;
	return 0;
}

int64_t
res_step(struct res_cache *rc, const struct res_upstream *u,
    int64_t now)
{
	struct engine_waiter *list = NULL;
	int64_t next = TOK_NEVER;
	struct ent *e;
	size_t i;

	pthread_mutex_lock(&rc->mu);
	for (i = 0; i < RES_MAX_SOURCES; i++) {
		e = &rc->ent[i];
		if (!e->used || !e->want || e->req != NULL)
			continue;
		if (u->transient == NULL && !e->admin && u->token_pending)
			continue;	/* the new token steps us again */
		if (u->transient == NULL && !e->admin) {
			ent_fail(e, 1, PLEX_ERR_AUTH, 0, "no valid token");
			e->want = 0;
			take_waiters(e, &list);
		} else if (ent_start(e, u) == -1)
			next = now + RES_RETRY_OOM;
	}
	pthread_mutex_unlock(&rc->mu);
	if (next != TOK_NEVER)
		log_warnx("%s: out of memory asking for resources; retrying",
		    rc->server);
	engine_resume_all(list);
	return next;
}

static struct ent *
ent_of_req(struct res_cache *rc, const struct plex_req *r)
{
	size_t i;

	for (i = 0; i < RES_MAX_SOURCES; i++)
		if (rc->ent[i].used && rc->ent[i].req == r)
			return &rc->ent[i];
	return NULL;
}

static void
report(const struct res_cache *rc, const char *source,
    const struct plex_result *res, const char *fp, size_t nconn)
{
	if (res->err == PLEX_OK)
		log_debug("%s: resources of %s: %zu connections, source "
		    "token %s", rc->server, source, nconn, fp);
	else if (res->status == 400 || res->status == 404)
		log_info("%s: Plex does not know the source %s (%s)",
		    rc->server, source, res->reason);
	else
		log_warnx("%s: resources of %s: %s; callers get an error "
		    "until a request succeeds", rc->server, source,
		    res->reason);
}

void
res_done(struct res_cache *rc, struct plex_req *r,
    struct plex_result *res)
{
	struct engine_waiter *list = NULL;
	char source[PLEXRES_SOURCE_MAX + 1], fp[SECRET_FP_LEN] = "none";
	size_t nconn = 0;
	struct ent *e;

	pthread_mutex_lock(&rc->mu);
	e = ent_of_req(rc, r);
	if (e == NULL) {
		pthread_mutex_unlock(&rc->mu);
		return;
	}
	e->req = NULL;
	snprintf(source, sizeof(source), "%s", e->source);
	if (res->err == PLEX_ERR_AUTH && !e->with_admin) {
		e->admin = 1;		/* once more, with the admin token */
		e->want = 1;
		pthread_mutex_unlock(&rc->mu);
		log_info("%s: resources of %s: Plex refused the transient "
		    "token; asking with the admin token", rc->server, source);
		return;
	}
	e->admin = e->force = 0;
	if (res->err == PLEX_OK) {
		plexres_free(e->data);
		e->data = res->resources;
		res->resources = NULL;
		e->data_gen = e->req_gen;
		e->fetched_at = clock_mono_ms();
		e->failed = 0;
		nconn = e->data->nconn;
		if (e->data->access_token != NULL)
			secret_fingerprint(e->data->access_token, fp);
	} else
		ent_fail(e, 0, res->err, res->status, res->reason);
	take_waiters(e, &list);
	pthread_mutex_unlock(&rc->mu);
	report(rc, source, res, fp, nconn);
	engine_resume_all(list);
}
