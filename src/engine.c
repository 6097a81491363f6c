/*
 * engine.c - drives every server's token life cycle.
 *
 * One thread owns a curl multi handle.  Each turn of its loop asks every
 * server's state machine what is due, starts those requests, sleeps in
 * curl_multi_poll() until the earliest deadline or a wake-up (a caller
 * wanting a token, a reload, a stop), and feeds finished transfers back
 * to the state machine.  This is the layer that decides, so this is
 * where failures are logged: once, with the server's name and the
 * remedy.
 */
#include "ac-config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "clock.h"
#include "engine.h"
#include "log.h"
#include "metrics.h"
#include "resources.h"
#include "store.h"
#include "token.h"

#define ENGINE_MAX_SLEEP 1000	/* ms; the loop turns at least this often */

/* Why /identity is asked: to learn it, or to notice that it changed. */
enum { IDENT_NONE, IDENT_COMPARE, IDENT_UPDATE };

/* Following /:/eventsource/notifications to notice restarts at once. */
enum stream_mode {
	STREAM_IDLE,			/* none; (re)connect at retry_at */
	STREAM_CONNECTING,
	STREAM_OPEN,
	STREAM_UNSUPPORTED		/* 404 or not a stream: polling only */
};

struct stream {
	struct plex_req *req;
	enum stream_mode mode;
	uint64_t gen;			/* token generation it opened with */
	int64_t retry_at;
	unsigned attempts;		/* failed connects in a row */
	int64_t lost_at;		/* when it dropped; 0 while fine */
	unsigned long pings, bytes;	/* last seen counts */
	int64_t last_data;		/* mono ms of the last bytes */
	int64_t last_ping;
	int64_t interval;		/* learned ping interval, ms */
	unsigned long reconnects;
};

#define STREAM_PING_DEFAULT 10000	/* a PMS pings every 10 s */
#define STREAM_RETRY_FIRST 100		/* ms */
#define STREAM_RETRY_FAST 500		/* ms, cap in the first minute */
#define STREAM_FAST_PERIOD 60000	/* ms */

/* An answer the API made from the token (engine_keep). */
struct kept {
	void *obj;			/* NULL: none */
	const struct engine_kept_ops *ops;
	uint64_t id;			/* the token it was made from */
	int64_t left;			/* its expires_in, s */
};

struct srv {
	struct engine *eng;
	const struct cfg_server *cfg;
	pthread_mutex_t mu;
	struct tok_params params;
	struct tok tok;
	struct secret *token;		/* the transient token, or NULL */
	uint64_t token_id;		/* names token; srv_set_token() */
	struct kept kept;		/* under mu */
	char binding[STORE_BIND_LEN];
	struct plex_target target;
	struct plex_req *req;		/* the tok action in flight */
	struct plex_req *ident;		/* GET /identity in flight */
	struct stream stream;		/* the server's event stream */
	struct res_cache *res;		/* /security/resources answers */
	int pub_stream_open;		/* copies for other threads, */
	unsigned long pub_reconnects;	/* written under mu */
	int need_identity;		/* IDENT_* */
	int ident_mode;			/* of the request in flight */
	int settled;			/* had a first outcome */
	struct engine_waiter *waiters;
	int64_t last_error_at;		/* wall ms */
	char last_error[256];
	char machine_id[PLEX_FIELD_MAX];
	char version[PLEX_FIELD_MAX];
};

struct observer {
	void (*fn)(const struct engine_event *ev, void *ctx);
	void *ctx;
};

struct engine {
	struct config *cfg;
	struct observer observers[ENGINE_MAX_OBSERVERS];
	size_t nobservers;
	char client_id[STORE_UUID_LEN];
	pthread_rwlock_t table;		/* guards srvs/nsrvs against reload */
	struct srv **srvs;
	size_t nsrvs;
	CURLM *multi;
	pthread_t thread;
	int started;
	atomic_int stopping;
	pthread_mutex_t mu;		/* guards pending and settled */
	pthread_cond_t cond;
	struct config *pending;		/* a reload waiting for the loop */
	int reload_done;
	_Atomic int64_t heartbeat;	/* mono ms of the loop's last turn */
};

static int64_t srv_step(struct srv *s, int64_t now);

/* Ids of the tokens held, over every engine and reload. */
static _Atomic uint64_t token_ids;

/* ------------------------------------------------------------ servers */

/* Forget the answer kept with s; under s->mu (or s not shared yet). */
static void
srv_drop_kept(struct srv *s)
{
	if (s->kept.obj != NULL)
		s->kept.ops->release(s->kept.obj);
	memset(&s->kept, 0, sizeof(s->kept));
}

/* The only writer of s->token; under s->mu (or s not shared yet). */
static void
srv_set_token(struct srv *s, struct secret *tok)
{
	secret_free(s->token);
	s->token = tok;
	s->token_id = atomic_fetch_add(&token_ids, 1) + 1;
	srv_drop_kept(s);
}

static int64_t
srv_wall(const struct srv *s, int64_t mono)
{
	(void)s;
	if (mono == TOK_NEVER)		/* would overflow */
		return TOK_NEVER;
	return clock_mono_to_wall(mono);
}

static void
srv_params(struct srv *s, const struct config *cfg)
{
	const struct cfg_refresh *r = &cfg->refresh;

	s->params.lifetime = r->lifetime;
	s->params.refresh_before = r->refresh_before;
	s->params.verify_interval = r->verify_interval;
	s->params.retry_min = r->retry_min;
	s->params.retry_max = r->retry_max;
	s->params.min_forced_interval = r->min_forced_interval;
	s->params.random = clock_random;
	s->params.random_ctx = NULL;
}

static void
srv_target(struct srv *s, const struct config *cfg)
{
	s->target.url = s->cfg->url;
	s->target.ca_file = s->cfg->ca_file;
	s->target.verify_tls = s->cfg->verify_tls;
	s->target.timeout_ms = (long)cfg->refresh.timeout;
	s->target.client_id = s->eng->client_id;
}

