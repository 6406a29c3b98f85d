package api

import (
	"net/http"
	"testing"
)

// openAPICheck wraps h so that every response of the tests is validated against
// docs/openapi.yaml. (Placeholder until the validator lands.)
func openAPICheck(t testing.TB, h http.Handler) http.Handler { return h }
