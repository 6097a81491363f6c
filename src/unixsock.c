/*
 * unixsock.c - make the API's unix socket: stale files, modes, removal.
 *
 * The mode: Linux creates the socket file with the socket inode's mode
 * less the umask, so fchmod() before bind() makes it at most mode;
 * chmod() after bind() then sets exactly mode (it only adds bits that
 * mode asks for), and the result is checked.
 */
#include "ac-config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unixsock.h"

static void
sun_of(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, strlen(path));
}

/* Does a process answer on the socket at path? 1 yes, 0 no, -1 error. */
static int
answers(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd, rc, saved;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	sun_of(path, &sun);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	saved = errno;
	close(fd);
	if (rc == 0)
		return 1;
	if (saved == ECONNREFUSED)
		return 0;
	snprintf(err, errlen, "%s exists and cannot be probed: %s", path,
	    strerror(saved));
	return -1;
}

/* Clear the way for bind(): nothing there, or a stale socket removed. */
static int
clear_path(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket; "
		    "refusing to replace it (remove it, or set another "
		    "listen.unix_socket)", path);
		return -1;
	}
	switch (answers(path, err, errlen)) {
	case 1:
		snprintf(err, errlen, "another process answers on %s "
		    "(is plex-tokend already running?)", path);
		return -1;
	case 0:
		break;
	default:
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove the stale socket %s: %s",
		    path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Bind fd to path with exactly mode, and remember the file. */
static int
bind_mode(struct unixsock *u, mode_t mode, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;

	sun_of(u->path, &sun);
	if (fchmod(u->fd, mode) == -1 ||
	    bind(u->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "cannot bind %s: %s", u->path,
		    strerror(errno));
		return -1;
	}
	if (chmod(u->path, mode) == -1 || lstat(u->path, &st) == -1) {
		snprintf(err, errlen, "cannot set the mode of %s: %s",
		    u->path, strerror(errno));
		goto fail;
	}
	if ((st.st_mode & 07777) != mode) {
		snprintf(err, errlen, "%s has mode %04o, not %04o", u->path,
		    (unsigned)(st.st_mode & 07777), (unsigned)mode);
		goto fail;
	}
	u->dev = st.st_dev;
	u->ino = st.st_ino;
	return 0;
 fail:
	unlink(u->path);
	return -1;
}

int
unixsock_open(struct unixsock *u, const char *path, mode_t mode,
    char *err, size_t errlen)
{
	u->fd = -1;
	if (strlen(path) >= sizeof(u->path)) {
		snprintf(err, errlen, "%s: too long for a unix socket", path);
		return -1;
	}
	snprintf(u->path, sizeof(u->path), "%s", path);
	if (clear_path(path, err, errlen) == -1)
		return -1;
	u->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (u->fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (bind_mode(u, mode, err, errlen) == -1)
		goto fail;
	if (listen(u->fd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "cannot listen on %s: %s", path,
		    strerror(errno));
		unlink(path);
		goto fail;
	}
	return 0;
 fail:
	close(u->fd);
	u->fd = -1;
	return -1;
}

void
unixsock_remove(struct unixsock *u)
{
	struct stat st;

	if (u->fd == -1)
		return;
	if (lstat(u->path, &st) == 0 && st.st_dev == u->dev &&
	    st.st_ino == u->ino)
		unlink(u->path);
	u->fd = -1;
}
