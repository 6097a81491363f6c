/*
 * plex-sim.c - a Plex Media Server simulator for the integration tests,
 * the README demo and the benchmark.  tests/plex-sim.md documents the
 * command line, the Plex routes and the control API.
 */
#ifdef HAVE_CONFIG_H
#include "ac-config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#define TOK_CAP		100000
#define TOK_RAND	24
#define TOK_PREFIX	"transient-"
#define TOK_LEN		(sizeof(TOK_PREFIX) - 1 + TOK_RAND)
#define TOK_BUCKETS	131072u
#define SRC_PREFIX	"src-"
#define SRC_LEN		(sizeof(SRC_PREFIX) - 1 + TOK_RAND)
#define STEP_MS		20
#define BODY_MAX	4096
#define SECRET_MAX	65536
#define HUGE_PAD	(200 * 1024)
#define ID_MAX		256
#define MS_MAX		3600000L
#define CONN_LIMIT	4000u
#define STACK_SIZE	((size_t)256 * 1024)
#define START_TRIES	100

#define CT_JSON		"application/json"
#define CT_XML		"text/xml;charset=utf-8"
#define CT_HTML		"text/html"
#define XML_DECL	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define PING_EVENT	"event: ping\ndata: {}\n\n"
#define FRIENDLY_NAME	"plex-sim"

/* Requests per route; the order of enum route, then the rest. */
enum ctr {
	C_TOKEN, C_VERIFY, C_IDENTITY, C_RESOURCES, C_EVENTS, C_OTHER,
	C_ISSUED, C_ADMIN_URL, C_MAX
};

enum route {
	R_TOKEN, R_VERIFY, R_IDENTITY, R_RESOURCES, R_EVENTS, R_OTHER
};

enum auth { AUTH_NONE, AUTH_BAD, AUTH_ADMIN, AUTH_TRANSIENT };

enum tmode {
	TM_OK, TM_XML, TM_401, TM_403, TM_500, TM_GARBAGE, TM_TRUNC,
	TM_HUGE, TM_EMPTY, TM_HANG, TM_MAX
};
enum vmode { VM_OK, VM_500, VM_HANG, VM_MAX };
enum smode { SM_OK, SM_SILENT, SM_404, SM_MAX };

static const char *const ctr_names[C_MAX] = {
	"security_token", "verify", "identity", "resources", "eventsource",
	"other", "issued", "admin_in_url"
};
static const char *const tmode_names[TM_MAX] = {
	"ok", "xml", "401", "403", "500", "garbage", "truncated", "huge",
	"empty", "hang"
};
static const char *const vmode_names[VM_MAX] = { "ok", "500", "hang" };
static const char *const smode_names[SM_MAX] = { "ok", "silent", "404" };

/* A source /security/resources knows, as a shared server would be. */
struct source {
	const char	*id;
	const char	*name;
	const char	*v4;
	const char	*v4_dash;
	const char	*v6;
	const char	*v6_dash;
	const char	*relay;
	const char	*relay_dash;
};

static const struct source sources[] = {
	{ "abc123", "Friend's Server", "192.168.1.20", "192-168-1-20",
	    "2001:db8::20", "2001-db8--20", "203.0.113.7", "203-0-113-7" },
	{ "def456", "Office Server", "192.168.1.30", "192-168-1-30",
	    "2001:db8::30", "2001-db8--30", "203.0.113.8", "203-0-113-8" },
};
#define NSOURCES	(sizeof(sources) / sizeof(sources[0]))

/* Live transient tokens: a FIFO ring, chained into a hash table. */
struct tokset {
	char		(*tok)[TOK_LEN + 1];
	int32_t		*next;
	int32_t		*bucket;
	size_t		 head;
	size_t		 count;
};

/* One request on the Plex port, as the handlers see it. */
struct preq {
	struct MHD_Connection	*c;
	unsigned int		 epoch;
	int			 fd;
	int			 json;
	enum auth		 auth;
};

/* One event stream. */
struct stream {
	int		 fd;
	unsigned int	 epoch;
	long long	 last_ms;
};

/* One request on the control port. */
struct ctl_req {
	size_t	len;
	int	over;
	int	quit;
	char	body[BODY_MAX + 1];
};

struct attr {
	const char	*key;
	const char	*str;
	long long	 num;
	int		 kind;	/* 's' string, 'i' integer, 'b' boolean */
};

/* Settings from the command line. */
static char		*admin_token;
#define DEFAULT_ID	"0123456789abcdef0123456789abcdef01234567"
static const char	*machine_id = DEFAULT_ID;
static const char	*server_version = "1.40.0.7998-c29d4c0c8";
static const char	*port_file;
static const char	*admin_file;
static int		 quiet;
static int		 no_eventsource;
static atomic_uint	 plex_port;
static atomic_uint	 ctl_port;
static uint64_t		 seed;
static int		 have_seed;

/* Run-time state. */
static atomic_ullong	 counters[C_MAX];
static atomic_long	 delay_ms;
static atomic_long	 ping_ms = 10000;
static atomic_int	 mode_token;
static atomic_int	 mode_verify;
static atomic_int	 mode_stream;
static atomic_int	 streams_open;
static atomic_uint	 epoch;
static atomic_int	 plex_stopping;
static atomic_int	 quitting;
static atomic_int	 plex_up;
static atomic_uint	 generation = 1;
static atomic_llong	 up_since_ms;

static pthread_mutex_t	 tok_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tokset	 ts;
static uint64_t		 rng_state;
static char		 src_tok[NSOURCES][SRC_LEN + 1];

static pthread_mutex_t	 id_lock = PTHREAD_MUTEX_INITIALIZER;
static char		 last_client_id[ID_MAX];
static char		 last_product[ID_MAX];

/* Serializes /restart, /down, /up and the final stop. */
static pthread_mutex_t	 ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct MHD_Daemon *plex_daemon;
static struct MHD_Daemon *ctl_daemon;

