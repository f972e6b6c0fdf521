/*
 * fuzz_config.c - a credential file and a main file (outside input,
 * written by people).  The input is written to a private file and parsed.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/tc-fuzz-config.XXXXXX";
static char path[64];

/* What loads is handed over to the worker whole: conf_unpack takes
 * what conf_pack makes of it (chains and module options included). */
static void
handover(struct cred_conf *c)
{
	struct daemon_conf d, *u = NULL;
	unsigned char *buf;
	size_t len = 0;

	memset(&d, 0, sizeof(d));
	d.path = path;
	d.runtime_dir = (char *)"/run/tc-fuzz";
	d.user = (char *)"tokencache";
	d.module_dir = (char *)"/usr/lib/tokencache/modules";
	d.max_credentials = 1;
	d.max_token_size = 4096;
	d.endpoint_rate = 1;
	d.endpoint_burst = 1;
	d.metrics_interval = 15;
	d.endpoint.max_connections = 1;
	d.endpoint.max_connections_per_user = 1;
	d.creds = c;
	d.ncreds = 1;
	if ((buf = conf_pack(&d, &len)) == NULL)
		abort();
	if (conf_unpack(buf, len, &u) != 0 ||
	    conf_cred_request_differs(c, &u->creds[0]) ||
	    conf_cred_acl_differs(c, &u->creds[0]))
		abort();
	conf_free(u);
	sodium_free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cred_conf c;
	struct daemon_conf *dc = NULL;
	char err[CONF_ERR_MAX];
	int fd;

	if (sodium_init() < 0)
		abort();
	if (path[0] == '\0') {
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(path, sizeof(path), "%s/x.conf", dir);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	memset(&c, 0, sizeof(c));
	if (conf_load_credential(path, "x", &c, err) == 0) {
		handover(&c);
		conf_cred_clear(&c);
	}
	else if (strlen(err) == 0)
		abort();	/* every failure says why */
	if (conf_load(path, &dc, err) == 0) {
		/* The main file's keys ([endpoint] ...) go over too. */
		unsigned char *buf;
		struct daemon_conf *u = NULL;
		size_t len = 0;

		if ((buf = conf_pack(dc, &len)) == NULL ||
		    conf_unpack(buf, len, &u) != 0 ||
		    u->endpoint.nlisten != dc->endpoint.nlisten ||
		    u->endpoint.min_lifetime != dc->endpoint.min_lifetime ||
		    u->metrics_interval != dc->metrics_interval ||
		    (u->metrics_textfile == NULL) !=
		    (dc->metrics_textfile == NULL) ||
		    (u->metrics_textfile != NULL &&
		    strcmp(u->metrics_textfile, dc->metrics_textfile) != 0))
			abort();
		conf_free(u);
		sodium_free(buf);
		conf_free(dc);
	}
	else if (strlen(err) == 0)
		abort();
	return 0;
}
