/**
 * @module A hand-written WebSocket client over a raw TCP socket (`node:net`), for hostile-peer
 * tests: it can bind a chosen source address (127.0.0.x), stop reading while the server writes,
 * and send frame headers that announce more bytes than it ever sends.
 */

import net from "node:net";
import { toHex } from "../../chain/bytes.ts";
import { decodeEnvelope, decodeHello } from "../../relay/envelope.ts";
import type { NodeIdentity } from "../../relay/identity.ts";
import { DEV_MAGIC, helloAnswer } from "./helpers.ts";

/** One frame from the server. */
export interface Frame {
  /** WebSocket opcode (2 binary, 8 close, ...). */
  opcode: number;
  /** Unmasked payload. */
  payload: Uint8Array;
}

/** How a raw link ended: the close code the server sent (if any) and whether the socket closed. */
export interface RawClose {
  /** Close code from the server's close frame, or null when it sent none. */
  code: number | null;
}

/** Options of {@link RawLink.open}. */
export interface RawLinkOptions {
  /** Source address to bind (e.g. 127.0.0.2). */
  localAddress?: string;
  /** Dialer challenge for the query (random when absent). */
  challenge?: Uint8Array;
}

/** Encodes a masked client frame header for `length` payload bytes. */
export function frameHeader(length: number, opcode = 2, mask = new Uint8Array(4)): Uint8Array {
  const ext = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const h = new Uint8Array(2 + ext + 4);
  h[0] = 0x80 | opcode;
  const dv = new DataView(h.buffer);
  if (ext === 0) h[1] = 0x80 | length;
  else if (ext === 2) {
    h[1] = 0x80 | 126;
    dv.setUint16(2, length);
  } else {
    h[1] = 0x80 | 127;
    dv.setBigUint64(2, BigInt(length));
  }
  h.set(mask, 2 + ext);
  return h;
}

/** A WebSocket link driven byte by byte. */
export class RawLink {
  /** HTTP status of the upgrade answer (101 when upgraded). */
  status = 0;
  /** Body of a refused upgrade (JSON error), when the server sent one. */
  refusal = "";
  /** The dialer challenge sent in the query. */
  readonly challenge: Uint8Array;
  /** Resolves when the socket closes. */
  readonly closed: Promise<RawClose>;
  /** Bytes written so far. */
  written = 0;

  readonly #socket: net.Socket;
  #buf = new Uint8Array(0);
  #upgraded = false;
  #frames: Frame[] = [];
  #waiters: (() => void)[] = [];
  #closeCode: number | null = null;
  #isClosed = false;

  private constructor(socket: net.Socket, challenge: Uint8Array) {
    this.#socket = socket;
    this.challenge = challenge;
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.#isClosed = true;
        this.#wake();
        resolve({ code: this.#closeCode });
      });
    });
    socket.on("error", () => {});
    socket.on("data", (d: Uint8Array) => this.#onData(d));
  }

  /** Connects to `url`'s `/v1/ws` and sends the upgrade request; resolves once answered. */
  static async open(url: string, opts: RawLinkOptions = {}): Promise<RawLink> {
    const u = new URL(url);
    const challenge = opts.challenge ?? crypto.getRandomValues(new Uint8Array(32));
    const socket = net.connect({
      host: u.hostname,
      port: Number(u.port),
      localAddress: opts.localAddress,
    });
    const link = new RawLink(socket, challenge);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    socket.write(
      `GET /v1/ws?challenge=${toHex(challenge)} HTTP/1.1\r\nHost: ${u.host}\r\n` +
        `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
        `Sec-WebSocket-Version: 13\r\n\r\n`,
    );
    await link.#waitFor(() => link.status !== 0);
    if (link.status !== 101) await Promise.race([link.closed, sleep(2000)]);
    return link;
  }

  /** Whether the socket has closed. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** Stops reading from the socket (the server's writes pile up on its side). */
  pause(): void {
    this.#socket.pause();
  }

  /** Resumes reading. */
  resume(): void {
    this.#socket.resume();
  }

  /** Writes bytes, waiting while the socket's buffer is full; false once the socket closed. */
  async write(bytes: Uint8Array): Promise<boolean> {
    if (this.#isClosed || this.#socket.destroyed) return false;
    this.written += bytes.length;
    if (!this.#socket.write(bytes)) {
      await Promise.race([
        new Promise((r) => this.#socket.once("drain", r)),
        this.closed,
      ]);
    }
    return !this.#isClosed;
  }

  /** Sends one masked frame (zero mask) with `payload`. */
  sendFrame(payload: Uint8Array, opcode = 2): Promise<boolean> {
    const h = frameHeader(payload.length, opcode);
    const out = new Uint8Array(h.length + payload.length);
    out.set(h);
    out.set(payload, h.length);
    return this.write(out);
  }

  /** The next frame from the server; null when the socket closed first. */
  async nextFrame(ms = 10_000): Promise<Frame | null> {
    const end = Date.now() + ms;
    while (!this.#frames.length && !this.#isClosed && Date.now() < end) {
      await Promise.race([this.#waitFor(() => this.#frames.length > 0), sleep(end - Date.now())]);
    }
    return this.#frames.shift() ?? null;
  }

  /** Closes the socket. */
  destroy(): void {
    this.#socket.destroy();
  }

  /**
   * Completes the link handshake as `id`: reads the server's hello, checks it echoes our
   * challenge, answers with our hello. Returns the server key.
   */
  async handshake(id: NodeIdentity, magic = DEV_MAGIC): Promise<Uint8Array> {
    const f = await this.nextFrame();
    if (!f || f.opcode !== 2) throw new Error("no hello from the server");
    const env = decodeEnvelope(f.payload);
    const h = decodeHello(env.payload);
    if (toHex(h.echo) !== toHex(this.challenge)) throw new Error("hello echoes another challenge");
    await this.sendFrame(helloAnswer(id, magic, env.from, h.challenge, "hostile-test"));
    return env.from;
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  #waitFor(cond: () => boolean): Promise<void> {
    if (cond() || this.#isClosed) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (cond() || this.#isClosed) resolve();
        else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }

  #onData(d: Uint8Array): void {
    const merged = new Uint8Array(this.#buf.length + d.length);
    merged.set(this.#buf);
    merged.set(d, this.#buf.length);
    this.#buf = merged;
    if (!this.#upgraded) {
      const text = new TextDecoder().decode(this.#buf);
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      this.status = Number(text.slice(9, 12));
      if (this.status !== 101) {
        this.refusal = text.slice(end + 4);
        this.#wake();
        return;
      }
      this.#upgraded = true;
      this.#buf = this.#buf.subarray(new TextEncoder().encode(text.slice(0, end + 4)).length);
    }
    this.#parseFrames();
    this.#wake();
  }

  #parseFrames(): void {
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let off = 2;
      const dv = new DataView(b.buffer, b.byteOffset, b.length);
      if (len === 126) {
        if (b.length < 4) return;
        len = dv.getUint16(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(dv.getBigUint64(2));
        off = 10;
      }
      if (b.length < off + len) return;
      const frame = { opcode: b[0] & 0x0f, payload: b.slice(off, off + len) };
      this.#buf = b.subarray(off + len);
      if (frame.opcode === 8 && frame.payload.length >= 2) {
        this.#closeCode = (frame.payload[0] << 8) | frame.payload[1];
      }
      this.#frames.push(frame);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
