/*
 * plex.c - the Plex Media Server client.
 *
 * One plex_req is one curl easy handle.  The secret it carries (the
 * admin or the transient token) lives only in its header list, never
 * in the URL, and the answer's body (which holds a fresh token) is
 * kept in a buffer that is wiped before it is freed.  libcurl, jansson
 * and expat are given allocators that wipe what they free, so the
 * copies they make of a token die with them.
 *
 * Time budget: timeout_ms bounds the whole transfer, connection setup
 * included; there is no shorter connect timeout, because a server that
 * does not accept and one that does not answer are the same failure to
 * the caller.
 *
 * Nothing here logs: every failure is an enum plex_err and a reason.
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

#define PLEX_TOKEN_PATH "/security/token?type=delegation&scope=all"
/* only the pings: little else reaches a client that asks for them */
#define PLEX_EVENTS_PATH "/:/eventsource/notifications?filters=ping"
#define PLEX_SSE_LINE 128
#define PLEX_BODY_CHUNK 4096

struct plex_req {
	enum plex_kind kind;
	CURL *easy;
	struct curl_slist *hdrs;	/* holds a token: wiped on free */
	void *data;
	long timeout_ms;
	char *body;			/* holds a token: wiped on free */
	size_t len;			/* bytes kept in body */
	size_t cap;
	size_t seen;			/* bytes received, kept or not */
	int keep_body;
	int toobig;
	int nomem;
	int stream_open;		/* PLEX_REQ_EVENTS: 2xx event stream */
	int not_stream;			/* ... 2xx, but something else */
	unsigned long pings;
	size_t linelen;
	char line[PLEX_SSE_LINE];	/* the event-stream line so far */
	char errbuf[CURL_ERROR_SIZE];
};

/* ---------------------------------------------------------- allocators */

static char *
wipe_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d;

	d = malloc(n);
	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

static const XML_Memory_Handling_Suite xml_mem = {
	malloc, secret_realloc_wiped, secret_free_wiped
};

int
plex_global_init(void)
{
	json_set_alloc_funcs(malloc, secret_free_wiped);
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, secret_free_wiped,
	    secret_realloc_wiped, wipe_strdup, calloc) != CURLE_OK)
		return -1;
	return 0;
}

void
plex_global_cleanup(void)
{
	curl_global_cleanup();
}

/* ------------------------------------------------------------- helpers */

static void reasonf(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
reasonf(char *reason, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (reason == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, len, fmt, ap);
	va_end(ap);
}

const char *
plex_strerror(enum plex_err err)
{
	switch (err) {
	case PLEX_OK:
		return "ok";
	case PLEX_ERR_CONNECT:
		return "connection failed";
	case PLEX_ERR_TIMEOUT:
		return "timed out";
	case PLEX_ERR_TLS:
		return "TLS error";
	case PLEX_ERR_AUTH:
		return "refused the token";
	case PLEX_ERR_HTTP:
		return "HTTP error";
	case PLEX_ERR_MALFORMED:
		return "malformed answer";
	case PLEX_ERR_TOOBIG:
		return "answer too large";
	case PLEX_ERR_NOMEM:
		return "out of memory";
	case PLEX_ERR_INTERNAL:
		return "internal error";
	}
	return "unknown error";
}

int
plex_token_wellformed(const char *s, size_t len)
{
	static const char extra[] = "._~+/=-";
	size_t i;
	unsigned char c;

	if (s == NULL || len == 0 || len > PLEX_TOKEN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (c == '\0' || strchr(extra, c) == NULL)
			return 0;
	}
	return 1;
}

/* --------------------------------------------------------------- parse */

enum field_state {
	FIELD_MISSING = 0,
	FIELD_OK,
	FIELD_NOTSTRING,
	FIELD_TOOLONG
};

#define FIELDS_MAX 2

/* The string fields wanted from the MediaContainer. */
struct fields {
	size_t n;
	const char *name[FIELDS_MAX];
	char *val[FIELDS_MAX];
	size_t cap[FIELDS_MAX];		/* room for value and NUL */
	size_t len[FIELDS_MAX];
	enum field_state st[FIELDS_MAX];
};

/* What the MediaContainer attributes go to. */
struct xml_ctx {
	struct fields *f;
	int depth;
};

static void
field_set(struct fields *f, size_t i, const char *v, size_t len)
{
	if (len >= f->cap[i]) {
		f->st[i] = FIELD_TOOLONG;
		return;
	}
	memcpy(f->val[i], v, len);
	f->val[i][len] = '\0';
	f->len[i] = len;
	f->st[i] = FIELD_OK;
}

static void
xml_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct xml_ctx *x = ud;
	size_t i, k;

	(void)name;
	if (x->depth++ > 0)
		return;
	for (k = 0; atts[k] != NULL && atts[k + 1] != NULL; k += 2) {
		for (i = 0; i < x->f->n; i++) {
			if (strcmp(atts[k], x->f->name[i]) == 0)
				field_set(x->f, i, atts[k + 1],
				    strlen(atts[k + 1]));
		}
	}
}

