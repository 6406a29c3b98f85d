// DOM helpers. Untrusted text only ever goes through textContent (h's string
// children, setText). The only HTML inserted is the server's sanitised
// content_html and search highlights, through the one Trusted Types policy below,
// and both are filtered again here against an allow-list before they are attached.

const policy = window.trustedTypes
  ? window.trustedTypes.createPolicy('chatd', { createHTML: (s) => s })
  : { createHTML: (s) => s };

/**
 * h builds an element. attrs: plain attributes, plus `class`, `text` (textContent),
 * `on` ({event: handler}), `dataset` and boolean attributes (true/false/null).
 * Children are nodes or strings (inserted as text), arrays are flattened.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** setText replaces el's content with text. */
export function setText(el, text) { el.textContent = text ?? ''; }

/** clear removes every child of el. */
export function clear(el) { el.replaceChildren(); }

/** $ finds one element by selector (in root, default document). */
export const $ = (sel, root = document) => root.querySelector(sel);

const ALLOWED = new Set(['P', 'BR', 'STRONG', 'EM', 'B', 'I', 'DEL', 'S', 'CODE', 'PRE', 'BLOCKQUOTE',
  'UL', 'OL', 'LI', 'A', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'HR', 'TABLE', 'THEAD', 'TBODY', 'TR',
  'TH', 'TD', 'SPAN', 'MARK', 'SUP', 'SUB']);
const ALLOWED_ATTRS = new Set(['href', 'title', 'class', 'start', 'align']);

/** parseFragment parses html inertly (a template: no script runs, nothing loads). */
function parseFragment(html) {
  const t = document.createElement('template');
  t.innerHTML = policy.createHTML(html);
  return t.content;
}

/** scrub walks a parsed fragment, unwrapping elements not in allow and dropping attributes. */
function scrub(node, allow, attrs) {
  for (const child of [...node.childNodes]) {
    if (child.nodeType === Node.TEXT_NODE) continue;
    if (child.nodeType !== Node.ELEMENT_NODE || !allow.has(child.tagName)) {
      if (child.nodeType === Node.ELEMENT_NODE && !['SCRIPT', 'STYLE', 'TEMPLATE', 'IFRAME', 'OBJECT'].includes(child.tagName)) {
        child.replaceWith(document.createTextNode(child.textContent));
      } else {
        child.remove();
      }
      continue;
    }
    for (const a of [...child.attributes]) {
      const ok = attrs.has(a.name) && !(a.name === 'href' && !/^(https?:|mailto:)/i.test(a.value.trim()));
      if (!ok) child.removeAttribute(a.name);
    }
    if (child.tagName === 'A') {
      child.setAttribute('rel', 'noopener noreferrer nofollow');
      child.setAttribute('target', '_blank');
    }
    scrub(child, allow, attrs);
  }
}

/** setSanitizedHTML shows the server's sanitised content_html in el. */
export function setSanitizedHTML(el, html) {
  const frag = parseFragment(html || '');
  scrub(frag, ALLOWED, ALLOWED_ATTRS);
  el.replaceChildren(frag);
}

/** setHighlight shows a search highlight: text with <mark> elements and nothing else. */
export function setHighlight(el, html) {
  const frag = parseFragment(html || '');
  scrub(frag, new Set(['MARK']), new Set());
  el.replaceChildren(frag);
}

/** announce says text through the page's polite live region. */
export function announce(text) {
  const live = document.getElementById('live');
  if (!live) return;
  live.textContent = '';
  requestAnimationFrame(() => { live.textContent = text; });
}

/** icon returns an aria-hidden icon by name (icons/<name>.svg, drawn in the text colour). */
export function icon(name) { return h('span', { class: `i i-${name}`, 'aria-hidden': 'true' }); }
