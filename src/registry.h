/*
 * registry.h - the single list of services and their ports.
 *
 * Every port number sluice knows appears here and nowhere else: listeners,
 * firewall rules, `sluicectl services`, the console and the hardening audit
 * all read this table.  Rows follow the port table of the MGate 5000
 * security hardening guide, section 3.1.
 */
#ifndef SLUICE_REGISTRY_H
#define SLUICE_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

/* How the accessible-IP list treats a service (guide 3.4). */
enum registry_class {
	REGISTRY_CLASS_PROTOCOL,  /* fieldbus protocol: lost when not listed */
	REGISTRY_CLASS_SERVICE,   /* console, SNMP, ...: lost only with "additional restrictions" */
};

/* Server: sluice listens on the port.  Client: sluice sends to the port. */
enum registry_role {
	REGISTRY_ROLE_SERVER,
	REGISTRY_ROLE_CLIENT,
};

#define REGISTRY_TCP 0x1u
#define REGISTRY_UDP 0x2u

#define REGISTRY_MAX_ENDPOINTS 3

/* One port of a service.  key is its policy key: services.<name>.<key>. */
struct registry_endpoint {
	const char *key;
	unsigned transports;      /* REGISTRY_TCP | REGISTRY_UDP */
	uint16_t port;            /* default port */
	const char *purpose;
};

enum registry_id {
	REGISTRY_DISCOVERY = 0,
	REGISTRY_DNS_CLIENT,
	REGISTRY_SNMP_AGENT,
	REGISTRY_HTTP,
	REGISTRY_HTTPS,
	REGISTRY_TELNET,
	REGISTRY_DHCP_CLIENT,
	REGISTRY_SYSLOG_CLIENT,
	REGISTRY_EMAIL_CLIENT,
	REGISTRY_SNMP_TRAP,
	REGISTRY_NTP_CLIENT,
	REGISTRY_MODBUS_TCP,
	REGISTRY_ETHERNET_IP,
	REGISTRY_PROFINET,
	REGISTRY_DNP3,
	REGISTRY_IEC104,
	REGISTRY_BACNET_IP,
	REGISTRY_COUNT
};

struct registry_service {
	enum registry_id id;
	const char *name;          /* policy key under services: */
	const char *title;         /* as the guide names it */
	enum registry_class class;
	enum registry_role role;
	struct registry_endpoint endpoints[REGISTRY_MAX_ENDPOINTS];
	unsigned n_endpoints;
	bool factory_enabled;      /* guide: Default Settings */
	bool hardened_enabled;     /* policy/hardened.yaml */
	const char *hardened_remark;
	bool implemented;          /* does this build carry the service? */
};

/* The row for id; id must be < REGISTRY_COUNT. */
const struct registry_service *registry_get(enum registry_id id);
/* The row named name, or NULL. */
const struct registry_service *registry_find(const char *name);
/* The endpoint of svc whose policy key is key, as an index, or -1. */
int registry_endpoint_find(const struct registry_service *svc, const char *key);
const char *registry_class_name(enum registry_class class);
const char *registry_role_name(enum registry_role role);
/* "tcp", "udp" or "tcp+udp". */
const char *registry_transport_name(unsigned transports);

#endif
