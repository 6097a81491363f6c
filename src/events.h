/*
 * events.h - the event stream (GET /v1/events, Server-Sent Events).
 *
 * An engine observer turns each engine_event into SSE messages:
 * "event: token" for a new token (its times, never the token) and
 * "event: state" for restart, failure, recovered, down and up.  Each
 * subscriber has a ring of recent messages; when it overflows the
 * oldest are dropped.  A thread of its own adds a ": keep-alive"
 * comment to every stream idle for EVENTS_KEEPALIVE_MS.
 *
 * The HTTP side is not here: a subscriber is given suspend() and
 * resume() callbacks.  events_read() calls suspend(arg) under the
 * events lock when it has nothing to give, and the next message for
 * that subscriber calls resume(arg), with no lock held, exactly once.
 */
#ifndef PLEX_TOKEND_EVENTS_H
#define PLEX_TOKEND_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine.h"

#define EVENTS_MAX_SUBS 64
#define EVENTS_RING 64			/* messages kept per subscriber */
#define EVENTS_MSG_MAX 384
#define EVENTS_KEEPALIVE_MS 15000
#define EVENTS_RETRY_MS 2000
#define EVENTS_CLOSE_WAIT_MS 1000	/* for streams to end at stop */

struct events;
struct events_sub;

struct events *events_new(char *err, size_t errlen);
/* The observer; register it with engine_observe(e, events_observe, ev). */
void events_observe(const struct engine_event *ev, void *ctx);

/*
 * A new subscriber that sees only the named servers (servers NULL:
 * every server).  NULL when EVENTS_MAX_SUBS are subscribed, the
 * stream is closing, or memory ran out.
 */
struct events_sub *events_subscribe(struct events *ev,
    const char *const *servers, size_t nservers,
    void (*suspend)(void *arg), void (*resume)(void *arg), void *arg);
/*
 * Up to max bytes of the stream for sub.  0 when nothing is pending
 * (suspend(arg) was called), -1 once the stream is closed.
 */
ssize_t events_read(struct events_sub *sub, char *buf, size_t max);
/* The connection is gone: forget sub. */
void events_unsubscribe(struct events_sub *sub);

/*
 * End every stream (their next read is -1) and refuse new ones; wakes
 * the suspended, then waits up to wait_ms for the streams to finish.
 * Call before the HTTP daemon stops.
 */
void events_close(struct events *ev, int64_t wait_ms);
/* Stop the keep-alive thread and free; every subscriber must be gone. */
void events_free(struct events *ev);

#endif
