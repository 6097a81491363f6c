/*
 * hooks.c - the hook table, the queue of runs, the workers that run
 * commands (posix_spawn, no shell) and webhooks (libcurl).
 *
 * One mutex guards the table, the queue and every hook's busy flag.
 * The engine thread only queues (hooks_observe); the workers take a run
 * whose hook is not busy, run it with no lock held, and log what came
 * of it.  Hooks are reference counted: the table holds one reference
 * and each queued or running run another, so a reload never frees a
 * hook in use.
 */
#include "ac-config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "hooks.h"
#include "log.h"
#include "plex.h"
#include "secret.h"
#include "token.h"

#define HOOKS_DRAIN_MS 200	/* output read after the command exits */
#define HOOKS_POLL_MS 50
#define HOOKS_BACKOFF_MS 1000	/* before the first retry; doubles */

struct hook {
	unsigned refs;
	int busy;			/* a run of it is under way */
	unsigned events;		/* CFG_EV_* */
	char *server;			/* a name or "*" */
	char **argv;			/* NULL for a webhook */
	char *webhook;
	int include_token;
	int64_t timeout;		/* ms */
	char label[192];		/* for logs: never a secret */
};

struct job {
	struct hook *hook;
	char server[CFG_NAME_MAX + 1];
	unsigned event;			/* one CFG_EV_* bit */
	int64_t at, expires_at;		/* wall ms; 0: no token */
	struct secret *token;		/* refresh, when the hook wants it */
	struct job *next;
};

struct hooks {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct hook **table;
	size_t n;
	struct job *queue;		/* oldest first */
	size_t npending;
	int full_warned;
	atomic_int stopping;
	pthread_t workers[HOOKS_WORKERS];
	size_t nworkers;
};

static const struct {
	unsigned tok, cfg;
	const char *name;
} event_map[] = {
	{ TOK_EV_RESTART, CFG_EV_RESTART, "restart" },
	{ TOK_EV_FAILURE, CFG_EV_FAILURE, "failure" },
	{ TOK_EV_REFRESH, CFG_EV_REFRESH, "refresh" },
	{ TOK_EV_RECOVERED, CFG_EV_RECOVERED, "recovered" },
	{ 0, 0, NULL }
};

static const char *
event_name(unsigned cfg_ev)
{
	size_t i;

	for (i = 0; event_map[i].name != NULL; i++)
		if (event_map[i].cfg == cfg_ev)
			return event_map[i].name;
	return "?";
}

/* ---------------------------------------------------------------- table */

static void
hook_free(struct hook *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; k->argv != NULL && k->argv[i] != NULL; i++)
		free(k->argv[i]);
	free(k->argv);
	free(k->server);
	free(k->webhook);
	free(k);
}

/* Under h->mu, or when no worker runs. */
static void
hook_unref(struct hook *k)
{
	if (--k->refs == 0)
		hook_free(k);
}

/* "webhook http://host:port/…": no path, query or user info in logs. */
static void
webhook_label(struct hook *k)
{
	const char *p = strstr(k->webhook, "://"), *host, *end, *at;

	host = p != NULL ? p + 3 : k->webhook;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (at != NULL)
		host = at + 1;
	snprintf(k->label, sizeof(k->label), "webhook %.*s%.*s%s",
	    p != NULL ? (int)(p + 3 - k->webhook) : 0, k->webhook,
	    (int)(end - host), host, *end != '\0' ? "/…" : "");
}

static struct hook *
hook_copy(const struct cfg_hook *c)
{
	struct hook *k;
	size_t i, n = 0;

	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return NULL;
	k->refs = 1;
	k->events = c->events;
	k->include_token = c->include_token;
	k->timeout = c->timeout;
	k->server = strdup(c->server);
	while (c->argv != NULL && c->argv[n] != NULL)
		n++;
	if (c->argv != NULL)
		k->argv = calloc(n + 1, sizeof(*k->argv));
	for (i = 0; k->argv != NULL && i < n; i++) {
		k->argv[i] = strdup(c->argv[i]);
		if (k->argv[i] == NULL)
			break;
	}
	if (c->webhook != NULL)
		k->webhook = strdup(c->webhook);
	if (k->server == NULL || (c->argv != NULL && (k->argv == NULL ||
	    i < n)) || (c->webhook != NULL && k->webhook == NULL)) {
		hook_free(k);
		return NULL;
	}
	if (k->webhook != NULL)
		webhook_label(k);
	else
		snprintf(k->label, sizeof(k->label), "hook %s", k->argv[0]);
	return k;
}

