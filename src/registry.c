/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * registry.c - the service table: the guide's port table (section 3.1),
 * its Default Settings column (factory) and its Suggested Setting column,
 * made stricter where the guide is weak (hardened).
 */
#include "config.h"

#include <string.h>

#include "registry.h"

#define TCP REGISTRY_TCP
#define UDP REGISTRY_UDP
#define PROTO REGISTRY_CLASS_PROTOCOL
#define SVC REGISTRY_CLASS_SERVICE
#define SERVER REGISTRY_ROLE_SERVER
#define CLIENT REGISTRY_ROLE_CLIENT

static const struct registry_service services[REGISTRY_COUNT] = {
	[REGISTRY_DISCOVERY] = { REGISTRY_DISCOVERY, "discovery",
	    "Device discovery (DSC / Moxa command)", SVC, SERVER,
	    { { "tcp_port", TCP, 4900, "discovery commands" },
	      { "udp_port", UDP, 4800, "discovery broadcast" } }, 2,
	    true, false, "not commonly used; configure over HTTPS instead", false },
	[REGISTRY_DNS_CLIENT] = { REGISTRY_DNS_CLIENT, "dns-client",
	    "DNS client", SVC, CLIENT,
	    { { "port", UDP, 53, "name server queries" } }, 1,
	    false, false, "not commonly used; configure addresses, not names", false },
	[REGISTRY_SNMP_AGENT] = { REGISTRY_SNMP_AGENT, "snmp-agent",
	    "SNMP agent", SVC, SERVER,
	    { { "port", UDP, 161, "SNMP requests" } }, 1,
	    true, false, "managing over HTTPS is more secure", false },
	[REGISTRY_HTTP] = { REGISTRY_HTTP, "http",
	    "HTTP server (web console)", SVC, SERVER,
	    { { "port", TCP, 80, "web console, clear text" } }, 1,
	    true, false, "plain text: disable; HTTPS is enough", true },
	[REGISTRY_HTTPS] = { REGISTRY_HTTPS, "https",
	    "HTTPS server (secured web console)", SVC, SERVER,
	    { { "port", TCP, 443, "web console and API over TLS" } }, 1,
	    true, true, "encrypted console; import a trusted certificate", true },
	[REGISTRY_TELNET] = { REGISTRY_TELNET, "telnet",
	    "Telnet console", SVC, SERVER,
	    { { "port", TCP, 23, "telnet console" } }, 1,
	    false, false, "clear text: sluice has no telnet console", false },
	[REGISTRY_DHCP_CLIENT] = { REGISTRY_DHCP_CLIENT, "dhcp-client",
	    "DHCP client", SVC, CLIENT,
	    { { "port", UDP, 68, "address from a DHCP server" } }, 1,
	    false, false, "assign addresses manually", false },
	[REGISTRY_SYSLOG_CLIENT] = { REGISTRY_SYSLOG_CLIENT, "syslog-client",
	    "Syslog client", SVC, CLIENT,
	    { { "port", UDP | TCP, 514, "events to a syslog server" } }, 1,
	    false, true, "send important events off the device", true },
	[REGISTRY_EMAIL_CLIENT] = { REGISTRY_EMAIL_CLIENT, "email-client",
	    "Email client", SVC, CLIENT,
	    { { "port", TCP, 25, "event notifications by mail" } }, 1,
	    false, true, "send important events off the device", false },
	[REGISTRY_SNMP_TRAP] = { REGISTRY_SNMP_TRAP, "snmp-trap",
	    "SNMP trap client", SVC, CLIENT,
	    { { "port", UDP, 162, "event notifications as traps" } }, 1,
	    false, true, "send important events off the device", false },
	[REGISTRY_NTP_CLIENT] = { REGISTRY_NTP_CLIENT, "ntp-client",
	    "NTP client", SVC, CLIENT,
	    { { "port", UDP, 123, "time from an NTP server" } }, 1,
	    false, false, "not commonly used; let the host keep time", false },
	[REGISTRY_MODBUS_TCP] = { REGISTRY_MODBUS_TCP, "modbus-tcp",
	    "Modbus TCP client/server", PROTO, SERVER,
	    { { "port", TCP, 502, "Modbus communication" },
	      { "priority_port", TCP, 7502, "priority Modbus communication" } }, 2,
	    true, false, "enable only when used; list your masters in the accessible-IP list", true },
	[REGISTRY_ETHERNET_IP] = { REGISTRY_ETHERNET_IP, "ethernet-ip",
	    "EtherNet/IP", PROTO, SERVER,
	    { { "explicit_port", TCP | UDP, 44818, "explicit messaging" },
	      { "implicit_port", UDP, 2222, "implicit (I/O) messaging" } }, 2,
	    true, false, "enable only when used", false },
	[REGISTRY_PROFINET] = { REGISTRY_PROFINET, "profinet",
	    "PROFINET", PROTO, SERVER,
	    { { "port", UDP, 34963, "PROFINET communication" } }, 1,
	    true, false, "enable only when used", false },
	[REGISTRY_DNP3] = { REGISTRY_DNP3, "dnp3",
	    "DNP3", PROTO, SERVER,
	    { { "port", TCP | UDP, 20000, "DNP3 communication" } }, 1,
	    true, false, "enable only when used", false },
	[REGISTRY_IEC104] = { REGISTRY_IEC104, "iec104",
	    "IEC 60870-5-104", PROTO, SERVER,
	    { { "port", TCP, 2404, "IEC-104 communication" } }, 1,
	    true, false, "enable only when used", false },
	[REGISTRY_BACNET_IP] = { REGISTRY_BACNET_IP, "bacnet-ip",
	    "BACnet/IP", PROTO, SERVER,
	    { { "port", UDP, 47808, "BACnet/IP communication" } }, 1,
	    true, false, "enable only when used", false },
};

const struct registry_service *
registry_get(enum registry_id id)
{
	return &services[id];
}

const struct registry_service *
registry_find(const char *name)
{
	unsigned i;

	for (i = 0; i < REGISTRY_COUNT; i++)
		if (strcmp(services[i].name, name) == 0)
			return &services[i];
	return NULL;
}

int
registry_endpoint_find(const struct registry_service *svc, const char *key)
{
	unsigned i;

	for (i = 0; i < svc->n_endpoints; i++)
		if (strcmp(svc->endpoints[i].key, key) == 0)
			return (int)i;
	return -1;
}

const char *
registry_class_name(enum registry_class class)
{
	return class == REGISTRY_CLASS_PROTOCOL ? "protocol" : "service";
}

const char *
registry_role_name(enum registry_role role)
{
	return role == REGISTRY_ROLE_SERVER ? "server" : "client";
}

const char *
registry_transport_name(unsigned transports)
{
	switch (transports & (REGISTRY_TCP | REGISTRY_UDP)) {
	case REGISTRY_TCP:
		return "tcp";
	case REGISTRY_UDP:
		return "udp";
	case REGISTRY_TCP | REGISTRY_UDP:
		return "tcp+udp";
	default:
		return "none";
	}
}