/* Adopt a token kept on disk by an earlier run, if it is still good. */
static void
srv_restore(struct srv *s)
{
	const char *dir = s->eng->cfg->state_directory;
	struct store_rec rec;
	char err[STORE_ERR_LEN];
	int64_t now = clock_mono_ms();
	int rc;

	if (dir == NULL)
		return;
	memset(&rec, 0, sizeof(rec));
	rc = store_load(dir, s->cfg->name, s->binding, &rec, err,
	    sizeof(err));
	if (rc < 0)
		log_warnx("%s: ignoring saved state: %s", s->cfg->name, err);
	if (rc <= 0)
		return;
	if (tok_restore(&s->tok, clock_wall_to_mono(rec.issued_at),
	    clock_wall_to_mono(rec.expires_at), now) == 0) {
		srv_set_token(s, rec.token);
		rec.token = NULL;
		log_info("%s: restored saved token, verifying it",
		    s->cfg->name);
	}
	store_rec_clear(&rec);
}

static struct srv *
srv_new(struct engine *e, const struct cfg_server *cs)
{
	struct srv *s;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->res = res_cache_new(cs->name);
	if (s->res == NULL) {
		free(s);
		return NULL;
	}
	s->eng = e;
	s->cfg = cs;
	pthread_mutex_init(&s->mu, NULL);
	srv_params(s, e->cfg);
	srv_target(s, e->cfg);
	store_binding(cs->url, cs->token, s->binding);
	tok_init(&s->tok, &s->params, cs->name, clock_mono_ms());
	s->need_identity = IDENT_UPDATE;
	srv_restore(s);
	return s;
}

static void
srv_free(struct srv *s)
{
	if (s == NULL)
		return;
	srv_set_token(s, NULL);
	res_cache_free(s->res);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static struct srv *
engine_lookup(struct engine *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nsrvs; i++)
		if (strcmp(e->srvs[i]->cfg->name, name) == 0)
			return e->srvs[i];
	return NULL;
}

void
engine_resume_all(struct engine_waiter *w)
{
	struct engine_waiter *next;

	for (; w != NULL; w = next) {
		next = w->next;
		w->next = NULL;
		w->resume(w->arg);
	}
}

static void
engine_kick(struct engine *e)
{
	if (e->multi != NULL)
		curl_multi_wakeup(e->multi);
}

/* ------------------------------------------------------------ outcomes */

int
engine_observe(struct engine *e,
    void (*fn)(const struct engine_event *ev, void *ctx), void *ctx)
{
	if (e->nobservers == ENGINE_MAX_OBSERVERS)
		return -1;
	e->observers[e->nobservers].fn = fn;
	e->observers[e->nobservers].ctx = ctx;
	e->nobservers++;
	return 0;
}

/* Tell every observer; ev->events == 0 means nothing happened. */
static void
engine_notify(struct engine *e, const struct engine_event *ev)
{
	size_t i;

	if (ev->events == 0)
		return;
	for (i = 0; i < e->nobservers; i++)
		e->observers[i].fn(ev, e->observers[i].ctx);
}

static enum tok_fail
fail_kind(enum plex_err err)
{
	switch (err) {
	case PLEX_ERR_CONNECT:
	case PLEX_ERR_TIMEOUT:
	case PLEX_ERR_TLS:
		return TOK_FAIL_DOWN;
	case PLEX_ERR_AUTH:
		return TOK_FAIL_ADMIN;
	default:
		return TOK_FAIL_PROTOCOL;
	}
}

/* What the log line needs, copied while the server's lock is held. */
struct outcome {
	unsigned ev;
	enum tok_state state;
	int have;
	int64_t retry_in;		/* ms */
	int64_t expires_at;		/* wall ms */
	unsigned failures;
	char fp[SECRET_FP_LEN];
};

static void
outcome_fill(struct srv *s, struct outcome *o, unsigned ev, int64_t now)
{
	o->ev = ev;
	o->state = s->tok.state;
	o->have = tok_usable(&s->tok, now, 0);
	o->retry_in = s->tok.retry_at > now ? s->tok.retry_at - now : 0;
	o->expires_at = srv_wall(s, s->tok.expires_at);
	o->failures = s->tok.failures;
	o->fp[0] = '\0';
	if (s->token != NULL)
		secret_fingerprint(s->token, o->fp);
}

static void
report_fetch(struct srv *s, const struct outcome *o,
    const struct plex_result *res)
{
	const char *name = s->cfg->name;
	char when[CLOCK_RFC3339_LEN];

	clock_rfc3339(o->expires_at, when);
	if (res->err == PLEX_OK) {
		if (o->ev & TOK_EV_RECOVERED)
			log_notice("%s: recovered, token %s", name, o->fp);
		log_info("%s: new token %s, valid until %s", name, o->fp,
		    when);
	} else if (o->ev & TOK_EV_ADMIN) {
		log_error("%s: Plex refused the admin token (%s); put a "
		    "valid admin token in the configuration and reload; "
		    "retrying every %llds", name, res->reason,
		    (long long)(o->retry_in / 1000));
	} else if (o->state == TOK_FAILING && (o->ev & TOK_EV_FAILURE)) {
		log_error("%s: no valid token: %s; check that Plex is up at "
		    "%s; retrying in %llds", name, res->reason, s->cfg->url,
		    (long long)(o->retry_in / 1000));
	} else if (o->failures == 1 && o->state == TOK_STALE) {
		log_warnx("%s: renewal failed: %s; serving the cached token "
		    "until %s, retrying in %llds", name, res->reason, when,
		    (long long)(o->retry_in / 1000));
	} else {
		log_debug("%s: fetch failed (%u in a row): %s; retry in "
		    "%lldms", name, o->failures, res->reason,
		    (long long)o->retry_in);
	}
}