/* ------------------------------------------------------------ helpers */

static void logmsg(const char *, ...)
    __attribute__((format(printf, 1, 2)));

static void
logmsg(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	fputs("plex-sim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static long long
clock_ms(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec t;

	t.tv_sec = ms / 1000;
	t.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&t, &t) == -1 && errno == EINTR)
		;
}

static int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
name_index(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

static void
ctr_inc(enum ctr c)
{
	atomic_fetch_add(&counters[c], 1);
}

/* Strips surrounding white space in place. */
static char *
strip(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* ------------------------------------------------------------- tokens */

static uint64_t
rng_next(void)
{
	uint64_t z;

	rng_state += 0x9e3779b97f4a7c15ULL;
	z = rng_state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rand_alnum(char *out, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = a[rng_next() % (sizeof(a) - 1)];
	out[n] = '\0';
}

static uint32_t
tok_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h & (TOK_BUCKETS - 1);
}

static int
tokset_init(void)
{
	ts.tok = calloc(TOK_CAP, sizeof(*ts.tok));
	ts.next = calloc(TOK_CAP, sizeof(*ts.next));
	ts.bucket = malloc(TOK_BUCKETS * sizeof(*ts.bucket));
	if (ts.tok == NULL || ts.next == NULL || ts.bucket == NULL)
		return -1;
	memset(ts.bucket, 0xff, TOK_BUCKETS * sizeof(*ts.bucket));
	return 0;
}

static void
tokset_free(void)
{
	free(ts.tok);
	free(ts.next);
	free(ts.bucket);
	memset(&ts, 0, sizeof(ts));
}

static void
tokset_clear(void)
{
	memset(ts.bucket, 0xff, TOK_BUCKETS * sizeof(*ts.bucket));
	ts.head = 0;
	ts.count = 0;
}

static int
tokset_has(const char *t)
{
	int32_t i;

	if (strlen(t) != TOK_LEN)
		return 0;
	for (i = ts.bucket[tok_hash(t)]; i != -1; i = ts.next[i])
		if (strcmp(ts.tok[i], t) == 0)
			return 1;
	return 0;
}

static void
tokset_drop_oldest(void)
{
	int32_t slot = (int32_t)ts.head;
	int32_t *pp;

	pp = &ts.bucket[tok_hash(ts.tok[slot])];
	while (*pp != slot)
		pp = &ts.next[*pp];
	*pp = ts.next[slot];
	ts.head = (ts.head + 1) % TOK_CAP;
	ts.count--;
}

static void
tokset_add(const char *t)
{
	int32_t slot;
	uint32_t h;

	if (ts.count == TOK_CAP)
		tokset_drop_oldest();
	slot = (int32_t)((ts.head + ts.count) % TOK_CAP);
	memcpy(ts.tok[slot], t, TOK_LEN + 1);
	h = tok_hash(t);
	ts.next[slot] = ts.bucket[h];
	ts.bucket[h] = slot;
	ts.count++;
}

/* --issued-file: every token issued, one a line, for leak checks */
static FILE *issued_fp;

static void
tok_issue(char out[TOK_LEN + 1])
{
	size_t plen = sizeof(TOK_PREFIX) - 1;

	pthread_mutex_lock(&tok_lock);
	do {
		memcpy(out, TOK_PREFIX, plen);
		rand_alnum(out + plen, TOK_RAND);
	} while (tokset_has(out));
	tokset_add(out);
	if (issued_fp != NULL) {
		fprintf(issued_fp, "%s\n", out);
		fflush(issued_fp);
	}
	pthread_mutex_unlock(&tok_lock);
	ctr_inc(C_ISSUED);
}

static int
tok_live(const char *t)
{
	int live;

	pthread_mutex_lock(&tok_lock);
	live = tokset_has(t);
	pthread_mutex_unlock(&tok_lock);
	return live;
}

static size_t
tok_count(void)
{
	size_t n;

	pthread_mutex_lock(&tok_lock);
	n = ts.count;
	pthread_mutex_unlock(&tok_lock);
	return n;
}

/* Forgets every transient token and makes new source tokens. */
static void
tok_reset(void)
{
	size_t i, plen = sizeof(SRC_PREFIX) - 1;

	pthread_mutex_lock(&tok_lock);
	tokset_clear();
	for (i = 0; i < NSOURCES; i++) {
		memcpy(src_tok[i], SRC_PREFIX, plen);
		rand_alnum(src_tok[i] + plen, TOK_RAND);
	}
	pthread_mutex_unlock(&tok_lock);
}

static void
src_token(size_t i, char out[SRC_LEN + 1])
{
	pthread_mutex_lock(&tok_lock);
	memcpy(out, src_tok[i], SRC_LEN + 1);
	pthread_mutex_unlock(&tok_lock);
}

/* ----------------------------------------------------------- answers */

struct sbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 err;
};

static void
sb_addn(struct sbuf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap == 0 ? 512 : b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->err = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_add(struct sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

/* Adds ` key="value"`, the value escaped for an XML attribute. */
static void
sb_attr(struct sbuf *b, const char *key, const char *v)
{
	sb_add(b, " ");
	sb_add(b, key);
	sb_add(b, "=\"");
	for (; *v != '\0'; v++) {
		if (*v == '&')
			sb_add(b, "&amp;");
		else if (*v == '<')
			sb_add(b, "&lt;");
		else if (*v == '>')
			sb_add(b, "&gt;");
		else if (*v == '"')
			sb_add(b, "&quot;");
		else
			sb_addn(b, v, 1);
	}
	sb_add(b, "\"");
}

static void
sb_attr_num(struct sbuf *b, const char *key, long long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", v);
	sb_attr(b, key, num);
}

/* Queues body (malloc'd, taken over) with status and type. */
static enum MHD_Result
send_buf(struct MHD_Connection *c, unsigned int status, const char *ctype,
    char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (body == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(len, body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-cache");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
send_str(struct MHD_Connection *c, unsigned int status, const char *ctype,
    const char *s)
{
	return send_buf(c, status, ctype, strdup(s), strlen(s));
}

static enum MHD_Result
send_sbuf(struct MHD_Connection *c, unsigned int status, const char *ctype,
    struct sbuf *b)
{
	if (b->err) {
		free(b->p);
		return MHD_NO;
	}
	if (b->p == NULL)
		return send_str(c, status, ctype, "");
	return send_buf(c, status, ctype, b->p, b->len);
}

/* Takes over obj. */
static enum MHD_Result
send_json(struct MHD_Connection *c, unsigned int status, json_t *obj)
{
	char *s;

	if (obj == NULL)
		return MHD_NO;
	s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (s == NULL)
		return MHD_NO;
	return send_buf(c, status, CT_JSON, s, strlen(s));
}

/* An error page as PMS sends it. */
static enum MHD_Result
send_html(struct MHD_Connection *c, unsigned int status)
{
	const char *what = "Error";
	char page[256];

	if (status == 400)
		what = "Bad Request";
	else if (status == 401)
		what = "Unauthorized";
	else if (status == 403)
		what = "Forbidden";
	else if (status == 404)
		what = "Not Found";
	else if (status == 500)
		what = "Internal Server Error";
	snprintf(page, sizeof(page), "<html><head><title>%s</title></head>"
	    "<body><h1>%u %s</h1></body></html>", what, status, what);
	return send_str(c, status, CT_HTML, page);
}

static json_t *
jstr(const char *s)
{
	json_t *j = json_string(s);

	return j != NULL ? j : json_string("");
}

/* A MediaContainer holding only attributes, JSON or XML. */
static enum MHD_Result
send_container(struct MHD_Connection *c, int json, const struct attr *a,
    size_t n)
{
	struct sbuf b = { 0 };
	json_t *mc;
	size_t i;

	if (json) {
		mc = json_object();
		for (i = 0; i < n; i++)
			json_object_set_new(mc, a[i].key,
			    a[i].kind == 's' ? jstr(a[i].str) :
			    a[i].kind == 'b' ? json_boolean(a[i].num) :
			    json_integer(a[i].num));
		return send_json(c, 200, json_pack("{s:o}",
		    "MediaContainer", mc));
	}
	sb_add(&b, XML_DECL "<MediaContainer");
	for (i = 0; i < n; i++) {
		if (a[i].kind == 's')
			sb_attr(&b, a[i].key, a[i].str);
		else
			sb_attr_num(&b, a[i].key, a[i].num);
	}
	sb_add(&b, "/>\n");
	return send_sbuf(c, 200, CT_XML, &b);
}

/* ------------------------------------------------------ Plex requests */

static int
plex_aborted(unsigned int ep)
{
	return atomic_load(&plex_stopping) || atomic_load(&quitting) ||
	    atomic_load(&epoch) != ep;
}

/* Waits up to ms for the client to hang up; 1 if it did. */
static int
client_gone(int fd, long ms)
{
	struct pollfd p;

	if (fd < 0) {
		sleep_ms(ms);
		return 0;
	}
	p.fd = fd;
	p.events = POLLRDHUP;
	p.revents = 0;
	if (poll(&p, 1, (int)ms) <= 0)
		return 0;
	return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

/*
 * Waits ms milliseconds (forever if ms < 0) or until done() is true,
 * in STEP_MS steps.  Returns -1 if the listener stops or the client
 * hangs up meanwhile, else 0.
 */
static int
conn_wait(const struct preq *r, long ms, int (*done)(void))
{
	long long end = clock_ms(CLOCK_MONOTONIC) + ms, left;
	long step;

	for (;;) {
		if (plex_aborted(r->epoch))
			return -1;
		if (done != NULL && done())
			return 0;
		left = end - clock_ms(CLOCK_MONOTONIC);
		if (ms >= 0 && left <= 0)
			return 0;
		step = ms < 0 || left > STEP_MS ? STEP_MS : (long)left;
		if (client_gone(r->fd, step))
			return -1;
	}
}

static int
token_unhung(void)
{
	return atomic_load(&mode_token) != TM_HANG;
}

static int
verify_unhung(void)
{
	return atomic_load(&mode_verify) != VM_HANG;
}

static const char *
plex_token_of(struct MHD_Connection *c)
{
	const char *t;

	t = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Plex-Token");
	if (t == NULL)
		t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
		    "X-Plex-Token");
	return t;
}

static enum auth
auth_of(struct MHD_Connection *c)
{
	const char *t = plex_token_of(c);

	if (t == NULL || *t == '\0')
		return AUTH_NONE;
	if (strcmp(t, admin_token) == 0)
		return AUTH_ADMIN;
	if (tok_live(t))
		return AUTH_TRANSIENT;
	return AUTH_BAD;
}

static enum MHD_Result
arg_is_admin(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	int *hit = cls;

	if ((value != NULL && strcmp(value, admin_token) == 0) ||
	    (key != NULL && strcmp(key, admin_token) == 0))
		*hit = 1;
	return MHD_YES;
}

/* Counts the admin token in the URL; keeps the client's names. */
static void
note_request(struct MHD_Connection *c, const char *url)
{
	const char *id, *prod;
	int hit = 0;

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, arg_is_admin,
	    &hit);
	if (hit || strstr(url, admin_token) != NULL)
		ctr_inc(C_ADMIN_URL);
	id = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Plex-Client-Identifier");
	prod = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Plex-Product");
	if (id == NULL && prod == NULL)
		return;
	pthread_mutex_lock(&id_lock);
	if (id != NULL)
		snprintf(last_client_id, sizeof(last_client_id), "%s", id);
	if (prod != NULL)
		snprintf(last_product, sizeof(last_product), "%s", prod);
	pthread_mutex_unlock(&id_lock);
}

static void
preq_init(struct preq *r, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	const char *accept;

	r->c = c;
	r->epoch = atomic_load(&epoch);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	r->fd = ci != NULL ? ci->connect_fd : -1;
	accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_ACCEPT);
	r->json = accept != NULL && strstr(accept, CT_JSON) != NULL;
	r->auth = auth_of(c);
}

static enum route
route_of(const char *url, const char *method)
{
	int get, tok;

	get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	tok = get || strcmp(method, "POST") == 0 ||
	    strcmp(method, "PUT") == 0;
	if (strcmp(url, "/security/token") == 0 && tok)
		return R_TOKEN;
	if (!get)
		return R_OTHER;
	if (strcmp(url, "/") == 0)
		return R_VERIFY;
	if (strcmp(url, "/identity") == 0)
		return R_IDENTITY;
	if (strcmp(url, "/security/resources") == 0)
		return R_RESOURCES;
	if (strcmp(url, "/:/eventsource/notifications") == 0)
		return R_EVENTS;
	return R_OTHER;
}

/* ------------------------------------------------------- Plex routes */

static enum MHD_Result
token_answer(const struct preq *r, int mode)
{
	char tok[TOK_LEN + 1] = "";
	struct attr a[2] = {
		{ "size", NULL, 0, 'i' }, { "token", tok, 0, 's' }
	};
	char *pad;
	json_t *j;

	if (mode != TM_EMPTY)
		tok_issue(tok);
	if (mode != TM_HUGE)
		return send_container(r->c, r->json && mode != TM_XML, a, 2);
	pad = malloc(HUGE_PAD + 1);
	if (pad == NULL)
		return MHD_NO;
	memset(pad, 'x', HUGE_PAD);
	pad[HUGE_PAD] = '\0';
	j = json_pack("{s:{s:i,s:s,s:s}}", "MediaContainer", "size", 0,
	    "token", tok, "padding", pad);
	free(pad);
	return send_json(r->c, 200, j);
}

static int
token_query_ok(struct MHD_Connection *c)
{
	const char *type, *scope;

	type = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "type");
	scope = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "scope");
	return type != NULL && strcmp(type, "delegation") == 0 &&
	    scope != NULL && strcmp(scope, "all") == 0;
}

static enum MHD_Result
route_token(const struct preq *r)
{
	int m = atomic_load(&mode_token);

	if (m == TM_HANG) {
		if (conn_wait(r, -1, token_unhung) != 0)
			return MHD_NO;
		m = atomic_load(&mode_token);
	}
	switch (m) {
	case TM_401:
	case TM_403:
	case TM_500:
		return send_html(r->c, m == TM_401 ? 401 :
		    m == TM_403 ? 403 : 500);
	case TM_GARBAGE:
		return send_str(r->c, 200, CT_HTML,
		    "<<<not a plex answer>>>");
	case TM_TRUNC:
		return send_str(r->c, 200, CT_JSON,
		    "{\"MediaContainer\":{\"size\":0,\"tok");
	default:
		break;
	}
	if (!token_query_ok(r->c))
		return send_html(r->c, 400);
	if (r->auth != AUTH_ADMIN && r->auth != AUTH_TRANSIENT)
		return send_html(r->c, 401);
	return token_answer(r, m);
}

static enum MHD_Result
route_verify(const struct preq *r)
{
	int m = atomic_load(&mode_verify);
	struct attr a[6] = {
		{ "size", NULL, 0, 'i' }, { "claimed", NULL, 1, 'b' },
		{ "friendlyName", FRIENDLY_NAME, 0, 's' },
		{ "machineIdentifier", machine_id, 0, 's' },
		{ "version", server_version, 0, 's' },
		{ "myPlex", NULL, 1, 'b' }
	};

	if (m == VM_HANG) {
		if (conn_wait(r, -1, verify_unhung) != 0)
			return MHD_NO;
		m = atomic_load(&mode_verify);
	}
	if (m == VM_500)
		return send_html(r->c, 500);
	if (r->auth != AUTH_ADMIN && r->auth != AUTH_TRANSIENT)
		return send_html(r->c, 401);
	return send_container(r->c, r->json, a, 6);
}

static enum MHD_Result
route_identity(const struct preq *r)
{
	struct attr a[4] = {
		{ "size", NULL, 0, 'i' }, { "claimed", NULL, 1, 'b' },
		{ "machineIdentifier", machine_id, 0, 's' },
		{ "version", server_version, 0, 's' }
	};

	return send_container(r->c, r->json, a, 4);
}

/* A source's addresses: LAN IPv4, IPv6, relay. */
struct conn {
	const char	*addr;
	const char	*dash;
	int		 port;
	int		 local;
	int		 relay;
	int		 v6;
};

static void
source_conns(const struct source *s, struct conn k[3])
{
	k[0] = (struct conn){ s->v4, s->v4_dash, 32400, 1, 0, 0 };
	k[1] = (struct conn){ s->v6, s->v6_dash, 32400, 0, 0, 1 };
	k[2] = (struct conn){ s->relay, s->relay_dash, 8443, 0, 1, 0 };
}

static void
conn_uri(const struct source *s, const struct conn *k, char *uri,
    size_t len)
{
	snprintf(uri, len, k->v6 ? "https://[%s].%s.plex.direct:%d" :
	    "https://%s.%s.plex.direct:%d", k->dash, s->id, k->port);
}

static json_t *
device_json(const struct source *s, const char *tok)
{
	struct conn k[3];
	char uri[256];
	json_t *conns, *j;
	size_t i;

	source_conns(s, k);
	conns = json_array();
	for (i = 0; i < 3; i++) {
		conn_uri(s, &k[i], uri, sizeof(uri));
		j = json_pack("{s:s,s:s,s:i,s:s,s:b,s:b}", "protocol",
		    "https", "address", k[i].addr, "port", k[i].port, "uri",
		    uri, "local", k[i].local, "relay", k[i].relay);
		if (j != NULL && k[i].v6)
			json_object_set_new(j, "IPv6", json_true());
		json_array_append_new(conns, j);
	}
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:o}", "name",
	    s->name, "product", "Plex Media Server", "productVersion",
	    server_version, "clientIdentifier", s->id, "provides", "server",
	    "owned", 0, "accessToken", tok, "Connection", conns);
}

