/*
 * front.h - the Plex-compatible front (/plex/NAME/security/token and
 * /plex/NAME/security/resources) and GET /v1/servers/NAME/resources.
 *
 * The serialisers are pure and exposed for the unit tests: every
 * buffer they return may hold a token, so it is freed with
 * front_free(), which wipes it.  The handlers answer from the engine's
 * caches; a caller that must wait is registered with the engine like
 * the token routes' callers (api.c owns the waiter).
 */
#ifndef PLEX_TOKEND_FRONT_H
#define PLEX_TOKEND_FRONT_H

#include <stddef.h>

#include <microhttpd.h>

#include "config.h"
#include "engine.h"
#include "plexres.h"

enum front_route {
	FRONT_NONE,
	FRONT_PLEX_TOKEN,	/* /plex/NAME/security/token */
	FRONT_PLEX_RESOURCES,	/* /plex/NAME/security/resources */
	FRONT_V1_RESOURCES	/* /v1/servers/NAME/resources */
};

/* The route of url (no query string), and the server's name. */
enum front_route front_route_of(const char *url,
    char name[CFG_NAME_MAX + 1]);

struct front_call {
	struct engine *eng;
	struct MHD_Connection *conn;
	enum front_route route;
	const char *name;
	const char *method;
	struct engine_waiter *w;	/* NULL until the caller must wait */
	int waited;			/* w was resumed once */
	int again;			/* out: call again with a waiter */
};

/* Answer (or suspend) the call; MHD's verdict. */
enum MHD_Result front_handle(struct front_call *fc);

/* 1 when an Accept header value asks for JSON. */
int front_wants_json(const char *accept);

/* s with & < > " ' as entities, for an XML attribute value. */
char *front_xml_escape(const char *s);

/* Plex's answer to /security/token: JSON or XML. */
char *front_token_answer(const char *token, size_t len, int json,
    size_t *outlen);
/* Plex's answer to /security/resources, made anew from p. */
char *front_resources_plex(const struct plexres *p, int json,
    size_t *outlen);
/* The /v1 shape: {"source","name","client_identifier",...}. */
char *front_resources_v1(const struct plexres *p, const char *source,
    size_t *outlen);
/* Wipe and free what the above returned; NULL is fine. */
void front_free(char *buf);

#endif
