/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bans.c - the ban list, see bans.h. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bans.h"
#include "fsutil.h"
#include "fw_eval.h"
#include "log.h"
#include "policy.h"

struct ban {
	uint8_t family;
	uint8_t addr[16];
	time_t expires;
	char reason[64];
};

struct bans {
	char path[PATH_MAX];
	size_t n, cap;
	struct ban *v;
};

int
bans_parse_addr(const char *text, uint8_t *family, uint8_t addr[16],
    char *err, size_t errlen)
{
	uint8_t a[16] = { 0 };

	if (inet_pton(AF_INET, text, a) == 1) {
		*family = 4;
	} else if (inet_pton(AF_INET6, text, a) == 1) {
		*family = 6;
	} else {
		snprintf(err, errlen, "\"%.64s\" is not an IPv4 or IPv6 address",
		    text);
		return -1;
	}
	memcpy(addr, a, 16);
	return 0;
}

int
bans_is_management(const struct policy *p, uint8_t family,
    const uint8_t addr[16])
{
	size_t i;

	for (i = 0; i < p->firewall.n_management; i++) {
		const struct policy_acl_entry *m = &p->firewall.management[i];

		if ((m->family == AF_INET) == (family == 4) &&
		    fw_prefix_has(m->addr, m->prefix, addr))
			return 1;
	}
	return 0;
}

static void
prune(struct bans *b, time_t now)
{
	size_t i, o = 0;

	for (i = 0; i < b->n; i++)
		if (b->v[i].expires > now)
			b->v[o++] = b->v[i];
	b->n = o;
}

static struct ban *
find(struct bans *b, uint8_t family, const uint8_t addr[16])
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->v[i].family == family &&
		    memcmp(b->v[i].addr, addr, 16) == 0)
			return &b->v[i];
	return NULL;
}

static void
save(struct bans *b, time_t now)
{
	json_t *a = bans_json(b, now);
	char *text = json_dumps(a, JSON_INDENT(1));

	json_decref(a);
	if (text == NULL)
		return;
	/*
	 * On the loop, so no fsync: the kernel holds the bans anyway, and a
	 * power failure at worst forgets the newest when sluiced restarts.
	 */
	if (fsutil_replace(b->path, text, strlen(text), 0640) < 0)
		log_warn("%s: %s: the ban list is not kept across a restart",
		    b->path, strerror(errno));
	free(text);
}

static int add_entry(struct bans *, uint8_t, const uint8_t[16], uint32_t,
    const char *, time_t);

struct bans *
bans_new(const char *state_dir)
{
	struct bans *b = calloc(1, sizeof(*b));
	json_error_t jerr;
	json_t *a, *o;
	time_t now = time(NULL);
	size_t i;

	if (b == NULL)
		return NULL;
	snprintf(b->path, sizeof(b->path), "%s/" BANS_FILE, state_dir);
	a = json_load_file(b->path, JSON_REJECT_DUPLICATES, &jerr);
	if (a == NULL)
		return b;       /* none yet, or unreadable: start empty */
	json_array_foreach(a, i, o) {
		const char *addr = json_string_value(json_object_get(o, "address"));
		json_int_t exp = json_integer_value(json_object_get(o, "expires"));
		const char *why = json_string_value(json_object_get(o, "reason"));
		uint8_t fam, ad[16];
		char err[128];

		if (addr == NULL || exp <= now || exp - now > FW_MAX_BAN_SECONDS ||
		    bans_parse_addr(addr, &fam, ad, err, sizeof(err)) < 0)
			continue;
		(void)add_entry(b, fam, ad, (uint32_t)(exp - now), why ? why : "",
		    now);
	}
	json_decref(a);
	return b;
}

void
bans_free(struct bans *b)
{
	if (b == NULL)
		return;
	free(b->v);
	free(b);
}

static int
add_entry(struct bans *b, uint8_t family, const uint8_t addr[16],
    uint32_t seconds, const char *reason, time_t now)
{
	struct ban *x;

	if (seconds == 0 || seconds > FW_MAX_BAN_SECONDS ||
	    (family != 4 && family != 6)) {
		errno = EINVAL;
		return -1;
	}
	prune(b, now);
	x = find(b, family, addr);
	if (x == NULL) {
		if (b->n >= BANS_MAX) {
			errno = ENOSPC;
			return -1;
		}
		if (b->n == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 16;
			struct ban *v = realloc(b->v, cap * sizeof(*v));

			if (v == NULL)
				return -1;
			b->v = v;
			b->cap = cap;
		}
		x = &b->v[b->n++];
		memset(x, 0, sizeof(*x));
		x->family = family;
		memcpy(x->addr, addr, 16);
	}
	x->expires = now + (time_t)seconds;
	snprintf(x->reason, sizeof(x->reason), "%s", reason);
	return 0;
}

int
bans_add(struct bans *b, uint8_t family, const uint8_t addr[16],
    uint32_t seconds, const char *reason, time_t now)
{
	if (add_entry(b, family, addr, seconds, reason, now) < 0)
		return -1;
	save(b, now);
	return 0;
}

int
bans_remove(struct bans *b, uint8_t family, const uint8_t addr[16], time_t now)
{
	struct ban *x;

	prune(b, now);
	x = find(b, family, addr);
	if (x == NULL) {
		errno = ENOENT;
		return -1;
	}
	*x = b->v[--b->n];
	save(b, now);
	return 0;
}

int
bans_export(struct bans *b, time_t now, struct fw_ban **out, size_t *n)
{
	struct fw_ban *v;
	size_t i;

	prune(b, now);
	v = calloc(b->n ? b->n : 1, sizeof(*v));
	if (v == NULL)
		return -1;
	for (i = 0; i < b->n; i++) {
		v[i].family = b->v[i].family;
		v[i].seconds = (uint32_t)(b->v[i].expires - now);
		memcpy(v[i].addr, b->v[i].addr, 16);
	}
	*out = v;
	*n = b->n;
	return 0;
}

json_t *
bans_json(struct bans *b, time_t now)
{
	json_t *a = json_array();
	size_t i;

	prune(b, now);
	for (i = 0; i < b->n; i++) {
		char text[INET6_ADDRSTRLEN];

		inet_ntop(b->v[i].family == 4 ? AF_INET : AF_INET6, b->v[i].addr,
		    text, sizeof(text));
		json_array_append_new(a, json_pack("{s:s, s:I, s:I, s:s}",
		    "address", text, "expires", (json_int_t)b->v[i].expires,
		    "remaining", (json_int_t)(b->v[i].expires - now),
		    "reason", b->v[i].reason));
	}
	return a;
}
