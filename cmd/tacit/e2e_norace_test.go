//go:build !race

package main

// raceEnabled mirrors the test binary's -race flag onto the tacit binary
// the end-to-end tests build.
const raceEnabled = false
