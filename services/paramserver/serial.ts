/**
 * Runs async tasks one at a time in call order: the gradient loop and the deadline timer both
 * touch the server, and a round's persist + publish must finish before the next record counts.
 */
export function createSerial(): <T>(task: () => T | Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const result = tail.then(task);
    tail = result.catch(() => {});
    return result;
  };
}
