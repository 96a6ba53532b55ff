package sigstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// MetricsLockName is the file in os.TempDir() whose flock a stack holds
// while it runs a timestamp authority or Rekor v1. Both bind the fixed
// metrics address :2112 (no flag moves it): the TSA exits when it is
// taken, Rekor v1 silently serves no metrics. Two test packages (go test
// runs packages in parallel) therefore never run these at the same time;
// the second waits for the first stack to close. The lock dies with the
// process holding it, so a crashed test run leaves nothing to clean up.
const MetricsLockName = "slsakit-sigstack-metrics-2112.lock"

// metricsLock holds the flock until release.
type metricsLock struct{ f *os.File }

func acquireMetricsLock(ctx context.Context) (*metricsLock, error) {
	path := filepath.Join(os.TempDir(), MetricsLockName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLock, err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &metricsLock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("%w: flock %s: %v", ErrLock, path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("%w: %s still held by another test process: %v", ErrLock, path, ctx.Err())
		case <-tick.C:
		}
	}
}

func (l *metricsLock) release() {
	if l != nil && l.f != nil {
		_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		l.f.Close()
		l.f = nil
	}
}
