/*
 * metrics.c - counters kept for GET /metrics, and their exposition in
 * the Prometheus text format (version 0.0.4).
 *
 * Per-server counters (refreshes, upstream requests and their
 * durations) are written by the engine thread only, under one mutex
 * that a scrape also takes.  HTTP counters are bumped by the API
 * threads with one atomic add; a route's row is claimed once, under
 * a mutex, the first time it is seen.
 */
#include "ac-config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "metrics.h"

#define METRICS_ROUTES 32	/* route templates */
#define METRICS_CODES 600	/* HTTP status codes 0..599 */
#define METRICS_ENDPOINT_MAX 16

static const double buckets[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct mcode {
	char endpoint[METRICS_ENDPOINT_MAX];
	long code;
	uint64_t n;
};

struct msrv {
	char name[CFG_NAME_MAX + 1];
	uint64_t refresh_ok, refresh_error;
	struct mcode *codes;
	size_t ncodes;
	uint64_t hist[NBUCKETS + 1];	/* per bucket, not cumulative */
	uint64_t count;
	double sum;
};

struct mroute {
	_Atomic(const char *) tmpl;
	_Atomic uint64_t n[METRICS_CODES];
};

static pthread_mutex_t metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static struct msrv **msrvs;
static size_t nmsrvs;

static pthread_mutex_t route_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mroute routes[METRICS_ROUTES];

/* ----------------------------------------------------------- counters */

/* The named server's counters, made on first need; under metrics_mu. */
static struct msrv *
msrv_get(const char *name)
{
	struct msrv **grown, *m;
	size_t i;

	for (i = 0; i < nmsrvs; i++)
		if (strcmp(msrvs[i]->name, name) == 0)
			return msrvs[i];
	m = calloc(1, sizeof(*m));
	grown = realloc(msrvs, (nmsrvs + 1) * sizeof(*msrvs));
	if (m == NULL || grown == NULL) {
		free(m);
		if (grown != NULL)
			msrvs = grown;
		return NULL;
	}
	msrvs = grown;
	snprintf(m->name, sizeof(m->name), "%s", name);
	msrvs[nmsrvs++] = m;
	return m;
}

static void
msrv_code(struct msrv *m, const char *endpoint, long code)
{
	struct mcode *grown;
	size_t i;

	for (i = 0; i < m->ncodes; i++)
		if (m->codes[i].code == code &&
		    strcmp(m->codes[i].endpoint, endpoint) == 0) {
			m->codes[i].n++;
			return;
		}
	grown = realloc(m->codes, (m->ncodes + 1) * sizeof(*m->codes));
	if (grown == NULL)
		return;
	m->codes = grown;
	snprintf(grown[m->ncodes].endpoint, METRICS_ENDPOINT_MAX, "%s",
	    endpoint);
	grown[m->ncodes].code = code;
	grown[m->ncodes].n = 1;
	m->ncodes++;
}

void
metrics_upstream(const char *server, const char *endpoint, long code,
    double seconds)
{
	struct msrv *m;
	size_t b;

	if (code < 0 || code >= METRICS_CODES)
		code = 0;
	pthread_mutex_lock(&metrics_mu);
	m = msrv_get(server);
	if (m != NULL) {
		msrv_code(m, endpoint, code);
		for (b = 0; b < NBUCKETS && seconds > buckets[b]; b++)
			continue;
		m->hist[b]++;
		m->count++;
		m->sum += seconds;
	}
	pthread_mutex_unlock(&metrics_mu);
}

void
metrics_refresh(const char *server, int ok)
{
	struct msrv *m;

	pthread_mutex_lock(&metrics_mu);
	m = msrv_get(server);
	if (m != NULL && ok)
		m->refresh_ok++;
	else if (m != NULL)
		m->refresh_error++;
	pthread_mutex_unlock(&metrics_mu);
}

/* The row of route, claimed on first sight; NULL when the table is full. */
static struct mroute *
mroute_get(const char *route)
{
	struct mroute *r = NULL;
	const char *t;
	size_t i;

	for (i = 0; i < METRICS_ROUTES; i++) {
		t = atomic_load(&routes[i].tmpl);
		if (t == route)
			return &routes[i];
		if (t == NULL)
			break;
	}
	pthread_mutex_lock(&route_mu);
	for (i = 0; i < METRICS_ROUTES && r == NULL; i++) {
		t = atomic_load(&routes[i].tmpl);
		if (t == route)
			r = &routes[i];
		else if (t == NULL) {
			atomic_store(&routes[i].tmpl, route);
			r = &routes[i];
		}
	}
	pthread_mutex_unlock(&route_mu);
	return r;
}

void
metrics_http(const char *route, unsigned code)
{
	struct mroute *r = mroute_get(route);

	if (r != NULL)
		atomic_fetch_add(&r->n[code < METRICS_CODES ? code : 0], 1);
}

/* ---------------------------------------------------------- exposition */

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void
buf_add(struct buf *b, const char *fmt, ...) __attribute__((format(printf,
    2, 3)));

static void
buf_add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t cap;
	char *grown;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n < b->cap - b->len) {
		b->len += n < 0 ? 0 : (size_t)n;
		return;
	}
	cap = (b->cap + (size_t)n + 1) * 2;
	grown = realloc(b->p, cap);
	if (grown == NULL) {
		b->oom = 1;
		return;
	}
	b->p = grown;
	b->cap = cap;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* A label value with \ " and newline escaped, into a static-size out. */
