/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ctl_proto.c - control socket framing and request checking. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"

/* Argument schema: name and jansson type of every member a command takes. */
struct ctl_arg {
	const char *name;
	json_type type;
};

#define CTL_MAX_ARGS 8

static const struct {
	const char *name;
	struct ctl_arg args[CTL_MAX_ARGS];
} cmds[CTL_CMD_COUNT] = {
	[CTL_STATUS] = { "status", { { NULL, 0 } } },
	[CTL_SERVICES] = { "services", { { NULL, 0 } } },
	[CTL_LOG] = { "log", { { "group", JSON_STRING },
	    { "since", JSON_INTEGER }, { "limit", JSON_INTEGER }, { NULL, 0 } } },
	[CTL_LOG_CLEAR] = { "log.clear", { { NULL, 0 } } },
	[CTL_POLICY_SHOW] = { "policy.show", { { NULL, 0 } } },
	[CTL_POLICY_DIFF] = { "policy.diff", { { "name", JSON_STRING },
	    { "content", JSON_STRING }, { "basedir", JSON_STRING }, { NULL, 0 } } },
	[CTL_POLICY_APPLY] = { "policy.apply", { { "name", JSON_STRING },
	    { "content", JSON_STRING }, { "basedir", JSON_STRING },
	    { "confirm_within", JSON_INTEGER },
	    { "ssh_connection", JSON_STRING }, { "force", JSON_INTEGER },
	    { NULL, 0 } } },
	[CTL_POLICY_HISTORY] = { "policy.history", { { NULL, 0 } } },
	[CTL_POLICY_ROLLBACK] = { "policy.rollback", { { "version", JSON_INTEGER },
	    { NULL, 0 } } },
	[CTL_POLICY_CONFIRM] = { "policy.confirm", { { NULL, 0 } } },
	[CTL_RELOAD] = { "reload", { { NULL, 0 } } },
	[CTL_FIREWALL_SHOW] = { "firewall.show", { { NULL, 0 } } },
	[CTL_FIREWALL_FLUSH] = { "firewall.flush", { { NULL, 0 } } },
	[CTL_FIREWALL_BAN] = { "firewall.ban", { { "address", JSON_STRING },
	    { "seconds", JSON_INTEGER }, { "reason", JSON_STRING }, { NULL, 0 } } },
	[CTL_FIREWALL_UNBAN] = { "firewall.unban", { { "address", JSON_STRING },
	    { NULL, 0 } } },
	[CTL_FIREWALL_BANS] = { "firewall.bans", { { NULL, 0 } } },
	[CTL_MODBUS_STATS] = { "modbus.stats", { { NULL, 0 } } },
	[CTL_MODBUS_CAPTURE] = { "modbus.capture", { { "channel", JSON_STRING },
	    { "after", JSON_INTEGER }, { "max", JSON_INTEGER }, { NULL, 0 } } },
	[CTL_TAGS] = { "tags", { { NULL, 0 } } },
	[CTL_MODBUS_RULES_TEST] = { "modbus.rules.test", { { "from", JSON_STRING },
	    { "port", JSON_INTEGER }, { "unit", JSON_INTEGER },
	    { "pdu", JSON_STRING }, { NULL, 0 } } },
	[CTL_DEBUG_MONITOR_HASH] = { "debug.monitor-hash", { { NULL, 0 } } },
	[CTL_DEBUG_MONITOR_KEYGEN] = { "debug.monitor-keygen", { { NULL, 0 } } },
	[CTL_ACCOUNT_ADD] = { "account.add", { { "name", JSON_STRING },
	    { "level", JSON_STRING }, { "password", JSON_STRING },
	    { "temporary", JSON_INTEGER }, { NULL, 0 } } },
	[CTL_ACCOUNTS] = { "account.list", { { NULL, 0 } } },
	[CTL_ACCOUNT_REMOVE] = { "account.remove", { { "name", JSON_STRING },
	    { NULL, 0 } } },
	[CTL_ACCOUNT_PASSWORD] = { "account.password", { { "name", JSON_STRING },
	    { "password", JSON_STRING }, { NULL, 0 } } },
	[CTL_CERT_SHOW] = { "cert.show", { { NULL, 0 } } },
	[CTL_CERT_IMPORT] = { "cert.import", { { "certificate", JSON_STRING },
	    { "key", JSON_STRING }, { "chain", JSON_STRING }, { NULL, 0 } } },
	[CTL_CERT_CSR] = { "cert.csr", { { "common_name", JSON_STRING },
	    { "names", JSON_ARRAY }, { NULL, 0 } } },
	[CTL_CERT_GENERATE] = { "cert.generate", { { NULL, 0 } } },
	[CTL_DEBUG_CLOCK] = { "debug.clock", { { "advance", JSON_INTEGER },
	    { NULL, 0 } } },
	[CTL_RESTART] = { "restart", { { NULL, 0 } } },
};

