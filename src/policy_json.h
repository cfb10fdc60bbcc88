/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * policy_json.h - the policy's YAML seen as JSON, and changed by a JSON
 * merge patch (RFC 7396), for the console's REST API.
 *
 * These functions know YAML and JSON, not the policy schema: the text a
 * merge returns is applied through the normal all-or-nothing policy
 * apply, which validates it.  Both read YAML through libyaml's event API
 * and refuse what the policy loader refuses (aliases, anchors, a second
 * document, duplicate keys, non-scalar keys), with caps of their own on
 * size, depth and nodes, so a hostile document costs at most its caps.
 *
 * Typing follows the YAML 1.2 core schema (section 10.3.2).  Plain
 * scalars: null, Null, NULL, ~ and the empty scalar are null; true, True,
 * TRUE, false, False, FALSE are booleans; [-+]?[0-9]+, 0o[0-7]+ and
 * 0x[0-9a-fA-F]+ are integers; [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)
 * ([eE][-+]?[0-9]+)? and .inf/.nan forms are floats; anything else is a
 * string.  Scalars in any other style (single, double, literal, folded)
 * are strings.  Numbers JSON cannot hold are degraded, never refused: an
 * integer outside json_int_t becomes a real; a float or integer that is
 * infinite or NaN as a double (.inf, .nan, 1e999) becomes a string of its
 * text.  Mapping keys must be scalars and become JSON keys by their text
 * whatever their style (so `~: x` has the key "~").
 *
 * The standard tags !!str, !!int, !!float, !!bool, !!null (scalars),
 * !!map and !!seq (on their own kinds) are allowed and decide the type;
 * the value must then have that type's form (`!!int abc` is refused).
 * Every other tag, including the non-specific "!", is refused.
 *
 * Errors: NULL is returned, errno is set (EINVAL for a refused input,
 * ENOMEM, EFBIG for an input or a result over POLICY_JSON_MAX_INPUT
 * bytes) and err (when errlen > 0)
 * holds one NUL-terminated line, "line L column C: what" where the input
 * has a position (1-based, columns in characters), or just "what".
 *
 * Numbers are read with strtod(), like the policy loader: the process
 * must keep the C locale for LC_NUMERIC.
 */
#ifndef SLUICE_POLICY_JSON_H
#define SLUICE_POLICY_JSON_H

#include <stddef.h>

#include <jansson.h>

#define POLICY_JSON_MAX_INPUT  (8u << 20)  /* bytes of YAML read, and the
					    * largest text a merge returns */
#define POLICY_JSON_MAX_DEPTH  64          /* nested mappings/sequences */
#define POLICY_JSON_MAX_NODES  (1u << 21)  /* scalars (keys too) and
					    * collections */

/*
 * The YAML text of one policy document (len bytes, no NUL needed) as
 * JSON: mappings -> objects (keys in document order), sequences ->
 * arrays, scalars typed as above.  An empty stream (no document, or only
 * comments) is JSON null.  Returns a new reference, or NULL with err.
 */
json_t *policy_yaml_to_json(const char *yaml, size_t len, char *err,
    size_t errlen);

/*
 * Apply the merge patch `patch` (RFC 7396 section 2) to the YAML document
 * and return the new YAML text: malloc'd, NUL-terminated, *outlen set to
 * its length without the NUL.  Objects merge recursively, a null member
 * removes the key, anything else (arrays, scalars) replaces; a base that
 * is not a mapping counts as an empty one.
 *
 * What is kept from the base keeps its scalar style (plain `true` stays
 * a boolean, "1234" stays a string) and its standard tags (a plain
 * `!!str 12` is written "12": libyaml drops the default tag), and keys
 * stay in their order; new keys follow, in the patch's order; flow
 * collections become block ones.  Patch values become: strings ->
 * plain scalars where that reads back as a string (so keywords the
 * policy loader wants plain, such as `listen_port: any`, work), else
 * double-quoted ("1234", "true" stay strings); integers and
 * reals -> plain numbers (a real with the fewest of 15..17 digits that
 * read back as the same double, always with a '.' or an exponent); true,
 * false, null -> plain true, false, null (null only inside arrays);
 * arrays and objects -> block sequences and mappings.  Keys likewise.
 * Comments of
 * the base are lost.
 *
 * The base has the limits of policy_yaml_to_json(); so does the result
 * (depth, nodes, POLICY_JSON_MAX_INPUT bytes), so the returned text
 * always converts.  patch must be a JSON object (else EINVAL).  Returns
 * NULL with err on failure; *outlen is then untouched.
 */
char *policy_merge_patch(const char *yaml, size_t len, const json_t *patch,
    size_t *outlen, char *err, size_t errlen);

#endif
