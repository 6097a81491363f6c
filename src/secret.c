/*
 * secret.c - opaque, wiped, constant-time compared secrets.
 */
#include "ac-config.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "secret.h"

struct secret {
	size_t len;
	char bytes[];		/* len bytes and a NUL */
};

struct secret *
secret_new(const char *bytes, size_t len)
{
	struct secret *s;

	s = malloc(sizeof(*s) + len + 1);
	if (s == NULL)
		return NULL;
	s->len = len;
	memcpy(s->bytes, bytes, len);
	s->bytes[len] = '\0';
	return s;
}

struct secret *
secret_dup(const struct secret *s)
{
	return secret_new(s->bytes, s->len);
}

void
secret_free(struct secret *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s->bytes, s->len);
	free(s);
}

const char *
secret_str(const struct secret *s)
{
	return s->bytes;
}

size_t
secret_len(const struct secret *s)
{
	return s->len;
}

int
secret_equal(const struct secret *s, const char *bytes, size_t len)
{
	unsigned char diff = 0;
	size_t i;

	/* the length is not secret; the bytes are compared in full */
	if (s->len != len)
		return 0;
	for (i = 0; i < len; i++)
		diff |= (unsigned char)(s->bytes[i] ^ bytes[i]);
	return diff == 0;
}

int
secret_same(const struct secret *a, const struct secret *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return secret_equal(a, b->bytes, b->len);
}

void
secret_sha256(const void *buf, size_t len,
    unsigned char out[SECRET_SHA256_LEN])
{
	SHA256(buf, len, out);
}

void
secret_hex(const unsigned char *buf, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 15];
	}
	out[2 * len] = '\0';
}

void
secret_fingerprint(const struct secret *s, char out[SECRET_FP_LEN])
{
	unsigned char md[SECRET_SHA256_LEN];

	secret_sha256(s->bytes, s->len, md);
	secret_hex(md, 4, out);
}

void
secret_wipe(void *buf, size_t len)
{
	explicit_bzero(buf, len);
}

/*
 * free() and realloc() that wipe the block first, for the libraries
 * that hold tokens (curl, jansson, expat).  malloc_usable_size() makes
 * them safe on blocks from the plain malloc() too, so it does not matter
 * whether a library allocated before they were installed.
 */
void
secret_free_wiped(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

void *
secret_realloc_wiped(void *p, size_t n)
{
	void *q;
	size_t old;

	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		secret_free_wiped(p);
		return NULL;
	}
	q = malloc(n);
	if (q == NULL)
		return NULL;
	old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	secret_free_wiped(p);
	return q;
}
