/*
 * token.h - the life of one server's transient token, as plain logic.
 *
 * No sockets, threads or clocks here: the driver (engine.c) passes the
 * monotonic time in milliseconds to every call, asks tok_next() what to
 * do and when, performs it, and reports the outcome.  Callers of the
 * local API ask tok_demand()/tok_force() whether they can be served now,
 * must wait for the request in flight, or must be turned away.  The
 * caller serialises access (engine.c holds the server's mutex, never
 * across network I/O).
 */
#ifndef PLEX_TOKEND_TOKEN_H
#define PLEX_TOKEND_TOKEN_H

#include <stdint.h>

#define TOK_NEVER INT64_MAX

enum tok_state {
	TOK_UNKNOWN,		/* no token and nothing failed yet */
	TOK_READY,		/* a valid token, the server answering */
	TOK_REFRESHING,		/* a new token is being fetched */
	TOK_STALE,		/* a valid token, but Plex is failing */
	TOK_FAILING		/* no valid token, and the last try failed */
};

enum tok_action {
	TOK_ACT_NONE,
	TOK_ACT_FETCH,		/* POST /security/token */
	TOK_ACT_VERIFY		/* GET / with the transient token */
};

enum tok_fail {
	TOK_FAIL_DOWN,		/* connection refused, timeout, TLS */
	TOK_FAIL_ADMIN,		/* 401/403 on /security/token */
	TOK_FAIL_PROTOCOL	/* 5xx, other status, malformed answer */
};

/* Event bits returned by the tok_*() reports, for logs and hooks. */
enum tok_event {
	TOK_EV_REFRESH = 1 << 0,	/* a new token */
	TOK_EV_RESTART = 1 << 1,	/* the token was found dead */
	TOK_EV_FAILURE = 1 << 2,	/* entered FAILING, or admin refused */
	TOK_EV_RECOVERED = 1 << 3,	/* a token again after FAILING */
	TOK_EV_DOWN = 1 << 4,		/* the server stopped answering */
	TOK_EV_UP = 1 << 5,		/* ... and answers again */
	TOK_EV_ADMIN = 1 << 6		/* first refusal of the admin token */
};

enum tok_answer {
	TOK_SERVE,		/* the current token satisfies the caller */
	TOK_WAIT,		/* wait for the request in flight */
	TOK_UNAVAILABLE		/* no valid token; retry after *retry_after */
};

struct tok_params {
	int64_t lifetime;
	int64_t refresh_before;
	int64_t verify_interval;
	int64_t retry_min;
	int64_t retry_max;
	int64_t min_forced_interval;
	/* uniform in [0, 1); injected so tests are deterministic */
	double (*random)(void *ctx);
	void *random_ctx;
};

struct tok {
	const struct tok_params *p;
	const char *name;		/* for the debug trace of states */
	enum tok_state state;		/* written only by the state setter */
	enum tok_action in_flight;
	int have;			/* a token is held, not known dead */
	int verified;			/* confirmed live since obtained */
	int want_fetch;			/* a fetch is due regardless of time */
	int down;			/* the server stopped answering */
	int admin_refused;		/* last fetch failed with 401/403 */
	enum tok_fail last_fail;
	unsigned failures;		/* consecutive failed fetches */
	unsigned down_probes;		/* consecutive failed verifies */
	int64_t issued_at;
	int64_t expires_at;
	int64_t refresh_at;
	int64_t verify_at;
	int64_t retry_at;		/* no fetch before this */
	int64_t last_verified_at;	/* 0: never */
	int64_t last_forced_at;		/* 0: never */
	uint64_t generation;		/* bumped with each new token */
};

void tok_init(struct tok *t, const struct tok_params *p, const char *name,
    int64_t now);
/*
 * Adopt a token kept on disk, issued and expiring at the given monotonic
 * times.  It is verified before it is served.  -1 if already expired.
 */
int tok_restore(struct tok *t, int64_t issued_at, int64_t expires_at,
    int64_t now);

/* 1 when the token is held, not known dead and valid past now+margin. */
int tok_usable(const struct tok *t, int64_t now, int64_t margin);

/*
 * What to do now, and (in *deadline) when to ask again at the latest.
 * Returns TOK_ACT_NONE while a request is in flight.
 */
enum tok_action tok_next(struct tok *t, int64_t now, int64_t *deadline);
/* The driver started action a. */
void tok_begin(struct tok *t, enum tok_action a, int64_t now);

/* Outcomes; each returns tok_event bits. */
unsigned tok_fetch_ok(struct tok *t, int64_t now);
unsigned tok_fetch_failed(struct tok *t, enum tok_fail why, int64_t now);
unsigned tok_verify_ok(struct tok *t, int64_t now);
unsigned tok_verify_dead(struct tok *t, int64_t now);
unsigned tok_verify_failed(struct tok *t, int64_t now);
/* Something outside hints at a restart: verify at the next turn. */
void tok_check_now(struct tok *t, int64_t now);
/* Something outside says the token died (the event stream, a reload). */
unsigned tok_invalidate(struct tok *t, int64_t now);

/*
 * A caller wants a token valid for at least min_valid ms.  On
 * TOK_UNAVAILABLE, *retry_after holds the ms until a retry makes sense.
 * waited: the caller already waited once; it is never asked to again.
 */
enum tok_answer tok_demand(struct tok *t, int64_t now, int64_t min_valid,
    int waited, int64_t *retry_after);
/*
 * A caller saw the token refused.  current: 1 if the token it names is
 * the current one (or it named none), 0 if it names an older one.
 * Coalesced with any fetch in flight; at most one forced fetch per
 * min_forced_interval.
 */
enum tok_answer tok_force(struct tok *t, int64_t now, int current,
    int waited, int64_t *retry_after);

const char *tok_state_name(enum tok_state s);

#endif
