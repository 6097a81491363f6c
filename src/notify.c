/*
 * notify.c - the sd_notify(3) protocol, the watchdog and socket
 * activation, through libsystemd.  Without HAVE_SYSTEMD every function
 * compiles to nothing.
 */
#include "ac-config.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "notify.h"

#define NOTIFY_STATUS_MAX 256

#ifdef HAVE_SYSTEMD

void
notify_ready(const char *status)
{
	if (status != NULL)
		sd_notifyf(0, "READY=1\nSTATUS=%s", status);
	else
		sd_notify(0, "READY=1");
}

void
notify_status(const char *fmt, ...)
{
	char buf[NOTIFY_STATUS_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", buf);
}

void
notify_reloading(void)
{
	struct timespec ts;
	unsigned long long usec;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	usec = (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL;
	sd_notifyf(0, "RELOADING=1\nSTATUS=reloading the configuration\n"
	    "MONOTONIC_USEC=%llu", usec);
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

uint64_t
notify_watchdog_usec(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}

void
notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

int
notify_listen_fds(void)
{
	int n;

	/* sd_listen_fds() also makes them close-on-exec. */
	n = sd_listen_fds(1);
	return n > 0 ? n : 0;
}

#else /* !HAVE_SYSTEMD */

void
notify_ready(const char *status)
{
}

void
notify_status(const char *fmt, ...)
{
}

void
notify_reloading(void)
{
}

void
notify_stopping(void)
{
}

uint64_t
notify_watchdog_usec(void)
{
	return 0;
}

void
notify_watchdog(void)
{
}

int
notify_listen_fds(void)
{
	return 0;
}

#endif /* HAVE_SYSTEMD */
