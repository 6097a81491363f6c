/*
 * check_store.c - unit tests for store.c: state files, atomic writes
 * and the client identifier.  Every test works in its own folder made
 * with mkdtemp(3) under /tmp and removed afterwards.
 */
#include "ac-config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "secret.h"
#include "store.h"
#include "testlib.h"

#define URL "http://127.0.0.1:32400"
#define ADMIN "admin-Tok3n"
/* hex SHA-256 of URL "\n" ADMIN, by sha256sum(1) */
#define BIND_KAT \
	"b40243970efcbe862d9743d9f9c4122a7e5759704847564f16974eb76c296e0f"
#define TOKEN "tokSECRETpart-0123456789abcdefghijKL~+/="
#define TOKEN_HEAD "tokSECRET"

static char tmpdir[64];

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/check_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
teardown(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
path_in(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", tmpdir, name);
}

static void
put_file(const char *name, const char *buf, size_t len, mode_t mode)
{
	char path[256];
	int fd;

	path_in(path, sizeof(path), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static size_t
get_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd == -1)
		return (size_t)-1;
	while (len < size) {
		n = read(fd, buf + len, size - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	return len;
}

static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* A reason must never hold a token, whole or in part. */
static void
no_secret(const char *err)
{
	ck_assert_msg(strstr(err, TOKEN) == NULL &&
	    strstr(err, TOKEN_HEAD) == NULL, "a reason holds the token");
	ck_assert_msg(strstr(err, ADMIN) == NULL,
	    "a reason holds the admin token");
}

static void
binding(char out[STORE_BIND_LEN])
{
	struct secret *admin;

	admin = secret_new(ADMIN, strlen(ADMIN));
	store_binding(URL, admin, out);
	secret_free(admin);
}

static void
save_alpha(const char *bind)
{
	struct store_rec rec;
	char err[STORE_ERR_LEN];

	rec.token = secret_new(TOKEN, strlen(TOKEN));
	rec.issued_at = 1700000000123LL;
	rec.expires_at = 1700172800123LL;
	ck_assert_int_eq(store_save(tmpdir, "alpha", bind, &rec, err,
	    sizeof(err)), 0);
	store_rec_clear(&rec);
	ck_assert_ptr_null(rec.token);
}

/* Load "name" expecting a failure whose reason holds want. */
static void
load_fails(const char *name, const char *bind, const char *want)
{
	struct store_rec rec;
	char err[STORE_ERR_LEN] = "";

	ck_assert_int_eq(store_load(tmpdir, name, bind, &rec, err,
	    sizeof(err)), -1);
	ck_assert_ptr_null(rec.token);
	ck_assert_msg(strstr(err, want) != NULL, "reason \"%s\" lacks "
	    "\"%s\"", err, want);
	ck_assert_msg(strstr(err, tmpdir) != NULL, "reason \"%s\" does "
	    "not name the file", err);
	no_secret(err);
}

/* ------------------------------------------------------------ binding */

START_TEST(test_binding)
{
	char a[STORE_BIND_LEN], b[STORE_BIND_LEN];
	struct secret *admin;

	binding(a);
	ck_assert_str_eq(a, BIND_KAT);
	admin = secret_new(ADMIN, strlen(ADMIN));
	store_binding("http://127.0.0.1:32401", admin, b);
	ck_assert_str_ne(a, b);
	secret_free(admin);
	admin = secret_new("other", 5);
	store_binding(URL, admin, b);
	ck_assert_str_ne(a, b);
	secret_free(admin);
}
END_TEST

/* -------------------------------------------------------- state files */

START_TEST(test_roundtrip)
{
	char bind[STORE_BIND_LEN], path[256], err[STORE_ERR_LEN];
	struct store_rec rec;
	json_error_t jerr;
	json_t *root;

	binding(bind);
	save_alpha(bind);
	save_alpha(bind);	/* replacing works too */
	path_in(path, sizeof(path), "alpha.json");
	ck_assert_uint_eq(mode_of(path), 0600);
	ck_assert_int_eq(count_entries(tmpdir), 1);
	ck_assert_int_eq(store_load(tmpdir, "alpha", bind, &rec, err,
	    sizeof(err)), 1);
	ck_assert_ptr_nonnull(rec.token);
	ck_assert(secret_equal(rec.token, TOKEN, strlen(TOKEN)));
	ck_assert_int_eq(rec.issued_at, 1700000000123LL);
	ck_assert_int_eq(rec.expires_at, 1700172800123LL);
	store_rec_clear(&rec);

	root = json_load_file(path, 0, &jerr);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(json_integer_value(json_object_get(root,
	    "version")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(root, "server")),
	    "alpha");
	ck_assert_str_eq(json_string_value(json_object_get(root,
	    "binding")), BIND_KAT);
	json_decref(root);
}
END_TEST

START_TEST(test_missing)
{
	char bind[STORE_BIND_LEN], err[STORE_ERR_LEN];
	struct store_rec rec;

	binding(bind);
	ck_assert_int_eq(store_load(tmpdir, "alpha", bind, &rec, err,
	    sizeof(err)), 0);
	ck_assert_ptr_null(rec.token);
}
END_TEST

START_TEST(test_corrupt)
{
	char bind[STORE_BIND_LEN];
	static const char junk[] = "{\"token\": " TOKEN " nonsense";

	binding(bind);
	put_file("alpha.json", junk, strlen(junk), 0600);
	load_fails("alpha", bind, "not JSON");
	put_file("alpha.json", "", 0, 0600);
	load_fails("alpha", bind, "not JSON");
}
END_TEST

START_TEST(test_truncated)
{
	char bind[STORE_BIND_LEN], path[256], buf[1024];
	size_t len;
	char *tok;

	binding(bind);
	save_alpha(bind);
	path_in(path, sizeof(path), "alpha.json");
	len = get_file(path, buf, sizeof(buf) - 1);
	ck_assert_uint_gt(len, 0);
	buf[len] = '\0';
	tok = strstr(buf, TOKEN);
	ck_assert_ptr_nonnull(tok);
	/* cut in the middle of the token: jansson would quote it */
	put_file("alpha.json", buf, (size_t)(tok - buf) + 12, 0600);
	load_fails("alpha", bind, "not JSON");
	put_file("alpha.json", buf, len / 2, 0600);
	load_fails("alpha", bind, "not JSON");
}
END_TEST

START_TEST(test_foreign)
{
	char bind[STORE_BIND_LEN], other[STORE_BIND_LEN];
	struct secret *admin;

	binding(bind);
	save_alpha(bind);
	admin = secret_new("another-admin", 13);
	store_binding(URL, admin, other);
	secret_free(admin);
	load_fails("alpha", other, "written for another url or admin token");
}
END_TEST

START_TEST(test_wrong_server)
{
	char bind[STORE_BIND_LEN], a[256], b[256];

	binding(bind);
	save_alpha(bind);
	path_in(a, sizeof(a), "alpha.json");
	path_in(b, sizeof(b), "beta.json");
	ck_assert_int_eq(rename(a, b), 0);
	load_fails("beta", bind, "another server");
}
END_TEST

START_TEST(test_group_readable)
{
	char bind[STORE_BIND_LEN], path[256];

	binding(bind);
	save_alpha(bind);
	path_in(path, sizeof(path), "alpha.json");
	ck_assert_int_eq(chmod(path, 0640), 0);
	load_fails("alpha", bind, "must be 0600");
	ck_assert_int_eq(chmod(path, 0604), 0);
	load_fails("alpha", bind, "must be 0600");
}
END_TEST

START_TEST(test_huge)
{
	char bind[STORE_BIND_LEN];
	size_t len = 70 * 1024;
	char *buf;

	binding(bind);
	buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	memset(buf, ' ', len);
	buf[0] = '{';
	buf[len - 1] = '}';
	put_file("alpha.json", buf, len, 0600);
	free(buf);
	load_fails("alpha", bind, "too large");
}
END_TEST

/* Copy fmt into buf with each '@' replaced by bind. */
static void
fill(char *buf, size_t size, const char *fmt, const char *bind)
{
	size_t len = 0, blen = strlen(bind);

	for (; *fmt != '\0'; fmt++) {
		ck_assert_uint_lt(len + blen + 1, size);
		if (*fmt == '@') {
			memcpy(buf + len, bind, blen);
			len += blen;
		} else {
			buf[len++] = *fmt;
		}
	}
	buf[len] = '\0';
}

/* Well-formed JSON, wrong content: each is refused with its reason. */
START_TEST(test_bad_fields)
{
	static const struct {
		const char *fmt;
		const char *want;
	} cases[] = {
		{ "[1, 2]", "not a JSON object" },
		{ "{\"version\":2,\"server\":\"alpha\",\"binding\":\"@\","
		    "\"token\":\"" TOKEN "\",\"issued_at\":1,"
		    "\"expires_at\":2}", "version 2" },
		{ "{\"server\":\"alpha\",\"binding\":\"@\","
		    "\"token\":\"" TOKEN "\",\"issued_at\":1,"
		    "\"expires_at\":2}", "no \"version\"" },
		{ "{\"version\":1,\"server\":\"alpha\",\"binding\":\"@\","
		    "\"issued_at\":1,\"expires_at\":2}", "no \"token\"" },
		{ "{\"version\":1,\"server\":\"alpha\",\"binding\":\"@\","
		    "\"token\":42,\"issued_at\":1,\"expires_at\":2}",
		    "\"token\" is not a string" },
		{ "{\"version\":1,\"server\":\"alpha\",\"binding\":\"@\","
		    "\"token\":\"" TOKEN " x\",\"issued_at\":1,"
		    "\"expires_at\":2}", "token not well-formed" },
		{ "{\"version\":1,\"server\":\"alpha\",\"binding\":\"@\","
		    "\"token\":\"\",\"issued_at\":1,\"expires_at\":2}",
		    "token not well-formed" },
		{ "{\"version\":1,\"server\":\"alpha\",\"binding\":\"@\","
		    "\"token\":\"" TOKEN "\",\"issued_at\":\"1\","
		    "\"expires_at\":2}", "\"issued_at\" is not an integer" },
		{ "{\"version\":1,\"server\":\"alpha\",\"binding\":\"@\","
		    "\"token\":\"" TOKEN "\",\"issued_at\":1}",
		    "no \"expires_at\"" },
		{ "{\"version\":1,\"server\":\"alpha\",\"binding\":\"@\","
		    "\"token\":\"" TOKEN "\",\"issued_at\":5,"
		    "\"expires_at\":2}", "times out of order" },
		{ "{\"version\":1,\"server\":\"alpha\",\"binding\":\"@\","
		    "\"binding\":\"@\",\"token\":\"" TOKEN "\","
		    "\"issued_at\":1,\"expires_at\":2}", "not JSON" },
	};
	char bind[STORE_BIND_LEN], buf[1024];
	size_t i;

	binding(bind);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fill(buf, sizeof(buf), cases[i].fmt, bind);
		put_file("alpha.json", buf, strlen(buf), 0600);
		load_fails("alpha", bind, cases[i].want);
	}
}
END_TEST

static void
put_token(const char *bind, const char *tok)
{
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf), "{\"version\":1,\"server\":\"alpha\","
	    "\"binding\":\"%s\",\"token\":\"%s\",\"issued_at\":1,"
	    "\"expires_at\":2}", bind, tok);
	ck_assert(n > 0 && (size_t)n < sizeof(buf));
	put_file("alpha.json", buf, (size_t)n, 0600);
}

