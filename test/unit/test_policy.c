/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_policy.c - the policy loader: every refusal with its exact
 * message, defaults, layering, address forms, output and diff, the
 * shipped files, and golden files (test/policy/golden/NAME.yaml ->
 * NAME.expected, byte for byte).
 *
 * Files under test/policy/bad/ carry their expected message on the first
 * line ("# expect: ..."); paths in messages are relative to test/policy,
 * which is the working directory while the tests run.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "eventlog.h"
#include "policy.h"
#include "registry.h"
#include "tags.h"

#define POLICY_DIR	TEST_SRCDIR "/policy"
#define SHIPPED_DEFAULT	TEST_SRCDIR "/../etc/sluice.yaml"
#define SHIPPED_HARD	TEST_SRCDIR "/../policy/hardened.yaml"
#define SHIPPED_FACTORY	TEST_SRCDIR "/../policy/factory.yaml"
#define NOWHERE		"/nonexistent-sluice-test-dir"

static struct policy *
load_str(const char *yaml, struct policy_error *err)
{
	return policy_load_buffer("t.yaml", yaml, strlen(yaml), NOWHERE, err);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The whole file, NUL-terminated; fails the test when unreadable. */
static char *
slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (f == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	if (lenp != NULL)
		*lenp = (size_t)len;
	return buf;
}

/* ------------------------------------------------------------------ */
/* Refusals: YAML text -> exact message                                */
/* ------------------------------------------------------------------ */

struct bad_case {
	const char *yaml;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	/* unknown keys, listing what is expected */
	{ "devices: {}\n",
	  "t.yaml:1:1: devices: unknown key (expected one of: base, device, "
	  "services, accessible_ip, dos_defense, firewall, password_policy, "
	  "login_message, console, tls, certificates, logging, tags, "
	  "modbus)" },
	{ "device:\n  nmae: x\n",
	  "t.yaml:2:3: device.nmae: unknown key (expected one of: name, "
	  "location, description, contact)" },
	{ "services:\n  htp: {}\n",
	  "t.yaml:2:3: services.htp: unknown key (expected one of: discovery, "
	  "dns-client, snmp-agent, http, https, telnet, dhcp-client, "
	  "syslog-client, email-client, snmp-trap, ntp-client, modbus-tcp, "
	  "ethernet-ip, profinet, dnp3, iec104, bacnet-ip)" },
	{ "services:\n  modbus-tcp:\n    prio_port: 7502\n",
	  "t.yaml:3:5: services.modbus-tcp.prio_port: unknown key (expected "
	  "one of: enabled, port, priority_port)" },
	{ "logging:\n  local:\n    size: 1\n",
	  "t.yaml:3:5: logging.local.size: unknown key (expected one of: "
	  "max_bytes, files)" },
	{ "device:\n  \"na me\": x\n",
	  "t.yaml:2:3: device.\"na me\": unknown key (expected one of: name, "
	  "location, description, contact)" },
	/* booleans: true or false only */
	{ "services:\n  http:\n    enabled: yes\n",
	  "t.yaml:3:14: services.http.enabled: \"yes\" is not a boolean "
	  "(expected true or false)" },
	{ "services:\n  http:\n    enabled: on\n",
	  "t.yaml:3:14: services.http.enabled: \"on\" is not a boolean "
	  "(expected true or false)" },
	{ "dos_defense:\n  fin_scan: True\n",
	  "t.yaml:2:13: dos_defense.fin_scan: \"True\" is not a boolean "
	  "(expected true or false)" },
	{ "dos_defense:\n  fin_scan: \"true\"\n",
	  "t.yaml:2:13: dos_defense.fin_scan: \"true\" is not a boolean "
	  "(expected true or false)" },
	{ "dos_defense:\n  fin_scan:\n",
	  "t.yaml:2:12: dos_defense.fin_scan: an empty value is not a boolean "
	  "(expected true or false)" },
	{ "dos_defense:\n  fin_scan: [true]\n",
	  "t.yaml:2:13: dos_defense.fin_scan: a sequence is not a boolean "
	  "(expected true or false)" },
	/* integers: decimal, unsigned, in range */
	{ "password_policy:\n  min_length: 7\n",
	  "t.yaml:2:15: password_policy.min_length: 7 is out of range "
	  "(expected 8..128)" },
	{ "password_policy:\n  min_length: 129\n",
	  "t.yaml:2:15: password_policy.min_length: 129 is out of range "
	  "(expected 8..128)" },
	{ "password_policy:\n  min_length: 99999999999999999999999\n",
	  "t.yaml:2:15: password_policy.min_length: 99999999999999999999... "
	  "is out of range (expected 8..128)" },
	{ "password_policy:\n  min_length: +16\n",
	  "t.yaml:2:15: password_policy.min_length: \"+16\" is not a decimal "
	  "integer (expected 8..128)" },
	{ "password_policy:\n  history: -1\n",
	  "t.yaml:2:12: password_policy.history: \"-1\" is not a decimal "
	  "integer (expected 0..24)" },
	{ "password_policy:\n  min_length: 0x10\n",
	  "t.yaml:2:15: password_policy.min_length: \"0x10\" is not a decimal "
	  "integer (expected 8..128)" },
	{ "password_policy:\n  min_length: 016\n",
	  "t.yaml:2:15: password_policy.min_length: \"016\" is not a decimal "
	  "integer (expected 8..128)" },
	{ "password_policy:\n  min_length: 16.0\n",
	  "t.yaml:2:15: password_policy.min_length: \"16.0\" is not a decimal "
	  "integer (expected 8..128)" },
	{ "password_policy:\n  min_length: \"16\"\n",
	  "t.yaml:2:15: password_policy.min_length: \"16\" is not a decimal "
	  "integer (expected 8..128)" },
	{ "password_policy:\n  lifetime_days: 3651\n",
	  "t.yaml:2:18: password_policy.lifetime_days: 3651 is out of range "
	  "(expected 0..3650)" },
	{ "password_policy:\n  lockout:\n    attempts: 0\n",
	  "t.yaml:3:15: password_policy.lockout.attempts: 0 is out of range "
	  "(expected 1..10)" },
	{ "password_policy:\n  lockout:\n    attempts: 11\n",
	  "t.yaml:3:15: password_policy.lockout.attempts: 11 is out of range "
	  "(expected 1..10)" },
	{ "password_policy:\n  lockout:\n    duration_s: 59\n",
	  "t.yaml:3:17: password_policy.lockout.duration_s: 59 is out of "
	  "range (expected 60..3600)" },
	{ "password_policy:\n  lockout:\n    window_s: 86401\n",
	  "t.yaml:3:15: password_policy.lockout.window_s: 86401 is out of "
	  "range (expected 1..86400)" },
	{ "password_policy:\n  hash:\n    memory_mib: 16\n",
	  "t.yaml:3:17: password_policy.hash.memory_mib: 16 is out of range "
	  "(expected 19..256)" },
	{ "password_policy:\n  hash:\n    time_cost: 9\n",
	  "t.yaml:3:16: password_policy.hash.time_cost: 9 is out of range "
	  "(expected 2..8)" },
	{ "dos_defense:\n  syn_flood:\n    rate: 1000001\n",
	  "t.yaml:3:11: dos_defense.syn_flood.rate: 1000001 is out of range "
	  "(expected 1..1000000)" },
	{ "dos_defense:\n  icmp_limit:\n    burst: 0\n",
	  "t.yaml:3:12: dos_defense.icmp_limit.burst: 0 is out of range "
	  "(expected 1..1000000)" },
	{ "services:\n  https:\n    port: 0\n",
	  "t.yaml:3:11: services.https.port: 0 is out of range "
	  "(expected 1..65535)" },
	{ "services:\n  https:\n    port: 65536\n",
	  "t.yaml:3:11: services.https.port: 65536 is out of range "
	  "(expected 1..65535)" },
	{ "logging:\n  local:\n    max_bytes: 65535\n",
	  "t.yaml:3:16: logging.local.max_bytes: 65535 is out of range "
	  "(expected 65536..67108864)" },
	{ "logging:\n  local:\n    files: 33\n",
	  "t.yaml:3:12: logging.local.files: 33 is out of range "
	  "(expected 1..32)" },
	/* wrong shapes */
	{ "device: sluice\n",
	  "t.yaml:1:9: device: \"sluice\" is not a mapping (expected a mapping "
	  "with keys: name, location, description, contact)" },
	{ "services: []\n",
	  "t.yaml:1:11: services: a sequence is not a mapping (expected a "
	  "mapping with keys: discovery, dns-client, snmp-agent, http, https, "
	  "telnet, dhcp-client, syslog-client, email-client, snmp-trap, "
	  "ntp-client, modbus-tcp, ethernet-ip, profinet, dnp3, iec104, "
	  "bacnet-ip)" },
	{ "services:\n  http: true\n",
	  "t.yaml:2:9: services.http: \"true\" is not a mapping (expected a "
	  "mapping with keys: enabled, port)" },
	{ "device:\n  contact:\n",
	  "t.yaml:2:11: device.contact: an empty value is not a string "
	  "(expected printable text; write \"\" for none)" },
	{ "device:\n  contact: ~\n",
	  "t.yaml:2:12: device.contact: null is not a string "
	  "(expected printable text; write \"\" for none)" },
	/* duplicate keys name the first */
	{ "device:\n  name: a\n  location: x\n  name: b\n",
	  "t.yaml:4:3: device.name: duplicate key (first at line 2)" },
	{ "device: {}\nlogging: {}\ndevice: {}\n",
	  "t.yaml:3:1: device: duplicate key (first at line 1)" },
	{ "accessible_ip:\n  entries:\n    - {address: 10.0.0.0/8, "
	  "active: true, active: false}\n",
	  "t.yaml:3:43: accessible_ip.entries[0].active: duplicate key "
	  "(first at line 3)" },
	/* anchors, aliases, tags, documents, nesting */
	{ "device: &d\n  name: a\n",
	  "t.yaml:1:9: device: YAML anchors are not allowed (expected the "
	  "value written out)" },
	{ "device:\n  name: &n a\n",
	  "t.yaml:2:9: device.name: YAML anchors are not allowed (expected the "
	  "value written out)" },
	{ "device:\n  name: *n\n",
	  "t.yaml:2:9: device.name: YAML aliases are not allowed (expected the "
	  "value written out)" },
	{ "device: !!map\n  name: a\n",
	  "t.yaml:1:9: device: explicit tag \"!!map\" is not allowed (expected "
	  "an untagged value)" },
	{ "device:\n  name: !local x\n",
	  "t.yaml:2:9: device.name: explicit tag \"!local\" is not allowed "
	  "(expected an untagged value)" },
	{ "device: {}\n---\ndevice: {}\n",
	  "t.yaml:2:1: document: a second YAML document is not allowed "
	  "(expected one document per file)" },
	{ "device: {}\n...\n---\n",
	  "t.yaml:3:1: document: a second YAML document is not allowed "
	  "(expected one document per file)" },
	{ "a:\n b:\n  c:\n   d:\n    e:\n     f:\n      g:\n       h:\n"
	  "        i: 1\n",
	  "t.yaml:9:9: a.b.c.d.e.f.g.h: nesting deeper than 8 levels "
	  "(expected at most 8)" },
	{ "x: [[[[[[[[1]]]]]]]]\n",
	  "t.yaml:1:11: x[0][0][0][0][0][0][0]: nesting deeper than 8 levels "
	  "(expected at most 8)" },
	{ "? [a]\n: b\n",
	  "t.yaml:1:3: document: a sequence used as a key (expected a plain "
	  "key)" },
	/* the document itself */
	{ "",
	  "t.yaml:1:1: document: the file is empty (expected a mapping of "
	  "sections)" },
	{ "# only a comment\n\n",
	  "t.yaml:1:1: document: the file is empty (expected a mapping of "
	  "sections)" },
	{ "- device\n",
	  "t.yaml:1:1: document: a sequence (expected a mapping of sections)" },
	{ "sluice\n",
	  "t.yaml:1:1: document: a scalar (expected a mapping of sections)" },
	/* libyaml's own errors, with their context */
	{ "device: [1, 2\n",
	  "t.yaml:2:1: syntax error: did not find expected ',' or ']' (while "
	  "parsing a flow sequence at line 1, column 9)" },
	{ "device: name: x\n",
	  "t.yaml:1:13: syntax error: mapping values are not allowed in this "
	  "context" },
	{ "device:\n  name: \"x\n",
	  "t.yaml:3:1: syntax error: found unexpected end of stream (while "
	  "scanning a quoted scalar at line 2, column 9)" },
	{ "device:\n\tname: x\n",
	  "t.yaml:2:1: syntax error: found character that cannot start any "
	  "token (while scanning for the next token at line 2, column 1)" },
	{ "device:\n  name: \"a\\qb\"\n",
	  "t.yaml:2:11: syntax error: found unknown escape character (while "
	  "parsing a quoted scalar at line 2, column 9)" },
	{ "device:\n  name: x\x01\n",
	  "t.yaml:2:10: syntax error: control characters are not allowed "
	  "(character 0x01)" },
	/* UTF-8, checked before libyaml */
	{ "device:\n  location: \"ab\xff\"\n",
	  "t.yaml:2:16: file: byte 0xff is not valid UTF-8 (expected a UTF-8 "
	  "text file)" },
	{ "device:\n  location: \"\xc3\xa9\xc0\xaf\"\n",
	  "t.yaml:2:15: file: byte 0xc0 is not valid UTF-8 (expected a UTF-8 "
	  "text file)" },
	{ "device:\n  location: \"\xed\xa0\x80\"\n",
	  "t.yaml:2:14: file: byte 0xed is not valid UTF-8 (expected a UTF-8 "
	  "text file)" },
	{ "device:\n  location: \"\xe2\x82\"\n",
	  "t.yaml:2:14: file: byte 0xe2 is not valid UTF-8 (expected a UTF-8 "
	  "text file)" },
	/* strings */
	{ "device:\n  name: \"bad name\"\n",
	  "t.yaml:2:9: device.name: \"bad name\" is not a valid name (expected "
	  "1 to 63 characters from A-Z a-z 0-9 . _ -)" },
	{ "device:\n  name: \"\"\n",
	  "t.yaml:2:9: device.name: \"\" is not a valid name (expected 1 to 63 "
	  "characters from A-Z a-z 0-9 . _ -)" },
	{ "device:\n  name: "
	  "a123456789012345678901234567890123456789012345678901234567890123\n",
	  "t.yaml:2:9: device.name: "
	  "\"a123456789012345678901234567890123456789012345678901234567890123\""
	  " is not a valid name (expected 1 to 63 characters from A-Z a-z "
	  "0-9 . _ -)" },
	{ "device:\n  name: \"a\\0b\"\n",
	  "t.yaml:2:9: device.name: contains a NUL character (expected a name "
	  "of 1 to 63 characters from A-Z a-z 0-9 . _ -)" },
	{ "device:\n  location: \"a\\x01b\"\n",
	  "t.yaml:2:13: device.location: contains non-printable character U+0001 "
	  "(expected printable text)" },
	{ "device:\n  location: \"a\\u0085b\"\n",
	  "t.yaml:2:13: device.location: contains non-printable character U+0085 "
	  "(expected printable text)" },
	{ "device:\n  contact: \"a\\nb\"\n",
	  "t.yaml:2:12: device.contact: contains non-printable character U+000A "
	  "(expected printable text)" },
	{ "device:\n  description: \"a\\uFFFEb\"\n",
	  "t.yaml:2:16: device.description: contains non-printable character "
	  "U+FFFE (expected printable text)" },
	{ "login_message: \"a\\uffffb\"\n",
	  "t.yaml:1:16: login_message: contains non-printable character U+FFFF "
	  "(expected printable text and newlines)" },
	{ "login_message: \"a\\tb\"\n",
	  "t.yaml:1:16: login_message: contains non-printable character U+0009 "
	  "(expected printable text and newlines)" },
	{ "logging:\n  syslog:\n    server: \"bad host\"\n",
	  "t.yaml:3:13: logging.syslog.server: \"bad host\" is not a host name "
	  "or an IP address (expected e.g. syslog.example.net, 192.0.2.10 or "
	  "2001:db8::10, or \"\" for none)" },
	{ "logging:\n  syslog:\n    server: 10.0.0.256\n",
	  "t.yaml:3:13: logging.syslog.server: \"10.0.0.256\" is not a host "
	  "name or an IP address (expected e.g. syslog.example.net, 192.0.2.10 "
	  "or 2001:db8::10, or \"\" for none)" },
	{ "logging:\n  syslog:\n    server: -syslog.example.net\n",
	  "t.yaml:3:13: logging.syslog.server: \"-syslog.example.net\" is not "
	  "a host name or an IP address (expected e.g. syslog.example.net, "
	  "192.0.2.10 or 2001:db8::10, or \"\" for none)" },
	{ "logging:\n  syslog:\n    transport: tls\n",
	  "t.yaml:3:16: logging.syslog.transport: \"tls\" is not a valid value "
	  "(expected udp or tcp)" },
	{ "logging:\n  syslog:\n    format: json\n",
	  "t.yaml:3:13: logging.syslog.format: \"json\" is not a valid value "
	  "(expected rfc5424 or rfc3164)" },
	{ "logging:\n  syslog:\n    facility: local8\n",
	  "t.yaml:3:15: logging.syslog.facility: \"local8\" is not a syslog "
	  "facility (expected 0..23 or one of: kern, user, mail, daemon, auth, "
	  "syslog, lpr, news, uucp, cron, authpriv, ftp, local0..local7)" },
	{ "logging:\n  syslog:\n    facility: 24\n",
	  "t.yaml:3:15: logging.syslog.facility: 24 is out of range "
	  "(expected 0..23)" },
	/* the event matrix */
	{ "logging:\n  events:\n    sytem: []\n",
	  "t.yaml:3:5: logging.events.sytem: unknown key (expected one of: a "
	  "group (system, network, configuration, protocol) or an event "
	  "(cold-start, warm-start, shutdown, engine-restarted, "
	  "storage-failure, enforcement-limited, listener-failed, "
	  "certificate-expiring, dhcp-lease, "
	  "ntp-failed, ip-conflict, link-down, syslog-unreachable, "
	  "source-banned, source-unbanned, firewall-drops, client-refused, "
	  "channel-down, channel-up, login-failed, "
	  "ip-changed, password-changed, firmware-upgraded, "
	  "certificate-imported, configuration-imported, "
	  "configuration-exported, configuration-changed, "
	  "configuration-rejected, event-log-cleared, account-locked, "
	  "account-added, account-removed, account-changed, "
	  "certificate-generated, protocol, "
	  "malformed-request, connection-evicted, request-denied))" },
	{ "logging:\n  events:\n    system: [local, disk]\n",
	  "t.yaml:3:21: logging.events.system[1]: \"disk\" is not a sink "
	  "(expected local or syslog)" },
	{ "logging:\n  events:\n    login-failed: [syslog, syslog]\n",
	  "t.yaml:3:28: logging.events.login-failed[1]: syslog is listed twice "
	  "(expected each sink once)" },
	{ "logging:\n  events:\n    system: local\n",
	  "t.yaml:3:13: logging.events.system: \"local\" is not a sequence "
	  "(expected a list of sinks from local, syslog, e.g. [local, syslog] "
	  "or [])" },
	/* accessible_ip: forms */
	{ "accessible_ip:\n  entries:\n    - address: 192.168.1.300\n",
	  "t.yaml:3:16: accessible_ip.entries[0].address: \"192.168.1.300\" is "
	  "not an IP address or network (expected e.g. 192.168.1.0/24, "
	  "192.168.1.120 or 2001:db8::/32)" },
	{ "accessible_ip:\n  entries:\n    - address: 10.0.0.0/33\n",
	  "t.yaml:3:16: accessible_ip.entries[0].address: \"10.0.0.0/33\" is "
	  "not an IP address or network (expected e.g. 192.168.1.0/24, "
	  "192.168.1.120 or 2001:db8::/32)" },
	{ "accessible_ip:\n  entries:\n    - address: 10.0.0.0/08\n",
	  "t.yaml:3:16: accessible_ip.entries[0].address: \"10.0.0.0/08\" is "
	  "not an IP address or network (expected e.g. 192.168.1.0/24, "
	  "192.168.1.120 or 2001:db8::/32)" },
	{ "accessible_ip:\n  entries:\n    - address: \"2001:db8::/129\"\n",
	  "t.yaml:3:16: accessible_ip.entries[0].address: \"2001:db8::/129\" "
	  "is not an IP address or network (expected e.g. 192.168.1.0/24, "
	  "192.168.1.120 or 2001:db8::/32)" },
	{ "accessible_ip:\n  entries:\n    - address: 10.0.0.0/\n",
	  "t.yaml:3:16: accessible_ip.entries[0].address: \"10.0.0.0/\" is "
	  "not an IP address or network (expected e.g. 192.168.1.0/24, "
	  "192.168.1.120 or 2001:db8::/32)" },
	{ "accessible_ip:\n  entries:\n    - address: \"::ffff:10.0.0.1\"\n",
	  "t.yaml:3:16: accessible_ip.entries[0].address: \"::ffff:10.0.0.1\" "
	  "is an IPv4-mapped IPv6 address (expected the IPv4 form, e.g. "
	  "192.168.1.0/24)" },
	{ "accessible_ip:\n  entries:\n    - address: 192.168.1.0\n"
	  "      netmask: 255.0.255.0\n",
	  "t.yaml:4:16: accessible_ip.entries[0].netmask: \"255.0.255.0\" is "
	  "not a contiguous netmask (expected ones then zeros, e.g. "
	  "255.255.255.0)" },
	{ "accessible_ip:\n  entries:\n    - address: 192.168.1.0\n"
	  "      netmask: 24\n",
	  "t.yaml:4:16: accessible_ip.entries[0].netmask: \"24\" is not an "
	  "IPv4 netmask (expected e.g. 255.255.255.0)" },
	{ "accessible_ip:\n  entries:\n    - address: 192.168.1.5/24\n",
	  "t.yaml:3:16: accessible_ip.entries[0].address: \"192.168.1.5/24\" "
	  "has host bits set (expected the network address 192.168.1.0/24)" },
	{ "accessible_ip:\n  entries:\n    - address: 192.168.1.5\n"
	  "      netmask: 255.255.255.0\n",
	  "t.yaml:3:16: accessible_ip.entries[0].address: \"192.168.1.5\" has "
	  "host bits set for netmask 255.255.255.0 (expected the network "
	  "address 192.168.1.0)" },
	{ "accessible_ip:\n  entries:\n    - address: \"2001:db8::1/32\"\n",
	  "t.yaml:3:16: accessible_ip.entries[0].address: \"2001:db8::1/32\" "
	  "has host bits set (expected the network address 2001:db8::/32)" },
	{ "accessible_ip:\n  entries:\n    - address: 192.168.1.0/24\n"
	  "      netmask: 255.255.255.0\n",
	  "t.yaml:4:16: accessible_ip.entries[0].netmask: not allowed with an "
	  "address in CIDR form (expected either address: 192.168.1.0/24 or "
	  "address: 192.168.1.0 with netmask: 255.255.255.0)" },
	{ "accessible_ip:\n  entries:\n    - address: \"2001:db8::\"\n"
	  "      netmask: 255.255.255.0\n",
	  "t.yaml:4:16: accessible_ip.entries[0].netmask: only for IPv4 "
	  "addresses (expected an IPv6 network in CIDR form, e.g. "
	  "2001:db8::/32)" },
	{ "accessible_ip:\n  entries:\n    - comment: x\n",
	  "t.yaml:3:7: accessible_ip.entries[0]: address is missing (expected "
	  "address: with e.g. 192.168.1.0/24)" },
	{ "accessible_ip:\n  entries:\n    - address: 10.0.0.0/8\n"
	  "      mask: 8\n",
	  "t.yaml:4:7: accessible_ip.entries[0].mask: unknown key (expected "
	  "one of: address, netmask, active, comment)" },
	{ "accessible_ip:\n  entries:\n    - 10.0.0.0/8\n",
	  "t.yaml:3:7: accessible_ip.entries[0]: \"10.0.0.0/8\" is not a "
	  "mapping (expected a mapping with keys: address, netmask, active, "
	  "comment)" },
	{ "accessible_ip:\n  entries: {}\n",
	  "t.yaml:2:12: accessible_ip.entries: a mapping is not a sequence "
	  "(expected a sequence of entries with address:)" },
	{ "accessible_ip:\n  entries:\n    - address: 10.0.0.0/8\n"
	  "      comment: \"0123456789012345678901234567890123456789"
	  "012345678901234567890123\"\n",
	  "t.yaml:4:16: accessible_ip.entries[0].comment: 64 bytes is too long "
	  "(expected printable text of at most 63 bytes)" },
	/* accessible_ip: overlaps and duplicates name both lines */
	{ "accessible_ip:\n  entries:\n    - address: 10.0.0.0/8\n"
	  "    - address: 192.168.0.0/16\n    - address: 10.1.0.0/16\n",
	  "t.yaml:5:16: accessible_ip.entries[2].address: 10.1.0.0/16 overlaps "
	  "10.0.0.0/8 at line 3 (expected entries that do not overlap)" },
	{ "accessible_ip:\n  entries:\n    - address: 10.1.0.0/16\n"
	  "    - address: 10.0.0.0/8\n",
	  "t.yaml:4:16: accessible_ip.entries[1].address: 10.0.0.0/8 overlaps "
	  "10.1.0.0/16 at line 3 (expected entries that do not overlap)" },
	{ "accessible_ip:\n  entries:\n    - address: 10.0.0.0/8\n"
	  "    - {address: 10.0.0.0, netmask: 255.0.0.0}\n",
	  "t.yaml:4:17: accessible_ip.entries[1].address: 10.0.0.0/8 "
	  "duplicates the entry at line 3 (expected each network once)" },
	{ "accessible_ip:\n  entries:\n    - address: 192.168.1.7\n"
	  "    - address: 192.168.1.7/32\n      active: false\n",
	  "t.yaml:4:16: accessible_ip.entries[1].address: 192.168.1.7/32 "
	  "duplicates the entry at line 3 (expected each network once)" },
	{ "accessible_ip:\n  entries:\n    - address: \"2001:db8::/32\"\n"
	  "    - address: \"2001:db8:ffff::/48\"\n",
	  "t.yaml:4:16: accessible_ip.entries[1].address: 2001:db8:ffff::/48 "
	  "overlaps 2001:db8::/32 at line 3 (expected entries that do not "
	  "overlap)" },
	/* guide 3.4 */
	{ "accessible_ip:\n  apply_additional_restrictions: true\n",
	  "t.yaml:2:34: accessible_ip.apply_additional_restrictions: can only "
	  "be activated if accessible_ip.activate is true (guide 3.4; "
	  "expected false, or activate: true)" },
	/* ports */
	{ "services:\n  modbus-tcp:\n    enabled: true\n  dnp3:\n"
	  "    enabled: true\n    port: 502\n",
	  "t.yaml:6:11: services.dnp3.port: tcp port 502 is also used by "
	  "services.modbus-tcp.port by default (expected a port no other "
	  "enabled service uses)" },
	{ "services:\n  modbus-tcp:\n    enabled: true\n    port: 7502\n",
	  "t.yaml:4:11: services.modbus-tcp.port: tcp port 7502 is also used "
	  "by services.modbus-tcp.priority_port by default (expected a port no "
	  "other enabled service uses)" },
	{ "services:\n  dnp3:\n    enabled: true\n    port: 2222\n"
	  "  ethernet-ip:\n    enabled: true\n    implicit_port: 2222\n",
	  "t.yaml:7:20: services.ethernet-ip.implicit_port: udp port 2222 is "
	  "also used by services.dnp3.port at line 4 (expected a port no "
	  "other enabled service uses)" },
	/* base */
	{ "base: nope.yaml\n",
	  "t.yaml:1:7: base: " NOWHERE "/nope.yaml: cannot open: No such file "
	  "or directory" },
	{ "base: {a: 1}\n",
	  "t.yaml:1:7: base: not a profile name or file name (expected "
	  "hardened, factory or a path)" },
	{ "base: \"\"\n",
	  "t.yaml:1:7: base: not a profile name or file name (expected "
	  "hardened, factory or a path)" },
	{ "base: hardened\nbase: factory\n",
	  "t.yaml:2:1: base: duplicate key (first at line 1)" },
	{ "device:\n  base: hardened\n",
	  "t.yaml:2:3: device.base: unknown key (expected one of: name, "
	  "location, description, contact)" },
	/* errors inside a base come from the base */
	{ "base: factory\naccounts: {}\n",
	  "t.yaml:2:1: accounts: section reserved for a later version of "
	  "sluice; this build does not support it" },
	/* console */
	{ "console: []\n",
	  "t.yaml:1:10: console: a sequence is not a mapping (expected a "
	  "mapping with keys: session_idle_timeout, session_lifetime, "
	  "max_sessions, max_accounts, max_connections_per_source, "
	  "request_timeout, max_body_bytes, serve_over_http, "
	  "login_failure_message)" },
	{ "console:\n  idle_timeout: 600\n",
	  "t.yaml:2:3: console.idle_timeout: unknown key (expected one of: "
	  "session_idle_timeout, session_lifetime, max_sessions, max_accounts, "
	  "max_connections_per_source, request_timeout, max_body_bytes, "
	  "serve_over_http, login_failure_message)" },
	{ "console:\n  session_idle_timeout: 59\n",
	  "t.yaml:2:25: console.session_idle_timeout: 59 is out of range "
	  "(expected 60..86400)" },
	{ "console:\n  session_idle_timeout: 86401\n",
	  "t.yaml:2:25: console.session_idle_timeout: 86401 is out of range "
	  "(expected 60..86400)" },
	{ "console:\n  session_idle_timeout: \"600\"\n",
	  "t.yaml:2:25: console.session_idle_timeout: \"600\" is not a decimal "
	  "integer (expected 60..86400)" },
	{ "console:\n  session_lifetime: 299\n",
	  "t.yaml:2:21: console.session_lifetime: 299 is out of range "
	  "(expected 300..604800)" },
	{ "console:\n  session_lifetime: 604801\n",
	  "t.yaml:2:21: console.session_lifetime: 604801 is out of range "
	  "(expected 300..604800)" },
	{ "console:\n  max_sessions: 0\n",
	  "t.yaml:2:17: console.max_sessions: 0 is out of range "
	  "(expected 1..1024)" },
	{ "console:\n  max_sessions: 1025\n",
	  "t.yaml:2:17: console.max_sessions: 1025 is out of range "
	  "(expected 1..1024)" },
	{ "console:\n  max_accounts: 0\n",
	  "t.yaml:2:17: console.max_accounts: 0 is out of range "
	  "(expected 1..64)" },
	{ "console:\n  max_accounts: 65\n",
	  "t.yaml:2:17: console.max_accounts: 65 is out of range "
	  "(expected 1..64)" },
	{ "console:\n  max_connections_per_source: 0\n",
	  "t.yaml:2:31: console.max_connections_per_source: 0 is out of range "
	  "(expected 1..1024)" },
	{ "console:\n  max_connections_per_source: 1025\n",
	  "t.yaml:2:31: console.max_connections_per_source: 1025 is out of "
	  "range (expected 1..1024)" },
	{ "console:\n  request_timeout: 4\n",
	  "t.yaml:2:20: console.request_timeout: 4 is out of range "
	  "(expected 5..300)" },
	{ "console:\n  request_timeout: 301\n",
	  "t.yaml:2:20: console.request_timeout: 301 is out of range "
	  "(expected 5..300)" },
	{ "console:\n  request_timeout: -5\n",
	  "t.yaml:2:20: console.request_timeout: \"-5\" is not a decimal "
	  "integer (expected 5..300)" },
	{ "console:\n  max_body_bytes: 4095\n",
	  "t.yaml:2:19: console.max_body_bytes: 4095 is out of range "
	  "(expected 4096..16777216)" },
	{ "console:\n  max_body_bytes: 16777217\n",
	  "t.yaml:2:19: console.max_body_bytes: 16777217 is out of range "
	  "(expected 4096..16777216)" },
	{ "console:\n  max_body_bytes: 1e6\n",
	  "t.yaml:2:19: console.max_body_bytes: \"1e6\" is not a decimal "
	  "integer (expected 4096..16777216)" },
	{ "console:\n  serve_over_http: yes\n",
	  "t.yaml:2:20: console.serve_over_http: \"yes\" is not a boolean "
	  "(expected true or false)" },
	{ "console:\n  serve_over_http: 1\n",
	  "t.yaml:2:20: console.serve_over_http: \"1\" is not a boolean "
	  "(expected true or false)" },
	{ "console:\n  login_failure_message: \"a\\tb\"\n",
	  "t.yaml:2:26: console.login_failure_message: contains non-printable "
	  "character U+0009 (expected printable text and newlines)" },
	{ "console:\n  login_failure_message:\n",
	  "t.yaml:2:25: console.login_failure_message: an empty value is not "
	  "a string (expected printable text and newlines; write \"\" for "
	  "none)" },
	{ "console:\n  login_failure_message: [a]\n",
	  "t.yaml:2:26: console.login_failure_message: a sequence is not a "
	  "string (expected printable text and newlines)" },
	/* the lifetime bounds the idle timeout; named where it was written */
	{ "console:\n  session_lifetime: 300\n",
	  "t.yaml:2:21: console.session_lifetime: 300 s is shorter than "
	  "console.session_idle_timeout (600 s) (expected session_lifetime >= "
	  "session_idle_timeout)" },
	{ "console:\n  session_idle_timeout: 14401\n",
	  "t.yaml:2:25: console.session_idle_timeout: 14401 s is longer than "
	  "console.session_lifetime (14400 s) (expected session_idle_timeout "
	  "<= session_lifetime)" },
	{ "console:\n  session_idle_timeout: 3600\n  session_lifetime: 1800\n",
	  "t.yaml:3:21: console.session_lifetime: 1800 s is shorter than "
	  "console.session_idle_timeout (3600 s) (expected session_lifetime >= "
	  "session_idle_timeout)" },
	{ "base: factory\nconsole:\n  session_idle_timeout: 28801\n",
	  "t.yaml:3:25: console.session_idle_timeout: 28801 s is longer than "
	  "console.session_lifetime (28800 s) (expected session_idle_timeout "
	  "<= session_lifetime)" },
	/* a key the import minimum would refuse */
	{ "certificates:\n  key: rsa-2048\n",
	  "t.yaml:2:8: certificates.key: an RSA key of 2048 bits is smaller "
	  "than certificates.min_rsa_bits (3072): certificates for it could "
	  "not be imported (expected a larger key or ec-p256)" },
	/* tls */
	{ "tls: \"1.3\"\n",
	  "t.yaml:1:6: tls: \"1.3\" is not a mapping (expected a mapping with "
	  "keys: min_version, max_handshakes, handshakes_per_second)" },
	{ "tls:\n  ciphers: [aes]\n",
	  "t.yaml:2:3: tls.ciphers: unknown key (expected one of: min_version, "
	  "max_handshakes, handshakes_per_second)" },
	{ "tls:\n  min_version: 1.1\n",
	  "t.yaml:2:16: tls.min_version: \"1.1\" is not a valid value "
	  "(expected 1.2 or 1.3)" },
	{ "tls:\n  min_version: \"1.0\"\n",
	  "t.yaml:2:16: tls.min_version: \"1.0\" is not a valid value "
	  "(expected 1.2 or 1.3)" },
	{ "tls:\n  min_version: 1.20\n",
	  "t.yaml:2:16: tls.min_version: \"1.20\" is not a valid value "
	  "(expected 1.2 or 1.3)" },
	{ "tls:\n  min_version: TLSv1.3\n",
	  "t.yaml:2:16: tls.min_version: \"TLSv1.3\" is not a valid value "
	  "(expected 1.2 or 1.3)" },
	{ "tls:\n  min_version: 771\n",
	  "t.yaml:2:16: tls.min_version: \"771\" is not a valid value "
	  "(expected 1.2 or 1.3)" },
	{ "tls:\n  min_version:\n",
	  "t.yaml:2:15: tls.min_version: an empty value is not a valid value "
	  "(expected 1.2 or 1.3)" },
	{ "tls:\n  max_handshakes: 0\n",
	  "t.yaml:2:19: tls.max_handshakes: 0 is out of range "
	  "(expected 1..4096)" },
	{ "tls:\n  max_handshakes: 4097\n",
	  "t.yaml:2:19: tls.max_handshakes: 4097 is out of range "
	  "(expected 1..4096)" },
	{ "tls:\n  handshakes_per_second: 0\n",
	  "t.yaml:2:26: tls.handshakes_per_second: 0 is out of range "
	  "(expected 1..100000)" },
	{ "tls:\n  handshakes_per_second: 100001\n",
	  "t.yaml:2:26: tls.handshakes_per_second: 100001 is out of range "
	  "(expected 1..100000)" },
	/* certificates */
	{ "certificates:\n  ca: x\n",
	  "t.yaml:2:3: certificates.ca: unknown key (expected one of: key, "
	  "min_rsa_bits, names, renew_days)" },
	{ "certificates:\n  key: rsa-1024\n",
	  "t.yaml:2:8: certificates.key: \"rsa-1024\" is not a valid value "
	  "(expected ec-p256, rsa-2048, rsa-3072 or rsa-4096)" },
	{ "certificates:\n  key: EC-P256\n",
	  "t.yaml:2:8: certificates.key: \"EC-P256\" is not a valid value "
	  "(expected ec-p256, rsa-2048, rsa-3072 or rsa-4096)" },
	{ "certificates:\n  min_rsa_bits: 1024\n",
	  "t.yaml:2:17: certificates.min_rsa_bits: \"1024\" is not a valid "
	  "value (expected one of 2048, 3072, 4096)" },
	{ "certificates:\n  min_rsa_bits: 3000\n",
	  "t.yaml:2:17: certificates.min_rsa_bits: \"3000\" is not a valid "
	  "value (expected one of 2048, 3072, 4096)" },
	{ "certificates:\n  min_rsa_bits: \"3072\"\n",
	  "t.yaml:2:17: certificates.min_rsa_bits: \"3072\" is not a valid "
	  "value (expected one of 2048, 3072, 4096)" },
	{ "certificates:\n  renew_days: 0\n",
	  "t.yaml:2:15: certificates.renew_days: 0 is out of range "
	  "(expected 1..365)" },
	{ "certificates:\n  renew_days: 366\n",
	  "t.yaml:2:15: certificates.renew_days: 366 is out of range "
	  "(expected 1..365)" },
	{ "certificates:\n  names: gw.example.net\n",
	  "t.yaml:2:10: certificates.names: \"gw.example.net\" is not a "
	  "sequence (expected a sequence of DNS names and IP addresses, e.g. "
	  "[gw.example.net, 192.0.2.10])" },
	{ "certificates:\n  names: {gw: x}\n",
	  "t.yaml:2:10: certificates.names: a mapping is not a sequence "
	  "(expected a sequence of DNS names and IP addresses, e.g. "
	  "[gw.example.net, 192.0.2.10])" },
	{ "certificates:\n  names: [gw_1.example.net]\n",
	  "t.yaml:2:11: certificates.names[0]: \"gw_1.example.net\" is not a "
	  "DNS name or an IP address (expected e.g. gw.example.net, 192.0.2.10 "
	  "or 2001:db8::10; no wildcards)" },
	{ "certificates:\n  names: [gw.example.net, \"*.example.net\"]\n",
	  "t.yaml:2:27: certificates.names[1]: \"*.example.net\" is not a DNS "
	  "name or an IP address (expected e.g. gw.example.net, 192.0.2.10 or "
	  "2001:db8::10; no wildcards)" },
	{ "certificates:\n  names:\n    - 10.0.0.256\n",
	  "t.yaml:3:7: certificates.names[0]: \"10.0.0.256\" is not a DNS name "
	  "or an IP address (expected e.g. gw.example.net, 192.0.2.10 or "
	  "2001:db8::10; no wildcards)" },
	{ "certificates:\n  names:\n    - \"fe80::1%eth0\"\n",
	  "t.yaml:3:7: certificates.names[0]: \"fe80::1%eth0\" is not a DNS "
	  "name or an IP address (expected e.g. gw.example.net, 192.0.2.10 or "
	  "2001:db8::10; no wildcards)" },
	{ "certificates:\n  names:\n    - \"::ffff:192.0.2.1\"\n",
	  "t.yaml:3:7: certificates.names[0]: \"::ffff:192.0.2.1\" is an "
	  "IPv4-mapped IPv6 address (expected the IPv4 form, e.g. "
	  "192.0.2.10)" },
	{ "certificates:\n  names:\n    - gw.example.net.\n",
	  "t.yaml:3:7: certificates.names[0]: \"gw.example.net.\" is not a "
	  "DNS name or an IP address (expected e.g. gw.example.net, 192.0.2.10 "
	  "or 2001:db8::10; no wildcards)" },
	{ "certificates:\n  names:\n    - \"\"\n",
	  "t.yaml:3:7: certificates.names[0]: \"\" is not a DNS name or an IP "
	  "address (expected e.g. gw.example.net, 192.0.2.10 or 2001:db8::10; "
	  "no wildcards)" },
	{ "certificates:\n  names:\n    - ~\n",
	  "t.yaml:3:7: certificates.names[0]: null is not a DNS name or an IP "
	  "address (expected e.g. gw.example.net, 192.0.2.10 or "
	  "2001:db8::10)" },
	{ "certificates:\n  names:\n    - [gw]\n",
	  "t.yaml:3:7: certificates.names[0]: a sequence is not a DNS name or "
	  "an IP address (expected e.g. gw.example.net, 192.0.2.10 or "
	  "2001:db8::10)" },
	{ "certificates:\n  names:\n    - \"192.0.2.1\\0x\"\n",
	  "t.yaml:3:7: certificates.names[0]: contains a NUL character "
	  "(expected a DNS name or an IP address)" },
	{ "certificates:\n  names:\n    - gw.example.net\n"
	  "    - GW.Example.NET\n",
	  "t.yaml:4:7: certificates.names[1]: \"GW.Example.NET\" is the same "
	  "name as certificates.names[0] at line 3 (expected each name "
	  "once)" },
	{ "certificates:\n  names:\n    - \"2001:db8::1\"\n"
	  "    - 192.0.2.1\n    - \"2001:DB8:0:0::1\"\n",
	  "t.yaml:5:7: certificates.names[2]: \"2001:DB8:0:0::1\" is the same "
	  "name as certificates.names[0] at line 3 (expected each name "
	  "once)" },
};

static void
test_bad_inline(void **state)
{
	struct policy_error err;
	struct policy *p;
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		memset(&err, 0, sizeof(err));
		p = load_str(c->yaml, &err);
		if (p != NULL) {
			print_error("case %zu loaded: %s\n", i, c->yaml);
			policy_free(p);
			failed++;
		} else if (strcmp(err.msg, c->msg) != 0) {
			print_error("case %zu:\n  got:  %s\n  want: %s\n", i,
			    err.msg, c->msg);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static void
test_reserved(void **state)
{
	static const char *const names[] = {
		"accounts", "snmp", "mail", "dnp3", "iec104", "ethernet_ip",
		"bacnet", "update",
	};
	struct policy_error err;
	char yaml[128], want[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(yaml, sizeof(yaml), "device: {}\n%s:\n  x: 1\n",
		    names[i]);
		snprintf(want, sizeof(want), "t.yaml:2:1: %s: section reserved "
		    "for a later version of sluice; this build does not "
		    "support it", names[i]);
		assert_null(load_str(yaml, &err));
		assert_string_equal(err.msg, want);
	}
}

/* Both messages: at most 500 characters, however many bytes they take. */
static void
test_message_length(void **state)
{
	static const char *const keys[] = { "login_message",
	    "console:\n  login_failure_message" };
	struct policy_error err;
	struct policy *p;
	char yaml[4096], want[256];
	size_t i, k, at;

	(void)state;
	for (k = 0; k < 2; k++) {
		/* 499 two-byte characters and a newline: 500, in 999 bytes */
		at = (size_t)snprintf(yaml, sizeof(yaml), "%s: \"", keys[k]);
		for (i = 0; i < 499; i++)
			at += (size_t)snprintf(yaml + at, sizeof(yaml) - at,
			    "\xc3\xa9");
		snprintf(yaml + at, sizeof(yaml) - at, "\\n\"\n");
		assert_non_null(p = load_str(yaml, &err));
		assert_int_equal(strlen(k == 0 ? p->login_message :
		    p->console.login_failure_message), 999);
		policy_free(p);
		/* one more */
		snprintf(yaml + at, sizeof(yaml) - at, "\\nx\"\n");
		assert_null(load_str(yaml, &err));
		snprintf(want, sizeof(want), "t.yaml:%d:%d: %s: 501 characters "
		    "is too long (expected at most 500)", k == 0 ? 1 : 2,
		    k == 0 ? 16 : 26, k == 0 ? "login_message" :
		    "console.login_failure_message");
		assert_string_equal(err.msg, want);
	}
}

/* Every test/policy/bad/NAME.yaml fails with its "# expect:" line. */
static void
test_bad_files(void **state)
{
	struct policy_error err;
	struct dirent *de;
	size_t n = 0, failed = 0;
	DIR *d;

	(void)state;
	assert_non_null(d = opendir("bad"));
	while ((de = readdir(d)) != NULL) {
		char path[512], *text, *want, *nl;
		size_t len = strlen(de->d_name);
		struct policy *p;

		if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		snprintf(path, sizeof(path), "bad/%s", de->d_name);
		text = slurp(path, NULL);
		if (strncmp(text, "# expect: ", 10) != 0)
			fail_msg("%s: first line must be '# expect: MESSAGE'",
			    path);
		want = text + 10;
		if ((nl = strchr(want, '\n')) != NULL)
			*nl = '\0';
		p = policy_load_file(path, &err);
		if (p != NULL) {
			print_error("%s loaded\n", path);
			policy_free(p);
			failed++;
		} else if (strcmp(err.msg, want) != 0) {
			print_error("%s:\n  got:  %s\n  want: %s\n", path,
			    err.msg, want);
			failed++;
		}
		free(text);
		n++;
	}
	closedir(d);
	assert_true(n >= 10);
	assert_int_equal(failed, 0);
}

/* ------------------------------------------------------------------ */
/* Defaults, profiles, shipped files                                   */
/* ------------------------------------------------------------------ */

static void
assert_hardened(const struct policy *p)
{
	unsigned i, e;

	assert_string_equal(p->device.name, "sluice");
	assert_string_equal(p->device.location, "");
	assert_string_equal(p->device.description, "");
	assert_string_equal(p->device.contact, "");
	for (i = 0; i < REGISTRY_COUNT; i++) {
		const struct registry_service *s = registry_get(i);

		assert_int_equal(p->services[i].enabled, s->hardened_enabled);
		for (e = 0; e < s->n_endpoints; e++)
			assert_int_equal(p->services[i].ports[e],
			    s->endpoints[e].port);
	}
	assert_false(p->accessible_ip.activate);
	assert_false(p->accessible_ip.apply_additional_restrictions);
	assert_int_equal(p->accessible_ip.n_entries, 0);
	assert_true(p->dos_defense.null_scan);
	assert_true(p->dos_defense.xmas_scan);
	assert_true(p->dos_defense.nmap_xmas_scan);
	assert_true(p->dos_defense.syn_fin_scan);
	assert_true(p->dos_defense.fin_scan);
	assert_true(p->dos_defense.nmap_id_scan);
	assert_true(p->dos_defense.syn_rst_scan);
	assert_true(p->dos_defense.new_without_syn);
	assert_true(p->dos_defense.invalid_state);
	assert_true(p->dos_defense.syn_flood.enabled);
	assert_int_equal(p->dos_defense.syn_flood.rate, 200);
	assert_int_equal(p->dos_defense.syn_flood.burst, 400);
	assert_true(p->dos_defense.icmp_limit.enabled);
	assert_int_equal(p->dos_defense.icmp_limit.rate, 10);
	assert_int_equal(p->dos_defense.icmp_limit.burst, 20);
	assert_int_equal(p->password_policy.min_length, 16);
	assert_true(p->password_policy.require_digit);
	assert_true(p->password_policy.require_upper);
	assert_true(p->password_policy.require_lower);
	assert_true(p->password_policy.require_special);
	assert_int_equal(p->password_policy.lifetime_days, 90);
	assert_int_equal(p->password_policy.history, 5);
	assert_true(p->password_policy.reject_common);
	assert_true(p->password_policy.lockout.enabled);
	assert_int_equal(p->password_policy.lockout.attempts, 5);
	assert_int_equal(p->password_policy.lockout.window_s, 300);
	assert_int_equal(p->password_policy.lockout.duration_s, 600);
	assert_int_equal(p->password_policy.hash.time_cost, 2);
	assert_int_equal(p->password_policy.hash.memory_mib, 64);
	assert_string_equal(p->login_message, "");
	assert_int_equal(p->console.session_idle_s, 600);
	assert_int_equal(p->console.session_lifetime_s, 14400);
	assert_int_equal(p->console.max_sessions, 64);
	assert_int_equal(p->console.max_accounts, 16);
	assert_int_equal(p->console.max_conns_per_source, 8);
	assert_int_equal(p->console.request_timeout_s, 15);
	assert_int_equal(p->console.max_body_bytes, 1048576);
	assert_false(p->console.serve_over_http);
	assert_string_equal(p->console.login_failure_message, "");
	assert_int_equal(p->tls.min_version, 0x0303);
	assert_int_equal(p->tls.max_handshakes, 64);
	assert_int_equal(p->tls.handshakes_per_s, 200);
	assert_int_equal(p->certificates.key, POLICY_CERT_EC_P256);
	assert_int_equal(p->certificates.min_rsa_bits, 3072);
	assert_int_equal(p->certificates.n_names, 0);
	assert_int_equal(p->certificates.renew_days, 30);
	assert_int_equal(p->logging.local.max_bytes, 1048576);
	assert_int_equal(p->logging.local.files, 5);
	assert_string_equal(p->logging.syslog.server, "");
	assert_int_equal(p->logging.syslog.port, 514);
	assert_int_equal(p->logging.syslog.transport, POLICY_SYSLOG_UDP);
	assert_int_equal(p->logging.syslog.format, POLICY_SYSLOG_RFC5424);
	assert_int_equal(p->logging.syslog.facility, 16);
	for (i = 0; i < EVENTLOG_TYPE_COUNT; i++)
		assert_int_equal(p->logging.events[i],
		    EVENTLOG_SINK_LOCAL | EVENTLOG_SINK_SYSLOG);
}

/* A file without keys gets the hardened values, key by key. */
static void
test_defaults(void **state)
{
	struct policy_error err;
	struct policy *p;

	(void)state;
	assert_non_null(p = load_str("{}\n", &err));
	assert_string_equal(p->source, "t.yaml");
	assert_hardened(p);
	policy_free(p);
}

static void
test_profile_hardened(void **state)
{
	struct policy_error err;
	struct policy *file, *defaults, *based;

	(void)state;
	assert_non_null(file = policy_load_file(SHIPPED_HARD, &err));
	assert_hardened(file);
	assert_non_null(defaults = load_str("{}\n", &err));
	assert_non_null(based = load_str("base: hardened\n", &err));
	assert_true(policy_equal(file, defaults));
	assert_true(policy_equal(file, based));
	policy_free(file);
	policy_free(defaults);
	policy_free(based);
}

static void
test_profile_factory(void **state)
{
	struct policy_error err;
	struct policy *p, *q;
	unsigned i;

	(void)state;
	assert_non_null(p = policy_load_file(SHIPPED_FACTORY, &err));
	assert_non_null(q = load_str("base: factory\n", &err));
	assert_true(policy_equal(p, q));
	for (i = 0; i < REGISTRY_COUNT; i++)
		assert_int_equal(p->services[i].enabled,
		    registry_get(i)->factory_enabled);
	assert_false(p->accessible_ip.activate);
	assert_false(p->dos_defense.null_scan);
	assert_false(p->dos_defense.invalid_state);
	assert_false(p->dos_defense.syn_flood.enabled);
	assert_false(p->dos_defense.icmp_limit.enabled);
	assert_int_equal(p->password_policy.min_length, 8);
	assert_false(p->password_policy.require_digit);
	assert_false(p->password_policy.require_upper);
	assert_false(p->password_policy.require_lower);
	assert_false(p->password_policy.require_special);
	assert_int_equal(p->password_policy.lifetime_days, 0);
	assert_int_equal(p->password_policy.history, 0);
	assert_false(p->password_policy.reject_common);
	assert_false(p->password_policy.lockout.enabled);
	assert_int_equal(p->console.session_idle_s, 900);
	assert_int_equal(p->console.session_lifetime_s, 28800);
	assert_int_equal(p->console.max_sessions, 64);
	assert_int_equal(p->console.max_accounts, 16);
	assert_int_equal(p->console.max_conns_per_source, 16);
	assert_int_equal(p->console.request_timeout_s, 30);
	assert_int_equal(p->console.max_body_bytes, 1048576);
	assert_false(p->console.serve_over_http);
	assert_string_equal(p->console.login_failure_message, "");
	assert_int_equal(p->tls.min_version, 0x0303);
	assert_int_equal(p->tls.max_handshakes, 64);
	assert_int_equal(p->tls.handshakes_per_s, 200);
	assert_int_equal(p->certificates.key, POLICY_CERT_EC_P256);
	assert_int_equal(p->certificates.min_rsa_bits, 2048);
	assert_int_equal(p->certificates.n_names, 0);
	assert_int_equal(p->certificates.renew_days, 30);
	policy_free(p);
	policy_free(q);
}

static void
check_round_trip(const struct policy *p)
{
	struct policy_error err;
	struct policy *q;
	char *y, *y2;

	assert_non_null(y = policy_to_yaml(p));
	q = policy_load_buffer("normalised", y, strlen(y), NOWHERE, &err);
	if (q == NULL)
		fail_msg("%s: normalised form does not load: %s", p->source,
		    err.msg);
	assert_true(policy_equal(p, q));
	assert_int_equal(policy_diff(p, q, NULL, NULL), 0);
	assert_non_null(y2 = policy_to_yaml(q));
	assert_string_equal(y, y2);
	free(y);
	free(y2);
	policy_free(q);
}

static void
test_shipped(void **state)
{
	static const char *const files[] = {
		SHIPPED_DEFAULT, SHIPPED_HARD, SHIPPED_FACTORY,
	};
	struct policy_error err;
	struct policy *p, *d;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		p = policy_load_file(files[i], &err);
		if (p == NULL)
			fail_msg("%s: %s", files[i], err.msg);
		check_round_trip(p);
		policy_free(p);
	}
	/* The embedded default is etc/sluice.yaml. */
	assert_non_null(p = policy_load_file(SHIPPED_DEFAULT, &err));
	assert_non_null(d = policy_load_default(&err));
	assert_string_equal(d->source, "<embedded>");
	assert_true(policy_equal(p, d));
	assert_true(d->services[REGISTRY_HTTPS].enabled);
	assert_true(d->services[REGISTRY_MODBUS_TCP].enabled);
	assert_false(d->services[REGISTRY_HTTP].enabled);
	assert_false(d->services[REGISTRY_TELNET].enabled);
	assert_int_equal(d->password_policy.min_length, 16);
	policy_free(p);
	policy_free(d);
}

static void
test_embedded_match_files(void **state)
{
	char *a, *b, *c;

	(void)state;
	a = slurp(SHIPPED_DEFAULT, NULL);
	b = slurp(SHIPPED_HARD, NULL);
	c = slurp(SHIPPED_FACTORY, NULL);
	assert_string_equal(policy_default_yaml, a);
	assert_string_equal(policy_profile_hardened_yaml, b);
	assert_string_equal(policy_profile_factory_yaml, c);
	free(a);
	free(b);
	free(c);
}

/* Every good/ file loads. */
static void
test_good_files(void **state)
{
	static const char *const files[] = {
		"good/site.yaml", "good/on-factory.yaml", "good/chain-top.yaml",
		"good/chain-mid.yaml", "good/sub/chain-bottom.yaml",
		"good/depth-0.yaml", "good/override-weak.yaml",
		"good/modbus.yaml",
	};
	struct policy_error err;
	struct policy *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if ((p = policy_load_file(files[i], &err)) == NULL)
			fail_msg("%s: %s", files[i], err.msg);
		check_round_trip(p);
		policy_free(p);
	}
}

/* ------------------------------------------------------------------ */
/* Layering                                                            */
/* ------------------------------------------------------------------ */

static void
test_layering(void **state)
{
	struct policy_error err;
	struct policy *p;
	int t;

	(void)state;
	/* top -> mid -> sub/bottom -> factory */
	assert_non_null(p = policy_load_file("good/chain-top.yaml", &err));
	assert_string_equal(p->source, "good/chain-top.yaml");
	/* mappings merge key by key, the nearest file winning */
	assert_string_equal(p->device.name, "bottom");
	assert_string_equal(p->device.location, "mid");
	assert_string_equal(p->device.contact, "top");
	assert_true(p->dos_defense.syn_flood.enabled);	/* bottom */
	assert_false(p->dos_defense.icmp_limit.enabled);	/* factory */
	assert_int_equal(p->password_policy.min_length, 8);	/* factory */
	assert_true(p->services[REGISTRY_HTTP].enabled);	/* factory */
	/* sequences replace: mid's one entry, not bottom's two */
	assert_int_equal(p->accessible_ip.n_entries, 1);
	assert_int_equal(p->accessible_ip.entries[0].prefix, 16);
	assert_memory_equal(p->accessible_ip.entries[0].addr,
	    "\x0a\x14\x00\x00", 4);
	/* events: mid's group, top's event, the base's rest */
	for (t = 0; t < EVENTLOG_TYPE_COUNT; t++) {
		uint8_t want = EVENTLOG_SINK_LOCAL | EVENTLOG_SINK_SYSLOG;

		if (t == EVENTLOG_COLD_START)
			want = 0;
		else if (eventlog_type_info(t)->group == EVENTLOG_SYSTEM)
			want = EVENTLOG_SINK_LOCAL;
		assert_int_equal(p->logging.events[t], want);
	}
	policy_free(p);

	/* four bases is the limit (bad/depth.yaml has five) */
	assert_non_null(p = policy_load_file("good/depth-0.yaml", &err));
	assert_string_equal(p->device.location, "depth 0");
	assert_string_equal(p->device.contact, "depth 4");
	policy_free(p);

	/* a bad value in a base is fine when the file replaces it */
	assert_non_null(p = policy_load_file("good/override-weak.yaml", &err));
	assert_int_equal(p->password_policy.min_length, 12);
	policy_free(p);

	/* factory below, one change on top */
	assert_non_null(p = policy_load_file("good/on-factory.yaml", &err));
	assert_int_equal(p->password_policy.min_length, 12);
	assert_false(p->password_policy.require_digit);
	assert_true(p->services[REGISTRY_TELNET].enabled ==
	    registry_get(REGISTRY_TELNET)->factory_enabled);
	policy_free(p);

	/* buffers resolve a relative base against basedir */
	assert_non_null(p = policy_load_buffer("buf", "base: chain-mid.yaml\n",
	    21, "good", &err));
	assert_string_equal(p->device.location, "mid");
	policy_free(p);
	assert_null(policy_load_buffer("buf", "base: chain-mid.yaml\n", 21,
	    NULL, &err));
	assert_string_equal(err.msg, "buf:1:7: base: chain-mid.yaml: cannot "
	    "open: No such file or directory");

	/* the base's file is named when its value is wrong */
	assert_null(policy_load_buffer("buf", "base: inc/weak.yaml\n", 20,
	    "bad", &err));
	assert_string_equal(err.msg, "bad/inc/weak.yaml:3:15: "
	    "password_policy.min_length: 7 is out of range (expected 8..128)");
}

/* ------------------------------------------------------------------ */
/* accessible_ip                                                       */
/* ------------------------------------------------------------------ */

static void
test_acl_forms(void **state)
{
	static const char yaml[] =
	    "accessible_ip:\n"
	    "  activate: true\n"
	    "  entries:\n"
	    "    - address: \"2001:db8::/32\"\n"
	    "    - address: 192.168.1.120\n"
	    "      netmask: 255.255.255.255\n"
	    "    - address: 192.168.1.128\n"
	    "      netmask: 255.255.255.128\n"
	    "      active: false\n"
	    "      comment: \"upper half\"\n"
	    "    - address: 10.0.0.0/8\n"
	    "    - address: 172.16.0.1\n"
	    "    - address: \"fe80::1\"\n"
	    "    - address: 100.64.0.0/10\n"
	    "      active: false\n"
	    "    - address: \"2001:DB9::/32\"\n";
	struct policy_error err;
	struct policy *p;
	const struct policy_acl_entry *e;
	uint8_t v6[16];

	(void)state;
	p = load_str(yaml, &err);
	if (p == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(p->accessible_ip.n_entries, 8);
	e = p->accessible_ip.entries;
	/* sorted: IPv4 first, by address */
	assert_int_equal(e[0].family, AF_INET);
	assert_memory_equal(e[0].addr, "\x0a\x00\x00\x00", 4);
	assert_int_equal(e[0].prefix, 8);
	assert_true(e[0].active);
	assert_memory_equal(e[1].addr, "\x64\x40\x00\x00", 4);
	assert_int_equal(e[1].prefix, 10);
	assert_false(e[1].active);
	assert_memory_equal(e[2].addr, "\xac\x10\x00\x01", 4);
	assert_int_equal(e[2].prefix, 32);	/* bare address = host */
	assert_memory_equal(e[3].addr, "\xc0\xa8\x01\x78", 4);
	assert_int_equal(e[3].prefix, 32);	/* netmask 255.255.255.255 */
	assert_memory_equal(e[4].addr, "\xc0\xa8\x01\x80", 4);
	assert_int_equal(e[4].prefix, 25);	/* 255.255.255.128 */
	assert_false(e[4].active);
	assert_string_equal(e[4].comment, "upper half");
	assert_int_equal(e[5].family, AF_INET6);
	inet_pton(AF_INET6, "2001:db8::", v6);
	assert_memory_equal(e[5].addr, v6, 16);
	assert_int_equal(e[5].prefix, 32);
	inet_pton(AF_INET6, "2001:db9::", v6);
	assert_memory_equal(e[6].addr, v6, 16);
	inet_pton(AF_INET6, "fe80::1", v6);
	assert_memory_equal(e[7].addr, v6, 16);
	assert_int_equal(e[7].prefix, 128);	/* bare address = host */
	check_round_trip(p);
	policy_free(p);
}

/* A generated list of n /32 entries, plus extra at the end. */
static char *
acl_yaml(size_t n, const char *extra)
{
	size_t size = 64 + n * 40 + strlen(extra), o, i;
	char *y = malloc(size);

	assert_non_null(y);
	o = (size_t)snprintf(y, size, "accessible_ip:\n  entries:\n");
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(y + o, size - o,
		    "    - address: 10.%zu.%zu.%zu\n", i >> 16 & 0xff,
		    i >> 8 & 0xff, i & 0xff);
	snprintf(y + o, size - o, "%s", extra);
	return y;
}

static void
test_acl_scale(void **state)
{
	struct policy_error err;
	struct policy *p;
	double t0, t;
	char *y;

	(void)state;
	y = acl_yaml(POLICY_MAX_ACL_ENTRIES, "");
	t0 = now();
	p = load_str(y, &err);
	t = now() - t0;
	if (p == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(p->accessible_ip.n_entries, POLICY_MAX_ACL_ENTRIES);
	print_message("    %u entries loaded in %.1f ms\n",
	    POLICY_MAX_ACL_ENTRIES, t * 1e3);
	policy_free(p);
	free(y);

	/* one too many */
	y = acl_yaml(POLICY_MAX_ACL_ENTRIES + 1, "");
	assert_null(load_str(y, &err));
	assert_string_equal(err.msg, "t.yaml:16387:7: accessible_ip.entries"
	    "[16384]: more than 16384 entries (expected at most 16384)");
	free(y);

	/* the last overlaps the first: found without comparing all pairs */
	y = acl_yaml(POLICY_MAX_ACL_ENTRIES - 1, "    - address: 10.0.0.0/24\n");
	t0 = now();
	assert_null(load_str(y, &err));
	t = now() - t0;
	assert_string_equal(err.msg, "t.yaml:16386:16: accessible_ip.entries"
	    "[16383].address: 10.0.0.0/24 overlaps 10.0.0.0/32 at line 3 "
	    "(expected entries that do not overlap)");
	/* A figure, not a limit: timed asserts fail on a loaded CI box. */
	print_message("    the overlap found in %.1f ms\n", t * 1e3);
	free(y);
}

/* ------------------------------------------------------------------ */
/* Events, warnings                                                    */
/* ------------------------------------------------------------------ */

static void
test_events(void **state)
{
	static const char yaml[] =
	    "logging:\n"
	    "  events:\n"
	    "    login-failed: [syslog]\n"	/* before its group: still wins */
	    "    configuration: [local]\n"
	    "    network: []\n"
	    "    link-down: [syslog, local]\n";
	struct policy_error err;
	struct policy *p;
	int t;

	(void)state;
	assert_non_null(p = load_str(yaml, &err));
	for (t = 0; t < EVENTLOG_TYPE_COUNT; t++) {
		enum eventlog_group g = eventlog_type_info(t)->group;
		uint8_t want = EVENTLOG_SINK_LOCAL | EVENTLOG_SINK_SYSLOG;

		if (t == EVENTLOG_LOGIN_FAILED)
			want = EVENTLOG_SINK_SYSLOG;
		else if (t == EVENTLOG_LINK_DOWN)
			want = EVENTLOG_SINK_LOCAL | EVENTLOG_SINK_SYSLOG;
		else if (g == EVENTLOG_CONFIGURATION)
			want = EVENTLOG_SINK_LOCAL;
		else if (g == EVENTLOG_NETWORK)
			want = 0;
		assert_int_equal(p->logging.events[t], want);
	}
	policy_free(p);
}

static void
test_facility(void **state)
{
	struct policy_error err;
	struct policy *p;

	(void)state;
	assert_non_null(p = load_str("logging:\n  syslog:\n    facility: "
	    "authpriv\n", &err));
	assert_int_equal(p->logging.syslog.facility, 10);
	policy_free(p);
	assert_non_null(p = load_str("logging:\n  syslog:\n    facility: 0\n",
	    &err));
	assert_int_equal(p->logging.syslog.facility, 0);
	policy_free(p);
	assert_non_null(p = load_str("logging:\n  syslog:\n    facility: "
	    "local7\n", &err));
	assert_int_equal(p->logging.syslog.facility, 23);
	policy_free(p);
}

static void
test_warnings(void **state)
{
	static const char yaml[] =
	    "services:\n"
	    "  http:\n"
	    "    enabled: true\n"
	    "  telnet:\n"
	    "    enabled: true\n"
	    "  dnp3:\n"
	    "    enabled: true\n"
	    "  email-client:\n"
	    "    enabled: true\n"
	    "accessible_ip:\n"
	    "  activate: true\n";
	static const char *const want_fixed[] = {
		"services.syslog-client: enabled, but logging.syslog.server is "
		"empty: no events are sent to syslog",
		"t.yaml:3:14: services.http: enabled: a clear-text port (it "
		"redirects to https; guide 3.1: disable it and use https)",
		"t.yaml:5:14: services.telnet: enabled: a console in clear text "
		"(guide 3.1: disable it)",
	};
	struct policy_error err;
	struct policy *p;
	char want[256];
	size_t i, n;

	(void)state;
	assert_non_null(p = load_str(yaml, &err));
	for (i = 0; i < 3; i++)
		assert_string_equal(p->warnings[i], want_fixed[i]);
	n = 3;
	/* then one per enabled server this build lacks, in registry order */
	for (i = 0; i < REGISTRY_COUNT; i++) {
		const struct registry_service *s = registry_get(i);
		const char *where = i == REGISTRY_HTTP ? "t.yaml:3:14: " :
		    i == REGISTRY_TELNET ? "t.yaml:5:14: " :
		    i == REGISTRY_DNP3 ? "t.yaml:7:14: " : "";

		if (!p->services[i].enabled || s->implemented ||
		    s->role != REGISTRY_ROLE_SERVER)
			continue;
		snprintf(want, sizeof(want), "%sservices.%s: enabled, but this "
		    "build does not implement it yet; its port stays closed",
		    where, s->name);
		assert_true(n < p->n_warnings);
		assert_string_equal(p->warnings[n], want);
		n++;
	}
	assert_true(n < p->n_warnings);
	assert_string_equal(p->warnings[n], "accessible_ip: activated, but no "
	    "entry is active: every host is refused protocol access (guide "
	    "3.4)");
	assert_int_equal(p->n_warnings, n + 1);
	policy_free(p);

	/* a server: no warning for syslog; nothing about clients */
	assert_non_null(p = load_str("logging:\n  syslog:\n    server: "
	    "192.0.2.1\nservices:\n  https:\n    enabled: false\n", &err));
	assert_int_equal(p->n_warnings, 0);
	policy_free(p);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static void
test_golden(void **state)
{
	struct policy_error err;
	struct dirent *de;
	size_t n = 0, failed = 0;
	DIR *d;

	(void)state;
	assert_non_null(d = opendir("golden"));
	while ((de = readdir(d)) != NULL) {
		char in[512], exp[512];
		size_t len = strlen(de->d_name);
		struct policy *p;
		char *want, *got;

		if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		snprintf(in, sizeof(in), "golden/%s", de->d_name);
		snprintf(exp, sizeof(exp), "golden/%.*s.expected",
		    (int)(len - 5), de->d_name);
		if ((p = policy_load_file(in, &err)) == NULL)
			fail_msg("%s: %s", in, err.msg);
		assert_non_null(got = policy_to_yaml(p));
		want = slurp(exp, NULL);
		if (strcmp(got, want) != 0 && getenv("SLUICE_REGEN") != NULL) {
			/* SLUICE_REGEN=1: rewrite the goldens; review the diff. */
			FILE *f = fopen(exp, "w");

			assert_non_null(f);
			fputs(got, f);
			fclose(f);
		} else if (strcmp(got, want) != 0) {
			print_error("%s: normalised output differs from %s; "
			    "got:\n%s", in, exp, got);
			failed++;
		}
		check_round_trip(p);
		free(want);
		free(got);
		policy_free(p);
		n++;
	}
	closedir(d);
	assert_true(n >= 3);
	assert_int_equal(failed, 0);
}

struct text {
	char buf[8192];
	size_t len;
};

static void
diff_line(const char *path, const char *old, const char *new, void *arg)
{
	struct text *t = arg;

	t->len += (size_t)snprintf(t->buf + t->len, sizeof(t->buf) - t->len,
	    "%s: %s -> %s\n", path, old ? old : "(none)", new ? new : "(none)");
}

static void
flat_line(const char *path, const char *value, void *arg)
{
	struct text *t = arg;

	if (strncmp(path, "logging.events.", 15) == 0 ||
	    strncmp(path, "services.", 9) == 0)
		return;
	t->len += (size_t)snprintf(t->buf + t->len, sizeof(t->buf) - t->len,
	    "%s=%s\n", path, value);
}

static void
test_diff(void **state)
{
	static const char a_yaml[] =
	    "device:\n  location: \"hall 1\"\n"
	    "accessible_ip:\n  entries:\n"
	    "    - address: 10.0.0.0/8\n"
	    "    - address: 192.168.1.0/24\n      comment: \"lan\"\n"
	    "login_message: \"hi\"\n";
	static const char b_yaml[] =
	    "device:\n  location: \"hall 2\"\n"
	    "services:\n  modbus-tcp:\n    enabled: true\n    port: 1502\n"
	    "accessible_ip:\n  activate: true\n  entries:\n"
	    "    - address: 192.168.1.0/24\n      comment: \"LAN\"\n"
	    "      active: false\n"
	    "    - address: \"2001:db8::/32\"\n"
	    "logging:\n  events:\n    protocol: [local]\n";
	static const char want[] =
	    "device.location: \"hall 1\" -> \"hall 2\"\n"
	    "services.modbus-tcp.enabled: false -> true\n"
	    "services.modbus-tcp.port: 502 -> 1502\n"
	    "accessible_ip.activate: false -> true\n"
	    "accessible_ip.entries[10.0.0.0/8].active: true -> (none)\n"
	    "accessible_ip.entries[10.0.0.0/8].comment: \"\" -> (none)\n"
	    "accessible_ip.entries[192.168.1.0/24].active: true -> false\n"
	    "accessible_ip.entries[192.168.1.0/24].comment: \"lan\" -> \"LAN\"\n"
	    "accessible_ip.entries[2001:db8::/32].active: (none) -> true\n"
	    "accessible_ip.entries[2001:db8::/32].comment: (none) -> \"\"\n"
	    "login_message: \"hi\" -> \"\"\n"
	    "logging.events.protocol: [local, syslog] -> [local]\n"
	    "logging.events.malformed-request: [local, syslog] -> [local]\n"
	    "logging.events.connection-evicted: [local, syslog] -> [local]\n"
	    "logging.events.request-denied: [local, syslog] -> [local]\n";
	struct policy_error err;
	struct policy *a, *b;
	struct text t;

	(void)state;
	assert_non_null(a = load_str(a_yaml, &err));
	assert_non_null(b = load_str(b_yaml, &err));
	memset(&t, 0, sizeof(t));
	assert_int_equal(policy_diff(a, b, diff_line, &t), 15);
	assert_string_equal(t.buf, want);
	assert_false(policy_equal(a, b));
	assert_int_equal(policy_diff(a, a, diff_line, &t), 0);
	assert_int_equal(policy_diff(b, a, NULL, NULL), 15);

	/* flatten: schema order, entries keyed by content */
	memset(&t, 0, sizeof(t));
	policy_flatten(b, flat_line, &t);
	assert_non_null(strstr(t.buf,
	    "device.name=\"sluice\"\ndevice.location=\"hall 2\"\n"));
	assert_non_null(strstr(t.buf, "accessible_ip.activate=true\n"
	    "accessible_ip.apply_additional_restrictions=false\n"
	    "accessible_ip.entries[192.168.1.0/24].active=false\n"
	    "accessible_ip.entries[192.168.1.0/24].comment=\"LAN\"\n"
	    "accessible_ip.entries[2001:db8::/32].active=true\n"
	    "accessible_ip.entries[2001:db8::/32].comment=\"\"\n"
	    "dos_defense.null_scan=true\n"));
	assert_non_null(strstr(t.buf,
	    "logging.syslog.facility=local0\n"));
	policy_free(a);
	policy_free(b);
}

/* modbus: defaults, the worked example, canonical order, diff. */
static void
test_modbus(void **state)
{
	static const char a_yaml[] =
	    "modbus:\n"
	    "  tcp_channels:\n"
	    "    - {name: plc2, host: 192.0.2.10}\n"
	    "  serial_channels:\n"
	    "    - {name: line2, device: /dev/ttyS1, framing: ascii, "
	    "data_bits: 7}\n"
	    "    - {name: line1, device: /dev/ttyS0}\n"
	    "  routes:\n"
	    "    - {units: [40, 30-31], channel: plc2, map: {30: 1, 40: 2}}\n"
	    "    - {units: [0, 1-5], channel: line1, broadcast: true,\n"
	    "       functions: [16, 3]}\n"
	    "    - {units: 7, channel: line2, offset: -6}\n";
	/* The same, in another order. */
	static const char b_yaml[] =
	    "modbus:\n"
	    "  serial_channels:\n"
	    "    - {name: line1, device: /dev/ttyS0}\n"
	    "    - {device: /dev/ttyS1, name: line2, data_bits: 7, "
	    "framing: ascii}\n"
	    "  routes:\n"
	    "    - {units: 7, channel: line2, offset: -6}\n"
	    "    - {units: 0-5, channel: line1, broadcast: true,\n"
	    "       functions: [3, 16]}\n"
	    "    - {units: [30-31, 40], channel: plc2, map: {40: 2, 30: 1}}\n"
	    "  tcp_channels:\n"
	    "    - {name: plc2, host: 192.0.2.10}\n";
	struct policy_error err;
	struct policy *p, *a, *b, *c;
	const struct policy_modbus_route *r;
	struct text t;
	char *y;

	(void)state;
	/* hardened: nothing is forwarded until configured */
	assert_non_null(p = load_str("device: {}\n", &err));
	assert_int_equal(p->modbus.mode, POLICY_MODBUS_TRANSPARENT);
	assert_int_equal(p->modbus.listeners.max_connections, 256);
	assert_int_equal(p->modbus.listeners.idle_timeout_s, 300);
	assert_int_equal(p->modbus.n_serial, 0);
	assert_int_equal(p->modbus.n_tcp, 0);
	assert_int_equal(p->modbus.n_routes, 0);
	policy_free(p);

	/* the worked example */
	assert_non_null(p = policy_load_file("good/modbus.yaml", &err));
	assert_int_equal(p->modbus.n_serial, 1);
	assert_string_equal(p->modbus.serial[0].device, "/dev/ttyUSB0");
	assert_int_equal(p->modbus.serial[0].baud, 19200);
	assert_int_equal(p->modbus.serial[0].parity, POLICY_MODBUS_PARITY_EVEN);
	assert_int_equal(p->modbus.serial[0].read_retries, 3);
	assert_int_equal(p->modbus.tcp[0].port, 502);
	assert_int_equal(p->modbus.n_routes, 2);
	r = &p->modbus.routes[1];
	assert_int_equal(r->listen_port, 7502);
	assert_int_equal(r->offset, -19);
	assert_int_equal(r->channel_kind, POLICY_MODBUS_CHANNEL_TCP);
	assert_int_equal(r->channel_index, 0);
	assert_true(POLICY_MODBUS_UNIT_SET(r->units, 20));
	assert_true(POLICY_MODBUS_UNIT_SET(r->units, 29));
	assert_false(POLICY_MODBUS_UNIT_SET(r->units, 30));
	r = &p->modbus.routes[0];
	assert_int_equal(r->functions.mode, POLICY_MODBUS_FUNC_READ_ONLY);
	assert_true(POLICY_MODBUS_UNIT_SET(r->functions.codes, 3));
	assert_false(POLICY_MODBUS_UNIT_SET(r->functions.codes, 6));
	assert_false(POLICY_MODBUS_UNIT_SET(r->functions.codes, 16));
	policy_free(p);

	/* lists are sets: sorted, so order makes no difference */
	assert_non_null(a = load_str(a_yaml, &err));
	assert_non_null(b = load_str(b_yaml, &err));
	assert_true(policy_equal(a, b));
	assert_int_equal(policy_diff(a, b, NULL, NULL), 0);
	assert_string_equal(a->modbus.serial[0].name, "line1");
	assert_string_equal(a->modbus.serial[1].name, "line2");
	r = &a->modbus.routes[0];	/* lowest unit first */
	assert_true(POLICY_MODBUS_UNIT_SET(r->units, 0));
	assert_true(r->broadcast);
	assert_int_equal(r->channel_kind, POLICY_MODBUS_CHANNEL_SERIAL);
	assert_int_equal(r->channel_index, 0);
	assert_int_equal(r->functions.mode, POLICY_MODBUS_FUNC_LIST);
	assert_true(POLICY_MODBUS_UNIT_SET(r->functions.codes, 16));
	assert_false(POLICY_MODBUS_UNIT_SET(r->functions.codes, 1));
	r = &a->modbus.routes[1];
	assert_int_equal(r->channel_index, 1);
	assert_int_equal(r->offset, -6);
	r = &a->modbus.routes[2];
	assert_true(POLICY_MODBUS_UNIT_SET(r->map.mapped, 40));
	assert_int_equal(r->map.to[40], 2);
	assert_int_equal(r->map.to[30], 1);
	assert_non_null(y = policy_to_yaml(a));
	assert_non_null(strstr(y, "  routes:\n"
	    "    - units: [0-5]\n"
	    "      channel: \"line1\"\n"
	    "      listen_port: any\n"
	    "      offset: 0\n"
	    "      map: {}\n"
	    "      broadcast: true\n"
	    "      functions: [3, 16]\n"
	    "    - units: [7]\n"));
	assert_non_null(strstr(y, "    - units: [30-31, 40]\n"
	    "      channel: \"plc2\"\n"
	    "      listen_port: any\n"
	    "      offset: 0\n"
	    "      map: {30: 1, 40: 2}\n"));
	free(y);
	check_round_trip(a);

	/* diff: list items keyed by name, routes by units@listen_port */
	assert_non_null(c = load_str("modbus:\n  serial_channels:\n"
	    "    - {name: line1, device: /dev/ttyS0, baud: 19200}\n"
	    "  tcp_channels:\n    - {name: plc2, host: 192.0.2.10}\n"
	    "  routes:\n    - {units: [0, 1-5], channel: line1, "
	    "broadcast: true, functions: read-only}\n", &err));
	memset(&t, 0, sizeof(t));
	policy_diff(a, c, diff_line, &t);
	assert_non_null(strstr(t.buf,
	    "modbus.serial_channels[line1].baud: 9600 -> 19200\n"));
	assert_non_null(strstr(t.buf,
	    "modbus.serial_channels[line2].name: \"line2\" -> (none)\n"));
	assert_non_null(strstr(t.buf,
	    "modbus.routes[0-5@any].functions: [3, 16] -> read-only\n"));
	assert_non_null(strstr(t.buf,
	    "modbus.routes[7@any].channel: \"line2\" -> (none)\n"));
	assert_false(policy_equal(a, c));
	policy_free(a);
	policy_free(b);
	policy_free(c);

	/* warnings: routes nobody can reach; no parity with 1 stop bit */
	assert_non_null(p = load_str("modbus:\n  serial_channels:\n"
	    "    - {name: l, device: /dev/ttyS0, parity: none}\n"
	    "  routes:\n    - {units: 1, channel: l}\n", &err));
	assert_true(p->n_warnings >= 2);
	assert_string_equal(p->warnings[p->n_warnings - 2], "t.yaml:5:5: "
	    "modbus.routes: set, "
	    "but services.modbus-tcp is disabled: no master can reach them");
	assert_string_equal(p->warnings[p->n_warnings - 1], "t.yaml:3:5: "
	    "modbus.serial_channels[l]: parity none with 1 stop bit: the "
	    "serial line spec (2.5.1) asks for 2 stop bits without parity; "
	    "some devices will not answer");
	policy_free(p);
}

/* modbus refusals the bad/ files do not cover. */
#define FW_RULE(r) "modbus:\n  firewall:\n    rules:\n      - " r "\n"

static void
test_modbus_bad(void **state)
{
	static const struct bad_case cases[] = {
		{ "modbus:\n  tcp_channels:\n    - {name: t, host: h}\n"
		  "  routes:\n    - {units: [], channel: t}\n",
		  "t.yaml:5:15: modbus.routes[0].units: an empty list (expected "
		  "at least one unit, e.g. 1-31 or [1, 5-9])" },
		{ "modbus:\n  tcp_channels:\n    - {name: t, host: h}\n"
		  "  routes:\n    - {units: [1-3, 3], channel: t}\n",
		  "t.yaml:5:21: modbus.routes[0].units[1]: unit 3 is listed twice "
		  "(expected each unit once)" },
		{ "modbus:\n  tcp_channels:\n    - {name: t, host: h}\n"
		  "  routes:\n    - {units: 5-1, channel: t}\n",
		  "t.yaml:5:15: modbus.routes[0].units: \"5-1\" is out of range "
		  "(expected units 0..255, a range a-b with a <= b)" },
		{ "modbus:\n  tcp_channels:\n    - {name: t, host: h}\n"
		  "  routes:\n    - {units: 1, channel: t, map: {1: 0}}\n",
		  "t.yaml:5:39: modbus.routes[0].map.1: 0 is out of range "
		  "(expected 1..255)" },
		{ "modbus:\n  tcp_channels:\n    - {name: t, host: h}\n"
		  "  routes:\n    - {units: 1, channel: t, offset: \"1\"}\n",
		  "t.yaml:5:38: modbus.routes[0].offset: \"1\" is not a decimal "
		  "integer (expected -255..255)" },
		{ "modbus:\n  tcp_channels:\n    - {name: t, host: h}\n"
		  "  routes:\n    - {units: 1, channel: t, functions: []}\n",
		  "t.yaml:5:41: modbus.routes[0].functions: an empty list is not "
		  "a function list (expected all, read-only, read-write or a "
		  "list of function codes 1..127, e.g. [3, 16])" },
		{ "modbus:\n  tcp_channels:\n    - {name: t, host: h}\n"
		  "  routes:\n    - {units: 1, channel: t}\n"
		  "    - {units: 1, channel: t, listen_port: 502}\n"
		  "    - {units: 1, channel: t, listen_port: 502}\n",
		  "t.yaml:7:15: modbus.routes[2].units: 1 is also routed by "
		  "modbus.routes[1] at line 6 for listen_port 502 (expected "
		  "each unit routed once per listening port)" },
		{ "modbus:\n  serial_channels:\n"
		  "    - {name: a, device: /dev/a}\n"
		  "    - {name: a, device: /dev/b}\n",
		  "t.yaml:4:14: modbus.serial_channels[1].name: \"a\" is also "
		  "the name of modbus.serial_channels[0] at line 3 (expected a "
		  "name unique across all channels)" },
		{ "modbus:\n  tcp_channels:\n    - {name: t, host: \"\"}\n",
		  "t.yaml:3:23: modbus.tcp_channels[0].host: an empty value "
		  "(expected the slave's address or host name, e.g. "
		  "192.0.2.10)" },
		{ "modbus:\n  routes:\n    - {units: 1}\n",
		  "t.yaml:3:7: modbus.routes[0]: channel is missing (expected "
		  "channel: with e.g. line1)" },
		{ "modbus:\n  routes:\n    - {units: 1, channel: x}\n",
		  "t.yaml:3:27: modbus.routes[0].channel: \"x\" names no "
		  "channel (expected the name of a serial or TCP channel; none "
		  "is defined)" },
		{ "modbus:\n  serial_channels: {}\n",
		  "t.yaml:2:20: modbus.serial_channels: a mapping is not a "
		  "sequence (expected a sequence of mappings, e.g. - name: "
		  "line1)" },
		{ "modbus:\n  serial_channels:\n"
		  "    - {name: a, device: /dev/a, silence_ms: 1001}\n",
		  "t.yaml:3:45: modbus.serial_channels[0].silence_ms: 1001 is out "
		  "of range (expected 0..1000)" },
		/* modbus.firewall */
		{ FW_RULE("{name: r}"), "t.yaml:4:9: modbus.firewall.rules[0]: action is missing (e"
		  "xpected action: with e.g. allow)" },
		{ FW_RULE("{name: r, action: allow, from: []}"), "t.yaml:4:40: modbus.firewall.rules[0].from: an empty list "
		  "is not a list of networks (expected any, or e.g. [192.168."
		  "10.0/24, \"2001:db8::/32\"])" },
		{ FW_RULE("{name: r, action: allow, from: [10.0.0.1/33]}"), "t.yaml:4:41: modbus.firewall.rules[0].from[0]: \"10.0.0.1/"
		  "33\" is not an IP address or network (expected e.g. 192.16"
		  "8.1.0/24, 192.168.1.120 or 2001:db8::/32)" },
		{ FW_RULE("{name: r, action: allow, "
		  "holding_registers_read: [0-99, 50-60]}"), "t.yaml:4:58: modbus.firewall.rules[0].holding_registers_re"
		  "ad: ranges 0-99 and 50-60 overlap (expected each address o"
		  "nce)" },
		{ FW_RULE("{name: r, action: allow, coils_write: 70000}"), "t.yaml:4:47: modbus.firewall.rules[0].coils_write: \"70000"
		  "\" is not an address or range (expected 0..65535 or a rang"
		  "e a-b with a <= b, e.g. 0-99)" },
		{ FW_RULE("{name: r, action: allow, value_min: 10, "
		  "value_max: 5}"), "t.yaml:4:45: modbus.firewall.rules[0].value_min: 10 is abo"
		  "ve value_max 5 (expected value_min <= value_max)" },
		{ "modbus:\n  firewall:\n    rules:\n"
		  "      - {name: r, action: allow}\n"
		  "      - {name: r, action: deny}\n", "t.yaml:5:16: modbus.firewall.rules[1].name: \"r\" is also "
		  "the name of modbus.firewall.rules[0] at line 4 (expected u"
		  "nique rule names)" },
		{ FW_RULE("{name: r, action: maybe}"), "t.yaml:4:27: modbus.firewall.rules[0].action: \"maybe\" is"
		  " not a valid value (expected allow or deny)" },
		{ "modbus:\n  firewall:\n    default: block\n", "t.yaml:3:14: modbus.firewall.default: \"block\" is not a v"
		  "alid value (expected allow or deny)" },
	};
	struct policy_error err;
	struct policy *p;
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = load_str(cases[i].yaml, &err);
		if (p != NULL) {
			print_error("case %zu loaded\n", i);
			policy_free(p);
			failed++;
		} else if (strcmp(err.msg, cases[i].msg) != 0) {
			print_error("case %zu:\n  got:  %s\n  want: %s\n", i,
			    err.msg, cases[i].msg);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/* ------------------------------------------------------------------ */
/* Agent mode: tags, commands, the agent's map                         */
/* ------------------------------------------------------------------ */

/* Lines 1-10: two channels (l1 master, sl slave) and four commands. */
#define AG_BASE "modbus:\n  serial_channels:\n" \
	"    - {name: l1, device: /dev/ttyS0}\n" \
	"    - {name: sl, device: /dev/ttyS1, role: slave}\n" \
	"  commands:\n" \
	"    - {name: rd, channel: l1, unit: 1, function: 3, quantity: 10}\n" \
	"    - {name: wr, channel: l1, unit: 1, function: 16, quantity: 4}\n" \
	"    - {name: co, channel: l1, unit: 1, function: 1, quantity: 8}\n" \
	"    - {name: rw, channel: l1, unit: 1, function: 23, quantity: 4, " \
	"write_quantity: 2}\n"
#define AG_TAG(t)	AG_BASE "tags:\n  - " t "\n"
#define AG_TAGS(a, b)	AG_BASE "tags:\n  - " a "\n  - " b "\n"
#define AG_TAGS3(a, b, c) AG_BASE "tags:\n  - " a "\n  - " b "\n  - " c "\n"
/* Line 6: the command. */
#define AG_CMD(c) "modbus:\n  serial_channels:\n" \
	"    - {name: l1, device: /dev/ttyS0}\n" \
	"    - {name: sl, device: /dev/ttyS1, role: slave}\n" \
	"  commands:\n    - " c "\n"
/* modbus before tags: the map names tags written after it. */
#define AG_TAIL "tags:\n  - {name: t, command: rd}\n" \
	"  - {name: b, type: bool, command: co}\n" \
	"  - {name: f, type: float32, command: rd, at: 2}\n"
#define AG_AGENT(a)	AG_BASE "  agent:\n    " a "\n" AG_TAIL
#define AG_MAP(m)	AG_BASE "  agent:\n    map:\n      - " m "\n" AG_TAIL
#define AG_MAP2(a, b)	AG_BASE "  agent:\n    map:\n      - " a "\n" \
	"      - " b "\n" AG_TAIL
#define AG_STMAP(s, m)	AG_BASE "  agent:\n    status: " s "\n" \
	"    map:\n      - " m "\n" AG_TAIL

/* Every class of refusal for tags, commands and the agent's map. */
static void
test_agent_bad(void **state)
{
	static const struct bad_case cases[] = {
		{ "tags: {}\n",
		  "t.yaml:1:7: tags: a mapping is not a sequence "
		  "(expected a sequence of mappings, e.g. - name: "
		  "boiler.temp)" },
		{ AG_TAG("{type: bool}"),
		  "t.yaml:11:5: tags[0]: name is missing (expected name: "
		  "with e.g. boiler.temp)" },
		{ AG_TAG("{name: \"a b\"}"),
		  "t.yaml:11:12: tags[0].name: \"a b\" is not a valid name "
		  "(expected 1 to 63 characters from A-Z a-z 0-9 . _ -)" },
		{ AG_TAGS3("{name: a}", "{name: b}", "{name: a}"),
		  "t.yaml:13:12: tags[2].name: \"a\" is also the name of "
		  "tags[0] at line 11 (expected unique tag names)" },
		{ AG_TAG("{name: a, type: float}"),
		  "t.yaml:11:21: tags[0].type: \"float\" is not a valid "
		  "value (expected bool, int16, uint16, int32, uint32, "
		  "float32, float64 or string)" },
		{ AG_TAG("{name: a, type: string}"),
		  "t.yaml:11:5: tags[0]: length is missing (expected "
		  "length: 1..250 with type: string)" },
		{ AG_TAG("{name: a, type: string, length: 0}"),
		  "t.yaml:11:37: tags[0].length: 0 is out of range for a "
		  "string tag (expected 1..250 bytes)" },
		{ AG_TAG("{name: a, type: string, length: 251}"),
		  "t.yaml:11:37: tags[0].length: 251 is out of range "
		  "(expected 0..250)" },
		{ AG_TAG("{name: a, length: 2}"),
		  "t.yaml:11:23: tags[0].length: 2 is not allowed with "
		  "type: uint16 (expected 0 or no length:; a length is "
		  "for string tags)" },
		{ AG_TAG("{name: a, scale: 0}"),
		  "t.yaml:11:22: tags[0].scale: 0 is not allowed "
		  "(expected a number other than 0)" },
		{ AG_TAG("{name: a, scale: -0.0}"),
		  "t.yaml:11:22: tags[0].scale: -0.0 is not allowed "
		  "(expected a number other than 0)" },
		{ AG_TAG("{name: a, scale: abc}"),
		  "t.yaml:11:22: tags[0].scale: \"abc\" is not a number "
		  "(expected a decimal number, e.g. 0.1, -40 or 1.5e-3)" },
		{ AG_TAG("{name: a, scale: .inf}"),
		  "t.yaml:11:22: tags[0].scale: \".inf\" is not a number "
		  "(expected a decimal number, e.g. 0.1, -40 or 1.5e-3)" },
		{ AG_TAG("{name: a, scale: 1e999}"),
		  "t.yaml:11:22: tags[0].scale: 1e999 is out of range "
		  "(expected 0 or a number whose magnitude is 1e-307 to "
		  "1e308)" },
		{ AG_TAG("{name: a, scale: 1e-320}"),
		  "t.yaml:11:22: tags[0].scale: 1e-320 is out of range "
		  "(expected 0 or a number whose magnitude is 1e-307 to "
		  "1e308)" },
		{ AG_TAG("{name: a, scale: \"2\"}"),
		  "t.yaml:11:22: tags[0].scale: \"2\" is not a number "
		  "(expected a decimal number, e.g. 0.1, -40 or 1.5e-3)" },
		{ AG_TAG("{name: a, scale: 1.}"),
		  "t.yaml:11:22: tags[0].scale: \"1.\" is not a number "
		  "(expected a decimal number, e.g. 0.1, -40 or 1.5e-3)" },
		{ AG_TAG("{name: a, scale: .5}"),
		  "t.yaml:11:22: tags[0].scale: \".5\" is not a number "
		  "(expected a decimal number, e.g. 0.1, -40 or 1.5e-3)" },
		{ AG_TAG("{name: a, scale: +1}"),
		  "t.yaml:11:22: tags[0].scale: \"+1\" is not a number "
		  "(expected a decimal number, e.g. 0.1, -40 or 1.5e-3)" },
		{ AG_TAG("{name: a, scale: 01}"),
		  "t.yaml:11:22: tags[0].scale: \"01\" is not a number "
		  "(expected a decimal number, e.g. 0.1, -40 or 1.5e-3)" },
		{ AG_TAG("{name: a, scale: 0x10}"),
		  "t.yaml:11:22: tags[0].scale: \"0x10\" is not a number "
		  "(expected a decimal number, e.g. 0.1, -40 or 1.5e-3)" },
		{ AG_TAG("{name: a, scale: 1e}"),
		  "t.yaml:11:22: tags[0].scale: \"1e\" is not a number "
		  "(expected a decimal number, e.g. 0.1, -40 or 1.5e-3)" },
		{ AG_TAG("{name: a, type: bool, scale: 2}"),
		  "t.yaml:11:34: tags[0].scale: not allowed with type: "
		  "bool (expected 1 or no scale:; scale is for numeric "
		  "types)" },
		{ AG_TAG("{name: a, type: string, length: 4, offset: 1}"),
		  "t.yaml:11:48: tags[0].offset: not allowed with type: "
		  "string (expected 0 or no offset:; offset is for "
		  "numeric types)" },
		{ AG_TAG("{name: a, deadband: -0.5}"),
		  "t.yaml:11:25: tags[0].deadband: -0.5 is out of range "
		  "(expected a number >= 0)" },
		{ AG_TAG("{name: a, type: bool, deadband: 1}"),
		  "t.yaml:11:37: tags[0].deadband: not allowed with type: "
		  "bool (expected 0 or no deadband:; deadband is for "
		  "numeric types)" },
		{ AG_TAG("{name: a, unit: \"0123456789abcdef\"}"),
		  "t.yaml:11:21: tags[0].unit: 16 bytes is too long "
		  "(expected printable text of at most 15 bytes)" },
		{ AG_TAG("{name: a, unit: \"a\\tb\"}"),
		  "t.yaml:11:21: tags[0].unit: contains non-printable "
		  "character U+0009 (expected printable text)" },
		{ AG_TAG("{name: a, stale_after: 1001}"),
		  "t.yaml:11:28: tags[0].stale_after: 1001 is out of "
		  "range (expected 0..1000)" },
		{ AG_TAG("{name: a, command: RD}"),
		  "t.yaml:11:24: tags[0].command: \"RD\" is not a valid "
		  "name (expected 1 to 31 characters from a-z 0-9 _ -, or "
		  "\"\" for none)" },
		{ AG_TAG("{name: a, command: nope}"),
		  "t.yaml:11:24: tags[0].command: \"nope\" names no command "
		  "(expected the name of a command in modbus.commands)" },
		{ "tags:\n  - {name: a, command: nope}\n",
		  "t.yaml:2:24: tags[0].command: \"nope\" names no command "
		  "(expected the name of a command in modbus.commands; "
		  "none is defined)" },
		{ AG_TAG("{name: a, command: wr}"),
		  "t.yaml:11:24: tags[0].command: \"wr\" is a write command "
		  "(function 16; expected a command that reads: function "
		  "1, 2, 3, 4 or 23)" },
		{ AG_TAG("{name: a, write_command: rd}"),
		  "t.yaml:11:30: tags[0].write_command: \"rd\" is a read "
		  "command (function 3; expected a command that writes: "
		  "function 5, 6, 15, 16 or 23)" },
		{ AG_TAG("{name: a, command: co}"),
		  "t.yaml:11:24: tags[0].command: uint16 does not fit "
		  "command \"co\": function 1 carries bits (expected type: "
		  "bool)" },
		{ AG_TAG("{name: a, type: int32, command: co}"),
		  "t.yaml:11:21: tags[0].type: int32 does not fit command "
		  "\"co\": function 1 carries bits (expected type: bool)" },
		{ AG_TAG("{name: a, at: 2}"),
		  "t.yaml:11:19: tags[0].at: 2 without a command "
		  "(expected 0 or no at:, or command: naming the command "
		  "that reads the tag)" },
		{ AG_TAG("{name: a, write_at: 2}"),
		  "t.yaml:11:25: tags[0].write_at: 2 without a "
		  "write_command (expected 0 or no write_at:, or "
		  "write_command: naming the command that writes the tag)" },
		{ AG_TAG("{name: a, type: float32, command: rd, at: 9}"),
		  "t.yaml:11:47: tags[0].at: 9 + 2 registers (float32) "
		  "runs past the 10 registers of command \"rd\" (expected "
		  "at <= 8)" },
		{ AG_TAG("{name: a, type: string, length: 30, command: rd}"),
		  "t.yaml:11:50: tags[0].command: string takes 15 "
		  "registers, but command \"rd\" has 10 (expected a command "
		  "with quantity >= 15)" },
		{ AG_TAG("{name: a, type: float64, write_command: rw}"),
		  "t.yaml:11:45: tags[0].write_command: float64 takes 4 "
		  "registers, but command \"rw\" has 2 (expected a command "
		  "with write_quantity >= 4)" },
		{ AG_TAG("{name: a, type: int16, write_command: rw, "
		    "write_at: 2}"),
		  "t.yaml:11:57: tags[0].write_at: 2 + 1 register (int16) "
		  "runs past the 2 registers of command \"rw\" (expected "
		  "write_at <= 1)" },
		{ AG_TAGS("{name: a, type: float32, command: rd, at: 2}",
		    "{name: b, command: rd, at: 3}"),
		  "t.yaml:12:32: tags[1].at: register 3 of command \"rd\" "
		  "is also read by tags[0] (\"a\") at line 11 (expected "
		  "tags that do not overlap in a command)" },
		{ AG_TAGS("{name: a, type: float64, command: rd, at: 2}",
		    "{name: b, type: int32, command: rd, at: 4}"),
		  "t.yaml:12:45: tags[1].at: registers 4-5 of command "
		  "\"rd\" are also read by tags[0] (\"a\") at line 11 "
		  "(expected tags that do not overlap in a command)" },
		{ AG_TAGS("{name: a, type: int32, write_command: wr}",
		    "{name: b, write_command: wr, at: 0}"),
		  "t.yaml:12:30: tags[1].write_command: register 0 of "
		  "command \"wr\" is also written by tags[0] (\"a\") at line "
		  "11 (expected tags that do not overlap in a command)" },
		{ AG_TAGS("{name: a, type: int32, write_command: wr, "
		    "write_at: 2}",
		    "{name: b, write_command: wr, write_at: 3}"),
		  "t.yaml:12:44: tags[1].write_at: register 3 of command "
		  "\"wr\" is also written by tags[0] (\"a\") at line 11 "
		  "(expected tags that do not overlap in a command)" },
		{ AG_TAGS("{name: a, type: bool, command: co, at: 7}",
		    "{name: b, type: bool, command: co, at: 7}"),
		  "t.yaml:12:44: tags[1].at: bit 7 of command \"co\" is "
		  "also read by tags[0] (\"a\") at line 11 (expected tags "
		  "that do not overlap in a command)" },
		{ AG_TAG("{name: a, nmae: x}"),
		  "t.yaml:11:15: tags[0].nmae: unknown key (expected one "
		  "of: name, type, length, scale, offset, deadband, unit, "
		  "stale_after, command, at, write_command, write_at)" },
		{ AG_CMD("{channel: l1, unit: 1, function: 3}"),
		  "t.yaml:6:7: modbus.commands[0]: name is missing "
		  "(expected name: with e.g. boiler)" },
		{ AG_CMD("{name: c, unit: 1, function: 3}"),
		  "t.yaml:6:7: modbus.commands[0]: channel is missing "
		  "(expected channel: with e.g. line1)" },
		{ AG_CMD("{name: c, channel: l1, function: 3}"),
		  "t.yaml:6:7: modbus.commands[0]: unit is missing "
		  "(expected unit: with e.g. 1)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1}"),
		  "t.yaml:6:7: modbus.commands[0]: function is missing "
		  "(expected function: with e.g. 3)" },
		{ AG_CMD("{name: c, channel: l1, unit: 0, function: 3}"),
		  "t.yaml:6:36: modbus.commands[0].unit: 0 is out of "
		  "range (expected 1..255)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 7}"),
		  "t.yaml:6:49: modbus.commands[0].function: \"7\" is not a "
		  "valid value (expected one of 1, 2, 3, 4, 5, 6, 15, 16, "
		  "23)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 3, "
		    "quantity: 126}"),
		  "t.yaml:6:62: modbus.commands[0].quantity: 126 is out "
		  "of range for function 3 (expected 1..125)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 1, "
		    "quantity: 2001}"),
		  "t.yaml:6:62: modbus.commands[0].quantity: 2001 is out "
		  "of range (expected 1..2000)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 15, "
		    "quantity: 1969}"),
		  "t.yaml:6:63: modbus.commands[0].quantity: 1969 is out "
		  "of range for function 15 (expected 1..1968)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 16, "
		    "quantity: 124}"),
		  "t.yaml:6:63: modbus.commands[0].quantity: 124 is out "
		  "of range for function 16 (expected 1..123)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 5, "
		    "quantity: 2}"),
		  "t.yaml:6:62: modbus.commands[0].quantity: 2 is not "
		  "allowed with function 5 (expected 1: it writes one "
		  "coil)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 6, "
		    "quantity: 2}"),
		  "t.yaml:6:62: modbus.commands[0].quantity: 2 is not "
		  "allowed with function 6 (expected 1: it writes one "
		  "register)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 23, "
		    "quantity: 126}"),
		  "t.yaml:6:63: modbus.commands[0].quantity: 126 is out "
		  "of range for function 23 (expected 1..125)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 3, "
		    "quantity: 0}"),
		  "t.yaml:6:62: modbus.commands[0].quantity: 0 is out of "
		  "range (expected 1..2000)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 3, "
		    "address: 65530, quantity: 7}"),
		  "t.yaml:6:78: modbus.commands[0].quantity: address "
		  "65530 + quantity 7 runs past address 65535 (expected "
		  "address + quantity <= 65536)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 3, "
		    "write_address: 5}"),
		  "t.yaml:6:67: modbus.commands[0].write_address: 5 is "
		  "not allowed with function 3 (expected 0 or no "
		  "write_address:; it is for function 23 only)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 16, "
		    "write_quantity: 2}"),
		  "t.yaml:6:69: modbus.commands[0].write_quantity: 2 is "
		  "not allowed with function 16 (expected 1 or no "
		  "write_quantity:; it is for function 23 only)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 23, "
		    "write_quantity: 122}"),
		  "t.yaml:6:69: modbus.commands[0].write_quantity: 122 is "
		  "out of range (expected 1..121)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 23, "
		    "write_address: 65535, write_quantity: 2}"),
		  "t.yaml:6:91: modbus.commands[0].write_quantity: "
		  "write_address 65535 + write_quantity 2 runs past "
		  "address 65535 (expected write_address + write_quantity "
		  "<= 65536)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 3, "
		    "trigger: on-change}"),
		  "t.yaml:6:61: modbus.commands[0].trigger: on-change is "
		  "for write commands (function 3 reads; expected cyclic "
		  "or disabled)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 23, "
		    "trigger: on-change}"),
		  "t.yaml:6:62: modbus.commands[0].trigger: on-change is "
		  "for write commands (function 23 reads; expected cyclic "
		  "or disabled)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 3, "
		    "trigger: always}"),
		  "t.yaml:6:61: modbus.commands[0].trigger: \"always\" is "
		  "not a valid value (expected cyclic, on-change or "
		  "disabled)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 3, "
		    "interval_ms: 9}"),
		  "t.yaml:6:65: modbus.commands[0].interval_ms: 9 is out "
		  "of range (expected 10..1200000)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 3, "
		    "initial_delay_ms: 60001}"),
		  "t.yaml:6:70: modbus.commands[0].initial_delay_ms: "
		  "60001 is out of range (expected 0..60000)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 3, "
		    "retries: 11}"),
		  "t.yaml:6:61: modbus.commands[0].retries: 11 is out of "
		  "range (expected 0..10)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 3, "
		    "swap: little}"),
		  "t.yaml:6:58: modbus.commands[0].swap: \"little\" is not "
		  "a valid value (expected none, byte, word or both)" },
		{ AG_CMD("{name: c, channel: nope, unit: 1, function: 3}"),
		  "t.yaml:6:26: modbus.commands[0].channel: \"nope\" names "
		  "no channel (expected the name of a serial or TCP "
		  "channel: l1)" },
		{ AG_CMD("{name: c, channel: sl, unit: 1, function: 3}"),
		  "t.yaml:6:26: modbus.commands[0].channel: \"sl\" is a "
		  "serial channel with role: slave, where a serial master "
		  "sends requests (expected a channel sluice is master "
		  "of: a serial channel with role: master, or a TCP "
		  "channel)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 3}\n    "
		    "- {name: c, channel: l1, unit: 2, function: 4}"),
		  "t.yaml:7:14: modbus.commands[1].name: \"c\" is also the "
		  "name of modbus.commands[0] at line 6 (expected unique "
		  "command names)" },
		{ AG_CMD("{name: c, channel: l1, unit: 1, function: 3, "
		    "role: master}"),
		  "t.yaml:6:52: modbus.commands[0].role: unknown key "
		  "(expected one of: name, channel, unit, function, "
		  "address, quantity, write_address, write_quantity, "
		  "trigger, interval_ms, initial_delay_ms, retries, swap)" },
		{ "modbus:\n  commands: {}\n",
		  "t.yaml:2:13: modbus.commands: a mapping is not a "
		  "sequence (expected a sequence of mappings, e.g. - "
		  "name: boiler)" },
		{ AG_AGENT("bad_quality: zero"),
		  "t.yaml:11:18: modbus.agent.bad_quality: \"zero\" is not "
		  "a valid value (expected exception or last-value)" },
		{ AG_AGENT("write_timeout_ms: 99"),
		  "t.yaml:11:23: modbus.agent.write_timeout_ms: 99 is out "
		  "of range (expected 100..120000)" },
		{ AG_AGENT("status: off"),
		  "t.yaml:11:13: modbus.agent.status: \"off\" is not a "
		  "status block (expected none, or a mapping with keys: "
		  "table, address, e.g. {table: discrete_inputs, address: "
		  "1000})" },
		{ AG_AGENT("status: []"),
		  "t.yaml:11:13: modbus.agent.status: a sequence is not a "
		  "status block (expected none, or a mapping with keys: "
		  "table, address, e.g. {table: discrete_inputs, address: "
		  "1000})" },
		{ AG_AGENT("status: {table: coils}"),
		  "t.yaml:11:13: modbus.agent.status: address is missing "
		  "(expected address: with e.g. 1000)" },
		{ AG_AGENT("status: {address: 3}"),
		  "t.yaml:11:13: modbus.agent.status: table is missing "
		  "(expected table: with e.g. discrete_inputs)" },
		{ AG_AGENT("status: {table: coils, address: 3, size: 1}"),
		  "t.yaml:11:40: modbus.agent.status.size: unknown key "
		  "(expected one of: table, address)" },
		{ AG_AGENT("status: {table: registers, address: 3}"),
		  "t.yaml:11:21: modbus.agent.status.table: \"registers\" "
		  "is not a valid value (expected coils, discrete_inputs, "
		  "input_registers or holding_registers)" },
		{ AG_AGENT("status: {table: coils, address: 65533}"),
		  "t.yaml:11:13: modbus.agent.status: address 65533 + 4 "
		  "bits for 4 commands runs past address 65535 (expected "
		  "address <= 65532)" },
		{ AG_AGENT("status: {table: input_registers, address: 65536}"),
		  "t.yaml:11:47: modbus.agent.status.address: 65536 is "
		  "out of range (expected 0..65535)" },
		{ AG_AGENT("nope: 1"),
		  "t.yaml:11:5: modbus.agent.nope: unknown key (expected "
		  "one of: bad_quality, write_timeout_ms, status, map)" },
		{ AG_AGENT("map: {}"),
		  "t.yaml:11:10: modbus.agent.map: a mapping is not a "
		  "sequence (expected a sequence of mappings, e.g. - "
		  "table: holding_registers)" },
		{ AG_MAP("{table: holding_registers, address: 0}"),
		  "t.yaml:12:9: modbus.agent.map[0]: tag is missing "
		  "(expected tag: with e.g. boiler.temp)" },
		{ AG_MAP("{table: holding_registers, tag: t}"),
		  "t.yaml:12:9: modbus.agent.map[0]: address is missing "
		  "(expected address: with e.g. 0)" },
		{ AG_MAP("{address: 0, tag: t}"),
		  "t.yaml:12:9: modbus.agent.map[0]: table is missing "
		  "(expected table: with e.g. holding_registers)" },
		{ AG_MAP("{table: holding_registers, address: 0, tag: zz}"),
		  "t.yaml:12:53: modbus.agent.map[0].tag: \"zz\" names no "
		  "tag (expected the name of an entry of tags)" },
		{ AG_MAP("{table: coils, address: 0, tag: t}"),
		  "t.yaml:12:41: modbus.agent.map[0].tag: tag \"t\" is "
		  "uint16, but coils hold bits (expected a bool tag, or "
		  "table: holding_registers)" },
		{ AG_MAP("{table: discrete_inputs, address: 0, tag: f}"),
		  "t.yaml:12:51: modbus.agent.map[0].tag: tag \"f\" is "
		  "float32, but discrete_inputs hold bits (expected a "
		  "bool tag, or table: input_registers)" },
		{ AG_MAP("{table: holding_registers, address: 65535, tag: f}"),
		  "t.yaml:12:45: modbus.agent.map[0].address: 65535 + 2 "
		  "registers of tag \"f\" runs past address 65535 (expected "
		  "address <= 65534)" },
		{ AG_MAP("{table: holding_registers, address: 65536, tag: t}"),
		  "t.yaml:12:45: modbus.agent.map[0].address: 65536 is "
		  "out of range (expected 0..65535)" },
		{ AG_MAP("{table: registers, address: 5, tag: b}"),
		  "t.yaml:12:17: modbus.agent.map[0].table: \"registers\" "
		  "is not a valid value (expected coils, discrete_inputs, "
		  "input_registers or holding_registers)" },
		{ AG_MAP2("{table: holding_registers, address: 0, tag: f}",
		    "{table: holding_registers, address: 1, tag: t}"),
		  "t.yaml:13:45: modbus.agent.map[1].address: register 1 "
		  "of holding_registers is also used by "
		  "modbus.agent.map[0] (tag \"f\") at line 12 (expected "
		  "each address of a table used once)" },
		{ AG_MAP2("{table: holding_registers, address: 5, tag: t}",
		    "{table: holding_registers, address: 4, tag: f}"),
		  "t.yaml:13:45: modbus.agent.map[1].address: register 5 "
		  "of holding_registers is also used by "
		  "modbus.agent.map[0] (tag \"t\") at line 12 (expected "
		  "each address of a table used once)" },
		{ AG_MAP2("{table: coils, address: 5, tag: b}",
		    "{table: coils, address: 5, tag: b}"),
		  "t.yaml:13:33: modbus.agent.map[1].address: bit 5 of "
		  "coils is also used by modbus.agent.map[0] (tag \"b\") at "
		  "line 12 (expected each address of a table used once)" },
		{ AG_STMAP("{table: input_registers, address: 5}",
		    "{table: input_registers, address: 5, tag: t}"),
		  "t.yaml:13:43: modbus.agent.map[0].address: register 5 "
		  "of input_registers is also used by modbus.agent.status "
		  "at line 11 (expected each address of a table used once)" },
		{ AG_STMAP("{table: coils, address: 2}",
		    "{table: coils, address: 5, tag: b}"),
		  "t.yaml:13:33: modbus.agent.map[0].address: bit 5 of "
		  "coils is also used by modbus.agent.status at line 11 "
		  "(expected each address of a table used once)" },
	};
	struct policy_error err;
	struct policy *p;
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = load_str(cases[i].yaml, &err);
		if (p != NULL) {
			print_error("case %zu loaded\n", i);
			policy_free(p);
			failed++;
		} else if (strcmp(err.msg, cases[i].msg) != 0) {
			print_error("case %zu:\n  got:  %s\n  want: %s\n", i,
			    err.msg, cases[i].msg);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/* A copy of s with the first from replaced by to (which must be there). */
static char *
subst(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t a, b = strlen(from), c = strlen(to), n = strlen(s);
	char *r;

	assert_non_null(at);
	a = (size_t)(at - s);
	assert_non_null(r = malloc(n - b + c + 1));
	memcpy(r, s, a);
	memcpy(r + a, to, c);
	memcpy(r + a + c, at + b, n - a - b + 1);
	return r;
}

/* Agent mode's worked example, written in another order than it prints. */
static const char agent_yaml[] =
    "services:\n  modbus-tcp:\n    enabled: true\n"
    "modbus:\n"
    "  mode: agent\n"
    "  serial_channels:\n"
    "    - {name: line1, device: /dev/ttyUSB0}\n"
    "  tcp_channels:\n"
    "    - {name: plc, host: 192.0.2.10}\n"
    "  commands:\n"
    "    - {name: setpoint, channel: plc, unit: 1, function: 16, "
    "address: 100, quantity: 2}\n"
    "    - {name: boiler, channel: line1, unit: 1, function: 3, "
    "quantity: 4, swap: word}\n"
    "    - {name: alarms, channel: line1, unit: 2, function: 2, "
    "quantity: 16, interval_ms: 500}\n"
    "    - {name: pump, channel: plc, unit: 1, function: 5, address: 7}\n"
    "  agent:\n"
    "    bad_quality: last-value\n"
    "    write_timeout_ms: 2000\n"
    "    status: {table: discrete_inputs, address: 1000}\n"
    "    map:\n"
    "      - {table: holding_registers, address: 0, tag: boiler.temp}\n"
    "      - {table: discrete_inputs, address: 0, tag: alarm.high}\n"
    "      - {table: input_registers, address: 0, tag: boiler.temp}\n"
    "      - {table: coils, address: 0, tag: pump.on}\n"
    "      - {table: holding_registers, address: 2, tag: boiler.level}\n"
    "tags:\n"
    "  - name: boiler.temp\n"
    "    type: float32\n"
    "    scale: 0.1\n"
    "    offset: -40\n"
    "    deadband: 0.5\n"
    "    unit: \"degC\"\n"
    "    command: boiler\n"
    "    write_command: setpoint\n"
    "  - {name: boiler.level, type: int16, command: boiler, at: 2}\n"
    "  - {name: alarm.high, type: bool, command: alarms, at: 3}\n"
    "  - {name: pump.on, type: bool, write_command: pump}\n";

static void
test_agent(void **state)
{
	struct policy_error err;
	struct policy *p, *q;
	const struct policy_tag *t;
	const struct policy_modbus_command *c;
	const struct policy_modbus_map_entry *m;
	struct text tx;
	char *y, *b;
	size_t i;

	(void)state;
	/* defaults: no tags, no commands, agent settings at their values */
	assert_non_null(p = load_str("tags: []\n", &err));
	assert_int_equal(p->modbus.mode, POLICY_MODBUS_TRANSPARENT);
	assert_int_equal(p->n_tags, 0);
	assert_int_equal(p->modbus.n_commands, 0);
	assert_int_equal(p->modbus.agent.bad_quality, POLICY_MB_BAD_EXCEPTION);
	assert_int_equal(p->modbus.agent.write_timeout_ms, 5000);
	assert_false(p->modbus.agent.status.enabled);
	assert_int_equal(p->modbus.agent.n_map, 0);
	policy_free(p);
	assert_non_null(p = load_str("modbus:\n  mode: agent\n"
	    "  tcp_channels:\n    - {name: t, host: h}\n"
	    "  commands:\n    - {name: c, channel: t, unit: 9, function: 4}\n"
	    "    - {name: w, channel: t, unit: 9, function: 6}\n"
	    "tags:\n  - {name: x}\n", &err));
	t = &p->tags[0];
	assert_string_equal(t->name, "x");
	assert_int_equal(t->type, TAG_UINT16);
	assert_int_equal(t->length, 0);
	assert_true(t->scale == 1 && t->offset == 0 && t->deadband == 0);
	assert_string_equal(t->unit, "");
	assert_int_equal(t->stale_after, 3);
	assert_string_equal(t->command, "");
	assert_string_equal(t->write_command, "");
	assert_int_equal(t->at, 0);
	assert_int_equal(t->write_at, 0);
	assert_int_equal(t->command_index, -1);
	assert_int_equal(t->write_command_index, -1);
	c = &p->modbus.commands[0];
	assert_int_equal(c->address, 0);
	assert_int_equal(c->quantity, 1);
	assert_int_equal(c->write_address, 0);
	assert_int_equal(c->write_quantity, 1);
	assert_int_equal(c->trigger, POLICY_MB_TRIGGER_CYCLIC);
	assert_int_equal(c->interval_ms, 1000);
	assert_int_equal(c->initial_delay_ms, 0);
	assert_int_equal(c->retries, 1);
	assert_int_equal(c->swap, TAG_SWAP_NONE);
	assert_int_equal(c->channel_kind, POLICY_MODBUS_CHANNEL_TCP);
	/* a write command runs when a client writes, unless told */
	assert_int_equal(p->modbus.commands[1].trigger,
	    POLICY_MB_TRIGGER_ON_CHANGE);
	check_round_trip(p);
	policy_free(p);

	/* the worked example: sorted, resolved, printed, read back */
	assert_non_null(p = load_str(agent_yaml, &err));
	assert_int_equal(p->modbus.mode, POLICY_MODBUS_AGENT);
	for (i = 0; i < p->n_warnings; i++)
		assert_null(strstr(p->warnings[i], "modbus"));
	assert_int_equal(p->n_tags, 4);
	assert_string_equal(p->tags[0].name, "alarm.high");
	assert_string_equal(p->tags[1].name, "boiler.level");
	assert_string_equal(p->tags[2].name, "boiler.temp");
	assert_string_equal(p->tags[3].name, "pump.on");
	assert_int_equal(p->modbus.n_commands, 4);
	assert_string_equal(p->modbus.commands[0].name, "alarms");
	assert_string_equal(p->modbus.commands[1].name, "boiler");
	assert_string_equal(p->modbus.commands[2].name, "pump");
	assert_string_equal(p->modbus.commands[3].name, "setpoint");
	t = &p->tags[2];
	assert_int_equal(t->type, TAG_FLOAT32);
	assert_true(t->scale == 0.1 && t->offset == -40 && t->deadband == 0.5);
	assert_string_equal(t->unit, "degC");
	assert_int_equal(t->command_index, 1);
	assert_int_equal(t->write_command_index, 3);
	assert_int_equal(p->tags[0].command_index, 0);
	assert_int_equal(p->tags[0].at, 3);
	assert_int_equal(p->tags[3].command_index, -1);
	assert_int_equal(p->tags[3].write_command_index, 2);
	c = &p->modbus.commands[0];
	assert_int_equal(c->function, 2);
	assert_int_equal(c->quantity, 16);
	assert_int_equal(c->interval_ms, 500);
	assert_int_equal(c->trigger, POLICY_MB_TRIGGER_CYCLIC);
	assert_int_equal(c->channel_kind, POLICY_MODBUS_CHANNEL_SERIAL);
	assert_int_equal(c->channel_index, 0);
	assert_int_equal(p->modbus.commands[1].swap, TAG_SWAP_WORD);
	c = &p->modbus.commands[2];
	assert_int_equal(c->function, 5);
	assert_int_equal(c->address, 7);
	assert_int_equal(c->trigger, POLICY_MB_TRIGGER_ON_CHANGE);
	assert_int_equal(c->channel_kind, POLICY_MODBUS_CHANNEL_TCP);
	assert_int_equal(c->channel_index, 0);
	assert_int_equal(p->modbus.agent.bad_quality, POLICY_MB_BAD_LAST_VALUE);
	assert_int_equal(p->modbus.agent.write_timeout_ms, 2000);
	assert_true(p->modbus.agent.status.enabled);
	assert_int_equal(p->modbus.agent.status.table,
	    POLICY_MB_DISCRETE_INPUTS);
	assert_int_equal(p->modbus.agent.status.address, 1000);
	/* the map by table, then address; each entry knows its tag */
	assert_int_equal(p->modbus.agent.n_map, 5);
	m = p->modbus.agent.map;
	assert_int_equal(m[0].table, POLICY_MB_COILS);
	assert_int_equal(m[0].tag_index, 3);
	assert_int_equal(m[1].table, POLICY_MB_DISCRETE_INPUTS);
	assert_int_equal(m[1].tag_index, 0);
	assert_int_equal(m[2].table, POLICY_MB_INPUT_REGISTERS);
	assert_int_equal(m[2].tag_index, 2);
	assert_int_equal(m[3].table, POLICY_MB_HOLDING_REGISTERS);
	assert_int_equal(m[3].address, 0);
	assert_int_equal(m[3].tag_index, 2);
	assert_int_equal(m[4].address, 2);
	assert_string_equal(m[4].tag, "boiler.level");
	assert_int_equal(m[4].tag_index, 1);
	assert_non_null(y = policy_to_yaml(p));
	assert_non_null(strstr(y, "tags:\n"
	    "  - name: \"alarm.high\"\n"
	    "    type: bool\n"
	    "    length: 0\n"
	    "    scale: 1\n"
	    "    offset: 0\n"
	    "    deadband: 0\n"
	    "    unit: \"\"\n"
	    "    stale_after: 3\n"
	    "    command: \"alarms\"\n"
	    "    at: 3\n"
	    "    write_command: \"\"\n"
	    "    write_at: 0\n"
	    "  - name: \"boiler.level\"\n"));
	assert_non_null(strstr(y, "    scale: 0.1\n    offset: -40\n"
	    "    deadband: 0.5\n    unit: \"degC\"\n"));
	assert_non_null(strstr(y, "  agent:\n"
	    "    bad_quality: last-value\n"
	    "    write_timeout_ms: 2000\n"
	    "    status: {table: discrete_inputs, address: 1000}\n"
	    "    map:\n"
	    "      - table: coils\n"
	    "        address: 0\n"
	    "        tag: \"pump.on\"\n"));
	assert_non_null(strstr(y, "    - name: \"pump\"\n"
	    "      channel: \"plc\"\n"
	    "      unit: 1\n"
	    "      function: 5\n"
	    "      address: 7\n"
	    "      quantity: 1\n"
	    "      write_address: 0\n"
	    "      write_quantity: 1\n"
	    "      trigger: on-change\n"));
	free(y);
	check_round_trip(p);

	/* diff: tags and commands by name, map entries by table:address */
	b = subst(agent_yaml, "scale: 0.1", "scale: 0.25");
	y = subst(b, "swap: word}", "swap: word, retries: 2}");
	free(b);
	b = subst(y, "status: {table: discrete_inputs, address: 1000}",
	    "status: none");
	free(y);
	y = subst(b, "address: 2, tag: boiler.level", "address: 3, tag: "
	    "boiler.level");
	free(b);
	assert_non_null(q = load_str(y, &err));
	free(y);
	memset(&tx, 0, sizeof(tx));
	assert_int_equal(policy_diff(p, q, diff_line, &tx), 9);
	assert_string_equal(tx.buf,
	    "tags[boiler.temp].scale: 0.1 -> 0.25\n"
	    "modbus.commands[boiler].retries: 1 -> 2\n"
	    "modbus.agent.status: {table: discrete_inputs, address: 1000} -> "
	    "none\n"
	    "modbus.agent.map[holding_registers:3].table: (none) -> "
	    "holding_registers\n"
	    "modbus.agent.map[holding_registers:3].address: (none) -> 3\n"
	    "modbus.agent.map[holding_registers:3].tag: (none) -> "
	    "\"boiler.level\"\n"
	    "modbus.agent.map[holding_registers:2].table: holding_registers "
	    "-> (none)\n"
	    "modbus.agent.map[holding_registers:2].address: 2 -> (none)\n"
	    "modbus.agent.map[holding_registers:2].tag: \"boiler.level\" -> "
	    "(none)\n");
	assert_false(policy_equal(p, q));
	policy_free(q);

	/* the same policy in another order is equal */
	y = subst(agent_yaml, "  - {name: pump.on, type: bool, write_command: "
	    "pump}\n", "");
	b = subst(y, "tags:\n", "tags:\n  - {write_command: pump, type: bool, "
	    "name: pump.on}\n");
	free(y);
	assert_non_null(q = load_str(b, &err));
	free(b);
	assert_true(policy_equal(p, q));
	assert_int_equal(policy_diff(p, q, NULL, NULL), 0);
	policy_free(q);
	policy_free(p);

	/* FC 23: read part for command, write part for write_command */
	assert_non_null(p = load_str(AG_TAGS("{name: a, type: int32, command: "
	    "rw, at: 2, write_command: rw}", "{name: b, command: rw, "
	    "write_command: wr, write_at: 3}"), &err));
	assert_int_equal(p->modbus.commands[2].function, 23);
	assert_int_equal(p->modbus.commands[2].trigger,
	    POLICY_MB_TRIGGER_CYCLIC);
	assert_int_equal(p->tags[0].command_index, 2);
	assert_int_equal(p->tags[0].write_command_index, 2);
	assert_int_equal(p->tags[1].write_command_index, 3);
	check_round_trip(p);
	policy_free(p);

	/* warnings: what the mode leaves unused, a map nobody can read */
	assert_non_null(p = load_str(AG_BASE, &err));
	assert_string_equal(p->warnings[p->n_warnings - 1], "t.yaml:6:5: "
	    "modbus.commands: set, but commands only run in agent mode "
	    "(modbus.mode is transparent)");
	policy_free(p);
	assert_non_null(p = load_str("modbus:\n  mode: agent\n"
	    "  tcp_channels:\n    - {name: t, host: h}\n"
	    "  routes:\n    - {units: 1, channel: t}\n", &err));
	assert_string_equal(p->warnings[p->n_warnings - 1], "t.yaml:6:5: "
	    "modbus.routes: set, but routes are not used in agent mode");
	policy_free(p);
	y = subst(agent_yaml, "enabled: true", "enabled: false");
	assert_non_null(p = load_str(y, &err));
	free(y);
	assert_string_equal(p->warnings[p->n_warnings - 1], "t.yaml:20:7: "
	    "modbus.agent.map: set, but services.modbus-tcp is disabled: no "
	    "client can read it");
	policy_free(p);
}

/* Real numbers: the shortest form that reads back, plain where short. */
static void
test_agent_reals(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "0.1", "0.1" }, { "-40", "-40" }, { "1e-7", "1e-07" },
		{ "1E20", "1e+20" }, { "123.456", "123.456" },
		{ "100000", "100000" }, { "1e5", "100000" },
		{ "0.3333333333333333", "0.3333333333333333" },
		{ "0.33333333333333331483", "0.3333333333333333" },
		{ "1.7976931348623157e308", "1.7976931348623157e+308" },
		{ "-2.2250738585072014e-308", "-2.2250738585072014e-308" },
		{ "0.00001", "0.00001" },
		{ "12345678901234567", "12345678901234568" },
		{ "1e17", "1e+17" }, { "2.5E+3", "2500" },
		{ "-0.000125", "-0.000125" },
	};
	struct policy_error err;
	struct policy *p;
	char yaml[256], want[128], *y;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(yaml, sizeof(yaml), "tags:\n  - {name: a, scale: %s, "
		    "offset: %s}\n", cases[i].in, cases[i].in);
		if ((p = load_str(yaml, &err)) == NULL)
			fail_msg("%s: %s", cases[i].in, err.msg);
		assert_non_null(y = policy_to_yaml(p));
		snprintf(want, sizeof(want), "    scale: %s\n    offset: %s\n",
		    cases[i].out, cases[i].out);
		if (strstr(y, want) == NULL)
			fail_msg("%s: want %s", cases[i].in, cases[i].out);
		check_round_trip(p);
		free(y);
		policy_free(p);
	}
	/* -0 is 0: an offset of -0 equals one of 0 */
	assert_non_null(p = load_str("tags:\n  - {name: a, offset: -0}\n",
	    &err));
	assert_non_null(y = policy_to_yaml(p));
	assert_non_null(strstr(y, "    offset: 0\n"));
	free(y);
	policy_free(p);
}

