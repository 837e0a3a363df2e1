//go:build race

package readme_test

// The README's programs and commands run as child processes, which the
// race detector does not watch: under -race the tests that run them only
// add minutes to `go test -race ./...`, and .ci/run runs them without it.
const raceEnabled = true
