/*
 * config.c - read the libconfig file and check every setting.
 *
 * Everything is checked before anything is kept: the first problem
 * ends the load with one "FILE:LINE: setting: what was expected"
 * message.  Settings are named by their path (servers[0].url), which
 * is rebuilt from libconfig's tree, so a message always matches the
 * file.  Secret values never reach a message.
 *
 * Durations: a plain count of seconds (integer, or a string of digits)
 * or numbers with the units d, h, m, s, each unit at most once and in
 * that order ("1h30m" is good, "30m1h" and "1h1h" are not), at most
 * 3650 days.  White space, signs and fractions are refused.
 */
#include "ac-config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libconfig.h>

#include "config.h"
#include "log.h"
#include "secret.h"

#define SECRET_MAX	4096
#define DURATION_MAX_S	((int64_t)3650 * 86400)
#define SEC		((int64_t)1000)
#define NAME_RULE	"[a-z0-9][a-z0-9_-]{0,62}"
#define DURATION_HINT	"a number of seconds, or a string such as " \
	"\"90s\", \"5m\", \"1h30m\" or \"2d\" (at most 3650d)"
#define PRINTF(a, b)	__attribute__((format(printf, a, b)))

struct ld {
	struct config		*cfg;
	const char		*file;
	char			*dir;		/* absolute; relative paths */
	char			*err;
	size_t			 errlen;
	int			 failed;
};

enum want {
	W_STR, W_BOOL, W_INT, W_GROUP, W_LIST, W_STRS, W_DUR
};

static const char *const want_text[] = {
	[W_STR] = "a string in double quotes",
	[W_BOOL] = "true or false",
	[W_INT] = "an integer",
	[W_GROUP] = "a group: { ... }",
	[W_LIST] = "a list of groups: ( { ... }, ... )",
	[W_STRS] = "a list of strings: [ \"...\", ... ]",
	[W_DUR] = "a duration: " DURATION_HINT
};

static const char *const top_known[] = { "listen", "state_directory",
	"log_level", "insecure_permissions", "refresh", "servers", "clients",
	"sinks", "hooks", NULL };
static const char *const listen_known[] = { "address", "port",
	"unix_socket", "socket_mode", "require_header", "allow_remote", NULL };
static const char *const refresh_known[] = { "lifetime", "refresh_before",
	"verify_interval", "retry_min", "retry_max", "timeout",
	"min_forced_interval", "resources_ttl", NULL };
static const char *const server_known[] = { "name", "url", "token",
	"token_file", "credential", "ca_file", "verify_tls", NULL };
static const char *const client_known[] = { "name", "key", "key_file",
	"credential", "servers", NULL };
static const char *const sink_known[] = { "server", "path", "mode",
	"group", NULL };
static const char *const hook_known[] = { "on", "server", "command",
	"webhook", "include_token", "timeout", NULL };
static const char *const event_names[] = { "refresh", "restart",
	"failure", "recovered", NULL };

/* ------------------------------------------------------------ messages */

static size_t
setting_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *parent;
	const char *name;
	size_t n;
	int r;

	parent = config_setting_parent(s);
	if (parent == NULL) {
		buf[0] = '\0';
		return 0;
	}
	n = setting_path(parent, buf, len);
	if (n >= len - 1)
		return n;
	name = config_setting_name(s);
	if (name != NULL)
		r = snprintf(buf + n, len - n, "%s%s", n > 0 ? "." : "", name);
	else
		r = snprintf(buf + n, len - n, "[%d]", config_setting_index(s));
	if (r < 0)
		return n;
	return n + (size_t)r;
}

/*
 * The file a setting (or a parse error) comes from.  libconfig names an
 * included file as the @include line wrote it, relative to ld->dir.
 */
static const char *
source_name(const struct ld *ld, const char *file, char *buf, size_t len)
{
	if (file == NULL || strcmp(file, ld->file) == 0)
		return ld->file;
	if (file[0] == '/' || ld->dir == NULL)
		return file;
	snprintf(buf, len, "%s/%s", ld->dir, file);
	return buf;
}

/*
 * Write the one error message: where s is (or, for a missing member,
 * where its group is), the setting's path and msg.  Always -1.
 */
static int PRINTF(4, 5)
fail(struct ld *ld, const config_setting_t *s, const char *member,
    const char *fmt, ...)
{
	char path[256], msg[CFG_ERR_LEN], fbuf[4096];
	const char *file, *sep;
	unsigned int line;
	size_t n;
	va_list ap;

	if (ld->failed || ld->err == NULL || ld->errlen == 0) {
		ld->failed = 1;
		return -1;
	}
	ld->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = setting_path(s, path, sizeof(path));
	if (member != NULL && n < sizeof(path))
		snprintf(path + n, sizeof(path) - n, "%s%s", n > 0 ? "." : "",
		    member);
	file = source_name(ld, config_setting_source_file(s), fbuf,
	    sizeof(fbuf));
	line = config_setting_source_line(s);
	sep = path[0] != '\0' ? ": " : "";
	if (line > 0)
		snprintf(ld->err, ld->errlen, "%s:%u: %s%s%s", file, line,
		    path, sep, msg);
	else
		snprintf(ld->err, ld->errlen, "%s: %s%s%s", file, path, sep,
		    msg);
	return -1;
}

/* A problem with the file as a whole: "FILE: message". */
static int PRINTF(2, 3)
fail_file(struct ld *ld, const char *fmt, ...)
{
	char msg[CFG_ERR_LEN];
	va_list ap;

	if (!ld->failed && ld->err != NULL && ld->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(ld->err, ld->errlen, "%s: %s", ld->file, msg);
	}
	ld->failed = 1;
	return -1;
}

static int
oom(struct ld *ld)
{
	if (!ld->failed && ld->err != NULL && ld->errlen > 0)
		snprintf(ld->err, ld->errlen, "%s: out of memory", ld->file);
	ld->failed = 1;
	return -1;
}