static void
report_verify(struct srv *s, const struct outcome *o,
    const struct plex_result *res)
{
	const char *name = s->cfg->name;

	if (o->ev & TOK_EV_RESTART)
		log_notice("%s: server restarted or revoked the token "
		    "(%s on verify); renewing now", name, res->reason);
	else if (o->ev & TOK_EV_DOWN)
		log_warnx("%s: server down: %s; serving the cached token "
		    "while it lasts", name, res->reason);
	else if (res->err != PLEX_OK)
		log_debug("%s: verify failed: %s", name, res->reason);
	else
		log_debug("%s: token %s verified", name, o->fp);
	if (o->ev & TOK_EV_UP)
		log_info("%s: server answers again", name);
}

static void
srv_persist(struct srv *s, const struct secret *tok, int64_t issued,
    int64_t expires)
{
	const char *dir = s->eng->cfg->state_directory;
	struct store_rec rec;
	char err[STORE_ERR_LEN];

	if (dir == NULL)
		return;
	rec.token = (struct secret *)(uintptr_t)tok;
	rec.issued_at = issued;
	rec.expires_at = expires;
	if (store_save(dir, s->cfg->name, s->binding, &rec, err,
	    sizeof(err)) == -1)
		log_warnx("%s: cannot save state: %s; the token will be "
		    "fetched anew after a restart", s->cfg->name, err);
}

static void
srv_sinks(struct srv *s, const struct secret *tok)
{
	const struct config *cfg = s->eng->cfg;
	char err[STORE_ERR_LEN];
	char *buf;
	size_t i, len = secret_len(tok);

	buf = malloc(len + 1);
	if (buf == NULL)
		return;
	memcpy(buf, secret_str(tok), len);
	buf[len] = '\n';
	for (i = 0; i < cfg->nsinks; i++) {
		const struct cfg_sink *k = &cfg->sinks[i];

		if (strcmp(k->server, s->cfg->name) != 0)
			continue;
		if (store_write_atomic(k->path, buf, len + 1, k->mode,
		    k->gid, err, sizeof(err)) == -1)
			log_warnx("%s: cannot write sink: %s; the daemon "
			    "needs write access to its folder", s->cfg->name,
			    err);
	}
	secret_wipe(buf, len + 1);
	free(buf);
}

static void
srv_announce(struct srv *s, const struct outcome *o,
    const struct secret *fresh)
{
	struct engine_event ev;

	ev.server = s->cfg->name;
	ev.events = o->ev;
	ev.state = tok_state_name(o->state);
	ev.at = clock_wall_ms();
	ev.expires_at = o->have ? o->expires_at : 0;
	ev.token = fresh;
	engine_notify(s->eng, &ev);
}

static void
srv_note_error(struct srv *s, const struct plex_result *res)
{
	s->last_error_at = clock_wall_ms();
	snprintf(s->last_error, sizeof(s->last_error), "%s", res->reason);
}

/* A fetch finished: adopt the token or record the failure. */
static void
srv_fetch_done(struct srv *s, struct plex_result *res)
{
	struct secret *fresh = NULL;
	struct outcome o;
	int64_t now = clock_mono_ms();
	unsigned ev;

	pthread_mutex_lock(&s->mu);
	if (res->err == PLEX_OK) {
		fresh = secret_dup(res->token);
		srv_set_token(s, res->token);
		res->token = NULL;
		ev = tok_fetch_ok(&s->tok, now);
	} else {
		ev = tok_fetch_failed(&s->tok, fail_kind(res->err), now);
		srv_note_error(s, res);
	}
	outcome_fill(s, &o, ev, now);
	s->settled = 1;
	pthread_mutex_unlock(&s->mu);

	report_fetch(s, &o, res);
	if (fresh != NULL) {
		srv_persist(s, fresh, clock_wall_ms(), o.expires_at);
		srv_sinks(s, fresh);
	}
	srv_announce(s, &o, fresh);
	secret_free(fresh);
}

static void
srv_verify_done(struct srv *s, struct plex_result *res)
{
	struct outcome o;
	int64_t now = clock_mono_ms();
	unsigned ev;

	pthread_mutex_lock(&s->mu);
	if (res->err == PLEX_OK)
		ev = tok_verify_ok(&s->tok, now);
	else if (res->err == PLEX_ERR_AUTH) {
		ev = tok_verify_dead(&s->tok, now);
		srv_set_token(s, NULL);
	} else
		ev = tok_verify_failed(&s->tok, now);
	if (res->err != PLEX_OK)
		srv_note_error(s, res);
	outcome_fill(s, &o, ev, now);
	s->settled = 1;
	pthread_mutex_unlock(&s->mu);

	report_verify(s, &o, res);
	srv_announce(s, &o, NULL);
	if (ev & TOK_EV_RESTART)
		s->need_identity = IDENT_UPDATE;
	else if (ev & TOK_EV_UP)
		s->need_identity = IDENT_COMPARE;
}

static void
srv_identity_done(struct srv *s, struct plex_result *res)
{
	struct outcome o;
	unsigned ev = 0;
	int64_t now = clock_mono_ms();

	if (res->err != PLEX_OK) {
		log_debug("%s: identity: %s", s->cfg->name, res->reason);
		return;
	}
	pthread_mutex_lock(&s->mu);
	if (s->ident_mode == IDENT_COMPARE && s->machine_id[0] != '\0' &&
	    (strcmp(s->machine_id, res->machine_id) != 0 ||
	    strcmp(s->version, res->version) != 0) && s->tok.have &&
	    s->tok.in_flight != TOK_ACT_FETCH) {
		ev = tok_invalidate(&s->tok, now);
		srv_set_token(s, NULL);
	}
	snprintf(s->machine_id, sizeof(s->machine_id), "%s",
	    res->machine_id);
	snprintf(s->version, sizeof(s->version), "%s", res->version);
	outcome_fill(s, &o, ev, now);
	pthread_mutex_unlock(&s->mu);
	if (ev == 0)
		return;
	log_notice("%s: server restarted (its identity changed, version %s); "
	    "renewing now", s->cfg->name, res->version);
	srv_announce(s, &o, NULL);
}

