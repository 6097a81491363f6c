/*
 * api.h - the local HTTP API (libmicrohttpd), as DESIGN.md "Local API".
 * Request handlers read through engine.c and never wait on the network:
 * a caller that must wait for a renewal is suspended and resumed.
 */
#ifndef PLEX_TOKEND_API_H
#define PLEX_TOKEND_API_H

#include <stddef.h>

#include "config.h"
#include "engine.h"

struct api;
struct events;

/*
 * Listen on the sockets systemd passed, if any, else on cfg's address
 * and port; GET /v1/events subscribes with ev (events.h).  NULL with a
 * reason on failure.
 */
struct api *api_start(struct engine *e, struct events *ev,
    const struct config *cfg, char *err, size_t errlen);
/* The TCP port actually bound (useful with port = 0). */
int api_port(const struct api *a);
/*
 * How many listening sockets systemd passed (socket activation); 0
 * when the API listens where the configuration says.
 */
int api_activated(const struct api *a);
/*
 * The route of a request path (0: none, else one of api.c's routes);
 * for a route about one server its name goes to name.  Pure, for the
 * fuzzer (tests/fuzz/fuzz-request.c).
 */
int api_route(const char *url, char name[CFG_NAME_MAX + 1]);
/* Stop accepting; requests in flight may finish. */
void api_quiesce(struct api *a);
/* Wait until every request begun is answered; -1 past timeout_ms. */
int api_drain(struct api *a, int64_t timeout_ms);
void api_stop(struct api *a);

#endif