static int
store_str(struct ld *ld, const char *v, char **out)
{
	*out = strdup(v);
	if (*out == NULL)
		return oom(ld);
	return 0;
}

/* Join a relative path to the config file's directory. */
static int
resolve(struct ld *ld, const char *p, char **out)
{
	size_t dl;

	if (p[0] == '/')
		return store_str(ld, p, out);
	dl = strlen(ld->dir);
	*out = malloc(dl + strlen(p) + 2);
	if (*out == NULL)
		return oom(ld);
	memcpy(*out, ld->dir, dl);
	if (dl == 0 || ld->dir[dl - 1] != '/')
		(*out)[dl++] = '/';
	memcpy(*out + dl, p, strlen(p) + 1);
	return 0;
}

/* Turn a count of milliseconds back into "1h30m" for messages. */
static void
fmt_duration(int64_t ms, char *buf, size_t len)
{
	static const char units[] = "dhms";
	static const int64_t mult[] = { 86400, 3600, 60, 1 };
	int64_t s = ms / SEC;
	size_t i, n = 0;
	int r;

	buf[0] = '\0';
	for (i = 0; i < 4 && n < len; i++) {
		if (s / mult[i] == 0 && !(i == 3 && n == 0))
			continue;
		r = snprintf(buf + n, len - n, "%lld%c",
		    (long long)(s / mult[i]), units[i]);
		if (r < 0)
			return;
		n += (size_t)r;
		s %= mult[i];
	}
}

/* ---------------------------------------------------- typed look-ups */

static int
type_ok(const config_setting_t *s, enum want w)
{
	int t = config_setting_type(s);

	switch (w) {
	case W_STR:
		return t == CONFIG_TYPE_STRING;
	case W_BOOL:
		return t == CONFIG_TYPE_BOOL;
	case W_INT:
		return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
	case W_GROUP:
		return t == CONFIG_TYPE_GROUP;
	case W_LIST:
		return t == CONFIG_TYPE_LIST || (t == CONFIG_TYPE_ARRAY &&
		    config_setting_length(s) == 0);
	case W_STRS:
		return t == CONFIG_TYPE_LIST || t == CONFIG_TYPE_ARRAY;
	case W_DUR:
		return t == CONFIG_TYPE_STRING || t == CONFIG_TYPE_INT ||
		    t == CONFIG_TYPE_INT64;
	}
	return 0;
}

/* 1 and *out when g has the member, 0 when not, -1 on a wrong type. */
static int
member(struct ld *ld, const config_setting_t *g, const char *name,
    enum want w, config_setting_t **out)
{
	config_setting_t *s;

	*out = NULL;
	if (g == NULL)
		return 0;
	s = config_setting_get_member(g, name);
	if (s == NULL)
		return 0;
	if (!type_ok(s, w))
		return fail(ld, s, NULL, "expected %s", want_text[w]);
	*out = s;
	return 1;
}

static int
check_known(struct ld *ld, const config_setting_t *g,
    const char *const *known)
{
	char list[256];
	const char *const *k;
	const config_setting_t *s;
	size_t n = 0;
	int i, len = config_setting_length(g);

	for (i = 0; i < len; i++) {
		s = config_setting_get_elem(g, (unsigned int)i);
		for (k = known; *k != NULL; k++)
			if (strcmp(*k, config_setting_name(s)) == 0)
				break;
		if (*k != NULL)
			continue;
		list[0] = '\0';
		for (k = known; *k != NULL && n < sizeof(list); k++)
			n += (size_t)snprintf(list + n, sizeof(list) - n,
			    "%s%s", k == known ? "" : ", ", *k);
		return fail(ld, s, NULL, "unknown setting; expected one of %s",
		    list);
	}
	return 0;
}

static int
get_bool(struct ld *ld, const config_setting_t *g, const char *name,
    int *out)
{
	config_setting_t *s;
	int r;

	r = member(ld, g, name, W_BOOL, &s);
	if (r == 1)
		*out = config_setting_get_bool(s) != 0;
	return r;
}

static int
get_str(struct ld *ld, const config_setting_t *g, const char *name,
    const char **out, config_setting_t **sp)
{
	config_setting_t *s;
	int r;

	r = member(ld, g, name, W_STR, &s);
	if (r == 1)
		*out = config_setting_get_string(s);
	if (sp != NULL)
		*sp = s;
	return r;
}

/* A string that must be there; expect says what it should hold. */
static int
need_str(struct ld *ld, const config_setting_t *g, const char *name,
    const char *expect, const char **out, config_setting_t **sp)
{
	int r;

	r = get_str(ld, g, name, out, sp);
	if (r == 0)
		return fail(ld, g, name, "missing; expected %s", expect);
	return r;
}

static int
get_int(struct ld *ld, const config_setting_t *g, const char *name,
    int lo, int hi, int *out)
{
	config_setting_t *s;
	long long v;
	int r;

	r = member(ld, g, name, W_INT, &s);
	if (r != 1)
		return r;
	v = config_setting_get_int64(s);
	if (v < lo || v > hi)
		return fail(ld, s, NULL, "expected an integer from %d to %d",
		    lo, hi);
	*out = (int)v;
	return 1;
}

/* "0660": three or four octal digits, at most 0777. */
static int
get_mode(struct ld *ld, const config_setting_t *g, const char *name,
    mode_t *out)
{
	config_setting_t *s;
	const char *v = NULL;
	unsigned long m = 0;
	size_t i, len;

	s = g == NULL ? NULL : config_setting_get_member(g, name);
	if (s == NULL)
		return 0;
	v = "";
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		v = config_setting_get_string(s);
	len = strlen(v);
	for (i = 0; i < len && v[i] >= '0' && v[i] <= '7'; i++)
		m = m * 8 + (unsigned long)(v[i] - '0');
	if (len < 3 || len > 4 || i != len || m > 0777)
		return fail(ld, s, NULL, "expected a string of octal digits "
		    "such as \"0660\", at most \"0777\"");
	*out = (mode_t)m;
	return 1;
}

