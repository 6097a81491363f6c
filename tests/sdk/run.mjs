// tests/sdk/run.mjs - an unchanged Plex SDK (@lukehagar/plexjs) against
// plex-tokend's Plex-compatible front, for tests/sdk.sh.
//
// Environment: PLEX_URL (http://127.0.0.1:PORT/plex/NAME), KEY_FILE (the
// client key, sent as the SDK sends a Plex token: X-Plex-Token), OUT (a
// directory).  Writes OUT/token (the transient token the SDK got) and
// OUT/resources.json (what it parsed from /security/resources).  Prints
// no secret: only what it did, and errors without their bodies.
import { readFileSync, writeFileSync } from "node:fs";
import { PlexAPI } from "@lukehagar/plexjs";

const { PLEX_URL, KEY_FILE, OUT } = process.env;
if (!PLEX_URL || !KEY_FILE || !OUT) {
	console.error("run.mjs: set PLEX_URL, KEY_FILE and OUT");
	process.exit(2);
}
const key = readFileSync(KEY_FILE, "utf8").trim();
const plex = new PlexAPI({ serverURL: PLEX_URL, token: key });
// The operations live in "authentication" in some SDK versions and in
// "general" in others (0.43.0).
const ops = plex.authentication ?? plex.general;

try {
	const t = await ops.getTransientToken({ type: "delegation",
	    scope: "all" });
	const token = t.object?.mediaContainer?.token;
	if (typeof token !== "string" || token.length === 0)
		throw new Error("no token in the answer");
	writeFileSync(`${OUT}/token`, token, { mode: 0o600 });
	console.log("getTransientToken: ok");

	const r = await ops.getSourceConnectionInformation({
	    source: "server://abc123" });
	const dev = r.object?.mediaContainer?.device;
	if (!dev)
		throw new Error("no Device in the answer");
	writeFileSync(`${OUT}/resources.json`, JSON.stringify({
		name: dev.name,
		clientIdentifier: dev.clientIdentifier,
		accessToken: dev.accessToken,
		connections: (dev.connection ?? []).map((c) => ({ uri: c.uri,
		    protocol: c.protocol, address: c.address, port: c.port,
		    local: c.local, relay: c.relay }))
	}), { mode: 0o600 });
	console.log("getSourceConnectionInformation: ok");
} catch (e) {
	// never the body: it could hold a token
	console.error(`SDK call failed: ${e?.name}: status ${e?.statusCode ??
	    "-"}: ${String(e?.message).split("\n")[0].slice(0, 200)}`);
	process.exit(1);
}
