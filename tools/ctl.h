/*
 * tokencachectl's internal interface: what its files share.  Not
 * installed; the tool's users see only its command line (tokencachectl(1)).
 */
#ifndef TC_CTL_H
#define TC_CTL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nsec.h"

struct json_object;
struct option;
struct proto_resp;
struct seg_map;
struct seg_slot;

#define CTL_EXIT_OK      0
#define CTL_EXIT_FAIL    1     /* the daemon or a credential is not right */
#define CTL_EXIT_USAGE   2     /* the command line is not right */

/*
 * check's exit status follows the monitoring-plugin convention (Nagios,
 * Icinga, Sensu; the Monitoring Plugins development guidelines), which
 * gives 2 another meaning: its usage errors are UNKNOWN.
 */
#define CTL_PLUGIN_OK       0
#define CTL_PLUGIN_WARNING  1
#define CTL_PLUGIN_CRITICAL 2
#define CTL_PLUGIN_UNKNOWN  3

struct ctl_args {
	const char *dir;          /* the runtime directory */
	const char *name;         /* the NAME operand, validated */
	int json;
	int have_wait;
	long wait_s;
	long timeout_s;
	int have_warning;         /* check --warning SECONDS */
	long warning_s;
	int have_critical;        /* check --critical SECONDS */
	long critical_s;
	const char *for_client;   /* env --for CLIENT, NULL: all */
	int list_commands;        /* help --commands */
	int list_options;         /* help --options */
	const char *topic;        /* help's COMMAND operand, or NULL */
	int color;                /* list --color: CTL_COLOR_* */
	int argc;                 /* the command's own arguments, argv[0] */
	char **argv;              /* its name, for CTL_OPT_OWN_ARGS */
};

/*
 * One option of the tool, a row that its parser (through ctl_opt_getopt()),
 * its --help, `help --options` and so the bash completion all read: an
 * option is added here and nowhere else.
 */
struct ctl_opt {
	const char *name;          /* the long option, without "--" */
	int val;                   /* getopt_long()'s; a letter is also the
	                            * short option */
	const char *arg;           /* its argument's name, NULL: none */
	unsigned int needs;        /* the CTL_OPT_* bit a command must have to
	                            * take it (tokencachectl.c), 0: every one */
	const char *const *values; /* what it accepts, NULL-terminated, or
	                            * NULL: anything */
	const char *help;          /* one line */
};

/* out[0..n] (n rows and the terminating one) for getopt_long(). */
void	ctl_opt_getopt(const struct ctl_opt *o, size_t n, struct option *out);
/* The --help of the command called name: usage, summary, options. */
void	ctl_print_command_help(FILE *fp, const char *name);

/* --color WHEN */
#define CTL_COLOR_AUTO   0     /* on a terminal, unless NO_COLOR is set */
#define CTL_COLOR_ALWAYS 1
#define CTL_COLOR_NEVER  2

/* The used slots of a segment, cleaned up for display. */
struct ctl_cache {
	struct seg_slot *creds;   /* sorted by name */
	size_t ncreds;
	size_t nbad;              /* slots that could not be read */
};

/* ctl_out.c: output */
void	ctl_vwarnx(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));
void	ctl_warnx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
void	ctl_make_printable(char *s, size_t cap);
void	ctl_format_wall(char *buf, size_t len, int64_t t);
/* "45s", "59m12s", "5h03m", "2d04h". */
void	ctl_format_duration(char *buf, size_t len, int64_t s);
int	ctl_json_put(struct json_object *o, const char *key,
	    struct json_object *v);
int	ctl_json_give(struct json_object *o, const char *key,
	    struct json_object **v);
int	ctl_json_print(struct json_object *o);
/* Whether to write colour (CTL_COLOR_* mode, NO_COLOR, a terminal). */
int	ctl_color_wanted(int mode);
/* Standard output's terminal width, 0 when it is not a terminal. */
size_t	ctl_terminal_width(void);

/* ctl_cache.c: the segment, read without a key */
int	ctl_slot_has_expiry(const struct seg_slot *s);
int64_t	ctl_slot_seconds_left(const struct seg_slot *s, int64_t now_boot);
const char *ctl_slot_state_name(const struct seg_slot *s, int64_t now_boot);
int	ctl_slot_is_ok(const struct seg_slot *s, int64_t now_boot);
/* s's time left: "59m12s", "expired", "-" (no token). */
void	ctl_format_remaining(char *buf, size_t len, const struct seg_slot *s,
	    int64_t now_boot);