static int
get_duration(struct ld *ld, const config_setting_t *g, const char *name,
    int64_t *out, config_setting_t **sp)
{
	config_setting_t *s;
	long long v;
	int r;

	r = member(ld, g, name, W_DUR, &s);
	if (sp != NULL)
		*sp = s;
	if (r != 1)
		return r;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		if (cfg_parse_duration(config_setting_get_string(s), out) == 0)
			return 1;
	} else {
		v = config_setting_get_int64(s);
		if (v >= 0 && v <= DURATION_MAX_S) {
			*out = (int64_t)v * SEC;
			return 1;
		}
	}
	return fail(ld, s, NULL, "expected %s", want_text[W_DUR]);
}

/* A name matching NAME_RULE that must be there. */
static int
need_name(struct ld *ld, const config_setting_t *g, const char **out,
    config_setting_t **sp)
{
	const char *expect = "a name matching " NAME_RULE;

	if (need_str(ld, g, "name", expect, out, sp) == -1)
		return -1;
	if (!cfg_valid_name(*out))
		return fail(ld, *sp, NULL, "expected %s", expect);
	return 0;
}

/* Each element of a list of strings must be a string. */
static int
check_strings(struct ld *ld, const config_setting_t *l)
{
	const config_setting_t *e;
	int i, n = config_setting_length(l);

	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(l, (unsigned int)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return fail(ld, e, NULL, "expected %s",
			    want_text[W_STR]);
	}
	return 0;
}

/* Of the members in names, at most one may be set; *which gets it. */
static int
one_of(struct ld *ld, const config_setting_t *g, const char *const *names,
    const char *list, config_setting_t **which)
{
	config_setting_t *s;

	*which = NULL;
	for (; *names != NULL; names++) {
		s = config_setting_get_member(g, *names);
		if (s == NULL)
			continue;
		if (*which == NULL) {
			*which = s;
			continue;
		}
		if (config_setting_source_line(s) <
		    config_setting_source_line(*which))
			s = *which;
		return fail(ld, s, NULL, "only one of %s may be set", list);
	}
	if (*which == NULL)
		return fail(ld, g, NULL, "expected one of %s", list);
	return 0;
}

/* -------------------------------------------------------- durations */

int
cfg_parse_duration(const char *s, int64_t *ms)
{
	static const char units[] = "dhms";
	static const int64_t mult[] = { 86400, 3600, 60, 1 };
	const char *u;
	int64_t total = 0, v;
	int last = -1, idx;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		if (*s < '0' || *s > '9')
			return -1;
		for (v = 0; *s >= '0' && *s <= '9'; s++) {
			v = v * 10 + (*s - '0');
			if (v > DURATION_MAX_S)
				return -1;
		}
		if (*s == '\0' && last == -1) {
			idx = 3;	/* a plain count of seconds */
		} else {
			u = *s == '\0' ? NULL : strchr(units, *s);
			if (u == NULL)
				return -1;
			idx = (int)(u - units);
			s++;
		}
		if (idx <= last || v > (DURATION_MAX_S - total) / mult[idx])
			return -1;
		last = idx;
		total += v * mult[idx];
	}
	*ms = total * SEC;
	return 0;
}

int
cfg_valid_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= CFG_NAME_MAX)
			return 0;
		if ((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9'))
			continue;
		if (i > 0 && (name[i] == '_' || name[i] == '-'))
			continue;
		return 0;
	}
	return i > 0;
}

const struct cfg_server *
cfg_find_server(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nservers; i++)
		if (cfg->servers[i].name != NULL &&
		    strcmp(cfg->servers[i].name, name) == 0)
			return &cfg->servers[i];
	return NULL;
}

/* ------------------------------------------------------------ secrets */

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

/*
 * Trim the white space around bytes, check what is left and keep it.
 * where names the source in messages: a path, or "the value".
 */
static int
keep_secret(struct ld *ld, const config_setting_t *s, const char *bytes,
    size_t len, const char *where, struct secret **out)
{
	size_t i;

	while (len > 0 && is_blank(bytes[len - 1]))
		len--;
	while (len > 0 && is_blank(bytes[0])) {
		bytes++;
		len--;
	}
	if (len == 0)
		return fail(ld, s, NULL, "%s is empty; expected a secret",
		    where);
	for (i = 0; i < len; i++)
		if ((unsigned char)bytes[i] <= ' ' ||
		    (unsigned char)bytes[i] >= 0x7f)
			return fail(ld, s, NULL, "%s holds a space, a control "
			    "character or a non-ASCII byte inside the secret",
			    where);
	*out = secret_new(bytes, len);
	if (*out == NULL)
		return oom(ld);
	return 0;
}

static int
check_private(struct ld *ld, const config_setting_t *s, const char *path,
    mode_t mode, const char *what)
{
	if (ld->cfg->insecure_permissions || (mode & 077) == 0)
		return 0;
	return fail(ld, s, NULL, "%s %s %s by group or others (mode %04o); "
	    "chmod 600 it, or set insecure_permissions = true", path, what,
	    (mode & 044) != 0 ? "readable" : "writable",
	    (unsigned int)(mode & 07777));
}

/* Read a secret file of at most SECRET_MAX bytes. */
static int
read_secret(struct ld *ld, const config_setting_t *s, const char *path,
    int private, struct secret **out)
{
	char buf[SECRET_MAX + 1];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	/* O_NONBLOCK: a FIFO must not hang the load; it is refused below */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1)
		return fail(ld, s, NULL, "cannot open %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		fail(ld, s, NULL, "%s is not a regular file", path);
		goto done;
	}
	if (private && check_private(ld, s, path, st.st_mode, "is") == -1)
		goto done;
	do {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n > 0)
			len += (size_t)n;
	} while ((n > 0 && len < sizeof(buf)) || (n == -1 && errno == EINTR));
	if (n == -1)
		fail(ld, s, NULL, "cannot read %s: %s", path, strerror(errno));
	else if (len > SECRET_MAX)
		fail(ld, s, NULL, "%s is larger than 4 KiB; expected one "
		    "secret", path);
	else
		rc = keep_secret(ld, s, buf, len, path, out);