/* ---------------------------------------------------------------- loop */

static struct plex_req *
srv_request(struct srv *s, enum plex_kind kind, const struct secret *tok)
{
	struct plex_req *r;

	r = plex_req_new(kind, &s->target, tok);
	if (r == NULL) {
		log_warnx("%s: out of memory preparing a request; retrying",
		    s->cfg->name);
		return NULL;
	}
	plex_req_set_data(r, s);
	curl_multi_add_handle(s->eng->multi, plex_req_easy(r));
	return r;
}

static void
srv_start_identity(struct srv *s)
{
	if (s->need_identity == IDENT_NONE || s->ident != NULL)
		return;
	s->ident = srv_request(s, PLEX_REQ_IDENTITY, NULL);
	if (s->ident == NULL)
		return;
	s->ident_mode = s->need_identity;
	s->need_identity = IDENT_NONE;
}

/* ------------------------------------------------------- event stream */

static void
stream_abort(struct srv *s)
{
	if (s->stream.req == NULL)
		return;
	curl_multi_remove_handle(s->eng->multi, plex_req_easy(s->stream.req));
	plex_req_free(s->stream.req);
	s->stream.req = NULL;
}

/*
 * The stream is gone: the earliest sign of a restart.  Check the token
 * at once, and reconnect fast (every 0.5 s at most) for a minute, then
 * at the pace of retry_max, with jitter.
 */
static void
stream_lost(struct srv *s, int64_t now, const char *why)
{
	struct stream *st = &s->stream;
	int64_t cap, d;

	if (st->lost_at == 0) {
		st->lost_at = now;
		log_info("%s: event stream lost (%s); checking the token",
		    s->cfg->name, why);
		pthread_mutex_lock(&s->mu);
		tok_check_now(&s->tok, now);
		pthread_mutex_unlock(&s->mu);
	}
	st->mode = STREAM_IDLE;
	st->attempts++;
	cap = now - st->lost_at < STREAM_FAST_PERIOD ? STREAM_RETRY_FAST :
	    s->params.retry_max;
	d = STREAM_RETRY_FIRST << (st->attempts < 16 ? st->attempts - 1 : 15);
	d = d < cap ? d : cap;
	st->retry_at = now + d / 2 + (int64_t)(clock_random(NULL) *
	    (double)(d / 2));
}

/* Connected: a reconnect after a loss means "verify now". */
static void
stream_opened(struct srv *s, int64_t now)
{
	struct stream *st = &s->stream;

	st->mode = STREAM_OPEN;
	st->attempts = 0;
	st->last_data = now;
	st->last_ping = 0;
	if (st->lost_at != 0) {
		st->reconnects++;
		st->lost_at = 0;
		log_info("%s: event stream back; checking the token",
		    s->cfg->name);
		pthread_mutex_lock(&s->mu);
		tok_check_now(&s->tok, now);
		pthread_mutex_unlock(&s->mu);
	} else
		log_debug("%s: following the event stream", s->cfg->name);
}

/* Learn the ping interval and notice silence; returns a deadline. */
static int64_t
stream_watch(struct srv *s, int64_t now)
{
	struct stream *st = &s->stream;
	unsigned long pings = plex_req_pings(st->req);
	unsigned long bytes = plex_req_received(st->req);
	int64_t limit;

	if (bytes != st->bytes) {
		st->bytes = bytes;
		st->last_data = now;
	}
	if (pings != st->pings) {
		/* several pings may arrive in one turn */
		if (st->last_ping != 0)
			st->interval = (now - st->last_ping) /
			    (int64_t)(pings - st->pings);
		st->last_ping = now;
		st->pings = pings;
	}
	limit = 3 * (st->interval > 0 ? st->interval : STREAM_PING_DEFAULT);
	if (now - st->last_data <= limit)
		return st->last_data + limit + 1;
	stream_abort(s);
	stream_lost(s, now, "silent for three ping intervals");
	return st->retry_at;
}

static int64_t
stream_step(struct srv *s, int64_t now)
{
	struct stream *st = &s->stream;

	if (st->mode == STREAM_UNSUPPORTED)
		return TOK_NEVER;
	if (st->req == NULL) {
		if (now < st->retry_at)
			return st->retry_at;
		pthread_mutex_lock(&s->mu);
		if (s->token != NULL && s->tok.have) {
			st->req = srv_request(s, PLEX_REQ_EVENTS, s->token);
			st->gen = s->tok.generation;
		}
		pthread_mutex_unlock(&s->mu);
		if (st->req == NULL)
			return TOK_NEVER;	/* a new token steps us again */
		log_debug("%s: event stream: connecting (attempt %u)",
		    s->cfg->name, st->attempts + 1);
		st->mode = STREAM_CONNECTING;
		st->pings = st->bytes = 0;
	}
	if (st->mode == STREAM_CONNECTING && plex_req_stream_open(st->req))
		stream_opened(s, now);
	if (st->mode == STREAM_OPEN)
		return stream_watch(s, now);
	return TOK_NEVER;
}