/* A copy of cfg's hooks; -1 when out of memory. */
static int
table_new(const struct config *cfg, struct hook ***out, size_t *n)
{
	struct hook **t;
	size_t i;

	*out = NULL;
	*n = 0;
	t = calloc(cfg->nhooks + 1, sizeof(*t));
	if (t == NULL)
		return -1;
	for (i = 0; i < cfg->nhooks; i++) {
		t[i] = hook_copy(&cfg->hooks[i]);
		if (t[i] == NULL) {
			while (i > 0)
				hook_free(t[--i]);
			free(t);
			return -1;
		}
	}
	*out = t;
	*n = cfg->nhooks;
	return 0;
}

/* ---------------------------------------------------------------- queue */

static void
job_set(struct job *j, const struct engine_event *e)
{
	const struct hook *k = j->hook;

	j->at = e->at;
	j->expires_at = e->expires_at;
	secret_free(j->token);
	j->token = NULL;
	if (j->event == CFG_EV_REFRESH && e->token != NULL &&
	    (k->argv != NULL || k->include_token))
		j->token = secret_dup(e->token);
}

static void
job_free(struct job *j)
{
	secret_free(j->token);
	free(j);
}

/* Queue a run of k, or bring the pending one up to date; under h->mu. */
static void
enqueue(struct hooks *h, struct hook *k, const struct engine_event *e,
    unsigned ev)
{
	struct job *j, **pp;

	for (pp = &h->queue; *pp != NULL; pp = &(*pp)->next) {
		j = *pp;
		if (j->hook == k && j->event == ev &&
		    strcmp(j->server, e->server) == 0) {
			job_set(j, e);
			return;
		}
	}
	if (h->npending >= HOOKS_PENDING_MAX) {
		if (!h->full_warned)
			log_warnx("%s for %s %s: %d hook runs are queued "
			    "already; dropping this one (hooks too slow?)",
			    k->label, e->server, event_name(ev),
			    HOOKS_PENDING_MAX);
		h->full_warned = 1;
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return;
	j->hook = k;
	k->refs++;
	j->event = ev;
	snprintf(j->server, sizeof(j->server), "%s", e->server);
	job_set(j, e);
	*pp = j;
	h->npending++;
}

void
hooks_observe(const struct engine_event *e, void *ctx)
{
	struct hooks *h = ctx;
	struct hook *k;
	size_t i, m;

	pthread_mutex_lock(&h->mu);
	for (m = 0; event_map[m].name != NULL; m++) {
		if (!(e->events & event_map[m].tok))
			continue;
		for (i = 0; i < h->n; i++) {
			k = h->table[i];
			if ((k->events & event_map[m].cfg) &&
			    (strcmp(k->server, "*") == 0 ||
			    strcmp(k->server, e->server) == 0))
				enqueue(h, k, e, event_map[m].cfg);
		}
	}
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mu);
}

/* The oldest run whose hook is idle, marked busy; NULL when stopping. */
static struct job *
take(struct hooks *h)
{
	struct job **pp, *j;

	while (!atomic_load(&h->stopping)) {
		for (pp = &h->queue; *pp != NULL; pp = &(*pp)->next)
			if (!(*pp)->hook->busy) {
				j = *pp;
				*pp = j->next;
				h->npending--;
				if (h->npending < HOOKS_PENDING_MAX / 2)
					h->full_warned = 0;
				j->hook->busy = 1;
				return j;
			}
		pthread_cond_wait(&h->cond, &h->mu);
	}
	return NULL;
}

/*
 * Sleep ms, or less if the hooks stop: -1 then.  Called with no lock
 * held.
 */
static int
pause_ms(struct hooks *h, int64_t ms)
{
	int64_t end = clock_mono_ms() + ms;
	struct timespec ts;
	int64_t left;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		left = end - clock_mono_ms();
		if (atomic_load(&h->stopping) || left <= 0)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(left / 1000);
		ts.tv_nsec += (long)(left % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&h->cond, &h->mu, &ts);
	}
	pthread_mutex_unlock(&h->mu);
	return atomic_load(&h->stopping) ? -1 : 0;
}

/* -------------------------------------------------------------- commands */

struct child {
	pid_t pid;
	int in, out;			/* our ends of its stdin, stdout */
	char buf[HOOKS_OUTPUT_MAX];
	size_t len;
	int truncated;
	int status;
	int exited;
	int killed;			/* 1: SIGTERM sent, 2: SIGKILL too */
	int64_t exited_at;
};