done:
	secret_wipe(buf, sizeof(buf));
	close(fd);
	return rc;
}

/*
 * A secret written in the configuration itself: the file it is in (this
 * one or one it includes) must be private.  libconfig's copy is wiped.
 */
static int
inline_secret(struct ld *ld, config_setting_t *s, struct secret **out)
{
	char *v = s->value.sval, fbuf[4096];
	const char *file;
	size_t len = strlen(v);
	struct stat st;
	int rc;

	file = source_name(ld, config_setting_source_file(s), fbuf,
	    sizeof(fbuf));
	if (stat(file, &st) == -1)
		rc = fail(ld, s, NULL, "cannot stat %s: %s", file,
		    strerror(errno));
	else
		rc = check_private(ld, s, file, st.st_mode, "holds a secret "
		    "and is");
	if (rc == 0)
		rc = keep_secret(ld, s, v, len, "the value", out);
	secret_wipe(v, len);
	return rc;
}

static int
credential_path(struct ld *ld, const config_setting_t *s, char **out)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	const char *name = config_setting_get_string(s);
	size_t len;

	if (dir == NULL || dir[0] == '\0')
		return fail(ld, s, NULL, "$CREDENTIALS_DIRECTORY is not set; "
		    "a credential needs systemd's LoadCredential=");
	if (name[0] == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return fail(ld, s, NULL, "expected a credential name "
		    "without '/'");
	len = strlen(dir) + strlen(name) + 2;
	*out = malloc(len);
	if (*out == NULL)
		return oom(ld);
	snprintf(*out, len, "%s/%s", dir, name);
	return 0;
}

/*
 * names: the inline setting, the file setting and "credential"; exactly
 * one must be set.  *src gets the setting the secret came from.
 */
static int
load_secret(struct ld *ld, const config_setting_t *g,
    const char *const *names, const char *list, struct secret **out,
    config_setting_t **src)
{
	config_setting_t *s;
	const char *v = NULL;
	char *path = NULL;
	int rc = -1;

	if (one_of(ld, g, names, list, src) == -1)
		return -1;
	s = *src;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, NULL, "expected %s", want_text[W_STR]);
	v = config_setting_get_string(s);
	if (strcmp(config_setting_name(s), names[0]) == 0)
		return inline_secret(ld, s, out);
	if (strcmp(config_setting_name(s), names[1]) == 0) {
		if (v[0] == '\0')
			return fail(ld, s, NULL, "expected a path");
		if (resolve(ld, v, &path) == 0)
			rc = read_secret(ld, s, path, 1, out);
	} else if (credential_path(ld, s, &path) == 0) {
		rc = read_secret(ld, s, path, 0, out);
	}
	free(path);
	return rc;
}

/* ---------------------------------------------------------------- URLs */

static const char *
port_problem(const char *p, const char *end)
{
	unsigned long n = 0;

	if (p == end)
		return NULL;
	if (*p++ != ':')
		return "expected an http:// or https:// URL with a valid host";
	if (p == end)
		return "has an empty port; expected 1 to 65535";
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return "has a bad port; expected 1 to 65535";
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > 65535)
			return "has a bad port; expected 1 to 65535";
	}
	if (n == 0)
		return "has a bad port; expected 1 to 65535";
	return NULL;
}

