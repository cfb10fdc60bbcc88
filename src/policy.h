/*
 * policy.h - the YAML policy, parsed into an immutable snapshot.
 *
 * A policy is loaded with libyaml's event API (anchors, aliases, a second
 * document, duplicate keys and excess nesting are all rejected), layered
 * on an optional base profile (`base: hardened`, `base: factory` or a
 * path relative to the file), then checked against the schema.  Every
 * error names file:line:column, the key path and what was expected.
 * Once returned, a struct policy is never modified: a change builds a new
 * one.  policy/README.md documents every key.
 */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "eventlog.h"
#include "registry.h"

#define POLICY_MAX_FILE_SIZE   (8u << 20)  /* bytes; larger files are refused
					    * (10,000 tags normalised: 2.7 MB) */
#define POLICY_MAX_DEPTH       8           /* nesting of mappings/sequences */
#define POLICY_MAX_BASE_DEPTH  4           /* base: chains */
#define POLICY_MAX_ACL_ENTRIES 16384
#define POLICY_MAX_WARNINGS    32
#define POLICY_MAX_MANAGEMENT  64          /* firewall.management entries */
#define POLICY_MODBUS_MAX_SERIAL 32        /* modbus.serial_channels */
#define POLICY_MODBUS_MAX_TCP    64        /* modbus.tcp_channels */
#define POLICY_MODBUS_MAX_ROUTES 256       /* modbus.routes */
#define POLICY_MODBUS_NAME_MAX   31        /* channel names, bytes */
#define POLICY_MODBUS_MAX_RULES  256       /* modbus.firewall.rules */
#define POLICY_MODBUS_MAX_FROM   16        /* a rule's from: networks */
#define POLICY_MODBUS_MAX_RANGES 16        /* a rule's address ranges per table */
#define POLICY_MAX_TAGS          10000     /* tags */
#define POLICY_MODBUS_MAX_COMMANDS 1024    /* modbus.commands */
#define POLICY_MODBUS_MAX_MAP    10000     /* modbus.agent.map */
#define POLICY_TAG_NAME_MAX      63        /* = TAG_NAME_MAX (tags.h) */
#define POLICY_MAX_CERT_NAMES    16        /* certificates.names */
#define POLICY_CERT_NAME_MAX     253       /* a DNS name in text, bytes */

struct policy_error {
	char msg[1024];   /* "file:line:col: key.path: what is wrong (expected ...)" */
};

struct policy_acl_entry {
	int family;             /* AF_INET or AF_INET6 */
	uint8_t addr[16];       /* network byte order; IPv4 in the first 4 bytes, host bits zero */
	uint8_t prefix;         /* 0..32 or 0..128 */
	bool active;
	char comment[64];
};

struct policy_service {
	bool enabled;
	uint16_t ports[REGISTRY_MAX_ENDPOINTS];  /* indexed like registry endpoints */
};

struct policy_rate {
	bool enabled;
	uint32_t rate;    /* packets per second */
	uint32_t burst;   /* packets */
};

/* firewall.default_input: what happens to input no rule accepts. */
enum policy_fw_input { POLICY_FW_INPUT_ACCEPT, POLICY_FW_INPUT_DROP };
/* firewall.closed_ports: how a closed or refused port answers. */
enum policy_fw_closed { POLICY_FW_CLOSED_DROP, POLICY_FW_CLOSED_REJECT };

/*
 * certificates.key: the key of the self-signed certificate sluice
 * generates and of the CSRs it writes.
 */
enum policy_cert_key {
	POLICY_CERT_EC_P256,           /* ECDSA on P-256 (secp256r1) */
	POLICY_CERT_RSA_2048, POLICY_CERT_RSA_3072, POLICY_CERT_RSA_4096
};

enum policy_syslog_transport { POLICY_SYSLOG_UDP, POLICY_SYSLOG_TCP };
enum policy_syslog_format { POLICY_SYSLOG_RFC5424, POLICY_SYSLOG_RFC3164 };

