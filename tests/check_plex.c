/*
 * check_plex.c - the Plex client: parsers against recorded answers in
 * tests/data, and requests against a tiny HTTP server in a thread.
 *
 * Only made-up tokens appear here, and no assertion prints one.
 */
#include "ac-config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "plex.h"
#include "secret.h"
#include "testlib.h"

#define ADMIN "sim-admin-token-1"
#define TRANSIENT "transient-0123456789abcdef"
#define CLIENT_ID "11111111-2222-3333-4444-555555555555"
#define MACHINE "0123456789abcdef0123456789abcdef01234567"
#define VERSION_STR "1.40.2.8395-c67dce28e"

/* ------------------------------------------------------------ data */

static enum plex_err
parse_token_file(const char *name, struct secret **tok, char *reason,
    size_t reasonlen)
{
	enum plex_err err;
	size_t len;
	char *body;

	body = test_slurp(name, &len);
	err = plex_parse_token(body, len, tok, reason, reasonlen);
	free(body);
	return err;
}

static void
expect_token(const char *name)
{
	struct secret *tok = NULL;
	char reason[PLEX_REASON_LEN];

	ck_assert_int_eq(parse_token_file(name, &tok, reason,
	    sizeof(reason)), PLEX_OK);
	ck_assert(tok != NULL);
	ck_assert(secret_equal(tok, TRANSIENT, strlen(TRANSIENT)));
	secret_free(tok);
}

static void
expect_bad_token(const char *name, const char *why)
{
	struct secret *tok = NULL;
	char reason[PLEX_REASON_LEN];

	ck_assert_int_eq(parse_token_file(name, &tok, reason,
	    sizeof(reason)), PLEX_ERR_MALFORMED);
	ck_assert(tok == NULL);
	ck_assert_msg(strstr(reason, why) != NULL, "%s: reason \"%s\"",
	    name, reason);
	ck_assert(strstr(reason, "transient") == NULL);
}

START_TEST(test_parse_token_good)
{
	expect_token("token.json");
	expect_token("token.xml");
	expect_token("token-xml-decl.xml");
}
END_TEST

START_TEST(test_parse_token_bad)
{
	expect_bad_token("token-empty.json", "token is empty");
	expect_bad_token("token-missing.json", "no token in MediaContainer");
	expect_bad_token("token-number.json", "not a string");
	expect_bad_token("token-bad-chars.json", "cannot have");
	expect_bad_token("garbage.txt", "neither JSON nor XML");
	expect_bad_token("truncated.json", "invalid JSON");
	expect_bad_token("token-doctype.xml", "DOCTYPE");
	expect_bad_token("token-wrong-root.xml", "not MediaContainer");
	expect_bad_token("token-wrong-root.json", "no MediaContainer");
	expect_bad_token("token-duplicate.json", "invalid JSON");
}
END_TEST

START_TEST(test_parse_token_edges)
{
	struct secret *tok = NULL;
	char reason[PLEX_REASON_LEN], big[PLEX_TOKEN_MAX + 80];
	int n;

	ck_assert_int_eq(plex_parse_token(NULL, 0, &tok, reason,
	    sizeof(reason)), PLEX_ERR_MALFORMED);
	ck_assert_int_eq(plex_parse_token("  \n", 3, &tok, reason,
	    sizeof(reason)), PLEX_ERR_MALFORMED);
	ck_assert_int_eq(plex_parse_token("[1]", 3, &tok, reason,
	    sizeof(reason)), PLEX_ERR_MALFORMED);
	/* leading blanks and a BOM are fine */
	ck_assert_int_eq(plex_parse_token("\xef\xbb\xbf \n{\"MediaContainer"
	    "\":{\"token\":\"a.b\"}}", 39, &tok, reason, sizeof(reason)),
	    PLEX_OK);
	ck_assert(secret_equal(tok, "a.b", 3));
	secret_free(tok);
	/* a token one byte too long */
	memset(big, 0, sizeof(big));
	n = snprintf(big, sizeof(big), "<MediaContainer token=\"");
	memset(big + n, 'a', PLEX_TOKEN_MAX + 1);
	memcpy(big + n + PLEX_TOKEN_MAX + 1, "\"/>", 3);
	ck_assert_int_eq(plex_parse_token(big, strlen(big), &tok, reason,
	    sizeof(reason)), PLEX_ERR_MALFORMED);
	ck_assert(tok == NULL);
	/* exactly PLEX_TOKEN_MAX is fine */
	memcpy(big + n + PLEX_TOKEN_MAX, "\"/>", 4);
	ck_assert_int_eq(plex_parse_token(big, strlen(big), &tok, reason,
	    sizeof(reason)), PLEX_OK);
	ck_assert_uint_eq(secret_len(tok), PLEX_TOKEN_MAX);
	secret_free(tok);
	/* no room for a reason is fine */
	ck_assert_int_eq(plex_parse_token("x", 1, &tok, NULL, 0),
	    PLEX_ERR_MALFORMED);
}
END_TEST

