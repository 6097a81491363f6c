/*
 * engine.h - the driver: one thread runs a curl multi loop for every
 * server, asks each server's state machine (token.c) what to do, does
 * it, reports the outcome, and decides what gets logged, persisted and
 * written to sinks.
 *
 * The local API reads through engine_token() and friends.  They take a
 * server's mutex for a copy and never wait on the network; a caller
 * that must wait for the request in flight gets ENGINE_WAIT after its
 * waiter's suspend() ran, and its resume() is called once the server
 * has nothing in flight any more.  A caller that passes no waiter
 * learns ENGINE_WAIT without being registered, and asks again with one.
 */
#ifndef PLEX_TOKEND_ENGINE_H
#define PLEX_TOKEND_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "plex.h"

struct engine;

struct engine_waiter {
	void (*suspend)(void *arg);	/* called under the server's lock */
	void (*resume)(void *arg);	/* called with no lock held */
	void *arg;
	struct engine_waiter *next;
};

enum engine_answer {
	ENGINE_SERVE,
	ENGINE_WAIT,
	ENGINE_UNAVAILABLE,
	ENGINE_NOSERVER,
	ENGINE_TOO_LONG			/* min_valid >= lifetime */
};

struct engine_token {
	char token[PLEX_TOKEN_MAX + 1];	/* a secret: wipe after use */
	size_t len;
	uint64_t id;			/* this token; never reused */
	int64_t issued_at;		/* wall ms */
	int64_t expires_at;		/* wall ms */
	int64_t expires_in;		/* s, when copied */
};

/*
 * An answer the API made from a token, kept with its server to be
 * served again while the token and its expires_in (whole seconds) stay
 * the same.  The engine drops it (release) as soon as the token is
 * replaced or dropped, or the server removed by a reload.
 */
struct engine_kept_ops {
	void (*hold)(void *obj);	/* called under the server's lock */
	void (*release)(void *obj);	/* may be called under it too */
};

struct engine_unavail {
	int64_t retry_after;		/* ms */
	char code[32];			/* "server_down", ... */
	char message[512];
};

struct engine_status {
	char name[CFG_NAME_MAX + 1];
	char url[512];
	const char *state;
	int have;			/* the times below are meaningful */
	int64_t issued_at, expires_at, refresh_at;	/* wall ms */
	int64_t last_verified_at;	/* wall ms, 0 never */
	char machine_id[PLEX_FIELD_MAX];
	char version[PLEX_FIELD_MAX];
	unsigned failures;
	int64_t last_error_at;		/* wall ms, 0 none */
	char last_error[256];
	const char *restart_detection;	/* "event-stream" or "polling" */
	int stream_open;
	unsigned long stream_reconnects;
	int ready;			/* a token can be served now */
};

/*
 * What observers (hooks, the event stream, metrics) hear about a server.
 * Delivered on the engine thread, outside every lock: an observer must
 * not block (queue the work to a thread of its own).  token is the new
 * token for TOK_EV_REFRESH, NULL otherwise; it is wiped after the call.
 */
struct engine_event {
	const char *server;
	unsigned events;		/* TOK_EV_* bits of token.h */
	const char *state;		/* the state after the event */
	int64_t at;			/* wall ms */
	int64_t expires_at;		/* wall ms, 0 when no token */
	const struct secret *token;
};

#define ENGINE_MAX_OBSERVERS 4

/* Register before engine_start(); -1 when the table is full. */
int engine_observe(struct engine *e,
    void (*fn)(const struct engine_event *ev, void *ctx), void *ctx);

/* Takes ownership of cfg.  NULL with a reason when it cannot start. */
struct engine *engine_new(struct config *cfg, const char *client_id,
    char *err, size_t errlen);
int engine_start(struct engine *e, char *err, size_t errlen);
/* Stop the thread, wake every waiter, persist.  Then engine_free(). */
void engine_stop(struct engine *e);
void engine_free(struct engine *e);

/*
 * Swap in a new configuration (ownership passes).  Servers whose url
 * and admin token are unchanged keep their token.  Blocks until the
 * engine thread has applied it.
 */
void engine_reload(struct engine *e, struct config *cfg);
const struct config *engine_config(const struct engine *e);

/* Wait until every server has a first outcome, or timeout_ms passed. */
int engine_wait_settled(struct engine *e, int64_t timeout_ms);
/*
 * The monotonic ms of the engine loop's last turn; it turns at least
 * once a second, so an old heartbeat means the thread is stuck.
 */
int64_t engine_heartbeat(struct engine *e);

enum engine_answer engine_token(struct engine *e, const char *name,
    int64_t min_valid, int waited, struct engine_waiter *w,
    struct engine_token *out, struct engine_unavail *why);
/*
 * engine_token(), but when it serves and an answer is kept for the
 * token and second (engine_keep), *kept is that answer, held for the
 * caller (who releases it), and out is not filled; otherwise *kept is
 * NULL and out is filled as by engine_token().
 */
enum engine_answer engine_token_kept(struct engine *e, const char *name,
    int64_t min_valid, int waited, struct engine_waiter *w, void **kept,
    struct engine_token *out, struct engine_unavail *why);
/*
 * Keep obj, made from t (t->id, t->expires_in), with the server; it takes
 * over the caller's reference.  Released at once when the server's token
 * is no longer t's.
 */
void engine_keep(struct engine *e, const char *name,
    const struct engine_token *t, const struct engine_kept_ops *ops,
    void *obj);
/*
 * A caller saw the token refused; rejected (may be NULL) is the token
 * it saw.  Coalesced and bounded as DESIGN.md says.
 */
enum engine_answer engine_refresh(struct engine *e, const char *name,
    const char *rejected, size_t rejected_len, int waited,
    struct engine_waiter *w, struct engine_token *out,
    struct engine_unavail *why);
/* Resume every waiter of a detached list; call with no lock held. */
void engine_resume_all(struct engine_waiter *w);
/* Drop a waiter that gave up (its connection closed). */
void engine_forget(struct engine *e, const char *name,
    struct engine_waiter *w);

/* Status of server i (0-based) or of the named one; -1 if none. */
int engine_status_at(struct engine *e, size_t i, struct engine_status *st);
int engine_status(struct engine *e, const char *name,
    struct engine_status *st);
int engine_has_server(struct engine *e, const char *name);

/*
 * auth_allowed() (auth.c) on the configuration in force, under the
 * lock a reload takes to swap it: an enum auth_result.
 */
int engine_authorize(struct engine *e, const char *key, size_t len,
    const char *server);

/*
 * The source's connection details (resources.c): an enum res_status,
 * waiting as engine_token() does; out is filled unless RES_WAIT.
 */
struct res_answer;
int engine_resources(struct engine *e, const char *name, const char *source,
    int refresh, int waited, struct engine_waiter *w, struct res_answer *out);

#endif