static void
child_attr(posix_spawnattr_t *at)
{
	static const int reset[] = { SIGPIPE, SIGTERM, SIGINT, SIGHUP,
	    SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM };
	sigset_t none, def;
	size_t i;

	sigemptyset(&none);
	sigemptyset(&def);
	for (i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		sigaddset(&def, reset[i]);
	posix_spawnattr_init(at);
	posix_spawnattr_setsigmask(at, &none);
	posix_spawnattr_setsigdefault(at, &def);
	posix_spawnattr_setpgroup(at, 0);
	posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
}

static void
child_files(posix_spawn_file_actions_t *fa, int in, int out)
{
	posix_spawn_file_actions_init(fa);
	posix_spawn_file_actions_adddup2(fa, in, 0);
	posix_spawn_file_actions_adddup2(fa, out, 1);
	posix_spawn_file_actions_adddup2(fa, out, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	posix_spawn_file_actions_addclosefrom_np(fa, 3);
#endif
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 29)
	posix_spawn_file_actions_addchdir_np(fa, "/");
#endif
}

/* Start the command; 0, or an errno value. */
static int
child_spawn(struct child *c, const struct job *j)
{
	char ev[64], srv[64 + CFG_NAME_MAX], exp[64 + CLOCK_RFC3339_LEN];
	char t[CLOCK_RFC3339_LEN] = "";
	char *env[] = { ev, srv, exp, (char *)(uintptr_t)HOOKS_PATH, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int in[2], out[2], rc;

	if (j->expires_at != 0)
		clock_rfc3339(j->expires_at, t);
	snprintf(ev, sizeof(ev), "PLEX_TOKEND_EVENT=%s", event_name(j->event));
	snprintf(srv, sizeof(srv), "PLEX_TOKEND_SERVER=%s", j->server);
	snprintf(exp, sizeof(exp), "PLEX_TOKEND_EXPIRES_AT=%s", t);
	if (pipe2(in, O_CLOEXEC) == -1)
		return errno;
	if (pipe2(out, O_CLOEXEC) == -1) {
		rc = errno;
		close(in[0]);
		close(in[1]);
		return rc;
	}
	child_files(&fa, in[0], out[1]);
	child_attr(&at);
	rc = posix_spawn(&c->pid, j->hook->argv[0], &fa, &at, j->hook->argv,
	    env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	c->out = out[0];
	if (rc != 0) {
		close(c->in);
		close(c->out);
	}
	return rc;
}

/* The token and a newline on the command's stdin, then EOF. */
static void
child_feed(struct child *c, const struct secret *tok)
{
	if (tok != NULL) {
		fcntl(c->in, F_SETFL, O_NONBLOCK);
		if (write(c->in, secret_str(tok), secret_len(tok)) ==
		    (ssize_t)secret_len(tok) && write(c->in, "\n", 1) != 1)
			log_debug("hooks: short write of the token");
	}
	close(c->in);
	c->in = -1;
}

/* Wait up to ms for output and keep its first HOOKS_OUTPUT_MAX bytes. */
static void
child_read(struct child *c, int ms)
{
	struct pollfd p;
	char tmp[1024];
	ssize_t n;
	size_t k;

	if (c->out == -1) {
		poll(NULL, 0, ms);
		return;
	}
	p.fd = c->out;
	p.events = POLLIN;
	if (poll(&p, 1, ms) <= 0)
		return;
	n = read(c->out, tmp, sizeof(tmp));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(c->out);
		c->out = -1;
		return;
	}
	k = (size_t)n;
	if (k > sizeof(c->buf) - c->len) {
		k = sizeof(c->buf) - c->len;
		c->truncated = 1;
	}
	memcpy(c->buf + c->len, tmp, k);
	c->len += k;
	secret_wipe(tmp, sizeof(tmp));
}

/* Until it exits (killed past timeout ms), gathering its output. */
static void
child_wait(struct hooks *h, struct child *c, int64_t timeout)
{
	int64_t now, deadline = clock_mono_ms() + timeout, kill_at = 0;

	for (;;) {
		now = clock_mono_ms();
		if (!c->exited && waitpid(c->pid, &c->status, WNOHANG) ==
		    c->pid) {
			c->exited = 1;
			c->exited_at = now;
		}
		if (c->exited && (c->out == -1 ||
		    now - c->exited_at > HOOKS_DRAIN_MS))
			break;
		if (!c->exited && c->killed == 0 && (now >= deadline ||
		    atomic_load(&h->stopping))) {
			kill(-c->pid, SIGTERM);
			c->killed = 1;
			kill_at = now + HOOKS_KILL_GRACE_MS;
		} else if (!c->exited && c->killed == 1 && now >= kill_at) {
			kill(-c->pid, SIGKILL);
			c->killed = 2;
		}
		child_read(c, HOOKS_POLL_MS);
	}
	if (c->out != -1)
		close(c->out);
	c->out = -1;
	if (c->killed)
		kill(-c->pid, SIGKILL);	/* what is left of its group */
}

/* Mask the token wherever the output echoes it; keep lines printable. */
static void
output_clean(struct child *c, const struct secret *tok)
{
	char *p = c->buf, *end = c->buf + c->len;
	size_t i, tl;

	for (i = 0; i < c->len; i++)
		if (c->buf[i] == '\0' || (c->buf[i] != '\n' &&
		    (unsigned char)c->buf[i] < 0x20))
			c->buf[i] = '?';
	tl = tok != NULL ? secret_len(tok) : 0;
	if (tl == 0)
		return;
	while (p < end && (p = memmem(p, (size_t)(end - p), secret_str(tok),
	    tl)) != NULL) {
		memset(p, '*', tl);
		p += tl;
	}
}

static void
duration_str(int64_t ms, char *out, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(out, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(out, len, "%lldms", (long long)ms);
}

static void
child_report(const struct job *j, struct child *c)
{
	const char *l = j->hook->label, *ev = event_name(j->event);
	char d[32], *p, *nl;
	int lines = 0;

	duration_str(j->hook->timeout, d, sizeof(d));
	if (c->killed)
		log_warnx("%s for %s %s: timed out after %s; killed (%s)", l,
		    j->server, ev, d, c->killed == 2 ? "SIGKILL" : "SIGTERM");
	else if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)
		log_info("%s for %s %s: exit 0", l, j->server, ev);
	else if (WIFEXITED(c->status))
		log_warnx("%s for %s %s: exit %d", l, j->server, ev,
		    WEXITSTATUS(c->status));
	else
		log_warnx("%s for %s %s: killed by signal %d", l, j->server,
		    ev, WTERMSIG(c->status));
	output_clean(c, j->token);
	for (p = c->buf; p < c->buf + c->len &&
	    lines < HOOKS_OUTPUT_LINES; p = nl + 1, lines++) {
		nl = memchr(p, '\n', (size_t)(c->buf + c->len - p));
		if (nl == NULL)
			nl = c->buf + c->len;
		log_info("%s for %s %s: | %.*s", l, j->server, ev,
		    (int)(nl - p), p);
	}
	if (c->truncated || p < c->buf + c->len)
		log_info("%s for %s %s: (more output not logged)", l,
		    j->server, ev);
	secret_wipe(c->buf, sizeof(c->buf));
}

static void
run_command(struct hooks *h, struct job *j)
{
	struct child *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		log_warnx("%s for %s %s: out of memory; not run",
		    j->hook->label, j->server, event_name(j->event));
		return;
	}
	rc = child_spawn(c, j);
	if (rc != 0) {
		log_warnx("%s for %s %s: cannot run: %s", j->hook->label,
		    j->server, event_name(j->event), strerror(rc));
		free(c);
		return;
	}
	log_debug("%s for %s %s: started, pid %ld", j->hook->label,
	    j->server, event_name(j->event), (long)c->pid);
	child_feed(c, j->token);
	child_wait(h, c, j->hook->timeout);
	child_report(j, c);
	free(c);
}

/* -------------------------------------------------------------- webhooks */

static size_t
discard(char *p, size_t size, size_t n, void *u)
{
	(void)p;
	(void)u;
	return size * n;
}

static int
give_up(void *u, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct hooks *h = u;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return atomic_load(&h->stopping) != 0;
}

/* The JSON body; a token is [A-Za-z0-9._~+/=-]: nothing to escape. */
static size_t
webhook_body(const struct job *j, char *buf, size_t len)
{
	char at[CLOCK_RFC3339_LEN], exp[CLOCK_RFC3339_LEN + 2] = "null";
	char t[CLOCK_RFC3339_LEN];
	const char *tok = j->token != NULL ? secret_str(j->token) : NULL;
	int n;

	clock_rfc3339(j->at, at);
	if (j->expires_at != 0) {
		clock_rfc3339(j->expires_at, t);
		snprintf(exp, sizeof(exp), "\"%s\"", t);
	}
	n = snprintf(buf, len, "{\"event\":\"%s\",\"server\":\"%s\","
	    "\"expires_at\":%s,\"at\":\"%s\"%s%s%s}", event_name(j->event),
	    j->server, exp, at, tok != NULL ? ",\"token\":\"" : "",
	    tok != NULL ? tok : "", tok != NULL ? "\"" : "");
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

static void
webhook_opts(struct hooks *h, CURL *c, const struct job *j,
    struct curl_slist *hd, const char *body, size_t len)
{
	curl_easy_setopt(c, CURLOPT_URL, j->hook->webhook);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)j->hook->timeout);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, give_up);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "plex-tokend/" PACKAGE_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

