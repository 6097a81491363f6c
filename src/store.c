/*
 * store.c - persisted tokens, the client identifier and sink files.
 *
 * A state file is DIR/NAME.json, mode 0600:
 *
 *	{"version":1,"server":NAME,"binding":"<hex>","token":"...",
 *	 "issued_at":<ms>,"expires_at":<ms>}
 *
 * The client identifier is DIR/client-id: a UUID and a newline, mode
 * 0644 (it is sent in clear to every server and is no secret).
 *
 * Nothing here logs.  A failure returns -1 and a reason naming the
 * file; no reason ever holds a byte of a secret, so jansson's parse
 * messages (which quote the text near the error) are left out.
 */
#include "ac-config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "secret.h"
#include "store.h"

#define STATE_VERSION 1
#define STATE_MAX (64 * 1024)	/* bytes in a state file, at most */
#define TOKEN_MAX 256
#define CLIENT_ID_FILE "client-id"
#define CLIENT_ID_MODE 0644
#define CLIENT_ID_MAX 64
#define BIND_SMALL 2048

static void seterr(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------ atomic write */

static int
write_all(int fd, const unsigned char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Flush the folder holding path, so the rename survives a crash. */
static int
sync_dir(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash;
	size_t n;
	int fd, rc = 0;

	slash = strrchr(path, '/');
	if (slash == NULL) {
		dir[0] = '.';
		n = 1;
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		memcpy(dir, path, n);
	}
	dir[n] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		seterr(err, errlen, "%s: open folder: %s", dir,
		    strerror(errno));
		return -1;
	}
	/* some file systems cannot sync a folder: that is no failure */
	if (fsync(fd) == -1 && errno != EINVAL) {
		seterr(err, errlen, "%s: fsync folder: %s", dir,
		    strerror(errno));
		rc = -1;
	}
	close(fd);
	return rc;
}

/* Give the open temporary file its mode, group and bytes; close it. */
static int
fill_tmp(int fd, const char *path, const void *buf, size_t len,
    mode_t mode, gid_t gid, char *err, size_t errlen)
{
	const char *what;

	what = "chmod";
	if (fchmod(fd, mode) == -1)
		goto fail;
	what = "chown";
	if (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) == -1)
		goto fail;
	what = "write";
	if (write_all(fd, buf, len) == -1)
		goto fail;
	what = "fsync";
	if (fsync(fd) == -1)
		goto fail;
	what = "close";
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	seterr(err, errlen, "%s: %s: %s", path, what, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

int
store_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, gid_t gid, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int fd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		seterr(err, errlen, "%s: path too long", path);
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd == -1) {
		seterr(err, errlen, "%s: create temporary file: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fill_tmp(fd, path, buf, len, mode, gid, err, errlen) == -1)
		goto fail;
	if (rename(tmp, path) == -1) {
		seterr(err, errlen, "%s: rename: %s", path, strerror(errno));
		goto fail;
	}
	return sync_dir(path, err, errlen);
fail:
	unlink(tmp);
	return -1;
}

/* ----------------------------------------------------------- binding */

void
store_binding(const char *url, const struct secret *admin,
    char out[STORE_BIND_LEN])
{
	unsigned char md[SECRET_SHA256_LEN];
	char small[BIND_SMALL], *buf = small;
	size_t ulen, alen, len;

	ulen = strlen(url);
	alen = secret_len(admin);
	len = ulen + 1 + alen;
	if (len > sizeof(small))
		buf = malloc(len);
	if (buf == NULL) {
		/* no binding: store_save and store_load refuse it */
		out[0] = '\0';
		return;
	}
	memcpy(buf, url, ulen);
	buf[ulen] = '\n';
	memcpy(buf + ulen + 1, secret_str(admin), alen);
	secret_sha256(buf, len, md);
	secret_wipe(buf, len);
	if (buf != small)
		free(buf);
	secret_hex(md, sizeof(md), out);
	secret_wipe(md, sizeof(md));
}

static int
binding_ok(const char *b)
{
	size_t i;

	for (i = 0; i < STORE_BIND_LEN - 1; i++)
		if (!((b[i] >= '0' && b[i] <= '9') ||
		    (b[i] >= 'a' && b[i] <= 'f')))
			return 0;
	return b[i] == '\0';
}

/* ------------------------------------------------------- state files */

static int
token_ok(const char *s, size_t len)
{
	static const char extra[] = "._~+/=-";
	size_t i;
	unsigned char c;

	if (len == 0 || len > TOKEN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (c == '\0' || strchr(extra, c) == NULL)
			return 0;
	}
	return 1;
}

static int
state_path(const char *dir, const char *name, char *out, size_t outlen,
    char *err, size_t errlen)
{
	int n;

	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL) {
		seterr(err, errlen, "%s: server name \"%s\" cannot name a "
		    "file", dir, name);
		return -1;
	}
	n = snprintf(out, outlen, "%s/%s.json", dir, name);
	if (n < 0 || (size_t)n >= outlen) {
		seterr(err, errlen, "%s/%s.json: path too long", dir, name);
		return -1;
	}
	return 0;
}

/* Wipe a jansson string in place before it is freed. */
static void
wipe_json_string(json_t *s)
{
	if (json_is_string(s))
		secret_wipe((void *)(uintptr_t)json_string_value(s),
		    json_string_length(s));
}

int
store_save(const char *dir, const char *name, const char *binding,
    const struct store_rec *rec, char *err, size_t errlen)
{
	char path[PATH_MAX];
	json_t *root;
	char *buf = NULL;
	size_t len = 0;
	int rc = -1;

	if (state_path(dir, name, path, sizeof(path), err, errlen) == -1)
		return -1;
	if (!binding_ok(binding)) {
		seterr(err, errlen, "%s: no binding to write", path);
		return -1;
	}
	if (rec->token == NULL ||
	    !token_ok(secret_str(rec->token), secret_len(rec->token))) {
		seterr(err, errlen, "%s: token not well-formed", path);
		return -1;
	}
	root = json_pack("{s:i, s:s, s:s, s:s, s:I, s:I}",
	    "version", STATE_VERSION, "server", name, "binding", binding,
	    "token", secret_str(rec->token),
	    "issued_at", (json_int_t)rec->issued_at,
	    "expires_at", (json_int_t)rec->expires_at);
	if (root == NULL) {
		seterr(err, errlen, "%s: cannot encode the state", path);
		return -1;
	}
	len = json_dumpb(root, NULL, 0, JSON_COMPACT);
	if (len > 0)
		buf = malloc(len + 1);
	if (buf == NULL || json_dumpb(root, buf, len, JSON_COMPACT) != len) {
		seterr(err, errlen, "%s: cannot encode the state", path);
		goto done;
	}
	buf[len] = '\n';
	rc = store_write_atomic(path, buf, len + 1, 0600, (gid_t)-1, err,
	    errlen);
done:
	if (buf != NULL) {
		secret_wipe(buf, len + 1);
		free(buf);
	}
	wipe_json_string(json_object_get(root, "token"));
	json_decref(root);
	return rc;
}

/*
 * Read a state file into buf (STATE_MAX + 1 bytes).  Returns the length,
 * -2 when there is no file, -1 with a reason otherwise.
 */
static ssize_t
read_state(const char *path, char *buf, char *err, size_t errlen)
{
	struct stat st;
	size_t len = 0;
	ssize_t n, rc = -1;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return -2;
		seterr(err, errlen, "%s: open: %s", path,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		seterr(err, errlen, "%s: stat: %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		goto done;
	}
	if ((st.st_mode & 077) != 0) {
		seterr(err, errlen, "%s: mode %04o gives group or other "
		    "access; a state file must be 0600", path,
		    (unsigned)(st.st_mode & 07777));
		goto done;
	}
	while (len <= STATE_MAX) {
		n = read(fd, buf + len, STATE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			seterr(err, errlen, "%s: read: %s", path,
			    strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > STATE_MAX)
		seterr(err, errlen, "%s: too large (over %d bytes)", path,
		    STATE_MAX);
	else
		rc = (ssize_t)len;
done:
	close(fd);
	return rc;
}

static int
get_string(json_t *root, const char *key, json_t **out, const char *path,
    char *err, size_t errlen)
{
	*out = json_object_get(root, key);
	if (*out == NULL) {
		seterr(err, errlen, "%s: no \"%s\"", path, key);
		return -1;
	}
	if (!json_is_string(*out)) {
		seterr(err, errlen, "%s: \"%s\" is not a string", path, key);
		return -1;
	}
	return 0;
}

static int
get_int(json_t *root, const char *key, int64_t *out, const char *path,
    char *err, size_t errlen)
{
	json_t *v;

	v = json_object_get(root, key);
	if (v == NULL) {
		seterr(err, errlen, "%s: no \"%s\"", path, key);
		return -1;
	}
	if (!json_is_integer(v)) {
		seterr(err, errlen, "%s: \"%s\" is not an integer", path, key);
		return -1;
	}
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* Check the header fields: version, server and binding. */
static int
check_header(json_t *root, const char *name, const char *binding,
    const char *path, char *err, size_t errlen)
{
	json_t *v;
	int64_t version;

	if (get_int(root, "version", &version, path, err, errlen) == -1)
		return -1;
	if (version != STATE_VERSION) {
		seterr(err, errlen, "%s: version %lld, not %d", path,
		    (long long)version, STATE_VERSION);
		return -1;
	}
	if (get_string(root, "server", &v, path, err, errlen) == -1)
		return -1;
	if (strcmp(json_string_value(v), name) != 0) {
		seterr(err, errlen, "%s: written for another server", path);
		return -1;
	}
	if (get_string(root, "binding", &v, path, err, errlen) == -1)
		return -1;
	if (strcmp(json_string_value(v), binding) != 0) {
		seterr(err, errlen, "%s: written for another url or admin "
		    "token", path);
		return -1;
	}
	return 0;
}

static int
parse_state(json_t *root, const char *name, const char *binding,
    struct store_rec *rec, const char *path, char *err, size_t errlen)
{
	json_t *tok;
	int64_t issued, expires;

	if (!json_is_object(root)) {
		seterr(err, errlen, "%s: not a JSON object", path);
		return -1;
	}
	if (check_header(root, name, binding, path, err, errlen) == -1 ||
	    get_string(root, "token", &tok, path, err, errlen) == -1 ||
	    get_int(root, "issued_at", &issued, path, err, errlen) == -1 ||
	    get_int(root, "expires_at", &expires, path, err, errlen) == -1)
		return -1;
	if (!token_ok(json_string_value(tok), json_string_length(tok))) {
		seterr(err, errlen, "%s: token not well-formed", path);
		return -1;
	}
	if (issued < 0 || expires < issued) {
		seterr(err, errlen, "%s: times out of order", path);
		return -1;
	}
	rec->token = secret_new(json_string_value(tok),
	    json_string_length(tok));
	if (rec->token == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		return -1;
	}
	rec->issued_at = issued;
	rec->expires_at = expires;
	return 1;
}

int
store_load(const char *dir, const char *name, const char *binding,
    struct store_rec *rec, char *err, size_t errlen)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *root;
	char *buf;
	ssize_t len;
	int rc = -1;

	memset(rec, 0, sizeof(*rec));
	if (state_path(dir, name, path, sizeof(path), err, errlen) == -1)
		return -1;
	if (!binding_ok(binding)) {
		seterr(err, errlen, "%s: no binding to check", path);
		return -1;
	}
	buf = malloc(STATE_MAX + 1);
	if (buf == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		return -1;
	}
	len = read_state(path, buf, err, errlen);
	if (len == -2)
		rc = 0;
	if (len < 0)
		goto done;
	root = json_loadb(buf, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		/* jerr.text quotes the file: keep only the place */
		seterr(err, errlen, "%s: not JSON (line %d, column %d)",
		    path, jerr.line, jerr.column);
	} else {
		rc = parse_state(root, name, binding, rec, path, err,
		    errlen);
		wipe_json_string(json_object_get(root, "token"));
		json_decref(root);
	}
	secret_wipe(&jerr, sizeof(jerr));
done:
	secret_wipe(buf, STATE_MAX + 1);
	free(buf);
	return rc;
}

int
store_remove(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (state_path(dir, name, path, sizeof(path), err, errlen) == -1)
		return -1;
	if (unlink(path) == -1 && errno != ENOENT) {
		seterr(err, errlen, "%s: unlink: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

void
store_rec_clear(struct store_rec *rec)
{
	secret_free(rec->token);
	memset(rec, 0, sizeof(*rec));
}

/* --------------------------------------------------------- client id */

static int
uuid_ok(const char *s, size_t len)
{
	size_t i;

	if (len != STORE_UUID_LEN - 1)
		return 0;
	for (i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

static int
uuid_new(char out[STORE_UUID_LEN], char *err, size_t errlen)
{
	unsigned char b[16];
	char hex[33];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(b)) {
		n = getrandom(b + got, sizeof(b) - got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			seterr(err, errlen, "getrandom: %s", strerror(errno));
			return -1;
		}
		got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);	/* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);	/* RFC 4122 */
	secret_hex(b, sizeof(b), hex);
	snprintf(out, STORE_UUID_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hex,
	    hex + 8, hex + 12, hex + 16, hex + 20);
	return 0;
}

/*
 * Read a client id from path into out.  Returns 1 when it is there and
 * valid, 0 when it is missing or not a UUID, -1 when unreadable.
 */
static int
client_id_read(const char *path, char out[STORE_UUID_LEN], char *err,
    size_t errlen)
{
	char buf[CLIENT_ID_MAX + 1];
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		seterr(err, errlen, "%s: open: %s", path, strerror(errno));
		return -1;
	}
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (!uuid_ok(buf, len))
		return 0;
	memcpy(out, buf, len);
	out[len] = '\0';
	return 1;
}

int
store_client_id(const char *dir, char out[STORE_UUID_LEN], char *err,
    size_t errlen)
{
	char path[PATH_MAX], line[STORE_UUID_LEN + 1];
	struct stat st;
	int n;

	if (dir == NULL)
		return uuid_new(out, err, errlen);
	if (stat(dir, &st) == -1) {
		seterr(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		seterr(err, errlen, "%s: not a folder", dir);
		return -1;
	}
	n = snprintf(path, sizeof(path), "%s/%s", dir, CLIENT_ID_FILE);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		seterr(err, errlen, "%s/%s: path too long", dir,
		    CLIENT_ID_FILE);
		return -1;
	}
	n = client_id_read(path, out, err, errlen);
	if (n != 0)
		return n == 1 ? 0 : -1;
	if (uuid_new(out, err, errlen) == -1)
		return -1;
	snprintf(line, sizeof(line), "%s\n", out);
	return store_write_atomic(path, line, strlen(line), CLIENT_ID_MODE,
	    (gid_t)-1, err, errlen);
}
