/*
 * testlib.h - what every Check program here shares.
 */
#ifndef PLEX_TOKEND_TESTLIB_H
#define PLEX_TOKEND_TESTLIB_H

#include <stddef.h>

#include <check.h>

/* Run suite s; the exit status for main(): 0 when every test passed. */
int test_run(Suite *s);
/* tests/data/NAME under $top_srcdir, NUL-terminated; free() it. */
char *test_slurp(const char *name, size_t *lenp);

#endif