static const char *
esc(const char *v, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *v != '\0' && o + 3 < outlen; v++) {
		if (*v == '\\' || *v == '"' || *v == '\n') {
			out[o++] = '\\';
			out[o++] = *v == '\n' ? 'n' : *v;
		} else
			out[o++] = *v;
	}
	out[o] = '\0';
	return out;
}

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_add(b, "# HELP plex_tokend_%s %s\n# TYPE plex_tokend_%s %s\n",
	    name, help, name, type);
}

/* Gauges read from the engine now; makes every server's counters. */
static void
render_gauges(struct buf *b, struct engine *e)
{
	struct engine_status st;
	char n[2 * CFG_NAME_MAX + 2];
	size_t i;

	family(b, "token_expiry_timestamp_seconds", "gauge",
	    "When the cached transient token is assumed to expire (Unix "
	    "time).");
	for (i = 0; engine_status_at(e, i, &st) == 0; i++)
		if (st.have)
			buf_add(b, "plex_tokend_token_expiry_timestamp_seconds"
			    "{server=\"%s\"} %lld\n", esc(st.name, n,
			    sizeof(n)), (long long)(st.expires_at / 1000));
	family(b, "server_up", "gauge",
	    "1 while the server is ready or renewing its token, else 0.");
	for (i = 0; engine_status_at(e, i, &st) == 0; i++) {
		buf_add(b, "plex_tokend_server_up{server=\"%s\"} %d\n",
		    esc(st.name, n, sizeof(n)),
		    strcmp(st.state, "ready") == 0 ||
		    strcmp(st.state, "refreshing") == 0);
		pthread_mutex_lock(&metrics_mu);
		msrv_get(st.name);
		pthread_mutex_unlock(&metrics_mu);
	}
}

/* The event stream (restart detection) of each server. */
static void
render_stream(struct buf *b, struct engine *e)
{
	struct engine_status st;
	char n[2 * CFG_NAME_MAX + 2];
	size_t i;

	family(b, "event_stream_up", "gauge",
	    "1 while the server's event stream is followed, else 0.");
	for (i = 0; engine_status_at(e, i, &st) == 0; i++)
		buf_add(b, "plex_tokend_event_stream_up{server=\"%s\"} %d\n",
		    esc(st.name, n, sizeof(n)), st.stream_open);
	family(b, "event_stream_reconnects_total", "counter",
	    "Reconnections of the event stream after it was lost.");
	for (i = 0; engine_status_at(e, i, &st) == 0; i++)
		buf_add(b, "plex_tokend_event_stream_reconnects_total"
		    "{server=\"%s\"} %lu\n", esc(st.name, n, sizeof(n)),
		    st.stream_reconnects);
}

