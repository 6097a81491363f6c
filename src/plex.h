/*
 * plex.h - the Plex Media Server client (libcurl, jansson, expat).
 *
 * A plex_req is one upstream request prepared as a curl easy handle.
 * The caller drives it, either with plex_req_perform() (blocking) or
 * by adding plex_req_easy() to its own curl multi handle and calling
 * plex_req_finish() with the transfer's CURLcode when it is done.
 *
 * Nothing here logs.  Every failure comes back as an enum plex_err plus
 * a short reason without any secret in it, for the caller to log once.
 * Secrets ride in the X-Plex-Token header, never in a URL.
 */
#ifndef PLEX_TOKEND_PLEX_H
#define PLEX_TOKEND_PLEX_H

#include <stddef.h>

#include <curl/curl.h>
#include <expat.h>

#include "secret.h"

#define PLEX_REASON_LEN 160
#define PLEX_BODY_MAX (64 * 1024)	/* answers past this are refused */
#define PLEX_TOKEN_MAX 256
#define PLEX_FIELD_MAX 128

enum plex_err {
	PLEX_OK = 0,
	PLEX_ERR_CONNECT,	/* refused, unreachable, DNS */
	PLEX_ERR_TIMEOUT,
	PLEX_ERR_TLS,		/* handshake or certificate */
	PLEX_ERR_AUTH,		/* 401 or 403 */
	PLEX_ERR_HTTP,		/* any other non-2xx status */
	PLEX_ERR_MALFORMED,	/* 2xx but not a well-formed answer */
	PLEX_ERR_TOOBIG,	/* answer larger than PLEX_BODY_MAX */
	PLEX_ERR_NOMEM,
	PLEX_ERR_INTERNAL	/* curl could not even set up */
};

enum plex_kind {
	PLEX_REQ_TOKEN,		/* POST /security/token, admin token */
	PLEX_REQ_VERIFY,	/* GET /, transient token */
	PLEX_REQ_IDENTITY,	/* GET /identity, no token */
	PLEX_REQ_EVENTS,	/* GET /:/eventsource/notifications */
	PLEX_REQ_RESOURCES	/* GET /security/resources: plexres.h */
};

/* Connection settings of one server; strings are borrowed. */
struct plex_target {
	const char *url;		/* base URL, no trailing slash */
	const char *ca_file;		/* NULL: system store */
	int verify_tls;
	long timeout_ms;
	const char *client_id;		/* X-Plex-Client-Identifier */
};

struct plex_result {
	enum plex_err err;
	long status;			/* HTTP status, 0 if none */
	double seconds;			/* total time of the transfer */
	char reason[PLEX_REASON_LEN];	/* never holds a secret */
	struct secret *token;		/* PLEX_REQ_TOKEN: owned by caller */
	char machine_id[PLEX_FIELD_MAX];	/* PLEX_REQ_IDENTITY */
	char version[PLEX_FIELD_MAX];		/* PLEX_REQ_IDENTITY */
	struct plexres *resources;	/* PLEX_REQ_RESOURCES, caller owns */
};

struct plex_req;

/* Call once before any thread starts, and plex_global_cleanup at exit. */
int plex_global_init(void);
void plex_global_cleanup(void);

/*
 * Prepare a request.  tok is the admin token for PLEX_REQ_TOKEN, the
 * transient token for PLEX_REQ_VERIFY and NULL for PLEX_REQ_IDENTITY;
 * it is copied into the header list, so the caller may free it.
 * NULL when out of memory.
 */
struct plex_req *plex_req_new(enum plex_kind kind,
    const struct plex_target *t, const struct secret *tok);
CURL *plex_req_easy(struct plex_req *r);
enum plex_kind plex_req_kind(const struct plex_req *r);
/* Opaque pointer for the caller (the server the request belongs to). */
void plex_req_set_data(struct plex_req *r, void *data);
void *plex_req_data(const struct plex_req *r);

/*
 * PLEX_REQ_EVENTS is a long-lived Server-Sent Events stream with no
 * overall timeout.  While it runs: 1 once a 2xx event stream is
 * flowing, the count of "ping" events seen, and bytes received.  When it
 * ends, plex_req_finish() says why: PLEX_ERR_AUTH (the token is dead),
 * PLEX_ERR_HTTP with status 404 or PLEX_ERR_MALFORMED (no stream
 * offered here), anything else (the stream dropped).
 */
int plex_req_stream_open(const struct plex_req *r);
unsigned long plex_req_pings(const struct plex_req *r);
unsigned long plex_req_received(const struct plex_req *r);

/* Classify a finished transfer and parse its body into res. */
void plex_req_finish(struct plex_req *r, CURLcode cc, struct plex_result *res);
/* Blocking: perform and finish. */
void plex_req_perform(struct plex_req *r, struct plex_result *res);
/* Wipes the header list (it held a token) and frees. */
void plex_req_free(struct plex_req *r);

/* Free what a result owns (the token); the struct itself stays. */
void plex_result_clear(struct plex_result *res);

/*
 * Parsers, exposed for the unit tests and the fuzzers.  Both accept
 * JSON ({"MediaContainer":{...}}) and XML (<MediaContainer .../>),
 * whatever was asked for.  A token must be 1..PLEX_TOKEN_MAX bytes of
 * [A-Za-z0-9._~+/=-]; anything else is PLEX_ERR_MALFORMED.
 */
enum plex_err plex_parse_token(const char *body, size_t len,
    struct secret **token, char *reason, size_t reasonlen);
enum plex_err plex_parse_identity(const char *body, size_t len,
    char machine_id[PLEX_FIELD_MAX], char version[PLEX_FIELD_MAX],
    char *reason, size_t reasonlen);

/*
 * Where a Plex answer begins: past a UTF-8 BOM and blanks, at a '{'
 * (JSON) or a '<' (XML).  PLEX_OK with *start set, or PLEX_ERR_TOOBIG /
 * PLEX_ERR_MALFORMED with a reason.
 */
enum plex_err plex_body_start(const char *body, size_t len, size_t *start,
    char *reason, size_t reasonlen);
/*
 * Parse an XML answer with expat, hardened for hostile input: a wiping
 * allocator, no DOCTYPE and no entity declarations (refused), and the
 * root element must be MediaContainer.  start and end see every element
 * with ud.  PLEX_OK, or an error with a reason.
 */
enum plex_err plex_parse_xml(const char *s, size_t len, void *ud,
    XML_StartElementHandler start, XML_EndElementHandler end,
    char *reason, size_t reasonlen);

const char *plex_strerror(enum plex_err err);
/* 1 when a string could be a token by the rule above. */
int plex_token_wellformed(const char *s, size_t len);

#endif