static void
xml_end(void *ud, const XML_Char *name)
{
	struct xml_ctx *x = ud;

	(void)name;
	x->depth--;
}

/* The hardened parse of plex_parse_xml(): caller's handlers behind it. */
struct xml_guard {
	XML_Parser p;
	void *ud;
	XML_StartElementHandler start;
	XML_EndElementHandler end;
	int depth;
	int badroot;
	int doctype;
};

static void
guard_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct xml_guard *g = ud;

	if (g->depth++ == 0 && strcmp(name, "MediaContainer") != 0) {
		g->badroot = 1;
		XML_StopParser(g->p, XML_FALSE);
		return;
	}
	g->start(g->ud, name, atts);
}

static void
guard_end(void *ud, const XML_Char *name)
{
	struct xml_guard *g = ud;

	g->depth--;
	g->end(g->ud, name);
}

/* No DTD at all: no entity can be declared, so none can blow up. */
static void
guard_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	struct xml_guard *g = ud;

	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	g->doctype = 1;
	XML_StopParser(g->p, XML_FALSE);
}

static void
guard_entity(void *ud, const XML_Char *name, int is_param,
    const XML_Char *value, int value_len, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	guard_doctype(ud, NULL, NULL, NULL, 0);
}

static enum plex_err
guard_verdict(struct xml_guard *g, enum XML_Status st, char *reason,
    size_t reasonlen)
{
	enum XML_Error e = XML_GetErrorCode(g->p);

	if (g->doctype)
		reasonf(reason, reasonlen, "malformed answer: XML with a "
		    "DOCTYPE refused");
	else if (g->badroot)
		reasonf(reason, reasonlen, "malformed answer: root element "
		    "is not MediaContainer");
	else if (st != XML_STATUS_OK)
		reasonf(reason, reasonlen, "malformed answer: invalid XML "
		    "(%s) at line %lu", XML_ErrorString(e),
		    (unsigned long)XML_GetCurrentLineNumber(g->p));
	else
		return PLEX_OK;
	if (!g->doctype && !g->badroot && e == XML_ERROR_NO_MEMORY)
		return PLEX_ERR_NOMEM;
	return PLEX_ERR_MALFORMED;
}

enum plex_err
plex_parse_xml(const char *s, size_t len, void *ud,
    XML_StartElementHandler start, XML_EndElementHandler end,
    char *reason, size_t reasonlen)
{
	struct xml_guard g;
	enum XML_Status st;
	enum plex_err err;

	memset(&g, 0, sizeof(g));
	g.ud = ud;
	g.start = start;
	g.end = end;
	g.p = XML_ParserCreate_MM(NULL, &xml_mem, NULL);
	if (g.p == NULL) {
		reasonf(reason, reasonlen, "out of memory parsing XML");
		return PLEX_ERR_NOMEM;
	}
	XML_SetUserData(g.p, &g);
	XML_SetElementHandler(g.p, guard_start, guard_end);
	XML_SetStartDoctypeDeclHandler(g.p, guard_doctype);
	XML_SetEntityDeclHandler(g.p, guard_entity);
	XML_SetParamEntityParsing(g.p, XML_PARAM_ENTITY_PARSING_NEVER);
	st = XML_Parse(g.p, s, (int)len, XML_TRUE);
	err = guard_verdict(&g, st, reason, reasonlen);
	XML_ParserFree(g.p);
	return err;
}

