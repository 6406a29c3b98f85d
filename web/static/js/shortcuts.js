// Keyboard shortcuts (the help overlay, #help in index.html, lists them).

import { closePanel } from './panels.js';
import { cycleTheme } from './theme.js';

const typingIn = (el) => el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));

export function installShortcuts(app) {
  document.addEventListener('keydown', (e) => {
    if (document.getElementById('app').hidden) return;
    const inField = typingIn(e.target);
    const dialogOpen = document.getElementById('dialog').open || document.getElementById('help').open;
    if (e.key === 'Escape') {
      const picker = document.querySelector('emoji-picker');
      if (picker && !picker.hidden) { picker.close(); e.preventDefault(); return; }
      if (dialogOpen) return; // the dialog closes itself
      if (app.closeDrawer()) { e.preventDefault(); return; }
      if (closePanel()) { e.preventDefault(); app.focusComposer(); }
      return;
    }
    if (dialogOpen) return;
    if (e.altKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
      e.preventDefault();
      app.switchRoom(e.key === 'ArrowUp' ? -1 : 1, e.shiftKey);
      return;
    }
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') { e.preventDefault(); app.search(); return; }
    if (e.altKey && e.code === 'KeyN') { e.preventDefault(); app.notifications.open(); return; }
    if (e.altKey && e.code === 'KeyT') { e.preventDefault(); cycleTheme(); return; }
    if ((e.ctrlKey || e.metaKey) && e.key === '/') { e.preventDefault(); app.help(); return; }
    if (inField) return;
    if (e.key === '?') { e.preventDefault(); app.help(); return; }
    if (e.key === '/') { e.preventDefault(); app.search(); }
  });
}
