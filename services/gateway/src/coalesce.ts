/** Carries a batch of items in one call; answers one result per item, in the items' order. */
export type BatchCall<Item, Result> = (items: Item[]) => Promise<Result[]>;

export interface CoalesceOptions<Item> {
  /** Most weight one call carries; an item heavier than that alone goes in a call of its own. */
  maxBatchWeight: number;
  /** An item's share of a batch (a bulk lookup's number of 3PIDs); 1 by default. */
  weightOf?: (item: Item) => number;
}

type Waiter<Item, Result> = {
  item: Item;
  weight: number;
  resolve: (result: Result) => void;
  reject: (err: unknown) => void;
};

/**
 * Many callers' items in few calls. An item waits while a call is under way, then leaves with
 * everything that queued meanwhile in the next call; when no call is under way it leaves at the
 * end of the current turn of the event loop (setImmediate), with whatever else arrived in it.
 * Items that fill a batch leave at once, so under load several calls may be under way, each
 * carrying at most `maxBatchWeight`. Each caller gets its own result, or the call's error when the
 * whole call failed (only that call's callers get it).
 */
export function coalesce<Item, Result>(
  call: BatchCall<Item, Result>,
  { maxBatchWeight, weightOf = () => 1 }: CoalesceOptions<Item>,
): (item: Item) => Promise<Result> {
  let queue: Waiter<Item, Result>[] = [];
  let queuedWeight = 0;
  let inFlight = 0;
  let scheduled = false;

  const send = (batch: Waiter<Item, Result>[]) => {
    inFlight++;
    const settle = (answer: (waiter: Waiter<Item, Result>, index: number) => void) => {
      batch.forEach(answer);
      inFlight--;
      if (inFlight === 0 && queue.length > 0) sendQueued();
    };
    // A call that throws instead of rejecting fails its batch all the same.
    new Promise<Result[]>((resolve) => resolve(call(batch.map((waiter) => waiter.item)))).then(
      (results) => {
        if (results.length !== batch.length) {
          const err = new Error(`a batch call answered ${results.length} results for ${batch.length} items`);
          settle((waiter) => waiter.reject(err));
        } else {
          settle((waiter, index) => waiter.resolve(results[index] as Result));
        }
      },
      (err: unknown) => settle((waiter) => waiter.reject(err)),
    );
  };

  const sendQueued = () => {
    const batch = queue;
    queue = [];
    queuedWeight = 0;
    if (batch.length > 0) send(batch);
  };

  const afterThisTurn = () => {
    scheduled = false;
    if (inFlight === 0) sendQueued(); // otherwise the call under way sends them when it ends
  };

  return (item) =>
    new Promise<Result>((resolve, reject) => {
      const weight = weightOf(item);
      // A full batch leaves before this item joins, so no call carries more than the cap.
      if (queue.length > 0 && queuedWeight + weight > maxBatchWeight) sendQueued();
      queue.push({ item, weight, resolve, reject });
      queuedWeight += weight;
      if (queuedWeight >= maxBatchWeight) sendQueued();
      else if (!scheduled && inFlight === 0) {
        scheduled = true;
        setImmediate(afterThisTurn);
      }
    });
}
