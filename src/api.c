/*
 * api.c - the local HTTP API.
 *
 * libmicrohttpd runs the sockets in its own threads; every handler here
 * answers from memory.  A caller that must wait for Plex (cold cache,
 * min_valid, a forced refresh) is suspended, registered as a waiter with
 * the engine, and answered when the engine resumes it.
 */
#include "ac-config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api.h"
#include "auth.h"
#include "clock.h"
#include "events.h"
#include "front.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "unixsock.h"

#define API_BODY_MAX 4096
#define API_CONN_MEMORY (8 * 1024)
#define API_CONN_LIMIT 1024
#define API_TIMEOUT 30		/* s, idle connections */
#define API_THREADS 1	/* measured: bench/README.md */

#define API_MAX_DAEMONS 8	/* listening sockets, one MHD daemon each */

struct api {
	struct engine *eng;
	struct events *events;	/* the /v1/events subscribers */
	atomic_int busy;	/* requests begun and not completed */
	struct MHD_Daemon *d[API_MAX_DAEMONS];
	size_t nd;
	int activated;		/* sockets passed by systemd */
	int port;
	char *remote;		/* allow_remote: the address, for Host */
	int require_header;	/* listen.require_header, as at start */
	struct unixsock us;	/* listen.unix_socket; fd -1 when none */
};

/* What a request keeps between calls of the handler. */
struct req {
	struct engine_waiter w;
	struct MHD_Connection *conn;
	int waited;
	int too_big;
	size_t len;
	char body[API_BODY_MAX + 1];
};

/* A GET seen once: its second call answers it (keeps keep-alive). */
static char seen_marker;

/* ------------------------------------------------------------ replies */

struct owned {
	size_t len;
	char data[];
};

static void
owned_free(void *cls)
{
	struct owned *o = cls;

	secret_wipe(o->data, o->len);
	free(o);
}

/* An answer of a copy of body, wiped when MHD is done with it. */
static struct MHD_Response *
response_new(const char *type, const char *body, size_t len)
{
	struct MHD_Response *r;
	struct owned *o;

	o = malloc(sizeof(*o) + len + 1);
	if (o == NULL)
		return NULL;
	o->len = len;
	memcpy(o->data, body, len);
	r = MHD_create_response_from_buffer_with_free_callback_cls(len,
	    o->data, owned_free, o);
	if (r == NULL) {
		owned_free(o);
		return NULL;
	}
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    type) != MHD_YES || MHD_add_response_header(r,
	    MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES) {
		MHD_destroy_response(r);
		return NULL;
	}
	return r;
}

/* Queue body as the answer; the copy is wiped when MHD is done. */
static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type,
    const char *body, size_t len, int64_t retry_after)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char ra[32];

	r = response_new(type, body, len);
	if (r == NULL)
		return MHD_NO;
	if (retry_after > 0) {
		snprintf(ra, sizeof(ra), "%lld",
		    (long long)((retry_after + 999) / 1000));
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static const char ctype_json[] = "application/json; charset=utf-8";

static enum MHD_Result
reply_json(struct MHD_Connection *c, unsigned status, json_t *j,
    int64_t retry_after)
{
	enum MHD_Result ret = MHD_NO;
	char *s;

	if (j == NULL)
		return MHD_NO;
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s != NULL) {
		ret = reply(c, status, ctype_json, s, strlen(s), retry_after);
		free(s);
	}
	return ret;
}

static enum MHD_Result
reply_error(struct MHD_Connection *c, unsigned status, const char *code,
    const char *message)
{
	return reply_json(c, status, json_pack("{s:{s:s,s:s}}", "error",
	    "code", code, "message", message), 0);
}

