/*
 * log.h - one line per event on stderr, with a time stamp or, when
 * stderr is the systemd journal, with a <N> priority prefix instead.
 * Thread safe: each line leaves in a single write(2).  Never give it a
 * secret; give it secret_fingerprint() instead.
 */
#ifndef PLEX_TOKEND_LOG_H
#define PLEX_TOKEND_LOG_H

#include <stdarg.h>

enum log_level {
	LOGL_ERROR,	/* a server has no valid token */
	LOGL_WARNING,	/* needs the operator */
	LOGL_NOTICE,	/* life cycle: started, ready, stopping */
	LOGL_INFO,	/* state changes: token renewed, server down/up */
	LOGL_DEBUG	/* each request and retry */
};

#define LOG_FMT(a, b) __attribute__((format(printf, a, b)))

/* Detect the journal from $JOURNAL_STREAM and set the default level. */
void log_init(void);
void log_setlevel(enum log_level level);
enum log_level log_getlevel(void);
/* Parse "error".."debug"; -1 when the name is unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);
int log_enabled(enum log_level level);

void log_error(const char *fmt, ...) LOG_FMT(1, 2);
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) LOG_FMT(1, 2);
void log_warnx(const char *fmt, ...) LOG_FMT(1, 2);
void log_notice(const char *fmt, ...) LOG_FMT(1, 2);
void log_info(const char *fmt, ...) LOG_FMT(1, 2);
void log_debug(const char *fmt, ...) LOG_FMT(1, 2);

/* Only main.c, before the loop starts: log and exit 2. */
void log_fatal(const char *fmt, ...) LOG_FMT(1, 2)
    __attribute__((noreturn));
void log_fatalx(const char *fmt, ...) LOG_FMT(1, 2)
    __attribute__((noreturn));

#endif