/* Every prefix of a good answer is refused, never crashes. */
START_TEST(test_parse_prefixes)
{
	static const char *names[] = { "token.json", "token-xml-decl.xml",
	    "identity.xml" };
	char reason[PLEX_REASON_LEN], mid[PLEX_FIELD_MAX],
	    ver[PLEX_FIELD_MAX];
	struct secret *tok;
	size_t i, k, len;
	char *body, *cut;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		body = test_slurp(names[i], &len);
		for (k = 0; k < len; k++) {
			cut = malloc(k + 1);
			ck_assert(cut != NULL);
			memcpy(cut, body, k);
			tok = NULL;
			(void)plex_parse_token(cut, k, &tok, reason,
			    sizeof(reason));
			secret_free(tok);
			(void)plex_parse_identity(cut, k, mid, ver, reason,
			    sizeof(reason));
			free(cut);
		}
		free(body);
	}
}
END_TEST

static enum plex_err
parse_identity_file(const char *name, char *mid, char *ver, char *reason)
{
	enum plex_err err;
	size_t len;
	char *body;

	body = test_slurp(name, &len);
	err = plex_parse_identity(body, len, mid, ver, reason,
	    PLEX_REASON_LEN);
	free(body);
	return err;
}

START_TEST(test_parse_identity)
{
	static const char *good[] = { "identity.json", "identity.xml" };
	char reason[PLEX_REASON_LEN], mid[PLEX_FIELD_MAX],
	    ver[PLEX_FIELD_MAX];
	size_t i;

	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(parse_identity_file(good[i], mid, ver,
		    reason), PLEX_OK);
		ck_assert_str_eq(mid, MACHINE);
		ck_assert_str_eq(ver, VERSION_STR);
	}
	ck_assert_int_eq(parse_identity_file("identity-no-version.json", mid,
	    ver, reason), PLEX_ERR_MALFORMED);
	ck_assert(strstr(reason, "no version") != NULL);
	ck_assert_str_eq(mid, "");
	ck_assert_int_eq(parse_identity_file("token.json", mid, ver, reason),
	    PLEX_ERR_MALFORMED);
	ck_assert_int_eq(plex_parse_identity("<MediaContainer "
	    "machineIdentifier=\"a&#10;b\" version=\"1\"/>", 57, mid, ver,
	    reason, sizeof(reason)), PLEX_ERR_MALFORMED);
	ck_assert(strstr(reason, "printable") != NULL);
}
END_TEST

START_TEST(test_wellformed)
{
	ck_assert(plex_token_wellformed("abcXYZ019._~+/=-", 16));
	ck_assert(!plex_token_wellformed("", 0));
	ck_assert(!plex_token_wellformed("a b", 3));
	ck_assert(!plex_token_wellformed("a\0b", 3));
	ck_assert(!plex_token_wellformed("a\"b", 3));
	ck_assert(!plex_token_wellformed("\xc3\xa9", 2));
	ck_assert_str_eq(plex_strerror(PLEX_OK), "ok");
	ck_assert_str_eq(plex_strerror(PLEX_ERR_AUTH), "refused the token");
	ck_assert_str_eq(plex_strerror(PLEX_ERR_TOOBIG), "answer too large");
}
END_TEST

/* ------------------------------------------------------ tiny server */

enum srv_mode {
	SRV_ANSWER,		/* write the canned answer and close */
	SRV_HANG,		/* read the request, never answer */
	SRV_BIG,		/* 200 and a body past PLEX_BODY_MAX */
	SRV_BIG_NOLEN		/* the same without Content-Length */
};

