/** Error codes of the network that mean the server cannot be reached (the clients' UNREACHABLE). */
export const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ECONNRESET",
]);