/* The stream request ended: why decides what it means. */
static void
stream_done(struct srv *s, const struct plex_result *res)
{
	struct stream *st = &s->stream;
	int64_t now = clock_mono_ms();
	struct outcome o;
	unsigned ev = 0;

	if (res->err == PLEX_ERR_AUTH) {
		pthread_mutex_lock(&s->mu);
		if (st->gen == s->tok.generation && s->tok.have) {
			ev = tok_invalidate(&s->tok, now);
			srv_set_token(s, NULL);
		}
		outcome_fill(s, &o, ev, now);
		pthread_mutex_unlock(&s->mu);
		st->mode = STREAM_IDLE;
		st->retry_at = now;
		if (st->lost_at != 0)
			st->reconnects++;	/* it answered, with a 401 */
		st->lost_at = 0;
		if (ev == 0)
			return;
		log_notice("%s: server restarted (the event stream refused "
		    "the token); renewing now", s->cfg->name);
		srv_announce(s, &o, NULL);
		s->need_identity = IDENT_UPDATE;
	} else if ((res->status == 404 || res->err == PLEX_ERR_MALFORMED) &&
	    st->mode == STREAM_CONNECTING && st->lost_at == 0) {
		st->mode = STREAM_UNSUPPORTED;
		log_info("%s: the server offers no event stream (%s); "
		    "restarts are noticed by polling every verify_interval",
		    s->cfg->name, res->reason);
	} else
		stream_lost(s, now, res->err == PLEX_OK ? "ended" :
		    res->reason);
}

/* Start what is due; wake the waiters once nothing is in flight. */
static int64_t
srv_step(struct srv *s, int64_t now)
{
	struct engine_waiter *wake = NULL;
	enum tok_action a;
	int64_t deadline, d;

	/* first the stream: what it sees may make a check due now */
	d = stream_step(s, now);
	pthread_mutex_lock(&s->mu);
	s->pub_stream_open = s->stream.mode == STREAM_OPEN;
	s->pub_reconnects = s->stream.reconnects;
	a = tok_next(&s->tok, now, &deadline);
	if (a == TOK_ACT_FETCH)
		s->req = srv_request(s, PLEX_REQ_TOKEN, s->cfg->token);
	else if (a == TOK_ACT_VERIFY)
		s->req = srv_request(s, PLEX_REQ_VERIFY, s->token);
	if (a != TOK_ACT_NONE && s->req != NULL)
		tok_begin(&s->tok, a, now);
	else if (a != TOK_ACT_NONE)
		deadline = now + ENGINE_MAX_SLEEP;
	if (s->tok.in_flight == TOK_ACT_NONE) {
		wake = s->waiters;
		s->waiters = NULL;
	}
	pthread_mutex_unlock(&s->mu);

	srv_start_identity(s);
	engine_resume_all(wake);
	return d < deadline ? d : deadline;
}

static void
engine_settle_signal(struct engine *e)
{
	pthread_mutex_lock(&e->mu);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->mu);
}

/* Count a finished token, verify or identity request (metrics.c). */
static void
engine_metrics(const struct srv *s, const struct plex_req *r,
    const struct plex_result *res)
{
	static const char *const endpoint[] = {
		[PLEX_REQ_TOKEN] = "token", [PLEX_REQ_VERIFY] = "verify",
		[PLEX_REQ_IDENTITY] = "identity"
	};
	enum plex_kind k = plex_req_kind(r);

	if (k > PLEX_REQ_IDENTITY)
		return;
	metrics_upstream(s->cfg->name, endpoint[k], res->status,
	    res->seconds);
	if (k == PLEX_REQ_TOKEN)
		metrics_refresh(s->cfg->name, res->err == PLEX_OK);
}

static void
engine_finished(struct engine *e, CURLMsg *m)
{
	struct plex_result res;
	struct plex_req *r = NULL;
	struct srv *s;

	curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
	curl_multi_remove_handle(e->multi, m->easy_handle);
	s = plex_req_data(r);
	plex_req_finish(r, m->data.result, &res);
	engine_metrics(s, r, &res);
	if (plex_req_kind(r) == PLEX_REQ_RESOURCES)
		res_done(s->res, r, &res);
	else if (r == s->ident) {
		s->ident = NULL;
		srv_identity_done(s, &res);
	} else if (r == s->stream.req) {
		s->stream.req = NULL;
		stream_done(s, &res);
	} else {
		pthread_mutex_lock(&s->mu);
		s->req = NULL;
		pthread_mutex_unlock(&s->mu);
		if (plex_req_kind(r) == PLEX_REQ_TOKEN)
			srv_fetch_done(s, &res);
		else
			srv_verify_done(s, &res);
		engine_settle_signal(e);
	}
	plex_result_clear(&res);
	plex_req_free(r);
	srv_step(s, clock_mono_ms());
}

/*
 * Start the /security/resources requests callers wait for (resources.c).
 * s->token is written on this thread only, so it may be read unlocked.
 */
static int64_t
srv_resources(struct srv *s, int64_t now)
{
	struct res_upstream u;

	pthread_mutex_lock(&s->mu);
	u.token_pending = s->token == NULL &&
	    s->tok.in_flight == TOK_ACT_FETCH;
	u.generation = s->tok.generation;
	pthread_mutex_unlock(&s->mu);
	u.multi = s->eng->multi;
	u.data = s;
	u.target = &s->target;
	u.transient = s->token;
	u.admin = s->cfg->token;
	return res_step(s->res, &u, now);
}

static void engine_apply(struct engine *e, struct config *cfg);

