/* SPDX-License-Identifier: GPL-3.0-or-later */
/* apply.c - apply a policy to every subsystem, or to none. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "log.h"
#include "policy.h"

int
apply_run(const struct apply_module *mods, size_t n, const struct policy *old,
    const struct policy *new, struct policy_error *err)
{
	struct policy_error e, rev;
	size_t i, j;

	for (i = 0; i < n; i++) {
		e.msg[0] = '\0';
		if (mods[i].apply(old, new, &e) == 0)
			continue;
		snprintf(err->msg, sizeof(err->msg), "%s: %s", mods[i].name,
		    e.msg[0] ? e.msg : "refused the policy");
		/* Only a started daemon has an old snapshot to go back to. */
		for (j = i; j-- > 0 && old != NULL;) {
			rev.msg[0] = '\0';
			if (mods[j].apply(new, old, &rev) < 0)
				log_error("%s: could not return to the previous "
				    "policy: %s; its state is now unknown",
				    mods[j].name, rev.msg);
		}
		return -1;
	}
	return 0;
}