/* A tags/map document of n tags on n / 125 commands, each tag mapped. */
static char *
agent_big(size_t ntags, size_t nmap, size_t ncmds, const char *extra)
{
	size_t size = 4096 + ntags * 48 + nmap * 64 + ncmds * 80, o, i;
	char *y = malloc(size);

	assert_non_null(y);
	o = (size_t)snprintf(y, size, "modbus:\n  mode: agent\n"
	    "  tcp_channels:\n    - {name: plc, host: 192.0.2.1}\n"
	    "  commands:%s\n", ncmds ? "" : " []");
	for (i = 0; i < ncmds; i++)
		o += (size_t)snprintf(y + o, size - o, "  - {name: c%zu, "
		    "channel: plc, unit: 1, function: 3, quantity: 125}\n", i);
	o += (size_t)snprintf(y + o, size - o, "  agent:\n    map:%s\n",
	    nmap || *extra ? "" : " []");
	for (i = 0; i < nmap; i++)
		o += (size_t)snprintf(y + o, size - o, "    - {table: "
		    "input_registers, address: %zu, tag: t%04zu}\n", i, i);
	o += (size_t)snprintf(y + o, size - o, "%s", extra);
	o += (size_t)snprintf(y + o, size - o, "tags:%s\n", ntags ? "" :
	    " []");
	for (i = 0; i < ntags; i++)
		o += (size_t)snprintf(y + o, size - o, "- {name: t%04zu, "
		    "command: c%zu, at: %zu}\n", i, i / 125, i % 125);
	assert_true(o < size);
	return y;
}

