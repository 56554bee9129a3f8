/**
 * The token of an `Authorization: Bearer <token>` header: `undefined` when there is no header,
 * `''` when it is malformed (so the token check answers 10101 instead of falling back to
 * `?token=`).
 */
export function readBearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '';
}
