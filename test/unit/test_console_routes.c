/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_console_routes.c - the console's role table (console_routes[] in
 * src/console_api.c) against its description, www/api/openapi.yaml, and
 * the route lookup the transport uses.
 *
 * The description is read with the policy's own YAML reader
 * (policy_yaml_to_json: generic YAML to JSON), so the test needs nothing
 * beyond the core library.  Both directions are checked: every route is
 * documented with the same method and role, and every documented
 * operation exists (no stale documentation).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/http.h>
#include <jansson.h>

#include "console_int.h"
#include "fsutil.h"
#include "policy.h"
#include "policy_json.h"

#define OPENAPI_FILE TEST_SRCDIR "/../www/api/openapi.yaml"

static json_t *doc;

static const struct {
	int method;
	const char *name;       /* OpenAPI's operation key */
} methods[] = {
	{ EVHTTP_REQ_GET, "get" },
	{ EVHTTP_REQ_POST, "post" },
	{ EVHTTP_REQ_PUT, "put" },
	{ EVHTTP_REQ_DELETE, "delete" },
	{ EVHTTP_REQ_PATCH, "patch" },
};

/* Operation keys OpenAPI 3.0 allows in a path item (section 4.7.9). */
static const char *const op_keys[] = {
	"get", "put", "post", "delete", "options", "head", "patch", "trace",
};

/* The name each "{}" of a pattern has in the description, by the
 * segment before it: a new parameterised route must be added here. */
static const struct {
	const char *prefix, *param;
} params[] = {
	{ "/api/v1/accounts/", "name" },
	{ "/api/v1/sessions/", "id" },
	{ "/api/v1/tokens/", "id" },
	{ "/api/v1/services/", "service" },
};

static const char *
method_name(int method)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].method == method)
			return methods[i].name;
	return NULL;
}

static int
method_of(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, name) == 0)
			return methods[i].method;
	return -1;
}

static const char *
need_name(enum console_need need)
{
	switch (need) {
	case CONSOLE_PUBLIC:
		return "public";
	case CONSOLE_SIGNED_IN:
		return "signed-in";
	case CONSOLE_USER:
		return "user";
	case CONSOLE_ADMIN:
		return "admin";
	}
	return "?";
}

/* The description's path of a pattern ("{}" named), or -1. */
static int
doc_path(const char *pattern, char *out, size_t n, const char **param)
{
	const char *brace = strstr(pattern, "{}");
	size_t i, pre;

	*param = NULL;
	if (brace == NULL) {
		snprintf(out, n, "%s", pattern);
		return 0;
	}
	pre = (size_t)(brace - pattern);
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (strlen(params[i].prefix) == pre &&
		    strncmp(params[i].prefix, pattern, pre) == 0) {
			*param = params[i].param;
			snprintf(out, n, "%.*s{%s}%s", (int)pre, pattern,
			    params[i].param, brace + 2);
			return 0;
		}
	return -1;
}

/* The pattern of a description's path: every "{...}" becomes "{}". */
static void
pattern_of(const char *path, char *out, size_t n)
{
	size_t o = 0;

	while (*path != '\0' && o + 1 < n) {
		if (*path == '{') {
			const char *e = strchr(path, '}');

			if (e != NULL && o + 2 < n) {
				out[o++] = '{';
				out[o++] = '}';
				path = e + 1;
				continue;
			}
		}
		out[o++] = *path++;
	}
	out[o] = '\0';
}

/* "#/components/parameters/X" -> that object (a borrowed reference). */
static json_t *
deref(json_t *v)
{
	const char *ref = json_string_value(json_object_get(v, "$ref"));
	char copy[256], *save = NULL, *tok;
	json_t *at = doc;

	if (ref == NULL)
		return v;
	if (strncmp(ref, "#/", 2) != 0 || strlen(ref) >= sizeof(copy))
		return NULL;
	snprintf(copy, sizeof(copy), "%s", ref + 2);
	for (tok = strtok_r(copy, "/", &save); tok != NULL && at != NULL;
	    tok = strtok_r(NULL, "/", &save))
		at = json_object_get(at, tok);
	return at;
}

