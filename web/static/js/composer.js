// <message-composer>: the message box. Enter sends (through the outbox), Shift+Enter
// adds a line, ArrowUp in an empty box edits the last message, typing sends
// typing_start/typing_stop. Files come from the attach button, drag-and-drop
// anywhere on the room, or paste; each uploads at once with a progress bar and is
// sent with the message as `attachments: [id]`.

import { h, icon } from './dom.js';
import { bytes } from './format.js';
import { errorText } from './api.js';

const TYPING_EVERY = 3000;

class MessageComposer extends HTMLElement {
  /** init wires the composer: ctx = {store, api, conn, outbox, actions}; parentId for a thread. */
  init(ctx, { parentId = null, label = 'Message', id = 'composer-input' } = {}) {
    this.ctx = ctx;
    this.parentId = parentId;
    this.roomId = null;
    this.uploads = [];
    this.lastTyping = 0;
    this.input = h('textarea', { id, class: 'composer-input', rows: '1', placeholder: label, 'aria-label': label, maxlength: '10000' });
    this.file = h('input', { type: 'file', multiple: true, class: 'visually-hidden', tabindex: '-1', 'aria-hidden': 'true' });
    this.tray = h('ul', { class: 'upload-tray', 'aria-label': 'Files to send', hidden: true });
    this.error = h('p', { class: 'error', role: 'alert' });
    const attach = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Attach files', title: 'Attach files', on: { click: () => this.file.click() } }, icon('clip'));
    const send = h('button', { type: 'submit', class: 'primary send-button', 'aria-label': 'Send message' }, 'Send');
    this.form = h('form', { class: 'composer-form' }, attach, this.input, send, this.file);
    this.replaceChildren(this.tray, this.form, this.error);
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    this.input.addEventListener('keydown', (e) => this.onKey(e));
    this.input.addEventListener('input', () => { this.autosize(); this.onTyping(); });
    this.input.addEventListener('blur', () => this.stopTyping());
    this.input.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.files || [])];
      if (files.length) { e.preventDefault(); this.addFiles(files); }
    });
    this.file.addEventListener('change', () => { this.addFiles([...this.file.files]); this.file.value = ''; });
  }

  setRoom(roomId) {
    if (this.roomId !== roomId) this.stopTyping();
    this.roomId = roomId;
    this.error.textContent = '';
  }

  focus() { this.input.focus(); }

  autosize() {
    this.input.rows = Math.min(8, Math.max(1, this.input.value.split('\n').length));
  }

  onKey(e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.submit(); return; }
    if (e.key === 'ArrowUp' && !this.input.value && !this.parentId) {
      if (this.ctx.actions.editLast()) e.preventDefault();
    }
  }

  onTyping() {
    if (!this.roomId) return;
    if (!this.input.value.trim()) { this.stopTyping(); return; }
    const now = Date.now();
    if (now - this.lastTyping > TYPING_EVERY) {
      this.lastTyping = now;
      this.ctx.conn.send('typing_start', { room_id: this.roomId });
    }
  }

  stopTyping() {
    if (this.lastTyping && this.roomId) this.ctx.conn.send('typing_stop', { room_id: this.roomId });
    this.lastTyping = 0;
  }

  submit() {
    const text = this.input.value.trim();
    if (!this.roomId) return;
    if (this.uploads.some((u) => u.state === 'uploading')) { this.error.textContent = 'Wait for the uploads to finish.'; return; }
    const ids = this.uploads.filter((u) => u.state === 'done').map((u) => u.attachment.id);
    if (!text && !ids.length) return;
    const content = text || this.uploads.filter((u) => u.state === 'done').map((u) => u.attachment.filename).join(', ');
    if ([...content].length > 10000) { this.error.textContent = 'Messages are at most 10,000 characters.'; return; }
    this.ctx.outbox.add(this.roomId, content, this.parentId, ids);
    this.lastTyping = 0; // a successful send ends the indicator on the server
    this.input.value = '';
    this.autosize();
    this.uploads = [];
    this.renderTray();
    this.error.textContent = '';
    this.ctx.actions.sent?.(this.roomId);
  }

  /** addFiles uploads files with progress; they are attached to the next message. */
  addFiles(files) {
    for (const f of files) {
      const u = { file: f, progress: 0, state: 'uploading', attachment: null, error: '' };
      const { promise, abort } = this.ctx.api.upload(f, (p) => { u.progress = p; this.updateProgress(u); });
      u.abort = abort;
      this.uploads.push(u);
      promise.then((a) => { u.state = 'done'; u.attachment = a; this.renderTray(); })
        .catch((e) => { u.state = 'failed'; u.error = errorText(e); this.renderTray(); });
    }
    this.renderTray();
    this.input.focus();
  }

  updateProgress(u) {
    if (u.bar) { u.bar.value = Math.round(u.progress * 100); u.bar.textContent = `${Math.round(u.progress * 100)}%`; }
  }

  renderTray() {
    this.tray.hidden = this.uploads.length === 0;
    this.tray.replaceChildren(...this.uploads.map((u) => {
      u.bar = h('progress', { max: '100', value: String(Math.round(u.progress * 100)), 'aria-label': `Uploading ${u.file.name}` });
      const status = u.state === 'uploading' ? u.bar : u.state === 'done' ? h('span', { class: 'muted', text: 'Ready' }) : h('span', { class: 'error', text: u.error });
      return h('li', { class: `upload ${u.state}` },
        h('span', { class: 'file-name', text: u.file.name }), h('span', { class: 'muted', text: ` ${bytes(u.file.size)} ` }), status,
        h('button', {
          type: 'button', class: 'icon-button', 'aria-label': `Remove ${u.file.name}`,
          on: { click: () => { u.abort?.(); this.uploads = this.uploads.filter((x) => x !== u); this.renderTray(); } },
        }, icon('close')));
    }));
  }
}

customElements.define('message-composer', MessageComposer);

/**
 * enableDrop makes target accept dropped files for composer, showing the overlay
 * while files are dragged over it.
 */
export function enableDrop(target, overlay, composer) {
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
  target.addEventListener('dragenter', (e) => { if (!hasFiles(e)) return; e.preventDefault(); depth++; overlay.hidden = false; });
  target.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
  target.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) overlay.hidden = true; });
  target.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    overlay.hidden = true;
    composer.addFiles([...e.dataTransfer.files]);
  });
}