START_TEST(test_long_token)
{
	char bind[STORE_BIND_LEN], tok[258], err[STORE_ERR_LEN];
	struct store_rec rec;

	binding(bind);
	memset(tok, 'a', 257);
	tok[257] = '\0';
	put_token(bind, tok);
	load_fails("alpha", bind, "token not well-formed");
	/* 256 characters are fine */
	tok[256] = '\0';
	put_token(bind, tok);
	ck_assert_int_eq(store_load(tmpdir, "alpha", bind, &rec, err,
	    sizeof(err)), 1);
	ck_assert_uint_eq(secret_len(rec.token), 256);
	store_rec_clear(&rec);
}
END_TEST

START_TEST(test_not_regular)
{
	char bind[STORE_BIND_LEN], path[256], target[256];

	binding(bind);
	path_in(path, sizeof(path), "alpha.json");
	ck_assert_int_eq(mkdir(path, 0700), 0);
	load_fails("alpha", bind, "not a regular file");
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	load_fails("alpha", bind, "not a regular file");
	ck_assert_int_eq(unlink(path), 0);
	save_alpha(bind);
	path_in(target, sizeof(target), "real.json");
	ck_assert_int_eq(rename(path, target), 0);
	ck_assert_int_eq(symlink(target, path), 0);
	load_fails("alpha", bind, "symbolic link");
}
END_TEST

