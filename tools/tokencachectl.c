/*
 * tokencachectl - look at and drive tokencached from the shell.
 *
 * list, show, check, watch and verify read the segment's metadata
 * directly through the internal reader (seg.h): they need no key and work
 * for every user.  token and refresh go through the public API
 * (tokencache.h) like any other client, so the daemon's access rules
 * apply to them unchanged; so does show, for the one thing it reads of a
 * token (its JWT claims).  The public API has no call for the rest, which
 * speak the control protocol (proto.h) directly: check (PING), reload,
 * rotate-keys, invalidate and import-camunda, list and show (the status
 * document), metrics (the metrics document), watch and verify (the
 * segment itself), endpoint and env (the endpoint, a client).
 *
 * This file holds the command table, the argument parsing and main; the
 * commands live in ctl_status.c (list), ctl_show.c (show, with
 * ctl_jwt.c for the claims), ctl_token.c (token,
 * refresh), ctl_check.c (check), ctl_daemon.c (reload, rotate-keys,
 * invalidate), ctl_camunda.c (import-camunda) and ctl_verify.c (verify,
 * its checks in ctl_verify_seg.c), ctl_watch.c (watch, its terminal in
 * ctl_watch_tty.c), over ctl_cache.c
 * (reading the segment) and ctl_out.c (output, JSON).  ctl.h is what they
 * share.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "proto.h"
#include "seg.h"
#include "tokencache.h"

#define CTL_MAX_SECONDS  (PROTO_WAIT_MAX_MS / 1000)
#define CTL_REFRESH_SECS 30
/* check's thresholds: up to max_lifetime's own bound (tokencache.conf(5)). */
#define CTL_MAX_THRESHOLD 315360000L

/* Options a command may accept, beside --help and --runtime-dir. */
#define CTL_OPT_JSON     0x01
#define CTL_OPT_WAIT     0x02
#define CTL_OPT_TIMEOUT  0x04
/* The command parses its own arguments (a.argc, a.argv): import-camunda,
 * whose operand is a file and whose options are its own. */
#define CTL_OPT_OWN_ARGS 0x08
#define CTL_OPT_FOR      0x10   /* env --for CLIENT */
#define CTL_OPT_THRESHOLDS 0x20 /* check --warning, --critical */
/* A monitoring plugin: its usage errors and the tool's own failures exit
 * CTL_PLUGIN_UNKNOWN, as the plugin guidelines ask, not 2 or 1. */
#define CTL_OPT_PLUGIN   0x40
#define CTL_OPT_LIST     0x80   /* help --commands, --options */
#define CTL_OPT_COLOR    0x100  /* list --color WHEN */

/* What a command's operand is, for its parsing and for `help --commands`
 * (and so for the bash completion). */
enum ctl_operand {
	CTL_OPERAND_NONE,
	CTL_OPERAND_NAME,         /* a credential's name, required */
	CTL_OPERAND_FILE,         /* a file (import-camunda parses it) */
	CTL_OPERAND_COMMAND,      /* a command's name, optional (help) */
};
static const char *const operand_words[] = { "", "NAME", "FILE", "COMMAND" };

enum {
	LOPT_RUNTIME_DIR = 256,
	LOPT_VERSION,
	LOPT_JSON,
	LOPT_WAIT,
	LOPT_TIMEOUT,
	LOPT_FOR,
	LOPT_COMMANDS,
	LOPT_OPTIONS,
	LOPT_COLOR,
};

/* --color's values, in the order of CTL_COLOR_* (ctl.h). */
static const char *const color_values[] = { "auto", "always", "never", NULL };

struct ctl_cmd {
	const char *name;
	const char *synopsis;     /* what follows the command name in usage */
	const char *summary;
	unsigned int opts;        /* CTL_OPT_* */
	enum ctl_operand operand;
	int (*run)(const struct ctl_args *);
	/* For CTL_OPT_OWN_ARGS: the options it parses itself. */
	const struct ctl_opt *(*own_options)(size_t *n);
};

