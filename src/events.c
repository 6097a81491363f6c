/*
 * events.c - the event stream's subscribers, their rings of messages,
 * and the keep-alive thread.  One mutex guards everything; nothing here
 * blocks while holding it, and nothing here sees a token.
 */
#include "ac-config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "events.h"
#include "token.h"

struct msg {
	size_t len;
	char text[EVENTS_MSG_MAX];
};

struct events_sub {
	struct events *ev;
	char (*servers)[CFG_NAME_MAX + 1];	/* NULL: every server */
	size_t nservers;
	void (*suspend)(void *arg);
	void (*resume)(void *arg);
	void *arg;
	int suspended;			/* suspend() ran, no resume() yet */
	int closed;
	unsigned head, count;		/* ring: oldest at head */
	size_t off;			/* bytes of the oldest already read */
	int64_t last_sent;		/* mono ms */
	struct msg ring[EVENTS_RING];
	struct events_sub *next;
};

struct events {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct events_sub *subs;
	size_t nsubs;
	int closing;
	int stopping;
	int started;
	pthread_t thread;
};

/* Append to sub's ring, dropping the oldest when full; under ev->mu. */
static void
sub_push(struct events_sub *s, const char *text, size_t len)
{
	struct msg *m;

	if (s->closed || len >= EVENTS_MSG_MAX)
		return;
	if (s->count == EVENTS_RING) {
		s->head = (s->head + 1) % EVENTS_RING;
		s->count--;
		s->off = 0;
	}
	m = &s->ring[(s->head + s->count) % EVENTS_RING];
	memcpy(m->text, text, len);
	m->len = len;
	s->count++;
}

static int
sub_wants(const struct events_sub *s, const char *server)
{
	size_t i;

	if (s->servers == NULL)
		return 1;
	for (i = 0; i < s->nservers; i++)
		if (strcmp(s->servers[i], server) == 0)
			return 1;
	return 0;
}

/*
 * Take sub's pending resume, if any; under ev->mu.  The caller calls
 * the returned sub's resume() once the lock is released.
 */
static int
sub_take_wake(struct events_sub *s)
{
	if (!s->suspended)
		return 0;
	s->suspended = 0;
	return 1;
}

/* ------------------------------------------------------------ observer */

static const struct {
	unsigned bit;
	const char *name;
} state_events[] = {
	{ TOK_EV_RESTART, "restart" },
	{ TOK_EV_FAILURE, "failure" },
	{ TOK_EV_RECOVERED, "recovered" },
	{ TOK_EV_DOWN, "down" },
	{ TOK_EV_UP, "up" },
	{ 0, NULL }
};

/* The SSE messages for one engine event, back to back, in out. */
static size_t
format_event(const struct engine_event *e, char *out, size_t outlen,
    size_t *lens, size_t maxmsgs)
{
	char at[CLOCK_RFC3339_LEN], exp[CLOCK_RFC3339_LEN];
	size_t n = 0, used = 0, i;
	int w;

	clock_rfc3339(e->at, at);
	clock_rfc3339(e->expires_at, exp);
	if (e->events & TOK_EV_REFRESH) {
		w = snprintf(out, outlen, "event: token\ndata: {\"server\":"
		    "\"%s\",\"issued_at\":\"%s\",\"expires_at\":\"%s\"}\n\n",
		    e->server, at, exp);
		if (w > 0 && (size_t)w < outlen && w < EVENTS_MSG_MAX) {
			lens[n++] = (size_t)w;
			used = (size_t)w;
		}
	}
	for (i = 0; state_events[i].name != NULL && n < maxmsgs; i++) {
		if (!(e->events & state_events[i].bit))
			continue;
		w = snprintf(out + used, outlen - used, "event: state\ndata: {"
		    "\"server\":\"%s\",\"state\":\"%s\",\"event\":\"%s\"}\n\n",
		    e->server, e->state, state_events[i].name);
		if (w <= 0 || (size_t)w >= outlen - used ||
		    w >= EVENTS_MSG_MAX)
			break;
		lens[n++] = (size_t)w;
		used += (size_t)w;
	}
	return n;
}

/* Resume, with no lock held, every subscriber on the list. */
static void
wake_all(struct events_sub **wake, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		wake[i]->resume(wake[i]->arg);
}

void
events_observe(const struct engine_event *e, void *ctx)
{
	struct events *ev = ctx;
	struct events_sub *s, *wake[EVENTS_MAX_SUBS];
	char text[8 * EVENTS_MSG_MAX];
	size_t lens[8], n, i, off, nwake = 0;

	n = format_event(e, text, sizeof(text), lens, 8);
	if (n == 0)
		return;
	pthread_mutex_lock(&ev->mu);
	for (s = ev->subs; s != NULL; s = s->next) {
		if (!sub_wants(s, e->server))
			continue;
		for (i = 0, off = 0; i < n; off += lens[i], i++)
			sub_push(s, text + off, lens[i]);
		if (sub_take_wake(s) && nwake < EVENTS_MAX_SUBS)
			wake[nwake++] = s;
	}
	pthread_mutex_unlock(&ev->mu);
	wake_all(wake, nwake);
}

/* ---------------------------------------------------------- keep-alive */

