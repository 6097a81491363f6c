/*
 * front.c - the Plex-compatible front and the resources routes.
 *
 * An unchanged Plex SDK pointed at http://127.0.0.1:PORT/plex/NAME asks
 * /security/token and /security/resources as it would ask a PMS, with
 * the client key in X-Plex-Token; it gets Plex's own answer shapes,
 * JSON or XML by Accept, and Plex's small HTML pages for errors.
 * Answers are always made anew from parsed data, never passed through,
 * so they are well-formed whatever the server sent.
 *
 * The query string may carry a key (X-Plex-Token): nothing here logs.
 */
#include "ac-config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "auth.h"
#include "clock.h"
#include "front.h"
#include "resources.h"
#include "secret.h"

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static const char ctype_json[] = "application/json; charset=utf-8";
static const char ctype_xml[] = "text/xml;charset=utf-8";
static const char ctype_html[] = "text/html; charset=utf-8";

/* ------------------------------------------------------------ buffers */

/* A growing string; grows by copying, so no stale copy is left. */
struct fbuf {
	char *p;
	size_t len;
	size_t cap;
	int err;
};

void
front_free(char *buf)
{
	if (buf == NULL)
		return;
	explicit_bzero(buf, malloc_usable_size(buf));
	free(buf);
}

static void
fb_add(struct fbuf *b, const char *s, size_t n)
{
	size_t cap;
	char *np;

	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap == 0 ? 256 : b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = malloc(cap);
		if (np == NULL) {
			b->err = 1;
			return;
		}
		if (b->p != NULL)
			memcpy(np, b->p, b->len);
		front_free(b->p);
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
fb_str(struct fbuf *b, const char *s)
{
	fb_add(b, s, strlen(s));
}

static void
fb_escaped(struct fbuf *b, const char *s)
{
	const char *run = s, *ent;

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			ent = "&amp;";
			break;
		case '<':
			ent = "&lt;";
			break;
		case '>':
			ent = "&gt;";
			break;
		case '"':
			ent = "&quot;";
			break;
		case '\'':
			ent = "&apos;";
			break;
		default:
			continue;
		}
		fb_add(b, run, (size_t)(s - run));
		fb_str(b, ent);
		run = s + 1;
	}
	fb_add(b, run, (size_t)(s - run));
}

/* ` name="value"`, the value escaped. */
static void
fb_attr(struct fbuf *b, const char *name, const char *value)
{
	fb_str(b, " ");
	fb_str(b, name);
	fb_str(b, "=\"");
	fb_escaped(b, value);
	fb_str(b, "\"");
}

static void
fb_attr_int(struct fbuf *b, const char *name, long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%ld", v);
	fb_attr(b, name, num);
}

static char *
fb_done(struct fbuf *b, size_t *outlen)
{
	if (b->err || b->p == NULL) {
		front_free(b->p);
		return NULL;
	}
	if (outlen != NULL)
		*outlen = b->len;
	return b->p;
}

