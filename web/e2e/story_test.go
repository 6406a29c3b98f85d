package e2e

import (
	"testing"

	"github.com/chromedp/cdproto/emulation"

	"github.com/chromedp/chromedp"
)

// TestStory is two people using the app side by side: sign up, a private room and an
// invite link, live messages, typing, a mention with its notifications, a reaction
// from the picker, an edit, a delete, a read receipt, dark mode, the mobile layout,
// and a reconnect with a message typed while the node was down, delivered once.
func TestStory(t *testing.T) {
	n, b, alice, bob := aliceAndBob(t)

	// A private room, and an invite link that bob follows.
	alice.createRoom("general", "Where everyone talks", "private")
	alice.click("#invite-button")
	alice.until("invite link", `document.querySelector('.invite-link')?.value.includes('/join/')`)
	var link string
	alice.eval(`document.querySelector('.invite-link').value`, &link)
	alice.clickText("#dialog-actions button", "Done")
	bob.run(chromedp.Navigate(link))
	bob.until("invite dialog", `document.getElementById('dialog').open && document.getElementById('dialog-title').textContent.includes('general')`)
	bob.clickText("#dialog-actions button", "Join room")
	bob.until("bob in general", `document.getElementById('room-title').textContent === 'general'`)

	// A revoked link says so (bob reloads the app for it: the session survives).
	alice.click("#invite-button")
	alice.until("second invite link", `document.querySelector('.invite-link')?.value.includes('/join/') && document.querySelector('.invite-link').value !== `+js(link))
	var revoked string
	alice.eval(`document.querySelector('.invite-link').value`, &revoked)
	alice.clickText("#dialog-actions button", "Revoke link")
	alice.until("revoke done", `!document.getElementById('dialog').open`)
	bob.run(chromedp.Navigate(revoked))
	bob.until("revoked invite", `document.getElementById('dialog').open && document.getElementById('dialog-body').textContent.includes('revoked')`)
	bob.clickText("#dialog-actions button", "OK")
	bob.click("#room-list a.room-link")
	bob.until("bob back in general", `document.getElementById('room-title').textContent === 'general' && document.getElementById('conn-status').dataset.state === 'connected'`)

	// Live messages both ways.
	alice.send("hello **bob**")
	bob.until("alice's message, rendered from content_html", msgWith("hello bob")+`.length === 1 && document.querySelector('#timeline .msg-content strong')?.textContent === 'bob'`)
	bob.until("bob at present", `window.chatd.store.atPresent`)

	// Typing indicator.
	bob.eval(`(() => { const i = document.getElementById('composer-input'); i.value = 'typing…'; i.dispatchEvent(new Event('input', {bubbles: true})); })()`, nil)
	alice.until("typing indicator", `document.getElementById('typing').textContent.includes('Bob Builder is typing')`)
	bob.eval(`document.getElementById('composer-input').value = ''`, nil)

	// A mention while alice looks elsewhere: badge, notification center, desktop notification.
	alice.eval(`window.chatd.navigate('/')`, nil)
	alice.until("no room open", `document.getElementById('room-view').hidden`)
	bob.send("hi @alice, welcome")
	alice.until("mention badge", `document.querySelector('#room-list .badge.mention')`)
	alice.until("unread badge", `[...document.querySelectorAll('#room-list .badge')].some((b) => !b.classList.contains('mention'))`)
	alice.until("notification count", `!document.getElementById('notif-count').hidden`)
	alice.until("desktop notification", `window.__notes.some((n) => n.title.includes('Bob Builder'))`)
	alice.click("#notif-button")
	alice.until("notification listed", `document.querySelector('.notification.unread')?.textContent.includes('mentioned you')`)
	alice.clickText(".panel-tools button", "Mark all as read")
	alice.until("count cleared", `document.getElementById('notif-count').hidden`)
	alice.click("#panel-close")
	alice.click("#room-list a.room-link")
	alice.until("mention shown", msgWith("welcome")+`.length === 1`)
	alice.until("unread cleared", `!document.querySelector('#room-list .badge')`)

	// A reaction from the emoji picker, found by name.
	bob.eval(msgWith("hello bob")+`[0].querySelector('[aria-label="Add reaction"]').click()`, nil)
	bob.until("picker open", `!document.querySelector('emoji-picker').hidden`)
	bob.eval(`(() => { const s = document.querySelector('.emoji-search'); s.value = 'thumbs up'; s.dispatchEvent(new Event('input')); })()`, nil)
	bob.until("search result", `document.querySelector('.emoji-grid button[data-emoji="👍"]')`)
	bob.click(`.emoji-grid button[data-emoji="👍"]`)
	alice.until("reaction seen", msgWith("hello bob")+`[0]?.querySelector('.reaction')?.textContent.includes('👍1')`)

	// Edit the last message with ArrowUp, inline.
	alice.eval(`document.getElementById('composer-input').dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowUp', bubbles: true}))`, nil)
	alice.until("inline editor", `document.querySelector('.edit-input')`)
	alice.eval(`(() => { const a = document.querySelector('.edit-input'); a.value = 'hello again bob'; a.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true})); })()`, nil)
	bob.until("edit seen", msgWith("hello again bob")+`.length === 1 && `+msgWith("hello again bob")+`[0].querySelector('.edited')`)

	// Delete.
	alice.send("a message to delete")
	bob.until("to delete seen", msgWith("a message to delete")+`.length === 1`)
	alice.until("to delete stored", msgWith("a message to delete")+`.length === 1`)
	alice.eval(msgWith("a message to delete")+`[0].querySelector('[aria-label="Delete message"]').click()`, nil)
	alice.clickText("#dialog-actions button", "Delete")
	bob.until("delete seen", msgWith("a message to delete")+`.length === 0 && document.querySelector('#timeline .msg-content.deleted')`)

	// Read receipt on alice's newest message.
	alice.send("did you read this?")
	bob.until("read", msgWith("did you read this?")+`.length === 1`)
	alice.until("read receipt", msgWith("did you read this?")+`[0]?.querySelector('.receipt')?.textContent === 'Read by 1'`)
	alice.screenshot("light")
	runAxe(t, alice, "room (light)")

	// Dark mode by the toggle (the system preference is light here).
	alice.click("#theme-button")
	alice.until("dark", `document.documentElement.dataset.theme === 'dark' && getComputedStyle(document.body).backgroundColor === 'rgb(22, 24, 29)'`)
	alice.screenshot("dark")
	runAxe(t, alice, "room (dark)")
	alice.click("#theme-button") // light
	alice.click("#theme-button") // back to the system's
	// Following the system: dark when the system prefers dark.
	alice.run(emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}))
	alice.until("system dark", `document.documentElement.dataset.theme === undefined && getComputedStyle(document.body).backgroundColor === 'rgb(22, 24, 29)'`)
	runAxe(t, alice, "room (system dark)")
	alice.run(emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}))

	// The mobile layout: the sidebar is a drawer.
	phone := b.tab(390, 844)
	phone.run(chromedp.Navigate(n.url() + "/signin"))
	phone.until("sign-in form", `!document.getElementById('auth').hidden`)
	phone.eval(`(() => { document.getElementById('auth-username').value = 'bob'; document.getElementById('auth-password').value = 'password-bob'; document.getElementById('auth-submit').click(); })()`, nil)
	phone.until("phone app", `!document.getElementById('app').hidden && document.getElementById('conn-status').dataset.state === 'connected'`)
	phone.until("drawer closed", `getComputedStyle(document.getElementById('menu-button')).display !== 'none' && document.getElementById('sidebar').getBoundingClientRect().right <= 0`)
	phone.click("#menu-button")
	phone.until("drawer open", `document.getElementById('sidebar').getBoundingClientRect().left >= 0 && document.getElementById('sidebar').getBoundingClientRect().right > 100`)
	phone.click("#room-list a.room-link")
	phone.until("phone room", `document.getElementById('room-title').textContent === 'general' && `+msgWith("did you read this?")+`.length === 1`)
	phone.until("drawer closed again", `document.getElementById('sidebar').getBoundingClientRect().right <= 0`)
	var overflow bool
	phone.eval(`document.documentElement.scrollWidth > window.innerWidth`, &overflow)
	if overflow {
		t.Error("mobile layout overflows horizontally at 390 px")
	}
	phone.screenshot("mobile")
	runAxe(t, phone, "room (mobile)")
	// The narrowest phone the layout supports.
	phone.run(chromedp.EmulateViewport(360, 740))
	phone.eval(`document.documentElement.scrollWidth > window.innerWidth`, &overflow)
	if overflow {
		t.Error("mobile layout overflows horizontally at 360 px")
	}

	// Reconnect: stop the node, type while disconnected, start it, delivered once.
	n.stop()
	alice.until("disconnected shown", `document.getElementById('conn-status').dataset.state === 'disconnected' && document.getElementById('conn-status').textContent === 'Disconnected'`)
	alice.send("sent while offline")
	alice.until("pending shown", `[...document.querySelectorAll('#timeline .msg.pending')].some((e) => e.textContent.includes('sent while offline') && e.textContent.includes('Waiting for connection'))`)
	n.start()
	alice.until("reconnected", `document.getElementById('conn-status').dataset.state === 'connected'`)
	bob.until("offline message delivered", msgWith("sent while offline")+`.length === 1`)
	alice.until("pending gone", msgWith("sent while offline")+`.length === 1 && !document.querySelector('#timeline .msg.pending')`)
	// A message after the reconnect arrives once too (no duplicate from a replay).
	bob.send("after the restart")
	alice.until("after restart", msgWith("after the restart")+`.length === 1`)
	for _, tb := range []*tab{alice, bob} {
		var dup int
		tb.eval(msgWith("sent while offline")+`.length`, &dup)
		if dup != 1 {
			t.Errorf("offline message shown %d times", dup)
		}
	}

	for name, tb := range map[string]*tab{"alice": alice, "bob": bob, "phone": phone} {
		xss, csp := tb.securityCounts()
		if xss != 0 || len(csp) != 0 {
			t.Errorf("%s: %d alert calls, CSP violations %v", name, xss, csp)
		}
	}
}