static void
device_xml(struct sbuf *b, const struct source *s, const char *tok)
{
	struct conn k[3];
	char uri[256];
	size_t i;

	source_conns(s, k);
	sb_add(b, "<Device");
	sb_attr(b, "name", s->name);
	sb_attr(b, "product", "Plex Media Server");
	sb_attr(b, "productVersion", server_version);
	sb_attr(b, "clientIdentifier", s->id);
	sb_attr(b, "provides", "server");
	sb_attr(b, "owned", "0");
	sb_attr(b, "accessToken", tok);
	sb_add(b, ">\n");
	for (i = 0; i < 3; i++) {
		conn_uri(s, &k[i], uri, sizeof(uri));
		sb_add(b, "<Connection");
		sb_attr(b, "protocol", "https");
		sb_attr(b, "address", k[i].addr);
		sb_attr_num(b, "port", k[i].port);
		sb_attr(b, "uri", uri);
		sb_attr_num(b, "local", k[i].local);
		sb_attr_num(b, "relay", k[i].relay);
		if (k[i].v6)
			sb_attr(b, "IPv6", "1");
		sb_add(b, "/>\n");
	}
	sb_add(b, "</Device>\n");
}

static enum MHD_Result
resources_answer(const struct preq *r, size_t i)
{
	char tok[SRC_LEN + 1];
	struct sbuf b = { 0 };

	src_token(i, tok);
	if (r->json)
		return send_json(r->c, 200, json_pack("{s:{s:i,s:[o]}}",
		    "MediaContainer", "size", 1, "Device",
		    device_json(&sources[i], tok)));
	sb_add(&b, XML_DECL "<MediaContainer size=\"1\">\n");
	device_xml(&b, &sources[i], tok);
	sb_add(&b, "</MediaContainer>\n");
	return send_sbuf(r->c, 200, CT_XML, &b);
}

