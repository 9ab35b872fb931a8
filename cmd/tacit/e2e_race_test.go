//go:build race

package main

// raceEnabled mirrors the test binary's -race flag onto the tacit binary
// the end-to-end tests build, so a data race in the server fails them too.
const raceEnabled = true
