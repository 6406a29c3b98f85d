// The REST client: JSON over fetch with the bearer token, errors as ApiError, and
// uploads over XMLHttpRequest for their progress events.

/** ApiError is a failed request: the contract's error envelope, or a network fault (status 0). */
export class ApiError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = extra.field;
    this.retryAfterMs = extra.retry_after_ms;
  }
}

/** Api calls the server's REST routes. onUnauthorized runs on any 401 with a token. */
export class Api {
  constructor() {
    this.token = null;
    this.onUnauthorized = () => {};
  }

  async request(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, 'network', 'The server cannot be reached.');
    }
    if (res.status === 204) return null;
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    if (!res.ok) {
      const err = data?.error || {};
      if (res.status === 401 && this.token) this.onUnauthorized();
      throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || res.statusText, err);
    }
    return data;
  }

  get(path) { return this.request('GET', path); }
  post(path, body = {}) { return this.request('POST', path, body); }
  put(path, body) { return this.request('PUT', path, body); }
  patch(path, body = {}) { return this.request('PATCH', path, body); }
  del(path) { return this.request('DELETE', path); }

  /** all follows next_cursor over a list, calling onPage with each page's items. */
  async all(path, onPage, limit = 100) {
    let cursor = '';
    for (;;) {
      const sep = path.includes('?') ? '&' : '?';
      const page = await this.get(`${path}${sep}limit=${limit}${cursor ? '&cursor=' + encodeURIComponent(cursor) : ''}`);
      onPage(page.items || []);
      if (!page.next_cursor) return;
      cursor = page.next_cursor;
    }
  }

  /**
   * upload posts file as multipart field `file` to /attachments/upload. It returns
   * {promise, abort}; onProgress gets the fraction sent (0..1).
   */
  upload(file, onProgress) {
    const xhr = new XMLHttpRequest();
    const promise = new Promise((resolve, reject) => {
      xhr.open('POST', '/attachments/upload');
      if (this.token) xhr.setRequestHeader('Authorization', `Bearer ${this.token}`);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300) { onProgress(1); resolve(data); return; }
        const err = data?.error || {};
        reject(new ApiError(xhr.status, err.code || 'http_' + xhr.status, err.message || 'Upload failed', err));
      };
      xhr.onerror = () => reject(new ApiError(0, 'network', 'The upload failed: the server cannot be reached.'));
      xhr.onabort = () => reject(new ApiError(0, 'aborted', 'Upload cancelled.'));
      const form = new FormData();
      form.append('file', file, file.name);
      xhr.send(form);
    });
    return { promise, abort: () => xhr.abort() };
  }

  /** blobURL fetches an authenticated file (attachment, thumbnail) as an object URL, cached. */
  async blobURL(url) {
    if (!this.blobs) this.blobs = new Map();
    if (!this.blobs.has(url)) {
      this.blobs.set(url, (async () => {
        const res = await fetch(url, { headers: { Authorization: `Bearer ${this.token}` } });
        if (!res.ok) throw new ApiError(res.status, 'http_' + res.status, 'Cannot load the file.');
        return URL.createObjectURL(await res.blob());
      })());
    }
    return this.blobs.get(url);
  }
}

/** errorText is a person-readable account of an error. */
export function errorText(e) {
  if (e instanceof ApiError) {
    if (e.code === 'rate_limited') return 'You are sending too fast; wait a moment.';
    return e.message || e.code;
  }
  return String(e?.message || e);
}
