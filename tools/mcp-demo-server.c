/*
 * mcp-demo-server - a small, real MCP server on stdio, for the demo
 * (`make run`) and for the proxy's integration tests. Its flags make it
 * misbehave on purpose: crash, refuse the handshake, change its tool list,
 * chatter on stderr.
 *
 * This file reads the flags; demo/server.c runs the event loop; demo/mcp.c
 * speaks MCP.
 */
#include "demo/demo.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRAM "mcp-demo-server"

/* Limits on flag values: anything bigger is a typo, and these keep the
 * millisecond arithmetic far from overflow. */
#define MAX_SECONDS 1e6
#define MAX_COUNT 1000000L

/* Exit status for a bad command line, as for most Unix tools. */
#define EXIT_USAGE 2

enum {
    OPT_CRASH_AFTER = 256,
    OPT_FAIL_HANDSHAKE,
    OPT_TOOLS_CHANGE_EVERY,
    OPT_PAGE_SIZE,
    OPT_NAME,
    OPT_STDERR_LINES,
    OPT_HELP,
};

static const struct option long_options[] = {
    {"crash-after", required_argument, NULL, OPT_CRASH_AFTER},
    {"fail-handshake", no_argument, NULL, OPT_FAIL_HANDSHAKE},
    {"tools-change-every", required_argument, NULL, OPT_TOOLS_CHANGE_EVERY},
    {"page-size", required_argument, NULL, OPT_PAGE_SIZE},
    {"name", required_argument, NULL, OPT_NAME},
    {"stderr-lines", required_argument, NULL, OPT_STDERR_LINES},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
    fputs("Usage: " PROGRAM " [FLAGS]\n"
          "\n"
          "A small MCP server on stdio: newline-delimited JSON-RPC 2.0 on stdin and\n"
          "stdout, logs on stderr. Protocol versions 2025-06-18, 2025-03-26, 2024-11-05.\n"
          "Tools: echo {text}, add {a, b}, sleep {ms}, fail {message?}.\n"
          "\n"
          "Flags:\n"
          "  --name NAME          report NAME as serverInfo.name and prefix log lines\n"
          "                       with it (default: " PROGRAM ")\n"
          "  --page-size N        tools/list returns at most N tools per page, with a\n"
          "                       nextCursor for the rest (default 0: one page)\n"
          "  --tools-change-every SECONDS\n"
          "                       every SECONDS add or remove a tool extra_<k> and send\n"
          "                       notifications/tools/list_changed\n"
          "  --crash-after SECONDS\n"
          "                       write a line to stderr and exit with status 3 after\n"
          "                       SECONDS, to play a crash (fractions allowed: 0.2)\n"
          "  --fail-handshake     answer initialize with a JSON-RPC error, then exit 1\n"
          "  --stderr-lines N     write N numbered lines to stderr at start\n"
          "  -h, --help           show this help and exit\n"
          "\n"
          "Exit status: 0 at end of input or on SIGTERM/SIGINT; 1 after\n"
          "--fail-handshake or an I/O error; 2 for a bad command line; 3 after\n"
          "--crash-after.\n",
          out);
}

/* Prints a command-line error and returns the status to exit with. */
static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, PROGRAM ": %s: %s\nTry '" PROGRAM " --help'.\n", what, arg);
    return EXIT_USAGE;
}

/* A positive number of seconds, fractions allowed, as milliseconds (at
 * least 1, so a tiny value cannot become "never"). */
static bool parse_seconds(const char *text, int64_t *ms)
{
    char *end;
    errno = 0;
    double seconds = strtod(text, &end);
    /* !(seconds > 0) also rejects nan; the upper bound rejects inf. */
    if (end == text || *end != '\0' || errno != 0 || !(seconds > 0) || seconds > MAX_SECONDS)
        return false;
    *ms = (int64_t)(seconds * 1000.0 + 0.5);
    if (*ms < 1)
        *ms = 1;
    return true;
}

/* A whole number from 0 to MAX_COUNT. */
static bool parse_count(const char *text, long *count)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || value < 0 || value > MAX_COUNT)
        return false;
    *count = value;
    return true;
}

/* Applies one recognised flag. Returns -1 to go on, or an exit status. */
static int apply_option(int code, const char *arg, struct demo_options *opt)
{
    long count;
    switch (code) {
    case OPT_CRASH_AFTER:
        if (!parse_seconds(arg, &opt->crash_after_ms))
            return usage_error("--crash-after needs a positive number of seconds", arg);
        return -1;
    case OPT_TOOLS_CHANGE_EVERY:
        if (!parse_seconds(arg, &opt->tools_change_ms))
            return usage_error("--tools-change-every needs a positive number of seconds", arg);
        return -1;
    case OPT_PAGE_SIZE:
        if (!parse_count(arg, &count))
            return usage_error("--page-size needs a whole number from 0 to 1000000", arg);
        opt->page_size = (size_t)count;
        return -1;
    case OPT_STDERR_LINES:
        if (!parse_count(arg, &opt->stderr_lines))
            return usage_error("--stderr-lines needs a whole number from 0 to 1000000", arg);
        return -1;
    case OPT_NAME:
        if (arg[0] == '\0')
            return usage_error("--name needs a non-empty name", "''");
        opt->name = arg;
        return -1;
    case OPT_FAIL_HANDSHAKE:
        opt->fail_handshake = true;
        return -1;
    case OPT_HELP:
        usage(stdout);
        return 0;
    }
    return usage_error("internal error: unhandled flag", "?");
}

/* Fills opt from argv. Returns -1 to run the server, or an exit status. */
static int parse_options(int argc, char **argv, struct demo_options *opt)
{
    /* "+" stops at the first non-flag, which we then refuse; ":" makes a
     * missing value come back as ':' so we can word the error ourselves. */
    opterr = 0;
    int code;
    while ((code = getopt_long(argc, argv, "+:h", long_options, NULL)) != -1) {
        if (code == 'h')
            code = OPT_HELP;
        if (code == '?' && optopt > 0 && optopt < 256) {
            char flag[3] = {'-', (char)optopt, '\0'};
            return usage_error("unknown flag", flag);
        }
        if (code == '?')
            return usage_error("unknown flag", argv[optind - 1]);
        if (code == ':')
            return usage_error("this flag needs a value", argv[optind - 1]);
        int status = apply_option(code, optarg, opt);
        if (status >= 0)
            return status;
    }
    if (optind < argc)
        return usage_error("unexpected argument", argv[optind]);
    return -1;
}

int main(int argc, char **argv)
{
    struct demo_server srv = {.opt = {.name = PROGRAM}};
    int status = parse_options(argc, argv, &srv.opt);
    if (status >= 0)
        return status;
    /* Lets a test check that whoever started us captures our stderr. */
    for (long i = 1; i <= srv.opt.stderr_lines; i++)
        server_log(&srv, "stderr line %ld of %ld", i, srv.opt.stderr_lines);
    return server_run(&srv);
}