static void *
events_main(void *arg)
{
	static const char ka[] = ": keep-alive\n\n";
	struct events *ev = arg;
	struct events_sub *s, *wake[EVENTS_MAX_SUBS];
	struct timespec ts;
	int64_t now;
	size_t nwake;

	pthread_mutex_lock(&ev->mu);
	while (!ev->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&ev->cond, &ev->mu, &ts);
		now = clock_mono_ms();
		nwake = 0;
		for (s = ev->subs; s != NULL; s = s->next) {
			if (now - s->last_sent < EVENTS_KEEPALIVE_MS ||
			    s->count != 0)
				continue;
			sub_push(s, ka, sizeof(ka) - 1);
			s->last_sent = now;
			if (sub_take_wake(s) && nwake < EVENTS_MAX_SUBS)
				wake[nwake++] = s;
		}
		pthread_mutex_unlock(&ev->mu);
		wake_all(wake, nwake);
		pthread_mutex_lock(&ev->mu);
	}
	pthread_mutex_unlock(&ev->mu);
	return NULL;
}

struct events *
events_new(char *err, size_t errlen)
{
	struct events *ev;
	int rc;

	ev = calloc(1, sizeof(*ev));
	if (ev == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&ev->mu, NULL);
	pthread_cond_init(&ev->cond, NULL);
	rc = pthread_create(&ev->thread, NULL, events_main, ev);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the events thread: %s",
		    strerror(rc));
		events_free(ev);
		return NULL;
	}
	ev->started = 1;
	return ev;
}

/* --------------------------------------------------------- subscribers */

static struct events_sub *
sub_new(const char *const *servers, size_t nservers)
{
	static const char hello[] = "retry: 2000\n\n";
	struct events_sub *s;
	size_t i;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	if (servers != NULL) {
		s->servers = calloc(nservers + 1, sizeof(*s->servers));
		if (s->servers == NULL) {
			free(s);
			return NULL;
		}
		for (i = 0; i < nservers; i++)
			snprintf(s->servers[i], sizeof(s->servers[i]), "%s",
			    servers[i]);
		s->nservers = nservers;
	}
	sub_push(s, hello, sizeof(hello) - 1);
	s->last_sent = clock_mono_ms();
	return s;
}

struct events_sub *
events_subscribe(struct events *ev, const char *const *servers,
    size_t nservers, void (*suspend)(void *arg), void (*resume)(void *arg),
    void *arg)
{
	struct events_sub *s;

	s = sub_new(servers, nservers);
	if (s == NULL)
		return NULL;
	s->ev = ev;
	s->suspend = suspend;
	s->resume = resume;
	s->arg = arg;
	pthread_mutex_lock(&ev->mu);
	if (ev->closing || ev->nsubs >= EVENTS_MAX_SUBS) {
		pthread_mutex_unlock(&ev->mu);
		free(s->servers);
		free(s);
		return NULL;
	}
	s->next = ev->subs;
	ev->subs = s;
	ev->nsubs++;
	pthread_mutex_unlock(&ev->mu);
	return s;
}

ssize_t
events_read(struct events_sub *s, char *buf, size_t max)
{
	struct events *ev = s->ev;
	struct msg *m;
	size_t n = 0, k;

	pthread_mutex_lock(&ev->mu);
	while (s->count > 0 && n < max) {
		m = &s->ring[s->head];
		k = m->len - s->off;
		if (k > max - n)
			k = max - n;
		memcpy(buf + n, m->text + s->off, k);
		n += k;
		s->off += k;
		if (s->off == m->len) {
			s->head = (s->head + 1) % EVENTS_RING;
			s->count--;
			s->off = 0;
		}
	}
	if (n > 0)
		s->last_sent = clock_mono_ms();
	else if (!s->closed) {
		s->suspended = 1;
		s->suspend(s->arg);
	}
	pthread_mutex_unlock(&ev->mu);
	if (n == 0 && s->closed)
		return -1;
	return (ssize_t)n;
}

void
events_unsubscribe(struct events_sub *s)
{
	struct events *ev;
	struct events_sub **pp;

	if (s == NULL)
		return;
	ev = s->ev;
	pthread_mutex_lock(&ev->mu);
	for (pp = &ev->subs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			ev->nsubs--;
			break;
		}
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->mu);
	free(s->servers);
	free(s);
}

/* Wait up to ms for every subscriber to be gone; under ev->mu. */
static void
wait_gone(struct events *ev, int64_t ms)
{
	int64_t end = clock_mono_ms() + ms;
	struct timespec ts;

	while (ev->nsubs > 0 && clock_mono_ms() < end) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ev->cond, &ev->mu, &ts);
	}
}

void
events_close(struct events *ev, int64_t wait_ms)
{
	struct events_sub *s, *wake[EVENTS_MAX_SUBS];
	size_t nwake = 0;

	if (ev == NULL)
		return;
	pthread_mutex_lock(&ev->mu);
	ev->closing = 1;
	for (s = ev->subs; s != NULL; s = s->next) {
		s->closed = 1;
		if (sub_take_wake(s) && nwake < EVENTS_MAX_SUBS)
			wake[nwake++] = s;
	}
	pthread_mutex_unlock(&ev->mu);
	wake_all(wake, nwake);
	pthread_mutex_lock(&ev->mu);
	wait_gone(ev, wait_ms);
	pthread_mutex_unlock(&ev->mu);
}

void
events_free(struct events *ev)
{
	struct events_sub *s;

	if (ev == NULL)
		return;
	pthread_mutex_lock(&ev->mu);
	ev->stopping = 1;
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->mu);
	if (ev->started)
		pthread_join(ev->thread, NULL);
	while (ev->subs != NULL) {
		s = ev->subs;
		ev->subs = s->next;
		free(s->servers);
		free(s);
	}
	pthread_cond_destroy(&ev->cond);
	pthread_mutex_destroy(&ev->mu);
	free(ev);
}
