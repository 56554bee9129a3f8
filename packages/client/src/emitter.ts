/** A listener of one event; `void` events take no argument. */
export type Listener<T> = (value: T) => void;

/**
 * A typed event emitter. A throwing listener does not stop the others or the emitter's
 * caller: its error is rethrown from a microtask, the way a DOM EventTarget reports it (an
 * uncaught exception in Node, a console error in browsers).
 */
export class Emitter<Events extends object> {
  private readonly listeners: { [K in keyof Events]?: Set<Listener<Events[K]>> } = {};

  /** Adds `fn`; returns the function that removes it. */
  on<K extends keyof Events>(event: K, fn: Listener<Events[K]>): () => void {
    const set = (this.listeners[event] ??= new Set());
    // Wrapped so the same function added twice is called twice and removed once per call.
    const entry: Listener<Events[K]> = (value) => fn(value);
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  /** Calls the listeners present when the emit starts, in the order they were added. */
  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    const set = this.listeners[event];
    if (set === undefined) return;
    for (const fn of [...set]) {
      try {
        fn(value);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