static const char *
host_problem(const char *p, const char *end)
{
	static const char nohost[] =
	    "expected an http:// or https:// URL with a host";
	const char *q, *stop;

	if (*p == '[') {
		stop = memchr(p, ']', (size_t)(end - p));
		if (stop == NULL || stop == p + 1)
			return nohost;
		for (q = p + 1; q < stop; q++)
			if (strchr("0123456789abcdefABCDEF:.", *q) == NULL)
				return "has a bad IPv6 address";
		return port_problem(stop + 1, end);
	}
	stop = memchr(p, ':', (size_t)(end - p));
	if (stop == NULL)
		stop = end;
	if (stop == p)
		return nohost;
	for (q = p; q < stop; q++)
		if (strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_", *q) == NULL)
			return "has a bad host name";
	return port_problem(stop, end);
}

/* NULL when u is a good http(s) URL, else what is wrong with it. */
static const char *
url_problem(const char *u, int query_ok)
{
	const char *p, *end;
	size_t i;

	if (strncasecmp(u, "http://", 7) == 0)
		p = u + 7;
	else if (strncasecmp(u, "https://", 8) == 0)
		p = u + 8;
	else
		return "expected an http:// or https:// URL";
	for (i = 0; u[i] != '\0'; i++)
		if ((unsigned char)u[i] <= ' ' || (unsigned char)u[i] >= 0x7f)
			return "must not hold spaces, control characters or "
			    "non-ASCII bytes";
	if (strchr(u, '#') != NULL)
		return "must not have a fragment (#...)";
	if (!query_ok && strchr(u, '?') != NULL)
		return "must not have a query (?...)";
	end = p + strcspn(p, "/?");
	if (memchr(p, '@', (size_t)(end - p)) != NULL)
		return "must not hold a user name or password (user:password@)";
	return host_problem(p, end);
}

static int
load_url(struct ld *ld, const config_setting_t *g, char **out)
{
	config_setting_t *s;
	const char *v = NULL, *why;
	size_t len;

	if (need_str(ld, g, "url", "an http:// or https:// URL", &v,
	    &s) == -1)
		return -1;
	why = url_problem(v, 0);
	if (why != NULL)
		return fail(ld, s, NULL, "%s", why);
	if (store_str(ld, v, out) == -1)
		return -1;
	len = strlen(*out);
	if ((*out)[len - 1] == '/')
		(*out)[len - 1] = '\0';
	return 0;
}

/* ------------------------------------------------------------- servers */

static int
load_ca(struct ld *ld, const config_setting_t *g, char **out)
{
	config_setting_t *s;
	const char *v = NULL;
	int r;

	r = get_str(ld, g, "ca_file", &v, &s);
	if (r != 1)
		return r;
	if (v[0] == '\0')
		return fail(ld, s, NULL, "expected a path");
	if (resolve(ld, v, out) == -1)
		return -1;
	if (access(*out, R_OK) == -1)
		return fail(ld, s, NULL, "cannot read %s: %s", *out,
		    strerror(errno));
	return 0;
}

static int
load_server(struct ld *ld, config_setting_t *g, size_t i)
{
	static const char *const src[] = { "token", "token_file",
		"credential", NULL };
	struct cfg_server *sv = &ld->cfg->servers[i];
	config_setting_t *s;
	const char *v = NULL;
	size_t j;

	if (check_known(ld, g, server_known) == -1 ||
	    need_name(ld, g, &v, &s) == -1)
		return -1;
	for (j = 0; j < i; j++)
		if (strcmp(ld->cfg->servers[j].name, v) == 0)
			return fail(ld, s, NULL, "the name \"%s\" is already "
			    "used by servers[%zu]", v, j);
	if (store_str(ld, v, &sv->name) == -1)
		return -1;
	sv->line = (int)config_setting_source_line(g);
	sv->verify_tls = 1;
	if (load_url(ld, g, &sv->url) == -1 ||
	    load_secret(ld, g, src, "token, token_file or credential",
	    &sv->token, &s) == -1 ||
	    load_ca(ld, g, &sv->ca_file) == -1 ||
	    get_bool(ld, g, "verify_tls", &sv->verify_tls) == -1)
		return -1;
	return 0;
}

/* s names a server: it must be one of the servers list. */
static int
ref_server(struct ld *ld, const config_setting_t *s, const char *v)
{
	if (!cfg_valid_name(v))
		return fail(ld, s, NULL, "expected a server name matching "
		    NAME_RULE);
	if (cfg_find_server(ld->cfg, v) == NULL)
		return fail(ld, s, NULL, "no server is named \"%s\"", v);
	return 0;
}

/* ------------------------------------------------------------- clients */

static int
client_servers(struct ld *ld, const config_setting_t *g,
    struct cfg_client *c)
{
	config_setting_t *l, *e;
	size_t i, n;
	int r;

	r = member(ld, g, "servers", W_STRS, &l);
	if (r == 0)
		return fail(ld, g, "servers", "missing; expected a list of "
		    "server names: [ \"...\" ]");
	if (r == -1 || check_strings(ld, l) == -1)
		return -1;
	n = (size_t)config_setting_length(l);
	if (n == 0)
		return fail(ld, l, NULL, "expected at least one server name");
	c->servers = calloc(n, sizeof(*c->servers));
	if (c->servers == NULL)
		return oom(ld);
	c->nservers = n;
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(l, (unsigned int)i);
		if (ref_server(ld, e, config_setting_get_string(e)) == -1 ||
		    store_str(ld, config_setting_get_string(e),
		    &c->servers[i]) == -1)
			return -1;
	}
	return 0;
}

static int
load_client(struct ld *ld, config_setting_t *g, size_t i)
{
	static const char *const src[] = { "key", "key_file",
		"credential", NULL };
	struct cfg_client *c = &ld->cfg->clients[i];
	config_setting_t *s;
	const char *v = NULL;
	size_t j;

	if (check_known(ld, g, client_known) == -1 ||
	    need_name(ld, g, &v, &s) == -1)
		return -1;
	for (j = 0; j < i; j++)
		if (strcmp(ld->cfg->clients[j].name, v) == 0)
			return fail(ld, s, NULL, "the name \"%s\" is already "
			    "used by clients[%zu]", v, j);
	if (store_str(ld, v, &c->name) == -1 ||
	    load_secret(ld, g, src, "key, key_file or credential", &c->key,
	    &s) == -1)
		return -1;
	for (j = 0; j < i; j++)
		if (secret_same(ld->cfg->clients[j].key, c->key))
			return fail(ld, s, NULL, "the same key as "
			    "clients[%zu]; each client needs its own key", j);
	return client_servers(ld, g, c);
}

/* --------------------------------------------------------------- sinks */

static int
lookup_group(struct ld *ld, const config_setting_t *s, const char *name,
    gid_t *gid)
{
	struct group gr, *res = NULL;
	char *buf = NULL, *nbuf;
	size_t size = 1024;
	int rc;

	do {
		size *= 2;
		nbuf = realloc(buf, size);
		if (nbuf == NULL) {
			free(buf);
			return oom(ld);
		}
		buf = nbuf;
		rc = getgrnam_r(name, &gr, buf, size, &res);
	} while (rc == ERANGE && size < 1024 * 1024);
	if (res != NULL)
		*gid = gr.gr_gid;
	free(buf);
	if (res != NULL)
		return 0;
	if (rc != 0 && rc != ENOENT && rc != ESRCH)
		return fail(ld, s, NULL, "cannot look up group \"%s\": %s",
		    name, strerror(rc));
	return fail(ld, s, NULL, "no group is named \"%s\"", name);
}

