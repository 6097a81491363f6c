/*
 * config.h - the libconfig file, parsed and validated into plain structs.
 *
 * cfg_load() never logs and never exits: a bad file on SIGHUP must leave
 * the old configuration running.  It returns -1 and writes exactly one
 * message "FILE:LINE: message" (or "FILE: message" when libconfig knows
 * no line) into err.  Messages name the setting and what was expected,
 * and never echo a secret's value.
 */
#ifndef PLEX_TOKEND_CONFIG_H
#define PLEX_TOKEND_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "secret.h"

#define CFG_ERR_LEN 512
#define CFG_NAME_MAX 63

/* Durations are kept in milliseconds. */
struct cfg_refresh {
	int64_t lifetime;		/* "48h" */
	int64_t refresh_before;		/* "6h" */
	int64_t verify_interval;	/* "60s" */
	int64_t retry_min;		/* "1s" */
	int64_t retry_max;		/* "5m" */
	int64_t timeout;		/* "10s" */
	int64_t min_forced_interval;	/* "10s" */
	int64_t resources_ttl;		/* "10m" */
};

struct cfg_listen {
	char *address;			/* "127.0.0.1" */
	int port;			/* 32499; 0 asks the kernel for one */
	char *unix_socket;		/* NULL when unset */
	mode_t socket_mode;		/* 0660 */
	int require_header;		/* 0 */
	int allow_remote;		/* 0 */
};

struct cfg_server {
	char *name;
	char *url;			/* http:// or https://, no trailing / */
	struct secret *token;		/* the admin token, read and checked */
	char *ca_file;			/* NULL when unset */
	int verify_tls;			/* 1 */
	int line;			/* where the entry starts */
};

struct cfg_client {
	char *name;
	struct secret *key;
	char **servers;			/* names; each exists in servers */
	size_t nservers;
};

struct cfg_sink {
	char *server;
	char *path;
	mode_t mode;			/* 0640 */
	gid_t gid;			/* (gid_t)-1 when no group is set */
};

enum cfg_hook_event {
	CFG_EV_REFRESH = 1 << 0,
	CFG_EV_RESTART = 1 << 1,
	CFG_EV_FAILURE = 1 << 2,
	CFG_EV_RECOVERED = 1 << 3
};

struct cfg_hook {
	unsigned events;		/* CFG_EV_* bits */
	char *server;			/* a server name or "*" */
	char **argv;			/* NULL-ended; NULL for a webhook */
	char *webhook;			/* http(s) URL; NULL for a command */
	int include_token;		/* 0 */
	int64_t timeout;		/* ms, "10s" */
};

struct config {
	char *path;
	struct cfg_listen listen;
	char *state_directory;		/* NULL when "" (no persistence) */
	int log_level;			/* enum log_level */
	int insecure_permissions;
	struct cfg_refresh refresh;
	struct cfg_server *servers;
	size_t nservers;
	struct cfg_client *clients;
	size_t nclients;
	struct cfg_sink *sinks;
	size_t nsinks;
	struct cfg_hook *hooks;
	size_t nhooks;
};

/*
 * Load and validate path.  On success *out owns everything and 0 is
 * returned; on failure -1 and err holds one "FILE:LINE: message".
 */
int cfg_load(const char *path, struct config **out, char *err, size_t errlen);
void cfg_free(struct config *cfg);

/* "90s", "5m", "1h30m", "2d" or a plain count of seconds; -1 if bad. */
int cfg_parse_duration(const char *s, int64_t *ms);

/* 1 when name matches [a-z0-9][a-z0-9_-]{0,62}. */
int cfg_valid_name(const char *name);

const struct cfg_server *cfg_find_server(const struct config *cfg,
    const char *name);

#endif
