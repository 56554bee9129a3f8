/** How many delivered MsgIds a client remembers for de-duplication. */
export const RECENT_IDS_CAPACITY = 10_000;

/**
 * The most recently delivered MsgIds, oldest forgotten first. Membership is the only test:
 * ids are ordered within one conversation only, so "lower than the last id" proves nothing.
 */
export class RecentIds {
  // A Set iterates in insertion order, so its first entry is the oldest.
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number = RECENT_IDS_CAPACITY) {}

  /** Remembers `id`; false if it was already among the remembered ones. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next();
      if (oldest.done !== true) this.ids.delete(oldest.value);
    }
    return true;
  }
}