static const struct ctl_opt global_options[] = {
	{ "runtime-dir", LOPT_RUNTIME_DIR, "DIR", 0, NULL,
	    "tokencached's runtime directory" },
	{ "help", 'h', NULL, 0, NULL, "print this help and exit" },
	{ "version", LOPT_VERSION, NULL, 0, NULL,
	    "print the version and exit" },
};
#define NGLOBAL (sizeof(global_options) / sizeof(global_options[0]))

/* Every option of the commands that the table below parses, each taken
 * by the commands whose opts have its needs. */
static const struct ctl_opt command_options[] = {
	{ "json", LOPT_JSON, NULL, CTL_OPT_JSON, NULL,
	    "print JSON instead of text" },
	{ "wait", LOPT_WAIT, "SECONDS", CTL_OPT_WAIT, NULL,
	    "without a valid token, fetch one and wait up to SECONDS" },
	{ "timeout", LOPT_TIMEOUT, "SECONDS", CTL_OPT_TIMEOUT, NULL,
	    "wait up to SECONDS for the outcome (default 30)" },
	{ "for", LOPT_FOR, "CLIENT", CTL_OPT_FOR, ctl_env_clients,
	    "only the variables CLIENT reads" },
	{ "warning", 'w', "SECONDS", CTL_OPT_THRESHOLDS, NULL,
	    "WARNING when a token has fewer than SECONDS left" },
	{ "critical", 'c', "SECONDS", CTL_OPT_THRESHOLDS, NULL,
	    "CRITICAL when a token has fewer than SECONDS left" },
	{ "color", LOPT_COLOR, "WHEN", CTL_OPT_COLOR, color_values,
	    "colour the states (auto: on a terminal, without NO_COLOR)" },
	{ "commands", LOPT_COMMANDS, NULL, CTL_OPT_LIST, NULL,
	    "list the commands, one a line, each with its operand" },
	{ "options", LOPT_OPTIONS, NULL, CTL_OPT_LIST, NULL,
	    "list COMMAND's options (or the global ones), one a line" },
	{ "runtime-dir", LOPT_RUNTIME_DIR, "DIR", 0, NULL,
	    "tokencached's runtime directory" },
	{ "help", 'h', NULL, 0, NULL, "print this help and exit" },
};
#define NCOMMAND_OPTS (sizeof(command_options) / sizeof(command_options[0]))

void
ctl_opt_getopt(const struct ctl_opt *o, size_t n, struct option *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[i].name = o[i].name;
		out[i].has_arg = o[i].arg != NULL ? required_argument :
		    no_argument;
		out[i].flag = NULL;
		out[i].val = o[i].val;
	}
	memset(&out[n], 0, sizeof(out[n]));
}

/* getopt_long()'s short options for o: "-:" and each letter. */
static void
opt_shortopts(const struct ctl_opt *o, size_t n, const char *lead, char *buf,
    size_t len)
{
	size_t i, k;

	k = (size_t)snprintf(buf, len, "%s", lead);
	for (i = 0; i < n && k + 3 < len; i++) {
		if (o[i].val <= 0 || o[i].val >= 128)
			continue;
		buf[k++] = (char)o[i].val;
		if (o[i].arg != NULL)
			buf[k++] = ':';
	}
	buf[k] = '\0';
}

static int usage_error(const struct ctl_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const struct ctl_cmd *ctl_commands(size_t *n);

/* Whether cmd takes option o. */
static int
takes_option(const struct ctl_cmd *cmd, const struct ctl_opt *o)
{
	return o->needs == 0 || (cmd->opts & o->needs) != 0;
}

/* The options of cmd: its own table, or the shared one (then some rows
 * are not cmd's: takes_option()). */
static const struct ctl_opt *
options_of(const struct ctl_cmd *cmd, size_t *n)
{
	if (cmd->own_options != NULL)
		return cmd->own_options(n);
	*n = NCOMMAND_OPTS;
	return command_options;
}

/* A line per option that cmd takes (every one for cmd NULL). */
static void
print_options(FILE *fp, const struct ctl_opt *o, size_t n,
    const struct ctl_cmd *cmd)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		char label[64];

		if (cmd != NULL && !takes_option(cmd, &o[i]))
			continue;
		snprintf(label, sizeof(label), "%s%c%s--%s%s%s",
		    o[i].val > 0 && o[i].val < 128 ? "-" : "",
		    o[i].val > 0 && o[i].val < 128 ? o[i].val : ' ',
		    o[i].val > 0 && o[i].val < 128 ? ", " : "   ",
		    o[i].name, o[i].arg != NULL ? " " : "",
		    o[i].arg != NULL ? o[i].arg : "");
		fprintf(fp, "  %-24s %s", label, o[i].help);
		for (j = 0; o[i].values != NULL && o[i].values[j] != NULL; j++)
			fprintf(fp, "%s%s", j == 0 ? ": " : ", ",
			    o[i].values[j]);
		fputc('\n', fp);
	}
}

