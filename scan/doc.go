// Package scan is a small client of the ClamAV daemon (clamd) and its INSTREAM
// protocol: it streams a file to the daemon in chunks and reads one verdict.
//
// It knows nothing about chat. Callers fail closed: anything but a Clean result
// (a detection, a scan that hit the daemon's limits, a daemon that is down, slow or
// answers nonsense) means the file must not be published. Limit results matter
// because clamd answers a plain "OK" for content past its size limits unless it runs
// with AlertExceedsMax, which turns them into "Heuristics.Limits.Exceeded.*"
// detections; this package reports those as Unscannable, not as malware.
//
// A Client is safe for concurrent use: each call opens its own connection.
package scan
