import { type RawBuilder, sql } from 'kysely';

/**
 * @tessera/lookup-hash's lookupHash in SQL, so that PostgreSQL hashes a whole index in one
 * statement: base64url(sha256(UTF-8 of "<form> <medium> <pepper>")) without padding. `encode`
 * breaks lines only after 76 characters; a SHA-256 digest is 44.
 */
export function lookupHashSql(form: RawBuilder<unknown>, medium: RawBuilder<unknown>, pepper: RawBuilder<unknown>) {
  return sql<string>`rtrim(translate(encode(sha256(convert_to(${form} || ' ' || ${medium} || ' ' || ${pepper}, 'UTF8')), 'base64'), '+/', '-_'), '=')`;
}
