/**
 * The `state` column of the members table, shared by both stores and their migrations. A row
 * that is not `Member` still matters: `Kicked` bars the session from joining by itself.
 */
export const MemberState = {
  /** A current member: may send, receives pushes. */
  Member: 0,
  /** Left by itself; may join by itself again. */
  Left: 1,
  /** Removed by a kick; only an inner join re-admits it. */
  Kicked: 2,
} as const;

export type MemberState = (typeof MemberState)[keyof typeof MemberState];
