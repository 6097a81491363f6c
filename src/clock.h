/*
 * clock.h - the two clocks: monotonic for scheduling, wall for display.
 * Both in milliseconds.
 */
#ifndef PLEX_TOKEND_CLOCK_H
#define PLEX_TOKEND_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define CLOCK_RFC3339_LEN 64	/* "2026-12-03T17:52:09Z" + NUL, with room */

int64_t clock_mono_ms(void);
int64_t clock_wall_ms(void);
/* The wall time of monotonic instant mono, as seen now. */
int64_t clock_mono_to_wall(int64_t mono);
int64_t clock_wall_to_mono(int64_t wall);
/* RFC 3339 UTC, seconds precision: "2026-12-03T17:52:09Z". */
void clock_rfc3339(int64_t wall_ms, char out[CLOCK_RFC3339_LEN]);
/* A uniform double in [0, 1) from getrandom(). */
double clock_random(void *ctx);

#endif
