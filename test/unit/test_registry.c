/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test_registry.c - the service table against the guide's port table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "registry.h"

/* The guide's section 3.1, row by row (BACnet/IP from the suggested table). */
static const struct {
	const char *name;
	const char *ports;       /* "port/transport,..." */
	enum registry_class class;
	bool factory;
} guide[] = {
	{ "discovery", "4900/tcp,4800/udp", REGISTRY_CLASS_SERVICE, true },
	{ "dns-client", "53/udp", REGISTRY_CLASS_SERVICE, false },
	{ "snmp-agent", "161/udp", REGISTRY_CLASS_SERVICE, true },
	{ "http", "80/tcp", REGISTRY_CLASS_SERVICE, true },
	{ "https", "443/tcp", REGISTRY_CLASS_SERVICE, true },
	{ "telnet", "23/tcp", REGISTRY_CLASS_SERVICE, false },
	{ "dhcp-client", "68/udp", REGISTRY_CLASS_SERVICE, false },
	{ "syslog-client", "514/tcp+udp", REGISTRY_CLASS_SERVICE, false },
	{ "email-client", "25/tcp", REGISTRY_CLASS_SERVICE, false },
	{ "snmp-trap", "162/udp", REGISTRY_CLASS_SERVICE, false },
	{ "ntp-client", "123/udp", REGISTRY_CLASS_SERVICE, false },
	{ "modbus-tcp", "502/tcp,7502/tcp", REGISTRY_CLASS_PROTOCOL, true },
	{ "ethernet-ip", "44818/tcp+udp,2222/udp", REGISTRY_CLASS_PROTOCOL, true },
	{ "profinet", "34963/udp", REGISTRY_CLASS_PROTOCOL, true },
	{ "dnp3", "20000/tcp+udp", REGISTRY_CLASS_PROTOCOL, true },
	{ "iec104", "2404/tcp", REGISTRY_CLASS_PROTOCOL, true },
	{ "bacnet-ip", "47808/udp", REGISTRY_CLASS_PROTOCOL, true },
};

static void
test_matches_guide(void **state)
{
	size_t i;
	unsigned j;

	(void)state;
	assert_int_equal(sizeof(guide) / sizeof(guide[0]), REGISTRY_COUNT);
	for (i = 0; i < REGISTRY_COUNT; i++) {
		const struct registry_service *s = registry_find(guide[i].name);
		char ports[128] = "";
		size_t used = 0;

		assert_non_null(s);
		assert_ptr_equal(s, registry_get(s->id));
		for (j = 0; j < s->n_endpoints; j++)
			used += (size_t)snprintf(ports + used, sizeof(ports) - used,
			    "%s%u/%s", j ? "," : "", s->endpoints[j].port,
			    registry_transport_name(s->endpoints[j].transports));
		assert_string_equal(ports, guide[i].ports);
		assert_int_equal(s->class, guide[i].class);
		assert_int_equal(s->factory_enabled, guide[i].factory);
	}
}

/* Hardened is never weaker than the guide's suggestion for consoles. */
static void
test_hardened(void **state)
{
	static const char *off[] = { "discovery", "dns-client", "snmp-agent",
	    "http", "telnet", "dhcp-client", "ntp-client" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		assert_false(registry_find(off[i])->hardened_enabled);
	assert_true(registry_find("https")->hardened_enabled);
	assert_true(registry_find("syslog-client")->hardened_enabled);
}

/* A port number stands in one place: no two rows share port+transport. */
static void
test_unique_ports(void **state)
{
	unsigned a, b, i, j;

	(void)state;
	for (a = 0; a < REGISTRY_COUNT; a++)
		for (b = a + 1; b < REGISTRY_COUNT; b++) {
			const struct registry_service *x = registry_get(a);
			const struct registry_service *y = registry_get(b);

			for (i = 0; i < x->n_endpoints; i++)
				for (j = 0; j < y->n_endpoints; j++)
					assert_false(x->endpoints[i].port ==
					    y->endpoints[j].port &&
					    (x->endpoints[i].transports &
					    y->endpoints[j].transports) &&
					    x->role == REGISTRY_ROLE_SERVER &&
					    y->role == REGISTRY_ROLE_SERVER);
		}
}

static void
test_lookup(void **state)
{
	const struct registry_service *s = registry_find("modbus-tcp");

	(void)state;
	assert_null(registry_find("modbus"));
	assert_null(registry_find(""));
	assert_int_equal(registry_endpoint_find(s, "priority_port"), 1);
	assert_int_equal(registry_endpoint_find(s, "port"), 0);
	assert_int_equal(registry_endpoint_find(s, "nope"), -1);
	assert_string_equal(registry_class_name(REGISTRY_CLASS_PROTOCOL), "protocol");
	assert_string_equal(registry_role_name(REGISTRY_ROLE_CLIENT), "client");
	assert_string_equal(registry_transport_name(0), "none");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_guide),
		cmocka_unit_test(test_hardened),
		cmocka_unit_test(test_unique_ports),
		cmocka_unit_test(test_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
