// Sydent's redaction of an invited address into the `display_name` that lands in room state
// (NOTES.md §5.6): the username and the domain are redacted on their own, each keeping at most
// REVEALED characters, so the name never gives the address away.

/** Sydent's default `username_reveal_characters` and `domain_reveal_characters`. */
const REVEALED = 3;

/** `foo@bar.com` → `f...@bar...`; from the address as the inviter supplied it. */
export function redactedDisplayName(address: string): string {
  const at = address.indexOf('@');
  if (at === -1) return redactPart(address);
  return `${redactPart(address.slice(0, at))}@${redactPart(address.slice(at + 1))}`;
}

/** Counted in code points, as Python counts a string's length. */
function redactPart(part: string): string {
  const characters = [...part];
  if (characters.length > REVEALED) return `${characters.slice(0, REVEALED).join('')}...`;
  if (characters.length > 5) return `${characters.slice(0, 3).join('')}...`;
  if (characters.length > 1) return `${characters[0]}...`;
  return '...';
}
