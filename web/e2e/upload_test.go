package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"testing"
)

func pngBase64(t *testing.T, w, h int) string {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 4), 200, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// fileJS is a JS expression making a File from base64 content.
func fileJS(b64, name, typ string) string {
	return fmt.Sprintf(`new File([Uint8Array.from(atob(%s), (c) => c.charCodeAt(0))], %s, {type: %s})`, js(b64), js(name), js(typ))
}

// TestUpload drops an image on the room and pastes another into the message box,
// watches the upload progress, sends them with a message, and sees the thumbnails
// on both sides; the file name is an XSS payload shown as text.
func TestUpload(t *testing.T) {
	_, _, alice, bob := aliceAndBob(t)
	alice.createRoom("files", "", "public")
	var roomID string
	alice.eval(`window.chatd.store.openRoomId`, &roomID)
	bob.eval(fmt.Sprintf(`window.chatd.api.post('/rooms/%s/join').then((r) => window.chatd.addRoom(r)).then(() => window.chatd.open(%s))`, roomID, js(roomID)), nil)
	bob.until("bob in files", `document.getElementById('room-title').textContent === 'files'`)

	name := `<img src=x onerror=alert(1)>.png`
	alice.eval(fmt.Sprintf(`(() => {
	  const dt = new DataTransfer();
	  dt.items.add(%s);
	  const target = document.getElementById('room-view');
	  target.dispatchEvent(new DragEvent('dragenter', {dataTransfer: dt, bubbles: true, cancelable: true}));
	  window.__overlay = !document.getElementById('drop-overlay').hidden;
	  target.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
	})()`, fileJS(pngBase64(t, 120, 80), name, "image/png")), nil)
	alice.until("overlay was shown while dragging", `window.__overlay === true && document.getElementById('drop-overlay').hidden`)
	alice.until("upload listed with progress", `document.querySelector('.upload-tray .upload')`)
	alice.eval(fmt.Sprintf(`(() => {
	  const dt = new DataTransfer();
	  dt.items.add(%s);
	  document.getElementById('composer-input').dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
	})()`, fileJS(pngBase64(t, 40, 40), "pasted.png", "image/png")), nil)
	alice.until("both uploads ready", `document.querySelectorAll('.upload-tray .upload.done').length === 2`)
	alice.send("two pictures")
	for _, tb := range []*tab{alice, bob} {
		tb.until("thumbnails shown", msgWith("two pictures")+`.length === 1 && [...`+msgWith("two pictures")+`[0].querySelectorAll('img.thumb')].filter((i) => i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:')).length === 2`)
		tb.until("file name as text", msgWith("two pictures")+`[0].textContent.includes('onerror')`)
	}
	alice.screenshot("upload")
	for name, tb := range map[string]*tab{"alice": alice, "bob": bob} {
		xss, csp := tb.securityCounts()
		if xss != 0 || len(csp) != 0 {
			t.Errorf("%s: %d alert calls, CSP violations %v", name, xss, csp)
		}
	}
}
