/*
 * fuzz-config.c - libFuzzer target: cfg_load() on a file holding the
 * input.  Whatever the bytes, it returns 0 with a configuration or -1
 * with one message, and never crashes or leaks.
 */
#include "ac-config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static int
write_input(const uint8_t *data, size_t size)
{
	FILE *f;
	int fd;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/fuzz-config.XXXXXX");
		fd = mkstemp(path);
		if (fd == -1)
			abort();
		close(fd);
	}
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	return fclose(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	char err[CFG_ERR_LEN];

	/* a file name in the input may point anywhere: keep it to text */
	if (write_input(data, size) != 0)
		abort();
	err[0] = '\0';
	if (cfg_load(path, &cfg, err, sizeof(err)) == 0) {
		if (cfg == NULL)
			abort();
		cfg_free(cfg);
	} else if (err[0] == '\0' || cfg != NULL) {
		abort();
	}
	return 0;
}
