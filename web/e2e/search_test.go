package e2e

import "testing"

// TestSearch searches from the panel with a filter, sees the highlighted hit with its
// context, and jumps to the message in its room; a payload in a hit runs no script.
func TestSearch(t *testing.T) {
	n := newNode(t)
	b := newBrowser(t)
	alice := b.tab(1280, 800)
	alice.signUp(n, "alice", "Alice Liddell")
	alice.createRoom("notes", "", "public")
	alice.send("first note about zebras")
	alice.send(`the quick brown fox <img src=x onerror=alert(1)>`)
	alice.send("last note about lions")
	alice.until("sent", msgWith("lions")+`.length === 1`)
	alice.click("#search-button")
	alice.until("search panel", `document.querySelector('.search-input')`)
	alice.eval(`(() => { const q = document.querySelector('.search-input'); q.value = 'quick'; q.form.requestSubmit(); })()`, nil)
	alice.until("hit highlighted", `[...document.querySelectorAll('.search-results .hit-text mark')].some((m) => m.textContent.toLowerCase() === 'quick')`)
	alice.until("context shown", `document.querySelector('.search-results .hit-context')?.textContent.includes('zebras')`)
	alice.screenshot("search")
	runAxe(t, alice, "search results")
	alice.click(".search-results .hit-button")
	alice.until("jumped to the message", `document.querySelector('#timeline .msg.flash')?.textContent.includes('quick brown fox')`)
	var marks int
	alice.eval(`document.querySelectorAll('.search-results .hit-text *:not(mark)').length`, &marks)
	if marks != 0 {
		t.Errorf("%d elements other than <mark> in a hit", marks)
	}
	xss, csp := alice.securityCounts()
	if xss != 0 || len(csp) != 0 {
		t.Errorf("%d alert calls, CSP violations %v", xss, csp)
	}
}