static void
render_refresh(struct buf *b)
{
	char n[2 * CFG_NAME_MAX + 2];
	size_t i;

	family(b, "refresh_total", "counter",
	    "Fetches of a new transient token, by result.");
	for (i = 0; i < nmsrvs; i++) {
		esc(msrvs[i]->name, n, sizeof(n));
		buf_add(b, "plex_tokend_refresh_total{server=\"%s\","
		    "result=\"ok\"} %llu\n", n,
		    (unsigned long long)msrvs[i]->refresh_ok);
		buf_add(b, "plex_tokend_refresh_total{server=\"%s\","
		    "result=\"error\"} %llu\n", n,
		    (unsigned long long)msrvs[i]->refresh_error);
	}
}

static void
render_upstream(struct buf *b)
{
	char n[2 * CFG_NAME_MAX + 2], ep[2 * METRICS_ENDPOINT_MAX];
	const struct mcode *c;
	size_t i, k;

	family(b, "upstream_requests_total", "counter",
	    "Requests to Plex, by endpoint and HTTP status (0: none).");
	for (i = 0; i < nmsrvs; i++) {
		esc(msrvs[i]->name, n, sizeof(n));
		for (k = 0; k < msrvs[i]->ncodes; k++) {
			c = &msrvs[i]->codes[k];
			buf_add(b, "plex_tokend_upstream_requests_total{"
			    "server=\"%s\",endpoint=\"%s\",code=\"%ld\"} "
			    "%llu\n", n, esc(c->endpoint, ep, sizeof(ep)),
			    c->code, (unsigned long long)c->n);
		}
	}
}

static void
render_histogram(struct buf *b)
{
	static const char h[] = "plex_tokend_upstream_request_duration_seconds";
	char n[2 * CFG_NAME_MAX + 2];
	const struct msrv *m;
	unsigned long long cum;
	size_t i, k;

	family(b, "upstream_request_duration_seconds", "histogram",
	    "Duration of requests to Plex.");
	for (i = 0; i < nmsrvs; i++) {
		m = msrvs[i];
		esc(m->name, n, sizeof(n));
		cum = 0;
		for (k = 0; k < NBUCKETS; k++) {
			cum += m->hist[k];
			buf_add(b, "%s_bucket{server=\"%s\",le=\"%g\"} %llu\n",
			    h, n, buckets[k], cum);
		}
		buf_add(b, "%s_bucket{server=\"%s\",le=\"+Inf\"} %llu\n", h,
		    n, (unsigned long long)m->count);
		buf_add(b, "%s_sum{server=\"%s\"} %.6f\n", h, n, m->sum);
		buf_add(b, "%s_count{server=\"%s\"} %llu\n", h, n,
		    (unsigned long long)m->count);
	}
}

static void
render_http(struct buf *b)
{
	char r[256];
	const char *t;
	uint64_t v;
	size_t i, c;

	family(b, "http_requests_total", "counter",
	    "Answers of the local API, by route template and status.");
	for (i = 0; i < METRICS_ROUTES; i++) {
		t = atomic_load(&routes[i].tmpl);
		if (t == NULL)
			break;
		esc(t, r, sizeof(r));
		for (c = 0; c < METRICS_CODES; c++) {
			v = atomic_load(&routes[i].n[c]);
			if (v != 0)
				buf_add(b, "plex_tokend_http_requests_total{"
				    "route=\"%s\",code=\"%zu\"} %llu\n", r, c,
				    (unsigned long long)v);
		}
	}
}

char *
metrics_render(struct engine *e, size_t *len)
{
	struct buf b = { NULL, 0, 0, 0 };
	char v[128];

	b.p = malloc(4096);
	if (b.p == NULL)
		return NULL;
	b.cap = 4096;
	b.p[0] = '\0';
	family(&b, "build_info", "gauge", "The version of plex-tokend.");
	buf_add(&b, "plex_tokend_build_info{version=\"%s\"} 1\n",
	    esc(PACKAGE_VERSION, v, sizeof(v)));
	render_gauges(&b, e);
	render_stream(&b, e);
	pthread_mutex_lock(&metrics_mu);
	render_refresh(&b);
	render_upstream(&b);
	render_histogram(&b);
	pthread_mutex_unlock(&metrics_mu);
	render_http(&b);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
