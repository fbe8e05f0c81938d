/** The server name of a user or room ID (`@user:server`, `!room:server`); null without one. */
export function serverNameOf(id: string): string | null {
  const colon = id.indexOf(':');
  return colon === -1 ? null : id.slice(colon + 1);
}