/* `help --options`: a line per option, machine-readable: --NAME, then
 * its argument's name if it takes one, then the values it accepts if
 * they are a fixed set, separated by spaces. */
static void
list_options(FILE *fp, const struct ctl_opt *o, size_t n,
    const struct ctl_cmd *cmd)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (cmd != NULL && !takes_option(cmd, &o[i]))
			continue;
		fprintf(fp, "--%s", o[i].name);
		if (o[i].arg != NULL)
			fprintf(fp, " %s", o[i].arg);
		for (j = 0; o[i].values != NULL && o[i].values[j] != NULL; j++)
			fprintf(fp, " %s", o[i].values[j]);
		fputc('\n', fp);
	}
}

static void
print_usage(FILE *fp)
{
	const struct ctl_cmd *cmds;
	size_t i, n;

	cmds = ctl_commands(&n);
	fprintf(fp, "usage: tokencachectl [--runtime-dir DIR] COMMAND [ARGS]\n"
	    "\nCommands:\n");
	for (i = 0; i < n; i++) {
		char syn[64];

		snprintf(syn, sizeof(syn), "%s%s%s", cmds[i].name,
		    cmds[i].synopsis[0] != '\0' ? " " : "", cmds[i].synopsis);
		fprintf(fp, "  %-34s %s\n", syn, cmds[i].summary);
	}
	fputs("\nOptions:\n", fp);
	print_options(fp, global_options, NGLOBAL, NULL);
	fprintf(fp, "\nThe runtime directory is $TOKENCACHE_RUNTIME_DIR, else "
	    "/run/tokencache;\nhere %s.  'tokencachectl COMMAND --help' shows "
	    "a command's options.\n"
	    "\nExit status: 0 success, 1 failure, 2 usage error; for check 0 OK,\n"
	    "1 WARNING, 2 CRITICAL, 3 UNKNOWN (usage errors too).\n",
	    proto_runtime_dir());
}

static void
print_command_usage(FILE *fp, const struct ctl_cmd *cmd)
{
	fprintf(fp, "usage: tokencachectl [--runtime-dir DIR] %s%s%s\n",
	    cmd->name, cmd->synopsis[0] != '\0' ? " " : "", cmd->synopsis);
}

static const struct ctl_cmd *find_command(const char *name);

static void
print_command_help(FILE *fp, const struct ctl_cmd *cmd)
{
	const struct ctl_opt *o;
	size_t n;

	print_command_usage(fp, cmd);
	fprintf(fp, "%s\n\nOptions:\n", cmd->summary);
	o = options_of(cmd, &n);
	print_options(fp, o, n, cmd);
}

void
ctl_print_command_help(FILE *fp, const char *name)
{
	const struct ctl_cmd *cmd;

	if ((cmd = find_command(name)) != NULL)
		print_command_help(fp, cmd);
}

/* Always returns CTL_EXIT_USAGE, for `return usage_error(...)`. */
static int
usage_error(const struct ctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_vwarnx(fmt, ap);
	va_end(ap);
	if (cmd != NULL)
		print_command_usage(stderr, cmd);
	else
		fputs("usage: tokencachectl [--runtime-dir DIR] COMMAND "
		    "[ARGS]\n", stderr);
	fputs("Try 'tokencachectl --help' for more information.\n", stderr);
	return CTL_EXIT_USAGE;
}

