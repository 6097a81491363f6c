/*
 * token.c - the state machine of one server's transient token.
 *
 * Everything is decided from the times the driver passes in: when to
 * renew (issued_at + lifetime - refresh_before, less up to 5 % of
 * refresh_before as jitter), when to verify, how long to back off after
 * a failure (exponential, full jitter, between retry_min and retry_max),
 * and whether a caller can be served now.
 */
#include "ac-config.h"

#include <string.h>

#include "log.h"
#include "token.h"

static const char *const state_names[] = {
	"unknown", "ready", "refreshing", "stale", "failing"
};

const char *
tok_state_name(enum tok_state s)
{
	return state_names[s];
}

static double
tok_random(const struct tok *t)
{
	double r = t->p->random(t->p->random_ctx);

	if (r < 0.0 || r >= 1.0)
		r = 0.0;
	return r;
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The only writer of t->state. */
static void
tok_set_state(struct tok *t, enum tok_state s)
{
	if (t->state == s)
		return;
	log_debug("%s: state %s -> %s", t->name, state_names[t->state],
	    state_names[s]);
	t->state = s;
}

int
tok_usable(const struct tok *t, int64_t now, int64_t margin)
{
	return t->have && now + margin < t->expires_at;
}

/* The state follows from the facts; recompute it after every event. */
static void
tok_update(struct tok *t, int64_t now)
{
	int usable = tok_usable(t, now, 0);

	if (t->in_flight == TOK_ACT_FETCH)
		tok_set_state(t, TOK_REFRESHING);
	else if (usable && t->failures == 0 && !t->down)
		tok_set_state(t, TOK_READY);
	else if (usable)
		tok_set_state(t, TOK_STALE);
	else if (t->failures > 0 || t->down)
		tok_set_state(t, TOK_FAILING);
	else
		tok_set_state(t, TOK_UNKNOWN);
}

void
tok_init(struct tok *t, const struct tok_params *p, const char *name,
    int64_t now)
{
	memset(t, 0, sizeof(*t));
	t->p = p;
	t->name = name;
	t->state = TOK_UNKNOWN;
	t->want_fetch = 1;
	t->verify_at = TOK_NEVER;
	t->refresh_at = TOK_NEVER;
	t->retry_at = now;
}

int
tok_restore(struct tok *t, int64_t issued_at, int64_t expires_at,
    int64_t now)
{
	if (expires_at <= now || issued_at > now)
		return -1;
	t->have = 1;
	t->verified = 0;
	t->want_fetch = 0;
	t->issued_at = issued_at;
	t->expires_at = expires_at;
	t->refresh_at = expires_at - t->p->refresh_before;
	t->verify_at = now;
	tok_update(t, now);
	return 0;
}

/* Exponential backoff with full jitter in [retry_min, cap]. */
static int64_t
tok_backoff(const struct tok *t, unsigned attempts)
{
	int64_t cap = t->p->retry_min;
	unsigned i;

	for (i = 1; i < attempts && cap < t->p->retry_max; i++)
		cap *= 2;
	cap = min64(cap, t->p->retry_max);
	return t->p->retry_min +
	    (int64_t)(tok_random(t) * (double)(cap - t->p->retry_min));
}

static int
tok_fetch_due(const struct tok *t, int64_t now)
{
	return t->want_fetch || !t->have || now >= t->refresh_at;
}

/*
 * FAILURE was announced: fetches fail and no token is left to verify.
 * t->state cannot tell, as it reads REFRESHING while a fetch is out.
 */
static int
tok_failing(const struct tok *t)
{
	return t->failures > 0 && t->verify_at == TOK_NEVER;
}

enum tok_action
tok_next(struct tok *t, int64_t now, int64_t *deadline)
{
	int64_t when;

	tok_update(t, now);
	*deadline = TOK_NEVER;
	if (t->in_flight != TOK_ACT_NONE)
		return TOK_ACT_NONE;
	if (tok_fetch_due(t, now) && now >= t->retry_at)
		return TOK_ACT_FETCH;
	if (tok_usable(t, now, 0) && now >= t->verify_at)
		return TOK_ACT_VERIFY;

	when = tok_fetch_due(t, now) ? t->retry_at : t->refresh_at;
	if (t->retry_at > when)
		when = t->retry_at;
	if (tok_usable(t, now, 0)) {
		when = min64(when, t->verify_at);
		when = min64(when, t->expires_at);
	}
	*deadline = when;
	return TOK_ACT_NONE;
}

void
tok_begin(struct tok *t, enum tok_action a, int64_t now)
{
	t->in_flight = a;
	tok_update(t, now);
}

unsigned
tok_fetch_ok(struct tok *t, int64_t now)
{
	unsigned ev = TOK_EV_REFRESH;
	int64_t jitter;

	if (tok_failing(t))
		ev |= TOK_EV_RECOVERED;
	if (t->down)
		ev |= TOK_EV_UP;
	jitter = (int64_t)(tok_random(t) * 0.05 * (double)t->p->refresh_before);
	t->in_flight = TOK_ACT_NONE;
	t->have = 1;
	t->verified = 1;
	t->want_fetch = 0;
	t->down = 0;
	t->admin_refused = 0;
	t->failures = 0;
	t->down_probes = 0;
	t->issued_at = now;
	t->expires_at = now + t->p->lifetime;
	t->refresh_at = t->expires_at - t->p->refresh_before - jitter;
	t->verify_at = now + t->p->verify_interval;
	t->retry_at = now;
	t->last_verified_at = now;
	t->generation++;
	tok_update(t, now);
	return ev;
}

unsigned
tok_fetch_failed(struct tok *t, enum tok_fail why, int64_t now)
{
	int failing = tok_failing(t);
	unsigned ev = 0;

	t->in_flight = TOK_ACT_NONE;
	t->failures++;
	t->last_fail = why;
	if (why == TOK_FAIL_ADMIN) {
		if (!t->admin_refused)
			ev |= TOK_EV_ADMIN | TOK_EV_FAILURE;
		t->admin_refused = 1;
		t->retry_at = now + t->p->retry_max;
	} else {
		t->admin_refused = 0;
		t->retry_at = now + tok_backoff(t, t->failures);
	}
	if (why == TOK_FAIL_DOWN && !t->down) {
		t->down = 1;
		ev |= TOK_EV_DOWN;
	}
	if (!tok_usable(t, now, 0))
		t->verify_at = TOK_NEVER;
	tok_update(t, now);
	if (t->state == TOK_FAILING && !failing)
		ev |= TOK_EV_FAILURE;
	return ev;
}

unsigned
tok_verify_ok(struct tok *t, int64_t now)
{
	unsigned ev = 0;

	t->in_flight = TOK_ACT_NONE;
	t->verified = 1;
	t->last_verified_at = now;
	t->verify_at = now + t->p->verify_interval;
	t->down_probes = 0;
	if (t->down) {
		t->down = 0;
		ev |= TOK_EV_UP;
		/* the server is back: a renewal it missed may go now */
		if (!t->admin_refused)
			t->retry_at = now;
	}
	tok_update(t, now);
	return ev;
}

unsigned
tok_invalidate(struct tok *t, int64_t now)
{
	/* the token was all that kept failing fetches from FAILING */
	unsigned ev = t->failures > 0 && t->verify_at != TOK_NEVER ?
	    TOK_EV_FAILURE : 0;

	t->have = 0;
	t->verified = 0;
	t->want_fetch = 1;
	t->verify_at = TOK_NEVER;
	if (!t->admin_refused)
		t->retry_at = now;
	tok_update(t, now);
	return ev | TOK_EV_RESTART;
}

unsigned
tok_verify_dead(struct tok *t, int64_t now)
{
	unsigned ev;

	t->in_flight = TOK_ACT_NONE;
	ev = t->down ? TOK_EV_UP : 0;
	t->down = 0;
	t->down_probes = 0;
	if (!t->have) {
		/* already invalidated while the check was out: told once */
		tok_update(t, now);
		return ev;
	}
	return ev | tok_invalidate(t, now);
}

void
tok_check_now(struct tok *t, int64_t now)
{
	if (t->have && t->verify_at > now)
		t->verify_at = now;
}

unsigned
tok_verify_failed(struct tok *t, int64_t now)
{
	unsigned ev = 0;

	t->in_flight = TOK_ACT_NONE;
	t->down_probes++;
	t->verify_at = now + tok_backoff(t, t->down_probes);
	if (!t->down) {
		t->down = 1;
		ev |= TOK_EV_DOWN;
	}
	tok_update(t, now);
	return ev;
}

/* Why no token can be had now: the time to a retry, at least 1 s. */
static enum tok_answer
tok_unavailable(const struct tok *t, int64_t now, int64_t *retry_after)
{
	int64_t wait = t->retry_at - now;

	*retry_after = wait < 1000 ? 1000 : wait;
	return TOK_UNAVAILABLE;
}

enum tok_answer
tok_demand(struct tok *t, int64_t now, int64_t min_valid, int waited,
    int64_t *retry_after)
{
	int unverified = t->have && !t->verified &&
	    t->in_flight == TOK_ACT_VERIFY;

	if (tok_usable(t, now, min_valid) && !unverified)
		return TOK_SERVE;
	if (waited)
		return tok_unavailable(t, now, retry_after);
	if (t->in_flight != TOK_ACT_NONE) {
		/* a verify brings no fresher token: fetch one after it */
		if (!tok_usable(t, now, min_valid))
			t->want_fetch = 1;
		return TOK_WAIT;
	}
	if (now < t->retry_at)
		return tok_unavailable(t, now, retry_after);
	t->want_fetch = 1;
	return TOK_WAIT;
}

enum tok_answer
tok_force(struct tok *t, int64_t now, int current, int waited,
    int64_t *retry_after)
{
	int recent = t->last_forced_at != 0 &&
	    now - t->last_forced_at < t->p->min_forced_interval;

	if (waited || !current || recent || now < t->retry_at) {
		if (t->in_flight == TOK_ACT_FETCH && !waited)
			return TOK_WAIT;
		if (tok_usable(t, now, 0))
			return TOK_SERVE;
		return tok_demand(t, now, 0, waited, retry_after);
	}
	if (t->in_flight == TOK_ACT_FETCH)
		return TOK_WAIT;
	t->last_forced_at = now;
	t->want_fetch = 1;
	return TOK_WAIT;
}
