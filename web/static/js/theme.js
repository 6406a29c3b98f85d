// Dark mode: follows the system (prefers-color-scheme) until the user picks one;
// the toggle cycles system -> dark -> light and is remembered.

const ORDER = ['system', 'dark', 'light'];

export function currentTheme() { return localStorage.getItem('chatd.theme') || 'system'; }

export function applyTheme(t = currentTheme()) {
  if (t === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
  const b = document.getElementById('theme-button');
  if (b) {
    b.setAttribute('aria-label', `Theme: ${t} (Alt+T to change)`);
    b.title = `Theme: ${t}`;
    const i = document.createElement('span');
    i.className = `i i-${t === 'dark' ? 'moon' : t === 'light' ? 'sun' : 'theme'}`;
    i.setAttribute('aria-hidden', 'true');
    b.replaceChildren(i);
  }
}

export function cycleTheme() {
  const next = ORDER[(ORDER.indexOf(currentTheme()) + 1) % ORDER.length];
  localStorage.setItem('chatd.theme', next);
  applyTheme(next);
  return next;
}
