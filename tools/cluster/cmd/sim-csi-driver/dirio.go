package main

import (
	"path"
	"strings"
	"sync"
)

// memDirIO is the mock's directory abstraction (service.DirIO) kept in memory.
// The mock's default acts on the real filesystem: NodePublishVolume would
// create the target directory and NodeUnpublishVolume would RemoveAll it. No
// kubelet calls the node service in the simulated cluster, but any client that
// did must not be able to touch this host's files through a simulation.
type memDirIO struct {
	mu   sync.Mutex
	dirs map[string]bool
}

func newMemDirIO() *memDirIO {
	return &memDirIO{dirs: map[string]bool{}}
}

// DirExists reports whether Mkdir created p (and nothing removed it since).
func (m *memDirIO) DirExists(p string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dirs[path.Clean(p)], nil
}

// Mkdir records p; unlike os.Mkdir it does not require the parent, because
// the parents (kubelet's pod directories) exist on a real node only.
func (m *memDirIO) Mkdir(p string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dirs[path.Clean(p)] = true
	return nil
}

// RemoveAll forgets p and everything recorded under it.
func (m *memDirIO) RemoveAll(p string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p = path.Clean(p)
	for d := range m.dirs {
		if within(d, p) {
			delete(m.dirs, d)
		}
	}
	return nil
}

// Rename moves p and everything recorded under it to newPath.
func (m *memDirIO) Rename(oldPath, newPath string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	oldPath, newPath = path.Clean(oldPath), path.Clean(newPath)
	// Collected first: adding keys while ranging over the map could visit
	// the new names again.
	var moved []string
	for d := range m.dirs {
		if within(d, oldPath) {
			moved = append(moved, d)
		}
	}
	for _, d := range moved {
		delete(m.dirs, d)
	}
	for _, d := range moved {
		m.dirs[path.Join(newPath, strings.TrimPrefix(d, oldPath))] = true
	}
	return nil
}

// within reports whether the clean path d is dir or lies below it.
func within(d, dir string) bool {
	return d == dir || strings.HasPrefix(d, strings.TrimSuffix(dir, "/")+"/")
}