static enum MHD_Result
reply_405(struct MHD_Connection *c, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	static const char body[] = "{\"error\":{\"code\":\"method_not_allowed"
	    "\",\"message\":\"method not allowed on this route\"}}";

	r = MHD_create_response_from_buffer(sizeof(body) - 1,
	    (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype_json);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_unavailable(struct MHD_Connection *c, const struct engine_unavail *u)
{
	return reply_json(c, MHD_HTTP_SERVICE_UNAVAILABLE,
	    json_pack("{s:{s:s,s:s}}", "error", "code", u->code, "message",
	    u->message), u->retry_after);
}

static int
accepts_plain(struct MHD_Connection *c)
{
	const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_ACCEPT);

	return a != NULL && strstr(a, "text/plain") != NULL &&
	    strstr(a, "application/json") == NULL;
}

static const char ctype_plain[] = "text/plain; charset=utf-8";

#define TOKEN_BODY_MAX (PLEX_TOKEN_MAX + 2 * CLOCK_RFC3339_LEN + 256)

/*
 * The TOKEN answer (JSON, or the bare token when plain), built by hand:
 * a token is [A-Za-z0-9._~+/=-], nothing to escape.  Its length.
 */
static size_t
token_body(char buf[TOKEN_BODY_MAX], const char *name,
    const struct engine_token *t, int plain)
{
	char issued[CLOCK_RFC3339_LEN], expires[CLOCK_RFC3339_LEN];
	int n;

	if (plain) {
		n = snprintf(buf, TOKEN_BODY_MAX, "%s\n", t->token);
		return n < 0 ? 0 : (size_t)n;
	}
	clock_rfc3339(t->issued_at, issued);
	clock_rfc3339(t->expires_at, expires);
	n = snprintf(buf, TOKEN_BODY_MAX, "{\"server\":\"%s\",\"token\":"
	    "\"%s\",\"issued_at\":\"%s\",\"expires_at\":\"%s\","
	    "\"expires_in\":%lld}", name, t->token, issued, expires,
	    (long long)t->expires_in);
	return n < 0 ? 0 : (size_t)n;
}

static enum MHD_Result
reply_token(struct MHD_Connection *c, const char *name,
    struct engine_token *t)
{
	char buf[TOKEN_BODY_MAX];
	int plain = accepts_plain(c);
	enum MHD_Result ret;
	size_t n;

	n = token_body(buf, name, t, plain);
	ret = reply(c, MHD_HTTP_OK, plain ? ctype_plain : ctype_json, buf, n,
	    0);
	secret_wipe(buf, sizeof(buf));
	secret_wipe(t->token, sizeof(t->token));
	return ret;
}

/*
 * Both TOKEN answers for one token and second, ready to queue, kept
 * with the server (engine_keep) and shared by the connections of every
 * pool thread: MHD counts its own references to each response, refs
 * counts ours (the engine's and the callers' about to queue it).
 */
struct kept {
	_Atomic unsigned refs;
	struct MHD_Response *json, *plain;
};

static void
kept_hold(void *obj)
{
	struct kept *k = obj;

	atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);
}

static void
kept_release(void *obj)
{
	struct kept *k = obj;

	if (atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (k->json != NULL)
		MHD_destroy_response(k->json);
	if (k->plain != NULL)
		MHD_destroy_response(k->plain);
	free(k);
}

static const struct engine_kept_ops kept_ops = { kept_hold, kept_release };

/* Both answers for t, one reference held; NULL when out of memory. */
static struct kept *
kept_new(const char *name, const struct engine_token *t)
{
	char buf[TOKEN_BODY_MAX];
	struct kept *k;
	size_t n;

	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return NULL;
	atomic_init(&k->refs, 1);
	n = token_body(buf, name, t, 0);
	k->json = response_new(ctype_json, buf, n);
	n = token_body(buf, name, t, 1);
	k->plain = response_new(ctype_plain, buf, n);
	secret_wipe(buf, sizeof(buf));
	if (k->json == NULL || k->plain == NULL) {
		kept_release(k);
		return NULL;
	}
	return k;
}

/*
 * Serve the TOKEN answer: the one kept for this token and second, or
 * else a fresh one from the copy in t, then kept for the next callers.
 */
static enum MHD_Result
serve_token(struct api *a, struct MHD_Connection *c, const char *name,
    struct kept *k, struct engine_token *t)
{
	enum MHD_Result ret;

	if (k == NULL) {
		k = kept_new(name, t);
		if (k == NULL)
			return reply_token(c, name, t);
		secret_wipe(t->token, sizeof(t->token));
		kept_hold(k);
		engine_keep(a->eng, name, t, &kept_ops, k);
	}
	ret = MHD_queue_response(c, MHD_HTTP_OK, accepts_plain(c) ? k->plain :
	    k->json);
	kept_release(k);
	return ret;
}

static json_t *
json_time(int64_t wall_ms, int valid)
{
	char s[CLOCK_RFC3339_LEN];

	if (!valid)
		return json_null();
	clock_rfc3339(wall_ms, s);
	return json_string(s);
}

static json_t *
json_str_or_null(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *
status_json(const struct engine_status *st)
{
	json_t *err = json_null();

	if (st->last_error_at != 0)
		err = json_pack("{s:o,s:s}", "at",
		    json_time(st->last_error_at, 1), "message",
		    st->last_error);
	return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:s}",
	    "name", st->name, "url", st->url, "state", st->state,
	    "issued_at", json_time(st->issued_at, st->have),
	    "expires_at", json_time(st->expires_at, st->have),
	    "refresh_at", json_time(st->refresh_at, st->have),
	    "last_verified_at", json_time(st->last_verified_at,
	    st->last_verified_at != 0),
	    "machine_identifier", json_str_or_null(st->machine_id),
	    "server_version", json_str_or_null(st->version),
	    "consecutive_failures", (json_int_t)st->failures,
	    "last_error", err,
	    "restart_detection", st->restart_detection);
}

