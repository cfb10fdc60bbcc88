/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fw_nl.h - send a firewall IR (fw.h) to the kernel with libnftnl.
 *
 * Only ever table inet sluice.  One apply is one nfnetlink batch, one
 * kernel transaction: NEWTABLE + DELTABLE + the whole table rebuilt, so
 * it replaces whatever was there atomically and re-applying is
 * idempotent; a rejected message rolls all of it back.  Set elements go
 * in messages of at most FW_NL_CHUNK elements (a single attribute has a
 * 16-bit length and the kernel acks a truncated list without error).
 *
 * The calling process needs CAP_NET_ADMIN in its network namespace for
 * every message (the kernel checks each one).  All calls block for at
 * most FW_NL_TIMEOUT_MS waiting for the kernel: run them in the monitor,
 * never on the engine's loop.
 */
#ifndef SLUICE_FW_NL_H
#define SLUICE_FW_NL_H

#include <stddef.h>
#include <stdint.h>

#include "fw.h"

#define FW_NL_CHUNK		1000	/* set elements per message */
#define FW_NL_TIMEOUT_MS	5000

struct fw_nl_stats {
	size_t batch_bytes;	/* the batch as sent */
	size_t messages;	/* netlink messages in it, BEGIN/END included */
	double build_ms;	/* IR -> batch bytes */
	double commit_ms;	/* send until the kernel answered */
};

/*
 * Replace table inet sluice with ir.  Returns 0, or -1 with errno and a
 * message in err naming the message the kernel refused.  stats may be
 * NULL.
 */
int fw_nl_apply(const struct fw_ir *ir, char *err, size_t errlen);
int fw_nl_apply_stats(const struct fw_ir *ir, struct fw_nl_stats *stats,
    char *err, size_t errlen);

/*
 * Like fw_nl_apply_stats(), but reporting never costs the firewall: when
 * the kernel refuses the table and ir has per-source accounting (an
 * older kernel may lack dynamic sets with counters), the accounting is
 * taken out of ir (fw_ir_strip_sources()) and the table sent again.
 * Returns 0 when either loaded; why then holds the first refusal if the
 * table loaded without the accounting, else "".  -1 with errno and err
 * as fw_nl_apply_stats() when neither did.
 */
int fw_nl_apply_soft(struct fw_ir *ir, struct fw_nl_stats *stats,
    char *why, size_t whylen, char *err, size_t errlen);

/* Remove table inet sluice (absent is fine).  Returns 0 or -1. */
int fw_nl_flush(char *err, size_t errlen);

/*
 * Read back: the elements of set `set` in table inet sluice, counting an
 * interval as one (its end marker is not counted), or the rules of its
 * input chain.  Return the count or -1 (ENOENT when there is no such
 * table or set).
 */
long fw_nl_count_elements(const char *set, char *err, size_t errlen);
long fw_nl_count_rules(char *err, size_t errlen);

/*
 * The packet counter of each rule of the input chain, in chain order
 * (the IR's order), FW_NL_NO_COUNTER for a rule without one; at most max
 * are stored.  Returns the number of rules, or -1.
 */
long fw_nl_rule_counters(uint64_t *pkts, size_t max, char *err,
    size_t errlen);

/*
 * The busiest sources of each drop target (fw_sources_top() with
 * FW_SRC_PER_TARGET), read with their counters from the sets drop_src4
 * and drop_src6; at most max go to out.  *flags gets FW_CTR_SOURCES when
 * the sets exist and FW_CTR_FULL4/6 when one is at FW_SRC_SET_SIZE.
 * Returns the number stored (0 when the table has no such sets), or -1.
 */
long fw_nl_drop_sources(struct fw_source *out, size_t max, uint32_t *flags,
    char *err, size_t errlen);

#endif
