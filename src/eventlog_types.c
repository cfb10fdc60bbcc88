/* SPDX-License-Identifier: GPL-3.0-or-later */
/* eventlog_types.c - names of event types, groups and severities. */
#include "config.h"

#include <string.h>

#include "eventlog.h"

static const struct eventlog_type_info types[EVENTLOG_TYPE_COUNT] = {
	[EVENTLOG_COLD_START] = { "cold-start", EVENTLOG_SYSTEM, EVENTLOG_NOTICE,
	    "System cold start: first start since the host booted" },
	[EVENTLOG_WARM_START] = { "warm-start", EVENTLOG_SYSTEM, EVENTLOG_NOTICE,
	    "System warm start: daemon restarted without a reboot" },
	[EVENTLOG_SHUTDOWN] = { "shutdown", EVENTLOG_SYSTEM, EVENTLOG_NOTICE,
	    "Daemon stopped" },
	[EVENTLOG_ENGINE_RESTARTED] = { "engine-restarted", EVENTLOG_SYSTEM, EVENTLOG_ERR,
	    "The engine process died and the monitor restarted it" },
	[EVENTLOG_STORAGE_FAILURE] = { "storage-failure", EVENTLOG_SYSTEM, EVENTLOG_ERR,
	    "Writing local storage failed (the guide's SD card access failure)" },
	[EVENTLOG_ENFORCEMENT_LIMITED] = { "enforcement-limited", EVENTLOG_SYSTEM, EVENTLOG_WARNING,
	    "A control cannot be enforced on this host (missing privilege or kernel feature)" },
	[EVENTLOG_LISTENER_FAILED] = { "listener-failed", EVENTLOG_SYSTEM, EVENTLOG_ERR,
	    "A service's listening socket could not be opened (port in use, no permission)" },
	[EVENTLOG_CERT_EXPIRING] = { "certificate-expiring", EVENTLOG_SYSTEM, EVENTLOG_WARNING,
	    "The console's certificate expires soon (certificates.renew_days) or has expired" },
	[EVENTLOG_DHCP_LEASE] = { "dhcp-lease", EVENTLOG_NETWORK, EVENTLOG_INFO,
	    "DHCP/BOOTP got or renewed an address" },
	[EVENTLOG_NTP_FAILED] = { "ntp-failed", EVENTLOG_NETWORK, EVENTLOG_WARNING,
	    "NTP connection failed" },
	[EVENTLOG_IP_CONFLICT] = { "ip-conflict", EVENTLOG_NETWORK, EVENTLOG_ERR,
	    "IP address conflict" },
	[EVENTLOG_LINK_DOWN] = { "link-down", EVENTLOG_NETWORK, EVENTLOG_WARNING,
	    "Network link down" },
	[EVENTLOG_SYSLOG_UNREACHABLE] = { "syslog-unreachable", EVENTLOG_NETWORK, EVENTLOG_WARNING,
	    "The syslog server cannot be reached" },
	[EVENTLOG_SOURCE_BANNED] = { "source-banned", EVENTLOG_NETWORK, EVENTLOG_WARNING,
	    "A source address was banned: the kernel drops its packets until the ban expires" },
	[EVENTLOG_SOURCE_UNBANNED] = { "source-unbanned", EVENTLOG_NETWORK, EVENTLOG_NOTICE,
	    "A ban was lifted before it expired" },
	[EVENTLOG_FIREWALL_DROPS] = { "firewall-drops", EVENTLOG_NETWORK, EVENTLOG_WARNING,
	    "The kernel firewall dropped packets (scan, flood, closed port, refused source)" },
	[EVENTLOG_CLIENT_REFUSED] = { "client-refused", EVENTLOG_NETWORK, EVENTLOG_WARNING,
	    "A client not on the accessible-IP list was refused at connect" },
	[EVENTLOG_CHANNEL_DOWN] = { "channel-down", EVENTLOG_NETWORK, EVENTLOG_WARNING,
	    "A serial device or remote slave cannot be reached; retried with backoff" },
	[EVENTLOG_CHANNEL_UP] = { "channel-up", EVENTLOG_NETWORK, EVENTLOG_NOTICE,
	    "A serial device was opened or a remote slave connected" },
	[EVENTLOG_LOGIN_FAILED] = { "login-failed", EVENTLOG_CONFIGURATION, EVENTLOG_WARNING,
	    "Login failed" },
	[EVENTLOG_IP_CHANGED] = { "ip-changed", EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    "IP address changed" },
	[EVENTLOG_PASSWORD_CHANGED] = { "password-changed", EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    "Password changed" },
	[EVENTLOG_FIRMWARE_UPGRADED] = { "firmware-upgraded", EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    "Software upgraded" },
	[EVENTLOG_CERT_IMPORTED] = { "certificate-imported", EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    "SSL certificate imported" },
	[EVENTLOG_CONFIG_IMPORTED] = { "configuration-imported", EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    "Configuration imported" },
	[EVENTLOG_CONFIG_EXPORTED] = { "configuration-exported", EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    "Configuration exported" },
	[EVENTLOG_CONFIG_CHANGED] = { "configuration-changed", EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    "Configuration changed" },
	[EVENTLOG_CONFIG_REJECTED] = { "configuration-rejected", EVENTLOG_CONFIGURATION, EVENTLOG_WARNING,
	    "A configuration change was refused; the running policy is unchanged" },
	[EVENTLOG_LOG_CLEARED] = { "event-log-cleared", EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    "Event log cleared" },
	[EVENTLOG_ACCOUNT_LOCKED] = { "account-locked", EVENTLOG_CONFIGURATION, EVENTLOG_WARNING,
	    "An account or a source address was locked after failed logins" },
	[EVENTLOG_ACCOUNT_ADDED] = { "account-added", EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    "A console account or API token was created" },
	[EVENTLOG_ACCOUNT_REMOVED] = { "account-removed", EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    "A console account or API token was removed" },
	[EVENTLOG_ACCOUNT_CHANGED] = { "account-changed", EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    "An account's level changed or an administrator unlocked it" },
	[EVENTLOG_CERT_GENERATED] = { "certificate-generated", EVENTLOG_CONFIGURATION, EVENTLOG_NOTICE,
	    "A self-signed certificate was generated for the console" },
	[EVENTLOG_PROTOCOL_MESSAGE] = { "protocol", EVENTLOG_PROTOCOL, EVENTLOG_INFO,
	    "Protocol communication log" },
	[EVENTLOG_MODBUS_MALFORMED] = { "malformed-request", EVENTLOG_PROTOCOL, EVENTLOG_WARNING,
	    "A request failed validation and never reached a wire (at most 10 per 10 s, then counted)" },
	[EVENTLOG_CONNECTION_EVICTED] = { "connection-evicted", EVENTLOG_PROTOCOL, EVENTLOG_NOTICE,
	    "At the connection cap the least recently active idle connection was closed" },
	[EVENTLOG_MODBUS_DENIED] = { "request-denied", EVENTLOG_PROTOCOL, EVENTLOG_WARNING,
	    "The Modbus firewall refused a request; it never reached a wire (at most 10 per 10 s, then counted)" },
};

