// A lean WebSocket client (RFC 6455) for the subscribers benchmark: the opening handshake
// written and checked by hand (101, Sec-WebSocket-Accept, the subprotocol), then frames read
// straight off the socket into one buffer that every socket of the process reads into
// (`net.connect`'s `onread`: no Buffer allocated per read, no Readable stream, no 'data' event),
// without the `ws` package's stream machinery. With 10,000 subscribers on the same two cores as
// the server, `ws` spent more CPU receiving the events (about 17 µs a message, two thirds of it in
// its Readable/Writable layers) than the server spent sending them, and that queueing was most of
// the measured latency. Same events as `ws` for what the benchmark uses: `open`, `message` (a
// Buffer, valid only during the call: read it there), `error`, `close` (code, reason);
// `send(text)`, `terminate()`. Handles fragmented messages, several frames in one read and a
// frame over several reads; answers pings; replies to a close frame. No extensions (no
// permessage-deflate).

import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** What every socket of this process reads into (the callbacks run one at a time). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
/** The longest handshake response accepted. */
const MAX_HANDSHAKE = 16 * 1024;

export class LeanWebSocket extends EventEmitter {
  constructor(url, protocol, { localAddress } = {}) {
    super();
    const u = new URL(url.replace(/^ws/, 'http'));
    const key = randomBytes(16).toString('base64');
    this.accept = createHash('sha1').update(key + GUID).digest('base64');
    this.protocol = protocol;
    this.open = false;
    this.buf = null;
    this.fragments = null;
    this.closeCode = 1006;
    this.closeReason = '';
    this.socket = connect({
      host: u.hostname,
      port: Number(u.port || 80),
      localAddress,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (n, buf) => this.onRead(buf.subarray(0, n)) },
    });
    this.socket.on('connect', () => {
      this.socket.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
      );
    });
    this.socket.on('error', (e) => this.emit('error', e));
    this.socket.on('close', () => this.emit('close', this.closeCode, this.closeReason));
  }

  onRead(chunk) {
    if (this.open) {
      this.onData(chunk);
      return;
    }
    // The handshake's response, possibly with the first frames behind it.
    const b = this.buf ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    const end = b.indexOf('\r\n\r\n');
    if (end < 0) {
      if (b.length > MAX_HANDSHAKE) this.fail('no end to the handshake response');
      else this.buf = b;
      return;
    }
    this.buf = null;
    const [status, ...lines] = b.subarray(0, end).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(
      lines.map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    if (!/^HTTP\/1\.1 101 /.test(status)) {
      this.fail(`${status} instead of 101`);
      return;
    }
    if (headers['sec-websocket-accept'] !== this.accept || headers['sec-websocket-protocol'] !== this.protocol) {
      this.fail(`bad handshake: ${JSON.stringify(headers)}`);
      return;
    }
    this.open = true;
    this.emit('open');
    if (b.length > end + 4) this.onData(b.subarray(end + 4));
  }

  onData(chunk) {
    const b = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    while (b.length - off >= 2) {
      const b0 = b[off];
      const b1 = b[off + 1];
      let len = b1 & 0x7f;
      let at = off + 2;
      if (len === 126) {
        if (b.length - off < 4) break;
        len = b.readUInt16BE(off + 2);
        at = off + 4;
      } else if (len === 127) {
        if (b.length - off < 10) break;
        len = Number(b.readBigUInt64BE(off + 2));
        at = off + 10;
      }
      if (b1 & 0x80) {
        this.fail('the server masked a frame');
        return;
      }
      if (b.length - at < len) break;
      const payload = b.subarray(at, at + len);
      off = at + len;
      this.onFrame(b0 & 0x80, b0 & 0x0f, payload);
    }
    this.buf = off === b.length ? null : Buffer.from(b.subarray(off));
  }

  onFrame(fin, opcode, payload) {
    switch (opcode) {
      case 0x0: // continuation
      case 0x1: // text
      case 0x2: // binary
        if (!fin) {
          (this.fragments ??= []).push(Buffer.from(payload));
          return;
        }
        if (this.fragments) {
          this.fragments.push(payload);
          payload = Buffer.concat(this.fragments);
          this.fragments = null;
        }
        this.emit('message', payload);
        return;
      case 0x8: // close: the code and reason, our reply, then the end
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.closeReason = payload.subarray(2).toString();
        this.frame(0x8, payload.subarray(0, 2));
        this.socket.end();
        return;
      case 0x9: // ping
        this.frame(0xa, payload);
        return;
      default: // pong, or reserved
        return;
    }
  }

  /** Writes one masked frame (a client must mask). */
  frame(opcode, payload) {
    if (this.socket.destroyed) return;
    const len = payload.length;
    const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
    const out = Buffer.allocUnsafe(head + 4 + len);
    out[0] = 0x80 | opcode;
    if (len < 126) out[1] = 0x80 | len;
    else if (len < 65536) {
      out[1] = 0x80 | 126;
      out.writeUInt16BE(len, 2);
    } else {
      out[1] = 0x80 | 127;
      out.writeBigUInt64BE(BigInt(len), 2);
    }
    const mask = randomBytes(4);
    mask.copy(out, head);
    for (let i = 0; i < len; i++) out[head + 4 + i] = payload[i] ^ mask[i & 3];
    this.socket.write(out);
  }

  send(text) {
    this.frame(0x1, Buffer.from(text));
  }

  fail(why) {
    this.emit('error', new Error(why));
    this.terminate();
  }

  terminate() {
    this.socket.destroy();
  }
}
