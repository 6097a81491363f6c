/*
 * store.h - files on disk: persisted tokens, the client identifier,
 * and sink files.  Every write is atomic (temporary file in the same
 * folder, fsync, rename, fsync of the folder).  Nothing here logs:
 * failures return -1 with a reason in err, never holding a secret.
 */
#ifndef PLEX_TOKEND_STORE_H
#define PLEX_TOKEND_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "secret.h"

#define STORE_ERR_LEN 256
#define STORE_BIND_LEN 65	/* hex SHA-256 and a NUL */
#define STORE_UUID_LEN 37

/* A persisted token and the wall-clock times it was issued. */
struct store_rec {
	struct secret *token;
	int64_t issued_at;	/* ms since the epoch */
	int64_t expires_at;	/* ms since the epoch */
};

/*
 * The binding ties a state file to the server's url and admin token:
 * hex SHA-256 over "url\nadmin-token".  A file whose binding differs is
 * foreign and ignored.
 */
void store_binding(const char *url, const struct secret *admin,
    char out[STORE_BIND_LEN]);

/*
 * Load DIR/NAME.json.  Returns 1 and fills rec when a valid file with
 * the same binding is there, 0 when there is none (ENOENT), -1 with a
 * reason when the file is corrupt, foreign or unreadable.
 */
int store_load(const char *dir, const char *name, const char *binding,
    struct store_rec *rec, char *err, size_t errlen);
/* Write DIR/NAME.json, mode 0600. */
int store_save(const char *dir, const char *name, const char *binding,
    const struct store_rec *rec, char *err, size_t errlen);
/* Remove DIR/NAME.json; a missing file is fine. */
int store_remove(const char *dir, const char *name, char *err,
    size_t errlen);
void store_rec_clear(struct store_rec *rec);

/*
 * The X-Plex-Client-Identifier: read DIR/client-id, or make a random
 * UUID (version 4) and keep it there.  dir may be NULL: a new UUID.
 */
int store_client_id(const char *dir, char out[STORE_UUID_LEN],
    char *err, size_t errlen);

/*
 * Write len bytes to path atomically with mode, and group gid unless it
 * is (gid_t)-1.  Readers see the old file or the new one, never a part.
 */
int store_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, gid_t gid, char *err, size_t errlen);

#endif
