/*
 * check_front.c - the Plex-compatible front: both answer shapes of
 * /security/token, XML escaping, the /security/resources parser against
 * recorded answers (tests/data/resources*), and the resources answers
 * made anew from parsed data (Plex's JSON and XML, and /v1's JSON).
 *
 * Only made-up tokens appear here, and no assertion prints one.
 */
#include "ac-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "front.h"
#include "plex.h"
#include "plexres.h"
#include "secret.h"
#include "testlib.h"

#define SRC_TOKEN "src-AAAAbbbbCCCCddddEEEEffff"

static struct plexres *
parse_file(const char *name, enum plex_err want, char *reason,
    size_t reasonlen)
{
	struct plexres *p = NULL;
	enum plex_err err;
	size_t len;
	char *body;

	body = test_slurp(name, &len);
	err = plexres_parse(body, len, &p, reason, reasonlen);
	ck_assert_msg(err == want, "%s: %s (%s)", name, plex_strerror(err),
	    reason);
	free(body);
	return p;
}

/* The three connections plex-sim gives abc123, parsed from any shape. */
static void
check_abc123(const struct plexres *p)
{
	ck_assert_str_eq(p->name, "Friend's Server");
	ck_assert_str_eq(p->client_id, "abc123");
	ck_assert(p->access_token != NULL);
	ck_assert(secret_equal(p->access_token, SRC_TOKEN,
	    strlen(SRC_TOKEN)));
	ck_assert_uint_eq(p->nconn, 3);
	ck_assert_str_eq(p->conn[0].uri,
	    "https://192-168-1-20.abc123.plex.direct:32400");
	ck_assert_str_eq(p->conn[0].protocol, "https");
	ck_assert_str_eq(p->conn[0].address, "192.168.1.20");
	ck_assert_int_eq(p->conn[0].port, 32400);
	ck_assert(p->conn[0].local && !p->conn[0].relay && !p->conn[0].ipv6);
	ck_assert_str_eq(p->conn[1].address, "2001:db8::20");
	ck_assert(!p->conn[1].local && !p->conn[1].relay && p->conn[1].ipv6);
	ck_assert_str_eq(p->conn[2].uri,
	    "https://203-0-113-7.abc123.plex.direct:8443");
	ck_assert_int_eq(p->conn[2].port, 8443);
	ck_assert(!p->conn[2].local && p->conn[2].relay);
}

/* ------------------------------------------------------- token shapes */

START_TEST(test_token_json)
{
	static const char tok[] = "transient-0123456789abcdef";
	static const char want[] = "{\"MediaContainer\":{\"size\":0,"
	    "\"token\":\"transient-0123456789abcdef\"}}";
	struct secret *back = NULL;
	char reason[PLEX_REASON_LEN];
	size_t n = 0;
	char *s;

	s = front_token_answer(tok, strlen(tok), 1, &n);
	ck_assert(s != NULL);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert(strcmp(s, want) == 0);
	ck_assert_int_eq(plex_parse_token(s, n, &back, reason,
	    sizeof(reason)), PLEX_OK);
	ck_assert(secret_equal(back, tok, strlen(tok)));
	secret_free(back);
	front_free(s);
}
END_TEST

