/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fw_eval.h - what a firewall IR (fw.h) does with the first packet of a
 * new connection, decided in userspace by walking the same rules the
 * kernel gets.  Used to refuse a policy that would cut its operator off
 * (the guide's WARNING in section 3.4), and by listeners on hosts where
 * the kernel cannot enforce.
 *
 * Rate limits, meters and connection counts are taken as not exceeded:
 * the answer is what a well-behaved client meets.
 */
#ifndef SLUICE_FW_EVAL_H
#define SLUICE_FW_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "fw.h"

struct fw_flow {
	uint8_t family;         /* 4 or 6 */
	uint8_t saddr[16];      /* network order */
	uint8_t l4proto;        /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t sport, dport;  /* host order */
};

/* Is addr (network order) inside net/len?  len in bits, 0..128. */
bool fw_prefix_has(const uint8_t *net, unsigned len, const uint8_t *addr);

/*
 * The verdict for the flow's first packet (a TCP SYN, or a UDP
 * datagram); *rule is set to the index of the deciding rule, or -1 when
 * the chain's policy decided.
 */
enum fw_verdict fw_eval_new(const struct fw_ir *ir, const struct fw_flow *f,
    int *rule);

#endif