START_TEST(test_save_refuses)
{
	char bind[STORE_BIND_LEN], err[STORE_ERR_LEN];
	struct store_rec rec;

	binding(bind);
	rec.token = secret_new("bad token " TOKEN, strlen(TOKEN) + 10);
	rec.issued_at = 1;
	rec.expires_at = 2;
	ck_assert_int_eq(store_save(tmpdir, "alpha", bind, &rec, err,
	    sizeof(err)), -1);
	no_secret(err);
	ck_assert_int_eq(store_save(tmpdir, "alpha", "", &rec, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(store_save(tmpdir, "../x", bind, &rec, err,
	    sizeof(err)), -1);
	store_rec_clear(&rec);
	ck_assert_int_eq(count_entries(tmpdir), 0);
}
END_TEST

START_TEST(test_remove)
{
	char bind[STORE_BIND_LEN], err[STORE_ERR_LEN];

	binding(bind);
	save_alpha(bind);
	ck_assert_int_eq(store_remove(tmpdir, "alpha", err, sizeof(err)), 0);
	ck_assert_int_eq(count_entries(tmpdir), 0);
	ck_assert_int_eq(store_remove(tmpdir, "alpha", err, sizeof(err)), 0);
}
END_TEST

/* ------------------------------------------------------ atomic writes */

START_TEST(test_atomic_mode)
{
	char path[256], err[STORE_ERR_LEN], buf[64];

	path_in(path, sizeof(path), "sink");
	ck_assert_int_eq(store_write_atomic(path, "first\n", 6, 0640,
	    (gid_t)-1, err, sizeof(err)), 0);
	ck_assert_uint_eq(mode_of(path), 0640);
	ck_assert_uint_eq(get_file(path, buf, sizeof(buf)), 6);
	ck_assert(memcmp(buf, "first\n", 6) == 0);
	ck_assert_int_eq(store_write_atomic(path, "second!\n", 8, 0600,
	    (gid_t)-1, err, sizeof(err)), 0);
	ck_assert_uint_eq(mode_of(path), 0600);
	ck_assert_uint_eq(get_file(path, buf, sizeof(buf)), 8);
	ck_assert(memcmp(buf, "second!\n", 8) == 0);
	ck_assert_int_eq(store_write_atomic(path, "", 0, 0644, (gid_t)-1,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(get_file(path, buf, sizeof(buf)), 0);
	ck_assert_int_eq(count_entries(tmpdir), 1);
}
END_TEST

START_TEST(test_atomic_gid)
{
	char path[256], err[STORE_ERR_LEN];
	struct stat st;

	path_in(path, sizeof(path), "sink");
	ck_assert_int_eq(store_write_atomic(path, "x", 1, 0640, getgid(),
	    err, sizeof(err)), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_gid, getgid());
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
}
END_TEST

START_TEST(test_atomic_missing_dir)
{
	char path[256], err[STORE_ERR_LEN] = "";

	path_in(path, sizeof(path), "nope/sink");
	ck_assert_int_eq(store_write_atomic(path, TOKEN, strlen(TOKEN),
	    0600, (gid_t)-1, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, path) != NULL, "reason \"%s\" does not "
	    "name %s", err, path);
	ck_assert_msg(strstr(err, strerror(ENOENT)) != NULL,
	    "reason \"%s\" lacks strerror", err);
	no_secret(err);
	ck_assert_int_eq(count_entries(tmpdir), 0);
}
END_TEST

#define SHORT_LEN 7
#define LONG_LEN 9000
#define REWRITES 200

struct reader {
	const char *path;
	const char *a, *b;
	atomic_int stop;
	atomic_int reads;
	atomic_int bad;
};

static void *
reader_loop(void *arg)
{
	struct reader *r = arg;
	static char buf[LONG_LEN + 16];
	size_t len;

	while (!atomic_load(&r->stop) || atomic_load(&r->reads) == 0) {
		len = get_file(r->path, buf, sizeof(buf));
		if (!((len == SHORT_LEN && memcmp(buf, r->a, len) == 0) ||
		    (len == LONG_LEN && memcmp(buf, r->b, len) == 0)))
			atomic_fetch_add(&r->bad, 1);
		atomic_fetch_add(&r->reads, 1);
	}
	return NULL;
}

START_TEST(test_atomic_readers)
{
	char path[256], err[STORE_ERR_LEN];
	static char a[SHORT_LEN + 1] = "tiny!!\n", b[LONG_LEN];
	struct reader r;
	pthread_t t;
	int i, reads, bad;

	memset(b, 'B', sizeof(b));
	b[LONG_LEN - 1] = '\n';
	path_in(path, sizeof(path), "sink");
	ck_assert_int_eq(store_write_atomic(path, a, SHORT_LEN, 0644,
	    (gid_t)-1, err, sizeof(err)), 0);
	r.path = path;
	r.a = a;
	r.b = b;
	atomic_init(&r.stop, 0);
	atomic_init(&r.reads, 0);
	atomic_init(&r.bad, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, reader_loop, &r), 0);
	for (i = 0; i < REWRITES; i++)
		ck_assert_int_eq(store_write_atomic(path,
		    i % 2 ? a : b, i % 2 ? SHORT_LEN : LONG_LEN, 0644,
		    (gid_t)-1, err, sizeof(err)), 0);
	atomic_store(&r.stop, 1);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	reads = atomic_load(&r.reads);
	bad = atomic_load(&r.bad);
	ck_assert_int_gt(reads, 0);
	ck_assert_msg(bad == 0, "%d of %d reads saw a partial file", bad,
	    reads);
	ck_assert_int_eq(count_entries(tmpdir), 1);
}
END_TEST

/* ---------------------------------------------------------- client id */

static int
uuid_v4_ok(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (strchr("0123456789abcdef", s[i]) == NULL) {
			return 0;
		}
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

START_TEST(test_client_id_fresh)
{
	char a[STORE_UUID_LEN], b[STORE_UUID_LEN], err[STORE_ERR_LEN];

	ck_assert_int_eq(store_client_id(NULL, a, err, sizeof(err)), 0);
	ck_assert_int_eq(store_client_id(NULL, b, err, sizeof(err)), 0);
	ck_assert_msg(uuid_v4_ok(a), "bad uuid %s", a);
	ck_assert_msg(uuid_v4_ok(b), "bad uuid %s", b);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_client_id_kept)
{
	char a[STORE_UUID_LEN], b[STORE_UUID_LEN], err[STORE_ERR_LEN];
	char path[256], buf[64];

	ck_assert_int_eq(store_client_id(tmpdir, a, err, sizeof(err)), 0);
	ck_assert_msg(uuid_v4_ok(a), "bad uuid %s", a);
	path_in(path, sizeof(path), "client-id");
	ck_assert_uint_eq(get_file(path, buf, sizeof(buf)), 37);
	ck_assert(memcmp(buf, a, 36) == 0 && buf[36] == '\n');
	ck_assert_uint_eq(mode_of(path), 0644);
	ck_assert_int_eq(store_client_id(tmpdir, b, err, sizeof(err)), 0);
	ck_assert_str_eq(a, b);
	ck_assert_int_eq(count_entries(tmpdir), 1);

	/* a UUID put there by hand, without a newline, is kept too */
	put_file("client-id", "0123abcd-0000-1111-8888-abcdefabcdef", 36,
	    0644);
	ck_assert_int_eq(store_client_id(tmpdir, b, err, sizeof(err)), 0);
	ck_assert_str_eq(b, "0123abcd-0000-1111-8888-abcdefabcdef");
}
END_TEST

START_TEST(test_client_id_garbage)
{
	static const char *const junk[] = {
		"garbage\n", "", "0123ABCD-0000-1111-8888-ABCDEFABCDEF\n",
		"0123abcd-0000-1111-8888-abcdefabcdef\n\n",
		"0123abcd00000-1111-8888-abcdefabcdef\n",
	};
	char a[STORE_UUID_LEN], b[STORE_UUID_LEN], err[STORE_ERR_LEN];
	char path[256], buf[64];
	size_t i;

	path_in(path, sizeof(path), "client-id");
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		put_file("client-id", junk[i], strlen(junk[i]), 0644);
		ck_assert_int_eq(store_client_id(tmpdir, a, err, sizeof(err)),
		    0);
		ck_assert_msg(uuid_v4_ok(a), "bad uuid %s", a);
		ck_assert_uint_eq(get_file(path, buf, sizeof(buf)), 37);
		ck_assert(memcmp(buf, a, 36) == 0);
		ck_assert_int_eq(store_client_id(tmpdir, b, err, sizeof(err)),
		    0);
		ck_assert_str_eq(a, b);
	}
}
END_TEST

START_TEST(test_client_id_no_dir)
{
	char out[STORE_UUID_LEN], err[STORE_ERR_LEN] = "", path[256];

	path_in(path, sizeof(path), "missing");
	ck_assert_int_eq(store_client_id(path, out, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, path) != NULL, "reason \"%s\" does not "
	    "name %s", err, path);
	ck_assert_int_eq(count_entries(tmpdir), 0);
	put_file("file", "x", 1, 0644);
	path_in(path, sizeof(path), "file");
	ck_assert_int_eq(store_client_id(path, out, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not a folder") != NULL, "reason %s", err);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("store");
	tc = tcase_create("state");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_binding);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_corrupt);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_foreign);
	tcase_add_test(tc, test_wrong_server);
	tcase_add_test(tc, test_group_readable);
	tcase_add_test(tc, test_huge);
	tcase_add_test(tc, test_bad_fields);
	tcase_add_test(tc, test_long_token);
	tcase_add_test(tc, test_not_regular);
	tcase_add_test(tc, test_save_refuses);
	tcase_add_test(tc, test_remove);
	suite_add_tcase(s, tc);

	tc = tcase_create("atomic");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_atomic_mode);
	tcase_add_test(tc, test_atomic_gid);
	tcase_add_test(tc, test_atomic_missing_dir);
	tcase_add_test(tc, test_atomic_readers);
	suite_add_tcase(s, tc);

	tc = tcase_create("client-id");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_client_id_fresh);
	tcase_add_test(tc, test_client_id_kept);
	tcase_add_test(tc, test_client_id_garbage);
	tcase_add_test(tc, test_client_id_no_dir);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	umask(022);
	return test_run(store_suite());
}
