/*
 * metrics.h - counters for the Prometheus text format (GET /metrics),
 * as DESIGN.md "Metrics".
 *
 * Counters live in this file, process-wide: the engine reports every
 * finished upstream request and every fetch outcome, the API every
 * answer.  Gauges (a token's expiry, whether a server is up) are read
 * from the engine at scrape time.  Nothing here ever sees a secret.
 */
#ifndef PLEX_TOKEND_METRICS_H
#define PLEX_TOKEND_METRICS_H

#include <stddef.h>

struct engine;

/*
 * One upstream request finished: endpoint is "token", "verify" or
 * "identity", code the HTTP status or 0 when none came back.
 */
void metrics_upstream(const char *server, const char *endpoint, long code,
    double seconds);
/* A fetch of a new token ended; ok is 1 on success. */
void metrics_refresh(const char *server, int ok);
/*
 * The local API answered a request.  route is a route template such as
 * "/v1/servers/{name}/token" in static storage (it is kept by address);
 * a lock-free atomic add once the route has been seen.
 */
void metrics_http(const char *route, unsigned code);

/*
 * The whole exposition, NUL-terminated, in *len bytes (malloc'd; the
 * caller frees).  NULL when out of memory.
 */
char *metrics_render(struct engine *e, size_t *len);

#endif