static enum plex_err
parse_xml(const char *s, size_t len, struct fields *f, char *reason,
    size_t reasonlen)
{
	struct xml_ctx x;

	memset(&x, 0, sizeof(x));
	x.f = f;
	return plex_parse_xml(s, len, &x, xml_start, xml_end, reason,
	    reasonlen);
}

static enum plex_err
parse_json(const char *s, size_t len, struct fields *f, char *reason,
    size_t reasonlen)
{
	json_error_t jerr;
	json_t *root, *mc, *v;
	enum plex_err err = PLEX_OK;
	size_t i;

	root = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
	/* jerr.text may quote the input, a token perhaps: never shown */
	secret_wipe(&jerr, sizeof(jerr));
	if (root == NULL) {
		reasonf(reason, reasonlen, "malformed answer: invalid JSON");
		return PLEX_ERR_MALFORMED;
	}
	mc = json_object_get(root, "MediaContainer");
	if (!json_is_object(mc)) {
		reasonf(reason, reasonlen, "malformed answer: no "
		    "MediaContainer object");
		err = PLEX_ERR_MALFORMED;
		goto done;
	}
	for (i = 0; i < f->n; i++) {
		v = json_object_get(mc, f->name[i]);
		if (v == NULL)
			continue;
		if (!json_is_string(v))
			f->st[i] = FIELD_NOTSTRING;
		else
			field_set(f, i, json_string_value(v),
			    json_string_length(v));
	}
done:
	json_decref(root);
	return err;
}

enum plex_err
plex_body_start(const char *body, size_t len, size_t *start,
    char *reason, size_t reasonlen)
{
	size_t i = 0;

	if (body == NULL)
		len = 0;
	if (len > PLEX_BODY_MAX) {
		reasonf(reason, reasonlen, "answer larger than %d bytes",
		    PLEX_BODY_MAX);
		return PLEX_ERR_TOOBIG;
	}
	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && body[i] != '\0' &&
	    strchr(" \t\r\n", body[i]) != NULL)
		i++;
	*start = i;
	if (i < len && (body[i] == '{' || body[i] == '<'))
		return PLEX_OK;
	reasonf(reason, reasonlen, "malformed answer: %s",
	    i < len ? "neither JSON nor XML" : "empty body");
	return PLEX_ERR_MALFORMED;
}

/* Pick the parser by the first non-blank byte. */
static enum plex_err
parse_fields(const char *body, size_t len, struct fields *f, char *reason,
    size_t reasonlen)
{
	enum plex_err err;
	size_t i;

	err = plex_body_start(body, len, &i, reason, reasonlen);
	if (err != PLEX_OK)
		return err;
	if (body[i] == '{')
		return parse_json(body + i, len - i, f, reason, reasonlen);
	return parse_xml(body + i, len - i, f, reason, reasonlen);
}

/* PLEX_OK when field i was found as a string that fits. */
static enum plex_err
field_check(const struct fields *f, size_t i, char *reason,
    size_t reasonlen)
{
	switch (f->st[i]) {
	case FIELD_OK:
		return PLEX_OK;
	case FIELD_MISSING:
		reasonf(reason, reasonlen, "malformed answer: no %s in "
		    "MediaContainer", f->name[i]);
		break;
	case FIELD_NOTSTRING:
		reasonf(reason, reasonlen, "malformed answer: %s is not a "
		    "string", f->name[i]);
		break;
	case FIELD_TOOLONG:
		reasonf(reason, reasonlen, "malformed answer: %s longer "
		    "than %zu bytes", f->name[i], f->cap[i] - 1);
		break;
	}
	return PLEX_ERR_MALFORMED;
}