/* ---------------------------------------------- who may ask (auth.c) */

static enum MHD_Result
reply_401(struct MHD_Connection *c, int rc)
{
	static const char nokey[] = "{\"error\":{\"code\":\"missing_key\","
	    "\"message\":\"this route needs Authorization: Bearer KEY\"}}";
	static const char badkey[] = "{\"error\":{\"code\":\"bad_key\","
	    "\"message\":\"no client holds that key\"}}";
	const char *body = rc == AUTH_NO_KEY ? nokey : badkey;
	size_t len = rc == AUTH_NO_KEY ? sizeof(nokey) - 1 :
	    sizeof(badkey) - 1;
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body,
	    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype_json);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
	    "Bearer realm=\"plex-tokend\"");
	ret = MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, r);
	MHD_destroy_response(r);
	return ret;
}

/* The client's key, where its route carries it; -1 when none came. */
static int
api_key(struct MHD_Connection *c, const char *url, const char **key,
    size_t *len)
{
	if (strncmp(url, "/plex/", 6) == 0)
		return auth_plex_key(MHD_lookup_connection_value(c,
		    MHD_HEADER_KIND, "X-Plex-Token"),
		    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
		    "X-Plex-Token"), key, len);
	return auth_bearer(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION), key, len);
}

/* May the caller of c see server (NULL: no one server)? */
static int
api_authorize(struct api *a, struct MHD_Connection *c, const char *url,
    const char *server)
{
	const char *key = NULL;
	size_t len = 0;

	if (api_key(c, url, &key, &len) == -1) {
		key = NULL;
		len = 0;
	}
	return engine_authorize(a->eng, key, len, server);
}

/* Did c come in through a unix socket? */
static int
api_on_unix(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL || getsockname(ci->connect_fd, (struct sockaddr *)&ss,
	    &sl) == -1)
		return 0;
	return ss.ss_family == AF_UNIX;
}

/*
 * What every request passes before its route: the Host header, the
 * X-Plex-Tokend header when required, the client's key.  1 when it may
 * go on; 0 when the refusal is queued and *ret is MHD's verdict.
 */
static int
api_gate(struct api *a, struct MHD_Connection *c, const char *url,
    const char *server, enum MHD_Result *ret)
{
	int rc;

	if (!auth_check_host(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_HOST), a->remote) && !api_on_unix(c)) {
		*ret = reply_error(c, MHD_HTTP_FORBIDDEN, "bad_host", "the "
		    "Host header must name a loopback address or localhost");
		return 0;
	}
	if (a->require_header && strcmp(url, "/healthz") != 0 &&
	    !auth_check_marker(MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, "X-Plex-Tokend"))) {
		*ret = reply_error(c, MHD_HTTP_FORBIDDEN, "header_required",
		    "this daemon requires the header X-Plex-Tokend: 1");
		return 0;
	}
	if (!auth_needs_key(url))
		return 1;
	rc = api_authorize(a, c, url, server);
	if (rc == AUTH_OK)
		return 1;
	if (rc == AUTH_FORBIDDEN)
		*ret = reply_error(c, MHD_HTTP_FORBIDDEN, "forbidden",
		    "this key may not ask about that server");
	else
		*ret = reply_401(c, rc);
	return 0;
}

