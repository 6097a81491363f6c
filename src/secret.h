/*
 * secret.h - admin tokens, transient tokens and client keys.
 *
 * A secret is opaque: only the code that puts it on the wire (the Plex
 * request headers, the API response writer) reads its bytes through
 * secret_str().  Everything that logs uses secret_fingerprint().  The
 * bytes are wiped with explicit_bzero() when the secret is freed.
 */
#ifndef PLEX_TOKEND_SECRET_H
#define PLEX_TOKEND_SECRET_H

#include <stddef.h>

struct secret;

#define SECRET_FP_LEN 9		/* 8 hex digits and a NUL */
#define SECRET_SHA256_LEN 32

/* Copy len bytes into a new secret; NULL when out of memory. */
struct secret *secret_new(const char *bytes, size_t len);
struct secret *secret_dup(const struct secret *s);
/* Wipe and free; NULL is fine. */
void secret_free(struct secret *s);

/* NUL-terminated bytes; for the wire only, never for a log line. */
const char *secret_str(const struct secret *s);
size_t secret_len(const struct secret *s);

/* Constant-time comparison with len bytes; 1 when equal. */
int secret_equal(const struct secret *s, const char *bytes, size_t len);
int secret_same(const struct secret *a, const struct secret *b);

/* First 8 hex digits of SHA-256 of the bytes, for logs. */
void secret_fingerprint(const struct secret *s, char out[SECRET_FP_LEN]);

/* SHA-256 helper for bindings and fingerprints. */
void secret_sha256(const void *buf, size_t len,
    unsigned char out[SECRET_SHA256_LEN]);
void secret_hex(const unsigned char *buf, size_t len, char *out);

/* free() and realloc() that wipe first, for libraries holding tokens. */
void secret_free_wiped(void *p);
void *secret_realloc_wiped(void *p, size_t n);

/* Wipe a plain buffer the compiler may not optimise away. */
void secret_wipe(void *buf, size_t len);

#endif
