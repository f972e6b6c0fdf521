/*
 * watch's terminal: taking it and giving it back, its size, and drawing a
 * frame without flicker.  A frame is never drawn over a cleared screen
 * (the blank moment is the flicker): each row that changed is rewritten
 * in place and erased to its end, and the whole frame leaves in one
 * write(), so that over ssh it arrives as one packet where it fits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "ctl_watch.h"

#define ESC "\033"
#define ALT_SCREEN_ON   ESC "[?1049h"   /* xterm: save cursor, alternate */
#define ALT_SCREEN_OFF  ESC "[?1049l"
#define CURSOR_HIDE     ESC "[?25l"
#define CURSOR_SHOW     ESC "[?25h"
#define CLEAR_SCREEN    ESC "[H" ESC "[2J"

/* The size to assume when the terminal does not say (a serial line). */
#define TTY_ROWS_DEFAULT 24
#define TTY_COLS_DEFAULT 80

struct outbuf {
	char *p;
	size_t len, cap;
	int failed;
};

static void
out_add(struct outbuf *b, const char *s, size_t n)
{
	char *q;
	size_t cap;

	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		if ((q = realloc(b->p, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
out_str(struct outbuf *b, const char *s)
{
	out_add(b, s, strlen(s));
}

/*
 * All of buf to fd.  A terminal that went away (EIO after a hangup) is
 * not our problem here: SIGHUP follows and ends watch.
 */
static void
write_all(int fd, const char *buf, size_t n)
{
	ssize_t k;

	while (n > 0) {
		k = write(fd, buf, n);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		buf += k;
		n -= (size_t)k;
	}
}

void
watch_tty_resize(struct watch_tty *t)
{
	struct winsize ws;

	t->rows = TTY_ROWS_DEFAULT;
	t->cols = TTY_COLS_DEFAULT;
	if (ioctl(t->out_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0) {
		t->rows = ws.ws_row;
		t->cols = ws.ws_col;
	}
	t->repaint = 1;
}

int
watch_tty_enter(struct watch_tty *t)
{
	struct termios raw;
	static const char seq[] = ALT_SCREEN_ON CURSOR_HIDE CLEAR_SCREEN;

	if (t->entered)
		return 0;
	t->have_termios = 0;
	if (t->in_fd != -1 && tcgetattr(t->in_fd, &t->saved) == 0) {
		raw = t->saved;
		/* Keys one at a time, unechoed; ISIG stays, so Ctrl-C is
		 * SIGINT, and output processing stays as it was. */
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		if (tcsetattr(t->in_fd, TCSAFLUSH, &raw) == -1)
			return -1;
		t->have_termios = 1;
	}
	write_all(t->out_fd, seq, sizeof(seq) - 1);
	t->entered = 1;
	watch_tty_resize(t);
	return 0;
}

void
watch_tty_leave(struct watch_tty *t)
{
	static const char seq[] = ESC "[m" CURSOR_SHOW ALT_SCREEN_OFF;

	if (!t->entered)
		return;
	write_all(t->out_fd, seq, sizeof(seq) - 1);
	if (t->have_termios)
		(void)tcsetattr(t->in_fd, TCSAFLUSH, &t->saved);
	t->have_termios = 0;
	t->entered = 0;
}

/* Row r (0-based) as it should read: its text cut to what fits. */
static void
put_row(struct outbuf *b, const struct watch_tty *t, unsigned int r,
    const struct watch_line *l)
{
	char pos[32];
	size_t n, width = t->cols;

	/* The bottom-right cell is left alone: writing it makes some
	 * terminals scroll the screen. */
	if (r + 1 == t->rows && width > 1)
		width--;
	snprintf(pos, sizeof(pos), ESC "[%u;1H", r + 1);
	out_str(b, pos);
	if (l != NULL) {
		n = strnlen(l->text, sizeof(l->text));
		if (n > width)
			n = width;
		if (l->attr[0] != '\0') {
			out_str(b, ESC "[");
			out_str(b, l->attr);
			out_str(b, "m");
		}
		out_add(b, l->text, n);
		if (l->attr[0] != '\0')
			out_str(b, ESC "[m");
	}
	out_str(b, ESC "[K");
}

static int
line_same(const struct watch_line *a, const struct watch_line *b)
{
	return strcmp(a->text, b->text) == 0 && strcmp(a->attr, b->attr) == 0;
}

void
watch_tty_draw(struct watch_tty *t, const struct watch_line *lines, size_t n)
{
	struct outbuf b = { NULL, 0, 0, 0 };
	struct watch_line *shown;
	unsigned int r;

	if (!t->entered)
		return;
	if (n > t->rows)
		n = t->rows;
	if (t->repaint)
		out_str(&b, CLEAR_SCREEN);
	for (r = 0; r < t->rows; r++) {
		const struct watch_line *l = r < n ? &lines[r] : NULL;
		const struct watch_line *was = !t->repaint && r < t->nshown ?
		    &t->shown[r] : NULL;

		if (l == NULL && (was == NULL || t->repaint))
			continue;       /* blank, and blank already */
		if (l != NULL && was != NULL && line_same(l, was))
			continue;
		put_row(&b, t, r, l);
	}
	if (b.len > 0 && !b.failed)
		write_all(t->out_fd, b.p, b.len);
	free(b.p);
	/* What the screen shows now, for the next frame's comparison; if
	 * that cannot be kept, the next frame repaints. */
	shown = n > 0 ? reallocarray(t->shown, n, sizeof(*shown)) : t->shown;
	if (b.failed || (n > 0 && shown == NULL)) {
		t->repaint = 1;
		return;
	}
	t->shown = shown;
	if (n > 0)
		memcpy(t->shown, lines, n * sizeof(*lines));
	t->nshown = n;
	t->repaint = 0;
}

void
watch_tty_free(struct watch_tty *t)
{
	free(t->shown);
	t->shown = NULL;
	t->nshown = 0;
}