static enum MHD_Result
route_resources(const struct preq *r)
{
	static const char pfx[] = "server://";
	const char *src;
	size_t i;

	if (r->auth != AUTH_ADMIN && r->auth != AUTH_TRANSIENT)
		return send_html(r->c, 401);
	src = MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND,
	    "source");
	if (src == NULL || strncmp(src, pfx, sizeof(pfx) - 1) != 0 ||
	    src[sizeof(pfx) - 1] == '\0')
		return send_html(r->c, 400);
	for (i = 0; i < NSOURCES; i++)
		if (strcmp(src + sizeof(pfx) - 1, sources[i].id) == 0)
			return resources_answer(r, i);
	return send_html(r->c, 404);
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	size_t n = sizeof(PING_EVENT) - 1;
	long long now;

	for (;;) {
		if (plex_aborted(s->epoch))
			return MHD_CONTENT_READER_END_OF_STREAM;
		now = clock_ms(CLOCK_MONOTONIC);
		if (atomic_load(&mode_stream) != SM_SILENT && max >= n &&
		    now - s->last_ms >= atomic_load(&ping_ms)) {
			memcpy(buf, PING_EVENT, n);
			s->last_ms = now;
			return (ssize_t)n;
		}
		if (client_gone(s->fd, STEP_MS))
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
}

