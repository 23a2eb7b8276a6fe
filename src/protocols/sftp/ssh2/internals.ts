/**
 * ssh2's untyped internals that the fixes in this folder reach into, and the ssh2 version they were written
 * and tested against (package.json pins it; index.ts refuses to patch any other).
 */
import { createRequire } from "node:module";

export const ssh2Require = createRequire(import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: ssh2's protocol internals are untyped CommonJS.
export type Internal = any;

/** The ssh2 release whose internals these fixes follow. */
export const SSH2_VERSION = "1.17.0";

/** The ssh2 release installed. */
export const installedSsh2Version = (ssh2Require("ssh2/package.json") as { version: string }).version;

/** ssh2's limit on a whole SSH packet (RFC 4253 §6.1: 35000 bytes). */
export const MAX_SSH_PACKET = 35000;

export const MESSAGE_CHANNEL_DATA = 94;