/* ------------------------------------------------------------- routes */

static void
req_suspend(void *arg)
{
	struct req *r = arg;

	MHD_suspend_connection(r->conn);
}

static void
req_resume(void *arg)
{
	struct req *r = arg;

	r->waited = 1;
	MHD_resume_connection(r->conn);
}

/* The request's state, made on first need (most GETs never need it). */
static struct req *
req_get(struct MHD_Connection *c, void **con_cls)
{
	struct req *r;

	if (*con_cls != NULL && *con_cls != &seen_marker)
		return *con_cls;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->conn = c;
	r->w.suspend = req_suspend;
	r->w.resume = req_resume;
	r->w.arg = r;
	*con_cls = r;
	return r;
}

static enum MHD_Result
route_healthz(struct MHD_Connection *c)
{
	static const char ok[] = "{\"status\":\"ok\"}";

	return reply(c, MHD_HTTP_OK, ctype_json, ok, sizeof(ok) - 1, 0);
}

static enum MHD_Result
route_readyz(struct api *a, struct MHD_Connection *c)
{
	struct engine_status st;
	json_t *missing = json_array();
	size_t i;

	/* a client's readiness is that of the servers it may see */
	for (i = 0; engine_status_at(a->eng, i, &st) == 0; i++)
		if (!st.ready && api_authorize(a, c, "/readyz", st.name) ==
		    AUTH_OK)
			json_array_append_new(missing, json_string(st.name));
	if (json_array_size(missing) == 0) {
		json_decref(missing);
		return reply_json(c, MHD_HTTP_OK,
		    json_pack("{s:s}", "status", "ready"), 0);
	}
	return reply_json(c, MHD_HTTP_SERVICE_UNAVAILABLE,
	    json_pack("{s:s,s:o}", "status", "not_ready", "servers", missing),
	    0);
}

static enum MHD_Result
route_servers(struct api *a, struct MHD_Connection *c)
{
	struct engine_status st;
	json_t *list = json_array();
	size_t i;

	for (i = 0; engine_status_at(a->eng, i, &st) == 0; i++)
		if (api_authorize(a, c, "/v1/servers", st.name) == AUTH_OK)
			json_array_append_new(list, status_json(&st));
	return reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "servers", list),
	    0);
}

static enum MHD_Result
route_server(struct api *a, struct MHD_Connection *c, const char *name)
{
	struct engine_status st;

	if (engine_status(a->eng, name, &st) == -1)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "unknown_server",
		    "no server of that name is configured");
	return reply_json(c, MHD_HTTP_OK, status_json(&st), 0);
}

/* The tail of both token routes: serve, wait, or say why not. */
static enum MHD_Result
token_answer(struct MHD_Connection *c, const char *name,
    enum engine_answer ans, struct engine_token *t,
    const struct engine_unavail *u)
{
	switch (ans) {
	case ENGINE_SERVE:
		return reply_token(c, name, t);
	case ENGINE_WAIT:
		return MHD_YES;
	case ENGINE_UNAVAILABLE:
		return reply_unavailable(c, u);
	case ENGINE_TOO_LONG:
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_query",
		    "min_valid must be shorter than the token lifetime");
	default:
		return reply_error(c, MHD_HTTP_NOT_FOUND, "unknown_server",
		    "no server of that name is configured");
	}
}

