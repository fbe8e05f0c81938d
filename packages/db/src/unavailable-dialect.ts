import {
  type DatabaseConnection,
  type Dialect,
  type Driver,
  PostgresDialect,
  type PostgresDialectConfig,
} from 'kysely';
import { asDatabaseError } from './errors.js';

/**
 * Kysely's PostgreSQL dialect, with every error that means "unreachable" (acquiring a connection,
 * any statement, begin and commit) turned into DatabaseUnavailable in this one place, so callers
 * never classify pg's errors themselves.
 */
export function unavailableAwareDialect(config: PostgresDialectConfig): Dialect {
  const inner = new PostgresDialect(config);
  return {
    createAdapter: () => inner.createAdapter(),
    createQueryCompiler: () => inner.createQueryCompiler(),
    createIntrospector: (db) => inner.createIntrospector(db),
    createDriver: () => mappingErrors(inner.createDriver()),
  };
}

// Connections are handed back to the inner driver (transactions, release), so they are patched in
// place rather than wrapped; a pooled connection is patched once.
const patched = new WeakSet<DatabaseConnection>();

function mappingErrors(driver: Driver): Driver {
  const mapped: Driver = {
    init: (options) => driver.init(options),
    acquireConnection: async (options) => {
      try {
        return patch(await driver.acquireConnection(options));
      } catch (err) {
        throw asDatabaseError(err);
      }
    },
    beginTransaction: (connection, settings) => driver.beginTransaction(connection, settings),
    commitTransaction: (connection) => driver.commitTransaction(connection),
    rollbackTransaction: (connection) => driver.rollbackTransaction(connection),
    releaseConnection: (connection, options) => driver.releaseConnection(connection, options),
    destroy: (options) => driver.destroy(options),
  };
  const { savepoint, rollbackToSavepoint, releaseSavepoint } = driver;
  if (savepoint) mapped.savepoint = savepoint.bind(driver);
  if (rollbackToSavepoint) mapped.rollbackToSavepoint = rollbackToSavepoint.bind(driver);
  if (releaseSavepoint) mapped.releaseSavepoint = releaseSavepoint.bind(driver);
  return mapped;
}

function patch(connection: DatabaseConnection): DatabaseConnection {
  if (patched.has(connection)) return connection;
  const execute = connection.executeQuery.bind(connection);
  connection.executeQuery = async (query, options) => {
    try {
      return await execute(query, options);
    } catch (err) {
      throw asDatabaseError(err);
    }
  };
  patched.add(connection);
  return connection;
}
