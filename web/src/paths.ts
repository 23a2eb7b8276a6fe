/** The UI's places: the shell routes them (App.tsx), pages link to them. */
export const CONNECTIONS = "/settings/technical/connections";
export const CREDENTIALS = "/settings/technical/credentials";
export const SECURITY = "/settings/technical/security";
export const WEBHOOKS = "/settings/technical/webhooks";
export const PGP_KEYS = "/settings/technical/pgp-keys";
export const ACCOUNT = "/settings/account";
export const AUDIT = "/settings/account/audit";