static void
engine_turn(struct engine *e)
{
	int64_t now = clock_mono_ms(), next = now + ENGINE_MAX_SLEEP, d;
	struct config *pending;
	CURLMsg *m;
	size_t i;
	int running, left;

	atomic_store(&e->heartbeat, now);
	pthread_mutex_lock(&e->mu);
	pending = e->pending;
	e->pending = NULL;
	pthread_mutex_unlock(&e->mu);
	if (pending != NULL)
		engine_apply(e, pending);

	for (i = 0; i < e->nsrvs; i++) {
		d = srv_step(e->srvs[i], now);
		if (d < next)
			next = d;
		d = srv_resources(e->srvs[i], now);
		if (d < next)
			next = d;
	}
	d = next - now;
	curl_multi_poll(e->multi, NULL, 0, (int)(d < 0 ? 0 : d), NULL);
	curl_multi_perform(e->multi, &running);
	while ((m = curl_multi_info_read(e->multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE)
			engine_finished(e, m);
}

static void *
engine_main(void *arg)
{
	struct engine *e = arg;

	while (!e->stopping)
		engine_turn(e);
	return NULL;
}

/* ----------------------------------------------------------- lifecycle */

static int
srv_in(struct srv *const *v, size_t n, const struct srv *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == s)
			return 1;
	return 0;
}

/* The same server: same name, url and admin token. */
static int
srv_same(const struct srv *s, const struct cfg_server *cs)
{
	return strcmp(s->cfg->name, cs->name) == 0 &&
	    strcmp(s->cfg->url, cs->url) == 0 &&
	    secret_same(s->cfg->token, cs->token);
}

/*
 * The servers of cfg: those of old that did not change, new ones for
 * the rest.  NULL when out of memory (nothing of old is touched).
 */
static struct srv **
srvs_build(struct engine *e, struct srv **old, size_t nold,
    const struct config *cfg)
{
	struct srv **v;
	size_t i, j;

	v = calloc(cfg->nservers + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (i = 0; i < cfg->nservers; i++) {
		for (j = 0; j < nold && v[i] == NULL; j++)
			if (srv_same(old[j], &cfg->servers[i]))
				v[i] = old[j];
		if (v[i] == NULL)
			v[i] = srv_new(e, &cfg->servers[i]);
		if (v[i] == NULL)
			goto oom;
	}
	return v;
 oom:
	for (i = 0; i < cfg->nservers; i++)
		if (!srv_in(old, nold, v[i]))
			srv_free(v[i]);
	free(v);
	return NULL;
}

struct engine *
engine_new(struct config *cfg, const char *client_id, char *err,
    size_t errlen)
{
	struct engine *e;

	e = calloc(1, sizeof(*e));
	if (e == NULL)
		goto oom;
	e->cfg = cfg;
	snprintf(e->client_id, sizeof(e->client_id), "%s", client_id);
	pthread_rwlock_init(&e->table, NULL);
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cond, NULL);
	e->multi = curl_multi_init();
	if (e->multi == NULL)
		goto oom;
	e->srvs = srvs_build(e, NULL, 0, cfg);
	if (e->srvs == NULL)
		goto oom;
	e->nsrvs = cfg->nservers;
	return e;
 oom:
	snprintf(err, errlen, "out of memory");
	if (e != NULL)
		engine_free(e);
	else
		cfg_free(cfg);
	return NULL;
}

int
engine_start(struct engine *e, char *err, size_t errlen)
{
	int rc;

	atomic_store(&e->heartbeat, clock_mono_ms());
	rc = pthread_create(&e->thread, NULL, engine_main, e);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start a thread: %s",
		    strerror(rc));
		return -1;
	}
	e->started = 1;
	return 0;
}

/* Abort what a server has in flight and wake its waiters. */
static void
srv_retire(struct engine *e, struct srv *s)
{
	struct engine_waiter *wake;
	struct plex_req *r[2];
	int i;

	pthread_mutex_lock(&s->mu);
	r[0] = s->req;
	r[1] = s->ident;
	s->req = s->ident = NULL;
	wake = s->waiters;
	s->waiters = NULL;
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < 2; i++) {
		if (r[i] == NULL)
			continue;
		curl_multi_remove_handle(e->multi, plex_req_easy(r[i]));
		plex_req_free(r[i]);
	}
	stream_abort(s);
	res_cache_abort(s->res, e->multi);
	engine_resume_all(wake);
}

void
engine_stop(struct engine *e)
{
	size_t i;

	if (!e->started)
		return;
	e->stopping = 1;
	engine_kick(e);
	pthread_join(e->thread, NULL);
	e->started = 0;
	pthread_rwlock_wrlock(&e->table);
	for (i = 0; i < e->nsrvs; i++)
		srv_retire(e, e->srvs[i]);
	pthread_rwlock_unlock(&e->table);
}

void
engine_free(struct engine *e)
{
	size_t i;

	if (e == NULL)
		return;
	engine_stop(e);
	for (i = 0; e->srvs != NULL && i < e->nsrvs; i++) {
		if (e->srvs[i] != NULL)
			srv_retire(e, e->srvs[i]);
		srv_free(e->srvs[i]);
	}
	free(e->srvs);
	if (e->multi != NULL)
		curl_multi_cleanup(e->multi);
	cfg_free(e->cfg);
	cfg_free(e->pending);
	pthread_rwlock_destroy(&e->table);
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->cond);
	free(e);
}

/* On the engine thread: swap in cfg, keeping unchanged servers. */
static void
engine_apply(struct engine *e, struct config *cfg)
{
	struct srv **v, **old = e->srvs;
	struct config *oldcfg = e->cfg;
	size_t i, nold = e->nsrvs;

	pthread_rwlock_wrlock(&e->table);
	e->cfg = cfg;
	v = srvs_build(e, old, nold, cfg);
	if (v == NULL) {
		log_warnx("reload: out of memory; keeping the old "
		    "configuration");
		e->cfg = oldcfg;
		pthread_rwlock_unlock(&e->table);
		cfg_free(cfg);
		goto done;
	}
	for (i = 0; i < cfg->nservers; i++) {
		pthread_mutex_lock(&v[i]->mu);
		v[i]->cfg = &cfg->servers[i];
		v[i]->tok.name = v[i]->cfg->name;	/* old one freed */
		srv_params(v[i], cfg);
		srv_target(v[i], cfg);
		pthread_mutex_unlock(&v[i]->mu);
	}
	e->srvs = v;
	e->nsrvs = cfg->nservers;
	for (i = 0; i < nold; i++) {
		if (srv_in(v, cfg->nservers, old[i]))
			continue;
		log_info("%s: removed by reload", old[i]->cfg->name);
		srv_retire(e, old[i]);
		srv_free(old[i]);
	}
	pthread_rwlock_unlock(&e->table);
	free(old);
	cfg_free(oldcfg);
 done:
	pthread_mutex_lock(&e->mu);
	e->reload_done = 1;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->mu);
}

