// DNS over TCP (RFC 1035 4.2.2, RFC 7766): each message preceded by its length in 2 bytes.

export function lengthPrefixed(message: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(2 + message.length);
  frame.writeUInt16BE(message.length, 0);
  message.copy(frame, 2);
  return frame;
}

/** Reassembles the messages of a TCP stream, whatever the chunks; `onMessage` returns true to
 * stop. Returns the function to feed each chunk to. */
export function messageReader(
  onMessage: (message: Buffer) => boolean | undefined,
): (chunk: Buffer) => void {
  let buffered: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const end = 2 + buffered.readUInt16BE(0);
      if (buffered.length < end) return;
      const message = buffered.subarray(2, end);
      buffered = buffered.subarray(end);
      if (onMessage(message)) return;
    }
  };
}