static int
load_sink(struct ld *ld, config_setting_t *g, size_t i)
{
	struct cfg_sink *k = &ld->cfg->sinks[i];
	config_setting_t *s;
	const char *v = NULL;
	size_t j;
	int r;

	k->mode = 0640;
	k->gid = (gid_t)-1;
	if (check_known(ld, g, sink_known) == -1 ||
	    need_str(ld, g, "server", "a server name", &v, &s) == -1 ||
	    ref_server(ld, s, v) == -1 || store_str(ld, v, &k->server) == -1 ||
	    need_str(ld, g, "path", "an absolute path", &v, &s) == -1)
		return -1;
	if (v[0] != '/')
		return fail(ld, s, NULL, "expected an absolute path");
	for (j = 0; j < i; j++)
		if (strcmp(ld->cfg->sinks[j].path, v) == 0)
			return fail(ld, s, NULL, "already the path of "
			    "sinks[%zu]", j);
	if (store_str(ld, v, &k->path) == -1 ||
	    get_mode(ld, g, "mode", &k->mode) == -1)
		return -1;
	r = get_str(ld, g, "group", &v, &s);
	if (r != 1)
		return r;
	if (v[0] == '\0')
		return fail(ld, s, NULL, "expected a group name");
	return lookup_group(ld, s, v, &k->gid);
}

/* --------------------------------------------------------------- hooks */

static int
hook_events(struct ld *ld, const config_setting_t *g, unsigned int *ev)
{
	config_setting_t *l, *e;
	const char *v = NULL;
	size_t k;
	int i, n, r;

	r = member(ld, g, "on", W_STRS, &l);
	if (r == 0)
		return fail(ld, g, "on", "missing; expected a list of events "
		    "such as [ \"refresh\", \"restart\" ]");
	if (r == -1 || check_strings(ld, l) == -1)
		return -1;
	n = config_setting_length(l);
	if (n == 0)
		return fail(ld, l, NULL, "expected at least one of refresh, "
		    "restart, failure or recovered");
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(l, (unsigned int)i);
		v = config_setting_get_string(e);
		for (k = 0; event_names[k] != NULL; k++)
			if (strcmp(event_names[k], v) == 0)
				break;
		if (event_names[k] == NULL)
			return fail(ld, e, NULL, "expected one of refresh, "
			    "restart, failure or recovered");
		*ev |= 1u << k;
	}
	return 0;
}

static int
hook_argv(struct ld *ld, const config_setting_t *s, struct cfg_hook *h)
{
	const config_setting_t *e;
	size_t i, n;

	if (!type_ok(s, W_STRS))
		return fail(ld, s, NULL, "expected %s", want_text[W_STRS]);
	if (check_strings(ld, s) == -1)
		return -1;
	n = (size_t)config_setting_length(s);
	if (n == 0 || config_setting_get_string_elem(s, 0)[0] != '/')
		return fail(ld, n == 0 ? s : config_setting_get_elem(s, 0),
		    NULL, "expected the absolute path of a program");
	h->argv = calloc(n + 1, sizeof(*h->argv));
	if (h->argv == NULL)
		return oom(ld);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		if (store_str(ld, config_setting_get_string(e),
		    &h->argv[i]) == -1)
			return -1;
	}
	return 0;
}

static int
hook_action(struct ld *ld, const config_setting_t *g, struct cfg_hook *h)
{
	static const char *const actions[] = { "command", "webhook", NULL };
	config_setting_t *s;
	const char *why;

	if (one_of(ld, g, actions, "command or webhook", &s) == -1)
		return -1;
	if (strcmp(config_setting_name(s), "command") == 0)
		return hook_argv(ld, s, h);
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, NULL, "expected %s", want_text[W_STR]);
	why = url_problem(config_setting_get_string(s), 1);
	if (why != NULL)
		return fail(ld, s, NULL, "%s", why);
	return store_str(ld, config_setting_get_string(s), &h->webhook);
}

static int
load_hook(struct ld *ld, config_setting_t *g, size_t i)
{
	struct cfg_hook *h = &ld->cfg->hooks[i];
	config_setting_t *s;
	const char *v = "*";

	h->timeout = 10 * SEC;
	if (check_known(ld, g, hook_known) == -1 ||
	    hook_events(ld, g, &h->events) == -1 ||
	    get_str(ld, g, "server", &v, &s) == -1)
		return -1;
	if (strcmp(v, "*") != 0 && ref_server(ld, s, v) == -1)
		return -1;
	if (store_str(ld, v, &h->server) == -1 ||
	    hook_action(ld, g, h) == -1 ||
	    get_bool(ld, g, "include_token", &h->include_token) == -1 ||
	    get_duration(ld, g, "timeout", &h->timeout, &s) == -1)
		return -1;
	if (h->timeout == 0)
		return fail(ld, s, NULL, "must be longer than 0");
	return 0;
}

/* -------------------------------------------------------------- lists */

/*
 * Find the list root.name; *n gets its length (0 when absent) and *l
 * the list.  Each element must be a group.
 */
static int
find_list(struct ld *ld, const config_setting_t *root, const char *name,
    config_setting_t **l, size_t *n)
{
	const config_setting_t *e;
	int i, len, r;

	*n = 0;
	r = member(ld, root, name, W_LIST, l);
	if (r != 1)
		return r;
	len = config_setting_length(*l);
	for (i = 0; i < len; i++) {
		e = config_setting_get_elem(*l, (unsigned int)i);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP)
			return fail(ld, e, NULL, "expected %s",
			    want_text[W_GROUP]);
	}
	*n = (size_t)len;
	return 1;
}

static int
each(struct ld *ld, config_setting_t *l, size_t n,
    int (*one)(struct ld *, config_setting_t *, size_t))
{
	size_t i;

	for (i = 0; i < n; i++)
		if (one(ld, config_setting_get_elem(l, (unsigned int)i),
		    i) == -1)
			return -1;
	return 0;
}

