/** The part of a pino logger this package writes to: `log.warn({ serverName }, 'message')`. */
export type LogFn = (obj: Record<string, unknown>, msg: string) => void;
export type FederationLogger = { info: LogFn; warn: LogFn };

const ignore: LogFn = () => {};
export const silentLogger: FederationLogger = { info: ignore, warn: ignore };
