/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bans.h - sources banned from the gateway, with an expiry.
 *
 * The engine keeps the list (and a copy in <state>/bans.json, so a
 * restart does not forget a ban); the kernel enforces it as elements of
 * the firewall's ban sets with per-element timeouts, so a ban also
 * expires in the kernel when sluiced is down.  Addresses listed in
 * firewall.management are never banned.
 */
#ifndef SLUICE_BANS_H
#define SLUICE_BANS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "fw.h"

#define BANS_MAX     FW_MAX_BANS
#define BANS_FILE    "bans.json"

struct policy;
struct bans;

/* Load <state_dir>/bans.json (absent = none; expired entries dropped). */
struct bans *bans_new(const char *state_dir);
void bans_free(struct bans *b);

/*
 * Parse text ("192.0.2.7", "2001:db8::1") into family (4 or 6) and addr.
 * Returns 0, or -1 with a message in err.
 */
int bans_parse_addr(const char *text, uint8_t *family, uint8_t addr[16],
    char *err, size_t errlen);

/* Is addr inside one of p's firewall.management networks? */
int bans_is_management(const struct policy *p, uint8_t family,
    const uint8_t addr[16]);

/*
 * Ban (or re-ban, extending) addr for seconds (1..FW_MAX_BAN_SECONDS)
 * from now, and save the list.  Returns 0, or -1 with errno (ENOSPC when
 * the list is full; a failed save is logged, the ban stands).
 */
int bans_add(struct bans *b, uint8_t family, const uint8_t addr[16],
    uint32_t seconds, const char *reason, time_t now);
/* Returns 0, or -1 with errno ENOENT when addr was not banned. */
int bans_remove(struct bans *b, uint8_t family, const uint8_t addr[16],
    time_t now);

/* The live bans as fw_ban records with their remaining seconds: a new
 * array in *out (caller frees), count in *n.  Returns 0 or -1 (ENOMEM). */
int bans_export(struct bans *b, time_t now, struct fw_ban **out, size_t *n);

/* The live bans as a JSON array of {address, expires, remaining, reason}. */
json_t *bans_json(struct bans *b, time_t now);

#endif