/* modbus: the Modbus gateway (policy/README.md, "modbus"). */
enum policy_modbus_mode { POLICY_MODBUS_TRANSPARENT, POLICY_MODBUS_AGENT };
enum policy_modbus_exceptions {
	POLICY_MODBUS_EXC_RESPOND,     /* answer with exception responses */
	POLICY_MODBUS_EXC_SILENT       /* never: the master times out instead */
};
enum policy_modbus_malformed {
	POLICY_MODBUS_MALFORMED_EXCEPTION,  /* answer exception 0x03 */
	POLICY_MODBUS_MALFORMED_DROP
};
enum policy_modbus_role {
	POLICY_MODBUS_ROLE_MASTER,     /* sluice polls slaves on the line */
	POLICY_MODBUS_ROLE_SLAVE       /* a serial master on the line reaches TCP slaves */
};
enum policy_modbus_framing { POLICY_MODBUS_RTU, POLICY_MODBUS_ASCII };
enum policy_modbus_parity {
	POLICY_MODBUS_PARITY_NONE, POLICY_MODBUS_PARITY_EVEN,
	POLICY_MODBUS_PARITY_ODD
};
enum policy_modbus_rs485 {
	POLICY_MODBUS_RS485_AUTO,      /* TIOCSRS485 if the driver has it, else RTS */
	POLICY_MODBUS_RS485_KERNEL,    /* TIOCSRS485 or fail */
	POLICY_MODBUS_RS485_RTS,       /* toggle RTS around each frame */
	POLICY_MODBUS_RS485_OFF
};
enum policy_modbus_functions_mode {
	POLICY_MODBUS_FUNC_ALL, POLICY_MODBUS_FUNC_READ_ONLY,
	POLICY_MODBUS_FUNC_LIST,
	POLICY_MODBUS_FUNC_READ_WRITE  /* read-only + 5 6 15 16 21 22 23 */
};
enum policy_modbus_channel_kind {
	POLICY_MODBUS_CHANNEL_SERIAL, POLICY_MODBUS_CHANNEL_TCP
};

/*
 * modbus.firewall: rules on source x listening port x unit x function x
 * address range x written value, first match wins (policy/README.md,
 * "modbus.firewall").  Each table-and-direction a request can touch has
 * its own ranges; a request matches a rule's ranges when every access it
 * makes lies inside the ranges of that table and direction.
 */
enum policy_mbfw_action { POLICY_MBFW_ALLOW, POLICY_MBFW_DENY };
enum policy_mbfw_exception {
	POLICY_MBFW_EXC_ILLEGAL_FUNCTION,   /* 0x01 */
	POLICY_MBFW_EXC_ILLEGAL_ADDRESS,    /* 0x02 */
};
enum policy_mbfw_access {
	POLICY_MBFW_COILS_READ = 0,         /* FC1 */
	POLICY_MBFW_COILS_WRITE,            /* FC5, FC15 */
	POLICY_MBFW_DISCRETE_INPUTS_READ,   /* FC2 */
	POLICY_MBFW_INPUT_REGISTERS_READ,   /* FC4 */
	POLICY_MBFW_HOLDING_REGISTERS_READ, /* FC3, FC23 read, FC24 */
	POLICY_MBFW_HOLDING_REGISTERS_WRITE,/* FC6, FC16, FC22, FC23 write */
	POLICY_MBFW_N_ACCESS
};
struct policy_mbfw_ranges {
	uint8_t n;                     /* 0 = any address */
	struct { uint16_t first, last; } r[POLICY_MODBUS_MAX_RANGES];
};
struct policy_mbfw_net {
	int family;                    /* AF_INET or AF_INET6 */
	uint8_t addr[16];              /* network order, host bits zero */
	uint8_t prefix;
};
struct policy_modbus_rule {
	char name[POLICY_MODBUS_NAME_MAX + 1];
	enum policy_mbfw_action action;
	uint8_t n_from;                /* 0 = any source */
	struct policy_mbfw_net from[POLICY_MODBUS_MAX_FROM];
	uint16_t listen_port;          /* 0 = any */
	uint8_t units[32];             /* POLICY_MODBUS_UNIT_SET; default all */
	struct {
		enum policy_modbus_functions_mode mode;
		uint8_t codes[16];     /* always filled, as for routes */
	} functions;
	struct policy_mbfw_ranges ranges[POLICY_MBFW_N_ACCESS];
	/* Written register values (FC6, FC16, FC22's result is unknown:
	 * its masks are not values, FC23 write) must lie in value_min..max. */
	uint16_t value_min, value_max;
};

