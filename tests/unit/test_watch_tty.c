/*
 * test_watch_tty.c - `tokencachectl watch`'s terminal (tools/ctl_watch_tty.c)
 * on a pseudo-terminal: the modes it sets and gives back, the alternate
 * screen, and frames that rewrite only the rows that changed, cut to the
 * window's width.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "testutil.h"
#include "../../tools/ctl_watch.h"

static int master = -1, slave = -1;
static struct watch_tty t;

static void
setup(void)
{
	struct winsize ws = { .ws_row = 6, .ws_col = 20 };

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(grantpt(master), 0);
	ck_assert_int_eq(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(slave, 0);
	ck_assert_int_eq(ioctl(slave, TIOCSWINSZ, &ws), 0);
	ck_assert_int_eq(fcntl(master, F_SETFL, O_NONBLOCK), 0);
	memset(&t, 0, sizeof(t));
	t.in_fd = t.out_fd = slave;
}

static void
teardown(void)
{
	watch_tty_leave(&t);
	watch_tty_free(&t);
	close(slave);
	close(master);
}

/* What the terminal received since the last call, NUL-terminated. */
static char *
received(void)
{
	static char buf[8192];
	size_t n = 0;
	ssize_t k;

	while (n < sizeof(buf) - 1 &&
	    (k = read(master, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	return buf;
}

static void
line(struct watch_line *l, const char *text, const char *attr)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->text, sizeof(l->text), "%s", text);
	snprintf(l->attr, sizeof(l->attr), "%s", attr);
}

START_TEST(test_enter_leave_restores)
{
	struct termios before, during, after;
	char *out;

	ck_assert_int_eq(tcgetattr(slave, &before), 0);
	ck_assert_int_eq(watch_tty_enter(&t), 0);
	ck_assert_uint_eq(t.rows, 6);
	ck_assert_uint_eq(t.cols, 20);
	ck_assert_int_eq(tcgetattr(slave, &during), 0);
	ck_assert(!(during.c_lflag & ICANON));
	ck_assert(!(during.c_lflag & ECHO));
	ck_assert(during.c_lflag & ISIG);	/* Ctrl-C stays SIGINT */
	out = received();
	ck_assert_msg(strncmp(out, "\033[?1049h\033[?25l", 14) == 0,
	    "enter wrote %s", out + 1);
	watch_tty_leave(&t);
	ck_assert_int_eq(tcgetattr(slave, &after), 0);
	ck_assert_int_eq(after.c_lflag, before.c_lflag);
	ck_assert_int_eq(after.c_iflag, before.c_iflag);
	ck_assert_int_eq(after.c_oflag, before.c_oflag);
	ck_assert_mem_eq(after.c_cc, before.c_cc, sizeof(after.c_cc));
	out = received();
	ck_assert_str_eq(out, "\033[m\033[?25h\033[?1049l");
	/* Twice is once. */
	watch_tty_leave(&t);
	ck_assert_str_eq(received(), "");
}
END_TEST

START_TEST(test_draw_only_changes)
{
	struct watch_line l[3];
	char *out;

	ck_assert_int_eq(watch_tty_enter(&t), 0);
	(void)received();
	line(&l[0], "header", "1");
	line(&l[1], "alpha valid 1", "");
	line(&l[2], "beta valid 1", "31");
	watch_tty_draw(&t, l, 3);
	out = received();
	/* The first frame: cleared once, every row written. */
	ck_assert_ptr_nonnull(strstr(out, "\033[2J"));
	ck_assert_ptr_nonnull(strstr(out, "\033[1;1H\033[1mheader\033[m\033[K"));
	ck_assert_ptr_nonnull(strstr(out, "\033[2;1Halpha valid 1\033[K"));
	ck_assert_ptr_nonnull(strstr(out, "\033[3;1H\033[31mbeta valid 1\033[m\033[K"));
	/* The same frame again writes nothing. */
	watch_tty_draw(&t, l, 3);
	ck_assert_str_eq(received(), "");
	/* One row changed: that row alone, never a clear. */
	line(&l[1], "alpha valid 2", "");
	watch_tty_draw(&t, l, 3);
	out = received();
	ck_assert_str_eq(out, "\033[2;1Halpha valid 2\033[K");
	/* A row fewer: the old one is erased. */
	watch_tty_draw(&t, l, 2);
	ck_assert_str_eq(received(), "\033[3;1H\033[K");
}
END_TEST

START_TEST(test_draw_cuts_to_width)
{
	struct watch_line l[6];
	char *out;
	size_t i;

	ck_assert_int_eq(watch_tty_enter(&t), 0);
	(void)received();
	for (i = 0; i < 6; i++)
		line(&l[i], "0123456789abcdefghijKLMNOP", "");
	watch_tty_draw(&t, l, 6);
	out = received();
	/* 20 columns, and 19 on the last row: its last cell would scroll. */
	ck_assert_ptr_nonnull(strstr(out, "\033[1;1H0123456789abcdefghij\033[K"));
	ck_assert_ptr_nonnull(strstr(out, "\033[6;1H0123456789abcdefghi\033[K"));
	ck_assert_ptr_null(strstr(out, "K"  "LMNOP"));
	/* More lines than rows: the rows only. */
	watch_tty_draw(&t, l, 6);
	ck_assert_str_eq(received(), "");
}
END_TEST

START_TEST(test_resize_repaints)
{
	struct watch_line l[1];
	struct winsize ws = { .ws_row = 3, .ws_col = 8 };
	char *out;

	ck_assert_int_eq(watch_tty_enter(&t), 0);
	line(&l[0], "0123456789", "");
	watch_tty_draw(&t, l, 1);
	(void)received();
	ck_assert_int_eq(ioctl(slave, TIOCSWINSZ, &ws), 0);
	watch_tty_resize(&t);
	ck_assert_uint_eq(t.rows, 3);
	ck_assert_uint_eq(t.cols, 8);
	watch_tty_draw(&t, l, 1);
	out = received();
	ck_assert_ptr_nonnull(strstr(out, "\033[2J"));
	ck_assert_ptr_nonnull(strstr(out, "\033[1;1H01234567\033[K"));
}
END_TEST

static Suite *
watch_tty_suite(void)
{
	Suite *s = suite_create("watch_tty");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_enter_leave_restores);
	tcase_add_test(tc, test_draw_only_changes);
	tcase_add_test(tc, test_draw_cuts_to_width);
	tcase_add_test(tc, test_resize_repaints);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(watch_tty_suite());
}