static int
load_lists(struct ld *ld, const config_setting_t *root)
{
	struct config *cfg = ld->cfg;
	config_setting_t *l;
	size_t n;

	if (find_list(ld, root, "servers", &l, &n) == -1)
		return -1;
	if (n == 0)
		return fail(ld, l != NULL ? l : root, l != NULL ? NULL :
		    "servers", "expected at least one server: ( { name = "
		    "\"...\"; url = \"...\"; token_file = \"...\"; } )");
	cfg->servers = calloc(n, sizeof(*cfg->servers));
	if (cfg->servers == NULL)
		return oom(ld);
	cfg->nservers = n;
	if (each(ld, l, n, load_server) == -1 ||
	    find_list(ld, root, "clients", &l, &n) == -1)
		return -1;
	cfg->clients = calloc(n + 1, sizeof(*cfg->clients));
	if (cfg->clients == NULL)
		return oom(ld);
	cfg->nclients = n;
	if (each(ld, l, n, load_client) == -1 ||
	    find_list(ld, root, "sinks", &l, &n) == -1)
		return -1;
	cfg->sinks = calloc(n + 1, sizeof(*cfg->sinks));
	if (cfg->sinks == NULL)
		return oom(ld);
	cfg->nsinks = n;
	if (each(ld, l, n, load_sink) == -1 ||
	    find_list(ld, root, "hooks", &l, &n) == -1)
		return -1;
	cfg->hooks = calloc(n + 1, sizeof(*cfg->hooks));
	if (cfg->hooks == NULL)
		return oom(ld);
	cfg->nhooks = n;
	return each(ld, l, n, load_hook);
}

/* -------------------------------------------------------------- listen */