static const struct console_route *
route_of(int method, const char *pattern)
{
	size_t i;

	for (i = 0; i < console_n_routes; i++)
		if (console_routes[i].method == method &&
		    strcmp(console_routes[i].pattern, pattern) == 0)
			return &console_routes[i];
	return NULL;
}

static int
setup_doc(void **state)
{
	char *text, err[256];
	size_t len;

	(void)state;
	if (fsutil_read_file(OPENAPI_FILE, POLICY_JSON_MAX_INPUT, &text,
	    &len) < 0) {
		fprintf(stderr, "reading %s failed\n", OPENAPI_FILE);
		return -1;
	}
	doc = policy_yaml_to_json(text, len, err, sizeof(err));
	free(text);
	if (doc == NULL) {
		fprintf(stderr, "%s: %s\n", OPENAPI_FILE, err);
		return -1;
	}
	return 0;
}

static int
teardown_doc(void **state)
{
	(void)state;
	json_decref(doc);
	doc = NULL;
	return 0;
}

static void
test_doc_shape(void **state)
{
	(void)state;
	assert_string_equal(json_string_value(json_object_get(doc,
	    "openapi")), "3.0.3");
	assert_true(json_is_object(json_object_get(doc, "paths")));
	assert_true(json_is_object(json_object_get(json_object_get(doc,
	    "components"), "securitySchemes")));
	assert_true(console_n_routes > 0);
}

/* Every route: documented with its method and role. */
static void
test_routes_documented(void **state)
{
	json_t *paths = json_object_get(doc, "paths");
	size_t i;

	(void)state;
	for (i = 0; i < console_n_routes; i++) {
		const struct console_route *rt = &console_routes[i];
		const char *m = method_name(rt->method), *param, *role;
		char path[256];
		json_t *item, *op;

		assert_non_null(m);
		if (doc_path(rt->pattern, path, sizeof(path), &param) < 0)
			fail_msg("%s: no parameter name for this \"{}\" in "
			    "the test's params[]", rt->pattern);
		item = json_object_get(paths, path);
		if (item == NULL)
			fail_msg("%s is not in openapi.yaml", path);
		op = json_object_get(item, m);
		if (op == NULL)
			fail_msg("%s %s is not in openapi.yaml", m, path);
		role = json_string_value(json_object_get(op, "x-sluice-role"));
		if (role == NULL || strcmp(role, need_name(rt->need)) != 0)
			fail_msg("%s %s: x-sluice-role is %s, the table says "
			    "%s", m, path, role != NULL ? role : "missing",
			    need_name(rt->need));
		if (!json_is_string(json_object_get(op, "operationId")))
			fail_msg("%s %s: no operationId", m, path);
		if (param != NULL) {
			/* The path item or the operation declares it. */
			json_t *lists[2] = { json_object_get(item,
			    "parameters"), json_object_get(op, "parameters") };
			bool found = false;
			size_t k, j;
			json_t *p;

			for (k = 0; k < 2; k++)
				json_array_foreach(lists[k], j, p) {
					json_t *d = deref(p);

					if (d != NULL && json_is_true(
					    json_object_get(d, "required")) &&
					    strcmp(json_string_value(
					    json_object_get(d, "in")) ?: "",
					    "path") == 0 && strcmp(
					    json_string_value(json_object_get(d,
					    "name")) ?: "", param) == 0)
						found = true;
				}
			if (!found)
				fail_msg("%s %s: path parameter \"%s\" not "
				    "declared", m, path, param);
		}
	}
}

