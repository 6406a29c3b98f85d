package e2e

import (
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestFeatures covers the rest of a person's day: discover and join a public room,
// status and status message, presence in the member list, a profile panel, a DM,
// a thread, keyboard shortcuts and the help overlay, and leaving a room.
func TestFeatures(t *testing.T) {
	_, _, alice, bob := aliceAndBob(t)

	alice.createRoom("lobby", "", "public")

	// Discover and join.
	bob.click("#discover-button")
	bob.until("discover dialog", `document.getElementById('dialog').open`)
	bob.eval(`(() => { const q = document.querySelector('#dialog-body input'); q.value = 'lob'; q.dispatchEvent(new Event('input', {bubbles: true})); })()`, nil)
	bob.until("lobby found", `[...document.querySelectorAll('#dialog .pick-list button')].some((b) => b.textContent === 'Join')`)
	bob.clickText("#dialog .pick-list button", "Join")
	bob.until("bob in lobby", `document.getElementById('room-title').textContent === 'lobby'`)

	// Status and status message.
	bob.click("#me-button")
	bob.fillDialog("Save", "Bob Builder", "busy", "in a meeting")
	bob.until("profile saved", `!document.getElementById('dialog').open`)

	// Presence and status in the member list, then the profile panel, then a DM.
	alice.until("bob joined", `document.getElementById('room-desc').textContent.startsWith('2 members')`)
	alice.click("#members-button")
	alice.until("bob listed busy", `[...document.querySelectorAll('.member-list li')].some((li) => li.textContent.includes('Bob Builder') && li.textContent.includes('in a meeting') && li.querySelector('.presence-busy'))`)
	alice.clickText(".member-list button", "Bob Builder")
	alice.until("profile panel", `document.querySelector('.profile-name')?.textContent === 'Bob Builder' && document.querySelector('.status-message')?.textContent === 'in a meeting'`)
	runAxe(t, alice, "profile panel")
	alice.clickText(".profile button", "Send a direct message")
	alice.until("DM open", `document.getElementById('room-title').textContent === 'Bob Builder' && document.getElementById('room-desc').textContent === 'Direct message'`)
	alice.send("psst")
	bob.until("DM listed, named and unread", `[...document.querySelectorAll('#room-list a.room-link.unread')].some((a) => a.textContent.includes('Alice Liddell') && a.querySelector('.presence'))`)
	bob.until("desktop notification for the DM", `window.__notes.some((n) => n.body === 'psst')`)

	// A thread.
	alice.eval(`window.chatd.open([...window.chatd.store.rooms.values()].find((r) => r.name === 'lobby').id)`, nil)
	alice.until("lobby again", `document.getElementById('room-title').textContent === 'lobby'`)
	alice.send("thread root")
	bob.until("root", msgWith("thread root")+`.length === 1`)
	bob.eval(msgWith("thread root")+`[0].querySelector('[aria-label="Reply in thread"]').click()`, nil)
	bob.until("thread panel", `document.getElementById('panel').dataset.kind === 'thread' && document.getElementById('thread-input')`)
	bob.eval(`(() => { const i = document.getElementById('thread-input'); i.value = 'a reply'; i.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true})); })()`, nil)
	alice.until("reply count", msgWith("thread root")+`[0]?.querySelector('.replies')?.textContent === '1 reply'`)
	alice.eval(msgWith("thread root")+`[0].querySelector('.replies').click()`, nil)
	alice.until("reply in panel", `[...document.querySelectorAll('.thread-list .msg-content')].some((e) => e.textContent === 'a reply')`)
	alice.screenshot("thread")
	runAxe(t, alice, "thread panel")

	// Notification levels: bob mutes the DM; a DM message then shows no desktop
	// notification, while a mention in the lobby (level "mentions") does.
	bob.eval(`window.chatd.open([...window.chatd.store.rooms.values()].find((r) => r.type === 'direct').id)`, nil)
	bob.until("bob in the DM", `document.getElementById('room-title').textContent === 'Alice Liddell' && document.getElementById('level-select').value === 'all'`)
	bob.eval(`(() => { const s = document.getElementById('level-select'); s.value = 'muted'; s.dispatchEvent(new Event('change')); })()`, nil)
	bob.until("DM muted", `[...window.chatd.store.rooms.values()].find((r) => r.type === 'direct').notification_level === 'muted'`)
	bob.eval(`window.chatd.navigate('/')`, nil)
	bob.until("no room open", `document.getElementById('room-view').hidden`)
	alice.eval(`window.chatd.outbox.add([...window.chatd.store.rooms.values()].find((r) => r.type === 'direct').id, 'quiet please')`, nil)
	alice.until("DM sent", `window.chatd.outbox.items.length === 0`)
	alice.send("@bob are you there?")
	bob.until("mention notified", `window.__notes.some((n) => n.body.includes('are you there'))`)
	var quiet bool
	bob.eval(`window.__notes.some((n) => n.body === 'quiet please')`, &quiet)
	if quiet {
		t.Error("a muted DM showed a desktop notification")
	}

	// Keyboard: Escape closes the panel; Alt+Down switches rooms; Ctrl+K opens search;
	// ? opens the help, Escape closes it; Tab from the top reaches the skip link.
	alice.eval(`document.activeElement.blur()`, nil)
	alice.run(chromedp.KeyEvent(kb.Escape))
	alice.until("panel closed", `document.getElementById('panel').hidden`)
	alice.eval(`document.activeElement.blur()`, nil)
	alice.run(chromedp.KeyEvent(kb.ArrowDown, chromedp.KeyModifiers(input.ModifierAlt)))
	alice.until("switched to the DM", `document.getElementById('room-title').textContent === 'Bob Builder'`)
	alice.run(chromedp.KeyEvent("k", chromedp.KeyModifiers(input.ModifierCtrl)))
	alice.until("search panel", `document.getElementById('panel').dataset.kind === 'search' && !document.getElementById('panel').hidden && document.activeElement.classList.contains('search-input')`)
	runAxe(t, alice, "search panel")
	alice.run(chromedp.KeyEvent(kb.Escape))
	alice.until("search closed", `document.getElementById('panel').hidden`)
	alice.eval(`document.activeElement.blur()`, nil)
	alice.run(chromedp.KeyEvent("?"))
	alice.until("help open", `document.getElementById('help').open`)
	runAxe(t, alice, "help overlay")
	alice.run(chromedp.KeyEvent(kb.Escape))
	alice.until("help closed", `!document.getElementById('help').open`)
	alice.eval(`document.activeElement.blur(); window.scrollTo(0, 0)`, nil)
	alice.run(chromedp.KeyEvent(kb.Tab))
	alice.until("skip link focused first", `document.activeElement.classList.contains('skip-link')`)
	alice.run(chromedp.KeyEvent(kb.Enter))
	alice.until("skip link goes to the message box", `document.activeElement.id === 'composer-input'`)

	// Administration and moderation: settings, report, pin, dismiss, roles, mute, block.
	alice.eval(`window.chatd.open([...window.chatd.store.rooms.values()].find((r) => r.name === 'lobby').id)`, nil)
	alice.until("alice in lobby", `document.getElementById('room-title').textContent === 'lobby'`)
	alice.click("#settings-button")
	alice.fillDialog("Save", "lobby 2", "the new lobby")
	alice.until("renamed", `document.getElementById('room-title').textContent === 'lobby 2'`)
	bob.until("bob sees the new name", `[...document.querySelectorAll('#room-list .room-name')].some((e) => e.textContent === 'lobby 2')`)
	bob.eval(`window.chatd.open([...window.chatd.store.rooms.values()].find((r) => r.name === 'lobby 2').id)`, nil)
	bob.until("bob in lobby 2", `document.getElementById('room-title').textContent === 'lobby 2' && `+msgWith("thread root")+`.length === 1`)
	bob.eval(msgWith("thread root")+`[0].querySelector('[aria-label="Report message"]').click()`, nil)
	bob.fillDialog("Report", "looks like spam")
	bob.until("reported", `!document.getElementById('dialog').open`)
	alice.eval(msgWith("thread root")+`[0].querySelector('[aria-label="Pin message"]').click()`, nil)
	alice.until("pin stored", `[...document.querySelectorAll('.toast')].some((t) => t.textContent === 'Message pinned.')`)
	alice.click("#pins-button")
	alice.until("pinned", `[...document.querySelectorAll('#panel .member-list li')].some((li) => li.textContent.includes('thread root'))`)
	alice.click("#reports-button")
	alice.until("report listed", `[...document.querySelectorAll('#panel .member-list li')].some((li) => li.textContent.includes('looks like spam'))`)
	alice.clickText("#panel button", "Dismiss")
	alice.until("report dismissed", `document.querySelector('#panel .member-list li.empty')`)
	alice.click("#members-button")
	alice.until("bob's actions", `document.querySelector('#panel button[aria-label="Make admin: Bob Builder"]')`)
	alice.click(`#panel button[aria-label="Make admin: Bob Builder"]`)
	alice.until("bob admin", `[...document.querySelectorAll('.member-list li')].some((li) => li.textContent.includes('Bob Builder') && li.textContent.includes('admin'))`)
	alice.click(`#panel button[aria-label="Mute Bob Builder for an hour"]`)
	alice.until("bob muted", `[...document.querySelectorAll('.member-list li')].some((li) => li.textContent.includes('Bob Builder') && li.textContent.includes('muted'))`)
	bob.send("can I still talk?")
	bob.until("refused as muted", `document.querySelector('#timeline .msg.pending.failed')?.textContent.includes('Not sent')`)
	bob.clickText("#timeline .msg.pending button", "Discard")
	alice.click(`#panel button[aria-label="Unmute Bob Builder"]`)
	alice.until("bob unmuted", `document.querySelector('#panel button[aria-label="Mute Bob Builder for an hour"]')`)
	alice.clickText(".member-list button", "Bob Builder")
	alice.until("block button", `[...document.querySelectorAll('.profile button')].some((b) => b.textContent === 'Block Bob Builder')`)
	alice.clickText(".profile button", "Block Bob Builder")
	alice.until("blocked", `[...document.querySelectorAll('.profile button')].some((b) => b.textContent === 'Unblock Bob Builder')`)
	alice.clickText(".profile button", "Unblock Bob Builder")
	alice.until("unblocked", `[...document.querySelectorAll('.profile button')].some((b) => b.textContent === 'Block Bob Builder')`)
	alice.click("#panel-close")

	// Leave.
	bob.click("#leave-button")
	bob.clickText("#dialog-actions button", "Leave")
	bob.until("lobby gone", `![...document.querySelectorAll('#room-list a.room-link')].some((a) => a.textContent.includes('lobby')) && document.getElementById('room-view').hidden`)

	for name, tb := range map[string]*tab{"alice": alice, "bob": bob} {
		xss, csp := tb.securityCounts()
		if xss != 0 || len(csp) != 0 {
			t.Errorf("%s: %d alert calls, CSP violations %v", name, xss, csp)
		}
	}
}
