/*
 * keelctl: command-line client for keel's QMP control socket
 * (Documentation/man/keelctl.1, Documentation/qmp.md): one-shot commands,
 * an interactive prompt with history, and an event follower.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/keelctl/client.h"
#include "tools/keelctl/format.h"

#define KEELCTL_MAX_WORDS	64
#define KEELCTL_HISTORY		500

static bool keelctl_json;

static void keelctl_usage(FILE *f)
{
	fprintf(f,
		"usage: keelctl [--json] SOCKET COMMAND [key=value ...]   run one command\n"
		"       keelctl [--json] SOCKET                           interactive prompt\n"
		"       keelctl [--json] SOCKET events                    follow events\n"
		"       keelctl [--json] SOCKET devices                   list the devices\n"
		"       keelctl [--json] SOCKET pci                       show the PCI tree\n"
		"\n"
		"key=value: true/false and integers are typed, the rest is a string;\n"
		"key:=JSON passes any JSON value. See keelctl(1).\n");
}

static void keelctl_print_event(json_t *ev, void *opaque)
{
	if (keelctl_json)
		format_json(stdout, ev);
	else
		format_event(stdout, ev);
}

/*
 * Words keelctl answers with a QMP command of its own and a printer for
 * people (--json prints the reply as it came).
 */
static const struct keelctl_view {
	const char *word, *command;
	void (*print)(FILE *f, json_t *v);
} keelctl_views[] = {
	{ "devices", "x-query-devices", format_devices },
	{ "pci", "query-pci", format_pci },
};

static const struct keelctl_view *keelctl_view_find(const char *word)
{
	size_t i;

	for (i = 0; i < sizeof(keelctl_views) / sizeof(keelctl_views[0]); i++)
		if (!strcmp(keelctl_views[i].word, word))
			return &keelctl_views[i];
	return NULL;
}

/* Print a reply; returns 0 for "return", 1 for "error". */
static int keelctl_print_reply(json_t *reply, const struct keelctl_view *view)
{
	json_t *err = json_object_get(reply, "error");

	if (keelctl_json) {
		format_json(stdout, reply);
		return err ? 1 : 0;
	}
	if (err) {
		fprintf(stderr, "error: %s (%s)\n",
			json_string_value(json_object_get(err, "desc")) ?: "?",
			json_string_value(json_object_get(err, "class")) ?: "?");
		return 1;
	}
	if (view)
		view->print(stdout, json_object_get(reply, "return"));
	else
		format_value(stdout, json_object_get(reply, "return"));
	fflush(stdout);
	return 0;
}

/*
 * Run COMMAND [key=value ...]; 0 ok, 1 error reply or lost connection, 2 bad words.
 * Events that arrive before the reply are shown at the prompt, not in one-shot use.
 */
static int keelctl_run(struct client *cl, int argc, char *const argv[], bool show_events)
{
	const struct keelctl_view *view = keelctl_view_find(argv[0]);
	json_t *args, *reply;
	int ret;

	if (view && argc > 1) {
		fprintf(stderr, "keelctl: '%s' takes no arguments (got '%s')\n", argv[0],
			argv[1]);
		return 2;
	}
	args = format_args(argc - 1, argv + 1);
	if (!args)
		return 2;
	if (!json_object_size(args)) {
		json_decref(args);
		args = NULL;
	}
	reply = client_execute(cl, view ? view->command : argv[0], args, show_events ? keelctl_print_event : NULL,
			       NULL);
	if (!reply) {
		fprintf(stderr, "keelctl: the connection closed before the reply\n");
		return 1;
	}
	ret = keelctl_print_reply(reply, view);
	json_decref(reply);
	return ret;
}

static int keelctl_events(struct client *cl)
{
	json_t *msg;

	while ((msg = client_recv(cl, -1))) {
		if (json_object_get(msg, "event"))
			keelctl_print_event(msg, NULL);
		json_decref(msg);
	}
	return 0;
}

/* Split a line into words; '...' and "..." quote (no escapes). */
static int keelctl_split(char *line, char *words[], int max)
{
	int n = 0;
	char *p = line, *out;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (n == max)
			return -E2BIG;
		words[n++] = out = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			if (*p == '\'' || *p == '"') {
				char q = *p++;

				while (*p && *p != q)
					*out++ = *p++;
				if (!*p)
					return -EINVAL;
				p++;
			} else {
				*out++ = *p++;
			}
		}
		if (*p)
			p++;
		*out = '\0';
	}
	return n;
}

struct keelctl_history {
	char *line[KEELCTL_HISTORY];
	unsigned int n;		/* lines ever added; the last KEELCTL_HISTORY are kept */
};

static const char *keelctl_history_get(const struct keelctl_history *h, unsigned int i)
{
	if (i < 1 || i > h->n || h->n - i >= KEELCTL_HISTORY)
		return NULL;
	return h->line[(i - 1) % KEELCTL_HISTORY];
}

