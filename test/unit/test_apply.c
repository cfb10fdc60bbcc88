/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test_apply.c - all-or-nothing application across subsystems. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "apply.h"
#include "policy.h"

/* Each fake module remembers which policy it is on; "fail" refuses B. */
static const struct policy *on[3];
static char trace[128];
static const struct policy *refuse;

#define FAKE(n)								\
static int								\
fake##n(const struct policy *old, const struct policy *new,		\
    struct policy_error *err)						\
{									\
	(void)old;							\
	if (new == refuse && n == 2) {					\
		snprintf(err->msg, sizeof(err->msg), "no thanks");	\
		return -1;						\
	}								\
	on[n] = new;							\
	snprintf(trace + strlen(trace), sizeof(trace) - strlen(trace),	\
	    "%d", n);							\
	return 0;							\
}
FAKE(0)
FAKE(1)
FAKE(2)

static const struct apply_module mods[] = {
	{ "zero", fake0 }, { "one", fake1 }, { "two", fake2 },
};

static void
test_all_or_nothing(void **state)
{
	static struct policy a, b;
	struct policy_error err = { "" };

	(void)state;
	refuse = NULL;
	trace[0] = '\0';
	assert_int_equal(apply_run(mods, 3, NULL, &a, &err), 0);
	assert_string_equal(trace, "012");
	assert_ptr_equal(on[0], &a);
	assert_ptr_equal(on[2], &a);

	refuse = &b;
	trace[0] = '\0';
	assert_int_equal(apply_run(mods, 3, &a, &b, &err), -1);
	assert_string_equal(err.msg, "two: no thanks");
	/* 0 and 1 took b, then went back to a in reverse order. */
	assert_string_equal(trace, "0110");
	assert_ptr_equal(on[0], &a);
	assert_ptr_equal(on[1], &a);
	assert_ptr_equal(on[2], &a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_or_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