/*
 * tags: the core's tag table (src/tags.h); agent mode fills it from
 * modbus.commands and serves it through modbus.agent.map.
 */
struct policy_tag {
	char name[POLICY_TAG_NAME_MAX + 1];
	uint8_t type;                  /* enum tag_type */
	uint16_t length;               /* string: 1..250 bytes; else 0 */
	double scale, offset;          /* engineering = raw * scale + offset */
	double deadband;               /* >= 0, engineering units */
	char unit[16];
	uint32_t stale_after;          /* missed polls before uncertain; 0 never */
	/* The read command that fills it ("" = none) and where: the word
	 * (register commands) or bit (coil/discrete commands) index. */
	char command[POLICY_MODBUS_NAME_MAX + 1];
	uint16_t at;
	/* The write command that carries it to the device ("" = none: the
	 * tag is read-only), and where in that command's data. */
	char write_command[POLICY_MODBUS_NAME_MAX + 1];
	uint16_t write_at;
	/* Derived (not keys): indexes into modbus.commands, or -1. */
	int32_t command_index, write_command_index;
};

enum policy_mb_trigger {
	POLICY_MB_TRIGGER_CYCLIC,      /* every interval_ms */
	POLICY_MB_TRIGGER_ON_CHANGE,   /* writes: when a client changes a tag */
	POLICY_MB_TRIGGER_DISABLED
};
struct policy_modbus_command {
	char name[POLICY_MODBUS_NAME_MAX + 1];
	char channel[POLICY_MODBUS_NAME_MAX + 1];
	uint8_t unit;                  /* 1..255 */
	uint8_t function;              /* 1 2 3 4 5 6 15 16 23 */
	uint16_t address;
	uint16_t quantity;             /* bits (1 2 5 15) or registers; FC5/6: 1 */
	uint16_t write_address;        /* FC23 only: its write part */
	uint16_t write_quantity;
	enum policy_mb_trigger trigger;
	uint32_t interval_ms;          /* 10..1200000 */
	uint32_t initial_delay_ms;     /* 0..60000 */
	uint8_t retries;               /* 0..10 */
	uint8_t swap;                  /* enum tag_swap */
	/* Derived: the channel it names (a master serial line or TCP). */
	enum policy_modbus_channel_kind channel_kind;
	unsigned channel_index;
};

enum policy_mb_table {
	POLICY_MB_COILS, POLICY_MB_DISCRETE_INPUTS,
	POLICY_MB_INPUT_REGISTERS, POLICY_MB_HOLDING_REGISTERS
};
/* One tag at an address of the agent's Modbus server. */
struct policy_modbus_map_entry {
	uint8_t table;                 /* enum policy_mb_table */
	uint16_t address;              /* first; registers: tag_type_words() of them */
	char tag[POLICY_TAG_NAME_MAX + 1];
	int32_t tag_index;             /* derived: into tags[] */
};
enum policy_mb_bad_quality {
	POLICY_MB_BAD_EXCEPTION,       /* answer 0x04 (server device failure) */
	POLICY_MB_BAD_LAST_VALUE       /* answer the last value */
};

/* Bit u of a 256-bit unit set: set[u / 8] & (1u << (u % 8)). */
#define POLICY_MODBUS_UNIT_SET(set, u) \
	(((set)[(u) / 8] >> ((u) % 8)) & 1u)

struct policy_modbus_serial {
	char name[POLICY_MODBUS_NAME_MAX + 1];
	char device[256];              /* absolute path */
	enum policy_modbus_role role;
	enum policy_modbus_framing framing;
	uint32_t baud;
	uint8_t data_bits;             /* 7 or 8; always 8 with RTU */
	enum policy_modbus_parity parity;
	uint8_t stop_bits;             /* 1 or 2 */
	enum policy_modbus_rs485 rs485;
	uint32_t rs485_delay_before_us, rs485_delay_after_us;
	uint32_t response_timeout_ms, inter_frame_delay_ms, initial_delay_ms;
	uint32_t silence_ms;           /* 0 = 3.5 character times */
	uint8_t read_retries, write_retries;
};

