/*
 * main.c - plex-tokend: parse the command line, load the configuration,
 * harden the process, start the engine and the API, then wait for
 * signals: SIGHUP reloads, SIGTERM and SIGINT stop.
 */
#include "ac-config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "clock.h"
#include "config.h"
#include "engine.h"
#include "events.h"
#include "hooks.h"
#include "log.h"
#include "notify.h"
#include "plex.h"
#include "store.h"

#define DEFAULT_CONFIG SYSCONFDIR "/plex-tokend/plex-tokend.conf"
#define STOP_GRACE_MS 5000

struct options {
	const char *config;
	int level;		/* -1: from the file */
	int check;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: plex-tokend [-c FILE] [-l LEVEL] [-t] [-V] [-h]\n"
	    "  -c, --config FILE       configuration (default %s)\n"
	    "  -l, --log-level LEVEL   error|warning|notice|info|debug\n"
	    "  -t, --check-config      validate the configuration and exit\n"
	    "  -V, --version           print the version and exit\n"
	    "  -h, --help              print this help and exit\n",
	    DEFAULT_CONFIG);
}

static void
parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	o->config = DEFAULT_CONFIG;
	o->level = -1;
	o->check = 0;
	while ((ch = getopt_long(argc, argv, "c:l:tVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'l':
			o->level = log_level_parse(optarg);
			if (o->level == -1) {
				fprintf(stderr, "plex-tokend: unknown log "
				    "level %s\n", optarg);
				exit(1);
			}
			break;
		case 't':
			o->check = 1;
			break;
		case 'V':
			printf("plex-tokend %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(1);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(1);
	}
}

static struct config *
load_config(const struct options *o)
{
	struct config *cfg = NULL;
	char err[CFG_ERR_LEN];

	if (cfg_load(o->config, &cfg, err, sizeof(err)) == -1) {
		if (o->check)
			fprintf(stderr, "%s\n", err);
		else
			log_error("%s", err);
		exit(1);
	}
	if (o->check) {
		cfg_free(cfg);
		exit(0);
	}
	log_setlevel(o->level != -1 ? o->level : cfg->log_level);
	return cfg;
}

/* Facts the operator should know at start. */
static void
warn_config(const struct config *cfg)
{
	size_t i;

	if (cfg->nclients == 0)
		log_warnx("no clients configured: any local process may ask "
		    "for a token; add a clients section to require keys");
	for (i = 0; i < cfg->nservers; i++)
		if (!cfg->servers[i].verify_tls)
			log_warnx("%s: TLS certificate verification is off "
			    "(verify_tls = false)", cfg->servers[i].name);
	if (cfg->state_directory == NULL)
		log_notice("state_directory is empty: tokens are not kept "
		    "across restarts");
}

/* Keep secrets out of core dumps and away from ptrace by others. */
static void
harden(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warn("prctl(PR_SET_DUMPABLE)");
}

/* Block the signals we wait for, before any thread inherits the mask. */
static void
block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The engine's observers: hooks (hooks.c) and the event stream. */
static struct hooks *hooks;
static struct events *events;

static void
observe(struct engine *e)
{
	char err[256];

	hooks = hooks_new(engine_config(e), err, sizeof(err));
	if (hooks == NULL)
		log_fatalx("cannot start the hooks: %s", err);
	events = events_new(err, sizeof(err));
	if (events == NULL)
		log_fatalx("cannot start the event stream: %s", err);
	if (engine_observe(e, hooks_observe, hooks) == -1 ||
	    engine_observe(e, events_observe, events) == -1)
		log_fatalx("cannot start: too many engine observers");
}

static struct engine *
start_engine(struct config *cfg)
{
	char id[STORE_UUID_LEN], err[STORE_ERR_LEN];
	struct engine *e;

	if (store_client_id(cfg->state_directory, id, err,
	    sizeof(err)) == -1) {
		log_warnx("client identifier: %s; using a new one for this "
		    "run", err);
		store_client_id(NULL, id, err, sizeof(err));
	}
	e = engine_new(cfg, id, err, sizeof(err));
	if (e == NULL)
		log_fatalx("cannot start: %s", err);
	observe(e);
	if (engine_start(e, err, sizeof(err)) == -1)
		log_fatalx("cannot start: %s", err);
	return e;
}

static void
reload(const struct options *o, struct engine *e)
{
	struct config *cfg = NULL;
	char err[CFG_ERR_LEN];

	if (cfg_load(o->config, &cfg, err, sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		return;
	}
	log_setlevel(o->level != -1 ? o->level : cfg->log_level);
	if (hooks_reload(hooks, cfg) == -1)
		log_warnx("reload: out of memory copying the hooks; the "
		    "previous hooks stay");
	engine_reload(e, cfg);
	log_notice("configuration reloaded from %s", o->config);
}

/* ------------------------------------------- service manager (notify.c) */

/*
 * READY=1 goes out once every server has had a first outcome (a token
 * verified or fetched, or a failure with a reason), or READY_TIMEOUT_MS
 * after the start, whichever comes first: well inside the unit's
 * TimeoutStartSec=45s and systemd's default 90 s.
 */
#define READY_TIMEOUT_MS 20000
#define SETTLE_POLL_MS 100	/* how often readiness is looked at */
#define STATUS_POLL_MS 1000	/* how often STATUS= is brought up to date */
/*
 * The engine loop turns at least once a second: a heartbeat older than
 * this, or than the watchdog interval if longer, means it is stuck.
 */
#define ENGINE_STALL_MS 3000

struct run {
	struct engine *e;
	int ready;		/* READY=1 was sent */
	int64_t started;	/* mono ms */
	int64_t watchdog_ms;	/* WatchdogSec, 0 when off */
	int stalled;		/* the engine loop looked stuck */
	int nready, nall;	/* as last sent in STATUS= */
};

static void
count_ready(struct engine *e, int *nready, int *nall)
{
	struct engine_status st;
	size_t i;

	*nready = *nall = 0;
	for (i = 0; engine_status_at(e, i, &st) == 0; i++) {
		(*nall)++;
		if (st.ready)
			(*nready)++;
	}
}

/* READY=1 when due; then STATUS= whenever the count changes. */
static void
progress(struct run *r, int force)
{
	char status[64];
	int n, all, settled;

	count_ready(r->e, &n, &all);
	snprintf(status, sizeof(status), "%d/%d servers ready", n, all);
	if (!r->ready) {
		settled = engine_wait_settled(r->e, 0) == 0;
		if (!settled &&
		    clock_mono_ms() - r->started < READY_TIMEOUT_MS)
			return;
		if (!settled)
			log_notice("not every server answered within %d s; "
			    "ready anyway (%s)", READY_TIMEOUT_MS / 1000,
			    status);
		r->ready = 1;
		notify_ready(status);
	} else if (force) {
		notify_ready(status);
	} else if (n != r->nready || all != r->nall) {
		notify_status("%s", status);
	}
	r->nready = n;
	r->nall = all;
}

/* WATCHDOG=1, only while the engine thread is turning. */
static void
watchdog(struct run *r)
{
	int64_t age;

	if (r->watchdog_ms == 0)
		return;
	age = clock_mono_ms() - engine_heartbeat(r->e);
	if (age > r->watchdog_ms && age > ENGINE_STALL_MS) {
		if (!r->stalled)
			log_warnx("the engine loop has not turned for %lld "
			    "ms; holding back the watchdog ping",
			    (long long)age);
		r->stalled = 1;
		return;
	}
	if (r->stalled)
		log_notice("the engine loop turns again");
	r->stalled = 0;
	notify_watchdog();
}

/* How long the main thread may sleep in sigtimedwait(). */
static int64_t
tick_ms(const struct run *r)
{
	int64_t t = r->ready ? STATUS_POLL_MS : SETTLE_POLL_MS;

	if (r->watchdog_ms > 0 && r->watchdog_ms / 2 < t)
		t = r->watchdog_ms / 2 > 0 ? r->watchdog_ms / 2 : 1;
	return t;
}

/* The signal that came, or 0 after ms without one. */
static int
wait_signal(const sigset_t *set, int64_t ms)
{
	struct timespec ts;
	int sig;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	sig = sigtimedwait(set, NULL, &ts);
	return sig > 0 ? sig : 0;
}

/* The main thread's loop: signals, readiness, status, watchdog. */
static void
serve(const struct options *o, struct engine *e, const sigset_t *set)
{
	struct run r;
	int sig;

	memset(&r, 0, sizeof(r));
	r.e = e;
	r.started = clock_mono_ms();
	r.watchdog_ms = (int64_t)(notify_watchdog_usec() / 1000);
	for (;;) {
		sig = wait_signal(set, tick_ms(&r));
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP) {
			notify_reloading();
			reload(o, e);
		}
		progress(&r, sig == SIGHUP);
		watchdog(&r);
	}
	notify_stopping();
}

static void
stop(struct api *a, struct engine *e)
{
	log_notice("stopping");
	api_quiesce(a);
	events_close(events, EVENTS_CLOSE_WAIT_MS);
	engine_stop(e);
	/* the callers the engine just woke are answered; let them finish */
	if (api_drain(a, STOP_GRACE_MS) == -1)
		log_warnx("requests still open after %d s; closing them",
		    STOP_GRACE_MS / 1000);
	hooks_free(hooks);
	api_stop(a);
	events_free(events);
	engine_free(e);
}

int
main(int argc, char **argv)
{
	struct options o;
	struct config *cfg;
	struct engine *e;
	struct api *a;
	char err[512];
	sigset_t set;

	log_init();
	parse_args(argc, argv, &o);
	cfg = load_config(&o);
	harden();
	block_signals(&set);
	if (plex_global_init() == -1)
		log_fatalx("cannot initialise libcurl");
	warn_config(cfg);
	e = start_engine(cfg);
	a = api_start(e, events, engine_config(e), err, sizeof(err));
	if (a == NULL) {
		/* exit() with the engine thread in libcurl may crash */
		engine_free(e);
		log_fatalx("cannot start the API: %s", err);
	}
	if (api_activated(a) > 0)
		log_notice("plex-tokend %s listening on %d socket(s) passed "
		    "by systemd", PACKAGE_VERSION, api_activated(a));
	else
		log_notice("plex-tokend %s listening on %s port %d",
		    PACKAGE_VERSION, engine_config(e)->listen.address,
		    api_port(a));
	serve(&o, e, &set);
	stop(a, e);
	plex_global_cleanup();
	return 0;
}