/* Lists past 256 items, 10000 tags in time, and the caps. */
static void
test_agent_scale(void **state)
{
	struct policy_error err;
	struct policy *p;
	double t0, t;
	size_t i;
	char *y, *n;

	(void)state;
	/* 1000 tags and map entries: more than the old 256-item bound */
	y = agent_big(1000, 1000, 8, "");
	if ((p = load_str(y, &err)) == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(p->n_tags, 1000);
	assert_int_equal(p->modbus.agent.n_map, 1000);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(p->modbus.agent.map[i].address, i);
		assert_int_equal(p->modbus.agent.map[i].tag_index, i);
		assert_int_equal(p->tags[i].command_index, i / 125);
	}
	check_round_trip(p);
	policy_free(p);
	free(y);

	/* 10000 tags, 10000 map entries, 80 commands */
	y = agent_big(POLICY_MAX_TAGS, POLICY_MODBUS_MAX_MAP, 80, "");
	assert_true(strlen(y) <= POLICY_MAX_FILE_SIZE);
	t0 = now();
	p = load_str(y, &err);
	t = now() - t0;
	if (p == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(p->n_tags, POLICY_MAX_TAGS);
	assert_int_equal(p->modbus.agent.n_map, POLICY_MODBUS_MAX_MAP);
	assert_int_equal(p->modbus.agent.map[9999].tag_index, 9999);
	print_message("    %u tags and %u map entries (%zu bytes) loaded in "
	    "%.1f ms\n", POLICY_MAX_TAGS, POLICY_MODBUS_MAX_MAP, strlen(y),
	    t * 1e3);
	/* Its normalised form (every key: 2.7 MB) loads back. */
	t0 = now();
	assert_non_null(n = policy_to_yaml(p));
	assert_true(strlen(n) <= POLICY_MAX_FILE_SIZE);
	check_round_trip(p);
	assert_int_equal(policy_diff(p, p, NULL, NULL), 0);
	assert_true(policy_equal(p, p));
	t = now() - t0;
	print_message("    printed (%zu bytes), diffed and compared in %.1f "
	    "ms\n", strlen(n), t * 1e3);
	free(n);
	policy_free(p);
	free(y);

	/* the last map entry overlaps the first: found by sorting */
	y = agent_big(POLICY_MAX_TAGS, POLICY_MODBUS_MAX_MAP - 1, 80,
	    "    - {table: input_registers, address: 0, tag: t9999}\n");
	t0 = now();
	assert_null(load_str(y, &err));
	t = now() - t0;
	assert_string_equal(err.msg, "t.yaml:10087:41: modbus.agent.map[9999]."
	    "address: register 0 of input_registers is also used by "
	    "modbus.agent.map[0] (tag \"t0000\") at line 88 (expected each "
	    "address of a table used once)");
	print_message("    the overlap found in %.1f ms\n", t * 1e3);
	free(y);

	/* one too many */
	y = agent_big(POLICY_MAX_TAGS + 1, 0, 81, "");
	assert_null(load_str(y, &err));
	assert_string_equal(err.msg, "t.yaml:10090:3: tags[10000]: more than "
	    "10000 entries (expected at most 10000)");
	free(y);
	y = agent_big(0, POLICY_MODBUS_MAX_MAP + 1, 0, "");
	assert_null(load_str(y, &err));
	assert_string_equal(err.msg, "t.yaml:10008:7: modbus.agent.map[10000]: "
	    "more than 10000 entries (expected at most 10000)");
	free(y);
	y = agent_big(0, 0, POLICY_MODBUS_MAX_COMMANDS + 1, "");
	assert_null(load_str(y, &err));
	assert_string_equal(err.msg, "t.yaml:1030:5: modbus.commands[1024]: "
	    "more than 1024 entries (expected at most 1024)");
	free(y);
}

/* ------------------------------------------------------------------ */
/* console, tls, certificates                                          */
/* ------------------------------------------------------------------ */

/* Load yaml, which must succeed. */
static struct policy *
must_load(const char *yaml)
{
	struct policy_error err;
	struct policy *p;

	if ((p = load_str(yaml, &err)) == NULL)
		fail_msg("%s\n%s", err.msg, yaml);
	return p;
}

/* Load yaml, which must fail with want. */
static void
must_refuse(const char *yaml, const char *want)
{
	struct policy_error err;
	struct policy *p;

	if ((p = load_str(yaml, &err)) != NULL) {
		policy_free(p);
		fail_msg("loaded:\n%s", yaml);
	}
	assert_string_equal(err.msg, want);
}

/* n names: "n0.example.net" ... after "certificates:\n  names:\n". */
static char *
names_yaml(size_t n, const char *first)
{
	size_t size = 64 + n * 32 + strlen(first), o, i;
	char *y = malloc(size);

	assert_non_null(y);
	o = (size_t)snprintf(y, size, "certificates:\n  names:\n");
	if (*first != '\0')
		o += (size_t)snprintf(y + o, size - o, "    - %s\n", first);
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(y + o, size - o,
		    "    - n%zu.example.net\n", i);
	return y;
}

static void
test_console(void **state)
{
	static const char yaml[] =
	    "console:\n"
	    "  session_idle_timeout: 86400\n"
	    "  session_lifetime: 604800\n"
	    "  max_sessions: 1024\n"
	    "  max_accounts: 1\n"
	    "  max_connections_per_source: 1\n"
	    "  request_timeout: 300\n"
	    "  max_body_bytes: 16777216\n"
	    "  serve_over_http: true\n"
	    "  login_failure_message: |\n"
	    "    Wrong user name or password.\n"
	    "    Call \"OT\" on 42.\n"
	    "tls:\n"
	    "  min_version: 1.3\n"
	    "  max_handshakes: 1\n"
	    "  handshakes_per_second: 100000\n"
	    "certificates:\n"
	    "  key: rsa-3072\n"
	    "  min_rsa_bits: 3072\n"
	    "  names:\n"
	    "    - GW.Example.net\n"
	    "    - 192.0.2.10\n"
	    "    - \"2001:DB8:0:0:0:0:0:10\"\n"
	    "    - \"FE80::0:1\"\n"
	    "    - localhost\n"
	    "  renew_days: 1\n";
	static const char *const keys[] = { "ec-p256", "rsa-2048", "rsa-3072",
		"rsa-4096" };
	static const enum policy_cert_key key_vals[] = { POLICY_CERT_EC_P256,
		POLICY_CERT_RSA_2048, POLICY_CERT_RSA_3072,
		POLICY_CERT_RSA_4096 };
	struct policy *p, *q;
	char y[512], want[512], label[64], *big;
	size_t i;
	struct text t;

	(void)state;
	p = must_load(yaml);
	assert_int_equal(p->console.session_idle_s, 86400);
	assert_int_equal(p->console.session_lifetime_s, 604800);
	assert_int_equal(p->console.max_sessions, 1024);
	assert_int_equal(p->console.max_accounts, 1);
	assert_int_equal(p->console.max_conns_per_source, 1);
	assert_int_equal(p->console.request_timeout_s, 300);
	assert_int_equal(p->console.max_body_bytes, 16777216);
	assert_true(p->console.serve_over_http);
	assert_string_equal(p->console.login_failure_message,
	    "Wrong user name or password.\nCall \"OT\" on 42.\n");
	assert_int_equal(p->tls.min_version, 0x0304);
	assert_int_equal(p->tls.max_handshakes, 1);
	assert_int_equal(p->tls.handshakes_per_s, 100000);
	assert_int_equal(p->certificates.key, POLICY_CERT_RSA_3072);
	assert_int_equal(p->certificates.min_rsa_bits, 3072);
	assert_int_equal(p->certificates.renew_days, 1);
	/* file order; DNS names in lower case, addresses as inet_ntop() */
	assert_int_equal(p->certificates.n_names, 5);
	assert_string_equal(p->certificates.names[0], "gw.example.net");
	assert_string_equal(p->certificates.names[1], "192.0.2.10");
	assert_string_equal(p->certificates.names[2], "2001:db8::10");
	assert_string_equal(p->certificates.names[3], "fe80::1");
	assert_string_equal(p->certificates.names[4], "localhost");
	/* http is off: serving over it is moot, no warning */
	for (i = 0; i < p->n_warnings; i++)
		assert_null(strstr(p->warnings[i], "serve_over_http"));
	check_round_trip(p);

	/* the smallest values; the lifetime may equal the idle timeout */
	q = must_load("console:\n  session_idle_timeout: 300\n"
	    "  session_lifetime: 300\n  max_sessions: 1\n"
	    "  max_connections_per_source: 1024\n  request_timeout: 5\n"
	    "  max_body_bytes: 4096\n  max_accounts: 64\n"
	    "tls:\n  max_handshakes: 4096\n  handshakes_per_second: 1\n"
	    "certificates:\n  renew_days: 365\n  names: []\n");
	assert_int_equal(q->console.session_idle_s, 300);
	assert_int_equal(q->console.session_lifetime_s, 300);
	assert_int_equal(q->console.max_accounts, 64);
	assert_int_equal(q->tls.max_handshakes, 4096);
	assert_int_equal(q->certificates.renew_days, 365);
	assert_int_equal(q->certificates.n_names, 0);
	check_round_trip(q);
	policy_free(q);
	q = must_load("console:\n  session_idle_timeout: 60\n");
	assert_int_equal(q->console.session_idle_s, 60);
	assert_int_equal(q->console.session_lifetime_s, 14400);
	policy_free(q);

	/* diff and flatten: one line per key, names as one leaf */
	q = must_load("console:\n  login_failure_message: \"no\"\n"
	    "tls:\n  min_version: \"1.3\"\n"
	    "certificates:\n  names: [gw.example.net, \"2001:db8::1\"]\n");
	memset(&t, 0, sizeof(t));
	assert_int_equal(policy_diff(q, p, diff_line, &t), 14);
	assert_non_null(strstr(t.buf, "console.session_idle_timeout: 600 -> "
	    "86400\n"));
	assert_non_null(strstr(t.buf, "console.login_failure_message: \"no\" "
	    "-> \"Wrong user name or password.\\nCall \\\"OT\\\" on 42.\\n\"\n"));
	assert_null(strstr(t.buf, "tls.min_version"));
	assert_non_null(strstr(t.buf, "tls.max_handshakes: 64 -> 1\n"));
	assert_non_null(strstr(t.buf, "certificates.key: ec-p256 -> "
	    "rsa-3072\n"
	    "certificates.names: [\"gw.example.net\", \"2001:db8::1\"] -> "
	    "[\"gw.example.net\", \"192.0.2.10\", \"2001:db8::10\", "
	    "\"fe80::1\", \"localhost\"]\n"
	    "certificates.renew_days: 30 -> 1\n"));
	assert_false(policy_equal(p, q));
	memset(&t, 0, sizeof(t));
	policy_flatten(q, flat_line, &t);
	assert_non_null(strstr(t.buf, "login_message=\"\"\n"
	    "console.session_idle_timeout=600\n"));
	assert_non_null(strstr(t.buf, "tls.min_version=\"1.3\"\n"
	    "tls.max_handshakes=64\n"));
	assert_non_null(strstr(t.buf, "certificates.names=[\"gw.example.net\", "
	    "\"2001:db8::1\"]\ncertificates.renew_days=30\nlogging."));
	policy_free(q);
	policy_free(p);

	/* 1.2 and 1.3, quoted or not; every key type */
	for (i = 0; i < 4; i++) {
		snprintf(y, sizeof(y), "tls:\n  min_version: %s\n",
		    i == 0 ? "1.2" : i == 1 ? "\"1.2\"" : i == 2 ? "1.3" :
		    "'1.3'");
		p = must_load(y);
		assert_int_equal(p->tls.min_version, i < 2 ? 0x0303 : 0x0304);
		policy_free(p);
		snprintf(y, sizeof(y), "certificates:\n  key: %s\n"
		    "  min_rsa_bits: 2048\n", keys[i]);
		p = must_load(y);
		assert_int_equal(p->certificates.key, key_vals[i]);
		check_round_trip(p);
		policy_free(p);
	}

	/* a mapping merges over the base key by key */
	p = must_load("base: factory\nconsole:\n  session_lifetime: 1200\n"
	    "certificates:\n  names: [a.example.net]\n");
	assert_int_equal(p->console.session_idle_s, 900);	/* factory */
	assert_int_equal(p->console.session_lifetime_s, 1200);
	assert_int_equal(p->console.max_conns_per_source, 16);	/* factory */
	assert_int_equal(p->certificates.min_rsa_bits, 2048);	/* factory */
	assert_int_equal(p->certificates.n_names, 1);
	policy_free(p);

	/* 16 names, then one more */
	big = names_yaml(POLICY_MAX_CERT_NAMES, "");
	p = must_load(big);
	assert_int_equal(p->certificates.n_names, POLICY_MAX_CERT_NAMES);
	assert_string_equal(p->certificates.names[15], "n15.example.net");
	check_round_trip(p);
	policy_free(p);
	free(big);
	big = names_yaml(POLICY_MAX_CERT_NAMES + 1, "");
	must_refuse(big, "t.yaml:19:7: certificates.names[16]: more than 16 "
	    "names (expected at most 16)");
	free(big);

	/* a DNS name of 253 bytes (labels of 63), then 254 */
	big = malloc(600);
	assert_non_null(big);
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(want, sizeof(want), "%s.%s.%s.%.61s", label, label, label,
	    label);
	assert_int_equal(strlen(want), 253);
	snprintf(big, 600, "certificates:\n  names: [%s]\n", want);
	p = must_load(big);
	assert_string_equal(p->certificates.names[0], want);
	check_round_trip(p);
	policy_free(p);
	snprintf(big, 600, "certificates:\n  names: [%sb]\n", want);
	snprintf(y, sizeof(y), "t.yaml:2:11: certificates.names[0]: "
	    "\"%.64s...\" is not a DNS name or an IP address (expected e.g. "
	    "gw.example.net, 192.0.2.10 or 2001:db8::10; no wildcards)", want);
	must_refuse(big, y);
	/* a label of 64 */
	snprintf(big, 600, "certificates:\n  names: [%sa.example.net]\n",
	    label);
	assert_null(load_str(big, NULL));
	free(big);

	/* login_failure_message's length: test_message_length */
}

/* serve_over_http warns only when services.http is enabled. */
static void
test_console_warnings(void **state)
{
	struct policy *p;
	size_t i, n;

	(void)state;
	p = must_load("services:\n  http:\n    enabled: true\n"
	    "    port: 8080\nconsole:\n  serve_over_http: true\n");
	for (i = n = 0; i < p->n_warnings; i++)
		if (strstr(p->warnings[i], "console.") != NULL) {
			assert_string_equal(p->warnings[i], "t.yaml:6:20: "
			    "console.serve_over_http: the console is served in "
			    "clear text on port 8080 (guide 3.2: use HTTPS)");
			n++;
		}
	assert_int_equal(n, 1);
	policy_free(p);

	/* from the factory base: http on, its default port */
	p = must_load("base: factory\nconsole:\n  serve_over_http: true\n");
	for (i = n = 0; i < p->n_warnings; i++)
		if (strstr(p->warnings[i], "console.") != NULL) {
			assert_string_equal(p->warnings[i], "t.yaml:3:20: "
			    "console.serve_over_http: the console is served in "
			    "clear text on port 80 (guide 3.2: use HTTPS)");
			n++;
		}
	assert_int_equal(n, 1);
	policy_free(p);

	/* http off (hardened), or serve_over_http false: nothing */
	p = must_load("console:\n  serve_over_http: true\n");
	for (i = 0; i < p->n_warnings; i++)
		assert_null(strstr(p->warnings[i], "console."));
	policy_free(p);
	p = must_load("services:\n  http:\n    enabled: true\n"
	    "console:\n  serve_over_http: false\n");
	for (i = 0; i < p->n_warnings; i++)
		assert_null(strstr(p->warnings[i], "console."));
	policy_free(p);
}

static void
test_to_yaml_strings(void **state)
{
	static const char yaml[] =
	    "login_message: \"line 1\\nsay \\\"hi\\\" \\\\ ok\\n\\u00e9\"\n"
	    "device:\n  location: 'it''s'\n";
	struct policy_error err;
	struct policy *p;
	char *y;

	(void)state;
	assert_non_null(p = load_str(yaml, &err));
	assert_string_equal(p->login_message, "line 1\nsay \"hi\" \\ ok\n\xc3\xa9");
	assert_string_equal(p->device.location, "it's");
	assert_non_null(y = policy_to_yaml(p));
	assert_non_null(strstr(y,
	    "login_message: \"line 1\\nsay \\\"hi\\\" \\\\ ok\\n\xc3\xa9\"\n"));
	assert_non_null(strstr(y, "  location: \"it's\"\n"));
	check_round_trip(p);
	free(y);
	policy_free(p);
}

/* ------------------------------------------------------------------ */
/* Hostile input: size, alias bombs, node and key caps                 */
/* ------------------------------------------------------------------ */

static void
test_huge_file(void **state)
{
	char dir[] = "/tmp/test_policy.XXXXXX", path[64], want[160];
	struct policy_error err;
	double t0, t;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/huge.yaml", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	/* sparse: 100 MB that costs no disk */
	assert_int_equal(ftruncate(fd, 100 << 20), 0);
	close(fd);
	t0 = now();
	assert_null(policy_load_file(path, &err));
	t = now() - t0;
	snprintf(want, sizeof(want), "%s: file is 104857600 bytes (expected at "
	    "most 8388608 bytes)", path);
	assert_string_equal(err.msg, want);
	/* fstat() alone: reading and checking 100 MB takes seconds */
	assert_true(t < 0.25);
	unlink(path);
	rmdir(dir);

	/* a buffer one byte too long */
	{
		size_t len = POLICY_MAX_FILE_SIZE + 1;
		char *b = malloc(len);

		assert_non_null(b);
		memset(b, '#', len);
		assert_null(policy_load_buffer("big", b, len, NULL, &err));
		assert_string_equal(err.msg, "big: file is 8388609 bytes "
		    "(expected at most 8388608 bytes)");
		free(b);
	}

	/* a directory, a missing file */
	assert_null(policy_load_file("good", &err));
	assert_string_equal(err.msg, "good: not a regular file");
	assert_null(policy_load_file("good/missing.yaml", &err));
	assert_string_equal(err.msg, "good/missing.yaml: cannot open: No such "
	    "file or directory");
}

/*
 * "Billion laughs" in under 300 bytes: 9^8 = 43 million strings once
 * expanded.  Refused at its first anchor, before any expansion.
 */
static void
test_alias_bomb(void **state)
{
	static const char bomb[] =
	    "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
	    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	    "h: [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n";
	struct policy_error err;
	double t0, t;

	(void)state;
	assert_true(sizeof(bomb) - 1 <= 300);
	t0 = now();
	assert_null(load_str(bomb, &err));
	t = now() - t0;
	assert_string_equal(err.msg, "t.yaml:1:4: a: YAML anchors are not "
	    "allowed (expected the value written out)");
	assert_true(t < 0.25);
}

static void
test_caps(void **state)
{
	struct policy_error err;
	size_t size = 4500000, o, i;
	char *y = malloc(size);

	(void)state;
	assert_non_null(y);
	/* nodes: 2200000 one-byte items in 4.4 MB */
	o = (size_t)snprintf(y, size, "x: [");
	for (i = 0; i < 2200000; i++)
		y[o++] = '1', y[o++] = ',';
	snprintf(y + o, size - o, "]\n");
	assert_null(load_str(y, &err));
	assert_string_equal(err.msg, "t.yaml:1:4194303: x[2097149]: more than "
	    "2097152 YAML nodes (expected at most 2097152)");

	/* keys in one mapping */
	o = (size_t)snprintf(y, size, "device:\n");
	for (i = 0; i < 257; i++)
		o += (size_t)snprintf(y + o, size - o, "  k%zu: 1\n", i);
	assert_null(load_str(y, &err));
	assert_string_equal(err.msg, "t.yaml:258:3: device.k256: more than "
	    "256 keys in one mapping (expected at most 256)");
	free(y);
}

static int
setup(void **state)
{
	(void)state;
	/* Messages name files relative to test/policy. */
	return chdir(POLICY_DIR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_inline),
		cmocka_unit_test(test_reserved),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_message_length),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_profile_hardened),
		cmocka_unit_test(test_profile_factory),
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_embedded_match_files),
		cmocka_unit_test(test_good_files),
		cmocka_unit_test(test_layering),
		cmocka_unit_test(test_acl_forms),
		cmocka_unit_test(test_acl_scale),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_facility),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_modbus),
		cmocka_unit_test(test_modbus_bad),
		cmocka_unit_test(test_agent),
		cmocka_unit_test(test_agent_bad),
		cmocka_unit_test(test_agent_reals),
		cmocka_unit_test(test_agent_scale),
		cmocka_unit_test(test_console),
		cmocka_unit_test(test_console_warnings),
		cmocka_unit_test(test_to_yaml_strings),
		cmocka_unit_test(test_huge_file),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_caps),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
