/*
 * fuzz-plex-answer.c - libFuzzer target: Plex's answers to
 * POST /security/token and GET /identity, JSON or XML, as plex.c
 * parses them (plex_parse_token, plex_parse_identity).
 */
#include "ac-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plex.h"
#include "secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char machine[PLEX_FIELD_MAX], version[PLEX_FIELD_MAX];
	char reason[256];
	struct secret *tok = NULL;
	const char *body = (const char *)data;

	if (plex_parse_token(body, size, &tok, reason,
	    sizeof(reason)) == PLEX_OK) {
		if (tok == NULL || !plex_token_wellformed(secret_str(tok),
		    secret_len(tok)))
			abort();
	}
	secret_free(tok);
	if (plex_parse_identity(body, size, machine, version, reason,
	    sizeof(reason)) == PLEX_OK) {
		if (strnlen(machine, sizeof(machine)) == sizeof(machine) ||
		    strnlen(version, sizeof(version)) == sizeof(version))
			abort();
	}
	return 0;
}
