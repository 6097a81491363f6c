/*
 * unixsock.h - the API's unix socket (listen.unix_socket).
 * libmicrohttpd cannot bind AF_UNIX itself: the socket is made, bound
 * and listening here, then handed to it with MHD_OPTION_LISTEN_SOCKET.
 */
#ifndef PLEX_TOKEND_UNIXSOCK_H
#define PLEX_TOKEND_UNIXSOCK_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

struct unixsock {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;			/* of the file we bound, to remove */
	ino_t ino;			/* only that one at stop */
	int fd;				/* -1 when none */
};

/*
 * Listen on path with exactly mode; the file is never more open than
 * mode, not even for a moment.  A socket file left by a dead daemon
 * (nobody answers: ECONNREFUSED) is replaced; a live one, or a path
 * that is not a socket, is refused.  -1 with a reason on failure.
 */
int unixsock_open(struct unixsock *u, const char *path, mode_t mode,
    char *err, size_t errlen);
/* Remove the socket file if it is still the one we made. */
void unixsock_remove(struct unixsock *u);

#endif
