/*
 * webhook-sink.c - a webhook receiver for the tests.
 *
 *     webhook-sink --out FILE --port-file FILE [--status N]
 *
 * Listens on 127.0.0.1 (a port the kernel picks, written to the port
 * file atomically once listening), appends each request's body as one
 * line to the out file ("METHOD PATH CONTENT-TYPE BODY"), and answers with
 * status N (default 200).  Runs until SIGTERM or SIGINT.
 */
#include "ac-config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#define SINK_BODY_MAX 8192

struct sink {
	const char *out;
	unsigned status;
	pthread_mutex_t mu;
};

struct body {
	size_t len;
	char data[SINK_BODY_MAX + 1];
};

static void
record(struct sink *s, struct MHD_Connection *c, const char *method,
    const char *url, struct body *b)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	FILE *f;

	pthread_mutex_lock(&s->mu);
	f = fopen(s->out, "a");
	if (f != NULL) {
		fprintf(f, "%s %s %s %.*s\n", method, url,
		    ct != NULL ? ct : "-", (int)b->len, b->data);
		fclose(f);
	}
	pthread_mutex_unlock(&s->mu);
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct sink *s = cls;
	struct body *b = *con_cls;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)version;
	if (b == NULL) {
		b = calloc(1, sizeof(*b));
		*con_cls = b;
		return b != NULL ? MHD_YES : MHD_NO;
	}
	if (*upload_size != 0) {
		if (b->len + *upload_size <= SINK_BODY_MAX) {
			memcpy(b->data + b->len, upload, *upload_size);
			b->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	record(s, c, method, url, b);
	r = MHD_create_response_from_buffer(2, (void *)(uintptr_t)"{}",
	    MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, s->status, r);
	MHD_destroy_response(r);
	return ret;
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

static int
write_port(const char *path, int port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

int
main(int argc, char **argv)
{
	struct sink s = { NULL, 200, PTHREAD_MUTEX_INITIALIZER };
	const char *port_file = NULL;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	struct sockaddr_in sa;
	sigset_t set;
	int i, sig;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--out") == 0)
			s.out = argv[i + 1];
		else if (strcmp(argv[i], "--port-file") == 0)
			port_file = argv[i + 1];
		else if (strcmp(argv[i], "--status") == 0)
			s.status = (unsigned)strtoul(argv[i + 1], NULL, 10);
	}
	if (s.out == NULL || port_file == NULL) {
		fprintf(stderr, "usage: webhook-sink --out FILE --port-file "
		    "FILE [--status N]\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, &s,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, &s,
	    MHD_OPTION_END);
	if (d == NULL)
		return 1;
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || write_port(port_file, info->port) == -1)
		return 1;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