static void
stream_free(void *cls)
{
	free(cls);
	atomic_fetch_sub(&streams_open, 1);
}

static enum MHD_Result
route_events(const struct preq *r)
{
	struct MHD_Response *resp;
	struct stream *s;
	enum MHD_Result ret;

	if (no_eventsource || atomic_load(&mode_stream) == SM_404)
		return send_html(r->c, 404);
	if (r->auth != AUTH_TRANSIENT)
		return send_html(r->c, 401);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return MHD_NO;
	s->fd = r->fd;
	s->epoch = r->epoch;
	s->last_ms = clock_ms(CLOCK_MONOTONIC);
	atomic_fetch_add(&streams_open, 1);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024,
	    stream_read, s, stream_free);
	if (resp == NULL) {
		stream_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-cache");
	ret = MHD_queue_response(r->c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
plex_handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	static int marker;
	struct preq r;
	enum route rt;
	long delay;

	if (*con_cls == NULL) {
		*con_cls = &marker;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (atomic_load(&plex_stopping))
		return MHD_NO;
	preq_init(&r, c);
	note_request(c, url);
	rt = route_of(url, method);
	ctr_inc((enum ctr)rt);
	if (rt == R_EVENTS)
		return route_events(&r);
	delay = atomic_load(&delay_ms);
	if (delay > 0 && conn_wait(&r, delay, NULL) != 0)
		return MHD_NO;
	switch (rt) {
	case R_TOKEN:
		return route_token(&r);
	case R_VERIFY:
		return route_verify(&r);
	case R_IDENTITY:
		return route_identity(&r);
	case R_RESOURCES:
		return route_resources(&r);
	default:
		return send_html(c, 404);
	}
}

/* --------------------------------------------------------- listeners */

static struct MHD_Daemon *
daemon_start(unsigned int port, MHD_AccessHandlerCallback handler,
    MHD_RequestCompletedCallback done)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
	struct sockaddr_in sa;

	if (!quiet)
		flags |= MHD_USE_ERROR_LOG;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handler,
	    NULL, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&sa,
	    MHD_OPTION_CONNECTION_LIMIT, CONN_LIMIT,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
	    MHD_OPTION_THREAD_STACK_SIZE, STACK_SIZE,
	    MHD_OPTION_CONNECTION_TIMEOUT, 0u,
	    MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
	    MHD_OPTION_END);
}

