// The read model's tables are made by the projector's migrations; until then its readers cannot answer.
const TABLES_PROBE_MS = 2_000;

export interface TablesReadiness {
  /** `read model` in /readyz. */
  readonly name: 'read model';
  /** From the last probe: never a query of its own. */
  isReady(): boolean;
  close(): void;
}

/**
 * `read model` in /readyz: whether the projector's migrations made the tables a reader needs
 * (`tablesExist`, one query), probed in the background every two seconds.
 */
export function watchTables(tablesExist: () => Promise<boolean>): TablesReadiness {
  let ready = false;
  let timer: NodeJS.Timeout | undefined;
  const probe = () => {
    tablesExist()
      .then(
        (found) => {
          ready = found;
        },
        () => {
          ready = false;
        },
      )
      .finally(() => {
        if (timer === undefined) return;
        timer = setTimeout(probe, TABLES_PROBE_MS);
        timer.unref();
      });
  };
  timer = setTimeout(probe, 0);
  timer.unref();
  return {
    name: 'read model',
    isReady: () => ready,
    close: () => {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
