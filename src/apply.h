/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * apply.h - all-or-nothing application of a policy to the subsystems.
 *
 * Each subsystem is one row: a function that reconfigures it from the
 * old snapshot (NULL at start) to the new one and fails without having
 * changed anything.  apply_run() calls them in table order; when one
 * fails, the rows already applied are called again with (new, old), in
 * reverse order, so every subsystem ends up on the old snapshot.
 */
#ifndef SLUICE_APPLY_H
#define SLUICE_APPLY_H

#include <stddef.h>

struct policy;
struct policy_error;

struct apply_module {
	const char *name;
	int (*apply)(const struct policy *old, const struct policy *new,
	    struct policy_error *err);
};

/*
 * Returns 0, or -1 with err naming the module that refused and why
 * ("eventlog: ...").  A failure while reverting is logged: the module
 * is then in an unknown state, which the log says plainly.
 */
int apply_run(const struct apply_module *mods, size_t n,
    const struct policy *old, const struct policy *new,
    struct policy_error *err);

#endif
