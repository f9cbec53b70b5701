import net from 'node:net';
import tls from 'node:tls';

/** A whole Kafka response: its size field, correlation id and the bytes after them. */
export interface KafkaResponseFrame {
  readonly size: number;
  readonly correlationId: number;
  readonly payload: Buffer;
}

const SIZE_BYTES = 4;
/**
 * Larger responses are taken for a broken stream rather than allocated: a fetch returns at most
 * its maxBytes (32 MiB for gradients and versions), everything else is far smaller.
 */
export const MAX_RESPONSE_BYTES = 1024 ** 3;

/**
 * Cuts a connection's byte stream into Kafka responses (int32 size, then that many bytes, the
 * first four the correlation id), copying every byte once into a buffer of the response's exact
 * size as it arrives. kafkajs keeps each socket read and concatenates them when a response is
 * complete: for the 32 MiB fetch responses of gradients and parameter versions that is a second
 * copy and ~500 short-lived 64 KB buffers, which count toward V8's external memory and set off
 * major GCs. Because nothing of `data` is kept after push() returns, the socket can read into one
 * reused buffer (createSocketFactory).
 */
export class ResponseAssembler {
  private readonly sizeField = Buffer.alloc(SIZE_BYTES);
  private sizeFilled = 0;
  private response: Buffer | undefined;
  private filled = 0;

  /** Consumes `data` and calls `deliver` for every response it completes, in order. */
  push(data: Uint8Array, deliver: (frame: KafkaResponseFrame) => void): void {
    let at = 0;
    while (at < data.length) {
      if (this.response === undefined) {
        const n = Math.min(SIZE_BYTES - this.sizeFilled, data.length - at);
        this.sizeField.set(data.subarray(at, at + n), this.sizeFilled);
        this.sizeFilled += n;
        at += n;
        if (this.sizeFilled < SIZE_BYTES) return;
        this.sizeFilled = 0;
        const size = this.sizeField.readInt32BE(0);
        if (size < SIZE_BYTES || size > MAX_RESPONSE_BYTES)
          throw new Error(
            `Kafka response of ${size} bytes: ${size < SIZE_BYTES ? 'too short for a correlation id' : `over ${MAX_RESPONSE_BYTES} bytes`} (a broken connection or not a Kafka broker)`,
          );
        this.response = Buffer.allocUnsafe(size);
        this.filled = 0;
      }
      const n = Math.min(this.response.length - this.filled, data.length - at);
      this.response.set(data.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled < this.response.length) return;
      const response = this.response;
      this.response = undefined;
      deliver({
        size: response.length,
        correlationId: response.readInt32BE(0),
        payload: response.subarray(SIZE_BYTES),
      });
    }
  }
}

const KEEP_ALIVE_DELAY_MS = 60_000; // kafkajs' own socket factory's
const READ_BUFFER_BYTES = 256 * 1024;

type SocketFactory = (options: {
  host: string;
  port: number;
  ssl?: tls.ConnectionOptions | undefined;
  onConnect: () => void;
}) => net.Socket;

/**
 * kafkajs' socket factory, except that a plaintext socket reads into one buffer of its own
 * (net's `onread`) instead of a new one per read, and hands kafkajs views of it. Only for a
 * kafkajs whose connections copy what they read at once (ResponseAssembler installed).
 */
export function createSocketFactory(): SocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    let socket: net.Socket;
    if (ssl) {
      socket = tls.connect(
        { host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl },
        onConnect,
      );
    } else {
      const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
      socket = net.connect(
        {
          host,
          port,
          onread: {
            buffer,
            callback: (bytes: number, view: Uint8Array) => {
              socket.emit('data', Buffer.from(view.buffer, view.byteOffset, bytes));
              return true; // keep reading
            },
          },
        },
        onConnect,
      );
    }
    socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
    return socket;
  };
}
