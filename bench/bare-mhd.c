/*
 * bare-mhd.c - the ceiling of plex-tokend's HTTP stack, for bench/run.
 *
 * A libmicrohttpd server on 127.0.0.1 that answers every request with a
 * fixed JSON body of a given size and the headers plex-tokend sends
 * (Content-Type, Cache-Control), set up with the same MHD flags and
 * options as src/api.c.  Whatever it cannot beat, the daemon cannot
 * either; the gap between the two is the daemon's own per-request work.
 *
 *	bare-mhd --port-file FILE [--mode poll|epoll|tpc|select]
 *	    [--threads N] [--no-turbo] [--body-size N] [--mem-limit N]
 *	    [--conn-limit N] [--timeout S]
 *
 * The listening port goes to FILE; SIGTERM or SIGINT stop it.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

static char *body;
static size_t body_len;
static char marker;

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls; (void)url; (void)method; (void)version; (void)upload;
	/* as the daemon does: the first call only notes the request */
	if (*con_cls == NULL) {
		*con_cls = &marker;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(body_len, body,
	    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static unsigned long
num(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "bare-mhd: %s: expected a number\n", what);
		exit(2);
	}
	return v;
}

static unsigned
mode_flags(const char *mode)
{
	if (strcmp(mode, "poll") == 0)
		return MHD_USE_POLL_INTERNAL_THREAD;
	if (strcmp(mode, "epoll") == 0)
		return MHD_USE_EPOLL_INTERNAL_THREAD;
	if (strcmp(mode, "select") == 0)
		return MHD_USE_INTERNAL_POLLING_THREAD;
	if (strcmp(mode, "tpc") == 0)
		return MHD_USE_THREAD_PER_CONNECTION |
		    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	fprintf(stderr, "bare-mhd: --mode poll|epoll|select|tpc\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *port_file = NULL, *mode = "poll";
	unsigned long threads = 2, mem = 16 * 1024, limit = 1024;
	unsigned long timeout = 30;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	struct sockaddr_in sa;
	unsigned flags;
	int turbo = 1, i, sig;
	sigset_t set;
	FILE *f;

	body_len = 200;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";

		if (strcmp(a, "--no-turbo") == 0) {
			turbo = 0;
			continue;
		}
		i++;
		if (strcmp(a, "--port-file") == 0)
			port_file = v;
		else if (strcmp(a, "--mode") == 0)
			mode = v;
		else if (strcmp(a, "--threads") == 0)
			threads = num(v, a);
		else if (strcmp(a, "--body-size") == 0)
			body_len = num(v, a);
		else if (strcmp(a, "--mem-limit") == 0)
			mem = num(v, a);
		else if (strcmp(a, "--conn-limit") == 0)
			limit = num(v, a);
		else if (strcmp(a, "--timeout") == 0)
			timeout = num(v, a);
		else {
			fprintf(stderr, "bare-mhd: unknown option %s\n", a);
			return 2;
		}
	}
	if (port_file == NULL || body_len < 2 || body_len > 65536) {
		fprintf(stderr, "bare-mhd: --port-file FILE needed; "
		    "--body-size 2..65536\n");
		return 2;
	}
	body = malloc(body_len);
	if (body == NULL)
		return 1;
	memset(body, 'x', body_len);
	body[0] = '"';
	body[body_len - 1] = '"';

	flags = mode_flags(mode) | MHD_ALLOW_SUSPEND_RESUME;
	if (turbo)
		flags |= MHD_USE_TURBO;
	if (strcmp(mode, "tpc") == 0)
		threads = 1;	/* a pool makes no sense per connection */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	d = MHD_start_daemon(flags, 0, NULL, NULL, handler, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(threads > 1 ? threads : 0),
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)mem,
	    MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "bare-mhd: MHD_start_daemon failed\n");
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	f = fopen(port_file, "w");
	if (info == NULL || f == NULL) {
		MHD_stop_daemon(d);
		return 1;
	}
	fprintf(f, "%u\n", (unsigned)info->port);
	fclose(f);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	free(body);
	return 0;
}
