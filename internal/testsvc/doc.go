// Package testsvc starts real, throwaway backing services for tests: a PostgreSQL
// cluster and Redis servers, each started at most once per test binary and shared by
// its tests, with every test getting its own empty database (Postgres) or logical
// database (Redis).
//
// A package that uses it calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { testsvc.Main(m) }
//
// so that the servers are stopped and their temporary directories removed when the
// tests are done. Servers are started lazily, by the first PostgresURL or RedisURL
// call, so packages whose selected tests need neither pay nothing.
//
// The harness never sleeps for a fixed time: it polls the server until it answers,
// and reports the tail of the server's log when it does not. A missing binary skips
// the test (or fails it when the CI environment variable is set) with the name of
// the Debian package to install. CHATD_TEST_POSTGRES_URL and CHATD_TEST_REDIS_URL
// point the harness at servers run by someone else instead.
//
// Child servers get a parent-death signal, so even a test binary killed by its
// -timeout does not leave them running (their temporary directories remain).
package testsvc
