/*
 * plexres.c - GET /security/resources: the request and its parser.
 *
 * The answer carries a source's own access token, so the parsers run
 * on allocators that wipe what they free (jansson's are set by
 * plex_global_init(); expat gets its own here), and the token is kept
 * only as a struct secret.  Nothing here logs.
 */
#include "ac-config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <expat.h>
#include <jansson.h>

#include "plex.h"
#include "plexres.h"
#include "secret.h"

#define RES_PATH "/security/resources?source="

/* What both parsers fill: the answer and the first error. */
struct pctx {
	struct plexres *p;
	enum plex_err err;
	char *reason;
	size_t reasonlen;
};

static void pfail(struct pctx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Keep the first error only. */
static void
pfail(struct pctx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->err != PLEX_OK)
		return;
	x->err = PLEX_ERR_MALFORMED;
	if (x->reason == NULL || x->reasonlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(x->reason, x->reasonlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------- values */

static void
set_str(struct pctx *x, char *dst, size_t cap, const char *what,
    const char *v, size_t len)
{
	size_t i;

	if (len >= cap) {
		pfail(x, "malformed answer: %s longer than %zu bytes", what,
		    cap - 1);
		return;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			pfail(x, "malformed answer: %s holds a control "
			    "character", what);
			return;
		}
	}
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static void
set_bool(struct pctx *x, int *dst, const char *what, const char *v)
{
	if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
		*dst = 1;
	else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
		*dst = 0;
	else
		pfail(x, "malformed answer: %s is not a boolean", what);
}

static void
set_port(struct pctx *x, int *dst, const char *v)
{
	char *end;
	long n;

	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || n < 0 || n > 65535)
		pfail(x, "malformed answer: port is not a port number");
	else
		*dst = (int)n;
}

static void
dev_attr(struct pctx *x, const char *k, const char *v, size_t len)
{
	struct plexres *p = x->p;

	if (strcmp(k, "name") == 0)
		set_str(x, p->name, sizeof(p->name), "name", v, len);
	else if (strcmp(k, "clientIdentifier") == 0)
		set_str(x, p->client_id, sizeof(p->client_id),
		    "clientIdentifier", v, len);
	else if (strcmp(k, "accessToken") == 0) {
		if (!plex_token_wellformed(v, len)) {
			pfail(x, "malformed answer: accessToken is not a "
			    "token");
			return;
		}
		secret_free(p->access_token);
		p->access_token = secret_new(v, len);
		if (p->access_token == NULL && x->err == PLEX_OK) {
			x->err = PLEX_ERR_NOMEM;
			snprintf(x->reason, x->reasonlen, "out of memory");
		}
	}
}

static void
conn_attr(struct pctx *x, struct plexres_conn *c, const char *k,
    const char *v, size_t len)
{
	if (strcmp(k, "uri") == 0)
		set_str(x, c->uri, sizeof(c->uri), "uri", v, len);
	else if (strcmp(k, "protocol") == 0)
		set_str(x, c->protocol, sizeof(c->protocol), "protocol", v,
		    len);
	else if (strcmp(k, "address") == 0)
		set_str(x, c->address, sizeof(c->address), "address", v,
		    len);
	else if (strcmp(k, "port") == 0)
		set_port(x, &c->port, v);
	else if (strcmp(k, "local") == 0)
		set_bool(x, &c->local, "local", v);
	else if (strcmp(k, "relay") == 0)
		set_bool(x, &c->relay, "relay", v);
	else if (strcmp(k, "IPv6") == 0)
		set_bool(x, &c->ipv6, "IPv6", v);
}

/* The next connection's slot, or NULL past PLEXRES_CONN_MAX. */
static struct plexres_conn *
conn_next(struct plexres *p)
{
	if (p->nconn == PLEXRES_CONN_MAX)
		return NULL;
	return &p->conn[p->nconn++];
}

/* ---------------------------------------------------------------- XML */

struct xctx {
	struct pctx *x;
	int depth;
	int devices;			/* Device elements seen */
	int in_first;			/* inside the first Device */
};

static void
xml_attrs(struct xctx *c, struct plexres_conn *conn, const XML_Char **a)
{
	size_t k;

	for (k = 0; a[k] != NULL && a[k + 1] != NULL; k += 2) {
		if (conn != NULL)
			conn_attr(c->x, conn, a[k], a[k + 1],
			    strlen(a[k + 1]));
		else
			dev_attr(c->x, a[k], a[k + 1], strlen(a[k + 1]));
	}
}

static void
xml_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct xctx *c = ud;
	struct plexres_conn *conn;
	int d = c->depth++;

	if (d == 1 && strcmp(name, "Device") == 0) {
		if (++c->devices == 1) {
			c->in_first = 1;
			xml_attrs(c, NULL, atts);
		}
	} else if (d == 2 && c->in_first &&
	    strcmp(name, "Connection") == 0) {
		conn = conn_next(c->x->p);
		if (conn != NULL)
			xml_attrs(c, conn, atts);
	}
}

static void
xml_end(void *ud, const XML_Char *name)
{
	struct xctx *c = ud;

	(void)name;
	if (--c->depth == 1)
		c->in_first = 0;
}

static void
parse_xml(struct pctx *x, const char *s, size_t len)
{
	char why[PLEX_REASON_LEN];
	enum plex_err err;
	struct xctx c;

	memset(&c, 0, sizeof(c));
	c.x = x;
	err = plex_parse_xml(s, len, &c, xml_start, xml_end, why,
	    sizeof(why));
	if (err == PLEX_ERR_NOMEM && x->err == PLEX_OK) {
		x->err = err;
		snprintf(x->reason, x->reasonlen, "out of memory");
	} else if (err != PLEX_OK)
		pfail(x, "%s", why);
	else if (c.devices == 0)
		pfail(x, "malformed answer: no Device in MediaContainer");
}

/* --------------------------------------------------------------- JSON */

/* A scalar as text: strings as they are, numbers and booleans. */
static int
json_text(json_t *v, char buf[32], const char **s, size_t *len)
{
	if (json_is_string(v)) {
		*s = json_string_value(v);
		*len = json_string_length(v);
		return 0;
	}
	if (json_is_integer(v))
		snprintf(buf, 32, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, 32, "%d", json_is_true(v) ? 1 : 0);
	else
		return -1;
	*s = buf;
	*len = strlen(buf);
	return 0;
}

static void
json_conns(struct pctx *x, json_t *list)
{
	struct plexres_conn *conn;
	const char *k, *s;
	char buf[32];
	json_t *o, *v;
	size_t i, len;

	if (json_is_object(list))
		list = json_pack("[O]", list);	/* one, not in an array */
	else
		json_incref(list);
	if (!json_is_array(list)) {
		pfail(x, "malformed answer: Connection is not a list");
		json_decref(list);
		return;
	}
	json_array_foreach(list, i, o) {
		if (!json_is_object(o)) {
			pfail(x, "malformed answer: a Connection is not an "
			    "object");
			break;
		}
		conn = conn_next(x->p);
		if (conn == NULL)
			break;
		json_object_foreach(o, k, v)
			if (json_text(v, buf, &s, &len) == 0)
				conn_attr(x, conn, k, s, len);
	}
	json_decref(list);
}

static void
json_device(struct pctx *x, json_t *dev)
{
	const char *k, *s;
	char buf[32];
	json_t *v;
	size_t len;

	if (json_is_array(dev))
		dev = json_array_get(dev, 0);
	if (!json_is_object(dev)) {
		pfail(x, "malformed answer: no Device in MediaContainer");
		return;
	}
	json_object_foreach(dev, k, v) {
		if (strcmp(k, "Connection") == 0)
			json_conns(x, v);
		else if (json_text(v, buf, &s, &len) == 0)
			dev_attr(x, k, s, len);
	}
}

static void
parse_json(struct pctx *x, const char *s, size_t len)
{
	json_error_t jerr;
	json_t *root, *mc;

	root = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
	/* jerr.text may quote the input, a token perhaps: never shown */
	secret_wipe(&jerr, sizeof(jerr));
	if (root == NULL) {
		pfail(x, "malformed answer: invalid JSON");
		return;
	}
	mc = json_object_get(root, "MediaContainer");
	if (!json_is_object(mc))
		pfail(x, "malformed answer: no MediaContainer object");
	else
		json_device(x, json_object_get(mc, "Device"));
	json_decref(root);
}

/* ------------------------------------------------------------- parse */

static void
check_whole(struct pctx *x)
{
	size_t i;

	if (x->p->client_id[0] == '\0')
		pfail(x, "malformed answer: the Device has no "
		    "clientIdentifier");
	for (i = 0; i < x->p->nconn; i++)
		if (x->p->conn[i].uri[0] == '\0')
			pfail(x, "malformed answer: a Connection has no uri");
}

enum plex_err
plexres_parse(const char *body, size_t len, struct plexres **out,
    char *reason, size_t reasonlen)
{
	struct pctx x;
	enum plex_err err;
	size_t i;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	x.reason = reason;
	x.reasonlen = reasonlen;
	err = plex_body_start(body, len, &i, reason, reasonlen);
	if (err != PLEX_OK)
		return err;
	x.p = calloc(1, sizeof(*x.p));
	if (x.p == NULL) {
		snprintf(reason, reasonlen, "out of memory");
		return PLEX_ERR_NOMEM;
	}
	if (body[i] == '{')
		parse_json(&x, body + i, len - i);
	else
		parse_xml(&x, body + i, len - i);
	if (x.err == PLEX_OK)
		check_whole(&x);
	if (x.err != PLEX_OK) {
		plexres_free(x.p);
		return x.err;
	}
	*out = x.p;
	snprintf(reason, reasonlen, "ok");
	return PLEX_OK;
}

struct plexres *
plexres_dup(const struct plexres *p)
{
	struct plexres *d;

	d = malloc(sizeof(*d));
	if (d == NULL)
		return NULL;
	memcpy(d, p, sizeof(*d));
	if (p->access_token != NULL) {
		d->access_token = secret_dup(p->access_token);
		if (d->access_token == NULL) {
			free(d);
			return NULL;
		}
	}
	return d;
}

void
plexres_free(struct plexres *p)
{
	if (p == NULL)
		return;
	secret_free(p->access_token);
	secret_wipe(p, sizeof(*p));
	free(p);
}

/* ----------------------------------------------------------- request */

int
plexres_source_valid(const char *source)
{
	const char *p = source;
	size_t n;

	if (source == NULL || strlen(source) > PLEXRES_SOURCE_MAX)
		return 0;
	n = strspn(p, "abcdefghijklmnopqrstuvwxyz");
	if (n == 0 || strncmp(p + n, "://", 3) != 0)
		return 0;
	p += n + 3;
	n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-");
	return n > 0 && p[n] == '\0';
}

struct plex_req *
plexres_req_new(const struct plex_target *t, const struct secret *tok,
    const char *source, int refresh)
{
	struct plex_req *r;
	char *esc = NULL, *url = NULL;
	size_t n;
	int ok = 0;

	if (!plexres_source_valid(source) || t->url == NULL)
		return NULL;
	r = plex_req_new(PLEX_REQ_RESOURCES, t, tok);
	if (r == NULL)
		return NULL;
	esc = curl_easy_escape(plex_req_easy(r), source, 0);
	if (esc == NULL)
		goto done;
	n = strlen(t->url) + sizeof(RES_PATH) + strlen(esc) + 16;
	url = malloc(n);
	if (url == NULL)
		goto done;
	snprintf(url, n, "%s%s%s%s", t->url, RES_PATH, esc,
	    refresh ? "&refresh=1" : "");
	ok = curl_easy_setopt(plex_req_easy(r), CURLOPT_URL, url) ==
	    CURLE_OK;
 done:
	curl_free(esc);
	free(url);
	if (!ok) {
		plex_req_free(r);
		r = NULL;
	}
	return r;
}