static unsigned int
daemon_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *di;

	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	return di != NULL ? di->port : 0;
}

/*
 * Starts the Plex listener; tries times, STEP_MS apart, as the port
 * may be busy for a moment after a stop.  Under ctl_lock.
 */
static int
plex_start(int tries)
{
	int i;

	atomic_store(&plex_stopping, 0);
	for (i = 0; i < tries && plex_daemon == NULL; i++) {
		if (atomic_load(&quitting))
			return -1;
		if (i > 0)
			sleep_ms(STEP_MS);
		plex_daemon = daemon_start(atomic_load(&plex_port),
		    plex_handler, NULL);
		if (atomic_load(&plex_port) == 0)
			break;
	}
	if (plex_daemon == NULL)
		return -1;
	atomic_store(&plex_port, daemon_port(plex_daemon));
	atomic_store(&up_since_ms, clock_ms(CLOCK_REALTIME));
	atomic_store(&plex_up, 1);
	return 0;
}

/* Stops the Plex listener and ends its connections.  ctl_lock. */
static void
plex_stop(void)
{
	atomic_store(&plex_stopping, 1);
	atomic_fetch_add(&epoch, 1);
	atomic_store(&plex_up, 0);
	if (plex_daemon != NULL)
		MHD_stop_daemon(plex_daemon);
	plex_daemon = NULL;
}

/* Sleeps ms unless the sim quits meanwhile (then -1). */
static int
wait_unless_quit(long ms)
{
	long long end = clock_ms(CLOCK_MONOTONIC) + ms, left;

	for (;;) {
		if (atomic_load(&quitting))
			return -1;
		left = end - clock_ms(CLOCK_MONOTONIC);
		if (left <= 0)
			return 0;
		sleep_ms(left > STEP_MS ? STEP_MS : (long)left);
	}
}

/* ------------------------------------------------------ control port */

typedef enum MHD_Result (*ctl_fn)(struct MHD_Connection *,
    struct ctl_req *);

static enum MHD_Result
ctl_error(struct MHD_Connection *c, unsigned int status, const char *msg)
{
	return send_json(c, status, json_pack("{s:b,s:s}", "ok", 0,
	    "error", msg));
}

static enum MHD_Result
ctl_ok(struct MHD_Connection *c)
{
	return send_json(c, 200, json_pack("{s:b}", "ok", 1));
}

static const char *
ctl_arg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static void
stats_modes(json_t *o)
{
	json_object_set_new(o, "mode_token",
	    json_string(tmode_names[atomic_load(&mode_token)]));
	json_object_set_new(o, "mode_verify",
	    json_string(vmode_names[atomic_load(&mode_verify)]));
	json_object_set_new(o, "mode_stream",
	    json_string(smode_names[atomic_load(&mode_stream)]));
	json_object_set_new(o, "delay_ms",
	    json_integer(atomic_load(&delay_ms)));
	json_object_set_new(o, "ping_ms",
	    json_integer(atomic_load(&ping_ms)));
}

static enum MHD_Result
ctl_stats(struct MHD_Connection *c, struct ctl_req *q)
{
	json_t *o = json_object();
	int i;

	if (o == NULL)
		return MHD_NO;
	for (i = 0; i < C_MAX; i++)
		json_object_set_new(o, ctr_names[i],
		    json_integer((json_int_t)atomic_load(&counters[i])));
	json_object_set_new(o, "live_tokens",
	    json_integer((json_int_t)tok_count()));
	json_object_set_new(o, "streams_open",
	    json_integer(atomic_load(&streams_open)));
	json_object_set_new(o, "up", json_boolean(atomic_load(&plex_up)));
	json_object_set_new(o, "generation",
	    json_integer(atomic_load(&generation)));
	json_object_set_new(o, "up_since_ms",
	    json_integer(atomic_load(&up_since_ms)));
	json_object_set_new(o, "port", json_integer(atomic_load(&plex_port)));
	json_object_set_new(o, "ctl_port",
	    json_integer(atomic_load(&ctl_port)));
	stats_modes(o);
	pthread_mutex_lock(&id_lock);
	json_object_set_new(o, "last_client_id", jstr(last_client_id));
	json_object_set_new(o, "last_product", jstr(last_product));
	pthread_mutex_unlock(&id_lock);
	return send_json(c, 200, o);
}

static enum MHD_Result
ctl_reset_stats(struct MHD_Connection *c, struct ctl_req *q)
{
	int i;

	for (i = 0; i < C_MAX; i++)
		atomic_store(&counters[i], 0);
	pthread_mutex_lock(&id_lock);
	last_client_id[0] = '\0';
	last_product[0] = '\0';
	pthread_mutex_unlock(&id_lock);
	return ctl_ok(c);
}

static enum MHD_Result
ctl_up_answer(struct MHD_Connection *c)
{
	return send_json(c, 200, json_pack("{s:b,s:b,s:I,s:I,s:i}", "ok", 1,
	    "up", atomic_load(&plex_up),
	    "generation", (json_int_t)atomic_load(&generation),
	    "up_since_ms", (json_int_t)atomic_load(&up_since_ms),
	    "port", (int)atomic_load(&plex_port)));
}

static enum MHD_Result
ctl_restart(struct MHD_Connection *c, struct ctl_req *q)
{
	const char *s = ctl_arg(c, "down_ms");
	long down = 0;
	int rc;

	if (s != NULL && parse_long(s, 0, MS_MAX, &down) != 0)
		return ctl_error(c, 400, "down_ms: expected 0..3600000");
	pthread_mutex_lock(&ctl_lock);
	plex_stop();
	tok_reset();
	atomic_fetch_add(&generation, 1);
	rc = wait_unless_quit(down);
	if (rc == 0)
		rc = plex_start(START_TRIES);
	pthread_mutex_unlock(&ctl_lock);
	if (rc != 0)
		return ctl_error(c, 503, "the Plex listener is not back");
	logmsg("restarted: generation %u, port %u",
	    atomic_load(&generation), atomic_load(&plex_port));
	return ctl_up_answer(c);
}

