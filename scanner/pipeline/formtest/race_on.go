//go:build race

package formtest

// RaceDetector is true in a build with the race detector, where drawing
// and analysing pages is many times slower: tests then take a few pages
// and leave the full measure to the run without it.
const RaceDetector = true
