/*
 * clock.c - clocks and randomness for the driver.
 */
#include "ac-config.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

#include "clock.h"

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
clock_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t
clock_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t
clock_mono_to_wall(int64_t mono)
{
	return clock_wall_ms() + (mono - clock_mono_ms());
}

int64_t
clock_wall_to_mono(int64_t wall)
{
	return clock_mono_ms() + (wall - clock_wall_ms());
}

void
clock_rfc3339(int64_t wall_ms, char out[CLOCK_RFC3339_LEN])
{
	time_t secs = (time_t)(wall_ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(out, CLOCK_RFC3339_LEN, "%04d-%02d-%02dT%02d:%02d:%02dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
}

double
clock_random(void *ctx)
{
	uint64_t v = 0;

	(void)ctx;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)clock_mono_ms() * 6364136223846793005ULL;
	return (double)(v >> 11) / (double)(1ULL << 53);
}