static int
check_address(struct ld *ld, const config_setting_t *s, const char *a,
    int allow_remote)
{
	struct in_addr v4;
	struct in6_addr v6;
	int loopback;

	if (strcmp(a, "localhost") == 0)
		loopback = 1;
	else if (inet_pton(AF_INET, a, &v4) == 1)
		loopback = (ntohl(v4.s_addr) >> 24) == 127;
	else if (inet_pton(AF_INET6, a, &v6) == 1)
		loopback = IN6_IS_ADDR_LOOPBACK(&v6) ||
		    (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
	else
		return fail(ld, s, NULL, "expected an IPv4 or IPv6 address "
		    "such as \"127.0.0.1\" or \"::1\", or \"localhost\"");
	if (loopback || allow_remote)
		return 0;
	return fail(ld, s, NULL, "%s is not a loopback address; set "
	    "listen.allow_remote = true to accept other hosts", a);
}

static int
check_socket(struct ld *ld, const config_setting_t *s, const char *path)
{
	struct sockaddr_un sun;

	if (path[0] != '/')
		return fail(ld, s, NULL, "expected an absolute path");
	if (strlen(path) >= sizeof(sun.sun_path))
		return fail(ld, s, NULL, "is too long for a unix socket; "
		    "expected at most %zu bytes", sizeof(sun.sun_path) - 1);
	return 0;
}

static int
load_listen(struct ld *ld, const config_setting_t *root)
{
	struct cfg_listen *l = &ld->cfg->listen;
	config_setting_t *g, *as, *us;
	const char *addr = "127.0.0.1", *sock = NULL;

	l->port = 32499;
	l->socket_mode = 0660;
	if (member(ld, root, "listen", W_GROUP, &g) == -1 ||
	    (g != NULL && check_known(ld, g, listen_known) == -1))
		return -1;
	if (get_str(ld, g, "address", &addr, &as) == -1 ||
	    get_int(ld, g, "port", 0, 65535, &l->port) == -1 ||
	    get_str(ld, g, "unix_socket", &sock, &us) == -1 ||
	    get_mode(ld, g, "socket_mode", &l->socket_mode) == -1 ||
	    get_bool(ld, g, "require_header", &l->require_header) == -1 ||
	    get_bool(ld, g, "allow_remote", &l->allow_remote) == -1)
		return -1;
	if (check_address(ld, as, addr, l->allow_remote) == -1 ||
	    store_str(ld, addr, &l->address) == -1)
		return -1;
	if (sock == NULL)
		return 0;
	if (check_socket(ld, us, sock) == -1)
		return -1;
	return store_str(ld, sock, &l->unix_socket);
}

/* ------------------------------------------------------------- refresh */

struct dur {
	const char		*name;
	int64_t			 v;
	config_setting_t	*s;
};

/* a must be shorter than b (strict), or not longer. */
static int
check_order(struct ld *ld, const struct dur *a, const struct dur *b,
    int strict)
{
	char buf[32];

	if (a->v < b->v || (!strict && a->v == b->v))
		return 0;
	if (a->s != NULL || b->s == NULL) {
		if (a->s == NULL)
			return 0;	/* the defaults are in order */
		fmt_duration(b->v, buf, sizeof(buf));
		return fail(ld, a->s, NULL, "must be %s refresh.%s (%s)",
		    strict ? "shorter than" : "at most", b->name, buf);
	}
	fmt_duration(a->v, buf, sizeof(buf));
	return fail(ld, b->s, NULL, "must be %s refresh.%s (%s)",
	    strict ? "longer than" : "at least", a->name, buf);
}

static int
load_refresh(struct ld *ld, const config_setting_t *root)
{
	static const int64_t defs[] = { 48 * 3600 * SEC, 6 * 3600 * SEC,
		60 * SEC, 1 * SEC, 5 * 60 * SEC, 10 * SEC, 10 * SEC,
		10 * 60 * SEC };
	struct cfg_refresh *r = &ld->cfg->refresh;
	config_setting_t *g;
	struct dur d[8];
	size_t i;

	if (member(ld, root, "refresh", W_GROUP, &g) == -1 ||
	    (g != NULL && check_known(ld, g, refresh_known) == -1))
		return -1;
	for (i = 0; i < 8; i++) {
		d[i].name = refresh_known[i];
		d[i].v = defs[i];
		if (get_duration(ld, g, d[i].name, &d[i].v, &d[i].s) == -1)
			return -1;
		if (d[i].v == 0 && i != 6)	/* min_forced_interval */
			return fail(ld, d[i].s, NULL, "must be longer than 0");
	}
	if (check_order(ld, &d[3], &d[4], 0) == -1 ||
	    check_order(ld, &d[1], &d[0], 1) == -1 ||
	    check_order(ld, &d[2], &d[0], 1) == -1)
		return -1;
	r->lifetime = d[0].v;
	r->refresh_before = d[1].v;
	r->verify_interval = d[2].v;
	r->retry_min = d[3].v;
	r->retry_max = d[4].v;
	r->timeout = d[5].v;
	r->min_forced_interval = d[6].v;
	r->resources_ttl = d[7].v;
	return 0;
}

/* ------------------------------------------------------------ the file */

static int
load_top(struct ld *ld, const config_setting_t *root)
{
	struct config *cfg = ld->cfg;
	config_setting_t *s;
	const char *level = "info", *dir = "/var/lib/plex-tokend";

	if (check_known(ld, root, top_known) == -1 ||
	    get_bool(ld, root, "insecure_permissions",
	    &cfg->insecure_permissions) == -1 ||
	    get_str(ld, root, "log_level", &level, &s) == -1)
		return -1;
	cfg->log_level = log_level_parse(level);
	if (cfg->log_level == -1)
		return fail(ld, s, NULL, "expected one of error, warning, "
		    "notice, info or debug");
	if (get_str(ld, root, "state_directory", &dir, NULL) == -1 ||
	    (dir[0] != '\0' && resolve(ld, dir, &cfg->state_directory) == -1))
		return -1;
	if (load_listen(ld, root) == -1 || load_refresh(ld, root) == -1)
		return -1;
	return load_lists(ld, root);
}

/* The directory relative paths start from, made absolute. */
static int
config_dir(struct ld *ld)
{
	const char *slash = strrchr(ld->file, '/');
	char cwd[4096];
	size_t dl, len;

	if (slash == ld->file)
		return store_str(ld, "/", &ld->dir);
	dl = slash == NULL ? 0 : (size_t)(slash - ld->file);
	if (ld->file[0] == '/') {
		ld->dir = strndup(ld->file, dl);
		return ld->dir == NULL ? oom(ld) : 0;
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		snprintf(cwd, sizeof(cwd), ".");
	len = strlen(cwd) + dl + 2;
	ld->dir = malloc(len);
	if (ld->dir == NULL)
		return oom(ld);
	snprintf(ld->dir, len, "%s%s%.*s", cwd, dl > 0 ? "/" : "", (int)dl,
	    ld->file);
	return 0;
}

static int
read_file(struct ld *ld, config_t *lc)
{
	char fbuf[4096];
	struct stat st;
	const char *file;
	int line;

	if (stat(ld->file, &st) == -1)
		return fail_file(ld, "cannot open: %s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		return fail_file(ld, "is a directory; expected a file");
	if (config_dir(ld) == -1)
		return -1;
	config_set_include_dir(lc, ld->dir);
	if (config_read_file(lc, ld->file) == CONFIG_TRUE)
		return 0;
	if (config_error_type(lc) == CONFIG_ERR_FILE_IO)
		return fail_file(ld, "cannot read: %s", strerror(errno));
	ld->failed = 1;
	file = source_name(ld, config_error_file(lc), fbuf, sizeof(fbuf));
	line = config_error_line(lc);
	if (ld->err == NULL)
		return -1;
	if (line > 0)
		snprintf(ld->err, ld->errlen, "%s:%d: %s", file, line,
		    config_error_text(lc));
	else
		snprintf(ld->err, ld->errlen, "%s: %s", file,
		    config_error_text(lc));
	return -1;
}

int
cfg_load(const char *path, struct config **out, char *err, size_t errlen)
{
	struct ld ld;
	config_t lc;
	int rc = -1;

	memset(&ld, 0, sizeof(ld));
	ld.file = path;
	ld.err = errlen > 0 ? err : NULL;
	ld.errlen = err != NULL ? errlen : 0;
	if (ld.err != NULL)
		ld.err[0] = '\0';
	*out = NULL;
	ld.cfg = calloc(1, sizeof(*ld.cfg));
	if (ld.cfg == NULL)
		return oom(&ld);
	config_init(&lc);
	if (store_str(&ld, path, &ld.cfg->path) == 0 &&
	    read_file(&ld, &lc) == 0 &&
	    load_top(&ld, config_root_setting(&lc)) == 0)
		rc = 0;
	config_destroy(&lc);
	free(ld.dir);
	if (rc == -1) {
		cfg_free(ld.cfg);
		return -1;
	}
	*out = ld.cfg;
	return 0;
}

/* ------------------------------------------------------------- freeing */

/* Free n strings of v, or up to its NULL when n is SIZE_MAX. */
static void
free_strv(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n && (n != SIZE_MAX || v[i] != NULL); i++)
		free(v[i]);
	free(v);
}

static void
free_lists(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nservers; i++) {
		free(cfg->servers[i].name);
		free(cfg->servers[i].url);
		secret_free(cfg->servers[i].token);
		free(cfg->servers[i].ca_file);
	}
	for (i = 0; i < cfg->nclients; i++) {
		free(cfg->clients[i].name);
		secret_free(cfg->clients[i].key);
		free_strv(cfg->clients[i].servers, cfg->clients[i].nservers);
	}
	for (i = 0; i < cfg->nsinks; i++) {
		free(cfg->sinks[i].server);
		free(cfg->sinks[i].path);
	}
	for (i = 0; i < cfg->nhooks; i++) {
		free(cfg->hooks[i].server);
		free_strv(cfg->hooks[i].argv, SIZE_MAX);
		free(cfg->hooks[i].webhook);
	}
}

void
cfg_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free_lists(cfg);
	free(cfg->servers);
	free(cfg->clients);
	free(cfg->sinks);
	free(cfg->hooks);
	free(cfg->path);
	free(cfg->listen.address);
	free(cfg->listen.unix_socket);
	free(cfg->state_directory);
	free(cfg);
}