/* Every documented operation: in the table (no stale documentation). */
static void
test_doc_in_table(void **state)
{
	json_t *paths = json_object_get(doc, "paths"), *item;
	const char *path;
	size_t n = 0, k;

	(void)state;
	json_object_foreach(paths, path, item) {
		char pattern[256];

		pattern_of(path, pattern, sizeof(pattern));
		for (k = 0; k < sizeof(op_keys) / sizeof(op_keys[0]); k++) {
			json_t *op = json_object_get(item, op_keys[k]);
			int m = method_of(op_keys[k]);

			if (op == NULL)
				continue;
			n++;
			if (m < 0 || route_of(m, pattern) == NULL)
				fail_msg("openapi.yaml documents %s %s, which "
				    "the role table does not have", op_keys[k],
				    path);
		}
	}
	/* With the other direction: the same set. */
	assert_int_equal(n, console_n_routes);
}

/* The security requirements say what the role says. */
static void
test_security_matches_role(void **state)
{
	json_t *paths = json_object_get(doc, "paths");
	size_t i;

	(void)state;
	for (i = 0; i < console_n_routes; i++) {
		const struct console_route *rt = &console_routes[i];
		const char *m = method_name(rt->method), *param;
		char path[256];
		json_t *sec, *req;
		bool cookie = false, csrf_always = true;
		size_t j;

		assert_int_equal(doc_path(rt->pattern, path, sizeof(path),
		    &param), 0);
		sec = json_object_get(json_object_get(json_object_get(paths,
		    path), m), "security");
		if (!json_is_array(sec))
			fail_msg("%s %s: no security list", m, path);
		if (rt->need == CONSOLE_PUBLIC) {
			if (json_array_size(sec) != 0)
				fail_msg("%s %s: public, yet security is not "
				    "[]", m, path);
			continue;
		}
		if (json_array_size(sec) == 0)
			fail_msg("%s %s: needs credentials, security is []",
			    m, path);
		json_array_foreach(sec, j, req) {
			if (json_object_get(req, "sessionCookie") != NULL) {
				cookie = true;
				if (json_object_get(req, "csrfToken") == NULL)
					csrf_always = false;
			}
			if (json_object_size(req) == 0)
				fail_msg("%s %s: an empty requirement makes "
				    "it public", m, path);
		}
		if (!cookie)
			fail_msg("%s %s: no sessionCookie", m, path);
		if (rt->method != EVHTTP_REQ_GET && !csrf_always)
			fail_msg("%s %s: a session needs csrfToken too", m,
			    path);
	}
}

static void
test_no_duplicates(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < console_n_routes; i++)
		for (j = i + 1; j < console_n_routes; j++)
			if (console_routes[i].method ==
			    console_routes[j].method &&
			    strcmp(console_routes[i].pattern,
			    console_routes[j].pattern) == 0)
				fail_msg("%s %s twice in the table",
				    method_name(console_routes[i].method),
				    console_routes[i].pattern);
}

/* The pattern with "{}" replaced by arg. */
static void
sample_path(const char *pattern, const char *arg, char *out, size_t n)
{
	const char *brace = strstr(pattern, "{}");

	if (brace == NULL)
		snprintf(out, n, "%s", pattern);
	else
		snprintf(out, n, "%.*s%s%s", (int)(brace - pattern), pattern,
		    arg, brace + 2);
}

static void
test_find_each(void **state)
{
	static const char *const args[] = {
		"alice", "0123456789abcdef", "modbus-tcp", "a.b_c-d", "x",
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < console_n_routes; i++)
		for (k = 0; k < sizeof(args) / sizeof(args[0]); k++) {
			const struct console_route *rt = &console_routes[i];
			char path[256], arg[128] = "untouched";
			bool known = false;
			const struct console_route *got;

			sample_path(rt->pattern, args[k], path, sizeof(path));
			got = console_route_find(rt->method, path, arg,
			    sizeof(arg), &known);
			if (got != rt)
				fail_msg("%s %s: found %s", method_name(
				    rt->method), path, got == NULL ? "nothing" :
				    got->pattern);
			assert_true(known);
			if (strstr(rt->pattern, "{}") != NULL)
				assert_string_equal(arg, args[k]);
		}
}

