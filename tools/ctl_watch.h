/*
 * watch's terminal (ctl_watch_tty.c), as ctl_watch.c drives it.  Plain
 * ANSI/ECMA-48 sequences that every terminal an ssh session reaches
 * understands (xterm, tmux, screen, the Linux console), so no curses and
 * no terminfo: the alternate screen, cursor addressing, erase in line,
 * SGR attributes.
 */
#ifndef TC_CTL_WATCH_H
#define TC_CTL_WATCH_H

#include <stddef.h>
#include <termios.h>

/* One line of a frame: its text (printable ASCII) and the SGR parameters
 * it is drawn with ("1" bold, "31" red ...), "" for none. */
struct watch_line {
	char text[512];
	char attr[16];
};

struct watch_tty {
	int in_fd;                /* where keys come from, -1: none */
	int out_fd;
	int entered;              /* on the alternate screen, our modes set */
	int have_termios;         /* saved holds in_fd's modes */
	struct termios saved;
	unsigned int rows, cols;  /* the window's size */
	struct watch_line *shown; /* what the screen shows, row by row */
	size_t nshown;
	int repaint;              /* clear and draw every row next time */
};

/* Take the terminal on out_fd (keys from in_fd when it is one): the
 * alternate screen, cursor hidden, no echo, keys without Enter.  Signals
 * (Ctrl-C, Ctrl-Z) stay the terminal's.  0, or -1 with errno set. */
int	watch_tty_enter(struct watch_tty *t);
/* Give it back as it was: modes, cursor, the main screen.  Idempotent. */
void	watch_tty_leave(struct watch_tty *t);
/* Read the window's size again (after SIGWINCH); the next draw repaints. */
void	watch_tty_resize(struct watch_tty *t);
/* Show lines[0..n) from the top, each cut to the width, the rest of the
 * screen blank, writing only the rows that changed. */
void	watch_tty_draw(struct watch_tty *t, const struct watch_line *lines,
	    size_t n);
void	watch_tty_free(struct watch_tty *t);

#endif