enum plex_err
plex_parse_token(const char *body, size_t len, struct secret **token,
    char *reason, size_t reasonlen)
{
	char buf[PLEX_TOKEN_MAX + 1];
	struct fields f;
	enum plex_err err;

	*token = NULL;
	memset(&f, 0, sizeof(f));
	f.n = 1;
	f.name[0] = "token";
	f.val[0] = buf;
	f.cap[0] = sizeof(buf);
	err = parse_fields(body, len, &f, reason, reasonlen);
	if (err == PLEX_OK)
		err = field_check(&f, 0, reason, reasonlen);
	if (err == PLEX_OK && !plex_token_wellformed(buf, f.len[0])) {
		reasonf(reason, reasonlen, "malformed answer: %s",
		    f.len[0] == 0 ? "the token is empty" :
		    "the token has a byte a token cannot have");
		err = PLEX_ERR_MALFORMED;
	}
	if (err == PLEX_OK) {
		*token = secret_new(buf, f.len[0]);
		if (*token == NULL) {
			reasonf(reason, reasonlen, "out of memory");
			err = PLEX_ERR_NOMEM;
		}
	}
	secret_wipe(buf, sizeof(buf));
	if (err == PLEX_OK)
		reasonf(reason, reasonlen, "ok");
	return err;
}

static int
printable(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	}
	return 1;
}

enum plex_err
plex_parse_identity(const char *body, size_t len,
    char machine_id[PLEX_FIELD_MAX], char version[PLEX_FIELD_MAX],
    char *reason, size_t reasonlen)
{
	struct fields f;
	enum plex_err err;
	size_t i;

	machine_id[0] = '\0';
	version[0] = '\0';
	memset(&f, 0, sizeof(f));
	f.n = 2;
	f.name[0] = "machineIdentifier";
	f.val[0] = machine_id;
	f.name[1] = "version";
	f.val[1] = version;
	f.cap[0] = f.cap[1] = PLEX_FIELD_MAX;
	err = parse_fields(body, len, &f, reason, reasonlen);
	for (i = 0; err == PLEX_OK && i < f.n; i++) {
		err = field_check(&f, i, reason, reasonlen);
		if (err == PLEX_OK && !printable(f.val[i])) {
			reasonf(reason, reasonlen, "malformed answer: %s is "
			    "empty or not printable ASCII", f.name[i]);
			err = PLEX_ERR_MALFORMED;
		}
	}
	if (err != PLEX_OK) {
		machine_id[0] = '\0';
		version[0] = '\0';
	} else
		reasonf(reason, reasonlen, "ok");
	return err;
}

/* ------------------------------------------------------------- request */

static int
is2xx(long status)
{
	return status >= 200 && status <= 299;
}

static void
body_reset(struct plex_req *r)
{
	if (r->body != NULL)
		secret_wipe(r->body, r->cap);
	free(r->body);
	r->body = NULL;
	r->len = r->cap = r->seen = 0;
	r->toobig = r->nomem = 0;
}

/* Grow by copying, so no stale copy of a token is left behind. */
static int
body_reserve(struct plex_req *r, size_t need)
{
	size_t cap;
	char *nb;

	if (need <= r->cap)
		return 0;
	cap = r->cap == 0 ? PLEX_BODY_CHUNK : r->cap;
	while (cap < need)
		cap *= 2;
	if (cap > PLEX_BODY_MAX + 1 && need <= PLEX_BODY_MAX + 1)
		cap = PLEX_BODY_MAX + 1;
	nb = malloc(cap);
	if (nb == NULL)
		return -1;
	if (r->len > 0)
		memcpy(nb, r->body, r->len);
	if (r->body != NULL)
		secret_wipe(r->body, r->cap);
	free(r->body);
	r->body = nb;
	r->cap = cap;
	return 0;
}

/*
 * Keep a 2xx body up to PLEX_BODY_MAX; count and drop anything else,
 * still up to PLEX_BODY_MAX so a chatty error page cannot run forever.
 * Returning short makes curl fail the transfer with CURLE_WRITE_ERROR.
 */