static enum MHD_Result
route_token(struct api *a, struct MHD_Connection *c, const char *name,
    void **con_cls)
{
	const char *mv = MHD_lookup_connection_value(c,
	    MHD_GET_ARGUMENT_KIND, "min_valid");
	struct engine_unavail u;
	struct engine_token t;
	enum engine_answer ans;
	int64_t min_valid = 0;
	void *kept = NULL;
	struct req *r;

	if (mv != NULL && cfg_parse_duration(mv, &min_valid) == -1)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_query",
		    "min_valid: expected a duration such as 90s, 5m or 1h");
	r = *con_cls != &seen_marker ? *con_cls : NULL;
	ans = engine_token_kept(a->eng, name, min_valid, r != NULL &&
	    r->waited, r != NULL ? &r->w : NULL, &kept, &t, &u);
	if (ans == ENGINE_WAIT && r == NULL) {
		/* first time this caller must wait: now it needs a waiter */
		r = req_get(c, con_cls);
		if (r == NULL)
			return MHD_NO;
		ans = engine_token_kept(a->eng, name, min_valid, 0, &r->w,
		    &kept, &t, &u);
	}
	if (ans == ENGINE_SERVE)
		return serve_token(a, c, name, kept, &t);
	return token_answer(c, name, ans, &t, &u);
}

/* The body of a refresh: empty, or {"rejected":"TOKEN"}. */
static int
parse_rejected(struct req *r, const char **tok, size_t *len)
{
	json_t *j, *v;

	*tok = NULL;
	*len = 0;
	if (r->len == 0)
		return 0;
	j = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		return -1;
	}
	v = json_object_get(j, "rejected");
	if (v != NULL && (!json_is_string(v) ||
	    json_string_length(v) > PLEX_TOKEN_MAX)) {
		json_decref(j);
		return -1;
	}
	if (v != NULL) {
		/* keep the bytes in our own buffer, which is wiped */
		*len = json_string_length(v);
		memcpy(r->body, json_string_value(v), *len);
		*tok = r->body;
	}
	json_decref(j);
	return 0;
}

static enum MHD_Result
route_refresh(struct api *a, struct MHD_Connection *c, const char *name,
    struct req *r)
{
	struct engine_unavail u;
	struct engine_token t;
	enum engine_answer ans;
	const char *rej = NULL;
	size_t rejlen = 0;

	if (r->too_big)
		return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
		    "body_too_large", "request bodies are limited to 4 KiB");
	if (!r->waited && parse_rejected(r, &rej, &rejlen) == -1)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "bad_body",
		    "expected an empty body or {\"rejected\":\"TOKEN\"}");
	if (r->waited)
		r->len = 0;
	ans = engine_refresh(a->eng, name, rej, rejlen, r->waited, &r->w,
	    &t, &u);
	return token_answer(c, name, ans, &t, &u);
}

/* ------------------------------------- event stream (events.c), metrics */

/*
 * An event stream with nothing to send is suspended, so it holds no
 * thread of the pool; events.c resumes it when a message comes.
 */
static void
sse_suspend(void *arg)
{
	MHD_suspend_connection(arg);
}

static void
sse_resume(void *arg)
{
	MHD_resume_connection(arg);
}

static ssize_t
sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	ssize_t n = events_read(cls, buf, max);

	(void)pos;
	return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void
sse_free(void *cls)
{
	events_unsubscribe(cls);
}

/* A subscription to the servers the caller may see; NULL if none. */
static struct events_sub *
sse_subscribe(struct api *a, struct MHD_Connection *c)
{
	struct engine_status st;
	struct events_sub *sub = NULL;
	char (*names)[CFG_NAME_MAX + 1] = NULL, (*grown)[CFG_NAME_MAX + 1];
	const char **ptrs;
	size_t i, n = 0;

	for (i = 0; engine_status_at(a->eng, i, &st) == 0; i++) {
		if (api_authorize(a, c, "/v1/events", st.name) != AUTH_OK)
			continue;
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (grown == NULL)
			break;
		names = grown;
		memcpy(names[n++], st.name, sizeof(st.name));
	}
	ptrs = calloc(n + 1, sizeof(*ptrs));
	for (i = 0; ptrs != NULL && i < n; i++)
		ptrs[i] = names[i];
	if (ptrs != NULL)
		sub = events_subscribe(a->events, ptrs, n, sse_suspend,
		    sse_resume, c);
	free(ptrs);
	free(names);
	return sub;
}

