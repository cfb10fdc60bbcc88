/* SPDX-License-Identifier: GPL-3.0-or-later */
/* main.c - sluiced: command line, then the monitor. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "log.h"
#include "monitor.h"
#include "policy.h"

#define DEFAULT_POLICY SYSCONFDIR "/sluice/sluice.yaml"
#define DEFAULT_STATE  LOCALSTATEDIR "/lib/sluice"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sluiced [-c FILE] [-f] [--state-dir DIR] [-u USER] [--check] [-d] [-V]\n"
	    "  -c, --config FILE   policy file (default %s;\n"
	    "                      the embedded default when it does not exist)\n"
	    "  -f, --foreground    stay in the foreground and log to stderr\n"
	    "      --state-dir DIR state directory (default %s)\n"
	    "  -u, --user USER     user the engine runs as (default sluice)\n"
	    "      --check         validate the policy and exit (0 valid, 2 invalid)\n"
	    "  -d, --debug         debug logging\n"
	    "  -V, --version       print the version\n",
	    DEFAULT_POLICY, DEFAULT_STATE);
}

/* --check: the same loader the daemon uses, nothing else. */
static int
check_policy(const char *path, bool explicit_path)
{
	struct policy_error err = { "" };
	struct policy *p;
	size_t i;

	if (!explicit_path && access(path, F_OK) < 0) {
		p = policy_load_default(&err);
		path = "the embedded default";
	} else
		p = policy_load_file(path, &err);
	if (p == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return CTL_EXIT_INVALID_POLICY;
	}
	for (i = 0; i < p->n_warnings; i++)
		fprintf(stderr, "%s: warning: %s\n", p->source, p->warnings[i]);
	printf("%s: policy is valid\n", path);
	policy_free(p);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "user", required_argument, NULL, 'u' },
		{ "check", no_argument, NULL, 'C' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct monitor_config cfg = {
		.policy_path = DEFAULT_POLICY,
		.state_dir = DEFAULT_STATE,
		.user = "sluice",
	};
	bool foreground = false, check = false, explicit_path = false;
	int c;

	while ((c = getopt_long(argc, argv, "c:fu:dVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfg.policy_path = optarg;
			explicit_path = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'S':
			cfg.state_dir = optarg;
			break;
		case 'u':
			cfg.user = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'd':
			cfg.debug = true;
			break;
		case 'V':
			printf("sluiced %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "sluiced: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (check)
		return check_policy(cfg.policy_path, explicit_path);
	if (cfg.policy_path[0] != '/' || cfg.state_dir[0] != '/') {
		/* Paths must survive the daemon's chdir("/"). */
		char *p = realpath(cfg.state_dir, NULL);
		static char policy_abs[4096], state_abs[4096];

		if (cfg.state_dir[0] != '/') {
			if (p == NULL && getcwd(state_abs, sizeof(state_abs)) != NULL) {
				size_t l = strlen(state_abs);
				snprintf(state_abs + l, sizeof(state_abs) - l, "/%s",
				    cfg.state_dir);
			} else if (p != NULL)
				snprintf(state_abs, sizeof(state_abs), "%s", p);
			cfg.state_dir = state_abs;
		}
		free(p);
		if (cfg.policy_path[0] != '/' &&
		    getcwd(policy_abs, sizeof(policy_abs)) != NULL) {
			size_t l = strlen(policy_abs);
			snprintf(policy_abs + l, sizeof(policy_abs) - l, "/%s",
			    cfg.policy_path);
			cfg.policy_path = policy_abs;
		}
	}
	log_init("sluiced", foreground);
	if (cfg.debug)
		log_set_level(LOG_LEVEL_DEBUG);
	if (!foreground && daemon(0, 0) < 0) {
		log_error("daemon: %s", strerror(errno));
		return 1;
	}
	return monitor_run(&cfg);
}
