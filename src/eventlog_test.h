/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * eventlog_test.h - hooks for test/unit/test_eventlog.c only.  Daemon code
 * never includes this header.
 */
#ifndef SLUICE_EVENTLOG_TEST_H
#define SLUICE_EVENTLOG_TEST_H

#include <stdint.h>

/*
 * The local store's open fd, or -1.  A test dup2()s /dev/full over it to
 * make the next write fail with ENOSPC, as root cannot be stopped by a
 * read-only directory.
 */
int eventlog_test_store_fd(void);

/* Move the clock the store's retry and report limits read forward by ms. */
void eventlog_test_clock_advance(int64_t ms);

#endif
