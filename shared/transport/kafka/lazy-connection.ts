/**
 * A client (producer, admin) connected on first use and shared by its users: a failed connect
 * is retried by the next get(), close() disconnects it (errors ignored) and a later get()
 * connects again.
 */
export interface LazyConnection<T> {
  get(): Promise<T>;
  close(): Promise<void>;
}

export function lazyConnection<T extends { disconnect(): Promise<void> }>(
  connect: () => Promise<T>,
): LazyConnection<T> {
  let ready: Promise<T> | undefined;
  return {
    get() {
      if (ready === undefined) {
        const attempt = connect();
        ready = attempt;
        attempt.catch(() => {
          if (ready === attempt) ready = undefined;
        });
      }
      return ready;
    },
    async close() {
      const current = ready;
      ready = undefined;
      await current?.then((client) => client.disconnect()).catch(() => {});
    },
  };
}