void
engine_reload(struct engine *e, struct config *cfg)
{
	if (!e->started) {
		engine_apply(e, cfg);
		return;
	}
	pthread_mutex_lock(&e->mu);
	cfg_free(e->pending);
	e->pending = cfg;
	e->reload_done = 0;
	pthread_mutex_unlock(&e->mu);
	engine_kick(e);
	pthread_mutex_lock(&e->mu);
	while (!e->reload_done && !e->stopping)
		pthread_cond_wait(&e->cond, &e->mu);
	pthread_mutex_unlock(&e->mu);
}

const struct config *
engine_config(const struct engine *e)
{
	return e->cfg;
}

static int
engine_all_settled(struct engine *e)
{
	size_t i;
	int all = 1;

	pthread_rwlock_rdlock(&e->table);
	for (i = 0; i < e->nsrvs; i++) {
		pthread_mutex_lock(&e->srvs[i]->mu);
		all &= e->srvs[i]->settled;
		pthread_mutex_unlock(&e->srvs[i]->mu);
	}
	pthread_rwlock_unlock(&e->table);
	return all;
}

int64_t
engine_heartbeat(struct engine *e)
{
	return atomic_load(&e->heartbeat);
}

int
engine_wait_settled(struct engine *e, int64_t timeout_ms)
{
	int64_t end = clock_mono_ms() + timeout_ms;
	struct timespec ts;
	int all;

	pthread_mutex_lock(&e->mu);
	for (;;) {
		all = engine_all_settled(e);
		if (all || clock_mono_ms() >= end || e->stopping)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&e->cond, &e->mu, &ts);
	}
	pthread_mutex_unlock(&e->mu);
	return all ? 0 : -1;
}

/* ------------------------------------------------------- the local API */

/* Whole seconds the token has left at now (mono ms), never below 0. */
static int64_t
srv_left(const struct srv *s, int64_t now)
{
	int64_t left = (s->tok.expires_at - now) / 1000;

	return left < 0 ? 0 : left;
}

static void
token_copy(struct srv *s, struct engine_token *out)
{
	out->len = secret_len(s->token);
	memcpy(out->token, secret_str(s->token), out->len);
	out->token[out->len] = '\0';
	out->id = s->token_id;
	out->issued_at = srv_wall(s, s->tok.issued_at);
	out->expires_at = srv_wall(s, s->tok.expires_at);
	out->expires_in = srv_left(s, clock_mono_ms());
}

/* The answer kept for the token and second, held for the caller. */
static void *
kept_get(struct srv *s, int64_t now)
{
	struct kept *k = &s->kept;

	if (k->obj == NULL || k->id != s->token_id ||
	    k->left != srv_left(s, now))
		return NULL;
	k->ops->hold(k->obj);
	return k->obj;
}

/* Why no token can be had, for the 503 answer. */
static void
unavail_fill(struct srv *s, int64_t retry_after, struct engine_unavail *u)
{
	const char *code = "no_token";

	u->retry_after = retry_after;
	if (s->tok.admin_refused)
		code = "admin_token_refused";
	else if (s->tok.down)
		code = "server_down";
	else if (s->tok.failures > 0 && s->tok.last_fail == TOK_FAIL_DOWN)
		code = "server_down";
	else if (s->tok.failures > 0)
		code = "upstream_error";
	snprintf(u->code, sizeof(u->code), "%s", code);
	if (s->last_error[0] != '\0')
		snprintf(u->message, sizeof(u->message),
		    "no valid token for %s: %s", s->cfg->name, s->last_error);
	else
		snprintf(u->message, sizeof(u->message),
		    "no valid token for %s yet", s->cfg->name);
}

/* The common tail of engine_token and engine_refresh, under s->mu. */
static enum engine_answer
answer(struct srv *s, enum tok_answer a, int64_t retry_after,
    struct engine_waiter *w, struct engine_token *out,
    struct engine_unavail *why)
{
	switch (a) {
	case TOK_SERVE:
		token_copy(s, out);
		return ENGINE_SERVE;
	case TOK_WAIT:
		if (w == NULL)
			return ENGINE_WAIT;
		w->suspend(w->arg);
		w->next = s->waiters;
		s->waiters = w;
		return ENGINE_WAIT;
	default:
		unavail_fill(s, retry_after, why);
		return ENGINE_UNAVAILABLE;
	}
}

enum engine_answer
engine_token_kept(struct engine *e, const char *name, int64_t min_valid,
    int waited, struct engine_waiter *w, void **kept,
    struct engine_token *out, struct engine_unavail *why)
{
	enum engine_answer ans = ENGINE_NOSERVER;
	int64_t retry_after = 0, now;
	enum tok_answer a;
	struct srv *s;

	if (kept != NULL)
		*kept = NULL;
	pthread_rwlock_rdlock(&e->table);
	s = engine_lookup(e, name);
	if (s != NULL) {
		pthread_mutex_lock(&s->mu);
		if (e->stopping)
			waited = 1;
		ans = ENGINE_TOO_LONG;
		if (min_valid < s->params.lifetime) {
			now = clock_mono_ms();
			a = tok_demand(&s->tok, now, min_valid, waited,
			    &retry_after);
			if (a == TOK_SERVE && kept != NULL)
				*kept = kept_get(s, now);
			ans = ENGINE_SERVE;
			if (kept == NULL || *kept == NULL)
				ans = answer(s, a, retry_after, w, out, why);
		}
		pthread_mutex_unlock(&s->mu);
	}
	pthread_rwlock_unlock(&e->table);
	if (ans == ENGINE_WAIT && w != NULL)
		engine_kick(e);
	return ans;
}

enum engine_answer
engine_token(struct engine *e, const char *name, int64_t min_valid,
    int waited, struct engine_waiter *w, struct engine_token *out,
    struct engine_unavail *why)
{
	return engine_token_kept(e, name, min_valid, waited, w, NULL, out,
	    why);
}

