// Package api is chatd's edge: the REST handlers of the wire contract, the WebSocket
// protocol (ws*.go: the connection hub, one fan-out per room per node, resume,
// presence, typing, read markers), JWT auth, request decoding and validation, rate
// limits, the sanitised markdown rendering, and the web UI's assets (web.go: package
// web's files under content-hashed URLs, gzipped once, with a strict CSP).
//
// Handlers decode and validate, check permissions against the store, and hand
// messages to the node, whose room owner orders and persists them; every other room
// change is written to the store and then published through the node as an event.
// Errors are *chat.Error values rendered in the contract's envelope by one function
// (writeError), so REST and WebSocket share one table of codes (chat.Codes).
package api
