/*
 * notify-listen - a stand-in for systemd's notification socket, for
 * tests/notify.sh.
 *
 *	notify-listen SOCKET OUTFILE
 *
 * Binds an AF_UNIX datagram socket at SOCKET and appends every datagram
 * to OUTFILE as one line, its own newlines turned into spaces, so that
 * "READY=1\nSTATUS=1/1 servers ready" becomes
 * "READY=1 STATUS=1/1 servers ready".  Runs until killed.  The test
 * waits for SOCKET to exist before it starts the daemon.
 */
#include "ac-config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DGRAM_MAX 4096

static int
listen_at(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "notify-listen: %s: path too long\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		perror("notify-listen: socket");
		return -1;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		perror("notify-listen: bind");
		close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	char buf[DGRAM_MAX + 1];
	ssize_t n, i;
	int fd, out;

	if (argc != 3) {
		fprintf(stderr, "usage: notify-listen SOCKET OUTFILE\n");
		return 2;
	}
	out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (out == -1) {
		perror("notify-listen: open");
		return 1;
	}
	fd = listen_at(argv[1]);
	if (fd == -1)
		return 1;
	for (;;) {
		n = recv(fd, buf, DGRAM_MAX, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			perror("notify-listen: recv");
			return 1;
		}
		while (n > 0 && buf[n - 1] == '\n')
			n--;
		for (i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = ' ';
		buf[n++] = '\n';
		if (write(out, buf, (size_t)n) != n) {
			perror("notify-listen: write");
			return 1;
		}
	}
}
