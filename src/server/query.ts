// Query values are attacker-controlled: they are looked up, never joined into
// paths, and only a short, printable form of them ever reaches a message.

/** A short, printable rendering of an untrusted id for messages and logs. */
export function describeId(raw: string): string {
  const printable = raw.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(printable.length > 80 ? printable.slice(0, 80) + '…' : printable);
}

/** Go's url.Query().Get: the first value, '' when absent. Never throws on bad escapes. */
export function queryFromUrl(url: string): URLSearchParams {
  const q = url.indexOf('?');
  if (q < 0) return new URLSearchParams();
  const hash = url.indexOf('#', q);
  return new URLSearchParams(url.slice(q + 1, hash < 0 ? undefined : hash));
}
