/*
 * check_token.c - unit tests for token.c, the state machine of one
 * server's transient token.  The clock is a plain variable moved by the
 * tests, the random function returns a set value or walks a sequence,
 * so a 48-hour life with outages and recovery runs in milliseconds.
 *
 * Every request goes through start(), which asserts that tok_next()
 * asked for it and that tok_next() asks for nothing while it is in
 * flight.
 */
#include "ac-config.h"

#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "token.h"
#include "testlib.h"

#define SEC	1000LL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
/* a monotonic clock some days after boot */
#define T0	(5 * 24 * HOUR + 123)
#define EV_BITS	7

struct rnd {
	double value;		/* answered while seq is NULL */
	const double *seq;	/* else cycled through */
	size_t len;
	size_t pos;
	unsigned calls;
};

static struct rnd rnd;
static struct tok_params params;
static struct tok tok;
static int64_t now;
static unsigned seen[EV_BITS];	/* events reported, per bit */

static double
rnd_next(void *ctx)
{
	struct rnd *r = ctx;
	double v;

	r->calls++;
	if (r->seq == NULL)
		return r->value;
	v = r->seq[r->pos];
	r->pos = (r->pos + 1) % r->len;
	return v;
}

static void
setup(void)
{
	memset(&rnd, 0, sizeof(rnd));
	memset(seen, 0, sizeof(seen));
	memset(&params, 0, sizeof(params));
	params.lifetime = 48 * HOUR;
	params.refresh_before = 6 * HOUR;
	params.verify_interval = 60 * SEC;
	params.retry_min = 1 * SEC;
	params.retry_max = 5 * MIN;
	params.min_forced_interval = 10 * SEC;
	params.random = rnd_next;
	params.random_ctx = &rnd;
	now = T0;
	tok_init(&tok, &params, "test", now);
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Count the events of a report, bit by bit, and pass them on. */
static unsigned
tally(unsigned ev)
{
	unsigned i;

	for (i = 0; i < EV_BITS; i++)
		if (ev & (1U << i))
			seen[i]++;
	return ev;
}

static unsigned
nseen(unsigned bit)
{
	unsigned i;

	for (i = 0; i < EV_BITS; i++)
		if (bit == (1U << i))
			return seen[i];
	ck_abort_msg("not an event bit: %u", bit);
	return 0;
}

/* tok_next() at now; its deadline in *dl. */
static enum tok_action
next(int64_t *dl)
{
	*dl = -1;
	return tok_next(&tok, now, dl);
}

/* Nothing to do now: the deadline, which must lie ahead. */
static int64_t
idle(void)
{
	int64_t dl;

	ck_assert_int_eq(next(&dl), TOK_ACT_NONE);
	ck_assert_int_gt(dl, now);
	return dl;
}

/* While a request is in flight, tok_next() asks for nothing. */
static void
assert_quiet(void)
{
	int64_t dl;

	ck_assert_int_eq(next(&dl), TOK_ACT_NONE);
	ck_assert_int_eq(dl, TOK_NEVER);
	ck_assert_int_eq(next(&dl), TOK_ACT_NONE);
}

/* tok_next() must ask for a now; start it. */
static void
start(enum tok_action a)
{
	int64_t dl;

	ck_assert_int_eq(next(&dl), a);
	tok_begin(&tok, a, now);
	ck_assert_int_eq(tok.in_flight, a);
	assert_quiet();
	if (a == TOK_ACT_FETCH)
		ck_assert_int_eq(tok.state, TOK_REFRESHING);
}

static unsigned
fetch_ok(void)
{
	start(TOK_ACT_FETCH);
	return tally(tok_fetch_ok(&tok, now));
}

static unsigned
fetch_failed(enum tok_fail why)
{
	start(TOK_ACT_FETCH);
	return tally(tok_fetch_failed(&tok, why, now));
}

static unsigned
verify_ok(void)
{
	start(TOK_ACT_VERIFY);
	return tally(tok_verify_ok(&tok, now));
}

static unsigned
verify_failed(void)
{
	start(TOK_ACT_VERIFY);
	return tally(tok_verify_failed(&tok, now));
}

static unsigned
verify_dead(void)
{
	start(TOK_ACT_VERIFY);
	return tally(tok_verify_dead(&tok, now));
}

static enum tok_answer
demand(int64_t min_valid, int waited, int64_t *retry_after)
{
	*retry_after = -1;
	return tok_demand(&tok, now, min_valid, waited, retry_after);
}

static enum tok_answer
force(int current, int waited, int64_t *retry_after)
{
	*retry_after = -1;
	return tok_force(&tok, now, current, waited, retry_after);
}

/* Move the clock to the next deadline if need be; the action due. */
static enum tok_action
due(void)
{
	enum tok_action a;
	int64_t dl;

	while ((a = next(&dl)) == TOK_ACT_NONE) {
		ck_assert_int_gt(dl, now);
		ck_assert_int_ne(dl, TOK_NEVER);
		now = dl;
	}
	return a;
}

/*
 * One step of the driver: go to the next thing to do and do it, with
 * the server answering (up) or not.  The action done is returned.
 */
static enum tok_action
step(int up)
{
	enum tok_action a = due();

	if (a == TOK_ACT_FETCH && up)
		fetch_ok();
	else if (a == TOK_ACT_FETCH)
		fetch_failed(TOK_FAIL_DOWN);
	else if (a == TOK_ACT_VERIFY && up)
		verify_ok();
	else if (a == TOK_ACT_VERIFY)
		verify_failed();
	else
		ck_abort_msg("nothing due at %lld", (long long)now);
	return a;
}

/* A token fetched at now from a cold start. */
static void
cold_start(void)
{
	ck_assert_uint_eq(fetch_ok(), TOK_EV_REFRESH);
	ck_assert_int_eq(tok.state, TOK_READY);
}

/*
 * Walk with the server answering: do all that is due before until, then
 * set the clock to until.
 */
static void
walk_up(int64_t until)
{
	int64_t dl;

	while (now < until) {
		if (next(&dl) == TOK_ACT_NONE && dl >= until) {
			now = until;
			break;
		}
		step(1);
	}
}

START_TEST(test_state_names)
{
	ck_assert_str_eq(tok_state_name(TOK_UNKNOWN), "unknown");
	ck_assert_str_eq(tok_state_name(TOK_READY), "ready");
	ck_assert_str_eq(tok_state_name(TOK_REFRESHING), "refreshing");
	ck_assert_str_eq(tok_state_name(TOK_STALE), "stale");
	ck_assert_str_eq(tok_state_name(TOK_FAILING), "failing");
}
END_TEST

START_TEST(test_cold_start)
{
	int64_t ra;

	ck_assert_int_eq(tok.state, TOK_UNKNOWN);
	ck_assert(!tok_usable(&tok, now, 0));
	ck_assert_uint_eq(tok.generation, 0);
	/* a caller before anything started asks for the fetch */
	ck_assert_int_eq(demand(0, 0, &ra), TOK_WAIT);
	start(TOK_ACT_FETCH);
	ck_assert_int_eq(tok.state, TOK_REFRESHING);
	ck_assert_int_eq(demand(0, 0, &ra), TOK_WAIT);
	ck_assert_int_eq(demand(HOUR, 0, &ra), TOK_WAIT);
	assert_quiet();
	now += 250;
	ck_assert_uint_eq(tally(tok_fetch_ok(&tok, now)), TOK_EV_REFRESH);
	ck_assert_int_eq(tok.state, TOK_READY);
	ck_assert_uint_eq(tok.generation, 1);
	ck_assert_int_eq(tok.issued_at, now);
	ck_assert_int_eq(tok.expires_at, now + 48 * HOUR);
	ck_assert_int_eq(tok.last_verified_at, now);
	ck_assert(tok_usable(&tok, now, 0));
	ck_assert_int_eq(demand(0, 1, &ra), TOK_SERVE);
	ck_assert_int_eq(demand(47 * HOUR, 0, &ra), TOK_SERVE);
	/* next: verify in a minute */
	ck_assert_int_eq(idle(), now + params.verify_interval);
}
END_TEST

START_TEST(test_cold_start_at_once)
{
	int64_t dl;

	/* the driver asks first: FETCH at once, no deadline ahead */
	ck_assert_int_eq(next(&dl), TOK_ACT_FETCH);
	ck_assert_int_eq(next(&dl), TOK_ACT_FETCH);
	cold_start();
}
END_TEST

START_TEST(test_refresh_at_no_jitter)
{
	rnd.value = 0.0;
	now += 777;
	cold_start();
	ck_assert_int_eq(tok.refresh_at, tok.issued_at + params.lifetime -
	    params.refresh_before);
	ck_assert_int_eq(tok.refresh_at, now + 42 * HOUR);
	/* the walk renews at exactly that time */
	walk_up(tok.refresh_at - 1);
	ck_assert_uint_eq(tok.generation, 1);
	ck_assert_int_eq(due(), TOK_ACT_FETCH);
	ck_assert_int_eq(now, T0 + 777 + 42 * HOUR);
}
END_TEST

/* Renewal time for random value r, fetched at now. */
static void
check_jitter(double r, double want)
{
	int64_t jitter, limit = params.refresh_before / 20;

	setup();
	rnd.value = r;
	cold_start();
	jitter = tok.issued_at + params.lifetime - params.refresh_before -
	    tok.refresh_at;
	ck_assert_int_ge(jitter, 0);
	ck_assert_int_lt(jitter, limit);
	ck_assert_int_eq(jitter,
	    (int64_t)(want * 0.05 * (double)params.refresh_before));
}

START_TEST(test_jitter_bounds)
{
	static const double edge[] = {
		0.9, 0.99, 0.999, 0.9999, 0.999999, 1.0 - DBL_EPSILON
	};
	size_t i;

	for (i = 0; i < 1000; i++)
		check_jitter((double)i / 1000.0, (double)i / 1000.0);
	for (i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
		check_jitter(edge[i], edge[i]);
	/* close to 1: up to 5 % of refresh_before, but below it */
	ck_assert_int_ge(tok.issued_at + 42 * HOUR - tok.refresh_at,
	    params.refresh_before / 20 - 1);
	/* a broken random source counts as 0 */
	check_jitter(1.0, 0.0);
	check_jitter(-0.5, 0.0);
}
END_TEST

/* tok_next()'s deadline is the earlier of renewal and verification. */
static void
check_deadline(void)
{
	int64_t dl;

	if (next(&dl) != TOK_ACT_NONE)
		return;
	ck_assert_int_eq(dl, min64(tok.refresh_at, tok.verify_at));
}

/* One whole life, verified each minute, served at every step. */
START_TEST(test_48h_life)
{
	int64_t end, hour, first_expiry, renewed_at = 0;
	unsigned verifies = 0, hours = 0, at_refresh = 0;
	enum tok_action a;
	int64_t ra, dl;

	rnd.value = 0.3;	/* renew 5.4 min early, off the minute */
	cold_start();
	end = now + 48 * HOUR;
	hour = now;
	first_expiry = tok.expires_at;
	while (now < end) {
		check_deadline();
		if (next(&dl) == TOK_ACT_NONE && dl == tok.refresh_at)
			at_refresh++;
		a = due();
		ck_assert(tok_usable(&tok, now, 0));
		ck_assert_int_eq(demand(0, 0, &ra), TOK_SERVE);
		for (; hour <= now && hour < end; hour += HOUR)
			hours++;
		if (a == TOK_ACT_FETCH) {
			start(a);
			/* no gap while the renewal is in flight */
			ck_assert(tok_usable(&tok, now, 0));
			ck_assert_int_eq(demand(0, 0, &ra), TOK_SERVE);
			ck_assert_uint_eq(tally(tok_fetch_ok(&tok, now)),
			    TOK_EV_REFRESH);
			renewed_at = now;
			continue;
		}
		ck_assert_int_eq(now - tok.last_verified_at,
		    params.verify_interval);
		ck_assert_uint_eq(verify_ok(), 0);
		verifies++;
	}
	ck_assert_uint_eq(hours, 48);
	ck_assert_uint_eq(nseen(TOK_EV_REFRESH), 2);	/* one renewal */
	ck_assert_uint_eq(tok.generation, 2);
	ck_assert_int_eq(renewed_at, T0 + 42 * HOUR -
	    (int64_t)(0.3 * 0.05 * (double)params.refresh_before));
	ck_assert_int_lt(renewed_at, first_expiry);
	ck_assert_uint_eq(at_refresh, 1);
	ck_assert_uint_ge(verifies, 48 * 60 - 2);
	ck_assert_int_eq(tok.state, TOK_READY);
}
END_TEST

START_TEST(test_verify_interval)
{
	int i;

	cold_start();
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(idle(), now + params.verify_interval);
		now += params.verify_interval - 1;
		ck_assert_int_eq(idle(), now + 1);
		now++;
		ck_assert_uint_eq(verify_ok(), 0);
		ck_assert_int_eq(tok.last_verified_at, now);
		ck_assert_int_eq(tok.verify_at, now + params.verify_interval);
	}
	ck_assert_int_eq(now, T0 + 100 * params.verify_interval);
}
END_TEST

START_TEST(test_verify_dead)
{
	int64_t ra;

	cold_start();
	walk_up(now + 3 * HOUR);
	ck_assert_int_eq(due(), TOK_ACT_VERIFY);
	ck_assert_uint_eq(verify_dead(), TOK_EV_RESTART);
	ck_assert(!tok_usable(&tok, now, 0));
	ck_assert_int_ne(tok.state, TOK_READY);
	ck_assert_int_ne(tok.state, TOK_STALE);
	/* callers are not served the dead token; they wait */
	ck_assert_int_eq(demand(0, 0, &ra), TOK_WAIT);
	start(TOK_ACT_FETCH);
	ck_assert_int_eq(demand(0, 0, &ra), TOK_WAIT);
	ck_assert_uint_eq(tally(tok_fetch_ok(&tok, now)), TOK_EV_REFRESH);
	ck_assert_uint_eq(tok.generation, 2);
	ck_assert_int_eq(tok.state, TOK_READY);
	ck_assert_int_eq(demand(0, 1, &ra), TOK_SERVE);
	ck_assert_int_eq(tok.refresh_at, now + 42 * HOUR);
}
END_TEST

/* Renewals failing with 5xx, then the token found dead: fetch at once. */
START_TEST(test_verify_dead_in_backoff)
{
	int64_t dl;
	int i;

	rnd.value = 0.999;
	cold_start();
	walk_up(tok.refresh_at);
	for (i = 0; i < 8; i++) {
		while (due() != TOK_ACT_FETCH)
			ck_assert_uint_eq(verify_ok(), 0);
		ck_assert_uint_eq(fetch_failed(TOK_FAIL_PROTOCOL), 0);
		ck_assert_int_eq(tok.state, TOK_STALE);
	}
	ck_assert_int_gt(tok.retry_at - now, 60 * SEC);
	now = tok.verify_at;
	ck_assert_int_lt(now, tok.retry_at);
	/* the dead token was all there was: FAILING, announced */
	ck_assert_uint_eq(verify_dead(), TOK_EV_RESTART | TOK_EV_FAILURE);
	ck_assert_int_eq(tok.state, TOK_FAILING);
	ck_assert_int_eq(next(&dl), TOK_ACT_FETCH);
	ck_assert_uint_eq(fetch_ok(), TOK_EV_REFRESH | TOK_EV_RECOVERED);
	ck_assert_uint_eq(tok.generation, 2);
	ck_assert_uint_eq(nseen(TOK_EV_FAILURE), 1);
	ck_assert_int_eq(tok.state, TOK_READY);
}
END_TEST

/* tok_invalidate (event stream dropped): like a dead verify. */
START_TEST(test_invalidate)
{
	int64_t dl, ra;

	cold_start();
	walk_up(now + 10 * HOUR + 30 * SEC);
	ck_assert_uint_eq(tally(tok_invalidate(&tok, now)), TOK_EV_RESTART);
	ck_assert(!tok_usable(&tok, now, 0));
	ck_assert_int_eq(tok.state, TOK_UNKNOWN);
	ck_assert_int_eq(next(&dl), TOK_ACT_FETCH);
	ck_assert_int_eq(demand(0, 0, &ra), TOK_WAIT);
	ck_assert_uint_eq(fetch_ok(), TOK_EV_REFRESH);
	ck_assert_uint_eq(tok.generation, 2);
}
END_TEST

/* Consecutive failures; the delay (retry_at - now) of each. */
static int64_t
fail_and_delay(enum tok_fail why, unsigned *ev)
{
	int64_t d, ra;

	now = tok.retry_at > now ? tok.retry_at : now;
	*ev = fetch_failed(why);
	d = tok.retry_at - now;
	ck_assert_int_ge(d, params.retry_min);
	ck_assert_int_le(d, params.retry_max);
	/* nothing before retry_at; then the fetch */
	ck_assert_int_eq(idle(), tok.retry_at);
	ck_assert_int_eq(demand(0, 0, &ra), TOK_UNAVAILABLE);
	ck_assert_int_ge(ra, 1000);
	ck_assert_int_eq(ra, d);
	return d;
}

START_TEST(test_backoff_growth)
{
	int64_t d, prev = 0, cap = params.retry_min;
	unsigned i, ev;

	rnd.value = 0.999;
	for (i = 1; i <= 20; i++) {
		d = fail_and_delay(TOK_FAIL_DOWN, &ev);
		ck_assert_uint_eq(ev,
		    i == 1 ? (TOK_EV_DOWN | TOK_EV_FAILURE) : 0);
		ck_assert_int_le(d, cap);
		ck_assert_int_ge(d, cap - cap / 100);
		if (i > 1 && cap < params.retry_max)
			ck_assert_int_gt(d, prev * 19 / 10);
		prev = d;
		cap = min64(cap * 2, params.retry_max);
	}
	ck_assert_int_ge(prev, params.retry_max * 99 / 100);
	ck_assert_int_eq(tok.state, TOK_FAILING);
	ck_assert_uint_eq(nseen(TOK_EV_FAILURE), 1);
	ck_assert_uint_eq(nseen(TOK_EV_DOWN), 1);
	now = tok.retry_at;
	ck_assert_uint_eq(fetch_ok(),
	    TOK_EV_REFRESH | TOK_EV_RECOVERED | TOK_EV_UP);
	ck_assert_int_eq(tok.state, TOK_READY);
	ck_assert_uint_eq(tok.failures, 0);
}
END_TEST

START_TEST(test_backoff_min)
{
	unsigned i, ev;

	rnd.value = 0.0;
	for (i = 1; i <= 30; i++)
		ck_assert_int_eq(fail_and_delay(TOK_FAIL_PROTOCOL, &ev),
		    params.retry_min);
	ck_assert_uint_eq(nseen(TOK_EV_FAILURE), 1);
	ck_assert_uint_eq(nseen(TOK_EV_DOWN), 0);
}
END_TEST

START_TEST(test_backoff_bounds)
{
	static const double seq[] = {
		0.0, 0.999999, 0.5, 0.25, 1.0 - DBL_EPSILON, 0.75, 0.1,
		0.9, 0.001, 0.6, 0.33
	};
	unsigned i, ev;

	rnd.seq = seq;
	rnd.len = sizeof(seq) / sizeof(seq[0]);
	/* fail_and_delay checks retry_min <= delay <= retry_max */
	for (i = 1; i <= 200; i++)
		fail_and_delay(i % 3 ? TOK_FAIL_DOWN : TOK_FAIL_PROTOCOL, &ev);
	ck_assert_uint_eq(tok.failures, 200);
	ck_assert_uint_eq(nseen(TOK_EV_FAILURE), 1);
}
END_TEST

/* Renewals fail, the server down: serve until expiry, then 503. */
START_TEST(test_serve_while_valid)
{
	int64_t expiry, ra;

	rnd.value = 0.999;
	cold_start();
	expiry = tok.expires_at;
	walk_up(tok.refresh_at - 30 * MIN);
	while (now < expiry) {
		ck_assert(tok_usable(&tok, now, 0));
		ck_assert_int_eq(demand(0, 0, &ra), TOK_SERVE);
		ck_assert_int_eq(demand(0, 1, &ra), TOK_SERVE);
		step(0);
		if (now < expiry)
			ck_assert_int_eq(tok.state, TOK_STALE);
	}
	ck_assert_uint_eq(nseen(TOK_EV_DOWN), 1);
	ck_assert_uint_le(nseen(TOK_EV_FAILURE), 1);
	ck_assert_uint_gt(tok.failures, 10);
	/* expired: no token to serve, however often the fetch fails */
	while (now < expiry + 2 * HOUR) {
		ck_assert(!tok_usable(&tok, now, 0));
		ck_assert_int_eq(step(0), TOK_ACT_FETCH);
		ck_assert_int_eq(tok.state, TOK_FAILING);
		ck_assert_int_eq(demand(0, 0, &ra), TOK_UNAVAILABLE);
		ck_assert_int_ge(ra, 1000);
		ck_assert_int_eq(demand(0, 1, &ra), TOK_UNAVAILABLE);
	}
	ck_assert_uint_eq(nseen(TOK_EV_FAILURE), 1);
	ck_assert_uint_eq(nseen(TOK_EV_RESTART), 0);
	ck_assert_int_eq(step(1), TOK_ACT_FETCH);
	ck_assert_uint_eq(nseen(TOK_EV_RECOVERED), 1);
	ck_assert_uint_eq(nseen(TOK_EV_UP), 1);
	ck_assert_int_eq(tok.state, TOK_READY);
	ck_assert_uint_eq(tok.generation, 2);
}
END_TEST

/* Renewals answered 5xx while GET / works: STALE, then FAILING. */
START_TEST(test_stale_then_failing)
{
	int64_t expiry, ra;
	unsigned ev;

	rnd.value = 0.5;
	cold_start();
	expiry = tok.expires_at;
	walk_up(tok.refresh_at);
	while (now < expiry + HOUR) {
		if (due() == TOK_ACT_VERIFY) {
			ck_assert(tok_usable(&tok, now, 0));
			ck_assert_uint_eq(verify_ok(), 0);
			continue;
		}
		ev = fetch_failed(TOK_FAIL_PROTOCOL);
		ck_assert_uint_eq(ev & ~(unsigned)TOK_EV_FAILURE, 0);
		if (now < expiry)
			ck_assert_uint_eq(ev, 0);
		ck_assert_int_eq(demand(0, 0, &ra),
		    now < expiry ? TOK_SERVE : TOK_UNAVAILABLE);
	}
	ck_assert_int_eq(tok.state, TOK_FAILING);
	ck_assert_uint_eq(nseen(TOK_EV_FAILURE), 1);
	ck_assert_uint_eq(nseen(TOK_EV_RESTART), 0);
	ck_assert_uint_eq(nseen(TOK_EV_DOWN), 0);
	ck_assert_int_eq(due(), TOK_ACT_FETCH);
	ck_assert_uint_eq(fetch_ok(), TOK_EV_REFRESH | TOK_EV_RECOVERED);
	ck_assert_int_eq(tok.state, TOK_READY);
}
END_TEST

START_TEST(test_cold_start_failing)
{
	int64_t ra;
	int i;

	rnd.value = 0.5;
	ck_assert_uint_eq(fetch_failed(TOK_FAIL_DOWN),
	    TOK_EV_DOWN | TOK_EV_FAILURE);
	ck_assert_int_eq(tok.state, TOK_FAILING);
	ck_assert_int_eq(demand(0, 0, &ra), TOK_UNAVAILABLE);
	ck_assert_int_eq(ra, 1000);
	for (i = 0; i < 50; i++) {
		now = tok.retry_at;
		ck_assert_uint_eq(fetch_failed(i % 2 ? TOK_FAIL_DOWN :
		    TOK_FAIL_PROTOCOL), 0);
		ck_assert_int_eq(tok.state, TOK_FAILING);
	}
	now = tok.retry_at;
	ck_assert_uint_eq(fetch_ok(),
	    TOK_EV_REFRESH | TOK_EV_RECOVERED | TOK_EV_UP);
	ck_assert_uint_eq(nseen(TOK_EV_FAILURE), 1);
}
END_TEST

/* One failed fetch at start, then a token: FAILURE, then RECOVERED. */
START_TEST(test_recovered)
{
	ck_assert_uint_eq(fetch_failed(TOK_FAIL_PROTOCOL), TOK_EV_FAILURE);
	ck_assert_int_eq(tok.state, TOK_FAILING);
	now = tok.retry_at;
	ck_assert_uint_eq(fetch_ok(), TOK_EV_REFRESH | TOK_EV_RECOVERED);
	ck_assert_int_eq(tok.state, TOK_READY);
	/* a plain renewal later recovers nothing */
	walk_up(tok.refresh_at);
	ck_assert_uint_eq(fetch_ok(), TOK_EV_REFRESH);
}
END_TEST

/* The admin token refused at start: loud once, then at retry_max pace. */
START_TEST(test_admin_refused_cold)
{
	static const double seq[] = { 0.0, 0.999, 0.5 };
	int64_t ra;
	int i;

	rnd.seq = seq;
	rnd.len = 3;
	ck_assert_uint_eq(fetch_failed(TOK_FAIL_ADMIN),
	    TOK_EV_ADMIN | TOK_EV_FAILURE);
	ck_assert_int_eq(tok.state, TOK_FAILING);
	for (i = 0; i < 30; i++) {
		ck_assert_int_eq(tok.retry_at - now, params.retry_max);
		ck_assert_int_eq(idle(), tok.retry_at);
		ck_assert_int_eq(demand(0, 0, &ra), TOK_UNAVAILABLE);
		ck_assert_int_eq(ra, params.retry_max);
		now += 2 * MIN;
		ck_assert_int_eq(force(1, 0, &ra), TOK_UNAVAILABLE);
		ck_assert_int_eq(ra, 3 * MIN);
		/* an invalidation does not speed it up either */
		tok_invalidate(&tok, now);
		ck_assert_int_eq(idle(), tok.retry_at);
		now = tok.retry_at;
		ck_assert_uint_eq(fetch_failed(TOK_FAIL_ADMIN), 0);
	}
	ck_assert_uint_eq(nseen(TOK_EV_ADMIN), 1);
	ck_assert_uint_eq(nseen(TOK_EV_FAILURE), 1);
	now = tok.retry_at;
	ck_assert_uint_eq(fetch_ok(), TOK_EV_REFRESH | TOK_EV_RECOVERED);
}
END_TEST

/* The admin token refused at renewal: the held token is still served. */
START_TEST(test_admin_refused_renewal)
{
	int64_t expiry, ra, at;
	enum tok_action a;

	rnd.value = 0.999;
	cold_start();
	expiry = tok.expires_at;
	walk_up(tok.refresh_at);
	ck_assert_uint_eq(fetch_failed(TOK_FAIL_ADMIN),
	    TOK_EV_ADMIN | TOK_EV_FAILURE);
	while (now < expiry - params.retry_max) {
		ck_assert_int_eq(tok.state, TOK_STALE);
		ck_assert_int_eq(demand(0, 0, &ra), TOK_SERVE);
		at = tok.retry_at;
		a = due();
		if (a == TOK_ACT_VERIFY) {
			ck_assert_uint_eq(verify_ok(), 0);
			continue;
		}
		ck_assert_int_eq(now, at);
		ck_assert_uint_eq(fetch_failed(TOK_FAIL_ADMIN), 0);
		ck_assert_int_eq(tok.retry_at, now + params.retry_max);
	}
	ck_assert_uint_eq(nseen(TOK_EV_ADMIN), 1);
	ck_assert_uint_eq(nseen(TOK_EV_FAILURE), 1);
	/* past expiry: FAILING; that is announced once more, not ADMIN */
	now = expiry + 10 * MIN;
	ck_assert_uint_eq(fetch_failed(TOK_FAIL_ADMIN), TOK_EV_FAILURE);
	ck_assert_int_eq(tok.state, TOK_FAILING);
	now = tok.retry_at;
	ck_assert_uint_eq(fetch_failed(TOK_FAIL_ADMIN), 0);
	ck_assert_uint_eq(nseen(TOK_EV_ADMIN), 1);
	ck_assert_uint_eq(nseen(TOK_EV_RESTART), 0);
	ck_assert_uint_eq(nseen(TOK_EV_DOWN), 0);
}
END_TEST

/* GET / fails (server down) at hour 10: DOWN once, verify backs off. */
START_TEST(test_verify_down)
{
	int64_t d, prev = 0, cap = params.retry_min, ra;
	unsigned i;

	rnd.value = 0.999;
	cold_start();
	walk_up(now + 10 * HOUR);
	for (i = 1; i <= 15; i++) {
		ck_assert_int_eq(due(), TOK_ACT_VERIFY);
		ck_assert_uint_eq(verify_failed(), i == 1 ? TOK_EV_DOWN : 0);
		d = tok.verify_at - now;
		ck_assert_int_ge(d, params.retry_min);
		ck_assert_int_le(d, cap);
		ck_assert_int_ge(d, cap - cap / 100);
		if (i > 1 && cap < params.retry_max)
			ck_assert_int_gt(d, prev * 19 / 10);
		prev = d;
		cap = min64(cap * 2, params.retry_max);
		ck_assert_int_eq(tok.state, TOK_STALE);
		ck_assert_int_eq(demand(0, 0, &ra), TOK_SERVE);
		ck_assert_int_eq(idle(), tok.verify_at);
	}
	ck_assert_int_ge(prev, params.retry_max * 99 / 100);
	ck_assert_int_eq(due(), TOK_ACT_VERIFY);
	ck_assert_uint_eq(verify_ok(), TOK_EV_UP);
	ck_assert_int_eq(tok.state, TOK_READY);
	/* no renewal due: back to the minute */
	ck_assert_int_eq(idle(), now + params.verify_interval);
	ck_assert_uint_eq(tok.generation, 1);
}
END_TEST

/* Down across the renewal time: once GET / works, renew at once. */
START_TEST(test_up_renews_at_once)
{
	int64_t dl, up_at;
	unsigned fetches = 0;
	enum tok_action a;

	rnd.value = 0.999;
	cold_start();
	walk_up(tok.refresh_at - 20 * MIN);
	up_at = tok.refresh_at + 40 * MIN;
	/* down until up_at, up again when a verify comes next */
	for (;;) {
		a = due();
		if (now >= up_at && a == TOK_ACT_VERIFY)
			break;
		if (a == TOK_ACT_FETCH) {
			ck_assert_uint_eq(fetch_failed(TOK_FAIL_DOWN), 0);
			fetches++;
		} else {
			verify_failed();
		}
	}
	ck_assert_uint_gt(fetches, 5);
	ck_assert_uint_eq(nseen(TOK_EV_DOWN), 1);
	ck_assert_uint_eq(nseen(TOK_EV_FAILURE), 0);
	ck_assert_int_eq(tok.state, TOK_STALE);
	/* the renewal is due, but its backoff is not over */
	ck_assert_int_ge(now, tok.refresh_at);
	ck_assert_int_lt(now, tok.retry_at);
	ck_assert_uint_eq(verify_ok(), TOK_EV_UP);
	ck_assert_int_eq(next(&dl), TOK_ACT_FETCH);
	ck_assert_uint_eq(fetch_ok(), TOK_EV_REFRESH);
	ck_assert_int_eq(tok.state, TOK_READY);
	ck_assert_uint_eq(nseen(TOK_EV_UP), 1);
	ck_assert_uint_eq(nseen(TOK_EV_RECOVERED), 0);
}
END_TEST

START_TEST(test_restore)
{
	int64_t ra, dl;

	ck_assert_int_eq(tok_restore(&tok, now - 10 * HOUR,
	    now + 38 * HOUR, now), 0);
	ck_assert(tok_usable(&tok, now, 0));
	ck_assert_int_eq(next(&dl), TOK_ACT_VERIFY);
	start(TOK_ACT_VERIFY);
	ck_assert_int_eq(demand(0, 0, &ra), TOK_WAIT);
	ck_assert_int_eq(demand(HOUR, 0, &ra), TOK_WAIT);
	now += 40;
	ck_assert_uint_eq(tally(tok_verify_ok(&tok, now)), 0);
	ck_assert_int_eq(demand(0, 1, &ra), TOK_SERVE);
	ck_assert_int_eq(demand(0, 0, &ra), TOK_SERVE);
	ck_assert_int_eq(tok.state, TOK_READY);
	ck_assert_int_eq(tok.last_verified_at, now);
	ck_assert_int_eq(idle(), now + params.verify_interval);
	ck_assert_int_le(tok.refresh_at, tok.expires_at -
	    params.refresh_before);
	ck_assert_int_gt(tok.refresh_at, tok.expires_at -
	    params.refresh_before - params.refresh_before / 20);
	walk_up(tok.refresh_at);
	ck_assert_int_eq(due(), TOK_ACT_FETCH);
	ck_assert_uint_eq(fetch_ok(), TOK_EV_REFRESH);
}
END_TEST

START_TEST(test_restore_dead)
{
	int64_t ra;

	ck_assert_int_eq(tok_restore(&tok, now - 3 * HOUR,
	    now + 45 * HOUR, now), 0);
	ck_assert_uint_eq(verify_dead(), TOK_EV_RESTART);
	ck_assert_int_eq(demand(0, 0, &ra), TOK_WAIT);
	ck_assert_uint_eq(fetch_ok(), TOK_EV_REFRESH);
	ck_assert_int_eq(tok.state, TOK_READY);
}
END_TEST

START_TEST(test_restore_expired)
{
	ck_assert_int_eq(tok_restore(&tok, now - 48 * HOUR, now, now), -1);
	ck_assert_int_eq(tok_restore(&tok, now - 49 * HOUR, now - HOUR,
	    now), -1);
	ck_assert_int_eq(tok_restore(&tok, now + HOUR, now + 49 * HOUR,
	    now), -1);
	/* nothing adopted: still a cold start */
	ck_assert_int_eq(tok.have, 0);
	ck_assert_int_eq(tok.state, TOK_UNKNOWN);
	cold_start();
}
END_TEST

START_TEST(test_demand_min_valid)
{
	int64_t ra, dl;

	cold_start();
	walk_up(now + HOUR);
	ck_assert_uint_eq(verify_ok(), 0);
	/* 47 h left */
	ck_assert_int_eq(demand(HOUR, 0, &ra), TOK_SERVE);
	ck_assert_int_eq(demand(47 * HOUR - 1, 0, &ra), TOK_SERVE);
	ck_assert_int_eq(idle(), tok.verify_at);
	ck_assert_int_eq(demand(47 * HOUR, 1, &ra), TOK_UNAVAILABLE);
	ck_assert_int_eq(demand(47 * HOUR, 0, &ra), TOK_WAIT);
	ck_assert_int_eq(next(&dl), TOK_ACT_FETCH);
	start(TOK_ACT_FETCH);
	/* everyone waits for the one fetch; a waiter never waits again */
	ck_assert_int_eq(demand(47 * HOUR, 0, &ra), TOK_WAIT);
	ck_assert_int_eq(demand(0, 0, &ra), TOK_SERVE);
	ck_assert_int_eq(demand(47 * HOUR, 1, &ra), TOK_UNAVAILABLE);
	assert_quiet();
	ck_assert_uint_eq(tally(tok_fetch_ok(&tok, now)), TOK_EV_REFRESH);
	ck_assert_int_eq(demand(47 * HOUR, 1, &ra), TOK_SERVE);
	ck_assert_int_eq(idle(), tok.verify_at);
	/* a failed fetch: a waiter is turned away, not asked to wait */
	now += HOUR;
	ck_assert_int_eq(demand(47 * HOUR + 30 * MIN, 0, &ra), TOK_WAIT);
	ck_assert_uint_eq(fetch_failed(TOK_FAIL_PROTOCOL), 0);
	ck_assert_int_eq(demand(47 * HOUR + 30 * MIN, 1, &ra),
	    TOK_UNAVAILABLE);
	ck_assert_int_ge(ra, 1000);
	ck_assert_int_eq(demand(0, 1, &ra), TOK_SERVE);
}
END_TEST

/* min_valid asked while a verify is in flight: a fetch follows it. */
START_TEST(test_demand_during_verify)
{
	int64_t ra, dl;

	cold_start();
	walk_up(now + 20 * HOUR);
	ck_assert_int_eq(due(), TOK_ACT_VERIFY);
	start(TOK_ACT_VERIFY);
	ck_assert_int_eq(demand(0, 0, &ra), TOK_SERVE);
	ck_assert_int_eq(demand(40 * HOUR, 0, &ra), TOK_WAIT);
	ck_assert_uint_eq(tally(tok_verify_ok(&tok, now)), 0);
	ck_assert_int_eq(next(&dl), TOK_ACT_FETCH);
	ck_assert_uint_eq(fetch_ok(), TOK_EV_REFRESH);
	ck_assert_int_eq(demand(40 * HOUR, 1, &ra), TOK_SERVE);
}
END_TEST

START_TEST(test_force)
{
	int64_t ra, dl;
	uint64_t gen;

	cold_start();
	walk_up(now + 5 * HOUR);
	gen = tok.generation;
	ck_assert_int_eq(force(1, 0, &ra), TOK_WAIT);
	ck_assert_int_eq(next(&dl), TOK_ACT_FETCH);
	start(TOK_ACT_FETCH);
	/* a crowd reporting the same token joins the fetch in flight */
	ck_assert_int_eq(force(1, 0, &ra), TOK_WAIT);
	ck_assert_int_eq(force(0, 0, &ra), TOK_WAIT);
	assert_quiet();
	now += 300;
	ck_assert_uint_eq(tally(tok_fetch_ok(&tok, now)), TOK_EV_REFRESH);
	ck_assert_uint_eq(tok.generation, gen + 1);
	ck_assert_int_eq(force(1, 1, &ra), TOK_SERVE);
	/* the new token refused too, within min_forced_interval */
	now += params.min_forced_interval - 301;
	ck_assert_int_eq(force(1, 0, &ra), TOK_SERVE);
	ck_assert_int_eq(idle(), tok.verify_at);
	now++;
	ck_assert_int_eq(force(1, 0, &ra), TOK_WAIT);
	ck_assert_uint_eq(fetch_ok(), TOK_EV_REFRESH);
	ck_assert_uint_eq(tok.generation, gen + 2);
	/* an older token named: answer the current one, no fetch */
	now += 30 * SEC;
	ck_assert_int_eq(force(0, 0, &ra), TOK_SERVE);
	ck_assert_int_eq(idle(), tok.verify_at);
	ck_assert_uint_eq(tok.generation, gen + 2);
}
END_TEST

/* A forced fetch joins a renewal already in flight. */
START_TEST(test_force_joins_renewal)
{
	int64_t ra;

	cold_start();
	walk_up(tok.refresh_at);
	start(TOK_ACT_FETCH);
	ck_assert_int_eq(force(1, 0, &ra), TOK_WAIT);
	assert_quiet();
	ck_assert_uint_eq(tally(tok_fetch_ok(&tok, now)), TOK_EV_REFRESH);
	ck_assert_int_eq(force(1, 1, &ra), TOK_SERVE);
	ck_assert_int_eq(idle(), tok.verify_at);
	ck_assert_uint_eq(tok.generation, 2);
}
END_TEST

static Suite *
token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc;

	tc = tcase_create("life");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_state_names);
	tcase_add_test(tc, test_cold_start);
	tcase_add_test(tc, test_cold_start_at_once);
	tcase_add_test(tc, test_refresh_at_no_jitter);
	tcase_add_test(tc, test_jitter_bounds);
	tcase_add_test(tc, test_48h_life);
	tcase_add_test(tc, test_verify_interval);
	tcase_add_test(tc, test_verify_dead);
	tcase_add_test(tc, test_verify_dead_in_backoff);
	tcase_add_test(tc, test_invalidate);
	tcase_add_test(tc, test_restore);
	tcase_add_test(tc, test_restore_dead);
	tcase_add_test(tc, test_restore_expired);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_backoff_growth);
	tcase_add_test(tc, test_backoff_min);
	tcase_add_test(tc, test_backoff_bounds);
	tcase_add_test(tc, test_serve_while_valid);
	tcase_add_test(tc, test_stale_then_failing);
	tcase_add_test(tc, test_cold_start_failing);
	tcase_add_test(tc, test_recovered);
	tcase_add_test(tc, test_admin_refused_cold);
	tcase_add_test(tc, test_admin_refused_renewal);
	tcase_add_test(tc, test_verify_down);
	tcase_add_test(tc, test_up_renews_at_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("callers");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_demand_min_valid);
	tcase_add_test(tc, test_demand_during_verify);
	tcase_add_test(tc, test_force);
	tcase_add_test(tc, test_force_joins_renewal);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run(token_suite());
}
