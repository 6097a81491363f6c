/*
 * log.c - leveled logging to stderr, journal aware.
 */
#include "ac-config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 1024

/* read by every thread, set by the main one (-l, SIGHUP) */
static atomic_int cur_level = LOGL_INFO;
static int to_journal;

static const char *const level_names[] = {
	"error", "warning", "notice", "info", "debug"
};

/* syslog priorities, as the journal reads them from a "<N>" prefix */
static const int level_prio[] = { 3, 4, 5, 6, 7 };

static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(void)
{
	to_journal = stderr_is_journal();
}

void
log_setlevel(enum log_level level)
{
	atomic_store_explicit(&cur_level, (int)level, memory_order_relaxed);
}

enum log_level
log_getlevel(void)
{
	return (enum log_level)atomic_load_explicit(&cur_level,
	    memory_order_relaxed);
}

int
log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	return level_names[level];
}

int
log_enabled(enum log_level level)
{
	return (int)level <= atomic_load_explicit(&cur_level,
	    memory_order_relaxed);
}

static size_t
log_prefix(char *buf, size_t len, enum log_level level)
{
	struct timespec ts;
	struct tm tm;
	int n;

	if (to_journal)
		n = snprintf(buf, len, "<%d>", level_prio[level]);
	else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(buf, len,
		    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		    level_names[level]);
	}
	return n < 0 ? 0 : (size_t)n;
}

static void
log_emit(enum log_level level, const char *err, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t len;
	int n;
	int saved = errno;

	len = log_prefix(line, sizeof(line), level);
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (n > 0)
		len += (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	if (err != NULL) {
		n = snprintf(line + len, sizeof(line) - len, ": %s", err);
		if (n > 0)
			len += (size_t)n;
		if (len > sizeof(line) - 2)
			len = sizeof(line) - 2;
	}
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) == -1) {
		/* nowhere left to report it */
	}
	errno = saved;
}

#define LOG_BODY(level, err)				\
	do {						\
		va_list ap;				\
		if (!log_enabled(level))		\
			return;				\
		va_start(ap, fmt);			\
		log_emit(level, err, fmt, ap);		\
		va_end(ap);				\
	} while (0)

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOGL_ERROR, NULL);
}

void
log_warn(const char *fmt, ...)
{
	char err[128];
	int e = errno;

	snprintf(err, sizeof(err), "%s", strerror(e));
	LOG_BODY(LOGL_WARNING, err);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOGL_WARNING, NULL);
}

void
log_notice(const char *fmt, ...)
{
	LOG_BODY(LOGL_NOTICE, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOGL_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOGL_DEBUG, NULL);
}

void
log_fatal(const char *fmt, ...)
{
	char err[128];
	va_list ap;

	snprintf(err, sizeof(err), "%s", strerror(errno));
	va_start(ap, fmt);
	log_emit(LOGL_ERROR, err, fmt, ap);
	va_end(ap);
	exit(2);
}

void
log_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOGL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(2);
}
