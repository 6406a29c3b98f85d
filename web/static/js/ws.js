// The one WebSocket: connects with the token, reconnects with exponential backoff
// and full jitter, keeps at most MAX_INFLIGHT commands unanswered (the server closes
// a connection with over 256 pending), and reports its state: 'connecting',
// 'connected' or 'disconnected'. Events: 'state' (detail: state), 'open' (a new
// connection is ready: rejoin rooms, flush the outbox), 'event' (detail: frame).

const MIN_BACKOFF = 250;
const MAX_BACKOFF = 10000;
const MAX_INFLIGHT = 64;

export class Connection extends EventTarget {
  constructor() {
    super();
    this.state = 'disconnected';
    this.token = null;
    this.ws = null;
    this.attempt = 0;
    this.nextId = 1;
    this.waiting = new Map(); // id -> {resolve, reject, frame}
    this.queue = []; // frames waiting for an in-flight slot
    this.timer = null;
    this.retryAt = 0;
    this.stopped = true;
    this.onDialFailed = () => {};
    window.addEventListener('online', () => this.retryNow());
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.dispatchEvent(new CustomEvent('state', { detail: s }));
  }

  /** start connects with token and keeps connected until stop. */
  start(token) {
    this.token = token;
    this.stopped = false;
    this.dial();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) { this.ws.onclose = null; this.ws.close(1000); this.ws = null; }
    this.failAll('closed');
    this.setState('disconnected');
  }

  /** retryNow dials at once if waiting for a retry. */
  retryNow() {
    if (this.stopped || this.state !== 'disconnected') return;
    clearTimeout(this.timer);
    this.dial();
  }

  dial() {
    if (this.stopped) return;
    this.setState('connecting');
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/ws?token=${encodeURIComponent(this.token)}`);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.setState('connected');
      this.dispatchEvent(new Event('open'));
    };
    ws.onmessage = (e) => this.onFrame(e.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.failAll('disconnected');
      if (this.stopped) return;
      if (!opened) this.onDialFailed();
      // At once after losing a live connection, then with growing, jittered waits.
      const n = opened ? 0 : ++this.attempt;
      const wait = n === 0 ? 0 : Math.random() * Math.min(MAX_BACKOFF, MIN_BACKOFF * 2 ** n);
      this.retryAt = Date.now() + wait;
      this.setState('disconnected');
      this.timer = setTimeout(() => this.dial(), wait);
    };
  }

  onFrame(text) {
    let f;
    try { f = JSON.parse(text); } catch { return; }
    if (f.id !== undefined && f.id !== null && this.waiting.has(f.id)) {
      const w = this.waiting.get(f.id);
      this.waiting.delete(f.id);
      this.pump();
      if (f.type === 'error') w.reject(Object.assign(new Error(f.error?.message || 'error'), f.error || {}));
      else w.resolve(f.data || {});
      return;
    }
    this.dispatchEvent(new CustomEvent('event', { detail: f }));
  }

  /**
   * command sends {type, data} and resolves with the ack's data or rejects with the
   * error frame ({code, message, retry_after_ms}), or with code 'disconnected' when
   * the connection drops first (the caller decides whether to resend).
   */
  command(type, data = {}) {
    return new Promise((resolve, reject) => {
      if (this.state !== 'connected') {
        reject(Object.assign(new Error('not connected'), { code: 'disconnected' }));
        return;
      }
      const id = 'c' + this.nextId++;
      this.queue.push({ id, frame: JSON.stringify({ type, id, data }), resolve, reject });
      this.pump();
    });
  }

  /** send sends a command without an id (no answer expected). */
  send(type, data = {}) {
    if (this.state === 'connected' && this.ws) this.ws.send(JSON.stringify({ type, data }));
  }

  pump() {
    while (this.queue.length && this.waiting.size < MAX_INFLIGHT && this.ws && this.state === 'connected') {
      const c = this.queue.shift();
      this.waiting.set(c.id, c);
      this.ws.send(c.frame);
    }
  }

  failAll(code) {
    const all = [...this.waiting.values(), ...this.queue];
    this.waiting.clear();
    this.queue = [];
    for (const w of all) w.reject(Object.assign(new Error(code), { code: 'disconnected' }));
  }
}
