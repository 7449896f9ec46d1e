/*
 * smclient.c: an NSM (program 100024 version 1) client built on the
 * `rpcgen -C` client stubs and XDR routines of the system's
 * /usr/include/rpcsvc/sm_inter.x and libtirpc, so statd is driven by the same
 * code the classic clients use. Never built by cargo: tests/common/smclient.rs
 * compiles it at test time in a temporary directory.
 *
 * Build: cc -I/usr/include/tirpc -I<dir with sm_inter.h> smclient.c
 *        sm_inter_clnt.c sm_inter_xdr.c
 *        [stat_chge_xdr.c -DEXTRA_HEADER='"stat_chge.h"'] -ltirpc
 *
 * Usage: smclient [-r] [-b SRCADDR] [-t SECONDS] HOST PORT udp|tcp PROC ARGS...
 *   HOST     IPv4 or IPv6 literal; PORT is used as given (no rpcbind query)
 *   -r       bind a reserved source port (bindresvport_sa)
 *   -b ADDR  bind this source address (same family as HOST)
 *   -t SECS  total time to wait for the reply (default 5)
 *   PROC     null | stat NAME | mon MON_NAME MY_NAME PROG VERS PROC PRIVHEX32
 *            | unmon MON_NAME MY_NAME PROG VERS PROC
 *            | unmon_all MY_NAME PROG VERS PROC | simu_crash
 *            | notify MON_NAME STATE
 *
 * Output: one line on stdout:
 *   ok void                      (null, simu_crash, notify)
 *   ok res_stat=N state=N        (stat, mon)
 *   ok state=N                   (unmon, unmon_all)
 *   rpcerr CLNT_STAT TEXT        (CLNT_STAT is the clnt_stat number, TEXT
 *                                 clnt_sperror's message); exit status 1
 * and "src ADDR PORT" (the local end after the call) on stderr.
 * Usage errors print a message on stderr and exit with status 2.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <rpc/rpc.h>
#include "sm_inter.h"
#ifdef EXTRA_HEADER
#include EXTRA_HEADER
#endif

#ifndef SM_NOTIFY
#define SM_NOTIFY 6
#endif

static void usage(const char *why)
{
	fprintf(stderr, "smclient: %s\n"
		"usage: smclient [-r] [-b SRCADDR] [-t SECONDS] HOST PORT udp|tcp PROC ARGS...\n"
		"PROC: null | stat NAME | mon MON MY PROG VERS PROC PRIVHEX32 |\n"
		"      unmon MON MY PROG VERS PROC | unmon_all MY PROG VERS PROC |\n"
		"      simu_crash | notify MON STATE\n", why);
	exit(2);
}

/* A whole-string decimal int, or usage(). */
static int int_arg(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < INT_MIN || v > INT_MAX)
		usage("not an int");
	return (int)v;
}

/* Fills sa with the IPv4 or IPv6 literal addr and port; returns its length. */
static socklen_t parse_addr(const char *addr, unsigned short port,
			    struct sockaddr_storage *sa)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;

	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return sizeof(*sin6);
	}
	usage("not an IPv4 or IPv6 literal");
	return 0;
}

/* 32 hex digits into 16 bytes, or usage(). */
static void parse_priv(const char *hex, char priv[16])
{
	unsigned int byte;
	int i;

	if (strlen(hex) != 32)
		usage("PRIVHEX32 must be 32 hex digits");
	for (i = 0; i < 16; i++) {
		if (sscanf(hex + 2 * i, "%2x", &byte) != 1 ||
		    strspn(hex + 2 * i, "0123456789abcdefABCDEF") < 2)
			usage("PRIVHEX32 must be 32 hex digits");
		priv[i] = (char)byte;
	}
}

static void set_id(my_id *id, char **argv)
{
	id->my_name = argv[0];
	id->my_prog = int_arg(argv[1]);
	id->my_vers = int_arg(argv[2]);
	id->my_proc = int_arg(argv[3]);
}