START_TEST(test_token_xml)
{
	static const char tok[] = "transient-0123456789abcdef";
	static const char want[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<MediaContainer size=\"0\" "
	    "token=\"transient-0123456789abcdef\"/>\n";
	struct secret *back = NULL;
	char reason[PLEX_REASON_LEN];
	size_t n = 0;
	char *s;

	s = front_token_answer(tok, strlen(tok), 0, &n);
	ck_assert(s != NULL);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert(strcmp(s, want) == 0);
	ck_assert_int_eq(plex_parse_token(s, n, &back, reason,
	    sizeof(reason)), PLEX_OK);
	ck_assert(secret_equal(back, tok, strlen(tok)));
	secret_free(back);
	front_free(s);
}
END_TEST

START_TEST(test_escape)
{
	char *s;

	s = front_xml_escape("a&b<c>d\"e'f");
	ck_assert_str_eq(s, "a&amp;b&lt;c&gt;d&quot;e&apos;f");
	front_free(s);
	s = front_xml_escape("");
	ck_assert_str_eq(s, "");
	front_free(s);
	s = front_xml_escape("&&");
	ck_assert_str_eq(s, "&amp;&amp;");
	front_free(s);
	s = front_xml_escape("plain, caf\xc3\xa9");
	ck_assert_str_eq(s, "plain, caf\xc3\xa9");
	front_free(s);
}
END_TEST

START_TEST(test_accept)
{
	ck_assert(front_wants_json("application/json"));
	ck_assert(front_wants_json("text/html, application/json;q=0.9"));
	ck_assert(!front_wants_json(NULL));
	ck_assert(!front_wants_json("*/*"));
	ck_assert(!front_wants_json("application/xml"));
}
END_TEST

START_TEST(test_routes)
{
	char name[CFG_NAME_MAX + 1];

	ck_assert_int_eq(front_route_of("/plex/demo/security/token", name),
	    FRONT_PLEX_TOKEN);
	ck_assert_str_eq(name, "demo");
	ck_assert_int_eq(front_route_of("/plex/demo/security/resources",
	    name), FRONT_PLEX_RESOURCES);
	ck_assert_int_eq(front_route_of("/v1/servers/living-room/resources",
	    name), FRONT_V1_RESOURCES);
	ck_assert_str_eq(name, "living-room");
	ck_assert_int_eq(front_route_of("/plex/demo/security/tokens", name),
	    FRONT_NONE);
	ck_assert_int_eq(front_route_of("/plex/Bad!/security/token", name),
	    FRONT_NONE);
	ck_assert_int_eq(front_route_of("/plex//security/token", name),
	    FRONT_NONE);
	ck_assert_int_eq(front_route_of("/plex/demo", name), FRONT_NONE);
	ck_assert_int_eq(front_route_of("/v1/servers/demo/token", name),
	    FRONT_NONE);
}
END_TEST

/* ---------------------------------------------------- resources parse */

START_TEST(test_parse_json)
{
	char reason[PLEX_REASON_LEN];
	struct plexres *p;

	p = parse_file("resources.json", PLEX_OK, reason, sizeof(reason));
	check_abc123(p);
	plexres_free(p);
}
END_TEST

START_TEST(test_parse_xml)
{
	char reason[PLEX_REASON_LEN];
	struct plexres *p;

	p = parse_file("resources.xml", PLEX_OK, reason, sizeof(reason));
	check_abc123(p);
	plexres_free(p);
}
END_TEST

/* Device as one object (the Plex API spec), port as a string, 1/0. */
START_TEST(test_parse_object)
{
	char reason[PLEX_REASON_LEN];
	struct plexres *p;

	p = parse_file("resources-object.json", PLEX_OK, reason,
	    sizeof(reason));
	ck_assert_str_eq(p->name, "Tom & Jerry <\"Den\">");
	ck_assert_str_eq(p->client_id, "def456");
	ck_assert_uint_eq(p->nconn, 1);
	ck_assert_int_eq(p->conn[0].port, 32400);
	ck_assert(p->conn[0].local && !p->conn[0].relay);
	plexres_free(p);
}
END_TEST

START_TEST(test_parse_bad)
{
	static const char *const bad[] = {
		"resources-no-id.json", "resources-bad-token.xml",
		"resources-bad-port.json", "resources-no-device.xml",
		"resources-doctype.xml", "garbage.txt", "truncated.json",
		"token.json", "token.xml"
	};
	char reason[PLEX_REASON_LEN];
	struct plexres *p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reason[0] = '\0';
		p = parse_file(bad[i], PLEX_ERR_MALFORMED, reason,
		    sizeof(reason));
		ck_assert(p == NULL);
		ck_assert_msg(strstr(reason, "malformed") != NULL, "%s: %s",
		    bad[i], reason);
		ck_assert(strstr(reason, "src-") == NULL);
	}
}
END_TEST

