package e2e

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// xssPayloads are the stored-XSS probes of RELIABILITY.md ("every rendered field"):
// classic script, event-handler, URL-scheme, markup-breaking and template payloads.
// Each fits in a display name (50 code points).
var xssPayloads = []string{
	`<script>alert(1)</script>`,
	`<img src=x onerror=alert(1)>`,
	`<svg onload=alert(1)>`,
	`"><img src=x onerror=alert(1)>`,
	`'><script>alert(1)</script>`,
	`[click](javascript:alert(1))`,
	`<a href="javascript:alert(1)">a</a>`,
	`<iframe src="javascript:alert(1)">`,
	`<details open ontoggle=alert(1)>`,
	`<input autofocus onfocus=alert(1)>`,
	`<body onload=alert(1)>`,
	`{{constructor.constructor('alert(1)')()}}`,
	"`${alert(1)}`",
	`<style>*{background:url(//x)}</style>`,
	`![x](x" onerror="alert(1))`,
	`<math><mtext><img src=x onerror=alert(1)>`,
}

// TestXSS stores every payload as a display name, a room name, a message, an edit
// and (through a mention) a notification, shows them all to a victim in the browser,
// and checks that no script ran, the CSP saw no violation, and the text is shown as
// text.
func TestXSS(t *testing.T) {
	n := newNode(t)
	b := newBrowser(t)
	victim := n.register(t, "victim", "Victim")
	for i, p := range xssPayloads {
		a := n.register(t, fmt.Sprintf("mallory%d", i), p)
		var room struct {
			ID string `json:"id"`
		}
		n.rest(t, a.Token, "POST", "/rooms", map[string]string{"name": p, "description": p, "type": "private"}, &room)
		n.rest(t, a.Token, "POST", "/rooms/"+room.ID+"/members", map[string]string{"user_id": victim.User.ID}, nil)
		var msg struct {
			ID string `json:"id"`
		}
		n.rest(t, a.Token, "POST", "/rooms/"+room.ID+"/messages", map[string]string{"content": p + " @victim"}, &msg)
		n.rest(t, a.Token, "POST", "/rooms/"+room.ID+"/messages", map[string]string{"content": "to be edited"}, &msg)
		n.rest(t, a.Token, "PUT", "/messages/"+msg.ID, map[string]string{"content": "edited " + p}, nil)
		n.rest(t, a.Token, "POST", "/messages/"+msg.ID+"/reactions", map[string]string{"emoji": "👍"}, nil)
	}

	tb := b.tab(1280, 800)
	tb.run(chromedp.Navigate(n.url() + "/signin"))
	tb.until("sign-in form", `!document.getElementById('auth').hidden`)
	tb.eval(`(() => { document.getElementById('auth-username').value = 'victim'; document.getElementById('auth-password').value = 'password-victim'; document.getElementById('auth-submit').click(); })()`, nil)
	tb.until("app", `!document.getElementById('app').hidden && document.getElementById('conn-status').dataset.state === 'connected'`)
	tb.until("every room listed", fmt.Sprintf(`document.querySelectorAll('#room-list a.room-link').length === %d`, len(xssPayloads)))
	var ids []string
	tb.eval(`[...document.querySelectorAll('#room-list a.room-link')].map((a) => a.dataset.room)`, &ids)
	for _, id := range ids {
		tb.eval(fmt.Sprintf(`window.chatd.open(%s)`, js(id)), nil)
		tb.until("room shown", fmt.Sprintf(`window.chatd.store.openRoomId === %s && document.querySelectorAll('#timeline .msg-content').length >= 2 && document.body.dataset.ready === '1'`, js(id)))
		// The room name is shown as text, exactly.
		tb.until("room name as text", `(() => { const r = window.chatd.store.rooms.get(window.chatd.store.openRoomId); return document.getElementById('room-title').textContent === r.name; })()`)
		// The sender's profile and the members panel show the display name as text.
		tb.eval(`document.querySelector('#timeline .msg:not(.system) .msg-sender').click()`, nil)
		tb.until("profile", `document.querySelector('.profile-name')`)
		tb.eval(`document.getElementById('members-button').click()`, nil)
		tb.until("members", `document.querySelectorAll('.member-list li').length === 2`)
	}
	tb.eval(`document.getElementById('notif-button').click()`, nil)
	tb.until("notifications listed", fmt.Sprintf(`document.querySelectorAll('.notification-list .notification').length >= %d`, len(xssPayloads)))

	var injected int
	tb.eval(`document.querySelectorAll('#app script, #app iframe, #app svg, #app style, #app input[autofocus], #app details, #app [onerror], #app [onload], #app [onfocus], #app [ontoggle], #app a[href^="javascript"]').length`, &injected)
	if injected != 0 {
		t.Errorf("%d elements from payloads made it into the page", injected)
	}
	var shown bool
	tb.eval(`document.body.textContent.includes('<img src=x onerror=alert(1)>') && document.body.textContent.includes('<script>alert(1)</script>')`, &shown)
	if !shown {
		t.Error("payloads are not shown as text")
	}
	xss, csp := tb.securityCounts()
	if xss != 0 || len(csp) != 0 {
		t.Errorf("%d alert calls, CSP violations %v", xss, csp)
	}

	// Controls: the guard does see a script that runs, and the policy does stop
	// (and report) an inline script and HTML written without the app's policy.
	tb.eval(`alert('control')`, nil)
	tb.eval(`(() => {
	  window.__blocked = 0;
	  try { document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=alert(1)>'); } catch (e) { window.__blocked++; }
	  try { const s = document.createElement('script'); s.src = 'data:text/javascript,alert(2)'; document.head.append(s); } catch (e) { window.__blocked++; }
	})()`, nil)
	tb.until("violations reported", `window.__csp.length >= 2 && window.__blocked === 2`)
	xss, _ = tb.securityCounts()
	if xss != 1 {
		t.Errorf("control: the guard counted %d alert calls, want 1", xss)
	}
}