static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct plex_req *r = ud;
	size_t n = size * nmemb;
	long status = 0;

	if (n > PLEX_BODY_MAX - r->seen) {
		r->toobig = 1;
		return 0;
	}
	r->seen += n;
	(void)curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (!r->keep_body || !is2xx(status) || n == 0)
		return n;
	if (body_reserve(r, r->len + n + 1) == -1) {
		r->nomem = 1;
		return 0;
	}
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* The first bytes of a 2xx answer: is it an event stream? */
static int
stream_check(struct plex_req *r)
{
	char *ct = NULL;

	(void)curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
	if (ct == NULL || strncmp(ct, "text/event-stream", 17) != 0) {
		r->not_stream = 1;
		return -1;
	}
	r->stream_open = 1;
	return 0;
}

/* Count "event: ping" lines; a line too long is skipped whole. */
static void
stream_feed(struct plex_req *r, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] != '\n') {
			if (r->linelen < sizeof(r->line) - 1)
				r->line[r->linelen] = p[i];
			r->linelen++;
			continue;
		}
		if (r->linelen < sizeof(r->line)) {
			r->line[r->linelen] = '\0';
			if (strcmp(r->line, "event: ping") == 0 ||
			    strcmp(r->line, "event: ping\r") == 0)
				r->pings++;
		}
		r->linelen = 0;
	}
}

static size_t
stream_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct plex_req *r = ud;
	size_t n = size * nmemb;
	long status = 0;

	(void)curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (!is2xx(status)) {
		r->seen += n;
		return r->seen > PLEX_BODY_MAX ? 0 : n;
	}
	if (!r->stream_open && stream_check(r) == -1)
		return 0;
	r->seen += n;
	stream_feed(r, ptr, n);
	return n;
}

int
plex_req_stream_open(const struct plex_req *r)
{
	return r->stream_open;
}

unsigned long
plex_req_pings(const struct plex_req *r)
{
	return r->pings;
}

unsigned long
plex_req_received(const struct plex_req *r)
{
	return (unsigned long)r->seen;
}

/* Add "name: value"; the buffer that held the line is wiped. */
static int
add_header(struct curl_slist **list, const char *name, const char *value)
{
	struct curl_slist *nl;
	size_t n;
	char *line;
	const char *c;

	for (c = value; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return -1;
	}
	n = strlen(name) + 2 + strlen(value) + 1;
	line = malloc(n);
	if (line == NULL)
		return -1;
	snprintf(line, n, "%s: %s", name, value);
	nl = curl_slist_append(*list, line);
	secret_wipe(line, n);
	free(line);
	if (nl == NULL)
		return -1;
	*list = nl;
	return 0;
}

static int
build_headers(struct plex_req *r, const struct plex_target *t,
    const struct secret *tok)
{
	const char *cid = t->client_id != NULL ? t->client_id : "";

	const char *accept = r->kind == PLEX_REQ_EVENTS ?
	    "text/event-stream" : "application/json";

	if (add_header(&r->hdrs, "Accept", accept) == -1 ||
	    add_header(&r->hdrs, "X-Plex-Product", PACKAGE_NAME) == -1 ||
	    add_header(&r->hdrs, "X-Plex-Version", PACKAGE_VERSION) == -1 ||
	    add_header(&r->hdrs, "X-Plex-Client-Identifier", cid) == -1)
		return -1;
	if (r->kind == PLEX_REQ_IDENTITY || tok == NULL)
		return 0;
	return add_header(&r->hdrs, "X-Plex-Token", secret_str(tok));
}

static char *
build_url(enum plex_kind kind, const char *base)
{
	const char *path;
	size_t n;
	char *url;

	switch (kind) {
	case PLEX_REQ_TOKEN:
		path = PLEX_TOKEN_PATH;
		break;
	case PLEX_REQ_IDENTITY:
		path = "/identity";
		break;
	case PLEX_REQ_EVENTS:
		path = PLEX_EVENTS_PATH;
		break;
	default:
		path = "/";
		break;
	}
	n = strlen(base) + strlen(path) + 1;
	url = malloc(n);
	if (url != NULL)
		snprintf(url, n, "%s%s", base, path);
	return url;
}