/* One try: 0 on a 2xx answer, else -1 and why (never the body). */
static int
webhook_try(struct hooks *h, const struct job *j, const char *body,
    size_t len, char *why, size_t whylen)
{
	struct curl_slist *hd;
	CURLcode cc;
	long code = 0;
	CURL *c;
	int rc = -1;

	c = curl_easy_init();
	hd = curl_slist_append(NULL, "Content-Type: application/json");
	if (c == NULL || hd == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	webhook_opts(h, c, j, hd, body, len);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK)
		snprintf(why, whylen, "%s", curl_easy_strerror(cc));
	else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		snprintf(why, whylen, "HTTP %ld", code);
		if (code >= 200 && code < 300)
			rc = 0;
	}
 out:
	curl_slist_free_all(hd);
	curl_easy_cleanup(c);
	return rc;
}

static void
run_webhook(struct hooks *h, struct job *j)
{
	char body[PLEX_TOKEN_MAX + 512], why[CURL_ERROR_SIZE];
	const char *l = j->hook->label, *ev = event_name(j->event);
	size_t len;
	int i;

	len = webhook_body(j, body, sizeof(body));
	for (i = 0; i < HOOKS_WEBHOOK_TRIES && len > 0; i++) {
		if (i > 0 && pause_ms(h, (int64_t)HOOKS_BACKOFF_MS <<
		    (i - 1)) == -1)
			break;
		if (webhook_try(h, j, body, len, why, sizeof(why)) == 0) {
			log_info("%s for %s %s: delivered (%s)", l, j->server,
			    ev, why);
			goto out;
		}
		log_debug("%s for %s %s: try %d of %d: %s", l, j->server, ev,
		    i + 1, HOOKS_WEBHOOK_TRIES, why);
	}
	if (len == 0)
		snprintf(why, sizeof(why), "body too long");
	log_warnx("%s for %s %s: not delivered after %d tries: %s", l,
	    j->server, ev, i, why);
 out:
	secret_wipe(body, sizeof(body));
}

