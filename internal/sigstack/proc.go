package sigstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// errExited marks a service that exited while starting: worth a retry on
// other ports, unlike one that never became ready.
var errExited = errors.New("exited during start-up")

// proc is one service process. Its stdout and stderr go to a file in the
// stack's directory, so a failing test can show what the service said.
type proc struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}

	mu      sync.Mutex
	waitErr error
}

// startProc starts bin with args in its own process group (so that stop
// reaches any children it forks) with output appended to dir/name.log.
func startProc(dir, name, bin string, args []string, env ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "### %s %q\n", bin, args)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	// The services must never reach out: no telemetry exporters.
	cmd.Env = append(os.Environ(), "OTEL_SDK_DISABLED=true", "OTEL_TRACES_EXPORTER=none",
		"OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none")
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrStart, name, err)
	}
	p := &proc{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended, and how.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.waitErr
	default:
		return false, nil
	}
}

// stop sends SIGTERM to the process group, waits up to 5s, then kills the
// group.
func (p *proc) stop() {
	if done, _ := p.exited(); done {
		return
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

// tail returns at most the last n bytes of the process's output.
func (p *proc) tail(n int64) string { return tailFile(p.logPath, n) }

func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := st.Size() - n
	prefix := ""
	if off < 0 {
		off = 0
	} else if off > 0 {
		prefix = "...\n"
	}
	b, _ := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	return prefix + string(b)
}

// waitReady polls ready until it returns nil, the process exits, or ctx
// ends. The error names the process and carries the tail of its output.
func (p *proc) waitReady(ctx context.Context, ready func(context.Context) error) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if done, werr := p.exited(); done {
			return fmt.Errorf("%w: %s %w (%v); last output:\n%s", ErrStart, p.name, errExited, werr, p.tail(4<<10))
		}
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = ready(c)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s not ready (%v); last output:\n%s", ErrStart, p.name, last, p.tail(4<<10))
		case <-tick.C:
		}
	}
}

// httpOK is a readiness check: GET url answers 200.
func httpOK(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := httpGet(ctx, url)
		return err
	}
}

// httpGet GETs url and returns the body of a 200 answer (at most 4 MiB).
func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, nil
}

// freePorts returns n distinct ports free on 127.0.0.1 now. Another
// process may take one before the service binds it; starters retry.
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// withRetry runs start up to three times: a port chosen by freePorts may
// be taken by the time the service binds it, and the service then exits.
func withRetry(start func() (*proc, error)) (*proc, error) {
	var errs []error
	for range 3 {
		p, err := start()
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, errExited) {
			break
		}
	}
	return nil, errors.Join(errs...)
}