void
engine_keep(struct engine *e, const char *name,
    const struct engine_token *t, const struct engine_kept_ops *ops,
    void *obj)
{
	struct srv *s;

	pthread_rwlock_rdlock(&e->table);
	s = engine_lookup(e, name);
	if (s != NULL) {
		pthread_mutex_lock(&s->mu);
		if (s->token_id == t->id && s->token != NULL) {
			srv_drop_kept(s);
			s->kept.obj = obj;
			s->kept.ops = ops;
			s->kept.id = t->id;
			s->kept.left = t->expires_in;
			obj = NULL;
		}
		pthread_mutex_unlock(&s->mu);
	}
	pthread_rwlock_unlock(&e->table);
	if (obj != NULL)
		ops->release(obj);
}

enum engine_answer
engine_refresh(struct engine *e, const char *name, const char *rejected,
    size_t rejected_len, int waited, struct engine_waiter *w,
    struct engine_token *out, struct engine_unavail *why)
{
	enum engine_answer ans = ENGINE_NOSERVER;
	int64_t retry_after = 0;
	enum tok_answer a;
	struct srv *s;
	int current;

	pthread_rwlock_rdlock(&e->table);
	s = engine_lookup(e, name);
	if (s != NULL) {
		pthread_mutex_lock(&s->mu);
		current = rejected == NULL || s->token == NULL ||
		    secret_equal(s->token, rejected, rejected_len);
		if (e->stopping)
			waited = 1;
		a = tok_force(&s->tok, clock_mono_ms(), current, waited,
		    &retry_after);
		ans = answer(s, a, retry_after, w, out, why);
		pthread_mutex_unlock(&s->mu);
	}
	pthread_rwlock_unlock(&e->table);
	if (ans == ENGINE_WAIT)
		engine_kick(e);
	return ans;
}

void
engine_forget(struct engine *e, const char *name, struct engine_waiter *w)
{
	struct engine_waiter **pp;
	struct srv *s;

	pthread_rwlock_rdlock(&e->table);
	s = engine_lookup(e, name);
	if (s != NULL) {
		pthread_mutex_lock(&s->mu);
		for (pp = &s->waiters; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		}
		pthread_mutex_unlock(&s->mu);
	}
	pthread_rwlock_unlock(&e->table);
}

static void
status_fill(struct srv *s, struct engine_status *st)
{
	int64_t now = clock_mono_ms();

	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", s->cfg->name);
	snprintf(st->url, sizeof(st->url), "%s", s->cfg->url);
	pthread_mutex_lock(&s->mu);
	tok_next(&s->tok, now, &(int64_t){0});
	st->state = tok_state_name(s->tok.state);
	st->have = s->tok.have;
	st->ready = tok_usable(&s->tok, now, 0);
	st->issued_at = srv_wall(s, s->tok.issued_at);
	st->expires_at = srv_wall(s, s->tok.expires_at);
	st->refresh_at = srv_wall(s, s->tok.refresh_at);
	if (s->tok.last_verified_at != 0)
		st->last_verified_at = srv_wall(s, s->tok.last_verified_at);
	snprintf(st->machine_id, sizeof(st->machine_id), "%s",
	    s->machine_id);
	snprintf(st->version, sizeof(st->version), "%s", s->version);
	st->failures = s->tok.failures;
	st->last_error_at = s->last_error_at;
	snprintf(st->last_error, sizeof(st->last_error), "%s",
	    s->last_error);
	st->restart_detection = s->pub_stream_open ? "event-stream" :
	    "polling";
	st->stream_open = s->pub_stream_open;
	st->stream_reconnects = s->pub_reconnects;
	pthread_mutex_unlock(&s->mu);
}

int
engine_status_at(struct engine *e, size_t i, struct engine_status *st)
{
	int rc = -1;

	pthread_rwlock_rdlock(&e->table);
	if (i < e->nsrvs) {
		status_fill(e->srvs[i], st);
		rc = 0;
	}
	pthread_rwlock_unlock(&e->table);
	return rc;
}

int
engine_status(struct engine *e, const char *name, struct engine_status *st)
{
	struct srv *s;
	int rc = -1;

	pthread_rwlock_rdlock(&e->table);
	s = engine_lookup(e, name);
	if (s != NULL) {
		status_fill(s, st);
		rc = 0;
	}
	pthread_rwlock_unlock(&e->table);
	return rc;
}

int
engine_has_server(struct engine *e, const char *name)
{
	int found;

	pthread_rwlock_rdlock(&e->table);
	found = engine_lookup(e, name) != NULL;
	pthread_rwlock_unlock(&e->table);
	return found;
}

int
engine_authorize(struct engine *e, const char *key, size_t len,
    const char *server)
{
	enum auth_result rc;

	pthread_rwlock_rdlock(&e->table);
	rc = auth_allowed(e->cfg, key, len, server);
	pthread_rwlock_unlock(&e->table);
	return (int)rc;
}

/* ---------------------------------------------------------- resources */

int
engine_resources(struct engine *e, const char *name, const char *source,
    int refresh, int waited, struct engine_waiter *w, struct res_answer *out)
{
	enum res_status st = RES_NOSERVER;
	struct res_params p;
	struct srv *s;

	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&e->table);
	s = engine_lookup(e, name);
	if (s != NULL && e->stopping) {
		snprintf(out->reason, sizeof(out->reason), "stopping");
		st = RES_FAILED;
	} else if (s != NULL) {
		p.ttl = e->cfg->refresh.resources_ttl;
		p.min_forced = e->cfg->refresh.min_forced_interval;
		pthread_mutex_lock(&s->mu);
		p.generation = s->tok.generation;
		pthread_mutex_unlock(&s->mu);
		st = res_demand(s->res, source, refresh, waited, &p, w, out);
	}
	pthread_rwlock_unlock(&e->table);
	if (st == RES_WAIT && w != NULL)
		engine_kick(e);
	return (int)st;
}
