/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test_fsutil.c - atomic replacement and bounded reads. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"

static char dir[] = "/tmp/sluice-fsutil.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "%s/f", dir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/big", dir);
	unlink(cmd);
	return rmdir(dir);
}

static void
test_write_read(void **state)
{
	char path[128], *buf = NULL;
	struct stat st;
	size_t len = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(fsutil_write_atomic(path, "one", 3, 0640, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(fsutil_write_atomic(path, "two!", 4, 0600, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(fsutil_read_file(path, 100, &buf, &len), 0);
	assert_int_equal(len, 4);
	assert_string_equal(buf, "two!");
	free(buf);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Too big for the bound: refused, outputs untouched. */
	buf = (char *)0x1;
	assert_int_equal(fsutil_read_file(path, 3, &buf, &len), -1);
	assert_int_equal(errno, EFBIG);
	assert_ptr_equal(buf, (char *)0x1);
	/* Missing directory: fails cleanly. */
	assert_int_equal(fsutil_write_atomic("/nonexistent-dir/x", "a", 1, 0600,
	    (uid_t)-1, (gid_t)-1), -1);
}

static void
test_large_sparse_refused_fast(void **state)
{
	char path[128], *buf;
	size_t len;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/big", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 100 << 20), 0);
	close(fd);
	assert_int_equal(fsutil_read_file(path, 1 << 20, &buf, &len), -1);
	assert_int_equal(errno, EFBIG);
}

static void
test_clean_temps(void **state)
{
	char path[128], tmp[160];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(tmp, sizeof(tmp), "%s/f.tmp.abc123", dir);
	fd = open(tmp, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	fsutil_clean_temps(path);
	assert_int_equal(access(tmp, F_OK), -1);
}

static void
test_dirname(void **state)
{
	char out[64];

	(void)state;
	fsutil_dirname("/etc/sluice/sluice.yaml", out, sizeof(out));
	assert_string_equal(out, "/etc/sluice");
	fsutil_dirname("sluice.yaml", out, sizeof(out));
	assert_string_equal(out, ".");
	fsutil_dirname("/x", out, sizeof(out));
	assert_string_equal(out, "/");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_large_sparse_refused_fast),
		cmocka_unit_test(test_clean_temps),
		cmocka_unit_test(test_dirname),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