/* A whole number of seconds in [min, max], digits only. */
static int
parse_seconds(const char *s, long min, long max, long *out)
{
	long v = 0;
	size_t i;

	if (s[0] == '\0')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -1;
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

static void
print_version(void)
{
	printf("tokencachectl %s\nlibtokencache %s\n", TC_VERSION_STRING,
	    tc_version());
}

static int
cmd_version(const struct ctl_args *a)
{
	(void)a;
	print_version();
	return CTL_EXIT_OK;
}

/*
 * help [COMMAND], and the lists the bash completion reads (documented in
 * tokencachectl(1), so other tools may read them too).
 */
static int
cmd_help(const struct ctl_args *a)
{
	const struct ctl_cmd *cmds, *cmd = NULL;
	const struct ctl_opt *o;
	size_t i, n;

	if (a->topic != NULL && (cmd = find_command(a->topic)) == NULL) {
		char shown[64];

		snprintf(shown, sizeof(shown), "%s", a->topic);
		ctl_make_printable(shown, sizeof(shown));
		ctl_warnx("help: unknown command '%s'", shown);
		return CTL_EXIT_USAGE;
	}
	if (a->list_commands) {
		cmds = ctl_commands(&n);
		for (i = 0; i < n; i++)
			printf("%s%s%s\n", cmds[i].name,
			    cmds[i].operand != CTL_OPERAND_NONE ? " " : "",
			    operand_words[cmds[i].operand]);
	} else if (a->list_options && cmd == NULL) {
		list_options(stdout, global_options, NGLOBAL, NULL);
	} else if (a->list_options) {
		o = options_of(cmd, &n);
		list_options(stdout, o, n, cmd);
	} else if (cmd != NULL) {
		print_command_help(stdout, cmd);
	} else {
		print_usage(stdout);
	}
	return CTL_EXIT_OK;
}

static const struct ctl_cmd commands[] = {
	{ "list", "[--color WHEN] [--json]", "list every credential and its "
	    "state", CTL_OPT_JSON | CTL_OPT_COLOR, CTL_OPERAND_NONE, cmd_list,
	    NULL },
	{ "show", "NAME [--json]", "show one credential in detail",
	    CTL_OPT_JSON, CTL_OPERAND_NAME, cmd_show, NULL },
	{ "token", "NAME [--wait SECONDS]", "print the current token of NAME",
	    CTL_OPT_WAIT, CTL_OPERAND_NAME, cmd_token, NULL },
	{ "refresh", "NAME [--timeout SECONDS]", "fetch a new token for NAME "
	    "now", CTL_OPT_TIMEOUT, CTL_OPERAND_NAME, cmd_refresh, NULL },
	{ "check", "[--warning SECONDS] [--critical SECONDS] [--json]",
	    "check the daemon and every credential (a Nagios plugin)",
	    CTL_OPT_JSON | CTL_OPT_THRESHOLDS | CTL_OPT_PLUGIN,
	    CTL_OPERAND_NONE, cmd_check, NULL },
	{ "reload", "", "make tokencached re-read its configuration",
	    0, CTL_OPERAND_NONE, cmd_reload, NULL },
	{ "rotate-keys", "", "re-key every token; readers must ask again",
	    0, CTL_OPERAND_NONE, cmd_rotate_keys, NULL },
	{ "invalidate", "NAME", "drop NAME's token now and fetch a new one",
	    0, CTL_OPERAND_NAME, cmd_invalidate, NULL },
	{ "import-camunda", "FILE --name NAME [OPTIONS]", "add the client "
	    "of a Camunda console file", CTL_OPT_OWN_ARGS, CTL_OPERAND_FILE,
	    cmd_import_camunda, ctl_import_options },
	{ "endpoint", "[--json]", "show the local token endpoint: "
	    "addresses, replies", CTL_OPT_JSON, CTL_OPERAND_NONE,
	    cmd_endpoint, NULL },
	{ "env", "NAME [--for CLIENT]", "print the environment that points "
	    "a client at the endpoint", CTL_OPT_FOR, CTL_OPERAND_NAME,
	    cmd_env, NULL },
	{ "verify", "[--json]", "check the cache file and the live segment "
	    "for damage", CTL_OPT_JSON, CTL_OPERAND_NONE, cmd_verify, NULL },
	{ "metrics", "", "print the daemon's metrics (Prometheus text "
	    "format)", 0, CTL_OPERAND_NONE, cmd_metrics, NULL },
	{ "watch", "[--json]", "show every credential live as its token "
	    "changes", CTL_OPT_JSON, CTL_OPERAND_NONE, cmd_watch, NULL },
	{ "version", "", "print the versions of the tool and the library",
	    0, CTL_OPERAND_NONE, cmd_version, NULL },
	{ "help", "[COMMAND]", "print this help, "
	    "or COMMAND's", CTL_OPT_LIST, CTL_OPERAND_COMMAND, cmd_help,
	    NULL },
};

static const struct ctl_cmd *
ctl_commands(size_t *n)
{
	*n = sizeof(commands) / sizeof(commands[0]);
	return commands;
}

static const struct ctl_cmd *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/*
 * The option getopt_long() just rejected, for the message.  For an
 * unknown long option only argv still has its spelling.
 */
static const char *
rejected_option(char **argv, char *buf, size_t len)
{
	/* A long option whose val is a letter (--warning is 'w') has that
	 * letter in optopt too. */
	if (optopt != 0 && optopt < 256 &&
	    strncmp(argv[optind - 1], "--", 2) != 0)
		snprintf(buf, len, "-%c", optopt);
	else
		snprintf(buf, len, "%s", argv[optind - 1]);
	ctl_make_printable(buf, len);
	return buf;
}

static int
check_name(const struct ctl_cmd *cmd, const char *name)
{
	char shown[TC_NAME_MAX + 2];

	if (seg_name_valid(name, strnlen(name, TC_NAME_MAX + 1)) == 0)
		return 0;
	snprintf(shown, sizeof(shown), "%s", name);
	ctl_make_printable(shown, sizeof(shown));
	return usage_error(cmd, "invalid credential name '%s%s': a name has "
	    "1 to %d of the characters A-Z a-z 0-9 . _ ~ @ + - and does not "
	    "start with '.'", shown, strlen(name) > TC_NAME_MAX ? "..." : "",
	    TC_NAME_MAX);
}

/* The first operand is NAME if the command takes one; the next is extra. */
static void
add_operand(const struct ctl_cmd *cmd, const char **name, const char **extra,
    const char *arg)
{
	if (cmd->operand != CTL_OPERAND_NONE && *name == NULL)
		*name = arg;
	else if (*extra == NULL)
		*extra = arg;
}

/*
 * An option getopt_long() rejected, or a known one this command does not
 * take.  Always returns CTL_EXIT_USAGE.
 */
static int
reject_option(const struct ctl_cmd *cmd, int ch, int longindex, char **argv)
{
	char opt[64];

	/* A known option this command does not take: name it, since argv
	 * may point at its argument by now. */
	if (longindex >= 0 && ch == command_options[longindex].val)
		return usage_error(cmd, "%s does not take --%s", cmd->name,
		    command_options[longindex].name);
	if (ch == 'w' || ch == 'c')
		return usage_error(cmd, "%s does not take -%c", cmd->name, ch);
	return usage_error(cmd, "%s: unknown option %s", cmd->name,
	    rejected_option(argv, opt, sizeof(opt)));
}

/*
 * One option of a command (operands are add_operand()'s).  CTL_EXIT_OK
 * to go on; otherwise the exit status, with *done set after --help.
 */
static int
parse_command_option(const struct ctl_cmd *cmd, int ch, int longindex,
    char **argv, struct ctl_args *a, int *done)
{
	char opt[64];

	switch (ch) {
	case 'h':
		print_command_help(stdout, cmd);
		*done = 1;
		return CTL_EXIT_OK;
	case LOPT_RUNTIME_DIR:
		if (optarg[0] == '\0')
			return usage_error(cmd, "--runtime-dir must not be "
			    "empty");
		a->dir = optarg;
		return CTL_EXIT_OK;
	case LOPT_JSON:
		if (!(cmd->opts & CTL_OPT_JSON))
			break;
		a->json = 1;
		return CTL_EXIT_OK;
	case LOPT_WAIT:
		if (!(cmd->opts & CTL_OPT_WAIT))
			break;
		if (parse_seconds(optarg, 0, CTL_MAX_SECONDS, &a->wait_s) != 0)
			return usage_error(cmd, "--wait: '%s' is not a whole "
			    "number of seconds from 0 to %d", optarg,
			    CTL_MAX_SECONDS);
		a->have_wait = 1;
		return CTL_EXIT_OK;
	case LOPT_TIMEOUT:
		if (!(cmd->opts & CTL_OPT_TIMEOUT))
			break;
		/* 0 would mean the daemon's own timeout to the library;
		 * keep the meaning obvious. */
		if (parse_seconds(optarg, 1, CTL_MAX_SECONDS,
		    &a->timeout_s) != 0)
			return usage_error(cmd, "--timeout: '%s' is not a "
			    "whole number of seconds from 1 to %d", optarg,
			    CTL_MAX_SECONDS);
		return CTL_EXIT_OK;
	case LOPT_FOR:
		if (!(cmd->opts & CTL_OPT_FOR))
			break;
		a->for_client = optarg;
		return CTL_EXIT_OK;
	case 'w':
		if (!(cmd->opts & CTL_OPT_THRESHOLDS))
			break;
		if (parse_seconds(optarg, 0, CTL_MAX_THRESHOLD,
		    &a->warning_s) != 0)
			return usage_error(cmd, "--warning: '%s' is not a "
			    "whole number of seconds from 0 to %ld", optarg,
			    CTL_MAX_THRESHOLD);
		a->have_warning = 1;
		return CTL_EXIT_OK;
	case 'c':
		if (!(cmd->opts & CTL_OPT_THRESHOLDS))
			break;
		if (parse_seconds(optarg, 0, CTL_MAX_THRESHOLD,
		    &a->critical_s) != 0)
			return usage_error(cmd, "--critical: '%s' is not a "
			    "whole number of seconds from 0 to %ld", optarg,
			    CTL_MAX_THRESHOLD);
		a->have_critical = 1;
		return CTL_EXIT_OK;
	case LOPT_COLOR:
		if (!(cmd->opts & CTL_OPT_COLOR))
			break;
		for (a->color = 0; color_values[a->color] != NULL; a->color++)
			if (strcmp(optarg, color_values[a->color]) == 0)
				return CTL_EXIT_OK;
		snprintf(opt, sizeof(opt), "%s", optarg);
		ctl_make_printable(opt, sizeof(opt));
		return usage_error(cmd, "--color: '%s' is not auto, always or "
		    "never", opt);
	case LOPT_COMMANDS:
		if (!(cmd->opts & CTL_OPT_LIST))
			break;
		a->list_commands = 1;
		return CTL_EXIT_OK;
	case LOPT_OPTIONS:
		if (!(cmd->opts & CTL_OPT_LIST))
			break;
		a->list_options = 1;
		return CTL_EXIT_OK;
	case ':':
		return usage_error(cmd, "%s: option %s needs an argument",
		    cmd->name, rejected_option(argv, opt, sizeof(opt)));
	default:
		break;
	}
	return reject_option(cmd, ch, longindex, argv);
}

/* After the options: no operand too many, and NAME given and valid. */
static int
check_operands(const struct ctl_cmd *cmd, const char *name,
    const char *extra, struct ctl_args *a)
{
	int r;

	if (extra != NULL) {
		char shown[64];

		snprintf(shown, sizeof(shown), "%s", extra);
		ctl_make_printable(shown, sizeof(shown));
		return usage_error(cmd, "%s: unexpected argument '%s'",
		    cmd->name, shown);
	}
	if (cmd->operand == CTL_OPERAND_COMMAND) {
		if (a->list_commands && (a->list_options || name != NULL))
			return usage_error(cmd, "%s: --commands takes neither "
			    "--options nor COMMAND", cmd->name);
		a->topic = name;
	} else if (cmd->operand == CTL_OPERAND_NAME) {
		if (name == NULL)
			return usage_error(cmd, "%s: NAME is missing",
			    cmd->name);
		if ((r = check_name(cmd, name)) != 0)
			return r;
		a->name = name;
	}
	return CTL_EXIT_OK;
}

/*
 * Parse a command's options and operands (argv[0] is the command name).
 * The leading '-' makes getopt_long() hand over operands in order as
 * option 1, so options may follow NAME even with POSIXLY_CORRECT set.
 */
static int
parse_command(const struct ctl_cmd *cmd, int argc, char **argv,
    struct ctl_args *a, int *done)
{
	struct option opts[NCOMMAND_OPTS + 1];
	const char *name = NULL, *extra = NULL;
	char shortopts[2 * NCOMMAND_OPTS + 3];
	int ch, r, longindex = -1;

	*done = 0;
	ctl_opt_getopt(command_options, NCOMMAND_OPTS, opts);
	opt_shortopts(command_options, NCOMMAND_OPTS, "-:", shortopts,
	    sizeof(shortopts));
	opterr = 0;
	optind = 0;		/* a second argument vector: reinitialise */
	while ((ch = getopt_long(argc, argv, shortopts, opts,
	    &longindex)) != -1) {
		if (ch == 1) {
			add_operand(cmd, &name, &extra, optarg);
			continue;
		}
		if ((r = parse_command_option(cmd, ch, longindex, argv, a,
		    done)) != CTL_EXIT_OK || *done)
			return r;
		/* getopt_long() sets it for long options only. */
		longindex = -1;
	}
	/* What follows "--" is all operands. */
	for (; optind < argc; optind++)
		add_operand(cmd, &name, &extra, argv[optind]);
	/* "Due soon" (warning) must come before "about to expire"
	 * (critical); one given alone moves the other's default aside. */
	if (a->have_warning && a->have_critical &&
	    a->critical_s > a->warning_s)
		return usage_error(cmd, "--critical %ld is more than --warning "
		    "%ld: a token must warn before it is critical",
		    a->critical_s, a->warning_s);
	return check_operands(cmd, name, extra, a);
}

int
main(int argc, char *argv[])
{
	const struct ctl_cmd *cmd;
	struct ctl_args a;
	struct option global_opts[NGLOBAL + 1];
	char opt[64], shortopts[2 * NGLOBAL + 3];
	int ch, r, done;

	memset(&a, 0, sizeof(a));
	a.timeout_s = CTL_REFRESH_SECS;
	ctl_opt_getopt(global_options, NGLOBAL, global_opts);
	/* '+': stop at the command; its options are parsed below. */
	opt_shortopts(global_options, NGLOBAL, "+:", shortopts,
	    sizeof(shortopts));
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, global_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			print_usage(stdout);
			return CTL_EXIT_OK;
		case LOPT_VERSION:
			print_version();
			return CTL_EXIT_OK;
		case LOPT_RUNTIME_DIR:
			if (optarg[0] == '\0')
				return usage_error(NULL, "--runtime-dir must "
				    "not be empty");
			a.dir = optarg;
			break;
		case ':':
			return usage_error(NULL, "option %s needs an argument",
			    rejected_option(argv, opt, sizeof(opt)));
		default:
			return usage_error(NULL, "unknown option %s",
			    rejected_option(argv, opt, sizeof(opt)));
		}
	}
	if (optind >= argc)
		return usage_error(NULL, "no command given");
	if ((cmd = find_command(argv[optind])) == NULL) {
		char shown[64];

		snprintf(shown, sizeof(shown), "%s", argv[optind]);
		ctl_make_printable(shown, sizeof(shown));
		return usage_error(NULL, "unknown command '%s'", shown);
	}
	a.argc = argc - optind;
	a.argv = argv + optind;
	done = 0;
	r = (cmd->opts & CTL_OPT_OWN_ARGS) != 0 ? CTL_EXIT_OK :
	    parse_command(cmd, argc - optind, argv + optind, &a, &done);
	if (r == CTL_EXIT_USAGE && (cmd->opts & CTL_OPT_PLUGIN))
		return CTL_PLUGIN_UNKNOWN;
	if (r != CTL_EXIT_OK || done)
		return r;
	/* import-camunda prefers its configuration's runtime_dir. */
	if (a.dir == NULL && (cmd->opts & CTL_OPT_OWN_ARGS) == 0)
		a.dir = proto_runtime_dir();
	r = cmd->run(&a);
	/* Buffered output may still fail, e.g. on a full disk. */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		ctl_warnx("standard output: %s", strerror(errno));
		r = (cmd->opts & CTL_OPT_PLUGIN) ? CTL_PLUGIN_UNKNOWN :
		    CTL_EXIT_FAIL;
	}
	return r;
}
