/*
 * notify.h - talking to the service manager (systemd): readiness,
 * status, reload and stop notifications, the watchdog, and the
 * listening sockets of socket activation.
 *
 * Built without libsystemd (configure --without-systemd), every
 * function is a no-op: nothing is sent, the watchdog is off and no
 * socket is ever passed.  With libsystemd but started outside systemd
 * (no $NOTIFY_SOCKET), the messages go nowhere, as sd_notify(3) does.
 */
#ifndef PLEX_TOKEND_NOTIFY_H
#define PLEX_TOKEND_NOTIFY_H

#include <stdint.h>

/* The first file descriptor systemd passes (SD_LISTEN_FDS_START). */
#define NOTIFY_LISTEN_FDS_START 3

/* READY=1, with a STATUS= line when status is not NULL. */
void notify_ready(const char *status);
/* STATUS=..., printf-style. */
void notify_status(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* RELOADING=1 with MONOTONIC_USEC=, before a reload; READY=1 after. */
void notify_reloading(void);
/* STOPPING=1. */
void notify_stopping(void);
/* The watchdog interval in microseconds; 0 when there is none. */
uint64_t notify_watchdog_usec(void);
/* WATCHDOG=1. */
void notify_watchdog(void);
/*
 * How many listening sockets systemd passed (socket activation): they
 * are fds NOTIFY_LISTEN_FDS_START and up, made close-on-exec.  0 when
 * none; the LISTEN_* variables are removed from the environment.
 */
int notify_listen_fds(void);

#endif
