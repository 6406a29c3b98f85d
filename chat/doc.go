// Package chat is the domain vocabulary of chatd: users, rooms, members, messages and
// the rest of the objects of the wire contract, the rules that say who may do what,
// the validation limits, and the one table of protocol error codes that REST,
// WebSocket and the documentation share.
//
// It does no I/O and imports no other package of this module, so that every layer
// (api, node, persist) can speak the same types without import cycles.
package chat