static const char *groups[EVENTLOG_GROUP_COUNT] = {
	"system", "network", "configuration", "protocol",
};

static const char *severities[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

const struct eventlog_type_info *
eventlog_type_info(enum eventlog_type type)
{
	if ((unsigned)type >= EVENTLOG_TYPE_COUNT)
		return NULL;
	return &types[type];
}

int
eventlog_type_find(const char *name)
{
	int i;

	for (i = 0; i < EVENTLOG_TYPE_COUNT; i++)
		if (strcmp(types[i].name, name) == 0)
			return i;
	return -1;
}

const char *
eventlog_group_name(enum eventlog_group group)
{
	if ((unsigned)group >= EVENTLOG_GROUP_COUNT)
		return "?";
	return groups[group];
}

int
eventlog_group_find(const char *name)
{
	int i;

	for (i = 0; i < EVENTLOG_GROUP_COUNT; i++)
		if (strcmp(groups[i], name) == 0)
			return i;
	return -1;
}

const char *
eventlog_severity_name(enum eventlog_severity sev)
{
	if ((unsigned)sev > EVENTLOG_DEBUG)
		return "?";
	return severities[sev];
}

int
eventlog_severity_find(const char *name)
{
	int i;

	for (i = 0; i <= EVENTLOG_DEBUG; i++)
		if (strcmp(severities[i], name) == 0)
			return i;
	return -1;
}
