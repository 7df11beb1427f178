// Memory a hot path is done with, given back now instead of at the next
// major GC: detaching an ArrayBuffer frees its backing store at once, and
// every view of it reads as empty from then on. Only for buffers whose owner
// knows that no one else holds a view (never a pooled slab).

export function freeNow(buffer: ArrayBufferLike): void {
  if (buffer instanceof ArrayBuffer && !buffer.detached) buffer.transfer(0);
}