struct policy_modbus_tcp {
	char name[POLICY_MODBUS_NAME_MAX + 1];
	char host[256];                /* address or host name, never "" */
	uint16_t port;
	uint32_t connect_timeout_ms, response_timeout_ms;
	uint8_t read_retries, write_retries;
};

struct policy_modbus_route {
	uint8_t units[32];             /* incoming units, POLICY_MODBUS_UNIT_SET */
	char channel[POLICY_MODBUS_NAME_MAX + 1];
	uint16_t listen_port;          /* 0 = any listening port */
	int32_t offset;                /* -255..255; unit 0 is never shifted */
	struct {
		uint8_t mapped[32];    /* incoming units with an entry */
		uint8_t to[256];       /* outgoing unit, where mapped */
	} map;
	bool broadcast;                /* unit 0 may go to the (serial) channel */
	struct {
		enum policy_modbus_functions_mode mode;
		uint8_t codes[16];     /* allowed function codes 1..127, always filled */
	} functions;
	/* Derived from channel (not a key): the channel it names. */
	enum policy_modbus_channel_kind channel_kind;
	unsigned channel_index;        /* into serial[] or tcp[] */
};

struct policy {
	char source[256];          /* file it came from, or "<embedded>" */

	struct {
		char name[64];
		char location[128];
		char description[128];
		char contact[128];
	} device;

	struct policy_service services[REGISTRY_COUNT];

	struct {
		bool activate;
		bool apply_additional_restrictions;
		size_t n_entries;
		struct policy_acl_entry *entries;   /* owned */
	} accessible_ip;

	struct {
		bool null_scan, xmas_scan, nmap_xmas_scan, syn_fin_scan, fin_scan,
		    nmap_id_scan, syn_rst_scan, new_without_syn, invalid_state;
		struct policy_rate syn_flood;
		struct policy_rate icmp_limit;
	} dos_defense;

	struct {
		enum policy_fw_input default_input;
		enum policy_fw_closed closed_ports;
		/* Never banned; sorted, no overlaps, comment unused. */
		size_t n_management;
		struct policy_acl_entry management[POLICY_MAX_MANAGEMENT];
		uint32_t ban_seconds;          /* default ban length, 1..604800 */
		struct {
			uint32_t new_per_second;   /* per source; 0 = off */
			uint32_t burst;            /* packets, 1..100000 */
			uint32_t max_connections;  /* per source; 0 = off */
		} per_source;
	} firewall;

	struct {
		unsigned min_length;           /* 8..128 */
		bool require_digit, require_upper, require_lower, require_special;
		unsigned lifetime_days;        /* 0 = never expires, else 1..3650 */
		unsigned history;              /* 0..24 previous passwords refused */
		bool reject_common;
		struct {
			unsigned time_cost;        /* Argon2id passes, 2..8 */
			unsigned memory_mib;       /* Argon2id memory, 19..256 */
		} hash;
		struct {
			bool enabled;
			unsigned attempts;         /* 1..10 failures ... */
			unsigned window_s;         /* ... within this many seconds ... */
			unsigned duration_s;       /* ... lock it this long, 60..3600 s */
		} lockout;
	} password_policy;

	char *login_message;              /* owned, never NULL ("" = none) */

	/* The HTTPS console (policy/README.md, "console"). */
	struct {
		uint32_t session_idle_s, session_lifetime_s;  /* idle <= lifetime */
		uint32_t max_sessions, max_accounts;
		uint32_t max_conns_per_source, request_timeout_s, max_body_bytes;
		bool serve_over_http;  /* services.http serves, not redirects */
		char *login_failure_message;   /* owned, never NULL */
	} console;
	struct {
		int min_version;               /* 0x0303 (1.2) or 0x0304 (1.3) */
		uint32_t max_handshakes, handshakes_per_s;
	} tls;
	struct {
		enum policy_cert_key key;
		uint32_t min_rsa_bits;         /* 2048, 3072 or 4096 */
		uint32_t renew_days;
		/* Extra subjectAltNames, in file order, no duplicates: a
		 * DNS name in lower case or an address as inet_ntop()
		 * writes it.  device.name is not among them. */
		size_t n_names;
		char names[POLICY_MAX_CERT_NAMES][POLICY_CERT_NAME_MAX + 1];
	} certificates;