static enum MHD_Result
ctl_down(struct MHD_Connection *c, struct ctl_req *q)
{
	pthread_mutex_lock(&ctl_lock);
	plex_stop();
	pthread_mutex_unlock(&ctl_lock);
	logmsg("down");
	return ctl_up_answer(c);
}

static enum MHD_Result
ctl_up(struct MHD_Connection *c, struct ctl_req *q)
{
	int rc = 0;

	pthread_mutex_lock(&ctl_lock);
	if (plex_daemon == NULL)
		rc = plex_start(START_TRIES);
	pthread_mutex_unlock(&ctl_lock);
	if (rc != 0)
		return ctl_error(c, 503, "cannot listen on the Plex port");
	logmsg("up: port %u", atomic_load(&plex_port));
	return ctl_up_answer(c);
}

static enum MHD_Result
ctl_mode(struct MHD_Connection *c, struct ctl_req *q)
{
	static const struct {
		const char		*arg;
		const char *const	*names;
		int			 n;
		atomic_int		*mode;
	} m[] = {
		{ "token", tmode_names, TM_MAX, &mode_token },
		{ "verify", vmode_names, VM_MAX, &mode_verify },
		{ "stream", smode_names, SM_MAX, &mode_stream },
	};
	int v[3], i, any = 0;
	const char *s;

	for (i = 0; i < 3; i++) {
		v[i] = -1;
		s = ctl_arg(c, m[i].arg);
		if (s == NULL)
			continue;
		any = 1;
		v[i] = name_index(m[i].names, m[i].n, s);
		if (v[i] < 0)
			return ctl_error(c, 400, m[i].arg);
	}
	if (!any)
		return ctl_error(c, 400, "expected token=, verify= or "
		    "stream=");
	for (i = 0; i < 3; i++)
		if (v[i] >= 0)
			atomic_store(m[i].mode, v[i]);
	return ctl_ok(c);
}

static enum MHD_Result
ctl_set_ms(struct MHD_Connection *c, atomic_long *dst, long min)
{
	long v;

	if (parse_long(ctl_arg(c, "ms"), min, MS_MAX, &v) != 0)
		return ctl_error(c, 400, "ms: expected a number of ms");
	atomic_store(dst, v);
	return ctl_ok(c);
}

static enum MHD_Result
ctl_delay(struct MHD_Connection *c, struct ctl_req *q)
{
	return ctl_set_ms(c, &delay_ms, 0);
}

static enum MHD_Result
ctl_ping(struct MHD_Connection *c, struct ctl_req *q)
{
	return ctl_set_ms(c, &ping_ms, 1);
}

static enum MHD_Result
ctl_check(struct MHD_Connection *c, struct ctl_req *q)
{
	if (q->over)
		return ctl_error(c, 413, "body too large");
	q->body[q->len] = '\0';
	return send_json(c, 200, json_pack("{s:b}", "live",
	    tok_live(strip(q->body))));
}

static enum MHD_Result
ctl_quit(struct MHD_Connection *c, struct ctl_req *q)
{
	q->quit = 1;
	return ctl_ok(c);
}

static enum MHD_Result
ctl_route(struct MHD_Connection *c, const char *url, const char *method,
    struct ctl_req *q)
{
	static const struct {
		const char	*path;
		const char	*method;
		ctl_fn		 fn;
	} routes[] = {
		{ "/stats", "GET", ctl_stats },
		{ "/reset-stats", "POST", ctl_reset_stats },
		{ "/restart", "POST", ctl_restart },
		{ "/down", "POST", ctl_down },
		{ "/up", "POST", ctl_up },
		{ "/mode", "POST", ctl_mode },
		{ "/delay", "POST", ctl_delay },
		{ "/ping", "POST", ctl_ping },
		{ "/check", "POST", ctl_check },
		{ "/quit", "POST", ctl_quit },
	};
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(url, routes[i].path) != 0)
			continue;
		if (strcmp(method, routes[i].method) != 0)
			return ctl_error(c, 405, routes[i].method);
		return routes[i].fn(c, q);
	}
	return ctl_error(c, 404, "no such route");
}

static enum MHD_Result
ctl_handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct ctl_req *q = *con_cls;
	size_t n;

	if (q == NULL) {
		q = calloc(1, sizeof(*q));
		if (q == NULL)
			return MHD_NO;
		*con_cls = q;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		n = *upload_size;
		if (n > BODY_MAX - q->len) {
			n = BODY_MAX - q->len;
			q->over = 1;
		}
		memcpy(q->body + q->len, upload, n);
		q->len += n;
		*upload_size = 0;
		return MHD_YES;
	}
	return ctl_route(c, url, method, q);
}

static void
ctl_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct ctl_req *q = *con_cls;

	if (q == NULL)
		return;
	if (q->quit)
		kill(getpid(), SIGTERM);
	free(q);
	*con_cls = NULL;
}

/* -------------------------------------------------------------- main */

static void
usage(FILE *f)
{
	fputs("usage: plex-sim [--port N] [--ctl-port N] [--port-file FILE]"
	    "\n\t--admin-token-file FILE [--delay-ms N] [--ping-ms N]\n"
	    "\t[--no-eventsource] [--machine-id ID] [--version V]"
	    " [--seed N]\n\t[--issued-file FILE] [--quiet]\n", f);
}