struct srv {
	int lfd;
	int port;
	enum srv_mode mode;
	const char *answer;
	pthread_t th;
	char req[8192];
	size_t req_len;
};

static struct srv S;
static struct plex_target T;

static void
srv_read_request(struct srv *s, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (s->req_len < sizeof(s->req) - 1) {
		if (poll(&p, 1, 5000) <= 0)
			return;
		n = recv(fd, s->req + s->req_len,
		    sizeof(s->req) - 1 - s->req_len, 0);
		if (n <= 0)
			return;
		s->req_len += (size_t)n;
		s->req[s->req_len] = '\0';
		if (strstr(s->req, "\r\n\r\n") != NULL || s->req[0] == 0x16)
			return;
	}
}

static void
srv_big(int fd, int with_len)
{
	char chunk[4096], head[256];
	size_t total = 0, want = 4 * PLEX_BODY_MAX;

	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\n%s%zu%sConnection: close\r\n\r\n",
	    with_len ? "Content-Length: " : "X-Pad: ", want, "\r\n");
	if (send(fd, head, strlen(head), MSG_NOSIGNAL) < 0)
		return;
	memset(chunk, ' ', sizeof(chunk));
	chunk[0] = '{';
	while (total < want) {
		if (send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL) < 0)
			return;
		chunk[0] = ' ';
		total += sizeof(chunk);
	}
}

static void *
srv_main(void *arg)
{
	struct srv *s = arg;
	struct pollfd p = { .fd = s->lfd, .events = POLLIN };
	char junk[256];
	int fd;

	if (poll(&p, 1, 10000) <= 0)
		return NULL;
	fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	srv_read_request(s, fd);
	if (s->mode == SRV_ANSWER)
		(void)send(fd, s->answer, strlen(s->answer), MSG_NOSIGNAL);
	else if (s->mode == SRV_BIG || s->mode == SRV_BIG_NOLEN)
		srv_big(fd, s->mode == SRV_BIG);
	else {
		/* hang until the client gives up and closes */
		p.fd = fd;
		while (poll(&p, 1, 10000) > 0 &&
		    recv(fd, junk, sizeof(junk), 0) > 0)
			continue;
	}
	close(fd);
	return NULL;
}

