// A small shrinker for failing bodies: drops lines, then single bytes, as
// long as the failure stays the same, so that a report shows the few bytes
// that matter. Greedy and bounded (each try costs an oracle round trip).

/** Lines of `body`, each with its newline (the last may have none). */
function splitLines(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (let i = body.indexOf(0x0a); i >= 0; i = body.indexOf(0x0a, i + 1)) {
    out.push(body.subarray(from, i + 1));
    from = i + 1;
  }
  if (from < body.length) out.push(body.subarray(from));
  return out;
}

/**
 * The smallest body found (within `budget` tries) for which `fails` still
 * holds: chunks of lines removed (halving the chunk size), then single lines,
 * then single bytes from the end backwards.
 */
export async function shrinkBody(body: Buffer, fails: (candidate: Buffer) => Promise<boolean>, budget = 400): Promise<Buffer> {
  let tries = 0;
  const attempt = async (candidate: Buffer): Promise<boolean> => {
    if (tries >= budget) return false;
    tries++;
    return fails(candidate);
  };

  let lines = splitLines(body);
  for (let size = Math.max(1, lines.length >> 1); size >= 1; size = size === 1 ? 0 : size >> 1) {
    for (let at = 0; at < lines.length && tries < budget; ) {
      const fewer = [...lines.slice(0, at), ...lines.slice(at + size)];
      if (fewer.length < lines.length && (await attempt(Buffer.concat(fewer)))) lines = fewer;
      else at += size;
    }
  }

  let bytes = Buffer.concat(lines);
  for (let at = bytes.length - 1; at >= 0 && tries < budget; at--) {
    const fewer = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    if (await attempt(fewer)) bytes = fewer;
  }
  return bytes;
}