static int
set_opt(int ch, const char *arg)
{
	long v;

	if (ch == 'p' || ch == 'c') {
		if (parse_long(arg, 0, 65535, &v) != 0)
			return -1;
		atomic_store(ch == 'p' ? &plex_port : &ctl_port,
		    (unsigned int)v);
	} else if (ch == 'd' || ch == 'i') {
		if (parse_long(arg, ch == 'd' ? 0 : 1, MS_MAX, &v) != 0)
			return -1;
		atomic_store(ch == 'd' ? &delay_ms : &ping_ms, v);
	} else if (ch == 's') {
		if (parse_long(arg, 0, LONG_MAX, &v) != 0)
			return -1;
		seed = (uint64_t)v;
		have_seed = 1;
	} else if (ch == 'm' || ch == 'v') {
		if (*arg == '\0')
			return -1;
		*(ch == 'm' ? &machine_id : &server_version) = arg;
	} else
		return -1;
	return 0;
}

static int
parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "ctl-port", required_argument, NULL, 'c' },
		{ "port-file", required_argument, NULL, 'f' },
		{ "admin-token-file", required_argument, NULL, 'a' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "ping-ms", required_argument, NULL, 'i' },
		{ "no-eventsource", no_argument, NULL, 'n' },
		{ "machine-id", required_argument, NULL, 'm' },
		{ "version", required_argument, NULL, 'v' },
		{ "seed", required_argument, NULL, 's' },
		{ "issued-file", required_argument, NULL, 'I' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	for (;;) {
		ch = getopt_long(argc, argv, "", opts, NULL);
		if (ch == -1)
			break;
		if (ch == 'h') {
			usage(stdout);
			exit(0);
		} else if (ch == 'f')
			port_file = optarg;
		else if (ch == 'a')
			admin_file = optarg;
		else if (ch == 'n')
			no_eventsource = 1;
		else if (ch == 'q')
			quiet = 1;
		else if (ch == 'I') {
			issued_fp = fopen(optarg, "ae");
			if (issued_fp == NULL) {
				perror(optarg);
				goto bad;
			}
		} else if (set_opt(ch, optarg) != 0)
			goto bad;
	}
	if (optind == argc && admin_file != NULL)
		return 0;
bad:
	usage(stderr);
	return -1;
}

static int
read_admin(void)
{
	char *buf, *t;
	size_t len = 0;
	FILE *f;

	f = fopen(admin_file, "re");
	if (f == NULL) {
		fprintf(stderr, "plex-sim: %s: %s\n", admin_file,
		    strerror(errno));
		return -1;
	}
	buf = malloc(SECRET_MAX + 1);
	if (buf != NULL)
		len = fread(buf, 1, SECRET_MAX, f);
	fclose(f);
	if (buf != NULL) {
		buf[len] = '\0';
		t = strip(buf);
		if (*t != '\0')
			admin_token = strdup(t);
		explicit_bzero(buf, SECRET_MAX + 1);
		free(buf);
	}
	if (admin_token != NULL)
		return 0;
	fprintf(stderr, "plex-sim: %s: no admin token\n", admin_file);
	return -1;
}

static void
seed_rng(void)
{
	if (have_seed)
		rng_state = seed;
	else if (getrandom(&rng_state, sizeof(rng_state), 0) !=
	    (ssize_t)sizeof(rng_state))
		rng_state = (uint64_t)clock_ms(CLOCK_REALTIME) ^
		    ((uint64_t)getpid() << 32);
}

/* Writes "PLEXPORT CTLPORT\n" to the port file (atomically), stdout. */
static int
announce(void)
{
	char line[64], tmp[4096];
	FILE *f;
	int ok;

	snprintf(line, sizeof(line), "%u %u\n", atomic_load(&plex_port),
	    atomic_load(&ctl_port));
	if (port_file != NULL) {
		snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", port_file,
		    (long)getpid());
		f = fopen(tmp, "we");
		if (f == NULL)
			goto fail;
		ok = fputs(line, f) >= 0;
		ok = fflush(f) == 0 && ok && fsync(fileno(f)) == 0;
		ok = fclose(f) == 0 && ok;
		if (!ok || rename(tmp, port_file) == -1) {
			unlink(tmp);
			goto fail;
		}
	}
	if (!quiet) {
		fputs(line, stdout);
		fflush(stdout);
	}
	return 0;
fail:
	fprintf(stderr, "plex-sim: %s: %s\n", port_file, strerror(errno));
	return -1;
}

static int
listen_all(void)
{
	int rc;

	pthread_mutex_lock(&ctl_lock);
	rc = plex_start(1);
	pthread_mutex_unlock(&ctl_lock);
	if (rc != 0) {
		fprintf(stderr, "plex-sim: cannot listen on 127.0.0.1:%u\n",
		    atomic_load(&plex_port));
		return -1;
	}
	ctl_daemon = daemon_start(atomic_load(&ctl_port), ctl_handler,
	    ctl_done);
	if (ctl_daemon == NULL) {
		fprintf(stderr, "plex-sim: cannot listen on 127.0.0.1:%u\n",
		    atomic_load(&ctl_port));
		return -1;
	}
	atomic_store(&ctl_port, daemon_port(ctl_daemon));
	return 0;
}

static void
shutdown_all(void)
{
	atomic_store(&quitting, 1);
	if (ctl_daemon != NULL)
		MHD_stop_daemon(ctl_daemon);
	ctl_daemon = NULL;
	pthread_mutex_lock(&ctl_lock);
	plex_stop();
	pthread_mutex_unlock(&ctl_lock);
	tokset_free();
	if (admin_token != NULL)
		explicit_bzero(admin_token, strlen(admin_token));
	free(admin_token);
	admin_token = NULL;
}

int
main(int argc, char **argv)
{
	sigset_t set;
	int sig, rc = 1;

	if (parse_args(argc, argv) != 0)
		return 2;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (read_admin() != 0 || tokset_init() != 0)
		goto out;
	seed_rng();
	tok_reset();
	if (listen_all() != 0 || announce() != 0)
		goto out;
	while (sigwait(&set, &sig) != 0)
		;
	logmsg("stopping on signal %d", sig);
	rc = 0;
out:
	shutdown_all();
	if (issued_fp != NULL)
		fclose(issued_fp);
	return rc;
}