const char *
ctl_cmd_name(enum ctl_cmd cmd)
{
	if ((unsigned)cmd >= CTL_CMD_COUNT)
		return "?";
	return cmds[cmd].name;
}

int
ctl_frame_header(const uint8_t hdr[4], size_t max, size_t *payload_len)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];

	if (n == 0 || n > max)
		return -1;
	*payload_len = n;
	return 0;
}

int
ctl_frame_peek(const uint8_t *buf, size_t len, size_t max, size_t *payload_len)
{
	size_t n;

	if (len < 4)
		return 0;
	if (ctl_frame_header(buf, max, &n) < 0)
		return -1;
	if (len - 4 < n)
		return 0;
	*payload_len = n;
	return 1;
}

uint8_t *
ctl_frame_encode(const json_t *obj, size_t *len)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
	size_t n;
	uint8_t *f;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n > CTL_MAX_REPLY || (f = malloc(n + 4)) == NULL) {
		free(s);
		return NULL;
	}
	f[0] = (uint8_t)(n >> 24);
	f[1] = (uint8_t)(n >> 16);
	f[2] = (uint8_t)(n >> 8);
	f[3] = (uint8_t)n;
	memcpy(f + 4, s, n);
	free(s);
	*len = n + 4;
	return f;
}

static const char *
type_name(json_type t)
{
	switch (t) {
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "a value";
	}
}

int
ctl_request_parse(const char *payload, size_t len, struct ctl_request *req,
    char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *cmd, *args, *v;
	const char *key, *name;
	int i;

	root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "request is not valid JSON: %s at byte %d",
		    jerr.text, jerr.position);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "request is not a JSON object");
		goto fail;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "cmd") != 0 && strcmp(key, "args") != 0) {
			snprintf(err, errlen, "request: unknown member \"%.64s\"", key);
			goto fail;
		}
	}
	cmd = json_object_get(root, "cmd");
	if (!json_is_string(cmd)) {
		snprintf(err, errlen, "request: \"cmd\" must be a string");
		goto fail;
	}
	name = json_string_value(cmd);
	for (i = 0; i < CTL_CMD_COUNT; i++)
		if (strcmp(cmds[i].name, name) == 0)
			break;
	if (i == CTL_CMD_COUNT) {
		snprintf(err, errlen, "unknown command \"%.64s\"", name);
		goto fail;
	}
	args = json_object_get(root, "args");
	if (args == NULL)
		args = json_object();
	else if (!json_is_object(args)) {
		snprintf(err, errlen, "%s: \"args\" must be an object", cmds[i].name);
		goto fail;
	} else
		json_incref(args);
	json_object_foreach(args, key, v) {
		const struct ctl_arg *a;

		for (a = cmds[i].args; a->name != NULL; a++)
			if (strcmp(a->name, key) == 0)
				break;
		if (a->name == NULL) {
			snprintf(err, errlen, "%s: unknown argument \"%.64s\"",
			    cmds[i].name, key);
			json_decref(args);
			goto fail;
		}
		if (json_typeof(v) != a->type) {
			snprintf(err, errlen, "%s: argument \"%s\" must be %s",
			    cmds[i].name, a->name, type_name(a->type));
			json_decref(args);
			goto fail;
		}
	}
	json_decref(root);
	req->cmd = (enum ctl_cmd)i;
	req->args = args;
	return 0;
fail:
	json_decref(root);
	return -1;
}

void
ctl_request_clear(struct ctl_request *req)
{
	json_decref(req->args);
	req->args = NULL;
}

json_t *
ctl_reply_ok(json_t *result)
{
	json_t *r = json_object();

	json_object_set_new(r, "ok", json_true());
	if (result != NULL)
		json_object_set_new(r, "result", result);
	return r;
}

json_t *
ctl_reply_error(int code, const char *fmt, ...)
{
	char msg[2048];
	json_t *r = json_object();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(r, "ok", json_false());
	json_object_set_new(r, "error", json_string(msg));
	json_object_set_new(r, "code", json_integer(code));
	return r;
}
