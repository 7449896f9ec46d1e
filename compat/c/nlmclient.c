/*
 * nlmclient.c: a userspace NFSv3 lock client, the part of an NFS client a
 * lock manager sees. It mounts an export with MOUNT3, creates (or opens) a
 * file in its root with NFS3 CREATE and then makes one NLM version 4 call on
 * that file, all over TCP with AUTH_SYS, through libtirpc and the `rpcgen -C`
 * XDR routines of compat/c/nfs3_nlm4.x and /usr/include/rpcsvc/mount.x.
 * Never built by cargo: tests/common/nlmclient.rs compiles it at test time
 * in a temporary directory.
 *
 * Build: cc -I/usr/include/tirpc -I<dir with nfs3_nlm4.h and mount.h>
 *        nlmclient.c nfs3_nlm4_xdr.c mount_xdr.c -ltirpc
 *
 * Usage: nlmclient [-t SECONDS] SERVER EXPORT FILE OP CALLER SVID STATE
 *   SERVER  host name or address (its rpcbind gives the ports)
 *   EXPORT  the path to mount (MOUNT3 MNT)
 *   FILE    the name of the file in the export's root (NFS3 CREATE,
 *           UNCHECKED, mode 0644: made if missing, reused if there)
 *   OP      lock   NLM4_LOCK, exclusive, not blocking, whole file
 *           test   NLM4_TEST, exclusive, whole file
 *           unlock NLM4_UNLOCK, whole file
 *   CALLER  the lock's caller_name; SVID its svid; the owner handle (oh)
 *           is "CALLER/SVID"
 *   STATE   the NSM state sent in NLM4_LOCK
 *   -t SECS total time to wait for each reply (default 10)
 *
 * Output on stdout, one line per step:
 *   fh HEX                       the file's NFS3 handle
 *   nlm4 NAME N                  the NLM4 status (NLM4_GRANTED 0, ...),
 *                                for a denied test followed by
 *                                " holder SVID OH"
 *   error STEP TEXT              a step failed (rpc error or a status);
 *                                exit status 1
 * Usage errors print a message on stderr and exit with status 2.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <rpc/rpc.h>
#include "nfs3_nlm4.h"

static struct timeval total = { 10, 0 };

static void usage(const char *why)
{
	fprintf(stderr, "nlmclient: %s\n"
		"usage: nlmclient [-t SECONDS] SERVER EXPORT FILE lock|test|unlock "
		"CALLER SVID STATE\n", why);
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

/* Prints "error STEP TEXT" and exits 1. */
static void fail(const char *step, const char *text)
{
	printf("error %s %s\n", step, text);
	exit(1);
}

/* As fail(), with libtirpc's message for clnt's last error. */
static void rpc_fail(const char *step, CLIENT *clnt)
{
	char *text = clnt_sperror(clnt, step);
	size_t n = strlen(text);

	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	fail(step, text);
}

/* A TCP client for prog/vers on server (port from its rpcbind), AUTH_SYS. */
static CLIENT *client(const char *server, rpcprog_t prog, rpcvers_t vers,
		      const char *step)
{
	CLIENT *clnt = clnt_create(server, prog, vers, "tcp");

	if (clnt == NULL) {
		char *text = clnt_spcreateerror(step);
		size_t n = strlen(text);

		while (n > 0 && text[n - 1] == '\n')
			text[--n] = '\0';
		fail(step, text);
	}
	clnt->cl_auth = authunix_create_default();
	clnt_control(clnt, CLSET_TIMEOUT, (char *)&total);
	return clnt;
}

/* MOUNT3 MNT of path: the export root's handle, copied into root. */
static void mount_root(const char *server, char *path, fhandle3 *root)
{
	CLIENT *clnt = client(server, MOUNT3_PROG, MOUNT3_VERS, "mnt");
	mountres3 res;
	char text[32];

	memset(&res, 0, sizeof(res));
	if (clnt_call(clnt, MOUNTPROC3_MNT, (xdrproc_t)xdr_dirpath,
		      (caddr_t)&path, (xdrproc_t)xdr_mountres3, (caddr_t)&res,
		      total) != RPC_SUCCESS)
		rpc_fail("mnt", clnt);
	if (res.fhs_status != MNT3_OK) {
		snprintf(text, sizeof(text), "status %d", (int)res.fhs_status);
		fail("mnt", text);
	}
	*root = res.mountres3_u.mountinfo.fhandle;
	clnt_destroy(clnt);
}

/* NFS3 CREATE (UNCHECKED, mode 0644) of name in dir; the handle into fh. */
static void create_file(const char *server, const fhandle3 *dir, char *name,
			nfs_fh3 *fh)
{
	CLIENT *clnt = client(server, NFS3_PROG, NFS3_VERS, "create");
	CREATE3args args;
	CREATE3res res;
	char text[32];

	memset(&args, 0, sizeof(args));
	memset(&res, 0, sizeof(res));
	args.where.dir.data.data_len = dir->fhandle3_len;
	args.where.dir.data.data_val = dir->fhandle3_val;
	args.where.name = name;
	args.how.mode = UNCHECKED;
	args.how.createhow3_u.obj_attributes.mode.set_it = TRUE;
	args.how.createhow3_u.obj_attributes.mode.set_uint32_u.value = 0644;
	if (clnt_call(clnt, NFSPROC3_CREATE, (xdrproc_t)xdr_CREATE3args,
		      (caddr_t)&args, (xdrproc_t)xdr_CREATE3res, (caddr_t)&res,
		      total) != RPC_SUCCESS)
		rpc_fail("create", clnt);
	if (res.status != NFS3_OK) {
		snprintf(text, sizeof(text), "status %u", res.status);
		fail("create", text);
	}
	if (!res.CREATE3res_u.resok.obj.handle_follows)
		fail("create", "no handle in the reply");
	*fh = res.CREATE3res_u.resok.obj.post_op_fh3_u.handle;
	clnt_destroy(clnt);
}