/* --------------------------------------------------------------- workers */

static void *
worker(void *arg)
{
	struct hooks *h = arg;
	struct job *j;

	pthread_mutex_lock(&h->mu);
	while ((j = take(h)) != NULL) {
		pthread_mutex_unlock(&h->mu);
		if (j->hook->argv != NULL)
			run_command(h, j);
		else
			run_webhook(h, j);
		pthread_mutex_lock(&h->mu);
		j->hook->busy = 0;
		hook_unref(j->hook);
		job_free(j);
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct hooks *
hooks_new(const struct config *cfg, char *err, size_t errlen)
{
	struct hooks *h;
	int rc;

	h = calloc(1, sizeof(*h));
	if (h == NULL || table_new(cfg, &h->table, &h->n) == -1) {
		free(h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cond, NULL);
	for (; h->nworkers < HOOKS_WORKERS; h->nworkers++) {
		rc = pthread_create(&h->workers[h->nworkers], NULL, worker,
		    h);
		if (rc != 0) {
			snprintf(err, errlen, "cannot start a hooks thread: "
			    "%s", strerror(rc));
			hooks_free(h);
			return NULL;
		}
	}
	return h;
}

int
hooks_reload(struct hooks *h, const struct config *cfg)
{
	struct hook **t, **old;
	size_t n, oldn, i;

	if (table_new(cfg, &t, &n) == -1)
		return -1;
	pthread_mutex_lock(&h->mu);
	old = h->table;
	oldn = h->n;
	h->table = t;
	h->n = n;
	for (i = 0; i < oldn; i++)
		hook_unref(old[i]);
	pthread_mutex_unlock(&h->mu);
	free(old);
	return 0;
}

void
hooks_free(struct hooks *h)
{
	struct job *j;
	size_t i;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	atomic_store(&h->stopping, 1);
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mu);
	for (i = 0; i < h->nworkers; i++)
		pthread_join(h->workers[i], NULL);
	while (h->queue != NULL) {
		j = h->queue;
		h->queue = j->next;
		hook_unref(j->hook);
		job_free(j);
	}
	for (i = 0; i < h->n; i++)
		hook_unref(h->table[i]);
	free(h->table);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