/* A path that exists, with a method it does not have: NULL, known. */
static void
test_find_wrong_method(void **state)
{
	size_t i, k, tried = 0;

	(void)state;
	for (i = 0; i < console_n_routes; i++) {
		const struct console_route *rt = &console_routes[i];
		char path[256], arg[128];

		sample_path(rt->pattern, "alice", path, sizeof(path));
		for (k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
			bool known = false;

			if (route_of(methods[k].method, rt->pattern) != NULL)
				continue;
			assert_null(console_route_find(methods[k].method,
			    path, arg, sizeof(arg), &known));
			assert_true(known);
			tried++;
		}
		/* Methods evhttp knows and no route has. */
		{
			bool known = false;

			assert_null(console_route_find(EVHTTP_REQ_OPTIONS,
			    path, arg, sizeof(arg), &known));
			assert_true(known);
		}
	}
	assert_true(tried > 0);
}

/* HEAD is answered as GET, and only where GET is. */
static void
test_find_head(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < console_n_routes; i++) {
		const struct console_route *rt = &console_routes[i];
		const struct console_route *get = route_of(EVHTTP_REQ_GET,
		    rt->pattern);
		char path[256], arg[128];
		bool known = false;

		sample_path(rt->pattern, "alice", path, sizeof(path));
		assert_ptr_equal(console_route_find(EVHTTP_REQ_HEAD, path,
		    arg, sizeof(arg), &known), get);
		assert_true(known);
	}
}

static void
test_find_unknown(void **state)
{
	static const char *const paths[] = {
		"/api/v1/accounts/a/b", "/api/v1/accountsx",
		"/api/v1/accounts/", "/api/v1/sessions/x/y",
		"/api/v1/tokens/", "/api/v1/services/https/",
		"/api/v1/login/", "/api/v1/loginx", "/api/v1", "/api/v1/",
		"/api/v2/login", "/API/v1/login", "/api/v1//login",
		"/api/v1/certificate/", "/api/v1/certificate/x",
		"/api/v1/policy/history/1", "/api/openapi.yaml", "/", "",
		"/index.html", "api/v1/login",
	};
	char longseg[300], path[400];
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		for (k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
			char arg[128] = "untouched";
			bool known = true;

			if (console_route_find(methods[k].method, paths[i],
			    arg, sizeof(arg), &known) != NULL)
				fail_msg("%s %s found", methods[k].name,
				    paths[i]);
			if (known)
				fail_msg("%s %s is known", methods[k].name,
				    paths[i]);
		}
	/* A segment longer than the caller's buffer: not a match, and
	 * the buffer holds no cut-off name. */
	memset(longseg, 'a', sizeof(longseg) - 1);
	longseg[sizeof(longseg) - 1] = '\0';
	snprintf(path, sizeof(path), "/api/v1/accounts/%s", longseg);
	{
		char arg[128];
		bool known = true;

		assert_null(console_route_find(EVHTTP_REQ_DELETE, path, arg,
		    sizeof(arg), &known));
		assert_false(known);
	}
	/* One byte less than the buffer still fits. */
	snprintf(path, sizeof(path), "/api/v1/accounts/%.127s", longseg);
	{
		char arg[128];
		bool known = false;

		assert_non_null(console_route_find(EVHTTP_REQ_DELETE, path,
		    arg, sizeof(arg), &known));
		assert_true(known);
		assert_int_equal(strlen(arg), 127);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_shape),
		cmocka_unit_test(test_routes_documented),
		cmocka_unit_test(test_doc_in_table),
		cmocka_unit_test(test_security_matches_role),
		cmocka_unit_test(test_no_duplicates),
		cmocka_unit_test(test_find_each),
		cmocka_unit_test(test_find_wrong_method),
		cmocka_unit_test(test_find_head),
		cmocka_unit_test(test_find_unknown),
	};

	return cmocka_run_group_tests(tests, setup_doc, teardown_doc);
}
