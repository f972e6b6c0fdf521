/*
 * test_readiness.c - when tokencached says it is ready, the status line
 * it shows in systemctl status, and the notification datagram it sends.
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "notify.h"
#include "readiness.h"
#include "testutil.h"

static struct readiness_cred
cred(const char *name, int valid, int permanent, const char *error,
    int64_t fetch_ms)
{
	struct readiness_cred c = { name, valid, permanent, error, fetch_ms };

	return c;
}

START_TEST(test_settled)
{
	struct readiness_cred c[3];

	memset(c, 0, sizeof(c));
	/* None configured: ready at once. */
	ck_assert_int_eq(readiness_settled(c, 0), 1);
	c[0] = cred("a", 1, 0, "", 30000);
	c[1] = cred("b", 0, 0, "", 30000);
	c[2] = cred("c", 0, 1, "invalid_client", 30000);
	/* One still waiting for its first token. */
	ck_assert_int_eq(readiness_settled(c, 3), 0);
	/* A transient failure is not settled: it is retried within
	 * seconds, and the bound waits for it. */
	c[1].error = "Couldn't connect to server";
	ck_assert_int_eq(readiness_settled(c, 3), 0);
	/* A permanent one is: no retry soon will mend it. */
	c[1].permanent = 1;
	ck_assert_int_eq(readiness_settled(c, 3), 1);
	c[1] = cred("b", 1, 0, "", 30000);
	ck_assert_int_eq(readiness_settled(c, 3), 1);
	/* A token that expired since: waiting again. */
	c[0].valid = 0;
	ck_assert_int_eq(readiness_settled(c, 3), 0);
}
END_TEST

START_TEST(test_bound)
{
	struct readiness_cred c[3];

	memset(c, 0, sizeof(c));
	ck_assert_int_eq(readiness_bound_ms(c, 0), 0);
	c[0] = cred("a", 0, 0, "", 5000);
	c[1] = cred("b", 0, 0, "", 30000);
	c[2] = cred("c", 0, 0, "", 12000);
	/* The longest fetch. */
	ck_assert_int_eq(readiness_bound_ms(c, 3), 30000);
	ck_assert_int_eq(readiness_bound_ms(c, 1), 5000);
	/* ... of those still waiting: a token service that is down
	 * holds the start for its own credentials' timeout only. */
	c[1].valid = 1;
	ck_assert_int_eq(readiness_bound_ms(c, 3), 12000);
	c[2].permanent = 1;
	ck_assert_int_eq(readiness_bound_ms(c, 3), 5000);
	c[0].valid = 1;
	ck_assert_int_eq(readiness_bound_ms(c, 3), 0);
	/* Never past the unit's TimeoutStartSec= less its margin. */
	c[2] = cred("c", 0, 0, "", 600000);
	ck_assert_int_eq(readiness_bound_ms(c, 3), READINESS_BOUND_MAX_MS);
	ck_assert_int_lt(READINESS_BOUND_MAX_MS, 90000);
}
END_TEST

START_TEST(test_status_line)
{
	struct readiness_cred c[3];
	char line[READINESS_STATUS_MAX];

	memset(c, 0, sizeof(c));
	readiness_status(line, sizeof(line), c, 0, -1);
	ck_assert_str_eq(line, "no credentials configured");
	c[0] = cred("zeebe", 1, 0, "", 30000);
	c[1] = cred("operate", 1, 0, "", 30000);
	c[2] = cred("tasklist", 1, 0, "", 30000);
	readiness_status(line, sizeof(line), c, 3, 4 * 60000 + 59999);
	ck_assert_str_eq(line, "3 credentials, 3 valid; next refresh in 4m");
	readiness_status(line, sizeof(line), c, 1, 59999);
	ck_assert_str_eq(line, "1 credential, 1 valid; next refresh in "
	    "under a minute");
	readiness_status(line, sizeof(line), c, 3, 65 * 60000);
	ck_assert_str_eq(line, "3 credentials, 3 valid; next refresh in 1h05m");
	readiness_status(line, sizeof(line), c, 3, -1);
	ck_assert_str_eq(line, "3 credentials, 3 valid");
	/* The first without a token, with its error. */
	c[1] = cred("operate", 0, 1, "invalid_client: bad secret", 30000);
	readiness_status(line, sizeof(line), c, 3, 1000);
	ck_assert_str_eq(line, "2/3 valid; operate: invalid_client: bad secret");
	c[2].valid = 0;
	readiness_status(line, sizeof(line), c, 3, 1000);
	ck_assert_str_eq(line, "1/3 valid; operate: invalid_client: bad "
	    "secret, and 1 more");
	c[1] = cred("operate", 0, 0, "", 30000);
	readiness_status(line, sizeof(line), c, 2, 1000);
	ck_assert_str_eq(line, "1/2 valid; operate: no token yet");
}
END_TEST