/* json_dumps' string, copied into a buffer front_free() wipes. */
static char *
json_out(json_t *j, size_t *outlen)
{
	struct fbuf b = { 0 };
	char *s;

	if (j == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (s == NULL)
		return NULL;
	fb_str(&b, s);
	secret_wipe(s, strlen(s));
	free(s);
	return fb_done(&b, outlen);
}

/* -------------------------------------------------------- serialisers */

char *
front_xml_escape(const char *s)
{
	struct fbuf b = { 0 };

	fb_add(&b, "", 0);
	fb_escaped(&b, s);
	return fb_done(&b, NULL);
}

int
front_wants_json(const char *accept)
{
	return accept != NULL && strstr(accept, "application/json") != NULL;
}

char *
front_token_answer(const char *token, size_t len, int json,
    size_t *outlen)
{
	struct fbuf b = { 0 };
	char *tok;

	if (json)
		return json_out(json_pack("{s:{s:i,s:s%}}", "MediaContainer",
		    "size", 0, "token", token, len), outlen);
	tok = malloc(len + 1);
	if (tok == NULL)
		return NULL;
	memcpy(tok, token, len);
	tok[len] = '\0';
	fb_str(&b, XML_DECL "<MediaContainer");
	fb_attr(&b, "size", "0");
	fb_attr(&b, "token", tok);
	fb_str(&b, "/>\n");
	front_free(tok);
	return fb_done(&b, outlen);
}

static json_t *
conn_json(const struct plexres_conn *k, int plex)
{
	json_t *j;

	if (!plex)
		return json_pack("{s:s,s:s,s:s,s:i,s:b,s:b}", "uri", k->uri,
		    "protocol", k->protocol, "address", k->address, "port",
		    k->port, "local", k->local, "relay", k->relay);
	j = json_pack("{s:s,s:s,s:i,s:s,s:b,s:b}", "protocol", k->protocol,
	    "address", k->address, "port", k->port, "uri", k->uri, "local",
	    k->local, "relay", k->relay);
	if (j != NULL && k->ipv6)
		json_object_set_new(j, "IPv6", json_true());
	return j;
}

static json_t *
conns_json(const struct plexres *p, int plex)
{
	json_t *list = json_array();
	size_t i;

	for (i = 0; list != NULL && i < p->nconn; i++)
		if (json_array_append_new(list, conn_json(&p->conn[i],
		    plex)) == -1) {
			json_decref(list);
			list = NULL;
		}
	return list;
}

static json_t *
token_json(const struct plexres *p)
{
	if (p->access_token == NULL)
		return json_null();
	return json_stringn(secret_str(p->access_token),
	    secret_len(p->access_token));
}

static char *
resources_xml(const struct plexres *p, size_t *outlen)
{
	struct fbuf b = { 0 };
	const struct plexres_conn *k;
	size_t i;

	fb_str(&b, XML_DECL "<MediaContainer size=\"1\">\n<Device");
	fb_attr(&b, "name", p->name);
	fb_attr(&b, "clientIdentifier", p->client_id);
	if (p->access_token != NULL)
		fb_attr(&b, "accessToken", secret_str(p->access_token));
	fb_str(&b, ">\n");
	for (i = 0; i < p->nconn; i++) {
		k = &p->conn[i];
		fb_str(&b, "<Connection");
		fb_attr(&b, "protocol", k->protocol);
		fb_attr(&b, "address", k->address);
		fb_attr_int(&b, "port", k->port);
		fb_attr(&b, "uri", k->uri);
		fb_attr_int(&b, "local", k->local);
		fb_attr_int(&b, "relay", k->relay);
		if (k->ipv6)
			fb_attr(&b, "IPv6", "1");
		fb_str(&b, "/>\n");
	}
	fb_str(&b, "</Device>\n</MediaContainer>\n");
	return fb_done(&b, outlen);
}

char *
front_resources_plex(const struct plexres *p, int json, size_t *outlen)
{
	json_t *dev;

	if (!json)
		return resources_xml(p, outlen);
	dev = json_pack("{s:s,s:s}", "name", p->name, "clientIdentifier",
	    p->client_id);
	if (dev != NULL && p->access_token != NULL)
		json_object_set_new(dev, "accessToken", token_json(p));
	if (dev != NULL)
		json_object_set_new(dev, "Connection", conns_json(p, 1));
	return json_out(json_pack("{s:{s:i,s:o}}", "MediaContainer", "size",
	    1, "Device", dev), outlen);
}

char *
front_resources_v1(const struct plexres *p, const char *source,
    size_t *outlen)
{
	return json_out(json_pack("{s:s,s:s,s:s,s:o,s:o}", "source", source,
	    "name", p->name, "client_identifier", p->client_id,
	    "access_token", token_json(p), "connections", conns_json(p, 0)),
	    outlen);
}

/* ------------------------------------------------------------ replies */

static void
wipe_cb(void *cls)
{
	front_free(cls);
}

/* Queue buf (owned, wiped when MHD is done with it). */
static enum MHD_Result
send_buf(struct MHD_Connection *c, unsigned status, const char *type,
    char *buf, size_t len, int64_t retry_after, const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char ra[32];

	if (buf == NULL)
		return MHD_NO;
	r = MHD_create_response_from_buffer_with_free_callback_cls(len, buf,
	    wipe_cb, buf);
	if (r == NULL) {
		front_free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (retry_after > 0) {
		snprintf(ra, sizeof(ra), "%lld",
		    (long long)((retry_after + 999) / 1000));
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (allow != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static const char *
status_text(unsigned status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

/* An error: Plex's small HTML page on /plex/, JSON on /v1/. */
static enum MHD_Result
send_error(const struct front_call *fc, unsigned status, const char *code,
    const char *message, int64_t retry_after)
{
	const char *what = status_text(status);
	const char *allow = status == 405 ? "GET, HEAD" : NULL;
	struct fbuf b = { 0 };
	char page[256];
	char *s;
	size_t n = 0;

	if (fc->route == FRONT_V1_RESOURCES) {
		s = json_out(json_pack("{s:{s:s,s:s}}", "error", "code", code,
		    "message", message), &n);
		return send_buf(fc->conn, status, ctype_json, s, n,
		    retry_after, allow);
	}
	snprintf(page, sizeof(page), "<html><head><title>%s</title></head>"
	    "<body><h1>%u %s</h1></body></html>", what, status, what);
	fb_str(&b, page);
	s = fb_done(&b, &n);
	return send_buf(fc->conn, status, ctype_html, s, n, retry_after,
	    allow);
}

/* ------------------------------------------------------------- routes */

/* "/plex/NAME/REST" or "/v1/servers/NAME/REST": NAME into name. */
static const char *
split_name(const char *url, const char *pfx, char name[CFG_NAME_MAX + 1])
{
	size_t lp = strlen(pfx), n;
	const char *p, *slash;

	if (strncmp(url, pfx, lp) != 0)
		return NULL;
	p = url + lp;
	slash = strchr(p, '/');
	if (slash == NULL)
		return NULL;
	n = (size_t)(slash - p);
	if (n == 0 || n > CFG_NAME_MAX)
		return NULL;
	memcpy(name, p, n);
	name[n] = '\0';
	return cfg_valid_name(name) ? slash : NULL;
}

enum front_route
front_route_of(const char *url, char name[CFG_NAME_MAX + 1])
{
	const char *rest;

	rest = split_name(url, "/plex/", name);
	if (rest != NULL && strcmp(rest, "/security/token") == 0)
		return FRONT_PLEX_TOKEN;
	if (rest != NULL && strcmp(rest, "/security/resources") == 0)
		return FRONT_PLEX_RESOURCES;
	rest = split_name(url, "/v1/servers/", name);
	if (rest != NULL && strcmp(rest, "/resources") == 0)
		return FRONT_V1_RESOURCES;
	return FRONT_NONE;
}

static const char *
arg(const struct front_call *fc, const char *key)
{
	return MHD_lookup_connection_value(fc->conn, MHD_GET_ARGUMENT_KIND,
	    key);
}

/*
 * May the caller ask about this server?  The key rides in X-Plex-Token
 * (header or query) on /plex/, in Authorization: Bearer on /v1/.
 */
static int
allowed(const struct front_call *fc, enum MHD_Result *ret)
{
	const char *key = NULL;
	size_t len = 0;
	int rc;

	if (fc->route == FRONT_V1_RESOURCES)
		rc = auth_bearer(MHD_lookup_connection_value(fc->conn,
		    MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION), &key,
		    &len);
	else
		rc = auth_plex_key(MHD_lookup_connection_value(fc->conn,
		    MHD_HEADER_KIND, "X-Plex-Token"), arg(fc, "X-Plex-Token"),
		    &key, &len);
	if (rc == -1) {
		key = NULL;
		len = 0;
	}
	rc = engine_authorize(fc->eng, key, len, fc->name);
	if (rc == AUTH_OK)
		return 1;
	if (rc == AUTH_FORBIDDEN)
		*ret = send_error(fc, 403, "forbidden",
		    "this key may not ask about that server", 0);
	else
		*ret = send_error(fc, 401, rc == AUTH_NO_KEY ? "missing_key" :
		    "bad_key", "this route needs a client key", 0);
	return 0;
}

static int
wants_json(const struct front_call *fc)
{
	return front_wants_json(MHD_lookup_connection_value(fc->conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
}

static enum MHD_Result
plex_token(struct front_call *fc)
{
	const char *type = arg(fc, "type"), *scope = arg(fc, "scope");
	struct engine_unavail u;
	struct engine_token t;
	enum engine_answer ans;
	enum MHD_Result ret;
	int json = wants_json(fc);
	size_t n = 0;
	char *s;

	if (type == NULL || strcmp(type, "delegation") != 0 ||
	    scope == NULL || strcmp(scope, "all") != 0)
		return send_error(fc, 400, "bad_query", "", 0);
	if (!allowed(fc, &ret))
		return ret;
	ans = engine_token(fc->eng, fc->name, 0, fc->waited, fc->w, &t, &u);
	switch (ans) {
	case ENGINE_SERVE:
		s = front_token_answer(t.token, t.len, json, &n);
		secret_wipe(t.token, sizeof(t.token));
		return send_buf(fc->conn, 200, json ? ctype_json : ctype_xml,
		    s, n, 0, NULL);
	case ENGINE_WAIT:
		fc->again = fc->w == NULL;
		return MHD_YES;
	case ENGINE_UNAVAILABLE:
		return send_error(fc, 503, u.code, u.message, u.retry_after);
	default:
		return send_error(fc, 404, "unknown_server", "", 0);
	}
}

/* Why a resources request failed, as a status and a code. */
static unsigned
res_status_of(const struct res_answer *a, const char **code,
    int64_t *retry_after)
{
	*retry_after = 0;
	if (a->notoken) {
		*code = "no_token";
		*retry_after = 1000;
		return 503;
	}
	if (a->status == 404 || a->status == 400) {
		*code = a->status == 404 ? "unknown_source" : "bad_source";
		return (unsigned)a->status;
	}
	if (a->err == PLEX_ERR_CONNECT || a->err == PLEX_ERR_TIMEOUT ||
	    a->err == PLEX_ERR_TLS || a->err == PLEX_ERR_INTERNAL) {
		*code = "server_down";
		*retry_after = 1000;
		return 503;
	}
	*code = a->err == PLEX_ERR_AUTH ? "upstream_refused" :
	    "upstream_error";
	return 502;
}

static enum MHD_Result
res_reply(struct front_call *fc, enum res_status st, struct res_answer *a,
    const char *source)
{
	char msg[PLEX_REASON_LEN + PLEXRES_SOURCE_MAX + 64];
	const char *code;
	int64_t ra;
	unsigned status;
	size_t n = 0;
	char *s;
	int json = fc->route == FRONT_V1_RESOURCES || wants_json(fc);

	if (st == RES_SERVE) {
		s = fc->route == FRONT_V1_RESOURCES ?
		    front_resources_v1(a->data, source, &n) :
		    front_resources_plex(a->data, json, &n);
		return send_buf(fc->conn, 200, json ? ctype_json : ctype_xml,
		    s, n, 0, NULL);
	}
	if (st == RES_NOSERVER)
		return send_error(fc, 404, "unknown_server",
		    "no server of that name is configured", 0);
	if (st == RES_FULL)
		return send_error(fc, 503, "busy", a->reason, 1000);
	status = res_status_of(a, &code, &ra);
	snprintf(msg, sizeof(msg), "resources of %s: %s", source, a->reason);
	return send_error(fc, status, code, msg, ra);
}

static enum MHD_Result
resources(struct front_call *fc)
{
	const char *source = arg(fc, "source"), *refresh = arg(fc, "refresh");
	struct res_answer a;
	enum res_status st;
	enum MHD_Result ret;
	int force;

	if (strcmp(fc->method, "GET") != 0 && strcmp(fc->method, "HEAD") != 0)
		return send_error(fc, 405, "method_not_allowed",
		    "method not allowed on this route", 0);
	if (!plexres_source_valid(source))
		return send_error(fc, 400, "bad_query",
		    "source: expected server://ID or provider://ID", 0);
	if (refresh != NULL && strcmp(refresh, "0") != 0 &&
	    strcmp(refresh, "1") != 0)
		return send_error(fc, 400, "bad_query", "refresh: 0 or 1", 0);
	force = refresh != NULL && strcmp(refresh, "1") == 0;
	if (!allowed(fc, &ret))
		return ret;
	st = (enum res_status)engine_resources(fc->eng, fc->name, source,
	    force, fc->waited, fc->w, &a);
	if (st == RES_WAIT) {
		fc->again = fc->w == NULL;
		return MHD_YES;
	}
	ret = res_reply(fc, st, &a, source);
	res_answer_clear(&a);
	return ret;
}

enum MHD_Result
front_handle(struct front_call *fc)
{
	fc->again = 0;
	switch (fc->route) {
	case FRONT_PLEX_TOKEN:
		return plex_token(fc);
	case FRONT_PLEX_RESOURCES:
	case FRONT_V1_RESOURCES:
		return resources(fc);
	default:
		return send_error(fc, 404, "not_found", "no such route", 0);
	}
}
