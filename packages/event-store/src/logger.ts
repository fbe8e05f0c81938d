/** The subset of a pino logger this package writes to: `log.info({ seq }, 'message')`. */
export type LogFn = (obj: Record<string, unknown>, msg: string) => void;
export type Logger = { info: LogFn; warn: LogFn; error: LogFn };

const ignore: LogFn = () => {};
export const silentLogger: Logger = { info: ignore, warn: ignore, error: ignore };
