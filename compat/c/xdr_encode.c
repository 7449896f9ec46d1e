/*
 * xdr_encode.c: drives libtirpc's rpcgen-generated NSM XDR routines for
 * tests/xdr_rpcgen.rs. Never built by cargo; the test compiles it into a
 * temporary directory together with `rpcgen -c` output.
 *
 * Build: cc -I/usr/include/tirpc -I<dir with sm_inter.h> xdr_encode.c
 *        sm_inter_xdr.c [stat_chge_xdr.c -DEXTRA_HEADER='"stat_chge.h"'] -ltirpc
 * (EXTRA_HEADER is for system sm_inter.x copies that lack stat_chge.)
 *
 *   xdr_encode samples   print "<type> <name>: <hex>" for the fixed sample
 *                        values; tests/xdr_rpcgen.rs builds the same values
 *                        in Rust (keep the two lists in step).
 *   xdr_encode decode    read "<type> <hex>" lines on stdin; decode each with
 *                        xdr_<type> and print "ok <bytes consumed> <hex of
 *                        the re-encoding>" or "err".
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rpc/rpc.h>
#include "sm_inter.h"
#ifdef EXTRA_HEADER
#include EXTRA_HEADER
#endif

#define BUF_SIZE 8192

struct xdr_type {
	const char *name;
	xdrproc_t proc;
	size_t size;
};

static const struct xdr_type types[] = {
	{ "sm_name", (xdrproc_t)xdr_sm_name, sizeof(sm_name) },
	{ "my_id", (xdrproc_t)xdr_my_id, sizeof(my_id) },
	{ "mon_id", (xdrproc_t)xdr_mon_id, sizeof(mon_id) },
	{ "mon", (xdrproc_t)xdr_mon, sizeof(mon) },
	{ "stat_chge", (xdrproc_t)xdr_stat_chge, sizeof(stat_chge) },
	{ "sm_stat", (xdrproc_t)xdr_sm_stat, sizeof(sm_stat) },
	{ "sm_stat_res", (xdrproc_t)xdr_sm_stat_res, sizeof(sm_stat_res) },
	{ "status", (xdrproc_t)xdr_status, sizeof(status) },
};

static const struct xdr_type *find_type(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i].name, name) == 0)
			return &types[i];
	return NULL;
}

static void print_hex(const char *buf, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		printf("%02x", (unsigned char)buf[i]);
}

/* Encodes *obj with proc and prints one sample line; exits on failure. */
static void emit(const char *type, const char *name, void *obj)
{
	static char buf[BUF_SIZE];
	const struct xdr_type *t = find_type(type);
	XDR x;

	if (t == NULL) {
		fprintf(stderr, "unknown type %s\n", type);
		exit(2);
	}
	xdrmem_create(&x, buf, sizeof(buf), XDR_ENCODE);
	if (!t->proc(&x, obj, 0)) {
		fprintf(stderr, "encoding %s %s failed\n", type, name);
		exit(1);
	}
	printf("%s %s: ", type, name);
	print_hex(buf, xdr_getpos(&x));
	printf("\n");
	xdr_destroy(&x);
}

/* n bytes, none zero, then a NUL: byte i is (i * 37 + seed) % 255 + 1. */
static char *filled(int n, int seed)
{
	char *s = malloc((size_t)n + 1);
	int i;

	if (s == NULL)
		exit(1);
	for (i = 0; i < n; i++)
		s[i] = (char)((i * 37 + seed) % 255 + 1);
	s[n] = '\0';
	return s;
}

static char nonascii[] = {
	0x68, (char)0xc3, (char)0xa9, 0x74, 0x65, (char)0xff,
	0x01, 0x7f, 0x20, 0x09, 0x7e, 0
};

static void set_id(my_id *id, char *name, int prog, int vers, int proc)
{
	id->my_name = name;
	id->my_prog = prog;
	id->my_vers = vers;
	id->my_proc = proc;
}

