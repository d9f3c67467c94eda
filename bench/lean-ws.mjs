// A lean WebSocket client (RFC 6455) for the subscribers benchmark: the handshake through
// node:http (checked: 101, Sec-WebSocket-Accept, the subprotocol), then frames read straight off
// the socket, without the `ws` package's stream machinery. With 10,000 subscribers on the same two
// cores as the server, `ws` spent more CPU receiving the events (about 17 µs a message, two thirds
// of it in its Readable/Writable layers) than the server spent sending them, and that queueing
// was most of the measured latency. Same events as `ws` for what the benchmark uses: `open`,
// `message` (a Buffer), `error`, `close` (code, reason); `send(text)`, `terminate()`.
// Handles fragmented messages, several frames in one read and a frame over several reads;
// answers pings; replies to a close frame. No extensions (no permessage-deflate).

import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { request } from 'node:http';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export class LeanWebSocket extends EventEmitter {
  constructor(url, protocol, { localAddress } = {}) {
    super();
    const u = new URL(url.replace(/^ws/, 'http'));
    const key = randomBytes(16).toString('base64');
    this.socket = null;
    this.buf = null;
    this.fragments = null;
    this.closeCode = 1006;
    this.closeReason = '';
    this.req = request({
      host: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      localAddress,
      agent: false,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': key,
        'Sec-WebSocket-Protocol': protocol,
      },
    });
    this.req.on('upgrade', (res, socket, head) => {
      const accept = createHash('sha1').update(key + GUID).digest('base64');
      if (res.headers['sec-websocket-accept'] !== accept || res.headers['sec-websocket-protocol'] !== protocol) {
        socket.destroy();
        this.emit('error', new Error(`bad handshake: ${JSON.stringify(res.headers)}`));
        return;
      }
      this.socket = socket;
      socket.setNoDelay(true);
      socket.on('data', (chunk) => this.onData(chunk));
      socket.on('error', (e) => this.emit('error', e));
      socket.on('close', () => this.emit('close', this.closeCode, this.closeReason));
      this.emit('open');
      if (head.length) this.onData(head);
    });
    this.req.on('response', (res) => {
      res.resume();
      this.emit('error', new Error(`HTTP ${res.statusCode} instead of 101`));
    });
    this.req.on('error', (e) => this.emit('error', e));
    this.req.end();
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
    if (!this.socket || this.socket.destroyed) return;
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
    if (this.socket) this.socket.destroy();
    else this.req.destroy();
  }
}