static int
listen_any(int *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert(fd >= 0);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static char url_buf[64];

static void
srv_start(enum srv_mode mode, const char *answer)
{
	memset(&S, 0, sizeof(S));
	S.mode = mode;
	S.answer = answer;
	S.lfd = listen_any(&S.port);
	snprintf(url_buf, sizeof(url_buf), "http://127.0.0.1:%d", S.port);
	T.url = url_buf;
	ck_assert_int_eq(pthread_create(&S.th, NULL, srv_main, &S), 0);
}

static void
srv_join(void)
{
	pthread_join(S.th, NULL);
	close(S.lfd);
}

static void
setup(void)
{
	ck_assert_int_eq(plex_global_init(), 0);
	memset(&T, 0, sizeof(T));
	T.verify_tls = 1;
	T.timeout_ms = 5000;
	T.client_id = CLIENT_ID;
}

static void
teardown(void)
{
	plex_global_cleanup();
}

/* Perform kind with tok against the server started before. */
static void
run(enum plex_kind kind, const char *tok, struct plex_result *res)
{
	struct secret *s = NULL;
	struct plex_req *r;

	if (tok != NULL)
		s = secret_new(tok, strlen(tok));
	r = plex_req_new(kind, &T, s);
	secret_free(s);
	ck_assert(r != NULL);
	ck_assert_int_eq(plex_req_kind(r), kind);
	plex_req_perform(r, res);
	plex_req_free(r);
}

static int
has_header(const char *line)
{
	char want[256];

	snprintf(want, sizeof(want), "\r\n%s\r\n", line);
	return strstr(S.req, want) != NULL;
}

#define OK_JSON "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" \
	"Content-Length: 66\r\nConnection: close\r\n\r\n" \
	"{\"MediaContainer\":{\"size\":0,\"token\":\"" TRANSIENT "\"}}"
#define OK_XML "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n" \
	"Connection: close\r\n\r\n" \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<MediaContainer size=\"0\" token=\"" TRANSIENT "\"/>\n"
#define ANSWER(code) "HTTP/1.1 " code "\r\nContent-Length: 5\r\n" \
	"Connection: close\r\n\r\nnope\n"

START_TEST(test_live_token)
{
	struct plex_result res;
	const char *eol;

	srv_start(SRV_ANSWER, OK_JSON);
	run(PLEX_REQ_TOKEN, ADMIN, &res);
	srv_join();
	ck_assert_msg(res.err == PLEX_OK, "%s", res.reason);
	ck_assert_int_eq(res.status, 200);
	ck_assert(res.seconds >= 0.0);
	ck_assert(secret_equal(res.token, TRANSIENT, strlen(TRANSIENT)));
	plex_result_clear(&res);
	ck_assert(res.token == NULL);

	ck_assert(strncmp(S.req, "POST /security/token?type=delegation&"
	    "scope=all HTTP/1.1\r\n", 55) == 0);
	eol = strstr(S.req, "\r\n");
	ck_assert(memmem(S.req, (size_t)(eol - S.req), ADMIN,
	    strlen(ADMIN)) == NULL);
	ck_assert(has_header("X-Plex-Token: " ADMIN));
	ck_assert(has_header("Accept: application/json"));
	ck_assert(has_header("X-Plex-Product: plex-tokend"));
	ck_assert(has_header("X-Plex-Version: " PACKAGE_VERSION));
	ck_assert(has_header("X-Plex-Client-Identifier: " CLIENT_ID));
}
END_TEST

START_TEST(test_live_token_xml)
{
	struct plex_result res;

	srv_start(SRV_ANSWER, OK_XML);
	run(PLEX_REQ_TOKEN, ADMIN, &res);
	srv_join();
	ck_assert_msg(res.err == PLEX_OK, "%s", res.reason);
	ck_assert(secret_equal(res.token, TRANSIENT, strlen(TRANSIENT)));
	plex_result_clear(&res);
}
END_TEST

START_TEST(test_live_verify_identity)
{
	struct plex_result res;

	srv_start(SRV_ANSWER, ANSWER("200 OK"));
	run(PLEX_REQ_VERIFY, TRANSIENT, &res);
	srv_join();
	ck_assert_msg(res.err == PLEX_OK, "%s", res.reason);
	ck_assert(res.token == NULL);
	ck_assert(strncmp(S.req, "GET / HTTP/1.1\r\n", 16) == 0);
	ck_assert(has_header("X-Plex-Token: " TRANSIENT));

	srv_start(SRV_ANSWER, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
	    "{\"MediaContainer\":{\"machineIdentifier\":\"" MACHINE "\","
	    "\"version\":\"" VERSION_STR "\"}}");
	run(PLEX_REQ_IDENTITY, NULL, &res);
	srv_join();
	ck_assert_msg(res.err == PLEX_OK, "%s", res.reason);
	ck_assert_str_eq(res.machine_id, MACHINE);
	ck_assert_str_eq(res.version, VERSION_STR);
	ck_assert(strncmp(S.req, "GET /identity HTTP/1.1\r\n", 24) == 0);
	ck_assert(strstr(S.req, "X-Plex-Token") == NULL);
	ck_assert(has_header("X-Plex-Client-Identifier: " CLIENT_ID));
}
END_TEST

START_TEST(test_live_status)
{
	struct plex_result res;

	srv_start(SRV_ANSWER, ANSWER("401 Unauthorized"));
	run(PLEX_REQ_TOKEN, ADMIN, &res);
	srv_join();
	ck_assert_int_eq(res.err, PLEX_ERR_AUTH);
	ck_assert_int_eq(res.status, 401);
	ck_assert(res.token == NULL);

	srv_start(SRV_ANSWER, ANSWER("403 Forbidden"));
	run(PLEX_REQ_VERIFY, TRANSIENT, &res);
	srv_join();
	ck_assert_int_eq(res.err, PLEX_ERR_AUTH);

	srv_start(SRV_ANSWER, ANSWER("500 Internal Server Error"));
	run(PLEX_REQ_TOKEN, ADMIN, &res);
	srv_join();
	ck_assert_int_eq(res.err, PLEX_ERR_HTTP);
	ck_assert_str_eq(res.reason, "HTTP 500");

	srv_start(SRV_ANSWER, "HTTP/1.1 302 Found\r\nLocation: http://"
	    "127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n");
	run(PLEX_REQ_TOKEN, ADMIN, &res);
	srv_join();
	ck_assert_int_eq(res.err, PLEX_ERR_HTTP);
	ck_assert_int_eq(res.status, 302);
}
END_TEST

START_TEST(test_live_malformed)
{
	struct plex_result res;

	srv_start(SRV_ANSWER, ANSWER("200 OK"));
	run(PLEX_REQ_TOKEN, ADMIN, &res);
	srv_join();
	ck_assert_int_eq(res.err, PLEX_ERR_MALFORMED);
	ck_assert(res.token == NULL);

	srv_start(SRV_ANSWER, "garbage garbage garbage\n");
	run(PLEX_REQ_TOKEN, ADMIN, &res);
	srv_join();
	ck_assert_msg(res.err == PLEX_ERR_MALFORMED, "%d %s", res.err,
	    res.reason);
}
END_TEST

START_TEST(test_live_toobig)
{
	struct plex_result res;
	char *page;
	size_t n = 2 * PLEX_BODY_MAX;

	srv_start(SRV_BIG, NULL);
	run(PLEX_REQ_TOKEN, ADMIN, &res);
	srv_join();
	ck_assert_msg(res.err == PLEX_ERR_TOOBIG, "%s", res.reason);
	ck_assert_str_eq(res.reason, "answer larger than 65536 bytes");

	srv_start(SRV_BIG_NOLEN, NULL);
	run(PLEX_REQ_IDENTITY, NULL, &res);
	srv_join();
	ck_assert_msg(res.err == PLEX_ERR_TOOBIG, "%s", res.reason);

	/* a verify reads the status only */
	srv_start(SRV_BIG_NOLEN, NULL);
	run(PLEX_REQ_VERIFY, TRANSIENT, &res);
	srv_join();
	ck_assert_msg(res.err == PLEX_OK, "%s", res.reason);

	/* a huge error page is still that error */
	page = malloc(n + 128);
	ck_assert(page != NULL);
	snprintf(page, 128, "HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\n");
	memset(page + strlen(page), 'x', n);
	page[n + 60] = '\0';
	srv_start(SRV_ANSWER, page);
	run(PLEX_REQ_TOKEN, ADMIN, &res);
	srv_join();
	free(page);
	ck_assert_msg(res.err == PLEX_ERR_HTTP, "%s", res.reason);
}
END_TEST

START_TEST(test_live_timeout)
{
	struct plex_result res;
	struct timespec a, b;
	double dt;

	T.timeout_ms = 300;
	srv_start(SRV_HANG, NULL);
	clock_gettime(CLOCK_MONOTONIC, &a);
	run(PLEX_REQ_TOKEN, ADMIN, &res);
	clock_gettime(CLOCK_MONOTONIC, &b);
	srv_join();
	dt = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	ck_assert_int_eq(res.err, PLEX_ERR_TIMEOUT);
	ck_assert_str_eq(res.reason, "timed out after 300 ms");
	ck_assert(dt >= 0.25 && dt < 3.0);
}
END_TEST

START_TEST(test_live_connect)
{
	struct plex_result res;
	int fd, port;

	fd = listen_any(&port);
	close(fd);
	snprintf(url_buf, sizeof(url_buf), "http://127.0.0.1:%d", port);
	T.url = url_buf;
	run(PLEX_REQ_TOKEN, ADMIN, &res);
	ck_assert_int_eq(res.err, PLEX_ERR_CONNECT);
	ck_assert_int_eq(res.status, 0);
	ck_assert(strstr(res.reason, "cannot connect") != NULL);
	ck_assert(strstr(res.reason, ADMIN) == NULL);

	T.url = "https://127.0.0.1:1";
	run(PLEX_REQ_VERIFY, TRANSIENT, &res);
	ck_assert_int_eq(res.err, PLEX_ERR_CONNECT);

	T.url = "ftp://127.0.0.1:1";
	run(PLEX_REQ_IDENTITY, NULL, &res);
	ck_assert_int_eq(res.err, PLEX_ERR_INTERNAL);
}
END_TEST

/* A server that does not speak TLS on an https URL. */
START_TEST(test_live_tls)
{
	struct plex_result res;

	srv_start(SRV_ANSWER, OK_JSON);
	snprintf(url_buf, sizeof(url_buf), "https://127.0.0.1:%d", S.port);
	run(PLEX_REQ_TOKEN, ADMIN, &res);
	srv_join();
	ck_assert_msg(res.err == PLEX_ERR_TLS, "%d %s", res.err, res.reason);

	/* an unreadable CA file */
	srv_start(SRV_ANSWER, OK_JSON);
	snprintf(url_buf, sizeof(url_buf), "https://127.0.0.1:%d", S.port);
	T.ca_file = "/nonexistent/ca.pem";
	run(PLEX_REQ_TOKEN, ADMIN, &res);
	srv_join();
	ck_assert_msg(res.err == PLEX_ERR_TLS, "%d %s", res.err, res.reason);
}
END_TEST

/* The way the engine drives it: a multi handle and CURLINFO_PRIVATE. */
START_TEST(test_live_multi)
{
	struct plex_result res;
	struct plex_req *r, *back = NULL;
	struct secret *s;
	CURLM *m;
	CURLMsg *msg;
	int running = 1, left, tag;

	srv_start(SRV_ANSWER, OK_JSON);
	s = secret_new(ADMIN, strlen(ADMIN));
	r = plex_req_new(PLEX_REQ_TOKEN, &T, s);
	secret_free(s);
	ck_assert(r != NULL);
	plex_req_set_data(r, &tag);
	ck_assert_ptr_eq(plex_req_data(r), &tag);
	m = curl_multi_init();
	ck_assert(m != NULL);
	curl_multi_add_handle(m, plex_req_easy(r));
	memset(&res, 0, sizeof(res));
	while (running > 0) {
		curl_multi_perform(m, &running);
		curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	while ((msg = curl_multi_info_read(m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &back);
		ck_assert_ptr_eq(back, r);
		plex_req_finish(back, msg->data.result, &res);
	}
	curl_multi_remove_handle(m, plex_req_easy(r));
	curl_multi_cleanup(m);
	plex_req_free(r);
	srv_join();
	ck_assert_msg(res.err == PLEX_OK, "%s", res.reason);
	ck_assert(secret_equal(res.token, TRANSIENT, strlen(TRANSIENT)));
	plex_result_clear(&res);
}
END_TEST

/* A token that would smuggle a header in is refused up front. */
START_TEST(test_header_injection)
{
	struct secret *s;

	T.url = "http://127.0.0.1:1";
	s = secret_new("abc\r\nX-Evil: 1", 14);
	ck_assert(plex_req_new(PLEX_REQ_TOKEN, &T, s) == NULL);
	secret_free(s);
}
END_TEST

static Suite *
plex_suite(void)
{
	Suite *s = suite_create("plex");
	TCase *p = tcase_create("parse"), *l = tcase_create("live");

	tcase_add_test(p, test_parse_token_good);
	tcase_add_test(p, test_parse_token_bad);
	tcase_add_test(p, test_parse_token_edges);
	tcase_add_test(p, test_parse_prefixes);
	tcase_add_test(p, test_parse_identity);
	tcase_add_test(p, test_wellformed);
	suite_add_tcase(s, p);
	tcase_add_checked_fixture(l, setup, teardown);
	tcase_set_timeout(l, 30);
	tcase_add_test(l, test_live_token);
	tcase_add_test(l, test_live_token_xml);
	tcase_add_test(l, test_live_verify_identity);
	tcase_add_test(l, test_live_status);
	tcase_add_test(l, test_live_malformed);
	tcase_add_test(l, test_live_toobig);
	tcase_add_test(l, test_live_timeout);
	tcase_add_test(l, test_live_connect);
	tcase_add_test(l, test_live_tls);
	tcase_add_test(l, test_live_multi);
	tcase_add_test(l, test_header_injection);
	suite_add_tcase(s, l);
	return s;
}

int
main(void)
{
	return test_run(plex_suite());
}
