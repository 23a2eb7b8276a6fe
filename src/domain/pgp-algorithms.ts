/** The OpenPGP key types Ferry generates (no dependencies: the web UI shares it). */
export const PGP_ALGORITHMS = ["curve25519", "rsa3072", "rsa4096"] as const;
export type PgpAlgorithm = (typeof PGP_ALGORITHMS)[number];