static enum MHD_Result
route_events(struct api *a, struct MHD_Connection *c)
{
	struct events_sub *sub = sse_subscribe(a, c);
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (sub == NULL)
		return reply_json(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    json_pack("{s:{s:s,s:s}}", "error", "code",
		    "too_many_subscribers", "message", "the event stream has "
		    "as many subscribers as it takes; retry later"),
		    EVENTS_RETRY_MS);
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
	    EVENTS_MSG_MAX, sse_read, sub, sse_free);
	if (r == NULL) {
		events_unsubscribe(sub);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/event-stream; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
route_metrics(struct api *a, struct MHD_Connection *c)
{
	enum MHD_Result ret;
	size_t len = 0;
	char *text = metrics_render(a->eng, &len);

	if (text == NULL)
		return MHD_NO;
	ret = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; "
	    "charset=utf-8", text, len, 0);
	free(text);
	return ret;
}

/* ---------------------------------------------------------- dispatch */

enum route {
	R_NONE, R_HEALTHZ, R_READYZ, R_SERVERS, R_SERVER, R_TOKEN,
	R_REFRESH, R_EVENTS, R_METRICS
};

/* The route templates of plex_tokend_http_requests_total. */
static const char *const route_label[] = {
	[R_NONE] = "other", [R_HEALTHZ] = "/healthz",
	[R_READYZ] = "/readyz", [R_SERVERS] = "/v1/servers",
	[R_SERVER] = "/v1/servers/{name}",
	[R_TOKEN] = "/v1/servers/{name}/token",
	[R_REFRESH] = "/v1/servers/{name}/token/refresh",
	[R_EVENTS] = "/v1/events", [R_METRICS] = "/metrics"
};

/* Split /v1/servers/NAME[/token[/refresh]]. */
static enum route
route_of(const char *url, char name[CFG_NAME_MAX + 1])
{
	static const char pfx[] = "/v1/servers/";
	const char *p, *slash;
	size_t n;

	if (strcmp(url, "/healthz") == 0)
		return R_HEALTHZ;
	if (strcmp(url, "/readyz") == 0)
		return R_READYZ;
	if (strcmp(url, "/v1/servers") == 0)
		return R_SERVERS;
	if (strcmp(url, "/v1/events") == 0)
		return R_EVENTS;
	if (strcmp(url, "/metrics") == 0)
		return R_METRICS;
	if (strncmp(url, pfx, sizeof(pfx) - 1) != 0)
		return R_NONE;
	p = url + sizeof(pfx) - 1;
	slash = strchr(p, '/');
	n = slash != NULL ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || n > CFG_NAME_MAX)
		return R_NONE;
	memcpy(name, p, n);
	name[n] = '\0';
	if (!cfg_valid_name(name))
		return R_NONE;
	if (slash == NULL)
		return R_SERVER;
	if (strcmp(slash, "/token") == 0)
		return R_TOKEN;
	if (strcmp(slash, "/token/refresh") == 0)
		return R_REFRESH;
	return R_NONE;
}

int
api_route(const char *url, char name[CFG_NAME_MAX + 1])
{
	return (int)route_of(url, name);
}

/* The /plex/ front and the resources routes (front.c); waits as above. */
static enum MHD_Result
api_front(struct api *a, struct MHD_Connection *c, enum front_route fr,
    const char *name, const char *method, void **con_cls)
{
	struct req *r = *con_cls != &seen_marker ? *con_cls : NULL;
	struct front_call fc = { .eng = a->eng, .conn = c, .route = fr,
	    .name = name, .method = method };
	enum MHD_Result ret;

	fc.w = r != NULL ? &r->w : NULL;
	fc.waited = r != NULL && r->waited;
	ret = front_handle(&fc);
	if (!fc.again)
		return ret;
	r = req_get(c, con_cls);	/* it must wait: now it needs one */
	if (r == NULL)
		return MHD_NO;
	fc.w = &r->w;
	fc.waited = 0;
	return front_handle(&fc);
}