START_TEST(test_parse_many_conns)
{
	char body[16384], reason[PLEX_REASON_LEN];
	struct plexres *p = NULL;
	size_t n;
	int i;

	n = (size_t)snprintf(body, sizeof(body), "<MediaContainer size=\"1\">"
	    "<Device clientIdentifier=\"x\">");
	for (i = 0; i < PLEXRES_CONN_MAX + 5; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n,
		    "<Connection uri=\"http://h%d:1\" port=\"1\"/>", i);
	n += (size_t)snprintf(body + n, sizeof(body) - n,
	    "</Device><Device clientIdentifier=\"second\"/></MediaContainer>");
	ck_assert_int_eq(plexres_parse(body, n, &p, reason, sizeof(reason)),
	    PLEX_OK);
	ck_assert_uint_eq(p->nconn, PLEXRES_CONN_MAX);
	ck_assert_str_eq(p->client_id, "x");
	ck_assert(p->access_token == NULL);
	plexres_free(p);
}
END_TEST

START_TEST(test_source_valid)
{
	ck_assert(plexres_source_valid("server://abc123"));
	ck_assert(plexres_source_valid("provider://tv.plex.provider.vod"));
	ck_assert(!plexres_source_valid(NULL));
	ck_assert(!plexres_source_valid(""));
	ck_assert(!plexres_source_valid("server://"));
	ck_assert(!plexres_source_valid("abc123"));
	ck_assert(!plexres_source_valid("server://a b"));
	ck_assert(!plexres_source_valid("server://a&X-Plex-Token=k"));
	ck_assert(!plexres_source_valid("Server://abc"));
}
END_TEST

/* ------------------------------------------------- resources answers */

/* Plex's shape, made from the parse, parses back to the same thing. */
static void
roundtrip(const char *file, int json)
{
	char reason[PLEX_REASON_LEN];
	struct plexres *p, *q = NULL;
	size_t n = 0, i;
	char *s;

	p = parse_file(file, PLEX_OK, reason, sizeof(reason));
	s = front_resources_plex(p, json, &n);
	ck_assert(s != NULL);
	ck_assert_msg(plexres_parse(s, n, &q, reason, sizeof(reason)) ==
	    PLEX_OK, "%s: %s", file, reason);
	ck_assert_str_eq(q->name, p->name);
	ck_assert_str_eq(q->client_id, p->client_id);
	ck_assert(secret_same(q->access_token, p->access_token));
	ck_assert_uint_eq(q->nconn, p->nconn);
	for (i = 0; i < p->nconn; i++) {
		ck_assert_str_eq(q->conn[i].uri, p->conn[i].uri);
		ck_assert_str_eq(q->conn[i].address, p->conn[i].address);
		ck_assert_int_eq(q->conn[i].port, p->conn[i].port);
		ck_assert_int_eq(q->conn[i].local, p->conn[i].local);
		ck_assert_int_eq(q->conn[i].relay, p->conn[i].relay);
		ck_assert_int_eq(q->conn[i].ipv6, p->conn[i].ipv6);
	}
	plexres_free(q);
	plexres_free(p);
	front_free(s);
}

START_TEST(test_plex_shapes)
{
	roundtrip("resources.json", 1);
	roundtrip("resources.json", 0);
	roundtrip("resources.xml", 1);
	roundtrip("resources.xml", 0);
	roundtrip("resources-object.json", 1);
	roundtrip("resources-object.json", 0);
}
END_TEST

/* XML: the header, attribute values escaped, Device as Plex writes it. */
START_TEST(test_plex_xml_text)
{
	char reason[PLEX_REASON_LEN];
	struct plexres *p;
	size_t n = 0;
	char *s;

	p = parse_file("resources-object.json", PLEX_OK, reason,
	    sizeof(reason));
	s = front_resources_plex(p, 0, &n);
	ck_assert(strncmp(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<MediaContainer size=\"1\">\n<Device ", 64) == 0);
	ck_assert(strstr(s, "name=\"Tom &amp; Jerry &lt;&quot;Den&quot;"
	    "&gt;\"") != NULL);
	ck_assert(strstr(s, "<Connection protocol=\"http\" address=\""
	    "10.0.0.5\" port=\"32400\" uri=\"http://10-0-0-5.def456.plex."
	    "direct:32400\" local=\"1\" relay=\"0\"/>") != NULL);
	plexres_free(p);
	front_free(s);
}
END_TEST