/* The SGR parameters (CTL_SGR_*) of s's state in list and watch. */
#define CTL_SGR_GREEN  "32"
#define CTL_SGR_YELLOW "33"
#define CTL_SGR_RED    "31"
const char *ctl_state_colour(const struct seg_slot *s, int64_t now_boot);
void	ctl_cache_strerror(char *buf, size_t len, const char *dir, int r,
	    int err);
void	ctl_cache_free(struct ctl_cache *c);
int	ctl_cache_load(struct ctl_cache *out, const char *dir, int *err);
int	ctl_cache_read(struct ctl_cache *out, const struct seg_map *m,
	    const char *dir, int quiet);
int	ctl_cache_lookup(struct seg_slot *out, const char *dir,
	    const char *name, int *err);
void	ctl_cache_last_error(char *buf, size_t len, const char *dir,
	    const char *name);

/* ctl_daemon.c: the control protocol */
int	ctl_daemon_call(const char *dir, int op, const char *name,
	    int timeout_ms, struct proto_resp *resp, int *err);
/* The same, keeping the message's newlines and tabs: for the replies
 * made of lines (PROTO_OP_ENDPOINT, PROTO_OP_CLIENT). */
int	ctl_daemon_call_text(const char *dir, int op, const char *name,
	    int timeout_ms, struct proto_resp *resp, int *err);
void	ctl_daemon_strerror(char *buf, size_t len, const char *dir, int r,
	    int err);

/* ctl_doc.c: a document the daemon sends as a sealed memfd (PROTO_OPF_DOC
 * ops: PROTO_OP_METRICS, PROTO_OP_STATUS), read whole into *text, a new
 * buffer NUL-terminated after its *len bytes, to be freed by the caller;
 * the daemon has timeout_ms to answer.  0, or a TC_E* code (the daemon's
 * status, TC_EPROTO for a descriptor that is not sealed, TC_ERANGE past
 * CTL_DOC_MAX bytes, proto_call_fd()'s errors, its timeout among them),
 * with *text and *len untouched. */
#define CTL_DOC_MAX (16u * 1024 * 1024)
/* How long show and metrics wait for the daemon's document. */
#define CTL_DOC_MS      5000
/* list's wait for the provider column, which it can do without: short,
 * because bash completion runs list --json at every Tab. */
#define CTL_DOC_LIST_MS 500
int	ctl_daemon_doc(const char *runtime_dir, int op, int timeout_ms,
	    char **text, size_t *len);

/* ctl_status.c: what list and show share */
void	ctl_format_relative(char *buf, size_t len, int64_t t, int64_t now);
struct json_object *ctl_slot_json(const struct seg_slot *s, int64_t now_boot,
	    int64_t now_wall);
/*
 * The daemon's view of every credential (PROTO_OP_STATUS), given
 * timeout_ms to answer: the JSON array in *out (the caller puts it), 0;
 * or -1 with why saying in words why it is unavailable (no daemon, no
 * answer in time, an older daemon, a malformed reply).
 */
int	ctl_status_fetch(const char *dir, int timeout_ms,
	    struct json_object **out, char *why, size_t whylen);
/* The object of *arr whose "name" is name, or NULL. */
struct json_object *ctl_status_find(struct json_object *arr, const char *name);

/* ctl_token.c: a token through the library, in guarded memory */
struct tc_client;
struct tc_token_info;
int	ctl_token_read(struct tc_client *c, const char *name, long wait_s,
	    char **tok, size_t *len, struct tc_token_info *info, int *err);

/* The commands, one per entry of tokencachectl.c's table. */
int	cmd_list(const struct ctl_args *a);		/* ctl_status.c */
int	cmd_show(const struct ctl_args *a);
int	cmd_token(const struct ctl_args *a);		/* ctl_token.c */
int	cmd_refresh(const struct ctl_args *a);
int	cmd_check(const struct ctl_args *a);		/* ctl_check.c */
int	cmd_reload(const struct ctl_args *a);		/* ctl_daemon.c */
int	cmd_rotate_keys(const struct ctl_args *a);
int	cmd_invalidate(const struct ctl_args *a);
int	cmd_import_camunda(const struct ctl_args *a);	/* ctl_camunda.c */
int	cmd_endpoint(const struct ctl_args *a);		/* ctl_endpoint.c */
int	cmd_env(const struct ctl_args *a);
int	cmd_verify(const struct ctl_args *a);		/* ctl_verify.c */
int	cmd_metrics(const struct ctl_args *a);		/* ctl_doc.c */
int	cmd_watch(const struct ctl_args *a);		/* ctl_watch.c */

/* import-camunda parses its own arguments; these are its options. */
const struct ctl_opt *ctl_import_options(size_t *n);	/* ctl_camunda.c */
/* The clients `env --for` knows, NULL-terminated. */
extern const char *const ctl_env_clients[];		/* ctl_endpoint.c */

#endif