static enum MHD_Result
dispatch(struct api *a, struct MHD_Connection *c, const char *url,
    const char *method, void **con_cls)
{
	char name[CFG_NAME_MAX + 1] = "";
	enum route rt = route_of(url, name);
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	enum MHD_Result ret;

	if (!api_gate(a, c, url, rt != R_NONE && name[0] != '\0' ? name :
	    NULL, &ret))
		return ret;
	if (rt == R_NONE && front_route_of(url, name) != FRONT_NONE)
		return api_front(a, c, front_route_of(url, name), name, method,
		    con_cls);
	if (rt == R_NONE)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "not_found",
		    "no such route");
	if (rt == R_REFRESH && strcmp(method, "POST") != 0)
		return reply_405(c, "POST");
	if (rt != R_REFRESH && !get)
		return reply_405(c, "GET, HEAD");
	switch (rt) {
	case R_HEALTHZ:
		return route_healthz(c);
	case R_READYZ:
		return route_readyz(a, c);
	case R_SERVERS:
		return route_servers(a, c);
	case R_SERVER:
		return route_server(a, c, name);
	case R_TOKEN:
		return route_token(a, c, name, con_cls);
	case R_EVENTS:
		return route_events(a, c);
	case R_METRICS:
		return route_metrics(a, c);
	default:
		return route_refresh(a, c, name, *con_cls);
	}
}

/* Gather a request body, at most API_BODY_MAX bytes of it. */
static enum MHD_Result
take_body(struct req *r, const char *data, size_t *size)
{
	if (r->len + *size > API_BODY_MAX)
		r->too_big = 1;
	else {
		memcpy(r->body + r->len, data, *size);
		r->len += *size;
	}
	*size = 0;
	return MHD_YES;
}

/* Count the answer queued for url, if one was (not while it waits). */
static void
api_count(struct MHD_Connection *c, const char *url)
{
	const union MHD_ConnectionInfo *ci;
	char name[CFG_NAME_MAX + 1];
	enum route rt = route_of(url, name);
	const char *label = route_label[R_NONE];

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
	if (ci == NULL || ci->http_status == 0)
		return;
	if ((size_t)rt < sizeof(route_label) / sizeof(route_label[0]) &&
	    route_label[rt] != NULL)
		label = route_label[rt];
	metrics_http(label, ci->http_status);
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct api *a = cls;
	enum MHD_Result ret;
	struct req *r;

	if (*con_cls == NULL) {
		atomic_fetch_add(&a->busy, 1);
		if (strcmp(method, "POST") != 0) {
			*con_cls = &seen_marker;
			return MHD_YES;
		}
		r = req_get(c, con_cls);
		return r != NULL ? MHD_YES : MHD_NO;
	}
	if (*upload_size != 0) {
		if (*con_cls == &seen_marker) {
			*upload_size = 0;	/* a body where none belongs */
			return MHD_YES;
		}
		return take_body(*con_cls, upload, upload_size);
	}
	if (log_enabled(LOGL_DEBUG))
		log_debug("api: %s %s", method, url);
	ret = dispatch(a, c, url, method, con_cls);
	api_count(c, url);
	return ret;
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct api *a = cls;
	struct req *r = *con_cls;

	if (r == NULL)
		return;
	atomic_fetch_sub(&a->busy, 1);
	if (*con_cls == &seen_marker) {
		*con_cls = NULL;
		return;
	}
	secret_wipe(r->body, sizeof(r->body));
	free(r);
	*con_cls = NULL;
}

/* ------------------------------------------------------------- daemon */

static int
api_sockaddr(const char *address, int port, struct sockaddr_storage *ss,
    unsigned *flags)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strcmp(address, "localhost") == 0)
		address = "127.0.0.1";
	if (inet_pton(AF_INET, address, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*flags |= MHD_USE_IPv6;
		return 0;
	}
	return -1;
}

static int
api_bound_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *info;

	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	return info != NULL ? info->port : -1;
}