static void keelctl_history_add(struct keelctl_history *h, const char *line)
{
	char **slot = &h->line[h->n % KEELCTL_HISTORY];

	free(*slot);
	*slot = strdup(line);
	h->n++;
}

static void keelctl_interactive_help(void)
{
	printf("COMMAND [key=value ...]  run a QMP command (try query-commands)\n"
	       "devices                  the devices with their bus and address\n"
	       "pci                      the PCI tree, bridges and what is behind them\n"
	       "history                  list earlier lines; !N or !! runs one again\n"
	       "exit                     leave keelctl (end of input does too)\n");
}

/* One line typed at the prompt. Returns false when keelctl should exit. */
static bool keelctl_line(struct client *cl, struct keelctl_history *h, char *line)
{
	char copy[4096], *words[KEELCTL_MAX_WORDS];
	const char *again = NULL;
	unsigned int i;
	int n;

	line[strcspn(line, "\r\n")] = '\0';
	if (!strcmp(line, "!!")) {
		again = keelctl_history_get(h, h->n);
	} else if (line[0] == '!') {
		char *end;
		unsigned long v = strtoul(line + 1, &end, 10);

		again = *end ? NULL : keelctl_history_get(h, (unsigned int)v);
		if (!again) {
			fprintf(stderr, "keelctl: no such history line '%s'\n", line);
			return true;
		}
	}
	if (again) {
		snprintf(copy, sizeof(copy), "%s", again);
		printf("%s\n", copy);
	} else {
		snprintf(copy, sizeof(copy), "%s", line);
	}
	line = copy;
	if (!line[strspn(line, " \t")])
		return true;
	keelctl_history_add(h, line);
	n = keelctl_split(line, words, KEELCTL_MAX_WORDS);
	if (n < 0) {
		fprintf(stderr, "keelctl: %s\n", n == -E2BIG ? "too many words" :
			"unbalanced quote");
		return true;
	}
	if (!strcmp(words[0], "exit"))
		return false;
	if (!strcmp(words[0], "help")) {
		keelctl_interactive_help();
		return true;
	}
	if (!strcmp(words[0], "history")) {
		for (i = h->n > KEELCTL_HISTORY ? h->n - KEELCTL_HISTORY + 1 : 1; i <= h->n; i++)
			printf("%5u  %s\n", i, keelctl_history_get(h, i));
		return true;
	}
	if (keelctl_run(cl, n, words, true) == 1 && cl->fd >= 0) {
		struct pollfd pfd = { .fd = cl->fd, .events = POLLIN };

		/* A lost connection ends the session; an error reply does not. */
		if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR)))
			return false;
	}
	return true;
}

static int keelctl_interactive(struct client *cl)
{
	struct keelctl_history h = { .n = 0 };
	bool tty = isatty(STDIN_FILENO);
	char line[4096];
	unsigned int i;
	int ret = 0;

	if (tty)
		printf("connected; 'help' for help, 'exit' or Ctrl-D to leave\n");
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = cl->fd, .events = POLLIN },
		};
		json_t *msg;

		if (tty) {
			fputs("(keel) ", stdout);
			fflush(stdout);
		}
		/* Events arrive while we wait for the next line. */
		for (;;) {
			/* Read along with the last reply, they are buffered already. */
			bool buffered = client_pending(cl);

			if (!buffered && poll(pfd, 2, -1) < 0 && errno != EINTR)
				goto out;
			if (!buffered && pfd[0].revents)
				break;
			if (buffered || pfd[1].revents) {
				msg = client_recv(cl, 0);
				if (!msg) {
					fprintf(stderr, "\nkeelctl: the connection closed\n");
					ret = 1;
					goto out;
				}
				if (json_object_get(msg, "event")) {
					if (tty)
						fputc('\n', stdout);
					keelctl_print_event(msg, NULL);
					if (tty) {
						fputs("(keel) ", stdout);
						fflush(stdout);
					}
				}
				json_decref(msg);
			}
		}
		if (!fgets(line, sizeof(line), stdin))
			break;
		if (!keelctl_line(cl, &h, line))
			break;
	}
out:
	for (i = 0; i < KEELCTL_HISTORY; i++)
		free(h.line[i]);
	return ret;
}

int main(int argc, char **argv)
{
	struct client cl;
	int i = 1, ret;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json")) {
			keelctl_json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			keelctl_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "keelctl: unknown option '%s'\n", argv[i]);
			keelctl_usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		keelctl_usage(stderr);
		return 2;
	}
	if (client_open(&cl, argv[i]))
		return 1;
	i++;
	if (i == argc)
		ret = keelctl_interactive(&cl);
	else if (!strcmp(argv[i], "events") && i + 1 == argc)
		ret = keelctl_events(&cl);
	else
		ret = keelctl_run(&cl, argc - i, argv + i, false);
	client_close(&cl);
	return ret;
}