/* A server's error text cannot make the line two, nor other than ASCII. */
START_TEST(test_status_one_line)
{
	struct readiness_cred c[1];
	char line[READINESS_STATUS_MAX], small[16], big[400];

	c[0] = cred("x", 0, 0, "bad\nREADY=1\r\x7f\xc3\xa9", 30000);
	readiness_status(line, sizeof(line), c, 1, -1);
	ck_assert_str_eq(line, "0/1 valid; x: bad?READY=1????");
	/* Cut to fit, terminated. */
	readiness_status(small, sizeof(small), c, 1, -1);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	/* An error's length is bounded on the line. */
	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	c[0].error = big;
	readiness_status(line, sizeof(line), c, 1, -1);
	ck_assert_uint_lt(strlen(line), 160);
}
END_TEST

START_TEST(test_notify_format)
{
	char buf[NOTIFY_MSG_MAX];
	int n;

	n = notify_format(buf, sizeof(buf), NOTIFY_READY, "1 credential, "
	    "1 valid", 0);
	ck_assert_str_eq(buf, "READY=1\nSTATUS=1 credential, 1 valid\n");
	ck_assert_int_eq(n, (int)strlen(buf));
	n = notify_format(buf, sizeof(buf), NOTIFY_RELOADING, NULL,
	    UINT64_C(123456789));
	ck_assert_str_eq(buf, "RELOADING=1\nMONOTONIC_USEC=123456789\n");
	n = notify_format(buf, sizeof(buf), NOTIFY_STOPPING, "", 0);
	ck_assert_str_eq(buf, "STOPPING=1\n");
	/* The status is one line whatever it holds. */
	n = notify_format(buf, sizeof(buf), 0, "a\nMAINPID=1", 0);
	ck_assert_str_eq(buf, "STATUS=a?MAINPID=1\n");
	/* Too small: -1, not a cut message. */
	ck_assert_int_eq(notify_format(buf, 10, NOTIFY_READY, "abcdef", 0), -1);
	(void)n;
}
END_TEST

/* The datagram as systemd would receive it, on a path and an abstract
 * socket; NOTIFY_SOCKET gone from the environment after. */
static void
receive_on(const char *env, const struct sockaddr_un *sa, socklen_t salen)
{
	char buf[NOTIFY_MSG_MAX];
	ssize_t n;
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (const struct sockaddr *)sa, salen), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", env, 1), 0);
	ck_assert_int_eq(notify_init(), 1);
	ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
	ck_assert_int_eq(notify_enabled(), 1);
	ck_assert_int_eq(notify_send_direct(NOTIFY_READY, "ok"), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "READY=1\nSTATUS=ok\n");
	ck_assert_int_eq(notify_send_direct(NOTIFY_RELOADING, NULL), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_int_eq(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27), 0);
	ck_assert_int_gt(strtoll(buf + 27, NULL, 10), 0);
	close(fd);
}

START_TEST(test_notify_socket)
{
	struct sockaddr_un sa;
	char *dir = tu_tmpdir(), name[64];
	socklen_t len;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
	receive_on(sa.sun_path, &sa, sizeof(sa));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(name, sizeof(name), "@tc-test-notify-%ld", (long)getpid());
	memcpy(sa.sun_path, name, strlen(name));
	sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	receive_on(name, &sa, len);
	/* None, or one it cannot use: nothing sent, no failure. */
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(notify_init(), 0);
	ck_assert_int_eq(notify_enabled(), 0);
	ck_assert_int_eq(notify_send_direct(NOTIFY_READY, "x"), 0);
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	ck_assert_int_eq(notify_init(), -1);
	ck_assert_int_eq(notify_enabled(), 0);
	tu_rmtree(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("readiness");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_settled);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_status_line);
	tcase_add_test(tc, test_status_one_line);
	tcase_add_test(tc, test_notify_format);
	tcase_add_test(tc, test_notify_socket);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