/* One more MHD daemon: on listening socket fd, or else bound to sa. */
static int
api_daemon(struct api *a, unsigned flags, int fd, struct sockaddr *sa)
{
	struct MHD_OptionItem where[] = {
		{ MHD_OPTION_SOCK_ADDR, 0, sa },
		{ MHD_OPTION_END, 0, NULL }
	};
	struct MHD_Daemon *d;

	if (a->nd == API_MAX_DAEMONS)
		return -1;
	if (fd >= 0) {
		where[0].option = MHD_OPTION_LISTEN_SOCKET;
		where[0].value = fd;
		where[0].ptr_value = NULL;
	}
	d = MHD_start_daemon(flags, 0, NULL, NULL, handler, a,
	    MHD_OPTION_ARRAY, where,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)API_THREADS,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONN_MEMORY,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, a,
	    MHD_OPTION_END);
	if (d == NULL)
		return -1;
	a->d[a->nd++] = d;
	if (a->port <= 0)
		a->port = api_bound_port(d);
	return 0;
}

/* The sockets systemd passed (socket activation), fds 3 and up. */
static int
api_listen_passed(struct api *a, int n, char *err, size_t errlen)
{
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
	int i;

	for (i = 0; i < n; i++)
		if (api_daemon(a, flags, NOTIFY_LISTEN_FDS_START + i,
		    NULL) == -1) {
			snprintf(err, errlen, "cannot serve socket %d of %d "
			    "passed by systemd (at most %d)", i + 1, n,
			    API_MAX_DAEMONS);
			return -1;
		}
	a->activated = n;
	return 0;
}

/* listen.unix_socket, in addition to TCP (unixsock.c makes it). */
static int
api_listen_unix(struct api *a, const struct config *cfg, char *err,
    size_t errlen)
{
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;

	if (unixsock_open(&a->us, cfg->listen.unix_socket,
	    cfg->listen.socket_mode, err, errlen) == -1)
		return -1;
	if (api_daemon(a, flags, a->us.fd, NULL) == -1) {
		snprintf(err, errlen, "cannot serve the unix socket %s",
		    cfg->listen.unix_socket);
		unixsock_remove(&a->us);
		return -1;
	}
	return 0;
}

/* The listen section of the configuration. */
static int
api_listen_cfg(struct api *a, const struct config *cfg, char *err,
    size_t errlen)
{
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
	struct sockaddr_storage ss;

	if (api_sockaddr(cfg->listen.address, cfg->listen.port, &ss,
	    &flags) == -1) {
		snprintf(err, errlen, "listen.address %s: not an IP address",
		    cfg->listen.address);
		return -1;
	}
	if (api_daemon(a, flags, -1, (struct sockaddr *)&ss) == -1) {
		snprintf(err, errlen, "cannot listen on %s port %d (in use, "
		    "or not an address of this host?)", cfg->listen.address,
		    cfg->listen.port);
		return -1;
	}
	if (cfg->listen.unix_socket != NULL)
		return api_listen_unix(a, cfg, err, errlen);
	return 0;
}

struct api *
api_start(struct engine *e, struct events *ev, const struct config *cfg,
    char *err, size_t errlen)
{
	struct api *a;
	int n, rc;

	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->eng = e;
	a->events = ev;
	a->us.fd = -1;
	a->require_header = cfg->listen.require_header;
	if (cfg->listen.allow_remote)
		a->remote = strdup(cfg->listen.address);
	n = notify_listen_fds();
	if (n > 0)
		rc = api_listen_passed(a, n, err, errlen);
	else
		rc = api_listen_cfg(a, cfg, err, errlen);
	if (rc == -1) {
		api_stop(a);
		return NULL;
	}
	return a;
}

int
api_port(const struct api *a)
{
	return a->port;
}

int
api_activated(const struct api *a)
{
	return a->activated;
}

void
api_quiesce(struct api *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nd; i++)
		MHD_quiesce_daemon(a->d[i]);
}

int
api_drain(struct api *a, int64_t timeout_ms)
{
	int64_t end = clock_mono_ms() + timeout_ms;
	struct timespec pause = { 0, 10 * 1000000L };

	while (atomic_load(&a->busy) > 0) {
		if (clock_mono_ms() >= end)
			return -1;
		nanosleep(&pause, NULL);
	}
	return 0;
}

void
api_stop(struct api *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nd; i++)
		MHD_stop_daemon(a->d[i]);
	unixsock_remove(&a->us);
	free(a->remote);
	free(a);
}