/* Prints the local end of fd as "src ADDR PORT" on stderr. */
static void print_src(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char text[INET6_ADDRSTRLEN];
	unsigned short port;
	const void *ip;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		ip = &((struct sockaddr_in *)&ss)->sin_addr;
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else {
		ip = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	if (inet_ntop(ss.ss_family, ip, text, sizeof(text)) != NULL)
		fprintf(stderr, "src %s %u\n", text, port);
}

static int rpc_error(CLIENT *clnt)
{
	struct rpc_err err;
	char *text = clnt_sperror(clnt, "smclient");
	size_t n = strlen(text);

	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	clnt_geterr(clnt, &err);
	printf("rpcerr %d %s\n", (int)err.re_status, text);
	return 1;
}

/* Opens the socket, binds it as asked and creates the libtirpc client. */
static CLIENT *connect_client(const char *host, const char *port_arg,
			      const char *proto, const char *src, int reserved,
			      int *fd_out)
{
	static struct sockaddr_storage server;
	static struct netbuf nb;
	struct sockaddr_storage local;
	socklen_t server_len, local_len = 0;
	int port = int_arg(port_arg);
	int udp, fd;
	CLIENT *clnt;

	if (port <= 0 || port > 65535)
		usage("PORT out of range");
	if (strcmp(proto, "udp") == 0)
		udp = 1;
	else if (strcmp(proto, "tcp") == 0)
		udp = 0;
	else
		usage("transport must be udp or tcp");
	server_len = parse_addr(host, (unsigned short)port, &server);
	if (src != NULL) {
		local_len = parse_addr(src, 0, &local);
		if (local.ss_family != server.ss_family)
			usage("-b address family differs from HOST");
	}
	fd = socket(server.ss_family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0) {
		perror("smclient: socket");
		exit(2);
	}
	if (reserved) {
		if (src == NULL) {
			memset(&local, 0, sizeof(local));
			local.ss_family = server.ss_family;
		}
		if (bindresvport_sa(fd, (struct sockaddr *)&local) != 0) {
			perror("smclient: bindresvport_sa");
			exit(2);
		}
	} else if (src != NULL &&
		   bind(fd, (struct sockaddr *)&local, local_len) != 0) {
		perror("smclient: bind");
		exit(2);
	}
	nb.buf = &server;
	nb.len = server_len;
	nb.maxlen = sizeof(server);
	if (udp)
		clnt = clnt_dg_create(fd, &nb, SM_PROG, SM_VERS, 0, 0);
	else
		clnt = clnt_vc_create(fd, &nb, SM_PROG, SM_VERS, 0, 0);
	if (clnt == NULL) {
		char *text = clnt_spcreateerror("smclient");
		size_t n = strlen(text);

		while (n > 0 && text[n - 1] == '\n')
			text[--n] = '\0';
		printf("rpcerr %d %s\n", (int)rpc_createerr.cf_stat, text);
		exit(1);
	}
	clnt_control(clnt, CLSET_FD_CLOSE, NULL);
	*fd_out = fd;
	return clnt;
}

/* Makes the call named by argv[0]; prints the result line; returns the exit status. */
static int call(CLIENT *clnt, int argc, char **argv, struct timeval total)
{
	const char *proc = argv[0];

	if (strcmp(proc, "null") == 0 && argc == 1) {
		if (clnt_call(clnt, NULLPROC, (xdrproc_t)xdr_void, NULL,
			      (xdrproc_t)xdr_void, NULL, total) != RPC_SUCCESS)
			return rpc_error(clnt);
		printf("ok void\n");
	} else if (strcmp(proc, "stat") == 0 && argc == 2) {
		sm_name arg;
		sm_stat_res *res;

		arg.mon_name = argv[1];
		if ((res = sm_stat_1(&arg, clnt)) == NULL)
			return rpc_error(clnt);
		printf("ok res_stat=%d state=%d\n", (int)res->res_stat, res->state);
	} else if (strcmp(proc, "mon") == 0 && argc == 7) {
		mon arg;
		sm_stat_res *res;

		arg.mon_id.mon_name = argv[1];
		set_id(&arg.mon_id.my_id, argv + 2);
		parse_priv(argv[6], arg.priv);
		if ((res = sm_mon_1(&arg, clnt)) == NULL)
			return rpc_error(clnt);
		printf("ok res_stat=%d state=%d\n", (int)res->res_stat, res->state);
	} else if (strcmp(proc, "unmon") == 0 && argc == 6) {
		mon_id arg;
		sm_stat *res;

		arg.mon_name = argv[1];
		set_id(&arg.my_id, argv + 2);
		if ((res = sm_unmon_1(&arg, clnt)) == NULL)
			return rpc_error(clnt);
		printf("ok state=%d\n", res->state);
	} else if (strcmp(proc, "unmon_all") == 0 && argc == 5) {
		my_id arg;
		sm_stat *res;

		set_id(&arg, argv + 1);
		if ((res = sm_unmon_all_1(&arg, clnt)) == NULL)
			return rpc_error(clnt);
		printf("ok state=%d\n", res->state);
	} else if (strcmp(proc, "simu_crash") == 0 && argc == 1) {
		if (sm_simu_crash_1(NULL, clnt) == NULL)
			return rpc_error(clnt);
		printf("ok void\n");
	} else if (strcmp(proc, "notify") == 0 && argc == 3) {
		stat_chge arg;

		arg.mon_name = argv[1];
		arg.state = int_arg(argv[2]);
		if (clnt_call(clnt, SM_NOTIFY, (xdrproc_t)xdr_stat_chge,
			      (caddr_t)&arg, (xdrproc_t)xdr_void, NULL,
			      total) != RPC_SUCCESS)
			return rpc_error(clnt);
		printf("ok void\n");
	} else {
		usage("unknown procedure or wrong number of arguments");
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *src = NULL;
	struct timeval total = { 5, 0 };
	int reserved = 0, opt, fd, status;
	CLIENT *clnt;

	while ((opt = getopt(argc, argv, "+rb:t:")) != -1) {
		switch (opt) {
		case 'r':
			reserved = 1;
			break;
		case 'b':
			src = optarg;
			break;
		case 't':
			total.tv_sec = int_arg(optarg);
			if (total.tv_sec <= 0)
				usage("-t needs a positive number of seconds");
			break;
		default:
			usage("unknown option");
		}
	}
	if (argc - optind < 4)
		usage("missing arguments");
	clnt = connect_client(argv[optind], argv[optind + 1], argv[optind + 2],
			      src, reserved, &fd);
	/* Overrides the stubs' fixed 25 s total timeout. */
	clnt_control(clnt, CLSET_TIMEOUT, (char *)&total);
	status = call(clnt, argc - optind - 3, argv + optind + 3, total);
	print_src(fd);
	fflush(stdout);
	clnt_destroy(clnt);
	return status;
}