static const char *stat_name(nlm4_stats s)
{
	static const char *names[] = {
		"NLM4_GRANTED", "NLM4_DENIED", "NLM4_DENIED_NOLOCKS",
		"NLM4_BLOCKED", "NLM4_DENIED_GRACE_PERIOD", "NLM4_DEADLCK",
		"NLM4_ROFS", "NLM4_STALE_FH", "NLM4_FBIG", "NLM4_FAILED",
	};

	if ((unsigned)s < sizeof(names) / sizeof(names[0]))
		return names[s];
	return "NLM4_UNKNOWN";
}

/* The NLM4 call op on fh; prints its "nlm4" line. */
static void nlm(const char *server, const char *op, nfs_fh3 *fh,
		char *caller, int svid, int state)
{
	CLIENT *clnt = client(server, NLM4_PROG, NLM4_VERS, "nlm4");
	static char oh[NLM4_MAXSTRLEN + 32];
	static char cookie[16];
	nlm4_lock lock;
	enum clnt_stat rc;

	memset(&lock, 0, sizeof(lock));
	snprintf(oh, sizeof(oh), "%s/%d", caller, svid);
	snprintf(cookie, sizeof(cookie), "%s%d", op, svid);
	lock.caller_name = caller;
	lock.fh.n_len = fh->data.data_len;
	lock.fh.n_bytes = fh->data.data_val;
	lock.oh.n_len = strlen(oh);
	lock.oh.n_bytes = oh;
	lock.svid = svid;
	lock.l_offset = 0;
	lock.l_len = 0;
	if (strcmp(op, "lock") == 0) {
		nlm4_lockargs args;
		nlm4_res res;

		memset(&args, 0, sizeof(args));
		memset(&res, 0, sizeof(res));
		args.cookie.n_len = strlen(cookie);
		args.cookie.n_bytes = cookie;
		args.block = FALSE;
		args.exclusive = TRUE;
		args.alock = lock;
		args.reclaim = FALSE;
		args.state = state;
		rc = clnt_call(clnt, NLMPROC4_LOCK, (xdrproc_t)xdr_nlm4_lockargs,
			       (caddr_t)&args, (xdrproc_t)xdr_nlm4_res,
			       (caddr_t)&res, total);
		if (rc != RPC_SUCCESS)
			rpc_fail("nlm4", clnt);
		printf("nlm4 %s %d\n", stat_name(res.stat), (int)res.stat);
	} else if (strcmp(op, "test") == 0) {
		nlm4_testargs args;
		nlm4_testres res;

		memset(&args, 0, sizeof(args));
		memset(&res, 0, sizeof(res));
		args.cookie.n_len = strlen(cookie);
		args.cookie.n_bytes = cookie;
		args.exclusive = TRUE;
		args.alock = lock;
		rc = clnt_call(clnt, NLMPROC4_TEST, (xdrproc_t)xdr_nlm4_testargs,
			       (caddr_t)&args, (xdrproc_t)xdr_nlm4_testres,
			       (caddr_t)&res, total);
		if (rc != RPC_SUCCESS)
			rpc_fail("nlm4", clnt);
		printf("nlm4 %s %d", stat_name(res.stat.stat), (int)res.stat.stat);
		if (res.stat.stat == NLM4_DENIED) {
			nlm4_holder *h = &res.stat.nlm4_testrply_u.holder;

			printf(" holder %d %.*s", h->svid, (int)h->oh.n_len,
			       h->oh.n_bytes);
		}
		printf("\n");
	} else {
		nlm4_unlockargs args;
		nlm4_res res;

		memset(&args, 0, sizeof(args));
		memset(&res, 0, sizeof(res));
		args.cookie.n_len = strlen(cookie);
		args.cookie.n_bytes = cookie;
		args.alock = lock;
		rc = clnt_call(clnt, NLMPROC4_UNLOCK,
			       (xdrproc_t)xdr_nlm4_unlockargs, (caddr_t)&args,
			       (xdrproc_t)xdr_nlm4_res, (caddr_t)&res, total);
		if (rc != RPC_SUCCESS)
			rpc_fail("nlm4", clnt);
		printf("nlm4 %s %d\n", stat_name(res.stat), (int)res.stat);
	}
	clnt_destroy(clnt);
}

int main(int argc, char **argv)
{
	fhandle3 root;
	nfs_fh3 fh;
	const char *op;
	int opt;
	u_int i;

	while ((opt = getopt(argc, argv, "+t:")) != -1) {
		switch (opt) {
		case 't':
			total.tv_sec = int_arg(optarg);
			if (total.tv_sec <= 0)
				usage("-t needs a positive number of seconds");
			break;
		default:
			usage("unknown option");
		}
	}
	if (argc - optind != 7)
		usage("wrong number of arguments");
	op = argv[optind + 3];
	if (strcmp(op, "lock") != 0 && strcmp(op, "test") != 0 &&
	    strcmp(op, "unlock") != 0)
		usage("OP must be lock, test or unlock");
	if (strlen(argv[optind + 4]) > NLM4_MAXSTRLEN)
		usage("CALLER too long");

	mount_root(argv[optind], argv[optind + 1], &root);
	create_file(argv[optind], &root, argv[optind + 2], &fh);
	printf("fh ");
	for (i = 0; i < fh.data.data_len; i++)
		printf("%02x", (unsigned char)fh.data.data_val[i]);
	printf("\n");
	nlm(argv[optind], op, &fh, argv[optind + 4], int_arg(argv[optind + 5]),
	    int_arg(argv[optind + 6]));
	return 0;
}
