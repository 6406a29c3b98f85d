package persist

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrationsFS holds the schema of each engine: migrations/<engine>/NNNN_name.sql,
// applied in NNNN order, each exactly once.
//
//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrationsFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads migrations/<engine>, ordered by version.
func loadMigrations(engine string) ([]migration, error) {
	dir := path.Join("migrations", engine)
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		return nil, fmt.Errorf("persist: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("persist: migration %s/%s: name must start with a positive version and '_'", dir, e.Name())
		}
		b, err := fs.ReadFile(migrationsFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("persist: read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("persist: migrations %s and %s share version %d", ms[i-1].name, ms[i].name, ms[i].version)
		}
	}
	return ms, nil
}

// migrate applies the engine's pending migrations in one transaction, recording
// each in schema_migrations. lockSQL (Postgres: an advisory transaction lock) is run
// first so that nodes starting together apply them once, one after another.
func (s *sqlStore) migrate(ctx context.Context, engine, lockSQL string) error {
	ms, err := loadMigrations(engine)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(q querier) error {
		if lockSQL != "" {
			if _, err := q.exec(ctx, lockSQL); err != nil {
				return fmt.Errorf("persist: lock migrations: %w", err)
			}
		}
		if _, err := q.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("persist: create schema_migrations: %w", err)
		}
		applied, err := collect(ctx, q, "schema_migrations", func(r rows, v *int) error { return r.Scan(v) },
			`SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if slices.Contains(applied, m.version) {
				continue
			}
			start := time.Now()
			if _, err := q.exec(ctx, m.sql); err != nil {
				return fmt.Errorf("persist: apply migration %s: %w", m.name, err)
			}
			if _, err := q.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, time.Now().UnixMilli()); err != nil {
				return fmt.Errorf("persist: record migration %s: %w", m.name, err)
			}
			s.log.Info("persist: applied migration", "engine", engine, "migration", m.name, "took", time.Since(start))
		}
		if len(ms) > 0 && len(applied) > 0 {
			if newest := slices.Max(applied); newest > ms[len(ms)-1].version {
				s.log.Warn("persist: the schema is newer than this binary", "engine", engine,
					"schema_version", newest, "known_version", ms[len(ms)-1].version)
			}
		}
		return nil
	})
}