/* JSON: Device is one object, as the Plex API spec and SDKs have it. */
START_TEST(test_plex_json_device)
{
	char reason[PLEX_REASON_LEN];
	json_t *j, *dev;
	struct plexres *p;
	size_t n = 0;
	char *s;

	p = parse_file("resources.json", PLEX_OK, reason, sizeof(reason));
	s = front_resources_plex(p, 1, &n);
	j = json_loadb(s, n, 0, NULL);
	ck_assert(j != NULL);
	dev = json_object_get(json_object_get(j, "MediaContainer"),
	    "Device");
	ck_assert(json_is_object(dev));
	ck_assert_str_eq(json_string_value(json_object_get(dev,
	    "clientIdentifier")), "abc123");
	ck_assert_uint_eq(json_array_size(json_object_get(dev,
	    "Connection")), 3);
	ck_assert(json_is_true(json_object_get(json_array_get(
	    json_object_get(dev, "Connection"), 2), "relay")));
	json_decref(j);
	plexres_free(p);
	front_free(s);
}
END_TEST

START_TEST(test_v1_shape)
{
	char reason[PLEX_REASON_LEN];
	json_t *j, *c;
	struct plexres *p;
	size_t n = 0;
	char *s;

	p = parse_file("resources.xml", PLEX_OK, reason, sizeof(reason));
	s = front_resources_v1(p, "server://abc123", &n);
	j = json_loadb(s, n, 0, NULL);
	ck_assert(j != NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j, "source")),
	    "server://abc123");
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")),
	    "Friend's Server");
	ck_assert_str_eq(json_string_value(json_object_get(j,
	    "client_identifier")), "abc123");
	ck_assert(strcmp(json_string_value(json_object_get(j,
	    "access_token")), SRC_TOKEN) == 0);
	c = json_object_get(j, "connections");
	ck_assert_uint_eq(json_array_size(c), 3);
	c = json_array_get(c, 1);
	ck_assert_str_eq(json_string_value(json_object_get(c, "address")),
	    "2001:db8::20");
	ck_assert_int_eq(json_integer_value(json_object_get(c, "port")),
	    32400);
	ck_assert(json_is_false(json_object_get(c, "local")));
	ck_assert(json_is_false(json_object_get(c, "relay")));
	ck_assert(json_is_string(json_object_get(c, "uri")));
	ck_assert(json_is_string(json_object_get(c, "protocol")));
	ck_assert_uint_eq(json_object_size(c), 6);
	json_decref(j);
	plexres_free(p);
	front_free(s);
}
END_TEST

static Suite *
front_suite(void)
{
	Suite *s = suite_create("front");
	TCase *t = tcase_create("shapes");
	TCase *r = tcase_create("resources");

	tcase_add_test(t, test_token_json);
	tcase_add_test(t, test_token_xml);
	tcase_add_test(t, test_escape);
	tcase_add_test(t, test_accept);
	tcase_add_test(t, test_routes);
	suite_add_tcase(s, t);
	tcase_add_test(r, test_parse_json);
	tcase_add_test(r, test_parse_xml);
	tcase_add_test(r, test_parse_object);
	tcase_add_test(r, test_parse_bad);
	tcase_add_test(r, test_parse_many_conns);
	tcase_add_test(r, test_source_valid);
	tcase_add_test(r, test_plex_shapes);
	tcase_add_test(r, test_plex_xml_text);
	tcase_add_test(r, test_plex_json_device);
	tcase_add_test(r, test_v1_shape);
	suite_add_tcase(s, r);
	return s;
}

int
main(void)
{
	int rc;

	if (plex_global_init() == -1)
		return 99;
	rc = test_run(front_suite());
	plex_global_cleanup();
	return rc;
}