	struct {
		struct {
			uint32_t max_bytes;        /* per file before rotation */
			unsigned files;            /* rotated files kept, 1..32 */
		} local;
		struct {
			char server[256];          /* host name or address; "" = none */
			uint16_t port;
			enum policy_syslog_transport transport;
			enum policy_syslog_format format;
			unsigned facility;         /* 0..23 */
		} syslog;
		uint8_t events[EVENTLOG_TYPE_COUNT];   /* EVENTLOG_SINK_* bits */
	} logging;

	size_t n_tags;                     /* sorted by name */
	struct policy_tag tags[POLICY_MAX_TAGS];

	struct {
		enum policy_modbus_mode mode;
		struct {
			uint32_t max_connections;      /* 1..4096 */
			uint32_t idle_timeout_s;       /* 0 = never */
			enum policy_modbus_exceptions exceptions;
			enum policy_modbus_malformed malformed;
		} listeners;
		/* Sorted by name; routes by listen_port, then lowest unit. */
		size_t n_serial;
		struct policy_modbus_serial serial[POLICY_MODBUS_MAX_SERIAL];
		size_t n_tcp;
		struct policy_modbus_tcp tcp[POLICY_MODBUS_MAX_TCP];
		size_t n_routes;
		struct policy_modbus_route routes[POLICY_MODBUS_MAX_ROUTES];
		/* Agent mode: poll commands, and the server's address map. */
		size_t n_commands;             /* sorted by name */
		struct policy_modbus_command commands[POLICY_MODBUS_MAX_COMMANDS];
		struct {
			enum policy_mb_bad_quality bad_quality;
			uint32_t write_timeout_ms; /* a client's write waits this long */
			struct {
				bool enabled;      /* one bit per command, 1 = last poll ok */
				uint8_t table;     /* enum policy_mb_table */
				uint16_t address;
			} status;
			size_t n_map;              /* sorted by table, address */
			struct policy_modbus_map_entry map[POLICY_MODBUS_MAX_MAP];
		} agent;
		struct {
			enum policy_mbfw_action default_action;
			enum policy_mbfw_exception deny_exception;
			size_t n_rules;        /* in file order: first match wins */
			struct policy_modbus_rule rules[POLICY_MODBUS_MAX_RULES];
		} firewall;
	} modbus;

	/* Non-fatal findings (e.g. syslog enabled without a server). */
	size_t n_warnings;
	char warnings[POLICY_MAX_WARNINGS][256];
};

/*
 * Load and validate.  name is used in messages; basedir resolves a
 * relative `base:` path (NULL = current directory).  Returns a new policy
 * or NULL with err filled.
 */
struct policy *policy_load_file(const char *path, struct policy_error *err);
struct policy *policy_load_buffer(const char *name, const char *buf,
    size_t len, const char *basedir, struct policy_error *err);
/* The embedded default (= etc/sluice.yaml at build time). */
struct policy *policy_load_default(struct policy_error *err);
void policy_free(struct policy *p);

/* The embedded default's text and the profiles, NUL-terminated. */
extern const char policy_default_yaml[];
extern const char policy_profile_factory_yaml[];
extern const char policy_profile_hardened_yaml[];

/*
 * The normalised form: every key, in schema order, as YAML that
 * policy_load_buffer() loads back to an equal policy.  Returns a new
 * NUL-terminated string or NULL (ENOMEM).
 */
char *policy_to_yaml(const struct policy *p);

/*
 * Call fn once per leaf as ("services.http.enabled", "false"), in schema
 * order.  List entries are keyed by their content
 * ("accessible_ip.entries[192.168.1.0/24].active").
 */
void policy_flatten(const struct policy *p,
    void (*fn)(const char *path, const char *value, void *arg), void *arg);

/*
 * Compare a (old) and b (new): fn is called per difference with the old
 * and new values (NULL where the key is absent on that side); fn may be
 * NULL to only count.  Returns the number of differences, or (size_t)-1
 * with errno ENOMEM.
 */
size_t policy_diff(const struct policy *a, const struct policy *b,
    void (*fn)(const char *path, const char *old_value,
	const char *new_value, void *arg), void *arg);

/* Equal as data? */
bool policy_equal(const struct policy *a, const struct policy *b);

#endif
