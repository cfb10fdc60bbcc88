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
	  "login_message, logging, modbus)" },
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
	  "(expected 1..100)" },
	{ "password_policy:\n  lockout:\n    window_s: 86401\n",
	  "t.yaml:3:15: password_policy.lockout.window_s: 86401 is out of "
	  "range (expected 1..86400)" },
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
	  "storage-failure, enforcement-limited, listener-failed, dhcp-lease, "
	  "ntp-failed, ip-conflict, link-down, syslog-unreachable, "
	  "source-banned, source-unbanned, firewall-drops, client-refused, "
	  "channel-down, channel-up, login-failed, "
	  "ip-changed, password-changed, firmware-upgraded, "
	  "certificate-imported, configuration-imported, "
	  "configuration-exported, configuration-changed, "
	  "configuration-rejected, event-log-cleared, protocol, "
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
	{ "base: factory\nconsole: {}\n",
	  "t.yaml:2:1: console: section reserved for a later version of "
	  "sluice; this build does not support it" },
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
		"console", "accounts", "certificates", "tls", "snmp", "mail",
		"tags", "dnp3", "iec104", "ethernet_ip", "bacnet", "update",
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
	assert_string_equal(p->login_message, "");
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
	assert_true(t < 2.0);
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
	assert_true(t < 2.0);
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
		"t.yaml:3:14: services.http: enabled: serves the console in "
		"clear text (guide 3.1: disable it and use https)",
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
	    "most 1048576 bytes)", path);
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
		assert_string_equal(err.msg, "big: file is 1048577 bytes "
		    "(expected at most 1048576 bytes)");
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
	size_t size = 700000, o, i;
	char *y = malloc(size);

	(void)state;
	assert_non_null(y);
	/* nodes: 300000 one-byte items in 600 kB */
	o = (size_t)snprintf(y, size, "x: [");
	for (i = 0; i < 300000; i++)
		y[o++] = '1', y[o++] = ',';
	snprintf(y + o, size - o, "]\n");
	assert_null(load_str(y, &err));
	assert_string_equal(err.msg, "t.yaml:1:524287: x[262141]: more than "
	    "262144 YAML nodes (expected at most 262144)");

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
		cmocka_unit_test(test_to_yaml_strings),
		cmocka_unit_test(test_huge_file),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_caps),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