static void samples(void)
{
	char empty[] = "", localhost[] = "localhost";
	char pad1[] = "a", pad2[] = "ab", pad3[] = "abc", pad4[] = "abcd";
	char client[] = "client.example", server[] = "server", host[] = "host";
	char me[] = "me", peer[] = "peer";
	char *max1 = filled(1024, 1), *max2 = filled(1024, 2);
	char *max3 = filled(1024, 3), *max4 = filled(1024, 4);
	char *max5 = filled(1024, 5), *max6 = filled(1024, 6);
	sm_name n;
	my_id id;
	mon_id mi;
	mon m;
	stat_chge sc;
	sm_stat ss;
	sm_stat_res sr;
	status st;
	char label[16];
	int i, k;

	n.mon_name = empty; emit("sm_name", "empty", &n);
	n.mon_name = localhost; emit("sm_name", "localhost", &n);
	n.mon_name = pad1; emit("sm_name", "pad1", &n);
	n.mon_name = pad2; emit("sm_name", "pad2", &n);
	n.mon_name = pad3; emit("sm_name", "pad3", &n);
	n.mon_name = pad4; emit("sm_name", "pad4", &n);
	n.mon_name = nonascii; emit("sm_name", "nonascii", &n);
	n.mon_name = max1; emit("sm_name", "max", &n);

	set_id(&id, client, 100021, 3, 16); emit("my_id", "linux", &id);
	set_id(&id, localhost, 100021, 0, 1); emit("my_id", "bsd", &id);
	set_id(&id, empty, -1, INT_MIN, INT_MAX); emit("my_id", "negative", &id);
	set_id(&id, max2, 0, 0, 0); emit("my_id", "max", &id);

	mi.mon_name = server;
	set_id(&mi.my_id, client, 100021, 3, 16);
	emit("mon_id", "linux", &mi);
	mi.mon_name = nonascii;
	set_id(&mi.my_id, empty, 100021, 0, 1);
	emit("mon_id", "nonascii", &mi);
	mi.mon_name = max3;
	set_id(&mi.my_id, max4, -2, -3, -4);
	emit("mon_id", "max", &mi);

	/* priv00..priv15 together carry every byte value. */
	m.mon_id.mon_name = host;
	set_id(&m.mon_id.my_id, me, 100021, 4, 16);
	for (k = 0; k < 16; k++) {
		for (i = 0; i < 16; i++)
			m.priv[i] = (char)(16 * k + i);
		snprintf(label, sizeof(label), "priv%02d", k);
		emit("mon", label, &m);
	}
	m.mon_id.mon_name = max3;
	set_id(&m.mon_id.my_id, max4, INT_MIN, INT_MAX, -1);
	memset(m.priv, 0, sizeof(m.priv));
	emit("mon", "max", &m);

	sc.mon_name = peer; sc.state = 3; emit("stat_chge", "up", &sc);
	sc.mon_name = peer; sc.state = 2; emit("stat_chge", "down", &sc);
	sc.mon_name = nonascii; sc.state = INT_MIN;
	emit("stat_chge", "negative", &sc);
	sc.mon_name = max5; sc.state = INT_MAX; emit("stat_chge", "max", &sc);

	ss.state = 0; emit("sm_stat", "zero", &ss);
	ss.state = 1; emit("sm_stat", "one", &ss);
	ss.state = -1; emit("sm_stat", "minus_one", &ss);
	ss.state = INT_MIN; emit("sm_stat", "int_min", &ss);
	ss.state = INT_MAX; emit("sm_stat", "int_max", &ss);

	sr.res_stat = stat_succ; sr.state = 3; emit("sm_stat_res", "succ", &sr);
	sr.res_stat = stat_fail; sr.state = -1; emit("sm_stat_res", "fail", &sr);
	sr.res_stat = (res)2; sr.state = 0; emit("sm_stat_res", "unknown", &sr);
	sr.res_stat = (res)-7; sr.state = INT_MAX;
	emit("sm_stat_res", "negative", &sr);

	st.mon_name = server; st.state = 5;
	for (i = 0; i < 16; i++)
		st.priv[i] = (char)i;
	emit("status", "linux", &st);
	st.mon_name = localhost; st.state = 2;
	for (i = 0; i < 16; i++)
		st.priv[i] = (char)(255 - i);
	emit("status", "bsd", &st);
	st.mon_name = max6; st.state = INT_MIN;
	memset(st.priv, 0, sizeof(st.priv));
	emit("status", "max", &st);

	free(max1); free(max2); free(max3);
	free(max4); free(max5); free(max6);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One "<type> <hex>" line; prints "ok <consumed> <hex>" or "err". */
static void decode_line(char *line)
{
	static char in[BUF_SIZE], out[BUF_SIZE];
	char *sp = strchr(line, ' '), *hex;
	const struct xdr_type *t;
	unsigned int len = 0, consumed;
	void *obj;
	XDR x;

	if (sp == NULL) {
		fprintf(stderr, "bad line\n");
		exit(2);
	}
	*sp = '\0';
	t = find_type(line);
	if (t == NULL) {
		fprintf(stderr, "unknown type %s\n", line);
		exit(2);
	}
	for (hex = sp + 1; hex[0] != '\0' && hex[0] != '\n'; hex += 2) {
		int hi = hex_value(hex[0]), lo = hex_value(hex[1]);

		if (hi < 0 || lo < 0 || len >= sizeof(in)) {
			fprintf(stderr, "bad hex\n");
			exit(2);
		}
		in[len++] = (char)(hi * 16 + lo);
	}

	obj = calloc(1, t->size);
	if (obj == NULL)
		exit(1);
	xdrmem_create(&x, in, len, XDR_DECODE);
	if (!t->proc(&x, obj, 0)) {
		printf("err\n");
		xdr_destroy(&x);
		xdr_free(t->proc, obj);
		free(obj);
		return;
	}
	consumed = xdr_getpos(&x);
	xdr_destroy(&x);

	xdrmem_create(&x, out, sizeof(out), XDR_ENCODE);
	if (!t->proc(&x, obj, 0)) {
		fprintf(stderr, "re-encoding failed\n");
		exit(1);
	}
	printf("ok %u ", consumed);
	print_hex(out, xdr_getpos(&x));
	printf("\n");
	xdr_destroy(&x);
	xdr_free(t->proc, obj);
	free(obj);
}

int main(int argc, char **argv)
{
	static char line[4 * BUF_SIZE];

	if (argc == 2 && strcmp(argv[1], "samples") == 0) {
		samples();
	} else if (argc == 2 && strcmp(argv[1], "decode") == 0) {
		while (fgets(line, sizeof(line), stdin) != NULL)
			decode_line(line);
	} else {
		fprintf(stderr, "usage: %s samples|decode\n", argv[0]);
		return 2;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
