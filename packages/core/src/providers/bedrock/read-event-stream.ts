import { EventStreamCodec, type Message } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { ProviderUnavailableError } from '../../errors.js';

/** Frames bigger than this are not Bedrock events but a corrupt length prefix. */
const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Prelude (total length, headers length, prelude CRC) plus the trailing message CRC. */
const MIN_FRAME_BYTES = 16;

/**
 * Splits an `application/vnd.amazon.eventstream` body into decoded messages as bytes arrive.
 *
 * Each frame starts with its total length as a big-endian u32, so frames are cut out of a
 * running buffer: a frame may arrive split over several chunks, and one chunk may hold several
 * frames. `EventStreamCodec.decode` checks both CRCs and parses the headers.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTSelectObjectAppendix.html (frame layout)
 *
 * A body that ends inside a frame, a bad checksum or an absurd length is the provider's failure
 * (`ProviderUnavailableError`); errors of the body itself propagate to the caller unchanged.
 */
export async function* readEventStream(
  provider: string,
  body: AsyncIterable<Uint8Array>,
): AsyncGenerator<Message> {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  let pending: Uint8Array = new Uint8Array(0);
  for await (const chunk of body) {
    pending = pending.length === 0 ? chunk : concat(pending, chunk);
    while (pending.length >= 4) {
      const total = new DataView(pending.buffer, pending.byteOffset, 4).getUint32(0, false);
      if (total < MIN_FRAME_BYTES || total > MAX_FRAME_BYTES) throw malformed(provider);
      if (pending.length < total) break;
      const frame = pending.subarray(0, total);
      pending = pending.subarray(total);
      let message: Message;
      try {
        message = codec.decode(frame);
      } catch (error) {
        throw malformed(provider, error);
      }
      yield message;
    }
  }
  if (pending.length > 0) {
    throw new ProviderUnavailableError(`${provider} stream ended in the middle of an event`, { provider });
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function malformed(provider: string, cause?: unknown): ProviderUnavailableError {
  return new ProviderUnavailableError(`${provider} sent a malformed event-stream frame`, { provider, cause });
}
