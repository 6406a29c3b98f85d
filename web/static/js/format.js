// Formatting of times, days and names for display.

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** time formats an RFC 3339 time as hours and minutes. */
export const time = (iso) => timeFmt.format(new Date(iso));
/** fullTime formats an RFC 3339 time with its date. */
export const fullTime = (iso) => fullFmt.format(new Date(iso));

/** dayKey is the local calendar day of an RFC 3339 time. */
export function dayKey(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** dayLabel names the local day of iso: Today, Yesterday or the date. */
export function dayLabel(iso) {
  const k = dayKey(iso);
  const now = new Date();
  if (k === dayKey(now.toISOString())) return 'Today';
  const y = new Date(now.getTime() - 86400000);
  if (k === dayKey(y.toISOString())) return 'Yesterday';
  return dayFmt.format(new Date(iso));
}

/** initials of a display name, for avatars. */
export function initials(name) {
  const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const chars = parts.slice(0, 2).map((p) => [...p][0] || '');
  return (chars.join('') || '?').toUpperCase();
}

/** hue is a stable colour hue for a user id. */
export function hue(id) {
  let h = 0;
  for (const c of String(id)) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

/** bytes formats a size. */
export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1048576).toFixed(1)} MB`;
}

/** uuidv7 returns a time-ordered UUID (client_msg_id). */
export function uuidv7() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let ms = Date.now();
  for (let i = 5; i >= 0; i--) { b[i] = ms % 256; ms = Math.floor(ms / 256); }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hx = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hx.slice(0, 8)}-${hx.slice(8, 12)}-${hx.slice(12, 16)}-${hx.slice(16, 20)}-${hx.slice(20)}`;
}
