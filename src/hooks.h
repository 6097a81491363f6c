/*
 * hooks.h - commands and webhooks run on token events (DESIGN.md
 * "Hooks").
 *
 * hooks_observe() is an engine observer: on the engine thread it only
 * queues a copy of the event (the token, for refresh, in a struct
 * secret) for each hook that wants it.  HOOKS_WORKERS threads of their
 * own run the queue.  A hook runs at most once at a time; while it is
 * busy, later events for it coalesce: one pending run per hook, server
 * and event, holding the latest.
 *
 * The hooks keep their own copy of the configuration's hook table:
 * hooks_reload() swaps in a copy of a new one, so nothing here ever
 * reads a struct config after the call that passed it returned.  A run
 * already queued keeps the hook it was queued for.
 */
#ifndef PLEX_TOKEND_HOOKS_H
#define PLEX_TOKEND_HOOKS_H

#include <stddef.h>

#include "config.h"
#include "engine.h"

#define HOOKS_WORKERS 2
#define HOOKS_PENDING_MAX 256	/* queued runs, all hooks together */
#define HOOKS_OUTPUT_MAX 4096	/* bytes of a command's output logged */
#define HOOKS_OUTPUT_LINES 20
#define HOOKS_KILL_GRACE_MS 1000	/* SIGTERM, then SIGKILL */
#define HOOKS_WEBHOOK_TRIES 4	/* a first try and three retries */
#define HOOKS_PATH "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

struct hooks;

/* Copies cfg's hooks and starts the workers; NULL with a reason. */
struct hooks *hooks_new(const struct config *cfg, char *err,
    size_t errlen);
/* The observer; register with engine_observe(e, hooks_observe, h). */
void hooks_observe(const struct engine_event *ev, void *ctx);
/* Copy cfg's hooks in place of the running ones; -1 if out of memory. */
int hooks_reload(struct hooks *h, const struct config *cfg);
/*
 * Stop: a command still running is killed, a webhook still trying is
 * given up, queued runs are dropped.  Then free.
 */
void hooks_free(struct hooks *h);

#endif
