// <emoji-picker>: the full Unicode emoji set (generated into emoji-data.js from
// emoji-test.txt), by group or by search on the names. Choosing an emoji dispatches
// 'emoji' with {emoji} and closes the picker.

import { h } from './dom.js';
import { groups, emoji } from './emoji-data.js';

const SHOWN_GROUPS = groups.map((g, i) => [g, i]).filter(([g]) => g !== 'Component');
const ICONS = ['😀', '👋', '', '🐻', '🍔', '✈️', '⚽', '💡', '❤️', '🏁'];
const MAX_RESULTS = 400;

class EmojiPicker extends HTMLElement {
  connectedCallback() {
    if (this.built) return;
    this.built = true;
    this.setAttribute('role', 'dialog');
    this.setAttribute('aria-label', 'Emoji picker');
    this.hidden = true;
    this.search = h('input', { type: 'search', class: 'emoji-search', placeholder: 'Search emoji', 'aria-label': 'Search emoji by name' });
    this.tabs = h('div', { class: 'emoji-tabs', role: 'group', 'aria-label': 'Emoji groups' });
    for (const [name, i] of SHOWN_GROUPS) {
      this.tabs.append(h('button', { type: 'button', class: 'icon-button', 'aria-label': name, title: name, dataset: { group: i }, text: ICONS[i] || name[0] }));
    }
    this.grid = h('div', { class: 'emoji-grid', role: 'group', 'aria-label': 'Emoji' });
    this.status = h('p', { class: 'muted small', 'aria-live': 'polite' });
    this.append(this.search, this.tabs, this.grid, this.status);
    this.search.addEventListener('input', () => this.show());
    this.tabs.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-group]');
      if (b) { this.group = Number(b.dataset.group); this.search.value = ''; this.show(); }
    });
    this.grid.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-emoji]');
      if (b) this.choose(b.dataset.emoji);
    });
    this.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.stopPropagation(); this.close(); }
      if (e.key === 'Enter' && e.target === this.search) {
        e.preventDefault();
        const first = this.grid.querySelector('button[data-emoji]');
        if (first) this.choose(first.dataset.emoji);
      }
    });
    this.group = 0;
    // A press outside the picker (and outside the button that opened it) closes it.
    document.addEventListener('pointerdown', (e) => {
      if (!this.hidden && !this.contains(e.target) && !this.returnFocus?.contains(e.target)) this.close(false);
    }, true);
  }

  /** open shows the picker next to anchor; onPick gets the chosen emoji. */
  open(anchor, onPick) {
    this.onPick = onPick;
    this.returnFocus = anchor;
    this.hidden = false;
    this.search.value = '';
    this.show();
    const r = anchor.getBoundingClientRect();
    const w = Math.min(340, window.innerWidth - 16);
    this.style.setProperty('--picker-left', `${Math.max(8, Math.min(r.left, window.innerWidth - w - 8))}px`);
    this.style.setProperty('--picker-top', `${Math.max(8, Math.min(r.bottom + 4, window.innerHeight - 380))}px`);
    this.search.focus();
  }

  close(refocus = true) {
    if (this.hidden) return;
    this.hidden = true;
    if (refocus) this.returnFocus?.focus?.();
  }

  choose(e) {
    const cb = this.onPick;
    this.close();
    cb?.(e);
    this.dispatchEvent(new CustomEvent('emoji', { detail: { emoji: e } }));
  }

  /** matches lists [emoji, name] for the search text, or the current group. */
  matches() {
    const q = this.search.value.trim().toLowerCase();
    if (!q) return emoji.filter((x) => x[2] === this.group);
    const words = q.split(/\s+/);
    const out = [];
    for (const x of emoji) {
      if (words.every((w) => x[1].includes(w))) out.push(x);
      if (out.length >= MAX_RESULTS) break;
    }
    return out;
  }

  show() {
    const list = this.matches();
    const frag = document.createDocumentFragment();
    for (const [e, name] of list) {
      frag.append(h('button', { type: 'button', class: 'emoji', dataset: { emoji: e }, 'aria-label': name, title: name, text: e }));
    }
    this.grid.replaceChildren(frag);
    this.status.textContent = this.search.value.trim() ? `${list.length} found` : groups[this.group];
  }
}

customElements.define('emoji-picker', EmojiPicker);
