package e2e

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// signUp creates an account through the sign-up form and waits for the app.
func (tb *tab) signUp(n *node, username, display string) {
	tb.t.Helper()
	tb.run(chromedp.Navigate(n.url() + "/signup"))
	tb.until("sign-up form", `document.getElementById('auth-display-row') && !document.getElementById('auth-display-row').hidden`)
	tb.eval(fmt.Sprintf(`(() => {
	  document.getElementById('auth-username').value = %s;
	  document.getElementById('auth-display').value = %s;
	  document.getElementById('auth-password').value = 'password-' + %s;
	  document.getElementById('auth-submit').click();
	})()`, js(username), js(display), js(username)), nil)
	tb.until("app shown", `!document.getElementById('app').hidden`)
	tb.until("connected", `document.getElementById('conn-status').dataset.state === 'connected'`)
}

// send types text into the open room's message box and presses Enter.
func (tb *tab) send(text string) {
	tb.t.Helper()
	tb.eval(fmt.Sprintf(`(() => {
	  const i = document.getElementById('composer-input');
	  i.value = %s;
	  i.dispatchEvent(new Event('input', {bubbles: true}));
	  i.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
	})()`, js(text)), nil)
}

// click clicks the first element matching a CSS selector, from JS.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.until("element "+sel, fmt.Sprintf(`document.querySelector(%s)`, js(sel)))
	tb.eval(fmt.Sprintf(`document.querySelector(%s).click()`, js(sel)), nil)
}

// clickText clicks the first element matching sel whose text is text.
func (tb *tab) clickText(sel, text string) {
	tb.t.Helper()
	q := fmt.Sprintf(`[...document.querySelectorAll(%s)].find((e) => e.textContent.trim() === %s)`, js(sel), js(text))
	tb.until(fmt.Sprintf("%s %q", sel, text), q)
	tb.eval(q+".click()", nil)
}

// msgWith is a JS expression: the message elements whose content contains text.
func msgWith(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#timeline .msg:not(.pending)')].filter((e) => (e.querySelector('.msg-content')?.textContent || '').includes(%s))`, js(text))
}

// fillDialog sets the dialog's inputs in order, then clicks the button named button.
func (tb *tab) fillDialog(button string, values ...string) {
	tb.t.Helper()
	tb.until("dialog open", `document.getElementById('dialog').open`)
	for i, v := range values {
		tb.eval(fmt.Sprintf(`(() => { const f = document.querySelectorAll('#dialog-body input, #dialog-body select, #dialog-body textarea')[%d]; f.value = %s; f.dispatchEvent(new Event('input', {bubbles: true})); })()`, i, js(v)), nil)
	}
	tb.clickText("#dialog-actions button", button)
}

// aliceAndBob starts a node and a browser with two signed-up users side by side, the
// opening of every two-person test (the browser opens more tabs if a test needs them).
func aliceAndBob(t *testing.T) (n *node, b *browser, alice, bob *tab) {
	n, b = newNode(t), newBrowser(t)
	alice, bob = b.tab(1280, 800), b.tab(1280, 800)
	alice.signUp(n, "alice", "Alice Liddell")
	bob.signUp(n, "bob", "Bob Builder")
	return n, b, alice, bob
}

// createRoom creates a room through the dialog and waits until it is open.
func (tb *tab) createRoom(name, description, kind string) {
	tb.click("#new-room-button")
	tb.fillDialog("Create", name, description, kind)
	tb.until("room "+name+" open", `document.getElementById('room-title').textContent === `+strconv.Quote(name))
}