#define SETOPT(e, o, v) (curl_easy_setopt((e), (o), (v)) == CURLE_OK)

static int
set_transport(struct plex_req *r, const struct plex_target *t)
{
	CURL *e = r->easy;
	int ok = 1;
	long verify = t->verify_tls != 0;

	ok &= SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	ok &= SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	ok &= SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	ok &= SETOPT(e, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* a stream lives as long as the server does */
	ok &= SETOPT(e, CURLOPT_TIMEOUT_MS,
	    r->kind == PLEX_REQ_EVENTS ? 0L : r->timeout_ms);
	ok &= SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms);
	ok &= SETOPT(e, CURLOPT_SSL_VERIFYPEER, verify);
	ok &= SETOPT(e, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	if (t->ca_file != NULL)
		ok &= SETOPT(e, CURLOPT_CAINFO, t->ca_file);
	ok &= SETOPT(e, CURLOPT_ERRORBUFFER, r->errbuf);
	ok &= SETOPT(e, CURLOPT_PRIVATE, (void *)r);
	ok &= SETOPT(e, CURLOPT_WRITEFUNCTION,
	    r->kind == PLEX_REQ_EVENTS ? stream_cb : write_cb);
	ok &= SETOPT(e, CURLOPT_WRITEDATA, (void *)r);
	if (r->keep_body)
		ok &= SETOPT(e, CURLOPT_MAXFILESIZE_LARGE,
		    (curl_off_t)PLEX_BODY_MAX);
	ok &= SETOPT(e, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	return ok ? 0 : -1;
}

static int
set_request(struct plex_req *r, const char *url)
{
	CURL *e = r->easy;
	int ok = 1;

	ok &= SETOPT(e, CURLOPT_URL, url);
	ok &= SETOPT(e, CURLOPT_HTTPHEADER, r->hdrs);
	if (r->kind == PLEX_REQ_TOKEN) {
		ok &= SETOPT(e, CURLOPT_POST, 1L);
		ok &= SETOPT(e, CURLOPT_POSTFIELDS, "");
		ok &= SETOPT(e, CURLOPT_POSTFIELDSIZE, 0L);
	} else
		ok &= SETOPT(e, CURLOPT_HTTPGET, 1L);
	return ok ? 0 : -1;
}

struct plex_req *
plex_req_new(enum plex_kind kind, const struct plex_target *t,
    const struct secret *tok)
{
	struct plex_req *r;
	char *url = NULL;
	int rc = -1;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->kind = kind;
	r->timeout_ms = t->timeout_ms > 0 ? t->timeout_ms : 10000;
	r->keep_body = kind != PLEX_REQ_VERIFY && kind != PLEX_REQ_EVENTS;
	r->easy = curl_easy_init();
	if (r->easy == NULL || t->url == NULL)
		goto done;
	url = build_url(kind, t->url);
	if (url == NULL || build_headers(r, t, tok) == -1)
		goto done;
	if (set_transport(r, t) == -1 || set_request(r, url) == -1)
		goto done;
	rc = 0;
done:
	free(url);
	if (rc == -1) {
		plex_req_free(r);
		r = NULL;
	}
	return r;
}

CURL *
plex_req_easy(struct plex_req *r)
{
	return r->easy;
}

enum plex_kind
plex_req_kind(const struct plex_req *r)
{
	return r->kind;
}

void
plex_req_set_data(struct plex_req *r, void *data)
{
	r->data = data;
}

void *
plex_req_data(const struct plex_req *r)
{
	return r->data;
}

void
plex_req_free(struct plex_req *r)
{
	struct curl_slist *h;

	if (r == NULL)
		return;
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	for (h = r->hdrs; h != NULL; h = h->next) {
		if (h->data != NULL)
			explicit_bzero(h->data, strlen(h->data));
	}
	curl_slist_free_all(r->hdrs);
	body_reset(r);
	free(r);
}

void
plex_result_clear(struct plex_result *res)
{
	if (res == NULL)
		return;
	secret_free(res->token);
	res->token = NULL;
	plexres_free(res->resources);
	res->resources = NULL;
}

/* ------------------------------------------------------------- finish */

static const struct {
	CURLcode cc;
	enum plex_err err;
	const char *what;
} curl_map[] = {
	{ CURLE_COULDNT_RESOLVE_HOST, PLEX_ERR_CONNECT, "cannot resolve" },
	{ CURLE_COULDNT_RESOLVE_PROXY, PLEX_ERR_CONNECT, "cannot resolve" },
	{ CURLE_COULDNT_CONNECT, PLEX_ERR_CONNECT, "cannot connect" },
	{ CURLE_SEND_ERROR, PLEX_ERR_CONNECT, "connection lost" },
	{ CURLE_RECV_ERROR, PLEX_ERR_CONNECT, "connection lost" },
	{ CURLE_GOT_NOTHING, PLEX_ERR_CONNECT, "closed without answer" },
	{ CURLE_PARTIAL_FILE, PLEX_ERR_CONNECT, "answer cut short" },
	{ CURLE_OPERATION_TIMEDOUT, PLEX_ERR_TIMEOUT, "timed out" },
	{ CURLE_SSL_CONNECT_ERROR, PLEX_ERR_TLS, "TLS handshake failed" },
	{ CURLE_PEER_FAILED_VERIFICATION, PLEX_ERR_TLS,
	    "certificate not trusted" },
	{ CURLE_SSL_CACERT_BADFILE, PLEX_ERR_TLS, "bad CA file" },
	{ CURLE_SSL_CERTPROBLEM, PLEX_ERR_TLS, "TLS certificate problem" },
	{ CURLE_SSL_CIPHER, PLEX_ERR_TLS, "TLS cipher problem" },
	{ CURLE_SSL_ISSUER_ERROR, PLEX_ERR_TLS, "certificate issuer" },
	{ CURLE_SSL_CRL_BADFILE, PLEX_ERR_TLS, "bad CRL file" },
	{ CURLE_SSL_PINNEDPUBKEYNOTMATCH, PLEX_ERR_TLS, "pinned key" },
	{ CURLE_SSL_INVALIDCERTSTATUS, PLEX_ERR_TLS, "certificate status" },
	{ CURLE_SSL_SHUTDOWN_FAILED, PLEX_ERR_TLS, "TLS shutdown failed" },
	{ CURLE_SSL_ENGINE_NOTFOUND, PLEX_ERR_TLS, "TLS engine" },
	{ CURLE_SSL_ENGINE_SETFAILED, PLEX_ERR_TLS, "TLS engine" },
	{ CURLE_SSL_ENGINE_INITFAILED, PLEX_ERR_TLS, "TLS engine" },
	{ CURLE_SSL_CLIENTCERT, PLEX_ERR_TLS, "TLS client certificate" },
	{ CURLE_USE_SSL_FAILED, PLEX_ERR_TLS, "TLS refused" },
	{ CURLE_WEIRD_SERVER_REPLY, PLEX_ERR_MALFORMED,
	    "malformed answer: not HTTP" },
	{ CURLE_OUT_OF_MEMORY, PLEX_ERR_NOMEM, "out of memory" },
	{ CURLE_URL_MALFORMAT, PLEX_ERR_INTERNAL, "bad URL" },
	{ CURLE_FAILED_INIT, PLEX_ERR_INTERNAL, "curl setup failed" },
	{ CURLE_BAD_FUNCTION_ARGUMENT, PLEX_ERR_INTERNAL, "curl misuse" },
	{ CURLE_NOT_BUILT_IN, PLEX_ERR_INTERNAL, "not built into curl" }
};

/*
 * A transport failure.  Unknown codes count as a connection failure:
 * the transfer broke somewhere between us and the server.
 */
static void
finish_curl(struct plex_req *r, CURLcode cc, struct plex_result *res)
{
	const char *what = "transfer failed", *ip = NULL;
	const char *detail = r->errbuf[0] != '\0' ? r->errbuf :
	    curl_easy_strerror(cc);
	size_t i;

	res->err = PLEX_ERR_CONNECT;
	for (i = 0; i < sizeof(curl_map) / sizeof(curl_map[0]); i++) {
		if (curl_map[i].cc == cc) {
			res->err = curl_map[i].err;
			what = curl_map[i].what;
			break;
		}
	}
	/* refused HTTP/0.9 after connecting: the server spoke no HTTP */
	(void)curl_easy_getinfo(r->easy, CURLINFO_PRIMARY_IP, &ip);
	if (cc == CURLE_UNSUPPORTED_PROTOCOL) {
		res->err = ip != NULL && ip[0] != '\0' ?
		    PLEX_ERR_MALFORMED : PLEX_ERR_INTERNAL;
		what = res->err == PLEX_ERR_MALFORMED ?
		    "malformed answer: not HTTP" : "unsupported protocol";
	}
	if (cc == CURLE_OPERATION_TIMEDOUT)
		reasonf(res->reason, sizeof(res->reason),
		    "timed out after %ld ms", r->timeout_ms);
	else
		reasonf(res->reason, sizeof(res->reason), "%s: %s", what,
		    detail);
}

static void
finish_status(struct plex_result *res)
{
	res->err = res->status == 401 || res->status == 403 ?
	    PLEX_ERR_AUTH : PLEX_ERR_HTTP;
	reasonf(res->reason, sizeof(res->reason), "HTTP %ld", res->status);
}

static void
finish_body(struct plex_req *r, struct plex_result *res)
{
	const char *body = r->body != NULL ? r->body : "";

	switch (r->kind) {
	case PLEX_REQ_TOKEN:
		res->err = plex_parse_token(body, r->len, &res->token,
		    res->reason, sizeof(res->reason));
		break;
	case PLEX_REQ_IDENTITY:
		res->err = plex_parse_identity(body, r->len, res->machine_id,
		    res->version, res->reason, sizeof(res->reason));
		break;
	case PLEX_REQ_RESOURCES:
		res->err = plexres_parse(body, r->len, &res->resources,
		    res->reason, sizeof(res->reason));
		break;
	default:
		res->err = PLEX_OK;
		reasonf(res->reason, sizeof(res->reason), "HTTP %ld",
		    res->status);
		break;
	}
}

void
plex_req_finish(struct plex_req *r, CURLcode cc, struct plex_result *res)
{
	int cut;

	memset(res, 0, sizeof(*res));
	(void)curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE,
	    &res->status);
	(void)curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &res->seconds);
	/* we cut it: past PLEX_BODY_MAX, or Content-Length said so */
	cut = r->toobig || cc == CURLE_FILESIZE_EXCEEDED;
	if (r->not_stream) {
		res->err = PLEX_ERR_MALFORMED;
		reasonf(res->reason, sizeof(res->reason),
		    "not an event stream");
	} else if (r->nomem) {
		res->err = PLEX_ERR_NOMEM;
		reasonf(res->reason, sizeof(res->reason),
		    "out of memory reading the answer");
	} else if (cut && res->status != 0 && !is2xx(res->status))
		finish_status(res);
	else if (cut && (r->keep_body || res->status == 0)) {
		res->err = PLEX_ERR_TOOBIG;
		reasonf(res->reason, sizeof(res->reason),
		    "answer larger than %d bytes", PLEX_BODY_MAX);
	} else if (cc != CURLE_OK && !cut)
		finish_curl(r, cc, res);
	else if (!is2xx(res->status))
		finish_status(res);
	else
		finish_body(r, res);	/* a verify cut short is fine */
	body_reset(r);
	r->errbuf[0] = '\0';
}

void
plex_req_perform(struct plex_req *r, struct plex_result *res)
{
	CURLcode cc;

	body_reset(r);
	r->errbuf[0] = '\0';
	cc = curl_easy_perform(r->easy);
	plex_req_finish(r, cc, res);
}
